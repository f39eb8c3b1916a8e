#include "http/names.h"

#include <spdlog/spdlog.h>

namespace mv::http {
namespace {

// The entry of `id` in `memo`, looked up through `lookup` on first use.
template <typename T, typename Lookup>
const T* Memoized(std::map<std::string, std::shared_ptr<const T>>& memo, const std::string& id,
                  const char* what, const std::string& org, Lookup lookup) {
  if (id.empty()) return nullptr;
  auto it = memo.find(id);
  if (it == memo.end()) {
    auto found = lookup();
    if (!found.ok()) {
      spdlog::warn("looking up {} '{}' of org '{}': {}; answering without its name", what, id, org,
                   found.status().ToString());
    }
    it = memo.emplace(id, found.ok() ? std::move(found).value() : nullptr).first;
  }
  return it->second.get();
}

}  // namespace

const core::Customer* Names::Customer(const std::string& id) {
  if (cache_ == nullptr) return nullptr;
  return Memoized(customers_, id, "customer", org_, [&] { return cache_->Customer(org_, id); });
}

const core::Carrier* Names::Carrier(const std::string& id) {
  if (cache_ == nullptr) return nullptr;
  return Memoized(carriers_, id, "carrier", org_, [&] { return cache_->Carrier(org_, id); });
}

nlohmann::json Names::CustomerName(const std::string& customer_id) {
  const core::Customer* c = Customer(customer_id);
  return c ? nlohmann::json(c->name) : nlohmann::json(nullptr);
}

nlohmann::json Names::CarrierName(const std::string& carrier_id) {
  const core::Carrier* c = Carrier(carrier_id);
  return c ? nlohmann::json(c->name) : nlohmann::json(nullptr);
}

nlohmann::json Names::ServiceLevel(const std::string& carrier_id, const std::string& service) {
  const core::Carrier* c = Carrier(carrier_id);
  if (c == nullptr || service.empty() || !c->services.is_object()) return nullptr;
  auto it = c->services.find(service);
  return it == c->services.end() ? nlohmann::json(nullptr) : *it;
}

}  // namespace mv::http
