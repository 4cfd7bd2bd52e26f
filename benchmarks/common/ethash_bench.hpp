// The hashrate of a GPU backend's Ethash-family kernels (ethash, kawpow) through the backend's own scan loop
// (its Device::run) on a dataset of chosen size grown from a synthetic light cache (a full epoch-0 DAG is
// 1 GiB, minutes to generate on PoCL or lavapipe), next to the CPU reference hashing the same dataset on one
// thread (lib/otedama/ethash hashimoto_full_batch, the kawpow core's hash_full): the CPU backend's
// per-thread inner loop. Median of 1 s samples after a warm-up. Shared by bench_opencl_ethash and
// bench_vulkan_ethash, which differ only in how they open their device.
//
//   NAME [--algo ethash|kawpow] [--dag-mib N] [--seconds N] [--warmup N] [--intensity N]
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <otedama/ethash/ethash.hpp>

#include "kawpow.hpp"
#include "plugin_harness.hpp"
#include "progpow.hpp"

namespace otedama::bench {

struct EthashBenchOptions {
    std::string algo = "ethash";
    int seconds = 8;
    int warmup = 2;
    uint32_t intensity = 0;
    uint64_t dag_mib = 16;
    [[nodiscard]] bool kawpow() const { return algo == "kawpow"; }
};

/// The options, or the exit code when they are wrong (the message printed).
inline std::optional<int> parse_ethash_bench_options(const char* name, int argc, char** argv, EthashBenchOptions& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--algo") o.algo = v;
        else if (k == "--seconds") o.seconds = std::atoi(v.c_str());
        else if (k == "--warmup") o.warmup = std::atoi(v.c_str());
        else if (k == "--intensity") o.intensity = static_cast<uint32_t>(std::atoi(v.c_str()));
        else if (k == "--dag-mib") o.dag_mib = static_cast<uint64_t>(std::atoll(v.c_str()));
        else {
            std::fprintf(stderr, "%s: unknown option %s\n", name, k.c_str());
            return 2;
        }
    }
    if ((o.algo != "ethash" && o.algo != "kawpow") || o.seconds < 1 || o.dag_mib < 1) {
        std::fprintf(stderr, "%s: --algo ethash|kawpow, --seconds >= 1, --dag-mib >= 1\n", name);
        return 2;
    }
    return std::nullopt;
}

/// A light cache of 1/64 of the dataset (as real epochs: 16 MiB for 1 GiB), item count odd.
inline std::shared_ptr<const ethash::LightCache> synthetic_light_cache(uint64_t dag_mib) {
    const uint64_t dataset_bytes = dag_mib << 20;
    const auto cache_items = static_cast<uint32_t>((dataset_bytes / 64 / 64) | 1);
    ethash::Hash256 seed{};
    seed[0] = 0x42;
    return std::make_shared<const ethash::LightCache>(seed, cache_items, dataset_bytes);
}

/// Measures `device` (anything with run(lane, work, hashes_done) and dataset()->generation_seconds(), items())
/// and then the CPU reference on the same dataset. `backend` ("opencl", "vulkan") and `device_id` label the
/// lines. `kawpow_plugin` is the kawpow algorithm plugin's instance (kawpow only: its period source).
template <class Device>
int measure_ethash_bench(const char* name, const char* backend, const std::string& device_id, Device& device,
                         const EthashBenchOptions& o, const std::shared_ptr<const ethash::LightCache>& cache,
                         const testing::CreateResult* kawpow_plugin) {
    namespace eth = otedama::ethash;
    namespace kp = otedama::kawpow;
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    };
    struct Ignore {
        static otd_status_t OTD_CALL found(void*, const otd_found_t*) { return OTD_OK; }
    };
    const bool kawpow = o.kawpow();
    uint8_t blob[40] = {};
    for (int i = 0; i < 32; ++i) blob[i] = static_cast<uint8_t>(i * 29 + 3);
    otd_work_unit_t w{};
    w.struct_size = sizeof w;
    w.algorithm = o.algo.c_str();
    w.blob = blob;
    w.blob_size = 40;
    w.nonce_offset = 32;
    w.nonce_size = 8;
    w.height = 3000;
    w.on_found = &Ignore::found;
    if (kawpow && kawpow_plugin != nullptr) {
        w.algorithm_plugin = kawpow_plugin->instance.plugin();
        w.algorithm_table = &kawpow_plugin->instance.table<otd_algorithm_t>();
    }
    // share_target all zero: nothing qualifies (a raw hash of zero aside).

    const auto t0 = std::chrono::steady_clock::now();
    uint64_t nonce = 0;
    std::vector<double> samples;
    uint64_t done = 0;
    w.nonce_start = nonce;
    w.nonce_count = 1;
    if (device.run(0, w, done) != OTD_OK) return 1;  // DAG + build
    const double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %s: %llu MiB dataset (%u cache items) generated on %s in %.2f s (DAG %.2f s), %.0f items/s\n", name, o.algo.c_str(),
                static_cast<unsigned long long>(o.dag_mib), cache->item_count(), device_id.c_str(), setup,
                device.dataset()->generation_seconds(),
                static_cast<double>(device.dataset()->items()) / device.dataset()->generation_seconds());
    for (int s = 0; s < o.warmup + o.seconds; ++s) {
        const auto start = std::chrono::steady_clock::now();
        uint64_t hashes = 0;
        while (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
            w.nonce_start = nonce;
            w.nonce_count = kawpow ? 4096 : 16384;
            done = 0;
            if (device.run(0, w, done) != OTD_OK) return 1;
            nonce += done;
            hashes += done;
        }
        const double rate = static_cast<double>(hashes) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (s >= o.warmup) samples.push_back(rate);
    }
    std::printf("%s %s %s: median %.0f H/s (min %.0f, max %.0f) over %d s\n", o.algo.c_str(), backend, device_id.c_str(), median(samples),
                *std::min_element(samples.begin(), samples.end()), *std::max_element(samples.begin(), samples.end()), o.seconds);

    // The CPU reference on the same dataset, one thread.
    const eth::FullDataset full(cache, kawpow ? eth::kKawpow : eth::kEthash, 0);
    const kp::LightEpoch light(cache, eth::best_impl());
    const kp::Program program = kp::generate_program(w.height / 3);
    eth::Hash256 header{};
    std::memcpy(header.data(), blob, 32);
    std::vector<double> cpu;
    volatile uint8_t sink = 0;
    for (int s = 0; s < o.warmup + o.seconds; ++s) {
        const auto start = std::chrono::steady_clock::now();
        uint64_t hashes = 0;
        while (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
            if (kawpow) {
                for (int i = 0; i < 16; ++i) sink = sink ^ kp::hash_full(full.items(), full.item_count(), light.l1(), program, header, nonce++).mix[0];
                hashes += 16;
            } else {
                eth::HashInput in[eth::kMaxBatch];
                eth::HashResult out[eth::kMaxBatch];
                for (int r = 0; r < 64; ++r) {
                    for (auto& i : in) i = eth::HashInput{header, nonce++};
                    eth::hashimoto_full_batch(full, in, out, eth::best_impl());
                    sink = sink ^ out[0].mix[0];
                }
                hashes += 64 * eth::kMaxBatch;
            }
        }
        const double rate = static_cast<double>(hashes) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (s >= o.warmup) cpu.push_back(rate);
    }
    std::printf("%s cpu (%s, 1 thread): median %.0f H/s (min %.0f, max %.0f) over %d s\n", o.algo.c_str(), eth::impl_name(eth::best_impl()),
                median(cpu), *std::min_element(cpu.begin(), cpu.end()), *std::max_element(cpu.begin(), cpu.end()), o.seconds);
    return 0;
}

}  // namespace otedama::bench
