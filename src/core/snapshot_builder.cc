#include "core/snapshot_builder.h"

#include <utility>

#include "core/document_text.h"
#include "core/exception_queue.h"

namespace mv::core {

SnapshotBuilder::SnapshotBuilder(const ViewSet& views, const ProjectionOptions& options,
                                 Timestamp now)
    : options_(options), now_(now), sums_(views) {}

Status SnapshotBuilder::Add(const SourceShipment& shipment) {
  ++pending_;
  Status first_error = Status::Ok();
  std::optional<TrackingSummary> tracking;
  for (const auto& text : shipment.events) {
    auto e = ParseTrackingEventText(text);
    if (!e.ok()) {
      if (first_error.ok()) first_error = e.status();
      continue;
    }
    if (!tracking) tracking.emplace();
    tracking->Merge(*e, options_.codes.Map(e->carrier_id, e->code));
  }
  if (shipment.json) {
    auto doc = ParseShipmentText(*shipment.json);
    if (doc.ok()) {
      ShipmentRow row =
          Project(shipment.org, *doc, tracking ? &*tracking : nullptr, now_, options_);
      sums_.Add(row, +1);
      if (auto queued = ExceptionEntryFor(row)) {
        rows_.exception_upserts.push_back({{shipment.org, shipment.id}, std::move(*queued)});
      }
      rows_.list_upserts.push_back(std::move(row));
    } else if (first_error.ok()) {
      first_error = doc.status();
    }
  }
  if (tracking)
    rows_.tracking_upserts.push_back({{shipment.org, shipment.id}, std::move(*tracking)});
  return first_error;
}

ViewBatch SnapshotBuilder::TakeRows() {
  pending_ = 0;
  return std::exchange(rows_, ViewBatch{});
}

ViewBatch SnapshotBuilder::TakeAggregates() {
  ViewBatch batch;
  batch.aggregate_deltas = sums_.Take(&batch.previous_version_deltas);
  return batch;
}

}  // namespace mv::core
