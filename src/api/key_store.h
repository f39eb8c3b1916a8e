#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/sha256.h"

namespace mv::api {

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

// A new key as every key store makes it: the key text ("vmv_" + 48 hex digits, shown once),
// the hash stored in its place, and its public id ("key-" + the hash's first 12 hex digits:
// stable, and known for keys made before ids existed).
struct MintedKey {
  std::string key;
  std::string hash;
  std::string id;
};
inline constexpr const char* kKeyIdPrefix = "key-";
inline constexpr size_t kKeyIdHexDigits = 12;
inline std::string KeyIdOf(const std::string& hash) {
  return kKeyIdPrefix + hash.substr(0, kKeyIdHexDigits);
}
// InvalidArgument for a name over 128 characters or a principal that is neither an admin
// nor of one org; Internal without random bytes.
inline Result<MintedKey> MintKey(const Principal& principal, const std::string& name) {
  if (name.size() > 128) return Status::InvalidArgument("a key's name is at most 128 characters");
  if (principal.admin != principal.org.empty()) {
    return Status::InvalidArgument("a key is either an admin key or names one org");
  }
  std::string random = RandomHex(24);
  if (random.empty()) return Status::Internal("no random bytes");
  MintedKey k;
  k.key = "vmv_" + random;
  k.hash = Sha256Hex(k.key);
  k.id = KeyIdOf(k.hash);
  return k;
}

// Where API keys live. Only a hash of each key is stored; the key itself is shown once, at
// creation. Thread-safe.
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Creates a key for `principal` (its key_id is ignored) with an optional name, and
  // returns the key text ("vmv_" + 48 hex digits) and its id.
  struct Created {
    std::string id;
    std::string key;
  };
  virtual Result<Created> CreateKey(const Principal& principal, const std::string& name) = 0;
  // CreateKey's key only.
  Result<std::string> Create(const Principal& principal) {
    MV_ASSIGN_OR_RETURN(Created created, CreateKey(principal, ""));
    return created.key;
  }
  // The principal of `key`; Unauthenticated for an unknown or revoked key.
  virtual Result<Principal> Authenticate(const std::string& key) = 0;
  // Every key, oldest first.
  virtual Result<std::vector<ApiKeyInfo>> List() = 0;
  // Revokes key `id` at once for every later Authenticate; NotFound for an unknown id,
  // Conflict when it is revoked already.
  virtual Status Revoke(const std::string& id) = 0;
};

}  // namespace mv::api
