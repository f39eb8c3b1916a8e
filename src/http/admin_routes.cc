// The admin API (DESIGN.md section 6): operations on the views, for admin keys only.
// Long operations answer 202 with the operation; GET /admin/operations/{id} follows it.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "http/api_service.h"
#include "http/call.h"
#include "http/operation_json.h"
#include "http/response.h"

namespace mv::http {

using nlohmann::json;

json OperationToJson(const worker::Operation& op) {
  json j = {{"id", op.id},
            {"kind", worker::ToString(op.kind)},
            {"phase", worker::ToString(op.phase)},
            {"views", op.scope.views},
            {"org", op.scope.org ? json(*op.scope.org) : json(nullptr)},
            {"repair", op.repair},
            {"requestedBy", op.requested_by},
            {"submittedAt", FormatRfc3339(op.submitted_at)},
            {"rowsDone", op.rows_done},
            {"rowsTotal", op.rows_total},
            {"percent", op.percent()},
            {"rowsPerSecond", op.rows_per_second},
            {"token", TokenText(op.token)}};
  if (op.started_at) j["startedAt"] = FormatRfc3339(*op.started_at);
  if (op.finished_at) j["finishedAt"] = FormatRfc3339(*op.finished_at);
  if (op.eta_seconds) j["etaSeconds"] = *op.eta_seconds;
  if (!op.error.empty()) j["error"] = op.error;
  if ((op.kind == worker::OperationKind::kReconcile ||
       op.kind == worker::OperationKind::kRefresh) &&
      op.finished()) {
    j["drift"] = ReconcileReport(op)["views"];
  }
  return j;
}

json ReconcileReport(const worker::Operation& op) {
  json views = json::array();
  for (const auto& d : op.drift) {
    views.push_back({{"view", d.drift.view},
                     {"org", d.drift.org},
                     {"sourceRows", d.drift.source_rows},
                     {"viewRows", d.drift.view_rows},
                     {"mismatched", d.drift.mismatched},
                     {"checksumMatch", d.drift.checksum_match},
                     {"sampleKeys", d.drift.sample_keys},
                     {"repaired", d.repaired}});
  }
  return {{"token", TokenText(op.token)}, {"views", views}};
}

json JobToJson(const worker::JobState& job) {
  json j = {{"name", job.name},
            {"schedule", job.schedule},
            {"runs", job.runs},
            {"failures", job.failures},
            {"consecutiveFailures", job.consecutive_failures}};
  auto time = [&](const char* name, const std::optional<Timestamp>& t) {
    if (t) j[name] = FormatRfc3339(*t);
  };
  time("nextRun", job.next_run);
  time("lastStarted", job.last_started);
  time("lastFinished", job.last_finished);
  time("lastSuccess", job.last_success);
  if (!job.last_outcome.empty()) j["lastOutcome"] = job.last_outcome;
  if (!job.last_summary.empty()) j["lastSummary"] = job.last_summary;
  if (!job.last_error.empty()) j["lastError"] = job.last_error;
  if (!job.running_operation.empty()) j["runningOperation"] = job.running_operation;
  return j;
}

namespace {

std::string Who(const Call& c) {
  return c.principal.admin ? "admin key" : "key of " + c.principal.org;
}

}  // namespace

void ApiService::AddAdmin() {
  const RouteOptions admin{.access = Access::kAdmin};
  auto known_view = [this](const std::string& view) -> Status {
    std::vector<std::string> names = b_.views ? b_.views->Names() : std::vector<std::string>{};
    if (std::find(names.begin(), names.end(), view) != names.end()) return Status::Ok();
    return Status::NotFound(
        fmt::format("no view {}; the views are {}", view.substr(0, 64), fmt::join(names, ", ")));
  };
  auto known_org = [this](const std::optional<std::string>& org) -> Status {
    if (!org) return Status::Ok();
    MV_ASSIGN_OR_RETURN(std::int64_t shipments, b_.source->CountShipments(org));
    if (shipments == 0) return Status::NotFound("org " + *org + " has no shipments");
    return Status::Ok();
  };
  auto submit = [this](Call& c, worker::OperationKind kind, core::ViewScope scope,
                       bool repair) -> Status {
    if (b_.operations == nullptr) return Status::Unavailable("this process runs no operations");
    std::string by = Who(c);
    MV_ASSIGN_OR_RETURN(std::string id,
                        b_.operations->Submit(kind, scope, repair, by, system_clock_.Now()));
    spdlog::info("admin: {} queued {} {} ({})", by, worker::ToString(kind), id, scope.Describe());
    auto op = b_.operations->Get(id);
    c.res.headers.Set("Location", "/admin/operations/" + id);
    WriteJson(c.res, 202, op ? OperationToJson(*op) : json{{"id", id}});
    return Status::Ok();
  };

  Add("GET", "/admin/views", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    json views = json::array();
    if (b_.views) {
      for (const auto& name : b_.views->Names()) {
        views.push_back({{"view", name}, {"version", b_.views->VersionOf(name)}});
      }
    }
    WriteJson(c.res, 200, {{"views", views}, {"token", TokenText(b_.applied->Get())}});
    return Status::Ok();
  });
  Add("POST", "/admin/rebuild", admin, [=](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_ASSIGN_OR_RETURN(auto org, c.params.Id("org"));
    MV_RETURN_IF_ERROR(known_org(org));
    return submit(c, worker::OperationKind::kRebuild, {{}, org}, false);
  });
  Add("POST", "/admin/views/{mv}/rebuild", admin, [=](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org"}));
    MV_RETURN_IF_ERROR(known_view(c.path_params[0]));
    MV_ASSIGN_OR_RETURN(auto org, c.params.Id("org"));
    MV_RETURN_IF_ERROR(known_org(org));
    return submit(c, worker::OperationKind::kRebuild, {{c.path_params[0]}, org}, false);
  });
  Add("POST", "/admin/reconcile", admin, [=](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"org", "view", "repair"}));
    MV_ASSIGN_OR_RETURN(auto org, c.params.Id("org"));
    MV_ASSIGN_OR_RETURN(auto view, c.params.Text("view"));
    MV_ASSIGN_OR_RETURN(auto repair, c.params.Text("repair"));
    if (repair && *repair != "true" && *repair != "false") {
      return Status::InvalidArgument("repair: expected true or false");
    }
    if (view) MV_RETURN_IF_ERROR(known_view(*view));
    MV_RETURN_IF_ERROR(known_org(org));
    core::ViewScope scope{view ? std::vector<std::string>{*view} : std::vector<std::string>{}, org};
    return submit(c, worker::OperationKind::kReconcile, scope, repair && *repair == "true");
  });
  Add("GET", "/admin/operations", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    json ops = json::array();
    if (b_.operations) {
      for (const auto& op : b_.operations->List()) ops.push_back(OperationToJson(op));
    }
    WriteJson(c.res, 200, {{"operations", ops}});
    return Status::Ok();
  });
  Add("GET", "/admin/operations/{id}", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    auto op = b_.operations ? b_.operations->Get(c.path_params[0]) : std::nullopt;
    if (!op) return Status::NotFound("no operation " + c.path_params[0].substr(0, 64));
    WriteJson(c.res, 200, OperationToJson(*op));
    return Status::Ok();
  });
  Add("GET", "/admin/jobs", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    json jobs = json::array();
    if (b_.scheduler) {
      for (const auto& job : b_.scheduler->List()) jobs.push_back(JobToJson(job));
    }
    WriteJson(c.res, 200, {{"jobs", jobs}});
    return Status::Ok();
  });
}

}  // namespace mv::http
