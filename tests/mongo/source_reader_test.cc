#include "mongo/source_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/tracking.h"
#include "scripted_collections.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using ::testing::HasSubstr;

json Shipment(const std::string& org, const std::string& id) {
  return {{"_id", id},
          {"organizationId", org},
          {"status", "booked"},
          {"createdAt", {{"$date", "2025-02-01T08:00:00Z"}}}};
}

json Event(const std::string& org, const std::string& shipment, const std::string& event_id) {
  return {{"_id", {{"$oid", "65f1a2b3c4d5e6f70819" + event_id}}},
          {"organizationId", org},
          {"eventId", event_id},
          {"shipmentId", shipment},
          {"carrierId", "dhl"},
          {"code", "PU"},
          {"occurredAt", {{"$date", "2025-02-01T09:00:00Z"}}}};
}

// (org/id: document? + number of events) of every shipment a scan passes on.
struct Scanned {
  std::vector<std::string> keys;
  std::vector<core::SourceShipment> shipments;
};

class MongoSourceReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.docs["shipments"] = {Shipment("acme", "S-3"), Shipment("globex", "S-2"),
                             Shipment("acme", "S-1")};
    db_.docs["tracking_events"] = {Event("acme", "S-1", "0001"), Event("acme", "S-4", "0002"),
                                   Event("acme", "S-1", "0003"), Event("globex", "S-2", "0004")};
  }
  Result<Scanned> Scan(const std::optional<std::string>& org, core::ChangeToken* token) {
    Scanned out;
    MV_ASSIGN_OR_RETURN(*token, reader_.ScanShipments(org, [&](const core::SourceShipment& s) {
      out.keys.push_back(s.org + "/" + s.id + (s.json ? " doc" : "") + " " +
                         std::to_string(s.events.size()));
      out.shipments.push_back(s);
      return Status::Ok();
    }));
    return out;
  }
  ScriptedCollections db_;
  mongo::MongoSourceReader reader_{&db_, {}, {}};
};

TEST_F(MongoSourceReaderTest, ScanMergesShipmentsWithTheirEventsInOrgIdOrder) {
  core::ChangeToken token = 0;
  MV_ASSERT_OK_AND_ASSIGN(Scanned s, Scan(std::nullopt, &token));
  EXPECT_EQ(s.keys, (std::vector<std::string>{"acme/S-1 doc 2", "acme/S-3 doc 0", "acme/S-4 1",
                                              "globex/S-2 doc 1"}))
      << "S-4 has events only: it is passed on without a document";
  EXPECT_EQ(token, mongo::Pack(db_.now)) << "the cluster time taken before the scan";
  // The documents are canonical: they parse as the engine parses them.
  MV_ASSERT_OK_AND_ASSIGN(core::Shipment first,
                          core::ParseShipment(json::parse(*s.shipments[0].json)));
  EXPECT_EQ(first.id, "S-1");
  MV_ASSERT_OK_AND_ASSIGN(core::TrackingEvent e,
                          core::ParseTrackingEvent(json::parse(s.shipments[0].events[0])));
  EXPECT_EQ(e.shipment_id, "S-1");
}

TEST_F(MongoSourceReaderTest, ScanOfOneOrgAndCount) {
  core::ChangeToken token = 0;
  MV_ASSERT_OK_AND_ASSIGN(Scanned s, Scan("globex", &token));
  EXPECT_EQ(s.keys, (std::vector<std::string>{"globex/S-2 doc 1"}));
  MV_ASSERT_OK_AND_ASSIGN(std::int64_t all, reader_.CountShipments(std::nullopt));
  EXPECT_EQ(all, 3);
  MV_ASSERT_OK_AND_ASSIGN(std::int64_t acme, reader_.CountShipments("acme"));
  EXPECT_EQ(acme, 2);
}

TEST_F(MongoSourceReaderTest, ACursorThatFailsMidScanIsReopenedAfterTheLastShipment) {
  db_.fail_after["shipments"] = 2;
  core::ChangeToken token = 0;
  MV_ASSERT_OK_AND_ASSIGN(Scanned s, Scan(std::nullopt, &token));
  EXPECT_EQ(s.keys, (std::vector<std::string>{"acme/S-1 doc 2", "acme/S-3 doc 0", "acme/S-4 1",
                                              "globex/S-2 doc 1"}))
      << "every shipment once, none lost";
  EXPECT_EQ(db_.filters.size(), 4u) << "two cursors, reopened once";
  EXPECT_TRUE(db_.filters.back().contains("$or")) << db_.filters.back().dump();
}

TEST_F(MongoSourceReaderTest, ABadDocumentFailsTheScanWithoutRetrying) {
  db_.docs["shipments"].push_back({{"_id", "S-9"}, {"status", "booked"}});  // no org
  core::ChangeToken token = 0;
  auto s = Scan(std::nullopt, &token);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("organizationId"));
  EXPECT_EQ(db_.filters.size(), 2u);
}

TEST_F(MongoSourceReaderTest, LookupsReadOneDocumentOfTheOrg) {
  db_.docs["customers"] = {{{"_id", "C-1"}, {"organizationId", "acme"}, {"name", "Acme B.V."}},
                           {{"_id", "C-1"}, {"organizationId", "globex"}, {"name", "Globex"}}};
  MV_ASSERT_OK_AND_ASSIGN(auto acme, reader_.GetCustomer("acme", "C-1"));
  ASSERT_TRUE(acme.has_value());
  EXPECT_EQ(acme->name, "Acme B.V.");
  MV_ASSERT_OK_AND_ASSIGN(auto none, reader_.GetCarrier("acme", "dhl"));
  EXPECT_FALSE(none.has_value());
}

}  // namespace
}  // namespace mv::testing
