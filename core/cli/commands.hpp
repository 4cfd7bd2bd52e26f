// The otedama-host commands, callable from tests as well as from main().
#pragma once

namespace otedama::cli {

/// Exit codes (docs/cli.md).
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,        ///< a runtime failure (a device or plugin failed, hashing failed)
  kUsage = 2,          ///< bad command line or configuration (the message names file, line and key)
  kStorage = 3,        ///< the database could not be opened or written
  kJobSource = 4,      ///< the configured job source is missing or failed to start
  kNotFound = 5,       ///< the named algorithm or plugin is not loaded
};

int run(int argc, char** argv);

}  // namespace otedama::cli
