#pragma once

#include "core/aggregate_view.h"

namespace mv::core {

// mv_customer_summary: one row per (org, customer_id); every shipment contributes to
// exactly one row, a shipment without a customer to customer_id "". Both key columns are
// also columns of mv_shipment_list, from which the store recomputes the maximum.
// Measures, in order:
//   shipments             the row count
//   open                  status not terminal
//   delivered             status delivered
//   exceptions            status exception
//   declared_value_micro  sum of declaredValue in fixed point (ToFixedPoint)
// Max measures: last_shipment_at, the latest createdAt in epoch milliseconds
// (mv_shipment_list column created_at).
// Indexes: (org, <measure>, customer_id) for each sortable column, for keyset pagination.
class CustomerSummaryView final : public AggregateView {
 public:
  static constexpr size_t kShipmentsMeasure = 0;
  static constexpr size_t kOpenMeasure = 1;
  static constexpr size_t kDeliveredMeasure = 2;
  static constexpr size_t kExceptionsMeasure = 3;
  static constexpr size_t kDeclaredValueMeasure = 4;
  static constexpr size_t kLastShipmentAtMax = 0;

  CustomerSummaryView();
  const AggregateViewSpec& spec() const override { return spec_; }
  void Contribute(const ShipmentRow& row, ContributionSink& sink) const override;

 private:
  AggregateViewSpec spec_;
};

}  // namespace mv::core
