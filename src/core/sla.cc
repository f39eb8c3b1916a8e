#include "core/sla.h"

namespace mv::core {

SlaState EvaluateSla(ShipmentStatus status, std::optional<Timestamp> promised,
                     std::optional<Timestamp> delivered_at, Timestamp now,
                     const SlaPolicy& policy) {
  if (!promised) return {SlaStatus::kNone, std::nullopt};
  if (status == ShipmentStatus::kDelivered) {
    if (!delivered_at) return {SlaStatus::kMet, std::nullopt};  // delivered, time unknown
    return {*delivered_at <= *promised ? SlaStatus::kMet : SlaStatus::kMissed, std::nullopt};
  }
  if (IsTerminal(status)) return {SlaStatus::kNone, std::nullopt};
  if (now >= *promised) return {SlaStatus::kBreached, std::nullopt};
  Timestamp risk_from = *promised - policy.at_risk_window;
  if (status == ShipmentStatus::kException || now >= risk_from) {
    return {SlaStatus::kAtRisk, *promised};
  }
  return {SlaStatus::kOnTrack, risk_from};
}

}  // namespace mv::core
