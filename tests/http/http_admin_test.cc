// The admin API end to end: operations queued over HTTP run beside the stream, answer
// 202 with an id to follow, conflict with 409, and are for admin keys only.

#include <algorithm>
#include <thread>

#include "http_fixture.h"
#include "storage/sqlite/sqlite_db.h"

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
    std::int64_t last =
        Write(TenantKey("org-b"), json::array({ShipmentDoc("B-1", "booked", NowSeconds())}));
    // Settled: the writes applied, and no start-up backfill (new views over a source that
    // has changes, when the worker's first read comes after the writes) still running.
    ASSERT_TRUE(WaitForToken(last));
    for (int i = 0; i < 500 && !Settled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(Settled());
  }

  bool Settled() {
    for (const auto& op : app_->operations().List()) {
      if (!op.finished()) return false;
    }
    return true;
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

  // Waits until the views have applied change `token`.
  bool WaitForToken(std::int64_t token) {
    for (int i = 0; i < 500; ++i) {
      if (app_->backend().applied().Get() >= token) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
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
  // Listed (the startup backfill may be listed beside it).
  const json ops = list.Json()["operations"];
  EXPECT_TRUE(std::any_of(ops.begin(), ops.end(), [&](const json& op) {
    return op["id"] == queued["id"];
  })) << ops.dump();
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
                                             "orphan_tracking", "retired_views"}))
      << r.body;
}

TEST_F(AdminApiTest, KeysAreListedByIdAndARevokedKeyStopsAtOnce) {
  HttpReply list = Get("/admin/keys", admin_);
  ASSERT_EQ(list.status, 200) << list.body;
  const json keys = list.Json()["keys"];
  std::string tenant_id;
  for (const auto& k : keys) {
    EXPECT_EQ(k["id"].get<std::string>().substr(0, 4), "key-");
    EXPECT_EQ(k.dump().find(tenant_.substr(8)), std::string::npos) << "a key is shown";
    if (k.value("org", "") == "org-a" && k["prefix"] == tenant_.substr(0, 8)) tenant_id = k["id"];
  }
  ASSERT_FALSE(tenant_id.empty()) << list.body;
  EXPECT_EQ(Get("/v1/shipments", tenant_).status, 200);  // remembered by the server
  EXPECT_EQ(Post("/admin/keys/" + tenant_id + "/revoke", tenant_, std::string()).status, 403);
  HttpReply revoked = Post("/admin/keys/" + tenant_id + "/revoke", admin_, std::string());
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Get("/v1/shipments", tenant_).status, 401);  // at once, same connection
  EXPECT_EQ(Post("/admin/keys/" + tenant_id + "/revoke", admin_, std::string()).status, 409);
  EXPECT_EQ(Post("/admin/keys/key-000000000000/revoke", admin_, std::string()).status, 404);
  json after = Get("/admin/keys", admin_).Json();
  bool shown_revoked = false;
  for (const auto& k : after["keys"])
    shown_revoked |= k["id"] == tenant_id && k.contains("revokedAt");
  EXPECT_TRUE(shown_revoked);
}

TEST_F(AdminApiTest, AKeyRevokedInTheStoreBesideTheServerStopsWithinTheRecheck) {
  EXPECT_EQ(Get("/v1/shipments", tenant_).status, 200);  // remembered by the server
  MV_ASSERT_OK_AND_ASSIGN(auto keys, app_->keys().List());
  std::string id;
  for (const auto& k : keys) {
    if (k.org == "org-a" && k.prefix == tenant_.substr(0, 8)) id = k.id;
  }
  ASSERT_FALSE(id.empty());
  MV_ASSERT_OK(app_->keys().Revoke(id));  // not through the route: no Forget()
  int status = 200;
  for (int i = 0; i < 300 && status == 200; ++i) {  // the recheck is 1 s; 3 s at most
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    status = Get("/v1/shipments", tenant_).status;
  }
  EXPECT_EQ(status, 401);
}

TEST_F(AdminApiTest, ADeadLetterIsListedAndRetriedFromTheCurrentSourceDocument) {
  ASSERT_TRUE(WaitForToken(token_));
  // A source document that cannot be projected (as an older writer might have left it),
  // and the dead letter that points at it.
  auto source = storage::sqlite::Database::Open(dir_.path() + "/data/source.db", {});
  ASSERT_TRUE(source.ok());
  auto views = storage::sqlite::Database::Open(dir_.path() + "/data/views.db", {});
  ASSERT_TRUE(views.ok());
  auto original = Get("/v1/shipments/S-3", tenant_).Json();
  MV_ASSERT_OK(
      (*source)->Exec("UPDATE shipments SET doc = json_set(doc, '$.status', 'shipped') "
                      "WHERE org = 'org-a' AND id = 'S-3'"));
  MV_ASSERT_OK((*views)->Exec(
      "INSERT INTO mv_dead_letters (token, collection, org, document_id, reason, document, "
      "created_at) VALUES (1, 'shipments', 'org-a', 'S-3', 'test', '', 0)"));
  auto dead_letters = [&] {
    HttpReply r = Get("/admin/dead-letters", admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  };
  json first = dead_letters();
  ASSERT_EQ(first["total"], 1);
  std::string id = std::to_string(first["deadLetters"][0]["id"].get<int>());

  // Retried while the source document is still bad: it comes back, with the engine's reason.
  HttpReply retry = Post("/admin/dead-letters/" + id + "/retry", admin_, std::string());
  ASSERT_EQ(retry.status, 200) << retry.body;
  json again;
  for (int i = 0; i < 200; ++i) {
    again = dead_letters();
    if (again["total"] == 1 && again["deadLetters"][0]["reason"] != "test") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(again["total"], 1) << again.dump();
  EXPECT_NE(again["deadLetters"][0]["reason"].get<std::string>().find("status"), std::string::npos)
      << again.dump();

  // Fixed in the source: the retry applies it, and the dead letter is gone.
  MV_ASSERT_OK(
      (*source)->Exec("UPDATE shipments SET doc = json_set(doc, '$.status', 'delivered') "
                      "WHERE org = 'org-a' AND id = 'S-3'"));
  std::string second = std::to_string(again["deadLetters"][0]["id"].get<int>());
  retry = Post("/admin/dead-letters/" + second + "/retry", admin_, std::string());
  ASSERT_EQ(retry.status, 200) << retry.body;
  std::int64_t retry_token = std::stoll(retry.Json()["retryToken"].get<std::string>());
  ASSERT_TRUE(WaitForToken(retry_token));
  EXPECT_EQ(Get("/v1/shipments/S-3", tenant_).Json()["status"], "delivered");
  EXPECT_NE(original["status"], "delivered");
  EXPECT_EQ(dead_letters()["total"], 0);
  EXPECT_EQ(Post("/admin/dead-letters/" + second + "/retry", admin_, std::string()).status, 404);
  EXPECT_EQ(Post("/admin/dead-letters/x/retry", admin_, std::string()).status, 404);
  EXPECT_EQ(Get("/admin/dead-letters?limit=0", admin_).status, 400);
  EXPECT_EQ(Get("/admin/dead-letters", tenant_).status, 403);
}

TEST_F(AdminApiTest, StatusShowsTheStreamViewsJobsAndDeadLetters) {
  ASSERT_TRUE(WaitForToken(token_));
  json s;
  for (int i = 0; i < 500; ++i) {  // the stream counts as running after its first loop
    HttpReply r = Get("/admin/status", admin_);
    ASSERT_EQ(r.status, 200) << r.body;
    s = r.Json();
    if (s["streamRunning"] == true) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(std::stoll(s["token"].get<std::string>()), token_);
  EXPECT_EQ(s["views"].size(), 6u);
  EXPECT_EQ(s["jobs"].size(), 5u);
  EXPECT_EQ(s["deadLetters"], 0);
  EXPECT_TRUE(s["operations"].is_array());
  EXPECT_EQ(s["streamRunning"], true);
}

TEST_F(AdminApiTest, MigrateWithForceBuildsANewGenerationOfTheView) {
  ASSERT_TRUE(WaitForToken(EmbeddedSource(*app_).committed().Get()));  // org-b's write too
  auto generation = [&](const std::string& view) {
    json views = Get("/admin/views", admin_).Json()["views"];
    for (const auto& v : views) {
      if (v["view"] == view) return v;
    }
    return json();
  };
  json before = generation("mv_daily_metrics");
  ASSERT_EQ(before["state"], "live") << before.dump();
  EXPECT_GT(before["rows"], 0);
  HttpReply refused = Post("/admin/views/mv_daily_metrics/migrate", admin_, std::string());
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("force=true"), std::string::npos);
  EXPECT_EQ(Post("/admin/views/mv_nope/migrate?force=true", admin_, std::string()).status, 404);
  HttpReply queued =
      Post("/admin/views/mv_daily_metrics/migrate?force=true", admin_, std::string());
  ASSERT_EQ(queued.status, 202) << queued.body;
  EXPECT_EQ(Follow(queued.Json()["id"])["phase"], "done");
  json after = generation("mv_daily_metrics");
  EXPECT_GT(after["generation"].get<int>(), before["generation"].get<int>()) << after.dump();
  EXPECT_EQ(after["rows"], before["rows"]);
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
