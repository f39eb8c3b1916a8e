#include "http/rows.h"

#include "base/time.h"
#include "core/aggregate_view.h"
#include "core/carrier_performance_view.h"

namespace mv::http {

using nlohmann::json;

Result<json> ShipmentItem(std::string_view stored, Names& names) {
  json item = json::parse(stored, nullptr, /*allow_exceptions=*/false);
  if (!item.is_object()) return Status::Corruption("stored shipment row is not a JSON object");
  item.erase("_document");
  auto text = [&](const char* field) {
    auto it = item.find(field);
    return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string carrier = text("carrierId");
  item["customerName"] = names.CustomerName(text("customerId"));
  item["carrierName"] = names.CarrierName(carrier);
  item["serviceLevel"] = names.ServiceLevel(carrier, text("service"));
  return item;
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
