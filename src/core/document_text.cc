#include "core/document_text.h"

#include <simdjson.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/time.h"

namespace mv::core {
namespace {

namespace dom = simdjson::dom;
using dom::element_type;

// The streaming path accepts exactly what it can prove the DOM path accepts the same way;
// it gives up (returns false) at the first doubt and the DOM path decides.
constexpr size_t kMaxText = 512;
constexpr double kMaxAmount = 1e9;

// The root object of `text`; false when it is not a JSON object. The DOM API picks the
// fastest kernel the CPU has at run time. One parser (and its buffers) per thread.
bool Root(std::string_view text, dom::object* out) {
  thread_local dom::parser parser;
  dom::element root;
  return !parser.parse(text.data(), text.size()).get(root) && !root.get_object().get(*out);
}

// A string member of at most `max` bytes (after unescaping). null: absent (the member is
// reset, as a later duplicate key replaces an earlier one).
bool Text(dom::element v, size_t max, std::optional<std::string>* out) {
  if (v.is_null()) {
    out->reset();
    return true;
  }
  std::string_view s;
  if (v.get_string().get(s) || s.size() > max) return false;
  *out = std::string(s);
  return true;
}

bool Time(dom::element v, std::optional<Timestamp>* out) {
  std::optional<std::string> text;
  if (!Text(v, SIZE_MAX, &text)) return false;
  if (!text) {
    out->reset();
    return true;
  }
  *out = ParseRfc3339(*text);
  return out->has_value();
}

bool Amount(dom::element v, std::optional<double>* out) {
  if (v.is_null()) {
    out->reset();
    return true;
  }
  double d;
  if (!v.is_number() || v.get_double().get(d)) return false;
  if (!std::isfinite(d) || d < 0 || d > kMaxAmount) return false;
  *out = d;
  return true;
}

bool ReadAddress(dom::element v, Address* out) {
  if (v.is_null()) {
    *out = Address();
    return true;
  }
  dom::object obj;
  if (v.get_object().get(obj)) return false;
  Address address;
  for (auto [key, value] : obj) {
    std::optional<std::string> text;
    if (!Text(value, kMaxText, &text)) return false;
    address.Set(std::string(key), std::move(text));  // a repeated key: the last one wins
  }
  *out = std::move(address);
  return true;
}

bool Id(const std::optional<std::string>& s) { return !s || s->empty() || IsValidId(*s); }

std::optional<Shipment> FastShipment(std::string_view text) {
  dom::object obj;
  if (!Root(text, &obj)) return std::nullopt;
  Shipment s;
  std::optional<std::string> id, status, reference, customer, carrier, service, currency;
  std::optional<Timestamp> created;
  for (auto [key, v] : obj) {
    bool ok = true;
    if (key == "id") {
      ok = Text(v, kMaxText, &id);
    } else if (key == "status") {
      ok = Text(v, SIZE_MAX, &status);
    } else if (key == "createdAt") {
      ok = Time(v, &created);
    } else if (key == "reference") {
      ok = Text(v, kMaxText, &reference);
    } else if (key == "customerId") {
      ok = Text(v, kMaxText, &customer);
    } else if (key == "carrierId") {
      ok = Text(v, kMaxText, &carrier);
    } else if (key == "service") {
      ok = Text(v, kMaxText, &service);
    } else if (key == "currency") {
      ok = Text(v, kMaxText, &currency);
    } else if (key == "origin") {
      ok = ReadAddress(v, &s.origin);
    } else if (key == "destination") {
      ok = ReadAddress(v, &s.destination);
    } else if (key == "weightKg") {
      ok = Amount(v, &s.weight_kg);
    } else if (key == "declaredValue") {
      ok = Amount(v, &s.declared_value);
    } else if (key == "statusChangedAt") {
      ok = Time(v, &s.status_changed_at);
    } else if (key == "promisedDeliveryAt") {
      ok = Time(v, &s.promised_delivery_at);
    } else if (key == "pickedUpAt") {
      ok = Time(v, &s.picked_up_at);
    } else if (key == "outForDeliveryAt") {
      ok = Time(v, &s.out_for_delivery_at);
    } else if (key == "deliveredAt") {
      ok = Time(v, &s.delivered_at);
    }  // unknown members are ignored
    if (!ok) return std::nullopt;
  }
  if (!id || id->empty() || !IsValidId(*id) || !status || !created) return std::nullopt;
  if (!Id(customer) || !Id(carrier)) return std::nullopt;
  auto parsed = ParseShipmentStatus(*status);
  if (!parsed) return std::nullopt;
  s.id = std::move(*id);
  s.status = *parsed;
  s.created_at = *created;
  s.reference = reference.value_or("");
  s.customer_id = customer.value_or("");
  s.carrier_id = carrier.value_or("");
  s.service = service.value_or("");
  s.currency = currency.value_or("");
  return s;
}

std::optional<TrackingEvent> FastTrackingEvent(std::string_view text) {
  dom::object obj;
  if (!Root(text, &obj)) return std::nullopt;
  std::optional<std::string> event_id, shipment_id, carrier_id, code, occurred, location;
  for (auto [key, v] : obj) {
    bool ok = true;
    if (key == "eventId") {
      ok = Text(v, 128, &event_id);
    } else if (key == "shipmentId") {
      ok = Text(v, 128, &shipment_id);
    } else if (key == "carrierId") {
      ok = Text(v, 128, &carrier_id);
    } else if (key == "code") {
      ok = Text(v, 64, &code);
    } else if (key == "occurredAt") {
      ok = Text(v, 64, &occurred);
    } else if (key == "location") {
      ok = Text(v, 256, &location);
    }
    if (!ok) return std::nullopt;
  }
  for (const auto* required : {&event_id, &shipment_id, &carrier_id}) {
    if (!*required || !IsValidId(**required)) return std::nullopt;
  }
  if (!code || code->empty() || !occurred) return std::nullopt;
  auto t = ParseRfc3339(*occurred);
  if (!t) return std::nullopt;
  TrackingEvent e;
  e.event_id = std::move(*event_id);
  e.shipment_id = std::move(*shipment_id);
  e.carrier_id = std::move(*carrier_id);
  e.code = std::move(*code);
  e.occurred_at = *t;
  e.location = location.value_or("");
  return e;
}

}  // namespace

Result<Shipment> ParseShipmentTextByDom(std::string_view json_text) {
  auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("document is not valid JSON");
  return ParseShipment(doc);
}

Result<TrackingEvent> ParseTrackingEventTextByDom(std::string_view json_text) {
  auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("tracking event is not valid JSON");
  return ParseTrackingEvent(doc);
}

Result<Shipment> ParseShipmentText(std::string_view json_text) {
  if (auto fast = FastShipment(json_text)) return std::move(*fast);
  return ParseShipmentTextByDom(json_text);
}

Result<TrackingEvent> ParseTrackingEventText(std::string_view json_text) {
  if (auto fast = FastTrackingEvent(json_text)) return std::move(*fast);
  return ParseTrackingEventTextByDom(json_text);
}

}  // namespace mv::core
