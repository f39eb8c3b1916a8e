#include "core/customer_summary_view.h"

#include <utility>

#include "base/time.h"

namespace mv::core {

CustomerSummaryView::CustomerSummaryView() {
  spec_.name = "mv_customer_summary";
  spec_.version = 2;
  spec_.key_columns = {"org", "customer_id"};
  spec_.measure_columns = {"shipments", "open", "delivered", "exceptions", "declared_value_micro"};
  spec_.max_measures = {{"last_shipment_at", "created_at"}};
  spec_.indexes = {{"org", "shipments", "customer_id"},
                   {"org", "open", "customer_id"},
                   {"org", "declared_value_micro", "customer_id"},
                   {"org", "last_shipment_at", "customer_id"}};
}

void CustomerSummaryView::Contribute(const ShipmentRow& row, ContributionSink& sink) const {
  const Shipment& s = row.shipment;
  std::string_view key[] = {row.org, s.customer_id};
  MeasureValue measures[5];
  size_t n = 0;
  measures[n++] = {kShipmentsMeasure, 1};
  if (row.IsOpen()) measures[n++] = {kOpenMeasure, 1};
  if (s.status == ShipmentStatus::kDelivered) measures[n++] = {kDeliveredMeasure, 1};
  if (s.status == ShipmentStatus::kException) measures[n++] = {kExceptionsMeasure, 1};
  if (std::int64_t v = ToFixedPoint(s.declared_value)) measures[n++] = {kDeclaredValueMeasure, v};
  std::int64_t maxima[1];
  maxima[kLastShipmentAtMax] = ToMillis(s.created_at);
  sink.Add(key, std::span(measures, n), maxima);
}

}  // namespace mv::core
