// The stratum server inside a real host, over real sockets on loopback: `otedama-host serve` with a
// temporary config (the devnet chain as job source at a tiny difficulty, no local mining, the stratum
// server on an ephemeral port), and a scripted miner that speaks the Bitcoin dialect and hashes with
// lib/otedama/common's SHA-256d: subscribe -> authorize -> notify -> valid share accepted -> duplicate 22,
// low difficulty 23, stale 21, malformed 20 -> a devnet block found -> the old job is stale.
// No timing is asserted; the waits are guards against a hang only.
#include "json.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

#include "host_process.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace json = otedama::stratum::json;
namespace common = otedama::common;
using namespace std::chrono_literals;

namespace {

constexpr auto kGuard = 60s;  // a hang guard, not a timing assertion

using otedama::test::HostConfig;
using otedama::test::HostProcess;

/// otedama-host serve on `yaml` (API, metrics and health off), in `dir`.
HostProcess serve(const fs::path& dir, const std::string& yaml) {
  return HostProcess(dir, HostConfig(yaml), {.args = {"serve", "--run-for", "600"}});
}

/// A blocking line client with a hang guard.
class Miner {
 public:
  explicit Miner(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Miner() { ::close(fd_); }
  [[nodiscard]] bool connected() const { return connected_; }

  void send(const std::string& line) {
    const std::string data = line + "\n";
    ASSERT_EQ(::write(fd_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  /// The next line, or "" on EOF/guard.
  std::string line() {
    const auto deadline = std::chrono::steady_clock::now() + kGuard;
    for (;;) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
  /// Send a request and return the answer with this id; notifications seen meanwhile are queued.
  std::string request(int id, const std::string& line_text) {
    send(line_text);
    const std::string want = "{\"id\":" + std::to_string(id) + ",";
    for (;;) {
      std::string l = line();
      if (l.empty()) return "";
      if (l.rfind(want, 0) == 0) return l;
      notifications.push_back(std::move(l));
    }
  }
  /// The next notification of `method` (queued or read).
  std::string next(const std::string& method) {
    const std::string tag = "\"method\":\"" + method + "\"";
    for (auto it = notifications.begin(); it != notifications.end(); ++it) {
      if (it->find(tag) != std::string::npos) {
        std::string l = *it;
        notifications.erase(it);
        return l;
      }
    }
    for (;;) {
      std::string l = line();
      if (l.empty() || l.find(tag) != std::string::npos) return l;
      notifications.push_back(std::move(l));
    }
  }

  std::deque<std::string> notifications;

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

struct Notify {
  std::string job_id;
  std::vector<uint8_t> prevhash, coinb1, coinb2;
  std::vector<std::vector<uint8_t>> branches;
  uint32_t version = 0, nbits = 0, ntime = 0;
  bool clean = false;
};

uint32_t be32(const std::string& hex) { return static_cast<uint32_t>(std::stoul(hex, nullptr, 16)); }

std::optional<Notify> parse_notify(const std::string& line) {
  json::Document d;
  if (!d.parse(line)) return std::nullopt;
  const json::Value p = d.root().find("params");
  if (!p.is_array() || p.size() != 9) return std::nullopt;
  Notify n;
  std::string s;
  p.at(0).decode_string(n.job_id);
  p.at(1).decode_string(s);
  n.prevhash = *common::from_hex(s);
  p.at(2).decode_string(s);
  n.coinb1 = *common::from_hex(s);
  p.at(3).decode_string(s);
  n.coinb2 = *common::from_hex(s);
  for (uint32_t i = 0; i < p.at(4).size(); ++i) {
    p.at(4).at(i).decode_string(s);
    n.branches.push_back(*common::from_hex(s));
  }
  p.at(5).decode_string(s);
  n.version = be32(s);
  p.at(6).decode_string(s);
  n.nbits = be32(s);
  p.at(7).decode_string(s);
  n.ntime = be32(s);
  n.clean = p.at(8).boolean();
  return n;
}

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// The 80-byte header a miner hashes for this job (ESP-Miner mining.c / cpuminer stratum_gen_work).
std::vector<uint8_t> header_of(const Notify& n, const std::vector<uint8_t>& extranonce1, const std::vector<uint8_t>& extranonce2,
                               uint32_t nonce) {
  std::vector<uint8_t> coinbase = n.coinb1;
  coinbase.insert(coinbase.end(), extranonce1.begin(), extranonce1.end());
  coinbase.insert(coinbase.end(), extranonce2.begin(), extranonce2.end());
  coinbase.insert(coinbase.end(), n.coinb2.begin(), n.coinb2.end());
  auto root = common::sha256d(coinbase);
  for (const auto& b : n.branches) {
    std::vector<uint8_t> pair(root.begin(), root.end());
    pair.insert(pair.end(), b.begin(), b.end());
    root = common::sha256d(pair);
  }
  std::vector<uint8_t> h;
  put_le32(h, n.version);
  for (size_t w = 0; w < 8; ++w)
    for (size_t k = 0; k < 4; ++k) h.push_back(n.prevhash[4 * w + 3 - k]);
  h.insert(h.end(), root.begin(), root.end());
  put_le32(h, n.ntime);
  put_le32(h, n.nbits);
  put_le32(h, nonce);
  return h;
}

common::Uint256 hash_of(const std::vector<uint8_t>& header) {
  const auto d = common::sha256d(header);
  common::Uint256 h{};
  std::copy(d.begin(), d.end(), h.begin());
  return h;
}

/// The first nonce from `start` whose header hash satisfies `want`.
uint32_t grind(const Notify& n, const std::vector<uint8_t>& e1, const std::vector<uint8_t>& e2, uint32_t start,
               const std::function<bool(const common::Uint256&)>& want) {
  std::vector<uint8_t> header = header_of(n, e1, e2, 0);
  for (uint32_t nonce = start;; ++nonce) {
    for (int i = 0; i < 4; ++i) header[76 + i] = static_cast<uint8_t>(nonce >> (8 * i));
    if (want(hash_of(header))) return nonce;
  }
}

std::string hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

std::string submit(int id, const Notify& n, const std::string& e2, uint32_t nonce) {
  return "{\"id\":" + std::to_string(id) + ",\"method\":\"mining.submit\",\"params\":[\"acct.rig1\",\"" + n.job_id + "\",\"" + e2 +
         "\",\"" + hex32(n.ntime) + "\",\"" + hex32(nonce) + "\"]}";
}

}  // namespace

TEST(StratumServerIntegration, AMinerOverLoopbackFindsADevnetBlock) {
  const fs::path dir = fs::temp_directory_path() / ("otedama-stratum-it-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Share difficulty 1e-5 (~43k hashes), devnet blocks at 1e-4 (~430k): quick for the scripted miner.
  std::ostringstream yaml;
  yaml << "mining:\n  enable_cpu: false\nstorage:\n  path: " << (dir / "ledger.db").string()
       << "\ndevnet:\n  difficulty: 0.0001\n  block_time: 0\n  refresh: 10m\n"
                                         "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n"
                                         "      ports:\n        - address: 127.0.0.1:0\n          algorithm: sha256d\n"
                                         "          difficulty: 0.00001\n          vardiff: {enabled: false}\n";
  HostProcess host = serve(dir, yaml.str());
  const auto listening = host.wait_for(std::regex("stratum-server: listening on 127\\.0\\.0\\.1:([0-9]+)"));
  if (!listening) {
    const std::string out = host.output();
    if (out.find("needs the host's otedama.net/1 service") != std::string::npos) GTEST_SKIP() << "this host has no otedama.net/1 yet";
    FAIL() << "the stratum server did not start:\n" << out;
  }
  const auto port = static_cast<uint16_t>(std::stoi((*listening)[1]));
  Miner miner(port);
  ASSERT_TRUE(miner.connected());

  // subscribe -> extranonce1, extranonce2_size
  const std::string sub = miner.request(1, R"({"id":1,"method":"mining.subscribe","params":["otedama-it/1.0"]})");
  json::Document d;
  ASSERT_TRUE(d.parse(sub)) << sub;
  std::string e1hex;
  d.root().find("result").at(1).decode_string(e1hex);
  const auto e2size = *d.root().find("result").at(2).integer();
  ASSERT_EQ(e1hex.size(), 8u) << sub;
  ASSERT_EQ(e2size, 4) << sub;
  const auto e1 = *common::from_hex(e1hex);

  // authorize -> set_difficulty, notify
  EXPECT_EQ(miner.request(2, R"({"id":2,"method":"mining.authorize","params":["acct.rig1","x"]})"), R"({"id":2,"result":true,"error":null})");
  EXPECT_EQ(miner.next("mining.set_difficulty"), R"({"id":null,"method":"mining.set_difficulty","params":[0.00001]})");
  const auto job = parse_notify(miner.next("mining.notify"));
  ASSERT_TRUE(job);
  const auto share_target = *common::bitcoin_target_from_difficulty(0.00001);
  const auto block_target = *common::target_from_nbits(job->nbits);
  const std::string e2hex = "00000001";
  const auto e2 = *common::from_hex(e2hex);

  // A valid share that is not a block: accepted; the same again: duplicate.
  const uint32_t good = grind(*job, e1, e2, 0, [&](const common::Uint256& h) {
    return common::meets_target(h, share_target) && !common::meets_target(h, block_target);
  });
  EXPECT_EQ(miner.request(3, submit(3, *job, e2hex, good)), R"({"id":3,"result":true,"error":null})");
  EXPECT_EQ(miner.request(4, submit(4, *job, e2hex, good)), R"({"id":4,"result":null,"error":[22,"Duplicate share",null]})");
  // Low difficulty: a nonce whose hash misses the share target.
  const uint32_t weak = grind(*job, e1, e2, good + 1, [&](const common::Uint256& h) { return !common::meets_target(h, share_target); });
  EXPECT_EQ(miner.request(5, submit(5, *job, e2hex, weak)), R"({"id":5,"result":null,"error":[23,"Low difficulty share",null]})");
  // Unknown job: stale. Malformed params and a malformed line: 20.
  Notify unknown = *job;
  unknown.job_id = "ffffff";
  EXPECT_EQ(miner.request(6, submit(6, unknown, e2hex, good)), R"({"id":6,"result":null,"error":[21,"Job not found",null]})");
  EXPECT_EQ(miner.request(7, submit(7, *job, "zz", good)), R"({"id":7,"result":null,"error":[20,"extranonce2 must be 8 hex digits",null]})");
  miner.send("this is not json");
  EXPECT_EQ(miner.line(),
            R"({"id":null,"result":null,"error":[20,"Malformed request: invalid JSON at offset 0: unexpected character 't', expected a value",null]})");

  // A block: accepted, the devnet advances and announces a clean job; the old job is stale now.
  const uint32_t block = grind(*job, e1, e2, weak + 1, [&](const common::Uint256& h) { return common::meets_target(h, block_target); });
  EXPECT_EQ(miner.request(8, submit(8, *job, e2hex, block)), R"({"id":8,"result":true,"error":null})");
  const auto next = parse_notify(miner.next("mining.notify"));
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->clean);
  EXPECT_NE(next->job_id, job->job_id);
  const uint32_t late = grind(*job, e1, e2, block + 1, [&](const common::Uint256& h) { return common::meets_target(h, share_target); });
  EXPECT_EQ(miner.request(9, submit(9, *job, e2hex, late)), R"({"id":9,"result":null,"error":[21,"Stale job: a new block arrived",null]})");

  EXPECT_TRUE(host.wait_for(std::regex("devnet DEVNET: block 1 accepted")).has_value()) << host.output();
  EXPECT_EQ(host.stop(), 0) << host.output();
  fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------------------
// The Ethereum dialect through the same host: the devnet chain for ethash (EthereumStratum/1.0.0, NiceHash
// form) and for kawpow (kawpowminer's form), and a scripted miner that hashes with the real light-cache
// algorithms (lib/otedama/ethash hashimoto_light; the kawpow plugin's kawpow::hash_light) at epoch 0:
// subscribe -> authorize -> notify -> valid share accepted -> duplicate 22 -> another connection's nonce
// prefix 20 -> low difficulty 23 -> (kawpow: a wrong mix 20) -> (ethash: a devnet block -> the old job is
// stale; the devnet's easiest kawpow block is about 2^32 hashes, out of reach of a light-cache miner).

#include "kawpow.hpp"

#include <otedama/ethash/ethash.hpp>

namespace {

namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::string param(const json::Value& p, uint32_t i) {
  std::string s;
  p.at(i).decode_string(s);
  return s;
}

struct EthWork {
  std::string job_id;
  eth::Hash256 header{}, seed{};
  uint64_t height = 0;
  bool clean = false;
};

/// ethash: [job, seed, header, clean]; kawpow: [job, header, seed, target, clean, height, bits].
std::optional<EthWork> parse_eth_notify(const std::string& line, bool kawpow) {
  json::Document d;
  if (!d.parse(line)) return std::nullopt;
  const json::Value p = d.root().find("params");
  if (!p.is_array() || p.size() != (kawpow ? 7u : 4u)) return std::nullopt;
  EthWork w;
  w.job_id = param(p, 0);
  const auto header = common::from_hex(param(p, kawpow ? 1 : 2));
  const auto seed = common::from_hex(param(p, kawpow ? 2 : 1));
  if (!header || header->size() != 32 || !seed || seed->size() != 32) return std::nullopt;
  std::copy(header->begin(), header->end(), w.header.begin());
  std::copy(seed->begin(), seed->end(), w.seed.begin());
  w.clean = p.at(kawpow ? 4 : 3).boolean();
  if (kawpow) w.height = static_cast<uint64_t>(*p.at(5).integer());
  return w;
}

common::Uint256 le_of(const eth::Hash256& raw) {
  common::Uint256 h{};
  std::reverse_copy(raw.begin(), raw.end(), h.begin());
  return h;
}

void run_ethereum_dialect(const std::string& algorithm) {
  const bool kawpow = algorithm == "kawpow";
  const fs::path dir = fs::temp_directory_path() / ("otedama-stratum-it-" + algorithm + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Share difficulty 1e-9 in stratum units (about 1 hash in 4.3 is a share). ethash: devnet blocks at about
  // 1 hash in 300, quick for a light-cache miner. kawpow: the devnet refuses difficulties below 1 and reads
  // them in the kawpow plugin's (Bitcoin) unit, so its easiest block takes about 2^32 hashes: no block here.
  const std::string block_difficulty = kawpow ? "1" : "300";
  std::ostringstream yaml;
  yaml << "mining:\n  enable_cpu: false\nstorage:\n  path: " << (dir / "ledger.db").string()
       << "\ndevnet:\n  algorithm: " << algorithm << "\n  difficulty: " << block_difficulty
       << "\n  block_time: 0\n  refresh: 10m\n"
                                         "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n"
                                         "      ports:\n        - address: 127.0.0.1:0\n          dialect: ethereum\n          algorithm: "
                                      << algorithm << "\n          difficulty: 0.000000001\n          vardiff: {enabled: false}\n";
  HostProcess host = serve(dir, yaml.str());
  const auto listening = host.wait_for(std::regex("stratum-server: listening on 127\\.0\\.0\\.1:([0-9]+)"));
  if (!listening) {
    const std::string out = host.output();
    if (out.find("needs the host's otedama.net/1 service") != std::string::npos) GTEST_SKIP() << "this host has no otedama.net/1 yet";
    FAIL() << "the stratum server did not start:\n" << out;
  }
  const auto port = static_cast<uint16_t>(std::stoi((*listening)[1]));
  Miner miner(port);
  ASSERT_TRUE(miner.connected());

  const std::string sub = miner.request(1, kawpow ? R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4",null]})"
                                                  : R"({"id":1,"method":"mining.subscribe","params":["ethminer/0.19.0","EthereumStratum/1.0.0"]})");
  json::Document d;
  ASSERT_TRUE(d.parse(sub)) << sub;
  const std::string prefix = param(d.root().find("result"), 1);
  ASSERT_EQ(prefix.size(), 6u) << sub;  // 3 bytes, the top bit set
  if (!kawpow) {
    EXPECT_EQ(param(d.root().find("result").at(0), 2), "EthereumStratum/1.0.0") << sub;
  }
  const uint64_t base = std::stoull(prefix, nullptr, 16) << 40;
  EXPECT_GE(base, uint64_t{1} << 63);

  EXPECT_EQ(miner.request(2, R"({"id":2,"method":"mining.authorize","params":["acct.rig1","x"]})"), R"({"id":2,"result":true,"error":null})");
  const auto share_target = *common::bitcoin_target_from_difficulty(0.000000001);
  if (kawpow) {
    EXPECT_EQ(miner.next("mining.set_target"),
              R"({"id":null,"method":"mining.set_target","params":[")" + common::to_display_hex(share_target) + R"("]})");
  } else {
    EXPECT_EQ(miner.next("mining.set_difficulty"), R"({"id":null,"method":"mining.set_difficulty","params":[0.000000001]})");
  }
  const std::string notify_line = miner.next("mining.notify");
  const auto work = parse_eth_notify(notify_line, kawpow);
  ASSERT_TRUE(work) << notify_line << "\n" << host.output();
  common::Uint256 block_target{};
  if (kawpow) {
    block_target = *common::bitcoin_target_from_difficulty(1);
    EXPECT_EQ(work->height, 1u);
  } else {
    const auto t = *eth::ethereum_target_from_difficulty(300);
    std::copy(t.begin(), t.end(), block_target.begin());
  }
  EXPECT_EQ(work->seed, eth::epoch_seed(0));

  // The miner's light hashing at epoch 0 (the devnet starts at height 1).
  auto cache = std::make_shared<const eth::LightCache>(0);
  std::unique_ptr<kp::LightEpoch> light;
  std::shared_ptr<const kp::Program> program;
  kp::ProgramCache programs;
  if (kawpow) {
    light = std::make_unique<kp::LightEpoch>(cache, eth::best_impl());
    program = programs.get(kp::period_of(work->height));
  }
  auto hash = [&](uint64_t nonce, eth::Hash256& mix) {
    if (kawpow) {
      const auto r = kp::hash_light(*light, *program, work->header, nonce);
      mix = r.mix;
      return le_of(r.final_hash);
    }
    const auto r = eth::hashimoto_light(*cache, eth::kEthash, work->header, nonce);
    mix = r.mix;
    return le_of(r.final_hash);
  };
  auto grind_eth = [&](uint64_t start, const std::function<bool(const common::Uint256&)>& want, eth::Hash256& mix) {
    for (uint64_t n = start;; ++n)
      if (want(hash(base | n, mix))) return n;
  };
  // ethash: NiceHash's miner part (10 digits after the prefix); kawpow: the full nonce, header and mix.
  auto submit_line = [&](int id, uint64_t full_nonce, const eth::Hash256& mix, const std::string& job_id) {
    std::string line = "{\"id\":" + std::to_string(id) + ",\"method\":\"mining.submit\",\"params\":[\"acct.rig1\",\"" + job_id + "\",\"";
    if (kawpow) {
      line += "0x" + hex64(full_nonce) + "\",\"0x" + common::to_hex(work->header) + "\",\"0x" + common::to_hex(mix) + "\"]}";
    } else {
      line += hex64(full_nonce).substr(6) + "\"]}";
    }
    return line;
  };

  eth::Hash256 mix{};
  const uint64_t good = grind_eth(0, [&](const common::Uint256& h) {
    return common::meets_target(h, share_target) && !common::meets_target(h, block_target);
  }, mix);
  const eth::Hash256 good_mix = mix;
  EXPECT_EQ(miner.request(3, submit_line(3, base | good, good_mix, work->job_id)), R"({"id":3,"result":true,"error":null})");
  EXPECT_EQ(miner.request(4, submit_line(4, base | good, good_mix, work->job_id)), R"({"id":4,"result":null,"error":[22,"Duplicate share",null]})");
  // Another connection's prefix: the full 16-digit form with the first byte changed.
  const uint64_t foreign = (base | good) ^ (uint64_t{1} << 56);
  std::string wrong = "{\"id\":5,\"method\":\"mining.submit\",\"params\":[\"acct.rig1\",\"" + work->job_id + "\",\"" + hex64(foreign) + "\"";
  wrong += kawpow ? ",\"" + common::to_hex(work->header) + "\",\"" + common::to_hex(good_mix) + "\"]}" : "]}";
  EXPECT_EQ(miner.request(5, wrong),
            R"({"id":5,"result":null,"error":[20,"nonce does not start with this connection's extranonce )" + prefix + R"(",null]})");
  const uint64_t weak = grind_eth(good + 1, [&](const common::Uint256& h) { return !common::meets_target(h, share_target); }, mix);
  EXPECT_EQ(miner.request(6, submit_line(6, base | weak, mix, work->job_id)), R"({"id":6,"result":null,"error":[23,"Low difficulty share",null]})");
  uint64_t next_start = weak + 1;
  if (kawpow) {
    // A share with someone else's mix: the host's KawPow verification refuses it.
    const uint64_t other = grind_eth(next_start, [&](const common::Uint256& h) {
      return common::meets_target(h, share_target) && !common::meets_target(h, block_target);
    }, mix);
    EXPECT_EQ(miner.request(7, submit_line(7, base | other, good_mix, work->job_id)),
              R"({"id":7,"result":null,"error":[20,"Invalid share: mix hash does not match",null]})");
    next_start = other + 1;
  }

  if (kawpow) {
    EXPECT_EQ(host.stop(), 0) << host.output();
    fs::remove_all(dir);
    return;
  }
  // A block: accepted, the devnet advances with a clean job; the old job is stale.
  const uint64_t block = grind_eth(next_start, [&](const common::Uint256& h) { return common::meets_target(h, block_target); }, mix);
  EXPECT_EQ(miner.request(8, submit_line(8, base | block, mix, work->job_id)), R"({"id":8,"result":true,"error":null})");
  const std::string next_line = miner.next("mining.notify");
  const auto next = parse_eth_notify(next_line, kawpow);
  ASSERT_TRUE(next) << next_line;
  EXPECT_TRUE(next->clean);
  EXPECT_NE(next->job_id, work->job_id);
  EXPECT_EQ(miner.request(9, submit_line(9, base | good, good_mix, work->job_id)),
            R"({"id":9,"result":null,"error":[21,"Stale job: a new block arrived",null]})");

  EXPECT_TRUE(host.wait_for(std::regex("devnet DEVNET[^:]*: block 1 accepted")).has_value()) << host.output();
  EXPECT_EQ(host.stop(), 0) << host.output();
  fs::remove_all(dir);
}

}  // namespace

TEST(StratumServerIntegration, EthashMinerOverLoopback) { run_ethereum_dialect("ethash"); }

TEST(StratumServerIntegration, KawpowMinerOverLoopback) { run_ethereum_dialect("kawpow"); }
