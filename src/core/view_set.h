#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/aggregate_view.h"
#include "core/shipment_row.h"

namespace mv::core {

// The logical views the engine maintains. mv_shipment_list is the projection itself and
// mv_exception_queue a filtered, ordered index of it; both are always present. The
// aggregate views are derived from the projection. Besides the views, the engine keeps
// one internal table, mv_tracking_state: the summary of each shipment's tracking events
// (the state of the shipment-events join). Immutable after construction, so thread-safe.
class ViewSet {
 public:
  static constexpr const char* kShipmentList = "mv_shipment_list";
  static constexpr const char* kTrackingState = "mv_tracking_state";
  static constexpr const char* kDailyMetrics = "mv_daily_metrics";
  static constexpr int kTrackingStateVersion = 2;

  // The views of this release.
  static ViewSet Default();

  const std::vector<std::unique_ptr<AggregateView>>& aggregates() const { return aggregates_; }
  const AggregateView* FindAggregate(const std::string& name) const;
  // Every view name, mv_shipment_list first, then mv_exception_queue, then the aggregates.
  std::vector<std::string> Names() const;
  // The version of the named view's (or the tracking state's) definition; 0 if there is
  // no such view.
  int VersionOf(const std::string& name) const;

  // Every aggregate is keyed by org first: a tenant's rows are its own, and a rebuild,
  // scanning in (org, id) order, has an org's rows complete once it has passed the org.
  // Aborts for a view keyed otherwise (a programming error).
  void AddAggregate(std::unique_ptr<AggregateView> view);

 private:
  std::vector<std::unique_ptr<AggregateView>> aggregates_;
};

}  // namespace mv::core
