#include "storage/sqlite/group_commit.h"

#include <exception>
#include <future>
#include <string>

namespace mv::storage::sqlite {

GroupCommit::GroupCommit(Database* db) : db_(db) {
  committer_ = std::thread([this] { Loop(); });
}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  committer_.join();
}

void GroupCommit::Submit(Work work, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(work), std::move(done), Status::Ok()});
      cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("the store is closing"));
}

Status GroupCommit::Run(Work work) {
  std::promise<Status> outcome;
  auto result = outcome.get_future();
  Submit(std::move(work), [&outcome](Status s) { outcome.set_value(std::move(s)); });
  return result.get();
}

void GroupCommit::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to write
    std::vector<Write> batch;
    batch.reserve(queue_.size());
    while (!queue_.empty()) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    RunBatch(batch);
    {
      // Counted before any writer hears back, so a writer sees its own write counted.
      std::lock_guard count(mu_);
      ++transactions_;
      writes_ += static_cast<std::int64_t>(batch.size());
    }
    for (Write& w : batch) w.done(std::move(w.status));
    lock.lock();
  }
}

void GroupCommit::RunBatch(std::vector<Write>& batch) {
  auto txn = db_->BeginWrite();
  if (!txn.ok()) {
    for (Write& w : batch) w.status = txn.status();
    return;
  }
  for (Write& w : batch) {
    Status begin = db_->Run("SAVEPOINT group_write");
    if (!begin.ok()) {
      w.status = begin;
      continue;
    }
    try {
      w.status = w.work();
    } catch (const std::exception& e) {
      w.status = Status::Internal(std::string("write failed: ") + e.what());
    }
    if (!w.status.ok()) (void)db_->Run("ROLLBACK TO group_write");
    Status release = db_->Run("RELEASE group_write");
    if (w.status.ok() && !release.ok()) w.status = release;
  }
  Status commit = (*txn)->Commit();
  if (!commit.ok()) {
    for (Write& w : batch) {
      if (w.status.ok()) w.status = commit;
    }
  }
}

std::int64_t GroupCommit::transactions() const {
  std::lock_guard lock(mu_);
  return transactions_;
}

std::int64_t GroupCommit::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

}  // namespace mv::storage::sqlite
