// otedama-loadgen: a Stratum v1 (Bitcoin dialect, sha256d) load generator for the stratum-server plugin.
//
// Opens N connections on loopback (spread over source addresses 127.0.0.1..127.0.0.K so that more than
// 64k connections fit), subscribes and authorizes each, then
//  - reads the server's RSS (with --server-pid) before and after, for RSS per connection;
//  - with --blocks B: a separate trigger connection mines a devnet block (the nBits target of its job) and
//    submits it; the new clean mining.notify is timed on every client from that submission (kernel receive
//    timestamps, SO_TIMESTAMPNS, one CLOCK_REALTIME for all: every client lives in this process);
//  - for --duration seconds submits shares at --rate per second overall: valid ones (a nonce ground
//    client-side to the set_difficulty target) and --invalid-percent invalid ones, in turn stale (unknown
//    job id, 21), duplicate (the last accepted share again, 22) and bad nonce (misses the target, 23).
// Every answer is checked against the code its kind should get; mismatches are reported.
// Epoll, one loop per --threads; no timing is asserted here (tests/tools/ checks correctness only).
#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace common = otedama::common;

namespace {

// ----------------------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 3333;
  uint32_t connections = 100;
  uint32_t sources = 1;
  double rate = 0;  // submissions per second overall; 0 = idle connections
  double invalid_percent = 0;
  double duration = 10;
  long server_pid = 0;
  bool json = false;
  uint32_t threads = 1;
  uint32_t blocks = 0;          // broadcasts to trigger (devnet blocks mined by the trigger connection)
  double block_interval = 1.0;  // pause between broadcasts, seconds
  uint32_t window = 8;          // submissions in flight per connection
  double connect_timeout = 120;
  double settle = 2.0;  // seconds between all connections ready and the RSS reading
  std::string ack_log;  // append the hash of every accepted valid share here (crash tests)
};

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: otedama-loadgen [--host 127.0.0.1] [--port N] [--connections N] [--sources K]\n"
               "                       [--rate S] [--invalid-percent P] [--duration SECONDS] [--server-pid PID]\n"
               "                       [--blocks B] [--block-interval SECONDS] [--threads T] [--window W]\n"
               "                       [--connect-timeout SECONDS] [--settle SECONDS] [--ack-log FILE] [--json]\n"
               "Exit status: 0 when every requested connection was held and every answer had the expected code;\n"
               "1 otherwise; 2 on a usage error.\n");
  std::exit(code);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        usage(2);
      }
      return argv[++i];
    };
    auto number = [&](double lo, double hi) {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= lo && d <= hi)) {
        std::fprintf(stderr, "%s: '%s' is not a number in [%g, %g]\n", a.c_str(), v.c_str(), lo, hi);
        usage(2);
      }
      return d;
    };
    if (a == "--host") o.host = value();
    else if (a == "--port") o.port = static_cast<uint16_t>(number(1, 65535));
    else if (a == "--connections") o.connections = static_cast<uint32_t>(number(1, 10'000'000));
    else if (a == "--sources") o.sources = static_cast<uint32_t>(number(1, 254));
    else if (a == "--rate") o.rate = number(0, 1e9);
    else if (a == "--invalid-percent") o.invalid_percent = number(0, 100);
    else if (a == "--duration") o.duration = number(0, 1e6);
    else if (a == "--server-pid") o.server_pid = static_cast<long>(number(1, 1e9));
    else if (a == "--json") o.json = true;
    else if (a == "--threads") o.threads = static_cast<uint32_t>(number(1, 64));
    else if (a == "--blocks") o.blocks = static_cast<uint32_t>(number(0, 1e6));
    else if (a == "--block-interval") o.block_interval = number(0, 3600);
    else if (a == "--window") o.window = static_cast<uint32_t>(number(1, 1024));
    else if (a == "--connect-timeout") o.connect_timeout = number(1, 1e6);
    else if (a == "--settle") o.settle = number(0, 3600);
    else if (a == "--ack-log") o.ack_log = value();
    else if (a == "-h" || a == "--help") usage(0);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      usage(2);
    }
  }
  return o;
}

// ----------------------------------------------------------------------------------------------------------
// Clocks, RSS, statistics

int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}
int64_t real_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

long rss_kib(long pid) {
  std::ifstream f("/proc/" + (pid > 0 ? std::to_string(pid) : std::string("self")) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

struct Summary {
  size_t n = 0;
  double p50 = 0, p99 = 0, max = 0;  // milliseconds
};
Summary summarize(std::vector<int64_t> ns) {
  Summary s;
  s.n = ns.size();
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return static_cast<double>(ns[std::min(ns.size() - 1, static_cast<size_t>(q * static_cast<double>(ns.size())))]) / 1e6; };
  s.p50 = at(0.50);
  s.p99 = at(0.99);
  s.max = static_cast<double>(ns.back()) / 1e6;
  return s;
}

// ----------------------------------------------------------------------------------------------------------
// A very small reader for the JSON the server writes (compact, no escapes in anything read here).

struct Cursor {
  std::string_view s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  /// The raw text of the next value (strings without their quotes), skipping nested ones whole.
  std::optional<std::string_view> value() {
    ws();
    if (i >= s.size()) return std::nullopt;
    const size_t start = i;
    if (s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') i += (s[i] == '\\') ? 2 : 1;
      if (i >= s.size()) return std::nullopt;
      ++i;
      return s.substr(start + 1, i - start - 2);
    }
    if (s[i] == '[' || s[i] == '{') {
      int depth = 0;
      bool in_str = false;
      for (; i < s.size(); ++i) {
        const char c = s[i];
        if (in_str) {
          if (c == '\\') ++i;
          else if (c == '"') in_str = false;
        } else if (c == '"') in_str = true;
        else if (c == '[' || c == '{') ++depth;
        else if ((c == ']' || c == '}') && --depth == 0) {
          ++i;
          return s.substr(start, i - start);
        }
      }
      return std::nullopt;
    }
    while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '}' && s[i] != ' ') ++i;
    return s.substr(start, i - start);
  }
};

/// Members of an object (values raw) or elements of an array.
bool split_object(std::string_view text, std::vector<std::pair<std::string_view, std::string_view>>& out) {
  out.clear();
  Cursor c{text};
  if (!c.eat('{')) return false;
  if (c.eat('}')) return true;
  for (;;) {
    auto k = c.value();
    if (!k || !c.eat(':')) return false;
    auto v = c.value();
    if (!v) return false;
    out.emplace_back(*k, *v);
    if (c.eat(',')) continue;
    return c.eat('}');
  }
}
bool split_array(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  Cursor c{text};
  if (!c.eat('[')) return false;
  if (c.eat(']')) return true;
  for (;;) {
    auto v = c.value();
    if (!v) return false;
    out.push_back(*v);
    if (c.eat(',')) continue;
    return c.eat(']');
  }
}

struct Message {
  std::string_view id, method, params, result, error;
};
bool parse_message(std::string_view line, Message& m) {
  thread_local std::vector<std::pair<std::string_view, std::string_view>> members;
  if (!split_object(line, members)) return false;
  m = {};
  for (const auto& [k, v] : members) {
    if (k == "id") m.id = v;
    else if (k == "method") m.method = v;
    else if (k == "params") m.params = v;
    else if (k == "result") m.result = v;
    else if (k == "error") m.error = v;
  }
  return true;
}
/// The code of an error `[code, "message", null]` (its message in `message`); 0 for null.
int error_code(std::string_view error, std::string_view* message = nullptr) {
  if (error.empty() || error == "null") return 0;
  std::vector<std::string_view> parts;
  if (!split_array(error, parts) || parts.empty()) return -1;
  if (message != nullptr && parts.size() > 1) *message = parts[1];
  return std::atoi(std::string(parts[0]).c_str());
}

// ----------------------------------------------------------------------------------------------------------
// Jobs and shares

struct Job {
  std::string id;
  std::vector<uint8_t> prevhash, coinb1, coinb2;
  std::vector<std::vector<uint8_t>> branches;
  uint32_t version = 0, nbits = 0, ntime = 0;
  bool clean = false;
  std::string ntime_hex;
};

uint32_t be32(std::string_view hex) { return static_cast<uint32_t>(std::strtoul(std::string(hex).c_str(), nullptr, 16)); }

std::shared_ptr<Job> parse_notify(std::string_view params) {
  std::vector<std::string_view> p;
  if (!split_array(params, p) || p.size() < 9) return nullptr;
  auto job = std::make_shared<Job>();
  job->id = std::string(p[0]);
  auto ph = common::from_hex(p[1]), c1 = common::from_hex(p[2]), c2 = common::from_hex(p[3]);
  if (!ph || ph->size() != 32 || !c1 || !c2) return nullptr;
  job->prevhash = std::move(*ph);
  job->coinb1 = std::move(*c1);
  job->coinb2 = std::move(*c2);
  std::vector<std::string_view> br;
  if (!split_array(p[4], br)) return nullptr;
  for (auto b : br) {
    auto v = common::from_hex(b);
    if (!v || v->size() != 32) return nullptr;
    job->branches.push_back(std::move(*v));
  }
  job->version = be32(p[5]);
  job->nbits = be32(p[6]);
  job->ntime = be32(p[7]);
  job->ntime_hex = std::string(p[7]);
  job->clean = p[8] == "true";
  return job;
}

void put_le32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

/// The 80-byte header of `job` for extranonce1 ‖ extranonce2 (nonce 0): coinbase -> merkle root, prevhash
/// back from stratum's word-swapped order (ESP-Miner mining.c, cpuminer stratum_gen_work).
std::array<uint8_t, 80> header_of(const Job& job, const std::vector<uint8_t>& e1, const std::vector<uint8_t>& e2) {
  std::vector<uint8_t> coinbase = job.coinb1;
  coinbase.insert(coinbase.end(), e1.begin(), e1.end());
  coinbase.insert(coinbase.end(), e2.begin(), e2.end());
  coinbase.insert(coinbase.end(), job.coinb2.begin(), job.coinb2.end());
  auto root = common::sha256d(coinbase);
  std::array<uint8_t, 64> pair{};
  for (const auto& b : job.branches) {
    std::copy(root.begin(), root.end(), pair.begin());
    std::copy(b.begin(), b.end(), pair.begin() + 32);
    root = common::sha256d(pair);
  }
  std::array<uint8_t, 80> h{};
  put_le32(h.data(), job.version);
  for (size_t w = 0; w < 8; ++w)
    for (size_t k = 0; k < 4; ++k) h[4 + 4 * w + k] = job.prevhash[4 * w + 3 - k];
  std::copy(root.begin(), root.end(), h.begin() + 36);
  put_le32(h.data() + 68, job.ntime);
  put_le32(h.data() + 72, job.nbits);
  return h;
}

common::Uint256 as_uint(const common::Sha256Digest& d) {
  common::Uint256 u{};
  std::copy(d.begin(), d.end(), u.begin());
  return u;
}

std::string hex32(uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

enum Kind : uint8_t { kValid, kStale, kDuplicate, kLowDiff, kKinds };
const char* const kKindName[kKinds] = {"valid", "stale", "duplicate", "low_difficulty"};
const int kExpected[kKinds] = {0, 21, 22, 23};
constexpr int kCodes = 32;  // answer codes 0 (accepted) .. 31; anything else counted as 31

/// Per-connection header state for one (job, extranonce2): the midstate hasher and the next nonce.
struct Work {
  std::shared_ptr<const Job> job;
  std::string e2hex;
  std::optional<common::Sha256dHeader80> hasher;
  uint32_t nonce = 0;
};

// ----------------------------------------------------------------------------------------------------------
// Worker: one epoll loop and its share of the connections

enum Phase : int { kConnect, kIdle, kShares, kDrain, kStop };

struct Pending {
  uint32_t id;
  Kind kind;
  int64_t sent_ns;
  const Job* job;  // the job the share was built on (nullptr: stale on purpose)
  common::Sha256Digest hash{};  // valid shares: the share's hash (--ack-log)
};

struct Conn {
  int fd = -1;
  uint32_t index = 0;
  enum State : uint8_t { kConnecting, kHandshake, kReady, kClosed } state = kConnecting;
  bool subscribed = false, authorized = false, want_out = false;
  std::string rbuf, wbuf;
  int64_t rbuf_ts = 0;  // receive timestamp of the read that began the line at the front of rbuf
  std::vector<uint8_t> e1;
  uint32_t e2size = 4;
  uint32_t e2counter = 0;
  double difficulty = 0;
  common::Uint256 target{};
  std::shared_ptr<const Job> job;
  Work work;
  std::string last_accepted;  // params of the last accepted share ("job","e2","ntime","nonce")
  std::string last_sent_valid;
  const Job* last_accepted_job = nullptr;
  std::vector<std::shared_ptr<const Job>> recent;  // keeps the jobs of shares in flight alive
  std::vector<Pending> pending;
  uint32_t next_id = 3;
  int64_t t_connect = 0, t_sent = 0;
};

struct Shared {
  Options opt;
  std::atomic<int> phase{kConnect};
  std::atomic<uint64_t> ready{0}, closed{0}, failed{0};
  std::atomic<int64_t> outstanding{0};  // submissions not answered yet
  std::mutex arrivals_mutex;
  std::unordered_map<std::string, std::vector<int64_t>> arrivals;  // job id -> receive timestamps (realtime)
  int64_t window_start = 0, window_end = 0;                         // mono ns of the share phase
  int ack_fd = -1;                                                  // --ack-log, O_APPEND
};

struct Worker {
  Shared* sh = nullptr;
  uint32_t first = 0, count = 0;  // connection indices [first, first + count)
  std::vector<Conn> conns;
  int ep = -1;
  uint32_t handshaking = 0;  // connections between connect() and ready
  std::thread thread;
  std::unordered_map<std::string, std::shared_ptr<Job>> jobs;
  // Results
  std::vector<int64_t> connect_ns, subscribe_ns, authorize_ns, submit_ns;
  std::array<std::array<uint64_t, kCodes>, kKinds> answers{};  // [kind][code]
  std::array<uint64_t, kKinds> sent{};
  uint64_t in_window = 0, accepted_in_window = 0, blocks = 0, unexpected_lines = 0, disconnects = 0, superseded = 0;
  std::string first_disconnect;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;

  uint64_t next_rand() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }

  void watch(Conn& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out;
  }

  void close_conn(Conn& c, const char* why) {
    if (c.state == Conn::kClosed) return;
    if (c.state == Conn::kReady) sh->ready.fetch_sub(1);
    else {
      sh->failed.fetch_add(1);
      --handshaking;
    }
    ++disconnects;
    if (first_disconnect.empty())
      first_disconnect = "connection " + std::to_string(c.index) + ": " + why + (c.rbuf.empty() ? "" : " (last input: " + c.rbuf.substr(0, 200) + ")");
    sh->closed.fetch_add(1);
    ::close(c.fd);
    c.fd = -1;
    c.state = Conn::kClosed;
    std::string().swap(c.wbuf);
    std::string().swap(c.rbuf);
  }

  bool open_conn(Conn& c) {
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    ::setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001U + (c.index % sh->opt.sources));
    if (::bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      ::close(c.fd);
      c.fd = -1;
      return false;
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(sh->opt.port);
    ::inet_pton(AF_INET, sh->opt.host.c_str(), &dst.sin_addr);
    c.t_connect = mono_ns();
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS) {
      ::close(c.fd);
      c.fd = -1;
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    c.want_out = true;
    c.state = Conn::kConnecting;
    return true;
  }

  void flush(Conn& c) {
    while (!c.wbuf.empty()) {
      const ssize_t n = ::send(c.fd, c.wbuf.data(), c.wbuf.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.wbuf.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      close_conn(c, "send failed");
      return;
    }
    const bool out = !c.wbuf.empty();
    if (out != c.want_out) watch(c, out);
  }

  void on_connected(Conn& c) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close_conn(c, std::strerror(err));
      return;
    }
    const int64_t now = mono_ns();
    connect_ns.push_back(now - c.t_connect);
    c.state = Conn::kHandshake;
    c.t_sent = now;
    // subscribe and authorize pipelined: the server answers in order.
    c.wbuf += R"({"id":1,"method":"mining.subscribe","params":["otedama-loadgen/0.1"]})"
              "\n"
              R"({"id":2,"method":"mining.authorize","params":["loadgen.)" +
              std::to_string(c.index) + R"(","x"]})" + "\n";
    flush(c);
  }

  std::shared_ptr<const Job> job_of(std::string_view params) {
    Cursor cur{params};
    if (!cur.eat('[')) return nullptr;
    auto id = cur.value();
    if (!id) return nullptr;
    if (auto it = jobs.find(std::string(*id)); it != jobs.end()) return it->second;
    auto job = parse_notify(params);
    if (!job) return nullptr;
    if (jobs.size() > 64) jobs.clear();
    jobs.emplace(job->id, job);
    return job;
  }

  void maybe_ready(Conn& c) {
    if (c.state == Conn::kHandshake && c.subscribed && c.authorized && c.job && c.difficulty > 0) {
      c.state = Conn::kReady;
      --handshaking;
      sh->ready.fetch_add(1);
    }
  }

  void on_line(Conn& c, std::string_view line, int64_t rx_ts) {
    Message m;
    if (!parse_message(line, m)) {
      ++unexpected_lines;
      return;
    }
    if (!m.method.empty()) {
      if (m.method == "mining.notify") {
        auto job = job_of(m.params);
        if (!job) {
          ++unexpected_lines;
          return;
        }
        if (c.state == Conn::kReady) {
          std::lock_guard lock(sh->arrivals_mutex);
          sh->arrivals[job->id].push_back(rx_ts);
        }
        c.recent.push_back(job);
        if (c.recent.size() > 4) c.recent.erase(c.recent.begin());
        c.job = std::move(job);
        maybe_ready(c);
      } else if (m.method == "mining.set_difficulty") {
        std::vector<std::string_view> p;
        if (split_array(m.params, p) && !p.empty()) {
          c.difficulty = std::strtod(std::string(p[0]).c_str(), nullptr);
          c.target = common::bitcoin_target_from_difficulty(c.difficulty).value_or(common::kUint256Max);
        }
        maybe_ready(c);
      } else if (m.method == "client.reconnect") {
        close_conn(c, "client.reconnect");
      }
      return;
    }
    const int64_t now = mono_ns();
    const auto id = static_cast<uint32_t>(std::strtoul(std::string(m.id).c_str(), nullptr, 10));
    if (id == 1) {
      std::vector<std::string_view> r;
      if (!split_array(m.result, r) || r.size() < 3) {
        close_conn(c, "bad subscribe answer");
        return;
      }
      c.e1 = common::from_hex(r[1]).value_or(std::vector<uint8_t>{});
      c.e2size = static_cast<uint32_t>(std::atoi(std::string(r[2]).c_str()));
      if (c.e2size < 1 || c.e2size > 8) c.e2size = 4;
      subscribe_ns.push_back(now - c.t_sent);
      c.subscribed = true;
      maybe_ready(c);
      return;
    }
    if (id == 2) {
      if (m.result != "true") {
        close_conn(c, "authorize refused");
        return;
      }
      authorize_ns.push_back(now - c.t_sent);
      c.authorized = true;
      maybe_ready(c);
      return;
    }
    auto it = std::find_if(c.pending.begin(), c.pending.end(), [&](const Pending& p) { return p.id == id; });
    if (it == c.pending.end()) {
      ++unexpected_lines;
      return;
    }
    const Pending p = *it;
    c.pending.erase(it);
    sh->outstanding.fetch_sub(1, std::memory_order_relaxed);
    std::string_view message;
    int code = error_code(m.error, &message);
    if (code < 0 || code >= kCodes) code = kCodes - 1;
    ++answers[p.kind][static_cast<size_t>(code)];
    submit_ns.push_back(now - p.sent_ns);
    const int phase = sh->phase.load(std::memory_order_relaxed);
    if (phase == kShares) {
      ++in_window;
      if (code == 0) ++accepted_in_window;
    }
    // A share built on a job that a clean job (a devnet block) has replaced since is stale for the server:
    // 21 is the right answer then, whatever kind it was sent as.
    // The server says "Stale job: a new block arrived" / "Stale share: ..." then; the notify of the new job
    // may still be on its way. (Our deliberate stale shares get "Job not found".)
    if (code == 21 && p.kind != kStale && (p.job != c.job.get() || message.substr(0, 5) == "Stale")) {
      ++superseded;
      --answers[p.kind][21];
      return;
    }
    if (p.kind == kValid && code == 0) {
      c.last_accepted = c.last_sent_valid;
      c.last_accepted_job = p.job;
      if (sh->ack_fd >= 0) {
        // One write(2) per acknowledgement: in the file (the kernel's) the moment it was seen, whatever
        // happens to either process afterwards. The hash as hex, in the byte order sha256d produces.
        char line[2 * 32 + 1];
        static constexpr char kHex[] = "0123456789abcdef";
        for (size_t i = 0; i < 32; ++i) {
          line[2 * i] = kHex[p.hash[i] >> 4];
          line[2 * i + 1] = kHex[p.hash[i] & 15];
        }
        line[64] = '\n';
        if (::write(sh->ack_fd, line, sizeof line) != static_cast<ssize_t>(sizeof line)) ++unexpected_lines;
      }
    }
  }

  void on_readable(Conn& c) {
    char buf[16384];
    char control[CMSG_SPACE(sizeof(timespec))];
    for (;;) {
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(c.fd, &msg, 0);
      if (n == 0) {
        close_conn(c, "closed by the server");
        return;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        close_conn(c, std::strerror(errno));
        return;
      }
      int64_t ts = 0;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
          timespec t{};
          std::memcpy(&t, CMSG_DATA(cm), sizeof t);
          ts = static_cast<int64_t>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec;
        }
      if (ts == 0) ts = real_ns();
      if (c.rbuf.empty()) c.rbuf_ts = ts;
      c.rbuf.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (;;) {
        const size_t nl = c.rbuf.find('\n', start);
        if (nl == std::string::npos) break;
        on_line(c, std::string_view(c.rbuf).substr(start, nl - start), c.rbuf_ts);
        if (c.state == Conn::kClosed) return;
        start = nl + 1;
        c.rbuf_ts = ts;  // later lines began in this read (or earlier: close enough)
      }
      c.rbuf.erase(0, start);
      if (static_cast<size_t>(n) < sizeof buf) return;
    }
  }

  /// Prepare `c.work` for its current job with a fresh extranonce2.
  void renew_work(Conn& c) {
    c.work.job = c.job;
    std::vector<uint8_t> e2(c.e2size, 0);
    const uint32_t v = ++c.e2counter;
    for (size_t i = 0; i < std::min<size_t>(4, e2.size()); ++i) e2[e2.size() - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
    c.work.e2hex = common::to_hex(e2);
    const auto header = header_of(*c.job, c.e1, e2);
    c.work.hasher.emplace(std::span<const uint8_t, 80>(header));
    c.work.nonce = 0;
  }

  /// The next nonce whose hash meets (want = true) or misses the share target; its hash in *hash.
  uint32_t grind(Conn& c, bool want, common::Sha256Digest* hash = nullptr) {
    for (;;) {
      if (c.work.nonce == UINT32_MAX) renew_work(c);
      const uint32_t nonce = c.work.nonce++;
      const common::Sha256Digest h = c.work.hasher->hash_with_nonce(nonce);
      const bool meets = common::meets_target(as_uint(h), c.target);
      if (meets == want) {
        if (hash != nullptr) *hash = h;
        return nonce;
      }
    }
  }

  void submit_one(Conn& c, Kind kind) {
    if (!c.work.job || c.work.job != c.job) renew_work(c);
    std::string params;
    common::Sha256Digest hash{};
    if (kind == kDuplicate && c.last_accepted.empty()) kind = kLowDiff;  // nothing accepted yet to repeat
    switch (kind) {
      case kValid:
        params = "\"" + c.job->id + "\",\"" + c.work.e2hex + "\",\"" + c.job->ntime_hex + "\",\"" + hex32(grind(c, true, &hash)) + "\"";
        c.last_sent_valid = params;
        break;
      case kLowDiff:
        params = "\"" + c.job->id + "\",\"" + c.work.e2hex + "\",\"" + c.job->ntime_hex + "\",\"" + hex32(grind(c, false)) + "\"";
        break;
      case kStale:
        params = "\"7fffffff\",\"" + c.work.e2hex + "\",\"" + c.job->ntime_hex + "\",\"00000000\"";
        break;
      case kDuplicate:
        params = c.last_accepted;
        break;
      default:
        return;
    }
    const uint32_t id = c.next_id++;
    c.pending.push_back({id, kind, mono_ns(), kind == kStale ? nullptr : (kind == kDuplicate ? c.last_accepted_job : c.job.get()), hash});
    ++sent[kind];
    sh->outstanding.fetch_add(1, std::memory_order_relaxed);
    c.wbuf += "{\"id\":" + std::to_string(id) + ",\"method\":\"mining.submit\",\"params\":[\"loadgen." + std::to_string(c.index) + "\"," +
              params + "]}\n";
    flush(c);
  }

  void run() {
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns.resize(count);
    for (uint32_t i = 0; i < count; ++i) conns[i].index = first + i;
    uint32_t opened = 0;
    const uint32_t max_handshakes = 256;  // connections between connect() and ready, per worker
    std::vector<epoll_event> events(1024);
    double tokens = 0;
    const double my_rate = sh->opt.rate / sh->opt.threads;
    int64_t last = mono_ns();
    size_t rr = 0;
    uint64_t invalid_turn = 0;
    while (sh->phase.load() != kStop) {
      const int phase = sh->phase.load();
      // Open more connections while few handshakes are in flight (keeps the listen backlog from overflowing).
      if (phase == kConnect && opened < count) {
        while (opened < count && handshaking < max_handshakes) {
          ++handshaking;
          if (!open_conn(conns[opened])) {
            --handshaking;
            conns[opened].state = Conn::kClosed;
            sh->failed.fetch_add(1);
            sh->closed.fetch_add(1);
            if (first_disconnect.empty()) first_disconnect = "connect(" + std::to_string(opened) + "): " + std::strerror(errno);
          }
          ++opened;
        }
      }
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1);
      for (int k = 0; k < n; ++k) {
        Conn& c = conns[events[static_cast<size_t>(k)].data.u32];
        if (c.state == Conn::kClosed) continue;
        const uint32_t ev = events[static_cast<size_t>(k)].events;
        if (c.state == Conn::kConnecting) {
          if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
          if (c.state == Conn::kClosed) continue;
        } else if (ev & EPOLLOUT) {
          flush(c);
          if (c.state == Conn::kClosed) continue;
        }
        if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
      }
      const int64_t now = mono_ns();
      if (phase == kShares && my_rate > 0 && !conns.empty()) {
        tokens = std::min(tokens + my_rate * static_cast<double>(now - last) / 1e9, std::max(1.0, my_rate * 0.05));
        size_t tried = 0;
        while (tokens >= 1 && tried < conns.size()) {
          Conn& c = conns[rr];
          rr = (rr + 1) % conns.size();
          ++tried;
          if (c.state != Conn::kReady || c.pending.size() >= sh->opt.window || !c.wbuf.empty()) continue;
          tried = 0;
          tokens -= 1;
          Kind kind = kValid;
          if (static_cast<double>(next_rand() % 1'000'000) < sh->opt.invalid_percent * 10'000.0) kind = static_cast<Kind>(1 + (invalid_turn++ % 3));
          submit_one(c, kind);
        }
      } else {
        tokens = 0;
      }
      last = now;
    }
    for (auto& c : conns)
      if (c.fd >= 0) ::close(c.fd);
    ::close(ep);
  }
};

// ----------------------------------------------------------------------------------------------------------
// The trigger connection: a blocking client in the main thread that mines devnet blocks.

class Trigger {
 public:
  bool open(const Options& o, std::string& why) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(o.port);
    ::inet_pton(AF_INET, o.host.c_str(), &dst.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      why = std::string("trigger connect: ") + std::strerror(errno);
      return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    send(R"({"id":1,"method":"mining.subscribe","params":["otedama-loadgen-trigger/0.1"]})");
    send(R"({"id":2,"method":"mining.authorize","params":["loadgen.trigger","x"]})");
    const int64_t deadline = mono_ns() + 30'000'000'000LL;
    while ((e1_.empty() || !job_) && mono_ns() < deadline)
      if (!pump(100)) break;
    if (e1_.empty() || !job_) {
      why = "trigger: no subscribe answer or job from the server";
      return false;
    }
    return true;
  }
  ~Trigger() {
    if (fd_ >= 0) ::close(fd_);
  }

  /// Mine a block on the current job and submit it. Returns the realtime ns just before the submit was
  /// written and, in `job_id`, the id of the clean job that followed; std::nullopt on failure.
  std::optional<int64_t> block(std::string& job_id, std::string& why) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      pump(0);
      auto job = job_;
      std::vector<uint8_t> e2(e2size_, 0);
      const uint32_t v = ++e2counter_;
      for (size_t i = 0; i < std::min<size_t>(4, e2.size()); ++i) e2[e2.size() - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
      const auto target = common::target_from_nbits(job->nbits);
      if (!target) {
        why = "trigger: bad nBits";
        return std::nullopt;
      }
      const auto header = header_of(*job, e1_, e2);
      common::Sha256dHeader80 hasher(std::span<const uint8_t, 80>(header.data(), 80));
      uint32_t nonce = 0;
      bool found = false;
      for (; nonce < 400'000'000u; ++nonce)
        if (common::meets_target(as_uint(hasher.hash_with_nonce(nonce)), *target)) {
          found = true;
          break;
        }
      if (!found) continue;
      pump(0);
      if (job_ != job) continue;  // the job moved on while mining
      const std::string old_id = job->id;
      const int id = next_id_++;
      const int64_t t0 = real_ns();
      send("{\"id\":" + std::to_string(id) + ",\"method\":\"mining.submit\",\"params\":[\"loadgen.trigger\",\"" + job->id + "\",\"" +
           common::to_hex(e2) + "\",\"" + job->ntime_hex + "\",\"" + hex32(nonce) + "\"]}");
      const int64_t deadline = mono_ns() + 10'000'000'000LL;
      while (mono_ns() < deadline && (job_->id == old_id || !job_->clean))
        if (!pump(100)) break;
      if (job_->id == old_id || !job_->clean) {
        why = "trigger: no clean job after the block (last answer: " + last_answer_ + ")";
        return std::nullopt;
      }
      job_id = job_->id;
      return t0;
    }
    why = "trigger: could not mine a block on a current job";
    return std::nullopt;
  }

 private:
  void send(const std::string& line) {
    const std::string data = line + "\n";
    (void)!::write(fd_, data.data(), data.size());
  }
  /// Read what is there (waiting up to timeout_ms for the first bytes) and handle whole lines.
  bool pump(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    buf_.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      const std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      Message m;
      if (!parse_message(line, m)) continue;
      if (m.method == "mining.notify") {
        if (auto j = parse_notify(m.params)) job_ = j;
      } else if (m.id == "1") {
        std::vector<std::string_view> r;
        if (split_array(m.result, r) && r.size() >= 3) {
          e1_ = common::from_hex(r[1]).value_or(std::vector<uint8_t>{});
          e2size_ = static_cast<uint32_t>(std::atoi(std::string(r[2]).c_str()));
          if (e2size_ < 1 || e2size_ > 8) e2size_ = 4;
        }
      } else if (m.method.empty()) {
        last_answer_ = line;
      }
    }
    return true;
  }

  int fd_ = -1;
  std::string buf_, last_answer_;
  std::vector<uint8_t> e1_;
  uint32_t e2size_ = 4, e2counter_ = 0x10000;
  int next_id_ = 3;
  std::shared_ptr<const Job> job_;
};

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_options(argc, argv);

  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  if (opt.connections + 64 > lim.rlim_cur) {
    std::fprintf(stderr, "RLIMIT_NOFILE is %lu: at most %lu connections\n", static_cast<unsigned long>(lim.rlim_cur),
                 static_cast<unsigned long>(lim.rlim_cur - 64));
    return 2;
  }
  opt.threads = std::min(opt.threads, opt.connections);

  Shared sh;
  sh.opt = opt;
  if (!opt.ack_log.empty()) {
    sh.ack_fd = ::open(opt.ack_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (sh.ack_fd < 0) {
      std::fprintf(stderr, "--ack-log %s: %s\n", opt.ack_log.c_str(), std::strerror(errno));
      return 2;
    }
  }
  std::string error;

  // The trigger connection comes first so that the RSS baseline includes it.
  std::unique_ptr<Trigger> trigger;
  if (opt.blocks > 0) {
    trigger = std::make_unique<Trigger>();
    if (!trigger->open(opt, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }
  const long rss_before = opt.server_pid > 0 ? rss_kib(opt.server_pid) : -1;

  // Workers and connections
  std::vector<std::unique_ptr<Worker>> workers;
  for (uint32_t t = 0; t < opt.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->sh = &sh;
    w->first = static_cast<uint32_t>(static_cast<uint64_t>(opt.connections) * t / opt.threads);
    w->count = static_cast<uint32_t>(static_cast<uint64_t>(opt.connections) * (t + 1) / opt.threads) - w->first;
    w->rng ^= (t + 1) * 0x2545F4914F6CDD1DULL;
    workers.push_back(std::move(w));
  }
  const int64_t t_start = mono_ns();
  for (auto& w : workers) w->thread = std::thread([p = w.get()] { p->run(); });
  const int64_t connect_deadline = t_start + static_cast<int64_t>(opt.connect_timeout * 1e9);
  while (mono_ns() < connect_deadline && sh.ready.load() + sh.failed.load() < opt.connections) sleep_s(0.02);
  const double connect_s = static_cast<double>(mono_ns() - t_start) / 1e9;
  sh.phase = kIdle;
  const uint64_t ready_after_connect = sh.ready.load();

  sleep_s(opt.settle);
  const long rss_with = opt.server_pid > 0 ? rss_kib(opt.server_pid) : -1;
  const uint64_t held_for_rss = sh.ready.load();

  // Broadcasts
  std::vector<int64_t> bc_all;    // every client's latency from the block submission
  std::vector<int64_t> bc_last;   // per broadcast: the last client's latency
  std::vector<int64_t> bc_spread; // per broadcast: first -> last client
  uint32_t bc_complete = 0;
  for (uint32_t b = 0; b < opt.blocks && trigger; ++b) {
    std::string job_id;
    const auto t0 = trigger->block(job_id, error);
    if (!t0) {
      std::fprintf(stderr, "%s\n", error.c_str());
      break;
    }
    const uint64_t want = sh.ready.load();
    const int64_t deadline = mono_ns() + 10'000'000'000LL;
    std::vector<int64_t> got;
    while (mono_ns() < deadline) {
      {
        std::lock_guard lock(sh.arrivals_mutex);
        auto it = sh.arrivals.find(job_id);
        if (it != sh.arrivals.end() && it->second.size() >= want) {
          got = it->second;
          break;
        }
      }
      sleep_s(0.005);
    }
    if (got.empty()) {
      std::lock_guard lock(sh.arrivals_mutex);
      if (auto it = sh.arrivals.find(job_id); it != sh.arrivals.end()) got = it->second;
    }
    if (got.size() >= want) ++bc_complete;
    if (!got.empty()) {
      const auto [mn, mx] = std::minmax_element(got.begin(), got.end());
      for (int64_t t : got) bc_all.push_back(std::max<int64_t>(0, t - *t0));
      bc_last.push_back(std::max<int64_t>(0, *mx - *t0));
      bc_spread.push_back(*mx - *mn);
    }
    if (b + 1 < opt.blocks) sleep_s(opt.block_interval);
  }

  // Shares
  if (opt.duration > 0) {
    sh.window_start = mono_ns();
    sh.phase = kShares;
    sleep_s(opt.duration);
    sh.window_end = mono_ns();
    sh.phase = kDrain;
    sleep_s(0.1);  // a loop that read kShares just before may still be submitting its last batch
    const int64_t drain_deadline = mono_ns() + 30'000'000'000LL;  // every answer, or give up after 30 s
    while (sh.outstanding.load() > 0 && sh.ready.load() > 0 && mono_ns() < drain_deadline) sleep_s(0.01);
  }
  const uint64_t held_at_end = sh.ready.load();
  const long rss_end = opt.server_pid > 0 ? rss_kib(opt.server_pid) : -1;
  sh.phase = kStop;
  for (auto& w : workers) w->thread.join();

  // Merge
  std::vector<int64_t> connect_ns, subscribe_ns, authorize_ns, submit_ns;
  std::array<std::array<uint64_t, kCodes>, kKinds> answers{};
  std::array<uint64_t, kKinds> sent{};
  uint64_t in_window = 0, accepted_in_window = 0, unexpected = 0, disconnects = 0, superseded = 0;
  std::string first_disconnect;
  for (auto& w : workers) {
    superseded += w->superseded;
    connect_ns.insert(connect_ns.end(), w->connect_ns.begin(), w->connect_ns.end());
    subscribe_ns.insert(subscribe_ns.end(), w->subscribe_ns.begin(), w->subscribe_ns.end());
    authorize_ns.insert(authorize_ns.end(), w->authorize_ns.begin(), w->authorize_ns.end());
    submit_ns.insert(submit_ns.end(), w->submit_ns.begin(), w->submit_ns.end());
    for (size_t k = 0; k < kKinds; ++k) {
      sent[k] += w->sent[k];
      for (size_t c = 0; c < kCodes; ++c) answers[k][c] += w->answers[k][c];
    }
    in_window += w->in_window;
    accepted_in_window += w->accepted_in_window;
    unexpected += w->unexpected_lines;
    disconnects += w->disconnects;
    if (first_disconnect.empty()) first_disconnect = w->first_disconnect;
  }
  uint64_t answered = superseded, mismatched = 0;
  std::map<int, uint64_t> by_code;
  for (size_t k = 0; k < kKinds; ++k)
    for (size_t c = 0; c < kCodes; ++c) {
      answered += answers[k][c];
      by_code[static_cast<int>(c)] += answers[k][c];
      if (static_cast<int>(c) != kExpected[k]) mismatched += answers[k][c];
    }
  uint64_t total_sent = 0;
  for (auto s : sent) total_sent += s;
  const double window_s = sh.window_end > sh.window_start ? static_cast<double>(sh.window_end - sh.window_start) / 1e9 : 0;
  const Summary sc = summarize(connect_ns), ss = summarize(subscribe_ns), sa = summarize(authorize_ns), su = summarize(submit_ns);
  const Summary ba = summarize(bc_all), bl = summarize(bc_last), bs = summarize(bc_spread);
  const double rss_per_conn =
      rss_before >= 0 && rss_with >= 0 && held_for_rss > 0 ? static_cast<double>(rss_with - rss_before) * 1024.0 / static_cast<double>(held_for_rss) : -1;

  const bool ok = ready_after_connect == opt.connections && held_at_end == opt.connections && mismatched == 0 && answered == total_sent &&
                  (opt.blocks == 0 || bc_complete == opt.blocks);

  if (opt.json) {
    std::string j = "{";
    auto add = [&](const std::string& k, const std::string& v) { j += (j.size() > 1 ? "," : "") + ("\"" + k + "\":") + v; };
    auto sum = [&](const Summary& s) {
      return "{\"n\":" + std::to_string(s.n) + ",\"p50_ms\":" + fmt("%.3f", s.p50) + ",\"p99_ms\":" + fmt("%.3f", s.p99) +
             ",\"max_ms\":" + fmt("%.3f", s.max) + "}";
    };
    add("ok", ok ? "true" : "false");
    add("connections_requested", std::to_string(opt.connections));
    add("connections_ready", std::to_string(ready_after_connect));
    add("connections_held_at_end", std::to_string(held_at_end));
    add("connect_seconds", fmt("%.3f", connect_s));
    add("disconnects", std::to_string(disconnects));
    add("connect_latency", sum(sc));
    add("subscribe_latency", sum(ss));
    add("authorize_latency", sum(sa));
    add("server_rss_kib", "{\"before\":" + std::to_string(rss_before) + ",\"with_connections\":" + std::to_string(rss_with) +
                              ",\"end\":" + std::to_string(rss_end) + "}");
    add("server_rss_bytes_per_connection", fmt("%.1f", rss_per_conn));
    add("broadcasts", "{\"requested\":" + std::to_string(opt.blocks) + ",\"complete\":" + std::to_string(bc_complete) +
                          ",\"all_clients\":" + sum(ba) + ",\"last_client\":" + sum(bl) + ",\"first_to_last\":" + sum(bs) + "}");
    std::string codes = "{";
    for (auto [c, n] : by_code)
      if (n > 0) codes += (codes.size() > 1 ? "," : "") + ("\"" + std::to_string(c) + "\":") + std::to_string(n);
    codes += "}";
    std::string kinds = "{";
    for (size_t k = 0; k < kKinds; ++k) {
      std::string per = "{\"sent\":" + std::to_string(sent[k]);
      for (size_t c = 0; c < kCodes; ++c)
        if (answers[k][c] > 0) per += ",\"" + std::to_string(c) + "\":" + std::to_string(answers[k][c]);
      kinds += (k ? "," : "") + ("\"" + std::string(kKindName[k]) + "\":") + per + "}";
    }
    kinds += "}";
    add("shares", "{\"sent\":" + std::to_string(total_sent) + ",\"answered\":" + std::to_string(answered) + ",\"mismatched\":" +
                      std::to_string(mismatched) + ",\"stale_after_block\":" + std::to_string(superseded) + ",\"window_seconds\":" + fmt("%.3f", window_s) + ",\"answered_per_second\":" +
                      fmt("%.1f", window_s > 0 ? static_cast<double>(in_window) / window_s : 0) + ",\"accepted_per_second\":" +
                      fmt("%.1f", window_s > 0 ? static_cast<double>(accepted_in_window) / window_s : 0) + ",\"by_code\":" + codes +
                      ",\"by_kind\":" + kinds + ",\"submit_latency\":" + sum(su) + "}");
    add("unexpected_lines", std::to_string(unexpected));
    add("first_disconnect", "\"" + [&] {
      std::string e;
      for (char ch : first_disconnect) e += (ch == '"' || ch == '\\') ? std::string("\\") + ch : std::string(1, ch);
      return e;
    }() + "\"");
    j += "}";
    std::printf("%s\n", j.c_str());
  } else {
    std::printf("connections: %lu requested, %lu ready in %.2f s, %lu held at the end, %lu disconnects\n",
                static_cast<unsigned long>(opt.connections), static_cast<unsigned long>(ready_after_connect), connect_s,
                static_cast<unsigned long>(held_at_end), static_cast<unsigned long>(disconnects));
    if (!first_disconnect.empty()) std::printf("  first disconnect: %s\n", first_disconnect.c_str());
    std::printf("latency (ms) connect p50 %.3f p99 %.3f | subscribe p50 %.3f p99 %.3f | authorize p50 %.3f p99 %.3f\n", sc.p50, sc.p99,
                ss.p50, ss.p99, sa.p50, sa.p99);
    if (opt.server_pid > 0)
      std::printf("server RSS: %ld KiB before, %ld KiB with %lu connections, %ld KiB at the end: %.0f bytes per connection\n", rss_before,
                  rss_with, static_cast<unsigned long>(held_for_rss), rss_end, rss_per_conn);
    if (opt.blocks > 0)
      std::printf("broadcast (%u/%u complete): block submitted -> client notified p50 %.3f ms p99 %.3f ms; last client p50 %.3f ms max %.3f ms; "
                  "first->last client p50 %.3f ms\n",
                  bc_complete, opt.blocks, ba.p50, ba.p99, bl.p50, bl.max, bs.p50);
    if (total_sent > 0) {
      std::printf("shares: %lu sent, %lu answered (%lu with an unexpected code); %.1f answered/s, %.1f accepted/s over %.2f s\n",
                  static_cast<unsigned long>(total_sent), static_cast<unsigned long>(answered), static_cast<unsigned long>(mismatched),
                  window_s > 0 ? static_cast<double>(in_window) / window_s : 0, window_s > 0 ? static_cast<double>(accepted_in_window) / window_s : 0,
                  window_s);
      for (size_t k = 0; k < kKinds; ++k) {
        std::printf("  %-15s sent %lu:", kKindName[k], static_cast<unsigned long>(sent[k]));
        for (size_t c = 0; c < kCodes; ++c)
          if (answers[k][c] > 0) std::printf(" %s %lu", c == 0 ? "accepted" : ("code " + std::to_string(c)).c_str(), static_cast<unsigned long>(answers[k][c]));
        std::printf("\n");
      }
      if (superseded > 0) std::printf("  %lu shares answered 21 because a devnet block replaced their job in flight (expected)\n", static_cast<unsigned long>(superseded));
      std::printf("  submit -> answer p50 %.3f ms p99 %.3f ms\n", su.p50, su.p99);
    }
    std::printf("%s\n", ok ? "OK" : "FAILED");
  }
  return ok ? 0 : 1;
}
