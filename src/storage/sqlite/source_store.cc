#include "storage/sqlite/source_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <tuple>

#include "base/time.h"
#include "core/document_text.h"

namespace mv::storage::sqlite {
namespace {

using core::ChangeToken;
using core::Collection;
using core::Operation;

// Layout 2: every table is clustered by the key the rebuild scans it in (WITHOUT ROWID),
// so a snapshot reads documents and events in order, without a lookup per row; a
// tracking event's identity is a unique index.
constexpr int kSourceLayout = 2;
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS shipments (
  org TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (org, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS customers (
  org TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (org, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS carriers (
  org TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (org, id)) WITHOUT ROWID;
-- A shipment's events in EventOrder, for ScanShipments' merge join without a sort.
CREATE TABLE IF NOT EXISTS tracking_events (
  org TEXT NOT NULL, shipment_id TEXT NOT NULL, occurred_at INTEGER NOT NULL,
  carrier_id TEXT NOT NULL, event_id TEXT NOT NULL, doc TEXT NOT NULL,
  PRIMARY KEY (org, shipment_id, occurred_at, carrier_id, event_id)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS tracking_events_by_id
  ON tracking_events (org, carrier_id, event_id);
CREATE TABLE IF NOT EXISTS oplog (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, wall_time INTEGER NOT NULL, op TEXT NOT NULL,
  collection TEXT NOT NULL, org TEXT NOT NULL, doc_id TEXT NOT NULL, doc TEXT);
CREATE TABLE IF NOT EXISTS source_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql";

// Moves the tables of a layout-1 source.db (rowid tables, events clustered by their id)
// to layout 2, in one transaction: copies each table in its new key's order, drops the
// old one. A no-op for a source.db of layout 2, or a new one.
Status MigrateLayout(Database& db) {
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db.Prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'tracking_events'"));
  MV_ASSIGN_OR_RETURN(bool exists, st->Step());
  bool old = exists && st->ColumnView(0).find("WITHOUT ROWID") == std::string_view::npos;
  st->Reset();
  if (!old) return Status::Ok();
  MV_ASSIGN_OR_RETURN(Statement * count, db.Prepare("SELECT count(*) FROM tracking_events"));
  MV_RETURN_IF_ERROR(count->Step().status());
  spdlog::warn("source.db: moving to storage layout {} ({} tracking events); this happens once",
               kSourceLayout, count->ColumnInt(0));
  count->Reset();
  auto started = std::chrono::steady_clock::now();
  db.ForgetStatements();
  MV_ASSIGN_OR_RETURN(auto txn, db.BeginWrite());
  for (const char* table : {"shipments", "customers", "carriers"}) {
    MV_RETURN_IF_ERROR(db.Exec(
        fmt::format("ALTER TABLE {0} RENAME TO {0}_layout1; "
                    "CREATE TABLE {0} (org TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, "
                    "updated_at INTEGER NOT NULL, PRIMARY KEY (org, id)) WITHOUT ROWID; "
                    "INSERT INTO {0} (org, id, doc, updated_at) SELECT org, id, doc, updated_at "
                    "FROM {0}_layout1 ORDER BY org, id; "
                    "DROP TABLE {0}_layout1;",
                    table)));
  }
  MV_RETURN_IF_ERROR(db.Exec(
      "DROP INDEX IF EXISTS tracking_events_by_shipment; "
      "DROP INDEX IF EXISTS tracking_events_by_shipment_time; "
      "ALTER TABLE tracking_events RENAME TO tracking_events_layout1; "
      "CREATE TABLE tracking_events (org TEXT NOT NULL, shipment_id TEXT NOT NULL, "
      "occurred_at INTEGER NOT NULL, carrier_id TEXT NOT NULL, event_id TEXT NOT NULL, "
      "doc TEXT NOT NULL, PRIMARY KEY (org, shipment_id, occurred_at, carrier_id, event_id)) "
      "WITHOUT ROWID; "
      "INSERT INTO tracking_events (org, shipment_id, occurred_at, carrier_id, event_id, doc) "
      "SELECT org, shipment_id, occurred_at, carrier_id, event_id, doc "
      "FROM tracking_events_layout1 ORDER BY org, shipment_id, occurred_at, carrier_id, event_id; "
      "DROP TABLE tracking_events_layout1;"));
  MV_RETURN_IF_ERROR(txn->Commit());
  spdlog::warn("source.db: storage layout {} in {:.1f} s", kSourceLayout,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return Status::Ok();
}

const char* TableOf(Collection c) {
  switch (c) {
    case Collection::kShipments:
      return "shipments";
    case Collection::kTrackingEvents:
      return "tracking_events";
    case Collection::kCustomers:
      return "customers";
    case Collection::kCarriers:
      return "carriers";
  }
  return "shipments";
}

Result<ChangeToken> ReadPrunedThrough(Database& db) {
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db.Prepare("SELECT value FROM source_meta WHERE key = 'pruned_through'"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  ChangeToken v = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return v;
}

// The oplog as a change stream; one connection, one reader thread.
class OplogChangeSource final : public core::ChangeSource {
 public:
  OplogChangeSource(std::unique_ptr<Database> db, const Watermark* committed)
      : db_(std::move(db)), committed_(committed) {}

  Result<std::vector<core::ChangeEvent>> Read(ChangeToken after, size_t max_events, Millis wait,
                                              Millis linger) override {
    MV_ASSIGN_OR_RETURN(auto events, ReadOnce(after, max_events));
    if (events.empty() && wait.count() > 0) {
      // Wakes at once for writes of this process; writes of other processes are seen
      // when the wait ends.
      committed_->WaitForAbove(after, wait);
      MV_ASSIGN_OR_RETURN(events, ReadOnce(after, max_events));
    }
    if (events.empty() || linger.count() <= 0 || events.size() >= max_events) return events;
    // Linger while commits keep coming (watching the watermark, not the database), then
    // read what they added at once.
    auto deadline = std::chrono::steady_clock::now() + linger;
    ChangeToken last = events.back().token;
    size_t room = max_events - events.size();
    for (;;) {
      ChangeToken seen = committed_->Get();
      if (seen > last && static_cast<size_t>(seen - last) >= room) break;
      auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !committed_->WaitForAbove(seen, left)) break;
    }
    MV_ASSIGN_OR_RETURN(auto more, ReadOnce(last, room));
    for (auto& e : more) events.push_back(std::move(e));
    return events;
  }

  Result<ChangeToken> LatestToken() override { return ReadLatestToken(*db_); }

 private:
  Result<std::vector<core::ChangeEvent>> ReadOnce(ChangeToken after, size_t max_events) {
    MV_ASSIGN_OR_RETURN(auto txn, db_->BeginRead());
    MV_ASSIGN_OR_RETURN(ChangeToken pruned, ReadPrunedThrough(*db_));
    if (after < pruned) {
      return Status::HistoryLost(
          fmt::format("changes after token {} are no longer retained (oplog pruned through {})",
                      after, pruned));
    }
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        db_->Prepare("SELECT seq, wall_time, op, collection, org, doc_id, doc FROM oplog "
                     "WHERE seq > ?1 ORDER BY seq LIMIT ?2"));
    st->Bind(1, after).Bind(2, static_cast<std::int64_t>(max_events));
    std::vector<core::ChangeEvent> events;
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      core::ChangeEvent e;
      e.token = st->ColumnInt(0);
      e.wall_time = FromMillis(st->ColumnInt(1));
      auto op = core::ParseOperation(st->ColumnView(2));
      auto coll = core::ParseCollection(st->ColumnView(3));
      if (!op || !coll) {
        st->Reset();
        return Status::Corruption(
            fmt::format("oplog entry {} has an unknown op or collection", e.token));
      }
      e.op = *op;
      e.collection = *coll;
      e.org = st->ColumnText(4);
      e.document_id = st->ColumnText(5);
      if (!st->ColumnIsNull(6)) e.full_document = st->ColumnText(6);
      events.push_back(std::move(e));
    }
    st->Reset();
    MV_RETURN_IF_ERROR(txn->Commit());
    return events;
  }

  std::unique_ptr<Database> db_;
  const Watermark* committed_;
};

}  // namespace

Result<ChangeToken> ReadLatestToken(Database& db) {
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db.Prepare("SELECT seq FROM sqlite_sequence WHERE name = 'oplog'"));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  ChangeToken v = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return v;
}

Result<std::unique_ptr<SourceStore>> SourceStore::Open(const std::string& path, const Clock* clock,
                                                       const Options& options) {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, {}));
  MV_RETURN_IF_ERROR(MigrateLayout(*db));
  MV_RETURN_IF_ERROR(db->Exec(kSchema));
  MV_ASSIGN_OR_RETURN(auto reader, Database::Open(path, {}));
  std::unique_ptr<SourceStore> store(
      new SourceStore(path, clock, options, std::move(db), std::move(reader)));
  MV_ASSIGN_OR_RETURN(ChangeToken latest, ReadLatestToken(*store->reader_));
  store->committed_.Reset(latest);
  return store;
}

SourceStore::SourceStore(std::string path, const Clock* clock, Options options,
                         std::unique_ptr<Database> writer, std::unique_ptr<Database> reader)
    : path_(std::move(path)),
      clock_(clock),
      options_(options),
      writer_(std::move(writer)),
      writes_(writer_.get()),
      reader_(std::move(reader)) {}

Result<ChangeToken> SourceStore::AppendOplog(Operation op, Collection collection,
                                             const std::string& org, const std::string& id,
                                             const std::string* doc, Timestamp now) {
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      writer_->Prepare("INSERT INTO oplog (wall_time, op, collection, org, doc_id, doc) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st->Bind(1, ToMillis(now)).Bind(2, core::ToString(op)).Bind(3, core::ToString(collection));
  st->Bind(4, org).Bind(5, id);
  if (doc)
    st->Bind(6, *doc);
  else
    st->BindNull(6);
  MV_RETURN_IF_ERROR(st->Run());
  return writer_->LastInsertRowId();
}

namespace {

// The synchronous form of an asynchronous write: starts it and waits for its outcome.
template <typename T, typename Start>
Result<T> Await(Start start) {
  std::promise<Result<T>> outcome;
  auto result = outcome.get_future();
  start([&outcome](Result<T> r) { outcome.set_value(std::move(r)); });
  return result.get();
}

}  // namespace

Status SourceStore::WriteShipments(const std::string& org,
                                   const std::vector<core::Shipment>& shipments,
                                   ChangeToken* last) {
  Timestamp now = clock_->Now();
  for (const core::Shipment& given : shipments) {
    core::Shipment doc = given;
    MV_ASSIGN_OR_RETURN(Statement * get,
                        writer_->Prepare("SELECT doc FROM shipments WHERE org = ?1 AND id = ?2"));
    get->Bind(1, org).Bind(2, doc.id);
    MV_ASSIGN_OR_RETURN(bool exists, get->Step());
    if (!doc.status_changed_at) {
      std::optional<core::Shipment> stored;
      if (exists) {
        auto old = core::ParseShipmentText(get->ColumnView(0));
        if (old.ok()) stored = std::move(*old);
      }
      doc.status_changed_at = core::StatusChangedAt(doc, stored, now);
    }
    get->Reset();
    std::string text = core::ShipmentToJson(doc).dump();
    MV_ASSIGN_OR_RETURN(
        Statement * put,
        writer_->Prepare("INSERT INTO shipments (org, id, doc, updated_at) VALUES (?1, ?2, ?3, ?4) "
                         "ON CONFLICT (org, id) DO UPDATE SET doc = excluded.doc, "
                         "updated_at = excluded.updated_at"));
    put->Bind(1, org).Bind(2, doc.id).Bind(3, text).Bind(4, ToMillis(now));
    MV_RETURN_IF_ERROR(put->Run());
    MV_ASSIGN_OR_RETURN(*last, AppendOplog(exists ? Operation::kReplace : Operation::kInsert,
                                           Collection::kShipments, org, doc.id, &text, now));
  }
  return Status::Ok();
}

void SourceStore::UpsertShipmentsAsync(std::string org, std::vector<core::Shipment> shipments,
                                       TokenDone done) {
  if (shipments.empty()) {
    done(Status::InvalidArgument("no shipments given"));
    return;
  }
  struct State {
    std::string org;
    std::vector<core::Shipment> shipments;
    ChangeToken last = 0;
  };
  auto state = std::make_shared<State>(State{std::move(org), std::move(shipments)});
  writes_.Submit(
      [this, state] { return WriteShipments(state->org, state->shipments, &state->last); },
      [this, state, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        committed_.Advance(state->last);
        done(state->last);
      });
}

Result<ChangeToken> SourceStore::UpsertShipments(const std::string& org,
                                                 const std::vector<core::Shipment>& shipments) {
  return Await<ChangeToken>(
      [&](TokenDone done) { UpsertShipmentsAsync(org, shipments, std::move(done)); });
}

void SourceStore::DeleteShipmentAsync(std::string org, std::string id, TokenDone done) {
  auto token = std::make_shared<ChangeToken>(0);
  writes_.Submit(
      [this, org, id, token]() -> Status {
        MV_ASSIGN_OR_RETURN(Statement * del,
                            writer_->Prepare("DELETE FROM shipments WHERE org = ?1 AND id = ?2"));
        del->Bind(1, org).Bind(2, id);
        MV_RETURN_IF_ERROR(del->Run());
        if (writer_->Changes() == 0) {
          return Status::NotFound(fmt::format("shipment '{}' not found", id));
        }
        MV_ASSIGN_OR_RETURN(*token, AppendOplog(Operation::kDelete, Collection::kShipments, org, id,
                                                nullptr, clock_->Now()));
        return Status::Ok();
      },
      [this, token, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        committed_.Advance(*token);
        done(*token);
      });
}

Result<ChangeToken> SourceStore::DeleteShipment(const std::string& org, const std::string& id) {
  return Await<ChangeToken>([&](TokenDone done) { DeleteShipmentAsync(org, id, std::move(done)); });
}

Status SourceStore::WriteTrackingEvents(const std::string& org,
                                        const std::vector<core::TrackingEvent>& events,
                                        TrackingWrite* out) {
  *out = TrackingWrite{};
  Timestamp now = clock_->Now();
  ChangeToken last = 0;
  MV_ASSIGN_OR_RETURN(Statement * put,
                      writer_->Prepare("INSERT INTO tracking_events "
                                       "(org, carrier_id, event_id, shipment_id, occurred_at, doc) "
                                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                                       "ON CONFLICT DO NOTHING"));
  for (const core::TrackingEvent& e : events) {
    std::string text = core::TrackingEventToJson(e).dump();
    put->Reset();
    put->Bind(1, org).Bind(2, e.carrier_id).Bind(3, e.event_id).Bind(4, e.shipment_id);
    put->Bind(5, ToMillis(e.occurred_at)).Bind(6, text);
    MV_RETURN_IF_ERROR(put->Run());
    if (writer_->Changes() == 0) {
      ++out->duplicates;
      continue;
    }
    ++out->inserted;
    MV_ASSIGN_OR_RETURN(last, AppendOplog(Operation::kInsert, Collection::kTrackingEvents, org,
                                          e.carrier_id + "/" + e.event_id, &text, now));
  }
  if (last == 0) {
    // Nothing new: the newest token still lets the caller read its writes.
    MV_ASSIGN_OR_RETURN(last, ReadLatestToken(*writer_));
  }
  out->token = last;
  return Status::Ok();
}

void SourceStore::InsertTrackingEventsAsync(std::string org,
                                            std::vector<core::TrackingEvent> events,
                                            std::function<void(Result<TrackingWrite>)> done) {
  for (const core::TrackingEvent& e : events) {
    if (Status s = core::CheckTrackingEventIds(e); !s.ok()) {
      done(std::move(s));
      return;
    }
  }
  struct State {
    std::string org;
    std::vector<core::TrackingEvent> events;
    TrackingWrite out;
  };
  auto state = std::make_shared<State>(State{std::move(org), std::move(events), {}});
  writes_.Submit(
      [this, state] { return WriteTrackingEvents(state->org, state->events, &state->out); },
      [this, state, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        committed_.Advance(state->out.token);
        duplicate_tracking_events_ += state->out.duplicates;
        done(state->out);
      });
}

Result<SourceStore::TrackingWrite> SourceStore::InsertTrackingEvents(
    const std::string& org, const std::vector<core::TrackingEvent>& events) {
  return Await<TrackingWrite>([&](std::function<void(Result<TrackingWrite>)> done) {
    InsertTrackingEventsAsync(org, events, std::move(done));
  });
}

void SourceStore::PutDocumentAsync(Collection collection, std::string org, std::string id,
                                   std::string doc, TokenDone done) {
  auto token = std::make_shared<ChangeToken>(0);
  writes_.Submit(
      [this, collection, org, id, doc, token]() -> Status {
        Timestamp now = clock_->Now();
        MV_ASSIGN_OR_RETURN(Statement * put,
                            writer_->Prepare(fmt::format(
                                "INSERT INTO {} (org, id, doc, updated_at) VALUES (?1, ?2, ?3, ?4) "
                                "ON CONFLICT (org, id) DO UPDATE SET doc = excluded.doc, "
                                "updated_at = excluded.updated_at",
                                TableOf(collection))));
        put->Bind(1, org).Bind(2, id).Bind(3, doc).Bind(4, ToMillis(now));
        MV_RETURN_IF_ERROR(put->Run());
        MV_ASSIGN_OR_RETURN(*token,
                            AppendOplog(Operation::kReplace, collection, org, id, &doc, now));
        return Status::Ok();
      },
      [this, token, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        committed_.Advance(*token);
        done(*token);
      });
}

void SourceStore::PutCustomerAsync(std::string org, const core::Customer& c, TokenDone done) {
  PutDocumentAsync(Collection::kCustomers, std::move(org), c.id, core::CustomerToJson(c).dump(),
                   std::move(done));
}

void SourceStore::PutCarrierAsync(std::string org, const core::Carrier& c, TokenDone done) {
  PutDocumentAsync(Collection::kCarriers, std::move(org), c.id, core::CarrierToJson(c).dump(),
                   std::move(done));
}

Result<ChangeToken> SourceStore::PutCustomer(const std::string& org, const core::Customer& c) {
  return Await<ChangeToken>([&](TokenDone done) { PutCustomerAsync(org, c, std::move(done)); });
}

Result<ChangeToken> SourceStore::PutCarrier(const std::string& org, const core::Carrier& c) {
  return Await<ChangeToken>([&](TokenDone done) { PutCarrierAsync(org, c, std::move(done)); });
}

namespace {
template <typename T, typename Parse>
Result<std::optional<T>> GetDocument(Database& db, std::mutex& mu, const char* table,
                                     const std::string& org, const std::string& id, Parse parse) {
  std::lock_guard lock(mu);
  MV_ASSIGN_OR_RETURN(Statement * st, db.Prepare(fmt::format(
                                          "SELECT doc FROM {} WHERE org = ?1 AND id = ?2", table)));
  st->Bind(1, org).Bind(2, id);
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<T>();
  auto json = nlohmann::json::parse(st->ColumnView(0), nullptr, false);
  st->Reset();
  auto parsed = parse(json);
  if (!parsed.ok())
    return Status::Corruption(fmt::format("{} {}: {}", table, id, parsed.status().message()));
  return std::optional<T>(std::move(parsed).value());
}
}  // namespace

Result<std::optional<core::Shipment>> SourceStore::GetShipment(const std::string& org,
                                                               const std::string& id) {
  return GetDocument<core::Shipment>(
      *reader_, reader_mu_, "shipments", org, id,
      [](const nlohmann::json& j) { return core::ParseShipment(j); });
}

Result<std::optional<core::Customer>> SourceStore::GetCustomer(const std::string& org,
                                                               const std::string& id) {
  return GetDocument<core::Customer>(
      *reader_, reader_mu_, "customers", org, id,
      [&](const nlohmann::json& j) { return core::ParseCustomer(id, j); });
}

Result<std::optional<core::Carrier>> SourceStore::GetCarrier(const std::string& org,
                                                             const std::string& id) {
  return GetDocument<core::Carrier>(
      *reader_, reader_mu_, "carriers", org, id,
      [&](const nlohmann::json& j) { return core::ParseCarrier(id, j); });
}

Result<std::int64_t> SourceStore::PruneOplog() {
  Timestamp cutoff = clock_->Now() - options_.oplog_retention;
  ChangeToken through = 0;
  {
    std::lock_guard lock(reader_mu_);
    // wall_time grows with seq (writes take their time in commit order), so the retained
    // entries are a suffix.
    MV_ASSIGN_OR_RETURN(auto snapshot, reader_->BeginRead());
    MV_ASSIGN_OR_RETURN(
        Statement * st,
        reader_->Prepare("SELECT seq FROM oplog WHERE wall_time >= ?1 ORDER BY seq LIMIT 1"));
    st->Bind(1, ToMillis(cutoff));
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) {
      through = st->ColumnInt(0) - 1;
    } else {
      st->Reset();
      MV_ASSIGN_OR_RETURN(through, ReadLatestToken(*reader_));
    }
    st->Reset();
    MV_RETURN_IF_ERROR(snapshot->Commit());
  }
  return PruneOplogThrough(through);
}

Result<std::int64_t> SourceStore::PruneOplogThrough(ChangeToken token) {
  std::int64_t removed = 0;
  MV_RETURN_IF_ERROR(writes_.Run([&]() -> Status {
    MV_ASSIGN_OR_RETURN(ChangeToken pruned, ReadPrunedThrough(*writer_));
    MV_ASSIGN_OR_RETURN(ChangeToken latest, ReadLatestToken(*writer_));
    ChangeToken through = std::min(token, latest);  // history not yet written cannot be lost
    if (through <= pruned) return Status::Ok();
    MV_ASSIGN_OR_RETURN(Statement * del, writer_->Prepare("DELETE FROM oplog WHERE seq <= ?1"));
    del->Bind(1, through);
    MV_RETURN_IF_ERROR(del->Run());
    removed = writer_->Changes();
    MV_ASSIGN_OR_RETURN(
        Statement * mark,
        writer_->Prepare("INSERT INTO source_meta (key, value) VALUES ('pruned_through', ?1) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
    mark->Bind(1, through);
    return mark->Run();
  }));
  return removed;
}

Result<ChangeToken> SourceStore::Reemit(Collection collection, const std::string& org,
                                        const std::string& id) {
  ChangeToken token = 0;
  MV_RETURN_IF_ERROR(writes_.Run([&]() -> Status {
    Statement* find = nullptr;
    if (collection == Collection::kTrackingEvents) {
      size_t slash = id.find('/');
      if (slash == std::string::npos) {
        return Status::InvalidArgument("a tracking event's id is carrierId/eventId");
      }
      MV_ASSIGN_OR_RETURN(find, writer_->Prepare("SELECT doc FROM tracking_events WHERE org = ?1 "
                                                 "AND carrier_id = ?2 AND event_id = ?3"));
      find->Bind(1, org).Bind(2, id.substr(0, slash)).Bind(3, id.substr(slash + 1));
    } else {
      MV_ASSIGN_OR_RETURN(
          find, writer_->Prepare(fmt::format("SELECT doc FROM {} WHERE org = ?1 AND id = ?2",
                                             TableOf(collection))));
      find->Bind(1, org).Bind(2, id);
    }
    MV_ASSIGN_OR_RETURN(bool found, find->Step());
    std::optional<std::string> doc;
    if (found) doc = find->ColumnText(0);
    find->Reset();
    MV_ASSIGN_OR_RETURN(
        token, AppendOplog(doc ? Operation::kReplace : Operation::kDelete, collection, org, id,
                           doc ? &*doc : nullptr, clock_->Now()));
    return Status::Ok();
  }));
  committed_.Advance(token);
  return token;
}

Result<std::vector<core::ShipmentKey>> SourceStore::PurgeOrphanTracking(Timestamp cutoff,
                                                                        size_t limit) {
  std::vector<core::ShipmentKey> purged;
  MV_RETURN_IF_ERROR(writes_.Run([&]() -> Status {
    purged.clear();  // a retried transaction starts again
    MV_ASSIGN_OR_RETURN(
        Statement * find,
        writer_->Prepare("SELECT t.org, t.shipment_id FROM tracking_events t "
                         "WHERE NOT EXISTS (SELECT 1 FROM shipments s "
                         "                  WHERE s.org = t.org AND s.id = t.shipment_id) "
                         "GROUP BY t.org, t.shipment_id HAVING max(t.occurred_at) < ?1 "
                         "ORDER BY t.org, t.shipment_id LIMIT ?2"));
    find->Bind(1, ToMillis(cutoff)).Bind(2, static_cast<std::int64_t>(limit));
    for (;;) {
      MV_ASSIGN_OR_RETURN(bool row, find->Step());
      if (!row) break;
      purged.push_back({find->ColumnText(0), find->ColumnText(1)});
    }
    find->Reset();
    MV_ASSIGN_OR_RETURN(
        Statement * del,
        writer_->Prepare("DELETE FROM tracking_events WHERE org = ?1 AND shipment_id = ?2"));
    for (const auto& key : purged) {
      del->Reset();
      del->Bind(1, key.org).Bind(2, key.id);
      MV_RETURN_IF_ERROR(del->Run());
    }
    return Status::Ok();
  }));
  return purged;
}

Result<ChangeToken> SourceStore::PrunedThrough() {
  std::lock_guard lock(reader_mu_);
  return ReadPrunedThrough(*reader_);
}

Result<std::map<std::string, Timestamp>> SourceStore::OldestChangeByOrgAfter(ChangeToken after) {
  std::lock_guard lock(reader_mu_);
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      reader_->Prepare("SELECT org, MIN(wall_time) FROM oplog WHERE seq > ?1 GROUP BY org"));
  st->Bind(1, after);
  std::map<std::string, Timestamp> oldest;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    oldest[st->ColumnText(0)] = FromMillis(st->ColumnInt(1));
  }
  st->Reset();
  return oldest;
}

void SourceStore::Refresh() {
  std::lock_guard lock(reader_mu_);
  if (auto latest = ReadLatestToken(*reader_); latest.ok()) committed_.Advance(*latest);
}

Result<std::int64_t> SourceStore::CountShipments(const std::optional<std::string>& org) {
  std::lock_guard lock(reader_mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      reader_->Prepare(org ? "SELECT count(*) FROM shipments WHERE org = ?1"
                                           : "SELECT count(*) FROM shipments"));
  if (org) st->Bind(1, *org);
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  std::int64_t count = row ? st->ColumnInt(0) : 0;
  st->Reset();
  return count;
}

Result<std::vector<std::string>> SourceStore::TrackingEventsOf(const std::string& org,
                                                               const std::string& shipment_id) {
  std::lock_guard lock(reader_mu_);
  MV_ASSIGN_OR_RETURN(
      Statement * st,
      reader_->Prepare("SELECT doc FROM tracking_events WHERE org = ?1 AND "
                       "shipment_id = ?2 ORDER BY occurred_at, carrier_id, event_id"));
  st->Bind(1, org).Bind(2, shipment_id);
  std::vector<std::string> docs;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!*row) break;
    docs.push_back(st->ColumnText(0));
  }
  st->Reset();
  return docs;
}

Result<std::unique_ptr<core::ChangeSource>> SourceStore::NewChangeSource() {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path_, {}));
  return std::unique_ptr<core::ChangeSource>(new OplogChangeSource(std::move(db), &committed_));
}

namespace {

// One side of ScanShipments' merge join: a statement whose first two columns are the
// (org, shipment id) key, in ascending order, and whose third is a document.
class KeyedCursor {
 public:
  explicit KeyedCursor(Statement* st) : st_(st) {}
  ~KeyedCursor() { st_->Reset(); }
  KeyedCursor(const KeyedCursor&) = delete;
  KeyedCursor& operator=(const KeyedCursor&) = delete;

  Status Next() {
    MV_ASSIGN_OR_RETURN(valid_, st_->Step());
    if (valid_) {
      org_.assign(st_->ColumnView(0));
      id_.assign(st_->ColumnView(1));
    }
    return Status::Ok();
  }
  bool valid() const { return valid_; }
  // SQLite orders TEXT by the BINARY collation (memcmp, shorter first), which is what
  // std::string comparison does: the two sides merge in the order SQLite sorted them.
  bool At(const std::string& org, const std::string& id) const {
    return valid_ && org_ == org && id_ == id;
  }
  bool Before(const KeyedCursor& other) const {
    return std::tie(org_, id_) < std::tie(other.org_, other.id_);
  }
  const std::string& org() const { return org_; }
  const std::string& id() const { return id_; }
  std::string Doc() const { return st_->ColumnText(2); }

 private:
  Statement* st_;
  bool valid_ = false;
  std::string org_;
  std::string id_;
};

}  // namespace

Result<ChangeToken> SourceStore::ScanShipments(
    const std::optional<std::string>& org,
    const std::function<Status(const core::SourceShipment&)>& fn) {
  // A connection of its own, mapped: the scan is one long read transaction, so the map is
  // not remapped as other connections commit.
  Database::Options options;
  options.mmap_bytes = Database::kMaxMmapBytes;
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path_, options));
  MV_ASSIGN_OR_RETURN(auto txn, db->BeginRead());
  // The token and the documents come from the same read transaction: the snapshot is
  // exactly the state after that token.
  MV_ASSIGN_OR_RETURN(ChangeToken token, ReadLatestToken(*db));
  MV_ASSIGN_OR_RETURN(
      Statement * docs_st,
      db->Prepare(org ? "SELECT org, id, doc FROM shipments WHERE org = ?1 ORDER BY org, id"
                      : "SELECT org, id, doc FROM shipments ORDER BY org, id"));
  MV_ASSIGN_OR_RETURN(
      Statement * events_st,
      db->Prepare(org ? "SELECT org, shipment_id, doc FROM tracking_events WHERE org = ?1 "
                        "ORDER BY org, shipment_id, occurred_at, carrier_id, event_id"
                      : "SELECT org, shipment_id, doc FROM tracking_events "
                        "ORDER BY org, shipment_id, occurred_at, carrier_id, event_id"));
  if (org) {
    docs_st->Bind(1, *org);
    events_st->Bind(1, *org);
  }
  KeyedCursor docs(docs_st);
  KeyedCursor events(events_st);
  MV_RETURN_IF_ERROR(docs.Next());
  MV_RETURN_IF_ERROR(events.Next());
  core::SourceShipment out;
  while (docs.valid() || events.valid()) {
    const KeyedCursor& lead =
        !events.valid() || (docs.valid() && !events.Before(docs)) ? docs : events;
    out.org = lead.org();
    out.id = lead.id();
    out.json.reset();
    out.events.clear();
    if (docs.At(out.org, out.id)) {
      out.json = docs.Doc();
      MV_RETURN_IF_ERROR(docs.Next());
    }
    while (events.At(out.org, out.id)) {
      out.events.push_back(events.Doc());
      MV_RETURN_IF_ERROR(events.Next());
    }
    MV_RETURN_IF_ERROR(fn(out));
  }
  MV_RETURN_IF_ERROR(txn->Commit());
  return token;
}

}  // namespace mv::storage::sqlite
