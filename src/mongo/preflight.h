#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"

namespace mv::mongo {

class MongoConnection;

// One check of `viya-mv check` (and of `serve` at start).
struct PreflightCheck {
  enum class Level { kOk, kWarning, kBlocker };
  std::string name;  // version, topology, privileges, oplog, clock
  Level level = Level::kOk;
  std::string message;
};

struct PreflightReport {
  std::vector<PreflightCheck> checks;
  bool split_large_events = false;  // the server has $changeStreamSplitLargeEvent
  bool blocked() const;
  nlohmann::json ToJson() const;
};

// The server's answers the checks are decided from (Extended JSON replies).
struct PreflightReplies {
  nlohmann::json build_info;         // {buildInfo: 1}
  nlohmann::json hello;              // {hello: 1}
  nlohmann::json connection_status;  // {connectionStatus: 1, showPrivileges: true}
  // The first and last entries of local.oplog.rs ({ts: ...}); nullopt when not readable
  // (a sharded cluster through mongos, or no privilege on `local`).
  std::optional<nlohmann::json> oplog_first, oplog_last;
};

struct PreflightOptions {
  std::string database;  // the platform's database
  // The views database on the same deployment (views.backend = "mongodb"), whose
  // privileges are checked too; nullopt: none there.
  std::optional<std::string> views_database;
  double min_oplog_window_hours = 24;
  Timestamp now{};  // this machine's clock, for the skew check
  Millis max_clock_skew{5000};
};

// The decisions, from the replies alone: server version (4.2 or newer; 6.0.9+ or 7.0+
// splits large events), topology (a replica set or a sharded cluster: a standalone server
// has no change streams), privileges (changeStream and find on the database; on the views
// database the writes, collection and index changes the view store makes), the oplog
// window (a warning under the minimum: a longer outage than the window means a rebuild)
// and clock skew (wall times drive SLA states and staleness).
PreflightReport EvaluatePreflight(const PreflightReplies& replies, const PreflightOptions& options);

// Asks the deployment for the replies; Unavailable when it cannot be reached.
Result<PreflightReplies> GatherPreflight(MongoConnection& connection);

}  // namespace mv::mongo
