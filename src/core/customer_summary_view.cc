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

void CustomerSummaryView::Contribute(const ShipmentRow& row, std::vector<Contribution>* out) const {
  const Shipment& s = row.shipment;
  Contribution c;
  c.key = {row.org, s.customer_id};
  c.measures.assign(spec_.measure_columns.size(), 0);
  c.measures[kShipmentsMeasure] = 1;
  c.measures[kOpenMeasure] = row.IsOpen();
  c.measures[kDeliveredMeasure] = s.status == ShipmentStatus::kDelivered;
  c.measures[kExceptionsMeasure] = s.status == ShipmentStatus::kException;
  c.measures[kDeclaredValueMeasure] = ToFixedPoint(s.declared_value);
  c.maxima.assign(1, 0);
  c.maxima[kLastShipmentAtMax] = ToMillis(s.created_at);
  out->push_back(std::move(c));
}

}  // namespace mv::core
