#include "worker/scheduler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/time.h"

namespace mv::worker {
namespace {

constexpr Millis kConflictRetry = std::chrono::minutes(1);

double UnixSeconds(Timestamp t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

Scheduler::Scheduler(const Clock* clock, Operations* operations, JobProbe* probe)
    : clock_(clock), operations_(operations), probe_(probe) {}

void Scheduler::Add(std::string name, Schedule schedule, Run run) {
  Job job;
  job.state.name = name;
  job.state.schedule = schedule.ToString();
  job.state.next_run = schedule.NextAfter(clock_->Now());
  job.schedule = schedule;
  job.run = std::move(run);
  if (probe_) probe_->Declare(name);
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
}

void Scheduler::Finished(Job& job, Timestamp now, const Status& outcome, std::string summary) {
  JobState& s = job.state;  // mu_ held
  s.last_finished = now;
  s.running_operation.clear();
  ++s.runs;
  if (outcome.ok()) {
    s.last_outcome = "success";
    s.last_success = now;
    s.last_summary = std::move(summary);
    s.consecutive_failures = 0;
    spdlog::info("job {}: done{}{}", s.name, s.last_summary.empty() ? "" : ": ", s.last_summary);
  } else {
    s.last_outcome = "failure";
    s.last_error = outcome.message();
    ++s.failures;
    ++s.consecutive_failures;
    spdlog::error("job {} failed ({} in a row; next run {}): {}", s.name, s.consecutive_failures,
                  s.next_run ? FormatRfc3339(*s.next_run) : "never", s.last_error);
  }
  if (probe_) probe_->RunDone(s.name, outcome.ok(), s.consecutive_failures, UnixSeconds(now));
}

void Scheduler::Tick() {
  Timestamp now = clock_->Now();
  for (Job& job : jobs_) {
    std::unique_lock lock(mu_);
    JobState& s = job.state;
    if (!s.running_operation.empty()) {
      std::optional<Operation> op = operations_->Get(s.running_operation);
      if (op && !op->finished()) {
        if (s.next_run && now >= *s.next_run) {  // skips this turn
          spdlog::warn("job {}: skipped, its last run ({}) is still going", s.name, op->id);
          s.next_run = job.schedule.NextAfter(now);
        }
        continue;
      }
      Status outcome =
          !op ? Status::Internal("its operation " + s.running_operation + " is gone")
          : op->phase == OperationPhase::kFailed
              ? Status::Unavailable(fmt::format("operation {} failed: {}", op->id, op->error))
              : Status::Ok();
      Finished(job, now, outcome, op ? fmt::format("operation {}", op->id) : "");
    }
    if (!s.next_run || now < *s.next_run) continue;
    s.last_started = now;
    // The next turn counts from the time it was due, so a daily job keeps its hour.
    s.next_run = job.schedule.NextAfter(*s.next_run);
    if (s.next_run && *s.next_run <= now) s.next_run = job.schedule.NextAfter(now);
    lock.unlock();  // the run may take a while; List() must not wait for it
    Result<JobRun> run = job.run(now);
    lock.lock();
    if (!run.ok() && run.status().code() == StatusCode::kConflict) {
      spdlog::info("job {}: waiting for another operation on its views: {}", s.name,
                   run.status().message());
      s.next_run = now + kConflictRetry;
      continue;
    }
    if (run.ok() && run->operation_id) {
      s.running_operation = *run->operation_id;
      continue;
    }
    Finished(job, now, run.ok() ? Status::Ok() : run.status(), run.ok() ? run->summary : "");
  }
}

std::vector<JobState> Scheduler::List() const {
  std::lock_guard lock(mu_);
  std::vector<JobState> out;
  for (const Job& job : jobs_) out.push_back(job.state);
  return out;
}

}  // namespace mv::worker
