#include "mongo/driver.h"

#include <fmt/format.h>
#include <mongoc/mongoc.h>
#include <spdlog/spdlog.h>

#include "base/uri.h"
#include "mongo/bson.h"

namespace mv::mongo {

using nlohmann::json;
using nlohmann::ordered_json;

// The client pool and the URI it was made from.
struct MongoConnection::Pool {
  mongoc_uri_t* uri = nullptr;
  mongoc_client_pool_t* pool = nullptr;
  ~Pool() {
    if (pool) mongoc_client_pool_destroy(pool);
    if (uri) mongoc_uri_destroy(uri);
  }
  // A client from the pool for one operation, returned when the lease ends.
  struct Lease {
    mongoc_client_pool_t* pool;
    mongoc_client_t* client;
    Lease(mongoc_client_pool_t* p) : pool(p), client(mongoc_client_pool_pop(p)) {}
    Lease(const Lease&) = delete;
    ~Lease() { mongoc_client_pool_push(pool, client); }
  };
};

Result<json> ThroughBson(const std::string& extended_json) {
  MV_ASSIGN_OR_RETURN(BsonPtr doc, Bson(extended_json));
  return ToJson(doc.get());
}

Result<ordered_json> ThroughBsonCanonical(const ordered_json& document) {
  MV_ASSIGN_OR_RETURN(BsonPtr doc, Bson(document.dump()));
  return ToCanonical(doc.get());
}

MongoConnection::MongoConnection(ConnectionOptions options, std::unique_ptr<Pool> pool)
    : options_(std::move(options)),
      pool_(std::move(pool)),
      split_large_events_(options_.split_large_events) {}

MongoConnection::~MongoConnection() = default;

Result<std::unique_ptr<MongoConnection>> MongoConnection::Connect(
    const ConnectionOptions& options) {
  InitDriver();
  auto pool = std::make_unique<Pool>();
  bson_error_t error;
  pool->uri = mongoc_uri_new_with_error(options.uri.c_str(), &error);
  if (pool->uri == nullptr) {
    // The driver's message may quote the URI: name it redacted instead.
    return Status::InvalidArgument(
        fmt::format("source.uri: not a MongoDB connection string ({})", RedactUri(options.uri)));
  }
  pool->pool = mongoc_client_pool_new(pool->uri);
  if (pool->pool == nullptr) return Status::InvalidArgument("source.uri: no client pool");
  mongoc_client_pool_set_error_api(pool->pool, MONGOC_ERROR_API_VERSION_2);
  mongoc_client_pool_set_appname(pool->pool, "viya-mv");
  return std::unique_ptr<MongoConnection>(new MongoConnection(options, std::move(pool)));
}

Result<json> MongoConnection::Command(const std::string& database, const ordered_json& command) {
  MV_ASSIGN_OR_RETURN(BsonPtr cmd, Bson(command.dump()));
  Pool::Lease lease(pool_->pool);
  bson_t reply;
  bson_error_t error;
  bool ok = mongoc_client_command_simple(lease.client, database.c_str(), cmd.get(), nullptr, &reply,
                                         &error);
  json out = ToJson(&reply);
  bson_destroy(&reply);
  if (!ok && (!out.is_object() || out.empty())) {
    return Status::Unavailable(fmt::format("MongoDB {}: {}", command.begin().key(), error.message));
  }
  return out;
}

namespace {

class StreamCursor final : public ChangeCursor {
 public:
  StreamCursor(mongoc_client_pool_t* pool, mongoc_client_t* client, mongoc_database_t* db,
               mongoc_change_stream_t* stream)
      : pool_(pool), client_(client), db_(db), stream_(stream) {}
  ~StreamCursor() override {
    mongoc_change_stream_destroy(stream_);
    mongoc_database_destroy(db_);
    mongoc_client_pool_push(pool_, client_);
  }
  CursorStep Next() override {
    const bson_t* doc = nullptr;
    if (mongoc_change_stream_next(stream_, &doc)) return {CursorStep::Kind::kEvent, ToJson(doc)};
    bson_error_t error;
    const bson_t* reply = nullptr;
    if (mongoc_change_stream_error_document(stream_, &error, &reply)) {
      json r = ToJson(reply);
      if (!r.is_object() || r.empty()) {
        r = {{"ok", 0}, {"code", error.code}, {"errmsg", error.message}};
      }
      return {CursorStep::Kind::kError, r};
    }
    return {CursorStep::Kind::kIdle, ToJson(mongoc_change_stream_get_resume_token(stream_))};
  }

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
  mongoc_database_t* db_;
  mongoc_change_stream_t* stream_;
};

class FindCursor final : public DocumentCursor {
 public:
  FindCursor(mongoc_client_pool_t* pool, mongoc_client_t* client, mongoc_collection_t* coll,
             mongoc_cursor_t* cursor)
      : pool_(pool), client_(client), coll_(coll), cursor_(cursor) {}
  ~FindCursor() override {
    mongoc_cursor_destroy(cursor_);
    mongoc_collection_destroy(coll_);
    mongoc_client_pool_push(pool_, client_);
  }
  Result<std::optional<json>> Next() override {
    const bson_t* doc = nullptr;
    if (mongoc_cursor_next(cursor_, &doc)) return std::optional<json>(ToJson(doc));
    bson_error_t error;
    if (mongoc_cursor_error(cursor_, &error)) {
      return Status::Unavailable(fmt::format("MongoDB find: {}", error.message));
    }
    return std::optional<json>();
  }

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
  mongoc_collection_t* coll_;
  mongoc_cursor_t* cursor_;
};

}  // namespace

Result<std::unique_ptr<ChangeCursor>> MongoConnection::Open(std::optional<ClusterTime> start,
                                                            Millis max_await) {
  const SourceNames& n = options_.names;
  ordered_json pipeline = ordered_json::array();
  pipeline.push_back(
      {{"$match",
        {{"$or",
          ordered_json::array(
              {{{"ns.coll", {{"$in", {n.shipments, n.tracking_events, n.customers, n.carriers}}}}},
               {{"operationType", {{"$in", {"dropDatabase", "invalidate"}}}}}})}}}});
  if (split_large_events_) {
    pipeline.push_back({{"$changeStreamSplitLargeEvent", ordered_json::object()}});
  }
  ordered_json opts = {{"fullDocument", "updateLookup"},
                       {"maxAwaitTimeMS", std::max<std::int64_t>(1, max_await.count())}};
  if (start) {
    opts["startAtOperationTime"] = {
        {"$timestamp", {{"t", start->seconds}, {"i", start->increment}}}};
  }
  MV_ASSIGN_OR_RETURN(BsonPtr pipeline_bson, Bson(ordered_json{{"pipeline", pipeline}}.dump()));
  MV_ASSIGN_OR_RETURN(BsonPtr opts_bson, Bson(opts.dump()));
  mongoc_client_t* client = mongoc_client_pool_pop(pool_->pool);
  mongoc_database_t* db = mongoc_client_get_database(client, n.database.c_str());
  mongoc_change_stream_t* stream = mongoc_database_watch(db, pipeline_bson.get(), opts_bson.get());
  // Errors of the aggregate come out of the cursor's first Next (CursorStep::kError).
  return std::unique_ptr<ChangeCursor>(new StreamCursor(pool_->pool, client, db, stream));
}

Result<ClusterTime> MongoConnection::ClusterTimeNow() {
  MV_ASSIGN_OR_RETURN(json reply, Command("admin", ordered_json{{"ping", 1}}));
  auto ts = reply.find("operationTime");
  if (ts == reply.end() || !ts->is_object() || !ts->contains("$timestamp")) {
    return Status::Unavailable(
        "MongoDB: the server reports no operationTime (a standalone server has no change "
        "streams; use a replica set or a sharded cluster)");
  }
  const json& t = (*ts)["$timestamp"];
  return ClusterTime{t.value("t", 0u), t.value("i", 0u)};
}

Result<std::unique_ptr<DocumentCursor>> MongoConnection::Find(const std::string& collection,
                                                              const json& filter, const Sort& sort,
                                                              std::optional<std::int64_t> limit) {
  ordered_json opts = {{"readConcern", {{"level", "majority"}}}};
  if (!sort.empty()) {
    ordered_json by = ordered_json::object();
    for (const auto& [field, direction] : sort) by[field] = direction;
    opts["sort"] = by;
  }
  if (limit) opts["limit"] = *limit;
  MV_ASSIGN_OR_RETURN(BsonPtr filter_bson, Bson(filter.dump()));
  MV_ASSIGN_OR_RETURN(BsonPtr opts_bson, Bson(opts.dump()));
  mongoc_client_t* client = mongoc_client_pool_pop(pool_->pool);
  mongoc_collection_t* coll =
      mongoc_client_get_collection(client, options_.names.database.c_str(), collection.c_str());
  mongoc_cursor_t* cursor =
      mongoc_collection_find_with_opts(coll, filter_bson.get(), opts_bson.get(), nullptr);
  return std::unique_ptr<DocumentCursor>(new FindCursor(pool_->pool, client, coll, cursor));
}

Result<std::int64_t> MongoConnection::Count(const std::string& collection, const json& filter) {
  MV_ASSIGN_OR_RETURN(BsonPtr filter_bson, Bson(filter.dump()));
  MV_ASSIGN_OR_RETURN(BsonPtr opts_bson, Bson(R"({"readConcern": {"level": "majority"}})"));
  Pool::Lease lease(pool_->pool);
  mongoc_collection_t* coll = mongoc_client_get_collection(
      lease.client, options_.names.database.c_str(), collection.c_str());
  bson_error_t error;
  std::int64_t n = mongoc_collection_count_documents(coll, filter_bson.get(), opts_bson.get(),
                                                     nullptr, nullptr, &error);
  mongoc_collection_destroy(coll);
  if (n < 0) return Status::Unavailable(fmt::format("MongoDB count: {}", error.message));
  return n;
}

}  // namespace mv::mongo
