#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "importer/documents.h"
#include "storage/sqlite/source_store.h"

namespace mv::importer {

// What has been done so far, for progress displays.
struct ImportProgress {
  std::int64_t bytes_done = 0;
  std::int64_t bytes_total = 0;
  std::int64_t documents = 0;  // read, this run and the runs it resumes
  std::int64_t imported = 0;
  std::int64_t skipped = 0;
};

struct ImportOptions {
  DocumentMapping mapping;
  enum class OnError { kSkip, kFail };
  // kSkip: bad documents are reported and left out. kFail: the file is checked first, and
  // one bad document means nothing is imported.
  OnError on_error = OnError::kFail;
  size_t batch_documents = 1000;  // documents per source transaction
  // Where the resume point is kept (written after every committed batch); empty: a run
  // always starts at the beginning.
  std::string progress_path;
  std::function<void(const ImportProgress&)> on_progress;  // after every batch
  // Every bad document: the line it starts on and what is wrong with it.
  std::function<void(std::int64_t line, const std::string& why)> on_bad_document;
};

struct ImportResult {
  ImportProgress totals;
  std::int64_t resumed_from_line = 0;  // 0: started at the beginning
  bool already_done = false;           // an earlier run imported this file completely
  core::ChangeToken token = 0;         // of the last write
};

// Loads the documents of the file at `path` (NDJSON or a JSON array; Extended JSON values
// accepted) into `source`, in batches of options.batch_documents, each one transaction
// per org. Writes are upserts (tracking events: inserts that ignore duplicates), so a run
// killed at any point and run again with the same arguments (it resumes after the last
// batch its progress file records) ends with the same source as one uninterrupted run.
//
// InvalidArgument for an unreadable or malformed file, or (kFail) bad documents, with
// their lines; whatever was committed before a failure stays.
Result<ImportResult> ImportFile(const std::string& path, storage::sqlite::SourceStore& source,
                                const ImportOptions& options);

// The progress file of importing `path` with `mapping` into the data folder `data_dir`.
std::string ProgressPath(const std::string& data_dir, const std::string& path,
                         const DocumentMapping& mapping);

}  // namespace mv::importer
