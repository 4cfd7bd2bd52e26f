// The SHA-NI double SHA-256 of kStreams nonces, in 31 steps of about four rounds each (so that it can be
// interleaved with other work; scan_shani.cpp runs them in order). Include only from files built with
// -msha -msse4.1.
//
// Interleaving with the AVX-512 kernel: a first attempt called these steps between the AVX-512 rounds
// (16 + 2 nonces a pass) and ran at 0.6 MH/s: sha256rnds2 and friends exist only in legacy-SSE encoding,
// and executing them while the zmm registers' upper halves are dirty costs a state-transition penalty each
// time. scan_avx512_shani.cpp avoids the penalty (AVX-512 in zmm16-31 only, SHA-NI in inline assembly).
//
// State layout of the SHA extensions: one register holds A, B, E, F (A in the top lane) and one C, D, G, H.
// The shortcuts: rounds 0..1 of the first hash's second block come precomputed (state2), rounds 4..15 of
// that block and 8..15 of the second hash use constant schedule words, and the second hash stops after
// rounds 60..61: their sha256rnds2 leaves the e of round 60, and H7 = IV7 + that e.
#pragma once

#include "scan_lanes.hpp"

#include <immintrin.h>

#include <utility>

namespace otedama::sha256d {
namespace {

OTEDAMA_SCAN_INLINE __m128i words(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
    return _mm_setr_epi32(static_cast<int>(w0), static_cast<int>(w1), static_cast<int>(w2), static_cast<int>(w3));
}
OTEDAMA_SCAN_INLINE __m128i k4(int t) { return words(kK[t], kK[t + 1], kK[t + 2], kK[t + 3]); }
/// The two state registers (ABEF, CDGH) of eight state words a..h.
OTEDAMA_SCAN_INLINE __m128i abef_of(const uint32_t* s) { return words(s[5], s[4], s[1], s[0]); }
OTEDAMA_SCAN_INLINE __m128i cdgh_of(const uint32_t* s) { return words(s[7], s[6], s[3], s[2]); }

/// Two rounds: the low two words of `wk` are K[t] + W[t] and K[t+1] + W[t+1].
OTEDAMA_SCAN_INLINE void rounds2(__m128i& abef, __m128i& cdgh, __m128i wk) {
    const __m128i next = _mm_sha256rnds2_epu32(cdgh, abef, wk);
    cdgh = abef;
    abef = next;
}
/// Four rounds with the schedule words plus constants `wk` (W[t..t+3] + K[t..t+3]).
OTEDAMA_SCAN_INLINE void rounds4(__m128i& abef, __m128i& cdgh, __m128i wk) {
    rounds2(abef, cdgh, wk);
    rounds2(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
}
/// W[t..t+3] from the four previous groups m0 = W[t-16..t-13] .. m3 = W[t-4..t-1].
OTEDAMA_SCAN_INLINE __m128i schedule(__m128i m0, __m128i m1, __m128i m2, __m128i m3) {
    const __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8(m3, m2, 4));
    return _mm_sha256msg2_epu32(t, m3);
}

/// Per-call constants in SHA-NI layout.
struct ShaniConstants {
    __m128i abef2, cdgh2;    // state after rounds 0..1 of the first hash's second block
    __m128i mid_abef, mid_cdgh;
    __m128i m0;              // W0..W2 and a zero nonce word
    __m128i wk2;             // K2 + W2, K3 (the nonce word is added per nonce)
    __m128i m1, m2, m3;      // W4..W15 of the first hash (padding)
    __m128i wk4, wk8, wk12;  // and with their round constants
    __m128i iv_abef, iv_cdgh;
    __m128i h2m2, h2m3;      // W8..W15 of the second hash
    __m128i h2wk8, h2wk12;
    __m128i bswap;
};

OTEDAMA_SCAN_INLINE void init_constants(ShaniConstants& k, const ScanConstants& p) {
    k.abef2 = abef_of(p.state2);
    k.cdgh2 = cdgh_of(p.state2);
    k.mid_abef = abef_of(p.midstate);
    k.mid_cdgh = cdgh_of(p.midstate);
    k.m0 = words(p.w[0], p.w[1], p.w[2], 0);
    k.wk2 = words(kK[2] + p.w[2], kK[3], 0, 0);
    k.m1 = words(kPad1W4, 0, 0, 0);
    k.m2 = words(0, 0, 0, 0);
    k.m3 = words(0, 0, 0, kPad1W15);
    k.wk4 = _mm_add_epi32(k.m1, k4(4));
    k.wk8 = k4(8);
    k.wk12 = _mm_add_epi32(k.m3, k4(12));
    k.iv_abef = abef_of(kIv);
    k.iv_cdgh = cdgh_of(kIv);
    k.h2m2 = words(kPad2W8, 0, 0, 0);
    k.h2m3 = words(0, 0, 0, kPad2W15);
    k.h2wk8 = _mm_add_epi32(k.h2m2, k4(8));
    k.h2wk12 = _mm_add_epi32(k.h2m3, k4(12));
    k.bswap = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

/// kStreams consecutive nonces from `nonce`; after step<30>(), h7[s] is H7 (not byte-swapped) of nonce + s.
template <int kStreams>
struct ShaniStreams {
    const ShaniConstants& k;
    uint32_t nonce;
    uint32_t h7[kStreams];
    __m128i abef[kStreams], cdgh[kStreams], m[kStreams][4];

    template <int G>
    OTEDAMA_SCAN_INLINE void step() {
#define OTD_EACH _Pragma("GCC unroll 4") for (int s = 0; s < kStreams; ++s)
        if constexpr (G == 0) {
            // First hash, second block. Rounds 2..3 take the nonce word (W3, big-endian).
            OTD_EACH {
                const uint32_t w3 = __builtin_bswap32(nonce + static_cast<uint32_t>(s));
                abef[s] = k.abef2;
                cdgh[s] = k.cdgh2;
                m[s][0] = _mm_insert_epi32(k.m0, static_cast<int>(w3), 3);
                rounds2(abef[s], cdgh[s], _mm_insert_epi32(k.wk2, static_cast<int>(w3 + kK[3]), 1));
                rounds4(abef[s], cdgh[s], k.wk4);
            }
        } else if constexpr (G == 1) {
            OTD_EACH rounds4(abef[s], cdgh[s], k.wk8);
        } else if constexpr (G == 2) {
            OTD_EACH {
                rounds4(abef[s], cdgh[s], k.wk12);
                m[s][1] = k.m1;
                m[s][2] = k.m2;
                m[s][3] = k.m3;
            }
        } else if constexpr (G <= 14) {
            schedule_rounds<G + 1>();  // groups 4..15
        } else if constexpr (G == 15) {
            // The first digest as the second hash's W0..W7, then its rounds 0..3.
            OTD_EACH {
                const __m128i x = _mm_shuffle_epi32(_mm_add_epi32(abef[s], k.mid_abef), 0x1b);  // A B E F
                const __m128i y = _mm_shuffle_epi32(_mm_add_epi32(cdgh[s], k.mid_cdgh), 0x1b);  // C D G H
                m[s][0] = _mm_unpacklo_epi64(x, y);
                m[s][1] = _mm_unpackhi_epi64(x, y);
                abef[s] = k.iv_abef;
                cdgh[s] = k.iv_cdgh;
                rounds4(abef[s], cdgh[s], _mm_add_epi32(m[s][0], k4(0)));
            }
        } else if constexpr (G == 16) {
            OTD_EACH rounds4(abef[s], cdgh[s], _mm_add_epi32(m[s][1], k4(4)));
        } else if constexpr (G == 17) {
            OTD_EACH rounds4(abef[s], cdgh[s], k.h2wk8);
        } else if constexpr (G == 18) {
            OTD_EACH {
                rounds4(abef[s], cdgh[s], k.h2wk12);
                m[s][2] = k.h2m2;
                m[s][3] = k.h2m3;
            }
        } else if constexpr (G <= 29) {
            schedule_rounds<G - 15>();  // groups 4..14
        } else {
            static_assert(G == 30);
            // Rounds 60..61 only: afterwards the F lane (the lowest) holds the e of round 60.
            OTD_EACH {
                const __m128i w = schedule(m[s][3], m[s][0], m[s][1], m[s][2]);  // group 15
                rounds2(abef[s], cdgh[s], _mm_add_epi32(w, k4(60)));
                h7[s] = static_cast<uint32_t>(_mm_cvtsi128_si32(abef[s])) + kIv[7];
            }
        }
    }

    /// Schedule group g (W[4g..4g+3]) from the four before it, then its four rounds.
    template <int g>
    OTEDAMA_SCAN_INLINE void schedule_rounds() {
        OTD_EACH {
            const __m128i w = schedule(m[s][g & 3], m[s][(g + 1) & 3], m[s][(g + 2) & 3], m[s][(g + 3) & 3]);
            m[s][g & 3] = w;
            rounds4(abef[s], cdgh[s], _mm_add_epi32(w, k4(4 * g)));
        }
#undef OTD_EACH
    }

    /// All steps in order (no interleaving).
    OTEDAMA_SCAN_INLINE void run() { run_steps(std::make_integer_sequence<int, 31>{}); }
    template <int... G>
    OTEDAMA_SCAN_INLINE void run_steps(std::integer_sequence<int, G...>) {
        (step<G>(), ...);
    }
};

}  // namespace
}  // namespace otedama::sha256d
