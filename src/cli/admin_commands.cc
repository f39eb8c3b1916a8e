#include "cli/admin_commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "app/application.h"
#include "base/time.h"
#include "cli/admin_client.h"
#include "http/operation_json.h"

namespace mv::cli {
namespace {

using nlohmann::json;

// The folder, opened as a server would open it (and held while the command runs).
Result<std::unique_ptr<app::Application>> OpenFolder(const AdminFlags& flags, const Clock* clock) {
  MV_ASSIGN_OR_RETURN(app::Config config, ResolveConfig(flags.serve));
  SetLogging(flags.json ? "warn" : config.log.level, config.log.format);
  return app::Application::Open(config, clock);
}

Result<AdminClient> Remote(const AdminFlags& flags) {
  return AdminClient::Create(flags.url, flags.key);
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + k + "=" + v;
  }
  return q;
}

// Prints a finished operation (as OperationToJson gives it) and returns the exit code.
int PrintOperation(worker::OperationKind kind, const json& op, bool as_json) {
  if (op.value("phase", "") == "failed") {
    std::cerr << "viya-mv: " << op.value("id", "") << " failed: " << op.value("error", "") << "\n";
    return 1;
  }
  json drift = op.value("drift", json::array());
  bool drifted = false;
  for (const auto& d : drift) {
    drifted = drifted || d.value("mismatched", 0) > 0 || !d.value("checksumMatch", true) ||
              d.value("sourceRows", 0) != d.value("viewRows", 0);
  }
  if (as_json) {
    std::cout << (kind == worker::OperationKind::kReconcile
                      ? json{{"token", op["token"]}, {"views", drift}}
                      : op)
                     .dump()
              << "\n";
  } else if (kind == worker::OperationKind::kReconcile) {
    std::cout << fmt::format("{:<24} {:<20} {:>10} {:>10} {:>10}  {}\n", "VIEW", "ORG", "SOURCE",
                             "VIEW", "MISMATCH", "REPAIRED");
    for (const auto& d : drift) {
      std::cout << fmt::format("{:<24} {:<20} {:>10} {:>10} {:>10}  {}\n", d.value("view", ""),
                               d.value("org", ""), d.value("sourceRows", 0), d.value("viewRows", 0),
                               d.value("mismatched", 0), d.value("repaired", false) ? "yes" : "-");
    }
    std::cout << (drifted ? "drift found" : "no drift") << " at token " << op.value("token", "")
              << "\n";
  } else {
    std::cout << fmt::format("{} done: {} shipments, views at token {}\n", op.value("id", ""),
                             op.value("rowsDone", 0), op.value("token", ""));
  }
  return drifted ? 3 : 0;
}

int RunOperationRemote(worker::OperationKind kind, const OperationFlags& flags) {
  auto client = Remote(flags.admin);
  if (!client.ok()) return Fail(client.status());
  std::string target;
  if (kind == worker::OperationKind::kReconcile) {
    target =
        "/admin/reconcile" +
        Query({{"org", flags.org}, {"view", flags.view}, {"repair", flags.repair ? "true" : ""}});
  } else if (flags.force) {
    target = "/admin/views/" + flags.view + "/migrate?force=true";
  } else if (!flags.view.empty()) {
    target = "/admin/views/" + flags.view + "/rebuild" + Query({{"org", flags.org}});
  } else {
    target = "/admin/rebuild" + Query({{"org", flags.org}});
  }
  auto queued = client->Call("POST", target);
  if (!queued.ok()) return Fail(queued.status());
  std::string id = queued->value("id", "");
  auto last_report = std::chrono::steady_clock::now();
  for (;;) {
    auto op = client->Call("GET", "/admin/operations/" + id);
    if (!op.ok()) return Fail(op.status());
    std::string phase = op->value("phase", "");
    if (phase == "done" || phase == "failed") return PrintOperation(kind, *op, flags.admin.json);
    if (!flags.admin.json &&
        std::chrono::steady_clock::now() - last_report > std::chrono::seconds(1)) {
      last_report = std::chrono::steady_clock::now();
      std::cerr << fmt::format("{} {}: {} {:.0f}%\n", worker::ToString(kind), id, phase,
                               op->value("percent", 0.0));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// On a folder no server holds: catches the views up with the stream, runs the operation
// beside it, prints the result.
int RunOperationOnFolder(worker::OperationKind kind, const OperationFlags& flags) {
  SystemClock clock;
  auto application = OpenFolder(flags.admin, &clock);
  if (!application.ok()) return Fail(application.status());
  app::Application& a = **application;
  std::optional<std::string> org;
  if (!flags.org.empty()) org = flags.org;
  std::vector<std::string> views;
  if (!flags.view.empty()) views.push_back(flags.view);
  if (org) {
    auto count = a.backend().snapshots().CountShipments(org);
    if (!count.ok()) return Fail(count.status());
    if (*count == 0) {
      std::cerr << "viya-mv: org " << *org << " has no shipments\n";
      return 2;
    }
  }
  // The views first take in every change the source holds.
  while (a.worker().checkpoint() < a.backend().progress().committed().Get()) {
    auto applied = a.worker().Step(Millis(0));
    if (!applied.ok()) return Fail(applied.status());
  }
  auto id = a.operations().Submit(kind, core::ViewScope{views, org}, flags.repair,
                                  "viya-mv " + std::string(worker::ToString(kind)), clock.Now());
  if (!id.ok()) return Fail(id.status());
  std::optional<worker::Operation> op;
  auto last_report = std::chrono::steady_clock::now();
  for (;;) {
    auto applied = a.worker().Step(Millis(1));
    if (!applied.ok()) return Fail(applied.status());
    a.worker().StepOperations();
    op = a.operations().Get(*id);
    if (!op || op->finished()) break;
    if (!flags.admin.json &&
        std::chrono::steady_clock::now() - last_report > std::chrono::seconds(1)) {
      last_report = std::chrono::steady_clock::now();
      std::cerr << fmt::format("{} {}: {} {:.0f}%\n", worker::ToString(kind), *id,
                               worker::ToString(op->phase), op->percent());
    }
  }
  if (!op) return Fail(Status::Internal("operation " + *id + " is gone"));
  return PrintOperation(kind, http::OperationToJson(*op), flags.admin.json);
}

// The answer of `target` from the server, or of `local` on the folder.
Result<json> Ask(const AdminFlags& flags, const std::string& method, const std::string& target,
                 const std::function<Result<json>(app::Application&)>& local) {
  if (!flags.url.empty()) {
    MV_ASSIGN_OR_RETURN(AdminClient client, Remote(flags));
    return client.Call(method, target);
  }
  SystemClock clock;
  MV_ASSIGN_OR_RETURN(auto application, OpenFolder(flags, &clock));
  return local(*application);
}

}  // namespace

void AddAdminFlags(CLI::App* cmd, AdminFlags* f) {
  AddFolderFlags(cmd, &f->serve);
  cmd->add_option("--url", f->url, "Act through a running server's admin API (http://HOST:PORT)");
  cmd->add_option("--key", f->key, "Admin key for --url")->envname("VIYA_MV_ADMIN_KEY");
  cmd->add_flag("--json", f->json, "Print JSON");
}

void AddOperationFlags(CLI::App* cmd, OperationFlags* f, bool reconcile) {
  AddAdminFlags(cmd, &f->admin);
  cmd->add_option("--org", f->org, "Only this org (default every org)");
  cmd->add_option("--view", f->view, "Only this view (default every view)");
  if (reconcile) {
    cmd->add_flag("--repair", f->repair, "Rebuild every view and org found drifted");
  }
}

namespace {

// True when `view` is a view of this build; else says which views there are.
bool KnownView(const std::string& view) {
  auto names = core::ViewSet::Default().Names();
  if (std::find(names.begin(), names.end(), view) != names.end()) return true;
  std::cerr << fmt::format("viya-mv: no view {}; the views are {}\n", view, fmt::join(names, ", "));
  return false;
}

}  // namespace

int RunOperation(worker::OperationKind kind, const OperationFlags& flags) {
  if (!flags.view.empty() && !KnownView(flags.view)) return 2;
  if (!flags.org.empty() && !core::IsValidId(flags.org)) {
    std::cerr << "viya-mv: --org must be 1-128 characters of letters, digits and -_.:@\n";
    return 2;
  }
  return flags.admin.url.empty() ? RunOperationOnFolder(kind, flags)
                                 : RunOperationRemote(kind, flags);
}

namespace {

// The stored versions of `view` (GET /admin/views), one line each.
void PrintVersions(const json& views, const std::string& view) {
  for (const auto& v : views) {
    if (!view.empty() && v.value("view", "") != view) continue;
    for (const auto& one : v.value("versions", json::array())) {
      std::cout << fmt::format(
          "{:<26} v{:<3} {:<9} {:>10} rows{}{}\n", v.value("view", ""), one.value("version", 0),
          one.value("state", ""), one.value("rows", 0),
          one.value("validated", false) ? ", validated" : "",
          one.contains("retiredAt") ? ", retired " + one["retiredAt"].get<std::string>() : "");
    }
  }
}

// The kind of a `migrate` and whether it names its view.
struct MigrateStep {
  worker::OperationKind kind;
  const char* route;  // POST /admin/views/{mv}/<route>
};
MigrateStep StepOf(const OperationFlags& f) {
  if (f.switch_version) return {worker::OperationKind::kSwitch, "switch"};
  if (f.rollback) return {worker::OperationKind::kRollback, "rollback"};
  if (f.drop_retired) return {worker::OperationKind::kDropRetired, "drop-retired"};
  return {worker::OperationKind::kMigrate, "migrate"};
}

// Waits on the folder's worker until no operation runs (a migrate queues its validation).
Result<std::optional<worker::Operation>> RunToCompletion(app::Application& a, const std::string& id,
                                                         bool quiet) {
  auto last_report = std::chrono::steady_clock::now();
  for (;;) {
    MV_RETURN_IF_ERROR(a.worker().Step(Millis(1)).status());
    a.worker().StepOperations();
    bool running = false;
    for (const auto& op : a.operations().List()) {
      if (op.finished()) continue;
      running = true;
      if (!quiet && std::chrono::steady_clock::now() - last_report > std::chrono::seconds(1)) {
        last_report = std::chrono::steady_clock::now();
        std::cerr << fmt::format("{} {}: {} {:.0f}%\n", worker::ToString(op.kind), op.id,
                                 worker::ToString(op.phase), op.percent());
      }
    }
    if (!running) return a.operations().Get(id);
  }
}

int MigrateOnFolder(const OperationFlags& flags, MigrateStep step) {
  SystemClock clock;
  auto application = OpenFolder(flags.admin, &clock);
  if (!application.ok()) return Fail(application.status());
  app::Application& a = **application;
  while (a.worker().checkpoint() < a.backend().progress().committed().Get()) {
    auto applied = a.worker().Step(Millis(0));
    if (!applied.ok()) return Fail(applied.status());
  }
  std::vector<std::string> views;
  if (!flags.view.empty()) views.push_back(flags.view);
  core::ViewScope scope{views, std::nullopt, step.kind == worker::OperationKind::kMigrate};
  auto id = a.operations().Submit(step.kind, scope, false, "viya-mv migrate", clock.Now());
  if (!id.ok()) return Fail(id.status());
  auto op = RunToCompletion(a, *id, flags.admin.json);
  if (!op.ok()) return Fail(op.status());
  if (!*op) return Fail(Status::Internal("operation " + *id + " is gone"));
  std::vector<worker::Operation> all = a.operations().List();
  json views_report = a.StatusReport()["views"];
  if (flags.admin.json) {
    json ops = json::array();
    for (const auto& o : all) ops.push_back(http::OperationToJson(o));
    std::cout << json{{"operations", ops}, {"views", views_report}}.dump() << "\n";
  }
  int code = 0;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->phase == worker::OperationPhase::kFailed) {
      std::cerr << "viya-mv: " << ToString(it->kind) << " " << it->id << " failed: " << it->error
                << "\n";
      code = 1;
    } else if (!flags.admin.json) {
      std::cout << fmt::format("{} {} done: {}\n", ToString(it->kind), it->id,
                               it->scope.Describe());
    }
  }
  if (!flags.admin.json) PrintVersions(views_report, flags.view);
  return code;
}

int MigrateRemote(const OperationFlags& flags, MigrateStep step) {
  auto client = Remote(flags.admin);
  if (!client.ok()) return Fail(client.status());
  auto answer = client->Call("POST", "/admin/views/" + flags.view + "/" + step.route);
  if (!answer.ok()) return Fail(answer.status());
  json op = *answer;
  std::string id = op.value("id", "");
  while (op.value("phase", "") != "done" && op.value("phase", "") != "failed") {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto next = client->Call("GET", "/admin/operations/" + id);
    if (!next.ok()) return Fail(next.status());
    op = *next;
  }
  auto views = client->Call("GET", "/admin/views");
  if (!views.ok()) return Fail(views.status());
  if (flags.admin.json) {
    std::cout << json{{"operation", op}, {"views", (*views)["views"]}}.dump() << "\n";
  }
  if (op.value("phase", "") == "failed") {
    std::cerr << "viya-mv: " << id << " failed: " << op.value("error", "") << "\n";
    return 1;
  }
  if (!flags.admin.json) {
    std::cout << fmt::format("{} {} done{}\n", op.value("kind", ""), id,
                             step.kind == worker::OperationKind::kMigrate
                                 ? "; the server validates it next (GET /admin/operations)"
                                 : "");
    PrintVersions((*views)["views"], flags.view);
  }
  return 0;
}

}  // namespace

int RunMigrate(const OperationFlags& flags) {
  if (flags.force) {
    if (flags.view.empty()) {
      std::cerr << "viya-mv migrate: --force needs --view V\n";
      return 2;
    }
    return RunOperation(worker::OperationKind::kRebuild, flags);
  }
  MigrateStep step = StepOf(flags);
  if (flags.view.empty() &&
      !(step.kind == worker::OperationKind::kDropRetired && flags.admin.url.empty())) {
    std::cerr << "viya-mv migrate: give --view V (--drop-retired alone, on a folder, acts on "
                 "every view)\n";
    return 2;
  }
  if (!flags.view.empty() && !KnownView(flags.view)) return 2;
  return flags.admin.url.empty() ? MigrateOnFolder(flags, step) : MigrateRemote(flags, step);
}

int RunStatus(const AdminFlags& flags) {
  auto report = Ask(flags, "GET", "/admin/status",
                    [](app::Application& a) -> Result<json> { return a.StatusReport(); });
  if (!report.ok()) return Fail(report.status());
  const json& s = *report;
  if (flags.json) {
    std::cout << s.dump() << "\n";
    return 0;
  }
  std::cout << fmt::format("checkpoint  token {} (source at {}), lag {} events / {:.1f} s{}\n",
                           s.value("token", ""), s.value("sourceToken", ""),
                           s.value("lagEvents", 0), s.value("lagSeconds", 0.0),
                           flags.url.empty()                 ? " (no server running)"
                           : s.value("streamRunning", false) ? ", stream running"
                                                             : ", STREAM NOT RUNNING");
  std::cout << "\nVIEW                       VERSION  STATE     GENERATION        ROWS  BUILT\n";
  for (const auto& v : s.value("views", json::array())) {
    const json versions = v.value("versions", json::array());
    if (versions.empty()) {
      std::cout << fmt::format("{:<26} {:>7}  {:<8}\n", v.value("view", ""), v.value("version", 0),
                               "-");
    }
    for (const auto& one : versions) {
      std::cout << fmt::format(
          "{:<26} {:>7}  {:<8}  {:>10}  {:>10}  {}{}\n", v.value("view", ""),
          one.value("version", 0), one.value("state", "-"), one.value("generation", 0),
          one.value("rows", 0), one.value("builtAt", "-"),
          one.value("state", "") == "building" && one.value("validated", false) ? " (validated)"
                                                                                : "");
    }
  }
  std::cout << "\nOPERATION  KIND       PHASE      PROGRESS  SCOPE\n";
  const json ops = s.value("operations", json::array());
  if (ops.empty()) std::cout << "(none running)\n";
  for (const auto& op : ops) {
    std::cout << fmt::format("{:<10} {:<10} {:<10} {:>7.0f}%  {}\n", op.value("id", ""),
                             op.value("kind", ""), op.value("phase", ""), op.value("percent", 0.0),
                             op.value("scope", json()).dump());
  }
  std::cout << "\nJOB                    SCHEDULE      LAST      FAILURES  NEXT RUN\n";
  for (const auto& job : s.value("jobs", json::array())) {
    std::cout << fmt::format("{:<22} {:<13} {:<9} {:>8}  {}\n", job.value("name", ""),
                             job.value("schedule", ""), job.value("lastOutcome", "-"),
                             job.value("consecutiveFailures", 0), job.value("nextRun", "never"));
  }
  std::cout << "\ndead letters: " << s.value("deadLetters", 0) << "\n";
  return 0;
}

int RunDeadLettersList(const AdminFlags& flags, std::int64_t limit) {
  auto answer = Ask(
      flags, "GET", "/admin/dead-letters?limit=" + std::to_string(limit),
      [&](app::Application& a) { return http::DeadLetterList(a.backend().dead_letters(), limit); });
  if (!answer.ok()) return Fail(answer.status());
  if (flags.json) {
    std::cout << answer->dump() << "\n";
    return 0;
  }
  for (const auto& d : (*answer)["deadLetters"]) {
    std::cout << fmt::format(
        "{}\t{}\t{}\t{}\ttoken {}\t{}\n", d.value("id", 0), d.value("collection", ""),
        d.value("org", ""), d.value("documentId", ""), d.value("token", ""), d.value("reason", ""));
  }
  std::cerr << (*answer)["total"].get<std::int64_t>() << " dead letters\n";
  return 0;
}

int RunDeadLetterRetry(const AdminFlags& flags, std::int64_t id) {
  auto answer = Ask(flags, "POST", fmt::format("/admin/dead-letters/{}/retry", id),
                    [&](app::Application& a) -> Result<nlohmann::json> {
                      api::SourceWriter* writer = a.backend().writer();
                      if (writer == nullptr)
                        return Status::Unavailable("this backend's source takes no writes");
                      return http::RetryDeadLetter(a.backend().dead_letters(), *writer, id);
                    });
  if (!answer.ok()) return Fail(answer.status());
  if (flags.json) {
    std::cout << answer->dump() << "\n";
  } else {
    std::cout << fmt::format(
        "dead letter {} ({} {} of org {}) goes through the stream again as "
        "change {}{}\n",
        id, answer->value("collection", ""), answer->value("documentId", ""),
        answer->value("org", ""), answer->value("retryToken", ""),
        flags.url.empty() ? " (applied when the server starts)" : "");
  }
  return 0;
}

int RunApiKeyList(const AdminFlags& flags) {
  auto answer = Ask(flags, "GET", "/admin/keys",
                    [](app::Application& a) { return http::ApiKeyList(a.keys()); });
  if (!answer.ok()) return Fail(answer.status());
  if (flags.json) {
    std::cout << answer->dump() << "\n";
    return 0;
  }
  for (const auto& k : (*answer)["keys"]) {
    std::cout << fmt::format(
        "{}\t{}\t{}\t{}\tcreated {}\t{}\n", k.value("id", ""), k.value("prefix", ""),
        k.value("admin", false) ? "admin" : "org " + k.value("org", ""),
        k.value("name", "").empty() ? "-" : k.value("name", ""), k.value("createdAt", ""),
        k.contains("revokedAt") ? "revoked " + k.value("revokedAt", "") : "active");
  }
  return 0;
}

int RunApiKeyRevoke(const AdminFlags& flags, const std::string& id) {
  auto answer =
      Ask(flags, "POST", "/admin/keys/" + id + "/revoke", [&](app::Application& a) -> Result<json> {
        MV_RETURN_IF_ERROR(a.keys().Revoke(id));
        return json{{"id", id}, {"revoked", true}};
      });
  if (!answer.ok()) return Fail(answer.status());
  std::cout << (flags.json ? answer->dump() : "revoked " + id) << "\n";
  return 0;
}

}  // namespace mv::cli
