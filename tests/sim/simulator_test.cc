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

namespace mv::sim {
namespace {

using core::Shipment;
using core::ShipmentStatus;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using storage::sqlite::SourceStore;

const Timestamp kStart = *ParseRfc3339("2026-11-10T09:30:00Z");
const std::set<std::string> kCountries = {"NL", "DE", "BE", "FR", "GB", "US", "PL", "ES", "IT"};
const std::set<std::string> kCarrierIds = {"dhl", "ups", "fedex", "postnl", "dpd"};

struct Doc {
  std::string org;
  std::string id;
  std::string json;
  bool operator==(const Doc&) const = default;
  bool operator<(const Doc& o) const { return std::tie(org, id) < std::tie(o.org, o.id); }
};

class SimulatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("viya-sim-") + info->name() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SourceStore> Open(const std::string& name, const Clock* clock) {
    auto store = SourceStore::Open((dir_ / name).string(), clock, {});
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

  std::filesystem::path dir_;
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
      EXPECT_TRUE(kCountries.count(s.origin.value("country", "")));
      EXPECT_TRUE(kCountries.count(s.destination.value("country", "")));
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
  EXPECT_EQ(sim.writes(), 40u + 5u + 5u);  // customers, carriers, shipments
}

TEST_F(SimulatorTest, BacklogHasEveryStatusInEveryOrg) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"big", 50, 800, 1.0}, {"small", 3, 12, 1.0}};
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  for (const auto& [org, docs] : ScanParsed(*store)) {
    std::map<ShipmentStatus, int> counts;
    for (const Shipment& s : docs) ++counts[s.status];
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
}

TEST_F(SimulatorTest, BacklogHasShipmentsAboutToTurnAtRiskOrLate) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  Simulator sim(store.get(), &clock, {});
  ASSERT_TRUE(sim.Seed().ok());
  Timestamp now = clock.Now();
  for (const auto& [org, docs] : ScanParsed(*store)) {
    int promised_soon = 0, breached = 0, on_time = 0, late = 0;
    for (const Shipment& s : docs) {
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

TEST_F(SimulatorTest, StepMovesLifecyclesLegally) {
  ManualClock clock(kStart);
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 20, 300, 2.0}, {"b", 5, 60, 1.0}};
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  std::map<std::pair<std::string, std::string>, Shipment> last;
  for (const auto& [org, docs] : ScanParsed(*store)) {
    for (const Shipment& s : docs) last[{org, s.id}] = s;
  }
  core::ChangeToken after = store->committed().Get();

  for (int i = 0; i < 2000; ++i) {
    clock.Advance(seconds(20));
    ASSERT_TRUE(sim.Step().ok());
  }

  auto source = store->NewChangeSource();
  ASSERT_TRUE(source.ok());
  auto events = (*source)->Read(after, 100000, Millis(0));
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2000u) << "one write per step";
  std::map<std::pair<ShipmentStatus, ShipmentStatus>, int> moves;
  int bookings = 0;
  for (const core::ChangeEvent& e : *events) {
    ASSERT_EQ(e.collection, core::Collection::kShipments);
    ASSERT_TRUE(e.full_document.has_value());
    auto s = core::ParseShipment(nlohmann::json::parse(*e.full_document));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ExpectConsistent(*s, e.wall_time);
    EXPECT_EQ(s->status_changed_at, e.wall_time) << s->id << ": changed by this write";
    auto it = last.find({e.org, s->id});
    if (it == last.end()) {
      ++bookings;
      EXPECT_EQ(s->status, ShipmentStatus::kBooked) << s->id;
      EXPECT_EQ(s->created_at, e.wall_time) << s->id;
      EXPECT_GT(*s->promised_delivery_at, e.wall_time + minutes(59)) << s->id;
      last[{e.org, s->id}] = *s;
      continue;
    }
    const Shipment& before = it->second;
    EXPECT_FALSE(core::IsTerminal(before.status)) << s->id << " moved after it ended";
    EXPECT_TRUE(LegalMove(before.status, s->status))
        << s->id << ": " << core::ToString(before.status) << " -> " << core::ToString(s->status);
    EXPECT_EQ(s->created_at, before.created_at);
    EXPECT_EQ(s->promised_delivery_at, before.promised_delivery_at);
    EXPECT_EQ(s->customer_id, before.customer_id);
    if (before.picked_up_at) {
      EXPECT_EQ(s->picked_up_at, before.picked_up_at);
    }
    ++moves[{before.status, s->status}];
    it->second = *s;
  }
  using S = ShipmentStatus;
  EXPECT_GT(bookings, 0);
  for (auto move :
       {std::pair{S::kBooked, S::kPickedUp}, std::pair{S::kPickedUp, S::kInTransit},
        std::pair{S::kInTransit, S::kOutForDelivery}, std::pair{S::kOutForDelivery, S::kDelivered},
        std::pair{S::kInTransit, S::kException}, std::pair{S::kException, S::kInTransit}}) {
    EXPECT_GT(moves[move], 0) << core::ToString(move.first) << " -> "
                              << core::ToString(move.second);
  }
  // The store agrees with the last document of every shipment.
  for (const auto& [org, docs] : ScanParsed(*store)) {
    for (const Shipment& s : docs) EXPECT_EQ(s, (last[{org, s.id}])) << s.id;
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
    EXPECT_EQ(s.created_at, kStart);
  }
}

TEST_F(SimulatorTest, SameSeedSameContents) {
  auto run = [&](const std::string& name, std::uint64_t seed) {
    ManualClock clock(kStart);
    auto store = Open(name, &clock);
    SimulatorOptions options;
    options.seed = seed;
    Simulator sim(store.get(), &clock, options);
    EXPECT_TRUE(sim.Seed().ok());
    for (int i = 0; i < 500; ++i) {
      clock.Advance(seconds(15));
      EXPECT_TRUE(sim.Step().ok());
    }
    std::vector<std::string> customers;
    for (const std::string& org : sim.orgs()) {
      for (int i = 0; i < 10; ++i) {
        auto c = store->GetCustomer(org, "C-" + std::to_string(1001 + i));
        EXPECT_TRUE(c.ok() && c->has_value());
        if (c.ok() && c->has_value()) customers.push_back((*c)->name);
      }
    }
    return std::tuple(Scan(*store), customers, store->committed().Get());
  };
  auto first = run("one.db", 7);
  auto second = run("two.db", 7);
  auto other = run("three.db", 8);
  ASSERT_FALSE(std::get<0>(first).empty());
  EXPECT_TRUE(std::get<0>(first) == std::get<0>(second));
  EXPECT_EQ(std::get<1>(first), std::get<1>(second));
  EXPECT_EQ(std::get<2>(first), std::get<2>(second));
  EXPECT_FALSE(std::get<0>(first) == std::get<0>(other));
}

TEST_F(SimulatorTest, TokenGrowsWithEveryWrite) {
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
    std::uint64_t writes = sim.writes();
    ASSERT_TRUE(sim.Step().ok());
    EXPECT_GT(store->committed().Get(), token);
    EXPECT_EQ(sim.writes(), writes + 1);
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
  }
  SimulatorOptions options;
  options.writes_per_second = 0;
  Simulator sim(store.get(), &clock, options);
  EXPECT_EQ(sim.Run(stop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->committed().Get(), 0) << "nothing written";
}

TEST_F(SimulatorTest, RunPacesWritesAndStopsWhenAsked) {
  SystemClock clock;
  auto store = Open("source.db", &clock);
  SimulatorOptions options;
  options.orgs = {{"a", 5, 20, 1.0}};
  options.writes_per_second = 100;
  Simulator sim(store.get(), &clock, options);
  ASSERT_TRUE(sim.Seed().ok());
  std::uint64_t seeded = sim.writes();

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
  std::uint64_t steps = sim.writes() - seeded;
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
    auto db = storage::sqlite::Database::Open((dir_ / "source.db").string(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)
                    ->Exec("CREATE TRIGGER no_shipments BEFORE INSERT ON shipments "
                           "BEGIN SELECT RAISE(ABORT, 'read only today'); END;")
                    .ok());
  }
  Status s = sim.Step();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("read only today"), std::string::npos) << s.ToString();
  EXPECT_EQ(sim.writes(), 0u);
}

}  // namespace
}  // namespace mv::sim
