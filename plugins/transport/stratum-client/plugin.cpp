// The stratum-client transport plugin: an upstream pool as the host's job source (`otedama-host mine`).
// It binds the engine (client.hpp) to the host's services:
//  - otedama.net/1 connects to the pools (LINES framing, TLS for stratum+ssl://) and calls back on the
//    host's [io] threads; this plugin opens no socket and starts no thread itself;
//  - otedama.jobs/1 takes the pool's jobs as templates; the host mines them and hands every verified local
//    share back through submit_share (on the control strand), which the engine sends to the pool when it
//    meets the pool's difficulty;
//  - otedama.timer/1 ticks once a second on the control strand: timeouts, back-off, keepalive, probes;
//  - otedama.algorithms/1 gives the mined algorithm's plugin: its coin family picks the dialect and its
//    target_from_difficulty turns the pool's difficulty into a share target (pool units: scrypt's x65536).
// Every pool verdict is posted as an OTD_EVENT_SHARE (worker = the pool user), which `otedama-host mine`
// prints; the counters go to the metric otedama_stratum_client_events_total{event=...}.
//
// Settings (the host hands over its `miner` section plus "algorithm" = mining.algorithm; docs/config.md):
//   pools      ordered failover list of {url, user, pass}
//   keepalive  Monero dialect: keepalived after this long without sending      (60s)
//   timeout    nothing received from the pool for this long: reconnect        (2m)
//   retry_max  cap of the reconnect back-off (1 s doubling) and the interval at which a lower pool
//              probes the higher ones                                          (60s)
#include "client.hpp"

#include <otedama/sdk/transport.hpp>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>

namespace {

namespace sdk = otedama::sdk;
namespace sc = otedama::stratum_client;
namespace common = otedama::common;

/// Longest line accepted from a pool: a notify with a large coinbase (many payout outputs) and a deep
/// branch stays far below; a peer that sends more is not a stratum pool.
constexpr uint32_t kMaxLine = 256 * 1024;

class StratumClient final : public sdk::Transport<StratumClient>, public sc::Env {
 public:
  static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;
  using Transport::Transport;

  void init() override {
    std::string error;
    auto config = sc::parse_config(host().config_json(), &error);
    if (!config) throw sdk::Error(OTD_ERR_INVALID_ARG, error);
    const char* version = host().raw() != nullptr && host().raw()->host_version != nullptr ? host().raw()->host_version : "0";
    config->agent = std::string("otedama/") + version;
    config_ = std::move(*config);
  }

  void start() {
    if (config_.pools.empty())
      throw sdk::Error(OTD_ERR_INVALID_ARG, "stratum-client: no pool configured (otedama-host mine -o URL, or miner.pools)");
    jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
    timers_ = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
    net_ = host().service<otd_net_service_t>(OTD_SERVICE_NET);
    const auto* algorithms = host().service<otd_algorithms_service_t>(OTD_SERVICE_ALGORITHMS);
    if (jobs_ == nullptr || timers_ == nullptr || net_ == nullptr || algorithms == nullptr)
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "stratum-client needs the host's otedama.jobs/1, otedama.timer/1, otedama.net/1 and otedama.algorithms/1 services");
    if (algorithms->find(host().raw(), config_.algorithm.c_str(), &algo_plugin_, &algo_) != OTD_OK || algo_ == nullptr)
      throw sdk::Error(OTD_ERR_NOT_FOUND, "stratum-client: no loaded algorithm plugin named '" + config_.algorithm + "'");
    const std::string family = algo_->coin_family != nullptr ? algo_->coin_family : "";
    if (family == "bitcoin" || family == "litecoin") {  // the 80-byte Bitcoin header family (sha256d, scrypt)
      config_.dialect = sc::Dialect::bitcoin;
    } else if (family == "monero") {  // xmrig's login/job/submit/keepalived (templates flagged OTD_TEMPLATE_HASHING_BLOB)
      config_.dialect = sc::Dialect::monero;
    } else if (family == "ethereum" || family == "ethereum-classic" || family == "ravencoin") {
      // EthereumStratum/1.0.0 (ethash, etchash); Ravencoin's KawPow pools speak its KawPow variant.
      config_.dialect = sc::Dialect::ethereum;
      config_.kawpow = family == "ravencoin";
    } else {
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "stratum-client: no stratum dialect for the " + family + " family (" + config_.algorithm + ")");
    }
    register_metrics();
    client_ = std::make_unique<sc::Client>(config_, *this);
    live_.store(client_.get());
    handlers_ = sdk::make_struct<otd_net_handlers_t>();
    handlers_.user = this;
    handlers_.on_open = &StratumClient::on_open_cb;
    handlers_.on_data = &StratumClient::on_data_cb;
    handlers_.on_close = &StratumClient::on_close_cb;
    const otd_status_t st = timers_->start(host().raw(), 1000, 1, &StratumClient::on_tick, this, &timer_);
    if (st != OTD_OK) throw sdk::Error(st, "stratum-client: cannot start its timer");
    host().logf(OTD_LOG_INFO, "stratum-client: %zu pool(s), %s, %s dialect, agent %s", config_.pools.size(), config_.algorithm.c_str(),
                sc::dialect_name(config_.dialect), config_.agent.c_str());
    client_->start();
  }

  void stop() {
    if (timer_ != nullptr) timers_->cancel(host().raw(), timer_);
    timer_ = nullptr;
    if (client_) client_->stop();
    // Waits for every on_close: no handler of this plugin runs after this.
    if (net_ != nullptr) net_->shutdown(host().raw());
    flush_metrics();
  }

  otd_transport_status_t status() {
    auto s = sdk::make_struct<otd_transport_status_t>();
    const sc::Client* client = live_.load();  // [any]: start() may be creating it on the control strand
    if (client == nullptr) {
      s.state = OTD_STATUS_DOWN;
      sdk::copy_field(s.message, "not started");
      return s;
    }
    const sc::ClientStatus st = client->status();
    s.state = st.up ? OTD_STATUS_UP : st.trying ? OTD_STATUS_DEGRADED : OTD_STATUS_DOWN;
    s.connections = st.connections;
    s.templates = client->counter(sc::Counter::templates);
    s.submissions = client->counter(sc::Counter::accepted) + client->counter(sc::Counter::rejected) + client->counter(sc::Counter::unanswered);
    sdk::copy_field(s.endpoint, st.endpoint);
    std::string message = st.up ? "pool " + std::to_string(st.pool_index + 1) + " " + st.url + ": accepted " +
                                      std::to_string(client->counter(sc::Counter::accepted)) + ", rejected " +
                                      std::to_string(client->counter(sc::Counter::rejected))
                                : "connecting" + (st.last_error.empty() ? std::string() : " (last error: " + st.last_error + ")");
    sdk::copy_field(s.message, message);
    return s;
  }

  /// A block found on a pool's job is also a share meeting the pool's difficulty: it goes to the pool
  /// through submit_share (the pool submits the block); nothing more to do here.
  void submit_block(const otd_block_t& block) {
    host().logf(OTD_LOG_INFO, "stratum-client: the share for job %llu also meets the network target: the pool submits the block",
                static_cast<unsigned long long>(block.job_id));
  }

  void submit_share(const otd_candidate_t& candidate, const otd_verify_result_t& verified) {
    if (client_) client_->submit_share(candidate, verified);
  }

  // ---- sc::Env
  uint64_t connect(const common::StratumUrl& url, uint64_t tag, std::string* error) override {
    auto options = sdk::make_struct<otd_net_options_t>();
    options.framing = OTD_NET_FRAMING_LINES;
    options.max_line = kMaxLine;
    options.tls = url.tls ? 1 : 0;
    options.tls_verify = 0;  // pools' certificates are commonly self-signed (the net service's default too)
    otd_conn_t conn = 0;
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = net_->connect(host().raw(), url.host.c_str(), url.port, &options, &handlers_, tag, &conn, err, sizeof err);
    if (st != OTD_OK) {
      if (error != nullptr) *error = err;
      return 0;
    }
    return conn;
  }
  void send(uint64_t conn, std::string_view data) override {
    net_->send(host().raw(), conn, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  void close(uint64_t conn) override { net_->close(host().raw(), conn, 1); }
  otd_status_t submit_template(const otd_template_t& tmpl, uint64_t* job_id, std::string* error) override {
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = jobs_->submit_template(host().raw(), &tmpl, job_id, err, sizeof err);
    if (st != OTD_OK && error != nullptr) *error = err;
    return st;
  }
  std::optional<common::Uint256> target_from_difficulty(double difficulty) override {
    common::Uint256 target{};
    if (algo_->target_from_difficulty(algo_plugin_, difficulty, target.data()) != OTD_OK) return std::nullopt;
    return target;
  }
  uint64_t now_ms() override { return host().monotonic_ns() / 1000000; }
  void log(otd_log_level_t level, std::string_view message) override { host().log(level, message); }
  void share_outcome(const sc::ShareOutcome& o) override {
    auto ev = otd_event_share_t{};
    ev.header.size = sizeof ev;
    ev.header.type = OTD_EVENT_SHARE;
    ev.verdict = o.verdict;
    ev.job_id = o.job_id;
    sdk::copy_field(ev.worker, o.user);
    sdk::copy_field(ev.coin, config_.coin);
    ev.difficulty = o.difficulty;
    ev.share_difficulty = o.share_difficulty;
    sdk::copy_field(ev.reason, o.reason);
    host().post_event(ev.header);
  }

 private:
  static otd_status_t OTD_CALL on_open_cb(void* user, otd_conn_t conn, uint64_t tag, const char* peer, const char*) noexcept {
    try {
      static_cast<StratumClient*>(user)->client_->on_open(conn, tag, peer != nullptr ? peer : "");
    } catch (...) {
      return OTD_ERR_GENERIC;
    }
    return OTD_OK;
  }
  static void OTD_CALL on_data_cb(void* user, otd_conn_t conn, const uint8_t* data, size_t size) noexcept {
    try {
      static_cast<StratumClient*>(user)->client_->on_line(conn, std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (...) {
    }
  }
  static void OTD_CALL on_close_cb(void* user, otd_conn_t conn, uint32_t reason, const char* message) noexcept {
    try {
      static_cast<StratumClient*>(user)->client_->on_close(conn, reason, message != nullptr ? message : "");
    } catch (...) {
    }
  }
  static void OTD_CALL on_tick(void* user) noexcept {
    auto* self = static_cast<StratumClient*>(user);
    try {
      self->client_->tick();
      self->flush_metrics();
    } catch (const std::exception& e) {
      self->host().error(std::string("stratum-client: tick failed: ") + e.what());
    } catch (...) {
    }
  }

  void register_metrics() {
    if (metric_registered_ || host().raw() == nullptr || host().raw()->metric_register == nullptr) return;
    static const char* const kLabels[] = {"event"};
    auto desc = sdk::make_struct<otd_metric_desc_t>();
    desc.type = OTD_METRIC_COUNTER;
    desc.name = "stratum_client_events_total";
    desc.help = "Stratum client: pool verdicts, connections, dropped shares and malformed lines, by event";
    desc.unit = "";
    desc.label_count = 1;
    desc.label_names = kLabels;
    metric_registered_ = host().raw()->metric_register(host().raw(), &desc, &metric_) == OTD_OK;
  }

  void flush_metrics() {
    if (!metric_registered_ || !client_) return;
    for (size_t i = 0; i < sc::kCounterCount; ++i) {
      const auto c = static_cast<sc::Counter>(i);
      const uint64_t now = client_->counter(c);
      if (now == reported_[i]) continue;
      const char* label[] = {sc::counter_name(c)};
      host().raw()->metric_update(host().raw(), metric_, label, static_cast<double>(now - reported_[i]));
      reported_[i] = now;
    }
  }

  sc::ClientConfig config_;
  std::unique_ptr<sc::Client> client_;
  std::atomic<sc::Client*> live_{nullptr};  ///< client_ for [any] readers
  const otd_jobs_service_t* jobs_ = nullptr;
  const otd_timer_service_t* timers_ = nullptr;
  const otd_net_service_t* net_ = nullptr;
  const otd_plugin_t* algo_plugin_ = nullptr;
  const otd_algorithm_t* algo_ = nullptr;
  otd_net_handlers_t handlers_{};
  otd_timer_t* timer_ = nullptr;
  bool metric_registered_ = false;
  uint32_t metric_ = 0;
  std::array<uint64_t, sc::kCounterCount> reported_{};
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_TRANSPORT, "org.otedama.transport.stratum-client", "stratum-client", "0.1.0", "Otedama",
                    "Stratum V1 client: an upstream pool as the job source (miner mode), with ordered failover", "",
                    OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<StratumClient>(kDescriptor));
