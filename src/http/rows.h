#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/view_reader.h"
#include "base/result.h"
#include "core/shipment_row.h"
#include "http/json_writer.h"
#include "http/names.h"

namespace mv::http {

// View rows as the API answers them (DESIGN.md section 8). Thread-compatible.

// Writes a shipment item (list, /v1/shipments/{id}, exception items) of a stored row: the
// fields of core::RowToJson without the internal `_document`, plus "customerName",
// "carrierName" and "serviceLevel" (null when unknown) and, for an exception item, its
// "reason" and "urgency".
void WriteShipmentItem(JsonWriter& w, const core::ShipmentRow& row, Names& names,
                       const api::ExceptionItem* exception = nullptr);

// A /v1/metrics/daily row: `fields` are the API names of the row's key values, in order;
// weights and values in units (not fixed point).
void WriteDailyMetricsRow(JsonWriter& w, const std::vector<std::string>& fields,
                          const api::DailyMetricsRow& row);

// A /v1/carriers/performance row from an mv_carrier_performance row keyed
// (carrier_id, week) with the view's measures in spec order; `buckets` is scratch.
void WriteCarrierPerformanceRow(JsonWriter& w, const api::AggregateRow& row, Names& names,
                                std::vector<std::int64_t>& buckets);

// The /v1/ops/realtime body (also each event of /v1/ops/realtime/stream) of `org`, from its
// mv_realtime_ops rows (none: all zero).
void WriteRealtimeBoard(JsonWriter& w, const std::string& org,
                        const std::vector<api::AggregateRow>& rows);

// A /v1/customers/summary item.
void WriteCustomerSummaryItem(JsonWriter& w, const api::CustomerSummaryRow& row, Names& names);

}  // namespace mv::http
