#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "core/aggregate_view.h"

namespace mv::core {

// mv_carrier_performance: one row per (org, carrier_id, week), where `week` is the ISO
// week of pickedUpAt (IsoWeek); a shipment without pickedUpAt contributes nothing.
// Measures, in order:
//   shipped            the shipments picked up (measure 0, the row count)
//   delivered          of those, the ones with deliveredAt
//   delivered_on_time  of those, the ones with deliveredAt <= promisedDeliveryAt (a
//                      shipment without a promise is never on time)
//   transit_b000 .. transit_b313
//                      the delivered ones by transit time (deliveredAt - pickedUpAt, a
//                      negative transit counting as 0), each in exactly one bucket of a
//                      log-spaced histogram (TransitBucket): b000 below 1 minute, then
//                      buckets growing by a factor of 1.02/0.98 up to 180 days, then b313
//                      for longer. The counts are invertible (a delivery retracted is one
//                      count taken back), and any quantile read from them is within 2% of
//                      the exact one for transits from 1 minute to 180 days.
// No maxima.
class CarrierPerformanceView final : public AggregateView {
 public:
  static constexpr size_t kShippedMeasure = 0;
  static constexpr size_t kDeliveredMeasure = 1;
  static constexpr size_t kDeliveredOnTimeMeasure = 2;
  static constexpr size_t kFirstBucketMeasure = 3;
  // The relative accuracy of quantiles, and the range it holds for.
  static constexpr double kRelativeAccuracy = 0.02;
  static constexpr std::int64_t kMinTransitMillis = 60'000;              // 1 minute
  static constexpr std::int64_t kMaxTransitMillis = 180LL * 86'400'000;  // 180 days
  // Buckets of growth factor (1 + a) / (1 - a) from the minimum up past the maximum, plus
  // one below and one above.
  static constexpr size_t kLogBucketCount = 312;
  static constexpr size_t kTransitBucketCount = kLogBucketCount + 2;

  CarrierPerformanceView();
  const AggregateViewSpec& spec() const override { return spec_; }
  void Contribute(const ShipmentRow& row, ContributionSink& sink) const override;

  // The bucket (0 .. kTransitBucketCount - 1) of a transit time: 0 below one minute
  // (negative included); k in 1 .. kLogBucketCount for [m * g^(k-1), m * g^k) with m one
  // minute and g the growth factor; the last for m * g^kLogBucketCount and more.
  static size_t TransitBucket(Millis transit);
  // The inclusive lower bound of bucket `k`, in hours (0 for the first).
  static double BucketLowerBoundHours(size_t k);
  // The value a quantile that falls in bucket `k` is answered with, in hours: for a log
  // bucket [L, g L), 2 g L / (g + 1), within the relative accuracy of every value in it;
  // 0 for the first bucket; the lower bound for the last.
  static double BucketValueHours(size_t k);

 private:
  AggregateViewSpec spec_;
};

// The ISO-8601 week of `t` in UTC, with its ISO week-numbering year: "2026-W45".
// 2027-01-01 is "2026-W53"; 2024-12-30 is "2025-W01".
std::string IsoWeek(Timestamp t);

// The q-quantile (0 <= q <= 1) of transit hours from per-bucket counts, in the order of
// CarrierPerformanceView::TransitBucket (missing trailing buckets are empty): the value of
// the bucket that holds the sample of nearest rank, ceil(q * total) (at least 1), so the
// answer is within 2% of that sample's transit from 1 minute to 180 days, whatever the
// distribution. nullopt when there are no counts, when q is outside [0, 1], or when the
// counts are not a histogram (negative, or too many buckets).
std::optional<double> TransitQuantileHours(const std::vector<std::int64_t>& bucket_counts,
                                           double q);

}  // namespace mv::core
