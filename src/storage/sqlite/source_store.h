#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/source.h"
#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "core/domain.h"
#include "core/interfaces.h"
#include "core/tracking.h"
#include "storage/sqlite/group_commit.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// The embedded source database, `source.db`: the collections `shipments`,
// `tracking_events`, `customers`, `carriers`, and the `oplog`. Every write and its oplog
// entry commit in ONE transaction, so the oplog is exactly the sequence of committed
// changes; a change token is an oplog sequence number.
//
// Thread-safe. Writes share transactions on one connection (group commit: concurrent
// writes commit together, each still all or nothing); point reads have a connection of
// their own; change sources and snapshot readers open their own connections.
class SourceStore final : public core::SourceReader,
                          public core::LookupReader,
                          public api::SourceWriter,
                          public api::SourceProgress,
                          public api::SourceMaintenance {
 public:
  struct Options {
    Millis oplog_retention = std::chrono::hours(24);
  };

  static Result<std::unique_ptr<SourceStore>> Open(const std::string& path, const Clock* clock,
                                                   const Options& options);

  // The writes come in two forms: the asynchronous ones of api::SourceWriter, whose `done`
  // is called on the store's committer thread, and synchronous ones (tools and tests).
  Result<core::ChangeToken> UpsertShipments(const std::string& org,
                                            const std::vector<core::Shipment>& shipments);
  void UpsertShipmentsAsync(std::string org, std::vector<core::Shipment> shipments,
                            TokenDone done) override;
  Result<core::ChangeToken> DeleteShipment(const std::string& org, const std::string& id);
  void DeleteShipmentAsync(std::string org, std::string id, TokenDone done) override;
  Result<TrackingWrite> InsertTrackingEvents(const std::string& org,
                                             const std::vector<core::TrackingEvent>& events);
  void InsertTrackingEventsAsync(std::string org, std::vector<core::TrackingEvent> events,
                                 std::function<void(Result<TrackingWrite>)> done) override;
  Counters counters() const override {
    return {writes_.writes(), writes_.transactions(), duplicate_tracking_events_.load()};
  }
  Result<core::ChangeToken> PutCustomer(const std::string& org, const core::Customer& customer);
  Result<core::ChangeToken> PutCarrier(const std::string& org, const core::Carrier& carrier);
  void PutCustomerAsync(std::string org, const core::Customer& customer, TokenDone done) override;
  void PutCarrierAsync(std::string org, const core::Carrier& carrier, TokenDone done) override;

  Result<std::optional<core::Shipment>> GetShipment(const std::string& org, const std::string& id);
  Result<std::optional<core::Customer>> GetCustomer(const std::string& org,
                                                    const std::string& id) override;
  Result<std::optional<core::Carrier>> GetCarrier(const std::string& org,
                                                  const std::string& id) override;

  Result<std::int64_t> PruneOplog() override;
  // Deletes oplog entries with token <= `token` (operators and tests).
  Result<std::int64_t> PruneOplogThrough(core::ChangeToken token);
  Result<core::ChangeToken> Reemit(core::Collection collection, const std::string& org,
                                   const std::string& id) override;
  Result<std::vector<core::ShipmentKey>> PurgeOrphanTracking(Timestamp cutoff,
                                                             size_t limit) override;
  // The highest token no longer retained (0 when nothing was pruned).
  Result<core::ChangeToken> PrunedThrough();

  Result<std::map<std::string, Timestamp>> OldestChangeByOrgAfter(core::ChangeToken after) override;
  const Watermark& committed() const override { return committed_; }
  void Refresh() override;

  // A change stream over the oplog with its own connection.
  Result<std::unique_ptr<core::ChangeSource>> NewChangeSource();

  Result<core::ChangeToken> ScanShipments(
      const std::optional<std::string>& org,
      const std::function<Status(const core::SourceShipment&)>& fn) override;
  Result<std::int64_t> CountShipments(const std::optional<std::string>& org) override;
  Result<std::vector<std::string>> TrackingEventsOf(const std::string& org,
                                                    const std::string& shipment_id) override;

  const std::string& path() const { return path_; }

 private:
  SourceStore(std::string path, const Clock* clock, Options options,
              std::unique_ptr<Database> writer, std::unique_ptr<Database> reader);
  Result<core::ChangeToken> AppendOplog(core::Operation op, core::Collection collection,
                                        const std::string& org, const std::string& id,
                                        const std::string* doc, Timestamp now);
  void PutDocumentAsync(core::Collection collection, std::string org, std::string id,
                        std::string doc, TokenDone done);
  // The bodies of the writes, run on the committer thread inside a shared transaction.
  Status WriteShipments(const std::string& org, const std::vector<core::Shipment>& shipments,
                        core::ChangeToken* last);
  Status WriteTrackingEvents(const std::string& org, const std::vector<core::TrackingEvent>& events,
                             TrackingWrite* out);

  const std::string path_;
  const Clock* clock_;
  const Options options_;
  std::unique_ptr<Database> writer_;  // used only on writes_' committer thread
  GroupCommit writes_;
  std::mutex reader_mu_;
  std::unique_ptr<Database> reader_;  // guarded by reader_mu_
  Watermark committed_;
  std::atomic<std::int64_t> duplicate_tracking_events_{0};
};

// Reads the token of the newest committed change and the pruned-through mark.
Result<core::ChangeToken> ReadLatestToken(Database& db);

}  // namespace mv::storage::sqlite
