#pragma once

#include <atomic>
#include <chrono>

namespace mv {

// Wall-clock instants in milliseconds since the Unix epoch, UTC.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

// The source of "now" for everything time-driven (SLA status, retention, staleness).
// Injected so tests can move time; implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_ms_(start.time_since_epoch().count()) {}
  Timestamp Now() const override { return Timestamp(Millis(now_ms_.load())); }
  void Set(Timestamp t) { now_ms_.store(t.time_since_epoch().count()); }
  void Advance(Millis d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<long long> now_ms_;
};

}  // namespace mv
