#include "mongo/stream_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mongo/cluster_time.h"
#include "test_util.h"

namespace mv::mongo {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Step = StreamStep::Kind;
using namespace std::chrono_literals;

// A resume token whose _data starts with cluster time (t, i), as the server's do.
json Token(std::uint32_t t, std::uint32_t i) {
  return {{"_data", fmt::format("82{:08X}{:08X}2B042C0100296E5A1004", t, i)}};
}

json Insert(std::uint32_t t, const std::string& id) {
  return {{"_id", Token(t, 1)},
          {"operationType", "insert"},
          {"clusterTime", {{"$timestamp", {{"t", t}, {"i", 1}}}}},
          {"ns", {{"db", "viya"}, {"coll", "shipments"}}},
          {"documentKey", {{"_id", id}}},
          {"fullDocument",
           {{"_id", id},
            {"organizationId", "acme"},
            {"status", "booked"},
            {"createdAt", {{"$date", "2025-02-01T08:00:00Z"}}}}}};
}

// `event` as $changeStreamSplitLargeEvent returns it: fragment 1 has the event's metadata
// and the first fields of the post-image's share, the others the rest, each with its
// own _id (the last one's is the event's).
std::vector<json> Split(const json& event, std::uint32_t t) {
  std::vector<json> parts(3);
  for (const auto& [k, v] : event.items()) {
    if (k == "fullDocument") continue;
    if (k != "_id") parts[0][k] = v;
  }
  parts[1]["fullDocument"] = event["fullDocument"];
  parts[2]["updateDescription"] = {{"updatedFields", {{"status", "booked"}}}};
  for (int i = 0; i < 3; ++i) {
    parts[i]["_id"] = Token(t, static_cast<std::uint32_t>(10 + i));
    parts[i]["splitEvent"] = {{"fragment", i + 1}, {"of", 3}};
  }
  return parts;
}

CursorStep EventStep(json e) { return {CursorStep::Kind::kEvent, std::move(e)}; }
CursorStep IdleStep(json token) { return {CursorStep::Kind::kIdle, std::move(token)}; }
CursorStep ErrorStep(json reply) { return {CursorStep::Kind::kError, std::move(reply)}; }

class ChangeStreamStateTest : public ::testing::Test {
 protected:
  ChangeStreamState state_{{}, {}, 10s};
  ChangeStreamState::Clock::time_point now_{};
  StreamStep Next(const CursorStep& s) { return state_.Next(s, now_); }
};

TEST_F(ChangeStreamStateTest, EveryEventCheckpointsItsOwnResumeToken) {
  for (std::uint32_t t : {100u, 101u, 102u}) {
    StreamStep s = Next(EventStep(Insert(t, "S-" + std::to_string(t))));
    ASSERT_EQ(s.kind, Step::kChange) << s.what << " " << s.error.ToString();
    EXPECT_EQ(s.resume_token, Token(t, 1).dump());
    EXPECT_EQ(s.token, Pack({t, 1}));
    EXPECT_EQ(s.event.change.document_id, "S-" + std::to_string(t));
  }
}

TEST_F(ChangeStreamStateTest, EmptyBatchesAdvanceTheCheckpointAtMostOncePerInterval) {
  EXPECT_EQ(Next(IdleStep(nullptr)).kind, Step::kNothing) << "no batch yet: no token";
  StreamStep first = Next(IdleStep(Token(200, 0)));
  ASSERT_EQ(first.kind, Step::kAdvance) << "an idle stream's checkpoint advances";
  EXPECT_EQ(first.token, Pack({200, 0}));
  EXPECT_EQ(first.resume_token, Token(200, 0).dump());
  now_ += 5s;
  EXPECT_EQ(Next(IdleStep(Token(205, 0))).kind, Step::kNothing) << "throttled";
  now_ += 5s;
  StreamStep later = Next(IdleStep(Token(210, 0)));
  EXPECT_EQ(later.kind, Step::kAdvance);
  EXPECT_EQ(later.token, Pack({210, 0}));
  now_ += 60s;
  EXPECT_EQ(Next(IdleStep(Token(210, 0))).kind, Step::kNothing) << "same token: no write";
  // An event right after an idle advance is never throttled.
  EXPECT_EQ(Next(EventStep(Insert(211, "S-1"))).kind, Step::kChange);
}

TEST_F(ChangeStreamStateTest, NonResumableErrorsAndInvalidateLeadToTheHistoryLostPath) {
  for (int code : {286, 280, 260, 136}) {
    StreamStep s = Next(ErrorStep({{"ok", 0}, {"code", code}, {"codeName", "X"}, {"errmsg", "m"}}));
    EXPECT_EQ(s.kind, Step::kHistoryLost) << code;
  }
  json labelled = {{"ok", 0}, {"code", 11601}, {"errorLabels", {"NonResumableChangeStreamError"}}};
  EXPECT_EQ(Next(ErrorStep(labelled)).kind, Step::kHistoryLost);
  json invalidate = {{"_id", Token(300, 1)},
                     {"operationType", "invalidate"},
                     {"clusterTime", {{"$timestamp", {{"t", 300}, {"i", 1}}}}}};
  EXPECT_EQ(Next(EventStep(invalidate)).kind, Step::kHistoryLost);
  // Never "restart from now": other errors reopen from the checkpoint.
  for (int code : {6, 89, 91, 189, 262}) {
    EXPECT_EQ(Next(ErrorStep({{"ok", 0}, {"code", code}})).kind, Step::kRetry) << code;
  }
  EXPECT_EQ(ClassifyStreamError(json::object()), StreamError::kRetry);
}

TEST_F(ChangeStreamStateTest, AnEventTooLargeToReturnFailsLoudly) {
  ASSERT_EQ(Next(EventStep(Insert(400, "S-400"))).kind, Step::kChange);
  StreamStep s = Next(ErrorStep(
      {{"ok", 0}, {"code", 10334}, {"codeName", "BSONObjectTooLarge"}, {"errmsg", "too big"}}));
  ASSERT_EQ(s.kind, Step::kFailed);
  EXPECT_THAT(s.error.message(), HasSubstr("6.0.9"));
  EXPECT_THAT(s.error.message(), HasSubstr(Token(400, 1).dump())) << "where it happened";
}

TEST_F(ChangeStreamStateTest, SplitFragmentsAreReassembledAndCheckpointedOnlyAfterTheLast) {
  std::vector<json> parts = Split(Insert(500, "S-big"), 500);
  EXPECT_EQ(Next(EventStep(parts[0])).kind, Step::kNothing);
  EXPECT_EQ(Next(IdleStep(Token(500, 11))).kind, Step::kNothing) << "not between fragments";
  EXPECT_EQ(Next(EventStep(parts[1])).kind, Step::kNothing);
  StreamStep whole = Next(EventStep(parts[2]));
  ASSERT_EQ(whole.kind, Step::kChange) << whole.what;
  EXPECT_EQ(whole.resume_token, parts[2]["_id"].dump()) << "the last fragment's token";
  EXPECT_EQ(whole.event.change.document_id, "S-big");
  EXPECT_EQ(json::parse(*whole.event.change.full_document)["status"], "booked");
}

TEST_F(ChangeStreamStateTest, FragmentsOutOfOrderRereadTheEvent) {
  std::vector<json> parts = Split(Insert(600, "S-big"), 600);
  EXPECT_EQ(Next(EventStep(parts[0])).kind, Step::kNothing);
  EXPECT_EQ(Next(EventStep(parts[2])).kind, Step::kRetry);
  state_.Reopened();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Next(EventStep(parts[i])).kind, Step::kNothing);
  EXPECT_EQ(Next(EventStep(parts[2])).kind, Step::kChange);
}

TEST_F(ChangeStreamStateTest, UndecodableEventsBecomeDeadLettersAndOthersAreSkipped) {
  json bad = Insert(700, "S-1");
  bad["fullDocument"].erase("organizationId");
  StreamStep dead = Next(EventStep(bad));
  ASSERT_EQ(dead.kind, Step::kDeadLetter);
  EXPECT_EQ(dead.resume_token, bad["_id"].dump()) << "the stream moves past it";
  EXPECT_THAT(dead.error.message(), HasSubstr("organizationId"));
  json other = Insert(701, "I-1");
  other["ns"]["coll"] = "invoices";
  StreamStep skipped = Next(EventStep(other));
  EXPECT_EQ(skipped.kind, Step::kAdvance);
  EXPECT_EQ(skipped.token, Pack({701, 1}));
}

// A scripted server: the events of one stream in order (split events as fragments),
// reopened after a checkpoint as the driver does with resumeAfter. Killing the process
// after any step and resuming from the stored checkpoint applies every event whole, none
// lost, none torn.
TEST(ChangeStreamStateRestart, KilledAtAnyStepResumesWithoutLosingOrTearingEvents) {
  std::vector<json> script;
  std::vector<std::string> expected;
  for (std::uint32_t t = 800; t < 806; ++t) {
    std::string id = "S-" + std::to_string(t);
    expected.push_back(id);
    if (t % 2 == 0) {
      for (json& part : Split(Insert(t, id), t)) script.push_back(part);
    } else {
      script.push_back(Insert(t, id));
    }
  }
  auto after = [&](const std::string& checkpoint) {
    if (checkpoint.empty()) return size_t{0};
    for (size_t i = 0; i < script.size(); ++i) {
      if (script[i]["_id"].dump() == checkpoint) return i + 1;
    }
    ADD_FAILURE() << "checkpoint not in the stream: " << checkpoint;
    return script.size();
  };
  for (size_t kill_after = 0; kill_after <= script.size(); ++kill_after) {
    std::string checkpoint;
    std::vector<std::string> applied;
    auto run = [&](size_t max_steps) {
      ChangeStreamState state({}, {}, 1s);
      size_t steps = 0;
      for (size_t i = after(checkpoint); i < script.size() && steps < max_steps; ++i, ++steps) {
        StreamStep s = state.Next(EventStep(script[i]), {});
        ASSERT_NE(s.kind, Step::kRetry) << s.what;
        if (s.kind == Step::kChange) applied.push_back(s.event.change.document_id);
        // Applied (if a change) and checkpointed in one transaction.
        if (!s.resume_token.empty()) checkpoint = s.resume_token;
      }
    };
    run(kill_after);         // killed here
    run(script.size() + 1);  // restarted from the stored checkpoint
    std::vector<std::string> distinct;
    for (const std::string& id : applied) {
      if (distinct.empty() || distinct.back() != id) distinct.push_back(id);
    }
    EXPECT_EQ(distinct, expected) << "killed after step " << kill_after;
    EXPECT_EQ(applied.size(), expected.size()) << "no event applied twice: the checkpoint "
                                                  "moved with each one";
  }
}

}  // namespace
}  // namespace mv::mongo
