// The vector operations of the AVX-512 kernel (scan_avx512.cpp), for
// Sha256dLanes: 16 nonces per __m512i. Include only from files built with -mavx512f -mavx512bw -mavx512vl.
// AVX-512F gives what AVX2 lacks for SHA-256: a rotate (vprord) and three-input logic (vpternlogd: Ch, Maj
// and the three-way XORs of the sigmas in one instruction each); AVX-512BW the byte shuffle for the
// big-endian words.
#pragma once

#include "scan_lanes.hpp"

// GCC 12's AVX-512 intrinsics pass `_mm512_undefined_epi32()` (a self-initialised variable) as the unused
// merge source of unmasked operations, which -Wmaybe-uninitialized reports once they are inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace otedama::sha256d {
namespace {

struct OpsAvx512 {
    using V = __m512i;
    static constexpr uint32_t kLanes = 16;
    // Measured (bench_sha256d, 2 s medians): 4 words ahead 32.1 MH/s, none 31.9, 8 ahead 31.9; AVX2 (16
    // registers) gains nothing from it, so only this kernel uses it.
    static constexpr int kScheduleLookahead = 4;
    static OTEDAMA_SCAN_INLINE V set1(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
    static OTEDAMA_SCAN_INLINE V add(V a, V b) { return _mm512_add_epi32(a, b); }
    template <int n>
    static OTEDAMA_SCAN_INLINE V rotr(V x) { return _mm512_ror_epi32(x, n); }
    template <int n>
    static OTEDAMA_SCAN_INLINE V shr(V x) { return _mm512_srli_epi32(x, n); }
    // vpternlogd truth tables, index (a << 2) | (b << 1) | c: odd parity 0x96, a ? b : c 0xca, majority 0xe8.
    static OTEDAMA_SCAN_INLINE V xor3(V a, V b, V c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
    static OTEDAMA_SCAN_INLINE V ch(V e, V f, V g) { return _mm512_ternarylogic_epi32(e, f, g, 0xca); }
    static OTEDAMA_SCAN_INLINE V maj(V a, V b, V c) { return _mm512_ternarylogic_epi32(a, b, c, 0xe8); }
    static OTEDAMA_SCAN_INLINE V bswap(V x) {
        const V order = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
        return _mm512_shuffle_epi8(x, order);
    }
    static OTEDAMA_SCAN_INLINE V first_nonces(uint32_t first) {
        return add(set1(first), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    }
    static OTEDAMA_SCAN_INLINE uint32_t le_mask(V top, V target) { return _mm512_cmple_epu32_mask(top, target); }
};

}  // namespace

}  // namespace otedama::sha256d
