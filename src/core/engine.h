#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/aggregate_sums.h"
#include "core/change_event.h"
#include "core/document_text.h"
#include "core/interfaces.h"
#include "core/shipment_row.h"
#include "core/tracking.h"
#include "core/view_batch.h"
#include "core/view_set.h"

namespace mv::core {

// State-based incremental view maintenance for one micro-batch (DESIGN.md section 3).
//
// For every touched shipment, `before` is the projection the store holds (read once, at
// first touch) and `after` is the projection of the newest document the batch has seen
// joined with the summary of the shipment's tracking events. Summaries are a join
// (idempotent, commutative), kept in the store whether or not the shipment exists, so an
// event that arrives before its shipment is applied when the shipment arrives. Finish()
// emits rows(after) - rows(before) for every view, summed per view key, with keys whose
// deltas cancel dropped. Because `before` comes from the store and not from the events,
// applying any event any number of times, or replaying from any earlier token, converges
// to the same views.
//
// Not thread-safe; build one per batch. Does no I/O except through `lookup`.
class BatchBuilder {
 public:
  BatchBuilder(const ViewSet& views, const ProjectionOptions& options, ProjectionLookup* lookup,
               Timestamp now);

  // Folds one change event into the batch. Returns an error only when `lookup` fails (the
  // batch must then be abandoned); a document that cannot be projected becomes a dead
  // letter and the batch goes on. Changes to customers and carriers change no view.
  Status Add(const ChangeEvent& event);
  // Re-evaluates a stored row at `now` (the SLA ticker feeds due rows through here).
  Status Reevaluate(const ShipmentRow& stored);
  // Replaces the tracking summary of `key` with the one `events` give (the shipment's
  // events as the source holds them now, after one of them was edited or deleted: a join
  // cannot retract). No events: the summary goes. A document that does not parse becomes
  // a dead letter at `token` and is left out.
  Status ReplaceTracking(const ShipmentKey& key, const std::vector<std::string>& events,
                         ChangeToken token);

  // The consolidated batch; `token` becomes its checkpoint when given. Leaves the builder
  // empty, ready for the next batch.
  ViewBatch Finish(std::optional<ChangeToken> token);

  size_t touched() const { return touched_.size(); }

 private:
  struct Touched {
    std::optional<ShipmentRow> before;
    // The newest source document the batch has seen (none: deleted); when no change in
    // the batch carried one, the document is the one `before` was projected from.
    std::optional<Shipment> doc;
    bool doc_changed = false;
    std::optional<TrackingSummary> tracking;
    bool tracking_loaded = false;
    bool tracking_changed = false;
  };
  // The entry for `key`, reading `before` from the store on first touch.
  Result<Touched*> Touch(const ShipmentKey& key);
  Status LoadTracking(const ShipmentKey& key, Touched* entry);
  Status AddShipmentChange(const ChangeEvent& event);
  Status AddTrackingEvent(const ChangeEvent& event);
  std::optional<ShipmentRow> After(const ShipmentKey& key, const Touched& entry) const;

  struct KeyHash {
    size_t operator()(const ShipmentKey& k) const {
      return std::hash<std::string>()(k.org) * 31 + std::hash<std::string>()(k.id);
    }
  };

  ProjectionOptions options_;
  ProjectionLookup* lookup_;
  Timestamp now_;
  std::unordered_map<ShipmentKey, Touched, KeyHash> touched_;
  std::vector<DeadLetter> dead_letters_;
  size_t events_ = 0;
  std::map<std::string, Timestamp> oldest_event_by_org_;
  AggregateSums sums_;  // filled by Finish
};

// Projects a shipment document given as JSON text, without tracking events.
Result<ShipmentRow> ProjectDocument(const std::string& org, const std::string& json_text,
                                    Timestamp now, const ProjectionOptions& options);

}  // namespace mv::core
