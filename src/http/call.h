#pragma once

// Internal to src/http: what a route handler sees of one authenticated request, and the
// helpers the route files share.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "core/change_event.h"
#include "http/auth.h"
#include "http/request.h"
#include "net/message.h"

namespace mv::http {

struct Call {
  const net::Request& req;
  net::Response& res;
  Principal principal;
  QueryParams params;
  std::vector<std::string> path_params;  // the route's {placeholders}, in order

  // For handlers that finish later (writes): `start` runs once the handler has returned
  // Ok; it calls `finish` exactly once, from any thread, after filling `res` (with Ok) or
  // with the error to answer.
  using Finish = std::function<void(Status)>;
  void Defer(std::function<void(Finish)> start) { deferred = std::move(start); }
  std::function<void(Finish)> deferred;

  // The org this request acts for (see ResolveOrg), given the org named in its body.
  Result<std::string> Org(const std::optional<std::string>& body_org = std::nullopt) const {
    MV_ASSIGN_OR_RETURN(auto query_org, params.Id("org"));
    return ResolveOrg(principal, query_org, body_org);
  }
};

// Change tokens are answered as strings (they may outgrow a JSON double's integers).
inline std::string TokenText(core::ChangeToken t) { return std::to_string(t); }

// A read's answer: 200, the JSON body, and the token the views had applied (X-View-Token).
void AnswerRead(net::Response& res, core::ChangeToken view_token, const nlohmann::json& body);
// The same with a body that is JSON text already.
void AnswerRead(net::Response& res, core::ChangeToken view_token, std::string json_body);

// Limits shared by the keyset-paginated lists.
inline constexpr std::int64_t kDefaultLimit = 50;
inline constexpr std::int64_t kMaxLimit = 500;

// `limit` of a keyset-paginated list.
inline Result<size_t> Limit(const Call& c) {
  MV_ASSIGN_OR_RETURN(auto limit, c.params.Integer("limit", 1, kMaxLimit));
  return static_cast<size_t>(limit.value_or(kDefaultLimit));
}

// `cursor` of a keyset-paginated list, decoded by `decode` (text -> Result<Position>);
// absent when not given.
template <typename Position, typename Decode>
Result<std::optional<Position>> CursorParam(const Call& c, Decode decode) {
  MV_ASSIGN_OR_RETURN(auto text, c.params.Text("cursor"));
  if (!text) return std::optional<Position>();
  MV_ASSIGN_OR_RETURN(Position position, decode(*text));
  return std::optional<Position>(std::move(position));
}

}  // namespace mv::http
