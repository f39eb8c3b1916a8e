#include "storage/sqlite/view_store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "base/time.h"

namespace mv::storage::sqlite {
namespace {

using core::ChangeToken;

constexpr std::int64_t kExceptionNoPromiseSort = std::numeric_limits<std::int64_t>::max();

constexpr const char* kSchema = R"sql(
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

Status CreateListTable(Database& db, const std::string& t) {
  return db.Exec(fmt::format(R"sql(
CREATE TABLE {0} (
  org TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, carrier_id TEXT NOT NULL,
  customer_id TEXT NOT NULL, sla_status TEXT NOT NULL, sla_next_change_at INTEGER,
  created_at INTEGER NOT NULL, reference TEXT NOT NULL COLLATE NOCASE, row TEXT NOT NULL,
  PRIMARY KEY (org, id));
CREATE INDEX {0}_by_created ON {0} (org, created_at, id);
CREATE INDEX {0}_by_status ON {0} (org, status, created_at, id);
CREATE INDEX {0}_by_customer ON {0} (org, customer_id, created_at, id);
CREATE INDEX {0}_by_carrier ON {0} (org, carrier_id, created_at, id);
CREATE INDEX {0}_by_sla ON {0} (org, sla_status, created_at, id);
CREATE INDEX {0}_by_reference ON {0} (org, reference);
CREATE INDEX {0}_sla_due ON {0} (sla_next_change_at) WHERE sla_next_change_at IS NOT NULL;
)sql",
                             t));
}

Status CreateAggregateTable(Database& db, const core::AggregateViewSpec& spec,
                            const std::string& t) {
  std::string cols;
  std::string keys;
  for (const auto& k : spec.key_columns) {
    cols += fmt::format("{} TEXT NOT NULL, ", k);
    keys += (keys.empty() ? "" : ", ") + k;
  }
  for (const auto& m : spec.measure_columns) cols += fmt::format("{} INTEGER NOT NULL, ", m);
  for (const auto& m : spec.max_measures) cols += fmt::format("{} INTEGER, ", m.column);
  std::string sql = fmt::format(
      "CREATE TABLE {} ({}_schema_version INTEGER NOT NULL, PRIMARY KEY ({}));\n", t, cols, keys);
  for (size_t i = 0; i < spec.indexes.size(); ++i) {
    sql +=
        fmt::format("CREATE INDEX {}_i{} ON {} ({});\n", t, i, t, fmt::join(spec.indexes[i], ", "));
  }
  return db.Exec(sql);
}

// Ordered by urgency; entries without a promise sort after every promised one.
Status CreateExceptionQueueTable(Database& db, const std::string& t) {
  return db.Exec(fmt::format(R"sql(
CREATE TABLE {0} (
  org TEXT NOT NULL, id TEXT NOT NULL, urgency INTEGER NOT NULL, reason TEXT NOT NULL,
  promised_sort INTEGER NOT NULL, status_changed_at INTEGER NOT NULL,
  _schema_version INTEGER NOT NULL, PRIMARY KEY (org, id));
CREATE INDEX {0}_by_urgency ON {0} (org, urgency, promised_sort, status_changed_at, id);
)sql",
                             t));
}

Status CreateTrackingStateTable(Database& db, const std::string& t) {
  return db.Exec(fmt::format(
      "CREATE TABLE {} (org TEXT NOT NULL, shipment_id TEXT NOT NULL, summary TEXT NOT NULL, "
      "PRIMARY KEY (org, shipment_id))",
      t));
}

Result<PhysicalTables> CreateViewTables(Database& db, const core::ViewSet& views,
                                        std::int64_t generation) {
  PhysicalTables tables;
  tables.shipment_list =
      TableName(core::ViewSet::kShipmentList, core::kShipmentListSchemaVersion, generation);
  MV_RETURN_IF_ERROR(CreateListTable(db, tables.shipment_list));
  tables.exception_queue =
      TableName(core::kExceptionQueueView, core::kExceptionQueueVersion, generation);
  MV_RETURN_IF_ERROR(CreateExceptionQueueTable(db, tables.exception_queue));
  tables.tracking_state =
      TableName(core::ViewSet::kTrackingState, core::ViewSet::kTrackingStateVersion, generation);
  MV_RETURN_IF_ERROR(CreateTrackingStateTable(db, tables.tracking_state));
  for (const auto& v : views.aggregates()) {
    std::string t = TableName(v->spec().name, v->spec().version, generation);
    MV_RETURN_IF_ERROR(CreateAggregateTable(db, v->spec(), t));
    tables.aggregates[v->spec().name] = t;
  }
  return tables;
}

Status WriteCatalog(Database& db, const core::ViewSet& views, const PhysicalTables& tables,
                    std::int64_t generation, Timestamp now) {
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("INSERT INTO mv_catalog (view, version, physical_table, generation, built_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (view) DO UPDATE SET "
                 "version = excluded.version, physical_table = excluded.physical_table, "
                 "generation = excluded.generation, built_at = excluded.built_at"));
  auto put = [&](const std::string& view, const std::string& table) -> Status {
    st->Reset();
    st->Bind(1, view).Bind(2, views.VersionOf(view)).Bind(3, table).Bind(4, generation);
    st->Bind(5, ToMillis(now));
    return st->Run();
  };
  for (const auto& [view, table] : tables.All()) MV_RETURN_IF_ERROR(put(view, table));
  return Status::Ok();
}

Status SetCheckpoint(Database& db, ChangeToken token, Timestamp now) {
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("INSERT INTO mv_checkpoint (id, token, updated_at) VALUES (1, ?1, ?2) "
                 "ON CONFLICT (id) DO UPDATE SET token = excluded.token, "
                 "updated_at = excluded.updated_at"));
  st->Bind(1, token).Bind(2, ToMillis(now));
  return st->Run();
}

Status DropTables(Database& db, const PhysicalTables& tables) {
  for (const auto& [view, table] : tables.All()) {
    MV_RETURN_IF_ERROR(db.Exec("DROP TABLE IF EXISTS " + table));
  }
  return Status::Ok();
}

Status UpsertListRows(Database& db, const std::string& table,
                      const std::vector<core::ShipmentRow>& rows) {
  if (rows.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare(fmt::format(
          "INSERT INTO {} (org, id, status, carrier_id, customer_id, sla_status, "
          "sla_next_change_at, created_at, reference, row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
          "?8, ?9, ?10) ON CONFLICT (org, id) DO UPDATE SET status = excluded.status, "
          "carrier_id = excluded.carrier_id, customer_id = excluded.customer_id, "
          "sla_status = excluded.sla_status, sla_next_change_at = excluded.sla_next_change_at, "
          "created_at = excluded.created_at, reference = excluded.reference, row = excluded.row",
          table)));
  for (const auto& r : rows) {
    st->Reset();
    const auto& s = r.shipment;
    st->Bind(1, r.org).Bind(2, s.id).Bind(3, core::ToString(s.status)).Bind(4, s.carrier_id);
    st->Bind(5, s.customer_id).Bind(6, core::ToString(r.sla.status));
    if (r.sla.next_change_at)
      st->Bind(7, ToMillis(*r.sla.next_change_at));
    else
      st->BindNull(7);
    st->Bind(8, ToMillis(s.created_at)).Bind(9, s.reference).Bind(10, core::RowToJson(r).dump());
    MV_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status DeleteListRows(Database& db, const std::string& table,
                      const std::vector<core::ShipmentKey>& keys) {
  if (keys.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db.Prepare(fmt::format("DELETE FROM {} WHERE org = ?1 AND id = ?2", table)));
  for (const auto& k : keys) {
    st->Reset();
    st->Bind(1, k.org).Bind(2, k.id);
    MV_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status ApplyAggregateDeltas(Database& db, const core::AggregateViewSpec& spec,
                            const std::string& table, const std::string& list_table,
                            const std::vector<core::AggregateDelta>& deltas) {
  std::string cols, params, updates, where;
  int p = 1;
  for (const auto& k : spec.key_columns) {
    cols += k + ", ";
    params += fmt::format("?{}, ", p);
    where += fmt::format("{}{} = ?{}", where.empty() ? "" : " AND ", k, p);
    ++p;
  }
  for (const auto& m : spec.measure_columns) {
    cols += m + ", ";
    params += fmt::format("?{}, ", p++);
    updates += fmt::format("{0}{1} = {1} + excluded.{1}", updates.empty() ? "" : ", ", m);
  }
  for (const auto& m : spec.max_measures) {
    cols += m.column + ", ";
    params += fmt::format("?{}, ", p++);
    updates += fmt::format(
        ", {0} = CASE WHEN excluded.{0} IS NULL THEN {0} WHEN {0} IS NULL OR excluded.{0} > {0} "
        "THEN excluded.{0} ELSE {0} END",
        m.column);
  }
  std::string keys;
  for (const auto& k : spec.key_columns) keys += (keys.empty() ? "" : ", ") + k;
  MV_ASSIGN_OR_RETURN(
      Statement * up,
      db.Prepare(fmt::format("INSERT INTO {} ({}_schema_version) VALUES ({}?{}) ON CONFLICT ({}) "
                             "DO UPDATE SET {}",
                             table, cols, params, p, keys, updates)));
  MV_ASSIGN_OR_RETURN(Statement * del,
                      db.Prepare(fmt::format("DELETE FROM {} WHERE {} AND {} = 0", table, where,
                                             spec.measure_columns.front())));
  // A retraction that removed the current maximum: recompute it from the shipment list.
  std::vector<Statement*> recompute;
  for (const auto& m : spec.max_measures) {
    int bound = static_cast<int>(spec.key_columns.size()) + 1;
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db.Prepare(fmt::format("UPDATE {0} SET {1} = (SELECT MAX({2}) FROM {3} "
                               "WHERE {4}) WHERE {4} AND {1} <= ?{5}",
                               table, m.column, m.list_column, list_table, where, bound)));
    recompute.push_back(st);
  }
  for (const auto& d : deltas) {
    up->Reset();
    int i = 1;
    for (const auto& k : d.key) up->Bind(i++, k);
    for (auto m : d.measures) up->Bind(i++, m);
    for (const auto& m : d.max_added) {
      if (m) {
        up->Bind(i++, *m);
      } else {
        up->BindNull(i++);
      }
    }
    up->Bind(p, spec.version);
    MV_RETURN_IF_ERROR(up->Run());
    if (d.measures.front() < 0) {
      del->Reset();
      int j = 1;
      for (const auto& k : d.key) del->Bind(j++, k);
      MV_RETURN_IF_ERROR(del->Run());
    }
    for (size_t m = 0; m < recompute.size(); ++m) {
      const auto& retracted = d.max_retracted[m];
      const auto& added = d.max_added[m];
      if (!retracted || (added && *added >= *retracted)) continue;
      Statement* st = recompute[m];
      st->Reset();
      int j = 1;
      for (const auto& k : d.key) st->Bind(j++, k);
      st->Bind(j, *retracted);
      MV_RETURN_IF_ERROR(st->Run());
    }
  }
  return Status::Ok();
}

Status UpsertExceptionRows(Database& db, const std::string& table,
                           const std::vector<core::ExceptionQueueRow>& rows) {
  if (rows.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare(fmt::format(
          "INSERT INTO {} (org, id, urgency, reason, promised_sort, status_changed_at, "
          "_schema_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (org, id) DO UPDATE "
          "SET urgency = excluded.urgency, reason = excluded.reason, promised_sort = "
          "excluded.promised_sort, status_changed_at = excluded.status_changed_at",
          table)));
  for (const auto& r : rows) {
    st->Reset();
    st->Bind(1, r.key.org).Bind(2, r.key.id).Bind(3, r.entry.urgency());
    st->Bind(4, core::ToString(r.entry.reason));
    st->Bind(5, r.entry.promised_delivery_at ? ToMillis(*r.entry.promised_delivery_at)
                                             : kExceptionNoPromiseSort);
    st->Bind(6, ToMillis(r.entry.status_changed_at)).Bind(7, core::kExceptionQueueVersion);
    MV_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status UpsertTrackingStates(Database& db, const std::string& table,
                            const std::vector<core::TrackingState>& states) {
  if (states.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare(fmt::format("INSERT INTO {} (org, shipment_id, summary) VALUES (?1, ?2, ?3) "
                             "ON CONFLICT (org, shipment_id) DO UPDATE SET summary = "
                             "excluded.summary",
                             table)));
  for (const auto& t : states) {
    st->Reset();
    st->Bind(1, t.key.org).Bind(2, t.key.id);
    st->Bind(3, core::TrackingSummaryToJson(t.summary).dump());
    MV_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status WriteDeadLetters(Database& db, const std::vector<core::DeadLetter>& letters, Timestamp now) {
  if (letters.empty()) return Status::Ok();
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("INSERT INTO mv_dead_letters (token, collection, org, document_id, reason, "
                 "document, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  for (const auto& l : letters) {
    st->Reset();
    st->Bind(1, l.token).Bind(2, core::ToString(l.collection)).Bind(3, l.org);
    st->Bind(4, l.document_id).Bind(5, l.reason).Bind(6, l.document).Bind(7, ToMillis(now));
    MV_RETURN_IF_ERROR(st->Run());
  }
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

Status WriteViewChanges(Database& db, const core::ViewSet& views, const PhysicalTables& tables,
                        const core::ViewBatch& batch) {
  // The list first: aggregate maxima are recomputed from it.
  MV_RETURN_IF_ERROR(UpsertListRows(db, tables.shipment_list, batch.list_upserts));
  MV_RETURN_IF_ERROR(DeleteListRows(db, tables.shipment_list, batch.list_deletes));
  MV_RETURN_IF_ERROR(UpsertExceptionRows(db, tables.exception_queue, batch.exception_upserts));
  MV_RETURN_IF_ERROR(DeleteListRows(db, tables.exception_queue, batch.exception_deletes));
  MV_RETURN_IF_ERROR(UpsertTrackingStates(db, tables.tracking_state, batch.tracking_upserts));
  for (const auto& [view, deltas] : batch.aggregate_deltas) {
    const core::AggregateView* def = views.FindAggregate(view);
    auto table = tables.aggregates.find(view);
    if (def == nullptr || table == tables.aggregates.end()) {
      return Status::Internal("batch names unknown view " + view);
    }
    MV_RETURN_IF_ERROR(
        ApplyAggregateDeltas(db, def->spec(), table->second, tables.shipment_list, deltas));
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

Result<std::unique_ptr<SqliteViewStore>> SqliteViewStore::Open(const std::string& path,
                                                               const core::ViewSet* views,
                                                               const Clock* clock) {
  Database::Options writer_options;
  writer_options.wal_autocheckpoint_pages = 0;  // the checkpointer thread does it
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, writer_options));
  MV_RETURN_IF_ERROR(db->Exec(kSchema));
  MV_ASSIGN_OR_RETURN(auto checkpoint_db, Database::Open(path, {}));
  std::unique_ptr<SqliteViewStore> store(new SqliteViewStore(std::move(db), views, clock));
  MV_RETURN_IF_ERROR(store->LoadCatalog());
  MV_ASSIGN_OR_RETURN(ChangeToken token, store->Checkpoint());
  store->applied_.Reset(token);
  SqliteViewStore* self = store.get();
  store->checkpointer_ = std::thread(
      [self, cdb = std::move(checkpoint_db)]() mutable { self->CheckpointLoop(std::move(cdb)); });
  return store;
}

SqliteViewStore::~SqliteViewStore() {
  {
    std::lock_guard lock(checkpoint_mu_);
    stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
}

void SqliteViewStore::CheckpointLoop(std::unique_ptr<Database> db) {
  std::unique_lock lock(checkpoint_mu_);
  while (
      !checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping_; })) {
    lock.unlock();
    (void)db->Checkpoint();  // passive: a busy database is simply tried again later
    lock.lock();
  }
}

namespace {
std::string CacheKey(const core::ShipmentKey& key) { return key.org + '\0' + key.id; }
}  // namespace

void SqliteViewStore::RememberCommitted(const core::ViewBatch& batch) {
  for (const auto& key : batch.list_deletes) rows_.Erase(CacheKey(key));
  for (const auto& row : batch.list_upserts) {
    rows_.Put(CacheKey({row.org, row.shipment.id}), row);
  }
  for (const auto& state : batch.tracking_upserts) {
    tracking_.Put(CacheKey(state.key), state.summary);
  }
}

Status SqliteViewStore::LoadCatalog() {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  auto tables = ReadCatalog(*db_);
  if (!tables.ok() && tables.status().code() != StatusCode::kNotFound) return tables.status();
  if (tables.ok()) {
    MV_ASSIGN_OR_RETURN(Statement * st,
                        db_->Prepare("SELECT view, version, generation FROM mv_catalog"));
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      std::string view = st->ColumnText(0);
      int want = views_->VersionOf(view);
      if (want != st->ColumnInt(1)) {
        int have = static_cast<int>(st->ColumnInt(1));
        st->Reset();
        return Status::InvalidArgument(fmt::format(
            "{} in views.db is at definition version {}, this build maintains version {}; "
            "rebuild the views into a new data folder",
            view, have, want));
      }
      generation_ = std::max<std::int64_t>(generation_, st->ColumnInt(2));
    }
    st->Reset();
    tables_ = std::move(tables).value();
    if (tables_.exception_queue.empty() || tables_.tracking_state.empty()) {
      return Status::InvalidArgument(
          "views.db was built by an older release; rebuild the views into a new data folder");
    }
    for (const auto& v : views_->aggregates()) {
      if (!tables_.aggregates.count(v->spec().name)) {
        return Status::InvalidArgument(v->spec().name + " is missing from the view catalog");
      }
    }
  } else {
    generation_ = 1;
    MV_ASSIGN_OR_RETURN(tables_, CreateViewTables(*db_, *views_, generation_));
    MV_RETURN_IF_ERROR(WriteCatalog(*db_, *views_, tables_, generation_, clock_->Now()));
    MV_RETURN_IF_ERROR(SetCheckpoint(*db_, 0, clock_->Now()));
  }
  // Drop shadow tables an interrupted rebuild left behind.
  std::vector<std::string> orphans;
  {
    MV_ASSIGN_OR_RETURN(Statement * st,
                        db_->Prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                     "name LIKE 'mv\\_%\\_\\_v%' ESCAPE '\\' AND name NOT IN "
                                     "(SELECT physical_table FROM mv_catalog)"));
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      orphans.push_back(st->ColumnText(0));
    }
    st->Reset();
  }
  for (const auto& t : orphans) MV_RETURN_IF_ERROR(db_->Exec("DROP TABLE " + t));
  return txn->Commit();
}

Result<std::optional<core::ShipmentRow>> SqliteViewStore::FindShipmentRow(
    const core::ShipmentKey& key) {
  if (const core::ShipmentRow* cached = rows_.Find(CacheKey(key))) return std::optional(*cached);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare(fmt::format("SELECT row FROM {} WHERE org = ?1 AND id = ?2",
                                               tables_.shipment_list)));
  st->Bind(1, key.org).Bind(2, key.id);
  MV_ASSIGN_OR_RETURN(bool found, st->Step());
  if (!found) return std::optional<core::ShipmentRow>();
  auto json = nlohmann::json::parse(st->ColumnView(0), nullptr, false);
  st->Reset();
  MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::RowFromJson(key.org, json));
  return std::optional<core::ShipmentRow>(std::move(row));
}

Result<std::optional<core::TrackingSummary>> SqliteViewStore::FindTrackingSummary(
    const core::ShipmentKey& key) {
  std::string cache_key = CacheKey(key);
  if (const auto* cached = tracking_.Find(cache_key)) return *cached;
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare(fmt::format("SELECT summary FROM {} WHERE org = ?1 AND shipment_id = ?2",
                               tables_.tracking_state)));
  st->Bind(1, key.org).Bind(2, key.id);
  MV_ASSIGN_OR_RETURN(bool found, st->Step());
  std::optional<core::TrackingSummary> summary;
  if (found) {
    auto json = nlohmann::json::parse(st->ColumnView(0), nullptr, false);
    st->Reset();
    MV_ASSIGN_OR_RETURN(summary, core::TrackingSummaryFromJson(json));
  }
  st->Reset();
  tracking_.Put(std::move(cache_key), summary);
  return summary;
}

Result<ChangeToken> SqliteViewStore::Checkpoint() {
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare("SELECT token FROM mv_checkpoint WHERE id = 1"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  ChangeToken token = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return token;
}

Status SqliteViewStore::Apply(const core::ViewBatch& batch) {
  if (!batch.HasViewChanges() && batch.dead_letters.empty() && !batch.token) return Status::Ok();
  Timestamp now = clock_->Now();
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  MV_RETURN_IF_ERROR(WriteViewChanges(*db_, *views_, tables_, batch));
  MV_RETURN_IF_ERROR(WriteDeadLetters(*db_, batch.dead_letters, now));
  if (batch.token) MV_RETURN_IF_ERROR(SetCheckpoint(*db_, *batch.token, now));
  MV_RETURN_IF_ERROR(txn->Commit());
  RememberCommitted(batch);
  if (batch.token) applied_.Advance(*batch.token);
  return Status::Ok();
}

Result<std::vector<core::ShipmentRow>> SqliteViewStore::DueForSlaChange(Timestamp now,
                                                                        size_t limit) {
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare(fmt::format(
                                          "SELECT org, row FROM {} WHERE sla_next_change_at <= ?1 "
                                          "ORDER BY sla_next_change_at LIMIT ?2",
                                          tables_.shipment_list)));
  st->Bind(1, ToMillis(now)).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<core::ShipmentRow> rows;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool more, st->Step());
    if (!more) break;
    auto row = core::RowFromJson(st->ColumnText(0),
                                 nlohmann::json::parse(st->ColumnView(1), nullptr, false));
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    // The ticker re-reads each due row as its `before`: remember it (it is committed).
    rows_.Put(CacheKey({row->org, row->shipment.id}), *row);
    rows.push_back(std::move(row).value());
  }
  st->Reset();
  return rows;
}

// A rebuild fills tables of the next generation; Commit points the catalog at them and
// drops the old ones, in one transaction.
class SqliteViewRebuild final : public core::ViewRebuild {
 public:
  SqliteViewRebuild(SqliteViewStore* store, PhysicalTables shadow, std::int64_t generation)
      : store_(store), shadow_(std::move(shadow)), generation_(generation) {}

  ~SqliteViewRebuild() override {
    if (!committed_) (void)DropTables(*store_->db_, shadow_);
  }

  Status Write(const core::ViewBatch& chunk) override {
    Database& db = *store_->db_;
    MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
    MV_RETURN_IF_ERROR(WriteViewChanges(db, *store_->views_, shadow_, chunk));
    MV_RETURN_IF_ERROR(WriteDeadLetters(db, chunk.dead_letters, store_->clock_->Now()));
    return txn->Commit();
  }

  Status Commit(ChangeToken token) override {
    Database& db = *store_->db_;
    Timestamp now = store_->clock_->Now();
    {
      MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
      MV_RETURN_IF_ERROR(WriteCatalog(db, *store_->views_, shadow_, generation_, now));
      MV_RETURN_IF_ERROR(SetCheckpoint(db, token, now));
      db.ForgetStatements();
      MV_RETURN_IF_ERROR(DropTables(db, store_->tables_));
      MV_RETURN_IF_ERROR(txn->Commit());
    }
    committed_ = true;
    store_->rows_.Clear();
    store_->tracking_.Clear();
    store_->tables_ = shadow_;
    store_->generation_ = generation_;
    store_->applied_.Reset(token);
    return Status::Ok();
  }

 private:
  SqliteViewStore* store_;
  PhysicalTables shadow_;
  std::int64_t generation_;
  bool committed_ = false;
};

Result<std::unique_ptr<core::ViewRebuild>> SqliteViewStore::BeginRebuild() {
  std::int64_t generation = generation_ + 1;
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  MV_ASSIGN_OR_RETURN(PhysicalTables shadow, CreateViewTables(*db_, *views_, generation));
  MV_RETURN_IF_ERROR(txn->Commit());
  return std::unique_ptr<core::ViewRebuild>(new SqliteViewRebuild(this, shadow, generation));
}

Result<std::string> DumpTable(Database& db, const std::string& table) {
  MV_ASSIGN_OR_RETURN(Statement * info,
                      db.Prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid"));
  info->Bind(1, table);
  std::vector<std::string> cols;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, info->Step());
    if (!row) break;
    cols.push_back(info->ColumnText(0));
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

}  // namespace mv::storage::sqlite
