// Child processes for tests, above all `otedama-host` (serve, mine ...), in one place.
//
//  - free_port() / free_ports(n): loopback ports nobody listens on (bind 127.0.0.1:0 and read it back).
//  - Process: any executable in a child process, stdout and stderr captured to a file in the test's
//    directory (<name>.log, or <name>.out and <name>.err), read on demand; wait_for(regex) polls that log
//    under a generous guard and gives up as soon as the child exits; stop() sends SIGTERM, waits, then
//    SIGKILL; kill9() is the crash test's kill -9. The destructor always stops and reaps the child, and
//    when the test has failed prints the tail of its log.
//  - HostConfig + HostProcess: `otedama-host` with a configuration that never binds a default port.
//    The test writes its own YAML without `api:` and `monitoring:` sections; HostConfig appends them with
//    each service disabled or on a free loopback port (the host refuses port 0 there, so the port is
//    picked here; the port is released before the host binds it, so HostProcess waits for each service's
//    "listening" line and, if another process took the port in between, starts again on new ports). A
//    YAML without a top-level `pool:` section gets `pool: {address: 127.0.0.1:<free port>}`; a `pool:`
//    section of the test's own must set its address (or `enable: false`, or a stratum-server `ports`
//    list, where 127.0.0.1:0 is allowed: HostProcess::stratum_port() reads the real port from the log).
//
// No sleep here is tuned to a machine: every wait polls for its condition under a guard of minutes.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace otedama::test {

namespace fs = std::filesystem;

/// A hang guard, never a speed expectation.
inline constexpr std::chrono::seconds kHangGuard{300};

// ------------------------------------------------------------------------------------------------ ports

/// A listening TCP socket on 127.0.0.1 at a port the kernel picked (held until close() or destruction).
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      const int e = errno;
      close();
      throw std::runtime_error(std::string("cannot listen on 127.0.0.1:0: ") + std::strerror(e));
    }
    port_ = ntohs(a.sin_port);
  }
  ~LoopbackListener() { close(); }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// A loopback port nobody listened on when asked (the kernel's pick, released before returning).
inline uint16_t free_port() { return LoopbackListener().port(); }

/// `n` distinct free loopback ports (all held while picking, so none repeats).
inline std::vector<uint16_t> free_ports(size_t n) {
  std::vector<std::unique_ptr<LoopbackListener>> held;
  std::vector<uint16_t> out;
  for (size_t i = 0; i < n; ++i) {
    held.push_back(std::make_unique<LoopbackListener>());
    out.push_back(held.back()->port());
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ small helpers

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// An empty directory <tmp>/otedama-<tag>-<pid> for one test.
inline fs::path fresh_dir(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("otedama-" + tag + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Polls `pred` until it holds or the guard runs out; true when it held.
template <class Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds guard = kHangGuard,
                std::chrono::milliseconds every = std::chrono::milliseconds(200)) {
  const auto until = std::chrono::steady_clock::now() + guard;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(every);
  }
}

/// A reply to http_get: status 0 when nothing (or no HTTP) came back.
struct HttpReply {
  int status = 0;
  std::string headers;  ///< the status line and header lines, as sent
  std::string body;
};

/// GET http://127.0.0.1:<port><path> (HTTP/1.0, the server closes), every step bounded by `timeout`.
inline HttpReply http_get(uint16_t port, const std::string& path,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  HttpReply r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || end == std::string::npos) return r;
  r.headers = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  const size_t sp = r.headers.find(' ');
  if (sp != std::string::npos) r.status = std::atoi(r.headers.c_str() + sp + 1);
  return r;
}

// ------------------------------------------------------------------------------------------------ Process

/// A regex match copied out of the log (the log is read afresh on every poll).
struct Match {
  std::vector<std::string> groups;  ///< [0] the whole match, then each group
  size_t position = 0;              ///< where the match starts in the text searched
  [[nodiscard]] const std::string& operator[](size_t i) const { return groups.at(i); }
  [[nodiscard]] std::string str(size_t i = 0) const { return groups.at(i); }
};

/// How a child is started.
struct ProcessOptions {
  fs::path dir{};                            ///< working directory; the log files go here
  std::string name = "child";                ///< <dir>/<name>.log, or <name>.out + <name>.err
  std::map<std::string, std::string> env{};  ///< set in the child
  std::vector<std::string> unset_env = {"OTEDAMA_PLUGIN_PATH"};  ///< removed in the child
  bool separate_stdout = false;              ///< stdout to <name>.out and stderr to <name>.err
  bool append = false;                       ///< append to the log files (a restarted child) instead of truncating
};

/// Exit code of a wait status: the code, or 128 + the signal.
inline int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

/// A child process whose output goes to files. Always stopped and reaped by its destructor.
class Process {
 public:
  Process(const std::string& exe, const std::vector<std::string>& args, ProcessOptions options) : options_(std::move(options)) {
    launch(exe, args);
  }
  virtual ~Process() { finish(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  /// True while the child runs (reaps it, keeping its exit code, once it ended).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped(status);
      return false;
    }
    return true;
  }
  /// The exit code once it ended (128 + signal when killed); nullopt while it runs.
  [[nodiscard]] std::optional<int> exit_code() const { return exit_code_; }

  /// Everything the child wrote (merged), or its stderr when stdout goes to its own file.
  [[nodiscard]] std::string log() const { return read_file(log_path()); }
  /// What the child wrote on stderr (the merged log unless separate_stdout).
  [[nodiscard]] std::string err() const { return log(); }
  /// What the child wrote on stdout (the merged log unless separate_stdout).
  [[nodiscard]] std::string out() const { return read_file(out_path()); }
  /// stdout and stderr together (one file, or stderr then stdout).
  [[nodiscard]] std::string output() const { return options_.separate_stdout ? log() + out() : log(); }
  [[nodiscard]] fs::path log_path() const { return options_.dir / (options_.name + (options_.separate_stdout ? ".err" : ".log")); }
  [[nodiscard]] fs::path out_path() const { return options_.separate_stdout ? options_.dir / (options_.name + ".out") : log_path(); }

  /// Waits until `pattern` matches in the log (stdout with `in_stdout`, when separate); the match, or
  /// nullopt when the guard ran out or the child exited without writing it.
  std::optional<Match> wait_for(const std::regex& pattern, std::chrono::milliseconds guard = kHangGuard, bool in_stdout = false,
                                size_t from = 0) {
    const auto until = std::chrono::steady_clock::now() + guard;
    for (;;) {
      const bool alive = running();  // before reading, so that the last words of an exited child count
      const std::string text = in_stdout ? out() : log();
      std::smatch m;
      if (from < text.size() && std::regex_search(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(), m, pattern)) {
        Match out;
        for (const auto& g : m) out.groups.push_back(g.str());
        out.position = from + static_cast<size_t>(m.position(0));
        return out;
      }
      if (!alive || std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::optional<Match> wait_for(const std::string& pattern, std::chrono::milliseconds guard = kHangGuard) {
    return wait_for(std::regex(pattern), guard);
  }

  /// Waits (at most `guard`) for the child to end on its own; its exit code, or nullopt while it runs.
  std::optional<int> wait_exit(std::chrono::milliseconds guard = kHangGuard) {
    eventually([&] { return !running(); }, guard, std::chrono::milliseconds(50));
    return exit_code_;
  }

  /// Sends `sig` and waits (at most `guard`) for the child to end: its exit code; nullopt when it kept
  /// running, and was then killed with SIGKILL and reaped.
  std::optional<int> kill(int sig, std::chrono::milliseconds guard = std::chrono::seconds(120)) {
    if (!running()) return exit_code_;
    ::kill(pid_, sig);
    if (auto code = wait_exit(guard)) return code;
    kill9();
    return std::nullopt;
  }
  /// SIGTERM, then SIGKILL after `guard`: the exit code (0 for a clean stop), or -1 when it had to be killed.
  int stop(std::chrono::milliseconds guard = std::chrono::seconds(120)) { return kill(SIGTERM, guard).value_or(-1); }
  /// SIGTERM without waiting.
  void terminate() const {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  /// kill -9 and reap: 128 + SIGKILL, or the exit code if it had already ended.
  int kill9() {
    if (!running()) return exit_code_.value_or(-1);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped(status);
    return *exit_code_;
  }

  /// The tail of the log, for a failure message.
  [[nodiscard]] std::string tail(size_t bytes = 16000) const {
    const std::string all = output();
    return all.size() <= bytes ? all : "[...]\n" + all.substr(all.size() - bytes);
  }

 protected:
  Process() = default;  // for subclasses that launch later
  void set_options(ProcessOptions options) { options_ = std::move(options); }

  void launch(const std::string& exe, const std::vector<std::string>& args) {
    exe_ = exe;
    exit_code_.reset();
    if (options_.dir.empty()) options_.dir = fs::current_path();
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options_.append ? O_APPEND : O_TRUNC);
    const int err = ::open(log_path().c_str(), flags, 0644);
    const int out = options_.separate_stdout ? ::open(out_path().c_str(), flags, 0644) : err;
    if (err < 0 || out < 0) throw std::runtime_error("cannot open " + log_path().string());
    // Everything the child needs is made before fork (only async-signal-safe calls after it).
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe_.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      bool drop = options_.env.count(key) != 0;
      for (const auto& u : options_.unset_env) drop = drop || key == u;
      if (!drop) env_strings.push_back(kv);
    }
    for (const auto& [k, v] : options_.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string dir = options_.dir.string();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      ::dup2(out, 1);
      ::dup2(err, 2);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execve(exe_.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(err);
    if (out != err) ::close(out);
    printed_ = false;
  }

  /// Stops (SIGTERM, then SIGKILL) and reaps; prints the log when the test failed.
  void finish() {
    if (running()) {
      ::kill(pid_, SIGTERM);
      if (!wait_exit(std::chrono::seconds(30))) kill9();
    }
    if (!printed_ && ::testing::Test::HasFailure()) {
      printed_ = true;
      std::cerr << "---- " << exe_ << " (" << options_.name << "), exit code "
                << (exit_code_ ? std::to_string(*exit_code_) : std::string("?")) << ", log " << log_path().string() << ":\n"
                << tail() << "\n---- end of " << options_.name << "\n";
    }
  }

  ProcessOptions options_;

 private:
  void reaped(int status) {
    exit_code_ = exit_code_of(status);
    pid_ = -1;
  }

  std::string exe_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  bool printed_ = false;
};

/// What a child that ran to its end wrote, and its exit code.
struct RunResult {
  int code = -1;  ///< the exit code, 128 + signal when killed, -1 when it ran past the guard (then killed)
  std::string out, err;
  [[nodiscard]] std::string output() const { return out + err; }
};

/// Runs `exe args...` to its end (a one-shot command: status, --list-plugins ...): stdout and stderr apart
/// (<dir>/<name>.out and .err), killed after `guard`.
inline RunResult run_to_end(const std::string& exe, const std::vector<std::string>& args, ProcessOptions options,
                            std::chrono::milliseconds guard = kHangGuard) {
  options.separate_stdout = true;
  Process p(exe, args, std::move(options));
  RunResult r;
  const auto code = p.wait_exit(guard);
  if (!code) p.kill9();
  r.code = code.value_or(-1);
  r.out = p.out();
  r.err = p.log();
  return r;
}

// ------------------------------------------------------------------------------------------------ otedama-host

/// The ports of a test host's services (0 = off).
struct HostPorts {
  uint16_t api = 0, metrics = 0, health = 0;
  uint16_t pool = 0;  ///< pool.address's port when HostConfig added the pool section
};

/// A test host's configuration: the test's YAML plus `api:` and `monitoring:` sections that keep every
/// service off the default ports (api 8080, metrics 9090, health 8081), and pool.address on a free port
/// unless the YAML has its own `pool:` section.
class HostConfig {
 public:
  explicit HostConfig(std::string yaml) : yaml_(std::move(yaml)) {
    for (const char* key : {"api", "monitoring"}) {
      if (has_section(key))
        throw std::logic_error(std::string("HostConfig: the test's YAML has its own '") + key + ":' section; use api()/metrics()/health()");
    }
  }
  /// The API on a free port; `extra` = more lines under `api:`, each indented by two spaces.
  HostConfig& api(std::string extra = "") {
    api_ = true;
    api_extra_ = std::move(extra);
    return *this;
  }
  HostConfig& metrics() {
    metrics_ = true;
    return *this;
  }
  HostConfig& health() {
    health_ = true;
    return *this;
  }
  /// A fixed port instead of a free one (e.g. one the test holds, to see the host refuse it).
  HostConfig& metrics_at(uint16_t port) {
    metrics_ = true;
    fixed_.metrics = port;
    return *this;
  }
  HostConfig& health_at(uint16_t port) {
    health_ = true;
    fixed_.health = port;
    return *this;
  }

  /// Ports for the first start only, taken as if free (the test of the retry: a port someone holds).
  HostConfig& first_try(HostPorts ports) {
    first_try_ = ports;
    return *this;
  }

  [[nodiscard]] bool wants_api() const { return api_; }
  [[nodiscard]] bool wants_metrics() const { return metrics_; }
  [[nodiscard]] bool wants_health() const { return health_; }
  [[nodiscard]] const HostPorts& fixed() const { return fixed_; }

  /// The whole YAML with the given ports (0 for a wanted service = pick a free one now); `ports` gets them.
  std::string render(HostPorts* ports, int attempt = 0) const {
    HostPorts p = fixed_;
    if (attempt == 0 && first_try_) {
      if (p.api == 0) p.api = first_try_->api;
      if (p.metrics == 0) p.metrics = first_try_->metrics;
      if (p.health == 0) p.health = first_try_->health;
    }
    const bool add_pool = !has_section("pool");
    std::vector<uint16_t> fresh = free_ports(4);
    if (api_ && p.api == 0) p.api = fresh[0];
    if (metrics_ && p.metrics == 0) p.metrics = fresh[1];
    if (health_ && p.health == 0) p.health = fresh[2];
    if (add_pool) p.pool = fresh[3];
    if (!api_) p.api = 0;
    if (!metrics_) p.metrics = 0;
    if (!health_) p.health = 0;
    std::ostringstream y;
    y << yaml_;
    if (!yaml_.empty() && yaml_.back() != '\n') y << "\n";
    if (add_pool) y << "pool:\n  address: 127.0.0.1:" << p.pool << "\n";
    y << "api:\n";
    if (api_) y << "  enable: true\n  address: 127.0.0.1:" << p.api << "\n" << api_extra_;
    else y << "  enable: false\n";
    if (!api_extra_.empty() && api_extra_.back() != '\n') y << "\n";
    y << "monitoring:\n  metrics:\n";
    if (metrics_) y << "    enable: true\n    address: 127.0.0.1:" << p.metrics << "\n";
    else y << "    enable: false\n";
    y << "  health:\n";
    if (health_) y << "    enable: true\n    address: 127.0.0.1:" << p.health << "\n";
    else y << "    enable: false\n";
    if (ports != nullptr) *ports = p;
    return y.str();
  }
  /// Writes render() to `file`; the ports it chose.
  HostPorts write(const fs::path& file, int attempt = 0) const {
    HostPorts p;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << render(&p, attempt);
    return p;
  }

 private:
  [[nodiscard]] bool has_section(const std::string& key) const {
    return std::regex_search(yaml_, std::regex("(^|\n)" + key + "[ \t]*:"));
  }

  std::string yaml_;
  bool api_ = false, metrics_ = false, health_ = false;
  std::string api_extra_;
  HostPorts fixed_;
  std::optional<HostPorts> first_try_;
};

#ifdef OTEDAMA_HOST
/// The otedama-host built with the tests.
inline const char* host_binary() { return OTEDAMA_HOST; }
#endif

/// How HostProcess starts otedama-host.
struct HostOptions {
  std::vector<std::string> args{};  ///< the command and its options, e.g. {"serve", "--run-for", "900"}; "--config FILE" is added
  std::string name = "host";      ///< <dir>/<name>.yaml for the configuration, <dir>/<name>.log for the output
  std::map<std::string, std::string> env{};
  std::vector<std::string> unset_env = {"OTEDAMA_PLUGIN_PATH"};
  bool separate_stdout = false;
  std::string exe{};              ///< the binary; empty = host_binary()
  std::chrono::milliseconds guard = kHangGuard;  ///< for each service's "listening" line
};

/// `otedama-host` on a HostConfig: the file is written to <dir>/<name>.yaml with free ports, the host
/// started, and each enabled service waited for until it logs where it listens. A service that cannot
/// listen on its free port (another process took it since it was picked) → the host is stopped and started
/// again on new ports (three tries). A fixed port (metrics_at ...) is not retried: the test wanted it.
class HostProcess : public Process {
 public:
  HostProcess(const fs::path& dir, HostConfig config, HostOptions options) : config_(std::move(config)), host_options_(std::move(options)) {
    if (host_options_.exe.empty()) {
#ifdef OTEDAMA_HOST
      host_options_.exe = host_binary();
#else
      throw std::logic_error("HostProcess: define OTEDAMA_HOST or give HostOptions::exe");
#endif
    }
    config_path_ = dir / (host_options_.name + ".yaml");
    ProcessOptions po;
    po.dir = dir;
    po.name = host_options_.name;
    po.env = host_options_.env;
    po.unset_env = host_options_.unset_env;
    po.separate_stdout = host_options_.separate_stdout;
    set_options(po);
    start();
  }
  ~HostProcess() override { finish(); }

  [[nodiscard]] const HostPorts& ports() const { return ports_; }
  [[nodiscard]] uint16_t api_port() const { return ports_.api; }
  [[nodiscard]] uint16_t metrics_port() const { return ports_.metrics; }
  [[nodiscard]] uint16_t health_port() const { return ports_.health; }
  [[nodiscard]] const fs::path& config_path() const { return config_path_; }
  /// False when a wanted service never said it listens (the reason is in the log).
  [[nodiscard]] bool services_up() const { return services_up_; }

  /// The first stratum port the stratum-server plugin listens on (from its log line, which names the
  /// kernel's pick for 127.0.0.1:0); nullopt when it never said.
  std::optional<uint16_t> stratum_port(std::chrono::milliseconds guard = kHangGuard) {
    const auto m = wait_for(std::regex("stratum-server: listening on 127\\.0\\.0\\.1:([0-9]+)"), guard);
    if (!m) return std::nullopt;
    return static_cast<uint16_t>(std::stoi((*m)[1]));
  }

 private:
  std::vector<std::string> command() const {
    std::vector<std::string> args = host_options_.args;
    args.push_back("--config");
    args.push_back(config_path_.string());
    return args;
  }

  void start() {
    constexpr int kTries = 3;
    for (int attempt = 1;; ++attempt) {
      ports_ = config_.write(config_path_, attempt - 1);
      launch(host_options_.exe, command());
      const Outcome o = await_services();
      services_up_ = o == Outcome::up;
      if (o != Outcome::port_taken || attempt == kTries) return;
      std::cerr << "otedama-host (" << options_.name << "): a picked port was taken before the host bound it; "
                << "starting again on new ports (try " << attempt + 1 << " of " << kTries << ")\n";
      kill9();
    }
  }

  enum class Outcome { up, port_taken, failed };

  /// Waits for each wanted service's listening line (or its "cannot listen" line).
  Outcome await_services() {
    struct Service {
      bool wanted;
      uint16_t port;
      bool fixed;
      std::string up, down;
    };
    const std::string lo = "127\\.0\\.0\\.1:";
    const Service services[] = {
        {config_.wants_api(), ports_.api, config_.fixed().api != 0, "api: listening on " + lo + std::to_string(ports_.api) + "\\b",
         "api: cannot listen on " + lo + std::to_string(ports_.api) + "\\b"},
        {config_.wants_metrics(), ports_.metrics, config_.fixed().metrics != 0, "metrics: serving /metrics on " + lo + std::to_string(ports_.metrics) + "\\b",
         "metrics: cannot listen on " + lo + std::to_string(ports_.metrics) + "\\b"},
        {config_.wants_health(), ports_.health, config_.fixed().health != 0,
         "health: serving /livez and /readyz on " + lo + std::to_string(ports_.health) + "\\b",
         "health: cannot listen on " + lo + std::to_string(ports_.health) + "\\b"},
    };
    for (const auto& s : services) {
      if (!s.wanted) continue;
      const auto m = wait_for(std::regex("(" + s.up + ")|(" + s.down + ")"), host_options_.guard);
      if (!m) return Outcome::failed;
      if (!(*m)[2].empty()) return s.fixed ? Outcome::failed : Outcome::port_taken;
    }
    return Outcome::up;
  }

  HostConfig config_;
  HostOptions host_options_;
  fs::path config_path_;
  HostPorts ports_;
  bool services_up_ = false;
};

}  // namespace otedama::test
