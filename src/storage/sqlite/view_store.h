#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/clock.h"
#include "base/watermark.h"
#include "core/interfaces.h"
#include "core/state_cache.h"
#include "core/view_set.h"
#include "storage/sqlite/id_dictionary.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/view_schema.h"

namespace mv::storage::sqlite {

// The embedded view store, `views.db` (layout: view_schema.h): one physical table per
// view and version (named by the catalog `mv_catalog`: the live one, and for blue/green
// the next version built beside it or the retired ones kept for a rollback, all
// maintained with every batch), the checkpoint, the dead letters. Implements
// the worker's side; readers use ViewQueries on their own connections.
//
// Not thread-safe: owned by the one worker thread. `applied()` may be read and waited on
// from any thread. WAL checkpoints run on the store's own background thread, off the
// worker's commit path. Stored projections are remembered in their encoded form
// (bounded), so that `before` rarely costs a read, and an update writes only the
// columns, and so the indexes, that changed.
class SqliteViewStore final : public core::ViewStore {
 public:
  ~SqliteViewStore() override;

  // Opens (creating when new) views.db and its catalog; drops shadow tables left behind
  // by an interrupted rebuild. Views stored by another definition version (an older
  // release) are dropped and start over empty, with RebuildRequired().
  struct Options {
    // The worker connection's page cache. Pages it misses are read from the OS page
    // cache (docs/benchmarks.md, "The stream at size").
    int cache_mib = 64;
  };
  static Result<std::unique_ptr<SqliteViewStore>> Open(const std::string& path,
                                                       const core::ViewSet* views,
                                                       const Clock* clock, const Options& options);
  static Result<std::unique_ptr<SqliteViewStore>> Open(const std::string& path,
                                                       const core::ViewSet* views,
                                                       const Clock* clock) {
    return Open(path, views, clock, Options{});
  }

  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& key) override;
  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& key) override;
  Result<core::ChangeToken> Checkpoint() override;
  Status Apply(const core::ViewBatch& batch) override;
  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override;
  using core::ViewStore::BeginRebuild;
  // The shadow of a scope of one org is created with its indexes (it is small, and its
  // SLA ticks need them); a shadow of every org gets them when it is committed.
  Result<std::unique_ptr<core::ViewRebuild>> BeginRebuild(const core::ViewScope& scope) override;
  bool RebuildRequired() override { return fresh_; }
  std::vector<core::ShipmentKey> TakeUnreadableRows() override;
  Result<std::vector<core::StoredVersion>> Versions() override;
  std::vector<std::string> VersionsToBuild() override;
  Status MarkValidated(const std::string& view) override;
  Status SwitchVersion(const std::string& view) override;
  Status RollbackVersion(const std::string& view) override;
  Result<int> DropRetired(const std::optional<std::string>& view,
                          std::optional<Timestamp> retired_before) override;
  Status DropSideVersions() override;

  // The checkpoint as of the last commit of this process; waitable (read-your-writes).
  const Watermark& applied() const { return applied_; }
  Watermark& applied() { return applied_; }

  const PhysicalTables& tables() const { return tables_; }
  Database& db() { return *db_; }

 private:
  friend class SqliteViewRebuild;
  SqliteViewStore(std::unique_ptr<Database> db, const core::ViewSet* views, const Clock* clock)
      : db_(std::move(db)), views_(views), clock_(clock), ids_(db_.get()) {}
  Status LoadCatalog();
  // True when this build defines `version` of `view` (the newest or the previous one).
  bool Defines(const std::string& view, int version) const;
  // Deletes the catalog rows and drops their tables, inside the caller's transaction.
  Status DropCatalogRows(const std::vector<core::StoredVersion>& rows);
  Status ReloadSideVersions();
  // The stored version of `view` in `state` beside the live one (the most recently
  // retired one for kRetired), or null.
  const core::StoredVersion* FindSide(const std::string& view, core::VersionState state) const;
  // Atomically makes `next` the live version of its view and retires the live one.
  Status MakeLive(const core::StoredVersion& next);
  // Applies `batch`'s deltas of definition `version` of `view` to `table`.
  Status WriteVersionDeltas(const std::string& view, int version, const std::string& table,
                            const std::string& list_table, const core::ViewBatch& batch);
  void CheckpointLoop(std::unique_ptr<Database> db);
  // The WAL size past which the checkpointer truncates it (see CheckpointLoop).
  static constexpr std::int64_t kWalTruncateBytes = 64 << 20;
  // How list rows are written: plain inserts (a shadow filled from a snapshot), upserts
  // (a shadow catching up), or, for the live views, updates of the changed columns of the
  // rows the cache knows to be stored and upserts of the rest.
  enum class ListWrite { kInsert, kUpsert, kUpdateKnown };
  // Writes `batch`'s view changes into `tables` inside the caller's transaction; the
  // encoded rows written go to `encoded` (for the row cache once committed).
  Status WriteViewChanges(const PhysicalTables& tables, const core::ViewBatch& batch,
                          ListWrite mode, std::vector<std::string>* encoded);
  Status UpsertListRows(const std::string& table, const std::vector<core::ShipmentRow>& rows,
                        ListWrite mode, std::vector<std::string>* encoded);
  // The stored blob of `key` in `table` (list rows or tracking summaries), if any.
  Result<std::optional<std::string>> ReadStateBlob(const std::string& table, const char* id_column,
                                                   const char* blob_column,
                                                   const core::ShipmentKey& key);
  // Rows of list table `table` due for an SLA change; the live views remember them.
  Result<std::vector<core::ShipmentRow>> ReadDue(const std::string& table, Timestamp now,
                                                 size_t limit, bool remember);
  // A row that cannot be decoded is logged, remembered for TakeUnreadableRows and taken
  // for absent: the engine then re-derives it from the source.
  void Unreadable(const core::ShipmentKey& key, const char* what, const Status& why);
  Status ApplyAggregateDeltas(const core::AggregateViewSpec& spec, const std::string& table,
                              const std::string& list_table,
                              const std::vector<core::AggregateDelta>& deltas);
  void RememberCommitted(const core::ViewBatch& batch, std::vector<std::string>& encoded);

  std::unique_ptr<Database> db_;
  const core::ViewSet* views_;
  const Clock* clock_;
  IdDictionary ids_;
  PhysicalTables tables_;
  // The stored versions beside the live ones (built next versions and retired ones), all
  // maintained by Apply with the live views.
  std::vector<core::StoredVersion> side_;
  std::int64_t generation_ = 0;
  bool fresh_ = false;  // the views were created empty by this Open and applied nothing yet
  Watermark applied_;
  std::vector<core::ShipmentKey> unreadable_;

  // Committed projections and tracking summaries, encoded; nullopt: known to be absent.
  static constexpr size_t kCacheGeneration = 50000;
  core::StateCache rows_{kCacheGeneration};
  core::StateCache tracking_{kCacheGeneration};

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool stopping_ = false;  // guarded by checkpoint_mu_
  std::thread checkpointer_;
};

}  // namespace mv::storage::sqlite
