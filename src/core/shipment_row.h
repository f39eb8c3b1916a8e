#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/result.h"
#include "core/domain.h"
#include "core/sla.h"
#include "core/tracking.h"

namespace mv::core {

// Version of the mv_shipment_list row shape; stored in every row as `_schemaVersion`.
inline constexpr int kShipmentListSchemaVersion = 3;

struct LastEvent {
  std::string code;
  Timestamp occurred_at{};
  std::string location;
  bool operator==(const LastEvent&) const = default;
};

// The document's own values of the fields that tracking events also decide. The row keeps
// them so that a tracking event can re-project it without re-reading the document.
struct DocumentFacts {
  ShipmentStatus status = ShipmentStatus::kBooked;
  std::optional<Timestamp> status_changed_at;
  std::optional<Timestamp> picked_up_at;
  std::optional<Timestamp> out_for_delivery_at;
  std::optional<Timestamp> delivered_at;
  bool operator==(const DocumentFacts&) const = default;
};

// The shipment projection: everything any view needs to know about one shipment.
// The stored mv_shipment_list row IS this projection (DESIGN.md section 3).
struct ShipmentRow {
  std::string org;
  Shipment shipment;  // effective values: document and tracking events combined
  DocumentFacts document;
  SlaState sla;
  std::optional<LastEvent> last_event;
  int schema_version = kShipmentListSchemaVersion;

  bool IsOpen() const { return !IsTerminal(shipment.status); }
  bool operator==(const ShipmentRow&) const = default;
};

struct ProjectionOptions {
  SlaPolicy sla;
  CodeMapping codes = CodeMapping::Defaults();
};

// Projects a source document and the summary of its tracking events (null: none) at `now`
// (DESIGN.md section 5): a milestone the document gives wins, else the events' earliest;
// the status is the document's unless the latest mapped event occurred after the
// document's statusChangedAt (else createdAt). Pure and deterministic: the result depends
// only on its arguments, never on the order or number of times it is called.
ShipmentRow Project(const std::string& org, const Shipment& doc, const TrackingSummary* tracking,
                    Timestamp now, const ProjectionOptions& options);

// A shipment without tracking events.
inline ShipmentRow Project(const std::string& org, const Shipment& doc, Timestamp now,
                           const ProjectionOptions& options) {
  return Project(org, doc, nullptr, now, options);
}

// The source document `row` was projected from.
Shipment DocumentOf(const ShipmentRow& row);

// Re-evaluates the clock-driven parts of a stored row at `now` (the SLA ticker).
ShipmentRow Reevaluate(const ShipmentRow& row, Timestamp now, const ProjectionOptions& options);

// The row as stored: the API's shipment shape (without names, which readers add) plus
// `_document`, the DocumentFacts, which readers drop.
nlohmann::json RowToJson(const ShipmentRow& row);
// Reads a stored row back; Corruption if it is not one.
Result<ShipmentRow> RowFromJson(const std::string& org, const nlohmann::json& json);

}  // namespace mv::core
