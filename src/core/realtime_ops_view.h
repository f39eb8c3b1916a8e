#pragma once

#include "core/aggregate_view.h"

namespace mv::core {

// mv_realtime_ops: one row per org, the live board. Measures, in order: shipments, one
// count per status (booked .. cancelled), open, at_risk, breached, exceptions. No maxima.
class RealtimeOpsView final : public AggregateView {
 public:
  RealtimeOpsView();
  const AggregateViewSpec& spec() const override { return spec_; }
  // Every shipment contributes exactly one row, keyed by its org.
  void Contribute(const ShipmentRow& row, ContributionSink& sink) const override;

  static constexpr size_t kOpenMeasure = 1 + kShipmentStatusCount;
  static constexpr size_t kAtRiskMeasure = kOpenMeasure + 1;
  static constexpr size_t kBreachedMeasure = kOpenMeasure + 2;
  static constexpr size_t kExceptionsMeasure = kOpenMeasure + 3;

 private:
  AggregateViewSpec spec_;
};

}  // namespace mv::core
