#include "app/application.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/time.h"

namespace mv::app {

Status SplitHostPort(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size() ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      listen.size() - colon - 1 > 5) {
    return Status::InvalidArgument("http.listen: expected HOST:PORT, got '" + listen + "'");
  }
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);  // [::1] -> ::1
  }
  *port = std::stoi(listen.substr(colon + 1));
  if (*port > 65535) return Status::InvalidArgument("http.listen: port above 65535");
  return Status::Ok();
}

Result<core::CodeMapping> CodeMappingOf(const Config::Tracking& tracking) {
  core::CodeMapping codes = core::CodeMapping::Defaults();
  for (const auto& [key, status_name] : tracking.codes) {
    std::optional<core::ShipmentStatus> status;
    if (status_name != "none") {
      status = core::ParseShipmentStatus(status_name);
      if (!status) {
        return Status::InvalidArgument(
            fmt::format("tracking code {} maps to unknown status '{}'", key.second, status_name));
      }
    }
    codes.Set(key.first, key.second, status);
  }
  return codes;
}

backend::BackendOptions BackendOptionsOf(const Config& c) {
  backend::BackendOptions o;
  o.data_dir = c.data_dir;
  o.oplog_retention = std::chrono::hours(c.oplog.retention_hours);
  o.views_cache_mib = static_cast<int>(c.storage.views_cache_mb);
  if (c.source.backend == "mongodb") {
    o.source = backend::BackendOptions::Source::kMongoDb;
    backend::BackendOptions::MongoDb& m = o.mongodb;
    m.uri = c.source.uri;
    m.names = {c.source.database, c.source.shipments, c.source.tracking_events, c.source.customers,
               c.source.carriers};
    m.mapping.org = c.source.org_field;
    m.mapping.id = c.source.id_field;
    for (const auto& [collection, names] : c.source.fields) {
      if (auto parsed = core::ParseCollection(collection)) m.mapping.renames[*parsed] = names;
    }
    m.min_oplog_window_hours = static_cast<double>(c.oplog.min_window_hours);
  }
  if (c.views.backend == "mongodb") {
    o.views = backend::BackendOptions::Views::kMongoDb;
    // The views database is on the source's deployment unless named apart.
    o.mongo_views.uri = c.views.uri.empty() ? c.source.uri : c.views.uri;
    o.mongo_views.database = c.views.database;
  }
  o.partition = {static_cast<int>(c.stream.partition), static_cast<int>(c.stream.partitions)};
  o.lease_ttl = std::chrono::seconds(c.stream.lease_seconds);
  return o;
}

Application::Application(Config config, const Clock* clock)
    : config_(std::move(config)), clock_(clock), views_(core::ViewSet::Default()) {}

Application::~Application() {
  Stop();
  if (lock_fd_ >= 0) close(lock_fd_);
}

Result<std::unique_ptr<Application>> Application::Open(const Config& config, const Clock* clock,
                                                       const OpenOptions& options) {
  std::unique_ptr<Application> app(new Application(config, clock));
  const Config& c = app->config_;
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  if (ec) return Status::IOError(fmt::format("data folder {}: {}", c.data_dir, ec.message()));
  const bool replica = c.serve.role == "api";
  // One process maintains a data folder (roles all and worker): the lock goes with the
  // process (even when killed). `api` replicas beside it take none.
  if (!replica) {
    std::string lock_path = (std::filesystem::path(c.data_dir) / "viya-mv.lock").string();
    app->lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (app->lock_fd_ < 0) {
      return Status::IOError(fmt::format("{}: {}", lock_path, std::strerror(errno)));
    }
    if (flock(app->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::Unavailable(fmt::format(
          "the data folder {} is in use by a running viya-mv; act on it through that server's "
          "admin API with --url (and an admin key), or serve it with --role api beside it",
          c.data_dir));
    }
  }
  // Only for tests of the blue/green path: the named aggregate view gets a definition one
  // version newer that computes the same rows, its own becoming the previous one.
  if (const char* next = std::getenv("VIYA_MV_TEST_NEXT_VERSION"); next != nullptr && *next) {
    MV_RETURN_IF_ERROR(app->views_.AddNextVersionForTest(next));
    spdlog::info("VIYA_MV_TEST_NEXT_VERSION: {} has a test-only next version", next);
  }
  app->metrics_ = std::make_unique<metrics::Metrics>();
  prometheus::Registry& registry = app->metrics_->registry();
  app->http_probe_ = std::make_unique<http::HttpProbe>(registry);
  FreshnessProbe::Options freshness;
  freshness.views = app->views_.Names();
  freshness.staleness_target_seconds = static_cast<double>(c.metrics.staleness_target_ms) / 1000;
  freshness.org_allow = OrgLabelList(c.metrics.org_labels);
  freshness.max_orgs = static_cast<size_t>(c.metrics.max_org_labels);
  app->freshness_probe_ = std::make_unique<FreshnessProbe>(registry, std::move(freshness));
  if (!replica) {
    app->stream_probe_ = std::make_unique<worker::StreamProbe>(registry, app->views_.Names());
    app->job_probe_ = std::make_unique<worker::JobProbe>(registry);
  }
  backend::BackendOptions backend_options = BackendOptionsOf(c);
  if (options.adjust_backend) options.adjust_backend(backend_options);
  if (replica) {
    MV_ASSIGN_OR_RETURN(app->replica_, backend::OpenReplica(backend_options, &app->views_, clock));
    app->stores_ = app->replica_.get();
  } else {
    MV_ASSIGN_OR_RETURN(app->backend_, backend::OpenBackend(backend_options, &app->views_, clock));
    app->stores_ = app->backend_.get();
  }
  backend::ApiStores& b = *app->stores_;

  cache::LookupCacheOptions cache_options;
  cache_options.ttl = std::chrono::seconds(c.lookup.cache_ttl_seconds);
  cache_options.max_entries = static_cast<size_t>(c.lookup.cache_max_entries);
  app->lookups_ = std::make_unique<cache::LookupCache>(&b.lookups(), clock, cache_options);
  app->lookup_probe_ =
      std::make_unique<cache::LookupProbe>(app->metrics_->registry(), app->lookups_.get());

  if (!replica) {
    MV_RETURN_IF_ERROR(app->StartWorkerParts());
    // Operation ids stay unique across restarts: other processes see them on the board.
    app->operations_.SetIdPrefix(fmt::format(
        "op-{:04x}-", static_cast<unsigned>(clock->Now().time_since_epoch().count() & 0xffff)));
    api::WriterLease* lease = app->backend_->lease();
    app->bridge_ = std::make_unique<OperationBridge>(
        &b.operation_board(), &app->operations_, backend_options.partition, clock,
        [lease] { return lease == nullptr || lease->held(); });
  }
  app->duplicates_ =
      &prometheus::BuildCounter()
           .Name("viya_mv_tracking_events_duplicates_total")
           .Help("Tracking events ignored as duplicates (same org, carrier, eventId)")
           .Register(app->metrics_->registry())
           .Add({});
  app->source_writes_ = &prometheus::BuildCounter()
                             .Name("viya_mv_source_writes_total")
                             .Help("Writes to the embedded source store")
                             .Register(app->metrics_->registry())
                             .Add({});
  app->source_commits_ = &prometheus::BuildCounter()
                              .Name("viya_mv_source_commits_total")
                              .Help(
                                  "Transactions that committed the source writes (concurrent "
                                  "writes share one)")
                              .Register(app->metrics_->registry())
                              .Add({});
  Application* self = app.get();
  app->metrics_->OnCollect([self] {
    if (const api::SourceWriter* writer = self->stores_->writer()) {
      api::SourceWriter::Counters n = writer->counters();
      self->source_writes_->Increment(static_cast<double>(n.writes - self->writes_reported_));
      self->source_commits_->Increment(
          static_cast<double>(n.transactions - self->commits_reported_));
      self->duplicates_->Increment(
          static_cast<double>(n.duplicate_tracking - self->duplicates_reported_));
      self->writes_reported_ = n.writes;
      self->commits_reported_ = n.transactions;
      self->duplicates_reported_ = n.duplicate_tracking;
    }
    self->RefreshStreamGauges();
    self->lookup_probe_->Refresh();
    if (self->server_) {
      net::ServerStats http = self->server_->stats();
      if (self->api_) self->http_probe_->SetStreams(self->api_->realtime_streams());
      self->http_probe_->ServerFigures(http.connections, http.refused_total, http.timeouts_total,
                                       http.bad_requests_total);
    }
  });

  http::ApiBackends backends;
  backends.writer = b.writer();
  backends.progress = &b.progress();
  backends.snapshots = &b.snapshots();
  backends.reader = &b.reader();
  backends.keys = &b.keys();
  backends.lookups = app->lookups_.get();
  backends.clock = clock;
  backends.applied = &b.applied();
  backends.metrics = app->metrics_.get();
  backends.http_probe = app->http_probe_.get();
  // A replica runs no operations: it asks the worker's through the operation board.
  if (replica) {
    app->remote_operations_ = std::make_unique<http::RemoteOperations>(
        &b.operation_board(), static_cast<int>(c.stream.partitions));
    backends.operations = app->remote_operations_.get();
  } else {
    backends.operations = &app->operations_;
  }
  backends.views = &app->views_;
  backends.scheduler = app->scheduler_.get();
  backends.dead_letters = &b.dead_letters();
  backends.catalog = &b.catalog();
  backends.stream_status = [self] {
    self->stores_->progress().Refresh();
    core::ChangeToken applied = self->stores_->applied().Get();
    core::ChangeToken newest = self->stores_->progress().committed().Get();
    double lag_seconds = self->LagSeconds();
    return nlohmann::json{
        {"token", std::to_string(applied)},
        {"sourceToken", std::to_string(newest)},
        {"lagEvents", self->stores_->progress().ChangesAfter(applied).value_or(0)},
        {"lagSeconds", lag_seconds},
        {"streamRunning", self->worker_ ? self->worker_->healthy() : false},
        {"role", self->config_.serve.role}};
  };
  backends.lag_seconds = [self] { return self->LagSeconds(); };
  backends.readiness = [self] {
    self->stores_->progress().Refresh();
    http::Readiness r;
    // A replica runs no stream: it is ready once it reads the views.
    r.stream_connected = self->worker_ ? self->worker_->healthy() : true;
    r.lag_events =
        self->stores_->progress().ChangesAfter(self->stores_->applied().Get()).value_or(0);
    for (const auto& op : self->operations_.List()) {
      if (op.kind == worker::OperationKind::kBackfill && !op.finished()) {
        r.building_percent = op.percent();
      }
    }
    return r;
  };
  http::ApiOptions api_options;
  api_options.min_token_timeout = Millis(c.http.min_token_timeout_ms);
  api_options.ready_max_lag_events = c.http.ready_max_lag_events;
  api_options.blocking_threads = static_cast<size_t>(c.http.blocking_threads);
  api_options.realtime.heartbeat = Millis(c.http.stream_heartbeat_ms);
  api_options.realtime.max_subscribers = static_cast<size_t>(c.http.max_streams);
  app->api_ = std::make_unique<http::ApiService>(backends, api_options);
  net::ServerOptions server_options;
  server_options.io_threads = c.http.threads > 0
                                  ? static_cast<size_t>(c.http.threads)
                                  : std::max<size_t>(1, std::thread::hardware_concurrency());
  server_options.max_connections = static_cast<size_t>(c.http.max_connections);
  server_options.max_header_bytes = static_cast<size_t>(c.http.max_header_bytes);
  server_options.max_body_bytes = c.http.max_body_bytes;
  server_options.header_timeout = Millis(c.http.header_timeout_ms);
  server_options.body_timeout = Millis(c.http.body_timeout_ms);
  server_options.idle_timeout = Millis(c.http.idle_timeout_ms);
  server_options.write_timeout = Millis(c.http.write_timeout_ms);
  server_options.drain_timeout = Millis(c.http.drain_timeout_ms);
  server_options.gzip_min_bytes = static_cast<size_t>(c.http.gzip_min_bytes);
  app->server_ = std::make_unique<net::HttpServer>(app->api_.get(), server_options);
  return app;
}

Status Application::StartWorkerParts() {
  core::ProjectionOptions projection;
  projection.sla.at_risk_window = std::chrono::minutes(config_.sla.at_risk_window_minutes);
  MV_ASSIGN_OR_RETURN(projection.codes, CodeMappingOf(config_.tracking));
  worker::WorkerOptions wo;
  wo.batch_max_events = static_cast<size_t>(config_.stream.batch_max_events);
  wo.batch_max_wait = Millis(config_.stream.batch_max_wait_ms);
  wo.idle_wait = Millis(config_.stream.idle_wait_ms);
  wo.sla_tick_interval = Millis(config_.sla.tick_interval_ms);
  worker_ = std::make_unique<worker::StreamWorker>(&backend_->changes(), &backend_->snapshots(),
                                                   &backend_->view_store(), &views_, projection,
                                                   clock_, stream_probe_.get(), wo);
  worker::OperationRunnerOptions operation_options;
  operation_options.auto_switch = config_.views.auto_switch;
  worker_->SetOperations(&operations_, operation_options);
  MV_RETURN_IF_ERROR(AddJobs());

  FreshnessProbe* freshness = freshness_probe_.get();
  worker_->OnOrgsApplied(
      [freshness](const std::vector<std::string>& orgs) { freshness->OrgsSeen(orgs); });
  cache::LookupCache* lookups = lookups_.get();
  worker_->OnLookupChange(
      [lookups](core::Collection collection, const std::string& org, const std::string& id) {
        if (collection == core::Collection::kCustomers) lookups->InvalidateCustomer(org, id);
        if (collection == core::Collection::kCarriers) lookups->InvalidateCarrier(org, id);
      });

  return Status::Ok();
}

std::map<std::string, double> Application::StalenessByOrg() {
  std::map<std::string, double> staleness;
  core::ChangeToken applied = stores_->applied().Get();
  if (stores_->progress().committed().Get() <= applied) return staleness;
  auto oldest = stores_->progress().OldestChangeByOrgAfter(applied);
  if (!oldest.ok()) return staleness;
  Timestamp now = clock_->Now();
  for (const auto& [org, t] : *oldest) {
    staleness[org] = std::max(0.0, std::chrono::duration<double>(now - t).count());
  }
  return staleness;
}

double Application::LagSeconds() { return LagSeconds(StalenessByOrg()); }

double Application::LagSeconds(const std::map<std::string, double>& staleness_by_org) {
  core::ChangeToken applied = stores_->applied().Get();
  double lag = stores_->progress().SecondsBehind(applied).value_or(0);
  for (const auto& [org, seconds] : staleness_by_org) lag = std::max(lag, seconds);
  return lag;
}

void Application::RefreshStreamGauges() {
  stores_->progress().Refresh();  // writes through other processes count too
  FreshnessProbe::Reading r;
  r.applied = stores_->applied().Get();
  r.caught_up = stores_->progress().committed().Get() <= r.applied;
  r.lag_events = stores_->progress().ChangesAfter(r.applied);
  r.staleness_by_org = StalenessByOrg();  // one read of the source serves both
  r.lag_seconds = LagSeconds(r.staleness_by_org);
  if (auto count = stores_->dead_letters().Count(); count.ok()) r.dead_letters = *count;
  freshness_probe_->Update(r, std::chrono::steady_clock::now());
  if (stream_probe_) {
    api::WriterLease* lease = backend_->lease();
    stream_probe_->SetWorkerUp(worker_ && worker_->healthy() &&
                               (lease == nullptr || lease->held()));
  }
}

Status Application::AddJobs() {
  scheduler_ = std::make_unique<worker::Scheduler>(clock_, &operations_, job_probe_.get());
  // LoadConfig checked every schedule.
  auto schedule = [](std::string_view key, const std::string& text) -> Result<Schedule> {
    auto parsed = Schedule::Parse(text);
    if (!parsed.ok()) {
      return Status::InvalidArgument(fmt::format("jobs.{}: {}", key, parsed.status().message()));
    }
    return parsed;
  };
  const Config::Jobs& jobs = config_.jobs;
  MV_ASSIGN_OR_RETURN(auto reconcile, schedule("reconcile", jobs.reconcile));
  scheduler_->Add("reconcile", reconcile, [this](Timestamp now) -> Result<worker::JobRun> {
    MV_ASSIGN_OR_RETURN(std::string id,
                        operations_.Submit(worker::OperationKind::kReconcile, core::ViewScope{},
                                           config_.reconcile.auto_repair, "scheduler", now));
    return worker::JobRun{"", id};
  });
  MV_ASSIGN_OR_RETURN(auto refresh, schedule("daily_metrics_refresh", jobs.daily_metrics_refresh));
  scheduler_->Add(
      "daily_metrics_refresh", refresh, [this](Timestamp now) -> Result<worker::JobRun> {
        core::ViewScope scope{{std::string(core::ViewSet::kDailyMetrics)}, std::nullopt};
        MV_ASSIGN_OR_RETURN(std::string id, operations_.Submit(worker::OperationKind::kRefresh,
                                                               scope, true, "scheduler", now));
        return worker::JobRun{"", id};
      });
  MV_ASSIGN_OR_RETURN(auto prune, schedule("oplog_prune", jobs.oplog_prune));
  MV_ASSIGN_OR_RETURN(auto orphans, schedule("orphan_tracking", jobs.orphan_tracking));
  if (api::SourceMaintenance* source = backend_->maintenance()) {
    scheduler_->Add("oplog_prune", prune, [this, source](Timestamp) -> Result<worker::JobRun> {
      MV_ASSIGN_OR_RETURN(std::int64_t removed, source->PruneOplog());
      if (removed > 0) {
        spdlog::info("oplog: pruned {} entries older than {} h", removed,
                     config_.oplog.retention_hours);
      }
      return worker::JobRun{fmt::format("pruned {} oplog entries", removed), std::nullopt};
    });
    scheduler_->Add(
        "orphan_tracking", orphans, [this, source](Timestamp now) -> Result<worker::JobRun> {
          // A rebuild's shadow would bring the summaries back: wait for it to finish.
          for (const auto& op : operations_.List()) {
            if (!op.finished()) {
              return Status::Conflict(fmt::format("operation {} is running", op.id));
            }
          }
          constexpr size_t kPerTransaction = 10000;
          Timestamp cutoff = now - std::chrono::days(config_.tracking.orphan_retention_days);
          size_t dropped = 0;
          for (;;) {
            MV_ASSIGN_OR_RETURN(auto keys, source->PurgeOrphanTracking(cutoff, kPerTransaction));
            if (keys.empty()) break;
            dropped += keys.size();
            core::ViewBatch batch;
            batch.tracking_deletes = std::move(keys);
            MV_RETURN_IF_ERROR(backend_->view_store().Apply(batch));
            if (batch.tracking_deletes.size() < kPerTransaction) break;
          }
          return worker::JobRun{
              fmt::format("dropped the tracking events of {} shipments that never arrived "
                          "(newest event before {})",
                          dropped, FormatRfc3339(cutoff)),
              std::nullopt};
        });
  }
  MV_ASSIGN_OR_RETURN(auto retired, schedule("retired_views", jobs.retired_views));
  scheduler_->Add("retired_views", retired, [this](Timestamp now) -> Result<worker::JobRun> {
    Timestamp cutoff = now - std::chrono::hours(config_.views.retired_keep_hours);
    MV_ASSIGN_OR_RETURN(int dropped, backend_->view_store().DropRetired(std::nullopt, cutoff));
    return worker::JobRun{
        fmt::format("dropped {} versions retired before {}", dropped, FormatRfc3339(cutoff)),
        std::nullopt};
  });
  worker_->SetScheduler(scheduler_.get());
  return Status::Ok();
}

Status Application::Start() {
  std::string host;
  int port = 0;
  MV_RETURN_IF_ERROR(SplitHostPort(config_.http.listen, &host, &port));
  MV_RETURN_IF_ERROR(server_->Start(host, port));
  if (worker_ && backend_->lease() != nullptr) {
    lease_keeper_ = std::make_unique<LeaseKeeper>(backend_->lease(), [this](const Status& lost) {
      worker_->Stop();
      {
        std::lock_guard lock(fatal_mu_);
        fatal_ = lost;
      }
      if (on_fatal_) on_fatal_(lost);
    });
  }
  if (bridge_) bridge_->Start(Millis(100));
  if (worker_) {
    worker_thread_ = std::thread([this] {
      // Views shared across machines: the worker writes once it holds its partition's lease.
      if (lease_keeper_ && !lease_keeper_->Acquire(stopping_).ok()) return;
      Status s = worker_->Run();
      if (!s.ok()) spdlog::critical("stream worker stopped: {}", s.ToString());
    });
  }
  started_ = true;
  spdlog::info("viya-mv serving on http://{}:{} (data: {}, views at token {})", host,
               server_->port(), config_.data_dir, stores_->applied().Get());
  return Status::Ok();
}

Status Application::fatal() const {
  std::lock_guard lock(fatal_mu_);
  return fatal_;
}

void Application::Stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  server_->Drain();
  if (worker_) worker_->Stop();
  if (worker_thread_.joinable()) worker_thread_.join();
  if (bridge_) bridge_->Stop();
  if (lease_keeper_) lease_keeper_->Stop();
  spdlog::info("viya-mv stopped; views at token {}", stores_->applied().Get());
}

}  // namespace mv::app
