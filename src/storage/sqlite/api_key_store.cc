#include "storage/sqlite/api_key_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/time.h"

namespace mv::storage::sqlite {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS api_keys (
  key_hash TEXT PRIMARY KEY, org TEXT, is_admin INTEGER NOT NULL, key_prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL);
)sql";

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

Result<std::unique_ptr<ApiKeyStore>> ApiKeyStore::Open(const std::string& path,
                                                       const Clock* clock) {
  MV_ASSIGN_OR_RETURN(auto db, Database::Open(path, {}));
  MV_RETURN_IF_ERROR(db->Exec(kSchema));
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore(std::move(db), clock));
}

Result<std::string> ApiKeyStore::Create(const Principal& principal) {
  if (principal.admin != principal.org.empty()) {
    return Status::InvalidArgument("a key is either an admin key or names one org");
  }
  unsigned char random[24];
  if (RAND_bytes(random, sizeof random) != 1) return Status::Internal("no random bytes");
  std::string key = "vmv_" + Hex(random, sizeof random);
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("INSERT INTO api_keys (key_hash, org, is_admin, key_prefix, "
                                   "created_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st->Bind(1, Sha256Hex(key));
  if (principal.admin)
    st->BindNull(2);
  else
    st->Bind(2, principal.org);
  st->Bind(3, principal.admin ? 1 : 0).Bind(4, key.substr(0, 8)).Bind(5, ToMillis(clock_->Now()));
  MV_RETURN_IF_ERROR(st->Run());
  return key;
}

Result<Principal> ApiKeyStore::Authenticate(const std::string& key) {
  std::lock_guard lock(mu_);
  MV_ASSIGN_OR_RETURN(Statement * st,
                      db_->Prepare("SELECT org, is_admin FROM api_keys WHERE key_hash = ?1"));
  st->Bind(1, Sha256Hex(key));
  MV_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return Status::Unauthenticated("unknown API key");
  Principal p{st->ColumnText(0), st->ColumnInt(1) != 0};
  st->Reset();
  return p;
}

}  // namespace mv::storage::sqlite
