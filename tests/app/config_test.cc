#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"

namespace mv::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Codes = decltype(Config::Tracking::codes);
using Env = std::map<std::string, std::string>;

// Every member of Config as tuples. The structured bindings stop compiling when a member is
// added, so this comparison cannot silently skip a new knob.
auto Fields(const Config& c) {
  const auto& [data_dir, serve, http, source, stream, oplog, storage, sla, lookup, tracking, jobs,
               views, reconcile, metrics, log] = c;
  const auto& [backend, uri, database, shipments, tracking_events, customers, carriers, org_field,
               id_field, fields] = source;
  const auto& [listen, threads, blocking, max_conns, max_body, max_header, header_timeout,
               body_timeout, idle_timeout, write_timeout, drain_timeout, gzip_min, min_token,
               ready_lag, stream_heartbeat, max_streams] = http;
  const auto& [batch_events, batch_wait, idle_wait, partitions, partition, lease] = stream;
  const auto& [retention, min_window] = oplog;
  const auto& [views_cache] = storage;
  const auto& [at_risk, tick] = sla;
  const auto& [ttl, max_entries] = lookup;
  const auto& [codes, orphan_days] = tracking;
  const auto& [reconcile_at, refresh_at, prune_at, orphans_at, retired_at] = jobs;
  const auto& [views_backend, views_uri, views_database, auto_switch, retired_keep] = views;
  const auto& [auto_repair] = reconcile;
  const auto& [staleness_target, org_labels, max_org_labels] = metrics;
  const auto& [level, log_format] = log;
  return std::make_tuple(
      std::tie(data_dir, listen, level, log_format, serve.role, org_labels),
      std::tie(threads, blocking, max_conns, max_body, max_header, header_timeout, body_timeout,
               idle_timeout, write_timeout, drain_timeout, gzip_min, min_token, ready_lag,
               stream_heartbeat, max_streams),
      std::tie(batch_events, batch_wait, idle_wait, partitions, partition, lease, retention,
               min_window, views_cache, orphan_days, auto_repair, reconcile_at, refresh_at,
               prune_at, orphans_at, retired_at, auto_switch, retired_keep, staleness_target,
               max_org_labels),
      std::tie(at_risk, tick, ttl, max_entries), std::tie(codes, fields),
      std::tie(backend, uri, database, shipments, tracking_events, customers, carriers, org_field,
               id_field, views_backend, views_uri, views_database));
}

void ExpectSameConfig(const Config& actual, const Config& expected) {
  EXPECT_EQ(std::get<0>(Fields(actual)), std::get<0>(Fields(expected)));
  EXPECT_EQ(std::get<1>(Fields(actual)), std::get<1>(Fields(expected)));
  EXPECT_EQ(std::get<2>(Fields(actual)), std::get<2>(Fields(expected)));
  EXPECT_EQ(std::get<3>(Fields(actual)), std::get<3>(Fields(expected)));
  EXPECT_EQ(std::get<4>(Fields(actual)), std::get<4>(Fields(expected)));
  EXPECT_EQ(std::get<5>(Fields(actual)), std::get<5>(Fields(expected)));
}

// A Config in which every member differs from its default, and the strings need escaping.
Config NonDefaultConfig() {
  Config c;
  c.data_dir = "/var/lib/viya \"mv\"\\d\u00e9j\u00e0\t\n\x01\x7f#x = 1";
  c.serve.role = "api";
  c.http.listen = "[::1]:0";
  c.http.threads = 3;
  c.http.blocking_threads = 256;
  c.http.max_connections = 1'000'000;
  c.http.max_body_bytes = 1 << 30;
  c.http.max_header_bytes = 1024;
  c.http.header_timeout_ms = 1;
  c.http.body_timeout_ms = 2;
  c.http.idle_timeout_ms = 3;
  c.http.write_timeout_ms = 4;
  c.http.drain_timeout_ms = 0;
  c.http.gzip_min_bytes = 5;
  c.http.min_token_timeout_ms = 60000;
  c.http.ready_max_lag_events = 9'000'000'000;
  c.source.backend = "mongodb";
  c.source.uri = "mongodb+srv://viya@cluster0.example.net/?retryWrites=true&w=majority";
  c.source.database = "platform";
  c.source.shipments = "Shipments";
  c.source.tracking_events = "TrackingEvents";
  c.source.customers = "Customers";
  c.source.carriers = "Carriers";
  c.source.org_field = "tenantId";
  c.source.id_field = "shipmentNo";
  c.source.fields = {{"shipments", {{"createdAt", "created"}, {"weightKg", "weight_kg"}}},
                     {"tracking_events", {{"occurredAt", "scan time \"utc\""}}}};
  c.views.backend = "mongodb";
  c.views.uri = "mongodb://views.example.net:27017/?replicaSet=rs1";
  c.views.database = "mv_views";
  c.stream.batch_max_events = 100000;
  c.stream.partitions = 1024;
  c.stream.partition = 1023;
  c.stream.lease_seconds = 3600;
  c.stream.batch_max_wait_ms = 0;
  c.stream.idle_wait_ms = 7;
  c.oplog.retention_hours = 1;
  c.oplog.min_window_hours = 72;
  c.storage.views_cache_mb = 1 << 20;
  c.sla.at_risk_window_minutes = 30;
  c.sla.tick_interval_ms = 250;
  c.lookup.cache_ttl_seconds = 315'360'000;
  c.lookup.cache_max_entries = 1;
  // Codes and carrier ids that TOML only accepts quoted.
  c.tracking.codes = {{{"", "PU"}, "picked_up"},
                      {{"", "SCAN"}, "none"},
                      {{"", "A.B \"Q\" #=\\ \u00c9\t"}, "delivered"},
                      {{"", "OK-DEL_2"}, "delivered"},
                      {{"a:b", "X"}, "exception"},
                      {{"dhl.express", "OK-DEL"}, "delivered"},
                      {{"dhl.express", "RT"}, "returned"},
                      {{"ups", "DL"}, "out_for_delivery"},
                      {{"x@y_z-1", "CX"}, "cancelled"}};
  c.tracking.orphan_retention_days = 3650;
  c.jobs.reconcile = "every 15m";
  c.jobs.daily_metrics_refresh = "off";
  c.jobs.oplog_prune = "every 9999d";
  c.jobs.orphan_tracking = "daily 23:59";
  c.reconcile.auto_repair = false;
  c.jobs.retired_views = "every 6h";
  c.views.auto_switch = false;
  c.views.retired_keep_hours = 12;
  c.log.level = "trace";
  return c;
}

class ConfigTest : public ::testing::Test {
 protected:
  // Writes `text` to a file in the test's temporary directory and returns its path.
  std::string WriteFile(const std::string& text, const std::string& name = "viya-mv.toml") {
    std::string path = dir_.File(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // The message of LoadConfig's error; fails the test when it succeeds or the error is
  // not InvalidArgument.
  std::string LoadError(const std::string& path, const Env& env = {}) {
    Result<Config> r = LoadConfig(path, env);
    EXPECT_FALSE(r.ok()) << "LoadConfig unexpectedly succeeded";
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    return r.status().message();
  }

  std::string FileError(const std::string& text, const Env& env = {}) {
    return LoadError(WriteFile(text), env);
  }

  std::string EnvError(const Env& env) { return LoadError("", env); }

  mv::testing::TempDir dir_;
};

TEST_F(ConfigTest, DefaultsWithoutFileOrEnv) {
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig("", {}));
  ExpectSameConfig(c, Config{});
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.stream.batch_max_events, 5000);
  EXPECT_EQ(c.lookup.cache_ttl_seconds, 900);
  EXPECT_EQ(c.lookup.cache_max_entries, 100000);
  EXPECT_TRUE(c.tracking.codes.empty());
  EXPECT_EQ(c.log.level, "info");
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(WriteFile("# nothing\n"), {}));
  ExpectSameConfig(c, Config{});
}

TEST_F(ConfigTest, FileOverridesDefaults) {
  const std::string path = WriteFile(R"(
data_dir = "/srv/mv"
[http]
listen = "0.0.0.0:9000"
threads = 4
[stream]
batch_max_events = 500
batch_max_wait_ms = 0
[oplog]
retention_hours = 48
[sla]
tick_interval_ms = 200
[log]
level = "debug"
)");
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(path, {}));
  EXPECT_EQ(c.data_dir, "/srv/mv");
  EXPECT_EQ(c.http.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.http.threads, 4);
  EXPECT_EQ(c.stream.batch_max_events, 500);
  EXPECT_EQ(c.stream.batch_max_wait_ms, 0);
  EXPECT_EQ(c.oplog.retention_hours, 48);
  EXPECT_EQ(c.sla.tick_interval_ms, 200);
  EXPECT_EQ(c.log.level, "debug");
  // Keys the file leaves out keep their defaults.
  EXPECT_EQ(c.http.max_body_bytes, Config{}.http.max_body_bytes);
  EXPECT_EQ(c.stream.idle_wait_ms, Config{}.stream.idle_wait_ms);
}

TEST_F(ConfigTest, DottedKeysAreTheSameAsTables) {
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(WriteFile("stream.idle_wait_ms = 42\n"), {}));
  EXPECT_EQ(c.stream.idle_wait_ms, 42);
}

TEST_F(ConfigTest, EnvOverridesFile) {
  const std::string path = WriteFile(R"(
data_dir = "/from/file"
[http]
listen = "127.0.0.1:1"
threads = 4
[stream]
batch_max_events = 500
[log]
level = "debug"
)");
  const Env env = {{"VIYA_MV_DATA_DIR", "/from/env"},
                   {"VIYA_MV_HTTP_LISTEN", "localhost:2"},
                   {"VIYA_MV_STREAM_BATCH_MAX_EVENTS", "777"},
                   {"VIYA_MV_JOBS_OPLOG_PRUNE", "every 9s"},
                   {"VIYA_MV_RECONCILE_AUTO_REPAIR", "false"},
                   {"VIYA_MV_TRACKING_ORPHAN_RETENTION_DAYS", "7"},
                   {"VIYA_MV_LOG_LEVEL", "error"},
                   {"PATH", "/usr/bin"}};
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(path, env));
  EXPECT_EQ(c.data_dir, "/from/env");
  EXPECT_EQ(c.http.listen, "localhost:2");
  EXPECT_EQ(c.http.threads, 4);  // from the file, no variable
  EXPECT_EQ(c.stream.batch_max_events, 777);
  EXPECT_EQ(c.jobs.oplog_prune, "every 9s");
  EXPECT_FALSE(c.reconcile.auto_repair);
  EXPECT_EQ(c.tracking.orphan_retention_days, 7);
  EXPECT_EQ(c.log.level, "error");
}

TEST_F(ConfigTest, EnvCanRepairAnOutOfRangeFileValue) {
  // Validation happens after merging: only the effective value must be allowed.
  const std::string path = WriteFile("[http]\nthreads = -1\n");
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(path, {{"VIYA_MV_HTTP_THREADS", "2"}}));
  EXPECT_EQ(c.http.threads, 2);
}

TEST_F(ConfigTest, ForeignViyaVariablesAreIgnored) {
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig("", {{"VIYA_MV_MONGODB_URI", "mongodb://x"},
                                                    {"VIYA_MV_CONFIG", "/etc/viya-mv.toml"},
                                                    {"VIYA_MV_ADMIN_KEY", "vmv_x"},
                                                    {"VIYA_MV_TEST_NEXT_VERSION", "mv_x"}}));
  ExpectSameConfig(c, Config{});
}

TEST_F(ConfigTest, UnknownKeyInSectionIsNamed) {
  const std::string error = FileError("[stream]\nbatch_max_events = 5\nbatch_size = 10\n");
  EXPECT_THAT(error, HasSubstr("unknown key 'stream.batch_size'"));
  EXPECT_THAT(error, HasSubstr("viya-mv.toml:3:1"));
}

TEST_F(ConfigTest, OrgLabelsAreOrgIdsSeparatedByCommas) {
  EXPECT_EQ(OrgLabelList(""), std::vector<std::string>{});
  EXPECT_EQ(OrgLabelList("acme,globex"), (std::vector<std::string>{"acme", "globex"}));
  MV_ASSERT_OK_AND_ASSIGN(Config c,
                          LoadConfigText("[metrics]\norg_labels = \"acme,globex\"\n", {}));
  EXPECT_EQ(c.metrics.org_labels, "acme,globex");
  for (const char* bad : {"acme,,globex", "acme, globex", "acme,"}) {
    EXPECT_THAT(FileError(std::string("[metrics]\norg_labels = \"") + bad + "\"\n"),
                HasSubstr("org ids separated by commas"))
        << bad;
  }
}

TEST_F(ConfigTest, UnknownTopLevelKeyAndTableAreNamed) {
  EXPECT_THAT(FileError("datadir = \"x\"\n"), HasSubstr("unknown key 'datadir'"));
  EXPECT_THAT(FileError("[tracing]\nport = 1\n"), HasSubstr("unknown table 'tracing'"));
  EXPECT_THAT(FileError("[http.tls]\ncert = \"x\"\n"), HasSubstr("unknown key 'http.tls'"));
}

TEST_F(ConfigTest, WrongTypeNamesKeyAndExpectedType) {
  const std::string error = FileError("[http]\nthreads = \"8\"\n");
  EXPECT_THAT(error, HasSubstr("http.threads"));
  EXPECT_THAT(error, HasSubstr("expected an integer, got a string"));
  EXPECT_THAT(FileError("[stream]\nbatch_max_wait_ms = 2.5\n"),
              HasSubstr("stream.batch_max_wait_ms: expected an integer, got a float"));
  EXPECT_THAT(FileError("[log]\nlevel = 3\n"),
              HasSubstr("log.level: expected a string, got an integer"));
  EXPECT_THAT(FileError("data_dir = [\"a\"]\n"),
              HasSubstr("data_dir: expected a string, got an array"));
  EXPECT_THAT(FileError("http = 1\n"), HasSubstr("http: expected a table, got an integer"));
}

TEST_F(ConfigTest, BooleansAndSchedulesAndTrackingRetention) {
  MV_ASSERT_OK_AND_ASSIGN(
      Config c, LoadConfig(WriteFile("[reconcile]\nauto_repair = false\n[jobs]\nreconcile = "
                                     "\"every 6h\"\n[tracking]\norphan_retention_days = 9\n"
                                     "[tracking.codes]\nPU = \"picked_up\"\n"),
                           {}));
  EXPECT_FALSE(c.reconcile.auto_repair);
  EXPECT_EQ(c.jobs.reconcile, "every 6h");
  EXPECT_EQ(c.tracking.orphan_retention_days, 9);
  EXPECT_EQ(c.tracking.codes.size(), 1u);
  EXPECT_THAT(FileError("[reconcile]\nauto_repair = \"yes\"\n"),
              HasSubstr("reconcile.auto_repair: expected a boolean, got a string"));
  EXPECT_THAT(FileError("[jobs]\nreconcile = true\n"),
              HasSubstr("jobs.reconcile: expected a string, got a boolean"));
  EXPECT_THAT(FileError("[tracking]\nretention = 3\n"),
              HasSubstr("unknown key 'tracking.retention'"));
}

TEST_F(ConfigTest, SyntaxErrorHasFileLineAndColumn) {
  const std::string path = WriteFile("[http]\nthreads = = 3\n");
  const std::string error = LoadError(path);
  EXPECT_THAT(error, HasSubstr(path + ":2:"));
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  const std::string path = dir_.File("does-not-exist.toml");
  const std::string error = LoadError(path);
  EXPECT_THAT(error, HasSubstr(path));
  EXPECT_THAT(error, HasSubstr("cannot be read"));
}

TEST_F(ConfigTest, DirectoryIsNotAConfigFile) {
  EXPECT_THAT(LoadError(dir_.path()), HasSubstr("cannot be read"));
}

TEST_F(ConfigTest, BadIntegerEnvVariableIsNamed) {
  for (const std::string bad :
       {"12abc", "", " 12", "12 ", "+12", "1.5", "0x10", "99999999999999999999"}) {
    const std::string error = EnvError({{"VIYA_MV_STREAM_BATCH_MAX_EVENTS", bad}});
    EXPECT_THAT(error, HasSubstr("VIYA_MV_STREAM_BATCH_MAX_EVENTS")) << "value '" << bad << "'";
    EXPECT_THAT(error, HasSubstr("not an integer")) << "value '" << bad << "'";
  }
}

TEST_F(ConfigTest, UnknownViyaEnvVariableIsNamed) {
  EXPECT_THAT(EnvError({{"VIYA_MV_STREAM_BATCH_SIZE", "10"}}),
              HasSubstr("VIYA_MV_STREAM_BATCH_SIZE"));
  EXPECT_THAT(EnvError({{"VIYA_MV_", "x"}}), HasSubstr("unknown environment variable"));
}

TEST_F(ConfigTest, EnvStringMustBeUtf8) {
  EXPECT_THAT(EnvError({{"VIYA_MV_DATA_DIR", "/data/\xff"}}), HasSubstr("VIYA_MV_DATA_DIR"));
  EXPECT_THAT(EnvError({{"VIYA_MV_DATA_DIR", "/data/\xc3"}}), HasSubstr("UTF-8"));
  EXPECT_THAT(EnvError({{"VIYA_MV_DATA_DIR", "/data/\xed\xa0\x80"}}), HasSubstr("UTF-8"));
  EXPECT_THAT(EnvError({{"VIYA_MV_DATA_DIR", "/data/\xc3("}}), HasSubstr("UTF-8"));
  EXPECT_THAT(EnvError({{"VIYA_MV_DATA_DIR", "/data/\xc0\xaf"}}), HasSubstr("UTF-8"));
  MV_ASSERT_OK_AND_ASSIGN(Config c,
                          LoadConfig("", {{"VIYA_MV_DATA_DIR", "/d\xc3\xa9/\xf0\x9f\x93\xa6"}}));
  EXPECT_EQ(c.data_dir, "/d\u00e9/\U0001F4E6");
}

TEST_F(ConfigTest, InvalidListenIsRejected) {
  for (const std::string bad :
       {"8080", "localhost", ":8080", "localhost:", "localhost:65536", "localhost:-1",
        "localhost:http", "::1:8080", "[::1]8080", "local host:80", "localhost:+80", "[]:80"}) {
    const std::string error = EnvError({{"VIYA_MV_HTTP_LISTEN", bad}});
    EXPECT_THAT(error, HasSubstr("http.listen")) << "value '" << bad << "'";
    EXPECT_THAT(error, HasSubstr("HOST:PORT")) << "value '" << bad << "'";
  }
}

TEST_F(ConfigTest, ValidListenForms) {
  for (const std::string good : {"127.0.0.1:8080", "0.0.0.0:0", "localhost:65535", "[::1]:8080",
                                 "[::]:80", "mv.example.com:443"}) {
    MV_EXPECT_OK(LoadConfig("", {{"VIYA_MV_HTTP_LISTEN", good}}));
  }
}

TEST_F(ConfigTest, OutOfRangeValuesNameKeyAndRange) {
  struct Case {
    const char* variable;
    const char* value;
    const char* message;
  };
  for (const Case& c : {
           Case{"VIYA_MV_HTTP_THREADS", "-1",
                "http.threads (from VIYA_MV_HTTP_THREADS): -1 is out "
                "of range; allowed 0..256"},
           Case{"VIYA_MV_HTTP_THREADS", "257", "allowed 0..256"},
           Case{"VIYA_MV_HTTP_BLOCKING_THREADS", "0", "allowed 1..256"},
           Case{"VIYA_MV_HTTP_MAX_CONNECTIONS", "0", "allowed 1..1000000"},
           Case{"VIYA_MV_HTTP_MAX_HEADER_BYTES", "1023", "allowed 1024..1048576"},
           Case{"VIYA_MV_HTTP_HEADER_TIMEOUT_MS", "0", "http.header_timeout_ms"},
           Case{"VIYA_MV_HTTP_IDLE_TIMEOUT_MS", "0", "http.idle_timeout_ms"},
           Case{"VIYA_MV_HTTP_DRAIN_TIMEOUT_MS", "-1", "http.drain_timeout_ms"},
           Case{"VIYA_MV_HTTP_THREADS", "4294967297", "http.threads"},
           Case{"VIYA_MV_HTTP_MAX_BODY_BYTES", "1023", "allowed 1024..1073741824"},
           Case{"VIYA_MV_HTTP_MAX_BODY_BYTES", "1073741825", "http.max_body_bytes"},
           Case{"VIYA_MV_HTTP_MIN_TOKEN_TIMEOUT_MS", "60001", "allowed 1..60000"},
           Case{"VIYA_MV_HTTP_READY_MAX_LAG_EVENTS", "0", "must be at least 1"},
           Case{"VIYA_MV_STREAM_BATCH_MAX_EVENTS", "100001", "allowed 1..100000"},
           Case{"VIYA_MV_STREAM_BATCH_MAX_WAIT_MS", "-1", "stream.batch_max_wait_ms"},
           Case{"VIYA_MV_STREAM_IDLE_WAIT_MS", "0", "stream.idle_wait_ms"},
           Case{"VIYA_MV_OPLOG_RETENTION_HOURS", "0", "oplog.retention_hours"},
           Case{"VIYA_MV_JOBS_RECONCILE", "daily 24:00", "jobs.reconcile"},
           Case{"VIYA_MV_JOBS_RECONCILE", "at 02:00", "\"daily HH:MM\" (UTC)"},
           Case{"VIYA_MV_JOBS_OPLOG_PRUNE", "every 0s", "jobs.oplog_prune"},
           Case{"VIYA_MV_JOBS_OPLOG_PRUNE", "every 5w", "jobs.oplog_prune"},
           Case{"VIYA_MV_RECONCILE_AUTO_REPAIR", "yes", "is not a boolean"},
           Case{"VIYA_MV_TRACKING_ORPHAN_RETENTION_DAYS", "0", "tracking.orphan_retention_days"},
           Case{"VIYA_MV_SLA_AT_RISK_WINDOW_MINUTES", "0", "sla.at_risk_window_minutes"},
           Case{"VIYA_MV_SLA_TICK_INTERVAL_MS", "0", "sla.tick_interval_ms"},
           Case{"VIYA_MV_LOOKUP_CACHE_TTL_SECONDS", "0",
                "lookup.cache_ttl_seconds (from VIYA_MV_LOOKUP_CACHE_TTL_SECONDS): 0 is out of "
                "range; allowed 1..315360000"},
           Case{"VIYA_MV_LOOKUP_CACHE_TTL_SECONDS", "315360001", "lookup.cache_ttl_seconds"},
           Case{"VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES", "0",
                "lookup.cache_max_entries (from VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES): 0 is out of "
                "range; allowed 1..10000000"},
           Case{"VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES", "10000001", "allowed 1..10000000"},
           Case{"VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES", "-1", "lookup.cache_max_entries"},
           Case{"VIYA_MV_LOG_LEVEL", "verbose", "allowed trace, debug, info, warn, error"},
           Case{"VIYA_MV_LOG_LEVEL", "INFO", "log.level"},
           Case{"VIYA_MV_DATA_DIR", "", "data_dir"},
       }) {
    EXPECT_THAT(EnvError({{c.variable, c.value}}), HasSubstr(c.message))
        << c.variable << "=" << c.value;
  }
}

TEST_F(ConfigTest, OutOfRangeFileValueNamesItsPlace) {
  EXPECT_THAT(FileError("[http]\nthreads = 300\n"),
              HasSubstr("http.threads (from " + dir_.File("viya-mv.toml") + ":2:1)"));
}

TEST_F(ConfigTest, BoundaryValuesAreAllowed) {
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig("", {{"VIYA_MV_HTTP_THREADS", "256"},
                                                    {"VIYA_MV_HTTP_MAX_BODY_BYTES", "1024"},
                                                    {"VIYA_MV_STREAM_BATCH_MAX_WAIT_MS", "0"},
                                                    {"VIYA_MV_OPLOG_RETENTION_HOURS", "1"},
                                                    {"VIYA_MV_LOOKUP_CACHE_TTL_SECONDS", "1"},
                                                    {"VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES", "1"}}));
  EXPECT_EQ(c.http.threads, 256);
  EXPECT_EQ(c.http.max_body_bytes, 1024);
  EXPECT_EQ(c.stream.batch_max_wait_ms, 0);
  EXPECT_EQ(c.oplog.retention_hours, 1);
  EXPECT_EQ(c.lookup.cache_ttl_seconds, 1);
  EXPECT_EQ(c.lookup.cache_max_entries, 1);
  MV_ASSERT_OK_AND_ASSIGN(c, LoadConfig("", {{"VIYA_MV_LOOKUP_CACHE_TTL_SECONDS", "315360000"},
                                             {"VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES", "10000000"}}));
  EXPECT_EQ(c.lookup.cache_ttl_seconds, 315'360'000);  // ten years
  EXPECT_EQ(c.lookup.cache_max_entries, 10'000'000);
}

TEST_F(ConfigTest, TomlOfDefaultsHasEveryKey) {
  const std::string toml = ConfigToToml(Config{});
  for (const char* line : {"data_dir = \"./data\"\n",
                           "[http]\n",
                           "listen = \"127.0.0.1:8080\"\n",
                           "threads = 0\n",
                           "blocking_threads = 16\n",
                           "max_connections = 16384\n",
                           "max_body_bytes = 8388608\n",
                           "max_header_bytes = 16384\n",
                           "header_timeout_ms = 10000\n",
                           "body_timeout_ms = 30000\n",
                           "idle_timeout_ms = 60000\n",
                           "write_timeout_ms = 30000\n",
                           "drain_timeout_ms = 10000\n",
                           "gzip_min_bytes = 1024\n",
                           "min_token_timeout_ms = 2000\n",
                           "ready_max_lag_events = 10000\n",
                           "[stream]\n",
                           "batch_max_events = 5000\n",
                           "batch_max_wait_ms = 2\n",
                           "idle_wait_ms = 100\n",
                           "[oplog]\n",
                           "retention_hours = 24\n",
                           "[sla]\n",
                           "at_risk_window_minutes = 240\n",
                           "tick_interval_ms = 1000\n",
                           "[lookup]\n",
                           "cache_ttl_seconds = 900\n",
                           "cache_max_entries = 100000\n",
                           "[tracking]\n",
                           "orphan_retention_days = 30\n",
                           "[jobs]\n",
                           "reconcile = \"daily 02:00\"\n",
                           "daily_metrics_refresh = \"daily 03:00\"\n",
                           "oplog_prune = \"every 1m\"\n",
                           "orphan_tracking = \"daily 04:00\"\n",
                           "[reconcile]\n",
                           "auto_repair = true\n",
                           "[log]\n",
                           "level = \"info\"\n",
                           "[tracking.codes]\n"}) {
    EXPECT_THAT(toml, HasSubstr(line));
  }
  EXPECT_THAT(toml, Not(HasSubstr("[tracking.carriers")));
}

TEST_F(ConfigTest, RoundTripThroughToml) {
  const Config original = NonDefaultConfig();
  const std::string toml = ConfigToToml(original);
  const std::string path = WriteFile(toml);
  MV_ASSERT_OK_AND_ASSIGN(Config loaded, LoadConfig(path, {}));
  ExpectSameConfig(loaded, original);
  EXPECT_EQ(loaded.tracking.codes, original.tracking.codes);
  // And the document is a fixed point.
  EXPECT_EQ(ConfigToToml(loaded), ConfigToToml(original));
  // Keys are bare where TOML allows it, quoted otherwise.
  for (const char* line :
       {"[lookup]\ncache_ttl_seconds = 315360000\ncache_max_entries = 1\n",
        "[tracking.codes]\n\"A.B \\\"Q\\\" #=\\\\ \u00c9\\t\" = \"delivered\"\nOK-DEL_2 = "
        "\"delivered\"\nPU = \"picked_up\"\nSCAN = \"none\"\n",
        "[tracking.carriers.\"a:b\"]\nX = \"exception\"\n",
        "[tracking.carriers.\"dhl.express\"]\nOK-DEL = \"delivered\"\nRT = \"returned\"\n",
        "[tracking.carriers.ups]\nDL = \"out_for_delivery\"\n",
        "[tracking.carriers.\"x@y_z-1\"]\nCX = \"cancelled\"\n"}) {
    EXPECT_THAT(toml, HasSubstr(line));
  }
}

TEST_F(ConfigTest, LookupKeysFromFileAndEnv) {
  const std::string path = WriteFile("[lookup]\ncache_ttl_seconds = 60\ncache_max_entries = 500\n");
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(path, {}));
  EXPECT_EQ(c.lookup.cache_ttl_seconds, 60);
  EXPECT_EQ(c.lookup.cache_max_entries, 500);
  MV_ASSERT_OK_AND_ASSIGN(c, LoadConfig(path, {{"VIYA_MV_LOOKUP_CACHE_TTL_SECONDS", "3600"}}));
  EXPECT_EQ(c.lookup.cache_ttl_seconds, 3600);  // the variable wins
  EXPECT_EQ(c.lookup.cache_max_entries, 500);   // from the file
  MV_ASSERT_OK_AND_ASSIGN(c, LoadConfig("", {{"VIYA_MV_LOOKUP_CACHE_MAX_ENTRIES", "42"}}));
  EXPECT_EQ(c.lookup.cache_ttl_seconds, 900);
  EXPECT_EQ(c.lookup.cache_max_entries, 42);
}

TEST_F(ConfigTest, BadLookupValuesNameTheKey) {
  EXPECT_THAT(FileError("[lookup]\ncache_ttl_seconds = \"15m\"\n"),
              HasSubstr(":2:1: lookup.cache_ttl_seconds: expected an integer, got a string"));
  EXPECT_THAT(FileError("[lookup]\ncache_max_entries = 10000001\n"),
              HasSubstr("lookup.cache_max_entries (from " + dir_.File("viya-mv.toml") +
                        ":2:1): 10000001 is out of range; allowed 1..10000000"));
  EXPECT_THAT(FileError("[lookup]\ncache_size = 1\n"),
              HasSubstr("unknown key 'lookup.cache_size'"));
  EXPECT_THAT(EnvError({{"VIYA_MV_LOOKUP_CACHE_TTL_SECONDS", "15m"}}),
              HasSubstr("VIYA_MV_LOOKUP_CACHE_TTL_SECONDS: '15m' is not an integer"));
}

TEST_F(ConfigTest, TrackingCodesForEveryCarrierAndPerCarrier) {
  const std::string path = WriteFile(R"(
[tracking.codes]
PU = "picked_up"
scan = "none"
"Out-For-Delivery" = "out_for_delivery"

[tracking.carriers.dhl]
"OK-DEL" = "delivered"
ok-ret = "returned"

[tracking.carriers."dhl.express"]
x9 = "exception"

[tracking.carriers."a:b"]
"with space" = "in_transit"
)");
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(path, {}));
  const Codes expected = {{{"", "PU"}, "picked_up"},
                          {{"", "SCAN"}, "none"},
                          {{"", "OUT-FOR-DELIVERY"}, "out_for_delivery"},
                          {{"dhl", "OK-DEL"}, "delivered"},
                          {{"dhl", "OK-RET"}, "returned"},
                          {{"dhl.express", "X9"}, "exception"},
                          {{"a:b", "WITH SPACE"}, "in_transit"}};
  EXPECT_EQ(c.tracking.codes, expected);
}

TEST_F(ConfigTest, TrackingCodesInOtherTomlForms) {
  // Dotted keys, inline tables, sub-tables of a dotted table, every status.
  const std::string code64(64, 'c');
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(WriteFile(R"(
tracking.codes.bk = "booked"
tracking.carriers.ups = { DL = "delivered", cx = "cancelled" }
[tracking.carriers.fedex]
it = "in_transit"
)" + code64 + R"( = "out_for_delivery"
[tracking.carriers."x@y-z_0:1.2"]
rt = "returned"
pu = "picked_up"
ex = "exception"
no = "none"
)"),
                                               {}));
  const Codes expected = {{{"", "BK"}, "booked"},
                          {{"ups", "DL"}, "delivered"},
                          {{"ups", "CX"}, "cancelled"},
                          {{"fedex", "IT"}, "in_transit"},
                          {{"fedex", std::string(64, 'C')}, "out_for_delivery"},
                          {{"x@y-z_0:1.2", "RT"}, "returned"},
                          {{"x@y-z_0:1.2", "PU"}, "picked_up"},
                          {{"x@y-z_0:1.2", "EX"}, "exception"},
                          {{"x@y-z_0:1.2", "NO"}, "none"}};
  EXPECT_EQ(c.tracking.codes, expected);

  // The longest carrier id; an empty carrier table and an empty [tracking] add nothing.
  const std::string carrier128(128, 'k');
  MV_ASSERT_OK_AND_ASSIGN(
      c, LoadConfig(WriteFile("[tracking]\ncarriers." + carrier128 +
                              ".ex = \"exception\"\ncarriers.empty = {}\ncodes = {}\n"),
                    {}));
  EXPECT_EQ(c.tracking.codes, (Codes{{{carrier128, "EX"}, "exception"}}));
  MV_ASSERT_OK_AND_ASSIGN(c, LoadConfig(WriteFile("[tracking]\n"), {}));
  EXPECT_TRUE(c.tracking.codes.empty());
}

TEST_F(ConfigTest, TrackingCodesComeOnlyFromTheFile) {
  // The environment neither sets nor clears them.
  const std::string path = WriteFile("[tracking.codes]\nPU = \"picked_up\"\n");
  MV_ASSERT_OK_AND_ASSIGN(Config c, LoadConfig(path, {{"VIYA_MV_LOG_LEVEL", "warn"}}));
  EXPECT_EQ(c.tracking.codes, (Codes{{{"", "PU"}, "picked_up"}}));
  const std::string error = EnvError({{"VIYA_MV_TRACKING_CODES_PU", "delivered"}});
  EXPECT_THAT(error, HasSubstr("unknown environment variable VIYA_MV_TRACKING_CODES_PU"));
  EXPECT_THAT(error, HasSubstr("only in the config file"));
}

TEST_F(ConfigTest, BadTrackingInputNamesKeyAndPlace) {
  constexpr const char* kStatuses =
      "booked, picked_up, in_transit, out_for_delivery, delivered, exception, returned, "
      "cancelled, none";
  struct Case {
    std::string toml;
    std::string message;  // expected after "path:"
    std::string also = "";
  };
  const std::vector<Case> cases = {
      // Values.
      {"[tracking.codes]\nPU = 1\n", "2:1: tracking.codes.PU: expected a string, one of " +
                                         std::string(kStatuses) + "; got an integer"},
      {"[tracking.codes]\nPU = \"pickedup\"\n",
       "2:1: tracking.codes.PU: \"pickedup\" is not a status; allowed " + std::string(kStatuses)},
      {"[tracking.codes]\nPU = \"Picked_Up\"\n",
       "2:1: tracking.codes.PU: \"Picked_Up\" is not a status"},
      {"[tracking.codes]\nPU = \"\"\n", "2:1: tracking.codes.PU: \"\" is not a status"},
      {"[tracking.codes]\nPU = [\"picked_up\"]\n", "2:1: tracking.codes.PU: expected a string",
       "got an array"},
      {"[tracking.carriers.dhl]\n\nDL = \"lost\"\n",
       "3:1: tracking.carriers.dhl.DL: \"lost\" is not a status; allowed " +
           std::string(kStatuses)},
      {"[tracking.carriers.dhl]\nDL = true\n", "2:1: tracking.carriers.dhl.DL: expected a string",
       "got a boolean"},
      // Codes.
      {"[tracking.codes]\n\"\" = \"delivered\"\n",
       "2:1: tracking.codes.\"\": a code must be 1..64 characters"},
      {"[tracking.codes]\n" + std::string(65, 'C') + " = \"delivered\"\n",
       "2:1: tracking.codes." + std::string(65, 'C') + ": a code must be 1..64 characters"},
      {"[tracking.codes]\nA.B = \"delivered\"\n", "2:1: tracking.codes.A: expected a string",
       "got a table (a code that contains '.' must be quoted)"},
      {"[tracking.codes]\nPU = \"picked_up\"\npu = \"delivered\"\n",
       "3:1: tracking.codes.pu: code PU is also set at ", "viya-mv.toml:2:1"},
      {"[tracking.carriers.dhl]\nok-del = \"delivered\"\n\"OK-DEL\" = \"delivered\"\n",
       "3:1: tracking.carriers.dhl.OK-DEL: code OK-DEL is also set at ", "viya-mv.toml:2:1"},
      // Carrier ids.
      {"[tracking.carriers.\"dhl express\"]\nDL = \"delivered\"\n",
       "1:20: tracking.carriers.\"dhl express\": a carrier id must be 1..128 characters of "
       "letters, digits and -_.:@"},
      {"[tracking.carriers.\"\"]\nDL = \"delivered\"\n",
       "1:20: tracking.carriers.\"\": a carrier id must be 1..128"},
      {"[tracking.carriers." + std::string(129, 'k') + "]\nDL = \"delivered\"\n",
       "1:20: tracking.carriers." + std::string(129, 'k') + ": a carrier id must be 1..128"},
      {"[tracking.carriers.\"d\u00e9hl\"]\nDL = \"delivered\"\n",
       "1:20: tracking.carriers.\"d\u00e9hl\": a carrier id must be"},
      {"[tracking.carriers.dhl.express]\nDL = \"delivered\"\n",
       "1:24: tracking.carriers.dhl.express: expected a string",
       "(a code that contains '.' must be quoted)"},
      // Shapes.
      {"tracking = 1\n", "1:1: tracking: expected a table, got an integer"},
      {"tracking = \"codes\"\n", "1:1: tracking: expected a table, got a string"},
      {"[tracking]\ncodes = \"PU\"\n",
       "2:1: tracking.codes: expected a table of CODE = \"status\", got a string"},
      {"[tracking]\ncodes = [{ PU = \"picked_up\" }]\n", "2:1: tracking.codes: expected a table",
       "got an array"},
      {"[tracking]\ncarriers = []\n",
       "2:1: tracking.carriers: expected a table of carrier tables, got an array"},
      {"[tracking.carriers]\ndhl = \"delivered\"\n",
       "2:1: tracking.carriers.dhl: expected a table of CODE = \"status\", got a string"},
      {"[tracking]\nmappings = 1\n",
       "2:1: unknown key 'tracking.mappings' (allowed tracking.codes, tracking.carriers, "
       "tracking.orphan_retention_days)"},
      {"[tracking.carrier.dhl]\nDL = \"delivered\"\n", "1:11: unknown key 'tracking.carrier'"},
      {"[tracking]\nPU = \"picked_up\"\n", "2:1: unknown key 'tracking.PU'"},
  };
  const std::string path = dir_.File("viya-mv.toml");
  for (const Case& c : cases) {
    const std::string error = FileError(c.toml);
    EXPECT_THAT(error, HasSubstr(path + ":" + c.message)) << c.toml;
    EXPECT_THAT(error, HasSubstr(c.also)) << c.toml;
  }
}

TEST_F(ConfigTest, RoundTripOfTrackingCodesAlone) {
  // Only tracking codes differ from the defaults: the rest of the document is unchanged.
  Config original;
  original.tracking.codes = {{{"dhl.express", "OK-DEL"}, "delivered"}, {{"a:b", "N"}, "none"}};
  const std::string toml = ConfigToToml(original);
  MV_ASSERT_OK_AND_ASSIGN(Config loaded, LoadConfig(WriteFile(toml), {}));
  ExpectSameConfig(loaded, original);
  EXPECT_EQ(ConfigToToml(Config{}) + "\n[tracking.carriers.\"a:b\"]\nN = \"none\"\n" +
                "\n[tracking.carriers.\"dhl.express\"]\nOK-DEL = \"delivered\"\n",
            toml);
}

TEST_F(ConfigTest, RoundTripOfDefaults) {
  MV_ASSERT_OK_AND_ASSIGN(Config loaded, LoadConfig(WriteFile(ConfigToToml(Config{})), {}));
  ExpectSameConfig(loaded, Config{});
}

TEST_F(ConfigTest, ViyaEnvironmentReadsOnlyViyaVariables) {
  ASSERT_EQ(setenv("VIYA_MV_TEST_ONLY_VARIABLE", "a=b", 1), 0);
  ASSERT_EQ(setenv("NOT_VIYA_MV_TEST_ONLY_VARIABLE", "x", 1), 0);
  const Env env = ViyaEnvironment();
  unsetenv("VIYA_MV_TEST_ONLY_VARIABLE");
  unsetenv("NOT_VIYA_MV_TEST_ONLY_VARIABLE");
  ASSERT_EQ(env.count("VIYA_MV_TEST_ONLY_VARIABLE"), 1u);
  EXPECT_EQ(env.at("VIYA_MV_TEST_ONLY_VARIABLE"), "a=b");
  for (const auto& [name, value] : env) EXPECT_EQ(name.rfind("VIYA_MV_", 0), 0u) << name;
}

TEST(ConfigSource, BackendsAreCheckedAndAPasswordIsNeverPrinted) {
  MV_ASSERT_OK_AND_ASSIGN(
      Config c,
      LoadConfigText("[source]\nbackend = \"mongodb\"\n",
                     {{"VIYA_MV_SOURCE_URI", "mongodb://viya:s3cret@db1,db2/?replicaSet=rs0"}}));
  EXPECT_EQ(c.source.uri, "mongodb://viya:s3cret@db1,db2/?replicaSet=rs0");
  const std::string toml = ConfigToToml(c);
  EXPECT_THAT(toml, Not(HasSubstr("s3cret")));
  EXPECT_THAT(toml, HasSubstr("uri = \"mongodb://viya:***@db1,db2/?replicaSet=rs0\""));
  for (const char* bad :
       {"[source]\nbackend = \"postgres\"\n", "[views]\nbackend = \"redis\"\n",
        "[source]\nuri = \"http://x:pw@y\"\n", "[views]\nuri = \"http://x:pw@y\"\n",
        "[source]\ndatabase = \"\"\n", "[views]\ndatabase = \"$x\"\n",
        "[source]\norg_field = \"$where\"\n", "[stream]\npartitions = 2\n",
        "[views]\nbackend = \"mongodb\"\n[stream]\npartitions = 2\npartition = 2\n",
        "[source.fields.shipments]\nnope = \"x\"\n", "[source.fields.orders]\nid = \"x\"\n",
        "[source.fields.shipments]\ncreatedAt = \"a.b\"\n",
        "[source.fields.shipments]\ncreatedAt = 7\n"}) {
    auto bad_config = LoadConfigText(bad, {});
    EXPECT_EQ(bad_config.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(bad_config.status().message(), Not(HasSubstr("pw@"))) << bad;
  }
  // The views' own deployment is a secret too.
  MV_ASSERT_OK_AND_ASSIGN(
      Config v, LoadConfigText("[views]\nbackend = \"mongodb\"\n[stream]\npartitions = 4\n",
                               {{"VIYA_MV_VIEWS_URI", "mongodb://mv:t0ps3cret@views1/?tls=true"},
                                {"VIYA_MV_STREAM_PARTITION", "3"}}));
  EXPECT_EQ(v.stream.partition, 3);
  EXPECT_THAT(ConfigToToml(v), Not(HasSubstr("t0ps3cret")));
}

}  // namespace
}  // namespace mv::app
