#include "http/response.h"

namespace mv::http {

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kPayloadTooLarge:
      return 413;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kHistoryLost:
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ErrorCodeOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kConflict:
      return "conflict";
    case StatusCode::kPayloadTooLarge:
      return "payload_too_large";
    case StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kHistoryLost:
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal:
      return "internal";
  }
  return "internal";
}

void WriteJson(net::Response& res, int http_status, const nlohmann::json& body) {
  res.status = http_status;
  res.headers.Set("Content-Type", "application/json");
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WriteError(net::Response& res, int http_status, const std::string& code,
                const std::string& message) {
  WriteJson(res, http_status, {{"error", {{"code", code}, {"message", message}}}});
}

void WriteError(net::Response& res, const Status& status) {
  // Server-side failures do not leak internals to callers; they are logged instead.
  int http_status = HttpStatusOf(status.code());
  std::string message = http_status >= 500 && status.code() != StatusCode::kDeadlineExceeded &&
                                status.code() != StatusCode::kUnavailable
                            ? "internal error"
                            : status.message();
  WriteError(res, http_status, ErrorCodeOf(status.code()), message);
}

}  // namespace mv::http
