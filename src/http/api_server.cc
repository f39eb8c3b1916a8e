#include "http/api_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>

#include "http/call.h"
#include "http/response.h"

namespace mv::http {

using nlohmann::json;

void AnswerRead(httplib::Response& res, core::ChangeToken view_token, const json& body) {
  res.set_header("X-View-Token", TokenText(view_token));
  WriteJson(res, 200, body);
}

ApiServer::ApiServer(ApiBackends backends, ApiOptions options)
    : b_(std::move(backends)),
      options_(options),
      auth_(b_.keys),
      server_(std::make_unique<httplib::Server>()) {
  if (b_.clock == nullptr) b_.clock = &system_clock_;
  RegisterRoutes();
}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Start(const std::string& host, int port) {
  int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) return Status::Unavailable(fmt::format("cannot listen on {}:{}", host, port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void ApiServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

ApiServer::RouteHandler ApiServer::Scoped(std::string route, Handler handler, bool admin_only) {
  return [this, route = std::move(route), handler = std::move(handler), admin_only](
             const httplib::Request& req, httplib::Response& res) {
    auto started = std::chrono::steady_clock::now();
    auto principal = auth_.Authenticate(req.get_header_value("Authorization"));
    Status status = principal.status();
    if (principal.ok() && admin_only && !principal->admin) {
      status = Status::PermissionDenied("this operation needs an admin key");
    }
    if (status.ok()) {
      Call call{req, res, *principal, QueryParams(req)};
      status = handler(call);
    }
    if (!status.ok()) {
      if (status.code() == StatusCode::kUnauthenticated)
        res.set_header("WWW-Authenticate", "Bearer");
      if (HttpStatusOf(status.code()) >= 500) {
        spdlog::error("{} {}: {}", req.method, route, status.ToString());
      }
      WriteError(res, status);
    }
    if (b_.metrics) {
      b_.metrics->http().Request(
          req.method, route, res.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  };
}

Status ApiServer::WaitMinToken(const Call& c) {
  MV_ASSIGN_OR_RETURN(auto min_token,
                      c.params.Integer("minToken", 0, std::numeric_limits<std::int64_t>::max()));
  if (!min_token) return Status::Ok();
  core::ChangeToken newest = b_.source ? b_.source->committed().Get() : *min_token;
  if (*min_token > newest) {
    return Status::InvalidArgument(
        fmt::format("minToken: {} is ahead of the newest change ({})", *min_token, newest));
  }
  if (!b_.applied->WaitUntilAtLeast(*min_token, options_.min_token_timeout)) {
    return Status::DeadlineExceeded(fmt::format("the views reached token {}, not {}, within {} ms",
                                                b_.applied->Get(), *min_token,
                                                options_.min_token_timeout.count()));
  }
  return Status::Ok();
}

void ApiServer::RegisterRoutes() {
  RegisterWrites();
  RegisterReads();
  RegisterReports();
  RegisterOperations();
}

void ApiServer::RegisterOperations() {
  httplib::Server& s = *server_;
  metrics::Metrics* metrics = b_.metrics;

  // No key needed; bind to a private interface.
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    WriteJson(res, 200, {{"status", "ok"}});
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    Readiness r = b_.readiness ? b_.readiness() : Readiness{};
    json reasons = json::array();
    if (!r.stream_connected) reasons.push_back("change stream not connected");
    if (r.lag_events > options_.ready_max_lag_events) {
      reasons.push_back(
          fmt::format("lag {} events exceeds {}", r.lag_events, options_.ready_max_lag_events));
    }
    WriteJson(res, reasons.empty() ? 200 : 503,
              {{"status", reasons.empty() ? "ready" : "not_ready"},
               {"streamConnected", r.stream_connected},
               {"lagEvents", r.lag_events},
               {"reasons", reasons}});
  });
  s.Get("/metrics", [metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics ? metrics->Serialize() : "", "text/plain; version=0.0.4");
  });

  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      WriteError(res, 413, "payload_too_large", "the request body is too large");
    } else if (res.status == 404) {
      WriteError(res, 404, "not_found", "no route " + req.method + " " + req.path.substr(0, 200));
    } else {
      WriteError(res, res.status, "error",
                 "request failed with HTTP " + std::to_string(res.status));
    }
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          spdlog::error("{} {}: unhandled exception: {}", req.method, req.path, e.what());
        } catch (...) {
          spdlog::error("{} {}: unhandled exception", req.method, req.path);
        }
        WriteError(res, 500, "internal", "internal error");
      });
}

}  // namespace mv::http
