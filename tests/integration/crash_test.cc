// A real `viya-mv serve` is killed with SIGKILL in the middle of a write load, restarted,
// and then every acknowledged write is in the views and the views equal a rebuild.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "core/customer_summary_view.h"
#include "core/view_set.h"
#include "http_client.h"
#include "process.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_store.h"
#include "test_util.h"
#include "worker/pipeline_fixture.h"
#include "worker/stream_worker.h"

namespace mv::testing {
namespace {

using nlohmann::json;

constexpr int kShipmentIds = 300;

class ServerUnderTest {
 public:
  ServerUnderTest(const std::string& data, int port, const std::string& log)
      : process_({VIYA_MV_BINARY, "serve", "--data", data, "--http",
                  "127.0.0.1:" + std::to_string(port)},
                 log),
        port_(port) {}

  bool WaitHealthy(std::chrono::seconds timeout) {
    return mv::testing::WaitHealthy(port_, timeout);
  }

  ChildProcess& process() { return process_; }

 private:
  ChildProcess process_;
  int port_;
};

json Shipment(int id, int version, std::mt19937_64& rng) {
  static const char* kStatuses[] = {"booked",           "picked_up", "in_transit",
                                    "out_for_delivery", "delivered", "exception"};
  return {{"id", "S-" + std::to_string(id)},
          {"reference", "v" + std::to_string(version)},
          {"carrierId", "dhl"},
          {"status", kStatuses[rng() % 6]},
          {"createdAt", "2026-11-01T10:00:00Z"},
          {"promisedDeliveryAt", "2099-01-01T00:00:00Z"}};
}

TEST(Crash, SigkillMidLoadLosesNoAcknowledgedWrite) {
  TempDir dir;
  std::string data = dir.File("data");
  std::string log = dir.File("serve.log");
  std::string key =
      RunAndCapture(std::string(VIYA_MV_BINARY) + " apikey create --data " + data + " --org acme");
  ASSERT_EQ(key.rfind("vmv_", 0), 0u) << key;
  int port = FreeLoopbackPort();
  HeaderList auth = {{"Authorization", "Bearer " + key}};
  HeaderList post_auth = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};

  // Acknowledged writes: shipment id -> highest acknowledged version.
  std::mutex mu;
  std::map<int, int> acked;
  std::atomic<int> next_version{1};
  std::atomic<int> acknowledged_requests{0};
  {
    ServerUnderTest server(data, port, log);
    ASSERT_TRUE(server.WaitHealthy(std::chrono::seconds(20)));
    std::atomic<bool> stop{false};
    // Each writer owns the ids of its parity, so versions of one id only grow.
    auto writer = [&](int seed) {
      std::mt19937_64 rng(seed);
      HttpClient c(port, std::chrono::seconds(5));
      while (!stop.load()) {
        json batch = json::array();
        std::map<int, int> versions;
        int n = 1 + static_cast<int>(rng() % 20);
        for (int i = 0; i < n; ++i) {
          int id = 2 * static_cast<int>(rng() % (kShipmentIds / 2)) + seed % 2 + 1;
          if (versions.count(id)) continue;
          int v = next_version.fetch_add(1);
          versions[id] = v;
          batch.push_back(Shipment(id, v, rng));
        }
        HttpReply r = c.Send("POST", "/v1/shipments", post_auth, batch.dump());
        if (r.status == 0) return;  // the server is gone
        ASSERT_EQ(r.status, 200) << r.body;
        std::lock_guard lock(mu);
        for (auto [id, v] : versions) acked[id] = std::max(acked[id], v);
        acknowledged_requests.fetch_add(1);
      }
    };
    std::thread w1(writer, 0), w2(writer, 1);
    while (acknowledged_requests.load() < 200)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.process().Signal(SIGKILL);  // mid-load: the writers are still sending
    ASSERT_EQ(server.process().Wait(std::chrono::seconds(10)), -1);  // killed, not exited
    stop.store(true);
    w1.join();
    w2.join();
  }
  ASSERT_GE(acked.size(), 50u);

  ServerUnderTest server(data, port, log);
  ASSERT_TRUE(server.WaitHealthy(std::chrono::seconds(20)));
  HttpClient c(port);
  // One more write after the restart; reading at its token reads everything before it.
  std::mt19937_64 rng(99);
  HttpReply last = c.Send("POST", "/v1/shipments", post_auth,
                          Shipment(1, next_version.fetch_add(1), rng).dump());
  ASSERT_EQ(last.status, 200) << last.body;
  std::string token = json::parse(last.body)["token"];
  HttpReply probe = c.Send("GET", "/v1/shipments/S-1?minToken=" + token, auth);
  ASSERT_EQ(probe.status, 200) << probe.body;

  std::map<int, int> seen;  // id -> version in the view
  std::string cursor;
  for (;;) {
    std::string path = "/v1/shipments?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor);
    HttpReply page = c.Send("GET", path, auth);
    ASSERT_EQ(page.status, 200) << page.body;
    json body = json::parse(page.body);
    for (const auto& item : body["items"]) {
      seen[std::stoi(item["id"].get<std::string>().substr(2))] =
          std::stoi(item["reference"].get<std::string>().substr(1));
    }
    if (body["nextCursor"].is_null()) break;
    cursor = body["nextCursor"];
  }
  for (auto [id, version] : acked) {
    ASSERT_TRUE(seen.count(id)) << "acknowledged shipment S-" << id << " missing from the view";
    EXPECT_GE(seen[id], version) << "S-" << id << " shows an older version than acknowledged";
  }

  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().Wait(std::chrono::seconds(15)), 0) << "graceful stop exits 0";

  // The views on disk equal a rebuild from the source on disk.
  SystemClock clock;
  core::ViewSet views = core::ViewSet::Default();
  auto source = storage::sqlite::SourceStore::Open(data + "/source.db", &clock, {});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto live = storage::sqlite::SqliteViewStore::Open(data + "/views.db", &views, &clock);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  auto rebuilt = storage::sqlite::SqliteViewStore::Open(dir.File("rebuilt.db"), &views, &clock);
  ASSERT_TRUE(rebuilt.ok());
  auto changes = (*source)->NewChangeSource();
  ASSERT_TRUE(changes.ok());
  // Catch up whatever the stopped server had not applied yet, then compare.
  worker::StreamWorker catch_up(changes->get(), source->get(), live->get(), &views, {}, &clock,
                                nullptr, {});
  while (catch_up.checkpoint() < (*source)->committed().Get() || catch_up.checkpoint() == 0) {
    auto n = catch_up.Step(Millis(0));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0 && catch_up.checkpoint() >= (*source)->committed().Get()) break;
  }
  worker::StreamWorker rebuild(changes->get(), source->get(), rebuilt->get(), &views, {}, &clock,
                               nullptr, {});
  ASSERT_TRUE(rebuild.Rebuild().ok());
  auto live_views = Pipeline::Dump(**live);
  auto rebuilt_views = Pipeline::Dump(**rebuilt);
  ASSERT_TRUE(live_views.ok() && rebuilt_views.ok());
  EXPECT_EQ(*live_views, *rebuilt_views);
}

// Runs viya-mv with `args` to completion; its exit code.
int ViyaExit(const std::string& args, const std::string& log) {
  ChildProcess p(
      [&] {
        std::vector<std::string> argv = {VIYA_MV_BINARY};
        std::string word;
        for (char ch : args + " ") {
          if (ch != ' ') {
            word += ch;
          } else if (!word.empty()) {
            argv.push_back(word);
            word.clear();
          }
        }
        return argv;
      }(),
      log);
  return p.Wait(std::chrono::seconds(120));
}

TEST(Crash, SigkillDuringOperationsLeavesViewsThatEqualARebuild) {
  TempDir dir;
  const std::string data = dir.File("data"), log = dir.File("crash.log");
  {
    std::ofstream out(dir.File("shipments.ndjson"));
    std::mt19937_64 rng(5);
    for (int i = 0; i < 30000; ++i) {
      json d = Shipment(i, 0, rng);
      d["organizationId"] = "org-" + std::to_string(i % 5);
      d["statusChangedAt"] = "2026-11-01T10:00:00Z";
      out << d.dump() << "\n";
    }
  }
  ASSERT_EQ(ViyaExit("import --data " + data + " " + dir.File("shipments.ndjson"), log), 0);
  std::string admin = RunAndCapture(std::string(VIYA_MV_BINARY) + " apikey create --data " + data +
                                    " --admin 2>/dev/null");
  HeaderList auth = {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}};
  const int port = FreeLoopbackPort();
  // A per-org rebuild, a full one, a migrate and a repairing reconcile, each killed while it
  // runs beside a write load.
  for (const char* target :
       {"/admin/rebuild?org=org-2", "/admin/rebuild",
        "/admin/views/mv_daily_metrics/migrate?force=true", "/admin/reconcile?repair=true"}) {
    ServerUnderTest server(data, port, log);
    ASSERT_TRUE(server.WaitHealthy(std::chrono::seconds(60)));
    HttpClient c(port, std::chrono::seconds(10));
    for (int i = 0; i < 600; ++i) {  // the views are built (backfill) before the operation
      if (c.Send("GET", "/readyz").status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      std::mt19937_64 rng(11);
      HttpClient w(port, std::chrono::seconds(5));
      for (int v = 1; !stop.load(); ++v) {
        json batch = json::array({Shipment(static_cast<int>(rng() % 30000), v, rng)});
        if (w.Send("POST", "/v1/shipments?org=org-" + std::to_string(rng() % 5), auth, batch.dump())
                .status == 0) {
          return;
        }
      }
    });
    HttpReply queued = c.Send("POST", target, auth);
    ASSERT_EQ(queued.status, 202) << queued;
    std::string id = json::parse(queued.body)["id"];
    std::string phase;
    for (int i = 0; i < 20000; ++i) {
      HttpReply op = c.Send("GET", "/admin/operations/" + id, auth);
      ASSERT_EQ(op.status, 200) << op;
      json j = json::parse(op.body);
      phase = j["phase"];
      if ((phase == "snapshot" && j["rowsDone"].get<int>() > 0) || phase == "catch_up" ||
          phase == "swapping" || phase == "comparing" || phase == "done") {
        break;
      }
    }
    server.process().Signal(SIGKILL);
    ASSERT_EQ(server.process().Wait(std::chrono::seconds(10)), -1);
    stop.store(true);
    writer.join();
    EXPECT_TRUE(phase != "queued" && phase != "failed") << target << ": " << phase;
  }
  // Restarted and caught up, the views equal a recompute from the source: no drift.
  ASSERT_EQ(ViyaExit("reconcile --data " + data, log), 0) << "drift after the kills";
}

// A writer of random shipment versions into 5 orgs until stopped (or the server is gone).
class WriteLoad {
 public:
  WriteLoad(int port, HeaderList auth, int ids) {
    thread_ = std::thread([this, port, auth, ids] {
      std::mt19937_64 rng(11);
      HttpClient w(port, std::chrono::seconds(5));
      for (int v = 1; !stop_.load(); ++v) {
        json batch = json::array({Shipment(static_cast<int>(rng() % ids), v, rng)});
        if (w.Send("POST", "/v1/shipments?org=org-" + std::to_string(rng() % 5), auth, batch.dump())
                .status == 0) {
          return;
        }
      }
    });
  }
  ~WriteLoad() {
    stop_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The first operation of `kind` as GET /admin/operations lists it, polled until `ready`
// holds for it (or the poll gives up); its last state.
json AwaitOperation(HttpClient& c, const HeaderList& auth, const std::string& kind,
                    const std::function<bool(const json&)>& ready) {
  json last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply r = c.Send("GET", "/admin/operations", auth);
    if (r.status != 200) continue;
    const json ops = json::parse(r.body)["operations"];
    for (const auto& op : ops) {
      if (op["kind"] != kind) continue;
      last = op;
      if (ready(op)) return op;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return last;
}

// The stored versions of mv_customer_summary in a data folder no server holds:
// version -> state.
std::map<int, std::string> StoredVersions(const std::string& data) {
  json status = json::parse(RunAndCapture(std::string(VIYA_MV_BINARY) + " status --json --data " +
                                          data + " 2>/dev/null"));
  std::map<int, std::string> out;
  for (const auto& v : status["views"]) {
    if (v["view"] != "mv_customer_summary") continue;
    for (const auto& one : v["versions"]) out[one["version"]] = one["state"];
  }
  return out;
}

TEST(Crash, SigkillDuringABlueGreenMigrationKeepsTheLiveVersionServing) {
  TempDir dir;
  const std::string data = dir.File("data"), log = dir.File("crash.log");
  constexpr int kIds = 40000;
  {
    std::ofstream out(dir.File("shipments.ndjson"));
    std::mt19937_64 rng(7);
    for (int i = 0; i < kIds; ++i) {
      json d = Shipment(i, 0, rng);
      d["organizationId"] = "org-" + std::to_string(i % 5);
      d["customerId"] = "C-" + std::to_string(i % 40);
      out << d.dump() << "\n";
    }
  }
  ASSERT_EQ(ViyaExit("import --data " + data + " " + dir.File("shipments.ndjson"), log), 0);
  ASSERT_EQ(ViyaExit("reconcile --data " + data, log), 0);  // builds the views
  const int v1 = core::CustomerSummaryView().spec().version, v2 = v1 + 1;
  ASSERT_EQ(StoredVersions(data), (std::map<int, std::string>{{v1, "live"}}));
  std::string admin = RunAndCapture(std::string(VIYA_MV_BINARY) + " apikey create --data " + data +
                                    " --admin 2>/dev/null");
  HeaderList auth = {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}};
  const int port = FreeLoopbackPort();
  setenv("VIYA_MV_TEST_NEXT_VERSION", "mv_customer_summary", 1);
  auto serve_and_kill = [&](const std::string& kind,
                            const std::function<bool(const json&)>& when) -> json {
    ServerUnderTest server(data, port, log);
    EXPECT_TRUE(server.WaitHealthy(std::chrono::seconds(60)));
    HttpClient c(port, std::chrono::seconds(10));
    json op;
    {
      WriteLoad load(port, auth, kIds);
      op = AwaitOperation(c, auth, kind, when);
      server.process().Signal(SIGKILL);
      EXPECT_EQ(server.process().Wait(std::chrono::seconds(10)), -1);
    }
    return op;
  };
  // Each kill leaves one of the states a switch goes through whole: v1 live (v2 built
  // beside it or not), or, once the switch committed, v2 live and v1 retired.
  auto consistent = [&](const std::map<int, std::string>& states) {
    using States = std::map<int, std::string>;
    return states == States{{v1, "live"}} || states == States{{v1, "live"}, {v2, "building"}} ||
           states == States{{v1, "retired"}, {v2, "live"}};
  };
  auto running = [](const json& op) {
    return (op["phase"] == "snapshot" && op["rowsDone"].get<int>() > 0) ||
           op["phase"] == "catch_up" || op["phase"] == "comparing" || op["phase"] == "done";
  };
  // Killed while the next version is built, then while it is validated.
  json built = serve_and_kill("migrate", running);
  EXPECT_TRUE(running(built)) << built.dump();
  auto after_build = StoredVersions(data);
  EXPECT_TRUE(consistent(after_build)) << ::testing::PrintToString(after_build);
  if (after_build.size() == 1) {
    EXPECT_NE(built["phase"], "done") << "built but not recorded";
  }
  if (after_build[v2] != "live") {
    serve_and_kill("validate", running);
    auto after_validation = StoredVersions(data);
    EXPECT_TRUE(consistent(after_validation)) << ::testing::PrintToString(after_validation);
  }
  // Until the switch: restarted each time, it goes on where it stopped.
  for (int round = 0; round < 5 && StoredVersions(data)[v2] != "live"; ++round) {
    serve_and_kill("validate", [](const json& op) { return op["phase"] == "done"; });
    EXPECT_TRUE(consistent(StoredVersions(data)));
  }
  EXPECT_EQ(StoredVersions(data), (std::map<int, std::string>{{v1, "retired"}, {v2, "live"}}));
  // Restarted and caught up, every live view equals a recompute from the source.
  EXPECT_EQ(ViyaExit("reconcile --data " + data, log), 0) << "drift after the kills";
  unsetenv("VIYA_MV_TEST_NEXT_VERSION");
}

}  // namespace
}  // namespace mv::testing
