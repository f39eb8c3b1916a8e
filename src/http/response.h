#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "net/message.h"

namespace mv::http {

// The ONE mapping from Status to HTTP: status code and the error code word of the body
// {"error": {"code": "...", "message": "..."}}.
int HttpStatusOf(StatusCode code);
std::string ErrorCodeOf(StatusCode code);

// Bodies are dumped with invalid UTF-8 replaced, so that echoing a caller's bytes in a
// message can never fail the answer.
void WriteJson(net::Response& res, int http_status, const nlohmann::json& body);
void WriteError(net::Response& res, const Status& status);
// An error with an explicit HTTP status and code word (routing).
void WriteError(net::Response& res, int http_status, const std::string& code,
                const std::string& message);

}  // namespace mv::http
