// The shipment-level reads (DESIGN.md section 8): the list, one shipment, the realtime
// board and the exception queue. Shipment items carry the names of their customer and
// carrier, looked up once per distinct id per request.

#include <fmt/format.h>

#include <map>

#include "core/domain.h"
#include "core/exception_queue.h"
#include "core/realtime_ops_view.h"
#include "core/row_codec.h"
#include "http/api_service.h"
#include "http/call.h"
#include "http/json_writer.h"
#include "http/names.h"
#include "http/response.h"
#include "http/rows.h"

namespace mv::http {
namespace {

using api::ShipmentFilter;
using nlohmann::json;

// The schema version answered when an org has no realtime row yet.

}  // namespace

void ApiService::AddReads() {
  Add("GET", "/v1/shipments", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(
        c.params.CheckAllowed({"org", "status", "carrierId", "customerId", "slaStatus",
                               "createdFrom", "createdTo", "q", "limit", "cursor", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    ShipmentFilter f;
    MV_ASSIGN_OR_RETURN(auto status, c.params.Text("status"));
    if (status) {
      f.status = core::ParseShipmentStatus(*status);
      if (!f.status) return Status::InvalidArgument("status: unknown value '" + *status + "'");
    }
    MV_ASSIGN_OR_RETURN(auto sla, c.params.Text("slaStatus"));
    if (sla) {
      f.sla_status = core::ParseSlaStatus(*sla);
      if (!f.sla_status) return Status::InvalidArgument("slaStatus: unknown value '" + *sla + "'");
    }
    MV_ASSIGN_OR_RETURN(auto carrier, c.params.Id("carrierId"));
    MV_ASSIGN_OR_RETURN(auto customer, c.params.Id("customerId"));
    f.carrier_id = carrier.value_or("");
    f.customer_id = customer.value_or("");
    MV_ASSIGN_OR_RETURN(f.created_from, c.params.Time("createdFrom"));
    MV_ASSIGN_OR_RETURN(f.created_to, c.params.Time("createdTo"));
    MV_ASSIGN_OR_RETURN(auto q, c.params.Text("q"));
    f.reference_prefix = q.value_or("");
    MV_ASSIGN_OR_RETURN(size_t limit, Limit(c));
    MV_ASSIGN_OR_RETURN(auto after, CursorParam<api::ListPosition>(c, DecodeCursor));
    MV_ASSIGN_OR_RETURN(auto page, b_.reader->ListShipments(org, f, limit, after));
    Names names(b_.lookups, org);
    std::string body;
    JsonWriter w(&body);
    w.BeginObject();
    w.Key("items");
    w.BeginArray();
    for (const auto& stored : page.value.rows) {
      MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::DecodeRow(org, stored));
      WriteShipmentItem(w, row, names);
    }
    w.EndArray();
    w.Key("nextCursor");
    if (page.value.next) {
      w.String(EncodeCursor(*page.value.next));
    } else {
      w.Null();
    }
    w.EndObject();
    AnswerRead(c.res, page.token, std::move(body));
    return Status::Ok();
  });

  Add("GET", "/v1/shipments/{id}", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    std::string id = c.path_params[0];
    if (!core::IsValidId(id)) return Status::InvalidArgument("id: not a valid shipment id");
    MV_ASSIGN_OR_RETURN(auto row, b_.reader->GetShipment(org, id));
    if (!row.value) {
      c.res.headers.Set("X-View-Token", TokenText(row.token));
      return Status::NotFound(fmt::format("shipment '{}' not found", id));
    }
    MV_ASSIGN_OR_RETURN(core::ShipmentRow decoded, core::DecodeRow(org, *row.value));
    Names names(b_.lookups, org);
    std::string body;
    JsonWriter w(&body);
    WriteShipmentItem(w, decoded, names);
    AnswerRead(c.res, row.token, std::move(body));
    return Status::Ok();
  });

  Add("GET", "/v1/ops/realtime", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    MV_ASSIGN_OR_RETURN(auto rows, b_.reader->AggregateRows("mv_realtime_ops", org));
    std::string body;
    JsonWriter w(&body);
    WriteRealtimeBoard(w, org, rows.value);
    AnswerRead(c.res, rows.token, std::move(body));
    return Status::Ok();
  });

  // Who the key is: what a client (the board) needs to know before it asks for an org.
  Add("GET", "/v1/whoami", {}, [](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    std::string body;
    JsonWriter w(&body);
    w.BeginObject();
    w.Key("admin");
    w.Bool(c.principal.admin);
    w.Key("org");
    if (c.principal.admin) {
      w.Null();
    } else {
      w.String(c.principal.org);
    }
    w.Key("keyId");
    w.String(c.principal.key_id);
    w.EndObject();
    c.res.headers.Set("Content-Type", "application/json");
    c.res.headers.Set("Cache-Control", "no-store");
    c.res.body = std::move(body);
    return Status::Ok();
  });

  // Server-sent events of the org's board (http/realtime_streams.h).
  Add("GET", "/v1/ops/realtime/stream", {}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    if (!realtime_) return Status::Unavailable("this process serves no views");
    MV_ASSIGN_OR_RETURN(c.res.stream, realtime_->Subscribe(org));
    c.res.headers.Set("Content-Type", "text/event-stream");
    c.res.headers.Set("Cache-Control", "no-store");
    return Status::Ok();
  });

  // The queue in its order: urgency (breached, exception, at_risk), then the earliest
  // promise (none last), then statusChangedAt, then id.
  Add("GET", "/v1/exceptions", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(
        c.params.CheckAllowed({"org", "reason", "carrierId", "limit", "cursor", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    api::ExceptionFilter f;
    MV_ASSIGN_OR_RETURN(auto reason, c.params.Text("reason"));
    if (reason) {
      for (auto r : {core::ExceptionReason::kBreached, core::ExceptionReason::kException,
                     core::ExceptionReason::kAtRisk}) {
        if (core::ToString(r) == *reason) f.urgency = static_cast<int>(r);
      }
      if (!f.urgency) {
        return Status::InvalidArgument("reason: unknown value '" + *reason +
                                       "' (breached, exception or at_risk)");
      }
    }
    MV_ASSIGN_OR_RETURN(auto carrier, c.params.Id("carrierId"));
    f.carrier_id = carrier.value_or("");
    MV_ASSIGN_OR_RETURN(size_t limit, Limit(c));
    MV_ASSIGN_OR_RETURN(auto after, CursorParam<api::ExceptionPosition>(c, DecodeExceptionCursor));
    MV_ASSIGN_OR_RETURN(auto page, b_.reader->Exceptions(org, f, limit, after));
    Names names(b_.lookups, org);
    std::string body;
    JsonWriter w(&body);
    w.BeginObject();
    w.Key("items");
    w.BeginArray();
    for (const auto& entry : page.value.items) {
      MV_ASSIGN_OR_RETURN(core::ShipmentRow row, core::DecodeRow(org, entry.row));
      WriteShipmentItem(w, row, names, &entry);
    }
    w.EndArray();
    w.Key("nextCursor");
    if (page.value.next) {
      w.String(EncodeExceptionCursor(*page.value.next));
    } else {
      w.Null();
    }
    w.EndObject();
    AnswerRead(c.res, page.token, std::move(body));
    return Status::Ok();
  });
}

}  // namespace mv::http
