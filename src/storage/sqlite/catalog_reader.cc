#include "storage/sqlite/catalog_reader.h"

#include <fmt/format.h>

#include "base/time.h"
#include "storage/sqlite/view_schema.h"

namespace mv::storage::sqlite {

Result<std::unique_ptr<CatalogReader>> CatalogReader::Open(const std::string& path) {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, {}));
  return std::unique_ptr<CatalogReader>(new CatalogReader(std::move(db)));
}

Result<std::vector<core::StoredVersion>> CatalogReader::Versions() {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(auto snapshot, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(auto versions, ReadCatalogVersions(*db_));
  MV_RETURN_IF_ERROR(snapshot->Commit());
  return versions;
}

Result<std::vector<CatalogEntry>> CatalogReader::Entries() {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(auto snapshot, db_->BeginRead());
  MV_ASSIGN_OR_RETURN(auto versions, ReadCatalogVersions(*db_));
  std::vector<CatalogEntry> out;
  for (auto& v : versions) out.push_back({std::move(v), 0});
  for (auto& e : out) {
    // Table names come from the catalog, which only viya-mv writes ("view__v3_g7").
    MV_ASSIGN_OR_RETURN(Statement * count,
                        db_->Prepare(fmt::format("SELECT count(*) FROM \"{}\"", e.stored.table)));
    MV_ASSIGN_OR_RETURN(bool row, count->Step());
    if (row) e.rows = count->ColumnInt(0);
    count->Reset();
  }
  MV_RETURN_IF_ERROR(snapshot->Commit());
  return out;
}

}  // namespace mv::storage::sqlite
