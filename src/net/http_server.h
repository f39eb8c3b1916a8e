#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "base/status.h"
#include "net/message.h"

namespace mv::net {

struct ServerOptions {
  // I/O threads, each with its own event loop; connections are spread over them.
  size_t io_threads = 2;
  // Open connections beyond this get a 503 and are closed.
  size_t max_connections = 16384;
  size_t max_header_bytes = 16 * 1024;
  std::int64_t max_body_bytes = 8 << 20;
  // The whole request head must arrive within header_timeout of its first byte, the whole
  // body within body_timeout of the head; an idle keep-alive connection is closed after
  // idle_timeout; an answer the client does not read within write_timeout is dropped.
  Millis header_timeout{10000};
  Millis body_timeout{30000};
  Millis idle_timeout{60000};
  Millis write_timeout{30000};
  // How long Drain() lets requests in flight finish.
  Millis drain_timeout{10000};
  // Answers at least this large are gzip-compressed for clients that accept it.
  size_t gzip_min_bytes = 1024;
};

// Counters of what the server refused or cut short; monotonic.
struct ServerStats {
  std::int64_t connections = 0;         // open now
  std::int64_t accepted_total = 0;      // connections accepted
  std::int64_t refused_total = 0;       // answered 503 at the connection limit
  std::int64_t timeouts_total = 0;      // closed by a header, body, idle or write timeout
  std::int64_t bad_requests_total = 0;  // malformed or over a size limit
};

// An event-driven HTTP/1.1 server (Boost.Beast on Asio) for one RequestHandler:
// TCP_NODELAY, keep-alive and pipelining (answers in request order), any number of idle
// or slow connections up to max_connections without holding a thread each, header,
// body, idle and write timeouts, the body limit checked against Content-Length before
// the body is read (413), gzip for large answers, and a graceful drain.
//
// Start() binds and starts the I/O threads; Drain() stops accepting, closes idle
// connections, lets requests in flight finish (answering them with Connection: close)
// for up to drain_timeout, then stops the I/O threads. A streamed answer (Response::stream)
// ends when either side closes the stream, a drain included. The handler must outlive the
// server's I/O threads; completions the handler calls after Drain() are dropped.
// Thread-safe.
class HttpServer {
 public:
  HttpServer(RequestHandler* handler, ServerOptions options);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // Binds `host:port` (port 0 picks a free one). Unavailable when it cannot listen.
  Status Start(const std::string& host, int port);
  void Drain();
  int port() const;
  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses one request from `bytes` exactly as a connection does (limits, refusals, target
// decoding), for tests and fuzzing: InvalidArgument (answered 400) or PayloadTooLarge
// (413) for what the server refuses; Unavailable when `bytes` end before the request.
Result<Request> ParseRequestBytes(std::string_view bytes, const ServerOptions& options);

}  // namespace mv::net
