#pragma once

#include <string>

#include "base/clock.h"
#include "core/aggregate_view.h"

namespace mv::core {

// mv_daily_metrics: one row per (org, day, carrier_id, service, origin_country,
// destination_country, status); every shipment contributes to exactly one row. `day` is
// the UTC date of createdAt; a country that is missing or not a string is "". Measures,
// in order: shipments, weight_kg_micro, declared_value_micro (sums in fixed point, see
// ToFixedPoint; an absent weight or value adds 0). No maxima.
class DailyMetricsView final : public AggregateView {
 public:
  DailyMetricsView();
  const AggregateViewSpec& spec() const override { return spec_; }
  void Contribute(const ShipmentRow& row, ContributionSink& sink) const override;

  static constexpr size_t kShipmentsMeasure = 0;
  static constexpr size_t kWeightMeasure = 1;
  static constexpr size_t kDeclaredValueMeasure = 2;

 private:
  AggregateViewSpec spec_;
};

// The UTC calendar date of `t`: "2026-11-01".
std::string UtcDate(Timestamp t);
// The same into `buf` (at least 11 bytes), without allocating; returns the text.
std::string_view UtcDate(Timestamp t, char* buf);

}  // namespace mv::core
