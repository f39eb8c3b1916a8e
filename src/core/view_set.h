#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/aggregate_view.h"
#include "core/shipment_row.h"

namespace mv::core {

// The logical views the engine maintains. mv_shipment_list is the projection itself and
// mv_exception_queue a filtered, ordered index of it; both are always present. The
// aggregate views are derived from the projection. Besides the views, the engine keeps
// one internal table, mv_tracking_state: the summary of each shipment's tracking events
// (the state of the shipment-events join).
//
// An aggregate view may also keep its previous definition (blue/green, DESIGN.md section
// 6): a release that changes a view's definition carries the old one too, so that the
// stored old version keeps being maintained while the new one is built beside it, and
// stays maintained after the switch for a rollback. Immutable after construction, so
// thread-safe.
class ViewSet {
 public:
  static constexpr const char* kShipmentList = "mv_shipment_list";
  static constexpr const char* kTrackingState = "mv_tracking_state";
  static constexpr const char* kDailyMetrics = "mv_daily_metrics";
  static constexpr int kTrackingStateVersion = 2;

  // The views of this release.
  static ViewSet Default();

  const std::vector<std::unique_ptr<AggregateView>>& aggregates() const { return aggregates_; }
  // The newest definition of the named aggregate view, or null.
  const AggregateView* FindAggregate(const std::string& name) const;
  // The previous definitions kept beside the newest ones, at most one per view.
  const std::vector<std::unique_ptr<AggregateView>>& previous() const { return previous_; }
  const AggregateView* PreviousOf(const std::string& name) const;
  // The named view's definition at `version` (the newest or the previous one), or null.
  const AggregateView* Definition(const std::string& name, int version) const;
  // Every view name, mv_shipment_list first, then mv_exception_queue, then the aggregates.
  std::vector<std::string> Names() const;
  // The version of the named view's (or the tracking state's) definition; 0 if there is
  // no such view.
  int VersionOf(const std::string& name) const;

  // Every aggregate is keyed by org first: a tenant's rows are its own, and a rebuild,
  // scanning in (org, id) order, has an org's rows complete once it has passed the org.
  // Aborts for a view keyed otherwise (a programming error).
  void AddAggregate(std::unique_ptr<AggregateView> view);
  // Keeps `view` as the previous definition of the aggregate of its name, which must have
  // been added, at a higher version, and have no previous one yet (else aborts).
  void AddPreviousVersion(std::unique_ptr<AggregateView> view);
  // For tests of the blue/green path: the named aggregate gets a definition one version
  // newer that computes the same rows, and its definition so far becomes the previous
  // one. InvalidArgument for a name that is no aggregate or already has a previous one.
  Status AddNextVersionForTest(const std::string& name);

 private:
  std::vector<std::unique_ptr<AggregateView>> aggregates_;
  std::vector<std::unique_ptr<AggregateView>> previous_;
};

}  // namespace mv::core
