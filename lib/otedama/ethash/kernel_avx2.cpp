// The AVX2 kernels: one 16-word mix in two ymm registers (fnv = vpmulld + vpxor), four Keccak states per
// ymm (rotations as two shifts and an OR; AVX2 has no rotate). Intrinsics as documented in the Intel
// Intrinsics Guide; the algorithm is kernel_generic.inc.
#include "kernels.hpp"

#include <cstring>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

// Everything below is compiled for AVX2; only avx2_kernel() is reached without it, and it only returns a
// table (impl_supported() decides whether the CPU may call into it).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

namespace otedama::ethash::detail {
namespace {

#include "kernel_generic.inc"

struct Avx2LaneOps {
    using Lane = __m256i;
    static constexpr uint32_t kLanes = 4;
    static Lane load(const uint64_t* p) noexcept { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
    static void store(uint64_t* p, Lane v) noexcept { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }
    static Lane set1(uint64_t v) noexcept { return _mm256_set1_epi64x(static_cast<long long>(v)); }
    static Lane bxor(Lane a, Lane b) noexcept { return _mm256_xor_si256(a, b); }
    static Lane xor5(Lane a, Lane b, Lane c, Lane d, Lane e) noexcept {
        return _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d)), e);
    }
    static Lane chi(Lane a, Lane b, Lane c) noexcept { return _mm256_xor_si256(a, _mm256_andnot_si256(b, c)); }
    template <int N>
    static Lane rotl(Lane v) noexcept {
        if constexpr (N == 0) {
            return v;
        } else {
            return _mm256_or_si256(_mm256_slli_epi64(v, N), _mm256_srli_epi64(v, 64 - N));
        }
    }
};

struct Avx2Ops {
    /// One or two states: the scalar permutation (25 lanes of 4 do not fit 16 ymm registers, and a mostly
    /// empty register costs as much as a full one).
    static void keccak(KeccakStates& st, uint32_t count) noexcept {
        if (count <= 2) {
            keccak_f1600_states<ScalarLaneOps>(st, count);
        } else {
            keccak_f1600_states<Avx2LaneOps>(st, count);
        }
    }
    struct Mix {
        __m256i lo, hi;
    };
    static Mix load_mix(const Item* p) noexcept {
        const auto* v = reinterpret_cast<const __m256i*>(p);
        return Mix{_mm256_load_si256(v), _mm256_load_si256(v + 1)};
    }
    static void store_mix(Item* p, const Mix& m) noexcept {
        auto* v = reinterpret_cast<__m256i*>(p);
        _mm256_store_si256(v, m.lo);
        _mm256_store_si256(v + 1, m.hi);
    }
    static Mix fnv(const Mix& a, const Mix& b) noexcept {
        const __m256i prime = _mm256_set1_epi32(static_cast<int>(kFnvPrime));
        return Mix{_mm256_xor_si256(_mm256_mullo_epi32(a.lo, prime), b.lo), _mm256_xor_si256(_mm256_mullo_epi32(a.hi, prime), b.hi)};
    }
    template <int L>
    static uint32_t lane(const Mix& m) noexcept {
        if constexpr (L < 4) {
            return static_cast<uint32_t>(_mm_extract_epi32(_mm256_castsi256_si128(m.lo), L));
        } else if constexpr (L < 8) {
            return static_cast<uint32_t>(_mm_extract_epi32(_mm256_extracti128_si256(m.lo, 1), L - 4));
        } else if constexpr (L < 12) {
            return static_cast<uint32_t>(_mm_extract_epi32(_mm256_castsi256_si128(m.hi), L - 8));
        } else {
            return static_cast<uint32_t>(_mm_extract_epi32(_mm256_extracti128_si256(m.hi, 1), L - 12));
        }
    }
};

void items_avx2(const CacheView& c, uint32_t parents, const uint32_t* index, uint32_t count, Item* out) noexcept {
    items_any<Avx2Ops>(c, parents, index, count, out);
}
void keccak_avx2(KeccakStates& st, uint32_t count) noexcept { Avx2Ops::keccak(st, count); }
void keccak512_one_avx2(Item& item) noexcept { keccak512_one_item<ScalarLaneOps>(item); }

}  // namespace
}  // namespace otedama::ethash::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace otedama::ethash::detail {
namespace {
constexpr Kernel kAvx2{Impl::kAvx2, 8, &items_avx2, &keccak_avx2, &keccak512_one_avx2};
}  // namespace
const Kernel* avx2_kernel() noexcept { return &kAvx2; }
}  // namespace otedama::ethash::detail

#else

namespace otedama::ethash::detail {
const Kernel* avx2_kernel() noexcept { return nullptr; }
}  // namespace otedama::ethash::detail

#endif
