// Single-thread throughput of the kawpow plugin's internals (plugins/algorithm/kawpow). items_per_second =
// hashes (or programs, texts) per second.
//  - LightVerify/<impl>: one KawPow hash on epoch 0's light cache, DAG entries computed on demand with
//    512 parents (what a pool's verify() does without a DAG). The light cache is built once (about a second).
//  - light_entries: only the 64 DAG entries of a light verification (the rest of the hash left out).
//  - InCacheDag: the hash on a synthetic 256 KiB "DAG" that stays in the CPU caches: the ProgPoW loop,
//    Keccak and lane reduction without the DAG's memory latency (an upper bound for full-DAG mining).
//  - ProgramGeneration, PeriodSource: the per-period work, once per 3 blocks.
//
//   build-x/benchmarks/kawpow/bench_kawpow --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "kawpow.hpp"
#include "progpow.hpp"
#include "progpow_source.hpp"

#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

const std::shared_ptr<const eth::LightCache>& epoch0_cache() {
    static const auto cache = std::make_shared<const eth::LightCache>(eth::kKawpow, 0);
    return cache;
}

void light_verify(benchmark::State& state, eth::Impl impl) {
    if (!eth::impl_supported(impl)) {
        state.SkipWithError((std::string("this CPU lacks ") + eth::impl_name(impl)).c_str());
        return;
    }
    const kp::LightEpoch epoch(epoch0_cache(), impl);
    const kp::Program program = kp::generate_program(16);
    kp::Hash256 header{};
    header[0] = 0x63;
    uint64_t nonce = 0;
    for (auto _ : state) {
        const kp::HashResult r = kp::hash_light(epoch, program, header, nonce++);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(light_verify, scalar, eth::Impl::kScalar)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(light_verify, avx2, eth::Impl::kAvx2)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_CAPTURE(light_verify, avx512, eth::Impl::kAvx512)->Unit(benchmark::kMillisecond)->MinTime(2.0);

/// The DAG part of a light verification alone: 64 entries (4 items x 512 parents each) from the light cache.
void light_entries(benchmark::State& state) {
    const kp::LightEpoch epoch(epoch0_cache(), eth::best_impl());
    alignas(64) uint32_t words[kp::kEntryWords] = {};
    kp::Kiss99 rng{5, 6, 7, 8};
    for (auto _ : state) {
        for (uint32_t i = 0; i < kp::kCntDag; ++i) {
            epoch.entry(static_cast<uint32_t>((rng() ^ words[0]) % epoch.entry_count()), words);  // dependent, as in a hash
        }
        benchmark::DoNotOptimize(words);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(light_entries)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void in_cache_dag(benchmark::State& state) {
    // 4096 random items: 1024 entries, 256 KiB.
    std::vector<eth::Item> items(4096);
    kp::Kiss99 rng{1, 2, 3, 4};
    for (auto& it : items) {
        for (auto& w : it.words) w = rng();
    }
    kp::L1Cache l1;
    std::memcpy(l1.words.data(), items.data(), kp::kCacheBytes);
    const kp::Program program = kp::generate_program(16);
    const kp::Hash256 header{};
    uint64_t nonce = 0;
    for (auto _ : state) {
        const kp::HashResult r = kp::hash_full(items.data(), items.size(), l1, program, header, nonce++);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(in_cache_dag)->Unit(benchmark::kMicrosecond);

void program_generation(benchmark::State& state) {
    uint64_t period = 0;
    for (auto _ : state) {
        const kp::Program p = kp::generate_program(period++);
        benchmark::DoNotOptimize(p);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(program_generation);

void period_source(benchmark::State& state) {
    uint64_t period = 0;
    for (auto _ : state) {
        const std::string s = kp::period_source(kp::generate_program(period++), kp::Dialect::kCuda);
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(period_source)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
