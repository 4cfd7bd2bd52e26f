// Single-thread throughput of the scrypt kernels (plugins/algorithm/scrypt): Litecoin's proof of work,
// scrypt(N = 1024, r = 1, p = 1) over an 80-byte header, PBKDF2 steps included, as scan() runs it.
// items_per_second = hashes per second. Kernels this CPU lacks are skipped with a message.
//
//   build-x/benchmarks/bench_scrypt --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "scrypt_core.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

namespace scrypt = otedama::scrypt;

// Litecoin scrypt_tests.cpp vector 0 (see tests/plugins/algorithm/test_scrypt.cpp for the citation).
constexpr uint8_t kHeader[80] = {
    0x02, 0x00, 0x00, 0x00, 0x4c, 0x12, 0x71, 0xc2, 0x11, 0x71, 0x71, 0x98, 0x22, 0x73, 0x92, 0xb0, 0x29, 0xa6, 0x4a, 0x79,
    0x71, 0x93, 0x1d, 0x35, 0x1b, 0x38, 0x7b, 0xb8, 0x0d, 0xb0, 0x27, 0xf2, 0x70, 0x41, 0x1e, 0x39, 0x8a, 0x07, 0x04, 0x6f,
    0x7d, 0x4a, 0x08, 0xdd, 0x81, 0x54, 0x12, 0xa8, 0x71, 0x2f, 0x87, 0x4a, 0x7e, 0xbf, 0x05, 0x07, 0xe3, 0x87, 0x8b, 0xd2,
    0x4e, 0x20, 0xa3, 0xb7, 0x3f, 0xd7, 0x50, 0xa6, 0x67, 0xd2, 0xf4, 0x51, 0xea, 0xc7, 0x47, 0x1b, 0x00, 0xde, 0x66, 0x59};

void scrypt_kernel(benchmark::State& state, const scrypt::RomixKernel* kernel) {
    if (!kernel->cpu_supported()) {
        state.SkipWithError((std::string("this CPU lacks ") + kernel->name).c_str());
        return;
    }
    auto* scratch = static_cast<uint8_t*>(std::aligned_alloc(2u << 20, (kernel->scratch_bytes + (2u << 20) - 1) / (2u << 20) * (2u << 20)));
    std::memset(scratch, 0, kernel->scratch_bytes);
    const scrypt::LitecoinHasher hasher(kHeader, scrypt::pbkdf2_sha256_kernel());
    uint8_t out[scrypt::kMaxLanes][32];
    uint32_t nonce = 0;
    for (auto _ : state) {
        hasher.hash_batch(*kernel, nonce, kernel->lanes, scratch, out);
        benchmark::DoNotOptimize(out);
        nonce += kernel->lanes;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kernel->lanes);
    state.SetLabel(std::string(kernel->description) + ", pbkdf2 " + scrypt::pbkdf2_sha256_kernel().name);
    std::free(scratch);
}

[[maybe_unused]] const bool kRegistered = [] {
    for (const scrypt::RomixKernel* k : scrypt::romix_kernels()) {
        benchmark::RegisterBenchmark((std::string("scrypt_1024_1_1/") + k->name).c_str(), scrypt_kernel, k)
            ->Unit(benchmark::kMillisecond)
            ->MinTime(1.0);
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
