#include "sim/simulator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "core/domain.h"

// Time model. The backlog written by Seed is a realistic picture of the last ~10 days:
// each shipment gets a lifecycle plan in real-world durations (hours to days) and is
// written in the state that plan has reached at "now". The live moves of Step are
// compressed so a demo watched for minutes sees shipments go through their lifecycle:
// an open shipment becomes due for its next move a few minutes after its last one (a
// few get stuck for hours and breach their promise), and Step books a new shipment
// when no open one is due. All randomness comes from one std::mt19937_64, read through
// the helpers below (whose results, unlike the std distributions', are the same on
// every standard library), in a fixed order: same seed, same clock, same documents.

namespace mv::sim {
namespace {

using core::Shipment;
using core::ShipmentStatus;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Rng = std::mt19937_64;

constexpr int kFirstShipmentNumber = 100001;
constexpr int kFirstCustomerNumber = 1001;
constexpr size_t kSeedBatch = 500;
constexpr Millis kBacklogWindow = hours(24 * 10);  // the backlog was created over this
// Of steps that book rather than move. Must stay below 1 / (1 + moves per shipment,
// ~4.4) or the open pool outgrows the moves; steps also book when nothing is due.
constexpr double kBookingShare = 0.12;
constexpr double kShortPromiseChance = 0.05;  // bookings promised within 1-3 hours
constexpr double kCancelChance = 0.01;        // of moves of a booked shipment
constexpr double kExceptionChance = 0.05;     // of moves of a shipment under way
constexpr double kResumeChance = 0.75;        // of exceptions that resume (else return)
constexpr double kStuckChance = 0.01;         // live open states that stall 1-4 hours
constexpr double kBacklogStuckChance = 0.05;  // open backlog shipments that stall 1-6 hours
// Shipments due within kUrgentWindow stall more often: they breach while watched.
constexpr double kUrgentStuckChance = 0.08;
constexpr double kUrgentBacklogStuckChance = 0.35;
constexpr Millis kUrgentWindow = std::chrono::hours(4);  // the default SLA at-risk window
constexpr double kOriginHomeChance = 0.8;                // shipments leaving from the org's country
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr auto kLogInterval = std::chrono::seconds(10);

// --- randomness -------------------------------------------------------------------

double Unit(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }  // [0, 1)
double Uniform(Rng& rng, double lo, double hi) { return lo + (hi - lo) * Unit(rng); }
bool Chance(Rng& rng, double p) { return Unit(rng) < p; }

// Uniform in [lo, hi].
std::int64_t UniformInt(Rng& rng, std::int64_t lo, std::int64_t hi) {
  auto span = static_cast<std::uint64_t>(hi - lo) + 1;
  return lo + static_cast<std::int64_t>(rng() % span);
}

// A whole number of seconds in [lo, hi].
Millis Duration(Rng& rng, Millis lo, Millis hi) {
  auto lo_s = std::chrono::ceil<seconds>(lo).count();
  auto hi_s = std::chrono::floor<seconds>(hi).count();
  return seconds(UniformInt(rng, lo_s, std::max(lo_s, hi_s)));
}

// `d` times `f`, rounded to whole seconds.
Millis Scale(Millis d, double f) {
  return seconds(std::llround(static_cast<double>(d.count()) / 1000.0 * f));
}

// An index drawn with probability proportional to weight_of(item); at least one weight
// must be positive.
template <typename Range, typename WeightOf>
size_t PickWeighted(Rng& rng, const Range& items, WeightOf weight_of) {
  double total = 0;
  for (const auto& item : items) total += weight_of(item);
  double x = Unit(rng) * total;
  size_t i = 0, last_positive = 0;
  for (const auto& item : items) {
    double w = weight_of(item);
    if (w > 0) {
      last_positive = i;
      if (x < w) return i;
      x -= w;
    }
    ++i;
  }
  return last_positive;  // rounding left x just above the total
}

// Rounds to a multiple of `unit` (0.1, 0.01); dividing by the scale gives the double
// nearest to the decimal, so it prints as "48.12", not "48.120000000000005".
double Round(double v, double unit) {
  const double scale = std::round(1.0 / unit);
  return std::round(v * scale) / scale;
}

// --- reference data ---------------------------------------------------------------

const std::vector<OrgSpec>& DefaultOrgs() {
  static const std::vector<OrgSpec> orgs = {
      {"acme-retail", 120, 1100, 4.0},
      {"globex-parts", 60, 650, 2.0},
      {"initech-labs", 12, 180, 0.6},
      {"umbrella-pharma", 45, 550, 1.6},
  };
  return orgs;
}

constexpr std::array<std::string_view, 30> kCompanyWords = {
    "Hooli",    "Stark",     "Wayne",      "Cyberdyne",  "Soylent",   "Tyrell",
    "Vandelay", "Wonka",     "Oscorp",     "Initrode",   "Gringotts", "Dunder Mifflin",
    "Gekko",    "Nakatomi",  "Virtucon",   "Monarch",    "Sterling",  "Bluth",
    "Prestige", "Duff",      "Aperture",   "Black Mesa", "Spacely",   "Cogswell",
    "Octan",    "Kramerica", "Ollivander", "Wernham",    "Lacuna",    "Tessier-Ashpool"};
constexpr std::array<std::string_view, 12> kSectors = {
    "Logistics", "Trading",    "Industries", "Foods",         "Retail",  "Electronics",
    "Supplies",  "Components", "Textiles",   "Home & Garden", "Outdoor", "Health"};
constexpr std::array<std::string_view, 10> kLegalForms = {
    "GmbH", "B.V.", "Ltd", "SAS", "S.p.A.", "S.L.", "Sp. z o.o.", "Inc.", "NV", "AG"};

struct ServiceSpec {
  std::string_view code;
  int transit_days;
  double weight;
};
struct CarrierSpec {
  std::string_view id;
  std::string_view name;
  double weight;       // market share
  double late_chance;  // of backlog deliveries after the promise
  std::array<ServiceSpec, 2> services;
};
constexpr std::array<CarrierSpec, 5> kCarriers = {{
    {"dhl", "DHL Express", 30, 0.08, {{{"express", 1, 35}, {"standard", 3, 65}}}},
    {"ups", "UPS", 15, 0.10, {{{"express", 1, 40}, {"standard", 3, 60}}}},
    {"fedex", "FedEx", 10, 0.12, {{{"express", 1, 50}, {"economy", 5, 50}}}},
    {"postnl", "PostNL", 25, 0.15, {{{"standard", 2, 75}, {"economy", 4, 25}}}},
    {"dpd", "DPD", 20, 0.20, {{{"standard", 2, 70}, {"economy", 4, 30}}}},
}};

const CarrierSpec& FindCarrier(std::string_view id) {
  for (const auto& c : kCarriers) {
    if (c.id == id) return c;
  }
  assert(false && "shipments only use carriers of kCarriers");
  return kCarriers[0];
}

int TransitDays(const CarrierSpec& carrier, std::string_view service) {
  for (const auto& s : carrier.services) {
    if (s.code == service) return s.transit_days;
  }
  return carrier.services.back().transit_days;
}

struct CountrySpec {
  std::string_view code;
  double weight;  // share of destinations
};
constexpr std::array<CountrySpec, 9> kCountries = {{{"NL", 22},
                                                    {"DE", 22},
                                                    {"BE", 10},
                                                    {"FR", 12},
                                                    {"GB", 10},
                                                    {"US", 6},
                                                    {"PL", 6},
                                                    {"ES", 6},
                                                    {"IT", 6}}};

// A city and its postal code pattern: '#' becomes a digit, '@' a capital letter.
struct Place {
  std::string_view country;
  std::string_view city;
  std::string_view postal;
};
constexpr std::array<Place, 27> kPlaces = {{
    {"NL", "Amsterdam", "10## @@"}, {"NL", "Rotterdam", "30## @@"}, {"NL", "Utrecht", "35## @@"},
    {"DE", "Berlin", "10###"},      {"DE", "Hamburg", "20###"},     {"DE", "Munich", "80###"},
    {"BE", "Brussels", "1###"},     {"BE", "Antwerp", "2###"},      {"BE", "Ghent", "9###"},
    {"FR", "Paris", "750##"},       {"FR", "Lyon", "6900#"},        {"FR", "Marseille", "130##"},
    {"GB", "London", "EC#@ #@@"},   {"GB", "Manchester", "M# #@@"}, {"GB", "Birmingham", "B# #@@"},
    {"US", "New York", "100##"},    {"US", "Chicago", "606##"},     {"US", "Los Angeles", "900##"},
    {"PL", "Warsaw", "0#-###"},     {"PL", "Krakow", "3#-###"},     {"PL", "Gdansk", "80-###"},
    {"ES", "Madrid", "280##"},      {"ES", "Barcelona", "080##"},   {"ES", "Valencia", "460##"},
    {"IT", "Milan", "201##"},       {"IT", "Rome", "001##"},        {"IT", "Turin", "101##"},
}};

std::string PostalCode(Rng& rng, std::string_view pattern) {
  std::string out;
  for (char c : pattern) {
    if (c == '#') {
      out += static_cast<char>('0' + UniformInt(rng, 0, 9));
    } else if (c == '@') {
      out += static_cast<char>('A' + UniformInt(rng, 0, 25));
    } else {
      out += c;
    }
  }
  return out;
}

nlohmann::json Address(Rng& rng, std::string_view country) {
  std::vector<const Place*> places;
  for (const auto& p : kPlaces) {
    if (p.country == country) places.push_back(&p);
  }
  const Place& place = *places[UniformInt(rng, 0, static_cast<std::int64_t>(places.size()) - 1)];
  std::string postal = PostalCode(rng, place.postal);
  return {{"country", place.country}, {"city", place.city}, {"postalCode", postal}};
}

std::string_view PickCountry(Rng& rng) {
  return kCountries[PickWeighted(rng, kCountries, [](const auto& c) { return c.weight; })].code;
}

// Where the org ships from, most of the time.
std::string_view HomeCountry(size_t org) { return kCountries[org % kCountries.size()].code; }

// "Hooli GmbH", "Stark Logistics B.V.".
std::string CompanyName(Rng& rng) {
  std::string name(kCompanyWords[UniformInt(rng, 0, kCompanyWords.size() - 1)]);
  if (Chance(rng, 0.6)) {
    name += ' ';
    name += kSectors[UniformInt(rng, 0, kSectors.size() - 1)];
  }
  name += ' ';
  name += kLegalForms[UniformInt(rng, 0, kLegalForms.size() - 1)];
  return name;
}

std::string CustomerId(int index) { return fmt::format("C-{}", kFirstCustomerNumber + index); }

// --- lifecycle plans --------------------------------------------------------------

// A shipment's lifecycle as offsets from its creation, strictly increasing, starting
// with booked at 0.
struct Milestone {
  Millis at;
  ShipmentStatus status;
};
using Plan = std::vector<Milestone>;

// Booked -> picked up -> in transit -> out for delivery -> delivered, delivered before
// `span` (the promise) or, when `late`, 1-30 hours after it.
Plan DeliveryPlan(Rng& rng, Millis span, bool late) {
  Millis d =
      late ? span + Duration(rng, hours(1), hours(30)) : Scale(span, Uniform(rng, 0.55, 0.97));
  Millis p = std::min(Duration(rng, minutes(30), hours(10)), Scale(d, 0.25));
  Millis t = p + Scale(d - p, Uniform(rng, 0.05, 0.2));
  Millis o = d - std::min(Duration(rng, hours(1), hours(6)), Scale(d - t, 0.5));
  return {{Millis(0), ShipmentStatus::kBooked},
          {p, ShipmentStatus::kPickedUp},
          {t, ShipmentStatus::kInTransit},
          {o, ShipmentStatus::kOutForDelivery},
          {d, ShipmentStatus::kDelivered}};
}

// Picked up, then an exception in transit that ends in a return.
Plan ReturnPlan(Rng& rng, Millis span) {
  Plan plan = DeliveryPlan(rng, span, false);
  Millis t = plan[2].at, o = plan[3].at;
  Millis e = t + Scale(o - t, Uniform(rng, 0.2, 0.8));
  Millis x = e + Duration(rng, hours(6), hours(36));
  plan.resize(3);
  plan.push_back({e, ShipmentStatus::kException});
  plan.push_back({x, ShipmentStatus::kReturned});
  return plan;
}

Plan CancelPlan(Rng& rng) {
  return {{Millis(0), ShipmentStatus::kBooked},
          {Duration(rng, minutes(10), hours(6)), ShipmentStatus::kCancelled}};
}

// A time since creation at which `plan` is in `status` (which it must contain).
Millis InStage(Rng& rng, const Plan& plan, ShipmentStatus status) {
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i].status != status) continue;
    Millis a = plan[i].at;
    Millis b = i + 1 < plan.size() ? plan[i + 1].at : std::max(a + hours(1), kBacklogWindow);
    return a + Duration(rng, Millis(0), b - a - seconds(1));
  }
  assert(false && "the plan does not contain the status");
  return plan.back().at;
}

// Moves `doc` (created at doc.created_at) through the milestones of `plan` reached
// `elapsed` after creation; statusChangedAt is the time of the last one.
void Apply(const Plan& plan, Millis elapsed, Shipment* doc) {
  for (const Milestone& m : plan) {
    if (m.at > elapsed) break;
    Timestamp t = doc->created_at + m.at;
    doc->status = m.status;
    doc->status_changed_at = t;
    if (m.status == ShipmentStatus::kPickedUp) doc->picked_up_at = t;
    if (m.status == ShipmentStatus::kOutForDelivery) doc->out_for_delivery_at = t;
    if (m.status == ShipmentStatus::kDelivered) doc->delivered_at = t;
  }
}

// What the backlog holds, by weight. The first kBacklogMix.size() shipments of every
// org take one entry each, in order, so every stage is present.
enum class Anchor {
  kStage,        // somewhere inside the `target` stage of its plan
  kNearPromise,  // open, its promise 5 minutes to 5 hours ahead (turns at_risk/breached)
  kOverdue,      // open and already past its promise (breached)
};
struct BacklogMix {
  Anchor anchor;
  ShipmentStatus target;
  double weight;
};
constexpr std::array<BacklogMix, 10> kBacklogMix = {{
    {Anchor::kStage, ShipmentStatus::kBooked, 9},
    {Anchor::kStage, ShipmentStatus::kPickedUp, 6},
    {Anchor::kStage, ShipmentStatus::kInTransit, 12},
    {Anchor::kStage, ShipmentStatus::kOutForDelivery, 5},
    {Anchor::kStage, ShipmentStatus::kDelivered, 50},
    {Anchor::kStage, ShipmentStatus::kException, 5},
    {Anchor::kStage, ShipmentStatus::kReturned, 2},
    {Anchor::kStage, ShipmentStatus::kCancelled, 2},
    {Anchor::kNearPromise, ShipmentStatus::kInTransit, 7},
    {Anchor::kOverdue, ShipmentStatus::kInTransit, 2},
}};

// --- live moves -------------------------------------------------------------------

// The status after `s` (which is open). Only exception goes back (to in_transit).
ShipmentStatus NextStatus(Rng& rng, ShipmentStatus s) {
  switch (s) {
    case ShipmentStatus::kBooked:
      return Chance(rng, kCancelChance) ? ShipmentStatus::kCancelled : ShipmentStatus::kPickedUp;
    case ShipmentStatus::kPickedUp:
      return Chance(rng, kExceptionChance) ? ShipmentStatus::kException
                                           : ShipmentStatus::kInTransit;
    case ShipmentStatus::kInTransit:
      return Chance(rng, kExceptionChance) ? ShipmentStatus::kException
                                           : ShipmentStatus::kOutForDelivery;
    case ShipmentStatus::kOutForDelivery:
      return Chance(rng, kExceptionChance) ? ShipmentStatus::kException
                                           : ShipmentStatus::kDelivered;
    case ShipmentStatus::kException:
      return Chance(rng, kResumeChance) ? ShipmentStatus::kInTransit : ShipmentStatus::kReturned;
    default:
      return s;  // terminal: no move
  }
}

// Sets the status at `t` and the milestone it reaches. Milestones keep their first time
// (a second delivery attempt after an exception keeps the first outForDeliveryAt).
void MoveTo(ShipmentStatus status, Timestamp t, Shipment* doc) {
  doc->status = status;
  doc->status_changed_at = t;
  if (status == ShipmentStatus::kPickedUp && !doc->picked_up_at) doc->picked_up_at = t;
  if (status == ShipmentStatus::kOutForDelivery && !doc->out_for_delivery_at) {
    doc->out_for_delivery_at = t;
  }
  if (status == ShipmentStatus::kDelivered) doc->delivered_at = t;
}

// How long a live shipment stays in `status` before it is due to move on.
Millis Dwell(Rng& rng, ShipmentStatus status) {
  switch (status) {
    case ShipmentStatus::kBooked:
      return Duration(rng, minutes(1), minutes(6));
    case ShipmentStatus::kPickedUp:
      return Duration(rng, minutes(1), minutes(4));
    case ShipmentStatus::kInTransit:
      return Duration(rng, minutes(2), minutes(12));
    case ShipmentStatus::kOutForDelivery:
      return Duration(rng, minutes(1), minutes(6));
    default:
      return Duration(rng, minutes(5), minutes(20));
  }
}

Status ValidateOptions(const SimulatorOptions& options) {
  std::set<std::string> seen;
  double total_weight = 0;
  for (const OrgSpec& o : options.orgs) {
    if (!core::IsValidId(o.org)) {
      return Status::InvalidArgument(fmt::format("sim: bad organization id '{}'", o.org));
    }
    if (!seen.insert(o.org).second) {
      return Status::InvalidArgument(fmt::format("sim: organization '{}' given twice", o.org));
    }
    if (o.customers < 1 || o.initial_shipments < 0 || !std::isfinite(o.weight) || o.weight < 0) {
      return Status::InvalidArgument(fmt::format(
          "sim: organization '{}' needs customers >= 1, initial_shipments >= 0, weight >= 0",
          o.org));
    }
    total_weight += o.weight;
  }
  if (!(total_weight > 0)) return Status::InvalidArgument("sim: all organization weights are 0");
  return Status::Ok();
}

}  // namespace

Simulator::Simulator(storage::sqlite::SourceStore* store, const Clock* clock,
                     SimulatorOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), rng_(options_.seed) {
  if (options_.orgs.empty()) options_.orgs = DefaultOrgs();
  options_status_ = ValidateOptions(options_);
  open_.resize(options_.orgs.size());
  next_id_.assign(options_.orgs.size(), kFirstShipmentNumber);
}

std::vector<std::string> Simulator::orgs() const {
  std::vector<std::string> out;
  for (const OrgSpec& o : options_.orgs) out.push_back(o.org);
  return out;
}

Status Simulator::Seed() {
  MV_RETURN_IF_ERROR(options_status_);
  Timestamp now = clock_->Now();
  for (size_t org = 0; org < options_.orgs.size(); ++org) {
    MV_RETURN_IF_ERROR(SeedDirectory(org));
    MV_RETURN_IF_ERROR(SeedBacklog(org, now));
  }
  spdlog::info("sim: seeded {} organizations, {} documents", options_.orgs.size(), writes_);
  return Status::Ok();
}

Status Simulator::SeedDirectory(size_t org) {
  const OrgSpec& spec = options_.orgs[org];
  std::set<std::string> names;
  for (int i = 0; i < spec.customers; ++i) {
    std::string name = CompanyName(rng_);
    for (int attempt = 0; attempt < 50 && names.count(name) > 0; ++attempt) {
      name = CompanyName(rng_);
    }
    if (names.count(name) > 0) name += fmt::format(" ({})", i + 1);
    names.insert(name);
    auto r = store_->PutCustomer(spec.org, core::Customer{CustomerId(i), name});
    if (!r.ok()) return r.status();
    ++writes_;
  }
  for (const CarrierSpec& c : kCarriers) {
    nlohmann::json services = nlohmann::json::object();
    for (const ServiceSpec& s : c.services) {
      services[std::string(s.code)] = {{"transitDays", s.transit_days}};
    }
    auto r = store_->PutCarrier(
        spec.org, core::Carrier{std::string(c.id), std::string(c.name), std::move(services)});
    if (!r.ok()) return r.status();
    ++writes_;
  }
  return Status::Ok();
}

Status Simulator::SeedBacklog(size_t org, Timestamp now) {
  Timestamp base = std::chrono::floor<seconds>(now);
  std::vector<Shipment> batch;
  int total = options_.orgs[org].initial_shipments;
  for (int i = 0; i < total; ++i) {
    batch.push_back(BacklogShipment(org, static_cast<size_t>(i), base));
    if (batch.size() < kSeedBatch && i + 1 < total) continue;
    MV_RETURN_IF_ERROR(Write(org, batch));
    for (Shipment& doc : batch) Track(org, std::move(doc), now, /*backlog=*/true);
    batch.clear();
  }
  return Status::Ok();
}

Shipment Simulator::BacklogShipment(size_t org, size_t index, Timestamp base) {
  size_t pick = index < kBacklogMix.size()
                    ? index
                    : PickWeighted(rng_, kBacklogMix, [](const auto& m) { return m.weight; });
  const BacklogMix& mix = kBacklogMix[pick];
  Shipment doc = NewShipment(org, base);
  Millis span = *doc.promised_delivery_at - base;
  Plan plan;
  Millis elapsed{0};
  switch (mix.anchor) {
    case Anchor::kNearPromise:
      plan = DeliveryPlan(rng_, span, /*late=*/true);
      elapsed = span - Duration(rng_, minutes(5), hours(5));
      break;
    case Anchor::kOverdue:
      plan = DeliveryPlan(rng_, span, /*late=*/true);
      elapsed = span + Scale(plan.back().at - span, Uniform(rng_, 0.1, 0.9));
      break;
    case Anchor::kStage:
      if (mix.target == ShipmentStatus::kCancelled) {
        plan = CancelPlan(rng_);
      } else if (mix.target == ShipmentStatus::kException ||
                 mix.target == ShipmentStatus::kReturned) {
        plan = ReturnPlan(rng_, span);
      } else {
        bool late = Chance(rng_, FindCarrier(doc.carrier_id).late_chance);
        plan = DeliveryPlan(rng_, span, late);
      }
      elapsed = InStage(rng_, plan, mix.target);
      break;
  }
  doc.created_at = base - elapsed;
  doc.promised_delivery_at = doc.created_at + span;
  doc.status_changed_at = doc.created_at;
  Apply(plan, elapsed, &doc);
  return doc;
}

Shipment Simulator::NewShipment(size_t org, Timestamp created) {
  Shipment s;
  s.id = fmt::format("S-{}", next_id_[org]++);
  s.reference = fmt::format("PO-{}", UniformInt(rng_, 10000, 99999));
  // Skewed: a few customers ship most.
  double u = Unit(rng_);
  s.customer_id = CustomerId(static_cast<int>(u * u * options_.orgs[org].customers));
  const CarrierSpec& carrier =
      kCarriers[PickWeighted(rng_, kCarriers, [](const auto& c) { return c.weight; })];
  s.carrier_id = std::string(carrier.id);
  s.service = std::string(
      carrier.services[PickWeighted(rng_, carrier.services, [](const auto& x) { return x.weight; })]
          .code);
  std::string_view from = Chance(rng_, kOriginHomeChance) ? HomeCountry(org) : PickCountry(rng_);
  std::string_view to = PickCountry(rng_);
  s.origin = Address(rng_, from);
  s.destination = Address(rng_, to);
  double w = Unit(rng_);
  s.weight_kg = Round(0.2 + 29.8 * w * w, 0.1);
  s.declared_value = Round(5.0 * std::pow(400.0, Unit(rng_)), 0.01);
  s.currency = "EUR";
  s.status = ShipmentStatus::kBooked;
  s.created_at = created;
  s.status_changed_at = created;
  int days = TransitDays(carrier, s.service) + (from == to ? 0 : 1);
  s.promised_delivery_at = created + hours(24 * days) + Duration(rng_, hours(2), hours(10));
  return s;
}

Status Simulator::Step() {
  MV_RETURN_IF_ERROR(options_status_);
  Timestamp now = clock_->Now();
  size_t org = PickWeighted(rng_, options_.orgs, [](const OrgSpec& o) { return o.weight; });
  if (!Chance(rng_, kBookingShare)) {
    MV_ASSIGN_OR_RETURN(bool moved, AdvanceDue(org, now));
    if (moved) return Status::Ok();
  }
  return Book(org, now);
}

Status Simulator::Book(size_t org, Timestamp now) {
  Shipment doc = NewShipment(org, now);
  if (Chance(rng_, kShortPromiseChance)) {
    const CarrierSpec& carrier = FindCarrier(doc.carrier_id);
    if (carrier.services[0].code == "express") doc.service = "express";
    doc.promised_delivery_at = now + Duration(rng_, hours(1), hours(3));
  }
  MV_RETURN_IF_ERROR(Write(org, {doc}));
  Track(org, std::move(doc), now, /*backlog=*/false);
  return Status::Ok();
}

Result<bool> Simulator::AdvanceDue(size_t org, Timestamp now) {
  std::vector<OpenShipment>& open = open_[org];
  auto is_due = [now](const OpenShipment& o) { return o.due <= now; };
  auto due = static_cast<std::int64_t>(std::count_if(open.begin(), open.end(), is_due));
  if (due == 0) return false;
  std::int64_t k = UniformInt(rng_, 0, due - 1);
  size_t i = 0;
  for (;; ++i) {
    if (is_due(open[i]) && k-- == 0) break;
  }
  Shipment doc = open[i].doc;
  // Never before the last change, even if the clock stepped back.
  Timestamp t = std::max(now, doc.status_changed_at.value_or(doc.created_at));
  MoveTo(NextStatus(rng_, doc.status), t, &doc);
  MV_RETURN_IF_ERROR(Write(org, {doc}));
  if (i + 1 != open.size()) open[i] = std::move(open.back());
  open.pop_back();
  Track(org, std::move(doc), now, /*backlog=*/false);
  return true;
}

void Simulator::Track(size_t org, Shipment doc, Timestamp now, bool backlog) {
  if (core::IsTerminal(doc.status)) return;
  bool urgent = doc.promised_delivery_at && *doc.promised_delivery_at - now < kUrgentWindow;
  double stuck = backlog ? (urgent ? kUrgentBacklogStuckChance : kBacklogStuckChance)
                         : (urgent ? kUrgentStuckChance : kStuckChance);
  Millis wait{0};
  if (Chance(rng_, stuck)) {
    wait = Duration(rng_, hours(1), backlog ? hours(6) : hours(4));
  } else {
    wait = Dwell(rng_, doc.status);
    // A backlog shipment has been in its stage for a while already.
    if (backlog) wait = Scale(wait, Unit(rng_));
  }
  open_[org].push_back({std::move(doc), now + wait});
}

Status Simulator::Write(size_t org, const std::vector<Shipment>& docs) {
  auto r = store_->UpsertShipments(options_.orgs[org].org, docs);
  if (!r.ok()) return r.status();
  writes_ += docs.size();
  return Status::Ok();
}

Status Simulator::Run(const std::atomic<bool>& stop) {
  MV_RETURN_IF_ERROR(options_status_);
  double rate = options_.writes_per_second;
  if (!std::isfinite(rate) || rate <= 0) {
    return Status::InvalidArgument("sim: writes_per_second must be > 0");
  }
  using Steady = std::chrono::steady_clock;
  const auto interval =
      std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(1.0 / rate));
  Steady::time_point next = Steady::now();
  Steady::time_point last_log = next;
  std::uint64_t writes_at_last_log = writes_;
  while (!stop.load()) {
    Steady::time_point now = Steady::now();
    if (now < next) {
      std::this_thread::sleep_for(std::min<Steady::duration>(next - now, kPollInterval));
      continue;
    }
    MV_RETURN_IF_ERROR(Step());
    next += interval;
    if (now - next > std::chrono::seconds(1)) next = now;  // fell behind: do not burst
    if (now - last_log >= kLogInterval) {
      double secs = std::chrono::duration<double>(now - last_log).count();
      LogProgress(static_cast<double>(writes_ - writes_at_last_log) / secs);
      last_log = now;
      writes_at_last_log = writes_;
    }
  }
  return Status::Ok();
}

void Simulator::LogProgress(double writes_per_second) const {
  std::string open;
  for (size_t org = 0; org < options_.orgs.size(); ++org) {
    if (!open.empty()) open += ", ";
    open += fmt::format("{}={}", options_.orgs[org].org, open_[org].size());
  }
  spdlog::info("sim: {} writes ({:.1f}/s); open shipments: {}", writes_, writes_per_second, open);
}

}  // namespace mv::sim
