#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "core/change_event.h"
#include "core/domain.h"
#include "core/tracking.h"
#include "core/view_batch.h"

// What the HTTP API and the process's jobs ask of the source, whatever backend it is.
namespace mv::api {

// The source behind viya-mv's own write API (the embedded backend; in MongoDB mode the
// platform writes to its database itself and there is none). Concurrent writes may share
// a commit; each is all or nothing. `done` is called on a store thread once the write
// committed or failed, and must be quick (hand the answer to another thread).
// Thread-safe.
class SourceWriter {
 public:
  virtual ~SourceWriter() = default;

  using TokenDone = std::function<void(Result<core::ChangeToken>)>;
  // Upserts shipments of `org`; the token of the last change written. Each document's
  // statusChangedAt follows core::StatusChangedAt.
  virtual void UpsertShipmentsAsync(std::string org, std::vector<core::Shipment> shipments,
                                    TokenDone done) = 0;
  // NotFound when the shipment does not exist.
  virtual void DeleteShipmentAsync(std::string org, std::string id, TokenDone done) = 0;
  // The outcome of a tracking-event write.
  struct TrackingWrite {
    core::ChangeToken token = 0;  // of the last change written; the latest token when
                                  // every event was a duplicate
    std::int64_t inserted = 0;
    std::int64_t duplicates = 0;  // already stored (same org, carrierId, eventId), or
                                  // repeated within `events`; ignored, first one wins
  };
  // Stores tracking events of `org`, one change per new event. Events for shipments that
  // do not exist (yet) are stored all the same.
  virtual void InsertTrackingEventsAsync(std::string org, std::vector<core::TrackingEvent> events,
                                         std::function<void(Result<TrackingWrite>)> done) = 0;
  virtual void PutCustomerAsync(std::string org, const core::Customer& customer,
                                TokenDone done) = 0;
  virtual void PutCarrierAsync(std::string org, const core::Carrier& carrier, TokenDone done) = 0;
  // Appends a change carrying the document's current state (a replace, or a delete when it
  // is gone) without changing it, so the stream applies it again: the retry of a dead
  // letter. A tracking event's id is "carrierId/eventId". Returns the change's token.
  virtual Result<core::ChangeToken> Reemit(core::Collection collection, const std::string& org,
                                           const std::string& id) = 0;

  // Totals of this process, for metrics.
  struct Counters {
    std::int64_t writes = 0;
    std::int64_t transactions = 0;        // commits shared by those writes
    std::int64_t duplicate_tracking = 0;  // tracking events ignored as duplicates
  };
  virtual Counters counters() const = 0;
};

// How far the source has got, for lag, staleness and the bound of `minToken`.
// Thread-safe.
class SourceProgress {
 public:
  virtual ~SourceProgress() = default;
  // The token of the newest change the source committed that this process knows of, and
  // a way to wait for a newer one.
  virtual const Watermark& committed() const = 0;
  // Brings committed() up to what the source holds now, including the writes of other
  // processes (the embedded store's api replicas); before a report of the lag.
  virtual void Refresh() {}
  // Per org, the wall time of the oldest change after `after` (empty where the source
  // cannot tell without reading ahead).
  virtual Result<std::map<std::string, Timestamp>> OldestChangeByOrgAfter(
      core::ChangeToken after) = 0;
  // How many changes are after `applied`; nullopt where tokens do not count changes
  // (MongoDB's cluster times).
  virtual std::optional<std::int64_t> ChangesAfter(core::ChangeToken applied) const {
    return std::max<std::int64_t>(0, committed().Get() - applied);
  }
  // How many seconds of source time lie between `applied` and committed(), where tokens
  // tell it (MongoDB's cluster times); nullopt elsewhere (the staleness of the oldest
  // change not applied says it instead).
  virtual std::optional<double> SecondsBehind(core::ChangeToken applied) const {
    (void)applied;
    return std::nullopt;
  }
  // Whether committed() bounds every token a client can hold, so that a `minToken` past
  // it is a mistake (the embedded source, which hands the tokens out). A MongoDB client's
  // operationTime may be newer than what this process has seen yet: it is waited for.
  virtual bool BoundsClientTokens() const { return true; }
};

// Housekeeping of a source this process owns (the embedded source's oplog and the
// tracking events of shipments that never arrived), run as scheduled jobs.
// Thread-safe.
class SourceMaintenance {
 public:
  virtual ~SourceMaintenance() = default;
  // Deletes oplog entries older than the retention window; how many went.
  virtual Result<std::int64_t> PruneOplog() = 0;
  // Deletes the tracking events of at most `limit` shipments that do not exist and whose
  // newest event occurred before `cutoff`, in one transaction; returns those shipments'
  // keys, in key order. No change is written: the caller drops their summaries from the
  // views (ViewBatch::tracking_deletes).
  virtual Result<std::vector<core::ShipmentKey>> PurgeOrphanTracking(Timestamp cutoff,
                                                                     size_t limit) = 0;
};

}  // namespace mv::api
