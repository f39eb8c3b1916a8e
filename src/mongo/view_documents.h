#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/aggregate_view.h"
#include "core/view_batch.h"
#include "mongo/view_database.h"

// How the views are shaped as MongoDB documents (README, "MongoDB mode"), both ways. Every
// document carries its org as `organizationId`, its key as a compound `_id` in key order
// (`{organizationId, shipmentId}` for the per-shipment views, the key columns for the
// aggregates) and `_schemaVersion`. Timestamps are BSON dates; counts and fixed-point
// sums are 64-bit integers. Pure functions.
namespace mv::mongo {

// The document field of a view column: "org" -> "organizationId", "customer_id" ->
// "customerId", "_schema_version" -> "_schemaVersion".
std::string FieldOf(const std::string& column);

// {"$date": {"$numberLong": "<ms>"}} and {"$numberLong": "<n>"} (canonical Extended JSON:
// the types survive the trip to BSON whatever the value).
Document DateValue(Timestamp t);
Document Int64Value(std::int64_t n);
// A date or an integer as the driver returns it (relaxed or canonical Extended JSON).
Result<Timestamp> ReadDate(const Document& v);
Result<std::int64_t> ReadInt64(const Document& v);

// {organizationId, shipmentId}: the _id of the per-shipment views.
Document ShipmentId(const core::ShipmentKey& key);
Result<core::ShipmentKey> ShipmentKeyOf(const Document& doc);

// mv_shipment_list: the API's shipment shape (RowToJson) with dates as BSON dates, plus
// _id, organizationId, `_referenceKey` (the reference in ASCII lower case, for the
// case-insensitive prefix filter `q`) and `_orgHash` (core::Partition::HashOf, for a
// partition's SLA ticks).
Document ListDocument(const core::ShipmentRow& row);
// Corruption when `doc` is not one.
Result<core::ShipmentRow> ListRowOf(const Document& doc);
// The lower-case form `_referenceKey` holds.
std::string ReferenceKey(const std::string& reference);

// mv_exception_queue: _id, organizationId, id, urgency, reason, promisedSort (the promise
// in epoch ms, INT64_MAX without one, so they sort last), promisedDeliveryAt,
// statusChangedAt.
Document ExceptionDocument(const core::ExceptionQueueRow& row);
Result<core::ExceptionQueueRow> ExceptionRowOf(const Document& doc);
inline constexpr std::int64_t kNoPromiseSort = INT64_MAX;

// mv_tracking_state: _id, organizationId, summary (TrackingSummaryToJson).
Document TrackingDocument(const core::TrackingState& state);
Result<core::TrackingState> TrackingStateOf(const Document& doc);

// Aggregates: _id of the key columns in order, the key fields again at the top (for
// indexes), the measures, the max measures (dates), `_schemaVersion`.
Document AggregateId(const core::AggregateViewSpec& spec, const std::vector<std::string>& key);
// The update (upsert) that adds `delta`: $inc of the non-zero measures, $max of the added
// maxima, $setOnInsert of the key fields and the version. Null when it would change
// nothing.
Document AggregateUpdate(const core::AggregateViewSpec& spec, const core::AggregateDelta& delta);
// Fields derived from an aggregate's key, set on insert, for the queries: mv_daily_metrics
// keeps the ISO week ("isoWeek": "2026-W45") and month ("month": "2026-11") of its day,
// which GET /v1/metrics/daily groups by.
Document DerivedFields(const core::AggregateViewSpec& spec, const std::vector<std::string>& key);
// A whole row: key and measures (an insert of a rebuild's first contribution).
struct AggregateValues {
  std::vector<std::string> key;
  std::vector<std::int64_t> measures;               // spec order; absent fields are 0
  std::vector<std::optional<std::int64_t>> maxima;  // epoch ms
  int schema_version = 0;
};
Result<AggregateValues> AggregateValuesOf(const core::AggregateViewSpec& spec, const Document& doc);

// An order-independent digest of a stored document's content, by view: equal for the
// same row whatever the order of its fields (a reconciliation compares a shadow built by
// inserts with live rows built by many updates).
Result<std::string> CanonicalContent(const std::string& view, const core::AggregateViewSpec* spec,
                                     const Document& doc);

}  // namespace mv::mongo
