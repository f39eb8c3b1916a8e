// The libmongoc layer without a server: documents through libbson decode as the scripted
// ones do, URIs never leak a password, and an unreachable server is an error, not a hang.

#include "mongo/driver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "base/uri.h"
#include "mongo/view_driver.h"
#include "test_util.h"

namespace mv::mongo {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ThroughBson, EveryScriptedEventDecodesAsItDoesThroughLibbson) {
  std::ifstream in(std::string(VIYA_MONGO_TESTDATA) + "/change_events.jsonl");
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++n;
    json scripted = json::parse(line);
    MV_ASSERT_OK_AND_ASSIGN(json relaxed, ThroughBson(line));
    auto a = DecodeChangeEvent(scripted, {}, {});
    auto b = DecodeChangeEvent(relaxed, {}, {});
    ASSERT_EQ(a.ok(), b.ok()) << line;
    if (!a.ok()) continue;
    EXPECT_EQ(a->kind, b->kind) << line;
    EXPECT_EQ(a->change.token, b->change.token) << line;
    EXPECT_EQ(a->change.org, b->change.org);
    EXPECT_EQ(a->change.document_id, b->change.document_id);
    EXPECT_EQ(a->change.full_document, b->change.full_document) << line;
    EXPECT_EQ(a->change.wall_time, b->change.wall_time);
  }
  EXPECT_EQ(n, 14);
}

TEST(ThroughBson, DecimalsAndLongsKeepTheirValue) {
  MV_ASSERT_OK_AND_ASSIGN(
      json relaxed,
      ThroughBson(
          R"({"v": {"$numberDecimal": "1234567.891234"}, "n": {"$numberLong": "9007199254740993"}})"));
  EXPECT_EQ(relaxed["v"], json::parse(R"({"$numberDecimal": "1234567.891234"})"));
  EXPECT_EQ(relaxed["n"].get<std::int64_t>(), 9007199254740993);
}

TEST(RedactUri, HidesThePasswordOnly) {
  EXPECT_EQ(RedactUri("mongodb://viya:s3cret@db1:27017,db2/?replicaSet=rs0"),
            "mongodb://viya:***@db1:27017,db2/?replicaSet=rs0");
  EXPECT_EQ(RedactUri("mongodb+srv://viya:p%40ss@cluster0.example.net"),
            "mongodb+srv://viya:***@cluster0.example.net");
  EXPECT_EQ(RedactUri("mongodb://db1:27017/?replicaSet=rs0"),
            "mongodb://db1:27017/?replicaSet=rs0");
}

TEST(MongoConnection, ABadUriIsRejectedWithoutItsPassword) {
  auto c = MongoConnection::Connect({"mongodb://viya:s3cret@", {}, false});
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), Not(HasSubstr("s3cret")));
}

TEST(MongoConnection, AnUnreachableServerIsUnavailableWithinTheSelectionTimeout) {
  MV_ASSERT_OK_AND_ASSIGN(
      auto c,
      MongoConnection::Connect({"mongodb://viya:s3cret@127.0.0.1:1/?serverSelectionTimeoutMS=300&"
                                "connectTimeoutMS=200",
                                {},
                                false}));
  auto started = std::chrono::steady_clock::now();
  auto time = c->ClusterTimeNow();
  EXPECT_EQ(time.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(time.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  // A change stream on it reports the error from its first step.
  MV_ASSERT_OK_AND_ASSIGN(auto cursor, c->Open(std::nullopt, Millis(100)));
  CursorStep step = cursor->Next();
  EXPECT_EQ(step.kind, CursorStep::Kind::kError) << step.doc.dump();
  EXPECT_EQ(ClassifyStreamError(step.doc), StreamError::kRetry) << "not history lost";
}

// The view side's driver: every kind of call fails as Unavailable, soon, without the
// password, when the deployment cannot be reached (a real server: make test-mongo).
TEST(MongoViewDatabase, EveryCallOnAnUnreachableServerIsUnavailableWithoutThePassword) {
  EXPECT_EQ(MongoViewDatabase::Connect("mongodb://mv:s3cret@", "viya_mv").status().code(),
            StatusCode::kInvalidArgument);
  MV_ASSERT_OK_AND_ASSIGN(
      auto db, MongoViewDatabase::Connect("mongodb://mv:s3cret@127.0.0.1:1/"
                                          "?serverSelectionTimeoutMS=300&connectTimeoutMS=200",
                                          "viya_mv"));
  auto started = std::chrono::steady_clock::now();
  auto command = db->Command({{"ping", 1}});
  EXPECT_EQ(command.status().code(), StatusCode::kUnavailable);
  Status query = db->Query(FindCommand("mv_checkpoints", Document::object()),
                           [](Document) { return Status::Ok(); });
  EXPECT_EQ(query.code(), StatusCode::kUnavailable) << query.ToString();
  Status write = db->Transact(
      {{InsertCommand("mv_checkpoints", {Document{{"_id", "stream"}}}), std::nullopt}});
  EXPECT_EQ(write.code(), StatusCode::kUnavailable) << write.ToString();
  Status snapshot = db->Snapshot([](ViewDatabase::SnapshotReads& reads) {
    return reads.Read(FindCommand("mv_catalog", Document::object())).status();
  });
  EXPECT_EQ(snapshot.code(), StatusCode::kUnavailable) << snapshot.ToString();
  for (const Status& s : {command.status(), query, write, snapshot}) {
    EXPECT_THAT(s.message(), Not(HasSubstr("s3cret")));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

}  // namespace
}  // namespace mv::mongo
