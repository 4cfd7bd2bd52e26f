// Admin API access control: bearer tokens from the admin secret, and a per-IP token-bucket rate limit.
// Thread contract: [any]; every member locks. Nothing here logs a secret or a token.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace otedama::api {

/// Equal-length comparison whose time does not depend on where the strings differ.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;
/// `bytes` random bytes from the OS, as lower-case hex.
[[nodiscard]] std::string random_hex(size_t bytes);

class TokenStore {
 public:
  using Clock = std::chrono::system_clock;
  TokenStore(std::string secret, std::chrono::milliseconds lifetime, size_t max_tokens = 1024)
      : secret_(std::move(secret)), lifetime_(lifetime), max_tokens_(max_tokens) {}

  [[nodiscard]] bool has_secret() const noexcept { return !secret_.empty(); }
  struct Issued {
    std::string token;
    int64_t expires_ms = 0;
  };
  /// A new token when `secret` is the admin secret; nullopt otherwise.
  std::optional<Issued> issue(std::string_view secret, Clock::time_point now = Clock::now());
  enum class Check { ok, missing, unknown, expired };
  /// Checks an `Authorization` header value ("Bearer <token>") or a bare token.
  Check check(std::string_view token, Clock::time_point now = Clock::now());
  [[nodiscard]] size_t size() const;

 private:
  const std::string secret_;
  const std::chrono::milliseconds lifetime_;
  const size_t max_tokens_;
  mutable std::mutex mutex_;
  std::map<std::string, Clock::time_point> tokens_;  // token -> expiry
};

/// Token bucket per client address: `rate` requests a second, bursts of `burst`.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  /// True when the request may go on; otherwise `retry_after_s` says when one token is back.
  bool allow(const std::string& client, Clock::time_point now, double* retry_after_s = nullptr);
  [[nodiscard]] uint64_t limited() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  const double rate_, burst_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  uint64_t limited_ = 0;
};

}  // namespace otedama::api
