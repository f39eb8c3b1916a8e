#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/status.h"
#include "net/message.h"

namespace httplib {
class Server;
}

namespace mv::http {

// Serves a net::RequestHandler on cpp-httplib's thread pool. Start() binds and serves on
// its own threads; Stop() (or the destructor) stops and joins.
class HttplibServer {
 public:
  HttplibServer(net::RequestHandler* handler, int threads, std::int64_t max_body_bytes);
  ~HttplibServer();

  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  net::RequestHandler* handler_;
  int threads_;
  std::int64_t max_body_bytes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mv::http
