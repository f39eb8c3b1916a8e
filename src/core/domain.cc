#include "core/domain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/time.h"

namespace mv::core {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, kShipmentStatusCount> kStatusNames = {
    "booked",    "picked_up", "in_transit", "out_for_delivery",
    "delivered", "exception", "returned",   "cancelled"};
constexpr std::array<std::string_view, 6> kSlaNames = {"none",     "on_track", "at_risk",
                                                       "breached", "met",      "missed"};
constexpr size_t kMaxTextLength = 512;
constexpr double kMaxAmount = 1e9;

Status FieldError(std::string_view field, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", field, what));
}

Status ReadText(const json& doc, const char* field, std::string* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return FieldError(field, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > kMaxTextLength) return FieldError(field, "longer than 512 characters");
  *out = s;
  return Status::Ok();
}

Status ReadId(const json& doc, const char* field, std::string* out) {
  MV_RETURN_IF_ERROR(ReadText(doc, field, out));
  if (!out->empty() && !IsValidId(*out)) {
    return FieldError(field, "must be 1-128 characters of letters, digits and -_.:@");
  }
  return Status::Ok();
}

Status ReadTime(const json& doc, const char* field, std::optional<Timestamp>* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return FieldError(field, "must be an RFC 3339 timestamp string");
  auto t = ParseRfc3339(it->get_ref<const std::string&>());
  if (!t)
    return FieldError(
        field, fmt::format("'{}' is not an RFC 3339 timestamp", it->get_ref<const std::string&>()));
  *out = *t;
  return Status::Ok();
}

Status ReadAmount(const json& doc, const char* field, std::optional<double>* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return FieldError(field, "must be a number");
  double v = it->get<double>();
  // Bounded so that sums over many shipments stay exact in 64-bit fixed point.
  if (!std::isfinite(v) || v < 0 || v > kMaxAmount) {
    return FieldError(field, "must be a number from 0 to 1e9");
  }
  *out = v;
  return Status::Ok();
}

Status ReadAddress(const json& doc, const char* field, Address* out) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return FieldError(field, "must be an object");
  Address address;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string() && !v.is_null()) {
      return FieldError(fmt::format("{}.{}", field, k), "must be a string");
    }
    if (v.is_string() && v.get_ref<const std::string&>().size() > kMaxTextLength) {
      return FieldError(fmt::format("{}.{}", field, k), "longer than 512 characters");
    }
    address.Set(k, v.is_null() ? std::nullopt
                               : std::optional<std::string>(v.get_ref<const std::string&>()));
  }
  *out = std::move(address);
  return Status::Ok();
}

void PutTime(json& doc, const char* field, const std::optional<Timestamp>& t) {
  if (t) doc[field] = FormatRfc3339(*t);
}

std::string StatusList() {
  std::string out;
  for (auto n : kStatusNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

Address::Address(std::initializer_list<std::pair<std::string, std::string>> members) {
  for (const auto& [key, value] : members) Set(key, value);
}

void Address::Set(std::string key, std::optional<std::string> value) {
  auto it = std::lower_bound(members_.begin(), members_.end(), key,
                             [](const Member& m, const std::string& k) { return m.first < k; });
  if (it != members_.end() && it->first == key) {
    it->second = std::move(value);
  } else {
    members_.insert(it, Member(std::move(key), std::move(value)));
  }
}

std::string_view Address::Value(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return v ? std::string_view(*v) : std::string_view();
  }
  return {};
}

json AddressToJson(const Address& address) {
  json out = json::object();
  for (const auto& [key, value] : address.members()) {
    out[key] = value ? json(*value) : json(nullptr);
  }
  return out;
}

std::string_view ToString(ShipmentStatus s) { return kStatusNames[static_cast<size_t>(s)]; }
std::string_view ToString(SlaStatus s) { return kSlaNames[static_cast<size_t>(s)]; }

std::optional<ShipmentStatus> ParseShipmentStatus(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == s) return static_cast<ShipmentStatus>(i);
  }
  return std::nullopt;
}

std::optional<SlaStatus> ParseSlaStatus(std::string_view s) {
  for (size_t i = 0; i < kSlaNames.size(); ++i) {
    if (kSlaNames[i] == s) return static_cast<SlaStatus>(i);
  }
  return std::nullopt;
}

bool IsTerminal(ShipmentStatus s) {
  return s == ShipmentStatus::kDelivered || s == ShipmentStatus::kReturned ||
         s == ShipmentStatus::kCancelled;
}

Timestamp StatusChangedAt(const Shipment& written, const std::optional<Shipment>& stored,
                          Timestamp now) {
  if (written.status_changed_at) return *written.status_changed_at;
  if (stored && stored->status == written.status && stored->status_changed_at) {
    return *stored->status_changed_at;
  }
  return now;
}

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':' || c == '@';
    if (!ok) return false;
  }
  return true;
}

Result<Shipment> ParseShipment(const json& doc) {
  if (!doc.is_object()) return Status::InvalidArgument("shipment must be a JSON object");
  Shipment s;
  auto id = doc.find("id");
  if (id == doc.end() || id->is_null()) return FieldError("id", "is required");
  MV_RETURN_IF_ERROR(ReadId(doc, "id", &s.id));
  if (s.id.empty()) return FieldError("id", "must not be empty");

  auto status = doc.find("status");
  if (status == doc.end() || status->is_null()) return FieldError("status", "is required");
  if (!status->is_string()) return FieldError("status", "must be a string");
  auto parsed = ParseShipmentStatus(status->get_ref<const std::string&>());
  if (!parsed) {
    return FieldError("status", fmt::format("unknown value '{}' (expected one of {})",
                                            status->get_ref<const std::string&>(), StatusList()));
  }
  s.status = *parsed;

  std::optional<Timestamp> created;
  MV_RETURN_IF_ERROR(ReadTime(doc, "createdAt", &created));
  if (!created) return FieldError("createdAt", "is required");
  s.created_at = *created;

  MV_RETURN_IF_ERROR(ReadText(doc, "reference", &s.reference));
  MV_RETURN_IF_ERROR(ReadId(doc, "customerId", &s.customer_id));
  MV_RETURN_IF_ERROR(ReadId(doc, "carrierId", &s.carrier_id));
  MV_RETURN_IF_ERROR(ReadText(doc, "service", &s.service));
  MV_RETURN_IF_ERROR(ReadText(doc, "currency", &s.currency));
  MV_RETURN_IF_ERROR(ReadAddress(doc, "origin", &s.origin));
  MV_RETURN_IF_ERROR(ReadAddress(doc, "destination", &s.destination));
  MV_RETURN_IF_ERROR(ReadAmount(doc, "weightKg", &s.weight_kg));
  MV_RETURN_IF_ERROR(ReadAmount(doc, "declaredValue", &s.declared_value));
  MV_RETURN_IF_ERROR(ReadTime(doc, "statusChangedAt", &s.status_changed_at));
  MV_RETURN_IF_ERROR(ReadTime(doc, "promisedDeliveryAt", &s.promised_delivery_at));
  MV_RETURN_IF_ERROR(ReadTime(doc, "pickedUpAt", &s.picked_up_at));
  MV_RETURN_IF_ERROR(ReadTime(doc, "outForDeliveryAt", &s.out_for_delivery_at));
  MV_RETURN_IF_ERROR(ReadTime(doc, "deliveredAt", &s.delivered_at));
  return s;
}

json ShipmentToJson(const Shipment& s) {
  json doc = json::object();
  doc["id"] = s.id;
  if (!s.reference.empty()) doc["reference"] = s.reference;
  if (!s.customer_id.empty()) doc["customerId"] = s.customer_id;
  if (!s.carrier_id.empty()) doc["carrierId"] = s.carrier_id;
  if (!s.service.empty()) doc["service"] = s.service;
  doc["status"] = ToString(s.status);
  PutTime(doc, "statusChangedAt", s.status_changed_at);
  doc["origin"] = AddressToJson(s.origin);
  doc["destination"] = AddressToJson(s.destination);
  if (s.weight_kg) doc["weightKg"] = *s.weight_kg;
  if (s.declared_value) doc["declaredValue"] = *s.declared_value;
  if (!s.currency.empty()) doc["currency"] = s.currency;
  doc["createdAt"] = FormatRfc3339(s.created_at);
  PutTime(doc, "promisedDeliveryAt", s.promised_delivery_at);
  PutTime(doc, "pickedUpAt", s.picked_up_at);
  PutTime(doc, "outForDeliveryAt", s.out_for_delivery_at);
  PutTime(doc, "deliveredAt", s.delivered_at);
  return doc;
}

Result<Customer> ParseCustomer(std::string_view id, const json& doc) {
  if (!IsValidId(id))
    return FieldError("id", "must be 1-128 characters of letters, digits and -_.:@");
  if (!doc.is_object()) return Status::InvalidArgument("customer must be a JSON object");
  Customer c{std::string(id), ""};
  MV_RETURN_IF_ERROR(ReadText(doc, "name", &c.name));
  if (c.name.empty()) return FieldError("name", "is required");
  return c;
}

Result<Carrier> ParseCarrier(std::string_view id, const json& doc) {
  if (!IsValidId(id))
    return FieldError("id", "must be 1-128 characters of letters, digits and -_.:@");
  if (!doc.is_object()) return Status::InvalidArgument("carrier must be a JSON object");
  Carrier c{std::string(id), "", json::object()};
  MV_RETURN_IF_ERROR(ReadText(doc, "name", &c.name));
  if (c.name.empty()) return FieldError("name", "is required");
  auto it = doc.find("services");
  if (it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return FieldError("services", "must be an object");
    c.services = *it;
  }
  return c;
}

json CustomerToJson(const Customer& c) { return {{"id", c.id}, {"name", c.name}}; }
json CarrierToJson(const Carrier& c) {
  return {{"id", c.id}, {"name", c.name}, {"services", c.services}};
}

}  // namespace mv::core
