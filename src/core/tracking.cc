#include "core/tracking.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/time.h"

namespace mv::core {
namespace {

using nlohmann::json;

constexpr size_t kMaxCodeLength = 64;
constexpr size_t kMaxLocationLength = 256;

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", field, what));
}

Status ReadString(const json& doc, const char* field, size_t max_length, bool required,
                  std::string* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) {
    return required ? FieldError(field, "is required") : Status::Ok();
  }
  if (!it->is_string()) return FieldError(field, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_length) {
    return FieldError(field, fmt::format("longer than {} characters", max_length));
  }
  if (required && s.empty()) return FieldError(field, "must not be empty");
  *out = s;
  return Status::Ok();
}

Status ReadRequiredId(const json& doc, const char* field, std::string* out) {
  MV_RETURN_IF_ERROR(ReadString(doc, field, 128, /*required=*/true, out));
  if (!IsValidId(*out)) {
    return FieldError(field, "must be 1-128 characters of letters, digits and -_.:@");
  }
  return Status::Ok();
}

// ASCII only, independent of the locale (the config loader upper-cases codes the same way).
std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

void MergeEarliest(std::optional<Timestamp>* slot, Timestamp t, bool* changed) {
  if (!*slot || t < **slot) {
    *slot = t;
    *changed = true;
  }
}

}  // namespace

Result<TrackingEvent> ParseTrackingEvent(const json& doc) {
  if (!doc.is_object()) return Status::InvalidArgument("tracking event must be a JSON object");
  TrackingEvent e;
  MV_RETURN_IF_ERROR(ReadRequiredId(doc, "eventId", &e.event_id));
  MV_RETURN_IF_ERROR(ReadRequiredId(doc, "shipmentId", &e.shipment_id));
  MV_RETURN_IF_ERROR(ReadRequiredId(doc, "carrierId", &e.carrier_id));
  MV_RETURN_IF_ERROR(ReadString(doc, "code", kMaxCodeLength, /*required=*/true, &e.code));
  std::string occurred;
  MV_RETURN_IF_ERROR(ReadString(doc, "occurredAt", 64, /*required=*/true, &occurred));
  auto t = ParseRfc3339(occurred);
  if (!t)
    return FieldError("occurredAt", fmt::format("'{}' is not an RFC 3339 timestamp", occurred));
  e.occurred_at = *t;
  MV_RETURN_IF_ERROR(
      ReadString(doc, "location", kMaxLocationLength, /*required=*/false, &e.location));
  return e;
}

Status CheckTrackingEventIds(const TrackingEvent& e) {
  if (IsValidId(e.carrier_id) && IsValidId(e.event_id) && IsValidId(e.shipment_id)) {
    return Status::Ok();
  }
  return Status::InvalidArgument(fmt::format("tracking event '{}/{}' of shipment '{}': invalid id",
                                             e.carrier_id, e.event_id, e.shipment_id));
}

json TrackingEventToJson(const TrackingEvent& e) {
  return {{"eventId", e.event_id},
          {"shipmentId", e.shipment_id},
          {"carrierId", e.carrier_id},
          {"code", e.code},
          {"occurredAt", FormatRfc3339(e.occurred_at)},
          {"location", e.location}};
}

CodeMapping CodeMapping::Defaults() {
  CodeMapping m;
  auto set = [&](std::initializer_list<const char*> codes, std::optional<ShipmentStatus> s) {
    for (const char* code : codes) m.Set("", code, s);
  };
  set({"PU", "PICKED_UP", "PICKUP"}, ShipmentStatus::kPickedUp);
  set({"IT", "IN_TRANSIT", "DEP", "ARR"}, ShipmentStatus::kInTransit);
  set({"OFD", "OUT_FOR_DELIVERY"}, ShipmentStatus::kOutForDelivery);
  set({"DL", "DELIVERED", "POD"}, ShipmentStatus::kDelivered);
  set({"EX", "EXCEPTION", "DELAY", "DAMAGED", "FAILED_ATTEMPT"}, ShipmentStatus::kException);
  set({"RT", "RETURNED"}, ShipmentStatus::kReturned);
  set({"CX", "CANCELLED"}, ShipmentStatus::kCancelled);
  set({"INFO", "NOTE"}, std::nullopt);
  return m;
}

void CodeMapping::Set(std::string_view carrier_id, std::string_view code,
                      std::optional<ShipmentStatus> status) {
  table_[{std::string(carrier_id), Upper(code)}] = status;
}

std::optional<ShipmentStatus> CodeMapping::Map(std::string_view carrier_id,
                                               std::string_view code) const {
  std::string upper = Upper(code);
  if (auto it = table_.find({std::string(carrier_id), upper}); it != table_.end()) {
    return it->second;
  }
  if (auto it = table_.find({std::string(), upper}); it != table_.end()) return it->second;
  return std::nullopt;
}

bool TrackingSummary::Merge(const TrackingEvent& e, std::optional<ShipmentStatus> mapped) {
  bool changed = false;
  EventOrder order{e.occurred_at, e.carrier_id, e.event_id};
  if (mapped) {
    switch (*mapped) {
      case ShipmentStatus::kPickedUp:
        MergeEarliest(&picked_up_at, e.occurred_at, &changed);
        break;
      case ShipmentStatus::kOutForDelivery:
        MergeEarliest(&out_for_delivery_at, e.occurred_at, &changed);
        break;
      case ShipmentStatus::kDelivered:
        MergeEarliest(&delivered_at, e.occurred_at, &changed);
        break;
      default:
        break;
    }
    if (!latest_mapped || *latest_mapped < order) {
      latest_mapped = order;
      latest_mapped_status = *mapped;
      changed = true;
    }
  }
  if (!latest || *latest < order) {
    latest = order;
    latest_code = e.code;
    latest_location = e.location;
    changed = true;
  }
  return changed;
}

namespace {

json OrderToJson(const std::optional<EventOrder>& o) {
  if (!o) return nullptr;
  return json::array({ToMillis(o->occurred_at), o->carrier_id, o->event_id});
}

std::optional<EventOrder> OrderFromJson(const json& j) {
  if (j.is_null()) return std::nullopt;
  return EventOrder{FromMillis(j.at(0).get<std::int64_t>()), j.at(1).get<std::string>(),
                    j.at(2).get<std::string>()};
}

json TimeToJson(const std::optional<Timestamp>& t) {
  if (!t) return nullptr;
  return ToMillis(*t);
}

std::optional<Timestamp> TimeFromJson(const json& j) {
  if (j.is_null()) return std::nullopt;
  return FromMillis(j.get<std::int64_t>());
}

}  // namespace

// Compact storage form: times as epoch milliseconds.
json TrackingSummaryToJson(const TrackingSummary& s) {
  return {{"p", TimeToJson(s.picked_up_at)},
          {"o", TimeToJson(s.out_for_delivery_at)},
          {"d", TimeToJson(s.delivered_at)},
          {"m", OrderToJson(s.latest_mapped)},
          {"ms", ToString(s.latest_mapped_status)},
          {"l", OrderToJson(s.latest)},
          {"lc", s.latest_code},
          {"ll", s.latest_location}};
}

Result<TrackingSummary> TrackingSummaryFromJson(const json& j) {
  TrackingSummary s;
  try {
    s.picked_up_at = TimeFromJson(j.at("p"));
    s.out_for_delivery_at = TimeFromJson(j.at("o"));
    s.delivered_at = TimeFromJson(j.at("d"));
    s.latest_mapped = OrderFromJson(j.at("m"));
    auto status = ParseShipmentStatus(j.at("ms").get<std::string>());
    if (!status) return Status::Corruption("stored tracking summary: bad status");
    s.latest_mapped_status = *status;
    s.latest = OrderFromJson(j.at("l"));
    s.latest_code = j.at("lc").get<std::string>();
    s.latest_location = j.at("ll").get<std::string>();
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("stored tracking summary: ") + e.what());
  }
  return s;
}

}  // namespace mv::core
