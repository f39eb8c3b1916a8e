#pragma once

// The ViewStore conformance suite (STYLE.md: one suite, every backend). A backend's test
// file includes this header once and instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, ViewStoreConformance,
//                            ::testing::Values(ConformanceBackend{"sqlite", MakeSqlite}),
//                            ConformanceBackendName);
//
// Only core interfaces are used, plus one backend hook to read aggregate rows.

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/engine.h"
#include "core/exception_queue.h"
#include "core/interfaces.h"
#include "core/realtime_ops_view.h"
#include "core/view_set.h"
#include "test_util.h"

namespace mv::testing {

// A backend under test, freshly created (empty) by its factory.
class ViewStoreHarness {
 public:
  using AggregateTable = std::map<std::vector<std::string>, std::vector<std::int64_t>>;
  virtual ~ViewStoreHarness() = default;
  virtual core::ViewStore* store() = 0;
  // The rows of aggregate view `view` for `org`, as stored: measures in spec order, then
  // the max measures (kNoValue when none).
  virtual AggregateTable Aggregate(const std::string& view, const std::string& org) = 0;
  // The exception queue entries of `org`, by shipment id.
  virtual std::map<std::string, core::ExceptionEntry> Exceptions(const std::string& org) = 0;
  static constexpr std::int64_t kNoValue = std::numeric_limits<std::int64_t>::min();
};

struct ConformanceBackend {
  std::string name;
  std::function<std::unique_ptr<ViewStoreHarness>(const core::ViewSet* views, const Clock* clock)>
      make;
};

inline void PrintTo(const ConformanceBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string ConformanceBackendName(
    const ::testing::TestParamInfo<ConformanceBackend>& info) {
  return info.param.name;
}

class ViewStoreConformance : public ::testing::TestWithParam<ConformanceBackend> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make(&views_, &clock_);
    ASSERT_NE(harness_, nullptr);
    store_ = harness_->store();
  }

  static core::ShipmentRow Row(const std::string& org, const std::string& id,
                               core::ShipmentStatus status = core::ShipmentStatus::kBooked,
                               std::optional<Timestamp> promised = T("2026-11-03T17:00:00Z"),
                               Timestamp now = T("2026-11-02T12:00:00Z")) {
    core::Shipment s;
    s.id = id;
    s.reference = "PO-" + id;
    s.carrier_id = "dhl";
    s.customer_id = "C-1";
    s.status = status;
    s.created_at = T("2026-11-01T10:00:00Z");
    s.promised_delivery_at = promised;
    s.weight_kg = 1.25;
    return core::Project(org, s, now, core::ProjectionOptions{});
  }

  // A realtime_ops delta with `count` shipments and, beyond that, `booked` bookings.
  static core::AggregateDelta OpsDelta(const std::string& org, std::int64_t count,
                                       std::int64_t booked) {
    core::RealtimeOpsView v;
    core::AggregateDelta d;
    d.key = {org};
    d.measures.assign(v.spec().measure_columns.size(), 0);
    d.measures[0] = count;
    d.measures[1] = booked;  // status_booked
    return d;
  }

  ViewStoreHarness::AggregateTable Ops(const std::string& org) {
    return harness_->Aggregate("mv_realtime_ops", org);
  }

  std::optional<core::ShipmentRow> Find(const std::string& org, const std::string& id) {
    auto r = store_->FindShipmentRow({org, id});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  core::ChangeToken CheckpointOf() {
    auto r = store_->Checkpoint();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }

  const core::ViewSet views_ = core::ViewSet::Default();
  ManualClock clock_{T("2026-11-02T12:00:00Z")};
  std::unique_ptr<ViewStoreHarness> harness_;
  core::ViewStore* store_ = nullptr;
};

inline ViewStoreHarness::AggregateTable OneOpsRow(const std::string& org, std::int64_t count,
                                                  std::int64_t booked) {
  core::RealtimeOpsView v;
  std::vector<std::int64_t> m(v.spec().measure_columns.size(), 0);
  m[0] = count;
  m[1] = booked;
  return {{{org}, m}};
}

TEST_P(ViewStoreConformance, FreshStoreIsEmpty) {
  EXPECT_EQ(CheckpointOf(), 0);
  EXPECT_EQ(Find("acme", "S-1"), std::nullopt);
  MV_ASSERT_OK_AND_ASSIGN(auto due, store_->DueForSlaChange(T("2030-01-01T00:00:00Z"), 100));
  EXPECT_TRUE(due.empty());
  EXPECT_TRUE(Ops("acme").empty());
}

TEST_P(ViewStoreConformance, ApplyWritesRowsAndToken) {
  core::ViewBatch batch;
  batch.list_upserts = {Row("acme", "S-1"), Row("acme", "S-2", core::ShipmentStatus::kException)};
  batch.list_upserts[1].last_event = core::LastEvent{"EXC", T("2026-11-02T09:00:00.5Z"), "Gent"};
  batch.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 2, 1)};
  batch.token = 5;
  MV_ASSERT_OK(store_->Apply(batch));
  EXPECT_EQ(CheckpointOf(), 5);
  EXPECT_EQ(Find("acme", "S-1"), batch.list_upserts[0]);
  EXPECT_EQ(Find("acme", "S-2"), batch.list_upserts[1]);
  EXPECT_EQ(Find("globex", "S-1"), std::nullopt) << "rows are scoped to their org";
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 2, 1));
}

TEST_P(ViewStoreConformance, ApplyWithoutTokenKeepsTheCheckpoint) {
  core::ViewBatch first;
  first.token = 3;
  MV_ASSERT_OK(store_->Apply(first));
  EXPECT_EQ(CheckpointOf(), 3);
  core::ViewBatch tick;
  tick.list_upserts = {Row("acme", "S-1")};
  MV_ASSERT_OK(store_->Apply(tick));
  EXPECT_EQ(CheckpointOf(), 3);
  EXPECT_TRUE(Find("acme", "S-1"));
}

TEST_P(ViewStoreConformance, EmptyBatchIsANoOp) {
  MV_ASSERT_OK(store_->Apply(core::ViewBatch{}));
  EXPECT_EQ(CheckpointOf(), 0);
}

TEST_P(ViewStoreConformance, UpsertReplacesAndDeleteRemoves) {
  core::ViewBatch a;
  a.list_upserts = {Row("acme", "S-1"), Row("globex", "S-1")};
  a.token = 1;
  MV_ASSERT_OK(store_->Apply(a));

  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1", core::ShipmentStatus::kDelivered)};
  b.token = 2;
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_EQ(Find("acme", "S-1"), b.list_upserts[0]);
  EXPECT_EQ(Find("globex", "S-1"), a.list_upserts[1]);

  core::ViewBatch c;
  c.list_deletes = {{"acme", "S-1"}, {"acme", "S-never"}};
  c.token = 3;
  MV_ASSERT_OK(store_->Apply(c));
  EXPECT_EQ(Find("acme", "S-1"), std::nullopt);
  EXPECT_EQ(Find("globex", "S-1"), a.list_upserts[1]) << "delete is scoped to its org";
  EXPECT_EQ(CheckpointOf(), 3);
}

TEST_P(ViewStoreConformance, AggregatesAreSummedAndDeletedAtZero) {
  auto apply = [&](std::int64_t count, std::int64_t booked) {
    core::ViewBatch b;
    b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", count, booked)};
    return store_->Apply(b);
  };
  MV_ASSERT_OK(apply(1, 1));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 1, 1));
  MV_ASSERT_OK(apply(2, 1));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 3, 2));
  MV_ASSERT_OK(apply(0, -1));  // a status move: count unchanged
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 3, 1));
  MV_ASSERT_OK(apply(-2, 0));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 1, 1));
  MV_ASSERT_OK(apply(-1, -1));
  EXPECT_TRUE(Ops("acme").empty()) << "a row whose count reaches zero is deleted";
  MV_ASSERT_OK(apply(1, 0));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 1, 0)) << "and comes back from zero";
}

TEST_P(ViewStoreConformance, AggregateKeysAreIndependent) {
  core::ViewBatch b;
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 2, 2), OpsDelta("globex", 1, 0)};
  MV_ASSERT_OK(store_->Apply(b));
  core::ViewBatch c;
  c.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("globex", -1, 0)};
  MV_ASSERT_OK(store_->Apply(c));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 2, 2));
  EXPECT_TRUE(Ops("globex").empty());
}

TEST_P(ViewStoreConformance, BatchNamingAnUnknownViewFailsAndWritesNothing) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1, 1)};
  b.aggregate_deltas["mv_no_such_view"] = {OpsDelta("acme", 1, 1)};
  b.token = 8;
  EXPECT_FALSE(store_->Apply(b).ok());
  EXPECT_EQ(Find("acme", "S-1"), std::nullopt) << "Apply is all or nothing";
  EXPECT_TRUE(Ops("acme").empty());
  EXPECT_EQ(CheckpointOf(), 0);
}

TEST_P(ViewStoreConformance, DueForSlaChangeIsOrderedAndLimited) {
  // Rows projected at 12:00 on 11-02; their next_change_at: on_track rows change at
  // promise - 4 h, at_risk rows at the promise, breached/none never.
  core::ViewBatch b;
  b.list_upserts = {
      Row("acme", "S-c", core::ShipmentStatus::kBooked, T("2026-11-03T17:00:00Z")),       // 13:00
      Row("acme", "S-a", core::ShipmentStatus::kBooked, T("2026-11-02T20:00:00Z")),       // 16:00
      Row("globex", "S-b", core::ShipmentStatus::kException, T("2026-11-02T18:00:00Z")),  // 18:00
      Row("acme", "S-none", core::ShipmentStatus::kBooked, std::nullopt),
      Row("acme", "S-breached", core::ShipmentStatus::kBooked, T("2026-11-01T00:00:00Z")),
      Row("acme", "S-late", core::ShipmentStatus::kBooked, T("2026-12-01T00:00:00Z")),
  };
  MV_ASSERT_OK(store_->Apply(b));
  auto ids = [&](Timestamp now, size_t limit) {
    std::vector<std::string> out;
    auto due = store_->DueForSlaChange(now, limit);
    EXPECT_TRUE(due.ok()) << due.status().ToString();
    if (due.ok()) {
      for (const auto& r : *due) out.push_back(r.org + "/" + r.shipment.id);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids(T("2026-11-02T15:59:59.999Z"), 10), V{});
  EXPECT_EQ(ids(T("2026-11-02T16:00:00Z"), 10), V{"acme/S-a"}) << "due exactly at next_change_at";
  EXPECT_EQ(ids(T("2026-11-03T13:00:00Z"), 10), (V{"acme/S-a", "globex/S-b", "acme/S-c"}));
  EXPECT_EQ(ids(T("2026-11-03T13:00:00Z"), 2), (V{"acme/S-a", "globex/S-b"}));
  EXPECT_EQ(ids(T("2030-01-01T00:00:00Z"), 10),
            (V{"acme/S-a", "globex/S-b", "acme/S-c", "acme/S-late"}));
  // The rows come back whole.
  auto due = store_->DueForSlaChange(T("2026-11-02T16:00:00Z"), 1);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0], b.list_upserts[1]);
}

TEST_P(ViewStoreConformance, RebuildCommitReplacesTheLiveViews) {
  core::ViewBatch live;
  live.list_upserts = {Row("acme", "S-old")};
  live.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1, 1)};
  live.token = 4;
  MV_ASSERT_OK(store_->Apply(live));

  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  core::ViewBatch chunk1;
  chunk1.list_upserts = {Row("acme", "S-new1")};
  chunk1.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1, 1)};
  core::ViewBatch chunk2;
  chunk2.list_upserts = {Row("acme", "S-new2", core::ShipmentStatus::kInTransit)};
  chunk2.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1, 0)};  // same key: adds up
  MV_ASSERT_OK(rebuild->Write(chunk1));
  MV_ASSERT_OK(rebuild->Write(chunk2));
  // Nothing is visible before Commit.
  EXPECT_TRUE(Find("acme", "S-old"));
  EXPECT_FALSE(Find("acme", "S-new1"));
  EXPECT_EQ(CheckpointOf(), 4);

  MV_ASSERT_OK(rebuild->Commit(10));
  rebuild.reset();
  EXPECT_EQ(CheckpointOf(), 10);
  EXPECT_FALSE(Find("acme", "S-old"));
  EXPECT_EQ(Find("acme", "S-new1"), chunk1.list_upserts[0]);
  EXPECT_EQ(Find("acme", "S-new2"), chunk2.list_upserts[0]);
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 2, 1));

  // The stream continues on the new views.
  core::ViewBatch next;
  next.list_upserts = {Row("acme", "S-after")};
  next.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1, 1)};
  next.token = 11;
  MV_ASSERT_OK(store_->Apply(next));
  EXPECT_TRUE(Find("acme", "S-after"));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 3, 2));
  EXPECT_EQ(CheckpointOf(), 11);
}

TEST_P(ViewStoreConformance, AbandonedRebuildLeavesTheLiveViewsUntouched) {
  core::ViewBatch live;
  live.list_upserts = {Row("acme", "S-live")};
  live.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1, 1)};
  live.token = 4;
  MV_ASSERT_OK(store_->Apply(live));
  {
    MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
    core::ViewBatch chunk;
    chunk.list_upserts = {Row("acme", "S-shadow")};
    chunk.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 7, 7)};
    MV_ASSERT_OK(rebuild->Write(chunk));
  }  // destroyed without Commit
  EXPECT_EQ(Find("acme", "S-live"), live.list_upserts[0]);
  EXPECT_FALSE(Find("acme", "S-shadow"));
  EXPECT_EQ(Ops("acme"), OneOpsRow("acme", 1, 1));
  EXPECT_EQ(CheckpointOf(), 4);

  // And a later rebuild still works.
  MV_ASSERT_OK_AND_ASSIGN(auto again, store_->BeginRebuild());
  MV_ASSERT_OK(again->Commit(12));
  EXPECT_FALSE(Find("acme", "S-live"));
  EXPECT_TRUE(Ops("acme").empty());
  EXPECT_EQ(CheckpointOf(), 12);
}

// The core invariant end to end on this backend: whatever the batching, and replayed from
// any earlier token, the stored views equal the views computed from scratch.
TEST_P(ViewStoreConformance, EngineConvergesUnderReplay) {
  static const char* kStatuses[] = {"booked",    "picked_up", "in_transit", "out_for_delivery",
                                    "delivered", "exception", "returned",   "cancelled"};
  const Timestamp now = T("2026-11-02T12:00:00Z");
  const std::vector<std::string> orgs = {"acme", "globex"};
  std::mt19937 rng(7);
  std::map<core::ShipmentKey, std::string> source;
  std::vector<core::ChangeEvent> log;
  for (core::ChangeToken t = 1; t <= 120; ++t) {
    core::ChangeEvent e;
    e.token = t;
    e.org = orgs[rng() % 2];
    e.document_id = "S-" + std::to_string(rng() % 8);
    e.wall_time = now;
    core::ShipmentKey key{e.org, e.document_id};
    if (source.count(key) && rng() % 4 == 0) {
      e.op = core::Operation::kDelete;
      source.erase(key);
    } else {
      e.op = source.count(key) ? core::Operation::kReplace : core::Operation::kInsert;
      nlohmann::json doc = {{"id", e.document_id},
                            {"status", kStatuses[rng() % 8]},
                            {"createdAt", "2026-11-01T10:00:00Z"},
                            {"reference", "R" + std::to_string(rng() % 4)}};
      if (rng() % 3)
        doc["promisedDeliveryAt"] = rng() % 2 ? "2026-11-02T14:00:00Z" : "2026-11-04T00:00:00Z";
      e.full_document = doc.dump();
      source[key] = *e.full_document;
    }
    log.push_back(e);
  }
  auto replay = [&](size_t from, size_t max_batch) {
    core::BatchBuilder builder(views_, core::ProjectionOptions{}, store_, now);
    size_t i = from;
    while (i < log.size()) {
      size_t n = 1 + rng() % max_batch;
      for (size_t j = 0; j < n && i < log.size(); ++j, ++i) MV_ASSERT_OK(builder.Add(log[i]));
      MV_ASSERT_OK(store_->Apply(builder.Finish(log[i - 1].token)));
    }
  };
  auto check = [&] {
    ViewStoreHarness::AggregateTable want_ops;
    for (const auto& org : orgs) {
      for (int i = 0; i < 8; ++i) {
        core::ShipmentKey key{org, "S-" + std::to_string(i)};
        auto it = source.find(key);
        if (it == source.end()) {
          EXPECT_EQ(Find(org, key.id), std::nullopt) << org << "/" << key.id;
          continue;
        }
        auto row = core::ProjectDocument(org, it->second, now, core::ProjectionOptions{});
        ASSERT_TRUE(row.ok());
        EXPECT_EQ(Find(org, key.id), *row) << org << "/" << key.id;
        std::vector<core::Contribution> out =
            core::ContributionsOf(*views_.FindAggregate("mv_realtime_ops"), *row);
        for (const auto& d : out) {
          auto& m = want_ops[d.key];
          if (m.empty()) m.assign(d.measures.size(), 0);
          for (size_t k = 0; k < m.size(); ++k) m[k] += d.measures[k];
        }
      }
    }
    ViewStoreHarness::AggregateTable got;
    for (const auto& org : orgs) {
      for (auto& [k, v] : Ops(org)) got[k] = v;
    }
    EXPECT_EQ(got, want_ops);
    EXPECT_EQ(CheckpointOf(), log.back().token);
  };
  replay(0, 7);
  check();
  replay(40, 13);
  check();
  replay(5, 1);
  check();
}

// mv_customer_summary.last_shipment_at is a maximum: adding keeps the largest value;
// retracting the current maximum recomputes it from the remaining shipments.
TEST_P(ViewStoreConformance, MaxMeasureIsRecomputedWhenTheMaximumIsRetracted) {
  const Timestamp now = T("2026-11-02T12:00:00Z");
  core::ChangeToken token = 0;
  auto apply = [&](const std::vector<std::pair<std::string, std::optional<nlohmann::json>>>& docs) {
    core::BatchBuilder builder(views_, core::ProjectionOptions{}, store_, now);
    for (const auto& [id, doc] : docs) {
      core::ChangeEvent e;
      e.token = ++token;
      e.op = doc ? core::Operation::kReplace : core::Operation::kDelete;
      e.org = "acme";
      e.document_id = id;
      if (doc) e.full_document = doc->dump();
      e.wall_time = now;
      MV_ASSERT_OK(builder.Add(e));
    }
    MV_ASSERT_OK(store_->Apply(builder.Finish(token)));
  };
  auto doc = [](const std::string& id, const std::string& customer, const std::string& created) {
    return nlohmann::json{
        {"id", id}, {"status", "booked"}, {"customerId", customer}, {"createdAt", created}};
  };
  auto last_at = [&](const std::string& customer) -> std::optional<std::string> {
    auto rows = harness_->Aggregate("mv_customer_summary", "acme");
    auto it = rows.find({"acme", customer});
    if (it == rows.end()) return std::nullopt;
    return FormatRfc3339(FromMillis(it->second.back()));
  };
  apply({{"S-1", doc("S-1", "C-1", "2026-11-01T01:00:00Z")},
         {"S-2", doc("S-2", "C-1", "2026-11-01T02:00:00Z")}});
  apply({{"S-3", doc("S-3", "C-1", "2026-11-01T03:00:00Z")}});
  EXPECT_EQ(last_at("C-1"), "2026-11-01T03:00:00Z");
  apply({{"S-3", std::nullopt}});  // the maximum leaves
  EXPECT_EQ(last_at("C-1"), "2026-11-01T02:00:00Z");
  apply({{"S-1", std::nullopt}});  // not the maximum
  EXPECT_EQ(last_at("C-1"), "2026-11-01T02:00:00Z");
  // The maximum moves to another customer, and back in the same batch nets out.
  apply({{"S-2", doc("S-2", "C-2", "2026-11-01T02:00:00Z")}});
  EXPECT_EQ(last_at("C-1"), std::nullopt);
  EXPECT_EQ(last_at("C-2"), "2026-11-01T02:00:00Z");
  apply({{"S-4", doc("S-4", "C-2", "2026-10-30T00:00:00Z")},
         {"S-2", doc("S-2", "C-2", "2026-10-29T00:00:00Z")}});  // the maximum moves back in time
  EXPECT_EQ(last_at("C-2"), "2026-10-30T00:00:00Z");
}

TEST_P(ViewStoreConformance, TrackingStateAndExceptionQueueFollowTheRows) {
  core::ViewBatch batch;
  core::TrackingSummary summary;
  summary.Merge({"E-1", "S-1", "dhl", "EX", T("2026-11-01T05:00:00Z"), "Utrecht"},
                core::ShipmentStatus::kException);
  batch.tracking_upserts.push_back({{"acme", "S-1"}, summary});
  core::ExceptionEntry breached{core::ExceptionReason::kBreached, T("2026-11-01T17:00:00Z"),
                                T("2026-11-01T05:00:00Z")};
  core::ExceptionEntry at_risk{core::ExceptionReason::kAtRisk, std::nullopt,
                               T("2026-11-01T06:00:00Z")};
  batch.exception_upserts.push_back({{"acme", "S-1"}, breached});
  batch.exception_upserts.push_back({{"acme", "S-2"}, at_risk});
  batch.token = 1;
  MV_ASSERT_OK(store_->Apply(batch));
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindTrackingSummary({"acme", "S-1"}));
  EXPECT_EQ(found, summary);
  MV_ASSERT_OK_AND_ASSIGN(auto none, store_->FindTrackingSummary({"globex", "S-1"}));
  EXPECT_EQ(none, std::nullopt);
  EXPECT_EQ(harness_->Exceptions("acme"),
            (std::map<std::string, core::ExceptionEntry>{{"S-1", breached}, {"S-2", at_risk}}));
  EXPECT_TRUE(harness_->Exceptions("globex").empty());

  core::ViewBatch next;
  next.exception_deletes.push_back({"acme", "S-1"});
  next.exception_upserts.push_back({{"acme", "S-2"}, breached});
  next.token = 2;
  MV_ASSERT_OK(store_->Apply(next));
  EXPECT_EQ(harness_->Exceptions("acme"),
            (std::map<std::string, core::ExceptionEntry>{{"S-2", breached}}));

  core::ViewBatch purge;  // an orphan's summary dropped (no checkpoint moves)
  purge.tracking_deletes.push_back({"acme", "S-1"});
  purge.tracking_deletes.push_back({"no-such-org", "S-1"});
  MV_ASSERT_OK(store_->Apply(purge));
  MV_ASSERT_OK_AND_ASSIGN(auto dropped, store_->FindTrackingSummary({"acme", "S-1"}));
  EXPECT_EQ(dropped, std::nullopt);
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken checkpoint, store_->Checkpoint());
  EXPECT_EQ(checkpoint, 2);
}

}  // namespace mv::testing
