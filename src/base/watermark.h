#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace mv {

// A monotonically increasing position (a change token) that threads can wait on, or be
// told about (Listen). Thread-safe.
class Watermark {
 public:
  explicit Watermark(std::int64_t initial = 0) : value_(initial) {}

  std::int64_t Get() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  // Raises the mark to `v` (never lowers it, except through Reset) and wakes waiters.
  void Advance(std::int64_t v) {
    {
      std::lock_guard lock(mu_);
      if (v <= value_) return;
      value_ = v;
    }
    cv_.notify_all();
    NotifyListeners();
  }
  // Sets the mark, even lower (after a rebuild re-based the stream), and wakes waiters.
  void Reset(std::int64_t v) {
    {
      std::lock_guard lock(mu_);
      value_ = v;
    }
    cv_.notify_all();
    NotifyListeners();
  }
  // True once the mark is >= `target`; false if `timeout` passes first.
  bool WaitUntilAtLeast(std::int64_t target, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return value_ >= target; });
  }
  // True once the mark is > `after`; false if `timeout` passes first.
  bool WaitForAbove(std::int64_t after, std::chrono::milliseconds timeout) const {
    return WaitUntilAtLeast(after + 1, timeout);
  }

  // Calls `fn` after every change of the mark, on the changing thread, outside the mark's
  // lock; `fn` must be quick and must not call Listen/Unlisten. Returns an id for Unlisten.
  int Listen(std::function<void()> fn) const {
    std::lock_guard lock(listeners_mu_);
    listeners_.emplace(++last_listener_, std::move(fn));
    return last_listener_;
  }
  // After it returns, the listener is no longer running and will not be called again.
  void Unlisten(int id) const {
    std::lock_guard lock(listeners_mu_);
    listeners_.erase(id);
  }

 private:
  void NotifyListeners() {
    std::lock_guard lock(listeners_mu_);
    for (auto& [id, fn] : listeners_) fn();
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::int64_t value_;
  mutable std::mutex listeners_mu_;
  mutable std::map<int, std::function<void()>> listeners_;  // guarded by listeners_mu_
  mutable int last_listener_ = 0;                           // guarded by listeners_mu_
};

}  // namespace mv
