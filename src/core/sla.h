#pragma once

#include <optional>

#include "base/clock.h"
#include "core/domain.h"

namespace mv::core {

struct SlaPolicy {
  // An open shipment is at risk from this long before its promised delivery.
  Millis at_risk_window = std::chrono::hours(4);
};

struct SlaState {
  SlaStatus status = SlaStatus::kNone;
  // The next instant at which `status` changes with the clock alone; none if it never does.
  std::optional<Timestamp> next_change_at;

  bool operator==(const SlaState&) const = default;
};

// SLA status of a shipment at `now` (DESIGN.md section 5):
//   no promise -> none; status delivered -> met / missed against `delivered_at`; returned or
//   cancelled -> none; otherwise breached once past the promise, at_risk inside the
//   window before it (or at any time in exception), else on_track.
// Pure: the same inputs give the same state; next_change_at is constant between changes.
SlaState EvaluateSla(ShipmentStatus status, std::optional<Timestamp> promised,
                     std::optional<Timestamp> delivered_at, Timestamp now, const SlaPolicy& policy);

}  // namespace mv::core
