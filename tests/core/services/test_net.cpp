// Tests of the host's network service (otedama.net/1) over real loopback sockets: framing, idle and
// overflow closes, send/send_many, graceful close, connect, TLS, shutdown semantics, misbehaving plugins.
// Waits are generous timeouts, never timing assertions.
#include "services/net.hpp"

#include "fake_host.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using otedama::services::NetService;
using otedama::services::test::LoggingHost;

namespace {

constexpr auto kWait = 20s;  // generous: the machine may be busy

// --- what the plugin side saw --------------------------------------------------------------------------------
struct Recorder {
  struct Open {
    otd_conn_t id;
    uint64_t tag;
    std::string peer;
    std::string local;
  };
  struct Close {
    otd_conn_t id;
    uint32_t reason;
    std::string message;
  };

  mutable std::recursive_mutex m;  // predicates given to wait() may use the helpers below
  std::condition_variable_any cv;
  std::vector<Open> opens;
  std::map<otd_conn_t, std::vector<std::string>> data;
  std::vector<Close> closes;
  std::set<otd_conn_t> closed_ids;
  std::set<otd_conn_t> busy;          // connections inside a callback right now
  std::atomic<int> violations{0};     // callback after on_close, two callbacks of one connection at once
  std::atomic<int> in_handler{0};
  std::atomic<uint64_t> callbacks{0};

  std::function<otd_status_t(otd_conn_t, uint64_t)> open_hook;
  std::function<void(otd_conn_t, const std::string&)> data_hook;
  std::function<void(otd_conn_t, uint32_t)> close_hook;

  otd_net_handlers_t handlers() {
    otd_net_handlers_t h{};
    h.struct_size = sizeof h;
    h.user = this;
    h.on_open = &Recorder::on_open;
    h.on_data = &Recorder::on_data;
    h.on_close = &Recorder::on_close;
    return h;
  }

  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, timeout, [&] { return pred(); });
  }
  std::vector<std::string> lines(otd_conn_t id) const {
    const std::lock_guard lock(m);
    const auto it = data.find(id);
    return it == data.end() ? std::vector<std::string>{} : it->second;
  }
  std::string joined(otd_conn_t id) const {
    std::string out;
    for (const auto& s : lines(id)) out += s;
    return out;
  }
  std::vector<Close> closes_of(otd_conn_t id) const {
    const std::lock_guard lock(m);
    std::vector<Close> out;
    for (const auto& c : closes)
      if (c.id == id) out.push_back(c);
    return out;
  }
  std::size_t open_count() const {
    const std::lock_guard lock(m);
    return opens.size();
  }
  std::size_t close_count() const {
    const std::lock_guard lock(m);
    return closes.size();
  }

 private:
  void enter(otd_conn_t id) {
    ++callbacks;
    const std::lock_guard lock(m);
    if (closed_ids.count(id) != 0 || !busy.insert(id).second) ++violations;
  }
  void leave(otd_conn_t id) {
    const std::lock_guard lock(m);
    busy.erase(id);
  }
  static otd_status_t OTD_CALL on_open(void* user, otd_conn_t id, uint64_t tag, const char* peer, const char* local) {
    auto* r = static_cast<Recorder*>(user);
    r->enter(id);
    otd_status_t st = OTD_OK;
    if (r->open_hook) st = r->open_hook(id, tag);
    {
      const std::lock_guard lock(r->m);
      r->opens.push_back({id, tag, peer, local});
    }
    r->leave(id);
    r->cv.notify_all();
    return st;
  }
  static void OTD_CALL on_data(void* user, otd_conn_t id, const uint8_t* data, size_t size) {
    auto* r = static_cast<Recorder*>(user);
    r->enter(id);
    const std::string s(reinterpret_cast<const char*>(data), size);
    {
      const std::lock_guard lock(r->m);
      r->data[id].push_back(s);
    }
    r->cv.notify_all();
    struct Leave {
      Recorder* r;
      otd_conn_t id;
      ~Leave() { r->leave(id); }
    } leave{r, id};
    if (r->data_hook) r->data_hook(id, s);  // may throw: the service must survive it
  }
  static void OTD_CALL on_close(void* user, otd_conn_t id, uint32_t reason, const char* message) {
    auto* r = static_cast<Recorder*>(user);
    r->enter(id);
    if (r->close_hook) r->close_hook(id, reason);
    {
      const std::lock_guard lock(r->m);
      r->closes.push_back({id, reason, message});
      r->busy.erase(id);
      r->closed_ids.insert(id);
    }
    r->cv.notify_all();
  }
};

// --- a plain POSIX client ------------------------------------------------------------------------------------
class Client {
 public:
  explicit Client(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
    }
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void write(const std::string& s) const {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<std::size_t>(n);
    }
  }
  /// Reads until `n` bytes or EOF/timeout.
  std::string read_n(std::size_t n) const {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      const ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (r <= 0) break;
      out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
  }
  std::string read_line() const {
    std::string out;
    char ch = 0;
    while (::recv(fd_, &ch, 1, 0) == 1) {
      if (ch == '\n') return out;
      out += ch;
    }
    return out + "<eof>";
  }
  /// Everything until the peer closes (or the receive timeout).
  std::string read_to_eof(bool* eof = nullptr) const {
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r > 0) {
        out.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      if (eof != nullptr) *eof = r == 0 || errno == ECONNRESET;
      return out;
    }
  }
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // bound, never listening: connecting is refused
  return ntohs(a.sin_port);
}

otd_net_options_t options(uint32_t framing, uint32_t max_line = 0, uint32_t idle_ms = 0, uint32_t max_queue = 0) {
  otd_net_options_t o{};
  o.struct_size = sizeof o;
  o.framing = framing;
  o.max_line = max_line;
  o.idle_timeout_ms = idle_ms;
  o.max_send_queue = max_queue;
  return o;
}

// --- a self-signed certificate for localhost / 127.0.0.1, made with OpenSSL -----------------------------------
struct TestCert {
  std::filesystem::path dir;
  std::string cert;
  std::string key;
  TestCert() {
    char tmpl[] = "/tmp/otedama-net-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
             {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, pkey, EVP_sha256());
    FILE* f = std::fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }
  ~TestCert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// --- the fixture ---------------------------------------------------------------------------------------------
class Net : public ::testing::Test {
 protected:
  void SetUp() override { make_service(2); }
  void TearDown() override {
    if (svc_) svc_->stop();
  }
  void make_service(unsigned threads) {
    if (svc_) svc_->stop();
    svc_.reset();
    NetService::Options o;
    o.io_threads = threads;
    o.sweep_interval = 20ms;
    svc_ = std::make_unique<NetService>(o);
    svc_->attach(host_.get(), "org.example.transport.test");
    svc_->start();
  }
  uint16_t listen(Recorder& r, const otd_net_options_t& o, otd_net_listener_t** out = nullptr) {
    otd_net_handlers_t h = r.handlers();
    otd_net_listener_t* l = nullptr;
    uint16_t port = 0;
    char err[OTD_ERROR_CAP] = {};
    EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &o, &h, &l, &port, err, sizeof err), OTD_OK) << err;
    EXPECT_NE(port, 0);
    if (out != nullptr) *out = l;
    return port;
  }
  /// The id of the n-th accepted connection (after it opened).
  otd_conn_t nth_open(Recorder& r, std::size_t n) {
    EXPECT_TRUE(r.wait([&] { return r.opens.size() > n; }));
    const std::lock_guard lock(r.m);
    return r.opens.size() > n ? r.opens[n].id : 0;
  }
  otd_status_t send(otd_conn_t id, const std::string& s) {
    return net_->send(host_.get(), id, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }

  /// A recorder that lives until after TearDown stopped the service (callbacks may still reach it).
  Recorder& rec() { return recorders_.emplace_back(); }

  std::deque<Recorder> recorders_;  // declared first: destroyed last
  LoggingHost host_;
  std::unique_ptr<NetService> svc_;
  const otd_net_service_t* net_ = NetService::table();
};

}  // namespace

TEST(NetTable, IsCompleteAndRefusesUnattachedOrStoppedUse) {
  const otd_net_service_t* t = NetService::table();
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->struct_size, sizeof(otd_net_service_t));
  EXPECT_NE(t->listen, nullptr);
  EXPECT_NE(t->close_listener, nullptr);
  EXPECT_NE(t->connect, nullptr);
  EXPECT_NE(t->send, nullptr);
  EXPECT_NE(t->send_many, nullptr);
  EXPECT_NE(t->close, nullptr);
  EXPECT_NE(t->shutdown, nullptr);

  Recorder r;
  otd_net_handlers_t h = r.handlers();
  otd_net_listener_t* l = nullptr;
  char err[OTD_ERROR_CAP] = {};
  LoggingHost stranger;
  EXPECT_EQ(t->listen(stranger.get(), "127.0.0.1", 0, nullptr, &h, &l, nullptr, err, sizeof err), OTD_ERR_STATE);
  EXPECT_NE(std::string(err).find("no network service"), std::string::npos) << err;

  NetService idle;  // attached, never started
  LoggingHost host;
  idle.attach(host.get(), "org.example.idle");
  EXPECT_EQ(t->listen(host.get(), "127.0.0.1", 0, nullptr, &h, &l, nullptr, err, sizeof err), OTD_ERR_STATE);
  EXPECT_NE(std::string(err).find("not running"), std::string::npos) << err;
  otd_conn_t id = 1;
  EXPECT_EQ(t->connect(host.get(), "127.0.0.1", 1, nullptr, &h, 0, &id, err, sizeof err), OTD_ERR_STATE);
  EXPECT_EQ(id, 0u);
  EXPECT_EQ(t->send(host.get(), 12345, reinterpret_cast<const uint8_t*>("x"), 1), OTD_ERR_NOT_FOUND);
  t->close(host.get(), 12345, 1);  // ignored
  t->shutdown(host.get());          // nothing to do
  t->shutdown(nullptr);
  t->close_listener(nullptr, nullptr);
}

TEST_F(Net, RejectsBadArgumentsWithMessages) {
  Recorder& r = rec();
  otd_net_handlers_t h = r.handlers();
  otd_net_listener_t* l = nullptr;
  char err[OTD_ERROR_CAP] = {};
  const otd_net_options_t lines = options(OTD_NET_FRAMING_LINES);
  EXPECT_EQ(net_->listen(host_.get(), "300.1.2.3", 0, &lines, &h, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("300.1.2.3"), std::string::npos) << err;
  EXPECT_EQ(net_->listen(host_.get(), nullptr, 0, &lines, &h, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &lines, nullptr, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  otd_net_handlers_t no_data = h;
  no_data.on_data = nullptr;
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &lines, &no_data, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("on_data"), std::string::npos) << err;
  otd_net_options_t bad = options(7);
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &bad, &h, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("framing"), std::string::npos) << err;
  otd_net_options_t tiny = lines;
  tiny.struct_size = 4;
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &tiny, &h, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  otd_net_options_t tls = lines;
  tls.tls = 1;
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &tls, &h, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("tls_cert_file"), std::string::npos) << err;
  tls.tls_cert_file = "/nonexistent/cert.pem";
  tls.tls_key_file = "/nonexistent/key.pem";
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &tls, &h, &l, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_NE(std::string(err).find("/nonexistent/cert.pem"), std::string::npos) << err;

  // A port in use: the message names the address.
  const uint16_t port = listen(r, lines);
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", port, &lines, &h, &l, nullptr, err, sizeof err), OTD_ERR_IO);
  EXPECT_NE(std::string(err).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;

  otd_conn_t id = 0;
  EXPECT_EQ(net_->connect(host_.get(), "", 1, &lines, &h, 0, &id, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(net_->connect(host_.get(), "127.0.0.1", 0, &lines, &h, 0, &id, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(net_->connect(host_.get(), "127.0.0.1", 1, &lines, &h, 0, nullptr, err, sizeof err), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(net_->send(host_.get(), 0, nullptr, 0), OTD_ERR_NOT_FOUND);
  EXPECT_EQ(net_->send(host_.get(), 1, nullptr, 5), OTD_ERR_INVALID_ARG);
  size_t sent = 99;
  EXPECT_EQ(net_->send_many(host_.get(), nullptr, 3, reinterpret_cast<const uint8_t*>("x"), 1, &sent), OTD_ERR_INVALID_ARG);
  EXPECT_EQ(sent, 0u);
  net_->close_listener(host_.get(), reinterpret_cast<otd_net_listener_t*>(&r));  // not a listener: logged, ignored
  EXPECT_EQ(host_.count(OTD_LOG_WARN), 1u);
}

TEST_F(Net, LinesAcrossSplitWritesSeveralPerPacketAndCrlf) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  Client c(port);
  const otd_conn_t id = nth_open(r, 0);
  {
    const std::lock_guard lock(r.m);
    EXPECT_EQ(r.opens[0].tag, 0u);
    EXPECT_EQ(r.opens[0].local, "127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(r.opens[0].peer.rfind("127.0.0.1:", 0), 0u) << r.opens[0].peer;
  }
  c.write("hel");
  std::this_thread::sleep_for(30ms);
  c.write("lo\nwor");
  std::this_thread::sleep_for(30ms);
  c.write("ld\r\nA\nB\n\nC\rD\n");
  std::this_thread::sleep_for(30ms);
  c.write("tail-without-newline");
  ASSERT_TRUE(r.wait([&] { return r.data[id].size() >= 6; }));
  EXPECT_EQ(r.lines(id), (std::vector<std::string>{"hello", "world", "A", "B", "", "C\rD"}));
  c.close();
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id).size(), 1u);
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_BY_PEER);
  EXPECT_EQ(r.lines(id).size(), 6u) << "an incomplete line is not delivered";
  EXPECT_EQ(r.violations.load(), 0);
}

TEST_F(Net, MaxLineIsEnforcedWithAMessageNamingTheLimit) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES, 8));
  {
    Client ok(port);
    const otd_conn_t id = nth_open(r, 0);
    ok.write("12345678\r\n1234");  // exactly 8 bytes with CRLF, then a fragment
    ok.write("5678\n");            // completes an 8-byte line across reads
    ASSERT_TRUE(r.wait([&] { return r.data[id].size() >= 2; }));
    EXPECT_EQ(r.lines(id), (std::vector<std::string>{"12345678", "12345678"}));
    EXPECT_TRUE(r.closes_of(id).empty());
  }
  Client too_long(port);
  const otd_conn_t id2 = nth_open(r, 1);
  too_long.write("123456789\n");
  ASSERT_TRUE(r.wait([&] { return !r.closes_of(id2).empty(); }));
  const auto close = r.closes_of(id2)[0];
  EXPECT_EQ(close.reason, OTD_NET_CLOSED_LINE_TOO_LONG);
  EXPECT_NE(close.message.find("8 bytes"), std::string::npos) << close.message;
  EXPECT_TRUE(r.lines(id2).empty());
  bool eof = false;
  too_long.read_to_eof(&eof);
  EXPECT_TRUE(eof);

  Client endless(port);  // no newline at all: closed once the fragment passes the limit
  const otd_conn_t id3 = nth_open(r, 2);
  endless.write("0123456789abcdef");
  ASSERT_TRUE(r.wait([&] { return !r.closes_of(id3).empty(); }));
  EXPECT_EQ(r.closes_of(id3)[0].reason, OTD_NET_CLOSED_LINE_TOO_LONG);
}

TEST_F(Net, RawFramingDeliversEveryByteInOrder) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_RAW));
  Client c(port);
  const otd_conn_t id = nth_open(r, 0);
  std::string payload;
  for (int i = 0; i < 300000; ++i) payload += static_cast<char>((i * 7 + i / 256) & 0xff);
  for (std::size_t off = 0; off < payload.size(); off += 77777) c.write(payload.substr(off, 77777));
  ASSERT_TRUE(r.wait([&] {
    std::size_t n = 0;
    for (const auto& s : r.data[id]) n += s.size();
    return n >= payload.size();
  }));
  EXPECT_EQ(r.joined(id), payload);
}

TEST_F(Net, IdleConnectionsAreClosedBySweep) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES, 0, 150));
  Client c(port);
  const otd_conn_t id = nth_open(r, 0);
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_IDLE);
  EXPECT_NE(r.closes_of(id)[0].message.find("150 ms"), std::string::npos);
  bool eof = false;
  c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(send(id, "late\n"), OTD_ERR_NOT_FOUND);
}

TEST_F(Net, OnOpenMayRefuseAndTheRefusedConnectionGetsItsOnClose) {
  Recorder& r = rec();
  std::atomic<int> n{0};
  r.open_hook = [&](otd_conn_t, uint64_t) { return n++ == 0 ? OTD_ERR_BUSY : OTD_OK; };
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  Client refused(port);
  const otd_conn_t id = nth_open(r, 0);
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_BY_PLUGIN);
  EXPECT_NE(r.closes_of(id)[0].message.find("on_open"), std::string::npos);
  bool eof = false;
  refused.read_to_eof(&eof);
  EXPECT_TRUE(eof);

  Client accepted(port);
  const otd_conn_t id2 = nth_open(r, 1);
  accepted.write("hi\n");
  ASSERT_TRUE(r.wait([&] { return !r.data[id2].empty(); }));
  EXPECT_TRUE(r.closes_of(id2).empty());
}

TEST_F(Net, SendAndSendManyReachManyConnectionsAndSkipClosedIds) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  constexpr int kClients = 300;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<Client>(port));
  ASSERT_TRUE(r.wait([&] { return r.opens.size() == kClients; }));
  // Map each client to its id through a hello line.
  for (int i = 0; i < kClients; ++i) clients[i]->write("client " + std::to_string(i) + "\n");
  ASSERT_TRUE(r.wait([&] { return r.data.size() == kClients; }));
  std::vector<otd_conn_t> ids(kClients);
  {
    const std::lock_guard lock(r.m);
    for (const auto& [id, lines] : r.data) ids[std::stoi(lines[0].substr(7))] = id;
  }
  for (int i = 0; i < kClients; ++i) ASSERT_EQ(send(ids[i], "you are " + std::to_string(i) + "\n"), OTD_OK);
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(clients[i]->read_line(), "you are " + std::to_string(i));

  // One client leaves; its id is skipped, as is one that never existed.
  clients[5]->close();
  ASSERT_TRUE(r.wait([&] { return r.closes.size() == 1; }));
  EXPECT_EQ(send(ids[5], "x\n"), OTD_ERR_NOT_FOUND);
  std::vector<otd_conn_t> targets = ids;
  targets.push_back(0xdeadbeefULL);
  const std::string job = R"({"method":"mining.notify","params":["job1"]})" "\n";
  size_t sent = 0;
  ASSERT_EQ(net_->send_many(host_.get(), targets.data(), targets.size(), reinterpret_cast<const uint8_t*>(job.data()),
                            job.size(), &sent),
            OTD_OK);
  EXPECT_EQ(sent, static_cast<size_t>(kClients - 1));
  for (int i = 0; i < kClients; ++i) {
    if (i == 5) continue;
    EXPECT_EQ(clients[i]->read_line() + "\n", job) << i;
  }
  // Another plugin instance cannot reach these connections.
  LoggingHost other;
  svc_->attach(other.get(), "org.example.other");
  EXPECT_EQ(net_->send(other.get(), ids[0], reinterpret_cast<const uint8_t*>("x"), 1), OTD_ERR_NOT_FOUND);
  net_->shutdown(other.get());
  EXPECT_EQ(send(ids[0], "still here\n"), OTD_OK);
  EXPECT_EQ(clients[0]->read_line(), "still here");
  EXPECT_EQ(r.violations.load(), 0);
}

TEST_F(Net, HandlersMaySendAndCloseFromInsideTheirCallbacks) {
  Recorder& r = rec();
  r.data_hook = [&](otd_conn_t id, const std::string& line) {
    const std::string reply = line == "quit" ? "bye\n" : "echo " + line + "\n";
    net_->send(host_.get(), id, reinterpret_cast<const uint8_t*>(reply.data()), reply.size());
    if (line == "quit") net_->close(host_.get(), id, 1);
  };
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  Client c(port);
  const otd_conn_t id = nth_open(r, 0);
  c.write("one\ntwo\nquit\nnever delivered\n");
  bool eof = false;
  EXPECT_EQ(c.read_to_eof(&eof), "echo one\necho two\nbye\n");
  EXPECT_TRUE(eof);
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_BY_PLUGIN);
  EXPECT_EQ(r.lines(id), (std::vector<std::string>{"one", "two", "quit"}));
}

TEST_F(Net, GracefulCloseFlushesEverythingQueuedFirst) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_RAW, 0, 0, 16u << 20));
  Client c(port, 16 * 1024);  // a small receive window: the output really queues
  const otd_conn_t id = nth_open(r, 0);
  std::string big;
  for (int i = 0; i < (4 << 20); ++i) big += static_cast<char>('a' + i % 26);
  for (std::size_t off = 0; off < big.size(); off += 100000) ASSERT_EQ(send(id, big.substr(off, 100000)), OTD_OK);
  net_->close(host_.get(), id, 1);
  EXPECT_EQ(send(id, "after close"), OTD_ERR_NOT_FOUND);
  std::this_thread::sleep_for(200ms);  // let the queue back up behind the reader
  bool eof = false;
  const std::string got = c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big);
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_BY_PLUGIN);
}

TEST_F(Net, ImmediateCloseAndUnknownIdsAreHarmless) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  Client c(port);
  const otd_conn_t id = nth_open(r, 0);
  net_->close(host_.get(), id, 0);
  net_->close(host_.get(), id, 0);      // twice: ignored
  net_->close(host_.get(), id + 1, 0);  // unknown: ignored
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id).size(), 1u);
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_BY_PLUGIN);
  EXPECT_EQ(send(id, "x"), OTD_ERR_NOT_FOUND);
  bool eof = false;
  c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
}

TEST_F(Net, ASlowReaderOverflowsTheSendQueue) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_RAW, 0, 0, 64 * 1024));
  Client c(port, 4096);  // never reads
  const otd_conn_t id = nth_open(r, 0);
  const std::string chunk(16 * 1024, 'x');
  otd_status_t st = OTD_OK;
  for (int i = 0; i < 20000 && st == OTD_OK; ++i) st = send(id, chunk);  // at most 320 MiB
  EXPECT_EQ(st, OTD_ERR_NOT_FOUND);
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_SEND_OVERFLOW);
  EXPECT_NE(r.closes_of(id)[0].message.find("65536"), std::string::npos) << r.closes_of(id)[0].message;
  const std::string too_big(128 * 1024, 'y');  // larger than the whole queue: refused on a fresh connection too
  Client c2(port);
  const otd_conn_t id2 = nth_open(r, 1);
  EXPECT_EQ(send(id2, too_big), OTD_ERR_NOT_FOUND);
  ASSERT_TRUE(r.wait([&] { return !r.closes_of(id2).empty(); }));
  EXPECT_EQ(r.closes_of(id2)[0].reason, OTD_NET_CLOSED_SEND_OVERFLOW);
}

TEST_F(Net, ConnectOpensWithTheTagAndCarriesDataBothWays) {
  Recorder& server = rec();
  server.data_hook = [&](otd_conn_t id, const std::string& line) {
    const std::string reply = "pong " + line + "\n";
    net_->send(host_.get(), id, reinterpret_cast<const uint8_t*>(reply.data()), reply.size());
  };
  const uint16_t port = listen(server, options(OTD_NET_FRAMING_LINES));
  Recorder& client = rec();
  otd_net_handlers_t h = client.handlers();
  const otd_net_options_t o = options(OTD_NET_FRAMING_LINES);
  char err[OTD_ERROR_CAP] = {};
  for (const char* name : {"127.0.0.1", "localhost"}) {
    otd_conn_t id = 0;
    ASSERT_EQ(net_->connect(host_.get(), name, port, &o, &h, 42, &id, err, sizeof err), OTD_OK) << err;
    ASSERT_NE(id, 0u);
    // Sent before the connection is open: queued and written once it is.
    ASSERT_EQ(send(id, std::string("early from ") + name + "\n"), OTD_OK);
    ASSERT_TRUE(client.wait([&] { return !client.data[id].empty(); }));
    EXPECT_EQ(client.lines(id)[0], std::string("pong early from ") + name);
    {
      const std::lock_guard lock(client.m);
      ASSERT_FALSE(client.opens.empty());
      EXPECT_EQ(client.opens.back().id, id);
      EXPECT_EQ(client.opens.back().tag, 42u);
      EXPECT_EQ(client.opens.back().peer, "127.0.0.1:" + std::to_string(port));
    }
    net_->close(host_.get(), id, 1);
    ASSERT_TRUE(client.wait([&] { return !client.closes_of(id).empty(); }));
    EXPECT_EQ(client.closes_of(id)[0].reason, OTD_NET_CLOSED_BY_PLUGIN);
  }
  EXPECT_EQ(client.violations.load(), 0);
  EXPECT_EQ(server.violations.load(), 0);
}

TEST_F(Net, ARefusedConnectGetsExactlyOneOnCloseAndNoOnOpen) {
  Recorder& r = rec();
  otd_net_handlers_t h = r.handlers();
  const otd_net_options_t o = options(OTD_NET_FRAMING_LINES);
  char err[OTD_ERROR_CAP] = {};
  otd_conn_t id = 0;
  const uint16_t port = unused_port();
  ASSERT_EQ(net_->connect(host_.get(), "127.0.0.1", port, &o, &h, 7, &id, err, sizeof err), OTD_OK) << err;
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(r.closes.size(), 1u);
  EXPECT_EQ(r.closes[0].id, id);
  EXPECT_EQ(r.closes[0].reason, OTD_NET_CONNECT_FAILED);
  EXPECT_NE(r.closes[0].message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.closes[0].message;
  EXPECT_NE(r.closes[0].message.find("refused"), std::string::npos) << r.closes[0].message;
  EXPECT_EQ(r.open_count(), 0u);
  EXPECT_EQ(send(id, "x"), OTD_ERR_NOT_FOUND);

  // Closed by the plugin before it could open: one on_close, no on_open.
  Recorder& r2 = rec();
  otd_net_handlers_t h2 = r2.handlers();
  ASSERT_EQ(net_->connect(host_.get(), "127.0.0.1", port, &o, &h2, 8, &id, err, sizeof err), OTD_OK) << err;
  net_->close(host_.get(), id, 0);
  ASSERT_TRUE(r2.wait([&] { return !r2.closes.empty(); }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(r2.close_count(), 1u);
  EXPECT_EQ(r2.open_count(), 0u);
}

TEST_F(Net, TlsRoundTripAndVerification) {
  const TestCert cert;
  Recorder& server = rec();
  server.data_hook = [&](otd_conn_t id, const std::string& line) {
    const std::string reply = "tls " + line + "\n";
    net_->send(host_.get(), id, reinterpret_cast<const uint8_t*>(reply.data()), reply.size());
  };
  otd_net_options_t so = options(OTD_NET_FRAMING_LINES, 1U << 20);
  so.tls = 1;
  so.tls_cert_file = cert.cert.c_str();
  so.tls_key_file = cert.key.c_str();
  const uint16_t port = listen(server, so);

  auto connect = [&](Recorder& r, uint32_t verify, const char* name) {
    otd_net_handlers_t h = r.handlers();
    otd_net_options_t o = options(OTD_NET_FRAMING_LINES, 1U << 20);
    o.tls = 1;
    o.tls_verify = verify;
    o.tls_server_name = name;
    char err[OTD_ERROR_CAP] = {};
    otd_conn_t id = 0;
    EXPECT_EQ(net_->connect(host_.get(), "127.0.0.1", port, &o, &h, 1, &id, err, sizeof err), OTD_OK) << err;
    return id;
  };

  // Without verification: a pool's self-signed certificate is fine.
  Recorder& plain = rec();
  const otd_conn_t id = connect(plain, 0, nullptr);
  ASSERT_EQ(send(id, "hello\n"), OTD_OK);  // before the handshake finished: queued
  ASSERT_TRUE(plain.wait([&] { return !plain.data[id].empty(); }));
  EXPECT_EQ(plain.lines(id)[0], "tls hello");
  std::string big(200000, 'z');
  ASSERT_EQ(send(id, big + "\n"), OTD_OK);  // many records each way
  ASSERT_TRUE(plain.wait([&] { return plain.data[id].size() >= 2; }));
  EXPECT_EQ(plain.lines(id)[1], "tls " + big);

  // With verification against the system's CAs: the self-signed certificate is refused.
  Recorder& strict = rec();
  const otd_conn_t id2 = connect(strict, 1, "localhost");
  ASSERT_TRUE(strict.wait([&] { return !strict.closes.empty(); }));
  EXPECT_EQ(strict.closes_of(id2)[0].reason, OTD_NET_CONNECT_FAILED);
  EXPECT_NE(strict.closes_of(id2)[0].message.find("certificate"), std::string::npos) << strict.closes_of(id2)[0].message;
  EXPECT_EQ(strict.open_count(), 0u);

  // A plain-text client on the TLS port: the handshake fails, the plugin never hears of it.
  const std::size_t opens_before = server.open_count();
  {
    Client raw(port);
    raw.write("GET / HTTP/1.0\r\n\r\n");
    bool eof = false;
    raw.read_to_eof(&eof);
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.open_count(), opens_before);

  net_->close(host_.get(), id, 1);
  ASSERT_TRUE(plain.wait([&] { return !plain.closes.empty(); }));
  EXPECT_EQ(server.violations.load(), 0);
  const auto deltas = svc_->take_deltas();
  ASSERT_FALSE(deltas.plugins.empty());
  EXPECT_GE(deltas.plugins[0].closed[NetService::kTlsHandshakeSlot], 1u);
}

TEST_F(Net, TlsVerificationAcceptsATrustedCertificateAndChecksTheName) {
  const TestCert cert;
  // The client context reads the system's CA locations when first used; point them at our certificate.
  ::setenv("SSL_CERT_FILE", cert.cert.c_str(), 1);
  make_service(2);
  Recorder& server = rec();
  otd_net_options_t so = options(OTD_NET_FRAMING_LINES);
  so.tls = 1;
  so.tls_cert_file = cert.cert.c_str();
  so.tls_key_file = cert.key.c_str();
  const uint16_t port = listen(server, so);
  auto try_name = [&](Recorder& r, const char* name) {
    otd_net_handlers_t h = r.handlers();
    otd_net_options_t o = options(OTD_NET_FRAMING_LINES);
    o.tls = 1;
    o.tls_verify = 1;
    o.tls_server_name = name;
    char err[OTD_ERROR_CAP] = {};
    otd_conn_t id = 0;
    EXPECT_EQ(net_->connect(host_.get(), "127.0.0.1", port, &o, &h, 1, &id, err, sizeof err), OTD_OK) << err;
    EXPECT_TRUE(r.wait([&] { return !r.opens.empty() || !r.closes.empty(); }));
    return id;
  };
  Recorder& good = rec();
  try_name(good, "localhost");
  EXPECT_EQ(good.open_count(), 1u);
  Recorder& by_ip = rec();
  try_name(by_ip, "127.0.0.1");
  EXPECT_EQ(by_ip.open_count(), 1u);
  Recorder& wrong = rec();
  try_name(wrong, "pool.example.org");
  EXPECT_EQ(wrong.open_count(), 0u);
  ASSERT_EQ(wrong.close_count(), 1u);
  EXPECT_EQ(wrong.closes[0].reason, OTD_NET_CONNECT_FAILED);
  ::unsetenv("SSL_CERT_FILE");
}

TEST_F(Net, ShutdownWaitsForRunningHandlersAndNothingRunsAfterIt) {
  Recorder& r = rec();
  std::atomic<bool> slow_started{false};
  r.data_hook = [&](otd_conn_t, const std::string& line) {
    if (line != "slow") return;
    ++r.in_handler;
    slow_started = true;
    std::this_thread::sleep_for(400ms);
    --r.in_handler;
  };
  otd_net_listener_t* listener = nullptr;
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES), &listener);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(std::make_unique<Client>(port));
  ASSERT_TRUE(r.wait([&] { return r.opens.size() == 20; }));
  clients[0]->write("slow\n");
  for (int i = 0; i < 200 && !slow_started; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(slow_started);
  // Chatter on the others while shutting down.
  std::atomic<bool> stop_chatter{false};
  std::thread chatter([&] {
    while (!stop_chatter) {
      for (std::size_t i = 1; i < clients.size(); ++i) {
        try {
          clients[i]->write("noise\n");
        } catch (...) {
        }
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  net_->shutdown(host_.get());
  EXPECT_EQ(r.in_handler.load(), 0) << "shutdown returned while a handler was still running";
  const uint64_t calls = r.callbacks.load();
  EXPECT_EQ(r.close_count(), 20u);
  for (const auto& c : r.closes) EXPECT_EQ(c.reason, OTD_NET_CLOSED_SHUTDOWN);
  std::this_thread::sleep_for(200ms);
  stop_chatter = true;
  chatter.join();
  EXPECT_EQ(r.callbacks.load(), calls) << "a handler ran after shutdown returned";
  EXPECT_EQ(r.violations.load(), 0);
  EXPECT_THROW(Client late(port), std::runtime_error) << "the listener is closed";
  // The handle stays valid until close_listener; the plugin can start again afterwards.
  net_->close_listener(host_.get(), listener);
  Recorder& again = rec();
  const uint16_t port2 = listen(again, options(OTD_NET_FRAMING_LINES));
  Client c(port2);
  nth_open(again, 0);
}

TEST_F(Net, ShutdownOnTheControlStrandWhileHandlersPostToIt) {
  // A stand-in for the host's control strand: a separate io_context. Handlers post work to it (as
  // submit_candidate or timers do); shutdown() runs on it. Must not deadlock.
  boost::asio::io_context control_io;
  auto control = boost::asio::make_strand(control_io);
  auto guard = boost::asio::make_work_guard(control_io);
  std::thread control_thread([&] { control_io.run(); });
  std::atomic<int> posted{0};
  Recorder& r = rec();
  r.data_hook = [&](otd_conn_t, const std::string&) {
    boost::asio::post(control, [&] { ++posted; });
  };
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(std::make_unique<Client>(port));
  ASSERT_TRUE(r.wait([&] { return r.opens.size() == 10; }));
  std::atomic<bool> stop_chatter{false};
  std::thread chatter([&] {
    while (!stop_chatter) {
      for (auto& c : clients) {
        try {
          c->write("share\nshare\n");
        } catch (...) {
        }
      }
    }
  });
  ASSERT_TRUE(r.wait([&] { return r.data.size() == 10; }));
  std::promise<void> done;
  boost::asio::post(control, [&] {
    net_->shutdown(host_.get());
    done.set_value();
  });
  EXPECT_EQ(done.get_future().wait_for(kWait), std::future_status::ready);
  stop_chatter = true;
  chatter.join();
  guard.reset();
  control_thread.join();
  EXPECT_EQ(r.close_count(), 10u);
  EXPECT_GT(posted.load(), 0);
}

TEST_F(Net, AThrowingHandlerClosesItsConnectionAndTheIoThreadGoesOn) {
  make_service(1);  // one I/O thread: the same thread must serve the next connection
  Recorder& r = rec();
  r.data_hook = [&](otd_conn_t, const std::string& line) {
    if (line == "boom") throw std::runtime_error("plugin bug");
  };
  std::atomic<int> opened{0};
  r.open_hook = [&](otd_conn_t, uint64_t) -> otd_status_t {
    if (opened++ == 2) throw 42;  // a non-standard exception from on_open
    return OTD_OK;
  };
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  Client a(port);
  const otd_conn_t ida = nth_open(r, 0);
  Client b(port);
  const otd_conn_t idb = nth_open(r, 1);
  a.write("boom\nnot delivered\n");
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(ida)[0].reason, OTD_NET_CLOSED_ERROR);
  EXPECT_NE(r.closes_of(ida)[0].message.find("plugin bug"), std::string::npos);
  EXPECT_EQ(r.lines(ida), std::vector<std::string>{"boom"});
  b.write("still alive\n");
  ASSERT_TRUE(r.wait([&] { return !r.data[idb].empty(); }));
  EXPECT_EQ(r.lines(idb)[0], "still alive");
  Client c(port);  // on_open throws: the connection goes, the service stays
  ASSERT_TRUE(r.wait([&] { return r.closes.size() == 2; }));
  bool eof = false;
  c.read_to_eof(&eof);
  EXPECT_TRUE(eof);
  EXPECT_GE(host_.count(OTD_LOG_ERROR), 2u);
  bool logged = false;
  for (const auto& [level, text] : host_.messages()) logged = logged || text.find("C++ exception crossed the ABI in on_data") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(Net, ExactlyOneOnCloseWhenPeerAndPluginCloseAtOnce) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<Client>(port));
  ASSERT_TRUE(r.wait([&] { return r.opens.size() == kClients; }));
  std::vector<otd_conn_t> ids;
  {
    const std::lock_guard lock(r.m);
    for (const auto& o : r.opens) ids.push_back(o.id);
  }
  std::thread peers([&] {
    for (int i = 0; i < kClients; i += 2) clients[i]->close();
  });
  for (otd_conn_t id : ids) {
    send(id, "bye\n");
    net_->close(host_.get(), id, id % 3 == 0 ? 1 : 0);
  }
  peers.join();
  ASSERT_TRUE(r.wait([&] { return r.closes.size() >= kClients; }));
  std::this_thread::sleep_for(100ms);
  std::map<otd_conn_t, int> count;
  for (const auto& c : r.closes) ++count[c.id];
  EXPECT_EQ(count.size(), static_cast<std::size_t>(kClients));
  for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(r.violations.load(), 0);
}

TEST_F(Net, StopClosesEverythingWithShutdownAndRefusesNewWork) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  Client a(port);
  Client b(port);
  ASSERT_TRUE(r.wait([&] { return r.opens.size() == 2; }));
  const otd_conn_t id = nth_open(r, 0);
  svc_->stop();
  EXPECT_EQ(r.close_count(), 2u);
  for (const auto& c : r.closes) EXPECT_EQ(c.reason, OTD_NET_CLOSED_SHUTDOWN);
  EXPECT_EQ(send(id, "x"), OTD_ERR_NOT_FOUND);
  otd_net_handlers_t h = r.handlers();
  const otd_net_options_t o = options(OTD_NET_FRAMING_LINES);
  otd_net_listener_t* l = nullptr;
  char err[OTD_ERROR_CAP] = {};
  EXPECT_EQ(net_->listen(host_.get(), "127.0.0.1", 0, &o, &h, &l, nullptr, err, sizeof err), OTD_ERR_STATE);
  svc_->stop();  // idempotent
  const auto d = svc_->take_deltas();
  ASSERT_EQ(d.plugins.size(), 1u);
  EXPECT_EQ(d.plugins[0].plugin, "org.example.transport.test");
  EXPECT_EQ(d.plugins[0].open, 0u);
  EXPECT_EQ(d.plugins[0].accepted, 2u);
  EXPECT_EQ(d.plugins[0].closed[OTD_NET_CLOSED_SHUTDOWN], 2u);
}

TEST_F(Net, AcceptOutOfDescriptorsBacksOffLogsWithACountAndRecovers) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES));
  // Sockets made before the limit drops: connecting them needs no new descriptor, accepting them does.
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) fds.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  const int lowest_free = ::fcntl(0, F_DUPFD, 0);
  ::close(lowest_free);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : fds) ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);  // into the backlog
  std::this_thread::sleep_for(1500ms);  // accept keeps failing meanwhile: paused, not spinning
  const std::size_t opened_while_low = r.open_count();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(opened_while_low, 0u);
  EXPECT_TRUE(r.wait([&] { return r.opens.size() == 3; })) << "accepting resumes once descriptors are free";
  std::size_t reports = 0;
  for (const auto& [level, text] : host_.messages()) {
    if (level == OTD_LOG_WARN && text.find("accept on 127.0.0.1:" + std::to_string(port)) != std::string::npos) {
      ++reports;
      EXPECT_NE(text.find("Too many open files"), std::string::npos) << text;
      EXPECT_NE(text.find("time"), std::string::npos) << text;
    }
  }
  EXPECT_GE(reports, 1u);
  EXPECT_LE(reports, 4u) << "at most about one report a second";
  const auto d = svc_->take_deltas();
  ASSERT_FALSE(d.plugins.empty());
  EXPECT_GE(d.plugins[0].accept_errors, 1u);
  EXPECT_LE(d.plugins[0].accept_errors, 100u) << "backed off, not spinning";
  for (int fd : fds) ::close(fd);
}

TEST_F(Net, BinaryJunkNeverCrashesAndNulBytesStayInLines) {
  Recorder& r = rec();
  const uint16_t port = listen(r, options(OTD_NET_FRAMING_LINES, 64));
  Client c(port);
  const otd_conn_t id = nth_open(r, 0);
  c.write(std::string("a\0b\r\n", 5));
  ASSERT_TRUE(r.wait([&] { return !r.data[id].empty(); }));
  EXPECT_EQ(r.lines(id)[0], std::string("a\0b", 3));
  std::string junk;
  uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1103515245U + 12345U;
    junk += static_cast<char>(x >> 24);
  }
  try {
    c.write(junk);
  } catch (const std::exception&) {
    // the service may close it first: fine
  }
  ASSERT_TRUE(r.wait([&] { return !r.closes.empty(); }));
  EXPECT_EQ(r.closes_of(id)[0].reason, OTD_NET_CLOSED_LINE_TOO_LONG);
  for (const auto& line : r.lines(id)) EXPECT_LE(line.size(), 64u);
}

TEST(NetReasons, HaveMetricLabels) {
  EXPECT_STREQ(NetService::reason_name(OTD_NET_CLOSED_BY_PEER), "by_peer");
  EXPECT_STREQ(NetService::reason_name(OTD_NET_CONNECT_FAILED), "connect_failed");
  EXPECT_STREQ(NetService::reason_name(NetService::kTlsHandshakeSlot), "tls_handshake");
  EXPECT_STREQ(NetService::reason_name(0), "unknown");
}
