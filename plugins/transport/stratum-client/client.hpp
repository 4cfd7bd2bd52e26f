// The stratum-client's engine: an upstream pool as the host's job source (miner mode). It owns no socket,
// no thread and no timer: the plugin (plugin.cpp) feeds it the net service's callbacks, a one-second tick
// and the host's verified shares, and it acts only through Env, so tests drive it line by line with a
// fake clock and no sockets (tests/plugins/transport/stratum_client/).
//
// Pools and failover. `pools` is an ordered list. The client connects to the first; when a connection
// fails (refused, no answer to subscribe/authorize, authorization refused, nothing received for
// `timeout_ms`, too many malformed lines), it tries the next, and after a whole round without success it
// waits (retry_min_ms doubling up to retry_max_ms) before the next round. While it mines on a lower
// pool it probes the higher ones every retry_max_ms with a second connection and switches back once one
// has authorized and sent a job. client.reconnect is handled the same way: a second connection to the
// address given (the same pool when none) after the wait given; the switch happens when it has a job.
// Only the active connection's jobs reach the host; a new active connection's first job is posted clean.
//
// Threads (the host's tags): [io] on_open / on_line / on_close; [control] start / stop / tick /
// submit_share; [any] status / counters. One mutex guards the state. Env::connect / send / close run
// outside it (the net service may report a close synchronously); submit_template, log and share_outcome
// run under it (they never call back into the engine).
#pragma once

#include "protocol.hpp"

#include <otedama/common/stratum_url.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/otedama.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::stratum_client {

enum class Dialect { bitcoin, monero, ethereum };
[[nodiscard]] const char* dialect_name(Dialect d) noexcept;

struct PoolConfig {
  common::StratumUrl url;
  std::string user;
  std::string pass;
};

struct ClientConfig {
  std::vector<PoolConfig> pools;      ///< failover order
  std::string algorithm = "sha256d";  ///< the templates' algorithm (mining.algorithm)
  Dialect dialect = Dialect::bitcoin;
  bool kawpow = false;                ///< Ethereum dialect: the KawPow variant (kawpow) instead of EthereumStratum/1.0.0
  std::string coin = "POOL";          ///< the templates' coin (the ledger's coin column)
  std::string agent = "otedama";      ///< user agent sent in subscribe/login ("otedama/0.1.0")
  uint64_t keepalive_ms = 60000;      ///< Monero dialect: keepalived after this long without sending
  uint64_t timeout_ms = 120000;       ///< nothing received for this long: the pool is gone
  uint64_t retry_min_ms = 1000;       ///< back-off after the first failed round ...
  uint64_t retry_max_ms = 60000;      ///< ... doubling up to this; also the probe interval of higher pools
  uint64_t connect_timeout_ms = 10000;
  uint64_t request_timeout_ms = 30000;      ///< subscribe / authorize / login / submit answers
  uint32_t version_rolling_mask = 0x1fffe000;  ///< asked for in mining.configure (0: not sent)
  uint32_t malformed_limit = 20;      ///< malformed lines from one connection before it is dropped
};

/// The plugin's settings as the host hands them over (the `miner` section plus "algorithm"):
/// {"pools":[{"url","user","pass"}...], "keepalive":"60s", "timeout":"2m", "retry_max":"60s",
///  "algorithm":"sha256d", "share_difficulty":0}. std::nullopt and `error` naming the key.
[[nodiscard]] std::optional<ClientConfig> parse_config(std::string_view json, std::string* error);

/// A pool's verdict on one share, as the plugin posts it (OTD_EVENT_SHARE).
struct ShareOutcome {
  otd_share_verdict_t verdict = OTD_SHARE_ACCEPTED;
  uint64_t job_id = 0;          ///< the host's job id
  double difficulty = 0;        ///< the pool's difficulty for the job
  double share_difficulty = 0;  ///< what the hash reached
  std::string user;
  uint64_t latency_ms = 0;      ///< submit to answer
  std::string reason;           ///< the pool's message for a rejection
};

/// What the engine needs from the host.
class Env {
 public:
  virtual ~Env() = default;
  /// [any] Start a connection (LINES framing; TLS per url.tls); the id, or 0 and `error` when it could not
  /// even be started (the engine then treats it as a failed connection).
  virtual uint64_t connect(const common::StratumUrl& url, uint64_t tag, std::string* error) = 0;
  virtual void send(uint64_t conn, std::string_view data) = 0;
  /// Close after the queued output is written; on_close follows.
  virtual void close(uint64_t conn) = 0;
  /// [any] otedama.jobs/1 submit_template.
  virtual otd_status_t submit_template(const otd_template_t& tmpl, uint64_t* job_id, std::string* error) = 0;
  /// The share target of a pool difficulty, in the algorithm plugin's units; std::nullopt when invalid.
  virtual std::optional<common::Uint256> target_from_difficulty(double difficulty) = 0;
  virtual uint64_t now_ms() = 0;
  virtual void log(otd_log_level_t level, std::string_view message) = 0;
  virtual void share_outcome(const ShareOutcome& outcome) = 0;
};

/// Everything the engine counts (metric labels: counter_name()).
enum class Counter : uint32_t {
  accepted,             ///< shares the pool accepted
  rejected,             ///< shares the pool rejected (the verdict says why)
  unanswered,           ///< submits the pool never answered (request_timeout_ms)
  below_pool_target,    ///< local shares under the pool's difficulty: not sent
  stale_dropped,        ///< shares of a job whose connection is gone: not sent
  unknown_job,          ///< shares of a job this client did not post (or forgot)
  templates,            ///< templates posted to the host
  templates_refused,    ///< ... that the host refused
  malformed_lines,      ///< lines that are not a JSON object
  bad_messages,         ///< well-formed messages with invalid parameters (a bad notify ...)
  unknown_methods,
  unexpected_responses, ///< answers to no request of ours
  connects,             ///< connections opened
  connect_failures,     ///< connections that failed before they were authorized
  disconnects,          ///< authorized connections lost
  pool_switches,        ///< the active pool changed
  reconnect_requests,   ///< client.reconnect received
  count_
};
inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::count_);
[[nodiscard]] const char* counter_name(Counter c) noexcept;

struct ClientStatus {
  bool up = false;              ///< an authorized connection feeds jobs
  bool trying = false;          ///< a connection is being made
  uint64_t connections = 0;
  size_t pool_index = 0;        ///< of the active pool
  std::string endpoint;         ///< "host:port" of the active pool
  std::string url;              ///< its URL
  double difficulty = 0;        ///< its current difficulty
  std::string last_error;
};

class Client {
 public:
  Client(ClientConfig config, Env& env);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void start();  ///< [control] connect to the first pool
  void stop();   ///< [control] close every connection; nothing is connected after this
  void tick();   ///< [control] about once a second: timeouts, back-off, keepalive, probes, redirects

  void on_open(uint64_t conn, uint64_t tag, std::string_view peer);             ///< [io]
  void on_line(uint64_t conn, std::string_view line);                          ///< [io]
  void on_close(uint64_t conn, uint32_t reason, std::string_view message);     ///< [io]

  /// [control] A local share the host verified, for a job this client posted.
  void submit_share(const otd_candidate_t& candidate, const otd_verify_result_t& verified);

  [[nodiscard]] ClientStatus status() const;
  [[nodiscard]] uint64_t counter(Counter c) const noexcept { return counters_[static_cast<size_t>(c)].load(); }
  [[nodiscard]] const ClientConfig& config() const noexcept { return config_; }

 private:
  struct Session;
  struct JobRecord;
  struct Pending;
  struct Outbox;

  void count(Counter c, uint64_t n = 1) noexcept { counters_[static_cast<size_t>(c)].fetch_add(n); }
  void flush(Outbox& out);
  Session* by_tag(uint64_t tag);
  Session* by_conn(uint64_t conn);
  void begin_session(Outbox& out, size_t pool_index, const common::StratumUrl& url, const char* why);
  void send(Outbox& out, Session& s, std::string line);
  void drop(Outbox& out, Session& s, const std::string& why);
  void closed(Outbox& out, Session& s, uint32_t reason, std::string_view message);
  void maybe_connect(Outbox& out);
  void on_message(Outbox& out, Session& s, std::string_view line);
  void on_response(Outbox& out, Session& s, uint64_t id, const json::Value& result, const json::Value& error);
  void on_bitcoin_method(Outbox& out, Session& s, std::string_view method, std::string_view id_token, const json::Value& params);
  void on_monero_method(Outbox& out, Session& s, std::string_view method, const json::Value& params);
  void on_bitcoin_notify(Outbox& out, Session& s, const json::Value& params);
  void on_monero_job(Outbox& out, Session& s, const json::Value& job);
  void on_ethereum_method(Outbox& out, Session& s, std::string_view method, std::string_view id_token, const json::Value& params);
  bool post_ethereum(Session& s, otd_template_t& t, JobRecord& rec);
  void try_promote(Outbox& out, Session& s);
  void post_latest(Session& s, bool clean);
  void submit_result(Session& s, const Pending& p, bool accepted, const std::optional<RpcError>& error);
  void log(otd_log_level_t level, const std::string& message) { env_.log(level, message); }

  ClientConfig config_;
  Env& env_;
  mutable std::mutex mutex_;
  std::map<uint64_t, std::unique_ptr<Session>> sessions_;  ///< by tag
  std::map<uint64_t, uint64_t> conn_to_tag_;
  std::map<uint64_t, std::pair<uint32_t, std::string>> early_closes_;  ///< on_close before connect() returned
  std::map<uint64_t, JobRecord> jobs_;                     ///< host job id -> what submit needs
  uint64_t next_tag_ = 1;
  uint64_t active_ = 0;     ///< tag of the connection whose jobs the host mines
  uint64_t candidate_ = 0;  ///< tag of the connection being made (failover attempt, probe or redirect)
  size_t attempt_index_ = 0;
  uint64_t next_attempt_ms_ = 0;
  uint64_t backoff_ms_ = 0;
  uint64_t next_probe_ms_ = 0;
  size_t probe_index_ = 0;
  struct Redirect {
    common::StratumUrl url;
    size_t pool_index = 0;
    uint64_t at_ms = 0;
  };
  std::optional<Redirect> redirect_;
  bool started_ = false;
  bool stopped_ = false;
  std::string last_error_;
  std::array<std::atomic<uint64_t>, kCounterCount> counters_{};
};

}  // namespace otedama::stratum_client
