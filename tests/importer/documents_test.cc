// Extended JSON as mongoexport writes it becomes the API's JSON, and documents map to
// their org and id as `viya-mv import` documents.

#include "importer/documents.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace mv::testing {
namespace {

using importer::DocumentMapping;
using importer::FromExtendedJson;
using importer::MapDocument;
using nlohmann::json;

TEST(ExtendedJson, RelaxedAndCanonicalValuesBecomePlainJson) {
  json in = json::parse(R"({
    "a": {"$date": "2026-11-01T12:00:00.000+02:00"},
    "b": {"$date": {"$numberLong": "1761998400000"}},
    "c": {"$numberDecimal": "12.50"},
    "d": {"$numberLong": "-42"},
    "e": {"$numberInt": "7"},
    "f": {"$numberDouble": "1.5"},
    "g": {"$oid": "65a1b2c3d4e5f60718293a4b"},
    "h": [{"$numberInt": "1"}, {"x": {"$date": "2026-11-01T10:00:00Z"}}],
    "i": {"country": "BR", "n": null}
  })");
  MV_ASSERT_OK_AND_ASSIGN(json out, FromExtendedJson(in));
  EXPECT_EQ(out, json::parse(R"({
    "a": "2026-11-01T10:00:00Z", "b": "2025-11-01T12:00:00Z", "c": 12.5, "d": -42, "e": 7,
    "f": 1.5, "g": "65a1b2c3d4e5f60718293a4b", "h": [1, {"x": "2026-11-01T10:00:00Z"}],
    "i": {"country": "BR", "n": null}})"));
}

TEST(ExtendedJson, MalformedValuesNameTheirPath) {
  for (const auto& [in, want] : std::vector<std::pair<const char*, const char*>>{
           {R"({"at": {"$date": "yesterday"}})", "at.$date: 'yesterday' is not an ISO 8601"},
           {R"({"v": {"$numberDecimal": "NaN"}})", "v.$numberDecimal: 'NaN' is not a finite"},
           {R"({"v": {"$numberDecimal": "0x10"}})", "v.$numberDecimal"},
           {R"({"v": {"$numberLong": "12a"}})", "v.$numberLong: '12a' is not a 64-bit integer"},
           {R"({"v": {"$numberLong": 12}})", "v.$numberLong: must be a string"},
           {R"({"x": [{"$oid": "xyz"}]})", "x[0].$oid: must be 24 hexadecimal digits"},
           {R"({"x": {"$binary": {"base64": "", "subType": "00"}}})",
            "x.$binary: unsupported Extended JSON type"},
       }) {
    auto out = FromExtendedJson(json::parse(in));
    ASSERT_FALSE(out.ok()) << in;
    EXPECT_NE(out.status().message().find(want), std::string::npos) << out.status().message();
  }
}

TEST(MapDocument, TakesTheIdFromIdOrUnderscoreIdAndTheOrgFromTheFieldOrTheFlag) {
  DocumentMapping shipments;
  json base = json::parse(R"({"organizationId": "acme", "customerId": "C-1", "carrierId": "dhl",
    "status": "booked", "createdAt": {"$date": "2026-11-01T10:00:00Z"}})");
  json with_oid = base;
  with_oid["_id"] = {{"$oid", "65a1b2c3d4e5f60718293a4b"}};
  MV_ASSERT_OK_AND_ASSIGN(auto a, MapDocument(with_oid, shipments));
  EXPECT_EQ(a.org, "acme");
  EXPECT_EQ(a.id, "65a1b2c3d4e5f60718293a4b");
  ASSERT_TRUE(a.shipment);
  EXPECT_EQ(a.shipment->id, a.id);
  json with_both = with_oid;
  with_both["id"] = "S-1";  // `id` wins over `_id`
  MV_ASSERT_OK_AND_ASSIGN(auto b, MapDocument(with_both, shipments));
  EXPECT_EQ(b.id, "S-1");

  DocumentMapping flagged;
  flagged.org = "globex";
  MV_ASSERT_OK_AND_ASSIGN(auto c, MapDocument(with_both, flagged));
  EXPECT_EQ(c.org, "globex");
  DocumentMapping other_field;
  other_field.org_field = "tenant";
  json tenant = with_both;
  tenant["tenant"] = "initech";
  MV_ASSERT_OK_AND_ASSIGN(auto d, MapDocument(tenant, other_field));
  EXPECT_EQ(d.org, "initech");

  auto no_org = MapDocument(with_both, other_field);
  ASSERT_FALSE(no_org.ok());
  EXPECT_NE(no_org.status().message().find("no string tenant"), std::string::npos);
  auto no_id = MapDocument(base, shipments);
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.status().message().find("no id or _id"), std::string::npos);
  json bad_status = with_both;
  bad_status["status"] = "shipped";
  auto invalid = MapDocument(bad_status, shipments);
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("status"), std::string::npos);
  EXPECT_FALSE(MapDocument(json::array(), shipments).ok());
}

TEST(MapDocument, TrackingEventsCustomersAndCarriers) {
  DocumentMapping events{core::Collection::kTrackingEvents, "acme", "organizationId"};
  MV_ASSERT_OK_AND_ASSIGN(
      auto e, MapDocument(json::parse(R"({"_id": "E-9", "shipmentId": "S-1", "carrierId": "dhl",
        "code": "PU", "occurredAt": {"$date": "2026-11-01T10:00:00-03:00"}})"),
                          events));
  ASSERT_TRUE(e.event);
  EXPECT_EQ(e.event->event_id, "E-9");
  EXPECT_EQ(FormatRfc3339(e.event->occurred_at), "2026-11-01T13:00:00Z");
  DocumentMapping customers{core::Collection::kCustomers, "acme", "organizationId"};
  MV_ASSERT_OK_AND_ASSIGN(auto c,
                          MapDocument(json::parse(R"({"_id": "C-1", "name": "Ana"})"), customers));
  ASSERT_TRUE(c.customer);
  EXPECT_EQ(c.customer->name, "Ana");
  DocumentMapping carriers{core::Collection::kCarriers, "acme", "organizationId"};
  MV_ASSERT_OK_AND_ASSIGN(auto k,
                          MapDocument(json::parse(R"({"id": "dhl", "name": "DHL"})"), carriers));
  ASSERT_TRUE(k.carrier);
  EXPECT_EQ(k.carrier->id, "dhl");
}

}  // namespace
}  // namespace mv::testing
