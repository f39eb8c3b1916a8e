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
    : views_(views), options_(options), lookup_(lookup), now_(now) {}

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

// Tracking events are facts that are only ever added: a delete or an edit of one cannot
// be retracted from the summary and is ignored (a rebuild reflects it).
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

Status BatchBuilder::Reevaluate(const ShipmentRow& stored) {
  MV_ASSIGN_OR_RETURN(Touched * entry, Touch({stored.org, stored.shipment.id}));
  (void)entry;  // Finish re-evaluates every touched row at `now`
  return Status::Ok();
}

Status BatchBuilder::AddSnapshot(const SourceShipment& shipment) {
  ShipmentKey key{shipment.org, shipment.id};
  Touched& entry = touched_[key];
  entry = Touched{};
  entry.tracking_loaded = true;
  Status first_error = Status::Ok();
  for (const auto& text : shipment.events) {
    auto e = ParseTrackingEventText(text);
    if (!e.ok()) {
      if (first_error.ok()) first_error = e.status();
      continue;
    }
    if (!entry.tracking) entry.tracking.emplace();
    entry.tracking->Merge(*e, options_.codes.Map(e->carrier_id, e->code));
    entry.tracking_changed = true;
  }
  if (shipment.json) {
    auto doc = ParseShipmentText(*shipment.json);
    if (doc.ok()) {
      entry.doc = std::move(doc).value();
      entry.doc_changed = true;
    } else if (first_error.ok()) {
      first_error = doc.status();
    }
  }
  return first_error;
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

namespace {

// An unambiguous encoding of an aggregate key: each part's length, then its bytes.
void KeyBytes(std::span<const std::string_view> key, std::string* out) {
  out->clear();
  for (std::string_view part : key) {
    size_t n = part.size();
    do {
      out->push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
      n >>= 7;
    } while (n > 0);
    out->append(part);
  }
}

}  // namespace

// Sums one view's contributions into the batch, found by the key's encoding: a key's
// delta is allocated once per batch, its measures added in place.
class BatchBuilder::Summer final : public ContributionSink {
 public:
  Summer(ViewSums* sums, const AggregateViewSpec& spec, int sign, std::string* key_buffer)
      : sums_(sums), spec_(spec), sign_(sign), key_(key_buffer) {}

  void Add(std::span<const std::string_view> key, std::span<const MeasureValue> measures,
           std::span<const std::int64_t> maxima) override {
    KeyBytes(key, key_);
    auto [slot, added] = sums_->index.try_emplace(*key_, sums_->deltas.size());
    if (added) {
      AggregateDelta& fresh = sums_->deltas.emplace_back();
      fresh.key.assign(key.begin(), key.end());
      fresh.measures.assign(spec_.measure_columns.size(), 0);
      fresh.max_added.resize(spec_.max_measures.size());
      fresh.max_retracted.resize(spec_.max_measures.size());
    }
    AggregateDelta& total = sums_->deltas[slot->second];
    for (auto [i, v] : measures) total.measures[i] += sign_ * v;
    auto& extreme = sign_ > 0 ? total.max_added : total.max_retracted;
    for (size_t i = 0; i < maxima.size() && i < extreme.size(); ++i) {
      if (!extreme[i] || *extreme[i] < maxima[i]) extreme[i] = maxima[i];
    }
  }

 private:
  ViewSums* sums_;
  const AggregateViewSpec& spec_;
  int sign_;
  std::string* key_;
};

void BatchBuilder::AddContributions(const ShipmentRow& row, int sign) {
  const auto& aggregates = views_.aggregates();
  if (sums_.size() != aggregates.size()) sums_.resize(aggregates.size());
  for (size_t v = 0; v < aggregates.size(); ++v) {
    Summer summer(&sums_[v], aggregates[v]->spec(), sign, &key_buffer_);
    aggregates[v]->Contribute(row, summer);
  }
}

ViewBatch BatchBuilder::Finish(std::optional<ChangeToken> token) {
  ViewBatch batch;
  sums_.clear();
  // In key order, so that the store writes each table in its key's order.
  std::vector<std::pair<const ShipmentKey*, Touched*>> order;
  order.reserve(touched_.size());
  for (auto& [key, entry] : touched_) order.emplace_back(&key, &entry);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (auto [key_ptr, entry_ptr] : order) {
    const ShipmentKey& key = *key_ptr;
    Touched& entry = *entry_ptr;
    if (entry.tracking_changed) batch.tracking_upserts.push_back({key, *entry.tracking});
    std::optional<ShipmentRow> after = After(key, entry);
    if (entry.before == after) continue;  // no net change for this shipment
    if (after) {
      AddContributions(*after, +1);
    } else {
      batch.list_deletes.push_back(key);
    }
    if (entry.before) AddContributions(*entry.before, -1);
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
  for (size_t v = 0; v < sums_.size(); ++v) {
    auto& sums = sums_[v].deltas;
    std::sort(sums.begin(), sums.end(),
              [](const AggregateDelta& a, const AggregateDelta& b) { return a.key < b.key; });
    std::vector<AggregateDelta> deltas;
    for (auto& sum : sums) {
      if (!sum.IsZero()) deltas.push_back(std::move(sum));
    }
    if (!deltas.empty())
      batch.aggregate_deltas[views_.aggregates()[v]->spec().name] = std::move(deltas);
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
