#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "api/key_store.h"
#include "api/operator_stores.h"
#include "api/view_reader.h"
#include "base/clock.h"
#include "core/view_set.h"
#include "mongo/view_database.h"
#include "mongo/view_layout.h"

namespace mv::mongo {

// The read side of the MongoDB views (layout: view_layout.h), for the HTTP API of any
// process: each answer and its token are read in one snapshot (a read-only transaction),
// from the live physical collections the catalog names. The catalog is remembered and read
// again when its epoch, read in the same snapshot, has moved. The checkpoint an answer
// carries is the lowest of the stream partitions' (every partition has applied it; of the
// layout of stream.partitions written last).
// Thread-safe.
class MongoViewReader final : public api::ViewReader, public api::DeadLetters, public api::Catalog {
 public:
  MongoViewReader(ViewDatabase* db, const core::ViewSet* views) : db_(db), views_(views) {}

  Result<api::AtToken<api::ShipmentPage>> ListShipments(
      const std::string& org, const api::ShipmentFilter& filter, size_t limit,
      const std::optional<api::ListPosition>& after) override;
  Result<api::AtToken<std::optional<std::string>>> GetShipment(const std::string& org,
                                                               const std::string& id) override;
  Result<api::AtToken<std::vector<api::AggregateRow>>> AggregateRows(
      const std::string& view, const std::string& org) override;
  Result<api::AtToken<api::DailyMetricsResult>> DailyMetrics(
      const std::string& org, const api::DailyMetricsQuery& query) override;
  Result<api::AtToken<std::vector<api::AggregateRow>>> CarrierPerformance(
      const std::string& org, const api::CarrierPerformanceQuery& query) override;
  Result<api::AtToken<api::CustomerPage>> CustomerSummary(
      const std::string& org, const api::CustomerSummaryQuery& query,
      const std::optional<api::CustomerPosition>& after) override;
  Result<api::AtToken<api::ExceptionPage>> Exceptions(
      const std::string& org, const api::ExceptionFilter& filter, size_t limit,
      const std::optional<api::ExceptionPosition>& after) override;
  Result<core::ChangeToken> AppliedToken() override;

  // api::DeadLetters
  Result<std::vector<api::StoredDeadLetter>> List(size_t limit) override;
  Result<std::int64_t> Count() override;
  Result<std::optional<api::StoredDeadLetter>> Get(std::int64_t id) override;
  Status Remove(std::int64_t id) override;

  // api::Catalog
  Result<std::vector<api::CatalogEntry>> Entries() override;
  Result<std::vector<core::StoredVersion>> Versions() override;

 private:
  // Runs `fn` in one snapshot with the live collections as of that snapshot and the
  // checkpoint read in it.
  using Body = std::function<Status(ViewDatabase::SnapshotReads&, const LiveCollections&)>;
  Result<core::ChangeToken> InSnapshot(const Body& fn);
  const core::AggregateViewSpec* LiveSpec(const LiveCollections& live,
                                          const std::string& view) const;

  ViewDatabase* db_;
  const core::ViewSet* views_;
  std::mutex mu_;
  std::int64_t epoch_ = -1;  // guarded by mu_
  LiveCollections live_;     // guarded by mu_
};

// API keys in mv_api_keys (only a hash of each key is stored), for every process that
// serves the API over the MongoDB views. Thread-safe.
class MongoKeyStore final : public api::KeyStore {
 public:
  MongoKeyStore(ViewDatabase* db, const Clock* clock) : db_(db), clock_(clock) {}
  // Creates the collection's index (idempotent).
  Status Prepare();

  Result<Created> CreateKey(const api::Principal& principal, const std::string& name) override;
  Result<api::Principal> Authenticate(const std::string& key) override;
  Result<std::vector<api::ApiKeyInfo>> List() override;
  Status Revoke(const std::string& id) override;

 private:
  ViewDatabase* db_;
  const Clock* clock_;
};

}  // namespace mv::mongo
