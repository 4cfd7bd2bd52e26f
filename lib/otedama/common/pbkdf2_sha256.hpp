// HMAC-SHA-256 (RFC 2104, FIPS 198-1) and PBKDF2-HMAC-SHA-256 (RFC 8018 section 5.2), on any Sha256Kernel,
// plus a SHA-NI compression kernel (Intel SHA extensions) for the CPUs that have them.
//
// scrypt (RFC 7914) begins and ends with PBKDF2-HMAC-SHA-256 with one iteration; its proof-of-work users
// (Litecoin and family) run it twice per nonce, so the pieces are exposed at the compression level as well:
// an HmacSha256Key holds the inner/outer states after the key block, which a caller reuses across messages.
//
// Thread safety: pure functions; HmacSha256Key is a value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "otedama/common/sha256.hpp"

namespace otedama::common {

/// The SHA-NI kernel ("sha-ni"), or nullptr when this CPU (or this build) lacks the SHA extensions.
/// Checked against the scalar kernel on known answers before it is first returned.
[[nodiscard]] const Sha256Kernel* sha256_shani_kernel() noexcept;

/// The states after compressing key^ipad and key^opad (RFC 2104 section 2). Keys longer than the 64-byte
/// block are hashed first, as the RFC requires.
struct HmacSha256Key {
    Sha256State inner;
    Sha256State outer;
};
[[nodiscard]] HmacSha256Key hmac_sha256_key(std::span<const uint8_t> key,
                                            const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

/// HMAC-SHA-256(key, message).
[[nodiscard]] Sha256Digest hmac_sha256(const HmacSha256Key& key, std::span<const uint8_t> message,
                                       const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

/// PBKDF2-HMAC-SHA-256(password, salt, iterations) -> out.size() bytes (RFC 8018 section 5.2).
/// @pre iterations >= 1 (0 is treated as 1).
void pbkdf2_hmac_sha256(std::span<const uint8_t> password, std::span<const uint8_t> salt, uint32_t iterations,
                        std::span<uint8_t> out, const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

}  // namespace otedama::common
