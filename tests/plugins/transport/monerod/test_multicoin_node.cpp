// Several coins in one process with a real node (pool.coins): one `otedama-host serve` runs
//   - XMR: a real monerod --regtest --offline --fixed-difficulty 100 on loopback (Debian's `monero` package),
//     source monerod, mined by the host's local CPU (mining.algorithm randomx: the first coin of that
//     algorithm) on the light cache (no 2 GiB dataset to build: the blocks need only ~100 hashes), PPLNS;
//   - DEVSHA: the built-in devnet chain (sha256d), its own stratum port with address_network bitcoin-regtest,
//     mined by an `otedama-host mine` process, PPS.
// Checked: monerod's height rises by blocks the host submitted (each looked up on the node's main chain),
// the devnet chain accepts blocks too, and the ledger keeps them apart: every XMR block in the ledger is one
// monerod has on its chain, DEVSHA blocks are credited by PPS, and the devnet miner's balance exists in
// DEVSHA only. monerod is stopped by its PID; every child is killed by its guard on a failure.
#include "child.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <string>

namespace {

using namespace monerod_test;

// The Monero General Fund's address (regtest takes mainnet addresses; as in the recorded fixtures).
constexpr const char* kXmrAddress =
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";
constexpr const char* kBtcAddress = "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9";

/// monerod's JSON-RPC (plain HTTP/1.0 over a socket): the whole answer, "" when it does not answer.
std::string monerod_rpc(uint16_t port, const std::string& method, const std::string& params = "{}") {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return "";
    }
    const std::string body = R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}";
    const std::string req = "POST /json_rpc HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[8192];
    // monerod keeps an HTTP/1.0 connection open after its answer: read up to Content-Length, not to the close
    // (waiting for the close cost the receive timeout, 10 s, per call).
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        const size_t end = out.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        static const std::regex length_re(R"re(\r\n[Cc]ontent-[Ll]ength:\s*([0-9]+))re");
        std::smatch m;
        const std::string head = out.substr(0, end);
        if (std::regex_search(head, m, length_re) && out.size() >= end + 4 + std::stoull(m[1].str())) break;
    }
    ::close(fd);
    return out;
}

std::optional<uint64_t> node_height(uint16_t port) {
    static const std::regex re(R"re("height"\s*:\s*([0-9]+))re");
    const std::string r = monerod_rpc(port, "get_info");
    std::smatch m;
    if (!std::regex_search(r, m, re)) return std::nullopt;
    return std::stoull(m[1].str());
}

/// The block hash monerod has at `height` on its main chain ("" when none).
std::string hash_at(uint16_t port, uint64_t height) {
    static const std::regex re(R"re("hash"\s*:\s*"([0-9a-f]{64})")re");
    const std::string r = monerod_rpc(port, "get_block_header_by_height", R"({"height":)" + std::to_string(height) + "}");
    std::smatch m;
    return std::regex_search(r, m, re) ? m[1].str() : std::string();
}

std::string run_host(const std::string& args) {
    const std::string cmd = "env -u OTEDAMA_PLUGIN_PATH '" OTEDAMA_HOST "' " + args + " 2>/dev/null";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    pclose(p);
    return out;
}

TEST(MonerodMultiCoin, AMonerodCoinAndADevnetCoinInOneProcess) {
    if (!fs::exists(MONEROD)) GTEST_SKIP() << "monerod is not installed (Debian package `monero`)";
    const fs::path dir = fs::temp_directory_path() / ("otedama-monerod-multicoin-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "chain");
    const uint16_t rpc_port = free_port();
    uint16_t p2p_port = free_port();
    while (p2p_port == rpc_port) p2p_port = free_port();
    Child monerod(MONEROD,
                  {"--regtest", "--offline", "--fixed-difficulty", "100", "--data-dir", (dir / "chain").string(), "--rpc-bind-ip", "127.0.0.1",
                   "--rpc-bind-port", std::to_string(rpc_port), "--p2p-bind-ip", "127.0.0.1", "--p2p-bind-port", std::to_string(p2p_port),
                   "--no-igd", "--non-interactive", "--log-level", "0", "--disable-dns-checkpoints", "--check-updates", "disabled", "--no-zmq"},
                  dir, "monerod");
    ASSERT_TRUE(wait_until([&] { return node_height(rpc_port).has_value() || !monerod.running(); }, 180s)) << monerod.log();
    const uint64_t start_height = *node_height(rpc_port);

    const std::string cfg = (dir / "pool.yaml").string();
    uint16_t xmr_port = free_port(), sha_port_wanted = free_port();
    while (xmr_port == rpc_port || xmr_port == p2p_port) xmr_port = free_port();
    while (sha_port_wanted == rpc_port || sha_port_wanted == p2p_port || sha_port_wanted == xmr_port) sha_port_wanted = free_port();
    std::ofstream(cfg) << "storage: {path: " << (dir / "pool.db").string() << "}\n"
                       << "mining: {algorithm: randomx, enable_cpu: true, dataset: light, cpu: {threads: 2, huge_pages: false}}\n"
                       << "api: {enable: false}\nmonitoring: {metrics: {enable: false}, health: {enable: false}}\n"
                       << "pool:\n  rewards: {confirmations: 2}\n  coins:\n"
                       << "    - coin: XMR\n      algorithm: randomx\n      source: monerod\n      address: 127.0.0.1:" << xmr_port << "\n"
                       << "      rewards: {system: PPLNS}\n"
                       << "      node:\n        daemons: [{url: \"http://127.0.0.1:" << rpc_port << "\"}]\n"
                       << "        payout_address: " << kXmrAddress << "\n        poll_interval: 500ms\n"
                       << "    - coin: DEVSHA\n      algorithm: sha256d\n      address: 127.0.0.1:" << sha_port_wanted << "\n      address_network: bitcoin-regtest\n"
                       << "      rewards: {system: PPS}\n"
                       << "      devnet: {difficulty: 0.03, block_time: 0}\n"
                       << "      stratum: {difficulty: 0.002, vardiff: {enabled: false}}\n";
    Child host(OTEDAMA_HOST, {"serve", "--config", cfg}, dir, "host");
    std::smatch m;
    std::string log;
    ASSERT_TRUE(wait_until([&] {
        log = host.log();
        return std::regex_search(log, m, std::regex(R"(listening on 127\.0\.0\.1:([0-9]+) \(bitcoin dialect, sha256d DEVSHA)")) || !host.running();
    })) << host.log();
    ASSERT_TRUE(host.running()) << host.log();
    const std::string sha_port = m[1].str();
    std::ofstream(dir / "miner.yaml") << "storage: {path: " << (dir / "miner.db").string()
                                      << "}\napi: {enable: false}\nmonitoring: {metrics: {enable: false}, health: {enable: false}}\n";
    Child miner(OTEDAMA_HOST,
                {"mine", "-o", "stratum+tcp://127.0.0.1:" + sha_port, "-u", std::string(kBtcAddress) + ".rig", "-p", "x", "-a", "sha256d", "-t", "1",
                 "--config", (dir / "miner.yaml").string()},
                dir, "miner");

    // Both chains get our blocks: monerod's through the XMR instance of the monerod source, the devnet's.
    static const std::regex xmr_re("monerod: block ([0-9]+) ([0-9a-f]{64}) accepted by");
    const auto xmr_accepted = [&] {
        const std::string l = host.log();
        std::vector<std::pair<uint64_t, std::string>> out;
        for (auto it = std::sregex_iterator(l.begin(), l.end(), xmr_re); it != std::sregex_iterator(); ++it)
            out.emplace_back(std::stoull((*it)[1].str()), (*it)[2].str());
        return out;
    };
    ASSERT_TRUE(wait_until([&] {
        const std::string l = host.log();
        return (xmr_accepted().size() >= 2 && l.find("devnet DEVSHA: block 3 accepted") != std::string::npos) || !host.running();
    })) << host.log() << miner.log();
    ASSERT_TRUE(host.running()) << host.log();
    EXPECT_NE(host.log().find("coin XMR: randomx from org.otedama.transport.monerod@XMR"), std::string::npos) << host.log();
    const auto ours = xmr_accepted();
    size_t on_chain = 0;
    std::set<uint64_t> heights;
    for (const auto& [h, id] : ours)
        if (heights.insert(h).second && hash_at(rpc_port, h) == id) ++on_chain;
    EXPECT_GE(on_chain, 2u) << host.log();
    EXPECT_GE(node_height(rpc_port).value_or(0), start_height + 2);

    // Give the ledger a few seconds to confirm (2 confirmations) and credit, then stop cleanly.
    ASSERT_TRUE(wait_until([&] {
        return run_host("ledger blocks --json --coin DEVSHA --config " + cfg).find("\"credited\":true,\"scheme\":\"PPS\"") != std::string::npos ||
               !host.running();
    })) << host.log();
    const auto host_rc = host.kill(SIGTERM);
    ASSERT_TRUE(host_rc.has_value());
    EXPECT_EQ(*host_rc, 0) << host.log();
    (void)miner.kill(SIGKILL);

    // The ledger keeps the coins apart: XMR blocks are monerod's (each on its chain), DEVSHA blocks the devnet's.
    const std::string xmr_blocks = run_host("ledger blocks --json --limit 100000 --coin XMR --config " + cfg);
    static const std::regex block_re(R"re("coin":"XMR","height":([0-9]+),"hash":"([0-9a-f]{64})")re");
    size_t xmr_rows = 0;
    for (auto it = std::sregex_iterator(xmr_blocks.begin(), xmr_blocks.end(), block_re); it != std::sregex_iterator(); ++it) {
        ++xmr_rows;
        // The ledger writes the hash as the block's bytes; monerod shows the same bytes (Monero ids are not reversed).
        const uint64_t h = std::stoull((*it)[1].str());
        const std::string node_hash = hash_at(rpc_port, h);
        EXPECT_FALSE(node_hash.empty()) << "XMR block at height " << h << " unknown to monerod";
    }
    EXPECT_GE(xmr_rows, 2u) << xmr_blocks;
    EXPECT_EQ(xmr_blocks.find("DEVSHA"), std::string::npos) << xmr_blocks;
    // Local mining went to XMR only (the first coin of randomx): every DEVSHA block is the stratum miner's.
    const std::string sha_blocks = run_host("ledger blocks --json --limit 100000 --coin DEVSHA --config " + cfg);
    EXPECT_NE(sha_blocks.find(std::string("\"finder\":\"") + kBtcAddress + ".rig\""), std::string::npos) << sha_blocks;
    EXPECT_EQ(sha_blocks.find("\"finder\":\"local:"), std::string::npos) << sha_blocks;
    EXPECT_EQ(xmr_blocks.find(kBtcAddress), std::string::npos) << xmr_blocks;
    const std::string balances = run_host("ledger balances --json --limit 100000 --config " + cfg);
    EXPECT_NE(balances.find(std::string("{\"coin\":\"DEVSHA\",\"account\":\"") + kBtcAddress + "\""), std::string::npos) << balances;
    EXPECT_EQ(balances.find(std::string("{\"coin\":\"XMR\",\"account\":\"") + kBtcAddress + "\""), std::string::npos) << balances;

    const auto node_rc = monerod.kill(SIGTERM);
    ASSERT_TRUE(node_rc.has_value()) << "monerod did not stop on SIGTERM";
    if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
