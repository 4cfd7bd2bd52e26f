// Keccak (the original submission's padding, 0x01 ... 0x80), as Ethereum (Keccak-256/512, Ethash's light
// cache and DAG) and Monero (cn_fast_hash = Keccak-256) use it: NOT SHA-3, whose padding byte is 0x06.
// Also Keccak-f[800] (32-bit lanes, 22 rounds) for ProgPoW/KawPow.
//
// Reference: "The Keccak reference", version 3.0 (Bertoni, Daemen, Peeters, Van Assche, 2011), section 1.2
// (round constants, rotation offsets, pi/rho/chi/iota) and the padding rule pad10*1; Ethereum Yellow Paper
// appendix on KEC. Known answers in tests/lib/test_keccak.cpp.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace otedama::common {

/// Keccak-f[1600] permutation (24 rounds) on 25 little-endian 64-bit lanes, lane (x, y) at index x + 5y.
void keccak_f1600(uint64_t state[25]) noexcept;

/// Keccak-f[800] permutation, 22 rounds (the full permutation; ProgPoW/KawPow call it `keccakf800`).
void keccak_f800(uint32_t state[25]) noexcept;

/// Keccak-256 (rate 136 bytes, original padding). out: 32 bytes.
void keccak256(const uint8_t* data, std::size_t size, uint8_t out[32]) noexcept;
/// Keccak-512 (rate 72 bytes, original padding). out: 64 bytes.
void keccak512(const uint8_t* data, std::size_t size, uint8_t out[64]) noexcept;

inline std::array<uint8_t, 32> keccak256(std::span<const uint8_t> data) noexcept {
    std::array<uint8_t, 32> out{};
    keccak256(data.data(), data.size(), out.data());
    return out;
}
inline std::array<uint8_t, 64> keccak512(std::span<const uint8_t> data) noexcept {
    std::array<uint8_t, 64> out{};
    keccak512(data.data(), data.size(), out.data());
    return out;
}

}  // namespace otedama::common
