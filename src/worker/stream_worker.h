#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>

#include "base/clock.h"
#include "base/result.h"
#include "core/engine.h"
#include "core/interfaces.h"
#include "core/view_set.h"
#include "worker/operation_runner.h"
#include "worker/operations.h"
#include "worker/scheduler.h"
#include "worker/stream_probe.h"

namespace mv::worker {

struct WorkerOptions {
  // A micro-batch closes at this many events ...
  size_t batch_max_events = 5000;
  // ... or this long after its first event arrived, whichever comes first.
  Millis batch_max_wait{2};
  // How long one idle read waits for a new change before the loop looks at the clock.
  Millis idle_wait{100};
  // How often the SLA ticker looks for rows whose SLA status is due to change.
  Millis sla_tick_interval{1000};
  size_t sla_tick_max_rows = 5000;
  // New views (ViewStore::RebuildRequired) over a source that has changes are built from
  // a snapshot rather than by replaying the stream from the start. Off: always replay
  // (benchmarks of the stream itself, and tests of replay from token 0).
  bool snapshot_new_views = true;
  // Shipments per transaction while a rebuild fills its shadow tables.
  size_t rebuild_chunk_rows = 10000;
  // A rebuild sums aggregate rows in memory and writes them at the end, or earlier (as
  // deltas added to what it wrote) once it holds this many keys.
  size_t rebuild_max_aggregate_keys = 250000;
  // Wait after a failed batch before retrying it; doubles up to the maximum.
  Millis retry_backoff{100};
  Millis retry_backoff_max{10000};
};

// The stream loop: reads micro-batches from the change source, folds them through the
// engine and applies each, with its last token, in one view-store transaction; re-evaluates
// rows whose SLA status changes with the clock; on HistoryLost rebuilds from a snapshot and
// resumes from the snapshot's token. Restarting resumes from the stored checkpoint.
//
// Run() belongs to one thread; Stop() and the status accessors may be called from any.
class StreamWorker {
 public:
  StreamWorker(core::ChangeSource* source, core::SourceReader* snapshots, core::ViewStore* store,
               const core::ViewSet* views, core::ProjectionOptions projection, const Clock* clock,
               StreamProbe* probe, WorkerOptions options);

  // Loops until Stop(); finishes the batch in hand, then returns Ok. Errors of single
  // batches are counted, logged and retried with back-off; they do not end the loop.
  Status Run();
  void Stop() { stop_.store(true); }

  // One iteration (for tests and tools): reads one micro-batch (waiting up to `wait` for
  // its first event) and applies it; handles HistoryLost by rebuilding. Returns the number
  // of events applied.
  Result<size_t> Step(Millis wait);
  // Applies the SLA transitions due at the clock's now; returns the rows changed.
  Result<size_t> TickSla();
  // Rebuilds every view from a consistent snapshot of the source, swaps it in, and
  // re-bases the stream on the snapshot's token (the stream waits meanwhile: for new
  // views and after history was lost). Returns that token. With operations, it is
  // recorded as one (kind kBackfill or kRebuild), with its progress.
  Result<core::ChangeToken> Rebuild(OperationKind kind = OperationKind::kRebuild,
                                    const std::string& reason = "a caller");

  // Takes the rebuilds and reconciliations queued in `operations` and runs them between
  // batches (see OperationRunner); shipments whose stored row was unreadable get a
  // rebuild of their org queued there. Set before Run().
  void SetOperations(Operations* operations, OperationRunnerOptions options = {});
  // Runs a slice of the queued operations (as Run() does between batches); true while one
  // runs. For tests and tools.
  bool StepOperations();

  // Ticks `scheduler` between batches, so that its jobs run on the views' one writer.
  // Set before Run().
  void SetScheduler(Scheduler* scheduler) { scheduler_ = scheduler; }

  // Called, on the worker's thread, for every change to a customer or carrier in a batch,
  // before the batch's views become visible (the lookup caches drop their entry). Set
  // before Run().
  using LookupChangeHook =
      std::function<void(core::Collection, const std::string& org, const std::string& id)>;
  void OnLookupChange(LookupChangeHook hook) { on_lookup_change_ = std::move(hook); }
  // Called on the worker's thread with the orgs whose changes a batch or a rebuild is about
  // to commit (the freshness metrics show a series per org from then on). Set before Run().
  using OrgsHook = std::function<void(const std::vector<std::string>& orgs)>;
  void OnOrgsApplied(OrgsHook hook) { on_orgs_applied_ = std::move(hook); }

  // True while Run() is reading the stream without failing.
  bool healthy() const { return healthy_.load(); }
  core::ChangeToken checkpoint() const { return checkpoint_.load(); }

 private:
  Status ApplyBatch(std::span<const core::ChangeEvent> events);
  // Counts the rows the store could not read as drift, and queues a rebuild of their orgs.
  void RepairUnreadableRows();

  core::ChangeSource* source_;
  core::SourceReader* snapshots_;
  core::ViewStore* store_;
  const core::ViewSet* views_;
  core::ProjectionOptions projection_;
  const Clock* clock_;
  StreamProbe* probe_;
  WorkerOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> healthy_{false};
  std::atomic<core::ChangeToken> checkpoint_{0};
  bool checkpoint_loaded_ = false;
  LookupChangeHook on_lookup_change_;
  OrgsHook on_orgs_applied_;
  Operations* operations_ = nullptr;
  std::unique_ptr<OperationRunner> runner_;
  Scheduler* scheduler_ = nullptr;
};

}  // namespace mv::worker
