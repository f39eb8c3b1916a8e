#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

// Who an API key acts for: one organization, or an administrator (who must name the org
// of each request).
struct Principal {
  std::string org;  // empty for admins
  bool admin = false;
};

// API keys in views.db. Only a SHA-256 hash of each key is stored; the key itself is
// shown once, at creation. Thread-safe (its own connection, serialized).
class ApiKeyStore {
 public:
  static Result<std::unique_ptr<ApiKeyStore>> Open(const std::string& views_db_path,
                                                   const Clock* clock);

  // Creates a key for `principal` and returns the key text ("vmv_" + 48 hex digits).
  Result<std::string> Create(const Principal& principal);
  // The principal of `key`; Unauthenticated for an unknown key.
  Result<Principal> Authenticate(const std::string& key);

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
