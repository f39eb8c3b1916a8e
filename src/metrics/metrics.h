#pragma once

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

// The process's metric registry. The probes that fill it live beside the subsystem they
// measure (worker/stream_probe.h, worker/job_probe.h, http/http_probe.h,
// cache/lookup_probe.h, app/freshness_probe.h); this part knows none of them.
namespace mv::metrics {

// Buckets for durations from half a millisecond to a minute.
prometheus::Histogram::BucketBoundaries LatencyBuckets();

// Bounds the `org` label's cardinality: the orgs of an allow-list, or else the first
// `max_orgs` seen, keep their own label; every other org is shown as "other".
// Thread-safe.
class OrgLabels {
 public:
  static constexpr const char* kOther = "other";
  // An empty allow-list admits the first `max_orgs` orgs seen.
  OrgLabels(std::vector<std::string> allow, size_t max_orgs);
  // The label value of `org`.
  std::string Of(const std::string& org);

 private:
  const std::set<std::string> allow_;
  const size_t max_orgs_;
  std::mutex mu_;
  std::set<std::string> admitted_;  // guarded by mu_
};

// The registry and the hooks run before each scrape. Thread-safe.
class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry() { return *registry_; }

  // Runs before every Serialize(), to refresh gauges that are read on demand.
  void OnCollect(std::function<void()> hook);
  // The Prometheus text exposition format.
  std::string Serialize();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::mutex hooks_mu_;
  std::vector<std::function<void()>> hooks_;  // guarded by hooks_mu_
};

}  // namespace mv::metrics
