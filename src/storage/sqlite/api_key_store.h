#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/key_store.h"
#include "base/clock.h"
#include "base/result.h"
#include "storage/sqlite/sqlite_db.h"

namespace mv::storage::sqlite {

using api::ApiKeyInfo;
using api::Principal;

// API keys in views.db. Only a SHA-256 hash of each key is stored; the key itself is
// shown once, at creation. Thread-safe (its own connection, serialized).
class ApiKeyStore final : public api::KeyStore {
 public:
  static Result<std::unique_ptr<ApiKeyStore>> Open(const std::string& views_db_path,
                                                   const Clock* clock);

  Result<Created> CreateKey(const Principal& principal, const std::string& name) override;
  Result<Principal> Authenticate(const std::string& key) override;
  Result<std::vector<ApiKeyInfo>> List() override;
  Status Revoke(const std::string& id) override;

 private:
  ApiKeyStore(std::unique_ptr<Database> db, const Clock* clock)
      : db_(std::move(db)), clock_(clock) {}
  std::mutex mu_;
  std::unique_ptr<Database> db_;  // guarded by mu_
  const Clock* clock_;
};

}  // namespace mv::storage::sqlite
