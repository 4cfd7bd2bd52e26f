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
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/ethash/ethash.hpp>
#include <otedama/ethash/light_cache_chooser.hpp>
#include <otedama/sdk/backend.hpp>

#include "cl_ethash.hpp"
#include "cl_runtime.hpp"

namespace otedama::opencl_backend {

/// Where an Ethash-family device gets the light cache of a variant's epoch (built on the host's CPU; the DAG
/// is then generated on the device from it). Tests hand in caches of explicit, tiny geometry.
using LightCacheSource = ethash::LightCacheSource;

/// The plugin's settings (plugins.settings."org.otedama.backend.opencl").
struct Settings {
    std::string kernel_dir;  ///< read kernels/opencl/*.cl from here instead of the embedded copies ("" = embedded)
    uint32_t launch_ms = 50;  ///< target duration of one launch
    /// Built KawPow period programs are kept here ("program_cache"; "" = none). Default BinaryCache::default_dir().
    std::string program_cache_dir = BinaryCache::default_dir();
    /// Not a setting: the light cache of an epoch (empty = ethash::LightCache(variant, epoch), the last one kept).
    LightCacheSource light_cache_source;
};

/// The algorithms this backend has kernels for, as the device info lists them.
inline constexpr const char* kAlgorithms = "sha256d,scrypt,ethash,etchash,kawpow";

/// The files of `algorithm`'s program in order: sha256.cl + <algorithm>.cl (sha256d, scrypt); keccak.cl +
/// ethash.cl (ethash, etchash); keccak.cl + ethash.cl + kawpow.cl (kawpow, whose period loop goes in front
/// of kawpow.cl).
[[nodiscard]] std::vector<std::string> kernel_files(const std::string& algorithm);
/// One kernel file's text, from `kernel_dir` when set, else embedded at build time.
/// @throws sdk::Error(OTD_ERR_NOT_FOUND / OTD_ERR_IO) naming the file.
[[nodiscard]] std::string kernel_file(const Settings& settings, const std::string& file);
/// The OpenCL source of `algorithm`'s program: its kernel_files() joined.
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
    /// [worker-side, tests] The Ethash-family dataset on the device now (nullptr before the first such work).
    [[nodiscard]] const DeviceDataset* dataset() const noexcept { return dataset_.get(); }
    /// [tests] KawPow programs built from source / loaded from the binary cache so far.
    [[nodiscard]] uint64_t programs_compiled() const noexcept { return programs_compiled_; }
    [[nodiscard]] uint64_t programs_from_cache() const noexcept { return programs_from_cache_; }

 private:
    struct Algorithm {
        std::string name;          // "sha256d", "scrypt", "ethash", "etchash", "kawpow"
        const char* kernel_name;   // entry point in the .cl
        bool scrypt;               // needs the scratch buffer
        double items_per_second = 0;  // measured; 0 = not yet
        const ethash::Variant* variant = nullptr;  // the Ethash family
    };
    struct PeriodProgram {
        cl_program program = nullptr;
        cl_kernel kernel = nullptr;
    };
    struct Range {
        uint64_t start;
        uint64_t count;
    };

    [[nodiscard]] Algorithm& algorithm_for(const otd_work_unit_t& work);
    [[nodiscard]] uint64_t max_items(const Algorithm& algorithm) const;
    void ensure_scratch(uint64_t items);
    void write_params(const otd_work_unit_t& work);

    // The Ethash family (cl_device_ethash.cpp).
    otd_status_t run_ethash(Algorithm& algorithm, const otd_work_unit_t& work, uint64_t& hashes_done);
    /// The dataset of the work's epoch on the device, generated; false when aborted meanwhile.
    bool ensure_dataset(const Algorithm& algorithm, const otd_work_unit_t& work);
    /// The search kernel of KawPow's period `period` (built, or loaded from the binary cache).
    cl_kernel kawpow_kernel(const otd_work_unit_t& work, uint64_t period);
    void release_period_programs() noexcept;
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
    std::unique_ptr<DeviceDataset> dataset_;
    std::string dataset_key_;  // "<variant>:<seed hex>:<parents>"
    ethash::LightCacheChooser light_caches_;  // the default light-cache source's caches
    cl_mem eth_params_ = nullptr;
    std::array<cl_mem, 2> eth_results_{};
    std::array<std::vector<cl_uint>, 2> eth_host_results_;
    std::map<uint64_t, PeriodProgram> periods_;  // KawPow programs by period (the current and the one before)
    uint32_t kawpow_group_ = 64;
    uint64_t programs_compiled_ = 0;
    uint64_t programs_from_cache_ = 0;

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
