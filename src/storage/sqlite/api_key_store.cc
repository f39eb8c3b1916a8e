#include "storage/sqlite/api_key_store.h"

#include <fmt/format.h>

#include "base/sha256.h"
#include "base/time.h"

namespace mv::storage::sqlite {
namespace {

// A key's id is "key-" and the first 12 hex digits of its hash: stable, public, and known
// for keys created before ids existed.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash TEXT PRIMARY KEY, org TEXT, is_admin INTEGER NOT NULL, key_prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL, name TEXT NOT NULL DEFAULT '', revoked_at INTEGER);
CREATE INDEX IF NOT EXISTS api_keys_by_id ON api_keys (substr(key_hash, 1, 12));
)sql";

// Adds the columns of later releases to an older api_keys table.
Status Upgrade(Database& db) {
  MV_ASSIGN_OR_RETURN(Statement * st, db.Prepare("SELECT name FROM pragma_table_info('api_keys')"));
  bool has_name = false, has_revoked = false;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    has_name = has_name || st->ColumnText(0) == "name";
    has_revoked = has_revoked || st->ColumnText(0) == "revoked_at";
  }
  st->Reset();
  if (!has_name)
    MV_RETURN_IF_ERROR(db.Exec("ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT ''"));
  if (!has_revoked)
    MV_RETURN_IF_ERROR(db.Exec("ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER"));
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ApiKeyStore>> ApiKeyStore::Open(const std::string& path,
                                                       const Clock* clock) {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, {}));
  MV_RETURN_IF_ERROR(
      db->Exec("CREATE TABLE IF NOT EXISTS api_keys (key_hash TEXT PRIMARY KEY, org TEXT, is_admin "
               "INTEGER NOT NULL, key_prefix TEXT NOT NULL, created_at INTEGER NOT NULL)"));
  MV_RETURN_IF_ERROR(Upgrade(*db));
  MV_RETURN_IF_ERROR(db->Exec(kSchema));
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore(std::move(db), clock));
}

Result<ApiKeyStore::Created> ApiKeyStore::CreateKey(const Principal& principal,
                                                    const std::string& name) {
  MV_ASSIGN_OR_RETURN(api::MintedKey minted, api::MintKey(principal, name));
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("INSERT INTO api_keys (key_hash, org, is_admin, key_prefix, "
                                   "created_at, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st->Bind(1, minted.hash).Bind(6, name);
  if (principal.admin)
    st->BindNull(2);
  else
    st->Bind(2, principal.org);
  st->Bind(3, principal.admin ? 1 : 0).Bind(4, minted.key.substr(0, 8));
  st->Bind(5, ToMillis(clock_->Now()));
  MV_RETURN_IF_ERROR(st->Run());
  return Created{minted.id, minted.key};
}

Result<Principal> ApiKeyStore::Authenticate(const std::string& key) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT org, is_admin FROM api_keys WHERE key_hash = ?1 "
                                   "AND revoked_at IS NULL"));
  std::string hash = Sha256Hex(key);
  st->Bind(1, hash);
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Status::Unauthenticated("unknown or revoked API key");
  Principal p{st->ColumnText(0), st->ColumnInt(1) != 0, api::KeyIdOf(hash)};
  st->Reset();
  return p;
}

Result<std::vector<ApiKeyInfo>> ApiKeyStore::List() {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT substr(key_hash, 1, 12), name, org, is_admin, "
                                   "key_prefix, created_at, revoked_at FROM api_keys "
                                   "ORDER BY created_at, key_hash"));
  std::vector<ApiKeyInfo> out;
  for (;;) {
    MV_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    ApiKeyInfo k;
    k.id = api::kKeyIdPrefix + st->ColumnText(0);
    k.name = st->ColumnText(1);
    k.org = st->ColumnText(2);
    k.admin = st->ColumnInt(3) != 0;
    k.prefix = st->ColumnText(4);
    k.created_at = FromMillis(st->ColumnInt(5));
    if (!st->ColumnIsNull(6)) k.revoked_at = FromMillis(st->ColumnInt(6));
    out.push_back(std::move(k));
  }
  st->Reset();
  return out;
}

Status ApiKeyStore::Revoke(const std::string& id) {
  std::string_view hex = id;
  if (!hex.starts_with(api::kKeyIdPrefix) || hex.size() != 4 + api::kKeyIdHexDigits ||
      hex.substr(4).find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return Status::NotFound(
        fmt::format("no API key {} (ids look like key-0123456789ab)", id.substr(0, 64)));
  }
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("UPDATE api_keys SET revoked_at = ?2 WHERE "
                                   "substr(key_hash, 1, 12) = ?1 AND revoked_at IS NULL"));
  st->Bind(1, hex.substr(4)).Bind(2, ToMillis(clock_->Now()));
  MV_RETURN_IF_ERROR(st->Run());
  if (db_->Changes() > 0) return Status::Ok();
  MV_ASSIGN_OR_RETURN(Statement * known,
                      db_->Prepare("SELECT 1 FROM api_keys WHERE substr(key_hash, 1, 12) = ?1"));
  known->Bind(1, hex.substr(4));
  MV_ASSIGN_OR_RETURN(bool exists, known->Step());
  known->Reset();
  if (!exists) return Status::NotFound(fmt::format("no API key {}", id));
  return Status::Conflict(fmt::format("API key {} is revoked already", id));
}

}  // namespace mv::storage::sqlite
