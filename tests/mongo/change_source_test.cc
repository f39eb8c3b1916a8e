#include "mongo/change_source.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mongo/progress.h"
#include "scripted_cluster.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using mongo::ClusterTime;
using mongo::Pack;

std::vector<std::string> Ids(const std::vector<core::ChangeEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.document_id);
  return out;
}

class MongoChangeSourceTest : public ::testing::Test {
 protected:
  mongo::MongoChangeSource Source() {
    mongo::MongoChangeSourceOptions o;
    o.idle_checkpoint_interval = Millis(0);
    o.retry_pause = Millis(0);
    return mongo::MongoChangeSource(&cluster_, {}, {}, o);
  }
  ScriptedCluster cluster_;
};

TEST_F(MongoChangeSourceTest, ReadsInOrderAndGoesOnWithoutReopening) {
  for (std::uint32_t t = 10; t < 15; ++t) {
    cluster_.log.push_back(ShipmentEvent("insert", t, 1, "S-" + std::to_string(t)));
  }
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(auto first, source.Read(Pack({10, 1}), 2, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"S-11", "S-12"})) << "after the token only";
  EXPECT_EQ(cluster_.opened_at.front(), (ClusterTime{10, 1})) << "startAtOperationTime";
  MV_ASSERT_OK_AND_ASSIGN(auto rest, source.Read(first.back().token, 10, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(rest), (std::vector<std::string>{"S-13", "S-14"}));
  EXPECT_EQ(source.opens(), 1) << "reading on from the last token keeps the cursor";
  EXPECT_EQ(rest.back().token, Pack({14, 1}));
  EXPECT_EQ(rest.back().wall_time, Timestamp(std::chrono::seconds(14)));
}

TEST_F(MongoChangeSourceTest, ABatchNeverEndsInsideATransaction) {
  cluster_.log.push_back(ShipmentEvent("insert", 20, 1, "S-1"));
  for (const char* id : {"S-2", "S-3", "S-4"}) {  // one transaction: one cluster time
    cluster_.log.push_back(ShipmentEvent("insert", 21, 1, id));
  }
  cluster_.log.push_back(ShipmentEvent("insert", 22, 1, "S-5"));
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(auto batch, source.Read(Pack({19, 0}), 2, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(batch), (std::vector<std::string>{"S-1", "S-2", "S-3", "S-4"}))
      << "past max_events rather than split the group at 21";
  MV_ASSERT_OK_AND_ASSIGN(auto next, source.Read(batch.back().token, 2, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(next), (std::vector<std::string>{"S-5"})) << "the held event comes next";
}

TEST_F(MongoChangeSourceTest, ReadingFromAnotherTokenReopensThereAndSkipsWhatIsNotAfterIt) {
  for (std::uint32_t t = 30; t < 34; ++t) {
    cluster_.log.push_back(ShipmentEvent("update", t, 1, "S-" + std::to_string(t)));
  }
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(auto all, source.Read(Pack({29, 0}), 10, Millis(0), Millis(0)));
  ASSERT_EQ(all.size(), 4u);
  // A catch-up from an older token (a rebuild's shadow) replays from there.
  MV_ASSERT_OK_AND_ASSIGN(auto again, source.Read(all[1].token, 10, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(again), (std::vector<std::string>{"S-32", "S-33"}));
  EXPECT_EQ(source.opens(), 2);
  EXPECT_EQ(cluster_.opened_at.back(), (ClusterTime{31, 1}));
}

TEST_F(MongoChangeSourceTest, AnIdleStreamReportsHowFarItScanned) {
  cluster_.log.push_back(ShipmentEvent("insert", 40, 1, "S-1"));
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(auto batch, source.Read(Pack({39, 0}), 10, Millis(0), Millis(0)));
  ASSERT_EQ(batch.size(), 1u);
  // Other collections' writes move the cluster time on; the idle batch's token says so.
  json other = ShipmentEvent("insert", 45, 3, "I-1");
  other["ns"]["coll"] = "invoices";
  cluster_.log.push_back(other);
  MV_ASSERT_OK_AND_ASSIGN(auto none, source.Read(batch.back().token, 10, Millis(0), Millis(0)));
  EXPECT_TRUE(none.empty());
  core::ChangeToken quiet = source.QuietThrough();
  EXPECT_EQ(quiet, Pack({45, 3}));
  EXPECT_EQ(source.QuietThrough(), 0) << "reported once";
  cluster_.log.push_back(ShipmentEvent("insert", 46, 1, "S-2"));
  MV_ASSERT_OK_AND_ASSIGN(auto after, source.Read(quiet, 10, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(after), (std::vector<std::string>{"S-2"}));
  EXPECT_EQ(source.opens(), 1) << "reading on from the quiet position keeps the cursor";
}

TEST_F(MongoChangeSourceTest, HistoryLostIsReportedAndOtherErrorsResumeWithoutLoss) {
  cluster_.log.push_back(ShipmentEvent("insert", 50, 1, "S-1"));
  cluster_.log.push_back(
      {{"$error", {{"ok", 0}, {"code", 91}, {"codeName", "ShutdownInProgress"}}}});
  cluster_.log.push_back(ShipmentEvent("insert", 51, 1, "S-2"));
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(auto first, source.Read(Pack({49, 0}), 10, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"S-1"}));
  MV_ASSERT_OK_AND_ASSIGN(auto second, source.Read(first.back().token, 10, Millis(0), Millis(0)));
  EXPECT_EQ(Ids(second), (std::vector<std::string>{"S-2"})) << "reopened from the token";
  EXPECT_EQ(cluster_.opened_at.back(), (ClusterTime{50, 1}));
  cluster_.log.push_back(
      {{"$error", {{"ok", 0}, {"code", 286}, {"codeName", "ChangeStreamHistoryLost"}}}});
  auto lost = source.Read(second.back().token, 10, Millis(0), Millis(0));
  EXPECT_EQ(lost.status().code(), StatusCode::kHistoryLost);
}

TEST_F(MongoChangeSourceTest, UndecodableEventsComeAsDeadLettersWithTheirReason) {
  json bad = ShipmentEvent("delete", 60, 1, "S-1");
  bad["documentKey"].erase("organizationId");
  cluster_.log.push_back(bad);
  cluster_.log.push_back(ShipmentEvent("insert", 61, 1, "S-2"));
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(auto batch, source.Read(Pack({59, 0}), 10, Millis(0), Millis(0)));
  ASSERT_EQ(Ids(batch), (std::vector<std::string>{"S-1", "S-2"}));
  const core::ChangeEvent& dead = batch[0];
  ASSERT_TRUE(dead.source_error.has_value());
  EXPECT_NE(dead.source_error->find("changeStreamPreAndPostImages"), std::string::npos);
  EXPECT_EQ(dead.collection, core::Collection::kShipments);
  EXPECT_EQ(dead.token, Pack({60, 1})) << "its place in the stream";
  EXPECT_EQ(json::parse(dead.full_document.value())["operationType"], "delete")
      << "the event as it came, for the operator";
  EXPECT_FALSE(batch[1].source_error.has_value());
  EXPECT_EQ(source.undecodable(), 1);
}

TEST_F(MongoChangeSourceTest, LatestTokenIsTheClusterTime) {
  cluster_.log.push_back(ShipmentEvent("insert", 70, 4, "S-1"));
  auto source = Source();
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken latest, source.LatestToken());
  EXPECT_EQ(latest, Pack({70, 4}));
}

}  // namespace
}  // namespace mv::testing

namespace mv::testing {
namespace {

// Lag in seconds of a MongoDB source: the cluster time the stream has seen less the one the
// views applied (tokens are cluster times), never negative.
TEST(MongoProgress, SecondsBehindIsTheClusterTimeBetweenAppliedAndSeen) {
  mongo::MongoProgress progress;
  progress.seen().Advance(mongo::Pack({1'793'620'800, 7}));
  EXPECT_EQ(progress.SecondsBehind(mongo::Pack({1'793'620'790, 99})), 10.0);
  EXPECT_EQ(progress.SecondsBehind(mongo::Pack({1'793'620'800, 7})), 0.0);
  EXPECT_EQ(progress.SecondsBehind(mongo::Pack({1'793'620'801, 1})), 0.0);
  EXPECT_FALSE(progress.ChangesAfter(0)) << "cluster times do not count changes";
}

}  // namespace
}  // namespace mv::testing
