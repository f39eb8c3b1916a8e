// A real `viya-mv serve` stopped with SIGTERM while a request is in flight: the request
// is answered, new connections are refused, the process exits 0, and what it answered
// is stored.

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_client.h"
#include "process.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string BigBatch(int n) {
  json batch = json::array();
  for (int i = 0; i < n; ++i) {
    batch.push_back({{"id", "S-" + std::to_string(i)},
                     {"status", "booked"},
                     {"reference", "PO-" + std::to_string(i)},
                     {"createdAt", "2026-11-01T10:00:00Z"}});
  }
  return batch.dump();
}

TEST(Drain, SigtermAnswersTheRequestInFlightThenExitsZero) {
  TempDir dir;
  std::string data = dir.File("data");
  std::string key =
      RunAndCapture(std::string(VIYA_MV_BINARY) + " apikey create --data " + data + " --org acme");
  int port = FreeLoopbackPort();
  HeaderList auth = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
  std::string body = BigBatch(10000);
  std::string token;
  {
    ChildProcess server(
        {VIYA_MV_BINARY, "serve", "--data", data, "--http", "127.0.0.1:" + std::to_string(port)},
        dir.File("serve.log"));
    ASSERT_TRUE(WaitHealthy(port, 20s));
    HttpClient idle(port);
    ASSERT_EQ(idle.Send("GET", "/healthz").status, 200);
    HttpClient writer(port, 30s);
    ASSERT_TRUE(writer.Connect());
    ASSERT_TRUE(writer.WriteRaw(HttpClient::Format("POST", "/v1/shipments", auth, body)));
    std::this_thread::sleep_for(20ms);  // the body is in; 10,000 shipments take a while
    server.Signal(SIGTERM);
    HttpReply r = writer.ReadReply();
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_TRUE(r.closed) << "an answer during the drain closes its connection";
    EXPECT_EQ(r.Json()["count"], 10000);
    token = r.Json()["token"].get<std::string>();
    EXPECT_TRUE(idle.ServerClosed(5s)) << "idle connections are closed by the drain";
    EXPECT_EQ(server.Wait(20s), 0) << "graceful stop exits 0";
    HttpClient late(port, 500ms);
    EXPECT_EQ(late.Send("GET", "/healthz").status, 0) << "nothing listens after the exit";
  }
  // The answered write is stored and reaches the views after a restart.
  ChildProcess server(
      {VIYA_MV_BINARY, "serve", "--data", data, "--http", "127.0.0.1:" + std::to_string(port)},
      dir.File("serve2.log"));
  ASSERT_TRUE(WaitHealthy(port, 20s));
  HttpClient c(port);
  HttpReply one = c.Send("GET", "/v1/shipments/S-9999?minToken=" + token, auth);
  EXPECT_EQ(one.status, 200) << one;
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(20s), 0);
}

}  // namespace
}  // namespace mv::testing
