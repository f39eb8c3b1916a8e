#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mv::app {

// Every knob of viya-mv, with its default. Sources, later ones winning: the defaults
// below, a TOML file (--config), then environment variables VIYA_MV_<SECTION>_<KEY>
// (upper case, e.g. VIYA_MV_HTTP_LISTEN, VIYA_MV_STREAM_BATCH_MAX_EVENTS).
struct Config {
  std::string data_dir = "./data";  // top-level data_dir / VIYA_MV_DATA_DIR
  // What `serve` runs (`--role`): "all" (the stream worker, SLA ticker, operations, jobs
  // and the API), "worker" (the same: the one process that maintains the views), or "api"
  // (reads, and the embedded source's writes, from a data folder a worker maintains; any
  // number of them beside it).
  struct Serve {
    std::string role = "all";
  } serve;

  struct Http {
    std::string listen = "127.0.0.1:8080";
    int threads = 0;                        // I/O threads (reads run on them); 0: one per CPU core
    int blocking_threads = 16;              // threads for writes and reads that waited for minToken
    std::int64_t max_connections = 16384;   // more get 503
    std::int64_t max_body_bytes = 8 << 20;  // larger request bodies get 413
    std::int64_t max_header_bytes = 16 << 10;   // larger request heads get 413
    std::int64_t header_timeout_ms = 10000;     // the whole request head must arrive in this
    std::int64_t body_timeout_ms = 30000;       // the whole body, after the head
    std::int64_t idle_timeout_ms = 60000;       // idle keep-alive connections are closed
    std::int64_t write_timeout_ms = 30000;      // an answer not read in this is dropped
    std::int64_t drain_timeout_ms = 10000;      // SIGTERM: how long requests in flight may finish
    std::int64_t gzip_min_bytes = 1024;         // smaller answers are never compressed
    std::int64_t min_token_timeout_ms = 2000;   // bounded wait of ?minToken=, then 504
    std::int64_t ready_max_lag_events = 10000;  // /readyz fails above this lag
    // GET /v1/ops/realtime/stream: a heartbeat event after this long without an event,
    // and at most this many streams open at once.
    std::int64_t stream_heartbeat_ms = 15000;
    std::int64_t max_streams = 1000;
  } http;

  // Where the source of truth is (DESIGN.md section 2): "embedded" (source.db in data_dir,
  // written through viya-mv's own API) or "mongodb" (the platform's replica set or sharded
  // cluster, followed through one database change stream; viya-mv takes no writes).
  struct Source {
    std::string backend = "embedded";
    // mongodb: the connection string (may carry a password: prefer VIYA_MV_SOURCE_URI;
    // it is never logged, and `viya-mv config` prints it redacted).
    std::string uri;
    std::string database = "viya";
    std::string shipments = "shipments";  // the four collections' names
    std::string tracking_events = "tracking_events";
    std::string customers = "customers";
    std::string carriers = "carriers";
    std::string org_field = "organizationId";  // the documents' org field
    std::string id_field = "_id";              // shipments', customers' and carriers' id
    // File only ([source.fields.<collection>] canonical = "platformName"): the platform's
    // name of a canonical field where it is not the API's, per collection ("shipments",
    // "tracking_events", "customers", "carriers").
    std::map<std::string, std::map<std::string, std::string>> fields;
  } source;
  struct Stream {
    std::int64_t batch_max_events = 5000;
    std::int64_t batch_max_wait_ms = 2;
    std::int64_t idle_wait_ms = 100;
    // MongoDB views: the stream's orgs split over `partitions` workers by a hash of the
    // org; this worker takes partition `partition` (0-based), with a checkpoint and a lease
    // of its own. The lease lasts lease_seconds unless renewed (a third of it apart).
    std::int64_t partitions = 1;
    std::int64_t partition = 0;
    std::int64_t lease_seconds = 15;
  } stream;

  struct Oplog {
    std::int64_t retention_hours = 24;  // pruned by jobs.oplog_prune
    // A MongoDB source's oplog should hold at least this much: `viya-mv check` and `serve`
    // warn under it (an outage longer than the window loses the stream's history).
    std::int64_t min_window_hours = 24;
  } oplog;

  struct Storage {
    // views.db page cache of the worker, MiB: most of the process's memory. At 1M and 10M
    // shipments 64 to 512 made no difference to events/s (docs/benchmarks.md).
    std::int64_t views_cache_mb = 64;
  } storage;

  struct Sla {
    std::int64_t at_risk_window_minutes = 240;
    std::int64_t tick_interval_ms = 1000;
  } sla;

  struct Lookup {
    std::int64_t cache_ttl_seconds = 900;     // customer / carrier names
    std::int64_t cache_max_entries = 100000;  // per collection
  } lookup;

  // Carrier codes -> canonical statuses, over the built-in defaults (core::CodeMapping):
  // TOML [tracking.codes] CODE = "status" applies to every carrier,
  // [tracking.carriers.<carrierId>] CODE = "status" to one; "none" maps a code to no
  // milestone. Keys are (carrierId or "", CODE upper-cased).
  struct Tracking {
    std::map<std::pair<std::string, std::string>, std::string> codes;
    // Events of a shipment that never arrived are dropped this long after the newest one
    // occurred (by jobs.orphan_tracking).
    std::int64_t orphan_retention_days = 30;
  } tracking;

  // Scheduled jobs (on the injected clock): "off", "every N<s|m|h|d>" or "daily HH:MM" UTC.
  struct Jobs {
    std::string reconcile = "daily 02:00";              // every view and org, repair: below
    std::string daily_metrics_refresh = "daily 03:00";  // full refresh of mv_daily_metrics
    std::string oplog_prune = "every 1m";               // oplog.retention_hours
    std::string orphan_tracking = "daily 04:00";        // tracking.orphan_retention_days
    std::string retired_views = "every 1h";             // views.retired_keep_hours
  } jobs;

  // Blue/green versions: a view whose newer definition this build carries is built beside
  // the live one and validated; then switched at once, or on POST /admin/views/{mv}/switch.
  struct Views {
    // "sqlite" (views.db in data_dir) or "mongodb" (collections of a MongoDB database that
    // the platform's handlers read, and any number of `api` replicas serve).
    std::string backend = "sqlite";
    // mongodb: the deployment (empty: source.uri's; may carry a password, prefer
    // VIYA_MV_VIEWS_URI) and the database of the views.
    std::string uri;
    std::string database = "viya_mv";
    bool auto_switch = true;
    std::int64_t retired_keep_hours = 72;  // retired versions are kept for a rollback this long
  } views;

  struct Reconcile {
    bool auto_repair = true;  // the scheduled reconciliation repairs what drifted
  } reconcile;

  struct Metrics {
    // viya_mv_staleness_target_seconds: MvStalenessHigh fires at twice this.
    std::int64_t staleness_target_ms = 1000;
    // Orgs with their own `org` label (comma-separated); empty: the first max_org_labels
    // orgs seen. Every other org is shown as org="other".
    std::string org_labels;
    std::int64_t max_org_labels = 100;
  } metrics;

  struct Log {
    std::string level = "info";   // trace, debug, info, warn, error
    std::string format = "text";  // text, or json: one JSON object per line
  } log;
};

// The orgs of metrics.org_labels ("acme,globex" -> {"acme", "globex"}; "" -> {}).
std::vector<std::string> OrgLabelList(const std::string& org_labels);

// Reads `path` (TOML; empty path: defaults only), then applies `env` overrides.
// InvalidArgument naming the key for an unknown key, a wrong type or a bad value.
Result<Config> LoadConfig(const std::string& path, const std::map<std::string, std::string>& env);
// LoadConfig from the TOML document `toml` instead of a file; error messages name it
// "config" where LoadConfig names the file ("config:3:1: unknown key 'x'").
Result<Config> LoadConfigText(std::string_view toml, const std::map<std::string, std::string>& env);
// The process environment's VIYA_MV_* variables.
std::map<std::string, std::string> ViyaEnvironment();
// The effective configuration as a TOML document that LoadConfig reads back unchanged
// (but for a password in source.uri, shown as "***").
std::string ConfigToToml(const Config& config);

}  // namespace mv::app
