#include "storage/sqlite/view_schema.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/time.h"
#include "core/exception_queue.h"
#include "core/shipment_row.h"
#include "storage/sqlite/id_dictionary.h"

namespace mv::storage::sqlite {
namespace {

constexpr const char* kStoreSchema = R"sql(
CREATE TABLE IF NOT EXISTS mv_catalog (
  view TEXT PRIMARY KEY, version INTEGER NOT NULL, physical_table TEXT NOT NULL,
  generation INTEGER NOT NULL, built_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mv_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1), token INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mv_dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, token INTEGER NOT NULL, collection TEXT NOT NULL,
  org TEXT NOT NULL, document_id TEXT NOT NULL, reason TEXT NOT NULL, document TEXT,
  created_at INTEGER NOT NULL);
)sql";

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

Status CreateStoreTables(Database& db) {
  MV_RETURN_IF_ERROR(db.Exec(kStoreSchema));
  return db.Exec(IdDictionary::kSchema);
}

Result<PhysicalTables> CreateViewTables(Database& db, const core::ViewSet& views,
                                        std::int64_t generation, bool indexes) {
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
  for (const auto& v : views.aggregates()) {
    std::string t = TableName(v->spec().name, v->spec().version, generation);
    MV_RETURN_IF_ERROR(db.Exec(AggregateTable(v->spec(), t)));
    tables.aggregates[v->spec().name] = t;
  }
  if (indexes) MV_RETURN_IF_ERROR(CreateSecondaryIndexes(db, views, tables));
  return tables;
}

Status CreateSecondaryIndexes(Database& db, const core::ViewSet& views,
                              const PhysicalTables& tables) {
  MV_RETURN_IF_ERROR(ExecAll(db, ListIndexes(tables.shipment_list)));
  MV_RETURN_IF_ERROR(ExecAll(db, ExceptionQueueIndexes(tables.exception_queue)));
  for (const auto& v : views.aggregates()) {
    auto t = tables.aggregates.find(v->spec().name);
    if (t == tables.aggregates.end()) return Status::Internal("no table for " + v->spec().name);
    MV_RETURN_IF_ERROR(ExecAll(db, AggregateIndexes(v->spec(), t->second)));
  }
  return Status::Ok();
}

Status DropTables(Database& db, const PhysicalTables& tables) {
  for (const auto& [view, table] : tables.All()) {
    MV_RETURN_IF_ERROR(db.Exec("DROP TABLE IF EXISTS " + table));
  }
  return Status::Ok();
}

Status WriteCatalog(Database& db, const core::ViewSet& views, const PhysicalTables& tables,
                    std::int64_t generation, Timestamp now) {
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("INSERT INTO mv_catalog (view, version, physical_table, generation, built_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (view) DO UPDATE SET "
                 "version = excluded.version, physical_table = excluded.physical_table, "
                 "generation = excluded.generation, built_at = excluded.built_at"));
  for (const auto& [view, table] : tables.All()) {
    st->Reset();
    st->Bind(1, view).Bind(2, views.VersionOf(view)).Bind(3, table).Bind(4, generation);
    st->Bind(5, ToMillis(now));
    MV_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Result<PhysicalTables> ReadCatalog(Database& db) {
  MV_ASSIGN_OR_RETURN(Statement * st, db.Prepare("SELECT view, physical_table FROM mv_catalog"));
  PhysicalTables tables;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    std::string view = st->ColumnText(0);
    if (view == core::ViewSet::kShipmentList) {
      tables.shipment_list = st->ColumnText(1);
    } else if (view == core::kExceptionQueueView) {
      tables.exception_queue = st->ColumnText(1);
    } else if (view == core::ViewSet::kTrackingState) {
      tables.tracking_state = st->ColumnText(1);
    } else {
      tables.aggregates[view] = st->ColumnText(1);
    }
  }
  st->Reset();
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
