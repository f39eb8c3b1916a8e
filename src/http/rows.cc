#include "http/rows.h"

#include "base/time.h"
#include "core/aggregate_view.h"
#include "core/carrier_performance_view.h"

namespace mv::http {

using nlohmann::json;

namespace {

void WriteJsonValue(JsonWriter& w, const json& v) {
  if (v.is_null()) {
    w.Null();
  } else if (v.is_string()) {
    w.String(v.get_ref<const std::string&>());
  } else {
    w.Raw(v.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

void WriteAddress(JsonWriter& w, const core::Address& address) {
  w.BeginObject();
  for (const auto& [key, value] : address.members()) {
    w.Key(key);
    if (value) {
      w.String(*value);
    } else {
      w.Null();
    }
  }
  w.EndObject();
}

void WriteTime(JsonWriter& w, const char* key, const std::optional<Timestamp>& t) {
  if (!t) return;
  w.Key(key);
  w.String(FormatRfc3339(*t));
}

void WriteText(JsonWriter& w, const char* key, const std::string& text) {
  if (text.empty()) return;
  w.Key(key);
  w.String(text);
}

}  // namespace

// The same members as core::ShipmentToJson and core::RowToJson (less `_document`): a test
// holds the two to the same JSON.
void WriteShipmentItem(JsonWriter& w, const core::ShipmentRow& row, Names& names,
                       const storage::sqlite::ExceptionItem* exception) {
  const core::Shipment& s = row.shipment;
  w.BeginObject();
  w.Key("id");
  w.String(s.id);
  WriteText(w, "reference", s.reference);
  WriteText(w, "customerId", s.customer_id);
  WriteText(w, "carrierId", s.carrier_id);
  WriteText(w, "service", s.service);
  w.Key("status");
  w.String(core::ToString(s.status));
  WriteTime(w, "statusChangedAt", s.status_changed_at);
  w.Key("origin");
  WriteAddress(w, s.origin);
  w.Key("destination");
  WriteAddress(w, s.destination);
  if (s.weight_kg) {
    w.Key("weightKg");
    w.Double(*s.weight_kg);
  }
  if (s.declared_value) {
    w.Key("declaredValue");
    w.Double(*s.declared_value);
  }
  WriteText(w, "currency", s.currency);
  w.Key("createdAt");
  w.String(FormatRfc3339(s.created_at));
  WriteTime(w, "promisedDeliveryAt", s.promised_delivery_at);
  WriteTime(w, "pickedUpAt", s.picked_up_at);
  WriteTime(w, "outForDeliveryAt", s.out_for_delivery_at);
  WriteTime(w, "deliveredAt", s.delivered_at);
  w.Key("sla");
  w.BeginObject();
  w.Key("status");
  w.String(core::ToString(row.sla.status));
  w.Key("nextChangeAt");
  if (row.sla.next_change_at) {
    w.String(FormatRfc3339(*row.sla.next_change_at));
  } else {
    w.Null();
  }
  w.EndObject();
  w.Key("lastEvent");
  if (row.last_event) {
    w.BeginObject();
    w.Key("code");
    w.String(row.last_event->code);
    w.Key("occurredAt");
    w.String(FormatRfc3339(row.last_event->occurred_at));
    w.Key("location");
    w.String(row.last_event->location);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("_schemaVersion");
  w.Int(row.schema_version);
  w.Key("customerName");
  WriteJsonValue(w, names.CustomerName(s.customer_id));
  w.Key("carrierName");
  WriteJsonValue(w, names.CarrierName(s.carrier_id));
  w.Key("serviceLevel");
  WriteJsonValue(w, names.ServiceLevel(s.carrier_id, s.service));
  if (exception != nullptr) {
    w.Key("reason");
    w.String(exception->reason);
    w.Key("urgency");
    w.Int(exception->urgency);
  }
  w.EndObject();
}

json DailyMetricsRowJson(const std::vector<std::string>& fields,
                         const storage::sqlite::DailyMetricsRow& row) {
  json out = json::object();
  for (size_t i = 0; i < fields.size() && i < row.key.size(); ++i) out[fields[i]] = row.key[i];
  out["shipments"] = row.shipments;
  out["weightKg"] = core::FromFixedPoint(row.weight_kg_micro);
  out["declaredValue"] = core::FromFixedPoint(row.declared_value_micro);
  return out;
}

json CarrierPerformanceRowJson(const storage::sqlite::AggregateRow& row, Names& names) {
  using View = core::CarrierPerformanceView;
  auto measure = [&](size_t i) { return i < row.measures.size() ? row.measures[i].second : 0; };
  std::vector<std::int64_t> buckets;
  for (size_t i = View::kFirstBucketMeasure; i < row.measures.size(); ++i) {
    buckets.push_back(row.measures[i].second);
  }
  std::int64_t delivered = measure(View::kDeliveredMeasure);
  std::int64_t on_time = measure(View::kDeliveredOnTimeMeasure);
  auto quantile = [&](double q) -> json {
    auto hours = core::TransitQuantileHours(buckets, q);
    return hours ? json(*hours) : json(nullptr);
  };
  std::string carrier = row.key.size() > 0 ? row.key[0] : "";
  return {{"carrierId", carrier},
          {"carrierName", names.CarrierName(carrier)},
          {"week", row.key.size() > 1 ? row.key[1] : ""},
          {"shipped", measure(View::kShippedMeasure)},
          {"delivered", delivered},
          {"deliveredOnTime", on_time},
          {"onTimeRate", delivered > 0
                             ? json(static_cast<double>(on_time) / static_cast<double>(delivered))
                             : json(nullptr)},
          {"transitHours", {{"p50", quantile(0.5)}, {"p95", quantile(0.95)}}}};
}

json CustomerSummaryItem(const storage::sqlite::CustomerSummaryRow& row, Names& names) {
  return {{"customerId", row.customer_id},
          {"customerName", names.CustomerName(row.customer_id)},
          {"shipments", row.shipments},
          {"open", row.open},
          {"delivered", row.delivered},
          {"exceptions", row.exceptions},
          {"declaredValue", core::FromFixedPoint(row.declared_value_micro)},
          {"lastShipmentAt", row.last_shipment_at
                                 ? json(FormatRfc3339(FromMillis(*row.last_shipment_at)))
                                 : json(nullptr)}};
}

}  // namespace mv::http
