#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "base/watermark.h"

namespace mv::http {

// Bounded waits for the views to reach a change token (`?minToken=`) that hold no thread
// each: one thread watches the watermark and completes every wait when the mark reaches
// its token, or when its deadline passes. Thread-safe.
class TokenWaiters {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  explicit TokenWaiters(const Watermark* mark);
  TokenWaiters(const TokenWaiters&) = delete;
  TokenWaiters& operator=(const TokenWaiters&) = delete;
  // Completes every pending wait with false, then joins.
  ~TokenWaiters();

  // Calls `done(true)` once the mark is at least `token`, or `done(false)` when
  // `deadline` passes first. `done` runs on the waiter thread (or at once, on the caller's,
  // when the mark is already there): it must be quick.
  void Wait(std::int64_t token, Deadline deadline, std::function<void(bool reached)> done);

  size_t pending() const;

 private:
  struct Entry {
    std::int64_t token;
    Deadline deadline;
    std::function<void(bool)> done;
  };
  void Loop();

  const Watermark* mark_;
  int listener_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                // guarded by mu_
  bool changed_ = false;                                 // guarded by mu_
  std::uint64_t next_id_ = 0;                            // guarded by mu_
  std::map<std::uint64_t, Entry> entries_;               // guarded by mu_
  std::multimap<std::int64_t, std::uint64_t> by_token_;  // guarded by mu_
  std::multimap<Deadline, std::uint64_t> by_deadline_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace mv::http
