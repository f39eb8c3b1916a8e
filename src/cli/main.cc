// viya-mv: one binary for the service and its operator commands.
#include "cli/commands.h"

int main(int argc, char** argv) { return mv::cli::Main(argc, argv); }
