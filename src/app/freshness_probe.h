#pragma once

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/change_event.h"
#include "metrics/metrics.h"

namespace mv::app {

// How fresh the views are against the source, as every role sees it (a replica reads the
// same checkpoint): lag in events and seconds, the checkpoint's age, staleness per view
// and org, and the dead letters stored. The application reads the stores at each scrape
// and hands the reading to Update(). Thread-safe.
class FreshnessProbe {
 public:
  struct Options {
    std::vector<std::string> views;
    double staleness_target_seconds = 1.0;
    std::vector<std::string> org_allow;  // empty: the first max_orgs orgs seen
    size_t max_orgs = 100;
  };
  FreshnessProbe(prometheus::Registry& registry, Options options);

  struct Reading {
    core::ChangeToken applied = 0;
    bool caught_up = true;                   // the views hold every change the source committed
    std::optional<std::int64_t> lag_events;  // nullopt: tokens do not count changes
    double lag_seconds = 0;
    // Seconds since the oldest change not applied, per org with one.
    std::map<std::string, double> staleness_by_org;
    std::optional<std::int64_t> dead_letters;  // nullopt: could not be read
  };
  void Update(const Reading& reading, std::chrono::steady_clock::time_point now);
  // Orgs whose changes the views hold: each has a staleness series (0) from then on.
  void OrgsSeen(const std::vector<std::string>& orgs);

 private:
  const std::vector<std::string> views_;
  metrics::OrgLabels org_labels_;
  prometheus::Gauge& lag_events_;
  prometheus::Gauge& lag_seconds_;
  prometheus::Gauge& checkpoint_age_;
  prometheus::Family<prometheus::Gauge>& staleness_;
  prometheus::Gauge& dead_letters_;
  std::mutex mu_;
  std::set<std::string> labels_shown_;             // guarded by mu_
  std::optional<core::ChangeToken> last_applied_;  // guarded by mu_
  bool behind_ = false;                            // guarded by mu_
  // Since when the checkpoint has stood still while behind; guarded by mu_.
  std::chrono::steady_clock::time_point still_since_;
};

}  // namespace mv::app
