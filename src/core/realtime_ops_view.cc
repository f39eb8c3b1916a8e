#include "core/realtime_ops_view.h"

#include <utility>

namespace mv::core {

RealtimeOpsView::RealtimeOpsView() {
  spec_.name = "mv_realtime_ops";
  spec_.version = 2;
  spec_.key_columns = {"org"};
  spec_.measure_columns = {"shipments"};
  for (size_t i = 0; i < kShipmentStatusCount; ++i) {
    spec_.measure_columns.push_back("status_" +
                                    std::string(ToString(static_cast<ShipmentStatus>(i))));
  }
  spec_.measure_columns.insert(spec_.measure_columns.end(),
                               {"open", "at_risk", "breached", "exceptions"});
}

void RealtimeOpsView::Contribute(const ShipmentRow& row, std::vector<Contribution>* out) const {
  Contribution c;
  c.key = {row.org};
  c.measures.assign(spec_.measure_columns.size(), 0);
  c.measures[0] = 1;
  c.measures[1 + static_cast<size_t>(row.shipment.status)] = 1;
  bool open = row.IsOpen();
  c.measures[kOpenMeasure] = open;
  c.measures[kAtRiskMeasure] = open && row.sla.status == SlaStatus::kAtRisk;
  c.measures[kBreachedMeasure] = open && row.sla.status == SlaStatus::kBreached;
  c.measures[kExceptionsMeasure] = row.shipment.status == ShipmentStatus::kException;
  out->push_back(std::move(c));
}

}  // namespace mv::core
