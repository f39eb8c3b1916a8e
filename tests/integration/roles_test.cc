// `serve --role worker` and `serve --role api` on one data folder, as two real processes:
// writes and reads through the api replica over one keep-alive connection, each read with
// the write's minToken waiting across processes until the worker has applied it; admin
// operations asked of the replica run on the worker; both stop cleanly on SIGTERM.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "http_client.h"
#include "process.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Roles, AnApiReplicaServesReadsAndWritesOfTheFolderAWorkerMaintains) {
  TempDir dir;
  const std::string data = dir.File("data");
  // A replica needs the views a worker creates.
  ChildProcess early(
      {VIYA_MV_BINARY, "serve", "--role", "api", "--data", data, "--http", "127.0.0.1:0"},
      dir.File("early.log"));
  EXPECT_NE(early.Wait(10s), 0);
  EXPECT_NE(ReadFile(dir.File("early.log")).find("start the worker"), std::string::npos)
      << ReadFile(dir.File("early.log"));

  const std::string key = RunAndCapture(std::string(VIYA_MV_BINARY) +
                                        " apikey create --admin --data " + data + " 2>/dev/null");
  const int worker_port = FreeLoopbackPort();
  ChildProcess worker({VIYA_MV_BINARY, "serve", "--role", "worker", "--data", data, "--http",
                       "127.0.0.1:" + std::to_string(worker_port)},
                      dir.File("worker.log"));
  ASSERT_TRUE(WaitHealthy(worker_port, 20s)) << ReadFile(dir.File("worker.log"));
  const int api_port = FreeLoopbackPort();
  ChildProcess api({VIYA_MV_BINARY, "serve", "--role", "api", "--data", data, "--http",
                    "127.0.0.1:" + std::to_string(api_port)},
                   dir.File("api.log"));
  ASSERT_TRUE(WaitHealthy(api_port, 20s)) << ReadFile(dir.File("api.log"));

  HttpClient http(api_port, 5s);
  const HeaderList auth = {{"Authorization", "Bearer " + key}};
  for (int i = 1; i <= 20; ++i) {
    const std::string id = "S-" + std::to_string(i);
    json doc = {{"id", id}, {"status", "booked"}, {"createdAt", "2026-11-01T08:00:00Z"}};
    HttpReply w = http.Send("POST", "/v1/shipments?org=acme", auth, doc.dump());
    ASSERT_EQ(w.status, 200) << w.body;
    const std::string token = json::parse(w.body)["token"];
    HttpReply r = http.Send("GET", "/v1/shipments/" + id + "?org=acme&minToken=" + token, auth);
    ASSERT_EQ(r.status, 200) << "write " << i << " not visible through the replica: " << r.body;
    EXPECT_EQ(json::parse(r.body)["id"], id);
  }
  // Many clients at once, each on its own keep-alive connection to the replica.
  constexpr int kClients = 8, kEach = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      HttpClient conn(api_port, 5s);
      for (int i = 0; i < kEach; ++i) {
        const std::string id = "P-" + std::to_string(c) + "-" + std::to_string(i);
        json doc = {{"id", id}, {"status", "booked"}, {"createdAt", "2026-11-01T08:00:00Z"}};
        HttpReply w = conn.Send("POST", "/v1/shipments?org=acme", auth, doc.dump());
        if (w.status != 200) {
          ++failures;
          continue;
        }
        const std::string token = json::parse(w.body)["token"];
        HttpReply r = conn.Send("GET", "/v1/shipments/" + id + "?org=acme&minToken=" + token, auth);
        if (r.status != 200) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0) << "writes or reads-your-writes failed through the replica";
  // The worker's own API sees the same views.
  HttpClient direct(worker_port, 5s);
  HttpReply list = direct.Send("GET", "/v1/shipments?org=acme&limit=200", auth);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body)["items"].size(), 20u + kClients * kEach);
  // Operations asked of the replica run on the worker (through the operation board), and
  // the replica follows them to the end.
  HttpReply rebuild = http.Send("POST", "/admin/rebuild?org=acme", auth, "{}");
  ASSERT_EQ(rebuild.status, 202) << rebuild.body;
  const std::string op = json::parse(rebuild.body)["id"];
  std::string phase;
  for (int i = 0; i < 500 && phase != "done" && phase != "failed"; ++i) {
    std::this_thread::sleep_for(20ms);
    HttpReply followed = http.Send("GET", "/admin/operations/" + op, auth);
    ASSERT_EQ(followed.status, 200) << followed.body;
    phase = json::parse(followed.body)["phase"];
  }
  EXPECT_EQ(phase, "done") << "the worker ran the replica's rebuild";
  HttpReply listed = direct.Send("GET", "/admin/operations", auth);
  EXPECT_NE(listed.body.find(op), std::string::npos) << "the worker lists it: " << listed.body;
  HttpReply after = http.Send("GET", "/v1/shipments?org=acme&limit=200", auth);
  EXPECT_EQ(json::parse(after.body)["items"].size(), 20u + kClients * kEach);
  HttpReply status = http.Send("GET", "/admin/status", auth);
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(json::parse(status.body)["role"], "api") << status.body;

  api.Signal(SIGTERM);
  worker.Signal(SIGTERM);
  EXPECT_EQ(api.Wait(15s), 0) << ReadFile(dir.File("api.log"));
  EXPECT_EQ(worker.Wait(15s), 0) << ReadFile(dir.File("worker.log"));
}

}  // namespace
}  // namespace mv::testing
