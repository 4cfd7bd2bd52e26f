#include "client.hpp"

#include "difficulty.hpp"  // stratum-server's wire units (NiceHash's for EthereumStratum/1.0.0)

#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/ethash/ethash.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace otedama::stratum_client {

namespace {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

/// Jobs remembered for late shares (a pool sends one every 30-60 s; this is hours of them).
constexpr size_t kJobsKept = 256;
/// Malformed lines logged one by one per connection; after that one line in 100.
constexpr uint32_t kMalformedLogged = 5;
/// Longest client.reconnect wait honoured.
constexpr uint64_t kMaxRedirectWaitS = 300;

std::string printable(std::string_view line, size_t max = 80) {
  std::string out;
  for (const char c : line.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
  if (line.size() > max) out += "...";
  return out;
}

std::string seconds(uint64_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : format("%.1f s", static_cast<double>(ms) / 1000.0);
}

std::string describe_close(uint32_t reason, std::string_view message) {
  std::string m(message);
  switch (reason) {
    case OTD_NET_CLOSED_BY_PEER: return "the pool closed the connection";
    case OTD_NET_CLOSED_LINE_TOO_LONG: return "the pool sent a line longer than the limit";
    case OTD_NET_CLOSED_IDLE: return "nothing received for too long";
    case OTD_NET_CLOSED_SEND_OVERFLOW: return "the pool does not read what is sent";
    case OTD_NET_CLOSED_ERROR: return "connection error" + (m.empty() ? std::string() : ": " + m);
    case OTD_NET_CLOSED_SHUTDOWN: return "the host is stopping";
    case OTD_NET_CONNECT_FAILED:  // the net service's message names the address ("cannot connect to h:p: refused")
      return m.rfind("cannot connect", 0) == 0 ? m : "cannot connect" + (m.empty() ? std::string() : ": " + m);
    default: return m.empty() ? "closed" : m;
  }
}

/// Request names by Pending::Kind, for messages.
const char* kind_name(int k) {
  static constexpr const char* names[] = {"mining.configure", "mining.subscribe", "mining.authorize", "mining.extranonce.subscribe",
                                          "mining.submit", "login", "keepalived"};
  return names[k];
}

}  // namespace

const char* dialect_name(Dialect d) noexcept {
  switch (d) {
    case Dialect::bitcoin: return "bitcoin";
    case Dialect::monero: return "monero";
    case Dialect::ethereum: return "ethereum";
  }
  return "?";
}

const char* counter_name(Counter c) noexcept {
  switch (c) {
    case Counter::accepted: return "accepted";
    case Counter::rejected: return "rejected";
    case Counter::unanswered: return "unanswered";
    case Counter::below_pool_target: return "below_pool_target";
    case Counter::stale_dropped: return "stale_dropped";
    case Counter::unknown_job: return "unknown_job";
    case Counter::templates: return "templates";
    case Counter::templates_refused: return "templates_refused";
    case Counter::malformed_lines: return "malformed_lines";
    case Counter::bad_messages: return "bad_messages";
    case Counter::unknown_methods: return "unknown_methods";
    case Counter::unexpected_responses: return "unexpected_responses";
    case Counter::connects: return "connects";
    case Counter::connect_failures: return "connect_failures";
    case Counter::disconnects: return "disconnects";
    case Counter::pool_switches: return "pool_switches";
    case Counter::reconnect_requests: return "reconnect_requests";
    case Counter::count_: break;
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------------------
// Configuration

std::optional<ClientConfig> parse_config(std::string_view text, std::string* error) {
  const auto fail = [error](std::string message) -> std::optional<ClientConfig> {
    if (error != nullptr) *error = "stratum-client: " + std::move(message);
    return std::nullopt;
  };
  json::Document doc;
  if (!doc.parse(text) || !doc.root().is_object()) return fail("the configuration is not a JSON object");
  const json::Value root = doc.root();
  ClientConfig c;
  const auto duration = [&](const json::Value& v, const char* key, uint64_t& out, uint64_t min_ms) -> bool {
    std::string why;
    std::string spelled;
    if (v.is_string()) v.decode_string(spelled);
    else if (v.is_number()) spelled = std::string(v.token());
    const auto ms = spelled.empty() ? std::nullopt : common::parse_duration_ms(spelled, &why);
    if (!ms || *ms < min_ms) {
      if (error != nullptr) *error = std::string("stratum-client: ") + key + " must be a duration of at least " + seconds(min_ms) + ", got " + std::string(v.token());
      return false;
    }
    out = *ms;
    return true;
  };
  for (uint32_t i = 0; i < root.size(); ++i) {
    std::string key;
    root.key_at(i).decode_string(key);
    const json::Value v = root.value_at(i);
    if (key == "pools") {
      if (!v.is_array()) return fail("pools must be a list of {url, user, pass}");
      json::Value p = v.size() > 0 ? v.at(0) : json::Value();
      for (uint32_t k = 0; k < v.size(); ++k, p = p.after()) {
        const std::string where = "pools[" + std::to_string(k) + "]";
        if (!p.is_object()) return fail(where + " must be a map {url, user, pass}");
        PoolConfig pool;
        std::string url;
        for (uint32_t m = 0; m < p.size(); ++m) {
          std::string name;
          p.key_at(m).decode_string(name);
          const json::Value f = p.value_at(m);
          std::string value;
          if (!f.decode_string(value)) {
            if (f.is_null()) value.clear();
            else if (f.is_number() || f.is_bool()) value = std::string(f.token());  // YAML turns `pass: 123` into a number
            else return fail(where + "." + name + " must be a string");
          }
          if (name == "url") url = value;
          else if (name == "user") pool.user = value;
          else if (name == "pass") pool.pass = value;
          else return fail(where + "." + name + ": unknown key (known: url, user, pass)");
        }
        std::string why;
        const auto parsed = common::parse_stratum_url(url, &why);
        if (!parsed) return fail(where + ".url: " + why);
        pool.url = *parsed;
        if (pool.user.empty()) return fail(where + ".user is empty (pools need a user name, often the payout address)");
        if (pool.pass.empty()) pool.pass = "x";  // what cpuminer and xmrig send when none is given
        c.pools.push_back(std::move(pool));
      }
    } else if (key == "keepalive") {
      if (!duration(v, "keepalive", c.keepalive_ms, 1000)) return std::nullopt;
    } else if (key == "timeout") {
      if (!duration(v, "timeout", c.timeout_ms, 5000)) return std::nullopt;
    } else if (key == "retry_max") {
      if (!duration(v, "retry_max", c.retry_max_ms, 1000)) return std::nullopt;
    } else if (key == "algorithm") {
      if (!v.decode_string(c.algorithm) || c.algorithm.empty()) return fail("algorithm must be a non-empty string");
    } else if (key == "share_difficulty") {
      // The host's own setting (the local share target, core/scheduler): nothing for the client.
      if (!v.is_number()) return fail("share_difficulty must be a number");
    } else {
      return fail(key + ": unknown key (known: pools, keepalive, timeout, retry_max, share_difficulty, algorithm)");
    }
  }
  c.retry_min_ms = std::min(c.retry_min_ms, c.retry_max_ms);
  return c;
}

// ---------------------------------------------------------------------------------------------------------
// State

struct Client::Pending {
  enum class Kind { configure, subscribe, authorize, extranonce_subscribe, submit, login, keepalive };
  Kind kind = Kind::submit;
  uint64_t sent_ms = 0;
  uint64_t job_id = 0;  ///< submit: the host's job id
  double difficulty = 0;
  double share_difficulty = 0;
};

struct Client::Session {
  enum class State { connecting, subscribing, authorizing, ready, closing };
  uint64_t tag = 0;
  uint64_t conn = 0;
  size_t pool_index = 0;
  common::StratumUrl url;  ///< where it connects (a client.reconnect target may differ from the pool's URL)
  bool redirect = false;
  State state = State::connecting;
  uint64_t created_ms = 0, last_rx_ms = 0, last_tx_ms = 0;
  uint64_t next_id = 1;
  std::map<uint64_t, Pending> pending;
  bool subscribed = false;  ///< Bitcoin: extranonce1 known
  bool authorized = false;
  std::vector<uint8_t> extranonce1;
  uint32_t extranonce2_size = 0;
  double difficulty = 1;  ///< Stratum's default until mining.set_difficulty
  bool difficulty_set = false;
  uint32_t version_mask = 0;
  bool clean_next = false;  ///< the next job posted is clean (extranonce changed)
  std::optional<BitcoinNotify> latest;
  std::optional<MoneroJob> latest_monero;
  std::optional<EthereumJob> latest_ethereum;
  std::vector<uint8_t> nonce_prefix;  ///< Ethereum: the pool's extranonce, the nonce's most significant bytes
  common::Uint256 share_target{};     ///< Ethereum: the target of `difficulty` (set_difficulty / set_target)
  std::string session_id;  ///< Monero: the login's id
  uint32_t malformed = 0;
  bool warned_local_target = false;
  std::string close_why;
};

struct Client::JobRecord {
  uint64_t tag = 0;
  std::string pool_job_id;
  uint32_t extranonce2_size = 0;
  uint32_t ntime = 0;
  uint32_t version = 0;
  double difficulty = 0;
  common::Uint256 target{};
  bool provisional = false;  ///< posted before the pool set any difficulty: the first set_difficulty applies
  // Ethereum family: the nonce prefix the job was mined under, and the header (KawPow's submit repeats it).
  uint64_t nonce_prefix = 0;
  uint32_t nonce_prefix_bytes = 0;
  std::array<uint8_t, 32> header{};
};

struct Client::Outbox {
  std::vector<std::pair<uint64_t, std::string>> sends;
  std::vector<uint64_t> closes;
  std::vector<uint64_t> connects;  ///< session tags
  [[nodiscard]] bool empty() const noexcept { return sends.empty() && closes.empty() && connects.empty(); }
};

Client::Client(ClientConfig config, Env& env) : config_(std::move(config)), env_(env) { backoff_ms_ = config_.retry_min_ms; }

Client::~Client() = default;

Client::Session* Client::by_tag(uint64_t tag) {
  auto it = sessions_.find(tag);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Client::Session* Client::by_conn(uint64_t conn) {
  auto it = conn_to_tag_.find(conn);
  return it == conn_to_tag_.end() ? nullptr : by_tag(it->second);
}

void Client::flush(Outbox& out) {
  while (!out.empty()) {
    Outbox now = std::move(out);
    out = Outbox{};
    for (const auto& [conn, data] : now.sends) env_.send(conn, data);
    for (const uint64_t conn : now.closes) env_.close(conn);
    for (const uint64_t tag : now.connects) {
      common::StratumUrl url;
      {
        std::lock_guard lock(mutex_);
        Session* s = by_tag(tag);
        if (s == nullptr) continue;
        url = s->url;
      }
      std::string why;
      const uint64_t conn = env_.connect(url, tag, &why);
      std::lock_guard lock(mutex_);
      Session* s = by_tag(tag);
      if (conn == 0) {
        if (s != nullptr) closed(out, *s, OTD_NET_CONNECT_FAILED, why.empty() ? "refused by the host" : why);
        continue;
      }
      if (s == nullptr) {
        out.closes.push_back(conn);
        continue;
      }
      if (s->conn == 0) {
        s->conn = conn;
        conn_to_tag_[conn] = tag;
      }
      if (auto it = early_closes_.find(conn); it != early_closes_.end()) {
        const auto [reason, message] = it->second;
        early_closes_.erase(it);
        closed(out, *s, reason, message);
      } else if (s->state == Session::State::closing || stopped_) {
        out.closes.push_back(conn);
      }
    }
  }
}

void Client::send(Outbox& out, Session& s, std::string line) {
  s.last_tx_ms = env_.now_ms();
  if (s.conn != 0) out.sends.emplace_back(s.conn, std::move(line));
}

void Client::drop(Outbox& out, Session& s, const std::string& why) {
  if (s.state == Session::State::closing) return;
  s.close_why = why;
  s.state = Session::State::closing;
  if (s.conn != 0) out.closes.push_back(s.conn);
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle

void Client::start() {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    started_ = true;
    stopped_ = false;
    attempt_index_ = 0;
    next_attempt_ms_ = env_.now_ms();
    if (config_.pools.empty()) {
      log(OTD_LOG_ERROR, "stratum-client: no pool configured");
      return;
    }
    maybe_connect(out);
  }
  flush(out);
}

void Client::stop() {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    redirect_.reset();
    for (auto& [tag, s] : sessions_) drop(out, *s, "stopping");
  }
  flush(out);
}

void Client::begin_session(Outbox& out, size_t pool_index, const common::StratumUrl& url, const char* why) {
  auto s = std::make_unique<Session>();
  s->tag = next_tag_++;
  s->pool_index = pool_index;
  s->url = url;
  s->created_ms = s->last_rx_ms = env_.now_ms();
  candidate_ = s->tag;
  count(Counter::connects);
  log(active_ == 0 ? OTD_LOG_INFO : OTD_LOG_DEBUG,
      format("pool %zu/%zu %s: %s", pool_index + 1, config_.pools.size(), url.to_string().c_str(), why));
  out.connects.push_back(s->tag);
  sessions_[s->tag] = std::move(s);
}

void Client::maybe_connect(Outbox& out) {
  if (stopped_ || !started_ || candidate_ != 0 || config_.pools.empty()) return;
  const uint64_t now = env_.now_ms();
  if (redirect_ && now >= redirect_->at_ms) {
    const Redirect r = *redirect_;
    redirect_.reset();
    begin_session(out, r.pool_index, r.url, "reconnecting as the pool asked");
    by_tag(candidate_)->redirect = true;
    return;
  }
  if (active_ == 0) {
    if (redirect_) return;  // the pool asked us to wait before coming back
    if (now >= next_attempt_ms_) begin_session(out, attempt_index_, config_.pools[attempt_index_].url, "connecting");
    return;
  }
  const Session* a = by_tag(active_);
  if (a != nullptr && a->pool_index > 0 && now >= next_probe_ms_) {
    if (probe_index_ >= a->pool_index) probe_index_ = 0;
    const size_t i = probe_index_++;
    next_probe_ms_ = now + config_.retry_max_ms;
    begin_session(out, i, config_.pools[i].url, "trying a higher-priority pool");
  }
}

void Client::on_close(uint64_t conn, uint32_t reason, std::string_view message) {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    if (conn_to_tag_.find(conn) == conn_to_tag_.end()) {
      // connect() has not returned the id yet: flush() picks this up when it does.
      early_closes_[conn] = {reason, std::string(message)};
      return;
    }
    if (Session* s = by_conn(conn)) closed(out, *s, reason, message);
  }
  flush(out);
}

void Client::closed(Outbox& out, Session& session, uint32_t reason, std::string_view message) {
  Session* s = &session;
  const uint64_t tag = s->tag;
  const size_t pool_index = s->pool_index;
  const bool was_active = tag == active_;
  const bool was_candidate = tag == candidate_;
  const bool redirect = s->redirect;
  const bool authorized = s->authorized;
  const std::string url = s->url.to_string();
  const std::string why = !s->close_why.empty() ? s->close_why : describe_close(reason, message);
  conn_to_tag_.erase(s->conn);
  sessions_.erase(tag);  // `s` is gone from here on
  if (authorized) count(Counter::disconnects);
  else if (was_active || was_candidate) count(Counter::connect_failures);
  if (stopped_) return;
  const uint64_t now = env_.now_ms();
  const std::string where = format("pool %zu/%zu %s", pool_index + 1, config_.pools.size(), url.c_str());
  if (was_active) {
    active_ = 0;
    last_error_ = why;
    log(OTD_LOG_WARN, where + ": connection lost: " + why);
    attempt_index_ = 0;  // failover restarts from the most preferred pool
    next_attempt_ms_ = now;
  } else if (was_candidate) {
    candidate_ = 0;
    if (active_ == 0) {
      last_error_ = why;
      log(OTD_LOG_WARN, where + ": " + why);
      if (redirect) {
        attempt_index_ = pool_index;  // back to the pool's own address
        next_attempt_ms_ = now;
      } else if (pool_index + 1 < config_.pools.size()) {
        attempt_index_ = pool_index + 1;
        next_attempt_ms_ = now;
      } else {
        attempt_index_ = 0;
        next_attempt_ms_ = now + backoff_ms_;
        log(OTD_LOG_WARN, format("no pool reachable (%zu tried): next round in %s", config_.pools.size(), seconds(backoff_ms_).c_str()));
        backoff_ms_ = std::min(backoff_ms_ * 2, config_.retry_max_ms);
      }
    } else {
      log(OTD_LOG_DEBUG, where + ": not switching: " + why);
    }
  }
  maybe_connect(out);
}

void Client::tick() {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    const uint64_t now = env_.now_ms();
    for (auto& [tag, sp] : sessions_) {
      Session& s = *sp;
      if (s.state == Session::State::closing) continue;
      if (s.state == Session::State::connecting) {
        if (now - s.created_ms >= config_.connect_timeout_ms) drop(out, s, "no connection after " + seconds(config_.connect_timeout_ms));
        continue;
      }
      if (now - s.last_rx_ms >= config_.timeout_ms) {
        drop(out, s, "nothing received for " + seconds(config_.timeout_ms));
        continue;
      }
      for (auto it = s.pending.begin(); it != s.pending.end();) {
        if (now - it->second.sent_ms < config_.request_timeout_ms) {
          ++it;
          continue;
        }
        if (it->second.kind == Pending::Kind::submit || it->second.kind == Pending::Kind::keepalive ||
            it->second.kind == Pending::Kind::configure || it->second.kind == Pending::Kind::extranonce_subscribe) {
          // Optional requests may go unanswered (pools that do not know them); a lost submit is counted.
          if (it->second.kind == Pending::Kind::submit) {
            count(Counter::unanswered);
            log(OTD_LOG_WARN, format("pool %zu: share %llu of job %llu unanswered after %s", s.pool_index + 1,
                                     static_cast<unsigned long long>(it->first), static_cast<unsigned long long>(it->second.job_id),
                                     seconds(config_.request_timeout_ms).c_str()));
          }
          it = s.pending.erase(it);
          continue;
        }
        drop(out, s, std::string("no answer to ") + kind_name(static_cast<int>(it->second.kind)) + " within " + seconds(config_.request_timeout_ms));
        break;
      }
      if (s.state == Session::State::ready && config_.dialect == Dialect::monero && now - s.last_tx_ms >= config_.keepalive_ms) {
        const uint64_t id = s.next_id++;
        s.pending[id] = Pending{Pending::Kind::keepalive, now, 0, 0, 0};
        send(out, s, monero_keepalive(id, s.session_id));
      }
    }
    maybe_connect(out);
  }
  flush(out);
}

// ---------------------------------------------------------------------------------------------------------
// Lines from the pool

void Client::on_open(uint64_t conn, uint64_t tag, std::string_view peer) {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    Session* s = by_tag(tag);
    if (s == nullptr) {
      out.closes.push_back(conn);
    } else {
      if (s->conn == 0) {
        s->conn = conn;
        conn_to_tag_[conn] = tag;
      }
      if (s->state == Session::State::connecting) {
        const uint64_t now = env_.now_ms();
        s->state = Session::State::subscribing;
        s->last_rx_ms = now;
        log(OTD_LOG_DEBUG, format("pool %zu: connected to %s", s->pool_index + 1, std::string(peer).c_str()));
        if (config_.dialect == Dialect::bitcoin) {
          if (config_.version_rolling_mask != 0) {
            const uint64_t id = s->next_id++;
            s->pending[id] = Pending{Pending::Kind::configure, now, 0, 0, 0};
            send(out, *s, bitcoin_configure(id, config_.version_rolling_mask));
          }
          const uint64_t id = s->next_id++;
          s->pending[id] = Pending{Pending::Kind::subscribe, now, 0, 0, 0};
          send(out, *s, bitcoin_subscribe(id, config_.agent));
        } else if (config_.dialect == Dialect::ethereum) {
          const uint64_t id = s->next_id++;
          s->pending[id] = Pending{Pending::Kind::subscribe, now, 0, 0, 0};
          send(out, *s, ethereum_subscribe(id, config_.agent, config_.kawpow));
        } else {
          const PoolConfig& pool = config_.pools[s->pool_index];
          const uint64_t id = s->next_id++;
          s->pending[id] = Pending{Pending::Kind::login, now, 0, 0, 0};
          send(out, *s, monero_login(id, pool.user, pool.pass, config_.agent, "rx/0"));
        }
      }
    }
  }
  flush(out);
}

void Client::on_line(uint64_t conn, std::string_view line) {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    Session* s = by_conn(conn);
    if (s == nullptr || s->state == Session::State::closing || s->state == Session::State::connecting) return;
    on_message(out, *s, line);
  }
  flush(out);
}

void Client::on_message(Outbox& out, Session& s, std::string_view line) {
  s.last_rx_ms = env_.now_ms();
  if (line.empty()) return;  // blank lines between messages are harmless
  json::Document doc;
  const bool parsed = doc.parse(line);
  if (!parsed || !doc.root().is_object()) {
    count(Counter::malformed_lines);
    ++s.malformed;
    if (s.malformed <= kMalformedLogged || s.malformed % 100 == 0)
      log(OTD_LOG_WARN, format("pool %zu: malformed line #%u (%s): %s", s.pool_index + 1, s.malformed,
                               parsed ? "not a JSON object" : std::string(doc.error()).c_str(), printable(line).c_str()));
    if (line.rfind("HTTP/", 0) == 0) drop(out, s, "not a stratum server (it answers HTTP)");
    else if (s.malformed >= config_.malformed_limit) drop(out, s, std::to_string(s.malformed) + " malformed lines");
    return;
  }
  const json::Value root = doc.root();
  const json::Value method = root.find("method");
  if (method.exists() && !method.is_null()) {
    std::string name;
    if (!method.decode_string(name)) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: \"method\" is not a string: %s", s.pool_index + 1, printable(line).c_str()));
      return;
    }
    const json::Value id = root.find("id");
    const std::string_view id_token = id.exists() ? id.token() : std::string_view("null");
    if (config_.dialect == Dialect::bitcoin) on_bitcoin_method(out, s, name, id_token, root.find("params"));
    else if (config_.dialect == Dialect::ethereum) on_ethereum_method(out, s, name, id_token, root.find("params"));
    else on_monero_method(out, s, name, root.find("params"));
    return;
  }
  const auto id = root.find("id").integer();
  if (!id || *id < 0) {
    count(Counter::unexpected_responses);
    log(OTD_LOG_DEBUG, format("pool %zu: a message with neither method nor a numeric id: %s", s.pool_index + 1, printable(line).c_str()));
    return;
  }
  on_response(out, s, static_cast<uint64_t>(*id), root.find("result"), root.find("error"));
}

void Client::on_response(Outbox& out, Session& s, uint64_t id, const json::Value& result, const json::Value& error) {
  auto it = s.pending.find(id);
  if (it == s.pending.end()) {
    count(Counter::unexpected_responses);
    log(OTD_LOG_DEBUG, format("pool %zu: an answer to request %llu, which is not pending", s.pool_index + 1, static_cast<unsigned long long>(id)));
    return;
  }
  const Pending p = it->second;
  s.pending.erase(it);
  const auto err = parse_error(error);
  const PoolConfig& pool = config_.pools[s.pool_index];
  const uint64_t now = env_.now_ms();
  switch (p.kind) {
    case Pending::Kind::configure:
      s.version_mask = err ? 0 : (parse_configure_result(result) & config_.version_rolling_mask);
      log(OTD_LOG_DEBUG, format("pool %zu: version rolling %s (mask %08x)", s.pool_index + 1, s.version_mask != 0 ? "granted" : "not offered", s.version_mask));
      return;
    case Pending::Kind::subscribe: {
      std::string why;
      if (config_.dialect == Dialect::ethereum) {
        // [[...] or null, "nonce prefix"]
        auto prefix = err ? std::nullopt : parse_nonce_prefix(result, 1, &why);
        if (!prefix) {
          if (!err) count(Counter::bad_messages);
          drop(out, s, "subscribe refused: " + (err ? format("[%lld] %s", static_cast<long long>(err->code), err->message.c_str()) : why));
          return;
        }
        s.nonce_prefix = std::move(*prefix);
        s.subscribed = true;
        s.state = Session::State::authorizing;
        const uint64_t auth = s.next_id++;
        s.pending[auth] = Pending{Pending::Kind::authorize, now, 0, 0, 0};
        send(out, s, bitcoin_authorize(auth, pool.user, pool.pass));  // the same request (NiceHash's spec)
        log(OTD_LOG_DEBUG, format("pool %zu: subscribed, nonce prefix %s", s.pool_index + 1, common::to_hex(s.nonce_prefix).c_str()));
        if (s.latest_ethereum && s.tag == active_) post_latest(s, true);
        return;
      }
      const auto r = err ? std::nullopt : parse_subscribe_result(result, &why);
      if (!r) {
        if (!err) count(Counter::bad_messages);
        drop(out, s, "subscribe refused: " + (err ? format("[%lld] %s", static_cast<long long>(err->code), err->message.c_str()) : why));
        return;
      }
      s.extranonce1 = r->extranonce1;
      s.extranonce2_size = r->extranonce2_size;
      s.subscribed = true;
      s.state = Session::State::authorizing;
      const uint64_t auth = s.next_id++;
      s.pending[auth] = Pending{Pending::Kind::authorize, now, 0, 0, 0};
      send(out, s, bitcoin_authorize(auth, pool.user, pool.pass));
      if (s.url.extranonce_subscribe) {
        const uint64_t xn = s.next_id++;
        s.pending[xn] = Pending{Pending::Kind::extranonce_subscribe, now, 0, 0, 0};
        send(out, s, bitcoin_extranonce_subscribe(xn));
      }
      log(OTD_LOG_DEBUG, format("pool %zu: subscribed, extranonce1 %s, extranonce2 %u bytes", s.pool_index + 1,
                                common::to_hex(s.extranonce1).c_str(), s.extranonce2_size));
      if (s.latest && s.tag == active_) post_latest(s, true);
      return;
    }
    case Pending::Kind::authorize:
      if (err || !result.boolean()) {
        drop(out, s, "the pool refused user '" + pool.user + "'" +
                         (err ? format(": [%lld] %s", static_cast<long long>(err->code), err->message.c_str()) : std::string()));
        return;
      }
      s.authorized = true;
      s.state = Session::State::ready;
      try_promote(out, s);
      return;
    case Pending::Kind::extranonce_subscribe:
      if (err) log(OTD_LOG_DEBUG, format("pool %zu: mining.extranonce.subscribe refused: %s", s.pool_index + 1, err->message.c_str()));
      return;
    case Pending::Kind::submit: {
      bool accepted = false;
      if (!err) {
        if (config_.dialect != Dialect::monero) {
          accepted = result.boolean();
        } else {
          std::string status;
          accepted = result.is_object() && result.find("status").decode_string(status) && (status == "OK" || status == "ok");
        }
      }
      submit_result(s, p, accepted, err);
      return;
    }
    case Pending::Kind::login: {
      if (err || !result.is_object()) {
        drop(out, s, "login refused" + (err ? format(": [%lld] %s", static_cast<long long>(err->code), err->message.c_str()) : std::string()));
        return;
      }
      std::string session_id;
      if (!result.find("id").decode_string(session_id) || session_id.empty() || session_id.size() > 256) {
        count(Counter::bad_messages);
        drop(out, s, "the login answer has no session id");
        return;
      }
      s.session_id = std::move(session_id);
      s.authorized = true;
      s.subscribed = true;
      s.state = Session::State::ready;
      if (const json::Value job = result.find("job"); job.is_object()) on_monero_job(out, s, job);
      try_promote(out, s);
      return;
    }
    case Pending::Kind::keepalive:
      return;
  }
}

void Client::submit_result(Session& s, const Pending& p, bool accepted, const std::optional<RpcError>& error) {
  const uint64_t now = env_.now_ms();
  ShareOutcome o;
  o.job_id = p.job_id;
  o.difficulty = p.difficulty;
  o.share_difficulty = p.share_difficulty;
  o.user = config_.pools[s.pool_index].user;
  o.latency_ms = now - p.sent_ms;
  if (accepted) {
    count(Counter::accepted);
    o.verdict = OTD_SHARE_ACCEPTED;
    log(OTD_LOG_DEBUG, format("pool %zu: share accepted (difficulty %g, %llu ms)", s.pool_index + 1, p.difficulty,
                              static_cast<unsigned long long>(o.latency_ms)));
  } else {
    count(Counter::rejected);
    const RpcError e = error.value_or(RpcError{0, "the pool answered false"});
    o.verdict = verdict_from_error(e);
    o.reason = e.message;
    log(OTD_LOG_WARN, format("pool %zu: share rejected: [%lld] %s (difficulty %g)", s.pool_index + 1, static_cast<long long>(e.code),
                             e.message.c_str(), p.difficulty));
  }
  env_.share_outcome(o);
}

// ---------------------------------------------------------------------------------------------------------
// Bitcoin family

void Client::on_bitcoin_method(Outbox& out, Session& s, std::string_view method, std::string_view id_token, const json::Value& params) {
  if (method == "mining.notify") return on_bitcoin_notify(out, s, params);
  if (method == "mining.set_difficulty") {
    const auto d = params.is_array() ? params.at(0).number() : std::nullopt;
    if (!d || !(*d > 0) || !std::isfinite(*d) || !env_.target_from_difficulty(*d)) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: mining.set_difficulty without a positive difficulty: ignored", s.pool_index + 1));
      return;
    }
    if (!s.difficulty_set || *d != s.difficulty)
      log(OTD_LOG_INFO, format("pool %zu: difficulty %g", s.pool_index + 1, *d));
    s.difficulty = *d;
    if (!s.difficulty_set) {
      // Jobs the pool sent before its first difficulty were issued at this one.
      const auto target = env_.target_from_difficulty(*d);
      for (auto& [id, rec] : jobs_)
        if (rec.tag == s.tag && rec.provisional) {
          rec.difficulty = *d;
          rec.target = *target;
          rec.provisional = false;
        }
    }
    s.difficulty_set = true;
    return;
  }
  if (method == "mining.set_extranonce") {
    std::string why;
    const auto r = parse_set_extranonce(params, &why);
    if (!r) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: mining.set_extranonce ignored: %s", s.pool_index + 1, why.c_str()));
      return;
    }
    s.extranonce1 = r->extranonce1;
    s.extranonce2_size = r->extranonce2_size;
    s.clean_next = true;  // work on the old extranonce1 is void: the next job replaces it
    log(OTD_LOG_INFO, format("pool %zu: extranonce1 %s, extranonce2 %u bytes (from the next job on)", s.pool_index + 1,
                             common::to_hex(s.extranonce1).c_str(), s.extranonce2_size));
    return;
  }
  if (method == "mining.set_version_mask") {
    const auto mask = params.is_array() ? params.at(0).plain_string() : std::nullopt;
    const auto value = mask ? parse_hex32(*mask) : std::nullopt;
    if (!value) {
      count(Counter::bad_messages);
      return;
    }
    s.version_mask = *value & config_.version_rolling_mask;
    return;
  }
  if (method == "client.reconnect") {
    count(Counter::reconnect_requests);
    common::StratumUrl target = s.url;
    uint64_t wait_s = 0;
    if (params.is_array()) {
      std::string host;
      if (params.size() > 0 && params.at(0).decode_string(host) && !host.empty()) target.host = host;
      const json::Value port = params.size() > 1 ? params.at(1) : json::Value();
      std::string port_text;
      if (port.is_number()) port_text = std::string(port.token());
      else port.decode_string(port_text);
      if (!port_text.empty()) {
        char* end = nullptr;
        const unsigned long p = std::strtoul(port_text.c_str(), &end, 10);
        if (*end != '\0' || p == 0 || p > 65535) {
          count(Counter::bad_messages);
          log(OTD_LOG_WARN, format("pool %zu: client.reconnect with port '%s' ignored", s.pool_index + 1, printable(port_text).c_str()));
          return;
        }
        target.port = static_cast<uint16_t>(p);
      }
      if (params.size() > 2) wait_s = static_cast<uint64_t>(std::max<int64_t>(0, params.at(2).integer().value_or(0)));
    }
    std::string why;
    if (!common::parse_stratum_url(target.endpoint(), &why)) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: client.reconnect to '%s' ignored: %s", s.pool_index + 1, printable(target.host).c_str(), why.c_str()));
      return;
    }
    wait_s = std::min(wait_s, kMaxRedirectWaitS);
    log(OTD_LOG_INFO, format("pool %zu: the pool asks to reconnect to %s in %llu s", s.pool_index + 1, target.endpoint().c_str(),
                             static_cast<unsigned long long>(wait_s)));
    if (s.tag == active_) {
      redirect_ = Redirect{target, s.pool_index, env_.now_ms() + wait_s * 1000};
      // A probe in flight gives way: the pool's request comes first.
      if (candidate_ != 0)
        if (Session* c = by_tag(candidate_)) drop(out, *c, "giving way to the pool's reconnect request");
    } else {
      drop(out, s, "the pool asked to reconnect before it was in use");
    }
    return;
  }
  if (method == "client.show_message") {
    std::string text;
    if (params.is_array()) params.at(0).decode_string(text);
    log(OTD_LOG_INFO, format("pool %zu says: %s", s.pool_index + 1, printable(text, 200).c_str()));
    return;
  }
  if (method == "client.get_version" || method == "mining.ping") {
    if (id_token == "null") return;
    std::string result;
    if (method == "mining.ping") {
      result = "\"pong\"";
    } else {
      json::append_string(result, config_.agent);
    }
    send(out, s, result_line(id_token, result));
    return;
  }
  count(Counter::unknown_methods);
  log(OTD_LOG_DEBUG, format("pool %zu: unknown method '%s' ignored", s.pool_index + 1, printable(method).c_str()));
}

void Client::on_bitcoin_notify(Outbox& out, Session& s, const json::Value& params) {
  std::string why;
  auto n = parse_bitcoin_notify(params, &why);
  if (!n) {
    count(Counter::bad_messages);
    log(OTD_LOG_WARN, format("pool %zu: mining.notify ignored: %s", s.pool_index + 1, why.c_str()));
    return;
  }
  if (!common::target_from_nbits(n->nbits)) {
    count(Counter::bad_messages);
    log(OTD_LOG_WARN, format("pool %zu: mining.notify job %s ignored: nbits %08x is not a valid target", s.pool_index + 1,
                             printable(n->job_id).c_str(), n->nbits));
    return;
  }
  const bool clean = n->clean;
  s.latest = std::move(*n);
  if (!s.subscribed) return;  // posted once the subscribe answer gives the extranonce
  if (s.tag == active_) post_latest(s, clean || s.clean_next);
  else try_promote(out, s);
}

void Client::try_promote(Outbox& out, Session& s) {
  if (s.tag == active_ || s.tag != candidate_ || !s.authorized || !s.subscribed) return;
  if (!s.latest && !s.latest_monero && !s.latest_ethereum) return;
  const uint64_t old = active_;
  candidate_ = 0;
  active_ = s.tag;
  backoff_ms_ = config_.retry_min_ms;
  redirect_.reset();
  const PoolConfig& pool = config_.pools[s.pool_index];
  if (old != 0) {
    count(Counter::pool_switches);
    if (Session* o = by_tag(old)) drop(out, *o, format("replaced by pool %zu", s.pool_index + 1));
  }
  if (s.pool_index > 0) {
    next_probe_ms_ = env_.now_ms() + config_.retry_max_ms;
    probe_index_ = 0;
  }
  last_error_.clear();
  log(OTD_LOG_INFO, format("pool %zu/%zu %s: mining as '%s' (%s dialect, difficulty %g)", s.pool_index + 1, config_.pools.size(),
                           s.url.to_string().c_str(), pool.user.c_str(), dialect_name(config_.dialect), s.difficulty));
  post_latest(s, true);
}

void Client::post_latest(Session& s, bool clean) {
  auto t = otd_template_t{};
  t.struct_size = sizeof t;
  t.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
  t.coin = config_.coin.c_str();
  t.algorithm = config_.algorithm.c_str();
  JobRecord rec;
  rec.tag = s.tag;
  std::vector<uint8_t> coinbase1;
  common::Uint256 one{};
  one[0] = 1;
  if (config_.dialect == Dialect::bitcoin) {
    if (!s.latest) return;
    const BitcoinNotify& n = *s.latest;
    const auto target = env_.target_from_difficulty(s.difficulty);
    if (!target) {
      log(OTD_LOG_ERROR, format("pool %zu: difficulty %g has no target for %s", s.pool_index + 1, s.difficulty, config_.algorithm.c_str()));
      return;
    }
    coinbase1 = n.coinb1;
    coinbase1.insert(coinbase1.end(), s.extranonce1.begin(), s.extranonce1.end());
    const auto block_target = *common::target_from_nbits(n.nbits);  // checked when the notify arrived
    t.source_job_id = n.job_id.c_str();
    t.height = coinbase_height(n.coinb1);
    std::copy(n.prev_hash.begin(), n.prev_hash.end(), t.prev_hash);
    std::copy(block_target.begin(), block_target.end(), t.block_target);
    t.version = n.version;
    t.ntime = n.ntime;
    t.nbits = n.nbits;
    t.extranonce_size = s.extranonce2_size;
    t.coinbase1 = coinbase1.data();
    t.coinbase1_size = static_cast<uint32_t>(coinbase1.size());
    t.coinbase2 = n.coinb2.data();
    t.coinbase2_size = static_cast<uint32_t>(n.coinb2.size());
    t.merkle_branch = n.merkle_branch.empty() ? nullptr : n.merkle_branch.data();
    t.merkle_branch_count = static_cast<uint32_t>(n.merkle_branch.size() / 32);
    t.nonce_size = 4;
    rec.pool_job_id = n.job_id;
    rec.extranonce2_size = s.extranonce2_size;
    rec.ntime = n.ntime;
    rec.version = n.version;
    rec.difficulty = s.difficulty;
    rec.target = *target;
    rec.provisional = !s.difficulty_set;
  } else if (config_.dialect == Dialect::ethereum) {
    if (!post_ethereum(s, t, rec)) return;
  } else {
    if (!s.latest_monero) return;
    const MoneroJob& j = *s.latest_monero;
    t.source_job_id = j.job_id.c_str();
    t.height = j.height;
    // A pool does not say the network target: "1" (never met) keeps every share a share.
    std::copy(one.begin(), one.end(), t.block_target);
    // A pool's job is the hashing blob itself (its reserved bytes already hold our connection's extra
    // nonce): the algorithm plugin only places the nonce.
    t.flags |= OTD_TEMPLATE_HASHING_BLOB;
    t.blob = j.blob.data();
    t.blob_size = static_cast<uint32_t>(j.blob.size());
    t.nonce_offset = kMoneroNonceOffset;
    t.nonce_size = 4;
    t.seed = j.seed.data();
    t.seed_size = static_cast<uint32_t>(j.seed.size());
    rec.pool_job_id = j.job_id;
    rec.difficulty = j.difficulty;
    rec.target = j.target;
  }
  uint64_t job_id = 0;
  std::string why;
  const otd_status_t st = env_.submit_template(t, &job_id, &why);
  if (st != OTD_OK) {
    count(Counter::templates_refused);
    log(OTD_LOG_ERROR, format("pool %zu: the host refused job %s (status %d): %s", s.pool_index + 1, printable(rec.pool_job_id).c_str(),
                              static_cast<int>(st), why.c_str()));
    return;
  }
  count(Counter::templates);
  s.clean_next = false;
  jobs_[job_id] = std::move(rec);
  while (jobs_.size() > kJobsKept) jobs_.erase(jobs_.begin());
}

// ---------------------------------------------------------------------------------------------------------
// Monero family

void Client::on_monero_method(Outbox& out, Session& s, std::string_view method, const json::Value& params) {
  if (method == "job") return on_monero_job(out, s, params);
  count(Counter::unknown_methods);
  log(OTD_LOG_DEBUG, format("pool %zu: unknown method '%s' ignored", s.pool_index + 1, printable(method).c_str()));
}

void Client::on_monero_job(Outbox& out, Session& s, const json::Value& job) {
  std::string why;
  auto j = parse_monero_job(job, &why);
  if (!j) {
    count(Counter::bad_messages);
    log(OTD_LOG_WARN, format("pool %zu: job ignored: %s", s.pool_index + 1, why.c_str()));
    return;
  }
  const bool new_seed = !s.latest_monero || s.latest_monero->seed != j->seed || s.latest_monero->height != j->height;
  s.difficulty = j->difficulty;
  s.difficulty_set = true;
  s.latest_monero = std::move(*j);
  if (s.tag == active_) post_latest(s, new_seed);  // a new height makes every older job stale
  else try_promote(out, s);
}

// ---------------------------------------------------------------------------------------------------------
// Ethereum family (EthereumStratum/1.0.0 and its KawPow variant)

namespace {
const ethash::Variant* ethash_variant(std::string_view algorithm) noexcept {
  if (algorithm == "ethash") return &ethash::kEthash;
  if (algorithm == "etchash") return &ethash::kEtchash;
  if (algorithm == "kawpow") return &ethash::kKawpow;
  return nullptr;
}
}  // namespace

void Client::on_ethereum_method(Outbox& out, Session& s, std::string_view method, std::string_view id_token, const json::Value& params) {
  if (method == "mining.notify") {
    std::string why;
    auto j = parse_ethereum_notify(params, config_.kawpow, &why);
    if (!j) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: mining.notify ignored: %s", s.pool_index + 1, why.c_str()));
      return;
    }
    if (config_.kawpow && !common::target_from_nbits(j->nbits)) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: mining.notify job %s ignored: bits %08x is not a valid target", s.pool_index + 1,
                               printable(j->job_id).c_str(), j->nbits));
      return;
    }
    const bool clean = j->clean || !s.latest_ethereum || s.latest_ethereum->seed != j->seed;
    s.latest_ethereum = std::move(*j);
    if (!s.subscribed) return;
    if (s.tag == active_) post_latest(s, clean || s.clean_next);
    else try_promote(out, s);
    return;
  }
  if (method == "mining.set_difficulty" || method == "mining.set_target") {
    std::optional<common::Uint256> target;
    double d = 0;
    if (method == "mining.set_difficulty") {
      const auto n = params.is_array() && params.size() > 0 ? params.at(0).number() : std::nullopt;
      if (n && *n > 0 && std::isfinite(*n)) target = stratum::target_from_difficulty(stratum::DifficultyUnit::nicehash, *n);
      d = n.value_or(0);
    } else {
      const auto text = params.is_array() && params.size() > 0 ? params.at(0).plain_string() : std::nullopt;
      std::string why;
      if (text) target = parse_target_hex(*text, &why);
      if (target) d = stratum::difficulty_from_target(stratum::DifficultyUnit::bitcoin, *target);
    }
    if (!target) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: %s without a valid difficulty or target: ignored", s.pool_index + 1, std::string(method).c_str()));
      return;
    }
    if (!s.difficulty_set || d != s.difficulty) log(OTD_LOG_INFO, format("pool %zu: difficulty %g", s.pool_index + 1, d));
    s.difficulty = d;
    s.share_target = *target;
    if (!s.difficulty_set) {
      for (auto& [id, rec] : jobs_)
        if (rec.tag == s.tag && rec.provisional) {
          rec.difficulty = d;
          rec.target = *target;
          rec.provisional = false;
        }
    }
    s.difficulty_set = true;
    return;
  }
  if (method == "mining.set_extranonce") {
    std::string why;
    auto prefix = parse_nonce_prefix(params, 0, &why);
    if (!prefix) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: mining.set_extranonce ignored: %s", s.pool_index + 1, why.c_str()));
      return;
    }
    s.nonce_prefix = std::move(*prefix);
    s.clean_next = true;
    log(OTD_LOG_INFO, format("pool %zu: nonce prefix %s (from the next job on)", s.pool_index + 1, common::to_hex(s.nonce_prefix).c_str()));
    return;
  }
  // client.reconnect, client.show_message, client.get_version, mining.ping: as the Bitcoin dialect has them.
  on_bitcoin_method(out, s, method, id_token, params);
}

bool Client::post_ethereum(Session& s, otd_template_t& t, JobRecord& rec) {
  if (!s.latest_ethereum) return false;
  const EthereumJob& j = *s.latest_ethereum;
  const ethash::Variant* variant = ethash_variant(config_.algorithm);
  if (variant == nullptr) {
    log(OTD_LOG_ERROR, "stratum-client: " + config_.algorithm + " is not an Ethash-family algorithm");
    return false;
  }
  // The epoch: KawPow jobs say the height; EthereumStratum's say only the seed, whose epoch is searched
  // (the ethash plugin wants height / epoch_length == epoch, so the epoch's first block stands in for it).
  uint64_t epoch = 0, height = 0;
  if (config_.kawpow) {
    height = j.height;
    epoch = height / variant->epoch_length;
  } else {
    ethash::Hash256 seed{};
    std::copy(j.seed.begin(), j.seed.end(), seed.begin());
    const int64_t e = ethash::epoch_from_seed(*variant, seed, 4096);
    if (e < 0) {
      count(Counter::bad_messages);
      log(OTD_LOG_WARN, format("pool %zu: job %s: seed %s is not the seed of any %s epoch below 4096: ignored", s.pool_index + 1,
                               printable(j.job_id).c_str(), common::to_hex(j.seed).c_str(), config_.algorithm.c_str()));
      return false;
    }
    epoch = static_cast<uint64_t>(e);
    height = epoch * variant->epoch_length;
  }
  common::Uint256 one{};
  one[0] = 1;
  common::Uint256 block_target = one;  // EthereumStratum does not say the network target: "1" is never met
  if (config_.kawpow) block_target = *common::target_from_nbits(j.nbits);  // checked when the notify arrived
  const size_t k = s.nonce_prefix.size();
  uint64_t prefix = 0;
  for (const uint8_t b : s.nonce_prefix) prefix = (prefix << 8) | b;
  t.source_job_id = j.job_id.c_str();
  t.height = height;
  t.epoch = epoch;
  std::copy(block_target.begin(), block_target.end(), t.block_target);
  t.blob = j.header.data();
  t.blob_size = 32;
  t.nonce_size = 8;
  t.seed = j.seed.data();
  t.seed_size = 32;
  t.nbits = j.nbits;
  if (k != 0) {
    t.nonce_base = prefix << (64 - 8 * k);
    t.nonce_space = uint64_t{1} << (64 - 8 * k);
  }
  rec.pool_job_id = j.job_id;
  rec.nonce_prefix = prefix;
  rec.nonce_prefix_bytes = static_cast<uint32_t>(k);
  rec.header = j.header;
  if (config_.kawpow) {
    rec.target = *j.target;  // KawPow jobs carry their own share target
    rec.difficulty = stratum::difficulty_from_target(stratum::DifficultyUnit::bitcoin, *j.target);
  } else {
    // Before the pool's first mining.set_difficulty: NiceHash's default of 1, replaced when it comes.
    rec.provisional = !s.difficulty_set;
    rec.difficulty = s.difficulty_set ? s.difficulty : 1.0;
    rec.target = s.difficulty_set ? s.share_target : *stratum::target_from_difficulty(stratum::DifficultyUnit::nicehash, 1.0);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// Shares

void Client::submit_share(const otd_candidate_t& candidate, const otd_verify_result_t& verified) {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    const auto it = jobs_.find(candidate.job_id);
    if (it == jobs_.end()) {
      count(Counter::unknown_job);
      log(OTD_LOG_DEBUG, format("share for job %llu, which this client does not know (any more)", static_cast<unsigned long long>(candidate.job_id)));
      return;
    }
    const JobRecord& rec = it->second;
    Session* s = by_tag(rec.tag);
    if (s == nullptr || s->state == Session::State::closing || s->tag != active_) {
      count(Counter::stale_dropped);
      log(OTD_LOG_DEBUG, format("share for job %llu dropped: its pool connection is gone", static_cast<unsigned long long>(candidate.job_id)));
      return;
    }
    common::Uint256 hash{};
    std::memcpy(hash.data(), verified.hash, hash.size());
    common::Uint256 local{};
    std::memcpy(local.data(), candidate.share_target, local.size());
    if (!s->warned_local_target && !common::is_zero(local) && common::compare(local, rec.target) < 0) {
      s->warned_local_target = true;
      log(OTD_LOG_WARN, format("pool %zu: the pool's difficulty %g is below the host's local share difficulty: shares in between are "
                               "not found (set miner.share_difficulty to at most %g)", s->pool_index + 1, rec.difficulty, rec.difficulty));
    }
    if (!common::meets_target(hash, rec.target)) {
      count(Counter::below_pool_target);
      return;
    }
    const uint64_t id = s->next_id++;
    s->pending[id] = Pending{Pending::Kind::submit, env_.now_ms(), candidate.job_id, rec.difficulty, verified.share_difficulty};
    const PoolConfig& pool = config_.pools[s->pool_index];
    if (config_.dialect == Dialect::bitcoin) {
      if (candidate.extranonce_size != rec.extranonce2_size || (candidate.extranonce == nullptr && candidate.extranonce_size != 0)) {
        s->pending.erase(id);
        count(Counter::stale_dropped);
        log(OTD_LOG_ERROR, format("share for job %llu has a %u-byte extranonce, the pool's extranonce2 is %u bytes: not sent",
                                  static_cast<unsigned long long>(candidate.job_id), candidate.extranonce_size, rec.extranonce2_size));
        return;
      }
      const uint32_t ntime = candidate.ntime != 0 ? candidate.ntime : rec.ntime;
      std::optional<uint32_t> version_bits;
      if (candidate.version_bits != 0 && s->version_mask != 0) {
        // BIP 310: the rolled bits within the granted mask (equal to the XOR with the job's version, whose
        // bits inside the mask pools keep zero).
        const uint32_t bits = (candidate.version_bits ^ rec.version) & s->version_mask;
        if (bits != 0) version_bits = bits;
      }
      send(out, *s, bitcoin_submit(id, pool.user, rec.pool_job_id, std::span<const uint8_t>(candidate.extranonce, candidate.extranonce_size),
                                   ntime, static_cast<uint32_t>(candidate.nonce), version_bits));
    } else if (config_.dialect == Dialect::ethereum) {
      // The nonce must carry the prefix the job was mined under (the host scans only inside it).
      if (rec.nonce_prefix_bytes != 0 && (candidate.nonce >> (64 - 8 * rec.nonce_prefix_bytes)) != rec.nonce_prefix) {
        s->pending.erase(id);
        count(Counter::stale_dropped);
        log(OTD_LOG_ERROR, format("share for job %llu: nonce %016llx does not start with the pool's prefix: not sent",
                                  static_cast<unsigned long long>(candidate.job_id), static_cast<unsigned long long>(candidate.nonce)));
        return;
      }
      if (config_.kawpow) {
        send(out, *s, kawpow_submit(id, pool.user, rec.pool_job_id, candidate.nonce, rec.header, std::span<const uint8_t, 32>(verified.mix, 32)));
      } else {
        send(out, *s, ethereum_submit(id, pool.user, rec.pool_job_id, candidate.nonce, rec.nonce_prefix_bytes));
      }
    } else {
      send(out, *s, monero_submit(id, s->session_id, rec.pool_job_id, static_cast<uint32_t>(candidate.nonce),
                                  std::span<const uint8_t, 32>(verified.hash, 32)));
    }
  }
  flush(out);
}

ClientStatus Client::status() const {
  std::lock_guard lock(mutex_);
  ClientStatus st;
  st.connections = sessions_.size();
  st.trying = candidate_ != 0 || (!stopped_ && active_ == 0 && started_);
  st.last_error = last_error_;
  auto it = sessions_.find(active_);
  if (it != sessions_.end()) {
    const Session& s = *it->second;
    st.up = s.state == Session::State::ready;
    st.pool_index = s.pool_index;
    st.endpoint = s.url.endpoint();
    st.url = s.url.to_string();
    st.difficulty = s.difficulty;
  }
  return st;
}

}  // namespace otedama::stratum_client
