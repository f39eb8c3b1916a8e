#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mv::worker {

// Metrics of the stream worker and of the operations it runs on the views (DESIGN.md
// section 6). Registered only by processes that run a worker. Thread-safe.
class StreamProbe {
 public:
  // The label of errors that are not about one view (history lost, a failed batch).
  static constexpr const char* kAllViews = "all";

  StreamProbe(prometheus::Registry& registry, std::vector<std::string> views);

  // viya_mv_worker_up: whether the stream worker runs (and holds its partition's lease).
  void SetWorkerUp(bool up);
  // One micro-batch committed: `events` consumed, `seconds` from read to commit,
  // `visible_lags` seconds from each event's write to its commit.
  void BatchApplied(size_t events, double seconds, const std::vector<double>& visible_lags);
  void SlaTickApplied(size_t rows, double seconds);
  // A rebuild or full refresh of `views` (empty: every view) took `seconds`.
  void RebuildDone(double seconds, const std::vector<std::string>& views = {});
  // A comparison with the source (a reconciliation, or a full refresh's corrections)
  // found `mismatched` of `rows` rows drifted in `view`; every view compared is named.
  struct Drift {
    std::int64_t mismatched = 0;
    std::int64_t rows = 0;  // the larger of the source's and the view's row counts
  };
  void DriftMeasured(const std::map<std::string, Drift>& by_view);
  // A reconciliation finished at `unix_seconds`.
  void ReconcileDone(double unix_seconds);
  // Rows of `view` found unreadable and re-derived from the source: drift found outside
  // a reconciliation.
  void DriftFound(const std::string& view, std::int64_t rows);
  // error: history_lost | poison | storage. kAllViews when it is not about one view.
  void Error(const std::string& error, const std::string& view = kAllViews);
  double ErrorCount(const std::string& error, const std::string& view = kAllViews) const;

 private:
  std::vector<std::string> views_;
  prometheus::Gauge& worker_up_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& refresh_;
  prometheus::Family<prometheus::Gauge>& drift_;
  prometheus::Family<prometheus::Gauge>& drift_ratio_;
  prometheus::Gauge& reconcile_last_run_;
  prometheus::Counter& events_applied_;
  prometheus::Counter& batches_applied_;
  prometheus::Histogram& batch_size_;
  prometheus::Histogram& visible_latency_;
};

}  // namespace mv::worker
