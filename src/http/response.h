#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"

namespace mv::http {

// The ONE mapping from Status to HTTP: status code and the error code word of the body
// {"error": {"code": "...", "message": "..."}}.
int HttpStatusOf(StatusCode code);
std::string ErrorCodeOf(StatusCode code);

void WriteJson(httplib::Response& res, int http_status, const nlohmann::json& body);
void WriteError(httplib::Response& res, const Status& status);
// An error with an explicit HTTP status and code word (routing, limits).
void WriteError(httplib::Response& res, int http_status, const std::string& code,
                const std::string& message);

}  // namespace mv::http
