// MongoDB mode from outside: `viya-mv serve` with source.backend = "mongodb".
//
// Without a server (always): a deployment that cannot be reached stops `serve` at once
// with a clear message that never shows the password, and `--print-config` redacts it.
// With VIYA_MV_MONGODB_URI naming a replica set: the platform's writes to MongoDB show up
// in the views over HTTP (insert, update, delete), read on a keep-alive connection.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_client.h"
#include "mongo/driver.h"
#include "process.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using namespace std::chrono_literals;

std::string RunViya(const std::string& env, const std::string& args, int* exit_code) {
  std::string out;
  FILE* pipe = popen((env + " " + std::string(VIYA_MV_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(MongoDbSource, ServeStopsAtOnceOnAnUnreachableDeploymentWithoutShowingThePassword) {
  TempDir dir;
  const std::string env =
      "VIYA_MV_SOURCE_BACKEND=mongodb VIYA_MV_HTTP_LISTEN=127.0.0.1:0 VIYA_MV_DATA_DIR=" +
      dir.File("data") +
      " VIYA_MV_SOURCE_URI='mongodb://viya:s3cret@127.0.0.1:1/"
      "?serverSelectionTimeoutMS=300&connectTimeoutMS=200'";
  auto started = std::chrono::steady_clock::now();
  int code = 0;
  std::string out = RunViya(env, "serve", &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  EXPECT_NE(out.find("MongoDB source (mongodb://viya:***@127.0.0.1:1/"), std::string::npos) << out;
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;

  std::string config = RunViya(env, "serve --print-config", &code);
  EXPECT_EQ(code, 0) << config;
  EXPECT_NE(config.find("backend = \"mongodb\""), std::string::npos) << config;
  EXPECT_EQ(config.find("s3cret"), std::string::npos) << config;
}

TEST(MongoDbSource, CheckSaysWhatItCouldNotReachAndExitsNonZero) {
  TempDir dir;
  int code = 0;
  std::string out = RunViya("VIYA_MV_DATA_DIR=" + dir.File("data"), "check", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("needs no preflight"), std::string::npos) << out;
  out = RunViya(
      "VIYA_MV_SOURCE_BACKEND=mongodb VIYA_MV_SOURCE_URI='mongodb://viya:s3cret@127.0.0.1:1/"
      "?serverSelectionTimeoutMS=300'",
      "check --json", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("No suitable servers"), std::string::npos) << out;
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
}

TEST(MongoDbSource, WithoutAUriItIsAConfigurationError) {
  TempDir dir;
  int code = 0;
  std::string out = RunViya("VIYA_MV_SOURCE_BACKEND=mongodb VIYA_MV_DATA_DIR=" + dir.File("data"),
                            "serve", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("source.uri: required"), std::string::npos) << out;
}

// The platform's writes, made with the driver as the platform's services make them, are
// visible through viya-mv's API.
TEST(MongoDbSourceServer, ThePlatformsWritesReachTheViews) {
  const char* uri = std::getenv("VIYA_MV_MONGODB_URI");
  if (uri == nullptr || *uri == '\0') {
    GTEST_SKIP() << "SKIPPED: VIYA_MV_MONGODB_URI is not set, so no MongoDB server test ran "
                    "(see deploy/mongodb/README.md to start a local replica set)";
  }
  const std::string database = "viya_mv_test_" + std::to_string(getpid());
  mongo::SourceNames names;
  names.database = database;
  auto connection = mongo::MongoConnection::Connect({uri, names, false});
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  auto command = [&](const ordered_json& cmd) {
    auto reply = (*connection)->Command(database, cmd);
    EXPECT_TRUE(reply.ok() && reply->value("ok", 0.0) == 1.0)
        << cmd.dump() << " -> " << (reply.ok() ? reply->dump() : reply.status().ToString());
  };
  command({{"create", "shipments"}});
  command({{"create", "tracking_events"}});
  command({{"createIndexes", "shipments"},
           {"indexes", {{{"key", {{"organizationId", 1}, {"_id", 1}}}, {"name", "org_id"}}}}});

  TempDir dir;
  const int port = FreeLoopbackPort();
  // For the child processes only: taken back when the test ends.
  struct Env {
    Env(const char* uri, const std::string& database) {
      setenv("VIYA_MV_SOURCE_BACKEND", "mongodb", 1);
      setenv("VIYA_MV_SOURCE_URI", uri, 1);
      setenv("VIYA_MV_SOURCE_DATABASE", database.c_str(), 1);
    }
    ~Env() {
      for (const char* name :
           {"VIYA_MV_SOURCE_BACKEND", "VIYA_MV_SOURCE_URI", "VIYA_MV_SOURCE_DATABASE"}) {
        unsetenv(name);
      }
    }
  } env(uri, database);
  int code = 0;
  std::string admin = RunViya("", "apikey create --admin --data " + dir.File("data"), &code);
  ASSERT_EQ(code, 0) << admin;
  admin = admin.substr(0, admin.find('\n'));
  ChildProcess server({VIYA_MV_BINARY, "serve", "--data", dir.File("data"), "--http",
                       "127.0.0.1:" + std::to_string(port)},
                      dir.File("serve.log"));
  HttpClient http(port, 2s);
  auto get = [&](const std::string& path) {
    return http.Send("GET", path, {{"Authorization", "Bearer " + admin}});
  };
  ASSERT_TRUE(WaitHealthy(port, 20s)) << "see " << dir.File("serve.log");
  auto wait_for = [&](const std::string& path, int status, const std::string& field,
                      const std::string& value) {
    for (int i = 0; i < 100; ++i, std::this_thread::sleep_for(50ms)) {
      auto r = get(path);
      if (r.status == status && (field.empty() || json::parse(r.body).value(field, "") == value)) {
        return true;
      }
    }
    return false;
  };
  command({{"insert", "shipments"},
           {"documents",
            {{{"_id", "S-1"},
              {"organizationId", "acme"},
              {"status", "booked"},
              {"createdAt", {{"$date", "2025-02-01T08:00:00Z"}}}}}}});
  EXPECT_TRUE(wait_for("/v1/shipments/S-1?org=acme", 200, "status", "booked"));
  command(
      {{"update", "shipments"},
       {"updates", {{{"q", {{"_id", "S-1"}}}, {"u", {{"$set", {{"status", "in_transit"}}}}}}}}});
  EXPECT_TRUE(wait_for("/v1/shipments/S-1?org=acme", 200, "status", "in_transit"));
  command({{"delete", "shipments"}, {"deletes", {{{"q", {{"_id", "S-1"}}}, {"limit", 1}}}}});
  // An unsharded collection's delete carries no org: without pre-images it becomes an
  // undecodable event, logged; with them (or sharded on the org) the row goes.
  command({{"dropDatabase", 1}});
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(15s), 0);
}

}  // namespace
}  // namespace mv::testing
