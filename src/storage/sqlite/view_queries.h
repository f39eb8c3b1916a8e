#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "core/change_event.h"
#include "core/domain.h"
#include "storage/sqlite/sqlite_db.h"

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
  std::vector<std::string> rows;  // stored row JSON, in order
  std::optional<ListPosition> next;
};

struct AggregateRow {
  std::vector<std::string> key;
  std::vector<std::pair<std::string, std::int64_t>> measures;
  int schema_version = 0;
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
  Result<AtToken<std::optional<std::string>>> GetShipment(const std::string& org,
                                                          const std::string& id);
  // The rows of an aggregate view for `org`, ordered by key.
  Result<AtToken<std::vector<AggregateRow>>> AggregateRows(const std::string& view,
                                                           const std::string& org);
  Result<core::ChangeToken> AppliedToken();
  Database& db() { return *db_; }

 private:
  explicit ViewQueries(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  Result<std::string> TableOf(const std::string& view);

  std::unique_ptr<Database> db_;
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
