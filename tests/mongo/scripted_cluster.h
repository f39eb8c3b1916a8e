#pragma once

// A scripted MongoDB cluster for the source's tests: an ordered log of change events
// shaped as a server returns them, change streams opened on it at any cluster time, idle
// batches with a postBatchResumeToken, and errors injected where a test wants them.

#include <fmt/format.h>

#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mongo/change_source.h"

namespace mv::testing {

using nlohmann::json;

// A resume token whose _data starts with cluster time (t, i), as the server's do.
inline json ResumeToken(std::uint32_t t, std::uint32_t i) {
  return {{"_data", fmt::format("82{:08X}{:08X}2B042C0100296E5A1004", t, i)}};
}

// An event of the shipments collection at cluster time (t, i).
inline json ShipmentEvent(const std::string& op, std::uint32_t t, std::uint32_t i,
                          const std::string& id, const std::string& status = "booked") {
  json e = {{"_id", ResumeToken(t, i)},
            {"operationType", op},
            {"clusterTime", {{"$timestamp", {{"t", t}, {"i", i}}}}},
            {"wallTime", {{"$date", {{"$numberLong", std::to_string(t * 1000LL)}}}}},
            {"ns", {{"db", "viya"}, {"coll", "shipments"}}},
            {"documentKey", {{"_id", id}, {"organizationId", "acme"}}}};
  if (op != "delete") {
    e["fullDocument"] = {{"_id", id},
                         {"organizationId", "acme"},
                         {"status", status},
                         {"createdAt", {{"$date", "2025-02-01T08:00:00Z"}}}};
  }
  return e;
}

class ScriptedCluster final : public mongo::StreamDriver {
 public:
  // The log, in cluster-time order. An entry {"$error": reply} is an error the cursor
  // that reaches it returns once (then it is gone from the log).
  std::vector<json> log;
  std::vector<std::optional<mongo::ClusterTime>> opened_at;  // every Open's start

  Result<std::unique_ptr<mongo::ChangeCursor>> Open(std::optional<mongo::ClusterTime> start,
                                                    Millis) override {
    opened_at.push_back(start);
    return std::unique_ptr<mongo::ChangeCursor>(new Cursor(this, start));
  }
  Result<mongo::ClusterTime> ClusterTimeNow() override { return Latest(); }

  mongo::ClusterTime Latest() const {
    mongo::ClusterTime latest{1, 0};
    for (const json& e : log) {
      if (e.contains("clusterTime")) latest = std::max(latest, TimeOf(e));
    }
    return latest;
  }
  static mongo::ClusterTime TimeOf(const json& e) {
    const json& ts = e["clusterTime"]["$timestamp"];
    return {ts["t"].get<std::uint32_t>(), ts["i"].get<std::uint32_t>()};
  }

 private:
  class Cursor final : public mongo::ChangeCursor {
   public:
    Cursor(ScriptedCluster* cluster, std::optional<mongo::ClusterTime> start)
        : cluster_(cluster), start_(start) {}
    mongo::CursorStep Next() override {
      auto& log = cluster_->log;
      while (next_ < log.size()) {
        size_t i = next_++;
        if (log[i].contains("$error")) {
          json reply = log[i]["$error"];
          log.erase(log.begin() + static_cast<std::ptrdiff_t>(i));
          return {mongo::CursorStep::Kind::kError, reply};
        }
        if (start_ && TimeOf(log[i]) < *start_) continue;
        return {mongo::CursorStep::Kind::kEvent, log[i]};
      }
      // An empty batch: the server scanned through its latest entry.
      mongo::ClusterTime latest = cluster_->Latest();
      return {mongo::CursorStep::Kind::kIdle, ResumeToken(latest.seconds, latest.increment)};
    }

   private:
    ScriptedCluster* cluster_;
    std::optional<mongo::ClusterTime> start_;
    size_t next_ = 0;
  };
};

}  // namespace mv::testing
