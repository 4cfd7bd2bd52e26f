// End-to-end tests of the otedama-host binary as an operator runs it (built-in build-tree plugin paths).
#include <gtest/gtest.h>

#include "host_process.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  std::string out;
};

/// Run the host with `args` (a shell fragment) and capture stdout+stderr and the exit code.
Result host(const std::string& args, const std::string& cwd = "") {
  std::string cmd = (cwd.empty() ? "" : "cd '" + cwd + "' && ") + "env -u OTEDAMA_PLUGIN_PATH '" OTEDAMA_HOST "' " + args + " 2>&1";
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
  const fs::path d = fs::temp_directory_path() / ("otedama-cli-" + std::to_string(::getpid()) + "-" +
                                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

/// A configuration for `serve`: `yaml` with the API, metrics and health off and pool.address on a free
/// loopback port when it has no pool section (tests/common/host_process.hpp), so no run binds a default port.
std::string serve_config(const std::string& yaml) { return otedama::test::HostConfig(yaml).render(nullptr); }

}  // namespace

TEST(Cli, Version) {
  const Result r = host("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "otedama-host 0.1.0 (plugin ABI 1.0)\n");
}

TEST(Cli, NoArgumentsAndUnknownCommandAreUsageErrors) {
  EXPECT_EQ(host("").code, 2);
  const Result r = host("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown command 'frobnicate'"), std::string::npos) << r.out;
  EXPECT_EQ(host("hash --algo").code, 2);  // option without its value
  EXPECT_EQ(host("--list-plugins --bogus").code, 2);
}

TEST(Cli, ListPluginsShowsEveryKindAndEveryConformanceFixture) {
  const Result r = host("--list-plugins --json");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* id : {"org.otedama.algorithm.sha256d", "org.otedama.backend.cpu", "org.otedama.payout.pplns", "org.otedama.transport.devnet"}) {
    const std::string needle = std::string("{\"id\":\"") + id + "\"";
    const auto at = r.out.find(needle);
    ASSERT_NE(at, std::string::npos) << id << "\n" << r.out;
    const auto line_end = r.out.find('\n', at);
    EXPECT_NE(r.out.substr(at, line_end - at).find("\"status\":\"loaded\""), std::string::npos) << r.out.substr(at, line_end - at);
  }
  // Every fixture of the conformance suite is listed as rejected, with the stage and reason.
  for (const char* fixture : {"conformance-no-entry", "conformance-wrong-major", "conformance-newer-minor", "conformance-struct-too-large",
                              "conformance-null-mandatory", "conformance-duplicate-id", "conformance-failing-self-test",
                              "conformance-failing-init", "conformance-throws", "conformance-no-factory", "conformance-bad-descriptor"}) {
    const auto at = r.out.find(std::string(fixture) + ".so\"");
    ASSERT_NE(at, std::string::npos) << fixture << "\n" << r.out;
    const auto begin = r.out.rfind('{', at), end = r.out.find('\n', at);
    const std::string line = r.out.substr(begin, end - begin);
    EXPECT_NE(line.find("\"status\":\"rejected\""), std::string::npos) << line;
    EXPECT_EQ(line.find("\"reason\":\"\""), std::string::npos) << "no reason given: " << line;
  }
}

TEST(Cli, ListPluginsHumanFormat) {
  const Result r = host("--list-plugins");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("status rejected at ABI major: ABI major 2 is not supported (host speaks 1.0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("status rejected at duplicate id: duplicate id 'org.otedama.algorithm.sha256d'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" loaded, "), std::string::npos);
}

TEST(Cli, ListDevicesShowsTheCpu) {
  const Result r = host("--list-devices --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"id\":\"cpu0\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"backend\":\"org.otedama.backend.cpu\""), std::string::npos) << r.out;
}

TEST(Cli, HashBitcoinGenesisHeader) {
  // Bitcoin block 0 header (public blockchain data); its hash is
  // 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f as explorers print it.
  const std::string header =
      "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
      "4b1e5e4a29ab5f49ffff001d1dac2b7c";
  Result r = host("hash --algo sha256d --hex " + header);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f\n");
  r = host("hash --algo sha256d --raw --hex " + header);
  EXPECT_EQ(r.out, "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000\n");
  r = host("hash --algo sha256d --hex 0g");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("not valid hexadecimal"), std::string::npos) << r.out;
  r = host("hash --algo nosuchalgo --hex 00");
  EXPECT_EQ(r.code, 5);
  EXPECT_NE(r.out.find("no loaded algorithm plugin named 'nosuchalgo'"), std::string::npos) << r.out;
}

TEST(Cli, HashLitecoinGenesisHeaderWithScrypt) {
  // Litecoin block 0 header (litecoin-project/litecoin src/chainparams.cpp: CreateGenesisBlock(1317972665,
  // 2084524493, 0x1e0ffff0, 1, 50 * COIN)); its scrypt proof-of-work hash, display order, as the scrypt
  // plugin's known answers cite it (mycroft/generate-genesis README, "Ctrl Hash").
  const std::string header =
      "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a1"
      "7c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c";
  const Result r = host("hash --algo scrypt --hex " + header);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00\n");
}

TEST(Cli, MalformedConfigNamesFileLineAndKey) {
  const fs::path d = temp_dir();
  write(d / "bad-type.yaml", "mining:\n  cpu:\n    threads: many\n");
  Result r = host("serve --config " + (d / "bad-type.yaml").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find((d / "bad-type.yaml").string() + ":3:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mining.cpu.threads"), std::string::npos) << r.out;

  write(d / "unknown.yaml", "pool:\n  max_conections: 5\n");
  r = host("serve --config " + (d / "unknown.yaml").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find((d / "unknown.yaml").string() + ":2:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max_conections"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean 'max_connections'"), std::string::npos) << r.out;

  r = host("serve --config " + (d / "missing.yaml").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find((d / "missing.yaml").string()), std::string::npos) << r.out;

  r = host("config check " + (d / "unknown.yaml").string());
  EXPECT_EQ(r.code, 2);
  r = host("config check " + std::string(OTEDAMA_SOURCE_ROOT) + "/etc/otedama.yaml");
  EXPECT_EQ(r.code, 0) << r.out;
  fs::remove_all(d);
}

// Every ready-made config in etc/examples/ (monerod.yaml, ...) passes `config check` as shipped.
TEST(Cli, ExampleConfigsPassConfigCheck) {
  const fs::path dir = fs::path(OTEDAMA_SOURCE_ROOT) / "etc" / "examples";
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    const Result r = host("config check '" + entry.path().string() + "'");
    EXPECT_EQ(r.code, 0) << entry.path() << ": " << r.out;
    ++checked;
  }
  EXPECT_TRUE(fs::exists(dir / "monerod.yaml"));
  EXPECT_GE(checked, 1u);
}

// `mine --solo` checks its arguments before it loads anything (tests/plugins/transport/monerod mines with it).
TEST(Cli, MineSoloArgumentErrors) {
  Result r = host("mine --solo --address x -a randomx");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--solo needs --node URL"), std::string::npos) << r.out;
  r = host("mine --solo --node http://127.0.0.1:18081 -a randomx");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--solo needs --address ADDR"), std::string::npos) << r.out;
  r = host("mine --solo --node ftp://h:1 --address x -a randomx");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unknown scheme 'ftp'"), std::string::npos) << r.out;
  r = host("mine --solo --node http://127.0.0.1:18081 --address x -a ethash");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("no coin-node job source for 'ethash'"), std::string::npos) << r.out;
  r = host("mine --solo -o stratum+tcp://h:1 --node http://h:1 --address x -a randomx");
  EXPECT_EQ(r.code, 2) << r.out;
  r = host("mine --node http://h:1 -o stratum+tcp://h:1 -u u");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("go with --solo"), std::string::npos) << r.out;
}

TEST(Cli, ServeMinesTheDevnetAndStatusReadsTheLedger) {
  const fs::path d = temp_dir();
  // The shipped config with a tiny devnet difficulty so the short run finds blocks on any machine.
  write(d / "otedama.yaml", serve_config(
        "mining:\n  cpu:\n    threads: 2\npool:\n  enable: false\nstorage:\n  path: " + (d / "ledger.db").string() +
            "\ndevnet:\n  difficulty: 0.00001\n  block_time: 0\n  refresh: 5s\n"));
  const Result r = host("serve --config " + (d / "otedama.yaml").string() + " --run-for 4", d.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("block found at height 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("devnet DEVNET: block 1 accepted"), std::string::npos) << r.out;
  // The build tree's deliberately broken fixtures are for listings, not for a running host.
  EXPECT_EQ(r.out.find("rejected plugin"), std::string::npos) << r.out;
  const Result s = host("status --json --config " + (d / "otedama.yaml").string());
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_NE(s.out.find("\"block\":true"), std::string::npos) << s.out;
  EXPECT_EQ(s.out.find("\"shares\":0,"), std::string::npos) << s.out;
  fs::remove_all(d);
}

TEST(Cli, ServeWithAnUnknownJobSourceFails) {
  const fs::path d = temp_dir();
  write(d / "otedama.yaml", serve_config("pool:\n  source: nosuchsource\n  enable: false\nstorage:\n  path: " + (d / "l.db").string() + "\n"));
  const Result r = host("serve --config " + (d / "otedama.yaml").string() + " --run-for 1", d.string());
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("no job source: pool.source is 'nosuchsource'"), std::string::npos) << r.out;
  fs::remove_all(d);
}

TEST(Cli, BenchJsonReportsTheFields) {
  // No timing is asserted: only that hashes were counted and the report is complete.
  const Result r = host("bench --algo sha256d --threads 2 --seconds 1 --warmup 0 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* key : {"\"algo\":\"sha256d\"", "\"threads\":2", "\"implementation\":\"", "\"hashrate\":", "\"samples\":["})
    EXPECT_NE(r.out.find(key), std::string::npos) << key << " in " << r.out;
  EXPECT_EQ(r.out.find("\"hashrate\":0.0"), std::string::npos) << r.out;
  EXPECT_EQ(host("bench --algo sha256d --seconds 0").code, 2);
  EXPECT_EQ(host("bench --algo nosuch --seconds 1").code, 5);
}

TEST(Cli, AQueuedDeviceIsKeptFedAcrossJobs) {
  // An ASIC-style queued device (tests/core/scheduler/queued_backend.cpp) hashes only 4096 nonces of each
  // unit and never says a unit is done: it finds blocks only while the host keeps pushing fresh work.
  const fs::path d = temp_dir();
  write(d / "otedama.yaml", serve_config(std::string("mining:\n  enable_cpu: false\n  enable_asic: true\npool:\n  enable: false\nplugins:\n  dirs: [") + TEST_PLUGIN_DIR +
                                "]\nstorage:\n  path: " + (d / "ledger.db").string() + "\ndevnet:\n  difficulty: 0.00001\n  block_time: 0\n  refresh: 1s\n"));
  const Result r = host("serve --config " + (d / "otedama.yaml").string() + " --run-for 5", d.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("device test-asic0 (test queued stick) on org.test.backend.queued: 1 lane(s), queued"), std::string::npos) << r.out;
  size_t blocks = 0;
  for (size_t at = r.out.find("by local:test-asic0"); at != std::string::npos; at = r.out.find("by local:test-asic0", at + 1)) ++blocks;
  // 4 units x 4096 nonces hold ~0.4 expected blocks at this difficulty: more means the host kept feeding.
  EXPECT_GE(blocks, 3u) << r.out;
  fs::remove_all(d);
}

TEST(Cli, HashReproducesTheMemoryHardAlgorithmsVectors) {
  // RandomX: tevador/RandomX src/tests/tests.cpp "Hash test 1a" (key "test key 000", input "This is a
  // test"), raw output order.
  Result r = host("hash --algo randomx --key 74657374206b657920303030 --hex 5468697320697320612074657374");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("639183aae1bf4c9a35884cb46b09cad9175f04efd7684e7262a0ac1c2f0b4e3f"), std::string::npos) << r.out;
  // Ethash: chfast/ethash test/unittests/test_cases.hpp hash_test_cases[0] (block 0, nonce 0x4242424242424242).
  r = host("hash --algo ethash --height 0 --nonce 4242424242424242 --header 2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("mix_hash 58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("final_hash dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906\n"), std::string::npos) << r.out;
  // KawPow: RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp, block 0, zero header and nonce.
  r = host("hash --algo kawpow --height 0 --nonce 0 --header 0000000000000000000000000000000000000000000000000000000000000000");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("mix_hash 6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("final_hash e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1\n"), std::string::npos) << r.out;
  // Missing context arguments are usage errors.
  EXPECT_EQ(host("hash --algo randomx --hex 00").code, 2);
  EXPECT_EQ(host("hash --algo ethash --height x --nonce 0 --header 00").code, 2);
}

// `serve` on the devnet with local mining: blocks are found, confirmed (1 confirmation: the next template) and
// credited by the configured scheme; `ledger` shows them, the balances they made, and the payments (none: the
// minimum payout is out of reach here; PaymentsArePaidThroughTheDevnetWallet pays).
TEST(Cli, LedgerShowsCreditedBlocksBalancesAndPayments) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "otedama.yaml").string();
  write(d / "otedama.yaml", serve_config(
        "mining:\n  cpu:\n    threads: 2\npool:\n  enable: false\n  fee_percentage: 2.5\n  fee_account: operator\n"
        "  rewards:\n    system: PROP\n    confirmations: 1\n  payments:\n    minimum: 1000000000000000000\n    interval: 1s\n"
        "storage:\n  path: " + (d / "ledger.db").string() +
            "\ndevnet:\n  difficulty: 0.00001\n  block_time: 0\n  refresh: 5s\n"));
  const Result r = host("serve --config " + cfg + " --run-for 5", d.string());
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_NE(r.out.find("credited by PROP"), std::string::npos) << r.out;

  const Result blocks = host("ledger blocks --json --limit 1000000 --config " + cfg);
  ASSERT_EQ(blocks.code, 0) << blocks.out;
  EXPECT_NE(blocks.out.find("\"status\":\"confirmed\""), std::string::npos) << blocks.out;
  EXPECT_NE(blocks.out.find("\"credited\":true,\"scheme\":\"PROP\""), std::string::npos) << blocks.out;
  EXPECT_NE(blocks.out.find("\"coin\":\"DEVNET\""), std::string::npos) << blocks.out;
  // Local devices' shares belong to the pool: the operator's account gets every credited reward (fee included).
  const Result balances = host("ledger balances --json --coin DEVNET --config " + cfg);
  ASSERT_EQ(balances.code, 0) << balances.out;
  // (stderr is in the output too: the storage's info line comes first.)
  EXPECT_NE(balances.out.find("\n[{\"coin\":\"DEVNET\",\"account\":\"operator\",\"amount\":"), std::string::npos) << balances.out;
  EXPECT_EQ(balances.out.find("},{"), std::string::npos) << "one account only: " << balances.out;
  const Result text = host("ledger balances --config " + cfg);
  EXPECT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("1 balance(s)"), std::string::npos) << text.out;
  const auto ends_with_empty_list = [](const std::string& out) { return out.size() >= 4 && out.substr(out.size() - 4) == "\n[]\n"; };
  EXPECT_TRUE(ends_with_empty_list(host("ledger balances --json --coin NOSUCH --config " + cfg).out));
  const Result payments = host("ledger payments --config " + cfg);
  EXPECT_EQ(payments.code, 0) << payments.out;
  EXPECT_NE(payments.out.find("0 payment(s), newest first"), std::string::npos) << payments.out;
  EXPECT_TRUE(ends_with_empty_list(host("ledger payments --json --config " + cfg).out));

  // Usage errors name what was wrong.
  Result bad = host("ledger nonsense --config " + cfg);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("ledger balances|blocks|payments"), std::string::npos) << bad.out;
  bad = host("ledger blocks --limit 0 --config " + cfg);
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--limit: expected a positive integer, got '0'"), std::string::npos) << bad.out;
  fs::remove_all(d);
}

// PPS: every share is credited its expected value as it is stored, the pool's reserve pays it (and is
// refilled by confirmed blocks); the balance is the sum of the per-share credits.
TEST(Cli, PpsCreditsEveryShareFromTheReserve) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "otedama.yaml").string();
  write(d / "otedama.yaml", serve_config(
        "mining:\n  cpu:\n    threads: 1\npool:\n  enable: false\n  fee_percentage: 1\n"
        "  rewards:\n    system: PPS\n    confirmations: 3\n    reserve_floor: 1000000000000000\nstorage:\n  path: " +
            (d / "ledger.db").string() + "\ndevnet:\n  difficulty: 0.001\n  block_time: 1s\n  refresh: 5s\n"));
  const Result r = host("serve --config " + cfg + " --run-for 5", d.string());
  ASSERT_EQ(r.code, 0) << r.out;
  // The floor is far above anything the devnet pays: the warning must come, once.
  const auto warn = r.out.find("PPS reserve for DEVNET is");
  EXPECT_NE(warn, std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("PPS reserve for DEVNET is", warn + 1), std::string::npos) << "warned more than once:\n" << r.out;
  const Result balances = host("ledger balances --json --config " + cfg);
  ASSERT_EQ(balances.code, 0) << balances.out;
  EXPECT_NE(balances.out.find("{\"coin\":\"DEVNET\",\"account\":\"pool\",\"amount\":"), std::string::npos) << balances.out;
  fs::remove_all(d);
}

// Payments through serve: balances at or above pool.payments.minimum are paid through the devnet wallet (a
// file next to the ledger), written as intents first; `ledger payments` shows them sent with their txids.
TEST(Cli, PaymentsArePaidThroughTheDevnetWallet) {
  const fs::path d = temp_dir();
  const std::string cfg = (d / "otedama.yaml").string();
  write(d / "otedama.yaml", serve_config(
        "mining:\n  cpu:\n    threads: 1\npool:\n  enable: false\n  fee_account: operator\n"
        "  rewards:\n    system: SOLO\n    confirmations: 1\n  payments:\n    minimum: 1000\n    interval: 1s\n"
        "storage:\n  path: " + (d / "ledger.db").string() + "\ndevnet:\n  difficulty: 0.001\n  block_time: 1s\n  refresh: 5s\n"));
  const Result r = host("serve --config " + cfg + " --run-for 6", d.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const Result payments = host("ledger payments --json --config " + cfg);
  ASSERT_EQ(payments.code, 0) << payments.out;
  EXPECT_NE(payments.out.find("\"account\":\"operator\""), std::string::npos) << payments.out;
  EXPECT_NE(payments.out.find("\"status\":\"sent\""), std::string::npos) << payments.out;
  EXPECT_EQ(payments.out.find("\"status\":\"intent\""), std::string::npos) << "an intent was left unsent:\n" << payments.out;
  EXPECT_NE(payments.out.find("\"idempotency_key\":\"DEVNET-payment-1\""), std::string::npos) << payments.out;
  // The wallet's file holds each payment once.
  std::ifstream wallet(d / "ledger.db.devnet-wallet");
  std::string line;
  int lines = 0;
  while (std::getline(wallet, line)) ++lines;
  EXPECT_GE(lines, 1);
  EXPECT_EQ(static_cast<size_t>(lines), static_cast<size_t>(std::count(payments.out.begin(), payments.out.end(), '{'))) << payments.out;
  fs::remove_all(d);
}
