#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "api/operation_board.h"
#include "base/clock.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// The operation board of views.db (table mv_operations: id, request, taken_by, state,
// updated_at), shared by the worker and the `api` replicas of a data folder. Its own
// connection, serialized; thread-safe.
class SqliteOperationBoard final : public api::OperationBoard {
 public:
  static Result<std::unique_ptr<SqliteOperationBoard>> Open(const std::string& views_db_path,
                                                            const Clock* clock);

  Status Request(const nlohmann::json& request) override;
  Result<std::vector<nlohmann::json>> TakeRequests(const std::string& partition) override;
  Status Publish(const nlohmann::json& state) override;
  Result<std::vector<nlohmann::json>> List(size_t limit) override;
  Result<std::optional<nlohmann::json>> Get(const std::string& id) override;

 private:
  SqliteOperationBoard(std::unique_ptr<Database> db, const Clock* clock)
      : db_(std::move(db)), clock_(clock) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
  const Clock* clock_;
};

}  // namespace mv::storage::sqlite
