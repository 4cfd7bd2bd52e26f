// The stratum server engine's Monero dialect (xmrig): login with a job, per-connection blobs, xmrig's
// targets, submit -> candidate, keepalived, JSON-RPC 2.0 answers. The real exchange is monerod's regtest
// block at height 1 (tests/lib/monero/monero_fixtures.hpp: its template, the extra nonce and nonce that
// made the accepted block, and that block), replayed as an xmrig miner would see and answer it.
#include "monero_fixtures.hpp"
#include "stratum_test_env.hpp"

#include <otedama/common/uint256.hpp>
#include <otedama/monero/block.hpp>

#include <gtest/gtest.h>

#include <memory>

using namespace otedama::stratum;
using namespace otedama::stratum::testing;
namespace common = otedama::common;
namespace fixtures = otedama::testing::monero_fixtures;

namespace {

ServerConfig config_from(const std::string& json) {
  std::string error;
  auto cfg = parse_config(json, &error);
  EXPECT_TRUE(cfg.has_value()) << error;
  return cfg.value_or(ServerConfig{});
}

constexpr const char* kMoneroPort =
    R"({"ports":[{"address":":0","dialect":"monero","difficulty":10000,"extranonce1_size":8,"vardiff":{"enabled":false}}]})";
// extranonce1 = the extra nonce of the recorded block, f000000f00000001 (little-endian counter start).
constexpr ServerOptions kRecordedExtranonce{false, 0x010000000f0000f0ull};

/// A randomx job from a recorded monerod template.
struct MoneroJob {
  std::vector<uint8_t> blob, seed;
  otd_template_t tmpl{};
  otd_job_t job{};
  MoneroJob(uint64_t id, const fixtures::RecordedBlock& b, bool clean = true) {
    blob = unhex(b.template_blob);
    seed = unhex(b.seed_hash);
    tmpl.struct_size = sizeof tmpl;
    tmpl.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
    tmpl.coin = "XMR";
    tmpl.algorithm = "randomx";
    tmpl.source_job_id = "regtest";
    tmpl.height = b.height;
    tmpl.extranonce_size = b.reserve_size;
    tmpl.blob = blob.data();
    tmpl.blob_size = static_cast<uint32_t>(blob.size());
    tmpl.reserved_offset = b.reserved_offset;
    tmpl.nonce_offset = 39;
    tmpl.nonce_size = 4;
    tmpl.seed = seed.data();
    tmpl.seed_size = static_cast<uint32_t>(seed.size());
    job.struct_size = sizeof job;
    job.flags = tmpl.flags;
    job.job_id = id;
    job.tmpl = &tmpl;
    const auto t = *common::monero_target_from_difficulty(1);
    std::memcpy(job.share_target, t.data(), 32);
    job.share_difficulty = 1;
  }
};

class MoneroPool {
 public:
  explicit MoneroPool(const std::string& json = kMoneroPort, ServerOptions options = kRecordedExtranonce)
      : server(config_from(json), env, options) {}
  std::vector<std::string> say(uint64_t conn, std::string_view line) {
    server.on_line(conn, line);
    return env.take(conn);
  }
  std::vector<std::string> login(uint64_t conn, const std::string& login = "4Wallet", const std::string& extra = "") {
    EXPECT_EQ(server.on_open(0, conn, "10.1.0." + std::to_string(conn) + ":1"), Server::Refusal::none);
    return say(conn, R"({"id":1,"jsonrpc":"2.0","method":"login","params":{"login":")" + login +
                         R"(","pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0","cn/r","rx/wow"])" +
                         extra + "}}");
  }
  std::vector<std::string> verdict(size_t index, otd_share_verdict_t v) {
    const auto& c = env.candidates.at(index).c;
    otd_share_result_t r{};
    r.struct_size = sizeof r;
    r.verdict = v;
    r.job_id = c.job_id;
    r.connection_id = c.connection_id;
    r.submission_id = c.submission_id;
    server.on_share_result(r);
    return env.take(c.connection_id);
  }
  FakeEnv env;
  Server server;
};

/// The recorded block's hashing blob with the nonce field zero: what the miner is sent.
std::string recorded_job_blob() {
  std::string blob = fixtures::kHeight1.hashing_blob;
  blob.replace(78, 8, "00000000");
  return blob;
}

std::string field(const std::string& line, const std::string& key) {
  const size_t at = line.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 4;
  return line.substr(start, line.find('"', start) - start);
}

}  // namespace

TEST(StratumServerMonero, XmrigTargetsAreWhatXmrigReads) {
  // Difficulty 10000 -> "b88d0600", the target of the pools' and xmrig's examples; xmrig expands it to
  // (2^64 - 1) / ((2^32 - 1) / 0x00068db8).
  const MoneroTarget t = monero_target(10000);
  EXPECT_EQ(t.hex, "b88d0600");
  EXPECT_EQ(t.target64, UINT64_MAX / (0xFFFFFFFFull / 0x00068db8ull));
  // A hash whose top 64 bits are just below target64 passes; at target64 it fails, as in xmrig.
  common::Uint256 h{};
  for (size_t i = 0; i < 24; ++i) h[i] = 0xff;
  for (size_t i = 0; i < 8; ++i) h[24 + i] = static_cast<uint8_t>((t.target64 - 1) >> (8 * i));
  EXPECT_TRUE(common::meets_target(h, t.judged));
  for (size_t i = 0; i < 24; ++i) h[i] = 0;
  for (size_t i = 0; i < 8; ++i) h[24 + i] = static_cast<uint8_t>(t.target64 >> (8 * i));
  EXPECT_FALSE(common::meets_target(h, t.judged));
  // Credit stays at the difficulty asked for (the rounding of the 4-byte form is tiny).
  EXPECT_NEAR(common::monero_difficulty_from_target(t.judged), 10000, 1);
  // Difficulties of 2^32 and more need the 8-byte form.
  EXPECT_EQ(monero_target(5e9).hex.size(), 16u);
  EXPECT_EQ(monero_target(5e9).target64, UINT64_MAX / 5000000000ull);
  EXPECT_EQ(monero_target(1).hex, "ffffffff");
  EXPECT_EQ(monero_target(0.3).hex, "ffffffff");  // below 1 counts as 1
}

TEST(StratumServerMonero, LoginJobAndSubmitReplayTheRecordedBlock) {
  MoneroPool pool;
  MoneroJob job(7, fixtures::kHeight1);
  pool.server.on_job(job.job);
  const auto login = pool.login(1, "4Wallet", R"(,"rigid":"rig1")");
  ASSERT_EQ(login.size(), 1u);
  EXPECT_EQ(login[0], std::string(R"({"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"1","job":{"blob":")") + recorded_job_blob() +
                          R"(","job_id":"1","target":"b88d0600","algo":"rx/0","height":1,"seed_hash":")" + fixtures::kHeight1.seed_hash +
                          R"("},"extensions":["algo","keepalive"],"status":"OK"}})");
  // xmrig found nonce 42 (the recorded one); it reports the nonce bytes as they sit in the blob.
  EXPECT_TRUE(pool.say(1, std::string(R"({"id":2,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"1","nonce":"2a000000","result":")") +
                              fixtures::kHeight1.pow_hash + R"(","algo":"rx/0"}})")
                  .empty());
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  const auto& c = pool.env.candidates[0];
  EXPECT_EQ(c.c.job_id, 7u);
  EXPECT_EQ(c.worker, "4Wallet.rig1");
  EXPECT_EQ(common::to_hex(c.extranonce), fixtures::kHeight1.extra_nonce);
  EXPECT_EQ(c.c.nonce, 42u);
  EXPECT_EQ(c.c.ntime, 0u);
  EXPECT_EQ(c.c.version_bits, 0u);
  common::Uint256 target{};
  std::memcpy(target.data(), c.c.share_target, 32);
  EXPECT_EQ(target, monero_target(10000).judged);
  // The host rebuilds exactly the block monerod accepted from this candidate.
  std::string error;
  const auto block = otedama::monero::fill_block_template(job.blob, job.tmpl.reserved_offset, job.tmpl.extranonce_size, c.extranonce,
                                                          c.c.nonce, &error);
  ASSERT_TRUE(block) << error;
  EXPECT_EQ(common::to_hex(*block), fixtures::kHeight1.block_blob);
  EXPECT_EQ(common::to_hex(*otedama::monero::hashing_blob(*block)), fixtures::kHeight1.hashing_blob);

  EXPECT_EQ(pool.verdict(0, OTD_SHARE_BLOCK), std::vector<std::string>{R"({"id":2,"jsonrpc":"2.0","error":null,"result":{"status":"OK"}})"});
  EXPECT_EQ(pool.say(1, R"({"id":3,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"1","nonce":"2b000000","result":"00"}})"),
            std::vector<std::string>{R"({"id":3,"jsonrpc":"2.0","error":{"code":-1,"message":"result must be 64 hex digits"}})"});
  pool.say(1, R"({"id":4,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"1","nonce":"2b000000"}})");
  EXPECT_EQ(pool.verdict(1, OTD_SHARE_LOW_DIFFICULTY),
            std::vector<std::string>{R"({"id":4,"jsonrpc":"2.0","error":{"code":-1,"message":"Low difficulty share"}})"});
  EXPECT_EQ(pool.say(1, R"({"id":5,"jsonrpc":"2.0","method":"keepalived","params":{"id":"1"}})"),
            std::vector<std::string>{R"({"id":5,"jsonrpc":"2.0","error":null,"result":{"status":"KEEPALIVED"}})"});
}

TEST(StratumServerMonero, EveryConnectionMinesItsOwnBlob) {
  MoneroPool pool(kMoneroPort, ServerOptions{});
  MoneroJob first(7, fixtures::kHeight1);
  pool.server.on_job(first.job);
  const auto a = pool.login(1);
  const auto b = pool.login(2);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(field(a[0], "blob"), field(b[0], "blob"));
  EXPECT_EQ(field(a[0], "blob").size(), field(b[0], "blob").size());
  // A new block: each connection gets its own job line, with a new job id.
  MoneroJob next(8, fixtures::kHeight1, /*clean=*/true);
  next.tmpl.height = 2;
  pool.server.on_job(next.job);
  const auto ja = pool.env.take(1);
  const auto jb = pool.env.take(2);
  ASSERT_EQ(ja.size(), 1u);
  ASSERT_EQ(jb.size(), 1u);
  EXPECT_EQ(ja[0].rfind(R"({"jsonrpc":"2.0","method":"job","params":{"blob":")", 0), 0u) << ja[0];
  EXPECT_EQ(field(ja[0], "job_id"), "2");
  EXPECT_NE(ja[0].find("\"height\":2"), std::string::npos);
  EXPECT_EQ(pool.env.send_many_calls, 0u);
  // The job of the old block is stale now; unknown ids, other sessions and bad nonces are refused.
  const struct {
    std::string line;
    std::string answer;
  } cases[] = {
      {R"({"id":3,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"1","nonce":"00000001"}})",
       R"({"id":3,"jsonrpc":"2.0","error":{"code":-1,"message":"Stale job: a new block arrived"}})"},
      {R"({"id":4,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"9","nonce":"00000001"}})",
       R"({"id":4,"jsonrpc":"2.0","error":{"code":-1,"message":"Job not found"}})"},
      {R"({"id":5,"jsonrpc":"2.0","method":"submit","params":{"id":"2","job_id":"2","nonce":"00000001"}})",
       R"({"id":5,"jsonrpc":"2.0","error":{"code":-1,"message":"Unauthenticated"}})"},
      {R"({"id":6,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"2","nonce":"0001"}})",
       R"({"id":6,"jsonrpc":"2.0","error":{"code":-1,"message":"nonce must be 8 hex digits"}})"},
      {R"({"id":7,"jsonrpc":"2.0","method":"submit","params":["1","2","00000001"]})",
       R"({"id":7,"jsonrpc":"2.0","error":{"code":-1,"message":"submit takes {id, job_id, nonce, result}"}})"},
      {R"({"id":8,"jsonrpc":"2.0","method":"mining.subscribe","params":[]})",
       R"({"id":8,"jsonrpc":"2.0","error":{"code":-1,"message":"Unknown method mining.subscribe"}})"},
      {"not json", R"({"id":null,"jsonrpc":"2.0","error":{"code":-1,"message":"Malformed request: invalid JSON at offset 0: unexpected character 'n', expected a value"}})"},
  };
  for (const auto& c : cases) EXPECT_EQ(pool.say(1, c.line), std::vector<std::string>{c.answer}) << c.line;
  EXPECT_TRUE(pool.say(1, R"({"id":9,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"2","nonce":"00000001"}})").empty());
  EXPECT_EQ(pool.env.candidates.size(), 1u);
  EXPECT_EQ(pool.env.candidates[0].c.job_id, 8u);
}

TEST(StratumServerMonero, LoginRefusalsAndFixedDifficulty) {
  MoneroPool pool(R"({"ports":[{"address":":0","dialect":"monero","difficulty":10000,"vardiff":{"min":1000,"max":100000}}]})", ServerOptions{});
  ASSERT_EQ(pool.server.on_open(0, 1, "10.1.0.1:1"), Server::Refusal::none);
  EXPECT_EQ(pool.say(1, R"({"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4W","pass":"x"}})"),
            std::vector<std::string>{R"({"id":1,"jsonrpc":"2.0","error":{"code":-1,"message":"No job available yet, try again"}})"});
  EXPECT_EQ(pool.say(1, R"({"id":2,"jsonrpc":"2.0","method":"keepalived","params":{"id":"1"}})"),
            std::vector<std::string>{R"({"id":2,"jsonrpc":"2.0","error":{"code":-1,"message":"Unauthenticated"}})"});
  MoneroJob job(7, fixtures::kHeight1);
  pool.server.on_job(job.job);
  EXPECT_EQ(pool.say(1, R"({"id":3,"jsonrpc":"2.0","method":"login","params":{"login":"4W","algo":["cn/r","kawpow"]}})"),
            std::vector<std::string>{R"({"id":3,"jsonrpc":"2.0","error":{"code":-1,"message":"login: this port mines rx/0, which the miner did not offer"}})"});
  EXPECT_EQ(pool.say(1, R"({"id":4,"jsonrpc":"2.0","method":"login","params":{"pass":"x"}})"),
            std::vector<std::string>{R"({"id":4,"jsonrpc":"2.0","error":{"code":-1,"message":"login: \"login\" (the wallet address) is missing"}})"});
  EXPECT_EQ(pool.say(1, R"({"id":5,"jsonrpc":"2.0","method":"login","params":{"login":"4W+abc"}})"),
            std::vector<std::string>{R"({"id":5,"jsonrpc":"2.0","error":{"code":-1,"message":"login: the difficulty after '+' is not a number > 0"}})"});
  // "+DIFF" fixes the difficulty, clamped to vardiff.max.
  const auto ok = pool.say(1, R"({"id":6,"jsonrpc":"2.0","method":"login","params":{"login":"4W+5000000"}})");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(field(ok[0], "target"), monero_target(100000).hex);
  EXPECT_EQ(*pool.server.difficulty_of(1), 100000);
}

TEST(StratumServerMonero, ADifficultyChangeSendsANewJobWithTheNewTarget) {
  MoneroPool pool(R"({"ports":[{"address":":0","dialect":"monero","difficulty":10000,"vardiff":{"min":100,"retarget":"30s"}}]})",
                  ServerOptions{});
  MoneroJob job(7, fixtures::kHeight1);
  pool.server.on_job(job.job);
  ASSERT_EQ(pool.login(1).size(), 1u);
  pool.env.advance(30000);
  pool.server.tick();  // silent for a whole window: difficulty / 3
  const auto lines = pool.env.take(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(field(lines[0], "job_id"), "2");
  EXPECT_EQ(field(lines[0], "target"), monero_target(3333).hex);
  // Work on the first job is still judged at the easier of its two difficulties.
  pool.say(1, R"({"id":2,"jsonrpc":"2.0","method":"submit","params":{"id":"1","job_id":"1","nonce":"00000001"}})");
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  common::Uint256 target{};
  std::memcpy(target.data(), pool.env.candidates[0].c.share_target, 32);
  EXPECT_EQ(target, monero_target(3333).judged);
}
