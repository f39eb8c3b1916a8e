#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "api/key_store.h"
#include "base/result.h"

namespace mv::http {

using api::Principal;

// Turns an Authorization header into a Principal. Keys are looked up by hash; the answer
// for a known key is remembered for a second, so a key revoked in the store by any
// connection stops working within a second, and at once after Forget() (the revoke
// route). Thread-safe.
class Authenticator {
 public:
  explicit Authenticator(api::KeyStore* keys) : keys_(keys) {}
  // Unauthenticated when the header is missing, not "Bearer <key>", or the key is unknown
  // or revoked.
  Result<Principal> Authenticate(const std::string& authorization_header);
  // Drops every remembered answer (after a revocation).
  void Forget();

 private:
  static constexpr std::chrono::seconds kRecheckAfter{1};
  struct Known {
    Principal principal;
    std::chrono::steady_clock::time_point checked_at;
  };
  api::KeyStore* keys_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, Known> known_;  // key hash -> principal; guarded by mu_
};

// The tenant-isolation rule, applied to every tenant-scoped request, read or write:
// the organization a request acts for. A tenant key acts for its own org only: naming
// another org (in the query or the body) is PermissionDenied. An admin key must name
// the org, in `?org=` or in the body's `org` (all the same when both are given).
Result<std::string> ResolveOrg(const Principal& principal,
                               const std::optional<std::string>& query_org,
                               const std::optional<std::string>& body_org);

}  // namespace mv::http
