#include "core/engine.h"

#include <nlohmann/json.hpp>

namespace mv::core {

Result<ShipmentRow> ProjectDocument(const std::string& org, const std::string& json_text,
                                    Timestamp now, const ProjectionOptions& options) {
  auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("document is not valid JSON");
  MV_ASSIGN_OR_RETURN(Shipment shipment, ParseShipment(doc));
  return Project(org, shipment, now, options);
}

BatchBuilder::BatchBuilder(const ViewSet& views, const ProjectionOptions& options,
                           ProjectionLookup* lookup, Timestamp now)
    : views_(views), options_(options), lookup_(lookup), now_(now) {}

Result<BatchBuilder::Touched*> BatchBuilder::Touch(const ShipmentKey& key) {
  auto it = touched_.find(key);
  if (it != touched_.end()) return &it->second;
  Touched entry;
  if (lookup_ != nullptr) {
    MV_ASSIGN_OR_RETURN(entry.before, lookup_->FindShipmentRow(key));
  }
  entry.after = entry.before;
  return &touched_.emplace(key, std::move(entry)).first->second;
}

Status BatchBuilder::Add(const ChangeEvent& event) {
  ++events_;
  auto [it, inserted] = oldest_event_by_org_.emplace(event.org, event.wall_time);
  if (!inserted && event.wall_time < it->second) it->second = event.wall_time;
  if (event.collection != Collection::kShipments) return Status::Ok();

  ShipmentKey key{event.org, event.document_id};
  std::optional<ShipmentRow> after;
  if (event.op != Operation::kDelete && event.full_document) {
    auto projected = ProjectDocument(event.org, *event.full_document, now_, options_);
    if (!projected.ok()) {
      dead_letters_.push_back({event.token, event.collection, event.org, event.document_id,
                               projected.status().message(), *event.full_document});
      return Status::Ok();
    }
    if (projected->shipment.id != event.document_id) {
      dead_letters_.push_back({event.token, event.collection, event.org, event.document_id,
                               "document id does not match the change's document id",
                               *event.full_document});
      return Status::Ok();
    }
    after = std::move(projected).value();
  }
  // A delete, or an update whose post-image is gone (deleted since): no row.
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch(key));
  entry->after = std::move(after);
  return Status::Ok();
}

Status BatchBuilder::Reevaluate(const ShipmentRow& stored) {
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch({stored.org, stored.shipment.id}));
  if (entry->after) entry->after = core::Reevaluate(*entry->after, now_, options_);
  return Status::Ok();
}

Status BatchBuilder::AddSnapshot(const SourceDocument& doc) {
  MV_ASSIGN_OR_RETURN(ShipmentRow row, ProjectDocument(doc.org, doc.json, now_, options_));
  Touched& entry = touched_[{doc.org, doc.id}];
  entry.before.reset();
  entry.after = std::move(row);
  return Status::Ok();
}

void BatchBuilder::AddContributions(const ShipmentRow& row, int sign) {
  std::vector<AggregateDelta> deltas;
  for (const auto& view : views_.aggregates()) {
    deltas.clear();
    view->Contribute(row, &deltas);
    auto& sums = sums_[view->spec().name];
    for (auto& d : deltas) {
      auto& total = sums[d.key];
      if (total.empty()) total.assign(d.measures.size(), 0);
      for (size_t i = 0; i < d.measures.size(); ++i) total[i] += sign * d.measures[i];
    }
  }
}

ViewBatch BatchBuilder::Finish(std::optional<ChangeToken> token) {
  ViewBatch batch;
  sums_.clear();
  for (auto& [key, entry] : touched_) {
    if (entry.before == entry.after) continue;  // no net change for this shipment
    if (entry.after) {
      batch.list_upserts.push_back(*entry.after);
      AddContributions(*entry.after, +1);
    } else {
      batch.list_deletes.push_back(key);
    }
    if (entry.before) AddContributions(*entry.before, -1);
  }
  for (auto& [view, sums] : sums_) {
    std::vector<AggregateDelta> deltas;
    for (auto& [key, measures] : sums) {
      AggregateDelta d{key, std::move(measures)};
      if (!d.IsZero()) deltas.push_back(std::move(d));
    }
    if (!deltas.empty()) batch.aggregate_deltas[view] = std::move(deltas);
  }
  batch.dead_letters = std::move(dead_letters_);
  batch.token = token;
  batch.events = events_;
  batch.oldest_event_by_org = std::move(oldest_event_by_org_);
  touched_.clear();
  sums_.clear();
  dead_letters_.clear();
  oldest_event_by_org_.clear();
  events_ = 0;
  return batch;
}

}  // namespace mv::core
