// Hashrate of the opencl backend's Ethash-family kernels (ethash, kawpow) through the backend's own scan loop
// (Device::run) on a dataset of chosen size grown from a synthetic light cache (a full epoch-0 DAG is 1 GiB,
// minutes to generate on PoCL), next to the CPU reference hashing the same dataset on one thread
// (lib/otedama/ethash hashimoto_full_batch, the kawpow core's hash_full): the CPU backend's per-thread
// inner loop. Median of 1 s samples after a warm-up. Not a test.
//
//   bench_opencl_ethash [--algo ethash|kawpow] [--dag-mib N] [--seconds N] [--warmup N] [--intensity N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <otedama/ethash/ethash.hpp>

#include "cl_device.hpp"
#include "cl_runtime.hpp"
#include "kawpow.hpp"
#include "plugin_harness.hpp"
#include "progpow.hpp"

namespace th = otedama::testing;
namespace ocl = otedama::opencl_backend;
namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

namespace {

otd_status_t OTD_CALL ignore_found(void*, const otd_found_t*) { return OTD_OK; }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::string algo = "ethash";
    int seconds = 8, warmup = 2;
    uint32_t intensity = 0;
    uint64_t dag_mib = 16;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--algo") algo = v;
        else if (k == "--seconds") seconds = std::atoi(v.c_str());
        else if (k == "--warmup") warmup = std::atoi(v.c_str());
        else if (k == "--intensity") intensity = static_cast<uint32_t>(std::atoi(v.c_str()));
        else if (k == "--dag-mib") dag_mib = static_cast<uint64_t>(std::atoll(v.c_str()));
        else {
            std::fprintf(stderr, "bench_opencl_ethash: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if ((algo != "ethash" && algo != "kawpow") || seconds < 1 || dag_mib < 1) {
        std::fprintf(stderr, "bench_opencl_ethash: --algo ethash|kawpow, --seconds >= 1, --dag-mib >= 1\n");
        return 2;
    }
    std::vector<std::string> notes;
    const std::vector<ocl::DeviceDesc> devices = ocl::enumerate_devices(notes);
    if (devices.empty()) {
        std::printf("bench_opencl_ethash: no OpenCL device; nothing to measure\n");
        return 0;
    }
    th::FakeHost host;
    // A light cache of 1/64 of the dataset (as real epochs: 16 MiB for 1 GiB), item count odd.
    const uint64_t dataset_bytes = dag_mib << 20;
    const auto cache_items = static_cast<uint32_t>((dataset_bytes / 64 / 64) | 1);
    eth::Hash256 seed{};
    seed[0] = 0x42;
    const auto cache = std::make_shared<const eth::LightCache>(seed, cache_items, dataset_bytes);
    const bool kawpow = algo == "kawpow";
    const eth::Variant& variant = kawpow ? eth::kKawpow : eth::kEthash;

    th::CreateResult kawpow_plugin;
    if (kawpow) {
        kawpow_plugin = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, host);
        if (!kawpow_plugin.ok()) {
            std::fprintf(stderr, "bench_opencl_ethash: %s\n", kawpow_plugin.describe().c_str());
            return 1;
        }
    }
    ocl::Runtime runtime(otedama::sdk::Host(host.table()), devices[0]);
    ocl::Settings settings;
    settings.light_cache_source = [&](const eth::Variant&, uint64_t) { return cache; };
    settings.program_cache_dir = "";
    ocl::Device device(otedama::sdk::Host(host.table()), runtime, intensity, settings);

    uint8_t blob[40] = {};
    for (int i = 0; i < 32; ++i) blob[i] = static_cast<uint8_t>(i * 29 + 3);
    otd_work_unit_t w{};
    w.struct_size = sizeof w;
    w.algorithm = algo.c_str();
    w.blob = blob;
    w.blob_size = 40;
    w.nonce_offset = 32;
    w.nonce_size = 8;
    w.height = 3000;
    w.on_found = &ignore_found;
    if (kawpow) {
        w.algorithm_plugin = kawpow_plugin.instance.plugin();
        w.algorithm_table = &kawpow_plugin.instance.table<otd_algorithm_t>();
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
    std::printf("%s: %llu MiB dataset (%u cache items) generated on %s in %.2f s (DAG %.2f s), %.0f items/s\n", algo.c_str(),
                static_cast<unsigned long long>(dag_mib), cache_items, devices[0].id.c_str(), setup,
                device.dataset()->generation_seconds(), static_cast<double>(device.dataset()->items()) / device.dataset()->generation_seconds());
    for (int s = 0; s < warmup + seconds; ++s) {
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
        if (s >= warmup) samples.push_back(rate);
    }
    std::printf("%s opencl %s: median %.0f H/s (min %.0f, max %.0f) over %d s\n", algo.c_str(), devices[0].id.c_str(), median(samples),
                *std::min_element(samples.begin(), samples.end()), *std::max_element(samples.begin(), samples.end()), seconds);

    // The CPU reference on the same dataset, one thread.
    const eth::FullDataset full(cache, variant, 0);
    const kp::LightEpoch light(cache, eth::best_impl());
    const kp::Program program = kp::generate_program(w.height / 3);
    eth::Hash256 header{};
    std::memcpy(header.data(), blob, 32);
    std::vector<double> cpu;
    volatile uint8_t sink = 0;
    for (int s = 0; s < warmup + seconds; ++s) {
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
        if (s >= warmup) cpu.push_back(rate);
    }
    std::printf("%s cpu (%s, 1 thread): median %.0f H/s (min %.0f, max %.0f) over %d s\n", algo.c_str(), eth::impl_name(eth::best_impl()),
                median(cpu), *std::min_element(cpu.begin(), cpu.end()), *std::max_element(cpu.begin(), cpu.end()), seconds);
    return 0;
}
