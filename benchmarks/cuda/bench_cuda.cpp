// Hashrate of the cuda backend's kernels through the plugin ABI, the way `otedama-host bench` measures
// the CPU backend (and bench_opencl the OpenCL one): mine an impossible target for --seconds after
// --warmup, one sample per second, print the median (and min/max) in H/s, with the device's temperature,
// power and throttling at the end. Not a test: `meson test -C build --benchmark --suite cuda` runs it.
// Without a CUDA device it says so and exits 77 (meson: skipped).
//
//   bench_cuda [--algo sha256d|scrypt] [--seconds N] [--warmup N] [--intensity N] [--device I]
//              [--settings JSON]   (the plugin's settings, e.g. {"launch_ms":100})
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "plugin_harness.hpp"

namespace th = otedama::testing;

namespace {

otd_status_t OTD_CALL ignore_found(void*, const otd_found_t*) { return OTD_OK; }

}  // namespace

int main(int argc, char** argv) {
    std::string algo = "sha256d";
    int seconds = 10, warmup = 3;
    uint32_t intensity = 0, device_index = 0;
    std::string settings = "{}";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--algo") algo = v;
        else if (k == "--seconds") seconds = std::atoi(v.c_str());
        else if (k == "--warmup") warmup = std::atoi(v.c_str());
        else if (k == "--intensity") intensity = static_cast<uint32_t>(std::atoi(v.c_str()));
        else if (k == "--device") device_index = static_cast<uint32_t>(std::atoi(v.c_str()));
        else if (k == "--settings") settings = v;
        else {
            std::fprintf(stderr, "bench_cuda: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (seconds < 1 || warmup < 0) {
        std::fprintf(stderr, "bench_cuda: --seconds >= 1, --warmup >= 0\n");
        return 2;
    }
    th::FakeHost host(settings);
    th::CreateResult r = th::create_instance(OTEDAMA_CUDA_PLUGIN, "org.otedama.backend.cuda", OTD_BACKEND_INTERFACE_ID, host);
    if (!r.ok()) {
        std::fprintf(stderr, "bench_cuda: %s\n", r.describe().c_str());
        return 1;
    }
    const otd_backend_t& b = r.instance.table<otd_backend_t>();
    uint32_t count = 0;
    b.enumerate(r.instance.plugin(), nullptr, 0, &count);
    if (count == 0) {
        std::string why = "the plugin reports zero devices";
        for (const auto& rec : host.logs())
            if (rec.message.find("cuda: no CUDA") != std::string::npos) why = rec.message;
        std::printf("bench_cuda: no CUDA device; nothing to measure (%s)\n", why.c_str());
        return 77;
    }
    std::vector<otd_device_info_t> infos(count);
    for (auto& i : infos) i.struct_size = sizeof i;
    b.enumerate(r.instance.plugin(), infos.data(), count, &count);
    if (device_index >= count) {
        std::fprintf(stderr, "bench_cuda: no device %u (%u present)\n", device_index, count);
        return 2;
    }
    otd_device_limits_t limits{};
    limits.struct_size = sizeof limits;
    limits.intensity = intensity;
    otd_device_t* device = nullptr;
    th::ErrorBuffer err;
    if (b.open_device(r.instance.plugin(), device_index, &limits, &device, err.text, sizeof err.text) != OTD_OK) {
        std::fprintf(stderr, "bench_cuda: open: %s\n", err.text);
        return 1;
    }
    uint8_t header[80];
    for (int i = 0; i < 80; ++i) header[i] = static_cast<uint8_t>(i * 13 + 5);
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
            w.nonce_count = algo == "scrypt" ? (1u << 20) : (1ull << 32);  // large: launch sizing, not run() calls, limits it
            if (w.nonce_start + w.nonce_count > 0x100000000ULL) w.nonce_start = start = 0;
            w.abort_flag = &abort_flag;
            w.on_found = &ignore_found;  // the target below is 0: nothing is found
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
    // Warm-up covers the kernel build; wait for the first hashes before counting it.
    while (device_hashes() == 0 && !stop) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
    otd_device_telemetry_t telemetry{};
    telemetry.struct_size = sizeof telemetry;
    (void)b.get_telemetry(r.instance.plugin(), device, &telemetry);
    stop = true;
    abort_flag = 1;
    worker.join();
    b.close_device(r.instance.plugin(), device);
    if (!failure.empty()) {
        std::fprintf(stderr, "bench_cuda: run failed: %s\n", failure.c_str());
        return 1;
    }
    std::sort(samples.begin(), samples.end());
    const double median = samples.size() % 2 ? samples[samples.size() / 2]
                                             : (samples[samples.size() / 2 - 1] + samples[samples.size() / 2]) / 2;
    std::printf("bench %s mine on %s (%s), intensity %u: median %.1f H/s (min %.1f, max %.1f) over %zu s after %d s warm-up; "
                "first hashes after %.1f s (module load); %u SMs; at the end %.0f °C, %.0f W, throttled %u\n",
                algo.c_str(), infos[device_index].id, infos[device_index].name, intensity, median, samples.front(), samples.back(),
                samples.size(), warmup, build_s, infos[device_index].compute_units, telemetry.temperature_c, telemetry.power_w,
                telemetry.throttled);
    return 0;
}
