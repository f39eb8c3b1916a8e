// The MongoDB view store: the shared ViewStore conformance suite, and what is MongoDB's own
// (document shapes, stable names as read-only views, the catalog, blue/green, one
// transaction per batch, recovery at Open), on the in-memory MongoDB and, with
// VIYA_MV_MONGODB_URI, on a real replica set.

#include <gtest/gtest.h>

#include "core/customer_summary_view.h"
#include "core/realtime_ops_view.h"
#include "mongo/view_harness.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using mongo::Document;

std::vector<ConformanceBackend> MongoBackends() {
  std::vector<ConformanceBackend> out;
  for (const auto& kind : ViewDatabaseFixture::Kinds()) {
    out.push_back({"mongo_" + kind,
                   [kind](const core::ViewSet* views,
                          const Clock* clock) -> std::unique_ptr<ViewStoreHarness> {
                     return std::make_unique<MongoHarness>(kind, views, clock);
                   }});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Mongo, ViewStoreConformance, ::testing::ValuesIn(MongoBackends()),
                         ConformanceBackendName);

TEST(MongoViewServer, RunsWhenAReplicaSetIsNamed) {
  if (ViewDatabaseFixture::ServerUri().empty()) {
    GTEST_SKIP() << "SKIPPED: VIYA_MV_MONGODB_URI is not set, so the MongoDB view store ran "
                    "against the in-memory MongoDB only (make test-mongo runs it on a server)";
  }
  ViewDatabaseFixture server("server");
  MV_ASSERT_OK_AND_ASSIGN(Document reply, server.db()->Command({{"ping", 1}}));
  EXPECT_TRUE(mongo::ReplyOk(reply)) << reply.dump();
}

core::ShipmentRow Row(const std::string& org, const std::string& id,
                      core::ShipmentStatus status = core::ShipmentStatus::kBooked,
                      Timestamp created = T("2026-11-01T10:00:00Z")) {
  core::Shipment s;
  s.id = id;
  s.reference = "PO-" + id;
  s.customer_id = "C-1";
  s.carrier_id = "dhl";
  s.status = status;
  s.created_at = created;
  s.promised_delivery_at = T("2026-11-03T17:00:00Z");
  s.weight_kg = 1.5;
  return core::Project(org, s, T("2026-11-02T12:00:00Z"), core::ProjectionOptions{});
}

core::AggregateDelta OpsDelta(const std::string& org, std::int64_t count) {
  core::RealtimeOpsView v;
  core::AggregateDelta d;
  d.key = {org};
  d.measures.assign(v.spec().measure_columns.size(), 0);
  d.measures[0] = count;
  d.measures[1] = count;
  return d;
}

class MongoViewStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  MongoViewStoreTest() : fixture_(GetParam()) { Open(&views_); }

  void Open(const core::ViewSet* views, mongo::MongoViewStoreOptions options = {}) {
    store_.reset();
    auto store = mongo::MongoViewStore::Open(db(), views, &clock_, std::move(options));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  mongo::ViewDatabase* db() { return fixture_.db(); }
  std::vector<Document> Docs(const std::string& collection, Document filter = Document::object()) {
    std::vector<Document> out;
    Status s = db()->Query(mongo::FindCommand(collection, std::move(filter), {{"_id", 1}}),
                           [&](Document d) {
                             out.push_back(std::move(d));
                             return Status::Ok();
                           });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  std::set<std::string> Collections() {
    auto names = mongo::ListCollections(*db());
    EXPECT_TRUE(names.ok());
    return names.ok() ? std::set<std::string>(names->begin(), names->end())
                      : std::set<std::string>();
  }
  // The collection a read-only view is defined on (empty for none).
  std::string ViewOn(const std::string& name) {
    if (fixture_.memory()) return fixture_.memory()->ViewOn(name);
    auto reply = db()->Command({{"listCollections", 1}, {"filter", {{"name", name}}}});
    if (!reply.ok() || !mongo::ReplyOk(*reply)) return "";
    for (const auto& c : (*reply)["cursor"]["firstBatch"]) {
      if (c.value("name", "") == name && c.contains("options")) {
        return c["options"].value("viewOn", "");
      }
    }
    return "";
  }

  ViewDatabaseFixture fixture_;
  const core::ViewSet views_ = core::ViewSet::Default();
  ManualClock clock_{T("2026-11-02T12:00:00Z")};
  std::unique_ptr<mongo::MongoViewStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Mongo, MongoViewStoreTest,
                         ::testing::ValuesIn(ViewDatabaseFixture::Kinds()),
                         [](const auto& info) { return info.param; });

// The documents have the shape the platform's own handlers read (the architecture
// review's): a compound _id in key order, _schemaVersion, dates as dates.
TEST_P(MongoViewStoreTest, DocumentsHaveTheReviewsShape) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  b.token = 5;
  MV_ASSERT_OK(store_->Apply(b));
  auto list = Docs(store_->live().shipment_list);
  ASSERT_EQ(list.size(), 1u);
  const Document& s = list[0];
  EXPECT_EQ(s["_id"].dump(), R"({"organizationId":"acme","shipmentId":"S-1"})");
  EXPECT_EQ(s["organizationId"], "acme");
  EXPECT_EQ(s["status"], "booked");
  EXPECT_TRUE(s["createdAt"].contains("$date")) << s["createdAt"].dump();
  EXPECT_TRUE(s["sla"]["nextChangeAt"].contains("$date"));
  EXPECT_EQ(s["_schemaVersion"].dump(), R"({"$numberInt":"3"})");
  auto ops = Docs(store_->live().aggregates.at("mv_realtime_ops"));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0]["_id"].dump(), R"({"organizationId":"acme"})");
  EXPECT_EQ(ops[0]["shipments"].dump(), R"({"$numberLong":"1"})") << "64-bit counts";
  EXPECT_TRUE(ops[0].contains("_schemaVersion"));
  auto checkpoint = Docs(mongo::kCheckpoints);
  ASSERT_EQ(checkpoint.size(), 1u);
  EXPECT_EQ(checkpoint[0]["token"].dump(), R"({"$numberLong":"5"})");
}

TEST_P(MongoViewStoreTest, ABatchItsDeadLettersAndItsCheckpointAreOneTransaction) {
  if (!fixture_.memory()) GTEST_SKIP() << "counts the in-memory database's transactions";
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1"), Row("acme", "S-2")};
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 2)};
  b.dead_letters = {{4, core::Collection::kShipments, "acme", "S-bad", "no createdAt", "{}"}};
  b.token = 4;
  std::int64_t before = fixture_.memory()->transactions();
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_EQ(fixture_.memory()->transactions(), before + 1);

  // A transaction that fails leaves nothing behind: rows, counts and checkpoint.
  core::ViewBatch c;
  c.list_upserts = {Row("acme", "S-3")};
  c.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  c.token = 9;
  fixture_.memory()->fail_transact = [](const auto&) { return true; };
  EXPECT_EQ(store_->Apply(c).code(), StatusCode::kUnavailable);
  fixture_.memory()->fail_transact = nullptr;
  EXPECT_EQ(Docs(store_->live().shipment_list).size(), 2u);
  MV_ASSERT_OK_AND_ASSIGN(auto token, store_->Checkpoint());
  EXPECT_EQ(token, 4);
  MV_ASSERT_OK_AND_ASSIGN(auto row, store_->FindShipmentRow({"acme", "S-3"}));
  EXPECT_FALSE(row) << "the row cache only remembers what was committed";
  EXPECT_EQ(Docs(mongo::kDeadLetters).size(), 1u);
}

TEST_P(MongoViewStoreTest, StableNamesAreReadOnlyViewsThatFollowARebuild) {
  const std::string first = store_->live().shipment_list;
  EXPECT_EQ(ViewOn("mv_shipment_list"), first);
  EXPECT_EQ(ViewOn("mv_realtime_ops"), store_->live().aggregates.at("mv_realtime_ops"));
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 3;
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_EQ(Docs("mv_shipment_list").size(), 1u) << "the stable name reads the live rows";

  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  core::ViewBatch chunk;
  chunk.list_upserts = {Row("acme", "S-1"), Row("acme", "S-2")};
  MV_ASSERT_OK(rebuild->Write(chunk));
  MV_ASSERT_OK(rebuild->Commit(8));
  rebuild.reset();
  EXPECT_NE(store_->live().shipment_list, first);
  EXPECT_EQ(ViewOn("mv_shipment_list"), store_->live().shipment_list);
  EXPECT_EQ(Docs("mv_shipment_list").size(), 2u);
  EXPECT_FALSE(Collections().count(first)) << "the replaced collection is dropped";
  // Its indexes were built when it was committed.
  bool indexed = false;
  MV_ASSERT_OK_AND_ASSIGN(Document reply,
                          db()->Command({{"listIndexes", store_->live().shipment_list}}));
  if (mongo::ReplyOk(reply)) {
    indexed = reply["cursor"]["firstBatch"].size() > 5;
  } else if (fixture_.memory()) {
    indexed = fixture_.memory()->Indexes(store_->live().shipment_list).size() > 5;
  }
  EXPECT_TRUE(indexed);
}

// A switch whose catalog committed but whose stable names were not yet moved (the process
// died between the two) is completed at the next start, and the collections the catalog no
// longer names are dropped.
TEST_P(MongoViewStoreTest, AnInterruptedSwitchIsCompletedAtTheNextOpen) {
  if (!fixture_.memory()) GTEST_SKIP() << "injects a failure into the in-memory database";
  const std::string first = store_->live().shipment_list;
  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  core::ViewBatch chunk;
  chunk.list_upserts = {Row("acme", "S-1")};
  MV_ASSERT_OK(rebuild->Write(chunk));
  fixture_.memory()->fail_command = [](const std::string& command, const std::string&) {
    return command == "collMod";
  };
  EXPECT_FALSE(rebuild->Commit(8).ok());
  rebuild.reset();
  fixture_.memory()->fail_command = nullptr;
  EXPECT_EQ(ViewOn("mv_shipment_list"), first) << "not moved yet";
  Open(&views_);
  EXPECT_NE(store_->live().shipment_list, first);
  EXPECT_EQ(ViewOn("mv_shipment_list"), store_->live().shipment_list);
  EXPECT_FALSE(Collections().count(first));
  MV_ASSERT_OK_AND_ASSIGN(auto token, store_->Checkpoint());
  EXPECT_EQ(token, 8);
  EXPECT_EQ(Docs("mv_shipment_list").size(), 1u);
}

TEST_P(MongoViewStoreTest, ShadowsLeftByAKilledRebuildAreDroppedAtOpen) {
  const std::string orphan = mongo::PhysicalName("mv_shipment_list", 3, 99);
  MV_ASSERT_OK(mongo::CreatePhysical(*db(), orphan, "mv_shipment_list", nullptr, false));
  ASSERT_TRUE(Collections().count(orphan));
  Open(&views_);
  EXPECT_FALSE(Collections().count(orphan));
  EXPECT_TRUE(Collections().count(store_->live().shipment_list));
}

TEST_P(MongoViewStoreTest, ReopenKeepsRowsCheckpointAndDeadLetterNumbers) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.dead_letters = {{7, core::Collection::kShipments, "acme", "S-bad", "why", "{}"}};
  b.token = 77;
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_TRUE(store_->RebuildRequired() == false);
  Open(&views_);
  EXPECT_FALSE(store_->RebuildRequired());
  EXPECT_EQ(store_->applied().Get(), 77);
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, b.list_upserts[0]);
  core::ViewBatch c;
  c.dead_letters = {{8, core::Collection::kShipments, "acme", "S-bad2", "why", "{}"}};
  c.token = 78;
  MV_ASSERT_OK(store_->Apply(c));
  auto letters = Docs(mongo::kDeadLetters);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[1]["_id"].dump(), R"({"$numberLong":"2"})") << "numbered on, not reused";
}

TEST_P(MongoViewStoreTest, ViewsOfADefinitionThisBuildDoesNotMaintainStartOver) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 4;
  MV_ASSERT_OK(store_->Apply(b));
  // The stored live list claims a definition version this build does not have.
  Document set = {{"$set", {{"version", 99}}}};
  MV_ASSERT_OK(db()->Transact(
      {{mongo::UpdateCommand(
            mongo::kCatalog,
            {mongo::UpdateStatement({{"_id", store_->live().shipment_list}}, set, false)}),
        1}}));
  Open(&views_);
  EXPECT_TRUE(store_->RebuildRequired());
  MV_ASSERT_OK_AND_ASSIGN(auto token, store_->Checkpoint());
  EXPECT_EQ(token, 0);
  EXPECT_TRUE(Docs("mv_shipment_list").empty());
}

// Blue/green in MongoDB: the next version of a view is built beside the live one, kept up,
// switched (the stable name moves), rolled back, and the retired one dropped.
TEST_P(MongoViewStoreTest, BlueGreenBuildSwitchRollbackAndDrop) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  b.token = 4;
  MV_ASSERT_OK(store_->Apply(b));
  core::ViewSet next = core::ViewSet::Default();
  MV_ASSERT_OK(next.AddNextVersionForTest("mv_realtime_ops"));
  Open(&next);
  ASSERT_EQ(store_->VersionsToBuild(), std::vector<std::string>{"mv_realtime_ops"});
  const std::string v1 = store_->live().aggregates.at("mv_realtime_ops");

  core::ViewScope scope{{"mv_realtime_ops"}, std::nullopt, true};
  MV_ASSERT_OK_AND_ASSIGN(auto build, store_->BeginRebuild(scope));
  core::ViewBatch chunk;
  chunk.list_upserts = {Row("acme", "S-1")};
  chunk.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  MV_ASSERT_OK(build->Write(chunk));
  EXPECT_EQ(build->Commit(4).code(), StatusCode::kOk);
  build.reset();
  EXPECT_TRUE(store_->VersionsToBuild().empty());
  EXPECT_EQ(store_->SwitchVersion("mv_realtime_ops").code(), StatusCode::kConflict)
      << "not validated yet";

  // Both versions are maintained by every batch.
  core::ViewBatch more;
  more.list_upserts = {Row("acme", "S-2")};
  more.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  more.previous_version_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  more.token = 5;
  MV_ASSERT_OK(store_->Apply(more));
  MV_ASSERT_OK(store_->MarkValidated("mv_realtime_ops"));
  MV_ASSERT_OK(store_->SwitchVersion("mv_realtime_ops"));
  const std::string v2 = store_->live().aggregates.at("mv_realtime_ops");
  EXPECT_NE(v2, v1);
  EXPECT_EQ(ViewOn("mv_realtime_ops"), v2);
  auto served = Docs("mv_realtime_ops");
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0]["shipments"].dump(), R"({"$numberLong":"2"})");

  MV_ASSERT_OK(store_->RollbackVersion("mv_realtime_ops"));
  EXPECT_EQ(ViewOn("mv_realtime_ops"), v1);
  auto old = Docs("mv_realtime_ops");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0]["shipments"].dump(), R"({"$numberLong":"2"})") << "kept up while retired";
  MV_ASSERT_OK(store_->RollbackVersion("mv_realtime_ops"));  // and forward again
  EXPECT_EQ(ViewOn("mv_realtime_ops"), v2);
  MV_ASSERT_OK_AND_ASSIGN(int dropped, store_->DropRetired(std::nullopt, std::nullopt));
  EXPECT_EQ(dropped, 1);
  EXPECT_FALSE(Collections().count(v1));
  MV_ASSERT_OK_AND_ASSIGN(auto versions, store_->Versions());
  for (const auto& v : versions) EXPECT_EQ(v.state, core::VersionState::kLive) << v.view;
}

// An org too large for one transaction is replaced in parts: its rows upserted, then the
// ones the rebuild no longer has deleted.
TEST_P(MongoViewStoreTest, AnOrgLargerThanOneTransactionIsReplacedInParts) {
  mongo::MongoViewStoreOptions small;
  small.max_writes_per_transaction = 3;
  Open(&views_, small);
  core::ViewBatch live;
  for (int i = 0; i < 8; ++i) live.list_upserts.push_back(Row("acme", fmt::format("S-{}", i)));
  live.list_upserts.push_back(Row("globex", "G-1"));
  live.token = 4;
  MV_ASSERT_OK(store_->Apply(live));
  core::ViewScope scope{{}, "acme", false};
  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild(scope));
  core::ViewBatch chunk;
  for (int i = 3; i < 12; ++i) {
    chunk.list_upserts.push_back(
        Row("acme", fmt::format("S-{}", i), core::ShipmentStatus::kInTransit));
  }
  MV_ASSERT_OK(rebuild->Write(chunk));
  MV_ASSERT_OK(rebuild->CommitPart(scope));
  rebuild.reset();
  auto acme = Docs(store_->live().shipment_list, {{"organizationId", "acme"}});
  ASSERT_EQ(acme.size(), 9u);
  for (const auto& d : acme) EXPECT_EQ(d["status"], "in_transit") << d["id"];
  EXPECT_EQ(Docs(store_->live().shipment_list, {{"organizationId", "globex"}}).size(), 1u);
  MV_ASSERT_OK_AND_ASSIGN(auto gone, store_->FindShipmentRow({"acme", "S-0"}));
  EXPECT_FALSE(gone);
}

// Shipments without a customer share the customer "" of mv_customer_summary, and their list
// documents leave customerId out: a retraction of that group's latest still finds the rest.
TEST_P(MongoViewStoreTest, TheMaximumOfShipmentsWithoutACustomerIsRecomputedFromTheList) {
  core::CustomerSummaryView view;
  auto row = [](const std::string& id, const char* created) {
    core::ShipmentRow r = Row("acme", id, core::ShipmentStatus::kBooked, T(created));
    r.shipment.customer_id.clear();
    return r;
  };
  auto delta = [&](const core::ShipmentRow& r, int sign) {
    core::AggregateDelta d;
    auto c = core::ContributionsOf(view, r).front();
    d.key = c.key;
    for (auto m : c.measures) d.measures.push_back(sign * m);
    if (sign > 0) {
      d.max_added = {c.maxima[0]};
      d.max_retracted = {std::nullopt};
    } else {
      d.max_added = {std::nullopt};
      d.max_retracted = {c.maxima[0]};
    }
    return d;
  };
  core::ViewBatch b;
  b.list_upserts = {row("S-1", "2026-11-01T10:00:00Z"), row("S-2", "2026-11-01T12:00:00Z")};
  core::AggregateDelta sum = delta(b.list_upserts[0], 1);
  core::AggregateDelta second = delta(b.list_upserts[1], 1);
  for (size_t i = 0; i < sum.measures.size(); ++i) sum.measures[i] += second.measures[i];
  sum.max_added = second.max_added;
  b.aggregate_deltas["mv_customer_summary"] = {sum};
  b.token = 1;
  MV_ASSERT_OK(store_->Apply(b));
  core::ViewBatch gone;
  gone.list_deletes = {{"acme", "S-2"}};
  gone.aggregate_deltas["mv_customer_summary"] = {delta(b.list_upserts[1], -1)};
  gone.token = 2;
  MV_ASSERT_OK(store_->Apply(gone));
  auto docs = Docs(store_->live().aggregates.at("mv_customer_summary"));
  ASSERT_EQ(docs.size(), 1u);
  auto last = mongo::ReadDate(docs[0]["lastShipmentAt"]);
  MV_ASSERT_OK(last.status());
  EXPECT_EQ(*last, T("2026-11-01T10:00:00Z")) << docs[0].dump();
}

// A fence that no longer matches (a lease another worker took) aborts the transaction.
TEST_P(MongoViewStoreTest, AFenceThatFailsAbortsTheBatch) {
  store_->SetFence([] {
    Document set = {{"$set", {{"seen", true}}}};
    return std::optional<mongo::ViewDatabase::Write>(
        {mongo::UpdateCommand("mv_leases",
                              {mongo::UpdateStatement({{"_id", "nobody"}}, set, false)}),
         1});
  });
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 4;
  EXPECT_EQ(store_->Apply(b).code(), StatusCode::kConflict);
  EXPECT_TRUE(Docs(store_->live().shipment_list).empty());
  MV_ASSERT_OK_AND_ASSIGN(auto token, store_->Checkpoint());
  EXPECT_EQ(token, 0);
}

}  // namespace
}  // namespace mv::testing
