#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "core/shipment_row.h"
#include "core/tracking.h"

// The binary encodings of the engine's stored state: a ShipmentRow (what mv_shipment_list
// stores per shipment) and a TrackingSummary (mv_tracking_state). Compact (varints,
// length-prefixed text), versioned by their first byte, and exact: Decode(Encode(x)) == x.
// Deterministic, so equal states encode to equal bytes. Pure and thread-safe.
namespace mv::core {

// The row without its org (the org is part of the key it is stored under).
std::string EncodeRow(const ShipmentRow& row);
// Corruption when `bytes` is not an encoded row.
Result<ShipmentRow> DecodeRow(const std::string& org, std::string_view bytes);

std::string EncodeTrackingSummary(const TrackingSummary& summary);
// Corruption when `bytes` is not an encoded summary.
Result<TrackingSummary> DecodeTrackingSummary(std::string_view bytes);

}  // namespace mv::core
