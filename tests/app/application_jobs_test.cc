// The scheduled jobs as `serve` wires them, on a manual clock and the real stores: the
// reconciliation at its hour, the full refresh of mv_daily_metrics correcting (and
// counting) drift, and the retention of tracking events whose shipment never arrived.

#include <gtest/gtest.h>

#include "app/application.h"
#include "base/time.h"
#include "embedded_stores.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using namespace std::chrono_literals;

Timestamp At(const char* text) { return *ParseRfc3339(text); }

class ApplicationJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open([](app::Config&) {});
  }

  void Open(const std::function<void(app::Config&)>& configure) {
    app_.reset();
    app::Config config;
    config.data_dir = dir_.path();
    config.http.listen = "127.0.0.1:0";
    config.jobs.oplog_prune = "off";
    configure(config);
    auto app = app::Application::Open(config, &clock_);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app).value();
  }

  // Applies what the source holds, and runs the operations until none is left.
  void Drain() {
    for (int i = 0; i < 10000; ++i) {
      auto n = app_->worker().Step(0ms);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      bool running = app_->worker().StepOperations();
      if (*n == 0 && !running) return;
    }
    FAIL() << "the worker did not settle";
  }

  worker::JobState Job(const std::string& name) {
    for (const auto& j : app_->scheduler().List()) {
      if (j.name == name) return j;
    }
    ADD_FAILURE() << "no job " << name;
    return {};
  }

  // Sets the clock, ticks the scheduler, lets the worker run what it started, and ticks
  // again so that the jobs record their operations' outcome.
  void RunJobsAt(const char* t) {
    clock_.Set(At(t));
    app_->scheduler().Tick();
    Drain();
    app_->scheduler().Tick();
  }

  // The value of one series of the exposition; -1 when absent.
  double Series(const std::string& name_and_labels) {
    std::string text = app_->metrics().Serialize();
    size_t at = text.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name_and_labels.size() + 2));
  }

  void Exec(const std::string& sql) {
    Status s = EmbeddedViews(*app_).db().Exec(sql);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  core::Shipment Ship(const std::string& id) {
    core::Shipment s;
    s.id = id;
    s.customer_id = "C-1";
    s.carrier_id = "dhl";
    s.status = core::ShipmentStatus::kInTransit;
    s.created_at = clock_.Now() - 5h;
    s.destination = {{"country", "DE"}};
    return s;
  }

  core::TrackingEvent Event(const std::string& id, const std::string& shipment, const char* at) {
    return {id, shipment, "dhl", "PU", At(at), "Utrecht"};
  }

  TempDir dir_;
  ManualClock clock_{At("2026-11-01T00:30:00Z")};
  std::unique_ptr<app::Application> app_;
};

TEST_F(ApplicationJobsTest, DefaultSchedulesAreListed) {
  std::vector<std::string> names;
  for (const auto& j : app_->scheduler().List()) names.push_back(j.name + " " + j.schedule);
  EXPECT_EQ(names,
            (std::vector<std::string>{"reconcile daily 02:00", "daily_metrics_refresh daily 03:00",
                                      "oplog_prune off", "orphan_tracking daily 04:00",
                                      "retired_views every 1h"}));
}

TEST_F(ApplicationJobsTest, DailyMetricsRefreshCorrectsAndCountsDriftAndReconcileRunsAtTwo) {
  ASSERT_TRUE(EmbeddedSource(*app_).UpsertShipments("acme", {Ship("S-1"), Ship("S-2")}).ok());
  ASSERT_TRUE(EmbeddedSource(*app_).UpsertShipments("globex", {Ship("S-1")}).ok());
  Drain();
  const auto& daily = EmbeddedViews(*app_).tables().aggregates.at("mv_daily_metrics");
  Exec("UPDATE " + daily + " SET shipments = shipments + 3");

  RunJobsAt("2026-11-01T02:00:00Z");  // the reconciliation repairs by default
  worker::JobState reconcile = Job("reconcile");
  EXPECT_EQ(reconcile.last_outcome, "success");
  EXPECT_EQ(reconcile.runs, 1);
  EXPECT_EQ(Job("daily_metrics_refresh").runs, 0);
  std::string metrics = app_->metrics().Serialize();
  EXPECT_NE(metrics.find("viya_mv_drift_count{mv=\"mv_daily_metrics\"} 2"), std::string::npos);
  // Both orgs' one daily row drifted: all of the view's rows, none of the list's.
  EXPECT_NE(metrics.find("viya_mv_drift_ratio{mv=\"mv_daily_metrics\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("viya_mv_drift_ratio{mv=\"mv_shipment_list\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("viya_mv_job_runs_total{job=\"reconcile\",outcome=\"success\"} 1"),
            std::string::npos);

  Exec("UPDATE " + daily + " SET shipments = shipments + 3");
  const std::string full_refreshes =
      "viya_mv_refresh_duration_seconds_count{mv=\"mv_daily_metrics\",type=\"full\"}";
  double refreshes_before = Series(full_refreshes);
  RunJobsAt("2026-11-01T03:00:00Z");
  worker::JobState refresh = Job("daily_metrics_refresh");
  EXPECT_EQ(refresh.last_outcome, "success") << refresh.last_error;
  auto ops = app_->operations().List();
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.front().kind, worker::OperationKind::kRefresh);
  std::int64_t corrected = 0;
  for (const auto& d : ops.front().drift) {
    EXPECT_EQ(d.drift.view, "mv_daily_metrics");
    corrected += d.drift.mismatched;
    EXPECT_EQ(d.repaired, d.drift.drifted());
  }
  EXPECT_EQ(corrected, 2);  // one daily row per org
  metrics = app_->metrics().Serialize();
  EXPECT_NE(metrics.find("viya_mv_drift_count{mv=\"mv_daily_metrics\"} 2"), std::string::npos);
  EXPECT_EQ(Series(full_refreshes), refreshes_before + 1);

  // Repaired: the next refresh finds nothing to correct.
  RunJobsAt("2026-11-02T02:30:00Z");  // the day's reconciliation first
  RunJobsAt("2026-11-02T03:00:00Z");
  ops = app_->operations().List();
  for (const auto& d : ops.front().drift) EXPECT_EQ(d.drift.mismatched, 0);
  EXPECT_EQ(Job("daily_metrics_refresh").runs, 2);
}

TEST_F(ApplicationJobsTest, OrphanTrackingPastRetentionIsDroppedFromSourceAndViews) {
  Open([](app::Config& c) {
    c.jobs.reconcile = "off";
    c.jobs.daily_metrics_refresh = "off";
  });
  ASSERT_TRUE(EmbeddedSource(*app_).UpsertShipments("acme", {Ship("S-1")}).ok());
  ASSERT_TRUE(EmbeddedSource(*app_)
                  .InsertTrackingEvents("acme", {Event("E-1", "S-1", "2026-09-01T00:00:00Z"),
                                                 Event("E-2", "S-ghost", "2026-09-01T00:00:00Z"),
                                                 Event("E-3", "S-new", "2026-10-31T00:00:00Z")})
                  .ok());
  Drain();
  MV_ASSERT_OK_AND_ASSIGN(auto ghost,
                          EmbeddedViews(*app_).FindTrackingSummary({"acme", "S-ghost"}));
  ASSERT_TRUE(ghost);

  RunJobsAt("2026-11-01T04:00:00Z");
  worker::JobState job = Job("orphan_tracking");
  EXPECT_EQ(job.last_outcome, "success") << job.last_error;
  EXPECT_NE(job.last_summary.find("of 1 shipments"), std::string::npos) << job.last_summary;
  MV_ASSERT_OK_AND_ASSIGN(ghost, EmbeddedViews(*app_).FindTrackingSummary({"acme", "S-ghost"}));
  EXPECT_FALSE(ghost);
  MV_ASSERT_OK_AND_ASSIGN(auto young, EmbeddedViews(*app_).FindTrackingSummary({"acme", "S-new"}));
  EXPECT_TRUE(young);  // its newest event is younger than 30 days
  MV_ASSERT_OK_AND_ASSIGN(auto arrived, EmbeddedViews(*app_).FindTrackingSummary({"acme", "S-1"}));
  EXPECT_TRUE(arrived);  // the shipment exists

  // The ghost arrives after all: its row has no tracking from the dropped events, as a
  // rebuild from the source would have it.
  ASSERT_TRUE(EmbeddedSource(*app_).UpsertShipments("acme", {Ship("S-ghost")}).ok());
  Drain();
  MV_ASSERT_OK_AND_ASSIGN(std::string id,
                          app_->operations().Submit(worker::OperationKind::kReconcile, {}, false,
                                                    "test", clock_.Now()));
  Drain();
  auto op = app_->operations().Get(id);
  ASSERT_TRUE(op && op->phase == worker::OperationPhase::kDone) << (op ? op->error : "gone");
  for (const auto& d : op->drift) EXPECT_FALSE(d.drift.drifted()) << d.drift.view;
}

}  // namespace
}  // namespace mv::testing
