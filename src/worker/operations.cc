#include "worker/operations.h"

#include <algorithm>

namespace mv::worker {

std::string_view ToString(OperationKind kind) {
  switch (kind) {
    case OperationKind::kRebuild:
      return "rebuild";
    case OperationKind::kReconcile:
      return "reconcile";
    case OperationKind::kBackfill:
      return "backfill";
    case OperationKind::kRefresh:
      return "refresh";
    case OperationKind::kMigrate:
      return "migrate";
    case OperationKind::kValidate:
      return "validate";
    case OperationKind::kSwitch:
      return "switch";
    case OperationKind::kRollback:
      return "rollback";
    case OperationKind::kDropRetired:
      return "drop_retired";
  }
  return "unknown";
}

bool IsInstant(OperationKind kind) {
  return kind == OperationKind::kSwitch || kind == OperationKind::kRollback ||
         kind == OperationKind::kDropRetired;
}

std::string_view ToString(OperationPhase phase) {
  switch (phase) {
    case OperationPhase::kQueued:
      return "queued";
    case OperationPhase::kSnapshot:
      return "snapshot";
    case OperationPhase::kCatchUp:
      return "catch_up";
    case OperationPhase::kComparing:
      return "comparing";
    case OperationPhase::kSwapping:
      return "swapping";
    case OperationPhase::kDone:
      return "done";
    case OperationPhase::kFailed:
      return "failed";
  }
  return "unknown";
}

double Operation::percent() const {
  if (phase == OperationPhase::kDone) return 100;
  if (rows_total <= 0) return 0;
  return std::min(100.0, 100.0 * static_cast<double>(rows_done) / static_cast<double>(rows_total));
}

Result<std::string> Operations::Submit(OperationKind kind, core::ViewScope scope, bool repair,
                                       std::string requested_by, Timestamp now) {
  return SubmitAs("", kind, std::move(scope), repair, std::move(requested_by), now);
}

Result<std::string> Operations::SubmitAs(std::string id, OperationKind kind, core::ViewScope scope,
                                         bool repair, std::string requested_by, Timestamp now) {
  std::lock_guard lock(mu_);
  if (!id.empty() && Find(id) != nullptr) return Status::Conflict("operation " + id + " exists");
  for (const auto& op : ops_) {
    if (!op.finished() && op.scope.Overlaps(scope)) {
      return Status::Conflict(std::string(ToString(op.kind)) + " " + op.id + " is already " +
                              (op.phase == OperationPhase::kQueued ? "queued" : "running") +
                              " on " + op.scope.Describe());
    }
  }
  Operation op;
  op.id = id.empty() ? prefix_ + std::to_string(next_id_++) : std::move(id);
  op.kind = kind;
  op.scope = std::move(scope);
  op.repair = repair;
  op.requested_by = std::move(requested_by);
  op.submitted_at = now;
  Add(op);
  return op.id;
}

void Operations::Add(Operation op) {
  ops_.push_back(std::move(op));
  // Drops the oldest finished ones beyond the bound.
  size_t finished = static_cast<size_t>(
      std::count_if(ops_.begin(), ops_.end(), [](const Operation& o) { return o.finished(); }));
  for (auto it = ops_.begin(); finished > keep_finished_ && it != ops_.end();) {
    if (it->finished()) {
      it = ops_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

Operation* Operations::Find(const std::string& id) {
  for (auto& op : ops_) {
    if (op.id == id) return &op;
  }
  return nullptr;
}

std::optional<Operation> Operations::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& op : ops_) {
    if (op.id == id) return op;
  }
  return std::nullopt;
}

std::vector<Operation> Operations::List() const {
  std::lock_guard lock(mu_);
  std::vector<Operation> out(ops_.rbegin(), ops_.rend());
  std::stable_partition(out.begin(), out.end(), [](const Operation& o) { return !o.finished(); });
  return out;
}

Operation Operations::Record(OperationKind kind, core::ViewScope scope, std::string requested_by,
                             Timestamp now, OperationPhase phase) {
  std::lock_guard lock(mu_);
  Operation op;
  op.id = prefix_ + std::to_string(next_id_++);
  op.kind = kind;
  op.scope = std::move(scope);
  op.requested_by = std::move(requested_by);
  op.submitted_at = now;
  op.started_at = now;
  op.phase = phase;
  Add(op);
  return op;
}

std::optional<Operation> Operations::StartInstant(Timestamp now) {
  std::lock_guard lock(mu_);
  for (auto& op : ops_) {
    if (op.phase == OperationPhase::kQueued && IsInstant(op.kind)) {
      op.phase = OperationPhase::kSwapping;
      op.started_at = now;
      return op;
    }
  }
  return std::nullopt;
}

std::optional<Operation> Operations::Start(Timestamp now, OperationPhase phase) {
  std::lock_guard lock(mu_);
  for (auto& op : ops_) {
    if (op.phase == OperationPhase::kQueued && !IsInstant(op.kind)) {
      op.phase = phase;
      op.started_at = now;
      return op;
    }
  }
  return std::nullopt;
}

void Operations::Update(const Operation& op) {
  std::lock_guard lock(mu_);
  if (Operation* stored = Find(op.id)) *stored = op;
}

}  // namespace mv::worker
