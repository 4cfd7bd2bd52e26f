// CPUID + XGETBV checks for the ROMix kernels (Intel SDM vol. 2A, CPUID leaf 7 and "Detection of
// Intel AVX-512 / AVX2": the instruction set must be reported AND its register state enabled by the OS).
#pragma once

namespace otedama::scrypt::detail {

[[nodiscard]] bool cpu_has_avx2() noexcept;
[[nodiscard]] bool cpu_has_avx512f() noexcept;

}  // namespace otedama::scrypt::detail
