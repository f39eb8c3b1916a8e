#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "core/change_event.h"
#include "core/view_scope.h"

namespace mv::worker {

// kRefresh: a full refresh (the scheduled one of mv_daily_metrics): a reconciliation that
// swaps in every part that differs from the recompute, counting what it corrects as drift.
// Blue/green (scope.next_version): kMigrate builds a view's next version beside the live
// one, then queues kValidate, a comparison of it with a recompute from the source that
// marks it validated (and switches to it when auto-switch is on). kSwitch, kRollback and
// kDropRetired change only the catalog: they run at once, even beside a long operation.
enum class OperationKind {
  kRebuild,
  kReconcile,
  kBackfill,
  kRefresh,
  kMigrate,
  kValidate,
  kSwitch,
  kRollback,
  kDropRetired
};
// True for the kinds that change only the catalog (they take no snapshot).
bool IsInstant(OperationKind kind);
enum class OperationPhase { kQueued, kSnapshot, kCatchUp, kComparing, kSwapping, kDone, kFailed };

std::string_view ToString(OperationKind kind);
std::string_view ToString(OperationPhase phase);

// What an operation found for one view of one org (reconciliation), and whether it was
// repaired.
struct DriftReport {
  core::ViewDrift drift;
  bool repaired = false;
};

// One operation as any thread may see it: a copy, consistent at the moment it was taken.
struct Operation {
  std::string id;  // "op-7"
  OperationKind kind = OperationKind::kRebuild;
  core::ViewScope scope;
  bool repair = false;  // reconcile: rebuild what drifted over the threshold
  std::string requested_by;
  OperationPhase phase = OperationPhase::kQueued;
  Timestamp submitted_at{};
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> finished_at;
  std::int64_t rows_done = 0;
  std::int64_t rows_total = 0;  // an estimate taken when the snapshot starts
  double rows_per_second = 0;   // over the snapshot so far
  std::optional<double> eta_seconds;
  core::ChangeToken token = 0;     // the token the result reflects
  std::vector<DriftReport> drift;  // reconcile: one per view and org compared
  std::string error;               // kFailed: why

  bool finished() const {
    return phase == OperationPhase::kDone || phase == OperationPhase::kFailed;
  }
  // Percentage of the snapshot read (0-100), for progress displays.
  double percent() const;
};

// What the admin API asks of the operations on the views: in the worker process, its
// Operations; in an `api` replica, the worker's, through the operation board.
// Thread-safe.
class OperationService {
 public:
  virtual ~OperationService() = default;
  // Queues an operation and returns its id; Conflict when one that is queued or running
  // acts on rows of the same views and orgs (as far as this process can tell).
  virtual Result<std::string> Submit(OperationKind kind, core::ViewScope scope, bool repair,
                                     std::string requested_by, Timestamp now) = 0;
  virtual std::optional<Operation> Get(const std::string& id) const = 0;
  // Newest first: the ones queued or running, then finished ones.
  virtual std::vector<Operation> List() const = 0;
};

// The operations of one process: requests wait here until the stream worker, which owns
// the views, takes them between batches. Thread-safe.
class Operations final : public OperationService {
 public:
  explicit Operations(size_t keep_finished = 100) : keep_finished_(keep_finished) {}
  // Ids are the prefix and a number ("op-7"); a process whose operations others see (on
  // the operation board) takes a prefix of its own, so that ids stay unique across
  // restarts.
  void SetIdPrefix(std::string prefix) {
    std::lock_guard lock(mu_);
    prefix_ = std::move(prefix);
  }

  Result<std::string> Submit(OperationKind kind, core::ViewScope scope, bool repair,
                             std::string requested_by, Timestamp now) override;
  // Submit under a given id (a request another process made).
  Result<std::string> SubmitAs(std::string id, OperationKind kind, core::ViewScope scope,
                               bool repair, std::string requested_by, Timestamp now);

  std::optional<Operation> Get(const std::string& id) const override;
  // At most `keep_finished` finished ones.
  std::vector<Operation> List() const override;
  // For the worker: records an operation it runs at once, whatever else is queued (a
  // rebuild the stream cannot go on without); it starts in `phase`.
  Operation Record(OperationKind kind, core::ViewScope scope, std::string requested_by,
                   Timestamp now, OperationPhase phase);
  // For the worker: the oldest queued operation that takes a snapshot, now marked as
  // running in `phase`.
  std::optional<Operation> Start(Timestamp now, OperationPhase phase);
  // For the worker: the oldest queued instant operation (IsInstant), now marked running.
  std::optional<Operation> StartInstant(Timestamp now);
  // For the worker: replaces the public state of operation `op.id`.
  void Update(const Operation& op);

 private:
  Operation* Find(const std::string& id);
  void Add(Operation op);  // with mu_ held

  size_t keep_finished_;
  mutable std::mutex mu_;
  std::deque<Operation> ops_;   // guarded by mu_; oldest first
  std::int64_t next_id_ = 1;    // guarded by mu_
  std::string prefix_ = "op-";  // guarded by mu_
};

}  // namespace mv::worker
