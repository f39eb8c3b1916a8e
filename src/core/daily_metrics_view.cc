#include "core/daily_metrics_view.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>

namespace mv::core {

std::string UtcDate(Timestamp t) {
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

DailyMetricsView::DailyMetricsView() {
  spec_.name = "mv_daily_metrics";
  spec_.version = 2;
  spec_.key_columns = {
      "org", "day", "carrier_id", "service", "origin_country", "destination_country", "status"};
  spec_.measure_columns = {"shipments", "weight_kg_micro", "declared_value_micro"};
}

void DailyMetricsView::Contribute(const ShipmentRow& row, std::vector<Contribution>* out) const {
  const Shipment& s = row.shipment;
  Contribution c;
  c.key = {row.org,
           UtcDate(s.created_at),
           s.carrier_id,
           s.service,
           s.origin.Get("country"),
           s.destination.Get("country"),
           std::string(ToString(s.status))};
  c.measures.assign(spec_.measure_columns.size(), 0);
  c.measures[kShipmentsMeasure] = 1;
  c.measures[kWeightMeasure] = ToFixedPoint(s.weight_kg);
  c.measures[kDeclaredValueMeasure] = ToFixedPoint(s.declared_value);
  out->push_back(std::move(c));
}

}  // namespace mv::core
