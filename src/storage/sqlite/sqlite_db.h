#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

namespace mv::storage::sqlite {

// A prepared statement. Bind parameters are 1-based, columns 0-based, as in SQLite.
// Not thread-safe: a statement belongs to its connection's thread.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, std::int64_t v);
  Statement& Bind(int index, int v) { return Bind(index, static_cast<std::int64_t>(v)); }
  Statement& Bind(int index, double v);
  Statement& Bind(int index, std::string_view v);
  Statement& Bind(int index, const std::string& v) { return Bind(index, std::string_view(v)); }
  Statement& Bind(int index, const char* v) { return Bind(index, std::string_view(v)); }
  Statement& BindNull(int index);
  // Binary data (stored with BLOB affinity, returned byte for byte).
  Statement& BindBlob(int index, std::string_view v);
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& v) {
    return v ? Bind(index, *v) : BindNull(index);
  }

  // Steps once: true with a row, false when done. Errors become IOError.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  // Resets for re-use and clears bindings.
  void Reset();

  std::int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
  double ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string ColumnText(int col) const;
  std::string_view ColumnView(int col) const;
  std::string_view ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  Status Error(int rc) const;
  sqlite3_stmt* stmt_;
};

// One SQLite connection with a cache of prepared statements. Not thread-safe: use one
// connection per thread (SQLite's WAL mode lets one writer and many readers overlap).
class Database {
 public:
  struct Options {
    bool read_only = false;
    int busy_timeout_ms = 5000;
    int cache_size_kib = 64 * 1024;
    // Off by default: with another connection writing, SQLite unmaps and remaps at every
    // read transaction, which cost the worker ~20% of its CPU (docs/benchmarks.md). Long
    // single transactions (snapshot scans, index builds) gain from it.
    std::int64_t mmap_bytes = 0;
    // Checkpoint the WAL on commit once it has this many pages; 0 leaves checkpoints to
    // the owner (see Database::Checkpoint).
    int wal_autocheckpoint_pages = 1000;
  };

  // SQLite's default ceiling on a map (SQLITE_MAX_MMAP_SIZE); beyond it, pages are read.
  static constexpr std::int64_t kMaxMmapBytes = 0x7fff0000;

  static Result<std::unique_ptr<Database>> Open(const std::string& path, const Options& options);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements without parameters (schema, pragmas).
  Status Exec(const std::string& sql);
  // A cached prepared statement, reset and ready to bind. The reference stays valid until
  // the connection closes or ForgetStatements() is called; do not use the same SQL text
  // re-entrantly.
  Result<Statement*> Prepare(const std::string& sql);
  // Drops cached statements (after tables they name were dropped or renamed).
  void ForgetStatements() { cache_.clear(); }
  // Runs one statement without parameters through the statement cache (BEGIN, COMMIT,
  // SAVEPOINT: statements run so often that preparing them each time shows).
  Status Run(const char* sql);

  // BEGIN IMMEDIATE .. COMMIT; the destructor of an uncommitted transaction rolls back.
  class Transaction {
   public:
    explicit Transaction(Database* db) : db_(db) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    Status Commit();

   private:
    Database* db_;
    bool done_ = false;
  };
  Result<std::unique_ptr<Transaction>> BeginWrite();
  // BEGIN (deferred): a consistent read snapshot until Commit/rollback.
  Result<std::unique_ptr<Transaction>> BeginRead();

  // A passive WAL checkpoint: copies what it can without waiting for readers or writers.
  Status Checkpoint() { return Exec("PRAGMA wal_checkpoint(PASSIVE)"); }
  // A truncating WAL checkpoint: waits (up to the busy timeout) for the writer and for
  // readers of older snapshots, copies every frame, and truncates the WAL to zero bytes.
  // Returns the WAL's size in bytes before it was truncated.
  Result<std::int64_t> TruncateWal();
  // The WAL's size in bytes as the file system has it (0 when there is none).
  std::int64_t WalBytes() const;

  std::int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
  int Changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// "sqlite: <what>: <sqlite message>" as an IOError (or Corruption for SQLITE_CORRUPT).
Status SqliteError(sqlite3* db, int rc, std::string_view what);

}  // namespace mv::storage::sqlite
