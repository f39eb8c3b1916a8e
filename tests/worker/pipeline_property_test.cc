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
#include "workload.h"

namespace mv::testing {
namespace {

using core::Shipment;
using core::ShipmentStatus;

constexpr int kSeeds = 12;

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
