// Tests for lib/otedama/common/uint256.hpp.
//
// Sources of the known values:
//  - Compact nBits: Bitcoin Core src/test/arith_uint256_tests.cpp, BOOST_AUTO_TEST_CASE(bignum_SetCompact)
//    (targets there are printed with GetHex(), i.e. big-endian display hex, as below).
//  - Difficulty: Bitcoin Core src/test/blockchain_tests.cpp (GetDifficulty, compared with DoubleEquals(...,
//    0.00001)); python-bitcoinlib bitcoin/tests/test_core.py Test_CBlockHeader.test_calc_difficulty (rounded to
//    3 decimals); en.bitcoin.it/wiki/Difficulty (nBits 0x1b0404cb -> target 0x00000000000404CB000...);
//    the difficulty of 0x1b0404cb, 16307.420938523983 = 0xFFFF * 2^16 / 0x0404CB, follows from the definition;
//    block 277316's difficulty as stated in Mastering Bitcoin (ch. 8) and a reddit thread citing it.
//  - Monero: target = floor((2^256 - 1) / difficulty) (monero src/cryptonote_basic/difficulty.cpp
//    check_hash: hash * difficulty must not overflow 256 bits); the values below are hand-computed.
#include "otedama/common/uint256.hpp"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "otedama/common/hex.hpp"

namespace {

using namespace otedama::common;

Uint256 display(std::string_view hex) {
    std::string error;
    const auto v = from_display_hex(hex, &error);
    if (!v) ADD_FAILURE() << "bad test vector " << hex << ": " << error;
    return v.value_or(Uint256{});
}

Uint256 pow2(unsigned n) {
    Uint256 v{};
    v[n / 8] = static_cast<uint8_t>(1u << (n % 8));
    return v;
}

TEST(Uint256, CompareIsNumericLittleEndian) {
    Uint256 a{}, b{};
    a[0] = 0xff;   // 255
    b[31] = 0x01;  // 2^248
    EXPECT_TRUE(compare(a, b) < 0);
    EXPECT_TRUE(compare(b, a) > 0);
    EXPECT_TRUE(compare(a, a) == 0);
    EXPECT_TRUE(meets_target(a, b));
    EXPECT_TRUE(meets_target(a, a)) << "hash == target meets it";
    EXPECT_FALSE(meets_target(b, a));
    EXPECT_EQ(uint256_from_u64(0x0102030405060708ull)[0], 0x08);
    EXPECT_EQ(uint256_from_u64(0x0102030405060708ull)[7], 0x01);
}

TEST(Uint256, DisplayHexIsBigEndian) {
    const Uint256 v = display("00000000000404cb000000000000000000000000000000000000000000000000");
    EXPECT_EQ(v[31], 0x00);
    EXPECT_EQ(v[26], 0x04);
    EXPECT_EQ(v[25], 0x04);
    EXPECT_EQ(v[24], 0xcb);
    EXPECT_EQ(to_display_hex(v), "00000000000404cb000000000000000000000000000000000000000000000000");
    std::string error;
    EXPECT_FALSE(from_display_hex("1234", &error));
    EXPECT_EQ(error, "expected 64 hex digits (32 bytes), got 4");
}

TEST(Uint256, BitLengthAndDouble) {
    EXPECT_EQ(bit_length(Uint256{}), 0u);
    EXPECT_EQ(bit_length(uint256_from_u64(1)), 1u);
    EXPECT_EQ(bit_length(pow2(255)), 256u);
    EXPECT_EQ(to_double(Uint256{}), 0.0);
    EXPECT_EQ(to_double(uint256_from_u64(12345)), 12345.0);
    EXPECT_EQ(to_double(pow2(255)), std::ldexp(1.0, 255));
    EXPECT_EQ(to_double(kUint256Max), std::ldexp(1.0, 256)) << "rounds up to 2^256";
    // 2^60 + 1 is not representable: ties and non-ties round to nearest (even).
    EXPECT_EQ(to_double(uint256_from_u64((1ull << 60) + 1)), std::ldexp(1.0, 60));
    // 2^200 + 2^147 is exactly halfway between two doubles: rounds to even (2^200); one more bit far below
    // (the sticky bit) makes it round up.
    Uint256 half = pow2(200);
    half[147 / 8] |= static_cast<uint8_t>(1u << (147 % 8));
    EXPECT_EQ(to_double(half), std::ldexp(1.0, 200));
    half[0] |= 1;
    EXPECT_EQ(to_double(half), std::ldexp(1.0, 200) + std::ldexp(1.0, 148));
}

// ---------------------------------------------------------------------------------------------------------
// Compact nBits: Bitcoin Core arith_uint256_tests.cpp bignum_SetCompact.

struct CompactCase {
    uint32_t nbits;
    const char* target_display;  // GetHex()
    uint32_t recompact;          // GetCompact(negative)
    bool negative;
    bool overflow;
};
constexpr CompactCase kCompactCases[] = {
    {0x00000000, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x00123456, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x01003456, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x02000056, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x03000000, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x04000000, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x00923456, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x01803456, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x02800056, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x03800000, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x04800000, "0000000000000000000000000000000000000000000000000000000000000000", 0x00000000, false, false},
    {0x01123456, "0000000000000000000000000000000000000000000000000000000000000012", 0x01120000, false, false},
    {0x01fedcba, "000000000000000000000000000000000000000000000000000000000000007e", 0x01fe0000, true, false},
    {0x02123456, "0000000000000000000000000000000000000000000000000000000000001234", 0x02123400, false, false},
    {0x03123456, "0000000000000000000000000000000000000000000000000000000000123456", 0x03123456, false, false},
    {0x04123456, "0000000000000000000000000000000000000000000000000000000012345600", 0x04123456, false, false},
    {0x04923456, "0000000000000000000000000000000000000000000000000000000012345600", 0x04923456, true, false},
    {0x05009234, "0000000000000000000000000000000000000000000000000000000092340000", 0x05009234, false, false},
    {0x20123456, "1234560000000000000000000000000000000000000000000000000000000000", 0x20123456, false, false},
};

TEST(Compact, BitcoinCoreSetCompactCases) {
    for (const auto& c : kCompactCases) {
        SCOPED_TRACE(::testing::Message() << std::hex << "nbits 0x" << c.nbits);
        const CompactValue v = decode_compact(c.nbits);
        EXPECT_EQ(to_display_hex(v.value), c.target_display);
        EXPECT_EQ(v.negative, c.negative);
        EXPECT_EQ(v.overflow, c.overflow);
        EXPECT_EQ(encode_compact(v.value, v.negative), c.recompact);
    }
}

TEST(Compact, Overflow) {
    const CompactValue v = decode_compact(0xff123456);
    EXPECT_TRUE(v.overflow);
    EXPECT_FALSE(v.negative);
    // The overflow boundaries of SetCompact: size 34 with one mantissa byte fits, size 35 does not ...
    EXPECT_FALSE(decode_compact(0x220000ff).overflow);
    EXPECT_TRUE(decode_compact(0x230000ff).overflow);
    EXPECT_FALSE(decode_compact(0x2100ffff).overflow);
    EXPECT_TRUE(decode_compact(0x2200ffff).overflow);
    EXPECT_FALSE(decode_compact(0x207fffff).overflow);
    EXPECT_TRUE(decode_compact(0x217fffff).overflow);
    // ... and a zero mantissa never overflows.
    EXPECT_FALSE(decode_compact(0xff000000).overflow);
    EXPECT_EQ(to_display_hex(decode_compact(0x220000ff).value),
              "ff00000000000000000000000000000000000000000000000000000000000000");
}

TEST(Compact, GetCompactNeverSetsTheSignBit) {
    // arith_uint256_tests: num = 0x80 -> GetCompact() == 0x02008000.
    EXPECT_EQ(encode_compact(uint256_from_u64(0x80)), 0x02008000u);
    EXPECT_EQ(encode_compact(Uint256{}, true), 0u) << "zero is never negative";
}

TEST(Compact, KnownTargets) {
    // Genesis / difficulty 1 (en.bitcoin.it/wiki/Difficulty).
    EXPECT_EQ(to_display_hex(decode_compact(0x1d00ffff).value),
              "00000000ffff0000000000000000000000000000000000000000000000000000");
    EXPECT_EQ(decode_compact(0x1d00ffff).value, bitcoin_diff1_target());
    // The wiki's example.
    EXPECT_EQ(to_display_hex(decode_compact(0x1b0404cb).value),
              "00000000000404cb000000000000000000000000000000000000000000000000");
    EXPECT_EQ(encode_compact(bitcoin_diff1_target()), 0x1d00ffffu);
    // Litecoin genesis (mycroft/generate-genesis README).
    EXPECT_EQ(to_display_hex(decode_compact(0x1e0ffff0).value),
              "00000ffff0000000000000000000000000000000000000000000000000000000");
}

TEST(Compact, TargetFromNbitsRefusesWhatConsensusRefuses) {
    EXPECT_TRUE(target_from_nbits(0x1d00ffff));
    EXPECT_FALSE(target_from_nbits(0x04923456)) << "negative";
    EXPECT_FALSE(target_from_nbits(0xff123456)) << "overflow";
    EXPECT_FALSE(target_from_nbits(0x01003456)) << "zero";
}

TEST(Compact, EncodeKeepsTheTopThreeBytes) {
    std::mt19937_64 rng(20240501);
    for (int i = 0; i < 2000; ++i) {
        Uint256 v{};
        const unsigned top = static_cast<unsigned>(rng() % 32);
        for (unsigned b = 0; b <= top; ++b) v[b] = static_cast<uint8_t>(rng());
        const uint32_t c = encode_compact(v);
        const CompactValue back = decode_compact(c);
        ASSERT_FALSE(back.negative);
        ASSERT_FALSE(back.overflow);
        ASSERT_TRUE(compare(back.value, v) <= 0) << to_display_hex(v);
        // The same number with everything below its 2 or 3 leading bytes cleared.
        Uint256 truncated = v;
        const unsigned size = (bit_length(v) + 7) / 8;
        const unsigned keep = (c & 0x00ff0000u) == 0 && size > 0 ? 2 : 3;  // bumped exponent keeps 2 bytes
        for (unsigned b = 0; b + keep < size; ++b) truncated[b] = 0;
        ASSERT_EQ(back.value, truncated) << to_display_hex(v) << " -> " << std::hex << c;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Bitcoin family difficulty

double difficulty_of_nbits(uint32_t nbits) { return bitcoin_difficulty_from_target(decode_compact(nbits).value); }

TEST(BitcoinDifficulty, KnownValues) {
    EXPECT_EQ(difficulty_of_nbits(0x1d00ffff), 1.0);
    EXPECT_DOUBLE_EQ(difficulty_of_nbits(0x1b0404cb), 16307.420938523983);
    EXPECT_EQ(bitcoin_difficulty_from_nbits(0x1d00ffff), 1.0);
    EXPECT_DOUBLE_EQ(bitcoin_difficulty_from_nbits(0x1b0404cb), 16307.420938523983);
    // Bitcoin Core blockchain_tests.cpp (GetDifficulty): |difficulty - expected| < 0.00001. Three of these nBits
    // (mantissa 0xf88f6f) have the sign bit set: GetDifficulty reads all 24 mantissa bits, SetCompact would not.
    EXPECT_NEAR(bitcoin_difficulty_from_nbits(0x1f111111), 0.000001, 0.00001);
    EXPECT_NEAR(bitcoin_difficulty_from_nbits(0x1ef88f6f), 0.000016, 0.00001);
    EXPECT_NEAR(bitcoin_difficulty_from_nbits(0x1df88f6f), 0.004023, 0.00001);
    EXPECT_NEAR(bitcoin_difficulty_from_nbits(0x1cf88f6f), 1.029916, 0.00001);
    EXPECT_NEAR(bitcoin_difficulty_from_nbits(0x12345678), 5913134931067755359633408.0, 0.00001);
    EXPECT_EQ(bitcoin_difficulty_from_nbits(0x1d000000), std::numeric_limits<double>::infinity());
    // Block 277316 (Mastering Bitcoin ch. 8): nBits 0x1903a30c, difficulty stated as 1,180,923,195.26.
    EXPECT_NEAR(difficulty_of_nbits(0x1903a30c), 1180923195.26, 0.005);
    // For valid nBits both routes agree.
    for (const uint32_t nbits : {0x1d00ffffu, 0x1b0404cbu, 0x1f111111u, 0x12345678u, 0x1903a30cu, 0x181bc330u}) {
        EXPECT_DOUBLE_EQ(bitcoin_difficulty_from_nbits(nbits), difficulty_of_nbits(nbits)) << std::hex << nbits;
    }
    // python-bitcoinlib test_calc_difficulty, rounded to 3 decimals.
    const std::pair<uint32_t, double> rounded[] = {{0x1d00d86a, 1.183},       {0x1c00ba18, 352.161},
                                                   {0x1b02fa29, 22012.381},   {0x1a04e0ea, 3438908.960},
                                                   {0x1972dbf2, 37392766.136}};
    for (const auto& [nbits, expected] : rounded) {
        EXPECT_NEAR(difficulty_of_nbits(nbits), expected, 0.0005 + 1e-9) << std::hex << nbits;
    }
}

TEST(BitcoinDifficulty, TargetsOfExactDifficulties) {
    EXPECT_EQ(bitcoin_target_from_difficulty(1.0), bitcoin_diff1_target());
    EXPECT_EQ(to_display_hex(*bitcoin_target_from_difficulty(2.0)),
              "000000007fff8000000000000000000000000000000000000000000000000000");
    EXPECT_EQ(to_display_hex(*bitcoin_target_from_difficulty(0.5)),
              "00000001fffe0000000000000000000000000000000000000000000000000000");
    EXPECT_EQ(bitcoin_target_from_difficulty(65535.0), pow2(208)) << "0xFFFF * 2^208 / 0xFFFF";
    // diff1 / 3 = 0x5555 * 2^208 exactly.
    EXPECT_EQ(to_display_hex(*bitcoin_target_from_difficulty(3.0)),
              "0000000055550000000000000000000000000000000000000000000000000000");
    // Not exact: floor(0xFFFF * 2^208 / 7) = 0x24922492...492 (computed with Python integers).
    EXPECT_EQ(to_display_hex(*bitcoin_target_from_difficulty(7.0)),
              "0000000024922492492492492492492492492492492492492492492492492492");
    // The wiki's nBits 0x1b0404cb target is reached from its difficulty within rounding of the double.
    const Uint256 wiki = decode_compact(0x1b0404cb).value;
    const Uint256 t = *bitcoin_target_from_difficulty(16307.420938523983);
    EXPECT_NEAR(to_double(t) / to_double(wiki), 1.0, 1e-15);
}

TEST(BitcoinDifficulty, RoundTripsFrom1e_9To1e15) {
    for (double d = 1e-9; d <= 1e15; d *= 1.7) {
        const auto t = bitcoin_target_from_difficulty(d);
        ASSERT_TRUE(t) << d;
        const double back = bitcoin_difficulty_from_target(*t);
        // A target has >= 170 significant bits over this range: only the double conversions round.
        EXPECT_NEAR(back / d, 1.0, 1e-15) << d;
        // Exactness: t <= diff1 / d < t + 1, checked as t * d <= diff1 in doubles with their error bound.
        EXPECT_LE(to_double(*t) * d, to_double(bitcoin_diff1_target()) * (1 + 1e-15)) << d;
    }
    for (const double d : {1e-9, 1e-6, 0.001, 1.0, 1000.0, 1e6, 1e9, 1e12, 1e15}) {
        EXPECT_NEAR(bitcoin_difficulty_from_target(*bitcoin_target_from_difficulty(d)) / d, 1.0, 1e-15) << d;
    }
}

TEST(BitcoinDifficulty, ExtremesSaturateOrReachZero) {
    // diff1 * 2^32 = 0xFFFF * 2^240 still fits; diff1 * 2^33 does not: saturates at 2^256 - 1.
    EXPECT_EQ(to_display_hex(*bitcoin_target_from_difficulty(std::ldexp(1.0, -32))),
              "ffff000000000000000000000000000000000000000000000000000000000000");
    EXPECT_EQ(bitcoin_target_from_difficulty(std::ldexp(1.0, -33)), kUint256Max);
    EXPECT_EQ(bitcoin_target_from_difficulty(1e-300), kUint256Max);
    EXPECT_EQ(bitcoin_target_from_difficulty(std::numeric_limits<double>::denorm_min()), kUint256Max);
    // Above 0xFFFF * 2^208 no hash but 0 meets the target.
    EXPECT_EQ(bitcoin_target_from_difficulty(1e80), Uint256{});
    EXPECT_EQ(bitcoin_target_from_difficulty(std::numeric_limits<double>::max()), Uint256{});
}

TEST(BitcoinDifficulty, RefusesNonPositiveAndNonFinite) {
    EXPECT_FALSE(bitcoin_target_from_difficulty(0.0));
    EXPECT_FALSE(bitcoin_target_from_difficulty(-0.0));
    EXPECT_FALSE(bitcoin_target_from_difficulty(-1.0));
    EXPECT_FALSE(bitcoin_target_from_difficulty(std::numeric_limits<double>::quiet_NaN()));
    EXPECT_FALSE(bitcoin_target_from_difficulty(std::numeric_limits<double>::infinity()));
    EXPECT_EQ(bitcoin_difficulty_from_target(Uint256{}), std::numeric_limits<double>::infinity());
}

TEST(BitcoinDifficulty, OfAHash) {
    // The genesis block hash (display) reaches 0xFFFF * 2^208 / hash = 2536.4262984453103 (computed locally).
    const Uint256 genesis = display("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
    EXPECT_NEAR(bitcoin_difficulty_from_target(genesis), 2536.4262984453103, 1e-9);
}

// ---------------------------------------------------------------------------------------------------------
// Monero family

TEST(MoneroDifficulty, ExactIntegers) {
    EXPECT_EQ(monero_target_from_difficulty_exact(1), kUint256Max);
    EXPECT_EQ(to_display_hex(*monero_target_from_difficulty_exact(2)),
              "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    EXPECT_EQ(to_display_hex(*monero_target_from_difficulty_exact(3)),
              "5555555555555555555555555555555555555555555555555555555555555555");
    EXPECT_EQ(to_display_hex(*monero_target_from_difficulty_exact(1ull << 32)),
              "00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    EXPECT_FALSE(monero_target_from_difficulty_exact(0));
}

TEST(MoneroDifficulty, BoundaryMatchesCheckHash) {
    // check_hash(hash, d) accepts when hash * d <= 2^256 - 1. For d = 3 the largest such hash is 0x5555...55:
    // 0x5555...55 * 3 = 0xFFFF...FF, while 0x5555...56 * 3 = 2^256 + 2 overflows.
    const Uint256 t = *monero_target_from_difficulty_exact(3);
    Uint256 above = t;
    above[0] = 0x56;
    EXPECT_TRUE(meets_target(t, t));
    EXPECT_FALSE(meets_target(above, t));
}

TEST(MoneroDifficulty, DoubleAgreesWithExactForIntegers) {
    for (const uint64_t d : {1ull, 2ull, 3ull, 1000ull, 120000ull, 300000000000ull, (1ull << 53) - 1}) {
        EXPECT_EQ(monero_target_from_difficulty(static_cast<double>(d)), monero_target_from_difficulty_exact(d)) << d;
        EXPECT_NEAR(monero_difficulty_from_target(*monero_target_from_difficulty_exact(d)) / static_cast<double>(d), 1.0,
                    1e-15);
    }
    EXPECT_EQ(monero_target_from_difficulty(0.5), kUint256Max) << "saturates";
    EXPECT_FALSE(monero_target_from_difficulty(0.0));
    EXPECT_FALSE(monero_target_from_difficulty(std::numeric_limits<double>::quiet_NaN()));
    EXPECT_EQ(monero_difficulty_from_target(Uint256{}), std::numeric_limits<double>::infinity());
}

}  // namespace

// Bitcoin Core src/test/pow_tests.cpp (CalculateNextWorkRequired with mainnet params, commit
// 01a06a19ac701a19b01de51e2b2f0e452e819a8b): first block time of the period, last block time, last nBits,
// expected next nBits. Public test vectors of the reference implementation.
TEST(BitcoinRetarget, BitcoinCorePowTests) {
    struct Case {
        int64_t first_time, last_time;
        uint32_t last_bits, next_bits;
        const char* what;
    };
    const Case cases[] = {
        {1261130161, 1262152739, 0x1d00ffff, 0x1d00d86a, "get_next_work"},
        {1231006505, 1233061996, 0x1d00ffff, 0x1d00ffff, "pow limit clamp"},
        {1279008237, 1279297671, 0x1c05a3f4, 0x1c0168fd, "timespan lower clamp (x1/4)"},
        {1263163443, 1269211443, 0x1c387f6f, 0x1d00e1fd, "timespan upper clamp (x4)"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(bitcoin_next_work_required(c.last_bits, c.first_time, c.last_time, bitcoin_pow_limit()), c.next_bits) << c.what;
    }
}

TEST(BitcoinRetarget, PowLimitIsTheMainnetValue) {
    EXPECT_EQ(to_display_hex(bitcoin_pow_limit()), "00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
}
