#pragma once

#include "api/operation_board.h"
#include "base/clock.h"
#include "mongo/view_database.h"

namespace mv::mongo {

inline constexpr const char* kOperations = "mv_operations";

// The operation board of the MongoDB views (collection mv_operations: {_id, request,
// takenBy: [partition...], state, createdAt, updatedAt}), shared by the partition workers
// and the `api` replicas on any host. Thread-safe.
class MongoOperationBoard final : public api::OperationBoard {
 public:
  MongoOperationBoard(ViewDatabase* db, const Clock* clock) : db_(db), clock_(clock) {}
  // Creates the collection's index (idempotent).
  Status Prepare();

  Status Request(const nlohmann::json& request) override;
  Result<std::vector<nlohmann::json>> TakeRequests(const std::string& partition) override;
  Status Publish(const nlohmann::json& state) override;
  Result<std::vector<nlohmann::json>> List(size_t limit) override;
  Result<std::optional<nlohmann::json>> Get(const std::string& id) override;

 private:
  ViewDatabase* db_;
  const Clock* clock_;
};

}  // namespace mv::mongo
