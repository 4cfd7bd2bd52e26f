// Tests for lib/otedama/monero/seed.hpp: Monero's RandomX seed heights.
// Vectors: the project's pow-vectors.json "monero_randomx_seed" entry (formula from monero-project/monero
// src/crypto/rx-slow-hash.c at commit 01ccb8b1; the examples were derived from that formula), and the recorded
// monerod templates (seed_height 0 at heights 1 and 123, tests/lib/monero/monero_fixtures.hpp).
#include "otedama/monero/seed.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace {

namespace monero = otedama::monero;

static_assert(monero::seed_height(1) == 0);
static_assert(monero::seed_height(2113) == 2048);

TEST(MoneroSeed, HeightsFromTheFormula) {
    const struct {
        uint64_t height, seed, next;
    } cases[] = {
        {1, 0, 0},
        {123, 0, 0},
        {2112, 0, 2048},
        {2113, 2048, 2048},
        {4160, 2048, 4096},
        {4161, 4096, 4096},
        {1978432, 1976320, 1978368},
        {1978433, 1978368, 1978368},  // mainnet's first RandomX block
        {3000000, 2998272, 2998272},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(monero::seed_height(c.height), c.seed) << c.height;
        EXPECT_EQ(monero::next_seed_height(c.height), c.next) << c.height;
    }
}

TEST(MoneroSeed, EpochsAreAlignedAndLagged) {
    for (uint64_t h = 0; h < 20000; ++h) {
        const uint64_t s = monero::seed_height(h);
        ASSERT_EQ(s % monero::kSeedHashEpochBlocks, 0u) << h;
        ASSERT_LT(s, h > 0 ? h : 1) << h;
        // The next key is known kSeedHashEpochLag blocks before it is used.
        ASSERT_EQ(monero::next_seed_height(h), monero::seed_height(h + monero::kSeedHashEpochLag)) << h;
        // A switch happens exactly at seed + 2048 + 64 + 1 heights.
        const bool switches = monero::is_seed_switch(h);
        ASSERT_EQ(switches, h > monero::kSeedHashEpochBlocks + monero::kSeedHashEpochLag &&
                                (h - monero::kSeedHashEpochLag - 1) % monero::kSeedHashEpochBlocks == 0)
            << h;
    }
    EXPECT_FALSE(monero::is_seed_switch(0));
}

TEST(MoneroSeed, NoWrapAroundNearTheTop) {
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    EXPECT_EQ(monero::seed_height(kMax), (kMax - 64 - 1) & ~uint64_t{2047});
    EXPECT_EQ(monero::next_seed_height(kMax), monero::seed_height(kMax));
    EXPECT_GE(monero::next_seed_height(kMax - 10), monero::seed_height(kMax - 10));
}

}  // namespace
