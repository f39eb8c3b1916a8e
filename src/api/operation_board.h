#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace mv::api {

// Where the worker and the `api` replicas of one set of views meet about operations
// (rebuild, reconcile, migrate, switch, rollback, drop retired): a replica leaves a
// request, the worker takes it and publishes the operation's state as it runs, and any
// process reads it back. Requests and states are the admin API's JSON (an operation's id
// first). Thread-safe.
class OperationBoard {
 public:
  virtual ~OperationBoard() = default;
  // A replica asks for an operation; `request` carries its id, kind, views, org,
  // nextVersion, repair, requestedBy and submittedAt. Conflict for an id already used.
  virtual Status Request(const nlohmann::json& request) = 0;
  // The worker of partition `partition` (core::Partition::Id) takes the requests it has
  // not taken yet, oldest first; each is taken once per partition.
  virtual Result<std::vector<nlohmann::json>> TakeRequests(const std::string& partition) = 0;
  // The worker publishes an operation's state (its id names it).
  virtual Status Publish(const nlohmann::json& state) = 0;
  // Published states, and requests no worker has published yet (as they were asked),
  // newest first, at most `limit`.
  virtual Result<std::vector<nlohmann::json>> List(size_t limit) = 0;
  // The published state of `id`, else its request; nullopt when neither exists.
  virtual Result<std::optional<nlohmann::json>> Get(const std::string& id) = 0;
};

}  // namespace mv::api
