#include "core/view_set.h"

#include <algorithm>
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

void ViewSet::AddPreviousVersion(std::unique_ptr<AggregateView> view) {
  const AggregateView* newest = FindAggregate(view->spec().name);
  if (newest == nullptr || newest->spec().version <= view->spec().version ||
      PreviousOf(view->spec().name) != nullptr) {
    std::fprintf(stderr, "view %s v%d cannot be a previous version\n", view->spec().name.c_str(),
                 view->spec().version);
    std::abort();
  }
  previous_.push_back(std::move(view));
}

namespace {

// The same rows under a newer version number.
class NextVersionView final : public AggregateView {
 public:
  explicit NextVersionView(const AggregateView& base) : base_(base), spec_(base.spec()) {
    spec_.version += 1;
  }
  const AggregateViewSpec& spec() const override { return spec_; }
  void Contribute(const ShipmentRow& row, ContributionSink& sink) const override {
    base_.Contribute(row, sink);
  }

 private:
  const AggregateView& base_;
  AggregateViewSpec spec_;
};

}  // namespace

Status ViewSet::AddNextVersionForTest(const std::string& name) {
  auto it = std::find_if(aggregates_.begin(), aggregates_.end(),
                         [&](const auto& v) { return v->spec().name == name; });
  if (it == aggregates_.end()) return Status::InvalidArgument("no aggregate view " + name);
  if (PreviousOf(name) != nullptr) return Status::InvalidArgument(name + " has a previous version");
  previous_.push_back(std::move(*it));
  *it = std::make_unique<NextVersionView>(*previous_.back());
  return Status::Ok();
}

const AggregateView* ViewSet::PreviousOf(const std::string& name) const {
  for (const auto& v : previous_) {
    if (v->spec().name == name) return v.get();
  }
  return nullptr;
}

const AggregateView* ViewSet::Definition(const std::string& name, int version) const {
  const AggregateView* newest = FindAggregate(name);
  if (newest != nullptr && newest->spec().version == version) return newest;
  const AggregateView* previous = PreviousOf(name);
  if (previous != nullptr && previous->spec().version == version) return previous;
  return nullptr;
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
