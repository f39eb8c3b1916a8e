#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/key_store.h"
#include "api/operation_board.h"
#include "api/operator_stores.h"
#include "api/source.h"
#include "api/view_reader.h"
#include "api/writer_lease.h"
#include "base/clock.h"
#include "base/result.h"
#include "base/watermark.h"
#include "core/interfaces.h"
#include "core/partition.h"
#include "core/view_set.h"
#include "mongo/event_decoder.h"

namespace mv::mongo {
class ViewDatabase;
}  // namespace mv::mongo

namespace mv::storage::sqlite {
class SourceStore;
class SqliteViewStore;
}  // namespace mv::storage::sqlite

// The one place that chooses a backend (DESIGN.md section 2). Everything else sees the
// stores through core's interfaces (the worker) and api's (the HTTP layer).
namespace mv::backend {

struct BackendOptions {
  // views.db (and the embedded source's source.db) live in this folder.
  std::string data_dir;
  std::chrono::hours oplog_retention{24};
  int views_cache_mib = 64;
  // Where the source of truth is: source.db, or the platform's MongoDB deployment.
  enum class Source { kEmbedded, kMongoDb } source = Source::kEmbedded;
  struct MongoDb {
    std::string uri;  // secret: never logged
    mongo::SourceNames names;
    mongo::FieldMapping mapping;
    double min_oplog_window_hours = 24;  // preflight warns under it
  } mongodb;
  // Where the views live: views.db in the data folder, or a MongoDB database (the
  // platform's own query handlers read its collections; any number of `api` replicas on
  // any host serve the API from it).
  enum class Views { kSqlite, kMongoDb } views = Views::kSqlite;
  // The orgs this process's worker writes (MongoDB views: stream.partitions), and how long
  // its lease lasts unrenewed.
  core::Partition partition;
  Millis lease_ttl{15000};
  struct MongoViews {
    std::string uri;  // secret: never logged
    std::string database = "viya_mv";
    // When set, this database instead of a connection to `uri` (tests). Outlives the
    // backend.
    mongo::ViewDatabase* database_for_tests = nullptr;
  } mongo_views;
};

// What the HTTP API and the process's status figures use, in a worker process and in an
// `api` replica alike. The accessors stay valid while this object lives; thread-safety is
// each interface's own.
class ApiStores {
 public:
  virtual ~ApiStores() = default;

  virtual core::SourceReader& snapshots() = 0;
  virtual core::LookupReader& lookups() = 0;
  virtual api::SourceProgress& progress() = 0;
  // Writes through viya-mv's own API; null where the platform writes to its database.
  virtual api::SourceWriter* writer() = 0;
  // The token the views have applied, to wait on.
  virtual const Watermark& applied() const = 0;
  virtual api::ViewReader& reader() = 0;
  virtual api::KeyStore& keys() = 0;
  virtual api::DeadLetters& dead_letters() = 0;
  virtual api::Catalog& catalog() = 0;
  // Where the worker and the replicas meet about operations.
  virtual api::OperationBoard& operation_board() = 0;
};

// The stores of the process that maintains the views (roles all and worker): the above,
// the change stream and the view store's one writer. Open() then use.
class Backend : public ApiStores {
 public:
  // The source's change stream (one reader, the worker).
  virtual core::ChangeSource& changes() = 0;
  // Housekeeping jobs of a source this process owns; null when there is none.
  virtual api::SourceMaintenance* maintenance() = 0;
  // The views' one writer (the worker); applied() is its checkpoint in this process.
  virtual core::ViewStore& view_store() = 0;
  // The worker's lease of its partition of views shared across machines (MongoDB views);
  // null where the data folder's lock makes the worker exclusive (views.db).
  virtual api::WriterLease* lease() = 0;

  // The embedded backend's own stores, for the tools that only it has (import) and for
  // tests: each null when that side is not embedded; nullopt when neither is.
  struct Embedded {
    storage::sqlite::SourceStore* source = nullptr;
    storage::sqlite::SqliteViewStore* views = nullptr;
  };
  virtual std::optional<Embedded> embedded() { return std::nullopt; }
};

// The stores of an `api` replica: the views a worker process maintains (views.db of the
// data folder, or the MongoDB views database), read through connections of their own,
// with the stored checkpoint (and the embedded source's newest token) polled every few
// milliseconds so that `minToken` waits work across processes; and the source for names
// and, when it is the embedded one, for the write API (its changes reach the worker's
// stream within stream.idle_wait_ms). Unavailable until a worker has created the views.
Result<std::unique_ptr<ApiStores>> OpenReplica(const BackendOptions& options,
                                               const core::ViewSet* views, const Clock* clock);

// Opens the backend `options` name, creating its stores when new. `views` and `clock`
// must outlive it.
Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options,
                                             const core::ViewSet* views, const Clock* clock);

// The preflight checks of a MongoDB source (mongo/preflight.h) as JSON ({checks, blocked,
// splitLargeEvents}); `serve` runs the same at start and refuses to on a blocker.
// InvalidArgument when the source is not MongoDB; Unavailable when it cannot be reached.
Result<nlohmann::json> CheckSource(const BackendOptions& options, const Clock* clock);

// The key store of the backend `options` name, alone: `viya-mv apikey create` works beside
// a running server.
Result<std::unique_ptr<api::KeyStore>> OpenKeyStore(const BackendOptions& options,
                                                    const Clock* clock);

}  // namespace mv::backend
