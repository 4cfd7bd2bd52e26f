// Per-address bookkeeping: how many connections each IP holds (the per-IP cap) and which IPs are banned
// until when. Thread-safe ([io] threads admit and release, the control strand bans and expires).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace otedama::stratum {

/// The address part of a net-service peer string: "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "::1".
[[nodiscard]] std::string_view peer_address(std::string_view peer) noexcept;

class IpGuard {
 public:
  enum class Admission { ok, banned, per_ip_limit };

  /// Count a new connection from `ip` unless it is banned or already holds `per_ip_limit` connections
  /// (0 = no cap).
  Admission admit(std::string_view ip, uint64_t now_ms, uint32_t per_ip_limit);
  /// A connection admitted earlier is gone.
  void release(std::string_view ip);
  /// Refuse `ip` until `until_ms` (monotonic).
  void ban(std::string_view ip, uint64_t until_ms);
  [[nodiscard]] bool banned(std::string_view ip, uint64_t now_ms) const;
  [[nodiscard]] uint32_t connections(std::string_view ip) const;
  /// Forget bans that ended; returns how many ended.
  size_t expire(uint64_t now_ms);
  [[nodiscard]] size_t active_bans(uint64_t now_ms) const;

 private:
  struct Entry {
    uint32_t connections = 0;
    uint64_t banned_until_ms = 0;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace otedama::stratum
