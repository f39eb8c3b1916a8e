#include "core/carrier_performance_view.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

namespace mv::core {
namespace {

using Buckets = CarrierPerformanceView;

// Finite bucket upper bounds in whole hours; the last bucket has none.
constexpr std::array<std::int64_t, Buckets::kTransitBucketCount - 1> kUpperHours = {
    2,   4,   6,   8,   10,  12,  14,  16,  18, 20, 22, 24,  // every 2 h to 24
    28,  32,  36,  40,  44,  48,  52,  56,  60, 64, 68, 72,  // every 4 h to 72
    84,  96,  108, 120, 132, 144, 156, 168,                  // every 12 h to 168
    192, 216, 240, 264, 288, 312, 336,                       // every 24 h to 336
};
static_assert(kUpperHours.back() == 336);

constexpr std::int64_t kMillisPerHour = 3'600'000;

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
  spec_.version = 2;
  spec_.key_columns = {"org", "carrier_id", "week"};
  spec_.measure_columns = {"shipped", "delivered", "delivered_on_time"};
  for (size_t i = 0; i < kTransitBucketCount; ++i) {
    spec_.measure_columns.push_back(fmt::format("transit_b{:02d}", i));
  }
}

const std::vector<double>& CarrierPerformanceView::BucketUpperBoundsHours() {
  static const std::vector<double> bounds = [] {
    std::vector<double> b(kUpperHours.begin(), kUpperHours.end());
    b.push_back(std::numeric_limits<double>::infinity());
    return b;
  }();
  return bounds;
}

size_t CarrierPerformanceView::TransitBucket(Millis transit) {
  for (size_t i = 0; i < kUpperHours.size(); ++i) {
    if (transit.count() < kUpperHours[i] * kMillisPerHour) return i;
  }
  return kTransitBucketCount - 1;
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
  const std::vector<double>& upper = Buckets::BucketUpperBoundsHours();
  double rank = q * static_cast<double>(total);
  std::int64_t before = 0;
  for (size_t i = 0; i < bucket_counts.size(); ++i) {
    std::int64_t n = bucket_counts[i];
    // Skipping empty buckets only matters for rank 0, which would otherwise land in an
    // empty leading bucket; for rank > 0 the first bucket to reach it is never empty.
    if (n == 0 || static_cast<double>(before + n) < rank) {
      before += n;
      continue;
    }
    double lower = i == 0 ? 0.0 : upper[i - 1];
    if (i == Buckets::kTransitBucketCount - 1) return lower;
    return lower +
           (upper[i] - lower) * (rank - static_cast<double>(before)) / static_cast<double>(n);
  }
  // Unreachable: rank <= total, so the last non-empty bucket reaches it.
  return std::nullopt;
}

}  // namespace mv::core
