// Tests for plugins/algorithm/kawpow/progpow.{hpp,cpp}: the ProgPoW 0.9.4 primitives, the per-period
// program and the Keccak-f[800] steps of KawPow (no DAG needed here; the hashes are in test_kawpow.cpp).
//
// Vectors, copied from the project's pow-vectors.json with its citations:
//  - "progpow_primitives": ifdefelse/ProgPOW test-vectors.md (fnv1a, kiss99, fill_mix, merge, math,
//    progPowInit). These apply unchanged to KawPow (Ravencoin's progpow.cpp keeps the primitives).
//  - "kawpow": RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp (HEAD 6d48ae01), identical
//    in RavenCommunity/cpp-kawpow test/unittests/progpow_test_vectors.hpp: header, nonce, mix, final hash.
//    The final Keccak-f[800] step depends only on hash_init(header, nonce) and the mix, so the two Keccak
//    steps are checked here against every vector without any DAG.
#include "progpow.hpp"

#include <otedama/common/hex.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace kp = otedama::kawpow;
namespace common = otedama::common;

kp::Hash256 h256(const char* hex) { return common::from_hex_array<32>(hex).value(); }
std::string hex(const kp::Hash256& h) { return common::to_hex(h); }

TEST(ProgpowPrimitives, Fnv1a) {
    // test-vectors.md "fnv1a": each step feeds the next.
    uint32_t h = 0x811C9DC5u;
    EXPECT_EQ(kp::fnv1a(h, 0xDDD0A47Bu), 0xD37EE61Au);
    EXPECT_EQ(kp::fnv1a(h, 0xEE304846u), 0xDEDC7AD4u);
    EXPECT_EQ(kp::fnv1a(h, 0x00000000u), 0xA9155BBCu);
    EXPECT_EQ(h, 0xA9155BBCu);
}

TEST(ProgpowPrimitives, Kiss99) {
    // test-vectors.md "kiss99": Marsaglia's published seed; results after 1..4 and 100000 calls.
    kp::Kiss99 rng{362436069u, 521288629u, 123456789u, 380116160u};
    EXPECT_EQ(rng(), 769445856u);
    EXPECT_EQ(rng(), 742012328u);
    EXPECT_EQ(rng(), 2121196314u);
    EXPECT_EQ(rng(), 2805620942u);
    uint32_t last = 0;
    for (int i = 5; i <= 100000; ++i) last = rng();
    EXPECT_EQ(last, 941074834u);
}

TEST(ProgpowPrimitives, FillMix) {
    // test-vectors.md "fill_mix": seed 0xEE304846DDD0A47B, lanes 0 and 13.
    const uint32_t lane0[32] = {0x10C02F0D, 0x99891C9E, 0xC59649A0, 0x43F0394D, 0x24D2BAE4, 0xC4E89D4C, 0x398AD25C,
                                0xF5C0E467, 0x7A3302D6, 0xE6245C6C, 0x760726D3, 0x1F322EE7, 0x85405811, 0xC2F1E765,
                                0xA0EB7045, 0xDA39E821, 0x79FC6A48, 0x089E401F, 0x8488779F, 0xD79E414F, 0x041A826B,
                                0x313C0D79, 0x10125A3C, 0x3F4BDFAC, 0xA7352F36, 0x7E70CB54, 0x3B0BB37D, 0x74A3E24A,
                                0xCC37236A, 0xA442B311, 0x955AB27A, 0x6D175B7E};
    const uint32_t lane13[32] = {0x4E46D05D, 0x2E77E734, 0x2C479399, 0x70712177, 0xA75D7FF5, 0xBEF18D17, 0x8D42252E,
                                 0x35B4FA0E, 0x462C850A, 0x2DD2B5D5, 0x5F32B5EC, 0xED5D9EED, 0xF9E2685E, 0x1F29DC8E,
                                 0xA78F098B, 0x86A8687B, 0xEA7A10E7, 0xBE732B9D, 0x4EEBCB60, 0x94DD7D97, 0x39A425E9,
                                 0xC0E782BF, 0xBA7B870F, 0x4823FF60, 0xF97A5A1C, 0xB00BCAF4, 0x02D0F8C4, 0x28399214,
                                 0xB4CCB32D, 0x83A09132, 0x27EA8279, 0x3837DDA3};
    uint32_t mix[32];
    kp::fill_mix(0xDDD0A47Bu, 0xEE304846u, 0, mix);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(mix[i], lane0[i]) << "lane 0 reg " << i;
    kp::fill_mix(0xDDD0A47Bu, 0xEE304846u, 13, mix);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(mix[i], lane13[i]) << "lane 13 reg " << i;
}

struct Abr {
    uint32_t a, b, r, result;
    const char* what;
};

TEST(ProgpowPrimitives, Merge) {
    // test-vectors.md "merge": a, b, r -> result.
    const Abr cases[] = {
        {0x3B0BB37Du, 0xA0212004u, 0x9BD26AB0u, 0x3CA34321u, "mul/add"},
        {0x10C02F0Du, 0x870FA227u, 0xD4F45515u, 0x91C1326Au, "xor/mul"},
        {0x24D2BAE4u, 0x0FFB4C9Bu, 0x7FDBC2F2u, 0x2EDDD94Cu, "rotl/xor"},
        {0xDA39E821u, 0x089C4008u, 0x8B6CD8C3u, 0x8A81E396u, "rotr/xor"},
    };
    for (const Abr& c : cases) {
        EXPECT_EQ(kp::merge(c.a, c.b, c.r), c.result) << c.what;
        EXPECT_STREQ(kp::merge_op_name(kp::Merge::decode(c.r).op), c.what);
    }
    // The rotation is ((r >> 16) % 31) + 1: never 0, at most 31.
    EXPECT_EQ(kp::Merge::decode(0x001E0002u).rotation, 31u);
    EXPECT_EQ(kp::Merge::decode(0x001F0002u).rotation, 1u);
}

TEST(ProgpowPrimitives, Math) {
    // test-vectors.md "math": a, b, r -> result.
    const Abr cases[] = {
        {0x8626BB1Fu, 0xBBDFBC4Eu, 0x883E5B49u, 0x4206776Du, "add"},
        {0x3F4BDFACu, 0xD79E414Fu, 0x36B71236u, 0x4C5CB214u, "mul"},
        {0x6D175B7Eu, 0xC4E89D4Cu, 0x944ECABBu, 0x53E9023Fu, "mul_hi"},
        {0x2EDDD94Cu, 0x7E70CB54u, 0x3F472A85u, 0x2EDDD94Cu, "min"},
        {0x61AE0E62u, 0xe0596b32u, 0x3F472A85u, 0x61AE0E62u, "min"},  // unsigned comparison
        {0x8A81E396u, 0x3F4BDFACu, 0xCEC46E67u, 0x1E3968A8u, "rotl"},
        {0x8A81E396u, 0x7E70CB54u, 0xDBE71FF7u, 0x1E3968A8u, "rotr"},
        {0xA7352F36u, 0xA0EB7045u, 0x59E7B9D8u, 0xA0212004u, "and"},
        {0xC89805AFu, 0x64291E2Fu, 0x1BDC84A9u, 0xECB91FAFu, "or"},
        {0x760726D3u, 0x79FC6A48u, 0xC675CAC5u, 0x0FFB4C9Bu, "xor"},
        {0x75551D43u, 0x3383BA34u, 0x2863AD31u, 0x00000003u, "clz"},
        {0xEA260841u, 0xE92C44B7u, 0xF83FFE7Du, 0x0000001Bu, "popcount"},
    };
    for (const Abr& c : cases) {
        EXPECT_EQ(kp::math(c.a, c.b, c.r), c.result) << c.what;
        EXPECT_STREQ(kp::math_op_name(static_cast<kp::MathOp>(c.r % 11)), c.what);
    }
    // Edge cases the spec fixes: clz(0) = 32, rotations by multiples of 32 are the identity.
    EXPECT_EQ(kp::apply_math(kp::MathOp::kClz, 0, 0), 64u);
    EXPECT_EQ(kp::apply_math(kp::MathOp::kRotl, 0x12345678u, 32), 0x12345678u);
    EXPECT_EQ(kp::apply_math(kp::MathOp::kRotr, 0x12345678u, 64), 0x12345678u);
    EXPECT_EQ(kp::apply_math(kp::MathOp::kRotl, 0x80000001u, 33), 0x00000003u);
}

TEST(ProgpowProgram, ProgPowInitKnownAnswer) {
    // test-vectors.md "progPowInit": block 30000 with the 0.9.2 period 50, i.e. prog_seed 600 (the shuffle
    // and the generator do not depend on the period length, so this is the KawPow program of period 600).
    const kp::Program p = kp::generate_program(600);
    const std::vector<uint8_t> src = {0x1A, 0x1E, 0x01, 0x13, 0x0B, 0x15, 0x0F, 0x12, 0x03, 0x11, 0x1F,
                                      0x10, 0x1C, 0x04, 0x16, 0x17, 0x02, 0x0D, 0x1D, 0x18, 0x0A, 0x0C,
                                      0x05, 0x14, 0x07, 0x08, 0x0E, 0x1B, 0x06, 0x19, 0x09, 0x00};
    const std::vector<uint8_t> dst = {0x00, 0x04, 0x1B, 0x1A, 0x0D, 0x0F, 0x11, 0x07, 0x0E, 0x08, 0x09,
                                      0x0C, 0x03, 0x0A, 0x01, 0x0B, 0x06, 0x10, 0x1C, 0x1F, 0x02, 0x13,
                                      0x1E, 0x16, 0x1D, 0x05, 0x18, 0x12, 0x19, 0x17, 0x15, 0x14};
    EXPECT_EQ(std::vector<uint8_t>(p.src_seq.begin(), p.src_seq.end()), src);
    EXPECT_EQ(std::vector<uint8_t>(p.dst_seq.begin(), p.dst_seq.end()), dst);
    EXPECT_EQ(p.rng_after_init.z, 0x6535921Cu);
    EXPECT_EQ(p.rng_after_init.w, 0x29345B16u);
    EXPECT_EQ(p.rng_after_init.jsr, 0xC0DD7F78u);
    EXPECT_EQ(p.rng_after_init.jcong, 0x1165D7EBu);
}

TEST(ProgpowProgram, ShapeAndDeterminism) {
    for (const uint64_t period : {uint64_t{0}, uint64_t{1}, uint64_t{16}, uint64_t{600}, uint64_t{10000},
                                  uint64_t{0x123456789abcdefULL}}) {
        SCOPED_TRACE(period);
        const kp::Program p = kp::generate_program(period);
        EXPECT_EQ(p, kp::generate_program(period));
        EXPECT_EQ(p.period, period);
        // Cache and math interleave as the spec's loop does: C M C M ... (11 pairs) then M x 7.
        size_t cache = 0, math = 0;
        std::vector<uint8_t> dsts;
        std::set<uint8_t> cache_srcs;
        for (size_t i = 0; i < p.ops.size(); ++i) {
            const kp::Op& op = p.ops[i];
            const bool want_cache = i < 2 * kp::kCntCache && i % 2 == 0;
            EXPECT_EQ(op.kind == kp::Op::Kind::kCache, want_cache) << i;
            if (op.kind == kp::Op::Kind::kCache) {
                ++cache;
                cache_srcs.insert(op.src1);
            } else {
                ++math;
                EXPECT_NE(op.src1, op.src2);
                EXPECT_LT(op.src2, kp::kRegs);
                EXPECT_EQ(op.math, static_cast<kp::MathOp>(op.math_sel % 11));
            }
            EXPECT_EQ(op.merge, kp::Merge::decode(op.merge_sel));
            dsts.push_back(op.dst);
        }
        EXPECT_EQ(cache, kp::kCntCache);
        EXPECT_EQ(math, kp::kCntMath);
        EXPECT_EQ(cache_srcs.size(), kp::kCntCache) << "no cache read from the same register twice";
        EXPECT_EQ(p.dag_merges[0].dst, 0u);
        for (size_t i = 1; i < kp::kDagLoads; ++i) dsts.push_back(p.dag_merges[i].dst);
        std::sort(dsts.begin(), dsts.end());
        for (uint32_t r = 0; r < kp::kRegs; ++r) EXPECT_EQ(dsts[r], r) << "every register merged exactly once";
    }
    EXPECT_NE(kp::generate_program(1), kp::generate_program(2));
}

TEST(ProgpowProgram, CacheReturnsTheSameProgramPerPeriod) {
    kp::ProgramCache cache;
    const auto a = cache.get(7);
    EXPECT_EQ(*a, kp::generate_program(7));
    EXPECT_EQ(cache.get(7), a) << "cached";
    for (uint64_t p = 100; p < 120; ++p) EXPECT_EQ(cache.get(p)->period, p);
    EXPECT_EQ(*cache.get(7), *a) << "evicted and regenerated: same program";
}

// ---------------------------------------------------------------------------------------------------------
// Keccak-f[800] steps against the Ravencoin vectors (mix and final hash as published).

struct KawpowVector {
    uint64_t height;
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
};
// RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp (see the top of this file).
constexpr KawpowVector kVectors[] = {
    {0, "0000000000000000000000000000000000000000000000000000000000000000", 0x0000000000000000ULL,
     "6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a",
     "e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1"},
    {49, "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b", 0x0000000007073c07ULL,
     "d36f7e815ee09e74eceb9c96993a3d681edf2bf0921fc7bb710364042db99777",
     "e7ced124598fd2500a55ad9f9f48e3569327fe50493c77a4ac9799b96efb9463"},
    {50, "9e7248f20914913a73d80a70174c331b1d34f260535ac3631d770e656b5dd922", 0x00000000076e482eULL,
     "d6dc634ae837e2785b347648ea515e25e5d8821ae0b95e1c2a9c2d497e0dcfbd",
     "ab0ad7ef8d8ee317dd12d10310aceed7321d34fb263791c2de5776a6658d177e"},
    {99, "de37e1824c86d35d154cf65a88de6d9286aec4f7f10c3fc9f0fa1bcc2687188d", 0x000000003917afabULL,
     "fa706860e5e0e830d5d1d7157e5bea7f5f8a350c7c8612ac1d1fcf2974d64244",
     "aa85340690f2e907054324a5021937910e15edfd1ef1577231843e7d32ec3a61"},
    {29950, "ac7b55e801511b77e11d52e9599206101550144525b5679f2dab19386f23dcce", 0x005d409dbc23a62aULL,
     "5359807b77a74878269c3a3044df8618a576ce8dc52e1c48d927d4a60e7c6b79",
     "022019e5408683f7f8326b4e46b42864a3a069f17b6151e434fcaedecaadd918"},
    {29999, "e43d7e0bdc8a4a3f6e291a5ed790b9fa1a0948a2b9e33c844888690847de19f5", 0x005db5fa4c2a3d03ULL,
     "d15de3f9bfedd9b6d0f498273eb3b437115bdc8326c96c6457ac06deb5c9f389",
     "4e93630b81198752f876b24380999189b7b9366c08222ac05e4237b87114f305"},
    {30000, "d34519f72c97cae8892c277776259db3320820cb5279a299d0ef1e155e5c6454", 0x005db8607994ff30ULL,
     "de0348b69bf91dfe2c3d3dba6f0132e9048a5284e57b8d9d20adc5f3dc0d3236",
     "c7953d848cda6e304f77b4c6d735645c8e8508a5e74c9e9814ef37b19087cd6c"},
    {30049, "8b6ce5da0b06d18db7bd8492d9e5717f8b53e7e098d9fef7886d58a6e913ef64", 0x005e2e215a8ca2e7ULL,
     "975c6a9decc89cba7ace69338d4de8510d9619aef42b1d35d0bef7e0ce0614a9",
     "c262d8055e288d04b951a844bfca8ba529f5b4d652b408e3942727d7dd90957a"},
};

TEST(KawpowKeccak, FinalHashFromPublishedMix) {
    for (const KawpowVector& v : kVectors) {
        SCOPED_TRACE(v.height);
        const auto init = kp::initial_keccak(h256(v.header), v.nonce);
        EXPECT_EQ(hex(kp::final_keccak(init, h256(v.mix))), v.final_hash);
    }
}

TEST(KawpowKeccak, EveryInputWordMatters) {
    const kp::Hash256 header = h256(kVectors[1].header);
    const auto base = kp::initial_keccak(header, kVectors[1].nonce);
    EXPECT_NE(kp::initial_keccak(header, kVectors[1].nonce ^ (uint64_t{1} << 40)), base) << "nonce high word";
    EXPECT_NE(kp::initial_keccak(header, kVectors[1].nonce ^ 1u), base) << "nonce low word";
    kp::Hash256 h2 = header;
    h2[31] ^= 1;
    EXPECT_NE(kp::initial_keccak(h2, kVectors[1].nonce), base);
    kp::Hash256 mix = h256(kVectors[1].mix);
    const auto f = kp::final_keccak(base, mix);
    mix[0] ^= 0x80;
    EXPECT_NE(kp::final_keccak(base, mix), f);
}

TEST(KawpowLoop, InterpreterMatchesTheSpecWording) {
    // The register-major, per-op interpreter against a literal transcription of the spec's progPowLoop
    // (lane-major mix, progPowInit re-run, kiss99 drawn inline) on arbitrary state.
    const uint64_t period = 1234567;
    const kp::Program program = kp::generate_program(period);
    kp::L1Cache l1;
    kp::Kiss99 fill{1, 2, 3, 4};
    for (auto& w : l1.words) w = fill();
    uint32_t entry[kp::kEntryWords];
    for (auto& w : entry) w = fill();

    uint32_t spec[kp::kLanes][kp::kRegs];
    kp::Mix mix;
    for (uint32_t l = 0; l < kp::kLanes; ++l) {
        for (uint32_t r = 0; r < kp::kRegs; ++r) spec[l][r] = mix.r[r][l] = fill();
    }
    for (uint32_t loop = 0; loop < 3; ++loop) {
        kp::run_loop(program, loop, mix, entry, l1);

        // --- the spec, transcribed ---
        uint32_t dag_entry[kp::kLanes][kp::kDagLoads];
        for (uint32_t l = 0; l < kp::kLanes; ++l) {
            for (uint32_t i = 0; i < kp::kDagLoads; ++i) dag_entry[l][i] = entry[((l ^ loop) % kp::kLanes) * kp::kDagLoads + i];
        }
        uint32_t h = 0x811c9dc5u;
        kp::Kiss99 rnd;
        rnd.z = kp::fnv1a(h, static_cast<uint32_t>(period));
        rnd.w = kp::fnv1a(h, static_cast<uint32_t>(period >> 32));
        rnd.jsr = kp::fnv1a(h, static_cast<uint32_t>(period));
        rnd.jcong = kp::fnv1a(h, static_cast<uint32_t>(period >> 32));
        int dst_seq[32], src_seq[32];
        for (int i = 0; i < 32; ++i) dst_seq[i] = src_seq[i] = i;
        for (int i = 31; i > 0; --i) {
            std::swap(dst_seq[i], dst_seq[rnd() % (i + 1)]);
            std::swap(src_seq[i], src_seq[rnd() % (i + 1)]);
        }
        int dst_cnt = 0, src_cnt = 0;
        for (int i = 0; i < 18; ++i) {
            if (i < 11) {
                const int src = src_seq[(src_cnt++) % 32];
                const int dst = dst_seq[(dst_cnt++) % 32];
                const uint32_t sel = rnd();
                for (uint32_t l = 0; l < kp::kLanes; ++l) {
                    spec[l][dst] = kp::merge(spec[l][dst], l1.words[spec[l][src] % 4096], sel);
                }
            }
            if (i < 18) {
                const uint32_t src_rnd = rnd() % (32 * 31);
                const uint32_t src1 = src_rnd % 32;
                uint32_t src2 = src_rnd / 32;
                if (src2 >= src1) ++src2;
                const uint32_t sel1 = rnd();
                const int dst = dst_seq[(dst_cnt++) % 32];
                const uint32_t sel2 = rnd();
                for (uint32_t l = 0; l < kp::kLanes; ++l) {
                    spec[l][dst] = kp::merge(spec[l][dst], kp::math(spec[l][src1], spec[l][src2], sel1), sel2);
                }
            }
        }
        for (int i = 0; i < 4; ++i) {
            const int dst = i == 0 ? 0 : dst_seq[(dst_cnt++) % 32];
            const uint32_t sel = rnd();
            for (uint32_t l = 0; l < kp::kLanes; ++l) spec[l][dst] = kp::merge(spec[l][dst], dag_entry[l][i], sel);
        }
        // ---
        for (uint32_t l = 0; l < kp::kLanes; ++l) {
            for (uint32_t r = 0; r < kp::kRegs; ++r) ASSERT_EQ(mix.r[r][l], spec[l][r]) << "loop " << loop << " lane " << l << " reg " << r;
        }
    }
}

TEST(KawpowLoop, DagEntryIndexComesFromLaneLoopModLanes) {
    kp::Mix mix{};
    for (uint32_t l = 0; l < kp::kLanes; ++l) mix.r[0][l] = 1000 + l;
    EXPECT_EQ(kp::dag_entry_index(mix, 0, 1u << 20), 1000u);
    EXPECT_EQ(kp::dag_entry_index(mix, 17, 1u << 20), 1001u);
    EXPECT_EQ(kp::dag_entry_index(mix, 5, 1000), 5u);
}

}  // namespace
