#pragma once

// A small blocking HTTP/1.1 client over a raw socket, for tests that talk to a real
// server as a caller would: one connection kept alive across requests (reconnecting once
// when the server closed it), pipelining, and raw bytes for malformed or slow requests.
// Not thread-safe: one per thread.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/message.h"

namespace mv::testing {

// One answer as a client sees it. status 0: no answer at all.
struct HttpReply {
  int status = 0;
  std::string body;
  net::Headers headers;
  bool closed = false;  // the server closed the connection after this answer

  bool HasHeader(std::string_view name) const { return headers.Has(name); }
  std::string Header(std::string_view name) const { return headers.Get(name); }
  // The body as JSON; a discarded value (is_discarded()) when it is not JSON.
  nlohmann::json Json() const {
    return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  }
  std::string ErrorCode() const {
    nlohmann::json j = Json();
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
    return j["error"].value("code", "");
  }
  std::string ErrorMessage() const {
    nlohmann::json j = Json();
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "";
    return j["error"].value("message", "");
  }
};

inline std::ostream& operator<<(std::ostream& os, const HttpReply& r) {
  return os << "HTTP " << r.status << " " << r.body.substr(0, 600);
}

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  explicit HttpClient(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : port_(port), timeout_(timeout) {}
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient() { Close(); }

  // Opens the connection (if not open). False when the server does not accept.
  bool Connect() {
    if (fd_ >= 0) return true;
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Close();
      return false;
    }
    buffer_.clear();
    return true;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return fd_ >= 0; }

  // The bytes of a request with Host and Content-Length filled in.
  static std::string Format(const std::string& method, const std::string& target,
                            const HeaderList& headers, const std::string& body) {
    std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") {
      out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    out += "\r\n";
    out += body;
    return out;
  }

  // One request on the kept-alive connection; reconnects and retries once when the server
  // had closed it before this request was sent.
  HttpReply Send(const std::string& method, const std::string& target,
                 const HeaderList& headers = {}, const std::string& body = "") {
    std::string bytes = Format(method, target, headers, body);
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = fd_ < 0;
      if (!Connect()) return {};
      if (!WriteRaw(bytes)) {
        Close();
        if (fresh) return {};
        continue;
      }
      HttpReply reply = ReadReply();
      if (reply.status == 0 && !fresh && buffer_.empty()) {
        Close();  // a kept-alive connection the server had closed: try a fresh one
        continue;
      }
      if (reply.closed || reply.status == 0) Close();
      return reply;
    }
    return {};
  }

  bool WriteRaw(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one answer; status 0 when the connection ends or times out first.
  HttpReply ReadReply() {
    HttpReply reply;
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return reply;
    }
    std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return reply;
    int status = std::atoi(status_line.c_str() + 9);
    size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
    while (at < head.size()) {
      size_t end = head.find("\r\n", at);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(at, end - at);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        reply.headers.Add(line.substr(0, colon), value);
      }
      at = end + 2;
    }
    if (status == 100) return ReadReply();  // 100 Continue, then the real answer
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    std::string length = reply.headers.Get("Content-Length");
    if (no_body) {
      // nothing to read
    } else if (!length.empty()) {
      size_t n = std::stoul(length);
      while (buffer_.size() < n) {
        if (!Fill()) return reply;
      }
      reply.body = buffer_.substr(0, n);
      buffer_.erase(0, n);
    } else if (net::EqualsIgnoreCase(reply.headers.Get("Transfer-Encoding"), "chunked")) {
      for (;;) {
        size_t eol;
        while ((eol = buffer_.find("\r\n")) == std::string::npos) {
          if (!Fill()) return reply;
        }
        size_t n = std::stoul(buffer_.substr(0, eol), nullptr, 16);
        while (buffer_.size() < eol + 2 + n + 2) {
          if (!Fill()) return reply;
        }
        reply.body += buffer_.substr(eol + 2, n);
        buffer_.erase(0, eol + 2 + n + 2);
        if (n == 0) break;
      }
    } else {
      while (Fill()) {
      }
      reply.body = std::move(buffer_);
      buffer_.clear();
      reply.closed = true;
    }
    reply.status = status;
    if (net::EqualsIgnoreCase(reply.headers.Get("Connection"), "close")) reply.closed = true;
    return reply;
  }

  // The bytes that arrive within `wait` (at least one read's worth, if any), unparsed.
  std::string ReadRaw(std::chrono::milliseconds wait) {
    if (buffer_.empty()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(wait.count())) > 0) {
        char chunk[65536];
        ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
      }
    }
    return std::exchange(buffer_, std::string());
  }

  // True once the server has closed the connection (reads EOF) within `wait`.
  bool ServerClosed(std::chrono::milliseconds wait) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
      char c[4096];
      ssize_t n = ::recv(fd_, c, sizeof(c), 0);
      if (n <= 0) return true;
      buffer_.append(c, static_cast<size_t>(n));
    }
    return false;
  }

 private:
  // Reads more bytes into buffer_; false on EOF, error or time-out.
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace mv::testing
