#include "cli/admin_client.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace mv::cli {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Status FromHttp(int status, const std::string& message) {
  switch (status) {
    case 400:
      return Status::InvalidArgument(message);
    case 401:
      return Status::Unauthenticated(message);
    case 403:
      return Status::PermissionDenied(message);
    case 404:
      return Status::NotFound(message);
    case 409:
      return Status::Conflict(message);
    case 503:
      return Status::Unavailable(message);
    default:
      return Status::Internal(fmt::format("HTTP {}: {}", status, message));
  }
}

}  // namespace

Result<AdminClient> AdminClient::Create(const std::string& url, std::string key) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = url;
  if (!rest.starts_with(kScheme)) {
    return Status::InvalidArgument("--url: expected http://HOST:PORT, got '" + url + "'");
  }
  rest.remove_prefix(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find('/') != std::string_view::npos ||
      rest.substr(colon + 1).find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument("--url: expected http://HOST:PORT, got '" + url + "'");
  }
  if (key.empty()) {
    return Status::InvalidArgument("--url needs an admin key: --key or VIYA_MV_ADMIN_KEY");
  }
  std::string host(rest.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return AdminClient(host, std::string(rest.substr(colon + 1)), std::move(key));
}

Result<nlohmann::json> AdminClient::Call(const std::string& method,
                                         const std::string& target) const {
  http::response<http::string_body> res;
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout_);
    stream.connect(resolver.resolve(host_, port_));
    http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_ + ":" + port_);
    req.set(http::field::authorization, "Bearer " + key_);
    req.set(http::field::user_agent, "viya-mv");
    req.set(http::field::accept, "application/json");
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    res = parser.release();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    return Status::Unavailable(
        fmt::format("cannot reach http://{}:{}: {}", host_, port_, e.what()));
  }
  nlohmann::json body = nlohmann::json::parse(res.body(), nullptr, false);
  int status = static_cast<int>(res.result_int());
  if (status >= 200 && status < 300) {
    if (body.is_discarded()) return Status::Internal("the server's answer is not JSON");
    return body;
  }
  std::string message = res.body().substr(0, 512);
  if (!body.is_discarded() && body.contains("error")) {
    message = body["error"].value("message", message);
  }
  return FromHttp(status, message);
}

}  // namespace mv::cli
