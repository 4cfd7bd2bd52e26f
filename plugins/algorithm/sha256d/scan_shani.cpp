// The SHA-NI scan kernel: the x86 SHA extensions (sha256rnds2 does two rounds, sha256msg1/msg2 the
// message schedule) on two nonces at a time, interleaved step by step so that each waits less on the
// other's latency (measured: one to four streams run at the same speed on Emerald Rapids, whose SHA unit
// is throughput-bound; two suit CPUs where latency dominates). Built with -msha -msse4.1 (see meson.build)
// and called only when cpu_supports(Isa::kSha). The computation is in scan_shani_engine.hpp.
#include "scan_shani_engine.hpp"

namespace otedama::sha256d {

uint32_t scan_shani(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept {
    constexpr int kStreams = 2;
    ShaniConstants k;
    init_constants(k, c);
    const uint32_t target = c.target_top;
    uint32_t found = 0;
    for (uint32_t i = 0; i < count; i += kStreams) {
        ShaniStreams<kStreams> streams{k, first + i, {}, {}, {}, {}};
        streams.run();
        for (int s = 0; s < kStreams; ++s) {
            const uint32_t offset = i + static_cast<uint32_t>(s);
            if (__builtin_bswap32(streams.h7[s]) <= target && offset < count) [[unlikely]] offsets[found++] = offset;
        }
    }
    return found;
}

}  // namespace otedama::sha256d
