// A deployment whose source takes no writes (MongoDB mode: the platform writes to its own
// database) answers the write routes 503 with a message saying where to write, and still
// serves reads. The API over the embedded stores, but without their writer.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "cache/lookup_cache.h"
#include "http/api_service.h"
#include "http_client.h"
#include "metrics/metrics.h"
#include "net/http_server.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using nlohmann::json;

TEST(ApiWithoutAWriter, WritesAre503AndReadsWork) {
  TempDir dir;
  SystemClock clock;
  core::ViewSet views = core::ViewSet::Default();
  backend::BackendOptions options;
  options.data_dir = dir.path();
  MV_ASSERT_OK_AND_ASSIGN(auto b, backend::OpenBackend(options, &views, &clock));
  MV_ASSERT_OK_AND_ASSIGN(std::string key, b->keys().Create({"acme", false, ""}));
  metrics::Metrics metrics;
  cache::LookupCache lookups(&b->lookups(), &clock, {});
  http::ApiBackends backends;
  backends.writer = nullptr;
  backends.progress = &b->progress();
  backends.snapshots = &b->snapshots();
  backends.reader = &b->reader();
  backends.keys = &b->keys();
  backends.lookups = &lookups;
  backends.applied = &b->applied();
  backends.metrics = &metrics;
  backends.readiness = [] { return http::Readiness{true, 0, std::nullopt}; };
  backends.views = &views;
  http::ApiService api(backends, {});
  net::HttpServer server(&api, {});
  MV_ASSERT_OK(server.Start("127.0.0.1", 0));
  HttpClient http(server.port());
  const HeaderList auth = {{"Authorization", "Bearer " + key}};
  const json shipment = {
      {"id", "S-1"}, {"status", "booked"}, {"createdAt", "2026-11-01T08:00:00Z"}};
  for (const auto& [method, path, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/v1/shipments", shipment.dump()},
           {"DELETE", "/v1/shipments/S-1", ""},
           {"POST", "/v1/tracking-events", "{}"},
           {"PUT", "/v1/customers/C-1", R"({"name": "Acme"})"}}) {
    HttpReply r = http.Send(method, path, auth, body);
    EXPECT_EQ(r.status, 503) << method << " " << path << ": " << r.body;
    EXPECT_NE(r.body.find("write to it, not to viya-mv"), std::string::npos) << r.body;
  }
  HttpReply list = http.Send("GET", "/v1/shipments", auth);
  EXPECT_EQ(list.status, 200) << list.body;
  server.Drain();
}

}  // namespace
}  // namespace mv::testing
