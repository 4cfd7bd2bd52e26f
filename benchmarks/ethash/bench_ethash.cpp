// Single-thread throughput of lib/otedama/ethash per implementation (scalar, AVX2, AVX-512; paths this CPU
// lacks are skipped with a message), items_per_second:
//  - light/<impl>: light verifications (hashimoto_light) per second at epoch 0, one at a time, as the
//    plugin's verify() runs them;
//  - light_batch8/<impl>: the same, eight interleaved (hashimoto_light_batch), as a light-context scan runs;
//  - dataset_items/<impl>: epoch-0 DAG items per second on one thread (a FullDataset build is that rate times
//    its threads, while memory keeps up);
//  - full_batch8/<impl>: hashimoto over a DAG, per thread, eight interleaved (the CPU scan on a FULL
//    context). Its DAG is a 256 MiB one of explicit geometry (not epoch 0's 1 GiB) so that the benchmark
//    starts in seconds: every read still misses the caches.
// Not a test: `meson test --benchmark ethash`, or directly:
//   build/benchmarks/ethash/bench_ethash --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// The epoch-0 light cache (16 MiB, about a second) is built once, before the first benchmark.
#include <otedama/ethash/ethash.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

namespace {

namespace eth = otedama::ethash;

const eth::LightCache& epoch0() {
    static const auto cache = std::make_shared<const eth::LightCache>(0);
    return *cache;
}

/// chfast/ethash block 0 header hash (see tests/lib/ethash/test_ethash.cpp); the nonce varies.
const eth::Hash256 kHeader = {0x2a, 0x8d, 0xe2, 0xad, 0xf8, 0x9a, 0xf7, 0x73, 0x58, 0x25, 0x0b, 0xf9, 0x08, 0xbf, 0x04, 0xba,
                              0x94, 0xa6, 0xe8, 0xc3, 0xba, 0x87, 0x77, 0x55, 0x64, 0xa4, 0x1d, 0x26, 0x9a, 0x05, 0xe4, 0xce};

bool supported(benchmark::State& state, eth::Impl impl) {
    if (eth::impl_supported(impl)) return true;
    state.SkipWithError((std::string("this CPU lacks ") + eth::impl_name(impl)).c_str());
    return false;
}

void light(benchmark::State& state, eth::Impl impl) {
    if (!supported(state, impl)) return;
    const eth::LightCache& cache = epoch0();
    uint64_t nonce = 0;
    for (auto _ : state) {
        const eth::HashResult r = eth::hashimoto_light(cache, eth::kEthash, kHeader, nonce++, impl);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetLabel(eth::impl_name(impl));
}

void light_batch8(benchmark::State& state, eth::Impl impl) {
    if (!supported(state, impl)) return;
    const eth::LightCache& cache = epoch0();
    eth::HashInput in[eth::kMaxBatch];
    eth::HashResult out[eth::kMaxBatch];
    uint64_t nonce = 0;
    for (auto _ : state) {
        for (auto& x : in) x = {kHeader, nonce++};
        benchmark::DoNotOptimize(eth::hashimoto_light_batch(cache, eth::kEthash, in, out, impl));
        benchmark::DoNotOptimize(out);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * eth::kMaxBatch);
    state.SetLabel(eth::impl_name(impl));
}

void dataset_items(benchmark::State& state, eth::Impl impl) {
    if (!supported(state, impl)) return;
    const eth::LightCache& cache = epoch0();
    constexpr uint32_t kChunk = 4096;
    std::vector<eth::Item> items(kChunk);
    uint32_t first = 0;
    for (auto _ : state) {
        eth::dataset_items(cache, first, kChunk, eth::kEthash.dataset_parents, items.data(), impl);
        benchmark::DoNotOptimize(items.data());
        first = (first + kChunk) % (1U << 24);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kChunk);
    state.SetLabel(eth::impl_name(impl));
}

void full_batch8(benchmark::State& state, eth::Impl impl) {
    if (!supported(state, impl)) return;
    // 256 MiB of DAG from a small cache (built with every core once, shared by the implementations).
    static const auto full = [] {
        const auto cache = std::make_shared<const eth::LightCache>(eth::epoch_seed(0), 4093, uint64_t{2097143} * 128);
        return std::make_shared<const eth::FullDataset>(cache, eth::kEthash, 0);
    }();
    eth::HashInput in[eth::kMaxBatch];
    eth::HashResult out[eth::kMaxBatch];
    uint64_t nonce = 0;
    for (auto _ : state) {
        for (auto& x : in) x = {kHeader, nonce++};
        eth::hashimoto_full_batch(*full, in, out, impl);
        benchmark::DoNotOptimize(out);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * eth::kMaxBatch);
    state.SetLabel(eth::impl_name(impl));
}

[[maybe_unused]] const bool kRegistered = [] {
    for (const eth::Impl impl : eth::kAllImpls) {
        const std::string name = eth::impl_name(impl);
        benchmark::RegisterBenchmark(("light/" + name).c_str(), light, impl)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
        benchmark::RegisterBenchmark(("light_batch8/" + name).c_str(), light_batch8, impl)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
        benchmark::RegisterBenchmark(("dataset_items/" + name).c_str(), dataset_items, impl)->Unit(benchmark::kMillisecond)->MinTime(1.0);
        benchmark::RegisterBenchmark(("full_batch8/" + name).c_str(), full_batch8, impl)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
    }
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
