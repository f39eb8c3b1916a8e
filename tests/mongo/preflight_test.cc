#include "mongo/preflight.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace mv::mongo {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Level = PreflightCheck::Level;

// Replies shaped as a MongoDB 7.0 replica set member returns them to a user with the
// read role on "viya", its clock in step with this machine's, a 48-hour oplog.
PreflightReplies Healthy() {
  PreflightReplies r;
  r.build_info = json::parse(R"({"version": "7.0.5", "gitVersion": "x", "ok": 1})");
  r.hello = json::parse(R"({"isWritablePrimary": true, "setName": "rs0", "hosts": ["db1:27017"],
                            "localTime": {"$date": "2026-12-04T10:00:01Z"}, "ok": 1})");
  r.connection_status = json::parse(R"({"authInfo": {
      "authenticatedUsers": [{"user": "viya", "db": "admin"}],
      "authenticatedUserRoles": [{"role": "read", "db": "viya"}],
      "authenticatedUserPrivileges": [
        {"resource": {"db": "viya", "collection": ""},
         "actions": ["changeStream", "collStats", "dbHash", "find", "listCollections"]},
        {"resource": {"db": "viya", "collection": "system.js"}, "actions": ["find"]}]},
      "ok": 1})");
  r.oplog_first = json::parse(R"({"ts": {"$timestamp": {"t": 1764669600, "i": 1}}})");
  r.oplog_last = json::parse(R"({"ts": {"$timestamp": {"t": 1764842400, "i": 7}}})");
  return r;
}

PreflightOptions Options() {
  PreflightOptions o;
  o.database = "viya";
  o.now = testing::T("2026-12-04T10:00:00Z");
  return o;
}

Level LevelOf(const PreflightReport& report, const std::string& name) {
  for (const auto& c : report.checks) {
    if (c.name == name) return c.level;
  }
  ADD_FAILURE() << "no check " << name;
  return Level::kBlocker;
}

std::string MessageOf(const PreflightReport& report, const std::string& name) {
  for (const auto& c : report.checks) {
    if (c.name == name) return c.message;
  }
  return "";
}

TEST(Preflight, AHealthyReplicaSetPassesEveryCheck) {
  PreflightReport report = EvaluatePreflight(Healthy(), Options());
  EXPECT_FALSE(report.blocked()) << report.ToJson().dump(2);
  for (const auto& c : report.checks) EXPECT_EQ(c.level, Level::kOk) << c.name << ": " << c.message;
  EXPECT_TRUE(report.split_large_events);
  EXPECT_THAT(MessageOf(report, "oplog"), HasSubstr("48.0 h"));
}

TEST(Preflight, VersionsDecideSplittingAndOldOnesBlock) {
  struct Case {
    const char* version;
    Level level;
    bool split;
  };
  for (const Case& c :
       {Case{"7.0.0", Level::kOk, true}, Case{"6.0.9", Level::kOk, true},
        Case{"6.3.1", Level::kOk, true}, Case{"6.0.8", Level::kWarning, false},
        Case{"5.0.24", Level::kWarning, false}, Case{"4.2.0", Level::kWarning, false},
        Case{"4.0.28", Level::kBlocker, false}, Case{"", Level::kBlocker, false}}) {
    PreflightReplies r = Healthy();
    r.build_info["version"] = c.version;
    PreflightReport report = EvaluatePreflight(r, Options());
    EXPECT_EQ(LevelOf(report, "version"), c.level) << c.version;
    EXPECT_EQ(report.split_large_events, c.split) << c.version;
  }
}

TEST(Preflight, AStandaloneServerIsABlockerAndMongosIsFine) {
  PreflightReplies standalone = Healthy();
  standalone.hello.erase("setName");
  PreflightReport report = EvaluatePreflight(standalone, Options());
  EXPECT_TRUE(report.blocked());
  EXPECT_THAT(MessageOf(report, "topology"), HasSubstr("replica set"));
  PreflightReplies mongos = standalone;
  mongos.hello["msg"] = "isdbgrid";
  mongos.oplog_first.reset();
  mongos.oplog_last.reset();
  PreflightReport sharded = EvaluatePreflight(mongos, Options());
  EXPECT_EQ(LevelOf(sharded, "topology"), Level::kOk);
  EXPECT_EQ(LevelOf(sharded, "oplog"), Level::kWarning) << "each shard's window: not readable";
  EXPECT_FALSE(sharded.blocked());
}

TEST(Preflight, MissingPrivilegesBlockAndNamedOnes) {
  PreflightReplies r = Healthy();
  r.connection_status["authInfo"]["authenticatedUserPrivileges"][0]["actions"] = {"find"};
  PreflightReport report = EvaluatePreflight(r, Options());
  EXPECT_EQ(LevelOf(report, "privileges"), Level::kBlocker);
  EXPECT_THAT(MessageOf(report, "privileges"), HasSubstr("changeStream"));
  // A privilege on another database does not count; one on every database does.
  r = Healthy();
  r.connection_status["authInfo"]["authenticatedUserPrivileges"][0]["resource"]["db"] = "billing";
  EXPECT_EQ(LevelOf(EvaluatePreflight(r, Options()), "privileges"), Level::kBlocker);
  r.connection_status["authInfo"]["authenticatedUserPrivileges"][0]["resource"]["db"] = "";
  EXPECT_EQ(LevelOf(EvaluatePreflight(r, Options()), "privileges"), Level::kOk);
  // Authentication off: nothing to check, said so.
  r.connection_status = json::parse(
      R"({"authInfo": {"authenticatedUsers": [], "authenticatedUserPrivileges": []}, "ok": 1})");
  EXPECT_EQ(LevelOf(EvaluatePreflight(r, Options()), "privileges"), Level::kWarning);
}

// With the views on the same deployment, the view store's writes there are checked too.
TEST(Preflight, TheViewsDatabaseNeedsWritesCollectionsAndIndexes) {
  PreflightOptions o = Options();
  o.views_database = "viya_mv";
  PreflightReport read_only = EvaluatePreflight(Healthy(), o);
  EXPECT_EQ(LevelOf(read_only, "views"), Level::kBlocker);
  EXPECT_THAT(MessageOf(read_only, "views"), HasSubstr("insert"));
  PreflightReplies r = Healthy();
  r.connection_status["authInfo"]["authenticatedUserPrivileges"].push_back(json::parse(
      R"({"resource": {"db": "viya_mv", "collection": ""},
          "actions": ["find", "insert", "update", "remove", "createCollection", "createIndex",
                      "dropCollection", "listCollections"]})"));
  PreflightReport no_coll_mod = EvaluatePreflight(r, o);
  EXPECT_EQ(LevelOf(no_coll_mod, "views"), Level::kBlocker);
  EXPECT_THAT(MessageOf(no_coll_mod, "views"), HasSubstr("collMod"));
  r.connection_status["authInfo"]["authenticatedUserPrivileges"].back()["actions"].push_back(
      "collMod");
  PreflightReport ok = EvaluatePreflight(r, o);
  EXPECT_EQ(LevelOf(ok, "views"), Level::kOk) << MessageOf(ok, "views");
  EXPECT_FALSE(ok.blocked());
  // Without MongoDB views there is no such check.
  for (const auto& c : EvaluatePreflight(r, Options()).checks) EXPECT_NE(c.name, "views");
}

TEST(Preflight, AShortOplogWindowAndASkewedClockAreWarnings) {
  PreflightReplies r = Healthy();
  r.oplog_first = json::parse(R"({"ts": {"$timestamp": {"t": 1764835200, "i": 1}}})");  // 2 h
  r.hello["localTime"] = {{"$date", "2026-12-04T10:00:09Z"}};
  PreflightReport report = EvaluatePreflight(r, Options());
  EXPECT_EQ(LevelOf(report, "oplog"), Level::kWarning);
  EXPECT_THAT(MessageOf(report, "oplog"), HasSubstr("oplog.min_window_hours"));
  EXPECT_EQ(LevelOf(report, "clock"), Level::kWarning);
  EXPECT_THAT(MessageOf(report, "clock"), HasSubstr("9000 ms"));
  EXPECT_FALSE(report.blocked()) << "warnings do not stop serve";
  json j = report.ToJson();
  EXPECT_EQ(j["blocked"], false);
  EXPECT_EQ(j["checks"].size(), 5u);
}

}  // namespace
}  // namespace mv::mongo
