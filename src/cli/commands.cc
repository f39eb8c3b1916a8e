#include "cli/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/application.h"
#include "app/config.h"
#include "cli/admin_commands.h"
#include "cli/command_support.h"
#include "http/operation_json.h"
#include "importer/importer.h"
#include "sim/simulator.h"

namespace mv::cli {

void AddFolderFlags(CLI::App* cmd, ServeFlags* f) {
  cmd->add_option("--data", f->data_dir, "Data folder (source.db, views.db)");
  cmd->add_option("--config", f->config_file, "TOML configuration file")->envname("VIYA_MV_CONFIG");
}

void AddServeFlags(CLI::App* cmd, ServeFlags* f) {
  AddFolderFlags(cmd, f);
  cmd->add_option("--http", f->http, "Listen address HOST:PORT (default 127.0.0.1:8080)");
  cmd->add_option("--role", f->role,
                  "all (default): worker and API in one process; worker: the one process that "
                  "maintains the views; api: a replica serving the API from the data folder a "
                  "worker maintains (any number beside it)")
      ->check(CLI::IsMember({"all", "worker", "api"}));
}

// Defaults < config file < VIYA_MV_* environment < command-line flags. Flags are
// validated like the variables they override.
Result<app::Config> ResolveConfig(const ServeFlags& f) {
  auto env = app::ViyaEnvironment();
  if (!f.data_dir.empty()) env["VIYA_MV_DATA_DIR"] = f.data_dir;
  if (!f.http.empty()) env["VIYA_MV_HTTP_LISTEN"] = f.http;
  if (!f.role.empty()) env["VIYA_MV_SERVE_ROLE"] = f.role;
  return app::LoadConfig(f.config_file, env);
}

namespace {

// Blocks SIGINT/SIGTERM in every thread started after this call, so that WaitForSignal
// can take them synchronously.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int WaitForSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace

int Fail(const Status& s) {
  std::cerr << "viya-mv: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

namespace {

int RunServe(const ServeFlags& flags) {
  auto config = ResolveConfig(flags);
  if (!config.ok()) return Fail(config.status());
  if (flags.print_config) {
    std::cout << app::ConfigToToml(*config);
    return 0;
  }
  SetLogging(config->log.level, config->log.format);
  sigset_t signals = BlockStopSignals();
  SystemClock clock;
  auto application = app::Application::Open(*config, &clock);
  if (!application.ok()) return Fail(application.status());
  // A worker that lost its partition's lease ends the process (exit 1): the orchestrator
  // starts it again, and it waits for the lease with nothing stale in memory.
  (*application)->OnFatal([](const Status&) { kill(getpid(), SIGTERM); });
  if (Status s = (*application)->Start(); !s.ok()) return Fail(s);
  int sig = WaitForSignal(signals);
  Status fatal = (*application)->fatal();
  if (fatal.ok()) {
    spdlog::info("received {}; finishing the current batch", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  (*application)->Stop();
  return fatal.ok() ? 0 : Fail(fatal);
}

// `viya-mv check`: the preflight of a MongoDB source, one line per check (or --json);
// exit 1 on a blocker.
int RunCheck(const ServeFlags& flags, bool as_json) {
  auto config = ResolveConfig(flags);
  if (!config.ok()) return Fail(config.status());
  SetLogging(config->log.level, config->log.format);
  if (config->source.backend != "mongodb") {
    std::cout << "source.backend = \"" << config->source.backend
              << "\": the embedded source needs no preflight\n";
    return 0;
  }
  SystemClock clock;
  auto report = backend::CheckSource(app::BackendOptionsOf(*config), &clock);
  if (!report.ok()) return Fail(report.status());
  if (as_json) {
    std::cout << report->dump(2) << "\n";
  } else {
    for (const auto& c : (*report)["checks"]) {
      std::cout << fmt::format("{:<8} {:<10} {}\n", c["level"].get<std::string>(),
                               c["check"].get<std::string>(), c["message"].get<std::string>());
    }
  }
  return (*report)["blocked"].get<bool>() ? 1 : 0;
}

int RunApiKeyCreate(const std::string& data_dir, const std::string& org, bool admin,
                    const std::string& name) {
  if (admin == !org.empty()) {
    std::cerr << "viya-mv apikey create: give exactly one of --org ORG or --admin\n";
    return 2;
  }
  if (!admin && !core::IsValidId(org)) {
    std::cerr
        << "viya-mv apikey create: --org must be 1-128 characters of letters, digits and -_.:@\n";
    return 2;
  }
  SystemClock clock;
  backend::BackendOptions options;
  options.data_dir = data_dir;
  auto keys = backend::OpenKeyStore(options, &clock);
  if (!keys.ok()) return Fail(keys.status());
  auto key = (*keys)->CreateKey({admin ? "" : org, admin, ""}, name);
  if (!key.ok()) return Fail(key.status());
  std::cout << key->key << "\n";
  std::cerr << "created API key " << key->id << " (`viya-mv apikey revoke " << key->id
            << "` revokes it)\n";
  return 0;
}

struct ImportFlags {
  ServeFlags serve;
  std::string collection = "shipments";
  std::string file;
  std::string org;
  std::string org_field = "organizationId";
  std::string on_error = "fail";
  size_t batch = 1000;
};

// Progress on stderr: a bar redrawn in place on a terminal, a plain line every few
// seconds otherwise (logs, CI).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(std::string what) : what_(std::move(what)), tty_(isatty(2) == 1) {}

  void Show(const importer::ImportProgress& p, bool last) {
    auto now = std::chrono::steady_clock::now();
    if (!last && now - shown_ < (tty_ ? std::chrono::milliseconds(200) : std::chrono::seconds(5))) {
      return;
    }
    shown_ = now;
    double seconds = std::chrono::duration<double>(now - started_).count();
    double percent = p.bytes_total > 0 ? 100.0 * static_cast<double>(p.bytes_done) /
                                             static_cast<double>(p.bytes_total)
                                       : 100.0;
    double rate = seconds > 0 ? static_cast<double>(p.imported - first_imported_) / seconds : 0;
    if (first_imported_ < 0) first_imported_ = p.imported;
    std::string text = fmt::format("{} {:5.1f}%  {} imported, {} skipped, {:.0f}/s", what_, percent,
                                   p.imported, p.skipped, rate);
    if (tty_) {
      constexpr int kWidth = 30;
      int filled = static_cast<int>(percent / 100.0 * kWidth);
      std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] "
                << text << (last ? "\n" : "") << std::flush;
    } else {
      std::cerr << text << "\n";
    }
  }

 private:
  std::string what_;
  bool tty_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point shown_{};
  std::int64_t first_imported_ = -1;
};

// `viya-mv import`: documents of a file into the data folder's source. Exit 0 when every
// document was imported or skipped as asked, 1 when the import failed, 2 for bad arguments
// or (--on-error fail) bad documents.
int RunImport(const ImportFlags& flags) {
  auto collection = core::ParseCollection(flags.collection);
  if (!collection) {
    std::cerr << "viya-mv import: --collection must be shipments, tracking_events, customers "
                 "or carriers\n";
    return 2;
  }
  if (!flags.org.empty() && !core::IsValidId(flags.org)) {
    std::cerr << "viya-mv import: --org must be 1-128 characters of letters, digits and -_.:@\n";
    return 2;
  }
  auto config = ResolveConfig(flags.serve);
  if (!config.ok()) return Fail(config.status());
  SetLogging("warn");
  SystemClock clock;
  auto application = app::Application::Open(*config, &clock);
  if (!application.ok()) return Fail(application.status());
  importer::ImportOptions options;
  options.mapping.collection = *collection;
  if (!flags.org.empty()) options.mapping.org = flags.org;
  options.mapping.org_field = flags.org_field;
  options.on_error = flags.on_error == "skip" ? importer::ImportOptions::OnError::kSkip
                                              : importer::ImportOptions::OnError::kFail;
  options.batch_documents = flags.batch;
  options.progress_path = importer::ProgressPath(config->data_dir, flags.file, options.mapping);
  ProgressDisplay display("import " + flags.collection);
  options.on_progress = [&](const importer::ImportProgress& p) { display.Show(p, false); };
  options.on_bad_document = [&](std::int64_t line, const std::string& why) {
    std::cerr << (isatty(2) == 1 ? "\r" : "") << flags.file << ":" << line << ": " << why << "\n";
  };
  auto started = std::chrono::steady_clock::now();
  auto embedded = (*application)->backend().embedded();
  if (!embedded) {
    std::cerr << "viya-mv import: loads the embedded source only; with a MongoDB source, load "
                 "the documents into the platform's database (mongoimport)\n";
    return 2;
  }
  auto result = importer::ImportFile(flags.file, *embedded->source, options);
  if (!result.ok()) {
    std::cerr << "viya-mv import: " << result.status().message() << "\n";
    return result.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  const importer::ImportProgress& t = result->totals;
  if (result->already_done) {
    std::cout << fmt::format(
        "{} was already imported ({} documents, {} skipped); remove {} to import it again\n",
        flags.file, t.imported, t.skipped, options.progress_path);
    return 0;
  }
  display.Show(t, true);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << fmt::format(
      "imported {} {} from {} in {:.1f}s{}{}; source at token {}\n", t.imported, flags.collection,
      flags.file, seconds, t.skipped ? fmt::format(", {} bad documents skipped", t.skipped) : "",
      result->resumed_from_line ? fmt::format(" (resumed at line {})", result->resumed_from_line)
                                : "",
      result->token);
  return 0;
}

struct DemoFlags {
  ServeFlags serve;
  double rate = 40;
  std::uint64_t seed = 42;
};

int RunDemo(DemoFlags flags) {
  if (flags.serve.data_dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "viya-mv-demo-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      return Fail(Status::IOError("cannot create a demo folder"));
    flags.serve.data_dir = tmpl;
  }
  auto config = ResolveConfig(flags.serve);
  if (!config.ok()) return Fail(config.status());
  SetLogging(config->log.level, config->log.format);
  sigset_t signals = BlockStopSignals();
  SystemClock clock;
  auto application = app::Application::Open(*config, &clock);
  if (!application.ok()) return Fail(application.status());
  app::Application& a = **application;

  sim::SimulatorOptions sim_options;
  sim_options.writes_per_second = flags.rate;
  sim_options.seed = flags.seed;
  auto embedded = a.backend().embedded();
  if (!embedded) return Fail(Status::InvalidArgument("the demo runs on the embedded backend"));
  sim::Simulator simulator(embedded->source, &clock, sim_options);
  if (Status s = a.Start(); !s.ok()) return Fail(s);
  spdlog::info("demo: seeding orgs, customers, carriers and shipments");
  if (Status s = simulator.Seed(); !s.ok()) return Fail(s);

  auto admin_key = a.keys().Create({"", true, ""});
  std::string tenant_org = simulator.orgs().front();
  auto tenant_key = a.keys().Create({tenant_org, false, ""});
  if (!admin_key.ok()) return Fail(admin_key.status());
  if (!tenant_key.ok()) return Fail(tenant_key.status());

  std::string base = fmt::format(
      "http://{}:{}", config->http.listen.substr(0, config->http.listen.rfind(':')), a.http_port());
  std::cout << fmt::format(R"(
viya-mv demo is running. Data folder: {data}

  Admin key  : {admin}
  Tenant key : {tenant}   (org {org})

Live board: {base}/  (sign in with either key; an admin key picks the org)

Read endpoints, as the tenant (an admin key adds ?org=ORG):
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/shipments?limit=5'
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/shipments?slaStatus=at_risk&limit=5'
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/shipments/S-100001'
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/ops/realtime'
  curl -sN -H 'Authorization: Bearer {tenant}' '{base}/v1/ops/realtime/stream'   (live; Ctrl-C ends it)
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/metrics/daily?groupBy=carrierId,status'
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/carriers/performance'
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/customers/summary?limit=10'
  curl -s -H 'Authorization: Bearer {tenant}' '{base}/v1/exceptions?limit=10'
  curl -s -H 'Authorization: Bearer {admin}' '{base}/v1/shipments?org={org2}&status=exception'
  curl -s '{base}/metrics'   '{base}/healthz'   '{base}/readyz'

Orgs: {orgs}. Writing about {rate} shipment changes/s, plus the carriers' tracking events
(some duplicated, late or with unknown codes) and now and then a customer rename.
Press Ctrl-C to stop.
)",
                           fmt::arg("data", config->data_dir), fmt::arg("admin", *admin_key),
                           fmt::arg("tenant", *tenant_key), fmt::arg("org", tenant_org),
                           fmt::arg("org2", simulator.orgs().back()), fmt::arg("base", base),
                           fmt::arg("orgs", fmt::join(simulator.orgs(), ", ")),
                           fmt::arg("rate", flags.rate))
            << std::flush;

  std::atomic<bool> stop{false};
  Status sim_status;
  std::thread sim_thread([&] { sim_status = simulator.Run(stop); });
  WaitForSignal(signals);
  stop.store(true);
  sim_thread.join();
  a.Stop();
  if (!sim_status.ok()) return Fail(sim_status);
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App cli{"viya-mv: materialized views of a shipping platform, fresh from its change stream"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "viya-mv 0.1.0");

  ServeFlags serve_flags;
  auto* serve = cli.add_subcommand("serve", "Run the stream worker, SLA ticker and HTTP API");
  AddServeFlags(serve, &serve_flags);
  serve->add_flag("--print-config", serve_flags.print_config,
                  "Print the effective configuration (TOML) and exit");

  ServeFlags check_flags;
  bool check_json = false;
  auto* check = cli.add_subcommand(
      "check",
      "Preflight of a MongoDB source: version, topology, privileges, oplog window, clock "
      "(exit 1 on a blocker; serve runs the same checks at start)");
  AddFolderFlags(check, &check_flags);
  check->add_flag("--json", check_json, "Print the checks as JSON");

  std::string key_data = "./data", key_org, key_name;
  bool key_admin = false;
  auto* apikey = cli.add_subcommand("apikey", "Manage API keys");
  apikey->require_subcommand(1);
  auto* create =
      apikey->add_subcommand("create", "Create an API key and print it; only its hash is stored");
  create->add_option("--data", key_data, "Data folder")->required();
  auto* org_opt = create->add_option("--org", key_org, "The organization the key acts for");
  auto* admin_opt =
      create->add_flag("--admin", key_admin, "An admin key (names the org per request)");
  org_opt->excludes(admin_opt);
  create->add_option("--name", key_name, "A name to recognize the key by in `apikey list`");
  AdminFlags key_list_flags, key_revoke_flags;
  std::string revoke_id;
  auto* key_list = apikey->add_subcommand("list", "Print every key, one per line, its id first");
  AddAdminFlags(key_list, &key_list_flags);
  auto* key_revoke =
      apikey->add_subcommand("revoke", "Revoke a key by id (at once, also on a running server)");
  AddAdminFlags(key_revoke, &key_revoke_flags);
  key_revoke->add_option("id", revoke_id, "The key's id (key-...)")->required();

  AdminFlags status_flags;
  auto* status = cli.add_subcommand(
      "status",
      "Checkpoint and lag, views, running operations, jobs and dead letters (a table, or --json)");
  AddAdminFlags(status, &status_flags);

  AdminFlags letters_list_flags, letters_retry_flags;
  std::int64_t letters_limit = 100, letter_id = 0;
  auto* letters = cli.add_subcommand("dead-letters", "Changes the stream could not project");
  letters->require_subcommand(1);
  auto* letters_list = letters->add_subcommand("list", "Newest first");
  AddAdminFlags(letters_list, &letters_list_flags);
  letters_list->add_option("--limit", letters_limit, "At most this many")
      ->default_val(100)
      ->check(CLI::Range(1, 1000));
  auto* letters_retry = letters->add_subcommand(
      "retry", "Put the current source document of a dead letter through the stream again");
  AddAdminFlags(letters_retry, &letters_retry_flags);
  letters_retry->add_option("id", letter_id, "The dead letter's id")->required();

  OperationFlags reconcile_flags;
  auto* reconcile = cli.add_subcommand(
      "reconcile",
      "Compare the views with a recompute from the source (counts, checksums, keys); exit 3 "
      "on drift");
  AddOperationFlags(reconcile, &reconcile_flags, true);
  OperationFlags rebuild_flags;
  auto* rebuild = cli.add_subcommand(
      "rebuild", "Rebuild views from a snapshot of the source and swap them in atomically");
  AddOperationFlags(rebuild, &rebuild_flags, false);

  ImportFlags import_flags;
  auto* import = cli.add_subcommand(
      "import",
      "Load documents (NDJSON or a JSON array, MongoDB Extended JSON as mongoexport writes) into "
      "the data folder's source; a killed import run again continues where it stopped");
  AddFolderFlags(import, &import_flags.serve);
  import
      ->add_option("--collection", import_flags.collection,
                   "shipments, tracking_events, customers or carriers")
      ->default_val("shipments");
  import->add_option("file", import_flags.file, "The file of documents")->required();
  import->add_option("--org", import_flags.org, "The organization of every document");
  import
      ->add_option("--org-field", import_flags.org_field,
                   "The field naming each document's organization (without --org)")
      ->default_val("organizationId");
  import
      ->add_option("--on-error", import_flags.on_error,
                   "skip: report bad documents and import the rest; fail: import nothing "
                   "when one is bad")
      ->default_val("fail")
      ->check(CLI::IsMember({"skip", "fail"}));
  import->add_option("--batch", import_flags.batch, "Documents per transaction")
      ->default_val(1000)
      ->check(CLI::Range(1, 100000));

  OperationFlags migrate_flags;
  auto* migrate = cli.add_subcommand(
      "migrate",
      "Blue/green view versions: build a view's newer definition beside the live one and "
      "validate it (default), switch to it, roll back, drop retired versions, or rebuild a "
      "new generation of the live one (--force)");
  AddAdminFlags(migrate, &migrate_flags.admin);
  migrate->add_option("--view", migrate_flags.view,
                      "The view (every view's retired versions with --drop-retired alone)");
  auto* force = migrate->add_flag(
      "--force", migrate_flags.force,
      "Build a new generation of the live definition and swap it in (to repair or re-index)");
  auto* switch_to = migrate->add_flag(
      "--switch", migrate_flags.switch_version,
      "Make the built, validated next version live (the live one is retired, kept for rollback)");
  auto* rollback = migrate->add_flag("--rollback", migrate_flags.rollback,
                                     "Make the most recently retired version live again");
  auto* drop = migrate->add_flag("--drop-retired", migrate_flags.drop_retired,
                                 "Drop the retired versions (no rollback to them afterwards)");
  force->excludes(switch_to)->excludes(rollback)->excludes(drop);
  switch_to->excludes(rollback)->excludes(drop);
  rollback->excludes(drop);

  DemoFlags demo_flags;
  auto* demo = cli.add_subcommand(
      "demo", "Run the service on a fresh data folder with a simulated multi-tenant load");
  AddServeFlags(demo, &demo_flags.serve);
  demo->add_option("--rate", demo_flags.rate, "Simulated changes per second")
      ->default_val(40)
      ->check(CLI::Range(0.1, 100000.0));
  demo->add_option("--seed", demo_flags.seed, "Seed of the simulation")->default_val(42);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (serve->parsed()) return RunServe(serve_flags);
  if (check->parsed()) return RunCheck(check_flags, check_json);
  if (create->parsed()) return RunApiKeyCreate(key_data, key_org, key_admin, key_name);
  if (key_list->parsed()) return RunApiKeyList(key_list_flags);
  if (key_revoke->parsed()) return RunApiKeyRevoke(key_revoke_flags, revoke_id);
  if (status->parsed()) return RunStatus(status_flags);
  if (letters_list->parsed()) return RunDeadLettersList(letters_list_flags, letters_limit);
  if (letters_retry->parsed()) return RunDeadLetterRetry(letters_retry_flags, letter_id);
  if (demo->parsed()) return RunDemo(demo_flags);
  if (import->parsed()) return RunImport(import_flags);
  if (reconcile->parsed()) return RunOperation(worker::OperationKind::kReconcile, reconcile_flags);
  if (rebuild->parsed()) return RunOperation(worker::OperationKind::kRebuild, rebuild_flags);
  if (migrate->parsed()) return RunMigrate(migrate_flags);
  return 2;
}

}  // namespace mv::cli
