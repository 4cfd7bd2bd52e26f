// Hashrate of the opencl backend's Ethash-family kernels (ethash, kawpow) through the backend's own scan loop
// (Device::run) on a dataset of chosen size grown from a synthetic light cache, next to the CPU reference on
// the same dataset (one thread). The driver is benchmarks/common/ethash_bench.hpp. Not a test.
//
//   bench_opencl_ethash [--algo ethash|kawpow] [--dag-mib N] [--seconds N] [--warmup N] [--intensity N]
#include "../common/ethash_bench.hpp"

#include "cl_device.hpp"
#include "cl_runtime.hpp"

namespace th = otedama::testing;
namespace ocl = otedama::opencl_backend;
namespace eth = otedama::ethash;

int main(int argc, char** argv) {
    otedama::bench::EthashBenchOptions o;
    if (const auto rc = otedama::bench::parse_ethash_bench_options("bench_opencl_ethash", argc, argv, o)) return *rc;
    std::vector<std::string> notes;
    const std::vector<ocl::DeviceDesc> devices = ocl::enumerate_devices(notes);
    if (devices.empty()) {
        std::printf("bench_opencl_ethash: no OpenCL device; nothing to measure\n");
        return 0;
    }
    th::FakeHost host;
    const auto cache = otedama::bench::synthetic_light_cache(o.dag_mib);
    th::CreateResult kawpow_plugin;
    if (o.kawpow()) {
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
    ocl::Device device(otedama::sdk::Host(host.table()), runtime, o.intensity, settings);
    return otedama::bench::measure_ethash_bench("bench_opencl_ethash", "opencl", devices[0].id, device, o, cache, &kawpow_plugin);
}
