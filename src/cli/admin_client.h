#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace mv::cli {

// A blocking client of a running server's admin API, for the commands given --url. One
// connection per call; thread-compatible.
class AdminClient {
 public:
  // `url` is http://HOST:PORT (a trailing slash is fine); `key` an admin key.
  // InvalidArgument for anything else.
  static Result<AdminClient> Create(const std::string& url, std::string key);

  // Sends `method target` and returns the JSON answer of a 2xx. Otherwise the server's error
  // as a Status of the matching code (404 NotFound, 409 Conflict, ...) with its message,
  // or Unavailable when the server cannot be reached.
  Result<nlohmann::json> Call(const std::string& method, const std::string& target) const;

 private:
  AdminClient(std::string host, std::string port, std::string key)
      : host_(std::move(host)), port_(std::move(port)), key_(std::move(key)) {}
  std::string host_, port_, key_;
  std::chrono::seconds timeout_{30};
};

}  // namespace mv::cli
