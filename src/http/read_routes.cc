// The shipment-level reads (DESIGN.md section 8): the list, one shipment, the realtime
// board and the exception queue. Shipment items carry the names of their customer and
// carrier, looked up once per distinct id per request.

#include <fmt/format.h>

#include <map>

#include "core/domain.h"
#include "core/exception_queue.h"
#include "core/realtime_ops_view.h"
#include "http/api_service.h"
#include "http/call.h"
#include "http/names.h"
#include "http/response.h"
#include "http/rows.h"

namespace mv::http {
namespace {

using nlohmann::json;
using storage::sqlite::ShipmentFilter;

// The schema version answered when an org has no realtime row yet.
const int kRealtimeOpsVersion = core::RealtimeOpsView().spec().version;

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
    MV_ASSIGN_OR_RETURN(auto after, CursorParam<storage::sqlite::ListPosition>(c, DecodeCursor));
    MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
    MV_ASSIGN_OR_RETURN(auto page, lease->ListShipments(org, f, limit, after));
    Names names(b_.lookups, org);
    json items = json::array();
    for (const auto& row : page.value.rows) {
      MV_ASSIGN_OR_RETURN(json item, ShipmentItem(row, names));
      items.push_back(std::move(item));
    }
    AnswerRead(
        c.res, page.token,
        {{"items", std::move(items)},
         {"nextCursor", page.value.next ? json(EncodeCursor(*page.value.next)) : json(nullptr)}});
    return Status::Ok();
  });

  Add("GET", "/v1/shipments/{id}", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    std::string id = c.path_params[0];
    if (!core::IsValidId(id)) return Status::InvalidArgument("id: not a valid shipment id");
    MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
    MV_ASSIGN_OR_RETURN(auto row, lease->GetShipment(org, id));
    if (!row.value) {
      c.res.headers.Set("X-View-Token", TokenText(row.token));
      return Status::NotFound(fmt::format("shipment '{}' not found", id));
    }
    Names names(b_.lookups, org);
    MV_ASSIGN_OR_RETURN(json item, ShipmentItem(*row.value, names));
    AnswerRead(c.res, row.token, item);
    return Status::Ok();
  });

  Add("GET", "/v1/ops/realtime", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
    MV_ASSIGN_OR_RETURN(auto rows, lease->AggregateRows("mv_realtime_ops", org));
    std::map<std::string, std::int64_t> m;
    int schema_version = kRealtimeOpsVersion;
    if (!rows.value.empty()) {
      for (const auto& [name, value] : rows.value.front().measures) m[name] = value;
      schema_version = rows.value.front().schema_version;
    }
    json by_status = json::object();
    for (size_t i = 0; i < core::kShipmentStatusCount; ++i) {
      std::string name(core::ToString(static_cast<core::ShipmentStatus>(i)));
      by_status[name] = m["status_" + name];
    }
    AnswerRead(c.res, rows.token,
               {{"org", org},
                {"shipments", m["shipments"]},
                {"byStatus", by_status},
                {"open", m["open"]},
                {"atRisk", m["at_risk"]},
                {"breached", m["breached"]},
                {"exceptions", m["exceptions"]},
                {"_schemaVersion", schema_version}});
    return Status::Ok();
  });

  // The queue in its order: urgency (breached, exception, at_risk), then the earliest
  // promise (none last), then statusChangedAt, then id.
  Add("GET", "/v1/exceptions", {.read = true}, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(
        c.params.CheckAllowed({"org", "reason", "carrierId", "limit", "cursor", "minToken"}));
    MV_ASSIGN_OR_RETURN(std::string org, c.Org());
    storage::sqlite::ExceptionFilter f;
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
    MV_ASSIGN_OR_RETURN(auto after,
                        CursorParam<storage::sqlite::ExceptionPosition>(c, DecodeExceptionCursor));
    MV_ASSIGN_OR_RETURN(auto lease, b_.queries->Acquire());
    MV_ASSIGN_OR_RETURN(auto page, lease->Exceptions(org, f, limit, after));
    Names names(b_.lookups, org);
    json items = json::array();
    for (const auto& entry : page.value.items) {
      MV_ASSIGN_OR_RETURN(json item, ShipmentItem(entry.row, names));
      item["reason"] = entry.reason;
      item["urgency"] = entry.urgency;
      items.push_back(std::move(item));
    }
    AnswerRead(c.res, page.token,
               {{"items", std::move(items)},
                {"nextCursor",
                 page.value.next ? json(EncodeExceptionCursor(*page.value.next)) : json(nullptr)}});
    return Status::Ok();
  });
}

}  // namespace mv::http
