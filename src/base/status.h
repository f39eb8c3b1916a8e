#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace mv {

// The outcome of an operation that can fail. Cheap to copy when ok. Errors that a
// caller can act on have their own code; the message is for people, not for parsing.
enum class StatusCode {
  kOk,
  kInvalidArgument,   // the caller's input is wrong (-> 400)
  kNotFound,          // (-> 404)
  kConflict,          // the state of a resource forbids it now (-> 409)
  kUnauthenticated,   // no or unknown credentials (-> 401)
  kPermissionDenied,  // credentials do not allow this (-> 403)
  kPayloadTooLarge,   // (-> 413)
  kDeadlineExceeded,  // a bounded wait ran out (-> 504)
  kHistoryLost,       // a change-stream token older than the retained history
  kUnavailable,       // try again later (-> 503)
  kCorruption,        // stored data is not what it should be
  kIOError,           // the storage engine failed
  kInternal,          // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status PayloadTooLarge(std::string m) {
    return {StatusCode::kPayloadTooLarge, std::move(m)};
  }
  static Status DeadlineExceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
  }
  static Status HistoryLost(std::string m) { return {StatusCode::kHistoryLost, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: status: unknown value 'shipped'".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

}  // namespace mv

// Returns early from the enclosing function when `expr` is not ok.
#define MV_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::mv::Status mv_status_ = (expr);        \
    if (!mv_status_.ok()) return mv_status_; \
  } while (0)
