#include "core/view_set.h"

#include <cstdio>
#include <cstdlib>

#include "core/carrier_performance_view.h"
#include "core/customer_summary_view.h"
#include "core/daily_metrics_view.h"
#include "core/exception_queue.h"
#include "core/realtime_ops_view.h"

namespace mv::core {

ViewSet ViewSet::Default() {
  ViewSet set;
  set.AddAggregate(std::make_unique<RealtimeOpsView>());
  set.AddAggregate(std::make_unique<DailyMetricsView>());
  set.AddAggregate(std::make_unique<CarrierPerformanceView>());
  set.AddAggregate(std::make_unique<CustomerSummaryView>());
  return set;
}

void ViewSet::AddAggregate(std::unique_ptr<AggregateView> view) {
  const auto& keys = view->spec().key_columns;
  if (keys.empty() || keys.front() != "org") {
    std::fprintf(stderr, "view %s is not keyed by org first\n", view->spec().name.c_str());
    std::abort();
  }
  aggregates_.push_back(std::move(view));
}

const AggregateView* ViewSet::FindAggregate(const std::string& name) const {
  for (const auto& v : aggregates_) {
    if (v->spec().name == name) return v.get();
  }
  return nullptr;
}

std::vector<std::string> ViewSet::Names() const {
  std::vector<std::string> names{kShipmentList, kExceptionQueueView};
  for (const auto& v : aggregates_) names.push_back(v->spec().name);
  return names;
}

int ViewSet::VersionOf(const std::string& name) const {
  if (name == kShipmentList) return kShipmentListSchemaVersion;
  if (name == kExceptionQueueView) return kExceptionQueueVersion;
  if (name == kTrackingState) return kTrackingStateVersion;
  const AggregateView* v = FindAggregate(name);
  return v ? v->spec().version : 0;
}

}  // namespace mv::core
