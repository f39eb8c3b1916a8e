#include "http/api_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>

#include "http/board_assets.h"
#include "http/call.h"
#include "http/conditional.h"
#include "http/response.h"

namespace mv::http {

using nlohmann::json;

struct ApiService::Pending {
  net::Request req;
  net::Completion done;
  net::Executor on_loop;
  net::Response res;
  std::chrono::steady_clock::time_point started;
  const Route* route = nullptr;
  std::string pattern;  // the route's pattern, for metrics; "unmatched" when none
  std::vector<std::string> path_params;
  Principal principal;
};

void AnswerRead(net::Response& res, core::ChangeToken view_token, const json& body) {
  res.headers.Set("X-View-Token", TokenText(view_token));
  WriteJson(res, 200, body);
}

void AnswerRead(net::Response& res, core::ChangeToken view_token, std::string json_body) {
  res.headers.Set("X-View-Token", TokenText(view_token));
  res.status = 200;
  res.headers.Set("Content-Type", "application/json");
  res.body = std::move(json_body);
}

ApiService::ApiService(ApiBackends backends, ApiOptions options)
    : b_(std::move(backends)),
      options_(options),
      auth_(b_.keys),
      blocking_(options.blocking_threads, options.max_queued),
      waiters_(b_.applied) {
  if (b_.clock == nullptr) b_.clock = &system_clock_;
  if (b_.reader != nullptr && b_.applied != nullptr) {
    realtime_ =
        std::make_unique<RealtimeStreams>(b_.reader, b_.applied, b_.lag_seconds, options_.realtime);
  }
  AddWrites();
  AddReads();
  AddReports();
  AddOperations();
  AddAdmin();
}

ApiService::~ApiService() = default;

Status ApiService::WritesAccepted() const {
  if (b_.writer != nullptr) return Status::Ok();
  return Status::Unavailable(
      "this deployment follows the platform's own database: write to it, not to viya-mv");
}

void ApiService::Add(const char* method, const char* pattern, RouteOptions options,
                     RouteHandler handler) {
  size_t index = router_.Add(method, pattern);
  routes_.resize(index + 1);
  routes_[index] = Route{options, std::move(handler)};
}

net::Response ApiService::ErrorResponse(const Status& status) {
  net::Response res;
  WriteError(res, status);
  if (status.code() == StatusCode::kUnauthenticated) res.headers.Set("WWW-Authenticate", "Bearer");
  return res;
}

void ApiService::Handle(net::Request request, net::Completion done, net::Executor on_loop) {
  auto p = std::make_shared<Pending>();
  p->started = std::chrono::steady_clock::now();
  p->req = std::move(request);
  p->done = std::move(done);
  p->on_loop = std::move(on_loop);
  p->pattern = "unmatched";
  Router::Match match = router_.Find(p->req.method, p->req.path);
  if (match.kind != Router::Match::Kind::kFound) {
    net::Response res;
    std::string shown = p->req.target.substr(0, 200);
    if (match.kind == Router::Match::Kind::kWrongMethod) {
      WriteError(res, 405, "method_not_allowed",
                 fmt::format("{} is not allowed on {}; allowed: {}", p->req.method.substr(0, 16),
                             shown, match.allowed));
      res.headers.Set("Allow", match.allowed);
    } else {
      WriteError(res, 404, "not_found",
                 fmt::format("no route {} {}", p->req.method.substr(0, 16),
                             shown.substr(0, shown.find('?'))));
    }
    Answer(p, std::move(res));
    return;
  }
  p->route = &routes_[match.route];
  p->pattern = router_.pattern(match.route);
  p->path_params = std::move(match.params);
  const RouteOptions& options = p->route->options;

  if (options.access != Access::kPublic) {
    auto principal = auth_.Authenticate(p->req.headers.Get("Authorization"));
    Status status = principal.status();
    if (principal.ok() && options.access == Access::kAdmin && !principal->admin) {
      status = Status::PermissionDenied("this operation needs an admin key");
    }
    if (!status.ok()) {
      Answer(p, ErrorResponse(status));
      return;
    }
    p->principal = *principal;
    if (options.access == Access::kAdmin) {
      spdlog::info("admin: {} {} by {}", p->req.method, p->req.target.substr(0, 256),
                   principal->key_id);
    }
  }

  if (options.read) {
    // The bounded wait of ?minToken= (DESIGN.md section 8), before the handler runs.
    // A token viya-mv answered, or a cluster time after a write to the platform's MongoDB.
    auto min_token = QueryParams(p->req.query).Token("minToken");
    if (!min_token.ok()) {
      Answer(p, ErrorResponse(min_token.status()));
      return;
    }
    if (*min_token) {
      const bool bounded = b_.progress && b_.progress->BoundsClientTokens();
      core::ChangeToken newest = bounded ? b_.progress->committed().Get() : **min_token;
      if (**min_token > newest) {
        Answer(p, ErrorResponse(Status::InvalidArgument(fmt::format(
                      "minToken: {} is ahead of the newest change ({})", **min_token, newest))));
        return;
      }
      if (b_.applied->Get() < **min_token) {
        core::ChangeToken want = **min_token;
        waiters_.Wait(want, p->started + options_.min_token_timeout, [this, p, want](bool reached) {
          if (reached) {
            Offload(p);
            return;
          }
          Answer(p, ErrorResponse(Status::DeadlineExceeded(
                        fmt::format("the views reached token {}, not {}, within {} ms",
                                    b_.applied->Get(), want, options_.min_token_timeout.count()))));
        });
        return;
      }
    }
  }
  if (p->req.body.size() >= options.offload_body_bytes) {
    Offload(std::move(p));
    return;
  }
  Run(p);
}

void ApiService::Offload(std::shared_ptr<Pending> p) {
  if (blocking_.Submit([this, p] { Run(p); })) return;
  Answer(p, ErrorResponse(Status::Unavailable("the server is busy; retry shortly")));
}

void ApiService::Run(const std::shared_ptr<Pending>& p) {
  Call call{p->req, p->res, p->principal, QueryParams(p->req.query), p->path_params, {}};
  Status status;
  try {
    status = p->route->handler(call);
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("unhandled exception: ") + e.what());
  }
  if (status.ok() && call.deferred) {
    call.deferred([this, p](Status s) { Finish(p, std::move(s)); });
    return;
  }
  Finish(p, std::move(status));
}

void ApiService::Finish(const std::shared_ptr<Pending>& p, Status status) {
  net::Response res = std::move(p->res);
  if (!status.ok()) {
    // Refusals at a limit (503) are expected under load and retried: a warning.
    if (int code = HttpStatusOf(status.code()); code == 503) {
      spdlog::warn("{} {}: {}", p->req.method, p->pattern, status.ToString());
    } else if (code >= 500) {
      spdlog::error("{} {}: {}", p->req.method, p->pattern, status.ToString());
    }
    res.stream.reset();
    net::Response error = ErrorResponse(status);
    for (const auto& [name, value] : error.headers) res.headers.Set(name, value);
    res.status = error.status;
    res.body = std::move(error.body);
  }
  Answer(p, std::move(res));
}

void ApiService::Answer(const std::shared_ptr<Pending>& p, net::Response res) {
  if (p->route != nullptr && p->route->options.read && res.status == 200 && !res.stream) {
    // Revalidate every time; an unchanged answer costs a 304 without a body.
    std::string tag = EntityTag(res.body);
    res.headers.Set("Cache-Control", "no-cache");
    if (const std::string* condition = p->req.headers.Find("If-None-Match");
        condition != nullptr && NoneMatchHits(*condition, tag)) {
      res.status = 304;
      res.body.clear();
      res.headers.Remove("Content-Type");
    }
    res.headers.Set("ETag", std::move(tag));
  }
  if (b_.http_probe) {
    b_.http_probe->Request(
        p->req.method, p->pattern, res.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p->started).count());
  }
  net::Completion done = std::move(p->done);
  done(std::move(res));
}

void ApiService::AddOperations() {
  // No key needed; bind to a private interface.
  Add("GET", "/healthz", {.access = Access::kPublic}, [](Call& c) -> Status {
    WriteJson(c.res, 200, {{"status", "ok"}});
    return Status::Ok();
  });
  Add("GET", "/readyz", {.access = Access::kPublic}, [this](Call& c) -> Status {
    Readiness r = b_.readiness ? b_.readiness() : Readiness{};
    json reasons = json::array();
    if (!r.stream_connected) reasons.push_back("change stream not connected");
    if (r.building_percent) {
      reasons.push_back(
          fmt::format("building the views from the source: {:.0f}%", *r.building_percent));
    }
    if (r.lag_events > options_.ready_max_lag_events) {
      reasons.push_back(
          fmt::format("lag {} events exceeds {}", r.lag_events, options_.ready_max_lag_events));
    }
    WriteJson(c.res, reasons.empty() ? 200 : 503,
              {{"status", reasons.empty() ? "ready" : "not_ready"},
               {"streamConnected", r.stream_connected},
               {"lagEvents", r.lag_events},
               {"buildingPercent", r.building_percent ? json(*r.building_percent) : json(nullptr)},
               {"reasons", reasons}});
    return Status::Ok();
  });
  // Collecting reads the source store (staleness), which may wait for a writer.
  Add("GET", "/metrics", {.access = Access::kPublic, .offload_body_bytes = 0},
      [this](Call& c) -> Status {
        c.res.headers.Set("Content-Type", "text/plain; version=0.0.4");
        c.res.body = b_.metrics ? b_.metrics->Serialize() : "";
        return Status::Ok();
      });
  // The live board: static files; it signs in with a key and reads the API like any client.
  for (const BoardAsset& asset : BoardAssets()) {
    Add("GET", asset.path.data(), {.access = Access::kPublic}, [&asset](Call& c) -> Status {
      c.res.status = 200;
      c.res.headers.Set("Content-Type", std::string(asset.content_type));
      c.res.headers.Set("Cache-Control", "no-cache");
      c.res.headers.Set("X-Content-Type-Options", "nosniff");
      c.res.headers.Set("Content-Security-Policy",
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        "connect-src 'self'; img-src 'self'; frame-ancestors 'none'; "
                        "base-uri 'none'; form-action 'none'");
      c.res.headers.Set("Referrer-Policy", "no-referrer");
      c.res.body = std::string(asset.body);
      return Status::Ok();
    });
  }
}

}  // namespace mv::http
