#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/change_event.h"
#include "core/shipment_row.h"
#include "core/tracking.h"
#include "core/view_batch.h"
#include "core/view_scope.h"

// The interfaces a backend implements (DESIGN.md section 2). The engine and the worker
// see only these; they never know which backend they run on.
namespace mv::core {

// An ordered, resumable stream of source changes. Thread-compatible: one reader at a time.
class ChangeSource {
 public:
  virtual ~ChangeSource() = default;
  // Up to `max_events` events with token > `after`, in token order. Waits up to `wait`
  // (without spinning) when none is available yet and then returns an empty vector. Once
  // there are events, lingers up to `linger` more while further changes keep arriving, so
  // that a burst comes back as one batch. HistoryLost when changes after `after` are no
  // longer retained.
  virtual Result<std::vector<ChangeEvent>> Read(ChangeToken after, size_t max_events, Millis wait,
                                                Millis linger = Millis(0)) = 0;
  // The token of the newest committed change (0 when there is none).
  virtual Result<ChangeToken> LatestToken() = 0;
  // After a Read that returned nothing: a position the source has scanned through with
  // no change for the views left before it (a MongoDB stream's postBatchResumeToken), so
  // that the checkpoint of an idle stream advances; 0 when there is none to report (the
  // embedded oplog's tokens move only with changes).
  virtual ChangeToken QuietThrough() { return 0; }
};

// A shipment as a snapshot sees it: its document (absent when only tracking events for it
// exist yet) and the documents of its tracking events, as JSON text.
struct SourceShipment {
  std::string org;
  std::string id;
  std::optional<std::string> json;
  std::vector<std::string> events;
};

// Consistent snapshot reads of the source, for rebuilds. Thread-safe.
class SourceReader {
 public:
  virtual ~SourceReader() = default;
  // Calls `fn` for every shipment id (of `org`, or of all orgs) that has a document or
  // tracking events, in (org, id) order and ONE consistent snapshot, and returns the
  // change token that snapshot reflects: replaying the stream from it converges. Stops at
  // the first error `fn` returns.
  virtual Result<ChangeToken> ScanShipments(
      const std::optional<std::string>& org,
      const std::function<Status(const SourceShipment&)>& fn) = 0;
  // About how many shipments (of `org`, or of all orgs) a scan would visit: for progress.
  virtual Result<std::int64_t> CountShipments(const std::optional<std::string>& org) = 0;
  // The documents of the tracking events of one shipment as the source holds them now
  // (JSON text): a tracking summary is derived from them again when one of them was edited
  // or deleted.
  virtual Result<std::vector<std::string>> TrackingEventsOf(const std::string& org,
                                                            const std::string& shipment_id) = 0;
};

// Point reads of the lookup collections (customers, carriers), for the lookup caches.
// Thread-safe.
class LookupReader {
 public:
  virtual ~LookupReader() = default;
  virtual Result<std::optional<Customer>> GetCustomer(const std::string& org,
                                                      const std::string& id) = 0;
  virtual Result<std::optional<Carrier>> GetCarrier(const std::string& org,
                                                    const std::string& id) = 0;
};

// Reads the stored state of a shipment: its projection (the `before` of every change)
// and the summary of its tracking events (kept even while the shipment does not exist).
class ProjectionLookup {
 public:
  virtual ~ProjectionLookup() = default;
  virtual Result<std::optional<ShipmentRow>> FindShipmentRow(const ShipmentKey& key) = 0;
  virtual Result<std::optional<TrackingSummary>> FindTrackingSummary(const ShipmentKey& key) = 0;
};

// A shadow copy of the views in a scope: filled from a snapshot, caught up with the
// changes that arrived meanwhile (its ProjectionLookup reads the shadow's own rows), then
// swapped in (a rebuild) or compared with the live views (reconciliation). Nothing is
// visible until Commit; an uncommitted shadow is dropped with this object. Used by the
// view store's one writer thread.
class ViewRebuild : public ProjectionLookup {
 public:
  ~ViewRebuild() override = default;
  // Adds snapshot rows and aggregate contributions (chunks may repeat aggregate keys;
  // they add up).
  virtual Status Write(const ViewBatch& chunk) = 0;
  // Applies a batch of caught-up changes to the shadow, as ViewStore::Apply does to the
  // live views; the batch's token and dead letters are ignored (the live views had them).
  virtual Status Apply(const ViewBatch& batch) = 0;
  // The shadow's rows whose SLA status is due to change at or before `now`.
  virtual Result<std::vector<ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) = 0;
  // The orgs that may have rows in the live views or the shadow.
  virtual Result<std::vector<std::string>> Orgs() = 0;
  // Compares the shadow's rows of `org` with the live ones, per view in scope.
  virtual Result<std::vector<ViewDrift>> Compare(const std::string& org) = 0;
  // Atomically replaces the live views of the whole scope with the shadow and sets the
  // checkpoint to `token`. A shadow of the next version (ViewScope::next_version) becomes
  // that version instead, built (kBuilding) and maintained from then on beside the live
  // one, which it replaces only on SwitchVersion; the checkpoint stays.
  virtual Status Commit(ChangeToken token) = 0;
  // Atomically replaces the rows of `part` (views and org within the scope) of the live
  // views with the shadow's; the checkpoint stays. May be called for several parts.
  virtual Status CommitPart(const ViewScope& part) = 0;
};

// Where the views, their checkpoint and the dead letters live. Used by one writer (the
// worker); readers use their own query interface.
class ViewStore : public ProjectionLookup {
 public:
  // The token of the last change whose effects are in the views (0 when none).
  virtual Result<ChangeToken> Checkpoint() = 0;
  // Applies `batch` and, if it has one, its token, in ONE transaction.
  virtual Status Apply(const ViewBatch& batch) = 0;
  // Rows whose SLA status is due to change at or before `now`, at most `limit`.
  virtual Result<std::vector<ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) = 0;
  // Starts a shadow of `scope` (see ViewRebuild).
  virtual Result<std::unique_ptr<ViewRebuild>> BeginRebuild(const ViewScope& scope) = 0;
  Result<std::unique_ptr<ViewRebuild>> BeginRebuild() { return BeginRebuild(ViewScope{}); }
  // True when the views were created empty (new, or an older definition was dropped) and
  // have applied nothing yet: a rebuild from a snapshot then beats replaying the stream.
  virtual bool RebuildRequired() { return false; }
  // The shipments whose stored row could not be read since the last call: the engine
  // took them for absent (re-deriving them from the source), so the aggregates of their
  // org may be off until it is rebuilt.
  virtual std::vector<ShipmentKey> TakeUnreadableRows() { return {}; }
  // The most writes (ViewBatch::Writes) one Apply should carry; 0: no bound. The worker
  // applies a larger batch of changes as several, each with its own token, split where
  // the token changes (a batch of changes sharing one token is applied whole).
  virtual size_t MaxWritesPerBatch() const { return 0; }

  // Blue/green versions (DESIGN.md section 6). A store that keeps one version per view
  // answers Unimplemented.
  //
  // Every stored version of every view, live, building and retired.
  virtual Result<std::vector<StoredVersion>> Versions() {
    return Status::Conflict("this view store keeps one version per view");
  }
  // Aggregate views whose newest definition is stored in no state while an older one is
  // live: their new version is to be built beside the live one.
  virtual std::vector<std::string> VersionsToBuild() { return {}; }
  // Records that the built next version of `view` equals a recompute from the source.
  virtual Status MarkValidated(const std::string& view) {
    return Status::Conflict("no versions: " + view);
  }
  // Atomically makes the built, validated next version of `view` live and the live one
  // retired (still maintained). Conflict when there is none.
  virtual Status SwitchVersion(const std::string& view) {
    return Status::Conflict("no versions: " + view);
  }
  // Atomically makes the most recently retired version of `view` live again and the live
  // one retired. Conflict when there is none.
  virtual Status RollbackVersion(const std::string& view) {
    return Status::Conflict("no versions: " + view);
  }
  // Drops the retired versions (of `view`, or of every view) retired at or before
  // `retired_before` (none: all of them); returns how many.
  virtual Result<int> DropRetired(const std::optional<std::string>& view,
                                  std::optional<Timestamp> retired_before) {
    (void)view;
    (void)retired_before;
    return 0;
  }
  // Drops every version beside the live ones (they missed changes: history was lost);
  // the next versions are then built again (VersionsToBuild).
  virtual Status DropSideVersions() { return Status::Ok(); }
};

}  // namespace mv::core
