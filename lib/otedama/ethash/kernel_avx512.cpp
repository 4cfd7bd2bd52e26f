// The AVX-512 kernels (F + BW + VL, as every AVX-512 kernel of the project requires): one 16-word mix is
// exactly one zmm register (fnv = vpmulld + vpxord), eight Keccak states per zmm (vprolq for the rotations,
// vpternlogq for theta's five-way XOR and for chi). Intrinsics as documented in the Intel Intrinsics Guide;
// the algorithm is kernel_generic.inc.
#include "kernels.hpp"

#include <cstring>
#include <utility>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

// Everything below is compiled for AVX-512; only avx512_kernel() is reached without it, and it only returns
// a table (impl_supported() decides whether the CPU may call into it).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl")
// GCC 12's avx512fintrin.h starts several intrinsics from _mm512_undefined_epi32(), which -Wuninitialized
// reports once inlined (GCC bug 105593, fixed in GCC 13); the value is never read.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace otedama::ethash::detail {
namespace {

#include "kernel_generic.inc"

struct Avx512LaneOps {
    using Lane = __m512i;
    static constexpr uint32_t kLanes = 8;
    static Lane load(const uint64_t* p) noexcept { return _mm512_load_si512(p); }
    static void store(uint64_t* p, Lane v) noexcept { _mm512_store_si512(p, v); }
    static Lane set1(uint64_t v) noexcept { return _mm512_set1_epi64(static_cast<long long>(v)); }
    static Lane bxor(Lane a, Lane b) noexcept { return _mm512_xor_si512(a, b); }
    static Lane xor5(Lane a, Lane b, Lane c, Lane d, Lane e) noexcept {
        return _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64(a, b, c, 0x96), d, e, 0x96);  // 0x96: a ^ b ^ c
    }
    static Lane chi(Lane a, Lane b, Lane c) noexcept { return _mm512_ternarylogic_epi64(a, b, c, 0xD2); }  // a ^ (~b & c)
    template <int N>
    static Lane rotl(Lane v) noexcept {
        if constexpr (N == 0) {
            return v;
        } else {
            return _mm512_rol_epi64(v, N);
        }
    }
};

/// Four states per ymm register with AVX-512VL's rotate and ternary logic: three vector ports instead of
/// the two that zmm instructions get, for the small batches of a light verification.
struct Avx512VlLaneOps {
    using Lane = __m256i;
    static constexpr uint32_t kLanes = 4;
    static Lane load(const uint64_t* p) noexcept { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
    static void store(uint64_t* p, Lane v) noexcept { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }
    static Lane set1(uint64_t v) noexcept { return _mm256_set1_epi64x(static_cast<long long>(v)); }
    static Lane bxor(Lane a, Lane b) noexcept { return _mm256_xor_si256(a, b); }
    static Lane xor5(Lane a, Lane b, Lane c, Lane d, Lane e) noexcept {
        return _mm256_ternarylogic_epi64(_mm256_ternarylogic_epi64(a, b, c, 0x96), d, e, 0x96);
    }
    static Lane chi(Lane a, Lane b, Lane c) noexcept { return _mm256_ternarylogic_epi64(a, b, c, 0xD2); }
    template <int N>
    static Lane rotl(Lane v) noexcept {
        if constexpr (N == 0) {
            return v;
        } else {
            return _mm256_rol_epi64(v, N);
        }
    }
};

struct Avx512Ops {
    static void keccak(KeccakStates& st, uint32_t count) noexcept {
        if (count <= 4) {
            keccak_f1600_states<Avx512VlLaneOps>(st, count);
        } else {
            keccak_f1600_states<Avx512LaneOps>(st, count);
        }
    }
    using Mix = __m512i;
    static Mix load_mix(const Item* p) noexcept { return _mm512_load_si512(p); }
    static void store_mix(Item* p, Mix m) noexcept { _mm512_store_si512(p, m); }
    static Mix fnv(Mix a, Mix b) noexcept {
        return _mm512_xor_si512(_mm512_mullo_epi32(a, _mm512_set1_epi32(static_cast<int>(kFnvPrime))), b);
    }
    template <int L>
    static uint32_t lane(Mix m) noexcept {
        if constexpr (L < 4) {
            return static_cast<uint32_t>(_mm_extract_epi32(_mm512_castsi512_si128(m), L));
        } else {
            return static_cast<uint32_t>(_mm_extract_epi32(_mm512_extracti32x4_epi32(m, L / 4), L % 4));
        }
    }
};

void items_avx512(const CacheView& c, uint32_t parents, const uint32_t* index, uint32_t count, Item* out) noexcept {
    items_any<Avx512Ops>(c, parents, index, count, out);
}
void keccak_avx512(KeccakStates& st, uint32_t count) noexcept { Avx512Ops::keccak(st, count); }
void keccak512_one_avx512(Item& item) noexcept { keccak512_one_item<Avx512VlLaneOps>(item); }

}  // namespace
}  // namespace otedama::ethash::detail

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace otedama::ethash::detail {
namespace {
constexpr Kernel kAvx512{Impl::kAvx512, 16, &items_avx512, &keccak_avx512, &keccak512_one_avx512};
}  // namespace
const Kernel* avx512_kernel() noexcept { return &kAvx512; }
}  // namespace otedama::ethash::detail

#else

namespace otedama::ethash::detail {
const Kernel* avx512_kernel() noexcept { return nullptr; }
}  // namespace otedama::ethash::detail

#endif
