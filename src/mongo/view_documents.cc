#include "mongo/view_documents.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "base/time.h"
#include "core/carrier_performance_view.h"
#include "core/partition.h"
#include "core/row_codec.h"
#include "core/tracking.h"
#include "core/view_set.h"
#include "mongo/extended_json.h"

namespace mv::mongo {
namespace {

bool ParseInt64(const std::string& text, std::int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool EndsWithAt(const std::string& key) {
  return key.size() > 2 && key.compare(key.size() - 2, 2, "At") == 0;
}

// Timestamps as the API writes them (RFC 3339 text in fields named "...At") made dates.
Document WithDates(const nlohmann::json& v) {
  if (v.is_object()) {
    Document out = Document::object();
    for (const auto& [key, item] : v.items()) {
      if (EndsWithAt(key) && item.is_string()) {
        if (auto t = ParseRfc3339(item.get<std::string>())) {
          out[key] = DateValue(*t);
          continue;
        }
      }
      out[key] = WithDates(item);
    }
    return out;
  }
  if (v.is_array()) {
    Document out = Document::array();
    for (const auto& item : v) out.push_back(WithDates(item));
    return out;
  }
  return Document(v);
}

// A stored document as the plain JSON core's parsers read (dates as RFC 3339 text).
nlohmann::json Plain(const Document& doc) { return PlainJson(nlohmann::json(doc)); }

Result<std::string> StringField(const Document& doc, const char* field) {
  auto it = doc.find(field);
  if (it == doc.end() || !it->is_string()) {
    return Status::Corruption(fmt::format("stored document without text field {}", field));
  }
  return it->get<std::string>();
}

}  // namespace

std::string FieldOf(const std::string& column) {
  if (column == "org") return "organizationId";
  std::string out;
  out.reserve(column.size());
  bool upper = false;
  for (size_t i = 0; i < column.size(); ++i) {
    char c = column[i];
    if (c == '_' && i > 0) {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

Document DateValue(Timestamp t) {
  return {{"$date", {{"$numberLong", std::to_string(ToMillis(t))}}}};
}

Document Int64Value(std::int64_t n) { return {{"$numberLong", std::to_string(n)}}; }

Result<Timestamp> ReadDate(const Document& v) {
  if (v.is_object() && v.size() == 1 && v.contains("$date")) {
    const Document& inner = v["$date"];
    if (inner.is_string()) {
      if (auto t = ParseRfc3339(inner.get<std::string>())) return *t;
    } else {
      auto ms = ReadInt64(inner);
      if (ms.ok()) return FromMillis(*ms);
    }
  }
  return Status::Corruption("not a date: " + v.dump());
}

Result<std::int64_t> ReadInt64(const Document& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    auto n = static_cast<std::int64_t>(d);
    if (static_cast<double>(n) == d) return n;
  }
  if (v.is_object() && v.size() == 1) {
    const std::string& key = v.begin().key();
    const Document& text = v.begin().value();
    std::int64_t n = 0;
    if ((key == "$numberLong" || key == "$numberInt") && text.is_string() &&
        ParseInt64(text.get<std::string>(), &n)) {
      return n;
    }
  }
  return Status::Corruption("not an integer: " + v.dump());
}

Document ShipmentId(const core::ShipmentKey& key) {
  return {{"organizationId", key.org}, {"shipmentId", key.id}};
}

Result<core::ShipmentKey> ShipmentKeyOf(const Document& doc) {
  auto id = doc.find("_id");
  if (id == doc.end() || !id->is_object()) return Status::Corruption("stored document without _id");
  MV_ASSIGN_OR_RETURN(std::string org, StringField(*id, "organizationId"));
  MV_ASSIGN_OR_RETURN(std::string shipment, StringField(*id, "shipmentId"));
  return core::ShipmentKey{std::move(org), std::move(shipment)};
}

std::string ReferenceKey(const std::string& reference) {
  std::string out = reference;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Document ListDocument(const core::ShipmentRow& row) {
  Document doc = {{"_id", ShipmentId({row.org, row.shipment.id})}, {"organizationId", row.org}};
  Document body = WithDates(core::RowToJson(row));
  for (auto& [key, value] : body.items()) doc[key] = std::move(value);
  doc["_referenceKey"] = ReferenceKey(row.shipment.reference);
  doc["_orgHash"] = Int64Value(core::Partition::HashOf(row.org));
  return doc;
}

Result<core::ShipmentRow> ListRowOf(const Document& doc) {
  MV_ASSIGN_OR_RETURN(core::ShipmentKey key, ShipmentKeyOf(doc));
  return core::RowFromJson(key.org, Plain(doc));
}

Document ExceptionDocument(const core::ExceptionQueueRow& row) {
  const core::ExceptionEntry& e = row.entry;
  Document doc = {
      {"_id", ShipmentId(row.key)},
      {"organizationId", row.key.org},
      {"id", row.key.id},
      {"urgency", e.urgency()},
      {"reason", std::string(core::ToString(e.reason))},
      {"promisedSort",
       Int64Value(e.promised_delivery_at ? ToMillis(*e.promised_delivery_at) : kNoPromiseSort)},
      {"promisedDeliveryAt", nullptr},
      {"statusChangedAt", DateValue(e.status_changed_at)},
      {"_schemaVersion", core::kExceptionQueueVersion}};
  if (e.promised_delivery_at) doc["promisedDeliveryAt"] = DateValue(*e.promised_delivery_at);
  return doc;
}

Result<core::ExceptionQueueRow> ExceptionRowOf(const Document& doc) {
  core::ExceptionQueueRow row;
  MV_ASSIGN_OR_RETURN(row.key, ShipmentKeyOf(doc));
  auto urgency = doc.find("urgency");
  if (urgency == doc.end()) return Status::Corruption("exception entry without urgency");
  MV_ASSIGN_OR_RETURN(std::int64_t u, ReadInt64(*urgency));
  if (u < 1 || u > 3) return Status::Corruption("exception entry with urgency " + urgency->dump());
  row.entry.reason = static_cast<core::ExceptionReason>(u);
  auto promised = doc.find("promisedDeliveryAt");
  if (promised != doc.end() && !promised->is_null()) {
    MV_ASSIGN_OR_RETURN(Timestamp t, ReadDate(*promised));
    row.entry.promised_delivery_at = t;
  }
  auto changed = doc.find("statusChangedAt");
  if (changed == doc.end()) return Status::Corruption("exception entry without statusChangedAt");
  MV_ASSIGN_OR_RETURN(row.entry.status_changed_at, ReadDate(*changed));
  return row;
}

Document TrackingDocument(const core::TrackingState& state) {
  return {{"_id", ShipmentId(state.key)},
          {"organizationId", state.key.org},
          {"summary", Document(core::TrackingSummaryToJson(state.summary))},
          {"_schemaVersion", core::ViewSet::kTrackingStateVersion}};
}

Result<core::TrackingState> TrackingStateOf(const Document& doc) {
  core::TrackingState state;
  MV_ASSIGN_OR_RETURN(state.key, ShipmentKeyOf(doc));
  auto summary = doc.find("summary");
  if (summary == doc.end()) return Status::Corruption("tracking state without summary");
  MV_ASSIGN_OR_RETURN(state.summary, core::TrackingSummaryFromJson(Plain(*summary)));
  return state;
}

Document AggregateId(const core::AggregateViewSpec& spec, const std::vector<std::string>& key) {
  Document id = Document::object();
  for (size_t i = 0; i < spec.key_columns.size() && i < key.size(); ++i) {
    id[FieldOf(spec.key_columns[i])] = key[i];
  }
  return id;
}

Document AggregateUpdate(const core::AggregateViewSpec& spec, const core::AggregateDelta& delta) {
  Document inc = Document::object();
  for (size_t i = 0; i < spec.measure_columns.size() && i < delta.measures.size(); ++i) {
    if (delta.measures[i] != 0)
      inc[FieldOf(spec.measure_columns[i])] = Int64Value(delta.measures[i]);
  }
  Document max = Document::object();
  for (size_t j = 0; j < spec.max_measures.size() && j < delta.max_added.size(); ++j) {
    // Re-adding exactly what was retracted leaves the maximum as it is.
    const auto& added = delta.max_added[j];
    if (added && added != delta.max_retracted[j]) {
      max[FieldOf(spec.max_measures[j].column)] = DateValue(FromMillis(*added));
    }
  }
  if (inc.empty() && max.empty()) return nullptr;
  Document on_insert = Document::object();
  for (size_t i = 0; i < spec.key_columns.size() && i < delta.key.size(); ++i) {
    on_insert[FieldOf(spec.key_columns[i])] = delta.key[i];
  }
  // Every measure exists from the start (a zero the delta leaves alone too), so that
  // filters and sorts on it see 0, not a missing field.
  for (size_t i = 0; i < spec.measure_columns.size() && i < delta.measures.size(); ++i) {
    if (delta.measures[i] == 0) on_insert[FieldOf(spec.measure_columns[i])] = Int64Value(0);
  }
  Document derived = DerivedFields(spec, delta.key);
  for (auto& [field, value] : derived.items()) on_insert[field] = value;
  on_insert["_schemaVersion"] = spec.version;
  Document update = {{"$setOnInsert", std::move(on_insert)}};
  if (!inc.empty()) update["$inc"] = std::move(inc);
  if (!max.empty()) update["$max"] = std::move(max);
  return update;
}

Document DerivedFields(const core::AggregateViewSpec& spec, const std::vector<std::string>& key) {
  Document out = Document::object();
  if (spec.name != core::ViewSet::kDailyMetrics) return out;
  for (size_t i = 0; i < spec.key_columns.size() && i < key.size(); ++i) {
    if (spec.key_columns[i] != "day") continue;
    if (auto day = ParseRfc3339(key[i] + "T00:00:00Z")) {
      out["isoWeek"] = core::IsoWeek(*day);
      out["month"] = key[i].substr(0, 7);
    }
  }
  return out;
}

Result<AggregateValues> AggregateValuesOf(const core::AggregateViewSpec& spec,
                                          const Document& doc) {
  AggregateValues out;
  auto id = doc.find("_id");
  if (id == doc.end() || !id->is_object()) {
    return Status::Corruption(spec.name + ": stored row without _id");
  }
  for (const auto& column : spec.key_columns) {
    MV_ASSIGN_OR_RETURN(std::string value, StringField(*id, FieldOf(column).c_str()));
    out.key.push_back(std::move(value));
  }
  for (const auto& column : spec.measure_columns) {
    auto it = doc.find(FieldOf(column));
    std::int64_t v = 0;
    if (it != doc.end() && !it->is_null()) {
      MV_ASSIGN_OR_RETURN(v, ReadInt64(*it));
    }
    out.measures.push_back(v);
  }
  for (const auto& m : spec.max_measures) {
    auto it = doc.find(FieldOf(m.column));
    std::optional<std::int64_t> v;
    if (it != doc.end() && !it->is_null()) {
      MV_ASSIGN_OR_RETURN(Timestamp t, ReadDate(*it));
      v = ToMillis(t);
    }
    out.maxima.push_back(v);
  }
  auto version = doc.find("_schemaVersion");
  if (version != doc.end()) {
    MV_ASSIGN_OR_RETURN(std::int64_t v, ReadInt64(*version));
    out.schema_version = static_cast<int>(v);
  }
  return out;
}

Result<std::string> CanonicalContent(const std::string& view, const core::AggregateViewSpec* spec,
                                     const Document& doc) {
  if (spec != nullptr) {
    MV_ASSIGN_OR_RETURN(AggregateValues v, AggregateValuesOf(*spec, doc));
    std::string out;
    for (auto m : v.measures) out += std::to_string(m) + ',';
    for (const auto& m : v.maxima) out += (m ? std::to_string(*m) : "-") + ',';
    return out + std::to_string(v.schema_version);
  }
  if (view == core::ViewSet::kShipmentList) {
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row, ListRowOf(doc));
    return core::EncodeRow(row);
  }
  if (view == core::kExceptionQueueView) {
    MV_ASSIGN_OR_RETURN(core::ExceptionQueueRow row, ExceptionRowOf(doc));
    const auto& e = row.entry;
    return fmt::format("{},{},{}", e.urgency(),
                       e.promised_delivery_at ? ToMillis(*e.promised_delivery_at) : -1,
                       ToMillis(e.status_changed_at));
  }
  if (view == core::ViewSet::kTrackingState) {
    MV_ASSIGN_OR_RETURN(core::TrackingState state, TrackingStateOf(doc));
    return core::EncodeTrackingSummary(state.summary);
  }
  return Status::Internal("no content digest for view " + view);
}

}  // namespace mv::mongo
