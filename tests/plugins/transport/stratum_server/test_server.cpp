// The stratum server engine (plugins/transport/stratum-server/server.hpp), Bitcoin-family dialect, driven
// line by line without sockets: the exchanges miners have with pools (cgminer, bfgminer, cpuminer,
// ESP-Miner/BitAxe, NiceHash), byte-exact where the wire format is fixed, the mapping of the host's
// verdicts onto stratum's error codes 20-25, per-connection difficulty and jobs, bans and caps.
#include "plugin_harness.hpp"
#include "stratum_test_env.hpp"

#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <set>

namespace th = otedama::testing;
using namespace otedama::stratum;
using namespace otedama::stratum::testing;
namespace common = otedama::common;

namespace {

ServerConfig config_from(const std::string& json) {
  std::string error;
  auto cfg = parse_config(json, &error);
  EXPECT_TRUE(cfg.has_value()) << error;
  return cfg.value_or(ServerConfig{});
}

constexpr const char* kPlainPort =
    R"({"ports":[{"address":"127.0.0.1:0","algorithm":"sha256d","difficulty":512,"vardiff":{"enabled":false}}]})";

common::Uint256 target_of(double difficulty) { return *common::bitcoin_target_from_difficulty(difficulty); }
common::Uint256 target_in(const otd_candidate_t& c) {
  common::Uint256 t{};
  std::memcpy(t.data(), c.share_target, 32);
  return t;
}

/// One engine with its recording Env.
class Pool {
 public:
  explicit Pool(const std::string& json = kPlainPort, ServerOptions options = {false, 1})
      : server(config_from(json), env, options) {}

  /// Open a connection (port 0) from `peer`; true when admitted.
  bool open(uint64_t conn, const std::string& peer = "10.0.0.1:40000") {
    return server.on_open(0, conn, peer) == Server::Refusal::none;
  }
  std::vector<std::string> say(uint64_t conn, std::string_view line) {
    server.on_line(conn, line);
    return env.take(conn);
  }
  /// Subscribe and authorize `worker`; returns every line the miner got.
  std::vector<std::string> ready(uint64_t conn, const std::string& worker = "acct.rig1", const std::string& password = "x") {
    auto lines = say(conn, R"({"id":1,"method":"mining.subscribe","params":["cgminer/4.10.0"]})");
    const auto more = say(conn, R"({"id":2,"method":"mining.authorize","params":[")" + worker + R"(",")" + password + R"("]})");
    lines.insert(lines.end(), more.begin(), more.end());
    return lines;
  }
  std::string submit_line(int id, std::string_view job, std::string_view e2, std::string_view ntime, std::string_view nonce,
                          std::string_view version = "", std::string_view worker = "acct.rig1") {
    std::string line = R"({"id":)" + std::to_string(id) + R"(,"method":"mining.submit","params":[")" + std::string(worker) + R"(",")" +
                       std::string(job) + R"(",")" + std::string(e2) + R"(",")" + std::string(ntime) + R"(",")" + std::string(nonce) + "\"";
    if (!version.empty()) line += ",\"" + std::string(version) + "\"";
    return line + "]}";
  }
  /// Answer the index-th candidate posted so far with `verdict`; returns the miner's lines.
  std::vector<std::string> verdict(size_t index, otd_share_verdict_t verdict, const char* reason = "") {
    const auto& c = env.candidates.at(index).c;
    otd_share_result_t r{};
    r.struct_size = sizeof r;
    r.verdict = verdict;
    r.job_id = c.job_id;
    r.connection_id = c.connection_id;
    r.submission_id = c.submission_id;
    std::snprintf(r.reason, sizeof r.reason, "%s", reason);
    server.on_share_result(r);
    return env.take(c.connection_id);
  }

  FakeEnv env;
  Server server;
};

std::string esp_notify(const char* job_id, bool clean) {
  std::string branches;
  for (const auto& b : esp_miner::kBranches) branches += (branches.empty() ? "\"" : ",\"") + b + "\"";
  return std::string(R"({"id":null,"method":"mining.notify","params":[")") + job_id + "\",\"" + esp_miner::kPrevhash + "\",\"" +
         esp_miner::kCoinb1 + "\",\"" + esp_miner::kCoinb2 + "\",[" + branches + R"(],"20000004","1705ae3a","647025b5",)" +
         (clean ? "true" : "false") + "]}";
}

std::unique_ptr<BitcoinJob> esp_job(uint64_t id = 0x1b, bool clean = true, uint32_t ntime = esp_miner::kNtime) {
  return std::make_unique<BitcoinJob>(id, esp_miner::kPrevhash, esp_miner::kCoinb1, esp_miner::kCoinb2, esp_miner::kBranches,
                                      esp_miner::kVersion, esp_miner::kNbits, ntime, clean);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// The exchange, byte for byte

TEST(StratumServerBitcoin, SubscribeAuthorizeNotifyAreByteExact) {
  Pool pool;
  auto job = esp_job();
  pool.server.on_job(job->job);
  ASSERT_TRUE(pool.open(1));
  const auto sub = pool.say(1, R"({"id": 1, "method": "mining.subscribe", "params": ["bitaxe/BM1366/v2.0.0"]})");
  ASSERT_EQ(sub.size(), 1u);
  // extranonce1 01000000 and extranonce2_size 4 as in the ESP-Miner exchange.
  EXPECT_EQ(sub[0], R"({"id":1,"result":[[["mining.set_difficulty","1"],["mining.notify","1"]],"01000000",4],"error":null})");
  const auto auth = pool.say(1, R"({"id": 2, "method": "mining.authorize", "params": ["acct.rig1", "x"]})");
  ASSERT_EQ(auth.size(), 3u);
  EXPECT_EQ(auth[0], R"({"id":2,"result":true,"error":null})");
  EXPECT_EQ(auth[1], R"({"id":null,"method":"mining.set_difficulty","params":[512]})");  // always before the first notify
  EXPECT_EQ(auth[2], esp_notify("1b", true));
}

TEST(StratumServerBitcoin, ASubmitBecomesTheCandidateOfTheRealHeader) {
  // The miner's submit from the ESP-Miner exchange must make the host rebuild exactly the header ESP-Miner
  // hashed: checked with the sha256d plugin's own build_blob and verify.
  Pool pool;
  auto job = esp_job();
  pool.server.on_job(job->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  const auto answer = pool.say(1, pool.submit_line(4, "1b", esp_miner::kExtranonce2, "647025b5", "0a029ed1"));
  EXPECT_TRUE(answer.empty());  // the answer waits for the host's verdict
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  const auto& cand = pool.env.candidates[0];
  EXPECT_EQ(cand.c.job_id, 0x1bu);
  EXPECT_EQ(cand.c.connection_id, 1u);
  EXPECT_EQ(cand.worker, "acct.rig1");
  EXPECT_EQ(common::to_hex(cand.extranonce), std::string(esp_miner::kExtranonce1) + esp_miner::kExtranonce2);
  EXPECT_EQ(cand.c.nonce, esp_miner::kNonce);
  EXPECT_EQ(cand.c.ntime, esp_miner::kNtime);
  EXPECT_EQ(cand.c.version_bits, esp_miner::kVersion);
  EXPECT_EQ(target_in(cand.c), target_of(512));

  th::FakeHost host;
  auto r = th::create_instance(OTEDAMA_SHA256D_PLUGIN, "org.otedama.algorithm.sha256d", OTD_ALGORITHM_INTERFACE_ID, host);
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& algo = r.instance.table<otd_algorithm_t>();
  std::vector<uint8_t> blob(80);
  uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
  th::ErrorBuffer err;
  ASSERT_EQ(algo.build_blob(r.instance.plugin(), &job->tmpl, cand.extranonce.data(), static_cast<uint32_t>(cand.extranonce.size()),
                            cand.c.ntime, cand.c.version_bits, blob.data(), 80, &size, &nonce_offset, &nonce_size, err.text, sizeof err.text),
            OTD_OK)
      << err.str();
  ASSERT_EQ(size, 80u);
  ASSERT_EQ(nonce_offset, 76u);
  for (uint32_t i = 0; i < 4; ++i) blob[76 + i] = static_cast<uint8_t>(cand.c.nonce >> (8 * i));
  EXPECT_EQ(common::to_hex(blob), esp_miner::kHeader);

  otd_verify_request_t req{};
  req.struct_size = sizeof req;
  req.blob = blob.data();
  req.blob_size = 80;
  req.nonce = cand.c.nonce;
  std::memcpy(req.share_target, cand.c.share_target, 32);
  std::memcpy(req.block_target, job->tmpl.block_target, 32);
  otd_verify_result_t res{};
  res.struct_size = sizeof res;
  ASSERT_EQ(algo.verify(r.instance.plugin(), nullptr, &req, &res, err.text, sizeof err.text), OTD_OK) << err.str();
  EXPECT_EQ(res.meets_share, 1u);  // 683.5 >= 512
  EXPECT_NEAR(res.share_difficulty, esp_miner::kShareDifficulty, 1e-9);
  const auto at1024 = target_of(1024);
  std::memcpy(req.share_target, at1024.data(), 32);
  ASSERT_EQ(algo.verify(r.instance.plugin(), nullptr, &req, &res, err.text, sizeof err.text), OTD_OK);
  EXPECT_EQ(res.meets_share, 0u);  // but not 1024: the host would answer low difficulty

  const auto accepted = pool.verdict(0, OTD_SHARE_ACCEPTED);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0], R"({"id":4,"result":true,"error":null})");
  EXPECT_EQ(pool.server.counter(Counter::accepted), 1u);
}

TEST(StratumServerBitcoin, VerdictsBecomeStratumErrorCodes) {
  Pool pool;
  auto job = esp_job();
  pool.server.on_job(job->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  const struct {
    otd_share_verdict_t verdict;
    const char* reason;
    const char* answer;
    Counter counter;
  } cases[] = {
      {OTD_SHARE_ACCEPTED, "", R"({"id":10,"result":true,"error":null})", Counter::accepted},
      {OTD_SHARE_BLOCK, "", R"({"id":11,"result":true,"error":null})", Counter::blocks},
      {OTD_SHARE_LOW_DIFFICULTY, "low difficulty share", R"({"id":12,"result":null,"error":[23,"Low difficulty share",null]})",
       Counter::low_difficulty},
      {OTD_SHARE_DUPLICATE, "duplicate share", R"({"id":13,"result":null,"error":[22,"Duplicate share",null]})", Counter::duplicate},
      {OTD_SHARE_STALE, "job superseded by a new block",
       R"({"id":14,"result":null,"error":[21,"Stale share: job superseded by a new block",null]})", Counter::stale},
      {OTD_SHARE_MALFORMED, "cannot build the header: x",
       R"({"id":15,"result":null,"error":[20,"Invalid share: cannot build the header: x",null]})", Counter::invalid_params},
      {OTD_SHARE_BAD_NTIME, "", R"({"id":16,"result":null,"error":[20,"ntime out of range",null]})", Counter::bad_ntime},
      {OTD_SHARE_OVERLOADED, "", R"({"id":17,"result":null,"error":[20,"Server overloaded, share not checked",null]})",
       Counter::overloaded},
      {OTD_SHARE_INTERNAL_ERROR, "share could not be stored",
       R"({"id":18,"result":null,"error":[20,"Internal error: share could not be stored",null]})", Counter::internal_error},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    char nonce[9];
    std::snprintf(nonce, sizeof nonce, "%08zx", i);
    EXPECT_TRUE(pool.say(1, pool.submit_line(static_cast<int>(10 + i), "1b", "00000000", "647025b5", nonce)).empty());
    const auto answer = pool.verdict(i, cases[i].verdict, cases[i].reason);
    ASSERT_EQ(answer.size(), 1u) << i;
    EXPECT_EQ(answer[0], cases[i].answer);
    EXPECT_EQ(pool.server.counter(cases[i].counter), 1u) << counter_name(cases[i].counter);
  }
  // A verdict for a submission already answered, or for a connection gone, is dropped quietly.
  EXPECT_TRUE(pool.verdict(0, OTD_SHARE_ACCEPTED).empty());
  pool.server.on_close(1);
  EXPECT_TRUE(pool.verdict(1, OTD_SHARE_ACCEPTED).empty());
}

TEST(StratumServerBitcoin, SubmitsRefusedBeforeTheHostSeesThem) {
  Pool pool;
  auto job = esp_job();
  pool.server.on_job(job->job);
  ASSERT_TRUE(pool.open(1));
  EXPECT_EQ(pool.say(1, pool.submit_line(3, "1b", "00000000", "647025b5", "0a029ed1"))[0],
            R"({"id":3,"result":null,"error":[25,"Not subscribed",null]})");
  pool.ready(1);
  const struct {
    std::string line;
    const char* answer;
  } cases[] = {
      {pool.submit_line(5, "1b", "00000000", "647025b5", "0a029ed1", "", "other.rig"),
       R"({"id":5,"result":null,"error":[24,"Unauthorized worker",null]})"},
      {pool.submit_line(6, "99", "00000000", "647025b5", "0a029ed1"), R"({"id":6,"result":null,"error":[21,"Job not found",null]})"},
      {pool.submit_line(7, "zz", "00000000", "647025b5", "0a029ed1"), R"({"id":7,"result":null,"error":[21,"Job not found",null]})"},
      {pool.submit_line(8, "1b", "000000", "647025b5", "0a029ed1"),
       R"({"id":8,"result":null,"error":[20,"extranonce2 must be 8 hex digits",null]})"},
      {pool.submit_line(9, "1b", "0000000g", "647025b5", "0a029ed1"), R"({"id":9,"result":null,"error":[20,"extranonce2 is not hex",null]})"},
      {pool.submit_line(10, "1b", "00000000", "647025b", "0a029ed1"),
       R"({"id":10,"result":null,"error":[20,"ntime must be 8 hex digits",null]})"},
      {pool.submit_line(11, "1b", "00000000", "647025b4", "0a029ed1"), R"({"id":11,"result":null,"error":[20,"ntime out of range",null]})"},
      {pool.submit_line(12, "1b", "00000000", "647041d6", "0a029ed1"), R"({"id":12,"result":null,"error":[20,"ntime out of range",null]})"},
      {pool.submit_line(13, "1b", "00000000", "647025b5", "0a029ed"), R"({"id":13,"result":null,"error":[20,"nonce must be 8 hex digits",null]})"},
      {pool.submit_line(14, "1b", "00000000", "647025b5", "0a029ed1", "00002000"),
       R"({"id":14,"result":null,"error":[20,"version_bits 00002000 outside the negotiated mask 00000000",null]})"},
      {R"({"id":15,"method":"mining.submit","params":["acct.rig1","1b","00000000","647025b5"]})",
       R"({"id":15,"result":null,"error":[20,"mining.submit takes 5 or 6 params: worker, job_id, extranonce2, ntime, nonce[, version_bits]",null]})"},
      {R"({"id":16,"method":"mining.submit","params":["acct.rig1","1b","00000000","647025b5",42]})",
       R"({"id":16,"result":null,"error":[20,"nonce must be 8 hex digits",null]})"},
      {R"({"id":17,"method":"mining.submit","params":{"worker":"acct.rig1"}})",
       R"({"id":17,"result":null,"error":[20,"mining.submit takes 5 or 6 params: worker, job_id, extranonce2, ntime, nonce[, version_bits]",null]})"},
  };
  for (const auto& c : cases) {
    const auto answer = pool.say(1, c.line);
    ASSERT_EQ(answer.size(), 1u) << c.line;
    EXPECT_EQ(answer[0], c.answer) << c.line;
  }
  // ntime 0x647025b5 + 7200 is still in range.
  EXPECT_TRUE(pool.say(1, pool.submit_line(18, "1b", "00000000", "647041d5", "0a029ed1")).empty());
  EXPECT_EQ(pool.env.candidates.size(), 1u);
  EXPECT_EQ(pool.server.counter(Counter::not_subscribed), 1u);
  EXPECT_EQ(pool.server.counter(Counter::unauthorized), 1u);
  EXPECT_EQ(pool.server.counter(Counter::stale), 2u);
  EXPECT_EQ(pool.server.counter(Counter::bad_ntime), 2u);
  EXPECT_EQ(pool.server.counter(Counter::invalid_params), 8u);
  EXPECT_FALSE(pool.env.was_closed(1));
}

TEST(StratumServerBitcoin, ANewBlockMakesOlderJobsStaleAndAnUpdateDoesNot) {
  Pool pool;
  auto first = esp_job(0x1b);
  pool.server.on_job(first->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  auto update = esp_job(0x1c, /*clean=*/false);
  pool.server.on_job(update->job);
  EXPECT_EQ(pool.env.take(1), std::vector<std::string>{esp_notify("1c", false)});
  EXPECT_TRUE(pool.say(1, pool.submit_line(3, "1b", "00000000", "647025b5", "00000001")).empty());  // still valid
  auto block = esp_job(0x1d, /*clean=*/true);
  pool.server.on_job(block->job);
  EXPECT_EQ(pool.env.take(1), std::vector<std::string>{esp_notify("1d", true)});
  for (const char* old : {"1b", "1c"})
    EXPECT_EQ(pool.say(1, pool.submit_line(4, old, "00000000", "647025b5", "00000002"))[0],
              R"({"id":4,"result":null,"error":[21,"Stale job: a new block arrived",null]})");
  EXPECT_TRUE(pool.say(1, pool.submit_line(5, "1d", "00000000", "647025b5", "00000002")).empty());
  // A job arriving late (an id below the current one) is not broadcast.
  auto late = esp_job(0x1a, false);
  pool.server.on_job(late->job);
  EXPECT_TRUE(pool.env.take(1).empty());
}

TEST(StratumServerBitcoin, BroadcastSendsOneSharedNotifyLine) {
  Pool pool;
  for (uint64_t c = 1; c <= 5; ++c) {
    ASSERT_TRUE(pool.open(c, "10.0.0." + std::to_string(c) + ":4000"));
    pool.ready(c);
  }
  ASSERT_TRUE(pool.open(6));  // subscribed only: gets no jobs
  pool.say(6, R"({"id":1,"method":"mining.subscribe","params":[]})");
  auto job = esp_job();
  pool.server.on_job(job->job);
  EXPECT_EQ(pool.env.send_many_calls, 1u);
  EXPECT_EQ(pool.env.send_many_sizes.back(), 5u);
  for (uint64_t c = 1; c <= 5; ++c) EXPECT_EQ(pool.env.take(c), std::vector<std::string>{esp_notify("1b", true)});
  EXPECT_TRUE(pool.env.take(6).empty());
  // Jobs of another algorithm are not for this port.
  auto scrypt = esp_job(0x30);
  scrypt->algorithm = "scrypt";
  scrypt->tmpl.algorithm = scrypt->algorithm.c_str();
  pool.server.on_job(scrypt->job);
  EXPECT_EQ(pool.env.send_many_calls, 1u);
}

TEST(StratumServerBitcoin, Extranonce1IsUniquePerConnectionAndMarked) {
  Pool pool(kPlainPort, ServerOptions{});  // production options: marker on
  std::set<std::string> seen;
  for (uint64_t c = 1; c <= 300; ++c) {
    ASSERT_TRUE(pool.open(c, "10.0.1." + std::to_string(c % 200) + ":1"));
    const auto sub = pool.say(c, R"({"id":1,"method":"mining.subscribe","params":[]})");
    ASSERT_EQ(sub.size(), 1u);
    const size_t at = sub[0].find("]],\"") + 4;
    const std::string e1 = sub[0].substr(at, 8);
    EXPECT_TRUE(seen.insert(e1).second) << e1;
    // The last byte's top bit is set: disjoint from the host's local-device extranonces.
    EXPECT_GE(std::stoul(e1.substr(6, 2), nullptr, 16), 0x80u) << e1;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Difficulty

TEST(StratumServerBitcoin, ADifficultyChangeNeverRejectsWorkInFlight) {
  Pool pool;
  auto j1 = esp_job(0x1b);
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  // Raised: set_difficulty goes out at once; job 1b is still judged at 512, the next job at 1024.
  auto lines = pool.say(1, R"({"id":3,"method":"mining.suggest_difficulty","params":[1024]})");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], R"({"id":3,"result":true,"error":null})");
  EXPECT_EQ(lines[1], R"({"id":null,"method":"mining.set_difficulty","params":[1024]})");
  auto j2 = esp_job(0x1c, false);
  pool.server.on_job(j2->job);
  pool.env.take(1);
  pool.say(1, pool.submit_line(4, "1b", "00000000", "647025b5", "00000001"));
  pool.say(1, pool.submit_line(5, "1c", "00000000", "647025b5", "00000001"));
  ASSERT_EQ(pool.env.candidates.size(), 2u);
  EXPECT_EQ(target_in(pool.env.candidates[0].c), target_of(512));
  EXPECT_EQ(target_in(pool.env.candidates[1].c), target_of(1024));
  // Lowered: the miner may apply it to the job it is on, so that job is judged at the lower one too.
  lines = pool.say(1, R"({"id":6,"method":"mining.suggest_difficulty","params":[256]})");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], R"({"id":null,"method":"mining.set_difficulty","params":[256]})");
  pool.say(1, pool.submit_line(7, "1c", "00000000", "647025b5", "00000002"));
  pool.say(1, pool.submit_line(8, "1b", "00000000", "647025b5", "00000002"));
  EXPECT_EQ(target_in(pool.env.candidates[2].c), target_of(256));
  EXPECT_EQ(target_in(pool.env.candidates[3].c), target_of(256));
}

TEST(StratumServerBitcoin, SetDifficultyAlwaysPrecedesTheNotifyItAppliesTo) {
  Pool pool(R"({"ports":[{"address":":0","algorithm":"sha256d","difficulty":1,
      "vardiff":{"enabled":true,"min":1,"target":"10s","retarget":"60s","window_shares":4,"max_step":4}}]})");
  auto j1 = esp_job(0x1b);
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  // Four accepted shares within a second: far too fast, the difficulty climbs by the largest step.
  for (int i = 0; i < 4; ++i) {
    char nonce[9];
    std::snprintf(nonce, sizeof nonce, "%08x", i);
    pool.say(1, pool.submit_line(10 + i, "1b", "00000000", "647025b5", nonce));
    pool.env.advance(100);
  }
  std::vector<std::string> seen;
  for (size_t i = 0; i < 4; ++i) {
    const auto lines = pool.verdict(i, OTD_SHARE_ACCEPTED);
    seen.insert(seen.end(), lines.begin(), lines.end());
  }
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[3], R"({"id":13,"result":true,"error":null})");
  EXPECT_EQ(seen[4], R"({"id":null,"method":"mining.set_difficulty","params":[4]})");  // after the answer
  auto j2 = esp_job(0x1c, false);
  pool.server.on_job(j2->job);
  EXPECT_EQ(pool.env.take(1), std::vector<std::string>{esp_notify("1c", false)});
  EXPECT_EQ(*pool.server.difficulty_of(1), 4.0);
  EXPECT_EQ(pool.server.counter(Counter::difficulty_changes), 1u);
}

TEST(StratumServerBitcoin, VardiffLowersTheDifficultyOfASilentMinerOnTheTimer) {
  Pool pool(R"({"ports":[{"address":":0","algorithm":"sha256d","difficulty":1024,
      "vardiff":{"min":16,"target":"10s","retarget":"30s","max_step":4}}]})");
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  pool.server.tick();
  EXPECT_TRUE(pool.env.take(1).empty());
  pool.env.advance(30000);
  pool.server.tick();
  EXPECT_EQ(pool.env.take(1), std::vector<std::string>{R"({"id":null,"method":"mining.set_difficulty","params":[341]})"});
  for (int i = 0; i < 5; ++i) {
    pool.env.advance(30000);
    pool.server.tick();
  }
  EXPECT_EQ(*pool.server.difficulty_of(1), 16.0);  // never below vardiff.min
}

TEST(StratumServerBitcoin, PasswordDifficultyIsFixedAndClamped) {
  Pool pool(R"({"ports":[{"address":":0","algorithm":"sha256d","difficulty":64,"vardiff":{"min":8,"max":4096,"window_shares":1}}]})");
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  auto lines = pool.ready(1, "acct.rig1", "x,d=2048");
  EXPECT_EQ(lines[2], R"({"id":null,"method":"mining.set_difficulty","params":[2048]})");
  pool.say(1, pool.submit_line(3, "1b", "00000000", "647025b5", "00000001"));
  EXPECT_EQ(pool.verdict(0, OTD_SHARE_ACCEPTED).size(), 1u);  // no vardiff retarget although window_shares is 1
  ASSERT_TRUE(pool.open(2, "10.0.0.2:1"));
  lines = pool.ready(2, "acct.rig2", "d=1000000");
  EXPECT_EQ(lines[2], R"({"id":null,"method":"mining.set_difficulty","params":[4096]})");  // vardiff.max
  ASSERT_TRUE(pool.open(3, "10.0.0.3:1"));
  lines = pool.ready(3, "acct.rig3", "d=0.5");
  EXPECT_EQ(lines[2], R"({"id":null,"method":"mining.set_difficulty","params":[8]})");  // vardiff.min
  ASSERT_TRUE(pool.open(4, "10.0.0.4:1"));
  pool.say(4, R"({"id":1,"method":"mining.subscribe","params":[]})");
  EXPECT_EQ(pool.say(4, R"({"id":2,"method":"mining.authorize","params":["acct.rig4","d=abc"]})")[0],
            R"({"id":2,"result":null,"error":[24,"Unauthorized worker: the password's d= is not a number > 0",null]})");
}

// A port with address_network: the account (before the first '.') must be a payout address of that network,
// else mining.authorize is refused with the reason. Addresses: BIP 173's test vectors (P2WPKH
// bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 on main, tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx on testnet).
TEST(StratumServerBitcoin, AuthorizeRefusesAccountsThatAreNotPayoutAddressesOfThePortsNetwork) {
  Pool pool(R"({"ports":[{"address":":0","algorithm":"sha256d","address_network":"bitcoin-main"}]})");
  auto job = esp_job();
  pool.server.on_job(job->job);
  ASSERT_TRUE(pool.open(1));
  auto lines = pool.ready(1, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.rig1");
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[1], R"({"id":2,"result":true,"error":null})");
  ASSERT_TRUE(pool.open(2, "10.0.0.2:1"));
  lines = pool.ready(2, "acct.rig1");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(R"("error":[24,"Unauthorized worker: 'acct' is not a bitcoin-main payout address ()"), std::string::npos) << lines[1];
  ASSERT_TRUE(pool.open(3, "10.0.0.3:1"));
  lines = pool.ready(3, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("is not a bitcoin-main payout address"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("wrong network"), std::string::npos) << lines[1];
  // Without address_network any account name is taken (the default).
  Pool open_pool;
  open_pool.server.on_job(job->job);
  ASSERT_TRUE(open_pool.open(1));
  EXPECT_EQ(open_pool.ready(1, "acct.rig1")[1], R"({"id":2,"result":true,"error":null})");
}

// ---------------------------------------------------------------------------------------------------------
// Extensions

TEST(StratumServerBitcoin, ConfigureNegotiatesVersionRollingAndMinimumDifficulty) {
  Pool pool;
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  // The request exactly as BIP310 gives it (bitcoin/bips bip-0310.mediawiki, "Request example").
  const auto lines = pool.say(1, R"({"method": "mining.configure","id": 1,"params": [["minimum-difficulty", "version-rolling"],{"minimum-difficulty.value": 2048, "version-rolling.mask": "1fffe000", "version-rolling.min-bit-count": 2}]})");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            R"({"id":1,"result":{"minimum-difficulty":true,"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
  const auto rest = pool.ready(1);
  EXPECT_EQ(rest[2], R"({"id":null,"method":"mining.set_difficulty","params":[2048]})");  // the miner's floor
  // Rolled bits inside the mask: the candidate carries the block version with them.
  pool.say(1, pool.submit_line(5, "1b", "00000000", "647025b5", "0a029ed1", "1fffe000"));
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  EXPECT_EQ(pool.env.candidates[0].c.version_bits, 0x3fffe004u);
  // A miner asking for bits the pool does not allow gets only the intersection; none at all is false.
  ASSERT_TRUE(pool.open(2, "10.0.0.2:1"));
  EXPECT_EQ(pool.say(2, R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]})")[0],
            R"({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
  EXPECT_EQ(pool.say(2, R"({"id":2,"method":"mining.configure","params":[["version-rolling","x-other"],{"version-rolling.mask":"00001fff"}]})")[0],
            R"({"id":2,"result":{"version-rolling":false,"x-other":false},"error":null})");
  EXPECT_EQ(pool.say(2, R"({"id":3,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"xyz"}]})")[0],
            R"({"id":3,"result":null,"error":[20,"version-rolling.mask must be 8 hex digits",null]})");
}

TEST(StratumServerBitcoin, VersionRollingMatchesEspMinerIncrementBitmask) {
  // ESP-Miner test_mining.c "Validate version mask incrementing": increment_bitmask(0x20000004, mask
  // 0x00ffff00) gives 0x20000104, 0x20000204 ... ESP-Miner submits the rolled version XOR the job's.
  Pool pool(R"({"version_rolling_mask":"00ffff00","ports":[{"address":":0","algorithm":"sha256d","difficulty":512,"vardiff":{"enabled":false}}]})");
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  pool.say(1, R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"00ffff00","version-rolling.min-bit-count":16}]})");
  pool.ready(1);
  for (uint32_t rolled : {0x20000104u, 0x20000204u, 0x20000304u, 0x20000404u}) {
    char bits[9];
    std::snprintf(bits, sizeof bits, "%08x", rolled ^ esp_miner::kVersion);
    pool.say(1, pool.submit_line(9, "1b", "00000000", "647025b5", "0a029ed1", bits));
    ASSERT_FALSE(pool.env.candidates.empty());
    EXPECT_EQ(pool.env.candidates.back().c.version_bits, rolled);
  }
}

TEST(StratumServerBitcoin, ExtranonceSubscribersLearnANewSizeOthersReconnect) {
  Pool pool;
  ASSERT_TRUE(pool.open(1));
  ASSERT_TRUE(pool.open(2, "10.0.0.2:1"));
  EXPECT_EQ(pool.say(1, R"({"id":9,"method":"mining.extranonce.subscribe","params":[]})")[0], R"({"id":9,"result":true,"error":null})");
  pool.ready(1);
  pool.ready(2);
  // The source's templates carry 12 extranonce bytes instead of the 8 announced at subscribe.
  auto wide = std::make_unique<BitcoinJob>(0x40, esp_miner::kPrevhash, esp_miner::kCoinb1, esp_miner::kCoinb2, esp_miner::kBranches,
                                           esp_miner::kVersion, esp_miner::kNbits, esp_miner::kNtime, true, 12);
  pool.server.on_job(wide->job);
  const auto one = pool.env.take(1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0], R"({"id":null,"method":"mining.set_extranonce","params":["01000000",8]})");
  EXPECT_NE(one[1].find("\"mining.notify\""), std::string::npos);
  EXPECT_EQ(pool.env.take(2), std::vector<std::string>{R"({"id":null,"method":"client.reconnect","params":[]})"});
  EXPECT_TRUE(pool.env.was_closed(2));
  EXPECT_FALSE(pool.env.was_closed(1));
  pool.say(1, pool.submit_line(3, "40", "0000000000000000", "647025b5", "00000001"));
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  EXPECT_EQ(pool.env.candidates[0].extranonce.size(), 12u);
}

TEST(StratumServerBitcoin, ReconnectIsSentOnRequest) {
  Pool pool;
  ASSERT_TRUE(pool.open(1));
  ASSERT_TRUE(pool.open(2, "10.0.0.2:1"));
  EXPECT_EQ(pool.server.reconnect(std::nullopt, "pool2.example", 3334, 5), 2u);
  EXPECT_EQ(pool.env.take(1), std::vector<std::string>{R"({"id":null,"method":"client.reconnect","params":["pool2.example",3334,5]})"});
  EXPECT_EQ(pool.server.reconnect(2, "", 0, 0), 1u);
  EXPECT_EQ(pool.env.take(2).back(), R"({"id":null,"method":"client.reconnect","params":[]})");
}

// ---------------------------------------------------------------------------------------------------------
// Hostile or broken peers

TEST(StratumServerBitcoin, MalformedLinesAreAnsweredThenTheConnectionIsClosed) {
  Pool pool(R"({"malformed_limit":3,"ports":[{"address":":0","algorithm":"sha256d"}]})");
  ASSERT_TRUE(pool.open(1));
  EXPECT_EQ(pool.say(1, "GET / HTTP/1.1")[0],
            R"({"id":null,"result":null,"error":[20,"Malformed request: invalid JSON at offset 0: unexpected character 'G', expected a value",null]})");
  EXPECT_EQ(pool.say(1, R"({"id":5,"method":7})")[0],
            R"({"id":5,"result":null,"error":[20,"Malformed request: \"method\" must be a string without escapes",null]})");
  // A well-formed request takes a strike back; blank lines and responses are ignored.
  EXPECT_EQ(pool.say(1, R"({"id":6,"method":"mining.subscribe","params":[]})").size(), 1u);
  EXPECT_TRUE(pool.say(1, "").empty());
  EXPECT_TRUE(pool.say(1, R"({"id":3,"result":true,"error":null})").empty());
  EXPECT_TRUE(pool.say(1, R"({"id":null,"method":"mining.something","params":[]})").empty());  // unknown notification
  EXPECT_EQ(pool.say(1, R"({"id":8,"method":"mining.get_transactions","params":[]})")[0],
            R"({"id":8,"result":null,"error":[20,"Unknown method mining.get_transactions",null]})");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.say(1, "}{").size(), 1u);
    EXPECT_FALSE(pool.env.was_closed(1)) << i;
  }
  EXPECT_EQ(pool.say(1, "}{").size(), 1u);  // a fourth strike, past the limit of 3: answered, then closed
  EXPECT_TRUE(pool.env.was_closed(1));
  EXPECT_TRUE(pool.say(1, R"({"id":9,"method":"mining.subscribe","params":[]})").empty());  // closing: ignored
  EXPECT_EQ(pool.server.counter(Counter::malformed_lines), 6u);
  EXPECT_EQ(pool.server.counter(Counter::closed_malformed), 1u);
  EXPECT_EQ(pool.server.counter(Counter::unknown_methods), 2u);
}

TEST(StratumServerBitcoin, ConnectionCapsAreEnforcedInOnOpen) {
  Pool pool(R"({"max_connections":3,"per_ip_limit":2,"ports":[{"address":":0","algorithm":"sha256d"}]})");
  EXPECT_EQ(pool.server.on_open(0, 1, "10.0.0.1:1"), Server::Refusal::none);
  EXPECT_EQ(pool.server.on_open(0, 2, "10.0.0.1:2"), Server::Refusal::none);
  EXPECT_EQ(pool.server.on_open(0, 3, "10.0.0.1:3"), Server::Refusal::per_ip_limit);
  pool.server.on_close(3);  // the net service reports the refused one closed too: no effect
  EXPECT_EQ(pool.server.on_open(0, 4, "[::1]:4"), Server::Refusal::none);
  EXPECT_EQ(pool.server.on_open(0, 5, "10.0.0.9:5"), Server::Refusal::max_connections);
  EXPECT_EQ(pool.server.connections(), 3u);
  pool.server.on_close(1);
  EXPECT_EQ(pool.server.on_open(0, 6, "10.0.0.1:6"), Server::Refusal::none);
  EXPECT_EQ(pool.server.ip_guard().connections("10.0.0.1"), 2u);
  EXPECT_EQ(pool.server.ip_guard().connections("::1"), 1u);
  EXPECT_EQ(pool.server.counter(Counter::refused_per_ip), 1u);
  EXPECT_EQ(pool.server.counter(Counter::refused_max_connections), 1u);
}

TEST(StratumServerBitcoin, AHighInvalidRatioBansTheAddressForAWhile) {
  Pool pool(R"({"ban":{"check_threshold":10,"invalid_percent":50,"duration":"60s"},
      "ports":[{"address":":0","algorithm":"sha256d","difficulty":512,"vardiff":{"enabled":false}}]})");
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1, "192.0.2.7:1000"));
  pool.ready(1);
  // 4 accepted, then low-difficulty shares until 10 were judged: 6 of 10 invalid >= 50%.
  for (int i = 0; i < 10; ++i) {
    char nonce[9];
    std::snprintf(nonce, sizeof nonce, "%08x", i);
    pool.say(1, pool.submit_line(20 + i, "1b", "00000000", "647025b5", nonce));
  }
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_FALSE(pool.env.was_closed(1)) << i;
    pool.verdict(i, i < 4 ? OTD_SHARE_ACCEPTED : OTD_SHARE_LOW_DIFFICULTY);
  }
  EXPECT_TRUE(pool.env.was_closed(1));
  EXPECT_EQ(pool.server.counter(Counter::bans), 1u);
  EXPECT_TRUE(pool.env.logged("banned 192.0.2.7 for 60 s: 6 of its last 10 shares were invalid"));
  pool.server.on_close(1);
  EXPECT_EQ(pool.server.on_open(0, 2, "192.0.2.7:1001"), Server::Refusal::banned);
  EXPECT_EQ(pool.server.on_open(0, 3, "192.0.2.8:1001"), Server::Refusal::none);
  pool.env.advance(60001);
  pool.server.tick();
  EXPECT_EQ(pool.server.on_open(0, 4, "192.0.2.7:1002"), Server::Refusal::none);
}

TEST(StratumServerBitcoin, ABelowThresholdRatioIsForgivenAtEachJudgement) {
  Pool pool(R"({"ban":{"check_threshold":4,"invalid_percent":60},"ports":[{"address":":0","algorithm":"sha256d","vardiff":{"enabled":false}}]})");
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  for (int i = 0; i < 8; ++i) {
    char nonce[9];
    std::snprintf(nonce, sizeof nonce, "%08x", i);
    pool.say(1, pool.submit_line(20 + i, "1b", "00000000", "647025b5", nonce));
  }
  // Judged after 4 valid-or-invalid shares: 2 of 4 invalid (50% < 60%) is forgiven and the count starts
  // over. Stale shares are not held against a miner at all.
  for (size_t i = 0; i < 8; ++i) pool.verdict(i, i % 4 == 0 ? OTD_SHARE_DUPLICATE : (i % 4 == 1 ? OTD_SHARE_STALE : OTD_SHARE_ACCEPTED));
  EXPECT_FALSE(pool.env.was_closed(1));
  EXPECT_EQ(pool.server.counter(Counter::bans), 0u);
}

TEST(StratumServerBitcoin, AFullVerificationQueueAnswersOverloaded) {
  Pool pool(R"({"max_pending":2,"ports":[{"address":":0","algorithm":"sha256d","vardiff":{"enabled":false}}]})");
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  pool.env.submit_status = OTD_ERR_BUSY;
  EXPECT_EQ(pool.say(1, pool.submit_line(3, "1b", "00000000", "647025b5", "00000001"))[0],
            R"({"id":3,"result":null,"error":[20,"Server overloaded, share not checked",null]})");
  pool.env.submit_status = OTD_OK;
  EXPECT_TRUE(pool.say(1, pool.submit_line(4, "1b", "00000000", "647025b5", "00000001")).empty());
  EXPECT_TRUE(pool.say(1, pool.submit_line(5, "1b", "00000000", "647025b5", "00000002")).empty());
  EXPECT_EQ(pool.say(1, pool.submit_line(6, "1b", "00000000", "647025b5", "00000003"))[0],
            R"({"id":6,"result":null,"error":[20,"Too many shares awaiting verification",null]})");
  EXPECT_EQ(pool.verdict(0, OTD_SHARE_ACCEPTED)[0], R"({"id":4,"result":true,"error":null})");
  EXPECT_TRUE(pool.say(1, pool.submit_line(7, "1b", "00000000", "647025b5", "00000003")).empty());
  EXPECT_EQ(pool.server.counter(Counter::overloaded), 2u);
}

TEST(StratumServerBitcoin, StringIdsAndWorkersWithEscapesWork) {
  Pool pool;
  auto j1 = esp_job();
  pool.server.on_job(j1->job);
  ASSERT_TRUE(pool.open(1));
  EXPECT_EQ(pool.say(1, R"({"id":"s-1","method":"mining.subscribe"})")[0].rfind(R"({"id":"s-1","result":[[)", 0), 0u);
  EXPECT_EQ(pool.say(1, R"({"id":"a\u0031","method":"mining.authorize","params":["acct\u002erig1"]})")[0],
            R"({"id":"a\u0031","result":true,"error":null})");
  pool.env.take(1);
  pool.say(1, R"({"id":"x","method":"mining.submit","params":["acct.rig1","1b","00000000","647025b5","0a029ed1"]})");
  EXPECT_EQ(pool.verdict(0, OTD_SHARE_ACCEPTED)[0], R"({"id":"x","result":true,"error":null})");
  for (const char* bad : {R"(["acct rig"])", R"([".rig"])", R"([""])", R"([5])"}) {
    const auto a = pool.say(1, std::string(R"({"id":3,"method":"mining.authorize","params":)") + bad + "}");
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].rfind(R"({"id":3,"result":null,"error":[24,)", 0), 0u) << a[0];
  }
}

TEST(StratumServerBitcoin, ScryptPortsSpeakLitecoinPoolDifficulty) {
  // cpuminer (stratum_gen_work, ALGO_SCRYPT): diff_to_target(target, difficulty / 65536.0).
  Pool pool(R"({"ports":[{"address":":0","algorithm":"scrypt","difficulty":1,"vardiff":{"enabled":false}}]})");
  auto j1 = esp_job();
  j1->algorithm = "scrypt";
  j1->tmpl.algorithm = j1->algorithm.c_str();
  const auto host_target = *common::bitcoin_target_from_difficulty(1.0 / 65536);
  std::memcpy(j1->job.share_target, host_target.data(), 32);
  j1->job.share_difficulty = 1.0;  // what the scrypt plugin reports for that target
  pool.server.on_job(j1->job);
  EXPECT_FALSE(pool.env.logged("judged in other units"));
  ASSERT_TRUE(pool.open(1));
  pool.ready(1);
  pool.say(1, pool.submit_line(3, "1b", "00000000", "647025b5", "00000001"));
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  EXPECT_EQ(common::to_display_hex(target_in(pool.env.candidates[0].c)),
            "0000ffff00000000000000000000000000000000000000000000000000000000");
}

TEST(StratumServerBitcoin, AUnitDisagreementWithTheAlgorithmPluginIsLoggedOnce) {
  Pool pool;
  auto j1 = esp_job();
  j1->job.share_difficulty = 3.0;  // the host's pair says target(1) is difficulty 3: not Bitcoin's unit
  pool.server.on_job(j1->job);
  auto j2 = esp_job(0x1c);
  j2->job.share_difficulty = 3.0;
  pool.server.on_job(j2->job);
  size_t n = 0;
  for (const auto& [level, m] : pool.env.logs) n += m.find("judged in other units") != std::string::npos ? 1 : 0;
  EXPECT_EQ(n, 1u);
}
