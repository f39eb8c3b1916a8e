#include "mongo/event_decoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/domain.h"
#include "core/tracking.h"
#include "mongo/cluster_time.h"
#include "mongo/extended_json.h"
#include "test_util.h"

namespace mv::mongo {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Kind = DecodedEvent::Kind;

// testdata/change_events.jsonl: change events shaped as a 6.0+ server returns them to a
// database-level stream opened with fullDocument: "updateLookup", one per line.
std::vector<json> Events() {
  std::ifstream in(std::string(VIYA_MONGO_TESTDATA) + "/change_events.jsonl");
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  EXPECT_EQ(out.size(), 14u) << "testdata not found or changed";
  return out;
}

json Canonical(const DecodedEvent& d) { return json::parse(d.change.full_document.value()); }

TEST(ClusterTime, PackKeepsOrderAndRoundTrips) {
  std::vector<ClusterTime> times = {{1, 0}, {1, 1},          {1, 0x7fffffff},
                                    {2, 0}, {0x80000000, 0}, {0xffffffff, 7}};
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_EQ(Unpack(Pack(times[i])), times[i]);
    if (i > 0) {
      EXPECT_LT(Pack(times[i - 1]), Pack(times[i]));
    }
    MV_ASSERT_OK_AND_ASSIGN(ClusterTime back, ParseClusterTime(FormatClusterTime(times[i])));
    EXPECT_EQ(back, times[i]);
  }
  EXPECT_EQ(Unpack(Pack({3, 0xffffffff})), (ClusterTime{3, 0x7fffffff})) << "clamped";
  EXPECT_GT(Pack({0xffffffff, 0x7fffffff}), 0) << "every 32-bit second stays positive";
  for (const char* bad : {"", "1", "1.", ".1", "1.2.3", "-1.2", "4294967296.0", "1.x"}) {
    EXPECT_FALSE(ParseClusterTime(bad).ok()) << bad;
  }
}

TEST(ClusterTime, OfAResumeToken) {
  MV_ASSERT_OK_AND_ASSIGN(ClusterTime t, ClusterTimeOfResumeToken("8267A1B2C3000000012B04"));
  EXPECT_EQ(t, (ClusterTime{1738650307, 1}));
  EXPECT_FALSE(ClusterTimeOfResumeToken("8267A1B2C3").ok()) << "too short";
  EXPECT_FALSE(ClusterTimeOfResumeToken("0167A1B2C3000000012B04").ok()) << "not a timestamp";
  EXPECT_FALSE(ClusterTimeOfResumeToken("8267A1B2C30000000Z2B04").ok()) << "not hex";
}

TEST(PlainJson, BsonTypesBecomeWhatTheParsersTake) {
  json doc = json::parse(R"({
    "a": {"$date": "2025-02-01T10:00:00+02:00"},
    "b": {"$date": {"$numberLong": "1739181600000"}},
    "c": {"$numberDecimal": "0.1"},
    "d": {"$numberLong": "9007199254740993"},
    "e": {"$numberInt": "-5"},
    "f": {"$numberDouble": "2.5"},
    "g": {"$oid": "65f1a2b3c4d5e6f708192a3b"},
    "h": [{"$numberInt": "1"}, {"x": {"$date": 0}}],
    "i": {"$numberDecimal": "NaN"},
    "j": {"$binary": {"base64": "AA==", "subType": "00"}}
  })");
  json plain = PlainJson(doc);
  EXPECT_EQ(plain["a"], "2025-02-01T08:00:00Z");
  EXPECT_EQ(plain["b"], "2025-02-10T10:00:00Z");
  EXPECT_EQ(plain["c"], 0.1);
  EXPECT_EQ(plain["d"].get<std::int64_t>(), 9007199254740993) << "beyond a double: exact";
  EXPECT_EQ(plain["e"], -5);
  EXPECT_EQ(plain["f"], 2.5);
  EXPECT_EQ(plain["g"], "65f1a2b3c4d5e6f708192a3b");
  EXPECT_EQ(plain["h"], json::parse(R"([1, {"x": "1970-01-01T00:00:00Z"}])"));
  EXPECT_EQ(plain["i"], "NaN") << "left for the parser to reject by name";
  EXPECT_EQ(plain["j"], doc["j"]);
}

TEST(DecodeChangeEvent, InsertCarriesTheCanonicalDocumentAndItsClusterTime) {
  auto events = Events();
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent d, DecodeChangeEvent(events[0], {}, {}));
  ASSERT_EQ(d.kind, Kind::kChange);
  EXPECT_EQ(d.change.op, core::Operation::kInsert);
  EXPECT_EQ(d.change.collection, core::Collection::kShipments);
  EXPECT_EQ(d.change.org, "acme");
  EXPECT_EQ(d.change.document_id, "SHIP001");
  EXPECT_EQ(d.change.token, Pack({1738650307, 1}));
  EXPECT_EQ(d.change.wall_time, testing::T("2025-02-04T06:25:07.512Z"));
  EXPECT_EQ(d.resume_token, events[0]["_id"].dump());
  json doc = Canonical(d);
  EXPECT_FALSE(doc.contains("organizationId"));
  EXPECT_FALSE(doc.contains("_id"));
  // What the engine gets parses as a shipment, offsets and BSON types included.
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(doc));
  EXPECT_EQ(s.id, "SHIP001");
  EXPECT_EQ(s.status, core::ShipmentStatus::kInTransit);
  EXPECT_EQ(s.created_at, testing::T("2025-02-01T08:00:00Z"));
  EXPECT_EQ(s.promised_delivery_at, testing::T("2025-02-10T10:00:00Z"));
  EXPECT_EQ(s.weight_kg, 12.5);
  // $numberDecimal money keeps its exact fixed-point value (micro units).
  ASSERT_TRUE(s.declared_value.has_value());
  EXPECT_EQ(std::llround(*s.declared_value * 1e6), 1234567891234);
}

TEST(DecodeChangeEvent, UpdateUsesThePostImageAndANullOneIsADelete) {
  auto events = Events();
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent update, DecodeChangeEvent(events[1], {}, {}));
  ASSERT_EQ(update.kind, Kind::kChange);
  EXPECT_EQ(update.change.op, core::Operation::kUpdate);
  EXPECT_EQ(Canonical(update)["status"], "delivered");
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent gone, DecodeChangeEvent(events[2], {}, {}));
  ASSERT_EQ(gone.kind, Kind::kChange);
  EXPECT_EQ(gone.change.op, core::Operation::kDelete) << "deleted since the update";
  EXPECT_EQ(gone.change.org, "acme") << "from the documentKey's shard key";
  EXPECT_EQ(gone.change.document_id, "SHIP002");
  EXPECT_FALSE(gone.change.full_document.has_value());
}

TEST(DecodeChangeEvent, ReplaceOfALookupWithAnObjectId) {
  auto events = Events();
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent d, DecodeChangeEvent(events[3], {}, {}));
  ASSERT_EQ(d.kind, Kind::kChange);
  EXPECT_EQ(d.change.op, core::Operation::kReplace);
  EXPECT_EQ(d.change.collection, core::Collection::kCustomers);
  EXPECT_EQ(d.change.document_id, "65f1a2b3c4d5e6f708192a3b");
  MV_ASSERT_OK_AND_ASSIGN(core::Customer c,
                          core::ParseCustomer(d.change.document_id, Canonical(d)));
  EXPECT_EQ(c.name, "Acme B.V.");
}

TEST(DecodeChangeEvent, DeleteNeedsItsOrgFromTheShardKeyOrThePreImage) {
  auto events = Events();
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent sharded, DecodeChangeEvent(events[4], {}, {}));
  EXPECT_EQ(sharded.change.op, core::Operation::kDelete);
  EXPECT_EQ(sharded.change.org, "globex");
  EXPECT_EQ(sharded.change.document_id, "SHIP003");
  auto unsharded = DecodeChangeEvent(events[5], {}, {});
  EXPECT_EQ(unsharded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unsharded.status().message(), HasSubstr("SHIP004"));
  EXPECT_THAT(unsharded.status().message(), HasSubstr("changeStreamPreAndPostImages"));
}

TEST(DecodeChangeEvent, TrackingEventsAreNamedCarrierSlashEventId) {
  auto events = Events();
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent insert, DecodeChangeEvent(events[6], {}, {}));
  EXPECT_EQ(insert.change.collection, core::Collection::kTrackingEvents);
  EXPECT_EQ(insert.change.document_id, "dhl/E-9");
  MV_ASSERT_OK_AND_ASSIGN(core::TrackingEvent e, core::ParseTrackingEvent(Canonical(insert)));
  EXPECT_EQ(e.occurred_at, testing::T("2025-02-01T12:00:00Z"));
  EXPECT_EQ(e.shipment_id, "SHIP001");
  // A delete names the event through its pre-image.
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent del, DecodeChangeEvent(events[7], {}, {}));
  EXPECT_EQ(del.change.op, core::Operation::kDelete);
  EXPECT_EQ(del.change.org, "acme");
  EXPECT_EQ(del.change.document_id, "dhl/E-9");
  json no_pre_image = events[7];
  no_pre_image.erase("fullDocumentBeforeChange");
  EXPECT_THAT(DecodeChangeEvent(no_pre_image, {}, {}).status().message(), HasSubstr("pre-image"));
}

TEST(DecodeChangeEvent, DropRenameDropDatabaseAndInvalidateLoseTheHistory) {
  auto events = Events();
  for (size_t i : {8, 9, 10, 11}) {
    MV_ASSERT_OK_AND_ASSIGN(DecodedEvent d, DecodeChangeEvent(events[i], {}, {}));
    EXPECT_EQ(d.kind, Kind::kHistoryLost) << events[i]["operationType"];
  }
  // Of another database or collection, or not a data change: nothing for the views.
  json other_db = events[10];
  other_db["ns"]["db"] = "billing";
  for (const json& e : {events[12], events[13], other_db}) {
    MV_ASSERT_OK_AND_ASSIGN(DecodedEvent d, DecodeChangeEvent(e, {}, {}));
    EXPECT_EQ(d.kind, Kind::kSkip) << e.dump();
  }
}

TEST(DecodeChangeEvent, TheFieldMappingRenamesThePlatformsFields) {
  json event = Events()[0];
  json& doc = event["fullDocument"];
  doc["tenant"] = doc["organizationId"];
  doc.erase("organizationId");
  doc["shipmentNo"] = doc["_id"];
  doc["_id"] = {{"$oid", "65f1a2b3c4d5e6f708192a3b"}};
  doc["created"] = doc["createdAt"];
  doc.erase("createdAt");
  FieldMapping mapping;
  mapping.org = "tenant";
  mapping.id = "shipmentNo";
  mapping.renames[core::Collection::kShipments]["createdAt"] = "created";
  SourceNames names;
  names.database = "viya";
  MV_ASSERT_OK_AND_ASSIGN(DecodedEvent d, DecodeChangeEvent(event, names, mapping));
  EXPECT_EQ(d.change.org, "acme");
  EXPECT_EQ(d.change.document_id, "SHIP001");
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment s, core::ParseShipment(Canonical(d)));
  EXPECT_EQ(s.created_at, testing::T("2025-02-01T08:00:00Z"));
  // Without the mapping, the document has no org field.
  EXPECT_THAT(DecodeChangeEvent(event, names, {}).status().message(), HasSubstr("organizationId"));
}

TEST(DecodeChangeEvent, MalformedEventsAreErrorsNotCrashes) {
  json good = Events()[0];
  std::vector<json> bad = {json::array(), json::object(), good, good, good, good};
  bad[3].erase("clusterTime");
  bad[4]["fullDocument"] = "not a document";
  bad[5]["fullDocument"]["organizationId"] = "no spaces allowed";
  bad[2]["fullDocument"].erase("_id");
  for (const json& e : bad) {
    auto d = DecodeChangeEvent(e, {}, {});
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << e.dump().substr(0, 80);
  }
}

}  // namespace
}  // namespace mv::mongo
