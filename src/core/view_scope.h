#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mv::core {

// The part of the views an operation acts on: some views (empty: every view) of one org
// (none: every org). mv_tracking_state goes with mv_shipment_list: the list is projected
// from it.
struct ViewScope {
  std::vector<std::string> views;
  std::optional<std::string> org;

  bool AllViews() const { return views.empty(); }
  // True when `view` is in scope (mv_tracking_state whenever mv_shipment_list is).
  bool Includes(const std::string& view) const;
  // True when the two scopes share a row: a view in both and an org in both.
  bool Overlaps(const ViewScope& other) const;
  // "mv_daily_metrics of org acme", "every view of every org".
  std::string Describe() const;
};

// What reconciliation found for one view of one org: the live rows against rows
// recomputed from the source, both at one change token.
struct ViewDrift {
  std::string view;
  std::string org;
  std::int64_t source_rows = 0;          // rows the recompute holds
  std::int64_t view_rows = 0;            // rows the live view holds
  std::int64_t mismatched = 0;           // keys on one side only, or whose content differs
  bool checksum_match = true;            // the order-independent content checksums agree
  std::vector<std::string> sample_keys;  // the first mismatched keys, at most 10

  bool drifted() const { return mismatched > 0 || !checksum_match; }
};

}  // namespace mv::core
