// Monitoring (issue 8) over real HTTP on loopback, against a running `otedama-host serve`:
//  - a devnet pool with local CPU mining (one confirmation, payments every second): /metrics has the
//    expected families, the share counters rise as shares are accepted, blocks are confirmed and payments
//    sent, and `promtool check metrics` (Debian's prometheus package) passes on the scraped text; /livez answers 200; /readyz 200 once the devnet delivered a template, 503 while another
//    connection holds the ledger's write lock, and 200 again when it lets go;
//  - a miner whose pool is not there: its job source never delivers a template, so /readyz answers 503 and
//    says why, /livez 200; the metrics port is taken by the test, so the host logs that address and goes on.
// Ports are free ones the test picks on 127.0.0.1. No timing is asserted: every wait is a guard of minutes
// that polls for its condition.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "storage/database.hpp"

#ifndef OTEDAMA_HOST
#error "OTEDAMA_HOST must name the built otedama-host"
#endif

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// otedama-host serve in a child process, its output collected by a reader thread.
class HostProcess {
 public:
  HostProcess(const fs::path& config, const fs::path& cwd) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      if (::chdir(cwd.c_str()) != 0) ::_exit(126);
      ::unsetenv("OTEDAMA_PLUGIN_PATH");
      ::execl(OTEDAMA_HOST, "otedama-host", "serve", "--config", config.c_str(), "--run-for", "900", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    reader_ = std::thread([this] {
      char buf[4096];
      for (;;) {
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) break;
        std::lock_guard lock(mutex_);
        output_.append(buf, static_cast<size_t>(n));
        cv_.notify_all();
      }
      std::lock_guard lock(mutex_);
      eof_ = true;
      cv_.notify_all();
    });
  }
  ~HostProcess() { stop(); }
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  /// Waits (at most `guard`) for `pattern` in the output; false when it never came or the host exited.
  bool wait_for(const std::regex& pattern, std::chrono::seconds guard = 180s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, guard, [&] { return std::regex_search(output_, pattern) || eof_; }) && std::regex_search(output_, pattern);
  }
  std::string output() {
    std::lock_guard lock(mutex_);
    return output_;
  }
  int stop() {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    ::close(fd_);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int exit_code_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string output_;
  bool eof_ = false;
};

/// A listening socket on 127.0.0.1 at a port the kernel picked (the test holds it, or closes it to hand the
/// port to the host).
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};
uint16_t free_port() { return Listener().port; }

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
};
Reply http(uint16_t port, const std::string& path, const std::string& method = "GET") {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply r;
  r.status = static_cast<int>(response.getStatus());
  r.content_type = response.getContentType();
  Poco::StreamCopier::copyToString(in, r.body);
  return r;
}

/// Polls `fetch` until `done` holds (guard: minutes). Returns the last reply.
Reply poll(const std::function<Reply()>& fetch, const std::function<bool(const Reply&)>& done, std::chrono::seconds guard = 180s) {
  const auto until = std::chrono::steady_clock::now() + guard;
  Reply r = fetch();
  while (!done(r) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(200ms);
    r = fetch();
  }
  return r;
}

/// The value of the sample `series` (name and labels, exactly as rendered) in an exposition, or nullopt.
std::optional<double> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return std::nullopt;
}
double accepted_shares(const std::string& text) {
  return sample(text, "otedama_shares_total{result=\"accepted\"}").value_or(0) + sample(text, "otedama_shares_total{result=\"block\"}").value_or(0);
}

/// `promtool check metrics` on `text`: its exit status and what it printed. promtool must be installed
/// (scripts/install-deps.sh: Debian's prometheus package); a missing promtool fails the test.
std::pair<int, std::string> promtool_check(const fs::path& dir, const std::string& text) {
  const fs::path in = dir / "scrape.txt", out = dir / "promtool.txt";
  std::ofstream(in, std::ios::binary) << text;
  const std::string cmd = "promtool check metrics < '" + in.string() + "' > '" + out.string() + "' 2>&1";
  const int st = std::system(cmd.c_str());
  std::ifstream o(out);
  std::stringstream ss;
  ss << o.rdbuf();
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, ss.str()};
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("otedama-monitoring-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST(MonitoringServe, DevnetPoolMetricsPromtoolAndHealth) {
  ASSERT_EQ(std::system("command -v promtool > /dev/null"), 0)
      << "promtool is missing: install Debian's prometheus package (scripts/install-deps.sh installs it)";
  const fs::path dir = fresh_dir("pool");
  const fs::path db = dir / "ledger.db";
  const uint16_t metrics_port = free_port(), health_port = free_port(), pool_port = free_port();
  // Devnet sha256d at a fixed difficulty 0.001 (~4.3 M hashes a block): one CPU thread finds blocks (every
  // local share is a block candidate in pool mode) every second or few.
  std::ofstream(dir / "otedama.yaml") << "mining:\n  enable_cpu: true\n  cpu: {threads: 1}\n"
                                      << "pool:\n  address: 127.0.0.1:" << pool_port << "\n"
                                      << "  rewards: {confirmations: 1}\n  payments: {minimum: 1, interval: 1s, wallet: devnet}\n"
                                      << "api:\n  enable: false\n"
                                      << "monitoring:\n  metrics: {enable: true, address: 127.0.0.1:" << metrics_port << "}\n"
                                      << "  health: {enable: true, address: 127.0.0.1:" << health_port << "}\n"
                                      << "storage:\n  path: " << db.string() << "\n"
                                      << "devnet:\n  difficulty: 0.001\n  block_time: 0\n";
  HostProcess host(dir / "otedama.yaml", dir);
  ASSERT_TRUE(host.wait_for(std::regex("health: serving /livez and /readyz on 127\\.0\\.0\\.1:" + std::to_string(health_port)))) << host.output();
  ASSERT_TRUE(host.wait_for(std::regex("metrics: serving /metrics on 127\\.0\\.0\\.1:" + std::to_string(metrics_port)))) << host.output();

  // Ready once the devnet delivered its first template (and the ledger takes writes).
  const auto readyz = [&] { return http(health_port, "/readyz"); };
  Reply r = poll(readyz, [](const Reply& x) { return x.status == 200; });
  ASSERT_EQ(r.status, 200) << r.body << host.output();
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"ready\":true"), std::string::npos) << r.body;
  r = http(health_port, "/livez");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"live\":true"), std::string::npos) << r.body;
  EXPECT_EQ(http(health_port, "/nothing").status, 404);
  EXPECT_EQ(http(health_port, "/livez", "POST").status, 405);

  // Shares accepted: the counter is there, then rises.
  const auto metrics = [&] { return http(metrics_port, "/metrics"); };
  r = poll(metrics, [](const Reply& x) { return x.status == 200 && accepted_shares(x.body) > 0; });
  ASSERT_GT(accepted_shares(r.body), 0) << r.body << host.output();
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const double first = accepted_shares(r.body);
  r = poll(metrics, [&](const Reply& x) { return x.status == 200 && accepted_shares(x.body) > first; });
  EXPECT_GT(accepted_shares(r.body), first) << r.body;
  // Wait for a scrape with a storage commit, a pool hashrate measured, a block confirmed (one confirmation)
  // and a payment sent (the pool's balance, from the local shares' credits), then check the families.
  r = poll(metrics, [](const Reply& x) {
    return sample(x.body, "otedama_storage_commit_duration_seconds_count").value_or(0) > 0 &&
           sample(x.body, "otedama_blocks_confirmed_total{coin=\"DEVNET\"}").value_or(0) > 0 &&
           sample(x.body, "otedama_payments_total{wallet=\"devnet\",result=\"sent\"}").value_or(0) > 0 &&
           sample(x.body, "otedama_pool_hashrate_hashes_per_second").value_or(0) > 0 &&
           sample(x.body, "otedama_local_hashrate_hashes_per_second").value_or(0) > 0;
  });
  const std::string& text = r.body;
  for (const char* family : {
           "# TYPE otedama_shares_total counter",
           "# TYPE otedama_blocks_found_total counter",
           "# TYPE otedama_blocks_confirmed_total counter",
           "# TYPE otedama_blocks_orphaned_total counter",
           "# TYPE otedama_blocks_rejected_total counter",
           "# TYPE otedama_payments_total counter",
           "# TYPE otedama_payments_amount_atomic_units_total counter",
           "# TYPE otedama_accepted_work_hashes_total counter",
           "# TYPE otedama_local_hashrate_hashes_per_second gauge",
           "# TYPE otedama_pool_hashrate_hashes_per_second gauge",
           "# TYPE otedama_device_hashrate_hashes_per_second gauge",
           "# TYPE otedama_device_hashes_total counter",
           "# TYPE otedama_device_errors_total counter",
           "# TYPE otedama_device_temperature_celsius gauge",
           "# TYPE otedama_device_fan_speed_ratio gauge",
           "# TYPE otedama_device_power_watts gauge",
           "# TYPE otedama_plugin_call_duration_seconds histogram",
           "# TYPE otedama_storage_commit_duration_seconds histogram",
           "# TYPE otedama_net_connections gauge",
           "# TYPE otedama_stratum_connections gauge",
       })
    EXPECT_NE(text.find(std::string(family) + "\n"), std::string::npos) << family << "\n" << text;
  EXPECT_GT(sample(text, "otedama_blocks_found_total{coin=\"DEVNET\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_local_hashrate_hashes_per_second").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_blocks_confirmed_total{coin=\"DEVNET\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_payments_total{wallet=\"devnet\",result=\"sent\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_payments_amount_atomic_units_total{coin=\"DEVNET\"}").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_pool_hashrate_hashes_per_second").value_or(0), 0) << text;
  EXPECT_GT(sample(text, "otedama_storage_commit_duration_seconds_count").value_or(0), 0) << text;
  // The scheduler's re-verification of local shares by the algorithm plugin, a histogram with +Inf.
  EXPECT_GT(sample(text, "otedama_plugin_call_duration_seconds_count{plugin=\"org.otedama.algorithm.sha256d\",call=\"verify\"}").value_or(0), 0) << text;
  EXPECT_EQ(sample(text, "otedama_plugin_call_duration_seconds_bucket{plugin=\"org.otedama.algorithm.sha256d\",call=\"verify\",le=\"+Inf\"}"),
            sample(text, "otedama_plugin_call_duration_seconds_count{plugin=\"org.otedama.algorithm.sha256d\",call=\"verify\"}")) << text;
  EXPECT_EQ(sample(text, "otedama_monitoring_server_up{server=\"metrics\"}"), 1.0) << text;
  EXPECT_EQ(sample(text, "otedama_stratum_connections{plugin=\"org.otedama.transport.stratum-server\"}"), 0.0) << text;

  const auto [rc, lint] = promtool_check(dir, text);
  EXPECT_EQ(rc, 0) << lint;
  EXPECT_EQ(lint, "") << lint;

  // Storage that cannot take a write: another connection holds the write lock.
  {
    otedama::storage::Database locker(db.string());
    locker.exec("BEGIN EXCLUSIVE");
    r = poll(readyz, [](const Reply& x) { return x.status == 503; });
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("\"storage\":{\"ok\":false"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"job_source\":{\"ok\":true"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"reason\":"), std::string::npos) << r.body;
    EXPECT_EQ(http(health_port, "/livez").status, 200);  // alive all the same
    locker.exec("ROLLBACK");
  }
  r = poll(readyz, [](const Reply& x) { return x.status == 200; });
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(host.stop(), 0) << host.output();
}

TEST(MonitoringServe, NotReadyWithoutATemplateAndATakenMetricsPort) {
  const fs::path dir = fresh_dir("miner");
  Listener taken;  // the metrics port is in use
  Listener nobody;
  const uint16_t absent_pool = nobody.port;
  nobody.close();  // nothing listens there: the miner's pool is down
  const uint16_t health_port = free_port();
  std::ofstream(dir / "otedama.yaml") << "app:\n  mode: miner\n"
                                      << "mining:\n  enable_cpu: false\n"
                                      << "pool:\n  enable: false\n  source: stratum-client\n"
                                      << "miner:\n  pools:\n    - {url: stratum+tcp://127.0.0.1:" << absent_pool << ", user: tester}\n"
                                      << "api:\n  enable: false\n"
                                      << "monitoring:\n  metrics: {enable: true, address: 127.0.0.1:" << taken.port << "}\n"
                                      << "  health: {enable: true, address: 127.0.0.1:" << health_port << "}\n"
                                      << "storage:\n  path: " << (dir / "ledger.db").string() << "\n";
  HostProcess host(dir / "otedama.yaml", dir);
  ASSERT_TRUE(host.wait_for(std::regex("metrics: cannot listen on 127\\.0\\.0\\.1:" + std::to_string(taken.port)))) << host.output();
  ASSERT_TRUE(host.wait_for(std::regex("health: serving /livez and /readyz"))) << host.output();
  ASSERT_TRUE(host.wait_for(std::regex("serving: job source stratum-client"))) << host.output();
  const Reply live = http(health_port, "/livez");
  EXPECT_EQ(live.status, 200) << live.body;
  const Reply ready = http(health_port, "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("\"ready\":false"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("\"job_source\":{\"ok\":false"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("not delivered a template"), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("\"storage\":{\"ok\":true"), std::string::npos) << ready.body;
  EXPECT_EQ(host.stop(), 0) << host.output();
}
