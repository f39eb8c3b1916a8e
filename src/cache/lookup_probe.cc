#include "cache/lookup_probe.h"

namespace mv::cache {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

// Adds the growth of a monotonic counter since `last`, and remembers the new value.
void Add(prometheus::Counter& counter, uint64_t now, uint64_t& last) {
  if (now > last) counter.Increment(static_cast<double>(now - last));
  last = now;
}

}  // namespace

LookupProbe::LookupProbe(prometheus::Registry& r, const cache::LookupCache* cache)
    : cache_(cache),
      hits_(BuildCounter()
                .Name("viya_mv_lookup_cache_hits_total")
                .Help("Lookup cache reads served from the cache")
                .Register(r)),
      misses_(BuildCounter()
                  .Name("viya_mv_lookup_cache_misses_total")
                  .Help("Lookup cache reads that went to the source store")
                  .Register(r)),
      evictions_(BuildCounter()
                     .Name("viya_mv_lookup_cache_evictions_total")
                     .Help("Lookup cache entries removed to stay within the size bound")
                     .Register(r)),
      expirations_(BuildCounter()
                       .Name("viya_mv_lookup_cache_expirations_total")
                       .Help("Lookup cache entries removed because their TTL had passed")
                       .Register(r)),
      invalidations_(BuildCounter()
                         .Name("viya_mv_lookup_cache_invalidations_total")
                         .Help("Lookup cache entries removed by a change to their document")
                         .Register(r)),
      entries_(BuildGauge()
                   .Name("viya_mv_lookup_cache_entries")
                   .Help("Entries held by the lookup cache")
                   .Register(r)),
      customers_(MakeSeries("customers")),
      carriers_(MakeSeries("carriers")) {}

LookupProbe::Series LookupProbe::MakeSeries(const char* name) {
  prometheus::Labels labels{{"cache", name}};
  return Series{hits_.Add(labels),          misses_.Add(labels),        evictions_.Add(labels),
                expirations_.Add(labels),   invalidations_.Add(labels), entries_.Add(labels),
                cache::LookupCache::Stats{}};
}

void LookupProbe::Advance(Series& series, const cache::LookupCache::Stats& now) {
  Add(series.hits, now.hits, series.last.hits);
  Add(series.misses, now.misses, series.last.misses);
  Add(series.evictions, now.evictions, series.last.evictions);
  Add(series.expirations, now.expirations, series.last.expirations);
  Add(series.invalidations, now.invalidations, series.last.invalidations);
  series.entries.Set(static_cast<double>(now.entries));
}

void LookupProbe::Refresh() {
  std::lock_guard lock(mu_);
  Advance(customers_, cache_->CustomerStats());
  Advance(carriers_, cache_->CarrierStats());
}

}  // namespace mv::cache
