// The generic CPU backend ("org.otedama.backend.cpu"): one SCAN device, cpu0, that mines any algorithm
// whose plugin offers a CPU scan (otd_algorithm_t.create_scan_state/scan). It knows no hash itself: each
// work unit carries its algorithm's table, plugin and prepared context, and run() calls that scan.
//
// Device info: algorithms = "*", meaning "every algorithm whose plugin has a CPU scan"; a work unit for
// one without returns OTD_ERR_UNSUPPORTED naming it. max_lanes = the CPUs in the process's affinity mask
// (one worker per logical CPU), compute_units = physical cores, memory_bytes = MemTotal, numa_node -1 (the
// device spans every node), nonce_size_max 8.
//
// Limits: lanes (0 = max_lanes; fixed while open), priority (a nice level per worker thread, 0 = leave
// it), OTD_LIMIT_PIN_THREADS (lane i on the i-th CPU of the affinity mask). OTD_LIMIT_HUGE_PAGES is
// the algorithm's business (its scan state); NUMA placement and huge-page tuning come later.
#include <otedama/sdk/backend.hpp>

#include <memory>
#include <string>
#include <vector>

#include "device.hpp"
#include "sensors.hpp"
#include "system_info.hpp"

namespace otedama::cpu_backend {
namespace {

/// The device info's "algorithms" value for "any algorithm with a CPU scan".
constexpr const char* kAnyAlgorithm = "*";
constexpr const char* kDeviceId = "cpu0";
/// Far above any machine's CPU count; stops a typo in mining.cpu.threads from starting 10^6 lanes.
constexpr uint32_t kMaxLanes = 4096;

Device& device_of(otd_device_t* device) {
    if (device == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "cpu: device is NULL");
    return *reinterpret_cast<Device*>(device);
}

class CpuBackend final : public sdk::Backend<CpuBackend> {
 public:
    using Backend::Backend;

    std::vector<otd_device_info_t> enumerate() {
        const SystemInfo system = probe_system();
        otd_device_info_t info = sdk::device_info(OTD_DEVICE_SCAN, kDeviceId, system.model, kAnyAlgorithm);
        info.memory_bytes = system.memory_bytes;
        info.compute_units = system.cores;
        info.max_lanes = std::max<uint32_t>(1, static_cast<uint32_t>(system.usable_cpus.size()));
        info.queue_depth = 0;
        info.numa_node = -1;
        info.nonce_size_max = 8;
        return {info};
    }

    otd_device_t* open_device(uint32_t index, const otd_device_limits_t& raw_limits) {
        if (index != 0) {
            throw sdk::Error(OTD_ERR_NOT_FOUND,
                             "cpu: no device " + std::to_string(index) + " (this backend has one device, cpu0)");
        }
        if (open_) throw sdk::Error(OTD_ERR_BUSY, "cpu0 is already open");
        const Limits limits = read_limits(raw_limits);
        std::vector<int> cpus = affinity_cpus();
        const uint32_t usable = std::max<uint32_t>(1, static_cast<uint32_t>(cpus.size()));
        const uint32_t lanes = limits.lanes != 0 ? limits.lanes : usable;
        if (lanes > kMaxLanes) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "cpu0: " + std::to_string(lanes) + " lanes requested, at most " +
                                                      std::to_string(kMaxLanes));
        }
        if (lanes > usable) {
            host().warn("cpu0: " + std::to_string(lanes) + " lanes on " + std::to_string(usable) +
                        " usable CPUs: workers will compete for cores");
        }
        auto device = std::make_unique<Device>(host(), kDeviceId, lanes, limits, std::move(cpus), Sensors::discover());
        host().info("cpu0: open with " + std::to_string(lanes) + " lanes" +
                    (limits.priority != 0 ? ", nice " + std::to_string(limits.priority) : std::string()) +
                    ((limits.flags & OTD_LIMIT_PIN_THREADS) != 0 ? ", pinned" : ""));
        open_ = true;
        return reinterpret_cast<otd_device_t*>(device.release());
    }

    void close_device(otd_device_t* device) {
        if (device == nullptr) return;
        delete &device_of(device);
        open_ = false;
    }

    void set_limits(otd_device_t* device, const otd_device_limits_t& limits) { device_of(device).set_limits(read_limits(limits)); }

    otd_device_telemetry_t telemetry(otd_device_t* device) { return device_of(device).telemetry(); }

    otd_status_t run(otd_device_t* device, uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done) {
        return device_of(device).run(lane, work, hashes_done);
    }

 private:
    bool open_ = false;  // [control] only
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_BACKEND, "org.otedama.backend.cpu", "cpu", "0.1.0", "Otedama",
    "Generic CPU backend: mines any algorithm whose plugin offers a CPU scan", "", OTD_BACKEND_INTERFACE_ID);

}  // namespace
}  // namespace otedama::cpu_backend

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<otedama::cpu_backend::CpuBackend>(otedama::cpu_backend::kDescriptor));
