#pragma once

#include <chrono>
#include <memory>

#include "base/clock.h"
#include "base/result.h"
#include "core/engine.h"
#include "core/interfaces.h"
#include "core/view_set.h"
#include "worker/operations.h"
#include "worker/snapshot_scan.h"
#include "worker/stream_probe.h"

namespace mv::worker {

struct OperationRunnerOptions {
  SnapshotScanOptions scan;
  // Work done per slice before the stream gets the thread back.
  Millis slice{50};
  size_t catch_up_events = 5000;  // changes replayed into the shadow per read
  size_t sla_max_rows = 5000;
  // A validated next version becomes live at once (else on a kSwitch operation).
  bool auto_switch = true;
};

// Runs the queued rebuilds and reconciliations of `operations` in slices, on the stream
// worker's thread, between its batches, while the stream goes on applying changes to the
// live views:
//
//   snapshot   a thread of its own reads a consistent snapshot of the source (token T)
//              and projects it; the slices write it into a shadow of the scope;
//   catch_up   once the live views are at C >= T, the slices replay the changes (T, C]
//              of the scope into the shadow, until it is at the live checkpoint;
//   swapping / comparing
//              in the same slice (no live batch in between), both sides' SLA states are
//              brought to one `now`, then a rebuild swaps the shadow in; a
//              reconciliation compares it with the live views one org per slice (the
//              shadow catching up again before each), per view, and swaps in the parts
//              that drifted when repair is on.
//
// So every change is in the result exactly once: in the snapshot (<= T), replayed into
// the shadow (T, C], or applied live after the swap (> C).
//
// Blue/green: on its first step, and again after RecheckVersions, the runner queues a
// kMigrate of every view whose newest definition is stored in no state
// (ViewStore::VersionsToBuild). A kMigrate's shadow is of the next version and is
// committed beside the live one; the kValidate it queues compares that version, now
// maintained with the live one, with a recompute. Instant operations (switch, rollback,
// dropping retired versions) run at the start of a step, beside a running operation
// (Operations refuses one that overlaps it).
//
// Step() belongs to the worker's thread (the views' one writer).
class OperationRunner {
 public:
  OperationRunner(Operations* operations, core::ChangeSource* source, core::SourceReader* snapshots,
                  core::ViewStore* store, const core::ViewSet* views,
                  const core::ProjectionOptions* projection, const Clock* clock, StreamProbe* probe,
                  OperationRunnerOptions options);
  ~OperationRunner();

  // Does one slice of the running operation, starting the next queued one if none runs;
  // `live` is the live views' checkpoint. Returns true while an operation is running.
  // An operation's failure fails that operation, not the stream.
  bool Step(core::ChangeToken live);

  // Fails the running operation (the worker is stopping, or re-based on a new snapshot).
  void Abort(const std::string& why);
  // Checks again, at the next step, for next versions to build (after the versions beside
  // the live ones were dropped).
  void RecheckVersions() { versions_checked_ = false; }

 private:
  struct Active;
  Status Begin();
  void SubmitVersionBuilds();
  void RunInstant();
  Status RunInstantOperation(Operation* op);
  // After a kMigrate: its validation; after a clean kValidate: marks and maybe switches.
  void FollowUp(const Operation& done);
  Status ValidationDone();
  Status SliceSnapshot(std::chrono::steady_clock::time_point until);
  Status SliceCatchUp(core::ChangeToken live, std::chrono::steady_clock::time_point until,
                      bool* caught_up);
  Status Finish();
  // Compares (and, with repair, swaps in) the next org of a reconciliation or refresh:
  // one org per slice, each at the token both sides are at in that slice.
  Status CompareNextOrg(Timestamp now, bool* all_compared);
  template <typename Target>
  Status TickSla(Target* target, Timestamp now);
  void Fail(const Status& why);
  void Publish();

  Operations* operations_;
  core::ChangeSource* source_;
  core::SourceReader* snapshots_;
  core::ViewStore* store_;
  const core::ViewSet* views_;
  const core::ProjectionOptions* projection_;
  const Clock* clock_;
  StreamProbe* probe_;
  OperationRunnerOptions options_;
  std::unique_ptr<Active> active_;
  bool versions_checked_ = false;
};

}  // namespace mv::worker
