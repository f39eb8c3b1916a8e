#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/clock.h"
#include "base/watermark.h"
#include "core/interfaces.h"
#include "core/view_set.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// Physical table names of the live views, as the catalog records them.
struct PhysicalTables {
  std::string shipment_list;
  std::string exception_queue;
  std::string tracking_state;
  std::map<std::string, std::string> aggregates;  // view name -> table

  // Every (catalog name, table) pair.
  std::vector<std::pair<std::string, std::string>> All() const;
};

// A bounded, approximately least-recently-used map: hits in the cold generation move to
// the hot one; when the hot generation is full it becomes the cold one. Not thread-safe.
template <typename V>
class TwoGenerationCache {
 public:
  explicit TwoGenerationCache(size_t generation_size) : generation_size_(generation_size) {}

  const V* Find(const std::string& key) {
    if (auto it = hot_.find(key); it != hot_.end()) return &it->second;
    auto it = cold_.find(key);
    if (it == cold_.end()) return nullptr;
    auto node = cold_.extract(it);
    MakeRoom(node.key());
    return &hot_.insert(std::move(node)).position->second;
  }
  void Put(std::string key, V value) {
    cold_.erase(key);
    MakeRoom(key);
    hot_.insert_or_assign(std::move(key), std::move(value));
  }
  void Erase(const std::string& key) {
    hot_.erase(key);
    cold_.erase(key);
  }
  void Clear() {
    hot_.clear();
    cold_.clear();
  }

 private:
  void MakeRoom(const std::string& key) {
    if (hot_.size() >= generation_size_ && !hot_.count(key)) {
      cold_ = std::move(hot_);
      hot_.clear();
    }
  }
  size_t generation_size_;
  std::unordered_map<std::string, V> hot_, cold_;
};

// The embedded view store, `views.db`: one physical table per view (named by the catalog
// `mv_catalog`), the checkpoint, the dead letters. Implements the worker's side; readers
// use ViewQueries on their own connections.
//
// Not thread-safe: owned by the one worker thread. `applied()` may be read and waited on
// from any thread. WAL checkpoints run on the store's own background thread, off the
// worker's commit path. Stored projections are remembered (bounded) so that `before`
// rarely costs a read and a JSON parse.
class SqliteViewStore final : public core::ViewStore {
 public:
  ~SqliteViewStore() override;

  // Opens (creating when new) views.db and its catalog; drops shadow tables left behind
  // by an interrupted rebuild. FailedPrecondition-like InvalidArgument when the stored
  // views were built by a different definition version.
  static Result<std::unique_ptr<SqliteViewStore>> Open(const std::string& path,
                                                       const core::ViewSet* views,
                                                       const Clock* clock);

  Result<std::optional<core::ShipmentRow>> FindShipmentRow(const core::ShipmentKey& key) override;
  Result<std::optional<core::TrackingSummary>> FindTrackingSummary(
      const core::ShipmentKey& key) override;
  Result<core::ChangeToken> Checkpoint() override;
  Status Apply(const core::ViewBatch& batch) override;
  Result<std::vector<core::ShipmentRow>> DueForSlaChange(Timestamp now, size_t limit) override;
  Result<std::unique_ptr<core::ViewRebuild>> BeginRebuild() override;

  // The checkpoint as of the last commit of this process; waitable (read-your-writes).
  const Watermark& applied() const { return applied_; }
  Watermark& applied() { return applied_; }

  const PhysicalTables& tables() const { return tables_; }
  Database& db() { return *db_; }

 private:
  friend class SqliteViewRebuild;
  SqliteViewStore(std::unique_ptr<Database> db, const core::ViewSet* views, const Clock* clock)
      : db_(std::move(db)), views_(views), clock_(clock) {}
  Status LoadCatalog();
  void CheckpointLoop(std::unique_ptr<Database> db);
  void RememberCommitted(const core::ViewBatch& batch);

  std::unique_ptr<Database> db_;
  const core::ViewSet* views_;
  const Clock* clock_;
  PhysicalTables tables_;
  std::int64_t generation_ = 0;
  Watermark applied_;

  // Committed projections and tracking summaries (absent ones too), as stored.
  static constexpr size_t kCacheGeneration = 50000;
  TwoGenerationCache<core::ShipmentRow> rows_{kCacheGeneration};
  TwoGenerationCache<std::optional<core::TrackingSummary>> tracking_{kCacheGeneration};

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool stopping_ = false;  // guarded by checkpoint_mu_
  std::thread checkpointer_;
};

// Writes `batch`'s view changes into `tables` (inside the caller's transaction).
Status WriteViewChanges(Database& db, const core::ViewSet& views, const PhysicalTables& tables,
                        const core::ViewBatch& batch);

// Reads the catalog. NotFound when the catalog is empty.
Result<PhysicalTables> ReadCatalog(Database& db);

// Rows of a table ordered by its key, one line each; for tests and reconciliation.
Result<std::string> DumpTable(Database& db, const std::string& table);

}  // namespace mv::storage::sqlite
