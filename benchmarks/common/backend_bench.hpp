// The hashrate of a GPU backend plugin's kernels through the plugin ABI, the way `otedama-host bench`
// measures the CPU backend: mine an impossible target for --seconds after --warmup, one sample per second,
// print the median (and min/max) in H/s. Shared by bench_opencl, bench_vulkan and bench_cuda, which differ
// only in the plugin, the work-unit size, what they say without a device and what they add to the report.
//
//   NAME [--algo sha256d|scrypt|ethash|etchash|kawpow] [--seconds N] [--warmup N] [--intensity N] [--device I]
//        [--settings JSON] [--height H] [--kawpow-plugin PATH]
//
// The Ethash family (ethash, etchash, kawpow) mines a 32-byte header hash with an 8-byte nonce at block
// height --height (its epoch decides the DAG; defaults: a recent height of each chain); the DAG is
// generated before the first hashes, so it is not in the samples. KawPow needs the kawpow algorithm plugin
// (--kawpow-plugin) for its period program (otedama.algorithm.progpow/1). Their report adds the DAG bytes
// read per second: 64 accesses x 128 bytes per ethash hash, 64 x 256 bytes per kawpow hash.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "plugin_harness.hpp"

namespace otedama::bench {

namespace th = otedama::testing;

/// What the driver measured, for the backend's own words at the end of the report line.
struct BackendRun {
    double open_s = 0;   ///< open_device() (kernel or pipeline builds, self-tests)
    double first_s = 0;  ///< from the first run() to the first hashes the device counted
    const otd_device_info_t* info = nullptr;
    otd_device_telemetry_t telemetry{};  ///< read at the end of the timed window, before the device closes
};

struct BackendBench {
    const char* name;         ///< "bench_opencl": the prefix of every message
    const char* plugin_path;  ///< the plugin's file
    const char* plugin_id;    ///< its id, e.g. "org.otedama.backend.opencl"
    /// The plugin lists no device: say so (the host's log is at hand) and return the exit code.
    std::function<int(const th::FakeHost&)> no_device;
    /// Nonces in one work unit for `algo`.
    std::function<uint64_t(const std::string& algo)> nonce_count;
    /// The end of the report line, after "... warm-up; ".
    std::function<std::string(const BackendRun&)> report;
};

namespace detail {
inline otd_status_t OTD_CALL ignore_found(void*, const otd_found_t*) { return OTD_OK; }
}  // namespace detail

inline int run_backend_bench(const BackendBench& spec, int argc, char** argv) {
    const char* name = spec.name;
    std::string algo = "sha256d";
    int seconds = 10, warmup = 3;
    uint32_t intensity = 0, device_index = 0;
    std::string settings = "{}";
    std::string kawpow_plugin;
    int64_t height = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--algo") algo = v;
        else if (k == "--seconds") seconds = std::atoi(v.c_str());
        else if (k == "--warmup") warmup = std::atoi(v.c_str());
        else if (k == "--intensity") intensity = static_cast<uint32_t>(std::atoi(v.c_str()));
        else if (k == "--device") device_index = static_cast<uint32_t>(std::atoi(v.c_str()));
        else if (k == "--settings") settings = v;
        else if (k == "--height") height = std::atoll(v.c_str());
        else if (k == "--kawpow-plugin") kawpow_plugin = v;
        else {
            std::fprintf(stderr, "%s: unknown option %s\n", name, k.c_str());
            return 2;
        }
    }
    if (seconds < 1 || warmup < 0) {
        std::fprintf(stderr, "%s: --seconds >= 1, --warmup >= 0\n", name);
        return 2;
    }
    const bool ethash_family = algo == "ethash" || algo == "etchash" || algo == "kawpow";
    if (height < 0) height = algo == "kawpow" ? 3900000 : algo == "etchash" ? 20000000 : algo == "ethash" ? 15000000 : 0;
    th::FakeHost host(settings);
    th::CreateResult r = th::create_instance(spec.plugin_path, spec.plugin_id, OTD_BACKEND_INTERFACE_ID, host);
    if (!r.ok()) {
        std::fprintf(stderr, "%s: %s\n", name, r.describe().c_str());
        return 1;
    }
    th::FakeHost algorithm_host;  // the algorithm plugin's own (empty) settings
    th::CreateResult algorithm_plugin;
    if (algo == "kawpow") {
        if (kawpow_plugin.empty()) {
            std::fprintf(stderr, "%s: kawpow needs --kawpow-plugin PATH (the kawpow algorithm plugin: its period programs)\n", name);
            return 2;
        }
        algorithm_plugin = th::create_instance(kawpow_plugin, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, algorithm_host);
        if (!algorithm_plugin.ok()) {
            std::fprintf(stderr, "%s: %s\n", name, algorithm_plugin.describe().c_str());
            return 1;
        }
    }
    const otd_backend_t& b = r.instance.table<otd_backend_t>();
    uint32_t count = 0;
    b.enumerate(r.instance.plugin(), nullptr, 0, &count);
    if (count == 0) return spec.no_device(host);
    std::vector<otd_device_info_t> infos(count);
    for (auto& i : infos) i.struct_size = sizeof i;
    b.enumerate(r.instance.plugin(), infos.data(), count, &count);
    if (device_index >= count) {
        std::fprintf(stderr, "%s: no device %u (%u present)\n", name, device_index, count);
        return 2;
    }
    otd_device_limits_t limits{};
    limits.struct_size = sizeof limits;
    limits.intensity = intensity;
    otd_device_t* device = nullptr;
    th::ErrorBuffer err;
    BackendRun run;
    run.info = &infos[device_index];
    const auto open_started = std::chrono::steady_clock::now();
    if (b.open_device(r.instance.plugin(), device_index, &limits, &device, err.text, sizeof err.text) != OTD_OK) {
        std::fprintf(stderr, "%s: open: %s\n", name, err.text);
        return 1;
    }
    run.open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_started).count();
    uint8_t header[80];
    for (int i = 0; i < 80; ++i) header[i] = static_cast<uint8_t>(i * 13 + 5);
    const uint64_t nonce_count = spec.nonce_count(algo);
    std::atomic<bool> stop{false};
    volatile uint32_t abort_flag = 0;
    std::string failure;
    std::thread worker([&] {
        uint64_t start = 0;
        while (!stop) {
            otd_work_unit_t w{};
            w.struct_size = sizeof w;
            w.algorithm = algo.c_str();
            w.blob = header;
            w.blob_size = 80;
            w.nonce_offset = 76;
            w.nonce_size = 4;
            w.nonce_start = start;
            w.nonce_count = nonce_count;
            if (ethash_family) {
                w.blob_size = 40;  // header hash (32 bytes) + 8-byte nonce
                w.nonce_offset = 32;
                w.nonce_size = 8;
                w.height = static_cast<uint64_t>(height);
                if (algo == "kawpow") {
                    w.algorithm_plugin = algorithm_plugin.instance.plugin();
                    w.algorithm_table = &algorithm_plugin.instance.table<otd_algorithm_t>();
                }
            } else if (w.nonce_start + w.nonce_count > 0x100000000ULL) {
                w.nonce_start = start = 0;
            }
            w.abort_flag = &abort_flag;
            w.on_found = &detail::ignore_found;  // the target below is 0: nothing is found
            uint64_t done = 0;
            th::ErrorBuffer e;
            const otd_status_t st = b.run(r.instance.plugin(), device, 0, &w, &done, e.text, sizeof e.text);
            start += w.nonce_count;
            if (st != OTD_OK && st != OTD_ERR_ABORTED) {
                failure = e.str();
                stop = true;
            }
        }
    });
    // The device counts hashes per launch (telemetry); run() reports them only when its range is done.
    const auto device_hashes = [&]() -> uint64_t {
        otd_device_telemetry_t t{};
        t.struct_size = sizeof t;
        return b.get_telemetry(r.instance.plugin(), device, &t) == OTD_OK ? t.hashes_total : 0;
    };
    const auto t0 = std::chrono::steady_clock::now();
    // Wait for the first hashes (a lazy kernel build or module load) before the warm-up counts.
    while (device_hashes() == 0 && !stop) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    run.first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::seconds(warmup));
    std::vector<double> samples;
    uint64_t last = device_hashes();
    auto last_t = std::chrono::steady_clock::now();
    for (int s = 0; s < seconds && !stop; ++s) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        const uint64_t now_h = device_hashes();
        const auto now_t = std::chrono::steady_clock::now();
        samples.push_back(static_cast<double>(now_h - last) / std::chrono::duration<double>(now_t - last_t).count());
        last = now_h;
        last_t = now_t;
    }
    run.telemetry.struct_size = sizeof run.telemetry;
    (void)b.get_telemetry(r.instance.plugin(), device, &run.telemetry);
    stop = true;
    abort_flag = 1;
    worker.join();
    b.close_device(r.instance.plugin(), device);
    if (!failure.empty()) {
        std::fprintf(stderr, "%s: run failed: %s\n", name, failure.c_str());
        return 1;
    }
    std::sort(samples.begin(), samples.end());
    const double median = samples.size() % 2 ? samples[samples.size() / 2]
                                             : (samples[samples.size() / 2 - 1] + samples[samples.size() / 2]) / 2;
    std::string dag;
    if (ethash_family) {
        // DAG bytes each hash reads: 64 accesses of a 128-byte page (ethash) or a 256-byte entry (kawpow).
        const double per_hash = algo == "kawpow" ? 64.0 * 256 : 64.0 * 128;
        char text[96];
        std::snprintf(text, sizeof text, " at height %lld = %.1f GB/s of DAG reads", static_cast<long long>(height), median * per_hash / 1e9);
        dag = text;
    }
    std::printf("bench %s mine on %s (%s), intensity %u: median %.1f H/s (min %.1f, max %.1f) over %zu s after %d s warm-up%s; %s\n",
                algo.c_str(), run.info->id, run.info->name, intensity, median, samples.front(), samples.back(), samples.size(), warmup,
                dag.c_str(), spec.report(run).c_str());
    return 0;
}

}  // namespace otedama::bench
