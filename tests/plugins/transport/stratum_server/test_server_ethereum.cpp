// The stratum server engine's Ethereum dialect: EthereumStratum/1.0.0 for ethash/etchash (NiceHash's
// specification, EthereumStratum_NiceHash_v1.0.0.txt R2, section IV "Real world scenario" replayed byte for
// byte where the server's choices allow: the extranonce a2eea0, the job bf0488aa, the seed and header hashes,
// the submit of miner nonce cfae7df760 = nonce a2eea0cfae7df760 at difficulty 1), and its KawPow variant as
// kawpowminer speaks it (mining.set_target, notify [job, header, seed, target, clean, height, bits], submit
// [worker, job, 0x nonce, 0x header, 0x mix]) with Ravencoin's KawPow test vector of block 49
// (/work/shared/vectors/pow-vectors.json kawpow[1]: header 63155f73..., nonce 0000000007073c07, mix d36f7e81...).
#include "stratum_test_env.hpp"

#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

#include <cmath>

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

constexpr const char* kSeed = "abad8f99f3918bf903c6a909d9bbc0fdfa5a2f4b9cb1196175ec825c6610126c";
constexpr const char* kHeader = "fc12eb20c58158071c956316cdcd12a22dd8bf126ac4aee559f0ffe4df11f279";
constexpr const char* kEthashPort =
    R"({"ports":[{"address":":0","dialect":"ethereum","algorithm":"ethash","difficulty":1,"vardiff":{"enabled":false}}]})";

constexpr const char* kKawpowHeader = "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b";
constexpr const char* kKawpowMix = "d36f7e815ee09e74eceb9c96993a3d681edf2bf0921fc7bb710364042db99777";
constexpr const char* kZeroSeed = "0000000000000000000000000000000000000000000000000000000000000000";
constexpr const char* kKawpowPort =
    R"({"ports":[{"address":":0","dialect":"ethereum","algorithm":"kawpow","difficulty":1,"extranonce1_size":2,"vardiff":{"enabled":false}}]})";

/// An Ethereum-family job: blob = header hash, seed, height (what the devnet and a node source give).
struct EthJob {
  std::string algorithm;
  std::vector<uint8_t> header, seed;
  otd_template_t tmpl{};
  otd_job_t job{};
  EthJob(uint64_t id, std::string algo, std::string_view header_hex, std::string_view seed_hex, uint64_t height, bool clean = true)
      : algorithm(std::move(algo)) {
    header = unhex(header_hex);
    seed = unhex(seed_hex);
    tmpl.struct_size = sizeof tmpl;
    tmpl.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
    tmpl.coin = "DEV";
    tmpl.algorithm = algorithm.c_str();
    tmpl.source_job_id = "src";
    tmpl.height = height;
    tmpl.blob = header.data();
    tmpl.blob_size = 32;
    tmpl.nonce_offset = 32;
    tmpl.nonce_size = 8;
    tmpl.seed = seed.data();
    tmpl.seed_size = 32;
    tmpl.nbits = 0x1d00ffff;
    job.struct_size = sizeof job;
    job.flags = tmpl.flags;
    job.job_id = id;
    job.tmpl = &tmpl;
    if (algorithm == "kawpow") {
      const auto t = *common::bitcoin_target_from_difficulty(1);
      std::memcpy(job.share_target, t.data(), 32);
      job.share_difficulty = 1;
    } else {
      // The ethash plugin's unit: 2^256 / target. NiceHash difficulty 1 = Bitcoin's diff-1 target.
      const auto t = *common::bitcoin_target_from_difficulty(1);
      std::memcpy(job.share_target, t.data(), 32);
      job.share_difficulty = std::ldexp(1.0, 256) / common::to_double(t);
    }
  }
};

class Pool {
 public:
  Pool(const std::string& json, ServerOptions options) : server(config_from(json), env, options) {}
  std::vector<std::string> say(uint64_t conn, std::string_view line) {
    server.on_line(conn, line);
    return env.take(conn);
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

std::string conn_hex(uint64_t conn) {
  char b[17];
  std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(conn));
  return b;
}

}  // namespace

TEST(StratumServerEthereum, NiceHashRealWorldScenario) {
  // extranonce a2eea0: 3 bytes, no marker bit (the specification's value).
  Pool pool(kEthashPort, ServerOptions{false, 0xa2eea0});
  EthJob job(0xbf0488aa, "ethash", kHeader, kSeed, 100);
  pool.server.on_job(job.job);
  EXPECT_FALSE(pool.env.logged("miners would be judged in other units"));
  ASSERT_EQ(pool.server.on_open(0, 5, "10.0.0.5:1"), Server::Refusal::none);

  auto lines = pool.say(5, R"({"id":1,"method":"mining.subscribe","params":["EthereumMiner/1.0.0","EthereumStratum/1.0.0"]})");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], R"({"id":1,"result":[["mining.notify",")" + conn_hex(5) + R"(","EthereumStratum/1.0.0"],"a2eea0"],"error":null})");
  lines = pool.say(5, R"({"id":2,"method":"mining.authorize","params":["test","password"]})");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], R"({"id":2,"result":true,"error":null})");
  EXPECT_EQ(lines[1], R"({"id":null,"method":"mining.set_difficulty","params":[1]})");
  EXPECT_EQ(lines[2], std::string(R"({"id":null,"method":"mining.notify","params":["bf0488aa",")") + kSeed + R"(",")" + kHeader +
                          R"(",true]})");

  lines = pool.say(5, R"({"id":3,"method":"mining.submit","params":["test","bf0488aa","cfae7df760"]})");
  EXPECT_TRUE(lines.empty());  // answered with the host's verdict
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  const auto& c = pool.env.candidates[0];
  EXPECT_EQ(c.c.job_id, 0xbf0488aau);
  EXPECT_EQ(c.c.nonce, 0xa2eea0cfae7df760ull);  // nonce=a2eea0cfae7df760 (section IV)
  EXPECT_TRUE(c.extranonce.empty());
  EXPECT_EQ(c.c.flags & OTD_FOUND_HAS_MIX, 0u);  // ethash: the host computes the mix
  EXPECT_EQ(c.worker, "test");
  common::Uint256 target{};
  std::memcpy(target.data(), c.c.share_target, 32);
  EXPECT_EQ(common::to_display_hex(target), "00000000ffff0000000000000000000000000000000000000000000000000000");  // NiceHash III
  EXPECT_EQ(pool.verdict(0, OTD_SHARE_ACCEPTED), std::vector<std::string>{R"({"id":3,"result":true,"error":null})"});

  // The full 16-digit form (ethminer's other modes, "0x" included) is the same share; the host says duplicate.
  lines = pool.say(5, R"({"id":4,"method":"mining.submit","params":["test","bf0488aa","0xa2eea0cfae7df760"]})");
  ASSERT_EQ(pool.env.candidates.size(), 2u);
  EXPECT_EQ(pool.env.candidates[1].c.nonce, 0xa2eea0cfae7df760ull);
  EXPECT_EQ(pool.verdict(1, OTD_SHARE_DUPLICATE), std::vector<std::string>{R"({"id":4,"result":null,"error":[22,"Duplicate share",null]})"});
  pool.say(5, R"({"id":5,"method":"mining.submit","params":["test","bf0488aa","cfae7df761"]})");
  EXPECT_EQ(pool.verdict(2, OTD_SHARE_LOW_DIFFICULTY),
            std::vector<std::string>{R"({"id":5,"result":null,"error":[23,"Low difficulty share",null]})"});

  // Refusals before the host: another connection's prefix, wrong lengths, unknown job, unknown worker.
  EXPECT_EQ(pool.say(5, R"({"id":6,"method":"mining.submit","params":["test","bf0488aa","a2eea1cfae7df760"]})"),
            std::vector<std::string>{
                R"({"id":6,"result":null,"error":[20,"nonce does not start with this connection's extranonce a2eea0",null]})"});
  EXPECT_EQ(pool.say(5, R"({"id":7,"method":"mining.submit","params":["test","bf0488aa","cfae7d"]})"),
            std::vector<std::string>{
                R"x({"id":7,"result":null,"error":[20,"nonce must be 16 hex digits (or 10: the miner's part after the extranonce)",null]})x"});
  EXPECT_EQ(pool.say(5, R"({"id":8,"method":"mining.submit","params":["test","bf0488ab","cfae7df760"]})"),
            std::vector<std::string>{R"({"id":8,"result":null,"error":[21,"Job not found",null]})"});
  EXPECT_EQ(pool.say(5, R"({"id":9,"method":"mining.submit","params":["other","bf0488aa","cfae7df760"]})"),
            std::vector<std::string>{R"({"id":9,"result":null,"error":[24,"Unauthorized worker",null]})"});
  EXPECT_EQ(pool.say(5, R"({"id":10,"method":"mining.submit","params":["test","bf0488aa","cfae7df760","00","11"]})"),
            std::vector<std::string>{R"({"id":10,"result":null,"error":[20,"header must be 64 hex digits",null]})"});
  EXPECT_EQ(pool.env.candidates.size(), 3u);
  // ethminer's NiceHash mode also sends these.
  EXPECT_EQ(pool.say(5, R"({"id":11,"method":"mining.extranonce.subscribe","params":[]})"),
            std::vector<std::string>{R"({"id":11,"result":true,"error":null})"});
  EXPECT_EQ(pool.say(5, R"({"id":12,"method":"eth_submitHashrate","params":["0x1","0x2"]})"),
            std::vector<std::string>{R"({"id":12,"result":true,"error":null})"});
}

TEST(StratumServerEthereum, SubmitBeforeSubscribeAndNewJobs) {
  Pool pool(kEthashPort, ServerOptions{false, 0x010203});
  ASSERT_EQ(pool.server.on_open(0, 1, "10.0.0.1:1"), Server::Refusal::none);
  EXPECT_EQ(pool.say(1, R"({"id":1,"method":"mining.submit","params":["w","1","0102030000000000"]})"),
            std::vector<std::string>{R"({"id":1,"result":null,"error":[25,"Not subscribed",null]})"});
  pool.say(1, R"({"id":2,"method":"mining.subscribe","params":["ethminer-0.19.0","EthereumStratum/1.0.0"]})");
  auto lines = pool.say(1, R"({"id":3,"method":"mining.authorize","params":["acct.rig","x"]})");
  ASSERT_EQ(lines.size(), 2u);  // no job yet: true and the difficulty
  // Jobs are broadcast as one shared line; a clean job makes the old one stale.
  EthJob a(1, "ethash", kHeader, kSeed, 100);
  pool.server.on_job(a.job);
  EthJob b(2, "ethash", kSeed, kSeed, 101, /*clean=*/true);
  pool.server.on_job(b.job);
  lines = pool.env.take(1);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], std::string(R"({"id":null,"method":"mining.notify","params":["2",")") + kSeed + R"(",")" + kSeed + R"(",true]})");
  EXPECT_EQ(pool.say(1, R"({"id":4,"method":"mining.submit","params":["acct.rig","1","0000000001"]})"),
            std::vector<std::string>{R"({"id":4,"result":null,"error":[21,"Stale job: a new block arrived",null]})"});
  EXPECT_EQ(pool.env.send_many_calls, 2u);
  // A template with an extranonce cannot be served: the nonce prefix is the only per-miner space.
  EthJob c(3, "ethash", kHeader, kSeed, 102);
  c.tmpl.extranonce_size = 4;
  pool.server.on_job(c.job);
  EXPECT_TRUE(pool.env.take(1).empty());
  EXPECT_TRUE(pool.env.logged("extranonce bytes"));
}

TEST(StratumServerEthereum, DifficultyChangeKeepsInFlightJobsAtTheEasierOne) {
  Pool pool(kEthashPort, ServerOptions{false, 0x000001});
  EthJob a(1, "ethash", kHeader, kSeed, 100);
  pool.server.on_job(a.job);
  ASSERT_EQ(pool.server.on_open(0, 1, "10.0.0.1:1"), Server::Refusal::none);
  pool.say(1, R"({"id":1,"method":"mining.subscribe","params":["m","EthereumStratum/1.0.0"]})");
  pool.say(1, R"({"id":2,"method":"mining.authorize","params":["w","x"]})");
  // d= raises the difficulty to 4: set_difficulty at once, the next job carries it; job 1 keeps 1.
  auto lines = pool.say(1, R"({"id":3,"method":"mining.authorize","params":["w","d=4"]})");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], R"({"id":null,"method":"mining.set_difficulty","params":[4]})");  // then the answer (as the Bitcoin dialect)
  EthJob b(2, "ethash", kHeader, kSeed, 100, /*clean=*/false);
  pool.server.on_job(b.job);
  pool.say(1, R"({"id":4,"method":"mining.submit","params":["w","1","0000000000"]})");
  pool.say(1, R"({"id":5,"method":"mining.submit","params":["w","2","0000000000"]})");
  ASSERT_EQ(pool.env.candidates.size(), 2u);
  common::Uint256 t1{}, t2{};
  std::memcpy(t1.data(), pool.env.candidates[0].c.share_target, 32);
  std::memcpy(t2.data(), pool.env.candidates[1].c.share_target, 32);
  EXPECT_EQ(t1, *common::bitcoin_target_from_difficulty(1));
  EXPECT_EQ(t2, *common::bitcoin_target_from_difficulty(4));
}

TEST(StratumServerEthereum, KawpowminerExchangeWithRavencoinVector) {
  // Prefix 0000 (2 bytes, counter 0, no marker): the vector's nonce 0000000007073c07 starts with it.
  Pool pool(kKawpowPort, ServerOptions{false, 0});
  EthJob job(0x49, "kawpow", kKawpowHeader, kZeroSeed, 49);
  pool.server.on_job(job.job);
  EXPECT_FALSE(pool.env.logged("miners would be judged in other units"));
  ASSERT_EQ(pool.server.on_open(0, 9, "10.0.0.9:1"), Server::Refusal::none);
  auto lines = pool.say(9, R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4",null]})");
  EXPECT_EQ(lines, std::vector<std::string>{R"({"id":1,"result":[null,"0000"],"error":null})"});
  lines = pool.say(9, R"({"id":2,"method":"mining.authorize","params":["RWallet.rig","x"]})");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], R"({"id":2,"result":true,"error":null})");
  EXPECT_EQ(lines[1], R"({"id":null,"method":"mining.set_target","params":["00000000ffff0000000000000000000000000000000000000000000000000000"]})");
  EXPECT_EQ(lines[2], std::string(R"({"id":null,"method":"mining.notify","params":["49",")") + kKawpowHeader + R"(",")" + kZeroSeed +
                          R"(","00000000ffff0000000000000000000000000000000000000000000000000000",true,49,"1d00ffff"]})");

  const std::string submit = std::string(R"({"id":3,"method":"mining.submit","params":["RWallet.rig","49","0x0000000007073c07","0x)") +
                             kKawpowHeader + R"(","0x)" + kKawpowMix + R"("]})";
  EXPECT_TRUE(pool.say(9, submit).empty());
  ASSERT_EQ(pool.env.candidates.size(), 1u);
  const auto& c = pool.env.candidates[0];
  EXPECT_EQ(c.c.nonce, 0x07073c07u);
  EXPECT_EQ(c.c.flags & OTD_FOUND_HAS_MIX, OTD_FOUND_HAS_MIX);
  EXPECT_EQ(common::to_hex(std::span<const uint8_t>(c.c.mix, 32)), kKawpowMix);
  EXPECT_TRUE(c.extranonce.empty());
  EXPECT_EQ(pool.verdict(0, OTD_SHARE_ACCEPTED), std::vector<std::string>{R"({"id":3,"result":true,"error":null})"});

  // The header must be the job's, the nonce the full 16 digits with this connection's prefix, the mix 64 digits.
  const std::string other = "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12c";
  EXPECT_EQ(pool.say(9, R"({"id":4,"method":"mining.submit","params":["RWallet.rig","49","0x0000000007073c07","0x)" + other + R"(","0x)" +
                            kKawpowMix + R"("]})"),
            std::vector<std::string>{R"({"id":4,"result":null,"error":[20,"header is not the job's",null]})"});
  EXPECT_EQ(pool.say(9, R"({"id":5,"method":"mining.submit","params":["RWallet.rig","49","0x0100000007073c07","0x)" + std::string(kKawpowHeader) +
                            R"(","0x)" + kKawpowMix + R"("]})"),
            std::vector<std::string>{R"({"id":5,"result":null,"error":[20,"nonce does not start with this connection's extranonce 0000",null]})"});
  EXPECT_EQ(pool.say(9, R"({"id":6,"method":"mining.submit","params":["RWallet.rig","49","07073c07","0x)" + std::string(kKawpowHeader) +
                            R"(","0x)" + kKawpowMix + R"("]})"),
            std::vector<std::string>{R"({"id":6,"result":null,"error":[20,"nonce must be 16 hex digits",null]})"});
  EXPECT_EQ(pool.say(9, R"({"id":7,"method":"mining.submit","params":["RWallet.rig","49","0x0000000007073c07"]})"),
            std::vector<std::string>{R"({"id":7,"result":null,"error":[20,"mining.submit takes 5 params: worker, job_id, nonce, header, mix",null]})"});

  // A difficulty change: set_target now, the next job's notify carries the new target.
  lines = pool.say(9, R"({"id":8,"method":"mining.authorize","params":["RWallet.rig","d=256"]})");
  ASSERT_EQ(lines.size(), 2u);
  const std::string t256 = common::to_display_hex(*common::bitcoin_target_from_difficulty(256));
  EXPECT_EQ(t256, "0000000000ffff00000000000000000000000000000000000000000000000000");
  EXPECT_EQ(lines[0], R"({"id":null,"method":"mining.set_target","params":[")" + t256 + R"("]})");
  EthJob next(0x4a, "kawpow", kKawpowHeader, kZeroSeed, 50, /*clean=*/false);
  pool.server.on_job(next.job);
  lines = pool.env.take(9);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], std::string(R"({"id":null,"method":"mining.notify","params":["4a",")") + kKawpowHeader + R"(",")" + kZeroSeed +
                          R"(",")" + t256 + R"(",false,50,"1d00ffff"]})");
}

TEST(StratumServerEthereum, ConfigAndPrefixes) {
  std::string error;
  auto cfg = parse_config(R"({"ports":[{"address":":1","dialect":"ethereum"}]})", &error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->ports[0].algorithm, "ethash");
  EXPECT_EQ(cfg->ports[0].extranonce1_size, 3u);
  EXPECT_EQ(cfg->ports[0].unit, DifficultyUnit::nicehash);
  EXPECT_FALSE(parse_config(R"({"ports":[{"address":":1","dialect":"ethereum","algorithm":"sha256d"}]})", &error));
  EXPECT_NE(error.find("is not an Ethereum-family algorithm"), std::string::npos) << error;
  EXPECT_FALSE(parse_config(R"({"ports":[{"address":":1","dialect":"ethereum","extranonce1_size":4}]})", &error));
  EXPECT_FALSE(parse_config(R"({"ports":[{"address":":1","algorithm":"kawpow"}]})", &error));
  EXPECT_NE(error.find("is not a Bitcoin-family algorithm"), std::string::npos) << error;
  // NiceHash difficulty 1 in the ethash plugin's unit: 2^256 / (0xffff * 2^208) = 2^48 / 0xffff.
  EXPECT_NEAR(algorithm_difficulty_from_target(DifficultyUnit::nicehash, *common::bitcoin_target_from_difficulty(1)),
              std::ldexp(1.0, 48) / 65535.0, 1e-3);

  // With the marker, prefixes set the nonce's top bit and differ per connection.
  Pool pool(R"({"ports":[{"address":":0","dialect":"ethereum","algorithm":"etchash"}]})", ServerOptions{});
  ASSERT_EQ(pool.server.on_open(0, 1, "10.0.0.1:1"), Server::Refusal::none);
  ASSERT_EQ(pool.server.on_open(0, 2, "10.0.0.2:1"), Server::Refusal::none);
  EXPECT_EQ(pool.say(1, R"({"id":1,"method":"mining.subscribe","params":[]})"),
            std::vector<std::string>{R"({"id":1,"result":[["mining.notify","1","EthereumStratum/1.0.0"],"800001"],"error":null})"});
  EXPECT_EQ(pool.say(2, R"({"id":1,"method":"mining.subscribe","params":[]})"),
            std::vector<std::string>{R"({"id":1,"result":[["mining.notify","2","EthereumStratum/1.0.0"],"800002"],"error":null})"});
}
