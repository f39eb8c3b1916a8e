#pragma once

#include <map>
#include <optional>

#include "core/change_event.h"
#include "core/interfaces.h"
#include "core/shipment_row.h"
#include "core/view_batch.h"
#include "core/view_set.h"

namespace mv::core {

// State-based incremental view maintenance for one micro-batch (DESIGN.md section 3).
//
// For every touched shipment, `before` is the projection the store holds (read once, at
// first touch) and `after` is the projection of the newest document the batch has seen.
// Finish() emits rows(after) - rows(before) for every view, summed per view key, with keys
// whose deltas cancel dropped. Because `before` comes from the store and not from the
// events, applying any event any number of times, or replaying from any earlier token,
// converges to the same views.
//
// Not thread-safe; build one per batch. Does no I/O except through `lookup`.
class BatchBuilder {
 public:
  BatchBuilder(const ViewSet& views, const ProjectionOptions& options, ProjectionLookup* lookup,
               Timestamp now);

  // Folds one change event into the batch. Returns an error only when `lookup` fails (the
  // batch must then be abandoned); a document that cannot be projected becomes a dead
  // letter and the batch goes on.
  Status Add(const ChangeEvent& event);
  // Re-evaluates a stored row at `now` (the SLA ticker feeds due rows through here).
  Status Reevaluate(const ShipmentRow& stored);
  // Adds a snapshot document as if no projection were stored (rebuilds). Returns the
  // InvalidArgument of a document that cannot be projected.
  Status AddSnapshot(const SourceDocument& doc);

  // The consolidated batch; `token` becomes its checkpoint when given. Leaves the builder
  // empty, ready for the next batch.
  ViewBatch Finish(std::optional<ChangeToken> token);

  size_t touched() const { return touched_.size(); }

 private:
  struct Touched {
    std::optional<ShipmentRow> before;
    std::optional<ShipmentRow> after;
  };
  // The entry for `key`, reading `before` from the store on first touch.
  Result<Touched*> Touch(const ShipmentKey& key);
  void AddContributions(const ShipmentRow& row, int sign);

  const ViewSet& views_;
  ProjectionOptions options_;
  ProjectionLookup* lookup_;
  Timestamp now_;
  std::map<ShipmentKey, Touched> touched_;
  std::vector<DeadLetter> dead_letters_;
  size_t events_ = 0;
  std::map<std::string, Timestamp> oldest_event_by_org_;
  // view name -> key -> summed measures; filled by Finish.
  std::map<std::string, std::map<std::vector<std::string>, std::vector<std::int64_t>>> sums_;
};

// Projects a shipment document given as JSON text. InvalidArgument (with the reason) when
// the text is not a valid shipment.
Result<ShipmentRow> ProjectDocument(const std::string& org, const std::string& json_text,
                                    Timestamp now, const ProjectionOptions& options);

}  // namespace mv::core
