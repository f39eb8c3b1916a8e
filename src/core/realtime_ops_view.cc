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

void RealtimeOpsView::Contribute(const ShipmentRow& row, ContributionSink& sink) const {
  std::string_view key[] = {row.org};
  MeasureValue measures[6];
  size_t n = 0;
  measures[n++] = {0, 1};
  measures[n++] = {1 + static_cast<size_t>(row.shipment.status), 1};
  bool open = row.IsOpen();
  if (open) measures[n++] = {kOpenMeasure, 1};
  if (open && row.sla.status == SlaStatus::kAtRisk) measures[n++] = {kAtRiskMeasure, 1};
  if (open && row.sla.status == SlaStatus::kBreached) measures[n++] = {kBreachedMeasure, 1};
  if (row.shipment.status == ShipmentStatus::kException) measures[n++] = {kExceptionsMeasure, 1};
  sink.Add(key, std::span(measures, n), {});
}

}  // namespace mv::core
