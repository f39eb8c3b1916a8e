// Blue/green view versions end to end, with a test-only next version (v_n+1) of
// mv_customer_summary (VIYA_MV_TEST_NEXT_VERSION): a server restarted on a build that has
// it builds it beside the live v1 and validates it while the stream goes on; switch,
// rollback and dropping the retired version go through the admin API; readers see one
// version per answer (`_schemaVersion`) and the same rows from either.

#include <cstdlib>
#include <thread>

#include "http_fixture.h"

namespace mv::testing {
namespace {

constexpr const char* kView = "mv_customer_summary";

class ViewVersionsTest : public HttpApiFixture {
 protected:
  void Configure(app::Config& config) override { config.views.auto_switch = auto_switch_; }

  void SetUp() override {
    HttpApiFixture::SetUp();
    if (HasFatalFailure()) return;
    admin_ = AdminKey();
    tenant_ = TenantKey("org-a");
    WriteShipments(0, 30);
    ASSERT_TRUE(ViewEntry().is_object()) << Get("/admin/views", admin_).body;
    v1_ = ViewEntry()["version"].get<int>();
    v2_ = v1_ + 1;
    ASSERT_EQ(States(), (std::map<int, std::string>{{v1_, "live"}})) << ViewEntry().dump();
  }

  void TearDown() override {
    HttpApiFixture::TearDown();
    unsetenv("VIYA_MV_TEST_NEXT_VERSION");
  }

  // Shipments `from` .. `to`-1 of org-a, over five customers; waits until applied.
  void WriteShipments(int from, int to) {
    json docs = json::array();
    for (int i = from; i < to; ++i) {
      json doc = ShipmentDoc("S-" + std::to_string(i), i % 4 ? "in_transit" : "delivered",
                             NowSeconds() - std::chrono::hours(i));
      doc["customerId"] = "C-" + std::to_string(i % 5);
      docs.push_back(doc);
    }
    token_ = Write(tenant_, docs);
  }

  // The same data folder, served by a build whose mv_customer_summary has a next version.
  void RestartWithNextVersion() {
    Stop();
    setenv("VIYA_MV_TEST_NEXT_VERSION", kView, 1);
    HttpApiFixture::SetUp();
  }

  void Stop() { HttpApiFixture::TearDown(); }

  json Follow(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      json op = Get("/admin/operations/" + id, admin_).Json();
      if (op["phase"] == "done" || op["phase"] == "failed") return op;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "operation " << id << " did not finish";
    return json();
  }

  // The newest operation of `kind`, once finished.
  json Finished(const std::string& kind) {
    for (int i = 0; i < 1000; ++i) {
      const json ops = Get("/admin/operations", admin_).Json()["operations"];
      for (const auto& op : ops) {
        if (op["kind"] == kind && (op["phase"] == "done" || op["phase"] == "failed")) return op;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "no " << kind << " operation finished";
    return json();
  }

  // mv_customer_summary as GET /admin/views reports it (the one in the fixture's data
  // folder: its definition version before and after the restart).
  json ViewEntry() {
    const json views = Get("/admin/views", admin_).Json()["views"];
    for (const auto& v : views) {
      if (v["view"] == kView) return v;
    }
    return json();
  }

  // version -> state of every stored version of the view.
  std::map<int, std::string> States() {
    std::map<int, std::string> out;
    const json versions = ViewEntry()["versions"];
    for (const auto& v : versions) out[v["version"]] = v["state"];
    return out;
  }

  // The customer summary answer at the newest write: its items without
  // `_schemaVersion`, and the versions the items carried.
  std::pair<json, std::set<int>> Summary() {
    HttpReply r = Get(WithQuery("/v1/customers/summary",
                                {{"limit", "100"}, {"minToken", std::to_string(token_)}}),
                      tenant_);
    EXPECT_EQ(r.status, 200) << r.body;
    json items = r.Json()["items"];
    std::set<int> versions;
    for (auto& item : items) {
      versions.insert(item["_schemaVersion"].get<int>());
      item.erase("_schemaVersion");
    }
    return {items, versions};
  }

  bool auto_switch_ = false;
  int v1_ = 0, v2_ = 0;  // the view's live version, and the test-only next one
  std::string admin_, tenant_;
  std::int64_t token_ = 0;
};

TEST_F(ViewVersionsTest, NextVersionIsBuiltBesideSwitchedRolledBackAndDropped) {
  auto [v1_rows, v1_versions] = Summary();
  ASSERT_EQ(v1_rows.size(), 5u);
  EXPECT_EQ(v1_versions, std::set<int>{v1_});
  ASSERT_NO_FATAL_FAILURE(RestartWithNextVersion());

  // Built beside the live v1, then validated; not switched (auto_switch off).
  json migrate = Finished("migrate");
  EXPECT_EQ(migrate["phase"], "done") << migrate.dump();
  EXPECT_EQ(migrate["nextVersion"], true);
  json validate = Finished("validate");
  ASSERT_EQ(validate["phase"], "done") << validate.dump();
  for (const auto& d : validate["drift"]) EXPECT_EQ(d["mismatched"], 0) << d.dump();
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "live"}, {v2_, "building"}}));
  json entry = ViewEntry();
  EXPECT_EQ(entry["version"], v2_);
  EXPECT_EQ(entry["liveVersion"], v1_);
  for (const auto& v : entry["versions"]) {
    EXPECT_EQ(v["validated"], true) << v.dump();
    EXPECT_EQ(v["rows"], 5) << v.dump();
  }
  EXPECT_EQ(Summary().second, std::set<int>{v1_});

  // Both versions are maintained: rows written now are in v2 once it is switched to.
  WriteShipments(30, 45);
  HttpReply sw = Post(std::string("/admin/views/") + kView + "/switch", admin_, std::string());
  ASSERT_EQ(sw.status, 200) << sw.body;
  EXPECT_EQ(sw.Json()["kind"], "switch");
  EXPECT_EQ(sw.Json()["phase"], "done");
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "retired"}, {v2_, "live"}}));
  auto [v2_rows, v2_versions] = Summary();
  EXPECT_EQ(v2_versions, std::set<int>{v2_});
  WriteShipments(45, 50);  // the retired v1 keeps up too
  auto [v2_later, v2_later_versions] = Summary();
  EXPECT_EQ(v2_later_versions, std::set<int>{v2_});

  HttpReply back = Post(std::string("/admin/views/") + kView + "/rollback", admin_, std::string());
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "live"}, {v2_, "retired"}}));
  auto [rolled_back, rolled_back_versions] = Summary();
  EXPECT_EQ(rolled_back_versions, std::set<int>{v1_});
  EXPECT_EQ(rolled_back, v2_later);  // the same rows from either version

  // A reconcile of the live v1 finds it equal to a recompute.
  HttpReply rec = Post(std::string("/admin/reconcile?view=") + kView, admin_, std::string());
  ASSERT_EQ(rec.status, 202) << rec.body;
  json reconciled = Follow(rec.Json()["id"]);
  for (const auto& d : reconciled["drift"]) EXPECT_EQ(d["mismatched"], 0) << d.dump();

  HttpReply drop =
      Post(std::string("/admin/views/") + kView + "/drop-retired", admin_, std::string());
  ASSERT_EQ(drop.status, 200) << drop.body;
  EXPECT_EQ(drop.Json()["rowsDone"], 1);
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "live"}}));
  EXPECT_EQ(Summary().first, v2_later);

  // Nothing to roll back to or switch to now: 409, and nothing changes.
  HttpReply none = Post(std::string("/admin/views/") + kView + "/rollback", admin_, std::string());
  EXPECT_EQ(none.status, 409) << none.body;
  EXPECT_THAT(none.Json()["error"]["message"].get<std::string>(),
              ::testing::HasSubstr("no retired version"));
  HttpReply nothing = Post(std::string("/admin/views/") + kView + "/switch", admin_, std::string());
  EXPECT_EQ(nothing.status, 409) << nothing.body;
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "live"}}));

  // migrate (without force) builds the next version again.
  HttpReply again = Post(std::string("/admin/views/") + kView + "/migrate", admin_, std::string());
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(Follow(again.Json()["id"])["phase"], "done");
  json revalidated = Finished("validate");
  EXPECT_EQ(revalidated["phase"], "done") << revalidated.dump();
}

TEST_F(ViewVersionsTest, BadRequestsChangeNothing) {
  const std::string base = std::string("/admin/views/") + kView;
  // One version stored and defined: nothing to migrate, switch or roll back.
  HttpReply migrate = Post(base + "/migrate", admin_, std::string());
  EXPECT_EQ(migrate.status, 409) << migrate.body;
  EXPECT_THAT(migrate.Json()["error"]["message"].get<std::string>(),
              ::testing::HasSubstr("force=true"));
  EXPECT_EQ(Post(base + "/switch", admin_, std::string()).status, 409);
  EXPECT_EQ(Post(base + "/rollback", admin_, std::string()).status, 409);
  EXPECT_EQ(Post("/admin/views/mv_nope/switch", admin_, std::string()).status, 404);
  EXPECT_EQ(Post("/admin/views/mv_nope/rollback", admin_, std::string()).status, 404);
  EXPECT_EQ(Post(base + "/switch", tenant_, std::string()).status, 403);
  EXPECT_EQ(Post(base + "/drop-retired", tenant_, std::string()).status, 403);
  EXPECT_EQ(Post(base + "/switch?now=1", admin_, std::string()).status, 400);
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "live"}}));
}

class AutoSwitchTest : public ViewVersionsTest {
 protected:
  AutoSwitchTest() { auto_switch_ = true; }
};

TEST_F(AutoSwitchTest, ValidatedVersionGoesLiveByItself) {
  json before = Summary().first;
  ASSERT_NO_FATAL_FAILURE(RestartWithNextVersion());
  json validate = Finished("validate");
  ASSERT_EQ(validate["phase"], "done") << validate.dump();
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "retired"}, {v2_, "live"}}));
  auto [rows, versions] = Summary();
  EXPECT_EQ(versions, std::set<int>{v2_});
  EXPECT_EQ(rows, before);
  // A second start finds v2 live: nothing more to build.
  ASSERT_NO_FATAL_FAILURE(RestartWithNextVersion());
  WriteShipments(30, 31);
  EXPECT_EQ(States(), (std::map<int, std::string>{{v1_, "retired"}, {v2_, "live"}}));
  const json ops = Get("/admin/operations", admin_).Json()["operations"];
  for (const auto& op : ops) {
    EXPECT_NE(op["kind"], "migrate") << op.dump();
  }
}

}  // namespace
}  // namespace mv::testing
