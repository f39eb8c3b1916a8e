#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cache/lookup_cache.h"
#include "core/domain.h"

namespace mv::http {

// The names a read adds to view rows (views store ids only, DESIGN.md section 3), for one
// request of one org: each distinct customer and carrier id goes to the cache once. A
// cache error is logged and answered as an unknown name: a read never fails for a name.
// Not thread-safe (one per request).
class Names {
 public:
  // `cache` may be null (no names at all).
  Names(cache::LookupCache* cache, std::string org) : cache_(cache), org_(std::move(org)) {}

  // The customer's or carrier's name; null when unknown (or the id is empty).
  nlohmann::json CustomerName(const std::string& customer_id);
  nlohmann::json CarrierName(const std::string& carrier_id);
  // The carrier's `services[service]` entry as stored; null when there is none.
  nlohmann::json ServiceLevel(const std::string& carrier_id, const std::string& service);

 private:
  const core::Customer* Customer(const std::string& id);
  const core::Carrier* Carrier(const std::string& id);

  cache::LookupCache* cache_;
  const std::string org_;
  std::map<std::string, std::shared_ptr<const core::Customer>> customers_;  // null: unknown
  std::map<std::string, std::shared_ptr<const core::Carrier>> carriers_;
};

}  // namespace mv::http
