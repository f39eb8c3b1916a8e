#include "core/shipment_row.h"

#include "base/time.h"

namespace mv::core {

using nlohmann::json;

ShipmentRow Project(const std::string& org, const Shipment& doc, const TrackingSummary* tracking,
                    Timestamp now, const ProjectionOptions& options) {
  ShipmentRow row;
  row.org = org;
  row.shipment = doc;
  row.document = {doc.status, doc.status_changed_at, doc.picked_up_at, doc.out_for_delivery_at,
                  doc.delivered_at};
  Shipment& s = row.shipment;
  if (!s.status_changed_at) s.status_changed_at = s.created_at;
  if (tracking != nullptr) {
    if (!s.picked_up_at) s.picked_up_at = tracking->picked_up_at;
    if (!s.out_for_delivery_at) s.out_for_delivery_at = tracking->out_for_delivery_at;
    if (!s.delivered_at) s.delivered_at = tracking->delivered_at;
    if (tracking->latest_mapped && tracking->latest_mapped->occurred_at > *s.status_changed_at) {
      s.status = tracking->latest_mapped_status;
      s.status_changed_at = tracking->latest_mapped->occurred_at;
    }
    if (tracking->latest) {
      row.last_event = LastEvent{tracking->latest_code, tracking->latest->occurred_at,
                                 tracking->latest_location};
    }
  }
  if (s.status == ShipmentStatus::kDelivered && !s.delivered_at) {
    s.delivered_at = s.status_changed_at;
  }
  row.sla = EvaluateSla(s.status, s.promised_delivery_at, s.delivered_at, now, options.sla);
  return row;
}

Shipment DocumentOf(const ShipmentRow& row) {
  Shipment doc = row.shipment;
  doc.status = row.document.status;
  doc.status_changed_at = row.document.status_changed_at;
  doc.picked_up_at = row.document.picked_up_at;
  doc.out_for_delivery_at = row.document.out_for_delivery_at;
  doc.delivered_at = row.document.delivered_at;
  return doc;
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
  json document = {{"status", ToString(row.document.status)}};
  auto put = [&](const char* field, const std::optional<Timestamp>& t) {
    if (t) document[field] = FormatRfc3339(*t);
  };
  put("statusChangedAt", row.document.status_changed_at);
  put("pickedUpAt", row.document.picked_up_at);
  put("outForDeliveryAt", row.document.out_for_delivery_at);
  put("deliveredAt", row.document.delivered_at);
  out["_document"] = std::move(document);
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
    const json& document = j.at("_document");
    auto doc_status = ParseShipmentStatus(document.at("status").get<std::string>());
    if (!doc_status) return Status::Corruption("stored row: bad _document.status");
    row.document.status = *doc_status;
    auto read = [&](const char* field, std::optional<Timestamp>* out) -> bool {
      auto it = document.find(field);
      if (it == document.end()) return true;
      *out = ParseRfc3339(it->get<std::string>());
      return out->has_value();
    };
    if (!read("statusChangedAt", &row.document.status_changed_at) ||
        !read("pickedUpAt", &row.document.picked_up_at) ||
        !read("outForDeliveryAt", &row.document.out_for_delivery_at) ||
        !read("deliveredAt", &row.document.delivered_at)) {
      return Status::Corruption("stored row: bad _document time");
    }
    row.schema_version = j.at("_schemaVersion").get<int>();
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("stored row: ") + e.what());
  }
  return row;
}

}  // namespace mv::core
