// pipeline_bench: whole-pipeline workloads of the embedded backend, each printed beside a
// baseline measured in the same run on the same machine (DESIGN.md section 7).
//
//   throughput  A StreamWorker drains a pre-filled oplog (source.db) into a fresh views.db:
//               events/s end to end, once per view configuration (--views): `two` = the
//               list, the exception queue and mv_realtime_ops (the views of the previous
//               release), `six` = ViewSet::Default() (plus mv_daily_metrics,
//               mv_carrier_performance, mv_customer_summary). Baselines: the raw SQLite
//               upsert rate of the same list rows into a table of the same shape (the
//               physical limit), and a full rebuild of the views from the same source (what
//               users would otherwise do).
//               Variants: `lifecycle` (N/4 shipments moved through 4 statuses, the moves of
//               one shipment far apart in the stream, so batches cannot consolidate them),
//               `inserts` (the same N/4 shipments, each written once: no `before` to read,
//               nothing to retract or consolidate), `tracking` (N/6 shipments, each created,
//               then carrier events PU, IT, OFD, DL/EX, then a final document update; some
//               events out of order, some before their shipment, some re-sent) and, on
//               request, `burst` (the 4 moves of a shipment adjacent, so consolidation
//               folds them into one row write).
//   latency     A writer thread commits single writes at a fixed offered rate while
//               StreamWorker::Run() applies them; per write, the time from its commit to
//               the views' applied token reaching it. Baseline: the commit latency of the
//               same writes with no worker running. Cases: the `lifecycle` stream with the
//               two-view set at --rate, and the `tracking` stream with the two-view and the
//               six-view set at each of --tracking-rates.
//
// Every figure is the median of --reps repetitions; ratios are ratios of the medians.
// Databases live in --dir (default: a fresh temporary directory, removed at exit).
//
//   pipeline_bench [--workload=throughput|latency|all] [--events=48000] [--variants=...]
//                  [--views=two,six] [--rate=10000] [--tracking-rates=1000,3000]
//                  [--seconds=5] [--reps=3] [--batch=5000] [--dir=DIR] [--verbose]

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp
#include <time.h>    // clock_gettime

#include <algorithm>
#include <array>
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
#include "core/realtime_ops_view.h"
#include "core/row_codec.h"
#include "core/shipment_row.h"
#include "core/tracking.h"
#include "core/view_set.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/view_schema.h"
#include "storage/sqlite/view_store.h"
#include "worker/stream_probe.h"
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
using core::TrackingEvent;
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
  size_t events = 48000;
  std::vector<std::string> variants = {"lifecycle", "inserts", "tracking"};
  std::vector<std::string> views = {"two", "six"};
  double rate = 10000;
  std::vector<double> tracking_rates = {1000, 3000};
  double seconds = 5;
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
          "         [--variants=lifecycle,inserts,tracking,burst] [--views=two,six]\n"
          "         [--rate=EVENTS_PER_S] [--tracking-rates=R1,R2,...] [--seconds=S]\n"
          "         [--reps=K] [--batch=EVENTS] [--dir=DIR] [--verbose]\n"
          "  --rate=0 skips the lifecycle latency case, --tracking-rates= the tracking ones\n");
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
      } else if (key == "views") {
        f.views = Split(value);
      } else if (key == "rate") {
        f.rate = std::stod(value);
      } else if (key == "tracking-rates") {
        f.tracking_rates.clear();
        for (const auto& r : Split(value)) f.tracking_rates.push_back(std::stod(r));
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
    if (v != "lifecycle" && v != "inserts" && v != "tracking" && v != "burst") {
      Fail("unknown variant " + v);
    }
  }
  if (f.views.empty()) Fail("--views needs at least one of two, six");
  for (const auto& v : f.views) {
    if (v != "two" && v != "six") Fail("unknown view set " + v + " (two or six)");
  }
  for (double r : f.tracking_rates) {
    if (r <= 0) Fail("--tracking-rates must be > 0");
  }
  if (f.events < 24 || f.rate < 0 || f.seconds <= 0 || f.reps < 1 || f.batch < 1) {
    Fail("--events >= 24, --rate >= 0, --seconds > 0, --reps >= 1, --batch >= 1");
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

constexpr const char* kCarriers[] = {"dhl", "ups", "fedex", "postnl", "dpd"};
constexpr const char* kCountries[] = {"NL", "DE", "FR", "BE", "GB", "ES"};

// 4% of shipments end in an exception instead of being delivered.
bool EndsInException(size_t index) { return (Mix(index) >> 56) % 25 == 0; }

// Shipment `index` as written at lifecycle `stage`; deterministic. Shipment i is created
// at base + 2i seconds; its milestones follow at +3 h, +12 h and +30 h.
Shipment MakeShipment(size_t index, int stage, Timestamp base) {
  static constexpr const char* kServices[] = {"express", "standard", "economy"};
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
      if (EndsInException(index)) {
        s.status = ShipmentStatus::kException;
      } else {
        s.status = ShipmentStatus::kDelivered;
        s.delivered_at = s.status_changed_at;
      }
      break;
  }
  return s;
}

// The carrier events of a shipment's lifecycle, in the order they occur: PU at +3 h, IT at
// +12 h, OFD at +26 h, DL at +30 h (EX instead for the shipments that end in exception),
// with the shipment's carrier; deterministic. A re-sent event has the same code and time;
// with `new_id` it also gets a new eventId (the carrier sent it twice), else it is the
// same event again (the source drops it as a duplicate).
constexpr int kCarrierEvents = 4;

TrackingEvent MakeEvent(size_t index, int event, bool new_id, Timestamp base) {
  static constexpr const char* kCodes[] = {"PU", "IT", "OFD", "DL"};
  static constexpr int kHours[] = {3, 12, 26, 30};
  std::uint64_t h = Mix(index);
  TrackingEvent e;
  e.event_id = fmt::format("E{:08}-{}{}", index, event, new_id ? "-r" : "");
  e.shipment_id = fmt::format("S-{:08}", index);
  e.carrier_id = kCarriers[(h >> 8) % 5];
  e.code = event == 3 && EndsInException(index) ? "EX" : kCodes[event];
  e.occurred_at = base + seconds(2 * static_cast<std::int64_t>(index)) + hours(kHours[event]);
  e.location = fmt::format("{}-hub-{}", kCountries[(h >> (16 + 4 * event)) % 6], h % 7);
  return e;
}

// One write of a workload: shipment `index` written at lifecycle `stage` (a document), or,
// when `event` >= 0, its carrier event number `event` (MakeEvent).
struct Move {
  size_t index;
  int stage;
  int event = -1;
  bool new_id = false;
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

// The writes of shipment `index` in the `tracking` mix, in the order they reach the source:
// the document (booked), the events PU, IT, OFD, DL/EX, the final document (delivered or
// exception), and for 10% of shipments one event re-sent (half of them with a new eventId).
// Out of order: 2% of shipments' PU arrives before the shipment exists, 10% have OFD before
// IT, 10% DL before OFD. 7 slots; an unused slot is {index, -2}.
constexpr int kTrackingSlots = 7;

std::array<Move, kTrackingSlots> TrackingWrites(size_t index) {
  std::uint64_t h = Mix(index ^ 0x5bd1e9955bd1e995ULL);
  std::array<Move, kTrackingSlots> w = {
      Move{index, 0},     Move{index, -1, 0},       Move{index, -1, 1}, Move{index, -1, 2},
      Move{index, -1, 3}, Move{index, kStages - 1}, Move{index, -2}};
  if (h % 50 == 0) std::swap(w[0], w[1]);
  if ((h >> 8) % 10 == 0) std::swap(w[2], w[3]);
  if ((h >> 16) % 10 == 0) std::swap(w[3], w[4]);
  if ((h >> 24) % 10 == 0) {
    w[6] = Move{index, -1, static_cast<int>((h >> 32) % kCarrierEvents), (h >> 40) % 2 == 0};
  }
  return w;
}

// Shipments [first, first + count) each through their TrackingWrites, the writes of one
// shipment `lag` shipments apart (as LifecycleSpread).
std::vector<Move> TrackingSpread(size_t first, size_t count, size_t lag) {
  std::vector<Move> moves;
  moves.reserve(count * (kTrackingSlots - 1));
  for (size_t t = 0; t < count + (kTrackingSlots - 1) * lag; ++t) {
    for (int s = 0; s < kTrackingSlots; ++s) {
      size_t offset = static_cast<size_t>(s) * lag;
      if (t < offset || t - offset >= count) continue;
      Move m = TrackingWrites(first + t - offset)[s];
      if (m.stage != -2) moves.push_back(m);
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

// Writes one move: a document through SourceStore::UpsertShipments, an event through
// SourceStore::InsertTrackingEvents. Returns the token to wait for.
ChangeToken WriteOne(SourceStore& source, const Move& m, Timestamp base) {
  if (m.event >= 0) {
    std::vector<TrackingEvent> events{MakeEvent(m.index, m.event, m.new_id, base)};
    return Must(source.InsertTrackingEvents(OrgOf(m.index), events), "write event").token;
  }
  std::vector<Shipment> docs{MakeShipment(m.index, m.stage, base)};
  return Must(source.UpsertShipments(OrgOf(m.index), docs), "write");
}

// Writes `moves`, `chunk` moves at a time grouped per org: one UpsertShipments and one
// InsertTrackingEvents transaction per org and chunk, or per round when a shipment occurs
// more than once in a chunk (round r holds the r-th write of each shipment), so the order
// of the writes of one shipment is kept. Returns the tracking events the source dropped as
// duplicates.
std::int64_t Prefill(SourceStore& source, const std::vector<Move>& moves, Timestamp base,
                     size_t chunk) {
  std::int64_t duplicates = 0;
  for (size_t at = 0; at < moves.size(); at += chunk) {
    struct Round {
      std::vector<Shipment> docs;
      std::vector<TrackingEvent> events;
    };
    std::map<std::string, std::vector<Round>> by_org;
    std::map<size_t, size_t> seen;  // shipment -> writes of it in this chunk so far
    for (size_t i = at; i < std::min(moves.size(), at + chunk); ++i) {
      const Move& m = moves[i];
      auto& rounds = by_org[OrgOf(m.index)];
      size_t r = seen[m.index]++;
      if (rounds.size() <= r) rounds.resize(r + 1);
      if (m.event >= 0) {
        rounds[r].events.push_back(MakeEvent(m.index, m.event, m.new_id, base));
      } else {
        rounds[r].docs.push_back(MakeShipment(m.index, m.stage, base));
      }
    }
    for (const auto& [org, rounds] : by_org) {
      for (const Round& r : rounds) {
        if (!r.docs.empty()) Must(source.UpsertShipments(org, r.docs), "prefill");
        if (!r.events.empty()) {
          duplicates += Must(source.InsertTrackingEvents(org, r.events), "prefill").duplicates;
        }
      }
    }
  }
  return duplicates;
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

  // The stream is replayed even into new views: the figure is the stream's, not a rebuild's.
  worker::WorkerOptions Options() const {
    worker::WorkerOptions o;
    o.batch_max_events = batch;
    o.snapshot_new_views = false;
    return o;
  }
};

// The time a StreamWorker takes to apply every committed change into the (fresh) views.db
// at `path`, reading from token 0 and stepping until its checkpoint reaches the source's.
Timing TimeDrain(const Pipeline& p, const fs::path& path, worker::StreamProbe* probe) {
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

// The list table of SqliteViewStore (storage/sqlite/view_schema.h, ShipmentListDdl): the
// same columns, keys and indexes, written by a plain upsert of every column.
constexpr const char* kRawUpsert =
    "INSERT INTO raw_list (org, id, status, carrier, customer, sla, sla_next_change_at, "
    "created_at, reference, row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT (org, id) DO UPDATE SET status = excluded.status, "
    "carrier = excluded.carrier, customer = excluded.customer, sla = excluded.sla, "
    "sla_next_change_at = excluded.sla_next_change_at, created_at = excluded.created_at, "
    "reference = excluded.reference, row = excluded.row";

struct RawRow {
  std::int64_t org = 0;
  std::string id;
  std::int64_t status = 0, carrier = 0, customer = 0, sla = 0;
  std::optional<std::int64_t> sla_next_change_at;
  std::int64_t created_at = 0;
  std::string reference, row;
};

// Codes for ids, as the view store's dictionary gives them (0: no id).
std::int64_t CodeOf(std::map<std::string, std::int64_t>& codes, const std::string& text) {
  if (text.empty()) return 0;
  auto [it, added] = codes.emplace(text, static_cast<std::int64_t>(codes.size()) + 1);
  return it->second;
}

void Check(sqlite3* db, int rc, std::string_view what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    Fail(fmt::format("raw sqlite: {}: {}", what, sqlite3_errmsg(db)));
  }
}

// The physical limit for the same rows: one list-row upsert per change event, with the
// row the pipeline writes for that event (projected, untimed, from the oplog's post-image
// joined with the summary of the shipment's tracking events so far; an event whose
// shipment does not exist yet writes no row), into a fresh table of the view store's
// shape, `batch` rows per transaction, with a prepared statement, on a connection with the
// project's settings (WAL, synchronous=NORMAL, the same cache and mmap sizes). Returns the
// time spent in SQLite and sets `*rows`.
Timing TimeRawUpserts(const Pipeline& p, const fs::path& path, size_t* rows) {
  RemoveDb(path);
  auto dst = Must(Database::Open(path.string(), {}), "open raw.db");
  for (const auto& sql : storage::sqlite::ShipmentListDdl("raw_list")) {
    Must(dst->Exec(sql), "raw schema");
  }
  sqlite3* db = dst->handle();
  sqlite3_stmt* up = nullptr;
  Check(db, sqlite3_prepare_v3(db, kRawUpsert, -1, SQLITE_PREPARE_PERSISTENT, &up, nullptr),
        "prepare");

  auto src = Must(Database::Open(p.source->path(), {}), "open source.db");
  auto snapshot = Must(src->BeginRead(), "read source.db");
  auto* scan = Must(src->Prepare("SELECT org, collection, doc FROM oplog WHERE collection IN "
                                 "('shipments', 'tracking_events') AND doc IS NOT NULL "
                                 "ORDER BY seq"),
                    "scan oplog");
  Timestamp now = p.clock->Now();
  // Per shipment: its document and the summary of its events so far.
  struct State {
    std::optional<Shipment> doc;
    std::optional<core::TrackingSummary> tracking;
  };
  std::map<std::pair<std::string, std::string>, State> states;
  std::map<std::string, std::int64_t> codes;
  std::vector<RawRow> chunk;
  Timing spent;
  *rows = 0;
  for (bool more = true; more;) {
    chunk.clear();
    while (chunk.size() < p.batch && (more = Must(scan->Step(), "scan oplog"))) {
      std::string org = scan->ColumnText(0);
      State* state = nullptr;
      if (scan->ColumnText(1) == "shipments") {
        Shipment doc = Must(core::ParseShipmentText(scan->ColumnText(2)), "parse shipment");
        state = &states[{org, doc.id}];
        state->doc = std::move(doc);
      } else {
        TrackingEvent e = Must(core::ParseTrackingEventText(scan->ColumnText(2)), "parse event");
        state = &states[{org, e.shipment_id}];
        if (!state->tracking) state->tracking.emplace();
        state->tracking->Merge(e, p.projection.codes.Map(e.carrier_id, e.code));
      }
      if (!state->doc) continue;
      core::ShipmentRow r = core::Project(
          org, *state->doc, state->tracking ? &*state->tracking : nullptr, now, p.projection);
      const Shipment& s = r.shipment;
      RawRow raw{CodeOf(codes, "o" + r.org),
                 s.id,
                 static_cast<std::int64_t>(s.status),
                 CodeOf(codes, "c" + s.carrier_id),
                 CodeOf(codes, "u" + s.customer_id),
                 static_cast<std::int64_t>(r.sla.status),
                 std::nullopt,
                 ToMillis(s.created_at),
                 s.reference,
                 core::EncodeRow(r)};
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
      sqlite3_bind_int64(up, 1, r.org);
      text(2, r.id);
      sqlite3_bind_int64(up, 3, r.status);
      sqlite3_bind_int64(up, 4, r.carrier);
      sqlite3_bind_int64(up, 5, r.customer);
      sqlite3_bind_int64(up, 6, r.sla);
      if (r.sla_next_change_at) {
        sqlite3_bind_int64(up, 7, *r.sla_next_change_at);
      } else {
        sqlite3_bind_null(up, 7);
      }
      sqlite3_bind_int64(up, 8, r.created_at);
      text(9, r.reference);
      sqlite3_bind_blob(up, 10, r.row.data(), static_cast<int>(r.row.size()), SQLITE_STATIC);
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
  std::string out;
  for (const auto& [view, table] : store->tables().All()) {
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

// A view configuration: `two` = the list, the exception queue and mv_realtime_ops (what
// ViewSet::Default() held in the previous release), `six` = ViewSet::Default().
struct ViewConfig {
  std::string name;
  core::ViewSet views;
  std::unique_ptr<prometheus::Registry> registry = std::make_unique<prometheus::Registry>();
  std::unique_ptr<worker::StreamProbe> probe;

  explicit ViewConfig(const std::string& n) : name(n) {
    if (n == "six") {
      views = core::ViewSet::Default();
    } else {
      views.AddAggregate(std::make_unique<core::RealtimeOpsView>());
    }
    probe = std::make_unique<worker::StreamProbe>(*registry, views.Names());
  }
  std::string Label() const { return name + "-view"; }
};

std::vector<std::unique_ptr<ViewConfig>> MakeConfigs(const std::vector<std::string>& names) {
  std::vector<std::unique_ptr<ViewConfig>> configs;
  for (const auto& n : names) configs.push_back(std::make_unique<ViewConfig>(n));
  return configs;
}

// Shipments between two writes of one shipment in a spread stream: N/20 events apart, and
// at least two batches apart, so that no batch holds two writes of one shipment.
size_t SpreadLag(size_t shipments, size_t writes_per_shipment, size_t batch) {
  return std::max<size_t>(
      {1, shipments / 20, (2 * batch + writes_per_shipment - 1) / writes_per_shipment});
}

std::vector<Line> RunThroughput(const Flags& flags, const fs::path& dir) {
  std::vector<Line> lines;
  auto configs = MakeConfigs(flags.views);
  // Fixed data times and a fixed clock: every run projects the same rows.
  Timestamp base = *ParseRfc3339("2026-11-01T00:00:00Z");
  ManualClock clock(base + hours(36));
  auto ratio = [](double a, double b) { return fmt::format("{:.2f}", a / b); };

  for (const std::string& variant : flags.variants) {
    fs::path vdir = dir / ("throughput-" + variant);
    fs::create_directories(vdir);
    std::vector<Move> moves;
    size_t shipments = flags.events / kStages;
    if (variant == "inserts") {
      moves = InsertsOnly(0, shipments);
    } else if (variant == "burst") {
      moves = LifecycleBurst(0, shipments);
    } else if (variant == "tracking") {
      shipments = flags.events / (kTrackingSlots - 1);
      moves = TrackingSpread(0, shipments, SpreadLag(shipments, kTrackingSlots - 1, flags.batch));
    } else {
      moves = LifecycleSpread(0, shipments, SpreadLag(shipments, kStages, flags.batch));
    }
    RemoveDb(vdir / "source.db");
    auto source = Must(SourceStore::Open((vdir / "source.db").string(), &clock, {}), "source");
    auto fill_start = Steady::now();
    std::int64_t duplicates = Prefill(*source, moves, base, flags.batch);
    double fill_s = SecondsBetween(fill_start, Steady::now());
    ChangeToken events = source->committed().Get();
    std::string mix;
    if (variant == "tracking") {
      size_t docs = 0;
      for (const Move& m : moves) docs += m.event < 0 ? 1 : 0;
      mix = fmt::format(
          " ({} documents, {} tracking events; {} more re-sent and dropped as "
          "duplicates)",
          Grouped(static_cast<double>(docs)),
          Grouped(static_cast<double>(events) - static_cast<double>(docs)),
          Grouped(static_cast<double>(duplicates)));
    }
    fmt::print(
        "throughput/{}: {} events{} over {} shipments in {} orgs; source filled in {:.1f} s "
        "({} writes/s, ~{} per transaction)\n",
        variant, Grouped(static_cast<double>(events)), mix, Grouped(static_cast<double>(shipments)),
        kOrgs, fill_s, Grouped(static_cast<double>(moves.size()) / fill_s),
        std::max<size_t>(1, flags.batch / kOrgs));
    std::fflush(stdout);

    std::vector<Pipeline> pipes;
    for (const auto& c : configs)
      pipes.push_back({&c->views, {}, &clock, source.get(), flags.batch});
    size_t nc = configs.size();
    std::vector<std::vector<double>> pipe_wall(nc), pipe_cpu(nc), drain_s(nc), rebuild_s(nc);
    std::vector<double> raw_wall, raw_cpu;
    size_t raw_rows = 0;
    auto ev = static_cast<double>(events);
    for (int rep = 0; rep < flags.reps; ++rep) {
      std::string line = fmt::format("  rep {}:", rep + 1);
      for (size_t c = 0; c < nc; ++c) {
        Timing d = TimeDrain(pipes[c], vdir / fmt::format("views-{}.db", configs[c]->name),
                             configs[c]->probe.get());
        pipe_wall[c].push_back(ev / d.wall);
        pipe_cpu[c].push_back(ev / d.cpu);
        drain_s[c].push_back(d.wall);
        line += fmt::format(" {} drain {:.2f} s (cpu {:.2f}, {:.1f} KB/event) = {} events/s |",
                            configs[c]->Label(), d.wall, d.cpu, d.written / 1024 / ev,
                            Grouped(pipe_wall[c].back()));
      }
      Timing raw = TimeRawUpserts(pipes[0], vdir / "raw.db", &raw_rows);
      auto rows = static_cast<double>(raw_rows);
      raw_wall.push_back(rows / raw.wall);
      raw_cpu.push_back(rows / raw.cpu);
      line += fmt::format(
          " raw upserts of {} rows {:.2f} s (cpu {:.2f}, {:.1f} KB/row) = {} rows/s |",
          Grouped(rows), raw.wall, raw.cpu, raw.written / 1024 / rows, Grouped(raw_wall.back()));
      for (size_t c = 0; c < nc; ++c) {
        Timing rb = TimeRebuild(pipes[c], vdir / fmt::format("rebuilt-{}.db", configs[c]->name));
        rebuild_s[c].push_back(rb.wall);
        line +=
            fmt::format(" rebuild {} {:.2f} s (cpu {:.2f}) |", configs[c]->name, rb.wall, rb.cpu);
      }
      fmt::print("{} load {}\n", line, LoadAverage());
      std::fflush(stdout);
      if (rep == 0) {
        // The figure counts only if the work was done: the incrementally maintained views
        // must equal the rebuilt ones.
        for (size_t c = 0; c < nc; ++c) {
          fs::path drained = vdir / fmt::format("views-{}.db", configs[c]->name);
          fs::path rebuilt = vdir / fmt::format("rebuilt-{}.db", configs[c]->name);
          bool same = DumpViews(pipes[c], drained) == DumpViews(pipes[c], rebuilt);
          size_t list_rows = CountRows(drained, pipes[c]);
          fmt::print(
              "  check {}: {} list rows; every view table after the drain {} a rebuild from "
              "the source\n",
              configs[c]->Label(), Grouped(static_cast<double>(list_rows)),
              same ? "equals" : "DIFFERS FROM");
          if (!same) Fail("the drained views differ from a rebuild; the figures are void");
        }
      }
    }
    double rw = Median(raw_wall), rc = Median(raw_cpu);
    for (size_t c = 0; c < nc; ++c) {
      std::string v = variant + "/" + configs[c]->Label();
      double pw = Median(pipe_wall[c]), pc = Median(pipe_cpu[c]), ds = Median(drain_s[c]),
             rs = Median(rebuild_s[c]);
      lines.push_back({"throughput", v, "pipeline, events/s", Grouped(pw),
                       "raw SQLite list upserts, rows/s", Grouped(rw), ratio(pw, rw)});
      lines.push_back({"throughput", v, "pipeline, events per CPU-second", Grouped(pc),
                       "raw upserts, rows per CPU-second", Grouped(rc), ratio(pc, rc)});
      lines.push_back({"throughput", v, fmt::format("drain of {} events, s", Grouped(ev)),
                       fmt::format("{:.2f}", ds),
                       fmt::format("full rebuild ({} views), s", configs[c]->views.Names().size()),
                       fmt::format("{:.2f}", rs), ratio(ds, rs)});
    }
    for (size_t c = 1; c < nc; ++c) {
      std::string v = variant + "/" + configs[c]->Label();
      lines.push_back({"throughput", v, configs[c]->Label() + " events/s",
                       Grouped(Median(pipe_wall[c])), configs[0]->Label() + " events/s",
                       Grouped(Median(pipe_wall[0])),
                       ratio(Median(pipe_wall[c]), Median(pipe_wall[0]))});
      lines.push_back({"throughput", v, configs[c]->Label() + " events per CPU-s",
                       Grouped(Median(pipe_cpu[c])), configs[0]->Label() + " events per CPU-s",
                       Grouped(Median(pipe_cpu[0])),
                       ratio(Median(pipe_cpu[c]), Median(pipe_cpu[0]))});
    }
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

// Writes `moves` one at a time (WriteOne: one transaction each), the i-th due at
// start + i / rate (a late write goes at once, so the offered rate is kept on average),
// and stops after `seconds` even if not all were written. Returns the achieved rate, keeps
// one record per write done, and sets `*cpu` to the writer thread's CPU seconds.
double WriteAtRate(SourceStore& source, const std::vector<Move>& moves, Timestamp base, double rate,
                   double seconds, std::vector<WriteRecord>* records, double* cpu) {
  records->assign(moves.size(), {});
  double cpu_start = ThreadCpuSeconds();
  auto start = Steady::now();
  auto end =
      start + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(seconds));
  size_t done = 0;
  for (size_t i = 0; i < moves.size() && Steady::now() < end; ++i, ++done) {
    auto due = start + std::chrono::duration_cast<Steady::duration>(
                           std::chrono::duration<double>(static_cast<double>(i) / rate));
    std::this_thread::sleep_until(due);
    WriteRecord& r = (*records)[i];
    r.start = Steady::now();
    r.token = WriteOne(source, moves[i], base);
    r.commit = Steady::now();
  }
  double rate_achieved = static_cast<double>(done) / SecondsBetween(start, Steady::now());
  *cpu = ThreadCpuSeconds() - cpu_start;
  records->resize(done);
  return rate_achieved;
}

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

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The same writes (their first 5 s) on a fresh seeded source with no worker running.
struct AloneRep {
  double rate = 0;
  std::vector<double> commit_ms;  // sorted
  double writer_cpu = 0;
};

AloneRep RunAlone(const Flags& flags, const fs::path& dir, const std::vector<Move>& moves,
                  Timestamp base, double rate) {
  SystemClock clock;
  AloneRep rep;
  std::vector<WriteRecord> records;
  auto source = SeededSource(dir, &clock, base, flags.batch);
  rep.rate = WriteAtRate(*source, moves, base, rate, std::min(5.0, flags.seconds), &records,
                         &rep.writer_cpu);
  for (const auto& r : records) rep.commit_ms.push_back(Ms(r.commit - r.start));
  std::sort(rep.commit_ms.begin(), rep.commit_ms.end());
  return rep;
}

struct PipelineRep {
  double rate = 0;
  std::vector<double> visible_ms;  // commit -> visible, per write; sorted
  std::vector<double> commit_ms;   // the writes with the worker running; sorted
  size_t not_visible = 0;
  // Diagnostics: CPU seconds of the worker thread, and the micro-batches it committed.
  double worker_cpu = 0;
  double batches = 0;
  double events_applied = 0;
};

// The pipeline: writer, StreamWorker::Run() over `views`, and a watcher of the applied
// token.
PipelineRep RunPipeline(const Flags& flags, const fs::path& dir, const ViewConfig& config,
                        const std::vector<Move>& moves, Timestamp base, double rate) {
  SystemClock clock;
  prometheus::Registry registry;
  worker::StreamProbe stream_probe(registry, config.views.Names());
  worker::StreamProbe* probe = &stream_probe;
  PipelineRep rep;
  std::vector<WriteRecord> records;
  auto source = SeededSource(dir, &clock, base, flags.batch);
  RemoveDb(dir / "views.db");
  auto store =
      Must(SqliteViewStore::Open((dir / "views.db").string(), &config.views, &clock), "views");
  auto changes = Must(source->NewChangeSource(), "change source");
  worker::WorkerOptions options;  // the service's defaults
  options.batch_max_events = flags.batch;
  worker::StreamWorker worker(changes.get(), source.get(), store.get(), &config.views, {}, &clock,
                              probe, options);
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
  double before_batches = CounterValue(registry, "viya_mv_batches_applied_total");
  double before_events = CounterValue(registry, "viya_mv_events_applied_total");
  std::thread runner([&] {
    double cpu = ThreadCpuSeconds();
    run_status = worker.Run();
    rep.worker_cpu = ThreadCpuSeconds() - cpu;
  });

  double writer_cpu = 0;
  rep.rate = WriteAtRate(*source, moves, base, rate, flags.seconds, &records, &writer_cpu);
  ChangeToken last_token = 0;
  for (const auto& r : records) last_token = std::max(last_token, r.token);
  applied.WaitUntilAtLeast(last_token, Millis(30000));
  watching.store(false);
  worker.Stop();
  watcher.join();
  runner.join();
  Must(run_status, "worker run");
  rep.batches = CounterValue(registry, "viya_mv_batches_applied_total") - before_batches;
  rep.events_applied = CounterValue(registry, "viya_mv_events_applied_total") - before_events;

  for (const auto& r : records) {
    rep.commit_ms.push_back(Ms(r.commit - r.start));
    // The first applied token >= the write's (a re-sent event returns the newest token).
    auto it = std::lower_bound(seen.begin(), seen.end(), r.token,
                               [](const Seen& s, ChangeToken t) { return s.token < t; });
    if (it == seen.end()) {
      ++rep.not_visible;
      continue;
    }
    // The writer reads the time after the write returns; the worker may apply the change
    // before that, which counts as 0.
    rep.visible_ms.push_back(std::max(0.0, Ms(it->at - r.commit)));
  }
  std::sort(rep.visible_ms.begin(), rep.visible_ms.end());
  std::sort(rep.commit_ms.begin(), rep.commit_ms.end());
  return rep;
}

// One latency case: a stream at an offered rate, through one or more view configurations,
// beside the same writes alone; `reps` repetitions, each running the baseline and then
// every configuration.
std::vector<Line> RunLatencyCase(const Flags& flags, const fs::path& dir, const std::string& stream,
                                 double rate,
                                 const std::vector<std::unique_ptr<ViewConfig>>& configs) {
  auto n = static_cast<size_t>(rate * flags.seconds);
  fmt::print(
      "latency/{} @{}/s: single writes offered for {} s ({} writes; {} seed shipments), "
      "StreamWorker::Run() with default options (batch <= {}, linger 2 ms), views: {}\n",
      stream, Grouped(rate), flags.seconds, Grouped(static_cast<double>(n)),
      Grouped(static_cast<double>(kLatencySeedShipments)), flags.batch, [&] {
        std::string s;
        for (const auto& c : configs) s += (s.empty() ? "" : ", ") + c->Label();
        return s;
      }());
  std::fflush(stdout);
  std::vector<Move> moves;
  if (stream == "tracking") {
    size_t shipments = std::max<size_t>(1, n / (kTrackingSlots - 1));
    moves = TrackingSpread(kLatencySeedShipments, shipments, std::max<size_t>(1, shipments / 25));
  } else {
    size_t shipments = std::max<size_t>(1, n / kStages);
    moves = LifecycleSpread(kLatencySeedShipments, shipments, std::max<size_t>(1, shipments / 25));
  }
  moves.resize(std::min(moves.size(), n));

  size_t nc = configs.size();
  std::vector<double> a50, a99, arate;
  std::vector<std::vector<double>> p50(nc), p99(nc), pmax(nc), prate(nc), c50(nc), c99(nc);
  for (int i = 0; i < flags.reps; ++i) {
    // Shipments created over the last ~day, so SLA states are mixed and some come due.
    Timestamp base = SystemClock().Now() - hours(30);
    AloneRep alone = RunAlone(flags, dir, moves, base, rate);
    a50.push_back(Percentile(alone.commit_ms, 0.50));
    a99.push_back(Percentile(alone.commit_ms, 0.99));
    arate.push_back(alone.rate);
    fmt::print(
        "  rep {}: writes alone: {}/s, commit p50 {:.3f} p99 {:.3f} ms, {:.0f} us writer CPU per "
        "write\n",
        i + 1, Grouped(alone.rate), a50.back(), a99.back(),
        1e6 * alone.writer_cpu / std::max<double>(1, static_cast<double>(alone.commit_ms.size())));
    for (size_t c = 0; c < nc; ++c) {
      PipelineRep r = RunPipeline(flags, dir, *configs[c], moves, base, rate);
      p50[c].push_back(Percentile(r.visible_ms, 0.50));
      p99[c].push_back(Percentile(r.visible_ms, 0.99));
      pmax[c].push_back(r.visible_ms.empty() ? 0 : r.visible_ms.back());
      prate[c].push_back(r.rate);
      c50[c].push_back(Percentile(r.commit_ms, 0.50));
      c99[c].push_back(Percentile(r.commit_ms, 0.99));
      fmt::print(
          "    {}: achieved {}/s | commit->visible p50 {:.2f} ms p99 {:.2f} ms max {:.2f} ms{} | "
          "commit p50 {:.3f} p99 {:.3f} ms | worker: {} batches of {:.0f} events on average, "
          "{:.0f} us CPU per event | load {}\n",
          configs[c]->Label(), Grouped(r.rate), p50[c].back(), p99[c].back(), pmax[c].back(),
          r.not_visible ? fmt::format(" ({} NOT visible)", r.not_visible) : "", c50[c].back(),
          c99[c].back(), Grouped(r.batches), r.events_applied / std::max(1.0, r.batches),
          1e6 * r.worker_cpu / std::max(1.0, r.events_applied), LoadAverage());
    }
    std::fflush(stdout);
  }
  std::vector<Line> lines;
  auto f2 = [](double v) { return fmt::format("{:.2f}", v); };
  auto f3 = [](double v) { return fmt::format("{:.3f}", v); };
  for (size_t c = 0; c < nc; ++c) {
    std::string v = fmt::format("{}@{}/s {}", stream, Grouped(rate), configs[c]->Label());
    lines.push_back({"latency", v, "achieved write rate, events/s", Grouped(Median(prate[c])),
                     "achieved, writes alone", Grouped(Median(arate)),
                     f2(Median(prate[c]) / Median(arate))});
    lines.push_back({"latency", v, "commit -> visible p50, ms", f2(Median(p50[c])),
                     "commit alone p50, ms", f3(Median(a50)),
                     fmt::format("{:.1f}", Median(p50[c]) / Median(a50))});
    lines.push_back({"latency", v, "commit -> visible p99, ms", f2(Median(p99[c])),
                     "commit alone p99, ms", f3(Median(a99)),
                     fmt::format("{:.1f}", Median(p99[c]) / Median(a99))});
    lines.push_back({"latency", v, "commit -> visible max, ms", f2(Median(pmax[c])), "", "", ""});
    lines.push_back({"latency", v, "commit p50 / p99 with worker, ms",
                     fmt::format("{:.3f} / {:.3f}", Median(c50[c]), Median(c99[c])), "", "", ""});
  }
  for (size_t c = 1; c < nc; ++c) {
    std::string v = fmt::format("{}@{}/s {}", stream, Grouped(rate), configs[c]->Label());
    lines.push_back({"latency", v, configs[c]->Label() + " p50 / p99, ms",
                     fmt::format("{:.2f} / {:.2f}", Median(p50[c]), Median(p99[c])),
                     configs[0]->Label() + " p50 / p99, ms",
                     fmt::format("{:.2f} / {:.2f}", Median(p50[0]), Median(p99[0])),
                     fmt::format("{:.1f} / {:.1f}", Median(p50[c]) / Median(p50[0]),
                                 Median(p99[c]) / Median(p99[0]))});
  }
  return lines;
}

std::vector<Line> RunLatency(const Flags& flags, const fs::path& dir) {
  fs::path ldir = dir / "latency";
  fs::create_directories(ldir);
  std::vector<Line> lines;
  if (flags.rate > 0) {
    // The previous release's case: the lifecycle stream with the two-view set.
    auto two = MakeConfigs({"two"});
    auto l = RunLatencyCase(flags, ldir, "lifecycle", flags.rate, two);
    lines.insert(lines.end(), l.begin(), l.end());
  }
  auto configs = MakeConfigs(flags.views);
  for (double rate : flags.tracking_rates) {
    auto l = RunLatencyCase(flags, ldir, "tracking", rate, configs);
    lines.insert(lines.end(), l.begin(), l.end());
  }
  if (flags.dir.empty()) fs::remove_all(ldir);
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
