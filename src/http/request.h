#pragma once

#include <httplib.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "storage/sqlite/view_queries.h"

namespace mv::http {

// Query-parameter access with validation. Every accessor returns InvalidArgument naming
// the parameter for a bad value. Thread-compatible (one per request).
class QueryParams {
 public:
  explicit QueryParams(const httplib::Request& req) : req_(req) {}

  // InvalidArgument for any parameter not in `allowed`, or given twice.
  Status CheckAllowed(std::initializer_list<const char*> allowed) const;
  // The value, if present; values over 256 bytes are rejected.
  Result<std::optional<std::string>> Text(const char* name) const;
  Result<std::optional<std::string>> Id(const char* name) const;
  Result<std::optional<Timestamp>> Time(const char* name) const;
  Result<std::optional<std::int64_t>> Integer(const char* name, std::int64_t min,
                                              std::int64_t max) const;

 private:
  const httplib::Request& req_;
};

// Parses a JSON request body; InvalidArgument with the parser's position on bad JSON.
Result<nlohmann::json> ParseJsonBody(const httplib::Request& req);

// The opaque list cursor: a position in a keyset-paginated list. It carries no org; the
// org of a query always comes from the caller's key.
std::string EncodeCursor(const storage::sqlite::ListPosition& position);
Result<storage::sqlite::ListPosition> DecodeCursor(const std::string& cursor);

}  // namespace mv::http
