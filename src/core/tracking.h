#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"
#include "core/domain.h"

namespace mv::core {

// A carrier tracking event (DESIGN.md section 5). The organization is the key it lives
// under, not part of the event. Identity: (org, carrierId, eventId).
struct TrackingEvent {
  std::string event_id;
  std::string shipment_id;
  std::string carrier_id;
  std::string code;  // the carrier's own code, as sent
  Timestamp occurred_at{};
  std::string location;

  bool operator==(const TrackingEvent&) const = default;
};

// Validates a tracking event. Errors are InvalidArgument and name the field. Unknown
// fields are ignored.
Result<TrackingEvent> ParseTrackingEvent(const nlohmann::json& doc);
nlohmann::json TrackingEventToJson(const TrackingEvent& e);
// InvalidArgument unless the event's carrierId, eventId and shipmentId are valid ids
// (IsValidId): a change names an event "carrierId/eventId", and valid ids keep that
// unambiguous.
Status CheckTrackingEventIds(const TrackingEvent& e);

// Maps carrier codes to canonical statuses: a table of defaults plus per-carrier
// overrides. Codes compare case-insensitively. A code that maps to no status (unknown, or
// mapped to "none") changes no milestone. Immutable once built, so thread-safe to share.
class CodeMapping {
 public:
  // The defaults: PU/PICKED_UP, IT/IN_TRANSIT/DEP/ARR, OFD/OUT_FOR_DELIVERY,
  // DL/DELIVERED/POD, EX/EXCEPTION/DELAY/DAMAGED/FAILED_ATTEMPT, RT/RETURNED,
  // CX/CANCELLED.
  static CodeMapping Defaults();

  // Maps `code` for every carrier (`carrier_id` empty) or for one carrier only.
  // `status` absent: the code is known but changes no milestone.
  void Set(std::string_view carrier_id, std::string_view code,
           std::optional<ShipmentStatus> status);
  std::optional<ShipmentStatus> Map(std::string_view carrier_id, std::string_view code) const;

  bool operator==(const CodeMapping&) const = default;

 private:
  // (carrier_id or "", upper-cased code) -> status (absent: changes no milestone)
  std::map<std::pair<std::string, std::string>, std::optional<ShipmentStatus>> table_;
};

// Total order of events: occurredAt, then carrierId, then eventId. The "latest" event is
// the greatest in this order, so ties never depend on arrival order.
struct EventOrder {
  Timestamp occurred_at{};
  std::string carrier_id;
  std::string event_id;
  auto operator<=>(const EventOrder&) const = default;
};

// What a shipment's tracking events contribute to its projection. Merge is a join:
// idempotent, commutative and associative, so the summary of a set of events is the same
// whatever order, and however many times, its events are merged.
struct TrackingSummary {
  // Earliest occurredAt of an event mapped to each milestone.
  std::optional<Timestamp> picked_up_at;
  std::optional<Timestamp> out_for_delivery_at;
  std::optional<Timestamp> delivered_at;
  // The latest event that maps to a status.
  std::optional<EventOrder> latest_mapped;
  ShipmentStatus latest_mapped_status = ShipmentStatus::kBooked;
  // The latest event of any code (unknown codes included): the row's lastEvent.
  std::optional<EventOrder> latest;
  std::string latest_code;
  std::string latest_location;

  // Folds one event in. `mapped` is the event's canonical status (CodeMapping::Map).
  // Returns whether the summary changed.
  bool Merge(const TrackingEvent& e, std::optional<ShipmentStatus> mapped);

  bool operator==(const TrackingSummary&) const = default;
};

nlohmann::json TrackingSummaryToJson(const TrackingSummary& s);
// Corruption when `j` is not a stored summary.
Result<TrackingSummary> TrackingSummaryFromJson(const nlohmann::json& j);

}  // namespace mv::core
