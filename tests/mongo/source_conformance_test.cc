// The source interfaces (core::ChangeSource, core::SourceReader, core::LookupReader) hold
// the same contract on both backends: the embedded oplog and the MongoDB source (over
// EmbeddedAsMongo, a MongoDB-shaped view of the same writes). One typed suite, run on each.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/tracking.h"
#include "embedded_as_mongo.h"
#include "mongo/change_source.h"
#include "mongo/source_reader.h"
#include "test_util.h"

namespace mv::testing {
namespace {

// The embedded backend: the store is the reader; tokens are oplog sequence numbers.
class EmbeddedSource {
 public:
  explicit EmbeddedSource(storage::sqlite::SourceStore* store) : store_(store) {
    changes_ = std::move(store->NewChangeSource()).value();
  }
  core::ChangeSource& changes() { return *changes_; }
  core::SourceReader& reader() { return *store_; }
  core::LookupReader& lookups() { return *store_; }
  static core::ChangeToken TokenOf(core::ChangeToken seq) { return seq; }

 private:
  storage::sqlite::SourceStore* store_;
  std::unique_ptr<core::ChangeSource> changes_;
};

// The MongoDB backend over the same writes; tokens are packed cluster times.
class MongoSource {
 public:
  explicit MongoSource(storage::sqlite::SourceStore* store)
      : mirror_(store), changes_(&mirror_, {}, {}, Options()), reader_(&mirror_, {}, {}) {}
  core::ChangeSource& changes() { return changes_; }
  core::SourceReader& reader() { return reader_; }
  core::LookupReader& lookups() { return reader_; }
  static core::ChangeToken TokenOf(core::ChangeToken seq) {
    return mongo::Pack(EmbeddedAsMongo::TimeOf(seq));
  }

 private:
  static mongo::MongoChangeSourceOptions Options() {
    mongo::MongoChangeSourceOptions o;
    o.retry_pause = Millis(0);
    o.idle_checkpoint_interval = Millis(0);
    return o;
  }
  EmbeddedAsMongo mirror_;
  mongo::MongoChangeSource changes_;
  mongo::MongoSourceReader reader_;
};

template <typename Backend>
class SourceConformance : public ::testing::Test {
 protected:
  SourceConformance()
      : clock_(T("2026-11-01T08:00:00Z")),
        store_(std::move(storage::sqlite::SourceStore::Open(dir_.File("source.db"), &clock_, {}))
                   .value()),
        backend_(store_.get()) {}

  core::Shipment Ship(const std::string& id, core::ShipmentStatus status) {
    core::Shipment s;
    s.id = id;
    s.status = status;
    s.created_at = T("2026-10-31T10:00:00Z");
    s.carrier_id = "dhl";
    s.customer_id = "C-1";
    s.declared_value = 1234.5;
    return s;
  }

  // A first change (so that every later token is after a real one), then a mix of every
  // collection and operation. Returns the first change's sequence number.
  core::ChangeToken Write() {
    core::ChangeToken first = store_->PutCustomer("acme", {"C-1", "Acme B.V."}).value();
    EXPECT_TRUE(store_
                    ->UpsertShipments("acme", {Ship("S-1", core::ShipmentStatus::kBooked),
                                               Ship("S-2", core::ShipmentStatus::kInTransit)})
                    .ok());
    EXPECT_TRUE(
        store_->UpsertShipments("globex", {Ship("S-1", core::ShipmentStatus::kBooked)}).ok());
    EXPECT_TRUE(
        store_->UpsertShipments("acme", {Ship("S-1", core::ShipmentStatus::kDelivered)}).ok());
    core::TrackingEvent e{"E-1", "S-2", "dhl", "PU", T("2026-10-31T12:00:00-03:00"), "hub"};
    EXPECT_TRUE(store_->InsertTrackingEvents("acme", {e}).ok());
    EXPECT_TRUE(store_
                    ->InsertTrackingEvents(
                        "acme", {{"E-2", "S-9", "dhl", "IT", T("2026-10-31T13:00:00Z"), ""}})
                    .ok());
    EXPECT_TRUE(store_->DeleteShipment("acme", "S-2").ok());
    EXPECT_TRUE(store_->PutCarrier("acme", {"dhl", "DHL", nlohmann::json::object()}).ok());
    return first;
  }

  // An event as both backends must agree on it: an update and a replace both carry the
  // whole new document.
  static std::string Describe(const core::ChangeEvent& e) {
    std::string op = e.op == core::Operation::kDelete ? "delete" : "upsert";
    std::string doc = e.full_document ? nlohmann::json::parse(*e.full_document).dump() : "-";
    return fmt::format("{} {} {}/{} {}", op, core::ToString(e.collection), e.org, e.document_id,
                       doc);
  }

  std::vector<core::ChangeEvent> ReadAll(core::ChangeToken after, size_t max_events = 1000) {
    auto events = backend_.changes().Read(after, max_events, Millis(0));
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? *events : std::vector<core::ChangeEvent>{};
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::sqlite::SourceStore> store_;
  Backend backend_;
};

using Backends = ::testing::Types<EmbeddedSource, MongoSource>;
TYPED_TEST_SUITE(SourceConformance, Backends);

TYPED_TEST(SourceConformance, ReadsEveryLaterChangeInOrderWithItsDocument) {
  core::ChangeToken first = this->Write();
  std::vector<core::ChangeEvent> events = this->ReadAll(TypeParam::TokenOf(first));
  std::vector<std::string> got;
  for (const auto& e : events) got.push_back(this->Describe(e));
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(got[0].substr(0, 27), "upsert shipments acme/S-1 {");
  EXPECT_EQ(got[6].substr(0, 27), "delete shipments acme/S-2 -");
  EXPECT_EQ(got[4].substr(0, 35), "upsert tracking_events acme/dhl/E-1");
  EXPECT_EQ(got[7].substr(0, 26), "upsert carriers acme/dhl {");
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].token, TypeParam::TokenOf(first + 1 + static_cast<core::ChangeToken>(i)));
  }
  // The documents are the engine's canonical ones on both backends.
  MV_ASSERT_OK_AND_ASSIGN(
      core::TrackingEvent e,
      core::ParseTrackingEvent(nlohmann::json::parse(*events[4].full_document)));
  EXPECT_EQ(e.occurred_at, T("2026-10-31T15:00:00Z"));
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken latest, this->backend_.changes().LatestToken());
  EXPECT_EQ(latest, events.back().token);
}

TYPED_TEST(SourceConformance, ReadingFromAnyTokenReturnsExactlyWhatFollowsIt) {
  core::ChangeToken first = this->Write();
  std::vector<core::ChangeEvent> all = this->ReadAll(TypeParam::TokenOf(first));
  ASSERT_EQ(all.size(), 8u);
  for (size_t k = 0; k < all.size(); ++k) {
    std::vector<core::ChangeEvent> rest = this->ReadAll(all[k].token);
    ASSERT_EQ(rest.size(), all.size() - k - 1) << "after event " << k;
    for (size_t i = 0; i < rest.size(); ++i) {
      EXPECT_EQ(this->Describe(rest[i]), this->Describe(all[k + 1 + i]));
    }
  }
  // In batches of any size, and nothing at the end.
  for (size_t max : {1u, 3u, 5u}) {
    std::vector<std::string> paged;
    core::ChangeToken after = TypeParam::TokenOf(first);
    for (;;) {
      std::vector<core::ChangeEvent> batch = this->ReadAll(after, max);
      EXPECT_LE(batch.size(), max);
      if (batch.empty()) break;
      for (const auto& e : batch) paged.push_back(this->Describe(e));
      after = batch.back().token;
    }
    ASSERT_EQ(paged.size(), all.size()) << "pages of " << max;
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(paged[i], this->Describe(all[i]));
  }
}

TYPED_TEST(SourceConformance, ASnapshotHasEveryShipmentWithItsEventsAndATokenToResumeFrom) {
  this->Write();
  std::vector<std::string> scanned;
  MV_ASSERT_OK_AND_ASSIGN(
      core::ChangeToken token,
      this->backend_.reader().ScanShipments(std::nullopt, [&](const core::SourceShipment& s) {
        std::string line = s.org + "/" + s.id;
        if (s.json) line += " " + core::ParseShipment(nlohmann::json::parse(*s.json))->reference;
        if (s.json)
          line += core::ToString(core::ParseShipment(nlohmann::json::parse(*s.json))->status);
        for (const auto& e : s.events) {
          line += " " + core::ParseTrackingEvent(nlohmann::json::parse(e))->event_id;
        }
        scanned.push_back(line);
        return Status::Ok();
      }));
  EXPECT_EQ(scanned, (std::vector<std::string>{"acme/S-1 delivered", "acme/S-2 E-1", "acme/S-9 E-2",
                                               "globex/S-1 booked"}));
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken latest, this->backend_.changes().LatestToken());
  EXPECT_EQ(token, latest) << "nothing changed during the scan";
  EXPECT_TRUE(this->ReadAll(token).empty()) << "resuming from the scan's token replays nothing";
  MV_ASSERT_OK_AND_ASSIGN(std::int64_t all, this->backend_.reader().CountShipments(std::nullopt));
  EXPECT_EQ(all, 2) << "documents, not ids with events only";
  std::vector<std::string> globex;
  MV_ASSERT_OK(this->backend_.reader()
                   .ScanShipments("globex",
                                  [&](const core::SourceShipment& s) {
                                    globex.push_back(s.org + "/" + s.id);
                                    return Status::Ok();
                                  })
                   .status());
  EXPECT_EQ(globex, (std::vector<std::string>{"globex/S-1"}));
}

TYPED_TEST(SourceConformance, LookupsAreScopedToTheOrg) {
  this->Write();
  MV_ASSERT_OK_AND_ASSIGN(auto customer, this->backend_.lookups().GetCustomer("acme", "C-1"));
  ASSERT_TRUE(customer.has_value());
  EXPECT_EQ(customer->name, "Acme B.V.");
  MV_ASSERT_OK_AND_ASSIGN(auto other, this->backend_.lookups().GetCustomer("globex", "C-1"));
  EXPECT_FALSE(other.has_value());
  MV_ASSERT_OK_AND_ASSIGN(auto carrier, this->backend_.lookups().GetCarrier("acme", "dhl"));
  ASSERT_TRUE(carrier.has_value());
  EXPECT_EQ(carrier->name, "DHL");
}

}  // namespace
}  // namespace mv::testing
