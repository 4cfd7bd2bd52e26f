// A real monerod (Debian's `monero` package, 0.18) on loopback as the pool's job source:
//   monerod --regtest --offline --fixed-difficulty 1000, its own data directory, RPC and P2P on free
//   127.0.0.1 ports, no DNS checkpoints, no update checks, no ZMQ server;
//   otedama-host serve with pool.source: monerod, mining.algorithm: randomx, 2 CPU threads (the host's
//   local CPU mining mines the pool's jobs), node.payout_address the Monero General Fund's address (as in the
//   recorded fixtures: regtest takes mainnet addresses).
// Checked:
//   1. monerod's height rises by at least 2 blocks that WE submitted: every "block H ID accepted" line of the
//      host is looked up in monerod (get_block_header_by_height H has hash ID: the block is on the main
//      chain), and the node's count of blocks rose accordingly;
//   2. monerod is killed (SIGKILL, by its PID) mid-mining: the host reports the node down (log line, status
//      event) and withdraws its work: no job from the monerod source is made while it is down;
//   3. monerod restarts on the same data directory: the host reports it up, mining resumes and the node's
//      height rises again by a block we submitted (a SIGKILLed node may have lost its newest blocks: the
//      rise is counted from the height it restarts at).
//   4. (ZmqNoticeRefreshesTheTemplateWithoutPolling) monerod with --zmq-pub, the pool polling every 30 min and
//      not mining: a block the node generates itself gives the pool a template for the next height by the
//      ZMQ notice (lib/otedama/node/zmtp), the only path that can explain it before the next poll.
// monerod is stopped by its PID at the end, and killed by the guard's destructor on any failure.
// Waits poll for conditions under generous guards (a 2 GiB RandomX dataset builds first); nothing is timed.
#include "child.hpp"

#include <otedama/node/jsonrpc.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace node = otedama::node;
using namespace std::chrono_literals;

namespace {

using namespace monerod_test;
constexpr const char* kAddress =
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

/// One blocking JSON-RPC call to monerod (plain sockets: the test checks the node independently of the
/// plugin's client). The result object, or null when the node does not answer.
Poco::JSON::Object::Ptr rpc(uint16_t port, const std::string& method, const std::string& params = "{}") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return nullptr;
    }
    const std::string body = R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":)" + params + "}";
    const std::string req = "POST /json_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    node::HttpResponseParser parser;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            (void)parser.finish();
            break;
        }
        if (parser.feed(reinterpret_cast<const uint8_t*>(buf), static_cast<std::size_t>(n)) != node::HttpResponseParser::State::need_more) break;
    }
    ::close(fd);
    if (parser.state() != node::HttpResponseParser::State::done) return nullptr;
    Poco::Dynamic::Var result;
    if (node::parse_rpc_reply(parser.response(), 1, "monerod", &result)) return nullptr;
    return node::as_object(result);
}

std::optional<uint64_t> node_height(uint16_t port) {
    const auto info = rpc(port, "get_info");
    if (info.isNull()) return std::nullopt;
    std::string why;
    return node::get_uint(info, "height", &why);
}

struct Accepted {
    uint64_t height;
    std::string id;
};

/// The host's "monerod: block H ID accepted by ..." lines.
std::vector<Accepted> accepted_blocks(const std::string& log) {
    static const std::regex re("monerod: block ([0-9]+) ([0-9a-f]{64}) accepted by");
    std::vector<Accepted> out;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
        out.push_back(Accepted{std::stoull((*it)[1].str()), (*it)[2].str()});
    return out;
}

/// How many of our accepted blocks are on monerod's main chain now (by height and hash).
std::size_t ours_on_chain(uint16_t port, const std::vector<Accepted>& ours) {
    std::size_t n = 0;
    std::set<uint64_t> seen;
    for (const auto& b : ours) {
        if (!seen.insert(b.height).second) continue;
        const auto r = rpc(port, "get_block_header_by_height", R"({"height":)" + std::to_string(b.height) + "}");
        if (r.isNull() || !r->has("block_header")) continue;
        const auto h = r->getObject("block_header");
        std::string why;
        if (node::get_string(h, "hash", &why).value_or("") == b.id) ++n;
    }
    return n;
}

class MonerodNode : public ::testing::Test {
 protected:
    void SetUp() override {
        if (!fs::exists(MONEROD)) GTEST_SKIP() << "monerod is not installed (Debian package `monero`)";
        dir_ = fs::temp_directory_path() / ("otedama-monerod-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "chain");
        rpc_port_ = free_port();
        p2p_port_ = free_port();
        while (p2p_port_ == rpc_port_) p2p_port_ = free_port();
    }
    void TearDown() override {
        if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
    }
    std::unique_ptr<Child> start_monerod(bool zmq = false) {
        std::vector<std::string> zmq_args{"--no-zmq"};
        if (zmq) {
            // monerod's ZMQ RPC server must be on for --zmq-pub (its publisher); both on free loopback ports.
            zmq_args = {"--zmq-rpc-bind-ip", "127.0.0.1", "--zmq-rpc-bind-port", std::to_string(zmq_rpc_port_), "--zmq-pub",
                        "tcp://127.0.0.1:" + std::to_string(zmq_pub_port_)};
        }
        std::vector<std::string> args{"--regtest", "--offline", "--fixed-difficulty", "1000", "--data-dir", (dir_ / "chain").string(),
                                                                  "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", std::to_string(rpc_port_), "--p2p-bind-ip",
                                                                  "127.0.0.1", "--p2p-bind-port", std::to_string(p2p_port_), "--no-igd", "--non-interactive",
                                                                  "--log-level", "0", "--disable-dns-checkpoints", "--check-updates", "disabled"};
        args.insert(args.end(), zmq_args.begin(), zmq_args.end());
        return std::make_unique<Child>(MONEROD, args, dir_, "monerod");
    }
    fs::path dir_;
    uint16_t rpc_port_ = 0, p2p_port_ = 0, zmq_rpc_port_ = 0, zmq_pub_port_ = 0;
};

TEST_F(MonerodNode, PoolMinesBlocksTheNodeAcceptsAndSurvivesANodeRestart) {
    auto monerod = start_monerod();
    ASSERT_TRUE(wait_until([&] { return node_height(rpc_port_).has_value() || !monerod->running(); }, 180s)) << monerod->log();
    ASSERT_TRUE(monerod->running()) << monerod->log();
    const uint64_t start_height = *node_height(rpc_port_);

    std::ostringstream pool_yaml;
    pool_yaml << "storage: {path: " << (dir_ / "pool.db").string() << "}\n"
              << "pool: {source: monerod, address: \"127.0.0.1:" << free_port() << "\"}\n"
              << "mining: {algorithm: randomx, enable_cpu: true, cpu: {threads: 2, huge_pages: false}}\n"
              << "node:\n  daemons:\n    - {url: \"http://127.0.0.1:" << rpc_port_ << "\"}\n"
              << "  payout_address: " << kAddress << "\n  poll_interval: 2s\n"
              // plugins.settings.<id> overrides the node section key by key (core/host h_get_config)
              << "plugins:\n  settings:\n    org.otedama.transport.monerod: {poll_interval: 500ms}\n";
    HostProcess host(dir_, HostConfig(pool_yaml.str()), {.args = {"serve", "--run-for", "1500"}, .name = "host"});

    // 1. Our blocks: at least 2 accepted, on monerod's main chain, and its height rose by them.
    ASSERT_TRUE(wait_until([&] { return accepted_blocks(host.log()).size() >= 2 || !host.running(); })) << host.log();
    ASSERT_TRUE(host.running()) << host.log();
    const auto ours = accepted_blocks(host.log());
    EXPECT_GE(ours_on_chain(rpc_port_, ours), 2u) << host.log();
    const uint64_t mined_height = node_height(rpc_port_).value_or(0);
    EXPECT_GE(mined_height, start_height + 2);
    const auto last = rpc(rpc_port_, "get_last_block_header");
    ASSERT_FALSE(last.isNull());
    EXPECT_GE(last->getObject("block_header")->getValue<uint64_t>("height"), ours.back().height);
    EXPECT_NE(host.log().find("monerod: node up: mining on 127.0.0.1:" + std::to_string(rpc_port_)), std::string::npos) << host.log();
    EXPECT_NE(host.log().find("payout to " + std::string(kAddress) + ", reserve 8 bytes, poll every 500 ms"), std::string::npos) << host.log();

    // 2. The node dies mid-mining: the pool says so and stops issuing work.
    ASSERT_TRUE(monerod->kill(SIGKILL).has_value());
    ASSERT_TRUE(wait_until([&] { return host.log().find("monerod: node down: ") != std::string::npos || !host.running(); })) << host.log();
    ASSERT_TRUE(wait_until([&] { return host.log().find("withdrew its work") != std::string::npos || !host.running(); })) << host.log();
    ASSERT_TRUE(host.running()) << host.log();
    const std::size_t down_at = host.log().find("monerod: node down");
    // A while with the node down: still no job from it, and the down state is reported once.
    std::this_thread::sleep_for(3s);
    {
        const std::string log = host.log();
        static const std::regex job_re("job [0-9]+ from org\\.otedama\\.transport\\.monerod");
        const std::string after = log.substr(down_at);
        EXPECT_FALSE(std::regex_search(after, job_re)) << after;
        std::size_t downs = 0;
        for (std::size_t p = log.find("monerod: node down"); p != std::string::npos; p = log.find("monerod: node down", p + 1)) ++downs;
        EXPECT_EQ(downs, 1u) << log;
    }

    // 3. The node comes back on the same data directory: mining resumes, the height rises by our block.
    monerod = start_monerod();
    ASSERT_TRUE(wait_until([&] { return node_height(rpc_port_).has_value() || !monerod->running(); }, 180s)) << monerod->log();
    const uint64_t restart_height = node_height(rpc_port_).value_or(0);
    // A node killed with SIGKILL may lose its newest blocks (LMDB); mining resumes from wherever it restarts.
    std::cout << "monerod: height " << mined_height << " before the kill, " << restart_height << " after the restart\n";
    ASSERT_TRUE(wait_until([&] {
        const std::string log = host.log();
        return log.find("monerod: node up", down_at) != std::string::npos || !host.running();
    })) << host.log();
    const std::size_t before = accepted_blocks(host.log()).size();
    ASSERT_TRUE(wait_until([&] { return accepted_blocks(host.log()).size() > before || !host.running(); })) << host.log();
    const auto after_restart = accepted_blocks(host.log());
    EXPECT_GT(node_height(rpc_port_).value_or(0), restart_height);
    EXPECT_EQ(ours_on_chain(rpc_port_, {after_restart.back()}), 1u) << host.log();

    // The end: the host stops cleanly, monerod is stopped by its PID.
    const auto host_rc = host.kill(SIGTERM);
    ASSERT_TRUE(host_rc.has_value());
    EXPECT_EQ(*host_rc, 0) << host.log();
    const auto node_rc = monerod->kill(SIGTERM);
    ASSERT_TRUE(node_rc.has_value()) << "monerod did not stop on SIGTERM";
}

// `otedama-host mine --solo`: no pool, the host mines straight against the node; every block it finds
// pays --address and the node's height rises by it.
TEST_F(MonerodNode, SoloMiningAgainstTheNode) {
    auto monerod = start_monerod();
    ASSERT_TRUE(wait_until([&] { return node_height(rpc_port_).has_value() || !monerod->running(); }, 180s)) << monerod->log();
    ASSERT_TRUE(monerod->running()) << monerod->log();
    const uint64_t start_height = *node_height(rpc_port_);
    std::ostringstream solo_yaml;
    solo_yaml << "storage: {path: " << (dir_ / "solo.db").string() << "}\n"
              << "mining: {cpu: {huge_pages: false}}\n";
    HostProcess solo(dir_, HostConfig(solo_yaml.str()),
                     {.args = {"mine", "--solo", "--node", "http://127.0.0.1:" + std::to_string(rpc_port_), "--address", kAddress, "-a", "randomx",
                               "-t", "2", "--run-for", "1200"},
                      .name = "solo"});
    ASSERT_TRUE(wait_until([&] { return accepted_blocks(solo.log()).size() >= 1 || !solo.running(); })) << solo.log();
    ASSERT_TRUE(solo.running()) << solo.log();
    ASSERT_TRUE(wait_until([&] { return solo.log().find("accepted by the node, 1 found so far") != std::string::npos; }, 60s)) << solo.log();
    const auto ours = accepted_blocks(solo.log());
    EXPECT_GE(ours_on_chain(rpc_port_, ours), 1u) << solo.log();
    EXPECT_GE(node_height(rpc_port_).value_or(0), start_height + 1);
    const auto rc = solo.kill(SIGTERM);
    ASSERT_TRUE(rc.has_value());
    EXPECT_EQ(*rc, 0) << solo.log();
    EXPECT_NE(solo.log().find("block(s) accepted by the node"), std::string::npos) << solo.log();
    ASSERT_TRUE(monerod->kill(SIGTERM).has_value()) << "monerod did not stop on SIGTERM";
}

// New blocks by ZMQ (node.daemons[].zmq, lib/otedama/node/zmtp): monerod publishes on --zmq-pub, the pool polls
// only every 30 minutes, and a block made by the node itself (generateblocks, an outside miner) must give a
// template for the next height long before the next poll could: only the ZMQ notice can explain it. No local
// mining. The wait is a generous guard below the poll interval, not a timed assertion.
TEST_F(MonerodNode, ZmqNoticeRefreshesTheTemplateWithoutPolling) {
    zmq_rpc_port_ = free_port();
    zmq_pub_port_ = free_port();
    while (zmq_rpc_port_ == rpc_port_ || zmq_rpc_port_ == p2p_port_) zmq_rpc_port_ = free_port();
    while (zmq_pub_port_ == rpc_port_ || zmq_pub_port_ == p2p_port_ || zmq_pub_port_ == zmq_rpc_port_) zmq_pub_port_ = free_port();
    auto monerod = start_monerod(true);
    ASSERT_TRUE(wait_until([&] { return node_height(rpc_port_).has_value() || !monerod->running(); }, 180s)) << monerod->log();
    ASSERT_TRUE(monerod->running()) << monerod->log();
    const uint64_t start_height = *node_height(rpc_port_);
    const std::string zmq = "tcp://127.0.0.1:" + std::to_string(zmq_pub_port_);
    std::ostringstream zmq_yaml;
    zmq_yaml << "storage: {path: " << (dir_ / "zmq.db").string() << "}\n"
             << "pool: {source: monerod, address: \"127.0.0.1:" << free_port() << "\"}\n"
             << "mining: {algorithm: randomx, enable_cpu: false}\n"
             << "node:\n  daemons:\n    - {url: \"http://127.0.0.1:" << rpc_port_ << "\", zmq: \"" << zmq << "\"}\n"
             << "  payout_address: " << kAddress << "\n  poll_interval: 30m\n"
             << "log: {level: debug}\n";
    HostProcess host(dir_, HostConfig(zmq_yaml.str()), {.args = {"serve", "--run-for", "900"}, .name = "host"});
    static const std::regex tmpl_re("monerod: template [^ ]+ \\(height ([0-9]+)");
    auto template_at = [&](uint64_t height) {
        const std::string log = host.log();
        for (auto it = std::sregex_iterator(log.begin(), log.end(), tmpl_re); it != std::sregex_iterator(); ++it)
            if (std::stoull((*it)[1].str()) == height) return true;
        return false;
    };
    // The first poll's template (at the node's height) and the subscription.
    ASSERT_TRUE(wait_until([&] { return (template_at(start_height) && host.log().find("monerod: ZMQ subscribed to " + zmq) != std::string::npos) || !host.running(); }))
        << host.log();
    ASSERT_TRUE(host.running()) << host.log();
    EXPECT_FALSE(template_at(start_height + 1)) << host.log();

    // The node makes a block on its own; the pool's next template must follow from the notice.
    // generateblocks hashes RandomX in the node (seconds; more on a busy machine than rpc()'s 10 s receive
    // timeout), so its answer is not waited for: the node's height is what counts.
    (void)rpc(rpc_port_, "generateblocks", R"({"amount_of_blocks":1,"wallet_address":")" + std::string(kAddress) + R"("})");
    ASSERT_TRUE(wait_until([&] { return node_height(rpc_port_).value_or(0) >= start_height + 1; }, 300s)) << monerod->log();
    ASSERT_TRUE(wait_until([&] { return template_at(start_height + 1) || !host.running(); }, 600s)) << host.log();
    EXPECT_NE(host.log().find("monerod: ZMQ: a new block on"), std::string::npos) << host.log();

    const auto rc = host.kill(SIGTERM);
    ASSERT_TRUE(rc.has_value());
    EXPECT_EQ(*rc, 0) << host.log();
    ASSERT_TRUE(monerod->kill(SIGTERM).has_value()) << "monerod did not stop on SIGTERM";
}

}  // namespace
