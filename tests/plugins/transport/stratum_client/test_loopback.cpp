// `otedama-host mine` over real sockets on loopback.
//
//  1. Against two scripted pools written here with plain POSIX sockets: pool A checks the client's
//     configure/subscribe/authorize lines byte for byte, sends a difficulty and a job, and checks every
//     submitted share by rebuilding the coinbase, the merkle root and the header from its own job and
//     hashing it (lib/otedama/common's SHA-256d): a share in the wrong byte order fails there. It accepts
//     shares, rejects one (23), sends client.reconnect to itself and sees the client come back on a second
//     connection and drop the first; then it goes away (connection and listener closed) and pool B, second
//     in the -o list, gets the client and its shares.
//  2. Against `otedama-host serve` (the devnet chain, the stratum-server plugin on an ephemeral port, no
//     local mining there): sha256d shares accepted end to end, counted by mine's own output.
//
// No timing is asserted: every wait is a guard against a hang only.
#include "json.hpp"
#include "scrypt_core.hpp"  // the scrypt plugin's reference implementation (RFC 7914)

#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

#include "host_process.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;
namespace json = otedama::stratum::json;
namespace common = otedama::common;
using namespace std::chrono_literals;

namespace {

constexpr auto kGuard = 600s;  // a hang guard, not a timing assertion (a RandomX dataset builds first: minutes on a busy machine)

fs::path temp_dir(const std::string& name) { return otedama::test::fresh_dir("stratum-client-" + name); }

using otedama::test::HostConfig;
using otedama::test::HostProcess;

/// otedama-host `args` in `dir` on the configuration `yaml` (API, metrics and health off; "--config" added):
/// stdout to <name>.out (mine's verdicts), stderr to <name>.err (the log).
HostProcess host(const fs::path& dir, const std::string& name, const std::string& yaml, std::vector<std::string> args) {
  return HostProcess(dir, HostConfig(yaml), {.args = std::move(args), .name = name, .separate_stdout = true});
}

/// One accepted connection of a scripted pool.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn() { close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void send(const std::string& line) const {
    const std::string data = line + "\n";
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
  }
  /// The next line (without "\n"), or nullopt at EOF or after the guard.
  std::optional<std::string> line(std::chrono::seconds guard = kGuard) {
    const auto until = std::chrono::steady_clock::now() + guard;
    for (;;) {
      if (const auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      if (eof_ || std::chrono::steady_clock::now() >= until) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) eof_ = true;
      else buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  /// True once the peer closed (lines still unread are skipped).
  bool closed_by_peer() {
    while (line(kGuard)) {
    }
    return eof_;
  }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // not inherited by otedama-host: closing it here closes it
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) throw std::runtime_error("listen");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] uint16_t port() const { return port_; }
  std::unique_ptr<Conn> accept() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kGuard).count())) <= 0) return nullptr;
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    return fd < 0 ? nullptr : std::make_unique<Conn>(fd);
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// ---- the scripted pools' jobs -------------------------------------------------------------------------------

struct PoolJob {
  std::string id;
  std::string prevhash;  // as sent: each 4-byte word byte-swapped relative to the header
  std::string coinb1, coinb2;
  std::string branch;    // one merkle branch hash (the coinbase has a sibling)
  uint32_t version = 0x20000000, nbits = 0x1c00ffff, ntime = 0;
  [[nodiscard]] std::string notify(bool clean) const {
    char nums[64];
    std::snprintf(nums, sizeof nums, R"("%08x","%08x","%08x")", version, nbits, ntime);
    return R"({"id":null,"method":"mining.notify","params":[")" + id + R"(",")" + prevhash + R"(",")" + coinb1 + R"(",")" + coinb2 +
           R"(",[")" + branch + R"("],)" + nums + "," + (clean ? "true" : "false") + "]}";
  }
};

PoolJob make_job(const std::string& id, uint32_t salt) {
  PoolJob j;
  j.id = id;
  std::vector<uint8_t> prev(32);
  for (size_t i = 0; i < 32; ++i) prev[i] = static_cast<uint8_t>(salt * 7 + i);
  j.prevhash = common::to_hex(prev);
  // A BIP 34 coinbase: height push, then the 8 extranonce bytes (4 the pool's, 4 the miner's) in a push.
  j.coinb1 = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1403" +
             common::to_hex(std::vector<uint8_t>{static_cast<uint8_t>(salt), 0x10, 0x00}) + "08";
  j.coinb2 = "072f746573742f" "ffffffff0100f2052a01000000015100000000";
  std::vector<uint8_t> branch(32);
  for (size_t i = 0; i < 32; ++i) branch[i] = static_cast<uint8_t>(0xa0 + salt + i);
  j.branch = common::to_hex(branch);
  j.ntime = 0x65000000 + salt;
  return j;
}

/// Rebuild the header of a submitted share from the pool's own job and check its proof of work: SHA-256d,
/// or Litecoin's scrypt with difficulty in the pools' unit (Bitcoin's x 65536).
::testing::AssertionResult valid_share(const PoolJob& job, const std::string& extranonce1, double difficulty, const json::Value& params,
                                       bool scrypt = false) {
  if (!params.is_array() || params.size() != 5) return ::testing::AssertionFailure() << "params is not [user, job, en2, ntime, nonce]";
  std::string user, job_id, en2, ntime, nonce;
  params.at(0).decode_string(user);
  params.at(1).decode_string(job_id);
  params.at(2).decode_string(en2);
  params.at(3).decode_string(ntime);
  params.at(4).decode_string(nonce);
  if (user != "wallet.rig") return ::testing::AssertionFailure() << "user " << user;
  if (job_id != job.id) return ::testing::AssertionFailure() << "job " << job_id << ", expected " << job.id;
  if (en2.size() != 8 || ntime.size() != 8 || nonce.size() != 8) return ::testing::AssertionFailure() << "field widths " << en2 << " " << ntime << " " << nonce;
  char expected_ntime[9];
  std::snprintf(expected_ntime, sizeof expected_ntime, "%08x", job.ntime);
  if (ntime != expected_ntime) return ::testing::AssertionFailure() << "ntime " << ntime << ", job has " << expected_ntime;
  const auto coinbase = common::from_hex(job.coinb1 + extranonce1 + en2 + job.coinb2);
  if (!coinbase) return ::testing::AssertionFailure() << "extranonce2 is not hex: " << en2;
  std::vector<uint8_t> node(64);
  const auto cb_hash = common::sha256d(*coinbase);
  std::copy(cb_hash.begin(), cb_hash.end(), node.begin());
  const auto branch = *common::from_hex(job.branch);
  std::copy(branch.begin(), branch.end(), node.begin() + 32);
  const auto root = common::sha256d(node);
  std::vector<uint8_t> header;
  const auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) header.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(job.version);
  const auto prev = *common::from_hex(job.prevhash);
  for (size_t w = 0; w < 8; ++w)
    for (size_t i = 0; i < 4; ++i) header.push_back(prev[w * 4 + 3 - i]);
  header.insert(header.end(), root.begin(), root.end());
  put32(job.ntime);
  put32(job.nbits);
  put32(static_cast<uint32_t>(std::stoul(nonce, nullptr, 16)));
  common::Uint256 h{};
  if (scrypt) {
    std::string why;
    if (!otedama::scrypt::scrypt_reference(header, header, 1024, 1, 1, h, &why)) return ::testing::AssertionFailure() << why;
  } else {
    const auto hash = common::sha256d(header);
    std::copy(hash.begin(), hash.end(), h.begin());
  }
  if (!common::meets_target(h, *common::bitcoin_target_from_difficulty(scrypt ? difficulty / 65536 : difficulty)))
    return ::testing::AssertionFailure() << "hash " << common::to_display_hex(h) << " does not meet difficulty " << difficulty;
  return ::testing::AssertionSuccess();
}

constexpr const char* kConfigure =
    R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]})";
const std::string kSubscribe = R"({"id":2,"method":"mining.subscribe","params":["otedama/)" OTEDAMA_VERSION R"("]})";
constexpr const char* kAuthorize = R"({"id":3,"method":"mining.authorize","params":["wallet.rig","x"]})";
constexpr double kPoolDifficulty = 0.0001;  // below the miner's local share difficulty: every local share goes out

/// The pool's side of the handshake on a new connection; false (with a test failure) when a line differs.
bool handshake(Conn& c, const std::string& extranonce1, const std::string& difficulty = "0.0001") {
  EXPECT_EQ(c.line().value_or("<none>"), kConfigure);
  EXPECT_EQ(c.line().value_or("<none>"), kSubscribe);
  c.send(R"({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
  c.send(R"({"id":2,"result":[[["mining.set_difficulty","1"],["mining.notify","1"]],")" + extranonce1 + R"(",4],"error":null})");
  EXPECT_EQ(c.line().value_or("<none>"), kAuthorize);
  c.send(R"({"id":3,"result":true,"error":null})");
  c.send(R"({"id":null,"method":"mining.set_difficulty","params":[)" + difficulty + "]}");
  return !::testing::Test::HasFailure();
}

/// Read the next mining.submit; its id token and a parsed copy (kept alive in `doc`/`text`).
bool next_submit(Conn& c, json::Document& doc, std::string& text, std::string& id) {
  for (;;) {
    const auto l = c.line();
    if (!l) return false;
    text = *l;
    if (!doc.parse(text)) {
      ADD_FAILURE() << "the client sent invalid JSON: " << text;
      return false;
    }
    std::string method;
    doc.root().find("method").decode_string(method);
    if (method != "mining.submit") {
      ADD_FAILURE() << "unexpected line: " << text;
      return false;
    }
    id = std::string(doc.root().find("id").token());
    return true;
  }
}

}  // namespace

TEST(MineLoopback, ScriptedPoolsByteExactValidSharesReconnectAndFailover) {
  const fs::path dir = temp_dir("scripted");
  Listener a, b;
  HostProcess mine = host(dir, "mine", "storage: {path: " + (dir / "miner.db").string() + "}\n",
                          {"mine", "-o", "stratum+tcp://127.0.0.1:" + std::to_string(a.port()), "-o", "stratum+tcp://127.0.0.1:" + std::to_string(b.port()),
                           "-u", "wallet.rig", "-p", "x", "-a", "sha256d", "-t", "1", "--run-for", "600", "--print-time", "2"});

  // Pool A, first connection: byte-exact handshake, a job, three shares (the third rejected).
  auto a1 = a.accept();
  ASSERT_TRUE(a1) << mine.err();
  ASSERT_TRUE(handshake(*a1, "f8002c90")) << mine.err();
  const PoolJob job1 = make_job("a1", 1);
  a1->send(job1.notify(true));
  json::Document doc;
  std::string text, id;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(next_submit(*a1, doc, text, id)) << mine.err();
    EXPECT_TRUE(valid_share(job1, "f8002c90", kPoolDifficulty, doc.root().find("params"))) << text;
    if (i < 2) a1->send(R"({"id":)" + id + R"(,"result":true,"error":null})");
    else a1->send(R"({"id":)" + id + R"(,"result":null,"error":[23,"Low difficulty share",null]})");
  }

  // client.reconnect to this same pool: a second connection, a fresh handshake, and the first one dropped
  // once the second has a job.
  a1->send(R"({"id":null,"method":"client.reconnect","params":["127.0.0.1",)" + std::to_string(a.port()) + ",0]}");
  auto a2 = a.accept();
  ASSERT_TRUE(a2) << mine.err();
  ASSERT_TRUE(handshake(*a2, "f8002c91")) << mine.err();
  const PoolJob job2 = make_job("a2", 2);
  a2->send(job2.notify(true));
  EXPECT_TRUE(a1->closed_by_peer());
  ASSERT_TRUE(next_submit(*a2, doc, text, id)) << mine.err();
  EXPECT_TRUE(valid_share(job2, "f8002c91", kPoolDifficulty, doc.root().find("params"))) << text;
  a2->send(R"({"id":)" + id + R"(,"result":true,"error":null})");

  // Pool A goes away entirely: the client fails over to B, the second -o.
  a.close();  // the listener first, so that the client's retry of A is refused rather than left unanswered
  a2->close();
  auto b1 = b.accept();
  ASSERT_TRUE(b1) << mine.err();
  ASSERT_TRUE(handshake(*b1, "0b0b0b0b")) << mine.err();
  const PoolJob job3 = make_job("b1", 3);
  b1->send(job3.notify(true));
  ASSERT_TRUE(next_submit(*b1, doc, text, id)) << mine.err();
  EXPECT_TRUE(valid_share(job3, "0b0b0b0b", kPoolDifficulty, doc.root().find("params"))) << text;
  b1->send(R"({"id":)" + id + R"(,"result":true,"error":null})");
  // Its verdict reaches mine's output before it stops.
  ASSERT_TRUE(mine.wait_for(std::regex("accepted: 4/5"), kGuard, /*in_stdout=*/true)) << mine.out();

  mine.terminate();
  const auto rc = mine.wait_exit();
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << mine.err();
  const std::string out = mine.out();
  EXPECT_NE(out.find("rejected: 2/3 (66.67%), difficulty 0.0001"), std::string::npos) << out;
  EXPECT_NE(out.find(": Low difficulty share"), std::string::npos) << out;  // the pool's own words
  EXPECT_NE(out.find("mine: 4 share(s) accepted, 1 rejected"), std::string::npos) << out;
  const std::string err = mine.err();
  EXPECT_NE(err.find("the pool asks to reconnect to 127.0.0.1:" + std::to_string(a.port())), std::string::npos) << err;
  EXPECT_NE(err.find("share rejected: [23] Low difficulty share"), std::string::npos) << err;
  EXPECT_NE(err.find("pool 2/2 stratum+tcp://127.0.0.1:" + std::to_string(b.port()) + ": mining as 'wallet.rig'"), std::string::npos) << err;
}

TEST(MineLoopback, ScryptSharesInThePoolsDifficultyUnit) {
  // scrypt pools count difficulty in Bitcoin's unit x 65536 (cpuminer: diff_to_target(diff / 65536)). The
  // miner looks for local shares at 0.02 and the pool wants 0.1: only shares the pool's check accepts
  // leave, and each is checked here with the RFC 7914 reference.
  const fs::path dir = temp_dir("scrypt");
  Listener pool;
  HostProcess mine = host(dir, "mine", "storage: {path: " + (dir / "miner.db").string() + "}\nminer: {share_difficulty: 0.02}\n",
                          {"mine", "-o", "127.0.0.1:" + std::to_string(pool.port()), "-u", "wallet.rig", "-a", "scrypt", "-t", "1", "--run-for", "600"});
  auto c = pool.accept();
  ASSERT_TRUE(c) << mine.err();
  ASSERT_TRUE(handshake(*c, "5c5c5c5c", "0.1")) << mine.err();
  const PoolJob job = make_job("s1", 9);
  c->send(job.notify(true));
  json::Document doc;
  std::string text, id;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(next_submit(*c, doc, text, id)) << mine.err();
    EXPECT_TRUE(valid_share(job, "5c5c5c5c", 0.1, doc.root().find("params"), /*scrypt=*/true)) << text;
    c->send(R"({"id":)" + id + R"(,"result":true,"error":null})");
  }
  ASSERT_TRUE(mine.wait_for(std::regex("accepted: 3/3"), kGuard, /*in_stdout=*/true)) << mine.out();
  mine.terminate();
  EXPECT_EQ(mine.wait_exit().value_or(-1), 0) << mine.err();
}

TEST(MineLoopback, UsageErrors) {
  const fs::path dir = temp_dir("usage");
  const auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "mine");
    const auto r = otedama::test::run_to_end(otedama::test::host_binary(), args, {.dir = dir, .name = "usage"}, kGuard);
    return std::make_pair(r.code, r.err);
  };
  auto [rc, err] = run({});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("no pool: give -o stratum+tcp://HOST:PORT"), std::string::npos) << err;
  std::tie(rc, err) = run({"-o", "http://x:1", "-u", "u"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("otedama-host mine: -o http://x:1: unknown scheme 'http'"), std::string::npos) << err;
  std::tie(rc, err) = run({"-o", "stratum+tcp://127.0.0.1:1"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("-u USER is required"), std::string::npos) << err;
  std::tie(rc, err) = run({"-o", "127.0.0.1:1", "-u", "u", "--bogus"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("unknown option --bogus"), std::string::npos) << err;
  std::tie(rc, err) = run({"-o", "127.0.0.1:1", "-u", "u", "-t", "many"});
  EXPECT_EQ(rc, 2);
  std::tie(rc, err) = run({"-o", "127.0.0.1:1", "-u", "u", "-a", "nosuchalgo", "--config", "/dev/null"});
  EXPECT_EQ(rc, 5);
  EXPECT_NE(err.find("no loaded algorithm plugin named 'nosuchalgo'"), std::string::npos) << err;
}

// `otedama-host mine` against `otedama-host serve` for one algorithm: the devnet chain of that algorithm
// (its blocks out of reach while the test runs, so no share goes stale), the stratum server on an ephemeral
// loopback port in the algorithm's dialect, three shares accepted and none rejected.
struct ServeCase {
  std::string algorithm;
  std::string devnet_difficulty = "5";
  std::string port = "          difficulty: 0.001\n";  // the stratum port's lines after its address and algorithm
  std::string miner{};                                   // miner.yaml lines besides storage
  std::string threads = "1";
  std::string mine_log{};                                // what `mine` must say on stderr ("" = nothing checked)
};

void mine_against_serve(const ServeCase& c) {
  const fs::path dir = temp_dir("serve-" + c.algorithm);
  HostProcess serve = host(dir, "serve",
                           "storage: {path: " + (dir / "pool.db").string() + "}\n" +
                               "devnet: {algorithm: " + c.algorithm + ", difficulty: " + c.devnet_difficulty + "}\n" +
                               "mining: {enable_cpu: false, algorithm: " + c.algorithm + "}\n" +
                               "plugins:\n  settings:\n    org.otedama.transport.stratum-server:\n" +
                               "      ports:\n        - address: 127.0.0.1:0\n          algorithm: " + c.algorithm + "\n" + c.port,
                           {"serve", "--run-for", "600"});
  const auto port = serve.stratum_port(kGuard);
  ASSERT_TRUE(port) << serve.err();
  HostProcess mine = host(dir, "mine", "storage: {path: " + (dir / "miner.db").string() + "}\n" + c.miner,
                          {"mine", "-o", "stratum+tcp://127.0.0.1:" + std::to_string(*port), "-u", "wallet.rig", "-p", "x", "-a", c.algorithm, "-t",
                           c.threads, "--run-for", "600"});
  ASSERT_TRUE(mine.wait_for(std::regex("accepted: 3/"), kGuard, /*in_stdout=*/true)) << mine.err() << serve.err();
  mine.terminate();
  const auto mine_rc = mine.wait_exit();
  serve.terminate();
  const auto serve_rc = serve.wait_exit();
  ASSERT_TRUE(mine_rc && serve_rc);
  EXPECT_EQ(*mine_rc, 0) << mine.err();
  EXPECT_EQ(*serve_rc, 0) << serve.err();
  EXPECT_NE(mine.out().find("mine: "), std::string::npos);
  EXPECT_EQ(mine.out().find("rejected:"), std::string::npos) << mine.out();
  if (!c.mine_log.empty()) {
    EXPECT_NE(mine.err().find(c.mine_log), std::string::npos) << mine.err();
  }
}

// `otedama-host mine -a ethash` against `otedama-host serve`'s EthereumStratum/1.0.0 port: the pool gives each
// connection a 3-byte nonce prefix, the miner's host scans only below it (otd_template_t.nonce_base/space) on
// the full epoch-0 DAG (1 GiB, built first), submits NiceHash's short nonces, and the pool verifies them on
// its light cache. Local shares at 2000 (Ethash's unit: about 2000 hashes) are below the pool's difficulty
// 1e-6 (NiceHash's unit: about 4300 hashes), so only shares the pool wants are sent.
TEST(MineLoopback, AgainstServeGetsAcceptedEthashShares) {
  mine_against_serve({.algorithm = "ethash",
                      .devnet_difficulty = "1000000000000",
                      .port = "          dialect: ethereum\n          difficulty: 0.000001\n          vardiff: {enabled: false}\n",
                      .miner = "miner: {share_difficulty: 2000}\n",
                      .mine_log = "ethereum dialect"});
}

// `otedama-host mine -a kawpow` against the pool's KawPow port: jobs with their own target, height and bits,
// the 3-byte nonce prefix, shares as [worker, job, 0x nonce, 0x header, 0x mix] that the pool checks mix and
// all. The miner runs with mining.dataset: light (KawPow's 1 GiB DAG takes over a minute to build here; the
// light cache gives the same hashes, slower). Difficulties in KawPow's (Bitcoin's) unit: the pool's 5e-8 is
// about 215 hashes, the local 2e-8 about 86.
TEST(MineLoopback, AgainstServeGetsAcceptedKawpowSharesOnALightCache) {
  mine_against_serve({.algorithm = "kawpow",
                      .devnet_difficulty = "1",
                      .port = "          dialect: ethereum\n          difficulty: 0.00000005\n          vardiff: {enabled: false}\n",
                      .miner = "mining: {dataset: light}\nminer: {share_difficulty: 0.00000002}\n",
                      .mine_log = "light context"});
}

TEST(MineLoopback, AgainstServeGetsAcceptedSha256dShares) { mine_against_serve({.algorithm = "sha256d"}); }

TEST(MineLoopback, AgainstServeGetsAcceptedScryptShares) { mine_against_serve({.algorithm = "scrypt"}); }

// RandomX end to end in xmrig's dialect: the devnet's Monero-shaped chain (its blocks out of reach), the
// stratum server's Monero port (each miner's hashing blob built by the randomx plugin, shares verified on a
// light context), and `mine` hashing on a full dataset the pool's job blobs, flagged
// OTD_TEMPLATE_HASHING_BLOB. The dataset build (2 GiB) dominates the run time.
TEST(MineLoopback, AgainstServeGetsAcceptedRandomxShares) {
  mine_against_serve({.algorithm = "randomx",
                      .devnet_difficulty = "1000000000",
                      .port = "          dialect: monero\n          difficulty: 100\n",
                      .threads = "2"});
}
