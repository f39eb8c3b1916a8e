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
//   transit_b00 .. transit_b39
//                      the delivered ones by transit time (deliveredAt - pickedUpAt, a
//                      negative transit counting as 0) in the buckets of
//                      BucketUpperBoundsHours(); each delivered shipment is in exactly one.
// No maxima.
class CarrierPerformanceView final : public AggregateView {
 public:
  static constexpr size_t kShippedMeasure = 0;
  static constexpr size_t kDeliveredMeasure = 1;
  static constexpr size_t kDeliveredOnTimeMeasure = 2;
  static constexpr size_t kFirstBucketMeasure = 3;
  static constexpr size_t kTransitBucketCount = 40;

  CarrierPerformanceView();
  const AggregateViewSpec& spec() const override { return spec_; }
  void Contribute(const ShipmentRow& row, ContributionSink& sink) const override;

  // The exclusive upper bound in hours of each transit bucket, ascending; each bucket's
  // inclusive lower bound is the previous one's upper bound (0 for the first). Every 2 h
  // to 24, every 4 h to 72, every 12 h to 168, every 24 h to 336, then [336, +inf): the
  // last entry is +infinity. Size kTransitBucketCount.
  static const std::vector<double>& BucketUpperBoundsHours();
  // The bucket (0 .. kTransitBucketCount - 1) of a transit time; negative counts as 0.
  static size_t TransitBucket(Millis transit);

 private:
  AggregateViewSpec spec_;
};

// The ISO-8601 week of `t` in UTC, with its ISO week-numbering year: "2026-W45".
// 2027-01-01 is "2026-W53"; 2024-12-30 is "2025-W01".
std::string IsoWeek(Timestamp t);

// The q-quantile (0 <= q <= 1) of transit hours from per-bucket counts, in the order of
// CarrierPerformanceView::BucketUpperBoundsHours() (missing trailing buckets are empty),
// interpolating linearly within a bucket like Prometheus' histogram_quantile: with rank
// q * total, the first non-empty bucket whose cumulative count reaches rank gives
// lower + (upper - lower) * (rank - count_before) / count_in_bucket; in the overflow
// bucket the result is its lower bound (336). nullopt when there are no counts, when q is
// outside [0, 1], or when the counts are not a histogram (negative, or too many buckets).
std::optional<double> TransitQuantileHours(const std::vector<std::int64_t>& bucket_counts,
                                           double q);

}  // namespace mv::core
