// lib/otedama/node: URL parsing, Basic auth, the HTTP/1.1 response parser (Content-Length, chunked, to the
// end of the connection, malformed replies, limits, every split of a reply across reads), the JSON-RPC
// reply rules, and the asynchronous client over the host's real network service against a tiny HTTP server
// on 127.0.0.1 (an ephemeral port): replies, 401, 500 with an error object, malformed JSON, connect refused,
// timeouts, a reply cut short, and a callback exactly once per request.
// Base64 vectors: RFC 4648 section 10. Basic auth example: RFC 7617 section 2 ("Aladdin:open sesame").
// HTTP message syntax: RFC 9112 (chunked transfer coding: section 7.1).
#include "services/net.hpp"

#include <otedama/node/http.hpp>
#include <otedama/node/jsonrpc.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace node = otedama::node;
using otedama::services::NetService;
using Parser = node::HttpResponseParser;

namespace {

// --- URL, auth ------------------------------------------------------------------------------------------------

TEST(NodeUrl, Parses) {
    auto u = node::parse_url("http://127.0.0.1:18081");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, 18081);
    EXPECT_EQ(u->path, "/");
    EXPECT_FALSE(u->tls());
    u = node::parse_url("HTTPS://[::1]:8332/wallet/x?y=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 8332);
    EXPECT_EQ(u->path, "/wallet/x?y=1");
    EXPECT_TRUE(u->tls());
    EXPECT_EQ(u->endpoint(), "[::1]:8332");
    u = node::parse_url("http://node.example");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 80);
    EXPECT_EQ(node::parse_url("https://node.example")->port, 443);
}

TEST(NodeUrl, RefusesWithReasons) {
    std::string why;
    EXPECT_FALSE(node::parse_url("127.0.0.1:18081", &why));
    EXPECT_NE(why.find("not a URL"), std::string::npos) << why;
    EXPECT_FALSE(node::parse_url("ftp://h:1", &why));
    EXPECT_NE(why.find("scheme"), std::string::npos) << why;
    EXPECT_FALSE(node::parse_url("http://u:p@h:1", &why));
    EXPECT_NE(why.find("credentials"), std::string::npos) << why;
    EXPECT_FALSE(node::parse_url("http://h:0", &why));
    EXPECT_NE(why.find("port"), std::string::npos) << why;
    EXPECT_FALSE(node::parse_url("http://h:70000", &why));
    EXPECT_FALSE(node::parse_url("http://h:", &why));
    EXPECT_FALSE(node::parse_url("http://:80", &why));
    EXPECT_FALSE(node::parse_url("http://::1:80", &why));
    EXPECT_FALSE(node::parse_url("http://[::1:80", &why));
    EXPECT_FALSE(node::parse_url("http://h:80/a b", &why));
}

TEST(NodeAuth, Base64Rfc4648Vectors) {
    EXPECT_EQ(node::base64(""), "");
    EXPECT_EQ(node::base64("f"), "Zg==");
    EXPECT_EQ(node::base64("fo"), "Zm8=");
    EXPECT_EQ(node::base64("foo"), "Zm9v");
    EXPECT_EQ(node::base64("foob"), "Zm9vYg==");
    EXPECT_EQ(node::base64("fooba"), "Zm9vYmE=");
    EXPECT_EQ(node::base64("foobar"), "Zm9vYmFy");
}

TEST(NodeAuth, HeaderFromUserPassAndCookie) {
    node::Auth a;
    EXPECT_EQ(*node::authorization_header(a), "");
    a.user = "Aladdin";
    a.pass = "open sesame";
    EXPECT_EQ(*node::authorization_header(a), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617 section 2
    const auto dir = std::filesystem::temp_directory_path() / ("otedama-cookie-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto cookie = dir / ".cookie";
    { std::ofstream(cookie) << "__cookie__:0123abcd\n"; }
    node::Auth c;
    c.cookie_file = cookie.string();
    c.user = "ignored";
    EXPECT_EQ(*node::authorization_header(c), "Basic " + node::base64("__cookie__:0123abcd"));
    { std::ofstream(cookie) << "nocolon"; }
    std::string why;
    EXPECT_FALSE(node::authorization_header(c, &why));
    EXPECT_NE(why.find("user:password"), std::string::npos) << why;
    c.cookie_file = (dir / "missing").string();
    EXPECT_FALSE(node::authorization_header(c, &why));
    EXPECT_NE(why.find("cannot read the cookie file"), std::string::npos) << why;
    std::filesystem::remove_all(dir);
}

// --- response parser ------------------------------------------------------------------------------------------

struct Parsed {
    Parser::State state;
    node::Response response;
    node::ErrorKind kind;
    std::string error;
};

Parsed parse_pieces(const std::vector<std::string>& pieces, bool close_at_end, Parser::Limits limits = {}) {
    Parser p(limits);
    Parser::State s = Parser::State::need_more;
    for (const auto& piece : pieces) {
        s = p.feed(piece);
        if (s != Parser::State::need_more) break;
    }
    if (s == Parser::State::need_more && close_at_end) s = p.finish();
    return {s, p.response(), p.error_kind(), p.error()};
}

Parsed parse_all(const std::string& text, bool close_at_end = true, Parser::Limits limits = {}) {
    return parse_pieces({text}, close_at_end, limits);
}

const std::string kContentLength =
    "HTTP/1.1 200 Ok\r\nServer: Epee-based\r\nContent-Length: 27\r\nContent-Type: application/json\r\n\r\n"
    "{\"id\":1,\"result\":{\"a\":12}}\n";
const std::string kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    "5;ext=1\r\n{\"id\"\r\n"
    "11\r\n:1,\"result\":\"abcd\r\n"
    "3\r\n\"}\n\r\n"
    "0\r\nX-Trailer: yes\r\n\r\n";
const std::string kToClose = "HTTP/1.0 500 Internal Server Error\nContent-Type: text/plain\n\nsomething broke";

TEST(NodeHttpParser, ContentLength) {
    const auto r = parse_all(kContentLength, false);
    ASSERT_EQ(r.state, Parser::State::done) << r.error;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.reason, "Ok");
    EXPECT_EQ(r.response.headers.at("server"), "Epee-based");
    EXPECT_EQ(r.response.body, "{\"id\":1,\"result\":{\"a\":12}}\n");
}

TEST(NodeHttpParser, ChunkedWithExtensionsAndTrailers) {
    const auto r = parse_all(kChunked, false);
    ASSERT_EQ(r.state, Parser::State::done) << r.error;
    EXPECT_EQ(r.response.body, "{\"id\":1,\"result\":\"abcd\"}\n");
    EXPECT_EQ(r.response.headers.count("x-trailer"), 0u);  // trailers are skipped
}

TEST(NodeHttpParser, BodyToTheEndOfTheConnection) {
    auto r = parse_all(kToClose, false);
    EXPECT_EQ(r.state, Parser::State::need_more);
    r = parse_all(kToClose, true);
    ASSERT_EQ(r.state, Parser::State::done) << r.error;
    EXPECT_EQ(r.response.status, 500);
    EXPECT_EQ(r.response.body, "something broke");
}

TEST(NodeHttpParser, ContinueThenReply) {
    const auto r = parse_all("HTTP/1.1 100 Continue\r\n\r\n" + kContentLength, false);
    ASSERT_EQ(r.state, Parser::State::done) << r.error;
    EXPECT_EQ(r.response.status, 200);
}

TEST(NodeHttpParser, NoBodyStatuses) {
    const auto r = parse_all("HTTP/1.1 204 No Content\r\n\r\n", false);
    ASSERT_EQ(r.state, Parser::State::done);
    EXPECT_EQ(r.response.body, "");
    const auto u = parse_all("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", false);
    ASSERT_EQ(u.state, Parser::State::done);
    EXPECT_EQ(u.response.status, 401);
}

TEST(NodeHttpParser, MalformedReplies) {
    const std::vector<std::string> bad = {
        "SSH-2.0-OpenSSH_9.2\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    };
    for (const auto& text : bad) {
        const auto r = parse_all(text, true);
        EXPECT_EQ(r.state, Parser::State::error) << text;
        EXPECT_EQ(r.kind, node::ErrorKind::malformed) << text << " -> " << r.error;
        EXPECT_FALSE(r.error.empty());
    }
}

TEST(NodeHttpParser, CutShort) {
    for (const std::string& text : {std::string(), kContentLength.substr(0, 20), kContentLength.substr(0, kContentLength.size() - 1),
                                    kChunked.substr(0, kChunked.size() - 3)}) {
        const auto r = parse_all(text, true);
        EXPECT_EQ(r.state, Parser::State::error) << text;
        EXPECT_EQ(r.kind, node::ErrorKind::closed) << text;
    }
    EXPECT_NE(parse_all("", true).error.find("without replying"), std::string::npos);
}

TEST(NodeHttpParser, Limits) {
    Parser::Limits small{256, 10};
    auto r = parse_all("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890", false, small);
    EXPECT_EQ(r.state, Parser::State::error);
    EXPECT_EQ(r.kind, node::ErrorKind::too_large);
    r = parse_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n", false, small);
    EXPECT_EQ(r.kind, node::ErrorKind::too_large);
    r = parse_all("HTTP/1.1 200 OK\r\n\r\n" + std::string(11, 'x'), true, small);
    EXPECT_EQ(r.kind, node::ErrorKind::too_large);
    r = parse_all("HTTP/1.1 200 OK\r\nX: " + std::string(300, 'h') + "\r\n\r\n", false, small);
    EXPECT_EQ(r.kind, node::ErrorKind::too_large);
    // A header without an end never grows past the limit.
    Parser p(small);
    EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\nX: "), Parser::State::need_more);
    Parser::State s = Parser::State::need_more;
    for (int i = 0; i < 100 && s == Parser::State::need_more; ++i) s = p.feed("hhhhhhhhhh");
    EXPECT_EQ(s, Parser::State::error);
    EXPECT_EQ(p.error_kind(), node::ErrorKind::too_large);
}

// Every reply, split at random places into random-sized reads: the same result as in one piece.
TEST(NodeHttpParser, RandomSplitsGiveTheSameResult) {
    std::mt19937 rng(20261121);
    const std::vector<std::pair<std::string, bool>> replies = {{kContentLength, false}, {kChunked, false}, {kToClose, true},
                                                               {"HTTP/1.1 100 Continue\r\n\r\n" + kChunked, false}};
    for (const auto& [text, close] : replies) {
        const auto whole = parse_all(text, close);
        ASSERT_EQ(whole.state, Parser::State::done);
        for (int round = 0; round < 500; ++round) {
            std::vector<std::string> pieces;
            for (std::size_t i = 0; i < text.size();) {
                const std::size_t n = std::min<std::size_t>(text.size() - i, 1 + rng() % (round % 3 == 0 ? 3 : 40));
                pieces.push_back(text.substr(i, n));
                i += n;
            }
            const auto r = parse_pieces(pieces, close);
            ASSERT_EQ(r.state, Parser::State::done) << r.error;
            EXPECT_EQ(r.response.status, whole.response.status);
            EXPECT_EQ(r.response.body, whole.response.body);
            EXPECT_EQ(r.response.headers, whole.response.headers);
        }
    }
}

// Random bytes never crash the parser and always end in a state.
TEST(NodeHttpParser, RandomGarbageIsRefused) {
    std::mt19937 rng(7);
    for (int round = 0; round < 2000; ++round) {
        std::string text = round % 2 == 0 ? "HTTP/1.1 200 OK\r\n" : "";
        const int n = static_cast<int>(rng() % 200);
        for (int i = 0; i < n; ++i) text += static_cast<char>(round % 4 < 2 ? rng() % 256 : "\r\n:0123456789abcdef; HTTPchunked"[rng() % 31]);
        Parser p(Parser::Limits{1024, 4096});
        (void)p.feed(text);
        const auto s = p.finish();
        EXPECT_NE(s, Parser::State::need_more);
    }
}

// --- JSON-RPC reply rules -------------------------------------------------------------------------------------

node::Response reply(int status, std::string body) {
    node::Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

TEST(NodeJsonRpc, ReplyRules) {
    Poco::Dynamic::Var result;
    auto e = node::parse_rpc_reply(reply(200, R"({"id":7,"jsonrpc":"2.0","result":{"height":12}})"), 7, "n", &result);
    ASSERT_FALSE(e) << e.message;
    std::string why;
    EXPECT_EQ(*node::get_uint(node::as_object(result), "height", &why), 12u);
    EXPECT_FALSE(node::get_string(node::as_object(result), "height", &why));
    EXPECT_EQ(why, "height is not a string");
    EXPECT_FALSE(node::get_uint(node::as_object(result), "nope", &why));
    EXPECT_EQ(why, "nope is missing");

    // bitcoind: HTTP 500 with the error object.
    e = node::parse_rpc_reply(reply(500, R"({"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":3})"), 3, "n", &result);
    EXPECT_EQ(e.kind, node::ErrorKind::rpc_error);
    EXPECT_EQ(e.rpc_code, -8);
    EXPECT_EQ(e.http_status, 500);
    EXPECT_NE(e.message.find("Block height out of range"), std::string::npos);
    // monerod: 200 with the error object.
    e = node::parse_rpc_reply(reply(200, R"({"error":{"code":-7,"message":"Block not accepted"},"id":"4","jsonrpc":"2.0"})"), 4, "n", &result);
    EXPECT_EQ(e.kind, node::ErrorKind::rpc_error);
    EXPECT_EQ(e.rpc_code, -7);
    // A bare 401.
    e = node::parse_rpc_reply(reply(401, ""), 1, "n", &result);
    EXPECT_EQ(e.kind, node::ErrorKind::http_status);
    EXPECT_EQ(e.http_status, 401);
    EXPECT_NE(e.message.find("credentials"), std::string::npos) << e.message;
    e = node::parse_rpc_reply(reply(500, "<html>oops</html>"), 1, "n", &result);
    EXPECT_EQ(e.kind, node::ErrorKind::http_status);
    // Malformed JSON, not an object, no result, another id, a non-object error.
    for (const std::string body : {"{\"id\":1,\"result\":", "[1,2]", "{\"id\":1}", "{\"id\":2,\"result\":1}", "{\"id\":1,\"error\":\"x\"}", ""}) {
        e = node::parse_rpc_reply(reply(200, body), 1, "n", &result);
        EXPECT_EQ(e.kind, node::ErrorKind::json) << body;
        EXPECT_FALSE(e.message.empty());
    }
    // null result is a result (bitcoind's submitblock success).
    e = node::parse_rpc_reply(reply(200, R"({"result":null,"error":null,"id":9})"), 9, "n", &result);
    EXPECT_FALSE(e) << e.message;
    EXPECT_TRUE(result.isEmpty());
}

// --- client over the real network service ----------------------------------------------------------------------

class LoggingHost {
 public:
    LoggingHost() {
        table_.struct_size = sizeof table_;
        table_.abi_major = OTD_ABI_MAJOR;
        table_.abi_minor = OTD_ABI_MINOR;
        table_.host_data = this;
        table_.host_name = "node-test";
        table_.host_version = "0";
        table_.log = [](const otd_host_t*, otd_log_level_t, const char*) {};
    }
    const otd_host_t* get() const { return &table_; }

 private:
    otd_host_t table_{};
};

/// A tiny HTTP server on 127.0.0.1: each accepted connection's request (headers and Content-Length body) is
/// read and handed to `reply`, which writes what it likes to the socket; then the socket is closed.
class TinyServer {
 public:
    using Reply = std::function<void(int fd, const std::string& request)>;
    explicit TinyServer(Reply reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) throw std::runtime_error("bind");
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~TinyServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    uint16_t port() const { return port_; }
    std::vector<std::string> requests() const {
        std::lock_guard lock(m_);
        return requests_;
    }

 private:
    void run() {
        while (!stop_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
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
                const ssize_t n = ::recv(c, buf, sizeof buf, 0);
                if (n <= 0) break;
                req.append(buf, static_cast<std::size_t>(n));
            }
            {
                std::lock_guard lock(m_);
                requests_.push_back(req);
            }
            reply_(c, req);
            ::close(c);
        }
    }
    Reply reply_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex m_;
    std::vector<std::string> requests_;
};

void send_all(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

/// Writes `s` in random pieces with short pauses, so the client sees it across many reads.
void send_split(int fd, const std::string& s, unsigned seed) {
    std::mt19937 rng(seed);
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = std::min<std::size_t>(s.size() - i, 1 + rng() % 17);
        send_all(fd, s.substr(i, n));
        i += n;
        if (rng() % 4 == 0) std::this_thread::sleep_for(1ms);
    }
}

std::string http_reply(int status, const std::string& reason, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

struct Outcome {
    std::mutex m;
    std::condition_variable cv;
    int calls = 0;
    node::Error error;
    Poco::Dynamic::Var result;
    node::Response response;
    bool wait(std::chrono::seconds s = 60s) {
        std::unique_lock lock(m);
        return cv.wait_for(lock, s, [&] { return calls > 0; });
    }
    node::JsonRpcClient::Callback rpc() {
        return [this](const node::Error& e, Poco::Dynamic::Var r) {
            std::lock_guard lock(m);
            ++calls;
            error = e;
            result = std::move(r);
            cv.notify_all();
        };
    }
};

class NodeClient : public ::testing::Test {
 protected:
    void SetUp() override {
        net_.attach(host_.get(), "org.otedama.test.node");
        net_.start();
    }
    void TearDown() override { net_.stop(); }
    node::JsonRpcClient::Options options(uint16_t port, uint32_t timeout_ms = 60'000) {
        node::JsonRpcClient::Options o;
        o.http.url = *node::parse_url("http://127.0.0.1:" + std::to_string(port) + "/json_rpc");
        o.http.timeout_ms = timeout_ms;
        return o;
    }
    LoggingHost host_;
    NetService net_;
};

TEST_F(NodeClient, JsonRpcCallWithAuthOverRandomSplits) {
    for (unsigned seed = 1; seed <= 12; ++seed) {
        const bool chunked = seed % 2 == 0;
        TinyServer server([&](int fd, const std::string& req) {
            const auto id_pos = req.find("\"id\":");
            const std::string id = req.substr(id_pos + 5, req.find_first_of(",}", id_pos) - id_pos - 5);
            const std::string body = R"({"id":)" + id + R"(,"jsonrpc":"2.0","result":{"height":)" + std::to_string(seed) + R"(,"status":"OK"}})";
            if (chunked) {
                std::string text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                for (std::size_t i = 0; i < body.size(); i += 10) {
                    const std::string part = body.substr(i, 10);
                    char size[16];
                    std::snprintf(size, sizeof size, "%zx", part.size());
                    text += std::string(size) + "\r\n" + part + "\r\n";
                }
                text += "0\r\n\r\n";
                send_split(fd, text, seed);
            } else {
                send_split(fd, http_reply(200, "Ok", body), seed);
            }
        });
        auto o = options(server.port());
        o.http.auth.user = "u";
        o.http.auth.pass = "p";
        node::JsonRpcClient client(host_.get(), NetService::table(), o);
        Outcome out;
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        params->set("reserve_size", 8);
        client.call("get_block_template", params, out.rpc());
        ASSERT_TRUE(out.wait());
        ASSERT_FALSE(out.error) << out.error.message;
        std::string why;
        EXPECT_EQ(*node::get_uint(node::as_object(out.result), "height", &why), seed);
        const auto req = server.requests().at(0);
        EXPECT_EQ(req.rfind("POST /json_rpc HTTP/1.1\r\n", 0), 0u) << req;
        EXPECT_NE(req.find("\r\nAuthorization: Basic dTpw\r\n"), std::string::npos) << req;  // base64("u:p")
        EXPECT_NE(req.find("\"method\":\"get_block_template\""), std::string::npos);
        EXPECT_NE(req.find("\"params\":{\"reserve_size\":8}"), std::string::npos);
        EXPECT_NE(req.find("\"jsonrpc\":\"2.0\""), std::string::npos);
        client.shutdown();
        EXPECT_EQ(out.calls, 1);
    }
}

TEST_F(NodeClient, PlainJsonPostReadToClose) {
    TinyServer server([](int fd, const std::string&) {
        send_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"height\":5,\"synchronized\":true,\"status\":\"OK\"}");
    });
    node::JsonRpcClient client(host_.get(), NetService::table(), options(server.port()));
    Outcome out;
    client.post_json("/get_info", {}, out.rpc());
    ASSERT_TRUE(out.wait());
    ASSERT_FALSE(out.error) << out.error.message;
    std::string why;
    EXPECT_TRUE(*node::get_bool(node::as_object(out.result), "synchronized", &why));
    EXPECT_EQ(server.requests().at(0).rfind("POST /get_info HTTP/1.1\r\n", 0), 0u);
}

TEST_F(NodeClient, Http401And500AndMalformed) {
    struct Case {
        std::string raw;
        node::ErrorKind kind;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"jsonrpc\"\r\nContent-Length: 0\r\n\r\n", node::ErrorKind::http_status, "401"},
        {http_reply(500, "Internal Server Error", R"({"result":null,"error":{"code":-25,"message":"bad-prevblk"},"id":1})"), node::ErrorKind::rpc_error,
         "bad-prevblk"},
        {http_reply(200, "OK", R"({"id":1,"jsonrpc":"2.0","result":{"a":)"), node::ErrorKind::json, "not JSON"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\":1", node::ErrorKind::closed, "middle of its reply"},
        {"", node::ErrorKind::closed, "without replying"},
        {"garbage\r\n\r\n", node::ErrorKind::malformed, "status line"},
    };
    for (const auto& c : cases) {
        TinyServer server([&](int fd, const std::string&) { send_all(fd, c.raw); });
        node::JsonRpcClient client(host_.get(), NetService::table(), options(server.port()));
        Outcome out;
        client.call("getblocktemplate", {}, out.rpc());
        ASSERT_TRUE(out.wait());
        EXPECT_EQ(out.error.kind, c.kind) << c.raw << " -> " << out.error.message;
        EXPECT_NE(out.error.message.find(c.needle), std::string::npos) << out.error.message;
        EXPECT_NE(out.error.message.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << out.error.message;
        client.shutdown();
        EXPECT_EQ(out.calls, 1);
    }
}

TEST_F(NodeClient, ConnectRefused) {
    // A port that was just free: bind, read it, close.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const uint16_t port = ntohs(a.sin_port);
    ::close(fd);
    node::JsonRpcClient client(host_.get(), NetService::table(), options(port));
    Outcome out;
    client.call("get_info", {}, out.rpc());
    ASSERT_TRUE(out.wait());
    EXPECT_EQ(out.error.kind, node::ErrorKind::connect_failed) << out.error.message;
    EXPECT_NE(out.error.message.find(std::to_string(port)), std::string::npos) << out.error.message;
}

TEST_F(NodeClient, TimeoutWhenTheServerNeverAnswers) {
    std::promise<void> release;
    auto released = release.get_future().share();
    TinyServer server([released](int, const std::string&) { released.wait_for(120s); });
    node::JsonRpcClient client(host_.get(), NetService::table(), options(server.port(), 300));
    Outcome out;
    client.call("get_info", {}, out.rpc());
    ASSERT_TRUE(out.wait());
    EXPECT_EQ(out.error.kind, node::ErrorKind::timeout) << out.error.message;
    EXPECT_NE(out.error.message.find("no reply within 300 ms"), std::string::npos) << out.error.message;
    release.set_value();
    client.shutdown();
    EXPECT_EQ(out.calls, 1);
}

TEST_F(NodeClient, BodyLimit) {
    TinyServer server([](int fd, const std::string&) { send_all(fd, http_reply(200, "OK", std::string(5000, ' ') + "{}")); });
    auto o = options(server.port());
    o.http.max_body = 1000;
    node::JsonRpcClient client(host_.get(), NetService::table(), o);
    Outcome out;
    client.call("get_info", {}, out.rpc());
    ASSERT_TRUE(out.wait());
    EXPECT_EQ(out.error.kind, node::ErrorKind::too_large) << out.error.message;
}

TEST_F(NodeClient, ShutdownAnswersEveryPendingRequestOnce) {
    std::promise<void> release;
    auto released = release.get_future().share();
    TinyServer server([released](int, const std::string&) { released.wait_for(120s); });
    auto client = std::make_unique<node::JsonRpcClient>(host_.get(), NetService::table(), options(server.port()));
    std::atomic<int> calls{0}, shut{0};
    for (int i = 0; i < 5; ++i)
        client->call("get_info", {}, [&](const node::Error& e, Poco::Dynamic::Var) {
            ++calls;
            if (e.kind == node::ErrorKind::shutdown) ++shut;
        });
    // Let them connect (the first is accepted; the others wait in the backlog), then stop.
    std::this_thread::sleep_for(100ms);
    client->shutdown();
    EXPECT_EQ(calls.load(), 5);
    EXPECT_EQ(shut.load(), 5);
    Outcome after;
    client->call("get_info", {}, after.rpc());
    ASSERT_TRUE(after.wait(1s));
    EXPECT_EQ(after.error.kind, node::ErrorKind::shutdown);
    release.set_value();
    client.reset();
    EXPECT_EQ(calls.load(), 5);
}

TEST_F(NodeClient, AuthFailureBeforeConnecting) {
    auto o = options(1);
    o.http.auth.cookie_file = "/nonexistent/otedama/.cookie";
    node::JsonRpcClient client(host_.get(), NetService::table(), o);
    Outcome out;
    client.call("getblocktemplate", {}, out.rpc());
    ASSERT_TRUE(out.wait(1s));
    EXPECT_EQ(out.error.kind, node::ErrorKind::auth);
    EXPECT_NE(out.error.message.find("cookie file"), std::string::npos);
}

}  // namespace
