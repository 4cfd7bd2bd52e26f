#include "light_cache_chooser.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/sdk/plugin.hpp>

#include <chrono>
#include <cstring>
#include <span>

namespace otedama::ethash {

std::shared_ptr<const LightCache> LightCacheChooser::choose(const Variant& variant, uint64_t height, const uint8_t* seed,
                                                            size_t seed_size, bool test_epoch, const LightCacheSource& source,
                                                            const std::string& where, const Log& log) {
    const uint64_t epoch = epoch_of(variant, height);
    if (epoch > kMaxEpoch) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where + ": height " + std::to_string(height) + " is past the last " + variant.name + " epoch");
    }
    // The work's seed must be the epoch's (a template from the wrong chain or a height off by an epoch).
    if (seed != nullptr && seed_size == 32 && !source) {
        const Hash256 expected = epoch_seed(variant, epoch);
        if (std::memcmp(seed, expected.data(), 32) != 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, where + ": the work's seed " + common::to_hex(std::span<const uint8_t>(seed, 32)) +
                                                      " is not the seed of " + variant.name + " epoch " + std::to_string(epoch) +
                                                      " (height " + std::to_string(height) + "): " + common::to_hex(expected));
        }
    }
    std::shared_ptr<const LightCache> cache;
    if (source) {
        cache = source(variant, epoch);
    } else if (test_epoch) {
        // A test network's epoch of test geometry: the epoch's seed, tiny sizes.
        if (last_cache_ && last_cache_test_ && last_cache_->seed() == epoch_seed(variant, epoch)) {
            cache = last_cache_;
        } else {
            last_cache_.reset();
            cache = std::make_shared<const LightCache>(test_epoch_cache(variant, epoch));
            last_cache_ = cache;
            last_cache_variant_ = &variant;
            last_cache_test_ = true;
            log(where + ": " + variant.name + " epoch " + std::to_string(epoch) + " with the TEST geometry (" +
                std::to_string(cache->item_count()) + " cache items, " + std::to_string(cache->dataset_bytes()) + " dataset bytes)");
        }
    } else if (last_cache_ && !last_cache_test_ && last_cache_variant_ != nullptr && last_cache_->epoch() == epoch &&
               epoch_seed(*last_cache_variant_, epoch) == epoch_seed(variant, epoch)) {
        cache = last_cache_;
    } else {
        const auto t0 = std::chrono::steady_clock::now();
        last_cache_.reset();  // one epoch's cache at a time
        cache = std::make_shared<const LightCache>(variant, epoch);
        last_cache_ = cache;
        last_cache_variant_ = &variant;
        last_cache_test_ = false;
        log(where + ": " + variant.name + " epoch " + std::to_string(epoch) + " light cache (" + std::to_string(cache->bytes() >> 20) +
            " MiB) built on the CPU in " +
            std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()).substr(0, 5) + " s");
    }
    if (!cache) throw sdk::Error(OTD_ERR_STATE, where + ": no light cache for " + std::string(variant.name) + " epoch " + std::to_string(epoch));
    return cache;
}

std::string dataset_key(uint32_t parents, const LightCache& cache) {
    return std::to_string(parents) + ":" + common::to_hex(cache.seed()) + ":" + std::to_string(cache.item_count()) + ":" +
           std::to_string(cache.dataset_bytes());
}

}  // namespace otedama::ethash
