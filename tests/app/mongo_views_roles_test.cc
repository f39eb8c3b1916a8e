// The views in MongoDB, with the roles as `serve` wires them: a worker process maintains
// them, an `api` replica (any host) serves them over HTTP to many keep-alive clients, each
// read waiting with its write's minToken on the checkpoint the worker stores; the keys
// made through one process work on the other; a second worker waits for the lease and
// takes over once the first stops. The processes are Applications in this test process,
// sharing the in-memory MongoDB (tests/integration's Mongo tests run real processes on a
// real replica set).

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "app/application.h"
#include "http_client.h"
#include "mongo/memory_view_database.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class MongoViewsRolesTest : public ::testing::Test {
 protected:
  std::unique_ptr<app::Application> Open(const std::string& role, const std::string& data,
                                         bool auto_switch = true) {
    app::Config config;
    config.views.auto_switch = auto_switch;
    config.data_dir = data;
    config.serve.role = role;
    config.http.listen = "127.0.0.1:0";
    config.views.backend = "mongodb";
    config.stream.idle_wait_ms = 5;
    config.stream.lease_seconds = 3;
    config.jobs.oplog_prune = "off";
    app::Application::OpenOptions options;
    options.adjust_backend = [this](backend::BackendOptions& o) {
      o.mongo_views.database_for_tests = &db_;
    };
    auto app = app::Application::Open(config, &clock_, options);
    EXPECT_TRUE(app.ok()) << app.status().ToString();
    return app.ok() ? std::move(app).value() : nullptr;
  }

  static bool Eventually(const std::function<bool()>& condition, std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (condition()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return condition();
  }

  MemoryViewDatabase db_;
  SystemClock clock_;
  TempDir dir_;
  std::string key_;
};

TEST_F(MongoViewsRolesTest, AReplicaServesTheWorkersMongoViewsAndASecondWorkerWaitsForTheLease) {
  auto worker = Open("worker", dir_.File("a"));
  ASSERT_NE(worker, nullptr);
  MV_ASSERT_OK(worker->Start());
  MV_ASSERT_OK_AND_ASSIGN(std::string key, worker->keys().Create({"", true, ""}));
  auto api = Open("api", dir_.File("a"));
  ASSERT_NE(api, nullptr);
  MV_ASSERT_OK(api->Start());
  ASSERT_TRUE(Eventually([&] { return worker->worker().healthy(); }, 10s));

  const HeaderList auth = {{"Authorization", "Bearer " + key}};
  constexpr int kClients = 8, kEach = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient conn(api->http_port(), 5s);  // one keep-alive connection per client
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "S-" + std::to_string(c) + "-" + std::to_string(i);
        json doc = {{"id", id},
                    {"status", "booked"},
                    {"createdAt", "2026-11-01T08:00:00Z"},
                    {"carrierId", "dhl"}};
        HttpReply w = conn.Send("POST", "/v1/shipments?org=acme", auth, doc.dump());
        if (w.status != 200) {
          ADD_FAILURE() << w.status << " " << w.body;
          ++failures;
          continue;
        }
        const std::string token = json::parse(w.body)["token"];
        HttpReply r = conn.Send("GET", "/v1/shipments/" + id + "?org=acme&minToken=" + token, auth);
        if (r.status != 200) {
          ADD_FAILURE() << "read-your-write through the replica: " << r.status << " " << r.body;
          ++failures;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  HttpClient http(api->http_port(), 5s);
  HttpReply list = http.Send("GET", "/v1/shipments?org=acme&limit=500", auth);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(json::parse(list.body)["items"].size(), static_cast<size_t>(kClients * kEach));
  HttpReply ops = http.Send("GET", "/v1/ops/realtime?org=acme", auth);
  ASSERT_EQ(ops.status, 200) << ops.body;
  EXPECT_EQ(json::parse(ops.body)["byStatus"]["booked"], kClients * kEach) << ops.body;
  // The same rows are in the stable-named view the platform's own handlers read.
  EXPECT_EQ(db_.All("mv_shipment_list").size(), static_cast<size_t>(kClients * kEach));
  // A key made through the replica authenticates on the worker.
  MV_ASSERT_OK_AND_ASSIGN(std::string tenant, api->keys().Create({"acme", false, ""}));
  HttpClient direct(worker->http_port(), 5s);
  HttpReply mine = direct.Send("GET", "/v1/ops/realtime", {{"Authorization", "Bearer " + tenant}});
  EXPECT_EQ(mine.status, 200) << mine.body;

  // Operations asked of the replica reach the worker through mv_operations.
  for (const char* target : {"/admin/rebuild?org=acme", "/admin/reconcile?org=acme"}) {
    HttpReply asked = http.Send("POST", target, auth, "{}");
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string op = json::parse(asked.body)["id"];
    json followed;
    ASSERT_TRUE(Eventually(
        [&] {
          HttpReply r = http.Send("GET", "/admin/operations/" + op, auth);
          followed = json::parse(r.body);
          return followed["phase"] == "done" || followed["phase"] == "failed";
        },
        20s))
        << followed.dump();
    EXPECT_EQ(followed["phase"], "done") << target << ": " << followed.dump();
    if (followed["kind"] == "reconcile") {
      for (const auto& d : followed["drift"]) EXPECT_EQ(d["mismatched"], 0) << d.dump();
    }
  }
  HttpReply after = http.Send("GET", "/v1/shipments?org=acme&limit=500", auth);
  EXPECT_EQ(json::parse(after.body)["items"].size(), static_cast<size_t>(kClients * kEach))
      << "the rebuilt views hold every row";

  // A second worker of the same partition waits while the first holds the lease...
  auto second = Open("worker", dir_.File("b"));
  ASSERT_NE(second, nullptr);
  MV_ASSERT_OK(second->Start());
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(second->worker().healthy()) << "two workers of one partition ran at once";
  // ... and leaves the replicas' requests to the worker that runs.
  for (int i = 0; i < 3; ++i) {
    HttpReply asked = http.Send("POST", "/admin/reconcile?org=acme", auth, "{}");
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string op = json::parse(asked.body)["id"];
    ASSERT_TRUE(Eventually(
        [&] {
          json followed = json::parse(http.Send("GET", "/admin/operations/" + op, auth).body);
          return followed["phase"] == "done";
        },
        20s))
        << "request " << i << " was taken by the waiting worker";
  }
  // ... and takes over once the first stops (it releases the lease on the way out).
  worker->Stop();
  EXPECT_TRUE(Eventually([&] { return second->worker().healthy(); }, 10s));
  second->Stop();
  api->Stop();
}

// Blue/green on the MongoDB views: a build with a newer definition of mv_realtime_ops
// builds it beside the live one at start, validates it against the source and switches the
// read-only view to it; a rollback asked of a replica moves it back. The platform's
// handlers read mv_realtime_ops throughout.
TEST_F(MongoViewsRolesTest, ANewerDefinitionIsBuiltValidatedSwitchedAndRolledBack) {
  {
    auto worker = Open("worker", dir_.File("a"));
    ASSERT_NE(worker, nullptr);
    MV_ASSERT_OK(worker->Start());
    ASSERT_TRUE(Eventually([&] { return worker->worker().healthy(); }, 10s));
    MV_ASSERT_OK_AND_ASSIGN(std::string key, worker->keys().Create({"", true, ""}));
    HttpClient http(worker->http_port(), 5s);
    const HeaderList auth = {{"Authorization", "Bearer " + key}};
    std::string token;
    for (int i = 0; i < 30; ++i) {
      json doc = {{"id", "S-" + std::to_string(i)},
                  {"status", i % 3 ? "booked" : "in_transit"},
                  {"createdAt", "2026-11-01T08:00:00Z"}};
      HttpReply w = http.Send("POST", "/v1/shipments?org=acme", auth, doc.dump());
      ASSERT_EQ(w.status, 200) << w.body;
      token = json::parse(w.body)["token"];
    }
    ASSERT_EQ(http.Send("GET", "/v1/ops/realtime?org=acme&minToken=" + token, auth).status, 200);
    key_ = key;
    worker->Stop();
  }
  const std::string v1 = db_.ViewOn("mv_realtime_ops");
  ASSERT_FALSE(v1.empty());
  ::setenv("VIYA_MV_TEST_NEXT_VERSION", "mv_realtime_ops", 1);
  auto worker = Open("worker", dir_.File("a"));
  ::unsetenv("VIYA_MV_TEST_NEXT_VERSION");
  ASSERT_NE(worker, nullptr);
  MV_ASSERT_OK(worker->Start());
  ASSERT_TRUE(Eventually([&] { return db_.ViewOn("mv_realtime_ops") != v1; }, 30s))
      << "the next version was not built, validated and switched to";
  auto served = db_.All("mv_realtime_ops");
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0]["shipments"].dump(), R"({"$numberLong":"30"})") << served[0].dump();

  auto api = Open("api", dir_.File("a"));
  ASSERT_NE(api, nullptr);
  MV_ASSERT_OK(api->Start());
  HttpClient http(api->http_port(), 5s);
  const HeaderList auth = {{"Authorization", "Bearer " + key_}};
  HttpReply back = http.Send("POST", "/admin/views/mv_realtime_ops/rollback", auth, "{}");
  EXPECT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(db_.ViewOn("mv_realtime_ops"), v1) << "the replica's rollback ran on the worker";
  HttpReply views = http.Send("GET", "/admin/views", auth);
  ASSERT_EQ(views.status, 200) << views.body;
  const json listed = json::parse(views.body);
  for (const auto& v : listed["views"]) {
    if (v["view"] != "mv_realtime_ops") continue;
    EXPECT_EQ(v["liveVersion"], 2) << v.dump();
    EXPECT_EQ(v["versions"].size(), 2u) << "the switched-from version is kept, retired";
  }
  HttpReply ops = http.Send("GET", "/v1/ops/realtime?org=acme", auth);
  EXPECT_EQ(json::parse(ops.body)["byStatus"]["in_transit"], 10) << ops.body;
  api->Stop();
  worker->Stop();
}

}  // namespace
}  // namespace mv::testing
