// lib/otedama/node/zmtp: the ZeroMQ wire protocol of the SUB client, byte for byte.
// Sources: ZMTP 3.0, https://rfc.zeromq.org/spec/23/ ("The Greeting", "Framing", "Commands", "The NULL
// Security Mechanism", "The Publish-Subscribe Pattern"), and ZMTP 3.1, https://rfc.zeromq.org/spec/37/
// ("SUBSCRIBE", "PING", "PONG"). The expected bytes below are written out from the ABNF of those sections,
// not produced by the code under test. Then every split of a stream across reads, limits, and a mutation
// test: thousands of corrupted greetings and frames, each either parsed or refused with a message, none
// crashing, and nothing buffered past the limits.
#include <otedama/node/zmtp.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace zmtp = otedama::node::zmtp;
using P = zmtp::Parser;

namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (const int x : b) s += static_cast<char>(x);
    return s;
}

/// A PUB peer's greeting: 23/ZMTP "The Greeting": %xFF 8%x00 %x7F, %x03 minor, "NULL" + 16 zeros, as-server, 31 zeros.
std::string peer_greeting(int minor = 1, std::string mechanism = "NULL", int as_server = 0) {
    std::string g = bytes({0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, minor});
    mechanism.resize(20, '\0');
    g += mechanism;
    g += static_cast<char>(as_server);
    g += std::string(31, '\0');
    return g;
}

/// The peer's READY: 23/ZMTP "Commands": %x04 short-size, %d5 "READY", then metadata: name-size "Socket-Type"
/// %x00 %x00 %x00 %x03 "PUB".
std::string peer_ready(const std::string& type = "PUB") {
    std::string body = bytes({5}) + "READY" + bytes({11}) + "Socket-Type" + bytes({0, 0, 0, static_cast<int>(type.size())}) + type;
    return bytes({0x04, static_cast<int>(body.size())}) + body;
}

TEST(Zmtp, OurGreetingIsByteExact) {
    const std::string g = zmtp::greeting(1);
    ASSERT_EQ(g.size(), 64U);
    const std::string expected = bytes({0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 1}) + "NULL" + std::string(16, '\0') + bytes({0}) + std::string(31, '\0');
    EXPECT_EQ(g, expected);
    EXPECT_EQ(zmtp::greeting(0)[11], 0);
}

TEST(Zmtp, ReadyAndSubscribeAreByteExact) {
    // READY with Socket-Type SUB: flags %x04 (command, short), size 25 = 1+5 + 1+11 + 4+3.
    const std::string ready = zmtp::ready_command("SUB");
    EXPECT_EQ(ready, bytes({0x04, 25, 5}) + "READY" + bytes({11}) + "Socket-Type" + bytes({0, 0, 0, 3}) + "SUB");
    // 3.0: a one-frame message, body %x01 + topic (23/ZMTP "The Publish-Subscribe Pattern").
    EXPECT_EQ(zmtp::subscribe("hashblock", 0), bytes({0x00, 10, 0x01}) + "hashblock");
    EXPECT_EQ(zmtp::subscribe("", 0), bytes({0x00, 1, 0x01}));
    // 3.1: the SUBSCRIBE command: %x04 size, %d9 "SUBSCRIBE", topic (37/ZMTP "SUBSCRIBE").
    EXPECT_EQ(zmtp::subscribe("hashblock", 1), bytes({0x04, 19, 9}) + "SUBSCRIBE" + "hashblock");
    // monerod's topic
    EXPECT_EQ(zmtp::subscribe("json-minimal-chain_main", 1), bytes({0x04, 33, 9}) + "SUBSCRIBE" + "json-minimal-chain_main");
}

TEST(Zmtp, LongFramesUseAnEightByteSize) {
    const std::string body(300, 'x');
    const std::string f = zmtp::encode_frame(body, true, false);
    // flags MORE|LONG = %x03, size 300 = 00 00 00 00 00 00 01 2C
    EXPECT_EQ(f.substr(0, 9), bytes({0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x2C}));
    EXPECT_EQ(f.size(), 9U + 300U);
    EXPECT_EQ(zmtp::encode_frame(std::string(255, 'y'), false, false).substr(0, 2), bytes({0x00, 0xFF}));
}

TEST(Zmtp, ParsesAHandshakeAndABitcoindHashblock) {
    // bitcoind's zmqpubhashblock message (doc/zmq.md): three frames: "hashblock", the 32-byte hash, the 4-byte
    // little-endian sequence number.
    const std::string hash(32, '\xAB');
    const std::string stream = peer_greeting(1) + peer_ready("PUB") + bytes({0x01, 9}) + "hashblock" + bytes({0x01, 32}) + hash +
                               bytes({0x00, 4, 7, 0, 0, 0});
    P p;
    ASSERT_EQ(p.feed(stream), P::State::need_more) << p.error();
    EXPECT_TRUE(p.ready());
    EXPECT_EQ(p.peer_major(), 3);
    EXPECT_EQ(p.peer_minor(), 1);
    EXPECT_EQ(p.peer_socket_type(), "PUB");
    const auto ev = p.take_events();
    ASSERT_EQ(ev.size(), 2U);
    EXPECT_EQ(ev[0].kind, P::Event::Kind::ready);
    ASSERT_EQ(ev[1].kind, P::Event::Kind::message);
    ASSERT_EQ(ev[1].parts.size(), 3U);
    EXPECT_EQ(ev[1].parts[0], "hashblock");
    EXPECT_EQ(ev[1].parts[1], hash);
    EXPECT_EQ(ev[1].parts[2], bytes({7, 0, 0, 0}));
    EXPECT_TRUE(p.take_events().empty());
}

TEST(Zmtp, EverySplitGivesTheSameEvents) {
    const std::string json = R"(json-minimal-chain_main:{"first_height":12,"first_prev_id":"aa","ids":["bb"]})";
    const std::string stream = peer_greeting(0) + peer_ready("XPUB") + zmtp::encode_frame(json, false, false) +
                               zmtp::encode_frame(std::string(400, 'z'), false, false) + bytes({0x04, 8, 4}) + "PING" + bytes({0, 10}) + "c";
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        P p;
        ASSERT_EQ(p.feed(stream.substr(0, cut)), P::State::need_more) << cut << ": " << p.error();
        auto ev = p.take_events();
        ASSERT_EQ(p.feed(stream.substr(cut)), P::State::need_more) << cut << ": " << p.error();
        for (auto& e : p.take_events()) ev.push_back(std::move(e));
        ASSERT_EQ(ev.size(), 4U) << cut;
        EXPECT_EQ(p.peer_minor(), 0);
        ASSERT_EQ(ev[1].parts.size(), 1U);
        EXPECT_EQ(ev[1].parts[0], json);
        EXPECT_EQ(ev[2].parts[0].size(), 400U);
        EXPECT_EQ(ev[3].kind, P::Event::Kind::ping);
        EXPECT_EQ(ev[3].parts[0], "c");  // the context, echoed in PONG
    }
}

void expect_error(const std::string& stream, const std::string& words, P::Limits limits = {}) {
    P p(limits);
    EXPECT_EQ(p.feed(stream), P::State::error) << "accepted: " << words;
    EXPECT_NE(p.error().find(words), std::string::npos) << "error '" << p.error() << "' does not say '" << words << "'";
    // Once failed, it stays failed and ignores more input.
    EXPECT_EQ(p.feed(peer_greeting()), P::State::error);
}

TEST(Zmtp, RefusesBadGreetingsWithReasons) {
    expect_error("HTTP/1.1 200 OK\r\n", "not a ZMTP peer");
    std::string g = peer_greeting();
    g[9] = 0x7E;
    expect_error(g, "0x7F");
    g = peer_greeting();
    g[10] = 2;
    expect_error(g, "ZMTP 3.x is needed");
    expect_error(peer_greeting(1, "CURVE"), "'CURVE'");
    expect_error(peer_greeting(1, std::string("NULL\0X", 6)), "zero-padded");
    expect_error(peer_greeting(1, "NULL", 7), "as-server");
}

TEST(Zmtp, RefusesBadHandshakesAndFrames) {
    const std::string g = peer_greeting();
    expect_error(g + bytes({0x00, 1, 'x'}), "before the peer's READY");
    expect_error(g + zmtp::encode_command("HELLO", ""), "before READY");
    expect_error(g + peer_ready("REP"), "socket type is 'REP'");
    expect_error(g + zmtp::encode_command("READY", ""), "socket type is ''");
    expect_error(g + zmtp::encode_command("READY", bytes({11}) + "Socket-Type" + bytes({0, 0, 1, 0}) + "PUB"), "cut short");
    expect_error(g + zmtp::encode_command("ERROR", bytes({6}) + "denied"), "ERROR 'denied'");
    expect_error(g + bytes({0x08, 0}), "reserved flag bits");
    expect_error(g + bytes({0x05, 0}), "command frame with the MORE flag");
    expect_error(g + bytes({0x04, 3, 9, 'S', 'U'}), "name is cut short");
    expect_error(g + bytes({0x04, 0}), "name is cut short");
    expect_error(g + peer_ready() + bytes({0x01, 1, 'a'}) + zmtp::encode_command("PING", bytes({0, 1})), "in the middle of a multipart");
    expect_error(g + peer_ready() + zmtp::encode_command("PING", ""), "malformed PING");
}

TEST(Zmtp, LimitsBoundWhatIsBuffered) {
    P::Limits l;
    l.max_frame = 1000;
    l.max_message = 1500;
    l.max_parts = 3;
    const std::string g = peer_greeting() + peer_ready();
    // A long frame announcing 2^62 bytes is refused from its header, before any body arrives.
    expect_error(g + bytes({0x02, 0x40, 0, 0, 0, 0, 0, 0, 0}), "over the limit", l);
    expect_error(g + zmtp::encode_frame(std::string(1001, 'a'), false, false), "over the limit", l);
    expect_error(g + zmtp::encode_frame(std::string(800, 'a'), true, false) + zmtp::encode_frame(std::string(800, 'a'), false, false),
                 "more than 1500 bytes", l);
    std::string four;
    for (int i = 0; i < 4; ++i) four += zmtp::encode_frame("p", i < 3, false);
    expect_error(g + four, "more than 3 frames", l);
    P ok(l);
    EXPECT_EQ(ok.feed(g + zmtp::encode_frame(std::string(1000, 'a'), false, false)), P::State::need_more) << ok.error();
}

TEST(Zmtp, MutatedStreamsNeverCrash) {
    // A valid stream, then random byte flips, truncations and insertions: each either parses or fails with a
    // message; the parser never holds more than one frame (max_frame) plus its header.
    const std::string good = peer_greeting() + peer_ready() + bytes({0x01, 9}) + "hashblock" + bytes({0x01, 32}) + std::string(32, '\x11') +
                             bytes({0x00, 4, 1, 0, 0, 0}) + zmtp::encode_command("PING", bytes({0, 5}));
    std::mt19937 rng(20261121);
    P::Limits l;
    l.max_frame = 64;
    l.max_message = 256;
    l.max_parts = 8;
    int errors = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string s = good;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = rng() % s.size();
            switch (rng() % 3) {
                case 0: s[at] = static_cast<char>(rng()); break;
                case 1: s.resize(at); break;
                default: s.insert(at, 1, static_cast<char>(rng())); break;
            }
            if (s.empty()) s = "\xFF";
        }
        P p(l);
        std::size_t off = 0;
        while (off < s.size()) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 40, s.size() - off);
            if (p.feed(s.substr(off, n)) == P::State::error) break;
            off += n;
        }
        if (p.state() == P::State::error) {
            ++errors;
            EXPECT_FALSE(p.error().empty());
        }
        for (const auto& ev : p.take_events())
            for (const auto& part : ev.parts) EXPECT_LE(part.size(), l.max_frame);
    }
    // Most single-byte corruptions of the greeting and frame headers must be caught (a flip inside a body is
    // not an error: ZMTP carries opaque bytes).
    EXPECT_GT(errors, 2000);
}

TEST(Zmtp, Endpoints) {
    std::string why;
    auto e = zmtp::parse_endpoint("tcp://127.0.0.1:28332", &why);
    ASSERT_TRUE(e) << why;
    EXPECT_EQ(e->host, "127.0.0.1");
    EXPECT_EQ(e->port, 28332);
    e = zmtp::parse_endpoint("tcp://[::1]:18083", &why);
    ASSERT_TRUE(e) << why;
    EXPECT_EQ(e->host, "::1");
    EXPECT_EQ(e->port, 18083);
    EXPECT_FALSE(zmtp::parse_endpoint("ipc:///tmp/x", &why));
    EXPECT_NE(why.find("tcp://host:port"), std::string::npos) << why;
    EXPECT_FALSE(zmtp::parse_endpoint("tcp://127.0.0.1", &why));
    EXPECT_FALSE(zmtp::parse_endpoint("tcp://*:28332", &why));
    EXPECT_FALSE(zmtp::parse_endpoint("tcp://h:0", &why));
    EXPECT_FALSE(zmtp::parse_endpoint("tcp://h:65536", &why));
    EXPECT_FALSE(zmtp::parse_endpoint("tcp://[::1:5", &why));
}

}  // namespace

// --- the subscriber over the host's real network service --------------------------------------------------------
// A publisher written here with plain sockets on 127.0.0.1 (an ephemeral port) checks the client's bytes
// exactly (greeting, READY, the subscription in the 3.1 command form, then the 3.0 message form after a
// reconnect), sends bitcoind-shaped hashblock messages and closes the connection; then a peer that is not
// ZMTP at all. The host's timer service is stood in for by a thread (the reconnect check).

#include "services/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

struct otd_timer {
    std::thread thread;
    std::mutex m;
    std::condition_variable cv;
    bool cancelled = false;
};

namespace {

using namespace std::chrono_literals;

otd_status_t OTD_CALL timer_start(const otd_host_t*, uint32_t interval_ms, uint32_t repeat, otd_timer_fn fn, void* user, otd_timer_t** out) {
    auto* t = new otd_timer;
    t->thread = std::thread([t, interval_ms, repeat, fn, user] {
        std::unique_lock lock(t->m);
        do {
            if (t->cv.wait_for(lock, std::chrono::milliseconds(interval_ms), [t] { return t->cancelled; })) return;
            lock.unlock();
            fn(user);
            lock.lock();
        } while (repeat != 0);
    });
    *out = t;
    return OTD_OK;
}

void OTD_CALL timer_cancel(const otd_host_t*, otd_timer_t* t) {
    {
        const std::lock_guard lock(t->m);
        t->cancelled = true;
    }
    t->cv.notify_all();
    t->thread.join();
    delete t;
}

const otd_timer_service_t kTimers = {sizeof(otd_timer_service_t), &timer_start, &timer_cancel};

std::string recv_exact(int fd, std::size_t n) {
    std::string out;
    char buf[512];
    while (out.size() < n) {
        const ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (r <= 0) break;
        out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
}

void send_all(int fd, const std::string& s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

class ZmtpClient : public ::testing::Test {
 protected:
    void SetUp() override {
        table_.struct_size = sizeof table_;
        table_.abi_major = OTD_ABI_MAJOR;
        table_.abi_minor = OTD_ABI_MINOR;
        table_.host_name = "zmtp-test";
        table_.host_version = "0";
        table_.log = [](const otd_host_t*, otd_log_level_t, const char*) {};
        net_.attach(&table_, "org.otedama.test.zmtp");
        net_.start();
        lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ASSERT_EQ(::listen(lfd_, 4), 0);
        socklen_t len = sizeof a;
        ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    void TearDown() override {
        net_.stop();
        ::close(lfd_);
    }
    int accept_one() {
        const int fd = ::accept(lfd_, nullptr, nullptr);
        timeval tv{60, 0};  // a hang guard, not a timing assertion
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return fd;
    }
    template <class Pred>
    bool wait_for(Pred pred) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, 120s, pred);
    }
    otd_host_t table_{};
    otedama::services::NetService net_;
    int lfd_ = -1;
    uint16_t port_ = 0;
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::vector<std::string>> messages_;
    std::vector<std::string> errors_;
    int connected_ = 0;
};

TEST_F(ZmtpClient, HandshakeSubscribeReceiveAndReconnect) {
    zmtp::ZmqSubscriber::Options o;
    o.endpoint = {"127.0.0.1", port_};
    o.topics = {"hashblock"};
    o.min_backoff_ms = 50;
    o.max_backoff_ms = 200;
    zmtp::ZmqSubscriber sub(
        &table_, otedama::services::NetService::table(), &kTimers, o,
        [this](const std::vector<std::string>& parts) {
            const std::lock_guard lock(m_);
            messages_.push_back(parts);
            cv_.notify_all();
        },
        [this](const std::string& why) {
            const std::lock_guard lock(m_);
            errors_.push_back(why);
            cv_.notify_all();
        },
        [this] {
            const std::lock_guard lock(m_);
            ++connected_;
            cv_.notify_all();
        });
    std::string why;
    ASSERT_TRUE(sub.start(&why)) << why;

    const std::string hash(32, '\x5A');
    for (int minor = 1; minor >= 0; --minor) {
        const int fd = accept_one();
        ASSERT_GE(fd, 0);
        EXPECT_EQ(recv_exact(fd, 64), zmtp::greeting(1));  // the client's greeting, byte for byte
        send_all(fd, peer_greeting(minor));
        const std::string ready = zmtp::ready_command("SUB");
        EXPECT_EQ(recv_exact(fd, ready.size()), ready);
        send_all(fd, peer_ready("PUB"));
        const std::string subscription = zmtp::subscribe("hashblock", static_cast<uint8_t>(minor));
        EXPECT_EQ(recv_exact(fd, subscription.size()), subscription) << "ZMTP 3." << minor;
        // bitcoind's hashblock: topic, hash, sequence (LE)
        send_all(fd, zmtp::encode_frame("hashblock", true, false) + zmtp::encode_frame(hash, true, false) +
                         zmtp::encode_frame(bytes({minor, 0, 0, 0}), false, false));
        ASSERT_TRUE(wait_for([&] { return messages_.size() == static_cast<std::size_t>(2 - minor); }));
        ::close(fd);  // the publisher goes away: the client reports it and reconnects
        ASSERT_TRUE(wait_for([&] { return errors_.size() >= static_cast<std::size_t>(2 - minor); }));
    }
    {
        const std::lock_guard lock(m_);
        ASSERT_EQ(messages_.size(), 2U);
        EXPECT_EQ(messages_[0], (std::vector<std::string>{"hashblock", hash, bytes({1, 0, 0, 0})}));
        EXPECT_EQ(messages_[1][2], bytes({0, 0, 0, 0}));
        EXPECT_EQ(connected_, 2);
        EXPECT_NE(errors_[0].find("the publisher closed the connection"), std::string::npos) << errors_[0];
        EXPECT_NE(errors_[0].find("tcp://127.0.0.1:" + std::to_string(port_)), std::string::npos) << errors_[0];
    }
    EXPECT_EQ(sub.messages(), 2U);

    // A peer that is not ZMTP: a clear error, the connection dropped, another attempt after the back-off.
    int fd = accept_one();
    ASSERT_GE(fd, 0);
    (void)recv_exact(fd, 64);
    send_all(fd, "HTTP/1.1 400 Bad Request\r\n\r\n");
    ASSERT_TRUE(wait_for([&] {
        for (const auto& e : errors_)
            if (e.find("not a ZMTP peer") != std::string::npos) return true;
        return false;
    }));
    ::close(fd);
    fd = accept_one();  // it came back
    EXPECT_GE(fd, 0);
    sub.shutdown();
    ::close(fd);
    EXPECT_GE(sub.errors(), 3U);
    EXPECT_EQ(sub.connects(), 4U);
}

}  // namespace
