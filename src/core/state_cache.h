#pragma once

#include <absl/hash/hash.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/view_batch.h"

namespace mv::core {

// A bounded map from a shipment key to what the store committed for it, encoded (or
// nullopt: known to be absent). Approximately least recently used: a hit in the cold
// generation moves to the hot one; when the hot generation is full it becomes the cold
// one. Keys are hashed once and stored whole, so a hash collision is a miss.
// Not thread-safe.
class StateCache {
 public:
  explicit StateCache(size_t generation_size) : generation_size_(generation_size) {
    hot_.reserve(generation_size);
  }

  // The cached value, or null when the key is not cached.
  const std::optional<std::string>* Find(const ShipmentKey& key) {
    std::uint64_t h = Hash(key);
    if (auto it = hot_.find(h); it != hot_.end()) {
      return it->second.Is(key) ? &it->second.value : nullptr;
    }
    auto it = cold_.find(h);
    if (it == cold_.end() || !it->second.Is(key)) return nullptr;
    Entry moved = std::move(it->second);
    cold_.erase(it);
    MakeRoom();
    return &hot_.insert_or_assign(h, std::move(moved)).first->second.value;
  }
  void Put(const ShipmentKey& key, std::optional<std::string> value) {
    std::uint64_t h = Hash(key);
    if (!cold_.empty()) cold_.erase(h);
    auto it = hot_.find(h);
    if (it == hot_.end()) {
      MakeRoom();
      it = hot_.try_emplace(h).first;
    }
    it->second.org = key.org;
    it->second.id = key.id;
    it->second.value = std::move(value);
  }
  void Clear() {
    hot_.clear();
    cold_.clear();
  }

 private:
  struct Entry {
    std::string org, id;
    std::optional<std::string> value;
    bool Is(const ShipmentKey& k) const { return org == k.org && id == k.id; }
  };
  static std::uint64_t Hash(const ShipmentKey& key) { return absl::HashOf(key.org, key.id); }
  void MakeRoom() {
    if (hot_.size() < generation_size_) return;
    cold_ = std::move(hot_);
    hot_ = {};
    hot_.reserve(generation_size_);
  }

  size_t generation_size_;
  std::unordered_map<std::uint64_t, Entry> hot_, cold_;
};

}  // namespace mv::core
