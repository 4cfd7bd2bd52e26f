// net_load: measures the network service (otedama.net/1) with many idle loopback connections.
//
//   net_load [--conns N] [--threads T] [--rounds R] [--payload BYTES] [--tls]
//
// The server side (the service, in this process) listens on 127.0.0.1; client processes forked before any
// thread starts open N connections from source addresses 127.0.0.2, .3, ... (IP_BIND_ADDRESS_NO_PORT, so
// each source address has its own ephemeral ports), at most 15000 per process. Reported:
//  - RSS of this process per idle connection: (VmRSS with N open - VmRSS before) / N, after a warm-up;
//  - with R rounds: a job line of BYTES broadcast with one send_many to all N; each client process records
//    when the line arrived on each of its connections (CLOCK_MONOTONIC, one clock for all processes), and
//    the latency from just before send_many to arrival is reported as p50/p99/max per round.
// RLIMIT_NOFILE is raised to the hard limit; N is capped by it. Not a test: no assertions. Loopback only.
#include "services/net.hpp"

#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using otedama::services::NetService;

namespace {

constexpr int kPerProcess = 15000;

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

/// CPU time of this process (all threads), microseconds.
double cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

bool read_all(int fd, void* p, std::size_t n) {
  auto* b = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = ::read(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}
bool write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t r = ::write(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

struct Child {
  pid_t pid = 0;
  int to_child = -1;    // port, then "broadcast k" bytes, then EOF
  int from_child = -1;  // "ready" count, then results
  int count = 0;
};

/// A client process: connects `count` sockets, reports ready, records when each broadcast line arrives.
[[noreturn]] void run_child(int index, int count, int rounds, bool tls, int in, int out) {
  uint16_t port = 0;
  if (!read_all(in, &port, sizeof port)) _exit(1);
  SSL_CTX* ctx = tls ? SSL_CTX_new(TLS_client_method()) : nullptr;
  std::vector<int> fds;
  std::vector<SSL*> ssls;
  fds.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::fprintf(stderr, "client %d: socket: %s after %d\n", index, std::strerror(errno), i);
      break;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002U + static_cast<uint32_t>(index));  // 127.0.0.2 + index
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      std::fprintf(stderr, "client %d: bind: %s\n", index, std::strerror(errno));
      ::close(fd);
      break;
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      std::fprintf(stderr, "client %d: connect: %s after %d\n", index, std::strerror(errno), i);
      ::close(fd);
      break;
    }
    if (tls) {
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) != 1) {
        std::fprintf(stderr, "client %d: TLS handshake failed after %d\n", index, i);
        SSL_free(ssl);
        ::close(fd);
        break;
      }
      ssls.push_back(ssl);
    }
    fds.push_back(fd);
  }
  const int ready = static_cast<int>(fds.size());
  write_all(out, &ready, sizeof ready);

  // Wait for broadcasts: arrival[k * n + i] = when round k reached connection i.
  const std::size_t n = fds.size();
  std::vector<uint64_t> arrival(static_cast<std::size_t>(rounds) * n, 0);
  std::vector<int> round_of(n, 0);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < n && !tls; ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  epoll_event ctl{};
  ctl.events = EPOLLIN;
  ctl.data.u64 = UINT64_MAX;
  epoll_ctl(ep, EPOLL_CTL_ADD, in, &ctl);
  std::vector<epoll_event> events(1024);
  char buf[65536];
  bool done = false;
  while (!done) {
    const int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    const uint64_t t = now_ns();
    for (int e = 0; e < k; ++e) {
      if (events[static_cast<std::size_t>(e)].data.u64 == UINT64_MAX) {
        done = true;  // the parent closed the pipe
        continue;
      }
      const std::size_t i = events[static_cast<std::size_t>(e)].data.u64;
      const ssize_t r = ::recv(fds[i], buf, sizeof buf, 0);
      if (r <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
        continue;
      }
      for (ssize_t j = 0; j < r; ++j) {
        if (buf[j] != '\n') continue;
        if (round_of[i] < rounds) arrival[static_cast<std::size_t>(round_of[i]) * n + i] = t;
        ++round_of[i];
      }
    }
  }
  write_all(out, arrival.data(), arrival.size() * sizeof(uint64_t));
  _exit(0);
}

struct Counters {
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> closed{0};
  std::mutex m;
  std::vector<otd_conn_t> ids;
};

otd_status_t OTD_CALL on_open(void* user, otd_conn_t id, uint64_t, const char*, const char*) {
  auto* c = static_cast<Counters*>(user);
  {
    const std::lock_guard lock(c->m);
    c->ids.push_back(id);
  }
  ++c->opened;
  return OTD_OK;
}
void OTD_CALL on_data(void*, otd_conn_t, const uint8_t*, size_t) {}
void OTD_CALL on_close(void* user, otd_conn_t, uint32_t, const char*) { ++static_cast<Counters*>(user)->closed; }
void OTD_CALL log_fn(const otd_host_t*, otd_log_level_t, const char* message) { std::fprintf(stderr, "[service] %s\n", message); }

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int conns = 10000;
  unsigned threads = 0;
  int rounds = 0;
  int payload = 300;
  bool tls = false;
  std::string cert;
  std::string key;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? argv[++i] : (std::fprintf(stderr, "%s needs a value\n", a.c_str()), std::exit(2), argv[0]); };
    if (a == "--conns") conns = std::atoi(next());
    else if (a == "--threads") threads = static_cast<unsigned>(std::atoi(next()));
    else if (a == "--rounds") rounds = std::atoi(next());
    else if (a == "--payload") payload = std::max(2, std::atoi(next()));
    else if (a == "--tls") {
      tls = true;
      cert = next();
      key = next();
    } else {
      std::fprintf(stderr, "usage: %s [--conns N] [--threads T] [--rounds R] [--payload BYTES] [--tls CERT KEY]\n", argv[0]);
      return 2;
    }
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  const long cap = static_cast<long>(lim.rlim_cur) - 64;
  if (conns > cap) {
    std::fprintf(stderr, "RLIMIT_NOFILE hard limit %ld: conns capped from %d to %ld\n", static_cast<long>(lim.rlim_max), conns, cap);
    conns = static_cast<int>(cap);
  }
  if (tls && rounds > 0) {
    std::fprintf(stderr, "--rounds is for plain TCP only; measuring memory\n");
    rounds = 0;
  }

  // Client processes first, before this process has threads.
  std::vector<Child> children;
  for (int left = conns, index = 0; left > 0; ++index) {
    Child c;
    c.count = std::min(left, kPerProcess);
    left -= c.count;
    int a[2];
    int b[2];
    if (pipe(a) != 0 || pipe(b) != 0) return 1;
    c.pid = fork();
    if (c.pid == 0) {
      ::close(a[1]);
      ::close(b[0]);
      for (const auto& other : children) {
        ::close(other.to_child);
        ::close(other.from_child);
      }
      run_child(index, c.count, rounds, tls, a[0], b[1]);
    }
    ::close(a[0]);
    ::close(b[1]);
    c.to_child = a[1];
    c.from_child = b[0];
    children.push_back(c);
  }

  otd_host_t host{};
  host.struct_size = sizeof host;
  host.log = &log_fn;
  NetService::Options opt;
  opt.io_threads = threads;
  opt.sweep_interval = std::chrono::milliseconds(250);
  NetService svc(opt);
  svc.attach(&host, "net_load");
  svc.start();
  const otd_net_service_t* net = NetService::table();

  Counters counters;
  otd_net_handlers_t h{};
  h.struct_size = sizeof h;
  h.user = &counters;
  h.on_open = &on_open;
  h.on_data = &on_data;
  h.on_close = &on_close;
  otd_net_options_t o{};
  o.struct_size = sizeof o;
  o.framing = OTD_NET_FRAMING_LINES;
  o.idle_timeout_ms = 600'000;  // a pool's: the sweep looks at every connection
  if (tls) {
    o.tls = 1;
    o.tls_cert_file = cert.c_str();
    o.tls_key_file = key.c_str();
  }
  otd_net_listener_t* listener = nullptr;
  uint16_t port = 0;
  char err[OTD_ERROR_CAP] = {};
  if (net->listen(&host, "127.0.0.1", 0, &o, &h, &listener, &port, err, sizeof err) != OTD_OK) {
    std::fprintf(stderr, "listen: %s\n", err);
    return 1;
  }

  // Warm-up: thread caches, arenas, the slot table's first segment, the loops' buffers.
  {
    std::vector<int> warm;
    for (int i = 0; i < 200; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in dst{};
      dst.sin_family = AF_INET;
      dst.sin_port = htons(port);
      dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0) warm.push_back(fd);
    }
    wait_until([&] { return counters.opened.load() >= warm.size(); }, std::chrono::seconds(30));
    for (int fd : warm) ::close(fd);
    wait_until([&] { return counters.closed.load() >= warm.size(); }, std::chrono::seconds(30));
    const std::lock_guard lock(counters.m);
    counters.ids.clear();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t base_opened = counters.opened.load();
  const long rss_before = rss_kib();

  const auto t_connect = std::chrono::steady_clock::now();
  for (auto& c : children) write_all(c.to_child, &port, sizeof port);
  int ready = 0;
  for (auto& c : children) {
    int n = 0;
    read_all(c.from_child, &n, sizeof n);
    c.count = n;
    ready += n;
  }
  if (!wait_until([&] { return counters.opened.load() - base_opened >= static_cast<uint64_t>(ready); }, std::chrono::seconds(120))) {
    std::fprintf(stderr, "only %llu of %d connections opened\n", static_cast<unsigned long long>(counters.opened.load() - base_opened), ready);
  }
  const double connect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_connect).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // idle: a few sweeps
  const long rss_after = rss_kib();
  const uint64_t open = counters.opened.load() - base_opened;
  std::printf("connections: %llu idle (%s, %u I/O threads), opened in %.1f s\n", static_cast<unsigned long long>(open),
              tls ? "TLS" : "plain TCP", svc.io_threads(), connect_s);
  std::printf("RSS: %ld KiB before, %ld KiB with them open: %.0f bytes per idle connection\n", rss_before, rss_after,
              open == 0 ? 0.0 : static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(open));

  std::vector<otd_conn_t> ids;
  {
    const std::lock_guard lock(counters.m);
    ids = counters.ids;
  }
  std::vector<uint64_t> t0(static_cast<std::size_t>(rounds), 0);
  std::string line = R"({"id":null,"method":"mining.notify","params":[")";
  while (line.size() + 3 < static_cast<std::size_t>(payload)) line += 'f';
  line += "\"]}\n";
  std::vector<double> cpu(static_cast<std::size_t>(rounds), 0);
  for (int r = 0; r < rounds; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const double c0 = cpu_us();
    std::size_t sent = 0;
    t0[static_cast<std::size_t>(r)] = now_ns();
    const auto s0 = std::chrono::steady_clock::now();
    net->send_many(&host, ids.data(), ids.size(), reinterpret_cast<const uint8_t*>(line.data()), line.size(), &sent);
    const double call_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s0).count();
    if (r == 0) std::printf("send_many to %zu connections: the call took %.0f us\n", sent, call_us);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the loops write; the clients receive
    cpu[static_cast<std::size_t>(r)] = cpu_us() - c0;
  }
  if (rounds > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const long rss_broadcast = rss_kib();
  if (rounds > 0) std::printf("RSS after %d broadcasts of %zu bytes: %ld KiB\n", rounds, line.size(), rss_broadcast);
  for (auto& c : children) ::close(c.to_child);
  std::vector<std::vector<double>> latency(static_cast<std::size_t>(rounds));
  uint64_t missing = 0;
  for (auto& c : children) {
    const auto n = static_cast<std::size_t>(c.count);
    std::vector<uint64_t> arrival(static_cast<std::size_t>(rounds) * n);
    read_all(c.from_child, arrival.data(), arrival.size() * sizeof(uint64_t));
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < n; ++i) {
        const uint64_t a = arrival[static_cast<std::size_t>(r) * n + i];
        if (a == 0) {
          ++missing;
          continue;
        }
        latency[static_cast<std::size_t>(r)].push_back(static_cast<double>(a - t0[static_cast<std::size_t>(r)]) / 1e6);
      }
    }
    waitpid(c.pid, nullptr, 0);
  }
  for (int r = 0; r < rounds; ++r) {
    auto& v = latency[static_cast<std::size_t>(r)];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    auto pct = [&](double p) { return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))]; };
    std::printf("broadcast %d: %zu received, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; server CPU %.1f ms (%.2f us a connection)\n",
                r + 1, v.size(), pct(0.50), pct(0.99), v.back(), cpu[static_cast<std::size_t>(r)] / 1000.0,
                cpu[static_cast<std::size_t>(r)] / static_cast<double>(v.size()));
  }
  if (missing != 0) std::printf("broadcast: %llu deliveries missing\n", static_cast<unsigned long long>(missing));
  svc.stop();
  return 0;
}
