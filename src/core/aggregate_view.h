#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/shipment_row.h"

namespace mv::core {

// A non-invertible maximum over a group's shipments. The store keeps the largest value
// contributed; only when a retraction removes the current maximum does it recompute the
// group's value from the shipment list, as MAX(list_column) over the list rows whose
// columns named like the view's key columns equal the group's key (so every key column
// of such a view must also be a column of the shipment list).
struct MaxMeasure {
  std::string column;       // "last_shipment_at"
  std::string list_column;  // "created_at"
};

// The shape of an aggregate view: its key columns (the first is always `org`) and its
// measures. Measures are integers so that adding and retracting contributions is exact
// (fractional sums are kept in fixed point). Measure 0 counts the contributing shipments;
// a row whose count reaches zero is deleted.
struct AggregateViewSpec {
  std::string name;  // "mv_realtime_ops"
  int version = 1;
  std::vector<std::string> key_columns;
  std::vector<std::string> measure_columns;
  std::vector<MaxMeasure> max_measures;
  // Secondary indexes for the view's queries, each a list of columns.
  std::vector<std::vector<std::string>> indexes;
};

// Fixed-point scale of fractional measures (weights, values): 1e-6 units.
inline constexpr std::int64_t kFixedPointScale = 1'000'000;
// `v` in fixed point, rounded to the nearest unit; 0 when absent.
std::int64_t ToFixedPoint(std::optional<double> v);
double FromFixedPoint(std::int64_t v);

// A signed contribution to one aggregate row.
struct AggregateDelta {
  std::vector<std::string> key;  // values of key_columns, in order
  std::vector<std::int64_t> measures;
  // Per max measure: the largest value added and the largest value retracted.
  std::vector<std::optional<std::int64_t>> max_added;
  std::vector<std::optional<std::int64_t>> max_retracted;

  // True when applying the delta changes nothing: measures all zero and each maximum
  // retracted exactly as it is re-added.
  bool IsZero() const;
};

// A measure's index and a non-zero value.
using MeasureValue = std::pair<size_t, std::int64_t>;

// Receives a shipment's contributions to an aggregate view, before signs are applied. The
// spans are valid only during the call.
class ContributionSink {
 public:
  virtual ~ContributionSink() = default;
  // `key`: the values of the view's key columns, in order. `measures`: the non-zero
  // measures (the count, measure 0, is 1 and always among them). `maxima`: one value per
  // max measure.
  virtual void Add(std::span<const std::string_view> key, std::span<const MeasureValue> measures,
                   std::span<const std::int64_t> maxima) = 0;
};

// An invertible aggregate over shipment projections. Implementations are stateless and
// thread-safe.
class AggregateView {
 public:
  virtual ~AggregateView() = default;
  virtual const AggregateViewSpec& spec() const = 0;
  // Gives `sink` the rows `row` contributes to (none for a row outside the view).
  virtual void Contribute(const ShipmentRow& row, ContributionSink& sink) const = 0;
};

// One contribution with its measures spelled out, for tests and tools.
struct Contribution {
  std::vector<std::string> key;
  std::vector<std::int64_t> measures;  // one per measure column; measures[0] == 1
  std::vector<std::int64_t> maxima;    // one per max measure
};
std::vector<Contribution> ContributionsOf(const AggregateView& view, const ShipmentRow& row);

}  // namespace mv::core
