// otedama-loadgen against a real host: `otedama-host serve` with a temporary config (devnet chain at a
// small fixed difficulty, no local mining, the stratum server on an ephemeral port with a tiny share
// difficulty, no vardiff, no per-address cap, no bans), then the load generator with a few dozen
// connections from four source addresses, one triggered block broadcast and a short burst of valid and
// invalid shares. Correctness only: every connection held, shares accepted, each invalid kind answered
// with its code (stale 21, duplicate 22, low difficulty 23), the broadcast reaching every client.
// No timing is asserted; the waits are guards against a hang only.
#include <gtest/gtest.h>

#include "host_process.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using otedama::test::HostConfig;
using otedama::test::HostProcess;

/// The integer after `"key":` at its first occurrence after `from` in `json` (-1 when absent).
long long number_after(const std::string& json, const std::string& key, const std::string& from = "") {
  size_t start = 0;
  if (!from.empty()) {
    start = json.find("\"" + from + "\":");
    if (start == std::string::npos) return -1;
  }
  const size_t at = json.find("\"" + key + "\":", start);
  if (at == std::string::npos) return -1;
  return std::atoll(json.c_str() + at + key.size() + 3);
}

}  // namespace

TEST(LoadgenSmoke, FortyConnectionsSharesAndABroadcast) {
  const fs::path dir = fs::temp_directory_path() / ("otedama-loadgen-smoke-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Devnet blocks at 1e-4 (~430k hashes: the trigger mines one in well under a second), shares at 1e-9
  // (about one hash in four meets it, so valid and low-difficulty nonces are both cheap to find).
  std::ostringstream yaml;
  yaml << "mining:\n  enable_cpu: false\nstorage:\n  path: " << (dir / "ledger.db").string()
       << "\ndevnet:\n  difficulty: 0.0001\n  block_time: 0\n  refresh: 10m\n"
                                         "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n"
                                         "      per_ip_limit: 0\n      ban: {enabled: false}\n"
                                         "      ports:\n        - address: 127.0.0.1:0\n          algorithm: sha256d\n"
                                         "          difficulty: 0.000000001\n          vardiff: {enabled: false}\n";
  HostProcess host(dir, HostConfig(yaml.str()), {.args = {"serve", "--run-for", "600"}});
  const auto listening = host.wait_for(std::regex("stratum-server: listening on 127\\.0\\.0\\.1:([0-9]+)"));
  if (!listening) {
    const std::string out = host.output();
    if (out.find("needs the host's otedama.net/1 service") != std::string::npos) GTEST_SKIP() << "this host has no otedama.net/1 yet";
    FAIL() << "the stratum server did not start:\n" << out;
  }
  const std::string port = (*listening)[1];

  const auto loadgen = otedama::test::run_to_end(OTEDAMA_LOADGEN,
                                                 {"--json", "--port", port, "--connections", "40", "--sources", "4", "--threads", "2", "--rate", "400",
                                                  "--invalid-percent", "30", "--duration", "2", "--blocks", "1", "--settle", "0.2",
                                                  "--connect-timeout", "60", "--server-pid", std::to_string(host.pid())},
                                                 {.dir = dir, .name = "loadgen"});
  const std::string& json = loadgen.out;
  const int rc = loadgen.code;
  SCOPED_TRACE(json + loadgen.err);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(json.find("\"ok\":true"), std::string::npos);
  EXPECT_EQ(number_after(json, "connections_ready"), 40);
  EXPECT_EQ(number_after(json, "connections_held_at_end"), 40);
  EXPECT_EQ(number_after(json, "disconnects"), 0);
  EXPECT_EQ(number_after(json, "complete", "broadcasts"), 1);
  EXPECT_EQ(number_after(json, "mismatched"), 0);
  EXPECT_EQ(number_after(json, "sent", "shares"), number_after(json, "answered", "shares"));
  EXPECT_GT(number_after(json, "0", "valid"), 0);           // accepted
  EXPECT_GT(number_after(json, "21", "stale"), 0);          // job not found
  EXPECT_GT(number_after(json, "22", "duplicate"), 0);      // duplicate share
  EXPECT_GT(number_after(json, "23", "low_difficulty"), 0); // low difficulty
  EXPECT_GT(number_after(json, "with_connections"), 0);     // the server's RSS could be read

  EXPECT_EQ(host.stop(), 0) << host.output();
  fs::remove_all(dir);
}
