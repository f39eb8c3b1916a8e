#include "mongo/preflight.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <set>

#include "base/time.h"
#include "mongo/driver.h"
#include "mongo/extended_json.h"

namespace mv::mongo {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using Level = PreflightCheck::Level;

std::array<int, 3> Version(const std::string& text) {
  std::array<int, 3> v{0, 0, 0};
  std::sscanf(text.c_str(), "%d.%d.%d", &v[0], &v[1], &v[2]);
  return v;
}

// Seconds of a {"$timestamp": {t, i}} value, or nullopt.
std::optional<double> TimestampSeconds(const json& entry) {
  auto ts = entry.find("ts");
  if (ts == entry.end() || !ts->is_object() || !ts->contains("$timestamp")) return std::nullopt;
  const json& t = (*ts)["$timestamp"];
  if (!t.contains("t") || !t["t"].is_number()) return std::nullopt;
  return t["t"].get<double>();
}

// Whether a privilege's resource covers the collections of `database`.
bool Covers(const json& resource, const std::string& database) {
  if (resource.value("anyResource", false)) return true;
  if (!resource.contains("db")) return false;
  const std::string db = resource.value("db", "");
  const std::string coll = resource.value("collection", "");
  return (db.empty() || db == database) && coll.empty();
}

PreflightCheck CheckVersion(const PreflightReplies& r, bool* split) {
  const std::string text = r.build_info.value("version", "");
  auto [major, minor, patch] = Version(text);
  if (major == 0) return {"version", Level::kBlocker, "the server reported no version"};
  if (major < 4 || (major == 4 && minor < 2)) {
    return {"version", Level::kBlocker,
            fmt::format("MongoDB {}: change streams as viya-mv uses them need 4.2 or newer", text)};
  }
  *split = major >= 7 || (major == 6 && (minor > 0 || patch >= 9));
  if (!*split) {
    return {"version", Level::kWarning,
            fmt::format("MongoDB {}: no $changeStreamSplitLargeEvent (6.0.9+, 7.0+); a change "
                        "over 16 MB will stop the stream with its document id",
                        text)};
  }
  return {"version", Level::kOk, fmt::format("MongoDB {} (splits changes over 16 MB)", text)};
}

PreflightCheck CheckTopology(const PreflightReplies& r) {
  if (r.hello.value("msg", "") == "isdbgrid") return {"topology", Level::kOk, "sharded cluster"};
  if (r.hello.contains("setName")) {
    return {"topology", Level::kOk, fmt::format("replica set {}", r.hello.value("setName", ""))};
  }
  return {"topology", Level::kBlocker,
          "a standalone server has no change streams: use a replica set (one node will do) or "
          "a sharded cluster"};
}

PreflightCheck CheckPrivileges(const PreflightReplies& r, const std::string& database) {
  const json info = r.connection_status.value("authInfo", json::object());
  const json users = info.value("authenticatedUsers", json::array());
  const json privileges = info.value("authenticatedUserPrivileges", json::array());
  if (users.empty() && privileges.empty()) {
    return {"privileges", Level::kWarning,
            "not authenticated (or authentication is off): privileges cannot be checked"};
  }
  bool change_stream = false, find = false;
  for (const json& p : privileges) {
    if (!Covers(p.value("resource", json::object()), database)) continue;
    for (const json& action : p.value("actions", json::array())) {
      change_stream = change_stream || action == "changeStream";
      find = find || action == "find";
    }
  }
  if (change_stream && find) {
    return {"privileges", Level::kOk, fmt::format("changeStream and find on {}", database)};
  }
  std::string missing = !change_stream && !find ? "changeStream and find"
                        : !change_stream        ? "changeStream"
                                                : "find";
  return {"privileges", Level::kBlocker,
          fmt::format("the user lacks {} on database {} (the read role grants both)", missing,
                      database)};
}

// The actions the view store takes on its database: rows, catalog and checkpoints
// (find, insert, update, remove), shadows and stable names (createCollection, collMod,
// dropCollection) and indexes (createIndex). readWrite and dbAdmin grant them.
PreflightCheck CheckViewPrivileges(const PreflightReplies& r, const std::string& database) {
  const json info = r.connection_status.value("authInfo", json::object());
  const json privileges = info.value("authenticatedUserPrivileges", json::array());
  if (info.value("authenticatedUsers", json::array()).empty() && privileges.empty()) {
    return {"views", Level::kWarning,
            "not authenticated (or authentication is off): privileges on " + database +
                " cannot be checked"};
  }
  std::set<std::string> held;
  for (const json& p : privileges) {
    if (!Covers(p.value("resource", json::object()), database)) continue;
    for (const json& action : p.value("actions", json::array())) {
      if (action.is_string()) held.insert(action.get<std::string>());
    }
  }
  std::vector<std::string> missing;
  for (const char* action : {"find", "insert", "update", "remove", "createCollection",
                             "createIndex", "collMod", "dropCollection"}) {
    if (!held.count(action)) missing.push_back(action);
  }
  if (missing.empty()) {
    return {"views", Level::kOk, fmt::format("writes, collections and indexes on {}", database)};
  }
  return {"views", Level::kBlocker,
          fmt::format("the user lacks {} on the views database {} (readWrite and dbAdmin grant "
                      "them)",
                      fmt::join(missing, ", "), database)};
}

PreflightCheck CheckOplog(const PreflightReplies& r, double min_hours) {
  std::optional<double> first, last;
  if (r.oplog_first) first = TimestampSeconds(*r.oplog_first);
  if (r.oplog_last) last = TimestampSeconds(*r.oplog_last);
  if (!first || !last) {
    return {"oplog", Level::kWarning,
            "the oplog window could not be read (through mongos, check each shard's: "
            "rs.printReplicationInfo())"};
  }
  double hours = (*last - *first) / 3600;
  if (hours < min_hours) {
    return {"oplog", Level::kWarning,
            fmt::format("the oplog holds {:.1f} h, under oplog.min_window_hours = {:g}: an outage "
                        "longer than that loses the stream's history and needs a rebuild",
                        hours, min_hours)};
  }
  return {"oplog", Level::kOk, fmt::format("the oplog holds {:.1f} h", hours)};
}

PreflightCheck CheckClock(const PreflightReplies& r, const PreflightOptions& o) {
  json local = PlainJson(r.hello.value("localTime", json()));
  std::optional<Timestamp> server;
  if (local.is_string()) server = ParseRfc3339(local.get<std::string>());
  if (!server) return {"clock", Level::kWarning, "the server reported no localTime"};
  auto skew = std::chrono::duration_cast<Millis>(*server - o.now);
  if (std::chrono::abs(skew) > o.max_clock_skew) {
    return {"clock", Level::kWarning,
            fmt::format("the server's clock is {} ms off this machine's: SLA states and "
                        "staleness use wall times",
                        skew.count())};
  }
  return {"clock", Level::kOk, fmt::format("skew {} ms", skew.count())};
}

}  // namespace

bool PreflightReport::blocked() const {
  for (const auto& c : checks) {
    if (c.level == Level::kBlocker) return true;
  }
  return false;
}

json PreflightReport::ToJson() const {
  json out = json::array();
  for (const auto& c : checks) {
    const char* level = c.level == Level::kOk        ? "ok"
                        : c.level == Level::kWarning ? "warning"
                                                     : "blocker";
    out.push_back({{"check", c.name}, {"level", level}, {"message", c.message}});
  }
  return {{"checks", out}, {"blocked", blocked()}, {"splitLargeEvents", split_large_events}};
}

PreflightReport EvaluatePreflight(const PreflightReplies& replies,
                                  const PreflightOptions& options) {
  PreflightReport report;
  report.checks.push_back(CheckVersion(replies, &report.split_large_events));
  report.checks.push_back(CheckTopology(replies));
  report.checks.push_back(CheckPrivileges(replies, options.database));
  if (options.views_database) {
    report.checks.push_back(CheckViewPrivileges(replies, *options.views_database));
  }
  report.checks.push_back(CheckOplog(replies, options.min_oplog_window_hours));
  report.checks.push_back(CheckClock(replies, options));
  return report;
}

Result<PreflightReplies> GatherPreflight(MongoConnection& connection) {
  PreflightReplies r;
  MV_ASSIGN_OR_RETURN(r.hello, connection.Command("admin", ordered_json{{"hello", 1}}));
  MV_ASSIGN_OR_RETURN(r.build_info, connection.Command("admin", ordered_json{{"buildInfo", 1}}));
  MV_ASSIGN_OR_RETURN(
      r.connection_status,
      connection.Command("admin", ordered_json{{"connectionStatus", 1}, {"showPrivileges", true}}));
  // The oplog's ends, on a replica set member (not through mongos).
  for (int direction : {1, -1}) {
    auto reply = connection.Command("local", ordered_json{{"find", "oplog.rs"},
                                                          {"sort", {{"$natural", direction}}},
                                                          {"limit", 1},
                                                          {"projection", {{"ts", 1}}}});
    if (!reply.ok() || reply->value("ok", 0.0) != 1.0) continue;
    const json batch = reply->value("cursor", json::object()).value("firstBatch", json::array());
    if (batch.empty()) continue;
    (direction == 1 ? r.oplog_first : r.oplog_last) = batch[0];
  }
  return r;
}

}  // namespace mv::mongo
