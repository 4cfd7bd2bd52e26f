// The stratum server's protocol engine: connections, the dialect state machine, per-connection difficulty
// and job bookkeeping, bans, and the answers to the host's verdicts. It owns no socket and no thread: the
// plugin (plugin.cpp) feeds it the net service's callbacks and the host's jobs and verdicts, and it talks
// back only through Env, so tests drive it line by line without sockets (tests/plugins/transport/
// stratum_server/).
//
// Threads and locks (the host's tags, plugin-api/otedama/abi.h):
//  [io]      on_open / on_line / on_close; one connection's callbacks never overlap, different ones do.
//  [control] on_job / on_share_result / tick / reconnect.
// Each connection has its own mutex; every line and every verdict of a connection is handled and its
// answer sent (Env::send) under it, so the order of a connection's output is the order of its causes.
// The connection table is sharded; shard locks are leaves (nothing is called under them). on_close takes
// no connection lock, so an Env::close that reports its on_close synchronously cannot deadlock.
#pragma once

#include "config.hpp"
#include "ip_guard.hpp"
#include "json.hpp"
#include "rpc.hpp"
#include "vardiff.hpp"

#include <otedama/otedama.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace otedama::stratum {

/// What the engine needs from the host. The plugin maps it onto otedama.net/1, otedama.jobs/1 and the host
/// table; tests record it.
class Env {
 public:
  virtual ~Env() = default;
  /// [any] Queue bytes for one connection (the engine sends whole lines, "\n" included).
  virtual void send(uint64_t conn, std::string_view data) = 0;
  /// [any] The same bytes to many connections from one shared copy.
  virtual void send_many(std::span<const uint64_t> conns, std::string_view data) = 0;
  /// [any] Close after the queued output is written.
  virtual void close(uint64_t conn) = 0;
  /// [any] Post a candidate to the host; OTD_ERR_BUSY when the verification queue is full.
  virtual otd_status_t submit_candidate(const otd_candidate_t& candidate) = 0;
  /// [any] Monotonic milliseconds.
  virtual uint64_t now_ms() = 0;
  /// [any] The hashing blob of a job for one extranonce: the algorithm plugin's build_blob (Monero family:
  /// the template's reserved bytes filled, the miner transaction and tree root recomputed). False with a
  /// reason when the algorithm cannot build it.
  virtual bool build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, std::vector<uint8_t>& blob,
                          std::string& error) = 0;
  virtual void log(otd_log_level_t level, std::string_view message) = 0;
};

/// Everything the server counts; exported as metrics by the plugin (README.md lists the names).
enum class Counter : uint32_t {
  accepted,          ///< shares accepted by the host
  blocks,            ///< ... of which solved a block
  stale,             ///< job unknown to the connection or superseded (21)
  duplicate,         ///< 22
  low_difficulty,    ///< 23
  bad_ntime,         ///< 20 "ntime out of range"
  invalid_params,    ///< 20: a submit whose params are malformed, or the host found it malformed
  unauthorized,      ///< 24
  not_subscribed,    ///< 25
  overloaded,        ///< the host's verification queue was full, or too many of a connection's shares pending
  internal_error,
  malformed_lines,   ///< lines that are not JSON-RPC at all
  unknown_methods,
  refused_max_connections,
  refused_per_ip,
  refused_banned,
  bans,
  closed_malformed,  ///< connections closed for repeated malformed lines
  difficulty_changes,
  count_
};
inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::count_);
/// "accepted", "low_difficulty" ... (the metric label).
[[nodiscard]] const char* counter_name(Counter c) noexcept;

/// Stratum error codes (slush's draft; cgminer, bfgminer, ckpool and NOMP use them).
namespace error_code {
inline constexpr int kOther = 20;
inline constexpr int kJobNotFound = 21;
inline constexpr int kDuplicate = 22;
inline constexpr int kLowDifficulty = 23;
inline constexpr int kUnauthorized = 24;
inline constexpr int kNotSubscribed = 25;
}  // namespace error_code

struct ServerOptions {
  /// Set the top bit of extranonce1's last byte: the full extranonce then reads (little-endian) as a
  /// number >= 2^31 for extranonce2 = 0 and >= 2^32 otherwise, far from the small counters the host gives
  /// its local devices (core/scheduler: extranonce = little-endian unit counter). Tests reproducing a real
  /// exchange turn it off.
  bool extranonce1_marker = true;
  uint64_t extranonce1_start = 1;
};

class Server {
 public:
  Server(ServerConfig config, Env& env, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  [[nodiscard]] const ServerConfig& config() const noexcept { return config_; }

  enum class Refusal { none, max_connections, per_ip_limit, banned };
  /// [io] A connection accepted on ports[port]; anything but none means: refuse it (the net service
  /// closes it). `peer` is "ip:port" / "[v6]:port".
  Refusal on_open(size_t port, uint64_t conn, std::string_view peer);
  /// [io] One line, without its "\n" (and "\r").
  void on_line(uint64_t conn, std::string_view line);
  /// [io] The connection is gone (also for refused ones: then nothing happens).
  void on_close(uint64_t conn);

  /// [control] A new job from the host: stored per port and broadcast to every ready connection.
  void on_job(const otd_job_t& job);
  /// [control] The host's verdict on a candidate this server posted.
  void on_share_result(const otd_share_result_t& result);
  /// [control] Periodic work (about once a second): vardiff for silent miners, expired bans.
  void tick();
  /// [control] Send client.reconnect (params [host, port, wait_s], or [] when host is empty: "reconnect to
  /// me") to one connection or, without `conn`, to all. Returns how many got it.
  size_t reconnect(std::optional<uint64_t> conn, std::string_view host, uint16_t port, uint32_t wait_s);

  /// [any]
  [[nodiscard]] uint64_t counter(Counter c) const noexcept { return counters_[static_cast<size_t>(c)].load(std::memory_order_relaxed); }
  [[nodiscard]] size_t connections() const noexcept { return open_.load(); }
  [[nodiscard]] uint64_t submissions() const noexcept { return submissions_.load(); }
  [[nodiscard]] const IpGuard& ip_guard() const noexcept { return guard_; }
  /// [any] The current difficulty of a connection (tests, status); std::nullopt when unknown.
  [[nodiscard]] std::optional<double> difficulty_of(uint64_t conn) const;

  static constexpr size_t kJobsPerConnection = 8;  ///< jobs a connection may still submit to

 private:
  struct JobEntry;
  struct JobRef;
  struct Pending;
  struct Port;
  struct Session;
  struct Scratch;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions;
  };

  std::shared_ptr<Session> find(uint64_t conn) const;
  std::vector<std::shared_ptr<Session>> sessions_of(size_t port) const;
  void count(Counter c, uint64_t n = 1) noexcept { counters_[static_cast<size_t>(c)].fetch_add(n, std::memory_order_relaxed); }

  // Per-line handling, connection locked.
  void handle_line(Session& s, std::string_view line, Scratch& scratch);
  void malformed(Session& s, std::string_view id, std::string_view why, std::string& out);
  void bitcoin_request(Session& s, const Request& req, Scratch& scratch);
  void bitcoin_subscribe(Session& s, const Request& req, std::string& out);
  void bitcoin_authorize(Session& s, const Request& req, Scratch& scratch);
  void bitcoin_submit(Session& s, const Request& req, Scratch& scratch);
  void bitcoin_configure(Session& s, const Request& req, std::string& out);
  void bitcoin_suggest_difficulty(Session& s, const Request& req, std::string& out);
  void monero_request(Session& s, const Request& req, Scratch& scratch);
  void monero_login(Session& s, const Request& req, Scratch& scratch);
  void monero_submit(Session& s, const Request& req, Scratch& scratch);
  bool monero_job(Session& s, const std::shared_ptr<const JobEntry>& job, std::string& job_json);
  void ethereum_request(Session& s, const Request& req, Scratch& scratch);
  void ethereum_subscribe(Session& s, const Request& req, std::string& out);
  void ethereum_submit(Session& s, const Request& req, Scratch& scratch);
  void write_kawpow_notify(const Session& s, const JobEntry& job, bool clean, std::string& out);
  void start_work(Session& s, std::string& out);
  bool fit_extranonce(Session& s, const JobEntry& job, std::string& out);
  void record_job(Session& s, const std::shared_ptr<const JobEntry>& job, uint64_t wire_id);
  void write_reject(const Session& s, std::string_view id, int code, std::string_view message, std::string& out);
  void submit_candidate(Session& s, std::string_view id, const JobEntry& job, const JobRef& ref, std::span<const uint8_t> extranonce,
                        uint64_t nonce, uint32_t ntime, uint32_t version, const std::string& worker, std::string& out,
                        const uint8_t* mix = nullptr);
  void change_difficulty(Session& s, double difficulty, std::string& out);
  void write_set_difficulty(Session& s, std::string& out);
  void reject_submit(Session& s, std::string_view id, Counter c, int code, std::string_view message, std::string& out);
  bool judge_ban(Session& s);
  double floor_of(const Session& s) const noexcept;
  std::shared_ptr<JobEntry> build_bitcoin_job(const otd_job_t& job) const;
  std::shared_ptr<JobEntry> build_monero_job(const otd_job_t& job) const;
  std::shared_ptr<JobEntry> build_ethereum_job(const otd_job_t& job, bool kawpow) const;

  ServerConfig config_;
  Env& env_;
  ServerOptions options_;
  std::vector<std::unique_ptr<Port>> ports_;
  mutable std::array<Shard, 16> shards_;
  IpGuard guard_;
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> next_extranonce1_;
  std::atomic<uint64_t> submissions_{0};
  std::array<std::atomic<uint64_t>, kCounterCount> counters_{};
  std::string control_out_;  ///< [control] scratch for answers built on the control strand
};

}  // namespace otedama::stratum
