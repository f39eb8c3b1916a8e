// The admin API end to end: operations queued over HTTP run beside the stream, answer
// 202 with an id to follow, conflict with 409, and are for admin keys only.

#include <thread>

#include "http_fixture.h"

namespace mv::testing {
namespace {

class AdminApiTest : public HttpApiFixture {
 protected:
  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    admin_ = AdminKey();
    tenant_ = TenantKey("org-a");
    json docs = json::array();
    for (int i = 0; i < 40; ++i) {
      docs.push_back(ShipmentDoc("S-" + std::to_string(i), i % 3 ? "in_transit" : "exception",
                                 NowSeconds() - std::chrono::hours(i)));
    }
    token_ = Write(tenant_, docs);
    Write(TenantKey("org-b"), json::array({ShipmentDoc("B-1", "booked", NowSeconds())}));
  }

  // Polls GET /admin/operations/{id} until the operation has finished.
  json Follow(const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      HttpReply r = Get("/admin/operations/" + id, admin_);
      if (r.status != 200) {
        ADD_FAILURE() << "GET operation " << id << ": " << r.status << " " << r.body;
        return json();
      }
      json op = r.Json();
      if (op["phase"] == "done" || op["phase"] == "failed") return op;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "operation " << id << " did not finish";
    return json();
  }

  std::string admin_, tenant_;
  std::int64_t token_ = 0;
};

TEST_F(AdminApiTest, ReconcileAnswers202AndReportsEveryViewOfTheOrg) {
  HttpReply r = Post("/admin/reconcile?org=org-a", admin_, std::string());
  ASSERT_EQ(r.status, 202) << r.body;
  json queued = r.Json();
  EXPECT_EQ(r.Header("Location"), "/admin/operations/" + queued["id"].get<std::string>());
  EXPECT_EQ(queued["kind"], "reconcile");
  json done = Follow(queued["id"]);
  ASSERT_EQ(done["phase"], "done") << done.dump();
  ASSERT_TRUE(done["drift"].is_array());
  EXPECT_GE(done["drift"].size(), 6u);
  for (const auto& d : done["drift"]) {
    EXPECT_EQ(d["org"], "org-a");
    EXPECT_EQ(d["mismatched"], 0) << d.dump();
    EXPECT_EQ(d["sourceRows"], d["viewRows"]);
    if (d["view"] == "mv_shipment_list") {
      EXPECT_EQ(d["sourceRows"], 40);
    }
  }
  HttpReply list = Get("/admin/operations", admin_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.Json()["operations"][0]["id"], queued["id"]);
}

TEST_F(AdminApiTest, RebuildOfOneViewAndOrgKeepsServingTheSameAnswers) {
  HttpReply before =
      Get(WithQuery("/v1/shipments", {{"limit", "100"}, {"minToken", std::to_string(token_)}}),
          tenant_);
  ASSERT_EQ(before.status, 200);
  HttpReply r = Post("/admin/views/mv_shipment_list/rebuild?org=org-a", admin_, std::string());
  ASSERT_EQ(r.status, 202) << r.body;
  json done = Follow(r.Json()["id"]);
  EXPECT_EQ(done["phase"], "done") << done.dump();
  EXPECT_EQ(done["rowsTotal"], 40);
  ASSERT_EQ(before.Json()["items"].size(), 40u);
  HttpReply after =
      Get(WithQuery("/v1/shipments", {{"limit", "100"}, {"minToken", std::to_string(token_)}}),
          tenant_);
  EXPECT_EQ(after.Json()["items"], before.Json()["items"]);
}

TEST_F(AdminApiTest, JobsListsEveryScheduledJobForAdminsOnly) {
  EXPECT_EQ(Get("/admin/jobs", tenant_).status, 403);
  EXPECT_EQ(Get("/admin/jobs?x=1", admin_).status, 400);
  HttpReply r = Get("/admin/jobs", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> names;
  const json body = r.Json();
  for (const auto& job : body["jobs"]) {
    names.push_back(job["name"]);
    EXPECT_TRUE(job.contains("nextRun") || job["schedule"] == "off") << job.dump();
    EXPECT_EQ(job["consecutiveFailures"], 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"reconcile", "daily_metrics_refresh", "oplog_prune",
                                             "orphan_tracking"}))
      << r.body;
}

TEST_F(AdminApiTest, BadRequestsGetClearErrors) {
  EXPECT_EQ(Post("/admin/reconcile", tenant_, std::string()).status, 403);
  EXPECT_EQ(Get("/admin/operations", tenant_).status, 403);
  EXPECT_EQ(Post("/admin/views/mv_nope/rebuild", admin_, std::string()).status, 404);
  EXPECT_EQ(Post("/admin/reconcile?org=org-zz", admin_, std::string()).status, 404);
  EXPECT_EQ(Post("/admin/reconcile?repair=maybe", admin_, std::string()).status, 400);
  EXPECT_EQ(Get("/admin/operations/op-999", admin_).status, 404);
  // A second operation on rows one is already queued or running on: 409, naming it.
  HttpReply first = Post("/admin/rebuild", admin_, std::string());
  ASSERT_EQ(first.status, 202) << first.body;
  HttpReply second = Post("/admin/reconcile?org=org-a", admin_, std::string());
  if (second.status == 202) {
    // The first finished in between (a small source): nothing to conflict with.
    Follow(second.Json()["id"]);
  } else {
    EXPECT_EQ(second.status, 409) << second.body;
    EXPECT_NE(second.body.find(first.Json()["id"].get<std::string>()), std::string::npos);
  }
  EXPECT_EQ(Follow(first.Json()["id"])["phase"], "done");
}

}  // namespace
}  // namespace mv::testing
