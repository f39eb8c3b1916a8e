#include "worker/stream_probe.h"

#include <algorithm>

#include "metrics/metrics.h"

namespace mv::worker {
namespace {

using metrics::LatencyBuckets;
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

}  // namespace

StreamProbe::StreamProbe(prometheus::Registry& r, std::vector<std::string> views)
    : views_(std::move(views)),
      worker_up_(BuildGauge()
                     .Name("viya_mv_worker_up")
                     .Help("1 while the stream worker runs (holding its partition's lease), 0 "
                           "when it stopped, failed or waits for the lease")
                     .Register(r)
                     .Add({})),
      errors_(BuildCounter()
                  .Name("viya_mv_error_total")
                  .Help("Errors of view maintenance, by view (\"all\": not about one view) and "
                        "kind")
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
      drift_ratio_(BuildGauge()
                       .Name("viya_mv_drift_ratio")
                       .Help("Share of a view's rows the last reconciliation found mismatched "
                             "(0 to 1)")
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
    drift_.Add({{"mv", v}}).Set(0);
    drift_ratio_.Add({{"mv", v}}).Set(0);
    for (const char* type : {"incremental", "full"}) {
      refresh_.Add({{"mv", v}, {"type", type}}, LatencyBuckets());
    }
    for (const char* error : {"poison", "storage"}) errors_.Add({{"mv", v}, {"error", error}});
  }
  for (const char* error : {"history_lost", "poison", "storage"}) {
    errors_.Add({{"mv", kAllViews}, {"error", error}});
  }
}

void StreamProbe::SetWorkerUp(bool up) { worker_up_.Set(up ? 1 : 0); }

void StreamProbe::BatchApplied(size_t events, double seconds,
                               const std::vector<double>& visible_lags) {
  events_applied_.Increment(static_cast<double>(events));
  batches_applied_.Increment();
  batch_size_.Observe(static_cast<double>(events));
  // Every view commits in the batch's one transaction: each took the batch's time.
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

void StreamProbe::DriftMeasured(const std::map<std::string, Drift>& by_view) {
  for (const auto& [view, drift] : by_view) {
    drift_.Add({{"mv", view}}).Set(static_cast<double>(drift.mismatched));
    double ratio = drift.rows > 0
                       ? static_cast<double>(drift.mismatched) / static_cast<double>(drift.rows)
                       : 0.0;
    drift_ratio_.Add({{"mv", view}}).Set(std::min(1.0, ratio));
  }
}

void StreamProbe::ReconcileDone(double unix_seconds) { reconcile_last_run_.Set(unix_seconds); }

void StreamProbe::DriftFound(const std::string& view, std::int64_t rows) {
  drift_.Add({{"mv", view}}).Increment(static_cast<double>(rows));
}

void StreamProbe::Error(const std::string& error, const std::string& view) {
  errors_.Add({{"mv", view}, {"error", error}}).Increment();
}

double StreamProbe::ErrorCount(const std::string& error, const std::string& view) const {
  return errors_.Add({{"mv", view}, {"error", error}}).Value();
}

}  // namespace mv::worker
