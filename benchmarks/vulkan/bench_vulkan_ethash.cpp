// Hashrate of the vulkan backend's Ethash-family shaders (ethash, kawpow) through the backend's own scan loop
// (Device::run) on a dataset of chosen size grown from a synthetic light cache, next to the CPU reference on
// the same dataset (one thread). The driver is benchmarks/common/ethash_bench.hpp (as bench_opencl_ethash's);
// bench_vulkan measures sha256d and scrypt through the plugin ABI. Not a test.
//
//   bench_vulkan_ethash [--algo ethash|kawpow] [--dag-mib N] [--seconds N] [--warmup N] [--intensity N]
#include "../common/ethash_bench.hpp"

#include "vk_device.hpp"
#include "vk_runtime.hpp"

namespace th = otedama::testing;
namespace vk = otedama::vulkan_backend;
namespace eth = otedama::ethash;

int main(int argc, char** argv) {
    otedama::bench::EthashBenchOptions o;
    if (const auto rc = otedama::bench::parse_ethash_bench_options("bench_vulkan_ethash", argc, argv, o)) return *rc;
    std::vector<std::string> notes;
    const vk::Instance instance(notes);
    if (instance.devices().empty()) {
        std::printf("bench_vulkan_ethash: no Vulkan device; nothing to measure\n");
        return 0;
    }
    if (o.kawpow() && !vk::have_glsl_compiler()) {
        std::printf("bench_vulkan_ethash: this build has no libshaderc: kawpow is not offered on Vulkan\n");
        return 0;
    }
    th::FakeHost host;
    const auto cache = otedama::bench::synthetic_light_cache(o.dag_mib);
    th::CreateResult kawpow_plugin;
    if (o.kawpow()) {
        kawpow_plugin = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, host);
        if (!kawpow_plugin.ok()) {
            std::fprintf(stderr, "bench_vulkan_ethash: %s\n", kawpow_plugin.describe().c_str());
            return 1;
        }
    }
    vk::Runtime runtime(otedama::sdk::Host(host.table()), instance.devices()[0]);
    vk::Settings settings;
    settings.light_cache_source = [&](const eth::Variant&, uint64_t) { return cache; };
    settings.program_cache_dir = "";
    vk::Device device(otedama::sdk::Host(host.table()), runtime, o.intensity, settings);
    return otedama::bench::measure_ethash_bench("bench_vulkan_ethash", "vulkan", instance.devices()[0].id, device, o, cache, &kawpow_plugin);
}
