#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/status.h"
#include "core/domain.h"
#include "core/interfaces.h"

namespace mv::testing {

// An in-memory LookupReader that counts its reads, can be told to fail, and can hold a
// customer read after it has read the document and before it returns (to interleave an
// invalidation with a read-through). Thread-safe.
class FakeLookupReader final : public core::LookupReader {
 public:
  void PutCustomer(const std::string& org, core::Customer c) {
    std::lock_guard lock(mu_);
    customers_[{org, c.id}] = std::move(c);
  }
  void PutCarrier(const std::string& org, core::Carrier c) {
    std::lock_guard lock(mu_);
    carriers_[{org, c.id}] = std::move(c);
  }
  // Every read fails with `status` until it is Ok again.
  void SetFailure(Status status) {
    std::lock_guard lock(mu_);
    failure_ = std::move(status);
  }
  int customer_reads() const {
    std::lock_guard lock(mu_);
    return customer_reads_;
  }
  int carrier_reads() const {
    std::lock_guard lock(mu_);
    return carrier_reads_;
  }

  // The next customer read stops after reading the document, until Release().
  void HoldNextCustomerRead() {
    std::lock_guard lock(mu_);
    hold_next_ = true;
  }
  // Blocks until a held read has read its document.
  void WaitUntilHeld() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return held_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  Result<std::optional<core::Customer>> GetCustomer(const std::string& org,
                                                    const std::string& id) override {
    std::unique_lock lock(mu_);
    ++customer_reads_;
    if (!failure_.ok()) return failure_;
    std::optional<core::Customer> found;
    if (auto it = customers_.find({org, id}); it != customers_.end()) found = it->second;
    if (hold_next_) {
      hold_next_ = false;
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    return found;
  }

  Result<std::optional<core::Carrier>> GetCarrier(const std::string& org,
                                                  const std::string& id) override {
    std::lock_guard lock(mu_);
    ++carrier_reads_;
    if (!failure_.ok()) return failure_;
    auto it = carriers_.find({org, id});
    if (it == carriers_.end()) return std::optional<core::Carrier>();
    return std::optional<core::Carrier>(it->second);
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // All guarded by mu_.
  std::map<std::pair<std::string, std::string>, core::Customer> customers_;
  std::map<std::pair<std::string, std::string>, core::Carrier> carriers_;
  Status failure_;
  int customer_reads_ = 0;
  int carrier_reads_ = 0;
  bool hold_next_ = false;
  bool held_ = false;
  bool released_ = false;
};

}  // namespace mv::testing
