#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/operator_stores.h"
#include "base/clock.h"
#include "base/result.h"
#include "core/view_scope.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

using api::CatalogEntry;

// Reads the catalog for operators (GET /admin/views, `viya-mv status`), in one read
// transaction, so a swap committed meanwhile is seen whole or not at all. Its own
// connection, serialized; thread-safe.
class CatalogReader final : public api::Catalog {
 public:
  static Result<std::unique_ptr<CatalogReader>> Open(const std::string& views_db_path);
  Result<std::vector<CatalogEntry>> Entries() override;
  Result<std::vector<core::StoredVersion>> Versions() override;

 private:
  explicit CatalogReader(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
