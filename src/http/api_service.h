#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/key_store.h"
#include "api/operator_stores.h"
#include "api/source.h"
#include "api/view_reader.h"
#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "base/work_queue.h"
#include "cache/lookup_cache.h"
#include "core/interfaces.h"
#include "core/view_set.h"
#include "http/auth.h"
#include "http/http_probe.h"
#include "http/realtime_streams.h"
#include "http/router.h"
#include "http/token_waiters.h"
#include "metrics/metrics.h"
#include "net/message.h"
#include "worker/operations.h"
#include "worker/scheduler.h"

namespace mv::http {

struct Call;  // call.h

struct Readiness {
  bool stream_connected = false;
  std::int64_t lag_events = 0;
  // Set while the views are being built from a snapshot (new views, history lost): the
  // percentage done. Not ready until built.
  std::optional<double> building_percent;
};

struct ApiOptions {
  Millis min_token_timeout{2000};
  std::int64_t ready_max_lag_events = 10000;
  // Documents per write request (a larger array gets 413).
  size_t max_batch_documents = 10000;
  // Threads for handlers that may block (writes, reads that waited for minToken), and how
  // many such requests may queue for them before the answer is 503.
  size_t blocking_threads = 16;
  size_t max_queued = 1024;
  // GET /v1/ops/realtime/stream: heartbeats, subscriber and buffer limits.
  RealtimeStreams::Options realtime;
};

// What the API reads and writes; not owned.
struct ApiBackends {
  api::SourceWriter* writer = nullptr;      // writes; null: the platform writes to its database
  api::SourceProgress* progress = nullptr;  // the newest source token (bounds minToken)
  core::SourceReader* snapshots = nullptr;  // shipment counts of the admin API
  api::ViewReader* reader = nullptr;        // reads
  api::KeyStore* keys = nullptr;
  cache::LookupCache* lookups = nullptr;  // customer and carrier names for reads
  const Watermark* applied = nullptr;     // token the views have applied
  const Clock* clock = nullptr;  // "today" of the reports' default ranges; null: system clock
  metrics::Metrics* metrics = nullptr;  // GET /metrics; null: an empty answer
  HttpProbe* http_probe = nullptr;      // request counts and durations; null: none
  std::function<Readiness()> readiness;
  // Admin operations: the worker's own, or a replica's way to the worker's (the operation
  // board); null: none.
  worker::OperationService* operations = nullptr;
  const core::ViewSet* views = nullptr;          // the views the admin API names
  const worker::Scheduler* scheduler = nullptr;  // GET /admin/jobs; null: no jobs here
  api::DeadLetters* dead_letters = nullptr;
  api::Catalog* catalog = nullptr;  // rows and generations of the views
  // GET /admin/status: the stream's checkpoint and lag; null: not in this process.
  std::function<nlohmann::json()> stream_status;
  // How far behind the source the views are, in seconds (the realtime stream's
  // heartbeats); null: 0.
  std::function<double()> lag_seconds;
};

// The HTTP API of DESIGN.md section 8 as a request handler, free of any server library:
// routing, authentication and tenant scoping, the bounded `minToken` wait, ETags, and
// the one place a Status becomes an HTTP answer (response.cc).
//
// Reads run on the calling (server I/O) thread: they are short SQLite reads. A read
// whose `minToken` the views have not reached yet waits without holding a thread
// (TokenWaiters) and then runs on the blocking threads, as writes do. Thread-safe.
class ApiService final : public net::RequestHandler {
 public:
  ApiService(ApiBackends backends, ApiOptions options);
  ~ApiService() override;

  void Handle(net::Request request, net::Completion done, net::Executor on_loop) override;
  net::Response ErrorResponse(const Status& status) override;

  // GET /admin/status and `viya-mv status`: stream, views, running operations, jobs,
  // dead letters.
  nlohmann::json StatusReport();
  // Each view: its definition version and, from the catalog, state, generation, rows and
  // when it was built.
  Result<nlohmann::json> ViewsReport(bool with_rows);
  // Realtime event streams open now.
  size_t realtime_streams() const { return realtime_ ? realtime_->subscribers() : 0; }

 private:
  enum class Access { kPublic, kTenant, kAdmin };
  struct RouteOptions {
    Access access = Access::kTenant;
    // Run on the blocking threads when the body has at least this many bytes (0: always);
    // otherwise on the I/O thread. Writes parse their body here and then hand the store
    // write over without waiting for it (Call::Defer).
    size_t offload_body_bytes = SIZE_MAX;
    // Reads: accept `minToken`, answer an ETag and 304 to a matching If-None-Match.
    bool read = false;
  };
  // Bodies smaller than this are parsed on the I/O thread.
  static constexpr size_t kInlineBodyBytes = 64 << 10;
  using RouteHandler = std::function<Status(Call&)>;
  struct Route {
    RouteOptions options;
    RouteHandler handler;
  };
  struct Pending;  // one request on its way through Handle

  void Add(const char* method, const char* pattern, RouteOptions options, RouteHandler handler);

  // The routes, by file: api_service.cc (operations), write_routes.cc, read_routes.cc
  // (shipments, realtime board, exceptions), report_routes.cc (metrics, carriers,
  // customers).
  void AddOperations();
  void AddWrites();
  void AddReads();
  void AddReports();
  void AddAdmin();  // admin_routes.cc

  // Unavailable when this process has no source writer (MongoDB mode: the platform
  // writes to its own database, and viya-mv follows its change stream).
  Status WritesAccepted() const;

  // Runs the route's handler and answers; on whichever thread calls it.
  void Run(const std::shared_ptr<Pending>& p);
  // Answers `p` with `status` (its response when Ok, else the error).
  void Finish(const std::shared_ptr<Pending>& p, Status status);
  void Answer(const std::shared_ptr<Pending>& p, net::Response response);
  // Runs `p` on the blocking threads, or answers 503 when they are saturated.
  void Offload(std::shared_ptr<Pending> p);

  ApiBackends b_;
  SystemClock system_clock_;
  ApiOptions options_;
  Authenticator auth_;
  Router router_;
  std::vector<Route> routes_;  // by router index
  // Destroyed in reverse: the waiters first (their last completions go to the blocking
  // threads), then the blocking threads (which finish what is queued).
  WorkQueue blocking_;
  TokenWaiters waiters_;
  std::unique_ptr<RealtimeStreams> realtime_;  // null without a reader
};

}  // namespace mv::http
