#pragma once

#include <atomic>
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
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// The embedded source database, `source.db`: the collections `shipments`,
// `tracking_events`, `customers`, `carriers`, and the `oplog`. Every write and its oplog
// entry commit in ONE transaction, so the oplog is exactly the sequence of committed
// changes; a change token is an oplog sequence number.
//
// Thread-safe. Writes are serialized on one connection; change sources and snapshot
// readers open their own connections.
class SourceStore final : public core::SourceReader, public core::LookupReader {
 public:
  struct Options {
    Millis oplog_retention = std::chrono::hours(24);
  };

  static Result<std::unique_ptr<SourceStore>> Open(const std::string& path, const Clock* clock,
                                                   const Options& options);

  // Upserts shipments of `org`, all or nothing. When a document does not give
  // statusChangedAt, it is the write time if the status changed, else the stored value.
  // Returns the token of the last oplog entry written.
  Result<core::ChangeToken> UpsertShipments(const std::string& org,
                                            const std::vector<core::Shipment>& shipments);
  // NotFound when the shipment does not exist.
  Result<core::ChangeToken> DeleteShipment(const std::string& org, const std::string& id);
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
  // Total duplicates ignored by this process (for metrics).
  std::int64_t duplicate_tracking_events() const { return duplicate_tracking_events_.load(); }
  Result<core::ChangeToken> PutCustomer(const std::string& org, const core::Customer& customer);
  Result<core::ChangeToken> PutCarrier(const std::string& org, const core::Carrier& carrier);

  Result<std::optional<core::Shipment>> GetShipment(const std::string& org, const std::string& id);
  Result<std::optional<core::Customer>> GetCustomer(const std::string& org,
                                                    const std::string& id) override;
  Result<std::optional<core::Carrier>> GetCarrier(const std::string& org,
                                                  const std::string& id) override;

  // Deletes oplog entries older than the retention window; returns how many went.
  Result<std::int64_t> PruneOplog();
  // Deletes oplog entries with token <= `token` (operators and tests).
  Result<std::int64_t> PruneOplogThrough(core::ChangeToken token);
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

  const std::string& path() const { return path_; }

 private:
  SourceStore(std::string path, const Clock* clock, Options options,
              std::unique_ptr<Database> writer);
  Result<core::ChangeToken> AppendOplog(core::Operation op, core::Collection collection,
                                        const std::string& org, const std::string& id,
                                        const std::string* doc, Timestamp now);
  Result<core::ChangeToken> PutDocument(core::Collection collection, const std::string& org,
                                        const std::string& id, const std::string& doc);

  const std::string path_;
  const Clock* clock_;
  const Options options_;
  std::mutex write_mu_;
  std::unique_ptr<Database> writer_;  // guarded by write_mu_
  Watermark committed_;
  std::atomic<std::int64_t> duplicate_tracking_events_{0};
};

// Reads the token of the newest committed change and the pruned-through mark.
Result<core::ChangeToken> ReadLatestToken(Database& db);

}  // namespace mv::storage::sqlite
