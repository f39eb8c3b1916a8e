#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "base/result.h"
#include "core/interfaces.h"
#include "core/view_batch.h"

namespace mv::worker {

// Writes a rebuild's chunks on a thread of its own, so that reading and projecting the
// snapshot (the caller's thread) overlaps with storing the chunk before: one chunk may
// wait while one is written. The first failed write fails every later Push and Finish.
//
// Push and Finish belong to one thread; `rebuild` is used only by the writer thread
// until Finish returns.
class ChunkWriter {
 public:
  explicit ChunkWriter(core::ViewRebuild* rebuild)
      : rebuild_(rebuild), thread_([this] { Loop(); }) {}
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;
  ~ChunkWriter() { (void)Finish(); }

  // Hands `chunk` to the writer, waiting while the previous one still waits; returns the
  // error of an earlier write, if one failed.
  Status Push(core::ViewBatch chunk) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !pending_ || !status_.ok(); });
    if (!status_.ok()) return status_;
    pending_ = std::move(chunk);
    cv_.notify_all();
    return Status::Ok();
  }

  // Waits until every pushed chunk is written, stops the thread; returns the first error.
  Status Finish() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return status_;
  }

  // Time spent writing so far.
  double busy_seconds() {
    std::lock_guard lock(mu_);
    return std::chrono::duration<double>(busy_).count();
  }

 private:
  void Loop() {
    for (;;) {
      core::ViewBatch chunk;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return pending_ || closed_; });
        if (!pending_) return;
        chunk = std::move(*pending_);
      }
      auto started = std::chrono::steady_clock::now();
      Status written = rebuild_->Write(chunk);
      {
        std::lock_guard lock(mu_);
        busy_ += std::chrono::steady_clock::now() - started;
        pending_.reset();
        if (!written.ok() && status_.ok()) status_ = written;
      }
      cv_.notify_all();
      if (!written.ok()) return;
    }
  }

  core::ViewRebuild* rebuild_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<core::ViewBatch> pending_;      // guarded by mu_; set while waiting or written
  bool closed_ = false;                         // guarded by mu_
  Status status_ = Status::Ok();                // guarded by mu_
  std::chrono::steady_clock::duration busy_{};  // guarded by mu_
  std::thread thread_;                          // last: starts once the rest is built
};

}  // namespace mv::worker
