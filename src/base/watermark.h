#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace mv {

// A monotonically increasing position (a change token) that threads can wait on.
// Thread-safe.
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
  }
  // Sets the mark, even lower (after a rebuild re-based the stream), and wakes waiters.
  void Reset(std::int64_t v) {
    {
      std::lock_guard lock(mu_);
      value_ = v;
    }
    cv_.notify_all();
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

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::int64_t value_;
};

}  // namespace mv
