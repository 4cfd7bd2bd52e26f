#include "host/host.hpp"
#include "host/ledger.hpp"

#include "api/api_server.hpp"

#include "log/log.hpp"
#include "monitoring/monitoring.hpp"
#include "scheduler/scheduler.hpp"
#include "services/memory.hpp"
#include "services/net.hpp"
#include "services/serial.hpp"
#include "services/usb.hpp"
#include "storage/committer.hpp"
#include "storage/storage.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>

#ifndef OTEDAMA_VERSION
#define OTEDAMA_VERSION "0.0.0"
#endif

namespace otedama::host {

/// Per-plugin state behind otd_host_t::host_data.
struct Host::PluginContext {
  otd_host_t table{};
  Host* host = nullptr;
  std::string plugin_id;
  std::string base_id;                  ///< the plugin's own id: plugin_id without an instance's "@<coin>"
  const config::Config* cfg = nullptr;  ///< the coin's effective configuration for "<id>@<coin>", else the host's
};

/// A timer of the otedama.timer service, run on the control strand.
struct Host::Timer {
  boost::asio::steady_timer timer;
  std::chrono::milliseconds interval;
  bool repeat;
  otd_timer_fn fn;
  void* user;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  Timer(boost::asio::strand<boost::asio::io_context::executor_type>& s, std::chrono::milliseconds i, bool r, otd_timer_fn f, void* u)
      : timer(s), interval(i), repeat(r), fn(f), user(u) {}
};

namespace {

/// Host services are C entry points: nothing may unwind out of them into a plugin's frames.
template <class Fn>
auto contain(const char* what, Fn&& fn, decltype(fn()) on_error) noexcept -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    log::get("host")->error("host service {} failed: {}", what, e.what());
  } catch (...) {
    log::get("host")->error("host service {} failed", what);
  }
  return on_error;
}

Host::PluginContext* ctx_of(const otd_host_t* h) {
  return h != nullptr ? static_cast<Host::PluginContext*>(h->host_data) : nullptr;
}

uint64_t mono_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// --- core table -------------------------------------------------------------------------------------------
void OTD_CALL h_log(const otd_host_t* h, otd_log_level_t level, const char* msg) {
  auto* c = ctx_of(h);
  if (c == nullptr || msg == nullptr) return;
  // plugin_message is noexcept; strnlen bounds a message without a terminator.
  log::plugin_message(c->plugin_id, static_cast<int>(std::min<otd_log_level_t>(level, OTD_LOG_ERROR)),
                      std::string_view(msg, strnlen(msg, log::max_plugin_message + 1)));
}
otd_status_t OTD_CALL h_post_event(const otd_host_t* h, const otd_event_header_t* ev) {
  return contain("post_event", [&]() -> otd_status_t {
  auto* c = ctx_of(h);
  if (c == nullptr) return OTD_ERR_INVALID_ARG;
  std::string why;
  switch (c->host->events().post(ev, c->plugin_id, mono_ns(), &why)) {
    case router::EventBus::PostResult::ok: return OTD_OK;
    case router::EventBus::PostResult::full: return OTD_ERR_BUSY;
    case router::EventBus::PostResult::invalid:
      log::get("router")->warn("{} posted a malformed event: {}", c->plugin_id, why);
      return OTD_ERR_INVALID_ARG;
  }
  return OTD_ERR_GENERIC;
  }, OTD_ERR_GENERIC);
}
/// The stratum server's settings: the main schema's pool.* mapped onto its keys (one port on pool.address
/// for mining.algorithm, pool.max_connections; pool.enable false = no port), with anything under
/// plugins.settings.org.otedama.transport.stratum-server taking precedence key by key (its own `ports`
/// list replaces the mapped one: how an operator runs several ports and dialects).
std::string dialect_of(const std::string& algo) {
  return algo == "randomx" ? "monero" : algo == "ethash" || algo == "etchash" || algo == "kawpow" ? "ethereum" : "bitcoin";
}

/// Several coins (pool.coins): one port per coin, on the coin's pool.address, for the coin's algorithm, taking
/// only the coin's jobs (`coin`), checking miners' addresses against its address_network.
std::string stratum_server_config_json(const config::Config& cfg, const std::vector<config::CoinConfig>& coins) {
  config::Value v = config::Value::object();
  config::Value ports = config::Value::array();
  if (cfg.pool.enable && coins.empty()) {
    const std::string& algo = cfg.mining.algorithm;
    config::Value port = config::Value::object();
    port["address"] = cfg.pool.address.to_string();
    port["dialect"] = dialect_of(algo);
    port["algorithm"] = algo;
    std::get<config::Value::Array>(ports.storage()).push_back(std::move(port));
  }
  if (cfg.pool.enable) {
    for (const auto& coin : coins) {
      config::Value port = config::Value::object();
      port["address"] = coin.config.pool.address.to_string();
      port["dialect"] = dialect_of(coin.algorithm);
      port["algorithm"] = coin.algorithm;
      port["coin"] = coin.coin;
      if (!coin.address_network.empty()) port["address_network"] = coin.address_network;
      if (coin.stratum.is_object())
        for (const auto& [key, value] : std::get<config::Value::Object>(coin.stratum.storage())) port[key] = value;
      std::get<config::Value::Array>(ports.storage()).push_back(std::move(port));
    }
  }
  v["ports"] = std::move(ports);
  v["max_connections"] = cfg.pool.max_connections;
  if (const config::Value* settings = cfg.plugins.settings.find("org.otedama.transport.stratum-server"); settings != nullptr && settings->is_object()) {
    for (const auto& [key, value] : std::get<config::Value::Object>(settings->storage())) v[key] = value;
  }
  return config::to_json(v);
}

/// A coin-node job source's settings (org.otedama.transport.monerod, .bitcoind, .ethnode): the main schema's
/// `node` section (daemons, payout_address, coin, poll_interval, reserve_size; for ethnode also the mined
/// algorithm when it is ethash or etchash), with anything under plugins.settings.<its id> taking precedence
/// key by key.
std::string node_source_config_json(const config::Config& cfg, const std::string& plugin_id) {
  const config::Value root = config::to_value(cfg);
  const config::Value* node = root.find("node");
  config::Value v = node != nullptr && node->is_object() ? *node : config::Value::object();
  if (plugin_id == "org.otedama.transport.ethnode" && (cfg.mining.algorithm == "ethash" || cfg.mining.algorithm == "etchash"))
    v["algorithm"] = cfg.mining.algorithm;
  if (const config::Value* settings = cfg.plugins.settings.find(plugin_id); settings != nullptr && settings->is_object()) {
    for (const auto& [key, value] : std::get<config::Value::Object>(settings->storage())) v[key] = value;
  }
  return config::to_json(v);
}

otd_status_t OTD_CALL h_get_config(const otd_host_t* h, char* buf, size_t cap, size_t* needed) {
  return contain("get_config", [&]() -> otd_status_t {
  auto* c = ctx_of(h);
  if (c == nullptr) return OTD_ERR_INVALID_ARG;
  // An instance of one coin ("<id>@<coin>", pool.coins) reads the coin's effective configuration.
  const config::Config& cfg = c->cfg != nullptr ? *c->cfg : c->host->config();
  const std::string& id = c->base_id;
  // Built-in plugins read their part of the main schema; everyone else reads plugins.settings.<id>.
  std::string json;
  if (id == "org.otedama.transport.devnet") {
    json = cfg.subtree_json("devnet").value_or("{}");
  } else if (id == "org.otedama.transport.stratum-client") {
    // Miner mode: the `miner` section, and the algorithm the pools' jobs are mined with.
    json = cfg.subtree_json("miner").value_or("{}");
    json.insert(1, "\"algorithm\":" + config::to_json(config::Value(cfg.mining.algorithm)) + (json.size() > 2 ? "," : ""));
  } else if (id == "org.otedama.transport.stratum-server") {
    json = stratum_server_config_json(cfg, c->host->coins());
  } else if (id == "org.otedama.transport.monerod" || id == "org.otedama.transport.bitcoind" || id == "org.otedama.transport.ethnode") {
    json = node_source_config_json(cfg, id);
  } else if (id == "org.otedama.payout.pplns") {
    json = "{\"window\":\"" + std::to_string(cfg.pool.rewards.window.count() / 1000) + "s\"}";
  } else {
    // plugins.settings.<id>@<coin> for one coin's instance, else plugins.settings.<id>.
    const config::Value* own = c->plugin_id != id ? cfg.plugins.settings.find(c->plugin_id) : nullptr;
    json = own != nullptr ? cfg.plugin_settings_json(c->plugin_id) : cfg.plugin_settings_json(id);
  }
  if (needed != nullptr) *needed = json.size() + 1;
  if (buf == nullptr || cap < json.size() + 1) return OTD_ERR_BUFFER_TOO_SMALL;
  std::memcpy(buf, json.c_str(), json.size() + 1);
  return OTD_OK;
  }, OTD_ERR_GENERIC);
}
uint64_t OTD_CALL h_monotonic_ns(const otd_host_t*) { return mono_ns(); }
int64_t OTD_CALL h_wall_time_ms(const otd_host_t*) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
otd_status_t OTD_CALL h_metric_register(const otd_host_t* h, const otd_metric_desc_t* desc, uint32_t* id) {
  return contain("metric_register", [&]() -> otd_status_t {
  auto* c = ctx_of(h);
  if (c == nullptr || id == nullptr) return OTD_ERR_INVALID_ARG;
  std::string why;
  auto r = c->host->metrics().add_plugin(c->plugin_id, desc, &why);
  if (!r) {
    log::get("router")->warn("{}: metric registration refused: {}", c->plugin_id, why);
    return OTD_ERR_INVALID_ARG;
  }
  *id = *r;
  return OTD_OK;
  }, OTD_ERR_GENERIC);
}
void OTD_CALL h_metric_update(const otd_host_t* h, uint32_t id, const char* const* labels, double value) {
  contain("metric_update", [&]() -> int {
    auto* c = ctx_of(h);
    if (c != nullptr) c->host->metrics().update_plugin(id, c->plugin_id, labels, value);
    return 0;
  }, 0);
}

// --- otedama.jobs/1 ------------------------------------------------------------------------------------------
otd_status_t OTD_CALL h_submit_template(const otd_host_t* h, const otd_template_t* t, uint64_t* job_id, char* err, size_t cap) {
  return contain("submit_template", [&]() -> otd_status_t {
  auto* c = ctx_of(h);
  if (c == nullptr || c->host->scheduler() == nullptr) return OTD_ERR_STATE;
  // Only transports are job sources: a block found on the job goes back through the source's table.
  const auto* rec = c->host->plugins().find(c->plugin_id);
  if (rec == nullptr || rec->kind != OTD_KIND_TRANSPORT ||
      (static_cast<const otd_transport_t*>(rec->table)->roles & OTD_TRANSPORT_JOB_SOURCE) == 0U) {
    if (err != nullptr && cap > 0) std::snprintf(err, cap, "only a loaded transport with the job-source role may post templates");
    return OTD_ERR_STATE;
  }
  std::string why;
  const otd_status_t st = c->host->scheduler()->submit_template(c->plugin_id, t, job_id, &why);
  if (st == OTD_OK && t != nullptr && t->coin != nullptr && (t->flags & OTD_TEMPLATE_WITHDRAW) == 0U)
    c->host->note_template(c->plugin_id, t->coin, static_cast<int64_t>(t->height));
  if (st != OTD_OK) {
    if (err != nullptr && cap > 0) {
      std::strncpy(err, why.c_str(), cap - 1);
      err[cap - 1] = '\0';
    }
    log::get("scheduler")->warn("{}: template refused: {}", c->plugin_id, why);
  }
  return st;
  }, OTD_ERR_GENERIC);
}
otd_status_t OTD_CALL h_submit_candidate(const otd_host_t* h, const otd_candidate_t* cand) {
  return contain("submit_candidate", [&]() -> otd_status_t {
    auto* c = ctx_of(h);
    if (c == nullptr || c->host->scheduler() == nullptr) return OTD_ERR_STATE;
    return c->host->scheduler()->submit_candidate(c->plugin_id, cand);
  }, OTD_ERR_GENERIC);
}
constexpr otd_jobs_service_t kJobs{sizeof(otd_jobs_service_t), &h_submit_template, &h_submit_candidate};

// --- otedama.timer/1 -----------------------------------------------------------------------------------------
void arm(Host::Timer* t);
void arm(Host::Timer* t) {
  t->timer.expires_after(t->interval);
  std::weak_ptr<bool> alive = t->alive;
  t->timer.async_wait([t, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    t->fn(t->user);
    if (!alive.expired() && t->repeat) arm(t);
  });
}
otd_status_t OTD_CALL h_timer_start(const otd_host_t* h, uint32_t interval_ms, uint32_t repeat, otd_timer_fn fn, void* user, otd_timer_t** out) {
  return contain("timer start", [&]() -> otd_status_t {
  auto* c = ctx_of(h);
  if (c == nullptr || fn == nullptr || out == nullptr || interval_ms == 0) return OTD_ERR_INVALID_ARG;
  auto* t = new Host::Timer(c->host->control(), std::chrono::milliseconds(interval_ms), repeat != 0, fn, user);
  // Armed on the strand; a cancel that comes first leaves `alive` expired and the timer never arms.
  boost::asio::post(c->host->control(), [t, alive = std::weak_ptr<bool>(t->alive)] {
    if (!alive.expired()) arm(t);
  });
  *out = reinterpret_cast<otd_timer_t*>(t);
  return OTD_OK;
  }, OTD_ERR_NO_MEMORY);
}
void OTD_CALL h_timer_cancel(const otd_host_t*, otd_timer_t* timer) {
  auto* t = reinterpret_cast<Host::Timer*>(timer);
  if (t == nullptr) return;
  // [control]: no handler of this timer runs concurrently. A wait still queued sees `alive` expired (or
  // operation_aborted) and never touches `t`, so it can go now; deferring the delete to the strand would
  // leak it when the host stops the I/O context first.
  t->alive.reset();
  t->timer.cancel();
  delete t;
}
constexpr otd_timer_service_t kTimer{sizeof(otd_timer_service_t), &h_timer_start, &h_timer_cancel};

// --- otedama.algorithms/1 ------------------------------------------------------------------------------------
otd_status_t OTD_CALL h_find_algorithm(const otd_host_t* h, const char* name, const otd_plugin_t** plugin, const otd_algorithm_t** table) {
  return contain("find_algorithm", [&]() -> otd_status_t {
    auto* c = ctx_of(h);
    if (c == nullptr || name == nullptr || plugin == nullptr || table == nullptr) return OTD_ERR_INVALID_ARG;
    const auto* rec = c->host->plugins().find_algorithm(name);
    if (rec == nullptr) return OTD_ERR_NOT_FOUND;
    *plugin = rec->instance;
    *table = static_cast<const otd_algorithm_t*>(rec->table);
    return OTD_OK;
  }, OTD_ERR_GENERIC);
}
constexpr otd_algorithms_service_t kAlgorithms{sizeof(otd_algorithms_service_t), &h_find_algorithm};

const void* OTD_CALL h_get_service(const otd_host_t* h, const char* id) {
  if (ctx_of(h) == nullptr || id == nullptr) return nullptr;
  const std::string_view s(id);
  if (s == OTD_SERVICE_JOBS) return &kJobs;
  if (s == OTD_SERVICE_TIMER) return &kTimer;
  if (s == OTD_SERVICE_SERIAL) return services::serial_service();
  if (s == OTD_SERVICE_USB) return services::usb_service();
  if (s == OTD_SERVICE_MEMORY) return services::memory_service();
  if (s == OTD_SERVICE_ALGORITHMS) return &kAlgorithms;
  if (s == OTD_SERVICE_NET) return services::NetService::table();
  return nullptr;
}

services::NetService::Options net_options(const config::Config& config) {
  services::NetService::Options o;
  o.io_threads = static_cast<unsigned>(config.net.io_threads);
  o.log = [](otd_log_level_t level, const std::string& message) {
    auto logger = log::get("net");
    if (level >= OTD_LOG_ERROR) {
      logger->error("{}", message);
    } else if (level == OTD_LOG_WARN) {
      logger->warn("{}", message);
    } else {
      logger->info("{}", message);
    }
  };
  return o;
}

}  // namespace

Host::Host(config::Config config)
    : config_(std::move(config)),
      coins_(config::coin_configs(config_)),
      control_(boost::asio::make_strand(io_)),
      net_(std::make_unique<services::NetService>(net_options(config_))) {}

void Host::note_template(const std::string& source_id, const std::string& coin, int64_t height) {
  std::lock_guard lock(tips_mutex_);
  tips_[source_id] = {coin, height};
}

std::optional<std::pair<std::string, int64_t>> Host::tip_of(const std::string& source_id) const {
  std::lock_guard lock(tips_mutex_);
  const auto it = tips_.find(source_id);
  if (it == tips_.end()) return std::nullopt;
  return it->second;
}

Host::~Host() {
  if (api_) api_->stop();
  // Plugins first (they may still call services while they stop), then what they used. The network
  // service stops before the plugins go, so no [io] callback reaches a plugin being destroyed.
  if (scheduler_) scheduler_->stop();
  if (net_) net_->stop();
  loader_.reset();
  scheduler_.reset();
  events_.stop();
  net_.reset();  // before the host tables it was given (contexts_) go
}

const otd_host_t* Host::host_table(std::string_view plugin_id, uint32_t abi_minor) {
  auto ctx = std::make_unique<PluginContext>();
  ctx->host = this;
  ctx->plugin_id = std::string(plugin_id);
  ctx->base_id = ctx->plugin_id;
  ctx->cfg = &config_;
  if (const auto at = plugin_id.find('@'); at != std::string_view::npos) {
    ctx->base_id = std::string(plugin_id.substr(0, at));
    for (const auto& coin : coins_)
      if (coin.coin == plugin_id.substr(at + 1)) ctx->cfg = &coin.config;
  }
  otd_host_t& t = ctx->table;
  t.struct_size = sizeof(otd_host_t);
  t.abi_major = OTD_ABI_MAJOR;
  t.abi_minor = abi_minor;
  t.host_data = ctx.get();
  t.host_name = kHostName;
  t.host_version = OTEDAMA_VERSION;
  t.log = &h_log;
  t.post_event = &h_post_event;
  t.get_config = &h_get_config;
  t.monotonic_ns = &h_monotonic_ns;
  t.wall_time_ms = &h_wall_time_ms;
  t.metric_register = &h_metric_register;
  t.metric_update = &h_metric_update;
  t.get_service = &h_get_service;
  net_->attach(&ctx->table, ctx->plugin_id);
  std::lock_guard lock(contexts_mutex_);
  contexts_.push_back(std::move(ctx));
  return &contexts_.back()->table;
}

void Host::shutdown_net_of(std::string_view plugin_id) {
  std::vector<const otd_host_t*> tables;
  {
    std::lock_guard lock(contexts_mutex_);
    for (const auto& c : contexts_)
      if (c->plugin_id == plugin_id) tables.push_back(&c->table);
  }
  for (const otd_host_t* t : tables) net_->shutdown(t);
}

void Host::publish_net_metrics() {
  using D = router::Metrics::Desc;
  enum { kOpen, kAccepted, kClosed, kAcceptErrors, kReceived, kSent };
  if (!net_metrics_registered_) {
    net_metrics_[kOpen] = *metrics_.add(D{OTD_METRIC_GAUGE, "otedama_net_connections", "Network connections open or being opened", {"plugin"}, {}});
    net_metrics_[kAccepted] = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_net_accepted_total", "Connections accepted by listeners", {"plugin"}, {}});
    net_metrics_[kClosed] = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_net_closed_total", "Connections closed, by reason", {"plugin", "reason"}, {}});
    net_metrics_[kAcceptErrors] = *metrics_.add(
        D{OTD_METRIC_COUNTER, "otedama_net_accept_errors_total", "accept() failures (out of descriptors or memory) that paused a listener", {"plugin"}, {}});
    net_metrics_[kReceived] = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_net_received_bytes_total", "Bytes received on network connections", {}, {}});
    net_metrics_[kSent] = *metrics_.add(D{OTD_METRIC_COUNTER, "otedama_net_sent_bytes_total", "Bytes sent on network connections", {}, {}});
    net_metrics_registered_ = true;
  }
  const auto d = net_->take_deltas();
  for (const auto& p : d.plugins) {
    metrics_.update(net_metrics_[kOpen], {p.plugin}, static_cast<double>(p.open));
    if (p.accepted != 0) metrics_.update(net_metrics_[kAccepted], {p.plugin}, static_cast<double>(p.accepted));
    if (p.accept_errors != 0) metrics_.update(net_metrics_[kAcceptErrors], {p.plugin}, static_cast<double>(p.accept_errors));
    for (uint32_t slot = 1; slot < services::NetService::kReasonSlots; ++slot)
      if (p.closed[slot] != 0)
        metrics_.update(net_metrics_[kClosed], {p.plugin, services::NetService::reason_name(slot)}, static_cast<double>(p.closed[slot]));
  }
  if (d.bytes_received != 0) metrics_.update(net_metrics_[kReceived], {}, static_cast<double>(d.bytes_received));
  if (d.bytes_sent != 0) metrics_.update(net_metrics_[kSent], {}, static_cast<double>(d.bytes_sent));
}

void Host::load_plugins(bool self_tests, bool conformance_fixtures) {
  loader::Options opts;
  opts.disabled_ids = config_.plugins.disable;
  opts.run_self_tests = self_tests;
  // pool.coins: each coin gets its own instance of its job source and of its payout scheme ("<id>@<coin>").
  if (!coins_.empty()) {
    opts.extra_instances = [this](const loader::PluginRecord& rec) {
      std::vector<std::string> suffixes;
      for (const auto& coin : coins_) {
        if (rec.kind == OTD_KIND_TRANSPORT && rec.name == coin.config.pool.source &&
            (rec.table == nullptr || (static_cast<const otd_transport_t*>(rec.table)->roles & OTD_TRANSPORT_JOB_SOURCE) != 0U))
          suffixes.push_back(coin.coin);
        if (rec.kind == OTD_KIND_PAYOUT && rec.table != nullptr) {
          const auto* t = static_cast<const otd_payout_t*>(rec.table);
          if (t->scheme != nullptr && config::to_string(coin.config.pool.rewards.system) == t->scheme) suffixes.push_back(coin.coin);
        }
      }
      return suffixes;
    };
  }
  loader_ = std::make_unique<loader::Loader>([this](std::string_view id, uint32_t minor) { return host_table(id, minor); }, opts);
  for (const auto& dir : loader::Loader::search_path(config_.plugins.dirs, conformance_fixtures)) loader_->load_directory(dir);
}

int Host::serve(const std::atomic<bool>& stop, std::chrono::milliseconds run_for) {
  auto logger = log::get("host");
  if (!loader_) load_plugins(true, /*conformance_fixtures=*/false);

  // Storage: every accepted share is committed before it is acknowledged.
  try {
    storage_ = std::make_unique<storage::Storage>(storage::Storage::open(config_.storage.path));
  } catch (const std::exception& e) {
    logger->error("storage: cannot open '{}': {}", config_.storage.path, e.what());
    return 3;
  }
  storage_->audit("host", "start", std::string(kHostName) + " " + OTEDAMA_VERSION);
  // Group commit: accepted shares are written a batch per transaction, and each is acknowledged only once
  // its batch is durable; while the database cannot take them they go to "<storage.path>.spill" (replayed
  // here at start-up and as soon as the database is back). An in-memory ledger commits share by share.
  if (config_.storage.path != ":memory:" && !config_.storage.path.empty()) {
    try {
      storage::CommitterOptions co;
      co.spill_path = config_.storage.path + ".spill";
      co.on_commit = monitoring::storage_commit_observer(metrics_);
      committer_ = std::make_unique<storage::ShareCommitter>(*storage_, co);
    } catch (const std::exception& e) {
      logger->error("storage: cannot start the share committer: {}", e.what());
      return 3;
    }
  }

  // pool.coins: each coin's job source is its own instance "<source id>@<coin>"; one ledger keeper per coin.
  std::vector<std::string> coin_sources;
  for (const auto& coin : coins_) {
    std::string id;
    for (const auto* rec : loader_->loaded(OTD_KIND_TRANSPORT))
      if (rec->name == coin.config.pool.source && rec->id.size() > coin.coin.size() + 1 && rec->id.ends_with("@" + coin.coin)) id = rec->id;
    if (id.empty()) {
      logger->error("pool.coins: {} has no job source: pool.source is '{}' and no loaded transport with that name has an instance for it",
                    coin.coin, coin.config.pool.source);
      return 4;
    }
    coin_sources.push_back(id);
  }
  if (coins_.empty()) {
    ledger_ = std::make_unique<LedgerKeeper>(*storage_, *loader_, config_, &metrics_);
  } else {
    for (const auto& coin : coins_) coin_ledgers_.push_back(std::make_unique<LedgerKeeper>(*storage_, *loader_, coin.config, &metrics_, coin.coin));
  }

  scheduler::Options so;
  so.mining_algorithm = config_.mining.algorithm;
  // Several coins: local devices mine the first coin of mining.algorithm.
  for (size_t i = 0; i < coins_.size() && so.mining_source.empty(); ++i)
    if (coins_[i].algorithm == config_.mining.algorithm) so.mining_source = coin_sources[i];
  if (!coins_.empty() && so.mining_source.empty() && (config_.mining.enable_cpu || config_.mining.enable_gpu || config_.mining.enable_asic))
    logger->warn("pool.coins: no coin mines mining.algorithm {}: local devices have no work", config_.mining.algorithm);
  so.enable_cpu = config_.mining.enable_cpu;
  so.enable_gpu = config_.mining.enable_gpu;
  so.enable_asic = config_.mining.enable_asic;
  so.light_mining = config_.mining.dataset == config::DatasetMode::light;
  so.full_verification = config_.pool.verify_dataset == config::DatasetMode::full;
  so.cpu_limits.struct_size = sizeof(otd_device_limits_t);
  so.cpu_limits.lanes = static_cast<uint32_t>(config_.mining.cpu.threads);
  so.cpu_limits.priority = static_cast<int32_t>(config_.mining.cpu.priority);
  so.cpu_limits.flags = (config_.mining.cpu.affinity ? OTD_LIMIT_PIN_THREADS : 0U) | (config_.mining.cpu.huge_pages ? OTD_LIMIT_HUGE_PAGES : 0U);
  so.gpu_limits.struct_size = sizeof(otd_device_limits_t);
  so.gpu_limits.intensity = static_cast<uint32_t>(config_.mining.gpu.intensity);
  so.gpu_limits.temperature_limit_c = static_cast<uint32_t>(config_.mining.gpu.temperature_limit);
  so.asic_limits.struct_size = sizeof(otd_device_limits_t);
  for (auto d : config_.mining.gpu.devices) so.gpu_devices.push_back(static_cast<int>(d));
  so.gpu_backends = config_.mining.gpu.backends;
  if (config_.app.mode == config::Mode::miner) {
    // Local shares go to the upstream pool, which wants its own difficulty (checked by the transport):
    // look for shares at miner.share_difficulty, or at about one a second.
    so.local_share_difficulty = config_.miner.share_difficulty;
    if (!(so.local_share_difficulty > 0)) so.local_share_rate = 1.0;
  }
  scheduler::Sinks sinks;
  sinks.store_share = [this, logger](const scheduler::ShareRecord& s, scheduler::Sinks::Stored stored) {
    storage::ShareRecord r;
    r.created_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    r.coin = s.job->tmpl->coin;
    r.algorithm = s.job->tmpl->algorithm;
    r.job_id = static_cast<int64_t>(s.job->id);
    r.worker = s.worker;
    r.account = s.account;
    r.difficulty = s.difficulty;
    r.share_difficulty = s.share_difficulty;
    r.is_block = s.is_block;
    r.hash.assign(s.hash.begin(), s.hash.end());
    r.network_difficulty = s.job->network_difficulty;
    r.block_reward = static_cast<int64_t>(std::min<uint64_t>(s.job->tmpl->c.reward, INT64_MAX));
    r.tx_fees = static_cast<int64_t>(std::min<uint64_t>(s.job->tmpl->c.tx_fees, s.job->tmpl->c.reward));
    if (committer_) {
      committer_->submit(std::move(r), std::move(stored));
      return;
    }
    bool ok = false;
    try {
      storage_->record_share(r);
      ok = true;
    } catch (const std::exception& e) {
      logger->error("storage: share not recorded: {}", e.what());
    }
    stored(ok);
  };
  sinks.block_found = [this, logger](const scheduler::ShareRecord& s, const otd_block_t&) {
    storage::BlockRecord b;
    b.coin = s.job->tmpl->coin;
    b.height = static_cast<int64_t>(s.job->tmpl->c.height);
    b.hash.assign(s.hash.begin(), s.hash.end());
    b.reward = static_cast<int64_t>(std::min<uint64_t>(s.job->tmpl->c.reward, INT64_MAX));
    b.finder = s.worker;
    b.tx_fees = static_cast<int64_t>(std::min<uint64_t>(s.job->tmpl->c.tx_fees, s.job->tmpl->c.reward));
    b.network_weight = storage::weight_of(s.job->network_difficulty);
    b.found_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    try {
      storage_->record_block(b);
    } catch (const std::exception& e) {
      logger->error("storage: block not recorded: {}", e.what());
    }
  };
  scheduler_ = std::make_unique<scheduler::Scheduler>(*loader_, events_, metrics_, control_, so, std::move(sinks));
  events_.subscribe([this](const router::Event& e) {
    if (const auto* b = e.as<otd_event_block_t>(OTD_EVENT_BLOCK)) {
      log::get("router")->info("block event from {}: {} height {} state {}", e.header().source, b->coin, b->height, b->state);
      // The chain source says a block of ours is out of the chain: the ledger never credits it.
      if (b->state == OTD_BLOCK_ORPHANED || b->state == OTD_BLOCK_REJECTED) {
        if (ledger_) ledger_->block_lost({b->hash, b->hash + OTD_HASH_SIZE});
        for (const auto& l : coin_ledgers_)
          if (l->coin() == b->coin) l->block_lost({b->hash, b->hash + OTD_HASH_SIZE});
      }
    }
  });
  // The admin API counts shares and pushes events from the bus: subscribed before the bus starts.
  if (config_.api.enable) {
    api::Sources as;
    as.config = &config_;
    as.metrics = &metrics_;
    as.loader = loader_.get();
    as.scheduler = scheduler_.get();
    as.storage = storage_.get();
    as.version = OTEDAMA_VERSION;
    as.stratum_listening = [net = net_.get()] { return net->listening("org.otedama.transport.stratum-server"); };
    as.coin_height = [this, coin_sources](const std::string& coin) -> uint64_t {
      for (size_t i = 0; i < coins_.size() && i < coin_sources.size(); ++i) {
        if (coins_[i].coin != coin) continue;
        const auto tip = tip_of(coin_sources[i]);
        return tip && tip->second > 0 ? static_cast<uint64_t>(tip->second) : 0;
      }
      return 0;
    };
    api_ = std::make_unique<api::ApiServer>(std::move(as));
    events_.subscribe([api = api_.get()](const router::Event& e) { api->on_event(e); });
  }
  // Monitoring (core/monitoring, docs/monitoring.md): /metrics and /livez, /readyz, up before the job source
  // starts so that /readyz answers 503 until it has work; stopped first below. A port that cannot be bound
  // is logged naming the address, and the host goes on without that server.
  {
    std::string source_id;
    for (const auto* rec : loader_->loaded(OTD_KIND_TRANSPORT))
      if (rec->name == config_.pool.source) source_id = rec->id;
    if (!coin_sources.empty()) source_id = coin_sources.front();
    monitoring::HealthChecks checks;
    checks.control_answers = [this](std::chrono::milliseconds bound) {
      auto ran = std::make_shared<std::promise<void>>();
      auto done = ran->get_future();
      boost::asio::post(control_, [ran] { ran->set_value(); });
      return done.wait_for(bound) == std::future_status::ready;
    };
    checks.source_has_work = [this] { return scheduler_->has_live_job(); };
    checks.storage_writable = [this] { return storage_->writable(std::chrono::milliseconds(500)); };
    monitoring_ = std::make_unique<monitoring::Monitoring>(config_.monitoring, metrics_, events_, source_id, std::move(checks));
  }
  events_.start();

  // Transports: the configured job source must start; others are best effort.
  auto guard = boost::asio::make_work_guard(io_);
  std::vector<std::thread> io_threads;
  // A handler that throws (a plugin call on the strand that let an exception out) is logged and the
  // thread goes on running the context: one bad call must not take the host down.
  for (int i = 0; i < 2; ++i)
    io_threads.emplace_back([this] {
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {
          log::get("host")->error("a handler on the I/O context failed: {}", e.what());
        } catch (...) {
          log::get("host")->error("a handler on the I/O context failed with a non-standard exception");
        }
      }
    });
  // The network service's own loops (net.io_threads), running before any transport starts.
  net_->start();
  publish_net_metrics();
  int rc = 0;
  std::vector<const loader::PluginRecord*> started;
  std::promise<int> start_result;
  boost::asio::post(control_, [&] {
    try {
    int code = 0;
    bool have_source = false;
    for (const auto* rec : loader_->loaded(OTD_KIND_TRANSPORT)) {
      const auto* t = static_cast<const otd_transport_t*>(rec->table);
      const bool is_source = (t->roles & OTD_TRANSPORT_JOB_SOURCE) != 0U;
      if (is_source && coins_.empty() && rec->name != config_.pool.source) continue;  // only the configured source
      if (is_source && !coins_.empty() && std::find(coin_sources.begin(), coin_sources.end(), rec->id) == coin_sources.end()) continue;
      if (!is_source && (t->roles & OTD_TRANSPORT_SERVER) != 0U && !config_.pool.enable) continue;  // no pool server (miner mode)
      char err[OTD_ERROR_CAP] = {};
      const otd_status_t st = t->start(rec->instance, err, sizeof err);
      if (st != OTD_OK) {
        logger->error("transport {} failed to start (status {}): {}", rec->id, st, err);
        if (is_source) code = 4;
        continue;
      }
      have_source = have_source || is_source;
      started.push_back(rec);
    }
    if (!have_source && code == 0) {
      logger->error("no job source: pool.source is '{}' and no loaded transport plugin has that name", config_.pool.source);
      code = 4;
    }
    // Several coins: every coin's source must start (a pool that silently serves fewer coins is a trap).
    for (const auto& id : coin_sources)
      if (code == 0 && std::find(started.begin(), started.end(), loader_->find(id)) == started.end()) code = 4;
    if (code == 0) scheduler_->start_devices();
    start_result.set_value(code);
    } catch (...) {
      start_result.set_exception(std::current_exception());
    }
  });
  try {
    rc = start_result.get_future().get();
  } catch (const std::exception& e) {
    logger->error("start-up failed: {}", e.what());
    rc = 4;
  }
  if (rc == 0 && api_) {
    // The API is for watching the host: one that cannot listen is an error in the log, not a reason to
    // stop mining or serving miners.
    std::string why;
    if (!api_->start(&why)) logger->error("api: {} (api.address; the host goes on without its API)", why);
  }
  if (rc == 0) {
    logger->info("serving: job source {}, mining {} (cpu {}, gpu {}, asic {}), storage {}", config_.pool.source, config_.mining.algorithm,
                 config_.mining.enable_cpu, config_.mining.enable_gpu, config_.mining.enable_asic, config_.storage.path);
    for (size_t i = 0; i < coins_.size(); ++i)
      logger->info("coin {}: {} from {}, stratum {}, {} rewards", coins_[i].coin, coins_[i].algorithm, coin_sources[i],
                   coins_[i].config.pool.address.to_string(), config::to_string(coins_[i].config.pool.rewards.system));
    const auto started_at = std::chrono::steady_clock::now();
    auto last_tick = started_at;
    while (!stop.load() && (run_for.count() == 0 || std::chrono::steady_clock::now() - started_at < run_for)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (std::chrono::steady_clock::now() - last_tick >= std::chrono::seconds(1)) {
        last_tick = std::chrono::steady_clock::now();
        boost::asio::post(control_, [this] { scheduler_->tick(); });
        publish_net_metrics();
        if (ledger_) {
          if (const auto job = scheduler_->current_job())
            ledger_->tick(job->tmpl->coin, static_cast<int64_t>(job->tmpl->c.height), std::chrono::system_clock::now());
        }
        // Several coins: each coin's keeper with its own source's newest template.
        for (size_t i = 0; i < coin_ledgers_.size(); ++i) {
          const auto tip = tip_of(coin_sources[i]);
          if (tip && tip->first == coins_[i].coin) coin_ledgers_[i]->tick(tip->first, tip->second, std::chrono::system_clock::now());
        }
      }
    }
    logger->info("stopping: {} shares accepted, {} blocks found", scheduler_->accepted_shares(), scheduler_->blocks_found());
  }
  // The API first: it reads the scheduler and storage that go below.
  if (api_) api_->stop();
  // Orderly stop: monitoring (nothing probes what is stopping), devices, then transports on the control
  // strand (each one's sockets closed after its stop(), in case it forgot net shutdown()), then the network
  // loops, then the I/O threads.
  monitoring_.reset();
  scheduler_->stop();
  // Shares the strand still holds reach the committer in this drain; then the committer commits (or spills)
  // everything queued. Their answers go nowhere (stopping); a share after stop() is refused, never answered.
  {
    std::promise<void> drained;
    boost::asio::post(control_, [&] { drained.set_value(); });
    drained.get_future().wait();
  }
  if (committer_) {
    committer_->stop();
    const auto st = committer_->stats();
    logger->info("storage: {} shares committed in {} transactions (largest {}), {} spilled, {} replayed, {} refused",
                 st.committed, st.batches, st.largest_batch, st.spilled, st.replayed, st.rejected);
  }
  std::promise<void> stopped;
  boost::asio::post(control_, [&] {
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      try {
        static_cast<const otd_transport_t*>((*it)->table)->stop((*it)->instance);
      } catch (const std::exception& e) {
        logger->error("transport {} stop failed: {}", (*it)->id, e.what());
      } catch (...) {
        logger->error("transport {} stop failed", (*it)->id);
      }
      shutdown_net_of((*it)->id);
    }
    stopped.set_value();
  });
  stopped.get_future().wait();
  // Every other user of sockets; [io] callbacks may still post to the strand, which drains below.
  net_->stop();
  publish_net_metrics();
  // Contexts are released on the strand when the last job drops them: drop the jobs, then let the strand
  // run everything queued so far before the I/O threads stop.
  scheduler_->drop_jobs();
  // Twice: a handler run by the first pass may drop the last job and post a release of its own.
  for (int pass = 0; pass < 2; ++pass) {
    std::promise<void> drained;
    boost::asio::post(control_, [&] { drained.set_value(); });
    drained.get_future().wait();
  }
  guard.reset();
  io_.stop();
  for (auto& t : io_threads) t.join();
  events_.stop();
  storage_->audit("host", "stop", "exit code " + std::to_string(rc));
  return rc;
}

}  // namespace otedama::host
