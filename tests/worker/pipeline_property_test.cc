// The engine's core invariants, as properties over randomized workloads on real SQLite:
//  - views maintained incrementally equal the views rebuilt from the source from scratch;
//  - replaying the stream from any earlier token leaves the views byte-identical.

#include <gtest/gtest.h>

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
    if (dice < 55) {
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
