#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// Writes to one connection in shared transactions (group commit), on a committer thread
// of its own: the writes queued while a transaction commits all go into the next one,
// each inside a savepoint of its own, so that a write that fails is undone alone. One
// commit (one WAL append) makes them all durable; then each write's completion is called
// with its own outcome. Under load, transactions grow by themselves: the longer a commit
// takes, the more writes the next one carries. Thread-safe.
class GroupCommit {
 public:
  using Work = std::function<Status()>;
  using Done = std::function<void(Status)>;

  // `db` is used only on the committer thread from now on.
  explicit GroupCommit(Database* db);
  // Finishes the writes queued, then joins the committer thread.
  ~GroupCommit();

  // Queues `work` (its reads and writes on the connection, run on the committer thread)
  // and returns at once; `done` gets the Status `work` returned, or the commit's error,
  // on the committer thread (it must be quick). Only with Ok did what `work` wrote commit.
  void Submit(Work work, Done done);
  // Submit, then waits for the outcome.
  Status Run(Work work);

  // Counts, for metrics and tests: transactions committed and writes they carried.
  std::int64_t transactions() const;
  std::int64_t writes() const;

 private:
  struct Write {
    Work work;
    Done done;
    Status status;
  };
  void Loop();
  void RunBatch(std::vector<Write>& batch);

  Database* db_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Write> queue_;        // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  std::int64_t transactions_ = 0;  // guarded by mu_
  std::int64_t writes_ = 0;        // guarded by mu_
  std::thread committer_;
};

}  // namespace mv::storage::sqlite
