#include "app/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace mv::app {

Status LeaseKeeper::Acquire(const std::atomic<bool>& stop) {
  auto last_said = std::chrono::steady_clock::now() - std::chrono::hours(1);
  const Millis pause = std::max(Millis(100), lease_->ttl() / 10);
  while (!stop.load()) {
    auto held = lease_->TryAcquire();
    if (held.ok() && *held) {
      spdlog::info("lease of partition {} taken: this worker writes its views", lease_->name());
      std::lock_guard lock(mu_);
      stopping_ = false;
      if (!renewer_.joinable()) renewer_ = std::thread([this] { RenewUntilStopped(); });
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() - last_said > std::chrono::seconds(30)) {
      last_said = std::chrono::steady_clock::now();
      if (held.ok()) {
        spdlog::info("waiting for the lease: {}", lease_->holder());
      } else {
        spdlog::warn("taking the lease of partition {}: {}", lease_->name(),
                     held.status().ToString());
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, pause, [&] { return stopping_ || stop.load(); });
  }
  return Status::Unavailable("stopped before the lease was taken");
}

void LeaseKeeper::RenewUntilStopped() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, lease_->ttl() / 3, [this] { return stopping_; })) {
    lock.unlock();
    Status s = lease_->Renew();
    lock.lock();
    if (s.code() == StatusCode::kConflict) {
      spdlog::critical("{}; this worker stops writing", s.message());
      lock.unlock();
      on_lost_(s);
      return;
    }
    if (!s.ok())
      spdlog::warn("renewing the lease of partition {}: {}", lease_->name(), s.ToString());
  }
}

void LeaseKeeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable() && renewer_.get_id() != std::this_thread::get_id()) renewer_.join();
  if (Status s = lease_->Release(); !s.ok()) {
    spdlog::warn("releasing the lease of partition {}: {}", lease_->name(), s.ToString());
  }
}

}  // namespace mv::app
