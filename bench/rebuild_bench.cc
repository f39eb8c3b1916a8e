// rebuild_bench: a full rebuild of the six views from a large source, timed, with its
// memory and the size of what it wrote; the shipments and events are generated straight
// into source.db (realistic shapes: 20 orgs of different sizes, six months of shipments,
// carriers that take weeks on some lanes, out-of-order and unknown scans).
//
//   rebuild_bench [--shipments=1000000] [--events=4] [--dir=DIR] [--reps=1] [--keep]
//                 [--csv=DIR] [--phases] [--apply=EVENTS] [--views-cache-mib=64]
//
// --apply: after the rebuild, the stream worker applies EVENTS new tracking events to the
// views of that size, twice: to recent shipments (the newest 8% of ids, two weeks of six
// months: platform ids such as MongoDB's ObjectId grow with time, and carriers scan what
// is on its way), then to
// shipments drawn uniformly; events/s, CPU per event, RSS and the WAL beside views.db.
//
// With --dir, the generated source.db is kept there and reused by later runs with the
// same --shipments and --events. --csv writes shipments.csv and events.csv (the same data
// as plain columns) for the PostgreSQL baseline (bench/postgres_refresh.sh).

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>  // mkdtemp
#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/time.h"
#include "core/domain.h"
#include "core/snapshot_builder.h"
#include "core/tracking.h"
#include "core/view_set.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/view_store.h"
#include "worker/stream_worker.h"

namespace mv::bench {
namespace {

namespace fs = std::filesystem;
using core::Shipment;
using core::ShipmentStatus;
using core::TrackingEvent;
using storage::sqlite::Database;
using storage::sqlite::SourceStore;
using storage::sqlite::SqliteViewStore;

struct Flags {
  size_t shipments = 1'000'000;
  size_t events = 4;
  std::string dir;
  int reps = 1;
  bool keep = false;
  std::string csv;
  bool phases = false;
  size_t apply = 0;  // change events applied after the rebuild, per pattern
  int views_cache_mib = SqliteViewStore::Options{}.cache_mib;  // the worker's page cache
};

[[noreturn]] void Fail(std::string_view what) {
  fmt::print(stderr, "rebuild_bench: {}\n", what);
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

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A field of /proc/self/status given in kB ("VmRSS", "VmHWM", "RssAnon"), in MiB.
double StatusMib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::stod(line.substr(field.size() + 1)) / 1024.0;
    }
  }
  return 0;
}

// Peak resident memory since the last reset, in MiB (VmHWM; reset through clear_refs).
double PeakRssMib() { return StatusMib("VmHWM"); }
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// The resident anonymous memory (heap, stacks) in MiB: RSS without mapped file pages.
double RssAnonMib() { return StatusMib("RssAnon"); }

// Samples RssAnon every 20 ms on a thread of its own while alive; the kernel keeps no
// high-water mark of it.
class AnonPeak {
 public:
  AnonPeak()
      : thread_([this] {
          while (!stop_.load()) {
            double now = RssAnonMib();
            if (now > peak_.load()) peak_.store(now);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        }) {}
  ~AnonPeak() { Stop(); }
  double Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return peak_.load();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<double> peak_{0};
  std::thread thread_;
};

std::uintmax_t FileBytes(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// ---------------------------------------------------------------------------------------
// Data

constexpr std::array<std::string_view, 12> kCountries = {"NL", "DE", "BE", "FR", "GB", "ES",
                                                         "IT", "PL", "SE", "US", "BR", "AU"};
constexpr std::array<std::string_view, 8> kCarriers = {"dhl", "ups", "fedex", "postnl",
                                                       "dpd", "gls", "tnt",   "correios"};
constexpr std::array<std::string_view, 3> kServices = {"express", "standard", "economy"};

// A lane's median transit in hours: days within Europe, weeks to Brazil or Australia.
double MedianTransitHours(std::string_view from, std::string_view to) {
  auto far = [](std::string_view c) { return c == "BR" || c == "AU" || c == "US"; };
  if (from == to) return 20;
  if (far(from) != far(to)) return (to == "BR" || from == "BR") ? 24 * 21 : 24 * 9;
  return 52;
}

struct Generated {
  Shipment shipment;
  std::string org;
  std::vector<TrackingEvent> events;
};

class Generator {
 public:
  Generator(size_t total, size_t events_per_shipment, Timestamp now)
      : total_(total), events_(events_per_shipment), now_(now), rng_(2026) {}

  Generated Next(size_t n) {
    Generated g;
    // 20 orgs of different sizes: org k gets weight 1/(k+1).
    static const std::vector<double> weights = [] {
      std::vector<double> w;
      for (int k = 0; k < 20; ++k) w.push_back(1.0 / (k + 1));
      return w;
    }();
    std::discrete_distribution<int> org(weights.begin(), weights.end());
    g.org = fmt::format("org-{:02d}", org(rng_));
    Shipment& s = g.shipment;
    s.id = fmt::format("S-{:08d}", n);
    s.reference = fmt::format("PO-{}", rng_() % 10'000'000);
    s.customer_id = fmt::format("C-{}", rng_() % 2000);
    s.carrier_id = std::string(kCarriers[rng_() % kCarriers.size()]);
    s.service = std::string(kServices[rng_() % kServices.size()]);
    std::string_view from = kCountries[rng_() % 4], to = kCountries[rng_() % kCountries.size()];
    s.origin = {{"country", std::string(from)},
                {"postalCode", fmt::format("{}", 1000 + rng_() % 9000)}};
    s.destination = {{"country", std::string(to)}};
    s.weight_kg = 0.1 * static_cast<double>(1 + rng_() % 300);
    s.declared_value = static_cast<double>(rng_() % 500'000) / 100.0;
    s.currency = "EUR";
    // Six months of shipments, the newest the most.
    double age_hours =
        24 * 182 * (1 - std::sqrt(std::uniform_real_distribution<double>(0, 1)(rng_)));
    s.created_at = now_ - std::chrono::minutes(static_cast<std::int64_t>(age_hours * 60));
    double median = MedianTransitHours(from, to);
    s.promised_delivery_at = s.created_at + std::chrono::hours(static_cast<int>(median * 1.4) + 12);
    double transit = median * std::lognormal_distribution<double>(0, 0.45)(rng_);
    Timestamp pickup = s.created_at + std::chrono::minutes(30 + rng_() % (24 * 60));
    Timestamp delivered = pickup + std::chrono::minutes(static_cast<std::int64_t>(transit * 60));
    // The document moves on its own only to booked; the rest comes from the carrier's
    // scans. Shipments whose delivery is still ahead are on their way.
    s.status = ShipmentStatus::kBooked;
    s.status_changed_at = s.created_at;
    std::vector<std::pair<std::string, Timestamp>> scans;
    if (pickup < now_) scans.emplace_back("PU", pickup);
    for (size_t i = 1; i + 2 < events_; ++i) {
      Timestamp at = pickup + (delivered - pickup) * static_cast<std::int64_t>(i) /
                                  static_cast<std::int64_t>(events_);
      if (at < now_) scans.emplace_back(rng_() % 50 == 0 ? "CUSTOMS_HOLD" : "IT", at);
    }
    Timestamp ofd = delivered - std::chrono::hours(3);
    if (ofd < now_) scans.emplace_back("OFD", ofd);
    if (delivered < now_) scans.emplace_back(rng_() % 40 == 0 ? "EX" : "DL", delivered);
    for (size_t i = 0; i < scans.size(); ++i) {
      g.events.push_back({fmt::format("E-{}-{}", n, i), s.id, s.carrier_id, scans[i].first,
                          scans[i].second, std::string(i == 0 ? from : to)});
    }
    return g;
  }

 private:
  size_t total_;
  size_t events_;
  Timestamp now_;
  std::mt19937_64 rng_;
};

// Fills `path` (a new source.db) with `total` shipments and their events, as the source
// store stores them, in large transactions; returns the number of events.
size_t Generate(const fs::path& path, const Flags& f, Timestamp now, const Clock* clock) {
  { auto store = Must(SourceStore::Open(path.string(), clock, {}), "create source.db"); }
  auto db = Must(Database::Open(path.string(), {}), "open source.db");
  Generator gen(f.shipments, f.events, now);
  std::unique_ptr<std::ofstream> csv_s, csv_e;
  if (!f.csv.empty()) {
    fs::create_directories(f.csv);
    csv_s = std::make_unique<std::ofstream>(fs::path(f.csv) / "shipments.csv");
    csv_e = std::make_unique<std::ofstream>(fs::path(f.csv) / "events.csv");
  }
  auto ts = [](const std::optional<Timestamp>& t) { return t ? FormatRfc3339(*t) : std::string(); };
  size_t events = 0;
  auto started = std::chrono::steady_clock::now();
  for (size_t n = 0; n < f.shipments;) {
    auto txn = Must(db->BeginWrite(), "begin");
    auto* put = Must(db->Prepare("INSERT INTO shipments (org, id, doc, updated_at) "
                                 "VALUES (?1, ?2, ?3, ?4)"),
                     "prepare");
    auto* ev = Must(db->Prepare("INSERT INTO tracking_events (org, carrier_id, event_id, "
                                "shipment_id, occurred_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                    "prepare");
    for (size_t k = 0; k < 20000 && n < f.shipments; ++k, ++n) {
      Generated g = gen.Next(n);
      put->Reset();
      put->Bind(1, g.org).Bind(2, g.shipment.id).Bind(3, core::ShipmentToJson(g.shipment).dump());
      put->Bind(4, ToMillis(now));
      Must(put->Run(), "insert shipment");
      for (const auto& e : g.events) {
        ev->Reset();
        ev->Bind(1, g.org).Bind(2, e.carrier_id).Bind(3, e.event_id).Bind(4, e.shipment_id);
        ev->Bind(5, ToMillis(e.occurred_at)).Bind(6, core::TrackingEventToJson(e).dump());
        Must(ev->Run(), "insert event");
        ++events;
        if (csv_e) {
          *csv_e << g.org << ',' << e.carrier_id << ',' << e.event_id << ',' << e.shipment_id << ','
                 << e.code << ',' << FormatRfc3339(e.occurred_at) << ',' << e.location << '\n';
        }
      }
      if (csv_s) {
        const Shipment& s = g.shipment;
        *csv_s << g.org << ',' << s.id << ',' << s.reference << ',' << s.customer_id << ','
               << s.carrier_id << ',' << s.service << ',' << core::ToString(s.status) << ','
               << ts(s.status_changed_at) << ',' << s.origin.Get("country") << ','
               << s.destination.Get("country") << ',' << *s.weight_kg << ',' << *s.declared_value
               << ',' << FormatRfc3339(s.created_at) << ',' << ts(s.promised_delivery_at) << '\n';
      }
    }
    Must(txn->Commit(), "commit");
    if (n % 200000 == 0 || n == f.shipments) {
      fmt::print(stderr, "  generated {} shipments, {} events ({:.0f} s)\n", n, events,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }
  // One oplog entry, so the source has a change token (what a snapshot reflects).
  Must(db->Exec("INSERT INTO oplog (wall_time, op, collection, org, doc_id, doc) VALUES "
                "(0, 'insert', 'customers', 'org-00', 'C-0', '{\"id\":\"C-0\",\"name\":\"x\"}')"),
       "oplog");
  Must(db->Exec(fmt::format("CREATE TABLE bench_meta (shipments INTEGER, events INTEGER, "
                            "per INTEGER); INSERT INTO bench_meta VALUES ({}, {}, {})",
                            f.shipments, events, f.events)),
       "meta");
  return events;
}

// The events of an existing generated source.db, if it was made with these flags.
std::optional<size_t> Reusable(const fs::path& path, const Flags& f) {
  if (!fs::exists(path)) return std::nullopt;
  auto db = Database::Open(path.string(), {});
  if (!db.ok()) return std::nullopt;
  auto st = (*db)->Prepare("SELECT shipments, events, per FROM bench_meta");
  if (!st.ok() || !(*st)->Step().ok()) return std::nullopt;
  if ((*st)->ColumnInt(0) != static_cast<std::int64_t>(f.shipments) ||
      (*st)->ColumnInt(2) != static_cast<std::int64_t>(f.events)) {
    return std::nullopt;
  }
  auto events = static_cast<size_t>((*st)->ColumnInt(1));
  (*st)->Reset();
  return events;
}

// Appends `n` tracking events for existing shipments to the source, as the platform would:
// `recent` picks among the newest 8% of each org's ids, otherwise uniformly. Returns the
// token of the last.
core::ChangeToken AppendEvents(SourceStore* src, Database* raw, const Flags& f, size_t n,
                               bool recent, Timestamp now, std::mt19937_64& rng) {
  static const std::array<std::string_view, 3> kCodes = {"IT", "OFD", "DL"};
  std::vector<double> weights;
  for (int k = 0; k < 20; ++k) weights.push_back(1.0 / (k + 1));
  std::discrete_distribution<int> pick_org(weights.begin(), weights.end());
  auto* next = Must(raw->Prepare("SELECT id FROM shipments WHERE org = ?1 AND id >= ?2 "
                                 "ORDER BY id LIMIT 1"),
                    "prepare");
  std::map<std::string, std::vector<TrackingEvent>> by_org;
  // New event ids on every run: a reused source.db already holds the last run's.
  const auto salt = std::chrono::steady_clock::now().time_since_epoch().count();
  core::ChangeToken last = 0;
  size_t made = 0;
  auto flush = [&] {
    for (auto& [org, events] : by_org) {
      if (events.empty()) continue;
      last = Must(src->InsertTrackingEvents(org, events), "insert events").token;
      events.clear();
    }
  };
  while (made < n) {
    std::string org = fmt::format("org-{:02d}", pick_org(rng));
    size_t first = recent ? f.shipments - f.shipments * 8 / 100 : 0;
    size_t at = first + rng() % (f.shipments - first);
    next->Reset();
    next->Bind(1, org).Bind(2, fmt::format("S-{:08d}", at));
    if (!Must(next->Step(), "pick")) continue;
    std::string id = next->ColumnText(0);
    by_org[org].push_back({fmt::format("A-{}-{}-{}", salt, recent ? "r" : "u", made), id, "dhl",
                           std::string(kCodes[rng() % kCodes.size()]),
                           now - std::chrono::minutes(rng() % 600), "NL"});
    if (++made % 2000 == 0) flush();
  }
  next->Reset();
  flush();
  return last;
}

// A views.db and the stream worker over it, as `serve` opens them (no metrics).
// Members are destroyed worker first.
struct Worker {
  Worker(const fs::path& views_db, SourceStore* src, const core::ViewSet& views, const Clock& clock,
         const Flags& f) {
    SqliteViewStore::Options options;
    options.cache_mib = f.views_cache_mib;
    store = Must(SqliteViewStore::Open(views_db.string(), &views, &clock, options), "open views");
    changes = Must(src->NewChangeSource(), "change source");
    worker = std::make_unique<worker::StreamWorker>(changes.get(), src, store.get(), &views,
                                                    core::ProjectionOptions{}, &clock, nullptr,
                                                    worker::WorkerOptions{});
  }
  std::unique_ptr<SqliteViewStore> store;
  std::unique_ptr<core::ChangeSource> changes;
  std::unique_ptr<worker::StreamWorker> worker;
};

int Main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> const char* {
      return a.rfind(name, 0) == 0 ? argv[i] + name.size() : nullptr;
    };
    if (auto v = value("--shipments=")) {
      f.shipments = std::stoull(v);
    } else if (auto v = value("--events=")) {
      f.events = std::max<size_t>(2, std::stoull(v));
    } else if (auto v = value("--dir=")) {
      f.dir = v;
    } else if (auto v = value("--reps=")) {
      f.reps = std::max(0, std::atoi(v));  // 0: no rebuild (--apply on the views.db in --dir)
    } else if (auto v = value("--csv=")) {
      f.csv = v;
    } else if (auto v = value("--apply=")) {
      f.apply = std::stoull(v);
    } else if (auto v = value("--views-cache-mib=")) {
      f.views_cache_mib = std::max(1, std::atoi(v));
    } else if (a == "--phases") {
      f.phases = true;
    } else if (a == "--keep") {
      f.keep = true;
    } else {
      fmt::print(stderr,
                 "usage: rebuild_bench [--shipments=N] [--events=PER_SHIPMENT] [--dir=DIR] "
                 "[--reps=N] [--keep] [--csv=DIR] [--phases] [--apply=EVENTS] "
                 "[--views-cache-mib=MIB]\n");
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::info);
  bool temporary = f.dir.empty();
  if (temporary) {
    std::string tmpl = (fs::temp_directory_path() / "rebuild-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp");
    f.dir = tmpl;
  }
  fs::create_directories(f.dir);
  fs::path source = fs::path(f.dir) / "source.db";
  // A fixed "now", so every run projects the same rows.
  ManualClock clock(*ParseRfc3339("2026-12-01T00:00:00Z"));
  std::optional<size_t> events = Reusable(source, f);
  if (!events || !f.csv.empty()) {
    fs::remove(source);
    fs::remove(source.string() + "-wal");
    fs::remove(source.string() + "-shm");
    fmt::print(stderr, "generating {} shipments into {}\n", f.shipments, source.string());
    events = Generate(source, f, clock.Now(), &clock);
  }
  fmt::print("rebuild of the six views: {} shipments, {} tracking events, source.db {:.0f} MB\n",
             f.shipments, *events, static_cast<double>(FileBytes(source)) / 1e6);

  core::ViewSet views = core::ViewSet::Default();
  auto src = Must(SourceStore::Open(source.string(), &clock, {}), "open source");
  if (f.phases) {
    // Where a rebuild's time goes: reading the snapshot alone, then reading and projecting
    // (the store's writes are the rest of the full figure).
    auto time = [](auto&& fn) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    size_t seen = 0;
    double scan = time([&] {
      Must(src->ScanShipments(std::nullopt,
                              [&](const core::SourceShipment& s) {
                                seen += s.events.size() + 1;
                                return Status::Ok();
                              })
               .status(),
           "scan");
    });
    double project = time([&] {
      core::SnapshotBuilder chunk(views, {}, clock.Now());
      Must(src->ScanShipments(std::nullopt,
                              [&](const core::SourceShipment& s) {
                                (void)chunk.Add(s);
                                if (chunk.pending_rows() >= 10000) (void)chunk.TakeRows();
                                return Status::Ok();
                              })
               .status(),
           "scan");
      (void)chunk.TakeRows();
      (void)chunk.TakeAggregates();
    });
    fmt::print("  phases: snapshot scan {:.2f} s; scan + projection {:.2f} s ({} documents)\n",
               scan, project, seen);
  }
  for (int rep = 0; rep < f.reps; ++rep) {
    fs::path vpath = fs::path(f.dir) / "views.db";
    for (const auto& suffix : {"", "-wal", "-shm"}) fs::remove(vpath.string() + suffix);
    std::optional<Worker> p(std::in_place, vpath, src.get(), views, clock, f);
    ResetPeakRss();
    AnonPeak anon;
    double cpu0 = CpuSeconds();
    auto t0 = std::chrono::steady_clock::now();
    Must(p->worker->Rebuild().status(), "rebuild");
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = CpuSeconds() - cpu0;
    double peak = PeakRssMib();
    double peak_anon = anon.Stop();
    p.reset();  // closes (and checkpoints) views.db
    double views_bytes = static_cast<double>(FileBytes(vpath) + FileBytes(vpath.string() + "-wal"));
    fmt::print(
        "  rep {}: {:.2f} s wall, {:.2f} s CPU (all threads), {:.1f} s per million shipments; "
        "peak RSS {:.0f} MiB, of it anonymous {:.0f} MiB (the rest mapped database pages); "
        "views.db {:.0f} MB = {:.0f} B per shipment\n",
        rep + 1, wall, cpu, wall * 1e6 / static_cast<double>(f.shipments), peak, peak_anon,
        views_bytes / 1e6, views_bytes / static_cast<double>(f.shipments));
  }
  if (f.apply > 0) {
    fs::path vpath = fs::path(f.dir) / "views.db";
    Worker p(vpath, src.get(), views, clock, f);
    auto raw = Must(Database::Open(source.string(), {}), "open source");
    std::mt19937_64 rng(7);
    for (bool recent : {true, false}) {
      core::ChangeToken last =
          AppendEvents(src.get(), raw.get(), f, f.apply, recent, clock.Now(), rng);
      double cpu0 = CpuSeconds();
      auto t0 = std::chrono::steady_clock::now();
      double peak_rss = 0;
      while (Must(p.store->Checkpoint(), "checkpoint") < last) {
        Must(p.worker->Step(Millis(0)).status(), "apply");
        peak_rss = std::max(peak_rss, StatusMib("VmRSS"));
      }
      double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double cpu = CpuSeconds() - cpu0;
      fmt::print(
          "  apply, {} shipments: {:.0f} events/s ({} events in {:.2f} s, {:.0f} us CPU per "
          "event); RSS up to {:.0f} MiB; views.db-wal {:.0f} MB\n",
          recent ? "recent" : "uniform", static_cast<double>(f.apply) / wall, f.apply, wall,
          cpu * 1e6 / static_cast<double>(f.apply), peak_rss,
          static_cast<double>(FileBytes(vpath.string() + "-wal")) / 1e6);
    }
  }
  if (temporary && !f.keep) fs::remove_all(f.dir);
  return 0;
}

}  // namespace
}  // namespace mv::bench

int main(int argc, char** argv) { return mv::bench::Main(argc, argv); }
