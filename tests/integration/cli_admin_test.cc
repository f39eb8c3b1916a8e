// The admin commands as an operator runs them: `viya-mv status`, `reconcile`, `rebuild`,
// `apikey list|revoke` and `dead-letters list` against a real server through --url and
// an admin key, and on the data folder itself, which they refuse while a server holds it.

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "http_client.h"
#include "process.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// Runs viya-mv with `args` (shell words, already safe) and captures its output.
Outcome Viya(const std::string& args) {
  Outcome r;
  FILE* pipe = popen((std::string(VIYA_MV_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(CliAdmin, CommandsActThroughTheServerWithUrlAndOnTheFolderWithout) {
  TempDir dir;
  const std::string data = dir.File("data");
  Outcome admin = Viya("apikey create --data " + data + " --admin --name ops");
  ASSERT_EQ(admin.exit_code, 0) << admin.out;
  const std::string admin_key = admin.out.substr(0, admin.out.find('\n'));
  Outcome tenant = Viya("apikey create --data " + data + " --org acme");
  ASSERT_EQ(tenant.exit_code, 0) << tenant.out;
  const std::string tenant_key = tenant.out.substr(0, tenant.out.find('\n'));

  // On the folder, no server: one key per line, id first.
  Outcome list = Viya("apikey list --data " + data);
  ASSERT_EQ(list.exit_code, 0) << list.out;
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 2) << list.out;
  EXPECT_EQ(list.out.substr(0, 4), "key-");
  EXPECT_NE(list.out.find("\tops\t"), std::string::npos) << list.out;
  const size_t tenant_line = list.out.find("org acme");
  ASSERT_NE(tenant_line, std::string::npos);
  const size_t line_start = list.out.rfind('\n', tenant_line) + 1;
  const std::string tenant_id = list.out.substr(line_start, 16);

  const int port = FreeLoopbackPort();
  ChildProcess server(
      {VIYA_MV_BINARY, "serve", "--data", data, "--http", "127.0.0.1:" + std::to_string(port)},
      dir.File("serve.log"));
  ASSERT_TRUE(WaitHealthy(port, 20s));
  HttpClient client(port);
  HeaderList auth = {{"Authorization", "Bearer " + tenant_key},
                     {"Content-Type", "application/json"}};
  HttpReply wrote =
      client.Send("POST", "/v1/shipments", auth,
                  R"([{"id": "S-1", "status": "in_transit", "createdAt": "2026-11-01T10:00:00Z"},
          {"id": "S-2", "status": "exception", "createdAt": "2026-11-01T10:00:00Z"}])");
  ASSERT_EQ(wrote.status, 200) << wrote;

  const std::string url = " --url http://127.0.0.1:" + std::to_string(port) + " --key " + admin_key;
  // The folder is held: refused, naming --url.
  Outcome held = Viya("status --data " + data);
  EXPECT_NE(held.exit_code, 0);
  EXPECT_NE(held.out.find("--url"), std::string::npos) << held.out;

  Outcome status = Viya("status --json" + url);
  ASSERT_EQ(status.exit_code, 0) << status.out;
  json s = json::parse(status.out);
  EXPECT_EQ(s["views"].size(), 6u);
  EXPECT_EQ(s["jobs"].size(), 5u);
  Outcome table = Viya("status" + url);
  ASSERT_EQ(table.exit_code, 0) << table.out;
  EXPECT_NE(table.out.find("stream running"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("orphan_tracking"), std::string::npos) << table.out;

  Outcome reconcile = Viya("reconcile --org acme --json" + url);
  ASSERT_EQ(reconcile.exit_code, 0) << reconcile.out;
  json report = json::parse(reconcile.out);
  EXPECT_EQ(report["views"].size(), 7u);  // the six views and the tracking state
  for (const auto& v : report["views"]) EXPECT_EQ(v["mismatched"], 0) << v.dump();
  Outcome rebuild = Viya("rebuild --view mv_daily_metrics --org acme" + url);
  EXPECT_EQ(rebuild.exit_code, 0) << rebuild.out;
  Outcome migrate = Viya("migrate --view mv_daily_metrics --force" + url);
  EXPECT_EQ(migrate.exit_code, 0) << migrate.out;
  // Nothing newer to build, switch to or roll back to: the server's 409, named.
  Outcome unforced = Viya("migrate --view mv_daily_metrics" + url);
  EXPECT_EQ(unforced.exit_code, 1) << unforced.out;
  EXPECT_NE(unforced.out.find("newest definition"), std::string::npos) << unforced.out;
  Outcome no_switch = Viya("migrate --view mv_daily_metrics --switch" + url);
  EXPECT_EQ(no_switch.exit_code, 1) << no_switch.out;
  EXPECT_NE(no_switch.out.find("no built version"), std::string::npos) << no_switch.out;
  Outcome no_rollback = Viya("migrate --view mv_daily_metrics --rollback" + url);
  EXPECT_EQ(no_rollback.exit_code, 1) << no_rollback.out;
  Outcome two_steps = Viya("migrate --view mv_daily_metrics --switch --rollback" + url);
  EXPECT_NE(two_steps.exit_code, 0) << two_steps.out;  // excluded flags
  Outcome unknown = Viya("reconcile --org nobody" + url);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.out.find("nobody"), std::string::npos) << unknown.out;
  Outcome letters = Viya("dead-letters list" + url);
  EXPECT_EQ(letters.exit_code, 0) << letters.out;
  EXPECT_NE(letters.out.find("0 dead letters"), std::string::npos) << letters.out;

  // Revoked through the server: the tenant key stops at once.
  EXPECT_EQ(client.Send("GET", "/v1/shipments/S-1", auth).status, 200);
  Outcome revoke = Viya("apikey revoke " + tenant_id + url);
  ASSERT_EQ(revoke.exit_code, 0) << revoke.out;
  EXPECT_EQ(client.Send("GET", "/v1/shipments/S-1", auth).status, 401);
  Outcome again = Viya("apikey revoke " + tenant_id + url);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.out.find("revoked already"), std::string::npos) << again.out;

  // A wrong key or no key.
  Outcome bad = Viya("status --url http://127.0.0.1:" + std::to_string(port) + " --key vmv_nope");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find("Unauthenticated"), std::string::npos) << bad.out;
  Outcome none = Viya("status --url http://127.0.0.1:" + std::to_string(port) + " --key ''");
  EXPECT_EQ(none.exit_code, 2) << none.out;
  EXPECT_NE(none.out.find("VIYA_MV_ADMIN_KEY"), std::string::npos) << none.out;
}

}  // namespace
}  // namespace mv::testing
