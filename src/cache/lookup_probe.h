#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <mutex>

#include "cache/lookup_cache.h"

namespace mv::cache {

// Metrics of the lookup caches, by cache="customers|carriers": hits, misses, and entries
// removed by eviction (for size), expiration and invalidation, as counters; entries held,
// as a gauge. The cache keeps its own counters; Refresh() copies them into the registry
// (call it before every collection, e.g. from Metrics::OnCollect). Thread-safe.
class LookupProbe {
 public:
  // `cache` must not be null and must outlive the probe.
  LookupProbe(prometheus::Registry& registry, const cache::LookupCache* cache);

  // Advances every counter to the cache's current value and sets the gauges.
  void Refresh();

 private:
  // One cache's series and the stats they last reflected.
  struct Series {
    prometheus::Counter& hits;
    prometheus::Counter& misses;
    prometheus::Counter& evictions;
    prometheus::Counter& expirations;
    prometheus::Counter& invalidations;
    prometheus::Gauge& entries;
    cache::LookupCache::Stats last;  // guarded by LookupProbe::mu_
  };
  Series MakeSeries(const char* name);
  static void Advance(Series& series, const cache::LookupCache::Stats& now);

  const cache::LookupCache* cache_;
  prometheus::Family<prometheus::Counter>& hits_;
  prometheus::Family<prometheus::Counter>& misses_;
  prometheus::Family<prometheus::Counter>& evictions_;
  prometheus::Family<prometheus::Counter>& expirations_;
  prometheus::Family<prometheus::Counter>& invalidations_;
  prometheus::Family<prometheus::Gauge>& entries_;
  std::mutex mu_;
  Series customers_;
  Series carriers_;
};

}  // namespace mv::cache
