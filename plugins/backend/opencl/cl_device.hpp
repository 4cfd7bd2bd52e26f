// One open OpenCL device of the opencl backend: the scan loop of its single lane.
//
// run() splits the work unit's nonce range into launches of one work item per nonce and keeps two launches
// queued on the device's in-order queue (double buffering: the next launch runs while the host reads and
// reports the previous one's results). The launch size is the smallest of 2^intensity, what the device
// allows (scrypt: its 128 KiB scratchpad per item in one buffer within CL_DEVICE_MAX_MEM_ALLOC_SIZE and half
// the device memory), and what the device hashes in `launch_ms` at its measured rate, so that the abort
// flag, checked between launches, is seen within about two launches. A launch that finds more nonces than
// its result buffer holds is searched again in launches no larger than the buffer.
#pragma once

#include <CL/cl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/sdk/backend.hpp>

#include "cl_runtime.hpp"

namespace otedama::opencl_backend {

/// The plugin's settings (plugins.settings."org.otedama.backend.opencl").
struct Settings {
    std::string kernel_dir;  ///< read kernels/opencl/*.cl from here instead of the embedded copies ("" = embedded)
    uint32_t launch_ms = 50;  ///< target duration of one launch
};

/// The algorithms this backend has kernels for, as the device info lists them.
inline constexpr const char* kAlgorithms = "sha256d,scrypt";

/// The OpenCL source of `algorithm`'s program (sha256.cl followed by <algorithm>.cl), from `kernel_dir` when
/// set, else embedded at build time. @throws sdk::Error(OTD_ERR_NOT_FOUND / OTD_ERR_IO) naming the file.
[[nodiscard]] std::string kernel_source(const Settings& settings, const std::string& algorithm);

class Device {
 public:
    /// Found nonces one launch can hold; a launch finding more is searched again in launches of this size.
    static constexpr uint32_t kResultCapacity = 1024;

    Device(const sdk::Host& host, Runtime& runtime, uint32_t intensity, const Settings& settings);
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    /// Waits for the queue, frees the buffers. @pre no lane is inside run().
    ~Device();

    /// [worker] Mines the work unit's nonce range. @throws sdk::Error naming the device for bad work units,
    /// unsupported algorithms, kernel build failures and device faults.
    otd_status_t run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done);

    /// [control] New work-size exponent (0 = default); takes effect at the next launch.
    void set_intensity(uint32_t intensity);

    /// [any] Hashrate since the previous call, totals, nonces the device reported wrongly.
    [[nodiscard]] otd_device_telemetry_t telemetry();

    /// [any] Launch-size bookkeeping, for tests: launches and re-searched (overflowed) launches so far.
    [[nodiscard]] uint64_t launches() const noexcept { return launches_.load(std::memory_order_relaxed); }
    [[nodiscard]] uint64_t overflows() const noexcept { return overflows_.load(std::memory_order_relaxed); }

 private:
    struct Algorithm {
        std::string name;          // "sha256d", "scrypt"
        const char* kernel_name;   // entry point in the .cl
        bool scrypt;               // needs the scratch buffer
        double items_per_second = 0;  // measured; 0 = not yet
    };
    struct Range {
        uint64_t start;
        uint64_t count;
    };

    [[nodiscard]] Algorithm& algorithm_for(const otd_work_unit_t& work);
    [[nodiscard]] uint64_t max_items(const Algorithm& algorithm) const;
    void ensure_scratch(uint64_t items);
    void write_params(const otd_work_unit_t& work);

    sdk::Host host_;
    Runtime& runtime_;
    Settings settings_;
    std::string where_;  // "opencl0.0 (device name)"
    std::atomic<uint32_t> intensity_;

    // Worker-side state (one lane).
    std::vector<Algorithm> algorithms_;
    cl_mem params_ = nullptr;
    std::array<cl_mem, 2> results_{};
    std::array<std::vector<cl_uint>, 2> host_results_;
    cl_mem scratch_ = nullptr;
    uint64_t scratch_items_ = 0;

    std::atomic<uint64_t> hashes_{0};
    std::atomic<uint64_t> hardware_errors_{0};
    std::atomic<uint64_t> launches_{0};
    std::atomic<uint64_t> overflows_{0};

    std::mutex telemetry_mutex_;
    std::chrono::steady_clock::time_point last_sample_;
    uint64_t last_sample_hashes_ = 0;
    double last_hashrate_ = 0;
};

}  // namespace otedama::opencl_backend
