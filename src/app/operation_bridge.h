#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/operation_board.h"
#include "base/clock.h"
#include "core/partition.h"
#include "worker/operations.h"

namespace mv::app {

// The worker's side of the operation board: takes the requests `api` replicas leave there
// into its Operations (those of its partition: an org's request only in the partition that
// owns the org), and publishes the state of every operation it has whenever it changes, so
// that any process answers GET /admin/operations. It takes requests only while `may_take`
// says so (the worker holds its partition's lease: a worker waiting for it must not take
// what the running one should run). Step() does one round; Start() runs a round every
// `interval` on a thread of its own until Stop(). Thread-safe.
class OperationBridge {
 public:
  OperationBridge(api::OperationBoard* board, worker::Operations* operations,
                  core::Partition partition, const Clock* clock,
                  std::function<bool()> may_take = nullptr)
      : board_(board),
        operations_(operations),
        partition_(partition),
        clock_(clock),
        may_take_(std::move(may_take)) {}
  ~OperationBridge() { Stop(); }

  Status Step();
  void Start(Millis interval);
  void Stop();

 private:
  api::OperationBoard* board_;
  worker::Operations* operations_;
  const core::Partition partition_;
  const Clock* clock_;
  const std::function<bool()> may_take_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                        // guarded by mu_
  std::map<std::string, nlohmann::json> shown_;  // guarded by mu_: last published, by id
  std::thread thread_;
};

}  // namespace mv::app
