// ROMix, 16 lanes in AVX-512F registers (one hash per 32-bit element). Intrinsics as documented in the
// Intel Intrinsics Guide; the algorithm is romix_lanes.inc.
#include "cpu_features.hpp"
#include "scrypt_core.hpp"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
// GCC 12's avx512fintrin.h starts several intrinsics from _mm512_undefined_epi32(), which -Wuninitialized
// reports once inlined (GCC bug 105593, fixed in GCC 13); the value is never read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define OTEDAMA_ROMIX_TARGET __attribute__((target("avx512f")))

namespace otedama::scrypt {
namespace {

struct Avx512 {
    using V = __m512i;
    static constexpr std::size_t kLanes = 16;
    OTEDAMA_ROMIX_TARGET static V load(const void* p) noexcept { return _mm512_load_si512(p); }
    OTEDAMA_ROMIX_TARGET static V loadu(const void* p) noexcept { return _mm512_loadu_si512(p); }
    OTEDAMA_ROMIX_TARGET static void store(void* p, V v) noexcept { _mm512_store_si512(p, v); }
    OTEDAMA_ROMIX_TARGET static void storeu(void* p, V v) noexcept { _mm512_storeu_si512(p, v); }
    OTEDAMA_ROMIX_TARGET static void store_words(uint32_t* out, V v) noexcept { _mm512_storeu_si512(out, v); }
    OTEDAMA_ROMIX_TARGET static V add(V a, V b) noexcept { return _mm512_add_epi32(a, b); }
    OTEDAMA_ROMIX_TARGET static V bxor(V a, V b) noexcept { return _mm512_xor_si512(a, b); }
    template <int K>
    OTEDAMA_ROMIX_TARGET static V rotl(V a) noexcept {
        return _mm512_rol_epi32(a, K);
    }
    /// 16 x 16 transpose of 32-bit elements: out[j] element i = in[i] element j. Four stages of 16
    /// shuffles: pairs of 32-bit, then 64-bit elements inside each 128-bit lane, then 128-bit lanes.
    OTEDAMA_ROMIX_TARGET static void transpose(const V* in, V* out) noexcept {
        V t[16];
        for (int i = 0; i < 8; ++i) {
            t[2 * i] = _mm512_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
        }
        // u[4g + c], 128-bit lane q: rows 4g..4g+3 of column 4q + c.
        V u[16];
        for (int g = 0; g < 4; ++g) {
            u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
            u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
            u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
            u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
        }
        // For each c: a 4 x 4 transpose of 128-bit lanes across u[c], u[4 + c], u[8 + c], u[12 + c].
        for (int c = 0; c < 4; ++c) {
            const V v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
            const V v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
            const V v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
            const V v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
            out[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);
            out[4 + c] = _mm512_shuffle_i32x4(v0, v2, 0xDD);
            out[8 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
            out[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xDD);
        }
    }
};

#include "romix_lanes.inc"

void romix_avx512(uint32_t* x, uint8_t* scratch) noexcept { romix_lanes<Avx512>(x, scratch); }

}  // namespace

extern const RomixKernel kRomixAvx512;
const RomixKernel kRomixAvx512{"avx512", "avx512 16-way", 16, 16 * kLaneStride, &detail::cpu_has_avx512f, &romix_avx512};

}  // namespace otedama::scrypt
#endif
