#include "http/auth.h"

#include "base/sha256.h"
#include "core/domain.h"

namespace mv::http {

Result<Principal> Authenticator::Authenticate(const std::string& header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty()) return Status::Unauthenticated("missing Authorization: Bearer <api key>");
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0 ||
      header.size() > 256) {
    return Status::Unauthenticated("Authorization must be 'Bearer <api key>'");
  }
  std::string key = header.substr(kBearer.size());
  std::string hash = Sha256Hex(key);
  const auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock lock(mu_);
    auto it = known_.find(hash);
    if (it != known_.end() && now - it->second.checked_at < kRecheckAfter) {
      return it->second.principal;
    }
  }
  auto p = keys_->Authenticate(key);
  std::unique_lock lock(mu_);
  if (!p.ok()) {
    known_.erase(hash);
    return p.status();
  }
  known_[hash] = {*p, now};
  return *p;
}

void Authenticator::Forget() {
  std::unique_lock lock(mu_);
  known_.clear();
}

Result<std::string> ResolveOrg(const Principal& principal,
                               const std::optional<std::string>& query_org,
                               const std::optional<std::string>& body_org) {
  for (const auto* named : {&query_org, &body_org}) {
    if (*named && !core::IsValidId(**named)) {
      return Status::InvalidArgument("org: must be 1-128 characters of letters, digits and -_.:@");
    }
  }
  if (query_org && body_org && *query_org != *body_org) {
    return Status::InvalidArgument("org: the query names '" + *query_org + "', the body '" +
                                   *body_org + "'");
  }
  const std::optional<std::string>& named = query_org ? query_org : body_org;
  if (principal.admin) {
    if (!named) return Status::InvalidArgument("org: an admin key must name the org (?org=)");
    return *named;
  }
  if (named && *named != principal.org) {
    return Status::PermissionDenied("this API key does not act for org '" + *named + "'");
  }
  return principal.org;
}

}  // namespace mv::http
