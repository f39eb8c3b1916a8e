#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace mv::core {

// The part of the views an operation acts on: some views (empty: every view) of one org
// (none: every org). mv_tracking_state goes with mv_shipment_list: the list is projected
// from it.
//
// With `next_version`, the scope is the newest definitions of its views (aggregates whose
// live version is the previous one) in the version built beside the live one
// (blue/green): what a migration builds and its validation compares.
struct ViewScope {
  std::vector<std::string> views;
  std::optional<std::string> org;
  bool next_version = false;

  bool AllViews() const { return views.empty(); }
  // True when `view` is in scope (mv_tracking_state whenever mv_shipment_list is).
  bool Includes(const std::string& view) const;
  // True when the two scopes share a row: a view in both and an org in both.
  bool Overlaps(const ViewScope& other) const;
  // "mv_daily_metrics of org acme", "every view of every org", "the next version of
  // mv_daily_metrics of every org".
  std::string Describe() const;
  // Whether `part` may be committed from a shadow of this scope (ViewRebuild::CommitPart):
  // InvalidArgument for another org's part, or an org's part of a next version.
  Status CheckPart(const ViewScope& part) const;
};

// What reconciliation found for one view of one org: the live rows against rows
// recomputed from the source, both at one change token.
// One stored version of a view, as the catalog records it (blue/green). `kLive` serves the
// reads. `kBuilding` is the view's newest definition built beside the live one: once
// built (`built`), maintained with it, and switchable once validated. `kRetired` is a
// former live version, still maintained for an instant rollback until it is dropped.
enum class VersionState { kBuilding, kLive, kRetired };
std::string_view ToString(VersionState state);

struct StoredVersion {
  std::string view;
  int version = 0;
  std::int64_t generation = 0;
  VersionState state = VersionState::kLive;
  std::string table;                    // the backend's name for its rows
  std::optional<Timestamp> built_at;    // none while it is being built
  std::int64_t token = 0;               // the change token it was built at
  bool validated = false;               // compared equal to a recompute from the source
  std::optional<Timestamp> retired_at;  // kRetired: when it stopped serving
};

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

// One row of a view as a reconciliation compares it: its key (as bytes that sort in the
// view's key order, key columns joined by '\0') and a hash of its content.
using RowDigest = std::pair<std::string, std::uint64_t>;
// Fills `drift`'s counts, order-independent checksums (sums of the row hashes) and
// mismatched keys from a merge of the two sides, each sorted by key.
void CompareRows(const std::vector<RowDigest>& source, const std::vector<RowDigest>& view,
                 ViewDrift* drift);

}  // namespace mv::core
