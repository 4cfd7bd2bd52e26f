// The AVX-512 scan kernel: 16 nonces per __m512i (scan_ops_avx512.hpp). Built with -mavx512f -mavx512bw
// -mavx512vl (see meson.build) and called only when cpu_supports(Isa::kAvx512).
#include "scan_ops_avx512.hpp"

namespace otedama::sha256d {

uint32_t scan_avx512(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept {
    return scan_lanes<OpsAvx512>(c, first, count, offsets);
}

}  // namespace otedama::sha256d
