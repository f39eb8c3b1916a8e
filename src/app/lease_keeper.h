#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "api/writer_lease.h"
#include "base/status.h"

namespace mv::app {

// Keeps the worker's lease (api::WriterLease): Acquire() waits until this process holds it,
// saying now and then who holds it meanwhile; then a thread renews it every third of its
// time-to-live. A renewal that finds it lost calls `on_lost` once and stops: the lease's
// fence has already stopped the worker's writes, and the process must not write again on
// what it remembers (another worker has moved the views on). Stop() releases it, so that
// the next worker need not wait for it to expire. Thread-safe.
class LeaseKeeper {
 public:
  LeaseKeeper(api::WriterLease* lease, std::function<void(const Status&)> on_lost)
      : lease_(lease), on_lost_(std::move(on_lost)) {}
  ~LeaseKeeper() { Stop(); }

  // Ok once held; Unavailable when `stop` was set first.
  Status Acquire(const std::atomic<bool>& stop);
  // Stops renewing and releases the lease.
  void Stop();

 private:
  void RenewUntilStopped();

  api::WriterLease* lease_;
  std::function<void(const Status&)> on_lost_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread renewer_;
};

}  // namespace mv::app
