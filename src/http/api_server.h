#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "cache/lookup_cache.h"
#include "http/auth.h"
#include "metrics/metrics.h"
#include "storage/sqlite/api_key_store.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_queries.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mv::http {

struct Call;  // call.h

struct Readiness {
  bool stream_connected = false;
  std::int64_t lag_events = 0;
};

struct ApiOptions {
  int threads = 8;
  std::int64_t max_body_bytes = 8 << 20;
  Millis min_token_timeout{2000};
  std::int64_t ready_max_lag_events = 10000;
  // Documents per write request (a larger array gets 413).
  size_t max_batch_documents = 10000;
};

// What the API reads and writes; not owned.
struct ApiBackends {
  storage::sqlite::SourceStore* source = nullptr;     // writes (embedded backend)
  storage::sqlite::ViewQueryPool* queries = nullptr;  // reads
  storage::sqlite::ApiKeyStore* keys = nullptr;
  cache::LookupCache* lookups = nullptr;  // customer and carrier names for reads
  const Watermark* applied = nullptr;     // token the views have applied
  const Clock* clock = nullptr;  // "today" of the reports' default ranges; null: system clock
  metrics::Metrics* metrics = nullptr;
  std::function<Readiness()> readiness;
};

// The HTTP API of DESIGN.md section 8 on cpp-httplib. Start() binds and serves on its
// own threads; Stop() (or the destructor) stops and joins. Thread-safe.
class ApiServer {
 public:
  ApiServer(ApiBackends backends, ApiOptions options);
  ~ApiServer();

  // Binds `host:port` (port 0 picks a free one) and starts serving.
  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  using RouteHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

  void RegisterRoutes();
  // The routes, by file: api_server.cc (operations), write_routes.cc, read_routes.cc
  // (shipments, realtime board, exceptions), report_routes.cc (metrics, carriers,
  // customers).
  void RegisterOperations();
  void RegisterWrites();
  void RegisterReads();
  void RegisterReports();
  // Wraps a tenant- or admin-scoped handler: authentication, errors, metrics.
  RouteHandler Scoped(std::string route, std::function<Status(Call&)> handler,
                      bool admin_only = false);
  // The bounded wait for ?minToken= (DESIGN.md section 8).
  Status WaitMinToken(const Call& c);

  ApiBackends b_;
  SystemClock system_clock_;
  ApiOptions options_;
  Authenticator auth_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mv::http
