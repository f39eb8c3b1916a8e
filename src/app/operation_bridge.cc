#include "app/operation_bridge.h"

#include <spdlog/spdlog.h>

#include <set>

#include "http/operation_json.h"
#include "http/remote_operations.h"

namespace mv::app {

Status OperationBridge::Step() {
  std::lock_guard lock(mu_);
  std::vector<nlohmann::json> requests;
  if (!may_take_ || may_take_()) {
    MV_ASSIGN_OR_RETURN(requests, board_->TakeRequests(partition_.Id()));
  }
  for (const auto& r : requests) {
    auto asked = http::OperationFromJson(r);
    if (!asked.ok()) {
      spdlog::warn("operation board: a request that is no operation: {}", asked.status().message());
      continue;
    }
    worker::Operation& op = *asked;
    if (op.scope.org && !partition_.Owns(*op.scope.org)) continue;  // another partition's
    std::string id = http::PartitionOperationId(op.id, partition_);
    auto submitted =
        operations_->SubmitAs(id, op.kind, op.scope, op.repair, op.requested_by, clock_->Now());
    if (submitted.ok()) {
      spdlog::info("admin (through a replica): {} queued {} {} ({})", op.requested_by,
                   worker::ToString(op.kind), id, op.scope.Describe());
      continue;
    }
    op.id = id;
    op.phase = worker::OperationPhase::kFailed;
    op.error = submitted.status().message();
    op.finished_at = clock_->Now();
    MV_RETURN_IF_ERROR(board_->Publish(http::OperationToJson(op)));
  }
  std::set<std::string> present;
  for (const auto& op : operations_->List()) {
    present.insert(op.id);
    nlohmann::json state = http::OperationToJson(op);
    auto& shown = shown_[op.id];
    if (shown == state) continue;
    MV_RETURN_IF_ERROR(board_->Publish(state));
    shown = std::move(state);
  }
  for (auto it = shown_.begin(); it != shown_.end();) {
    it = present.count(it->first) ? std::next(it) : shown_.erase(it);
  }
  return Status::Ok();
}

void OperationBridge::Start(Millis interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      if (Status s = Step(); !s.ok()) spdlog::warn("operation board: {}", s.ToString());
      lock.lock();
    }
  });
}

void OperationBridge::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  (void)Step();  // the last states (the worker finished its batch in hand)
}

}  // namespace mv::app
