// Tests for core/config: the schema, loading with exact error positions, scalar parsers, JSON views.
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/scalars.hpp"

namespace otedama::config {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> error_lines(const LoadResult& result) {
    std::vector<std::string> lines;
    for (const auto& error : result.errors) lines.push_back(error.to_string());
    return lines;
}

// Loads YAML expected to be valid and returns the config; fails the test with every error otherwise.
Config load_ok(std::string_view yaml) {
    const LoadResult result = load_string(yaml, "test.yaml");
    EXPECT_TRUE(result.ok()) << ::testing::PrintToString(error_lines(result));
    return result.config.value_or(defaults());
}

// Loads YAML expected to fail with exactly one error and returns it.
Error load_one_error(std::string_view yaml) {
    const LoadResult result = load_string(yaml, "test.yaml");
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errors.size(), 1u) << ::testing::PrintToString(error_lines(result));
    return result.errors.empty() ? Error{} : result.errors.front();
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// ---- The shipped configuration and the key reference

TEST(ShippedConfig, LoadsCleanAndEqualsDefaults) {
    const LoadResult result = load_file(OTEDAMA_SHIPPED_CONFIG);
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(error_lines(result));
    EXPECT_EQ(*result.config, defaults());
}

TEST(ShippedConfig, ListsEveryKeyExplicitly) {
    const YAML::Node root = YAML::LoadFile(OTEDAMA_SHIPPED_CONFIG);
    for (const KeyInfo& key : describe_schema()) {
        YAML::Node node = root;
        std::string_view rest = key.path;
        while (!rest.empty() && node.IsDefined()) {
            const auto dot = rest.find('.');
            node.reset(node[std::string(rest.substr(0, dot))]);
            rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
        }
        EXPECT_TRUE(node.IsDefined()) << key.path << " is missing from etc/otedama.yaml";
    }
}

TEST(ConfigDoc, HasARowPerKeyWithItsTypeAndDefault) {
    const std::string doc = read_text(OTEDAMA_CONFIG_DOC);
    ASSERT_FALSE(doc.empty());
    for (const KeyInfo& key : describe_schema()) {
        const std::string row_start = "| `" + std::string(key.path) + "` | " + key.type + " | `" +
                                      std::string(key.default_yaml) + "` |";
        EXPECT_NE(doc.find(row_start), std::string::npos) << "docs/config.md lacks the row: " << row_start;
    }
}

// ---- Defaults

TEST(Defaults, HoldTheSeedsSchema) {
    const Config c = defaults();
    EXPECT_EQ(c.app.name, "otedama");
    EXPECT_EQ(c.app.mode, Mode::pool);
    EXPECT_EQ(c.mining.algorithm, "sha256d");
    EXPECT_TRUE(c.mining.enable_cpu);
    EXPECT_FALSE(c.mining.enable_gpu);
    EXPECT_FALSE(c.mining.enable_asic);
    EXPECT_EQ(c.mining.cpu.threads, 0);
    EXPECT_EQ(c.mining.cpu.priority, 0);
    EXPECT_TRUE(c.mining.gpu.devices.empty());
    EXPECT_EQ(c.mining.gpu.intensity, 20);
    EXPECT_EQ(c.mining.gpu.temperature_limit, 85);
    EXPECT_TRUE(c.mining.asic.devices.empty());
    EXPECT_EQ(c.mining.asic.poll_interval, 100ms);
    EXPECT_TRUE(c.pool.enable);
    EXPECT_EQ(c.pool.address, (Address{"0.0.0.0", 3333}));
    EXPECT_EQ(c.pool.max_connections, 10000);
    EXPECT_DOUBLE_EQ(c.pool.fee_percentage, 1.0);
    EXPECT_EQ(c.pool.rewards.system, RewardSystem::pplns);
    EXPECT_EQ(c.pool.rewards.window, 2h);
    EXPECT_EQ(c.pool.source, "devnet");
    EXPECT_TRUE(c.api.enable);
    EXPECT_EQ(c.api.address, (Address{"127.0.0.1", 8080}));
    EXPECT_TRUE(c.api.auth.enabled);
    EXPECT_EQ(c.api.auth.token_expiry, 24h);
    EXPECT_TRUE(c.monitoring.metrics.enable);
    EXPECT_EQ(c.monitoring.metrics.address, (Address{"127.0.0.1", 9090}));
    EXPECT_TRUE(c.monitoring.health.enable);
    EXPECT_EQ(c.monitoring.health.address, (Address{"127.0.0.1", 8081}));
    EXPECT_EQ(c.log.level, LogLevel::info);
    EXPECT_EQ(c.log.file, "");
    EXPECT_EQ(c.log.format, LogFormat::text);
    EXPECT_EQ(c.storage.path, "otedama.db");
    EXPECT_TRUE(c.plugins.dirs.empty());
    EXPECT_TRUE(c.plugins.disable.empty());
    EXPECT_EQ(c.plugins.settings, Value::object());
    EXPECT_EQ(c.devnet, Value::object());
}

TEST(Defaults, ApplyToEveryAbsentKey) {
    EXPECT_EQ(load_ok(""), defaults());
    EXPECT_EQ(load_ok("# only a comment\n"), defaults());
    EXPECT_EQ(load_ok("mining:\napi:\n"), defaults());  // empty sections keep their defaults

    const Config c = load_ok("mining:\n  cpu:\n    threads: 4\n");
    Config expected = defaults();
    expected.mining.cpu.threads = 4;
    EXPECT_EQ(c, expected);
}

// ---- Reading every type

TEST(Load, ReadsEveryKeyType) {
    const Config c = load_ok(R"(app:
  name: rig-7
  mode: MINER
mining:
  enable_gpu: TRUE
  cpu: {threads: 3, priority: 19}
  gpu:
    devices: [0, 2]
    intensity: 31
    temperature_limit: 40
  asic:
    devices: [/dev/ttyUSB0, "/dev/bus/usb/001/004"]
    poll_interval: 1h30m
pool:
  address: "[::1]:3334"
  max_connections: 1000000
  fee_percentage: 0.5
  fee_account: operator-wallet
  rewards: {system: fpps, window: 90, confirmations: 60, reserve_floor: 1000000}
log:
  level: Debug
  file:
  format: json
plugins:
  dirs:
    - /opt/otedama/plugins
  disable: [otedama.cuda]
)");
    EXPECT_EQ(c.app.name, "rig-7");
    EXPECT_EQ(c.app.mode, Mode::miner);
    EXPECT_TRUE(c.mining.enable_gpu);
    EXPECT_EQ(c.mining.cpu.threads, 3);
    EXPECT_EQ(c.mining.cpu.priority, 19);
    EXPECT_EQ(c.mining.gpu.devices, (std::vector<std::int64_t>{0, 2}));
    EXPECT_EQ(c.mining.gpu.intensity, 31);
    EXPECT_EQ(c.mining.gpu.temperature_limit, 40);
    EXPECT_EQ(c.mining.asic.devices, (std::vector<std::string>{"/dev/ttyUSB0", "/dev/bus/usb/001/004"}));
    EXPECT_EQ(c.mining.asic.poll_interval, 90min);
    EXPECT_EQ(c.pool.address, (Address{"::1", 3334}));
    EXPECT_EQ(c.pool.max_connections, 1000000);
    EXPECT_DOUBLE_EQ(c.pool.fee_percentage, 0.5);
    EXPECT_EQ(c.pool.rewards.system, RewardSystem::fpps);
    EXPECT_EQ(c.pool.rewards.window, 90s);  // a plain number is seconds
    EXPECT_EQ(c.pool.rewards.confirmations, 60);
    EXPECT_EQ(c.pool.rewards.reserve_floor, 1000000);
    EXPECT_EQ(c.pool.fee_account, "operator-wallet");
    EXPECT_EQ(c.log.level, LogLevel::debug);
    EXPECT_EQ(c.log.file, "");  // an empty value is an empty string
    EXPECT_EQ(c.log.format, LogFormat::json);
    EXPECT_EQ(c.plugins.dirs, (std::vector<std::string>{"/opt/otedama/plugins"}));
    EXPECT_EQ(c.plugins.disable, (std::vector<std::string>{"otedama.cuda"}));
    EXPECT_EQ(*c.subtree_json("pool.rewards"),
              R"({"system":"FPPS","window":"90s","confirmations":60,"reserve_floor":1000000})");  // canonical spellings
}

TEST(Load, EnumNamesRoundTrip) {
    for (std::size_t i = 0; i < mode_names.size(); ++i) {
        EXPECT_EQ(load_ok("app: {mode: " + std::string(mode_names[i]) + "}").app.mode, static_cast<Mode>(i));
        EXPECT_EQ(to_string(static_cast<Mode>(i)), mode_names[i]);
    }
    for (std::size_t i = 0; i < reward_system_names.size(); ++i) {
        EXPECT_EQ(load_ok("pool: {rewards: {system: " + std::string(reward_system_names[i]) + "}}").pool.rewards.system,
                  static_cast<RewardSystem>(i));
    }
    for (std::size_t i = 0; i < log_level_names.size(); ++i) {
        EXPECT_EQ(load_ok("log: {level: " + std::string(log_level_names[i]) + "}").log.level, static_cast<LogLevel>(i));
    }
    EXPECT_EQ(to_string(LogLevel::warn), "warn");
    EXPECT_EQ(to_string(RewardSystem::prop), "PROP");
    EXPECT_EQ(to_string(LogFormat::json), "json");
}

// ---- Error kinds, each with its exact position and key

TEST(Errors, MissingFile) {
    const auto path = std::filesystem::path(::testing::TempDir()) / "otedama-no-such-config.yaml";
    std::filesystem::remove(path);
    const LoadResult result = load_file(path);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errors[0].file, path.string());
    EXPECT_EQ(result.errors[0].line, 0);
    EXPECT_EQ(result.errors[0].key, "");
    EXPECT_EQ(result.errors[0].to_string(), path.string() + ": cannot read config file: No such file or directory");
}

TEST(Errors, DirectoryIsNotAFile) {
    const LoadResult result = load_file(::testing::TempDir());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].message, "cannot read config file: Is a directory");
}

TEST(Errors, FileErrorsNameTheFile) {
    const auto path = std::filesystem::path(::testing::TempDir()) / "otedama-test-config.yaml";
    std::ofstream(path) << "app:\n  mode: poool\n";
    const LoadResult result = load_file(path);
    std::filesystem::remove(path);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].to_string(),
              path.string() + ":2:9: app.mode: expected one of pool, miner, solo, p2p, got 'poool'");
}

TEST(Errors, YamlSyntax) {
    const Error error = load_one_error("mining:\n  cpu: [1, 2\n  gpu: {}\n");
    EXPECT_EQ(error.file, "test.yaml");
    EXPECT_EQ(error.key, "");
    EXPECT_GT(error.line, 0);
    EXPECT_EQ(error.to_string(), "test.yaml:" + std::to_string(error.line) + ":" + std::to_string(error.column) + ": " +
                                     error.message);

    const Error indent = load_one_error("app:\n  name: x\n   mode: pool\n");
    EXPECT_EQ(indent.line, 3);  // yaml-cpp's 0-based mark, made 1-based
    EXPECT_EQ(indent.column, 8);
    EXPECT_EQ(indent.to_string(), "test.yaml:3:8: illegal map value");
}

TEST(Errors, WrongType) {
    EXPECT_EQ(load_one_error("mining:\n  cpu:\n    threads: many\n").to_string(),
              "test.yaml:3:14: mining.cpu.threads: expected an integer, got 'many'");
    EXPECT_EQ(load_one_error("mining:\n  enable_cpu: maybe\n").to_string(),
              "test.yaml:2:15: mining.enable_cpu: expected true or false, got 'maybe'");
    EXPECT_EQ(load_one_error("pool:\n  fee_percentage: lots\n").to_string(),
              "test.yaml:2:19: pool.fee_percentage: expected a number, got 'lots'");
    EXPECT_EQ(load_one_error("mining:\n  gpu:\n    intensity: 2.5\n").to_string(),
              "test.yaml:3:16: mining.gpu.intensity: expected an integer, got '2.5'");
}

TEST(Errors, EmptyValueIsReportedAtTheKey) {
    // yaml-cpp marks an empty value at the next line; the error must point at the key instead.
    EXPECT_EQ(load_one_error("mining:\n  gpu:\n    intensity:\n  cpu: {}\n").to_string(),
              "test.yaml:3:5: mining.gpu.intensity: expected an integer, got an empty value");
}

TEST(Errors, OutOfRange) {
    EXPECT_EQ(load_one_error("mining:\n  cpu:\n    priority: 25\n").to_string(),
              "test.yaml:3:15: mining.cpu.priority: must be between 0 and 19, got 25");
    EXPECT_EQ(load_one_error("mining:\n  cpu:\n    threads: -1\n").to_string(),
              "test.yaml:3:14: mining.cpu.threads: must be at least 0, got -1");
    EXPECT_EQ(load_one_error("pool:\n  fee_percentage: 100.5\n").to_string(),
              "test.yaml:2:19: pool.fee_percentage: must be between 0 and 100, got 100.5");
    EXPECT_EQ(load_one_error("pool:\n  max_connections: 0\n").to_string(),
              "test.yaml:2:20: pool.max_connections: must be between 1 and 1000000, got 0");
    EXPECT_EQ(load_one_error("mining:\n  gpu: {temperature_limit: 99999999999999999999}\n").message,
              "integer '99999999999999999999' does not fit in 64 bits");
}

TEST(Errors, BadEnum) {
    EXPECT_EQ(load_one_error("app:\n  mode: poool\n").to_string(),
              "test.yaml:2:9: app.mode: expected one of pool, miner, solo, p2p, got 'poool'");
    EXPECT_EQ(load_one_error("pool: {rewards: {system: pplnz}}\n").to_string(),
              "test.yaml:1:26: pool.rewards.system: expected one of PPLNS, PPS, FPPS, PROP, SOLO, got 'pplnz'");
    EXPECT_EQ(load_one_error("mining: {dataset: fast}\n").to_string(),
              "test.yaml:1:19: mining.dataset: expected one of full, light, got 'fast'");
}

TEST(Errors, BadDuration) {
    EXPECT_EQ(load_one_error("pool:\n  rewards:\n    window: 2 hours\n").to_string(),
              "test.yaml:3:13: pool.rewards.window: expected a duration such as 500ms, 30s, 2h or 1d, got '2 hours'");
    EXPECT_EQ(load_one_error("api: {auth: {token_expiry: -5s}}").key, "api.auth.token_expiry");
}

TEST(Errors, BadAddress) {
    EXPECT_EQ(load_one_error("api:\n  address: localhost\n").to_string(),
              "test.yaml:2:12: api.address: expected an address host:port, :port or [ipv6]:port, got 'localhost'");
    EXPECT_EQ(load_one_error("api:\n  address: localhost:0\n").to_string(),
              "test.yaml:2:12: api.address: port must be between 1 and 65535, got '0'");
    EXPECT_EQ(load_one_error("monitoring:\n  health:\n    address: ::1:8081\n").to_string(),
              "test.yaml:3:14: monitoring.health.address: an IPv6 host must be written in brackets ([::1]:8080), got "
              "'::1:8081'");
}

TEST(Errors, UnknownKeyWithSuggestion) {
    EXPECT_EQ(load_one_error("mining:\n  cpu:\n    thread: 4\n").to_string(),
              "test.yaml:3:5: mining.cpu.thread: unknown key 'thread' (did you mean 'threads'?)");
    EXPECT_EQ(load_one_error("minning:\n  enable_cpu: true\n").to_string(),
              "test.yaml:1:1: minning: unknown key 'minning' (did you mean 'mining'?)");
    // A truncated name is matched as a prefix even though it is far in edit distance.
    EXPECT_EQ(load_one_error("mining:\n  gpu:\n    temp: 80\n").message,
              "unknown key 'temp' (did you mean 'temperature_limit'?)");
    // Case differences alone count as typos, not as a match: keys are case-sensitive.
    EXPECT_EQ(load_one_error("Log:\n  level: info\n").message, "unknown key 'Log' (did you mean 'log'?)");
}

TEST(Errors, UnknownKeyListsTheValidOnes) {
    EXPECT_EQ(load_one_error("api:\n  auth:\n    password: hunter2\n").to_string(),
              "test.yaml:3:5: api.auth.password: unknown key 'password' (valid keys: enabled, token_expiry, secret, public_read)");
    EXPECT_EQ(load_one_error("wallet: x\n").message,
              "unknown key 'wallet' (valid keys: app, mining, pool, miner, node, api, monitoring, net, log, storage, plugins, devnet)");
}

TEST(Errors, DottedKeysAreNotExpanded) {
    EXPECT_EQ(load_one_error("mining.cpu:\n  threads: 2\n").to_string(),
              "test.yaml:1:1: mining.cpu: unknown key 'mining.cpu' (dotted keys are not expanded; nest the sections)");
    EXPECT_EQ(load_one_error("mining:\n  cpu.threads: 2\n").key, "mining.cpu.threads");
}

TEST(Errors, ScalarWhereAMapIsExpected) {
    EXPECT_EQ(load_one_error("mining:\n  cpu: 4\n").to_string(), "test.yaml:2:8: mining.cpu: expected a map, got '4'");
    EXPECT_EQ(load_one_error("devnet: [1, 2]\n").to_string(), "test.yaml:1:9: devnet: expected a map, got a list");
    EXPECT_EQ(load_one_error("- app\n").to_string(), "test.yaml:1:1: expected a map, got a list");
}

TEST(Errors, MapWhereAScalarIsExpected) {
    EXPECT_EQ(load_one_error("mining:\n  cpu:\n    threads: {count: 4}\n").to_string(),
              "test.yaml:3:14: mining.cpu.threads: expected an integer, got a map");
    EXPECT_EQ(load_one_error("app:\n  name: [a, b]\n").to_string(),
              "test.yaml:2:9: app.name: expected a string, got a list");
    EXPECT_EQ(load_one_error("plugins:\n  dirs: /opt/plugins\n").to_string(),
              "test.yaml:2:9: plugins.dirs: expected a list of strings, got '/opt/plugins'");
}

TEST(Errors, ListElementsAreCheckedOneByOne) {
    const LoadResult result = load_string("mining:\n  gpu:\n    devices: [0, x, -1]\n", "test.yaml");
    EXPECT_EQ(error_lines(result), (std::vector<std::string>{
                                       "test.yaml:3:18: mining.gpu.devices[1]: expected an integer, got 'x'",
                                       "test.yaml:3:21: mining.gpu.devices[2]: must be at least 0, got -1",
                                   }));
    EXPECT_EQ(load_one_error("plugins:\n  disable:\n    - a\n    - {b: 1}\n").to_string(),
              "test.yaml:4:7: plugins.disable[1]: expected a string, got a map");
}

TEST(Errors, DuplicateKey) {
    EXPECT_EQ(load_one_error("log:\n  level: info\n  level: debug\n").to_string(),
              "test.yaml:3:3: log.level: duplicate key 'level' (first at line 2)");
    EXPECT_EQ(load_one_error("devnet:\n  a: 1\n  a: 2\n").to_string(),
              "test.yaml:3:3: devnet.a: duplicate key 'a' (first at line 2)");
}

TEST(Errors, PluginSettingsMustBeMaps) {
    EXPECT_EQ(load_one_error("plugins:\n  settings:\n    otedama.stratum: 3333\n").to_string(),
              "test.yaml:3:22: plugins.settings.otedama.stratum: expected a map, got '3333'");
}

TEST(Errors, OnlyOneDocument) {
    EXPECT_EQ(load_one_error("app: {name: a}\n---\napp: {name: b}\n").to_string(),
              "test.yaml:3:1: expected one YAML document, found 2");
}

TEST(Errors, AllAreReportedInOnePass) {
    const LoadResult result = load_string(R"(app:
  mode: poool
mining:
  cpu:
    thread: 4
    priority: 42
pool:
  address: 0.0.0.0
  rewards:
    window: soon
log: verbose
)",
                                          "multi.yaml");
    EXPECT_FALSE(result.ok());
    EXPECT_FALSE(result.config.has_value());
    EXPECT_EQ(error_lines(result),
              (std::vector<std::string>{
                  "multi.yaml:2:9: app.mode: expected one of pool, miner, solo, p2p, got 'poool'",
                  "multi.yaml:5:5: mining.cpu.thread: unknown key 'thread' (did you mean 'threads'?)",
                  "multi.yaml:6:15: mining.cpu.priority: must be between 0 and 19, got 42",
                  "multi.yaml:8:12: pool.address: expected an address host:port, :port or [ipv6]:port, got '0.0.0.0'",
                  "multi.yaml:10:13: pool.rewards.window: expected a duration such as 500ms, 30s, 2h or 1d, got 'soon'",
                  "multi.yaml:11:6: log: expected a map, got 'verbose'",
              }));
}

TEST(Errors, ToStringFormats) {
    EXPECT_EQ((Error{"f.yaml", 3, 7, "a.b", "bad"}).to_string(), "f.yaml:3:7: a.b: bad");
    EXPECT_EQ((Error{"f.yaml", 3, 7, "", "bad"}).to_string(), "f.yaml:3:7: bad");
    EXPECT_EQ((Error{"f.yaml", 0, 0, "", "bad"}).to_string(), "f.yaml: bad");
}

// ---- Scalar parsers

TEST(Durations, ParseEveryUnitAndPlainSeconds) {
    const std::vector<std::pair<std::string, std::chrono::milliseconds>> cases{
        {"500ms", 500ms}, {"30s", 30s},   {"5m", 5min},   {"2h", 2h},         {"1d", 24h},
        {"30", 30s},      {"0", 0ms},     {"0ms", 0ms},   {"1h30m", 90min},   {"1m1ms", 60001ms},
        {"007s", 7s},     {"1d12h", 36h}, {"1s500ms", 1500ms},
    };
    for (const auto& [text, expected] : cases) {
        const auto parsed = parse_duration(text);
        ASSERT_TRUE(parsed.value) << text << ": " << parsed.error;
        EXPECT_EQ(*parsed.value, expected) << text;
    }
}

TEST(Durations, RefuseMalformedText) {
    for (const std::string text : {"", "-5s", "1.5h", "5 s", "5sec", "h", "ms", "10x", "s5", "5s ", "1h-1m", "+5s",
                                   "99999999999999999999s", "9223372036854775807d", "9223372036854775807"}) {
        const auto parsed = parse_duration(text);
        EXPECT_FALSE(parsed.value) << "'" << text << "' parsed as " << parsed.value.value_or(0ms).count() << "ms";
        EXPECT_EQ(parsed.error, "expected a duration such as 500ms, 30s, 2h or 1d, got '" + text + "'");
    }
}

TEST(Durations, FormatPicksTheLargestExactUnit) {
    EXPECT_EQ(format_duration(0ms), "0s");
    EXPECT_EQ(format_duration(100ms), "100ms");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(90s), "90s");
    EXPECT_EQ(format_duration(90min), "90m");
    EXPECT_EQ(format_duration(2h), "2h");
    EXPECT_EQ(format_duration(48h), "2d");
    for (const std::chrono::milliseconds ms : {1ms, 999ms, 1000ms, 61000ms, 86400000ms}) {
        EXPECT_EQ(parse_duration(format_duration(ms)).value, ms);
    }
}

TEST(Addresses, ParseTheThreeForms) {
    EXPECT_EQ(parse_address("pool.example.com:3333").value, (Address{"pool.example.com", 3333}));
    EXPECT_EQ(parse_address(":3333").value, (Address{"", 3333}));
    EXPECT_EQ(parse_address("[::1]:8080").value, (Address{"::1", 8080}));
    EXPECT_EQ(parse_address("[fe80::1%eth0]:1").value, (Address{"fe80::1%eth0", 1}));
    EXPECT_EQ(parse_address("0.0.0.0:65535").value, (Address{"0.0.0.0", 65535}));
    EXPECT_EQ(parse_address("my_host-2:80").value, (Address{"my_host-2", 80}));
}

TEST(Addresses, RefuseBadForms) {
    for (const std::string text : {"localhost", "host:", "host:http", "host:-1", "host:+80", "ho st:80", "[::1]",
                                   "[::1]8080", "[::1]:", "[]:80", "[localhost]:80", ""}) {
        const auto parsed = parse_address(text);
        EXPECT_FALSE(parsed.value) << text;
        EXPECT_EQ(parsed.error, "expected an address host:port, :port or [ipv6]:port, got '" + text + "'");
    }
    EXPECT_EQ(parse_address("host:0").error, "port must be between 1 and 65535, got '0'");
    EXPECT_EQ(parse_address("host:65536").error, "port must be between 1 and 65535, got '65536'");
    EXPECT_EQ(parse_address("[::1]:99999999999999999999").error,
              "expected an address host:port, :port or [ipv6]:port, got '[::1]:99999999999999999999'");
    EXPECT_EQ(parse_address("fe80::1:80").error,
              "an IPv6 host must be written in brackets ([::1]:8080), got 'fe80::1:80'");
}

TEST(Addresses, ToStringRoundTrips) {
    for (const Address& address : {Address{"127.0.0.1", 8080}, Address{"", 3333}, Address{"::1", 1}}) {
        EXPECT_EQ(parse_address(address.to_string()).value, address) << address.to_string();
    }
    EXPECT_EQ((Address{"::1", 1}).to_string(), "[::1]:1");
    EXPECT_EQ((Address{"", 3333}).to_string(), ":3333");
}

TEST(Scalars, IntegersDoublesBooleans) {
    EXPECT_EQ(parse_integer("42").value, 42);
    EXPECT_EQ(parse_integer("+42").value, 42);
    EXPECT_EQ(parse_integer("-9223372036854775808").value, std::numeric_limits<std::int64_t>::min());
    for (const char* text : {"", "-", "+", "0x10", "1_000", "1.0", "1e3", " 1", "--1"}) {
        EXPECT_FALSE(parse_integer(text).value) << text;
    }
    EXPECT_EQ(parse_double("1").value, 1.0);
    EXPECT_EQ(parse_double("-2.5e-1").value, -0.25);
    EXPECT_EQ(parse_double("+.5").value, 0.5);
    for (const char* text : {"", "nan", "inf", "-inf", "1e999", "1.0.0", "1,5"}) {
        EXPECT_FALSE(parse_double(text).value) << text;
    }
    EXPECT_EQ(parse_bool("TRUE").value, true);
    EXPECT_EQ(parse_bool("False").value, false);
    EXPECT_FALSE(parse_bool("yes").value);  // one spelling per concept
}

TEST(Suggestions, EditDistanceAndPrefix) {
    const std::vector<std::string_view> keys{"threads", "priority"};
    EXPECT_EQ(edit_distance("thread", "threads"), 1u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(suggest("thread", keys), "threads");
    EXPECT_EQ(suggest("THREADS", keys), "threads");
    EXPECT_EQ(suggest("prio", keys), "priority");        // prefix
    EXPECT_EQ(suggest("priority_nice", keys), "priority");  // extension
    EXPECT_EQ(suggest("thrds", keys), "threads");        // distance 2: still a typo
    EXPECT_EQ(suggest("xhrxxds", keys), std::nullopt);   // distance 3: something else
    EXPECT_EQ(suggest("pr", keys), std::nullopt);        // too short a stem
    EXPECT_EQ(suggest("colour", keys), std::nullopt);
}

// ---- JSON views

TEST(Json, EscapesStringsAndKeepsTypes) {
    Value value = Value::object();
    value["text"] = "quote\" backslash\\ newline\n tab\t bell\x07 caf\xc3\xa9";
    value["int"] = -12;
    value["double"] = 2.0;
    value["flag"] = false;
    value["none"] = nullptr;
    value["list"] = Value::Array{1, "two", Value::object()};
    EXPECT_EQ(to_json(value),
              R"({"text":"quote\" backslash\\ newline\n tab\t bell\u0007 caf)"
              "\xc3\xa9"
              R"(","int":-12,"double":2.0,"flag":false,"none":null,"list":[1,"two",{}]})");
}

TEST(Json, TypedSubtrees) {
    const Config c = defaults();
    EXPECT_EQ(c.subtree_json("mining.cpu"), R"({"threads":0,"priority":0,"affinity":false,"huge_pages":true})");
    EXPECT_EQ(c.subtree_json("pool"), R"({"enable":true,"address":"0.0.0.0:3333","max_connections":10000,)"
                                      R"("fee_percentage":1.0,"rewards":{"system":"PPLNS","window":"2h",)"
                                      R"("confirmations":10,"reserve_floor":0},"fee_account":"pool",)"
                                      R"("payments":{"minimum":0,"interval":"10m","wallet":"devnet","rpc_url":"","rpc_user":"","rpc_password":"",)"
                                      R"("rpc_cookie_file":"","wallet_name":"","subtract_fee":false,"confirmations":6},)"
                                      R"("verify_dataset":"light","source":"devnet","coins":[]})");
    EXPECT_EQ(c.subtree_json("mining.asic"), R"({"devices":[],"poll_interval":"100ms"})");
    EXPECT_EQ(c.subtree_json("log.level"), R"("info")");
    EXPECT_EQ(c.subtree_json("mining.gpu.intensity"), "20");
    EXPECT_EQ(c.subtree_json("mining.cpu.nope"), std::nullopt);
    EXPECT_EQ(c.subtree_json("mining..cpu"), std::nullopt);
    EXPECT_EQ(c.subtree_json("app.name.deeper"), std::nullopt);
    const auto everything = c.subtree_json("");
    ASSERT_TRUE(everything);
    EXPECT_TRUE(everything->starts_with(R"({"app":{"name":"otedama","mode":"pool"},"mining":{)")) << *everything;
    EXPECT_TRUE(everything->ends_with(R"("devnet":{}})")) << *everything;
}

TEST(Json, FreeFormMapsKeepTheirFullContent) {
    const Config c = load_ok(R"(devnet:
  block_time: 10s
  difficulty: 1
  premine: -5
  version: 1.10
  ratio: 0.5
  mine: true
  quoted: "123"
  tagged: !!str 42
  nothing: ~
  empty:
  text: 'he said "hi"\n'
  nested:
    list: [1, two, {three: 3}]
    deeper: {ok: false}
)");
    EXPECT_EQ(c.subtree_json("devnet"),
              R"({"block_time":"10s","difficulty":1,"premine":-5,"version":"1.10","ratio":"0.5","mine":true,)"
              R"("quoted":"123","tagged":"42","nothing":null,"empty":null,"text":"he said \"hi\"\\n",)"
              R"("nested":{"list":[1,"two",{"three":3}],"deeper":{"ok":false}}})");
    EXPECT_EQ(c.subtree_json("devnet.nested.deeper"), R"({"ok":false})");
    EXPECT_EQ(c.subtree_json("devnet.nested.list"), R"([1,"two",{"three":3}])");
}

TEST(Json, PluginSettings) {
    const Config c = load_ok(R"(plugins:
  settings:
    otedama.stratum:
      port: 3333
      banner: "welcome"
      vardiff: {min: 1, max: 65536}
    otedama.empty:
)");
    EXPECT_EQ(c.plugin_settings_json("otedama.stratum"),
              R"({"port":3333,"banner":"welcome","vardiff":{"min":1,"max":65536}})");
    EXPECT_EQ(c.plugin_settings_json("otedama.empty"), "{}");
    EXPECT_EQ(c.plugin_settings_json("otedama.absent"), "{}");
    EXPECT_EQ(c.plugin_settings_json("otedama"), "{}");  // ids match exactly, not by dotted prefix
    EXPECT_EQ(defaults().plugin_settings_json("otedama.stratum"), "{}");
}

// ---- Dumping

TEST(ToYaml, RoundTripsDefaultsAndEdits) {
    EXPECT_EQ(load_ok(to_yaml(defaults())), defaults());

    Config edited = load_ok(R"(app: {mode: solo}
mining: {gpu: {devices: [1, 3]}, asic: {poll_interval: 1500ms}}
pool: {address: ":4444", fee_percentage: 0.25}
api: {address: "[::1]:8080"}
log: {file: /var/log/otedama.log}
devnet: {a: "true", b: "123", c: "", d: "~", e: [x, 1, null], "7": seven, f: "multi
  line"}
plugins: {settings: {p.one: {k: v}}}
)");
    const std::string dumped = to_yaml(edited);
    EXPECT_EQ(load_ok(dumped), edited) << dumped;
    EXPECT_NE(dumped.find("mode: solo"), std::string::npos) << dumped;
}

// ---- miner.pools (a list of maps, checked element by element)

TEST(MinerPools, ReadInOrderAndRenderedAsJson) {
    const Config c = load_ok(R"(miner:
  pools:
    - {url: "stratum+tcp://pool.example.com:3333", user: addr.rig1, pass: x}
    - url: stratum+ssl://[2001:db8::1]:3443#xnsub
      user: addr.rig1
      pass: 123
)");
    ASSERT_EQ(c.miner.pools.size(), 2u);
    EXPECT_EQ(c.miner.pools[0].url, "stratum+tcp://pool.example.com:3333");
    EXPECT_EQ(c.miner.pools[1].pass, "123");
    EXPECT_EQ(c.subtree_json("miner.pools").value_or(""),
              R"([{"url":"stratum+tcp://pool.example.com:3333","user":"addr.rig1","pass":"x"},)"
              R"({"url":"stratum+ssl://[2001:db8::1]:3443#xnsub","user":"addr.rig1","pass":"123"}])");
    EXPECT_EQ(load_ok(to_yaml(c)), c);
}

TEST(MinerPools, ErrorsNameTheElementAndTheField) {
    EXPECT_EQ(load_one_error("miner:\n  pools:\n    - {url: \"http://x:1\", user: u}\n").to_string(),
              "test.yaml:3:13: miner.pools[0].url: unknown scheme 'http' (use stratum+tcp:// or stratum+ssl://)");
    EXPECT_EQ(load_one_error("miner:\n  pools:\n    - {url: \"pool:3333\", user: u, password: p}\n").to_string(),
              "test.yaml:3:35: miner.pools[0].password: unknown key 'password' (known: url, user, pass)");
    EXPECT_EQ(load_one_error("miner:\n  pools:\n    - {url: \"pool\", user: u}\n").message, "the port is missing (write host:port)");
    EXPECT_EQ(load_one_error("miner:\n  pools:\n    - {url: \"pool:1\"}\n").message,
              "a pool needs a user (often the payout address, with .worker appended)");
    EXPECT_EQ(load_one_error("miner:\n  pools: [stratum+tcp://pool:1]\n").message,
              "expected a map {url, user, pass}, got 'stratum+tcp://pool:1'");
}

// ---- node (coin-node job sources: monerod, bitcoind)

TEST(Node, DefaultsAndDaemonsInOrder) {
    const Config d = defaults();
    EXPECT_TRUE(d.node.daemons.empty());
    EXPECT_EQ(d.node.payout_address, "");
    EXPECT_EQ(d.node.coin, "");
    EXPECT_EQ(d.node.poll_interval, 1s);
    EXPECT_EQ(d.node.reserve_size, 8);
    const Config c = load_ok(R"(node:
  daemons:
    - {url: "http://127.0.0.1:18081"}
    - url: https://[::1]:8332/wallet/w
      cookie_file: /var/lib/bitcoind/.cookie
      zmq: tcp://127.0.0.1:28332
      user: u
      pass: p
  payout_address: addr
  coin: XMR
  poll_interval: 500ms
  reserve_size: 16
)");
    ASSERT_EQ(c.node.daemons.size(), 2u);
    EXPECT_EQ(c.node.daemons[0].url, "http://127.0.0.1:18081");
    EXPECT_EQ(c.node.daemons[1].cookie_file, "/var/lib/bitcoind/.cookie");
    EXPECT_EQ(c.node.daemons[1].zmq, "tcp://127.0.0.1:28332");
    EXPECT_EQ(c.node.poll_interval, 500ms);
    EXPECT_EQ(c.node.reserve_size, 16);
    EXPECT_EQ(c.subtree_json("node").value_or(""),
              R"({"daemons":[{"url":"http://127.0.0.1:18081","user":"","pass":"","cookie_file":"","zmq":""},)"
              R"({"url":"https://[::1]:8332/wallet/w","user":"u","pass":"p","cookie_file":"/var/lib/bitcoind/.cookie","zmq":"tcp://127.0.0.1:28332"}],)"
              R"("payout_address":"addr","coin":"XMR","poll_interval":"500ms","reserve_size":16})");
    EXPECT_EQ(load_ok(to_yaml(c)), c);
}

TEST(Node, ErrorsNameTheElementAndTheField) {
    EXPECT_EQ(load_one_error("node:\n  daemons:\n    - {url: \"stratum+tcp://x:1\"}\n").to_string(),
              "test.yaml:3:13: node.daemons[0].url: unknown scheme 'stratum+tcp' (use http:// or https://)");
    EXPECT_EQ(load_one_error("node:\n  daemons:\n    - {url: \"http://x:1\", password: p}\n").to_string(),
              "test.yaml:3:27: node.daemons[0].password: unknown key 'password' (known: url, user, pass, cookie_file, zmq)");
    EXPECT_EQ(load_one_error("node:\n  daemons:\n    - {user: u}\n").message, "a daemon needs a url (http://host:port of the node's RPC)");
    EXPECT_EQ(load_one_error("node:\n  daemons:\n    - {url: \"http://u:p@x:1\"}\n").key, "node.daemons[0].url");
    EXPECT_EQ(load_one_error("node:\n  daemons:\n    - {url: \"http://x:1\", zmq: \"x:1\"}\n").to_string(),
              "test.yaml:3:32: node.daemons[0].zmq: expected the node's ZMQ publisher as tcp://host:port, got 'x:1'");
    EXPECT_EQ(load_one_error("node:\n  daemons: [http://x:1]\n").message,
              "expected a map {url, user, pass, cookie_file, zmq}, got 'http://x:1'");
    EXPECT_EQ(load_one_error("node:\n  reserve_size: 300\n").key, "node.reserve_size");
    EXPECT_EQ(load_one_error("node:\n  poll_interval: soon\n").key, "node.poll_interval");
    EXPECT_EQ(load_one_error("node:\n  payot_address: x\n").key, "node.payot_address");
}

TEST(Schema, DescribesEveryKey) {
    const auto keys = describe_schema();
    ASSERT_EQ(keys.size(), 70u);
    EXPECT_EQ(keys.front().path, "app.name");
    EXPECT_EQ(keys.back().path, "devnet");
    for (const KeyInfo& key : keys) {
        EXPECT_FALSE(key.meaning.empty()) << key.path;
        EXPECT_FALSE(key.type.empty()) << key.path;
    }
    const auto find = [&](std::string_view path) {
        return *std::find_if(keys.begin(), keys.end(), [&](const KeyInfo& k) { return k.path == path; });
    };
    EXPECT_EQ(find("mining.cpu.priority").type, "integer 0..19");
    EXPECT_EQ(find("mining.cpu.threads").type, "integer >= 0");
    EXPECT_EQ(find("app.mode").type, "one of pool, miner, solo, p2p");
    EXPECT_EQ(find("pool.fee_percentage").type, "number 0..100");
    EXPECT_EQ(find("mining.gpu.devices").type, "list of integers >= 0");
    EXPECT_EQ(find("mining.gpu.backends").type, "list of distinct names from cuda, opencl, vulkan");
    EXPECT_EQ(find("mining.gpu.backends").default_yaml, "[cuda, opencl, vulkan]");
}

// mining.gpu.backends: which backend mines a GPU several list (core/scheduler/device_selection.hpp).
TEST(GpuBackends, DefaultOrderAndChecks) {
    const LoadResult ok = load_string("mining:\n  gpu:\n    backends: [vulkan, opencl]\n", "test.yaml");
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok.config->mining.gpu.backends, (std::vector<std::string>{"vulkan", "opencl"}));
    const LoadResult none = load_string("mining:\n  gpu:\n    backends: []\n", "test.yaml");
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none.config->mining.gpu.backends.empty());
    const LoadResult defaults = load_string("", "test.yaml");
    ASSERT_TRUE(defaults.ok());
    EXPECT_EQ(defaults.config->mining.gpu.backends, (std::vector<std::string>{"cuda", "opencl", "vulkan"}));
    EXPECT_EQ(load_one_error("mining:\n  gpu:\n    backends: [cuda, metal]\n").to_string(),
              "test.yaml:3:22: mining.gpu.backends[1]: expected one of cuda, opencl, vulkan, got 'metal'");
    EXPECT_EQ(load_one_error("mining:\n  gpu:\n    backends: [opencl, cuda, opencl]\n").to_string(),
              "test.yaml:3:30: mining.gpu.backends[2]: 'opencl' is listed twice");
    EXPECT_EQ(load_one_error("mining:\n  gpu:\n    backends: CUDA\n").to_string(),
              "test.yaml:3:15: mining.gpu.backends: expected a list of distinct names from cuda, opencl, vulkan, got 'CUDA'");
}

// ---- pool.coins (several coins in one process)

constexpr std::string_view kTwoCoins = R"(mining:
  algorithm: scrypt
pool:
  address: 127.0.0.1:3333
  fee_percentage: 2.0
  rewards:
    system: PPLNS
    window: 1h
  payments:
    minimum: 1000
  coins:
    - coin: DEVBTC
      algorithm: sha256d
      address: 127.0.0.1:4001
      address_network: bitcoin-regtest
      rewards: {system: PPS, reserve_floor: 5}
      payments: {minimum: 50000, interval: 30s}
      devnet: {difficulty: 0.5}
    - coin: DEVLTC
      address: 127.0.0.1:4002
      fee_percentage: 0.5
      node: {poll_interval: 2s}
      stratum: {difficulty: 0.001, vardiff: {enabled: false}}
devnet:
  block_time: 0
  reward: 5000000000
)";

TEST(Coins, EmptyByDefaultAndSingleCoinConfigsHaveNone) {
    EXPECT_TRUE(defaults().pool.coins.empty());
    EXPECT_TRUE(coin_configs(defaults()).empty());
}

TEST(Coins, EntriesInheritTopLevelKeysTheyDoNotGive) {
    const Config c = load_ok(kTwoCoins);
    ASSERT_EQ(c.pool.coins.size(), 2u);
    const auto coins = coin_configs(c);
    ASSERT_EQ(coins.size(), 2u);
    const Config& btc = coins[0].config;
    EXPECT_EQ(coins[0].coin, "DEVBTC");
    EXPECT_EQ(coins[0].algorithm, "sha256d");
    EXPECT_EQ(coins[0].address_network, "bitcoin-regtest");
    EXPECT_EQ(btc.mining.algorithm, "sha256d");
    EXPECT_EQ(btc.pool.address.to_string(), "127.0.0.1:4001");
    EXPECT_EQ(btc.pool.rewards.system, RewardSystem::pps);
    EXPECT_EQ(btc.pool.rewards.reserve_floor, 5);
    EXPECT_EQ(btc.pool.rewards.window, 1h);  // inherited
    EXPECT_EQ(btc.pool.payments.minimum, 50000);
    EXPECT_EQ(btc.pool.payments.interval, 30s);
    EXPECT_DOUBLE_EQ(btc.pool.fee_percentage, 2.0);  // inherited
    EXPECT_EQ(btc.node.coin, "DEVBTC");
    EXPECT_TRUE(btc.pool.coins.empty());
    EXPECT_EQ(to_json(btc.devnet), R"({"block_time":0,"reward":5000000000,"difficulty":"0.5","coin":"DEVBTC","algorithm":"sha256d"})");

    const Config& ltc = coins[1].config;
    EXPECT_EQ(coins[1].algorithm, "scrypt");  // mining.algorithm
    EXPECT_EQ(ltc.pool.address.to_string(), "127.0.0.1:4002");
    EXPECT_EQ(ltc.pool.rewards.system, RewardSystem::pplns);
    EXPECT_EQ(ltc.pool.payments.minimum, 1000);
    EXPECT_DOUBLE_EQ(ltc.pool.fee_percentage, 0.5);
    EXPECT_EQ(ltc.node.poll_interval, 2s);
    EXPECT_EQ(ltc.pool.source, "devnet");
    EXPECT_EQ(to_json(coins[1].stratum), R"({"difficulty":"0.001","vardiff":{"enabled":false}})");
    EXPECT_EQ(to_json(coins[0].stratum), "{}");
    EXPECT_EQ(to_json(ltc.devnet), R"({"block_time":0,"reward":5000000000,"coin":"DEVLTC","algorithm":"scrypt"})");
}

TEST(Coins, RoundTripThroughYaml) {
    const Config c = load_ok(kTwoCoins);
    EXPECT_EQ(load_ok(to_yaml(c)), c);
}

TEST(Coins, ErrorsNameTheEntryAndKey) {
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, address: 127.0.0.1:1}\n    - {coin: B, algorithm: \"\", address: 127.0.0.1:2}\n").to_string(),
              "test.yaml:4:28: pool.coins[1].algorithm: expected an algorithm name (sha256d, scrypt, randomx ...), got an empty value");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: LTC, address: 127.0.0.1:1}\n    - {coin: ltc, address: 127.0.0.1:2}\n").to_string(),
              "test.yaml:4:14: pool.coins[1].coin: coin 'ltc' is already pool.coins[0] (each coin once)");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {algorithm: sha256d}\n").to_string(),
              "test.yaml:3:7: pool.coins[0]: a coin needs its ticker: coin (e.g. LTC)");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: \"L T C\"}\n").key, "pool.coins[0].coin");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, rewards: {system: PPLMS}}\n").to_string(),
              "test.yaml:3:35: pool.coins[0].rewards.system: expected one of PPLNS, PPS, FPPS, PROP, SOLO, got 'PPLMS'");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, payments: {minimun: 5}}\n").to_string(),
              "test.yaml:3:28: pool.coins[0].payments.minimun: unknown key 'minimun' (valid keys: minimum, interval, wallet, rpc_url, rpc_user, "
              "rpc_password, rpc_cookie_file, wallet_name, subtract_fee, confirmations)");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, node: {coin: B}}\n").message,
              "unknown key 'coin' (a coin's ticker is its entry's `coin`)");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, port: 3}\n").message,
              "unknown key 'port' (valid keys: coin, algorithm, address_network, source, address, fee_percentage, fee_account, rewards, payments, node, devnet, stratum)");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, address: nowhere}\n").key, "pool.coins[0].address");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, fee_percentage: 101}\n").key, "pool.coins[0].fee_percentage");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A, node: {daemons: [{url: \"ftp://x\"}]}}\n").key, "pool.coins[0].node.daemons[0].url");
    EXPECT_EQ(load_one_error("pool:\n  coins: {coin: A}\n").message, "expected a list of coins {coin, algorithm, source, address, ...}, got a map");
}

TEST(Coins, CrossChecksNeedTheTopLevelValues) {
    // Both inherit pool.address: one port cannot serve two coins.
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: A}\n    - {coin: B}\n").to_string(),
              "test.yaml: pool.coins[1].address: stratum address 0.0.0.0:3333 is also pool.coins[0]'s (A): each coin needs its own port");
    EXPECT_EQ(load_one_error("pool:\n  coins:\n    - {coin: XMR, algorithm: randomx, address_network: bitcoin-main}\n").to_string(),
              "test.yaml: pool.coins[0].address_network: is for Bitcoin-family coins (sha256d, scrypt); XMR mines randomx");
    // Without a pool server the addresses do not matter.
    EXPECT_EQ(load_ok("pool:\n  enable: false\n  coins:\n    - {coin: A}\n    - {coin: B}\n").pool.coins.size(), 2u);
}

}  // namespace
}  // namespace otedama::config
