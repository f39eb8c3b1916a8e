#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/view_scope.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// One stored version of a view as views.db's catalog records it, and how many rows it
// holds.
struct CatalogEntry {
  core::StoredVersion stored;
  std::int64_t rows = 0;
};

// Reads the catalog for operators (GET /admin/views, `viya-mv status`), in one read
// transaction, so a swap committed meanwhile is seen whole or not at all. Its own
// connection, serialized; thread-safe.
class CatalogReader {
 public:
  static Result<std::unique_ptr<CatalogReader>> Open(const std::string& views_db_path);
  // Every stored version with its row count (a count of every table: for reports).
  Result<std::vector<CatalogEntry>> Entries();
  // Every stored version, without counting rows (cheap: for checks before an operation).
  Result<std::vector<core::StoredVersion>> Versions();

 private:
  explicit CatalogReader(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
