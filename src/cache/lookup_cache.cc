#include "cache/lookup_cache.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mv::cache {

// One collection's cache: `shards` independently locked LRU maps whose capacities add up to
// the collection's bound. Thread-safe.
template <typename T>
class LookupCache::Table {
 public:
  using Value = std::shared_ptr<const T>;
  using Loader = std::function<Result<std::optional<T>>(const std::string&, const std::string&)>;

  Table(Loader load, const Clock* clock, const LookupCacheOptions& options)
      : load_(std::move(load)),
        clock_(clock),
        ttl_(options.ttl),
        shards_(std::max<size_t>(1, std::min(options.shards, options.max_entries))) {
    const size_t n = shards_.size();
    for (size_t i = 0; i < n; ++i) {
      shards_[i].capacity = options.max_entries / n + (i < options.max_entries % n ? 1 : 0);
    }
  }

  Result<Value> Get(const std::string& org, const std::string& id) {
    std::string key = Key(org, id);
    Shard& shard = ShardOf(key);
    Timestamp now = clock_->Now();
    uint64_t epoch = 0;
    {
      std::lock_guard lock(shard.mu);
      auto it = shard.index.find(key);
      if (it != shard.index.end()) {
        if (now < it->second->expires_at) {
          shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
          hits_.fetch_add(1, std::memory_order_relaxed);
          return it->second->value;
        }
        Erase(shard, it);
        expirations_.fetch_add(1, std::memory_order_relaxed);
      }
      misses_.fetch_add(1, std::memory_order_relaxed);
      epoch = shard.epoch;
    }

    // The source is read without the lock: concurrent misses of one key may each read it.
    MV_ASSIGN_OR_RETURN(std::optional<T> loaded, load_(org, id));
    Value value = loaded ? std::make_shared<const T>(std::move(*loaded)) : nullptr;

    std::lock_guard lock(shard.mu);
    if (shard.epoch != epoch || shard.capacity == 0) return value;
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      it->second->value = value;
      it->second->expires_at = now + ttl_;
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return value;
    }
    if (shard.index.size() >= shard.capacity) EvictColdest(shard, now);
    shard.lru.push_front(Entry{key, value, now + ttl_});
    shard.index.emplace(std::move(key), shard.lru.begin());
    entries_.fetch_add(1, std::memory_order_relaxed);
    return value;
  }

  void Invalidate(const std::string& org, const std::string& id) {
    std::string key = Key(org, id);
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    ++shard.epoch;
    auto it = shard.index.find(key);
    if (it == shard.index.end()) return;
    Erase(shard, it);
    invalidations_.fetch_add(1, std::memory_order_relaxed);
  }

  LookupCache::Stats GetStats() const {
    LookupCache::Stats s;
    s.hits = hits_.load(std::memory_order_relaxed);
    s.misses = misses_.load(std::memory_order_relaxed);
    s.evictions = evictions_.load(std::memory_order_relaxed);
    s.expirations = expirations_.load(std::memory_order_relaxed);
    s.invalidations = invalidations_.load(std::memory_order_relaxed);
    s.entries = entries_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  struct Entry {
    std::string key;
    Value value;  // nullptr: the document does not exist
    Timestamp expires_at;
  };
  struct Shard {
    std::mutex mu;
    size_t capacity = 0;
    // Most recently used first; `index` points into it, one entry per key. Guarded by mu.
    std::list<Entry> lru;
    std::unordered_map<std::string, typename std::list<Entry>::iterator> index;
    // Bumped by every invalidation in the shard; a read-through installs its result only
    // if the epoch did not move while it read the source. Guarded by mu.
    uint64_t epoch = 0;
  };
  using IndexIterator = typename decltype(Shard::index)::iterator;

  // Unambiguous for any (org, id): ("a", "bc") and ("ab", "c") differ.
  static std::string Key(const std::string& org, const std::string& id) {
    std::string key = std::to_string(org.size());
    key.reserve(key.size() + 1 + org.size() + id.size());
    key += ':';
    key += org;
    key += id;
    return key;
  }

  Shard& ShardOf(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % shards_.size()];
  }

  // Requires shard.mu held.
  void Erase(Shard& shard, IndexIterator it) {
    shard.lru.erase(it->second);
    shard.index.erase(it);
    entries_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Removes the least recently used entry of a non-empty shard. Requires shard.mu held.
  void EvictColdest(Shard& shard, Timestamp now) {
    Entry& coldest = shard.lru.back();
    bool expired = !(now < coldest.expires_at);
    Erase(shard, shard.index.find(coldest.key));
    (expired ? expirations_ : evictions_).fetch_add(1, std::memory_order_relaxed);
  }

  const Loader load_;
  const Clock* const clock_;
  const Millis ttl_;
  std::vector<Shard> shards_;  // sized once in the constructor
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> expirations_{0};
  std::atomic<uint64_t> invalidations_{0};
  std::atomic<size_t> entries_{0};
};

LookupCache::LookupCache(core::LookupReader* source, const Clock* clock, LookupCacheOptions options)
    : customers_(std::make_unique<Table<core::Customer>>(
          [source](const std::string& org, const std::string& id) {
            return source->GetCustomer(org, id);
          },
          clock, options)),
      carriers_(std::make_unique<Table<core::Carrier>>(
          [source](const std::string& org, const std::string& id) {
            return source->GetCarrier(org, id);
          },
          clock, options)) {}

LookupCache::~LookupCache() = default;

Result<std::shared_ptr<const core::Customer>> LookupCache::Customer(const std::string& org,
                                                                    const std::string& id) {
  return customers_->Get(org, id);
}

Result<std::shared_ptr<const core::Carrier>> LookupCache::Carrier(const std::string& org,
                                                                  const std::string& id) {
  return carriers_->Get(org, id);
}

void LookupCache::InvalidateCustomer(const std::string& org, const std::string& id) {
  customers_->Invalidate(org, id);
}

void LookupCache::InvalidateCarrier(const std::string& org, const std::string& id) {
  carriers_->Invalidate(org, id);
}

LookupCache::Stats LookupCache::CustomerStats() const { return customers_->GetStats(); }

LookupCache::Stats LookupCache::CarrierStats() const { return carriers_->GetStats(); }

}  // namespace mv::cache
