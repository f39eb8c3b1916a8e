// The scheduler on a manual clock: schedules parse and fall where they say, jobs run on
// them, failures are counted (and reset by a success), a failed job runs again on its next
// turn, jobs handed to an operation take its outcome and never overlap themselves, and a
// conflict with another operation is retried a minute later.

#include "worker/scheduler.h"

#include <gtest/gtest.h>

#include "base/time.h"
#include "metrics/metrics.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using namespace std::chrono_literals;
using worker::JobRun;
using worker::JobState;
using worker::OperationKind;
using worker::OperationPhase;
using worker::Scheduler;

Timestamp At(const char* text) { return *ParseRfc3339(text); }

TEST(ScheduleTest, ParsesTheThreeFormsAndPrintsThemBack) {
  for (const char* text : {"off", "every 90s", "every 15m", "every 6h", "every 2d", "daily 02:00",
                           "daily 23:59", "daily 00:00"}) {
    MV_ASSERT_OK_AND_ASSIGN(Schedule s, Schedule::Parse(text));
    EXPECT_EQ(s.ToString(), text);
  }
  MV_ASSERT_OK_AND_ASSIGN(Schedule minutes, Schedule::Parse("every 120s"));
  EXPECT_EQ(minutes.ToString(), "every 2m");
  for (const char* bad :
       {"", "daily", "daily 24:00", "daily 2:00", "daily 02:60", "every", "every 0s", "every -1m",
        "every 5w", "every m", "weekly 02:00", "every 10000d", "Daily 02:00"}) {
    auto s = Schedule::Parse(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_NE(s.status().message().find("daily HH:MM"), std::string::npos);
    }
  }
}

TEST(ScheduleTest, NextRunFallsOnTheIntervalOrTheNextDailyTime) {
  MV_ASSERT_OK_AND_ASSIGN(Schedule daily, Schedule::Parse("daily 02:00"));
  EXPECT_EQ(daily.NextAfter(At("2026-11-01T01:59:59Z")), At("2026-11-01T02:00:00Z"));
  EXPECT_EQ(daily.NextAfter(At("2026-11-01T02:00:00Z")), At("2026-11-02T02:00:00Z"));
  EXPECT_EQ(daily.NextAfter(At("2026-12-31T23:00:00Z")), At("2027-01-01T02:00:00Z"));
  MV_ASSERT_OK_AND_ASSIGN(Schedule every, Schedule::Parse("every 15m"));
  EXPECT_EQ(every.NextAfter(At("2026-11-01T01:59:59Z")), At("2026-11-01T02:14:59Z"));
  MV_ASSERT_OK_AND_ASSIGN(Schedule off, Schedule::Parse("off"));
  EXPECT_EQ(off.NextAfter(At("2026-11-01T01:59:59Z")), std::nullopt);
}

class SchedulerTest : public ::testing::Test {
 protected:
  JobState State(const std::string& name) {
    for (const auto& j : scheduler_.List()) {
      if (j.name == name) return j;
    }
    ADD_FAILURE() << "no job " << name;
    return {};
  }
  // The value of one series in the exposition, or -1 when absent.
  double Series(const std::string& name_and_labels) {
    std::string text = metrics_.Serialize();
    size_t at = text.find("\n" + name_and_labels + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name_and_labels.size() + 2));
  }
  // Moves the clock to `t` and ticks.
  void TickAt(const char* t) {
    clock_.Set(At(t));
    scheduler_.Tick();
  }

  ManualClock clock_{At("2026-11-01T00:30:00Z")};
  worker::Operations operations_;
  metrics::Metrics metrics_;
  worker::JobProbe probe_{metrics_.registry()};
  Scheduler scheduler_{&clock_, &operations_, &probe_};
};

TEST_F(SchedulerTest, JobsRunOnScheduleAndFailuresCountUntilASuccess) {
  std::vector<Timestamp> runs;
  int fail_next = 0;
  scheduler_.Add("daily", *Schedule::Parse("daily 02:00"), [&](Timestamp now) -> Result<JobRun> {
    runs.push_back(now);
    if (fail_next > 0) {
      --fail_next;
      return Status::IOError("disk full");
    }
    return JobRun{"did it", std::nullopt};
  });
  EXPECT_EQ(Series("viya_mv_job_runs_total{job=\"daily\",outcome=\"failure\"}"), 0);
  EXPECT_EQ(State("daily").next_run, At("2026-11-01T02:00:00Z"));

  TickAt("2026-11-01T01:59:59Z");
  EXPECT_TRUE(runs.empty());
  TickAt("2026-11-01T02:00:00Z");
  ASSERT_EQ(runs.size(), 1u);
  JobState s = State("daily");
  EXPECT_EQ(s.last_outcome, "success");
  EXPECT_EQ(s.last_summary, "did it");
  EXPECT_EQ(s.next_run, At("2026-11-02T02:00:00Z"));
  TickAt("2026-11-01T12:00:00Z");  // not again the same day
  EXPECT_EQ(runs.size(), 1u);

  fail_next = 2;
  TickAt("2026-11-02T02:00:30Z");
  TickAt("2026-11-03T02:00:00Z");
  s = State("daily");
  EXPECT_EQ(runs.size(), 3u);
  EXPECT_EQ(s.last_outcome, "failure");
  EXPECT_EQ(s.last_error, "disk full");
  EXPECT_EQ(s.consecutive_failures, 2);
  EXPECT_EQ(s.failures, 2);
  EXPECT_EQ(s.last_success, At("2026-11-01T02:00:00Z"));
  EXPECT_EQ(Series("viya_mv_job_consecutive_failures{job=\"daily\"}"), 2);
  EXPECT_EQ(Series("viya_mv_job_runs_total{job=\"daily\",outcome=\"failure\"}"), 2);
  EXPECT_EQ(Series("viya_mv_job_last_success_timestamp_seconds{job=\"daily\"}"),
            static_cast<double>(ToMillis(At("2026-11-01T02:00:00Z")) / 1000));

  // The retry is the next run; it succeeds and the streak ends.
  TickAt("2026-11-04T02:00:00Z");
  s = State("daily");
  EXPECT_EQ(runs.size(), 4u);
  EXPECT_EQ(s.consecutive_failures, 0);
  EXPECT_EQ(s.runs, 4);
  EXPECT_EQ(Series("viya_mv_job_consecutive_failures{job=\"daily\"}"), 0);
  EXPECT_EQ(Series("viya_mv_job_runs_total{job=\"daily\",outcome=\"success\"}"), 2);
}

TEST_F(SchedulerTest, AnIntervalJobThatFellBehindRunsOnceAndKeepsItsPace) {
  int runs = 0;
  scheduler_.Add("prune", *Schedule::Parse("every 1m"), [&](Timestamp) -> Result<JobRun> {
    ++runs;
    return JobRun{};
  });
  TickAt("2026-11-01T00:31:00Z");
  EXPECT_EQ(runs, 1);
  TickAt("2026-11-01T00:31:30Z");
  EXPECT_EQ(runs, 1);
  TickAt("2026-11-01T00:32:00Z");
  EXPECT_EQ(runs, 2);
  TickAt("2026-11-01T05:00:10Z");  // hours without a tick: one run, not hundreds
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(State("prune").next_run, At("2026-11-01T05:01:10Z"));
}

TEST_F(SchedulerTest, AJobHandedToAnOperationTakesItsOutcomeAndNeverOverlapsItself) {
  int submitted = 0;
  scheduler_.Add("reconcile", *Schedule::Parse("every 1h"), [&](Timestamp now) -> Result<JobRun> {
    ++submitted;
    MV_ASSIGN_OR_RETURN(std::string id,
                        operations_.Submit(OperationKind::kReconcile, {}, true, "scheduler", now));
    return JobRun{"", id};
  });
  TickAt("2026-11-01T01:30:00Z");
  JobState s = State("reconcile");
  ASSERT_FALSE(s.running_operation.empty());
  EXPECT_EQ(s.runs, 0);  // not finished yet
  // Two hours later the operation still runs: no second one.
  TickAt("2026-11-01T03:30:00Z");
  EXPECT_EQ(submitted, 1);
  // The worker takes and finishes it.
  auto op = operations_.Start(clock_.Now(), OperationPhase::kSnapshot);
  ASSERT_TRUE(op);
  op->phase = OperationPhase::kDone;
  operations_.Update(*op);
  TickAt("2026-11-01T03:30:01Z");
  s = State("reconcile");
  EXPECT_EQ(s.last_outcome, "success");
  EXPECT_EQ(s.runs, 1);
  EXPECT_TRUE(s.running_operation.empty());

  // The next one fails: so does the run.
  TickAt("2026-11-01T04:30:00Z");
  op = operations_.Start(clock_.Now(), OperationPhase::kSnapshot);
  ASSERT_TRUE(op);
  op->phase = OperationPhase::kFailed;
  op->error = "history lost";
  operations_.Update(*op);
  TickAt("2026-11-01T04:30:01Z");
  s = State("reconcile");
  EXPECT_EQ(s.last_outcome, "failure");
  EXPECT_NE(s.last_error.find("history lost"), std::string::npos);
  EXPECT_EQ(s.consecutive_failures, 1);
  EXPECT_EQ(submitted, 2);
}

TEST_F(SchedulerTest, AConflictWithAnotherOperationIsRetriedAMinuteLaterWithoutCounting) {
  MV_ASSERT_OK_AND_ASSIGN(std::string manual, operations_.Submit(OperationKind::kRebuild, {}, false,
                                                                 "admin key", clock_.Now()));
  int attempts = 0;
  scheduler_.Add("refresh", *Schedule::Parse("daily 03:00"), [&](Timestamp now) -> Result<JobRun> {
    ++attempts;
    MV_ASSIGN_OR_RETURN(std::string id,
                        operations_.Submit(OperationKind::kRefresh,
                                           core::ViewScope{{"mv_daily_metrics"}, std::nullopt},
                                           true, "scheduler", now));
    return JobRun{"", id};
  });
  TickAt("2026-11-01T03:00:00Z");
  EXPECT_EQ(attempts, 1);
  JobState s = State("refresh");
  EXPECT_EQ(s.runs, 0);
  EXPECT_EQ(s.failures, 0);
  EXPECT_EQ(s.next_run, At("2026-11-01T03:01:00Z"));
  // The manual rebuild finishes; the retry goes through.
  auto op = operations_.Start(clock_.Now(), OperationPhase::kSnapshot);
  ASSERT_TRUE(op);
  EXPECT_EQ(op->id, manual);
  op->phase = OperationPhase::kDone;
  operations_.Update(*op);
  TickAt("2026-11-01T03:01:00Z");
  EXPECT_EQ(attempts, 2);
  EXPECT_FALSE(State("refresh").running_operation.empty());
  // And after it the daily time is kept.
  EXPECT_EQ(State("refresh").next_run, At("2026-11-02T03:00:00Z"));
}

TEST_F(SchedulerTest, OffNeverRuns) {
  int runs = 0;
  scheduler_.Add("never", *Schedule::Parse("off"), [&](Timestamp) -> Result<JobRun> {
    ++runs;
    return JobRun{};
  });
  TickAt("2030-01-01T00:00:00Z");
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(State("never").next_run, std::nullopt);
  EXPECT_EQ(State("never").schedule, "off");
}

}  // namespace
}  // namespace mv::testing
