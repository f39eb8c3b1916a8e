#include "storage/sqlite/sqlite_db.h"

#include <fmt/format.h>

#include <filesystem>
#include <mutex>

namespace mv::storage::sqlite {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg =
      fmt::format("sqlite: {}: {} ({})", what, db ? sqlite3_errmsg(db) : "", sqlite3_errstr(rc));
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
    return Status::Corruption(std::move(msg));
  }
  if ((rc & 0xff) == SQLITE_BUSY) return Status::Unavailable(std::move(msg));
  return Status::IOError(std::move(msg));
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, std::int64_t v) {
  sqlite3_bind_int64(stmt_, index, v);
  return *this;
}
Statement& Statement::Bind(int index, double v) {
  sqlite3_bind_double(stmt_, index, v);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view v) {
  sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindBlob(int index, std::string_view v) {
  sqlite3_bind_blob(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Status Statement::Error(int rc) const {
  return SqliteError(sqlite3_db_handle(stmt_), rc, sqlite3_sql(stmt_));
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status err = Error(rc);
  sqlite3_reset(stmt_);
  return err;
}

Status Statement::Run() {
  for (;;) {
    auto more = Step();
    if (!more.ok()) return more.status();
    if (!*more) return Status::Ok();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::ColumnText(int col) const { return std::string(ColumnView(col)); }

std::string_view Statement::ColumnBlob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

std::string_view Statement::ColumnView(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

namespace {

// Once per process, before the first connection: SQLite's memory statistics take a global
// mutex on every allocation, which readers on many threads contend for (half the CPU of a
// busy report endpoint went to it); nothing here reads them.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const Options& options) {
  ConfigureSqliteOnce();
  sqlite3* handle = nullptr;
  int flags =
      options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status err = SqliteError(handle, rc, "open " + path);
    sqlite3_close(handle);
    return err;
  }
  std::unique_ptr<Database> db(new Database(handle));
  sqlite3_busy_timeout(handle, options.busy_timeout_ms);
  std::string pragmas = fmt::format(
      "PRAGMA foreign_keys=ON; PRAGMA cache_size=-{}; PRAGMA mmap_size={}; "
      "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint={};",
      options.cache_size_kib, options.mmap_bytes, options.wal_autocheckpoint_pages);
  if (!options.read_only) pragmas += "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
  MV_RETURN_IF_ERROR(db->Exec(pragmas));
  return db;
}

Result<std::int64_t> Database::TruncateWal() {
  std::int64_t before = WalBytes();
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "wal_checkpoint(TRUNCATE)");
  return before;
}

std::int64_t Database::WalBytes() const {
  const char* file = sqlite3_db_filename(db_, "main");
  if (file == nullptr || *file == '\0') return 0;
  std::error_code ec;
  auto size = std::filesystem::file_size(std::string(file) + "-wal", ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

Database::~Database() {
  cache_.clear();
  sqlite3_close(db_);
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    return SqliteError(db_, rc, msg.empty() ? sql : msg);
  }
  return Status::Ok();
}

Result<Statement*> Database::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare " + sql);
  auto owned = std::make_unique<Statement>(stmt);
  Statement* raw = owned.get();
  cache_.emplace(sql, std::move(owned));
  return raw;
}

Status Database::Run(const char* sql) {
  MV_ASSIGN_OR_RETURN(Statement * st, Prepare(sql));
  return st->Run();
}

Result<std::unique_ptr<Database::Transaction>> Database::BeginWrite() {
  MV_RETURN_IF_ERROR(Run("BEGIN IMMEDIATE"));
  return std::make_unique<Transaction>(this);
}

Result<std::unique_ptr<Database::Transaction>> Database::BeginRead() {
  MV_RETURN_IF_ERROR(Run("BEGIN"));
  return std::make_unique<Transaction>(this);
}

Database::Transaction::~Transaction() {
  if (!done_) (void)db_->Exec("ROLLBACK");
}

Status Database::Transaction::Commit() {
  done_ = true;
  Status s = db_->Run("COMMIT");
  if (!s.ok()) (void)db_->Exec("ROLLBACK");
  return s;
}

}  // namespace mv::storage::sqlite
