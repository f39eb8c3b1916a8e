#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"

namespace mv::metrics {

// Metrics of the stream worker and the views it maintains (DESIGN.md section 6).
// Thread-safe.
class StreamProbe {
 public:
  StreamProbe(prometheus::Registry& registry, std::vector<std::string> views);

  // One micro-batch committed: `events` consumed, `seconds` from read to commit,
  // `visible_lags` seconds from each event's write to its commit.
  void BatchApplied(size_t events, double seconds, const std::vector<double>& visible_lags);
  void SlaTickApplied(size_t rows, double seconds);
  // A rebuild or full refresh of `views` (empty: every view) took `seconds`.
  void RebuildDone(double seconds, const std::vector<std::string>& views = {});
  // Rows found mismatched per view by a comparison with the source (every view compared
  // is named, 0 when clean): a reconciliation, or a full refresh's corrections.
  void DriftMeasured(const std::map<std::string, std::int64_t>& mismatched_by_view);
  // A reconciliation finished at `unix_seconds`.
  void ReconcileDone(double unix_seconds);
  // Rows of `view` found unreadable and re-derived from the source: drift found outside
  // a reconciliation.
  void DriftFound(const std::string& view, std::int64_t rows);
  // error: history_lost | poison | storage | internal. An empty view means all views.
  void Error(const std::string& error, const std::string& view = "");
  void SetLag(std::int64_t events);
  // How far behind the source the views are, in seconds (viya_mv_change_stream_lag_seconds).
  void SetLagSeconds(double seconds);
  // Per-org staleness: seconds since the oldest change not yet applied; orgs not named
  // are fresh (0).
  void SetStaleness(const std::map<std::string, double>& seconds_by_org);
  // Orgs whose changes were applied: each has a staleness series from then on.
  void OrgsSeen(const std::vector<std::string>& orgs);
  double ErrorCount(const std::string& error, const std::string& view) const;

 private:
  std::vector<std::string> views_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Gauge& lag_seconds_;
  prometheus::Family<prometheus::Gauge>& staleness_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& refresh_;
  prometheus::Family<prometheus::Gauge>& drift_;
  prometheus::Gauge& reconcile_last_run_;
  prometheus::Counter& events_applied_;
  prometheus::Counter& batches_applied_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& visible_latency_;
  mutable std::mutex mu_;
  std::set<std::string> known_orgs_;  // guarded by mu_
};

// Metrics of the scheduled jobs. Thread-safe.
class JobProbe {
 public:
  explicit JobProbe(prometheus::Registry& registry);
  // A job exists: its series start at 0.
  void Declare(const std::string& job);
  // A run of `job` ended; `consecutive_failures` after it; `unix_seconds` when.
  void RunDone(const std::string& job, bool success, std::int64_t consecutive_failures,
               double unix_seconds);

 private:
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Gauge>& consecutive_failures_;
  prometheus::Family<prometheus::Gauge>& last_success_;
};

// Metrics of the HTTP API. Thread-safe.
class HttpProbe {
 public:
  explicit HttpProbe(prometheus::Registry& registry);
  // `route` is the pattern ("/v1/shipments/{id}"), never the raw path; a method other
  // than the standard ones counts as "other".
  void Request(const std::string& method, const std::string& route, int status, double seconds);
  // The server's own figures, read when metrics are collected: open connections, and
  // totals of connections refused at the limit, cut by a timeout, and refused requests.
  void ServerFigures(std::int64_t connections, std::int64_t refused_total,
                     std::int64_t timeouts_total, std::int64_t bad_requests_total);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge& connections_;
  prometheus::Counter& refused_;
  prometheus::Counter& timeouts_;
  prometheus::Counter& bad_requests_;
  std::mutex mu_;
  std::int64_t reported_[3] = {0, 0, 0};  // guarded by mu_
  // The series of each (method, route, status) seen, found without building labels.
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };
  std::shared_mutex series_mu_;
  std::unordered_map<std::string, Series> series_;  // guarded by series_mu_
};

// The process's metric registry and its probes. Thread-safe.
class Metrics {
 public:
  explicit Metrics(std::vector<std::string> views);

  StreamProbe& stream() { return *stream_; }
  HttpProbe& http() { return *http_; }
  JobProbe& jobs() { return *jobs_; }
  prometheus::Registry& registry() { return *registry_; }

  // Runs before every Serialize(), to refresh gauges that are read on demand.
  void OnCollect(std::function<void()> hook);
  // The Prometheus text exposition format.
  std::string Serialize();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<StreamProbe> stream_;
  std::unique_ptr<HttpProbe> http_;
  std::unique_ptr<JobProbe> jobs_;
  std::mutex hooks_mu_;
  std::vector<std::function<void()>> hooks_;  // guarded by hooks_mu_
};

}  // namespace mv::metrics
