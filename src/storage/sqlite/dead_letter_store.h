#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/view_batch.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// A change the stream could not project, as views.db keeps it (mv_dead_letters).
struct StoredDeadLetter {
  std::int64_t id = 0;
  core::DeadLetter letter;
  Timestamp created_at{};
};

// The dead letters of views.db, for operators: listed, and removed once retried. Its own
// connection, serialized; thread-safe.
class DeadLetterStore {
 public:
  static Result<std::unique_ptr<DeadLetterStore>> Open(const std::string& views_db_path);

  // Newest first, at most `limit`.
  Result<std::vector<StoredDeadLetter>> List(size_t limit);
  Result<std::int64_t> Count();
  Result<std::optional<StoredDeadLetter>> Get(std::int64_t id);
  // NotFound when there is no dead letter `id`.
  Status Remove(std::int64_t id);

 private:
  explicit DeadLetterStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
