#include "http/api_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/domain.h"
#include "core/realtime_ops_view.h"
#include "http/request.h"
#include "http/response.h"

namespace mv::http {
namespace {

using nlohmann::json;
using storage::sqlite::ShipmentFilter;

constexpr std::int64_t kDefaultLimit = 50;
constexpr std::int64_t kMaxLimit = 500;

// What a handler sees of one authenticated request.
struct Call {
  const httplib::Request& req;
  httplib::Response& res;
  Principal principal;
  QueryParams params;

  // The org this request acts for (see ResolveOrg), given the org named in its body.
  Result<std::string> Org(const std::optional<std::string>& body_org = std::nullopt) const {
    MV_ASSIGN_OR_RETURN(auto query_org, params.Id("org"));
    return ResolveOrg(principal, query_org, body_org);
  }
};

using Handler = std::function<Status(Call&)>;

std::string TokenText(core::ChangeToken t) { return std::to_string(t); }

void AnswerWrite(httplib::Response& res, core::ChangeToken token, size_t count) {
  res.set_header("X-Change-Token", TokenText(token));
  WriteJson(res, 200, {{"token", TokenText(token)}, {"count", count}});
}

// The optional "org" of a write body (an object, or every element of an array).
Result<std::optional<std::string>> BodyOrg(const json& body) {
  std::optional<std::string> org;
  auto visit = [&](const json& doc) -> Status {
    if (!doc.is_object()) return Status::Ok();
    auto it = doc.find("org");
    if (it == doc.end()) return Status::Ok();
    if (!it->is_string()) return Status::InvalidArgument("org: must be a string");
    if (org && *org != it->get<std::string>()) {
      return Status::InvalidArgument("org: a request may write to one org only");
    }
    org = it->get<std::string>();
    return Status::Ok();
  };
  if (body.is_array()) {
    for (const auto& doc : body) MV_RETURN_IF_ERROR(visit(doc));
  } else {
    MV_RETURN_IF_ERROR(visit(body));
  }
  return org;
}

}  // namespace

ApiServer::ApiServer(ApiBackends backends, ApiOptions options)
    : b_(std::move(backends)),
      options_(options),
      auth_(b_.keys),
      server_(std::make_unique<httplib::Server>()) {
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

void ApiServer::RegisterRoutes() {
  httplib::Server& s = *server_;
  metrics::Metrics* metrics = b_.metrics;

  // Wraps a tenant- or admin-scoped handler: authentication, errors, metrics.
  auto scoped = [this, metrics](std::string route, Handler handler, bool admin_only = false) {
    return [this, metrics, route = std::move(route), handler = std::move(handler), admin_only](
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
      if (metrics) {
        metrics->http().Request(
            req.method, route, res.status,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
    };
  };

  // Bounded wait for ?minToken=; answers the token the views had when the read began.
  auto wait_min_token = [this](Call& c) -> Status {
    MV_ASSIGN_OR_RETURN(auto min_token,
                        c.params.Integer("minToken", 0, std::numeric_limits<std::int64_t>::max()));
    if (!min_token) return Status::Ok();
    core::ChangeToken newest = b_.source ? b_.source->committed().Get() : *min_token;
    if (*min_token > newest) {
      return Status::InvalidArgument(
          fmt::format("minToken: {} is ahead of the newest change ({})", *min_token, newest));
    }
    if (!b_.applied->WaitUntilAtLeast(*min_token, options_.min_token_timeout)) {
      return Status::DeadlineExceeded(
          fmt::format("the views reached token {}, not {}, within {} ms", b_.applied->Get(),
                      *min_token, options_.min_token_timeout.count()));
    }
    return Status::Ok();
  };

  // ---- writes ----
  s.Post("/v1/shipments", scoped("/v1/shipments", [this](Call& c) -> Status {
           MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
           MV_ASSIGN_OR_RETURN(json body, ParseJsonBody(c.req));
           if (!body.is_object() && !body.is_array()) {
             return Status::InvalidArgument("body must be a shipment object or an array of them");
           }
           if (body.is_array() && body.empty()) return Status::InvalidArgument("body: empty array");
           if (body.is_array() && body.size() > options_.max_batch_documents) {
             return Status::PayloadTooLarge(fmt::format(
                 "body: more than {} shipments in one request", options_.max_batch_documents));
           }
           MV_ASSIGN_OR_RETURN(auto body_org, BodyOrg(body));
           MV_ASSIGN_OR_RETURN(std::string org, c.Org(body_org));
           std::vector<core::Shipment> shipments;
           auto add = [&](const json& doc, const std::string& where) -> Status {
             auto parsed = core::ParseShipment(doc);
             if (!parsed.ok()) return Status::InvalidArgument(where + parsed.status().message());
             shipments.push_back(std::move(parsed).value());
             return Status::Ok();
           };
           if (body.is_array()) {
             for (size_t i = 0; i < body.size(); ++i) {
               MV_RETURN_IF_ERROR(add(body[i], fmt::format("[{}].", i)));
             }
           } else {
             MV_RETURN_IF_ERROR(add(body, ""));
           }
           MV_ASSIGN_OR_RETURN(core::ChangeToken token, b_.source->UpsertShipments(org, shipments));
           AnswerWrite(c.res, token, shipments.size());
           return Status::Ok();
         }));

  s.Delete(R"(/v1/shipments/([^/]+))", scoped("/v1/shipments/{id}", [this](Call& c) -> Status {
             MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
             MV_ASSIGN_OR_RETURN(std::string org, c.Org());
             std::string id = c.req.matches[1];
             if (!core::IsValidId(id))
               return Status::InvalidArgument("id: not a valid shipment id");
             MV_ASSIGN_OR_RETURN(core::ChangeToken token, b_.source->DeleteShipment(org, id));
             AnswerWrite(c.res, token, 1);
             return Status::Ok();
           }));

  // PUT of a lookup document (customer, carrier): parse it, store it, answer the token.
  auto put_lookup = [this](auto parse, auto put) {
    return [this, parse, put](Call& c) -> Status {
      MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
      MV_ASSIGN_OR_RETURN(json body, ParseJsonBody(c.req));
      MV_ASSIGN_OR_RETURN(auto body_org, BodyOrg(body));
      MV_ASSIGN_OR_RETURN(std::string org, c.Org(body_org));
      MV_ASSIGN_OR_RETURN(auto doc, parse(std::string(c.req.matches[1]), body));
      MV_ASSIGN_OR_RETURN(core::ChangeToken token, (b_.source->*put)(org, doc));
      AnswerWrite(c.res, token, 1);
      return Status::Ok();
    };
  };
  s.Put(R"(/v1/customers/([^/]+))",
        scoped("/v1/customers/{id}",
               put_lookup(&core::ParseCustomer, &storage::sqlite::SourceStore::PutCustomer)));
  s.Put(R"(/v1/carriers/([^/]+))",
        scoped("/v1/carriers/{id}",
               put_lookup(&core::ParseCarrier, &storage::sqlite::SourceStore::PutCarrier)));

  // ---- reads ----
  s.Get("/v1/shipments", scoped("/v1/shipments", [this, wait_min_token](Call& c) -> Status {
          MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "status", "carrierId", "customerId",
                                                    "slaStatus", "createdFrom", "createdTo", "q",
                                                    "limit", "cursor", "minToken"}));
          MV_ASSIGN_OR_RETURN(std::string org, c.Org());
          ShipmentFilter f;
          MV_ASSIGN_OR_RETURN(auto status, c.params.Text("status"));
          if (status) {
            f.status = core::ParseShipmentStatus(*status);
            if (!f.status)
              return Status::InvalidArgument("status: unknown value '" + *status + "'");
          }
          MV_ASSIGN_OR_RETURN(auto sla, c.params.Text("slaStatus"));
          if (sla) {
            f.sla_status = core::ParseSlaStatus(*sla);
            if (!f.sla_status)
              return Status::InvalidArgument("slaStatus: unknown value '" + *sla + "'");
          }
          MV_ASSIGN_OR_RETURN(auto carrier, c.params.Id("carrierId"));
          MV_ASSIGN_OR_RETURN(auto customer, c.params.Id("customerId"));
          f.carrier_id = carrier.value_or("");
          f.customer_id = customer.value_or("");
          MV_ASSIGN_OR_RETURN(f.created_from, c.params.Time("createdFrom"));
          MV_ASSIGN_OR_RETURN(f.created_to, c.params.Time("createdTo"));
          MV_ASSIGN_OR_RETURN(auto q, c.params.Text("q"));
          f.reference_prefix = q.value_or("");
          MV_ASSIGN_OR_RETURN(auto limit, c.params.Integer("limit", 1, kMaxLimit));
          MV_ASSIGN_OR_RETURN(auto cursor_text, c.params.Text("cursor"));
          std::optional<storage::sqlite::ListPosition> after;
          if (cursor_text) {
            MV_ASSIGN_OR_RETURN(after, DecodeCursor(*cursor_text));
          }
          MV_RETURN_IF_ERROR(wait_min_token(c));
          MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
          MV_ASSIGN_OR_RETURN(
              auto page, lease->ListShipments(
                             org, f, static_cast<size_t>(limit.value_or(kDefaultLimit)), after));
          // Stored rows are JSON already: splice them instead of re-encoding.
          std::string body = "{\"items\":[";
          for (size_t i = 0; i < page.value.rows.size(); ++i) {
            if (i) body += ',';
            body += page.value.rows[i];
          }
          body += "],\"nextCursor\":";
          body += page.value.next ? json(EncodeCursor(*page.value.next)).dump() : "null";
          body += '}';
          c.res.set_header("X-View-Token", TokenText(page.token));
          c.res.status = 200;
          c.res.set_content(body, "application/json");
          return Status::Ok();
        }));

  s.Get(R"(/v1/shipments/([^/]+))",
        scoped("/v1/shipments/{id}", [this, wait_min_token](Call& c) -> Status {
          MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "minToken"}));
          MV_ASSIGN_OR_RETURN(std::string org, c.Org());
          std::string id = c.req.matches[1];
          if (!core::IsValidId(id)) return Status::InvalidArgument("id: not a valid shipment id");
          MV_RETURN_IF_ERROR(wait_min_token(c));
          MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
          MV_ASSIGN_OR_RETURN(auto row, lease->GetShipment(org, id));
          c.res.set_header("X-View-Token", TokenText(row.token));
          if (!row.value) return Status::NotFound(fmt::format("shipment '{}' not found", id));
          c.res.status = 200;
          c.res.set_content(*row.value, "application/json");
          return Status::Ok();
        }));

  s.Get("/v1/ops/realtime", scoped("/v1/ops/realtime", [this, wait_min_token](Call& c) -> Status {
          MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "minToken"}));
          MV_ASSIGN_OR_RETURN(std::string org, c.Org());
          MV_RETURN_IF_ERROR(wait_min_token(c));
          MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
          MV_ASSIGN_OR_RETURN(auto rows, lease->AggregateRows("mv_realtime_ops", org));
          std::map<std::string, std::int64_t> m;
          int schema_version = core::RealtimeOpsView().spec().version;
          if (!rows.value.empty()) {
            for (const auto& [name, value] : rows.value.front().measures) m[name] = value;
            schema_version = rows.value.front().schema_version;
          }
          json by_status = json::object();
          for (size_t i = 0; i < core::kShipmentStatusCount; ++i) {
            std::string name(core::ToString(static_cast<core::ShipmentStatus>(i)));
            by_status[name] = m["status_" + name];
          }
          c.res.set_header("X-View-Token", TokenText(rows.token));
          WriteJson(c.res, 200,
                    {{"org", org},
                     {"shipments", m["shipments"]},
                     {"byStatus", by_status},
                     {"open", m["open"]},
                     {"atRisk", m["at_risk"]},
                     {"breached", m["breached"]},
                     {"exceptions", m["exceptions"]},
                     {"_schemaVersion", schema_version}});
          return Status::Ok();
        }));

  // ---- operations (no key needed; bind to a private interface) ----
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
