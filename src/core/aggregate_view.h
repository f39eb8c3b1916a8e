#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/shipment_row.h"

namespace mv::core {

// The shape of an aggregate view: its key columns (the first is always `org`) and its
// measures. Measures are integers so that adding and retracting contributions is exact
// (fractional sums are kept in fixed point). Measure 0 counts the contributing shipments;
// a row whose count reaches zero is deleted.
struct AggregateViewSpec {
  std::string name;  // "mv_realtime_ops"
  int version = 1;
  std::vector<std::string> key_columns;
  std::vector<std::string> measure_columns;
};

// A signed contribution to one aggregate row.
struct AggregateDelta {
  std::vector<std::string> key;  // values of key_columns, in order
  std::vector<std::int64_t> measures;

  bool IsZero() const {
    for (auto m : measures) {
      if (m != 0) return false;
    }
    return true;
  }
};

// An invertible aggregate over shipment projections. Implementations are stateless and
// thread-safe.
class AggregateView {
 public:
  virtual ~AggregateView() = default;
  virtual const AggregateViewSpec& spec() const = 0;
  // Appends the rows `row` contributes to, each with measures[0] == 1.
  virtual void Contribute(const ShipmentRow& row, std::vector<AggregateDelta>* out) const = 0;
};

}  // namespace mv::core
