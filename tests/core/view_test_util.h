#pragma once

// Helpers for the aggregate view tests: a representative shipment row and the
// consolidation the engine performs (contributions summed per key, with signs).

#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/aggregate_view.h"
#include "core/shipment_row.h"
#include "test_util.h"

namespace mv::testing {

// An in-transit shipment of org "acme", created 2026-11-01T10:00Z, not yet picked up.
inline core::ShipmentRow ViewRow(std::string id = "S-1") {
  core::ShipmentRow row;
  row.org = "acme";
  core::Shipment& s = row.shipment;
  s.id = std::move(id);
  s.customer_id = "C-9";
  s.carrier_id = "dhl";
  s.service = "express";
  s.status = core::ShipmentStatus::kInTransit;
  s.origin = {{"country", "NL"}, {"postalCode", "1012"}};
  s.destination = {{"country", "DE"}};
  s.weight_kg = 2.5;
  s.declared_value = 120.0;
  s.currency = "EUR";
  s.created_at = T("2026-11-01T10:00:00Z");
  s.status_changed_at = s.created_at;
  s.promised_delivery_at = T("2026-11-03T17:00:00Z");
  row.sla.status = core::SlaStatus::kOnTrack;
  return row;
}

using core::ContributionsOf;

// Measures per key after adding `sign` times each row's contributions; keys whose
// measures all cancel out are dropped, as the engine and the store do.
using Sums = std::map<std::vector<std::string>, std::vector<std::int64_t>>;

inline void AddTo(Sums* sums, const core::AggregateView& view, const core::ShipmentRow& row,
                  int sign) {
  for (const core::Contribution& c : ContributionsOf(view, row)) {
    auto& m = (*sums)[c.key];
    m.resize(c.measures.size(), 0);
    for (size_t i = 0; i < c.measures.size(); ++i) m[i] += sign * c.measures[i];
  }
  for (auto it = sums->begin(); it != sums->end();) {
    bool zero = true;
    for (auto v : it->second) zero = zero && v == 0;
    it = zero ? sums->erase(it) : std::next(it);
  }
}

inline Sums SumOf(const core::AggregateView& view, const std::vector<core::ShipmentRow>& rows) {
  Sums sums;
  for (const auto& row : rows) AddTo(&sums, view, row, +1);
  return sums;
}

// The delta a change from `before` to `after` produces: Contribute(after) - Contribute(before).
inline Sums DeltaOf(const core::AggregateView& view, const core::ShipmentRow& before,
                    const core::ShipmentRow& after) {
  Sums sums;
  AddTo(&sums, view, after, +1);
  AddTo(&sums, view, before, -1);
  return sums;
}

}  // namespace mv::testing
