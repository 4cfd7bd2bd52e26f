// Hashrate of the vulkan backend's shaders through the plugin ABI, the way `otedama-host bench` measures
// the CPU backend: mine an impossible target for --seconds after --warmup, one sample per second, print the
// median (and min/max) in H/s. Not a test: `meson test --benchmark vulkan-mine` runs it.
//
//   bench_vulkan [--algo sha256d|scrypt] [--seconds N] [--warmup N] [--intensity N] [--device I]
//                [--settings JSON]   (the plugin's settings, e.g. {"spirv_dir":"...","launch_ms":100})
#include "../common/backend_bench.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    using otedama::bench::BackendRun;
    return otedama::bench::run_backend_bench(
        {"bench_vulkan", OTEDAMA_VULKAN_PLUGIN, "org.otedama.backend.vulkan",
         [](const otedama::testing::FakeHost&) {
             std::printf("bench_vulkan: no Vulkan device; nothing to measure\n");
             return 0;
         },
         [](const std::string& algo) -> uint64_t { return algo == "scrypt" ? (1u << 14) : (1u << 24); },  // the host's scan chunk is 2^24
         [](const BackendRun& run) {
             // The first open builds both pipelines and runs the known-answer self-test.
             char text[96];
             std::snprintf(text, sizeof text, "open (pipeline builds, self-test) %.1f s, first hashes %.2f s later", run.open_s, run.first_s);
             return std::string(text);
         }},
        argc, argv);
}
