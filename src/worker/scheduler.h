#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/schedule.h"
#include "worker/job_probe.h"
#include "worker/operations.h"

namespace mv::worker {

// What a job's run did: finished at once (summary for the log and /admin/jobs), or handed
// the work to an operation whose outcome is the run's.
struct JobRun {
  std::string summary;
  std::optional<std::string> operation_id;
};

// A job's state as any thread may see it.
struct JobState {
  std::string name;
  std::string schedule;  // Schedule::ToString()
  std::optional<Timestamp> next_run;
  std::optional<Timestamp> last_started;
  std::optional<Timestamp> last_finished;
  std::optional<Timestamp> last_success;
  std::string last_outcome;  // "", "success", "failure"
  std::string last_summary;  // of the last success
  std::string last_error;    // of the last failure
  std::string running_operation;
  std::int64_t runs = 0;
  std::int64_t failures = 0;
  std::int64_t consecutive_failures = 0;
};

// Runs jobs on the injected clock. A job whose run fails (its function's error, or its
// operation failed) counts a failure and runs again at its next scheduled time; one whose
// operation cannot start because another acts on the same views (Conflict) tries again a
// minute later without counting a run. A job never overlaps itself: a run whose operation
// is still going skips its turn.
//
// Add() before the first Tick(); Tick() belongs to one thread (the stream worker's, so
// jobs may write the views); List() may be called from any.
class Scheduler {
 public:
  using Run = std::function<Result<JobRun>(Timestamp now)>;

  Scheduler(const Clock* clock, Operations* operations, JobProbe* probe);

  void Add(std::string name, Schedule schedule, Run run);
  // Starts the jobs due at the clock's now and records the outcome of jobs whose
  // operation finished.
  void Tick();
  std::vector<JobState> List() const;

 private:
  struct Job {
    JobState state;
    Schedule schedule;
    Run run;
  };
  void Finished(Job& job, Timestamp now, const Status& outcome, std::string summary);

  const Clock* clock_;
  Operations* operations_;
  JobProbe* probe_;
  mutable std::mutex mu_;
  std::vector<Job> jobs_;  // the list is fixed after Add; states guarded by mu_
};

}  // namespace mv::worker
