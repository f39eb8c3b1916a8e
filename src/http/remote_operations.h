#pragma once

#include "api/operation_board.h"
#include "core/partition.h"
#include "worker/operations.h"

namespace mv::http {

// The operations of an `api` replica: asked of the worker through the operation board and
// read back as the worker publishes them. With a partitioned stream an operation of every
// org runs on each partition's worker, which publishes it as "<id>.<partition>"; Get
// answers them merged (failed if one failed, done once all are), List each as it is.
// Thread-safe.
class RemoteOperations final : public worker::OperationService {
 public:
  RemoteOperations(api::OperationBoard* board, int partitions)
      : board_(board), partitions_(partitions) {}

  // Conflict is left to the worker: the operation then shows as failed, with its reason.
  Result<std::string> Submit(worker::OperationKind kind, core::ViewScope scope, bool repair,
                             std::string requested_by, Timestamp now) override;
  std::optional<worker::Operation> Get(const std::string& id) const override;
  std::vector<worker::Operation> List() const override;

 private:
  api::OperationBoard* board_;
  const int partitions_;
};

// The id under which the worker of `partition` publishes operation `id`.
std::string PartitionOperationId(const std::string& id, const core::Partition& partition);

}  // namespace mv::http
