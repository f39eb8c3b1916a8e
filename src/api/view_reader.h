#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/aggregate_view.h"
#include "core/change_event.h"
#include "core/domain.h"

// What the HTTP API reads, whatever backend holds the views: the queries of DESIGN.md
// section 8 and the positions of their pages.
namespace mv::api {

// Filters of GET /v1/shipments. Empty strings and nullopt mean "any".
struct ShipmentFilter {
  std::optional<core::ShipmentStatus> status;
  std::string carrier_id;
  std::string customer_id;
  std::optional<core::SlaStatus> sla_status;
  std::optional<Timestamp> created_from;  // inclusive
  std::optional<Timestamp> created_to;    // exclusive
  std::string reference_prefix;           // `q`
};

// Position after the last row of a page: rows are ordered newest first by
// (createdAt, id) descending.
struct ListPosition {
  Timestamp created_at{};
  std::string id;
};

struct ShipmentPage {
  std::vector<std::string> rows;  // stored rows (core::EncodeRow), in order
  std::optional<ListPosition> next;
};

struct AggregateRow {
  std::vector<std::string> key;
  std::vector<std::int64_t> measures;  // in the view spec's measure_columns order
  int schema_version = 0;
};

// GET /v1/metrics/daily: sums of mv_daily_metrics over a range of days, grouped by some
// of its dimensions.
struct DailyMetricsQuery {
  std::string from_day;  // "YYYY-MM-DD", inclusive
  std::string to_day;    // inclusive
  // The period "day" groups by: the day itself ("2026-11-01"), its ISO week
  // ("2026-W45") or its month ("2026-11").
  enum class Interval { kDay, kWeek, kMonth } interval = Interval::kDay;
  // Key columns of mv_daily_metrics other than org ("day", "carrier_id", ...), in the
  // order rows are grouped and sorted by; empty: one row of totals.
  std::vector<std::string> group_by;
  size_t max_rows = 10000;
};

// Ok when every column of `group_by` is a dimension of mv_daily_metrics (`spec`), other
// than org, named once; InvalidArgument naming the first that is not.
inline Status CheckDailyMetricsGroupBy(const core::AggregateViewSpec& spec,
                                       const std::vector<std::string>& group_by) {
  for (size_t i = 0; i < group_by.size(); ++i) {
    const std::string& column = group_by[i];
    const auto& keys = spec.key_columns;
    bool dimension = column != "org" && std::find(keys.begin(), keys.end(), column) != keys.end();
    bool repeated = std::find(group_by.begin(), group_by.begin() + static_cast<std::ptrdiff_t>(i),
                              column) != group_by.begin() + static_cast<std::ptrdiff_t>(i);
    if (!dimension || repeated) {
      return Status::InvalidArgument("daily metrics cannot be grouped by '" + column + "'");
    }
  }
  return Status::Ok();
}

struct DailyMetricsRow {
  std::vector<std::string> key;  // values of group_by, in order (the day as its period)
  std::int64_t shipments = 0;
  std::int64_t weight_kg_micro = 0;
  std::int64_t declared_value_micro = 0;
};

struct DailyMetricsResult {
  std::vector<DailyMetricsRow> rows;  // at most max_rows
  bool truncated = false;             // more than max_rows groups matched
};

// GET /v1/carriers/performance: mv_carrier_performance rows of a range of ISO weeks.
struct CarrierPerformanceQuery {
  std::string from_week;   // "YYYY-Www", inclusive
  std::string to_week;     // inclusive
  std::string carrier_id;  // empty: every carrier
};

// GET /v1/customers/summary: one page of mv_customer_summary. `sort_column` is one of
// customer_id, shipments, open, delivered, exceptions, declared_value_micro,
// last_shipment_at; ties are broken by customer_id in the same direction.
struct CustomerSummaryQuery {
  std::string sort_column = "shipments";
  bool descending = true;
  std::string customer_id;  // empty: every customer
  size_t limit = 50;
};

// Position after the last row of a customer summary page: its sort value (0 when sorted
// by customer_id) and customer id.
struct CustomerPosition {
  std::int64_t value = 0;
  std::string customer_id;
};

struct CustomerSummaryRow {
  std::string customer_id;
  std::int64_t shipments = 0;
  std::int64_t open = 0;
  std::int64_t delivered = 0;
  std::int64_t exceptions = 0;
  std::int64_t declared_value_micro = 0;
  std::optional<std::int64_t> last_shipment_at;  // epoch ms
  int schema_version = 0;
};

struct CustomerPage {
  std::vector<CustomerSummaryRow> rows;
  std::optional<CustomerPosition> next;
};

// GET /v1/exceptions. Empty / nullopt means "any".
struct ExceptionFilter {
  std::optional<int> urgency;  // 1 breached, 2 exception, 3 at_risk
  std::string carrier_id;
};

// Position in the exception queue, whose order is (urgency, promised_sort,
// status_changed_at, id) ascending.
struct ExceptionPosition {
  std::int64_t urgency = 0;
  std::int64_t promised_sort = 0;  // promised delivery in epoch ms; INT64_MAX: none
  std::int64_t status_changed_at = 0;
  std::string id;
};

struct ExceptionItem {
  std::string row;  // the stored mv_shipment_list row (core::EncodeRow)
  int urgency = 0;
  std::string reason;
};

struct ExceptionPage {
  std::vector<ExceptionItem> items;
  std::optional<ExceptionPosition> next;
};

// Every answer comes with the change token the views had applied when it was read:
// the query and the token are read in one snapshot.
template <typename T>
struct AtToken {
  T value;
  core::ChangeToken token = 0;
};

// The read side of a view store. Every call is scoped to one org: callers pass the org
// their caller is authorized for (http::ResolveOrg), and an implementation never returns
// rows of another. Each answer and its token are read in one snapshot. Thread-safe.
class ViewReader {
 public:
  virtual ~ViewReader() = default;

  virtual Result<AtToken<ShipmentPage>> ListShipments(const std::string& org,
                                                      const ShipmentFilter& filter, size_t limit,
                                                      const std::optional<ListPosition>& after) = 0;
  // The stored row (core::EncodeRow), if there is one.
  virtual Result<AtToken<std::optional<std::string>>> GetShipment(const std::string& org,
                                                                  const std::string& id) = 0;
  // The rows of an aggregate view for `org`, ordered by key.
  virtual Result<AtToken<std::vector<AggregateRow>>> AggregateRows(const std::string& view,
                                                                   const std::string& org) = 0;
  // InvalidArgument for a group_by column that is not a dimension of the view.
  virtual Result<AtToken<DailyMetricsResult>> DailyMetrics(const std::string& org,
                                                           const DailyMetricsQuery& query) = 0;
  // Rows keyed (carrier_id, week), ordered by them; measures as the view's spec names
  // them, in spec order.
  virtual Result<AtToken<std::vector<AggregateRow>>> CarrierPerformance(
      const std::string& org, const CarrierPerformanceQuery& query) = 0;
  // InvalidArgument for an unknown sort column.
  virtual Result<AtToken<CustomerPage>> CustomerSummary(
      const std::string& org, const CustomerSummaryQuery& query,
      const std::optional<CustomerPosition>& after) = 0;
  // The queue in its order, each entry with its shipment's stored row.
  virtual Result<AtToken<ExceptionPage>> Exceptions(
      const std::string& org, const ExceptionFilter& filter, size_t limit,
      const std::optional<ExceptionPosition>& after) = 0;
  // The token of the last change the views have applied, as stored with them (the
  // checkpoint): what another process's `minToken` waits on.
  virtual Result<core::ChangeToken> AppliedToken() = 0;
};

}  // namespace mv::api
