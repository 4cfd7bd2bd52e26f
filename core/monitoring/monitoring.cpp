#include "monitoring/monitoring.hpp"

#include "log/log.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace otedama::monitoring {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// --- HttpServer ------------------------------------------------------------------------------------------------
namespace {

class RequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RequestHandler(const Handler& handler) : handler_(handler) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    std::string path = request.getURI();
    if (const auto q = path.find_first_of("?#"); q != std::string::npos) path.resize(q);
    Response r;
    try {
      r = handler_(request.getMethod(), path);
    } catch (const std::exception& e) {
      r = Response{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
    response.setContentType(r.content_type);
    response.set("Cache-Control", "no-store");
    if (request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD) {
      response.setContentLength(static_cast<std::streamsize>(r.body.size()));
      response.send();
      return;
    }
    response.sendBuffer(r.body.data(), r.body.size());
  }

 private:
  const Handler& handler_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(Handler handler) : handler_(std::move(handler)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override { return new RequestHandler(handler_); }

 private:
  Handler handler_;
};

}  // namespace

struct HttpServer::Impl {
  Poco::ThreadPool threads{1, 4};
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

HttpServer::HttpServer(std::string name, const config::Address& address, Handler handler) : impl_(std::make_unique<Impl>()) {
  const std::string where = address.to_string();
  try {
    Poco::Net::ServerSocket socket;
    const Poco::Net::SocketAddress at(address.host.empty() ? std::string("0.0.0.0") : address.host, address.port);
    socket.bind(at, /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(64);
    port_ = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params(new Poco::Net::HTTPServerParams);
    params->setMaxThreads(4);
    params->setMaxQueued(64);
    params->setTimeout(Poco::Timespan(10, 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(5, 0));
    params->setServerName("otedama-" + name);
    impl_->server = std::make_unique<Poco::Net::HTTPServer>(
        Poco::Net::HTTPRequestHandlerFactory::Ptr(new HandlerFactory(std::move(handler))), impl_->threads, socket, params);
    impl_->server->start();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error(name + ": cannot listen on " + where + ": " + e.displayText());
  }
}

HttpServer::~HttpServer() {
  if (impl_->server) impl_->server->stopAll(true);
  impl_->server.reset();
  impl_->threads.joinAll();
}

// --- /metrics -------------------------------------------------------------------------------------------------
Response metrics_response(const router::Metrics& metrics, const std::string& method, const std::string& path) {
  if (path != "/metrics") return Response{404, "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n"};
  if (method != "GET" && method != "HEAD") return Response{405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
  return Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
}

// --- health ---------------------------------------------------------------------------------------------------
Health::Health(std::string source_id, HealthChecks checks) : source_id_(std::move(source_id)), checks_(std::move(checks)) {}

void Health::on_event(const router::Event& event) {
  const auto* st = event.as<otd_event_status_t>(OTD_EVENT_STATUS);
  if (st == nullptr) return;
  const std::string_view from(event.header().source, strnlen(event.header().source, OTD_ID_CAP));
  if (from != source_id_) return;
  std::lock_guard lock(mutex_);
  if (st->state == OTD_STATUS_DOWN) {
    source_down_ = true;
    source_message_ = std::string(st->component, strnlen(st->component, OTD_ID_CAP)) + ": " +
                      std::string(st->message, strnlen(st->message, OTD_NAME_CAP));
  } else if (st->state == OTD_STATUS_UP) {
    source_down_ = false;
    source_message_.clear();
  }
}

Response Health::livez() const {
  const bool ok = checks_.control_answers && checks_.control_answers(kLivenessBound);
  if (ok) return Response{200, "application/json", "{\"live\":true}\n"};
  return Response{503, "application/json",
                  "{\"live\":false,\"reason\":" + json_string("the control strand did not run a no-op within " + std::to_string(kLivenessBound.count()) + " ms") + "}\n"};
}

Response Health::readyz() const {
  bool down = false;
  std::string message;
  {
    std::lock_guard lock(mutex_);
    down = source_down_;
    message = source_message_;
  }
  const bool has_work = checks_.source_has_work && checks_.source_has_work();
  const bool source_ok = has_work && !down;
  std::string source_detail;
  if (down) source_detail = "the job source reported itself down (" + message + ")";
  else if (!has_work) source_detail = "the job source has not delivered a template yet, or withdrew its work";
  else source_detail = "the job source has delivered a live template";
  const bool storage_ok = checks_.storage_writable && checks_.storage_writable();
  const std::string storage_detail = storage_ok ? "a write transaction can start" : "the ledger cannot take a write now (locked, read-only or failing)";
  const bool ready = source_ok && storage_ok;
  std::string body = "{\"ready\":" + std::string(ready ? "true" : "false") + ",\"checks\":{\"job_source\":{\"ok\":" + (source_ok ? "true" : "false") +
                     ",\"source\":" + json_string(source_id_) + ",\"detail\":" + json_string(source_detail) + "},\"storage\":{\"ok\":" +
                     (storage_ok ? "true" : "false") + ",\"detail\":" + json_string(storage_detail) + "}}";
  if (!ready) {
    std::string why;
    if (!source_ok) why = source_detail;
    if (!storage_ok) why += (why.empty() ? "" : "; ") + storage_detail;
    body += ",\"reason\":" + json_string(why);
  }
  body += "}\n";
  return Response{ready ? 200 : 503, "application/json", std::move(body)};
}

Response Health::handle(const std::string& method, const std::string& path) const {
  if (path != "/livez" && path != "/readyz") return Response{404, "text/plain; charset=utf-8", "not found: the health endpoints are /livez and /readyz\n"};
  if (method != "GET" && method != "HEAD") return Response{405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
  return path == "/livez" ? livez() : readyz();
}

std::function<void(std::chrono::nanoseconds, std::size_t)> storage_commit_observer(router::Metrics& metrics) {
  using D = router::Metrics::Desc;
  const auto seconds = metrics.add(D{OTD_METRIC_HISTOGRAM, "otedama_storage_commit_duration_seconds",
                                     "Time a group commit of accepted shares took (one transaction, one fsync)", {},
                                     {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}});
  const auto shares = metrics.add(D{OTD_METRIC_COUNTER, "otedama_storage_committed_shares_total", "Shares written by group commits", {}, {}});
  if (!seconds || !shares) return {};
  return [&metrics, s = *seconds, n = *shares](std::chrono::nanoseconds took, std::size_t count) {
    metrics.update(s, {}, std::chrono::duration<double>(took).count());
    metrics.update(n, {}, static_cast<double>(count));
  };
}

// --- the two servers ------------------------------------------------------------------------------------------
Monitoring::Monitoring(const config::Config::Monitoring& cfg, router::Metrics& metrics, router::EventBus& events,
                       std::string source_id, HealthChecks checks)
    : health_(std::make_shared<Health>(std::move(source_id), std::move(checks))) {
  auto logger = log::get("monitoring");
  using D = router::Metrics::Desc;
  const auto up = metrics.add(D{OTD_METRIC_GAUGE, "otedama_monitoring_server_up", "1 when the monitoring server listens, 0 when its address could not be bound",
                                {"server"}, {}});
  events.subscribe([weak = std::weak_ptr<Health>(health_)](const router::Event& e) {
    if (auto h = weak.lock()) h->on_event(e);
  });
  // Blocks the chain source reports out of the chain (the ledger never credits them) or refused.
  const auto orphaned = metrics.add(D{OTD_METRIC_COUNTER, "otedama_blocks_orphaned_total", "Blocks of the pool its chain source reported orphaned", {"coin"}, {}});
  const auto rejected = metrics.add(D{OTD_METRIC_COUNTER, "otedama_blocks_rejected_total", "Blocks of the pool the coin node refused", {"coin"}, {}});
  if (orphaned && rejected)
    events.subscribe([&metrics, o = *orphaned, r = *rejected](const router::Event& e) {
      const auto* b = e.as<otd_event_block_t>(OTD_EVENT_BLOCK);
      if (b == nullptr || (b->state != OTD_BLOCK_ORPHANED && b->state != OTD_BLOCK_REJECTED)) return;
      metrics.update(b->state == OTD_BLOCK_ORPHANED ? o : r, {std::string(b->coin, strnlen(b->coin, OTD_ID_CAP))}, 1);
    });
  if (cfg.metrics.enable) {
    try {
      metrics_server_ = std::make_unique<HttpServer>("metrics", cfg.metrics.address,
                                                     [&metrics](const std::string& method, const std::string& path) { return metrics_response(metrics, method, path); });
      logger->info("metrics: serving /metrics on {}", config::Address{cfg.metrics.address.host, metrics_server_->port()}.to_string());
    } catch (const std::exception& e) {
      logger->error("{}; the host goes on without the metrics endpoint", e.what());
    }
    if (up) metrics.update(*up, {"metrics"}, metrics_server_ ? 1 : 0);
  }
  if (cfg.health.enable) {
    try {
      health_server_ = std::make_unique<HttpServer>("health", cfg.health.address,
                                                    [h = health_](const std::string& method, const std::string& path) { return h->handle(method, path); });
      logger->info("health: serving /livez and /readyz on {}", config::Address{cfg.health.address.host, health_server_->port()}.to_string());
    } catch (const std::exception& e) {
      logger->error("{}; the host goes on without the health endpoints", e.what());
    }
    if (up) metrics.update(*up, {"health"}, health_server_ ? 1 : 0);
  }
}

Monitoring::~Monitoring() {
  health_server_.reset();
  metrics_server_.reset();
}

}  // namespace otedama::monitoring
