#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/view_reader.h"
#include "base/clock.h"
#include "base/result.h"
#include "core/change_event.h"
#include "core/domain.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/view_schema.h"

namespace mv::storage::sqlite {

using api::AggregateRow;
using api::AtToken;
using api::CarrierPerformanceQuery;
using api::CustomerPage;
using api::CustomerPosition;
using api::CustomerSummaryQuery;
using api::CustomerSummaryRow;
using api::DailyMetricsQuery;
using api::DailyMetricsResult;
using api::DailyMetricsRow;
using api::ExceptionFilter;
using api::ExceptionItem;
using api::ExceptionPage;
using api::ExceptionPosition;
using api::ListPosition;
using api::ShipmentFilter;
using api::ShipmentPage;

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

// The embedded backend's api::ViewReader: a pool of ViewQueries connections shared by
// request threads, each call on a connection of its own. Thread-safe.
class ViewQueryPool final : public api::ViewReader {
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

  Result<AtToken<ShipmentPage>> ListShipments(const std::string& org, const ShipmentFilter& filter,
                                              size_t limit,
                                              const std::optional<ListPosition>& after) override;
  Result<AtToken<std::optional<std::string>>> GetShipment(const std::string& org,
                                                          const std::string& id) override;
  Result<AtToken<std::vector<AggregateRow>>> AggregateRows(const std::string& view,
                                                           const std::string& org) override;
  Result<AtToken<DailyMetricsResult>> DailyMetrics(const std::string& org,
                                                   const DailyMetricsQuery& query) override;
  Result<AtToken<std::vector<AggregateRow>>> CarrierPerformance(
      const std::string& org, const CarrierPerformanceQuery& query) override;
  Result<AtToken<CustomerPage>> CustomerSummary(
      const std::string& org, const CustomerSummaryQuery& query,
      const std::optional<CustomerPosition>& after) override;
  Result<AtToken<ExceptionPage>> Exceptions(const std::string& org, const ExceptionFilter& filter,
                                            size_t limit,
                                            const std::optional<ExceptionPosition>& after) override;
  Result<core::ChangeToken> AppliedToken() override;

 private:
  void Release(std::unique_ptr<ViewQueries> q);
  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<ViewQueries>> idle_;  // guarded by mu_
};

}  // namespace mv::storage::sqlite
