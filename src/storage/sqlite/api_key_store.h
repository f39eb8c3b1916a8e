#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// Who an API key acts for: one organization, or an administrator (who must name the org
// of each request).
struct Principal {
  std::string org;  // empty for admins
  bool admin = false;
  std::string key_id;  // the key's public id ("key-" + 12 hex digits), for logs
};

// A key as `apikey list` shows it: never the key itself.
struct ApiKeyInfo {
  std::string id;
  std::string name;
  std::string org;  // empty for admin keys
  bool admin = false;
  std::string prefix;  // the first characters of the key, to recognize it
  Timestamp created_at{};
  std::optional<Timestamp> revoked_at;
};

// API keys in views.db. Only a SHA-256 hash of each key is stored; the key itself is
// shown once, at creation. Thread-safe (its own connection, serialized).
class ApiKeyStore {
 public:
  static Result<std::unique_ptr<ApiKeyStore>> Open(const std::string& views_db_path,
                                                   const Clock* clock);

  // Creates a key for `principal` (its key_id is ignored) with an optional name, and
  // returns the key text ("vmv_" + 48 hex digits) and its id.
  struct Created {
    std::string id;
    std::string key;
  };
  Result<Created> CreateKey(const Principal& principal, const std::string& name = "");
  Result<std::string> Create(const Principal& principal);  // CreateKey's key only
  // The principal of `key`; Unauthenticated for an unknown or revoked key.
  Result<Principal> Authenticate(const std::string& key);
  // Every key, oldest first.
  Result<std::vector<ApiKeyInfo>> List();
  // Revokes key `id` at once for every later Authenticate; NotFound for an unknown id,
  // Conflict when it is revoked already.
  Status Revoke(const std::string& id);

 private:
  ApiKeyStore(std::unique_ptr<Database> db, const Clock* clock)
      : db_(std::move(db)), clock_(clock) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
  const Clock* clock_;
};

// Lowercase hex SHA-256 of `text`.
std::string Sha256Hex(const std::string& text);

}  // namespace mv::storage::sqlite
