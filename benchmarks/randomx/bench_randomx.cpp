// Throughput of the randomx plugin's engine (plugins/algorithm/randomx/rx_engine): what verify() and scan()
// run. items_per_second = hashes per second.
//
//   light/verify/threads:N   N threads, each its own light VM on one 256 MiB cache, randomx_calculate_hash
//                            (verify's path)
//   full/scan/threads:N      N threads, each its own full VM on the 2080 MiB dataset,
//                            randomx_calculate_hash_first/next over consecutive nonces (scan's pipeline)
// (N from 1 to the number of cores; items_per_second is the total over the N threads, wall time.)
//   full/dataset_init/threads:N  building the dataset (manual time, one iteration per repetition)
//
// The full benchmarks build a dataset first (25-150 s on two cores, 2.3 GiB): run them on purpose,
//   build-x/benchmarks/randomx/bench_randomx --benchmark_filter=light --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
//   OTEDAMA_BENCH_RANDOMX_HUGE=1 build-x/benchmarks/randomx/bench_randomx --benchmark_filter=full/scan
// OTEDAMA_BENCH_RANDOMX_HUGE=1 asks for huge pages as a mining host would (explicit huge pages when reserved,
// else transparent huge pages for the cache and the dataset); the label says what was obtained.
#include "rx_engine.hpp"

#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace rx = otedama::rx;

// The recorded monerod regtest block at height 1 (tests/lib/monero/monero_fixtures.hpp): its key and its
// 76-byte hashing blob, the shape every Monero share has.
constexpr uint8_t kSeed[32] = {0x41, 0x80, 0x15, 0xbb, 0x9a, 0xe9, 0x82, 0xa1, 0x97, 0x5d, 0xa7, 0xd7, 0x92, 0x77, 0xc2, 0x70,
                               0x57, 0x27, 0xa5, 0x68, 0x94, 0xba, 0x0f, 0xb2, 0x46, 0xad, 0xaa, 0xbb, 0x1f, 0x46, 0x32, 0xe3};
constexpr const char* kHashingBlob =
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e32a00000073077137cb6790a61eea1f7fb5aa"
    "3e0ff672d5fb96ed4ff2725c46e6637cd1c901";
constexpr std::size_t kNonceOffset = 39;

std::vector<uint8_t> blob() {
    std::vector<uint8_t> out;
    const std::string h = kHashingBlob;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

bool want_huge_pages() {
    const char* v = std::getenv("OTEDAMA_BENCH_RANDOMX_HUGE");
    return v != nullptr && std::string(v) == "1";
}

std::shared_ptr<const rx::Cache> shared_cache() {
    static std::once_flag once;
    static std::shared_ptr<const rx::Cache> cache;
    std::call_once(once, [] { cache = std::make_shared<const rx::Cache>(kSeed, rx::machine_flags(), want_huge_pages()); });
    return cache;
}

std::shared_ptr<const rx::Dataset> shared_dataset() {
    static std::once_flag once;
    static std::shared_ptr<const rx::Dataset> dataset;
    std::call_once(once, [] {
        dataset = std::make_shared<const rx::Dataset>(*shared_cache(), std::max(1u, std::thread::hardware_concurrency()),
                                                      want_huge_pages());
    });
    return dataset;
}

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Runs `per_thread` hashes on each of `vms.size()` threads per iteration and reports the wall time, so
/// items_per_second is the machine's total rate for that many threads (VMs are made before timing).
/// cpu_rate adds up each thread's hashes per second of its own CPU time: what the threads would reach on
/// otherwise idle cores (on a shared machine the wall-clock rate also counts time other processes ran).
template <class HashLoop>
void run_threads(benchmark::State& state, std::vector<std::unique_ptr<rx::Vm>>& vms, int per_thread, HashLoop loop) {
    uint32_t round = 0;
    std::vector<double> cpu(vms.size(), 0.0);
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < vms.size(); ++t) {
            threads.emplace_back([&, t] {
                const double before = thread_cpu_seconds();
                loop(*vms[t], (static_cast<uint32_t>(t) << 24) + round * static_cast<uint32_t>(per_thread), per_thread);
                cpu[t] += thread_cpu_seconds() - before;
            });
        }
        for (std::thread& t : threads) t.join();
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        ++round;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * per_thread * static_cast<int64_t>(vms.size()));
    double cpu_rate = 0;
    for (const double c : cpu) cpu_rate += c > 0 ? static_cast<double>(state.iterations()) * per_thread / c : 0;
    state.counters["cpu_rate"] = cpu_rate;
}

void light_verify(benchmark::State& state) {
    const auto cache = shared_cache();
    std::vector<std::unique_ptr<rx::Vm>> vms;
    for (int64_t t = 0; t < state.range(0); ++t) vms.push_back(std::make_unique<rx::Vm>(rx::machine_flags(), cache, nullptr, want_huge_pages()));
    run_threads(state, vms, 8, [](const rx::Vm& vm, uint32_t first, int count) {
        std::vector<uint8_t> input = blob();
        uint8_t out[RANDOMX_HASH_SIZE];
        for (int i = 0; i < count; ++i) {
            const uint32_t nonce = first + static_cast<uint32_t>(i);
            std::memcpy(input.data() + kNonceOffset, &nonce, 4);
            vm.hash(input, out);  // verify's call
            benchmark::DoNotOptimize(out);
        }
    });
    state.SetLabel(rx::describe(rx::machine_flags()) + ", cache " + rx::to_string(cache->pages()));
}

void full_scan(benchmark::State& state) {
    const auto dataset = shared_dataset();
    std::vector<std::unique_ptr<rx::Vm>> vms;
    for (int64_t t = 0; t < state.range(0); ++t) {
        vms.push_back(std::make_unique<rx::Vm>(rx::machine_flags(), shared_cache(), dataset, want_huge_pages()));
    }
    run_threads(state, vms, 200, [](const rx::Vm& vm, uint32_t first, int count) {
        std::vector<uint8_t> input = blob();
        uint8_t out[RANDOMX_HASH_SIZE];
        std::memcpy(input.data() + kNonceOffset, &first, 4);
        randomx_calculate_hash_first(vm.get(), input.data(), input.size());  // scan's pipeline
        for (int i = 1; i < count; ++i) {
            const uint32_t nonce = first + static_cast<uint32_t>(i);
            std::memcpy(input.data() + kNonceOffset, &nonce, 4);
            randomx_calculate_hash_next(vm.get(), input.data(), input.size(), out);
            benchmark::DoNotOptimize(out);
        }
        randomx_calculate_hash_last(vm.get(), out);
        benchmark::DoNotOptimize(out);
    });
    state.counters["dataset_init_s"] = dataset->build_seconds();  // the shared dataset, built once per process
    state.SetLabel(rx::describe(rx::machine_flags()) + ", dataset " + rx::to_string(dataset->pages()) + ", VM " +
                   rx::to_string(vms.front()->pages()));
}

void dataset_init(benchmark::State& state) {
    const auto cache = shared_cache();
    const auto threads = static_cast<unsigned>(state.range(0));
    for (auto _ : state) {
        const rx::Dataset dataset(*cache, threads, want_huge_pages());
        state.SetIterationTime(dataset.build_seconds());
        state.SetLabel(std::string("dataset ") + rx::to_string(dataset.pages()));
    }
}

[[maybe_unused]] const bool kRegistered = [] {
    const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
    benchmark::RegisterBenchmark("light/verify", light_verify)->DenseRange(1, cores)->ArgName("threads")->UseManualTime()->MinTime(3.0)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("full/scan", full_scan)->DenseRange(1, cores)->ArgName("threads")->UseManualTime()->MinTime(5.0)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("full/dataset_init", dataset_init)
        ->Arg(static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency())))
        ->ArgName("threads")
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kSecond);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
