// Monitoring (issue 8): the Prometheus exposition of the host's metrics registry at
// monitoring.metrics.address (GET /metrics) and the Kubernetes health endpoints at
// monitoring.health.address (GET /livez, GET /readyz). Each is a small Poco::Net HTTP server with its own
// threads. Host::serve starts them before the job source (so /readyz answers 503 until there is work) and
// stops them before anything they look at goes away. docs/monitoring.md describes what they answer.
#pragma once

#include "config/config.hpp"
#include "router/event_bus.hpp"
#include "router/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace otedama::monitoring {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
/// One handler answers every request of a server: method ("GET") and path (without the query).
using Handler = std::function<Response(const std::string& method, const std::string& path)>;

/// A small HTTP/1.1 server on Poco::Net with its own thread pool (never Poco's default pool, which other
/// servers of the host may use).
class HttpServer {
 public:
  /// Binds `address` (without SO_REUSEPORT: a port another process listens on is refused) and serves.
  /// @throws std::runtime_error "<name>: cannot listen on <address>: <why>".
  HttpServer(std::string name, const config::Address& address, Handler handler);
  /// Stops accepting, closes the connections and waits for requests in flight.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  [[nodiscard]] uint16_t port() const noexcept { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

/// GET /metrics: the registry's text exposition (version 0.0.4).
[[nodiscard]] Response metrics_response(const router::Metrics& metrics, const std::string& method, const std::string& path);

/// What the health endpoints look at; every check must answer within about a second.
struct HealthChecks {
  /// Liveness: a no-op posted to the control strand ran within `bound`.
  std::function<bool(std::chrono::milliseconds bound)> control_answers;
  /// The job source has delivered a template that is still live (not withdrawn).
  std::function<bool()> source_has_work;
  /// A write transaction can start on the ledger now (Storage::writable).
  std::function<bool()> storage_writable;
};

/// The state behind /livez and /readyz. The job source's own OTD_EVENT_STATUS events (on_event) mark it
/// down (OTD_STATUS_DOWN) until it reports itself up again.
class Health {
 public:
  Health(std::string source_id, HealthChecks checks);
  /// [event bus] Status events of the job source.
  void on_event(const router::Event& event);
  [[nodiscard]] Response livez() const;
  [[nodiscard]] Response readyz() const;
  [[nodiscard]] Response handle(const std::string& method, const std::string& path) const;

  static constexpr std::chrono::milliseconds kLivenessBound{1000};

 private:
  std::string source_id_;
  HealthChecks checks_;
  mutable std::mutex mutex_;
  bool source_down_ = false;
  std::string source_message_;
};

/// A histogram observer for the share committer (storage::CommitterOptions::on_commit):
/// otedama_storage_commit_duration_seconds and otedama_storage_committed_shares_total.
[[nodiscard]] std::function<void(std::chrono::nanoseconds, std::size_t)> storage_commit_observer(router::Metrics& metrics);

/// The two servers of Host::serve. A server whose address cannot be bound is logged as an error naming
/// the address and left out: the host goes on mining and serving without it (a monitoring port must not
/// take a pool down); otedama_monitoring_server_up{server} says which are up.
class Monitoring {
 public:
  Monitoring(const config::Config::Monitoring& cfg, router::Metrics& metrics, router::EventBus& events,
             std::string source_id, HealthChecks checks);
  ~Monitoring();
  Monitoring(const Monitoring&) = delete;
  Monitoring& operator=(const Monitoring&) = delete;

  [[nodiscard]] const HttpServer* metrics_server() const { return metrics_server_.get(); }
  [[nodiscard]] const HttpServer* health_server() const { return health_server_.get(); }

 private:
  std::shared_ptr<Health> health_;  // shared with the event bus subscriber, which may outlive this
  std::unique_ptr<HttpServer> metrics_server_;
  std::unique_ptr<HttpServer> health_server_;
};

/// JSON string literal of `s` (quotes included), escaped per RFC 8259.
[[nodiscard]] std::string json_string(std::string_view s);

}  // namespace otedama::monitoring
