#pragma once

#include <map>
#include <memory>
#include <thread>

#include "app/config.h"
#include "app/freshness_probe.h"
#include "app/lease_keeper.h"
#include "app/operation_bridge.h"
#include "backend/backend.h"
#include "base/clock.h"
#include "cache/lookup_cache.h"
#include "cache/lookup_probe.h"
#include "core/view_set.h"
#include "http/api_service.h"
#include "http/http_probe.h"
#include "http/remote_operations.h"
#include "metrics/metrics.h"
#include "net/http_server.h"
#include "worker/job_probe.h"
#include "worker/scheduler.h"
#include "worker/stream_probe.h"
#include "worker/stream_worker.h"

namespace mv::app {

// Everything one `viya-mv serve` process runs, wired together: the backend's source and
// view stores, the stream worker (with the SLA ticker, the operations and the scheduled
// jobs), the lookup caches, metrics and the HTTP API. In role api (serve.role) it runs no
// worker: the HTTP API over a replica of the stores a worker process maintains.
//
// Open() then Start(); Stop() shuts down gracefully: the API stops accepting connections
// and lets the requests in flight finish (http.drain_timeout_ms), then the worker finishes
// the batch in hand and commits it. Start/Stop from one thread.
class Application {
 public:
  struct OpenOptions {
    // Tests: adjusts the backend options the configuration gives (an in-memory MongoDB
    // views database in place of views.uri).
    std::function<void(backend::BackendOptions&)> adjust_backend;
  };
  // Unavailable when another process holds the data folder (its lock file).
  static Result<std::unique_ptr<Application>> Open(const Config& config, const Clock* clock,
                                                   const OpenOptions& options = {});
  ~Application();

  Status Start();
  void Stop();
  // Called once, from another thread, when the process must end: its worker lost the
  // lease of its partition (another worker took it). `serve` then stops and exits 1.
  void OnFatal(std::function<void(const Status&)> fn) { on_fatal_ = std::move(fn); }
  // Ok, or why the process must end.
  Status fatal() const;

  int http_port() const { return server_ ? server_->port() : 0; }
  // The stores this process maintains (backend::OpenBackend chose them from the config);
  // roles all and worker only.
  backend::Backend& backend() { return *backend_; }
  api::KeyStore& keys() { return stores_->keys(); }
  cache::LookupCache& lookups() { return *lookups_; }
  worker::StreamWorker& worker() { return *worker_; }  // roles all and worker only
  worker::Operations& operations() { return operations_; }
  worker::Scheduler& scheduler() { return *scheduler_; }
  metrics::Metrics& metrics() { return *metrics_; }
  const Config& config() const { return config_; }
  // What `viya-mv status` and GET /admin/status show.
  nlohmann::json StatusReport() { return api_->StatusReport(); }

 private:
  Application(Config config, const Clock* clock);
  void RefreshStreamGauges();
  // Per org with changes not yet applied: seconds since the oldest of them.
  std::map<std::string, double> StalenessByOrg();
  // How far behind the source the views are, in seconds (status and metrics).
  double LagSeconds();
  // The same from staleness the caller has read already.
  double LagSeconds(const std::map<std::string, double>& staleness_by_org);
  // The stream worker with its operations, jobs and lookup invalidation (not in replicas).
  Status StartWorkerParts();
  // The jobs of config_.jobs, run by the worker between batches.
  Status AddJobs();

  Config config_;
  const Clock* clock_;
  int lock_fd_ = -1;  // an exclusive flock on DATA/viya-mv.lock while this object lives
  core::ViewSet views_;
  std::unique_ptr<metrics::Metrics> metrics_;
  // The probes: the worker's (roles all and worker), the API's, the freshness of the views.
  std::unique_ptr<worker::StreamProbe> stream_probe_;
  std::unique_ptr<worker::JobProbe> job_probe_;
  std::unique_ptr<http::HttpProbe> http_probe_;
  std::unique_ptr<FreshnessProbe> freshness_probe_;
  std::unique_ptr<backend::Backend> backend_;    // roles all and worker
  std::unique_ptr<backend::ApiStores> replica_;  // role api
  backend::ApiStores* stores_ = nullptr;         // the one of the two this process has
  std::unique_ptr<cache::LookupCache> lookups_;
  std::unique_ptr<cache::LookupProbe> lookup_probe_;
  // viya_mv_tracking_events_duplicates_total, copied from the source store's counter.
  prometheus::Counter* duplicates_ = nullptr;
  std::int64_t duplicates_reported_ = 0;  // guarded by the metrics collection
  // viya_mv_source_writes_total and viya_mv_source_commits_total (group commit).
  prometheus::Counter* source_writes_ = nullptr;
  prometheus::Counter* source_commits_ = nullptr;
  std::int64_t writes_reported_ = 0, commits_reported_ = 0;  // guarded by the collection
  worker::Operations operations_;                            // outlives the worker, which runs them
  // Role api: the worker's operations, through the operation board.
  std::unique_ptr<http::RemoteOperations> remote_operations_;
  // Roles all and worker: requests from replicas in, the operations' states out.
  std::unique_ptr<OperationBridge> bridge_;
  std::unique_ptr<worker::Scheduler> scheduler_;  // ditto
  std::unique_ptr<worker::StreamWorker> worker_;
  // The server outlives the service: the service's last answers go to its event loops.
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<http::ApiService> api_;
  std::thread worker_thread_;
  // The worker's lease (MongoDB views): taken before the worker runs, renewed meanwhile.
  std::unique_ptr<LeaseKeeper> lease_keeper_;
  std::atomic<bool> stopping_{false};
  std::function<void(const Status&)> on_fatal_;
  mutable std::mutex fatal_mu_;
  Status fatal_;  // guarded by fatal_mu_
  bool started_ = false;
};

// The backend the configuration names, as backend::OpenBackend takes it.
backend::BackendOptions BackendOptionsOf(const Config& config);

// The built-in code mapping with the configured overrides applied.
Result<core::CodeMapping> CodeMappingOf(const Config::Tracking& tracking);

// Splits "host:port"; InvalidArgument otherwise.
Status SplitHostPort(const std::string& listen, std::string* host, int* port);

}  // namespace mv::app
