// The stratum server's small parts: configuration (config.hpp), vardiff (vardiff.hpp), per-address
// bookkeeping (ip_guard.hpp) and difficulty units (difficulty.hpp).
#include "config.hpp"
#include "difficulty.hpp"
#include "ip_guard.hpp"
#include "vardiff.hpp"

#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

using namespace otedama::stratum;
namespace common = otedama::common;

namespace {
std::string config_error(const std::string& json) {
  std::string error;
  EXPECT_FALSE(parse_config(json, &error).has_value()) << json;
  return error;
}
}  // namespace

TEST(StratumConfig, EmptyMeansNoPortsAndDefaults) {
  std::string error;
  const auto cfg = parse_config("{}", &error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_TRUE(cfg->ports.empty());
  EXPECT_EQ(cfg->max_connections, 10000u);
  EXPECT_EQ(cfg->version_rolling_mask, 0x1fffe000u);
  EXPECT_EQ(cfg->ntime_forward_s, 7200u);
  EXPECT_TRUE(cfg->ban.enabled);
}

TEST(StratumConfig, ReadsEveryKeyAsTheHostHandsThemOver) {
  // The host's YAML -> JSON keeps integers and booleans typed and hands floats over as text.
  std::string error;
  const auto cfg = parse_config(R"({
    "ports": [
      {"address": "0.0.0.0:3333", "dialect": "bitcoin", "algorithm": "sha256d", "difficulty": "0.5",
       "vardiff": {"target": "15s", "max": 65536}},
      {"address": "[::]:3334", "algorithm": "scrypt", "coin": "LTC", "difficulty": 1024, "extranonce1_size": 3,
       "extranonce_size": 7, "tls_cert": "/c.pem", "tls_key": "/k.pem", "vardiff": {"enabled": false}}
    ],
    "max_connections": 50000, "per_ip_limit": 0, "max_line": 8192, "idle_timeout": "5m", "version_rolling_mask": "1fffe000",
    "ntime_forward": "1h", "malformed_limit": 3, "max_pending": 64, "max_workers": 4,
    "vardiff": {"min": "0.01", "target": "20s", "retarget": 90, "variance": 25, "max_step": 2, "window_shares": 10},
    "ban": {"enabled": true, "check_threshold": 100, "invalid_percent": "75.5", "duration": "1h"}
  })", &error);
  ASSERT_TRUE(cfg) << error;
  ASSERT_EQ(cfg->ports.size(), 2u);
  const auto& a = cfg->ports[0];
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 3333);
  EXPECT_EQ(a.unit, DifficultyUnit::bitcoin);
  EXPECT_EQ(a.difficulty, 0.5);
  EXPECT_EQ(a.vardiff.target_ms, 15000u);  // port override
  EXPECT_EQ(a.vardiff.retarget_ms, 90000u);  // top-level default
  EXPECT_EQ(a.vardiff.min, 0.01);
  EXPECT_EQ(a.vardiff.max, 65536);
  EXPECT_DOUBLE_EQ(a.vardiff.variance, 0.25);
  EXPECT_EQ(a.vardiff.max_step, 2);
  EXPECT_EQ(a.vardiff.window_shares, 10u);
  const auto& b = cfg->ports[1];
  EXPECT_EQ(b.host, "::");
  EXPECT_EQ(b.port, 3334);
  EXPECT_EQ(b.unit, DifficultyUnit::scrypt);
  EXPECT_EQ(b.coin, "LTC");
  EXPECT_EQ(b.dialect, Dialect::bitcoin);
  EXPECT_EQ(b.extranonce1_size, 3u);
  EXPECT_EQ(b.tls_cert, "/c.pem");
  EXPECT_FALSE(b.vardiff.enabled);
  EXPECT_EQ(cfg->max_connections, 50000u);
  EXPECT_EQ(cfg->per_ip_limit, 0u);
  EXPECT_EQ(cfg->idle_timeout_ms, 300000u);
  EXPECT_EQ(cfg->ntime_forward_s, 3600u);
  EXPECT_EQ(cfg->ban.check_threshold, 100u);
  EXPECT_EQ(cfg->ban.invalid_percent, 75.5);
  EXPECT_EQ(cfg->ban.duration_ms, 3600000u);
}

TEST(StratumConfig, DefaultVardiffMinimumFollowsTheStartingDifficulty) {
  std::string error;
  const auto cfg = parse_config(R"({"ports":[{"address":":3333","difficulty":1024}]})", &error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->ports[0].host, "0.0.0.0");
  EXPECT_EQ(cfg->ports[0].vardiff.min, 16);
}

TEST(StratumConfig, EveryRefusalNamesTheKey) {
  const struct {
    const char* json;
    const char* says;
  } cases[] = {
      {"[", "stratum-server: configuration is not valid JSON: invalid JSON at offset 1"},
      {"[]", "stratum-server: configuration must be a map"},
      {R"({"port":3333})", "stratum-server.port: unknown key (known: ports, max_connections"},
      {R"({"ports":{}})", "stratum-server.ports: must be a list of maps"},
      {R"({"ports":[{}]})", "stratum-server.ports[0].address: is required"},
      {R"({"ports":[{"address":"3333"}]})", "stratum-server.ports[0].address: must be host:port"},
      {R"({"ports":[{"address":"a:99999"}]})", "stratum-server.ports[0].address: must be host:port"},
      {R"({"ports":[{"address":":1","dialect":"grin"}]})", "stratum-server.ports[0].dialect: must be bitcoin, monero or ethereum"},
      {R"({"ports":[{"address":":1","dialect":"ethereum","algorithm":"randomx"}]})", "ports[0].algorithm: \"randomx\" is not an Ethereum-family algorithm"},
      {R"({"ports":[{"address":":1","dialect":"ethereum","extranonce1_size":4}]})", "ports[0].extranonce1_size: must be an integer from 2 to 3"},
      {R"({"ports":[{"address":":1","dialect":"monero","algorithm":"sha256d"}]})", "ports[0].algorithm: \"sha256d\" is not a Monero-family algorithm"},
      {R"({"ports":[{"address":":1","algorithm":"x11"}]})", "ports[0].algorithm: no stratum difficulty unit known for \"x11\""},
      {R"({"ports":[{"address":":1","algorithm":"randomx"}]})", "ports[0].algorithm: \"randomx\" is not a Bitcoin-family algorithm"},
      {R"({"ports":[{"address":":1","difficulty":0}]})", "ports[0].difficulty: must be a number > 0"},
      {R"({"ports":[{"address":":1","difficulty":"lots"}]})", "ports[0].difficulty: must be a number > 0 and <= 1e+300, got \"lots\""},
      {R"({"ports":[{"address":":1","extranonce1_size":4,"extranonce_size":4}]})", "ports[0].extranonce_size: must exceed extranonce1_size"},
      {R"({"ports":[{"address":":1","tls_cert":"/c"}]})", "ports[0].tls_key: TLS needs both tls_cert and tls_key"},
      {R"({"ports":[{"address":":1","vardiff":{"min":10,"max":5}}]})", "ports[0].vardiff.min: must not exceed vardiff max"},
      {R"({"ports":[{"address":":1","vardiff":{"speed":1}}]})", "ports[0].vardiff.speed: unknown key"},
      {R"({"ports":[{"address":":1","difficulty":9,"vardiff":{"max":5}}]})", "ports[0].difficulty: is above vardiff.max"},
      {R"({"ports":[{"address":":1"},{"address":"0.0.0.0:1"}]})", "ports[1].address: 0.0.0.0:1 is listed twice"},
      {R"({"max_connections":0})", "stratum-server.max_connections: must be an integer from 1 to 10000000, got 0"},
      {R"({"idle_timeout":"soon"})", "stratum-server.idle_timeout: must be a duration"},
      {R"({"version_rolling_mask":"1fffe"})", "stratum-server.version_rolling_mask: must be 8 hex digits"},
      {R"({"ban":{"invalid_percent":0}})", "stratum-server.ban.invalid_percent: must be a number > 0"},
      {R"({"ban":{"enabled":"yes"}})", "stratum-server.ban.enabled: must be true or false"},
      {R"({"vardiff":{"retarget":"10ms"}})", "stratum-server.vardiff.retarget: must be a duration"},
  };
  for (const auto& c : cases) {
    const std::string error = config_error(c.json);
    EXPECT_NE(error.find(c.says), std::string::npos) << c.json << "\n  said: " << error;
  }
}

TEST(StratumConfig, SplitsAddresses) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(split_address("127.0.0.1:0", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  EXPECT_TRUE(split_address("[::1]:3333", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 3333);
  EXPECT_TRUE(split_address("pool.example:65535", host, port));
  for (const char* bad : {"", ":", "::1:3333", "[::1]3333", "[]:1", "a:b", "a:-1", "a:65536", "a:123456"})
    EXPECT_FALSE(split_address(bad, host, port)) << bad;
}

TEST(StratumVardiff, QuantizesForFirmwaresThatKeepIntegers) {
  EXPECT_EQ(quantize_difficulty(1234.9), 1234);
  EXPECT_EQ(quantize_difficulty(1), 1);
  EXPECT_EQ(quantize_difficulty(0.123456), 0.1235);
  EXPECT_EQ(quantize_difficulty(0.000012346), 0.00001235);
}

TEST(StratumVardiff, HoldsInsideTheVarianceBand) {
  VardiffConfig cfg;  // 10 s target, 60 s windows, 30 % band
  Vardiff v;
  v.reset(0);
  // 6 shares in 60 s: exactly on target.
  for (int i = 1; i <= 5; ++i) EXPECT_FALSE(v.on_share(cfg, 100, 1, i * 10000));
  EXPECT_FALSE(v.on_share(cfg, 100, 1, 60000));
  EXPECT_EQ(v.shares(), 0u);  // the window closed and a new one opened
  // 8 shares in 60 s (7.5 s each, ratio 1.33): outside the band, up by 1.33.
  for (int i = 1; i <= 7; ++i) EXPECT_FALSE(v.on_share(cfg, 100, 1, 60000 + i * 7500));
  EXPECT_EQ(*v.on_share(cfg, 100, 1, 120000), 133);
}

TEST(StratumVardiff, StepsAreClampedAndBounded) {
  VardiffConfig cfg;
  cfg.window_shares = 3;
  cfg.max = 1000;
  Vardiff v;
  v.reset(0);
  EXPECT_FALSE(v.on_share(cfg, 100, 1, 10));
  EXPECT_FALSE(v.on_share(cfg, 100, 1, 20));
  EXPECT_EQ(*v.on_share(cfg, 100, 1, 30), 400);  // 1000x too fast, clamped to x4
  v.reset(0);
  for (int i = 0; i < 2; ++i) (void)v.on_share(cfg, 400, 1, 10);
  EXPECT_EQ(*v.on_share(cfg, 400, 1, 30), 1000);  // vardiff.max
  // Too slow: one share in 600 s (60x) lowers by at most x4, never below the floor.
  v.reset(0);
  EXPECT_EQ(*v.on_share(cfg, 1000, 1, 600000), 250);
  v.reset(0);
  EXPECT_EQ(*v.on_share(cfg, 1000, 800, 600000), 800);
}

TEST(StratumVardiff, TheTimerOnlyMovesSilentWindows) {
  VardiffConfig cfg;
  cfg.retarget_ms = 30000;
  Vardiff v;
  v.reset(0);
  EXPECT_FALSE(v.on_tick(cfg, 64, 1, 29999));
  EXPECT_EQ(*v.on_tick(cfg, 64, 1, 30000), 21);  // as one share in 30 s: x1/3
  v.reset(0);
  (void)v.on_share(cfg, 64, 1, 1000);
  EXPECT_FALSE(v.on_tick(cfg, 64, 1, 40000));  // had a share: the next share closes it
}

TEST(StratumIpGuard, CountsCapsBansAndExpires) {
  IpGuard g;
  EXPECT_EQ(g.admit("1.2.3.4", 0, 2), IpGuard::Admission::ok);
  EXPECT_EQ(g.admit("1.2.3.4", 0, 2), IpGuard::Admission::ok);
  EXPECT_EQ(g.admit("1.2.3.4", 0, 2), IpGuard::Admission::per_ip_limit);
  EXPECT_EQ(g.admit("5.6.7.8", 0, 0), IpGuard::Admission::ok);
  g.ban("1.2.3.4", 1000);
  g.release("1.2.3.4");
  EXPECT_EQ(g.admit("1.2.3.4", 999, 2), IpGuard::Admission::banned);
  EXPECT_TRUE(g.banned("1.2.3.4", 999));
  EXPECT_EQ(g.active_bans(999), 1u);
  EXPECT_EQ(g.expire(1000), 1u);
  EXPECT_EQ(g.admit("1.2.3.4", 1000, 2), IpGuard::Admission::ok);
  EXPECT_EQ(g.connections("1.2.3.4"), 2u);
  g.release("unknown");
}

TEST(StratumIpGuard, PeerAddresses) {
  EXPECT_EQ(peer_address("127.0.0.1:3333"), "127.0.0.1");
  EXPECT_EQ(peer_address("[::1]:3333"), "::1");
  EXPECT_EQ(peer_address("[fe80::1%eth0]:1"), "fe80::1%eth0");
  EXPECT_EQ(peer_address("::1"), "::1");
  EXPECT_EQ(peer_address("host"), "host");
}

TEST(StratumDifficulty, UnitsMatchTheAlgorithmPlugins) {
  EXPECT_EQ(*difficulty_unit_for("sha256d"), DifficultyUnit::bitcoin);
  EXPECT_EQ(*difficulty_unit_for("scrypt"), DifficultyUnit::scrypt);
  EXPECT_EQ(*difficulty_unit_for("randomx"), DifficultyUnit::monero);
  EXPECT_FALSE(difficulty_unit_for("x11"));
  EXPECT_EQ(common::to_display_hex(*target_from_difficulty(DifficultyUnit::bitcoin, 1)),
            "00000000ffff0000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(common::to_display_hex(*target_from_difficulty(DifficultyUnit::scrypt, 1)),
            "0000ffff00000000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(*target_from_difficulty(DifficultyUnit::monero, 1), common::kUint256Max);
  EXPECT_DOUBLE_EQ(difficulty_from_target(DifficultyUnit::scrypt, *target_from_difficulty(DifficultyUnit::scrypt, 512)), 512);
  EXPECT_FALSE(target_from_difficulty(DifficultyUnit::bitcoin, 0));
}

TEST(StratumConfig, AddressNetworkIsAKnownBitcoinFamilyNetworkOnABitcoinPort) {
  std::string error;
  const auto cfg = parse_config(R"({"ports":[{"address":":3333","algorithm":"scrypt","address_network":"litecoin-regtest"}]})", &error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->ports.at(0).address_network, "litecoin-regtest");
  EXPECT_EQ(config_error(R"({"ports":[{"address":":3333","address_network":"dogecoin-main"}]})"),
            "stratum-server.ports[0].address_network: must be one of bitcoin-main, bitcoin-test, bitcoin-signet, bitcoin-regtest, "
            "litecoin-main, litecoin-test, litecoin-regtest, got \"dogecoin-main\"");
  EXPECT_EQ(config_error(R"({"ports":[{"address":":3333","dialect":"monero","address_network":"bitcoin-main"}]})"),
            "stratum-server.ports[0].address_network: is for the bitcoin dialect only");
}
