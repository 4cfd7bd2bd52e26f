#include "services/net.hpp"

#include "services/message.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace otedama::services {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

constexpr uint32_t kDefaultMaxLine = 16384;
constexpr uint32_t kDefaultMaxSendQueue = 1U << 20;
constexpr uint32_t kDefaultConnectTimeoutMs = 30'000;  // connect + TLS handshake when idle_timeout_ms is 0
constexpr uint32_t kTlsAcceptTimeoutMs = 10'000;       // an accepted TLS handshake, at most
constexpr uint32_t kFlushLimitMs = 10'000;             // close(graceful): time left to write the queue
constexpr uint32_t kLingerMs = 5'000;                  // after FIN: draining the peer before the socket closes
constexpr uint32_t kMaxTimeoutMs = 0x7fffffffU;        // timestamps are 32-bit milliseconds
constexpr std::size_t kRxSize = 64 * 1024;             // one read buffer per loop
constexpr int kReadRounds = 4;                         // reads per readiness before yielding to others
constexpr int kMaxIov = 64;
constexpr uint32_t kNoIndex = UINT32_MAX;

}  // namespace

// --- reference counting ------------------------------------------------------------------------------------
namespace {

template <class T>
class Ref {
 public:
  Ref() noexcept = default;
  explicit Ref(T* p) noexcept : p_(p) {
    if (p_ != nullptr) p_->add_ref();
  }
  static Ref adopt(T* p) noexcept {
    Ref r;
    r.p_ = p;
    return r;
  }
  Ref(const Ref& o) noexcept : Ref(o.p_) {}
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~Ref() {
    if (p_ != nullptr) p_->release();
  }
  [[nodiscard]] T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  T* leak() noexcept { return std::exchange(p_, nullptr); }

 private:
  T* p_ = nullptr;
};

template <class Derived>
struct Counted {
  std::atomic<uint32_t> refs{1};
  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete static_cast<Derived*>(this);
  }
};

/// Bytes queued for sending: one allocation (header + bytes), shared by every connection it goes to.
struct Buf {
  std::atomic<uint32_t> refs{1};
  uint32_t size = 0;
  uint8_t* data() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }
  static Buf* make(const uint8_t* bytes, std::size_t n) {
    void* mem = ::operator new(sizeof(Buf) + n);
    Buf* b = new (mem) Buf;
    b->size = static_cast<uint32_t>(n);
    if (n != 0) std::memcpy(b->data(), bytes, n);
    return b;
  }
  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      this->~Buf();
      ::operator delete(this);
    }
  }
};
static_assert(sizeof(Buf) == 8);

/// A connection's unsent output; allocated while there is some, freed when it drains.
struct OutQueue {
  std::vector<Buf*> bufs;  // one reference each
  std::size_t head = 0;
  uint32_t offset = 0;     // bytes of bufs[head] already written
  OutQueue() = default;
  OutQueue(const OutQueue&) = delete;
  OutQueue& operator=(const OutQueue&) = delete;
  ~OutQueue() {
    for (std::size_t i = head; i < bufs.size(); ++i) bufs[i]->release();
  }
  [[nodiscard]] bool empty() const noexcept { return head == bufs.size(); }
};

// --- the records -------------------------------------------------------------------------------------------
struct Loop;
struct Listener;

/// One plugin instance (one otd_host_t) using the service.
struct Owner {
  NetService::Impl* svc = nullptr;
  const otd_host_t* host = nullptr;
  std::string name;
  std::mutex m;
  std::condition_variable cv;
  bool shutting_down = false;           // under m: no new connections while set
  uint64_t live = 0;                    // under m: connections created and not yet reported closed
  uint64_t closing_listeners = 0;       // under m: listener closes posted and not yet done on their loop
  std::vector<Listener*> listeners;     // under m: handles the plugin holds (one reference each)
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> accept_errors{0};
  std::array<std::atomic<uint64_t>, NetService::kReasonSlots> closed{};
  // What take_deltas() reported last (under Impl::stats_m).
  uint64_t rep_accepted = 0;
  uint64_t rep_accept_errors = 0;
  std::array<uint64_t, NetService::kReasonSlots> rep_closed{};
  bool seen = false;
};

/// What connections share: the plugin's handlers and options (one per listener, one per connect()).
struct Profile : Counted<Profile> {
  Owner* owner = nullptr;
  otd_net_handlers_t h{};
  uint32_t framing = OTD_NET_FRAMING_RAW;
  uint32_t max_line = kDefaultMaxLine;
  uint32_t idle_ms = 0;
  uint32_t max_queue = kDefaultMaxSendQueue;
  bool tls = false;
  SSL_CTX* ssl_ctx = nullptr;  // one reference
  Profile() = default;
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;
  ~Profile() {
    if (ssl_ctx != nullptr) SSL_CTX_free(ssl_ctx);
  }
};

struct ConnectOp {
  std::string host;
  uint16_t port = 0;
  uint64_t tag = 0;
  bool tls_verify = false;
  std::string server_name;
  std::unique_ptr<Resolver> resolver;
};

enum class St : uint8_t { starting, connecting, handshaking, open, flushing, linger, closed };

enum : uint8_t {
  kWaitRead = 1,        // an async_wait(read) is pending
  kWaitWrite = 2,       // an async_wait(write) is pending
  kAnnounced = 4,       // the plugin knows the id: it gets an on_close
  kReported = 8,        // closed as far as the plugin is concerned (id gone, on_close delivered)
  kReadWantsWrite = 16, // TLS: SSL_read needs the socket writable
  kWriteWantsRead = 32, // TLS: SSL_write needs the socket readable
  kReadPosted = 64,     // a read continuation is queued on the loop
  kAccepted = 128,      // accepted by a listener (else made by connect())
};

/// One connection. Everything but refs/queued/closing is touched only on its loop's thread.
struct Conn {
  std::atomic<uint32_t> refs{1};
  std::atomic<uint32_t> queued{0};      // bytes send() accepted and not yet written
  std::atomic<bool> closing{false};     // set once: send() refuses, close() is ignored
  St state = St::starting;
  uint8_t flags = 0;
  uint32_t since_ms = 0;                // last receive (open), else when the state began
  uint32_t loop_index = kNoIndex;
  otd_conn_t id = 0;
  Loop* loop;
  Ref<Profile> profile;
  Socket sock;
  SSL* ssl = nullptr;
  char* partial = nullptr;              // LINES: an incomplete line
  uint32_t partial_len = 0;
  uint32_t partial_cap = 0;
  OutQueue* out = nullptr;
  ConnectOp* connect = nullptr;

  Conn(Loop& l, Ref<Profile> p, Socket&& s) : loop(&l), profile(std::move(p)), sock(std::move(s)) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn();
  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

/// One event loop: an io_context run by one thread; its connections never leave it.
struct Loop {
  NetService::Impl* svc = nullptr;
  asio::io_context io{1};
  asio::executor_work_guard<Executor> guard{io.get_executor()};
  Timer sweep{io.get_executor()};
  std::vector<Conn*> conns;  // one reference each; loop thread only
  std::unique_ptr<uint8_t[]> rx{new uint8_t[kRxSize]};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  bool stopping = false;     // loop thread: the sweep is not re-armed
  std::thread thread;
  std::future<void> exited;
};

struct Listener : Counted<Listener> {
  Owner* owner;
  Loop* loop;
  Ref<Profile> profile;
  Acceptor acceptor;
  Timer backoff;
  std::string where;
  bool closed = false;  // loop thread
  std::chrono::milliseconds delay{0};
  uint64_t unreported_errors = 0;
  std::chrono::steady_clock::time_point last_report{};
  bool reported = false;
  Listener(Loop& l, Owner& o, Ref<Profile> p)
      : owner(&o), loop(&l), profile(std::move(p)), acceptor(l.io.get_executor()), backoff(l.io.get_executor()) {}
};

thread_local Loop* tl_loop = nullptr;

// --- the id table ------------------------------------------------------------------------------------------
/// Process-wide: id = generation << 24 | slot, so an id is never handed out twice. A freed slot waits
/// behind 4096 others before reuse; at 2^40 generations per slot no id repeats in any process lifetime.
class ConnTable {
 public:
  static ConnTable& get() {
    static ConnTable* t = new ConnTable();  // never destroyed: late sends during exit stay safe
    return *t;
  }

  otd_conn_t insert(Conn* c) {
    uint32_t slot = 0;
    {
      const std::lock_guard lock(alloc_m_);
      if (free_.size() > kMinFree) {
        slot = free_.front();
        free_.pop_front();
      } else {
        if (next_ >= (1U << kSlotBits)) throw std::runtime_error("too many connections (16777216)");
        slot = next_++;
        auto& seg = segs_[slot >> kSegBits];
        if (seg.load(std::memory_order_relaxed) == nullptr) seg.store(new Slot[kSegSize], std::memory_order_release);
      }
    }
    Slot& s = segs_[slot >> kSegBits].load(std::memory_order_acquire)[slot & (kSegSize - 1)];
    const std::lock_guard lock(stripes_[slot % kStripes].m);
    s.id = (((s.id >> kSlotBits) + 1) << kSlotBits) | slot;
    s.conn = c;
    return s.id;
  }

  Ref<Conn> find(otd_conn_t id) {
    const auto slot = static_cast<uint32_t>(id & ((1U << kSlotBits) - 1));
    Slot* seg = segs_[slot >> kSegBits].load(std::memory_order_acquire);
    if (seg == nullptr || id == 0) return {};
    const std::lock_guard lock(stripes_[slot % kStripes].m);
    const Slot& s = seg[slot & (kSegSize - 1)];
    if (s.conn == nullptr || s.id != id) return {};
    return Ref<Conn>(s.conn);
  }

  void erase(otd_conn_t id) noexcept {
    const auto slot = static_cast<uint32_t>(id & ((1U << kSlotBits) - 1));
    Slot* seg = segs_[slot >> kSegBits].load(std::memory_order_acquire);
    if (seg == nullptr || id == 0) return;
    {
      const std::lock_guard lock(stripes_[slot % kStripes].m);
      Slot& s = seg[slot & (kSegSize - 1)];
      if (s.conn == nullptr || s.id != id) return;
      s.conn = nullptr;
    }
    try {
      const std::lock_guard lock(alloc_m_);
      free_.push_back(slot);
    } catch (...) {
      // Out of memory: the slot is lost, nothing else.
    }
  }

 private:
  static constexpr unsigned kSlotBits = 24;
  static constexpr unsigned kSegBits = 12;
  static constexpr uint32_t kSegSize = 1U << kSegBits;
  static constexpr uint32_t kSegs = 1U << (kSlotBits - kSegBits);
  static constexpr uint32_t kStripes = 64;
  static constexpr std::size_t kMinFree = 4096;
  struct Slot {
    Conn* conn = nullptr;
    uint64_t id = 0;
  };
  struct alignas(64) Stripe {
    std::mutex m;
  };
  ConnTable() = default;
  std::array<std::atomic<Slot*>, kSegs> segs_{};
  std::array<Stripe, kStripes> stripes_;
  std::mutex alloc_m_;
  std::deque<uint32_t> free_;
  uint32_t next_ = 0;
};

// --- which service a host table belongs to -------------------------------------------------------------------
struct Registry {
  std::shared_mutex m;
  std::unordered_map<const otd_host_t*, Owner*> owners;
  static Registry& get() {
    static Registry* r = new Registry();
    return *r;
  }
};

Owner* owner_of(const otd_host_t* host) {
  if (host == nullptr) return nullptr;
  Registry& r = Registry::get();
  const std::shared_lock lock(r.m);
  const auto it = r.owners.find(host);
  return it == r.owners.end() ? nullptr : it->second;
}

void owner_log(const Owner& o, otd_log_level_t level, const std::string& message) noexcept {
  detail::log(o.host, level, "net: " + message);
}

// --- text ----------------------------------------------------------------------------------------------------
std::string endpoint_text(const tcp::endpoint& ep) {
  asio::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  const std::string port = std::to_string(ep.port());
  return a.is_v6() ? "[" + a.to_string() + "]:" + port : a.to_string() + ":" + port;
}

std::string ssl_errors() {
  std::string out;
  char buf[256];
  while (const unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

std::string tls_error_text(SSL* ssl, int ret, int err, int saved_errno) {
  switch (err) {
    case SSL_ERROR_SSL: {
      std::string s = ssl_errors();
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        return std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify) +
               (s.empty() ? "" : " (" + s + ")");
      }
      return s.empty() ? std::string("TLS protocol error") : s;
    }
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (ret < 0 && saved_errno != 0) return detail::errno_text(saved_errno);
      return "connection closed by the peer during TLS";
    case SSL_ERROR_ZERO_RETURN:
      return "closed by the peer";
    default:
      ERR_clear_error();
      return "TLS error " + std::to_string(err);
  }
}

// --- OpenSSL on a socket, without SIGPIPE ---------------------------------------------------------------------
int bio_fd(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }
int OTD_CALL bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  const ssize_t n = ::send(bio_fd(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
  return static_cast<int>(n);
}
int OTD_CALL bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  const ssize_t n = ::recv(bio_fd(b), data, static_cast<std::size_t>(len), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
  return static_cast<int>(n);
}
long OTD_CALL bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
int OTD_CALL bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}
BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "otedama-net-socket");
    if (m != nullptr) {
      BIO_meth_set_write(m, &bio_write);
      BIO_meth_set_read(m, &bio_read);
      BIO_meth_set_ctrl(m, &bio_ctrl);
      BIO_meth_set_create(m, &bio_create);
    }
    return m;
  }();
  return method;
}

SSL_CTX* new_ssl_ctx(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Idle connections give their record buffers back; writes may be partial and resumed from a moved buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

SSL* new_ssl(SSL_CTX* ctx, int fd, bool server) {
  BIO_METHOD* method = socket_bio_method();
  if (ctx == nullptr || method == nullptr) return nullptr;
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  SSL_set_bio(ssl, bio, bio);
  if (server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  return ssl;
}

bool is_ip_literal(const std::string& s) {
  error_code ec;
  (void)asio::ip::make_address(s, ec);
  return !ec;
}

}  // namespace

// --- the service ---------------------------------------------------------------------------------------------
struct NetService::Impl {
  enum class State { idle, running, stopping, stopped };

  Options opt;
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<uint32_t> next_loop{0};
  std::mutex state_m;
  std::condition_variable state_cv;  // stopped
  State state = State::idle;
  std::atomic<bool> running{false};
  std::mutex owners_m;
  std::vector<std::unique_ptr<Owner>> owners;
  std::mutex client_ctx_m;
  SSL_CTX* client_ctx = nullptr;
  const std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();
  std::mutex stats_m;
  uint64_t rep_in = 0;
  uint64_t rep_out = 0;

  explicit Impl(Options o);
  ~Impl();

  [[nodiscard]] uint32_t now_ms() const noexcept {
    return static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - epoch).count());
  }
  Loop& pick_loop() noexcept { return *loops[next_loop.fetch_add(1, std::memory_order_relaxed) % loops.size()]; }
  void log(otd_log_level_t level, const std::string& message) const noexcept {
    if (!opt.log) return;
    try {
      opt.log(level, message);
    } catch (...) {
    }
  }

  void start();
  void stop();
  void shutdown_owner(Owner& o);
  otd_status_t listen(Owner& o, const char* address, uint16_t port, const otd_net_options_t* options,
                      const otd_net_handlers_t* handlers, otd_net_listener_t** out, uint16_t* bound_port, char* err,
                      std::size_t err_cap);
  void close_listener(Owner& o, Listener* l);
  otd_status_t connect(Owner& o, const char* hostname, uint16_t port, const otd_net_options_t* options,
                       const otd_net_handlers_t* handlers, uint64_t tag, otd_conn_t* out, char* err, std::size_t err_cap);
  SSL_CTX* client_ssl_ctx();
  void wait_drained(Owner& o);
};

namespace {

// --- per-connection work, all on the connection's loop ------------------------------------------------------
void arm(Conn* c, bool write);
void read_ready(Conn* c);
void write_ready(Conn* c, bool nested);
void finalize(Conn* c, uint32_t reason, std::string_view message);
void open_conn(Conn* c);

Ref<Conn> ref(Conn* c) { return Ref<Conn>(c); }

void loop_add(Conn* c) {
  Loop& l = *c->loop;
  l.conns.push_back(c);
  c->add_ref();
  c->loop_index = static_cast<uint32_t>(l.conns.size() - 1);
}

void loop_remove(Conn* c) {
  if (c->loop_index == kNoIndex) return;
  auto& v = c->loop->conns;
  const uint32_t i = c->loop_index;
  v[i] = v.back();
  v[i]->loop_index = i;
  v.pop_back();
  c->loop_index = kNoIndex;
  c->release();  // the caller holds its own reference
}

void owner_release(Owner& o) {
  const std::lock_guard lock(o.m);
  if (--o.live == 0) o.cv.notify_all();
}

bool owner_closing(Owner& o) {
  const std::lock_guard lock(o.m);
  return o.shutting_down;
}

void free_partial(Conn* c) noexcept {
  std::free(c->partial);
  c->partial = nullptr;
  c->partial_len = 0;
  c->partial_cap = 0;
}

/// Delivers on_close (when the plugin knows the connection) and counts it. Once per connection.
void report_close(Conn* c, uint32_t reason, std::string_view message) {
  Owner& o = *c->profile->owner;
  o.closed[std::min<std::size_t>(reason, NetService::kReasonSlots - 1)].fetch_add(1, std::memory_order_relaxed);
  if ((c->flags & kAnnounced) != 0) {
    const otd_net_handlers_t& h = c->profile->h;
    try {
      const std::string text(message);
      h.on_close(h.user, c->id, reason, text.c_str());
    } catch (const std::exception& e) {
      owner_log(o, OTD_LOG_ERROR, std::string("C++ exception crossed the ABI in on_close: ") + e.what());
    } catch (...) {
      owner_log(o, OTD_LOG_ERROR, "C++ exception crossed the ABI in on_close: unknown exception");
    }
  }
  owner_release(o);
}

/// Frees what the connection holds and takes it off its loop. Its own handlers still queued see `closed`.
void release_conn(Conn* c) {
  c->state = St::closed;
  error_code ignored;
  c->sock.close(ignored);
  if (c->ssl != nullptr) {
    SSL_free(c->ssl);
    c->ssl = nullptr;
  }
  free_partial(c);
  delete c->out;
  c->out = nullptr;
  if (c->connect != nullptr && c->connect->resolver) c->connect->resolver->cancel();
  loop_remove(c);
}

void finalize(Conn* c, uint32_t reason, std::string_view message) {
  if (c->state == St::closed) return;
  const bool report = (c->flags & kReported) == 0;
  if (report) {
    c->flags |= kReported;
    c->closing.store(true, std::memory_order_release);
    ConnTable::get().erase(c->id);  // from here on send() says NOT_FOUND
  }
  release_conn(c);
  if (report) report_close(c, reason, message);
}

void plugin_threw(Conn* c, const char* call, const char* what) {
  const std::string message = std::string("C++ exception crossed the ABI in ") + call + ": " + what;
  owner_log(*c->profile->owner, OTD_LOG_ERROR, message + " (connection " + std::to_string(c->id) + " closed)");
  finalize(c, OTD_NET_CLOSED_ERROR, message);
}

/// Calls on_data inside the exception guard. False when the connection is closed or closing afterwards.
bool call_on_data(Conn* c, const uint8_t* data, std::size_t size) {
  const otd_net_handlers_t& h = c->profile->h;
  try {
    h.on_data(h.user, c->id, data, size);
  } catch (const std::exception& e) {
    plugin_threw(c, "on_data", e.what());
  } catch (...) {
    plugin_threw(c, "on_data", "unknown exception");
  }
  return c->state == St::open && !c->closing.load(std::memory_order_acquire);
}

void too_long(Conn* c) {
  finalize(c, OTD_NET_CLOSED_LINE_TOO_LONG,
           "line longer than " + std::to_string(c->profile->max_line) + " bytes (max_line)");
}

void append_partial(Conn* c, const uint8_t* p, std::size_t n) {
  const std::size_t need = c->partial_len + n;
  if (need > c->partial_cap) {
    const std::size_t limit = static_cast<std::size_t>(c->profile->max_line) + 1;
    const std::size_t cap = std::min(std::max<std::size_t>({need, std::size_t{64}, std::size_t{c->partial_cap} * 2}),
                                     std::max(limit, need));
    void* grown = std::realloc(c->partial, cap);
    if (grown == nullptr) throw std::bad_alloc();
    c->partial = static_cast<char*>(grown);
    c->partial_cap = static_cast<uint32_t>(cap);
  }
  std::memcpy(c->partial + c->partial_len, p, n);
  c->partial_len = static_cast<uint32_t>(need);
}

/// Keeps bytes of a line whose end has not arrived. A line of max_line bytes may still be followed by "\r".
bool keep_partial(Conn* c, const uint8_t* p, std::size_t n) {
  const std::size_t total = c->partial_len + n;
  const std::size_t max = c->profile->max_line;
  if (total > max + 1 || (total == max + 1 && p[n - 1] != '\r')) {
    too_long(c);
    return false;
  }
  append_partial(c, p, n);
  return true;
}

void deliver_lines(Conn* c, const uint8_t* p, std::size_t n) {
  const std::size_t max = c->profile->max_line;
  const uint8_t* end = p + n;
  if (c->partial_len > 0) {
    const auto* nl = static_cast<const uint8_t*>(std::memchr(p, '\n', n));
    if (nl == nullptr) {
      keep_partial(c, p, n);
      return;
    }
    const auto take = static_cast<std::size_t>(nl - p);
    if (c->partial_len + take > max + 1) {
      too_long(c);
      return;
    }
    append_partial(c, p, take);
    std::size_t len = c->partial_len;
    if (len > 0 && c->partial[len - 1] == '\r') --len;
    if (len > max) {
      too_long(c);
      return;
    }
    const bool go_on = call_on_data(c, reinterpret_cast<const uint8_t*>(c->partial), len);
    free_partial(c);
    if (!go_on) return;
    p = nl + 1;
  }
  while (p < end) {
    const auto* nl = static_cast<const uint8_t*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (nl == nullptr) break;
    auto len = static_cast<std::size_t>(nl - p);
    if (len > 0 && p[len - 1] == '\r') --len;
    if (len > max) {
      too_long(c);
      return;
    }
    if (!call_on_data(c, p, len)) return;
    p = nl + 1;
  }
  if (p < end) keep_partial(c, p, static_cast<std::size_t>(end - p));
}

/// Bytes arrived. False: stop reading (closed, or the plugin closed it).
bool got_data(Conn* c, const uint8_t* data, std::size_t n) {
  c->loop->bytes_in.fetch_add(n, std::memory_order_relaxed);
  if (c->state == St::linger) return true;  // draining: discard
  if (c->state != St::open || c->closing.load(std::memory_order_acquire)) return false;
  c->since_ms = c->loop->svc->now_ms();
  if (c->profile->framing == OTD_NET_FRAMING_LINES) {
    deliver_lines(c, data, n);
  } else {
    call_on_data(c, data, n);
  }
  return c->state == St::open && !c->closing.load(std::memory_order_acquire);
}

void peer_gone(Conn* c, int err) {
  if (err == 0) {
    finalize(c, OTD_NET_CLOSED_BY_PEER, "closed by the peer");
  } else if (err == ECONNRESET || err == EPIPE) {
    finalize(c, OTD_NET_CLOSED_BY_PEER, "connection reset by the peer");
  } else {
    finalize(c, OTD_NET_CLOSED_ERROR, detail::errno_text(err));
  }
}

bool wants_read(const Conn* c) {
  return (c->state == St::open && !c->closing.load(std::memory_order_acquire)) || c->state == St::linger ||
         (c->flags & kWriteWantsRead) != 0;
}

void post_read(Conn* c) {
  c->flags |= kReadPosted;
  asio::post(c->loop->io, [r = ref(c)] {
    Conn* cc = r.get();
    cc->flags &= static_cast<uint8_t>(~kReadPosted);
    if (cc->state == St::closed) return;
    try {
      read_ready(cc);
    } catch (const std::exception& e) {
      finalize(cc, OTD_NET_CLOSED_ERROR, e.what());
    }
  });
}

void read_ready(Conn* c) {
  uint8_t* rx = c->loop->rx.get();
  const int fd = c->sock.native_handle();
  for (int round = 0; round < kReadRounds; ++round) {
    if (c->state == St::closed) return;
    if (c->ssl == nullptr || c->state == St::linger) {
      const ssize_t n = ::recv(fd, rx, kRxSize, 0);
      if (n > 0) {
        if (!got_data(c, rx, static_cast<std::size_t>(n))) return;
        if (static_cast<std::size_t>(n) < kRxSize) break;  // drained
        continue;
      }
      if (n == 0) {
        peer_gone(c, 0);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      peer_gone(c, errno);
      return;
    }
    ERR_clear_error();
    errno = 0;
    const int n = SSL_read(c->ssl, rx, static_cast<int>(kRxSize));
    if (n > 0) {
      if (!got_data(c, rx, static_cast<std::size_t>(n))) return;
      continue;  // until SSL_read wants the socket: records may be buffered inside OpenSSL
    }
    const int saved = errno;
    const int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ) break;
    if (e == SSL_ERROR_WANT_WRITE) {
      c->flags |= kReadWantsWrite;
      arm(c, true);
      return;
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && (n == 0 || saved == 0))) {
      ERR_clear_error();
      peer_gone(c, 0);
      return;
    }
    if (e == SSL_ERROR_SYSCALL && (saved == ECONNRESET || saved == EPIPE)) {
      peer_gone(c, saved);
      return;
    }
    finalize(c, OTD_NET_CLOSED_ERROR, tls_error_text(c->ssl, n, e, saved));
    return;
  }
  if (c->state == St::closed) return;
  if (c->ssl != nullptr && c->state != St::linger && SSL_pending(c->ssl) > 0) {
    if (wants_read(c)) post_read(c);
    return;
  }
  if (!wants_read(c)) return;
  // Either the socket is drained (wait for it) or the budget is spent (let the loop's others run first).
  // Rounds are only spent when every read filled the buffer.
  arm(c, false);
}

/// Takes `n` written bytes off the front of the queue.
void consume(Conn* c, std::size_t n) {
  c->loop->bytes_out.fetch_add(n, std::memory_order_relaxed);
  c->queued.fetch_sub(static_cast<uint32_t>(n), std::memory_order_acq_rel);
  OutQueue& q = *c->out;
  while (n > 0 && !q.empty()) {
    Buf* b = q.bufs[q.head];
    const std::size_t left = b->size - q.offset;
    if (n >= left) {
      n -= left;
      b->release();
      q.bufs[q.head] = nullptr;
      ++q.head;
      q.offset = 0;
    } else {
      q.offset += static_cast<uint32_t>(n);
      n = 0;
    }
  }
  if (q.empty()) {
    q.bufs.clear();
    q.head = 0;
  }
}

void finish_graceful(Conn* c);

/// A write failed. Inside a plugin's callback (nested) the close is posted, so that on_close never runs
/// inside another callback of the same connection.
void write_failed(Conn* c, uint32_t reason, std::string message, bool nested) {
  if (!nested) {
    finalize(c, reason, message);
    return;
  }
  c->closing.store(true, std::memory_order_release);
  asio::post(c->loop->io, [r = ref(c), reason, m = std::move(message)] { finalize(r.get(), reason, m); });
}

void drained(Conn* c, bool nested) {
  delete c->out;
  c->out = nullptr;
  if (c->state != St::flushing) return;
  if (!nested) {
    finish_graceful(c);
  } else {
    asio::post(c->loop->io, [r = ref(c)] {
      if (r->state == St::flushing && r->out == nullptr) finish_graceful(r.get());
    });
  }
}

void write_ready(Conn* c, bool nested) {
  if (c->state != St::open && c->state != St::flushing) return;
  const int fd = c->sock.native_handle();
  while (c->out != nullptr && !c->out->empty()) {
    OutQueue& q = *c->out;
    std::size_t n = 0;
    if (c->ssl == nullptr) {
      iovec iov[kMaxIov];
      int count = 0;
      uint32_t offset = q.offset;
      for (std::size_t i = q.head; i < q.bufs.size() && count < kMaxIov; ++i, ++count) {
        iov[count].iov_base = q.bufs[i]->data() + offset;
        iov[count].iov_len = q.bufs[i]->size - offset;
        offset = 0;
      }
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<std::size_t>(count);
      const ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          arm(c, true);
          return;
        }
        const int e = errno;
        write_failed(c, (e == EPIPE || e == ECONNRESET) ? OTD_NET_CLOSED_BY_PEER : OTD_NET_CLOSED_ERROR,
                     (e == EPIPE || e == ECONNRESET) ? std::string("connection reset by the peer") : detail::errno_text(e),
                     nested);
        return;
      }
      n = static_cast<std::size_t>(w);
    } else {
      Buf* b = q.bufs[q.head];
      ERR_clear_error();
      errno = 0;
      const int w = SSL_write(c->ssl, b->data() + q.offset, static_cast<int>(b->size - q.offset));
      if (w <= 0) {
        const int saved = errno;
        const int e = SSL_get_error(c->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE) {
          arm(c, true);
          return;
        }
        if (e == SSL_ERROR_WANT_READ) {
          c->flags |= kWriteWantsRead;
          arm(c, false);
          return;
        }
        const bool reset = e == SSL_ERROR_SYSCALL && (saved == EPIPE || saved == ECONNRESET);
        write_failed(c, reset ? OTD_NET_CLOSED_BY_PEER : OTD_NET_CLOSED_ERROR,
                     reset ? std::string("connection reset by the peer") : tls_error_text(c->ssl, w, e, saved), nested);
        return;
      }
      n = static_cast<std::size_t>(w);
    }
    consume(c, n);
  }
  drained(c, nested);
}

/// Puts `b` (one reference, handed over) on the connection's queue and writes what the socket takes.
void enqueue(Conn* c, Buf* b, bool nested) {
  Ref<Buf> hold = Ref<Buf>::adopt(b);
  if (c->state == St::closed || c->state == St::linger || (c->flags & kReported) != 0) return;
  const bool can_write = (c->state == St::open || c->state == St::flushing) && (c->flags & (kWaitWrite | kWriteWantsRead)) == 0;
  uint32_t offset = 0;
  bool blocked = false;
  if (c->out == nullptr && can_write && c->ssl == nullptr) {
    // Nothing queued: write straight from the shared buffer, and queue only what the socket did not take.
    ssize_t w;
    do {
      w = ::send(c->sock.native_handle(), b->data(), b->size, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w >= 0) {
      c->loop->bytes_out.fetch_add(static_cast<uint64_t>(w), std::memory_order_relaxed);
      c->queued.fetch_sub(static_cast<uint32_t>(w), std::memory_order_acq_rel);
      if (static_cast<uint32_t>(w) == b->size) return;
      offset = static_cast<uint32_t>(w);
      blocked = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      const int e = errno;
      write_failed(c, (e == EPIPE || e == ECONNRESET) ? OTD_NET_CLOSED_BY_PEER : OTD_NET_CLOSED_ERROR,
                   (e == EPIPE || e == ECONNRESET) ? std::string("connection reset by the peer") : detail::errno_text(e),
                   nested);
      return;
    } else {
      blocked = true;
    }
  }
  if (c->out == nullptr) c->out = new OutQueue;
  c->out->bufs.push_back(b);
  hold.leak();
  if (c->out->bufs.size() == 1) c->out->offset = offset;
  if (blocked) {
    arm(c, true);
  } else if (can_write) {
    write_ready(c, nested);
  }
}

/// The graceful close's end: output written. FIN (and close_notify), on_close, then drain the peer.
void finish_graceful(Conn* c) {
  if (c->ssl != nullptr) {
    ERR_clear_error();
    (void)SSL_shutdown(c->ssl);  // best effort: one close_notify record
    ERR_clear_error();
  }
  ::shutdown(c->sock.native_handle(), SHUT_WR);
  if (c->ssl != nullptr) {
    SSL_free(c->ssl);
    c->ssl = nullptr;
  }
  free_partial(c);
  c->state = St::linger;
  c->since_ms = c->loop->svc->now_ms();
  c->flags = static_cast<uint8_t>(c->flags & ~(kReadWantsWrite | kWriteWantsRead));
  const bool report = (c->flags & kReported) == 0;
  if (report) {
    c->flags |= kReported;
    c->closing.store(true, std::memory_order_release);
    ConnTable::get().erase(c->id);
  }
  arm(c, false);
  if (report) report_close(c, OTD_NET_CLOSED_BY_PLUGIN, "closed by the plugin");
}

void do_close(Conn* c, uint32_t reason, bool graceful, std::string_view message) {
  if (c->state == St::closed || c->state == St::linger || c->state == St::flushing) return;
  if (!graceful || c->state != St::open) {
    finalize(c, reason, message);
    return;
  }
  c->state = St::flushing;
  c->since_ms = c->loop->svc->now_ms();
  if (c->out == nullptr) {
    finish_graceful(c);
  } else if ((c->flags & (kWaitWrite | kWriteWantsRead)) == 0) {
    write_ready(c, false);
  }
}

void handshake_failed(Conn* c, const std::string& why) {
  if ((c->flags & kAccepted) != 0) {
    finalize(c, NetService::kTlsHandshakeSlot, why);  // the plugin never saw it: no callback
  } else {
    const ConnectOp& op = *c->connect;
    finalize(c, OTD_NET_CONNECT_FAILED, "TLS handshake with " + op.host + ":" + std::to_string(op.port) + " failed: " + why);
  }
}

void handshake_step(Conn* c) {
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    open_conn(c);
    return;
  }
  const int saved = errno;
  const int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) {
    arm(c, false);
  } else if (e == SSL_ERROR_WANT_WRITE) {
    arm(c, true);
  } else {
    handshake_failed(c, tls_error_text(c->ssl, r, e, saved));
  }
}

void on_ready(Conn* c, bool write, const error_code& ec) {
  c->flags = static_cast<uint8_t>(c->flags & ~(write ? kWaitWrite : kWaitRead));
  if (c->state == St::closed || ec == asio::error::operation_aborted) return;
  try {
    if (ec) {
      if (c->state == St::handshaking) {
        handshake_failed(c, ec.message());
      } else {
        finalize(c, OTD_NET_CLOSED_ERROR, ec.message());
      }
      return;
    }
    switch (c->state) {
      case St::handshaking:
        handshake_step(c);
        return;
      case St::open:
      case St::flushing:
      case St::linger:
        if (write) {
          if ((c->flags & kReadWantsWrite) != 0) {
            c->flags = static_cast<uint8_t>(c->flags & ~kReadWantsWrite);
            read_ready(c);
          }
          write_ready(c, false);
        } else {
          if ((c->flags & kWriteWantsRead) != 0) {
            c->flags = static_cast<uint8_t>(c->flags & ~kWriteWantsRead);
            write_ready(c, false);
          }
          if ((c->flags & kReadPosted) == 0) read_ready(c);
        }
        return;
      default:
        return;
    }
  } catch (const std::exception& e) {
    finalize(c, OTD_NET_CLOSED_ERROR, e.what());
  }
}

void arm(Conn* c, bool write) {
  const uint8_t bit = write ? kWaitWrite : kWaitRead;
  if ((c->flags & bit) != 0 || c->state == St::closed) return;
  c->flags |= bit;
  c->sock.async_wait(write ? Socket::wait_write : Socket::wait_read,
                     [r = ref(c), write](const error_code& ec) { on_ready(r.get(), write, ec); });
}

void open_conn(Conn* c) {
  c->state = St::open;
  c->since_ms = c->loop->svc->now_ms();
  const uint64_t tag = c->connect != nullptr ? c->connect->tag : 0;
  delete c->connect;
  c->connect = nullptr;
  c->flags |= kAnnounced;
  const otd_net_handlers_t& h = c->profile->h;
  otd_status_t st = OTD_OK;
  if (h.on_open != nullptr) {
    error_code e1;
    error_code e2;
    const std::string peer = endpoint_text(c->sock.remote_endpoint(e1));
    const std::string local = endpoint_text(c->sock.local_endpoint(e2));
    try {
      st = h.on_open(h.user, c->id, tag, e1 ? "?" : peer.c_str(), e2 ? "?" : local.c_str());
    } catch (const std::exception& e) {
      plugin_threw(c, "on_open", e.what());
      return;
    } catch (...) {
      plugin_threw(c, "on_open", "unknown exception");
      return;
    }
  }
  if (c->state != St::open) return;
  if (st != OTD_OK) {
    finalize(c, OTD_NET_CLOSED_BY_PLUGIN, "refused by on_open (status " + std::to_string(st) + ")");
    return;
  }
  if (c->out != nullptr) write_ready(c, false);  // connect(): what was sent before the connection opened
  if (c->state != St::open || c->closing.load(std::memory_order_acquire)) return;
  if (c->ssl != nullptr) {
    read_ready(c);  // records that came with the handshake's last flight may wait inside OpenSSL
  } else {
    arm(c, false);
  }
}

/// The socket is connected (accepted, or connect() succeeded): options, then TLS or open.
void socket_ready(Conn* c, SSL_CTX* ctx, bool server) {
  error_code ec;
  c->sock.non_blocking(true, ec);
  if (!ec) c->sock.set_option(tcp::no_delay(true), ec);
  if (ec) {
    if (server) {
      finalize(c, OTD_NET_CLOSED_ERROR, ec.message());
    } else {
      finalize(c, OTD_NET_CONNECT_FAILED, "cannot set up the socket: " + ec.message());
    }
    return;
  }
  c->since_ms = c->loop->svc->now_ms();
  if (ctx == nullptr) {
    open_conn(c);
    return;
  }
  c->ssl = new_ssl(ctx, c->sock.native_handle(), server);
  if (c->ssl == nullptr) {
    handshake_failed(c, "cannot create a TLS session: " + ssl_errors());
    return;
  }
  if (!server) {
    const ConnectOp& op = *c->connect;
    const std::string& name = op.server_name.empty() ? op.host : op.server_name;
    const bool ip = is_ip_literal(name);
    if (!ip) SSL_set_tlsext_host_name(c->ssl, name.c_str());
    if (op.tls_verify) {
      SSL_set_verify(c->ssl, SSL_VERIFY_PEER, nullptr);
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name.c_str());
      } else {
        SSL_set1_host(c->ssl, name.c_str());
      }
    } else {
      SSL_set_verify(c->ssl, SSL_VERIFY_NONE, nullptr);
    }
  }
  c->state = St::handshaking;
  handshake_step(c);
}

void start_accepted(Conn* c) {
  if (c->state != St::starting) return;
  loop_add(c);
  if (owner_closing(*c->profile->owner)) {
    finalize(c, OTD_NET_CLOSED_SHUTDOWN, "shutting down");
    return;
  }
  socket_ready(c, c->profile->tls ? c->profile->ssl_ctx : nullptr, true);
}

void on_connected(Conn* c, const error_code& ec) {
  if (c->state != St::connecting) {
    error_code ignored;
    if (c->state == St::closed) c->sock.close(ignored);  // the range connect may have opened it again
    return;
  }
  const ConnectOp& op = *c->connect;
  if (ec) {
    finalize(c, OTD_NET_CONNECT_FAILED, "cannot connect to " + op.host + ":" + std::to_string(op.port) + ": " + ec.message());
    return;
  }
  socket_ready(c, c->profile->tls ? c->profile->ssl_ctx : nullptr, false);
}

template <class Endpoints>
void connect_to(Conn* c, const Endpoints& endpoints) {
  asio::async_connect(c->sock, endpoints, [r = ref(c)](const error_code& ec, const tcp::endpoint&) {
    try {
      on_connected(r.get(), ec);
    } catch (const std::exception& e) {
      finalize(r.get(), OTD_NET_CONNECT_FAILED, e.what());
    }
  });
}

void start_connect(Conn* c) {
  if (c->state != St::starting) return;  // closed before it started
  loop_add(c);
  if (owner_closing(*c->profile->owner)) {
    finalize(c, OTD_NET_CLOSED_SHUTDOWN, "the network service is shutting down");
    return;
  }
  c->state = St::connecting;
  c->since_ms = c->loop->svc->now_ms();
  ConnectOp& op = *c->connect;
  error_code ec;
  const asio::ip::address addr = asio::ip::make_address(op.host, ec);
  if (!ec) {
    connect_to(c, std::array<tcp::endpoint, 1>{tcp::endpoint(addr, op.port)});
    return;
  }
  op.resolver = std::make_unique<Resolver>(c->loop->io.get_executor());
  op.resolver->async_resolve(op.host, std::to_string(op.port), tcp::resolver::numeric_service,
                             [r = ref(c)](const error_code& rec, const Resolver::results_type& results) {
                               Conn* cc = r.get();
                               if (cc->state != St::connecting) return;
                               try {
                                 if (rec) {
                                   finalize(cc, OTD_NET_CONNECT_FAILED, "cannot resolve '" + cc->connect->host + "': " + rec.message());
                                   return;
                                 }
                                 connect_to(cc, results);
                               } catch (const std::exception& e) {
                                 finalize(cc, OTD_NET_CONNECT_FAILED, e.what());
                               }
                             });
}

/// Every `sweep_interval`: idle connections, and deadlines of connects, handshakes, flushes and lingers.
void sweep(Loop& l) {
  const uint32_t now = l.svc->now_ms();
  struct Victim {
    Ref<Conn> c;
    uint32_t reason;
    std::string message;
  };
  std::vector<Victim> victims;
  for (Conn* c : l.conns) {
    const uint32_t age = now - c->since_ms;
    const uint32_t idle = std::min(c->profile->idle_ms, kMaxTimeoutMs);
    switch (c->state) {
      case St::open:
        if (idle != 0 && age >= idle)
          victims.push_back({ref(c), OTD_NET_CLOSED_IDLE, "nothing received for " + std::to_string(idle) + " ms (idle_timeout_ms)"});
        break;
      case St::connecting:
      case St::handshaking:
        if ((c->flags & kAccepted) != 0) {
          const uint32_t limit = idle != 0 ? std::min(idle, kTlsAcceptTimeoutMs) : kTlsAcceptTimeoutMs;
          if (age >= limit) victims.push_back({ref(c), NetService::kTlsHandshakeSlot, "TLS handshake timed out"});
        } else {
          const uint32_t limit = idle != 0 ? idle : kDefaultConnectTimeoutMs;
          if (age >= limit) {
            victims.push_back({ref(c), OTD_NET_CONNECT_FAILED,
                               "connect to " + c->connect->host + ":" + std::to_string(c->connect->port) + " timed out after " +
                                   std::to_string(limit) + " ms"});
          }
        }
        break;
      case St::flushing:
        if (age >= kFlushLimitMs)
          victims.push_back({ref(c), OTD_NET_CLOSED_BY_PLUGIN, "closed by the plugin (output not written within 10 s dropped)"});
        break;
      case St::linger:
        if (age >= kLingerMs) victims.push_back({ref(c), 0, {}});
        break;
      default:
        break;
    }
  }
  for (auto& v : victims) {
    try {
      finalize(v.c.get(), v.reason, v.message);
    } catch (...) {
    }
  }
}

void arm_sweep(Loop& l) {
  if (l.stopping) return;
  l.sweep.expires_after(l.svc->opt.sweep_interval);
  l.sweep.async_wait([&l](const error_code& ec) {
    if (ec) return;
    try {
      sweep(l);
    } catch (const std::exception& e) {
      l.svc->log(OTD_LOG_ERROR, std::string("net: sweep failed: ") + e.what());
    }
    arm_sweep(l);
  });
}

/// Closes the connections of `owner` (all when nullptr) on this loop.
void close_owned(Loop& l, const Owner* owner, uint32_t reason, const std::string& message, bool lingering_too) {
  std::vector<Ref<Conn>> victims;
  for (Conn* c : l.conns) {
    if (owner != nullptr && c->profile->owner != owner) continue;
    if (c->state == St::linger && !lingering_too) continue;
    victims.push_back(ref(c));
  }
  for (auto& c : victims) finalize(c.get(), reason, message);
}

// --- listeners -------------------------------------------------------------------------------------------------
void start_accept(Listener* l);

bool transient_accept_error(const error_code& ec) {
  const int v = ec.value();
  return ec == asio::error::connection_aborted || ec == asio::error::would_block || ec == asio::error::try_again ||
         ec == asio::error::interrupted || v == EPROTO || v == EPERM || v == ECONNRESET;
}

void accept_failed(Listener* l, const error_code& ec) {
  if (transient_accept_error(ec)) {
    start_accept(l);
    return;
  }
  // Out of descriptors or memory: the pending connection stays in the backlog and the acceptor stays
  // readable, so retrying at once would spin. Pause, and report at most once a second with a count.
  Owner& o = *l->owner;
  o.accept_errors.fetch_add(1, std::memory_order_relaxed);
  ++l->unreported_errors;
  l->delay = std::clamp(l->delay * 2, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
  const auto now = std::chrono::steady_clock::now();
  if (!l->reported || now - l->last_report >= std::chrono::seconds(1)) {
    owner_log(o, OTD_LOG_WARN,
              "accept on " + l->where + " failed: " + ec.message() + " (" + std::to_string(l->unreported_errors) +
                  (l->unreported_errors == 1 ? " time" : " times") + " since the last report); pausing accepts for " +
                  std::to_string(l->delay.count()) + " ms");
    l->unreported_errors = 0;
    l->last_report = now;
    l->reported = true;
  }
  l->backoff.expires_after(l->delay);
  l->backoff.async_wait([r = Ref<Listener>(l)](const error_code& wec) {
    if (!wec && !r->closed) start_accept(r.get());
  });
}

void on_accept(Listener* l, Loop& target, const error_code& ec, Socket sock) {
  if (l->closed || ec == asio::error::operation_aborted) return;
  if (ec) {
    accept_failed(l, ec);
    return;
  }
  l->delay = std::chrono::milliseconds(0);
  Owner& o = *l->owner;
  bool take = false;
  {
    const std::lock_guard lock(o.m);
    take = !o.shutting_down;
    if (take) ++o.live;
  }
  if (take) {
    Conn* c = nullptr;
    try {
      c = new Conn(target, l->profile, std::move(sock));
      c->flags |= kAccepted;
      c->id = ConnTable::get().insert(c);
      o.accepted.fetch_add(1, std::memory_order_relaxed);
      asio::post(target.io, [r = Ref<Conn>::adopt(c)] {
        try {
          start_accepted(r.get());
        } catch (const std::exception& e) {
          finalize(r.get(), OTD_NET_CLOSED_ERROR, e.what());
        }
      });
    } catch (const std::exception& e) {
      if (c != nullptr) {
        ConnTable::get().erase(c->id);
        c->release();
      }
      owner_release(o);
      owner_log(o, OTD_LOG_ERROR, "accept on " + l->where + ": " + e.what());
    }
  }
  start_accept(l);
}

void start_accept(Listener* l) {
  if (l->closed) return;
  Loop& target = l->owner->svc->pick_loop();
  l->acceptor.async_accept(target.io.get_executor(), [r = Ref<Listener>(l), t = &target](const error_code& ec, Socket sock) {
    try {
      on_accept(r.get(), *t, ec, std::move(sock));
    } catch (const std::exception& e) {
      owner_log(*r->owner, OTD_LOG_ERROR, "accept on " + r->where + ": " + e.what());
    }
  });
}

void close_listener_here(Listener* l) {
  if (l->closed) return;
  l->closed = true;
  error_code ignored;
  l->acceptor.close(ignored);
  l->backoff.cancel();
}

/// Stops every listener of `o` on its loop; wait_drained() waits until each has (no accept after that).
void close_listeners_of(Owner& o) {
  std::vector<Listener*> ls;
  {
    const std::lock_guard lock(o.m);
    for (Listener* l : o.listeners) {
      l->add_ref();
      ls.push_back(l);
    }
    o.closing_listeners += ls.size();
  }
  for (Listener* l : ls) {
    asio::post(l->loop->io, [r = Ref<Listener>::adopt(l), op = &o] {
      close_listener_here(r.get());
      const std::lock_guard lock(op->m);
      if (--op->closing_listeners == 0) op->cv.notify_all();
    });
  }
}

// --- arguments -----------------------------------------------------------------------------------------------
struct Parsed {
  uint32_t framing = OTD_NET_FRAMING_RAW;
  uint32_t max_line = kDefaultMaxLine;
  uint32_t idle_ms = 0;
  uint32_t max_queue = kDefaultMaxSendQueue;
  uint32_t backlog = 0;
  bool tls = false;
  bool tls_verify = false;
  const char* cert = nullptr;
  const char* key = nullptr;
  const char* server_name = nullptr;
};

bool parse_options(const otd_net_options_t* o, Parsed& p, std::string& why) {
  if (o == nullptr) return true;
  if (!OTD_HAS_FIELD(o, otd_net_options_t, framing)) {
    why = "options.struct_size " + std::to_string(o->struct_size) + " is too small";
    return false;
  }
  p.framing = o->framing;
  if (p.framing != OTD_NET_FRAMING_RAW && p.framing != OTD_NET_FRAMING_LINES) {
    why = "unknown framing " + std::to_string(p.framing) + " (0 = raw, 1 = lines)";
    return false;
  }
  if (OTD_HAS_FIELD(o, otd_net_options_t, max_line) && o->max_line != 0) p.max_line = o->max_line;
  if (OTD_HAS_FIELD(o, otd_net_options_t, idle_timeout_ms)) p.idle_ms = o->idle_timeout_ms;
  if (OTD_HAS_FIELD(o, otd_net_options_t, max_send_queue) && o->max_send_queue != 0) p.max_queue = o->max_send_queue;
  if (OTD_HAS_FIELD(o, otd_net_options_t, backlog)) p.backlog = o->backlog;
  if (OTD_HAS_FIELD(o, otd_net_options_t, tls)) p.tls = o->tls != 0;
  if (OTD_HAS_FIELD(o, otd_net_options_t, tls_verify)) p.tls_verify = o->tls_verify != 0;
  if (OTD_HAS_FIELD(o, otd_net_options_t, tls_cert_file)) p.cert = o->tls_cert_file;
  if (OTD_HAS_FIELD(o, otd_net_options_t, tls_key_file)) p.key = o->tls_key_file;
  if (OTD_HAS_FIELD(o, otd_net_options_t, tls_server_name)) p.server_name = o->tls_server_name;
  return true;
}

bool check_handlers(const otd_net_handlers_t* h, std::string& why) {
  if (h == nullptr || !OTD_HAS_FIELD(h, otd_net_handlers_t, on_close)) {
    why = h == nullptr ? "handlers are NULL" : "handlers.struct_size " + std::to_string(h->struct_size) + " is too small";
    return false;
  }
  if (h->on_data == nullptr || h->on_close == nullptr) {
    why = "handlers need on_data and on_close (on_open may be NULL)";
    return false;
  }
  return true;
}

Ref<Profile> make_profile(Owner& o, const otd_net_handlers_t* h, const Parsed& p) {
  Ref<Profile> prof = Ref<Profile>::adopt(new Profile);
  prof->owner = &o;
  prof->h.struct_size = sizeof(otd_net_handlers_t);
  prof->h.user = h->user;
  prof->h.on_open = h->on_open;
  prof->h.on_data = h->on_data;
  prof->h.on_close = h->on_close;
  prof->framing = p.framing;
  prof->max_line = std::min<uint32_t>(p.max_line, UINT32_MAX - 1);
  prof->idle_ms = p.idle_ms;
  prof->max_queue = p.max_queue;
  prof->tls = p.tls;
  return prof;
}

}  // namespace

Conn::~Conn() {
  if ((flags & kReported) == 0 && id != 0) ConnTable::get().erase(id);
  if (ssl != nullptr) SSL_free(ssl);
  std::free(partial);
  delete out;
  delete connect;
}

// --- NetService::Impl ------------------------------------------------------------------------------------------
NetService::Impl::Impl(Options o) : opt(std::move(o)) {
  unsigned n = opt.io_threads;
  if (n == 0) n = std::clamp(std::thread::hardware_concurrency(), 1U, 2U);
  if (opt.sweep_interval <= std::chrono::milliseconds(0)) opt.sweep_interval = std::chrono::milliseconds(250);
  for (unsigned i = 0; i < n; ++i) {
    auto l = std::make_unique<Loop>();
    l->svc = this;
    loops.push_back(std::move(l));
  }
}

NetService::Impl::~Impl() {
  stop();
  {
    Registry& r = Registry::get();
    const std::unique_lock lock(r.m);
    for (auto& o : owners) {
      const auto it = r.owners.find(o->host);
      if (it != r.owners.end() && it->second == o.get()) r.owners.erase(it);
    }
  }
  for (auto& o : owners) {
    for (Listener* l : o->listeners) l->release();
    o->listeners.clear();
  }
  loops.clear();  // pending handlers let go of what they hold while their io_context still exists
  if (client_ctx != nullptr) SSL_CTX_free(client_ctx);
}

void NetService::Impl::start() {
  const std::lock_guard lock(state_m);
  if (state != State::idle) return;
  for (auto& lp : loops) {
    Loop& l = *lp;
    arm_sweep(l);
    std::promise<void> exited;
    l.exited = exited.get_future();
    l.thread = std::thread([&l, done = std::move(exited)]() mutable {
      tl_loop = &l;
      for (;;) {
        try {
          l.io.run();
          break;
        } catch (const std::exception& e) {
          l.svc->log(OTD_LOG_ERROR, std::string("net: a handler on an I/O thread failed: ") + e.what());
        } catch (...) {
          l.svc->log(OTD_LOG_ERROR, "net: a handler on an I/O thread failed with a non-standard exception");
        }
      }
      tl_loop = nullptr;
      done.set_value();
    });
  }
  state = State::running;
  running.store(true, std::memory_order_release);
}

void NetService::Impl::wait_drained(Owner& o) {
  std::unique_lock lock(o.m);
  const auto started = std::chrono::steady_clock::now();
  while (o.live != 0 || o.closing_listeners != 0) {
    if (!o.cv.wait_for(lock, std::chrono::seconds(5), [&] { return o.live == 0 && o.closing_listeners == 0; })) {
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      const std::string message = "shutdown of " + o.name + " still waits for " + std::to_string(o.live) +
                                  " connection(s) after " + std::to_string(waited.count()) +
                                  " s: a handler of this plugin has not returned (does it block on the control strand?)";
      lock.unlock();
      owner_log(o, OTD_LOG_WARN, message);
      log(OTD_LOG_WARN, "net: " + message);
      lock.lock();
    }
  }
}

void NetService::Impl::shutdown_owner(Owner& o) {
  const bool on_io_thread = tl_loop != nullptr;
  {
    // Posted under state_m: stop() cannot get past `running` meanwhile, so the loops run what is posted.
    std::unique_lock lock(state_m);
    if (state == State::stopping) {
      if (!on_io_thread) state_cv.wait(lock, [&] { return state == State::stopped; });  // stop() closes it all
      return;
    }
    if (state != State::running) return;
    if (on_io_thread) {
      // Inside an [io] callback: waiting here would wait for this very callback.
      owner_log(o, OTD_LOG_ERROR, "shutdown() called from an [io] callback: closing everything without waiting (call it from stop())");
    } else {
      const std::lock_guard olock(o.m);
      o.shutting_down = true;
    }
    close_listeners_of(o);
    for (auto& lp : loops) {
      Loop* l = lp.get();
      asio::post(l->io, [l, op = &o] { close_owned(*l, op, OTD_NET_CLOSED_SHUTDOWN, "shut down by the plugin", false); });
    }
  }
  if (on_io_thread) return;
  wait_drained(o);
  const std::lock_guard lock(state_m);
  if (state == State::running) {
    const std::lock_guard olock(o.m);
    o.shutting_down = false;  // the transport may start again
  }
}

void NetService::Impl::stop() {
  {
    const std::lock_guard lock(state_m);
    if (state == State::idle) {
      state = State::stopped;
      state_cv.notify_all();
      return;
    }
    if (state != State::running) return;
    if (tl_loop != nullptr) {
      log(OTD_LOG_ERROR, "net: stop() called from an I/O thread; ignored");
      return;
    }
    state = State::stopping;
    running.store(false, std::memory_order_release);
  }
  std::vector<Owner*> all;
  {
    const std::lock_guard lock(owners_m);
    for (auto& o : owners) all.push_back(o.get());
  }
  for (Owner* o : all) {
    {
      const std::lock_guard lock(o->m);
      o->shutting_down = true;
    }
    close_listeners_of(*o);
  }
  for (auto& lp : loops) {
    Loop* l = lp.get();
    asio::post(l->io, [l] { close_owned(*l, nullptr, OTD_NET_CLOSED_SHUTDOWN, "the host is stopping", false); });
  }
  for (Owner* o : all) wait_drained(*o);
  for (auto& lp : loops) {
    Loop* l = lp.get();
    asio::post(l->io, [l] {
      close_owned(*l, nullptr, OTD_NET_CLOSED_SHUTDOWN, "the host is stopping", true);
      l->stopping = true;
      l->sweep.cancel();
      l->guard.reset();
    });
  }
  // The loops end when their last operation completes; a resolver stuck in getaddrinfo is not waited for.
  for (auto& lp : loops) {
    Loop& l = *lp;
    if (!l.thread.joinable()) continue;
    if (l.exited.wait_for(std::chrono::seconds(3)) != std::future_status::ready) l.io.stop();
    l.thread.join();
  }
  // Let completions still queued (aborted waits) drop their references while everything exists.
  for (auto& lp : loops) {
    try {
      lp->io.restart();
      lp->io.poll();
    } catch (...) {
    }
  }
  {
    const std::lock_guard lock(state_m);
    state = State::stopped;
  }
  state_cv.notify_all();
}

SSL_CTX* NetService::Impl::client_ssl_ctx() {
  const std::lock_guard lock(client_ctx_m);
  if (client_ctx == nullptr) {
    client_ctx = new_ssl_ctx(false);
    if (client_ctx != nullptr) SSL_CTX_set_default_verify_paths(client_ctx);  // the system's CAs
  }
  if (client_ctx != nullptr) SSL_CTX_up_ref(client_ctx);
  return client_ctx;
}

otd_status_t NetService::Impl::listen(Owner& o, const char* address, uint16_t port, const otd_net_options_t* options,
                                      const otd_net_handlers_t* handlers, otd_net_listener_t** out, uint16_t* bound_port,
                                      char* err, std::size_t err_cap) {
  std::string why;
  if (address == nullptr || out == nullptr) {
    detail::set_error(err, err_cap, "net: listen needs an address and an out pointer");
    return OTD_ERR_INVALID_ARG;
  }
  Parsed p;
  if (!check_handlers(handlers, why) || !parse_options(options, p, why)) {
    detail::set_error(err, err_cap, "net: listen on " + std::string(address) + ": " + why);
    return OTD_ERR_INVALID_ARG;
  }
  if (!running.load(std::memory_order_acquire)) {
    detail::set_error(err, err_cap, "net: the network service is not running");
    return OTD_ERR_STATE;
  }
  error_code ec;
  const asio::ip::address addr = asio::ip::make_address(address, ec);
  if (ec) {
    detail::set_error(err, err_cap, "net: invalid listen address '" + std::string(address) +
                                        "' (an IP address such as 0.0.0.0, :: or 127.0.0.1)");
    return OTD_ERR_INVALID_ARG;
  }
  const tcp::endpoint ep(addr, port);
  const std::string where = endpoint_text(ep);
  Ref<Profile> prof = make_profile(o, handlers, p);
  if (p.tls) {
    if (p.cert == nullptr || p.key == nullptr || *p.cert == '\0' || *p.key == '\0') {
      detail::set_error(err, err_cap, "net: TLS listen on " + where + " needs tls_cert_file and tls_key_file");
      return OTD_ERR_INVALID_ARG;
    }
    ERR_clear_error();
    prof->ssl_ctx = new_ssl_ctx(true);
    if (prof->ssl_ctx == nullptr) {
      detail::set_error(err, err_cap, "net: TLS on " + where + ": " + ssl_errors());
      return OTD_ERR_NO_MEMORY;
    }
    if (SSL_CTX_use_certificate_chain_file(prof->ssl_ctx, p.cert) != 1) {
      detail::set_error(err, err_cap, "net: TLS on " + where + ": cannot load the certificate chain '" + p.cert + "': " + ssl_errors());
      return OTD_ERR_INVALID_ARG;
    }
    if (SSL_CTX_use_PrivateKey_file(prof->ssl_ctx, p.key, SSL_FILETYPE_PEM) != 1) {
      detail::set_error(err, err_cap, "net: TLS on " + where + ": cannot load the private key '" + p.key + "': " + ssl_errors());
      return OTD_ERR_INVALID_ARG;
    }
    // Resumption stays possible through stateless tickets; a server-side session cache would keep ~1 KiB
    // per handshake for no gain.
    SSL_CTX_set_session_cache_mode(prof->ssl_ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_check_private_key(prof->ssl_ctx) != 1) {
      detail::set_error(err, err_cap, "net: TLS on " + where + ": the key '" + p.key + "' does not match the certificate '" + p.cert + "'");
      return OTD_ERR_INVALID_ARG;
    }
  }
  Loop& l = pick_loop();
  Ref<Listener> lis = Ref<Listener>::adopt(new Listener(l, o, prof));
  auto fail = [&] {
    detail::set_error(err, err_cap, "net: cannot listen on " + where + ": " + ec.message());
    return OTD_ERR_IO;
  };
  lis->acceptor.open(ep.protocol(), ec);
  if (ec) return fail();
  lis->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail();
  if (addr.is_v6()) {
    lis->acceptor.set_option(asio::ip::v6_only(false), ec);  // "::" takes IPv4 too
    ec.clear();
  }
  lis->acceptor.bind(ep, ec);
  if (ec) return fail();
  lis->acceptor.listen(p.backlog != 0 ? static_cast<int>(std::min<uint32_t>(p.backlog, INT32_MAX))
                                      : asio::socket_base::max_listen_connections,
                       ec);
  if (ec) return fail();
  const uint16_t bound = lis->acceptor.local_endpoint(ec).port();
  if (ec) return fail();
  lis->where = endpoint_text(tcp::endpoint(addr, bound));
  {
    const std::lock_guard lock(o.m);
    if (o.shutting_down) {
      detail::set_error(err, err_cap, "net: shutdown() is in progress");
      return OTD_ERR_STATE;
    }
    o.listeners.push_back(lis.get());
    lis->add_ref();
  }
  asio::post(l.io, [lis] { start_accept(lis.get()); });
  *out = reinterpret_cast<otd_net_listener_t*>(lis.get());
  if (bound_port != nullptr) *bound_port = bound;
  return OTD_OK;
}

void NetService::Impl::close_listener(Owner& o, Listener* l) {
  {
    const std::lock_guard lock(o.m);
    const auto it = std::find(o.listeners.begin(), o.listeners.end(), l);
    if (it == o.listeners.end()) {
      owner_log(o, OTD_LOG_WARN, "close_listener: not a listener of this plugin (already closed?)");
      return;
    }
    o.listeners.erase(it);
  }
  asio::post(l->loop->io, [r = Ref<Listener>::adopt(l)] { close_listener_here(r.get()); });
}

otd_status_t NetService::Impl::connect(Owner& o, const char* hostname, uint16_t port, const otd_net_options_t* options,
                                       const otd_net_handlers_t* handlers, uint64_t tag, otd_conn_t* out, char* err,
                                       std::size_t err_cap) {
  std::string why;
  if (out != nullptr) *out = 0;
  if (hostname == nullptr || *hostname == '\0' || strnlen(hostname, 256) > 255 || out == nullptr || port == 0) {
    detail::set_error(err, err_cap, "net: connect needs a host name (at most 255 bytes), a port and an out pointer");
    return OTD_ERR_INVALID_ARG;
  }
  Parsed p;
  if (!check_handlers(handlers, why) || !parse_options(options, p, why)) {
    detail::set_error(err, err_cap, "net: connect to " + std::string(hostname) + ": " + why);
    return OTD_ERR_INVALID_ARG;
  }
  if (!running.load(std::memory_order_acquire)) {
    detail::set_error(err, err_cap, "net: the network service is not running");
    return OTD_ERR_STATE;
  }
  Ref<Profile> prof = make_profile(o, handlers, p);
  if (p.tls) {
    prof->ssl_ctx = client_ssl_ctx();
    if (prof->ssl_ctx == nullptr) {
      detail::set_error(err, err_cap, "net: no TLS client context: " + ssl_errors());
      return OTD_ERR_NO_MEMORY;
    }
  }
  auto op = std::make_unique<ConnectOp>();
  op->host = hostname;
  op->port = port;
  op->tag = tag;
  op->tls_verify = p.tls_verify;
  if (p.server_name != nullptr) op->server_name = p.server_name;
  Loop& l = pick_loop();
  Conn* c = new Conn(l, prof, Socket(l.io.get_executor()));
  Ref<Conn> hold = Ref<Conn>::adopt(c);
  c->connect = op.release();
  c->flags |= kAnnounced;  // the plugin has the id: it gets on_open or on_close
  {
    const std::lock_guard lock(o.m);
    if (o.shutting_down) {
      c->flags = 0;
      detail::set_error(err, err_cap, "net: shutdown() is in progress");
      return OTD_ERR_STATE;
    }
    ++o.live;
  }
  try {
    c->id = ConnTable::get().insert(c);
    asio::post(l.io, [r = hold] {
      try {
        start_connect(r.get());
      } catch (const std::exception& e) {
        finalize(r.get(), OTD_NET_CONNECT_FAILED, e.what());
      }
    });
  } catch (...) {
    ConnTable::get().erase(c->id);
    c->flags = kReported;
    owner_release(o);
    throw;
  }
  *out = c->id;
  return OTD_OK;
}

// --- the C table -------------------------------------------------------------------------------------------------
namespace {

/// Room for `size` more bytes on the connection's queue, or a SEND_OVERFLOW close.
bool reserve(Conn* c, std::size_t size) {
  const uint32_t max = c->profile->max_queue;
  uint32_t cur = c->queued.load(std::memory_order_relaxed);
  do {
    if (size > max - std::min(cur, max)) {
      if (!c->closing.exchange(true, std::memory_order_acq_rel)) {
        asio::post(c->loop->io, [r = ref(c), max] {
          finalize(r.get(), OTD_NET_CLOSED_SEND_OVERFLOW,
                   "more than " + std::to_string(max) + " bytes queued for sending (max_send_queue): the peer is not reading");
        });
      }
      return false;
    }
  } while (!c->queued.compare_exchange_weak(cur, cur + static_cast<uint32_t>(size), std::memory_order_acq_rel));
  return true;
}

Ref<Conn> find_own(const otd_host_t* host, otd_conn_t id) {
  Ref<Conn> c = ConnTable::get().find(id);
  if (!c || c->profile->owner->host != host || c->closing.load(std::memory_order_acquire)) return {};
  return c;
}

void hand_over(Ref<Conn> c, Ref<Buf> b) {
  if (tl_loop == c->loop) {
    enqueue(c.get(), b.leak(), /*nested=*/true);
    return;
  }
  Loop* l = c->loop;
  asio::post(l->io, [r = std::move(c), br = std::move(b)]() mutable {
    try {
      enqueue(r.get(), br.leak(), false);
    } catch (const std::exception& e) {
      finalize(r.get(), OTD_NET_CLOSED_ERROR, e.what());
    }
  });
}

otd_status_t OTD_CALL t_listen(const otd_host_t* host, const char* address, uint16_t port, const otd_net_options_t* options,
                               const otd_net_handlers_t* handlers, otd_net_listener_t** out, uint16_t* bound_port,
                               char* err, size_t err_cap) {
  return detail::guarded("net", err, err_cap, [&]() -> otd_status_t {
    Owner* o = owner_of(host);
    if (o == nullptr) {
      detail::set_error(err, err_cap, "net: this host table has no network service");
      return OTD_ERR_STATE;
    }
    return o->svc->listen(*o, address, port, options, handlers, out, bound_port, err, err_cap);
  });
}

void OTD_CALL t_close_listener(const otd_host_t* host, otd_net_listener_t* listener) {
  (void)detail::guarded("net", nullptr, 0, [&]() -> otd_status_t {
    Owner* o = owner_of(host);
    if (o != nullptr && listener != nullptr) o->svc->close_listener(*o, reinterpret_cast<Listener*>(listener));
    return OTD_OK;
  });
}

otd_status_t OTD_CALL t_connect(const otd_host_t* host, const char* hostname, uint16_t port, const otd_net_options_t* options,
                                const otd_net_handlers_t* handlers, uint64_t tag, otd_conn_t* out, char* err,
                                size_t err_cap) {
  return detail::guarded("net", err, err_cap, [&]() -> otd_status_t {
    Owner* o = owner_of(host);
    if (o == nullptr) {
      detail::set_error(err, err_cap, "net: this host table has no network service");
      return OTD_ERR_STATE;
    }
    return o->svc->connect(*o, hostname, port, options, handlers, tag, out, err, err_cap);
  });
}

otd_status_t OTD_CALL t_send(const otd_host_t* host, otd_conn_t conn, const uint8_t* data, size_t size) {
  return detail::guarded("net", nullptr, 0, [&]() -> otd_status_t {
    if (data == nullptr && size != 0) return OTD_ERR_INVALID_ARG;
    Ref<Conn> c = find_own(host, conn);
    if (!c) return OTD_ERR_NOT_FOUND;
    if (size == 0) return OTD_OK;
    if (!reserve(c.get(), size)) return OTD_ERR_NOT_FOUND;
    Ref<Buf> b;
    try {
      b = Ref<Buf>::adopt(Buf::make(data, size));
    } catch (...) {
      c->queued.fetch_sub(static_cast<uint32_t>(size), std::memory_order_acq_rel);
      throw;
    }
    hand_over(std::move(c), std::move(b));
    return OTD_OK;
  });
}

otd_status_t OTD_CALL t_send_many(const otd_host_t* host, const otd_conn_t* conns, size_t count, const uint8_t* data,
                                  size_t size, size_t* sent) {
  if (sent != nullptr) *sent = 0;
  return detail::guarded("net", nullptr, 0, [&]() -> otd_status_t {
    if ((conns == nullptr && count != 0) || (data == nullptr && size != 0)) return OTD_ERR_INVALID_ARG;
    if (count == 0) return OTD_OK;
    Ref<Buf> b = Ref<Buf>::adopt(Buf::make(data, size));
    // One batch per loop: one post each, however many connections.
    std::vector<std::pair<Loop*, std::vector<Ref<Conn>>>> batches;
    std::size_t taken = 0;
    for (std::size_t i = 0; i < count; ++i) {
      Ref<Conn> c = find_own(host, conns[i]);
      if (!c) continue;
      if (size != 0 && !reserve(c.get(), size)) continue;
      ++taken;
      if (size == 0) continue;
      auto it = std::find_if(batches.begin(), batches.end(), [&](const auto& e) { return e.first == c->loop; });
      if (it == batches.end()) {
        batches.emplace_back(c->loop, std::vector<Ref<Conn>>{});
        it = batches.end() - 1;
      }
      it->second.push_back(std::move(c));
    }
    for (auto& [loop, list] : batches) {
      auto run = [](std::vector<Ref<Conn>>& targets, const Ref<Buf>& buf, bool nested) {
        for (auto& c : targets) {
          try {
            buf->add_ref();
            enqueue(c.get(), buf.get(), nested);
          } catch (const std::exception& e) {
            write_failed(c.get(), OTD_NET_CLOSED_ERROR, e.what(), nested);
          }
        }
      };
      if (tl_loop == loop) {
        run(list, b, true);
      } else {
        asio::post(loop->io, [targets = std::move(list), buf = b, run]() mutable { run(targets, buf, false); });
      }
    }
    if (sent != nullptr) *sent = taken;
    return OTD_OK;
  });
}

void OTD_CALL t_close(const otd_host_t* host, otd_conn_t conn, uint32_t graceful) {
  (void)detail::guarded("net", nullptr, 0, [&]() -> otd_status_t {
    Ref<Conn> c = find_own(host, conn);
    if (!c || c->closing.exchange(true, std::memory_order_acq_rel)) return OTD_OK;
    asio::post(c->loop->io, [r = c, graceful] {
      try {
        do_close(r.get(), OTD_NET_CLOSED_BY_PLUGIN, graceful != 0, "closed by the plugin");
      } catch (const std::exception& e) {
        finalize(r.get(), OTD_NET_CLOSED_BY_PLUGIN, e.what());
      }
    });
    return OTD_OK;
  });
}

void OTD_CALL t_shutdown(const otd_host_t* host) {
  (void)detail::guarded("net", nullptr, 0, [&]() -> otd_status_t {
    Owner* o = owner_of(host);
    if (o != nullptr) o->svc->shutdown_owner(*o);
    return OTD_OK;
  });
}

constexpr otd_net_service_t kTable{sizeof(otd_net_service_t), &t_listen,    &t_close_listener, &t_connect,
                                   &t_send,                   &t_send_many, &t_close,          &t_shutdown};

}  // namespace

// --- NetService ------------------------------------------------------------------------------------------------
NetService::NetService() : NetService(Options{}) {}
NetService::NetService(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
NetService::~NetService() = default;

const otd_net_service_t* NetService::table() noexcept { return &kTable; }

void NetService::attach(const otd_host_t* host, std::string plugin_id) {
  if (host == nullptr) return;
  auto o = std::make_unique<Owner>();
  o->svc = impl_.get();
  o->host = host;
  o->name = std::move(plugin_id);
  Owner* raw = o.get();
  {
    const std::lock_guard lock(impl_->owners_m);
    impl_->owners.push_back(std::move(o));
  }
  Registry& r = Registry::get();
  const std::unique_lock lock(r.m);
  r.owners[host] = raw;
}

void NetService::start() { impl_->start(); }

void NetService::shutdown(const otd_host_t* host) {
  Owner* o = owner_of(host);
  if (o != nullptr && o->svc == impl_.get()) impl_->shutdown_owner(*o);
}

void NetService::stop() { impl_->stop(); }

unsigned NetService::io_threads() const noexcept { return static_cast<unsigned>(impl_->loops.size()); }

std::vector<std::string> NetService::listening(std::string_view plugin_id) const {
  std::vector<std::string> out;
  const std::lock_guard lock(impl_->owners_m);
  for (const auto& op : impl_->owners) {
    if (op->name != plugin_id) continue;
    const std::lock_guard olock(op->m);
    for (const Listener* l : op->listeners) out.push_back(l->where);  // set before it joins listeners
  }
  return out;
}

NetService::Deltas NetService::take_deltas() {
  Deltas d;
  const std::lock_guard stats_lock(impl_->stats_m);
  {
    const std::lock_guard lock(impl_->owners_m);
    for (auto& op : impl_->owners) {
      Owner& o = *op;
      PluginDeltas p;
      p.plugin = o.name;
      {
        const std::lock_guard olock(o.m);
        p.open = o.live;
      }
      const uint64_t acc = o.accepted.load(std::memory_order_relaxed);
      const uint64_t errs = o.accept_errors.load(std::memory_order_relaxed);
      p.accepted = acc - o.rep_accepted;
      p.accept_errors = errs - o.rep_accept_errors;
      o.rep_accepted = acc;
      o.rep_accept_errors = errs;
      bool any = p.open != 0 || p.accepted != 0 || p.accept_errors != 0;
      for (std::size_t i = 0; i < kReasonSlots; ++i) {
        const uint64_t v = o.closed[i].load(std::memory_order_relaxed);
        p.closed[i] = v - o.rep_closed[i];
        o.rep_closed[i] = v;
        any = any || p.closed[i] != 0;
      }
      o.seen = o.seen || any;
      if (o.seen) d.plugins.push_back(std::move(p));
    }
  }
  uint64_t in = 0;
  uint64_t out = 0;
  for (auto& l : impl_->loops) {
    in += l->bytes_in.load(std::memory_order_relaxed);
    out += l->bytes_out.load(std::memory_order_relaxed);
  }
  d.bytes_received = in - impl_->rep_in;
  d.bytes_sent = out - impl_->rep_out;
  impl_->rep_in = in;
  impl_->rep_out = out;
  return d;
}

const char* NetService::reason_name(uint32_t slot) noexcept {
  switch (slot) {
    case OTD_NET_CLOSED_BY_PEER: return "by_peer";
    case OTD_NET_CLOSED_BY_PLUGIN: return "by_plugin";
    case OTD_NET_CLOSED_LINE_TOO_LONG: return "line_too_long";
    case OTD_NET_CLOSED_IDLE: return "idle";
    case OTD_NET_CLOSED_SEND_OVERFLOW: return "send_overflow";
    case OTD_NET_CLOSED_ERROR: return "error";
    case OTD_NET_CLOSED_SHUTDOWN: return "shutdown";
    case OTD_NET_CONNECT_FAILED: return "connect_failed";
    case kTlsHandshakeSlot: return "tls_handshake";
    default: return "unknown";
  }
}

}  // namespace otedama::services
