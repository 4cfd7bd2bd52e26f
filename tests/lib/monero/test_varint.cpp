// Tests for lib/otedama/monero/varint: Monero's varint (monero-project/monero src/common/varint.h).
// Known encodings are LEB128's; the refusals mirror read_varint's EVARINT_OVERFLOW and EVARINT_REPRESENT.
// The values 16 and 1795241707 appear in the recorded monerod template (tests/lib/monero/monero_fixtures.hpp):
// its blob starts 10 10 eb ed 84 d8 06 (major 16, minor 16, timestamp 1795241707).
#include "otedama/common/hex.hpp"
#include "otedama/monero/varint.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

namespace monero = otedama::monero;
namespace common = otedama::common;

std::vector<uint8_t> hex(const char* h) { return common::from_hex(h).value(); }

TEST(MoneroVarint, KnownEncodings) {
    const struct {
        uint64_t value;
        const char* encoding;
    } cases[] = {
        {0, "00"},
        {1, "01"},
        {16, "10"},
        {127, "7f"},
        {128, "8001"},
        {300, "ac02"},
        {16383, "ff7f"},
        {16384, "808001"},
        {1795241707, "ebed84d806"},
        {35184338534400, "808080f0ffff07"},  // the height-1 coinbase amount in the fixture
        {std::numeric_limits<uint64_t>::max(), "ffffffffffffffffff01"},
    };
    for (const auto& c : cases) {
        std::vector<uint8_t> out;
        monero::write_varint(c.value, out);
        EXPECT_EQ(common::to_hex(out), c.encoding) << c.value;
        EXPECT_EQ(monero::varint_size(c.value), out.size()) << c.value;
        std::size_t pos = 0;
        const auto back = monero::read_varint(out, pos);
        ASSERT_TRUE(back) << c.value;
        EXPECT_EQ(*back, c.value);
        EXPECT_EQ(pos, out.size());
    }
}

TEST(MoneroVarint, ReadsFromAnOffsetAndAdvances) {
    const auto bytes = hex("1010ebed84d806ff");
    std::size_t pos = 0;
    EXPECT_EQ(monero::read_varint(bytes, pos), 16u);
    EXPECT_EQ(monero::read_varint(bytes, pos), 16u);
    EXPECT_EQ(monero::read_varint(bytes, pos), 1795241707u);
    EXPECT_EQ(pos, 7u);
}

TEST(MoneroVarint, RefusesWhatMoneroRefuses) {
    const struct {
        const char* bytes;
        const char* message;
    } cases[] = {
        {"", "truncated varint at offset 0"},
        {"80", "truncated varint at offset 0"},
        {"ffff", "truncated varint at offset 0"},
        {"8000", "non-canonical varint at offset 0 (trailing zero byte)"},
        {"ff00", "non-canonical varint at offset 0 (trailing zero byte)"},
        {"ffffffffffffffffff02", "varint at offset 0 does not fit in 64 bits"},
        {"ffffffffffffffffff81", "varint at offset 0 does not fit in 64 bits"},
        {"ffffffffffffffffffff01", "varint at offset 0 does not fit in 64 bits"},
    };
    for (const auto& c : cases) {
        const auto bytes = hex(c.bytes);
        std::size_t pos = 0;
        std::string error;
        EXPECT_FALSE(monero::read_varint(bytes, pos, &error)) << c.bytes;
        EXPECT_EQ(error, c.message) << c.bytes;
        EXPECT_EQ(pos, 0u) << "a failed read leaves the position alone";
    }
    // The offset in the message is the varint's own.
    const auto bytes = hex("0580");
    std::size_t pos = 1;
    std::string error;
    EXPECT_FALSE(monero::read_varint(bytes, pos, &error));
    EXPECT_EQ(error, "truncated varint at offset 1");
}

TEST(MoneroVarint, RoundTripsRandomValues) {
    std::mt19937_64 rng(20260101);
    for (int i = 0; i < 10000; ++i) {
        const uint64_t v = rng() >> (rng() % 64);
        std::vector<uint8_t> out;
        monero::write_varint(v, out);
        std::size_t pos = 0;
        ASSERT_EQ(monero::read_varint(out, pos), v);
    }
}

}  // namespace
