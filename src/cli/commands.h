#pragma once

namespace mv::cli {

// Parses the command line and runs the subcommand; returns the process exit code
// (0 ok, 1 runtime failure, 2 usage error).
int Main(int argc, char** argv);

}  // namespace mv::cli
