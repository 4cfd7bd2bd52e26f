// The scrypt plugin's internal library (linked into the plugin, its tests and its benchmark; not a public
// API): the generic scrypt of RFC 7914, the ROMix kernels for Litecoin's parameters, and the per-nonce
// PBKDF2 steps of Litecoin's proof of work over an 80-byte header.
//
// Litecoin's proof of work is scrypt(P = header, S = header, N = 1024, r = 1, p = 1, dkLen = 32), i.e.
//   B = PBKDF2-HMAC-SHA256(header, header, 1, 128);  X = ROMix(B);  hash = PBKDF2-HMAC-SHA256(header, X, 1, 32)
// (Litecoin Core src/crypto/scrypt.cpp scrypt_1024_1_1_256; RFC 7914 sections 5 and 6).
//
// Word order: scrypt works on little-endian 32-bit words of its byte strings (RFC 7914 section 3: "B is
// interpreted as sixteen 32-bit little-endian integers"); a hash leaves as the raw 32 output bytes, which
// the ABI reads as a 256-bit little-endian number.
#pragma once

#include <otedama/common/pbkdf2_sha256.hpp>
#include <otedama/common/sha256.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace otedama::scrypt {

inline constexpr uint32_t kLitecoinN = 1024;
inline constexpr std::size_t kBlockWords = 32;  // 128 * r bytes with r = 1
inline constexpr std::size_t kHeaderSize = 80;
inline constexpr std::size_t kNonceOffset = 76;
/// The most lanes any kernel hashes at once (sizes the per-batch stack buffers).
inline constexpr uint32_t kMaxLanes = 16;

/// scrypt(password, salt, N, r, p) -> out.size() bytes (RFC 7914 section 6), straight from the RFC: the
/// reference the fast paths are tested against. Refuses (false, `error`) N not a power of two > 1, r or p 0,
/// r * p >= 2^30, out.size() 0, or a scratchpad (128 * r * N bytes) over 1 GiB.
[[nodiscard]] bool scrypt_reference(std::span<const uint8_t> password, std::span<const uint8_t> salt, uint64_t n,
                                    uint32_t r, uint32_t p, std::span<uint8_t> out, std::string* error = nullptr);

/// Salsa20/8 core on 16 words, in place (RFC 7914 section 3).
void salsa20_8(uint32_t b[16]) noexcept;

/// One ROMix implementation for N = 1024, r = 1, hashing `lanes` independent blocks at once.
struct RomixKernel {
    const char* name;          ///< "scalar", "avx2", "avx512": the OTEDAMA_SCRYPT_IMPL spelling
    const char* description;   ///< for logs and get_info: "avx512 16-way"
    uint32_t lanes;
    std::size_t scratch_bytes; ///< scratchpad romix() needs (all lanes), 64-byte aligned
    bool (*cpu_supported)() noexcept;
    /// ROMix on `lanes` 32-word blocks stored lane after lane at x (lane l at x + 32 * l), in place.
    void (*romix)(uint32_t* x, uint8_t* scratch) noexcept;
};

/// Every kernel compiled in, scalar first, then by increasing speed on the CPUs that have them.
[[nodiscard]] std::span<const RomixKernel* const> romix_kernels() noexcept;
/// The kernel named `name`, or nullptr.
[[nodiscard]] const RomixKernel* find_romix_kernel(std::string_view name) noexcept;
[[nodiscard]] const RomixKernel& scalar_romix_kernel() noexcept;

/// SHA-NI when the CPU has it, else the library's default kernel (for the PBKDF2 steps).
[[nodiscard]] const common::Sha256Kernel& pbkdf2_sha256_kernel() noexcept;

/// Litecoin's proof of work for the nonces of one 80-byte header. The SHA-256 midstate of the fixed
/// first 64 header bytes (the HMAC key is sha256(header), 80 bytes being longer than a block) is computed
/// once here and reused for every nonce. Not shared between threads.
class LitecoinHasher {
public:
    LitecoinHasher(std::span<const uint8_t, kHeaderSize> header, const common::Sha256Kernel& sha) noexcept;

    /// Hashes of nonces first_nonce, first_nonce + 1, ... (count of them, 1 <= count <= kernel.lanes;
    /// unused lanes repeat the last nonce and are discarded) into out[0 .. count).
    /// @pre scratch holds kernel.scratch_bytes, 64-byte aligned.
    void hash_batch(const RomixKernel& kernel, uint32_t first_nonce, uint32_t count, uint8_t* scratch,
                    uint8_t (*out)[32]) const noexcept;

private:
    uint8_t header_[kHeaderSize];
    common::Sha256State key_midstate_;  // sha256 state after header[0..64)
    const common::Sha256Kernel* sha_;
};

}  // namespace otedama::scrypt
