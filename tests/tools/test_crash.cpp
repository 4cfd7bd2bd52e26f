// Crash test (issue 7): the load generator submits shares to a real `otedama-host serve` (devnet, stratum
// server on loopback) while the host is killed with SIGKILL at random moments, several times. The load
// generator logs every acknowledgement it received (--ack-log: the hash of each accepted share, written the
// moment the answer is read). After each kill the ledger, recovered as a restarting host recovers it (open,
// migrate, replay the spill file), must hold every acknowledged share, and none twice.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "host_process.hpp"
#include "log/log.hpp"
#include "storage/committer.hpp"
#include "storage/database.hpp"
#include "storage/storage.hpp"

#ifndef OTEDAMA_HOST
#error "OTEDAMA_HOST must name the built otedama-host"
#endif
#ifndef OTEDAMA_LOADGEN
#error "OTEDAMA_LOADGEN must name the built otedama-loadgen"
#endif

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using otedama::test::HostConfig;
using otedama::test::HostProcess;
using otedama::test::Process;
using otedama::test::read_file;

std::set<std::string> read_acks(const fs::path& p, std::size_t* lines) {
  std::set<std::string> out;
  std::ifstream in(p);
  std::string line;
  *lines = 0;
  while (std::getline(in, line)) {
    if (line.size() != 64) continue;  // a line cut short cannot exist (one write each), but be strict
    ++*lines;
    out.insert(line);
  }
  return out;
}

}  // namespace

TEST(CrashTest, EveryAcknowledgedShareSurvivesSigkillOfTheHostAndNoneIsCountedTwice) {
  otedama::log::init({.level = "error", .file = "", .json = false, .console = true});
  const fs::path dir = fs::temp_directory_path() / ("otedama-crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db = dir / "ledger.db";
  const HostConfig config("mining:\n  enable_cpu: false\nstorage:\n  path: " + db.string() +
                          "\ndevnet:\n  difficulty: 0.0001\n  block_time: 0\n  refresh: 10m\n"
                          "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n"
                          "      per_ip_limit: 0\n      ban: {enabled: false}\n"
                          "      ports:\n        - address: 127.0.0.1:0\n          algorithm: sha256d\n"
                          "          difficulty: 0.000000001\n          vardiff: {enabled: false}\n");
  const fs::path acks = dir / "acks.txt";
  std::mt19937 rng(0x5161u);
  constexpr int kRounds = 6;
  std::size_t last_ack_lines = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // No --run-for: the host runs until it is killed. Its output goes to host-<round>.log.
    HostProcess host(dir, config, {.args = {"serve"}, .name = "host-" + std::to_string(round)});
    // The port the stratum server chose, from its log (generous guard: the machine may be busy).
    const auto port = host.stratum_port();
    ASSERT_TRUE(port.has_value()) << "the stratum server did not start:\n" << host.log();
    Process loadgen(OTEDAMA_LOADGEN,
                    {"--port", std::to_string(*port), "--connections", "20", "--threads", "1", "--window", "16", "--rate", "1000000",
                     "--duration", "120", "--settle", "0", "--ack-log", acks.string()},
                    {.dir = dir, .name = "loadgen-" + std::to_string(round)});
    // Let acknowledgements flow, then kill the host at a random moment.
    for (auto until = std::chrono::steady_clock::now() + 2min; std::chrono::steady_clock::now() < until;) {
      std::error_code ec;
      if (fs::exists(acks) && fs::file_size(acks, ec) > (last_ack_lines + 10) * 65) break;
      std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1500)(rng)));
    host.kill9();
    // With the host dead no more answers can come; whatever the load generator read is in the ack log.
    loadgen.kill9();

    std::size_t lines = 0;
    const std::set<std::string> acknowledged = read_acks(acks, &lines);
    EXPECT_GT(lines, last_ack_lines) << "no share was acknowledged in this round:\n" << host.log();
    EXPECT_EQ(acknowledged.size(), lines) << "a share was acknowledged twice";
    last_ack_lines = lines;

    // Recover as a restarting host does, then compare.
    otedama::storage::Storage storage = otedama::storage::Storage::open(db.string());
    { otedama::storage::ShareCommitter recover(storage, {.spill_path = db.string() + ".spill"}); }
    otedama::storage::Database check(db.string());
    otedama::storage::Statement rows = check.prepare("SELECT lower(hex(hash)) FROM shares");
    std::set<std::string> in_ledger;
    std::size_t row_count = 0;
    while (rows.step()) {
      in_ledger.insert(rows.column_text(0));
      ++row_count;
    }
    EXPECT_EQ(row_count, in_ledger.size()) << "a share is in the ledger twice";
    std::size_t missing = 0;
    std::string example;
    for (const auto& a : acknowledged) {
      if (in_ledger.count(a) == 0) {
        ++missing;
        if (example.empty()) example = a;
      }
    }
    EXPECT_EQ(missing, 0u) << missing << " of " << acknowledged.size() << " acknowledged shares are not in the ledger, e.g. " << example;
    EXPECT_GE(in_ledger.size(), acknowledged.size());
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}
