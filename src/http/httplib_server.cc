#include "http/httplib_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <future>

namespace mv::http {

HttplibServer::HttplibServer(net::RequestHandler* handler, int threads,
                             std::int64_t max_body_bytes)
    : handler_(handler),
      threads_(threads),
      max_body_bytes_(max_body_bytes),
      server_(std::make_unique<httplib::Server>()) {}

HttplibServer::~HttplibServer() { Stop(); }

Status HttplibServer::Start(const std::string& host, int port) {
  int threads = threads_;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(static_cast<size_t>(max_body_bytes_));
  auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    net::Request request;
    request.method = req.method;
    request.target = req.target;
    Status parsed = net::ParseTarget(req.target, &request.path, &request.query);
    if (!parsed.ok()) {
      net::Response error = handler_->ErrorResponse(parsed);
      res.status = error.status;
      res.set_content(error.body, "application/json");
      return;
    }
    for (const auto& [name, value] : req.headers) request.headers.Add(name, value);
    request.body = req.body;
    std::promise<net::Response> answer;
    handler_->Handle(std::move(request), [&answer](net::Response r) { answer.set_value(std::move(r)); });
    net::Response r = answer.get_future().get();
    res.status = r.status;
    std::string type = r.headers.Get("Content-Type");
    for (const auto& [name, value] : r.headers) {
      if (!net::EqualsIgnoreCase(name, "Content-Type")) res.set_header(name, value);
    }
    res.body = std::move(r.body);
    if (!type.empty()) res.set_header("Content-Type", type);
  };
  server_->Get(".*", serve);
  server_->Post(".*", serve);
  server_->Put(".*", serve);
  server_->Delete(".*", serve);
  server_->Patch(".*", serve);
  server_->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413 && res.body.empty()) {
      net::Response error =
          handler_->ErrorResponse(Status::PayloadTooLarge("the request body is too large"));
      res.set_content(error.body, "application/json");
    }
  });
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) return Status::Unavailable(fmt::format("cannot listen on {}:{}", host, port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void HttplibServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mv::http
