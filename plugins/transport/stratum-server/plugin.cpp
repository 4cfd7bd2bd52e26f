// The stratum-server transport plugin: binds the protocol engine (server.hpp) to the host's services.
//
//  - otedama.net/1 listens on every configured port with LINES framing (max_line, idle timeout, TLS) and
//    calls back on the host's [io] threads; this plugin starts no thread and opens no socket itself.
//  - otedama.jobs/1 takes the miners' submissions as candidates; the host verifies them and answers
//    through on_share_result on the control strand.
//  - otedama.timer/1 ticks once a second on the control strand: vardiff for silent miners, ban expiry,
//    and the metric flush (counters are kept in atomics on the hot path and pushed as deltas here).
// Configuration and metrics: README.md in this folder.
#include "config.hpp"
#include "server.hpp"

#include <otedama/sdk/transport.hpp>

#include <array>
#include <cstring>
#include <memory>
#include <mutex>

namespace {

namespace sdk = otedama::sdk;
namespace stratum = otedama::stratum;

constexpr size_t kCloseReasons = 9;  // OTD_NET_CLOSED_* / OTD_NET_CONNECT_FAILED are 1..8
const char* close_reason_name(uint32_t reason) noexcept {
  switch (reason) {
    case OTD_NET_CLOSED_BY_PEER: return "by_peer";
    case OTD_NET_CLOSED_BY_PLUGIN: return "by_server";
    case OTD_NET_CLOSED_LINE_TOO_LONG: return "line_too_long";
    case OTD_NET_CLOSED_IDLE: return "idle";
    case OTD_NET_CLOSED_SEND_OVERFLOW: return "send_overflow";
    case OTD_NET_CLOSED_ERROR: return "error";
    case OTD_NET_CLOSED_SHUTDOWN: return "shutdown";
    default: return "other";
  }
}

class StratumServer final : public sdk::Transport<StratumServer>, public stratum::Env {
 public:
  static constexpr uint32_t kRoles = OTD_TRANSPORT_SERVER;
  using Transport::Transport;

  void init() override {
    std::string error;
    auto config = stratum::parse_config(host().config_json(), &error);
    if (!config) throw sdk::Error(OTD_ERR_INVALID_ARG, error);
    config_ = std::move(*config);
  }

  void start() {
    jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
    timers_ = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
    net_ = host().service<otd_net_service_t>(OTD_SERVICE_NET);
    algorithms_ = host().service<otd_algorithms_service_t>(OTD_SERVICE_ALGORITHMS);
    if (jobs_ == nullptr || timers_ == nullptr)
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "stratum-server needs the host's otedama.jobs/1 and otedama.timer/1 services");
    if (!config_.ports.empty() && net_ == nullptr)
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "stratum-server needs the host's otedama.net/1 service to listen (this host has none)");
    // Monero-family ports build each connection's blob with the algorithm plugin's build_blob.
    for (const auto& p : config_.ports) {
      if (p.dialect != stratum::Dialect::monero) continue;
      const otd_plugin_t* plugin = nullptr;
      const otd_algorithm_t* table = nullptr;
      if (algorithms_ == nullptr || algorithms_->find(host().raw(), p.algorithm.c_str(), &plugin, &table) != OTD_OK || table == nullptr)
        throw sdk::Error(OTD_ERR_NOT_FOUND, "stratum-server: port " + p.address + " needs the " + p.algorithm +
                                                " algorithm plugin (through otedama.algorithms/1) to build its miners' blobs");
    }
    {
      std::lock_guard lock(mutex_);
      server_ = std::make_shared<stratum::Server>(config_, *this);
      endpoint_.clear();
      stopped_ = false;
    }
    register_metrics();
    if (config_.ports.empty()) {
      host().info("stratum-server: no ports configured: not listening");
      return;
    }
    contexts_.clear();
    for (size_t i = 0; i < config_.ports.size(); ++i) {
      const stratum::PortConfig& p = config_.ports[i];
      contexts_.push_back(std::make_unique<PortContext>(PortContext{this, i}));
      auto options = sdk::make_struct<otd_net_options_t>();
      options.framing = OTD_NET_FRAMING_LINES;
      options.max_line = config_.max_line;
      options.idle_timeout_ms = static_cast<uint32_t>(std::min<uint64_t>(config_.idle_timeout_ms, UINT32_MAX));
      options.tls = p.tls_cert.empty() ? 0 : 1;
      options.tls_cert_file = p.tls_cert.empty() ? nullptr : p.tls_cert.c_str();
      options.tls_key_file = p.tls_key.empty() ? nullptr : p.tls_key.c_str();
      auto handlers = sdk::make_struct<otd_net_handlers_t>();
      handlers.user = contexts_.back().get();
      handlers.on_open = &StratumServer::h_open;
      handlers.on_data = &StratumServer::h_data;
      handlers.on_close = &StratumServer::h_close;
      otd_net_listener_t* listener = nullptr;
      uint16_t bound = 0;
      char err[OTD_ERROR_CAP] = {};
      const otd_status_t st = net_->listen(host().raw(), p.host.c_str(), p.port, &options, &handlers, &listener, &bound, err, sizeof err);
      if (st != OTD_OK) {
        net_->shutdown(host().raw());
        throw sdk::Error(st, "stratum-server: cannot listen on " + p.address + ": " + err);
      }
      const std::string where = (p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host) + ":" + std::to_string(bound);
      host().logf(OTD_LOG_INFO, "stratum-server: listening on %s (%s dialect, %s%s, difficulty %g%s%s)", where.c_str(),
                  stratum::dialect_name(p.dialect), p.algorithm.c_str(), p.coin.empty() ? "" : (" " + p.coin).c_str(), p.difficulty,
                  p.vardiff.enabled ? ", vardiff" : "", options.tls != 0 ? ", TLS" : "");
      std::lock_guard lock(mutex_);
      if (endpoint_.empty()) endpoint_ = where;
    }
    const otd_status_t st = timers_->start(host().raw(), 1000, 1, &StratumServer::on_timer, this, &timer_);
    if (st != OTD_OK) {
      net_->shutdown(host().raw());
      throw sdk::Error(st, "stratum-server: cannot start its timer");
    }
  }

  void stop() {
    if (timer_ != nullptr) timers_->cancel(host().raw(), timer_);
    timer_ = nullptr;
    // Every handler has returned, and none will run, once shutdown() returns.
    if (net_ != nullptr && !config_.ports.empty()) net_->shutdown(host().raw());
    flush_metrics();
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }

  otd_transport_status_t status() {
    auto s = sdk::make_struct<otd_transport_status_t>();
    std::shared_ptr<stratum::Server> server;
    {
      std::lock_guard lock(mutex_);
      server = server_;
      sdk::copy_field(s.endpoint, endpoint_.empty() ? std::string("stratum (no ports)") : endpoint_);
      s.state = server && !stopped_ ? OTD_STATUS_UP : OTD_STATUS_DOWN;
    }
    if (server) {
      s.connections = server->connections();
      s.submissions = server->submissions();
      sdk::copy_field(s.message, std::to_string(server->counter(stratum::Counter::accepted)) + " shares accepted, " +
                                     std::to_string(server->counter(stratum::Counter::blocks)) + " blocks");
    }
    return s;
  }

  void on_job(const otd_job_t& job) {
    if (auto server = live()) server->on_job(job);
  }
  void on_share_result(const otd_share_result_t& result) {
    if (auto server = live()) server->on_share_result(result);
  }

  // --- stratum::Env --------------------------------------------------------------------------------
  void send(uint64_t conn, std::string_view data) override {
    if (net_ != nullptr) net_->send(host().raw(), conn, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  void send_many(std::span<const uint64_t> conns, std::string_view data) override {
    if (net_ != nullptr)
      net_->send_many(host().raw(), conns.data(), conns.size(), reinterpret_cast<const uint8_t*>(data.data()), data.size(), nullptr);
  }
  void close(uint64_t conn) override {
    if (net_ != nullptr) net_->close(host().raw(), conn, 1);
  }
  otd_status_t submit_candidate(const otd_candidate_t& candidate) override {
    return jobs_ != nullptr ? jobs_->submit_candidate(host().raw(), &candidate) : OTD_ERR_STATE;
  }
  uint64_t now_ms() override { return host().monotonic_ns() / 1000000; }
  bool build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, std::vector<uint8_t>& blob,
                  std::string& error) override {
    const otd_plugin_t* plugin = nullptr;
    const otd_algorithm_t* table = nullptr;
    if (algorithms_ == nullptr || tmpl.algorithm == nullptr ||
        algorithms_->find(host().raw(), tmpl.algorithm, &plugin, &table) != OTD_OK || table == nullptr) {
      error = std::string("no algorithm plugin for ") + (tmpl.algorithm != nullptr ? tmpl.algorithm : "(null)");
      return false;
    }
    char err[OTD_ERROR_CAP] = {};
    uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
    blob.resize(256);
    otd_status_t st = table->build_blob(plugin, &tmpl, extranonce.data(), static_cast<uint32_t>(extranonce.size()), 0, 0, blob.data(),
                                        static_cast<uint32_t>(blob.size()), &size, &nonce_offset, &nonce_size, err, sizeof err);
    if (st == OTD_ERR_BUFFER_TOO_SMALL && size > blob.size() && size <= (1u << 20)) {
      blob.resize(size);
      st = table->build_blob(plugin, &tmpl, extranonce.data(), static_cast<uint32_t>(extranonce.size()), 0, 0, blob.data(),
                             static_cast<uint32_t>(blob.size()), &size, &nonce_offset, &nonce_size, err, sizeof err);
    }
    if (st != OTD_OK || size > blob.size()) {
      error = err[0] != '\0' ? err : "build_blob failed (status " + std::to_string(st) + ")";
      return false;
    }
    blob.resize(size);
    return true;
  }
  void log(otd_log_level_t level, std::string_view message) override { host().log(level, message); }

 private:
  struct PortContext {
    StratumServer* self;
    size_t index;
  };

  std::shared_ptr<stratum::Server> live() {
    std::lock_guard lock(mutex_);
    return stopped_ ? nullptr : server_;
  }

  // The net handlers: [io], noexcept, nothing escapes. server_ is set before listen() and kept past
  // shutdown(), so it is valid in every callback.
  static otd_status_t OTD_CALL h_open(void* user, otd_conn_t conn, uint64_t, const char* peer, const char*) noexcept {
    const auto* ctx = static_cast<PortContext*>(user);
    try {
      const auto refusal = ctx->self->server_->on_open(ctx->index, conn, peer != nullptr ? peer : "");
      return refusal == stratum::Server::Refusal::none ? OTD_OK : OTD_ERR_BUSY;
    } catch (...) {
      return OTD_ERR_NO_MEMORY;
    }
  }
  static void OTD_CALL h_data(void* user, otd_conn_t conn, const uint8_t* data, size_t size) noexcept {
    const auto* ctx = static_cast<PortContext*>(user);
    try {
      ctx->self->server_->on_line(conn, std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (const std::exception& e) {
      ctx->self->host().logf(OTD_LOG_ERROR, "stratum-server: a line of connection %llu failed: %s",
                             static_cast<unsigned long long>(conn), e.what());
    } catch (...) {
    }
  }
  static void OTD_CALL h_close(void* user, otd_conn_t conn, uint32_t reason, const char*) noexcept {
    const auto* ctx = static_cast<PortContext*>(user);
    try {
      ctx->self->server_->on_close(conn);
      ctx->self->closes_[reason < kCloseReasons ? reason : 0].fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
    }
  }
  static void OTD_CALL on_timer(void* user) noexcept {
    auto* self = static_cast<StratumServer*>(user);
    try {
      if (auto server = self->live()) server->tick();
      self->flush_metrics();
    } catch (const std::exception& e) {
      self->host().logf(OTD_LOG_ERROR, "stratum-server: periodic work failed: %s", e.what());
    } catch (...) {
    }
  }

  // --- metrics ---------------------------------------------------------------------------------------
  uint32_t reg(otd_metric_type_t type, const char* name, const char* help, const char* label) {
    const char* labels[1] = {label};  // the label's name; the array only needs to live during the call
    auto d = sdk::make_struct<otd_metric_desc_t>();
    d.type = type;
    d.name = name;
    d.help = help;
    d.unit = "";
    d.label_count = label != nullptr ? 1 : 0;
    d.label_names = label != nullptr ? labels : nullptr;
    uint32_t id = 0;
    if (host().raw()->metric_register == nullptr || host().raw()->metric_register(host().raw(), &d, &id) != OTD_OK) return 0;
    return id;
  }
  void register_metrics() {
    m_submissions_ = reg(OTD_METRIC_COUNTER, "stratum_submissions_total", "Miner submissions by outcome", "result");
    m_refused_ = reg(OTD_METRIC_COUNTER, "stratum_connections_refused_total", "Connections refused in on_open", "reason");
    m_disconnects_ = reg(OTD_METRIC_COUNTER, "stratum_disconnects_total", "Connections closed, by reason", "reason");
    m_events_ = reg(OTD_METRIC_COUNTER, "stratum_events_total", "Protocol events (malformed lines, unknown methods, bans ...)", "event");
    m_connections_ = reg(OTD_METRIC_GAUGE, "stratum_connections", "Open miner connections", nullptr);
    flushed_.fill(0);
    closes_flushed_.fill(0);
  }
  void update(uint32_t id, const char* label, double value) {
    if (id == 0 || host().raw()->metric_update == nullptr) return;
    const char* labels[1] = {label};
    host().raw()->metric_update(host().raw(), id, label != nullptr ? labels : nullptr, value);
  }
  void flush_metrics() {
    std::shared_ptr<stratum::Server> server;
    {
      std::lock_guard lock(mutex_);
      server = server_;
    }
    if (!server) return;
    using C = stratum::Counter;
    for (size_t i = 0; i < stratum::kCounterCount; ++i) {
      const auto c = static_cast<C>(i);
      const uint64_t now = server->counter(c);
      const uint64_t delta = now - flushed_[i];
      if (delta == 0) continue;
      flushed_[i] = now;
      uint32_t metric = m_events_;
      if (c <= C::internal_error) metric = m_submissions_;
      if (c == C::refused_max_connections || c == C::refused_per_ip || c == C::refused_banned) metric = m_refused_;
      update(metric, stratum::counter_name(c), static_cast<double>(delta));
    }
    for (size_t r = 0; r < kCloseReasons; ++r) {
      const uint64_t now = closes_[r].load(std::memory_order_relaxed);
      if (now == closes_flushed_[r]) continue;
      update(m_disconnects_, close_reason_name(static_cast<uint32_t>(r)), static_cast<double>(now - closes_flushed_[r]));
      closes_flushed_[r] = now;
    }
    update(m_connections_, nullptr, static_cast<double>(server->connections()));
  }

  stratum::ServerConfig config_;
  const otd_jobs_service_t* jobs_ = nullptr;
  const otd_timer_service_t* timers_ = nullptr;
  const otd_net_service_t* net_ = nullptr;
  const otd_algorithms_service_t* algorithms_ = nullptr;
  otd_timer_t* timer_ = nullptr;
  std::vector<std::unique_ptr<PortContext>> contexts_;
  std::mutex mutex_;
  std::shared_ptr<stratum::Server> server_;  // replaced only in start(), before any listener exists
  std::string endpoint_;
  bool stopped_ = true;
  uint32_t m_submissions_ = 0, m_refused_ = 0, m_disconnects_ = 0, m_events_ = 0, m_connections_ = 0;
  std::array<uint64_t, stratum::kCounterCount> flushed_{};
  std::array<std::atomic<uint64_t>, kCloseReasons> closes_{};
  std::array<uint64_t, kCloseReasons> closes_flushed_{};
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_TRANSPORT, "org.otedama.transport.stratum-server", "stratum-server", "0.1.0", "Otedama",
    "Stratum v1 pool server for outside miners (Bitcoin dialect: cgminer, bfgminer, cpuminer, NiceHash; Monero dialect: xmrig; Ethereum dialect: ethminer, kawpowminer)", "",
    OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<StratumServer>(kDescriptor));
