// otedama-host: the command line. Exit codes are documented in docs/cli.md and in usage().
#include "cli/commands.hpp"

int main(int argc, char** argv) { return otedama::cli::run(argc, argv); }
