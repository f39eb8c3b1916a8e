// ParseRequestBytes, the server's own request parser (Boost.Beast with the server's limits
// and target decoding), with small limits: a 4 KiB head, a 64 KiB body. Checks: errors are
// only InvalidArgument (400), PayloadTooLarge (413) or Unavailable (incomplete); a parsed
// request has a method, a body within the limit, and path and query that ParseTarget gives
// for its target.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "net/http_server.h"
#include "net/message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mv::net::ServerOptions options;
  options.max_header_bytes = 4096;
  options.max_body_bytes = 65536;
  const auto request = mv::net::ParseRequestBytes(bytes, options);
  if (!request.ok()) {
    const mv::StatusCode code = request.status().code();
    FUZZ_CHECK(code == mv::StatusCode::kInvalidArgument ||
                   code == mv::StatusCode::kPayloadTooLarge || code == mv::StatusCode::kUnavailable,
               request.status().ToString());
    return 0;
  }
  FUZZ_CHECK(!request->method.empty(), "empty method");
  FUZZ_CHECK(request->body.size() <= static_cast<std::size_t>(options.max_body_bytes),
             "body of " + std::to_string(request->body.size()) + " bytes");
  std::vector<std::string> path;
  std::vector<std::pair<std::string, std::string>> query;
  const mv::Status target = mv::net::ParseTarget(request->target, &path, &query);
  FUZZ_CHECK(target.ok() && path == request->path && query == request->query,
             "target " + request->target + ": " + target.ToString());
  return 0;
}
