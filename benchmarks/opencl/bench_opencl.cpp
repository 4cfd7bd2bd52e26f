// Hashrate of the opencl backend's kernels through the plugin ABI, the way `otedama-host bench` measures
// the CPU backend: mine an impossible target for --seconds after --warmup, one sample per second, print the
// median (and min/max) in H/s. Not a test: `meson test --benchmark opencl-mine` runs it.
//
//   bench_opencl [--algo sha256d|scrypt] [--seconds N] [--warmup N] [--intensity N] [--device I]
//                [--settings JSON]   (the plugin's settings, e.g. {"kernel_dir":"...","launch_ms":100})
#include "../common/backend_bench.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    using otedama::bench::BackendRun;
    return otedama::bench::run_backend_bench(
        {"bench_opencl", OTEDAMA_OPENCL_PLUGIN, "org.otedama.backend.opencl",
         [](const otedama::testing::FakeHost&) {
             std::printf("bench_opencl: no OpenCL device; nothing to measure\n");
             return 0;
         },
         [](const std::string& algo) -> uint64_t { return algo == "scrypt" ? (1u << 14) : (1u << 24); },  // the host's scan chunk is 2^24
         [](const BackendRun& run) {
             char text[64];
             std::snprintf(text, sizeof text, "first hashes after %.1f s (kernel build)", run.first_s);
             return std::string(text);
         }},
        argc, argv);
}
