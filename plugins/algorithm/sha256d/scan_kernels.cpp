// The portable scan kernel, the per-work-unit precomputation, CPU feature detection, the kernel table and
// the kernels' self-test. Compiled for the baseline instruction set: everything here runs on any CPU.
#include "scan_kernels.hpp"

#include "known_headers.hpp"
#include "scan_lanes.hpp"

#include <otedama/common/cpu_features.hpp>
#include <otedama/common/sha256.hpp>

#include <cstring>
#include <span>
#include <vector>


namespace otedama::sha256d {
namespace {

struct OpsScalar {
    using V = uint32_t;
    static constexpr uint32_t kLanes = 1;
    static OTEDAMA_SCAN_INLINE V set1(uint32_t x) { return x; }
    static OTEDAMA_SCAN_INLINE V add(V a, V b) { return a + b; }
    template <int n>
    static OTEDAMA_SCAN_INLINE V rotr(V x) { return (x >> n) | (x << (32 - n)); }
    template <int n>
    static OTEDAMA_SCAN_INLINE V shr(V x) { return x >> n; }
    static OTEDAMA_SCAN_INLINE V xor3(V a, V b, V c) { return a ^ b ^ c; }
    static OTEDAMA_SCAN_INLINE V ch(V e, V f, V g) { return ((f ^ g) & e) ^ g; }
    static OTEDAMA_SCAN_INLINE V maj(V a, V b, V c) { return (a & b) | (c & (a | b)); }
    static OTEDAMA_SCAN_INLINE V bswap(V x) { return __builtin_bswap32(x); }
    static OTEDAMA_SCAN_INLINE V first_nonces(uint32_t first) { return first; }
    static OTEDAMA_SCAN_INLINE uint32_t le_mask(V top, V target) { return top <= target ? 1u : 0u; }
};

uint32_t load_be32(const uint8_t* p) noexcept {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t load_le32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

/// One FIPS 180-4 round on s = a..h, moving the words (the precomputation runs a few rounds per work unit).
void round_on(uint32_t* s, uint32_t k_plus_w) noexcept {
    const uint32_t t1 = s[7] + big_sigma1(s[4]) + choose(s[4], s[5], s[6]) + k_plus_w;
    const uint32_t t2 = big_sigma0(s[0]) + majority(s[0], s[1], s[2]);
    for (int i = 7; i > 0; --i) s[i] = s[i - 1];
    s[4] += t1;
    s[0] = t1 + t2;
}



// Fastest first: measured on a Xeon (Ice Lake server) with benchmarks/bench_sha256d.cpp, see README.md.
constexpr ScanKernel kKernels[] = {
#ifdef OTEDAMA_SHA256D_HAVE_AVX512
    {"avx512", "avx512 16-way", Isa::kAvx512, 16384, &scan_avx512},
#endif
#ifdef OTEDAMA_SHA256D_HAVE_AVX512_SHANI
    {"avx512+shani", "avx512 16-way + sha-ni x1", Isa::kAvx512Sha, 16384, &scan_avx512_shani},
#endif
#ifdef OTEDAMA_SHA256D_HAVE_SHANI
    {"shani", "sha-ni x2", Isa::kSha, 8192, &scan_shani},
#endif
#ifdef OTEDAMA_SHA256D_HAVE_AVX2
    {"avx2", "avx2 8-way", Isa::kAvx2, 8192, &scan_avx2},
#endif
    {"scalar", "scalar", Isa::kNone, 1024, &scan_scalar},
};
constexpr uint32_t kKernelCount = sizeof kKernels / sizeof kKernels[0];

}  // namespace

uint32_t scan_scalar(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept {
    return scan_lanes<OpsScalar>(c, first, count, offsets);
}

void prepare_scan_constants(ScanConstants& c, const uint8_t* header, const uint8_t* target) noexcept {
    std::memset(&c, 0, sizeof c);
    const common::Sha256State mid = common::sha256_midstate(std::span<const uint8_t, 64>(header, 64),
                                                            common::sha256_scalar_kernel());
    for (int i = 0; i < 8; ++i) c.midstate[i] = mid[static_cast<size_t>(i)];
    for (int i = 0; i < 3; ++i) c.w[i] = load_be32(header + 64 + 4 * i);

    uint32_t s[8];
    std::memcpy(s, c.midstate, sizeof s);
    round_on(s, kK[0] + c.w[0]);
    round_on(s, kK[1] + c.w[1]);
    std::memcpy(c.state2, s, sizeof s);
    round_on(s, kK[2] + c.w[2]);
    std::memcpy(c.state3, s, sizeof s);
    // Round 3 without its W3: e and a after it are these plus the nonce word.
    const uint32_t t1 = s[7] + big_sigma1(s[4]) + choose(s[4], s[5], s[6]) + kK[3];
    const uint32_t t2 = big_sigma0(s[0]) + majority(s[0], s[1], s[2]);
    c.e4_base = s[3] + t1;
    c.a4_base = t1 + t2;

    // W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16] with W4 = 0x80000000, W5..W14 = 0, W15 = 640.
    c.w16 = small_sigma0(c.w[1]) + c.w[0];
    c.w17 = small_sigma1(kPad1W15) + small_sigma0(c.w[2]) + c.w[1];
    c.w18_part = small_sigma1(c.w16) + c.w[2];
    c.w19_part = small_sigma1(c.w17) + small_sigma0(kPad1W4);
    c.w31_part = small_sigma0(c.w16) + kPad1W15;
    c.w32_part = small_sigma0(c.w17) + c.w16;
    c.target_top = load_le32(target + 28);
}

const ScanKernel* scan_kernels(uint32_t* count) noexcept {
    *count = kKernelCount;
    return kKernels;
}

const ScanKernel* find_scan_kernel(const char* id) noexcept {
    if (id == nullptr) return nullptr;
    for (const ScanKernel& k : kKernels) {
        if (std::strcmp(k.id, id) == 0) return &k;
    }
    return nullptr;
}

const ScanKernel& scalar_scan_kernel() noexcept { return kKernels[kKernelCount - 1]; }

bool cpu_supports(Isa isa) noexcept {
    const common::CpuFeatures& f = common::cpu_features();
    switch (isa) {
        case Isa::kNone: return true;
        case Isa::kSha: return f.sha;
        case Isa::kAvx2: return f.avx2;
        case Isa::kAvx512: return f.avx512();
        case Isa::kAvx512Sha: return f.avx512() && f.sha;
    }
    return false;
}

const char* self_test_scan_kernel(const ScanKernel& kernel) noexcept {
    struct Case {
        const uint8_t* header;
        uint32_t first;
        uint32_t count;
        uint32_t target_top;
        const char* what;
    };
    // Counts that are no multiple of 2, 8 or 16, a range ending at 2^32 - 1, a target every nonce meets and
    // one about half of them meet (which checks every bit of H7), and the genesis nonce at difficulty 1.
    const Case cases[] = {
        {kGenesis.header, kGenesisNonce - 100, 203, 0, "genesis header around its nonce, top word 0"},
        {kBlock125552.header, 0xffffffffu - 76, 77, 0x7fffffffu, "block 125552 header, last 77 nonces, top <= 2^31 - 1"},
        {kBlock1.header, 1000, 37, 0xffffffffu, "block 1 header, every nonce a candidate"},
    };
    std::vector<uint32_t> got, expected;
    for (const Case& t : cases) {
        uint8_t target[32];
        std::memset(target, 0xff, sizeof target);
        target[28] = static_cast<uint8_t>(t.target_top);
        target[29] = static_cast<uint8_t>(t.target_top >> 8);
        target[30] = static_cast<uint8_t>(t.target_top >> 16);
        target[31] = static_cast<uint8_t>(t.target_top >> 24);
        ScanConstants constants;
        prepare_scan_constants(constants, t.header, target);
        got.assign(t.count, 0);
        got.resize(kernel.scan(constants, t.first, t.count, got.data()));

        expected.clear();
        common::Sha256dHeader80 reference(std::span<const uint8_t, 80>(t.header, 80), common::sha256_scalar_kernel());
        for (uint32_t i = 0; i < t.count; ++i) {
            const common::Sha256Digest d = reference.hash_with_nonce(t.first + i);
            if (load_le32(d.data() + 28) <= t.target_top) expected.push_back(i);
        }
        if (got != expected) return t.what;
    }
    return nullptr;
}

}  // namespace otedama::sha256d
