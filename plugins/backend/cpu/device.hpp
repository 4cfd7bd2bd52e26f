// One open CPU device ("cpu0"): its lanes, the scan state each lane keeps for the algorithm it mines,
// per-thread priority and pinning, and telemetry.
//
// The host owns the threads: one worker per lane calls run(). A lane remembers the thread that runs it; the
// first run on a thread (and the first after a limits change) applies the nice level and the pinning to
// that thread. If another thread takes a lane over, the lane starts afresh on it.
//
// Scan states: the ABI creates and uses an algorithm's scan state on the worker thread that owns it. A lane
// creates one lazily in run(), keyed by (algorithm plugin, table, context, epoch, seed), and destroys it
// on its own thread when a work unit with another key arrives, or after a failed scan. The ABI has no
// per-lane teardown call on the worker, so states still alive at close are destroyed on the control
// strand by ~Device() (no lane is inside run() then).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/sdk/backend.hpp>

#include "sensors.hpp"

namespace otedama::cpu_backend {

/// Limits as this backend reads them (a host's struct may be older and shorter).
struct Limits {
    uint32_t lanes = 0;    ///< 0 = default
    int32_t priority = 0;  ///< nice level, 0 = leave the worker's own
    uint32_t flags = 0;    ///< OTD_LIMIT_*
};

/// Reads the fields the host's struct has; checks them. @throws sdk::Error(OTD_ERR_INVALID_ARG).
[[nodiscard]] Limits read_limits(const otd_device_limits_t& limits);

/// "OTD_ERR_IO" for a status code (for messages).
[[nodiscard]] const char* status_name(otd_status_t status) noexcept;

class Device {
 public:
    /// @param cpus the CPUs of the process's affinity mask at open: lane i pins to cpus[i % size].
    Device(const sdk::Host& host, std::string id, uint32_t lanes, const Limits& limits, std::vector<int> cpus,
           Sensors sensors);
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    /// [control] Destroys the scan states still cached. @pre no lane is inside run().
    ~Device();

    /// [worker] Mines work.nonce range on `lane` with the work unit's own algorithm scan.
    /// @throws sdk::Error naming the device, lane and algorithm for anything but OK/ABORTED.
    otd_status_t run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done);

    /// [control] New priority/pinning take effect at each lane's next run(). The lane count is fixed
    /// at open. @throws sdk::Error(OTD_ERR_UNSUPPORTED) for a different lane count.
    void set_limits(const Limits& limits);

    /// [any] Hashrate since the previous call, totals, temperature and package power.
    [[nodiscard]] otd_device_telemetry_t telemetry();

    [[nodiscard]] uint32_t lanes() const noexcept { return static_cast<uint32_t>(lanes_.size()); }

 private:
    /// What a scan state was created for; a lane recreates its state when the work unit's differs.
    struct ScanKey {
        const otd_plugin_t* plugin = nullptr;
        const otd_algorithm_t* table = nullptr;
        const otd_algo_context_t* context = nullptr;
        uint64_t context_id = 0;  // never reused, unlike the context's address
        uint64_t epoch = 0;
        uint64_t seed_digest = 0;
        bool operator==(const ScanKey&) const = default;
    };

    struct alignas(64) Lane {
        // Touched only by the thread running the lane (one at a time), and by ~Device().
        otd_scan_state_t* state = nullptr;
        ScanKey key;
        uint64_t thread = 0;              // thread_token() of the worker that ran the lane last
        uint64_t applied_generation = 0;  // limits generation applied to that thread
        int original_nice = 0;            // the worker's nice before we changed it
        bool nice_changed = false;
        bool pinned = false;
        // Read by telemetry() on any thread.
        std::atomic<uint64_t> hashes{0};
    };

    void prepare_thread(Lane& lane, uint32_t index);
    void apply_priority(Lane& lane, pid_t tid, int32_t priority);
    void apply_pinning(Lane& lane, pid_t tid, uint32_t index, bool pin);
    static void drop_state(Lane& lane) noexcept;
    [[nodiscard]] uint64_t now_ns() const noexcept;

    sdk::Host host_;
    std::string id_;
    std::vector<int> cpus_;
    std::vector<std::unique_ptr<Lane>> lanes_;

    // Limits the workers read; generation_ tells them something changed.
    std::atomic<int32_t> priority_;
    std::atomic<uint32_t> flags_;
    std::atomic<uint64_t> generation_{1};
    std::atomic<bool> priority_warned_{false};
    std::atomic<bool> pinning_warned_{false};

    std::mutex telemetry_mutex_;  // guards everything below
    Sensors sensors_;
    uint64_t last_sample_ns_ = 0;
    uint64_t last_sample_hashes_ = 0;
    double last_hashrate_ = 0;
};

}  // namespace otedama::cpu_backend
