#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mv::http {

// Maps (method, path segments) to a route index. Patterns are paths whose segments are
// literal or a `{name}` placeholder matching any one non-empty segment:
// "/v1/shipments/{id}". Immutable once built, so thread-safe to share.
class Router {
 public:
  // Adds a route; returns its index (0, 1, ...).
  size_t Add(std::string method, std::string_view pattern);

  struct Match {
    enum class Kind { kFound, kNoPath, kWrongMethod } kind = Kind::kNoPath;
    size_t route = 0;
    std::vector<std::string> params;  // placeholder values, in pattern order
    std::string allowed;              // kWrongMethod: the methods the path has, "GET, POST"
  };
  Match Find(std::string_view method, const std::vector<std::string>& path) const;

  // The pattern of a route, as given to Add (for metrics labels and logs).
  const std::string& pattern(size_t route) const { return routes_[route].pattern; }

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{}" for a placeholder
  };
  std::vector<Route> routes_;
};

}  // namespace mv::http
