#include "app/freshness_probe.h"

#include <algorithm>

namespace mv::app {

using prometheus::BuildGauge;

FreshnessProbe::FreshnessProbe(prometheus::Registry& r, Options options)
    : views_(std::move(options.views)),
      org_labels_(std::move(options.org_allow), options.max_orgs),
      lag_events_(BuildGauge()
                      .Name("viya_mv_change_stream_lag_events")
                      .Help("Changes committed to the source but not yet applied to the views")
                      .Register(r)
                      .Add({})),
      lag_seconds_(BuildGauge()
                       .Name("viya_mv_change_stream_lag_seconds")
                       .Help("How far behind the source the views are, in seconds: the source's "
                             "newest change time less the applied one's (MongoDB), or the age "
                             "of the oldest change not applied")
                       .Register(r)
                       .Add({})),
      checkpoint_age_(BuildGauge()
                          .Name("viya_mv_checkpoint_age_seconds")
                          .Help("Seconds the applied checkpoint has stood still while changes "
                                "wait after it; 0 when the views hold every change")
                          .Register(r)
                          .Add({})),
      staleness_(BuildGauge()
                     .Name("viya_mv_staleness_seconds")
                     .Help("Age of the oldest change not yet applied to the view, per org (0: "
                           "fresh). Orgs past the label cap are org=\"other\" (their maximum)")
                     .Register(r)),
      dead_letters_(BuildGauge()
                        .Name("viya_mv_dead_letters")
                        .Help("Dead letters stored: changes the stream could not project, "
                              "not yet retried successfully")
                        .Register(r)
                        .Add({})) {
  BuildGauge()
      .Name("viya_mv_staleness_target_seconds")
      .Help("The staleness the views aim to stay under (metrics.staleness_target_ms)")
      .Register(r)
      .Add({})
      .Set(options.staleness_target_seconds);
}

void FreshnessProbe::Update(const Reading& reading, std::chrono::steady_clock::time_point now) {
  lag_events_.Set(static_cast<double>(reading.lag_events.value_or(0)));
  lag_seconds_.Set(reading.lag_seconds);
  if (reading.dead_letters) dead_letters_.Set(static_cast<double>(*reading.dead_letters));

  std::map<std::string, double> by_label;
  for (const auto& [org, seconds] : reading.staleness_by_org) {
    double& shown = by_label[org_labels_.Of(org)];
    shown = std::max(shown, seconds);  // "other" shows its stalest org
  }
  std::lock_guard lock(mu_);
  // Scraped, not pushed: the checkpoint counts as moved when a scrape first sees it moved.
  // It falls behind when a scrape first sees it behind (a lower bound: no false alarms).
  if (reading.caught_up || !behind_ || last_applied_ != reading.applied) still_since_ = now;
  last_applied_ = reading.applied;
  behind_ = !reading.caught_up;
  checkpoint_age_.Set(std::chrono::duration<double>(now - still_since_).count());
  for (const auto& [label, seconds] : by_label) labels_shown_.insert(label);
  // Every view commits in the same transaction as the others, so an org's changes wait
  // for all of them alike; the series per view let alerts and panels name the view.
  for (const auto& label : labels_shown_) {
    auto it = by_label.find(label);
    double value = it == by_label.end() ? 0.0 : it->second;
    for (const auto& view : views_) staleness_.Add({{"mv", view}, {"org", label}}).Set(value);
  }
}

void FreshnessProbe::OrgsSeen(const std::vector<std::string>& orgs) {
  std::lock_guard lock(mu_);
  for (const auto& org : orgs) {
    std::string label = org_labels_.Of(org);
    if (!labels_shown_.insert(label).second) continue;
    for (const auto& view : views_) staleness_.Add({{"mv", view}, {"org", label}}).Set(0);
  }
}

}  // namespace mv::app
