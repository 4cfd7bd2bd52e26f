#include "otedama/common/cpu_features.hpp"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define OTEDAMA_X86 1
#endif

namespace otedama::common {

namespace {

#if OTEDAMA_X86
/// XCR0: which register states the OS saves (bit 1 SSE, 2 AVX, 5..7 the AVX-512 opmask and upper zmm).
uint64_t read_xcr0() noexcept {
    uint32_t eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (uint64_t{edx} << 32) | eax;
}
#endif

CpuFeatures detect() noexcept {
    CpuFeatures f;
#if OTEDAMA_X86
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return f;
    f.ssse3 = (ecx & (1u << 9)) != 0;
    f.sse41 = (ecx & (1u << 19)) != 0;
    const bool osxsave = (ecx & (1u << 27)) != 0;
    const bool avx = (ecx & (1u << 28)) != 0;
    unsigned ebx7 = 0;
    if (__get_cpuid_max(0, nullptr) >= 7) __cpuid_count(7, 0, eax, ebx7, ecx, edx);
    const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    const bool os_avx = (xcr0 & 0x6) == 0x6;
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
    f.sha = f.ssse3 && f.sse41 && (ebx7 & (1u << 29)) != 0;
    f.avx2 = avx && os_avx && (ebx7 & (1u << 5)) != 0;
    f.avx512f = f.avx2 && os_avx512 && (ebx7 & (1u << 16)) != 0;
    f.avx512bw = f.avx512f && (ebx7 & (1u << 30)) != 0;
    f.avx512vl = f.avx512f && (ebx7 & (1u << 31)) != 0;
#endif
    return f;
}

}  // namespace

const CpuFeatures& cpu_features() noexcept {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace otedama::common
