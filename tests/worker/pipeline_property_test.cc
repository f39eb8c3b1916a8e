// The engine's core invariants, as properties over randomized workloads on real SQLite,
// covering all six views and the tracking state, with carrier events shuffled, duplicated,
// late and for shipments that do not exist yet:
//  - views maintained incrementally equal the views rebuilt from the source from scratch;
//  - replaying the stream from any earlier token leaves the views byte-identical;
//  - any permutation of a shipment's tracking events gives the same views.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "pipeline_fixture.h"

namespace mv::testing {
namespace {

using core::Shipment;
using core::ShipmentStatus;

constexpr int kSeeds = 12;

// Random workloads over a few orgs and a small id space, so updates, deletes and
// re-inserts of the same shipment are frequent.
class Workload {
 public:
  explicit Workload(std::uint64_t seed) : rng_(seed) {}

  Shipment RandomShipment(const std::string& id, Timestamp now) {
    Shipment s;
    s.id = id;
    s.reference = "PO-" + std::to_string(Pick(0, 999));
    s.customer_id = "C-" + std::to_string(Pick(1, 4));
    s.carrier_id = std::vector<std::string>{"dhl", "ups", "postnl"}[Pick(0, 2)];
    s.service = Pick(0, 1) ? "express" : "standard";
    s.status = static_cast<ShipmentStatus>(Pick(0, core::kShipmentStatusCount - 1));
    s.created_at = now - std::chrono::hours(Pick(0, 72));
    if (Pick(0, 4) > 0) s.promised_delivery_at = now + std::chrono::minutes(Pick(-3000, 3000));
    if (Pick(0, 2) == 0) s.status_changed_at = now - std::chrono::minutes(Pick(0, 600));
    if (s.status == ShipmentStatus::kDelivered && Pick(0, 1)) {
      s.delivered_at = now - std::chrono::minutes(Pick(0, 3000));
    }
    if (Pick(0, 1)) s.weight_kg = Pick(1, 3000) / 100.0;
    if (Pick(0, 1)) s.declared_value = Pick(100, 900000) / 100.0;
    s.origin = {{"country", std::vector<std::string>{"NL", "DE", "FR"}[Pick(0, 2)]}};
    s.destination = {{"country", "DE"}};
    return s;
  }

  // A carrier event for a random shipment; event ids repeat (duplicates), codes include
  // unknown ones, and occurredAt wanders up to two days around `now` (late, out of order).
  core::TrackingEvent RandomEvent(Timestamp now) {
    static const std::vector<std::string> kCodes = {"PU", "IT", "ARR",   "OFD", "DL",
                                                    "EX", "RT", "XSCAN", "info"};
    core::TrackingEvent e;
    e.event_id = "E-" + std::to_string(Pick(1, 60));
    e.shipment_id = Id();
    e.carrier_id = std::vector<std::string>{"dhl", "ups"}[Pick(0, 1)];
    e.code = kCodes[Pick(0, static_cast<int>(kCodes.size()) - 1)];
    e.occurred_at = now + std::chrono::minutes(Pick(-2880, 600));
    e.location = "hub-" + std::to_string(Pick(1, 4));
    return e;
  }

  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string Org() { return "org-" + std::to_string(Pick(1, 3)); }
  std::string Id() { return "S-" + std::to_string(Pick(1, 25)); }

 private:
  std::mt19937_64 rng_;
};

// Writes a random mix of upserts (single and batched), deletes and clock moves, draining
// the stream and ticking the SLA clock at random points with random batch sizes.
void RunRandomWorkload(Pipeline& p, Workload& w, int ops) {
  for (int i = 0; i < ops; ++i) {
    int dice = w.Pick(0, 99);
    std::string org = w.Org();
    if (dice < 20) {
      std::vector<core::TrackingEvent> events;
      int n = w.Pick(1, 4);
      for (int k = 0; k < n; ++k) events.push_back(w.RandomEvent(p.clock().Now()));
      ASSERT_TRUE(p.source().InsertTrackingEvents(org, events).ok());
    } else if (dice < 55) {
      std::vector<Shipment> batch;
      std::set<std::string> ids;
      int n = w.Pick(1, 3);
      for (int k = 0; k < n; ++k) {
        std::string id = w.Id();
        if (ids.insert(id).second) batch.push_back(w.RandomShipment(id, p.clock().Now()));
      }
      ASSERT_TRUE(p.source().UpsertShipments(org, batch).ok());
    } else if (dice < 70) {
      (void)p.source().DeleteShipment(org, w.Id());  // NotFound is fine
    } else if (dice < 80) {
      p.clock().Advance(std::chrono::minutes(w.Pick(1, 400)));
    } else if (dice < 92) {
      worker::WorkerOptions o = Pipeline::Fast();
      o.batch_max_events = static_cast<size_t>(w.Pick(1, 40));
      p.RestartWorker(o);
      auto n = p.worker().Step(Millis(0));
      ASSERT_TRUE(n.ok()) << n.status().ToString();
    } else {
      auto n = p.worker().TickSla();
      ASSERT_TRUE(n.ok()) << n.status().ToString();
    }
  }
}

TEST(PipelineProperty, IncrementalEqualsRebuildFromSource) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Pipeline p(T("2026-11-01T08:00:00Z"));
    Workload w(seed);
    RunRandomWorkload(p, w, 300);
    MV_ASSERT_OK(p.Drain());
    MV_ASSERT_OK_AND_ASSIGN(std::string incremental, p.Dump());
    MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
    ASSERT_EQ(incremental, rebuilt);
    // The workload must have left something to compare.
    ASSERT_NE(incremental.find("org-"), std::string::npos);
  }
}

TEST(PipelineProperty, ReplayFromAnyEarlierTokenIsByteIdentical) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Pipeline p(T("2026-11-01T08:00:00Z"));
    Workload w(seed * 7919);
    RunRandomWorkload(p, w, 250);
    MV_ASSERT_OK(p.Drain());
    MV_ASSERT_OK_AND_ASSIGN(std::string before, p.Dump());
    core::ChangeToken latest = p.source().committed().Get();
    ASSERT_GT(latest, 10);
    for (int replay = 0; replay < 4; ++replay) {
      core::ChangeToken from = w.Pick(0, static_cast<int>(latest));
      SCOPED_TRACE("replay from token " + std::to_string(from));
      MV_ASSERT_OK(p.RewindCheckpoint(from));
      worker::WorkerOptions o = Pipeline::Fast();
      o.batch_max_events = static_cast<size_t>(w.Pick(1, 60));
      p.RestartWorker(o);
      MV_ASSERT_OK(p.Drain());
      MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
      ASSERT_EQ(before, after);
    }
  }
}

// Clock moves alone (no events) must move shipments between SLA states exactly as a
// rebuild at the new time would place them.
TEST(PipelineProperty, SlaClockMovesMatchRebuild) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Pipeline p(T("2026-11-01T08:00:00Z"));
    Workload w(seed * 31);
    std::vector<Shipment> batch;
    for (int i = 1; i <= 25; ++i)
      batch.push_back(w.RandomShipment("S-" + std::to_string(i), p.clock().Now()));
    MV_ASSERT_OK(p.source().UpsertShipments("org-1", batch));
    MV_ASSERT_OK(p.Drain());
    for (int step = 0; step < 6; ++step) {
      p.clock().Advance(std::chrono::minutes(w.Pick(10, 900)));
      MV_ASSERT_OK(p.TickAll());
      MV_ASSERT_OK_AND_ASSIGN(std::string incremental, p.Dump());
      MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
      ASSERT_EQ(incremental, rebuilt) << "after clock step " << step;
    }
  }
}

// Any order of a shipment's tracking events (and any interleaving with the shipment's own
// writes and the batching) gives the same views as the events in occurredAt order.
TEST(PipelineProperty, AnyPermutationOfTrackingEventsGivesTheSameViews) {
  const Timestamp start = T("2026-11-02T08:00:00Z");
  std::vector<core::TrackingEvent> events;
  const std::vector<std::pair<std::string, int>> kLifecycle = {
      {"PU", 0},     {"ARR", 300}, {"DEP", 420},  {"XSCAN", 500},
      {"OFD", 1300}, {"EX", 1350}, {"OFD", 1500}, {"DL", 1560}};
  for (size_t i = 0; i < kLifecycle.size(); ++i) {
    events.push_back({"E-" + std::to_string(i), "S-1", "dhl", kLifecycle[i].first,
                      start - std::chrono::hours(30) + std::chrono::minutes(kLifecycle[i].second),
                      "hub-" + std::to_string(i)});
  }
  Shipment s;
  s.id = "S-1";
  s.customer_id = "C-1";
  s.carrier_id = "dhl";
  s.service = "express";
  s.status = ShipmentStatus::kBooked;
  s.created_at = start - std::chrono::hours(40);
  s.status_changed_at = s.created_at;
  s.promised_delivery_at = start - std::chrono::hours(4);
  s.weight_kg = 2.5;

  // In order, shipment first, one batch.
  Pipeline reference(start);
  MV_ASSERT_OK(reference.source().UpsertShipments("org-1", {s}));
  MV_ASSERT_OK(reference.source().InsertTrackingEvents("org-1", events));
  MV_ASSERT_OK(reference.Drain());
  MV_ASSERT_OK_AND_ASSIGN(std::string want, reference.Dump());
  MV_ASSERT_OK_AND_ASSIGN(auto delivered, reference.store().FindShipmentRow({"org-1", "S-1"}));
  ASSERT_TRUE(delivered);
  ASSERT_EQ(delivered->shipment.status, ShipmentStatus::kDelivered) << want;

  std::mt19937_64 rng(2026);
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("permutation " + std::to_string(round));
    std::vector<core::TrackingEvent> shuffled = events;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // Some events are sent twice; the shipment arrives at a random point.
    size_t shipment_at = rng() % (shuffled.size() + 1);
    Pipeline p(start);
    for (size_t i = 0; i <= shuffled.size(); ++i) {
      if (i == shipment_at) MV_ASSERT_OK(p.source().UpsertShipments("org-1", {s}));
      if (i == shuffled.size()) break;
      std::vector<core::TrackingEvent> send = {shuffled[i]};
      if (rng() % 3 == 0) send.push_back(shuffled[rng() % (i + 1)]);
      MV_ASSERT_OK(p.source().InsertTrackingEvents("org-1", send));
      if (rng() % 2 == 0) {
        worker::WorkerOptions o = Pipeline::Fast();
        o.batch_max_events = 1 + rng() % 4;
        p.RestartWorker(o);
        ASSERT_TRUE(p.worker().Step(Millis(0)).ok());
      }
    }
    MV_ASSERT_OK(p.Drain());
    MV_ASSERT_OK_AND_ASSIGN(std::string got, p.Dump());
    EXPECT_EQ(got, want);
  }
}

TEST(PipelineProperty, DetectsDriftWhenAViewIsTamperedWith) {
  // The comparison above must be able to fail: corrupt one aggregate and expect a diff.
  Pipeline p(T("2026-11-01T08:00:00Z"));
  Workload w(5);
  RunRandomWorkload(p, w, 100);
  MV_ASSERT_OK(p.Drain());
  const std::string& ops = p.store().tables().aggregates.at("mv_realtime_ops");
  MV_ASSERT_OK(p.store().db().Exec("UPDATE " + ops + " SET open = open + 1"));
  MV_ASSERT_OK_AND_ASSIGN(std::string incremental, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
  EXPECT_NE(incremental, rebuilt);
}

}  // namespace
}  // namespace mv::testing
