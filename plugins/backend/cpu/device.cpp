#include "device.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

namespace otedama::cpu_backend {
namespace {

constexpr int32_t kNiceMin = -20;
constexpr int32_t kNiceMax = 19;

/// FNV-1a: enough to tell two seeds apart in a cache key (the context pointer does the heavy lifting).
uint64_t digest(const uint8_t* data, uint32_t size) noexcept {
    uint64_t h = 0xcbf29ce484222325ULL ^ size;
    for (uint32_t i = 0; i < size; ++i) {
        h ^= data[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::string algorithm_name(const otd_work_unit_t& work, const otd_algorithm_t* table) {
    if (table != nullptr && OTD_HAS_FIELD(table, otd_algorithm_t, name) && table->name != nullptr) return table->name;
    if (work.algorithm != nullptr) return work.algorithm;
    return "(unnamed)";
}

/// Sets the calling thread's (tid's) affinity to `cpus`; errno on failure.
bool set_affinity(pid_t tid, const std::vector<int>& cpus) {
    if (cpus.empty()) {
        errno = EINVAL;
        return false;
    }
    const int capacity = *std::max_element(cpus.begin(), cpus.end()) + 1;
    cpu_set_t* set = CPU_ALLOC(capacity);
    if (set == nullptr) return false;
    const size_t size = CPU_ALLOC_SIZE(capacity);
    CPU_ZERO_S(size, set);
    for (const int cpu : cpus) CPU_SET_S(cpu, size, set);
    const bool ok = ::sched_setaffinity(tid, size, set) == 0;
    const int error = errno;
    CPU_FREE(set);
    errno = error;
    return ok;
}

/// A number for the calling thread that no other thread of the process ever gets (kernel tids are reused).
uint64_t thread_token() noexcept {
    static std::atomic<uint64_t> next{1};
    thread_local const uint64_t token = next.fetch_add(1, std::memory_order_relaxed);
    return token;
}

}  // namespace

Limits read_limits(const otd_device_limits_t& in) {
    Limits out;
    if (sdk::struct_covers(in, OTD_FIELD_END(otd_device_limits_t, lanes))) out.lanes = in.lanes;
    if (sdk::struct_covers(in, OTD_FIELD_END(otd_device_limits_t, priority))) out.priority = in.priority;
    if (sdk::struct_covers(in, OTD_FIELD_END(otd_device_limits_t, flags))) out.flags = in.flags;
    if (out.priority < kNiceMin || out.priority > kNiceMax) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "cpu: priority " + std::to_string(out.priority) +
                                                  " is not a nice level (-20 .. 19, 0 = leave as is)");
    }
    return out;
}

const char* status_name(otd_status_t status) noexcept {
    switch (status) {
        case OTD_OK: return "OTD_OK";
        case OTD_ERR_GENERIC: return "OTD_ERR_GENERIC";
        case OTD_ERR_INVALID_ARG: return "OTD_ERR_INVALID_ARG";
        case OTD_ERR_UNSUPPORTED: return "OTD_ERR_UNSUPPORTED";
        case OTD_ERR_NO_MEMORY: return "OTD_ERR_NO_MEMORY";
        case OTD_ERR_BUFFER_TOO_SMALL: return "OTD_ERR_BUFFER_TOO_SMALL";
        case OTD_ERR_NOT_FOUND: return "OTD_ERR_NOT_FOUND";
        case OTD_ERR_BUSY: return "OTD_ERR_BUSY";
        case OTD_ERR_ABORTED: return "OTD_ERR_ABORTED";
        case OTD_ERR_IO: return "OTD_ERR_IO";
        case OTD_ERR_TIMEOUT: return "OTD_ERR_TIMEOUT";
        case OTD_ERR_STATE: return "OTD_ERR_STATE";
        case OTD_ERR_SELF_TEST: return "OTD_ERR_SELF_TEST";
        case OTD_ERR_EXCEPTION: return "OTD_ERR_EXCEPTION";
        case OTD_ERR_VERSION: return "OTD_ERR_VERSION";
        default: return "unknown status";
    }
}

Device::Device(const sdk::Host& host, std::string id, uint32_t lanes, const Limits& limits, std::vector<int> cpus,
               Sensors sensors)
    : host_(host),
      id_(std::move(id)),
      cpus_(std::move(cpus)),
      priority_(limits.priority),
      flags_(limits.flags),
      sensors_(std::move(sensors)) {
    lanes_.reserve(lanes);
    for (uint32_t i = 0; i < lanes; ++i) lanes_.push_back(std::make_unique<Lane>());
    last_sample_ns_ = now_ns();
    (void)sensors_.sample_power_w(last_sample_ns_);  // the baseline of the first interval
}

Device::~Device() {
    for (const std::unique_ptr<Lane>& lane : lanes_) drop_state(*lane);
}

uint64_t Device::now_ns() const noexcept {
    const otd_host_t* raw = host_.raw();
    if (raw != nullptr && raw->monotonic_ns != nullptr) return raw->monotonic_ns(raw);
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

void Device::drop_state(Lane& lane) noexcept {
    if (lane.state == nullptr) return;
    lane.key.table->destroy_scan_state(lane.key.plugin, lane.state);
    lane.state = nullptr;
    lane.key = ScanKey{};
}

void Device::prepare_thread(Lane& lane, uint32_t index) {
    const uint64_t token = thread_token();
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    if (lane.thread == token && lane.applied_generation == generation) return;
    const pid_t tid = ::gettid();
    if (lane.thread != token) {
        // Another worker took the lane over: the old state belonged to the old thread (which may be gone,
        // so it is destroyed here), and this thread's nice level and affinity are its own so far.
        drop_state(lane);
        lane.thread = token;
        lane.nice_changed = false;
        lane.pinned = false;
        errno = 0;
        const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
        lane.original_nice = errno == 0 ? nice : 0;
    }
    apply_priority(lane, tid, priority_.load(std::memory_order_relaxed));
    apply_pinning(lane, tid, index, (flags_.load(std::memory_order_relaxed) & OTD_LIMIT_PIN_THREADS) != 0);
    lane.applied_generation = generation;
}

void Device::apply_priority(Lane& lane, pid_t tid, int32_t priority) {
    // Linux keeps a nice level per thread: PRIO_PROCESS with a tid changes only that worker.
    if (priority == 0 && !lane.nice_changed) return;
    const int wanted = priority != 0 ? priority : lane.original_nice;
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), wanted) == 0) {
        lane.nice_changed = priority != 0;
        return;
    }
    const int error = errno;
    if (!priority_warned_.exchange(true)) {
        host_.warn(id_ + ": cannot set the workers' nice level to " + std::to_string(wanted) + ": " +
                   std::system_category().message(error) +
                   (wanted < lane.original_nice ? " (raising priority needs CAP_SYS_NICE or RLIMIT_NICE)" : "") +
                   "; mining continues at nice " + std::to_string(lane.original_nice));
    }
}

void Device::apply_pinning(Lane& lane, pid_t tid, uint32_t index, bool pin) {
    if (pin) {
        const bool ok = !cpus_.empty() && set_affinity(tid, {cpus_[index % cpus_.size()]});
        if (ok) {
            lane.pinned = true;
        } else if (!pinning_warned_.exchange(true)) {
            host_.warn(id_ + ": cannot pin lane " + std::to_string(index) + " to a CPU: " +
                       (cpus_.empty() ? std::string("the process's CPU affinity is unknown")
                                      : std::system_category().message(errno)) +
                       "; lanes run unpinned");
        }
    } else if (lane.pinned) {
        // Pinning was switched off: give the worker back every CPU the process had at open.
        if (set_affinity(tid, cpus_)) lane.pinned = false;
    }
}

otd_status_t Device::run(uint32_t index, const otd_work_unit_t& work, uint64_t& hashes_done) {
    hashes_done = 0;
    if (index >= lanes_.size()) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, id_ + ": lane " + std::to_string(index) + " out of range (the device has " +
                                                  std::to_string(lanes_.size()) + " lanes)");
    }
    if (!sdk::struct_covers(work, OTD_FIELD_END(otd_work_unit_t, on_found_user))) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, id_ + ": work unit struct_size " + std::to_string(work.struct_size) +
                                                  " lacks the algorithm and callback fields");
    }
    Lane& lane = *lanes_[index];
    prepare_thread(lane, index);

    const otd_algorithm_t* table = work.algorithm_table;
    const std::string where = id_ + " lane " + std::to_string(index) + ": ";
    if (table == nullptr) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where + "work unit for '" + algorithm_name(work, table) +
                                                  "' carries no algorithm table");
    }
    if (!OTD_HAS_FIELD(table, otd_algorithm_t, scan) || table->create_scan_state == nullptr ||
        table->destroy_scan_state == nullptr || table->scan == nullptr) {
        throw sdk::Error(OTD_ERR_UNSUPPORTED, where + "algorithm '" + algorithm_name(work, table) +
                                                  "' has no CPU scan (its plugin leaves create_scan_state/scan NULL)");
    }
    if (work.on_found == nullptr) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where + "work unit has no on_found callback");
    }
    if (work.nonce_count == 0) return OTD_OK;
    if (work.abort_flag != nullptr && *work.abort_flag != 0) return OTD_ERR_ABORTED;

    const ScanKey key{work.algorithm_plugin, table, work.algorithm_context, work.algorithm_context_id, work.epoch,
                      work.seed != nullptr ? digest(work.seed, work.seed_size) : 0};
    if (lane.state != nullptr && !(lane.key == key)) drop_state(lane);
    if (lane.state == nullptr) {
        char err[OTD_ERROR_CAP] = {};
        otd_scan_state_t* state = nullptr;
        // Created here, on the lane's own thread: first touch places the scratchpad on this thread's NUMA
        // node; the algorithm may ask the host's memory service for huge pages when the operator allows them.
        otd_scan_params_t params = sdk::make_struct<otd_scan_params_t>();
        params.flags = (flags_.load(std::memory_order_relaxed) & OTD_LIMIT_HUGE_PAGES) != 0 ? OTD_SCAN_HUGE_PAGES : 0U;
        params.numa_node = -1;
        params.lane = index;
        const otd_status_t st =
            table->create_scan_state(work.algorithm_plugin, work.algorithm_context, &params, &state, err, sizeof err);
        if (st != OTD_OK || state == nullptr) {
            if (st == OTD_OK) table->destroy_scan_state(work.algorithm_plugin, state);
            throw sdk::Error(st != OTD_OK ? st : OTD_ERR_GENERIC,
                             where + "cannot create a scan state for '" + algorithm_name(work, table) + "': " +
                                 (err[0] != '\0' ? err : status_name(st)));
        }
        lane.state = state;
        lane.key = key;
    }

    otd_scan_stats_t stats = sdk::make_struct<otd_scan_stats_t>();
    const otd_status_t st = table->scan(work.algorithm_plugin, lane.state, &work, &stats);
    hashes_done = std::min(stats.hashes, work.nonce_count);
    lane.hashes.fetch_add(hashes_done, std::memory_order_relaxed);
    if (st == OTD_ERR_ABORTED) return st;
    if (st >= 0) return OTD_OK;
    drop_state(lane);  // a scan that failed may have left its state unusable
    throw sdk::Error(st, where + "scan of '" + algorithm_name(work, table) + "' failed: " + status_name(st));
}

void Device::set_limits(const Limits& limits) {
    if (limits.lanes != 0 && limits.lanes != lanes_.size()) {
        throw sdk::Error(OTD_ERR_UNSUPPORTED, id_ + ": the lane count is fixed while open (" +
                                                  std::to_string(lanes_.size()) + "); reopen the device for " +
                                                  std::to_string(limits.lanes));
    }
    priority_.store(limits.priority, std::memory_order_relaxed);
    flags_.store(limits.flags, std::memory_order_relaxed);
    // Warn again if the new settings fail too.
    priority_warned_.store(false, std::memory_order_relaxed);
    pinning_warned_.store(false, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
}

otd_device_telemetry_t Device::telemetry() {
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    // Sum under the lock: two concurrent callers must not see totals older than the last sample.
    const std::lock_guard lock(telemetry_mutex_);
    uint64_t total = 0;
    for (const std::unique_ptr<Lane>& lane : lanes_) total += lane->hashes.load(std::memory_order_relaxed);
    const uint64_t now = now_ns();
    if (now > last_sample_ns_) {
        last_hashrate_ = static_cast<double>(total - last_sample_hashes_) * 1e9 / static_cast<double>(now - last_sample_ns_);
        last_sample_ns_ = now;
        last_sample_hashes_ = total;
    }
    t.hashrate = last_hashrate_;
    t.hashes_total = total;
    t.temperature_c = sensors_.temperature_c();
    t.fan_percent = -1;
    t.power_w = sensors_.sample_power_w(now);
    t.throttled = 0;
    t.hardware_errors = 0;
    return t;
}

}  // namespace otedama::cpu_backend
