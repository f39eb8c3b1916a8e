#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
class SourceStore final : public core::SourceReader, public core::LookupReader {
 public:
  struct Options {
    Millis oplog_retention = std::chrono::hours(24);
  };

  static Result<std::unique_ptr<SourceStore>> Open(const std::string& path, const Clock* clock,
                                                   const Options& options);

  // The writes come in two forms: a synchronous one, and an asynchronous one whose `done`
  // is called on the store's committer thread once the write committed or failed (it must
  // be quick: hand the answer to another thread). Concurrent writes share a commit.
  using TokenDone = std::function<void(Result<core::ChangeToken>)>;

  // Upserts shipments of `org`, all or nothing. When a document does not give
  // statusChangedAt, it is the write time if the status changed, else the stored value.
  // Returns the token of the last oplog entry written.
  Result<core::ChangeToken> UpsertShipments(const std::string& org,
                                            const std::vector<core::Shipment>& shipments);
  void UpsertShipmentsAsync(std::string org, std::vector<core::Shipment> shipments, TokenDone done);
  // NotFound when the shipment does not exist.
  Result<core::ChangeToken> DeleteShipment(const std::string& org, const std::string& id);
  void DeleteShipmentAsync(std::string org, std::string id, TokenDone done);
  // The outcome of a tracking-event write.
  struct TrackingWrite {
    core::ChangeToken token = 0;  // of the last oplog entry written; the latest token when
                                  // every event was a duplicate
    std::int64_t inserted = 0;
    std::int64_t duplicates = 0;  // already stored (same org, carrierId, eventId), or
                                  // repeated within `events`; ignored, first one wins
  };
  // Stores tracking events of `org`, all or nothing, one oplog entry per new event.
  // Events for shipments that do not exist (yet) are stored all the same.
  Result<TrackingWrite> InsertTrackingEvents(const std::string& org,
                                             const std::vector<core::TrackingEvent>& events);
  void InsertTrackingEventsAsync(std::string org, std::vector<core::TrackingEvent> events,
                                 std::function<void(Result<TrackingWrite>)> done);
  // Total duplicates ignored by this process (for metrics).
  std::int64_t duplicate_tracking_events() const { return duplicate_tracking_events_.load(); }
  // Writes and the transactions that committed them (group commit), for metrics.
  std::int64_t writes() const { return writes_.writes(); }
  std::int64_t write_transactions() const { return writes_.transactions(); }
  Result<core::ChangeToken> PutCustomer(const std::string& org, const core::Customer& customer);
  Result<core::ChangeToken> PutCarrier(const std::string& org, const core::Carrier& carrier);
  void PutCustomerAsync(std::string org, const core::Customer& customer, TokenDone done);
  void PutCarrierAsync(std::string org, const core::Carrier& carrier, TokenDone done);

  Result<std::optional<core::Shipment>> GetShipment(const std::string& org, const std::string& id);
  Result<std::optional<core::Customer>> GetCustomer(const std::string& org,
                                                    const std::string& id) override;
  Result<std::optional<core::Carrier>> GetCarrier(const std::string& org,
                                                  const std::string& id) override;

  // Deletes oplog entries older than the retention window; returns how many went.
  Result<std::int64_t> PruneOplog();
  // Deletes oplog entries with token <= `token` (operators and tests).
  Result<std::int64_t> PruneOplogThrough(core::ChangeToken token);
  // Appends a change carrying the document's current state (a replace, or a delete when it
  // is gone) without changing it, so the stream applies it again: the retry of a dead
  // letter. A tracking event's id is "carrierId/eventId". Returns the change's token.
  Result<core::ChangeToken> Reemit(core::Collection collection, const std::string& org,
                                   const std::string& id);
  // Deletes the tracking events of at most `limit` shipments that do not exist and whose
  // newest event occurred before `cutoff` (orphans: the shipment never arrived), in one
  // transaction; returns those shipments' keys, in key order. No oplog entry is written:
  // the caller drops their summaries from the views (ViewBatch::tracking_deletes).
  Result<std::vector<core::ShipmentKey>> PurgeOrphanTracking(Timestamp cutoff, size_t limit);
  // The highest token no longer retained (0 when nothing was pruned).
  Result<core::ChangeToken> PrunedThrough();

  // Per org, the wall time of the oldest change after `after` (for staleness metrics).
  Result<std::map<std::string, Timestamp>> OldestChangeByOrgAfter(core::ChangeToken after);

  // The newest committed token, and a way to wait for a newer one.
  const Watermark& committed() const { return committed_; }

  // A change stream over the oplog with its own connection.
  Result<std::unique_ptr<core::ChangeSource>> NewChangeSource();

  Result<core::ChangeToken> ScanShipments(
      const std::optional<std::string>& org,
      const std::function<Status(const core::SourceShipment&)>& fn) override;
  Result<std::int64_t> CountShipments(const std::optional<std::string>& org) override;

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
