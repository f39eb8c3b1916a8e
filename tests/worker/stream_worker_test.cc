// The stream worker's operational behaviour: restart from the checkpoint, history lost,
// poison documents, graceful stop.

#include <gtest/gtest.h>

#include <thread>

#include "cache/lookup_cache.h"
#include "core/engine.h"
#include "pipeline_fixture.h"

namespace mv::testing {
namespace {

core::Shipment Booked(const std::string& id, Timestamp created) {
  core::Shipment s;
  s.id = id;
  s.status = core::ShipmentStatus::kBooked;
  s.created_at = created;
  s.carrier_id = "dhl";
  return s;
}

std::int64_t CountRows(storage::sqlite::SqliteViewStore& store, const std::string& sql) {
  auto st = store.db().Prepare(sql);
  if (!st.ok() || !(*st)->Step().ok()) return -1;
  std::int64_t n = (*st)->ColumnInt(0);
  (*st)->Reset();
  return n;
}

TEST(StreamWorker, ResumesFromTheCheckpointAfterRestart) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-1", p.clock().Now())}));
  MV_ASSERT_OK(p.Drain());
  core::ChangeToken first = p.worker().checkpoint();
  EXPECT_EQ(first, 1);
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-2", p.clock().Now())}));
  p.RestartWorker(Pipeline::Fast());
  MV_ASSERT_OK_AND_ASSIGN(size_t applied, p.worker().Step(Millis(0)));
  EXPECT_EQ(applied, 1u) << "a restarted worker must read only what is after its checkpoint";
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken stored, p.store().Checkpoint());
  EXPECT_EQ(stored, 2);
}

// A change source with nothing new that reports how far it has scanned, as a MongoDB
// stream's empty batches do (postBatchResumeToken).
class QuietSource final : public core::ChangeSource {
 public:
  explicit QuietSource(std::unique_ptr<core::ChangeSource> inner) : inner_(std::move(inner)) {}
  Result<std::vector<core::ChangeEvent>> Read(core::ChangeToken after, size_t max_events,
                                              Millis wait, Millis linger) override {
    return inner_->Read(after, max_events, wait, linger);
  }
  Result<core::ChangeToken> LatestToken() override { return inner_->LatestToken(); }
  core::ChangeToken QuietThrough() override { return quiet; }
  core::ChangeToken quiet = 0;

 private:
  std::unique_ptr<core::ChangeSource> inner_;
};

TEST(StreamWorker, AnIdleStreamsCheckpointAdvancesToWhereTheSourceScanned) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-1", p.clock().Now())}));
  MV_ASSERT_OK(p.Drain());
  MV_ASSERT_OK_AND_ASSIGN(const std::string before, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(auto inner, p.source().NewChangeSource());
  QuietSource quiet(std::move(inner));
  worker::StreamWorker w(&quiet, &p.source(), &p.store(), &p.views(), core::ProjectionOptions{},
                         &p.clock(), nullptr, Pipeline::Fast());
  quiet.quiet = 1000;
  MV_ASSERT_OK_AND_ASSIGN(size_t applied, w.Step(Millis(0)));
  EXPECT_EQ(applied, 0u);
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken stored, p.store().Checkpoint());
  EXPECT_EQ(stored, 1000) << "the idle position is stored";
  EXPECT_EQ(w.checkpoint(), 1000);
  MV_ASSERT_OK_AND_ASSIGN(const std::string after, p.Dump());
  EXPECT_EQ(after, before) << "and nothing else changed";
  quiet.quiet = 500;  // never backwards
  MV_ASSERT_OK(w.Step(Millis(0)).status());
  MV_ASSERT_OK_AND_ASSIGN(stored, p.store().Checkpoint());
  EXPECT_EQ(stored, 1000);
}

TEST(StreamWorker, HistoryLostRebuildsAndCounts) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-1", p.clock().Now())}));
  MV_ASSERT_OK(p.Drain());
  // While the worker is "stopped", more changes arrive and the oplog is pruned past them.
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-2", p.clock().Now())}));
  MV_ASSERT_OK(p.source().UpsertShipments("globex", {Booked("S-3", p.clock().Now())}));
  MV_ASSERT_OK(p.source().DeleteShipment("acme", "S-1"));
  MV_ASSERT_OK(p.source().PruneOplogThrough(p.source().committed().Get()));
  p.RestartWorker(Pipeline::Fast());

  EXPECT_EQ(p.probe().ErrorCount("history_lost"), 0);
  MV_ASSERT_OK(p.Drain());
  EXPECT_EQ(p.probe().ErrorCount("history_lost"), 1);
  EXPECT_EQ(p.worker().checkpoint(), p.source().committed().Get());
  MV_ASSERT_OK_AND_ASSIGN(std::string incremental, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
  EXPECT_EQ(incremental, rebuilt);
  EXPECT_EQ(incremental.find("'S-1'"), std::string::npos) << "deleted while history was lost";
  EXPECT_NE(incremental.find("'S-3'"), std::string::npos);

  // And the stream goes on from the snapshot's token.
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-4", p.clock().Now())}));
  MV_ASSERT_OK(p.Drain());
  MV_ASSERT_OK_AND_ASSIGN(auto row, p.store().FindShipmentRow({"acme", "S-4"}));
  EXPECT_TRUE(row.has_value());
}

// A view store that bounds its transactions (as the MongoDB store does) and records the
// size of every batch it is given.
class BoundedStore final : public core::ViewStore {
 public:
  BoundedStore(core::ViewStore* inner, size_t max) : inner_(inner), max_(max) {}
  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& k) override {
    return inner_->FindShipmentRow(k);
  }
  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& k) override {
    return inner_->FindTrackingSummary(k);
  }
  Result<core::ChangeToken> Checkpoint() override { return inner_->Checkpoint(); }
  Status Apply(const core::ViewBatch& batch) override {
    applied.push_back({batch.events, batch.Writes()});
    return inner_->Apply(batch);
  }
  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override {
    return inner_->DueForSlaChange(now, limit);
  }
  using core::ViewStore::BeginRebuild;
  Result<std::unique_ptr<core::ViewRebuild>> BeginRebuild(const core::ViewScope& s) override {
    return inner_->BeginRebuild(s);
  }
  size_t MaxWritesPerBatch() const override { return max_; }
  std::vector<std::pair<size_t, size_t>> applied;  // events, writes

 private:
  core::ViewStore* inner_;
  size_t max_;
};

TEST(StreamWorker, ABatchTooLargeForTheStoreIsAppliedInPartsThatConverge) {
  Pipeline bounded(T("2026-11-01T08:00:00Z")), whole(T("2026-11-01T08:00:00Z"));
  std::vector<core::Shipment> shipments;
  for (int i = 0; i < 40; ++i) {
    core::Shipment s = Booked(fmt::format("S-{:02d}", i), bounded.clock().Now());
    s.customer_id = fmt::format("C-{}", i % 7);
    shipments.push_back(s);
  }
  for (Pipeline* p : {&bounded, &whole}) {
    MV_ASSERT_OK(p->source().UpsertShipments("acme", shipments));
  }
  MV_ASSERT_OK_AND_ASSIGN(auto changes, bounded.source().NewChangeSource());
  BoundedStore store(&bounded.store(), 12);
  worker::StreamWorker w(changes.get(), &bounded.source(), &store, &bounded.views(),
                         core::ProjectionOptions{}, &bounded.clock(), nullptr, Pipeline::Fast());
  MV_ASSERT_OK_AND_ASSIGN(size_t applied, w.Step(Millis(0)));
  EXPECT_EQ(applied, 40u);
  ASSERT_GT(store.applied.size(), 3u) << "the 40 changes were split";
  size_t events = 0;
  for (const auto& [n, writes] : store.applied) {
    events += n;
    if (n > 1) {
      EXPECT_LE(writes, 12u) << "a part of " << n << " changes";
    }
  }
  EXPECT_EQ(events, 40u);
  EXPECT_EQ(w.checkpoint(), bounded.source().committed().Get());
  MV_ASSERT_OK(whole.Drain());
  MV_ASSERT_OK_AND_ASSIGN(std::string parts, bounded.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string one, whole.Dump());
  EXPECT_EQ(parts, one);
}

// New views (a new data folder beside an existing source.db, or views of an older
// definition that were dropped) are built from a snapshot, not by replaying the stream,
// which here no longer even reaches back to the start.
TEST(StreamWorker, NewViewsOverAnExistingSourceAreBuiltFromASnapshot) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  for (int i = 0; i < 20; ++i) {
    MV_ASSERT_OK(
        p.source().UpsertShipments("acme", {Booked("S-" + std::to_string(i), p.clock().Now())}));
  }
  MV_ASSERT_OK(p.Drain());
  MV_ASSERT_OK_AND_ASSIGN(std::string drained, p.Dump());
  MV_ASSERT_OK(p.source().PruneOplogThrough(15).status());

  TempDir other;
  core::ViewSet views = core::ViewSet::Default();
  MV_ASSERT_OK_AND_ASSIGN(auto store, storage::sqlite::SqliteViewStore::Open(other.File("views.db"),
                                                                             &views, &p.clock()));
  ASSERT_TRUE(store->RebuildRequired());
  MV_ASSERT_OK_AND_ASSIGN(auto changes, p.source().NewChangeSource());
  prometheus::Registry registry;
  worker::StreamProbe probe(registry, views.Names());
  worker::WorkerOptions options = Pipeline::Fast();
  options.snapshot_new_views = true;
  worker::StreamWorker w(changes.get(), &p.source(), store.get(), &views, {}, &p.clock(), &probe,
                         options);
  MV_ASSERT_OK(w.Step(Millis(0)).status());
  EXPECT_EQ(w.checkpoint(), 20);
  EXPECT_FALSE(store->RebuildRequired());
  EXPECT_EQ(probe.ErrorCount("history_lost"), 0) << "no replay was tried";
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, Pipeline::Dump(*store));
  EXPECT_EQ(rebuilt, drained);
  // The stream goes on from the snapshot's token.
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-new", p.clock().Now())}));
  MV_ASSERT_OK(w.Step(Millis(0)).status());
  MV_ASSERT_OK_AND_ASSIGN(auto row, store->FindShipmentRow({"acme", "S-new"}));
  EXPECT_TRUE(row);
}

TEST(StreamWorker, PoisonDocumentGoesToDeadLettersAndTheStreamContinues) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-1", p.clock().Now())}));
  // A document no validator let through: written behind the store's back, as another
  // writer of a shared database could.
  {
    auto db = storage::sqlite::Database::Open(p.source().path(), {});
    ASSERT_TRUE(db.ok());
    MV_ASSERT_OK(
        (*db)->Exec("INSERT INTO oplog (wall_time, op, collection, org, doc_id, doc) VALUES "
                    "(0, 'insert', 'shipments', 'acme', 'S-BAD', '{\"id\": \"S-BAD\", \"status\": "
                    "\"shipped\"}')"));
  }
  MV_ASSERT_OK(p.source().UpsertShipments("acme", {Booked("S-2", p.clock().Now())}));
  // The foreign write bypassed the in-process watermark; the worker still reads it.
  MV_ASSERT_OK(p.Drain());
  EXPECT_EQ(p.worker().checkpoint(), 3);
  EXPECT_EQ(CountRows(p.store(),
                      "SELECT count(*) FROM mv_dead_letters WHERE document_id = 'S-BAD' "
                      "AND reason LIKE 'status: unknown value%'"),
            1);
  EXPECT_EQ(p.probe().ErrorCount("poison", "mv_shipment_list"), 1);
  MV_ASSERT_OK_AND_ASSIGN(auto good, p.store().FindShipmentRow({"acme", "S-2"}));
  EXPECT_TRUE(good.has_value());
}

TEST(StreamWorker, RunStopsGracefullyAfterItsBatch) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  worker::WorkerOptions o = Pipeline::Fast();
  o.idle_wait = Millis(20);
  p.RestartWorker(o);
  std::thread runner([&] { EXPECT_TRUE(p.worker().Run().ok()); });
  for (int i = 0; i < 50; ++i) {
    MV_ASSERT_OK(
        p.source().UpsertShipments("acme", {Booked("S-" + std::to_string(i), p.clock().Now())}));
  }
  ASSERT_TRUE(p.store().applied().WaitUntilAtLeast(50, std::chrono::seconds(10)));
  // Healthy is set when Run's iteration that applied the batch completes, just after the
  // views advanced.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!p.worker().healthy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(p.worker().healthy());
  p.worker().Stop();
  runner.join();
  EXPECT_FALSE(p.worker().healthy());
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken stored, p.store().Checkpoint());
  EXPECT_EQ(stored, 50);
}

// Lookup caches are invalidated by the change stream: a renamed carrier or customer is
// served with its new name as soon as the worker has applied the change, long before the
// entry's TTL runs out.
TEST(StreamWorker, LookupChangesInvalidateTheCacheAtOnce) {
  Pipeline p(T("2026-11-01T08:00:00Z"));
  cache::LookupCache lookups(&p.source(), &p.clock(), {});
  p.worker().OnLookupChange(
      [&](core::Collection collection, const std::string& org, const std::string& id) {
        if (collection == core::Collection::kCustomers) lookups.InvalidateCustomer(org, id);
        if (collection == core::Collection::kCarriers) lookups.InvalidateCarrier(org, id);
      });
  MV_ASSERT_OK(p.source().PutCarrier("acme", {"dhl", "DHL", nlohmann::json::object()}));
  MV_ASSERT_OK(p.source().PutCustomer("acme", {"C-1", "Acme Retail BV"}));
  MV_ASSERT_OK(p.Drain());
  MV_ASSERT_OK_AND_ASSIGN(auto carrier, lookups.Carrier("acme", "dhl"));
  ASSERT_NE(carrier, nullptr);
  EXPECT_EQ(carrier->name, "DHL");
  MV_ASSERT_OK_AND_ASSIGN(auto customer, lookups.Customer("acme", "C-1"));
  ASSERT_NE(customer, nullptr);
  EXPECT_EQ(customer->name, "Acme Retail BV");

  MV_ASSERT_OK(p.source().PutCarrier("acme", {"dhl", "DHL Express", nlohmann::json::object()}));
  MV_ASSERT_OK(p.source().PutCustomer("acme", {"C-1", "Acme Retail Group"}));
  p.clock().Advance(std::chrono::seconds(1));  // far inside the 15 minute TTL
  MV_ASSERT_OK_AND_ASSIGN(carrier, lookups.Carrier("acme", "dhl"));
  EXPECT_EQ(carrier->name, "DHL") << "not applied yet: the cached name is still served";
  MV_ASSERT_OK(p.Drain());
  MV_ASSERT_OK_AND_ASSIGN(carrier, lookups.Carrier("acme", "dhl"));
  EXPECT_EQ(carrier->name, "DHL Express");
  MV_ASSERT_OK_AND_ASSIGN(customer, lookups.Customer("acme", "C-1"));
  EXPECT_EQ(customer->name, "Acme Retail Group");
  EXPECT_GE(lookups.CarrierStats().invalidations, 1u);
}

}  // namespace
}  // namespace mv::testing
