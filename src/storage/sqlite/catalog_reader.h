#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// One view as views.db's catalog records it: the definition version and generation of the
// physical table that serves it, when that was built, and how many rows it holds.
struct CatalogEntry {
  std::string view;
  int version = 0;
  std::int64_t generation = 0;
  std::string physical_table;
  Timestamp built_at{};
  std::int64_t rows = 0;
};

// Reads the catalog for operators (GET /admin/views, `viya-mv status`), in one read
// transaction, so a swap committed meanwhile is seen whole or not at all. Its own
// connection, serialized; thread-safe.
class CatalogReader {
 public:
  static Result<std::unique_ptr<CatalogReader>> Open(const std::string& views_db_path);
  Result<std::vector<CatalogEntry>> Entries();

 private:
  explicit CatalogReader(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
