#include "api/api_server.hpp"

#include "api/auth.hpp"
#include "api/dashboard_assets.hpp"
#include "api/stats.hpp"
#include "config/config.hpp"
#include "loader/loader.hpp"
#include "log/log.hpp"
#include "router/event_bus.hpp"
#include "router/metrics.hpp"
#include "scheduler/scheduler.hpp"
#include "storage/storage.hpp"

#include <otedama/otedama.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace otedama::api {

namespace {

using JObject = Poco::JSON::Object::Ptr;
using JArray = Poco::JSON::Array::Ptr;
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr size_t kMaxBody = 64 * 1024;          // request bodies (POST /api/auth/token)
constexpr size_t kWsQueueCap = 512;             // messages a WebSocket client may fall behind by
constexpr size_t kMaxWsClients = 64;
constexpr int kWsMaxFrame = 64 * 1024;           // client frames are small JSON messages
constexpr int kMaxPoolThreads = kMaxWsClients + 32;

JObject obj() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }
JArray arr() { return new Poco::JSON::Array(); }

std::string to_json(const JObject& o) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(o, out, 0, -1, Poco::JSON_WRAP_STRINGS);
  return out.str();
}

/// JSON has no NaN or infinity.
double num(double v) { return std::isfinite(v) ? v : 0.0; }
Poco::Dynamic::Var num_or_null(double v) { return std::isfinite(v) && v >= 0 ? Poco::Dynamic::Var(v) : Poco::Dynamic::Var(); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A hash as the host's log and block explorers show it: the bytes reversed (the leading zeros first).
std::string hex(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = n; i-- > 0;) {
    s.push_back(kHex[p[i] >> 4]);
    s.push_back(kHex[p[i] & 15]);
  }
  return s;
}

template <size_t N>
std::string field(const char (&s)[N]) {
  return std::string(s, strnlen(s, N));
}

/// A storage path as the host opens it (relative to its working directory); ":memory:" as is.
std::string absolute_path(const std::string& p) {
  if (p.empty() || p == ":memory:") return p;
  std::error_code ec;
  const auto a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

std::string error_json(const std::string& message) {
  JObject o = obj();
  o->set("error", message);
  return to_json(o);
}

enum Topic : uint32_t { kShare = 1, kBlock = 2, kPayment = 4, kHashrate = 8, kDevice = 16, kAllTopics = 31 };
constexpr std::array<std::pair<std::string_view, uint32_t>, 5> kTopics{
    {{"share", kShare}, {"block", kBlock}, {"payment", kPayment}, {"hashrate", kHashrate}, {"device", kDevice}}};

std::string message(std::string_view topic, int64_t time_ms, const JObject& data) {
  JObject o = obj();
  o->set("topic", std::string(topic));
  o->set("time_ms", time_ms);
  o->set("data", data);
  return to_json(o);
}

const char* verdict_reason(uint32_t verdict) {
  switch (verdict) {
    case OTD_SHARE_LOW_DIFFICULTY: return "low difficulty";
    case OTD_SHARE_STALE: return "stale";
    case OTD_SHARE_DUPLICATE: return "duplicate";
    case OTD_SHARE_MALFORMED: return "malformed";
    case OTD_SHARE_BAD_NTIME: return "bad ntime";
    case OTD_SHARE_OVERLOADED: return "overloaded";
    case OTD_SHARE_INTERNAL_ERROR: return "internal error";
    default: return "rejected";
  }
}

const char* block_state_name(uint32_t state) {
  switch (state) {
    case OTD_BLOCK_FOUND: return "found";
    case OTD_BLOCK_CONFIRMED: return "confirmed";
    case OTD_BLOCK_ORPHANED: return "orphaned";
    case OTD_BLOCK_REJECTED: return "rejected";
    default: return "unknown";
  }
}

std::string device_kind(std::string_view backend_id) {
  // Backends are matched to mining.enable_* by their plugin name (as the scheduler does).
  const auto dot = backend_id.rfind('.');
  const std::string_view name = dot == std::string_view::npos ? backend_id : backend_id.substr(dot + 1);
  if (name == "cpu") return "cpu";
  if (name == "cuda" || name == "opencl" || name == "vulkan") return "gpu";
  return "asic";
}

/// A path segment that names a coin or an address: printable, no separators, bounded.
bool valid_segment(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':' || c == '+'; });
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    const size_t j = path.find('/', i);
    if (i < path.size()) parts.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
    i = j == std::string::npos ? path.size() : j;
  }
  return parts;
}

/// One WebSocket client: its topic set and the messages waiting for it.
struct WsClient {
  std::mutex mutex;
  std::deque<std::pair<uint32_t, std::shared_ptr<const std::string>>> queue;  // (topic, message)
  uint32_t topics = kAllTopics;
  bool overflow = false;
  std::string peer;
};

/// An answer: status, JSON (or asset) body, extra headers.
struct Reply {
  int code = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  static Reply json(int code, std::string body) { return Reply{code, std::move(body), "application/json", {}}; }
  static Reply error(int code, const std::string& text) { return json(code, error_json(text)); }
};

}  // namespace

std::string resolve_admin_secret(const config::Config& config, std::string* note, bool generate) {
  if (const char* env = std::getenv("OTEDAMA_API_SECRET"); env != nullptr && *env != '\0') {
    if (note != nullptr) *note = "the admin secret is taken from $OTEDAMA_API_SECRET";
    return env;
  }
  if (!config.api.auth.secret.empty()) {
    if (note != nullptr) *note = "the admin secret is api.auth.secret";
    return config.api.auth.secret;
  }
  if (config.storage.path.empty() || config.storage.path == ":memory:") {
    if (note != nullptr)
      *note = "api.auth.enabled but no admin secret: set api.auth.secret or $OTEDAMA_API_SECRET (storage is in memory, so none is generated); "
              "no token can be issued and state-changing endpoints refuse every request";
    return "";
  }
  const std::filesystem::path file = config.storage.path + ".api-secret";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file);
    std::string s;
    std::getline(in, s);
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    if (!s.empty()) {
      if (note != nullptr) *note = "the admin secret is read from " + file.string();
      return s;
    }
  }
  if (!generate) {
    if (note != nullptr) *note = "no admin secret: neither $OTEDAMA_API_SECRET, api.auth.secret nor " + file.string();
    return "";
  }
  const std::string secret = random_hex(32);
  {
    // Created owner-only before anything is written into it.
    const mode_t old = ::umask(077);
    std::ofstream out(file, std::ios::trunc);
    ::umask(old);
    out << secret << "\n";
    out.close();
    if (!out) {
      if (note != nullptr) *note = "api.auth.enabled but no admin secret, and none could be written to " + file.string() +
                                   ": set api.auth.secret or $OTEDAMA_API_SECRET";
      return "";
    }
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
  if (note != nullptr) *note = "generated an admin secret into " + file.string() + " (set api.auth.secret or $OTEDAMA_API_SECRET to choose your own)";
  return secret;
}

struct ApiServer::Impl {
  explicit Impl(Sources s)
      : src(std::move(s)),
        cfg(*src.config),
        started_ms(now_ms()),
        started_steady(std::chrono::steady_clock::now()),
        stats(started_ms),
        tokens(cfg.api.auth.enabled ? resolve_admin_secret(cfg, &secret_note) : std::string(), cfg.api.auth.token_expiry),
        limiter(static_cast<double>(cfg.api.rate_limit), 2.0 * static_cast<double>(cfg.api.rate_limit)),
        pool(2, kMaxPoolThreads, 60) {
    using D = router::Metrics::Desc;
    auto& m = *src.metrics;
    m_requests = *m.add(D{OTD_METRIC_COUNTER, "otedama_api_requests_total", "Admin API requests, by endpoint and HTTP status", {"endpoint", "code"}, {}});
    m_duration = *m.add(D{OTD_METRIC_HISTOGRAM, "otedama_api_request_duration_seconds", "Admin API request latency, by endpoint", {"endpoint"},
                          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}});
    m_limited = *m.add(D{OTD_METRIC_COUNTER, "otedama_api_rate_limited_total", "Admin API requests refused by the per-IP rate limit (429)", {}, {}});
    m_ws_clients = *m.add(D{OTD_METRIC_GAUGE, "otedama_api_websocket_clients", "WebSocket clients connected to /api/ws", {}, {}});
    m_ws_dropped = *m.add(D{OTD_METRIC_COUNTER, "otedama_api_websocket_dropped_total", "WebSocket clients dropped, by reason", {"reason"}, {}});
    m_ws_messages = *m.add(D{OTD_METRIC_COUNTER, "otedama_api_websocket_messages_total", "Messages sent to WebSocket clients", {}, {}});
    if (src.storage != nullptr) {
      try {
        blocks_in_storage = static_cast<uint64_t>(src.storage->blocks("", 1'000'000).size());
      } catch (const std::exception& e) {
        log::get("api")->warn("cannot count the ledger's blocks: {}", e.what());
      }
    }
  }

  // --- state ---------------------------------------------------------------------------------------------
  Sources src;
  const config::Config& cfg;
  const int64_t started_ms;
  const std::chrono::steady_clock::time_point started_steady;
  std::string secret_note;
  std::string storage_path = absolute_path(cfg.storage.path);
  LiveStats stats;
  TokenStore tokens;
  RateLimiter limiter;
  uint64_t blocks_in_storage = 0;  // at start; blocks found since come from share events
  uint32_t m_requests = 0, m_duration = 0, m_limited = 0, m_ws_clients = 0, m_ws_dropped = 0, m_ws_messages = 0;

  Poco::ThreadPool pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  bool started = false;

  std::mutex clients_mutex;
  std::list<std::shared_ptr<WsClient>> clients;
  std::atomic<uint64_t> ws_dropped{0}, ws_messages{0}, ws_errors{0}, requests{0};

  std::thread ticker;
  std::mutex tick_mutex;
  std::condition_variable tick_cv;

  // Storage poll (ticker thread only): what was announced, so a change is pushed once.
  bool polled_once = false;
  std::map<std::string, std::string> block_status;  // hash hex -> last status pushed
  std::set<int64_t> payments_announced;
  std::mutex announced_mutex;
  std::set<std::string> blocks_announced;  // "hash/status" pushed (from events or the poll)

  // --- helpers -------------------------------------------------------------------------------------------
  [[nodiscard]] double h1() const { return src.scheduler != nullptr ? src.scheduler->difficulty_one_hashes() : 0; }
  [[nodiscard]] std::string coin() const {
    if (src.scheduler != nullptr)
      if (const auto job = src.scheduler->current_job()) return job->tmpl->coin;
    return cfg.node.coin;
  }

  void broadcast(uint32_t topic, std::string text) {
    auto msg = std::make_shared<const std::string>(std::move(text));
    std::lock_guard lock(clients_mutex);
    for (const auto& c : clients) {
      std::lock_guard cl(c->mutex);
      if ((c->topics & topic) == 0U || c->overflow) continue;
      if (c->queue.size() >= kWsQueueCap) {
        c->overflow = true;  // its own thread drops it; nobody waits for it here
        continue;
      }
      c->queue.emplace_back(topic, msg);
    }
  }

  void announce_block(const std::string& coin_name, uint64_t height, const std::string& hash, const std::string& status, int64_t reward,
                      const std::string& finder) {
    {
      std::lock_guard lock(announced_mutex);
      if (blocks_announced.size() > 10000) blocks_announced.clear();
      if (!blocks_announced.insert(hash + "/" + status).second) return;
    }
    JObject d = obj();
    d->set("coin", coin_name);
    d->set("height", static_cast<Poco::UInt64>(height));
    d->set("hash", hash);
    d->set("status", status);
    d->set("reward", static_cast<Poco::Int64>(reward));
    d->set("finder", finder);
    broadcast(kBlock, message("block", now_ms(), d));
  }

  void on_event(const router::Event& e) {
    if (const auto* s = e.as<otd_event_share_t>(OTD_EVENT_SHARE)) {
      const bool accepted = s->verdict == OTD_SHARE_ACCEPTED || s->verdict == OTD_SHARE_BLOCK;
      const bool block = s->verdict == OTD_SHARE_BLOCK;
      std::string reason = accepted ? "" : field(s->reason);
      if (!accepted && reason.empty()) reason = verdict_reason(s->verdict);
      const std::string worker = field(s->worker);
      const std::string coin_name = field(s->coin);
      const int64_t t = now_ms();
      stats.share(t, worker, coin_name, accepted, block, s->difficulty, reason);
      if (clients_empty()) return;
      JObject d = obj();
      d->set("worker", worker);
      d->set("coin", coin_name);
      d->set("accepted", accepted);
      d->set("difficulty", num(s->difficulty));
      d->set("reason", reason);
      d->set("share_difficulty", num(s->share_difficulty));
      d->set("block", block);
      broadcast(kShare, message("share", t, d));
    } else if (const auto* b = e.as<otd_event_block_t>(OTD_EVENT_BLOCK)) {
      announce_block(field(b->coin), b->height, hex(b->hash, OTD_HASH_SIZE), block_state_name(b->state), static_cast<int64_t>(std::min<uint64_t>(b->reward, INT64_MAX)),
                     field(b->finder));
    }
  }

  bool clients_empty() {
    std::lock_guard lock(clients_mutex);
    return clients.empty();
  }

  // --- JSON of the host's state --------------------------------------------------------------------------
  JObject status_json(bool detailed) {
    const int64_t t = now_ms();
    const auto snap = stats.snapshot(t);
    double hashrate = 0;
    std::vector<scheduler::Scheduler::DeviceStatus> devs;
    if (src.scheduler != nullptr) devs = src.scheduler->devices();
    for (const auto& d : devs) hashrate += d.hashrate;
    const double unit = h1();
    JObject o = obj();
    o->set("version", src.version);
    o->set("name", cfg.app.name);
    o->set("mode", std::string(config::mode_names[static_cast<size_t>(cfg.app.mode)]));
    o->set("algorithm", cfg.mining.algorithm);
    o->set("coin", coin());
    o->set("uptime_s", static_cast<Poco::Int64>(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_steady).count()));
    o->set("mining", src.scheduler != nullptr && src.scheduler->mining());
    o->set("hashrate", num(hashrate));
    o->set("pool_hashrate", num(snap.pool_difficulty_per_s * unit));
    JObject shares = obj();
    shares->set("accepted", static_cast<Poco::UInt64>(snap.totals.accepted));
    shares->set("rejected", static_cast<Poco::UInt64>(snap.totals.rejected));
    o->set("shares", shares);
    JObject blocks = obj();
    blocks->set("found", static_cast<Poco::UInt64>(blocks_in_storage + snap.totals.blocks));
    blocks->set("found_since_start", static_cast<Poco::UInt64>(snap.totals.blocks));
    o->set("blocks", blocks);
    o->set("connections", static_cast<Poco::Int64>(connections()));
    o->set("workers", static_cast<Poco::UInt64>(snap.workers_active));
    JObject source = obj();
    source->set("plugin", cfg.pool.source);
    std::shared_ptr<const scheduler::Job> job;
    if (src.scheduler != nullptr) job = src.scheduler->current_job();
    source->set("up", job != nullptr);
    source->set("height", static_cast<Poco::UInt64>(job ? job->tmpl->c.height : 0));
    source->set("network_difficulty", num(job ? job->network_difficulty : 0));
    o->set("job_source", source);
    if (!detailed) return o;

    JObject by_coin = obj();
    for (const auto& [c, totals] : snap.by_coin) {
      JObject x = obj();
      x->set("accepted", static_cast<Poco::UInt64>(totals.accepted));
      x->set("rejected", static_cast<Poco::UInt64>(totals.rejected));
      x->set("blocks", static_cast<Poco::UInt64>(totals.blocks));
      by_coin->set(c.empty() ? "unknown" : c, x);
    }
    o->set("coins", by_coin);
    JObject by_algo = obj();
    {
      JObject x = obj();
      x->set("hashrate", num(hashrate));
      x->set("pool_hashrate", num(snap.pool_difficulty_per_s * unit));
      x->set("hashes_per_difficulty_one", num(unit));
      by_algo->set(cfg.mining.algorithm, x);
    }
    o->set("algorithms", by_algo);
    JObject rejected = obj();
    for (const auto& [reason, n] : snap.rejected_by_reason) rejected->set(reason, static_cast<Poco::UInt64>(n));
    o->set("rejected_by_reason", rejected);
    const double up_s = std::max(1.0, std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady).count());
    JObject rates = obj();
    rates->set("accepted_per_s", static_cast<double>(snap.totals.accepted) / up_s);
    rates->set("rejected_per_s", static_cast<double>(snap.totals.rejected) / up_s);
    rates->set("pool_difficulty_per_s", num(snap.pool_difficulty_per_s));
    o->set("share_rates", rates);
    JObject st = obj();
    st->set("path", storage_path);
    if (src.storage != nullptr) {
      try {
        st->set("shares", static_cast<Poco::Int64>(src.storage->count_shares()));
        st->set("schema_version", src.storage->schema_version());
        int64_t balance_total = 0;
        size_t accounts = 0;
        for (const auto& b : src.storage->balances("")) {
          balance_total += b.amount;
          ++accounts;
        }
        st->set("balances_total", static_cast<Poco::Int64>(balance_total));
        st->set("accounts", static_cast<Poco::UInt64>(accounts));
        st->set("writable", src.storage->writable(std::chrono::milliseconds(50)));
      } catch (const std::exception& e) {
        st->set("error", std::string(e.what()));
      }
    }
    o->set("storage", st);
    JObject api = obj();
    api->set("requests", static_cast<Poco::UInt64>(requests.load()));
    api->set("rate_limited", static_cast<Poco::UInt64>(limiter.limited()));
    {
      std::lock_guard lock(clients_mutex);
      api->set("websocket_clients", static_cast<Poco::UInt64>(clients.size()));
    }
    api->set("websocket_dropped", static_cast<Poco::UInt64>(ws_dropped.load()));
    api->set("websocket_messages", static_cast<Poco::UInt64>(ws_messages.load()));
    api->set("websocket_errors", static_cast<Poco::UInt64>(ws_errors.load()));
    o->set("api", api);
    return o;
  }

  [[nodiscard]] int64_t connections() const {
    const auto v = src.metrics->value("otedama_net_connections", {"org.otedama.transport.stratum-server"});
    return v ? static_cast<int64_t>(*v) : 0;
  }

  JObject device_json(const scheduler::Scheduler::DeviceStatus& d) {
    JObject o = obj();
    o->set("id", d.id);
    o->set("name", d.name);
    o->set("backend", d.backend);
    o->set("kind", device_kind(d.backend));
    o->set("hashrate", num(d.hashrate));
    o->set("temperature_c", num_or_null(d.telemetry.temperature_c));
    o->set("fan_percent", num_or_null(d.telemetry.fan_percent));
    o->set("power_w", num_or_null(d.telemetry.power_w));
    o->set("errors", static_cast<Poco::UInt64>(d.errors + d.telemetry.hardware_errors));
    o->set("mismatches", static_cast<Poco::UInt64>(d.mismatches));
    o->set("lanes", d.lanes);
    o->set("hashes", static_cast<Poco::UInt64>(d.hashes));
    o->set("shares", static_cast<Poco::UInt64>(d.shares));
    o->set("throttled", d.telemetry.throttled != 0);
    if (d.gpu_index >= 0) o->set("gpu_index", d.gpu_index);
    else o->set("gpu_index", Poco::Dynamic::Var());
    return o;
  }

  JObject worker_json(const LiveStats::Worker& w, double unit) {
    JObject o = obj();
    o->set("name", w.name);
    o->set("account", w.account);
    o->set("coin", w.coin);
    o->set("hashrate", num(w.difficulty_per_s * unit));
    o->set("shares_accepted", static_cast<Poco::UInt64>(w.accepted));
    o->set("shares_rejected", static_cast<Poco::UInt64>(w.rejected));
    o->set("difficulty", num(w.difficulty));
    o->set("last_share_ms", static_cast<Poco::Int64>(w.last_share_ms));
    return o;
  }

  JObject payment_json(const storage::PaymentRow& p) {
    JObject o = obj();
    o->set("id", static_cast<Poco::Int64>(p.id));
    o->set("coin", p.coin);
    o->set("address", p.account);
    o->set("amount", static_cast<Poco::Int64>(p.amount));
    o->set("status", p.status);
    o->set("txid", p.txid);
    o->set("time_ms", static_cast<Poco::Int64>(p.created_at_ms));
    o->set("updated_ms", static_cast<Poco::Int64>(p.updated_at_ms));
    if (!p.error.empty()) o->set("error", p.error);
    return o;
  }

  // --- endpoints -----------------------------------------------------------------------------------------
  Reply get_workers() {
    const double unit = h1();
    JArray a = arr();
    for (const auto& w : stats.workers(now_ms())) a->add(worker_json(w, unit));
    JObject o = obj();
    o->set("workers", a);
    return Reply::json(200, to_json(o));
  }

  Reply get_devices() {
    JArray a = arr();
    if (src.scheduler != nullptr)
      for (const auto& d : src.scheduler->devices()) a->add(device_json(d));
    // GPU entries another backend's entry mines (one physical card listed by several backends).
    JArray dups = arr();
    if (src.scheduler != nullptr)
      for (const auto& d : src.scheduler->duplicate_devices()) {
        JObject e = obj();
        e->set("id", d.id);
        e->set("name", d.name);
        e->set("backend", d.backend);
        e->set("duplicate_of", d.duplicate_of);
        dups->add(e);
      }
    JObject o = obj();
    o->set("devices", a);
    o->set("duplicates", dups);
    return Reply::json(200, to_json(o));
  }

  /// Hashes a share of difficulty 1 takes for `algorithm` (0 = no such algorithm plugin).
  double h1_of(const std::string& algorithm) const {
    if (src.loader == nullptr) return 0;
    const auto* rec = src.loader->find_algorithm(algorithm);
    if (rec == nullptr) return 0;
    const auto* algo = static_cast<const otd_algorithm_t*>(rec->table);
    std::array<uint8_t, OTD_HASH_SIZE> target{};
    if (algo->target_from_difficulty(rec->instance, 1.0, target.data()) != OTD_OK) return 0;
    double t = 0;  // the target as a little-endian 256-bit number
    for (size_t i = target.size(); i-- > 0;) t = t * 256.0 + target[i];
    return t > 0 ? std::ldexp(1.0, 256) / (t + 1.0) : 0;
  }

  /// pool.coins: one pool per coin, each with its own algorithm, scheme, fee, source, port and figures (its
  /// workers' shares, its blocks in the ledger, its source's height).
  Reply get_coin_pools() {
    const auto coins = config::coin_configs(cfg);
    std::vector<std::string> listening;
    if (src.stratum_listening) listening = src.stratum_listening();
    const auto workers = stats.workers(now_ms());
    JArray a = arr();
    for (size_t i = 0; i < coins.size(); ++i) {
      const auto& c = coins[i];
      double per_s = 0;
      size_t active = 0;
      std::set<std::string> accounts;
      for (const auto& w : workers) {
        if (w.coin != c.coin || w.difficulty_per_s <= 0) continue;
        per_s += w.difficulty_per_s;
        ++active;
        accounts.insert(w.account);
      }
      JObject p = obj();
      p->set("coin", c.coin);
      p->set("algorithm", c.algorithm);
      p->set("scheme", std::string(config::to_string(c.config.pool.rewards.system)));
      p->set("fee", num(c.config.pool.fee_percentage));
      p->set("hashrate", num(per_s * h1_of(c.algorithm)));
      p->set("miners", static_cast<Poco::UInt64>(accounts.size()));
      p->set("workers", static_cast<Poco::UInt64>(active));
      p->set("blocks_found", static_cast<Poco::UInt64>(src.storage != nullptr ? src.storage->blocks(c.coin, 1'000'000).size() : 0));
      p->set("height", static_cast<Poco::UInt64>(src.coin_height ? src.coin_height(c.coin) : 0));
      p->set("source", c.config.pool.source);
      // The stratum server listens on one port per coin, in pool.coins order.
      const std::string port = listening.size() == coins.size() ? listening[i] : c.config.pool.address.to_string();
      p->set("stratum", cfg.pool.enable ? port : std::string());
      JArray ports = arr();
      if (cfg.pool.enable) ports->add(port);
      p->set("stratum_ports", ports);
      p->set("confirmations", static_cast<Poco::Int64>(c.config.pool.rewards.confirmations));
      p->set("minimum_payment", static_cast<Poco::Int64>(c.config.pool.payments.minimum));
      a->add(p);
    }
    JObject o = obj();
    o->set("pools", a);
    return Reply::json(200, to_json(o));
  }

  Reply get_pools() {
    if (!cfg.pool.coins.empty()) return get_coin_pools();
    const auto snap = stats.snapshot(now_ms());
    JObject p = obj();
    const std::string c = coin();
    p->set("coin", c);
    p->set("algorithm", cfg.mining.algorithm);
    p->set("scheme", std::string(config::reward_system_names[static_cast<size_t>(cfg.pool.rewards.system)]));
    p->set("fee", num(cfg.pool.fee_percentage));
    p->set("hashrate", num(snap.pool_difficulty_per_s * h1()));
    p->set("miners", static_cast<Poco::UInt64>(snap.accounts_active.size()));
    p->set("workers", static_cast<Poco::UInt64>(snap.workers_active));
    p->set("blocks_found", static_cast<Poco::UInt64>(blocks_in_storage + snap.totals.blocks));
    std::shared_ptr<const scheduler::Job> job;
    if (src.scheduler != nullptr) job = src.scheduler->current_job();
    p->set("height", static_cast<Poco::UInt64>(job ? job->tmpl->c.height : 0));
    p->set("source", cfg.pool.source);
    // Where the stratum server really listens (the system's port when 0 was configured), every port entry;
    // "stratum" is the first. Without the host's record (an in-process server), the configured address.
    std::vector<std::string> listening;
    if (src.stratum_listening) listening = src.stratum_listening();
    else if (cfg.pool.enable) listening.push_back(cfg.pool.address.to_string());
    p->set("stratum", listening.empty() ? std::string() : listening.front());
    JArray ports = arr();
    for (const auto& l : listening) ports->add(l);
    p->set("stratum_ports", ports);
    p->set("confirmations", static_cast<Poco::Int64>(cfg.pool.rewards.confirmations));
    JArray a = arr();
    a->add(p);
    JObject o = obj();
    o->set("pools", a);
    return Reply::json(200, to_json(o));
  }

  static size_t limit_of(const Poco::URI::QueryParameters& q, size_t dflt, size_t max, std::string* error) {
    for (const auto& [k, v] : q) {
      if (k != "limit") continue;
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || end == nullptr || *end != '\0' || n < 1 || static_cast<unsigned long long>(n) > max) {
        *error = "limit must be an integer 1.." + std::to_string(max) + ", got '" + v.substr(0, 32) + "'";
        return 0;
      }
      return static_cast<size_t>(n);
    }
    return dflt;
  }

  Reply get_blocks(const std::string& c, size_t limit) {
    JArray a = arr();
    if (src.storage != nullptr) {
      for (const auto& b : src.storage->blocks(c, limit)) {
        JObject o = obj();
        o->set("height", static_cast<Poco::Int64>(b.height));
        o->set("hash", hex(b.hash.data(), b.hash.size()));
        o->set("status", std::string(storage::to_string(b.status)));
        o->set("reward", static_cast<Poco::Int64>(b.reward));
        o->set("time_ms", static_cast<Poco::Int64>(b.found_at_ms));
        o->set("finder", b.finder);
        o->set("confirmations", static_cast<Poco::Int64>(b.confirmations));
        o->set("credited", b.credited_at_ms != 0);
        a->add(o);
      }
    }
    JObject o = obj();
    o->set("coin", c);
    o->set("blocks", a);
    return Reply::json(200, to_json(o));
  }

  Reply get_payments(const std::string& c, size_t limit) {
    JArray a = arr();
    if (src.storage != nullptr)
      for (const auto& p : src.storage->payments(c, limit)) a->add(payment_json(p));
    JObject o = obj();
    o->set("coin", c);
    o->set("payments", a);
    return Reply::json(200, to_json(o));
  }

  Reply get_miner(const std::string& c, const std::string& address) {
    const double unit = h1();
    const auto ws = stats.workers(now_ms(), &address);
    double hashrate = 0;
    uint64_t accepted = 0, rejected = 0;
    JArray workers = arr();
    for (const auto& w : ws) {
      if (!w.coin.empty() && w.coin != c) continue;
      hashrate += w.difficulty_per_s * unit;
      accepted += w.accepted;
      rejected += w.rejected;
      workers->add(worker_json(w, unit));
    }
    int64_t confirmed = 0, pending = 0, paid = 0;
    JArray payments = arr();
    if (src.storage != nullptr) {
      for (const auto& b : src.storage->balances(c))
        if (b.account == address) confirmed += b.amount;
      size_t listed = 0;
      for (const auto& p : src.storage->payments(c, 100000)) {
        if (p.account != address) continue;
        if (p.status == "intent") pending += p.amount;
        if (p.status == "sent" || p.status == "confirmed") paid += p.amount;
        if (listed++ < 100) payments->add(payment_json(p));
      }
    }
    JObject o = obj();
    o->set("coin", c);
    o->set("address", address);
    o->set("hashrate", num(hashrate));
    JObject shares = obj();
    shares->set("accepted", static_cast<Poco::UInt64>(accepted));
    shares->set("rejected", static_cast<Poco::UInt64>(rejected));
    o->set("shares", shares);
    JObject balance = obj();
    balance->set("pending", static_cast<Poco::Int64>(pending));
    balance->set("confirmed", static_cast<Poco::Int64>(confirmed));
    balance->set("paid", static_cast<Poco::Int64>(paid));
    o->set("balance", balance);
    o->set("payments", payments);
    o->set("workers", workers);
    return Reply::json(200, to_json(o));
  }

  Reply get_plugins() {
    JArray a = arr();
    for (const auto& r : src.loader->records()) {
      JObject o = obj();
      o->set("id", r.id);
      o->set("name", r.name);
      o->set("kind", std::string(r.kind != 0 ? loader::kind_name(r.kind) : ""));
      o->set("version", r.version);
      o->set("abi", std::to_string(r.abi_major) + "." + std::to_string(r.abi_minor));
      o->set("file", r.path.string());
      o->set("status", std::string(r.loaded() ? "loaded" : r.stage == loader::Stage::disabled ? "disabled" : "rejected"));
      o->set("vendor", r.vendor);
      o->set("description", r.description);
      o->set("interface", r.interface_id);
      o->set("stage", std::string(loader::stage_name(r.stage)));
      o->set("reason", r.reason);
      a->add(o);
    }
    JObject o = obj();
    o->set("plugins", a);
    return Reply::json(200, to_json(o));
  }

  Reply set_mining(bool on) {
    if (src.scheduler == nullptr) return Reply::error(503, "no scheduler: the host is not serving");
    JObject o = obj();
    o->set("mining", src.scheduler->set_mining(on));
    return Reply::json(200, to_json(o));
  }

  Reply post_token(HTTPServerRequest& req, const std::string& client) {
    if (!cfg.api.auth.enabled) return Reply::error(400, "api.auth.enabled is false: the API needs no token");
    std::string body;
    if (!read_body(req, &body)) return Reply::error(413, "request body over " + std::to_string(kMaxBody) + " bytes");
    std::string secret;
    try {
      Poco::JSON::Parser parser;
      const auto v = parser.parse(body);
      const auto o = v.extract<Poco::JSON::Object::Ptr>();
      if (!o || !o->has("secret") || !o->get("secret").isString())
        return Reply::error(400, "body must be a JSON object {\"secret\": \"<admin secret>\"}");
      secret = o->getValue<std::string>("secret");
    } catch (const std::exception&) {
      // The parser's message may quote the body, which holds the secret: not repeated here.
      return Reply::error(400, "body is not JSON: expected {\"secret\": \"<admin secret>\"}");
    }
    if (!tokens.has_secret()) return Reply::error(503, "no admin secret is configured (api.auth.secret or $OTEDAMA_API_SECRET): no token can be issued");
    const auto issued = tokens.issue(secret);
    if (!issued) {
      log::get("api")->warn("wrong admin secret from {}", client);
      return Reply::error(401, "wrong secret");
    }
    JObject o = obj();
    o->set("token", issued->token);
    o->set("expires_ms", static_cast<Poco::Int64>(issued->expires_ms));
    return Reply::json(200, to_json(o));
  }

  static bool read_body(HTTPServerRequest& req, std::string* body) {
    if (req.hasContentLength() && req.getContentLength64() > static_cast<Poco::Int64>(kMaxBody)) return false;
    std::istream& in = req.stream();
    char buf[4096];
    while (in) {
      in.read(buf, sizeof buf);
      body->append(buf, static_cast<size_t>(in.gcount()));
      if (body->size() > kMaxBody) return false;
    }
    return true;
  }

  /// nullopt when the request may go on; otherwise the 401 to send.
  std::optional<Reply> authorize(HTTPServerRequest& req, const Poco::URI::QueryParameters& q, bool write) {
    if (!cfg.api.auth.enabled) return std::nullopt;
    if (!write && cfg.api.auth.public_read) return std::nullopt;
    std::string token = req.get("Authorization", "");
    if (token.empty())
      for (const auto& [k, v] : q)
        if (k == "token") token = v;  // browsers cannot set headers on a WebSocket
    const char* why = nullptr;
    switch (tokens.check(token)) {
      case TokenStore::Check::ok: return std::nullopt;
      case TokenStore::Check::missing:
        why = tokens.has_secret() ? "missing token: send Authorization: Bearer <token> (from POST /api/auth/token)"
                                  : "missing token, and no admin secret is configured (api.auth.secret or $OTEDAMA_API_SECRET), so none can be issued";
        break;
      case TokenStore::Check::unknown: why = "unknown token: get one from POST /api/auth/token"; break;
      case TokenStore::Check::expired: why = "token expired: get a new one from POST /api/auth/token"; break;
    }
    Reply r = Reply::error(401, why);
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }

  /// No Origin (not a browser), the page's own origin (Origin's host:port is the Host header), or an origin
  /// api.cors_origins allows.
  [[nodiscard]] bool same_origin_or_allowed(const HTTPServerRequest& req) const {
    const std::string origin = req.get("Origin", "");
    if (origin.empty()) return true;
    if (!allowed_origin(origin).empty()) return true;
    const auto sep = origin.find("://");
    const std::string host_port = sep == std::string::npos ? origin : origin.substr(sep + 3);
    return !req.getHost().empty() && Poco::icompare(host_port, req.getHost()) == 0;
  }

  [[nodiscard]] std::string allowed_origin(const std::string& origin) const {
    if (origin.empty()) return "";
    for (const auto& o : cfg.api.cors_origins) {
      if (o == "*") return "*";
      if (o == origin) return origin;
    }
    return "";
  }

  // --- dispatch ------------------------------------------------------------------------------------------
  void handle(HTTPServerRequest& req, HTTPServerResponse& resp) {
    const auto t0 = std::chrono::steady_clock::now();
    requests.fetch_add(1);
    std::string endpoint = "other";
    int code = 500;
    try {
      code = dispatch(req, resp, endpoint);
    } catch (const Poco::TimeoutException& e) {
      log::get("api")->debug("{} {}: client timed out: {}", req.getMethod(), endpoint, e.displayText());
      code = 499;
    } catch (const Poco::IOException& e) {
      // The client went away or stalled past the socket timeout: its loss, nobody else's.
      log::get("api")->debug("{} {}: client I/O failed: {}", req.getMethod(), endpoint, e.displayText());
      code = 499;
    } catch (const std::exception& e) {
      log::get("api")->error("{} {} failed: {}", req.getMethod(), endpoint, e.what());
      if (!resp.sent()) code = send(resp, Reply::error(500, std::string("internal error: ") + e.what()), "");
    }
    src.metrics->update(m_requests, {endpoint, std::to_string(code)}, 1);
    src.metrics->update(m_duration, {endpoint}, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  int send(HTTPServerResponse& resp, const Reply& r, const std::string& origin, bool head = false) {
    resp.setStatus(static_cast<HTTPResponse::HTTPStatus>(r.code));
    resp.setContentType(r.content_type);
    resp.set("Cache-Control", "no-store");
    resp.set("X-Content-Type-Options", "nosniff");
    if (!origin.empty()) {
      resp.set("Access-Control-Allow-Origin", origin);
      resp.set("Vary", "Origin");
    }
    for (const auto& [k, v] : r.headers) resp.set(k, v);
    resp.setContentLength64(static_cast<Poco::Int64>(r.body.size()));
    std::ostream& out = resp.send();
    if (!head) out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    out.flush();
    return r.code;
  }

  int dispatch(HTTPServerRequest& req, HTTPServerResponse& resp, std::string& endpoint) {
    const std::string client = req.clientAddress().host().toString();
    const std::string origin = allowed_origin(req.get("Origin", ""));
    const std::string& method = req.getMethod();
    Poco::URI uri;
    try {
      uri = Poco::URI(req.getURI());
    } catch (const Poco::Exception&) {
      return send(resp, Reply::error(400, "malformed request URI"), origin);
    }
    const std::string path = uri.getPath();
    Poco::URI::QueryParameters query;
    try {
      query = uri.getQueryParameters();
    } catch (const Poco::Exception&) {
      return send(resp, Reply::error(400, "malformed query string"), origin);
    }
    double retry = 0;
    if (!limiter.allow(client, std::chrono::steady_clock::now(), &retry)) {
      endpoint = "rate_limited";
      src.metrics->update(m_limited, {}, 1);
      Reply r = Reply::error(429, "rate limited: more than " + std::to_string(cfg.api.rate_limit) + " requests a second from " + client + " (api.rate_limit)");
      r.headers.emplace_back("Retry-After", std::to_string(static_cast<int>(std::ceil(std::max(retry, 1.0)))));
      return send(resp, r, origin);
    }
    // A browser page of another origin may not drive the API: state changes and the WebSocket (which
    // browsers open cross-origin without asking) are refused unless api.cors_origins lets that origin in.
    if ((method == "POST" || path == "/api/ws") && !same_origin_or_allowed(req)) {
      endpoint = "cross_origin";
      return send(resp, Reply::error(403, "cross-origin request from " + req.get("Origin").substr(0, 200) + " refused (api.cors_origins)"), origin);
    }
    const bool head = method == "HEAD";
    const bool get = method == "GET" || head;
    const bool post = method == "POST";
    if (method == "OPTIONS") {
      endpoint = "preflight";
      Reply r{204, "", "text/plain", {}};
      if (!origin.empty()) {
        r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
        r.headers.emplace_back("Access-Control-Max-Age", "600");
      }
      return send(resp, r, origin);
    }
    const auto parts = split_path(path);
    auto wrong_method = [&](const char* allow) {
      Reply r = Reply::error(405, "method " + method + " not allowed on " + endpoint + " (allowed: " + allow + ")");
      r.headers.emplace_back("Allow", allow);
      return send(resp, r, origin, head);
    };
    auto read_only = [&](auto&& fn) {
      if (!get) return wrong_method("GET");
      if (auto refused = authorize(req, query, false)) return send(resp, *refused, origin, head);
      return send(resp, fn(), origin, head);
    };
    if (parts.empty() || parts[0] != "api") {
      // The dashboard's files.
      endpoint = "/";
      if (!get) return wrong_method("GET");
      std::string want = path == "/" || path.empty() ? "index.html" : path.substr(1);
      for (const auto& a : dashboard_assets()) {
        if (a.path == want) {
          Reply r{200, std::string(a.body), std::string(a.content_type), {}};
          return send(resp, r, origin, head);
        }
      }
      return send(resp, Reply::error(404, "no such file: " + path.substr(0, 200)), origin, head);
    }
    const std::string p1 = parts.size() > 1 ? parts[1] : "";
    if (parts.size() == 2 && p1 == "status") {
      endpoint = "/api/status";
      return read_only([&] { return Reply::json(200, to_json(status_json(false))); });
    }
    if (parts.size() == 2 && p1 == "stats") {
      endpoint = "/api/stats";
      return read_only([&] { return Reply::json(200, to_json(status_json(true))); });
    }
    if (parts.size() == 2 && p1 == "workers") {
      endpoint = "/api/workers";
      return read_only([&] { return get_workers(); });
    }
    if (parts.size() == 2 && p1 == "devices") {
      endpoint = "/api/devices";
      return read_only([&] { return get_devices(); });
    }
    if (parts.size() == 2 && p1 == "plugins") {
      endpoint = "/api/plugins";
      return read_only([&] { return get_plugins(); });
    }
    if (parts.size() == 2 && p1 == "pools") {
      endpoint = "/api/pools";
      return read_only([&] { return get_pools(); });
    }
    if (p1 == "pools" && parts.size() >= 4) {
      const std::string c = Poco_decode(parts[2]);
      const std::string& what = parts[3];
      if (parts.size() == 4 && (what == "blocks" || what == "payments")) {
        endpoint = "/api/pools/{coin}/" + what;
        if (!valid_segment(c, 32)) return send(resp, Reply::error(400, "bad coin in the path: 1-32 letters, digits, - _ . : +"), origin, head);
        std::string err;
        const size_t limit = limit_of(query, 50, 1000, &err);
        if (limit == 0) return send(resp, Reply::error(400, err), origin, head);
        return read_only([&] { return what == "blocks" ? get_blocks(c, limit) : get_payments(c, limit); });
      }
      if (parts.size() == 5 && what == "miners") {
        endpoint = "/api/pools/{coin}/miners/{address}";
        const std::string address = Poco_decode(parts[4]);
        if (!valid_segment(c, 32)) return send(resp, Reply::error(400, "bad coin in the path: 1-32 letters, digits, - _ . : +"), origin, head);
        if (!valid_segment(address, 256))
          return send(resp, Reply::error(400, "bad miner address in the path: 1-256 letters, digits, - _ . : +"), origin, head);
        return read_only([&] { return get_miner(c, address); });
      }
    }
    if (parts.size() == 3 && p1 == "mining" && (parts[2] == "start" || parts[2] == "stop")) {
      endpoint = "/api/mining/" + parts[2];
      if (!post) return wrong_method("POST");
      {
        // No body is needed; one that came is read, so the connection can carry the next request.
        std::string ignored;
        if (!read_body(req, &ignored)) resp.setKeepAlive(false);
      }
      if (auto refused = authorize(req, query, true)) return send(resp, *refused, origin);
      return send(resp, set_mining(parts[2] == "start"), origin);
    }
    if (parts.size() == 3 && p1 == "auth" && parts[2] == "token") {
      endpoint = "/api/auth/token";
      if (!post) return wrong_method("POST");
      return send(resp, post_token(req, client), origin);
    }
    if (parts.size() == 2 && p1 == "docs") {
      endpoint = "/api/docs";
      if (!get) return wrong_method("GET");
      return send(resp, Reply{200, docs_html(), "text/html; charset=utf-8", {}}, origin, head);
    }
    if (parts.size() == 2 && p1 == "openapi.json") {
      endpoint = "/api/openapi.json";
      if (!get) return wrong_method("GET");
      return send(resp, Reply::json(200, openapi_json()), origin, head);
    }
    if (parts.size() == 2 && p1 == "ws") {
      endpoint = "/api/ws";
      if (method != "GET") return wrong_method("GET");
      if (auto refused = authorize(req, query, false)) return send(resp, *refused, origin);
      return websocket(req, resp, client, origin);
    }
    endpoint = "unknown";
    return send(resp, Reply::error(404, "no such endpoint: " + method + " " + path.substr(0, 200) + " (see /api/docs)"), origin, head);
  }

  static std::string Poco_decode(const std::string& s) {
    std::string out;
    Poco::URI::decode(s, out);
    return out;
  }

  // --- WebSocket -----------------------------------------------------------------------------------------
  int websocket(HTTPServerRequest& req, HTTPServerResponse& resp, const std::string& client, const std::string& origin) {
    if (Poco::icompare(req.get("Upgrade", ""), "websocket") != 0)
      return send(resp, Reply::error(400, "expected a WebSocket upgrade (Upgrade: websocket) on /api/ws"), origin);
    auto c = std::make_shared<WsClient>();
    c->peer = client;
    {
      std::lock_guard lock(clients_mutex);
      if (clients.size() >= kMaxWsClients || stopping.load()) {
        Reply r = Reply::error(503, "too many WebSocket clients (" + std::to_string(kMaxWsClients) + ")");
        r.headers.emplace_back("Retry-After", "5");
        return send(resp, r, origin);
      }
    }
    std::unique_ptr<Poco::Net::WebSocket> ws;
    try {
      ws = std::make_unique<Poco::Net::WebSocket>(req, resp);
    } catch (const Poco::Exception& e) {
      if (!resp.sent()) return send(resp, Reply::error(400, "WebSocket handshake failed: " + e.displayText()), origin);
      return 400;
    }
    {
      std::lock_guard lock(clients_mutex);
      clients.push_back(c);
      src.metrics->update(m_ws_clients, {}, static_cast<double>(clients.size()));
    }
    log::get("api")->debug("WebSocket client {} connected", client);
    const char* end_reason = serve_ws(*ws, *c);
    {
      std::lock_guard lock(clients_mutex);
      clients.remove(c);
      src.metrics->update(m_ws_clients, {}, static_cast<double>(clients.size()));
    }
    if (end_reason != nullptr) {
      ws_dropped.fetch_add(1);
      src.metrics->update(m_ws_dropped, {end_reason}, 1);
    }
    log::get("api")->debug("WebSocket client {} gone ({})", client, end_reason != nullptr ? end_reason : "closed");
    return 101;
  }

  void ws_send(Poco::Net::WebSocket& ws, const std::string& text) {
    ws.sendFrame(text.data(), static_cast<int>(text.size()), Poco::Net::WebSocket::FRAME_TEXT);
    ws_messages.fetch_add(1);
    src.metrics->update(m_ws_messages, {}, 1);
  }

  /// Handles one client message; returns the reply to send.
  std::string ws_command(WsClient& c, const std::string& text) {
    JObject data = obj();
    Poco::JSON::Object::Ptr o;
    try {
      Poco::JSON::Parser parser;
      o = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception&) {
      o = nullptr;
    }
    if (!o) {
      data->set("error", std::string("message is not a JSON object: expected {\"subscribe\": [\"share\", \"block\", \"payment\", \"hashrate\", \"device\"]}"));
      return message("error", now_ms(), data);
    }
    if (!o->has("subscribe") || !o->get("subscribe").isArray()) {
      data->set("error", std::string("unknown message: expected {\"subscribe\": [topics]}"));
      return message("error", now_ms(), data);
    }
    const auto list = o->getArray("subscribe");
    uint32_t mask = 0;
    JArray names = arr();
    for (size_t i = 0; i < list->size(); ++i) {
      const auto v = list->get(static_cast<unsigned>(i));
      const std::string name = v.isString() ? v.convert<std::string>() : std::string();
      const auto it = std::find_if(kTopics.begin(), kTopics.end(), [&](const auto& t) { return t.first == name; });
      if (it == kTopics.end()) {
        data->set("error", "unknown topic '" + (v.isString() ? name.substr(0, 64) : std::string("(not a string)")) +
                               "': topics are share, block, payment, hashrate, device");
        return message("error", now_ms(), data);
      }
      if ((mask & it->second) == 0U) names->add(std::string(it->first));
      mask |= it->second;
    }
    {
      std::lock_guard lock(c.mutex);
      c.topics = mask;
      // From the answer on, only the topics asked for: what is queued of the others goes.
      std::erase_if(c.queue, [mask](const auto& m) { return (m.first & mask) == 0U; });
    }
    data->set("topics", names);
    return message("subscribed", now_ms(), data);
  }

  /// Runs one WebSocket connection until it closes. Returns nullptr for an orderly close, or why the
  /// client was dropped ("slow", "protocol", "send_failed").
  const char* serve_ws(Poco::Net::WebSocket& ws, WsClient& c) {
    using WS = Poco::Net::WebSocket;
    ws.setSendTimeout(Poco::Timespan(5, 0));
    ws.setReceiveTimeout(Poco::Timespan(5, 0));
    ws.setMaxPayloadSize(kWsMaxFrame);
    std::vector<char> buf(static_cast<size_t>(kWsMaxFrame) + 1);
    try {
      while (!stopping.load()) {
        std::deque<std::pair<uint32_t, std::shared_ptr<const std::string>>> out;
        bool overflow = false;
        {
          std::lock_guard lock(c.mutex);
          out.swap(c.queue);
          overflow = c.overflow;
        }
        if (overflow) {
          log::get("api")->warn("WebSocket client {} dropped: it fell {} messages behind", c.peer, kWsQueueCap);
          try {
            ws.shutdown(WS::WS_POLICY_VIOLATION, "too slow: send queue full");
          } catch (const Poco::Exception&) {
          }
          return "slow";
        }
        for (const auto& m : out) ws_send(ws, *m.second);
        if (!ws.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR)) continue;
        int flags = 0;
        const int n = ws.receiveFrame(buf.data(), static_cast<int>(buf.size()), flags);
        const int op = flags & WS::FRAME_OP_BITMASK;
        if (n == 0 && flags == 0) return nullptr;  // the peer closed the connection
        if (op == WS::FRAME_OP_CLOSE) {
          try {
            ws.shutdown();
          } catch (const Poco::Exception&) {
          }
          return nullptr;
        }
        if (op == WS::FRAME_OP_PING) {
          ws.sendFrame(buf.data(), n, static_cast<int>(WS::FRAME_FLAG_FIN) | static_cast<int>(WS::FRAME_OP_PONG));
          continue;
        }
        if (op == WS::FRAME_OP_PONG) continue;
        if (op == WS::FRAME_OP_TEXT && (flags & WS::FRAME_FLAG_FIN) != 0) {
          ws_send(ws, ws_command(c, std::string(buf.data(), static_cast<size_t>(n))));
          continue;
        }
        if (op != WS::FRAME_OP_BINARY && op != WS::FRAME_OP_TEXT && op != WS::FRAME_OP_CONT) {
          // Reserved opcodes (RFC 6455 5.2): a protocol error.
          ws_errors.fetch_add(1);
          log::get("api")->info("WebSocket client {} sent a frame with reserved opcode {:#x}: closing", c.peer, op);
          try {
            ws.shutdown(WS::WS_PROTOCOL_ERROR, "reserved opcode");
          } catch (const Poco::Exception&) {
          }
          return "protocol";
        }
        JObject data = obj();
        data->set("error", std::string("binary or fragmented messages are not understood: send one JSON text frame"));
        ws_send(ws, message("error", now_ms(), data));
      }
      try {
        ws.shutdown(WS::WS_ENDPOINT_GOING_AWAY, "host stopping");
      } catch (const Poco::Exception&) {
      }
      return nullptr;
    } catch (const Poco::TimeoutException&) {
      log::get("api")->warn("WebSocket client {} dropped: a send did not finish within 5 s", c.peer);
      return "send_failed";
    } catch (const Poco::Net::WebSocketException& e) {
      ws_errors.fetch_add(1);
      log::get("api")->info("WebSocket client {}: {}: closing", c.peer, e.displayText());
      try {
        const auto code = e.code() == Poco::Net::WebSocket::WS_ERR_PAYLOAD_TOO_BIG ? WS::WS_PAYLOAD_TOO_BIG : WS::WS_PROTOCOL_ERROR;
        ws.shutdown(code, "bad frame");
      } catch (const Poco::Exception&) {
      }
      return "protocol";
    } catch (const Poco::Exception& e) {
      log::get("api")->info("WebSocket client {}: {}", c.peer, e.displayText());
      return "send_failed";
    }
  }

  // --- ticker --------------------------------------------------------------------------------------------
  void tick_loop() {
    uint64_t n = 0;
    std::unique_lock lock(tick_mutex);
    while (!stopping.load()) {
      tick_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping.load(); });
      if (stopping.load()) break;
      lock.unlock();
      try {
        tick(n++);
      } catch (const std::exception& e) {
        log::get("api")->warn("tick failed: {}", e.what());
      }
      lock.lock();
    }
  }

  void tick(uint64_t n) {
    if (n % 2 == 0) poll_storage();
    if (clients_empty()) return;
    const int64_t t = now_ms();
    const auto snap = stats.snapshot(t);
    double hashrate = 0;
    std::vector<scheduler::Scheduler::DeviceStatus> devs;
    if (src.scheduler != nullptr) devs = src.scheduler->devices();
    for (const auto& d : devs) hashrate += d.hashrate;
    JObject d = obj();
    d->set("hashrate", num(hashrate));
    d->set("pool_hashrate", num(snap.pool_difficulty_per_s * h1()));
    d->set("shares_accepted", static_cast<Poco::UInt64>(snap.totals.accepted));
    d->set("shares_rejected", static_cast<Poco::UInt64>(snap.totals.rejected));
    d->set("workers", static_cast<Poco::UInt64>(snap.workers_active));
    d->set("connections", static_cast<Poco::Int64>(connections()));
    d->set("mining", src.scheduler != nullptr && src.scheduler->mining());
    d->set("blocks_found", static_cast<Poco::UInt64>(blocks_in_storage + snap.totals.blocks));
    broadcast(kHashrate, message("hashrate", t, d));
    for (const auto& dev : devs) broadcast(kDevice, message("device", t, device_json(dev)));
  }

  /// Blocks and payments change in storage (the ledger keeper confirms, the payer pays): pushed when seen.
  void poll_storage() {
    if (src.storage == nullptr) return;
    const bool first = !polled_once;
    polled_once = true;
    for (const auto& b : src.storage->blocks("", 100)) {
      const std::string h = hex(b.hash.data(), b.hash.size());
      const std::string status = b.status == storage::BlockStatus::pending ? "found" : std::string(storage::to_string(b.status));
      auto [it, fresh] = block_status.try_emplace(h, status);
      if (!fresh && it->second == status) continue;
      it->second = status;
      if (first) {
        std::lock_guard lock(announced_mutex);
        blocks_announced.insert(h + "/" + status);
        continue;
      }
      announce_block(b.coin, static_cast<uint64_t>(b.height), h, status, b.reward, b.finder);
    }
    if (block_status.size() > 10000) block_status.clear();
    for (const auto& p : src.storage->payments("", 100)) {
      if (p.status != "sent" && p.status != "confirmed") continue;
      if (!payments_announced.insert(p.id).second || first) continue;
      JObject d = obj();
      d->set("coin", p.coin);
      d->set("address", p.account);
      d->set("amount", static_cast<Poco::Int64>(p.amount));
      d->set("txid", p.txid);
      d->set("id", static_cast<Poco::Int64>(p.id));
      broadcast(kPayment, message("payment", now_ms(), d));
    }
  }
};

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(ApiServer::Impl& impl) : impl_(impl) {}
  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override { impl_.handle(req, resp); }

 private:
  ApiServer::Impl& impl_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(ApiServer::Impl& impl) : impl_(impl) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override { return new Handler(impl_); }

 private:
  ApiServer::Impl& impl_;
};

}  // namespace

ApiServer::ApiServer(Sources sources) : impl_(std::make_unique<Impl>(std::move(sources))) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::on_event(const router::Event& event) {
  try {
    impl_->on_event(event);
  } catch (const std::exception& e) {
    log::get("api")->warn("event not handled: {}", e.what());
  }
}

bool ApiServer::start(std::string* error) {
  auto& im = *impl_;
  auto logger = log::get("api");
  if (im.cfg.api.auth.enabled) {
    if (im.tokens.has_secret()) {
      logger->info("{}", im.secret_note);
    } else {
      logger->error("{}", im.secret_note);
    }
  }
  try {
    const auto& a = im.cfg.api.address;
    // SO_REUSEADDR (a restarted host binds at once) but never SO_REUSEPORT, which Poco's one-argument
    // bind also sets: with it a second host would share the port and get half of the first one's requests.
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(a.host.empty() ? "0.0.0.0" : a.host, a.port), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(64);
    im.bound_port = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxQueued(128);
    params->setMaxThreads(kMaxPoolThreads);
    params->setTimeout(Poco::Timespan(10, 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(10, 0));
    params->setServerName(std::string("otedama-host/") + im.src.version);
    im.server = std::make_unique<Poco::Net::HTTPServer>(new Factory(im), im.pool, socket, params);
    im.server->start();
  } catch (const Poco::Exception& e) {
    if (error != nullptr) *error = "cannot listen on " + im.cfg.api.address.to_string() + ": " + e.displayText();
    im.server.reset();
    return false;
  }
  im.started = true;
  im.ticker = std::thread([&im] { im.tick_loop(); });
  logger->info("listening on {}:{} (auth {}, reads {}, rate limit {}/s per IP, CORS {})",
               im.cfg.api.address.host.empty() ? "0.0.0.0" : im.cfg.api.address.host, im.bound_port,
               im.cfg.api.auth.enabled ? "on" : "off", !im.cfg.api.auth.enabled || im.cfg.api.auth.public_read ? "public" : "need a token",
               im.cfg.api.rate_limit, im.cfg.api.cors_origins.empty() ? "off" : "on");
  return true;
}

void ApiServer::stop() {
  auto& im = *impl_;
  if (!im.started || im.stopping.exchange(true)) return;
  {
    std::lock_guard lock(im.tick_mutex);
  }
  im.tick_cv.notify_all();
  if (im.ticker.joinable()) im.ticker.join();
  // stopAll(true): stop accepting and close idle keep-alive connections; WebSocket threads see `stopping`
  // within one poll interval and close their clients.
  if (im.server) im.server->stopAll(true);
  im.pool.joinAll();
  im.server.reset();
}

uint16_t ApiServer::port() const { return impl_->bound_port; }

}  // namespace otedama::api
