#include "backend/backend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "base/uri.h"
#include "mongo/change_source.h"
#include "mongo/driver.h"
#include "mongo/lease.h"
#include "mongo/operation_board.h"
#include "mongo/preflight.h"
#include "mongo/progress.h"
#include "mongo/source_reader.h"
#include "mongo/view_driver.h"
#include "mongo/view_reader.h"
#include "mongo/view_store.h"
#include "storage/sqlite/api_key_store.h"
#include "storage/sqlite/catalog_reader.h"
#include "storage/sqlite/dead_letter_store.h"
#include "storage/sqlite/operation_board.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_queries.h"
#include "storage/sqlite/view_store.h"

namespace mv::backend {
namespace {

// ---------------------------------------------------------------------------------------
// The source side: source.db, or the platform's MongoDB deployment.

class SourceSide {
 public:
  virtual ~SourceSide() = default;
  virtual core::SourceReader& snapshots() = 0;
  virtual core::LookupReader& lookups() = 0;
  virtual api::SourceProgress& progress() = 0;
  virtual api::SourceWriter* writer() = 0;
  virtual api::SourceMaintenance* maintenance() = 0;
  virtual storage::sqlite::SourceStore* embedded() { return nullptr; }
};

// The preflight of a MongoDB source; Unavailable (naming the deployment, redacted) when
// it cannot be reached.
Result<mongo::PreflightReport> Preflight(mongo::MongoConnection& connection,
                                         const BackendOptions& options, const Clock* clock) {
  auto replies = mongo::GatherPreflight(connection);
  if (!replies.ok()) {
    return Status::Unavailable(fmt::format(
        "MongoDB source ({}): {}", RedactUri(options.mongodb.uri), replies.status().message()));
  }
  mongo::PreflightOptions o;
  o.database = options.mongodb.names.database;
  o.min_oplog_window_hours = options.mongodb.min_oplog_window_hours;
  // The views on the source's own deployment: their privileges are checked there too.
  if (options.views == BackendOptions::Views::kMongoDb &&
      options.mongo_views.uri == options.mongodb.uri) {
    o.views_database = options.mongo_views.database;
  }
  o.now = clock->Now();
  return mongo::EvaluatePreflight(*replies, o);
}

class EmbeddedSource final : public SourceSide {
 public:
  // source.db in the data folder.
  static Result<std::unique_ptr<EmbeddedSource>> Open(const BackendOptions& options,
                                                      const Clock* clock) {
    storage::sqlite::SourceStore::Options source_options;
    source_options.oplog_retention = options.oplog_retention;
    auto s = std::make_unique<EmbeddedSource>();
    MV_ASSIGN_OR_RETURN(s->store_,
                        storage::sqlite::SourceStore::Open(
                            (std::filesystem::path(options.data_dir) / "source.db").string(), clock,
                            source_options));
    return s;
  }
  // Its change stream (one reader).
  Result<std::unique_ptr<core::ChangeSource>> NewChangeSource() {
    return store_->NewChangeSource();
  }
  core::SourceReader& snapshots() override { return *store_; }
  core::LookupReader& lookups() override { return *store_; }
  api::SourceProgress& progress() override { return *store_; }
  api::SourceWriter* writer() override { return store_.get(); }
  api::SourceMaintenance* maintenance() override { return store_.get(); }
  storage::sqlite::SourceStore* embedded() override { return store_.get(); }

 private:
  std::unique_ptr<storage::sqlite::SourceStore> store_;
};

// The platform's MongoDB deployment: one change stream and majority reads. The platform
// writes to its own database: no writer here.
class MongoSource final : public SourceSide {
 public:
  // With `stream`, checks the deployment (the preflight of `viya-mv check`, refusing on a
  // blocker) and opens the change stream; without, only the reads (an `api` replica).
  static Result<std::unique_ptr<MongoSource>> Open(const BackendOptions& options,
                                                   const Clock* clock, bool stream) {
    const BackendOptions::MongoDb& m = options.mongodb;
    if (m.uri.empty()) {
      return Status::InvalidArgument("source.uri: required with source.backend = \"mongodb\"");
    }
    auto s = std::make_unique<MongoSource>();
    MV_ASSIGN_OR_RETURN(s->connection_, mongo::MongoConnection::Connect({m.uri, m.names, false}));
    s->reader_ =
        std::make_unique<mongo::MongoSourceReader>(s->connection_.get(), m.names, m.mapping);
    if (!stream) return s;
    // Fail at start, not at the first read.
    MV_ASSIGN_OR_RETURN(mongo::PreflightReport report, Preflight(*s->connection_, options, clock));
    std::string blockers;
    for (const auto& c : report.checks) {
      if (c.level == mongo::PreflightCheck::Level::kBlocker) {
        blockers += fmt::format("; {}: {}", c.name, c.message);
      } else if (c.level == mongo::PreflightCheck::Level::kWarning) {
        spdlog::warn("MongoDB source {}: {}", c.name, c.message);
      }
    }
    if (!blockers.empty()) {
      return Status::Unavailable(fmt::format("MongoDB source ({}){}", RedactUri(m.uri), blockers));
    }
    s->connection_->SplitLargeEvents(report.split_large_events);
    mongo::MongoChangeSourceOptions stream_options;
    stream_options.seen = &s->progress_.seen();
    s->changes_ = std::make_unique<mongo::MongoChangeSource>(s->connection_.get(), m.names,
                                                             m.mapping, stream_options);
    return s;
  }
  core::ChangeSource& changes() { return *changes_; }
  core::SourceReader& snapshots() override { return *reader_; }
  core::LookupReader& lookups() override { return *reader_; }
  api::SourceProgress& progress() override { return progress_; }
  mongo::MongoProgress& mongo_progress() { return progress_; }
  api::SourceWriter* writer() override { return nullptr; }
  api::SourceMaintenance* maintenance() override { return nullptr; }

 private:
  std::unique_ptr<mongo::MongoConnection> connection_;
  mongo::MongoProgress progress_;
  std::unique_ptr<mongo::MongoChangeSource> changes_;
  std::unique_ptr<mongo::MongoSourceReader> reader_;
};

// ---------------------------------------------------------------------------------------
// The view side: views.db, or a MongoDB views database.

class ViewSide {
 public:
  virtual ~ViewSide() = default;
  // The writer; null in an `api` replica.
  virtual core::ViewStore* store() = 0;
  // The writer's checkpoint as this process committed it (the writer's side only).
  virtual const Watermark* committed() const = 0;
  virtual api::ViewReader& reader() = 0;
  virtual api::KeyStore& keys() = 0;
  virtual api::DeadLetters& dead_letters() = 0;
  virtual api::Catalog& catalog() = 0;
  virtual api::OperationBoard& operation_board() = 0;
  virtual storage::sqlite::SqliteViewStore* embedded() { return nullptr; }
  // The writer's lease (MongoDB views); null otherwise.
  virtual api::WriterLease* lease() { return nullptr; }
  // How often a replica reads the stored checkpoint.
  virtual Millis poll_interval() const = 0;
};

std::string ViewsPath(const BackendOptions& options) {
  return (std::filesystem::path(options.data_dir) / "views.db").string();
}

// views.db in the data folder: the views, their readers, keys, dead letters, catalog.
class SqliteViews final : public ViewSide {
 public:
  // With `writer`, the view store too (roles all and worker).
  static Result<std::unique_ptr<SqliteViews>> Open(const BackendOptions& options,
                                                   const core::ViewSet* views, const Clock* clock,
                                                   bool writer) {
    const std::string path = ViewsPath(options);
    auto v = std::make_unique<SqliteViews>();
    if (writer) {
      storage::sqlite::SqliteViewStore::Options view_options;
      view_options.cache_mib = options.views_cache_mib;
      MV_ASSIGN_OR_RETURN(v->store_,
                          storage::sqlite::SqliteViewStore::Open(path, views, clock, view_options));
    } else {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        return Status::Unavailable(fmt::format(
            "{} does not exist yet: start the worker (viya-mv serve --role worker) first", path));
      }
    }
    v->reader_ = std::make_unique<storage::sqlite::ViewQueryPool>(path);
    MV_ASSIGN_OR_RETURN(v->keys_, storage::sqlite::ApiKeyStore::Open(path, clock));
    MV_ASSIGN_OR_RETURN(v->dead_letters_, storage::sqlite::DeadLetterStore::Open(path));
    MV_ASSIGN_OR_RETURN(v->catalog_, storage::sqlite::CatalogReader::Open(path));
    MV_ASSIGN_OR_RETURN(v->board_, storage::sqlite::SqliteOperationBoard::Open(path, clock));
    return v;
  }
  core::ViewStore* store() override { return store_.get(); }
  const Watermark* committed() const override { return store_ ? &store_->applied() : nullptr; }
  api::ViewReader& reader() override { return *reader_; }
  api::KeyStore& keys() override { return *keys_; }
  api::DeadLetters& dead_letters() override { return *dead_letters_; }
  api::Catalog& catalog() override { return *catalog_; }
  api::OperationBoard& operation_board() override { return *board_; }
  storage::sqlite::SqliteViewStore* embedded() override { return store_.get(); }
  Millis poll_interval() const override { return Millis(5); }

 private:
  std::unique_ptr<storage::sqlite::SqliteViewStore> store_;
  std::unique_ptr<storage::sqlite::ViewQueryPool> reader_;
  std::unique_ptr<storage::sqlite::ApiKeyStore> keys_;
  std::unique_ptr<storage::sqlite::DeadLetterStore> dead_letters_;
  std::unique_ptr<storage::sqlite::CatalogReader> catalog_;
  std::unique_ptr<storage::sqlite::SqliteOperationBoard> board_;
};

// The MongoDB views database (or the one a test gives).
Result<std::unique_ptr<mongo::ViewDatabase>> ConnectViews(const BackendOptions& options,
                                                          mongo::ViewDatabase** db) {
  if (options.mongo_views.database_for_tests != nullptr) {
    *db = options.mongo_views.database_for_tests;
    return std::unique_ptr<mongo::ViewDatabase>();
  }
  if (options.mongo_views.uri.empty()) {
    return Status::InvalidArgument(
        "views.uri: required with views.backend = \"mongodb\" (or a MongoDB source.uri)");
  }
  MV_ASSIGN_OR_RETURN(auto connected, mongo::MongoViewDatabase::Connect(
                                          options.mongo_views.uri, options.mongo_views.database));
  *db = connected.get();
  return std::unique_ptr<mongo::ViewDatabase>(std::move(connected));
}

class MongoViews final : public ViewSide {
 public:
  static Result<std::unique_ptr<MongoViews>> Open(const BackendOptions& options,
                                                  const core::ViewSet* views, const Clock* clock,
                                                  bool writer) {
    auto v = std::make_unique<MongoViews>();
    MV_ASSIGN_OR_RETURN(v->connection_, ConnectViews(options, &v->db_));
    if (writer) {
      mongo::MongoViewStoreOptions store_options;
      store_options.partition = options.partition;
      auto store = mongo::MongoViewStore::Open(v->db_, views, clock, store_options);
      if (!store.ok()) {
        return Status(store.status().code(),
                      fmt::format("MongoDB views ({}/{}): {}", RedactUri(options.mongo_views.uri),
                                  options.mongo_views.database, store.status().message()));
      }
      v->store_ = std::move(store).value();
      // Every transaction of the store is fenced by the partition's lease.
      v->lease_ = std::make_unique<mongo::MongoLease>(
          v->db_, clock,
          mongo::LeaseOptions{options.partition.Id(), mongo::LeaseOwnerName(), options.lease_ttl});
      v->store_->SetFence([lease = v->lease_.get()] { return std::optional(lease->Fence()); });
    }
    v->reader_ = std::make_unique<mongo::MongoViewReader>(v->db_, views);
    v->keys_ = std::make_unique<mongo::MongoKeyStore>(v->db_, clock);
    v->board_ = std::make_unique<mongo::MongoOperationBoard>(v->db_, clock);
    if (writer) {
      MV_RETURN_IF_ERROR(v->keys_->Prepare());
      MV_RETURN_IF_ERROR(v->board_->Prepare());
    }
    return v;
  }
  core::ViewStore* store() override { return store_.get(); }
  const Watermark* committed() const override { return store_ ? &store_->applied() : nullptr; }
  api::ViewReader& reader() override { return *reader_; }
  api::KeyStore& keys() override { return *keys_; }
  api::DeadLetters& dead_letters() override { return *reader_; }
  api::Catalog& catalog() override { return *reader_; }
  api::WriterLease* lease() override { return lease_.get(); }
  api::OperationBoard& operation_board() override { return *board_; }
  Millis poll_interval() const override { return Millis(10); }

 private:
  std::unique_ptr<mongo::ViewDatabase> connection_;  // null when a test gave the database
  mongo::ViewDatabase* db_ = nullptr;
  std::unique_ptr<mongo::MongoLease> lease_;  // outlives the store, whose fence reads it
  std::unique_ptr<mongo::MongoViewStore> store_;
  std::unique_ptr<mongo::MongoViewReader> reader_;
  std::unique_ptr<mongo::MongoKeyStore> keys_;
  std::unique_ptr<mongo::MongoOperationBoard> board_;
};

Result<std::unique_ptr<ViewSide>> OpenViews(const BackendOptions& options,
                                            const core::ViewSet* views, const Clock* clock,
                                            bool writer) {
  if (options.views == BackendOptions::Views::kMongoDb) {
    MV_ASSIGN_OR_RETURN(auto v, MongoViews::Open(options, views, clock, writer));
    return std::unique_ptr<ViewSide>(std::move(v));
  }
  MV_ASSIGN_OR_RETURN(auto v, SqliteViews::Open(options, views, clock, writer));
  return std::unique_ptr<ViewSide>(std::move(v));
}

// ---------------------------------------------------------------------------------------
// The process that maintains the views: a source side, its change stream, a view side.

class ComposedBackend final : public Backend {
 public:
  static Result<std::unique_ptr<Backend>> Open(const BackendOptions& options,
                                               const core::ViewSet* views, const Clock* clock) {
    std::unique_ptr<ComposedBackend> b(new ComposedBackend);
    if (options.source == BackendOptions::Source::kMongoDb) {
      MV_ASSIGN_OR_RETURN(auto source, MongoSource::Open(options, clock, /*stream=*/true));
      b->changes_ = &source->changes();
      b->source_ = std::move(source);
    } else {
      MV_ASSIGN_OR_RETURN(auto source, EmbeddedSource::Open(options, clock));
      MV_ASSIGN_OR_RETURN(b->own_changes_, source->NewChangeSource());
      b->changes_ = b->own_changes_.get();
      b->source_ = std::move(source);
    }
    if (!options.partition.whole()) {
      b->partition_changes_ =
          std::make_unique<core::PartitionedChangeSource>(b->changes_, options.partition);
      b->changes_ = b->partition_changes_.get();
      b->partition_snapshots_ = std::make_unique<core::PartitionedSourceReader>(
          &b->source_->snapshots(), options.partition);
    }
    MV_ASSIGN_OR_RETURN(b->views_, OpenViews(options, views, clock, /*writer=*/true));
    return std::unique_ptr<Backend>(std::move(b));
  }

  core::ChangeSource& changes() override { return *changes_; }
  api::SourceMaintenance* maintenance() override { return source_->maintenance(); }
  core::ViewStore& view_store() override { return *views_->store(); }
  api::WriterLease* lease() override { return views_->lease(); }
  core::SourceReader& snapshots() override {
    return partition_snapshots_ ? *partition_snapshots_ : source_->snapshots();
  }
  core::LookupReader& lookups() override { return source_->lookups(); }
  api::SourceProgress& progress() override { return source_->progress(); }
  api::SourceWriter* writer() override { return source_->writer(); }
  const Watermark& applied() const override { return *views_->committed(); }
  api::ViewReader& reader() override { return views_->reader(); }
  api::KeyStore& keys() override { return views_->keys(); }
  api::DeadLetters& dead_letters() override { return views_->dead_letters(); }
  api::Catalog& catalog() override { return views_->catalog(); }
  api::OperationBoard& operation_board() override { return views_->operation_board(); }
  std::optional<Embedded> embedded() override {
    Embedded e{source_->embedded(), views_->embedded()};
    if (e.source == nullptr && e.views == nullptr) return std::nullopt;
    return e;
  }

 private:
  ComposedBackend() = default;
  std::unique_ptr<SourceSide> source_;
  std::unique_ptr<core::ChangeSource> own_changes_;
  std::unique_ptr<core::ChangeSource> partition_changes_;  // of this partition's orgs
  std::unique_ptr<core::SourceReader> partition_snapshots_;
  core::ChangeSource* changes_ = nullptr;
  std::unique_ptr<ViewSide> views_;
};

// ---------------------------------------------------------------------------------------
// An `api` replica.

// How far the source has got as a replica sees it: the newest token of every process's
// writes polled from source.db (a client's token may come from another process, so
// minToken waits for it rather than refusing it), or, for a MongoDB source, what the
// views have applied (a replica follows no stream).
class ReplicaProgress final : public api::SourceProgress {
 public:
  explicit ReplicaProgress(api::SourceProgress* source) : source_(source) {}
  const Watermark& committed() const override { return newest_; }
  Watermark& newest() { return newest_; }
  Result<std::map<std::string, Timestamp>> OldestChangeByOrgAfter(
      core::ChangeToken after) override {
    return source_->OldestChangeByOrgAfter(after);
  }
  std::optional<std::int64_t> ChangesAfter(core::ChangeToken applied) const override {
    if (!source_->ChangesAfter(applied)) return std::nullopt;
    return api::SourceProgress::ChangesAfter(applied);
  }
  bool BoundsClientTokens() const override { return false; }

 private:
  api::SourceProgress* source_;
  Watermark newest_;
};

class Replica final : public ApiStores {
 public:
  static Result<std::unique_ptr<ApiStores>> Open(const BackendOptions& options,
                                                 const core::ViewSet* views, const Clock* clock) {
    std::unique_ptr<Replica> r(new Replica);
    // The views first: a replica of views no worker created yet is refused.
    MV_ASSIGN_OR_RETURN(r->views_, OpenViews(options, views, clock, /*writer=*/false));
    if (options.source == BackendOptions::Source::kMongoDb) {
      MV_ASSIGN_OR_RETURN(auto source, MongoSource::Open(options, clock, /*stream=*/false));
      r->source_ = std::move(source);
    } else {
      MV_ASSIGN_OR_RETURN(auto source, EmbeddedSource::Open(options, clock));
      MV_ASSIGN_OR_RETURN(r->oplog_, source->NewChangeSource());
      r->source_ = std::move(source);
    }
    r->progress_ = std::make_unique<ReplicaProgress>(&r->source_->progress());
    MV_RETURN_IF_ERROR(r->Poll());
    r->poller_ = std::thread([p = r.get()] { p->PollUntilStopped(); });
    return std::unique_ptr<ApiStores>(std::move(r));
  }
  ~Replica() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (poller_.joinable()) poller_.join();
  }

  core::SourceReader& snapshots() override { return source_->snapshots(); }
  core::LookupReader& lookups() override { return source_->lookups(); }
  api::SourceProgress& progress() override { return *progress_; }
  api::SourceWriter* writer() override { return source_->writer(); }
  const Watermark& applied() const override { return applied_; }
  api::ViewReader& reader() override { return views_->reader(); }
  api::KeyStore& keys() override { return views_->keys(); }
  api::DeadLetters& dead_letters() override { return views_->dead_letters(); }
  api::Catalog& catalog() override { return views_->catalog(); }
  api::OperationBoard& operation_board() override { return views_->operation_board(); }

 private:
  Replica() = default;

  // The worker's stored checkpoint and every process's newest change.
  Status Poll() {
    MV_ASSIGN_OR_RETURN(core::ChangeToken applied, views_->reader().AppliedToken());
    applied_.Advance(applied);
    core::ChangeToken newest = applied;
    if (oplog_) {
      MV_ASSIGN_OR_RETURN(core::ChangeToken latest, oplog_->LatestToken());
      newest = std::max({newest, latest, source_->progress().committed().Get()});
    }
    progress_->newest().Advance(newest);
    return Status::Ok();
  }
  void PollUntilStopped() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, views_->poll_interval(), [this] { return stop_; })) {
      lock.unlock();
      if (Status s = Poll(); !s.ok())
        spdlog::warn("replica: reading the checkpoint: {}", s.ToString());
      lock.lock();
    }
  }

  std::unique_ptr<ViewSide> views_;  // the readers only
  std::unique_ptr<SourceSide> source_;
  std::unique_ptr<core::ChangeSource> oplog_;  // embedded: its connection reads the newest token
  std::unique_ptr<ReplicaProgress> progress_;
  Watermark applied_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread poller_;
};

// A key store with the database connection it reads.
class OwnedKeyStore final : public api::KeyStore {
 public:
  OwnedKeyStore(std::unique_ptr<mongo::ViewDatabase> db, std::unique_ptr<api::KeyStore> keys)
      : db_(std::move(db)), keys_(std::move(keys)) {}
  Result<Created> CreateKey(const api::Principal& p, const std::string& name) override {
    return keys_->CreateKey(p, name);
  }
  Result<api::Principal> Authenticate(const std::string& key) override {
    return keys_->Authenticate(key);
  }
  Result<std::vector<api::ApiKeyInfo>> List() override { return keys_->List(); }
  Status Revoke(const std::string& id) override { return keys_->Revoke(id); }

 private:
  std::unique_ptr<mongo::ViewDatabase> db_;
  std::unique_ptr<api::KeyStore> keys_;
};

}  // namespace

Result<std::unique_ptr<ApiStores>> OpenReplica(const BackendOptions& options,
                                               const core::ViewSet* views, const Clock* clock) {
  return Replica::Open(options, views, clock);
}

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options,
                                             const core::ViewSet* views, const Clock* clock) {
  return ComposedBackend::Open(options, views, clock);
}

Result<nlohmann::json> CheckSource(const BackendOptions& options, const Clock* clock) {
  if (options.source != BackendOptions::Source::kMongoDb) {
    return Status::InvalidArgument("source.backend is not \"mongodb\": nothing to check");
  }
  if (options.mongodb.uri.empty()) {
    return Status::InvalidArgument("source.uri: required with source.backend = \"mongodb\"");
  }
  MV_ASSIGN_OR_RETURN(auto connection, mongo::MongoConnection::Connect(
                                           {options.mongodb.uri, options.mongodb.names, false}));
  MV_ASSIGN_OR_RETURN(mongo::PreflightReport report, Preflight(*connection, options, clock));
  return report.ToJson();
}

Result<std::unique_ptr<api::KeyStore>> OpenKeyStore(const BackendOptions& options,
                                                    const Clock* clock) {
  if (options.views == BackendOptions::Views::kMongoDb) {
    mongo::ViewDatabase* db = nullptr;
    MV_ASSIGN_OR_RETURN(auto connection, ConnectViews(options, &db));
    auto keys = std::make_unique<mongo::MongoKeyStore>(db, clock);
    MV_RETURN_IF_ERROR(keys->Prepare());
    return std::unique_ptr<api::KeyStore>(
        new OwnedKeyStore(std::move(connection), std::move(keys)));
  }
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  MV_ASSIGN_OR_RETURN(auto keys, storage::sqlite::ApiKeyStore::Open(ViewsPath(options), clock));
  return std::unique_ptr<api::KeyStore>(std::move(keys));
}

}  // namespace mv::backend
