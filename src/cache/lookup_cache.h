#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "core/domain.h"
#include "core/interfaces.h"

namespace mv::cache {

struct LookupCacheOptions {
  // How long an entry (found or absent) is served before it is read again from the source.
  Millis ttl = std::chrono::minutes(15);
  // The most entries each collection (customers, carriers) holds; 0 caches nothing.
  size_t max_entries = 100000;
  // Independently locked partitions per collection, for concurrency. At most
  // `max_entries` are used; least-recently-used eviction is exact within a shard only.
  size_t shards = 16;
};

// Read-through, TTL-bounded, size-bounded caches of the lookup collections (customers and
// carriers), keyed by (org, id). Entries are immutable and shared: a returned pointer stays
// valid after the entry leaves the cache. Thread-safe.
//
// Freshness: an entry is served until `ttl` after the read of the source that produced it
// started, or until it is invalidated. An invalidation also wins over a read-through that
// is in flight when it happens: that read's (possibly stale) result is returned to its
// caller but never installed, so every read that starts after Invalidate*() returns sees
// the source as it was at or after that moment.
class LookupCache {
 public:
  // `source` and `clock` must outlive the cache.
  LookupCache(core::LookupReader* source, const Clock* clock, LookupCacheOptions options);
  ~LookupCache();
  LookupCache(const LookupCache&) = delete;
  LookupCache& operator=(const LookupCache&) = delete;

  // The customer `id` of `org`, or nullptr when there is none (absence is cached too, for
  // the same TTL). A source error is returned and not cached.
  Result<std::shared_ptr<const core::Customer>> Customer(const std::string& org,
                                                         const std::string& id);
  // The carrier `id` of `org` with its service levels, or nullptr; as Customer().
  Result<std::shared_ptr<const core::Carrier>> Carrier(const std::string& org,
                                                       const std::string& id);

  // Drops the entry at once, present or not. Call for every change event on the document.
  void InvalidateCustomer(const std::string& org, const std::string& id);
  void InvalidateCarrier(const std::string& org, const std::string& id);

  // Counters are monotonic since construction; each removal of an entry is counted once,
  // under the reason it left: evictions (for size), expirations (its TTL had passed, found
  // on a read or at the cold end of the LRU list) or invalidations. The fields are read
  // one by one, not as one snapshot.
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;  // reads that went to the source, failed ones included
    uint64_t evictions = 0;
    uint64_t expirations = 0;
    uint64_t invalidations = 0;
    size_t entries = 0;  // entries held now, expired ones not yet removed included
  };
  Stats CustomerStats() const;
  Stats CarrierStats() const;

 private:
  template <typename T>
  class Table;

  std::unique_ptr<Table<core::Customer>> customers_;
  std::unique_ptr<Table<core::Carrier>> carriers_;
};

}  // namespace mv::cache
