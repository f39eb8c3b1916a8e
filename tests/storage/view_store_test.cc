#include "storage/sqlite/view_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/engine.h"
#include "core/realtime_ops_view.h"
#include "core/snapshot_builder.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_queries.h"
#include "storage/view_store_conformance.h"
#include "test_util.h"

namespace mv::testing {
namespace {

using namespace std::chrono_literals;
using storage::sqlite::Database;
using storage::sqlite::DumpTable;
using storage::sqlite::SourceStore;
using storage::sqlite::SqliteViewStore;
using storage::sqlite::ViewQueries;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// The shared conformance suite on SQLite

class SqliteHarness final : public ViewStoreHarness {
 public:
  SqliteHarness(const core::ViewSet* views, const Clock* clock) : views_(views) {
    auto store = SqliteViewStore::Open(dir_.File("views.db"), views, clock);
    if (!store.ok()) throw std::runtime_error(store.status().ToString());
    store_ = std::move(store).value();
    auto db = Database::Open(dir_.File("views.db"), {});
    if (!db.ok()) throw std::runtime_error(db.status().ToString());
    reader_ = std::move(db).value();
  }
  core::ViewStore* store() override { return store_.get(); }
  // Read on a connection of its own: what readers see.
  AggregateTable Aggregate(const std::string& view, const std::string& org) override {
    const core::AggregateViewSpec& spec = views_->FindAggregate(view)->spec();
    // The org column holds the org's code (storage/sqlite/view_schema.h).
    std::string cols = "?1";
    for (size_t i = 1; i < spec.key_columns.size(); ++i) cols += ", " + spec.key_columns[i];
    for (const auto& m : spec.measure_columns) cols += ", " + m;
    for (const auto& m : spec.max_measures) cols += ", " + m.column;
    auto st = reader_->Prepare(fmt::format("SELECT {} FROM {} WHERE org = {}", cols,
                                           store_->tables().aggregates.at(view),
                                           storage::sqlite::CodeOf(1, 1)));
    EXPECT_TRUE(st.ok());
    AggregateTable out;
    if (!st.ok()) return out;
    (*st)->Bind(1, org);
    while (*(*st)->Step()) {
      std::vector<std::string> key;
      std::vector<std::int64_t> values;
      int c = 0;
      for (size_t i = 0; i < spec.key_columns.size(); ++i) key.push_back((*st)->ColumnText(c++));
      for (; c < static_cast<int>(spec.key_columns.size() + spec.measure_columns.size() +
                                  spec.max_measures.size());
           ++c) {
        values.push_back((*st)->ColumnIsNull(c) ? kNoValue : (*st)->ColumnInt(c));
      }
      out[key] = values;
    }
    (*st)->Reset();
    return out;
  }
  std::map<std::string, core::ExceptionEntry> Exceptions(const std::string& org) override {
    auto st = reader_->Prepare(
        fmt::format("SELECT id, urgency, promised_sort, status_changed_at FROM {} WHERE org = {}",
                    store_->tables().exception_queue, storage::sqlite::CodeOf(1, 1)));
    EXPECT_TRUE(st.ok());
    std::map<std::string, core::ExceptionEntry> out;
    if (!st.ok()) return out;
    (*st)->Bind(1, org);
    while (*(*st)->Step()) {
      core::ExceptionEntry e;
      e.reason = static_cast<core::ExceptionReason>((*st)->ColumnInt(1));
      std::int64_t promised = (*st)->ColumnInt(2);
      if (promised != std::numeric_limits<std::int64_t>::max()) {
        e.promised_delivery_at = FromMillis(promised);
      }
      e.status_changed_at = FromMillis((*st)->ColumnInt(3));
      out[(*st)->ColumnText(0)] = e;
    }
    (*st)->Reset();
    return out;
  }

 private:
  TempDir dir_;
  const core::ViewSet* views_;
  std::unique_ptr<SqliteViewStore> store_;
  std::unique_ptr<Database> reader_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, ViewStoreConformance,
                         ::testing::Values(ConformanceBackend{
                             "sqlite",
                             [](const core::ViewSet* views,
                                const Clock* clock) -> std::unique_ptr<ViewStoreHarness> {
                               return std::make_unique<SqliteHarness>(views, clock);
                             }}),
                         ConformanceBackendName);

// ---------------------------------------------------------------------------------------
// SQLite specifics: catalog, atomicity, shadow tables, reopen

// A second aggregate with a two-column key, to exercise more than the one-key ops board.
class StatusCountView final : public core::AggregateView {
 public:
  explicit StatusCountView(int version = 1) {
    spec_.name = "mv_test_status_counts";
    spec_.version = version;
    spec_.key_columns = {"org", "status"};
    spec_.measure_columns = {"shipments", "weight_g"};
  }
  const core::AggregateViewSpec& spec() const override { return spec_; }
  void Contribute(const core::ShipmentRow& row, core::ContributionSink& sink) const override {
    std::string_view key[] = {row.org, core::ToString(row.shipment.status)};
    core::MeasureValue measures[] = {
        {0, 1}, {1, static_cast<std::int64_t>(row.shipment.weight_kg.value_or(0) * 1000)}};
    sink.Add(key, measures, {});
  }

 private:
  core::AggregateViewSpec spec_;
};

core::ShipmentRow Row(const std::string& org, const std::string& id,
                      core::ShipmentStatus status = core::ShipmentStatus::kBooked) {
  core::Shipment s;
  s.id = id;
  s.status = status;
  s.created_at = T("2026-11-01T10:00:00Z");
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

class SqliteViewStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store_.reset();
    auto s = SqliteViewStore::Open(path_, &views_, &clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  std::unique_ptr<Database> Raw() {
    auto db = Database::Open(path_, {});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  // Rows of a query over a raw connection, each row's columns joined by '|'.
  std::vector<std::string> Query(const std::string& sql) {
    auto db = Raw();
    std::vector<std::string> out;
    auto st = db->Prepare(sql);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (!st.ok()) return out;
    for (;;) {
      auto row = (*st)->Step();
      EXPECT_TRUE(row.ok());
      if (!row.ok() || !*row) break;
      out.push_back((*st)->ColumnText(0));
    }
    return out;
  }

  std::vector<std::string> ViewTables() {
    return Query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'mv\\_%\\_\\_v%' "
        "ESCAPE '\\' ORDER BY name");
  }

  std::vector<std::string> Catalog() {
    return Query(
        "SELECT view || ' v' || version || ' ' || physical_table || ' g' || generation "
        "FROM mv_catalog ORDER BY view");
  }

  core::ChangeToken CheckpointOf() {
    auto t = store_->Checkpoint();
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : -1;
  }

  std::string Dump(const std::string& table) {
    auto d = DumpTable(store_->db(), table);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : "";
  }

  TempDir dir_;
  std::string path_ = dir_.File("views.db");
  ManualClock clock_{T("2026-11-02T12:00:00Z")};
  core::ViewSet views_ = [] {
    core::ViewSet v = core::ViewSet::Default();
    v.AddAggregate(std::make_unique<StatusCountView>());
    return v;
  }();
  std::unique_ptr<SqliteViewStore> store_;
};

TEST_F(SqliteViewStoreTest, FreshOpenCreatesTheCatalogAndCheckpointZero) {
  EXPECT_EQ(Catalog(),
            (std::vector<std::string>{"mv_carrier_performance v3 mv_carrier_performance__v3_g1 g1",
                                      "mv_customer_summary v2 mv_customer_summary__v2_g1 g1",
                                      "mv_daily_metrics v2 mv_daily_metrics__v2_g1 g1",
                                      "mv_exception_queue v2 mv_exception_queue__v2_g1 g1",
                                      "mv_realtime_ops v2 mv_realtime_ops__v2_g1 g1",
                                      "mv_shipment_list v3 mv_shipment_list__v3_g1 g1",
                                      "mv_test_status_counts v1 mv_test_status_counts__v1_g1 g1",
                                      "mv_tracking_state v2 mv_tracking_state__v2_g1 g1"}));
  EXPECT_EQ(ViewTables(),
            (std::vector<std::string>{"mv_carrier_performance__v3_g1", "mv_customer_summary__v2_g1",
                                      "mv_daily_metrics__v2_g1", "mv_exception_queue__v2_g1",
                                      "mv_realtime_ops__v2_g1", "mv_shipment_list__v3_g1",
                                      "mv_test_status_counts__v1_g1", "mv_tracking_state__v2_g1"}));
  EXPECT_EQ(Query("SELECT token FROM mv_checkpoint WHERE id = 1"), std::vector<std::string>{"0"});
  EXPECT_EQ(CheckpointOf(), 0);
  EXPECT_EQ(store_->applied().Get(), 0);
  EXPECT_EQ(store_->tables().shipment_list, "mv_shipment_list__v3_g1");
  EXPECT_EQ(store_->tables().aggregates.at("mv_realtime_ops"), "mv_realtime_ops__v2_g1");
}

TEST_F(SqliteViewStoreTest, ApplyWritesRowsAndTokenInOneTransaction) {
  core::ViewBatch ok;
  ok.list_upserts = {Row("acme", "S-0")};
  ok.token = 1;
  MV_ASSERT_OK(store_->Apply(ok));

  // The aggregate write fails after the list rows were written in the same transaction.
  ASSERT_TRUE(Raw()
                  ->Exec("CREATE TRIGGER refuse BEFORE INSERT ON mv_realtime_ops__v2_g1 "
                         "BEGIN SELECT RAISE(ABORT, 'refused by test'); END;")
                  .ok());
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.list_deletes = {{"acme", "S-0"}};
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  b.dead_letters = {{5, core::Collection::kShipments, "acme", "S-x", "bad", "{"}};
  b.token = 5;
  mv::Status s = store_->Apply(b);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("refused by test"));
  MV_ASSERT_OK_AND_ASSIGN(auto s1, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_FALSE(s1);
  MV_ASSERT_OK_AND_ASSIGN(auto s0, store_->FindShipmentRow({"acme", "S-0"}));
  EXPECT_TRUE(s0) << "the delete was rolled back too";
  EXPECT_EQ(CheckpointOf(), 1);
  EXPECT_EQ(store_->applied().Get(), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM mv_dead_letters"), std::vector<std::string>{"0"});

  // Once the fault is gone the same batch applies.
  ASSERT_TRUE(Raw()->Exec("DROP TRIGGER refuse").ok());
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_EQ(CheckpointOf(), 5);
  MV_ASSERT_OK_AND_ASSIGN(auto again, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_TRUE(again);
}

TEST_F(SqliteViewStoreTest, AppliedWatermarkWakesReaders) {
  auto waiter =
      std::async(std::launch::async, [&] { return store_->applied().WaitUntilAtLeast(7, 10s); });
  std::this_thread::sleep_for(30ms);
  core::ViewBatch b;
  b.token = 7;
  MV_ASSERT_OK(store_->Apply(b));
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(waiter.get());
  EXPECT_EQ(store_->applied().Get(), 7);
}

TEST_F(SqliteViewStoreTest, DeadLettersAreStoredWithTheirToken) {
  core::ViewBatch b;
  b.dead_letters = {{12, core::Collection::kShipments, "acme", "S-9", "status: unknown value 'x'",
                     "{\"id\":\"S-9\"}"}};
  b.token = 12;
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_EQ(
      Query("SELECT token || '|' || collection || '|' || org || '|' || document_id || '|' || "
            "reason || '|' || document FROM mv_dead_letters"),
      std::vector<std::string>{"12|shipments|acme|S-9|status: unknown value 'x'|{\"id\":\"S-9\"}"});
  EXPECT_EQ(CheckpointOf(), 12);
}

TEST_F(SqliteViewStoreTest, ListColumnsMirrorTheRow) {
  core::ShipmentRow r = Row("acme", "S-1", core::ShipmentStatus::kInTransit);
  r.shipment.carrier_id = "dhl";
  r.shipment.customer_id = "C-1";
  r.shipment.reference = "PO-1";
  core::ViewBatch b;
  b.list_upserts = {r};
  MV_ASSERT_OK(store_->Apply(b));
  // Ids as dictionary codes, statuses as enum values (in_transit = 2, on_track = 1).
  EXPECT_EQ(Query("SELECT o.text || '|' || l.id || '|' || l.status || '|' || c.text || '|' || "
                  "u.text || '|' || l.sla || '|' || l.sla_next_change_at || '|' || "
                  "l.created_at || '|' || l.reference FROM mv_shipment_list__v3_g1 AS l "
                  "JOIN mv_ids AS o ON o.code = l.org AND o.kind = 1 "
                  "JOIN mv_ids AS c ON c.code = l.carrier AND c.kind = 2 "
                  "JOIN mv_ids AS u ON u.code = l.customer AND u.kind = 3"),
            std::vector<std::string>{
                "acme|S-1|2|dhl|C-1|1|" + std::to_string(ToMillis(T("2026-11-03T13:00:00Z"))) +
                "|" + std::to_string(ToMillis(T("2026-11-01T10:00:00Z"))) + "|PO-1"});
  // The row itself is the encoded projection.
  auto stored = Query("SELECT hex(row) FROM mv_shipment_list__v3_g1");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].substr(0, 2), "01") << "the encoding's first byte is its format";
}

// An update writes only the columns that changed: an index over unchanged columns keeps
// its entry (SQLite's change counter counts the row once either way, so the index entries
// are compared through their ordering instead).
TEST_F(SqliteViewStoreTest, UpdatesOfChangedColumnsKeepEveryIndexRight) {
  core::ShipmentRow r = Row("acme", "S-1", core::ShipmentStatus::kBooked);
  r.shipment.carrier_id = "dhl";
  r.shipment.customer_id = "C-1";
  r.shipment.reference = "PO-1";
  core::ViewBatch b;
  b.list_upserts = {r};
  MV_ASSERT_OK(store_->Apply(b));
  MV_ASSERT_OK(store_->FindShipmentRow({"acme", "S-1"}).status());  // the engine reads before
  r.shipment.status = core::ShipmentStatus::kInTransit;
  r.shipment.carrier_id = "ups";
  r.shipment.reference = "po-2";
  b.list_upserts = {r};
  MV_ASSERT_OK(store_->Apply(b));
  auto by = [&](const std::string& index_column, const std::string& value) {
    return Query("SELECT id FROM mv_shipment_list__v3_g1 INDEXED BY mv_shipment_list__v3_g1_by_" +
                 index_column + " WHERE org = (SELECT code FROM mv_ids WHERE text = 'acme') AND " +
                 value);
  };
  EXPECT_EQ(by("status", "status = 2"), std::vector<std::string>{"S-1"});
  EXPECT_TRUE(by("status", "status = 0").empty());
  EXPECT_EQ(by("reference", "reference = 'PO-2'"), std::vector<std::string>{"S-1"});
  EXPECT_EQ(by("customer", "customer > 0"), std::vector<std::string>{"S-1"});
  EXPECT_EQ(by("carrier", "carrier = (SELECT code FROM mv_ids WHERE text = 'ups')"),
            std::vector<std::string>{"S-1"});
  EXPECT_EQ(Query("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, r);
}

TEST_F(SqliteViewStoreTest, FindShipmentRowRoundTrip) {
  core::ShipmentRow r = Row("acme", "S-1", core::ShipmentStatus::kException);
  r.last_event = core::LastEvent{"EXC", T("2026-11-02T10:00:00.125Z"), "Rotterdam"};
  r.shipment.origin = {{"country", "NL"}, {"postalCode", "1012"}};
  r.shipment.declared_value = 0.1 + 0.2;
  core::ViewBatch b;
  b.list_upserts = {r};
  MV_ASSERT_OK(store_->Apply(b));
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, r);
  MV_ASSERT_OK_AND_ASSIGN(auto other, store_->FindShipmentRow({"globex", "S-1"}));
  EXPECT_FALSE(other);
}

TEST_F(SqliteViewStoreTest, UnreadableRowIsTakenForAbsentAndReported) {
  core::ViewBatch b;
  core::ShipmentRow due = Row("acme", "S-3");
  due.sla.next_change_at = T("2029-01-01T00:00:00Z");
  b.list_upserts = {Row("acme", "S-1"), Row("acme", "S-2"), due};
  MV_ASSERT_OK(store_->Apply(b));
  ASSERT_TRUE(
      Raw()->Exec("UPDATE mv_shipment_list__v3_g1 SET row = x'0102' WHERE id = 'S-1'").ok());
  ASSERT_TRUE(Raw()->Exec("UPDATE mv_shipment_list__v3_g1 SET row = x'03' WHERE id = 'S-3'").ok());
  // The store remembers what it committed; a reopened store reads the damaged disk.
  Open();
  EXPECT_TRUE(store_->TakeUnreadableRows().empty());
  // The stream does not stall on it: the row reads as absent (the engine re-derives it
  // from the source) and is reported once.
  MV_ASSERT_OK_AND_ASSIGN(auto damaged, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_FALSE(damaged);
  MV_ASSERT_OK_AND_ASSIGN(auto fine, store_->FindShipmentRow({"acme", "S-2"}));
  EXPECT_TRUE(fine);
  // The ticker skips it and reports it too (each key once).
  MV_ASSERT_OK_AND_ASSIGN(auto rows, store_->DueForSlaChange(T("2030-01-01T00:00:00Z"), 10));
  for (const auto& row : rows) EXPECT_EQ(row.shipment.id, "S-2");
  EXPECT_EQ(store_->TakeUnreadableRows(),
            (std::vector<core::ShipmentKey>{{"acme", "S-1"}, {"acme", "S-3"}}));
  EXPECT_TRUE(store_->TakeUnreadableRows().empty());
  // Writing the re-derived row over it repairs it.
  core::ViewBatch repair;
  repair.list_upserts = {Row("acme", "S-1")};
  MV_ASSERT_OK(store_->Apply(repair));
  Open();
  MV_ASSERT_OK_AND_ASSIGN(auto repaired, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(repaired);
  EXPECT_EQ(*repaired, Row("acme", "S-1"));
}

TEST_F(SqliteViewStoreTest, RememberedRowsFollowCommitsDeletesAndRebuilds) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  MV_ASSERT_OK(store_->Apply(b));
  MV_ASSERT_OK_AND_ASSIGN(auto first, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(first);
  core::ShipmentRow changed = Row("acme", "S-1");
  changed.shipment.status = core::ShipmentStatus::kInTransit;
  core::ViewBatch update;
  update.list_upserts = {changed};
  MV_ASSERT_OK(store_->Apply(update));
  MV_ASSERT_OK_AND_ASSIGN(auto second, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->shipment.status, core::ShipmentStatus::kInTransit);
  core::ViewBatch del;
  del.list_deletes = {{"acme", "S-1"}};
  MV_ASSERT_OK(store_->Apply(del));
  MV_ASSERT_OK_AND_ASSIGN(auto gone, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_FALSE(gone);
  // A rebuild replaces everything the store remembered.
  MV_ASSERT_OK(store_->Apply(update));
  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  MV_ASSERT_OK(rebuild->Commit(7));
  MV_ASSERT_OK_AND_ASSIGN(auto after_rebuild, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_FALSE(after_rebuild);
}

TEST_F(SqliteViewStoreTest, AggregateRowsAreSummedAndDeletedWhenTheCountHitsZero) {
  using Sums = std::vector<std::pair<std::vector<std::string>, std::vector<std::int64_t>>>;
  auto apply = [&](const Sums& sums) {
    core::ViewBatch b;
    for (const auto& [key, measures] : sums) {
      core::AggregateDelta d;
      d.key = key;
      d.measures = measures;
      b.aggregate_deltas["mv_test_status_counts"].push_back(d);
    }
    return store_->Apply(b);
  };
  MV_ASSERT_OK(apply({{{"acme", "booked"}, {2, 3000}}, {{"acme", "in_transit"}, {1, 500}}}));
  MV_ASSERT_OK(apply({{{"acme", "booked"}, {1, 250}}, {{"globex", "booked"}, {1, 1}}}));
  EXPECT_EQ(Dump("mv_test_status_counts__v1_g1"),
            "'acme'|'booked'|3|3250|1\n'acme'|'in_transit'|1|500|1\n'globex'|'booked'|1|1|1\n");
  MV_ASSERT_OK(apply({{{"acme", "in_transit"}, {-1, -500}}, {{"acme", "booked"}, {-1, -250}}}));
  EXPECT_EQ(Dump("mv_test_status_counts__v1_g1"),
            "'acme'|'booked'|2|3000|1\n'globex'|'booked'|1|1|1\n");
  MV_ASSERT_OK(apply({{{"acme", "booked"}, {-2, -3000}}, {{"globex", "booked"}, {-1, -1}}}));
  EXPECT_EQ(Dump("mv_test_status_counts__v1_g1"), "");
}

TEST_F(SqliteViewStoreTest, DumpTableOfAMissingTableIsNotFound) {
  EXPECT_EQ(DumpTable(store_->db(), "mv_nope").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteViewStoreTest, RebuildCommitSwapsTables) {
  core::ViewBatch live;
  live.list_upserts = {Row("acme", "S-old")};
  live.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  live.token = 50;
  MV_ASSERT_OK(store_->Apply(live));

  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  EXPECT_EQ(ViewTables().size(), 16u) << "shadow tables exist beside the live ones";
  core::ViewBatch chunk;
  chunk.list_upserts = {Row("acme", "S-new")};
  chunk.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  MV_ASSERT_OK(rebuild->Write(chunk));
  MV_ASSERT_OK(rebuild->Commit(42));  // a rebuild's token may be below the live checkpoint

  EXPECT_EQ(ViewTables(),
            (std::vector<std::string>{"mv_carrier_performance__v3_g2", "mv_customer_summary__v2_g2",
                                      "mv_daily_metrics__v2_g2", "mv_exception_queue__v2_g2",
                                      "mv_realtime_ops__v2_g2", "mv_shipment_list__v3_g2",
                                      "mv_test_status_counts__v1_g2", "mv_tracking_state__v2_g2"}))
      << "the old tables are gone";
  EXPECT_EQ(Catalog(),
            (std::vector<std::string>{"mv_carrier_performance v3 mv_carrier_performance__v3_g2 g2",
                                      "mv_customer_summary v2 mv_customer_summary__v2_g2 g2",
                                      "mv_daily_metrics v2 mv_daily_metrics__v2_g2 g2",
                                      "mv_exception_queue v2 mv_exception_queue__v2_g2 g2",
                                      "mv_realtime_ops v2 mv_realtime_ops__v2_g2 g2",
                                      "mv_shipment_list v3 mv_shipment_list__v3_g2 g2",
                                      "mv_test_status_counts v1 mv_test_status_counts__v1_g2 g2",
                                      "mv_tracking_state v2 mv_tracking_state__v2_g2 g2"}));
  EXPECT_EQ(CheckpointOf(), 42);
  EXPECT_EQ(store_->applied().Get(), 42);
  EXPECT_EQ(store_->tables().shipment_list, "mv_shipment_list__v3_g2");
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-new"}));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, chunk.list_upserts[0]);
  MV_ASSERT_OK_AND_ASSIGN(auto old, store_->FindShipmentRow({"acme", "S-old"}));
  EXPECT_FALSE(old);
  rebuild.reset();  // destroying a committed rebuild drops nothing
  EXPECT_EQ(ViewTables().size(), 8u);
  MV_ASSERT_OK_AND_ASSIGN(auto still, store_->FindShipmentRow({"acme", "S-new"}));
  EXPECT_TRUE(still);

  // Reopen: the catalog points at generation 2, and the next rebuild makes generation 3.
  Open();
  EXPECT_EQ(CheckpointOf(), 42);
  EXPECT_EQ(store_->applied().Get(), 42);
  MV_ASSERT_OK_AND_ASSIGN(auto reopened, store_->FindShipmentRow({"acme", "S-new"}));
  EXPECT_TRUE(reopened);
  MV_ASSERT_OK_AND_ASSIGN(auto next, store_->BeginRebuild());
  MV_ASSERT_OK(next->Commit(43));
  EXPECT_EQ(store_->tables().shipment_list, "mv_shipment_list__v3_g3");
}

TEST_F(SqliteViewStoreTest, AbandonedRebuildDropsItsShadowTables) {
  core::ViewBatch live;
  live.list_upserts = {Row("acme", "S-live")};
  live.token = 3;
  MV_ASSERT_OK(store_->Apply(live));
  auto catalog = Catalog();
  {
    MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
    core::ViewBatch chunk;
    chunk.list_upserts = {Row("acme", "S-shadow")};
    MV_ASSERT_OK(rebuild->Write(chunk));
  }
  EXPECT_EQ(ViewTables(),
            (std::vector<std::string>{"mv_carrier_performance__v3_g1", "mv_customer_summary__v2_g1",
                                      "mv_daily_metrics__v2_g1", "mv_exception_queue__v2_g1",
                                      "mv_realtime_ops__v2_g1", "mv_shipment_list__v3_g1",
                                      "mv_test_status_counts__v1_g1", "mv_tracking_state__v2_g1"}));
  EXPECT_EQ(Catalog(), catalog);
  EXPECT_EQ(CheckpointOf(), 3);
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-live"}));
  EXPECT_TRUE(found);
  // Apply still goes to the live tables.
  core::ViewBatch more;
  more.list_upserts = {Row("acme", "S-more")};
  more.token = 4;
  MV_ASSERT_OK(store_->Apply(more));
  MV_ASSERT_OK_AND_ASSIGN(auto more_found, store_->FindShipmentRow({"acme", "S-more"}));
  EXPECT_TRUE(more_found);
}

TEST_F(SqliteViewStoreTest, ReopenAfterACrashMidRebuildDropsOrphanShadowTables) {
  core::ViewBatch live;
  live.list_upserts = {Row("acme", "S-live")};
  live.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  live.token = 9;
  MV_ASSERT_OK(store_->Apply(live));
  store_.reset();
  // What a process killed during a rebuild leaves behind (plus tables that are not ours).
  ASSERT_TRUE(
      Raw()
          ->Exec("CREATE TABLE mv_shipment_list__v3_g9 (org TEXT, id TEXT);"
                 "CREATE INDEX mv_shipment_list__v3_g9_by_org ON mv_shipment_list__v3_g9 (org);"
                 "CREATE TABLE mv_realtime_ops__v2_g9 (org TEXT);"
                 "CREATE TABLE mvx_keep (a); CREATE TABLE operator_notes (a);")
          .ok());
  Open();
  EXPECT_EQ(ViewTables(),
            (std::vector<std::string>{"mv_carrier_performance__v3_g1", "mv_customer_summary__v2_g1",
                                      "mv_daily_metrics__v2_g1", "mv_exception_queue__v2_g1",
                                      "mv_realtime_ops__v2_g1", "mv_shipment_list__v3_g1",
                                      "mv_test_status_counts__v1_g1", "mv_tracking_state__v2_g1"}));
  EXPECT_EQ(Query("SELECT name FROM sqlite_master WHERE name IN ('mvx_keep', 'operator_notes') "
                  "ORDER BY name"),
            (std::vector<std::string>{"mvx_keep", "operator_notes"}))
      << "only shadow tables are dropped";
  EXPECT_EQ(CheckpointOf(), 9);
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-live"}));
  EXPECT_TRUE(found);
  EXPECT_EQ(Dump("mv_realtime_ops__v2_g1").substr(0, 10), "'acme'|1|1");
}

// Views stored by another definition version (an older release) cannot be used: they are
// dropped, the views start over empty and ask for a rebuild; nothing else is touched.
TEST_F(SqliteViewStoreTest, ReopenWithACatalogOfAnotherVersionStartsTheViewsOver) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 9;
  MV_ASSERT_OK(store_->Apply(b));
  EXPECT_FALSE(store_->RebuildRequired()) << "views that applied a batch are not new";
  store_.reset();
  ASSERT_TRUE(
      Raw()->Exec("UPDATE mv_catalog SET version = 1 WHERE view = 'mv_shipment_list'").ok());
  Open();
  EXPECT_TRUE(store_->RebuildRequired());
  EXPECT_EQ(CheckpointOf(), 0);
  MV_ASSERT_OK_AND_ASSIGN(auto gone, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_FALSE(gone);
  EXPECT_EQ(store_->tables().shipment_list, "mv_shipment_list__v3_g2");
  EXPECT_EQ(ViewTables().size(), 8u) << "the old tables are dropped, new ones created";
  EXPECT_EQ(Catalog().size(), 8u);
}

// The catalog of releases before blue/green versions (one row per view, no states) is
// upgraded in place: the views are kept as they are, every one live.
TEST_F(SqliteViewStoreTest, ACatalogOfOneVersionPerViewIsUpgradedKeepingTheViews) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 9;
  MV_ASSERT_OK(store_->Apply(b));
  store_.reset();
  ASSERT_TRUE(Raw()
                  ->Exec("CREATE TABLE one_version (view TEXT PRIMARY KEY, version INTEGER NOT "
                         "NULL, physical_table TEXT NOT NULL, generation INTEGER NOT NULL, "
                         "built_at INTEGER NOT NULL);"
                         "INSERT INTO one_version SELECT view, version, physical_table, "
                         "generation, built_at FROM mv_catalog;"
                         "DROP TABLE mv_catalog; DROP TABLE mv_catalog_epoch;"
                         "ALTER TABLE one_version RENAME TO mv_catalog;")
                  .ok());
  Open();
  EXPECT_FALSE(store_->RebuildRequired());
  EXPECT_EQ(CheckpointOf(), 9);
  MV_ASSERT_OK_AND_ASSIGN(auto kept, store_->FindShipmentRow({"acme", "S-1"}));
  EXPECT_TRUE(kept);
  MV_ASSERT_OK_AND_ASSIGN(auto versions, store_->Versions());
  EXPECT_EQ(versions.size(), 8u);
  for (const auto& v : versions) {
    EXPECT_EQ(v.state, core::VersionState::kLive) << v.view;
    EXPECT_TRUE(v.validated) << v.view;
  }
  EXPECT_TRUE(store_->VersionsToBuild().empty());
}

// A build that keeps a view's previous definition beside a newer one: the stored previous
// version stays live, the newer one is to be built; a newer definition without the previous
// one cannot maintain what is stored (the views start over, as above).
TEST_F(SqliteViewStoreTest, APreviousDefinitionKeepsTheStoredVersionLive) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 4;
  MV_ASSERT_OK(store_->Apply(b));
  store_.reset();
  core::ViewSet next = core::ViewSet::Default();
  next.AddAggregate(std::make_unique<StatusCountView>());
  MV_ASSERT_OK(next.AddNextVersionForTest("mv_customer_summary"));
  auto r = SqliteViewStore::Open(path_, &next, &clock_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE((*r)->RebuildRequired());
  EXPECT_EQ((*r)->VersionsToBuild(), std::vector<std::string>{"mv_customer_summary"});
  EXPECT_EQ((*r)->tables().aggregate_versions.at("mv_customer_summary"),
            next.PreviousOf("mv_customer_summary")->spec().version);
  EXPECT_EQ((*r)->SwitchVersion("mv_customer_summary").code(), StatusCode::kConflict);
  EXPECT_EQ((*r)->RollbackVersion("mv_customer_summary").code(), StatusCode::kConflict);
  // Building it for one org, or building a view without a newer definition, is refused.
  core::ViewScope one_org{{"mv_customer_summary"}, "acme", true};
  EXPECT_EQ((*r)->BeginRebuild(one_org).status().code(), StatusCode::kInvalidArgument);
  core::ViewScope no_newer{{"mv_daily_metrics"}, std::nullopt, true};
  EXPECT_EQ((*r)->BeginRebuild(no_newer).status().code(), StatusCode::kConflict);
}

// Views another process created and never used (`viya-mv import` opens the folder) are
// as new when reopened; once a batch was applied, they are not.
TEST_F(SqliteViewStoreTest, ViewsThatNeverAppliedAChangeAreStillNewWhenReopened) {
  EXPECT_TRUE(store_->RebuildRequired());
  Open();
  EXPECT_TRUE(store_->RebuildRequired());
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.token = 3;
  MV_ASSERT_OK(store_->Apply(b));
  Open();
  EXPECT_FALSE(store_->RebuildRequired());
}

TEST_F(SqliteViewStoreTest, ReopenByABuildWithANewerOrAMissingViewStartsTheViewsOver) {
  store_.reset();
  core::ViewSet newer = core::ViewSet::Default();
  newer.AddAggregate(std::make_unique<StatusCountView>(2));
  auto r = SqliteViewStore::Open(path_, &newer, &clock_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->RebuildRequired());
  EXPECT_EQ((*r)->tables().aggregates.at("mv_test_status_counts"), "mv_test_status_counts__v2_g2");
  r->reset();
  ASSERT_TRUE(Raw()->Exec("DELETE FROM mv_catalog WHERE view = 'mv_test_status_counts'").ok());
  auto again = SqliteViewStore::Open(path_, &newer, &clock_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->RebuildRequired());
  EXPECT_EQ((*again)->tables().aggregates.at("mv_test_status_counts"),
            "mv_test_status_counts__v2_g3");
}

TEST_F(SqliteViewStoreTest, ReopenKeepsRowsAndCheckpoint) {
  core::ViewBatch b;
  b.list_upserts = {Row("acme", "S-1")};
  b.aggregate_deltas["mv_realtime_ops"] = {OpsDelta("acme", 1)};
  b.token = 77;
  MV_ASSERT_OK(store_->Apply(b));
  Open();
  EXPECT_EQ(CheckpointOf(), 77);
  EXPECT_EQ(store_->applied().Get(), 77);
  MV_ASSERT_OK_AND_ASSIGN(auto found, store_->FindShipmentRow({"acme", "S-1"}));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, b.list_upserts[0]);
}

TEST(SqliteViewStoreOpen, NotADatabaseIsCorruption) {
  TempDir dir;
  {
    std::ofstream out(dir.File("views.db"));
    out << std::string(4096, 'v');
  }
  ManualClock clock(T("2026-11-02T12:00:00Z"));
  core::ViewSet views = core::ViewSet::Default();
  auto r = SqliteViewStore::Open(dir.File("views.db"), &views, &clock);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

// ---------------------------------------------------------------------------------------
// The embedded backend end to end (DESIGN.md section 6, rebuild): snapshot the source while
// writes go on, build the views from the snapshot, commit at the snapshot's token, resume
// the stream from it; the views then equal the views of the final source.

TEST(EmbeddedBackend, RebuildFromASnapshotThenResumingTheStreamConverges) {
  TempDir dir;
  ManualClock clock(T("2026-11-02T12:00:00Z"));
  const Timestamp now = clock.Now();
  const core::ProjectionOptions options;
  core::ViewSet views = core::ViewSet::Default();
  MV_ASSERT_OK_AND_ASSIGN(auto source, SourceStore::Open(dir.File("source.db"), &clock, {}));
  MV_ASSERT_OK_AND_ASSIGN(auto store, SqliteViewStore::Open(dir.File("views.db"), &views, &clock));
  MV_ASSERT_OK_AND_ASSIGN(auto queries, ViewQueries::Open(dir.File("views.db")));

  auto ship = [](const std::string& id, core::ShipmentStatus status) {
    core::Shipment s;
    s.id = id;
    s.status = status;
    s.created_at = T("2026-11-01T10:00:00Z");
    s.promised_delivery_at = T("2026-11-02T14:00:00Z");
    return s;
  };
  std::vector<core::Shipment> initial;
  for (int i = 0; i < 10; ++i) {
    initial.push_back(ship("S-" + std::to_string(i), static_cast<core::ShipmentStatus>(i % 8)));
  }
  MV_ASSERT_OK(source->UpsertShipments("acme", initial));
  MV_ASSERT_OK(source->UpsertShipments("globex", {ship("S-0", core::ShipmentStatus::kException)}));

  // Rebuild from a snapshot; concurrent writes land after the snapshot's token.
  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store->BeginRebuild());
  core::SnapshotBuilder snapshot(views, options, now);
  int seen = 0;
  MV_ASSERT_OK_AND_ASSIGN(
      core::ChangeToken token,
      source->ScanShipments(std::nullopt, [&](const core::SourceShipment& doc) -> Status {
        if (seen++ == 3) {
          clock.Advance(std::chrono::seconds(1));
          MV_RETURN_IF_ERROR(
              source
                  ->UpsertShipments("acme", {ship("S-3", core::ShipmentStatus::kDelivered),
                                             ship("S-new", core::ShipmentStatus::kBooked)})
                  .status());
          MV_RETURN_IF_ERROR(source->DeleteShipment("acme", "S-7").status());
          MV_RETURN_IF_ERROR(source->DeleteShipment("globex", "S-0").status());
        }
        return snapshot.Add(doc);
      }));
  EXPECT_EQ(token, 11);
  MV_ASSERT_OK(rebuild->Write(snapshot.TakeRows()));
  MV_ASSERT_OK(rebuild->Write(snapshot.TakeAggregates()));
  MV_ASSERT_OK(rebuild->Commit(token));
  rebuild.reset();

  // Resume the stream from the checkpoint.
  MV_ASSERT_OK_AND_ASSIGN(auto stream, source->NewChangeSource());
  MV_ASSERT_OK_AND_ASSIGN(core::ChangeToken checkpoint, store->Checkpoint());
  EXPECT_EQ(checkpoint, token);
  MV_ASSERT_OK_AND_ASSIGN(auto events,
                          stream->Read(checkpoint, 1000, std::chrono::milliseconds(0)));
  ASSERT_EQ(events.size(), 4u);
  core::BatchBuilder builder(views, options, store.get(), now);
  for (const auto& e : events) MV_ASSERT_OK(builder.Add(e));
  MV_ASSERT_OK(store->Apply(builder.Finish(events.back().token)));

  // The views are the views of the final source.
  ViewStoreHarness::AggregateTable want_ops;
  std::set<std::string> present;
  MV_ASSERT_OK(source->ScanShipments(std::nullopt, [&](const core::SourceShipment& doc) -> Status {
    present.insert(doc.org + "/" + doc.id);
    MV_ASSIGN_OR_RETURN(core::ShipmentRow row,
                        core::ProjectDocument(doc.org, *doc.json, now, options));
    auto found = store->FindShipmentRow({doc.org, doc.id});
    EXPECT_TRUE(found.ok() && *found && **found == row) << doc.org << "/" << doc.id;
    std::vector<core::Contribution> out =
        core::ContributionsOf(*views.FindAggregate("mv_realtime_ops"), row);
    for (const auto& d : out) {
      auto& m = want_ops[d.key];
      if (m.empty()) m.assign(d.measures.size(), 0);
      for (size_t i = 0; i < m.size(); ++i) m[i] += d.measures[i];
    }
    return Status::Ok();
  }));
  EXPECT_EQ(present.size(), 10u);  // 10 acme + S-new - S-7; globex/S-0 deleted
  for (const auto& gone : std::vector<core::ShipmentKey>{{"acme", "S-7"}, {"globex", "S-0"}}) {
    MV_ASSERT_OK_AND_ASSIGN(auto row, store->FindShipmentRow(gone));
    EXPECT_FALSE(row) << gone.org << "/" << gone.id;
  }
  ViewStoreHarness::AggregateTable got_ops;
  for (const char* org : {"acme", "globex"}) {
    MV_ASSERT_OK_AND_ASSIGN(auto rows, queries->AggregateRows("mv_realtime_ops", org));
    for (const auto& r : rows.value) {
      std::vector<std::int64_t> m;
      m.insert(m.end(), r.measures.begin(), r.measures.end());
      got_ops[r.key] = m;
    }
  }
  EXPECT_EQ(got_ops, want_ops);
  EXPECT_EQ(got_ops.count({"globex"}), 0u) << "globex has no shipments left";
}

}  // namespace
}  // namespace mv::testing
