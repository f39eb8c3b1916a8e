#include "core/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/time.h"
#include "core/exception_queue.h"
#include "core/fake_view_store.h"
#include "core/realtime_ops_view.h"
#include "core/snapshot_builder.h"
#include "test_util.h"

namespace {

using namespace std::chrono_literals;
using mv::StatusCode;
using mv::Timestamp;
using mv::testing::FakeViewStore;
using mv::testing::T;
using nlohmann::json;
using ::testing::HasSubstr;
namespace core = mv::core;

const Timestamp kNow = T("2026-11-02T12:00:00Z");
const core::ProjectionOptions kOptions;
constexpr const char* kOps = "mv_realtime_ops";

json BaseDoc(const std::string& id) {
  return {{"id", id},
          {"status", "booked"},
          {"carrierId", "dhl"},
          {"customerId", "C-1"},
          {"createdAt", "2026-11-01T10:00:00Z"},
          {"promisedDeliveryAt", "2026-11-03T17:00:00Z"}};
}

json Doc(const std::string& id, const json& overrides = json::object()) {
  json d = BaseDoc(id);
  d.update(overrides);
  return d;
}

core::ShipmentRow StoredRow(const std::string& org, const json& doc, Timestamp at = kNow) {
  auto s = core::ParseShipment(doc);
  if (!s.ok()) throw std::invalid_argument(s.status().ToString());
  return core::Project(org, *s, at, kOptions);
}

core::SourceShipment Snapshot(const std::string& org, const std::string& id,
                              std::optional<std::string> json,
                              std::vector<std::string> events = {}) {
  return core::SourceShipment{org, id, std::move(json), std::move(events)};
}

core::ChangeEvent Event(core::ChangeToken token, core::Operation op, const std::string& org,
                        const std::string& id, std::optional<std::string> doc,
                        core::Collection collection = core::Collection::kShipments,
                        Timestamp wall = kNow) {
  core::ChangeEvent e;
  e.token = token;
  e.op = op;
  e.collection = collection;
  e.org = org;
  e.document_id = id;
  e.full_document = std::move(doc);
  e.wall_time = wall;
  return e;
}

core::ChangeEvent Upsert(core::ChangeToken token, const std::string& org, const json& doc) {
  return Event(token, core::Operation::kReplace, org, doc["id"].get<std::string>(), doc.dump());
}

// The non-zero measures of every mv_realtime_ops delta, by org.
std::map<std::string, std::map<std::string, std::int64_t>> OpsDeltas(const core::ViewBatch& b) {
  static const core::RealtimeOpsView view;
  std::map<std::string, std::map<std::string, std::int64_t>> out;
  auto it = b.aggregate_deltas.find(kOps);
  if (it == b.aggregate_deltas.end()) return out;
  for (const auto& d : it->second) {
    EXPECT_EQ(d.key.size(), 1u);
    EXPECT_EQ(d.measures.size(), view.spec().measure_columns.size());
    EXPECT_FALSE(d.IsZero()) << "a zero delta was not dropped";
    auto& m = out[d.key.at(0)];
    EXPECT_TRUE(m.empty()) << "two deltas for one key: " << d.key[0];
    for (size_t i = 0; i < d.measures.size(); ++i) {
      if (d.measures[i] != 0) m[view.spec().measure_columns[i]] = d.measures[i];
    }
  }
  return out;
}

class BatchBuilderTest : public ::testing::Test {
 protected:
  core::BatchBuilder Builder(Timestamp now = kNow) {
    return core::BatchBuilder(views_, kOptions, &store_, now);
  }

  core::ViewSet views_ = core::ViewSet::Default();
  FakeViewStore store_{&views_};
};

// ---------------------------------------------------------------------------------------
// Data-driven cases: testdata/engine_cases.json

std::string KeyText(const core::ShipmentKey& k) { return k.org + "/" + k.id; }

// Every field of `expected` equals the same field of `actual` (recursively for objects).
void ExpectSubset(const json& expected, const json& actual, const std::string& path) {
  if (expected.is_object() && actual.is_object()) {
    for (const auto& [k, v] : expected.items()) {
      if (!actual.contains(k)) {
        ADD_FAILURE() << path << "." << k << " is missing";
        continue;
      }
      ExpectSubset(v, actual[k], path + "." + k);
    }
    return;
  }
  EXPECT_EQ(expected, actual) << "at " << path;
}

// One case of testdata/engine_cases.json; printed by name in failure messages.
struct EngineCase {
  json data;
};
void PrintTo(const EngineCase& c, std::ostream* os) { *os << c.data["name"]; }

std::vector<EngineCase> LoadCases() {
  std::ifstream in(std::string(VIYA_CORE_TESTDATA) + "/engine_cases.json");
  if (!in) throw std::runtime_error("cannot open engine_cases.json");
  std::vector<EngineCase> cases;
  const json file = json::parse(in);
  for (const auto& c : file.at("cases")) cases.push_back({c});
  return cases;
}

class EngineCases : public BatchBuilderTest, public ::testing::WithParamInterface<EngineCase> {};

TEST_P(EngineCases, Run) {
  const json& c = GetParam().data;
  SCOPED_TRACE(c["name"].get<std::string>());
  for (const auto& s : c.value("stored", json::array())) {
    store_.Put(StoredRow(s.value("org", "acme"),
                         Doc(s["id"].get<std::string>(), s.value("doc", json::object()))));
  }
  core::BatchBuilder builder = Builder();
  core::ChangeToken token = 0;
  for (const auto& e : c["events"]) {
    ++token;
    auto op = core::ParseOperation(e["op"].get<std::string>());
    auto coll = core::ParseCollection(e.value("collection", "shipments"));
    ASSERT_TRUE(op && coll) << e.dump();
    std::optional<std::string> text;
    if (e.contains("raw")) text = e["raw"].get<std::string>();
    if (e.contains("doc")) text = Doc(e["id"].get<std::string>(), e["doc"]).dump();
    MV_ASSERT_OK(builder.Add(
        Event(token, *op, e.value("org", "acme"), e["id"].get<std::string>(), text, *coll)));
  }
  core::ViewBatch batch = builder.Finish(token);
  const json& want = c["expect"];

  EXPECT_EQ(batch.token, token);
  EXPECT_EQ(batch.events, want.value("events", c["events"].size()));

  std::map<std::string, json> upserts;
  for (const auto& r : batch.list_upserts) {
    EXPECT_TRUE(upserts.emplace(KeyText({r.org, r.shipment.id}), core::RowToJson(r)).second)
        << "two upserts for one shipment";
  }
  if (want.contains("upserts")) {
    std::set<std::string> want_keys, got_keys;
    for (const auto& [k, v] : want["upserts"].items()) want_keys.insert(k);
    for (const auto& [k, v] : upserts) got_keys.insert(k);
    EXPECT_EQ(got_keys, want_keys);
    for (const auto& [k, v] : want["upserts"].items()) {
      if (upserts.count(k)) {
        ExpectSubset(v, upserts[k], k);
      }
    }
  }
  std::set<std::string> deletes;
  for (const auto& k : batch.list_deletes) deletes.insert(KeyText(k));
  EXPECT_EQ(deletes, want.value("deletes", std::set<std::string>{}));

  std::map<std::string, std::string> letters;
  for (const auto& l : batch.dead_letters) letters[KeyText({l.org, l.document_id})] = l.reason;
  std::map<std::string, std::string> want_letters = want.value("dead_letters", json::object());
  std::set<std::string> letter_keys, want_letter_keys;
  for (const auto& [k, v] : letters) letter_keys.insert(k);
  for (const auto& [k, v] : want_letters) want_letter_keys.insert(k);
  EXPECT_EQ(letter_keys, want_letter_keys);
  for (const auto& [k, reason] : want_letters) {
    if (letters.count(k)) {
      EXPECT_THAT(letters[k], HasSubstr(reason)) << k;
    }
  }

  if (want.contains("realtime_ops")) {
    std::map<std::string, std::map<std::string, std::int64_t>> want_ops = want["realtime_ops"];
    EXPECT_EQ(OpsDeltas(batch), want_ops);
  }
  EXPECT_EQ(batch.HasViewChanges(), !batch.list_upserts.empty() || !batch.list_deletes.empty() ||
                                        !batch.aggregate_deltas.empty());
}

std::string CaseName(const ::testing::TestParamInfo<EngineCase>& info) {
  std::string name = std::to_string(info.index) + "_";
  for (char ch : info.param.data["name"].get<std::string>()) {
    name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return name.substr(0, 80);
}

INSTANTIATE_TEST_SUITE_P(Data, EngineCases, ::testing::ValuesIn(LoadCases()), CaseName);

// ---------------------------------------------------------------------------------------
// Explicit cases

TEST_F(BatchBuilderTest, InsertGivesTheProjectedRow) {
  auto builder = Builder();
  json doc = Doc("S-1");
  MV_ASSERT_OK(builder.Add(Event(7, core::Operation::kInsert, "acme", "S-1", doc.dump())));
  EXPECT_EQ(builder.touched(), 1u);
  core::ViewBatch batch = builder.Finish(7);
  ASSERT_EQ(batch.list_upserts.size(), 1u);
  EXPECT_EQ(batch.list_upserts[0], StoredRow("acme", doc));
  EXPECT_TRUE(batch.list_deletes.empty());
  EXPECT_TRUE(batch.HasViewChanges());
}

TEST_F(BatchBuilderTest, DeadLetterCarriesTheEvent) {
  auto builder = Builder();
  std::string text = Doc("S-1", {{"status", "shipped"}}).dump();
  MV_ASSERT_OK(builder.Add(Event(42, core::Operation::kUpdate, "acme", "S-1", text)));
  MV_ASSERT_OK(builder.Add(Event(43, core::Operation::kInsert, "acme", "S-2", "][")));
  core::ViewBatch batch = builder.Finish(43);
  ASSERT_EQ(batch.dead_letters.size(), 2u);
  const core::DeadLetter& l = batch.dead_letters[0];
  EXPECT_EQ(l.token, 42);
  EXPECT_EQ(l.collection, core::Collection::kShipments);
  EXPECT_EQ(l.org, "acme");
  EXPECT_EQ(l.document_id, "S-1");
  EXPECT_THAT(l.reason, HasSubstr("status"));
  EXPECT_EQ(l.document, text);
  EXPECT_EQ(batch.dead_letters[1].token, 43);
  EXPECT_EQ(batch.dead_letters[1].document, "][");
  EXPECT_FALSE(batch.HasViewChanges());
  EXPECT_EQ(batch.token, 43) << "the checkpoint moves past poison events";
}

TEST_F(BatchBuilderTest, AChangeTheSourceCouldNotDecodeIsADeadLetterWithItsReason) {
  auto builder = Builder();
  core::ChangeEvent e =
      Event(50, core::Operation::kDelete, "", "S-7", R"({"operationType":"delete"})");
  e.source_error = "delete of shipments S-7: its documentKey has no organizationId";
  MV_ASSERT_OK(builder.Add(e));
  core::ViewBatch batch = builder.Finish(50);
  ASSERT_EQ(batch.dead_letters.size(), 1u);
  EXPECT_EQ(batch.dead_letters[0].reason, *e.source_error);
  EXPECT_EQ(batch.dead_letters[0].document, R"({"operationType":"delete"})");
  EXPECT_EQ(batch.dead_letters[0].token, 50);
  EXPECT_EQ(builder.touched(), 0u) << "no shipment was touched";
  EXPECT_FALSE(batch.HasViewChanges());
}

TEST_F(BatchBuilderTest, ReadsTheStoreOncePerShipmentPerBatch) {
  store_.Put(StoredRow("acme", Doc("S-1")));
  auto builder = Builder();
  for (int i = 1; i <= 5; ++i) {
    MV_ASSERT_OK(builder.Add(Upsert(i, "acme", Doc("S-1", {{"reference", std::to_string(i)}}))));
  }
  EXPECT_EQ(store_.lookups(), 1);
  core::ViewBatch batch = builder.Finish(5);
  ASSERT_EQ(batch.list_upserts.size(), 1u);
  EXPECT_EQ(batch.list_upserts[0].shipment.reference, "5");
}

TEST_F(BatchBuilderTest, LookupFailureIsReturned) {
  store_.FailLookups(true);
  auto builder = Builder();
  mv::Status s = builder.Add(Upsert(1, "acme", Doc("S-1")));
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(builder.Reevaluate(StoredRow("acme", Doc("S-2"))).code(), StatusCode::kIOError);
}

TEST_F(BatchBuilderTest, PoisonEventsDoNotReadTheStore) {
  store_.FailLookups(true);
  auto builder = Builder();
  MV_EXPECT_OK(builder.Add(Event(1, core::Operation::kInsert, "acme", "S-1", "nope")));
  core::ViewBatch batch = builder.Finish(1);
  EXPECT_EQ(batch.dead_letters.size(), 1u);
}

TEST_F(BatchBuilderTest, ReevaluateMovesOnTrackToAtRiskWhenTheClockPassesTheWindow) {
  core::ShipmentRow stored = StoredRow("acme", Doc("S-1"), T("2026-11-02T00:00:00Z"));
  ASSERT_EQ(stored.sla.status, core::SlaStatus::kOnTrack);
  ASSERT_EQ(stored.sla.next_change_at, T("2026-11-03T13:00:00Z"));
  store_.Put(stored);

  // Before the window: nothing changes.
  auto early = Builder(T("2026-11-03T12:59:59.999Z"));
  MV_ASSERT_OK(early.Reevaluate(stored));
  core::ViewBatch none = early.Finish(std::nullopt);
  EXPECT_FALSE(none.HasViewChanges());

  auto builder = Builder(T("2026-11-03T13:00:00Z"));
  MV_ASSERT_OK(builder.Reevaluate(stored));
  core::ViewBatch batch = builder.Finish(std::nullopt);
  EXPECT_FALSE(batch.token) << "a tick is not a stream position";
  EXPECT_EQ(batch.events, 0u);
  ASSERT_EQ(batch.list_upserts.size(), 1u);
  EXPECT_EQ(batch.list_upserts[0].sla,
            (core::SlaState{core::SlaStatus::kAtRisk, T("2026-11-03T17:00:00Z")}));
  EXPECT_EQ(batch.list_upserts[0].shipment, stored.shipment);
  EXPECT_EQ(
      OpsDeltas(batch),
      (std::map<std::string, std::map<std::string, std::int64_t>>{{"acme", {{"at_risk", 1}}}}));
}

TEST_F(BatchBuilderTest, ReevaluateThenBreach) {
  core::ShipmentRow stored = StoredRow("acme", Doc("S-1"), T("2026-11-03T14:00:00Z"));
  ASSERT_EQ(stored.sla.status, core::SlaStatus::kAtRisk);
  store_.Put(stored);
  auto builder = Builder(T("2026-11-03T17:00:00Z"));
  MV_ASSERT_OK(builder.Reevaluate(stored));
  core::ViewBatch batch = builder.Finish(std::nullopt);
  ASSERT_EQ(batch.list_upserts.size(), 1u);
  EXPECT_EQ(batch.list_upserts[0].sla, (core::SlaState{core::SlaStatus::kBreached, std::nullopt}));
  EXPECT_EQ(OpsDeltas(batch), (std::map<std::string, std::map<std::string, std::int64_t>>{
                                  {"acme", {{"at_risk", -1}, {"breached", 1}}}}));
}

TEST_F(BatchBuilderTest, ReevaluateOfARowDeletedSinceDoesNothing) {
  core::ShipmentRow stale = StoredRow("acme", Doc("S-1"), T("2026-11-02T00:00:00Z"));
  auto builder = Builder(T("2026-11-03T14:00:00Z"));
  MV_ASSERT_OK(builder.Reevaluate(stale));  // the store no longer has it
  core::ViewBatch batch = builder.Finish(std::nullopt);
  EXPECT_FALSE(batch.HasViewChanges());
}

TEST_F(BatchBuilderTest, ReevaluateUsesTheBatchStateNotTheStaleRow) {
  core::ShipmentRow stored = StoredRow("acme", Doc("S-1"), T("2026-11-02T00:00:00Z"));
  store_.Put(stored);
  auto builder = Builder(T("2026-11-03T14:00:00Z"));
  MV_ASSERT_OK(builder.Add(Upsert(
      1, "acme", Doc("S-1", {{"status", "delivered"}, {"deliveredAt", "2026-11-03T13:30:00Z"}}))));
  MV_ASSERT_OK(builder.Reevaluate(stored));  // the ticker saw the row before the event
  core::ViewBatch batch = builder.Finish(1);
  ASSERT_EQ(batch.list_upserts.size(), 1u);
  EXPECT_EQ(batch.list_upserts[0].shipment.status, core::ShipmentStatus::kDelivered);
  EXPECT_EQ(batch.list_upserts[0].sla.status, core::SlaStatus::kMet);
}

TEST_F(BatchBuilderTest, FinishLeavesTheBuilderEmpty) {
  store_.Put(StoredRow("acme", Doc("S-9")));
  auto builder = Builder();
  MV_ASSERT_OK(builder.Add(Upsert(1, "acme", Doc("S-1"))));
  MV_ASSERT_OK(builder.Add(Event(2, core::Operation::kInsert, "acme", "S-2", "bad")));
  MV_ASSERT_OK(builder.Add(Event(3, core::Operation::kDelete, "acme", "S-9", std::nullopt)));
  MV_ASSERT_OK(builder.Add(
      Event(4, core::Operation::kReplace, "globex", "C-1", "{}", core::Collection::kCustomers)));
  core::ViewBatch first = builder.Finish(4);
  EXPECT_EQ(first.list_upserts.size(), 1u);
  EXPECT_EQ(first.list_deletes.size(), 1u);
  EXPECT_EQ(first.dead_letters.size(), 1u);
  EXPECT_EQ(first.events, 4u);
  EXPECT_EQ(first.oldest_event_by_org.size(), 2u);
  EXPECT_EQ(builder.touched(), 0u);

  core::ViewBatch second = builder.Finish(9);
  EXPECT_TRUE(second.list_upserts.empty());
  EXPECT_TRUE(second.list_deletes.empty());
  EXPECT_TRUE(second.aggregate_deltas.empty());
  EXPECT_TRUE(second.dead_letters.empty());
  EXPECT_TRUE(second.oldest_event_by_org.empty());
  EXPECT_EQ(second.events, 0u);
  EXPECT_EQ(second.token, 9);
  EXPECT_FALSE(second.HasViewChanges());
}

TEST_F(BatchBuilderTest, BuilderIsReusableAndRereadsTheStore) {
  auto builder = Builder();
  MV_ASSERT_OK(builder.Add(Upsert(1, "acme", Doc("S-1"))));
  MV_ASSERT_OK(store_.Apply(builder.Finish(1)));
  // Next batch: the same event again is a no-op, because `before` now comes from the store.
  MV_ASSERT_OK(builder.Add(Upsert(1, "acme", Doc("S-1"))));
  core::ViewBatch again = builder.Finish(1);
  EXPECT_FALSE(again.HasViewChanges());
  EXPECT_EQ(store_.lookups(), 2);
}

TEST_F(BatchBuilderTest, OldestEventWallTimePerOrg) {
  auto builder = Builder();
  auto at = [](core::ChangeToken t, const std::string& org, Timestamp wall) {
    return Event(t, core::Operation::kReplace, org, "C-1", "{}", core::Collection::kCustomers,
                 wall);
  };
  MV_ASSERT_OK(builder.Add(at(1, "acme", T("2026-11-02T11:00:00Z"))));
  MV_ASSERT_OK(builder.Add(at(2, "acme", T("2026-11-02T10:00:00Z"))));
  MV_ASSERT_OK(builder.Add(at(3, "acme", T("2026-11-02T11:30:00Z"))));
  MV_ASSERT_OK(builder.Add(at(4, "globex", T("2026-11-02T09:00:00Z"))));
  core::ViewBatch batch = builder.Finish(4);
  EXPECT_EQ(batch.oldest_event_by_org,
            (std::map<std::string, Timestamp>{{"acme", T("2026-11-02T10:00:00Z")},
                                              {"globex", T("2026-11-02T09:00:00Z")}}));
  EXPECT_EQ(batch.events, 4u);
  EXPECT_FALSE(batch.HasViewChanges());
}

TEST(SnapshotBuilder, ProjectsEveryShipmentAsAnInsert) {
  const core::ViewSet views = core::ViewSet::Default();
  core::SnapshotBuilder builder(views, kOptions, kNow);
  MV_ASSERT_OK(builder.Add(Snapshot("acme", "S-1", Doc("S-1").dump())));
  MV_ASSERT_OK(builder.Add(Snapshot("acme", "S-2", Doc("S-2", {{"status", "exception"}}).dump())));
  EXPECT_EQ(builder.pending_rows(), 2u);
  core::ViewBatch rows = builder.TakeRows();
  EXPECT_EQ(builder.pending_rows(), 0u);
  ASSERT_EQ(rows.list_upserts.size(), 2u);
  EXPECT_EQ(rows.list_upserts[0], StoredRow("acme", Doc("S-1")));
  ASSERT_EQ(rows.exception_upserts.size(), 1u);
  EXPECT_EQ(rows.exception_upserts[0].key.id, "S-2");
  EXPECT_TRUE(rows.aggregate_deltas.empty());
  EXPECT_GT(builder.aggregate_keys(), 0u);
  EXPECT_EQ(OpsDeltas(builder.TakeAggregates()),
            (std::map<std::string, std::map<std::string, std::int64_t>>{{"acme",
                                                                         {{"shipments", 2},
                                                                          {"status_booked", 1},
                                                                          {"status_exception", 1},
                                                                          {"open", 2},
                                                                          {"at_risk", 1},
                                                                          {"exceptions", 1}}}}));
  EXPECT_EQ(builder.aggregate_keys(), 0u);
  EXPECT_FALSE(builder.TakeAggregates().HasViewChanges());
}

TEST(SnapshotBuilder, AnInvalidDocumentIsAnErrorAndTheRestIsKept) {
  const core::ViewSet views = core::ViewSet::Default();
  core::SnapshotBuilder builder(views, kOptions, kNow);
  EXPECT_EQ(builder.Add(Snapshot("acme", "S-1", "{")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.Add(Snapshot("acme", "S-2", Doc("S-2", {{"status", "x"}}).dump())).code(),
            StatusCode::kInvalidArgument);
  json event = {{"eventId", "E1"}, {"shipmentId", "S-3"}, {"carrierId", "dhl"},
                {"code", "PU"},    {"location", "NL"},    {"occurredAt", "2026-11-01T12:00:00Z"}};
  EXPECT_EQ(builder.Add(Snapshot("acme", "S-3", Doc("S-3").dump(), {"[", event.dump()})).code(),
            StatusCode::kInvalidArgument);
  core::ViewBatch rows = builder.TakeRows();
  ASSERT_EQ(rows.list_upserts.size(), 1u);  // S-3, with its valid event
  EXPECT_EQ(rows.list_upserts[0].shipment.id, "S-3");
  ASSERT_EQ(rows.tracking_upserts.size(), 1u);
  EXPECT_EQ(rows.tracking_upserts[0].summary.latest_code, "PU");
}

TEST(ProjectDocument, ErrorsAreInvalidArgument) {
  EXPECT_EQ(core::ProjectDocument("acme", "", kNow, kOptions).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(core::ProjectDocument("acme", "[1,2]", kNow, kOptions).status().code(),
            StatusCode::kInvalidArgument);
  auto r = core::ProjectDocument("acme", Doc("S-1", {{"weightKg", -1}}).dump(), kNow, kOptions);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("weightKg"));
  MV_ASSERT_OK_AND_ASSIGN(core::ShipmentRow row,
                          core::ProjectDocument("acme", Doc("S-1").dump(), kNow, kOptions));
  EXPECT_EQ(row, StoredRow("acme", Doc("S-1")));
}

TEST(ViewSet, DefaultHasTheSixViews) {
  core::ViewSet views = core::ViewSet::Default();
  EXPECT_EQ(views.Names(),
            (std::vector<std::string>{"mv_shipment_list", "mv_exception_queue", "mv_realtime_ops",
                                      "mv_daily_metrics", "mv_carrier_performance",
                                      "mv_customer_summary"}));
  EXPECT_EQ(views.VersionOf("mv_tracking_state"), core::ViewSet::kTrackingStateVersion);
  EXPECT_EQ(views.VersionOf("mv_shipment_list"), core::kShipmentListSchemaVersion);
  EXPECT_EQ(views.VersionOf("mv_realtime_ops"), 2);
  EXPECT_EQ(views.VersionOf("mv_nope"), 0);
  EXPECT_NE(views.FindAggregate("mv_realtime_ops"), nullptr);
  EXPECT_EQ(views.FindAggregate("mv_shipment_list"), nullptr);
}

// ---------------------------------------------------------------------------------------
// The core invariant (DESIGN.md section 3), as a property: whatever the batching, and
// however often the stream is replayed from any earlier token, the views converge to the
// views computed from scratch from the final source state.

struct Source {
  std::map<core::ShipmentKey, std::string> docs;  // the source collection after the log
  std::map<core::ShipmentKey, std::vector<std::string>> events;  // tracking events, deduped
  std::vector<core::ChangeEvent> log;
};

// A random log of shipment upserts and deletes and tracking events (some for shipments
// that do not exist yet, some with unknown codes, occurredAt in any order).
Source RandomLog(std::mt19937& rng, int n) {
  static const char* kStatuses[] = {"booked",    "picked_up", "in_transit", "out_for_delivery",
                                    "delivered", "exception", "returned",   "cancelled"};
  static const char* kPromises[] = {"2026-11-03T17:00:00Z", "2026-11-02T14:00:00Z",
                                    "2026-11-02T06:00:00Z", ""};
  static const char* kCodes[] = {"PU", "IT", "OFD", "DL", "EX", "XYZ-UNKNOWN", "info"};
  Source src;
  std::set<std::string> event_ids;
  for (int i = 1; i <= n; ++i) {
    std::string org = rng() % 3 == 0 ? "globex" : "acme";
    std::string id = "S-" + std::to_string(rng() % 6);
    core::ShipmentKey key{org, id};
    if (rng() % 3 == 0) {
      std::string event_id = "E" + std::to_string(rng() % 40);
      if (!event_ids.insert(org + "/" + event_id).second) continue;  // the source dedupes
      json e = {{"eventId", event_id},
                {"shipmentId", id},
                {"carrierId", "dhl"},
                {"code", kCodes[rng() % 7]},
                {"occurredAt",
                 mv::FormatRfc3339(T("2026-11-01T09:00:00Z") + std::chrono::minutes(rng() % 3000))},
                {"location", "L" + std::to_string(rng() % 5)}};
      src.events[key].push_back(e.dump());
      src.log.push_back(Event(i, core::Operation::kInsert, org, "dhl/" + event_id, e.dump(),
                              core::Collection::kTrackingEvents));
      continue;
    }
    bool exists = src.docs.count(key) > 0;
    if (exists && rng() % 4 == 0) {
      src.docs.erase(key);
      src.log.push_back(Event(i, core::Operation::kDelete, org, id, std::nullopt));
      continue;
    }
    json doc = Doc(id, {{"status", kStatuses[rng() % 8]},
                        {"reference", "R" + std::to_string(rng() % 3)},
                        {"customerId", "C-" + std::to_string(rng() % 3)},
                        {"createdAt", mv::FormatRfc3339(T("2026-11-01T00:00:00Z") +
                                                        std::chrono::hours(rng() % 30))}});
    const char* promise = kPromises[rng() % 4];
    if (*promise)
      doc["promisedDeliveryAt"] = promise;
    else
      doc.erase("promisedDeliveryAt");
    if (doc["status"] == "delivered" && rng() % 2) doc["deliveredAt"] = "2026-11-02T08:00:00Z";
    if (rng() % 3 == 0) doc["pickedUpAt"] = "2026-11-01T12:00:00Z";
    src.docs[key] = doc.dump();
    src.log.push_back(Event(i, exists ? core::Operation::kReplace : core::Operation::kInsert, org,
                            id, doc.dump()));
  }
  return src;
}

// Feeds log[from..] in batches of random size 1..max_batch.
void Replay(const core::ViewSet& views, FakeViewStore* store,
            const std::vector<core::ChangeEvent>& log, size_t from, std::mt19937& rng,
            size_t max_batch) {
  core::BatchBuilder builder(views, kOptions, store, kNow);
  size_t i = from;
  while (i < log.size()) {
    size_t n = 1 + rng() % max_batch;
    for (size_t j = 0; j < n && i < log.size(); ++j, ++i) {
      ASSERT_TRUE(builder.Add(log[i]).ok());
    }
    core::ViewBatch batch = builder.Finish(log[i - 1].token);
    EXPECT_TRUE(batch.dead_letters.empty());
    ASSERT_TRUE(store->Apply(batch).ok());
  }
}

// The views computed from scratch from the final source state: every shipment's events
// folded into its summary, every document projected, contributions summed, maxima taken.
FakeViewStore::State FromScratch(const core::ViewSet& views, const Source& src) {
  FakeViewStore::State state;
  for (const auto& [key, texts] : src.events) {
    core::TrackingSummary summary;
    for (const auto& text : texts) {
      auto e = core::ParseTrackingEventText(text);
      EXPECT_TRUE(e.ok());
      summary.Merge(*e, kOptions.codes.Map(e->carrier_id, e->code));
    }
    state.tracking[key] = summary;
  }
  for (const auto& [key, text] : src.docs) {
    auto doc = core::ParseShipmentText(text);
    EXPECT_TRUE(doc.ok());
    auto summary = state.tracking.find(key);
    core::ShipmentRow row =
        core::Project(key.org, *doc, summary == state.tracking.end() ? nullptr : &summary->second,
                      kNow, kOptions);
    state.rows[key] = core::RowToJson(row).dump();
    if (auto entry = core::ExceptionEntryFor(row)) state.exceptions[key] = *entry;
    for (const auto& v : views.aggregates()) {
      std::vector<core::Contribution> out = core::ContributionsOf(*v, row);
      const size_t n = v->spec().measure_columns.size();
      for (const auto& c : out) {
        auto& m = state.aggregates[v->spec().name][c.key];
        if (m.empty()) {
          m.assign(n, 0);
          m.resize(n + c.maxima.size(), FakeViewStore::kNoValue);
        }
        for (size_t i = 0; i < n; ++i) m[i] += c.measures[i];
        for (size_t i = 0; i < c.maxima.size(); ++i) m[n + i] = std::max(m[n + i], c.maxima[i]);
      }
    }
  }
  return state;
}

void ExpectSameViews(const FakeViewStore::State& got, const FakeViewStore::State& want) {
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.exceptions, want.exceptions);
  EXPECT_EQ(got.tracking, want.tracking);
  for (const auto& [view, table] : want.aggregates) {
    auto it = got.aggregates.find(view);
    EXPECT_EQ(it == got.aggregates.end() ? FakeViewStore::AggregateTable{} : it->second, table)
        << view;
  }
  for (const auto& [view, table] : got.aggregates) {
    if (!want.aggregates.count(view)) {
      EXPECT_TRUE(table.empty()) << view;
    }
  }
}

TEST(EngineProperty, ConvergesWhateverTheBatchingAndReplays) {
  const core::ViewSet views = core::ViewSet::Default();
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    Source src = RandomLog(rng, 60);
    FakeViewStore::State want = FromScratch(views, src);

    FakeViewStore store(&views);
    Replay(views, &store, src.log, 0, rng, 1 + seed % 10);
    ExpectSameViews(store.state(), want);
    EXPECT_EQ(store.state().token, src.log.back().token);

    // Replay from a random earlier token, twice, with other batch sizes.
    for (int round = 0; round < 2; ++round) {
      size_t from = rng() % src.log.size();
      Replay(views, &store, src.log, from, rng, 1 + rng() % 12);
      ExpectSameViews(store.state(), want);
    }
    if (::testing::Test::HasFailure()) break;
  }
}

// A rebuild from a snapshot of the final source equals the views from scratch, whatever
// the chunk sizes and wherever the aggregate sums are taken in parts.
TEST(EngineProperty, SnapshotRebuildEqualsRecompute) {
  const core::ViewSet views = core::ViewSet::Default();
  for (unsigned seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    Source src = RandomLog(rng, 80);
    std::map<core::ShipmentKey, core::SourceShipment> snapshot;
    for (const auto& [key, text] : src.docs) snapshot[key] = Snapshot(key.org, key.id, text);
    for (const auto& [key, texts] : src.events) {
      auto& s = snapshot.try_emplace(key, Snapshot(key.org, key.id, std::nullopt)).first->second;
      s.events = texts;
    }
    FakeViewStore store(&views);
    MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store.BeginRebuild());
    core::SnapshotBuilder builder(views, kOptions, kNow);
    const size_t chunk = 1 + rng() % 4;
    for (const auto& [key, shipment] : snapshot) {
      MV_ASSERT_OK(builder.Add(shipment));
      if (builder.pending_rows() >= chunk) MV_ASSERT_OK(rebuild->Write(builder.TakeRows()));
      if (rng() % 5 == 0) MV_ASSERT_OK(rebuild->Write(builder.TakeAggregates()));
    }
    MV_ASSERT_OK(rebuild->Write(builder.TakeRows()));
    MV_ASSERT_OK(rebuild->Write(builder.TakeAggregates()));
    MV_ASSERT_OK(rebuild->Commit(src.log.back().token));
    ExpectSameViews(store.state(), FromScratch(views, src));
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(EngineProperty, EachEventAppliedTwiceConverges) {
  const core::ViewSet views = core::ViewSet::Default();
  std::mt19937 rng(99);
  Source src = RandomLog(rng, 80);
  std::vector<core::ChangeEvent> doubled;
  for (const auto& e : src.log) {
    doubled.push_back(e);
    doubled.push_back(e);
  }
  FakeViewStore store(&views);
  Replay(views, &store, doubled, 0, rng, 5);
  ExpectSameViews(store.state(), FromScratch(views, src));
}

}  // namespace
