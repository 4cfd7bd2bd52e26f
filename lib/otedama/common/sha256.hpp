// SHA-256 (FIPS 180-4) and the pieces a Bitcoin-family miner needs: double SHA-256, the raw compression
// function on a caller-held state, and the midstate of the first 64 bytes of an 80-byte block header.
//
// The compression function is reached through a Sha256Kernel, a named table of function pointers. This
// file provides the portable scalar kernel; SIMD / SHA-NI kernels are added later as further kernels with
// the same signature, each checked against the scalar one before it is chosen (the way Bitcoin Core's
// SHA256AutoDetect() runs SelfTest()). Everything else here (padding, streaming, midstates) is written
// once on top of whichever kernel is passed in.
//
// Thread safety: the free functions and kernels are pure; a Sha256 / Sha256dHeader80 object is not
// shared between threads without external locking.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace otedama::common {

inline constexpr std::size_t kSha256BlockSize = 64;
inline constexpr std::size_t kSha256DigestSize = 32;

/// The eight 32-bit working words H0..H7 (FIPS 180-4 section 6.2), in host integer form.
using Sha256State = std::array<uint32_t, 8>;
/// A digest: the state written out big-endian, H0 first (the order SHA-256 emits bytes).
using Sha256Digest = std::array<uint8_t, kSha256DigestSize>;

/// Initial hash value H(0), FIPS 180-4 section 5.3.3.
inline constexpr Sha256State kSha256InitialState = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                                    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

/// One implementation of the SHA-256 compression function.
struct Sha256Kernel {
    /// Short name for logs and otd_algorithm_info_t ("scalar"; later "sha-ni", "avx2 8-way" ...). Static.
    const char* name;
    /// Compress `block_count` consecutive 64-byte blocks at `blocks` into `state` (8 words).
    /// @pre state != nullptr; blocks != nullptr unless block_count == 0.
    void (*transform)(uint32_t* state, const uint8_t* blocks, std::size_t block_count) noexcept;
};

/// The portable scalar kernel: plain C++, no CPU feature required.
[[nodiscard]] const Sha256Kernel& sha256_scalar_kernel() noexcept;

/// The kernel the convenience functions below use when none is passed. The scalar kernel today; when
/// faster kernels exist this becomes the best one that passed its known-answer test on this CPU.
[[nodiscard]] const Sha256Kernel& sha256_default_kernel() noexcept;

/// Compress one 64-byte block into `state` (no padding, no length: the raw FIPS 180-4 step).
void sha256_transform(Sha256State& state, std::span<const uint8_t, kSha256BlockSize> block,
                      const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

/// Serialise a state as a digest (big-endian words, H0 first).
[[nodiscard]] Sha256Digest sha256_state_to_digest(const Sha256State& state) noexcept;

/// The state after compressing the first 64 bytes of a message from the initial state: the "midstate"
/// of an 80-byte block header, shared by every nonce of a scan.
[[nodiscard]] Sha256State sha256_midstate(std::span<const uint8_t, kSha256BlockSize> first_block,
                                          const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

/// Streaming SHA-256. update() any number of times, then finalize() once; finalize() leaves the object
/// reset, ready for a new message.
class Sha256 {
public:
    explicit Sha256(const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

    Sha256& update(std::span<const uint8_t> data) noexcept;
    Sha256& update(std::string_view text) noexcept;
    [[nodiscard]] Sha256Digest finalize() noexcept;
    void reset() noexcept;

private:
    const Sha256Kernel* kernel_;
    Sha256State state_;
    std::array<uint8_t, kSha256BlockSize> buffer_{};
    std::size_t buffered_ = 0;  // bytes waiting in buffer_ (< 64)
    uint64_t length_ = 0;       // message bytes so far (FIPS 180-4 limits messages to 2^64 - 1 bits)
};

/// SHA-256 of `data`.
[[nodiscard]] Sha256Digest sha256(std::span<const uint8_t> data,
                                  const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;
/// SHA-256(SHA-256(data)): Bitcoin's block, transaction and merkle hash.
[[nodiscard]] Sha256Digest sha256d(std::span<const uint8_t> data,
                                   const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

/// Double SHA-256 of 80-byte block headers that differ only in their nonce (bytes 76..79, little-endian),
/// from the midstate of the first 64 bytes: two compressions per header instead of three, with the
/// padding blocks prepared once. One object per scanning thread.
class Sha256dHeader80 {
public:
    explicit Sha256dHeader80(std::span<const uint8_t, 80> header,
                             const Sha256Kernel& kernel = sha256_default_kernel()) noexcept;

    /// sha256d of the header with `nonce` stored little-endian at bytes 76..79.
    [[nodiscard]] Sha256Digest hash_with_nonce(uint32_t nonce) noexcept;

    [[nodiscard]] const Sha256State& midstate() const noexcept { return midstate_; }

private:
    const Sha256Kernel* kernel_;
    Sha256State midstate_;
    std::array<uint8_t, kSha256BlockSize> tail_block_{};   // header bytes 64..79, then padding for 80 bytes
    std::array<uint8_t, kSha256BlockSize> second_block_{}; // first digest, then padding for 32 bytes
};

}  // namespace otedama::common
