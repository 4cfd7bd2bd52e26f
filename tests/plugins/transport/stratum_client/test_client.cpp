// The stratum-client engine (plugins/transport/stratum-client/client.hpp) and its wire formats, driven line
// by line with a fake host: no sockets, no threads, a fake clock.
//
// Vectors: ESP-Miner's recorded slush-pool job ("Test nonce diff checking 2", bitaxeorg/ESP-Miner
// components/stratum/test/test_mining.c at 5c27713116c777fba3458459f248ddee595c4734), as collected in
// /work/shared/vectors/pow-vectors.json "stratum_v1": the notify, extranonce1 01000000, extranonce2
// 00000000 (4 bytes), nonce 0x0a029ed1, and the header and hash computed from them. The header the engine's
// template yields must be that header, and the share the engine submits must be that nonce in the
// pools' spelling.
#include "client.hpp"
#include "protocol.hpp"

#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/stratum_url.hpp>
#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sc = otedama::stratum_client;
namespace common = otedama::common;

namespace {

// ---- the recorded job -------------------------------------------------------------------------------------
constexpr const char* kPrevhash = "0c859545a3498373a57452fac22eb7113df2a465000543520000000000000000";
constexpr const char* kCoinb1 =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4b0389130cfabe6d6d5cbab26a2599e92916edec5657a94a0708ddb970f5c45b5d12905085617eff8e";
constexpr const char* kCoinb2 =
    "31650707758de07b010000000000001cfd7038212f736c7573682f000000000379ad0c2a000000001976a9147c154ed1dc59609e3d26abb2df2ea3d587cd8c4188ac00000000000000002c6a4c2952534b424c4f434b3ae725d3994b811572c1f345deb98b56b465ef8e153ecbbd27fa37bf1b005161380000000000000000266a24aa21a9ed63b06a7946b190a3fda1d76165b25c9b883bcc6621b040773050ee2a1bb18f1800000000";
constexpr const char* kBranch[] = {
    "2b77d9e413e8121cd7a17ff46029591051d0922bd90b2b2a38811af1cb57a2b2", "5c8874cef00f3a233939516950e160949ef327891c9090467cead995441d22c5",
    "2d91ff8e19ac5fa69a40081f26c5852d366d608b04d2efe0d5b65d111d0d8074", "0ae96f609ad2264112a0b2dfb65624bedbcea3b036a59c0173394bba3a74e887",
    "e62172e63973d69574a82828aeb5711fc5ff97946db10fc7ec32830b24df7bde", "adb49456453aab49549a9eb46bb26787fb538e0a5f656992275194c04651ec97",
    "a7bc56d04d2672a8683892d6c8d376c73d250a4871fdf6f57019bcc737d6d2c2", "d94eceb8182b4f418cd071e93ec2a8993a0898d4c93bc33d9302f60dbbd0ed10",
    "5ad7788b8c66f8f50d332b88a80077ce10e54281ca472b4ed9bbbbcb6cf99083", "9f9d784b33df1b3ed3edb4211afc0dc1909af9758c6f8267e469f5148ed04809",
    "48fd17affa76b23e6fb2257df30374da839d6cb264656a82e34b350722b05123", "c4f5ab01913fc186d550c1a28f3f3e9ffaca2016b961a6a751f8cca0089df924",
    "cff737e1d00176dd6bbfa73071adbb370f227cfb5fba186562e4060fcec877e1"};
constexpr const char* kHeader =
    "040000204595850c738349a3fa5274a511b72ec265a4f23d5243050000000000000000005bdc1968499c3393873edf8e07a1c3a50a97fc3a9d1a376bbf77087dd63778ebb52570643aae0517d19e020a";
constexpr const char* kHashRaw = "b5c09480ca70eddf6f2229772b70c2fdb894001c2466bcef44e15f0000000000";
constexpr uint32_t kNonce = 0x0a029ed1;

std::string notify_line(const std::string& job_id, bool clean, const std::string& ntime = "647025b5") {
  std::string branch;
  for (const char* b : kBranch) branch += (branch.empty() ? "\"" : ",\"") + std::string(b) + "\"";
  return R"({"id":null,"method":"mining.notify","params":[")" + job_id + R"(",")" + kPrevhash + R"(",")" + kCoinb1 + R"(",")" + kCoinb2 +
         R"(",[)" + branch + R"(],"20000004","1705ae3a",")" + ntime + R"(",)" + (clean ? "true" : "false") + "]}";
}

std::vector<uint8_t> unhex(std::string_view h) { return common::from_hex(h).value(); }

// ---- a fake host ------------------------------------------------------------------------------------------
struct PostedTemplate {
  uint64_t job_id = 0;
  otd_template_t t{};
  std::string coin, algorithm, source_job_id;
  std::vector<uint8_t> coinbase1, coinbase2, merkle, blob, seed;
};

class FakeEnv : public sc::Env {
 public:
  uint64_t now = 1'000'000;
  uint64_t next_conn = 100;
  std::vector<std::pair<std::string, uint64_t>> connects;  // (endpoint, tag)
  std::map<uint64_t, uint64_t> conn_of_tag;
  std::vector<std::pair<uint64_t, std::string>> sent;
  std::vector<uint64_t> closed;
  std::vector<PostedTemplate> templates;
  std::vector<sc::ShareOutcome> outcomes;
  std::vector<std::pair<otd_log_level_t, std::string>> logs;
  bool refuse_connect = false;

  uint64_t connect(const common::StratumUrl& url, uint64_t tag, std::string* error) override {
    if (refuse_connect) {
      *error = "no route";
      return 0;
    }
    connects.emplace_back(url.endpoint() + (url.tls ? " tls" : ""), tag);
    conn_of_tag[tag] = next_conn;
    return next_conn++;
  }
  void send(uint64_t conn, std::string_view data) override { sent.emplace_back(conn, std::string(data)); }
  void close(uint64_t conn) override { closed.push_back(conn); }
  otd_status_t submit_template(const otd_template_t& t, uint64_t* job_id, std::string*) override {
    PostedTemplate p;
    p.job_id = 1000 + templates.size();
    p.t = t;
    p.coin = t.coin;
    p.algorithm = t.algorithm;
    p.source_job_id = t.source_job_id;
    p.coinbase1.assign(t.coinbase1, t.coinbase1 + t.coinbase1_size);
    p.coinbase2.assign(t.coinbase2, t.coinbase2 + t.coinbase2_size);
    if (t.merkle_branch != nullptr) p.merkle.assign(t.merkle_branch, t.merkle_branch + 32 * t.merkle_branch_count);
    if (t.blob != nullptr) p.blob.assign(t.blob, t.blob + t.blob_size);
    if (t.seed != nullptr) p.seed.assign(t.seed, t.seed + t.seed_size);
    p.t.coinbase1 = p.t.coinbase2 = p.t.merkle_branch = p.t.blob = p.t.seed = nullptr;
    p.t.coin = p.t.algorithm = p.t.source_job_id = nullptr;
    *job_id = p.job_id;
    templates.push_back(std::move(p));
    return OTD_OK;
  }
  std::optional<common::Uint256> target_from_difficulty(double d) override { return common::bitcoin_target_from_difficulty(d); }
  uint64_t now_ms() override { return now; }
  void log(otd_log_level_t level, std::string_view message) override { logs.emplace_back(level, std::string(message)); }
  void share_outcome(const sc::ShareOutcome& o) override { outcomes.push_back(o); }

  /// Lines sent on `conn`, in order (each with its "\n").
  [[nodiscard]] std::vector<std::string> lines(uint64_t conn) const {
    std::vector<std::string> out;
    for (const auto& [c, l] : sent)
      if (c == conn) out.push_back(l);
    return out;
  }
  [[nodiscard]] std::string last(uint64_t conn) const {
    const auto l = lines(conn);
    return l.empty() ? std::string() : l.back();
  }
  [[nodiscard]] bool logged(std::string_view needle) const {
    for (const auto& [level, m] : logs)
      if (m.find(needle) != std::string::npos) return true;
    return false;
  }
};

sc::ClientConfig config(std::vector<std::string> urls) {
  sc::ClientConfig c;
  for (const auto& u : urls) c.pools.push_back(sc::PoolConfig{*common::parse_stratum_url(u), "bc1qminer.rig1", "x"});
  c.agent = "otedama/0.1.0";
  return c;
}

/// Connection of the `n`-th connect() call.
uint64_t conn_at(const FakeEnv& env, size_t n) { return env.conn_of_tag.at(env.connects.at(n).second); }

/// Open connection n, answer configure/subscribe/authorize as a pool does, send difficulty and a job.
uint64_t handshake(sc::Client& client, FakeEnv& env, size_t n, const std::string& extranonce1 = "01000000", double difficulty = 512,
                   const std::string& job = "vector-1") {
  const uint64_t conn = conn_at(env, n);
  client.on_open(conn, env.connects.at(n).second, "127.0.0.1:3333");
  client.on_line(conn, R"({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
  client.on_line(conn, R"({"id":2,"result":[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],")" +
                           extranonce1 + R"(",4],"error":null})");
  client.on_line(conn, R"({"id":null,"method":"mining.set_difficulty","params":[)" + std::to_string(difficulty) + "]}");
  client.on_line(conn, notify_line(job, true));
  client.on_line(conn, R"({"id":3,"result":true,"error":null})");
  return conn;
}

otd_candidate_t candidate(uint64_t job_id, const std::vector<uint8_t>& extranonce2, uint32_t nonce) {
  otd_candidate_t c{};
  c.struct_size = sizeof c;
  c.job_id = job_id;
  c.extranonce = extranonce2.data();
  c.extranonce_size = static_cast<uint32_t>(extranonce2.size());
  c.nonce = nonce;
  return c;
}

otd_verify_result_t verified(const std::string& hash_raw, double difficulty) {
  otd_verify_result_t v{};
  v.struct_size = sizeof v;
  v.meets_share = 1;
  const auto h = unhex(hash_raw);
  std::copy(h.begin(), h.end(), v.hash);
  v.share_difficulty = difficulty;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Wire formats

TEST(StratumUrl, Spellings) {
  const auto a = common::parse_stratum_url("stratum+tcp://pool.example.com:3333");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "pool.example.com");
  EXPECT_EQ(a->port, 3333);
  EXPECT_FALSE(a->tls);
  EXPECT_TRUE(common::parse_stratum_url("STRATUM+SSL://pool.example.com:443")->tls);
  EXPECT_TRUE(common::parse_stratum_url("stratum+tls://pool:1")->tls);
  EXPECT_EQ(common::parse_stratum_url("pool.example.com:3333")->to_string(), "stratum+tcp://pool.example.com:3333");
  const auto v6 = common::parse_stratum_url("stratum+tcp://[::1]:3333/#xnsub");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->extranonce_subscribe);
  EXPECT_EQ(v6->endpoint(), "[::1]:3333");
  std::string why;
  EXPECT_FALSE(common::parse_stratum_url("http://pool:80", &why));
  EXPECT_EQ(why, "unknown scheme 'http' (use stratum+tcp:// or stratum+ssl://)");
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://pool", &why));
  EXPECT_EQ(why, "the port is missing (write host:port)");
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://pool:0", &why));
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://pool:65536", &why));
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://user:pw@pool:1", &why));
  EXPECT_NE(why.find("credentials"), std::string::npos);
  EXPECT_FALSE(common::parse_stratum_url("stratum2+tcp://pool:1", &why));
  EXPECT_NE(why.find("Stratum V2"), std::string::npos);
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://::1:3333", &why));
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://pool:1#x", &why));
  EXPECT_FALSE(common::parse_stratum_url("stratum+tcp://po ol:1", &why));
  EXPECT_FALSE(common::parse_stratum_url("", &why));
}

TEST(Protocol, RequestsByteExact) {
  EXPECT_EQ(sc::bitcoin_configure(1, 0x1fffe000),
            R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]})"
            "\n");
  EXPECT_EQ(sc::bitcoin_subscribe(2, "otedama/0.1.0"), "{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[\"otedama/0.1.0\"]}\n");
  EXPECT_EQ(sc::bitcoin_authorize(3, "bc1q\"x", "p\\w"), "{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"bc1q\\\"x\",\"p\\\\w\"]}\n");
  EXPECT_EQ(sc::bitcoin_extranonce_subscribe(4), "{\"id\":4,\"method\":\"mining.extranonce.subscribe\",\"params\":[]}\n");
  const std::vector<uint8_t> en2{0xde, 0xad, 0x00, 0x01};
  EXPECT_EQ(sc::bitcoin_submit(5, "u", "b3ba", en2, 0x647025b5, kNonce, std::nullopt),
            "{\"id\":5,\"method\":\"mining.submit\",\"params\":[\"u\",\"b3ba\",\"dead0001\",\"647025b5\",\"0a029ed1\"]}\n");
  EXPECT_EQ(sc::bitcoin_submit(6, "u", "7", en2, 1, 0, 0x00002000u),
            "{\"id\":6,\"method\":\"mining.submit\",\"params\":[\"u\",\"7\",\"dead0001\",\"00000001\",\"00000000\",\"00002000\"]}\n");
  EXPECT_EQ(sc::result_line("\"x\"", "\"pong\""), "{\"id\":\"x\",\"result\":\"pong\",\"error\":null}\n");
}

TEST(Protocol, NotifyDecodesTheRecordedJob) {
  sc::json::Document doc;
  const std::string line = notify_line("vector-1", true);
  ASSERT_TRUE(doc.parse(line));
  std::string why;
  const auto n = sc::parse_bitcoin_notify(doc.root().find("params"), &why);
  ASSERT_TRUE(n) << why;
  EXPECT_EQ(n->job_id, "vector-1");
  // The header's previous-hash field (bytes 4..36 of the recorded header): each 4-byte word swapped.
  EXPECT_EQ(common::to_hex(n->prev_hash), std::string(kHeader).substr(8, 64));
  EXPECT_EQ(n->version, 0x20000004u);
  EXPECT_EQ(n->nbits, 0x1705ae3au);
  EXPECT_EQ(n->ntime, 0x647025b5u);
  EXPECT_EQ(n->merkle_branch.size(), 13u * 32);
  EXPECT_TRUE(n->clean);
  // The BIP 34 height in coinb1: 0x0c1389 = 791433, the block slush mined on 2023-05-26.
  EXPECT_EQ(sc::coinbase_height(n->coinb1), 791433u);
}

TEST(Protocol, MalformedNotifyNamesTheParameter) {
  const auto check = [](const std::string& params, const std::string& expected) {
    sc::json::Document doc;
    ASSERT_TRUE(doc.parse(params)) << params;
    std::string why;
    EXPECT_FALSE(sc::parse_bitcoin_notify(doc.root(), &why)) << params;
    EXPECT_EQ(why, expected) << params;
  };
  check(R"({"a":1})", "params is not an array");
  check(R"(["j"])", "params has 1 elements, mining.notify needs 9");
  check(R"(["j","zz","","",[],"1","1","1",true])", "prevhash: non-hex character 'z' at position 0");
  check(R"(["j","00","","",[],"1","1","1",true])", "prevhash is 1 bytes, not 32");
  check(R"(["j",")" + std::string(kPrevhash) + R"(","0","",[],"1","1","1",true])", "coinb1: odd number of hex digits (1)");
  check(R"(["j",")" + std::string(kPrevhash) + R"(","","",["00"],"1","1","1",true])", "merkle_branch[0] is 1 bytes, not 32");
  check(R"(["j",")" + std::string(kPrevhash) + R"(","","",[],"123456789","1","1",true])", "version is not a 32-bit hex number");
  check(R"(["j",")" + std::string(kPrevhash) + R"(","","",[],"1","1","1","yes"])", "clean_jobs is not true or false");
  check(R"([[],")" + std::string(kPrevhash) + R"(","","",[],"1","1","1",true])", "job_id is not a string");
}

TEST(Protocol, ErrorsAndVerdicts) {
  sc::json::Document doc;
  ASSERT_TRUE(doc.parse(R"([[23,"Low difficulty share",null],{"code":21,"message":"Job not found"},null,"text"])"));
  const auto a = sc::parse_error(doc.root().at(0));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->code, 23);
  EXPECT_EQ(a->message, "Low difficulty share");
  EXPECT_EQ(sc::verdict_from_error(*a), OTD_SHARE_LOW_DIFFICULTY);
  const auto b = sc::parse_error(doc.root().at(1));
  ASSERT_TRUE(b);
  EXPECT_EQ(sc::verdict_from_error(*b), OTD_SHARE_STALE);
  EXPECT_FALSE(sc::parse_error(doc.root().at(2)));
  EXPECT_EQ(sc::parse_error(doc.root().at(3))->message, "text");
  EXPECT_EQ(sc::verdict_from_error({22, "Duplicate share"}), OTD_SHARE_DUPLICATE);
  EXPECT_EQ(sc::verdict_from_error({20, "ntime out of range"}), OTD_SHARE_BAD_NTIME);
  EXPECT_EQ(sc::verdict_from_error({20, "Other/Unknown"}), OTD_SHARE_MALFORMED);
}

TEST(Protocol, MoneroTargets) {
  double d = 0;
  // xmrig's 4-byte target "b88d0600" (0x00068db8), widened as xmrig does (Job::setTarget):
  // 0xFFFFFFFFFFFFFFFF / (0xFFFFFFFF / 0x68db8) = 0x68db8bac710cb, difficulty 10000.
  const auto t = sc::monero_target_from_hex("b88d0600", &d);
  ASSERT_TRUE(t);
  EXPECT_NEAR(d, 10000.0, 1e-6);
  EXPECT_EQ(common::to_display_hex(*t), "00068db8bac710ca" + std::string(48, 'f'));
  EXPECT_FALSE(sc::monero_target_from_hex("00000000", &d));
  EXPECT_FALSE(sc::monero_target_from_hex("b88d06", &d));
}

// ---------------------------------------------------------------------------------------------------------
// Configuration

TEST(Config, ParsesTheMinerSection) {
  std::string why;
  const auto c = sc::parse_config(
      R"({"algorithm":"scrypt","pools":[{"url":"stratum+tcp://a:1","user":"u","pass":"p"},{"url":"b:2","user":"v","pass":null}],)"
      R"("keepalive":"30s","timeout":"2m","retry_max":"1m","share_difficulty":0.0})",
      &why);
  ASSERT_TRUE(c) << why;
  EXPECT_EQ(c->algorithm, "scrypt");
  ASSERT_EQ(c->pools.size(), 2u);
  EXPECT_EQ(c->pools[1].url.to_string(), "stratum+tcp://b:2");
  EXPECT_EQ(c->pools[1].pass, "x");
  EXPECT_EQ(c->keepalive_ms, 30000u);
  EXPECT_EQ(c->timeout_ms, 120000u);
  EXPECT_EQ(c->retry_max_ms, 60000u);
  EXPECT_TRUE(sc::parse_config("{}", &why));
  EXPECT_FALSE(sc::parse_config(R"({"pools":[{"url":"http://a:1","user":"u"}]})", &why));
  EXPECT_EQ(why, "stratum-client: pools[0].url: unknown scheme 'http' (use stratum+tcp:// or stratum+ssl://)");
  EXPECT_FALSE(sc::parse_config(R"({"pools":[{"url":"a:1"}]})", &why));
  EXPECT_FALSE(sc::parse_config(R"({"timeout":"1s"})", &why));
  EXPECT_FALSE(sc::parse_config(R"({"colour":"red"})", &why));
  EXPECT_FALSE(sc::parse_config("[", &why));
}

// ---------------------------------------------------------------------------------------------------------
// The engine

TEST(Client, HandshakeLinesAndTheRecordedJobAsATemplate) {
  FakeEnv env;
  sc::Client client(config({"stratum+tcp://pool.example.com:3333"}), env);
  client.start();
  ASSERT_EQ(env.connects.size(), 1u);
  EXPECT_EQ(env.connects[0].first, "pool.example.com:3333");
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "127.0.0.1:3333");
  ASSERT_EQ(env.lines(conn).size(), 2u);
  EXPECT_EQ(env.lines(conn)[0],
            R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":2}]})"
            "\n");
  EXPECT_EQ(env.lines(conn)[1], "{\"id\":2,\"method\":\"mining.subscribe\",\"params\":[\"otedama/0.1.0\"]}\n");
  client.on_line(conn, R"({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
  client.on_line(conn, R"({"id":2,"result":[[["mining.notify","ae68"]],"01000000",4],"error":null})");
  ASSERT_EQ(env.lines(conn).size(), 3u);
  EXPECT_EQ(env.lines(conn)[2], "{\"id\":3,\"method\":\"mining.authorize\",\"params\":[\"bc1qminer.rig1\",\"x\"]}\n");
  // ckpool sends the difficulty and the first job before it answers authorize: kept, posted once authorized.
  client.on_line(conn, R"({"id":null,"method":"mining.set_difficulty","params":[512]})");
  client.on_line(conn, notify_line("vector-1", false));
  EXPECT_TRUE(env.templates.empty());
  client.on_line(conn, R"({"id":3,"result":true,"error":null})");
  ASSERT_EQ(env.templates.size(), 1u);
  EXPECT_TRUE(client.status().up);

  const PostedTemplate& p = env.templates[0];
  EXPECT_EQ(p.t.flags, OTD_TEMPLATE_CLEAN);  // the first job of a connection is always clean
  EXPECT_EQ(p.algorithm, "sha256d");
  EXPECT_EQ(p.source_job_id, "vector-1");
  EXPECT_EQ(p.t.height, 791433u);
  EXPECT_EQ(p.t.extranonce_size, 4u);
  EXPECT_EQ(p.t.nonce_size, 4u);
  EXPECT_EQ(p.t.merkle_branch_count, 13u);
  // coinbase1 = coinb1 || extranonce1, so the host's extranonce is exactly extranonce2.
  EXPECT_EQ(common::to_hex(p.coinbase1), std::string(kCoinb1) + "01000000");
  EXPECT_EQ(common::to_hex(p.coinbase2), kCoinb2);
  EXPECT_EQ(common::to_display_hex(*reinterpret_cast<const common::Uint256*>(p.t.block_target)),
            common::to_display_hex(*common::target_from_nbits(0x1705ae3a)));
  // The header the host builds from this template (the lib every Bitcoin-family plugin's build_blob uses),
  // with extranonce2 00000000 and the recorded nonce, is the recorded header, and its hash the recorded hash.
  otd_template_t t = p.t;
  t.coin = "POOL";
  t.algorithm = "sha256d";
  t.coinbase1 = p.coinbase1.data();
  t.coinbase2 = p.coinbase2.data();
  t.merkle_branch = p.merkle.data();
  const std::vector<uint8_t> en2(4, 0);
  std::string why;
  auto header = common::bitcoin_header_from_template(t, en2, 0, 0, &why);
  ASSERT_TRUE(header) << why;
  for (int i = 0; i < 4; ++i) (*header)[76 + i] = static_cast<uint8_t>(kNonce >> (8 * i));
  EXPECT_EQ(common::to_hex(*header), kHeader);
  const auto hash = common::sha256d(*header);
  EXPECT_EQ(common::to_hex(hash), kHashRaw);
  common::Uint256 h{};
  std::copy(hash.begin(), hash.end(), h.begin());
  EXPECT_NEAR(common::bitcoin_difficulty_from_target(h), 683.51, 0.01);

  // The share goes out in the pools' spelling: extranonce2 as placed, ntime and nonce as big-endian hex.
  client.submit_share(candidate(p.job_id, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(env.last(conn), "{\"id\":4,\"method\":\"mining.submit\",\"params\":[\"bc1qminer.rig1\",\"vector-1\",\"00000000\",\"647025b5\",\"0a029ed1\"]}\n");
  env.now += 25;
  client.on_line(conn, R"({"id":4,"result":true,"error":null})");
  ASSERT_EQ(env.outcomes.size(), 1u);
  EXPECT_EQ(env.outcomes[0].verdict, OTD_SHARE_ACCEPTED);
  EXPECT_EQ(env.outcomes[0].job_id, p.job_id);
  EXPECT_EQ(env.outcomes[0].difficulty, 512);
  EXPECT_EQ(env.outcomes[0].latency_ms, 25u);
  EXPECT_EQ(client.counter(sc::Counter::accepted), 1u);
}

TEST(Client, SharesBelowThePoolDifficultyStayHomeAndRejectionsAreCounted) {
  FakeEnv env;
  sc::Client client(config({"pool:1"}), env);
  client.start();
  const uint64_t conn = handshake(client, env, 0, "01000000", 1000);  // the recorded share reaches 683: below 1000
  ASSERT_EQ(env.templates.size(), 1u);
  const size_t before = env.lines(conn).size();
  const std::vector<uint8_t> en2(4, 0);
  client.submit_share(candidate(env.templates[0].job_id, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(env.lines(conn).size(), before);
  EXPECT_EQ(client.counter(sc::Counter::below_pool_target), 1u);

  // A lower difficulty applies to the next job, not to the one already issued.
  client.on_line(conn, R"({"id":null,"method":"mining.set_difficulty","params":[256]})");
  client.submit_share(candidate(env.templates[0].job_id, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(client.counter(sc::Counter::below_pool_target), 2u);
  client.on_line(conn, notify_line("next", false));
  ASSERT_EQ(env.templates.size(), 2u);
  EXPECT_EQ(env.templates[1].t.flags, 0u);
  client.submit_share(candidate(env.templates[1].job_id, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(env.lines(conn).size(), before + 1);
  client.on_line(conn, R"({"id":4,"result":null,"error":[23,"Low difficulty share",null]})");
  ASSERT_EQ(env.outcomes.size(), 1u);
  EXPECT_EQ(env.outcomes[0].verdict, OTD_SHARE_LOW_DIFFICULTY);
  EXPECT_EQ(env.outcomes[0].reason, "Low difficulty share");
  EXPECT_EQ(client.counter(sc::Counter::rejected), 1u);
  EXPECT_TRUE(env.logged("share rejected: [23] Low difficulty share"));
  // A wrong-sized extranonce never leaves.
  const std::vector<uint8_t> en8(8, 0);
  client.submit_share(candidate(env.templates[1].job_id, en8, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(env.lines(conn).size(), before + 1);
  // Unknown jobs are not ours.
  client.submit_share(candidate(424242, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(client.counter(sc::Counter::unknown_job), 1u);
}

TEST(Client, JobsBeforeTheFirstDifficultyTakeIt) {
  FakeEnv env;
  sc::Client client(config({"pool:1"}), env);
  client.start();
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  client.on_line(conn, R"({"id":2,"result":[[],"01000000",4],"error":null})");
  client.on_line(conn, R"({"id":3,"result":true,"error":null})");
  client.on_line(conn, notify_line("j1", true));
  ASSERT_EQ(env.templates.size(), 1u);  // at stratum's default difficulty 1 for now
  client.on_line(conn, R"({"id":null,"method":"mining.set_difficulty","params":[512]})");
  const std::vector<uint8_t> en2(4, 0);
  client.submit_share(candidate(env.templates[0].job_id, en2, kNonce), verified(kHashRaw, 683.51));
  ASSERT_EQ(env.lines(conn).size(), 4u);  // configure, subscribe, authorize, submit
  client.on_line(conn, R"({"id":4,"result":true,"error":null})");
  EXPECT_EQ(env.outcomes.at(0).difficulty, 512);
}

TEST(Client, SetExtranonceTakesEffectWithTheNextJobWhichIsClean) {
  FakeEnv env;
  sc::Client client(config({"stratum+tcp://pool:1#xnsub"}), env);
  client.start();
  const uint64_t conn = handshake(client, env, 0);
  EXPECT_EQ(env.lines(conn)[3], "{\"id\":4,\"method\":\"mining.extranonce.subscribe\",\"params\":[]}\n");
  client.on_line(conn, R"({"id":4,"result":true,"error":null})");
  client.on_line(conn, R"({"id":null,"method":"mining.set_extranonce","params":["aabbccdd00",3]})");
  client.on_line(conn, notify_line("j2", false));
  ASSERT_EQ(env.templates.size(), 2u);
  EXPECT_EQ(env.templates[1].t.flags, OTD_TEMPLATE_CLEAN);
  EXPECT_EQ(common::to_hex(env.templates[1].coinbase1), std::string(kCoinb1) + "aabbccdd00");
  EXPECT_EQ(env.templates[1].t.extranonce_size, 3u);
  // A share of the earlier job still carries that job's 4-byte extranonce2.
  const std::vector<uint8_t> en2(4, 0);
  client.submit_share(candidate(env.templates[0].job_id, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_NE(env.last(conn).find("\"vector-1\",\"00000000\""), std::string::npos);
  // A bad one is ignored.
  client.on_line(conn, R"({"id":null,"method":"mining.set_extranonce","params":["zz",3]})");
  EXPECT_EQ(client.counter(sc::Counter::bad_messages), 1u);
}

TEST(Client, VersionRollingOnlyWhenGranted) {
  FakeEnv env;
  sc::Client client(config({"pool:1"}), env);
  client.start();
  const uint64_t conn = handshake(client, env, 0);
  const std::vector<uint8_t> en2(4, 0);
  otd_candidate_t c = candidate(env.templates[0].job_id, en2, kNonce);
  c.version_bits = 0x20000004u | 0x00002000u;  // the rolled version
  client.submit_share(c, verified(kHashRaw, 683.51));
  EXPECT_EQ(env.last(conn),
            "{\"id\":4,\"method\":\"mining.submit\",\"params\":[\"bc1qminer.rig1\",\"vector-1\",\"00000000\",\"647025b5\",\"0a029ed1\",\"00002000\"]}\n");
  client.on_line(conn, R"({"id":null,"method":"mining.set_version_mask","params":["00000000"]})");
  client.submit_share(c, verified(kHashRaw, 683.51));
  EXPECT_EQ(env.last(conn), "{\"id\":5,\"method\":\"mining.submit\",\"params\":[\"bc1qminer.rig1\",\"vector-1\",\"00000000\",\"647025b5\",\"0a029ed1\"]}\n");
}

TEST(Client, AnswersServerRequestsAndSurvivesMalformedLines) {
  FakeEnv env;
  sc::Client client(config({"pool:1"}), env);
  client.start();
  const uint64_t conn = handshake(client, env, 0);
  client.on_line(conn, R"({"id":"v1","method":"client.get_version","params":[]})");
  EXPECT_EQ(env.last(conn), "{\"id\":\"v1\",\"result\":\"otedama/0.1.0\",\"error\":null}\n");
  client.on_line(conn, R"({"id":9,"method":"mining.ping","params":[]})");
  EXPECT_EQ(env.last(conn), "{\"id\":9,\"result\":\"pong\",\"error\":null}\n");
  client.on_line(conn, R"({"id":null,"method":"client.show_message","params":["maintenance at 12:00"]})");
  EXPECT_TRUE(env.logged("pool 1 says: maintenance at 12:00"));
  const std::vector<std::string> bad = {"{", "[1,2]", "\"x\"", "{\"id\":1,\"result\":true,\"error\":null}  garbage", "\xff\xfe",
                                        std::string(1000, '['), "{\"method\":5}", "{\"id\":77,\"result\":true}",
                                        "{\"id\":null,\"method\":\"mining.notify\",\"params\":[1,2,3]}",
                                        "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[-1]}",
                                        "{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":\"x\"}",
                                        "{\"id\":null,\"method\":\"mining.set_difficulty\"}", "{\"id\":null,\"method\":\"no.such\"}",
                                        "{\"id\":null,\"method\":\"client.reconnect\",\"params\":[\"h\",\"port\",0]}", ""};
  for (const auto& line : bad) client.on_line(conn, line);
  EXPECT_EQ(client.counter(sc::Counter::malformed_lines), 6u);
  EXPECT_EQ(client.counter(sc::Counter::bad_messages), 6u);
  EXPECT_EQ(client.counter(sc::Counter::unknown_methods), 1u);
  EXPECT_EQ(client.counter(sc::Counter::unexpected_responses), 1u);
  EXPECT_TRUE(client.status().up);  // a few bad lines do not drop a pool
  EXPECT_EQ(env.templates.size(), 1u);
  // Many do.
  for (int i = 0; i < 20; ++i) client.on_line(conn, "not json");
  ASSERT_EQ(env.closed.size(), 1u);
  EXPECT_EQ(env.closed[0], conn);
  client.on_close(conn, OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_TRUE(env.logged("connection lost: 20 malformed lines"));
  EXPECT_EQ(env.connects.size(), 2u);  // straight back to the top of the list
}

TEST(Client, AnHttpServerIsNotAPool) {
  FakeEnv env;
  sc::Client client(config({"pool:1", "pool:2"}), env);
  client.start();
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  client.on_line(conn, "HTTP/1.1 400 Bad Request");
  ASSERT_EQ(env.closed.size(), 1u);
  client.on_close(conn, OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_TRUE(env.logged("not a stratum server (it answers HTTP)"));
  ASSERT_EQ(env.connects.size(), 2u);
  EXPECT_EQ(env.connects[1].first, "pool:2");
}

TEST(Client, FailoverInOrderThenBackOffDoublingToTheCap) {
  FakeEnv env;
  auto c = config({"a:1", "b:2", "c:3"});
  c.retry_min_ms = 1000;
  c.retry_max_ms = 4000;
  sc::Client client(c, env);
  client.start();
  const auto fail = [&](size_t n) { client.on_close(conn_at(env, n), OTD_NET_CONNECT_FAILED, "Connection refused"); };
  fail(0);
  ASSERT_EQ(env.connects.size(), 2u);
  EXPECT_EQ(env.connects[1].first, "b:2");
  EXPECT_TRUE(env.logged("pool 1/3 stratum+tcp://a:1: cannot connect: Connection refused"));
  fail(1);
  fail(2);  // a whole round failed: wait 1 s
  ASSERT_EQ(env.connects.size(), 3u);
  EXPECT_TRUE(env.logged("no pool reachable (3 tried): next round in 1 s"));
  env.now += 999;
  client.tick();
  EXPECT_EQ(env.connects.size(), 3u);
  env.now += 1;
  client.tick();
  ASSERT_EQ(env.connects.size(), 4u);
  EXPECT_EQ(env.connects[3].first, "a:1");
  fail(3);
  fail(4);
  fail(5);  // 2 s
  env.now += 1999;
  client.tick();
  EXPECT_EQ(env.connects.size(), 6u);
  env.now += 1;
  client.tick();
  fail(6);
  fail(7);
  fail(8);  // 4 s
  env.now += 4000;
  client.tick();
  fail(9);
  fail(10);
  fail(11);  // 4 s: the cap
  EXPECT_TRUE(env.logged("next round in 4 s"));
  env.now += 3999;
  client.tick();
  EXPECT_EQ(env.connects.size(), 12u);
  env.now += 1;
  client.tick();
  ASSERT_EQ(env.connects.size(), 13u);
  // Success resets the back-off.
  handshake(client, env, 12);
  EXPECT_TRUE(client.status().up);
  EXPECT_EQ(client.counter(sc::Counter::connect_failures), 12u);
}

TEST(Client, ConnectThatCannotStartAndConnectTimeout) {
  FakeEnv env;
  sc::Client client(config({"a:1", "b:2"}), env);
  env.refuse_connect = true;
  client.start();
  EXPECT_TRUE(env.logged("cannot connect: no route"));
  env.refuse_connect = false;
  env.now += 1000;
  client.tick();
  ASSERT_EQ(env.connects.size(), 1u);
  // Never opened: given up after connect_timeout_ms, then the next pool.
  env.now += 10000;
  client.tick();
  ASSERT_EQ(env.closed.size(), 1u);
  client.on_close(env.closed[0], OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_TRUE(env.logged("no connection after 10 s"));
  ASSERT_EQ(env.connects.size(), 2u);
  EXPECT_EQ(env.connects[1].first, "b:2");
}

TEST(Client, SilentPoolsAndUnansweredRequests) {
  FakeEnv env;
  sc::Client client(config({"a:1"}), env);
  client.start();
  uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  env.now += 30000;  // subscribe unanswered
  client.tick();
  ASSERT_EQ(env.closed.size(), 1u);
  client.on_close(conn, OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_TRUE(env.logged("no answer to mining.subscribe within 30 s"));
  env.now += 1000;  // the only pool failed: one second of back-off
  client.tick();
  conn = handshake(client, env, 1);
  const std::vector<uint8_t> en2(4, 0);
  client.submit_share(candidate(env.templates.back().job_id, en2, kNonce), verified(kHashRaw, 683.51));
  env.now += 30000;
  client.on_line(conn, R"({"id":null,"method":"mining.set_difficulty","params":[512]})");  // alive, but the submit is lost
  client.tick();
  EXPECT_EQ(client.counter(sc::Counter::unanswered), 1u);
  EXPECT_EQ(env.closed.size(), 1u);
  env.now += 120000;  // miner.timeout: nothing for 2 minutes
  client.tick();
  ASSERT_EQ(env.closed.size(), 2u);
  client.on_close(conn, OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_TRUE(env.logged("connection lost: nothing received for 120 s"));
  EXPECT_EQ(client.counter(sc::Counter::disconnects), 1u);
}

TEST(Client, AuthorizationRefusedMovesOn) {
  FakeEnv env;
  sc::Client client(config({"a:1", "b:2"}), env);
  client.start();
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  client.on_line(conn, R"({"id":2,"result":[[],"01000000",4],"error":null})");
  client.on_line(conn, R"({"id":3,"result":false,"error":[24,"Unauthorized worker",null]})");
  ASSERT_EQ(env.closed.size(), 1u);
  client.on_close(conn, OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_TRUE(env.logged("the pool refused user 'bc1qminer.rig1': [24] Unauthorized worker"));
  EXPECT_EQ(env.connects.size(), 2u);
}

TEST(Client, LostPoolDropsItsSharesAndTheNextOneTakesOver) {
  FakeEnv env;
  sc::Client client(config({"a:1", "b:2"}), env);
  client.start();
  const uint64_t a = handshake(client, env, 0);
  const uint64_t old_job = env.templates.back().job_id;
  client.on_close(a, OTD_NET_CLOSED_BY_PEER, "");
  EXPECT_TRUE(env.logged("connection lost: the pool closed the connection"));
  const std::vector<uint8_t> en2(4, 0);
  client.submit_share(candidate(old_job, en2, kNonce), verified(kHashRaw, 683.51));
  EXPECT_EQ(client.counter(sc::Counter::stale_dropped), 1u);
  ASSERT_EQ(env.connects.size(), 2u);
  EXPECT_EQ(env.connects[1].first, "a:1");  // the most preferred pool first
  client.on_close(conn_at(env, 1), OTD_NET_CONNECT_FAILED, "refused");
  ASSERT_EQ(env.connects.size(), 3u);
  EXPECT_EQ(env.connects[2].first, "b:2");
  handshake(client, env, 2, "02000000");
  EXPECT_EQ(client.status().pool_index, 1u);
  EXPECT_EQ(env.templates.back().t.flags, OTD_TEMPLATE_CLEAN);
  EXPECT_EQ(common::to_hex(env.templates.back().coinbase1), std::string(kCoinb1) + "02000000");
}

TEST(Client, ReturnsToTheHigherPoolOnceItIsBack) {
  FakeEnv env;
  auto c = config({"a:1", "b:2"});
  c.retry_max_ms = 60000;
  sc::Client client(c, env);
  client.start();
  client.on_close(conn_at(env, 0), OTD_NET_CONNECT_FAILED, "refused");
  const uint64_t b = handshake(client, env, 1, "02000000");
  const size_t templates = env.templates.size();
  env.now += 59999;
  client.on_line(b, R"({"id":null,"method":"mining.set_difficulty","params":[512]})");
  client.tick();
  EXPECT_EQ(env.connects.size(), 2u);
  env.now += 1;
  client.tick();
  ASSERT_EQ(env.connects.size(), 3u);
  EXPECT_EQ(env.connects[2].first, "a:1");
  // The probe must authorize and send a job before anything switches.
  const uint64_t a = conn_at(env, 2);
  client.on_open(a, env.connects[2].second, "p");
  client.on_line(a, R"({"id":2,"result":[[],"0a000000",4],"error":null})");
  client.on_line(b, notify_line("from-b", false));
  EXPECT_EQ(env.templates.size(), templates + 1);
  client.on_line(a, notify_line("from-a", true));
  EXPECT_EQ(env.templates.size(), templates + 1);
  EXPECT_TRUE(env.closed.empty());
  client.on_line(a, R"({"id":3,"result":true,"error":null})");
  ASSERT_EQ(env.templates.size(), templates + 2);
  EXPECT_EQ(env.templates.back().source_job_id, "from-a");
  EXPECT_EQ(env.templates.back().t.flags, OTD_TEMPLATE_CLEAN);
  ASSERT_EQ(env.closed.size(), 1u);
  EXPECT_EQ(env.closed[0], b);
  client.on_close(b, OTD_NET_CLOSED_BY_PLUGIN, "");
  EXPECT_EQ(client.status().pool_index, 0u);
  EXPECT_EQ(client.counter(sc::Counter::pool_switches), 1u);
  client.tick();
  EXPECT_EQ(env.connects.size(), 3u);  // on the top pool: nothing to probe
}

TEST(Client, ClientReconnectSwitchesCleanly) {
  FakeEnv env;
  sc::Client client(config({"stratum+ssl://a:1"}), env);
  client.start();
  EXPECT_EQ(env.connects[0].first, "a:1 tls");
  const uint64_t a = handshake(client, env, 0);
  client.on_line(a, R"({"id":null,"method":"client.reconnect","params":["b.example.com",4444,5]})");
  EXPECT_EQ(client.counter(sc::Counter::reconnect_requests), 1u);
  client.tick();
  EXPECT_EQ(env.connects.size(), 1u);
  env.now += 5000;
  client.tick();
  ASSERT_EQ(env.connects.size(), 2u);
  EXPECT_EQ(env.connects[1].first, "b.example.com:4444 tls");  // the pool's TLS setting is kept
  // The old pool closes first, as most do: nothing is mined from it meanwhile, no failover is started.
  client.on_close(a, OTD_NET_CLOSED_BY_PEER, "");
  EXPECT_EQ(env.connects.size(), 2u);
  handshake(client, env, 1, "0b000000", 512, "after-redirect");
  EXPECT_EQ(env.templates.back().source_job_id, "after-redirect");
  EXPECT_TRUE(client.status().up);
  EXPECT_EQ(client.status().endpoint, "b.example.com:4444");
  // The same with the old pool still open: it is closed once the new one has a job.
  const uint64_t b = conn_at(env, 1);
  client.on_line(b, R"({"id":null,"method":"client.reconnect","params":[]})");
  client.tick();
  ASSERT_EQ(env.connects.size(), 3u);
  EXPECT_EQ(env.connects[2].first, "b.example.com:4444 tls");
  handshake(client, env, 2, "0c000000", 512, "third");
  ASSERT_FALSE(env.closed.empty());
  EXPECT_EQ(env.closed.back(), b);
}

TEST(Client, StopClosesEverythingAndConnectsNoMore) {
  FakeEnv env;
  sc::Client client(config({"a:1"}), env);
  client.start();
  const uint64_t a = handshake(client, env, 0);
  client.stop();
  ASSERT_EQ(env.closed.size(), 1u);
  client.on_close(a, OTD_NET_CLOSED_SHUTDOWN, "");
  env.now += 1000000;
  client.tick();
  EXPECT_EQ(env.connects.size(), 1u);
  EXPECT_FALSE(client.status().up);
}

TEST(Client, CloseReportedBeforeConnectReturns) {
  // The net service may report a failed connect on an [io] thread before connect() has returned its id.
  struct EarlyEnv : FakeEnv {
    sc::Client* client = nullptr;
    uint64_t connect(const common::StratumUrl& url, uint64_t tag, std::string* error) override {
      const uint64_t conn = FakeEnv::connect(url, tag, error);
      if (connects.size() == 1) client->on_close(conn, OTD_NET_CONNECT_FAILED, "refused");
      return conn;
    }
  } env;
  sc::Client client(config({"a:1", "b:2"}), env);
  env.client = &client;
  client.start();
  ASSERT_EQ(env.connects.size(), 2u);
  EXPECT_EQ(env.connects[1].first, "b:2");
}

TEST(Client, MoneroDialect) {
  FakeEnv env;
  auto c = config({"xmr.example.com:3333"});
  c.dialect = sc::Dialect::monero;
  c.algorithm = "randomx";
  c.keepalive_ms = 60000;
  sc::Client client(c, env);
  client.start();
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  EXPECT_EQ(env.last(conn),
            "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":\"bc1qminer.rig1\",\"pass\":\"x\",\"agent\":\"otedama/0.1.0\",\"algo\":[\"rx/0\"]}}\n");
  const std::string blob(76 * 2, '1');
  const std::string seed(64, 'a');
  client.on_line(conn, R"({"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"sess-9","job":{"blob":")" + blob +
                           R"(","job_id":"j-1","target":"b88d0600","algo":"rx/0","height":3000000,"seed_hash":")" + seed +
                           R"("},"extensions":["algo","keepalive"],"status":"OK"}})");
  ASSERT_EQ(env.templates.size(), 1u);
  const PostedTemplate p = env.templates[0];  // a copy: the vector grows below
  EXPECT_EQ(p.algorithm, "randomx");
  EXPECT_EQ(p.t.height, 3000000u);
  EXPECT_EQ(p.t.nonce_offset, 39u);
  EXPECT_EQ(p.t.extranonce_size, 0u);
  EXPECT_EQ(common::to_hex(p.blob), blob);
  EXPECT_EQ(common::to_hex(p.seed), seed);
  // A pool's job is the hashing blob itself: flagged so the randomx plugin only places the nonce.
  EXPECT_EQ(p.t.flags, OTD_TEMPLATE_CLEAN | OTD_TEMPLATE_HASHING_BLOB);
  // A share: the nonce as its 4 blob bytes, the hash in memory order.
  std::string hash(64, '0');
  const std::vector<uint8_t> none;
  client.submit_share(candidate(p.job_id, none, 0x11223344), verified(hash, 20000));
  EXPECT_EQ(env.last(conn), "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{\"id\":\"sess-9\",\"job_id\":\"j-1\",\"nonce\":\"44332211\",\"result\":\"" +
                                hash + "\"}}\n");
  client.on_line(conn, R"({"id":2,"jsonrpc":"2.0","error":null,"result":{"status":"OK"}})");
  EXPECT_EQ(client.counter(sc::Counter::accepted), 1u);
  // A hash above the 4-byte target stays home.
  client.submit_share(candidate(p.job_id, none, 1), verified(std::string(64, 'f'), 1));
  EXPECT_EQ(client.counter(sc::Counter::below_pool_target), 1u);
  // Jobs arrive as notifications; a new height is clean.
  client.on_line(conn, R"({"jsonrpc":"2.0","method":"job","params":{"blob":")" + blob +
                           R"(","job_id":"j-2","target":"b88d0600","height":3000001,"seed_hash":")" + seed + R"("}})");
  ASSERT_EQ(env.templates.size(), 2u);
  EXPECT_EQ(env.templates[1].t.flags, OTD_TEMPLATE_CLEAN | OTD_TEMPLATE_HASHING_BLOB);
  // keepalived when nothing was sent for keepalive_ms.
  env.now += 60000;
  client.on_line(conn, R"({"jsonrpc":"2.0","method":"job","params":{"blob":")" + blob +
                           R"(","job_id":"j-3","target":"b88d0600","height":3000001,"seed_hash":")" + seed + R"("}})");
  EXPECT_EQ(env.templates[2].t.flags, OTD_TEMPLATE_HASHING_BLOB);
  client.tick();
  EXPECT_EQ(env.last(conn), "{\"id\":3,\"jsonrpc\":\"2.0\",\"method\":\"keepalived\",\"params\":{\"id\":\"sess-9\"}}\n");
  client.on_line(conn, R"({"id":3,"jsonrpc":"2.0","error":null,"result":{"status":"KEEPALIVED"}})");
  // Rejections carry the pool's message.
  client.submit_share(candidate(env.templates[2].job_id, none, 7), verified(hash, 20000));
  client.on_line(conn, R"({"id":4,"jsonrpc":"2.0","error":{"code":-1,"message":"Low difficulty share"}})");
  ASSERT_EQ(env.outcomes.size(), 2u);
  EXPECT_EQ(env.outcomes[1].verdict, OTD_SHARE_LOW_DIFFICULTY);
}

// ---------------------------------------------------------------------------------------------------------
// Ethereum family: EthereumStratum/1.0.0 (NiceHash's specification, EthereumStratum_NiceHash_v1.0.0.txt R2)
// and its KawPow variant, the lines as plugins/transport/stratum-server serves them.
// Epoch seeds: epoch 0's is 32 zero bytes, epoch 1's is Keccak-256 of them (the Ethash spec, ethereum.org
// "Ethash": seed = keccak256 applied epoch times to 32 zero bytes):
// 290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563.

namespace {
constexpr const char* kSeedEpoch1 = "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563";
constexpr const char* kEthHeader = "1c0f7e5b3a29d84e6c1f0a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e";
}  // namespace

TEST(Protocol, EthereumRequestsAndTargets) {
  EXPECT_EQ(sc::ethereum_subscribe(1, "otedama/0.1.0", false),
            "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"otedama/0.1.0\",\"EthereumStratum/1.0.0\"]}\n");
  EXPECT_EQ(sc::ethereum_subscribe(1, "otedama/0.1.0", true), "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"otedama/0.1.0\",null]}\n");
  // NiceHash: only the digits after the 2-byte prefix.
  EXPECT_EQ(sc::ethereum_submit(7, "w", "bf0488aa", 0x080c0000deadbeefULL, 2),
            "{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"w\",\"bf0488aa\",\"0000deadbeef\"]}\n");
  EXPECT_EQ(sc::ethereum_submit(7, "w", "1", 0x00000000000000ffULL, 0), "{\"id\":7,\"method\":\"mining.submit\",\"params\":[\"w\",\"1\",\"00000000000000ff\"]}\n");
  std::array<uint8_t, 32> header{}, mix{};
  header[0] = 0xab;
  mix[31] = 0xcd;
  EXPECT_EQ(sc::kawpow_submit(8, "w", "j", 0xa1b2000000000001ULL, header, mix),
            "{\"id\":8,\"method\":\"mining.submit\",\"params\":[\"w\",\"j\",\"0xa1b2000000000001\",\"0xab" + std::string(62, '0') + "\",\"0x" +
                std::string(62, '0') + "cd\"]}\n");
  std::string why;
  const auto t = sc::parse_target_hex("0x00000000ffff0000000000000000000000000000000000000000000000000000", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(*t, *common::bitcoin_target_from_difficulty(1.0));
  EXPECT_FALSE(sc::parse_target_hex("00", &why));
  EXPECT_NE(why.find("zero"), std::string::npos);
  EXPECT_FALSE(sc::parse_target_hex(std::string(65, '1'), &why));
  otedama::stratum::json::Document doc;
  ASSERT_TRUE(doc.parse(R"(["job","0x00","zz",true])"));
  EXPECT_FALSE(sc::parse_ethereum_notify(doc.root(), false, &why));
  EXPECT_NE(why.find("header"), std::string::npos) << why;
  ASSERT_TRUE(doc.parse(R"([null,"0102030405060708"])"));
  EXPECT_FALSE(sc::parse_nonce_prefix(doc.root(), 1, &why));
  EXPECT_NE(why.find("longer than 7"), std::string::npos) << why;
}

TEST(Client, EthereumStratumDialect) {
  FakeEnv env;
  auto c = config({"eth.example.com:4444"});
  c.dialect = sc::Dialect::ethereum;
  c.algorithm = "ethash";
  sc::Client client(c, env);
  client.start();
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  EXPECT_EQ(env.last(conn), "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"otedama/0.1.0\",\"EthereumStratum/1.0.0\"]}\n");
  client.on_line(conn, R"({"id":1,"result":[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f","EthereumStratum/1.0.0"],"080c"],"error":null})");
  EXPECT_EQ(env.last(conn), "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"bc1qminer.rig1\",\"x\"]}\n");
  client.on_line(conn, R"({"id":null,"method":"mining.set_difficulty","params":[2]})");
  client.on_line(conn, std::string(R"({"id":null,"method":"mining.notify","params":["bf0488aa",")") + kSeedEpoch1 + "\",\"" + kEthHeader + "\",true]}");
  EXPECT_TRUE(env.templates.empty());  // not before authorize's answer
  client.on_line(conn, R"({"id":2,"result":true,"error":null})");
  ASSERT_EQ(env.templates.size(), 1u);
  const PostedTemplate p = env.templates[0];
  EXPECT_EQ(p.algorithm, "ethash");
  EXPECT_EQ(p.source_job_id, "bf0488aa");
  EXPECT_EQ(common::to_hex(p.blob), kEthHeader);
  EXPECT_EQ(common::to_hex(p.seed), kSeedEpoch1);
  EXPECT_EQ(p.t.epoch, 1u);
  EXPECT_EQ(p.t.height, 30000u);  // the epoch's first block: the ethash plugin wants height / 30000 == epoch
  EXPECT_EQ(p.t.nonce_size, 8u);
  EXPECT_EQ(p.t.flags, static_cast<uint32_t>(OTD_TEMPLATE_CLEAN));
  // The pool's prefix fixes the top two bytes of the nonce: the host scans only below it.
  EXPECT_EQ(p.t.nonce_base, 0x080c000000000000ULL);
  EXPECT_EQ(p.t.nonce_space, 1ULL << 48);
  // NiceHash's difficulty 2 is Bitcoin's unit: target 0x000000007fff8000...
  const auto target2 = *common::bitcoin_target_from_difficulty(2.0);
  const std::string under_hex = "01" + std::string(62, '0');  // the hash 1: far below it
  const std::vector<uint8_t> none;
  client.submit_share(candidate(p.job_id, none, 0), verified(under_hex, 3));
  EXPECT_EQ(client.counter(sc::Counter::stale_dropped), 1u);  // a nonce without the prefix is never sent
  auto c1 = candidate(p.job_id, none, 0);
  c1.nonce = 0x080c0000deadbeefULL;
  client.submit_share(c1, verified(under_hex, 3));
  EXPECT_EQ(env.last(conn), "{\"id\":4,\"method\":\"mining.submit\",\"params\":[\"bc1qminer.rig1\",\"bf0488aa\",\"0000deadbeef\"]}\n");
  client.on_line(conn, R"({"id":4,"result":true,"error":null})");
  EXPECT_EQ(client.counter(sc::Counter::accepted), 1u);
  common::Uint256 over = target2;
  over[31] = 0xff;
  client.submit_share(c1, verified(common::to_hex(over), 1));
  EXPECT_EQ(client.counter(sc::Counter::below_pool_target), 1u);
  // A new prefix applies from the next job, which is clean.
  client.on_line(conn, R"({"id":null,"method":"mining.set_extranonce","params":["ab"]})");
  client.on_line(conn, std::string(R"({"id":null,"method":"mining.notify","params":["bf0488ab",")") + kSeedEpoch1 + "\",\"" + kEthHeader + "\",false]}");
  ASSERT_EQ(env.templates.size(), 2u);
  EXPECT_EQ(env.templates[1].t.flags, static_cast<uint32_t>(OTD_TEMPLATE_CLEAN));
  EXPECT_EQ(env.templates[1].t.nonce_base, 0xab00000000000000ULL);
  EXPECT_EQ(env.templates[1].t.nonce_space, 1ULL << 56);
  // A seed that is no epoch's is refused, named, counted.
  const uint64_t bad_before = client.counter(sc::Counter::bad_messages);
  client.on_line(conn, std::string(R"({"id":null,"method":"mining.notify","params":["x",")") + std::string(64, 'e') + "\",\"" + kEthHeader + "\",false]}");
  EXPECT_EQ(env.templates.size(), 2u);
  EXPECT_EQ(client.counter(sc::Counter::bad_messages), bad_before + 1);
  EXPECT_TRUE(env.logged("is not the seed of any ethash epoch"));
}

TEST(Client, KawpowDialect) {
  FakeEnv env;
  auto c = config({"rvn.example.com:3636"});
  c.dialect = sc::Dialect::ethereum;
  c.kawpow = true;
  c.algorithm = "kawpow";
  sc::Client client(c, env);
  client.start();
  const uint64_t conn = conn_at(env, 0);
  client.on_open(conn, env.connects[0].second, "p");
  EXPECT_EQ(env.last(conn), "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"otedama/0.1.0\",null]}\n");
  client.on_line(conn, R"({"id":1,"result":[null,"a1b2"],"error":null})");
  client.on_line(conn, R"({"id":2,"result":true,"error":null})");
  const std::string target = "00000000ffff0000000000000000000000000000000000000000000000000000";
  client.on_line(conn, std::string(R"({"id":null,"method":"mining.notify","params":["2a",")") + kEthHeader + "\",\"" + kSeedEpoch1 +
                           "\",\"" + target + "\",true,7501,\"1d00ffff\"]}");
  ASSERT_EQ(env.templates.size(), 1u);
  const PostedTemplate p = env.templates[0];
  EXPECT_EQ(p.t.height, 7501u);
  EXPECT_EQ(p.t.epoch, 1u);  // 7501 / 7500
  EXPECT_EQ(p.t.nbits, 0x1d00ffffu);
  common::Uint256 block{};
  std::copy(p.t.block_target, p.t.block_target + 32, block.begin());
  EXPECT_EQ(block, *common::target_from_nbits(0x1d00ffff));
  EXPECT_EQ(p.t.nonce_base, 0xa1b2000000000000ULL);
  auto c1 = candidate(p.job_id, {}, 0);
  c1.nonce = 0xa1b2000000000001ULL;
  auto v = verified(std::string(64, '0'), 5);
  v.mix[0] = 0x5a;
  client.submit_share(c1, v);
  EXPECT_EQ(env.last(conn), "{\"id\":3,\"method\":\"mining.submit\",\"params\":[\"bc1qminer.rig1\",\"2a\",\"0xa1b2000000000001\",\"0x" +
                                std::string(kEthHeader) + "\",\"0x5a" + std::string(62, '0') + "\"]}\n");
  // The job's own target decides: a hash above it stays home.
  common::Uint256 over = *common::bitcoin_target_from_difficulty(1.0);
  over[31] = 0x01;
  client.submit_share(c1, verified(common::to_hex(over), 0.5));
  EXPECT_EQ(client.counter(sc::Counter::below_pool_target), 1u);
  // mining.set_target is read (the difficulty it means is logged).
  client.on_line(conn, R"({"id":null,"method":"mining.set_target","params":["0x000000007fff8000000000000000000000000000000000000000000000000000"]})");
  EXPECT_TRUE(env.logged("difficulty 2"));
}

// ---------------------------------------------------------------------------------------------------------
// Hostile pools: whatever arrives, the engine counts it and goes on (run under ASan/UBSan in CI builds).

namespace {
/// A client with an authorized connection and a job, fed `lines` in every state a connection goes through.
/// Whenever the engine drops the connection (too many bad lines, a refused subscribe ...), the next one is
/// opened and shaken hands with, so that every line reaches a live connection.
void feed_everywhere(const std::vector<std::string>& lines) {
  for (int state = 0; state < 3; ++state) {
    FakeEnv env;
    sc::Client client(config({"a:1", "b:2"}), env);
    client.start();
    size_t opened = 0;
    uint64_t conn = 0;
    const auto open_next = [&] {
      conn = conn_at(env, opened);
      if (state == 0) {
        client.on_open(conn, env.connects[opened].second, "p");  // before subscribe's answer
      } else {
        handshake(client, env, opened);
        if (state == 2) client.on_line(conn, R"({"id":null,"method":"mining.set_extranonce","params":["ff",8]})");
      }
      ++opened;
    };
    open_next();
    size_t closes_seen = 0;
    for (const auto& line : lines) {
      client.on_line(conn, line);
      const std::vector<uint8_t> en2(4, 0);
      if (!env.templates.empty()) client.submit_share(candidate(env.templates.back().job_id, en2, kNonce), verified(kHashRaw, 683.51));
      while (closes_seen < env.closed.size()) client.on_close(env.closed[closes_seen++], OTD_NET_CLOSED_BY_PLUGIN, "");
      for (int i = 0; i < 400 && env.connects.size() <= opened; ++i) {  // back-off, a redirect's wait
        env.now += 1000;
        client.tick();
        while (closes_seen < env.closed.size()) client.on_close(env.closed[closes_seen++], OTD_NET_CLOSED_BY_PLUGIN, "");
      }
      if (env.connects.size() > opened) open_next();
    }
    env.now += 600000;
    client.tick();
    client.stop();
  }
}
}  // namespace

TEST(Hostile, TheStratumServerFuzzCorpusAsPoolLines) {
  // The corpus of malformed and odd lines the stratum-server fuzz target starts from (a miner's lines,
  // which a pool never sends, and that is the point): every file, line by line.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(STRATUM_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> lines;
    std::string line;
    std::istringstream split(text.str());
    while (std::getline(split, line)) lines.push_back(line);
    feed_everywhere(lines);
    ++files;
  }
  EXPECT_GT(files, 10u);
}

TEST(Hostile, MutatedPoolLines) {
  // Valid pool lines with random bytes flipped, cut or repeated (a fixed seed: reproducible).
  const std::vector<std::string> seeds = {
      notify_line("vector-1", true),
      R"({"id":2,"result":[[["mining.notify","ae68"]],"01000000",4],"error":null})",
      R"({"id":null,"method":"mining.set_difficulty","params":[512]})",
      R"({"id":null,"method":"mining.set_extranonce","params":["aabbccdd",4]})",
      R"({"id":null,"method":"client.reconnect","params":["h",3333,1]})",
      R"({"id":4,"result":null,"error":[23,"Low difficulty share",null]})",
      R"({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})",
  };
  std::mt19937 rng(20261121);
  std::vector<std::string> lines;
  for (int i = 0; i < 4000; ++i) {
    std::string l = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !l.empty(); ++e) {
      const size_t at = rng() % l.size();
      switch (rng() % 4) {
        case 0: l[at] = static_cast<char>(rng() % 256); break;
        case 1: l.erase(at, 1 + rng() % 8); break;
        case 2: l.insert(at, l.substr(at, 1 + rng() % 16)); break;
        case 3: l.resize(at); break;
      }
    }
    lines.push_back(l);
  }
  feed_everywhere(lines);
}

TEST(Hostile, MutatedEthereumAndKawpowPoolLines) {
  // The Ethereum dialects' lines with random bytes flipped, cut or repeated, fed to an authorized connection
  // (a fixed seed: reproducible); shares are offered after each line. Nothing may crash, every posted
  // template must keep the nonce range inside the prefix's, and a clean line afterwards still works.
  for (const bool kawpow : {false, true}) {
    FakeEnv env;
    auto c = config({"a:1"});
    c.dialect = sc::Dialect::ethereum;
    c.kawpow = kawpow;
    c.algorithm = kawpow ? "kawpow" : "ethash";
    c.malformed_limit = 1u << 30;  // keep the one connection: every mutated line must reach it
    sc::Client client(c, env);
    client.start();
    const uint64_t conn = conn_at(env, 0);
    client.on_open(conn, env.connects[0].second, "p");
    client.on_line(conn, R"({"id":1,"result":[null,"a1b2"],"error":null})");
    client.on_line(conn, R"({"id":2,"result":true,"error":null})");
    const std::string notify =
        kawpow ? std::string(R"({"id":null,"method":"mining.notify","params":["2a",")") + kEthHeader + "\",\"" + kSeedEpoch1 +
                     R"(","00000000ffff0000000000000000000000000000000000000000000000000000",true,7501,"1d00ffff"]})"
               : std::string(R"({"id":null,"method":"mining.notify","params":["bf",")") + kSeedEpoch1 + "\",\"" + kEthHeader + "\",true]}";
    const std::vector<std::string> seeds = {
        notify,
        R"({"id":null,"method":"mining.set_difficulty","params":[0.5]})",
        R"({"id":null,"method":"mining.set_target","params":["0x000000007fff8000000000000000000000000000000000000000000000000000"]})",
        R"({"id":null,"method":"mining.set_extranonce","params":["c0ff"]})",
        R"({"id":9,"result":false,"error":[23,"Low difficulty share",null]})",
    };
    std::mt19937 rng(kawpow ? 7501 : 30000);
    for (int i = 0; i < 3000; ++i) {
      std::string l = seeds[rng() % seeds.size()];
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !l.empty(); ++e) {
        const size_t at = rng() % l.size();
        switch (rng() % 4) {
          case 0: l[at] = static_cast<char>(rng() % 256); break;
          case 1: l.erase(at, 1 + rng() % 8); break;
          case 2: l.insert(at, l.substr(at, 1 + rng() % 16)); break;
          case 3: l.resize(at); break;
        }
      }
      client.on_line(conn, l);
      if (!env.templates.empty()) {
        auto share = candidate(env.templates.back().job_id, {}, 0);
        share.nonce = env.templates.back().t.nonce_base + rng() % 1000;
        client.submit_share(share, verified(std::string(64, '0'), 1));
      }
    }
    const size_t before = env.templates.size();
    client.on_line(conn, notify);
    ASSERT_EQ(env.templates.size(), before + 1) << (kawpow ? "kawpow" : "ethash");
    for (const auto& t : env.templates) {
      if (t.t.nonce_space == 0) continue;
      EXPECT_EQ(t.t.nonce_base % t.t.nonce_space, 0u);
    }
  }
}
