#include "importer/document_reader.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace mv::importer {
namespace {

constexpr size_t kMaxDocumentBytes = 16 << 20;

bool IsSpace(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

Result<std::unique_ptr<DocumentReader>> DocumentReader::Open(const std::string& path) {
  if (path == "-") {
    return Status::InvalidArgument(
        "standard input cannot be imported: an import resumes where it stopped, so it needs a "
        "file");
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::InvalidArgument(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(file);
    return Status::InvalidArgument(path + ": not a regular file");
  }
  std::unique_ptr<DocumentReader> reader(new DocumentReader(file, st.st_size));
  MV_RETURN_IF_ERROR(reader->ResumeAt({}));
  return reader;
}

DocumentReader::~DocumentReader() { std::fclose(file_); }

int DocumentReader::Get() {
  int c = getc_unlocked(file_);
  if (c == EOF) return c;
  ++offset_;
  if (c == '\n') ++line_;
  return c;
}

int DocumentReader::Peek() {
  int c = getc_unlocked(file_);
  if (c != EOF) ungetc(c, file_);
  return c;
}

Status DocumentReader::SkipSpace() {
  while (IsSpace(Peek())) Get();
  return Status::Ok();
}

Status DocumentReader::ResumeAt(Position position) {
  if (position.offset < 0 || position.offset > size_) {
    return Status::InvalidArgument(
        fmt::format("resume offset {} is outside the file ({} bytes)", position.offset, size_));
  }
  if (std::fseek(file_, 0, SEEK_SET) != 0) return Status::IOError(std::strerror(errno));
  offset_ = 0;
  line_ = 1;
  array_closed_ = false;
  first_element_ = true;
  MV_RETURN_IF_ERROR(SkipSpace());
  int first = Peek();
  array_ = first == '[';
  if (first != '[' && first != '{' && first != EOF) {
    return Status::InvalidArgument(
        fmt::format("line {}: expected NDJSON documents or a JSON array of documents, found '{}'",
                    line_, static_cast<char>(first)));
  }
  if (position.offset == 0) {
    if (array_) Get();  // '['
    return Status::Ok();
  }
  if (std::fseek(file_, position.offset, SEEK_SET) != 0) {
    return Status::IOError(std::strerror(errno));
  }
  offset_ = position.offset;
  line_ = position.line;
  first_element_ = false;
  return Status::Ok();
}

Result<std::optional<DocumentReader::Document>> DocumentReader::Next() {
  return array_ ? NextElement() : NextLine();
}

Result<std::optional<DocumentReader::Document>> DocumentReader::NextLine() {
  for (;;) {
    Document doc;
    doc.line = line_;
    int c = 0;
    while ((c = Get()) != EOF && c != '\n') {
      if (doc.text.size() >= kMaxDocumentBytes) {
        return Status::InvalidArgument(
            fmt::format("line {}: a document over {} MiB", doc.line, kMaxDocumentBytes >> 20));
      }
      doc.text.push_back(static_cast<char>(c));
    }
    doc.end_offset = offset_;
    bool blank = true;
    for (char ch : doc.text) blank = blank && IsSpace(ch);
    if (!blank) return std::optional<Document>(std::move(doc));
    if (c == EOF) return std::optional<Document>();
  }
}

Result<std::optional<DocumentReader::Document>> DocumentReader::NextElement() {
  MV_RETURN_IF_ERROR(SkipSpace());
  if (array_closed_) return std::optional<Document>();
  int c = Peek();
  if (c == EOF) {
    return Status::InvalidArgument(fmt::format("line {}: the array is not closed with ']'", line_));
  }
  if (c == ']') {
    Get();
    array_closed_ = true;
    MV_RETURN_IF_ERROR(SkipSpace());
    if (Peek() != EOF) {
      return Status::InvalidArgument(fmt::format("line {}: text after the array", line_));
    }
    return std::optional<Document>();
  }
  if (!first_element_) {
    if (c != ',') {
      return Status::InvalidArgument(
          fmt::format("line {}: expected ',' or ']' between documents", line_));
    }
    Get();
    MV_RETURN_IF_ERROR(SkipSpace());
    if (Peek() == ']' || Peek() == EOF) {
      return Status::InvalidArgument(fmt::format("line {}: expected a document after ','", line_));
    }
  }
  first_element_ = false;
  Document doc;
  doc.line = line_;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (;;) {
    c = Peek();
    if (c == EOF) {
      return Status::InvalidArgument(
          fmt::format("line {}: the document is not closed (the file ends inside it)", doc.line));
    }
    if (!in_string && depth == 0 && !doc.text.empty() && (c == ',' || c == ']' || IsSpace(c))) {
      break;
    }
    Get();
    if (doc.text.size() >= kMaxDocumentBytes) {
      return Status::InvalidArgument(
          fmt::format("line {}: a document over {} MiB", doc.line, kMaxDocumentBytes >> 20));
    }
    doc.text.push_back(static_cast<char>(c));
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) break;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) break;
    }
  }
  doc.end_offset = offset_;
  return std::optional<Document>(std::move(doc));
}

}  // namespace mv::importer
