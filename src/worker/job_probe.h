#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

namespace mv::worker {

// Metrics of the scheduled jobs (worker/scheduler.h). Thread-safe.
class JobProbe {
 public:
  explicit JobProbe(prometheus::Registry& registry);
  // A job exists: its series start at 0.
  void Declare(const std::string& job);
  // A run of `job` ended; `consecutive_failures` after it; `unix_seconds` when.
  void RunDone(const std::string& job, bool success, std::int64_t consecutive_failures,
               double unix_seconds);

 private:
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Gauge>& consecutive_failures_;
  prometheus::Family<prometheus::Gauge>& last_success_;
};

}  // namespace mv::worker
