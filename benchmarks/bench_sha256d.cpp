// Single-thread throughput of each sha256d scan kernel this CPU runs (plugins/algorithm/sha256d), in
// nonces per second (items_per_second). Not a test: `meson test --benchmark` runs it, or run it directly:
//   build/benchmarks/bench_sha256d --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// The work is the genesis header at the difficulty-1 target (top word 0: candidates are rare, as in real
// mining), scanned in the chunks the plugin uses between two reads of the abort flag.
#include "known_headers.hpp"
#include "scan_kernels.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

namespace sk = otedama::sha256d;

void scan_kernel(benchmark::State& state, const sk::ScanKernel* kernel) {
    uint8_t target[32];
    std::memset(target, 0xff, sizeof target);
    std::memset(target + 26, 0, 6);  // 0x00000000ffff...: difficulty 1, roughly
    sk::ScanConstants constants;
    sk::prepare_scan_constants(constants, sk::kGenesis.header, target);
    const uint32_t chunk = kernel->nonces_per_abort_check;
    std::vector<uint32_t> offsets(chunk);
    uint32_t first = 0;
    uint64_t candidates = 0;
    for (auto _ : state) {
        candidates += kernel->scan(constants, first, chunk, offsets.data());
        first += chunk;
        benchmark::DoNotOptimize(offsets.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * chunk);
    state.counters["candidates"] = static_cast<double>(candidates);
    state.SetLabel(kernel->name);
}

}  // namespace

int main(int argc, char** argv) {
    uint32_t count = 0;
    const sk::ScanKernel* kernels = sk::scan_kernels(&count);
    for (uint32_t i = 0; i < count; ++i) {
        if (!sk::cpu_supports(kernels[i].isa)) continue;
        benchmark::RegisterBenchmark((std::string("sha256d_scan/") + kernels[i].id).c_str(), scan_kernel, &kernels[i])
            ->MinTime(0.5);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
