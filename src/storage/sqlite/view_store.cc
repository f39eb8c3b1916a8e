#include "storage/sqlite/view_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <limits>
#include <set>
#include <thread>
#include <utility>

#include "base/time.h"
#include "core/row_codec.h"
#include "core/stored_versions.h"

namespace mv::storage::sqlite {
namespace {

using core::ChangeToken;
using Kind = IdDictionary::Kind;

constexpr std::int64_t kExceptionNoPromiseSort = std::numeric_limits<std::int64_t>::max();

Status SetCheckpoint(Database& db, ChangeToken token, Timestamp now) {
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db.Prepare("INSERT INTO mv_checkpoint (id, token, updated_at) VALUES (1, ?1, ?2) "
                 "ON CONFLICT (id) DO UPDATE SET token = excluded.token, "
                 "updated_at = excluded.updated_at"));
  st->Bind(1, token).Bind(2, ToMillis(now));
  return st->Run();
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

// The values of a list row's indexed columns, in the order of the bound parameters
// ?4..?10 of the list statements (?1 row, ?2 org, ?3 id).
struct ListColumns {
  std::int64_t status = 0;
  std::int64_t carrier = 0;
  std::int64_t customer = 0;
  std::int64_t sla = 0;
  std::optional<std::int64_t> sla_next_change_at;
  std::int64_t created_at = 0;
  std::string reference;
};
constexpr const char* kListColumnNames[] = {
    "status", "carrier", "customer", "sla", "sla_next_change_at", "created_at", "reference"};
constexpr int kListColumnCount = 7;

// A mask of the list columns whose values differ.
unsigned Changed(const ListColumns& a, const ListColumns& b) {
  unsigned mask = 0;
  if (a.status != b.status) mask |= 1u << 0;
  if (a.carrier != b.carrier) mask |= 1u << 1;
  if (a.customer != b.customer) mask |= 1u << 2;
  if (a.sla != b.sla) mask |= 1u << 3;
  if (a.sla_next_change_at != b.sla_next_change_at) mask |= 1u << 4;
  if (a.created_at != b.created_at) mask |= 1u << 5;
  if (a.reference != b.reference) mask |= 1u << 6;
  return mask;
}

void BindListColumns(Statement* st, const ListColumns& c) {
  st->Bind(4, c.status).Bind(5, c.carrier).Bind(6, c.customer).Bind(7, c.sla);
  st->Bind(8, c.sla_next_change_at).Bind(9, c.created_at).Bind(10, c.reference);
}

}  // namespace

Result<std::unique_ptr<SqliteViewStore>> SqliteViewStore::Open(const std::string& path,
                                                               const core::ViewSet* views,
                                                               const Clock* clock,
                                                               const Options& options) {
  Database::Options writer_options;
  writer_options.wal_autocheckpoint_pages = 0;  // the checkpointer thread does it
  writer_options.cache_size_kib = options.cache_mib * 1024;
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, writer_options));
  MV_RETURN_IF_ERROR(CreateStoreTables(*db));
  Database::Options checkpointer_options;  // copies WAL frames: needs no page cache
  checkpointer_options.cache_size_kib = 1024;
  MV_ASSIGN_OR_RETURN(auto checkpoint_db, Database::Open(path, checkpointer_options));
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
    // A writer that never pauses keeps the WAL from restarting, and it grows by every page
    // each batch touches (~0.5-0.9 GB at 1M shipments in docs/benchmarks.md): past the
    // bound, one truncating checkpoint holds the writer for the frames passive ones left.
    if (db->WalBytes() > kWalTruncateBytes) (void)db->TruncateWal();
    lock.lock();
  }
}

bool SqliteViewStore::Defines(const std::string& view, int version) const {
  if (views_->FindAggregate(view) != nullptr) return views_->Definition(view, version) != nullptr;
  return views_->VersionOf(view) == version;
}

Status SqliteViewStore::DropCatalogRows(const std::vector<core::StoredVersion>& rows) {
  db_->ForgetStatements();
  MV_ASSIGN_OR_RETURN(Statement * del,
                      db_->Prepare("DELETE FROM mv_catalog WHERE physical_table = ?1"));
  for (const auto& v : rows) {
    del->Reset();
    del->Bind(1, v.table);
    MV_RETURN_IF_ERROR(del->Run());
  }
  db_->ForgetStatements();
  for (const auto& v : rows) MV_RETURN_IF_ERROR(db_->Exec("DROP TABLE IF EXISTS " + v.table));
  return Status::Ok();
}

Status SqliteViewStore::LoadCatalog() {
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  MV_ASSIGN_OR_RETURN(auto stored, ReadCatalogVersions(*db_));
  auto tables = ReadCatalog(*db_);
  if (!tables.ok() && tables.status().code() != StatusCode::kNotFound) return tables.status();
  std::string outdated;  // why the stored views cannot be used, if they cannot
  if (tables.ok()) {
    for (const auto& v : stored) {
      generation_ = std::max<std::int64_t>(generation_, v.generation);
      if (v.state == core::VersionState::kLive && !Defines(v.view, v.version) && outdated.empty()) {
        outdated = fmt::format("{} is stored at definition version {}, this build maintains {}",
                               v.view, v.version, views_->VersionOf(v.view));
      }
    }
    for (const auto& v : views_->aggregates()) {
      if (outdated.empty() && !tables->aggregates.count(v->spec().name)) {
        outdated = v->spec().name + " is not stored";
      }
    }
    if (outdated.empty() && (tables->exception_queue.empty() || tables->tracking_state.empty())) {
      outdated = "views.db was built by an older release";
    }
    if (!outdated.empty()) {
      spdlog::warn("views.db: {}; dropping the stored views and rebuilding them from the source",
                   outdated);
      MV_RETURN_IF_ERROR(DropCatalogRows(stored));
    } else {
      tables_ = std::move(tables).value();
      std::vector<core::StoredVersion> undefined;
      for (const auto& v : stored) {
        if (v.state == core::VersionState::kLive) continue;
        if (Defines(v.view, v.version)) continue;
        spdlog::warn("views.db: dropping {} v{} ({}): this build does not define that version",
                     v.view, v.version, core::ToString(v.state));
        undefined.push_back(v);
      }
      MV_RETURN_IF_ERROR(DropCatalogRows(undefined));
      // Views that never applied a change (created by a process that only opened them,
      // such as `viya-mv import`) are as new: built from a snapshot, not by replay.
      MV_ASSIGN_OR_RETURN(Statement * st,
                          db_->Prepare(fmt::format("SELECT (SELECT coalesce(max(token), 0) FROM "
                                                   "mv_checkpoint) = 0 AND NOT EXISTS (SELECT 1 "
                                                   "FROM {})",
                                                   tables_.shipment_list)));
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      fresh_ = row && st->ColumnInt(0) != 0;
      st->Reset();
    }
  }
  if (!tables.ok() || !outdated.empty()) {
    ++generation_;
    MV_ASSIGN_OR_RETURN(tables_, CreateViewTables(*db_, *views_, generation_, /*indexes=*/true));
    MV_RETURN_IF_ERROR(WriteCatalog(*db_, *views_, tables_, {}, generation_, clock_->Now(), 0));
    MV_RETURN_IF_ERROR(SetCheckpoint(*db_, 0, clock_->Now()));
    fresh_ = true;
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
  MV_RETURN_IF_ERROR(ReloadSideVersions());
  return txn->Commit();
}

Status SqliteViewStore::ReloadSideVersions() {
  MV_ASSIGN_OR_RETURN(auto stored, ReadCatalogVersions(*db_));
  side_.clear();
  for (auto& v : stored) {
    if (v.state != core::VersionState::kLive) side_.push_back(std::move(v));
  }
  return Status::Ok();
}

Result<std::vector<core::StoredVersion>> SqliteViewStore::Versions() {
  return ReadCatalogVersions(*db_);
}

std::vector<std::string> SqliteViewStore::VersionsToBuild() {
  return core::VersionsToBuild(*views_, tables_.aggregate_versions, side_);
}

const core::StoredVersion* SqliteViewStore::FindSide(const std::string& view,
                                                     core::VersionState state) const {
  return core::FindSideVersion(side_, view, state);
}

Status SqliteViewStore::MarkValidated(const std::string& view) {
  const core::StoredVersion* next = FindSide(view, core::VersionState::kBuilding);
  if (next == nullptr) return Status::Conflict("no version of " + view + " is being built");
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      db_->Prepare("UPDATE mv_catalog SET validated = 1 WHERE physical_table = ?1"));
  st->Bind(1, next->table);
  MV_RETURN_IF_ERROR(st->Run());
  MV_RETURN_IF_ERROR(txn->Commit());
  return ReloadSideVersions();
}

Status SqliteViewStore::MakeLive(const core::StoredVersion& next) {
  auto live = tables_.aggregates.find(next.view);
  if (live == tables_.aggregates.end()) return Status::Internal("no live table of " + next.view);
  Timestamp now = clock_->Now();
  {
    MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
    MV_ASSIGN_OR_RETURN(Statement * retire,
                        db_->Prepare("UPDATE mv_catalog SET state = 'retired', retired_at = ?2 "
                                     "WHERE physical_table = ?1"));
    retire->Bind(1, live->second).Bind(2, ToMillis(now));
    MV_RETURN_IF_ERROR(retire->Run());
    MV_ASSIGN_OR_RETURN(Statement * promote,
                        db_->Prepare("UPDATE mv_catalog SET state = 'live', retired_at = NULL "
                                     "WHERE physical_table = ?1"));
    promote->Bind(1, next.table);
    MV_RETURN_IF_ERROR(promote->Run());
    MV_RETURN_IF_ERROR(BumpCatalogEpoch(*db_));
    MV_RETURN_IF_ERROR(txn->Commit());
  }
  spdlog::info("views.db: {} v{} ({}) is live; v{} ({}) retired", next.view, next.version,
               next.table, tables_.aggregate_versions[next.view], live->second);
  live->second = next.table;
  tables_.aggregate_versions[next.view] = next.version;
  return ReloadSideVersions();
}

Status SqliteViewStore::SwitchVersion(const std::string& view) {
  MV_ASSIGN_OR_RETURN(core::StoredVersion next,
                      core::VersionToSwitchTo(*views_, tables_.aggregate_versions, side_, view));
  return MakeLive(next);
}

Status SqliteViewStore::RollbackVersion(const std::string& view) {
  MV_ASSIGN_OR_RETURN(core::StoredVersion retired,
                      core::VersionToRollBackTo(*views_, tables_.aggregate_versions, side_, view));
  return MakeLive(retired);
}

Result<int> SqliteViewStore::DropRetired(const std::optional<std::string>& view,
                                         std::optional<Timestamp> retired_before) {
  std::vector<core::StoredVersion> drop = core::RetiredVersions(side_, view, retired_before);
  if (drop.empty()) return 0;
  {
    MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
    MV_RETURN_IF_ERROR(DropCatalogRows(drop));
    MV_RETURN_IF_ERROR(txn->Commit());
  }
  for (const auto& v : drop) {
    spdlog::info("views.db: dropped retired {} v{} ({})", v.view, v.version, v.table);
  }
  MV_RETURN_IF_ERROR(ReloadSideVersions());
  return static_cast<int>(drop.size());
}

Status SqliteViewStore::DropSideVersions() {
  if (side_.empty()) return Status::Ok();
  {
    MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
    MV_RETURN_IF_ERROR(DropCatalogRows(side_));
    MV_RETURN_IF_ERROR(txn->Commit());
  }
  spdlog::warn("views.db: dropped {} versions kept beside the live ones: they missed changes",
               side_.size());
  return ReloadSideVersions();
}

Result<std::optional<std::string>> SqliteViewStore::ReadStateBlob(const std::string& table,
                                                                  const char* id_column,
                                                                  const char* blob_column,
                                                                  const core::ShipmentKey& key) {
  MV_ASSIGN_OR_RETURN(auto org, ids_.Find(Kind::kOrg, key.org));
  if (!org) return std::optional<std::string>();  // an org without a code has no rows
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare(fmt::format("SELECT {} FROM {} WHERE org = ?1 AND {} = ?2",
                                               blob_column, table, id_column)));
  st->Bind(1, *org).Bind(2, key.id);
  MV_ASSIGN_OR_RETURN(bool found, st->Step());
  std::optional<std::string> blob;
  if (found) blob = std::string(st->ColumnBlob(0));
  st->Reset();
  return blob;
}

void SqliteViewStore::Unreadable(const core::ShipmentKey& key, const char* what,
                                 const Status& why) {
  spdlog::error(
      "views.db: the stored {} of {}/{} cannot be read ({}); re-deriving it from the "
      "source",
      what, key.org, key.id, why.message());
  unreadable_.push_back(key);
}

std::vector<core::ShipmentKey> SqliteViewStore::TakeUnreadableRows() {
  std::vector<core::ShipmentKey> keys = std::exchange(unreadable_, {});
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Result<std::optional<core::ShipmentRow>> SqliteViewStore::FindShipmentRow(
    const core::ShipmentKey& key) {
  const std::optional<std::string>* cached = rows_.Find(key);
  std::optional<std::string> blob;
  if (cached != nullptr) {
    blob = *cached;
  } else {
    MV_ASSIGN_OR_RETURN(blob, ReadStateBlob(tables_.shipment_list, "id", "row", key));
    rows_.Put(key, blob);
  }
  if (!blob) return std::optional<core::ShipmentRow>();
  auto row = core::DecodeRow(key.org, *blob);
  if (!row.ok()) {
    Unreadable(key, "row", row.status());
    rows_.Put(key, std::nullopt);
    return std::optional<core::ShipmentRow>();
  }
  return std::optional<core::ShipmentRow>(std::move(row).value());
}

Result<std::optional<core::TrackingSummary>> SqliteViewStore::FindTrackingSummary(
    const core::ShipmentKey& key) {
  const std::optional<std::string>* cached = tracking_.Find(key);
  std::optional<std::string> blob;
  if (cached != nullptr) {
    blob = *cached;
  } else {
    MV_ASSIGN_OR_RETURN(blob, ReadStateBlob(tables_.tracking_state, "shipment_id", "summary", key));
    tracking_.Put(key, blob);
  }
  if (!blob) return std::optional<core::TrackingSummary>();
  auto summary = core::DecodeTrackingSummary(*blob);
  if (!summary.ok()) {
    Unreadable(key, "tracking summary", summary.status());
    tracking_.Put(key, std::nullopt);
    return std::optional<core::TrackingSummary>();
  }
  return std::optional<core::TrackingSummary>(std::move(summary).value());
}

Result<ChangeToken> SqliteViewStore::Checkpoint() {
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare("SELECT token FROM mv_checkpoint WHERE id = 1"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  ChangeToken token = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return token;
}

Status SqliteViewStore::UpsertListRows(const std::string& table,
                                       const std::vector<core::ShipmentRow>& rows, ListWrite mode,
                                       std::vector<std::string>* encoded) {
  if (rows.empty()) return Status::Ok();
  // A row the cache knows to be stored: an update of the columns that changed, so that an
  // index whose columns did not change is not touched. Any other row: an upsert (which
  // costs an insert when the row is new). A shadow filled from a snapshot takes inserts.
  const std::string insert = fmt::format(
      "INSERT INTO {} (row, org, id, status, carrier, customer, sla, sla_next_change_at, "
      "created_at, reference) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
      table);
  const std::string upsert =
      insert +
      " ON CONFLICT (org, id) DO UPDATE SET row = excluded.row, status = excluded.status, "
      "carrier = excluded.carrier, customer = excluded.customer, sla = excluded.sla, "
      "sla_next_change_at = excluded.sla_next_change_at, created_at = excluded.created_at, "
      "reference = excluded.reference";
  for (const auto& r : rows) {
    const core::Shipment& s = r.shipment;
    ListColumns after;
    after.status = static_cast<std::int64_t>(s.status);
    if (!s.carrier_id.empty()) {
      MV_ASSIGN_OR_RETURN(after.carrier, ids_.Intern(Kind::kCarrier, s.carrier_id));
    }
    if (!s.customer_id.empty()) {
      MV_ASSIGN_OR_RETURN(after.customer, ids_.Intern(Kind::kCustomer, s.customer_id));
    }
    after.sla = static_cast<std::int64_t>(r.sla.status);
    if (r.sla.next_change_at) after.sla_next_change_at = ToMillis(*r.sla.next_change_at);
    after.created_at = ToMillis(s.created_at);
    after.reference = s.reference;
    MV_ASSIGN_OR_RETURN(std::int64_t org, ids_.Intern(Kind::kOrg, r.org));
    encoded->push_back(core::EncodeRow(r));

    std::string sql;
    const std::optional<std::string>* known =
        mode == ListWrite::kUpdateKnown ? rows_.Find({r.org, s.id}) : nullptr;
    if (mode == ListWrite::kInsert) {
      sql = insert;
    } else if (known == nullptr || !*known) {
      sql = upsert;
    } else {
      MV_ASSIGN_OR_RETURN(core::ShipmentRow before_row, core::DecodeRow(r.org, **known));
      ListColumns before;
      const core::Shipment& b = before_row.shipment;
      before.status = static_cast<std::int64_t>(b.status);
      if (!b.carrier_id.empty()) {
        MV_ASSIGN_OR_RETURN(before.carrier, ids_.Intern(Kind::kCarrier, b.carrier_id));
      }
      if (!b.customer_id.empty()) {
        MV_ASSIGN_OR_RETURN(before.customer, ids_.Intern(Kind::kCustomer, b.customer_id));
      }
      before.sla = static_cast<std::int64_t>(before_row.sla.status);
      if (before_row.sla.next_change_at) {
        before.sla_next_change_at = ToMillis(*before_row.sla.next_change_at);
      }
      before.created_at = ToMillis(b.created_at);
      before.reference = b.reference;
      unsigned mask = Changed(before, after);
      sql = fmt::format("UPDATE {} SET row = ?1", table);
      for (int c = 0; c < kListColumnCount; ++c) {
        if (mask & (1u << c)) sql += fmt::format(", {} = ?{}", kListColumnNames[c], 4 + c);
      }
      sql += " WHERE org = ?2 AND id = ?3";
    }
    MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare(sql));
    st->BindBlob(1, encoded->back()).Bind(2, org).Bind(3, s.id);
    BindListColumns(st, after);
    MV_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status SqliteViewStore::ApplyAggregateDeltas(const core::AggregateViewSpec& spec,
                                             const std::string& table,
                                             const std::string& list_table,
                                             const std::vector<core::AggregateDelta>& deltas) {
  std::string cols, params, where;
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
  }
  for (const auto& m : spec.max_measures) {
    cols += m.column + ", ";
    params += fmt::format("?{}, ", p++);
  }
  std::string keys;
  for (const auto& k : spec.key_columns) keys += (keys.empty() ? "" : ", ") + k;
  const size_t n_measures = spec.measure_columns.size();
  // The upsert of a delta sets only the columns it changes, so that a secondary index
  // over a column the delta leaves alone is not touched (views without indexes set every
  // measure: their row is rewritten either way). Column i < n_measures is measure i, the
  // rest are the max measures.
  // Whether the upsert of `changed` sets column c: bit c of the mask, or every column when
  // the mask is all ones (views of more than 64 columns are never masked).
  auto sets = [](std::uint64_t changed, size_t c) {
    return c < 64 ? ((changed >> c) & 1) != 0 : changed == ~std::uint64_t{0};
  };
  auto upsert_sql = [&](std::uint64_t changed) {
    std::string updates;
    for (size_t i = 0; i < n_measures; ++i) {
      if (!sets(changed, i)) continue;
      updates += fmt::format("{0}{1} = {1} + excluded.{1}", updates.empty() ? "" : ", ",
                             spec.measure_columns[i]);
    }
    for (size_t j = 0; j < spec.max_measures.size(); ++j) {
      if (!sets(changed, n_measures + j)) continue;
      updates += fmt::format(
          "{0}{1} = CASE WHEN excluded.{1} IS NULL THEN {1} WHEN {1} IS NULL OR excluded.{1} > "
          "{1} THEN excluded.{1} ELSE {1} END",
          updates.empty() ? "" : ", ", spec.max_measures[j].column);
    }
    return fmt::format("INSERT INTO {} ({}_schema_version) VALUES ({}?{}) ON CONFLICT ({}) DO {}",
                       table, cols, params, p, keys,
                       updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
  };
  const bool masked = !spec.indexes.empty() && n_measures + spec.max_measures.size() <= 64;
  const std::uint64_t all = n_measures + spec.max_measures.size() >= 64
                                ? ~std::uint64_t{0}
                                : (std::uint64_t{1} << (n_measures + spec.max_measures.size())) - 1;
  MV_ASSIGN_OR_RETURN(Statement * del,
                      db_->Prepare(fmt::format("DELETE FROM {} WHERE {} AND {} = 0", table, where,
                                               spec.measure_columns.front())));
  // A retraction that removed the current maximum: recompute it from the shipment list,
  // whose org and customer columns hold codes.
  std::vector<Statement*> recompute;
  for (const auto& m : spec.max_measures) {
    std::string list_where;
    for (size_t i = 0; i < spec.key_columns.size(); ++i) {
      const std::string& k = spec.key_columns[i];
      int param = static_cast<int>(i) + 1;
      std::string match =
          k == "org"           ? fmt::format("org = ?{}", param)
          : k == "customer_id" ? fmt::format("customer = COALESCE({}, 0)", CodeOf(3, param))
          : k == "carrier_id"  ? fmt::format("carrier = COALESCE({}, 0)", CodeOf(2, param))
                               : fmt::format("{} = ?{}", k, param);
      list_where += (list_where.empty() ? "" : " AND ") + match;
    }
    int bound = static_cast<int>(spec.key_columns.size()) + 1;
    MV_ASSIGN_OR_RETURN(Statement * st,
                        db_->Prepare(fmt::format("UPDATE {0} SET {1} = (SELECT MAX({2}) FROM {3} "
                                                 "WHERE {4}) WHERE {5} AND {1} <= ?{6}",
                                                 table, m.column, m.list_column, list_table,
                                                 list_where, where, bound)));
    recompute.push_back(st);
  }
  auto bind_key = [&](Statement* st, const core::AggregateDelta& d) -> Status {
    for (size_t i = 0; i < d.key.size(); ++i) {
      int param = static_cast<int>(i) + 1;
      if (spec.key_columns[i] == "org") {
        MV_ASSIGN_OR_RETURN(std::int64_t org, ids_.Intern(Kind::kOrg, d.key[i]));
        st->Bind(param, org);
      } else {
        st->Bind(param, d.key[i]);
      }
    }
    return Status::Ok();
  };
  std::unordered_map<std::uint64_t, std::string> sql_of;  // changed columns -> upsert
  for (const auto& d : deltas) {
    std::uint64_t changed = all;
    if (masked) {
      changed = 0;
      for (size_t i = 0; i < n_measures; ++i) {
        if (d.measures[i] != 0) changed |= std::uint64_t{1} << i;
      }
      for (size_t j = 0; j < spec.max_measures.size(); ++j) {
        // Re-adding exactly what was retracted leaves the maximum as it is.
        if (d.max_added[j] && d.max_added[j] != d.max_retracted[j]) {
          changed |= std::uint64_t{1} << (n_measures + j);
        }
      }
    }
    auto [sql, fresh] = sql_of.try_emplace(changed);
    if (fresh) sql->second = upsert_sql(changed);
    MV_ASSIGN_OR_RETURN(Statement * up, db_->Prepare(sql->second));
    MV_RETURN_IF_ERROR(bind_key(up, d));
    int i = static_cast<int>(d.key.size()) + 1;
    for (auto m : d.measures) up->Bind(i++, m);
    for (const auto& m : d.max_added) up->Bind(i++, m);
    up->Bind(p, spec.version);
    MV_RETURN_IF_ERROR(up->Run());
    if (d.measures.front() < 0) {
      del->Reset();
      MV_RETURN_IF_ERROR(bind_key(del, d));
      MV_RETURN_IF_ERROR(del->Run());
    }
    for (size_t m = 0; m < recompute.size(); ++m) {
      const auto& retracted = d.max_retracted[m];
      const auto& added = d.max_added[m];
      if (!retracted || (added && *added >= *retracted)) continue;
      Statement* st = recompute[m];
      st->Reset();
      MV_RETURN_IF_ERROR(bind_key(st, d));
      st->Bind(static_cast<int>(d.key.size()) + 1, *retracted);
      MV_RETURN_IF_ERROR(st->Run());
    }
  }
  return Status::Ok();
}

Status SqliteViewStore::WriteViewChanges(const PhysicalTables& tables, const core::ViewBatch& batch,
                                         ListWrite mode, std::vector<std::string>* encoded) {
  // The list first: aggregate maxima are recomputed from it.
  MV_RETURN_IF_ERROR(UpsertListRows(tables.shipment_list, batch.list_upserts, mode, encoded));
  auto delete_keys = [&](const std::string& table, const char* id_column,
                         const std::vector<core::ShipmentKey>& keys) -> Status {
    if (keys.empty()) return Status::Ok();
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db_->Prepare(fmt::format("DELETE FROM {} WHERE org = ?1 AND {} = ?2", table, id_column)));
    for (const auto& k : keys) {
      MV_ASSIGN_OR_RETURN(auto org, ids_.Find(Kind::kOrg, k.org));
      if (!org) continue;  // an org without a code has no rows
      st->Reset();
      st->Bind(1, *org).Bind(2, k.id);
      MV_RETURN_IF_ERROR(st->Run());
    }
    return Status::Ok();
  };
  MV_RETURN_IF_ERROR(delete_keys(tables.shipment_list, "id", batch.list_deletes));
  if (!batch.exception_upserts.empty()) {
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db_->Prepare(fmt::format(
            "INSERT INTO {} (org, id, urgency, promised_sort, status_changed_at, "
            "_schema_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (org, id) DO UPDATE "
            "SET urgency = excluded.urgency, promised_sort = excluded.promised_sort, "
            "status_changed_at = excluded.status_changed_at",
            tables.exception_queue)));
    for (const auto& r : batch.exception_upserts) {
      MV_ASSIGN_OR_RETURN(std::int64_t org, ids_.Intern(Kind::kOrg, r.key.org));
      st->Reset();
      st->Bind(1, org).Bind(2, r.key.id).Bind(3, r.entry.urgency());
      st->Bind(4, r.entry.promised_delivery_at ? ToMillis(*r.entry.promised_delivery_at)
                                               : kExceptionNoPromiseSort);
      st->Bind(5, ToMillis(r.entry.status_changed_at)).Bind(6, core::kExceptionQueueVersion);
      MV_RETURN_IF_ERROR(st->Run());
    }
  }
  MV_RETURN_IF_ERROR(delete_keys(tables.exception_queue, "id", batch.exception_deletes));
  if (!batch.tracking_upserts.empty()) {
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db_->Prepare(fmt::format("INSERT INTO {} (org, shipment_id, summary) VALUES (?1, ?2, ?3) "
                                 "ON CONFLICT (org, shipment_id) DO UPDATE SET summary = "
                                 "excluded.summary",
                                 tables.tracking_state)));
    for (const auto& t : batch.tracking_upserts) {
      MV_ASSIGN_OR_RETURN(std::int64_t org, ids_.Intern(Kind::kOrg, t.key.org));
      st->Reset();
      st->Bind(1, org).Bind(2, t.key.id).BindBlob(3, core::EncodeTrackingSummary(t.summary));
      MV_RETURN_IF_ERROR(st->Run());
    }
  }
  MV_RETURN_IF_ERROR(delete_keys(tables.tracking_state, "shipment_id", batch.tracking_deletes));
  for (const auto& [view, deltas] : batch.aggregate_deltas) {
    if (!tables.aggregates.count(view)) return Status::Internal("batch names unknown view " + view);
  }
  for (const auto& [view, table] : tables.aggregates) {
    MV_RETURN_IF_ERROR(WriteVersionDeltas(view, tables.VersionOf(*views_, view), table,
                                          tables.shipment_list, batch));
  }
  return Status::Ok();
}

Status SqliteViewStore::WriteVersionDeltas(const std::string& view, int version,
                                           const std::string& table, const std::string& list_table,
                                           const core::ViewBatch& batch) {
  const core::AggregateView* def = views_->Definition(view, version);
  if (def == nullptr)
    return Status::Internal(fmt::format("no definition of {} v{}", view, version));
  const auto& deltas =
      def == views_->FindAggregate(view) ? batch.aggregate_deltas : batch.previous_version_deltas;
  auto found = deltas.find(view);
  if (found == deltas.end()) return Status::Ok();
  return ApplyAggregateDeltas(def->spec(), table, list_table, found->second);
}

void SqliteViewStore::RememberCommitted(const core::ViewBatch& batch,
                                        std::vector<std::string>& encoded) {
  for (const auto& key : batch.list_deletes) rows_.Put(key, std::nullopt);
  for (size_t i = 0; i < batch.list_upserts.size(); ++i) {
    const core::ShipmentRow& row = batch.list_upserts[i];
    rows_.Put({row.org, row.shipment.id}, std::move(encoded[i]));
  }
  for (const auto& state : batch.tracking_upserts) {
    tracking_.Put(state.key, core::EncodeTrackingSummary(state.summary));
  }
  for (const auto& key : batch.tracking_deletes) tracking_.Put(key, std::nullopt);
}

Status SqliteViewStore::Apply(const core::ViewBatch& batch) {
  if (!batch.HasViewChanges() && batch.dead_letters.empty() && !batch.token) return Status::Ok();
  Timestamp now = clock_->Now();
  std::vector<std::string> encoded;
  encoded.reserve(batch.list_upserts.size());
  Status status = [&]() -> Status {
    MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
    MV_RETURN_IF_ERROR(WriteViewChanges(tables_, batch, ListWrite::kUpdateKnown, &encoded));
    for (const auto& side : side_) {
      MV_RETURN_IF_ERROR(
          WriteVersionDeltas(side.view, side.version, side.table, tables_.shipment_list, batch));
    }
    MV_RETURN_IF_ERROR(WriteDeadLetters(*db_, batch.dead_letters, now));
    if (batch.token) MV_RETURN_IF_ERROR(SetCheckpoint(*db_, *batch.token, now));
    return txn->Commit();
  }();
  if (!status.ok()) {
    ids_.Rollback();
    // The cache may hold what the engine read for this batch; it is still committed state.
    return status;
  }
  ids_.Commit();
  RememberCommitted(batch, encoded);
  if (batch.token) {
    applied_.Advance(*batch.token);
    fresh_ = false;
  }
  return Status::Ok();
}

Result<std::vector<core::ShipmentRow>> SqliteViewStore::ReadDue(const std::string& table,
                                                                Timestamp now, size_t limit,
                                                                bool remember) {
  MV_ASSIGN_OR_RETURN(Statement * st, db_->Prepare(fmt::format(
                                          "SELECT org, id, row FROM {} WHERE sla_next_change_at "
                                          "<= ?1 ORDER BY sla_next_change_at LIMIT ?2",
                                          table)));
  st->Bind(1, ToMillis(now)).Bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::tuple<std::int64_t, std::string, std::string>> due;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool more, st->Step());
    if (!more) break;
    due.emplace_back(st->ColumnInt(0), st->ColumnText(1), std::string(st->ColumnBlob(2)));
  }
  st->Reset();
  std::vector<core::ShipmentRow> rows;
  for (auto& [code, id, blob] : due) {
    MV_ASSIGN_OR_RETURN(std::string org, ids_.Text(code));
    auto row = core::DecodeRow(org, blob);
    if (!row.ok()) {
      Unreadable({org, id}, "row", row.status());
      continue;
    }
    // The ticker re-reads each due row as its `before`: remember it (it is committed).
    if (remember) rows_.Put({org, id}, std::move(blob));
    rows.push_back(std::move(row).value());
  }
  return rows;
}

Result<std::vector<core::ShipmentRow>> SqliteViewStore::DueForSlaChange(Timestamp now,
                                                                        size_t limit) {
  return ReadDue(tables_.shipment_list, now, limit, /*remember=*/true);
}

// A shadow of a scope of the views, in tables of the next generation. A shadow of every
// org is created without secondary indexes (a bulk fill) and indexed when committed;
// committing it points the catalog at its tables. A shadow of one org has its indexes
// from the start; committing it replaces that org's rows of the live tables in one
// transaction. Shadow tables not committed are dropped with this object.
class SqliteViewRebuild final : public core::ViewRebuild {
 public:
  SqliteViewRebuild(SqliteViewStore* store, core::ViewScope scope, PhysicalTables shadow,
                    std::int64_t generation, bool indexed)
      : store_(store),
        scope_(std::move(scope)),
        shadow_(std::move(shadow)),
        generation_(generation),
        indexed_(indexed) {}

  ~SqliteViewRebuild() override {
    Database& db = *store_->db_;
    db.ForgetStatements();
    for (const auto& [view, table] : shadow_.All()) {
      if (!swapped_.count(table)) (void)db.Exec("DROP TABLE IF EXISTS " + table);
    }
  }

  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& key) override {
    MV_ASSIGN_OR_RETURN(auto blob, store_->ReadStateBlob(shadow_.shipment_list, "id", "row", key));
    if (!blob) return std::optional<core::ShipmentRow>();
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::DecodeRow(key.org, *blob));
    return std::optional<core::ShipmentRow>(std::move(row));
  }

  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& key) override {
    MV_ASSIGN_OR_RETURN(
        auto blob, store_->ReadStateBlob(shadow_.tracking_state, "shipment_id", "summary", key));
    if (!blob) return std::optional<core::TrackingSummary>();
    MV_ASSIGN_OR_RETURN(core::TrackingSummary summary, core::DecodeTrackingSummary(*blob));
    return std::optional<core::TrackingSummary>(std::move(summary));
  }

  Status Write(const core::ViewBatch& chunk) override {
    // Only a rebuild of everything records the snapshot's unusable documents: any other
    // shadow would record again what the live views already hold.
    bool letters = !scope_.org && scope_.AllViews();
    return Transact(chunk, SqliteViewStore::ListWrite::kInsert, letters);
  }

  Status Apply(const core::ViewBatch& batch) override {
    return Transact(batch, SqliteViewStore::ListWrite::kUpsert, /*letters=*/false);
  }

  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override {
    return store_->ReadDue(shadow_.shipment_list, now, limit, /*remember=*/false);
  }

  Result<std::vector<std::string>> Orgs() override {
    if (scope_.org) return std::vector<std::string>{*scope_.org};
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        store_->db_->Prepare("SELECT text FROM mv_ids WHERE kind = ?1 ORDER BY text"));
    st->Bind(1, static_cast<int>(Kind::kOrg));
    std::vector<std::string> orgs;
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      orgs.push_back(st->ColumnText(0));
    }
    st->Reset();
    return orgs;
  }

  Result<std::vector<core::ViewDrift>> Compare(const std::string& org) override {
    std::vector<core::ViewDrift> out;
    MV_ASSIGN_OR_RETURN(auto code, store_->ids_.Find(Kind::kOrg, org));
    auto live = store_->tables_.All();
    if (scope_.next_version) {
      // The next version is compared with the one built beside the live one.
      for (auto& [view, table] : live) {
        if (!scope_.Includes(view)) continue;
        const core::StoredVersion* next = store_->FindSide(view, core::VersionState::kBuilding);
        if (next == nullptr) return Status::Conflict("no version of " + view + " is built");
        table = next->table;
      }
    }
    for (const auto& [view, table] : shadow_.All()) {
      if (!scope_.Includes(view)) continue;
      core::ViewDrift drift;
      drift.view = view;
      drift.org = org;
      if (code) {
        auto other = std::find_if(live.begin(), live.end(),
                                  [&](const auto& entry) { return entry.first == view; });
        if (other == live.end()) return Status::Internal("no live table for " + view);
        MV_ASSIGN_OR_RETURN(auto source_rows, Digest(table, *code));
        MV_ASSIGN_OR_RETURN(auto view_rows, Digest(other->second, *code));
        core::CompareRows(source_rows, view_rows, &drift);
      }
      out.push_back(std::move(drift));
    }
    return out;
  }

  Status Commit(ChangeToken token) override {
    if (scope_.next_version) return InstallNextVersion();
    if (scope_.org) return Status::Internal("a shadow of one org commits by parts");
    MV_RETURN_IF_ERROR(Swap(scope_, token));
    store_->applied_.Reset(token);
    return Status::Ok();
  }

  Status CommitPart(const core::ViewScope& part) override {
    MV_RETURN_IF_ERROR(scope_.CheckPart(part));
    if (scope_.next_version) return InstallNextVersion();
    if (!part.org) return Swap(part, std::nullopt);
    Database& db = *store_->db_;
    MV_ASSIGN_OR_RETURN(auto code, store_->ids_.Find(Kind::kOrg, *part.org));
    if (!code) return Status::Ok();  // an org without a code has no rows on either side
    auto live = store_->tables_.All();
    {
      MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
      for (size_t i = 0; i < live.size(); ++i) {
        const auto& [view, table] = live[i];
        if (!part.Includes(view) || !scope_.Includes(view)) continue;
        std::string from = ShadowOf(view);
        MV_ASSIGN_OR_RETURN(Statement * del,
                            db.Prepare(fmt::format("DELETE FROM {} WHERE org = ?1", table)));
        del->Bind(1, *code);
        MV_RETURN_IF_ERROR(del->Run());
        MV_ASSIGN_OR_RETURN(
            Statement * copy,
            db.Prepare(fmt::format("INSERT INTO {} SELECT * FROM {} WHERE org = ?1", table, from)));
        copy->Bind(1, *code);
        MV_RETURN_IF_ERROR(copy->Run());
      }
      MV_RETURN_IF_ERROR(txn->Commit());
    }
    store_->rows_.Clear();
    store_->tracking_.Clear();
    return Status::Ok();
  }

 private:
  using Digested = std::vector<core::RowDigest>;

  Status Transact(const core::ViewBatch& batch, SqliteViewStore::ListWrite mode, bool letters) {
    Database& db = *store_->db_;
    std::vector<std::string> encoded;
    Status status = [&]() -> Status {
      MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
      MV_RETURN_IF_ERROR(store_->WriteViewChanges(shadow_, batch, mode, &encoded));
      if (letters) {
        MV_RETURN_IF_ERROR(WriteDeadLetters(db, batch.dead_letters, store_->clock_->Now()));
      }
      return txn->Commit();
    }();
    if (!status.ok()) {
      store_->ids_.Rollback();
      return status;
    }
    store_->ids_.Commit();
    return Status::Ok();
  }

  std::string ShadowOf(const std::string& view) const {
    for (const auto& [name, table] : shadow_.All()) {
      if (name == view) return table;
    }
    return {};
  }

  Result<Digested> Digest(const std::string& table, std::int64_t code) {
    Digested rows;
    MV_RETURN_IF_ERROR(ScanOrgRows(*store_->db_, table, code,
                                   [&](std::string_view key, std::string_view content) -> Status {
                                     rows.emplace_back(std::string(key), RowHash(key, content));
                                     return Status::Ok();
                                   }));
    return rows;
  }

  static std::uint64_t RowHash(std::string_view key, std::string_view content) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    XXH3_64bits_update(state, key.data(), key.size());
    XXH3_64bits_update(state, "\x01", 1);
    XXH3_64bits_update(state, content.data(), content.size());
    std::uint64_t h = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return h;
  }

  // Records the shadow's tables of the views in scope as their next version, built beside
  // the live one (replacing any other stored version of that definition), indexed; the
  // live views go on serving.
  Status InstallNextVersion() {
    Database& db = *store_->db_;
    Timestamp now = store_->clock_->Now();
    std::vector<core::StoredVersion> replaced;
    std::vector<core::StoredVersion> installed;
    for (const auto& [view, table] : shadow_.aggregates) {
      if (!scope_.Includes(view) || swapped_.count(table)) continue;
      core::StoredVersion next;
      next.view = view;
      next.version = shadow_.VersionOf(*store_->views_, view);
      next.generation = generation_;
      next.state = core::VersionState::kBuilding;
      next.table = table;
      next.built_at = now;
      next.token = static_cast<std::int64_t>(store_->applied_.Get());
      for (const auto& side : store_->side_) {
        if (side.view == view && side.version == next.version) replaced.push_back(side);
      }
      installed.push_back(std::move(next));
    }
    {
      MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
      MV_RETURN_IF_ERROR(store_->DropCatalogRows(replaced));
      MV_ASSIGN_OR_RETURN(
          Statement * st,
          db.Prepare("INSERT INTO mv_catalog (physical_table, view, version, state, generation, "
                     "built_at, token, validated) VALUES (?1, ?2, ?3, 'building', ?4, ?5, ?6, 0)"));
      for (const auto& v : installed) {
        if (!indexed_) {
          MV_RETURN_IF_ERROR(
              CreateAggregateIndexes(db, *store_->views_, v.view, v.version, v.table));
        }
        st->Reset();
        st->Bind(1, v.table).Bind(2, v.view).Bind(3, v.version).Bind(4, v.generation);
        st->Bind(5, ToMillis(*v.built_at)).Bind(6, v.token);
        MV_RETURN_IF_ERROR(st->Run());
      }
      MV_RETURN_IF_ERROR(BumpCatalogEpoch(db));
      MV_RETURN_IF_ERROR(txn->Commit());
    }
    store_->generation_ = std::max(store_->generation_, generation_);
    for (const auto& v : installed) {
      swapped_.insert(v.table);
      spdlog::info("views.db: {} v{} built beside the live v{} ({})", v.view, v.version,
                   store_->tables_.VersionOf(*store_->views_, v.view), v.table);
    }
    return store_->ReloadSideVersions();
  }

  // Points the catalog at the shadow's tables of the views in `part` (every org), after
  // indexing them, and drops the tables they replace; with `token`, sets the checkpoint.
  Status Swap(const core::ViewScope& part, std::optional<ChangeToken> token) {
    Database& db = *store_->db_;
    Timestamp now = store_->clock_->Now();
    PhysicalTables merged = store_->tables_;
    PhysicalTables replaced;
    std::vector<std::string> taken;
    std::set<std::string> swapped_views;
    auto take = [&](const std::string& view, std::string& live, const std::string& shadow,
                    std::string& old) {
      if (!part.Includes(view) || !scope_.Includes(view) || swapped_.count(shadow)) return;
      old = live;
      live = shadow;
      taken.push_back(shadow);
      swapped_views.insert(view);
    };
    take(core::ViewSet::kShipmentList, merged.shipment_list, shadow_.shipment_list,
         replaced.shipment_list);
    take(core::kExceptionQueueView, merged.exception_queue, shadow_.exception_queue,
         replaced.exception_queue);
    take(core::ViewSet::kTrackingState, merged.tracking_state, shadow_.tracking_state,
         replaced.tracking_state);
    for (const auto& [view, table] : shadow_.aggregates) {
      take(view, merged.aggregates[view], table, replaced.aggregates[view]);
      if (swapped_views.count(view)) {
        merged.aggregate_versions[view] = shadow_.VersionOf(*store_->views_, view);
      }
    }
    if (swapped_views.empty()) return Status::Ok();
    {
      if (!indexed_) {
        // The indexes are built by scanning the tables and sorting: mapped, with SQLite's
        // sorter on every core, then back to the serving settings.
        MV_RETURN_IF_ERROR(db.Exec(fmt::format("PRAGMA threads = {}; PRAGMA mmap_size = {}",
                                               std::max(1u, std::thread::hardware_concurrency()),
                                               Database::kMaxMmapBytes)));
      }
      MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
      if (!indexed_) {
        Status indexed = CreateSecondaryIndexes(db, *store_->views_, shadow_);
        MV_RETURN_IF_ERROR(db.Exec("PRAGMA threads = 0; PRAGMA mmap_size = 0"));
        MV_RETURN_IF_ERROR(indexed);
      }
      MV_RETURN_IF_ERROR(WriteCatalog(db, *store_->views_, merged, swapped_views, generation_, now,
                                      token ? static_cast<std::int64_t>(*token)
                                            : static_cast<std::int64_t>(store_->applied_.Get())));
      if (token) MV_RETURN_IF_ERROR(SetCheckpoint(db, *token, now));
      db.ForgetStatements();
      for (const auto& [view, table] : replaced.All()) {
        if (!table.empty()) MV_RETURN_IF_ERROR(db.Exec("DROP TABLE IF EXISTS " + table));
      }
      MV_RETURN_IF_ERROR(txn->Commit());
    }
    indexed_ = true;
    for (auto& t : taken) swapped_.insert(std::move(t));
    store_->rows_.Clear();
    store_->tracking_.Clear();
    store_->tables_ = std::move(merged);
    store_->generation_ = generation_;
    store_->fresh_ = false;
    return Status::Ok();
  }

  SqliteViewStore* store_;
  core::ViewScope scope_;
  PhysicalTables shadow_;
  std::int64_t generation_;
  bool indexed_;
  std::set<std::string> swapped_;  // shadow tables the catalog now names
};

Result<std::unique_ptr<core::ViewRebuild>> SqliteViewStore::BeginRebuild(
    const core::ViewScope& scope) {
  std::int64_t generation = generation_ + 1;
  bool indexed = scope.org.has_value();
  // A shadow holds the live versions, and the scope's newest definitions when it is of
  // their next version.
  MV_ASSIGN_OR_RETURN(core::LiveVersions versions,
                      core::ShadowVersions(*views_, tables_.aggregate_versions, scope));
  MV_ASSIGN_OR_RETURN(auto txn, db_->BeginWrite());
  MV_ASSIGN_OR_RETURN(PhysicalTables shadow,
                      CreateViewTables(*db_, *views_, generation, indexed, versions));
  MV_RETURN_IF_ERROR(txn->Commit());
  return std::unique_ptr<core::ViewRebuild>(
      new SqliteViewRebuild(this, scope, std::move(shadow), generation, indexed));
}

}  // namespace mv::storage::sqlite
