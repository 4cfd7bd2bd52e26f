#include "cl_device.hpp"

#include <otedama/common/sha256.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "opencl_kernels.hpp"

namespace otedama::opencl_backend {
namespace {

constexpr uint32_t kDefaultIntensity = 20;
constexpr uint32_t kMaxIntensity = 31;
constexpr uint64_t kScryptBytesPerItem = 128ull * 1024;  // N = 1024 blocks of 128 bytes (r = 1)
constexpr uint64_t kItemGranule = 64;                     // launch sizes are multiples of this
constexpr uint32_t kParamWords = 35;                      // see sha256d.cl / scrypt.cl
constexpr uint32_t kEntryWords = 9;                       // nonce + 8 digest words
constexpr cl_uint kZero = 0;

uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

std::string_view embedded(std::string_view file) {
    for (const EmbeddedKernel& k : kEmbeddedKernels) {
        if (k.file == file) return k.source;
    }
    return {};
}

std::string read_kernel_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw sdk::Error(OTD_ERR_NOT_FOUND, "opencl: cannot read kernel source " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw sdk::Error(OTD_ERR_IO, "opencl: error reading kernel source " + path.string());
    return text.str();
}

/// An event released when it goes out of scope.
struct Event {
    cl_event e = nullptr;
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    Event(Event&& o) noexcept : e(std::exchange(o.e, nullptr)) {}
    Event& operator=(Event&& o) noexcept {
        if (this != &o) {
            reset();
            e = std::exchange(o.e, nullptr);
        }
        return *this;
    }
    ~Event() { reset(); }
    void reset() noexcept {
        if (e != nullptr) clReleaseEvent(e);
        e = nullptr;
    }
};

}  // namespace

std::vector<std::string> kernel_files(const std::string& algorithm) {
    if (algorithm == "ethash" || algorithm == "etchash") return {"keccak.cl", "ethash.cl"};
    if (algorithm == "kawpow") return {"keccak.cl", "ethash.cl", "kawpow.cl"};
    return {"sha256.cl", algorithm + ".cl"};
}

std::string kernel_file(const Settings& settings, const std::string& file) {
    if (!settings.kernel_dir.empty()) return read_kernel_file(std::filesystem::path(settings.kernel_dir) / file);
    const std::string_view text = embedded(file);
    if (text.empty()) throw sdk::Error(OTD_ERR_NOT_FOUND, "opencl: no embedded kernel " + file);
    return std::string(text);
}

std::string kernel_source(const Settings& settings, const std::string& algorithm) {
    std::string out;
    for (const std::string& file : kernel_files(algorithm)) out += kernel_file(settings, file) + "\n";
    return out;
}

Device::Device(const sdk::Host& host, Runtime& runtime, uint32_t intensity, const Settings& settings)
    : host_(host),
      runtime_(runtime),
      settings_(settings),
      where_(runtime.desc().id + " (" + runtime.desc().name + ")"),
      intensity_(intensity) {
    algorithms_.push_back(Algorithm{"sha256d", "otd_sha256d_scan", false});
    algorithms_.push_back(Algorithm{"scrypt", "otd_scrypt_scan", true});
    algorithms_.push_back(Algorithm{"ethash", "otd_ethash_search", false, 0, &ethash::kEthash});
    algorithms_.push_back(Algorithm{"etchash", "otd_ethash_search", false, 0, &ethash::kEtchash});
    algorithms_.push_back(Algorithm{"kawpow", "otd_kawpow_search", false, 0, &ethash::kKawpow});
    // KawPow: 16 work-items per hash, 4 hashes per work-group where the device allows 64.
    kawpow_group_ = static_cast<uint32_t>(std::clamp<size_t>(runtime_.desc().max_work_group / 16 * 16, 16, 64));
    cl_int st = CL_SUCCESS;
    try {
        params_ = clCreateBuffer(runtime_.context(), CL_MEM_READ_ONLY, kParamWords * sizeof(cl_uint), nullptr, &st);
        check(st, where_, "clCreateBuffer(parameters)");
        for (size_t i = 0; i < results_.size(); ++i) {
            const size_t words = 1 + size_t{kEntryWords} * kResultCapacity;
            results_[i] = clCreateBuffer(runtime_.context(), CL_MEM_READ_WRITE, words * sizeof(cl_uint), nullptr, &st);
            check(st, where_, "clCreateBuffer(results)");
            host_results_[i].assign(words, 0);
        }
    } catch (...) {
        for (cl_mem m : results_)
            if (m != nullptr) clReleaseMemObject(m);
        if (params_ != nullptr) clReleaseMemObject(params_);
        throw;
    }
    last_sample_ = std::chrono::steady_clock::now();
}

Device::~Device() {
    clFinish(runtime_.queue());
    release_period_programs();
    dataset_.reset();
    for (cl_mem m : eth_results_)
        if (m != nullptr) clReleaseMemObject(m);
    if (eth_params_ != nullptr) clReleaseMemObject(eth_params_);
    if (scratch_ != nullptr) clReleaseMemObject(scratch_);
    for (cl_mem m : results_)
        if (m != nullptr) clReleaseMemObject(m);
    if (params_ != nullptr) clReleaseMemObject(params_);
}

void Device::set_intensity(uint32_t intensity) { intensity_.store(intensity, std::memory_order_relaxed); }

Device::Algorithm& Device::algorithm_for(const otd_work_unit_t& work) {
    std::string name;
    if (work.algorithm != nullptr) {
        name = work.algorithm;
    } else if (work.algorithm_table != nullptr && work.algorithm_table->name != nullptr) {
        name = work.algorithm_table->name;
    }
    for (Algorithm& a : algorithms_) {
        if (a.name == name) return a;
    }
    throw sdk::Error(OTD_ERR_UNSUPPORTED, where_ + ": no OpenCL kernel for algorithm '" + name + "' (this backend runs " +
                                              kAlgorithms + ")");
}

uint64_t Device::max_items(const Algorithm& algorithm) const {
    uint32_t intensity = intensity_.load(std::memory_order_relaxed);
    if (intensity == 0) intensity = kDefaultIntensity;
    intensity = std::min(intensity, kMaxIntensity);
    uint64_t items = uint64_t{1} << intensity;
    if (algorithm.scrypt) {
        const DeviceDesc& d = runtime_.desc();
        uint64_t memory = d.max_allocation;
        if (d.global_memory != 0) memory = std::min(memory, d.global_memory / 2);
        items = std::min(items, memory / kScryptBytesPerItem);
        if (items == 0) {
            throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": scrypt needs 128 KiB of device memory per work item; the device "
                                                         "allows " + std::to_string(d.max_allocation) + " bytes per buffer");
        }
    }
    return std::max<uint64_t>(1, items);
}

void Device::ensure_scratch(uint64_t items) {
    if (scratch_ != nullptr && scratch_items_ == items) return;
    if (scratch_ != nullptr) {
        clFinish(runtime_.queue());
        clReleaseMemObject(scratch_);
        scratch_ = nullptr;
        scratch_items_ = 0;
    }
    cl_int st = CL_SUCCESS;
    scratch_ = clCreateBuffer(runtime_.context(), CL_MEM_READ_WRITE, items * kScryptBytesPerItem, nullptr, &st);
    if (st != CL_SUCCESS) {
        scratch_ = nullptr;
        throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": cannot allocate the scrypt scratchpad (" + std::to_string(items) +
                                                " items x 128 KiB = " + std::to_string((items * kScryptBytesPerItem) >> 20) +
                                                " MiB; lower mining.gpu.intensity): " + cl_error_name(st));
    }
    scratch_items_ = items;
}

void Device::write_params(const otd_work_unit_t& work) {
    const uint8_t* h = work.blob;
    std::array<cl_uint, kParamWords> p{};
    const common::Sha256State mid = common::sha256_midstate(std::span<const uint8_t, 64>(h, 64));
    for (int i = 0; i < 8; ++i) p[i] = mid[i];
    for (int i = 0; i < 3; ++i) p[8 + i] = be32(h + 64 + 4 * i);
    for (int i = 0; i < 8; ++i) p[11 + i] = le32(work.share_target + 4 * i);
    for (int i = 0; i < 16; ++i) p[19 + i] = be32(h + 4 * i);
    check(clEnqueueWriteBuffer(runtime_.queue(), params_, CL_TRUE, 0, sizeof p, p.data(), 0, nullptr, nullptr), where_,
          "writing the work unit's parameters");
}

otd_status_t Device::run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done) {
    hashes_done = 0;
    if (lane != 0) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": lane " + std::to_string(lane) + " out of range (one lane per device)");
    }
    if (!sdk::struct_covers(work, OTD_FIELD_END(otd_work_unit_t, on_found_user))) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": work unit struct_size " + std::to_string(work.struct_size) +
                                                  " lacks the callback fields");
    }
    Algorithm& algorithm = algorithm_for(work);
    if (algorithm.variant != nullptr) return run_ethash(algorithm, work, hashes_done);
    if (work.blob == nullptr || work.blob_size != 80 || work.nonce_offset != 76 || work.nonce_size != 4) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": " + algorithm.name +
                                                  " work must be an 80-byte header with a 4-byte nonce at offset 76 (got " +
                                                  std::to_string(work.blob_size) + " bytes, " + std::to_string(work.nonce_size) +
                                                  "-byte nonce at " + std::to_string(work.nonce_offset) + ")");
    }
    if (work.nonce_start > 0xffffffffULL || work.nonce_count > 0x100000000ULL - work.nonce_start) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": nonce range " + std::to_string(work.nonce_start) + " + " +
                                                  std::to_string(work.nonce_count) + " leaves the 32-bit nonce field");
    }
    if (work.on_found == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": work unit has no on_found callback");
    if (work.nonce_count == 0) return OTD_OK;
    const auto aborted = [&] { return work.abort_flag != nullptr && *work.abort_flag != 0; };
    if (aborted()) return OTD_ERR_ABORTED;

    cl_command_queue queue = runtime_.queue();
    check(clFinish(queue), where_, "clFinish");  // nothing of an earlier, failed run is still in flight
    cl_kernel kernel = runtime_.kernel(
        algorithm.name, [&] { return kernel_source(settings_, algorithm.name); }, algorithm.kernel_name);
    const uint64_t limit = max_items(algorithm);
    if (algorithm.scrypt) ensure_scratch(limit);
    write_params(work);

    struct Launch {
        Range range;
        size_t slot;
        Event done;
        std::chrono::steady_clock::time_point enqueued;
    };
    std::deque<Launch> inflight;
    std::deque<Range> research;  // launches whose results overflowed, searched again in smaller pieces
    Range rest{work.nonce_start, work.nonce_count};
    size_t next_slot = 0;
    uint64_t previous_items = 0;
    bool stop = false;  // aborted, or the host said the work is stale
    auto last_done = std::chrono::steady_clock::now();
    const double launch_s = settings_.launch_ms / 1000.0;

    const auto launch_size = [&]() -> uint64_t {
        uint64_t items = algorithm.scrypt ? kItemGranule : 16 * 1024;  // until the rate is measured
        if (algorithm.items_per_second > 0) items = static_cast<uint64_t>(algorithm.items_per_second * launch_s);
        if (previous_items != 0) items = std::min(items, previous_items * 4);  // grow gradually
        items = std::max<uint64_t>(items / kItemGranule * kItemGranule, kItemGranule);
        return std::min(items, limit);
    };

    const auto enqueue = [&](Range range) {
        const size_t slot = next_slot;
        next_slot ^= 1;
        const cl_uint base = static_cast<cl_uint>(range.start);
        const cl_uint count = static_cast<cl_uint>(range.count);
        const cl_uint capacity = kResultCapacity;
        check(clSetKernelArg(kernel, 0, sizeof(cl_mem), &params_), where_, "clSetKernelArg(params)");
        check(clSetKernelArg(kernel, 1, sizeof base, &base), where_, "clSetKernelArg(nonce_base)");
        check(clSetKernelArg(kernel, 2, sizeof count, &count), where_, "clSetKernelArg(count)");
        check(clSetKernelArg(kernel, 3, sizeof(cl_mem), &results_[slot]), where_, "clSetKernelArg(results)");
        check(clSetKernelArg(kernel, 4, sizeof capacity, &capacity), where_, "clSetKernelArg(capacity)");
        size_t global = static_cast<size_t>((range.count + kItemGranule - 1) / kItemGranule * kItemGranule);
        if (algorithm.scrypt) {
            global = std::min<size_t>(global, static_cast<size_t>(scratch_items_));
            const cl_uint stride = static_cast<cl_uint>(global);
            check(clSetKernelArg(kernel, 5, sizeof(cl_mem), &scratch_), where_, "clSetKernelArg(scratch)");
            check(clSetKernelArg(kernel, 6, sizeof stride, &stride), where_, "clSetKernelArg(stride)");
        }
        check(clEnqueueWriteBuffer(queue, results_[slot], CL_FALSE, 0, sizeof kZero, &kZero, 0, nullptr, nullptr), where_,
              "clearing the result counter");
        check(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, nullptr, 0, nullptr, nullptr), where_,
              ("launching the " + algorithm.name + " kernel (" + std::to_string(global) + " items)").c_str());
        Launch l{range, slot, Event{}, std::chrono::steady_clock::now()};
        check(clEnqueueReadBuffer(queue, results_[slot], CL_FALSE, 0, host_results_[slot].size() * sizeof(cl_uint),
                                  host_results_[slot].data(), 0, nullptr, &l.done.e),
              where_, "reading the results");
        check(clFlush(queue), where_, "clFlush");
        launches_.fetch_add(1, std::memory_order_relaxed);
        inflight.push_back(std::move(l));
    };

    const auto fill = [&] {
        while (inflight.size() < 2 && !stop) {
            if (aborted()) {
                stop = true;
                break;
            }
            if (!research.empty()) {
                Range& r = research.front();
                const uint64_t n = std::min<uint64_t>({r.count, kResultCapacity, limit});
                enqueue(Range{r.start, n});
                r.start += n;
                r.count -= n;
                if (r.count == 0) research.pop_front();
            } else if (rest.count > 0) {
                const uint64_t n = std::min(rest.count, launch_size());
                previous_items = n;
                enqueue(Range{rest.start, n});
                rest.start += n;
                rest.count -= n;
            } else {
                break;
            }
        }
    };

    try {
        fill();
        while (!inflight.empty()) {
            Launch l = std::move(inflight.front());
            inflight.pop_front();
            check(clWaitForEvents(1, &l.done.e), where_, ("running the " + algorithm.name + " kernel").c_str());
            const auto now = std::chrono::steady_clock::now();
            // The launch ran from when it was queued or when the one before it finished, whichever was later.
            const double ran = std::chrono::duration<double>(now - std::max(l.enqueued, last_done)).count();
            last_done = now;
            if (ran > 0 && l.range.count >= kItemGranule) {
                const double rate = static_cast<double>(l.range.count) / ran;
                algorithm.items_per_second =
                    algorithm.items_per_second > 0 ? 0.5 * algorithm.items_per_second + 0.5 * rate : rate;
            }
            const std::vector<cl_uint>& out = host_results_[l.slot];
            const uint32_t found = out[0];
            if (found > kResultCapacity) {
                // More nonces than the buffer holds: search this range again in pieces that cannot overflow.
                overflows_.fetch_add(1, std::memory_order_relaxed);
                research.push_back(l.range);
            } else {
                hashes_done += l.range.count;
                hashes_.fetch_add(l.range.count, std::memory_order_relaxed);
                for (uint32_t i = 0; i < found && !stop; ++i) {
                    const cl_uint* entry = out.data() + 1 + size_t{kEntryWords} * i;
                    const uint64_t nonce = entry[0];
                    if (nonce < l.range.start || nonce - l.range.start >= l.range.count) {
                        hardware_errors_.fetch_add(1, std::memory_order_relaxed);
                        host_.warn(where_ + ": the " + algorithm.name + " kernel reported nonce " + std::to_string(nonce) +
                                   " outside its launch " + std::to_string(l.range.start) + " + " +
                                   std::to_string(l.range.count) + "; dropped");
                        continue;
                    }
                    otd_found_t f = sdk::make_struct<otd_found_t>();
                    f.work_id = work.work_id;
                    f.nonce = nonce;
                    for (int w = 0; w < 8; ++w) {
                        for (int b = 0; b < 4; ++b) f.hash[4 * w + b] = static_cast<uint8_t>(entry[1 + w] >> (24 - 8 * b));
                    }
                    if (work.on_found(work.on_found_user, &f) == OTD_ERR_ABORTED) stop = true;
                }
            }
            if (aborted()) stop = true;
            fill();
        }
    } catch (...) {
        clFinish(queue);  // the reads still in flight write into host_results_
        throw;
    }
    const bool finished = rest.count == 0 && research.empty();
    return finished ? OTD_OK : OTD_ERR_ABORTED;
}

otd_device_telemetry_t Device::telemetry() {
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    const std::lock_guard lock(telemetry_mutex_);
    const uint64_t total = hashes_.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_sample_).count();
    if (seconds > 0) {
        last_hashrate_ = static_cast<double>(total - last_sample_hashes_) / seconds;
        last_sample_ = now;
        last_sample_hashes_ = total;
    }
    t.hashrate = last_hashrate_;
    t.hashes_total = total;
    t.temperature_c = -1;  // no vendor telemetry through OpenCL yet (README.md)
    t.fan_percent = -1;
    t.power_w = -1;
    t.throttled = 0;
    t.hardware_errors = hardware_errors_.load(std::memory_order_relaxed);
    return t;
}

}  // namespace otedama::opencl_backend
