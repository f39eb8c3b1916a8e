#include "sim/simulator.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <iterator>
#include <limits>
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
//
// Truth and its reports. The simulator keeps each open shipment's true state (what the
// carrier sees) and reports it twice: the carrier sends tracking events for every
// milestone (occurredAt is the milestone's time, never the send time), and the platform
// rewrites the shipment document at every move, at some moves, or never (DocMode). Late
// and duplicate events wait in `pending_` until their send time; the views must come out
// the same as if everything had arrived at once and in order.

namespace mv::sim {
namespace {

using core::Shipment;
using core::ShipmentStatus;
using core::TrackingEvent;
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
// How documents follow (the rest: never after the booking, events only).
constexpr double kEveryMoveShare = 0.4;
constexpr double kSometimesShare = 0.2;
constexpr double kSometimesWriteChance = 0.4;  // of the moves of a kSometimes shipment
// Tracking-event realism.
constexpr double kLateChance = 0.04;             // of events: held back 1-15 minutes (live)
constexpr double kDuplicateChance = 0.05;        // of events: sent again 20 s - 10 min later
constexpr double kUnknownCodeChance = 0.06;      // of moves (and backlog shipments, twice that)
constexpr double kEarlyScanChance = 0.05;        // of bookings: the pickup scan comes first
constexpr double kPodChance = 0.3;               // of deliveries reported as POD, not DL
constexpr double kCustomerRenameChance = 0.002;  // per step
constexpr double kCarrierRenameChance = 0.0002;  // per step
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
// What a renamed company becomes: "Stark Logistics B.V." -> "Stark Logistics Group".
constexpr std::array<std::string_view, 6> kRenameSuffixes = {"Group",  "Holding",   "International",
                                                             "Europe", "Worldwide", "& Co"};

// Codes no mapping knows: they change no milestone but are the row's last event.
constexpr std::array<std::string_view, 5> kUnknownCodes = {"XSCAN", "CUSTOMS_HOLD", "HUB_SORT",
                                                           "WEIGHT_CHECK", "ADDR_VERIFY"};
bool IsUnknownCode(std::string_view code) {
  return std::find(kUnknownCodes.begin(), kUnknownCodes.end(), code) != kUnknownCodes.end();
}
// Sorting centres that in-transit scans come from.
constexpr std::array<std::string_view, 10> kHubs = {
    "Leipzig", "Cologne", "Liege",         "Venlo", "Duisburg",
    "Roissy",  "Madrid",  "East Midlands", "Milan", "Poznan"};

struct ServiceSpec {
  std::string_view code;
  std::string_view name;
  int transit_days;
  double weight;
};
struct CarrierSpec {
  std::string_view id;
  std::array<std::string_view, 2> names;  // the first at seed time; renames alternate
  double weight;                          // market share
  double late_chance;                     // of backlog deliveries after the promise
  std::array<ServiceSpec, 2> services;
};
constexpr std::array<CarrierSpec, 5> kCarriers = {{
    {"dhl",
     {"DHL Express", "DHL Group"},
     30,
     0.08,
     {{{"express", "Express", 1, 35}, {"standard", "Standard", 3, 65}}}},
    {"ups",
     {"UPS", "United Parcel Service"},
     15,
     0.10,
     {{{"express", "Express Saver", 1, 40}, {"standard", "Standard", 3, 60}}}},
    {"fedex",
     {"FedEx", "FedEx Express"},
     10,
     0.12,
     {{{"express", "Priority", 1, 50}, {"economy", "Economy", 5, 50}}}},
    {"postnl",
     {"PostNL", "PostNL Parcels"},
     25,
     0.15,
     {{{"standard", "Standard", 2, 75}, {"economy", "Mailbox", 4, 25}}}},
    {"dpd",
     {"DPD", "DPD Group"},
     20,
     0.20,
     {{{"standard", "Classic", 2, 70}, {"economy", "Economy", 4, 30}}}},
}};

nlohmann::json ServicesJson(const CarrierSpec& c) {
  nlohmann::json services = nlohmann::json::object();
  for (const ServiceSpec& s : c.services) {
    services[std::string(s.code)] = {{"name", s.name}, {"transitDays", s.transit_days}};
  }
  return services;
}

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

core::Address Address(Rng& rng, std::string_view country) {
  std::vector<const Place*> places;
  for (const auto& p : kPlaces) {
    if (p.country == country) places.push_back(&p);
  }
  const Place& place = *places[UniformInt(rng, 0, static_cast<std::int64_t>(places.size()) - 1)];
  std::string postal = PostalCode(rng, place.postal);
  return {{"country", std::string(place.country)},
          {"city", std::string(place.city)},
          {"postalCode", postal}};
}

std::string_view PickCountry(Rng& rng) {
  return kCountries[PickWeighted(rng, kCountries, [](const auto& c) { return c.weight; })].code;
}

// Where the org ships from, most of the time.
std::string_view HomeCountry(size_t org) { return kCountries[org % kCountries.size()].code; }

// "Hooli", "Stark Logistics": a company name without its legal form.
std::string CompanyStem(Rng& rng) {
  std::string name(kCompanyWords[UniformInt(rng, 0, kCompanyWords.size() - 1)]);
  if (Chance(rng, 0.6)) {
    name += ' ';
    name += kSectors[UniformInt(rng, 0, kSectors.size() - 1)];
  }
  return name;
}

// "Hooli GmbH", "Stark Logistics B.V.".
std::string WithLegalForm(Rng& rng, const std::string& stem) {
  return stem + ' ' + std::string(kLegalForms[UniformInt(rng, 0, kLegalForms.size() - 1)]);
}

// A new name for the company `stem` that differs from `current`.
std::string Renamed(Rng& rng, const std::string& stem, const std::string& current) {
  for (;;) {
    std::string name = stem + ' ';
    name += Chance(rng, 0.5) ? kRenameSuffixes[UniformInt(rng, 0, kRenameSuffixes.size() - 1)]
                             : kLegalForms[UniformInt(rng, 0, kLegalForms.size() - 1)];
    if (name != current) return name;
  }
}

std::string CityOf(const core::Address& address) { return address.Get("city"); }

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

// --- tracking events --------------------------------------------------------------

// A carrier scan of `s`; the caller numbers it (Simulator::NumberEvents).
TrackingEvent MakeEvent(const Shipment& s, std::string_view code, Timestamp at,
                        std::string location) {
  TrackingEvent e;
  e.shipment_id = s.id;
  e.carrier_id = s.carrier_id;
  e.code = std::string(code);
  e.occurred_at = at;
  e.location = std::move(location);
  return e;
}

std::string HubCity(Rng& rng) { return std::string(kHubs[UniformInt(rng, 0, kHubs.size() - 1)]); }

std::string_view UnknownCode(Rng& rng) {
  return kUnknownCodes[UniformInt(rng, 0, kUnknownCodes.size() - 1)];
}

void SortByTime(std::vector<TrackingEvent>* events) {
  std::stable_sort(events->begin(), events->end(),
                   [](const auto& a, const auto& b) { return a.occurred_at < b.occurred_at; });
}

// The scans a carrier sent for `s` (created at s.created_at, lifecycle `plan`) in the
// first `elapsed` of its life, oldest first: one per milestone (the platform's booking
// and cancellation have none), in-transit scans at hubs, the arrival at the destination
// depot before out-for-delivery, and sometimes a code no mapping knows.
std::vector<TrackingEvent> PlanEvents(Rng& rng, const Shipment& s, const Plan& plan,
                                      Millis elapsed) {
  std::vector<TrackingEvent> out;
  const std::string origin = CityOf(s.origin), dest = CityOf(s.destination);
  const Timestamp end = s.created_at + elapsed;
  for (size_t i = 1; i < plan.size() && plan[i].at <= elapsed; ++i) {
    Timestamp at = s.created_at + plan[i].at;
    Timestamp prev = s.created_at + plan[i - 1].at;
    Timestamp next = i + 1 < plan.size() ? std::min(s.created_at + plan[i + 1].at, end) : end;
    switch (plan[i].status) {
      case ShipmentStatus::kPickedUp:
        out.push_back(MakeEvent(s, "PU", at, origin));
        break;
      case ShipmentStatus::kInTransit: {
        out.push_back(MakeEvent(s, "DEP", at, origin));
        auto hubs = UniformInt(rng, 0, 2);
        if (next - at < minutes(10)) break;
        for (std::int64_t j = 0; j < hubs; ++j) {
          // Within the first half of the stage: the destination depot's ARR comes later.
          Timestamp when = at + Scale(next - at, 0.5 * static_cast<double>(j + 1) /
                                                     static_cast<double>(hubs + 1));
          out.push_back(MakeEvent(s, j % 2 == 0 ? "ARR" : "IT", when, HubCity(rng)));
        }
        break;
      }
      case ShipmentStatus::kOutForDelivery: {
        Millis before = std::min(Duration(rng, minutes(30), hours(3)), Scale(at - prev, 0.4));
        out.push_back(MakeEvent(s, "ARR", at - before, dest));
        out.push_back(MakeEvent(s, "OFD", at, dest));
        break;
      }
      case ShipmentStatus::kDelivered:
        out.push_back(MakeEvent(s, Chance(rng, kPodChance) ? "POD" : "DL", at, dest));
        break;
      case ShipmentStatus::kException:
        out.push_back(MakeEvent(s, Chance(rng, 0.5) ? "EX" : "DELAY", at, HubCity(rng)));
        break;
      case ShipmentStatus::kReturned:
        out.push_back(MakeEvent(s, "RT", at, origin));
        break;
      default:
        break;
    }
  }
  if (!out.empty() && Chance(rng, 2 * kUnknownCodeChance)) {
    Timestamp first = out.front().occurred_at, last = out.back().occurred_at;
    out.push_back(
        MakeEvent(s, UnknownCode(rng), first + Scale(last - first, Unit(rng)), HubCity(rng)));
  }
  SortByTime(&out);
  return out;
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
  size_t n = options_.orgs.size();
  open_.resize(n);
  next_id_.assign(n, kFirstShipmentNumber);
  next_event_.assign(n, 1);
  customer_stems_.resize(n);
  customer_names_.resize(n);
  carrier_names_.assign(n, std::vector<size_t>(kCarriers.size(), 0));
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
  spdlog::info("sim: seeded {} organizations, {} documents, {} tracking events",
               options_.orgs.size(), stats_.documents, stats_.events_sent);
  return Status::Ok();
}

Status Simulator::SeedDirectory(size_t org) {
  const OrgSpec& spec = options_.orgs[org];
  std::set<std::string> names;
  for (int i = 0; i < spec.customers; ++i) {
    std::string stem = CompanyStem(rng_);
    std::string name = WithLegalForm(rng_, stem);
    for (int attempt = 0; attempt < 50 && names.count(name) > 0; ++attempt) {
      stem = CompanyStem(rng_);
      name = WithLegalForm(rng_, stem);
    }
    if (names.count(name) > 0) name += fmt::format(" ({})", i + 1);
    names.insert(name);
    auto r = store_->PutCustomer(spec.org, core::Customer{CustomerId(i), name});
    if (!r.ok()) return r.status();
    ++stats_.documents;
    customer_stems_[org].push_back(std::move(stem));
    customer_names_[org].push_back(std::move(name));
  }
  for (const CarrierSpec& c : kCarriers) {
    auto r = store_->PutCarrier(
        spec.org, core::Carrier{std::string(c.id), std::string(c.names[0]), ServicesJson(c)});
    if (!r.ok()) return r.status();
    ++stats_.documents;
  }
  return Status::Ok();
}

Status Simulator::SeedBacklog(size_t org, Timestamp now) {
  Timestamp base = std::chrono::floor<seconds>(now);
  std::vector<Shipment> docs;
  std::vector<TrackingEvent> events;
  std::vector<std::pair<Shipment, DocMode>> open;
  int total = options_.orgs[org].initial_shipments;
  for (int i = 0; i < total; ++i) {
    BacklogEntry entry = BacklogShipment(org, static_cast<size_t>(i), base);
    docs.push_back(std::move(entry.doc));
    std::move(entry.events.begin(), entry.events.end(), std::back_inserter(events));
    open.emplace_back(std::move(entry.truth), entry.mode);
    if (docs.size() < kSeedBatch && i + 1 < total) continue;
    MV_RETURN_IF_ERROR(Write(org, docs));
    MV_RETURN_IF_ERROR(
        Dispatch(org, std::move(events), now, /*backlog=*/true, /*may_hold_all=*/true));
    MV_RETURN_IF_ERROR(SendDue(now));  // the held-back ones, after the rest of the batch
    for (auto& [truth, mode] : open) Track(org, std::move(truth), mode, now, /*backlog=*/true);
    docs.clear();
    events.clear();
    open.clear();
  }
  return Status::Ok();
}

Simulator::BacklogEntry Simulator::BacklogShipment(size_t org, size_t index, Timestamp base) {
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

  BacklogEntry entry;
  entry.truth = doc;
  Apply(plan, elapsed, &entry.truth);
  entry.mode = PickDocMode();
  entry.doc = std::move(doc);  // as booked
  if (entry.mode == DocMode::kEveryMove || entry.truth.status == ShipmentStatus::kCancelled) {
    entry.doc = entry.truth;
  } else if (entry.mode == DocMode::kSometimes) {
    // As of one of the milestones reached so far.
    auto reached = std::count_if(plan.begin(), plan.end(),
                                 [&](const Milestone& m) { return m.at <= elapsed; });
    Apply(plan, plan[UniformInt(rng_, 0, reached - 1)].at, &entry.doc);
  }
  entry.events = PlanEvents(rng_, entry.truth, plan, elapsed);
  NumberEvents(org, &entry.events);
  return entry;
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

Simulator::DocMode Simulator::PickDocMode() {
  double u = Unit(rng_);
  if (u < kEveryMoveShare) return DocMode::kEveryMove;
  if (u < kEveryMoveShare + kSometimesShare) return DocMode::kSometimes;
  return DocMode::kNever;
}

Status Simulator::Step() {
  MV_RETURN_IF_ERROR(options_status_);
  Timestamp now = clock_->Now();
  MV_RETURN_IF_ERROR(SendDue(now));
  MV_RETURN_IF_ERROR(MaybeRename());
  size_t org = PickWeighted(rng_, options_.orgs, [](const OrgSpec& o) { return o.weight; });
  bool moved = false;
  if (!Chance(rng_, kBookingShare)) {
    MV_ASSIGN_OR_RETURN(moved, AdvanceDue(org, now));
  }
  if (!moved) MV_RETURN_IF_ERROR(Book(org, now));
  ++stats_.steps;
  return Status::Ok();
}

Status Simulator::Book(size_t org, Timestamp now) {
  // Now and then the carrier's pickup scan (a drop-off at a parcel shop) reaches the
  // source before the platform writes the booking made minutes earlier.
  bool early = Chance(rng_, kEarlyScanChance);
  Timestamp created = early ? now - Duration(rng_, minutes(2), minutes(10)) : now;
  Shipment doc = NewShipment(org, created);
  if (Chance(rng_, kShortPromiseChance)) {
    const CarrierSpec& carrier = FindCarrier(doc.carrier_id);
    if (carrier.services[0].code == "express") doc.service = "express";
    doc.promised_delivery_at = now + Duration(rng_, hours(1), hours(3));
  }
  Shipment truth = doc;
  if (early) {
    Timestamp picked_up = created + Scale(now - created, Uniform(rng_, 0.3, 0.9));
    MoveTo(ShipmentStatus::kPickedUp, picked_up, &truth);
    std::vector<TrackingEvent> scan = {MakeEvent(truth, "PU", picked_up, CityOf(truth.origin))};
    NumberEvents(org, &scan);
    if (Chance(rng_, kDuplicateChance)) {
      Hold(org, scan.front(), SendKind::kDuplicate, now + Duration(rng_, seconds(20), minutes(10)));
    }
    MV_RETURN_IF_ERROR(Insert(org, scan, SendKind::kEarly));
  }
  MV_RETURN_IF_ERROR(Write(org, {doc}));
  Track(org, std::move(truth), PickDocMode(), now, /*backlog=*/false);
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
  Shipment truth = open[i].truth;
  DocMode mode = open[i].mode;
  ShipmentStatus from = truth.status;
  Timestamp last = truth.status_changed_at.value_or(truth.created_at);
  // Never before the last change, even if the clock stepped back.
  MoveTo(NextStatus(rng_, from), std::max(now, last), &truth);
  // A cancellation is the platform's own: always on the document, never scanned.
  bool write_doc = truth.status == ShipmentStatus::kCancelled || mode == DocMode::kEveryMove ||
                   (mode == DocMode::kSometimes && Chance(rng_, kSometimesWriteChance));
  MV_RETURN_IF_ERROR(Dispatch(org, MoveEvents(org, truth, from, last), now, /*backlog=*/false,
                              /*may_hold_all=*/write_doc));
  if (write_doc) MV_RETURN_IF_ERROR(Write(org, {truth}));
  if (i + 1 != open.size()) open[i] = std::move(open.back());
  open.pop_back();
  Track(org, std::move(truth), mode, now, /*backlog=*/false);
  return true;
}

std::vector<TrackingEvent> Simulator::MoveEvents(size_t org, const Shipment& truth,
                                                 ShipmentStatus from, Timestamp last) {
  const Timestamp t = *truth.status_changed_at;
  const Millis since = t - last;
  // A time between the last change and this one (fractions of the time since).
  auto before = [&](double lo, double hi) {
    return std::max(last, t - Scale(since, Uniform(rng_, lo, hi)));
  };
  const std::string origin = CityOf(truth.origin), dest = CityOf(truth.destination);
  std::vector<TrackingEvent> out;
  switch (truth.status) {
    case ShipmentStatus::kPickedUp:
      out.push_back(MakeEvent(truth, "PU", t, origin));
      break;
    case ShipmentStatus::kInTransit:
      if (from == ShipmentStatus::kException) {
        out.push_back(MakeEvent(truth, "IT", t, HubCity(rng_)));
      } else {
        out.push_back(MakeEvent(truth, "DEP", before(0.3, 0.6), origin));
        out.push_back(MakeEvent(truth, "ARR", t, HubCity(rng_)));
      }
      break;
    case ShipmentStatus::kOutForDelivery:
      out.push_back(MakeEvent(truth, "ARR", before(0.2, 0.5), dest));
      out.push_back(MakeEvent(truth, "OFD", t, dest));
      break;
    case ShipmentStatus::kDelivered:
      out.push_back(MakeEvent(truth, Chance(rng_, kPodChance) ? "POD" : "DL", t, dest));
      break;
    case ShipmentStatus::kException:
      if (from == ShipmentStatus::kOutForDelivery) {
        out.push_back(MakeEvent(truth, Chance(rng_, 0.5) ? "FAILED_ATTEMPT" : "DELAY", t, dest));
      } else {
        out.push_back(MakeEvent(truth, Chance(rng_, 0.5) ? "EX" : "DELAY", t, HubCity(rng_)));
      }
      break;
    case ShipmentStatus::kReturned:
      out.push_back(MakeEvent(truth, "RT", t, origin));
      break;
    default:
      break;  // cancelled: the platform's, not the carrier's
  }
  if (!out.empty() && Chance(rng_, kUnknownCodeChance)) {
    out.push_back(MakeEvent(truth, UnknownCode(rng_), before(0.0, 1.0), HubCity(rng_)));
  }
  SortByTime(&out);
  NumberEvents(org, &out);
  return out;
}

void Simulator::NumberEvents(size_t org, std::vector<TrackingEvent>* events) {
  // Zero-padded, so that ids order like the numbers (EventOrder breaks ties by id).
  for (TrackingEvent& e : *events) e.event_id = fmt::format("EV{:010d}", next_event_[org]++);
}

Status Simulator::Dispatch(size_t org, std::vector<TrackingEvent> events, Timestamp now,
                           bool backlog, bool may_hold_all) {
  std::vector<TrackingEvent> send;
  std::vector<std::pair<TrackingEvent, Timestamp>> held;
  for (TrackingEvent& e : events) {
    Timestamp send_at = now;
    bool late = Chance(rng_, kLateChance);
    if (late && !backlog) send_at += Duration(rng_, minutes(1), minutes(15));
    if (Chance(rng_, kDuplicateChance)) {
      Millis gap = backlog ? Millis(0) : Duration(rng_, seconds(20), minutes(10));
      Hold(org, e, SendKind::kDuplicate, send_at + gap);
    }
    if (late) {
      held.emplace_back(std::move(e), send_at);
    } else {
      send.push_back(std::move(e));
    }
  }
  if (send.empty() && !held.empty() && !may_hold_all) {
    send.push_back(std::move(held.back().first));
    held.pop_back();
  }
  for (auto& [e, at] : held) Hold(org, std::move(e), SendKind::kLate, at);
  if (send.empty()) return Status::Ok();
  return Insert(org, send, SendKind::kOnTime);
}

void Simulator::Hold(size_t org, TrackingEvent event, SendKind kind, Timestamp send_at) {
  pending_.emplace(std::pair(send_at, pending_seq_++), Pending{org, std::move(event), kind});
}

Status Simulator::SendDue(Timestamp now) {
  auto end = pending_.upper_bound({now, std::numeric_limits<std::uint64_t>::max()});
  if (end == pending_.begin()) return Status::Ok();
  size_t n = options_.orgs.size();
  std::vector<std::vector<TrackingEvent>> originals(n), duplicates(n);
  for (auto it = pending_.begin(); it != end; ++it) {
    Pending& p = it->second;
    (p.kind == SendKind::kDuplicate ? duplicates : originals)[p.org].push_back(std::move(p.event));
  }
  pending_.erase(pending_.begin(), end);
  // Duplicates in writes of their own, after the originals: "sent again, later".
  for (size_t org = 0; org < n; ++org) {
    if (!originals[org].empty()) MV_RETURN_IF_ERROR(Insert(org, originals[org], SendKind::kLate));
  }
  for (size_t org = 0; org < n; ++org) {
    if (!duplicates[org].empty()) {
      MV_RETURN_IF_ERROR(Insert(org, duplicates[org], SendKind::kDuplicate));
    }
  }
  return Status::Ok();
}

Status Simulator::FlushPending() {
  MV_RETURN_IF_ERROR(options_status_);
  return SendDue(Timestamp::max());
}

Status Simulator::Insert(size_t org, const std::vector<TrackingEvent>& events, SendKind kind) {
  auto r = store_->InsertTrackingEvents(options_.orgs[org].org, events);
  if (!r.ok()) return r.status();
  auto n = static_cast<std::uint64_t>(events.size());
  stats_.events_sent += n;
  stats_.duplicates_ignored += static_cast<std::uint64_t>(r->duplicates);
  stats_.unknown_codes_sent += static_cast<std::uint64_t>(std::count_if(
      events.begin(), events.end(), [](const auto& e) { return IsUnknownCode(e.code); }));
  switch (kind) {
    case SendKind::kOnTime:
      break;
    case SendKind::kLate:
      stats_.late_sent += n;
      break;
    case SendKind::kDuplicate:
      stats_.duplicates_sent += n;
      break;
    case SendKind::kEarly:
      stats_.early_sent += n;
      break;
  }
  return Status::Ok();
}

Status Simulator::MaybeRename() {
  auto weight = [](const OrgSpec& o) { return o.weight; };
  if (Chance(rng_, kCustomerRenameChance)) {
    size_t org = PickWeighted(rng_, options_.orgs, weight);
    double u = Unit(rng_);  // skewed like bookings: the renames people notice
    auto c = static_cast<size_t>(u * u * static_cast<double>(customer_names_[org].size()));
    if (c < customer_names_[org].size()) {  // Seed has run
      std::string name = Renamed(rng_, customer_stems_[org][c], customer_names_[org][c]);
      auto r = store_->PutCustomer(options_.orgs[org].org,
                                   core::Customer{CustomerId(static_cast<int>(c)), name});
      if (!r.ok()) return r.status();
      spdlog::info("sim: {} renamed customer {} '{}' -> '{}'", options_.orgs[org].org,
                   CustomerId(static_cast<int>(c)), customer_names_[org][c], name);
      customer_names_[org][c] = std::move(name);
      ++stats_.documents;
      ++stats_.customer_renames;
    }
  }
  if (Chance(rng_, kCarrierRenameChance)) {
    size_t org = PickWeighted(rng_, options_.orgs, weight);
    size_t k = PickWeighted(rng_, kCarriers, [](const auto& c) { return c.weight; });
    const CarrierSpec& c = kCarriers[k];
    size_t& current = carrier_names_[org][k];
    std::string name(c.names[1 - current]);
    auto r = store_->PutCarrier(options_.orgs[org].org,
                                core::Carrier{std::string(c.id), name, ServicesJson(c)});
    if (!r.ok()) return r.status();
    spdlog::info("sim: {} renamed carrier {} '{}' -> '{}'", options_.orgs[org].org, c.id,
                 c.names[current], name);
    current = 1 - current;
    ++stats_.documents;
    ++stats_.carrier_renames;
  }
  return Status::Ok();
}

void Simulator::Track(size_t org, Shipment truth, DocMode mode, Timestamp now, bool backlog) {
  if (core::IsTerminal(truth.status)) return;
  bool urgent = truth.promised_delivery_at && *truth.promised_delivery_at - now < kUrgentWindow;
  double stuck = backlog ? (urgent ? kUrgentBacklogStuckChance : kBacklogStuckChance)
                         : (urgent ? kUrgentStuckChance : kStuckChance);
  Millis wait{0};
  if (Chance(rng_, stuck)) {
    wait = Duration(rng_, hours(1), backlog ? hours(6) : hours(4));
  } else {
    wait = Dwell(rng_, truth.status);
    // A backlog shipment has been in its stage for a while already.
    if (backlog) wait = Scale(wait, Unit(rng_));
  }
  open_[org].push_back({std::move(truth), mode, now + wait});
}

Status Simulator::Write(size_t org, const std::vector<Shipment>& docs) {
  auto r = store_->UpsertShipments(options_.orgs[org].org, docs);
  if (!r.ok()) return r.status();
  stats_.documents += docs.size();
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
  std::uint64_t steps_at_last_log = stats_.steps;
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
      LogProgress(static_cast<double>(stats_.steps - steps_at_last_log) / secs);
      last_log = now;
      steps_at_last_log = stats_.steps;
    }
  }
  return Status::Ok();
}

void Simulator::LogProgress(double steps_per_second) const {
  std::string open;
  for (size_t org = 0; org < options_.orgs.size(); ++org) {
    if (!open.empty()) open += ", ";
    open += fmt::format("{}={}", options_.orgs[org].org, open_[org].size());
  }
  const SimulatorStats& s = stats_;
  spdlog::info(
      "sim: {} steps ({:.1f}/s); {} tracking events sent ({} duplicates, {} late, {} unknown "
      "codes, {} before their shipment); {} customer and {} carrier renames; open shipments: {}",
      s.steps, steps_per_second, s.events_sent, s.duplicates_sent, s.late_sent,
      s.unknown_codes_sent, s.early_sent, s.customer_renames, s.carrier_renames, open);
}

}  // namespace mv::sim
