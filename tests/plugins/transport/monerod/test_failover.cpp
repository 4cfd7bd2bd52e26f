// The monerod transport's failover and node-health logic under otedama-host serve, against two scripted
// monerod stand-ins on 127.0.0.1 (ephemeral ports) that answer get_info and get_block_template with the
// recorded monerod replies (fixtures/), and can be switched to "still syncing" (synchronized false,
// target_height ahead), "wrong network" (nettype mainnet) or "broken" (HTTP 500). No local mining (the
// RandomX context is a light one), so it runs in seconds.
// Checked, from the host's log: a syncing first node is left for the second; the first is taken back when
// healthy; both unusable -> status degraded/down once and the work withdrawn; healthy -> up again; a node on
// another network is refused. And the requests the stand-ins saw: the pool's wallet_address and
// reserve_size in get_block_template.
#include "child.hpp"

#include <otedama/node/jsonrpc.hpp>

#include <gtest/gtest.h>

#include <poll.h>

#include <atomic>
#include <mutex>
#include <regex>

using namespace monerod_test;
namespace node = otedama::node;
using Poco::JSON::Object;

namespace {

constexpr const char* kAddress =
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

Object::Ptr load(const std::string& name) {
    const std::string text = read_file(std::string(MONEROD_FIXTURES) + "/" + name);
    return node::as_object(*node::parse_json(text));
}

/// A monerod stand-in: HTTP/1.1 with Content-Length, one request per connection.
class FakeMonerod {
 public:
    enum class Mode { healthy, syncing, wrong_network, broken };
    FakeMonerod() {
        info_ = load("monero-regtest-get-info.json")->getObject("response_fresh_chain")->getObject("result");
        template_ = load("monero-regtest-block-template.json")->getObject("response")->getObject("result");
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0) throw std::runtime_error("bind");
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~FakeMonerod() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    void set(Mode m) { mode_ = m; }
    int templates() const { return templates_; }
    std::string last_template_request() {
        std::lock_guard lock(m_);
        return last_template_request_;
    }

 private:
    void run() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            serve(c);
            ::close(c);
        }
    }
    void serve(int c) {
        std::string req;
        char buf[4096];
        for (;;) {
            const auto end = req.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::size_t cl = 0;
                const auto pos = req.find("Content-Length: ");
                if (pos != std::string::npos && pos < end) cl = std::stoul(req.substr(pos + 16));
                if (req.size() >= end + 4 + cl) break;
            }
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) return;
            const ssize_t n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) return;
            req.append(buf, static_cast<std::size_t>(n));
        }
        const auto body_at = req.find("\r\n\r\n") + 4;
        const auto json = node::parse_json(req.substr(body_at));
        const auto obj = json ? node::as_object(*json) : nullptr;
        std::string reply;
        if (mode_ == Mode::broken || obj.isNull()) {
            reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        } else {
            const std::string method = obj->getValue<std::string>("method");
            Object::Ptr result;
            if (method == "get_info") {
                result = node::as_object(*node::parse_json(node::to_json(info_)));
                if (mode_ == Mode::syncing) {
                    result->set("synchronized", false);
                    result->set("target_height", 5000);
                }
                if (mode_ == Mode::wrong_network) result->set("nettype", "mainnet");
            } else if (method == "get_block_template") {
                ++templates_;
                std::lock_guard lock(m_);
                last_template_request_ = req.substr(body_at);
                result = template_;
            }
            Object out;
            out.set("jsonrpc", "2.0");
            out.set("id", obj->get("id"));
            if (result.isNull()) {
                Object::Ptr err = new Object;
                err->set("code", -32601);
                err->set("message", "Method not found");
                out.set("error", err);
            } else {
                out.set("result", result);
            }
            const std::string body = node::to_json(Poco::Dynamic::Var(out));
            reply = "HTTP/1.1 200 Ok\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        }
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    }

    Object::Ptr info_, template_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<Mode> mode_{Mode::healthy};
    std::atomic<int> templates_{0};
    std::mutex m_;
    std::string last_template_request_;
    std::thread thread_;
};

std::size_t count(const std::string& text, const std::string& needle, std::size_t from = 0) {
    std::size_t n = 0;
    for (auto p = text.find(needle, from); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
}

TEST(MonerodFailover, SyncingDownAndWrongNetworkNodes) {
    const fs::path dir = fs::temp_directory_path() / ("otedama-monerod-failover-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    FakeMonerod a, b;
    std::ostringstream pool_yaml;
    pool_yaml << "storage: {path: " << (dir / "pool.db").string() << "}\n"
              << "pool: {source: monerod, address: \"127.0.0.1:" << free_port() << "\"}\n"
              << "mining: {algorithm: randomx, enable_cpu: false}\n"
              << "node:\n  daemons:\n    - {url: \"" << a.url() << "\"}\n    - {url: \"" << b.url() << "\"}\n"
              << "  payout_address: " << kAddress << "\n  poll_interval: 200ms\n  reserve_size: 8\n"
              << "plugins:\n  settings:\n    org.otedama.transport.monerod: {timeout: 5s}\n";
    HostProcess host(dir, HostConfig(pool_yaml.str()), {.args = {"serve", "--run-for", "600"}, .name = "host"});
    const std::string ep_a = "127.0.0.1:" + std::to_string(a.port()), ep_b = "127.0.0.1:" + std::to_string(b.port());
    auto log_has = [&](const std::string& needle, std::size_t from = 0) { return host.log().find(needle, from) != std::string::npos; };

    // The first node is healthy: its template, with the pool's address and reserve size.
    ASSERT_TRUE(wait_until([&] { return log_has("monerod: node up: mining on " + ep_a) || !host.running(); }, 120s)) << host.log();
    EXPECT_NE(a.last_template_request().find(std::string("\"wallet_address\":\"") + kAddress + "\""), std::string::npos) << a.last_template_request();
    EXPECT_NE(a.last_template_request().find("\"reserve_size\":8"), std::string::npos) << a.last_template_request();
    ASSERT_TRUE(wait_until([&] { return log_has("job 1 from org.otedama.transport.monerod: XMR height 1") || !host.running(); }, 120s)) << host.log();

    // It starts syncing: the second takes over.
    a.set(FakeMonerod::Mode::syncing);
    ASSERT_TRUE(wait_until([&] { return log_has(ep_a + " still syncing: height 1 of 5000, not synchronized; trying " + ep_b); }, 60s)) << host.log();
    ASSERT_TRUE(wait_until([&] { return b.templates() > 0; }, 60s)) << host.log();

    // The first is healthy again: back to it.
    a.set(FakeMonerod::Mode::healthy);
    ASSERT_TRUE(wait_until([&] { return log_has("monerod: " + ep_a + " is healthy again: back to it from " + ep_b); }, 60s)) << host.log();

    // Neither is usable: reported once, the work withdrawn.
    const std::size_t mark = host.log().size();
    a.set(FakeMonerod::Mode::syncing);
    b.set(FakeMonerod::Mode::broken);
    ASSERT_TRUE(wait_until([&] { return log_has("monerod: node down: no usable node", mark) || log_has("monerod: node degraded: no usable node", mark); }, 60s))
        << host.log();
    ASSERT_TRUE(wait_until([&] { return log_has("withdrew its work", mark); }, 60s)) << host.log();
    EXPECT_NE(host.log().find("HTTP 500", mark), std::string::npos) << host.log().substr(mark);
    std::this_thread::sleep_for(2s);  // several polls while down: still one report, no job
    {
        const std::string after = host.log().substr(mark);
        EXPECT_EQ(count(after, "monerod: node down") + count(after, "monerod: node degraded"), 1u) << after;
        EXPECT_FALSE(std::regex_search(after.substr(after.find("withdrew its work")), std::regex("job [0-9]+ from org\\.otedama\\.transport\\.monerod"))) << after;
    }

    // Back: mining resumes with a clean job.
    const std::size_t mark2 = host.log().size();
    a.set(FakeMonerod::Mode::healthy);
    b.set(FakeMonerod::Mode::healthy);
    ASSERT_TRUE(wait_until([&] { return log_has("monerod: node up: mining on", mark2); }, 60s)) << host.log();
    ASSERT_TRUE(wait_until([&] { return std::regex_search(host.log().substr(mark2), std::regex("job [0-9]+ from org\\.otedama\\.transport\\.monerod: XMR height 1 network difficulty 1 \\(clean\\)")); }, 60s))
        << host.log().substr(mark2);

    // A node on another network than the first one seen is refused.
    const std::size_t mark3 = host.log().size();
    a.set(FakeMonerod::Mode::wrong_network);
    b.set(FakeMonerod::Mode::wrong_network);
    ASSERT_TRUE(wait_until([&] { return log_has("on another network: mainnet, the pool's first node was on fakechain", mark3); }, 60s)) << host.log().substr(mark3);
    ASSERT_TRUE(wait_until([&] { return log_has("monerod: node degraded", mark3); }, 60s)) << host.log().substr(mark3);

    ASSERT_TRUE(host.running()) << host.log();
    const auto rc = host.kill(SIGTERM);
    ASSERT_TRUE(rc.has_value());
    EXPECT_EQ(*rc, 0) << host.log();
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
