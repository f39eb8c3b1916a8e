#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "mongo/change_source.h"
#include "mongo/event_decoder.h"
#include "mongo/source_reader.h"

namespace mv::mongo {

struct ConnectionOptions {
  std::string uri;  // mongodb:// or mongodb+srv://; may carry a password
  SourceNames names;
  // Append $changeStreamSplitLargeEvent to the stream (MongoDB 6.0.9+, 7.0+; preflight
  // decides from the server's version).
  bool split_large_events = false;
};

// One MongoDB deployment through libmongoc 1.23: a client pool, the change streams and
// reads of the source, and commands. A thin layer: what to do with what it returns is
// decided in change_source, source_reader and preflight, which are tested without a
// server. The URI is never logged nor put in an error (it may hold a password).
// Thread-safe.
class MongoConnection final : public StreamDriver, public CollectionReader {
 public:
  static Result<std::unique_ptr<MongoConnection>> Connect(const ConnectionOptions& options);
  ~MongoConnection() override;

  // Runs `command` (Extended JSON; the command's name must be its first key) against
  // `database`. The server's reply, also when it is an error ({ok: 0, code, ...});
  // Unavailable when there is none (no server reachable).
  Result<nlohmann::json> Command(const std::string& database,
                                 const nlohmann::ordered_json& command);

  Result<std::unique_ptr<ChangeCursor>> Open(std::optional<ClusterTime> start,
                                             Millis max_await) override;
  Result<ClusterTime> ClusterTimeNow() override;
  Result<std::unique_ptr<DocumentCursor>> Find(const std::string& collection,
                                               const nlohmann::json& filter, const Sort& sort,
                                               std::optional<std::int64_t> limit) override;
  Result<std::int64_t> Count(const std::string& collection, const nlohmann::json& filter) override;

  // Streams opened from now on split changes over 16 MB (preflight found the server able).
  void SplitLargeEvents(bool on) { split_large_events_ = on; }

 private:
  struct Pool;
  explicit MongoConnection(ConnectionOptions options, std::unique_ptr<Pool> pool);
  const ConnectionOptions options_;
  std::unique_ptr<Pool> pool_;
  std::atomic<bool> split_large_events_;
};

// `document` made BSON by libbson and written back as canonical Extended JSON, as the view
// side's driver hands documents over (for tests: the in-memory views database).
Result<nlohmann::ordered_json> ThroughBsonCanonical(const nlohmann::ordered_json& document);

// `extended_json` made BSON by libbson and written back as relaxed Extended JSON, as the
// change streams and cursors above hand documents over (for tests and tools).
Result<nlohmann::json> ThroughBson(const std::string& extended_json);

}  // namespace mv::mongo
