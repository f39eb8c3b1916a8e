#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace mv::core {

// Canonical shipment status (DESIGN.md section 5).
enum class ShipmentStatus {
  kBooked,
  kPickedUp,
  kInTransit,
  kOutForDelivery,
  kDelivered,
  kException,
  kReturned,
  kCancelled,
};
inline constexpr size_t kShipmentStatusCount = 8;

enum class SlaStatus { kNone, kOnTrack, kAtRisk, kBreached, kMet, kMissed };

std::string_view ToString(ShipmentStatus s);
std::string_view ToString(SlaStatus s);
std::optional<ShipmentStatus> ParseShipmentStatus(std::string_view s);
std::optional<SlaStatus> ParseSlaStatus(std::string_view s);
// Delivered, returned and cancelled shipments are no longer open.
bool IsTerminal(ShipmentStatus s);

// A shipment's origin or destination: members with a string value or null, by key
// (unique, ascending); what ParseShipment accepts of an address object. Cheap to copy:
// one allocation for the members.
class Address {
 public:
  using Member = std::pair<std::string, std::optional<std::string>>;

  Address() = default;
  // {{"country", "NL"}, {"postalCode", "1012"}}
  Address(std::initializer_list<std::pair<std::string, std::string>> members);  // NOLINT

  // Sets or replaces a member; nullopt makes it a null member.
  void Set(std::string key, std::optional<std::string> value);
  // The member's value; empty when it is missing or null.
  std::string Get(std::string_view key) const { return std::string(Value(key)); }
  std::string_view Value(std::string_view key) const;
  const std::vector<Member>& members() const { return members_; }
  bool empty() const { return members_.empty(); }

  bool operator==(const Address&) const = default;

 private:
  std::vector<Member> members_;
};

nlohmann::json AddressToJson(const Address& address);

// A shipment document as stored in the source `shipments` collection, validated.
// The organization is not part of the document: it is the key the document lives under.
struct Shipment {
  std::string id;
  std::string reference;
  std::string customer_id;
  std::string carrier_id;
  std::string service;
  ShipmentStatus status = ShipmentStatus::kBooked;
  std::optional<Timestamp> status_changed_at;
  Address origin;
  Address destination;
  std::optional<double> weight_kg;
  std::optional<double> declared_value;
  std::string currency;
  Timestamp created_at{};
  std::optional<Timestamp> promised_delivery_at;
  std::optional<Timestamp> picked_up_at;
  std::optional<Timestamp> out_for_delivery_at;
  std::optional<Timestamp> delivered_at;

  bool operator==(const Shipment&) const = default;
};

// Validates a shipment document. Errors are InvalidArgument and name the field:
// "status: unknown value 'shipped'". Unknown fields are ignored.
Result<Shipment> ParseShipment(const nlohmann::json& doc);
// The normalized document: what the source store keeps and the change stream carries.
nlohmann::json ShipmentToJson(const Shipment& s);

// The statusChangedAt a shipment written at `now` is stored with, whatever the backend:
// the document's own when it gives one; else the stored document's when the status is
// unchanged; else `now`.
Timestamp StatusChangedAt(const Shipment& written, const std::optional<Shipment>& stored,
                          Timestamp now);

// Identifiers (shipment, customer, carrier ids; organizations) are 1..128 characters of
// letters, digits and "-_.:@".
bool IsValidId(std::string_view id);

// customers/{id} and carriers/{id} documents.
struct Customer {
  std::string id;
  std::string name;
};
struct Carrier {
  std::string id;
  std::string name;
  nlohmann::json services = nlohmann::json::object();  // service code -> service level info
};
Result<Customer> ParseCustomer(std::string_view id, const nlohmann::json& doc);
Result<Carrier> ParseCarrier(std::string_view id, const nlohmann::json& doc);
nlohmann::json CustomerToJson(const Customer& c);
nlohmann::json CarrierToJson(const Carrier& c);

}  // namespace mv::core
