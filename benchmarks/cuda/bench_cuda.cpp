// Hashrate of the cuda backend's kernels through the plugin ABI, the way `otedama-host bench` measures
// the CPU backend (and bench_opencl the OpenCL one): mine an impossible target for --seconds after
// --warmup, one sample per second, print the median (and min/max) in H/s, with the device's temperature,
// power and throttling at the end. Not a test: `meson test -C build --benchmark --suite cuda` runs it.
// Without a CUDA device it says so and exits 77 (meson: skipped).
//
//   bench_cuda [--algo sha256d|scrypt|ethash|etchash|kawpow] [--seconds N] [--warmup N] [--intensity N]
//              [--device I] [--settings JSON]   (the plugin's settings, e.g. {"launch_ms":100})
//              [--height H] [--kawpow-plugin PATH]   (the Ethash family: backend_bench.hpp)
//
// Bounds to compare with (plugins/backend/cuda/README.md): ethash reads 8 KiB of DAG per hash, kawpow
// 16 KiB, so an H100 SXM (3.35 TB/s HBM3) bounds them at about 409 MH/s and 204 MH/s.
#include "../common/backend_bench.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    using otedama::bench::BackendRun;
    return otedama::bench::run_backend_bench(
        {"bench_cuda", OTEDAMA_CUDA_PLUGIN, "org.otedama.backend.cuda",
         [](const otedama::testing::FakeHost& host) {
             std::string why = "the plugin reports zero devices";
             for (const auto& rec : host.logs())
                 if (rec.message.find("cuda: no CUDA") != std::string::npos) why = rec.message;
             std::printf("bench_cuda: no CUDA device; nothing to measure (%s)\n", why.c_str());
             return 77;
         },
         // large: launch sizing, not run() calls, limits it
         [](const std::string& algo) -> uint64_t { return algo == "scrypt" ? (1u << 20) : (1ull << 32); },  // also the Ethash family
         [](const BackendRun& run) {
             char text[160];
             std::snprintf(text, sizeof text, "first hashes after %.1f s (module load); %u SMs; at the end %.0f °C, %.0f W, throttled %u",
                           run.first_s, run.info->compute_units, run.telemetry.temperature_c, run.telemetry.power_w, run.telemetry.throttled);
             return std::string(text);
         }},
        argc, argv);
}
