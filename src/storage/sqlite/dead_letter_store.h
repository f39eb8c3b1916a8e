#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/operator_stores.h"
#include "base/clock.h"
#include "base/result.h"
#include "core/view_batch.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

using api::StoredDeadLetter;

// The dead letters of views.db, for operators: listed, and removed once retried. Its own
// connection, serialized; thread-safe.
class DeadLetterStore final : public api::DeadLetters {
 public:
  static Result<std::unique_ptr<DeadLetterStore>> Open(const std::string& views_db_path);

  Result<std::vector<StoredDeadLetter>> List(size_t limit) override;
  Result<std::int64_t> Count() override;
  Result<std::optional<StoredDeadLetter>> Get(std::int64_t id) override;
  Status Remove(std::int64_t id) override;

 private:
  explicit DeadLetterStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
