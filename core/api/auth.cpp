#include "api/auth.hpp"

#include <algorithm>
#include <fstream>
#include <random>
#include <stdexcept>

namespace otedama::api {

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // The length is not secret (a token's length is public); the content is.
  unsigned diff = a.size() == b.size() ? 0U : 1U;
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
  return diff == 0;
}

std::string random_hex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  if (!in.read(raw.data(), static_cast<std::streamsize>(bytes))) throw std::runtime_error("cannot read /dev/urandom");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<TokenStore::Issued> TokenStore::issue(std::string_view secret, Clock::time_point now) {
  if (secret_.empty() || !constant_time_equal(secret, secret_)) return std::nullopt;
  Issued out;
  out.token = random_hex(32);
  const auto expiry = now + lifetime_;
  out.expires_ms = std::chrono::duration_cast<std::chrono::milliseconds>(expiry.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  for (auto it = tokens_.begin(); it != tokens_.end();) it = it->second <= now ? tokens_.erase(it) : std::next(it);
  while (tokens_.size() >= max_tokens_) {
    // The one closest to expiry goes first.
    auto oldest = tokens_.begin();
    for (auto it = tokens_.begin(); it != tokens_.end(); ++it)
      if (it->second < oldest->second) oldest = it;
    tokens_.erase(oldest);
  }
  tokens_.emplace(out.token, expiry);
  return out;
}

TokenStore::Check TokenStore::check(std::string_view token, Clock::time_point now) {
  constexpr std::string_view kBearer = "Bearer ";
  if (token.size() >= kBearer.size() && token.substr(0, kBearer.size()) == kBearer) token.remove_prefix(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return Check::missing;
  std::lock_guard lock(mutex_);
  // A map lookup leaks timing about a token's prefix at most through the comparisons of a balanced tree;
  // tokens are 256-bit random, so that gives nothing usable.
  const auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return Check::unknown;
  if (it->second <= now) {
    tokens_.erase(it);
    return Check::expired;
  }
  return Check::ok;
}

size_t TokenStore::size() const {
  std::lock_guard lock(mutex_);
  return tokens_.size();
}

bool RateLimiter::allow(const std::string& client, Clock::time_point now, double* retry_after_s) {
  if (!(rate_ > 0)) return true;
  std::lock_guard lock(mutex_);
  if (buckets_.size() > 10000) {
    // Forget clients idle long enough for their bucket to be full again: they start full anyway.
    const auto refill = std::chrono::duration<double>(burst_ / rate_);
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = now - it->second.last > refill ? buckets_.erase(it) : std::next(it);
  }
  auto [it, fresh] = buckets_.try_emplace(client, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double dt = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + dt * rate_);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  ++limited_;
  if (retry_after_s != nullptr) *retry_after_s = (1.0 - b.tokens) / rate_;
  return false;
}

uint64_t RateLimiter::limited() const {
  std::lock_guard lock(mutex_);
  return limited_;
}

}  // namespace otedama::api
