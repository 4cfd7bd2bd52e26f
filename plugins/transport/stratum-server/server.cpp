#include "server.hpp"

#include <otedama/bitcoin/address.hpp>

#include "difficulty.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace otedama::stratum {

const char* counter_name(Counter c) noexcept {
  switch (c) {
    case Counter::accepted: return "accepted";
    case Counter::blocks: return "block";
    case Counter::stale: return "stale";
    case Counter::duplicate: return "duplicate";
    case Counter::low_difficulty: return "low_difficulty";
    case Counter::bad_ntime: return "bad_ntime";
    case Counter::invalid_params: return "invalid_params";
    case Counter::unauthorized: return "unauthorized";
    case Counter::not_subscribed: return "not_subscribed";
    case Counter::overloaded: return "overloaded";
    case Counter::internal_error: return "internal_error";
    case Counter::malformed_lines: return "malformed_lines";
    case Counter::unknown_methods: return "unknown_methods";
    case Counter::refused_max_connections: return "max_connections";
    case Counter::refused_per_ip: return "per_ip_limit";
    case Counter::refused_banned: return "banned";
    case Counter::bans: return "bans";
    case Counter::closed_malformed: return "closed_malformed";
    case Counter::difficulty_changes: return "difficulty_changes";
    case Counter::count_: break;
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------------------
// Internal state

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

/// Lines are small and shallow (mining.configure is the deepest: [[names], {options}]): tight limits
/// bound the work a hostile line can cause.
const json::Limits kLineLimits{/*max_depth=*/8, /*max_nodes=*/512, /*max_members=*/32};

void append_hex(std::string& out, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHexDigits[p[i] >> 4]);
    out.push_back(kHexDigits[p[i] & 0xF]);
  }
}

void append_hex32(std::string& out, uint32_t v) {
  for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHexDigits[(v >> shift) & 0xF]);
}

void append_hex64(std::string& out, uint64_t v) {
  char buf[17];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  out.append(buf, ec == std::errc{} ? static_cast<size_t>(ptr - buf) : 0);
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Exactly 8 hex digits, read as a big-endian number (stratum's ntime, nonce, version).
bool parse_hex32(std::string_view s, uint32_t& out) noexcept {
  if (s.size() != 8) return false;
  uint32_t v = 0;
  for (char c : s) {
    const int d = hex_value(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  out = v;
  return true;
}

/// 1 to 16 hex digits (job ids).
bool parse_hex64(std::string_view s, uint64_t& out) noexcept {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    const int d = hex_value(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

/// Exactly 2n hex digits into n bytes.
bool parse_hex_bytes(std::string_view s, uint8_t* out, size_t n) noexcept {
  if (s.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

/// Why a worker name cannot be authorized, or nullptr. Worker = "account.rig" (the rig part optional).
const char* worker_problem(std::string_view w) noexcept {
  if (w.empty()) return "the worker name is empty";
  if (w.size() >= OTD_NAME_CAP) return "the worker name is longer than 127 bytes";
  for (const char c : w) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\')
      return "the worker name may hold printable ASCII only (no spaces, quotes or backslashes)";
  }
  if (w.front() == '.') return "the worker name has no account before its '.'";
  return nullptr;
}

/// The "d=DIFF" token of a password ("x", "d=1024", "x,d=0.5", "d=512;tag"); std::nullopt when absent.
/// A malformed d= is reported through `bad`.
std::optional<double> password_difficulty(std::string_view password, bool& bad) noexcept {
  bad = false;
  size_t i = 0;
  while (i <= password.size()) {
    const size_t j = password.find_first_of(",; ", i);
    const std::string_view token = password.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (token.size() > 2 && token[0] == 'd' && token[1] == '=') {
      double v = 0;
      const auto [ptr, ec] = std::from_chars(token.data() + 2, token.data() + token.size(), v);
      if (ec != std::errc{} || ptr != token.data() + token.size() || !(v > 0) || !std::isfinite(v)) {
        bad = true;
        return std::nullopt;
      }
      return v;
    }
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return std::nullopt;
}

}  // namespace

struct Server::JobEntry {
  uint64_t id = 0;
  uint32_t version = 0;
  uint32_t ntime = 0;
  uint32_t extranonce_size = 0;
  uint64_t generation = 0;      ///< the port's clean generation when the job arrived
  // Bitcoin family: one notify for every connection.
  std::string notify_clean;     ///< the whole mining.notify line with clean_jobs = true
  std::string notify_update;    ///< ... with clean_jobs = false
  // Monero family: each connection's blob is built from a copy of the template when its job is sent.
  otd_template_t tmpl{};        ///< points into the members below
  std::string coin, algorithm, source_job_id;
  std::vector<uint8_t> blob, seed, next_seed;
  mutable std::atomic<bool> blob_warned{false};
  // Ethereum family: the header hash (the template's 32-byte blob) and, for kawpow, the notify line around
  // the per-connection target: kawpow_head + target + (kawpow_clean | kawpow_update).
  uint8_t header[32] = {};
  std::string kawpow_head, kawpow_clean, kawpow_update;
};

struct Server::Port {
  PortConfig cfg;
  size_t index = 0;
  std::mutex mutex;
  std::shared_ptr<const JobEntry> current;  // under mutex
  std::atomic<uint64_t> generation{0};      // written under mutex
  std::atomic<bool> unit_warned{false};
  std::atomic<bool> extranonce_warned{false};
};

struct Server::JobRef {
  std::shared_ptr<const JobEntry> job;
  double difficulty = 0;  ///< the easiest difficulty this connection was given while on the job
  uint64_t wire_id = 0;   ///< the job id the miner knows: the host's job id (Bitcoin), a per-connection sequence (Monero)
};

struct Server::Pending {
  uint64_t submission_id = 0;
  uint8_t id_length = 0;
  char id[kMaxIdLength] = {};
  [[nodiscard]] std::string_view id_text() const noexcept { return std::string_view(id, id_length); }
};

struct Server::Session {
  std::mutex mutex;
  // Immutable after on_open:
  uint64_t conn = 0;
  size_t port = 0;
  std::string ip;
  uint8_t extranonce1[8] = {};
  uint8_t e1size = 4;
  // Set by on_close without the mutex:
  std::atomic<bool> closed{false};
  // Under mutex:
  uint8_t e2size = 4;
  bool subscribed = false;
  bool extranonce_subscribed = false;
  bool ready = false;    ///< subscribed and authorized: jobs flow
  bool fixed = false;    ///< difficulty fixed by the password's d=: vardiff off
  bool closing = false;  ///< a close was requested; further lines are ignored
  uint32_t version_mask = 0;
  uint32_t strikes = 0;
  uint32_t valid = 0, invalid = 0;  ///< since the last ban judgement
  double difficulty = 1;
  double miner_floor = 0;  ///< mining.configure minimum-difficulty
  double cached_difficulty = 0;
  common::Uint256 cached_target{};
  Vardiff vardiff;
  std::array<JobRef, Server::kJobsPerConnection> jobs;
  uint32_t job_next = 0;
  uint64_t last_job_id = 0;
  std::vector<std::string> workers;
  std::vector<Pending> pending;
  uint64_t next_submission = 1;
  uint64_t next_seq = 1;  ///< Monero: job ids of this connection
};

struct Server::Scratch {
  json::Document doc;
  std::string out;
  std::string text;
};

// ---------------------------------------------------------------------------------------------------------
// Connections

Server::Server(ServerConfig config, Env& env, ServerOptions options)
    : config_(std::move(config)), env_(env), options_(options), next_extranonce1_(options.extranonce1_start) {
  for (size_t i = 0; i < config_.ports.size(); ++i) {
    auto port = std::make_unique<Port>();
    port->cfg = config_.ports[i];
    port->index = i;
    ports_.push_back(std::move(port));
  }
}

Server::~Server() = default;

std::shared_ptr<Server::Session> Server::find(uint64_t conn) const {
  Shard& shard = shards_[conn % shards_.size()];
  std::lock_guard lock(shard.mutex);
  const auto it = shard.sessions.find(conn);
  return it == shard.sessions.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Server::Session>> Server::sessions_of(size_t port) const {
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(open_.load());
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [conn, s] : shard.sessions)
      if (s->port == port) out.push_back(s);
  }
  return out;
}

Server::Refusal Server::on_open(size_t port, uint64_t conn, std::string_view peer) {
  if (port >= ports_.size()) return Refusal::max_connections;
  if (open_.fetch_add(1) >= config_.max_connections) {
    open_.fetch_sub(1);
    count(Counter::refused_max_connections);
    return Refusal::max_connections;
  }
  const std::string_view ip = peer_address(peer);
  switch (guard_.admit(ip, env_.now_ms(), config_.per_ip_limit)) {
    case IpGuard::Admission::ok:
      break;
    case IpGuard::Admission::banned:
      open_.fetch_sub(1);
      count(Counter::refused_banned);
      return Refusal::banned;
    case IpGuard::Admission::per_ip_limit:
      open_.fetch_sub(1);
      count(Counter::refused_per_ip);
      return Refusal::per_ip_limit;
  }
  const Port& p = *ports_[port];
  auto s = std::make_shared<Session>();
  s->conn = conn;
  s->port = port;
  s->ip = std::string(ip);
  s->e1size = static_cast<uint8_t>(p.cfg.extranonce1_size);
  s->e2size = static_cast<uint8_t>(p.cfg.extranonce_size - p.cfg.extranonce1_size);
  const uint64_t e1 = next_extranonce1_.fetch_add(1);
  if (p.cfg.dialect == Dialect::ethereum) {
    // EthereumStratum: extranonce1 is the nonce prefix, the most significant bytes of the 64-bit nonce as the
    // miner writes it in hex. Big-endian counter; the marker sets the nonce's top bit, so every downstream
    // nonce is >= 2^63, disjoint from the host's local devices (core/scheduler stripes small nonces).
    const unsigned bits = 8u * s->e1size;
    uint64_t v = e1 & ((uint64_t{1} << bits) - 1);
    if (options_.extranonce1_marker) v = (v & ((uint64_t{1} << (bits - 1)) - 1)) | (uint64_t{1} << (bits - 1));
    for (size_t i = 0; i < s->e1size; ++i) s->extranonce1[i] = static_cast<uint8_t>(v >> (8 * (s->e1size - 1 - i)));
    s->e2size = static_cast<uint8_t>(8 - s->e1size);
  } else {
    for (size_t i = 0; i < s->e1size; ++i) s->extranonce1[i] = static_cast<uint8_t>(e1 >> (8 * i));
    if (options_.extranonce1_marker) s->extranonce1[s->e1size - 1] |= 0x80;
  }
  s->difficulty = p.cfg.difficulty;
  Shard& shard = shards_[conn % shards_.size()];
  std::lock_guard lock(shard.mutex);
  shard.sessions[conn] = std::move(s);
  return Refusal::none;
}

void Server::on_close(uint64_t conn) {
  std::shared_ptr<Session> s;
  {
    Shard& shard = shards_[conn % shards_.size()];
    std::lock_guard lock(shard.mutex);
    const auto it = shard.sessions.find(conn);
    if (it == shard.sessions.end()) return;  // refused in on_open, or never known
    s = std::move(it->second);
    shard.sessions.erase(it);
  }
  s->closed.store(true);
  guard_.release(s->ip);
  open_.fetch_sub(1);
}

std::optional<double> Server::difficulty_of(uint64_t conn) const {
  const auto s = find(conn);
  if (!s) return std::nullopt;
  std::lock_guard lock(s->mutex);
  return s->difficulty;
}

// ---------------------------------------------------------------------------------------------------------
// Lines

void Server::on_line(uint64_t conn, std::string_view line) {
  const auto s = find(conn);
  if (!s) return;
  thread_local Scratch scratch;
  scratch.out.clear();
  std::lock_guard lock(s->mutex);
  if (s->closing || s->closed.load()) return;
  handle_line(*s, line, scratch);
  if (!scratch.out.empty()) env_.send(conn, scratch.out);
  if (s->closing) env_.close(conn);
  // A flood of huge lines must not pin their memory in this thread's scratch forever.
  if (scratch.out.capacity() > 65536) std::string().swap(scratch.out);
}

void Server::handle_line(Session& s, std::string_view line, Scratch& scratch) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank keep-alive lines
  if (!scratch.doc.parse(line, kLineLimits)) return malformed(s, "null", scratch.doc.error(), scratch.out);
  Request req;
  if (const char* why = read_request(scratch.doc, req)) return malformed(s, req.id, why, scratch.out);
  if (req.kind == Request::Kind::response) return;  // a miner answering a server request: nothing to do
  if (s.strikes > 0) --s.strikes;
  switch (ports_[s.port]->cfg.dialect) {
    case Dialect::bitcoin:
      return bitcoin_request(s, req, scratch);
    case Dialect::monero:
      return monero_request(s, req, scratch);
    case Dialect::ethereum:
      return ethereum_request(s, req, scratch);
  }
}

void Server::malformed(Session& s, std::string_view id, std::string_view why, std::string& out) {
  count(Counter::malformed_lines);
  std::string message = "Malformed request: ";
  message.append(why);
  write_reject(s, id, error_code::kOther, message, out);
  // Policy: a malformed line costs a strike, a well-formed one takes one back; past malformed_limit
  // strikes the connection is closed (after this answer). A miner with an occasional glitch never gets
  // there; a peer speaking another protocol (or garbage) is gone after a few lines.
  if (++s.strikes > config_.malformed_limit) {
    s.closing = true;
    count(Counter::closed_malformed);
    env_.log(OTD_LOG_INFO, "stratum-server: closing connection " + std::to_string(s.conn) + " from " + s.ip + " after " +
                               std::to_string(s.strikes) + " malformed lines");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Bitcoin dialect

void Server::bitcoin_request(Session& s, const Request& req, Scratch& scratch) {
  const std::string_view m = req.method;
  std::string& out = scratch.out;
  if (m == "mining.submit") return bitcoin_submit(s, req, scratch);
  if (m == "mining.subscribe") return bitcoin_subscribe(s, req, out);
  if (m == "mining.authorize") return bitcoin_authorize(s, req, scratch);
  if (m == "mining.configure") return bitcoin_configure(s, req, out);
  if (m == "mining.suggest_difficulty") return bitcoin_suggest_difficulty(s, req, out);
  if (m == "mining.extranonce.subscribe") {
    s.extranonce_subscribed = true;
    return write_result(out, req.id, "true");
  }
  count(Counter::unknown_methods);
  if (req.id == "null") return;  // an unknown notification needs no answer
  std::string message = "Unknown method ";
  message.append(m);
  write_error(out, req.id, error_code::kOther, message);
}

void Server::bitcoin_subscribe(Session& s, const Request& req, std::string& out) {
  // params (all optional, none needed): [user_agent, session_id_to_resume, host, port]. A resumed
  // extranonce1 is never honoured: extranonce1 is unique per connection.
  Port& port = *ports_[s.port];
  if (!s.subscribed) {
    std::shared_ptr<const JobEntry> current;
    {
      std::lock_guard lock(port.mutex);
      current = port.current;
    }
    uint32_t total = current ? current->extranonce_size : port.cfg.extranonce_size;
    if (total <= s.e1size) total = port.cfg.extranonce_size;
    s.e2size = static_cast<uint8_t>(total - s.e1size);
    s.subscribed = true;
  }
  // [[["mining.set_difficulty", id], ["mining.notify", id]], extranonce1, extranonce2_size]
  std::string result = "[[[\"mining.set_difficulty\",\"";
  append_hex64(result, s.conn);
  result += "\"],[\"mining.notify\",\"";
  append_hex64(result, s.conn);
  result += "\"]],\"";
  append_hex(result, s.extranonce1, s.e1size);
  result += "\",";
  json::append_number(result, s.e2size);
  result += "]";
  write_result(out, req.id, result);
  if (!s.ready && !s.workers.empty()) start_work(s, out);
}

void Server::bitcoin_authorize(Session& s, const Request& req, Scratch& scratch) {
  std::string& out = scratch.out;
  const json::Value p = req.params;
  if (!p.is_array() || p.size() < 1 || !p.at(0).is_string()) {
    count(Counter::unauthorized);
    return write_error(out, req.id, error_code::kUnauthorized, "mining.authorize takes [worker, password]");
  }
  std::string worker;
  p.at(0).decode_string(worker);
  if (const char* why = worker_problem(worker)) {
    count(Counter::unauthorized);
    return write_error(out, req.id, error_code::kUnauthorized, std::string("Unauthorized worker: ") + why);
  }
  if (const std::string& network = ports_[s.port]->cfg.address_network; !network.empty()) {
    // The account (before the first '.') is where the ledger pays: it must be an address of the port's network.
    const std::string_view account = std::string_view(worker).substr(0, worker.find('.'));
    for (const auto& n : bitcoin::networks()) {
      if (network != n.name) continue;
      std::string why;
      if (!bitcoin::decode_address(n, account, &why)) {
        count(Counter::unauthorized);
        return write_error(out, req.id, error_code::kUnauthorized,
                           "Unauthorized worker: '" + std::string(account) + "' is not a " + network + " payout address (" + why + ")");
      }
    }
  }
  const bool known = std::find(s.workers.begin(), s.workers.end(), worker) != s.workers.end();
  if (!known && s.workers.size() >= config_.max_workers) {
    count(Counter::unauthorized);
    return write_error(out, req.id, error_code::kUnauthorized,
                       "Unauthorized worker: more than " + std::to_string(config_.max_workers) + " workers on one connection");
  }
  const json::Value password = p.at(1);
  if (password.is_string()) {
    password.decode_string(scratch.text);
    bool bad = false;
    if (const auto d = password_difficulty(scratch.text, bad)) {
      const PortConfig& cfg = ports_[s.port]->cfg;
      double v = std::max(*d, floor_of(s));
      if (cfg.vardiff.max > 0) v = std::min(v, cfg.vardiff.max);
      s.fixed = true;
      if (s.ready) {
        change_difficulty(s, v, out);
      } else {
        s.difficulty = v;
      }
    } else if (bad) {
      count(Counter::unauthorized);
      return write_error(out, req.id, error_code::kUnauthorized, "Unauthorized worker: the password's d= is not a number > 0");
    }
  }
  if (!known) s.workers.push_back(std::move(worker));
  write_result(out, req.id, "true");
  if (s.subscribed && !s.ready) start_work(s, out);
}

void Server::bitcoin_configure(Session& s, const Request& req, std::string& out) {
  // BIP310: params [[extension names], {"name.param": value}]; the answer has one member per extension.
  const json::Value p = req.params;
  const json::Value names = p.at(0);
  const json::Value options = p.at(1);
  if (!p.is_array() || !names.is_array() || (options.exists() && !options.is_object())) {
    count(Counter::invalid_params);
    return write_error(out, req.id, error_code::kOther, "mining.configure takes [[extensions], {parameters}]");
  }
  std::string result = "{";
  std::string name;
  std::string after;  // a set_difficulty the minimum causes goes after the answer
  auto member = [&](std::string_view key, std::string_view json_value) {
    if (result.size() > 1) result.push_back(',');
    json::append_string(result, key);
    result.push_back(':');
    result.append(json_value);
  };
  for (uint32_t i = 0; i < names.size(); ++i) {
    const json::Value n = names.at(i);
    if (!n.is_string()) continue;
    n.decode_string(name);
    if (name == "version-rolling") {
      uint32_t miner_mask = 0xffffffffu;
      const json::Value mask = options.find("version-rolling.mask");
      if (mask.exists()) {
        const auto text = mask.plain_string();
        if (!text || !parse_hex32(*text, miner_mask)) {
          count(Counter::invalid_params);
          return write_error(out, req.id, error_code::kOther, "version-rolling.mask must be 8 hex digits");
        }
      }
      const uint32_t agreed = miner_mask & config_.version_rolling_mask;
      s.version_mask = agreed;
      if (agreed == 0) {
        member(name, "false");
      } else {
        member(name, "true");
        std::string hex = "\"";
        append_hex32(hex, agreed);
        hex += "\"";
        member("version-rolling.mask", hex);
      }
    } else if (name == "minimum-difficulty") {
      const auto value = options.find("minimum-difficulty.value").number();
      if (!value || !(*value > 0)) {
        member(name, "false");
        continue;
      }
      const PortConfig& cfg = ports_[s.port]->cfg;
      s.miner_floor = cfg.vardiff.max > 0 ? std::min(*value, cfg.vardiff.max) : *value;
      member(name, "true");
      if (s.difficulty < floor_of(s)) {
        if (s.ready) {
          change_difficulty(s, floor_of(s), after);
        } else {
          s.difficulty = floor_of(s);
        }
      }
    } else if (name == "subscribe-extranonce") {
      s.extranonce_subscribed = true;
      member(name, "true");
    } else {
      member(name, "false");
    }
  }
  result.push_back('}');
  write_result(out, req.id, result);
  out += after;
}

void Server::bitcoin_suggest_difficulty(Session& s, const Request& req, std::string& out) {
  const auto value = req.params.at(0).number();
  if (!value || !(*value > 0)) {
    count(Counter::invalid_params);
    return write_error(out, req.id, error_code::kOther, "mining.suggest_difficulty takes [difficulty > 0]");
  }
  write_result(out, req.id, "true");
  if (s.fixed) return;  // the password's d= wins
  const PortConfig& cfg = ports_[s.port]->cfg;
  double v = std::max(*value, floor_of(s));
  if (cfg.vardiff.max > 0) v = std::min(v, cfg.vardiff.max);
  if (s.ready) {
    change_difficulty(s, v, out);
    s.vardiff.reset(env_.now_ms());
  } else {
    s.difficulty = v;
  }
}

void Server::start_work(Session& s, std::string& out) {
  s.ready = true;
  s.vardiff.reset(env_.now_ms());
  write_set_difficulty(s, out);
  Port& port = *ports_[s.port];
  std::shared_ptr<const JobEntry> current;
  {
    std::lock_guard lock(port.mutex);
    current = port.current;
  }
  if (!current || current->id <= s.last_job_id) return;
  if (port.cfg.dialect == Dialect::ethereum) {
    record_job(s, current, current->id);
    if (port.cfg.algorithm == "kawpow") return write_kawpow_notify(s, *current, true, out);
    out += current->notify_clean;
    return;
  }
  if (!fit_extranonce(s, *current, out)) return;
  record_job(s, current, current->id);
  out += current->notify_clean;
}

bool Server::fit_extranonce(Session& s, const JobEntry& job, std::string& out) {
  if (job.extranonce_size == uint32_t{s.e1size} + s.e2size) return true;
  if (job.extranonce_size <= s.e1size) return false;
  s.e2size = static_cast<uint8_t>(job.extranonce_size - s.e1size);
  if (s.extranonce_subscribed) {
    std::string params = "[\"";
    append_hex(params, s.extranonce1, s.e1size);
    params += "\",";
    json::append_number(params, s.e2size);
    params += "]";
    write_notification(out, "mining.set_extranonce", params);
    return true;
  }
  // The miner was told another extranonce2_size and cannot learn the new one: have it reconnect.
  write_notification(out, "client.reconnect", "[]");
  s.closing = true;
  return false;
}

void Server::record_job(Session& s, const std::shared_ptr<const JobEntry>& job, uint64_t wire_id) {
  JobRef& slot = s.jobs[s.job_next % s.jobs.size()];
  slot.job = job;
  slot.difficulty = s.difficulty;
  slot.wire_id = wire_id;
  ++s.job_next;
  s.last_job_id = job->id;
}

void Server::write_set_difficulty(Session& s, std::string& out) {
  const PortConfig& cfg = ports_[s.port]->cfg;
  if (cfg.dialect == Dialect::ethereum && cfg.algorithm == "kawpow") {
    // KawPow pools send the 256-bit share target itself, big-endian hex (kawpowminer, yiimp).
    const auto target = target_from_difficulty(cfg.unit, s.difficulty);
    std::string params = "[\"";
    params += target ? common::to_display_hex(*target) : std::string(64, 'f');
    params += "\"]";
    return write_notification(out, "mining.set_target", params);
  }
  std::string params = "[";
  json::append_number(params, s.difficulty);
  params += "]";
  write_notification(out, "mining.set_difficulty", params);
}

void Server::change_difficulty(Session& s, double difficulty, std::string& out) {
  if (!(difficulty > 0) || difficulty == s.difficulty) return;
  s.difficulty = difficulty;
  // Work in flight is judged at the easiest difficulty the miner was given while on it, so a change in
  // either direction never rejects a share the miner had every reason to submit.
  for (JobRef& j : s.jobs)
    if (j.job && difficulty < j.difficulty) j.difficulty = difficulty;
  count(Counter::difficulty_changes);
  if (!s.ready) return;
  // Bitcoin and Ethereum families: the miner applies it to the next job (jobs in flight keep the easier one).
  if (ports_[s.port]->cfg.dialect != Dialect::monero) return write_set_difficulty(s, out);
  // xmrig learns a target only with a job: resend the current one under a new id with the new target.
  Port& port = *ports_[s.port];
  std::shared_ptr<const JobEntry> current;
  {
    std::lock_guard lock(port.mutex);
    current = port.current;
  }
  std::string job;
  if (current && monero_job(s, current, job)) write_notification2(out, "job", job);
}

void Server::write_reject(const Session& s, std::string_view id, int code, std::string_view message, std::string& out) {
  if (ports_[s.port]->cfg.dialect == Dialect::monero) return write_error2(out, id, -1, message);
  write_error(out, id, code, message);
}

double Server::floor_of(const Session& s) const noexcept {
  return std::max(ports_[s.port]->cfg.vardiff.min, s.miner_floor);
}

void Server::reject_submit(Session& s, std::string_view id, Counter c, int code, std::string_view message, std::string& out) {
  count(c);
  write_reject(s, id, code, message, out);
  if (c == Counter::invalid_params || c == Counter::unauthorized || c == Counter::not_subscribed || c == Counter::bad_ntime) {
    ++s.invalid;
    judge_ban(s);
  }
}

bool Server::judge_ban(Session& s) {
  if (!config_.ban.enabled) return false;
  const uint32_t total = s.valid + s.invalid;
  if (total < config_.ban.check_threshold) return false;
  const bool bad = static_cast<double>(s.invalid) * 100.0 >= config_.ban.invalid_percent * static_cast<double>(total);
  const uint32_t invalid = s.invalid;
  s.valid = s.invalid = 0;
  if (!bad) return false;
  guard_.ban(s.ip, env_.now_ms() + config_.ban.duration_ms);
  count(Counter::bans);
  s.closing = true;
  env_.log(OTD_LOG_WARN, "stratum-server: banned " + s.ip + " for " + std::to_string(config_.ban.duration_ms / 1000) + " s: " +
                             std::to_string(invalid) + " of its last " + std::to_string(total) + " shares were invalid");
  return true;
}

void Server::bitcoin_submit(Session& s, const Request& req, Scratch& scratch) {
  std::string& out = scratch.out;
  submissions_.fetch_add(1, std::memory_order_relaxed);
  if (!s.subscribed) return reject_submit(s, req.id, Counter::not_subscribed, error_code::kNotSubscribed, "Not subscribed", out);
  const json::Value p = req.params;
  if (!p.is_array() || p.size() < 5 || p.size() > 6)
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther,
                         "mining.submit takes 5 or 6 params: worker, job_id, extranonce2, ntime, nonce[, version_bits]", out);
  // One walk over the params (at(i) is linear).
  json::Value v[6];
  v[0] = p.at(0);
  for (uint32_t i = 1; i < p.size(); ++i) v[i] = v[i - 1].after();
  if (!v[0].is_string()) return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "worker must be a string", out);
  v[0].decode_string(scratch.text);
  const std::string* worker = nullptr;
  for (const auto& w : s.workers)
    if (w == scratch.text) worker = &w;
  if (worker == nullptr) return reject_submit(s, req.id, Counter::unauthorized, error_code::kUnauthorized, "Unauthorized worker", out);

  const auto job_text = v[1].plain_string();
  uint64_t job_id = 0;
  const JobRef* ref = nullptr;
  if (job_text && parse_hex64(*job_text, job_id)) {
    for (const JobRef& j : s.jobs)
      if (j.job && j.wire_id == job_id) ref = &j;
  }
  if (ref == nullptr) return reject_submit(s, req.id, Counter::stale, error_code::kJobNotFound, "Job not found", out);
  const JobEntry& job = *ref->job;
  const Port& port = *ports_[s.port];
  if (job.generation < port.generation.load(std::memory_order_acquire))
    return reject_submit(s, req.id, Counter::stale, error_code::kJobNotFound, "Stale job: a new block arrived", out);

  uint8_t extranonce[40];
  std::memcpy(extranonce, s.extranonce1, s.e1size);
  const auto e2 = v[2].plain_string();
  if (!e2 || e2->size() != 2u * s.e2size)
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther,
                         "extranonce2 must be " + std::to_string(2 * s.e2size) + " hex digits", out);
  if (!parse_hex_bytes(*e2, extranonce + s.e1size, s.e2size))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "extranonce2 is not hex", out);
  uint32_t ntime = 0, nonce = 0;
  const auto ntime_text = v[3].plain_string();
  if (!ntime_text || !parse_hex32(*ntime_text, ntime))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "ntime must be 8 hex digits", out);
  if (ntime < job.ntime || uint64_t{ntime} > uint64_t{job.ntime} + config_.ntime_forward_s)
    return reject_submit(s, req.id, Counter::bad_ntime, error_code::kOther, "ntime out of range", out);
  const auto nonce_text = v[4].plain_string();
  if (!nonce_text || !parse_hex32(*nonce_text, nonce))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "nonce must be 8 hex digits", out);
  uint32_t version = job.version;
  if (p.size() == 6) {
    uint32_t bits = 0;
    const auto bits_text = v[5].plain_string();
    if (!bits_text || !parse_hex32(*bits_text, bits))
      return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "version_bits must be 8 hex digits", out);
    if ((bits & ~s.version_mask) != 0) {
      std::string message = "version_bits ";
      append_hex32(message, bits);
      message += " outside the negotiated mask ";
      append_hex32(message, s.version_mask);
      return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, message, out);
    }
    // BIP310: the block version is the job's with the negotiated bits replaced by the miner's.
    version = (job.version & ~s.version_mask) | (bits & s.version_mask);
  }
  submit_candidate(s, req.id, job, *ref, std::span<const uint8_t>(extranonce, uint32_t{s.e1size} + s.e2size), nonce, ntime, version,
                   *worker, out);
}

void Server::submit_candidate(Session& s, std::string_view id, const JobEntry& job, const JobRef& ref, std::span<const uint8_t> extranonce,
                              uint64_t nonce, uint32_t ntime, uint32_t version, const std::string& worker, std::string& out,
                              const uint8_t* mix) {
  if (s.pending.size() >= config_.max_pending)
    return reject_submit(s, id, Counter::overloaded, error_code::kOther, "Too many shares awaiting verification", out);
  const PortConfig& cfg = ports_[s.port]->cfg;
  if (ref.difficulty != s.cached_difficulty) {
    if (cfg.dialect == Dialect::monero) {
      s.cached_target = monero_target(ref.difficulty).judged;  // exactly what the miner was told to meet
    } else {
      const auto target = target_from_difficulty(cfg.unit, ref.difficulty);
      if (!target) return reject_submit(s, id, Counter::internal_error, error_code::kOther, "Internal error: no target", out);
      s.cached_target = *target;
    }
    s.cached_difficulty = ref.difficulty;
  }

  otd_candidate_t c{};
  c.struct_size = sizeof c;
  c.job_id = job.id;
  c.connection_id = s.conn;
  c.worker = worker.c_str();
  c.extranonce = extranonce.empty() ? nullptr : extranonce.data();
  c.extranonce_size = static_cast<uint32_t>(extranonce.size());
  if (mix != nullptr) {
    c.flags |= OTD_FOUND_HAS_MIX;
    std::memcpy(c.mix, mix, OTD_HASH_SIZE);
  }
  c.nonce = nonce;
  c.ntime = ntime;
  c.version_bits = version;  // the full version: the host hands it to build_blob as the header's version
  std::memcpy(c.share_target, s.cached_target.data(), OTD_HASH_SIZE);
  c.submission_id = s.next_submission++;
  Pending pending;
  pending.submission_id = c.submission_id;
  pending.id_length = static_cast<uint8_t>(std::min(id.size(), kMaxIdLength));
  std::memcpy(pending.id, id.data(), pending.id_length);
  s.pending.push_back(pending);
  const otd_status_t st = env_.submit_candidate(c);
  if (st != OTD_OK) {
    s.pending.pop_back();
    if (st == OTD_ERR_BUSY)
      return reject_submit(s, id, Counter::overloaded, error_code::kOther, "Server overloaded, share not checked", out);
    return reject_submit(s, id, Counter::internal_error, error_code::kOther, "Internal error: the host refused the share", out);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Verdicts

void Server::on_share_result(const otd_share_result_t& r) {
  Counter c = Counter::internal_error;
  int code = error_code::kOther;
  bool valid = false, invalid = false;
  const std::string_view reason(r.reason, strnlen(r.reason, sizeof r.reason));
  std::string message;
  switch (r.verdict) {
    case OTD_SHARE_ACCEPTED:
    case OTD_SHARE_BLOCK:
      c = Counter::accepted;
      valid = true;
      if (r.verdict == OTD_SHARE_BLOCK) count(Counter::blocks);
      break;
    case OTD_SHARE_LOW_DIFFICULTY:
      c = Counter::low_difficulty;
      code = error_code::kLowDifficulty;
      message = "Low difficulty share";
      invalid = true;
      break;
    case OTD_SHARE_STALE:
      c = Counter::stale;
      code = error_code::kJobNotFound;
      message = "Stale share: ";
      message.append(reason);
      break;
    case OTD_SHARE_DUPLICATE:
      c = Counter::duplicate;
      code = error_code::kDuplicate;
      message = "Duplicate share";
      invalid = true;
      break;
    case OTD_SHARE_MALFORMED:
      c = Counter::invalid_params;
      message = "Invalid share: ";
      message.append(reason);
      invalid = true;
      break;
    case OTD_SHARE_BAD_NTIME:
      c = Counter::bad_ntime;
      message = "ntime out of range";
      invalid = true;
      break;
    case OTD_SHARE_OVERLOADED:
      c = Counter::overloaded;
      message = "Server overloaded, share not checked";
      break;
    default:
      message = "Internal error: ";
      message.append(reason);
      break;
  }
  count(c);
  const auto s = find(r.connection_id);
  if (!s) return;  // the miner left before its verdict
  std::string& out = control_out_;
  out.clear();
  std::lock_guard lock(s->mutex);
  if (s->closed.load()) return;
  const auto it = std::find_if(s->pending.begin(), s->pending.end(),
                               [&](const Pending& p) { return p.submission_id == r.submission_id; });
  if (it == s->pending.end()) return;
  const Pending pending = *it;
  s->pending.erase(it);
  const bool monero = ports_[s->port]->cfg.dialect == Dialect::monero;
  if (valid) {
    if (monero) {
      write_result2(out, pending.id_text(), R"({"status":"OK"})");
    } else {
      write_result(out, pending.id_text(), "true");
    }
    ++s->valid;
    const PortConfig& cfg = ports_[s->port]->cfg;
    if (cfg.vardiff.enabled && !s->fixed && s->ready && !s->closing) {
      if (const auto d = s->vardiff.on_share(cfg.vardiff, s->difficulty, floor_of(*s), env_.now_ms()))
        change_difficulty(*s, *d, out);
    }
  } else {
    write_reject(*s, pending.id_text(), code, message, out);
    if (invalid) ++s->invalid;
  }
  judge_ban(*s);
  env_.send(s->conn, out);
  if (s->closing) env_.close(s->conn);
}

// ---------------------------------------------------------------------------------------------------------
// Jobs

std::shared_ptr<Server::JobEntry> Server::build_bitcoin_job(const otd_job_t& job) const {
  const otd_template_t& t = *job.tmpl;
  if (t.struct_size < OTD_FIELD_END(otd_template_t, merkle_branch_count)) return nullptr;
  if ((t.coinbase1 == nullptr && t.coinbase1_size != 0) || (t.coinbase2 == nullptr && t.coinbase2_size != 0) ||
      (t.merkle_branch == nullptr && t.merkle_branch_count != 0))
    return nullptr;
  auto e = std::make_shared<JobEntry>();
  e->id = job.job_id;
  e->version = t.version;
  e->ntime = t.ntime;
  e->extranonce_size = t.extranonce_size;
  // ["job_id","prevhash","coinb1","coinb2",["branch"...],"version","nbits","ntime",clean_jobs]
  std::string& line = e->notify_update;
  line.reserve(160 + 2 * (size_t{t.coinbase1_size} + t.coinbase2_size) + 68 * size_t{t.merkle_branch_count});
  line = "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"";
  append_hex64(line, job.job_id);
  line += "\",\"";
  // Stratum's previous hash: the header's (internal) bytes with each 4-byte word byte-swapped.
  for (size_t w = 0; w < 8; ++w) {
    const uint8_t word[4] = {t.prev_hash[4 * w + 3], t.prev_hash[4 * w + 2], t.prev_hash[4 * w + 1], t.prev_hash[4 * w]};
    append_hex(line, word, 4);
  }
  line += "\",\"";
  append_hex(line, t.coinbase1, t.coinbase1_size);
  line += "\",\"";
  append_hex(line, t.coinbase2, t.coinbase2_size);
  line += "\",[";
  for (uint32_t i = 0; i < t.merkle_branch_count; ++i) {
    line += i == 0 ? "\"" : ",\"";
    append_hex(line, t.merkle_branch + 32 * size_t{i}, 32);
    line += "\"";
  }
  line += "],\"";
  append_hex32(line, t.version);
  line += "\",\"";
  append_hex32(line, t.nbits);
  line += "\",\"";
  append_hex32(line, t.ntime);
  line += "\",";
  e->notify_clean = line + "true]}\n";
  line += "false]}\n";
  return e;
}

void Server::on_job(const otd_job_t& job) {
  if (job.tmpl == nullptr || job.tmpl->algorithm == nullptr) return;
  const otd_template_t& t = *job.tmpl;
  const bool clean = (job.flags & OTD_TEMPLATE_CLEAN) != 0;
  for (auto& port_ptr : ports_) {
    Port& port = *port_ptr;
    if (port.cfg.algorithm != t.algorithm) continue;
    if (!port.cfg.coin.empty() && (t.coin == nullptr || port.cfg.coin != t.coin)) continue;
    // This server's difficulty unit must agree with the algorithm plugin's (the host's pair).
    if (job.share_difficulty > 0 && !port.unit_warned.load()) {
      common::Uint256 host_target{};
      std::memcpy(host_target.data(), job.share_target, OTD_HASH_SIZE);
      const double mine = algorithm_difficulty_from_target(port.cfg.unit, host_target);
      if (!(std::fabs(mine - job.share_difficulty) <= 1e-6 * job.share_difficulty) && !port.unit_warned.exchange(true))
        env_.log(OTD_LOG_WARN, "stratum-server " + port.cfg.address + ": the host says the job's share target is difficulty " +
                                   std::to_string(job.share_difficulty) + ", this server's " + port.cfg.algorithm +
                                   " unit reads it as " + std::to_string(mine) + ": miners would be judged in other units");
    }
    const bool monero = port.cfg.dialect == Dialect::monero;
    const bool ethereum = port.cfg.dialect == Dialect::ethereum;
    const bool kawpow = ethereum && port.cfg.algorithm == "kawpow";
    // Bitcoin: extranonce1 || extranonce2 must fit; Monero: extranonce1 goes into the reserved bytes;
    // Ethereum: the nonce prefix is extranonce1, the template has no extranonce of its own.
    const bool misfit = monero     ? (t.extranonce_size < port.cfg.extranonce1_size || t.extranonce_size > 32)
                        : ethereum ? t.extranonce_size != 0
                                   : t.extranonce_size <= port.cfg.extranonce1_size;
    if (misfit) {
      if (!port.extranonce_warned.exchange(true))
        env_.log(OTD_LOG_ERROR, "stratum-server " + port.cfg.address + ": job " + std::to_string(job.job_id) + " has " +
                                    std::to_string(t.extranonce_size) + " extranonce bytes, which do not fit this port's extranonce1_size " +
                                    std::to_string(port.cfg.extranonce1_size) + ": not served");
      continue;
    }
    auto entry = monero ? build_monero_job(job) : ethereum ? build_ethereum_job(job, kawpow) : build_bitcoin_job(job);
    if (!entry) {
      env_.log(OTD_LOG_ERROR, "stratum-server " + port.cfg.address + ": job " + std::to_string(job.job_id) +
                                  " lacks the template fields its dialect needs: not served");
      continue;
    }
    {
      std::lock_guard lock(port.mutex);
      if (port.current && port.current->id >= entry->id) continue;  // a late job must not overtake
      uint64_t generation = port.generation.load();
      if (clean) port.generation.store(++generation, std::memory_order_release);
      entry->generation = generation;
      port.current = entry;
    }
    const std::shared_ptr<const JobEntry> shared = entry;
    std::vector<uint64_t> conns;
    for (const auto& s : sessions_of(port.index)) {
      std::lock_guard lock(s->mutex);
      if (!s->ready || s->closing || s->closed.load()) continue;
      std::string& out = control_out_;
      out.clear();
      if (monero) {
        // Each connection's blob carries its own extranonce: one job line each.
        std::string job_json;
        if (!monero_job(*s, shared, job_json)) continue;
        write_notification2(out, "job", job_json);
        env_.send(s->conn, out);
        continue;
      }
      if (s->last_job_id >= shared->id) continue;
      if (ethereum) {
        record_job(*s, shared, shared->id);
        if (kawpow) {
          // The target is part of the KawPow notify: one line per connection.
          write_kawpow_notify(*s, *shared, clean, out);
          env_.send(s->conn, out);
        } else {
          conns.push_back(s->conn);
        }
        continue;
      }
      const bool fits = fit_extranonce(*s, *shared, out);
      if (!out.empty()) env_.send(s->conn, out);
      if (s->closing) {
        env_.close(s->conn);
        continue;
      }
      if (!fits) continue;
      record_job(*s, shared, shared->id);
      conns.push_back(s->conn);
    }
    if (!conns.empty()) env_.send_many(conns, clean ? shared->notify_clean : shared->notify_update);
  }
}

std::shared_ptr<Server::JobEntry> Server::build_monero_job(const otd_job_t& job) const {
  const otd_template_t& t = *job.tmpl;
  if (t.struct_size < OTD_FIELD_END(otd_template_t, seed_size) || t.blob == nullptr || t.blob_size == 0 ||
      (t.seed == nullptr && t.seed_size != 0))
    return nullptr;
  auto e = std::make_shared<JobEntry>();
  e->id = job.job_id;
  e->ntime = t.ntime;
  e->extranonce_size = t.extranonce_size;
  e->coin = t.coin != nullptr ? t.coin : "";
  e->algorithm = t.algorithm;
  e->source_job_id = t.source_job_id != nullptr ? t.source_job_id : "";
  e->blob.assign(t.blob, t.blob + t.blob_size);
  if (t.seed != nullptr) e->seed.assign(t.seed, t.seed + t.seed_size);
  const bool has_next = t.struct_size >= OTD_FIELD_END(otd_template_t, next_seed_size) && t.next_seed != nullptr;
  if (has_next) e->next_seed.assign(t.next_seed, t.next_seed + t.next_seed_size);
  // Copy what the host gave (never more than it has), then point the copy at our own storage; the
  // Bitcoin-only and block-assembly fields are not needed to build a hashing blob.
  std::memcpy(&e->tmpl, &t, std::min<size_t>(t.struct_size, sizeof e->tmpl));
  e->tmpl.coin = e->coin.c_str();
  e->tmpl.algorithm = e->algorithm.c_str();
  e->tmpl.source_job_id = e->source_job_id.c_str();
  e->tmpl.blob = e->blob.data();
  e->tmpl.seed = e->seed.empty() ? nullptr : e->seed.data();
  e->tmpl.coinbase1 = e->tmpl.coinbase2 = nullptr;
  e->tmpl.coinbase1_size = e->tmpl.coinbase2_size = 0;
  e->tmpl.merkle_branch = nullptr;
  e->tmpl.merkle_branch_count = 0;
  e->tmpl.block_data = nullptr;
  e->tmpl.block_data_size = 0;
  if (e->tmpl.struct_size >= OTD_FIELD_END(otd_template_t, next_seed_size)) {
    e->tmpl.next_seed = e->next_seed.empty() ? nullptr : e->next_seed.data();
    e->tmpl.next_seed_size = static_cast<uint32_t>(e->next_seed.size());
  }
  return e;
}

// ---------------------------------------------------------------------------------------------------------
// Monero dialect (xmrig; src/base/net/stratum/Client.cpp is the reference for what a miner sends and reads)

namespace {
/// xmrig's name of an algorithm on the wire.
const char* xmrig_algorithm(std::string_view algorithm) noexcept { return algorithm == "randomx" ? "rx/0" : "unknown"; }
}  // namespace

bool Server::monero_job(Session& s, const std::shared_ptr<const JobEntry>& job, std::string& json) {
  uint8_t extranonce[32] = {};
  if (job->extranonce_size < s.e1size || job->extranonce_size > sizeof extranonce) return false;
  std::memcpy(extranonce, s.extranonce1, s.e1size);  // the rest of the reserved bytes stay zero
  std::vector<uint8_t> blob;
  std::string error;
  if (!env_.build_blob(job->tmpl, std::span<const uint8_t>(extranonce, job->extranonce_size), blob, error)) {
    if (!job->blob_warned.exchange(true))
      env_.log(OTD_LOG_ERROR, "stratum-server: cannot build the blob of job " + std::to_string(job->id) + ": " + error);
    return false;
  }
  const uint64_t seq = s.next_seq++;
  record_job(s, job, seq);
  const MoneroTarget target = monero_target(s.difficulty);
  json.clear();
  json.reserve(160 + 2 * blob.size());
  json += "{\"blob\":\"";
  append_hex(json, blob.data(), blob.size());
  json += "\",\"job_id\":\"";
  append_hex64(json, seq);
  json += "\",\"target\":\"";
  json += target.hex;
  json += "\",\"algo\":\"";
  json += xmrig_algorithm(job->algorithm);
  json += "\",\"height\":";
  json::append_number(json, static_cast<double>(job->tmpl.height));
  if (!job->seed.empty()) {
    json += ",\"seed_hash\":\"";
    append_hex(json, job->seed.data(), job->seed.size());
    json += "\"";
  }
  if (!job->next_seed.empty()) {
    json += ",\"next_seed_hash\":\"";
    append_hex(json, job->next_seed.data(), job->next_seed.size());
    json += "\"";
  }
  json += "}";
  return true;
}

void Server::monero_request(Session& s, const Request& req, Scratch& scratch) {
  std::string& out = scratch.out;
  const std::string_view m = req.method;
  if (m == "submit") return monero_submit(s, req, scratch);
  if (m == "login") return monero_login(s, req, scratch);
  if (m == "keepalived") {
    if (!s.ready) return write_error2(out, req.id, -1, "Unauthenticated");
    return write_result2(out, req.id, R"({"status":"KEEPALIVED"})");
  }
  if (m == "getjob") {
    if (!s.ready) return write_error2(out, req.id, -1, "Unauthenticated");
    Port& port = *ports_[s.port];
    std::shared_ptr<const JobEntry> current;
    {
      std::lock_guard lock(port.mutex);
      current = port.current;
    }
    std::string job;
    if (!current || !monero_job(s, current, job)) return write_error2(out, req.id, -1, "No job available yet");
    return write_result2(out, req.id, job);
  }
  count(Counter::unknown_methods);
  if (req.id == "null") return;
  std::string message = "Unknown method ";
  message.append(m);
  write_error2(out, req.id, -1, message);
}

void Server::monero_login(Session& s, const Request& req, Scratch& scratch) {
  std::string& out = scratch.out;
  const json::Value p = req.params;
  auto refuse = [&](std::string_view why) {
    count(Counter::unauthorized);
    write_error2(out, req.id, -1, why);
  };
  if (!p.is_object()) return refuse("login takes {login, pass, agent, algo, rigid}");
  std::string login;
  if (!p.find("login").decode_string(login)) return refuse("login: \"login\" (the wallet address) is missing");
  // "ADDRESS+DIFF" fixes the difficulty (the Monero pools' convention), as "d=DIFF" in the password does.
  std::optional<double> fixed;
  if (const size_t plus = login.rfind('+'); plus != std::string::npos) {
    double v = 0;
    const auto [ptr, ec] = std::from_chars(login.data() + plus + 1, login.data() + login.size(), v);
    if (ec != std::errc{} || ptr != login.data() + login.size() || !(v > 0) || !std::isfinite(v))
      return refuse("login: the difficulty after '+' is not a number > 0");
    fixed = v;
    login.resize(plus);
  }
  std::string password;
  if (p.find("pass").decode_string(password)) {
    bool bad = false;
    if (const auto d = password_difficulty(password, bad)) fixed = d;
    if (bad) return refuse("login: the password's d= is not a number > 0");
  }
  std::string rigid;
  p.find("rigid").decode_string(rigid);
  std::string worker = login;
  if (!rigid.empty() && login.find('.') == std::string::npos) worker += "." + rigid;
  if (const char* why = worker_problem(worker)) return refuse(std::string("login: ") + why);
  const json::Value algos = p.find("algo");
  const char* mine = xmrig_algorithm(ports_[s.port]->cfg.algorithm);
  if (algos.is_array() && algos.size() > 0) {
    bool offered = false;
    for (uint32_t i = 0; i < algos.size(); ++i) offered = offered || algos.at(i).plain_string() == std::optional<std::string_view>(mine);
    if (!offered) return refuse(std::string("login: this port mines ") + mine + ", which the miner did not offer");
  }
  Port& port = *ports_[s.port];
  std::shared_ptr<const JobEntry> current;
  {
    std::lock_guard lock(port.mutex);
    current = port.current;
  }
  if (!current) return write_error2(out, req.id, -1, "No job available yet, try again");
  const PortConfig& cfg = port.cfg;
  if (fixed) {
    double v = std::max(*fixed, floor_of(s));
    if (cfg.vardiff.max > 0) v = std::min(v, cfg.vardiff.max);
    s.fixed = true;
    s.difficulty = v;
  }
  s.subscribed = true;
  s.workers.assign(1, std::move(worker));
  std::string job;
  if (!monero_job(s, current, job)) return write_error2(out, req.id, -1, "Internal error: the job's blob cannot be built");
  s.ready = true;
  s.vardiff.reset(env_.now_ms());
  std::string result = "{\"id\":\"";
  append_hex64(result, s.conn);
  result += "\",\"job\":";
  result += job;
  result += R"(,"extensions":["algo","keepalive"],"status":"OK"})";
  write_result2(out, req.id, result);
}

void Server::monero_submit(Session& s, const Request& req, Scratch& scratch) {
  std::string& out = scratch.out;
  submissions_.fetch_add(1, std::memory_order_relaxed);
  if (!s.ready) return reject_submit(s, req.id, Counter::not_subscribed, error_code::kNotSubscribed, "Unauthenticated", out);
  const json::Value p = req.params;
  if (!p.is_object())
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "submit takes {id, job_id, nonce, result}", out);
  const auto session = p.find("id").plain_string();
  std::string mine;
  append_hex64(mine, s.conn);
  if (!session || *session != mine) return reject_submit(s, req.id, Counter::unauthorized, error_code::kUnauthorized, "Unauthenticated", out);
  const auto job_text = p.find("job_id").plain_string();
  uint64_t wire = 0;
  const JobRef* ref = nullptr;
  if (job_text && parse_hex64(*job_text, wire)) {
    for (const JobRef& j : s.jobs)
      if (j.job && j.wire_id == wire) ref = &j;
  }
  if (ref == nullptr) return reject_submit(s, req.id, Counter::stale, error_code::kJobNotFound, "Job not found", out);
  const JobEntry& job = *ref->job;
  if (job.generation < ports_[s.port]->generation.load(std::memory_order_acquire))
    return reject_submit(s, req.id, Counter::stale, error_code::kJobNotFound, "Stale job: a new block arrived", out);
  // The nonce as the miner wrote it into the blob: 4 bytes, little-endian.
  uint8_t nonce_bytes[4];
  const auto nonce_text = p.find("nonce").plain_string();
  if (!nonce_text || !parse_hex_bytes(*nonce_text, nonce_bytes, 4))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "nonce must be 8 hex digits", out);
  const uint32_t nonce = uint32_t{nonce_bytes[0]} | (uint32_t{nonce_bytes[1]} << 8) | (uint32_t{nonce_bytes[2]} << 16) |
                         (uint32_t{nonce_bytes[3]} << 24);
  // The claimed hash is never trusted (the host recomputes it); it must still be well-formed.
  const json::Value result = p.find("result");
  uint8_t claimed[32];
  if (result.exists() && !(result.plain_string() && parse_hex_bytes(*result.plain_string(), claimed, 32)))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "result must be 64 hex digits", out);
  uint8_t extranonce[32] = {};
  std::memcpy(extranonce, s.extranonce1, s.e1size);
  submit_candidate(s, req.id, job, *ref, std::span<const uint8_t>(extranonce, job.extranonce_size), nonce, 0, 0, s.workers.front(), out);
}

// ---------------------------------------------------------------------------------------------------------
// Ethereum dialect: EthereumStratum/1.0.0 (NiceHash's specification, EthereumStratum_NiceHash_v1.0.0.txt R2;
// ethminer's ETHEREUMSTRATUM mode) for ethash and etchash, and its KawPow variant (kawpowminer; the yiimp
// and NOMP-style KawPow pools): mining.set_target, notify [job, header, seed, target, clean, height, bits],
// submit [worker, job, nonce, header, mix].

namespace {
/// ethminer and kawpowminer send hex with a "0x" prefix, NiceHash without.
using common::strip_0x;
/// 1 to 16 hex digits as a big-endian number.
bool parse_hex_u64(std::string_view s, uint64_t& out) noexcept { return parse_hex64(s, out); }
}  // namespace

std::shared_ptr<Server::JobEntry> Server::build_ethereum_job(const otd_job_t& job, bool kawpow) const {
  const otd_template_t& t = *job.tmpl;
  if (t.struct_size < OTD_FIELD_END(otd_template_t, epoch) || t.blob == nullptr || t.blob_size != 32 || t.seed == nullptr ||
      t.seed_size != 32)
    return nullptr;
  auto e = std::make_shared<JobEntry>();
  e->id = job.job_id;
  e->extranonce_size = 0;
  e->tmpl.height = t.height;
  std::memcpy(e->header, t.blob, 32);
  e->seed.assign(t.seed, t.seed + 32);
  if (kawpow) {
    // ["job", "header", "seed", "target", clean, height, "bits"]: the target goes in per connection.
    std::string& head = e->kawpow_head;
    head = "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"";
    append_hex64(head, job.job_id);
    head += "\",\"";
    append_hex(head, e->header, 32);
    head += "\",\"";
    append_hex(head, e->seed.data(), 32);
    head += "\",\"";
    uint32_t bits = t.nbits;
    if (bits == 0) {
      common::Uint256 block_target{};
      std::memcpy(block_target.data(), t.block_target, OTD_HASH_SIZE);
      bits = common::encode_compact(block_target);
    }
    std::string tail = ",";
    json::append_number(tail, static_cast<double>(t.height));
    tail += ",\"";
    append_hex32(tail, bits);
    tail += "\"]}\n";
    e->kawpow_clean = "\",true" + tail;
    e->kawpow_update = "\",false" + tail;
    return e;
  }
  // ["job", "seed", "header", clean] (NiceHash III): one line for every connection.
  std::string& line = e->notify_update;
  line = "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"";
  append_hex64(line, job.job_id);
  line += "\",\"";
  append_hex(line, e->seed.data(), 32);
  line += "\",\"";
  append_hex(line, e->header, 32);
  line += "\",";
  e->notify_clean = line + "true]}\n";
  line += "false]}\n";
  return e;
}

void Server::write_kawpow_notify(const Session& s, const JobEntry& job, bool clean, std::string& out) {
  const auto target = target_from_difficulty(ports_[s.port]->cfg.unit, s.difficulty);
  out += job.kawpow_head;
  out += target ? common::to_display_hex(*target) : std::string(64, 'f');
  out += clean ? job.kawpow_clean : job.kawpow_update;
}

void Server::ethereum_request(Session& s, const Request& req, Scratch& scratch) {
  const std::string_view m = req.method;
  std::string& out = scratch.out;
  if (m == "mining.submit") return ethereum_submit(s, req, scratch);
  if (m == "mining.subscribe") return ethereum_subscribe(s, req, out);
  if (m == "mining.authorize") return bitcoin_authorize(s, req, scratch);  // the same as slush's (NiceHash III)
  if (m == "mining.extranonce.subscribe") {
    s.extranonce_subscribed = true;
    return write_result(out, req.id, "true");
  }
  if (m == "eth_submitHashrate" || m == "mining.hashrate") {
    // ethminer / kawpowminer report their hashrate; nothing to do with it here.
    if (req.id == "null") return;
    return write_result(out, req.id, "true");
  }
  count(Counter::unknown_methods);
  if (req.id == "null") return;
  std::string message = "Unknown method ";
  message.append(m);
  write_error(out, req.id, error_code::kOther, message);
}

void Server::ethereum_subscribe(Session& s, const Request& req, std::string& out) {
  // params: [agent, "EthereumStratum/1.0.0"] (NiceHash), [agent, null] or [agent] (kawpowminer).
  s.subscribed = true;
  std::string result;
  if (ports_[s.port]->cfg.algorithm == "kawpow") {
    // [null, "nonce prefix"] as the KawPow pools answer: kawpowminer stays in its KawPow stratum mode
    // (an "EthereumStratum/1.0.0" answer would switch an ethminer descendant to the NiceHash notify form).
    result = "[null,\"";
    append_hex(result, s.extranonce1, s.e1size);
    result += "\"]";
  } else {
    // [["mining.notify", session, "EthereumStratum/1.0.0"], "extranonce"]
    result = "[[\"mining.notify\",\"";
    append_hex64(result, s.conn);
    result += "\",\"EthereumStratum/1.0.0\"],\"";
    append_hex(result, s.extranonce1, s.e1size);
    result += "\"]";
  }
  write_result(out, req.id, result);
  if (!s.ready && !s.workers.empty()) start_work(s, out);
}

void Server::ethereum_submit(Session& s, const Request& req, Scratch& scratch) {
  std::string& out = scratch.out;
  submissions_.fetch_add(1, std::memory_order_relaxed);
  if (!s.subscribed) return reject_submit(s, req.id, Counter::not_subscribed, error_code::kNotSubscribed, "Not subscribed", out);
  const bool kawpow = ports_[s.port]->cfg.algorithm == "kawpow";
  const json::Value p = req.params;
  if (kawpow ? (!p.is_array() || p.size() != 5) : (!p.is_array() || (p.size() != 3 && p.size() != 5)))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther,
                         kawpow ? "mining.submit takes 5 params: worker, job_id, nonce, header, mix"
                                : "mining.submit takes 3 params: worker, job_id, nonce (or 5: ..., header, mix)",
                         out);
  json::Value v[5];
  v[0] = p.at(0);
  for (uint32_t i = 1; i < p.size(); ++i) v[i] = v[i - 1].after();
  if (!v[0].is_string()) return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "worker must be a string", out);
  v[0].decode_string(scratch.text);
  const std::string* worker = nullptr;
  for (const auto& w : s.workers)
    if (w == scratch.text) worker = &w;
  if (worker == nullptr) return reject_submit(s, req.id, Counter::unauthorized, error_code::kUnauthorized, "Unauthorized worker", out);

  const auto job_text = v[1].plain_string();
  uint64_t job_id = 0;
  const JobRef* ref = nullptr;
  if (job_text && parse_hex64(strip_0x(*job_text), job_id)) {
    for (const JobRef& j : s.jobs)
      if (j.job && j.wire_id == job_id) ref = &j;
  }
  if (ref == nullptr) return reject_submit(s, req.id, Counter::stale, error_code::kJobNotFound, "Job not found", out);
  const JobEntry& job = *ref->job;
  if (job.generation < ports_[s.port]->generation.load(std::memory_order_acquire))
    return reject_submit(s, req.id, Counter::stale, error_code::kJobNotFound, "Stale job: a new block arrived", out);

  // The nonce: 16 hex digits, the 64-bit nonce as a big-endian number, starting with this connection's
  // prefix; NiceHash's form sends only the miner's part (16 - 2 * prefix bytes digits) after the prefix.
  const auto nonce_raw = v[2].plain_string();
  const std::string_view nonce_text = nonce_raw ? strip_0x(*nonce_raw) : std::string_view{};
  const size_t prefix_digits = 2u * s.e1size;
  char full[16];
  std::string prefix;
  append_hex(prefix, s.extranonce1, s.e1size);
  if (nonce_text.size() == 16) {
    std::memcpy(full, nonce_text.data(), 16);
  } else if (!kawpow && nonce_text.size() == 16 - prefix_digits) {
    std::memcpy(full, prefix.data(), prefix_digits);
    std::memcpy(full + prefix_digits, nonce_text.data(), nonce_text.size());
  } else {
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther,
                         kawpow ? "nonce must be 16 hex digits"
                                : "nonce must be 16 hex digits (or " + std::to_string(16 - prefix_digits) +
                                      ": the miner's part after the extranonce)",
                         out);
  }
  uint64_t nonce = 0;
  if (!parse_hex_u64(std::string_view(full, 16), nonce))
    return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "nonce is not hex", out);
  for (size_t i = 0; i < prefix_digits; ++i) {
    if (hex_value(full[i]) != hex_value(prefix[i]))
      return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther,
                           "nonce does not start with this connection's extranonce " + prefix, out);
  }
  uint8_t mix[32];
  if (p.size() == 5) {
    // The header must be the job's; the mix must be well-formed (KawPow: the host checks it; Ethash: the
    // host computes its own and this one is not used).
    uint8_t header[32];
    const auto header_text = v[3].plain_string();
    if (!header_text || !parse_hex_bytes(strip_0x(*header_text), header, 32))
      return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "header must be 64 hex digits", out);
    if (std::memcmp(header, job.header, 32) != 0)
      return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "header is not the job's", out);
    const auto mix_text = v[4].plain_string();
    if (!mix_text || !parse_hex_bytes(strip_0x(*mix_text), mix, 32))
      return reject_submit(s, req.id, Counter::invalid_params, error_code::kOther, "mix must be 64 hex digits", out);
  }
  submit_candidate(s, req.id, job, *ref, {}, nonce, 0, 0, *worker, out, kawpow ? mix : nullptr);
}

// ---------------------------------------------------------------------------------------------------------
// Periodic work and admin

void Server::tick() {
  const uint64_t now = env_.now_ms();
  guard_.expire(now);
  for (const auto& port_ptr : ports_) {
    const PortConfig& cfg = port_ptr->cfg;
    if (!cfg.vardiff.enabled) continue;
    for (const auto& s : sessions_of(port_ptr->index)) {
      std::lock_guard lock(s->mutex);
      if (!s->ready || s->fixed || s->closing || s->closed.load()) continue;
      const auto d = s->vardiff.on_tick(cfg.vardiff, s->difficulty, floor_of(*s), now);
      if (!d) continue;
      std::string& out = control_out_;
      out.clear();
      change_difficulty(*s, *d, out);
      if (!out.empty()) env_.send(s->conn, out);
    }
  }
}

size_t Server::reconnect(std::optional<uint64_t> conn, std::string_view host, uint16_t port, uint32_t wait_s) {
  std::string params = "[]";
  if (!host.empty()) {
    params = "[";
    json::append_string(params, host);
    params += ",";
    json::append_number(params, port);
    params += ",";
    json::append_number(params, wait_s);
    params += "]";
  }
  std::string line;
  write_notification(line, "client.reconnect", params);
  size_t sent = 0;
  for (size_t p = 0; p < ports_.size(); ++p) {
    for (const auto& s : sessions_of(p)) {
      if (conn && s->conn != *conn) continue;
      std::lock_guard lock(s->mutex);
      if (s->closing || s->closed.load()) continue;
      env_.send(s->conn, line);
      ++sent;
    }
  }
  return sent;
}

}  // namespace otedama::stratum
