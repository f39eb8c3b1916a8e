#include "core/shipment_row.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <tuple>

#include "test_util.h"

namespace {

using namespace std::chrono_literals;
using mv::StatusCode;
using mv::Timestamp;
using mv::testing::T;
using nlohmann::json;
using ::testing::StartsWith;
namespace core = mv::core;

const core::ProjectionOptions kOptions;

core::Shipment Doc() {
  core::Shipment s;
  s.id = "S-1";
  s.reference = "PO-1";
  s.customer_id = "C-1";
  s.carrier_id = "dhl";
  s.service = "express";
  s.status = core::ShipmentStatus::kInTransit;
  s.origin = {{"country", "NL"}};
  s.destination = {{"country", "DE"}};
  s.weight_kg = 2.5;
  s.declared_value = 120;
  s.currency = "EUR";
  s.created_at = T("2026-11-01T10:00:00Z");
  s.promised_delivery_at = T("2026-11-03T17:00:00Z");
  return s;
}

// ---------------------------------------------------------------------------------------
// Project with tracking events (DESIGN.md section 5)

core::TrackingSummary Events(
    std::initializer_list<std::tuple<const char*, const char*, const char*>> events) {
  core::TrackingSummary summary;
  int n = 0;
  for (const auto& [code, at, location] : events) {
    core::TrackingEvent e{"E-" + std::to_string(n++), "S-1", "dhl", code, T(at), location};
    summary.Merge(e, kOptions.codes.Map(e.carrier_id, e.code));
  }
  return summary;
}

TEST(ProjectWithEvents, EventsFillTheMilestonesTheDocumentLacks) {
  core::Shipment doc = Doc();
  doc.status = core::ShipmentStatus::kBooked;
  doc.status_changed_at = T("2026-11-01T10:00:00Z");
  doc.picked_up_at = T("2026-11-01T11:00:00Z");  // the document's milestone wins
  auto tracking = Events({{"PU", "2026-11-01T12:00:00Z", "Amsterdam"},
                          {"OFD", "2026-11-02T07:00:00Z", "Berlin"},
                          {"DL", "2026-11-02T09:30:00Z", "Berlin"},
                          {"DL", "2026-11-02T09:45:00Z", "Berlin"}});
  core::ShipmentRow row =
      core::Project("acme", doc, &tracking, T("2026-11-02T12:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.picked_up_at, T("2026-11-01T11:00:00Z"));
  EXPECT_EQ(row.shipment.out_for_delivery_at, T("2026-11-02T07:00:00Z"));
  EXPECT_EQ(row.shipment.delivered_at, T("2026-11-02T09:30:00Z")) << "the earliest event";
  EXPECT_EQ(row.shipment.status, core::ShipmentStatus::kDelivered);
  EXPECT_EQ(row.shipment.status_changed_at, T("2026-11-02T09:45:00Z"));
  EXPECT_EQ(row.sla.status, core::SlaStatus::kMet);
  ASSERT_TRUE(row.last_event);
  EXPECT_EQ(row.last_event->code, "DL");
  // The document's own values are kept for re-projection.
  EXPECT_EQ(row.document.status, core::ShipmentStatus::kBooked);
  EXPECT_EQ(core::DocumentOf(row), doc);
}

TEST(ProjectWithEvents, ALaterDocumentStatusWinsOverEarlierEvents) {
  core::Shipment doc = Doc();
  doc.status = core::ShipmentStatus::kCancelled;
  doc.status_changed_at = T("2026-11-02T08:00:00Z");
  auto tracking = Events({{"PU", "2026-11-01T12:00:00Z", ""}, {"IT", "2026-11-02T07:59:59Z", ""}});
  core::ShipmentRow row =
      core::Project("acme", doc, &tracking, T("2026-11-02T12:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.status, core::ShipmentStatus::kCancelled);
  EXPECT_EQ(row.shipment.status_changed_at, T("2026-11-02T08:00:00Z"));
  EXPECT_EQ(row.shipment.picked_up_at, T("2026-11-01T12:00:00Z"));
}

TEST(ProjectWithEvents, AnUnknownCodeIsTheLastEventButMovesNothing) {
  core::Shipment doc = Doc();
  doc.status_changed_at = T("2026-11-01T10:00:00Z");
  auto tracking = Events({{"CUSTOMS_HOLD", "2026-11-02T11:00:00Z", "Venlo"}});
  core::ShipmentRow row =
      core::Project("acme", doc, &tracking, T("2026-11-02T12:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.status, core::ShipmentStatus::kInTransit);
  EXPECT_EQ(row.shipment.status_changed_at, T("2026-11-01T10:00:00Z"));
  EXPECT_FALSE(row.shipment.picked_up_at);
  ASSERT_TRUE(row.last_event);
  EXPECT_EQ(*row.last_event, (core::LastEvent{"CUSTOMS_HOLD", T("2026-11-02T11:00:00Z"), "Venlo"}));
}

TEST(ProjectWithEvents, StoredRowKeepsTheDocumentFacts) {
  core::Shipment doc = Doc();
  doc.status = core::ShipmentStatus::kBooked;
  auto tracking = Events({{"EX", "2026-11-02T11:00:00Z", "Venlo"}});
  core::ShipmentRow row =
      core::Project("acme", doc, &tracking, T("2026-11-02T12:00:00Z"), kOptions);
  auto back = core::RowFromJson("acme", core::RowToJson(row));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, row);
  EXPECT_EQ(core::DocumentOf(*back), doc);
}

// ---------------------------------------------------------------------------------------
// Project

TEST(Project, CopiesTheDocumentAndSetsOrgAndVersion) {
  core::Shipment doc = Doc();
  doc.status_changed_at = T("2026-11-01T12:00:00Z");
  core::ShipmentRow row = core::Project("acme", doc, T("2026-11-02T00:00:00Z"), kOptions);
  EXPECT_EQ(row.org, "acme");
  EXPECT_EQ(row.shipment, doc);
  EXPECT_EQ(row.schema_version, core::kShipmentListSchemaVersion);
  EXPECT_EQ(row.schema_version, 3);
  EXPECT_FALSE(row.last_event);
  EXPECT_TRUE(row.IsOpen());
}

TEST(Project, StatusChangedAtDefaultsToCreatedAt) {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.status_changed_at, T("2026-11-01T10:00:00Z"));
}

TEST(Project, DeliveredWithoutDeliveredAtTakesStatusChangedAt) {
  core::Shipment doc = Doc();
  doc.status = core::ShipmentStatus::kDelivered;
  doc.status_changed_at = T("2026-11-03T18:00:00Z");
  core::ShipmentRow row = core::Project("acme", doc, T("2026-11-04T00:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.delivered_at, T("2026-11-03T18:00:00Z"));
  // ... and that time decides the SLA: an hour after the promise.
  EXPECT_EQ(row.sla.status, core::SlaStatus::kMissed);
  EXPECT_FALSE(row.IsOpen());
}

TEST(Project, DeliveredWithNeitherTimeTakesCreatedAt) {
  core::Shipment doc = Doc();
  doc.status = core::ShipmentStatus::kDelivered;
  core::ShipmentRow row = core::Project("acme", doc, T("2026-11-04T00:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.status_changed_at, doc.created_at);
  EXPECT_EQ(row.shipment.delivered_at, doc.created_at);
  EXPECT_EQ(row.sla.status, core::SlaStatus::kMet);
}

TEST(Project, DocumentDeliveredAtWins) {
  core::Shipment doc = Doc();
  doc.status = core::ShipmentStatus::kDelivered;
  doc.status_changed_at = T("2026-11-03T18:00:00Z");
  doc.delivered_at = T("2026-11-03T16:00:00Z");
  core::ShipmentRow row = core::Project("acme", doc, T("2026-11-04T00:00:00Z"), kOptions);
  EXPECT_EQ(row.shipment.delivered_at, T("2026-11-03T16:00:00Z"));
  EXPECT_EQ(row.sla.status, core::SlaStatus::kMet);
}

TEST(Project, NotDeliveredHasNoDeliveredAt) {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  EXPECT_FALSE(row.shipment.delivered_at);
}

TEST(Project, SlaIsEvaluatedAtNowWithThePolicy) {
  core::ShipmentRow on_track = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  EXPECT_EQ(on_track.sla, (core::SlaState{core::SlaStatus::kOnTrack, T("2026-11-03T13:00:00Z")}));

  core::ProjectionOptions wide;
  wide.sla.at_risk_window = 48h;
  core::ShipmentRow at_risk = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), wide);
  EXPECT_EQ(at_risk.sla, (core::SlaState{core::SlaStatus::kAtRisk, T("2026-11-03T17:00:00Z")}));
}

TEST(Project, IsDeterministic) {
  core::Shipment doc = Doc();
  Timestamp now = T("2026-11-03T14:00:00Z");
  EXPECT_EQ(core::Project("acme", doc, now, kOptions), core::Project("acme", doc, now, kOptions));
}

TEST(Reevaluate, OnlyTheSlaMovesWithTheClock) {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  row.last_event = core::LastEvent{"SCAN", T("2026-11-02T08:00:00Z"), "Utrecht"};
  core::ShipmentRow later = core::Reevaluate(row, T("2026-11-03T13:00:00Z"), kOptions);
  EXPECT_EQ(later.sla, (core::SlaState{core::SlaStatus::kAtRisk, T("2026-11-03T17:00:00Z")}));
  core::ShipmentRow expected = row;
  expected.sla = later.sla;
  EXPECT_EQ(later, expected);

  core::ShipmentRow breached = core::Reevaluate(row, T("2026-11-03T17:00:00Z"), kOptions);
  EXPECT_EQ(breached.sla, (core::SlaState{core::SlaStatus::kBreached, std::nullopt}));
}

TEST(Reevaluate, SameInstantGivesTheSameRow) {
  Timestamp now = T("2026-11-02T00:00:00Z");
  core::ShipmentRow row = core::Project("acme", Doc(), now, kOptions);
  EXPECT_EQ(core::Reevaluate(row, now, kOptions), row);
}

// ---------------------------------------------------------------------------------------
// RowToJson / RowFromJson

TEST(RowToJson, HasTheContractFields) {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  json j = core::RowToJson(row);
  EXPECT_EQ(j["id"], "S-1");
  EXPECT_EQ(j["status"], "in_transit");
  EXPECT_EQ(j["statusChangedAt"], "2026-11-01T10:00:00Z");
  EXPECT_EQ(j["createdAt"], "2026-11-01T10:00:00Z");
  EXPECT_EQ(j["promisedDeliveryAt"], "2026-11-03T17:00:00Z");
  EXPECT_EQ(j["sla"], json({{"status", "on_track"}, {"nextChangeAt", "2026-11-03T13:00:00Z"}}));
  EXPECT_TRUE(j["lastEvent"].is_null());
  EXPECT_EQ(j["_schemaVersion"], 3);
  EXPECT_EQ(j["_document"], json({{"status", "in_transit"}}));
  EXPECT_FALSE(j.contains("org")) << "the org is the key, not part of the row";
}

TEST(RowToJson, NullNextChangeAtAndLastEvent) {
  core::Shipment doc = Doc();
  doc.promised_delivery_at.reset();
  core::ShipmentRow row = core::Project("acme", doc, T("2026-11-02T00:00:00Z"), kOptions);
  row.last_event = core::LastEvent{"OFD", T("2026-11-03T07:00:00.250Z"), "Berlin"};
  json j = core::RowToJson(row);
  EXPECT_EQ(j["sla"], json({{"status", "none"}, {"nextChangeAt", nullptr}}));
  EXPECT_EQ(
      j["lastEvent"],
      json({{"code", "OFD"}, {"occurredAt", "2026-11-03T07:00:00.250Z"}, {"location", "Berlin"}}));
}

TEST(RowJson, RoundTrip) {
  core::Shipment doc = Doc();
  doc.created_at = T("2026-11-01T10:00:00.123Z");
  doc.picked_up_at = T("2026-11-01T12:00:00Z");
  doc.weight_kg = 0.1 + 0.2;
  for (Timestamp now :
       {T("2026-11-02T00:00:00Z"), T("2026-11-03T14:00:00.007Z"), T("2026-11-05T00:00:00Z")}) {
    core::ShipmentRow row = core::Project("acme", doc, now, kOptions);
    for (bool with_event : {false, true}) {
      if (with_event) row.last_event = core::LastEvent{"SCAN", T("2026-11-02T01:02:03.004Z"), ""};
      // Through text, exactly as a store keeps it.
      json stored = json::parse(core::RowToJson(row).dump());
      MV_ASSERT_OK_AND_ASSIGN(core::ShipmentRow back, core::RowFromJson("acme", stored));
      EXPECT_EQ(back, row) << stored.dump();
    }
  }
}

TEST(RowJson, RoundTripOfEveryStatus) {
  for (size_t i = 0; i < core::kShipmentStatusCount; ++i) {
    core::Shipment doc = Doc();
    doc.status = static_cast<core::ShipmentStatus>(i);
    core::ShipmentRow row = core::Project("o", doc, T("2026-11-03T14:00:00Z"), kOptions);
    MV_ASSERT_OK_AND_ASSIGN(core::ShipmentRow back, core::RowFromJson("o", core::RowToJson(row)));
    EXPECT_EQ(back, row) << core::ToString(doc.status);
  }
}

TEST(RowFromJson, OrgComesFromTheCaller) {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  MV_ASSERT_OK_AND_ASSIGN(core::ShipmentRow back, core::RowFromJson("other", core::RowToJson(row)));
  EXPECT_EQ(back.org, "other");
}

TEST(RowFromJson, SchemaVersionIsRead) {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  json j = core::RowToJson(row);
  j["_schemaVersion"] = 7;
  MV_ASSERT_OK_AND_ASSIGN(core::ShipmentRow back, core::RowFromJson("acme", j));
  EXPECT_EQ(back.schema_version, 7);
}

json GoodRow() {
  core::ShipmentRow row = core::Project("acme", Doc(), T("2026-11-02T00:00:00Z"), kOptions);
  row.last_event = core::LastEvent{"SCAN", T("2026-11-02T01:00:00Z"), "Utrecht"};
  return core::RowToJson(row);
}

TEST(RowFromJson, CorruptInputIsCorruption) {
  ASSERT_TRUE(core::RowFromJson("acme", GoodRow()).ok());
  struct Case {
    const char* what;
    json row;
  };
  std::vector<Case> cases;
  auto mutate = [&](const char* what, auto fn) {
    json j = GoodRow();
    fn(j);
    cases.push_back({what, j});
  };
  cases.push_back({"not json (discarded)", json(json::value_t::discarded)});
  cases.push_back({"array", json::array()});
  cases.push_back({"string", json("row")});
  cases.push_back({"empty object", json::object()});
  mutate("bad shipment status", [](json& j) { j["status"] = "shipped"; });
  mutate("missing id", [](json& j) { j.erase("id"); });
  mutate("bad createdAt", [](json& j) { j["createdAt"] = "2026-02-30T00:00:00Z"; });
  mutate("missing sla", [](json& j) { j.erase("sla"); });
  mutate("sla not an object", [](json& j) { j["sla"] = "on_track"; });
  mutate("missing sla.status", [](json& j) { j["sla"].erase("status"); });
  mutate("unknown sla.status", [](json& j) { j["sla"]["status"] = "late"; });
  mutate("sla.status number", [](json& j) { j["sla"]["status"] = 2; });
  mutate("missing sla.nextChangeAt", [](json& j) { j["sla"].erase("nextChangeAt"); });
  mutate("sla.nextChangeAt number", [](json& j) { j["sla"]["nextChangeAt"] = 5; });
  mutate("missing lastEvent", [](json& j) { j.erase("lastEvent"); });
  mutate("lastEvent bad occurredAt", [](json& j) { j["lastEvent"]["occurredAt"] = "soon"; });
  mutate("lastEvent missing code", [](json& j) { j["lastEvent"].erase("code"); });
  mutate("lastEvent location number", [](json& j) { j["lastEvent"]["location"] = 1; });
  mutate("lastEvent not an object", [](json& j) { j["lastEvent"] = "SCAN"; });
  mutate("missing _schemaVersion", [](json& j) { j.erase("_schemaVersion"); });
  mutate("_schemaVersion string", [](json& j) { j["_schemaVersion"] = "1"; });
  for (const auto& c : cases) {
    auto r = core::RowFromJson("acme", c.row);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption)
        << c.what << ": " << r.status().ToString();
    EXPECT_THAT(r.status().message(), StartsWith("stored row")) << c.what;
  }
}

// BUG (src/core/shipment_row.cc, RowFromJson): a stored sla.nextChangeAt that is a string
// but not an RFC 3339 timestamp is silently read as "never changes" instead of being
// reported as Corruption. The SLA ticker would then never revisit the row.
TEST(RowFromJson, UnparseableNextChangeAtIsCorruption) {
  json j = GoodRow();
  j["sla"]["nextChangeAt"] = "not a time";
  auto r = core::RowFromJson("acme", j);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption)
      << "accepted a row whose sla.nextChangeAt is not a timestamp";
}

}  // namespace
