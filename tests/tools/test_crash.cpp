// Crash test (issue 7): the load generator submits shares to a real `otedama-host serve` (devnet, stratum
// server on loopback) while the host is killed with SIGKILL at random moments, several times. The load
// generator logs every acknowledgement it received (--ack-log: the hash of each accepted share, written the
// moment the answer is read). After each kill the ledger, recovered as a restarting host recovers it (open,
// migrate, replay the spill file), must hold every acknowledged share, and none twice.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
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

/// Starts `argv` with stdout and stderr appended to `log`. Returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace

TEST(CrashTest, EveryAcknowledgedShareSurvivesSigkillOfTheHostAndNoneIsCountedTwice) {
  otedama::log::init({.level = "error", .file = "", .json = false, .console = true});
  const fs::path dir = fs::temp_directory_path() / ("otedama-crash-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db = dir / "ledger.db";
  std::ofstream(dir / "otedama.yaml") << "mining:\n  enable_cpu: false\nstorage:\n  path: " << db.string()
                                      << "\ndevnet:\n  difficulty: 0.0001\n  block_time: 0\n  refresh: 10m\n"
                                         "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n"
                                         "      per_ip_limit: 0\n      ban: {enabled: false}\n"
                                         "      ports:\n        - address: 127.0.0.1:0\n          algorithm: sha256d\n"
                                         "          difficulty: 0.000000001\n          vardiff: {enabled: false}\n";
  const fs::path acks = dir / "acks.txt";
  std::mt19937 rng(0x5161u);
  constexpr int kRounds = 6;
  std::size_t last_ack_lines = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const fs::path host_log = dir / ("host-" + std::to_string(round) + ".log");
    const pid_t host = spawn({OTEDAMA_HOST, "serve", "--config", (dir / "otedama.yaml").string()}, host_log);
    ASSERT_GT(host, 0);
    // The port the stratum server chose, from its log (generous guard: the machine may be busy).
    std::string port;
    const std::regex listening("stratum-server: listening on 127\\.0\\.0\\.1:([0-9]+)");
    for (auto until = std::chrono::steady_clock::now() + 2min; std::chrono::steady_clock::now() < until && port.empty();) {
      std::smatch m;
      const std::string log = read_file(host_log);
      if (std::regex_search(log, m, listening)) port = m[1].str();
      else std::this_thread::sleep_for(20ms);
    }
    if (port.empty()) {
      kill_and_reap(host);
      FAIL() << "the stratum server did not start:\n" << read_file(host_log);
    }
    const pid_t loadgen = spawn({OTEDAMA_LOADGEN, "--port", port, "--connections", "20", "--threads", "1", "--window", "16",
                                 "--rate", "1000000", "--duration", "120", "--settle", "0", "--ack-log", acks.string()},
                                dir / ("loadgen-" + std::to_string(round) + ".log"));
    ASSERT_GT(loadgen, 0);
    // Let acknowledgements flow, then kill the host at a random moment.
    for (auto until = std::chrono::steady_clock::now() + 2min; std::chrono::steady_clock::now() < until;) {
      std::error_code ec;
      if (fs::exists(acks) && fs::file_size(acks, ec) > (last_ack_lines + 10) * 65) break;
      std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 1500)(rng)));
    kill_and_reap(host);
    // With the host dead no more answers can come; whatever the load generator read is in the ack log.
    kill_and_reap(loadgen);

    std::size_t lines = 0;
    const std::set<std::string> acknowledged = read_acks(acks, &lines);
    EXPECT_GT(lines, last_ack_lines) << "no share was acknowledged in this round:\n" << read_file(host_log);
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
