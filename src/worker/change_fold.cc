#include "worker/change_fold.h"

#include "core/document_text.h"

namespace mv::worker {

Status FoldChange(core::BatchBuilder& builder, core::SourceReader& source,
                  const core::ChangeEvent& event) {
  if (event.collection != core::Collection::kTrackingEvents ||
      event.op == core::Operation::kInsert || event.source_error) {
    return builder.Add(event);
  }
  const std::optional<std::string>& doc =
      event.full_document ? event.full_document : event.before_document;
  if (!doc) return builder.Add(event);
  auto parsed = core::ParseTrackingEventText(*doc);
  if (!parsed.ok()) return builder.Add(event);  // the engine makes it a dead letter
  const core::ShipmentKey key{event.org, parsed->shipment_id};
  MV_ASSIGN_OR_RETURN(std::vector<std::string> events, source.TrackingEventsOf(key.org, key.id));
  return builder.ReplaceTracking(key, events, event.token);
}

}  // namespace mv::worker
