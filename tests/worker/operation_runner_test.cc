// Rebuilds and reconciliations run as operations beside the stream, on real SQLite: while
// changes keep arriving, their result equals a recompute from the source, a per-org
// rebuild leaves every other org's rows byte-identical, a reconciliation reports no false
// drift and finds (and repairs) real drift, and unreadable rows are re-derived.

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "pipeline_fixture.h"
#include "storage/sqlite/view_schema.h"
#include "worker/operations.h"

namespace mv::testing {
namespace {

using worker::Operation;
using worker::OperationKind;
using worker::OperationPhase;
using worker::Operations;

core::Shipment Random(std::mt19937_64& rng, const std::string& id, Timestamp now) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  core::Shipment s;
  s.id = id;
  s.customer_id = "C-" + std::to_string(pick(1, 3));
  s.carrier_id = pick(0, 1) ? "dhl" : "ups";
  s.status = static_cast<core::ShipmentStatus>(pick(0, core::kShipmentStatusCount - 1));
  s.created_at = now - std::chrono::hours(pick(0, 48));
  if (pick(0, 3) > 0) s.promised_delivery_at = now + std::chrono::minutes(pick(-600, 600));
  if (pick(0, 1)) s.declared_value = pick(100, 90000) / 100.0;
  s.destination = {{"country", pick(0, 1) ? "DE" : "BR"}};
  return s;
}

// One random write to `org` (or to a random one of three): upserts, deletes, carrier
// events and clock moves, never a worker restart.
void RandomWrite(Pipeline& p, std::mt19937_64& rng, std::optional<std::string> org = {}) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::string o = org ? *org : "org-" + std::to_string(pick(1, 3));
  std::string id = "S-" + std::to_string(pick(1, 30));
  int dice = pick(0, 9);
  if (dice < 5) {
    ASSERT_TRUE(p.source().UpsertShipments(o, {Random(rng, id, p.clock().Now())}).ok());
  } else if (dice < 7) {
    (void)p.source().DeleteShipment(o, id);  // NotFound is fine
  } else if (dice < 9) {
    core::TrackingEvent e;
    e.event_id = "E-" + std::to_string(pick(1, 80));
    e.shipment_id = id;
    e.carrier_id = "dhl";
    e.code = std::vector<std::string>{"PU", "IT", "DL", "EX", "XX"}[pick(0, 4)];
    e.occurred_at = p.clock().Now() - std::chrono::minutes(pick(0, 600));
    ASSERT_TRUE(p.source().InsertTrackingEvents(o, {e}).ok());
  } else {
    p.clock().Advance(std::chrono::minutes(pick(1, 120)));
  }
}

// Small chunks and slices, so that an operation spans many stream batches.
worker::WorkerOptions SmallSteps() {
  worker::WorkerOptions o = Pipeline::Fast();
  o.batch_max_events = 3;
  o.rebuild_chunk_rows = 4;
  o.rebuild_max_aggregate_keys = 8;
  return o;
}

worker::OperationRunnerOptions SmallSlices() {
  worker::OperationRunnerOptions o;
  o.slice = Millis(0);
  o.catch_up_events = 2;
  return o;
}

// Steps the stream and the operations, calling `between` before each step, until
// operation `id` has finished; then drains the stream.
Operation RunToEnd(Pipeline& p, Operations& ops, const std::string& id,
                   const std::function<void()>& between) {
  for (int i = 0; i < 100000; ++i) {
    auto op = ops.Get(id);
    if (!op || op->finished()) break;
    if (between) between();
    auto n = p.worker().Step(Millis(0));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (i % 7 == 0) {
      EXPECT_TRUE(p.worker().TickSla().ok());
    }
    p.worker().StepOperations();
  }
  EXPECT_TRUE(p.Drain().ok());
  auto op = ops.Get(id);
  EXPECT_TRUE(op && op->finished()) << id << " did not finish";
  return op ? *op : Operation{};
}

void Fill(Pipeline& p, std::mt19937_64& rng, int writes) {
  for (int i = 0; i < writes; ++i) RandomWrite(p, rng);
  ASSERT_TRUE(p.Drain().ok());
}

// The rows of `org` in every view table of the store, as the store holds them.
std::string OrgRows(Pipeline& p, const std::string& org) {
  auto& db = p.store().db();
  auto st = db.Prepare("SELECT code FROM mv_ids WHERE kind = 1 AND text = ?1");
  EXPECT_TRUE(st.ok());
  (*st)->Bind(1, org);
  auto found = (*st)->Step();
  EXPECT_TRUE(found.ok() && *found) << "org " << org << " has no code";
  std::int64_t code = (*st)->ColumnInt(0);
  (*st)->Reset();
  std::string out;
  for (const auto& [view, table] : p.store().tables().All()) {
    out += "== " + view + "\n";
    Status s = storage::sqlite::ScanOrgRows(db, table, code,
                                            [&](std::string_view key, std::string_view content) {
                                              out.append(key).append(" -> ").append(content);
                                              out += "\n";
                                              return Status::Ok();
                                            });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return out;
}

std::int64_t DriftedParts(const Operation& op) {
  std::int64_t n = 0;
  for (const auto& d : op.drift) n += d.drift.drifted() ? 1 : 0;
  return n;
}

TEST(Operations, RefusesAnOverlappingOperationAndListsNewestFirst) {
  Operations ops;
  Timestamp now = T("2026-11-01T08:00:00Z");
  MV_ASSERT_OK_AND_ASSIGN(std::string a,
                          ops.Submit(OperationKind::kRebuild, {{}, "acme"}, false, "test", now));
  auto same_org =
      ops.Submit(OperationKind::kReconcile, {{"mv_daily_metrics"}, "acme"}, true, "test", now);
  EXPECT_EQ(same_org.status().code(), StatusCode::kConflict);
  EXPECT_NE(same_org.status().message().find(a), std::string::npos);
  auto every_org = ops.Submit(OperationKind::kRebuild, {}, false, "test", now);
  EXPECT_EQ(every_org.status().code(), StatusCode::kConflict);
  MV_ASSERT_OK_AND_ASSIGN(std::string b,
                          ops.Submit(OperationKind::kRebuild, {{}, "globex"}, false, "test", now));
  // A list view and its tracking state go together; other views of one org do not clash.
  MV_ASSERT_OK_AND_ASSIGN(
      std::string c,
      ops.Submit(OperationKind::kRebuild, {{"mv_shipment_list"}, "initech"}, false, "t", now));
  EXPECT_EQ(ops.Submit(OperationKind::kRebuild, {{"mv_tracking_state"}, "initech"}, false, "t", now)
                .status()
                .code(),
            StatusCode::kConflict);
  MV_EXPECT_OK(
      ops.Submit(OperationKind::kRebuild, {{"mv_daily_metrics"}, "initech"}, false, "t", now)
          .status());
  auto list = ops.List();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[1].id, c);
  EXPECT_EQ(list[3].id, a);
  // The worker takes the oldest first; once it is done, its scope is free again.
  auto started = ops.Start(now, OperationPhase::kSnapshot);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->id, a);
  started->phase = OperationPhase::kDone;
  ops.Update(*started);
  MV_EXPECT_OK(ops.Submit(OperationKind::kRebuild, {{}, "acme"}, false, "test", now).status());
  EXPECT_EQ(ops.Get(a)->phase, OperationPhase::kDone);
  EXPECT_FALSE(ops.Get("op-999"));
  (void)b;
}

TEST(Operations, KeepsABoundedHistory) {
  Operations ops(/*keep_finished=*/3);
  Timestamp now = T("2026-11-01T08:00:00Z");
  for (int i = 0; i < 10; ++i) {
    MV_ASSERT_OK(ops.Submit(OperationKind::kRebuild, {}, false, "t", now).status());
    auto op = ops.Start(now, OperationPhase::kSnapshot);
    ASSERT_TRUE(op);
    op->phase = OperationPhase::kFailed;
    ops.Update(*op);
  }
  EXPECT_LE(ops.List().size(), 4u);
  EXPECT_EQ(ops.List().front().id, "op-10");
}

TEST(OperationRunner, RebuildDuringWritesEqualsRecompute) {
  for (int seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    Operations ops;
    Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
    p.worker().SetOperations(&ops, SmallSlices());
    std::mt19937_64 rng(seed);
    Fill(p, rng, 120);
    std::optional<std::string> org;
    if (seed % 2 == 0) org = "org-" + std::to_string(seed % 3 + 1);
    MV_ASSERT_OK_AND_ASSIGN(std::string id, ops.Submit(OperationKind::kRebuild, {{}, org}, false,
                                                       "test", p.clock().Now()));
    Operation done = RunToEnd(p, ops, id, [&] { RandomWrite(p, rng); });
    EXPECT_EQ(done.phase, OperationPhase::kDone) << done.error;
    EXPECT_GT(done.rows_total, 0);
    MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
    MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
    EXPECT_EQ(after, rebuilt);
  }
}

TEST(OperationRunner, PerOrgRebuildRepairsThatOrgAndLeavesOthersByteIdentical) {
  Operations ops;
  Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
  p.worker().SetOperations(&ops, SmallSlices());
  std::mt19937_64 rng(11);
  Fill(p, rng, 200);
  MV_ASSERT_OK_AND_ASSIGN(std::string clean, p.Dump());
  // Drift in two orgs.
  const std::string& ops_table = p.store().tables().aggregates.at("mv_realtime_ops");
  MV_ASSERT_OK(p.store().db().Exec("UPDATE " + ops_table + " SET open = open + 5"));
  std::string org2_before = OrgRows(p, "org-2");
  std::string org1_tampered = OrgRows(p, "org-1");

  MV_ASSERT_OK_AND_ASSIGN(std::string id,
                          ops.Submit(OperationKind::kRebuild, {{}, "org-1"}, false, "test", {}));
  Operation done = RunToEnd(p, ops, id, [&] { RandomWrite(p, rng, "org-1"); });
  ASSERT_EQ(done.phase, OperationPhase::kDone) << done.error;
  EXPECT_EQ(OrgRows(p, "org-2"), org2_before) << "a rebuild of org-1 changed org-2's rows";
  EXPECT_NE(OrgRows(p, "org-1"), org1_tampered);

  // Once the other orgs are rebuilt too, everything equals a recompute.
  for (const char* org : {"org-2", "org-3"}) {
    MV_ASSERT_OK_AND_ASSIGN(std::string next,
                            ops.Submit(OperationKind::kRebuild, {{}, org}, false, "test", {}));
    EXPECT_EQ(RunToEnd(p, ops, next, nullptr).phase, OperationPhase::kDone);
  }
  MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
  EXPECT_EQ(after, rebuilt);
  EXPECT_NE(after, clean);  // org-1 took writes meanwhile
}

TEST(OperationRunner, ReconcileDuringWritesReportsNoFalseDrift) {
  for (int seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE(seed);
    Operations ops;
    Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
    p.worker().SetOperations(&ops, SmallSlices());
    std::mt19937_64 rng(100 + seed);
    Fill(p, rng, 150);
    MV_ASSERT_OK_AND_ASSIGN(
        std::string id, ops.Submit(OperationKind::kReconcile, {}, true, "test", p.clock().Now()));
    Operation done = RunToEnd(p, ops, id, [&] { RandomWrite(p, rng); });
    ASSERT_EQ(done.phase, OperationPhase::kDone) << done.error;
    // Every view of every org was compared, none drifted.
    EXPECT_EQ(done.drift.size(), 3u * (p.views().Names().size() + 1));
    EXPECT_EQ(DriftedParts(done), 0);
    for (const auto& d : done.drift) {
      EXPECT_EQ(d.drift.source_rows, d.drift.view_rows) << d.drift.view << " " << d.drift.org;
      EXPECT_FALSE(d.repaired);
    }
  }
}

TEST(OperationRunner, ReconcileFindsTamperedRowsAndRepairsThemWhenAsked) {
  Operations ops;
  Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
  p.worker().SetOperations(&ops, SmallSlices());
  std::mt19937_64 rng(7);
  Fill(p, rng, 200);
  const auto& tables = p.store().tables();
  const std::string& daily_table = tables.aggregates.at("mv_daily_metrics");
  MV_ASSERT_OK(
      p.store().db().Exec("UPDATE " + daily_table + " SET weight_kg_micro = weight_kg_micro + 1"));
  auto count = p.store().db().Prepare("SELECT count(*) FROM " + daily_table);
  ASSERT_TRUE(count.ok() && (*count)->Step().ok());
  std::int64_t daily_rows = (*count)->ColumnInt(0);
  (*count)->Reset();
  MV_ASSERT_OK(p.store().db().Exec("DELETE FROM " + tables.exception_queue +
                                   " WHERE (org, id) IN (SELECT org, id FROM " +
                                   tables.exception_queue + " LIMIT 1)"));
  MV_ASSERT_OK_AND_ASSIGN(std::string tampered, p.Dump());

  // Repair off: the drift is reported, nothing changes.
  MV_ASSERT_OK_AND_ASSIGN(std::string look,
                          ops.Submit(OperationKind::kReconcile, {}, false, "test", {}));
  Operation found = RunToEnd(p, ops, look, nullptr);
  ASSERT_EQ(found.phase, OperationPhase::kDone) << found.error;
  std::int64_t daily = 0, queue = 0;
  for (const auto& d : found.drift) {
    if (d.drift.view == "mv_daily_metrics") daily += d.drift.mismatched;
    if (d.drift.view == "mv_exception_queue") {
      queue += d.drift.mismatched;
      if (d.drift.mismatched > 0) {
        EXPECT_EQ(d.drift.source_rows, d.drift.view_rows + 1);
        EXPECT_EQ(d.drift.sample_keys.size(), 1u);
      }
    }
    EXPECT_FALSE(d.repaired);
  }
  EXPECT_EQ(daily, daily_rows);
  EXPECT_EQ(queue, 1);
  MV_ASSERT_OK_AND_ASSIGN(std::string unchanged, p.Dump());
  EXPECT_EQ(unchanged, tampered);

  // Repair on: the drifted parts are rebuilt; the views equal a recompute again.
  MV_ASSERT_OK_AND_ASSIGN(std::string fix,
                          ops.Submit(OperationKind::kReconcile, {}, true, "test", {}));
  Operation repaired = RunToEnd(p, ops, fix, [&] { RandomWrite(p, rng); });
  ASSERT_EQ(repaired.phase, OperationPhase::kDone) << repaired.error;
  EXPECT_EQ(DriftedParts(repaired), DriftedParts(found));
  for (const auto& d : repaired.drift) EXPECT_EQ(d.repaired, d.drift.drifted());
  MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
  EXPECT_EQ(after, rebuilt);
  MV_ASSERT_OK_AND_ASSIGN(std::string again,
                          ops.Submit(OperationKind::kReconcile, {}, false, "test", {}));
  EXPECT_EQ(DriftedParts(RunToEnd(p, ops, again, nullptr)), 0);
}

TEST(OperationRunner, ScopedReconcileComparesOnlyItsViewsAndOrg) {
  Operations ops;
  Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
  p.worker().SetOperations(&ops, SmallSlices());
  std::mt19937_64 rng(3);
  Fill(p, rng, 100);
  MV_ASSERT_OK_AND_ASSIGN(
      std::string id,
      ops.Submit(OperationKind::kReconcile, {{"mv_daily_metrics"}, "org-2"}, true, "test", {}));
  Operation done = RunToEnd(p, ops, id, nullptr);
  ASSERT_EQ(done.drift.size(), 1u);
  EXPECT_EQ(done.drift[0].drift.view, "mv_daily_metrics");
  EXPECT_EQ(done.drift[0].drift.org, "org-2");
  EXPECT_GT(done.drift[0].drift.source_rows, 0);
}

TEST(OperationRunner, UnreadableRowIsReDerivedCountedAndItsOrgRebuilt) {
  Operations ops;
  Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
  p.worker().SetOperations(&ops, SmallSlices());
  std::mt19937_64 rng(21);
  Fill(p, rng, 150);
  // Damage a stored row on disk and reopen the store so nothing remembers it.
  const std::string& list = p.store().tables().shipment_list;
  auto& db = p.store().db();
  auto st =
      db.Prepare("SELECT m.text, l.id FROM " + list + " l JOIN mv_ids m ON m.code = l.org LIMIT 1");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE((*st)->Step().ok());
  std::string org = (*st)->ColumnText(0), id = (*st)->ColumnText(1);
  (*st)->Reset();
  MV_ASSERT_OK(db.Exec("UPDATE " + list + " SET row = x'00ff' WHERE id = '" + id + "'"));
  p.ReopenStore();
  p.worker().SetOperations(&ops, SmallSlices());
  // A change to that shipment: the stream goes on, the row is re-derived, drift counted,
  // and a rebuild of its org queued.
  MV_ASSERT_OK(p.source().UpsertShipments(org, {Random(rng, id, p.clock().Now())}));
  MV_ASSERT_OK(p.Drain());
  EXPECT_EQ(p.worker().checkpoint(), p.source().committed().Get());
  auto queued = ops.List();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].scope.org, org);
  EXPECT_NE(p.MetricsText().find("viya_mv_drift_count{mv=\"mv_shipment_list\"} 1"),
            std::string::npos);
  RunToEnd(p, ops, queued[0].id, nullptr);
  MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
  EXPECT_EQ(after, rebuilt);
}

TEST(OperationRunner, HistoryLostRebuildIsRecordedAndAbortsARunningOperation) {
  Operations ops;
  Pipeline p(T("2026-11-01T08:00:00Z"), SmallSteps());
  p.worker().SetOperations(&ops, SmallSlices());
  std::mt19937_64 rng(5);
  Fill(p, rng, 60);
  MV_ASSERT_OK_AND_ASSIGN(std::string id,
                          ops.Submit(OperationKind::kReconcile, {}, false, "test", {}));
  p.worker().StepOperations();  // started
  for (int i = 0; i < 10; ++i) RandomWrite(p, rng);
  MV_ASSERT_OK(p.source().PruneOplogThrough(p.source().committed().Get()));
  MV_ASSERT_OK(p.Drain());
  EXPECT_EQ(ops.Get(id)->phase, OperationPhase::kFailed);
  auto list = ops.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].kind, OperationKind::kRebuild);
  EXPECT_EQ(list[0].phase, OperationPhase::kDone);
  EXPECT_EQ(list[0].token, p.source().committed().Get());
  MV_ASSERT_OK_AND_ASSIGN(std::string after, p.Dump());
  MV_ASSERT_OK_AND_ASSIGN(std::string rebuilt, p.RebuildDump());
  EXPECT_EQ(after, rebuilt);
}

}  // namespace
}  // namespace mv::testing
