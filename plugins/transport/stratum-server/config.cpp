#include "config.hpp"

#include <otedama/bitcoin/address.hpp>

#include "json.hpp"

#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>

#include <charconv>
#include <cmath>
#include <set>

namespace otedama::stratum {

const char* dialect_name(Dialect d) noexcept {
  switch (d) {
    case Dialect::bitcoin: return "bitcoin";
    case Dialect::monero: return "monero";
    case Dialect::ethereum: return "ethereum";
  }
  return "?";
}

bool split_address(std::string_view address, std::string& host, uint16_t& port) {
  std::string_view h, p;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
    h = address.substr(1, close - 1);
    p = address.substr(close + 2);
    if (h.empty()) return false;
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || address.find(':') != colon) return false;
    h = address.substr(0, colon);
    p = address.substr(colon + 1);
  }
  if (p.empty() || p.size() > 5) return false;
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || ptr != p.data() + p.size() || value > 65535) return false;
  host = h.empty() ? "0.0.0.0" : std::string(h);
  port = static_cast<uint16_t>(value);
  return true;
}

namespace {

constexpr const char* kRoot = "stratum-server";

/// Reads typed values out of one object, naming `path.key` in every refusal.
class Reader {
 public:
  Reader(json::Value object, std::string path, std::string* error) : obj_(object), path_(std::move(path)), error_(error) {}

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] std::string key_path(std::string_view key) const { return path_ + "." + std::string(key); }

  bool fail(std::string_view key, const std::string& why) {
    if (ok_ && error_ != nullptr) *error_ = key_path(key) + ": " + why;
    ok_ = false;
    return false;
  }

  /// Refuse keys other than `known` (a typo must not be silently ignored).
  void only(std::initializer_list<std::string_view> known) {
    for (uint32_t i = 0; i < obj_.size(); ++i) {
      std::string key;
      obj_.key_at(i).decode_string(key);
      bool found = false;
      for (auto k : known) found = found || k == key;
      if (!found) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        fail(key, "unknown key (known: " + list + ")");
        return;
      }
    }
  }

  json::Value get(std::string_view key) const { return obj_.find(key); }

  /// A number given as a JSON number or as numeric text (YAML hands floats over as strings).
  void number(std::string_view key, double& out, double min, double max, bool min_exclusive = false) {
    const json::Value v = get(key);
    if (!v.exists() || !ok_) return;
    std::optional<double> d;
    if (v.is_number()) {
      d = v.number();
    } else if (v.is_string()) {
      std::string text;
      v.decode_string(text);
      double x = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
      if (ec == std::errc{} && ptr == text.data() + text.size() && !text.empty() && std::isfinite(x)) d = x;
    }
    if (!d || *d < min || *d > max || (min_exclusive && *d == min)) {
      fail(key, "must be a number " + std::string(min_exclusive ? "> " : ">= ") + fmt(min) + " and <= " + fmt(max) +
                    ", got " + std::string(v.token()));
      return;
    }
    out = *d;
  }

  template <class Int>
  void integer(std::string_view key, Int& out, int64_t min, int64_t max) {
    const json::Value v = get(key);
    if (!v.exists() || !ok_) return;
    std::optional<int64_t> i = v.integer();
    if (!i && v.is_string()) {
      std::string text;
      v.decode_string(text);
      int64_t x = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
      if (ec == std::errc{} && ptr == text.data() + text.size() && !text.empty()) i = x;
    }
    if (!i || *i < min || *i > max) {
      fail(key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                    std::string(v.token()));
      return;
    }
    out = static_cast<Int>(*i);
  }

  void boolean(std::string_view key, bool& out) {
    const json::Value v = get(key);
    if (!v.exists() || !ok_) return;
    if (!v.is_bool()) {
      fail(key, "must be true or false, got " + std::string(v.token()));
      return;
    }
    out = v.boolean();
  }

  void duration(std::string_view key, uint64_t& out_ms, uint64_t min_ms) {
    const json::Value v = get(key);
    if (!v.exists() || !ok_) return;
    std::string text;
    if (v.is_string()) {
      v.decode_string(text);
    } else if (v.is_number()) {
      text = std::string(v.token());
    }
    std::string why;
    const auto ms = text.empty() ? std::nullopt : common::parse_duration_ms(text, &why);
    if (!ms || *ms < min_ms) {
      fail(key, "must be a duration (30s, 10m, 500ms, or seconds) of at least " + std::to_string(min_ms) + " ms, got " +
                    std::string(v.token()) + (why.empty() ? "" : " (" + why + ")"));
      return;
    }
    out_ms = *ms;
  }

  bool string(std::string_view key, std::string& out) {
    const json::Value v = get(key);
    if (!v.exists() || !ok_) return false;
    if (!v.is_string()) return fail(key, "must be a string, got " + std::string(v.token()));
    v.decode_string(out);
    return true;
  }

  static std::string fmt(double v) {
    std::string s;
    json::append_number(s, v);
    return s;
  }

 private:
  json::Value obj_;
  std::string path_;
  std::string* error_;
  bool ok_ = true;
};

bool read_vardiff(json::Value v, const std::string& path, VardiffConfig& out, std::string* error) {
  if (!v.exists()) return true;
  if (!v.is_object()) {
    if (error != nullptr) *error = path + ": must be a map";
    return false;
  }
  Reader r(v, path, error);
  r.only({"enabled", "min", "max", "target", "retarget", "variance", "max_step", "window_shares"});
  r.boolean("enabled", out.enabled);
  r.number("min", out.min, 0, 1e300);
  r.number("max", out.max, 0, 1e300);
  r.duration("target", out.target_ms, 100);
  r.duration("retarget", out.retarget_ms, 1000);
  double variance_percent = out.variance * 100;
  r.number("variance", variance_percent, 0, 100);
  out.variance = variance_percent / 100;
  r.number("max_step", out.max_step, 1, 1e6);
  r.integer("window_shares", out.window_shares, 1, 1000000);
  if (r.ok() && out.max > 0 && out.min > out.max) return r.fail("min", "must not exceed vardiff max");
  return r.ok();
}

bool read_port(json::Value v, const std::string& path, const VardiffConfig& vardiff_defaults, PortConfig& port,
               std::string* error) {
  if (!v.is_object()) {
    if (error != nullptr) *error = path + ": must be a map with at least an address";
    return false;
  }
  Reader r(v, path, error);
  r.only({"address", "dialect", "algorithm", "coin", "difficulty", "extranonce1_size", "extranonce_size", "vardiff", "tls_cert",
          "tls_key", "address_network"});
  if (!r.ok()) return false;
  if (!r.string("address", port.address)) {
    if (r.ok()) r.fail("address", "is required (host:port, :port or [v6]:port)");
    return false;
  }
  if (!split_address(port.address, port.host, port.port))
    return r.fail("address", "must be host:port, :port or [v6]:port, got \"" + port.address + "\"");
  std::string dialect;
  if (r.string("dialect", dialect)) {
    if (dialect == "bitcoin") {
      port.dialect = Dialect::bitcoin;
    } else if (dialect == "monero") {
      port.dialect = Dialect::monero;
      if (!v.find("algorithm").exists()) port.algorithm = "randomx";
    } else if (dialect == "ethereum") {
      port.dialect = Dialect::ethereum;
      if (!v.find("algorithm").exists()) port.algorithm = "ethash";
      if (!v.find("extranonce1_size").exists()) port.extranonce1_size = 3;
    } else {
      return r.fail("dialect", "must be bitcoin, monero or ethereum, got \"" + dialect + "\"");
    }
  }
  r.string("algorithm", port.algorithm);
  if (!r.ok()) return false;
  const auto unit = difficulty_unit_for(port.algorithm);
  if (!unit) return r.fail("algorithm", "no stratum difficulty unit known for \"" + port.algorithm + "\"");
  const std::string_view a = port.algorithm;
  if (port.dialect == Dialect::bitcoin && a != "sha256d" && a != "scrypt")
    return r.fail("algorithm", "\"" + port.algorithm + "\" is not a Bitcoin-family algorithm (sha256d, scrypt)");
  if (port.dialect == Dialect::monero && a != "randomx")
    return r.fail("algorithm", "\"" + port.algorithm + "\" is not a Monero-family algorithm (randomx)");
  if (port.dialect == Dialect::ethereum && a != "ethash" && a != "etchash" && a != "kawpow")
    return r.fail("algorithm", "\"" + port.algorithm + "\" is not an Ethereum-family algorithm (ethash, etchash, kawpow)");
  port.unit = *unit;
  r.string("coin", port.coin);
  r.number("difficulty", port.difficulty, 0, 1e300, /*min_exclusive=*/true);
  r.integer("extranonce1_size", port.extranonce1_size, 2, port.dialect == Dialect::ethereum ? 3 : 8);
  r.integer("extranonce_size", port.extranonce_size, 3, 32);
  if (r.ok() && port.dialect == Dialect::bitcoin && port.extranonce_size <= port.extranonce1_size)
    return r.fail("extranonce_size", "must exceed extranonce1_size (miners need extranonce2 bytes)");
  port.vardiff = vardiff_defaults;
  if (!r.ok() || !read_vardiff(r.get("vardiff"), path + ".vardiff", port.vardiff, error)) return false;
  if (port.vardiff.min == 0) port.vardiff.min = quantize_difficulty(port.difficulty / 64);
  if (port.vardiff.max > 0 && port.difficulty > port.vardiff.max)
    return r.fail("difficulty", "is above vardiff.max");
  if (r.string("address_network", port.address_network) && !port.address_network.empty()) {
    std::string known;
    bool found = false;
    for (const auto& n : bitcoin::networks()) {
      known += (known.empty() ? "" : ", ") + std::string(n.name);
      found = found || port.address_network == n.name;
    }
    if (port.dialect != Dialect::bitcoin) return r.fail("address_network", "is for the bitcoin dialect only");
    if (!found) return r.fail("address_network", "must be one of " + known + ", got \"" + port.address_network + "\"");
  }
  r.string("tls_cert", port.tls_cert);
  r.string("tls_key", port.tls_key);
  if (r.ok() && port.tls_cert.empty() != port.tls_key.empty())
    return r.fail(port.tls_cert.empty() ? "tls_cert" : "tls_key", "TLS needs both tls_cert and tls_key");
  return r.ok();
}

}  // namespace

std::optional<ServerConfig> parse_config(std::string_view text, std::string* error) {
  json::Document doc;
  if (!doc.parse(text)) {
    if (error != nullptr) *error = std::string(kRoot) + ": configuration is not valid JSON: " + std::string(doc.error());
    return std::nullopt;
  }
  const json::Value root = doc.root();
  if (!root.is_object()) {
    if (error != nullptr) *error = std::string(kRoot) + ": configuration must be a map";
    return std::nullopt;
  }
  ServerConfig cfg;
  Reader r(root, kRoot, error);
  r.only({"ports", "max_connections", "per_ip_limit", "max_line", "idle_timeout", "version_rolling_mask", "ntime_forward",
          "malformed_limit", "max_pending", "max_workers", "vardiff", "ban"});
  r.integer("max_connections", cfg.max_connections, 1, 10000000);
  r.integer("per_ip_limit", cfg.per_ip_limit, 0, 10000000);
  r.integer("max_line", cfg.max_line, 256, 1 << 20);
  r.duration("idle_timeout", cfg.idle_timeout_ms, 0);
  uint64_t forward_ms = uint64_t{cfg.ntime_forward_s} * 1000;
  r.duration("ntime_forward", forward_ms, 0);
  cfg.ntime_forward_s = static_cast<uint32_t>(std::min<uint64_t>(forward_ms / 1000, UINT32_MAX));
  r.integer("malformed_limit", cfg.malformed_limit, 1, 1000000);
  r.integer("max_pending", cfg.max_pending, 1, 1000000);
  r.integer("max_workers", cfg.max_workers, 1, 10000);
  std::string mask;
  if (r.string("version_rolling_mask", mask)) {
    const auto bytes = common::from_hex_array<4>(mask);
    if (!bytes) return r.fail("version_rolling_mask", "must be 8 hex digits (e.g. 1fffe000), got \"" + mask + "\""), std::nullopt;
    cfg.version_rolling_mask = (uint32_t{(*bytes)[0]} << 24) | (uint32_t{(*bytes)[1]} << 16) | (uint32_t{(*bytes)[2]} << 8) | (*bytes)[3];
  }
  if (!r.ok()) return std::nullopt;

  VardiffConfig vardiff_defaults;
  if (!read_vardiff(root.find("vardiff"), std::string(kRoot) + ".vardiff", vardiff_defaults, error)) return std::nullopt;

  const json::Value ban = root.find("ban");
  if (ban.exists()) {
    if (!ban.is_object()) return r.fail("ban", "must be a map"), std::nullopt;
    Reader b(ban, std::string(kRoot) + ".ban", error);
    b.only({"enabled", "check_threshold", "invalid_percent", "duration"});
    b.boolean("enabled", cfg.ban.enabled);
    b.integer("check_threshold", cfg.ban.check_threshold, 1, 100000000);
    b.number("invalid_percent", cfg.ban.invalid_percent, 0, 100, /*min_exclusive=*/true);
    b.duration("duration", cfg.ban.duration_ms, 1000);
    if (!b.ok()) return std::nullopt;
  }

  const json::Value ports = root.find("ports");
  if (ports.exists()) {
    if (!ports.is_array()) return r.fail("ports", "must be a list of maps"), std::nullopt;
    std::set<std::pair<std::string, uint16_t>> seen;
    for (uint32_t i = 0; i < ports.size(); ++i) {
      PortConfig port;
      const std::string path = std::string(kRoot) + ".ports[" + std::to_string(i) + "]";
      if (!read_port(ports.at(i), path, vardiff_defaults, port, error)) return std::nullopt;
      if (port.port != 0 && !seen.emplace(port.host, port.port).second) {
        if (error != nullptr) *error = path + ".address: " + port.address + " is listed twice";
        return std::nullopt;
      }
      cfg.ports.push_back(std::move(port));
    }
  }
  return cfg;
}

}  // namespace otedama::stratum
