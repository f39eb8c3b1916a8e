#include "worker/operation_runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "worker/change_fold.h"

namespace mv::worker {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace

// The running operation. The scanner thread and the worker's thread meet in `mu`.
struct OperationRunner::Active {
  static constexpr size_t kMaxWaitingChunks = 2;

  Operation op;
  std::unique_ptr<core::ViewRebuild> shadow;
  SteadyClock::time_point started = SteadyClock::now();
  SteadyClock::time_point last_log = SteadyClock::now();
  core::ChangeToken shadow_token = 0;  // the shadow holds every change up to here
  // Comparing: the orgs to compare, one per slice, and the rows found mismatched so far.
  std::vector<std::string> compare_orgs;
  size_t next_org = 0;
  std::map<std::string, StreamProbe::Drift> drift_by_view;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<core::ViewBatch> chunks;  // guarded by mu
  bool scan_done = false;              // guarded by mu
  Status scan_status = Status::Ok();   // guarded by mu
  core::ChangeToken scan_token = 0;    // guarded by mu
  std::atomic<size_t> scanned{0};
  std::atomic<bool> cancel{false};
  std::thread scanner;  // last: joined first

  ~Active() {
    cancel.store(true);
    cv.notify_all();
    if (scanner.joinable()) scanner.join();
  }
};

OperationRunner::OperationRunner(Operations* operations, core::ChangeSource* source,
                                 core::SourceReader* snapshots, core::ViewStore* store,
                                 const core::ViewSet* views,
                                 const core::ProjectionOptions* projection, const Clock* clock,
                                 StreamProbe* probe, OperationRunnerOptions options)
    : operations_(operations),
      source_(source),
      snapshots_(snapshots),
      store_(store),
      views_(views),
      projection_(projection),
      clock_(clock),
      probe_(probe),
      options_(options) {}

OperationRunner::~OperationRunner() { Abort("the worker stopped"); }

void OperationRunner::SubmitVersionBuilds() {
  versions_checked_ = true;
  for (const auto& view : store_->VersionsToBuild()) {
    core::ViewScope scope{{view}, std::nullopt, /*next_version=*/true};
    auto id = operations_->Submit(OperationKind::kMigrate, scope, false,
                                  "the start-up (a newer definition)", clock_->Now());
    if (id.ok()) {
      spdlog::info("{} has a newer definition than the live one: building it beside it ({})", view,
                   *id);
    } else {
      spdlog::info("the next version of {} is not queued again: {}", view, id.status().message());
    }
  }
  // A version built but not validated (the process stopped in between) is validated now.
  auto versions = store_->Versions();
  if (!versions.ok()) return;  // a store of one version per view
  for (const auto& v : *versions) {
    if (v.state != core::VersionState::kBuilding || v.validated) continue;
    core::ViewScope scope{{v.view}, std::nullopt, /*next_version=*/true};
    auto id = operations_->Submit(OperationKind::kValidate, scope, false,
                                  "the start-up (built, not validated)", clock_->Now());
    if (id.ok()) spdlog::info("{} v{} is built: validating it ({})", v.view, v.version, *id);
  }
}

void OperationRunner::RunInstant() {
  while (auto op = operations_->StartInstant(clock_->Now())) {
    spdlog::info("{} {}: {}, requested by {}", ToString(op->kind), op->id, op->scope.Describe(),
                 op->requested_by);
    Status s = RunInstantOperation(&*op);
    op->finished_at = clock_->Now();
    if (s.ok()) {
      op->phase = OperationPhase::kDone;
    } else {
      spdlog::error("{} {} failed: {}", ToString(op->kind), op->id, s.ToString());
      op->phase = OperationPhase::kFailed;
      op->error = s.ToString();
    }
    operations_->Update(*op);
  }
}

Status OperationRunner::RunInstantOperation(Operation* op) {
  std::vector<std::optional<std::string>> views;
  for (const auto& v : op->scope.views) views.emplace_back(v);
  if (views.empty()) views.emplace_back(std::nullopt);
  for (const auto& view : views) {
    switch (op->kind) {
      case OperationKind::kSwitch:
        if (!view) return Status::InvalidArgument("a switch names its view");
        MV_RETURN_IF_ERROR(store_->SwitchVersion(*view));
        break;
      case OperationKind::kRollback:
        if (!view) return Status::InvalidArgument("a rollback names its view");
        MV_RETURN_IF_ERROR(store_->RollbackVersion(*view));
        break;
      case OperationKind::kDropRetired: {
        MV_ASSIGN_OR_RETURN(int dropped, store_->DropRetired(view, std::nullopt));
        op->rows_done += dropped;
        break;
      }
      default:
        return Status::Internal("not an instant operation");
    }
  }
  return Status::Ok();
}

void OperationRunner::FollowUp(const Operation& done) {
  if (done.kind != OperationKind::kMigrate || done.phase != OperationPhase::kDone) return;
  auto id = operations_->Submit(OperationKind::kValidate, done.scope, false, "after " + done.id,
                                clock_->Now());
  if (id.ok()) {
    spdlog::info("{} {}: the next version is built; validating it ({})", ToString(done.kind),
                 done.id, *id);
  } else {
    spdlog::warn("{} {}: cannot validate the next version yet: {}", ToString(done.kind), done.id,
                 id.status().message());
  }
}

Status OperationRunner::ValidationDone() {
  Operation& op = active_->op;
  std::int64_t mismatched = 0;
  for (const auto& d : op.drift)
    mismatched += d.drift.drifted() ? std::max<std::int64_t>(1, d.drift.mismatched) : 0;
  if (mismatched > 0) {
    return Status::Conflict(fmt::format(
        "validation failed: {} rows of {} differ from a recompute from the source; it stays "
        "unswitched (POST /admin/views/{{mv}}/migrate builds it again)",
        mismatched, op.scope.Describe()));
  }
  for (const auto& view : op.scope.views) {
    MV_RETURN_IF_ERROR(store_->MarkValidated(view));
    if (options_.auto_switch) MV_RETURN_IF_ERROR(store_->SwitchVersion(view));
  }
  return Status::Ok();
}

bool OperationRunner::Step(core::ChangeToken live) {
  if (!versions_checked_) SubmitVersionBuilds();
  RunInstant();
  if (!active_) {
    auto op = operations_->Start(clock_->Now(), OperationPhase::kSnapshot);
    if (!op) return false;
    active_ = std::make_unique<Active>();
    active_->op = std::move(*op);
    if (Status s = Begin(); !s.ok()) {
      Fail(s);
      return false;
    }
  }
  auto until = SteadyClock::now() + options_.slice;
  Status s = Status::Ok();
  if (active_->op.phase == OperationPhase::kSnapshot) s = SliceSnapshot(until);
  if (s.ok() && (active_->op.phase == OperationPhase::kCatchUp ||
                 active_->op.phase == OperationPhase::kComparing)) {
    bool caught_up = false;
    s = SliceCatchUp(live, until, &caught_up);
    if (s.ok() && caught_up) s = Finish();
  }
  if (!s.ok()) {
    Fail(s);
    return false;
  }
  if (active_ == nullptr) return false;
  Publish();
  return true;
}

void OperationRunner::Abort(const std::string& why) {
  if (active_) Fail(Status::Unavailable(why));
}

Status OperationRunner::Begin() {
  Operation& op = active_->op;
  spdlog::info("{} {}: {} ({}), requested by {}", ToString(op.kind), op.id, op.scope.Describe(),
               op.repair ? "repair on" : "repair off", op.requested_by);
  MV_ASSIGN_OR_RETURN(op.rows_total, snapshots_->CountShipments(op.scope.org));
  MV_ASSIGN_OR_RETURN(active_->shadow, store_->BeginRebuild(op.scope));
  Active* a = active_.get();
  Timestamp now = clock_->Now();
  a->scanner = std::thread([this, a, now] {
    SnapshotScanStats stats;
    auto push = [a](core::ViewBatch chunk) -> Status {
      std::unique_lock lock(a->mu);
      a->cv.wait(lock,
                 [a] { return a->chunks.size() < Active::kMaxWaitingChunks || a->cancel.load(); });
      if (a->cancel.load()) return Status::Unavailable("cancelled");
      a->chunks.push_back(std::move(chunk));
      a->cv.notify_all();
      return Status::Ok();
    };
    auto progress = [a](size_t rows) { a->scanned.store(rows); };
    auto token = ScanSnapshot(snapshots_, *views_, *projection_, now, a->op.scope.org,
                              options_.scan, push, progress, &stats);
    std::lock_guard lock(a->mu);
    a->scan_done = true;
    if (token.ok()) {
      a->scan_token = *token;
    } else {
      a->scan_status = token.status();
    }
    a->cv.notify_all();
  });
  return Status::Ok();
}

Status OperationRunner::SliceSnapshot(SteadyClock::time_point until) {
  Active& a = *active_;
  for (;;) {
    core::ViewBatch chunk;
    {
      std::unique_lock lock(a.mu);
      // A short wait for the scanner, so that an idle stream does not slow the snapshot.
      a.cv.wait_until(lock, std::min(until, SteadyClock::now() + Millis(5)),
                      [&] { return !a.chunks.empty() || a.scan_done; });
      if (a.chunks.empty()) {
        if (!a.scan_done) return Status::Ok();
        MV_RETURN_IF_ERROR(a.scan_status);
        a.shadow_token = a.scan_token;
        a.op.phase = OperationPhase::kCatchUp;
        break;
      }
      chunk = std::move(a.chunks.front());
      a.chunks.pop_front();
      a.cv.notify_all();
    }
    MV_RETURN_IF_ERROR(a.shadow->Write(chunk));
    if (SteadyClock::now() >= until) return Status::Ok();
  }
  if (a.scanner.joinable()) a.scanner.join();
  a.op.rows_done = static_cast<std::int64_t>(a.scanned.load());
  spdlog::info("{} {}: snapshot of {} shipments at token {} in {:.2f}s; catching up",
               ToString(a.op.kind), a.op.id, a.op.rows_done, a.shadow_token,
               SecondsSince(a.started));
  return Status::Ok();
}

Status OperationRunner::SliceCatchUp(core::ChangeToken live, SteadyClock::time_point until,
                                     bool* caught_up) {
  Active& a = *active_;
  // The live views are still before the snapshot: the stream catches up first.
  if (live < a.shadow_token) return Status::Ok();
  const std::optional<std::string>& org = a.op.scope.org;
  while (a.shadow_token < live) {
    MV_ASSIGN_OR_RETURN(auto events,
                        source_->Read(a.shadow_token, options_.catch_up_events, Millis(0)));
    core::ChangeToken last = live;
    if (!events.empty() && events.back().token < live) last = events.back().token;
    core::BatchBuilder builder(*views_, *projection_, a.shadow.get(), clock_->Now());
    for (const auto& e : events) {
      if (e.token > live) break;
      if (org && e.org != *org) continue;
      MV_RETURN_IF_ERROR(FoldChange(builder, *snapshots_, e));
    }
    MV_RETURN_IF_ERROR(a.shadow->Apply(builder.Finish(std::nullopt)));
    a.shadow_token = last;
    if (SteadyClock::now() >= until) break;
  }
  *caught_up = a.shadow_token == live;
  a.op.token = a.shadow_token;
  return Status::Ok();
}

template <typename Target>
Status OperationRunner::TickSla(Target* target, Timestamp now) {
  for (;;) {
    MV_ASSIGN_OR_RETURN(auto due, target->DueForSlaChange(now, options_.sla_max_rows));
    if (due.empty()) return Status::Ok();
    core::BatchBuilder builder(*views_, *projection_, target, now);
    for (const auto& row : due) MV_RETURN_IF_ERROR(builder.Reevaluate(row));
    MV_RETURN_IF_ERROR(target->Apply(builder.Finish(std::nullopt)));
  }
}

Status OperationRunner::Finish() {
  Active& a = *active_;
  // Both sides at one token (this slice) and one `now`.
  Timestamp now = clock_->Now();
  MV_RETURN_IF_ERROR(TickSla(a.shadow.get(), now));
  const bool compares = a.op.kind == OperationKind::kReconcile ||
                        a.op.kind == OperationKind::kRefresh ||
                        a.op.kind == OperationKind::kValidate;
  if (compares) {
    MV_RETURN_IF_ERROR(TickSla(store_, now));
    bool all_compared = false;
    MV_RETURN_IF_ERROR(CompareNextOrg(now, &all_compared));
    if (!all_compared) return Status::Ok();  // the next org in a later slice
    if (a.op.kind == OperationKind::kValidate) MV_RETURN_IF_ERROR(ValidationDone());
  } else {
    a.op.phase = OperationPhase::kSwapping;
    MV_RETURN_IF_ERROR(a.shadow->CommitPart(a.op.scope));
    if (probe_) probe_->RebuildDone(SecondsSince(a.started));
  }
  a.op.phase = OperationPhase::kDone;
  a.op.finished_at = clock_->Now();
  a.op.rows_done = std::max<std::int64_t>(a.op.rows_done, a.op.rows_total);
  a.op.eta_seconds = 0;
  std::int64_t drifted = 0;
  for (const auto& d : a.op.drift) drifted += d.drift.drifted() ? 1 : 0;
  spdlog::info(
      "{} {}: done in {:.2f}s at token {}{}", ToString(a.op.kind), a.op.id, SecondsSince(a.started),
      a.op.token,
      compares ? fmt::format("; {} of {} views and orgs drifted", drifted, a.op.drift.size()) : "");
  operations_->Update(a.op);
  Operation done = a.op;
  active_.reset();
  FollowUp(done);
  return Status::Ok();
}

Status OperationRunner::CompareNextOrg(Timestamp now, bool* all_compared) {
  Active& a = *active_;
  if (a.op.phase != OperationPhase::kComparing) {
    a.op.phase = OperationPhase::kComparing;
    for (const auto& view : views_->Names()) {
      if (a.op.scope.Includes(view)) a.drift_by_view[view] = {};
    }
    MV_ASSIGN_OR_RETURN(a.compare_orgs, a.shadow->Orgs());
  }
  if (a.next_org < a.compare_orgs.size()) {
    const std::string org = a.compare_orgs[a.next_org++];
    MV_ASSIGN_OR_RETURN(auto drifts, a.shadow->Compare(org));
    for (auto& d : drifts) {
      DriftReport report{std::move(d), false};
      const core::ViewDrift& found = report.drift;
      StreamProbe::Drift& drift = a.drift_by_view[found.view];
      drift.mismatched += found.mismatched;
      drift.rows += std::max(found.source_rows, found.view_rows);
      if (found.drifted()) {
        spdlog::warn(
            "{} {}: {} of org {} drifted: {} rows in the source, {} in the view, {} "
            "mismatched (first: {})",
            ToString(a.op.kind), a.op.id, found.view, org, found.source_rows, found.view_rows,
            found.mismatched, fmt::join(found.sample_keys, ", "));
        if (a.op.repair || a.op.kind == OperationKind::kRefresh) {
          MV_RETURN_IF_ERROR(a.shadow->CommitPart(core::ViewScope{{found.view}, org}));
          report.repaired = true;
        }
      }
      a.op.drift.push_back(std::move(report));
    }
  }
  *all_compared = a.next_org >= a.compare_orgs.size();
  if (*all_compared && probe_ && a.op.kind != OperationKind::kValidate) {
    probe_->DriftMeasured(a.drift_by_view);
    if (a.op.kind == OperationKind::kReconcile) {
      probe_->ReconcileDone(std::chrono::duration<double>(now.time_since_epoch()).count());
    } else {
      std::vector<std::string> views;
      for (const auto& [view, drift] : a.drift_by_view) views.push_back(view);
      probe_->RebuildDone(SecondsSince(a.started), views);
    }
  }
  return Status::Ok();
}

void OperationRunner::Fail(const Status& why) {
  Operation& op = active_->op;
  spdlog::error("{} {} failed: {}", ToString(op.kind), op.id, why.ToString());
  op.phase = OperationPhase::kFailed;
  op.error = why.ToString();
  op.finished_at = clock_->Now();
  operations_->Update(op);
  active_.reset();  // drops the shadow
}

void OperationRunner::Publish() {
  Active& a = *active_;
  Operation& op = a.op;
  if (op.phase == OperationPhase::kSnapshot) {
    op.rows_done = static_cast<std::int64_t>(a.scanned.load());
  }
  double elapsed = SecondsSince(a.started);
  if (elapsed > 0) op.rows_per_second = static_cast<double>(op.rows_done) / elapsed;
  if (op.rows_per_second > 0 && op.rows_total >= op.rows_done) {
    op.eta_seconds = static_cast<double>(op.rows_total - op.rows_done) / op.rows_per_second;
  }
  if (SteadyClock::now() - a.last_log >= std::chrono::seconds(5)) {
    a.last_log = SteadyClock::now();
    spdlog::info("{} {}: {} {:.0f}% ({} of ~{} shipments, {:.0f}/s)", ToString(op.kind), op.id,
                 ToString(op.phase), op.percent(), op.rows_done, op.rows_total, op.rows_per_second);
  }
  operations_->Update(op);
}

}  // namespace mv::worker
