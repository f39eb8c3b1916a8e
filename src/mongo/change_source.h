#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "core/interfaces.h"
#include "mongo/cluster_time.h"
#include "mongo/stream_state.h"

namespace mv::mongo {

// One open change stream as the driver gives it. Not thread-safe.
class ChangeCursor {
 public:
  virtual ~ChangeCursor() = default;
  // The next step: an event, an idle step after an empty batch (waiting at most the
  // stream's max await time for it), or an error that ends this cursor.
  virtual CursorStep Next() = 0;
};

// The driver's part of the MongoDB source: opening change streams and reading the
// cluster's time. driver.cc implements it with libmongoc; tests with a script.
// Thread-safe.
class StreamDriver {
 public:
  virtual ~StreamDriver() = default;
  // A database change stream over the four collections (fullDocument: updateLookup) that
  // starts at cluster time `start`, inclusive (nullopt: now), and waits at most
  // `max_await` for each batch.
  virtual Result<std::unique_ptr<ChangeCursor>> Open(std::optional<ClusterTime> start,
                                                     Millis max_await) = 0;
  // The cluster's newest operation time.
  virtual Result<ClusterTime> ClusterTimeNow() = 0;
};

struct MongoChangeSourceOptions {
  Millis max_await{500};
  // An idle stream's checkpoint advances at most this often (postBatchResumeToken).
  Millis idle_checkpoint_interval{10000};
  // The pause before reopening a stream the driver gave up on.
  Millis retry_pause{1000};
  // Advanced to every position the stream returns or scans through (MongoProgress);
  // may be null.
  Watermark* seen = nullptr;
};

// core::ChangeSource over a MongoDB change stream. The token is the packed cluster time
// (cluster_time.h): a Read after any token reopens the stream there (startAtOperationTime)
// and skips what is not after it, and a batch never ends inside a group of events that
// share a cluster time (a transaction), so "applied through token T" always means every
// change at T. The decisions are ChangeStreamState's; this class adds the cursor's life.
// Thread-compatible: one reader at a time, as core::ChangeSource.
class MongoChangeSource final : public core::ChangeSource {
 public:
  MongoChangeSource(StreamDriver* driver, SourceNames names, FieldMapping mapping,
                    MongoChangeSourceOptions options);

  // HistoryLost for the changes the stream can no longer return (ChangeStreamState);
  // Unavailable for an event too large to return.
  Result<std::vector<core::ChangeEvent>> Read(core::ChangeToken after, size_t max_events,
                                              Millis wait, Millis linger) override;
  Result<core::ChangeToken> LatestToken() override;
  // The idle stream's position when it is past the last event returned; the caller reads
  // on from it.
  core::ChangeToken QuietThrough() override;

  // Events that could not be decoded (passed on as dead letters: core::ChangeEvent's
  // source_error; operators see them there). For tests.
  std::int64_t undecodable() const { return undecodable_; }
  // How often a stream was opened (the first time, after a retry, or at a new position).
  // For tests.
  std::int64_t opens() const { return opens_; }

 private:
  Status Reopen(core::ChangeToken after, Millis max_await);

  StreamDriver* driver_;
  const MongoChangeSourceOptions options_;
  ChangeStreamState state_;
  std::unique_ptr<ChangeCursor> cursor_;
  core::ChangeToken position_ = -1;        // the cursor has returned everything through it
  std::optional<core::ChangeEvent> held_;  // read ahead at a batch's end; after position_
  core::ChangeToken quiet_ = 0;            // the latest idle position seen
  std::int64_t undecodable_ = 0;
  std::int64_t opens_ = 0;
};

}  // namespace mv::mongo
