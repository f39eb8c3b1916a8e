#include "core/tracking.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using namespace std::chrono_literals;
using mv::StatusCode;
using mv::Timestamp;
using mv::testing::T;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace core = mv::core;
using core::ShipmentStatus;

json EventDoc() {
  return {{"eventId", "E-1"},
          {"shipmentId", "S-1"},
          {"carrierId", "dhl"},
          {"code", "PU"},
          {"occurredAt", "2026-11-02T09:00:00Z"},
          {"location", "Utrecht"}};
}

core::TrackingEvent Event(const std::string& carrier, const std::string& event_id,
                          const std::string& code, Timestamp occurred_at,
                          const std::string& location = "") {
  return {event_id, "S-1", carrier, code, occurred_at, location};
}

// ---------------------------------------------------------------------------------------
// ParseTrackingEvent

TEST(ParseTrackingEvent, ReadsEveryField) {
  auto e = core::ParseTrackingEvent(EventDoc());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->event_id, "E-1");
  EXPECT_EQ(e->shipment_id, "S-1");
  EXPECT_EQ(e->carrier_id, "dhl");
  EXPECT_EQ(e->code, "PU");
  EXPECT_EQ(e->occurred_at, T("2026-11-02T09:00:00Z"));
  EXPECT_EQ(e->location, "Utrecht");
}

TEST(ParseTrackingEvent, LocationIsOptionalAndUnknownFieldsAreIgnored) {
  json doc = EventDoc();
  doc.erase("location");
  doc["extra"] = {1, 2, 3};
  auto e = core::ParseTrackingEvent(doc);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->location, "");
  doc["location"] = nullptr;
  EXPECT_TRUE(core::ParseTrackingEvent(doc).ok());
}

TEST(ParseTrackingEvent, OccurredAtWithAnOffsetIsTheSameInstant) {
  json doc = EventDoc();
  doc["occurredAt"] = "2026-11-02T11:00:00.250+02:00";
  auto e = core::ParseTrackingEvent(doc);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->occurred_at, T("2026-11-02T09:00:00.250Z"));
}

TEST(ParseTrackingEvent, FieldErrorsNameTheField) {
  struct Case {
    const char* field;
    json value;  // null: the field is removed
  };
  const std::vector<Case> cases = {
      {"eventId", nullptr},
      {"eventId", ""},
      {"eventId", 42},
      {"eventId", "E 1"},  // not an id
      {"eventId", std::string(129, 'e')},
      {"shipmentId", nullptr},
      {"carrierId", "dhl/express"},
      {"code", nullptr},
      {"code", ""},
      {"code", std::string(65, 'C')},
      {"occurredAt", nullptr},
      {"occurredAt", "yesterday"},
      {"occurredAt", "2026-02-30T10:00:00Z"},
      {"occurredAt", 1700000000},
      {"location", std::string(257, 'x')},
      {"location", 7},
  };
  for (const Case& c : cases) {
    json doc = EventDoc();
    if (c.value.is_null()) {
      doc.erase(c.field);
    } else {
      doc[c.field] = c.value;
    }
    auto e = core::ParseTrackingEvent(doc);
    ASSERT_FALSE(e.ok()) << c.field << " = " << c.value.dump();
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << e.status().ToString();
    EXPECT_THAT(e.status().message(), StartsWith(std::string(c.field) + ":"))
        << c.field << " = " << c.value.dump();
  }
}

TEST(ParseTrackingEvent, TooLongLocationSaysTheLimit) {
  json doc = EventDoc();
  doc["location"] = std::string(256, 'x');
  EXPECT_TRUE(core::ParseTrackingEvent(doc).ok()) << "256 characters are allowed";
  doc["location"] = std::string(257, 'x');
  auto e = core::ParseTrackingEvent(doc);
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("256"));
}

TEST(ParseTrackingEvent, NotAnObject) {
  for (const json& doc : {json::array({EventDoc()}), json("E-1"), json(nullptr), json(3)}) {
    auto e = core::ParseTrackingEvent(doc);
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << doc.dump();
    EXPECT_THAT(e.status().message(), HasSubstr("object"));
  }
}

TEST(ParseTrackingEvent, RoundTripsThroughTrackingEventToJson) {
  const std::vector<core::TrackingEvent> events = {
      Event("dhl", "E-1", "PU", T("2026-11-02T09:00:00Z"), "Utrecht"),
      Event("ups", "x:y@z_1.2", "weird code ü", T("2026-11-02T09:00:00.001Z")),
      Event("dhl", "E-2", "DL", T("1999-12-31T23:59:59.999Z"), std::string(256, 'L')),
  };
  for (const core::TrackingEvent& e : events) {
    json doc = core::TrackingEventToJson(e);
    auto back = core::ParseTrackingEvent(doc);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, e) << doc.dump();
    // And through text, as the store keeps it.
    auto from_text = core::ParseTrackingEvent(json::parse(doc.dump()));
    ASSERT_TRUE(from_text.ok());
    EXPECT_EQ(*from_text, e);
  }
  EXPECT_EQ(core::TrackingEventToJson(events[0]), EventDoc());
}

// ---------------------------------------------------------------------------------------
// CodeMapping

TEST(CodeMapping, Defaults) {
  const core::CodeMapping m = core::CodeMapping::Defaults();
  const std::vector<std::pair<const char*, ShipmentStatus>> expected = {
      {"PU", ShipmentStatus::kPickedUp},
      {"PICKED_UP", ShipmentStatus::kPickedUp},
      {"IT", ShipmentStatus::kInTransit},
      {"IN_TRANSIT", ShipmentStatus::kInTransit},
      {"DEP", ShipmentStatus::kInTransit},
      {"ARR", ShipmentStatus::kInTransit},
      {"OFD", ShipmentStatus::kOutForDelivery},
      {"OUT_FOR_DELIVERY", ShipmentStatus::kOutForDelivery},
      {"DL", ShipmentStatus::kDelivered},
      {"DELIVERED", ShipmentStatus::kDelivered},
      {"POD", ShipmentStatus::kDelivered},
      {"EX", ShipmentStatus::kException},
      {"EXCEPTION", ShipmentStatus::kException},
      {"DELAY", ShipmentStatus::kException},
      {"DAMAGED", ShipmentStatus::kException},
      {"FAILED_ATTEMPT", ShipmentStatus::kException},
      {"RT", ShipmentStatus::kReturned},
      {"RETURNED", ShipmentStatus::kReturned},
      {"CX", ShipmentStatus::kCancelled},
      {"CANCELLED", ShipmentStatus::kCancelled},
  };
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(m.Map("", code), status) << code;
    EXPECT_EQ(m.Map("any-carrier", code), status) << code;
  }
  EXPECT_EQ(m.Map("dhl", "XYZ"), std::nullopt) << "unknown";
  EXPECT_EQ(m.Map("dhl", ""), std::nullopt);
  EXPECT_EQ(m.Map("dhl", "INFO"), std::nullopt) << "known, mapped to none";
}

TEST(CodeMapping, CodesCompareCaseInsensitively) {
  core::CodeMapping m = core::CodeMapping::Defaults();
  EXPECT_EQ(m.Map("dhl", "pu"), ShipmentStatus::kPickedUp);
  EXPECT_EQ(m.Map("dhl", "Out_For_Delivery"), ShipmentStatus::kOutForDelivery);
  m.Set("ups", "scan-ok", ShipmentStatus::kInTransit);
  EXPECT_EQ(m.Map("ups", "SCAN-OK"), ShipmentStatus::kInTransit);
  EXPECT_EQ(m.Map("ups", "Scan-Ok"), ShipmentStatus::kInTransit);
  // Carrier ids are not codes: they compare exactly.
  EXPECT_EQ(m.Map("UPS", "scan-ok"), std::nullopt);
}

TEST(CodeMapping, PerCarrierOverrideBeatsTheDefault) {
  core::CodeMapping m = core::CodeMapping::Defaults();
  m.Set("dhl", "pu", ShipmentStatus::kException);  // dhl's "PU" means something else
  m.Set("dhl", "DL", std::nullopt);                // and its "DL" means nothing
  m.Set("dhl", "Z9", ShipmentStatus::kDelivered);  // a code of dhl only
  EXPECT_EQ(m.Map("dhl", "PU"), ShipmentStatus::kException);
  EXPECT_EQ(m.Map("dhl", "DL"), std::nullopt);
  EXPECT_EQ(m.Map("dhl", "z9"), ShipmentStatus::kDelivered);
  EXPECT_EQ(m.Map("dhl", "OFD"), ShipmentStatus::kOutForDelivery) << "falls back to defaults";
  EXPECT_EQ(m.Map("ups", "PU"), ShipmentStatus::kPickedUp);
  EXPECT_EQ(m.Map("ups", "DL"), ShipmentStatus::kDelivered);
  EXPECT_EQ(m.Map("ups", "Z9"), std::nullopt);
  EXPECT_EQ(m.Map("", "PU"), ShipmentStatus::kPickedUp);
}

TEST(CodeMapping, ACodeMappedToNone) {
  core::CodeMapping m = core::CodeMapping::Defaults();
  m.Set("", "dep", std::nullopt);
  EXPECT_EQ(m.Map("dhl", "DEP"), std::nullopt);
  EXPECT_EQ(m.Map("dhl", "dep"), std::nullopt);
  EXPECT_EQ(m.Map("dhl", "INFO"), std::nullopt);
  EXPECT_EQ(m.Map("dhl", "PU"), ShipmentStatus::kPickedUp);
  // Setting it back is an ordinary mapping again.
  m.Set("", "DEP", ShipmentStatus::kInTransit);
  EXPECT_EQ(m, core::CodeMapping::Defaults());
}

// ---------------------------------------------------------------------------------------
// TrackingSummary

const core::CodeMapping kMapping = core::CodeMapping::Defaults();

core::TrackingSummary Summarize(const std::vector<core::TrackingEvent>& events) {
  core::TrackingSummary s;
  for (const auto& e : events) s.Merge(e, kMapping.Map(e.carrier_id, e.code));
  return s;
}

TEST(TrackingSummary, EmptyByDefault) {
  core::TrackingSummary s;
  EXPECT_FALSE(s.picked_up_at || s.out_for_delivery_at || s.delivered_at);
  EXPECT_FALSE(s.latest_mapped);
  EXPECT_FALSE(s.latest);
  EXPECT_EQ(s, Summarize({}));
}

TEST(TrackingSummary, MilestonesTakeTheEarliestOccurredAt) {
  core::TrackingSummary s = Summarize({
      Event("dhl", "E-1", "PU", T("2026-11-02T10:00:00Z")),
      Event("dhl", "E-2", "OFD", T("2026-11-03T08:00:00Z")),
      Event("dhl", "E-3", "DL", T("2026-11-03T12:00:00Z")),
      Event("dhl", "E-4", "PICKED_UP", T("2026-11-02T09:00:00Z")),  // late, earlier
      Event("dhl", "E-5", "PU", T("2026-11-02T11:00:00Z")),         // later: no effect
      Event("dhl", "E-6", "POD", T("2026-11-03T11:00:00Z")),
  });
  EXPECT_EQ(s.picked_up_at, T("2026-11-02T09:00:00Z"));
  EXPECT_EQ(s.out_for_delivery_at, T("2026-11-03T08:00:00Z"));
  EXPECT_EQ(s.delivered_at, T("2026-11-03T11:00:00Z"));
  // The latest mapped event is the last by occurredAt, not by arrival.
  ASSERT_TRUE(s.latest_mapped);
  EXPECT_EQ(s.latest_mapped->event_id, "E-3");
  EXPECT_EQ(s.latest_mapped_status, ShipmentStatus::kDelivered);
}

TEST(TrackingSummary, StatusesWithoutAMilestoneOnlyMoveTheLatestStatus) {
  core::TrackingSummary s = Summarize({
      Event("dhl", "E-1", "IT", T("2026-11-02T10:00:00Z")),
      Event("dhl", "E-2", "EX", T("2026-11-02T12:00:00Z")),
  });
  EXPECT_FALSE(s.picked_up_at || s.out_for_delivery_at || s.delivered_at);
  EXPECT_EQ(s.latest_mapped_status, ShipmentStatus::kException);
}

TEST(TrackingSummary, LatestMappedStatusBreaksTiesByCarrierThenEventId) {
  const Timestamp t = T("2026-11-02T10:00:00Z");
  // Same instant: the greater carrier id wins...
  core::TrackingSummary by_carrier =
      Summarize({Event("ups", "E-1", "EX", t), Event("dhl", "E-9", "DL", t)});
  EXPECT_EQ(by_carrier.latest_mapped_status, ShipmentStatus::kException);
  EXPECT_EQ(by_carrier.latest_mapped, (core::EventOrder{t, "ups", "E-1"}));
  // ... then the greater event id (as strings: "E-9" > "E-10").
  core::TrackingSummary by_id =
      Summarize({Event("dhl", "E-9", "IT", t), Event("dhl", "E-10", "DL", t)});
  EXPECT_EQ(by_id.latest_mapped_status, ShipmentStatus::kInTransit);
  EXPECT_EQ(by_id.latest_code, "IT");
  // Whatever the arrival order.
  EXPECT_EQ(by_carrier, Summarize({Event("dhl", "E-9", "DL", t), Event("ups", "E-1", "EX", t)}));
  EXPECT_EQ(by_id, Summarize({Event("dhl", "E-10", "DL", t), Event("dhl", "E-9", "IT", t)}));
}

TEST(TrackingSummary, UnknownCodesUpdateTheLastEventButNoMilestoneOrStatus) {
  core::TrackingSummary s;
  EXPECT_TRUE(s.Merge(Event("dhl", "E-1", "PU", T("2026-11-02T10:00:00Z"), "Utrecht"),
                      ShipmentStatus::kPickedUp));
  EXPECT_TRUE(s.Merge(Event("dhl", "E-2", "WEIRD", T("2026-11-02T11:00:00Z"), "Venlo"),
                      kMapping.Map("dhl", "WEIRD")));
  EXPECT_TRUE(s.Merge(Event("dhl", "E-3", "INFO", T("2026-11-02T12:00:00Z"), "Köln"),
                      kMapping.Map("dhl", "INFO")));
  EXPECT_EQ(s.picked_up_at, T("2026-11-02T10:00:00Z"));
  EXPECT_FALSE(s.out_for_delivery_at || s.delivered_at);
  EXPECT_EQ(s.latest_mapped, (core::EventOrder{T("2026-11-02T10:00:00Z"), "dhl", "E-1"}));
  EXPECT_EQ(s.latest_mapped_status, ShipmentStatus::kPickedUp);
  EXPECT_EQ(s.latest, (core::EventOrder{T("2026-11-02T12:00:00Z"), "dhl", "E-3"}));
  EXPECT_EQ(s.latest_code, "INFO");
  EXPECT_EQ(s.latest_location, "Köln");
  // An earlier unknown event changes nothing at all.
  EXPECT_FALSE(s.Merge(Event("dhl", "E-0", "WEIRD", T("2026-11-01T00:00:00Z")), std::nullopt));
}

TEST(TrackingSummary, OnlyUnknownCodes) {
  core::TrackingSummary s = Summarize({Event("dhl", "E-1", "XYZ", T("2026-11-02T10:00:00Z"))});
  EXPECT_FALSE(s.latest_mapped);
  EXPECT_EQ(s.latest_mapped_status, ShipmentStatus::kBooked);
  ASSERT_TRUE(s.latest);
  EXPECT_EQ(s.latest_code, "XYZ");
}

TEST(TrackingSummary, MergeIsIdempotent) {
  const std::vector<core::TrackingEvent> events = {
      Event("dhl", "E-1", "PU", T("2026-11-02T10:00:00Z")),
      Event("dhl", "E-2", "XYZ", T("2026-11-02T11:00:00Z")),
      Event("ups", "E-1", "DL", T("2026-11-02T12:00:00Z")),
  };
  core::TrackingSummary s = Summarize(events);
  const core::TrackingSummary once = s;
  for (const auto& e : events) {
    EXPECT_FALSE(s.Merge(e, kMapping.Map(e.carrier_id, e.code))) << e.event_id;
  }
  EXPECT_EQ(s, once);
}

// A random set of distinct events (distinct identities, few instants so that ties are
// common, codes mapped to milestones, to other statuses, to none, or unknown).
std::vector<core::TrackingEvent> RandomEvents(std::mt19937& rng, size_t n) {
  static const std::vector<std::string> kCodes = {"PU", "pu", "IT", "OFD",  "DL",  "POD",
                                                  "EX", "RT", "CX", "INFO", "???", "ZZ"};
  static const std::vector<std::string> kCarriers = {"dhl", "ups", "DHL"};
  const Timestamp base = T("2026-11-02T00:00:00Z");
  std::vector<core::TrackingEvent> events;
  for (size_t i = 0; i < n; ++i) {
    core::TrackingEvent e;
    e.carrier_id = kCarriers[rng() % kCarriers.size()];
    e.event_id = "E-" + std::to_string(i);  // unique, whatever the carrier
    e.shipment_id = "S-1";
    e.code = kCodes[rng() % kCodes.size()];
    e.occurred_at = base + std::chrono::hours(rng() % 4);
    e.location = "L" + std::to_string(rng() % 3);
    events.push_back(std::move(e));
  }
  return events;
}

TEST(TrackingSummaryProperty, EveryPermutationGivesTheSameSummary) {
  std::mt19937 rng(20261102);
  for (int round = 0; round < 20; ++round) {
    const std::vector<core::TrackingEvent> events = RandomEvents(rng, 6);
    std::vector<size_t> order(events.size());
    std::iota(order.begin(), order.end(), 0);
    const core::TrackingSummary expected = Summarize(events);
    int permutations = 0;
    do {
      std::vector<core::TrackingEvent> permuted;
      for (size_t i : order) permuted.push_back(events[i]);
      ASSERT_EQ(Summarize(permuted), expected) << "round " << round;
      ++permutations;
    } while (std::next_permutation(order.begin(), order.end()));
    EXPECT_EQ(permutations, 720);
  }
}

TEST(TrackingSummaryProperty, ShufflesWithDuplicatesGiveTheSameSummary) {
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    const std::vector<core::TrackingEvent> events = RandomEvents(rng, 1 + rng() % 25);
    const core::TrackingSummary expected = Summarize(events);
    for (int shuffle = 0; shuffle < 10; ++shuffle) {
      std::vector<core::TrackingEvent> input = events;
      // Duplicates: any event again, any number of times.
      size_t extra = rng() % (events.size() + 1);
      for (size_t i = 0; i < extra; ++i) input.push_back(events[rng() % events.size()]);
      std::shuffle(input.begin(), input.end(), rng);
      ASSERT_EQ(Summarize(input), expected) << "round " << round << " shuffle " << shuffle;
    }
    // Merging a second summary's events into a first one's (a split stream) agrees too.
    std::vector<core::TrackingEvent> left(events.begin(), events.begin() + events.size() / 2);
    std::vector<core::TrackingEvent> right(events.begin() + events.size() / 2, events.end());
    core::TrackingSummary split = Summarize(right);
    for (const auto& e : left) split.Merge(e, kMapping.Map(e.carrier_id, e.code));
    ASSERT_EQ(split, expected);
    // And the summary survives its stored form.
    auto stored = core::TrackingSummaryFromJson(core::TrackingSummaryToJson(expected));
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    ASSERT_EQ(*stored, expected);
  }
}

TEST(TrackingSummaryProperty, AgreesWithADirectDefinition) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    const std::vector<core::TrackingEvent> events = RandomEvents(rng, 1 + rng() % 15);
    const core::TrackingSummary s = Summarize(events);
    std::optional<Timestamp> delivered;
    std::optional<core::EventOrder> latest;
    std::optional<core::EventOrder> latest_mapped;
    for (const auto& e : events) {
      core::EventOrder o{e.occurred_at, e.carrier_id, e.event_id};
      auto mapped = kMapping.Map(e.carrier_id, e.code);
      if (mapped == ShipmentStatus::kDelivered && (!delivered || e.occurred_at < *delivered)) {
        delivered = e.occurred_at;
      }
      if (mapped && (!latest_mapped || *latest_mapped < o)) latest_mapped = o;
      if (!latest || *latest < o) latest = o;
    }
    EXPECT_EQ(s.delivered_at, delivered);
    EXPECT_EQ(s.latest_mapped, latest_mapped);
    EXPECT_EQ(s.latest, latest);
  }
}

// ---------------------------------------------------------------------------------------
// Stored form

TEST(TrackingSummaryJson, RoundTrips) {
  core::TrackingSummary full = Summarize({
      Event("dhl", "E-1", "PU", T("2026-11-02T10:00:00.123Z"), "Utrecht"),
      Event("dhl", "E-2", "OFD", T("2026-11-03T08:00:00Z")),
      Event("dhl", "E-3", "DL", T("2026-11-03T12:00:00Z")),
      Event("dhl", "E-4", "INFO", T("2026-11-03T13:00:00Z"), "Köln"),
  });
  core::TrackingSummary only_unknown =
      Summarize({Event("ups", "E-1", "??", T("2026-11-02T10:00:00Z"))});
  for (const core::TrackingSummary& s : {core::TrackingSummary{}, full, only_unknown}) {
    json j = core::TrackingSummaryToJson(s);
    auto back = core::TrackingSummaryFromJson(json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << back.status().ToString() << " " << j.dump();
    EXPECT_EQ(*back, s) << j.dump();
  }
}

TEST(TrackingSummaryJson, BadDocumentsAreCorruption) {
  json good = core::TrackingSummaryToJson(
      Summarize({Event("dhl", "E-1", "PU", T("2026-11-02T10:00:00Z"))}));
  ASSERT_TRUE(core::TrackingSummaryFromJson(good).ok());
  std::vector<json> bad = {json::array(), json("summary"), json(nullptr), json::object()};
  auto with = [&](const char* key, json value) {
    json j = good;
    j[key] = std::move(value);
    return j;
  };
  auto without = [&](const char* key) {
    json j = good;
    j.erase(key);
    return j;
  };
  bad.push_back(without("ms"));
  bad.push_back(without("l"));
  bad.push_back(with("ms", "shipped"));
  bad.push_back(with("ms", 3));
  bad.push_back(with("p", "yesterday"));
  bad.push_back(with("m", json::array({1})));
  bad.push_back(with("l", json::array({"x", "dhl", "E-1"})));
  bad.push_back(with("lc", 5));
  for (const json& j : bad) {
    auto r = core::TrackingSummaryFromJson(j);
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << j.dump();
    EXPECT_THAT(r.status().message(), HasSubstr("tracking summary")) << j.dump();
  }
}

}  // namespace
