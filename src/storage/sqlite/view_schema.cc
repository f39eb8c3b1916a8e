#include "storage/sqlite/view_schema.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "base/time.h"
#include "core/exception_queue.h"
#include "core/shipment_row.h"
#include "core/stored_versions.h"
#include "storage/sqlite/id_dictionary.h"

namespace mv::storage::sqlite {
namespace {

constexpr const char* kStoreSchema = R"sql(
CREATE TABLE IF NOT EXISTS mv_catalog (
  physical_table TEXT PRIMARY KEY, view TEXT NOT NULL, version INTEGER NOT NULL,
  state TEXT NOT NULL, generation INTEGER NOT NULL, built_at INTEGER,
  token INTEGER NOT NULL DEFAULT 0, validated INTEGER NOT NULL DEFAULT 0, retired_at INTEGER);
CREATE TABLE IF NOT EXISTS mv_catalog_epoch (
  id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL);
INSERT OR IGNORE INTO mv_catalog_epoch (id, epoch) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS mv_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1), token INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mv_dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, token INTEGER NOT NULL, collection TEXT NOT NULL,
  org TEXT NOT NULL, document_id TEXT NOT NULL, reason TEXT NOT NULL, document TEXT,
  created_at INTEGER NOT NULL);
)sql";

// The catalog of releases before blue/green versions had one row per view, all live.
constexpr const char* kUpgradeCatalog = R"sql(
ALTER TABLE mv_catalog RENAME TO mv_catalog_one_version;
CREATE TABLE mv_catalog (
  physical_table TEXT PRIMARY KEY, view TEXT NOT NULL, version INTEGER NOT NULL,
  state TEXT NOT NULL, generation INTEGER NOT NULL, built_at INTEGER,
  token INTEGER NOT NULL DEFAULT 0, validated INTEGER NOT NULL DEFAULT 0, retired_at INTEGER);
INSERT INTO mv_catalog (physical_table, view, version, state, generation, built_at, validated)
  SELECT physical_table, view, version, 'live', generation, built_at, 1
  FROM mv_catalog_one_version;
DROP TABLE mv_catalog_one_version;
)sql";

core::VersionState StateOf(std::string_view text) {
  if (text == "building") return core::VersionState::kBuilding;
  if (text == "retired") return core::VersionState::kRetired;
  return core::VersionState::kLive;
}

std::string TableName(const std::string& view, int version, std::int64_t generation) {
  return fmt::format("{}__v{}_g{}", view, version, generation);
}

std::vector<std::string> ListIndexes(const std::string& t) {
  // Secondary indexes of a WITHOUT ROWID table end with the key (org, id) implicitly, so
  // each of these also orders by id within equal created_at.
  return {
      fmt::format("CREATE INDEX {0}_by_created ON {0} (org, created_at)", t),
      fmt::format("CREATE INDEX {0}_by_status ON {0} (org, status, created_at)", t),
      fmt::format("CREATE INDEX {0}_by_customer ON {0} (org, customer, created_at)", t),
      fmt::format("CREATE INDEX {0}_by_carrier ON {0} (org, carrier, created_at)", t),
      fmt::format("CREATE INDEX {0}_by_sla ON {0} (org, sla, created_at)", t),
      fmt::format("CREATE INDEX {0}_by_reference ON {0} (org, reference)", t),
      fmt::format("CREATE INDEX {0}_sla_due ON {0} (sla_next_change_at) "
                  "WHERE sla_next_change_at IS NOT NULL",
                  t),
  };
}

std::string ListTable(const std::string& t) {
  return fmt::format(
      "CREATE TABLE {} (org INTEGER NOT NULL, id TEXT NOT NULL, status INTEGER NOT NULL, "
      "carrier INTEGER NOT NULL, customer INTEGER NOT NULL, sla INTEGER NOT NULL, "
      "sla_next_change_at INTEGER, created_at INTEGER NOT NULL, "
      "reference TEXT NOT NULL COLLATE NOCASE, row BLOB NOT NULL, PRIMARY KEY (org, id)) "
      "WITHOUT ROWID",
      t);
}

std::string ExceptionQueueTable(const std::string& t) {
  return fmt::format(
      "CREATE TABLE {} (org INTEGER NOT NULL, id TEXT NOT NULL, urgency INTEGER NOT NULL, "
      "promised_sort INTEGER NOT NULL, status_changed_at INTEGER NOT NULL, "
      "_schema_version INTEGER NOT NULL, PRIMARY KEY (org, id)) WITHOUT ROWID",
      t);
}

std::vector<std::string> ExceptionQueueIndexes(const std::string& t) {
  return {fmt::format(
      "CREATE INDEX {0}_by_urgency ON {0} (org, urgency, promised_sort, status_changed_at)", t)};
}

std::string TrackingStateTable(const std::string& t) {
  return fmt::format(
      "CREATE TABLE {} (org INTEGER NOT NULL, shipment_id TEXT NOT NULL, summary BLOB NOT NULL, "
      "PRIMARY KEY (org, shipment_id)) WITHOUT ROWID",
      t);
}

std::string AggregateTable(const core::AggregateViewSpec& spec, const std::string& t) {
  std::string cols;
  for (const auto& k : spec.key_columns) {
    cols += fmt::format("{} {} NOT NULL, ", k, k == "org" ? "INTEGER" : "TEXT");
  }
  for (const auto& m : spec.measure_columns) cols += fmt::format("{} INTEGER NOT NULL, ", m);
  for (const auto& m : spec.max_measures) cols += fmt::format("{} INTEGER, ", m.column);
  return fmt::format(
      "CREATE TABLE {} ({}_schema_version INTEGER NOT NULL, PRIMARY KEY ({})) "
      "WITHOUT ROWID",
      t, cols, fmt::join(spec.key_columns, ", "));
}

std::vector<std::string> AggregateIndexes(const core::AggregateViewSpec& spec,
                                          const std::string& t) {
  std::vector<std::string> out;
  for (size_t i = 0; i < spec.indexes.size(); ++i) {
    out.push_back(
        fmt::format("CREATE INDEX {}_i{} ON {} ({})", t, i, t, fmt::join(spec.indexes[i], ", ")));
  }
  return out;
}

Status ExecAll(Database& db, const std::vector<std::string>& statements) {
  for (const auto& sql : statements) MV_RETURN_IF_ERROR(db.Exec(sql));
  return Status::Ok();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> PhysicalTables::All() const {
  std::vector<std::pair<std::string, std::string>> all{
      {core::ViewSet::kShipmentList, shipment_list},
      {core::kExceptionQueueView, exception_queue},
      {core::ViewSet::kTrackingState, tracking_state}};
  for (const auto& [view, table] : aggregates) all.emplace_back(view, table);
  return all;
}

int PhysicalTables::VersionOf(const core::ViewSet& views, const std::string& view) const {
  return core::LiveVersionOf(views, aggregate_versions, view);
}

Status CreateStoreTables(Database& db) {
  MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
  MV_ASSIGN_OR_RETURN(Statement * old,
                      db.Prepare("SELECT count(*) FROM pragma_table_info('mv_catalog') "
                                 "WHERE name = 'view' AND pk = 1"));
  MV_ASSIGN_OR_RETURN(bool row, old->Step());
  bool one_version = row && old->ColumnInt(0) > 0;
  old->Reset();
  if (one_version) {
    db.ForgetStatements();
    MV_RETURN_IF_ERROR(db.Exec(kUpgradeCatalog));
  }
  MV_RETURN_IF_ERROR(db.Exec(kStoreSchema));
  MV_RETURN_IF_ERROR(db.Exec(IdDictionary::kSchema));
  return txn->Commit();
}

Result<PhysicalTables> CreateViewTables(Database& db, const core::ViewSet& views,
                                        std::int64_t generation, bool indexes,
                                        const std::map<std::string, int>& versions) {
  PhysicalTables tables;
  tables.shipment_list =
      TableName(core::ViewSet::kShipmentList, core::kShipmentListSchemaVersion, generation);
  MV_RETURN_IF_ERROR(db.Exec(ListTable(tables.shipment_list)));
  tables.exception_queue =
      TableName(core::kExceptionQueueView, core::kExceptionQueueVersion, generation);
  MV_RETURN_IF_ERROR(db.Exec(ExceptionQueueTable(tables.exception_queue)));
  tables.tracking_state =
      TableName(core::ViewSet::kTrackingState, core::ViewSet::kTrackingStateVersion, generation);
  MV_RETURN_IF_ERROR(db.Exec(TrackingStateTable(tables.tracking_state)));
  for (const auto& newest : views.aggregates()) {
    const std::string& name = newest->spec().name;
    auto pinned = versions.find(name);
    const core::AggregateView* v =
        pinned == versions.end() ? newest.get() : views.Definition(name, pinned->second);
    if (v == nullptr) {
      return Status::Internal(fmt::format("no definition of {} v{}", name, pinned->second));
    }
    std::string t = TableName(name, v->spec().version, generation);
    MV_RETURN_IF_ERROR(db.Exec(AggregateTable(v->spec(), t)));
    tables.aggregates[name] = t;
    tables.aggregate_versions[name] = v->spec().version;
  }
  if (indexes) MV_RETURN_IF_ERROR(CreateSecondaryIndexes(db, views, tables));
  return tables;
}

Status CreateSecondaryIndexes(Database& db, const core::ViewSet& views,
                              const PhysicalTables& tables) {
  MV_RETURN_IF_ERROR(ExecAll(db, ListIndexes(tables.shipment_list)));
  MV_RETURN_IF_ERROR(ExecAll(db, ExceptionQueueIndexes(tables.exception_queue)));
  for (const auto& [view, table] : tables.aggregates) {
    MV_RETURN_IF_ERROR(
        CreateAggregateIndexes(db, views, view, tables.VersionOf(views, view), table));
  }
  return Status::Ok();
}

Status CreateAggregateIndexes(Database& db, const core::ViewSet& views, const std::string& view,
                              int version, const std::string& table) {
  const core::AggregateView* v = views.Definition(view, version);
  if (v == nullptr) return Status::Internal(fmt::format("no definition of {} v{}", view, version));
  return ExecAll(db, AggregateIndexes(v->spec(), table));
}

Status DropTables(Database& db, const PhysicalTables& tables) {
  for (const auto& [view, table] : tables.All()) {
    MV_RETURN_IF_ERROR(db.Exec("DROP TABLE IF EXISTS " + table));
  }
  return Status::Ok();
}

Status WriteCatalog(Database& db, const core::ViewSet& views, const PhysicalTables& tables,
                    const std::set<std::string>& only, std::int64_t generation, Timestamp now,
                    std::int64_t token) {
  MV_ASSIGN_OR_RETURN(Statement * retire,
                      db.Prepare("DELETE FROM mv_catalog WHERE view = ?1 AND state = 'live'"));
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("INSERT INTO mv_catalog (physical_table, view, version, state, generation, "
                 "built_at, token, validated) VALUES (?1, ?2, ?3, 'live', ?4, ?5, ?6, 1)"));
  for (const auto& [view, table] : tables.All()) {
    if (!only.empty() && !only.count(view)) continue;
    retire->Reset();
    retire->Bind(1, view);
    MV_RETURN_IF_ERROR(retire->Run());
    st->Reset();
    st->Bind(1, table).Bind(2, view).Bind(3, tables.VersionOf(views, view)).Bind(4, generation);
    st->Bind(5, ToMillis(now)).Bind(6, token);
    MV_RETURN_IF_ERROR(st->Run());
  }
  return BumpCatalogEpoch(db);
}

Status BumpCatalogEpoch(Database& db) {
  return db.Exec("UPDATE mv_catalog_epoch SET epoch = epoch + 1");
}

Result<std::int64_t> CatalogEpoch(Database& db) {
  MV_ASSIGN_OR_RETURN(Statement * st, db.Prepare("SELECT epoch FROM mv_catalog_epoch"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  std::int64_t epoch = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return epoch;
}

Result<std::vector<core::StoredVersion>> ReadCatalogVersions(Database& db) {
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("SELECT view, version, generation, state, physical_table, built_at, token, "
                 "validated, retired_at FROM mv_catalog ORDER BY view, version, generation"));
  std::vector<core::StoredVersion> out;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    core::StoredVersion v;
    v.view = st->ColumnText(0);
    v.version = static_cast<int>(st->ColumnInt(1));
    v.generation = st->ColumnInt(2);
    v.state = StateOf(st->ColumnView(3));
    v.table = st->ColumnText(4);
    if (!st->ColumnIsNull(5)) v.built_at = FromMillis(st->ColumnInt(5));
    v.token = st->ColumnInt(6);
    v.validated = st->ColumnInt(7) != 0;
    if (!st->ColumnIsNull(8)) v.retired_at = FromMillis(st->ColumnInt(8));
    out.push_back(std::move(v));
  }
  st->Reset();
  return out;
}

Result<PhysicalTables> ReadCatalog(Database& db) {
  MV_ASSIGN_OR_RETURN(auto versions, ReadCatalogVersions(db));
  PhysicalTables tables;
  for (auto& v : versions) {
    if (v.state != core::VersionState::kLive) continue;
    if (v.view == core::ViewSet::kShipmentList) {
      tables.shipment_list = std::move(v.table);
    } else if (v.view == core::kExceptionQueueView) {
      tables.exception_queue = std::move(v.table);
    } else if (v.view == core::ViewSet::kTrackingState) {
      tables.tracking_state = std::move(v.table);
    } else {
      tables.aggregates[v.view] = std::move(v.table);
      tables.aggregate_versions[v.view] = v.version;
    }
  }
  if (tables.shipment_list.empty()) return Status::NotFound("the view catalog is empty");
  return tables;
}

std::vector<std::string> ShipmentListDdl(const std::string& table) {
  std::vector<std::string> out = {ListTable(table)};
  for (auto& index : ListIndexes(table)) out.push_back(std::move(index));
  return out;
}

std::string CodeOf(int kind, int param) {
  return fmt::format("(SELECT code FROM mv_ids WHERE kind = {} AND text = ?{})", kind, param);
}

Result<std::string> DumpTable(Database& db, const std::string& table) {
  MV_ASSIGN_OR_RETURN(Statement * info,
                      db.Prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid"));
  info->Bind(1, table);
  std::vector<std::string> cols;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, info->Step());
    if (!row) break;
    std::string name = info->ColumnText(0);
    // Id codes differ between databases that hold the same rows: show their text.
    bool code = info->ColumnView(1) == "INTEGER" &&
                (name == "org" || name == "carrier" || name == "customer");
    cols.push_back(code ? fmt::format("(SELECT text FROM mv_ids WHERE code = {})", name) : name);
  }
  info->Reset();
  if (cols.empty()) return Status::NotFound("no table " + table);
  std::string select;
  for (const auto& c : cols) {
    select += (select.empty() ? "" : " || '|' || ") + fmt::format("quote({})", c);
  }
  // Ordering by every column, key columns first, is a total order.
  std::string sql =
      fmt::format("SELECT {} FROM {} ORDER BY {}", select, table, fmt::join(cols, ", "));
  MV_ASSIGN_OR_RETURN(Statement * st, db.Prepare(sql));
  std::string out;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out += st->ColumnView(0);
    out += '\n';
  }
  st->Reset();
  return out;
}

Status ScanOrgRows(
    Database& db, const std::string& table, std::int64_t org_code,
    const std::function<Status(std::string_view key, std::string_view content)>& fn) {
  MV_ASSIGN_OR_RETURN(Statement * info,
                      db.Prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY pk, cid"));
  info->Bind(1, table);
  std::vector<std::string> keys;
  std::string content;
  bool has_org = false;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, info->Step());
    if (!row) break;
    std::string name = info->ColumnText(0);
    has_org = has_org || name == "org";
    if (info->ColumnInt(1) == 0) {
      content += fmt::format("{}quote({})", content.empty() ? "" : " || '|' || ", name);
    } else if (name != "org") {
      keys.push_back(name);
    }
  }
  info->Reset();
  // An aggregate of one row per org (mv_realtime_ops) has no key after the org.
  if (!has_org || content.empty()) return Status::NotFound("no view table " + table);
  if (keys.empty()) keys.push_back("''");  // one row per org: the empty key
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db.Prepare(fmt::format("SELECT {0}, {1} FROM {2} WHERE org = ?1 ORDER BY {0}",
                                             fmt::join(keys, ", "), content, table)));
  st->Bind(1, org_code);
  std::string key;
  const int n = static_cast<int>(keys.size());
  Status status = Status::Ok();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) {
      status = row.status();
      break;
    }
    if (!*row) break;
    key.clear();
    for (int c = 0; c < n; ++c) {
      if (c > 0) key += '\0';
      key += st->ColumnView(c);
    }
    status = fn(key, st->ColumnView(n));
    if (!status.ok()) break;
  }
  st->Reset();
  return status;
}

}  // namespace mv::storage::sqlite
