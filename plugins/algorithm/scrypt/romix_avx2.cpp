// ROMix, 8 lanes in AVX2 registers (one hash per 32-bit element). Intrinsics as documented in the Intel
// Intrinsics Guide; the algorithm is romix_lanes.inc.
#include "cpu_features.hpp"
#include "scrypt_core.hpp"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define OTEDAMA_ROMIX_TARGET __attribute__((target("avx2")))

namespace otedama::scrypt {
namespace {

struct Avx2 {
    using V = __m256i;
    static constexpr std::size_t kLanes = 8;
    OTEDAMA_ROMIX_TARGET static V load(const void* p) noexcept { return _mm256_load_si256(static_cast<const V*>(p)); }
    OTEDAMA_ROMIX_TARGET static V loadu(const void* p) noexcept { return _mm256_loadu_si256(static_cast<const V*>(p)); }
    OTEDAMA_ROMIX_TARGET static void store(void* p, V v) noexcept { _mm256_store_si256(static_cast<V*>(p), v); }
    OTEDAMA_ROMIX_TARGET static void storeu(void* p, V v) noexcept { _mm256_storeu_si256(static_cast<V*>(p), v); }
    OTEDAMA_ROMIX_TARGET static void store_words(uint32_t* out, V v) noexcept { storeu(out, v); }
    OTEDAMA_ROMIX_TARGET static V add(V a, V b) noexcept { return _mm256_add_epi32(a, b); }
    OTEDAMA_ROMIX_TARGET static V bxor(V a, V b) noexcept { return _mm256_xor_si256(a, b); }
    template <int K>
    OTEDAMA_ROMIX_TARGET static V rotl(V a) noexcept {
        return _mm256_or_si256(_mm256_slli_epi32(a, K), _mm256_srli_epi32(a, 32 - K));
    }
    /// 16 word-vectors (8 lanes each) <-> 16 row-vectors: two 8 x 8 transposes of 32-bit elements.
    /// in/out[8h + m] is word 8h + m of every lane on one side, words 8h..8h+7 of lane m on the other, so
    /// the mapping is its own inverse (romix_lanes.inc: row k is lane k % 8, words from (k / 8) * 8).
    OTEDAMA_ROMIX_TARGET static void transpose(const V* in, V* out) noexcept {
        transpose8(in, out);
        transpose8(in + 8, out + 8);
    }
    /// 8 x 8 transpose of 32-bit elements: out[j] element i = in[i] element j. Three stages of 8 shuffles.
    OTEDAMA_ROMIX_TARGET static void transpose8(const V* in, V* out) noexcept {
        V t[8];
        for (int i = 0; i < 4; ++i) {
            t[2 * i] = _mm256_unpacklo_epi32(in[2 * i], in[2 * i + 1]);
            t[2 * i + 1] = _mm256_unpackhi_epi32(in[2 * i], in[2 * i + 1]);
        }
        V u[8];  // u[4g + c], 128-bit lane q: rows 4g..4g+3 of column 4q + c
        for (int g = 0; g < 2; ++g) {
            u[4 * g + 0] = _mm256_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
            u[4 * g + 1] = _mm256_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
            u[4 * g + 2] = _mm256_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
            u[4 * g + 3] = _mm256_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
        }
        for (int c = 0; c < 4; ++c) {
            out[c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x20);
            out[4 + c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x31);
        }
    }
};

#include "romix_lanes.inc"

void romix_avx2(uint32_t* x, uint8_t* scratch) noexcept { romix_lanes<Avx2>(x, scratch); }

}  // namespace

extern const RomixKernel kRomixAvx2;
const RomixKernel kRomixAvx2{"avx2", "avx2 8-way", 8, 8 * kLaneStride, &detail::cpu_has_avx2, &romix_avx2};

}  // namespace otedama::scrypt
#endif
