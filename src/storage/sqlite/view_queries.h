#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/change_event.h"
#include "core/domain.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/view_schema.h"

namespace mv::storage::sqlite {

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

// Read-only queries over views.db on one connection. Not thread-safe: one per thread
// (see ViewQueryPool). Always scoped to one org: callers pass the org their caller is
// authorized for.
class ViewQueries {
 public:
  static Result<std::unique_ptr<ViewQueries>> Open(const std::string& path);

  Result<AtToken<ShipmentPage>> ListShipments(const std::string& org, const ShipmentFilter& filter,
                                              size_t limit,
                                              const std::optional<ListPosition>& after);
  // The stored row (core::EncodeRow), if there is one.
  Result<AtToken<std::optional<std::string>>> GetShipment(const std::string& org,
                                                          const std::string& id);
  // The rows of an aggregate view for `org`, ordered by key.
  Result<AtToken<std::vector<AggregateRow>>> AggregateRows(const std::string& view,
                                                           const std::string& org);
  // InvalidArgument for a group_by column that is not a dimension of the view.
  Result<AtToken<DailyMetricsResult>> DailyMetrics(const std::string& org,
                                                   const DailyMetricsQuery& query);
  // Rows keyed (carrier_id, week), ordered by them; measures as the view's spec names
  // them, in spec order.
  Result<AtToken<std::vector<AggregateRow>>> CarrierPerformance(
      const std::string& org, const CarrierPerformanceQuery& query);
  // InvalidArgument for an unknown sort column.
  Result<AtToken<CustomerPage>> CustomerSummary(const std::string& org,
                                                const CustomerSummaryQuery& query,
                                                const std::optional<CustomerPosition>& after);
  // The queue in its order, each entry with its shipment's stored row.
  Result<AtToken<ExceptionPage>> Exceptions(const std::string& org, const ExceptionFilter& filter,
                                            size_t limit,
                                            const std::optional<ExceptionPosition>& after);
  Result<core::ChangeToken> AppliedToken();
  Database& db() { return *db_; }

 private:
  explicit ViewQueries(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  // Inside a read transaction: brings the cached catalog up to date with the schema the
  // transaction sees (a rebuild or a version switch changes the live tables, and bumps
  // the catalog epoch).
  Status RefreshCatalog();
  Result<std::string> TableOf(const std::string& view);
  // The IdDictionary code of an id, if it has one (an id without a code has no rows).
  // Codes never change once given, so they are remembered per connection.
  Result<std::optional<std::int64_t>> Code(int kind, const std::string& text);
  // The code, or -1 (which no row has) when the id has none.
  Result<std::int64_t> CodeOrNone(int kind, const std::string& text);

  std::unique_ptr<Database> db_;
  std::int64_t catalog_epoch_ = -1;
  PhysicalTables tables_;
  std::unordered_map<std::string, std::int64_t> codes_;  // kind digit + text -> code
};

// A pool of ViewQueries connections shared by request threads. Thread-safe.
class ViewQueryPool {
 public:
  explicit ViewQueryPool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(ViewQueryPool* pool, std::unique_ptr<ViewQueries> q) : pool_(pool), q_(std::move(q)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (q_) pool_->Release(std::move(q_));
    }
    ViewQueries* operator->() { return q_.get(); }

   private:
    ViewQueryPool* pool_;
    std::unique_ptr<ViewQueries> q_;
  };
  Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<ViewQueries> q);
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ViewQueries>> idle_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
