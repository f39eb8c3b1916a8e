#include "core/domain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/change_event.h"
#include "core/tracking.h"
#include "test_util.h"

namespace {

using mv::StatusCode;
using mv::testing::T;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace core = mv::core;

// The shipment of DESIGN.md section 8, as written by a client.
json DesignExample() {
  return json::parse(R"({
    "id": "S-1001", "reference": "PO-77", "customerId": "C-9", "carrierId": "dhl",
    "service": "express", "status": "booked",
    "origin": {"country": "NL", "postalCode": "1012"}, "destination": {"country": "DE"},
    "weightKg": 2.5, "declaredValue": 120.0, "currency": "EUR",
    "createdAt": "2026-11-01T10:00:00Z", "promisedDeliveryAt": "2026-11-03T17:00:00Z"})");
}

json Minimal() {
  return {{"id", "S-1"}, {"status", "booked"}, {"createdAt", "2026-11-01T10:00:00Z"}};
}

// ---------------------------------------------------------------------------------------
// Status enums

TEST(ShipmentStatus, EveryNameRoundTrips) {
  const std::vector<std::string> names = {"booked",           "picked_up", "in_transit",
                                          "out_for_delivery", "delivered", "exception",
                                          "returned",         "cancelled"};
  ASSERT_EQ(names.size(), core::kShipmentStatusCount);
  for (size_t i = 0; i < names.size(); ++i) {
    auto s = static_cast<core::ShipmentStatus>(i);
    EXPECT_EQ(core::ToString(s), names[i]);
    EXPECT_EQ(core::ParseShipmentStatus(names[i]), s);
  }
}

TEST(ShipmentStatus, ParsingIsExact) {
  for (const char* bad : {"", "Booked", "BOOKED", "booked ", "shipped", "in-transit", "none"}) {
    EXPECT_FALSE(core::ParseShipmentStatus(bad)) << bad;
  }
}

TEST(ShipmentStatus, TerminalStatuses) {
  using S = core::ShipmentStatus;
  for (auto s : {S::kDelivered, S::kReturned, S::kCancelled}) EXPECT_TRUE(core::IsTerminal(s));
  for (auto s : {S::kBooked, S::kPickedUp, S::kInTransit, S::kOutForDelivery, S::kException}) {
    EXPECT_FALSE(core::IsTerminal(s)) << core::ToString(s);
  }
}

TEST(SlaStatus, EveryNameRoundTrips) {
  const std::vector<std::string> names = {"none",     "on_track", "at_risk",
                                          "breached", "met",      "missed"};
  for (size_t i = 0; i < names.size(); ++i) {
    auto s = static_cast<core::SlaStatus>(i);
    EXPECT_EQ(core::ToString(s), names[i]);
    EXPECT_EQ(core::ParseSlaStatus(names[i]), s);
  }
  EXPECT_FALSE(core::ParseSlaStatus("late"));
  EXPECT_FALSE(core::ParseSlaStatus("At_Risk"));
}

TEST(ChangeEventEnums, NamesRoundTrip) {
  for (auto c : {core::Collection::kShipments, core::Collection::kTrackingEvents,
                 core::Collection::kCustomers, core::Collection::kCarriers}) {
    EXPECT_EQ(core::ParseCollection(core::ToString(c)), c);
  }
  for (auto op : {core::Operation::kInsert, core::Operation::kUpdate, core::Operation::kReplace,
                  core::Operation::kDelete}) {
    EXPECT_EQ(core::ParseOperation(core::ToString(op)), op);
  }
  EXPECT_EQ(core::ToString(core::Collection::kTrackingEvents), "tracking_events");
  EXPECT_EQ(core::ToString(core::Operation::kReplace), "replace");
  EXPECT_FALSE(core::ParseCollection("orders"));
  EXPECT_FALSE(core::ParseOperation("upsert"));
}

// ---------------------------------------------------------------------------------------
// Identifiers

TEST(IsValidId, AcceptsTheDocumentedAlphabet) {
  EXPECT_TRUE(core::IsValidId("S-1001"));
  EXPECT_TRUE(core::IsValidId("a"));
  EXPECT_TRUE(core::IsValidId("Az09-_.:@"));
  EXPECT_TRUE(core::IsValidId(std::string(128, 'x')));
}

TEST(IsValidId, RejectsEverythingElse) {
  EXPECT_FALSE(core::IsValidId(""));
  EXPECT_FALSE(core::IsValidId(std::string(129, 'x')));
  for (const char* bad : {"S 1", "S/1", "S%1", "S'1", "S\"1", "S\\1", "S\n1", "S\t", "S,1", "S#1",
                          "S?1", "S*1", "S+1", "caf\xc3\xa9"}) {
    EXPECT_FALSE(core::IsValidId(bad)) << bad;
  }
  EXPECT_FALSE(
      core::IsValidId(std::string("S\0"
                                  "1",
                                  3)));
}

// ---------------------------------------------------------------------------------------
// ParseShipment: the good path

TEST(ParseShipment, DesignExample) {
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(DesignExample()));
  EXPECT_EQ(s.id, "S-1001");
  EXPECT_EQ(s.reference, "PO-77");
  EXPECT_EQ(s.customer_id, "C-9");
  EXPECT_EQ(s.carrier_id, "dhl");
  EXPECT_EQ(s.service, "express");
  EXPECT_EQ(s.status, core::ShipmentStatus::kBooked);
  EXPECT_EQ(s.origin, core::Address({{"country", "NL"}, {"postalCode", "1012"}}));
  EXPECT_EQ(s.destination, core::Address({{"country", "DE"}}));
  EXPECT_EQ(s.weight_kg, 2.5);
  EXPECT_EQ(s.declared_value, 120.0);
  EXPECT_EQ(s.currency, "EUR");
  EXPECT_EQ(s.created_at, T("2026-11-01T10:00:00Z"));
  EXPECT_EQ(s.promised_delivery_at, T("2026-11-03T17:00:00Z"));
  EXPECT_FALSE(s.status_changed_at);
  EXPECT_FALSE(s.picked_up_at);
  EXPECT_FALSE(s.out_for_delivery_at);
  EXPECT_FALSE(s.delivered_at);
}

TEST(ParseShipment, MinimalDocumentHasDefaults) {
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(Minimal()));
  EXPECT_EQ(s.id, "S-1");
  EXPECT_EQ(s.reference, "");
  EXPECT_EQ(s.carrier_id, "");
  EXPECT_TRUE(s.origin.empty());
  EXPECT_TRUE(s.destination.empty());
  EXPECT_FALSE(s.weight_kg);
  EXPECT_FALSE(s.declared_value);
  EXPECT_FALSE(s.promised_delivery_at);
}

TEST(ParseShipment, AllMilestonesAndOffsetsNormalized) {
  json doc = Minimal();
  doc["status"] = "delivered";
  doc["statusChangedAt"] = "2026-11-03T12:00:00+01:00";
  doc["pickedUpAt"] = "2026-11-01T12:00:00Z";
  doc["outForDeliveryAt"] = "2026-11-03T08:00:00.125Z";
  doc["deliveredAt"] = "2026-11-03T11:00:00Z";
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  EXPECT_EQ(s.status, core::ShipmentStatus::kDelivered);
  EXPECT_EQ(s.status_changed_at, T("2026-11-03T11:00:00Z"));
  EXPECT_EQ(s.picked_up_at, T("2026-11-01T12:00:00Z"));
  EXPECT_EQ(s.out_for_delivery_at, T("2026-11-03T08:00:00.125Z"));
  EXPECT_EQ(s.delivered_at, T("2026-11-03T11:00:00Z"));
}

TEST(ParseShipment, NullOptionalFieldsAreAbsent) {
  json doc = Minimal();
  for (const char* f : {"reference", "customerId", "carrierId", "service", "currency", "origin",
                        "destination", "weightKg", "declaredValue", "statusChangedAt",
                        "promisedDeliveryAt", "pickedUpAt", "outForDeliveryAt", "deliveredAt"}) {
    doc[f] = nullptr;
  }
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment minimal, core::ParseShipment(Minimal()));
  EXPECT_EQ(s, minimal);
}

TEST(ParseShipment, UnknownFieldsAreIgnored) {
  json doc = Minimal();
  doc["somethingNew"] = {{"nested", true}};
  doc["_internal"] = 5;
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment minimal, core::ParseShipment(Minimal()));
  EXPECT_EQ(s, minimal);
}

TEST(ParseShipment, ZeroAmountsAndIntegerAmountsAreFine) {
  json doc = Minimal();
  doc["weightKg"] = 0;
  doc["declaredValue"] = 120;
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  EXPECT_EQ(s.weight_kg, 0.0);
  EXPECT_EQ(s.declared_value, 120.0);
}

TEST(ParseShipment, TextAtTheLengthLimitIsFine) {
  json doc = Minimal();
  doc["reference"] = std::string(512, 'r');
  doc["origin"] = {{"city", std::string(512, 'c')}};
  EXPECT_TRUE(core::ParseShipment(doc).ok());
}

TEST(ParseShipment, AddressMayHoldNullValues) {
  json doc = Minimal();
  doc["origin"] = {{"country", "NL"}, {"postalCode", nullptr}};
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  EXPECT_EQ(core::AddressToJson(s.origin), doc["origin"]);
}

// ---------------------------------------------------------------------------------------
// ParseShipment: every error names its field

void ExpectFieldError(const json& doc, const std::string& field, const std::string& why) {
  auto r = core::ParseShipment(doc);
  ASSERT_FALSE(r.ok()) << why << ": accepted " << doc.dump();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << why;
  EXPECT_THAT(r.status().message(), StartsWith(field + ": ")) << why;
}

TEST(ParseShipment, NotAnObject) {
  for (const json& doc : {json::array(), json("S-1"), json(nullptr), json(5), json(true)}) {
    auto r = core::ParseShipment(doc);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << doc.dump();
  }
}

TEST(ParseShipment, MissingRequiredFields) {
  for (const char* field : {"id", "status", "createdAt"}) {
    json missing = Minimal();
    missing.erase(field);
    ExpectFieldError(missing, field, std::string("missing ") + field);
    json null = Minimal();
    null[field] = nullptr;
    ExpectFieldError(null, field, std::string("null ") + field);
  }
  auto r = core::ParseShipment(json::object());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseShipment, RequiredFieldMessagesSayRequired) {
  json doc = Minimal();
  doc.erase("createdAt");
  EXPECT_EQ(core::ParseShipment(doc).status().message(), "createdAt: is required");
}

TEST(ParseShipment, WrongTypeOfEveryField) {
  struct Case {
    const char* field;
    json value;
    const char* named;  // the field the message must name
  };
  const std::vector<Case> cases = {
      {"id", 1001, "id"},
      {"id", json::array({"S-1"}), "id"},
      {"status", 1, "status"},
      {"status", json::object(), "status"},
      {"createdAt", 1793527200000, "createdAt"},
      {"createdAt", true, "createdAt"},
      {"reference", 77, "reference"},
      {"customerId", 9, "customerId"},
      {"carrierId", true, "carrierId"},
      {"service", json::array(), "service"},
      {"currency", json::object(), "currency"},
      {"origin", "NL", "origin"},
      {"origin", json::array({"NL"}), "origin"},
      {"destination", 5, "destination"},
      {"origin", {{"country", 31}}, "origin.country"},
      {"destination", {{"postalCode", json::object()}}, "destination.postalCode"},
      {"weightKg", "2.5", "weightKg"},
      {"weightKg", true, "weightKg"},
      {"declaredValue", "120", "declaredValue"},
      {"declaredValue", json::array({1}), "declaredValue"},
      {"statusChangedAt", 5, "statusChangedAt"},
      {"promisedDeliveryAt", json::object(), "promisedDeliveryAt"},
      {"pickedUpAt", 1, "pickedUpAt"},
      {"outForDeliveryAt", false, "outForDeliveryAt"},
      {"deliveredAt", json::array(), "deliveredAt"},
  };
  for (const auto& c : cases) {
    json doc = Minimal();
    doc[c.field] = c.value;
    ExpectFieldError(doc, c.named, std::string(c.field) + " = " + c.value.dump());
  }
}

TEST(ParseShipment, UnknownStatusNamesTheFieldAndTheValue) {
  json doc = Minimal();
  doc["status"] = "shipped";
  auto r = core::ParseShipment(doc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), StartsWith("status: unknown value 'shipped'"));
  // It tells the caller what would have been accepted.
  EXPECT_THAT(r.status().message(), HasSubstr("out_for_delivery"));
}

TEST(ParseShipment, NonRfc3339Timestamps) {
  for (const char* field : {"createdAt", "statusChangedAt", "promisedDeliveryAt", "pickedUpAt",
                            "outForDeliveryAt", "deliveredAt"}) {
    for (const char* bad :
         {"2026-02-30T10:00:00Z", "2026-11-01", "yesterday", "2026-11-01T10:00:00", "1793527200"}) {
      json doc = Minimal();
      doc[field] = bad;
      ExpectFieldError(doc, field, std::string(field) + " = " + bad);
      EXPECT_THAT(core::ParseShipment(doc).status().message(), HasSubstr(bad));
    }
  }
}

TEST(ParseShipment, NegativeAndNonFiniteAmounts) {
  for (const char* field : {"weightKg", "declaredValue"}) {
    for (double bad :
         {-0.001, -1.0, std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      json doc = Minimal();
      doc[field] = bad;
      ExpectFieldError(doc, field, std::string(field) + " = " + std::to_string(bad));
    }
    json doc = Minimal();
    doc[field] = -3;  // a negative integer, not a double
    ExpectFieldError(doc, field, std::string(field) + " = -3");
  }
}

TEST(ParseShipment, BadIdCharacters) {
  for (const char* field : {"id", "customerId", "carrierId"}) {
    for (const std::string& bad : {std::string("S 1"), std::string("S/1"), std::string("a%b"),
                                   std::string(129, 'x'), std::string("caf\xc3\xa9")}) {
      json doc = Minimal();
      doc[field] = bad;
      ExpectFieldError(doc, field, std::string(field) + " = " + bad);
    }
  }
}

TEST(ParseShipment, EmptyIdIsRejected) {
  json doc = Minimal();
  doc["id"] = "";
  ExpectFieldError(doc, "id", "empty id");
}

TEST(ParseShipment, EmptyOptionalIdsMeanNone) {
  json doc = Minimal();
  doc["carrierId"] = "";
  doc["customerId"] = "";
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  EXPECT_EQ(s.carrier_id, "");
  EXPECT_EQ(s.customer_id, "");
}

TEST(ParseShipment, OverlongText) {
  for (const char* field : {"reference", "service", "currency"}) {
    json doc = Minimal();
    doc[field] = std::string(513, 'x');
    ExpectFieldError(doc, field, std::string(field) + " too long");
  }
  json doc = Minimal();
  doc["destination"] = {{"city", std::string(513, 'x')}};
  ExpectFieldError(doc, "destination.city", "destination.city too long");
}

// ---------------------------------------------------------------------------------------
// ShipmentToJson

TEST(ShipmentToJson, RoundTripsTheDesignExample) {
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(DesignExample()));
  json out = core::ShipmentToJson(s);
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment back, core::ParseShipment(out));
  EXPECT_EQ(back, s);
  // The normalized document of a UTC, whole-second input is the input itself.
  EXPECT_EQ(out, DesignExample());
}

TEST(ShipmentToJson, RoundTripsEveryField) {
  core::Shipment s;
  s.id = "S-9";
  s.reference = "R";
  s.customer_id = "C";
  s.carrier_id = "ups";
  s.service = "ground";
  s.status = core::ShipmentStatus::kOutForDelivery;
  s.status_changed_at = T("2026-11-03T08:00:00.001Z");
  s.origin = {{"country", "US"}};
  s.destination = {{"country", "CA"}};
  s.destination.Set("postalCode", std::nullopt);
  s.weight_kg = 0.1 + 0.2;  // not exactly representable in decimal
  s.declared_value = 1e-9;
  s.currency = "USD";
  s.created_at = T("2026-11-01T00:00:00Z");
  s.promised_delivery_at = T("2026-11-04T00:00:00Z");
  s.picked_up_at = T("2026-11-01T09:00:00.999Z");
  s.out_for_delivery_at = T("2026-11-03T08:00:00.001Z");
  s.delivered_at = std::nullopt;
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment back, core::ParseShipment(core::ShipmentToJson(s)));
  EXPECT_EQ(back, s);
  // Through text, as the source store keeps it.
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment back_text,
                          core::ParseShipment(json::parse(core::ShipmentToJson(s).dump())));
  EXPECT_EQ(back_text, s);
}

// BUG (src/base/time.cc, see time_test RoundTripOfEveryAcceptedInputAtTheEdgesOfTheRange):
// a document accepted by ParseShipment must normalize to a document ParseShipment accepts,
// or the source store keeps a document it later reports as corrupt.
TEST(ShipmentToJson, EveryAcceptedDocumentNormalizesToAnAcceptedDocument) {
  for (const char* created : {"9999-12-31T23:30:00-01:00", "0000-01-01T00:30:00+01:00"}) {
    json doc = Minimal();
    doc["createdAt"] = created;
    auto s = core::ParseShipment(doc);
    if (!s.ok()) continue;  // rejecting it is fine
    json normalized = core::ShipmentToJson(*s);
    auto back = core::ParseShipment(normalized);
    EXPECT_TRUE(back.ok()) << created << " -> " << normalized.dump() << ": "
                           << back.status().ToString();
  }
}

TEST(ShipmentToJson, OmitsEmptyOptionalFieldsAndNormalizesTimes) {
  json doc = Minimal();
  doc["createdAt"] = "2026-11-01T12:00:00.500+02:00";
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  json out = core::ShipmentToJson(s);
  EXPECT_EQ(out["createdAt"], "2026-11-01T10:00:00.500Z");
  for (const char* f :
       {"reference", "customerId", "carrierId", "service", "currency", "weightKg", "declaredValue",
        "statusChangedAt", "promisedDeliveryAt", "pickedUpAt", "outForDeliveryAt", "deliveredAt"}) {
    EXPECT_FALSE(out.contains(f)) << f;
  }
  EXPECT_EQ(out["origin"], json::object());
  EXPECT_EQ(out["destination"], json::object());
}

// ---------------------------------------------------------------------------------------
// Customers and carriers

TEST(ParseCustomer, Valid) {
  MV_ASSERT_OK_AND_ASSIGN(core::Customer c, core::ParseCustomer("C-9", {{"name", "Acme BV"}}));
  EXPECT_EQ(c.id, "C-9");
  EXPECT_EQ(c.name, "Acme BV");
  EXPECT_EQ(core::CustomerToJson(c), json({{"id", "C-9"}, {"name", "Acme BV"}}));
}

TEST(ParseCustomer, Errors) {
  auto bad_id = core::ParseCustomer("C 9", {{"name", "x"}});
  EXPECT_EQ(bad_id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_id.status().message(), StartsWith("id: "));
  EXPECT_EQ(core::ParseCustomer("", {{"name", "x"}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(core::ParseCustomer("C-9", json::array()).status().code(),
            StatusCode::kInvalidArgument);
  auto missing = core::ParseCustomer("C-9", json::object());
  EXPECT_THAT(missing.status().message(), StartsWith("name: "));
  auto empty = core::ParseCustomer("C-9", {{"name", ""}});
  EXPECT_THAT(empty.status().message(), StartsWith("name: "));
  auto wrong = core::ParseCustomer("C-9", {{"name", 5}});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), StartsWith("name: "));
  auto long_name = core::ParseCustomer("C-9", {{"name", std::string(513, 'n')}});
  EXPECT_THAT(long_name.status().message(), StartsWith("name: "));
}

TEST(ParseCustomer, RoundTrip) {
  core::Customer c{"C-1", "Name \"quoted\" \xc3\xa9"};
  MV_ASSERT_OK_AND_ASSIGN(core::Customer back, core::ParseCustomer(c.id, core::CustomerToJson(c)));
  EXPECT_EQ(back.id, c.id);
  EXPECT_EQ(back.name, c.name);
}

TEST(ParseCarrier, ValidWithAndWithoutServices) {
  json services = {{"express", {{"transitDays", 1}}}, {"ground", {{"transitDays", 4}}}};
  MV_ASSERT_OK_AND_ASSIGN(core::Carrier c,
                          core::ParseCarrier("dhl", {{"name", "DHL"}, {"services", services}}));
  EXPECT_EQ(c.id, "dhl");
  EXPECT_EQ(c.name, "DHL");
  EXPECT_EQ(c.services, services);

  MV_ASSERT_OK_AND_ASSIGN(core::Carrier plain, core::ParseCarrier("ups", {{"name", "UPS"}}));
  EXPECT_EQ(plain.services, json::object());
  MV_ASSERT_OK_AND_ASSIGN(core::Carrier null_services,
                          core::ParseCarrier("ups", {{"name", "UPS"}, {"services", nullptr}}));
  EXPECT_EQ(null_services.services, json::object());
}

TEST(ParseCarrier, Errors) {
  EXPECT_THAT(core::ParseCarrier("d h l", {{"name", "x"}}).status().message(), StartsWith("id: "));
  EXPECT_EQ(core::ParseCarrier("dhl", "DHL").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(core::ParseCarrier("dhl", json::object()).status().message(), StartsWith("name: "));
  auto bad_services = core::ParseCarrier("dhl", {{"name", "DHL"}, {"services", "express"}});
  EXPECT_EQ(bad_services.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_services.status().message(), StartsWith("services: "));
  auto array_services =
      core::ParseCarrier("dhl", {{"name", "DHL"}, {"services", json::array({"express"})}});
  EXPECT_THAT(array_services.status().message(), StartsWith("services: "));
}

TEST(ParseCarrier, RoundTrip) {
  core::Carrier c{"dhl", "DHL", {{"express", {{"transitDays", 1}}}}};
  MV_ASSERT_OK_AND_ASSIGN(core::Carrier back, core::ParseCarrier(c.id, core::CarrierToJson(c)));
  EXPECT_EQ(back.id, c.id);
  EXPECT_EQ(back.name, c.name);
  EXPECT_EQ(back.services, c.services);
}

TEST(StatusChangedAt, TheDocumentsOwnElseTheStoredOneWhileTheStatusStaysElseNow) {
  const mv::Timestamp now = mv::FromMillis(1'800'000'000'000);
  const mv::Timestamp earlier = mv::FromMillis(1'700'000'000'000);
  core::Shipment stored;
  stored.status = core::ShipmentStatus::kInTransit;
  stored.status_changed_at = earlier;
  core::Shipment written = stored;
  written.status_changed_at.reset();
  EXPECT_EQ(core::StatusChangedAt(written, stored, now), earlier) << "status unchanged";
  written.status = core::ShipmentStatus::kDelivered;
  EXPECT_EQ(core::StatusChangedAt(written, stored, now), now) << "status changed";
  EXPECT_EQ(core::StatusChangedAt(written, std::nullopt, now), now) << "new shipment";
  const mv::Timestamp given = mv::FromMillis(1'750'000'000'000);
  written.status_changed_at = given;
  EXPECT_EQ(core::StatusChangedAt(written, stored, now), given) << "the document's own";
}

TEST(CheckTrackingEventIds, EveryIdMustBeValid) {
  core::TrackingEvent e{"E-1", "S-1", "dhl", "PU", {}, ""};
  EXPECT_TRUE(core::CheckTrackingEventIds(e).ok());
  for (std::string core::TrackingEvent::*field :
       {&core::TrackingEvent::event_id, &core::TrackingEvent::shipment_id,
        &core::TrackingEvent::carrier_id}) {
    core::TrackingEvent bad = e;
    bad.*field = "a/b";
    EXPECT_EQ(core::CheckTrackingEventIds(bad).code(), StatusCode::kInvalidArgument);
    bad.*field = "";
    EXPECT_EQ(core::CheckTrackingEventIds(bad).code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
