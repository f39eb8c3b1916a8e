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
#include "mongo/preflight.h"
#include "mongo/progress.h"
#include "mongo/source_reader.h"
#include "storage/sqlite/api_key_store.h"
#include "storage/sqlite/catalog_reader.h"
#include "storage/sqlite/dead_letter_store.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_queries.h"
#include "storage/sqlite/view_store.h"

namespace mv::backend {
namespace {

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
  o.now = clock->Now();
  return mongo::EvaluatePreflight(*replies, o);
}

// source.db in the data folder.
Result<std::unique_ptr<storage::sqlite::SourceStore>> OpenSourceStore(const BackendOptions& options,
                                                                      const Clock* clock) {
  storage::sqlite::SourceStore::Options source_options;
  source_options.oplog_retention = options.oplog_retention;
  return storage::sqlite::SourceStore::Open(
      (std::filesystem::path(options.data_dir) / "source.db").string(), clock, source_options);
}

// views.db in the data folder: the views, their readers, keys, dead letters, catalog.
struct SqliteViews {
  static std::string PathOf(const BackendOptions& options) {
    return (std::filesystem::path(options.data_dir) / "views.db").string();
  }

  std::unique_ptr<storage::sqlite::SqliteViewStore> store;
  std::unique_ptr<storage::sqlite::ViewQueryPool> reader;
  std::unique_ptr<storage::sqlite::ApiKeyStore> keys;
  std::unique_ptr<storage::sqlite::DeadLetterStore> dead_letters;
  std::unique_ptr<storage::sqlite::CatalogReader> catalog;

  // The writer (the worker's view store) and the readers.
  Status Open(const BackendOptions& options, const core::ViewSet* views, const Clock* clock) {
    storage::sqlite::SqliteViewStore::Options view_options;
    view_options.cache_mib = options.views_cache_mib;
    MV_ASSIGN_OR_RETURN(
        store, storage::sqlite::SqliteViewStore::Open(PathOf(options), views, clock, view_options));
    return OpenReaders(options, clock);
  }
  // The readers only (an `api` replica: the store is the worker's).
  Status OpenReaders(const BackendOptions& options, const Clock* clock) {
    const std::string path = PathOf(options);
    reader = std::make_unique<storage::sqlite::ViewQueryPool>(path);
    MV_ASSIGN_OR_RETURN(keys, storage::sqlite::ApiKeyStore::Open(path, clock));
    MV_ASSIGN_OR_RETURN(dead_letters, storage::sqlite::DeadLetterStore::Open(path));
    MV_ASSIGN_OR_RETURN(catalog, storage::sqlite::CatalogReader::Open(path));
    return Status::Ok();
  }
};

// The view side every backend of this release shares.
class SqliteViewsBackend : public Backend {
 public:
  core::ViewStore& view_store() override { return *views_.store; }
  const Watermark& applied() const override { return views_.store->applied(); }
  api::ViewReader& reader() override { return *views_.reader; }
  api::KeyStore& keys() override { return *views_.keys; }
  api::DeadLetters& dead_letters() override { return *views_.dead_letters; }
  api::Catalog& catalog() override { return *views_.catalog; }

 protected:
  SqliteViews views_;
};

// source.db and views.db in one data folder.
class EmbeddedBackend final : public SqliteViewsBackend {
 public:
  static Result<std::unique_ptr<Backend>> Open(const BackendOptions& options,
                                               const core::ViewSet* views, const Clock* clock) {
    std::unique_ptr<EmbeddedBackend> b(new EmbeddedBackend);
    MV_ASSIGN_OR_RETURN(b->source_, OpenSourceStore(options, clock));
    MV_ASSIGN_OR_RETURN(b->changes_, b->source_->NewChangeSource());
    MV_RETURN_IF_ERROR(b->views_.Open(options, views, clock));
    return std::unique_ptr<Backend>(std::move(b));
  }

  core::ChangeSource& changes() override { return *changes_; }
  core::SourceReader& snapshots() override { return *source_; }
  core::LookupReader& lookups() override { return *source_; }
  api::SourceProgress& progress() override { return *source_; }
  api::SourceWriter* writer() override { return source_.get(); }
  api::SourceMaintenance* maintenance() override { return source_.get(); }
  std::optional<Embedded> embedded() override {
    return Embedded{source_.get(), views_.store.get()};
  }

 private:
  EmbeddedBackend() = default;
  std::unique_ptr<storage::sqlite::SourceStore> source_;
  std::unique_ptr<core::ChangeSource> changes_;
};

// The platform's MongoDB deployment as the source (one change stream, majority reads),
// views.db as the views. The platform writes to its own database: no writer here.
class MongoSourceBackend final : public SqliteViewsBackend {
 public:
  static Result<std::unique_ptr<Backend>> Open(const BackendOptions& options,
                                               const core::ViewSet* views, const Clock* clock) {
    const BackendOptions::MongoDb& m = options.mongodb;
    if (m.uri.empty()) {
      return Status::InvalidArgument("source.uri: required with source.backend = \"mongodb\"");
    }
    std::unique_ptr<MongoSourceBackend> b(new MongoSourceBackend);
    MV_ASSIGN_OR_RETURN(b->connection_, mongo::MongoConnection::Connect({m.uri, m.names, false}));
    // Fail at start, not at the first read: the preflight of `viya-mv check`.
    MV_ASSIGN_OR_RETURN(mongo::PreflightReport report, Preflight(*b->connection_, options, clock));
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
    b->connection_->SplitLargeEvents(report.split_large_events);
    mongo::MongoChangeSourceOptions stream;
    stream.seen = &b->progress_.seen();
    b->changes_ = std::make_unique<mongo::MongoChangeSource>(b->connection_.get(), m.names,
                                                             m.mapping, stream);
    b->reader_ =
        std::make_unique<mongo::MongoSourceReader>(b->connection_.get(), m.names, m.mapping);
    MV_RETURN_IF_ERROR(b->views_.Open(options, views, clock));
    return std::unique_ptr<Backend>(std::move(b));
  }

  core::ChangeSource& changes() override { return *changes_; }
  core::SourceReader& snapshots() override { return *reader_; }
  core::LookupReader& lookups() override { return *reader_; }
  api::SourceProgress& progress() override { return progress_; }
  api::SourceWriter* writer() override { return nullptr; }
  api::SourceMaintenance* maintenance() override { return nullptr; }

 private:
  MongoSourceBackend() = default;
  std::unique_ptr<mongo::MongoConnection> connection_;
  mongo::MongoProgress progress_;
  std::unique_ptr<mongo::MongoChangeSource> changes_;
  std::unique_ptr<mongo::MongoSourceReader> reader_;
};

// The embedded source as an `api` replica sees it: its own writes, and the newest token of
// every process's writes polled from source.db (a client's token may come from another
// replica, so minToken waits for it rather than refusing it).
class ReplicaProgress final : public api::SourceProgress {
 public:
  explicit ReplicaProgress(storage::sqlite::SourceStore* source) : source_(source) {}
  const Watermark& committed() const override { return newest_; }
  Watermark& newest() { return newest_; }
  Result<std::map<std::string, Timestamp>> OldestChangeByOrgAfter(
      core::ChangeToken after) override {
    return source_->OldestChangeByOrgAfter(after);
  }
  bool BoundsClientTokens() const override { return false; }

 private:
  storage::sqlite::SourceStore* source_;
  Watermark newest_;
};

class EmbeddedReplica final : public ApiStores {
 public:
  static Result<std::unique_ptr<ApiStores>> Open(const BackendOptions& options,
                                                 const Clock* clock) {
    const std::string views_path = SqliteViews::PathOf(options);
    std::error_code ec;
    if (!std::filesystem::exists(views_path, ec)) {
      return Status::Unavailable(
          fmt::format("{} does not exist yet: start the worker (viya-mv serve --role worker) first",
                      views_path));
    }
    std::unique_ptr<EmbeddedReplica> r(new EmbeddedReplica);
    MV_ASSIGN_OR_RETURN(r->source_, OpenSourceStore(options, clock));
    MV_ASSIGN_OR_RETURN(r->oplog_, r->source_->NewChangeSource());
    r->progress_ = std::make_unique<ReplicaProgress>(r->source_.get());
    MV_RETURN_IF_ERROR(r->views_.OpenReaders(options, clock));
    MV_RETURN_IF_ERROR(r->Poll());
    r->poller_ = std::thread([p = r.get()] { p->PollUntilStopped(); });
    return std::unique_ptr<ApiStores>(std::move(r));
  }
  ~EmbeddedReplica() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (poller_.joinable()) poller_.join();
  }

  core::SourceReader& snapshots() override { return *source_; }
  core::LookupReader& lookups() override { return *source_; }
  api::SourceProgress& progress() override { return *progress_; }
  api::SourceWriter* writer() override { return source_.get(); }
  const Watermark& applied() const override { return applied_; }
  api::ViewReader& reader() override { return *views_.reader; }
  api::KeyStore& keys() override { return *views_.keys; }
  api::DeadLetters& dead_letters() override { return *views_.dead_letters; }
  api::Catalog& catalog() override { return *views_.catalog; }

 private:
  static constexpr Millis kPollInterval{5};
  EmbeddedReplica() = default;

  // The worker's stored checkpoint and every process's newest change.
  Status Poll() {
    MV_ASSIGN_OR_RETURN(core::ChangeToken applied, views_.reader->AppliedToken());
    applied_.Advance(applied);
    MV_ASSIGN_OR_RETURN(core::ChangeToken newest, oplog_->LatestToken());
    progress_->newest().Advance(std::max(newest, source_->committed().Get()));
    return Status::Ok();
  }
  void PollUntilStopped() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kPollInterval, [this] { return stop_; })) {
      lock.unlock();
      if (Status s = Poll(); !s.ok())
        spdlog::warn("replica: reading the checkpoint: {}", s.ToString());
      lock.lock();
    }
  }

  std::unique_ptr<storage::sqlite::SourceStore> source_;
  std::unique_ptr<core::ChangeSource> oplog_;  // its connection reads the newest token
  std::unique_ptr<ReplicaProgress> progress_;
  SqliteViews views_;  // the readers only
  Watermark applied_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread poller_;
};

}  // namespace

Result<std::unique_ptr<ApiStores>> OpenReplica(const BackendOptions& options, const Clock* clock) {
  if (options.source != BackendOptions::Source::kEmbedded) {
    return Status::InvalidArgument(
        "serve --role api: a replica of a MongoDB source is not in this release (run --role "
        "all)");
  }
  return EmbeddedReplica::Open(options, clock);
}

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options,
                                             const core::ViewSet* views, const Clock* clock) {
  switch (options.source) {
    case BackendOptions::Source::kEmbedded:
      return EmbeddedBackend::Open(options, views, clock);
    case BackendOptions::Source::kMongoDb:
      return MongoSourceBackend::Open(options, views, clock);
  }
  return Status::Internal("unknown source backend");
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
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  MV_ASSIGN_OR_RETURN(auto keys,
                      storage::sqlite::ApiKeyStore::Open(SqliteViews::PathOf(options), clock));
  return std::unique_ptr<api::KeyStore>(std::move(keys));
}

}  // namespace mv::backend
