#include "cpu_features.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define OTEDAMA_SCRYPT_X86 1
#endif

namespace otedama::scrypt::detail {
namespace {

#if OTEDAMA_SCRYPT_X86
struct Features {
    bool avx2 = false;
    bool avx512f = false;
};

Features detect() noexcept {
    Features f;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(1, 0, a, b, c, d);
    const bool osxsave = (c & (1u << 27)) != 0, avx = (c & (1u << 28)) != 0;
    if (!osxsave || !avx) return f;
    unsigned xcr0_lo = 0, xcr0_hi = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    const bool ymm_state = (xcr0_lo & 0x6u) == 0x6u;          // SSE + AVX state
    const bool zmm_state = (xcr0_lo & 0xe6u) == 0xe6u;        // + opmask, ZMM_Hi256, Hi16_ZMM
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = ymm_state && (b & (1u << 5)) != 0;
    f.avx512f = zmm_state && (b & (1u << 16)) != 0;
    return f;
}

const Features& features() noexcept {
    static const Features f = detect();
    return f;
}
#endif

}  // namespace

bool cpu_has_avx2() noexcept {
#if OTEDAMA_SCRYPT_X86
    return features().avx2;
#else
    return false;
#endif
}

bool cpu_has_avx512f() noexcept {
#if OTEDAMA_SCRYPT_X86
    return features().avx512f;
#else
    return false;
#endif
}

}  // namespace otedama::scrypt::detail
