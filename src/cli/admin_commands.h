#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/command_support.h"
#include "worker/operations.h"

namespace mv::cli {

// Where an admin command acts: a running server's admin API (--url and an admin key), or
// else a data folder that no server holds (a held one is refused, naming --url).
struct AdminFlags {
  ServeFlags serve;
  std::string url;
  std::string key;  // --key, or VIYA_MV_ADMIN_KEY
  bool json = false;
};
void AddAdminFlags(CLI::App* cmd, AdminFlags* f);

struct OperationFlags {
  AdminFlags admin;
  std::string org, view;
  bool repair = false;
  bool force = false;  // migrate: a new generation of the same definition
  // migrate: the catalog-only steps of blue/green versions.
  bool switch_version = false;
  bool rollback = false;
  bool drop_retired = false;
};
void AddOperationFlags(CLI::App* cmd, OperationFlags* f, bool reconcile);

// `reconcile` / `rebuild`: exit 0 done (no drift), 3 drift found (repaired or not), 1
// failed, 2 bad arguments.
int RunOperation(worker::OperationKind kind, const OperationFlags& flags);
// `migrate --view V`: builds the newer definition of view V beside the live one and
// validates it (switching to it when views.auto_switch is on); `--switch`, `--rollback`,
// `--drop-retired` act on its stored versions; `--force` builds a new generation of the
// live one and swaps it in (to repair or re-index). Exit 0 done, 1 failed (a conflict
// such as nothing to switch to), 2 bad arguments.
int RunMigrate(const OperationFlags& flags);
// `status`: the stream, views, running operations, jobs and dead letters.
int RunStatus(const AdminFlags& flags);
int RunDeadLettersList(const AdminFlags& flags, std::int64_t limit);
int RunDeadLetterRetry(const AdminFlags& flags, std::int64_t id);
// `apikey list`: one key per line, its id first. `apikey revoke ID`.
int RunApiKeyList(const AdminFlags& flags);
int RunApiKeyRevoke(const AdminFlags& flags, const std::string& id);

}  // namespace mv::cli
