#include "core/carrier_performance_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <random>
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
  EXPECT_EQ(spec.version, 3);
  EXPECT_EQ(spec.key_columns, (Key{"org", "carrier_id", "week"}));
  ASSERT_EQ(spec.measure_columns.size(), 3u + View::kTransitBucketCount);
  EXPECT_EQ(spec.measure_columns[0], "shipped");
  EXPECT_EQ(spec.measure_columns[1], "delivered");
  EXPECT_EQ(spec.measure_columns[2], "delivered_on_time");
  EXPECT_EQ(spec.measure_columns[3], "transit_b000");
  EXPECT_EQ(spec.measure_columns.back(), "transit_b313");
  EXPECT_TRUE(spec.max_measures.empty());
}

// Log buckets from one minute, each (1 + 0.02) / (1 - 0.02) times the one before, up past
// 180 days; below and above them one bucket each.
TEST(CarrierPerformanceView, BucketBounds) {
  const double growth = 1.02 / 0.98;
  EXPECT_EQ(View::BucketLowerBoundHours(0), 0.0);
  EXPECT_NEAR(View::BucketLowerBoundHours(1), 1.0 / 60, 1e-12);
  for (size_t k = 2; k < View::kTransitBucketCount; ++k) {
    EXPECT_NEAR(View::BucketLowerBoundHours(k) / View::BucketLowerBoundHours(k - 1), growth, 1e-9)
        << k;
  }
  // The last log bucket reaches past 180 days; the one before does not.
  EXPECT_GT(View::BucketLowerBoundHours(View::kLogBucketCount + 1), 180.0 * 24);
  EXPECT_LT(View::BucketLowerBoundHours(View::kLogBucketCount), 180.0 * 24);
  // Each bucket's value is inside it and within 2% of both its ends.
  for (size_t k = 1; k <= View::kLogBucketCount; ++k) {
    double lower = View::BucketLowerBoundHours(k), upper = View::BucketLowerBoundHours(k + 1);
    double v = View::BucketValueHours(k);
    EXPECT_LE(std::abs(v - lower) / lower, 0.02 + 1e-12) << k;
    EXPECT_LE(std::abs(upper - v) / upper, 0.02 + 1e-12) << k;
  }
}

TEST(CarrierPerformanceView, LowerBoundsAreInclusive) {
  EXPECT_EQ(View::TransitBucket(-5h), 0u);
  EXPECT_EQ(View::TransitBucket(0h), 0u);
  EXPECT_EQ(View::TransitBucket(1min - 1ms), 0u);
  EXPECT_EQ(View::TransitBucket(1min), 1u);
  for (size_t k = 1; k < View::kTransitBucketCount; ++k) {
    auto lower = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::ceil(View::BucketLowerBoundHours(k) * 3'600'000)));
    EXPECT_EQ(View::TransitBucket(lower), k) << k;
    EXPECT_EQ(View::TransitBucket(lower - 1ms), k - 1) << k;
  }
  EXPECT_EQ(View::TransitBucket(180 * 24h), View::kLogBucketCount);
  EXPECT_EQ(View::TransitBucket(1000 * 24h), View::kTransitBucketCount - 1);
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
  std::vector<std::int64_t> expected(3 + View::kTransitBucketCount, 0);
  expected[kShipped] = 1;
  EXPECT_EQ(out[0].measures, expected);
  EXPECT_TRUE(out[0].maxima.empty());
}

TEST(CarrierPerformanceView, NegativeTransitCountsInTheFirstBucket) {
  View view;
  auto out = ContributionsOf(view, Shipped("S-1", T("2026-11-02T08:00:00Z"),
                                           T("2026-11-02T07:00:00Z"), T("2026-11-03T00:00:00Z")));
  ASSERT_EQ(out.size(), 1u);
  std::vector<std::int64_t> expected(3 + View::kTransitBucketCount, 0);
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
  std::vector<std::int64_t> expected(3 + View::kTransitBucketCount, 0);
  expected[kDelivered] = 1;
  expected[kB0 + View::TransitBucket(34h)] = 1;
  EXPECT_EQ(delta, (Sums{{{"acme", "dhl", "2026-W45"}, expected}}));
}

// THE hand-computed fixture: carrier dhl, week 2026-W45 (Mon 2026-11-02 .. Sun 2026-11-08).
//
//   id   picked up         delivered         promised          transit  on time
//   A    Mon 11-02 08:00   Mon 11-02 09:30   Tue 11-03 17:00     1.5 h  yes
//   B    Mon 11-02 10:00   Tue 11-03 10:00   Tue 11-03 09:00    24.0 h  no (1 h late)
//   C    Tue 11-03 12:00   Wed 11-04 14:00   Wed 11-04 14:00    26.0 h  yes (exactly)
//   D    Wed 11-04 06:00   Fri 11-06 12:00   (none)             54.0 h  no (no promise)
//   E    Sun 11-08 23:00   Fri 11-13 03:00   Sat 11-14 00:00   100.0 h  yes
//   F    Thu 11-05 09:00   (in transit)      Fri 11-06 17:00         -  -
// and outside the group:
//   G    not picked up                                                  (nothing)
//   H    Mon 11-09 00:00   Mon 11-09 05:00                       5.0 h  2026-W46
//
// W45: shipped = 6 (A..F), delivered = 5 (A..E), deliveredOnTime = 3 (A, C, E),
//      onTimeRate = 3 / 5 = 0.6. Transits sorted: 1.5, 24, 26, 54, 100 h.
// Nearest rank ceil(q * 5): p50 -> 3rd = 26 h; p95 -> 5th = 100 h; p99 -> 5th = 100 h;
// p0 -> 1st = 1.5 h; each answered within 2%.
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
  ASSERT_EQ(w45.size(), 3u + View::kTransitBucketCount);
  EXPECT_EQ(w45[kShipped], 6);
  EXPECT_EQ(w45[kDelivered], 5);
  EXPECT_EQ(w45[kOnTime], 3);
  EXPECT_DOUBLE_EQ(static_cast<double>(w45[kOnTime]) / static_cast<double>(w45[kDelivered]), 0.6);

  Counts hist(View::kTransitBucketCount, 0);
  for (std::chrono::minutes transit :
       std::vector<std::chrono::minutes>{90min, 24h, 26h, 54h, 100h}) {
    ++hist[View::TransitBucket(transit)];
  }
  EXPECT_EQ(BucketsOf(w45), hist);
  EXPECT_EQ(View::TransitBucket(24h) + 2, View::TransitBucket(26h))
      << "24 h and 26 h are 8% apart: two buckets of 4% between them";

  auto within = [](std::optional<double> got, double want) {
    return got && std::abs(*got - want) / want <= 0.02;
  };
  EXPECT_TRUE(within(core::TransitQuantileHours(BucketsOf(w45), 0.50), 26.0));
  EXPECT_TRUE(within(core::TransitQuantileHours(BucketsOf(w45), 0.95), 100.0));
  EXPECT_TRUE(within(core::TransitQuantileHours(BucketsOf(w45), 0.99), 100.0));
  EXPECT_TRUE(within(core::TransitQuantileHours(BucketsOf(w45), 0.0), 1.5));
  EXPECT_TRUE(within(core::TransitQuantileHours(BucketsOf(w45), 0.4), 24.0));  // 2nd

  const auto& w46 = sums.at({"acme", "dhl", "2026-W46"});
  std::vector<std::int64_t> expected46(3 + View::kTransitBucketCount, 0);
  expected46[kShipped] = expected46[kDelivered] = expected46[kOnTime] = 1;
  expected46[kB0 + View::TransitBucket(5h)] = 1;
  EXPECT_EQ(w46, expected46);
}

// ---------------------------------------------------------------------------------------
// TransitQuantileHours

TEST(TransitQuantileHours, EmptyHasNoQuantile) {
  EXPECT_EQ(core::TransitQuantileHours({}, 0.5), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(Counts(View::kTransitBucketCount, 0), 0.5), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(Counts(View::kTransitBucketCount, 0), 0.0), std::nullopt);
}

// For any distribution of transits from 1 minute to 180 days, every quantile is within 2%
// of the exact one (the sample of nearest rank): narrow and wide, point masses, weeks in
// transit, two modes, a few samples and many.
TEST(TransitQuantileHours, WithinTwoPercentOfTheExactQuantileForAnyDistribution) {
  std::mt19937_64 rng(45);
  const double min_h = 1.0 / 60, max_h = 180 * 24.0;
  auto clamp = [&](double h) { return std::clamp(h, min_h, max_h); };
  std::vector<std::function<double()>> shapes = {
      [&] { return std::uniform_real_distribution<double>(min_h, max_h)(rng); },
      [&] { return clamp(std::lognormal_distribution<double>(std::log(30), 0.6)(rng)); },
      [&] { return clamp(std::lognormal_distribution<double>(std::log(24 * 21), 0.8)(rng)); },
      [&] { return rng() % 2 ? 26.0 : 24.0 * 40; },  // two point masses
      [&] { return 72.0; },                          // one
      [&] {
        return std::exp(
            std::uniform_real_distribution<double>(std::log(min_h), std::log(max_h))(rng));
      },
      [&] { return clamp(std::exponential_distribution<double>(1.0 / 6)(rng)); },
  };
  int checked = 0;
  for (size_t shape = 0; shape < shapes.size(); ++shape) {
    for (size_t n : {1u, 2u, 7u, 100u, 5000u}) {
      std::vector<double> hours(n);
      Counts counts(View::kTransitBucketCount, 0);
      for (double& h : hours) {
        h = shapes[shape]();
        ++counts[View::TransitBucket(
            std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(h * 3'600'000))))];
      }
      std::sort(hours.begin(), hours.end());
      for (double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0}) {
        auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
        double exact = hours[std::clamp<size_t>(rank, 1, n) - 1];
        auto got = core::TransitQuantileHours(counts, q);
        ASSERT_TRUE(got);
        EXPECT_LE(std::abs(*got - exact) / exact, 0.02 + 1e-9)
            << "shape " << shape << ", n " << n << ", q " << q << ": " << *got << " h vs " << exact
            << " h";
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 7 * 5 * 8);
}

TEST(TransitQuantileHours, BelowAMinuteIsZeroAndBeyondTheRangeIsItsBound) {
  Counts c(View::kTransitBucketCount, 0);
  c[0] = 1;
  EXPECT_EQ(core::TransitQuantileHours(c, 0.5), 0.0);
  c[View::kTransitBucketCount - 1] = 3;
  double beyond = View::BucketLowerBoundHours(View::kTransitBucketCount - 1);
  EXPECT_GE(beyond, 180 * 24.0);
  EXPECT_EQ(core::TransitQuantileHours(c, 0.9), beyond) << "at least this long";
  EXPECT_EQ(core::TransitQuantileHours(c, 0.25), 0.0);
  // Shorter vectors: the missing buckets are empty.
  EXPECT_EQ(core::TransitQuantileHours({0, 2}, 0.5), View::BucketValueHours(1));
}

TEST(TransitQuantileHours, RejectsWhatIsNotAHistogramOrAQuantile) {
  Counts c(View::kTransitBucketCount, 0);
  c[3] = 1;
  EXPECT_EQ(core::TransitQuantileHours(c, -0.1), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(c, 1.1), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(c, std::nan("")), std::nullopt);
  EXPECT_EQ(core::TransitQuantileHours(Counts(View::kTransitBucketCount + 1, 1), 0.5),
            std::nullopt);
  c[4] = -1;
  EXPECT_EQ(core::TransitQuantileHours(c, 0.5), std::nullopt);
}

}  // namespace
