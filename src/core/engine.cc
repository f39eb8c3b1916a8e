#include "core/engine.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>

#include "core/exception_queue.h"

namespace mv::core {

Result<ShipmentRow> ProjectDocument(const std::string& org, const std::string& json_text,
                                    Timestamp now, const ProjectionOptions& options) {
  MV_ASSIGN_OR_RETURN(Shipment shipment, ParseShipmentText(json_text));
  return Project(org, shipment, now, options);
}

BatchBuilder::BatchBuilder(const ViewSet& views, const ProjectionOptions& options,
                           ProjectionLookup* lookup, Timestamp now)
    : options_(options), lookup_(lookup), now_(now), sums_(views) {}

Result<BatchBuilder::Touched*> BatchBuilder::Touch(const ShipmentKey& key) {
  auto it = touched_.find(key);
  if (it != touched_.end()) return &it->second;
  Touched entry;
  if (lookup_ != nullptr) {
    MV_ASSIGN_OR_RETURN(entry.before, lookup_->FindShipmentRow(key));
  }
  return &touched_.emplace(key, std::move(entry)).first->second;
}

Status BatchBuilder::LoadTracking(const ShipmentKey& key, Touched* entry) {
  if (entry->tracking_loaded) return Status::Ok();
  if (lookup_ != nullptr) {
    MV_ASSIGN_OR_RETURN(entry->tracking, lookup_->FindTrackingSummary(key));
  }
  entry->tracking_loaded = true;
  return Status::Ok();
}

Status BatchBuilder::Add(const ChangeEvent& event) {
  ++events_;
  if (event.source_error) {
    dead_letters_.push_back({event.token, event.collection, event.org, event.document_id,
                             *event.source_error, event.full_document.value_or("")});
    return Status::Ok();
  }
  auto [it, inserted] = oldest_event_by_org_.emplace(event.org, event.wall_time);
  if (!inserted && event.wall_time < it->second) it->second = event.wall_time;
  switch (event.collection) {
    case Collection::kShipments:
      return AddShipmentChange(event);
    case Collection::kTrackingEvents:
      return AddTrackingEvent(event);
    case Collection::kCustomers:
    case Collection::kCarriers:
      return Status::Ok();
  }
  return Status::Ok();
}

Status BatchBuilder::AddShipmentChange(const ChangeEvent& event) {
  ShipmentKey key{event.org, event.document_id};
  std::optional<Shipment> doc;
  if (event.op != Operation::kDelete && event.full_document) {
    auto parsed = ParseShipmentText(*event.full_document);
    if (!parsed.ok()) {
      dead_letters_.push_back({event.token, event.collection, event.org, event.document_id,
                               parsed.status().message(), *event.full_document});
      return Status::Ok();
    }
    if (parsed->id != event.document_id) {
      dead_letters_.push_back({event.token, event.collection, event.org, event.document_id,
                               "document id does not match the change's document id",
                               *event.full_document});
      return Status::Ok();
    }
    doc = std::move(parsed).value();
  }
  // A delete, or an update whose post-image is gone (deleted since): no row.
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch(key));
  if (doc) MV_RETURN_IF_ERROR(LoadTracking(key, entry));
  entry->doc = std::move(doc);
  entry->doc_changed = true;
  return Status::Ok();
}

// Tracking events fold into the summary as a join. An edit or a delete of one cannot be
// retracted from it: the worker derives the summary again from the source's events of
// that shipment (ReplaceTracking); here they are ignored.
Status BatchBuilder::AddTrackingEvent(const ChangeEvent& event) {
  if (event.op == Operation::kDelete || !event.full_document) return Status::Ok();
  auto parsed = ParseTrackingEventText(*event.full_document);
  if (!parsed.ok()) {
    dead_letters_.push_back({event.token, event.collection, event.org, event.document_id,
                             parsed.status().message(), *event.full_document});
    return Status::Ok();
  }
  const TrackingEvent& e = *parsed;
  ShipmentKey key{event.org, e.shipment_id};
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch(key));
  MV_RETURN_IF_ERROR(LoadTracking(key, entry));
  if (!entry->tracking) entry->tracking.emplace();
  if (entry->tracking->Merge(e, options_.codes.Map(e.carrier_id, e.code))) {
    entry->tracking_changed = true;
  }
  return Status::Ok();
}

Status BatchBuilder::ReplaceTracking(const ShipmentKey& key, const std::vector<std::string>& events,
                                     ChangeToken token) {
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch(key));
  MV_RETURN_IF_ERROR(LoadTracking(key, entry));
  std::optional<TrackingSummary> summary;
  for (const std::string& text : events) {
    auto parsed = ParseTrackingEventText(text);
    if (!parsed.ok()) {
      dead_letters_.push_back(
          {token, Collection::kTrackingEvents, key.org, key.id, parsed.status().message(), text});
      continue;
    }
    if (!summary) summary.emplace();
    summary->Merge(*parsed, options_.codes.Map(parsed->carrier_id, parsed->code));
  }
  entry->tracking = std::move(summary);
  entry->tracking_changed = true;
  return Status::Ok();
}

Status BatchBuilder::Reevaluate(const ShipmentRow& stored) {
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch({stored.org, stored.shipment.id}));
  (void)entry;  // Finish re-evaluates every touched row at `now`
  return Status::Ok();
}

std::optional<ShipmentRow> BatchBuilder::After(const ShipmentKey& key, const Touched& entry) const {
  const TrackingSummary* tracking = entry.tracking ? &*entry.tracking : nullptr;
  if (entry.doc_changed) {
    if (!entry.doc) return std::nullopt;
    return Project(key.org, *entry.doc, tracking, now_, options_);
  }
  if (!entry.before) return std::nullopt;
  // Only the clock moved.
  if (!entry.tracking_changed) return core::Reevaluate(*entry.before, now_, options_);
  return Project(key.org, DocumentOf(*entry.before), tracking, now_, options_);
}

ViewBatch BatchBuilder::Finish(std::optional<ChangeToken> token) {
  ViewBatch batch;
  // In key order, so that the store writes each table in its key's order.
  std::vector<std::pair<const ShipmentKey*, Touched*>> order;
  order.reserve(touched_.size());
  for (auto& [key, entry] : touched_) order.emplace_back(&key, &entry);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (auto [key_ptr, entry_ptr] : order) {
    const ShipmentKey& key = *key_ptr;
    Touched& entry = *entry_ptr;
    if (entry.tracking_changed) {
      if (entry.tracking) {
        batch.tracking_upserts.push_back({key, *entry.tracking});
      } else {
        batch.tracking_deletes.push_back(key);  // re-derived from no events
      }
    }
    std::optional<ShipmentRow> after = After(key, entry);
    if (entry.before == after) continue;  // no net change for this shipment
    if (after) {
      sums_.Add(*after, +1);
    } else {
      batch.list_deletes.push_back(key);
    }
    if (entry.before) sums_.Add(*entry.before, -1);
    auto queued_before = entry.before ? ExceptionEntryFor(*entry.before) : std::nullopt;
    auto queued_after = after ? ExceptionEntryFor(*after) : std::nullopt;
    if (queued_before != queued_after) {
      if (queued_after) {
        batch.exception_upserts.push_back({key, *queued_after});
      } else {
        batch.exception_deletes.push_back(key);
      }
    }
    if (after) batch.list_upserts.push_back(std::move(*after));
  }
  batch.aggregate_deltas = sums_.Take(&batch.previous_version_deltas);
  batch.dead_letters = std::move(dead_letters_);
  batch.token = token;
  batch.events = events_;
  batch.oldest_event_by_org = std::move(oldest_event_by_org_);
  touched_.clear();
  dead_letters_.clear();
  oldest_event_by_org_.clear();
  events_ = 0;
  return batch;
}

}  // namespace mv::core
