// The AVX2 scan kernel: 8 nonces per __m256i. Built with -mavx2 (see meson.build) and called only when
// cpu_supports(Isa::kAvx2). AVX2 has no rotate: each is two shifts and an OR.
#include "scan_lanes.hpp"

#include <immintrin.h>

namespace otedama::sha256d {
namespace {

struct OpsAvx2 {
    using V = __m256i;
    static constexpr uint32_t kLanes = 8;
    static OTEDAMA_SCAN_INLINE V set1(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
    static OTEDAMA_SCAN_INLINE V add(V a, V b) { return _mm256_add_epi32(a, b); }
    template <int n>
    static OTEDAMA_SCAN_INLINE V rotr(V x) { return _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - n)); }
    template <int n>
    static OTEDAMA_SCAN_INLINE V shr(V x) { return _mm256_srli_epi32(x, n); }
    static OTEDAMA_SCAN_INLINE V xor3(V a, V b, V c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
    static OTEDAMA_SCAN_INLINE V ch(V e, V f, V g) { return _mm256_xor_si256(_mm256_and_si256(_mm256_xor_si256(f, g), e), g); }
    static OTEDAMA_SCAN_INLINE V maj(V a, V b, V c) {
        return _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)));
    }
    static OTEDAMA_SCAN_INLINE V bswap(V x) {
        const V order = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
                                         3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
        return _mm256_shuffle_epi8(x, order);
    }
    static OTEDAMA_SCAN_INLINE V first_nonces(uint32_t first) {
        return add(set1(first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    // Unsigned top <= target: min(top, target) == top.
    static OTEDAMA_SCAN_INLINE uint32_t le_mask(V top, V target) {
        const V le = _mm256_cmpeq_epi32(_mm256_min_epu32(top, target), top);
        return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(le)));
    }
};

}  // namespace

uint32_t scan_avx2(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept {
    return scan_lanes<OpsAvx2>(c, first, count, offsets);
}

}  // namespace otedama::sha256d
