// The operation board on both view backends (views.db and the MongoDB views): requests
// taken once per partition, states published and read back by any process, and an api
// replica's view of an operation a partitioned stream runs on every partition.

#include "mongo/operation_board.h"

#include <gtest/gtest.h>

#include "http/operation_json.h"
#include "http/remote_operations.h"
#include "mongo/memory_view_database.h"
#include "storage/sqlite/operation_board.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;

class OperationBoardTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      auto b = storage::sqlite::SqliteOperationBoard::Open(dir_.File("views.db"), &clock_);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      board_ = std::move(b).value();
    } else {
      auto b = std::make_unique<mongo::MongoOperationBoard>(&db_, &clock_);
      MV_ASSERT_OK(b->Prepare());
      board_ = std::move(b);
    }
  }
  static json Request(const std::string& id, std::optional<std::string> org = std::nullopt) {
    worker::Operation op;
    op.id = id;
    op.kind = worker::OperationKind::kReconcile;
    op.scope.org = org;
    op.repair = true;
    op.requested_by = "key-0123456789ab";
    op.submitted_at = T("2026-11-02T12:00:00Z");
    return http::OperationToJson(op);
  }

  TempDir dir_;
  MemoryViewDatabase db_;
  ManualClock clock_{T("2026-11-02T12:00:00Z")};
  std::unique_ptr<api::OperationBoard> board_;
};

INSTANTIATE_TEST_SUITE_P(Backends, OperationBoardTest, ::testing::Values("sqlite", "mongodb"),
                         [](const auto& info) { return info.param; });

TEST_P(OperationBoardTest, RequestsAreTakenOncePerPartitionAndStatesReadBack) {
  MV_ASSERT_OK(board_->Request(Request("op-r1")));
  clock_.Advance(Millis(5));
  MV_ASSERT_OK(board_->Request(Request("op-r2", "acme")));
  EXPECT_EQ(board_->Request(Request("op-r1")).code(), StatusCode::kConflict);
  MV_ASSERT_OK_AND_ASSIGN(auto p0, board_->TakeRequests("p0of2"));
  ASSERT_EQ(p0.size(), 2u);
  EXPECT_EQ(p0[0]["id"], "op-r1") << "oldest first";
  MV_ASSERT_OK_AND_ASSIGN(auto again, board_->TakeRequests("p0of2"));
  EXPECT_TRUE(again.empty()) << "taken once";
  MV_ASSERT_OK_AND_ASSIGN(auto p1, board_->TakeRequests("p1of2"));
  EXPECT_EQ(p1.size(), 2u) << "every partition takes its own";

  // Before the worker publishes, the request is what readers see.
  MV_ASSERT_OK_AND_ASSIGN(auto asked, board_->Get("op-r1"));
  ASSERT_TRUE(asked);
  EXPECT_EQ((*asked)["phase"], "queued");
  auto op = http::OperationFromJson(*asked);
  MV_ASSERT_OK(op.status());
  EXPECT_EQ(op->kind, worker::OperationKind::kReconcile);
  EXPECT_TRUE(op->repair);

  json state = *asked;
  state["phase"] = "done";
  state["rowsDone"] = 42;
  MV_ASSERT_OK(board_->Publish(state));
  MV_ASSERT_OK_AND_ASSIGN(auto done, board_->Get("op-r1"));
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["phase"], "done");
  EXPECT_EQ((*done)["rowsDone"], 42);
  // A worker's own operation, published without a request.
  clock_.Advance(Millis(5));
  MV_ASSERT_OK(board_->Publish(Request("op-1a2b-1")));
  MV_ASSERT_OK_AND_ASSIGN(auto list, board_->List(10));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["id"], "op-1a2b-1") << "newest first";
  MV_ASSERT_OK_AND_ASSIGN(auto none, board_->Get("op-nope"));
  EXPECT_FALSE(none);
}

TEST_P(OperationBoardTest, AReplicaSeesAPartitionedOperationMerged) {
  http::RemoteOperations remote(board_.get(), 2);
  MV_ASSERT_OK_AND_ASSIGN(std::string id, remote.Submit(worker::OperationKind::kRebuild, {}, false,
                                                        "key-x", clock_.Now()));
  auto queued = remote.Get(id);
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->phase, worker::OperationPhase::kQueued);
  // Partition 0 is done, partition 1 still reads its snapshot.
  worker::Operation p0 = *queued, p1 = *queued;
  p0.id = http::PartitionOperationId(id, {0, 2});
  p0.phase = worker::OperationPhase::kDone;
  p0.rows_done = p0.rows_total = 10;
  p0.finished_at = clock_.Now();
  p1.id = http::PartitionOperationId(id, {1, 2});
  p1.phase = worker::OperationPhase::kSnapshot;
  p1.rows_done = 3;
  p1.rows_total = 20;
  MV_ASSERT_OK(board_->Publish(http::OperationToJson(p0)));
  MV_ASSERT_OK(board_->Publish(http::OperationToJson(p1)));
  auto merged = remote.Get(id);
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->phase, worker::OperationPhase::kSnapshot);
  EXPECT_EQ(merged->rows_done, 13);
  EXPECT_EQ(merged->rows_total, 30);
  EXPECT_FALSE(merged->finished_at);
  p1.phase = worker::OperationPhase::kFailed;
  p1.error = "Unavailable: the source went away";
  MV_ASSERT_OK(board_->Publish(http::OperationToJson(p1)));
  merged = remote.Get(id);
  ASSERT_TRUE(merged);
  EXPECT_EQ(merged->phase, worker::OperationPhase::kFailed);
  EXPECT_NE(merged->error.find("the source went away"), std::string::npos) << merged->error;
}

}  // namespace
}  // namespace mv::testing
