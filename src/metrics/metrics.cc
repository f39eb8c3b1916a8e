#include "metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <set>

namespace mv::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace

StreamProbe::StreamProbe(prometheus::Registry& r, std::vector<std::string> views)
    : views_(std::move(views)),
      lag_(BuildGauge()
               .Name("viya_mv_change_stream_lag_events")
               .Help("Changes committed to the source but not yet applied to the view")
               .Register(r)),
      lag_seconds_(BuildGauge()
                       .Name("viya_mv_change_stream_lag_seconds")
                       .Help("How far behind the source the views are, in seconds: the source's "
                             "newest change time less the applied one's (MongoDB), or the age "
                             "of the oldest change not applied")
                       .Register(r)
                       .Add({})),
      staleness_(BuildGauge()
                     .Name("viya_mv_staleness_seconds")
                     .Help("Age of the oldest change not yet applied to the view, per org")
                     .Register(r)),
      errors_(BuildCounter()
                  .Name("viya_mv_error_total")
                  .Help("Errors of view maintenance, by view and kind")
                  .Register(r)),
      refresh_(
          BuildHistogram()
              .Name("viya_mv_refresh_duration_seconds")
              .Help("Time to refresh a view: one micro-batch (incremental) or a rebuild (full)")
              .Register(r)),
      drift_(BuildGauge()
                 .Name("viya_mv_drift_count")
                 .Help("Rows found mismatched with the source by the last reconciliation "
                       "(plus unreadable rows re-derived since)")
                 .Register(r)),
      reconcile_last_run_(BuildGauge()
                              .Name("viya_mv_reconcile_last_run_timestamp_seconds")
                              .Help("When the last reconciliation finished (Unix time)")
                              .Register(r)
                              .Add({})),
      events_applied_(BuildCounter()
                          .Name("viya_mv_events_applied_total")
                          .Help("Change events applied to the views")
                          .Register(r)
                          .Add({})),
      batches_applied_(BuildCounter()
                           .Name("viya_mv_batches_applied_total")
                           .Help("Micro-batches committed")
                           .Register(r)
                           .Add({})),
      batch_size_(BuildHistogram()
                      .Name("viya_mv_batch_events")
                      .Help("Change events per micro-batch")
                      .Register(r)
                      .Add({}, Histogram::BucketBoundaries{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000,
                                                           2500, 5000, 10000})),
      visible_latency_(BuildHistogram()
                           .Name("viya_mv_write_to_visible_seconds")
                           .Help("From a change's commit in the source to its commit in the views")
                           .Register(r)
                           .Add({}, LatencyBuckets())) {
  for (const auto& v : views_) {
    lag_.Add({{"mv", v}}).Set(0);
    drift_.Add({{"mv", v}}).Set(0);
    for (const char* type : {"incremental", "full"}) {
      refresh_.Add({{"mv", v}, {"type", type}}, LatencyBuckets());
    }
    for (const char* error : {"history_lost", "poison", "storage"}) {
      errors_.Add({{"mv", v}, {"error", error}});
    }
  }
}

void StreamProbe::BatchApplied(size_t events, double seconds,
                               const std::vector<double>& visible_lags) {
  events_applied_.Increment(static_cast<double>(events));
  batches_applied_.Increment();
  batch_size_.Observe(static_cast<double>(events));
  for (const auto& v : views_) {
    refresh_.Add({{"mv", v}, {"type", "incremental"}}, LatencyBuckets()).Observe(seconds);
  }
  for (double lag : visible_lags) visible_latency_.Observe(lag);
}

void StreamProbe::SlaTickApplied(size_t rows, double seconds) {
  (void)rows;
  for (const auto& v : views_) {
    refresh_.Add({{"mv", v}, {"type", "incremental"}}, LatencyBuckets()).Observe(seconds);
  }
}

void StreamProbe::RebuildDone(double seconds, const std::vector<std::string>& views) {
  for (const auto& v : views.empty() ? views_ : views) {
    refresh_.Add({{"mv", v}, {"type", "full"}}, LatencyBuckets()).Observe(seconds);
  }
}

void StreamProbe::DriftMeasured(const std::map<std::string, std::int64_t>& mismatched_by_view) {
  for (const auto& [view, rows] : mismatched_by_view) {
    drift_.Add({{"mv", view}}).Set(static_cast<double>(rows));
  }
}

void StreamProbe::ReconcileDone(double unix_seconds) { reconcile_last_run_.Set(unix_seconds); }

JobProbe::JobProbe(prometheus::Registry& r)
    : runs_(BuildCounter()
                .Name("viya_mv_job_runs_total")
                .Help("Runs of scheduled jobs, by job and outcome (success, failure)")
                .Register(r)),
      consecutive_failures_(BuildGauge()
                                .Name("viya_mv_job_consecutive_failures")
                                .Help("Failed runs of a job since its last success")
                                .Register(r)),
      last_success_(BuildGauge()
                        .Name("viya_mv_job_last_success_timestamp_seconds")
                        .Help("When a job last succeeded (Unix time; 0: never)")
                        .Register(r)) {}

void JobProbe::Declare(const std::string& job) {
  for (const char* outcome : {"success", "failure"})
    runs_.Add({{"job", job}, {"outcome", outcome}});
  consecutive_failures_.Add({{"job", job}});
  last_success_.Add({{"job", job}});
}

void JobProbe::RunDone(const std::string& job, bool success, std::int64_t consecutive_failures,
                       double unix_seconds) {
  runs_.Add({{"job", job}, {"outcome", success ? "success" : "failure"}}).Increment();
  consecutive_failures_.Add({{"job", job}}).Set(static_cast<double>(consecutive_failures));
  if (success) last_success_.Add({{"job", job}}).Set(unix_seconds);
}

void StreamProbe::DriftFound(const std::string& view, std::int64_t rows) {
  drift_.Add({{"mv", view}}).Increment(static_cast<double>(rows));
}

void StreamProbe::Error(const std::string& error, const std::string& view) {
  if (!view.empty()) {
    errors_.Add({{"mv", view}, {"error", error}}).Increment();
    return;
  }
  for (const auto& v : views_) errors_.Add({{"mv", v}, {"error", error}}).Increment();
}

double StreamProbe::ErrorCount(const std::string& error, const std::string& view) const {
  return errors_.Add({{"mv", view}, {"error", error}}).Value();
}

void StreamProbe::SetLag(std::int64_t events) {
  for (const auto& v : views_) lag_.Add({{"mv", v}}).Set(static_cast<double>(events));
}

void StreamProbe::SetLagSeconds(double seconds) { lag_seconds_.Set(seconds); }

void StreamProbe::SetStaleness(const std::map<std::string, double>& seconds_by_org) {
  std::lock_guard lock(mu_);
  for (const auto& [org, s] : seconds_by_org) known_orgs_.insert(org);
  for (const auto& org : known_orgs_) {
    auto it = seconds_by_org.find(org);
    double value = it == seconds_by_org.end() ? 0.0 : it->second;
    for (const auto& v : views_) staleness_.Add({{"mv", v}, {"org", org}}).Set(value);
  }
}

void StreamProbe::OrgsSeen(const std::vector<std::string>& orgs) {
  std::lock_guard lock(mu_);
  for (const auto& org : orgs) {
    if (!known_orgs_.insert(org).second) continue;
    for (const auto& v : views_) staleness_.Add({{"mv", v}, {"org", org}}).Set(0);
  }
}

HttpProbe::HttpProbe(prometheus::Registry& r)
    : requests_(BuildCounter()
                    .Name("viya_mv_http_requests_total")
                    .Help("HTTP requests by method, route and status")
                    .Register(r)),
      duration_(BuildHistogram()
                    .Name("viya_mv_http_request_duration_seconds")
                    .Help("HTTP request handling time by route")
                    .Register(r)),
      connections_(BuildGauge()
                       .Name("viya_mv_http_connections")
                       .Help("Open HTTP connections")
                       .Register(r)
                       .Add({})),
      refused_(BuildCounter()
                   .Name("viya_mv_http_connections_refused_total")
                   .Help("HTTP connections answered 503 at the connection limit")
                   .Register(r)
                   .Add({})),
      timeouts_(BuildCounter()
                    .Name("viya_mv_http_timeouts_total")
                    .Help("HTTP connections closed by a header, body, idle or write timeout")
                    .Register(r)
                    .Add({})),
      bad_requests_(BuildCounter()
                        .Name("viya_mv_http_bad_requests_total")
                        .Help("HTTP requests the server refused as malformed or too large")
                        .Register(r)
                        .Add({})) {}

void HttpProbe::Request(const std::string& method, const std::string& route, int status,
                        double seconds) {
  static const std::set<std::string> kMethods = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                                 "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  static const std::string kOther = "other";
  const std::string& shown = kMethods.count(method) ? method : kOther;
  std::string key = shown + ' ' + route + ' ' + std::to_string(status);
  Series series{};
  {
    std::shared_lock lock(series_mu_);
    if (auto it = series_.find(key); it != series_.end()) series = it->second;
  }
  if (series.requests == nullptr) {
    series.requests =
        &requests_.Add({{"method", shown}, {"route", route}, {"status", std::to_string(status)}});
    series.duration = &duration_.Add({{"method", shown}, {"route", route}}, LatencyBuckets());
    std::unique_lock lock(series_mu_);
    series_.emplace(std::move(key), series);
  }
  series.requests->Increment();
  series.duration->Observe(seconds);
}

void HttpProbe::ServerFigures(std::int64_t connections, std::int64_t refused_total,
                              std::int64_t timeouts_total, std::int64_t bad_requests_total) {
  connections_.Set(static_cast<double>(connections));
  std::lock_guard lock(mu_);
  std::int64_t totals[3] = {refused_total, timeouts_total, bad_requests_total};
  prometheus::Counter* counters[3] = {&refused_, &timeouts_, &bad_requests_};
  for (int i = 0; i < 3; ++i) {
    if (totals[i] > reported_[i])
      counters[i]->Increment(static_cast<double>(totals[i] - reported_[i]));
    reported_[i] = std::max(reported_[i], totals[i]);
  }
}

Metrics::Metrics(std::vector<std::string> views)
    : registry_(std::make_shared<prometheus::Registry>()),
      stream_(std::make_unique<StreamProbe>(*registry_, std::move(views))),
      http_(std::make_unique<HttpProbe>(*registry_)),
      jobs_(std::make_unique<JobProbe>(*registry_)) {}

void Metrics::OnCollect(std::function<void()> hook) {
  std::lock_guard lock(hooks_mu_);
  hooks_.push_back(std::move(hook));
}

std::string Metrics::Serialize() {
  {
    std::lock_guard lock(hooks_mu_);
    for (auto& hook : hooks_) hook();
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace mv::metrics
