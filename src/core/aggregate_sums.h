#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/aggregate_view.h"
#include "core/shipment_row.h"
#include "core/view_set.h"

namespace mv::core {

// The summed contributions of many shipment rows to every aggregate view of a ViewSet,
// its previous definitions included: one delta per (definition, key), allocated once,
// its measures added in place.
//
// Not thread-safe. No I/O.
class AggregateSums {
 public:
  explicit AggregateSums(const ViewSet& views);

  // Adds the contributions of `row` to every aggregate view, with `sign` +1 or -1.
  void Add(const ShipmentRow& row, int sign);
  // The number of distinct keys summed so far, over all views.
  size_t keys() const { return keys_; }
  // The non-zero deltas per view name, each view's in key order, and empties the sums:
  // those of the newest definitions, and those of the previous ones into `previous`
  // (dropped when it is null).
  using DeltasByView = std::map<std::string, std::vector<AggregateDelta>>;
  DeltasByView Take(DeltasByView* previous = nullptr);

 private:
  class Summer;
  // One view's sums, found by the key's encoding (KeyBytes).
  struct ViewSums {
    absl::flat_hash_map<std::string, size_t> index;  // KeyBytes(key) -> position in deltas
    std::vector<AggregateDelta> deltas;
  };

  const ViewSet& views_;
  // The definitions summed: the newest of each view, in ViewSet order, then the previous.
  std::vector<const AggregateView*> definitions_;
  std::vector<ViewSums> sums_;  // per definition
  size_t keys_ = 0;
  std::string key_buffer_;  // scratch, reused
};

}  // namespace mv::core
