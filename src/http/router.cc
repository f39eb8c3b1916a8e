#include "http/router.h"

namespace mv::http {

size_t Router::Add(std::string method, std::string_view pattern) {
  Route route{std::move(method), std::string(pattern), {}};
  std::string_view rest = pattern.substr(1);
  for (;;) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool placeholder = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    route.segments.emplace_back(placeholder ? "{}" : std::string(segment));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  routes_.push_back(std::move(route));
  return routes_.size() - 1;
}

Router::Match Router::Find(std::string_view method, const std::vector<std::string>& path) const {
  Match out;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    if (r.segments.size() != path.size()) continue;
    std::vector<std::string> params;
    bool matches = true;
    for (size_t s = 0; s < path.size() && matches; ++s) {
      if (r.segments[s] == "{}") {
        matches = !path[s].empty();
        params.push_back(path[s]);
      } else {
        matches = r.segments[s] == path[s];
      }
    }
    if (!matches) continue;
    if (r.method == method) {
      out.kind = Match::Kind::kFound;
      out.route = i;
      out.params = std::move(params);
      return out;
    }
    out.kind = Match::Kind::kWrongMethod;
    if (out.allowed.find(r.method) == std::string::npos) {
      out.allowed += (out.allowed.empty() ? "" : ", ") + r.method;
    }
  }
  return out;
}

}  // namespace mv::http
