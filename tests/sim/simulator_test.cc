#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "base/time.h"
#include "core/domain.h"
#include "core/shipment_row.h"
#include "core/tracking.h"
#include "test_util.h"

namespace mv::sim {
namespace {

using core::Shipment;
using core::ShipmentRow;
using core::ShipmentStatus;
using core::TrackingEvent;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using storage::sqlite::SourceStore;

const Timestamp kStart = testing::T("2026-11-10T09:30:00Z");
const std::set<std::string> kCountries = {"NL", "DE", "BE", "FR", "GB", "US", "PL", "ES", "IT"};
const std::set<std::string> kCarrierIds = {"dhl", "ups", "fedex", "postnl", "dpd"};

using Key = std::pair<std::string, std::string>;  // (org, shipment id)

struct Doc {
  std::string org;
  std::string id;
  std::string json;
  bool operator==(const Doc&) const = default;
  bool operator<(const Doc& o) const { return std::tie(org, id) < std::tie(o.org, o.id); }
};

class SimulatorTest : public ::testing::Test {
 protected:
  std::unique_ptr<SourceStore> Open(const std::string& name, const Clock* clock) {
    auto store = SourceStore::Open(dir_.File(name), clock, {});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return std::move(store).value();
  }

  // Every shipment document, sorted by (org, id).
  static std::vector<Doc> Scan(SourceStore& store) {
    std::vector<Doc> docs;
    auto token = store.ScanShipments(std::nullopt, [&](const core::SourceShipment& d) {
      if (d.json) docs.push_back({d.org, d.id, *d.json});
      return Status::Ok();
    });
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    std::sort(docs.begin(), docs.end());
    return docs;
  }

  // Every shipment's tracking events as stored (duplicates dropped), by (org, id).
  static std::map<Key, std::vector<TrackingEvent>> ScanEvents(SourceStore& store) {
    std::map<Key, std::vector<TrackingEvent>> out;
    auto token = store.ScanShipments(std::nullopt, [&](const core::SourceShipment& d) {
      for (const std::string& text : d.events) {
        auto e = core::ParseTrackingEvent(nlohmann::json::parse(text));
        EXPECT_TRUE(e.ok()) << text;
        if (e.ok()) out[{d.org, d.id}].push_back(*e);
      }
      return Status::Ok();
    });
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    return out;
  }

  // Every shipment as the views see it at `now`: its document and its tracking events
  // combined (DESIGN.md section 5), by org.
  static std::map<std::string, std::vector<ShipmentRow>> ScanEffective(SourceStore& store,
                                                                       Timestamp now) {
    std::map<std::string, std::vector<ShipmentRow>> out;
    auto events = ScanEvents(store);
    const core::ProjectionOptions options;
    for (const auto& [org, docs] : ScanParsed(store)) {
      for (const Shipment& s : docs) {
        core::TrackingSummary summary;
        auto it = events.find({org, s.id});
        if (it != events.end()) {
          for (const TrackingEvent& e : it->second) {
            summary.Merge(e, options.codes.Map(e.carrier_id, e.code));
          }
        }
        out[org].push_back(
            core::Project(org, s, it == events.end() ? nullptr : &summary, now, options));
      }
    }
    return out;
  }

  // The oplog after `after`.
  static std::vector<core::ChangeEvent> Oplog(SourceStore& store, core::ChangeToken after) {
    auto source = store.NewChangeSource();
    EXPECT_TRUE(source.ok());
    if (!source.ok()) return {};
    auto events = (*source)->Read(after, 10000000, Millis(0));
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? std::move(*events) : std::vector<core::ChangeEvent>{};
  }

  // Every shipment, parsed, by org.
  static std::map<std::string, std::vector<Shipment>> ScanParsed(SourceStore& store) {
    std::map<std::string, std::vector<Shipment>> out;
    for (const Doc& d : Scan(store)) {
      auto s = core::ParseShipment(nlohmann::json::parse(d.json));
      EXPECT_TRUE(s.ok()) << d.id << ": " << s.status().ToString();
      if (s.ok()) out[d.org].push_back(*s);
    }
    return out;
  }

  testing::TempDir dir_;
};

// The timestamps of `s` tell a possible story, and none lies in the future.
void ExpectConsistent(const Shipment& s, Timestamp now) {
  SCOPED_TRACE(s.id);
  ASSERT_TRUE(s.status_changed_at.has_value());
  EXPECT_GE(*s.status_changed_at, s.created_at);
  EXPECT_LE(*s.status_changed_at, now);
  ASSERT_TRUE(s.promised_delivery_at.has_value());
  EXPECT_GT(*s.promised_delivery_at, s.created_at);
  bool picked = s.status != ShipmentStatus::kBooked && s.status != ShipmentStatus::kCancelled;
  EXPECT_EQ(s.picked_up_at.has_value(), picked) << core::ToString(s.status);
  if (s.picked_up_at) {
    EXPECT_GE(*s.picked_up_at, s.created_at);
    EXPECT_LE(*s.picked_up_at, *s.status_changed_at);
  }
  if (s.out_for_delivery_at) {
    ASSERT_TRUE(s.picked_up_at.has_value());
    EXPECT_GE(*s.out_for_delivery_at, *s.picked_up_at);
    EXPECT_LE(*s.out_for_delivery_at, *s.status_changed_at);
  }
  bool delivered = s.status == ShipmentStatus::kDelivered;
  EXPECT_EQ(s.delivered_at.has_value(), delivered);
  switch (s.status) {
    case ShipmentStatus::kPickedUp:
      EXPECT_EQ(s.picked_up_at, s.status_changed_at);
      break;
    case ShipmentStatus::kOutForDelivery:
      EXPECT_TRUE(s.out_for_delivery_at.has_value());
      break;
    case ShipmentStatus::kDelivered:
      ASSERT_TRUE(s.out_for_delivery_at.has_value());
      EXPECT_GE(*s.delivered_at, *s.out_for_delivery_at);
      EXPECT_EQ(s.delivered_at, s.status_changed_at);
      break;
    default:
      break;
  }
}

bool IsOpen(const Shipment& s) { return !core::IsTerminal(s.status); }

bool LegalMove(ShipmentStatus from, ShipmentStatus to) {
  using S = ShipmentStatus;
  static const std::set<std::pair<S, S>> kMoves = {
      {S::kBooked, S::kPickedUp},          {S::kBooked, S::kCancelled},
      {S::kPickedUp, S::kInTransit},       {S::kPickedUp, S::kException},
      {S::kInTransit, S::kOutForDelivery}, {S::kInTransit, S::kException},
      {S::kOutForDelivery, S::kDelivered}, {S::kOutForDelivery, S::kException},
      {S::kException, S::kInTransit},      {S::kException, S::kReturned},
  };
  return kMoves.count({from, to}) > 0;
}

TEST_F(SimulatorTest, SeedWritesValidShipmentsCustomersAndCarriersForEveryOrg) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  Simulator sim(store.get(), &clock, {});
  ASSERT_EQ(sim.orgs().size(), 4u);
  ASSERT_TRUE(sim.Seed().ok());

  auto by_org = ScanParsed(*store);
  ASSERT_EQ(by_org.size(), 4u);
  size_t total = 0;
  std::set<size_t> sizes;
  for (const std::string& org : sim.orgs()) {
    const auto& docs = by_org[org];
    ASSERT_FALSE(docs.empty()) << org;
    total += docs.size();
    sizes.insert(docs.size());
    for (const Shipment& s : docs) {
      SCOPED_TRACE(org + "/" + s.id);
      EXPECT_EQ(s.id.rfind("S-", 0), 0u);
      EXPECT_EQ(s.reference.rfind("PO-", 0), 0u);
      EXPECT_EQ(s.currency, "EUR");
      EXPECT_TRUE(kCarrierIds.count(s.carrier_id));
      EXPECT_FALSE(s.service.empty());
      EXPECT_TRUE(kCountries.count(s.origin.Get("country")));
      EXPECT_TRUE(kCountries.count(s.destination.Get("country")));
      ASSERT_TRUE(s.weight_kg && s.declared_value);
      EXPECT_GE(*s.weight_kg, 0.2);
      EXPECT_LE(*s.weight_kg, 30.0);
      EXPECT_GE(*s.declared_value, 5.0);
      EXPECT_LE(*s.declared_value, 2000.0);
      EXPECT_GE(s.created_at, kStart - hours(24 * 10));
    }
    // Every shipment names a customer and a carrier that exist.
    const Shipment& first = docs.front();
    auto customer = store->GetCustomer(org, first.customer_id);
    ASSERT_TRUE(customer.ok() && customer->has_value()) << first.customer_id;
    EXPECT_FALSE((*customer)->name.empty());
    for (const std::string& carrier_id : kCarrierIds) {
      auto carrier = store->GetCarrier(org, carrier_id);
      ASSERT_TRUE(carrier.ok() && carrier->has_value()) << carrier_id;
      EXPECT_TRUE((*carrier)->services.is_object());
      EXPECT_FALSE((*carrier)->services.empty());
    }
    auto read = store->GetShipment(org, first.id);
    ASSERT_TRUE(read.ok() && read->has_value());
    EXPECT_EQ(**read, first);
  }
  EXPECT_GE(total, 2000u);
  EXPECT_LE(total, 3000u);
  EXPECT_EQ(sizes.size(), 4u) << "orgs of clearly different sizes";
  auto dhl = store->GetCarrier("acme-retail", "dhl");
  ASSERT_TRUE(dhl.ok() && dhl->has_value());
  EXPECT_EQ((*dhl)->name, "DHL Express");
  EXPECT_EQ((*dhl)->services["express"]["transitDays"], 1);
  EXPECT_EQ((*dhl)->services["express"]["name"], "Express");
  EXPECT_TRUE((*dhl)->services["standard"]["name"].is_string());
}

TEST_F(SimulatorTest, CustomersHaveDistinctCompanyNames) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"tiny", 40, 5, 1.0}};
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  std::set<std::string> names;
  for (int i = 0; i < 40; ++i) {
    std::string id = "C-" + std::to_string(1001 + i);
    auto c = store->GetCustomer("tiny", id);
    ASSERT_TRUE(c.ok() && c->has_value()) << id;
    EXPECT_NE((*c)->name.find(' '), std::string::npos) << (*c)->name;
    names.insert((*c)->name);
  }
  EXPECT_EQ(names.size(), 40u);
  auto beyond = store->GetCustomer("tiny", "C-1041");
  ASSERT_TRUE(beyond.ok());
  EXPECT_FALSE(beyond->has_value());
  EXPECT_EQ(sim.stats().documents, 40u + 5u + 5u);  // customers, carriers, shipments
}

TEST_F(SimulatorTest, BacklogHasEveryStatusInEveryOrg) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"big", 50, 800, 1.0}, {"small", 3, 12, 1.0}};
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  for (const auto& [org, rows] : ScanEffective(*store, clock.Now())) {
    std::map<ShipmentStatus, int> counts;
    for (const ShipmentRow& r : rows) ++counts[r.shipment.status];
    EXPECT_EQ(counts.size(), core::kShipmentStatusCount) << org;
  }
}

TEST_F(SimulatorTest, BacklogTimestampsAreConsistent) {
  ManualClock clock(kStart + Millis(250));  // a "now" with milliseconds
  auto store = Open("source.db", &clock);
  Simulator sim(store.get(), &clock, {});
  ASSERT_TRUE(sim.Seed().ok());
  for (const auto& [org, docs] : ScanParsed(*store)) {
    for (const Shipment& s : docs) ExpectConsistent(s, clock.Now());
  }
  // The tracking events tell the same story as the documents that follow every move.
  for (const auto& [org, rows] : ScanEffective(*store, clock.Now())) {
    for (const ShipmentRow& r : rows) ExpectConsistent(r.shipment, clock.Now());
  }
}

TEST_F(SimulatorTest, BacklogHasShipmentsAboutToTurnAtRiskOrLate) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  Simulator sim(store.get(), &clock, {});
  ASSERT_TRUE(sim.Seed().ok());
  Timestamp now = clock.Now();
  for (const auto& [org, rows] : ScanEffective(*store, now)) {
    int promised_soon = 0, breached = 0, on_time = 0, late = 0;
    for (const ShipmentRow& r : rows) {
      const Shipment& s = r.shipment;
      if (IsOpen(s) && *s.promised_delivery_at > now && *s.promised_delivery_at <= now + hours(4)) {
        ++promised_soon;
      }
      if (IsOpen(s) && *s.promised_delivery_at < now) ++breached;
      if (s.delivered_at) ++(*s.delivered_at <= *s.promised_delivery_at ? on_time : late);
    }
    EXPECT_GT(promised_soon, 0) << org;
    EXPECT_GT(breached, 0) << org;
    EXPECT_GT(late, 0) << org;
    EXPECT_GT(on_time, 3 * late) << org << ": most deliveries are on time";
  }
}

// The canonical statuses a shipment's events tell, oldest first (EventOrder), repeats
// collapsed; unknown codes left out.
std::vector<ShipmentStatus> EventStory(std::vector<TrackingEvent> events) {
  static const core::CodeMapping codes = core::CodeMapping::Defaults();
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    return std::tie(a.occurred_at, a.carrier_id, a.event_id) <
           std::tie(b.occurred_at, b.carrier_id, b.event_id);
  });
  std::vector<ShipmentStatus> story;
  for (const TrackingEvent& e : events) {
    auto s = codes.Map(e.carrier_id, e.code);
    if (s && (story.empty() || story.back() != *s)) story.push_back(*s);
  }
  return story;
}

bool IsUnknown(const TrackingEvent& e) {
  static const core::CodeMapping codes = core::CodeMapping::Defaults();
  return !codes.Map(e.carrier_id, e.code).has_value() && e.code != "INFO" && e.code != "NOTE";
}

TEST_F(SimulatorTest, StepMovesLifecyclesLegally) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 20, 300, 2.0}, {"b", 5, 60, 1.0}};
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  std::map<Key, Shipment> last;
  for (const auto& [org, docs] : ScanParsed(*store)) {
    for (const Shipment& s : docs) last[{org, s.id}] = s;
  }
  core::ChangeToken after = store->committed().Get();
  SimulatorStats seeded = sim.stats();

  for (int i = 0; i < 2000; ++i) {
    clock.Advance(seconds(20));
    ASSERT_TRUE(sim.Step().ok());
  }
  EXPECT_EQ(sim.stats().steps, 2000u);

  // Every change is a document or a new tracking event; the counts add up.
  auto changes = Oplog(*store, after);
  const SimulatorStats& stats = sim.stats();
  EXPECT_EQ(changes.size(), (stats.documents - seeded.documents) +
                                (stats.events_sent - seeded.events_sent) -
                                (stats.duplicates_ignored - seeded.duplicates_ignored));
  int bookings = 0, doc_moves = 0;
  for (const core::ChangeEvent& e : changes) {
    if (e.collection != core::Collection::kShipments) continue;
    ASSERT_TRUE(e.full_document.has_value());
    auto s = core::ParseShipment(nlohmann::json::parse(*e.full_document));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ExpectConsistent(*s, e.wall_time);
    auto it = last.find({e.org, s->id});
    if (it == last.end()) {
      ++bookings;
      EXPECT_EQ(s->status, ShipmentStatus::kBooked) << s->id;
      // Created now, or minutes ago when the pickup scan came first.
      EXPECT_LE(s->created_at, e.wall_time) << s->id;
      EXPECT_GE(s->created_at, e.wall_time - minutes(10)) << s->id;
      EXPECT_GT(*s->promised_delivery_at, e.wall_time + minutes(59)) << s->id;
      last[{e.org, s->id}] = *s;
      continue;
    }
    ++doc_moves;
    const Shipment& before = it->second;
    EXPECT_EQ(s->status_changed_at, e.wall_time) << s->id << ": changed by this write";
    EXPECT_FALSE(core::IsTerminal(before.status)) << s->id << " moved after it ended";
    // A document that skipped an exception may say in_transit twice; nothing else repeats.
    if (s->status != ShipmentStatus::kInTransit) {
      EXPECT_NE(before.status, s->status) << s->id;
    }
    EXPECT_EQ(s->created_at, before.created_at);
    EXPECT_EQ(s->promised_delivery_at, before.promised_delivery_at);
    EXPECT_EQ(s->customer_id, before.customer_id);
    if (before.picked_up_at) {
      EXPECT_EQ(s->picked_up_at, before.picked_up_at);
    }
    it->second = *s;
  }
  EXPECT_GT(bookings, 0);
  EXPECT_GT(doc_moves, 0);
  // The store agrees with the last document of every shipment.
  std::map<Key, Shipment> stored;
  for (const auto& [org, docs] : ScanParsed(*store)) {
    for (const Shipment& s : docs) stored[{org, s.id}] = s;
  }
  EXPECT_EQ(stored, last);

  // The carriers' events, once all have arrived, tell a legal lifecycle of every shipment.
  ASSERT_TRUE(sim.FlushPending().ok());
  using S = ShipmentStatus;
  std::map<std::pair<S, S>, int> moves;
  for (const auto& [key, events] : ScanEvents(*store)) {
    S from = S::kBooked;
    for (S to : EventStory(events)) {
      EXPECT_TRUE(LegalMove(from, to))
          << key.second << ": " << core::ToString(from) << " -> " << core::ToString(to);
      ++moves[{from, to}];
      from = to;
    }
  }
  for (auto move :
       {std::pair{S::kBooked, S::kPickedUp}, std::pair{S::kPickedUp, S::kInTransit},
        std::pair{S::kInTransit, S::kOutForDelivery}, std::pair{S::kOutForDelivery, S::kDelivered},
        std::pair{S::kInTransit, S::kException}, std::pair{S::kException, S::kInTransit},
        std::pair{S::kException, S::kReturned}}) {
    EXPECT_GT(moves[move], 0) << core::ToString(move.first) << " -> "
                              << core::ToString(move.second);
  }
  // And documents and events combined are consistent.
  for (const auto& [org, rows] : ScanEffective(*store, clock.Now())) {
    for (const ShipmentRow& r : rows) ExpectConsistent(r.shipment, clock.Now());
  }
}

TEST_F(SimulatorTest, StepBooksWhenNothingIsDue) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 5, 0, 1.0}};
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(sim.Step().ok());  // the clock stands still
  auto docs = ScanParsed(*store)["a"];
  ASSERT_EQ(docs.size(), 20u);
  for (const Shipment& s : docs) {
    EXPECT_EQ(s.status, ShipmentStatus::kBooked);
    EXPECT_LE(s.created_at, kStart);
    EXPECT_GE(s.created_at, kStart - minutes(10));
  }
}

// A run of the default orgs, seeded and stepped `steps` times 20 s apart, everything
// held back then sent.
struct RunResult {
  std::vector<Doc> docs;
  std::map<Key, std::vector<TrackingEvent>> events;
  std::vector<core::ChangeEvent> oplog;
  SimulatorStats seeded;
  SimulatorStats stats;
  core::ChangeToken seed_token = 0;  // the last change Seed wrote
  core::ChangeToken token = 0;
  Timestamp now{};
};

class SimulatorRunTest : public SimulatorTest {
 protected:
  RunResult RunDefault(const std::string& name, std::uint64_t seed, int steps,
                       std::vector<std::string>* customer_names = nullptr) {
    RunResult out;
    ManualClock clock(kStart);
    auto store = Open(name, &clock);
    SimulatorOptions options;
    options.seed = seed;
    Simulator sim(store.get(), &clock, options);
    EXPECT_TRUE(sim.Seed().ok());
    out.seeded = sim.stats();
    out.seed_token = store->committed().Get();
    for (int i = 0; i < steps; ++i) {
      clock.Advance(seconds(20));
      EXPECT_TRUE(sim.Step().ok());
    }
    EXPECT_TRUE(sim.FlushPending().ok());
    out.docs = Scan(*store);
    out.events = ScanEvents(*store);
    out.oplog = Oplog(*store, 0);
    out.stats = sim.stats();
    out.token = store->committed().Get();
    out.now = clock.Now();
    if (customer_names != nullptr) {
      for (const std::string& org : sim.orgs()) {
        for (int i = 0; i < 10; ++i) {
          auto c = store->GetCustomer(org, "C-" + std::to_string(1001 + i));
          EXPECT_TRUE(c.ok() && c->has_value());
          if (c.ok() && c->has_value()) customer_names->push_back((*c)->name);
        }
        for (const std::string& id : kCarrierIds) {
          auto c = store->GetCarrier(org, id);
          EXPECT_TRUE(c.ok() && c->has_value());
          if (c.ok() && c->has_value()) customer_names->push_back((*c)->name);
        }
      }
    }
    effective_ = ScanEffective(*store, clock.Now());
    return out;
  }

  std::map<std::string, std::vector<ShipmentRow>> effective_;  // of the last run
};

TEST_F(SimulatorRunTest, TrackingEventsCoverEveryOrgAndEveryDelivery) {
  RunResult run = RunDefault("source.db", 42, 1500);
  std::map<std::string, size_t> events_by_org;
  for (const auto& [key, events] : run.events) events_by_org[key.first] += events.size();
  ASSERT_EQ(effective_.size(), 4u);
  for (const auto& [org, rows] : effective_) {
    SCOPED_TRACE(org);
    EXPECT_GT(events_by_org[org], rows.size()) << "several events per shipment";
    int delivered = 0, on_time = 0, late = 0;
    std::set<std::string> weeks;
    for (const ShipmentRow& r : rows) {
      const Shipment& s = r.shipment;
      auto it = run.events.find({org, s.id});
      std::set<std::string> codes;
      if (it != run.events.end()) {
        for (const TrackingEvent& e : it->second) codes.insert(e.code);
      }
      bool dl = codes.count("DL") > 0 || codes.count("POD") > 0;
      if (s.status == ShipmentStatus::kDelivered) {
        ++delivered;
        EXPECT_TRUE(codes.count("PU")) << s.id << ": delivered without a pickup scan";
        EXPECT_TRUE(dl) << s.id << ": delivered without a delivery scan";
        ASSERT_TRUE(s.picked_up_at && s.delivered_at) << s.id;
        EXPECT_GT(*s.delivered_at, *s.picked_up_at) << s.id;
        ++(*s.delivered_at <= *s.promised_delivery_at ? on_time : late);
        weeks.insert(FormatRfc3339(*s.picked_up_at).substr(0, 10));
      } else {
        EXPECT_FALSE(dl) << s.id << ": a delivery scan, yet " << core::ToString(s.status);
      }
      if (s.status != ShipmentStatus::kBooked && s.status != ShipmentStatus::kCancelled) {
        EXPECT_TRUE(codes.count("PU")) << s.id << ": " << core::ToString(s.status);
      }
    }
    EXPECT_GT(delivered, 20);
    EXPECT_GT(late, 0) << "carrier performance has late deliveries";
    EXPECT_GT(on_time, 3 * late);
    EXPECT_GT(weeks.size(), 5u) << "pickups spread over many days";
  }
}

TEST_F(SimulatorRunTest, ManyShipmentsProgressOnlyThroughTrackingEvents) {
  RunDefault("source.db", 42, 1000);
  int moved = 0, events_only = 0, document_shows = 0;
  for (const auto& [org, rows] : effective_) {
    for (const ShipmentRow& r : rows) {
      if (r.shipment.status == ShipmentStatus::kBooked) continue;
      ++moved;
      if (r.document.status == ShipmentStatus::kBooked) ++events_only;
      if (r.document.status == r.shipment.status) ++document_shows;
    }
  }
  EXPECT_GT(events_only, moved / 4) << "documents that still say booked";
  EXPECT_GT(document_shows, moved / 4) << "documents the platform keeps up to date";
}

TEST_F(SimulatorRunTest, EventsArriveDuplicatedLateUnknownAndEarly) {
  RunResult run = RunDefault("source.db", 42, 3000);
  const SimulatorStats& st = run.stats;

  // Duplicates: sent, and ignored by the store.
  size_t stored = 0;
  for (const auto& [key, events] : run.events) stored += events.size();
  EXPECT_GT(st.duplicates_sent, run.seeded.duplicates_sent) << "duplicates while running too";
  EXPECT_EQ(st.duplicates_ignored, st.duplicates_sent);
  EXPECT_EQ(stored, st.events_sent - st.duplicates_sent);

  // Out of order, unknown codes, events before their shipment: as the oplog saw them.
  std::map<Key, Timestamp> newest;
  std::set<Key> shipments;
  std::set<std::string> unknown_codes;
  int out_of_order = 0, out_of_order_live = 0, early = 0, unknown = 0;
  for (const core::ChangeEvent& c : run.oplog) {
    if (c.collection == core::Collection::kShipments) {
      shipments.insert({c.org, c.document_id});
      continue;
    }
    if (c.collection != core::Collection::kTrackingEvents) continue;
    ASSERT_TRUE(c.full_document.has_value());
    auto e = core::ParseTrackingEvent(nlohmann::json::parse(*c.full_document));
    ASSERT_TRUE(e.ok());
    Key key{c.org, e->shipment_id};
    auto [it, first] = newest.emplace(key, e->occurred_at);
    if (!first && e->occurred_at < it->second) {
      ++out_of_order;
      if (c.token > run.seed_token) ++out_of_order_live;
    }
    it->second = std::max(it->second, e->occurred_at);
    if (!shipments.count(key)) ++early;
    if (IsUnknown(*e)) {
      ++unknown;
      unknown_codes.insert(e->code);
      EXPECT_LE(e->occurred_at, c.wall_time);
    }
  }
  EXPECT_GT(out_of_order, 0);
  EXPECT_GT(out_of_order_live, 0) << "late events while running";
  EXPECT_GT(st.late_sent, run.seeded.late_sent);
  EXPECT_GT(unknown, 0);
  EXPECT_GT(unknown_codes.size(), 1u);
  EXPECT_GT(st.unknown_codes_sent, 0u);
  EXPECT_GT(early, 0) << "events that came before their shipment";
  EXPECT_EQ(static_cast<std::uint64_t>(early), st.early_sent);
  // Every early event's shipment exists by now.
  for (const auto& [key, t] : newest) EXPECT_TRUE(shipments.count(key)) << key.second;
}

TEST_F(SimulatorRunTest, CustomersGetRenamed) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  Simulator sim(store.get(), &clock, {});
  ASSERT_TRUE(sim.Seed().ok());
  core::ChangeToken after = store->committed().Get();
  for (int i = 0; i < 3000; ++i) {
    clock.Advance(seconds(20));
    ASSERT_TRUE(sim.Step().ok());
  }
  EXPECT_GT(sim.stats().customer_renames, 0u);
  std::map<Key, std::string> latest;
  int renames = 0;
  for (const core::ChangeEvent& c : Oplog(*store, after)) {
    if (c.collection != core::Collection::kCustomers) continue;
    ++renames;
    auto doc = nlohmann::json::parse(*c.full_document);
    auto customer = core::ParseCustomer(c.document_id, doc);
    ASSERT_TRUE(customer.ok());
    latest[{c.org, c.document_id}] = customer->name;
  }
  EXPECT_EQ(static_cast<std::uint64_t>(renames), sim.stats().customer_renames);
  for (const auto& [key, name] : latest) {
    auto now = store->GetCustomer(key.first, key.second);
    ASSERT_TRUE(now.ok() && now->has_value());
    EXPECT_EQ((*now)->name, name);
    EXPECT_NE(name.find(' '), std::string::npos) << name;
  }
}

TEST_F(SimulatorRunTest, SameSeedSameContents) {
  std::vector<std::string> names_one, names_two, names_other;
  auto first = RunDefault("one.db", 7, 500, &names_one);
  auto second = RunDefault("two.db", 7, 500, &names_two);
  auto other = RunDefault("three.db", 8, 500, &names_other);
  ASSERT_FALSE(first.docs.empty());
  ASSERT_FALSE(first.events.empty());
  EXPECT_TRUE(first.docs == second.docs);
  EXPECT_TRUE(first.events == second.events);
  EXPECT_EQ(names_one, names_two);
  EXPECT_EQ(first.token, second.token);
  EXPECT_EQ(first.stats.events_sent, second.stats.events_sent);
  EXPECT_EQ(first.stats.duplicates_sent, second.stats.duplicates_sent);
  EXPECT_EQ(first.stats.late_sent, second.stats.late_sent);
  ASSERT_EQ(first.oplog.size(), second.oplog.size());
  for (size_t i = 0; i < first.oplog.size(); ++i) {
    EXPECT_EQ(first.oplog[i].document_id, second.oplog[i].document_id) << i;
    EXPECT_EQ(first.oplog[i].full_document, second.oplog[i].full_document) << i;
  }
  EXPECT_FALSE(first.docs == other.docs);
  EXPECT_FALSE(first.events == other.events);
}

TEST_F(SimulatorTest, TokenGrowsWithEveryStep) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 10, 100, 3.0}, {"b", 4, 20, 1.0}};
  Simulator sim(store.get(), &clock, options);
  EXPECT_EQ(store->committed().Get(), 0);
  ASSERT_TRUE(sim.Seed().ok());
  std::int64_t token = store->committed().Get();
  EXPECT_GT(token, 0);
  for (int i = 0; i < 300; ++i) {
    clock.Advance(seconds(30));
    std::uint64_t steps = sim.stats().steps;
    ASSERT_TRUE(sim.Step().ok());
    EXPECT_GT(store->committed().Get(), token) << "every step writes";
    EXPECT_EQ(sim.stats().steps, steps + 1);
    token = store->committed().Get();
  }
}

TEST_F(SimulatorTest, RejectsUnusableOptions) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  std::atomic<bool> stop{true};
  for (const auto& orgs :
       std::vector<std::vector<OrgSpec>>{{{"a", 5, 10, 1.0}, {"a", 5, 10, 1.0}},  // twice
                                         {{"no spaces", 5, 10, 1.0}},
                                         {{"a", 0, 10, 1.0}},
                                         {{"a", 5, 10, 0.0}}}) {
    SimulatorOptions options;
    options.orgs = orgs;
    Simulator sim(store.get(), &clock, options);
    EXPECT_EQ(sim.Seed().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(sim.Step().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(sim.Run(stop).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(sim.FlushPending().code(), StatusCode::kInvalidArgument);
  }
  SimulatorOptions options;
  options.writes_per_second = 0;
  Simulator sim(store.get(), &clock, options);
  EXPECT_EQ(sim.Run(stop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->committed().Get(), 0) << "nothing written";
}

TEST_F(SimulatorTest, RunPacesStepsAndStopsWhenAsked) {
  SystemClock clock;
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 5, 20, 1.0}};
  options.writes_per_second = 100;
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());

  std::atomic<bool> stop{false};
  Status result = Status::Internal("not run");
  auto started = std::chrono::steady_clock::now();
  std::thread runner([&] { result = sim.Run(stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  auto stopping = std::chrono::steady_clock::now();
  runner.join();
  auto stopped = std::chrono::steady_clock::now();

  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_LT(stopped - stopping, std::chrono::milliseconds(500));
  double elapsed = std::chrono::duration<double>(stopped - started).count();
  std::uint64_t steps = sim.stats().steps;
  EXPECT_GT(steps, 10u);
  EXPECT_LE(steps, static_cast<std::uint64_t>(100 * elapsed) + 2) << "paced, not flat out";
}

TEST_F(SimulatorTest, StepReturnsTheStoreError) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 5, 0, 1.0}};
  Simulator sim(store.get(), &clock, options);
  // Make the store fail: a trigger that rejects every shipment insert.
  {
    auto db = storage::sqlite::Database::Open(dir_.File("source.db"), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("CREATE TRIGGER no_shipments BEFORE INSERT ON shipments "
                           "BEGIN SELECT RAISE(ABORT, 'read only today'); END;")
                    .ok());
  }
  Status s = sim.Step();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("read only today"), std::string::npos) << s.ToString();
  EXPECT_EQ(sim.stats().documents, 0u);
  EXPECT_EQ(sim.stats().steps, 0u);
}

}  // namespace
}  // namespace mv::sim
