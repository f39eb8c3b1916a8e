#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/watermark.h"
#include "core/interfaces.h"
#include "core/partition.h"
#include "core/state_cache.h"
#include "core/view_set.h"
#include "mongo/view_database.h"
#include "mongo/view_layout.h"

namespace mv::mongo {

struct MongoViewStoreOptions {
  // The orgs this worker writes (stream.partitions): its checkpoint in mv_checkpoints is
  // the partition's (core::Partition::Id), its SLA ticks and reconciliations see its orgs
  // only, and a rebuild of every org replaces its orgs' documents rather than swapping
  // collections that other partitions write too.
  core::Partition partition;
  // A batch that would take more writes than this is split by the worker (at change
  // boundaries) into transactions of its own; MongoDB transactions must stay well under
  // the server's limits (transactionLifetimeLimitSeconds, 16 MB per command).
  size_t max_writes_per_transaction = 10000;
};

// The MongoDB view store (layout: view_layout.h). Each batch's writes, its dead letters and
// the checkpoint go in ONE transaction (majority write concern). Blue/green versions are
// physical collections named by mv_catalog; the stable names are read-only views on the
// live ones, switched after the catalog. Stored projections are remembered (bounded), so
// that `before` rarely costs a round trip.
//
// Not thread-safe: owned by the one worker thread. `applied()` may be read and waited on
// from any thread.
class MongoViewStore final : public core::ViewStore {
 public:
  // Opens the views in `db`, creating them when new. Views stored by another definition
  // version are dropped and start over empty (RebuildRequired()); physical collections
  // that no catalog entry names (an interrupted rebuild's) are dropped; the stable names
  // are pointed at the live collections again (a switch interrupted after its catalog
  // commit is completed).
  static Result<std::unique_ptr<MongoViewStore>> Open(ViewDatabase* db, const core::ViewSet* views,
                                                      const Clock* clock,
                                                      MongoViewStoreOptions options);
  ~MongoViewStore() override;

  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& key) override;
  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& key) override;
  Result<core::ChangeToken> Checkpoint() override;
  Status Apply(const core::ViewBatch& batch) override;
  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override;
  using core::ViewStore::BeginRebuild;
  Result<std::unique_ptr<core::ViewRebuild>> BeginRebuild(const core::ViewScope& scope) override;
  bool RebuildRequired() override { return fresh_; }
  std::vector<core::ShipmentKey> TakeUnreadableRows() override;
  size_t MaxWritesPerBatch() const override { return options_.max_writes_per_transaction; }
  Result<std::vector<core::StoredVersion>> Versions() override;
  std::vector<std::string> VersionsToBuild() override;
  Status MarkValidated(const std::string& view) override;
  Status SwitchVersion(const std::string& view) override;
  Status RollbackVersion(const std::string& view) override;
  Result<int> DropRetired(const std::optional<std::string>& view,
                          std::optional<Timestamp> retired_before) override;
  Status DropSideVersions() override;

  // A write added to every transaction of this store, which must match one document, or
  // the transaction is aborted with Conflict: the lease of a partitioned worker, so that a
  // worker that lost its lease writes nothing more. Null: none.
  using Fence = std::function<std::optional<ViewDatabase::Write>()>;
  void SetFence(Fence fence) { fence_ = std::move(fence); }

  // The checkpoint as of the last commit of this process; waitable.
  const Watermark& applied() const { return applied_; }
  const LiveCollections& live() const { return live_; }

 private:
  friend class MongoViewRebuild;
  MongoViewStore(ViewDatabase* db, const core::ViewSet* views, const Clock* clock,
                 MongoViewStoreOptions options)
      : db_(db), views_(views), clock_(clock), options_(std::move(options)) {}

  Status LoadCatalog();
  bool Defines(const std::string& view, int version) const;
  // Creates the collections of `generation` (every view, at the definition versions
  // `versions` names, else the newest) and returns them, not yet in the catalog.
  Result<LiveCollections> CreateGeneration(std::int64_t generation,
                                           const std::map<std::string, int>& versions,
                                           bool indexes);
  // Deletes the catalog entries and drops their collections.
  Status DropEntries(const std::vector<core::StoredVersion>& entries);
  Status ReloadSideVersions();
  const core::StoredVersion* FindSide(const std::string& view, core::VersionState state) const;
  Status MakeLive(const core::StoredVersion& next);

  // How list and tracking rows are written: inserts (a shadow filled from a snapshot) or
  // replacing upserts.
  enum class RowWrite { kInsert, kUpsert };
  // The writes of `batch`'s view changes to `target` (views without a collection there
  // are skipped); aggregates at the versions `target` holds.
  Result<std::vector<ViewDatabase::Write>> ViewWrites(const LiveCollections& target,
                                                      const core::ViewBatch& batch, RowWrite mode);
  // The writes of one definition's deltas to `collection`. Maxima a retraction removed
  // are recomputed from `list`'s committed rows and the batch's own list changes.
  Status AggregateWrites(const core::AggregateViewSpec& spec, const std::string& collection,
                         const std::string& list, const core::ViewBatch& batch,
                         const std::vector<core::AggregateDelta>& deltas,
                         std::vector<ViewDatabase::Write>* writes);
  Result<std::optional<std::int64_t>> RecomputeMax(const core::AggregateViewSpec& spec,
                                                   const core::MaxMeasure& max,
                                                   const std::vector<std::string>& key,
                                                   const std::string& list,
                                                   const core::ViewBatch& batch);
  // The deltas of the definition at `version` of `view` in `batch`, or null.
  const std::vector<core::AggregateDelta>* DeltasOf(const core::ViewBatch& batch,
                                                    const std::string& view, int version) const;
  ViewDatabase::Write CheckpointWrite(core::ChangeToken token, Timestamp now) const;
  // The insert of `letters` into mv_dead_letters, numbered from `*next` on.
  void DeadLetterWrites(const std::vector<core::DeadLetter>& letters, Timestamp now,
                        std::int64_t* next, std::vector<ViewDatabase::Write>* writes) const;
  // Runs `writes` with the fence.
  Status Commit(std::vector<ViewDatabase::Write> writes);
  Result<std::optional<Document>> FindById(const std::string& collection, const Document& id);
  Result<std::vector<core::ShipmentRow>> ReadDue(const std::string& collection, Timestamp now,
                                                 size_t limit, bool remember);
  void Unreadable(const core::ShipmentKey& key, const char* what, const Status& why);
  void RememberCommitted(const core::ViewBatch& batch);

  ViewDatabase* db_;
  const core::ViewSet* views_;
  const Clock* clock_;
  const MongoViewStoreOptions options_;
  Fence fence_;
  LiveCollections live_;
  std::vector<core::StoredVersion> side_;  // the versions beside the live ones
  std::int64_t generation_ = 0;
  bool fresh_ = false;
  std::int64_t next_dead_letter_ = 1;
  Watermark applied_;
  std::vector<core::ShipmentKey> unreadable_;
  static constexpr size_t kCacheGeneration = 50000;
  core::StateCache rows_{kCacheGeneration};
  core::StateCache tracking_{kCacheGeneration};
};

}  // namespace mv::mongo
