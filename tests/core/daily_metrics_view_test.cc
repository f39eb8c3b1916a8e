#include "core/daily_metrics_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"
#include "view_test_util.h"

namespace {

using mv::testing::ContributionsOf;
using mv::testing::DeltaOf;
using mv::testing::SumOf;
using mv::testing::Sums;
using mv::testing::T;
using mv::testing::ViewRow;
using Key = std::vector<std::string>;
using Measures = std::vector<std::int64_t>;
namespace core = mv::core;

TEST(DailyMetricsView, Spec) {
  core::DailyMetricsView view;
  const auto& spec = view.spec();
  EXPECT_EQ(spec.name, "mv_daily_metrics");
  EXPECT_EQ(spec.version, 2);
  EXPECT_EQ(spec.key_columns, (Key{"org", "day", "carrier_id", "service", "origin_country",
                                   "destination_country", "status"}));
  EXPECT_EQ(spec.measure_columns, (Key{"shipments", "weight_kg_micro", "declared_value_micro"}));
  EXPECT_TRUE(spec.max_measures.empty());
}

TEST(DailyMetricsView, OneRowPerShipmentWithFixedPointSums) {
  core::DailyMetricsView view;
  auto out = ContributionsOf(view, ViewRow());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, (Key{"acme", "2026-11-01", "dhl", "express", "NL", "DE", "in_transit"}));
  // 2.5 kg -> 2 500 000 micro-kg; 120.0 -> 120 000 000 micro-units.
  EXPECT_EQ(out[0].measures, (Measures{1, 2'500'000, 120'000'000}));
  EXPECT_TRUE(out[0].maxima.empty());
}

TEST(DailyMetricsView, FixedPointRoundsToTheNearestMicroUnit) {
  core::DailyMetricsView view;
  auto row = ViewRow();
  row.shipment.weight_kg = 1.0000004;       // 1 000 000.4 -> 1 000 000
  row.shipment.declared_value = 0.0000006;  // 0.6 -> 1
  EXPECT_EQ(ContributionsOf(view, row)[0].measures, (Measures{1, 1'000'000, 1}));
  row.shipment.weight_kg = 19.99;
  row.shipment.declared_value = 0.1 + 0.2;  // 0.30000000000000004
  EXPECT_EQ(ContributionsOf(view, row)[0].measures, (Measures{1, 19'990'000, 300'000}));
}

TEST(DailyMetricsView, AbsentWeightAndValueAddZero) {
  core::DailyMetricsView view;
  auto row = ViewRow();
  row.shipment.weight_kg.reset();
  row.shipment.declared_value.reset();
  EXPECT_EQ(ContributionsOf(view, row)[0].measures, (Measures{1, 0, 0}));
}

TEST(DailyMetricsView, MissingOrNullCountriesAreEmpty) {
  core::DailyMetricsView view;
  auto row = ViewRow();
  row.shipment.origin = core::Address();
  row.shipment.destination = {{"city", "Berlin"}};
  auto key = ContributionsOf(view, row)[0].key;
  EXPECT_EQ(key[4], "");
  EXPECT_EQ(key[5], "");
  row.shipment.origin.Set("country", std::nullopt);
  row.shipment.destination.Set("country", "DE");
  key = ContributionsOf(view, row)[0].key;
  EXPECT_EQ(key[4], "");
  EXPECT_EQ(key[5], "DE");
}

TEST(DailyMetricsView, DayIsTheUtcDateOfCreatedAt) {
  core::DailyMetricsView view;
  auto row = ViewRow();
  row.shipment.created_at = T("2026-11-01T23:59:59.999Z");
  EXPECT_EQ(ContributionsOf(view, row)[0].key[1], "2026-11-01");
  row.shipment.created_at = T("2026-11-02T00:00:00Z");
  EXPECT_EQ(ContributionsOf(view, row)[0].key[1], "2026-11-02");
  // Local midnight in +02:00 is still the previous day in UTC.
  row.shipment.created_at = T("2026-11-02T01:30:00+02:00");
  EXPECT_EQ(ContributionsOf(view, row)[0].key[1], "2026-11-01");
  row.shipment.created_at = T("2028-02-29T12:00:00Z");
  EXPECT_EQ(ContributionsOf(view, row)[0].key[1], "2028-02-29");
  EXPECT_EQ(core::UtcDate(T("0001-01-01T00:00:00Z")), "0001-01-01");
  EXPECT_EQ(core::UtcDate(T("1969-12-31T23:59:59Z")), "1969-12-31");
}

TEST(DailyMetricsView, StatusChangeMovesTheShipmentBetweenGroups) {
  core::DailyMetricsView view;
  auto before = ViewRow();
  before.shipment.status = core::ShipmentStatus::kBooked;
  auto after = before;
  after.shipment.status = core::ShipmentStatus::kDelivered;
  Sums delta = DeltaOf(view, before, after);
  EXPECT_EQ(delta, (Sums{
                       {{"acme", "2026-11-01", "dhl", "express", "NL", "DE", "booked"},
                        {-1, -2'500'000, -120'000'000}},
                       {{"acme", "2026-11-01", "dhl", "express", "NL", "DE", "delivered"},
                        {1, 2'500'000, 120'000'000}},
                   }));
  // A change the view does not see cancels out.
  auto relabelled = before;
  relabelled.shipment.reference = "PO-78";
  relabelled.sla.status = core::SlaStatus::kAtRisk;
  EXPECT_TRUE(DeltaOf(view, before, relabelled).empty());
}

TEST(DailyMetricsView, ShipmentsOfOneGroupAddUp) {
  core::DailyMetricsView view;
  auto a = ViewRow("S-1");
  auto b = ViewRow("S-2");
  b.shipment.created_at = T("2026-11-01T22:00:00Z");
  b.shipment.weight_kg = 0.75;
  b.shipment.declared_value.reset();
  auto c = ViewRow("S-3");
  c.org = "globex";
  EXPECT_EQ(SumOf(view, {a, b, c}),
            (Sums{
                {{"acme", "2026-11-01", "dhl", "express", "NL", "DE", "in_transit"},
                 {2, 3'250'000, 120'000'000}},
                {{"globex", "2026-11-01", "dhl", "express", "NL", "DE", "in_transit"},
                 {1, 2'500'000, 120'000'000}},
            }));
}

}  // namespace
