#include "mongo/view_driver.h"

#include <fmt/format.h>
#include <mongoc/mongoc.h>

#include "base/uri.h"
#include "mongo/bson.h"

namespace mv::mongo {

struct MongoViewDatabase::Pool {
  mongoc_uri_t* uri = nullptr;
  mongoc_client_pool_t* pool = nullptr;
  ~Pool() {
    if (pool) mongoc_client_pool_destroy(pool);
    if (uri) mongoc_uri_destroy(uri);
  }
};

namespace {

// A client from the pool for one operation, returned when the lease ends.
struct Lease {
  mongoc_client_pool_t* pool;
  mongoc_client_t* client;
  explicit Lease(mongoc_client_pool_t* p) : pool(p), client(mongoc_client_pool_pop(p)) {}
  Lease(const Lease&) = delete;
  ~Lease() { mongoc_client_pool_push(pool, client); }
};

// A collection handle, destroyed with this object.
struct Collection {
  mongoc_collection_t* c;
  Collection(mongoc_client_t* client, const std::string& db, const std::string& name)
      : c(mongoc_client_get_collection(client, db.c_str(), name.c_str())) {}
  Collection(const Collection&) = delete;
  ~Collection() { mongoc_collection_destroy(c); }
};

// A session, ended with this object.
struct Session {
  mongoc_client_session_t* s = nullptr;
  Session(const Session&) = delete;
  explicit Session(mongoc_client_t* client) {
    bson_error_t error;
    s = mongoc_client_start_session(client, nullptr, &error);
  }
  ~Session() {
    if (s) mongoc_client_session_destroy(s);
  }
};

bool Unreachable(const bson_error_t& error) {
  return error.domain == MONGOC_ERROR_STREAM || error.domain == MONGOC_ERROR_SERVER_SELECTION;
}

Status DriverError(const std::string& what, const bson_error_t& error) {
  std::string message = fmt::format("MongoDB views {}: {}", what, error.message);
  return Unreachable(error) ? Status::Unavailable(message) : Status::Internal(message);
}

// `opts` with the session's id appended (when there is a session).
Result<BsonPtr> WithSession(Document opts, mongoc_client_session_t* session) {
  MV_ASSIGN_OR_RETURN(BsonPtr b, Bson(opts.dump()));
  if (session != nullptr) {
    bson_error_t error;
    if (!mongoc_client_session_append(session, b.get(), &error)) {
      return Status::Internal(fmt::format("MongoDB session: {}", error.message));
    }
  }
  return b;
}

// A cursor of a find or aggregate command, destroyed with this object.
struct Cursor {
  mongoc_cursor_t* c = nullptr;
  Cursor() = default;
  Cursor(const Cursor&) = delete;
  ~Cursor() {
    if (c) mongoc_cursor_destroy(c);
  }
};

// Opens the cursor of `command` (find or aggregate) on `coll`; majority read concern
// outside a session's transaction.
Status OpenCursor(mongoc_collection_t* coll, const Document& command,
                  mongoc_client_session_t* session, Cursor* cursor) {
  const std::string kind = command.begin().key();
  Document opts = Document::object();
  if (session == nullptr) opts["readConcern"] = {{"level", "majority"}};
  if (kind == "find") {
    for (const char* part : {"sort", "limit", "projection"}) {
      if (command.contains(part)) opts[part] = command[part];
    }
    MV_ASSIGN_OR_RETURN(BsonPtr filter, Bson(command.value("filter", Document::object()).dump()));
    MV_ASSIGN_OR_RETURN(BsonPtr o, WithSession(opts, session));
    cursor->c = mongoc_collection_find_with_opts(coll, filter.get(), o.get(), nullptr);
    return Status::Ok();
  }
  if (kind == "aggregate") {
    Document pipeline = {{"pipeline", command.value("pipeline", Document::array())}};
    MV_ASSIGN_OR_RETURN(BsonPtr p, Bson(pipeline.dump()));
    MV_ASSIGN_OR_RETURN(BsonPtr o, WithSession(opts, session));
    cursor->c = mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, p.get(), o.get(), nullptr);
    return Status::Ok();
  }
  return Status::Internal("MongoDB views: not a read command: " + kind);
}

// Reads the cursor to its end; `transient` tells whether its error is labelled
// TransientTransactionError.
Status Drain(Cursor& cursor, const std::function<Status(Document)>& fn, bool* transient) {
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.c, &doc)) MV_RETURN_IF_ERROR(fn(ToCanonical(doc)));
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor.c, &error, &reply)) {
    if (transient != nullptr && reply != nullptr) {
      *transient = mongoc_error_has_label(reply, "TransientTransactionError");
    }
    return DriverError("read", error);
  }
  return Status::Ok();
}

// Runs one write command (insert, update or delete) as the driver's bulk write, within
// `session`'s transaction; the number of documents it inserted, matched or removed in `n`,
// the reply in `reply` (initialized either way).
Status RunWrite(mongoc_client_t* client, const std::string& database,
                mongoc_client_session_t* session, const Document& command, std::int64_t* n,
                bson_t* reply) {
  bson_init(reply);
  const std::string kind = command.begin().key();
  const std::string name = command.begin().value().get<std::string>();
  Collection coll(client, database, name);
  MV_ASSIGN_OR_RETURN(BsonPtr opts, WithSession({{"ordered", true}}, session));
  mongoc_bulk_operation_t* bulk =
      mongoc_collection_create_bulk_operation_with_opts(coll.c, opts.get());
  struct BulkGuard {
    mongoc_bulk_operation_t* b;
    ~BulkGuard() { mongoc_bulk_operation_destroy(b); }
  } guard{bulk};
  bson_error_t error;
  size_t queued = 0;
  auto added = [&](bool ok) -> Status {
    ++queued;
    return ok ? Status::Ok() : DriverError(kind + " " + name, error);
  };
  if (kind == "insert") {
    for (const auto& d : command.at("documents")) {
      MV_ASSIGN_OR_RETURN(BsonPtr doc, Bson(d.dump()));
      MV_RETURN_IF_ERROR(
          added(mongoc_bulk_operation_insert_with_opts(bulk, doc.get(), nullptr, &error)));
    }
  } else if (kind == "update") {
    for (const auto& s : command.at("updates")) {
      MV_ASSIGN_OR_RETURN(BsonPtr q, Bson(s.at("q").dump()));
      MV_ASSIGN_OR_RETURN(BsonPtr u, Bson(s.at("u").dump()));
      MV_ASSIGN_OR_RETURN(BsonPtr o, Bson(Document{{"upsert", s.value("upsert", false)}}.dump()));
      const Document& update = s.at("u");
      bool operators = update.is_object() && !update.empty() && update.begin().key()[0] == '$';
      bool ok =
          !operators
              ? mongoc_bulk_operation_replace_one_with_opts(bulk, q.get(), u.get(), o.get(), &error)
          : s.value("multi", false)
              ? mongoc_bulk_operation_update_many_with_opts(bulk, q.get(), u.get(), o.get(), &error)
              : mongoc_bulk_operation_update_one_with_opts(bulk, q.get(), u.get(), o.get(), &error);
      MV_RETURN_IF_ERROR(added(ok));
    }
  } else if (kind == "delete") {
    for (const auto& d : command.at("deletes")) {
      MV_ASSIGN_OR_RETURN(BsonPtr q, Bson(d.at("q").dump()));
      bool ok = d.value("limit", 0) == 1
                    ? mongoc_bulk_operation_remove_one_with_opts(bulk, q.get(), nullptr, &error)
                    : mongoc_bulk_operation_remove_many_with_opts(bulk, q.get(), nullptr, &error);
      MV_RETURN_IF_ERROR(added(ok));
    }
  } else {
    return Status::Internal("MongoDB views: not a write command: " + kind);
  }
  *n = 0;
  if (queued == 0) return Status::Ok();
  bson_destroy(reply);
  bool ok = mongoc_bulk_operation_execute(bulk, reply, &error) != 0;
  Document r = ToCanonical(reply);
  auto count = [&](const char* field) -> std::int64_t {
    auto it = r.find(field);
    if (it == r.end()) return 0;
    if (it->is_number()) return it->get<std::int64_t>();
    if (it->is_object() && it->size() == 1)
      return std::stoll(it->begin().value().get<std::string>());
    return 0;
  };
  *n = kind == "insert"   ? count("nInserted")
       : kind == "update" ? count("nMatched") + count("nUpserted")
                          : count("nRemoved");
  if (ok) return Status::Ok();
  if (error.code == kDuplicateKey) {
    return Status::Conflict(fmt::format("MongoDB views {} {}: {}", kind, name, error.message));
  }
  return DriverError(kind + " " + name, error);
}

struct TransactContext {
  mongoc_client_t* client;
  const std::string* database;
  const std::vector<ViewDatabase::Write>* writes;
  Status status;
};

bool TransactCallback(mongoc_client_session_t* session, void* ctx, bson_t** reply,
                      bson_error_t* error) {
  auto* c = static_cast<TransactContext*>(ctx);
  c->status = Status::Ok();
  for (const auto& w : *c->writes) {
    std::int64_t n = 0;
    bson_t r;
    Status s = RunWrite(c->client, *c->database, session, w.command, &n, &r);
    if (s.ok() && w.expect_matched && n != *w.expect_matched) {
      s = Status::Conflict(
          fmt::format("MongoDB views: {} {} matched {} documents, not {}", w.command.begin().key(),
                      w.command.begin().value().get<std::string>(), n, *w.expect_matched));
    }
    if (!s.ok()) {
      c->status = s;
      if (reply != nullptr) *reply = bson_copy(&r);
      bson_destroy(&r);
      bson_set_error(error, MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG, "%s",
                     s.message().c_str());
      return false;
    }
    bson_destroy(&r);
  }
  return true;
}

// Reads within a session's snapshot transaction.
class SessionReads final : public ViewDatabase::SnapshotReads {
 public:
  SessionReads(mongoc_client_t* client, const std::string& database,
               mongoc_client_session_t* session)
      : client_(client), database_(database), session_(session) {}
  Result<std::vector<Document>> Read(const Document& command) override {
    Collection coll(client_, database_, command.begin().value().get<std::string>());
    Cursor cursor;
    MV_RETURN_IF_ERROR(OpenCursor(coll.c, command, session_, &cursor));
    std::vector<Document> docs;
    MV_RETURN_IF_ERROR(Drain(
        cursor,
        [&](Document d) {
          docs.push_back(std::move(d));
          return Status::Ok();
        },
        &transient_));
    return docs;
  }
  bool transient() const { return transient_; }

 private:
  mongoc_client_t* client_;
  const std::string& database_;
  mongoc_client_session_t* session_;
  bool transient_ = false;
};

}  // namespace

MongoViewDatabase::MongoViewDatabase(std::string database, std::unique_ptr<Pool> pool)
    : database_(std::move(database)), pool_(std::move(pool)) {}

MongoViewDatabase::~MongoViewDatabase() = default;

Result<std::unique_ptr<MongoViewDatabase>> MongoViewDatabase::Connect(const std::string& uri,
                                                                      const std::string& database) {
  InitDriver();
  auto pool = std::make_unique<Pool>();
  bson_error_t error;
  pool->uri = mongoc_uri_new_with_error(uri.c_str(), &error);
  if (pool->uri == nullptr) {
    return Status::InvalidArgument(
        fmt::format("views.uri: not a MongoDB connection string ({})", RedactUri(uri)));
  }
  pool->pool = mongoc_client_pool_new(pool->uri);
  if (pool->pool == nullptr) return Status::InvalidArgument("views.uri: no client pool");
  mongoc_client_pool_set_error_api(pool->pool, MONGOC_ERROR_API_VERSION_2);
  mongoc_client_pool_set_appname(pool->pool, "viya-mv");
  return std::unique_ptr<MongoViewDatabase>(new MongoViewDatabase(database, std::move(pool)));
}

Status MongoViewDatabase::Transact(const std::vector<Write>& writes) {
  if (writes.empty()) return Status::Ok();
  Lease lease(pool_->pool);
  Session session(lease.client);
  if (session.s == nullptr) return Status::Unavailable("MongoDB views: no session");
  mongoc_transaction_opt_t* opts = mongoc_transaction_opts_new();
  mongoc_write_concern_t* wc = mongoc_write_concern_new();
  mongoc_write_concern_set_wmajority(wc, 0);
  mongoc_transaction_opts_set_write_concern(opts, wc);
  TransactContext ctx{lease.client, &database_, &writes, Status::Ok()};
  bson_t reply;
  bson_error_t error;
  bool ok = mongoc_client_session_with_transaction(session.s, &TransactCallback, opts, &ctx, &reply,
                                                   &error);
  bson_destroy(&reply);
  mongoc_write_concern_destroy(wc);
  mongoc_transaction_opts_destroy(opts);
  if (ok) return Status::Ok();
  if (!ctx.status.ok()) return ctx.status;
  return DriverError("transaction", error);
}

Status MongoViewDatabase::Query(const Document& command,
                                const std::function<Status(Document)>& fn) {
  Lease lease(pool_->pool);
  Collection coll(lease.client, database_, command.begin().value().get<std::string>());
  Cursor cursor;
  MV_RETURN_IF_ERROR(OpenCursor(coll.c, command, nullptr, &cursor));
  return Drain(cursor, fn, nullptr);
}

Status MongoViewDatabase::Snapshot(const std::function<Status(SnapshotReads&)>& fn) {
  Lease lease(pool_->pool);
  Session session(lease.client);
  if (session.s == nullptr) return Status::Unavailable("MongoDB views: no session");
  mongoc_transaction_opt_t* opts = mongoc_transaction_opts_new();
  mongoc_read_concern_t* rc = mongoc_read_concern_new();
  mongoc_read_concern_set_level(rc, MONGOC_READ_CONCERN_LEVEL_SNAPSHOT);
  mongoc_transaction_opts_set_read_concern(opts, rc);
  Status status = Status::Ok();
  for (int attempt = 0; attempt < 3; ++attempt) {
    bson_error_t error;
    if (!mongoc_client_session_start_transaction(session.s, opts, &error)) {
      status = DriverError("snapshot", error);
      break;
    }
    SessionReads reads(lease.client, database_, session.s);
    status = fn(reads);
    if (status.ok()) {
      bson_t reply;
      bool committed = mongoc_client_session_commit_transaction(session.s, &reply, &error);
      bool transient = mongoc_error_has_label(&reply, "TransientTransactionError");
      bson_destroy(&reply);
      if (committed) break;
      status = DriverError("snapshot", error);
      if (!transient) break;
      continue;
    }
    (void)mongoc_client_session_abort_transaction(session.s, &error);
    if (!reads.transient()) break;
  }
  mongoc_read_concern_destroy(rc);
  mongoc_transaction_opts_destroy(opts);
  return status;
}

Result<Document> MongoViewDatabase::Command(const Document& command) {
  MV_ASSIGN_OR_RETURN(BsonPtr cmd, Bson(command.dump()));
  Lease lease(pool_->pool);
  mongoc_database_t* db = mongoc_client_get_database(lease.client, database_.c_str());
  bson_t reply;
  bson_error_t error;
  bool ok = mongoc_database_command_with_opts(db, cmd.get(), nullptr, nullptr, &reply, &error);
  Document out = ToCanonical(&reply);
  bson_destroy(&reply);
  mongoc_database_destroy(db);
  if (!ok && (!out.is_object() || out.empty())) {
    return Status::Unavailable(
        fmt::format("MongoDB views {}: {}", command.begin().key(), error.message));
  }
  return out;
}

}  // namespace mv::mongo
