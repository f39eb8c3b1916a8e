// The write routes of the embedded backend (DESIGN.md section 8): shipments, tracking
// events, customers and carriers. Every successful write answers the token of its last
// oplog entry, in the body and in X-Change-Token.

#include <fmt/format.h>

#include "core/domain.h"
#include "http/api_service.h"
#include "http/call.h"
#include "http/response.h"
#include "http/tracking_body.h"

namespace mv::http {
namespace {

using nlohmann::json;

void AnswerWrite(net::Response& res, core::ChangeToken token, json body) {
  res.headers.Set("X-Change-Token", TokenText(token));
  body["token"] = TokenText(token);
  WriteJson(res, 200, body);
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

void ApiService::AddWrites() {
  Add("POST", "/v1/shipments", {.blocking = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_ASSIGN_OR_RETURN(json body, ParseJsonBody(c.req.body));
    if (!body.is_object() && !body.is_array()) {
      return Status::InvalidArgument("body must be a shipment object or an array of them");
    }
    if (body.is_array() && body.empty()) return Status::InvalidArgument("body: empty array");
    if (body.is_array() && body.size() > options_.max_batch_documents) {
      return Status::PayloadTooLarge(
          fmt::format("body: more than {} shipments in one request", options_.max_batch_documents));
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
    AnswerWrite(c.res, token, {{"count", shipments.size()}});
    return Status::Ok();
  });

  Add("DELETE", "/v1/shipments/{id}", {.blocking = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    std::string id = c.path_params[0];
    if (!core::IsValidId(id)) return Status::InvalidArgument("id: not a valid shipment id");
    MV_ASSIGN_OR_RETURN(core::ChangeToken token, b_.source->DeleteShipment(org, id));
    AnswerWrite(c.res, token, {{"count", 1}});
    return Status::Ok();
  });

  // One event, an array, or NDJSON; all or nothing. Duplicates (same org, carrierId and
  // eventId as a stored event or an earlier one in the request) are counted, not stored.
  Add("POST", "/v1/tracking-events", {.blocking = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_ASSIGN_OR_RETURN(TrackingBody body,
                        ParseTrackingBody(c.req.body, c.req.headers.Get("Content-Type"),
                                          options_.max_batch_documents));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org(body.org));
    MV_ASSIGN_OR_RETURN(auto written, b_.source->InsertTrackingEvents(org, body.events));
    AnswerWrite(c.res, written.token,
                {{"count", body.events.size()},
                 {"accepted", written.inserted},
                 {"duplicates", written.duplicates}});
    return Status::Ok();
  });

  // PUT of a lookup document (customer, carrier): parse it, store it, answer the token.
  auto put_lookup = [this](auto parse, auto put) {
    return [this, parse, put](Call& c) -> Status {
      MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
      MV_ASSIGN_OR_RETURN(json body, ParseJsonBody(c.req.body));
      MV_ASSIGN_OR_RETURN(auto body_org, BodyOrg(body));
      MV_ASSIGN_OR_RETURN(std::string org, c.Org(body_org));
      MV_ASSIGN_OR_RETURN(auto doc, parse(std::string(c.path_params[0]), body));
      MV_ASSIGN_OR_RETURN(core::ChangeToken token, (b_.source->*put)(org, doc));
      AnswerWrite(c.res, token, {{"count", 1}});
      return Status::Ok();
    };
  };
  Add("PUT", "/v1/customers/{id}", {.blocking = true},
      put_lookup(&core::ParseCustomer, &storage::sqlite::SourceStore::PutCustomer));
  Add("PUT", "/v1/carriers/{id}", {.blocking = true},
      put_lookup(&core::ParseCarrier, &storage::sqlite::SourceStore::PutCarrier));
}

}  // namespace mv::http
