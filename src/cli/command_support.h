#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "app/config.h"
#include "base/status.h"
#include "cli/logging.h"

namespace mv::cli {

// Flags shared by the commands that open a data folder or run the service.
struct ServeFlags {
  std::string data_dir;
  std::string http;
  std::string role;
  std::string config_file;
  bool print_config = false;
};

void AddServeFlags(CLI::App* cmd, ServeFlags* f);
// --data and --config only: commands that open a data folder without serving it.
void AddFolderFlags(CLI::App* cmd, ServeFlags* f);
// Defaults < config file < VIYA_MV_* environment < command-line flags.
Result<app::Config> ResolveConfig(const ServeFlags& f);
// Prints `s` and returns the exit code: 2 for InvalidArgument, else 1.
int Fail(const Status& s);

}  // namespace mv::cli
