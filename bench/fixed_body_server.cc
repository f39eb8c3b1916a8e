// fixed_body_server: the HTTP baseline of the serving benchmarks. A minimal event-driven
// HTTP/1.1 server on Boost.Beast (C++20 coroutines, keep-alive, TCP_NODELAY, one event
// loop per thread) that answers every request with the same 120-byte JSON body: what the
// machine gives a server that does no work per request. Nothing of viya-mv is linked.
//
//   fixed_body_server [--port=0] [--threads=2]     prints "listening on PORT", runs until killed

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

const std::string kBody =
    R"({"org":"acme","shipments":12000,"open":8100,"atRisk":230,"breached":41,"exceptions":97,"ok":true,"pad":"xxxxxxxx"})";

asio::awaitable<void> Serve(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request<http::empty_body> req;
    co_await http::async_read(socket, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = kBody;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await http::async_write(socket, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Accept(tcp::acceptor& acceptor,
                             std::vector<std::unique_ptr<asio::io_context>>& loops) {
  for (size_t next = 0;; ++next) {
    auto& loop = *loops[next % loops.size()];
    tcp::socket socket = co_await acceptor.async_accept(loop.get_executor(), asio::use_awaitable);
    asio::co_spawn(loop, Serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--port=", 0) == 0) port = std::atoi(argv[i] + 7);
    if (a.rfind("--threads=", 0) == 0) threads = std::max(1, std::atoi(argv[i] + 10));
  }
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (int i = 0; i < threads; ++i) loops.push_back(std::make_unique<asio::io_context>(1));
  tcp::acceptor acceptor(*loops[0],
                         {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  std::printf("listening on %d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  asio::co_spawn(*loops[0], Accept(acceptor, loops), asio::detached);
  std::vector<std::thread> workers;
  for (auto& loop : loops) {
    workers.emplace_back([l = loop.get()] {
      auto guard = asio::make_work_guard(*l);
      l->run();
    });
  }
  for (auto& w : workers) w.join();
}
