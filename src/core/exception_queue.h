#pragma once

#include <optional>
#include <string_view>

#include "core/shipment_row.h"

namespace mv::core {

// Why a shipment needs action, most urgent first. The numeric value is the `urgency`
// the API returns (1 = most urgent).
enum class ExceptionReason { kBreached = 1, kException = 2, kAtRisk = 3 };

std::string_view ToString(ExceptionReason r);

// One mv_exception_queue entry. The queue is ordered by urgency, then by promised
// delivery (earliest, i.e. latest against its promise, first; none last), then by
// statusChangedAt, then by shipment id.
struct ExceptionEntry {
  ExceptionReason reason = ExceptionReason::kAtRisk;
  std::optional<Timestamp> promised_delivery_at;
  Timestamp status_changed_at{};

  int urgency() const { return static_cast<int>(reason); }
  bool operator==(const ExceptionEntry&) const = default;
};

// The queue entry of an open shipment that is breached, in exception or at risk (in that
// order of precedence); none otherwise. Depends on the SLA state, so entries come and go
// with the clock through the SLA ticker.
std::optional<ExceptionEntry> ExceptionEntryFor(const ShipmentRow& row);

inline constexpr const char* kExceptionQueueView = "mv_exception_queue";
inline constexpr int kExceptionQueueVersion = 2;

}  // namespace mv::core
