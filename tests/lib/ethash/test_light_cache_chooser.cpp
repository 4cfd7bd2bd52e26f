// LightCacheChooser (lib/otedama/ethash/light_cache_chooser.hpp): the light cache the GPU backends (OpenCL,
// Vulkan, CUDA) generate their DAGs from. Only test-geometry and explicit caches here (no real epoch's cache):
// the backends' own tests run the real path. The seeds are epoch_seed's, whose known answers are in
// test_ethash.cpp.
#include "otedama/ethash/light_cache_chooser.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/sdk/plugin.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace ethash = otedama::ethash;

struct Chooser {
    ethash::LightCacheChooser chooser;
    std::vector<std::string> lines;
    std::shared_ptr<const ethash::LightCache> choose(const ethash::Variant& v, uint64_t height, const uint8_t* seed, size_t seed_size,
                                                     bool test_epoch, const ethash::LightCacheSource& source = {}) {
        return chooser.choose(v, height, seed, seed_size, test_epoch, source, "dev0",
                              [this](const std::string& line) { lines.push_back(line); });
    }
};

otd_status_t status_of(const std::function<void()>& f, std::string* message) {
    try {
        f();
    } catch (const otedama::sdk::Error& e) {
        *message = e.what();
        return e.status();
    }
    return OTD_OK;
}

TEST(LightCacheChooser, TestEpochGeometryIsBuiltOnceAndReused) {
    Chooser c;
    const ethash::Hash256 seed = ethash::epoch_seed(ethash::kKawpow, 3);
    const auto a = c.choose(ethash::kKawpow, 3 * 7500 + 5, seed.data(), seed.size(), true);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->seed(), seed);
    EXPECT_EQ(a->item_count(), ethash::kTestEpochCacheItems);
    EXPECT_EQ(a->dataset_bytes(), ethash::kTestEpochDatasetBytes);
    ASSERT_EQ(c.lines.size(), 1U);
    EXPECT_EQ(c.lines[0], "dev0: kawpow epoch 3 with the TEST geometry (1031 cache items, 262912 dataset bytes)");
    const auto b = c.choose(ethash::kKawpow, 3 * 7500 + 6, nullptr, 0, true);
    EXPECT_EQ(a, b) << "the same epoch's cache is reused";
    EXPECT_EQ(c.lines.size(), 1U);
    const auto d = c.choose(ethash::kKawpow, 4 * 7500, nullptr, 0, true);
    EXPECT_NE(d, a);
    EXPECT_EQ(d->seed(), ethash::epoch_seed(ethash::kKawpow, 4));
    EXPECT_EQ(c.lines.size(), 2U);
    // The key: parents, seed, cache items, dataset bytes.
    EXPECT_EQ(ethash::dataset_key(512, *d), "512:" + otedama::common::to_hex(d->seed()) + ":1031:262912");
}

TEST(LightCacheChooser, RefusesAHeightPastTheLastEpochAndAWrongSeed) {
    Chooser c;
    std::string message;
    EXPECT_EQ(status_of([&] { (void)c.choose(ethash::kEthash, (ethash::kMaxEpoch + 1) * 30000, nullptr, 0, true); }, &message),
              OTD_ERR_INVALID_ARG);
    EXPECT_EQ(message, "dev0: height " + std::to_string((ethash::kMaxEpoch + 1) * 30000) + " is past the last ethash epoch");
    const ethash::Hash256 wrong = ethash::epoch_seed(ethash::kEthash, 2);
    EXPECT_EQ(status_of([&] { (void)c.choose(ethash::kEthash, 30000, wrong.data(), wrong.size(), true); }, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("is not the seed of ethash epoch 1 (height 30000): " + otedama::common::to_hex(ethash::epoch_seed(ethash::kEthash, 1))),
              std::string::npos)
        << message;
    EXPECT_TRUE(c.lines.empty());
}

TEST(LightCacheChooser, ASourceReplacesTheDefaultCachesAndTheSeedCheck) {
    Chooser c;
    std::vector<uint64_t> asked;
    const auto tiny = std::make_shared<const ethash::LightCache>(ethash::epoch_seed(ethash::kEtchash, 0), 61, 128 * 7);
    const ethash::LightCacheSource source = [&](const ethash::Variant& v, uint64_t epoch) -> std::shared_ptr<const ethash::LightCache> {
        EXPECT_EQ(&v, &ethash::kEtchash);
        asked.push_back(epoch);
        return epoch == 5 ? nullptr : tiny;
    };
    const ethash::Hash256 other = ethash::epoch_seed(ethash::kEtchash, 9);
    EXPECT_EQ(c.choose(ethash::kEtchash, 60000 * 2, other.data(), other.size(), false, source), tiny) << "no seed check with a source";
    std::string message;
    EXPECT_EQ(status_of([&] { (void)c.choose(ethash::kEtchash, 60000 * 5, nullptr, 0, false, source); }, &message), OTD_ERR_STATE);
    EXPECT_EQ(message, "dev0: no light cache for etchash epoch 5");
    EXPECT_EQ(asked, (std::vector<uint64_t>{2, 5}));
    EXPECT_TRUE(c.lines.empty());
}

}  // namespace
