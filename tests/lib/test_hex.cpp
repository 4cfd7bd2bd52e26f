// Tests for lib/otedama/common/hex.hpp.
#include "otedama/common/hex.hpp"

#include <gtest/gtest.h>

namespace {

using namespace otedama::common;

TEST(Hex, EncodesLowercaseByteZeroFirst) {
    const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    EXPECT_EQ(to_hex(bytes), "0001abff7f");
    EXPECT_EQ(to_hex({}), "");
}

TEST(Hex, DecodesBothCases) {
    const auto v = from_hex("00FFaB10");
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, (std::vector<uint8_t>{0x00, 0xff, 0xab, 0x10}));
}

TEST(Hex, EmptyDecodesToNothing) {
    const auto v = from_hex("");
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->empty());
}

TEST(Hex, RoundTripsEveryByte) {
    std::vector<uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
    EXPECT_EQ(from_hex(to_hex(all)), all);
}

TEST(Hex, RefusesOddLength) {
    std::string error;
    EXPECT_FALSE(from_hex("abc", &error));
    EXPECT_EQ(error, "odd number of hex digits (3)");
    EXPECT_FALSE(from_hex("a"));  // no error pointer: still refused, no crash
}

TEST(Hex, RefusesNonHexNamingThePosition) {
    std::string error;
    EXPECT_FALSE(from_hex("00g1", &error));
    EXPECT_EQ(error, "non-hex character 'g' at position 2");
    EXPECT_FALSE(from_hex("0x12", &error));  // no prefix
    EXPECT_EQ(error, "non-hex character 'x' at position 1");
    EXPECT_FALSE(from_hex("12 34", &error));
    EXPECT_EQ(error, "non-hex character ' ' at position 2");
    EXPECT_FALSE(from_hex(std::string_view("12\n4", 4), &error));
    EXPECT_EQ(error, "non-hex character \\x0a at position 2");
    EXPECT_FALSE(from_hex(std::string_view("\0\0", 2), &error));
    EXPECT_EQ(error, "non-hex character \\x00 at position 0");
    // A bad character is reported even when the length is odd too (the more specific mistake).
    EXPECT_FALSE(from_hex("12z", &error));
    EXPECT_EQ(error, "non-hex character 'z' at position 2");
}

TEST(Hex, FixedSizeDecodingChecksLength) {
    std::string error;
    EXPECT_FALSE(from_hex_array<4>("001122", &error));
    EXPECT_EQ(error, "expected 8 hex digits (4 bytes), got 6");
    const auto v = from_hex_array<4>("00112233");
    ASSERT_TRUE(v);
    EXPECT_EQ((*v)[3], 0x33);

    std::array<uint8_t, 2> out{0xee, 0xee};
    EXPECT_FALSE(from_hex_into("zz11", out, &error));
    EXPECT_EQ(out[0], 0xee) << "left unchanged on failure";
    EXPECT_TRUE(from_hex_into("a1b2", out));
    EXPECT_EQ(out[0], 0xa1);
    EXPECT_EQ(out[1], 0xb2);
}

TEST(Hex, Reversal) {
    std::vector<uint8_t> v{1, 2, 3, 4, 5};
    EXPECT_EQ(reversed(v), (std::vector<uint8_t>{5, 4, 3, 2, 1}));
    reverse_bytes(v);
    EXPECT_EQ(v, (std::vector<uint8_t>{5, 4, 3, 2, 1}));
    std::vector<uint8_t> empty;
    reverse_bytes(empty);
    EXPECT_TRUE(reversed(empty).empty());
}

TEST(Hex, Strip0xDropsOnlyALeadingPrefix) {
    EXPECT_EQ(strip_0x("0xab"), "ab");
    EXPECT_EQ(strip_0x("0Xab"), "ab");
    EXPECT_EQ(strip_0x("ab"), "ab");
    EXPECT_EQ(strip_0x("0x"), "");
    EXPECT_EQ(strip_0x("0"), "0");
    EXPECT_EQ(strip_0x("x0ab"), "x0ab");
    EXPECT_EQ(strip_0x("00xab"), "00xab");
    static_assert(strip_0x("0x1f") == "1f");
}

}  // namespace
