#include "ip_guard.hpp"

namespace otedama::stratum {

std::string_view peer_address(std::string_view peer) noexcept {
  if (!peer.empty() && peer.front() == '[') {
    const size_t close = peer.find(']');
    return close == std::string_view::npos ? peer.substr(1) : peer.substr(1, close - 1);
  }
  const size_t colon = peer.rfind(':');
  // One colon: IPv4 "a.b.c.d:port". Several without brackets: a bare IPv6 address with no port.
  if (colon == std::string_view::npos || peer.find(':') != colon) return peer;
  return peer.substr(0, colon);
}

IpGuard::Admission IpGuard::admit(std::string_view ip, uint64_t now_ms, uint32_t per_ip_limit) {
  std::lock_guard lock(mutex_);
  Entry& e = entries_[std::string(ip)];
  if (e.banned_until_ms > now_ms) return Admission::banned;
  if (per_ip_limit != 0 && e.connections >= per_ip_limit) return Admission::per_ip_limit;
  ++e.connections;
  return Admission::ok;
}

void IpGuard::release(std::string_view ip) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(ip));
  if (it == entries_.end()) return;
  if (it->second.connections > 0) --it->second.connections;
  if (it->second.connections == 0 && it->second.banned_until_ms == 0) entries_.erase(it);
}

void IpGuard::ban(std::string_view ip, uint64_t until_ms) {
  std::lock_guard lock(mutex_);
  Entry& e = entries_[std::string(ip)];
  if (until_ms > e.banned_until_ms) e.banned_until_ms = until_ms;
}

bool IpGuard::banned(std::string_view ip, uint64_t now_ms) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(ip));
  return it != entries_.end() && it->second.banned_until_ms > now_ms;
}

uint32_t IpGuard::connections(std::string_view ip) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(ip));
  return it == entries_.end() ? 0 : it->second.connections;
}

size_t IpGuard::expire(uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  size_t ended = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.banned_until_ms != 0 && it->second.banned_until_ms <= now_ms) {
      it->second.banned_until_ms = 0;
      ++ended;
    }
    if (it->second.connections == 0 && it->second.banned_until_ms == 0) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return ended;
}

size_t IpGuard::active_bans(uint64_t now_ms) const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [ip, e] : entries_) n += e.banned_until_ms > now_ms ? 1 : 0;
  return n;
}

}  // namespace otedama::stratum
