// The admin API (DESIGN.md section 6): operations on the views, for admin keys only.
// Long operations answer 202 with the operation; GET /admin/operations/{id} follows it.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <thread>

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
  if (op.scope.next_version) j["nextVersion"] = true;
  if ((op.kind == worker::OperationKind::kReconcile || op.kind == worker::OperationKind::kRefresh ||
       op.kind == worker::OperationKind::kValidate) &&
      op.finished()) {
    j["drift"] = ReconcileReport(op)["views"];
  }
  return j;
}

namespace {

template <typename Enum>
std::optional<Enum> ParseEnum(const std::string& text, std::initializer_list<Enum> values) {
  for (Enum e : values) {
    if (ToString(e) == text) return e;
  }
  return std::nullopt;
}

}  // namespace

Result<worker::Operation> OperationFromJson(const json& j) {
  using K = worker::OperationKind;
  using P = worker::OperationPhase;
  worker::Operation op;
  try {
    op.id = j.at("id").get<std::string>();
    auto kind = ParseEnum<K>(j.at("kind").get<std::string>(),
                             {K::kRebuild, K::kReconcile, K::kBackfill, K::kRefresh, K::kMigrate,
                              K::kValidate, K::kSwitch, K::kRollback, K::kDropRetired});
    auto phase = ParseEnum<P>(
        j.value("phase", "queued"),
        {P::kQueued, P::kSnapshot, P::kCatchUp, P::kComparing, P::kSwapping, P::kDone, P::kFailed});
    if (!kind || !phase) return Status::InvalidArgument("not an operation: " + j.dump());
    op.kind = *kind;
    op.phase = *phase;
    op.scope.views = j.value("views", std::vector<std::string>{});
    if (j.contains("org") && j["org"].is_string()) op.scope.org = j["org"].get<std::string>();
    op.scope.next_version = j.value("nextVersion", false);
    op.repair = j.value("repair", false);
    op.requested_by = j.value("requestedBy", "");
    auto time = [&](const char* field) -> std::optional<Timestamp> {
      return j.contains(field) ? ParseRfc3339(j[field].get<std::string>()) : std::nullopt;
    };
    op.submitted_at = time("submittedAt").value_or(Timestamp{});
    op.started_at = time("startedAt");
    op.finished_at = time("finishedAt");
    op.rows_done = j.value("rowsDone", std::int64_t{0});
    op.rows_total = j.value("rowsTotal", std::int64_t{0});
    op.rows_per_second = j.value("rowsPerSecond", 0.0);
    if (j.contains("etaSeconds")) op.eta_seconds = j["etaSeconds"].get<double>();
    op.token = std::stoll(j.value("token", std::string("0")));
    op.error = j.value("error", "");
    for (const auto& d : j.value("drift", json::array())) {
      worker::DriftReport r;
      r.drift.view = d.value("view", "");
      r.drift.org = d.value("org", "");
      r.drift.source_rows = d.value("sourceRows", std::int64_t{0});
      r.drift.view_rows = d.value("viewRows", std::int64_t{0});
      r.drift.mismatched = d.value("mismatched", std::int64_t{0});
      r.drift.checksum_match = d.value("checksumMatch", true);
      r.drift.sample_keys = d.value("sampleKeys", std::vector<std::string>{});
      r.repaired = d.value("repaired", false);
      op.drift.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("not an operation: ") + e.what());
  }
  return op;
}

json StoredVersionToJson(const core::StoredVersion& v) {
  json j = {{"version", v.version},
            {"state", core::ToString(v.state)},
            {"generation", v.generation},
            {"validated", v.validated},
            {"token", TokenText(static_cast<core::ChangeToken>(v.token))}};
  if (v.built_at) j["builtAt"] = FormatRfc3339(*v.built_at);
  if (v.retired_at) j["retiredAt"] = FormatRfc3339(*v.retired_at);
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

json DeadLetterToJson(const api::StoredDeadLetter& d) {
  return {{"id", d.id},
          {"token", TokenText(d.letter.token)},
          {"collection", core::ToString(d.letter.collection)},
          {"org", d.letter.org},
          {"documentId", d.letter.document_id},
          {"reason", d.letter.reason},
          {"document", d.letter.document},
          {"createdAt", FormatRfc3339(d.created_at)}};
}

json ApiKeyToJson(const api::ApiKeyInfo& k) {
  json j = {{"id", k.id},
            {"name", k.name},
            {"admin", k.admin},
            {"prefix", k.prefix},
            {"createdAt", FormatRfc3339(k.created_at)}};
  if (!k.admin) j["org"] = k.org;
  if (k.revoked_at) j["revokedAt"] = FormatRfc3339(*k.revoked_at);
  return j;
}

Result<json> DeadLetterList(api::DeadLetters& store, std::int64_t limit) {
  MV_ASSIGN_OR_RETURN(auto letters, store.List(static_cast<size_t>(limit)));
  MV_ASSIGN_OR_RETURN(std::int64_t total, store.Count());
  json out = json::array();
  for (const auto& d : letters) out.push_back(DeadLetterToJson(d));
  return json{{"deadLetters", out}, {"total", total}};
}

Result<json> RetryDeadLetter(api::DeadLetters& store, api::SourceWriter& source, std::int64_t id) {
  MV_ASSIGN_OR_RETURN(auto letter, store.Get(id));
  if (!letter) return Status::NotFound(fmt::format("no dead letter {}", id));
  // The current source document goes through the stream again; if it still cannot be
  // projected, it comes back as a new dead letter.
  MV_ASSIGN_OR_RETURN(
      core::ChangeToken token,
      source.Reemit(letter->letter.collection, letter->letter.org, letter->letter.document_id));
  MV_RETURN_IF_ERROR(store.Remove(id));
  json out = DeadLetterToJson(*letter);
  out["retryToken"] = TokenText(token);
  return out;
}

Result<json> ApiKeyList(api::KeyStore& keys) {
  MV_ASSIGN_OR_RETURN(auto list, keys.List());
  json out = json::array();
  for (const auto& k : list) out.push_back(ApiKeyToJson(k));
  return json{{"keys", out}};
}

namespace {

std::string Who(const Call& c) { return "admin key " + c.principal.key_id; }

}  // namespace

Result<json> ApiService::ViewsReport(bool with_rows) {
  json views = json::array();
  std::map<std::string, std::vector<api::CatalogEntry>> stored;
  if (b_.catalog && with_rows) {
    MV_ASSIGN_OR_RETURN(auto entries, b_.catalog->Entries());
    for (auto& e : entries) stored[e.stored.view].push_back(std::move(e));
  }
  if (b_.views) {
    for (const auto& name : b_.views->Names()) {
      json v = {{"view", name}, {"version", b_.views->VersionOf(name)}};
      auto it = stored.find(name);
      if (it != stored.end()) {
        json versions = json::array();
        for (const auto& e : it->second) {
          json one = StoredVersionToJson(e.stored);
          one["rows"] = e.rows;
          if (e.stored.state == core::VersionState::kLive) {
            v["state"] = "live";
            v["liveVersion"] = e.stored.version;
            v["generation"] = e.stored.generation;
            v["rows"] = e.rows;
            if (e.stored.built_at) v["builtAt"] = FormatRfc3339(*e.stored.built_at);
          }
          versions.push_back(std::move(one));
        }
        v["versions"] = std::move(versions);
      }
      views.push_back(std::move(v));
    }
  }
  return views;
}

json ApiService::StatusReport() {
  json report = b_.stream_status ? b_.stream_status() : json::object();
  auto views = ViewsReport(/*with_rows=*/true);
  report["views"] = views.ok() ? *views : json::array();
  json ops = json::array();
  if (b_.operations) {
    for (const auto& op : b_.operations->List()) {
      if (!op.finished()) ops.push_back(OperationToJson(op));
    }
  }
  report["operations"] = ops;
  json jobs = json::array();
  if (b_.scheduler) {
    for (const auto& job : b_.scheduler->List()) jobs.push_back(JobToJson(job));
  }
  report["jobs"] = jobs;
  if (b_.dead_letters) {
    auto count = b_.dead_letters->Count();
    if (count.ok()) report["deadLetters"] = *count;
  }
  return report;
}

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
    MV_ASSIGN_OR_RETURN(std::int64_t shipments, b_.snapshots->CountShipments(org));
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
    MV_ASSIGN_OR_RETURN(json views, ViewsReport(/*with_rows=*/true));
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
  // The stored versions of `view`, from the catalog.
  auto versions_of = [this](const std::string& view) -> Result<std::vector<core::StoredVersion>> {
    if (b_.catalog == nullptr) return Status::Unavailable("this process has no view catalog");
    MV_ASSIGN_OR_RETURN(auto all, b_.catalog->Versions());
    std::vector<core::StoredVersion> out;
    for (auto& v : all) {
      if (v.view == view) out.push_back(std::move(v));
    }
    return out;
  };
  auto find_state = [](const std::vector<core::StoredVersion>& versions,
                       core::VersionState state) -> const core::StoredVersion* {
    for (const auto& v : versions) {
      if (v.state == state) return &v;
    }
    return nullptr;
  };
  Add("POST", "/admin/views/{mv}/migrate", admin, [=, this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"force"}));
    const std::string& view = c.path_params[0];
    MV_RETURN_IF_ERROR(known_view(view));
    MV_ASSIGN_OR_RETURN(auto force, c.params.Text("force"));
    if (force && *force != "true" && *force != "false") {
      return Status::InvalidArgument("force: expected true or false");
    }
    if (force && *force == "true") {
      return submit(c, worker::OperationKind::kRebuild, {{view}, std::nullopt}, false);
    }
    MV_ASSIGN_OR_RETURN(auto versions, versions_of(view));
    const core::StoredVersion* live = find_state(versions, core::VersionState::kLive);
    int newest = b_.views->VersionOf(view);
    if (live == nullptr || live->version == newest) {
      return Status::Conflict(fmt::format(
          "{} v{} is live and is the newest definition this build has; force=true builds a new "
          "generation of it (to repair or re-index)",
          view, newest));
    }
    return submit(c, worker::OperationKind::kMigrate, {{view}, std::nullopt, true}, false);
  });
  // Switch, rollback and dropping retired versions change only the catalog: the worker
  // runs them at once, and the answer waits for it (up to kInstantWait).
  auto run_instant = [this](Call& c, worker::OperationKind kind, core::ViewScope scope) -> Status {
    if (b_.operations == nullptr) return Status::Unavailable("this process runs no operations");
    std::string by = Who(c);
    MV_ASSIGN_OR_RETURN(std::string id,
                        b_.operations->Submit(kind, scope, false, by, system_clock_.Now()));
    spdlog::info("admin: {} asked for {} {} ({})", by, worker::ToString(kind), id,
                 scope.Describe());
    constexpr auto kInstantWait = std::chrono::seconds(10);
    auto deadline = std::chrono::steady_clock::now() + kInstantWait;
    std::optional<worker::Operation> op = b_.operations->Get(id);
    while (op && !op->finished() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      op = b_.operations->Get(id);
    }
    if (!op) return Status::Internal("operation " + id + " vanished");
    if (op->phase == worker::OperationPhase::kFailed) return Status::Conflict(op->error);
    c.res.headers.Set("Location", "/admin/operations/" + id);
    WriteJson(c.res, op->finished() ? 200 : 202, OperationToJson(*op));
    return Status::Ok();
  };
  const RouteOptions admin_waits{.access = Access::kAdmin, .offload_body_bytes = 0};
  Add("POST", "/admin/views/{mv}/switch", admin_waits, [=](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    const std::string& view = c.path_params[0];
    MV_RETURN_IF_ERROR(known_view(view));
    MV_ASSIGN_OR_RETURN(auto versions, versions_of(view));
    const core::StoredVersion* next = find_state(versions, core::VersionState::kBuilding);
    if (next == nullptr || !next->validated) {
      const core::StoredVersion* live = find_state(versions, core::VersionState::kLive);
      return Status::Conflict(fmt::format("{} has no {} version to switch to (v{} is live)", view,
                                          next == nullptr ? "built" : "validated",
                                          live ? live->version : 0));
    }
    return run_instant(c, worker::OperationKind::kSwitch, {{view}, std::nullopt});
  });
  Add("POST", "/admin/views/{mv}/rollback", admin_waits, [=](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    const std::string& view = c.path_params[0];
    MV_RETURN_IF_ERROR(known_view(view));
    MV_ASSIGN_OR_RETURN(auto versions, versions_of(view));
    if (find_state(versions, core::VersionState::kRetired) == nullptr) {
      return Status::Conflict(view + " has no retired version to roll back to");
    }
    return run_instant(c, worker::OperationKind::kRollback, {{view}, std::nullopt});
  });
  Add("POST", "/admin/views/{mv}/drop-retired", admin_waits, [=](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    const std::string& view = c.path_params[0];
    MV_RETURN_IF_ERROR(known_view(view));
    return run_instant(c, worker::OperationKind::kDropRetired, {{view}, std::nullopt});
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
  Add("GET", "/admin/dead-letters", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({"limit"}));
    MV_ASSIGN_OR_RETURN(auto limit, c.params.Integer("limit", 1, 1000));
    if (b_.dead_letters == nullptr) return Status::Unavailable("no dead letters in this process");
    MV_ASSIGN_OR_RETURN(json list, DeadLetterList(*b_.dead_letters, limit.value_or(100)));
    WriteJson(c.res, 200, list);
    return Status::Ok();
  });
  Add("POST", "/admin/dead-letters/{id}/retry", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    if (b_.dead_letters == nullptr) return Status::Unavailable("no dead letters in this process");
    std::int64_t id = 0;
    const std::string& text = c.path_params[0];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
      return Status::NotFound("no dead letter " + text.substr(0, 64));
    }
    MV_RETURN_IF_ERROR(WritesAccepted());
    MV_ASSIGN_OR_RETURN(json retried, RetryDeadLetter(*b_.dead_letters, *b_.writer, id));
    spdlog::info("admin: {} retried dead letter {} ({} {} of org {}) as change {}", Who(c), id,
                 retried["collection"].get<std::string>(), retried["documentId"].get<std::string>(),
                 retried["org"].get<std::string>(), retried["retryToken"].get<std::string>());
    WriteJson(c.res, 200, retried);
    return Status::Ok();
  });
  Add("GET", "/admin/keys", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    MV_ASSIGN_OR_RETURN(json keys, ApiKeyList(*b_.keys));
    WriteJson(c.res, 200, keys);
    return Status::Ok();
  });
  Add("POST", "/admin/keys/{id}/revoke", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    MV_RETURN_IF_ERROR(b_.keys->Revoke(c.path_params[0]));
    auth_.Forget();
    spdlog::info("admin: {} revoked API key {}", Who(c), c.path_params[0]);
    WriteJson(c.res, 200, {{"id", c.path_params[0]}, {"revoked", true}});
    return Status::Ok();
  });
  Add("GET", "/admin/status", admin, [this](Call& c) -> Status {
    MV_RETURN_IF_ERROR(c.params.CheckAllowed({}));
    WriteJson(c.res, 200, StatusReport());
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
