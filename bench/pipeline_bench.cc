// pipeline_bench: whole-pipeline workloads of the embedded backend, each printed beside a
// baseline measured in the same run on the same machine (DESIGN.md section 7).
//
//   throughput  A StreamWorker drains a pre-filled oplog (source.db) into a fresh views.db:
//               events/s end to end. Baselines: the raw SQLite upsert rate of the same
//               list rows into a table of the same shape (the physical limit), and a full
//               rebuild of the views from the same source (what users would otherwise do).
//               Variants: `lifecycle` (N/4 shipments moved through 4 statuses, the moves of
//               one shipment far apart in the stream, so batches cannot consolidate them),
//               `inserts` (the same N/4 shipments, each written once: no `before` to read,
//               nothing to retract or consolidate) and, on request, `burst` (the 4 moves
//               of a shipment adjacent, so consolidation folds them into one row write).
//   latency     A writer thread commits single-shipment upserts at a fixed offered rate
//               while StreamWorker::Run() applies them; per write, the time from its commit
//               to the views' applied token reaching it. Baseline: the commit latency of
//               the same writes with no worker running.
//
// Every figure is the median of --reps repetitions; ratios are ratios of the medians.
// Databases live in --dir (default: a fresh temporary directory, removed at exit).
//
//   pipeline_bench [--workload=throughput|latency|all] [--events=200000] [--variants=...]
//                  [--rate=10000] [--seconds=10] [--reps=3] [--batch=5000] [--dir=DIR]
//                  [--verbose]

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp
#include <time.h>    // clock_gettime

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/time.h"
#include "core/engine.h"
#include "core/shipment_row.h"
#include "core/view_set.h"
#include "metrics/metrics.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/view_store.h"
#include "worker/stream_worker.h"

#ifndef MV_BUILD_TYPE
#define MV_BUILD_TYPE "unknown"
#endif

namespace mv::bench {
namespace {

namespace fs = std::filesystem;
using core::ChangeToken;
using core::Shipment;
using core::ShipmentStatus;
using storage::sqlite::Database;
using storage::sqlite::SourceStore;
using storage::sqlite::SqliteViewStore;
using Steady = std::chrono::steady_clock;
using std::chrono::hours;
using std::chrono::seconds;

// ---------------------------------------------------------------------------------------
// Flags and small helpers

struct Flags {
  std::string workload = "all";
  size_t events = 200000;
  std::vector<std::string> variants = {"lifecycle", "inserts"};
  double rate = 10000;
  double seconds = 10;
  int reps = 3;
  size_t batch = worker::WorkerOptions{}.batch_max_events;
  std::string dir;
  bool verbose = false;
};

[[noreturn]] void Fail(std::string_view what) {
  fmt::print(stderr, "pipeline_bench: {}\n", what);
  std::exit(1);
}

void Must(const Status& s, std::string_view what) {
  if (!s.ok()) Fail(fmt::format("{}: {}", what, s.ToString()));
}

template <typename T>
T Must(Result<T> r, std::string_view what) {
  if (!r.ok()) Fail(fmt::format("{}: {}", what, r.status().ToString()));
  return std::move(r).value();
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    if (comma > at) out.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--verbose") {
      f.verbose = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      fmt::print(
          "usage: pipeline_bench [--workload=throughput|latency|all] [--events=N]\n"
          "         [--variants=lifecycle,inserts,burst] [--rate=EVENTS_PER_S] [--seconds=S]\n"
          "         [--reps=K] [--batch=EVENTS] [--dir=DIR] [--verbose]\n");
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) Fail("unexpected argument " + arg);
    std::string key = arg.substr(2);
    std::string value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Fail("flag --" + key + " needs a value");
    }
    try {
      if (key == "workload") {
        f.workload = value;
      } else if (key == "events") {
        f.events = std::stoul(value);
      } else if (key == "variants") {
        f.variants = Split(value);
      } else if (key == "rate") {
        f.rate = std::stod(value);
      } else if (key == "seconds") {
        f.seconds = std::stod(value);
      } else if (key == "reps") {
        f.reps = std::stoi(value);
      } else if (key == "batch") {
        f.batch = std::stoul(value);
      } else if (key == "dir") {
        f.dir = value;
      } else {
        Fail("unknown flag --" + key);
      }
    } catch (const std::exception&) {
      Fail(fmt::format("bad value for --{}: {}", key, value));
    }
  }
  if (f.workload != "throughput" && f.workload != "latency" && f.workload != "all") {
    Fail("--workload must be throughput, latency or all");
  }
  for (const auto& v : f.variants) {
    if (v != "lifecycle" && v != "inserts" && v != "burst") Fail("unknown variant " + v);
  }
  if (f.events < 4 || f.rate <= 0 || f.seconds <= 0 || f.reps < 1 || f.batch < 1) {
    Fail("--events >= 4, --rate > 0, --seconds > 0, --reps >= 1, --batch >= 1");
  }
  return f;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile of an already sorted vector, q in (0, 1].
double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double SecondsBetween(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU seconds used by the calling thread so far.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Bytes this process has passed to write(2) and friends so far (/proc/self/io `wchar`):
// SQLite writes its WAL frames and checkpoints that way. 0 when unavailable.
double ProcessBytesWritten() {
  std::FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char key[64];
  unsigned long long value = 0;
  double wchar = 0;
  while (std::fscanf(f, "%63s %llu", key, &value) == 2) {
    if (std::string_view(key) == "wchar:") wchar = static_cast<double>(value);
  }
  std::fclose(f);
  return wchar;
}

// Wall-clock and CPU time of work done on the calling thread, and the bytes the process
// wrote meanwhile. On a shared machine the wall time moves with the other tenants' load;
// the CPU time much less.
struct Timing {
  double wall = 0;
  double cpu = 0;
  double written = 0;
};

class Stopwatch {
 public:
  Stopwatch() : wall_(Steady::now()), cpu_(ThreadCpuSeconds()), written_(ProcessBytesWritten()) {}
  Timing Elapsed() const {
    return {SecondsBetween(wall_, Steady::now()), ThreadCpuSeconds() - cpu_,
            ProcessBytesWritten() - written_};
  }

 private:
  Steady::time_point wall_;
  double cpu_;
  double written_;
};

// 1234567 -> "1,234,567".
std::string Grouped(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// The 1-minute load average: on a shared machine, read the figures beside it.
std::string LoadAverage() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  double one = -1;
  if (f != nullptr) {
    if (std::fscanf(f, "%lf", &one) != 1) one = -1;
    std::fclose(f);
  }
  return one < 0 ? "unknown" : fmt::format("{:.2f}", one);
}

void RemoveDb(const fs::path& p) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(p.string() + suffix, ec);
}

// ---------------------------------------------------------------------------------------
// The data: shipments of 20 orgs moving through their lifecycle

constexpr int kOrgs = 20;
constexpr int kStages = 4;  // booked, picked_up, in_transit, delivered (4% exception)

std::uint64_t Mix(std::uint64_t x) {  // splitmix64: a fixed pseudo-random value per index
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string OrgOf(size_t index) { return fmt::format("org-{:02}", index % kOrgs); }

// Shipment `index` as written at lifecycle `stage`; deterministic. Shipment i is created
// at base + 2i seconds; its milestones follow at +3 h, +12 h and +30 h.
Shipment MakeShipment(size_t index, int stage, Timestamp base) {
  static constexpr const char* kCarriers[] = {"dhl", "ups", "fedex", "postnl", "dpd"};
  static constexpr const char* kServices[] = {"express", "standard", "economy"};
  static constexpr const char* kCountries[] = {"NL", "DE", "FR", "BE", "GB", "ES"};
  std::uint64_t h = Mix(index);
  Shipment s;
  s.id = fmt::format("S-{:08}", index);
  s.reference = fmt::format("PO-{}", h % 1000000);
  s.customer_id = fmt::format("C-{}", (h >> 20) % 200);
  s.carrier_id = kCarriers[(h >> 8) % 5];
  s.service = kServices[(h >> 12) % 3];
  s.origin = {{"country", kCountries[(h >> 16) % 6]},
              {"postalCode", std::to_string(1000 + (h >> 24) % 9000)}};
  s.destination = {{"country", kCountries[(h >> 28) % 6]}};
  s.weight_kg = 0.5 + static_cast<double>((h >> 32) % 300) / 10;
  s.declared_value = static_cast<double>((h >> 40) % 50000) / 100;
  s.currency = "EUR";
  s.created_at = base + seconds(2 * static_cast<std::int64_t>(index));
  s.promised_delivery_at = s.created_at + hours(24 + static_cast<int>((h >> 48) % 48));
  Timestamp picked = s.created_at + hours(3);
  switch (stage) {
    case 0:
      s.status = ShipmentStatus::kBooked;
      s.status_changed_at = s.created_at;
      break;
    case 1:
      s.status = ShipmentStatus::kPickedUp;
      s.picked_up_at = picked;
      s.status_changed_at = picked;
      break;
    case 2:
      s.status = ShipmentStatus::kInTransit;
      s.picked_up_at = picked;
      s.status_changed_at = s.created_at + hours(12);
      break;
    default:
      s.picked_up_at = picked;
      s.status_changed_at = s.created_at + hours(30);
      if ((h >> 56) % 25 == 0) {
        s.status = ShipmentStatus::kException;
      } else {
        s.status = ShipmentStatus::kDelivered;
        s.delivered_at = s.status_changed_at;
      }
      break;
  }
  return s;
}

// One write of a workload: shipment `index` moved to lifecycle `stage`.
struct Move {
  size_t index;
  int stage;
};

// Shipments [first, first + count) each moved through all stages; the moves of one
// shipment are `lag` shipments apart, i.e. about 4 * lag events apart in the stream (a
// steady flow where every shipment is somewhere in its lifecycle).
std::vector<Move> LifecycleSpread(size_t first, size_t count, size_t lag) {
  std::vector<Move> moves;
  moves.reserve(count * kStages);
  for (size_t t = 0; t < count + (kStages - 1) * lag; ++t) {
    for (int s = 0; s < kStages; ++s) {
      size_t offset = static_cast<size_t>(s) * lag;
      if (t >= offset && t - offset < count) moves.push_back({first + t - offset, s});
    }
  }
  return moves;
}

// The same moves with those of one shipment adjacent: a batch folds them into one row.
std::vector<Move> LifecycleBurst(size_t first, size_t count) {
  std::vector<Move> moves;
  moves.reserve(count * kStages);
  for (size_t i = 0; i < count; ++i) {
    for (int s = 0; s < kStages; ++s) moves.push_back({first + i, s});
  }
  return moves;
}

// Every event a new shipment, at a pseudo-random stage.
std::vector<Move> InsertsOnly(size_t first, size_t count) {
  std::vector<Move> moves;
  moves.reserve(count);
  for (size_t i = first; i < first + count; ++i) {
    moves.push_back({i, static_cast<int>(Mix(i) % kStages)});
  }
  return moves;
}

// Writes `moves` through SourceStore::UpsertShipments, `chunk` moves at a time grouped
// per org (one transaction per org and chunk); the order of the moves of one shipment is
// kept.
void Prefill(SourceStore& source, const std::vector<Move>& moves, Timestamp base, size_t chunk) {
  for (size_t at = 0; at < moves.size(); at += chunk) {
    std::map<std::string, std::vector<Shipment>> by_org;
    for (size_t i = at; i < std::min(moves.size(), at + chunk); ++i) {
      by_org[OrgOf(moves[i].index)].push_back(MakeShipment(moves[i].index, moves[i].stage, base));
    }
    for (const auto& [org, docs] : by_org) Must(source.UpsertShipments(org, docs), "prefill");
  }
}

// ---------------------------------------------------------------------------------------
// Throughput

// The pipeline's parts over one source.db, with a fresh views.db per measurement.
struct Pipeline {
  const core::ViewSet* views;
  core::ProjectionOptions projection;
  const Clock* clock;
  SourceStore* source;
  size_t batch;

  worker::WorkerOptions Options() const {
    worker::WorkerOptions o;
    o.batch_max_events = batch;
    return o;
  }
};

// The time a StreamWorker takes to apply every committed change into the (fresh) views.db
// at `path`, reading from token 0 and stepping until its checkpoint reaches the source's.
Timing TimeDrain(const Pipeline& p, const fs::path& path, metrics::StreamProbe* probe) {
  RemoveDb(path);
  auto store = Must(SqliteViewStore::Open(path.string(), p.views, p.clock), "open views.db");
  auto changes = Must(p.source->NewChangeSource(), "change source");
  worker::StreamWorker worker(changes.get(), p.source, store.get(), p.views, p.projection, p.clock,
                              probe, p.Options());
  ChangeToken target = p.source->committed().Get();
  Stopwatch watch;
  while (worker.checkpoint() < target) Must(worker.Step(Millis(0)), "worker step");
  return watch.Elapsed();
}

// The time StreamWorker::Rebuild() takes to build every view from the source into a fresh
// views.db at `path`.
Timing TimeRebuild(const Pipeline& p, const fs::path& path) {
  RemoveDb(path);
  auto store = Must(SqliteViewStore::Open(path.string(), p.views, p.clock), "open views.db");
  auto changes = Must(p.source->NewChangeSource(), "change source");
  worker::StreamWorker worker(changes.get(), p.source, store.get(), p.views, p.projection, p.clock,
                              nullptr, p.Options());
  Stopwatch watch;
  (void)Must(worker.Rebuild(), "rebuild");
  return watch.Elapsed();
}

// The list table of SqliteViewStore (src/storage/sqlite/view_store.cc, CreateListTable),
// same columns, keys and indexes.
constexpr const char* kRawListSchema = R"sql(
CREATE TABLE raw_list (
  org TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, carrier_id TEXT NOT NULL,
  customer_id TEXT NOT NULL, sla_status TEXT NOT NULL, sla_next_change_at INTEGER,
  created_at INTEGER NOT NULL, reference TEXT NOT NULL, row TEXT NOT NULL,
  PRIMARY KEY (org, id));
CREATE INDEX raw_list_by_created ON raw_list (org, created_at, id);
CREATE INDEX raw_list_by_status ON raw_list (org, status, created_at, id);
CREATE INDEX raw_list_by_customer ON raw_list (org, customer_id, created_at, id);
CREATE INDEX raw_list_by_carrier ON raw_list (org, carrier_id, created_at, id);
CREATE INDEX raw_list_by_sla ON raw_list (org, sla_status, created_at, id);
CREATE INDEX raw_list_by_reference ON raw_list (org, reference);
CREATE INDEX raw_list_sla_due ON raw_list (sla_next_change_at) WHERE sla_next_change_at IS NOT NULL;
)sql";

constexpr const char* kRawUpsert =
    "INSERT INTO raw_list (org, id, status, carrier_id, customer_id, sla_status, "
    "sla_next_change_at, created_at, reference, row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
    "?9, ?10) ON CONFLICT (org, id) DO UPDATE SET status = excluded.status, "
    "carrier_id = excluded.carrier_id, customer_id = excluded.customer_id, "
    "sla_status = excluded.sla_status, sla_next_change_at = excluded.sla_next_change_at, "
    "created_at = excluded.created_at, reference = excluded.reference, row = excluded.row";

struct RawRow {
  std::string org, id, status, carrier_id, customer_id, sla_status;
  std::optional<std::int64_t> sla_next_change_at;
  std::int64_t created_at = 0;
  std::string reference, row;
};

void Check(sqlite3* db, int rc, std::string_view what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    Fail(fmt::format("raw sqlite: {}: {}", what, sqlite3_errmsg(db)));
  }
}

// The physical limit for the same rows: one list-row upsert per change event, with the
// row the pipeline writes for that event (projected from the oplog's post-image, untimed),
// into a fresh table of the view store's shape, `batch` rows per transaction, with a
// prepared statement, on a connection with the project's settings (WAL,
// synchronous=NORMAL, the same cache and mmap sizes). Returns the time spent in SQLite
// and sets `*rows`.
Timing TimeRawUpserts(const Pipeline& p, const fs::path& path, size_t* rows) {
  RemoveDb(path);
  auto dst = Must(Database::Open(path.string(), {}), "open raw.db");
  Must(dst->Exec(kRawListSchema), "raw schema");
  sqlite3* db = dst->handle();
  sqlite3_stmt* up = nullptr;
  Check(db, sqlite3_prepare_v3(db, kRawUpsert, -1, SQLITE_PREPARE_PERSISTENT, &up, nullptr),
        "prepare");

  auto src = Must(Database::Open(p.source->path(), {}), "open source.db");
  auto snapshot = Must(src->BeginRead(), "read source.db");
  auto* scan = Must(src->Prepare("SELECT org, doc FROM oplog WHERE collection = 'shipments' "
                                 "AND doc IS NOT NULL ORDER BY seq"),
                    "scan oplog");
  Timestamp now = p.clock->Now();
  std::vector<RawRow> chunk;
  Timing spent;
  *rows = 0;
  for (bool more = true; more;) {
    chunk.clear();
    while (chunk.size() < p.batch && (more = Must(scan->Step(), "scan oplog"))) {
      auto r =
          Must(core::ProjectDocument(scan->ColumnText(0), scan->ColumnText(1), now, p.projection),
               "project");
      const Shipment& s = r.shipment;
      RawRow raw{r.org,
                 s.id,
                 std::string(core::ToString(s.status)),
                 s.carrier_id,
                 s.customer_id,
                 std::string(core::ToString(r.sla.status)),
                 std::nullopt,
                 ToMillis(s.created_at),
                 s.reference,
                 core::RowToJson(r).dump()};
      if (r.sla.next_change_at) raw.sla_next_change_at = ToMillis(*r.sla.next_change_at);
      chunk.push_back(std::move(raw));
    }
    if (chunk.empty()) break;
    Stopwatch watch;
    Check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
    for (const RawRow& r : chunk) {
      auto text = [&](int i, const std::string& v) {
        sqlite3_bind_text(up, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      };
      text(1, r.org);
      text(2, r.id);
      text(3, r.status);
      text(4, r.carrier_id);
      text(5, r.customer_id);
      text(6, r.sla_status);
      if (r.sla_next_change_at) {
        sqlite3_bind_int64(up, 7, *r.sla_next_change_at);
      } else {
        sqlite3_bind_null(up, 7);
      }
      sqlite3_bind_int64(up, 8, r.created_at);
      text(9, r.reference);
      text(10, r.row);
      Check(db, sqlite3_step(up), "upsert");
      sqlite3_reset(up);
    }
    Check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
    Timing t = watch.Elapsed();
    spent.wall += t.wall;
    spent.cpu += t.cpu;
    spent.written += t.written;
    *rows += chunk.size();
  }
  scan->Reset();
  Must(snapshot->Commit(), "end read");
  sqlite3_finalize(up);
  return spent;
}

// Every view table of the store at `path`, by logical view name.
std::string DumpViews(const Pipeline& p, const fs::path& path) {
  auto store = Must(SqliteViewStore::Open(path.string(), p.views, p.clock), "open views.db");
  const auto& t = store->tables();
  std::string out = "== list\n" + Must(DumpTable(store->db(), t.shipment_list), "dump");
  for (const auto& [view, table] : t.aggregates) {
    out += "== " + view + "\n" + Must(DumpTable(store->db(), table), "dump");
  }
  return out;
}

size_t CountRows(const fs::path& path, const Pipeline& p) {
  auto store = Must(SqliteViewStore::Open(path.string(), p.views, p.clock), "open views.db");
  auto* st =
      Must(store->db().Prepare("SELECT COUNT(*) FROM " + store->tables().shipment_list), "count");
  (void)Must(st->Step(), "count");
  auto n = static_cast<size_t>(st->ColumnInt(0));
  st->Reset();
  return n;
}

struct Line {
  std::string workload, variant, figure, value, baseline, base_value, ratio;
};

void PrintTable(const std::vector<Line>& lines) {
  Line head{"workload", "variant", "figure (median)", "value", "baseline, same run (median)",
            "value",    "ratio"};
  std::vector<Line> all{head};
  all.insert(all.end(), lines.begin(), lines.end());
  size_t w[7] = {0};
  for (const auto& l : all) {
    const std::string* f[7] = {&l.workload, &l.variant,    &l.figure, &l.value,
                               &l.baseline, &l.base_value, &l.ratio};
    for (int i = 0; i < 7; ++i) w[i] = std::max(w[i], f[i]->size());
  }
  for (const auto& l : all) {
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>{}}  |  {:<{}}  {:>{}}  {:>{}}\n", l.workload, w[0],
               l.variant, w[1], l.figure, w[2], l.value, w[3], l.baseline, w[4], l.base_value, w[5],
               l.ratio, w[6]);
  }
}

std::vector<Line> RunThroughput(const Flags& flags, const fs::path& dir) {
  std::vector<Line> lines;
  core::ViewSet views = core::ViewSet::Default();
  metrics::Metrics metrics(views.Names());
  // Fixed data times and a fixed clock: every run projects the same rows.
  Timestamp base = *ParseRfc3339("2026-11-01T00:00:00Z");
  ManualClock clock(base + hours(36));

  for (const std::string& variant : flags.variants) {
    fs::path vdir = dir / ("throughput-" + variant);
    fs::create_directories(vdir);
    std::vector<Move> moves;
    size_t shipments = flags.events / kStages;
    if (variant == "inserts") {
      moves = InsertsOnly(0, shipments);
    } else if (variant == "burst") {
      moves = LifecycleBurst(0, shipments);
    } else {
      // A shipment's next move comes shipments/20 shipments later: ~N/20 events apart.
      moves = LifecycleSpread(0, shipments, std::max<size_t>(1, shipments / 20));
    }
    RemoveDb(vdir / "source.db");
    auto source = Must(SourceStore::Open((vdir / "source.db").string(), &clock, {}), "source");
    auto fill_start = Steady::now();
    Prefill(*source, moves, base, flags.batch);
    double fill_s = SecondsBetween(fill_start, Steady::now());
    ChangeToken events = source->committed().Get();
    Pipeline p{&views, {}, &clock, source.get(), flags.batch};
    fmt::print(
        "throughput/{}: {} events over {} shipments in {} orgs; source filled in {:.1f} s "
        "({} events/s through SourceStore::UpsertShipments, ~{} per transaction)\n",
        variant, Grouped(static_cast<double>(events)), Grouped(static_cast<double>(shipments)),
        kOrgs, fill_s, Grouped(static_cast<double>(events) / fill_s),
        std::max<size_t>(1, flags.batch / kOrgs));
    std::fflush(stdout);

    std::vector<double> pipe_wall, pipe_cpu, raw_wall, raw_cpu, drain_s, rebuild_s;
    size_t raw_rows = 0;
    auto ev = static_cast<double>(events);
    for (int rep = 0; rep < flags.reps; ++rep) {
      Timing d = TimeDrain(p, vdir / "views.db", &metrics.stream());
      Timing raw = TimeRawUpserts(p, vdir / "raw.db", &raw_rows);
      Timing rb = TimeRebuild(p, vdir / "rebuilt.db");
      auto rows = static_cast<double>(raw_rows);
      pipe_wall.push_back(ev / d.wall);
      pipe_cpu.push_back(ev / d.cpu);
      raw_wall.push_back(rows / raw.wall);
      raw_cpu.push_back(rows / raw.cpu);
      drain_s.push_back(d.wall);
      rebuild_s.push_back(rb.wall);
      fmt::print(
          "  rep {}: drain {:.2f} s (cpu {:.2f}, wrote {:.1f} KB/event) = {} events/s | raw "
          "upserts of {} rows {:.2f} s (cpu {:.2f}, wrote {:.1f} KB/row) = {} rows/s | "
          "rebuild {:.2f} s (cpu {:.2f}) | load {}\n",
          rep + 1, d.wall, d.cpu, d.written / 1024 / ev, Grouped(pipe_wall.back()), Grouped(rows),
          raw.wall, raw.cpu, raw.written / 1024 / rows, Grouped(raw_wall.back()), rb.wall, rb.cpu,
          LoadAverage());
      std::fflush(stdout);
      if (rep == 0) {
        // The figure counts only if the work was done: the incrementally maintained views
        // must equal the rebuilt ones.
        bool same = DumpViews(p, vdir / "views.db") == DumpViews(p, vdir / "rebuilt.db");
        size_t list_rows = CountRows(vdir / "views.db", p);
        fmt::print("  check: {} list rows; views after the drain {} a rebuild from the source\n",
                   Grouped(static_cast<double>(list_rows)), same ? "equal" : "DIFFER FROM");
        if (!same) Fail("the drained views differ from a rebuild; the figures are void");
      }
    }
    auto ratio = [](double a, double b) { return fmt::format("{:.2f}", a / b); };
    double pw = Median(pipe_wall), pc = Median(pipe_cpu), rw = Median(raw_wall),
           rc = Median(raw_cpu), ds = Median(drain_s), rs = Median(rebuild_s);
    lines.push_back({"throughput", variant, "pipeline, events/s", Grouped(pw),
                     "raw SQLite list upserts, rows/s", Grouped(rw), ratio(pw, rw)});
    lines.push_back({"throughput", variant, "pipeline, events per CPU-second", Grouped(pc),
                     "raw upserts, rows per CPU-second", Grouped(rc), ratio(pc, rc)});
    lines.push_back({"throughput", variant, fmt::format("drain of {} events, s", Grouped(ev)),
                     fmt::format("{:.2f}", ds), "full rebuild from the source, s",
                     fmt::format("{:.2f}", rs), ratio(ds, rs)});
    source.reset();
    if (flags.dir.empty()) fs::remove_all(vdir);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// Latency

struct WriteRecord {
  ChangeToken token = 0;
  Steady::time_point start, commit;
};

// Writes `moves` one shipment per UpsertShipments call, the i-th due at start + i / rate
// (a late write goes at once, so the offered rate is kept on average), and stops after
// `seconds` even if not all were written. Returns the achieved rate, keeps one record per
// write done, and sets `*cpu` to the writer thread's CPU seconds.
double WriteAtRate(SourceStore& source, const std::vector<Move>& moves, Timestamp base, double rate,
                   double seconds, std::vector<WriteRecord>* records, double* cpu) {
  records->assign(moves.size(), {});
  double cpu_start = ThreadCpuSeconds();
  auto start = Steady::now();
  auto end =
      start + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(seconds));
  size_t done = 0;
  for (size_t i = 0; i < moves.size() && Steady::now() < end; ++i, ++done) {
    std::vector<Shipment> docs{MakeShipment(moves[i].index, moves[i].stage, base)};
    auto due = start + std::chrono::duration_cast<Steady::duration>(
                           std::chrono::duration<double>(static_cast<double>(i) / rate));
    std::this_thread::sleep_until(due);
    WriteRecord& r = (*records)[i];
    r.start = Steady::now();
    r.token = Must(source.UpsertShipments(OrgOf(moves[i].index), docs), "write");
    r.commit = Steady::now();
  }
  double rate_achieved = static_cast<double>(done) / SecondsBetween(start, Steady::now());
  *cpu = ThreadCpuSeconds() - cpu_start;
  records->resize(done);
  return rate_achieved;
}

struct LatencyRep {
  double rate = 0;
  std::vector<double> visible_ms;       // commit -> visible, per write
  std::vector<double> commit_ms;        // UpsertShipments with the worker running
  std::vector<double> alone_commit_ms;  // UpsertShipments alone (baseline)
  double alone_rate = 0;
  size_t not_visible = 0;
  // Diagnostics: CPU seconds of the writer (alone) and of the worker thread, and the
  // micro-batches the worker committed.
  double alone_writer_cpu = 0;
  double worker_cpu = 0;
  double batches = 0;
  double events_applied = 0;
};

// The value of a counter in `registry` (0 when absent).
double CounterValue(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].counter.value;
  }
  return 0;
}

constexpr size_t kLatencySeedShipments = 10000;

// A fresh source.db holding the seed shipments, so the tables are not empty when the timed
// writes begin.
std::unique_ptr<SourceStore> SeededSource(const fs::path& dir, const Clock* clock, Timestamp base,
                                          size_t batch) {
  RemoveDb(dir / "source.db");
  auto source = Must(SourceStore::Open((dir / "source.db").string(), clock, {}), "source");
  Prefill(*source, InsertsOnly(0, kLatencySeedShipments), base, batch);
  return source;
}

LatencyRep RunLatencyRep(const Flags& flags, const fs::path& dir, const core::ViewSet& views) {
  SystemClock clock;
  metrics::Metrics metrics(views.Names());
  metrics::StreamProbe* probe = &metrics.stream();
  LatencyRep rep;
  // Shipments created over the last ~day, so SLA states are mixed and some come due.
  Timestamp base = clock.Now() - hours(30);
  auto n = static_cast<size_t>(flags.rate * flags.seconds);
  size_t shipments = std::max<size_t>(1, n / kStages);
  std::vector<Move> moves =
      LifecycleSpread(kLatencySeedShipments, shipments, std::max<size_t>(1, shipments / 25));
  moves.resize(std::min(moves.size(), n));
  std::vector<WriteRecord> records;

  // Baseline: the same writes (the first 5 s worth of them) with no worker running.
  {
    auto source = SeededSource(dir, &clock, base, flags.batch);
    rep.alone_rate = WriteAtRate(*source, moves, base, flags.rate, std::min(5.0, flags.seconds),
                                 &records, &rep.alone_writer_cpu);
    for (const auto& r : records) {
      rep.alone_commit_ms.push_back(
          std::chrono::duration<double, std::milli>(r.commit - r.start).count());
    }
  }

  // The pipeline: writer, StreamWorker::Run(), and a watcher of the applied token.
  auto source = SeededSource(dir, &clock, base, flags.batch);
  RemoveDb(dir / "views.db");
  auto store = Must(SqliteViewStore::Open((dir / "views.db").string(), &views, &clock), "views");
  auto changes = Must(source->NewChangeSource(), "change source");
  worker::WorkerOptions options;  // the service's defaults
  options.batch_max_events = flags.batch;
  worker::StreamWorker worker(changes.get(), source.get(), store.get(), &views, {}, &clock, probe,
                              options);
  while (worker.checkpoint() < source->committed().Get()) {
    Must(worker.Step(Millis(0)), "seed drain");
  }

  struct Seen {
    ChangeToken token;
    Steady::time_point at;
  };
  std::vector<Seen> seen;
  seen.reserve(1 << 16);
  std::atomic<bool> watching{true};
  const Watermark& applied = store->applied();
  std::thread watcher([&] {
    ChangeToken last = applied.Get();
    while (watching.load()) {
      if (!applied.WaitForAbove(last, Millis(20))) continue;
      last = applied.Get();
      seen.push_back({last, Steady::now()});
    }
  });
  Status run_status;
  double before_batches = CounterValue(metrics.registry(), "viya_mv_batches_applied_total");
  double before_events = CounterValue(metrics.registry(), "viya_mv_events_applied_total");
  std::thread runner([&] {
    double cpu = ThreadCpuSeconds();
    run_status = worker.Run();
    rep.worker_cpu = ThreadCpuSeconds() - cpu;
  });

  double writer_cpu = 0;
  rep.rate = WriteAtRate(*source, moves, base, flags.rate, flags.seconds, &records, &writer_cpu);
  ChangeToken last_token = records.empty() ? 0 : records.back().token;
  applied.WaitUntilAtLeast(last_token, Millis(30000));
  watching.store(false);
  worker.Stop();
  watcher.join();
  runner.join();
  Must(run_status, "worker run");
  rep.batches = CounterValue(metrics.registry(), "viya_mv_batches_applied_total") - before_batches;
  rep.events_applied =
      CounterValue(metrics.registry(), "viya_mv_events_applied_total") - before_events;

  size_t at = 0;
  for (const auto& r : records) {
    rep.commit_ms.push_back(std::chrono::duration<double, std::milli>(r.commit - r.start).count());
    while (at < seen.size() && seen[at].token < r.token) ++at;
    if (at == seen.size()) {
      ++rep.not_visible;
      continue;
    }
    // The writer reads the time after UpsertShipments returns; the worker may apply the
    // change before that, which counts as 0.
    double ms = std::chrono::duration<double, std::milli>(seen[at].at - r.commit).count();
    rep.visible_ms.push_back(std::max(0.0, ms));
  }
  return rep;
}

std::vector<Line> RunLatency(const Flags& flags, const fs::path& dir) {
  fs::path ldir = dir / "latency";
  fs::create_directories(ldir);
  core::ViewSet views = core::ViewSet::Default();
  fmt::print(
      "latency: {} single-shipment upserts/s offered for {} s ({} writes; {} seed "
      "shipments), StreamWorker::Run() with default options (batch <= {}, linger 2 ms)\n",
      Grouped(flags.rate), flags.seconds, Grouped(flags.rate * flags.seconds),
      Grouped(static_cast<double>(kLatencySeedShipments)), flags.batch);
  std::fflush(stdout);
  std::vector<double> p50, p99, pmax, rate, c50, c99, a50, a99, arate;
  for (int i = 0; i < flags.reps; ++i) {
    LatencyRep r = RunLatencyRep(flags, ldir, views);
    std::sort(r.visible_ms.begin(), r.visible_ms.end());
    std::sort(r.commit_ms.begin(), r.commit_ms.end());
    std::sort(r.alone_commit_ms.begin(), r.alone_commit_ms.end());
    p50.push_back(Percentile(r.visible_ms, 0.50));
    p99.push_back(Percentile(r.visible_ms, 0.99));
    pmax.push_back(r.visible_ms.empty() ? 0 : r.visible_ms.back());
    rate.push_back(r.rate);
    c50.push_back(Percentile(r.commit_ms, 0.50));
    c99.push_back(Percentile(r.commit_ms, 0.99));
    a50.push_back(Percentile(r.alone_commit_ms, 0.50));
    a99.push_back(Percentile(r.alone_commit_ms, 0.99));
    arate.push_back(r.alone_rate);
    fmt::print(
        "  rep {}: achieved {}/s | commit->visible p50 {:.2f} ms p99 {:.2f} ms max {:.2f} "
        "ms{} | commit (worker running) p50 {:.3f} p99 {:.3f} ms | commit alone p50 "
        "{:.3f} p99 {:.3f} ms at {}/s\n",
        i + 1, Grouped(r.rate), p50.back(), p99.back(), pmax.back(),
        r.not_visible ? fmt::format(" ({} NOT visible)", r.not_visible) : "", c50.back(),
        c99.back(), a50.back(), a99.back(), Grouped(r.alone_rate));
    double writes = static_cast<double>(r.alone_commit_ms.size());
    fmt::print(
        "         writer alone: {:.0f} us CPU per write; worker: {} batches of {:.0f} "
        "events on average, {:.0f} us CPU per event; load {}\n",
        1e6 * r.alone_writer_cpu / std::max(1.0, writes), Grouped(r.batches),
        r.events_applied / std::max(1.0, r.batches),
        1e6 * r.worker_cpu / std::max(1.0, r.events_applied), LoadAverage());
    std::fflush(stdout);
  }
  if (flags.dir.empty()) fs::remove_all(ldir);
  std::string v = fmt::format("@{}/s", Grouped(flags.rate));
  std::vector<Line> lines;
  lines.push_back({"latency", v, "achieved write rate, events/s", Grouped(Median(rate)),
                   "achieved, writes alone", Grouped(Median(arate)),
                   fmt::format("{:.2f}", Median(rate) / Median(arate))});
  lines.push_back({"latency", v, "commit -> visible p50, ms", fmt::format("{:.2f}", Median(p50)),
                   "commit alone p50, ms", fmt::format("{:.3f}", Median(a50)),
                   fmt::format("{:.1f}", Median(p50) / Median(a50))});
  lines.push_back({"latency", v, "commit -> visible p99, ms", fmt::format("{:.2f}", Median(p99)),
                   "commit alone p99, ms", fmt::format("{:.3f}", Median(a99)),
                   fmt::format("{:.1f}", Median(p99) / Median(a99))});
  lines.push_back(
      {"latency", v, "commit -> visible max, ms", fmt::format("{:.2f}", Median(pmax)), "", "", ""});
  lines.push_back({"latency", v, "commit p50 / p99 with worker, ms",
                   fmt::format("{:.3f} / {:.3f}", Median(c50), Median(c99)), "", "", ""});
  return lines;
}

// ---------------------------------------------------------------------------------------

std::string MachineLine() {
  unsigned cores = std::thread::hardware_concurrency();
#ifdef NDEBUG
  const char* asserts = "NDEBUG";
#else
  const char* asserts = "asserts on";
#endif
  return fmt::format("{} cores, SQLite {}, g++ {}, build {} ({})", cores, sqlite3_libversion(),
                     __VERSION__, MV_BUILD_TYPE, asserts);
}

int Main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  spdlog::set_level(flags.verbose ? spdlog::level::info : spdlog::level::warn);
  fs::path dir;
  if (flags.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pipeline-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp failed");
    dir = tmpl;
  } else {
    dir = flags.dir;
    fs::create_directories(dir);
  }
  fmt::print(
      "pipeline_bench: {}\n  data in {}; medians of {} reps; batch <= {} events; "
      "load average at start {}\n\n",
      MachineLine(), dir.string(), flags.reps, flags.batch, LoadAverage());
  std::fflush(stdout);
  auto started = Steady::now();
  std::vector<Line> lines;
  if (flags.workload != "latency") {
    auto t = RunThroughput(flags, dir);
    lines.insert(lines.end(), t.begin(), t.end());
  }
  if (flags.workload != "throughput") {
    auto l = RunLatency(flags, dir);
    lines.insert(lines.end(), l.begin(), l.end());
  }
  fmt::print("\n");
  PrintTable(lines);
  fmt::print("\n(total {:.0f} s; load average at the end {})\n",
             SecondsBetween(started, Steady::now()), LoadAverage());
  if (flags.dir.empty()) fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace mv::bench

int main(int argc, char** argv) { return mv::bench::Main(argc, argv); }
