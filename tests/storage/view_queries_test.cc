#include "storage/sqlite/view_queries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/realtime_ops_view.h"
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

std::string IdOf(const std::string& row_json) { return json::parse(row_json)["id"]; }

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
  EXPECT_EQ(json::parse(page->value.rows[0]), core::RowToJson(*s23));
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
  for (const auto& r : rows_) {
    if (r.org == "globex" && r.shipment.id == "S-02") {
      EXPECT_EQ(json::parse(*got->value), core::RowToJson(r));
    }
  }
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
  b.aggregate_deltas["mv_realtime_ops"] = {{{"acme"}, m},
                                           {{"globex"}, std::vector<std::int64_t>(m.size(), 1)}};
  MV_ASSERT_OK(store_->Apply(b));
  auto rows = queries_->AggregateRows("mv_realtime_ops", "acme");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->value.size(), 1u);
  EXPECT_EQ(rows->value[0].key, std::vector<std::string>{"acme"});
  ASSERT_EQ(rows->value[0].measures.size(), view.spec().measure_columns.size());
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(rows->value[0].measures[i].first, view.spec().measure_columns[i]);
    EXPECT_EQ(rows->value[0].measures[i].second, m[i]);
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

}  // namespace
