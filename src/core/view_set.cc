#include "core/view_set.h"

#include "core/realtime_ops_view.h"

namespace mv::core {

ViewSet ViewSet::Default() {
  ViewSet set;
  set.AddAggregate(std::make_unique<RealtimeOpsView>());
  return set;
}

const AggregateView* ViewSet::FindAggregate(const std::string& name) const {
  for (const auto& v : aggregates_) {
    if (v->spec().name == name) return v.get();
  }
  return nullptr;
}

std::vector<std::string> ViewSet::Names() const {
  std::vector<std::string> names{kShipmentList};
  for (const auto& v : aggregates_) names.push_back(v->spec().name);
  return names;
}

int ViewSet::VersionOf(const std::string& name) const {
  if (name == kShipmentList) return kShipmentListSchemaVersion;
  const AggregateView* v = FindAggregate(name);
  return v ? v->spec().version : 0;
}

}  // namespace mv::core
