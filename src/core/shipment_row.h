#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "core/domain.h"
#include "core/sla.h"

namespace mv::core {

// Version of the mv_shipment_list row shape; stored in every row as `_schemaVersion`.
inline constexpr int kShipmentListSchemaVersion = 1;

struct LastEvent {
  std::string code;
  Timestamp occurred_at{};
  std::string location;
  bool operator==(const LastEvent&) const = default;
};

// The shipment projection: everything any view needs to know about one shipment.
// The stored mv_shipment_list row IS this projection (DESIGN.md section 3).
struct ShipmentRow {
  std::string org;
  Shipment shipment;  // effective values: milestones filled in, statusChangedAt resolved
  SlaState sla;
  std::optional<LastEvent> last_event;
  int schema_version = kShipmentListSchemaVersion;

  bool IsOpen() const { return !IsTerminal(shipment.status); }
  bool operator==(const ShipmentRow&) const = default;
};

struct ProjectionOptions {
  SlaPolicy sla;
};

// Projects a source document at `now`. Pure and deterministic: the result depends only on
// its arguments, never on the order or number of times it is called.
ShipmentRow Project(const std::string& org, const Shipment& doc, Timestamp now,
                    const ProjectionOptions& options);

// Re-evaluates the clock-driven parts of a stored row at `now` (the SLA ticker).
ShipmentRow Reevaluate(const ShipmentRow& row, Timestamp now, const ProjectionOptions& options);

// The row as stored and as the API returns it (without names, which readers add).
nlohmann::json RowToJson(const ShipmentRow& row);
// Reads a stored row back; Corruption if it is not one.
Result<ShipmentRow> RowFromJson(const std::string& org, const nlohmann::json& json);

}  // namespace mv::core
