#include "http/token_waiters.h"

#include <vector>

namespace mv::http {

TokenWaiters::TokenWaiters(const Watermark* mark) : mark_(mark) {
  listener_ = mark_->Listen([this] {
    {
      std::lock_guard lock(mu_);
      changed_ = true;
    }
    cv_.notify_one();
  });
  thread_ = std::thread([this] { Loop(); });
}

TokenWaiters::~TokenWaiters() {
  mark_->Unlisten(listener_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void TokenWaiters::Wait(std::int64_t token, Deadline deadline, std::function<void(bool)> done) {
  if (mark_->Get() >= token) {
    done(true);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      std::uint64_t id = next_id_++;
      entries_.emplace(id, Entry{token, deadline, std::move(done)});
      by_token_.emplace(token, id);
      by_deadline_.emplace(deadline, id);
      // The mark may have moved between the check above and this registration.
      changed_ = true;
      cv_.notify_one();
      return;
    }
  }
  done(false);
}

size_t TokenWaiters::pending() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void TokenWaiters::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    auto wake = [&] { return stopping_ || changed_; };
    if (by_deadline_.empty()) {
      cv_.wait(lock, wake);
    } else {
      cv_.wait_until(lock, by_deadline_.begin()->first, wake);
    }
    changed_ = false;
    std::vector<std::pair<std::function<void(bool)>, bool>> ready;
    auto finish = [&](std::uint64_t id, bool reached) {
      auto it = entries_.find(id);
      auto range = by_token_.equal_range(it->second.token);
      for (auto t = range.first; t != range.second; ++t) {
        if (t->second == id) {
          by_token_.erase(t);
          break;
        }
      }
      auto drange = by_deadline_.equal_range(it->second.deadline);
      for (auto d = drange.first; d != drange.second; ++d) {
        if (d->second == id) {
          by_deadline_.erase(d);
          break;
        }
      }
      ready.emplace_back(std::move(it->second.done), reached);
      entries_.erase(it);
    };
    if (stopping_) {
      while (!entries_.empty()) finish(entries_.begin()->first, false);
    } else {
      std::int64_t mark = mark_->Get();
      while (!by_token_.empty() && by_token_.begin()->first <= mark) {
        finish(by_token_.begin()->second, true);
      }
      auto now = std::chrono::steady_clock::now();
      while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
        finish(by_deadline_.begin()->second, false);
      }
    }
    bool stop = stopping_;
    lock.unlock();
    for (auto& [done, reached] : ready) done(reached);
    if (stop) return;
    lock.lock();
  }
}

}  // namespace mv::http
