// Several coins in one otedama-host process (pool.coins): one `serve` runs two devnet chains (a sha256d coin
// and a scrypt coin) behind two stratum ports, each with its own payout scheme, confirmations and minimum
// payout; `otedama-host mine` processes mine on both ports; the test reads the ledger with `otedama-host
// ledger` and checks that blocks of both coins are confirmed and credited by their own scheme, that every
// balance and payment of a miner is in the coin of the port it mined on, that a miner's address is checked
// against its port's network, and that a kill -9 keeps both coins' ledgers.
#include <gtest/gtest.h>

#include "host_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace ot = otedama::test;
using ot::free_port;
using namespace std::chrono_literals;

namespace {

constexpr auto kGuard = std::chrono::minutes(5);  // generous: the machine may be shared and slow

// Regtest addresses of the two networks (bech32 P2WPKH; HRPs "bcrt" and "rltc": BIP 173, Litecoin's
// chainparams.cpp). Used as the miners' payout accounts.
constexpr const char* kBtcAddress = "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9";
constexpr const char* kLtcAddress = "rltc1qxcucq02kg6vvaxxp77lvfz0ht29w32scdg7k0d";

struct Result {
  int code = -1;
  std::string out;
};

/// Runs the host to completion with `args` (a shell fragment): stdout+stderr and the exit code.
Result host(const std::string& args) {
  const std::string cmd = "env -u OTEDAMA_PLUGIN_PATH '" OTEDAMA_HOST "' " + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("otedama-multicoin-" + std::to_string(::getpid()) + "-" +
                                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

struct Row {
  std::string coin, account;
  long long amount = 0;
  std::string status;
};

/// The rows of `ledger balances|payments --json`: coin, account, amount (and status for payments).
std::vector<Row> rows(const std::string& json) {
  std::vector<Row> out;
  static const std::regex re(R"re(\{(?:"id":\d+,)?"coin":"([^"]*)","account":"([^"]*)","amount":(-?\d+)(?:[^}]*"status":"([a-z]+)")?)re");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back({(*it)[1].str(), (*it)[2].str(), std::stoll((*it)[3].str()), (*it)[4].str()});
  return out;
}

/// Blocks of `coin` credited by `scheme`, from `ledger blocks --json`.
size_t credited_blocks(const std::string& cfg, const std::string& coin, const std::string& scheme) {
  const Result r = host("ledger blocks --json --limit 100000 --coin " + coin + " --config " + cfg);
  size_t n = 0;
  for (size_t at = r.out.find("\"credited\":true,\"scheme\":\"" + scheme + "\""); at != std::string::npos;
       at = r.out.find("\"credited\":true,\"scheme\":\"" + scheme + "\"", at + 1))
    ++n;
  return n;
}

/// Polls until DEVSHA has at least `sha` and DEVSCR `scr` credited blocks (each by its scheme), or the guard.
bool wait_credited(const std::string& cfg, size_t sha, size_t scr) {
  const auto until = std::chrono::steady_clock::now() + kGuard;
  while (std::chrono::steady_clock::now() < until) {
    if (credited_blocks(cfg, "DEVSHA", "PPLNS") >= sha && credited_blocks(cfg, "DEVSCR", "PPS") >= scr) return true;
    std::this_thread::sleep_for(1s);
  }
  return false;
}

/// A raw stratum exchange on `port`: subscribe, then authorize `worker`; the authorize answer line.
std::string authorize_answer(uint16_t port, const std::string& worker) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string req = "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"" +
                          worker + "\",\"x\"]}\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string buf;
  const auto until = std::chrono::steady_clock::now() + kGuard;
  while (std::chrono::steady_clock::now() < until) {
    for (size_t start = 0, nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string line = buf.substr(start, nl - start);
      if (line.find("\"id\":2") != std::string::npos) {
        ::close(fd);
        return line;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return "no answer: " + buf;
}

std::string pool_yaml(const fs::path& d, uint16_t sha_port, uint16_t scr_port, uint16_t api_port) {
  // DEVSHA: sha256d, PPLNS over 10 minutes, 2 confirmations, paid from 1 atomic unit (every credit is paid).
  // DEVSCR: scrypt, PPS, 3 confirmations, a minimum payout no balance here reaches (nothing is paid).
  // Both chains' blocks are within reach of one CPU thread in seconds. The ledger weighs a share at 1000 per
  // unit of difficulty (storage::weight_per_difficulty): share difficulties stay at 0.002 and above so that
  // every share has a weight. (scrypt: difficulty in the pool unit, 65536 hashes per unit.)
  return "mining: {algorithm: sha256d, enable_cpu: false}\n"
         "api: {address: 127.0.0.1:" + std::to_string(api_port) + ", auth: {secret: test-secret}}\n"
         "monitoring: {metrics: {enable: false}, health: {enable: false}}\n"
         "storage: {path: " + (d / "ledger.db").string() + "}\n"
         "pool:\n"
         "  fee_percentage: 1\n"
         "  rewards: {confirmations: 2, window: 10m}\n"
         "  payments: {interval: 1s}\n"
         "  coins:\n"
         "    - coin: DEVSHA\n"
         "      algorithm: sha256d\n"
         "      address: 127.0.0.1:" + std::to_string(sha_port) + "\n"
         "      address_network: bitcoin-regtest\n"
         "      rewards: {system: PPLNS}\n"
         "      payments: {minimum: 1}\n"
         "      devnet: {difficulty: 0.03}\n"
         "      stratum: {difficulty: 0.002, vardiff: {enabled: false}}\n"
         "    - coin: DEVSCR\n"
         "      algorithm: scrypt\n"
         "      address: 127.0.0.1:" + std::to_string(scr_port) + "\n"
         "      address_network: litecoin-regtest\n"
         "      rewards: {system: PPS, confirmations: 3}\n"
         "      payments: {minimum: 1000000000000000000}\n"
         "      devnet: {difficulty: 0.1}\n"
         "      stratum: {difficulty: 0.005, vardiff: {enabled: false}}\n"
         "devnet: {block_time: 0, refresh: 5s}\n";
}

TEST(MultiCoin, TwoDevnetCoinsMinedCreditedAndPaidEachInItsOwnCoin) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "pool.yaml").string();
  const uint16_t sha_port_wanted = free_port(), scr_port_wanted = free_port(), api_port = free_port();
  ASSERT_NE(sha_port_wanted, 0);
  ASSERT_NE(scr_port_wanted, 0);
  ASSERT_NE(sha_port_wanted, scr_port_wanted);
  std::ofstream(d / "pool.yaml") << pool_yaml(d, sha_port_wanted, scr_port_wanted, api_port);
  // The miners retry every second or two while the pool is away (the kill -9 below).
  std::ofstream(d / "miner.yaml") << "storage: {path: " << (d / "miner.db").string()
                                  << "}\napi: {enable: false}\nmonitoring: {metrics: {enable: false}, health: {enable: false}}\n"
                                     "miner: {retry_max: 2s}\n";
  ASSERT_EQ(host("config check " + cfg).code, 0) << host("config check " + cfg).out;

  auto serve = std::make_unique<ot::Process>(OTEDAMA_HOST, std::vector<std::string>{"serve", "--config", cfg}, ot::ProcessOptions{.dir = d, .name = "serve"});
  const auto sha = serve->wait_for(std::regex(R"(listening on 127\.0\.0\.1:([0-9]+) \(bitcoin dialect, sha256d DEVSHA)"));
  ASSERT_TRUE(sha) << serve->log();
  const std::string sha_port = (*sha)[1];
  EXPECT_EQ(sha_port, std::to_string(sha_port_wanted));
  const auto scr = serve->wait_for(std::regex(R"(listening on 127\.0\.0\.1:([0-9]+) \(bitcoin dialect, scrypt DEVSCR)"));
  ASSERT_TRUE(scr) << serve->log();
  const std::string scr_port = (*scr)[1];
  EXPECT_EQ(scr_port, std::to_string(scr_port_wanted));
  // Each coin has its own job-source instance, and the plugins listing shows them.
  EXPECT_NE(serve->log().find("coin DEVSHA: sha256d from org.otedama.transport.devnet@DEVSHA"), std::string::npos) << serve->log();
  EXPECT_NE(serve->log().find("coin DEVSCR: scrypt from org.otedama.transport.devnet@DEVSCR"), std::string::npos) << serve->log();

  // A miner's address is checked against the network of the port it logs in on.
  const std::string wrong = authorize_answer(static_cast<uint16_t>(std::stoi(scr_port)), std::string(kBtcAddress) + ".rig");
  EXPECT_EQ(wrong.find("\"result\":true"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("litecoin-regtest"), std::string::npos) << wrong;
  const std::string right = authorize_answer(static_cast<uint16_t>(std::stoi(scr_port)), std::string(kLtcAddress) + ".rig");
  EXPECT_NE(right.find("\"result\":true"), std::string::npos) << right;

  ot::Process mine_sha(OTEDAMA_HOST, {"mine", "-o", "stratum+tcp://127.0.0.1:" + sha_port, "-u", std::string(kBtcAddress) + ".rig", "-p", "x", "-a", "sha256d",
                    "-t", "1", "--config", (d / "miner.yaml").string()},
                   ot::ProcessOptions{.dir = d, .name = "mine-sha"});
  ot::Process mine_scr(OTEDAMA_HOST, {"mine", "-o", "stratum+tcp://127.0.0.1:" + scr_port, "-u", std::string(kLtcAddress) + ".rig", "-p", "x", "-a", "scrypt",
                    "-t", "1", "--config", (d / "miner.yaml").string()},
                   ot::ProcessOptions{.dir = d, .name = "mine-scr"});

  // Blocks of both coins go pending -> confirmed -> credited, each by its own scheme.
  ASSERT_TRUE(wait_credited(cfg, 2, 2)) << serve->log() << mine_sha.log() << mine_scr.log();

  // The API lists one pool per coin, each with its scheme, port and height; per-coin endpoints read one coin.
  const std::string pools = ot::http_get(api_port, "/api/pools").body;
  const auto sha_at = pools.find("{\"coin\":\"DEVSHA\",\"algorithm\":\"sha256d\",\"scheme\":\"PPLNS\"");
  const auto scr_at = pools.find("{\"coin\":\"DEVSCR\",\"algorithm\":\"scrypt\",\"scheme\":\"PPS\"");
  ASSERT_NE(sha_at, std::string::npos) << pools;
  ASSERT_NE(scr_at, std::string::npos) << pools;
  EXPECT_LT(sha_at, scr_at) << pools;  // pool.coins order
  EXPECT_NE(pools.find("\"stratum\":\"127.0.0.1:" + sha_port + "\""), std::string::npos) << pools;
  EXPECT_NE(pools.find("\"stratum\":\"127.0.0.1:" + scr_port + "\""), std::string::npos) << pools;
  EXPECT_EQ(pools.find("\"height\":0,"), std::string::npos) << "each coin's source has a height: " << pools;
  const std::string scr_blocks = ot::http_get(api_port, "/api/pools/DEVSCR/blocks?limit=1000").body;
  EXPECT_NE(scr_blocks.find("\"coin\":\"DEVSCR\""), std::string::npos) << scr_blocks;
  EXPECT_EQ(scr_blocks.find("DEVSHA"), std::string::npos) << scr_blocks;

  // kill -9 in the middle of it all: what was credited stays credited, in its coin.
  const size_t sha_before = credited_blocks(cfg, "DEVSHA", "PPLNS");
  const size_t scr_before = credited_blocks(cfg, "DEVSCR", "PPS");
  EXPECT_EQ(serve->kill(SIGKILL).value_or(-1), 128 + SIGKILL);
  EXPECT_GE(credited_blocks(cfg, "DEVSHA", "PPLNS"), sha_before);
  EXPECT_GE(credited_blocks(cfg, "DEVSCR", "PPS"), scr_before);
  const auto balances_after_kill = rows(host("ledger balances --json --limit 100000 --config " + cfg).out);

  // Restarted on the same ledger and ports; the miners reconnect and both coins go on being credited.
  serve = std::make_unique<ot::Process>(OTEDAMA_HOST, std::vector<std::string>{"serve", "--config", cfg}, ot::ProcessOptions{.dir = d, .name = "serve2"});
  ASSERT_TRUE(serve->wait_for(std::regex(R"(listening on 127\.0\.0\.1:[0-9]+ \(bitcoin dialect, scrypt DEVSCR)"))) << serve->log();
  ASSERT_TRUE(wait_credited(cfg, sha_before + 1, scr_before + 1)) << serve->log() << mine_sha.log() << mine_scr.log();
  EXPECT_EQ(serve->stop(), 0) << serve->log();
  mine_sha.stop();
  mine_scr.stop();

  // No row of the ledger credits a miner in the other coin.
  const Result balances = host("ledger balances --json --limit 100000 --config " + cfg);
  ASSERT_EQ(balances.code, 0) << balances.out;
  const auto b = rows(balances.out);
  std::map<std::string, long long> by_coin_account;
  for (const auto& r : b) {
    by_coin_account[r.coin + "/" + r.account] = r.amount;
    if (r.account == kBtcAddress) {
      EXPECT_EQ(r.coin, "DEVSHA") << balances.out;
    }
    if (r.account == kLtcAddress) {
      EXPECT_EQ(r.coin, "DEVSCR") << balances.out;
    }
    EXPECT_TRUE(r.coin == "DEVSHA" || r.coin == "DEVSCR") << balances.out;
  }
  // PPS credits the scrypt miner's shares: a positive balance, never paid (its minimum is out of reach).
  ASSERT_TRUE(by_coin_account.count(std::string("DEVSCR/") + kLtcAddress)) << balances.out;
  EXPECT_GT(by_coin_account[std::string("DEVSCR/") + kLtcAddress], 0) << balances.out;
  // Balances only grow or get paid: nothing the kill -9 left was lost (DEVSCR pays nothing here).
  for (const auto& r : balances_after_kill)
    if (r.coin == "DEVSCR") {
      EXPECT_GE(by_coin_account[r.coin + "/" + r.account], r.amount) << r.account;
    }

  // DEVSHA pays from 1 atomic unit: the sha256d miner was paid, in DEVSHA, through that coin's own wallet file.
  const Result payments = host("ledger payments --json --limit 100000 --config " + cfg);
  ASSERT_EQ(payments.code, 0) << payments.out;
  const auto p = rows(payments.out);
  size_t sha_paid = 0;
  for (const auto& r : p) {
    EXPECT_EQ(r.coin, "DEVSHA") << "DEVSCR's minimum is out of reach: " << payments.out;
    EXPECT_NE(r.account, kLtcAddress) << payments.out;
    EXPECT_NE(r.status, "intent") << payments.out;
    if (r.account == kBtcAddress) ++sha_paid;
  }
  EXPECT_GE(sha_paid, 1u) << payments.out;
  EXPECT_TRUE(fs::exists(d / "ledger.db.devnet-wallet.DEVSHA"));
  EXPECT_FALSE(fs::exists(d / "ledger.db.devnet-wallet.DEVSCR"));
  EXPECT_EQ(host("ledger payments --json --coin DEVSCR --config " + cfg).out.find("{\"id\""), std::string::npos);
  fs::remove_all(d);
}

// Local devices mine the first coin of mining.algorithm; a second coin of the same algorithm gets no local work.
TEST(MultiCoin, LocalMiningMinesTheFirstCoinOfItsAlgorithm) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "pool.yaml").string();
  std::ofstream(d / "pool.yaml") << "mining: {algorithm: sha256d, cpu: {threads: 1}}\n"
                                    "api: {enable: false}\n"
                                    "monitoring: {metrics: {enable: false}, health: {enable: false}}\n"
                                    "storage: {path: " << (d / "ledger.db").string() << "}\n"
                                    "pool:\n"
                                    "  enable: false\n"
                                    "  coins:\n"
                                    "    - {coin: DEVA, algorithm: sha256d}\n"
                                    "    - {coin: DEVB, algorithm: sha256d}\n"
                                    "devnet: {difficulty: 0.00001, block_time: 0, refresh: 5s}\n";
  const Result r = host("serve --config " + cfg + " --run-for 6");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("devnet DEVA: block 1 accepted"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("devnet DEVB: block"), std::string::npos) << r.out;
  const Result blocks = host("ledger blocks --json --config " + cfg);
  EXPECT_NE(blocks.out.find("\"coin\":\"DEVA\""), std::string::npos) << blocks.out;
  EXPECT_EQ(blocks.out.find("\"coin\":\"DEVB\""), std::string::npos) << blocks.out;
  fs::remove_all(d);
}

// A coin whose source names no loaded transport is an error at start, naming the coin.
TEST(MultiCoin, ACoinWithoutItsSourceFailsToStart) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "pool.yaml").string();
  std::ofstream(d / "pool.yaml") << "mining: {enable_cpu: false}\napi: {enable: false}\n"
                                    "monitoring: {metrics: {enable: false}, health: {enable: false}}\n"
                                    "storage: {path: " << (d / "ledger.db").string() << "}\n"
                                    "pool:\n  enable: false\n  coins:\n    - {coin: DEVA}\n    - {coin: XYZ, source: nosuchsource}\n";
  const Result r = host("serve --config " + cfg + " --run-for 2");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("pool.coins: XYZ has no job source: pool.source is 'nosuchsource'"), std::string::npos) << r.out;
  fs::remove_all(d);
}

}  // namespace

namespace {

// `--list-plugins` with a pool.coins config lists each coin's instances of its source and payout scheme (nothing
// listens: the ports are only configured).
TEST(MultiCoin, ListPluginsShowsEachCoinsInstances) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "pool.yaml").string();
  std::ofstream(d / "pool.yaml") << "pool:\n  coins:\n    - {coin: DEVA, algorithm: sha256d, address: 127.0.0.1:13001, rewards: {system: PPLNS}}\n"
                                    "    - {coin: DEVB, algorithm: scrypt, address: 127.0.0.1:13002, rewards: {system: PPS}}\n";
  const Result r = host("--list-plugins --json --config " + cfg);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* id : {"org.otedama.transport.devnet@DEVA", "org.otedama.transport.devnet@DEVB", "org.otedama.payout.pplns@DEVA",
                         "org.otedama.payout.pps@DEVB", "org.otedama.transport.devnet", "org.otedama.payout.pplns"}) {
    const auto at = r.out.find(std::string("{\"id\":\"") + id + "\"");
    ASSERT_NE(at, std::string::npos) << id << "\n" << r.out;
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_NE(line.find("\"status\":\"loaded\""), std::string::npos) << line;
  }
  // Only the scheme a coin uses gets an instance for it.
  EXPECT_EQ(r.out.find("org.otedama.payout.pps@DEVA"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("org.otedama.payout.pplns@DEVB"), std::string::npos) << r.out;
  fs::remove_all(d);
}

}  // namespace
