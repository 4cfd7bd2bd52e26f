// The admin API (docs/api.md): REST endpoints, the /api/ws WebSocket and the embedded dashboard, served
// with Poco::Net on api.address.
//
// Threads: Poco's HTTP server runs each request (and each WebSocket connection) on a thread of the API's
// own pool; a 1 s ticker thread pushes hashrate and device messages and polls storage for block and payment
// changes; on_event runs on the event bus thread. None of them ever runs on the control strand or waits
// for it: the API reads the scheduler's and storage's thread-safe accessors only. A WebSocket client has
// a bounded send queue: one that falls behind is dropped (and counted), never waited for.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace otedama::config {
struct Config;
}
namespace otedama::router {
class Metrics;
struct Event;
}  // namespace otedama::router
namespace otedama::loader {
class Loader;
}
namespace otedama::scheduler {
class Scheduler;
}
namespace otedama::storage {
class Storage;
}

namespace otedama::api {

struct Sources {
  const config::Config* config = nullptr;
  router::Metrics* metrics = nullptr;
  const loader::Loader* loader = nullptr;
  scheduler::Scheduler* scheduler = nullptr;  ///< may be null (no mining start/stop, no devices)
  storage::Storage* storage = nullptr;        ///< may be null (pool endpoints answer empty lists)
  std::string version;
  /// The addresses the stratum server's listeners are bound to (the host asks its network service); may be
  /// empty, then /api/pools reports the configured pool.address.
  std::function<std::vector<std::string>()> stratum_listening;
  /// pool.coins: the height of the newest template of a coin's job source (0 = none yet); may be empty.
  std::function<uint64_t(const std::string& coin)> coin_height;
};

class ApiServer {
 public:
  explicit ApiServer(Sources sources);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  /// [event bus] Share, block and status events: counted and pushed to WebSocket clients.
  void on_event(const router::Event& event);
  /// Binds api.address and starts serving. False, with `error` naming what failed, when it cannot: the
  /// host goes on without its API.
  bool start(std::string* error);
  /// Stops accepting, closes WebSocket clients, joins every API thread. Idempotent.
  void stop();
  [[nodiscard]] uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// The admin secret api.auth.enabled uses: $OTEDAMA_API_SECRET, else api.auth.secret, else the one stored in
/// <storage.path>.api-secret (generated there, mode 0600, on first use). Empty when none can be had (storage
/// in memory): `note` then says why; otherwise it says where the secret came from (never the secret).
/// `generate` false (a client such as `otedama-host status`): never creates the file.
std::string resolve_admin_secret(const config::Config& config, std::string* note, bool generate = true);

/// The OpenAPI 3.0 document of the API, and a readable HTML page of it.
const std::string& openapi_json();
const std::string& docs_html();

}  // namespace otedama::api
