#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "base/result.h"

namespace mv::importer {

// Reads the documents of a file one at a time, without holding the file in memory: NDJSON
// (one document per line; blank lines skipped) or one JSON array of documents, told apart
// by the first character that is not white space. Each document comes with the line it
// starts on and the byte offset just after it, from which a later reader may resume.
//
// Not thread-safe.
class DocumentReader {
 public:
  struct Document {
    std::string text;
    std::int64_t line = 0;  // 1-based, where the document starts
    std::int64_t end_offset = 0;
  };
  // Where a reader stands: what ResumeAt takes.
  struct Position {
    std::int64_t offset = 0;
    std::int64_t line = 1;
  };

  // InvalidArgument when the file cannot be opened or holds neither format.
  static Result<std::unique_ptr<DocumentReader>> Open(const std::string& path);
  ~DocumentReader();

  // Continues after a document a previous reader returned (its end_offset, and the line
  // it ended on).
  Status ResumeAt(Position position);
  // The next document; nullopt at the end. InvalidArgument with the line for a file that
  // is not well-formed where documents are expected (an unterminated array, a stray ']'),
  // or a document over 16 MiB.
  Result<std::optional<Document>> Next();

  Position position() const { return {offset_, line_}; }
  std::int64_t size() const { return size_; }
  bool is_array() const { return array_; }

 private:
  DocumentReader(std::FILE* file, std::int64_t size) : file_(file), size_(size) {}
  int Get();  // the next byte, or EOF; keeps offset_ and line_
  int Peek();
  Status SkipSpace();
  Result<std::optional<Document>> NextLine();
  Result<std::optional<Document>> NextElement();

  std::FILE* file_;
  std::int64_t size_;
  bool array_ = false;
  bool array_closed_ = false;
  bool first_element_ = true;
  std::int64_t offset_ = 0;
  std::int64_t line_ = 1;
};

}  // namespace mv::importer
