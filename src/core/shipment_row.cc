#include "core/shipment_row.h"

#include "base/time.h"

namespace mv::core {

using nlohmann::json;

ShipmentRow Project(const std::string& org, const Shipment& doc, Timestamp now,
                    const ProjectionOptions& options) {
  ShipmentRow row;
  row.org = org;
  row.shipment = doc;
  Shipment& s = row.shipment;
  if (!s.status_changed_at) s.status_changed_at = s.created_at;
  if (s.status == ShipmentStatus::kDelivered && !s.delivered_at) {
    s.delivered_at = s.status_changed_at;
  }
  row.sla = EvaluateSla(s.status, s.promised_delivery_at, s.delivered_at, now, options.sla);
  return row;
}

ShipmentRow Reevaluate(const ShipmentRow& row, Timestamp now, const ProjectionOptions& options) {
  ShipmentRow out = row;
  const Shipment& s = row.shipment;
  out.sla = EvaluateSla(s.status, s.promised_delivery_at, s.delivered_at, now, options.sla);
  return out;
}

json RowToJson(const ShipmentRow& row) {
  json out = ShipmentToJson(row.shipment);
  json sla = {{"status", ToString(row.sla.status)}, {"nextChangeAt", nullptr}};
  if (row.sla.next_change_at) sla["nextChangeAt"] = FormatRfc3339(*row.sla.next_change_at);
  out["sla"] = std::move(sla);
  if (row.last_event) {
    out["lastEvent"] = {{"code", row.last_event->code},
                        {"occurredAt", FormatRfc3339(row.last_event->occurred_at)},
                        {"location", row.last_event->location}};
  } else {
    out["lastEvent"] = nullptr;
  }
  out["_schemaVersion"] = row.schema_version;
  return out;
}

Result<ShipmentRow> RowFromJson(const std::string& org, const json& j) {
  auto shipment = ParseShipment(j);
  if (!shipment.ok()) return Status::Corruption("stored row: " + shipment.status().message());
  ShipmentRow row;
  row.org = org;
  row.shipment = std::move(shipment).value();
  try {
    const json& sla = j.at("sla");
    auto status = ParseSlaStatus(sla.at("status").get<std::string>());
    if (!status) return Status::Corruption("stored row: bad sla.status");
    row.sla.status = *status;
    if (!sla.at("nextChangeAt").is_null()) {
      row.sla.next_change_at = ParseRfc3339(sla.at("nextChangeAt").get<std::string>());
      if (!row.sla.next_change_at) return Status::Corruption("stored row: bad sla.nextChangeAt");
    }
    const json& ev = j.at("lastEvent");
    if (!ev.is_null()) {
      auto at = ParseRfc3339(ev.at("occurredAt").get<std::string>());
      if (!at) return Status::Corruption("stored row: bad lastEvent.occurredAt");
      row.last_event =
          LastEvent{ev.at("code").get<std::string>(), *at, ev.at("location").get<std::string>()};
    }
    row.schema_version = j.at("_schemaVersion").get<int>();
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("stored row: ") + e.what());
  }
  return row;
}

}  // namespace mv::core
