// The double SHA-256 of an 80-byte header, cut down to what decides the final hash's top word, written
// once for any "lane" type: a plain uint32_t (the portable kernel), __m256i (8 lanes) or __m512i (16).
// Included only by the scan_*.cpp files, each of which instantiates it with its own vector operations.
//
// Everything here has internal linkage (anonymous namespace): a translation unit compiled with -mavx512f
// must not hand the linker an inline function that a baseline translation unit could end up calling.
//
// FIPS 180-4 section 6.2.2 round: T1 = h + Sigma1(e) + Ch(e,f,g) + K[t] + W[t]; T2 = Sigma0(a) + Maj(a,b,c);
// the new e is d + T1, the new a is T1 + T2. As in lib/otedama/common/sha256.cpp the eight working
// variables rotate by renaming: R<n> is a round whose variables are the names shifted by n, so eight
// consecutive rounds use R0..R7 and end where they started.
#pragma once

#include "scan_kernels.hpp"

#include <cstdint>

#define OTEDAMA_SCAN_INLINE inline __attribute__((always_inline))

namespace otedama::sha256d {
namespace {

// FIPS 180-4 section 4.2.2 (round constants) and 5.3.3 (initial hash value).
constexpr uint32_t kK[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};
constexpr uint32_t kIv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                             0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

// Padding words. First hash, second block: header bytes 64..79, then 0x80, zeros, the length 640 bits.
constexpr uint32_t kPad1W4 = 0x80000000u;
constexpr uint32_t kPad1W15 = 640u;
// Second hash, its only block: the 32-byte digest, then 0x80, zeros, the length 256 bits.
constexpr uint32_t kPad2W8 = 0x80000000u;
constexpr uint32_t kPad2W15 = 256u;

constexpr uint32_t rotr(uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }
constexpr uint32_t big_sigma0(uint32_t x) noexcept { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
constexpr uint32_t big_sigma1(uint32_t x) noexcept { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
constexpr uint32_t small_sigma0(uint32_t x) noexcept { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); }
constexpr uint32_t small_sigma1(uint32_t x) noexcept { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); }
constexpr uint32_t choose(uint32_t x, uint32_t y, uint32_t z) noexcept { return (x & y) ^ (~x & z); }
constexpr uint32_t majority(uint32_t x, uint32_t y, uint32_t z) noexcept { return (x & y) ^ (x & z) ^ (y & z); }

// Round 0 of the second hash starts from the constant initial value: only W0 varies.
constexpr uint32_t kHash2T1Base = kIv[7] + big_sigma1(kIv[4]) + choose(kIv[4], kIv[5], kIv[6]) + kK[0];
constexpr uint32_t kHash2E1Base = kIv[3] + kHash2T1Base;
constexpr uint32_t kHash2A1Base = kHash2T1Base + big_sigma0(kIv[0]) + majority(kIv[0], kIv[1], kIv[2]);

/// The constants of the pipeline, copied to the stack once per scan call and hidden from the optimiser
/// (see scan_lanes): a vector kernel then adds them as broadcast memory operands instead of materialising
/// each one from an immediate through a general register, which costs a shuffle-port micro-op each time.
struct Pool {
    uint32_t k[64];
    uint32_t iv[8];
    uint32_t k4_pad1, k15_pad1, k8_pad2, k15_pad2, kw16, kw17;
    uint32_t pad1w4, pad1w15, pad2w8, pad2w15;
    uint32_t s0_pad1w15, s1_pad2w15, s0_pad2w8, s0_pad2w15;
    uint32_t h2e1, h2a1;
    ScanConstants p;
};

inline void fill_pool(Pool& P, const ScanConstants& p) noexcept {
    for (int t = 0; t < 64; ++t) P.k[t] = kK[t];
    for (int i = 0; i < 8; ++i) P.iv[i] = kIv[i];
    P.k4_pad1 = kK[4] + kPad1W4;
    P.k15_pad1 = kK[15] + kPad1W15;
    P.k8_pad2 = kK[8] + kPad2W8;
    P.k15_pad2 = kK[15] + kPad2W15;
    P.kw16 = kK[16] + p.w16;
    P.kw17 = kK[17] + p.w17;
    P.pad1w4 = kPad1W4;
    P.pad1w15 = kPad1W15;
    P.pad2w8 = kPad2W8;
    P.pad2w15 = kPad2W15;
    P.s0_pad1w15 = small_sigma0(kPad1W15);
    P.s1_pad2w15 = small_sigma1(kPad2W15);
    P.s0_pad2w8 = small_sigma0(kPad2W8);
    P.s0_pad2w15 = small_sigma0(kPad2W15);
    P.h2e1 = kHash2E1Base;
    P.h2a1 = kHash2A1Base;
    P.p = p;
}

/// The hook of a kernel that interleaves nothing with the rounds.
struct NoHook {
    template <int n>
    OTEDAMA_SCAN_INLINE void step() {}
};

/// The pipeline up to H7, over the lanes of `O` (see OpsScalar in scan_kernels.cpp for the interface).
template <class O>
struct Sha256dLanes {
    using V = typename O::V;
    /// How many schedule words ahead of the rounds to compute (EXPAND_AHEAD): O::kScheduleLookahead, or 0.
    static constexpr int kAhead = [] {
        if constexpr (requires { O::kScheduleLookahead; }) {
            static_assert(O::kScheduleLookahead >= 0 && O::kScheduleLookahead <= 8);
            return O::kScheduleLookahead;
        } else {
            return 0;
        }
    }();

    static OTEDAMA_SCAN_INLINE V k(uint32_t x) { return O::set1(x); }
    static OTEDAMA_SCAN_INLINE V add(V x, V y) { return O::add(x, y); }
    static OTEDAMA_SCAN_INLINE V S0(V x) {
        return O::xor3(O::template rotr<2>(x), O::template rotr<13>(x), O::template rotr<22>(x));
    }
    static OTEDAMA_SCAN_INLINE V S1(V x) {
        return O::xor3(O::template rotr<6>(x), O::template rotr<11>(x), O::template rotr<25>(x));
    }
    static OTEDAMA_SCAN_INLINE V s0(V x) {
        return O::xor3(O::template rotr<7>(x), O::template rotr<18>(x), O::template shr<3>(x));
    }
    static OTEDAMA_SCAN_INLINE V s1(V x) {
        return O::xor3(O::template rotr<17>(x), O::template rotr<19>(x), O::template shr<10>(x));
    }

    /// H7 + IV7 of sha256d(header with nonce), per lane; `w3` holds the nonces as big-endian words (W3).
    /// `hook.step<0>()` .. `hook.step<15>()` are called in order, about every eight rounds, so that a caller
    /// can interleave other work with the rounds (scan_avx512_shani.cpp: SHA-NI streams); NoHook does nothing.
    template <class Hook>
    static OTEDAMA_SCAN_INLINE V h7(const Pool& P, V w3, Hook& hook) {
        V w[16];  // the message schedule W[t] in w[t & 15], from W16 on

#define OTD_RND(a, b, c, d, e, f, g, h, kw)                                     \
    do {                                                                        \
        const V t1_ = add(add((h), (kw)), add(S1(e), O::ch((e), (f), (g))));    \
        (d) = add((d), t1_);                                                    \
        (h) = add(t1_, add(S0(a), O::maj((a), (b), (c))));                      \
    } while (0)
// A round of which only the new e is needed (the last rounds of the second hash: H7 comes from an e).
#define OTD_RND_E(a, b, c, d, e, f, g, h, kw) \
    (d) = add((d), add(add((h), (kw)), add(S1(e), O::ch((e), (f), (g)))))
#define R0(kw) OTD_RND(a, b, c, d, e, f, g, h, kw)
#define R1(kw) OTD_RND(h, a, b, c, d, e, f, g, kw)
#define R2(kw) OTD_RND(g, h, a, b, c, d, e, f, kw)
#define R3(kw) OTD_RND(f, g, h, a, b, c, d, e, kw)
#define R4(kw) OTD_RND(e, f, g, h, a, b, c, d, kw)
#define R5(kw) OTD_RND(d, e, f, g, h, a, b, c, kw)
#define R6(kw) OTD_RND(c, d, e, f, g, h, a, b, kw)
#define R7(kw) OTD_RND(b, c, d, e, f, g, h, a, kw)
// The schedule word of round t (16 <= t) plus its constant.
#define KW(t) add(k(P.k[t]), w[(t) & 15])
// W[t] for t >= 33 (first hash) / 32 (second hash): every input varies.
#define EXPAND(t)                                                                            \
    w[(t) & 15] = add(add(s1(w[((t) - 2) & 15]), w[((t) - 7) & 15]),                        \
                      add(s0(w[((t) - 15) & 15]), w[(t) & 15]))
// Software pipelining of the schedule: with kAhead > 0, W[t + kAhead] is computed before round t instead
// of W[t] (EXPAND_FIRST computes the first kAhead words of a run before its first round), so that the
// rotates that do not wait on the rounds' dependency chain come earlier in program order and can fill port
// 0 while the chain's own rotates wait. W[t + kAhead] overwrites W[t + kAhead - 16], whose last reader is
// round t + kAhead - 16 or W[t + kAhead] itself, so any kAhead up to 8 is safe. `last` is the last W needed.
#define EXPAND_AHEAD(t, last)                                         \
    do {                                                              \
        if constexpr (kAhead == 0) {                                  \
            EXPAND(t);                                                \
        } else if constexpr ((t) + kAhead <= (last)) {                \
            EXPAND((t) + kAhead);                                     \
        }                                                             \
    } while (0)
#define EXPAND_FIRST(first, last)                                                   \
    do {                                                                            \
        if constexpr (kAhead > 0) EXPAND(first);                                    \
        if constexpr (kAhead > 1 && (first) + 1 <= (last)) EXPAND((first) + 1);     \
        if constexpr (kAhead > 2 && (first) + 2 <= (last)) EXPAND((first) + 2);     \
        if constexpr (kAhead > 3 && (first) + 3 <= (last)) EXPAND((first) + 3);     \
        if constexpr (kAhead > 4 && (first) + 4 <= (last)) EXPAND((first) + 4);     \
        if constexpr (kAhead > 5 && (first) + 5 <= (last)) EXPAND((first) + 5);     \
        if constexpr (kAhead > 6 && (first) + 6 <= (last)) EXPAND((first) + 6);     \
        if constexpr (kAhead > 7 && (first) + 7 <= (last)) EXPAND((first) + 7);     \
    } while (0)
#define EXPAND_R(t, R, last)   \
    EXPAND_AHEAD(t, last);     \
    R(KW(t))

        // ---- First hash, second block. Rounds 0..2 are in p.state3; round 3 adds the nonce word to
        // precomputed sums. From here on, round t uses rotation (t - 3) mod 8.
        V a = k(P.p.state3[0]), b = k(P.p.state3[1]), c = k(P.p.state3[2]), d = add(k(P.p.e4_base), w3);
        V e = k(P.p.state3[4]), f = k(P.p.state3[5]), g = k(P.p.state3[6]), h = add(k(P.p.a4_base), w3);
        // Rounds 4..15: W4..W15 are padding constants.
        R1(k(P.k4_pad1));
        R2(k(P.k[5]));
        R3(k(P.k[6]));
        R4(k(P.k[7]));
        hook.template step<0>();
        R5(k(P.k[8]));
        R6(k(P.k[9]));
        R7(k(P.k[10]));
        R0(k(P.k[11]));
        R1(k(P.k[12]));
        R2(k(P.k[13]));
        R3(k(P.k[14]));
        R4(k(P.k15_pad1));
        hook.template step<1>();
        // Rounds 16..32: the schedule with its zero and constant terms dropped.
        w[0] = k(P.p.w16);
        R5(k(P.kw16));
        w[1] = k(P.p.w17);
        R6(k(P.kw17));
        w[2] = add(k(P.p.w18_part), s0(w3));
        R7(KW(18));
        w[3] = add(k(P.p.w19_part), w3);
        R0(KW(19));
        w[4] = add(s1(w[2]), k(P.pad1w4));
        R1(KW(20));
        w[5] = s1(w[3]);
        R2(KW(21));
        w[6] = add(s1(w[4]), k(P.pad1w15));
        R3(KW(22));
        hook.template step<2>();
        w[7] = add(s1(w[5]), w[0]);
        R4(KW(23));
        w[8] = add(s1(w[6]), w[1]);
        R5(KW(24));
        w[9] = add(s1(w[7]), w[2]);
        R6(KW(25));
        w[10] = add(s1(w[8]), w[3]);
        R7(KW(26));
        w[11] = add(s1(w[9]), w[4]);
        R0(KW(27));
        w[12] = add(s1(w[10]), w[5]);
        R1(KW(28));
        w[13] = add(s1(w[11]), w[6]);
        R2(KW(29));
        w[14] = add(add(s1(w[12]), w[7]), k(P.s0_pad1w15));
        R3(KW(30));
        hook.template step<3>();
        w[15] = add(add(s1(w[13]), w[8]), k(P.p.w31_part));
        R4(KW(31));
        w[0] = add(add(s1(w[14]), w[9]), k(P.p.w32_part));
        R5(KW(32));
        EXPAND_FIRST(33, 63);
        EXPAND_R(33, R6, 63);
        EXPAND_R(34, R7, 63);
        EXPAND_R(35, R0, 63);
        EXPAND_R(36, R1, 63);
        EXPAND_R(37, R2, 63);
        hook.template step<4>();
        EXPAND_R(38, R3, 63);
        EXPAND_R(39, R4, 63);
        EXPAND_R(40, R5, 63);
        EXPAND_R(41, R6, 63);
        EXPAND_R(42, R7, 63);
        EXPAND_R(43, R0, 63);
        EXPAND_R(44, R1, 63);
        EXPAND_R(45, R2, 63);
        hook.template step<5>();
        EXPAND_R(46, R3, 63);
        EXPAND_R(47, R4, 63);
        EXPAND_R(48, R5, 63);
        EXPAND_R(49, R6, 63);
        EXPAND_R(50, R7, 63);
        EXPAND_R(51, R0, 63);
        EXPAND_R(52, R1, 63);
        hook.template step<6>();
        EXPAND_R(53, R2, 63);
        EXPAND_R(54, R3, 63);
        EXPAND_R(55, R4, 63);
        EXPAND_R(56, R5, 63);
        EXPAND_R(57, R6, 63);
        EXPAND_R(58, R7, 63);
        EXPAND_R(59, R0, 63);
        EXPAND_R(60, R1, 63);
        hook.template step<7>();
        EXPAND_R(61, R2, 63);
        EXPAND_R(62, R3, 63);
        EXPAND_R(63, R4, 63);
        // 61 rounds from round 3: the names are rotated by 5, A..H = d, e, f, g, h, a, b, c.
        const V x0 = add(k(P.p.midstate[0]), d);
        const V x1 = add(k(P.p.midstate[1]), e);
        const V x2 = add(k(P.p.midstate[2]), f);
        const V x3 = add(k(P.p.midstate[3]), g);
        const V x4 = add(k(P.p.midstate[4]), h);
        const V x5 = add(k(P.p.midstate[5]), a);
        const V x6 = add(k(P.p.midstate[6]), b);
        const V x7 = add(k(P.p.midstate[7]), c);

        // ---- Second hash: W0..W7 = the first digest, W8..W15 padding. Round t uses rotation t mod 8.
        a = k(P.iv[0]);
        b = k(P.iv[1]);
        c = k(P.iv[2]);
        d = add(k(P.h2e1), x0);
        e = k(P.iv[4]);
        f = k(P.iv[5]);
        g = k(P.iv[6]);
        h = add(k(P.h2a1), x0);
        R1(add(k(P.k[1]), x1));
        R2(add(k(P.k[2]), x2));
        R3(add(k(P.k[3]), x3));
        R4(add(k(P.k[4]), x4));
        R5(add(k(P.k[5]), x5));
        R6(add(k(P.k[6]), x6));
        hook.template step<8>();
        R7(add(k(P.k[7]), x7));
        R0(k(P.k8_pad2));
        R1(k(P.k[9]));
        R2(k(P.k[10]));
        R3(k(P.k[11]));
        R4(k(P.k[12]));
        R5(k(P.k[13]));
        R6(k(P.k[14]));
        hook.template step<9>();
        R7(k(P.k15_pad2));
        w[0] = add(s0(x1), x0);
        R0(KW(16));
        w[1] = add(add(s0(x2), x1), k(P.s1_pad2w15));
        R1(KW(17));
        w[2] = add(s1(w[0]), add(s0(x3), x2));
        R2(KW(18));
        w[3] = add(s1(w[1]), add(s0(x4), x3));
        R3(KW(19));
        w[4] = add(s1(w[2]), add(s0(x5), x4));
        R4(KW(20));
        w[5] = add(s1(w[3]), add(s0(x6), x5));
        R5(KW(21));
        hook.template step<10>();
        w[6] = add(add(s1(w[4]), k(P.pad2w15)), add(s0(x7), x6));
        R6(KW(22));
        w[7] = add(add(s1(w[5]), w[0]), add(k(P.s0_pad2w8), x7));
        R7(KW(23));
        w[8] = add(add(s1(w[6]), w[1]), k(P.pad2w8));
        R0(KW(24));
        w[9] = add(s1(w[7]), w[2]);
        R1(KW(25));
        w[10] = add(s1(w[8]), w[3]);
        R2(KW(26));
        w[11] = add(s1(w[9]), w[4]);
        R3(KW(27));
        w[12] = add(s1(w[10]), w[5]);
        R4(KW(28));
        w[13] = add(s1(w[11]), w[6]);
        R5(KW(29));
        hook.template step<11>();
        w[14] = add(add(s1(w[12]), w[7]), k(P.s0_pad2w15));
        R6(KW(30));
        w[15] = add(add(s1(w[13]), w[8]), add(s0(w[0]), k(P.pad2w15)));
        R7(KW(31));
        EXPAND_FIRST(32, 60);
        EXPAND_R(32, R0, 60);
        EXPAND_R(33, R1, 60);
        EXPAND_R(34, R2, 60);
        EXPAND_R(35, R3, 60);
        EXPAND_R(36, R4, 60);
        hook.template step<12>();
        EXPAND_R(37, R5, 60);
        EXPAND_R(38, R6, 60);
        EXPAND_R(39, R7, 60);
        EXPAND_R(40, R0, 60);
        EXPAND_R(41, R1, 60);
        EXPAND_R(42, R2, 60);
        EXPAND_R(43, R3, 60);
        EXPAND_R(44, R4, 60);
        hook.template step<13>();
        EXPAND_R(45, R5, 60);
        EXPAND_R(46, R6, 60);
        EXPAND_R(47, R7, 60);
        EXPAND_R(48, R0, 60);
        EXPAND_R(49, R1, 60);
        EXPAND_R(50, R2, 60);
        EXPAND_R(51, R3, 60);
        hook.template step<14>();
        EXPAND_R(52, R4, 60);
        EXPAND_R(53, R5, 60);
        EXPAND_R(54, R6, 60);
        EXPAND_R(55, R7, 60);
        EXPAND_R(56, R0, 60);
        // Rounds 57..60: only their e. H7 = IV7 + (the e of round 60) = IV7 + the h of round 63; rounds
        // 61..63 and the a of rounds 57..60 never reach it.
        EXPAND_AHEAD(57, 60);
        OTD_RND_E(h, a, b, c, d, e, f, g, KW(57));
        EXPAND_AHEAD(58, 60);
        OTD_RND_E(g, h, a, b, c, d, e, f, KW(58));
        hook.template step<15>();
        EXPAND_AHEAD(59, 60);
        OTD_RND_E(f, g, h, a, b, c, d, e, KW(59));
        EXPAND_AHEAD(60, 60);
        OTD_RND_E(e, f, g, h, a, b, c, d, KW(60));
        return add(h, k(P.iv[7]));

#undef EXPAND_R
#undef EXPAND_FIRST
#undef EXPAND_AHEAD
#undef EXPAND
#undef KW
#undef R0
#undef R1
#undef R2
#undef R3
#undef R4
#undef R5
#undef R6
#undef R7
#undef OTD_RND_E
#undef OTD_RND
    }
};

/// The scan loop over `O::kLanes` nonces at a time; the lanes of a last, partial group past `count` are
/// computed (their nonces may wrap past 2^32 - 1) and dropped.
template <class O>
OTEDAMA_SCAN_INLINE uint32_t scan_lanes(const ScanConstants& constants, uint32_t first, uint32_t count,
                                        uint32_t* offsets) noexcept {
    using V = typename O::V;
    // A local copy: nothing stored through `offsets` can alias it. The empty asm makes its contents unknown
    // to the optimiser, which then reads the constants from it rather than rebuilding them in the loop.
    Pool pool;
    fill_pool(pool, constants);
    __asm__ volatile("" : : "r"(&pool) : "memory");
    const Pool& P = pool;
    const V target = O::set1(P.p.target_top);
    const V step = O::set1(O::kLanes);
    V nonces = O::first_nonces(first);
    uint32_t found = 0;
    for (uint32_t i = 0; i < count; i += O::kLanes) {
        NoHook hook;
        const V top = O::bswap(Sha256dLanes<O>::h7(P, O::bswap(nonces), hook));
        uint32_t mask = O::le_mask(top, target);
        if (mask != 0) [[unlikely]] {
            const uint32_t left = count - i;
            if (left < O::kLanes) mask &= (1u << left) - 1u;
            while (mask != 0) {
                offsets[found++] = i + static_cast<uint32_t>(__builtin_ctz(mask));
                mask &= mask - 1u;
            }
        }
        nonces = O::add(nonces, step);
    }
    return found;
}

}  // namespace
}  // namespace otedama::sha256d
