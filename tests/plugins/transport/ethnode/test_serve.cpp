// The ethnode transport under otedama-host serve, against a scripted go-ethereum/core-geth stand-in on
// 127.0.0.1 (an ephemeral port; no Ethereum node is packaged in Debian). The stand-in answers eth_syncing,
// eth_getWork and eth_submitWork as the Ethereum JSON-RPC specification describes them
// (https://ethereum.org/en/developers/docs/apis/json-rpc/: eth_getWork -> [header hash, seed hash, boundary],
// go-ethereum adding the block number; eth_submitWork [nonce (8 bytes), header hash, mix digest] -> bool).
// Its work is epoch 0 (seed: 32 zero bytes), boundary 2^256 / 2000 (about one hash in 2000 solves it).
//
// Checked: the host mines (ethash on the 16 MiB epoch-0 light cache, 1 CPU thread) and submits; the
// stand-in verifies each eth_submitWork itself with lib/otedama/ethash hashimoto_light (mix digest and
// final hash <= boundary) and answers true, then moves to the next block (a correct solution for an older
// block is stale: false, as geth answers); at least two valid solutions arrive and none is invalid; the
// request is exactly the eth_submitWork call; the next block number is a clean job. A node that refuses a
// solution (false) -> a rejected block with the reason; a new header at the same height -> a new job, not
// clean. A syncing node -> status
// degraded, work withdrawn; synced -> up, a clean job; a broken node (HTTP 500) -> down, withdrawn; back ->
// mining resumes.
#include "../monerod/child.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/ethash/ethash.hpp>
#include <otedama/node/jsonrpc.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <gtest/gtest.h>

#include <poll.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <map>

using namespace monerod_test;
namespace node = otedama::node;
namespace ethash = otedama::ethash;
namespace common = otedama::common;
using Poco::JSON::Object;

namespace {

constexpr const char* kBoundary = "0020c49ba5e353f7ced916872b020c49ba5e353f7ced916872b020c49ba5e353";  // 2^256 / 2000

/// A core-geth stand-in: HTTP/1.1 with Content-Length, one request per connection.
class FakeGeth {
 public:
    enum class Mode { healthy, syncing, broken, refusing };  // refusing: eth_submitWork answers false
    FakeGeth() : cache_(std::make_unique<ethash::LightCache>(0)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0) throw std::runtime_error("bind");
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        new_block();
        thread_ = std::thread([this] { run(); });
    }
    ~FakeGeth() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    uint16_t port() const { return port_; }
    void set(Mode m) { mode_ = m; }
    /// A new header at the same block number (geth rebuilds it when its pending transactions change).
    uint64_t rehash() {
        std::lock_guard lock(m_);
        header_[0] ^= 0x5a;
        headers_[common::to_hex(header_)] = number_;
        return number_;
    }
    int valid() const { return valid_; }
    int invalid() const { return invalid_; }
    int works() const { return works_; }
    int refused() const { return refused_; }
    int stale() const { return stale_; }
    std::string last_submit() {
        std::lock_guard lock(m_);
        return last_submit_;
    }
    std::string problems() {
        std::lock_guard lock(m_);
        return problems_;
    }

 private:
    /// The next block: number + 1, a header hash of its own (Keccak-256 stand-in: the hashimoto of the number).
    void new_block() {
        ++number_;
        const auto r = ethash::hashimoto_light(*cache_, ethash::kEthash, ethash::Hash256{}, number_);
        header_ = r.final_hash;
        headers_[common::to_hex(header_)] = number_;
    }

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

    /// eth_submitWork: the stand-in's own check of the solution.
    bool check(const Poco::JSON::Array::Ptr& params, std::string* why, uint64_t* number) {
        if (params.isNull() || params->size() != 3) return *why = "params are not [nonce, header, mix]", false;
        const std::string nonce = params->getElement<std::string>(0), header = params->getElement<std::string>(1), mix = params->getElement<std::string>(2);
        if (nonce.size() != 18 || nonce.rfind("0x", 0) != 0) return *why = "nonce " + nonce + " is not 0x + 16 hex", false;
        const auto h = common::from_hex_array<32>(header.substr(2));
        const auto m = common::from_hex_array<32>(mix.substr(2));
        if (header.rfind("0x", 0) != 0 || !h) return *why = "header " + header, false;
        if (mix.rfind("0x", 0) != 0 || !m) return *why = "mix " + mix, false;
        const auto issued = headers_.find(common::to_hex(*h));
        if (issued == headers_.end()) return *why = "header " + header + " was never issued", false;
        *number = issued->second;
        const uint64_t n = std::stoull(nonce.substr(2), nullptr, 16);  // big-endian hex
        const auto r = ethash::hashimoto_light(*cache_, ethash::kEthash, *h, n);
        if (r.mix != *m) return *why = "mix digest differs from hashimoto's " + common::to_hex(r.mix), false;
        if (common::to_hex(r.final_hash) > std::string(kBoundary)) return *why = "final hash " + common::to_hex(r.final_hash) + " above the boundary", false;
        return true;
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
        const std::string body_text = req.substr(req.find("\r\n\r\n") + 4);
        const auto json = node::parse_json(body_text);
        const auto obj = json ? node::as_object(*json) : nullptr;
        std::string reply;
        if (mode_ == Mode::broken || obj.isNull()) {
            reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        } else {
            const std::string method = obj->getValue<std::string>("method");
            Poco::Dynamic::Var result;
            if (method == "eth_syncing") {
                if (mode_ == Mode::syncing) {
                    Object::Ptr s = new Object;
                    s->set("startingBlock", "0x0");
                    s->set("currentBlock", "0x10");
                    s->set("highestBlock", "0x200");
                    result = s;
                } else {
                    result = false;
                }
            } else if (method == "eth_getWork") {
                ++works_;
                std::lock_guard lock(m_);
                Poco::JSON::Array::Ptr w = new Poco::JSON::Array;
                w->add("0x" + common::to_hex(header_));
                w->add("0x" + std::string(64, '0'));  // epoch 0's seed
                w->add(std::string("0x") + kBoundary);
                char number[32];
                std::snprintf(number, sizeof number, "0x%llx", static_cast<unsigned long long>(number_));
                w->add(std::string(number));
                result = w;
            } else if (method == "eth_submitWork") {
                std::lock_guard lock(m_);
                last_submit_ = body_text;
                std::string why;
                uint64_t number = 0;
                const bool ok = obj->isArray("params") && check(obj->getArray("params"), &why, &number);
                if (ok && number != number_) {
                    // A correct solution for an older block: geth answers false ("Work submitted is stale").
                    ++stale_;
                    result = false;
                } else if (ok && mode_ == Mode::refusing) {
                    ++refused_;
                    result = false;
                } else if (ok) {
                    ++valid_;
                    new_block();
                } else {
                    ++invalid_;
                    problems_ += why + "\n";
                }
                if (result.isEmpty()) result = ok;
            }
            Object out;
            out.set("jsonrpc", "2.0");
            out.set("id", obj->get("id"));
            if (result.isEmpty()) {
                Object::Ptr err = new Object;
                err->set("code", -32601);
                err->set("message", "the method " + method + " does not exist/is not available");
                out.set("error", err);
            } else {
                out.set("result", result);
            }
            const std::string body = node::to_json(Poco::Dynamic::Var(out));
            reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        }
        ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    }

    std::unique_ptr<ethash::LightCache> cache_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<Mode> mode_{Mode::healthy};
    std::atomic<int> valid_{0}, invalid_{0}, works_{0}, refused_{0}, stale_{0};
    std::mutex m_;
    uint64_t number_ = 0;
    ethash::Hash256 header_{};
    std::map<std::string, uint64_t> headers_;  ///< every header issued -> its block number
    std::string last_submit_, problems_;
    std::thread thread_;
};

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
}

TEST(EthnodeServe, MinesEthashIntoTheNodeAndFollowsItsHealth) {
    const fs::path dir = fs::temp_directory_path() / ("otedama-ethnode-serve-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    FakeGeth geth;
    std::ostringstream pool_yaml;
    pool_yaml << "storage: {path: " << (dir / "pool.db").string() << "}\n"
              << "pool: {source: ethnode, address: \"127.0.0.1:" << free_port() << "\"}\n"
              << "mining: {algorithm: ethash, dataset: light, enable_cpu: true, cpu: {threads: 1}}\n"
              << "node:\n  daemons:\n    - {url: \"" << geth.url() << "\"}\n  poll_interval: 200ms\n"
              << "plugins:\n  settings:\n    org.otedama.transport.ethnode: {timeout: 5s}\n";
    HostProcess host(dir, HostConfig(pool_yaml.str()), {.args = {"serve", "--run-for", "1200"}, .name = "host"});
    const std::string ep = "127.0.0.1:" + std::to_string(geth.port());
    auto log_has = [&](const std::string& needle, std::size_t from = 0) { return host.log().find(needle, from) != std::string::npos; };

    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node up: mining on " + ep) || !host.running(); }, 120s)) << host.log();
    ASSERT_TRUE(wait_until([&] { return std::regex_search(host.log(), std::regex("job [0-9]+ from org\\.otedama\\.transport\\.ethnode: ETH height 1 ")) || !host.running(); }, 120s))
        << host.log();

    // Mined solutions arrive, each checked by the stand-in.
    ASSERT_TRUE(wait_until([&] { return geth.valid() >= 2 || geth.invalid() > 0 || !host.running(); }, 600s)) << host.log();
    EXPECT_GE(geth.valid(), 2) << host.log();
    EXPECT_EQ(geth.invalid(), 0) << geth.problems() << host.log();
    EXPECT_TRUE(std::regex_match(geth.last_submit(),
                                 std::regex(R"(\{"id":[0-9]+,"jsonrpc":"2\.0","method":"eth_submitWork","params":\["0x[0-9a-f]{16}","0x[0-9a-f]{64}","0x[0-9a-f]{64}"\]\})")))
        << geth.last_submit();
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: block 1 (header ") && log_has(") accepted by " + ep); }, 60s)) << host.log();
    // A new block number makes a clean job.
    ASSERT_TRUE(wait_until([&] { return std::regex_search(host.log(), std::regex("job [0-9]+ from org\\.otedama\\.transport\\.ethnode: ETH height 2 .*\\(clean\\)")); }, 60s))
        << host.log();

    // A solution the node refuses (eth_submitWork false): a rejected block with the reason.
    geth.set(FakeGeth::Mode::refusing);
    ASSERT_TRUE(wait_until([&] { return geth.refused() > 0 || geth.invalid() > 0 || !host.running(); }, 600s)) << host.log();
    ASSERT_TRUE(wait_until([&] { return log_has(") rejected by " + ep + ": the node refused the solution (stale or invalid)"); }, 60s)) << host.log();
    // A new header at the same height (still refusing, so the height stays): a new job, not clean.
    {
        const std::size_t at = host.log().size();
        const uint64_t number = geth.rehash();
        const std::regex job("job [0-9]+ from org\\.otedama\\.transport\\.ethnode: ETH height " + std::to_string(number) + " network difficulty [0-9.e+]+(.*)");
        std::smatch m;
        std::string tail;
        ASSERT_TRUE(wait_until([&] { tail = host.log().substr(at); return std::regex_search(tail, m, job); }, 60s)) << host.log().substr(at);
        EXPECT_EQ(m[1].str().find("clean"), std::string::npos) << m[0].str();
    }

    geth.set(FakeGeth::Mode::healthy);

    // Syncing: degraded, the work withdrawn; synced again: up with a clean job.
    std::size_t mark = host.log().size();
    geth.set(FakeGeth::Mode::syncing);
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node degraded: " + geth.url().substr(7) + " still syncing: block 16 of 512", mark); }, 60s)) << host.log().substr(mark);
    ASSERT_TRUE(wait_until([&] { return log_has("withdrew its work", mark); }, 60s)) << host.log().substr(mark);
    std::this_thread::sleep_for(2s);  // several polls while syncing: one report
    EXPECT_EQ(count(host.log().substr(mark), "ethnode: node degraded"), 1u) << host.log().substr(mark);
    mark = host.log().size();
    geth.set(FakeGeth::Mode::healthy);
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node up: mining on " + ep, mark); }, 60s)) << host.log().substr(mark);
    ASSERT_TRUE(wait_until([&] { return std::regex_search(host.log().substr(mark), std::regex("job [0-9]+ from org\\.otedama\\.transport\\.ethnode: ETH height [0-9]+ .*\\(clean\\)")); }, 60s))
        << host.log().substr(mark);

    // Down (HTTP 500): withdrawn; back: mining resumes and solutions arrive again.
    mark = host.log().size();
    geth.set(FakeGeth::Mode::broken);
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node down: ", mark); }, 60s)) << host.log().substr(mark);
    ASSERT_TRUE(wait_until([&] { return log_has("withdrew its work", mark); }, 60s)) << host.log().substr(mark);
    EXPECT_NE(host.log().find("HTTP 500", mark), std::string::npos) << host.log().substr(mark);
    mark = host.log().size();
    const int before = geth.valid();
    geth.set(FakeGeth::Mode::healthy);
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node up: mining on " + ep, mark); }, 60s)) << host.log().substr(mark);
    ASSERT_TRUE(wait_until([&] { return geth.valid() > before || geth.invalid() > 0 || !host.running(); }, 600s)) << host.log().substr(mark);
    EXPECT_EQ(geth.invalid(), 0) << geth.problems();

    std::printf("stand-in: %d valid solutions, %d refused, %d stale, %d eth_getWork answered\n", geth.valid(), geth.refused(), geth.stale(), geth.works());
    ASSERT_TRUE(host.running()) << host.log();
    const auto rc = host.kill(SIGTERM);
    ASSERT_TRUE(rc.has_value());
    EXPECT_EQ(*rc, 0) << host.log();
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace

namespace {

// Failover across node.daemons, no local mining: the first node syncing -> the second serves the work; the
// first synced again -> taken back; both unusable -> one report, the work withdrawn.
TEST(EthnodeServe, FailoverAcrossNodes) {
    const fs::path dir = fs::temp_directory_path() / ("otedama-ethnode-failover-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    FakeGeth a, b;
    std::ostringstream pool_yaml;
    pool_yaml << "storage: {path: " << (dir / "pool.db").string() << "}\n"
              << "pool: {source: ethnode, address: \"127.0.0.1:" << free_port() << "\"}\n"
              << "mining: {algorithm: ethash, dataset: light, enable_cpu: false}\n"
              << "node:\n  daemons:\n    - {url: \"" << a.url() << "\"}\n    - {url: \"" << b.url() << "\"}\n  poll_interval: 200ms\n";
    HostProcess host(dir, HostConfig(pool_yaml.str()), {.args = {"serve", "--run-for", "600"}, .name = "host"});
    const std::string ep_a = "127.0.0.1:" + std::to_string(a.port()), ep_b = "127.0.0.1:" + std::to_string(b.port());
    auto log_has = [&](const std::string& needle, std::size_t from = 0) { return host.log().find(needle, from) != std::string::npos; };

    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node up: mining on " + ep_a) || !host.running(); }, 120s)) << host.log();
    // Its first job in use (the epoch's light cache built): only work the scheduler holds can be withdrawn
    // below; a withdrawal while the first job still waits for its context leaves nothing to say.
    ASSERT_TRUE(wait_until([&] { return std::regex_search(host.log(), std::regex("job [0-9]+ from org\\.otedama\\.transport\\.ethnode")) || !host.running(); },
                           120s))
        << host.log();
    a.set(FakeGeth::Mode::syncing);
    ASSERT_TRUE(wait_until([&] { return log_has(ep_a + " still syncing: block 16 of 512; trying " + ep_b); }, 60s)) << host.log();
    ASSERT_TRUE(wait_until([&] { return b.works() > 0; }, 60s)) << host.log();
    a.set(FakeGeth::Mode::healthy);
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: " + ep_a + " is synced again: back to it from " + ep_b); }, 60s)) << host.log();

    const std::size_t mark = host.log().size();
    a.set(FakeGeth::Mode::syncing);
    b.set(FakeGeth::Mode::broken);
    ASSERT_TRUE(wait_until([&] { return log_has("ethnode: node degraded: no usable node", mark) || log_has("ethnode: node down: no usable node", mark); }, 60s)) << host.log();
    ASSERT_TRUE(wait_until([&] { return log_has("withdrew its work", mark); }, 60s)) << host.log();
    std::this_thread::sleep_for(2s);
    const std::string after = host.log().substr(mark);
    EXPECT_EQ(count(after, "ethnode: node degraded") + count(after, "ethnode: node down"), 1u) << after;

    ASSERT_TRUE(host.running()) << host.log();
    const auto rc = host.kill(SIGTERM);
    ASSERT_TRUE(rc.has_value());
    EXPECT_EQ(*rc, 0) << host.log();
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
