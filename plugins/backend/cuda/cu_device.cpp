#include "cu_device.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cuda_kernels.hpp"
#include "ethash_core.cuh"
#include "scrypt_core.cuh"
#include "sha256d_core.cuh"

namespace otedama::cuda_backend {
namespace {

constexpr uint32_t kDefaultIntensity = 30;
constexpr uint32_t kMaxIntensity = 31;
constexpr uint64_t kScryptBytesPerItem = 128ull * 1024;
constexpr uint64_t kItemGranule = 256;  // launch sizes are multiples of this (one block of 256 threads)
constexpr uint32_t kEntryWords = 9;
constexpr size_t kResultWords = 1 + size_t{kEntryWords} * Device::kResultCapacity;
// The result buffers also serve the Ethash family, whose entries are larger (nonce, mix, hash: 18 words).
constexpr size_t kResultBufferWords = 1 + size_t{OTD_ETH_ENTRY_WORDS} * Device::kResultCapacity;

/// The fatbin for `algorithm`: <kernel_dir>/<algorithm>.fatbin when kernel_dir is set, else embedded.
std::string fatbin(const Settings& settings, const std::string& algorithm) {
  if (!settings.kernel_dir.empty()) {
    const std::filesystem::path path = std::filesystem::path(settings.kernel_dir) / (algorithm + ".fatbin");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw sdk::Error(OTD_ERR_NOT_FOUND, "cuda: cannot read kernel image " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  for (const EmbeddedFatbin& k : kEmbeddedFatbins) {
    if (k.name == algorithm) return std::string(reinterpret_cast<const char*>(k.data), k.size);
  }
  throw sdk::Error(OTD_ERR_NOT_FOUND, "cuda: no embedded kernel image for " + algorithm);
}

}  // namespace

Device::Device(const sdk::Host& host, const Driver& driver, const DeviceDesc& desc, Limits limits, const Settings& settings)
    : host_(host),
      cu_(driver),
      desc_(desc),
      settings_(settings),
      where_(desc.id + " (" + desc.name + ")"),
      intensity_(limits.intensity),
      temperature_limit_(limits.temperature_limit_c) {
  algorithms_.push_back(Algorithm{"sha256d", "otd_sha256d_scan", false});
  algorithms_.push_back(Algorithm{"scrypt", "otd_scrypt_scan", true});
  algorithms_.push_back(Algorithm{"ethash", "otd_ethash_search", false, &ethash::kEthash});
  algorithms_.push_back(Algorithm{"etchash", "otd_ethash_search", false, &ethash::kEtchash});
  algorithms_.push_back(Algorithm{"kawpow", "otd_kawpow_search", false, &ethash::kKawpow});
  open_context();
  last_sample_ = std::chrono::steady_clock::now();
}

// A device a fault left broken is reset, not synchronised: a hung launch would never let a sync return.
Device::~Device() { close_context(broken_); }

void Device::open_context() {
  CUdevice dev = 0;
  check(cu_, cu_.cuDeviceGet(&dev, desc_.ordinal), where_, "cuDeviceGet");
  check(cu_, cu_.cuDevicePrimaryCtxRetain(&ctx_, dev), where_, "cuDevicePrimaryCtxRetain");
  try {
    check(cu_, cu_.cuCtxSetCurrent(ctx_), where_, "cuCtxSetCurrent");
    check(cu_, cu_.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), where_, "cuStreamCreate");
    for (size_t i = 0; i < results_.size(); ++i) {
      check(cu_, cu_.cuEventCreate(&events_[i], CU_EVENT_DISABLE_TIMING), where_, "cuEventCreate");
      check(cu_, cu_.cuMemAlloc_v2(&results_[i], kResultBufferWords * sizeof(uint32_t)), where_, "cuMemAlloc(results)");
      void* host = nullptr;
      check(cu_, cu_.cuMemAllocHost_v2(&host, kResultBufferWords * sizeof(uint32_t)), where_, "cuMemAllocHost(results)");
      host_results_[i] = static_cast<uint32_t*>(host);
    }
  } catch (...) {
    close_context(false);
    throw;
  }
}

void Device::close_context(bool reset) {
  if (ctx_ == nullptr) return;
  (void)cu_.cuCtxSetCurrent(ctx_);
  if (reset) {
    // After a hung launch or a sticky fault nothing is freed one by one: cuMemFree and cuModuleUnload
    // synchronise with the device, which a hung kernel never lets return. cuDevicePrimaryCtxReset below
    // destroys the context with every allocation, module, stream and event in it.
    for (Algorithm& a : algorithms_) {
      a.module = nullptr;
      a.function = nullptr;
    }
    scratch_ = 0;
    scratch_items_ = 0;
    release_ethash(true);
    results_.fill(0);
    host_results_.fill(nullptr);
    events_.fill(nullptr);
    stream_ = nullptr;
  }
  if (stream_ != nullptr) (void)cu_.cuStreamSynchronize(stream_);
  for (Algorithm& a : algorithms_) {
    if (a.module != nullptr) (void)cu_.cuModuleUnload(a.module);
    a.module = nullptr;
    a.function = nullptr;
  }
  if (scratch_ != 0) (void)cu_.cuMemFree_v2(scratch_);
  scratch_ = 0;
  scratch_items_ = 0;
  release_ethash(false);
  for (size_t i = 0; i < results_.size(); ++i) {
    if (results_[i] != 0) (void)cu_.cuMemFree_v2(results_[i]);
    if (host_results_[i] != nullptr) (void)cu_.cuMemFreeHost(host_results_[i]);
    if (events_[i] != nullptr) (void)cu_.cuEventDestroy_v2(events_[i]);
    results_[i] = 0;
    host_results_[i] = nullptr;
    events_[i] = nullptr;
  }
  if (stream_ != nullptr) (void)cu_.cuStreamDestroy_v2(stream_);
  stream_ = nullptr;
  CUdevice dev = 0;
  (void)cu_.cuDeviceGet(&dev, desc_.ordinal);
  (void)cu_.cuCtxSetCurrent(nullptr);
  (void)cu_.cuDevicePrimaryCtxRelease_v2(dev);
  // Destroys the context even where other references remain: what a hung or faulted context needs.
  if (reset) (void)cu_.cuDevicePrimaryCtxReset_v2(dev);
  ctx_ = nullptr;
}

void Device::set_limits(Limits limits) {
  intensity_.store(limits.intensity, std::memory_order_relaxed);
  temperature_limit_.store(limits.temperature_limit_c, std::memory_order_relaxed);
}

Device::Algorithm& Device::algorithm_for(const otd_work_unit_t& work) {
  std::string name;
  if (work.algorithm != nullptr) {
    name = work.algorithm;
  } else if (work.algorithm_table != nullptr && work.algorithm_table->name != nullptr) {
    name = work.algorithm_table->name;
  }
  for (Algorithm& a : algorithms_)
    if (a.name == name) return a;
  throw sdk::Error(OTD_ERR_UNSUPPORTED, where_ + ": no CUDA kernel for algorithm '" + name + "' (this backend runs " + kAlgorithms + ")");
}

void Device::load_kernel(Algorithm& a) {
  if (a.function != nullptr) return;
  const std::string image = fatbin(settings_, a.name);
  // The JIT (PTX for a GPU newer than the built sm_90 code) reports into these buffers.
  std::array<char, 8192> log{};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* values[] = {log.data(), reinterpret_cast<void*>(static_cast<uintptr_t>(log.size()))};
  const CUresult r = cu_.cuModuleLoadDataEx(&a.module, image.data(), 2, options, values);
  if (r != CUDA_SUCCESS) {
    a.module = nullptr;
    const std::string text(log.data(), strnlen(log.data(), log.size()));
    if (!text.empty()) host_.error(where_ + ": loading the " + a.name + " kernel: " + text);
    throw sdk::Error(OTD_ERR_STATE, where_ + ": loading the " + a.name + " kernel failed: " + cu_error_name(cu_, r) +
                                        " (built for sm_90 + compute_90 PTX; this GPU is sm_" + std::to_string(desc_.cc_major) +
                                        std::to_string(desc_.cc_minor) + ")" + (text.empty() ? "" : ": " + text.substr(0, 200)));
  }
  check(cu_, cu_.cuModuleGetFunction(&a.function, a.module, a.kernel_name), where_, "cuModuleGetFunction");
}

uint64_t Device::max_items(const Algorithm& a) {
  uint32_t intensity = intensity_.load(std::memory_order_relaxed);
  if (intensity == 0) intensity = kDefaultIntensity;
  intensity = std::min(intensity, kMaxIntensity);
  uint64_t items = uint64_t{1} << intensity;
  if (a.scrypt) {
    size_t free = 0, total = 0;
    check(cu_, cu_.cuMemGetInfo_v2(&free, &total), where_, "cuMemGetInfo");
    // What is free now plus what our own scratchpad holds, leaving a quarter for everyone else.
    const uint64_t usable = (static_cast<uint64_t>(free) + scratch_items_ * kScryptBytesPerItem) / 4 * 3;
    items = std::min(items, usable / kScryptBytesPerItem / kItemGranule * kItemGranule);
    if (items == 0) {
      throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": scrypt needs 128 KiB of device memory per thread; only " +
                                              std::to_string(free >> 20) + " MiB are free");
    }
  }
  return std::max<uint64_t>(kItemGranule, items / kItemGranule * kItemGranule);
}

void Device::ensure_scratch(uint64_t items) {
  if (scratch_ != 0 && scratch_items_ == items) return;
  if (scratch_ != 0) {
    (void)cu_.cuStreamSynchronize(stream_);
    (void)cu_.cuMemFree_v2(scratch_);
    scratch_ = 0;
    scratch_items_ = 0;
  }
  const CUresult r = cu_.cuMemAlloc_v2(&scratch_, items * kScryptBytesPerItem);
  if (r != CUDA_SUCCESS) {
    scratch_ = 0;
    throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": cannot allocate the scrypt scratchpad (" + std::to_string(items) + " threads x 128 KiB = " +
                                            std::to_string((items * kScryptBytesPerItem) >> 20) +
                                            " MiB; lower mining.gpu.intensity): " + cu_error_name(cu_, r));
  }
  scratch_items_ = items;
}

std::chrono::milliseconds Device::throttle_pause() {
  const uint32_t limit = temperature_limit_.load(std::memory_order_relaxed);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_sensor_read_ >= std::chrono::seconds(1)) {
    last_sensor_read_ = now;
    const GpuSensors s = Nvml::instance().read(desc_.pci_bus_id);
    {
      const std::lock_guard lock(telemetry_mutex_);
      sensors_ = s;
    }
    const bool was = throttled_.load(std::memory_order_relaxed) != 0;
    const bool now_throttled = should_throttle(s.temperature_c, limit, was);
    if (limit != 0 && s.temperature_c < 0 && !warned_no_sensor_) {
      warned_no_sensor_ = true;
      host_.warn(where_ + ": no temperature reading (" +
                 (Nvml::instance().available() ? std::string("NVML gives none for this GPU") : Nvml::instance().why()) +
                 "); mining.gpu.temperature_limit cannot be honoured");
    }
    if (now_throttled != was) {
      throttled_.store(now_throttled ? 1 : 0, std::memory_order_relaxed);
      if (now_throttled) {
        host_.warn(where_ + ": " + std::to_string(static_cast<int>(s.temperature_c)) + " °C reaches the limit of " + std::to_string(limit) +
                   " °C: throttling (smaller launches with pauses between them)");
      } else {
        host_.info(where_ + ": " + std::to_string(static_cast<int>(s.temperature_c)) + " °C, back under the limit: full speed");
      }
    }
  }
  // Throttled: each launch is followed by a pause as long as the launch target, halving the duty cycle
  // (and the power) until the temperature falls 3 °C under the limit.
  return throttled_.load(std::memory_order_relaxed) != 0 ? std::chrono::milliseconds(settings_.launch_ms) : std::chrono::milliseconds(0);
}

otd_status_t Device::run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done) {
  hashes_done = 0;
  if (lane != 0) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": lane " + std::to_string(lane) + " out of range (one lane per device)");
  if (!sdk::struct_covers(work, OTD_FIELD_END(otd_work_unit_t, on_found_user))) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": work unit struct_size " + std::to_string(work.struct_size) + " lacks the callback fields");
  }
  Algorithm& algorithm = algorithm_for(work);
  if (algorithm.variant != nullptr) {
    check_ethash_work(algorithm, work);
  } else if (work.blob == nullptr || work.blob_size != 80 || work.nonce_offset != 76 || work.nonce_size != 4) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": " + algorithm.name + " work must be an 80-byte header with a 4-byte nonce at offset 76 (got " +
                                              std::to_string(work.blob_size) + " bytes, " + std::to_string(work.nonce_size) + "-byte nonce at " +
                                              std::to_string(work.nonce_offset) + ")");
  }
  if (algorithm.variant == nullptr && (work.nonce_start > 0xffffffffULL || work.nonce_count > 0x100000000ULL - work.nonce_start)) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": nonce range " + std::to_string(work.nonce_start) + " + " + std::to_string(work.nonce_count) +
                                              " leaves the 32-bit nonce field");
  }
  if (work.on_found == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": work unit has no on_found callback");
  if (work.nonce_count == 0) return OTD_OK;
  if (work.abort_flag != nullptr && *work.abort_flag != 0) return OTD_ERR_ABORTED;

  if (broken_) {
    // The watchdog's restart: a launch hung or a kernel faulted in an earlier run; the context is gone
    // for good, so destroy it and start afresh (kernels are loaded again on first use).
    host_.warn(where_ + ": resetting the device after a fault");
    close_context(true);
    broken_ = false;
    open_context();
  }
  check(cu_, cu_.cuCtxSetCurrent(ctx_), where_, "cuCtxSetCurrent");
  try {
    return algorithm.variant != nullptr ? run_ethash(algorithm, work, hashes_done) : scan(algorithm, work, hashes_done);
  } catch (const sdk::Error& e) {
    if (e.status() == OTD_ERR_IO || e.status() == OTD_ERR_TIMEOUT) {
      broken_ = true;
      resets_.fetch_add(1, std::memory_order_relaxed);
      hardware_errors_.fetch_add(1, std::memory_order_relaxed);
    } else {
      (void)cu_.cuStreamSynchronize(stream_);  // the reads still in flight write into host_results_
    }
    throw;
  }
}

otd_status_t Device::scan(Algorithm& algorithm, const otd_work_unit_t& work, uint64_t& hashes_done) {
  load_kernel(algorithm);
  const uint64_t limit = std::min<uint64_t>(max_items(algorithm), uint64_t{1} << 31);
  if (algorithm.scrypt) ensure_scratch(limit);
  otd_sha256d_params sha_params{};
  otd_scrypt_params scrypt_params{};
  if (algorithm.scrypt) {
    otd_scrypt_prepare(work.blob, work.share_target, &scrypt_params);
  } else {
    otd_sha256d_prepare(work.blob, work.share_target, &sha_params);
  }
  const auto aborted = [&] { return work.abort_flag != nullptr && *work.abort_flag != 0; };

  struct Range {
    uint64_t start, count;
  };
  struct Launch {
    Range range;
    size_t slot;
    std::chrono::steady_clock::time_point enqueued;
  };
  std::deque<Launch> inflight;
  std::deque<Range> research;
  Range rest{work.nonce_start, work.nonce_count};
  size_t next_slot = 0;
  uint64_t previous_items = 0;
  bool stop = false;
  auto last_done = std::chrono::steady_clock::now();
  const double launch_s = settings_.launch_ms / 1000.0;

  const auto launch_size = [&]() -> uint64_t {
    uint64_t items = algorithm.scrypt ? 4 * kItemGranule : 1u << 20;  // until the rate is measured
    if (algorithm.items_per_second > 0) items = static_cast<uint64_t>(algorithm.items_per_second * launch_s);
    if (previous_items != 0) items = std::min(items, previous_items * 4);
    if (throttled_.load(std::memory_order_relaxed) != 0) items /= 2;
    items = std::max<uint64_t>(items / kItemGranule * kItemGranule, kItemGranule);
    return std::min(items, limit);
  };

  const auto enqueue = [&](Range range) {
    const size_t slot = next_slot;
    next_slot ^= 1;
    uint32_t base = static_cast<uint32_t>(range.start);
    uint32_t count = static_cast<uint32_t>(range.count);
    uint32_t capacity = kResultCapacity;
    const uint32_t block = algorithm.scrypt ? 128 : 256;
    const uint64_t blocks = (range.count + block - 1) / block;
    check(cu_, cu_.cuMemsetD32Async(results_[slot], 0, 1, stream_), where_, "clearing the result counter");
    if (algorithm.scrypt) {
      uint32_t stride = static_cast<uint32_t>(scratch_items_);
      void* args[] = {&scrypt_params, &base, &count, &results_[slot], &capacity, &scratch_, &stride};
      check(cu_, cu_.cuLaunchKernel(algorithm.function, static_cast<unsigned>(blocks), 1, 1, block, 1, 1, 0, stream_, args, nullptr), where_,
            "launching the scrypt kernel");
    } else {
      void* args[] = {&sha_params, &base, &count, &results_[slot], &capacity};
      check(cu_, cu_.cuLaunchKernel(algorithm.function, static_cast<unsigned>(blocks), 1, 1, block, 1, 1, 0, stream_, args, nullptr), where_,
            "launching the sha256d kernel");
    }
    check(cu_, cu_.cuMemcpyDtoHAsync_v2(host_results_[slot], results_[slot], kResultWords * sizeof(uint32_t), stream_), where_,
          "reading the results");
    check(cu_, cu_.cuEventRecord(events_[slot], stream_), where_, "cuEventRecord");
    inflight.push_back(Launch{range, slot, std::chrono::steady_clock::now()});
  };

  const auto fill = [&] {
    // Throttled: one launch at a time, so the pause after it (below) leaves the GPU idle.
    const size_t depth = throttled_.load(std::memory_order_relaxed) != 0 ? 1 : 2;
    while (inflight.size() < depth && !stop) {
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

  // The watchdog: a launch is waited for by polling its event, never by blocking in the driver, so a
  // launch that does not finish within launch_timeout_ms ends the run with OTD_ERR_TIMEOUT and the
  // context is reset before the next one (run()).
  const auto wait = [&](const Launch& l) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.launch_timeout_ms);
    auto nap = std::chrono::microseconds(50);
    for (;;) {
      const CUresult q = cu_.cuEventQuery(events_[l.slot]);
      if (q == CUDA_SUCCESS) return;
      if (q != CUDA_ERROR_NOT_READY) check(cu_, q, where_, ("running the " + algorithm.name + " kernel").c_str());
      if (std::chrono::steady_clock::now() > deadline) {
        throw sdk::Error(OTD_ERR_TIMEOUT, where_ + ": the " + algorithm.name + " kernel did not finish within " +
                                              std::to_string(settings_.launch_timeout_ms) + " ms (launch_timeout_ms): the device is reset");
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(2000));
    }
  };

  fill();
  while (!inflight.empty()) {
    const Launch l = inflight.front();
    inflight.pop_front();
    wait(l);
    const auto now = std::chrono::steady_clock::now();
    const double ran = std::chrono::duration<double>(now - std::max(l.enqueued, last_done)).count();
    last_done = now;
    if (ran > 0 && l.range.count >= kItemGranule) {
      const double rate = static_cast<double>(l.range.count) / ran;
      algorithm.items_per_second = algorithm.items_per_second > 0 ? 0.5 * algorithm.items_per_second + 0.5 * rate : rate;
    }
    const uint32_t* out = host_results_[l.slot];
    const uint32_t found = out[0];
    if (found > kResultCapacity) {
      research.push_back(l.range);  // more than the buffer holds: search again in pieces that cannot overflow
    } else {
      hashes_done += l.range.count;
      hashes_.fetch_add(l.range.count, std::memory_order_relaxed);
      for (uint32_t i = 0; i < found && !stop; ++i) {
        const uint32_t* entry = out + 1 + size_t{kEntryWords} * i;
        const uint64_t nonce = entry[0];
        if (nonce < l.range.start || nonce - l.range.start >= l.range.count) {
          hardware_errors_.fetch_add(1, std::memory_order_relaxed);
          host_.warn(where_ + ": the " + algorithm.name + " kernel reported nonce " + std::to_string(nonce) + " outside its launch " +
                     std::to_string(l.range.start) + " + " + std::to_string(l.range.count) + "; dropped");
          continue;
        }
        otd_found_t f = sdk::make_struct<otd_found_t>();
        f.work_id = work.work_id;
        f.nonce = nonce;
        for (int w = 0; w < 8; ++w)
          for (int b = 0; b < 4; ++b) f.hash[4 * w + b] = static_cast<uint8_t>(entry[1 + w] >> (24 - 8 * b));
        if (work.on_found(work.on_found_user, &f) == OTD_ERR_ABORTED) stop = true;
      }
    }
    if (aborted()) stop = true;
    const auto pause = throttle_pause();
    if (pause.count() > 0 && !stop && inflight.empty()) {
      // Pause in small steps so the abort flag is still seen promptly.
      const auto until = std::chrono::steady_clock::now() + pause;
      while (std::chrono::steady_clock::now() < until && !aborted()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    fill();
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
  sensors_ = Nvml::instance().read(desc_.pci_bus_id);  // a few NVML queries: cheap next to the host's polling interval
  t.hashrate = last_hashrate_;
  t.hashes_total = total;
  t.temperature_c = sensors_.temperature_c;
  t.fan_percent = sensors_.fan_percent;
  t.power_w = sensors_.power_w;
  t.throttled = throttled_.load(std::memory_order_relaxed);
  t.hardware_errors = hardware_errors_.load(std::memory_order_relaxed);
  return t;
}

}  // namespace otedama::cuda_backend
