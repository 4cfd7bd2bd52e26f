// The host: owns the configuration, the loader, the event bus, metrics, storage, the scheduler and the
// control strand, and builds the per-plugin host services table (plugin-api/otedama/host.h).
#pragma once

#include "config/config.hpp"
#include "loader/loader.hpp"
#include "router/event_bus.hpp"
#include "router/metrics.hpp"

#include <otedama/otedama.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace otedama::scheduler {
class Scheduler;
}
namespace otedama::storage {
class Storage;
class ShareCommitter;
}
namespace otedama::services {
class NetService;
}
namespace otedama::api {
class ApiServer;
}
namespace otedama::monitoring {
class Monitoring;
}

namespace otedama::host {
class LedgerKeeper;

inline constexpr const char* kHostName = "otedama-host";

class Host {
 public:
  explicit Host(config::Config config);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// Load plugins from the search path (plugins.dirs, $OTEDAMA_PLUGIN_PATH, the install's plugins.d,
  /// the build tree). `self_tests` false skips the known-answer tests (tests of the loader use it);
  /// `conformance_fixtures` false leaves out the build tree's deliberately broken fixtures (serve does).
  void load_plugins(bool self_tests = true, bool conformance_fixtures = true);
  [[nodiscard]] loader::Loader& plugins() { return *loader_; }
  [[nodiscard]] const config::Config& config() const { return config_; }
  /// pool.coins with each coin's effective configuration (empty: one coin, the top-level keys).
  [[nodiscard]] const std::vector<config::CoinConfig>& coins() const { return coins_; }
  /// [any] A job source's newest template (coin, height): each coin's ledger keeper confirms blocks with it.
  void note_template(const std::string& source_id, const std::string& coin, int64_t height);
  [[nodiscard]] std::optional<std::pair<std::string, int64_t>> tip_of(const std::string& source_id) const;
  [[nodiscard]] router::Metrics& metrics() { return metrics_; }
  [[nodiscard]] router::EventBus& events() { return events_; }

  /// The host table for one plugin instance (or, with a file name, one library's entry init).
  const otd_host_t* host_table(std::string_view plugin_id, uint32_t abi_minor);

  /// Run the configured job until `stop` becomes true (set from a signal handler) or the job source
  /// fails to start. Returns a process exit code as documented in core/cli/commands.hpp: 0, 3 (storage)
  /// or 4 (job source).
  int serve(const std::atomic<bool>& stop, std::chrono::milliseconds run_for = std::chrono::milliseconds(0));

  /// Everything below is reached by the C trampolines of the host table.
  struct PluginContext;
  struct Timer;
  [[nodiscard]] scheduler::Scheduler* scheduler() { return scheduler_.get(); }
  [[nodiscard]] boost::asio::strand<boost::asio::io_context::executor_type>& control() { return control_; }
  [[nodiscard]] boost::asio::io_context& io() { return io_; }
  /// otedama.net/1: its own event loops (net.io_threads), started by serve() before the transports and
  /// stopped after them, before the control strand drains.
  [[nodiscard]] services::NetService& net() { return *net_; }
  /// The admin API while serve() runs with api.enable (null otherwise, or when it could not listen).
  [[nodiscard]] api::ApiServer* api() { return api_.get(); }

 private:
  /// Closes what `plugin_id` still has open on the network service and waits for its handlers (a transport
  /// that forgot shutdown() in stop()). [control]
  void shutdown_net_of(std::string_view plugin_id);
  void publish_net_metrics();

  config::Config config_;
  std::vector<config::CoinConfig> coins_;  // before the plugins' tables point into it
  mutable std::mutex tips_mutex_;
  std::map<std::string, std::pair<std::string, int64_t>> tips_;  // source id -> (coin, height) of its newest template
  boost::asio::io_context io_;
  boost::asio::strand<boost::asio::io_context::executor_type> control_;
  router::EventBus events_;
  router::Metrics metrics_;
  std::deque<std::unique_ptr<PluginContext>> contexts_;  // stable addresses: plugins keep table pointers
  std::mutex contexts_mutex_;
  std::unique_ptr<services::NetService> net_;  // attached to every plugin table; reset after the plugins
  std::array<uint32_t, 6> net_metrics_{};
  bool net_metrics_registered_ = false;
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<storage::ShareCommitter> committer_;  // group commit of accepted shares (after storage_)
  std::unique_ptr<LedgerKeeper> ledger_;                 // confirmations, crediting (after storage_)
  std::vector<std::unique_ptr<LedgerKeeper>> coin_ledgers_;  // pool.coins: one keeper per coin, in pool.coins order
  std::unique_ptr<scheduler::Scheduler> scheduler_;
  std::unique_ptr<api::ApiServer> api_;  // reads the scheduler, storage, loader: stopped before they go
  std::unique_ptr<loader::Loader> loader_;  // destroyed first: plugins go before the services they use
  std::unique_ptr<monitoring::Monitoring> monitoring_;  // /metrics, /livez, /readyz; serve() starts and stops it
};

}  // namespace otedama::host
