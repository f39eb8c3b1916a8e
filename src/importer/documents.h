#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "core/change_event.h"
#include "core/domain.h"
#include "core/tracking.h"

namespace mv::importer {

// Turns MongoDB Extended JSON values (as mongoexport writes them, relaxed or canonical)
// into the API's plain JSON, anywhere in `doc`:
//   {"$date": "2026-11-01T10:00:00.000Z"} or {"$date": {"$numberLong": "1761991200000"}}
//       -> "2026-11-01T10:00:00Z" (RFC 3339, UTC);
//   {"$numberDecimal": "12.50"}, {"$numberDouble": "1.5"} -> the number;
//   {"$numberLong": "42"}, {"$numberInt": "7"} -> the integer;
//   {"$oid": "65a1..."} -> its hex string.
// InvalidArgument naming the path ("promisedDeliveryAt.$date: ...") for a malformed one.
Result<nlohmann::json> FromExtendedJson(const nlohmann::json& doc);

// Where the organization and id of an imported document come from.
struct DocumentMapping {
  core::Collection collection = core::Collection::kShipments;
  std::optional<std::string> org;            // every document's org; else ...
  std::string org_field = "organizationId";  // ... this field of each document
};

// One imported document, validated as the API validates it.
struct ImportedDocument {
  std::string org;
  std::string id;
  std::optional<core::Shipment> shipment;
  std::optional<core::TrackingEvent> event;
  std::optional<core::Customer> customer;
  std::optional<core::Carrier> carrier;
};

// Maps one document (Extended JSON accepted) of `mapping.collection`: the id from `id`,
// else from `_id` (a string, or an $oid's hex); for tracking events the id is `eventId`
// (or the same fallbacks). InvalidArgument saying what is wrong otherwise.
Result<ImportedDocument> MapDocument(const nlohmann::json& raw, const DocumentMapping& mapping);

}  // namespace mv::importer
