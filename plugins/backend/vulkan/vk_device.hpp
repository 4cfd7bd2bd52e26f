// One open Vulkan device of the vulkan backend: the scan loop of its single lane.
//
// run() splits the work unit's nonce range into dispatches of one invocation per nonce and keeps two
// dispatches submitted on the device's queue (double buffering: two slots, each with its own command
// buffer, fence, result buffer and descriptor set; the next dispatch runs while the host reads and
// reports the previous one's results). A dispatch is at most 2^intensity invocations, what the device
// allows (maxComputeWorkGroupCount x 64; scrypt: its 128 KiB scratchpad per invocation within
// maxStorageBufferRange, maxMemoryAllocationSize and half the device-local memory), and what the device
// hashes in `launch_ms` at its measured rate, so that the abort flag, checked between dispatches, is seen
// within about two dispatches. A dispatch that finds more nonces than its result buffer holds is searched
// again in dispatches no larger than the buffer.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/sdk/backend.hpp>

#include "vk_runtime.hpp"

namespace otedama::vulkan_backend {

/// The plugin's settings (plugins.settings."org.otedama.backend.vulkan").
struct Settings {
    std::string spirv_dir;    ///< read <algorithm>.spv from here instead of the embedded SPIR-V ("" = embedded)
    uint32_t launch_ms = 50;  ///< target duration of one dispatch
    bool self_test = true;    ///< run the known-answer self-test at a device's first open
};

/// The algorithms this backend has shaders for, as the device info lists them.
inline constexpr const char* kAlgorithms = "sha256d,scrypt";

/// The SPIR-V of `algorithm`'s shader, from `spirv_dir` when set, else embedded at build time.
/// @throws sdk::Error(OTD_ERR_NOT_FOUND / OTD_ERR_IO) naming the file.
[[nodiscard]] std::vector<uint32_t> shader_spirv(const Settings& settings, const std::string& algorithm);

class Device {
 public:
    /// Found nonces one dispatch can hold; a dispatch finding more is searched again in dispatches of this size.
    static constexpr uint32_t kResultCapacity = 1024;

    Device(const sdk::Host& host, Runtime& runtime, uint32_t intensity, const Settings& settings);
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    /// Waits for the queue, frees everything. @pre no lane is inside run().
    ~Device();

    /// [worker] Mines the work unit's nonce range. @throws sdk::Error naming the device for bad work units,
    /// unsupported algorithms, pipeline build failures and device faults.
    otd_status_t run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done);

    /// [control] Known-answer self-test of every shader: the Bitcoin and Litecoin genesis headers around
    /// their real nonces at a target every hash meets; each hash the device reports must equal the CPU
    /// reference's (lib/otedama/common SHA-256, the scrypt plugin's RFC 7914 reference), and the real
    /// nonce's the published block hash. "" when it passed, else what differed.
    [[nodiscard]] std::string self_test();

    /// [control] New work-size exponent (0 = default); takes effect at the next dispatch.
    void set_intensity(uint32_t intensity);

    /// [any] Hashrate since the previous call, totals, nonces the device reported wrongly.
    [[nodiscard]] otd_device_telemetry_t telemetry();

    [[nodiscard]] uint64_t dispatches() const noexcept { return dispatches_.load(std::memory_order_relaxed); }
    [[nodiscard]] uint64_t overflows() const noexcept { return overflows_.load(std::memory_order_relaxed); }

 private:
    struct Algorithm {
        std::string name;  // "sha256d", "scrypt"
        bool scrypt;       // needs the scratch buffer
        double items_per_second = 0;  // measured; 0 = not yet
    };
    struct Range {
        uint64_t start;
        uint64_t count;
    };
    struct Slot {
        Buffer results;
        VkCommandBuffer command = VK_NULL_HANDLE;
        VkFence fence = VK_NULL_HANDLE;
        VkDescriptorSet set = VK_NULL_HANDLE;
        bool submitted = false;
    };

    [[nodiscard]] Algorithm& algorithm_for(const otd_work_unit_t& work);
    [[nodiscard]] uint64_t max_items(const Algorithm& algorithm) const;
    void ensure_scratch(uint64_t items);
    void write_params(const otd_work_unit_t& work);
    void bind_slots();
    void wait(Slot& slot, const std::string& what);
    void drain() noexcept;
    void release() noexcept;

    sdk::Host host_;
    Runtime& runtime_;
    Settings settings_;
    std::string where_;  // "vulkan0 (device name)"
    std::atomic<uint32_t> intensity_;

    // Worker-side state (one lane).
    std::vector<Algorithm> algorithms_;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkDescriptorPool descriptors_ = VK_NULL_HANDLE;
    Buffer params_;
    Buffer scratch_;  // a small placeholder until scrypt sizes it
    uint64_t scratch_items_ = 0;
    std::array<Slot, 2> slots_{};

    std::atomic<uint64_t> hashes_{0};
    std::atomic<uint64_t> hardware_errors_{0};
    std::atomic<uint64_t> dispatches_{0};
    std::atomic<uint64_t> overflows_{0};

    std::mutex telemetry_mutex_;
    std::chrono::steady_clock::time_point last_sample_;
    uint64_t last_sample_hashes_ = 0;
    double last_hashrate_ = 0;
};

}  // namespace otedama::vulkan_backend
