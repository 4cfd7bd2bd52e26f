// The light cache a GPU backend's Ethash-family device generates its DAG from (OpenCL, Vulkan, CUDA):
// the work's epoch (past kMaxEpoch refused), the work's seed checked against the epoch's, a test network's
// epoch of test geometry (OTD_WORK_TEST_EPOCH, work.h: test_epoch_cache), the last cache reused while the
// epoch stays, and a real epoch's cache built on the CPU. Each backend keeps its own DAG on the device.
#pragma once

#include <otedama/ethash/ethash.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace otedama::ethash {

/// Where a device gets the light cache of a variant's epoch instead (tests: caches of explicit, tiny geometry).
using LightCacheSource = std::function<std::shared_ptr<const LightCache>(const Variant& variant, uint64_t epoch)>;

/// One device's light caches: it holds the last one it built (one epoch's cache at a time). Not thread-safe
/// (one per device, used by the device's mining thread).
class LightCacheChooser {
public:
    using Log = std::function<void(const std::string& line)>;

    /// The cache for work at `height` with the work's `seed` (checked when seed_size is 32 and no `source` is
    /// set). `source` (may be empty) replaces the default caches. `where` prefixes messages; `log` gets the
    /// informational lines (a cache built). @throws sdk::Error OTD_ERR_INVALID_ARG for a height past the last
    /// epoch or a seed that is not the epoch's, OTD_ERR_STATE when `source` gives no cache.
    std::shared_ptr<const LightCache> choose(const Variant& variant, uint64_t height, const uint8_t* seed, size_t seed_size,
                                             bool test_epoch, const LightCacheSource& source, const std::string& where,
                                             const Log& log);

private:
    std::shared_ptr<const LightCache> last_cache_;  // the default source's last cache
    const Variant* last_cache_variant_ = nullptr;
    bool last_cache_test_ = false;  // last_cache_ has the test geometry (OTD_WORK_TEST_EPOCH)
};

/// The identity of the DAG a cache defines with `parents` parents per item: a device regenerates its DAG when it
/// changes ("parents:seed-hex:cache-items:dataset-bytes").
[[nodiscard]] std::string dataset_key(uint32_t parents, const LightCache& cache);

}  // namespace otedama::ethash
