// What the processor and the OS support, detected once (cpuid + xgetbv). Every kernel dispatch in the
// project asks here, so there is one definition of "this CPU can run AVX-512".
#pragma once

namespace otedama::common {

struct CpuFeatures {
    bool ssse3 = false;
    bool sse41 = false;
    bool sha = false;       ///< SHA-NI (with the SSSE3/SSE4.1 it needs)
    bool avx2 = false;      ///< AVX2, and the OS saves the ymm state
    bool avx512f = false;   ///< AVX-512 F, and the OS saves the opmask and zmm state
    bool avx512bw = false;
    bool avx512vl = false;
    /// F + BW + VL: what the project's AVX-512 kernels require.
    [[nodiscard]] bool avx512() const noexcept { return avx512f && avx512bw && avx512vl; }
};

/// All false on processors other than x86.
[[nodiscard]] const CpuFeatures& cpu_features() noexcept;

}  // namespace otedama::common
