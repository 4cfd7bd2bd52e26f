// Internal to lib/otedama/ethash: the run-time dispatched kernels (scalar, AVX2, AVX-512) behind ethash.hpp.
// Not installed, not included by plugins.
//
// Two primitives carry nearly all the work:
//  - `items`: dataset items computed from the light cache, several interleaved. One item is 256 (512)
//    dependent reads of random light-cache items; computing K independent items side by side keeps K reads in
//    flight, which is what makes a light verification (2 independent items per hashimoto page) and a DAG
//    build (any number) fast;
//  - `keccak_f1600`: the Keccak-f[1600] permutation of up to kMaxChains states at once (8 per AVX-512
//    register, 4 per AVX2 register), in a word-major ("structure of arrays") layout.
#pragma once

#include "otedama/ethash/ethash.hpp"

#include <cstdint>

namespace otedama::ethash::detail {

/// Most chains (items, Keccak states) one kernel call handles.
inline constexpr uint32_t kMaxChains = 16;

/// x % n for 32-bit x and n by two multiplications, with reciprocal = floor((2^64 - 1) / n) + 1 (Lemire,
/// Kaser, Kurz 2019, "Faster Remainder by Direct Computation", fastmod_u32). Exact for every 32-bit x, n.
__extension__ typedef unsigned __int128 Uint128;  // GCC and Clang on 64-bit targets
inline uint32_t fast_mod(uint32_t x, uint64_t reciprocal, uint32_t n) noexcept {
    const uint64_t low = reciprocal * x;
    return static_cast<uint32_t>((static_cast<Uint128>(low) * n) >> 64);
}
inline uint64_t fast_mod_reciprocal(uint32_t n) noexcept { return UINT64_MAX / n + 1; }

/// What the kernels read of a light cache.
struct CacheView {
    const Item* items;
    uint32_t count;
    uint64_t reciprocal;  ///< fast_mod_reciprocal(count)
};

/// Keccak states in word-major layout: word w of chain c at s[w][c] (so that a vector register loads one word
/// of 4 or 8 chains).
struct alignas(64) KeccakStates {
    uint64_t s[25][kMaxChains];
};

struct Kernel {
    Impl impl;
    /// How many items a DAG build computes per `items` call (what keeps this ISA's registers busy).
    uint32_t build_chains;
    /// out[i] = dataset item indices[i], i < count <= kMaxChains, computed interleaved. parents > 0.
    void (*items)(const CacheView& cache, uint32_t parents, const uint32_t* indices, uint32_t count, Item* out) noexcept;
    /// Keccak-f[1600] of chains [0, count) of `states`, count <= kMaxChains.
    void (*keccak_f1600)(KeccakStates& states, uint32_t count) noexcept;
    /// Keccak-512 of one 64-byte item in place, at the lowest latency this ISA allows (the light cache's
    /// sequential chains).
    void (*keccak512_one)(Item& item) noexcept;
};

/// Always present.
const Kernel& scalar_kernel() noexcept;
/// nullptr when this build has no such kernel (not x86-64, or a compiler without the intrinsics). Whether the
/// CPU runs it is impl_supported()'s business.
const Kernel* avx2_kernel() noexcept;
const Kernel* avx512_kernel() noexcept;

}  // namespace otedama::ethash::detail
