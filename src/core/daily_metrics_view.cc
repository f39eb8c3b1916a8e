#include "core/daily_metrics_view.h"

#include <fmt/format.h>

#include <chrono>
#include <utility>

namespace mv::core {

std::string_view UtcDate(Timestamp t, char* buf) {
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  auto end = fmt::format_to(buf, "{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()),
                            static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return std::string_view(buf, static_cast<size_t>(end - buf));
}

std::string UtcDate(Timestamp t) {
  char buf[32];
  return std::string(UtcDate(t, buf));
}

DailyMetricsView::DailyMetricsView() {
  spec_.name = "mv_daily_metrics";
  spec_.version = 2;
  spec_.key_columns = {
      "org", "day", "carrier_id", "service", "origin_country", "destination_country", "status"};
  spec_.measure_columns = {"shipments", "weight_kg_micro", "declared_value_micro"};
}

void DailyMetricsView::Contribute(const ShipmentRow& row, ContributionSink& sink) const {
  const Shipment& s = row.shipment;
  char day[32];
  std::string_view key[] = {
      row.org,           UtcDate(s.created_at, day), s.carrier_id,
      s.service,         s.origin.Value("country"),  s.destination.Value("country"),
      ToString(s.status)};
  MeasureValue measures[3];
  size_t n = 0;
  measures[n++] = {kShipmentsMeasure, 1};
  if (std::int64_t w = ToFixedPoint(s.weight_kg)) measures[n++] = {kWeightMeasure, w};
  if (std::int64_t v = ToFixedPoint(s.declared_value)) measures[n++] = {kDeclaredValueMeasure, v};
  sink.Add(key, std::span(measures, n), {});
}

}  // namespace mv::core
