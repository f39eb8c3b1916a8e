#include "http/rows.h"

#include "base/time.h"
#include "core/aggregate_view.h"
#include "core/carrier_performance_view.h"
#include "core/realtime_ops_view.h"

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
    w.EscapedKey(key);
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
  w.Time(*t);
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
                       const api::ExceptionItem* exception) {
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
  w.Time(s.created_at);
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
    w.Time(*row.sla.next_change_at);
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
    w.Time(row.last_event->occurred_at);
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

void WriteDailyMetricsRow(JsonWriter& w, const std::vector<std::string>& fields,
                          const api::DailyMetricsRow& row) {
  w.BeginObject();
  for (size_t i = 0; i < fields.size() && i < row.key.size(); ++i) {
    w.Key(fields[i]);
    w.String(row.key[i]);
  }
  w.Key("shipments");
  w.Int(row.shipments);
  w.Key("weightKg");
  w.Double(core::FromFixedPoint(row.weight_kg_micro));
  w.Key("declaredValue");
  w.Double(core::FromFixedPoint(row.declared_value_micro));
  w.EndObject();
}

void WriteCarrierPerformanceRow(JsonWriter& w, const api::AggregateRow& row, Names& names,
                                std::vector<std::int64_t>& buckets) {
  using View = core::CarrierPerformanceView;
  auto measure = [&](size_t i) { return i < row.measures.size() ? row.measures[i] : 0; };
  buckets.clear();
  for (size_t i = View::kFirstBucketMeasure; i < row.measures.size(); ++i) {
    buckets.push_back(row.measures[i]);
  }
  std::int64_t delivered = measure(View::kDeliveredMeasure);
  std::int64_t on_time = measure(View::kDeliveredOnTimeMeasure);
  auto quantile = [&](const char* key, double q) {
    w.Key(key);
    if (auto hours = core::TransitQuantileHours(buckets, q)) {
      w.Double(*hours);
    } else {
      w.Null();
    }
  };
  std::string carrier = row.key.size() > 0 ? row.key[0] : "";
  w.BeginObject();
  w.Key("carrierId");
  w.String(carrier);
  w.Key("carrierName");
  WriteJsonValue(w, names.CarrierName(carrier));
  w.Key("week");
  w.String(row.key.size() > 1 ? row.key[1] : "");
  w.Key("shipped");
  w.Int(measure(View::kShippedMeasure));
  w.Key("delivered");
  w.Int(delivered);
  w.Key("deliveredOnTime");
  w.Int(on_time);
  w.Key("onTimeRate");
  if (delivered > 0) {
    w.Double(static_cast<double>(on_time) / static_cast<double>(delivered));
  } else {
    w.Null();
  }
  w.Key("transitHours");
  w.BeginObject();
  quantile("p50", 0.5);
  quantile("p95", 0.95);
  w.EndObject();
  w.EndObject();
}

void WriteCustomerSummaryItem(JsonWriter& w, const api::CustomerSummaryRow& row, Names& names) {
  w.BeginObject();
  w.Key("customerId");
  w.String(row.customer_id);
  w.Key("customerName");
  WriteJsonValue(w, names.CustomerName(row.customer_id));
  w.Key("shipments");
  w.Int(row.shipments);
  w.Key("open");
  w.Int(row.open);
  w.Key("delivered");
  w.Int(row.delivered);
  w.Key("exceptions");
  w.Int(row.exceptions);
  w.Key("declaredValue");
  w.Double(core::FromFixedPoint(row.declared_value_micro));
  w.Key("lastShipmentAt");
  if (row.last_shipment_at) {
    w.Time(FromMillis(*row.last_shipment_at));
  } else {
    w.Null();
  }
  w.Key("_schemaVersion");
  w.Int(row.schema_version);
  w.EndObject();
}

void WriteRealtimeBoard(JsonWriter& w, const std::string& org,
                        const std::vector<api::AggregateRow>& rows) {
  // Measures in spec order: shipments, status_<each status>, open, at_risk, breached,
  // exceptions (core/realtime_ops_view.h).
  using View = core::RealtimeOpsView;
  static const int kVersion = View().spec().version;
  std::vector<std::int64_t> m(View::kExceptionsMeasure + 1, 0);
  int schema_version = kVersion;
  if (!rows.empty()) {
    const auto& measures = rows.front().measures;
    for (size_t i = 0; i < measures.size() && i < m.size(); ++i) m[i] = measures[i];
    schema_version = rows.front().schema_version;
  }
  w.BeginObject();
  w.Key("org");
  w.String(org);
  w.Key("shipments");
  w.Int(m[0]);
  w.Key("byStatus");
  w.BeginObject();
  for (size_t i = 0; i < core::kShipmentStatusCount; ++i) {
    w.Key(core::ToString(static_cast<core::ShipmentStatus>(i)));
    w.Int(m[1 + i]);
  }
  w.EndObject();
  w.Key("open");
  w.Int(m[View::kOpenMeasure]);
  w.Key("atRisk");
  w.Int(m[View::kAtRiskMeasure]);
  w.Key("breached");
  w.Int(m[View::kBreachedMeasure]);
  w.Key("exceptions");
  w.Int(m[View::kExceptionsMeasure]);
  w.Key("_schemaVersion");
  w.Int(schema_version);
  w.EndObject();
}

}  // namespace mv::http
