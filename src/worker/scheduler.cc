#include "worker/scheduler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "base/time.h"

namespace mv::worker {
namespace {

constexpr std::string_view kScheduleForms =
    "expected \"off\", \"every N<s|m|h|d>\" (e.g. \"every 15m\") or \"daily HH:MM\" (UTC)";
constexpr Millis kConflictRetry = std::chrono::minutes(1);

bool ParseNumber(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

double UnixSeconds(Timestamp t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

Result<Schedule> Schedule::Parse(std::string_view text) {
  auto bad = [&] { return Status::InvalidArgument(fmt::format("'{}': {}", text, kScheduleForms)); };
  Schedule s;
  if (text == "off") return s;
  if (text.starts_with("every ")) {
    std::string_view amount = text.substr(6);
    if (amount.size() < 2) return bad();
    int64_t n = 0;
    if (!ParseNumber(amount.substr(0, amount.size() - 1), &n) || n <= 0 || n > 9999) {
      return bad();
    }
    switch (amount.back()) {
      case 's':
        s.every = std::chrono::seconds(n);
        break;
      case 'm':
        s.every = std::chrono::minutes(n);
        break;
      case 'h':
        s.every = std::chrono::hours(n);
        break;
      case 'd':
        s.every = std::chrono::hours(24 * n);
        break;
      default:
        return bad();
    }
    s.kind = Kind::kEvery;
    return s;
  }
  if (text.starts_with("daily ")) {
    std::string_view hhmm = text.substr(6);
    int64_t h = 0, m = 0;
    if (hhmm.size() != 5 || hhmm[2] != ':' || !ParseNumber(hhmm.substr(0, 2), &h) ||
        !ParseNumber(hhmm.substr(3), &m) || h > 23 || m > 59) {
      return bad();
    }
    s.kind = Kind::kDaily;
    s.minute_of_day = static_cast<int>(h * 60 + m);
    return s;
  }
  return bad();
}

std::string Schedule::ToString() const {
  switch (kind) {
    case Kind::kOff:
      return "off";
    case Kind::kEvery: {
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(every).count();
      if (seconds % 86400 == 0) return fmt::format("every {}d", seconds / 86400);
      if (seconds % 3600 == 0) return fmt::format("every {}h", seconds / 3600);
      if (seconds % 60 == 0) return fmt::format("every {}m", seconds / 60);
      return fmt::format("every {}s", seconds);
    }
    case Kind::kDaily:
      return fmt::format("daily {:02}:{:02}", minute_of_day / 60, minute_of_day % 60);
  }
  return "off";
}

std::optional<Timestamp> Schedule::NextAfter(Timestamp t) const {
  switch (kind) {
    case Kind::kOff:
      return std::nullopt;
    case Kind::kEvery:
      return t + every;
    case Kind::kDaily: {
      Timestamp day = std::chrono::floor<std::chrono::days>(t);
      Timestamp at = day + std::chrono::minutes(minute_of_day);
      return at > t ? at : at + std::chrono::days(1);
    }
  }
  return std::nullopt;
}

Scheduler::Scheduler(const Clock* clock, Operations* operations, metrics::JobProbe* probe)
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
