#include "core/carrier_performance_view.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "test_util.h"
#include "view_test_util.h"

namespace {

using namespace std::chrono_literals;
using mv::Timestamp;
using mv::testing::ContributionsOf;
using mv::testing::DeltaOf;
using mv::testing::SumOf;
using mv::testing::Sums;
using mv::testing::T;
using mv::testing::ViewRow;
using Key = std::vector<std::string>;
using Counts = std::vector<std::int64_t>;
using View = mv::core::CarrierPerformanceView;
namespace core = mv::core;

constexpr size_t kShipped = View::kShippedMeasure;
constexpr size_t kDelivered = View::kDeliveredMeasure;
constexpr size_t kOnTime = View::kDeliveredOnTimeMeasure;
constexpr size_t kB0 = View::kFirstBucketMeasure;

// A shipment of carrier "dhl" picked up at `picked`, delivered at `delivered` if given.
core::ShipmentRow Shipped(std::string id, Timestamp picked,
                          std::optional<Timestamp> delivered = std::nullopt,
                          std::optional<Timestamp> promised = std::nullopt) {
  auto row = ViewRow(std::move(id));
  row.shipment.picked_up_at = picked;
  row.shipment.delivered_at = delivered;
  row.shipment.promised_delivery_at = promised;
  row.shipment.status =
      delivered ? core::ShipmentStatus::kDelivered : core::ShipmentStatus::kInTransit;
  return row;
}

// The histogram part of summed measures.
Counts BucketsOf(const std::vector<std::int64_t>& measures) {
  return Counts(measures.begin() + kB0, measures.end());
}

// ---------------------------------------------------------------------------------------
// IsoWeek

TEST(IsoWeek, YearBoundaries) {
  // 2026-01-01 is a Thursday: week 1 of 2026 runs Mon 2025-12-29 .. Sun 2026-01-04.
  EXPECT_EQ(core::IsoWeek(T("2026-01-01T00:00:00Z")), "2026-W01");
  EXPECT_EQ(core::IsoWeek(T("2025-12-29T00:00:00Z")), "2026-W01");
  EXPECT_EQ(core::IsoWeek(T("2025-12-28T23:59:59.999Z")), "2025-W52");
  EXPECT_EQ(core::IsoWeek(T("2026-01-04T23:59:59Z")), "2026-W01");
  EXPECT_EQ(core::IsoWeek(T("2026-01-05T00:00:00Z")), "2026-W02");
  // 2027-01-01 is a Friday: it belongs to the last week of 2026, which has 53 weeks.
  EXPECT_EQ(core::IsoWeek(T("2027-01-01T12:00:00Z")), "2026-W53");
  EXPECT_EQ(core::IsoWeek(T("2027-01-03T23:59:59Z")), "2026-W53");
  EXPECT_EQ(core::IsoWeek(T("2027-01-04T00:00:00Z")), "2027-W01");
  // 2024-12-30 is a Monday whose Thursday is 2025-01-02.
  EXPECT_EQ(core::IsoWeek(T("2024-12-30T00:00:00Z")), "2025-W01");
  EXPECT_EQ(core::IsoWeek(T("2024-12-29T23:59:59Z")), "2024-W52");
  // 2021-01-01 is a Friday in 2020-W53; 2020-12-31 too.
  EXPECT_EQ(core::IsoWeek(T("2021-01-01T00:00:00Z")), "2020-W53");
  EXPECT_EQ(core::IsoWeek(T("2020-12-31T00:00:00Z")), "2020-W53");
}

TEST(IsoWeek, IsUtcAndZeroPadded) {
  EXPECT_EQ(core::IsoWeek(T("2026-11-02T00:00:00Z")), "2026-W45");  // a Monday
  EXPECT_EQ(core::IsoWeek(T("2026-11-08T23:59:59Z")), "2026-W45");  // its Sunday
  // Monday 00:30 in +01:00 is still Sunday in UTC.
  EXPECT_EQ(core::IsoWeek(T("2026-11-09T00:30:00+01:00")), "2026-W45");
  EXPECT_EQ(core::IsoWeek(T("2026-11-09T00:00:00Z")), "2026-W46");
  EXPECT_EQ(core::IsoWeek(T("2026-03-04T10:00:00Z")), "2026-W10");
  EXPECT_EQ(core::IsoWeek(T("2026-02-26T10:00:00Z")), "2026-W09");
}

// ---------------------------------------------------------------------------------------
// Buckets

TEST(CarrierPerformanceView, Spec) {
  View view;
  const auto& spec = view.spec();
  EXPECT_EQ(spec.name, "mv_carrier_performance");
  EXPECT_EQ(spec.version, 2);
  EXPECT_EQ(spec.key_columns, (Key{"org", "carrier_id", "week"}));
  ASSERT_EQ(spec.measure_columns.size(), 43u);
  EXPECT_EQ(spec.measure_columns[0], "shipped");
  EXPECT_EQ(spec.measure_columns[1], "delivered");
  EXPECT_EQ(spec.measure_columns[2], "delivered_on_time");
  EXPECT_EQ(spec.measure_columns[3], "transit_b00");
  EXPECT_EQ(spec.measure_columns[12], "transit_b09");
  EXPECT_EQ(spec.measure_columns[42], "transit_b39");
  EXPECT_TRUE(spec.max_measures.empty());
}

TEST(CarrierPerformanceView, BucketBounds) {
  const auto& b = View::BucketUpperBoundsHours();
  ASSERT_EQ(b.size(), 40u);
  EXPECT_EQ(b[0], 2);
  EXPECT_EQ(b[11], 24);  // 12 buckets of 2 h
  EXPECT_EQ(b[12], 28);
  EXPECT_EQ(b[23], 72);  // 12 of 4 h
  EXPECT_EQ(b[24], 84);
  EXPECT_EQ(b[31], 168);  // 8 of 12 h
  EXPECT_EQ(b[32], 192);
  EXPECT_EQ(b[38], 336);  // 7 of 24 h
  EXPECT_TRUE(std::isinf(b[39]));
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]) << i;
}

TEST(CarrierPerformanceView, LowerBoundsAreInclusive) {
  EXPECT_EQ(View::TransitBucket(-5h), 0u);
  EXPECT_EQ(View::TransitBucket(0h), 0u);
  EXPECT_EQ(View::TransitBucket(2h - 1ms), 0u);
  EXPECT_EQ(View::TransitBucket(2h), 1u);
  EXPECT_EQ(View::TransitBucket(24h), 12u);
  EXPECT_EQ(View::TransitBucket(71h + 59min), 23u);
  EXPECT_EQ(View::TransitBucket(72h), 24u);
  EXPECT_EQ(View::TransitBucket(168h), 32u);
  EXPECT_EQ(View::TransitBucket(336h - 1ms), 38u);
  EXPECT_EQ(View::TransitBucket(336h), 39u);
  EXPECT_EQ(View::TransitBucket(10000h), 39u);
}

// ---------------------------------------------------------------------------------------
// Contributions

TEST(CarrierPerformanceView, NotPickedUpContributesNothing) {
  View view;
  auto row = ViewRow();
  row.shipment.status = core::ShipmentStatus::kBooked;
  EXPECT_TRUE(ContributionsOf(view, row).empty());
  // Even a delivered shipment whose pickup is unknown.
  row.shipment.status = core::ShipmentStatus::kDelivered;
  row.shipment.delivered_at = T("2026-11-02T00:00:00Z");
  EXPECT_TRUE(ContributionsOf(view, row).empty());
}

TEST(CarrierPerformanceView, PickedUpNotDelivered) {
  View view;
  auto out = ContributionsOf(view, Shipped("S-1", T("2026-11-02T08:00:00Z")));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, (Key{"acme", "dhl", "2026-W45"}));
  std::vector<std::int64_t> expected(43, 0);
  expected[kShipped] = 1;
  EXPECT_EQ(out[0].measures, expected);
  EXPECT_TRUE(out[0].maxima.empty());
}

TEST(CarrierPerformanceView, NegativeTransitCountsInTheFirstBucket) {
  View view;
  auto out = ContributionsOf(view, Shipped("S-1", T("2026-11-02T08:00:00Z"),
                                           T("2026-11-02T07:00:00Z"), T("2026-11-03T00:00:00Z")));
  ASSERT_EQ(out.size(), 1u);
  std::vector<std::int64_t> expected(43, 0);
  expected[kShipped] = expected[kDelivered] = expected[kOnTime] = 1;
  expected[kB0] = 1;
  EXPECT_EQ(out[0].measures, expected);
}

TEST(CarrierPerformanceView, DeliveryMovesTheShipmentIntoAHistogramBucket) {
  View view;
  auto before = Shipped("S-1", T("2026-11-02T08:00:00Z"), std::nullopt, T("2026-11-03T17:00:00Z"));
  auto after = Shipped("S-1", T("2026-11-02T08:00:00Z"), T("2026-11-03T18:00:00Z"),
                       T("2026-11-03T17:00:00Z"));  // 34 h, one hour late
  Sums delta = DeltaOf(view, before, after);
  std::vector<std::int64_t> expected(43, 0);
  expected[kDelivered] = 1;
  expected[kB0 + 14] = 1;  // [32, 36)
  EXPECT_EQ(delta, (Sums{{{"acme", "dhl", "2026-W45"}, expected}}));
}

// THE hand-computed fixture: carrier dhl, week 2026-W45 (Mon 2026-11-02 .. Sun 2026-11-08).
//
//   id   picked up         delivered         promised          transit  bucket        on time
//   A    Mon 11-02 08:00   Mon 11-02 09:30   Tue 11-03 17:00     1.5 h  b00 [0,2)     yes
//   B    Mon 11-02 10:00   Tue 11-03 10:00   Tue 11-03 09:00    24.0 h  b12 [24,28)   no (1 h late)
//   C    Tue 11-03 12:00   Wed 11-04 14:00   Wed 11-04 14:00    26.0 h  b12 [24,28)   yes (exactly)
//   D    Wed 11-04 06:00   Fri 11-06 12:00   (none)             54.0 h  b19 [52,56)   no (no
//   promise) E    Sun 11-08 23:00   Fri 11-13 03:00   Sat 11-14 00:00   100.0 h  b26 [96,108)  yes
//   F    Thu 11-05 09:00   (in transit)      Fri 11-06 17:00         -  -             -
// and outside the group:
//   G    not picked up                                                  (nothing)
//   H    Mon 11-09 00:00   Mon 11-09 05:00                       5.0 h  2026-W46, b02 [4,6)
//
// W45: shipped = 6 (A..F), delivered = 5 (A..E), deliveredOnTime = 3 (A, C, E),
//      onTimeRate = 3 / 5 = 0.6.
// Histogram: b00 = 1, b12 = 2, b19 = 1, b26 = 1; total 5; cumulative 1, 3, 4, 5.
// p50: rank = 0.50 * 5 = 2.5; b00 reaches 1 < 2.5, b12 reaches 3 >= 2.5, so bucket
//      [24, 28) with 1 before it and 2 in it: 24 + (28 - 24) * (2.5 - 1) / 2 = 24 + 3 = 27 h.
// p95: rank = 0.95 * 5 = 4.75; b19 reaches 4 < 4.75, b26 reaches 5 >= 4.75, so bucket
//      [96, 108) with 4 before it and 1 in it: 96 + (108 - 96) * (4.75 - 4) / 1 = 96 + 9 = 105 h.
// p99: rank = 4.95 -> 96 + 12 * 0.95 = 107.4 h.  p0: the first non-empty bucket's lower bound, 0.
TEST(CarrierPerformanceView, HandComputedWeek) {
  View view;
  std::vector<core::ShipmentRow> rows = {
      Shipped("A", T("2026-11-02T08:00:00Z"), T("2026-11-02T09:30:00Z"), T("2026-11-03T17:00:00Z")),
      Shipped("B", T("2026-11-02T10:00:00Z"), T("2026-11-03T10:00:00Z"), T("2026-11-03T09:00:00Z")),
      Shipped("C", T("2026-11-03T12:00:00Z"), T("2026-11-04T14:00:00Z"), T("2026-11-04T14:00:00Z")),
      Shipped("D", T("2026-11-04T06:00:00Z"), T("2026-11-06T12:00:00Z"), std::nullopt),
      Shipped("E", T("2026-11-08T23:00:00Z"), T("2026-11-13T03:00:00Z"), T("2026-11-14T00:00:00Z")),
      Shipped("F", T("2026-11-05T09:00:00Z"), std::nullopt, T("2026-11-06T17:00:00Z")),
      Shipped("H", T("2026-11-09T00:00:00Z"), T("2026-11-09T05:00:00Z"), T("2026-11-10T00:00:00Z")),
  };
  auto g = ViewRow("G");
  g.shipment.status = core::ShipmentStatus::kBooked;
  rows.push_back(g);

  Sums sums = SumOf(view, rows);
  ASSERT_EQ(sums.size(), 2u);
  const auto& w45 = sums.at({"acme", "dhl", "2026-W45"});
  ASSERT_EQ(w45.size(), 43u);
  EXPECT_EQ(w45[kShipped], 6);
  EXPECT_EQ(w45[kDelivered], 5);
  EXPECT_EQ(w45[kOnTime], 3);
  EXPECT_DOUBLE_EQ(static_cast<double>(w45[kOnTime]) / static_cast<double>(w45[kDelivered]), 0.6);

  Counts hist(40, 0);
  hist[0] = 1;
  hist[12] = 2;
  hist[19] = 1;
  hist[26] = 1;
  EXPECT_EQ(BucketsOf(w45), hist);

  auto p50 = core::TransitQuantileHours(BucketsOf(w45), 0.50);
  auto p95 = core::TransitQuantileHours(BucketsOf(w45), 0.95);
  auto p99 = core::TransitQuantileHours(BucketsOf(w45), 0.99);
  auto p0 = core::TransitQuantileHours(BucketsOf(w45), 0.0);
  ASSERT_TRUE(p50 && p95 && p99 && p0);
  EXPECT_NEAR(*p50, 27.0, 1e-9);
  EXPECT_NEAR(*p95, 105.0, 1e-9);
  EXPECT_NEAR(*p99, 107.4, 1e-9);
  EXPECT_NEAR(*p0, 0.0, 1e-9);

  const auto& w46 = sums.at({"acme", "dhl", "2026-W46"});
  std::vector<std::int64_t> expected46(43, 0);
  expected46[kShipped] = expected46[kDelivered] = expected46[kOnTime] = 1;
  expected46[kB0 + 2] = 1;
  EXPECT_EQ(w46, expected46);
}

// ---------------------------------------------------------------------------------------
// TransitQuantileHours

TEST(TransitQuantileHours, EmptyHasNoQuantile) {
  EXPECT_EQ(core::TransitQuantileHours({}, 0.5), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(Counts(40, 0), 0.5), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(Counts(40, 0), 0.0), std::nullopt);
}

TEST(TransitQuantileHours, SingleBucketInterpolatesWithinIt) {
  Counts c(40, 0);
  c[1] = 4;                                                      // [2, 4)
  EXPECT_NEAR(*core::TransitQuantileHours(c, 0.5), 3.0, 1e-9);   // 2 + 2 * 2 / 4
  EXPECT_NEAR(*core::TransitQuantileHours(c, 0.25), 2.5, 1e-9);  // 2 + 2 * 1 / 4
  EXPECT_NEAR(*core::TransitQuantileHours(c, 1.0), 4.0, 1e-9);
  EXPECT_NEAR(*core::TransitQuantileHours(c, 0.0), 2.0, 1e-9);
  // Shorter vectors: the missing buckets are empty.
  EXPECT_NEAR(*core::TransitQuantileHours({1}, 0.5), 1.0, 1e-9);  // 0 + 2 * 0.5 / 1
  Counts short_counts(38, 0);
  short_counts[37] = 2;  // [288, 312): rank 1 of 2 gives 288 + 24 * 1 / 2
  EXPECT_NEAR(*core::TransitQuantileHours(short_counts, 0.5), 300.0, 1e-9);
}

TEST(TransitQuantileHours, OverflowBucketIsItsLowerBound) {
  Counts c(40, 0);
  c[39] = 3;
  EXPECT_EQ(core::TransitQuantileHours(c, 0.5), 336.0);
  EXPECT_EQ(core::TransitQuantileHours(c, 1.0), 336.0);
  c[0] = 1;  // [0, 2): rank 0.5 of 4 falls in it, rank 3.8 in the overflow bucket
  EXPECT_NEAR(*core::TransitQuantileHours(c, 0.125), 1.0, 1e-9);
  EXPECT_EQ(core::TransitQuantileHours(c, 0.95), 336.0);
}

TEST(TransitQuantileHours, RejectsWhatIsNotAHistogramOrAQuantile) {
  Counts c(40, 0);
  c[3] = 1;
  EXPECT_EQ(core::TransitQuantileHours(c, -0.1), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(c, 1.1), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(c, std::nan("")), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(Counts(41, 1), 0.5), std::nullopt);
  c[4] = -1;
  EXPECT_EQ(core::TransitQuantileHours(c, 0.5), std::nullopt);
}

}  // namespace
