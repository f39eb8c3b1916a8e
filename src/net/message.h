#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

// HTTP messages as plain values: what the server hands to a request handler and what the
// handler answers. No server library appears here, so handlers are testable without a
// socket. Thread-compatible.
namespace mv::net {

// Header fields in the order given. Names compare case-insensitively (RFC 9110).
class Headers {
 public:
  // Replaces every field named `name` with one field.
  void Set(std::string_view name, std::string value);
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  void Remove(std::string_view name);
  // The value of the first field named `name`; null when there is none.
  const std::string* Find(std::string_view name) const;
  // The value of the first field named `name`; empty when there is none.
  std::string Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

  using Items = std::vector<std::pair<std::string, std::string>>;
  Items::const_iterator begin() const { return items_.begin(); }
  Items::const_iterator end() const { return items_.end(); }
  size_t size() const { return items_.size(); }

 private:
  Items items_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // as sent, e.g. "/v1/shipments?status=booked"
  // The path of `target` split at '/', each segment percent-decoded: "/v1/shipments/S%2D1"
  // is {"v1", "shipments", "S-1"}. A trailing '/' gives a last empty segment.
  std::vector<std::string> path;
  // The query of `target` as (name, value) pairs in order, percent-decoded, '+' as space.
  std::vector<std::pair<std::string, std::string>> query;
  Headers headers;
  std::string body;
};

// A response body sent as it is produced (server-sent events): the server writes the
// head, then every chunk pushed, until either side closes the stream. Producers never
// wait for the client: once more than `max_buffered_bytes` are waiting to be sent, the
// client is too slow, and the stream closes. Thread-safe.
class BodyStream {
 public:
  explicit BodyStream(size_t max_buffered_bytes = 1 << 20)
      : max_buffered_bytes_(max_buffered_bytes) {}
  // Queues `chunk` for the client; false once the stream is closed (the client went away
  // or was too slow, or the server is draining), when the producer should forget it.
  bool Push(std::string_view chunk);
  void Close();
  bool closed() const;
  // Closed because the client read too slowly: what is queued is not worth sending.
  bool dropped() const;

  // The server's side. Take() removes what is queued and says whether the stream is
  // closed; `wake` is called, on the pushing thread, after each Push and on Close.
  std::string Take(bool* closed);
  void SetWaker(std::function<void()> wake);

 private:
  const size_t max_buffered_bytes_;
  mutable std::mutex mu_;
  std::string queued_;          // guarded by mu_
  bool closed_ = false;         // guarded by mu_
  bool dropped_ = false;        // guarded by mu_
  std::function<void()> wake_;  // guarded by mu_
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Type among them; the server adds Content-Length and Date
  std::string body;
  // When set, the body is this stream (chunked; the connection closes after it) and
  // `body` is not sent.
  std::shared_ptr<BodyStream> stream;
};

// Splits and decodes a request target (origin form, "/path?query") into `path` and
// `query`. InvalidArgument for a target that is not in origin form.
Status ParseTarget(std::string_view target, std::vector<std::string>* path,
                   std::vector<std::pair<std::string, std::string>>* query);

// Answers a request, on whichever thread the handler chooses; called exactly once.
using Completion = std::function<void(Response)>;
// Runs work on the event loop the request arrived on (thread-safe; never inline).
using Executor = std::function<void(std::function<void()>)>;

// What the server calls for every complete request. Handle() runs on a server I/O thread
// and must not block for long: work that may wait (a lock, a bounded wait) goes to a
// thread of the handler's own and calls `done` from there, or, once the wait is over,
// comes back to the request's loop through `on_loop`. Implementations are thread-safe.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual void Handle(Request request, Completion done, Executor on_loop) = 0;
  // The answer to a request the server refuses itself (bad syntax, too large, too many
  // connections), from the Status that says why.
  virtual Response ErrorResponse(const Status& status) = 0;
};

}  // namespace mv::net
