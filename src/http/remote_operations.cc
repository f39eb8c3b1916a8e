#include "http/remote_operations.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/sha256.h"
#include "http/operation_json.h"

namespace mv::http {
namespace {

// How far along a phase is, for merging the partitions' runs of one operation.
int Rank(worker::OperationPhase p) {
  using P = worker::OperationPhase;
  switch (p) {
    case P::kQueued:
      return 0;
    case P::kSnapshot:
      return 1;
    case P::kCatchUp:
      return 2;
    case P::kComparing:
      return 3;
    case P::kSwapping:
      return 4;
    case P::kDone:
      return 5;
    case P::kFailed:
      return 6;
  }
  return 0;
}

std::optional<worker::Operation> Parse(const std::optional<nlohmann::json>& j) {
  if (!j) return std::nullopt;
  auto op = OperationFromJson(*j);
  if (!op.ok()) {
    spdlog::warn("operation board: {}", op.status().message());
    return std::nullopt;
  }
  return std::move(op).value();
}

}  // namespace

std::string PartitionOperationId(const std::string& id, const core::Partition& partition) {
  return partition.whole() ? id : id + "." + partition.Id();
}

Result<std::string> RemoteOperations::Submit(worker::OperationKind kind, core::ViewScope scope,
                                             bool repair, std::string requested_by, Timestamp now) {
  std::string random = RandomHex(4);
  if (random.empty()) return Status::Internal("no random bytes");
  worker::Operation op;
  op.id = "op-r" + random;
  op.kind = kind;
  op.scope = std::move(scope);
  op.repair = repair;
  op.requested_by = std::move(requested_by);
  op.submitted_at = now;
  MV_RETURN_IF_ERROR(board_->Request(OperationToJson(op)));
  return op.id;
}

std::optional<worker::Operation> RemoteOperations::Get(const std::string& id) const {
  auto found = board_->Get(id);
  if (!found.ok()) return std::nullopt;
  std::optional<worker::Operation> asked = Parse(*found);
  if (partitions_ <= 1 || !asked) return asked;
  // The partitions that run it: the org's, or all of them.
  std::vector<worker::Operation> parts;
  int expected = 0;
  for (int k = 0; k < partitions_; ++k) {
    core::Partition p{k, partitions_};
    if (asked->scope.org && !p.Owns(*asked->scope.org)) continue;
    ++expected;
    auto part = board_->Get(PartitionOperationId(id, p));
    if (part.ok()) {
      if (auto op = Parse(*part)) parts.push_back(std::move(*op));
    }
  }
  if (parts.empty()) return asked;
  worker::Operation merged = *asked;
  merged.phase = static_cast<int>(parts.size()) < expected ? worker::OperationPhase::kQueued
                                                           : worker::OperationPhase::kDone;
  merged.rows_done = merged.rows_total = 0;
  merged.drift.clear();
  for (const auto& p : parts) {
    if (p.phase == worker::OperationPhase::kFailed) {
      merged.error += (merged.error.empty() ? "" : "; ") + p.id + ": " + p.error;
    } else if (Rank(p.phase) < Rank(merged.phase)) {
      merged.phase = p.phase;
    }
    merged.rows_done += p.rows_done;
    merged.rows_total += p.rows_total;
    merged.token = std::max(merged.token, p.token);
    if (p.started_at && (!merged.started_at || *p.started_at < *merged.started_at)) {
      merged.started_at = p.started_at;
    }
    if (p.finished_at && (!merged.finished_at || *p.finished_at > *merged.finished_at)) {
      merged.finished_at = p.finished_at;
    }
    merged.drift.insert(merged.drift.end(), p.drift.begin(), p.drift.end());
  }
  if (!merged.error.empty()) merged.phase = worker::OperationPhase::kFailed;
  if (!merged.finished()) merged.finished_at.reset();
  return merged;
}

std::vector<worker::Operation> RemoteOperations::List() const {
  std::vector<worker::Operation> out;
  auto listed = board_->List(100);
  if (!listed.ok()) return out;
  for (const auto& j : *listed) {
    if (auto op = Parse(j)) out.push_back(std::move(*op));
  }
  std::stable_partition(out.begin(), out.end(), [](const auto& o) { return !o.finished(); });
  return out;
}

}  // namespace mv::http
