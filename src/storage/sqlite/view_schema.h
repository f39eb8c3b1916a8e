#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/view_scope.h"
#include "core/view_set.h"
#include "storage/sqlite/sqlite_db.h"

// The physical layout of views.db, shared by the writer (view_store) and the readers
// (view_queries). Every view has one table per generation, named by the catalog:
//
//   mv_shipment_list   WITHOUT ROWID, key (org, id): the indexed columns as integers
//                      (org, carrier and customer as IdDictionary codes, 0 for none;
//                      status and sla as core enum values) and `row`, the encoded
//                      projection (core/row_codec.h). Secondary indexes only for what the
//                      API filters or orders by: created_at, status, customer, carrier, sla
//                      (each then created_at, then the key), reference (NOCASE prefix), and
//                      the SLA due time (partial).
//   mv_exception_queue WITHOUT ROWID, key (org, id), ordered by an index on (org, urgency,
//                      promised_sort, status_changed_at).
//   mv_tracking_state  WITHOUT ROWID, key (org, shipment_id), the encoded summary.
//   aggregates         WITHOUT ROWID, key = the view's key columns (org as a code, the
//                      others as text), integer measures, `_schema_version`.
//
// A rebuild creates the next generation's tables without their secondary indexes, fills
// them, and creates the indexes at the end (sorted bulk builds), before the catalog
// switches to them.
//
// The catalog `mv_catalog` has one row per physical table: the view and definition
// version it holds, its state (live, building, retired: core::StoredVersion), generation,
// built-at and token. Every change of which tables are live bumps `mv_catalog_epoch`, so
// readers know when to read it again.
namespace mv::storage::sqlite {

// Physical table names of the live views, as the catalog records them.
struct PhysicalTables {
  std::string shipment_list;
  std::string exception_queue;
  std::string tracking_state;
  std::map<std::string, std::string> aggregates;  // view name -> table
  std::map<std::string, int> aggregate_versions;  // view name -> definition version

  // The definition version the table of `view` holds.
  int VersionOf(const core::ViewSet& views, const std::string& view) const;

  // Every (catalog name, table) pair.
  std::vector<std::pair<std::string, std::string>> All() const;
};

// The tables views.db keeps beside the views' own: the catalog, the checkpoint, dead
// letters and the id dictionary (upgrading a catalog of an older release).
Status CreateStoreTables(Database& db);

// Creates the tables of `generation`, each aggregate at the definition version `versions`
// names (absent: the newest); with `indexes` false, without secondary indexes
// (CreateSecondaryIndexes adds them).
Result<PhysicalTables> CreateViewTables(Database& db, const core::ViewSet& views,
                                        std::int64_t generation, bool indexes,
                                        const std::map<std::string, int>& versions = {});
Status CreateSecondaryIndexes(Database& db, const core::ViewSet& views,
                              const PhysicalTables& tables);
Status CreateAggregateIndexes(Database& db, const core::ViewSet& views, const std::string& view,
                              int version, const std::string& table);
Status DropTables(Database& db, const PhysicalTables& tables);

// Makes `tables` (of the views in `only`; empty: all) the live ones in the catalog, in the
// caller's transaction; the live rows they replace are deleted, their tables left to the
// caller.
Status WriteCatalog(Database& db, const core::ViewSet& views, const PhysicalTables& tables,
                    const std::set<std::string>& only, std::int64_t generation, Timestamp now,
                    std::int64_t token);
Status BumpCatalogEpoch(Database& db);
Result<std::int64_t> CatalogEpoch(Database& db);
// The live tables. NotFound when the catalog is empty.
Result<PhysicalTables> ReadCatalog(Database& db);
// Every row of the catalog, by view, version and generation.
Result<std::vector<core::StoredVersion>> ReadCatalogVersions(Database& db);

// The statements that create the shipment list's table `table` and its indexes (the
// benchmarks' raw baseline writes the same shape).
std::vector<std::string> ShipmentListDdl(const std::string& table);

// An SQL expression for the code of an id given as text in parameter `param`:
// "(SELECT code FROM mv_ids WHERE kind = 1 AND text = ?1)". NULL when the id has no code
// (which matches no row).
std::string CodeOf(int kind, int param);

// Rows of a table ordered by its key, one line each; for tests.
Result<std::string> DumpTable(Database& db, const std::string& table);

// Calls `fn` for every row of org `org_code` in view table `table`, in key order: `key`
// is the row's key columns after the org, joined by '\0' (so that comparing keys as
// bytes follows the table's order), `content` every other column, quoted. For
// reconciliation, which merges two tables of one schema.
Status ScanOrgRows(Database& db, const std::string& table, std::int64_t org_code,
                   const std::function<Status(std::string_view key, std::string_view content)>& fn);

}  // namespace mv::storage::sqlite
