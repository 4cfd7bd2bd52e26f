// The hybrid scan kernel: the AVX-512 kernel's 16 lanes and kShaStreams SHA-NI streams in one loop, each
// pass 16 + kShaStreams consecutive nonces. Built with -mavx512f -mavx512bw -mavx512vl -msha -msse4.1 and
// -ffixed-xmm0 .. -ffixed-xmm15 (meson.build; GCC only) and called only when cpu_supports(Isa::kAvx512Sha).
//
// Measured on Emerald Rapids (README.md), it is slower than the AVX-512 kernel alone, so the dispatch
// order puts it after that one; it stays selectable (OTEDAMA_SHA256D_IMPL=avx512+shani) for CPUs whose SHA
// unit costs the vector ports less. Why it loses here (microbenchmarks, cycles at 3.1 GHz):
//  - the AVX-512 kernel keeps ports 0 and 5 about 90% busy (2856 ALU micro-ops per 16 nonces, 1176 of
//    them rotates and shifts that only port 0 runs); there is little idle issue capacity to fill;
//  - sha256rnds2 takes 3 cycles of the SHA unit but only one port slot, and overlaps well (eight beside
//    twenty vprord and twenty-eight vpaddd: 29 cycles, 28 ideal), but sha256msg1 holds port 0 for about
//    3 cycles (eight beside twenty vprord and twenty vpaddd: 45 cycles instead of 24), and the adds and
//    palignr of the schedule need ports 0/5 too: one SHA-NI nonce costs about 240 port slots, a 16-way
//    AVX-512 nonce about 180;
//  - the AVX-512 lanes get 16 zmm registers instead of 32 (-6% alone, 29.7 MH/s instead of 31.9).
//
// Why the register split: the SHA instructions exist only in legacy-SSE encoding, and legacy-SSE
// instructions executed while the upper halves of (y/z)mm0-15 are dirty pay a state-transition penalty
// (measured here: ~470 cycles for eight sha256rnds2 after one 512-bit vpaddd on zmm1, 24 cycles after one
// on zmm30; the first interleaving attempt ran at 0.6 MH/s because of it). zmm16-31 are EVEX-only and have
// no legacy upper state. So the compiler may allocate only xmm16-31 in this file (-ffixed-xmm0..15: the
// AVX-512 lanes live in zmm16-31, their spills go to the stack), and the SHA-NI steps are inline assembly
// on hard-coded xmm0-7, with their state in memory between steps (ShaLane). `objdump -d` of this object
// shows no (x/y/z)mm0-15 outside those asm statements and the vzeroupper at entry.
//
// The SHA-NI computation follows scan_shani_engine.hpp (same shortcuts: rounds 0..1 of the first hash's
// second block precomputed, constant padding words, the second hash stopped after rounds 60..61), cut into
// 16 steps of about eight rounds that Sha256dLanes::h7 calls between its rounds (ShaHook::step<n>).
#include "scan_ops_avx512.hpp"

#include <cstddef>

namespace otedama::sha256d {
namespace {

// SHA-NI nonces per pass. Measured single-thread (bench_sha256d): 1: 29.3 MH/s, 2: 28.1, 4: 25.7, 8: 19.8;
// every added stream costs more than the nonces it brings.
constexpr int kShaStreams = 1;

/// One SHA-NI stream between two steps. Offsets are hard-coded in the assembly below (static_asserts).
/// State registers: ABEF holds the words F, E, B, A (F in the lowest lane), CDGH holds H, G, D, C.
struct alignas(64) ShaLane {
    uint32_t abef[4];   // 0
    uint32_t cdgh[4];   // 16
    uint32_t m[4][4];   // 32, 48, 64, 80: message schedule groups W[4g..4g+3] in m[g & 3]
    uint32_t wk[4];     // 96: the K + W of the current group (its upper half feeds the second sha256rnds2)
    uint32_t w3k[4];    // 112: K2 + W2, K3 + W3 (the nonce word) of the first hash's second block
};
static_assert(offsetof(ShaLane, cdgh) == 16 && offsetof(ShaLane, m) == 32 && offsetof(ShaLane, wk) == 96 &&
              offsetof(ShaLane, w3k) == 112);

/// Per-call constants of the SHA-NI streams.
struct alignas(64) ShaConsts {
    uint32_t k[64];         // 0: K[4g..4g+3] at 16 g
    uint32_t abef2[4];      // 256: state after rounds 0..1 of the first hash's second block
    uint32_t cdgh2[4];      // 272
    uint32_t pad1[3][4];    // 288, 304, 320: W4..W15 of that block (padding)
    uint32_t kw1[3][4];     // 336, 352, 368: and plus K4..K15
    uint32_t mid_abef[4];   // 384: the midstate
    uint32_t mid_cdgh[4];   // 400
    uint32_t iv_abef[4];    // 416
    uint32_t iv_cdgh[4];    // 432
    uint32_t pad2[2][4];    // 448, 464: W8..W15 of the second hash (padding)
    uint32_t kw2[2][4];     // 480, 496: and plus K8..K15
};
static_assert(offsetof(ShaConsts, abef2) == 256 && offsetof(ShaConsts, pad1) == 288 &&
              offsetof(ShaConsts, kw1) == 336 && offsetof(ShaConsts, mid_abef) == 384 &&
              offsetof(ShaConsts, iv_abef) == 416 && offsetof(ShaConsts, pad2) == 448 &&
              offsetof(ShaConsts, kw2) == 480 && sizeof(ShaConsts) == 512);

void set4(uint32_t* d, uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3) {
    d[0] = w0;
    d[1] = w1;
    d[2] = w2;
    d[3] = w3;
}
/// The SHA-NI register layout of eight state words a..h.
void abef_of(uint32_t* d, const uint32_t* s) { set4(d, s[5], s[4], s[1], s[0]); }
void cdgh_of(uint32_t* d, const uint32_t* s) { set4(d, s[7], s[6], s[3], s[2]); }

void init_sha_consts(ShaConsts& k, const ScanConstants& p) {
    for (int t = 0; t < 64; ++t) k.k[t] = kK[t];
    abef_of(k.abef2, p.state2);
    cdgh_of(k.cdgh2, p.state2);
    set4(k.pad1[0], kPad1W4, 0, 0, 0);
    set4(k.pad1[1], 0, 0, 0, 0);
    set4(k.pad1[2], 0, 0, 0, kPad1W15);
    for (int g = 0; g < 3; ++g) {
        for (int j = 0; j < 4; ++j) k.kw1[g][j] = k.pad1[g][j] + kK[4 * (g + 1) + j];
    }
    abef_of(k.mid_abef, p.midstate);
    cdgh_of(k.mid_cdgh, p.midstate);
    abef_of(k.iv_abef, kIv);
    cdgh_of(k.iv_cdgh, kIv);
    set4(k.pad2[0], kPad2W8, 0, 0, 0);
    set4(k.pad2[1], 0, 0, 0, kPad2W15);
    for (int g = 0; g < 2; ++g) {
        for (int j = 0; j < 4; ++j) k.kw2[g][j] = k.pad2[g][j] + kK[4 * (g + 2) + j];
    }
}

// ---- The assembly (AT&T syntax). %[l] points at a ShaLane, %[c] at the ShaConsts. Registers: xmm1 ABEF
// and xmm2 CDGH (each sha256rnds2 swaps their roles: `sha256rnds2 %xmm1, %xmm2` leaves the new ABEF in
// xmm2, the old ABEF being the new CDGH), xmm0 the implicit K + W operand, xmm3-5 the schedule.
#define OTD_LOAD_STATE "movdqa 0(%[l]), %%xmm1\n\tmovdqa 16(%[l]), %%xmm2\n\t"
#define OTD_STORE_STATE "movdqa %%xmm1, 0(%[l])\n\tmovdqa %%xmm2, 16(%[l])\n\t"
// A schedule group in the lane (slot j = g & 3) or among the constants (byte offset).
#define OTD_SLOT(j) #j "*16+32(%[l])"
#define OTD_CONST(off) #off "(%[c])"
// Four rounds whose K + W is the constant at byte offset `off`.
#define OTD_R4_CONST(off)                                         \
    "movdqa " #off "(%[c]), %%xmm0\n\tsha256rnds2 %%xmm1, %%xmm2\n\t" \
    "movq " #off "+8(%[c]), %%xmm0\n\tsha256rnds2 %%xmm2, %%xmm1\n\t"
// Four rounds of group g whose W is `src` (a register or a memory operand): K + W goes through the lane's
// wk so that the second pair is a plain 8-byte load, not a shuffle on the vector ports.
#define OTD_R4_VAR(src, g)                                                                   \
    "movdqa " src ", %%xmm0\n\tpaddd " #g "*16(%[c]), %%xmm0\n\tmovdqa %%xmm0, 96(%[l])\n\t" \
    "sha256rnds2 %%xmm1, %%xmm2\n\tmovq 104(%[l]), %%xmm0\n\tsha256rnds2 %%xmm2, %%xmm1\n\t"
// W[t..t+3] into xmm3 (and `dst` unless empty) from the groups s0 = W[t-16..t-13] .. s3 = W[t-4..t-1].
#define OTD_SCHED(s0, s1, s2, s3)                                                            \
    "movdqa " s3 ", %%xmm4\n\tmovdqa " s0 ", %%xmm3\n\tsha256msg1 " s1 ", %%xmm3\n\t"       \
    "movdqa %%xmm4, %%xmm5\n\tpalignr $4, " s2 ", %%xmm5\n\tpaddd %%xmm5, %%xmm3\n\t"       \
    "sha256msg2 %%xmm4, %%xmm3\n\t"
#define OTD_STORE_W(j) "movdqa %%xmm3, " OTD_SLOT(j) "\n\t"
// A generic schedule group g >= 8 of either hash, all inputs in the lane's ring; `prev` is the memory or
// register operand holding group g - 1.
#define OTD_GROUP(g, j0, j1, j2, prev) OTD_SCHED(OTD_SLOT(j0), OTD_SLOT(j1), OTD_SLOT(j2), prev) OTD_STORE_W(j0) OTD_R4_VAR("%%xmm3", g)
#define OTD_GROUP_PAIR(g0, g1, j0, j1, j2, j3) \
    OTD_GROUP(g0, j0, j1, j2, OTD_SLOT(j3)) OTD_GROUP(g1, j1, j2, j3, "%%xmm3")

/// Step n of a SHA-NI stream (n = 0..15, in order; the lane's m[0] and w3k were set for its nonce).
template <int n>
OTEDAMA_SCAN_INLINE void sha_step(ShaLane* lane, const ShaConsts* consts) {
#define OTD_ASM(text) \
    __asm__ volatile(text : "+m"(*lane) : [l] "r"(lane), [c] "r"(consts), "m"(*consts) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "cc")
    if constexpr (n == 0) {
        // First hash, second block: rounds 2..3 (with the nonce word), 4..7 and 8..11 (padding). Five
        // sha256rnds2: the state ends with ABEF in xmm2.
        OTD_ASM("movdqa 256(%[c]), %%xmm1\n\tmovdqa 272(%[c]), %%xmm2\n\t"
                "movq 112(%[l]), %%xmm0\n\tsha256rnds2 %%xmm1, %%xmm2\n\t"
                "movdqa 336(%[c]), %%xmm0\n\tsha256rnds2 %%xmm2, %%xmm1\n\t"
                "movq 344(%[c]), %%xmm0\n\tsha256rnds2 %%xmm1, %%xmm2\n\t"
                "movdqa 352(%[c]), %%xmm0\n\tsha256rnds2 %%xmm2, %%xmm1\n\t"
                "movq 360(%[c]), %%xmm0\n\tsha256rnds2 %%xmm1, %%xmm2\n\t"
                "movdqa %%xmm2, 0(%[l])\n\tmovdqa %%xmm1, 16(%[l])\n\t");
    } else if constexpr (n == 1) {
        // Rounds 12..15, then group 4 from group 0 (the lane) and the padding groups 1..3.
        OTD_ASM(OTD_LOAD_STATE OTD_R4_CONST(368)
                OTD_SCHED(OTD_SLOT(0), OTD_CONST(288), OTD_CONST(304), OTD_CONST(320)) OTD_STORE_W(0)
                OTD_R4_VAR("%%xmm3", 4) OTD_STORE_STATE);
    } else if constexpr (n == 2) {
        OTD_ASM(OTD_LOAD_STATE
                OTD_SCHED(OTD_CONST(288), OTD_CONST(304), OTD_CONST(320), OTD_SLOT(0)) OTD_STORE_W(1)
                OTD_R4_VAR("%%xmm3", 5)
                OTD_SCHED(OTD_CONST(304), OTD_CONST(320), OTD_SLOT(0), "%%xmm3") OTD_STORE_W(2)
                OTD_R4_VAR("%%xmm3", 6) OTD_STORE_STATE);
    } else if constexpr (n == 3) {
        OTD_ASM(OTD_LOAD_STATE
                OTD_SCHED(OTD_CONST(320), OTD_SLOT(0), OTD_SLOT(1), OTD_SLOT(2)) OTD_STORE_W(3)
                OTD_R4_VAR("%%xmm3", 7)
                OTD_GROUP(8, 0, 1, 2, "%%xmm3") OTD_STORE_STATE);
    } else if constexpr (n == 4) {
        OTD_ASM(OTD_LOAD_STATE OTD_GROUP_PAIR(9, 10, 1, 2, 3, 0) OTD_STORE_STATE);
    } else if constexpr (n == 5) {
        OTD_ASM(OTD_LOAD_STATE OTD_GROUP_PAIR(11, 12, 3, 0, 1, 2) OTD_STORE_STATE);
    } else if constexpr (n == 6) {
        OTD_ASM(OTD_LOAD_STATE OTD_GROUP_PAIR(13, 14, 1, 2, 3, 0) OTD_STORE_STATE);
    } else if constexpr (n == 7) {
        // Group 15, the first digest (state + midstate) as the second hash's W0..W7, its rounds 0..3.
        OTD_ASM(OTD_LOAD_STATE
                OTD_SCHED(OTD_SLOT(3), OTD_SLOT(0), OTD_SLOT(1), OTD_SLOT(2)) OTD_R4_VAR("%%xmm3", 15)
                "paddd 384(%[c]), %%xmm1\n\tpaddd 400(%[c]), %%xmm2\n\t"
                "pshufd $0x1b, %%xmm1, %%xmm1\n\tpshufd $0x1b, %%xmm2, %%xmm2\n\t"  // A B E F, C D G H
                "movdqa %%xmm1, %%xmm3\n\tpunpcklqdq %%xmm2, %%xmm3\n\tpunpckhqdq %%xmm2, %%xmm1\n\t"
                "movdqa %%xmm3, " OTD_SLOT(0) "\n\tmovdqa %%xmm1, " OTD_SLOT(1) "\n\t"
                "movdqa 416(%[c]), %%xmm1\n\tmovdqa 432(%[c]), %%xmm2\n\t"
                OTD_R4_VAR("%%xmm3", 0) OTD_STORE_STATE);
    } else if constexpr (n == 8) {
        // Second hash: rounds 4..7 (W4..W7 = digest words E..H), 8..11 (padding).
        OTD_ASM(OTD_LOAD_STATE OTD_R4_VAR(OTD_SLOT(1), 1) OTD_R4_CONST(480) OTD_STORE_STATE);
    } else if constexpr (n == 9) {
        OTD_ASM(OTD_LOAD_STATE OTD_R4_CONST(496)
                OTD_SCHED(OTD_SLOT(0), OTD_SLOT(1), OTD_CONST(448), OTD_CONST(464)) OTD_STORE_W(0)
                OTD_R4_VAR("%%xmm3", 4) OTD_STORE_STATE);
    } else if constexpr (n == 10) {
        OTD_ASM(OTD_LOAD_STATE
                OTD_SCHED(OTD_SLOT(1), OTD_CONST(448), OTD_CONST(464), OTD_SLOT(0)) OTD_STORE_W(1)
                OTD_R4_VAR("%%xmm3", 5)
                OTD_SCHED(OTD_CONST(448), OTD_CONST(464), OTD_SLOT(0), "%%xmm3") OTD_STORE_W(2)
                OTD_R4_VAR("%%xmm3", 6) OTD_STORE_STATE);
    } else if constexpr (n == 11) {
        OTD_ASM(OTD_LOAD_STATE
                OTD_SCHED(OTD_CONST(464), OTD_SLOT(0), OTD_SLOT(1), OTD_SLOT(2)) OTD_STORE_W(3)
                OTD_R4_VAR("%%xmm3", 7)
                OTD_GROUP(8, 0, 1, 2, "%%xmm3") OTD_STORE_STATE);
    } else if constexpr (n == 12) {
        OTD_ASM(OTD_LOAD_STATE OTD_GROUP_PAIR(9, 10, 1, 2, 3, 0) OTD_STORE_STATE);
    } else if constexpr (n == 13) {
        OTD_ASM(OTD_LOAD_STATE OTD_GROUP_PAIR(11, 12, 3, 0, 1, 2) OTD_STORE_STATE);
    } else if constexpr (n == 14) {
        OTD_ASM(OTD_LOAD_STATE OTD_GROUP_PAIR(13, 14, 1, 2, 3, 0) OTD_STORE_STATE);
    } else {
        static_assert(n == 15);
        // Group 15's rounds 60..61 only: afterwards the lowest lane of ABEF (now xmm2) is the e of round
        // 60, and H7 = IV7 + that e.
        OTD_ASM(OTD_LOAD_STATE OTD_SCHED(OTD_SLOT(3), OTD_SLOT(0), OTD_SLOT(1), OTD_SLOT(2))
                "movdqa %%xmm3, %%xmm0\n\tpaddd 240(%[c]), %%xmm0\n\tsha256rnds2 %%xmm1, %%xmm2\n\t"
                "movdqa %%xmm2, 0(%[l])\n\t");
    }
#undef OTD_ASM
}

template <int kStreams>
struct ShaHook {
    ShaLane* lanes;
    const ShaConsts* consts;

    template <int n>
    OTEDAMA_SCAN_INLINE void step() {
        for (int s = 0; s < kStreams; ++s) sha_step<n>(&lanes[s], consts);
    }
};

}  // namespace

uint32_t scan_avx512_shani(const ScanConstants& constants, uint32_t first, uint32_t count, uint32_t* offsets) noexcept {
    using O = OpsAvx512;
    using V = O::V;
    constexpr uint32_t kPass = O::kLanes + kShaStreams;
    // The caller's upper ymm/zmm0-15 state may be dirty; this file never dirties it again.
    _mm256_zeroupper();
    Pool pool;
    fill_pool(pool, constants);
    __asm__ volatile("" : : "r"(&pool) : "memory");
    const Pool& P = pool;
    ShaConsts sha_consts;
    init_sha_consts(sha_consts, constants);
    ShaLane lanes[kShaStreams];
    for (ShaLane& lane : lanes) set4(lane.w3k, kK[2] + constants.w[2], kK[3], 0, 0);
    ShaHook<kShaStreams> hook{lanes, &sha_consts};

    const V target = O::set1(P.p.target_top);
    const V step = O::set1(kPass);
    V nonces = O::first_nonces(first);
    uint32_t found = 0;
    for (uint32_t i = 0; i < count; i += kPass) {
        for (int s = 0; s < kShaStreams; ++s) {
            const uint32_t w3 = __builtin_bswap32(first + i + O::kLanes + static_cast<uint32_t>(s));
            set4(lanes[s].m[0], constants.w[0], constants.w[1], constants.w[2], w3);
            lanes[s].w3k[1] = kK[3] + w3;
        }
        const V top = O::bswap(Sha256dLanes<O>::h7(P, O::bswap(nonces), hook));
        uint32_t mask = O::le_mask(top, target);
        const uint32_t left = count - i;
        if (mask != 0) [[unlikely]] {
            if (left < O::kLanes) mask &= (1u << left) - 1u;
            while (mask != 0) {
                offsets[found++] = i + static_cast<uint32_t>(__builtin_ctz(mask));
                mask &= mask - 1u;
            }
        }
        for (int s = 0; s < kShaStreams; ++s) {
            const uint32_t offset = O::kLanes + static_cast<uint32_t>(s);
            if (__builtin_bswap32(lanes[s].abef[0] + kIv[7]) <= P.p.target_top && offset < left) [[unlikely]] {
                offsets[found++] = i + offset;
            }
        }
        nonces = O::add(nonces, step);
    }
    return found;
}

}  // namespace otedama::sha256d
