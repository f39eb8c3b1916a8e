#include "net/http_server.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "net/gzip.h"

namespace mv::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

enum class Phase { kIdle, kReading, kActive, kStreaming };

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  Phase phase = Phase::kIdle;
  bool timed_out = false;
  BodyStream* stream = nullptr;  // while kStreaming: closed by a drain
  bool writing = false;          // a streamed chunk is being written
};

// One event loop and the connections it serves; `live` is touched only on its thread.
struct Loop {
  asio::io_context io{1};
  std::unordered_set<Connection*> live;
};

// "Wed, 02 Dec 2026 10:00:00 GMT", recomputed at most once a second per thread.
const std::string& HttpDate() {
  thread_local std::time_t cached_at = 0;
  thread_local std::string text;
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    text = buf;
    cached_at = now;
  }
  return text;
}

bool Compressible(std::string_view content_type) {
  return content_type.substr(0, 16) == "application/json" ||
         content_type.substr(0, 20) == "application/x-ndjson" ||
         content_type.substr(0, 5) == "text/";
}

// What the server answers a request it cannot take (nullopt: the client went away).
std::optional<Status> RefusalOf(const beast::error_code& ec, const ServerOptions& options) {
  if (ec == bhttp::error::body_limit) {
    return Status::PayloadTooLarge(
        fmt::format("the request body is larger than {} bytes", options.max_body_bytes));
  }
  if (ec == bhttp::error::header_limit) {
    return Status::PayloadTooLarge(
        fmt::format("the request head is larger than {} bytes", options.max_header_bytes));
  }
  if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream) return std::nullopt;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return Status::InvalidArgument("malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

// A parsed request as the handler sees it; InvalidArgument for a target that is not a path.
Status ToRequest(bhttp::request<bhttp::string_body>& req, Request* out) {
  out->method = std::string(req.method_string());
  out->target = std::string(req.target());
  MV_RETURN_IF_ERROR(ParseTarget(out->target, &out->path, &out->query));
  for (const auto& field : req) {
    out->headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  out->body = std::move(req.body());
  return Status::Ok();
}

void Limit(bhttp::request_parser<bhttp::string_body>& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(static_cast<std::uint64_t>(options.max_body_bytes));
}

// The handler's answer to `request`, resumed on this coroutine's event loop whichever
// thread the handler answers from.
awaitable<Response> Dispatch(RequestHandler* handler, Request request) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Response)>(
      [handler](auto completion, Request req) {
        auto executor = asio::get_associated_executor(completion);
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        handler->Handle(
            std::move(req),
            [shared, executor](Response res) {
              asio::post(executor,
                         [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
            },
            [executor](std::function<void()> work) { asio::post(executor, std::move(work)); });
      },
      use_awaitable, std::move(request));
}

}  // namespace

struct HttpServer::Impl {
  Impl(RequestHandler* h, ServerOptions o) : handler(h), options(o) {}

  awaitable<void> Accept();
  awaitable<void> Serve(tcp::socket socket, Loop* loop);
  awaitable<void> Refuse(tcp::socket socket);
  // Writes the handler's answer to a request the server refuses itself, then closes.
  awaitable<void> SendError(Connection& c, const Status& status, unsigned version);
  awaitable<void> Write(Connection& c, Response res, unsigned version, bool keep_alive,
                        bool gzip_ok, beast::error_code& ec);
  // Writes the head of `res`, then its stream's chunks as they come, until the stream or
  // the connection closes.
  awaitable<void> WriteStream(const std::shared_ptr<Connection>& c, Response res, unsigned version);
  // Closes after letting the client's unread bytes drain for a moment, so that it reads
  // the answer instead of a reset.
  awaitable<void> LingeringClose(Connection& c);
  void Arm(const std::shared_ptr<Connection>& c, Millis timeout);
  void CloseIdle();
  void StopLoops();

  RequestHandler* handler;
  ServerOptions options;
  std::vector<std::unique_ptr<Loop>> loops;
  std::optional<tcp::acceptor> acceptor;  // on loops[0]
  std::vector<std::thread> threads;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> connections{0};
  std::atomic<std::int64_t> accepted{0}, refused{0}, timeouts{0}, bad{0};
  std::atomic<size_t> next_loop{0};
  int port = 0;
  std::mutex lifecycle_mu;
  bool stopped = false;  // guarded by lifecycle_mu
};

void HttpServer::Impl::Arm(const std::shared_ptr<Connection>& c, Millis timeout) {
  c->timer.expires_after(timeout);
  c->timer.async_wait([weak = std::weak_ptr<Connection>(c)](beast::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    if (auto conn = weak.lock()) {
      conn->timed_out = true;
      beast::error_code ignored;
      conn->socket.close(ignored);
    }
  });
}

awaitable<void> HttpServer::Impl::LingeringClose(Connection& c) {
  beast::error_code ec;
  c.socket.shutdown(tcp::socket::shutdown_send, ec);
  c.timer.expires_after(std::chrono::milliseconds(500));
  c.timer.async_wait([&c](beast::error_code e) {
    if (!e) {
      beast::error_code ignored;
      c.socket.close(ignored);
    }
  });
  char sink[4096];
  size_t drained = 0;
  while (!ec && drained < (1u << 20)) {
    drained += co_await c.socket.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(use_awaitable, ec));
  }
  c.timer.cancel();
  c.socket.close(ec);
}

awaitable<void> HttpServer::Impl::Write(Connection& c, Response res, unsigned version,
                                        bool keep_alive, bool gzip_ok, beast::error_code& ec) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
  for (const auto& [name, value] : res.headers) out.insert(name, value);
  out.set(bhttp::field::date, HttpDate());
  out.set(bhttp::field::server, "viya-mv");
  if (res.body.size() >= options.gzip_min_bytes && Compressible(res.headers.Get("Content-Type")) &&
      !res.headers.Has("Content-Encoding")) {
    out.set(bhttp::field::vary, "Accept-Encoding");
    if (gzip_ok) {
      if (auto zipped = Gzip(res.body)) {
        res.body = std::move(*zipped);
        out.set(bhttp::field::content_encoding, "gzip");
        // A strong tag names one representation; the compressed one is only equivalent.
        if (const std::string* tag = res.headers.Find("ETag"); tag && tag->rfind("W/", 0) != 0) {
          out.set(bhttp::field::etag, "W/" + *tag);
        }
      }
    }
  }
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  co_await bhttp::async_write(c.socket, out, asio::redirect_error(use_awaitable, ec));
}

awaitable<void> HttpServer::Impl::WriteStream(const std::shared_ptr<Connection>& c, Response res,
                                              unsigned version) {
  std::shared_ptr<BodyStream> stream = std::move(res.stream);
  bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(res.status), version};
  for (const auto& [name, value] : res.headers) head.insert(name, value);
  head.set(bhttp::field::date, HttpDate());
  head.set(bhttp::field::server, "viya-mv");
  head.keep_alive(false);
  const bool chunked = version >= 11;  // HTTP/1.0: the body ends with the connection
  head.chunked(chunked);
  beast::error_code ec;
  Arm(c, options.write_timeout);
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  co_await bhttp::async_write_header(c->socket, serializer,
                                     asio::redirect_error(use_awaitable, ec));
  c->timer.cancel();
  // The producer's pushes wake this loop through a timer that never expires by itself. A
  // client dropped for reading too slowly while a write to it is blocked loses its socket
  // at once: nothing waits for it (a drain does the same, in CloseIdle). A stream the
  // producer closes sends what is queued first.
  auto signal = std::make_shared<asio::steady_timer>(c->socket.get_executor(),
                                                     asio::steady_timer::time_point::max());
  auto executor = c->socket.get_executor();
  std::weak_ptr<Connection> weak_conn = c;
  std::weak_ptr<BodyStream> weak_stream = stream;
  stream->SetWaker(
      [weak = std::weak_ptr<asio::steady_timer>(signal), weak_conn, weak_stream, executor] {
        asio::post(executor, [weak, weak_conn, weak_stream] {
          if (auto timer = weak.lock()) timer->cancel();
          auto conn = weak_conn.lock();
          auto s = weak_stream.lock();
          if (conn && s && conn->writing && s->dropped()) {
            beast::error_code ignored;
            conn->socket.close(ignored);
          }
        });
      });
  // A client that closes (or sends anything: a stream is the connection's last answer)
  // ends the stream at once, freeing its place.
  c->socket.async_wait(tcp::socket::wait_read, [weak_stream](beast::error_code) {
    if (auto s = weak_stream.lock()) s->Close();
  });
  c->phase = Phase::kStreaming;
  c->stream = stream.get();
  if (draining.load()) stream->Close();
  while (!ec) {
    bool closed = false;
    std::string data = stream->Take(&closed);
    if (!data.empty()) {
      Arm(c, options.write_timeout);
      c->writing = true;
      if (chunked) {
        co_await asio::async_write(c->socket, bhttp::make_chunk(asio::buffer(data)),
                                   asio::redirect_error(use_awaitable, ec));
      } else {
        co_await asio::async_write(c->socket, asio::buffer(data),
                                   asio::redirect_error(use_awaitable, ec));
      }
      c->writing = false;
      c->timer.cancel();
      continue;  // more may have come meanwhile
    }
    if (closed) {
      if (chunked) {
        Arm(c, options.write_timeout);
        co_await asio::async_write(c->socket, bhttp::make_chunk_last(),
                                   asio::redirect_error(use_awaitable, ec));
        c->timer.cancel();
      }
      break;
    }
    signal->expires_at(asio::steady_timer::time_point::max());
    beast::error_code woken;
    co_await signal->async_wait(asio::redirect_error(use_awaitable, woken));
  }
  if (ec && c->timed_out) ++timeouts;
  c->stream = nullptr;
  stream->SetWaker(nullptr);
  stream->Close();  // the producer learns that the client is gone
}

awaitable<void> HttpServer::Impl::SendError(Connection& c, const Status& status, unsigned version) {
  ++bad;
  beast::error_code ec;
  co_await Write(c, handler->ErrorResponse(status), version, false, false, ec);
  co_await LingeringClose(c);
}

awaitable<void> HttpServer::Impl::Serve(tcp::socket socket, Loop* loop) {
  auto conn = std::make_shared<Connection>(std::move(socket));
  beast::error_code ec;
  conn->socket.set_option(tcp::no_delay(true), ec);
  loop->live.insert(conn.get());
  beast::flat_buffer buffer;
  bool lingering = false;
  for (;;) {
    conn->phase = Phase::kIdle;
    if (draining.load()) break;
    if (buffer.size() == 0) {
      Arm(conn, options.idle_timeout);
      co_await conn->socket.async_wait(tcp::socket::wait_read,
                                       asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (conn->timed_out) ++timeouts;
        break;
      }
    }
    conn->phase = Phase::kReading;
    Arm(conn, options.header_timeout);
    bhttp::request_parser<bhttp::string_body> parser;
    Limit(parser, options);
    co_await bhttp::async_read_header(conn->socket, buffer, parser,
                                      asio::redirect_error(use_awaitable, ec));
    if (!ec && !parser.is_done()) {
      const auto& head = parser.get();
      if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, head.version()};
        co_await bhttp::async_write(conn->socket, go_on, asio::redirect_error(use_awaitable, ec));
      }
      if (!ec) {
        Arm(conn, options.body_timeout);
        co_await bhttp::async_read(conn->socket, buffer, parser,
                                   asio::redirect_error(use_awaitable, ec));
      }
    }
    conn->timer.cancel();
    if (ec) {
      if (conn->timed_out) {
        ++timeouts;
      } else if (auto refusal = RefusalOf(ec, options)) {
        unsigned version = parser.is_header_done() ? parser.get().version() : 11;
        co_await SendError(*conn, *refusal, version);
        lingering = true;
      }
      break;  // end of stream, a reset, or an answered refusal
    }
    conn->phase = Phase::kActive;
    bhttp::request<bhttp::string_body> req = parser.release();
    unsigned version = req.version();
    bool keep_alive = req.keep_alive();
    beast::string_view accept = req[bhttp::field::accept_encoding];
    bool gzip_ok = AcceptsGzip(std::string_view(accept.data(), accept.size()));
    Request request;
    Status target = ToRequest(req, &request);
    Response res;
    if (target.ok()) {
      res = co_await Dispatch(handler, std::move(request));
    } else {
      ++bad;
      res = handler->ErrorResponse(target);
    }
    if (res.stream) {
      co_await WriteStream(conn, std::move(res), version);
      break;
    }
    keep_alive = keep_alive && !draining.load();
    Arm(conn, options.write_timeout);
    co_await Write(*conn, std::move(res), version, keep_alive, gzip_ok, ec);
    conn->timer.cancel();
    if (ec) {
      if (conn->timed_out) ++timeouts;
      break;
    }
    if (!keep_alive) break;
    if (buffer.size() == 0 && buffer.capacity() > 16 * 1024) buffer.shrink_to_fit();
  }
  if (!lingering) {
    conn->socket.shutdown(tcp::socket::shutdown_send, ec);
    conn->socket.close(ec);
  }
  conn->timer.cancel();
  loop->live.erase(conn.get());
  --connections;
}

awaitable<void> HttpServer::Impl::Refuse(tcp::socket socket) {
  ++refused;
  Connection conn(std::move(socket));
  beast::error_code ec;
  conn.socket.set_option(tcp::no_delay(true), ec);
  co_await Write(
      conn,
      handler->ErrorResponse(Status::Unavailable(fmt::format(
          "too many connections (the limit is {}); retry shortly", options.max_connections))),
      11, false, false, ec);
  co_await LingeringClose(conn);
}

awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    Loop* loop = loops[next_loop++ % loops.size()].get();
    beast::error_code ec;
    tcp::socket socket = co_await acceptor->async_accept(loop->io.get_executor(),
                                                         asio::redirect_error(use_awaitable, ec));
    if (draining.load() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors, most likely: wait instead of spinning on the error.
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    ++accepted;
    if (static_cast<size_t>(connections.load()) >= options.max_connections) {
      asio::co_spawn(loop->io, Refuse(std::move(socket)), asio::detached);
      continue;
    }
    ++connections;
    asio::co_spawn(loop->io, Serve(std::move(socket), loop), asio::detached);
  }
}

void HttpServer::Impl::CloseIdle() {
  for (auto& loop : loops) {
    asio::post(loop->io, [l = loop.get()] {
      for (Connection* c : l->live) {
        if (c->phase == Phase::kIdle) {
          beast::error_code ignored;
          c->socket.close(ignored);
        } else if (c->phase == Phase::kStreaming && c->stream != nullptr) {
          c->stream->Close();  // it ends its body and closes ...
          beast::error_code ignored;
          if (c->writing) c->socket.close(ignored);  // ... unless its client is not reading
        }
      }
    });
  }
}

void HttpServer::Impl::StopLoops() {
  for (auto& loop : loops) loop->io.stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

HttpServer::HttpServer(RequestHandler* handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(handler, options)) {
  if (impl_->options.io_threads == 0) impl_->options.io_threads = 1;
  for (size_t i = 0; i < impl_->options.io_threads; ++i) {
    impl_->loops.push_back(std::make_unique<Loop>());
  }
}

HttpServer::~HttpServer() {
  Drain();
  // Connections still open after the drain end here, with their loops.
  impl_->acceptor.reset();
  impl_->loops.clear();
}

Status HttpServer::Start(const std::string& host, int port) {
  Impl& s = *impl_;
  // Every connection is a descriptor: take what the hard limit allows.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      s.options.max_connections + 256 > limit.rlim_cur) {
    size_t fit = limit.rlim_cur > 512 ? limit.rlim_cur - 256 : limit.rlim_cur / 2;
    spdlog::warn("http: {} connections do not fit the open-file limit {}; serving at most {}",
                 s.options.max_connections, limit.rlim_cur, fit);
    s.options.max_connections = fit;
  }
  beast::error_code ec;
  tcp::resolver resolver(s.loops[0]->io);
  auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  s.acceptor.emplace(s.loops[0]->io);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  s.port = s.acceptor->local_endpoint().port();
  asio::co_spawn(s.loops[0]->io, s.Accept(), asio::detached);
  for (auto& loop : s.loops) {
    s.threads.emplace_back([l = loop.get()] {
      auto guard = asio::make_work_guard(l->io);
      l->io.run();
    });
  }
  return Status::Ok();
}

void HttpServer::Drain() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.lifecycle_mu);
    if (s.stopped) return;
    s.stopped = true;
  }
  if (s.threads.empty()) return;
  spdlog::info("http: draining {} connections (at most {} ms)", s.connections.load(),
               s.options.drain_timeout.count());
  s.draining.store(true);
  asio::post(s.loops[0]->io, [&s] {
    beast::error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);
  });
  s.CloseIdle();
  auto deadline = std::chrono::steady_clock::now() + s.options.drain_timeout;
  while (s.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s.CloseIdle();  // connections that finished their request since
  }
  if (s.connections.load() > 0) {
    spdlog::warn("http: {} connections still busy after the {} ms drain; closing them",
                 s.connections.load(), s.options.drain_timeout.count());
  }
  s.StopLoops();
}

int HttpServer::port() const { return impl_->port; }

Result<Request> ParseRequestBytes(std::string_view bytes, const ServerOptions& options) {
  bhttp::request_parser<bhttp::string_body> parser;
  Limit(parser, options);
  parser.eager(true);
  beast::error_code ec;
  size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
  while (!ec && !parser.is_done() && used < bytes.size()) {
    bytes.remove_prefix(used);
    used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
  }
  if (ec == bhttp::error::need_more || (!ec && !parser.is_done())) {
    return Status::Unavailable("the bytes end before the request does");
  }
  if (ec) {
    if (auto refusal = RefusalOf(ec, options)) return *refusal;
    return Status::Unavailable("the request is incomplete: " + ec.message());
  }
  bhttp::request<bhttp::string_body> req = parser.release();
  Request out;
  MV_RETURN_IF_ERROR(ToRequest(req, &out));
  return out;
}

ServerStats HttpServer::stats() const {
  return {impl_->connections.load(), impl_->accepted.load(), impl_->refused.load(),
          impl_->timeouts.load(), impl_->bad.load()};
}

}  // namespace mv::net
