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

// The completion of a store write that answers {"token", "count"} (writes of one kind of
// document): fills `res` and finishes the call, on the store's thread.
std::function<void(Result<core::ChangeToken>)> AnswerToken(net::Response* res, size_t count,
                                                           Call::Finish finish) {
  return [res, count, finish = std::move(finish)](Result<core::ChangeToken> token) {
    if (!token.ok()) return finish(token.status());
    AnswerWrite(*res, *token, {{"count", count}});
    finish(Status::Ok());
  };
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
  Add("POST", "/v1/shipments", {.offload_body_bytes = kInlineBodyBytes}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_RETURN_IF_ERROR(WritesAccepted());
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
    // The store commits with the other writes of the moment; the answer follows the commit.
    c.Defer(
        [this, org, shipments = std::move(shipments), res = &c.res](Call::Finish finish) mutable {
          size_t count = shipments.size();
          b_.writer->UpsertShipmentsAsync(org, std::move(shipments),
                                          AnswerToken(res, count, std::move(finish)));
        });
    return Status::Ok();
  });

  Add("DELETE", "/v1/shipments/{id}", {.offload_body_bytes = kInlineBodyBytes},
      [this](Call& c) -> Status {
        MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
        MV_RETURN_IF_ERROR(WritesAccepted());
        MV_ASSIGN_OR_RETURN(std::string org, c.Org());
        std::string id = c.path_params[0];
        if (!core::IsValidId(id)) return Status::InvalidArgument("id: not a valid shipment id");
        c.Defer([this, org, id, res = &c.res](Call::Finish finish) {
          b_.writer->DeleteShipmentAsync(org, id, AnswerToken(res, 1, std::move(finish)));
        });
        return Status::Ok();
      });

  // One event, an array, or NDJSON; all or nothing. Duplicates (same org, carrierId and
  // eventId as a stored event or an earlier one in the request) are counted, not stored.
  Add("POST", "/v1/tracking-events", {.offload_body_bytes = kInlineBodyBytes},
      [this](Call& c) -> Status {
        MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
        MV_RETURN_IF_ERROR(WritesAccepted());
        MV_ASSIGN_OR_RETURN(TrackingBody body,
                            ParseTrackingBody(c.req.body, c.req.headers.Get("Content-Type"),
                                              options_.max_batch_documents));
        MV_ASSIGN_OR_RETURN(std::string org, c.Org(body.org));
        c.Defer([this, org, events = std::move(body.events),
                 res = &c.res](Call::Finish finish) mutable {
          size_t count = events.size();
          b_.writer->InsertTrackingEventsAsync(
              org, std::move(events),
              [res, count,
               finish = std::move(finish)](Result<api::SourceWriter::TrackingWrite> written) {
                if (!written.ok()) return finish(written.status());
                AnswerWrite(*res, written->token,
                            {{"count", count},
                             {"accepted", written->inserted},
                             {"duplicates", written->duplicates}});
                finish(Status::Ok());
              });
        });
        return Status::Ok();
      });

  // PUT of a lookup document (customer, carrier): parse it, store it, answer the token.
  auto put_lookup = [this](auto parse, auto put) {
    return [this, parse, put](Call& c) -> Status {
      MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
      MV_RETURN_IF_ERROR(WritesAccepted());
      MV_ASSIGN_OR_RETURN(json body, ParseJsonBody(c.req.body));
      MV_ASSIGN_OR_RETURN(auto body_org, BodyOrg(body));
      MV_ASSIGN_OR_RETURN(std::string org, c.Org(body_org));
      MV_ASSIGN_OR_RETURN(auto doc, parse(std::string(c.path_params[0]), body));
      c.Defer([this, put, org, doc, res = &c.res](Call::Finish finish) {
        (b_.writer->*put)(org, doc, AnswerToken(res, 1, std::move(finish)));
      });
      return Status::Ok();
    };
  };
  Add("PUT", "/v1/customers/{id}", {.offload_body_bytes = kInlineBodyBytes},
      put_lookup(&core::ParseCustomer, &api::SourceWriter::PutCustomerAsync));
  Add("PUT", "/v1/carriers/{id}", {.offload_body_bytes = kInlineBodyBytes},
      put_lookup(&core::ParseCarrier, &api::SourceWriter::PutCarrierAsync));
}

}  // namespace mv::http
