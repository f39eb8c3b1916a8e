#include "core/exception_queue.h"

namespace mv::core {

std::string_view ToString(ExceptionReason r) {
  switch (r) {
    case ExceptionReason::kBreached:
      return "breached";
    case ExceptionReason::kException:
      return "exception";
    case ExceptionReason::kAtRisk:
      return "at_risk";
  }
  return "at_risk";
}

std::optional<ExceptionEntry> ExceptionEntryFor(const ShipmentRow& row) {
  if (!row.IsOpen()) return std::nullopt;
  ExceptionEntry entry;
  if (row.sla.status == SlaStatus::kBreached) {
    entry.reason = ExceptionReason::kBreached;
  } else if (row.shipment.status == ShipmentStatus::kException) {
    entry.reason = ExceptionReason::kException;
  } else if (row.sla.status == SlaStatus::kAtRisk) {
    entry.reason = ExceptionReason::kAtRisk;
  } else {
    return std::nullopt;
  }
  entry.promised_delivery_at = row.shipment.promised_delivery_at;
  entry.status_changed_at = row.shipment.status_changed_at.value_or(row.shipment.created_at);
  return entry;
}

}  // namespace mv::core
