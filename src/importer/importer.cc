#include "importer/importer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "importer/document_reader.h"

namespace mv::importer {
namespace {

using nlohmann::json;

constexpr int kMaxFailReports = 20;

std::string MappingText(const DocumentMapping& m) {
  return fmt::format("{}|{}|{}", core::ToString(m.collection), m.org.value_or(""),
                     m.org ? "" : m.org_field);
}

// What a progress file belongs to: the file as it was (path, size, mtime) and the mapping.
json Identity(const std::string& path, const DocumentMapping& mapping) {
  struct stat st {};
  stat(path.c_str(), &st);
  return {
      {"file", std::filesystem::absolute(path).lexically_normal().string()},
      {"size", static_cast<std::int64_t>(st.st_size)},
      {"mtimeNs", static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec},
      {"mapping", MappingText(mapping)}};
}

// Writes `j` to `path` durably: a temporary file, fsync, rename.
Status WriteDurably(const std::string& path, const json& j) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  std::string text = j.dump(2) + "\n";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(fmt::format("{}: {}", tmp, std::strerror(errno)));
  bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  return Status::Ok();
}

// Waits for asynchronous writes; the first error wins.
class Pending {
 public:
  storage::sqlite::SourceStore::TokenDone Callback() {
    std::lock_guard lock(mu_);
    ++outstanding_;
    return [this](Result<core::ChangeToken> r) {
      std::lock_guard lock(mu_);
      if (!r.ok() && status_.ok()) status_ = r.status();
      if (r.ok()) last_ = std::max(last_, *r);
      if (--outstanding_ == 0) cv_.notify_all();
    };
  }
  Result<core::ChangeToken> Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return outstanding_ == 0; });
    if (!status_.ok()) return status_;
    return last_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int outstanding_ = 0;
  Status status_ = Status::Ok();
  core::ChangeToken last_ = 0;
};

// Writes one batch, one transaction per org (customers and carriers: concurrent writes
// that share transactions).
Result<core::ChangeToken> WriteBatch(storage::sqlite::SourceStore& source,
                                     std::vector<ImportedDocument>& batch) {
  std::map<std::string, std::vector<ImportedDocument*>> by_org;
  for (auto& d : batch) by_org[d.org].push_back(&d);
  core::ChangeToken last = 0;
  Pending pending;
  for (auto& [org, docs] : by_org) {
    if (docs.front()->shipment) {
      std::vector<core::Shipment> shipments;
      for (auto* d : docs) shipments.push_back(std::move(*d->shipment));
      MV_ASSIGN_OR_RETURN(core::ChangeToken t, source.UpsertShipments(org, shipments));
      last = std::max(last, t);
    } else if (docs.front()->event) {
      std::vector<core::TrackingEvent> events;
      for (auto* d : docs) events.push_back(std::move(*d->event));
      MV_ASSIGN_OR_RETURN(auto w, source.InsertTrackingEvents(org, events));
      last = std::max(last, w.token);
    } else {
      for (auto* d : docs) {
        if (d->customer) source.PutCustomerAsync(org, *d->customer, pending.Callback());
        if (d->carrier) source.PutCarrierAsync(org, *d->carrier, pending.Callback());
      }
    }
  }
  MV_ASSIGN_OR_RETURN(core::ChangeToken async_last, pending.Wait());
  return std::max(last, async_last);
}

// kFail's first pass: every bad document of the file from `from`, reported; Ok when none.
Status CheckAll(DocumentReader& reader, DocumentReader::Position from,
                const ImportOptions& options) {
  MV_RETURN_IF_ERROR(reader.ResumeAt(from));
  std::int64_t bad = 0;
  for (;;) {
    MV_ASSIGN_OR_RETURN(auto doc, reader.Next());
    if (!doc) break;
    json raw = json::parse(doc->text, nullptr, false);
    Status why = raw.is_discarded() ? Status::InvalidArgument("not valid JSON")
                                    : MapDocument(raw, options.mapping).status();
    if (why.ok()) continue;
    if (++bad <= kMaxFailReports && options.on_bad_document) {
      options.on_bad_document(doc->line, why.message());
    }
  }
  if (bad == 0) return reader.ResumeAt(from);
  return Status::InvalidArgument(fmt::format(
      "{} bad document{}{}; nothing imported (--on-error skip imports the others)", bad,
      bad == 1 ? "" : "s",
      bad > kMaxFailReports ? fmt::format(", the first {} shown", kMaxFailReports) : ""));
}

}  // namespace

std::string ProgressPath(const std::string& data_dir, const std::string& path,
                         const DocumentMapping& mapping) {
  std::string key =
      std::filesystem::absolute(path).lexically_normal().string() + "|" + MappingText(mapping);
  return (std::filesystem::path(data_dir) / "imports" /
          fmt::format("{}-{:016x}.json", core::ToString(mapping.collection),
                      XXH3_64bits(key.data(), key.size())))
      .string();
}

Result<ImportResult> ImportFile(const std::string& path, storage::sqlite::SourceStore& source,
                                const ImportOptions& options) {
  MV_ASSIGN_OR_RETURN(auto reader, DocumentReader::Open(path));
  ImportResult result;
  ImportProgress& totals = result.totals;
  totals.bytes_total = reader->size();
  const json identity = Identity(path, options.mapping);
  DocumentReader::Position from;
  if (!options.progress_path.empty()) {
    std::ifstream in(options.progress_path);
    json saved = in ? json::parse(in, nullptr, false) : json();
    if (saved.is_object() && saved.value("identity", json()) == identity) {
      from = {saved.value("offset", std::int64_t{0}), saved.value("line", std::int64_t{1})};
      totals.documents = saved.value("documents", std::int64_t{0});
      totals.imported = saved.value("imported", std::int64_t{0});
      totals.skipped = saved.value("skipped", std::int64_t{0});
      totals.bytes_done = from.offset;
      result.already_done = saved.value("done", false);
      if (result.already_done) return result;
      if (from.offset > 0) result.resumed_from_line = from.line;
    }
  }
  auto save = [&](bool done) -> Status {
    if (options.progress_path.empty()) return Status::Ok();
    DocumentReader::Position at = reader->position();
    return WriteDurably(options.progress_path, {{"identity", identity},
                                                {"offset", at.offset},
                                                {"line", at.line},
                                                {"documents", totals.documents},
                                                {"imported", totals.imported},
                                                {"skipped", totals.skipped},
                                                {"done", done}});
  };
  if (options.on_error == ImportOptions::OnError::kFail) {
    MV_RETURN_IF_ERROR(CheckAll(*reader, from, options));
  } else {
    MV_RETURN_IF_ERROR(reader->ResumeAt(from));
  }

  std::vector<ImportedDocument> batch;
  auto flush = [&]() -> Status {
    if (!batch.empty()) {
      MV_ASSIGN_OR_RETURN(core::ChangeToken t, WriteBatch(source, batch));
      result.token = std::max(result.token, t);
      totals.imported += static_cast<std::int64_t>(batch.size());
      batch.clear();
    }
    totals.bytes_done = reader->position().offset;
    MV_RETURN_IF_ERROR(save(false));
    if (options.on_progress) options.on_progress(totals);
    return Status::Ok();
  };
  for (;;) {
    MV_ASSIGN_OR_RETURN(auto doc, reader->Next());
    if (!doc) break;
    ++totals.documents;
    json raw = json::parse(doc->text, nullptr, false);
    auto mapped = raw.is_discarded()
                      ? Result<ImportedDocument>(Status::InvalidArgument("not valid JSON"))
                      : MapDocument(raw, options.mapping);
    if (!mapped.ok()) {
      // kFail checked the file first: a document bad now was changed under the import.
      if (options.on_error == ImportOptions::OnError::kFail) {
        return Status::InvalidArgument(
            fmt::format("line {}: {} (the file changed during the import)", doc->line,
                        mapped.status().message()));
      }
      ++totals.skipped;
      if (options.on_bad_document) options.on_bad_document(doc->line, mapped.status().message());
      continue;
    }
    batch.push_back(std::move(mapped).value());
    if (batch.size() >= options.batch_documents) MV_RETURN_IF_ERROR(flush());
  }
  MV_RETURN_IF_ERROR(flush());
  MV_RETURN_IF_ERROR(save(true));
  return result;
}

}  // namespace mv::importer
