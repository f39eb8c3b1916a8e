// The MongoDB views answer every query of the API as the embedded views do. One simulated
// multi-tenant load (late, duplicate and out-of-order carrier events, lifecycle moves, SLA
// transitions) is applied by two workers from the same change stream: one into views.db,
// one into the MongoDB views; then every query is asked of both readers, page by page, and
// the answers (rows, positions, tokens) must be equal.

#include "mongo/view_reader.h"

#include <gtest/gtest.h>

#include <random>

#include "mongo/view_database_fixture.h"
#include "mongo/view_store.h"
#include "sim/simulator.h"
#include "storage/sqlite/view_queries.h"
#include "test_util.h"
#include "worker/pipeline_fixture.h"

namespace mv::testing {
namespace {

using api::AtToken;

class MongoViewReaderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fixture_ = std::make_unique<ViewDatabaseFixture>(GetParam());
    sim::SimulatorOptions options;
    options.orgs = {{"acme", 6, 120, 2.0}, {"globex", 4, 60, 1.0}, {"tiny", 2, 5, 0.2}};
    options.seed = 7;
    sim::Simulator sim(&pipeline_.source(), &pipeline_.clock(), options);
    MV_ASSERT_OK(sim.Seed());
    for (int i = 0; i < 400; ++i) {
      pipeline_.clock().Advance(Millis(90'000));
      MV_ASSERT_OK(sim.Step());
    }
    MV_ASSERT_OK(sim.FlushPending());
    // Promises come due: shipments go at risk and breach (the SLA ticker moves them).
    pipeline_.clock().Advance(std::chrono::hours(24 * 6));
    MV_ASSERT_OK(pipeline_.Drain());

    MV_ASSERT_OK_AND_ASSIGN(store_, mongo::MongoViewStore::Open(fixture_->db(), &pipeline_.views(),
                                                                &pipeline_.clock(), {}));
    MV_ASSERT_OK_AND_ASSIGN(changes_, pipeline_.source().NewChangeSource());
    worker_ = std::make_unique<worker::StreamWorker>(
        changes_.get(), &pipeline_.source(), store_.get(), &pipeline_.views(),
        core::ProjectionOptions{}, &pipeline_.clock(), nullptr, Pipeline::Fast());
    MV_ASSERT_OK(Pipeline::DrainWorker(*worker_, pipeline_.source().committed().Get()));
    sqlite_ = std::make_unique<storage::sqlite::ViewQueryPool>(pipeline_.views_path());
    mongo_ = std::make_unique<mongo::MongoViewReader>(fixture_->db(), &pipeline_.views());
  }

  Pipeline pipeline_{T("2026-11-01T08:00:00Z")};
  std::unique_ptr<ViewDatabaseFixture> fixture_;
  std::unique_ptr<mongo::MongoViewStore> store_;
  std::unique_ptr<core::ChangeSource> changes_;
  std::unique_ptr<worker::StreamWorker> worker_;
  std::unique_ptr<api::ViewReader> sqlite_;
  std::unique_ptr<mongo::MongoViewReader> mongo_;
  const std::vector<std::string> orgs_ = {"acme", "globex", "tiny", "nobody"};
};

INSTANTIATE_TEST_SUITE_P(Mongo, MongoViewReaderTest,
                         ::testing::ValuesIn(ViewDatabaseFixture::Kinds()),
                         [](const auto& info) { return info.param; });

std::string Show(const std::optional<api::ListPosition>& p) {
  return p ? FormatRfc3339(p->created_at) + "/" + p->id : "end";
}

TEST_P(MongoViewReaderTest, ShipmentListsAnswerAsTheEmbeddedViewsPageByPage) {
  std::vector<api::ShipmentFilter> filters(1);
  for (auto status : {core::ShipmentStatus::kBooked, core::ShipmentStatus::kInTransit,
                      core::ShipmentStatus::kDelivered, core::ShipmentStatus::kException}) {
    filters.emplace_back().status = status;
  }
  for (auto sla : {core::SlaStatus::kOnTrack, core::SlaStatus::kAtRisk, core::SlaStatus::kBreached,
                   core::SlaStatus::kMet, core::SlaStatus::kMissed}) {
    filters.emplace_back().sla_status = sla;
  }
  filters.emplace_back().carrier_id = "dhl";
  filters.emplace_back().customer_id = "C-1003";
  filters.emplace_back().created_from = T("2026-11-01T06:00:00Z");
  filters.back().created_to = T("2026-11-01T14:00:00Z");
  filters.emplace_back().reference_prefix = "po-1";  // case-insensitive
  filters.emplace_back().reference_prefix = "PO-23";
  filters.emplace_back().reference_prefix = "zzz";
  std::int64_t rows_seen = 0;
  for (const auto& org : orgs_) {
    for (size_t f = 0; f < filters.size(); ++f) {
      std::optional<api::ListPosition> a, b;
      for (int page = 0; page < 200; ++page) {
        MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->ListShipments(org, filters[f], 13, a));
        MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->ListShipments(org, filters[f], 13, b));
        ASSERT_EQ(got.value.rows, want.value.rows) << org << " filter " << f << " page " << page;
        ASSERT_EQ(Show(got.value.next), Show(want.value.next)) << org << " filter " << f;
        EXPECT_EQ(got.token, want.token);
        rows_seen += static_cast<std::int64_t>(want.value.rows.size());
        a = want.value.next;
        b = got.value.next;
        if (!a) break;
      }
    }
  }
  EXPECT_GT(rows_seen, 500) << "the load filled the list";
  for (const auto& id : {"S-100001", "S-100002", "S-100150", "missing"}) {
    MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->GetShipment("acme", id));
    MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->GetShipment("acme", id));
    EXPECT_EQ(got.value, want.value) << id;
  }
}

TEST_P(MongoViewReaderTest, AggregatesAnswerAsTheEmbeddedViews) {
  std::int64_t groups = 0;
  for (const auto& org : orgs_) {
    for (const auto& v : pipeline_.views().aggregates()) {
      MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->AggregateRows(v->spec().name, org));
      MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->AggregateRows(v->spec().name, org));
      ASSERT_EQ(got.value.size(), want.value.size()) << v->spec().name << " " << org;
      for (size_t i = 0; i < want.value.size(); ++i) {
        EXPECT_EQ(got.value[i].key, want.value[i].key);
        EXPECT_EQ(got.value[i].measures, want.value[i].measures) << v->spec().name;
        EXPECT_EQ(got.value[i].schema_version, want.value[i].schema_version);
      }
      groups += static_cast<std::int64_t>(want.value.size());
    }
    using Interval = api::DailyMetricsQuery::Interval;
    for (auto interval : {Interval::kDay, Interval::kWeek, Interval::kMonth}) {
      for (const auto& by : std::vector<std::vector<std::string>>{
               {},
               {"day"},
               {"carrier_id"},
               {"day", "status"},
               {"origin_country", "day"},
               {"destination_country", "service", "carrier_id"}}) {
        api::DailyMetricsQuery q;
        q.from_day = "2026-10-01";
        q.to_day = "2026-11-30";
        q.interval = interval;
        q.group_by = by;
        q.max_rows = 7;
        MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->DailyMetrics(org, q));
        MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->DailyMetrics(org, q));
        ASSERT_EQ(got.value.rows.size(), want.value.rows.size()) << org;
        EXPECT_EQ(got.value.truncated, want.value.truncated);
        for (size_t i = 0; i < want.value.rows.size(); ++i) {
          EXPECT_EQ(got.value.rows[i].key, want.value.rows[i].key);
          EXPECT_EQ(got.value.rows[i].shipments, want.value.rows[i].shipments);
          EXPECT_EQ(got.value.rows[i].weight_kg_micro, want.value.rows[i].weight_kg_micro);
          EXPECT_EQ(got.value.rows[i].declared_value_micro,
                    want.value.rows[i].declared_value_micro);
        }
      }
    }
    api::DailyMetricsQuery bad;
    bad.group_by = {"org"};
    EXPECT_EQ(mongo_->DailyMetrics(org, bad).status().code(), StatusCode::kInvalidArgument);
    for (const auto& carrier : {"", "dhl", "ups"}) {
      api::CarrierPerformanceQuery q{"2026-W40", "2026-W48", carrier};
      MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->CarrierPerformance(org, q));
      MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->CarrierPerformance(org, q));
      ASSERT_EQ(got.value.size(), want.value.size());
      for (size_t i = 0; i < want.value.size(); ++i) {
        EXPECT_EQ(got.value[i].key, want.value[i].key);
        EXPECT_EQ(got.value[i].measures, want.value[i].measures);
      }
    }
  }
  EXPECT_GT(groups, 100);
}

TEST_P(MongoViewReaderTest, CustomerSummariesAndExceptionsPageAsTheEmbeddedViews) {
  std::int64_t items = 0;
  for (const auto& org : orgs_) {
    for (const auto& column : {"customer_id", "shipments", "open", "delivered", "exceptions",
                               "declared_value_micro", "last_shipment_at"}) {
      for (bool descending : {true, false}) {
        api::CustomerSummaryQuery q;
        q.sort_column = column;
        q.descending = descending;
        q.limit = 3;
        std::optional<api::CustomerPosition> a, b;
        for (int page = 0; page < 50; ++page) {
          MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->CustomerSummary(org, q, a));
          MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->CustomerSummary(org, q, b));
          ASSERT_EQ(got.value.rows.size(), want.value.rows.size()) << org << " " << column;
          for (size_t i = 0; i < want.value.rows.size(); ++i) {
            const auto &x = got.value.rows[i], &y = want.value.rows[i];
            EXPECT_EQ(x.customer_id, y.customer_id) << column << " page " << page;
            EXPECT_EQ(std::tie(x.shipments, x.open, x.delivered, x.exceptions,
                               x.declared_value_micro, x.last_shipment_at, x.schema_version),
                      std::tie(y.shipments, y.open, y.delivered, y.exceptions,
                               y.declared_value_micro, y.last_shipment_at, y.schema_version));
          }
          ASSERT_EQ(got.value.next.has_value(), want.value.next.has_value());
          if (!want.value.next) break;
          EXPECT_EQ(got.value.next->value, want.value.next->value);
          a = want.value.next;
          b = got.value.next;
        }
      }
    }
    api::CustomerSummaryQuery by_name;
    by_name.sort_column = "name";
    EXPECT_EQ(mongo_->CustomerSummary(org, by_name, std::nullopt).status().code(),
              StatusCode::kInvalidArgument);
    std::vector<api::ExceptionFilter> filters = {{}, {1, ""}, {2, ""}, {3, ""}, {{}, "dhl"}};
    for (const auto& f : filters) {
      std::optional<api::ExceptionPosition> a, b;
      for (int page = 0; page < 100; ++page) {
        MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->Exceptions(org, f, 4, a));
        MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->Exceptions(org, f, 4, b));
        ASSERT_EQ(got.value.items.size(), want.value.items.size()) << org << " page " << page;
        for (size_t i = 0; i < want.value.items.size(); ++i) {
          EXPECT_EQ(got.value.items[i].row, want.value.items[i].row);
          EXPECT_EQ(got.value.items[i].urgency, want.value.items[i].urgency);
          EXPECT_EQ(got.value.items[i].reason, want.value.items[i].reason);
        }
        items += static_cast<std::int64_t>(want.value.items.size());
        ASSERT_EQ(got.value.next.has_value(), want.value.next.has_value());
        if (!want.value.next) break;
        a = want.value.next;
        b = got.value.next;
      }
    }
  }
  EXPECT_GT(items, 50) << "the load put shipments in the exception queue";
  MV_ASSERT_OK_AND_ASSIGN(auto want, sqlite_->AppliedToken());
  MV_ASSERT_OK_AND_ASSIGN(auto got, mongo_->AppliedToken());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace mv::testing
