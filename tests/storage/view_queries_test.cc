#include "storage/sqlite/view_queries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/carrier_performance_view.h"
#include "core/exception_queue.h"
#include "core/realtime_ops_view.h"
#include "core/row_codec.h"
#include "storage/sqlite/view_store.h"
#include "test_util.h"

namespace {

using mv::StatusCode;
using mv::Timestamp;
using mv::storage::sqlite::ListPosition;
using mv::storage::sqlite::ShipmentFilter;
using mv::storage::sqlite::SqliteViewStore;
using mv::storage::sqlite::ViewQueries;
using mv::storage::sqlite::ViewQueryPool;
using mv::testing::T;
using mv::testing::TempDir;
using nlohmann::json;
namespace core = mv::core;
using namespace std::chrono_literals;

const Timestamp kNow = T("2026-11-02T12:00:00Z");
const Timestamp kBase = T("2026-11-01T00:00:00Z");
const char* kRefs[] = {"50%off", "50X", "5_1", "5a1", "a\\b", "PO-77"};

// 24 acme shipments created in groups of three at the same instant (ties on createdAt),
// with statuses, carriers, customers, references and promises cycling at different rates;
// and six globex shipments reusing acme's ids, which must never show up in acme's answers.
std::vector<core::ShipmentRow> MakeRows() {
  static const core::ShipmentStatus kStatuses[] = {
      core::ShipmentStatus::kBooked, core::ShipmentStatus::kInTransit,
      core::ShipmentStatus::kException, core::ShipmentStatus::kDelivered};
  static const std::optional<Timestamp> kPromises[] = {
      std::nullopt, T("2026-11-02T14:00:00Z"), T("2026-11-01T00:00:00Z"), T("2026-11-05T00:00:00Z"),
      T("2026-11-03T00:00:00Z")};
  std::vector<core::ShipmentRow> rows;
  auto make = [&](const std::string& org, int i) {
    core::Shipment s;
    s.id = (i < 10 ? "S-0" : "S-") + std::to_string(i);
    s.status = kStatuses[i % 4];
    s.carrier_id = i % 2 ? "dhl" : "ups";
    s.customer_id = "C-" + std::to_string(i % 3);
    s.reference = kRefs[i % 6];
    s.created_at = kBase + std::chrono::hours(i / 3);
    s.promised_delivery_at = kPromises[i % 5];
    rows.push_back(core::Project(org, s, kNow, core::ProjectionOptions{}));
  };
  for (int i = 0; i < 24; ++i) make("acme", i);
  for (int i = 0; i < 6; ++i) make("globex", i);
  return rows;
}

// An aggregate delta without maxima.
core::AggregateDelta Delta(std::vector<std::string> key, std::vector<std::int64_t> measures) {
  core::AggregateDelta d;
  d.key = std::move(key);
  d.measures = std::move(measures);
  return d;
}

// The stored row (core::EncodeRow) as a row of `org`; a row that fails to decode fails the
// test and reads as a row without an id.
core::ShipmentRow Decoded(const std::string& stored, const std::string& org = "acme") {
  auto row = core::DecodeRow(org, stored);
  EXPECT_TRUE(row.ok()) << row.status().ToString();
  return row.ok() ? *row : core::ShipmentRow{};
}
std::string IdOf(const std::string& stored) { return Decoded(stored).shipment.id; }

class ViewQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteViewStore::Open(path_, &views_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    rows_ = MakeRows();
    // Apply through the engine's batch format, in two batches.
    core::ViewBatch a, b;
    for (size_t i = 0; i < rows_.size(); ++i) (i % 2 ? a : b).list_upserts.push_back(rows_[i]);
    a.token = 16;
    b.token = 17;
    MV_ASSERT_OK(store_->Apply(a));
    MV_ASSERT_OK(store_->Apply(b));
    auto q = ViewQueries::Open(path_);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queries_ = std::move(q).value();
  }

  // The model: the org's rows matching `keep`, newest first by (createdAt, id).
  std::vector<std::string> Expected(const std::string& org,
                                    const std::function<bool(const core::ShipmentRow&)>& keep) {
    std::vector<const core::ShipmentRow*> match;
    for (const auto& r : rows_) {
      if (r.org == org && keep(r)) match.push_back(&r);
    }
    std::sort(match.begin(), match.end(), [](const auto* a, const auto* b) {
      if (a->shipment.created_at != b->shipment.created_at) {
        return a->shipment.created_at > b->shipment.created_at;
      }
      return a->shipment.id > b->shipment.id;
    });
    std::vector<std::string> ids;
    for (const auto* r : match) ids.push_back(r->shipment.id);
    return ids;
  }

  // Walks every page of a listing; checks the page contract on the way.
  std::vector<std::string> Walk(const std::string& org, const ShipmentFilter& f, size_t limit) {
    std::vector<std::string> ids;
    std::optional<ListPosition> after;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = queries_->ListShipments(org, f, limit, after);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_LE(page->value.rows.size(), limit);
      for (const auto& r : page->value.rows) ids.push_back(IdOf(r));
      if (!page->value.next) break;
      EXPECT_EQ(page->value.rows.size(), limit) << "a page with a next cursor must be full";
      EXPECT_EQ(page->value.next->id, ids.back()) << "the cursor is the last row returned";
      after = page->value.next;
    }
    return ids;
  }

  std::vector<std::string> List(const std::string& org, const ShipmentFilter& f) {
    return Walk(org, f, 500);
  }

  // The row the fixture wrote for (org, id); a fatal failure when there is none.
  const core::ShipmentRow& Written(const std::string& org, const std::string& id) {
    auto it = std::find_if(rows_.begin(), rows_.end(), [&](const core::ShipmentRow& r) {
      return r.org == org && r.shipment.id == id;
    });
    if (it == rows_.end()) throw std::logic_error("the fixture wrote no row " + org + "/" + id);
    return *it;
  }

  TempDir dir_;
  std::string path_ = dir_.File("views.db");
  mv::ManualClock clock_{kNow};
  core::ViewSet views_ = core::ViewSet::Default();
  std::unique_ptr<SqliteViewStore> store_;
  std::unique_ptr<ViewQueries> queries_;
  std::vector<core::ShipmentRow> rows_;
};

TEST_F(ViewQueriesTest, NoFilterListsTheOrgNewestFirst) {
  auto all = List("acme", {});
  EXPECT_EQ(all.size(), 24u);
  EXPECT_EQ(all, Expected("acme", [](const auto&) { return true; }));
  // Spot-check the order by hand: the newest group is S-21..S-23, ties by id descending.
  ASSERT_GE(all.size(), 4u);
  EXPECT_EQ(all[0], "S-23");
  EXPECT_EQ(all[1], "S-22");
  EXPECT_EQ(all[2], "S-21");
  EXPECT_EQ(all[3], "S-20");
  EXPECT_EQ(all.back(), "S-00");
}

TEST_F(ViewQueriesTest, RowsComeBackAsStored) {
  auto page = queries_->ListShipments("acme", {}, 1, std::nullopt);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->value.rows.size(), 1u);
  const core::ShipmentRow* s23 = nullptr;
  for (const auto& r : rows_) {
    if (r.org == "acme" && r.shipment.id == "S-23") s23 = &r;
  }
  ASSERT_NE(s23, nullptr);
  EXPECT_EQ(Decoded(page->value.rows[0]), *s23);
}

TEST_F(ViewQueriesTest, EachFilter) {
  ShipmentFilter by_status;
  by_status.status = core::ShipmentStatus::kException;
  EXPECT_EQ(List("acme", by_status), Expected("acme", [](const core::ShipmentRow& r) {
              return r.shipment.status == core::ShipmentStatus::kException;
            }));
  EXPECT_EQ(List("acme", by_status).size(), 6u);

  ShipmentFilter by_carrier;
  by_carrier.carrier_id = "dhl";
  EXPECT_EQ(List("acme", by_carrier), Expected("acme", [](const core::ShipmentRow& r) {
              return r.shipment.carrier_id == "dhl";
            }));

  ShipmentFilter by_customer;
  by_customer.customer_id = "C-2";
  EXPECT_EQ(List("acme", by_customer), Expected("acme", [](const core::ShipmentRow& r) {
              return r.shipment.customer_id == "C-2";
            }));

  for (auto sla : {core::SlaStatus::kOnTrack, core::SlaStatus::kAtRisk, core::SlaStatus::kBreached,
                   core::SlaStatus::kNone, core::SlaStatus::kMet}) {
    ShipmentFilter by_sla;
    by_sla.sla_status = sla;
    auto want = Expected("acme", [&](const core::ShipmentRow& r) { return r.sla.status == sla; });
    EXPECT_EQ(List("acme", by_sla), want) << core::ToString(sla);
  }

  ShipmentFilter none;
  none.customer_id = "C-404";
  EXPECT_TRUE(List("acme", none).empty());
}

TEST_F(ViewQueriesTest, FiltersCombine) {
  ShipmentFilter f;
  f.carrier_id = "dhl";
  f.status = core::ShipmentStatus::kInTransit;
  f.customer_id = "C-1";
  auto want = Expected("acme", [](const core::ShipmentRow& r) {
    return r.shipment.carrier_id == "dhl" &&
           r.shipment.status == core::ShipmentStatus::kInTransit && r.shipment.customer_id == "C-1";
  });
  ASSERT_FALSE(want.empty()) << "test data must make this combination non-empty";
  EXPECT_EQ(List("acme", f), want);
}

TEST_F(ViewQueriesTest, CreatedRangeIsFromInclusiveToExclusive) {
  ShipmentFilter f;
  f.created_from = kBase + 2h;  // exactly the createdAt of S-06..S-08
  f.created_to = kBase + 5h;    // exactly the createdAt of S-15..S-17 (excluded)
  auto got = List("acme", f);
  EXPECT_EQ(got, Expected("acme", [&](const core::ShipmentRow& r) {
              return r.shipment.created_at >= kBase + 2h && r.shipment.created_at < kBase + 5h;
            }));
  EXPECT_EQ(got, (std::vector<std::string>{"S-14", "S-13", "S-12", "S-11", "S-10", "S-09", "S-08",
                                           "S-07", "S-06"}));
  ShipmentFilter from_only;
  from_only.created_from = kBase + 7h;
  EXPECT_EQ(List("acme", from_only), (std::vector<std::string>{"S-23", "S-22", "S-21"}));
  ShipmentFilter to_only;
  to_only.created_to = kBase + 1h;
  EXPECT_EQ(List("acme", to_only), (std::vector<std::string>{"S-02", "S-01", "S-00"}));
}

TEST_F(ViewQueriesTest, ReferencePrefixTreatsLikeWildcardsLiterally) {
  auto with_ref = [&](std::set<std::string> refs) {
    return Expected(
        "acme", [&](const core::ShipmentRow& r) { return refs.count(r.shipment.reference) > 0; });
  };
  auto q = [&](const std::string& prefix) {
    ShipmentFilter f;
    f.reference_prefix = prefix;
    return List("acme", f);
  };
  EXPECT_EQ(q("50%"), with_ref({"50%off"})) << "% is not a wildcard";
  EXPECT_EQ(q("5_"), with_ref({"5_1"})) << "_ is not a wildcard";
  EXPECT_EQ(q("a\\"), with_ref({"a\\b"})) << "a backslash is not an escape";
  EXPECT_EQ(q("50"), with_ref({"50%off", "50X"}));
  EXPECT_EQ(q("5"), with_ref({"50%off", "50X", "5_1", "5a1"}));
  EXPECT_EQ(q("PO-77"), with_ref({"PO-77"}));
  EXPECT_EQ(q("%"), with_ref({})) << "a lone % matches nothing here";
  EXPECT_EQ(q("_"), with_ref({}));
  EXPECT_TRUE(q("50%offX").empty());
  EXPECT_EQ(q("50%").size(), 4u);
}

TEST_F(ViewQueriesTest, KeysetPaginationWalksEveryRowOnceInOrder) {
  auto want = Expected("acme", [](const auto&) { return true; });
  for (size_t limit : {1, 2, 3, 4, 5, 7, 23, 24, 25, 500}) {
    auto got = Walk("acme", {}, limit);
    EXPECT_EQ(got, want) << "limit " << limit;
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size()) << "duplicates";
  }
}

TEST_F(ViewQueriesTest, KeysetPaginationWithAFilter) {
  ShipmentFilter f;
  f.carrier_id = "ups";
  auto want =
      Expected("acme", [](const core::ShipmentRow& r) { return r.shipment.carrier_id == "ups"; });
  for (size_t limit : {1, 2, 5, 12}) EXPECT_EQ(Walk("acme", f, limit), want) << "limit " << limit;
}

TEST_F(ViewQueriesTest, LastFullPageHasNoCursor) {
  auto first = queries_->ListShipments("acme", {}, 12, std::nullopt);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->value.next);
  auto second = queries_->ListShipments("acme", {}, 12, first->value.next);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->value.rows.size(), 12u);
  EXPECT_FALSE(second->value.next);
}

TEST_F(ViewQueriesTest, CursorInsideATieContinuesWithTheNextId) {
  // S-09, S-10, S-11 share createdAt; resume after S-10 within that instant.
  ListPosition after{kBase + 3h, "S-10"};
  auto page = queries_->ListShipments("acme", {}, 3, after);
  ASSERT_TRUE(page.ok());
  std::vector<std::string> ids;
  for (const auto& r : page->value.rows) ids.push_back(IdOf(r));
  EXPECT_EQ(ids, (std::vector<std::string>{"S-09", "S-08", "S-07"}));
}

TEST_F(ViewQueriesTest, OrgScoping) {
  auto globex = List("globex", {});
  EXPECT_EQ(globex, (std::vector<std::string>{"S-05", "S-04", "S-03", "S-02", "S-01", "S-00"}));
  // acme's answer above has exactly acme's 24 rows, so no globex row leaked into it; the
  // same holds for every filter globex rows also match.
  ShipmentFilter f;
  f.created_to = kBase + 2h;  // S-00..S-05 in both orgs
  EXPECT_EQ(List("acme", f).size(), 6u);
  EXPECT_TRUE(List("initech", {}).empty());

  auto mine = queries_->GetShipment("acme", "S-23");
  ASSERT_TRUE(mine.ok());
  ASSERT_TRUE(mine->value);
  EXPECT_EQ(IdOf(*mine->value), "S-23");
  auto theirs = queries_->GetShipment("globex", "S-23");  // only acme has S-23
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->value);

  auto ops = queries_->AggregateRows("mv_realtime_ops", "initech");
  ASSERT_TRUE(ops.ok());
  EXPECT_TRUE(ops->value.empty());
}

TEST_F(ViewQueriesTest, GetShipmentReturnsTheStoredRow) {
  auto got = queries_->GetShipment("globex", "S-02");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->value);
  EXPECT_EQ(Decoded(*got->value, "globex"), Written("globex", "S-02"));
}

TEST_F(ViewQueriesTest, AnswersCarryTheAppliedToken) {
  auto list = queries_->ListShipments("acme", {}, 5, std::nullopt);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->token, 17);
  auto one = queries_->GetShipment("acme", "S-00");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->token, 17);
  auto agg = queries_->AggregateRows("mv_realtime_ops", "acme");
  ASSERT_TRUE(agg.ok());
  EXPECT_EQ(agg->token, 17);
  MV_ASSERT_OK_AND_ASSIGN(auto applied, queries_->AppliedToken());
  EXPECT_EQ(applied, 17);

  core::ViewBatch next;
  next.token = 18;
  MV_ASSERT_OK(store_->Apply(next));
  auto later = queries_->ListShipments("acme", {}, 5, std::nullopt);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->token, 18);
}

TEST_F(ViewQueriesTest, AggregateRowsNamesMeasuresInSpecOrder) {
  core::RealtimeOpsView view;
  core::ViewBatch b;
  std::vector<std::int64_t> m(view.spec().measure_columns.size(), 0);
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::int64_t>(10 + i);
  b.aggregate_deltas["mv_realtime_ops"] = {
      Delta({"acme"}, m), Delta({"globex"}, std::vector<std::int64_t>(m.size(), 1))};
  MV_ASSERT_OK(store_->Apply(b));
  auto rows = queries_->AggregateRows("mv_realtime_ops", "acme");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->value.size(), 1u);
  EXPECT_EQ(rows->value[0].key, std::vector<std::string>{"acme"});
  ASSERT_EQ(rows->value[0].measures.size(), view.spec().measure_columns.size());
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(rows->value[0].measures[i], m[i]);
  }
}

TEST_F(ViewQueriesTest, UnknownViewIsNotFound) {
  EXPECT_EQ(queries_->AggregateRows("mv_nope", "acme").status().code(), StatusCode::kNotFound);
}

TEST_F(ViewQueriesTest, ReadersFollowARebuild) {
  ASSERT_EQ(List("acme", {}).size(), 24u);  // caches statements on the old table
  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  core::ViewBatch chunk;
  chunk.list_upserts = {rows_[0]};
  MV_ASSERT_OK(rebuild->Write(chunk));
  MV_ASSERT_OK(rebuild->Commit(30));
  EXPECT_EQ(List("acme", {}), std::vector<std::string>{"S-00"});
  MV_ASSERT_OK_AND_ASSIGN(auto applied, queries_->AppliedToken());
  EXPECT_EQ(applied, 30);
  auto gone = queries_->GetShipment("acme", "S-01");
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_FALSE(gone->value);
}

TEST_F(ViewQueriesTest, PoolHandsOutWorkingConnections) {
  ViewQueryPool pool(path_);
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    MV_ASSERT_OK_AND_ASSIGN(auto ta, (*a)->AppliedToken());
    MV_ASSERT_OK_AND_ASSIGN(auto tb, (*b)->AppliedToken());
    EXPECT_EQ(ta, 17);
    EXPECT_EQ(tb, 17);
  }
  auto again = pool.Acquire();  // a released connection
  ASSERT_TRUE(again.ok());
  MV_ASSERT_OK_AND_ASSIGN(auto t, (*again)->AppliedToken());
  EXPECT_EQ(t, 17);
}

// ---------------------------------------------------------------------------------------
// Report queries over the aggregate views and the exception queue. Rows are written as
// hand-made deltas, so every expected figure below is the sum of the literals here.

using mv::storage::sqlite::AggregateRow;
using mv::storage::sqlite::CarrierPerformanceQuery;
using mv::storage::sqlite::CustomerPosition;
using mv::storage::sqlite::CustomerSummaryQuery;
using mv::storage::sqlite::CustomerSummaryRow;
using mv::storage::sqlite::DailyMetricsQuery;
using mv::storage::sqlite::DailyMetricsRow;
using mv::storage::sqlite::ExceptionFilter;
using mv::storage::sqlite::ExceptionPosition;

class ReportQueriesTest : public ViewQueriesTest {
 protected:
  void Write(const std::string& view, std::vector<core::AggregateDelta> deltas) {
    core::ViewBatch b;
    b.aggregate_deltas[view] = std::move(deltas);
    b.token = ++token_;
    MV_ASSERT_OK(store_->Apply(b));
  }

  // Sums of mv_daily_metrics rows as (key..., shipments, weight, value) tuples.
  std::vector<std::vector<std::string>> Daily(const std::string& org, DailyMetricsQuery q) {
    auto got = queries_->DailyMetrics(org, q);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::vector<std::vector<std::string>> out;
    if (!got.ok()) return out;
    EXPECT_FALSE(got->value.truncated);
    EXPECT_EQ(got->token, token_);
    for (const auto& r : got->value.rows) {
      std::vector<std::string> row = r.key;
      row.push_back(std::to_string(r.shipments));
      row.push_back(std::to_string(r.weight_kg_micro));
      row.push_back(std::to_string(r.declared_value_micro));
      out.push_back(row);
    }
    return out;
  }

  std::int64_t token_ = 17;
};

// (org, day, carrier_id, service, origin_country, destination_country, status) and
// (shipments, weight_kg_micro, declared_value_micro).
std::vector<core::AggregateDelta> DailyRows() {
  return {
      Delta({"acme", "2026-10-31", "dhl", "express", "NL", "DE", "booked"}, {1, 1000000, 5}),
      Delta({"acme", "2026-11-01", "dhl", "express", "NL", "DE", "booked"}, {2, 2500000, 10}),
      Delta({"acme", "2026-11-01", "dhl", "express", "NL", "DE", "delivered"}, {1, 500000, 20}),
      Delta({"acme", "2026-11-01", "ups", "", "NL", "FR", "booked"}, {3, 0, 30}),
      Delta({"acme", "2026-11-02", "dhl", "economy", "BE", "DE", "booked"}, {4, 4000000, 40}),
      Delta({"acme", "2026-11-03", "ups", "", "NL", "FR", "exception"}, {5, 100, 50}),
      Delta({"globex", "2026-11-01", "dhl", "express", "NL", "DE", "booked"}, {100, 1, 1}),
  };
}

TEST_F(ReportQueriesTest, DailyMetricsGroupsAndSumsOverTheInclusiveRange) {
  Write("mv_daily_metrics", DailyRows());
  DailyMetricsQuery all;
  all.from_day = "2026-11-01";
  all.to_day = "2026-11-02";
  all.group_by = {"day",   "carrier_id", "service", "origin_country", "destination_country",
                  "status"};
  EXPECT_EQ(Daily("acme", all),
            (std::vector<std::vector<std::string>>{
                {"2026-11-01", "dhl", "express", "NL", "DE", "booked", "2", "2500000", "10"},
                {"2026-11-01", "dhl", "express", "NL", "DE", "delivered", "1", "500000", "20"},
                {"2026-11-01", "ups", "", "NL", "FR", "booked", "3", "0", "30"},
                {"2026-11-02", "dhl", "economy", "BE", "DE", "booked", "4", "4000000", "40"}}));

  DailyMetricsQuery by_carrier = all;
  by_carrier.from_day = "2026-10-31";
  by_carrier.to_day = "2026-11-03";
  by_carrier.group_by = {"carrier_id"};
  EXPECT_EQ(Daily("acme", by_carrier),
            (std::vector<std::vector<std::string>>{{"dhl", "8", "8000000", "75"},
                                                   {"ups", "8", "100", "80"}}));

  // In the order given: status first, then day.
  DailyMetricsQuery status_day = by_carrier;
  status_day.group_by = {"status", "day"};
  EXPECT_EQ(Daily("acme", status_day),
            (std::vector<std::vector<std::string>>{{"booked", "2026-10-31", "1", "1000000", "5"},
                                                   {"booked", "2026-11-01", "5", "2500000", "40"},
                                                   {"booked", "2026-11-02", "4", "4000000", "40"},
                                                   {"delivered", "2026-11-01", "1", "500000", "20"},
                                                   {"exception", "2026-11-03", "5", "100", "50"}}));

  DailyMetricsQuery totals = by_carrier;
  totals.group_by = {};
  EXPECT_EQ(Daily("acme", totals),
            (std::vector<std::vector<std::string>>{{"16", "8000100", "155"}}));
  EXPECT_EQ(Daily("globex", totals), (std::vector<std::vector<std::string>>{{"100", "1", "1"}}));
  EXPECT_TRUE(Daily("initech", totals).empty()) << "no shipments: no row, not a row of zeros";

  DailyMetricsQuery one_day = all;
  one_day.from_day = one_day.to_day = "2026-11-03";
  one_day.group_by = {"day"};
  EXPECT_EQ(Daily("acme", one_day),
            (std::vector<std::vector<std::string>>{{"2026-11-03", "5", "100", "50"}}));
}

TEST_F(ReportQueriesTest, DailyMetricsSaysWhenThereAreMoreRowsThanAllowed) {
  Write("mv_daily_metrics", DailyRows());
  DailyMetricsQuery q;
  q.from_day = "2026-10-01";
  q.to_day = "2026-11-30";
  q.group_by = {"day"};
  q.max_rows = 4;  // acme has 4 days
  auto exact = queries_->DailyMetrics("acme", q);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->value.rows.size(), 4u);
  EXPECT_FALSE(exact->value.truncated);
  q.max_rows = 3;
  auto over = queries_->DailyMetrics("acme", q);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->value.rows.size(), 3u);
  EXPECT_TRUE(over->value.truncated);
}

TEST_F(ReportQueriesTest, DailyMetricsRejectsColumnsThatAreNotDimensions) {
  for (std::vector<std::string> bad : {std::vector<std::string>{"org"},
                                       {"shipments"},
                                       {"day", "day"},
                                       {"day; DROP TABLE x"},
                                       {"carrierId"}}) {
    DailyMetricsQuery q;
    q.from_day = "2026-11-01";
    q.to_day = "2026-11-01";
    q.group_by = bad;
    EXPECT_EQ(queries_->DailyMetrics("acme", q).status().code(), StatusCode::kInvalidArgument)
        << bad.front();
  }
}

TEST_F(ReportQueriesTest, CarrierPerformanceSelectsWeeksAndCarriersInOrder) {
  core::CarrierPerformanceView view;
  const size_t n = view.spec().measure_columns.size();
  auto row = [&](std::vector<std::string> key, std::int64_t shipped, std::int64_t delivered,
                 std::int64_t on_time, size_t bucket) {
    std::vector<std::int64_t> m(n, 0);
    m[0] = shipped;
    m[1] = delivered;
    m[2] = on_time;
    m[3 + bucket] = delivered;
    return Delta(std::move(key), m);
  };
  Write(
      "mv_carrier_performance",
      {row({"acme", "ups", "2026-W44"}, 3, 2, 1, 5), row({"acme", "dhl", "2026-W45"}, 4, 4, 3, 12),
       row({"acme", "dhl", "2025-W52"}, 1, 1, 1, 0), row({"acme", "dhl", "2026-W01"}, 2, 0, 0, 0),
       row({"acme", "dhl", "2026-W46"}, 5, 1, 0, 39),
       row({"globex", "dhl", "2026-W45"}, 9, 9, 9, 1)});
  CarrierPerformanceQuery q;
  q.from_week = "2026-W01";
  q.to_week = "2026-W45";
  auto got = queries_->CarrierPerformance("acme", q);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::vector<std::vector<std::string>> keys;
  for (const auto& r : got->value) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::vector<std::string>>{
                      {"dhl", "2026-W01"}, {"dhl", "2026-W45"}, {"ups", "2026-W44"}}));
  ASSERT_EQ(got->value.size(), 3u);
  const AggregateRow& dhl45 = got->value[1];
  ASSERT_EQ(dhl45.measures.size(), n);
  EXPECT_EQ(dhl45.measures[0], 4);
  EXPECT_EQ(dhl45.measures[1], 4);
  EXPECT_EQ(dhl45.measures[2], 3);
  EXPECT_EQ(dhl45.measures[3 + 12], 4);
  EXPECT_EQ(dhl45.measures[3 + 11], 0);
  EXPECT_EQ(dhl45.schema_version, view.spec().version);

  q.carrier_id = "dhl";
  q.from_week = "2025-W52";
  q.to_week = "2026-W46";
  auto dhl = queries_->CarrierPerformance("acme", q);
  ASSERT_TRUE(dhl.ok());
  keys.clear();
  for (const auto& r : dhl->value) keys.push_back(r.key);
  EXPECT_EQ(
      keys,
      (std::vector<std::vector<std::string>>{
          {"dhl", "2025-W52"}, {"dhl", "2026-W01"}, {"dhl", "2026-W45"}, {"dhl", "2026-W46"}}));
  q.carrier_id = "fedex";
  auto none = queries_->CarrierPerformance("acme", q);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->value.empty());
}

// Customers with many ties on every sortable column.
struct Customer {
  std::string id;
  std::int64_t shipments, open, delivered, exceptions, value, last;
};

std::vector<Customer> MakeCustomers() {
  std::vector<Customer> out;
  for (int i = 0; i < 23; ++i) {
    // Ids not zero-padded: text order differs from numeric order.
    out.push_back({"C-" + std::to_string(i), 1 + i % 4, i % 3, i % 2, i % 5 == 0 ? 1 : 0,
                   (i % 6) * 1500000, 1700000000000 + (i % 4) * 1000});
  }
  out.push_back({"", 2, 1, 0, 0, 0, 1700000000000});  // shipments without a customer
  return out;
}

std::int64_t SortValue(const Customer& c, const std::string& column) {
  if (column == "shipments") return c.shipments;
  if (column == "open") return c.open;
  if (column == "delivered") return c.delivered;
  if (column == "exceptions") return c.exceptions;
  if (column == "declared_value_micro") return c.value;
  if (column == "last_shipment_at") return c.last;
  return 0;
}

TEST_F(ReportQueriesTest, CustomerSummaryPagesWalkEveryRowOnceInSortOrder) {
  std::vector<Customer> customers = MakeCustomers();
  std::vector<core::AggregateDelta> deltas;
  for (const auto& c : customers) {
    auto d = Delta({"acme", c.id}, {c.shipments, c.open, c.delivered, c.exceptions, c.value});
    d.max_added = {c.last};
    d.max_retracted = {std::nullopt};
    deltas.push_back(d);
    auto other = Delta({"globex", c.id}, {1, 1, 1, 1, 1});
    other.max_added = {1};
    other.max_retracted = {std::nullopt};
    deltas.push_back(other);
  }
  Write("mv_customer_summary", deltas);

  for (const std::string column : {"customer_id", "shipments", "open", "delivered", "exceptions",
                                   "declared_value_micro", "last_shipment_at"}) {
    for (bool descending : {false, true}) {
      std::vector<Customer> sorted = customers;
      std::sort(sorted.begin(), sorted.end(), [&](const Customer& a, const Customer& b) {
        auto ka = std::make_pair(SortValue(a, column), a.id);
        auto kb = std::make_pair(SortValue(b, column), b.id);
        return descending ? ka > kb : ka < kb;
      });
      std::vector<std::string> want;
      for (const auto& c : sorted) want.push_back(c.id);
      for (size_t limit : {1, 3, 7, 24, 500}) {
        SCOPED_TRACE(column + (descending ? " desc" : " asc") + " limit " + std::to_string(limit));
        CustomerSummaryQuery q;
        q.sort_column = column;
        q.descending = descending;
        q.limit = limit;
        std::vector<std::string> got;
        std::optional<CustomerPosition> after;
        for (int pages = 0; pages < 100; ++pages) {
          auto page = queries_->CustomerSummary("acme", q, after);
          ASSERT_TRUE(page.ok()) << page.status().ToString();
          EXPECT_LE(page->value.rows.size(), limit);
          for (const auto& r : page->value.rows) got.push_back(r.customer_id);
          if (!page->value.next) break;
          EXPECT_EQ(page->value.rows.size(), limit) << "a page with a next cursor is full";
          after = page->value.next;
        }
        EXPECT_EQ(got, want);
      }
    }
  }
}

TEST_F(ReportQueriesTest, CustomerSummaryRowsCarryEveryMeasure) {
  auto d = Delta({"acme", "C-9"}, {5, 2, 3, 1, 120500000});
  d.max_added = {1762000000000};
  d.max_retracted = {std::nullopt};
  auto e = Delta({"acme", "C-10"}, {1, 1, 0, 0, 0});
  e.max_added = {1762000001000};
  e.max_retracted = {std::nullopt};
  Write("mv_customer_summary", {d, e});
  CustomerSummaryQuery q;
  q.customer_id = "C-9";
  auto got = queries_->CustomerSummary("acme", q, std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->value.rows.size(), 1u);
  const CustomerSummaryRow& r = got->value.rows[0];
  EXPECT_EQ(r.customer_id, "C-9");
  EXPECT_EQ(r.shipments, 5);
  EXPECT_EQ(r.open, 2);
  EXPECT_EQ(r.delivered, 3);
  EXPECT_EQ(r.exceptions, 1);
  EXPECT_EQ(r.declared_value_micro, 120500000);
  EXPECT_EQ(r.last_shipment_at, 1762000000000);
  EXPECT_FALSE(got->value.next);
  EXPECT_TRUE(queries_->CustomerSummary("globex", q, std::nullopt)->value.rows.empty());

  CustomerSummaryQuery bad;
  bad.sort_column = "shipments; DROP TABLE mv_catalog";
  EXPECT_EQ(queries_->CustomerSummary("acme", bad, std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
}

class ExceptionQueryTest : public ViewQueriesTest {
 protected:
  // Queue entries for list rows that exist (acme S-00..S-23, globex S-00..S-05).
  void Enqueue(const std::string& org, const std::string& id, core::ExceptionReason reason,
               std::optional<Timestamp> promised, Timestamp changed) {
    core::ExceptionQueueRow row;
    row.key = {org, id};
    row.entry.reason = reason;
    row.entry.promised_delivery_at = promised;
    row.entry.status_changed_at = changed;
    batch_.exception_upserts.push_back(row);
  }
  void Apply() {
    batch_.token = 40;
    MV_ASSERT_OK(store_->Apply(batch_));
  }

  std::vector<std::string> Walk(const ExceptionFilter& f, size_t limit,
                                std::vector<std::string>* reasons = nullptr) {
    std::vector<std::string> ids;
    std::optional<ExceptionPosition> after;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = queries_->Exceptions("acme", f, limit, after);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_EQ(page->token, 40);
      EXPECT_LE(page->value.items.size(), limit);
      for (const auto& item : page->value.items) {
        ids.push_back(IdOf(item.row));
        if (reasons) reasons->push_back(item.reason + "/" + std::to_string(item.urgency));
      }
      if (!page->value.next) break;
      EXPECT_EQ(page->value.items.size(), limit);
      after = page->value.next;
    }
    return ids;
  }

  core::ViewBatch batch_;
};

TEST_F(ExceptionQueryTest, QueueOrderIsUrgencyThenPromiseThenStatusChangeThenId) {
  using R = core::ExceptionReason;
  const Timestamp p1 = T("2026-11-01T08:00:00Z"), p2 = T("2026-11-01T09:00:00Z");
  const Timestamp c1 = T("2026-10-30T00:00:00Z"), c2 = T("2026-10-31T00:00:00Z");
  Enqueue("acme", "S-05", R::kAtRisk, p1, c1);
  Enqueue("acme", "S-04", R::kException, std::nullopt, c1);  // no promise: last of its kind
  Enqueue("acme", "S-03", R::kException, p2, c1);
  Enqueue("acme", "S-02", R::kBreached, p2, c1);
  Enqueue("acme", "S-01", R::kBreached, p1, c2);
  Enqueue("acme", "S-00", R::kBreached, p1, c1);
  // Ties on everything but the id.
  Enqueue("acme", "S-11", R::kBreached, p2, c2);
  Enqueue("acme", "S-10", R::kBreached, p2, c2);
  Enqueue("acme", "S-12", R::kBreached, p2, c2);
  Enqueue("globex", "S-00", R::kBreached, std::nullopt, c1);  // never in acme's queue
  Apply();
  const std::vector<std::string> want = {"S-00", "S-01", "S-02", "S-10", "S-11",
                                         "S-12", "S-03", "S-04", "S-05"};
  for (size_t limit : {1, 2, 4, 9, 10, 500}) {
    std::vector<std::string> reasons;
    EXPECT_EQ(Walk({}, limit, &reasons), want) << "limit " << limit;
    if (limit == 500) {
      EXPECT_EQ(reasons, (std::vector<std::string>{"breached/1", "breached/1", "breached/1",
                                                   "breached/1", "breached/1", "breached/1",
                                                   "exception/2", "exception/2", "at_risk/3"}));
    }
  }
  ExceptionFilter breached;
  breached.urgency = 1;
  EXPECT_EQ(Walk(breached, 2),
            (std::vector<std::string>{"S-00", "S-01", "S-02", "S-10", "S-11", "S-12"}));
  // S-01, S-03, S-05, S-11 are dhl (odd numbers, see MakeRows).
  ExceptionFilter dhl;
  dhl.carrier_id = "dhl";
  EXPECT_EQ(Walk(dhl, 3), (std::vector<std::string>{"S-01", "S-11", "S-03", "S-05"}));
  dhl.urgency = 2;
  EXPECT_EQ(Walk(dhl, 3), (std::vector<std::string>{"S-03"}));
}

TEST_F(ExceptionQueryTest, ReportQueriesFollowARebuild) {
  Enqueue("acme", "S-07", core::ExceptionReason::kException, std::nullopt,
          T("2026-10-30T00:00:00Z"));
  batch_.aggregate_deltas["mv_daily_metrics"] = {
      Delta({"acme", "2026-11-01", "dhl", "", "", "", "booked"}, {3, 0, 0})};
  Apply();
  DailyMetricsQuery q;
  q.from_day = q.to_day = "2026-11-01";
  ASSERT_EQ(queries_->DailyMetrics("acme", q)->value.rows.size(), 1u);  // caches statements
  ASSERT_EQ(queries_->Exceptions("acme", {}, 10, std::nullopt)->value.items.size(), 1u);

  // The rebuilt views have S-08 queued and other metrics; readers find the new tables.
  MV_ASSERT_OK_AND_ASSIGN(auto rebuild, store_->BeginRebuild());
  core::ViewBatch chunk;
  chunk.list_upserts = rows_;
  core::ExceptionQueueRow queued;
  queued.key = {"acme", "S-08"};
  queued.entry.reason = core::ExceptionReason::kBreached;
  queued.entry.status_changed_at = T("2026-10-30T00:00:00Z");
  chunk.exception_upserts = {queued};
  chunk.aggregate_deltas["mv_daily_metrics"] = {
      Delta({"acme", "2026-11-01", "ups", "", "", "", "booked"}, {5, 0, 0})};
  MV_ASSERT_OK(rebuild->Write(chunk));
  MV_ASSERT_OK(rebuild->Commit(50));
  auto daily = queries_->DailyMetrics("acme", q);
  ASSERT_TRUE(daily.ok()) << daily.status().ToString();
  ASSERT_EQ(daily->value.rows.size(), 1u);
  EXPECT_EQ(daily->value.rows[0].shipments, 5);
  EXPECT_EQ(daily->token, 50);
  auto queue = queries_->Exceptions("acme", {}, 10, std::nullopt);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  ASSERT_EQ(queue->value.items.size(), 1u);
  EXPECT_EQ(IdOf(queue->value.items[0].row), "S-08");
  EXPECT_EQ(queue->value.items[0].urgency, 1);
}

TEST_F(ExceptionQueryTest, ItemsCarryTheirStoredShipmentRow) {
  Enqueue("acme", "S-07", core::ExceptionReason::kException, std::nullopt,
          T("2026-10-30T00:00:00Z"));
  Apply();
  auto page = queries_->Exceptions("acme", {}, 10, std::nullopt);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->value.items.size(), 1u);
  EXPECT_EQ(Decoded(page->value.items[0].row), Written("acme", "S-07"));
  EXPECT_EQ(page->value.items[0].reason, "exception");
  EXPECT_EQ(page->value.items[0].urgency, 2);
}

}  // namespace
