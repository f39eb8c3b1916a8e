#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/aggregate_view.h"
#include "core/change_event.h"
#include "core/exception_queue.h"
#include "core/shipment_row.h"
#include "core/tracking.h"

namespace mv::core {

struct ShipmentKey {
  std::string org;
  std::string id;
  auto operator<=>(const ShipmentKey&) const = default;
};

// A change event whose document could not be projected. Stored with its token so an
// operator can see what was skipped and why.
struct DeadLetter {
  ChangeToken token = 0;
  Collection collection = Collection::kShipments;
  std::string org;
  std::string document_id;
  std::string reason;
  std::string document;  // the offending document text, possibly empty
};

// A shipment's tracking summary, as mv_tracking_state stores it.
struct TrackingState {
  ShipmentKey key;
  TrackingSummary summary;
};

// An mv_exception_queue entry.
struct ExceptionQueueRow {
  ShipmentKey key;
  ExceptionEntry entry;
};

// One consolidated, atomic unit of view changes: what a ViewStore applies in one
// transaction together with `token`.
struct ViewBatch {
  std::vector<ShipmentRow> list_upserts;
  std::vector<ShipmentKey> list_deletes;
  std::vector<ExceptionQueueRow> exception_upserts;
  std::vector<ShipmentKey> exception_deletes;
  // Summaries that changed (tracking events are only ever added) ...
  std::vector<TrackingState> tracking_upserts;
  // ... and summaries dropped with their events (orphans past retention, never a row's).
  std::vector<ShipmentKey> tracking_deletes;
  // Per aggregate view name: the summed, non-zero deltas, one per key.
  std::map<std::string, std::vector<AggregateDelta>> aggregate_deltas;
  // The same for the previous definitions a ViewSet keeps (ViewSet::PreviousOf), for the
  // stored versions of them maintained beside the newest (blue/green).
  std::map<std::string, std::vector<AggregateDelta>> previous_version_deltas;
  std::vector<DeadLetter> dead_letters;
  // The new checkpoint; absent for batches not driven by the stream (SLA ticks).
  std::optional<ChangeToken> token;
  // Statistics for metrics: events consumed and, per org, the oldest event wall time.
  size_t events = 0;
  std::map<std::string, Timestamp> oldest_event_by_org;

  // About how many row writes applying the batch takes (each upsert, delete, aggregate
  // delta and dead letter), for stores that bound a transaction (ViewStore::MaxWritesPerBatch).
  size_t Writes() const {
    size_t n = list_upserts.size() + list_deletes.size() + exception_upserts.size() +
               exception_deletes.size() + tracking_upserts.size() + tracking_deletes.size() +
               dead_letters.size();
    for (const auto& [view, deltas] : aggregate_deltas) n += deltas.size();
    for (const auto& [view, deltas] : previous_version_deltas) n += deltas.size();
    return n;
  }

  bool HasViewChanges() const {
    return !list_upserts.empty() || !list_deletes.empty() || !exception_upserts.empty() ||
           !exception_deletes.empty() || !tracking_upserts.empty() || !tracking_deletes.empty() ||
           !aggregate_deltas.empty() || !previous_version_deltas.empty();
  }
};

}  // namespace mv::core
