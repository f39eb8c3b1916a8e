#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/view_reader.h"
#include "base/clock.h"
#include "base/result.h"
#include "net/message.h"

namespace mv::http {

// The Monday of the ISO week `d` is in.
inline std::chrono::sys_days MondayOf(std::chrono::sys_days d) {
  return d - std::chrono::days(std::chrono::weekday(d).iso_encoding() - 1);
}

// Query-parameter access with validation. Every accessor returns InvalidArgument naming
// the parameter for a bad value. Thread-compatible (one per request).
class QueryParams {
 public:
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  explicit QueryParams(const Pairs& pairs) : pairs_(pairs) {}

  // InvalidArgument for any parameter not in `allowed`, or given twice.
  Status CheckAllowed(std::initializer_list<const char*> allowed) const;
  // The value, if present; values over 256 bytes are rejected.
  Result<std::optional<std::string>> Text(const char* name) const;
  Result<std::optional<std::string>> Id(const char* name) const;
  Result<std::optional<Timestamp>> Time(const char* name) const;
  Result<std::optional<std::int64_t>> Integer(const char* name, std::int64_t min,
                                              std::int64_t max) const;
  // A change token (core::ParseTokenText): a token viya-mv answered, or a MongoDB cluster
  // time "<seconds>.<increment>".
  Result<std::optional<core::ChangeToken>> Token(const char* name) const;
  // A UTC calendar date "YYYY-MM-DD".
  Result<std::optional<std::chrono::sys_days>> Date(const char* name) const;
  // An ISO week "YYYY-Www" (e.g. "2026-W45"), or a date "YYYY-MM-DD" standing for its
  // ISO week; answered as the Monday the week starts on.
  Result<std::optional<std::chrono::sys_days>> Week(const char* name) const;

 private:
  const std::string* Find(std::string_view name) const;
  const Pairs& pairs_;
};

// Parses a JSON request body; InvalidArgument with the parser's position on bad JSON.
Result<nlohmann::json> ParseJsonBody(const std::string& body);

// Opaque list cursors: a position in a keyset-paginated list, base64url text. A cursor
// carries no org (the org of a query always comes from the caller's key) and names the
// list it belongs to, so that one list's cursor is rejected by another. Decoding errors
// are InvalidArgument naming `cursor`.
//
// GET /v1/shipments.
std::string EncodeCursor(const api::ListPosition& position);
Result<api::ListPosition> DecodeCursor(const std::string& cursor);
// GET /v1/customers/summary: bound to the `sort` it was returned for (e.g. "-shipments").
std::string EncodeCustomerCursor(const std::string& sort, const api::CustomerPosition& position);
Result<api::CustomerPosition> DecodeCustomerCursor(const std::string& cursor,
                                                   const std::string& sort);
// GET /v1/exceptions.
std::string EncodeExceptionCursor(const api::ExceptionPosition& position);
Result<api::ExceptionPosition> DecodeExceptionCursor(const std::string& cursor);

}  // namespace mv::http
