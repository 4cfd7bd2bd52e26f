// The Ethash family's scan loop of a CUDA device (ethash, etchash, kawpow): the epoch's DAG generated on the
// device from the light cache (kernels/cuda/ethash.cu) after checking it fits the free VRAM, then launches
// of the search kernel kept two deep on the stream, as the SHA-256 family's loop in cu_device.cpp. KawPow's
// period programs come from the kawpow plugin (otedama.algorithm.progpow/1, CUDA dialect), are compiled here
// by NVRTC for the device's compute capability and kept on disk per period and architecture (ProgramCache).
#include <otedama/progpow.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <thread>

#include "cu_device.hpp"
#include "ethash_core.cuh"

namespace otedama::cuda_backend {
namespace {

constexpr uint64_t kGranule = 256;      // launch sizes are multiples of this (ethash blocks of 128, kawpow hashes of 16)
constexpr uint32_t kEthashBlock = 128;  // threads per block of otd_ethash_search and otd_ethash_dag
constexpr uint32_t kDefaultIntensity = 30;
constexpr size_t kEthResultWords = 1 + size_t{OTD_ETH_ENTRY_WORDS} * Device::kResultCapacity;

uint32_t le32(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }

std::string seconds_text(double s) { return std::to_string(s).substr(0, 6) + " s"; }

}  // namespace

void Device::check_ethash_work(const Algorithm& algorithm, const otd_work_unit_t& work) const {
  if (work.blob == nullptr || work.blob_size != 40 || work.nonce_offset != 32 || work.nonce_size != 8) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": " + algorithm.name + " work must be a 32-byte header hash with an 8-byte nonce at offset 32 (got " +
                                              std::to_string(work.blob_size) + " bytes, " + std::to_string(work.nonce_size) + "-byte nonce at " +
                                              std::to_string(work.nonce_offset) + ")");
  }
  if (work.nonce_count != 0 && work.nonce_count - 1 > ~work.nonce_start) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": nonce range " + std::to_string(work.nonce_start) + " + " + std::to_string(work.nonce_count) +
                                              " leaves the 64-bit nonce field");
  }
}

void Device::unload_periods() noexcept {
  for (auto& [period, m] : periods_) {
    if (m.module != nullptr) (void)cu_.cuModuleUnload(m.module);
  }
  periods_.clear();
}

void Device::release_ethash(bool reset) noexcept {
  if (reset) {
    periods_.clear();  // destroyed with the context
  } else {
    if (stream_ != nullptr) (void)cu_.cuStreamSynchronize(stream_);
    unload_periods();
    if (dag_ != 0) (void)cu_.cuMemFree_v2(dag_);
    if (light_ != 0) (void)cu_.cuMemFree_v2(light_);
    if (eth_params_ != 0) (void)cu_.cuMemFree_v2(eth_params_);
  }
  dag_ = light_ = eth_params_ = 0;
  dag_items_ = dag_generated_ = 0;
  light_items_ = dag_parents_ = 0;
  dataset_key_.clear();
}

void Device::wait_event(CUevent event, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.launch_timeout_ms);
  auto nap = std::chrono::microseconds(50);
  for (;;) {
    const CUresult q = cu_.cuEventQuery(event);
    if (q == CUDA_SUCCESS) return;
    if (q != CUDA_ERROR_NOT_READY) check(cu_, q, where_, what.c_str());
    if (std::chrono::steady_clock::now() > deadline) {
      throw sdk::Error(OTD_ERR_TIMEOUT, where_ + ": " + what + " did not finish within " + std::to_string(settings_.launch_timeout_ms) +
                                            " ms (launch_timeout_ms): the device is reset");
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(2000));
  }
}

CUfunction Device::ethash_function(const char* name) {
  Algorithm& holder = algorithms_[2];  // "ethash": its module is the ethash image (DAG and search kernels)
  load_kernel(holder);
  CUfunction f = nullptr;
  check(cu_, cu_.cuModuleGetFunction(&f, holder.module, name), where_, "cuModuleGetFunction");
  return f;
}

std::vector<ethash::Item> Device::read_dag(uint64_t first, uint32_t count) {
  std::vector<ethash::Item> out(count);
  if (count == 0) return out;
  if (dag_ == 0 || first + count > dag_items_) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": DAG items past the end");
  check(cu_, cu_.cuCtxSetCurrent(ctx_), where_, "cuCtxSetCurrent");
  check(cu_, cu_.cuMemcpyDtoHAsync_v2(out.data(), dag_ + first * 64, uint64_t{count} * 64, stream_), where_, "reading DAG items");
  check(cu_, cu_.cuStreamSynchronize(stream_), where_, "reading DAG items");
  return out;
}

bool Device::ensure_dataset(const Algorithm& algorithm, const otd_work_unit_t& work) {
  const ethash::Variant& variant = *algorithm.variant;
  const uint64_t epoch = ethash::epoch_of(variant, work.height);
  const std::shared_ptr<const ethash::LightCache> cache =
      light_caches_.choose(variant, work.height, work.seed, work.seed_size, (work.flags & OTD_WORK_TEST_EPOCH) != 0U,
                           settings_.light_cache_source, where_, [this](const std::string& line) { host_.info(line); });
  const std::string key = ethash::dataset_key(variant.dataset_parents, *cache);
  if (dataset_key_ != key) {
    release_ethash(false);  // the old epoch's buffers first (their memory counts as free below); KawPow programs have the DAG size compiled in
    const std::string what = std::string("the ") + variant.name + " epoch " + std::to_string(epoch) + " DAG";
    const uint64_t dag_bytes = cache->dataset_bytes();
    size_t free = 0, total = 0;
    check(cu_, cu_.cuMemGetInfo_v2(&free, &total), where_, "cuMemGetInfo");
    check_dataset_fits(where_, free, total, cache->bytes(), dag_bytes, what);
    CUresult r = cu_.cuMemAlloc_v2(&light_, cache->bytes());
    if (r == CUDA_SUCCESS) r = cu_.cuMemAlloc_v2(&dag_, dag_bytes);
    if (r != CUDA_SUCCESS) {
      if (light_ != 0) (void)cu_.cuMemFree_v2(light_);
      light_ = dag_ = 0;
      throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": allocating " + what + " (" + std::to_string(dag_bytes) + " bytes) and its light cache (" +
                                              std::to_string(cache->bytes()) + " bytes) failed: " + cu_error_name(cu_, r));
    }
    check(cu_, cu_.cuMemAlloc_v2(&eth_params_, OTD_ETH_PARAM_WORDS * sizeof(uint32_t)), where_, "cuMemAlloc(parameters)");
    check(cu_, cu_.cuMemcpyHtoDAsync_v2(light_, cache->items(), cache->bytes(), stream_), where_, "uploading the light cache");
    check(cu_, cu_.cuStreamSynchronize(stream_), where_, "uploading the light cache");
    light_items_ = cache->item_count();
    dag_items_ = dag_bytes / 64;
    dag_parents_ = variant.dataset_parents;
    dag_generated_ = 0;
    dag_seconds_ = 0;
    dataset_key_ = key;
    host_.info(where_ + ": generating " + what + " (" + std::to_string(dag_bytes >> 20) + " MiB, " + std::to_string(dag_items_) +
               " items) on the device");
  }
  if (dag_generated_ == dag_items_) return true;
  CUfunction dag_kernel = ethash_function("otd_ethash_dag");
  // Launches of about 1/64 of the DAG (at least 4096 items): the abort flag is seen between them.
  const auto chunk = static_cast<uint32_t>(std::clamp<uint64_t>(dag_items_ / 64, 4096, 1u << 20));
  auto last_log = std::chrono::steady_clock::now();
  while (dag_generated_ < dag_items_) {
    if (work.abort_flag != nullptr && *work.abort_flag != 0) return false;
    const auto started = std::chrono::steady_clock::now();
    uint32_t first = static_cast<uint32_t>(dag_generated_);
    uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(chunk, dag_items_ - dag_generated_));
    uint32_t cache_items = light_items_;
    uint32_t parents = dag_parents_;
    void* args[] = {&light_, &cache_items, &dag_, &first, &count, &parents};
    const unsigned blocks = (count + kEthashBlock - 1) / kEthashBlock;
    check(cu_, cu_.cuLaunchKernel(dag_kernel, blocks, 1, 1, kEthashBlock, 1, 1, 0, stream_, args, nullptr), where_, "launching the DAG kernel");
    check(cu_, cu_.cuEventRecord(events_[0], stream_), where_, "cuEventRecord");
    wait_event(events_[0], "the DAG kernel");
    dag_generated_ += count;
    dag_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_log >= std::chrono::seconds(10) && dag_generated_ < dag_items_) {
      last_log = now;
      host_.info(where_ + ": DAG " + std::to_string(dag_generated_ * 100 / dag_items_) + "% (" + std::to_string(dag_generated_) + " of " +
                 std::to_string(dag_items_) + " items)");
    }
  }
  host_.info(where_ + ": DAG of " + std::to_string(dag_items_) + " items generated in " + seconds_text(dag_seconds_));
  return true;
}

CUfunction Device::kawpow_function(const otd_work_unit_t& work, uint64_t period) {
  if (auto it = periods_.find(period); it != periods_.end()) return it->second.function;
  const Nvrtc& nvrtc = Nvrtc::instance();
  if (!nvrtc.available()) throw sdk::Error(OTD_ERR_UNSUPPORTED, where_ + ": kawpow is unsupported here: " + nvrtc.why());
  const otd_plugin_t* plugin = work.algorithm_plugin;
  const auto* progpow = plugin != nullptr && plugin->get_interface != nullptr
                            ? static_cast<const otd_progpow_t*>(plugin->get_interface(plugin, OTD_PROGPOW_INTERFACE_ID))
                            : nullptr;
  if (progpow == nullptr || progpow->get_period_source == nullptr) {
    throw sdk::Error(OTD_ERR_STATE, where_ + ": kawpow work needs its algorithm plugin's ProgPoW extension (" + OTD_PROGPOW_INTERFACE_ID +
                                        ") to generate the period program; the work unit has none");
  }
  char err[OTD_ERROR_CAP] = {};
  size_t needed = 0;
  (void)progpow->get_period_source(plugin, period, OTD_PROGPOW_CUDA, nullptr, 0, &needed, err, sizeof err);
  std::string loop(needed, '\0');
  const otd_status_t st = progpow->get_period_source(plugin, period, OTD_PROGPOW_CUDA, loop.data(), loop.size(), &needed, err, sizeof err);
  if (st != OTD_OK || needed == 0) {
    throw sdk::Error(OTD_ERR_STATE, where_ + ": the kawpow plugin gave no source for period " + std::to_string(period) + ": " + err);
  }
  loop.resize(needed - 1);
  const KawpowProgram program = kawpow_program(loop, dag_items_ * 64 / 256);
  const std::string arch = cuda_arch(desc_.cc_major, desc_.cc_minor);
  const std::string what = "kawpow period " + std::to_string(period);
  const ProgramCache cache(settings_.program_cache_dir);
  const std::string path = cache.path("kawpow-period-" + std::to_string(period) + "-" + arch, arch + "\nnvrtc " + nvrtc.version() + "\n" + program.identity());

  PeriodModule m;
  const auto load = [&](const std::vector<unsigned char>& image) -> CUresult {
    std::array<char, 8192> log{};
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void* values[] = {log.data(), reinterpret_cast<void*>(static_cast<uintptr_t>(log.size()))};
    const CUresult r = cu_.cuModuleLoadDataEx(&m.module, image.data(), 2, options, values);
    if (r != CUDA_SUCCESS) {
      m.module = nullptr;
      const std::string text(log.data(), strnlen(log.data(), log.size()));
      if (!text.empty()) host_.warn(where_ + ": loading the " + what + " module: " + text);
    }
    return r;
  };
  std::string problem;
  if (auto image = cache.load(path, &problem)) {
    const CUresult r = load(*image);
    if (r == CUDA_SUCCESS) {
      ++programs_from_cache_;
    } else {
      host_.warn(where_ + ": the cached " + what + " program " + path + " was refused (" + cu_error_name(cu_, r) + "); rebuilding it");
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  } else if (!problem.empty()) {
    host_.warn(where_ + ": cached kawpow program " + problem + "; rebuilding it");
  }
  if (m.module == nullptr) {
    const auto t0 = std::chrono::steady_clock::now();
    NvrtcOutput out = nvrtc.compile("kawpow_period_" + std::to_string(period) + ".cu", program.source, program.headers, arch, program.options);
    if (!out.ok) {
      // An architecture newer than this NVRTC knows: Hopper PTX, which the driver compiles for the device.
      const std::string first_failure = out.log;
      out = nvrtc.compile("kawpow_period_" + std::to_string(period) + ".cu", program.source, program.headers, cuda_arch(9, 0, true), program.options);
      if (!out.ok) {
        throw sdk::Error(OTD_ERR_STATE, where_ + ": NVRTC " + nvrtc.version() + " could not compile the " + what + " kernel: " + first_failure.substr(0, 2000));
      }
      host_.warn(where_ + ": NVRTC " + nvrtc.version() + " cannot build " + arch + " code; using compute_90 PTX for the " + what + " kernel");
    }
    ++programs_compiled_;
    host_.info(where_ + ": " + what + " compiled by NVRTC " + nvrtc.version() + " in " +
               seconds_text(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
    const CUresult r = load(out.image);
    if (r != CUDA_SUCCESS) check(cu_, r, where_, ("loading the " + what + " module").c_str());
    if (cache.enabled() && !cache.store(path, out.image, &problem)) host_.warn(where_ + ": could not keep the " + what + " program: " + problem);
  }
  const CUresult r = cu_.cuModuleGetFunction(&m.function, m.module, "otd_kawpow_search");
  if (r != CUDA_SUCCESS) {
    (void)cu_.cuModuleUnload(m.module);
    check(cu_, r, where_, "cuModuleGetFunction(otd_kawpow_search)");
  }
  // Keep the period before (jobs of the previous block may still come) and this one.
  while (periods_.size() >= 2) {
    auto oldest = periods_.begin();
    (void)cu_.cuModuleUnload(oldest->second.module);
    periods_.erase(oldest);
  }
  periods_.emplace(period, m);
  return m.function;
}

otd_status_t Device::run_ethash(Algorithm& algorithm, const otd_work_unit_t& work, uint64_t& hashes_done) {
  const bool kawpow = algorithm.variant == &ethash::kKawpow;
  const auto aborted = [&] { return work.abort_flag != nullptr && *work.abort_flag != 0; };
  if (!ensure_dataset(algorithm, work)) return OTD_ERR_ABORTED;
  CUfunction kernel = kawpow ? kawpow_function(work, work.height / 3) : ethash_function("otd_ethash_search");

  uint32_t params[OTD_ETH_PARAM_WORDS];
  for (int i = 0; i < 8; ++i) params[i] = le32(work.blob + 4 * i);
  for (int i = 0; i < 8; ++i) params[8 + i] = le32(work.share_target + 4 * i);
  check(cu_, cu_.cuMemcpyHtoDAsync_v2(eth_params_, params, sizeof params, stream_), where_, "writing the work unit's parameters");
  check(cu_, cu_.cuStreamSynchronize(stream_), where_, "writing the work unit's parameters");

  uint32_t intensity = intensity_.load(std::memory_order_relaxed);
  if (intensity == 0) intensity = kDefaultIntensity;
  // 2^intensity threads per launch: one per hash for ethash, 16 per hash for kawpow.
  const uint64_t limit = std::max<uint64_t>(kGranule, (uint64_t{1} << std::min(intensity, 31u)) / (kawpow ? 16 : 1));
  uint32_t pages = static_cast<uint32_t>(dag_items_ / 2);

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
  uint64_t previous = 0;
  bool stop = false;
  auto last_done = std::chrono::steady_clock::now();
  const double launch_s = settings_.launch_ms / 1000.0;

  const auto launch_size = [&]() -> uint64_t {
    uint64_t n = kawpow ? 4096 : 65536;  // until the rate is measured
    if (algorithm.items_per_second > 0) n = static_cast<uint64_t>(algorithm.items_per_second * launch_s);
    if (previous != 0) n = std::min(n, previous * 4);
    if (throttled_.load(std::memory_order_relaxed) != 0) n /= 2;
    n = std::max<uint64_t>(n / kGranule * kGranule, kGranule);
    return std::min(n, limit);
  };
  const auto enqueue = [&](Range range) {
    const size_t slot = next_slot;
    next_slot ^= 1;
    otd_u64 base = range.start;
    uint32_t count = static_cast<uint32_t>(range.count);
    uint32_t capacity = kResultCapacity;
    check(cu_, cu_.cuMemsetD32Async(results_[slot], 0, 1, stream_), where_, "clearing the result counter");
    if (kawpow) {
      const unsigned blocks = static_cast<unsigned>((range.count + kKawpowBlock / 16 - 1) / (kKawpowBlock / 16));
      void* args[] = {&eth_params_, &dag_, &base, &count, &results_[slot], &capacity};
      check(cu_, cu_.cuLaunchKernel(kernel, blocks, 1, 1, kKawpowBlock, 1, 1, 0, stream_, args, nullptr), where_, "launching the kawpow kernel");
    } else {
      const unsigned blocks = static_cast<unsigned>((range.count + kEthashBlock - 1) / kEthashBlock);
      void* args[] = {&eth_params_, &dag_, &pages, &base, &count, &results_[slot], &capacity};
      check(cu_, cu_.cuLaunchKernel(kernel, blocks, 1, 1, kEthashBlock, 1, 1, 0, stream_, args, nullptr), where_,
            ("launching the " + algorithm.name + " kernel").c_str());
    }
    check(cu_, cu_.cuMemcpyDtoHAsync_v2(host_results_[slot], results_[slot], kEthResultWords * sizeof(uint32_t), stream_), where_,
          "reading the results");
    check(cu_, cu_.cuEventRecord(events_[slot], stream_), where_, "cuEventRecord");
    inflight.push_back(Launch{range, slot, std::chrono::steady_clock::now()});
  };
  const auto fill = [&] {
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
        previous = n;
        enqueue(Range{rest.start, n});
        rest.start += n;
        rest.count -= n;
      } else {
        break;
      }
    }
  };

  fill();
  while (!inflight.empty()) {
    const Launch l = inflight.front();
    inflight.pop_front();
    wait_event(events_[l.slot], "the " + algorithm.name + " kernel");
    const auto now = std::chrono::steady_clock::now();
    const double ran = std::chrono::duration<double>(now - std::max(l.enqueued, last_done)).count();
    last_done = now;
    if (ran > 0 && l.range.count >= kGranule) {
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
        const uint32_t* entry = out + 1 + size_t{OTD_ETH_ENTRY_WORDS} * i;
        const uint64_t nonce = uint64_t{entry[0]} | (uint64_t{entry[1]} << 32);
        if (nonce - l.range.start >= l.range.count) {
          hardware_errors_.fetch_add(1, std::memory_order_relaxed);
          host_.warn(where_ + ": the " + algorithm.name + " kernel reported nonce " + std::to_string(nonce) + " outside its launch " +
                     std::to_string(l.range.start) + " + " + std::to_string(l.range.count) + "; dropped");
          continue;
        }
        otd_found_t f = sdk::make_struct<otd_found_t>();
        f.flags = OTD_FOUND_HAS_MIX;
        f.work_id = work.work_id;
        f.nonce = nonce;
        std::memcpy(f.mix, entry + 2, 32);  // raw bytes (little-endian words)
        uint8_t raw[32];
        std::memcpy(raw, entry + 10, 32);
        for (int b = 0; b < 32; ++b) f.hash[b] = raw[31 - b];  // the ABI's little-endian number
        if (work.on_found(work.on_found_user, &f) == OTD_ERR_ABORTED) stop = true;
      }
    }
    if (aborted()) stop = true;
    const auto pause = throttle_pause();
    if (pause.count() > 0 && !stop && inflight.empty()) {
      const auto until = std::chrono::steady_clock::now() + pause;
      while (std::chrono::steady_clock::now() < until && !aborted()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    fill();
  }
  return rest.count == 0 && research.empty() ? OTD_OK : OTD_ERR_ABORTED;
}

}  // namespace otedama::cuda_backend
