#include "core/carrier_performance_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

namespace mv::core {
namespace {

using Buckets = CarrierPerformanceView;

constexpr double kMillisPerHour = 3'600'000.0;
const double kGrowth = (1 + Buckets::kRelativeAccuracy) / (1 - Buckets::kRelativeAccuracy);
const double kLogGrowth = std::log(kGrowth);

// The lower bounds of the log buckets in milliseconds, [1] .. [kLogBucketCount], and the
// overflow bucket's at [kLogBucketCount + 1]. Computed once: the bucket of a transit is
// found by search, so bucket bounds and membership agree exactly.
const std::vector<double>& LowerBoundsMillis() {
  static const std::vector<double> bounds = [] {
    std::vector<double> b(Buckets::kTransitBucketCount, 0.0);
    for (size_t k = 1; k < Buckets::kTransitBucketCount; ++k) {
      b[k] = static_cast<double>(Buckets::kMinTransitMillis) *
             std::exp(kLogGrowth * static_cast<double>(k - 1));
    }
    return b;
  }();
  return bounds;
}

}  // namespace

std::string IsoWeek(Timestamp t) {
  using namespace std::chrono;
  sys_days day = floor<days>(t);
  // The ISO week belongs to the year of its Thursday; weeks run Monday (1) .. Sunday (7).
  sys_days thursday = day + days(4 - static_cast<int>(weekday(day).iso_encoding()));
  year iso_year = year_month_day(thursday).year();
  auto week = (thursday - sys_days(iso_year / January / 1)).count() / 7 + 1;
  return fmt::format("{:04d}-W{:02d}", static_cast<int>(iso_year), week);
}

CarrierPerformanceView::CarrierPerformanceView() {
  spec_.name = "mv_carrier_performance";
  spec_.version = 3;
  spec_.key_columns = {"org", "carrier_id", "week"};
  spec_.measure_columns = {"shipped", "delivered", "delivered_on_time"};
  for (size_t i = 0; i < kTransitBucketCount; ++i) {
    spec_.measure_columns.push_back(fmt::format("transit_b{:03d}", i));
  }
}

size_t CarrierPerformanceView::TransitBucket(Millis transit) {
  const std::vector<double>& lower = LowerBoundsMillis();
  auto t = static_cast<double>(transit.count());
  if (t < lower[1]) return 0;
  // The last bucket whose lower bound is <= t.
  auto it = std::upper_bound(lower.begin() + 1, lower.end(), t);
  return static_cast<size_t>(it - lower.begin()) - 1;
}

double CarrierPerformanceView::BucketLowerBoundHours(size_t k) {
  return k < kTransitBucketCount ? LowerBoundsMillis()[k] / kMillisPerHour : 0.0;
}

double CarrierPerformanceView::BucketValueHours(size_t k) {
  if (k == 0) return 0.0;
  double lower = BucketLowerBoundHours(k);
  if (k >= kTransitBucketCount - 1) return lower;
  return 2 * kGrowth * lower / (kGrowth + 1);
}

void CarrierPerformanceView::Contribute(const ShipmentRow& row, ContributionSink& sink) const {
  const Shipment& s = row.shipment;
  if (!s.picked_up_at) return;
  std::string week = IsoWeek(*s.picked_up_at);
  std::string_view key[] = {row.org, s.carrier_id, week};
  MeasureValue measures[4];
  size_t n = 0;
  measures[n++] = {kShippedMeasure, 1};
  if (s.delivered_at) {
    measures[n++] = {kDeliveredMeasure, 1};
    if (s.promised_delivery_at && *s.delivered_at <= *s.promised_delivery_at) {
      measures[n++] = {kDeliveredOnTimeMeasure, 1};
    }
    measures[n++] = {kFirstBucketMeasure + TransitBucket(*s.delivered_at - *s.picked_up_at), 1};
  }
  sink.Add(key, std::span(measures, n), {});
}

std::optional<double> TransitQuantileHours(const std::vector<std::int64_t>& bucket_counts,
                                           double q) {
  if (!(q >= 0 && q <= 1)) return std::nullopt;  // also rejects NaN
  if (bucket_counts.size() > Buckets::kTransitBucketCount) return std::nullopt;
  std::int64_t total = 0;
  for (std::int64_t n : bucket_counts) {
    if (n < 0) return std::nullopt;
    total += n;
  }
  if (total == 0) return std::nullopt;
  // Nearest rank, 1-based: the smallest sample with at least q of the samples at or
  // below it.
  auto rank = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::clamp<std::int64_t>(rank, 1, total);
  std::int64_t seen = 0;
  for (size_t k = 0; k < bucket_counts.size(); ++k) {
    seen += bucket_counts[k];
    if (seen >= rank) return Buckets::BucketValueHours(k);
  }
  return std::nullopt;  // unreachable: the counts add up to total >= rank
}

}  // namespace mv::core
