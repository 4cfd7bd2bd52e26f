// A CPU stand-in for the NVIDIA driver (libcuda.so.1) and NVML (libnvidia-ml.so.1), for testing the cuda
// backend's host side on machines without a GPU: the plugin loads it through OTEDAMA_CUDA_DRIVER and
// OTEDAMA_CUDA_NVML (test 'plugin-cuda-fake-driver' runs test_cuda_gpu.cpp against it).
//
// It implements the driver entry points the plugin uses with the driver's documented semantics
// (docs.nvidia.com/cuda/cuda-driver-api): one device; memory from the heap, accounted against a small
// total; per stream a worker thread executing copies, memsets, kernel launches and event records in order,
// so the plugin's double buffering, event polling and watchdog run as on a GPU. Launches run the kernels'
// own __host__ __device__ code (kernels/cuda/*.cuh) for every thread of the grid, after checking that the
// module is an nvcc fatbin holding the entry point and that every pointer argument lies in an allocation
// (out of bounds = CUDA_ERROR_ILLEGAL_ADDRESS, sticky until the primary context is reset, like a GPU).
// What it cannot show is anything about a real GPU: speed, the real driver's behaviour, the machine code.
//
// Test controls (exported): otd_fake_cuda_misbehave(0 none, 1 hang, 2 fault) makes launches whose
// nonce_base is 0xdead0000 never finish (until the context is reset) or fault; otd_fake_nvml_set_temperature
// sets what NVML reports.
#include <cuda.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ethash_core.cuh"
#include "scrypt_core.cuh"
#include "sha256d_core.cuh"

#define FAKE_API extern "C" __attribute__((visibility("default")))

namespace {

constexpr size_t kTotalMemory = 128u << 20;  // small: scrypt's scratchpad is sized from what is free
constexpr uint32_t kTrapBase = 0xdead0000u;

struct State {
  std::mutex mu;
  std::map<uintptr_t, size_t> allocations;  // device (and pinned host) allocations: base -> size
  size_t allocated = 0;
  std::atomic<int> sticky{CUDA_SUCCESS};    // the context's sticky error
  std::atomic<uint64_t> generation{0};      // bumped by cuDevicePrimaryCtxReset: hung launches end
  std::atomic<int> misbehave{0};
  std::atomic<unsigned> temperature{60};
  int ctx_refs = 0;
  bool initialised = false;
};
State& state() {
  static State s;
  return s;
}
int g_ctx_token = 0;  // the primary context's handle points here

/// Whether [p, p + bytes) lies inside one allocation.
bool in_bounds(uintptr_t p, size_t bytes) {
  State& s = state();
  std::lock_guard lock(s.mu);
  auto it = s.allocations.upper_bound(p);
  if (it == s.allocations.begin()) return false;
  --it;
  return p >= it->first && p + bytes <= it->first + it->second;
}

struct Stream {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> ops;
  bool busy = false;
  bool destroyed = false;
};

void worker(std::shared_ptr<Stream> st) {
  for (;;) {
    std::function<void()> op;
    {
      std::unique_lock lock(st->mu);
      st->cv.wait(lock, [&] { return !st->ops.empty() || st->destroyed; });
      if (st->ops.empty()) return;
      op = std::move(st->ops.front());
      st->ops.pop_front();
      st->busy = true;
    }
    // After a fault the context executes nothing more (the real one refuses every call).
    if (state().sticky.load() == CUDA_SUCCESS) op();
    {
      std::lock_guard lock(st->mu);
      st->busy = false;
    }
    st->cv.notify_all();
  }
}

struct StreamHandle {
  std::shared_ptr<Stream> s;
};

void enqueue(CUstream h, std::function<void()> op) {
  auto* sh = reinterpret_cast<StreamHandle*>(h);
  {
    std::lock_guard lock(sh->s->mu);
    // Work of a context that is reset before it runs is dropped, as the driver drops it.
    const uint64_t generation = state().generation.load();
    sh->s->ops.push_back([generation, op = std::move(op)] {
      if (state().generation.load() == generation) op();
    });
  }
  sh->s->cv.notify_all();
}

struct Event {
  std::atomic<uint64_t> recorded{0};
  std::atomic<uint64_t> completed{0};
};

struct Module {
  std::string image;
};
struct Function {
  std::string name;
};

CUresult sticky() { return static_cast<CUresult>(state().sticky.load()); }

void fault(CUresult r) {
  int expected = CUDA_SUCCESS;
  state().sticky.compare_exchange_strong(expected, r);
}

template <class T>
T arg(void** params, int i) {
  T v;
  std::memcpy(&v, params[i], sizeof v);
  return v;
}

}  // namespace

// ---- test controls -------------------------------------------------------------------------------------
FAKE_API void otd_fake_cuda_misbehave(int how) { state().misbehave.store(how); }
FAKE_API void otd_fake_nvml_set_temperature(unsigned c) { state().temperature.store(c); }

// ---- driver ---------------------------------------------------------------------------------------------
FAKE_API CUresult cuInit(unsigned int flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  state().initialised = true;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDriverGetVersion(int* v) {
  if (v == nullptr) return CUDA_ERROR_INVALID_VALUE;
  *v = 13000;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuGetErrorName(CUresult r, const char** s) {
  switch (r) {
    case CUDA_SUCCESS: *s = "CUDA_SUCCESS"; break;
    case CUDA_ERROR_INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
    case CUDA_ERROR_OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
    case CUDA_ERROR_NOT_READY: *s = "CUDA_ERROR_NOT_READY"; break;
    case CUDA_ERROR_ILLEGAL_ADDRESS: *s = "CUDA_ERROR_ILLEGAL_ADDRESS"; break;
    case CUDA_ERROR_LAUNCH_FAILED: *s = "CUDA_ERROR_LAUNCH_FAILED"; break;
    case CUDA_ERROR_INVALID_IMAGE: *s = "CUDA_ERROR_INVALID_IMAGE"; break;
    case CUDA_ERROR_NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
    case CUDA_ERROR_INVALID_HANDLE: *s = "CUDA_ERROR_INVALID_HANDLE"; break;
    default: *s = nullptr; return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuGetErrorString(CUresult r, const char** s) {
  const char* name = nullptr;
  const CUresult st = cuGetErrorName(r, &name);
  *s = st == CUDA_SUCCESS ? "fake driver" : nullptr;
  return st;
}
FAKE_API CUresult cuDeviceGetCount(int* n) {
  *n = 1;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDeviceGet(CUdevice* d, int ordinal) {
  if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
  *d = 0;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDeviceGetName(char* name, int len, CUdevice) {
  std::snprintf(name, static_cast<size_t>(len), "%s", "Otedama fake CUDA device (CPU)");
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice) {
  *bytes = kTotalMemory;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice) {
  switch (a) {
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 4; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; return CUDA_SUCCESS;
    default: return CUDA_ERROR_INVALID_VALUE;
  }
}
FAKE_API CUresult cuDeviceGetPCIBusId(char* bus, int len, CUdevice) {
  std::snprintf(bus, static_cast<size_t>(len), "%s", "0000:00:1f.0");
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice) {
  std::lock_guard lock(state().mu);
  ++state().ctx_refs;
  *c = reinterpret_cast<CUcontext>(&g_ctx_token);
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) {
  std::lock_guard lock(state().mu);
  if (state().ctx_refs > 0) --state().ctx_refs;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice) {
  // Destroys the context: its sticky error goes, hung launches end (work queued on its streams is dropped:
  // enqueue()), and its device memory is freed.
  State& s = state();
  s.generation.fetch_add(1);
  s.sticky.store(CUDA_SUCCESS);
  std::lock_guard lock(s.mu);
  for (const auto& [base, size] : s.allocations) std::free(reinterpret_cast<void*>(base));
  s.allocations.clear();
  s.allocated = 0;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuCtxSetCurrent(CUcontext c) {
  if (c != nullptr && c != reinterpret_cast<CUcontext>(&g_ctx_token)) return CUDA_ERROR_INVALID_CONTEXT;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuCtxSynchronize() { return sticky(); }

FAKE_API CUresult cuModuleLoadDataEx(CUmodule* m, const void* image, unsigned int, CUjit_option*, void**) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  uint32_t magic = 0;
  std::memcpy(&magic, image, 4);
  if (magic != 0xba55ed50u) return CUDA_ERROR_INVALID_IMAGE;
  uint64_t size = 0;
  std::memcpy(&size, static_cast<const char*>(image) + 8, 8);
  auto* mod = new Module{std::string(static_cast<const char*>(image), 16 + size)};
  *m = reinterpret_cast<CUmodule>(mod);
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuModuleUnload(CUmodule m) {
  delete reinterpret_cast<Module*>(m);
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) {
  const auto* mod = reinterpret_cast<Module*>(m);
  if (mod->image.find(name) == std::string::npos) return CUDA_ERROR_NOT_FOUND;
  *f = reinterpret_cast<CUfunction>(new Function{name});  // leaked with the module's life: a test process
  return CUDA_SUCCESS;
}

FAKE_API CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
  std::lock_guard lock(state().mu);
  *free = kTotalMemory - state().allocated;
  *total = kTotalMemory;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  State& s = state();
  std::lock_guard lock(s.mu);
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if (s.allocated + bytes > kTotalMemory) return CUDA_ERROR_OUT_OF_MEMORY;
  void* mem = std::calloc(1, bytes);
  if (mem == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
  s.allocations[reinterpret_cast<uintptr_t>(mem)] = bytes;
  s.allocated += bytes;
  *p = reinterpret_cast<CUdeviceptr>(mem);
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuMemFree_v2(CUdeviceptr p) {
  State& s = state();
  std::lock_guard lock(s.mu);
  auto it = s.allocations.find(static_cast<uintptr_t>(p));
  if (it == s.allocations.end()) return CUDA_ERROR_INVALID_VALUE;
  s.allocated -= it->second;
  s.allocations.erase(it);
  std::free(reinterpret_cast<void*>(p));
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuMemAllocHost_v2(void** p, size_t bytes) {
  *p = std::calloc(1, bytes);
  return *p != nullptr ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}
FAKE_API CUresult cuMemFreeHost(void* p) {
  std::free(p);
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream h) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  if (!in_bounds(static_cast<uintptr_t>(dst), bytes)) return CUDA_ERROR_INVALID_VALUE;
  enqueue(h, [=] { std::memcpy(reinterpret_cast<void*>(dst), src, bytes); });
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream h) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  if (!in_bounds(static_cast<uintptr_t>(src), bytes)) return CUDA_ERROR_INVALID_VALUE;
  enqueue(h, [=] { std::memcpy(dst, reinterpret_cast<const void*>(src), bytes); });
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream h) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  if (!in_bounds(static_cast<uintptr_t>(dst), n * 4)) return CUDA_ERROR_INVALID_VALUE;
  enqueue(h, [=] {
    auto* p = reinterpret_cast<uint32_t*>(dst);
    for (size_t i = 0; i < n; ++i) p[i] = value;
  });
  return CUDA_SUCCESS;
}

namespace {
/// Appends like otd_report (sha256.cuh): the counter counts past capacity.
void report(uint32_t* results, uint32_t capacity, uint32_t nonce, const otd_u32 d[8]) {
  const uint32_t slot = results[0]++;
  if (slot < capacity) {
    uint32_t* e = results + 1 + 9u * slot;
    e[0] = nonce;
    for (int i = 0; i < 8; ++i) e[1 + i] = d[i];
  }
}
}  // namespace

FAKE_API CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
                                 unsigned int bz, unsigned int shared, CUstream h, void** params, void** extra) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || bx == 0 || bx > 1024 || gx == 0 || shared != 0 || extra != nullptr || params == nullptr) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const std::string name = reinterpret_cast<Function*>(f)->name;
  const uint64_t threads = uint64_t{gx} * bx;
  const uint64_t generation = state().generation.load();
  const int misbehave = state().misbehave.load();
  if (name == "otd_sha256d_scan") {
    const auto p = arg<otd_sha256d_params>(params, 0);
    const auto base = arg<uint32_t>(params, 1);
    const auto count = arg<uint32_t>(params, 2);
    const auto results = arg<CUdeviceptr>(params, 3);
    const auto capacity = arg<uint32_t>(params, 4);
    enqueue(h, [=] {
      if (base == kTrapBase && misbehave == 1) {
        while (state().generation.load() == generation) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return;
      }
      if (base == kTrapBase && misbehave == 2) return fault(CUDA_ERROR_LAUNCH_FAILED);
      if (!in_bounds(static_cast<uintptr_t>(results), (1 + 9 * size_t{capacity}) * 4)) return fault(CUDA_ERROR_ILLEGAL_ADDRESS);
      auto* out = reinterpret_cast<uint32_t*>(results);
      for (uint64_t i = 0; i < threads && i < count; ++i) {
        otd_u32 d[8];
        const uint32_t nonce = base + static_cast<uint32_t>(i);
        if (otd_sha256d_try(p, nonce, d, false)) report(out, capacity, nonce, d);
      }
    });
    return CUDA_SUCCESS;
  }
  if (name == "otd_scrypt_scan") {
    const auto p = arg<otd_scrypt_params>(params, 0);
    const auto base = arg<uint32_t>(params, 1);
    const auto count = arg<uint32_t>(params, 2);
    const auto results = arg<CUdeviceptr>(params, 3);
    const auto capacity = arg<uint32_t>(params, 4);
    const auto scratch = arg<CUdeviceptr>(params, 5);
    const auto stride = arg<uint32_t>(params, 6);
    enqueue(h, [=] {
      if (!in_bounds(static_cast<uintptr_t>(results), (1 + 9 * size_t{capacity}) * 4)) return fault(CUDA_ERROR_ILLEGAL_ADDRESS);
      const uint64_t used = std::min<uint64_t>(threads, count);
      // Thread i touches words i .. (1024 * 32 - 1) * stride + i of the scratchpad.
      if (used > stride || !in_bounds(static_cast<uintptr_t>(scratch), (size_t{OTD_SCRYPT_N} * 32 - 1) * stride * 4 + used * 4)) {
        return fault(CUDA_ERROR_ILLEGAL_ADDRESS);
      }
      auto* out = reinterpret_cast<uint32_t*>(results);
      for (uint64_t i = 0; i < used; ++i) {
        otd_u32 d[8];
        const uint32_t nonce = base + static_cast<uint32_t>(i);
        otd_scrypt_hash(p, nonce, reinterpret_cast<otd_u32*>(scratch) + i, stride, d);
        if (otd_meets_target(d, p.target)) report(out, capacity, nonce, d);
      }
    });
    return CUDA_SUCCESS;
  }
  // The Ethash family (kernels/cuda/ethash.cu): the same per-item and per-hash arithmetic, one thread at a
  // time; the search kernel's 8-lane cooperation is the GPU's business (test_cuda_ethash_gpu on a device).
  if (name == "otd_ethash_dag") {
    const auto cache = arg<CUdeviceptr>(params, 0);
    const auto cache_items = arg<uint32_t>(params, 1);
    const auto dag = arg<CUdeviceptr>(params, 2);
    const auto first = arg<uint32_t>(params, 3);
    const auto count = arg<uint32_t>(params, 4);
    const auto parents = arg<uint32_t>(params, 5);
    enqueue(h, [=] {
      if (cache_items == 0 || !in_bounds(static_cast<uintptr_t>(cache), size_t{cache_items} * 64) ||
          !in_bounds(static_cast<uintptr_t>(dag) + size_t{first} * 64, size_t{count} * 64)) {
        return fault(CUDA_ERROR_ILLEGAL_ADDRESS);
      }
      const uint64_t used = std::min<uint64_t>(threads, count);
      for (uint64_t i = 0; i < used; ++i) {
        otd_ethash_dag_item(reinterpret_cast<const otd_u32*>(cache), cache_items, first + static_cast<uint32_t>(i), parents,
                            reinterpret_cast<otd_u32*>(dag) + (size_t{first} + i) * 16);
      }
    });
    return CUDA_SUCCESS;
  }
  if (name == "otd_ethash_search") {
    const auto p = arg<CUdeviceptr>(params, 0);
    const auto dag = arg<CUdeviceptr>(params, 1);
    const auto pages = arg<uint32_t>(params, 2);
    const auto base = arg<uint64_t>(params, 3);
    const auto count = arg<uint32_t>(params, 4);
    const auto results = arg<CUdeviceptr>(params, 5);
    const auto capacity = arg<uint32_t>(params, 6);
    enqueue(h, [=] {
      if (!in_bounds(static_cast<uintptr_t>(p), OTD_ETH_PARAM_WORDS * 4) || pages == 0 ||
          !in_bounds(static_cast<uintptr_t>(dag), size_t{pages} * 128) ||
          !in_bounds(static_cast<uintptr_t>(results), (1 + OTD_ETH_ENTRY_WORDS * size_t{capacity}) * 4)) {
        return fault(CUDA_ERROR_ILLEGAL_ADDRESS);
      }
      const auto* params_words = reinterpret_cast<const otd_u32*>(p);
      auto* out = reinterpret_cast<uint32_t*>(results);
      const uint64_t used = std::min<uint64_t>(threads, count);
      for (uint64_t i = 0; i < used; ++i) {
        const uint64_t nonce = base + i;
        otd_u32 cmix[8], hash[8];
        otd_ethash_hash(params_words, nonce, reinterpret_cast<const otd_u32*>(dag), pages, cmix, hash);
        if (!otd_raw_hash_meets(hash, params_words + 8)) continue;
        const uint32_t slot = out[0]++;
        if (slot >= capacity) continue;
        uint32_t* e = out + 1 + size_t{OTD_ETH_ENTRY_WORDS} * slot;
        e[0] = static_cast<uint32_t>(nonce);
        e[1] = static_cast<uint32_t>(nonce >> 32);
        std::memcpy(e + 2, cmix, 32);
        std::memcpy(e + 10, hash, 32);
      }
    });
    return CUDA_SUCCESS;
  }
  return CUDA_ERROR_INVALID_HANDLE;
}

FAKE_API CUresult cuStreamCreate(CUstream* h, unsigned int) {
  auto* sh = new StreamHandle{std::make_shared<Stream>()};
  std::thread(worker, sh->s).detach();
  *h = reinterpret_cast<CUstream>(sh);
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuStreamDestroy_v2(CUstream h) {
  // Returns at once, like the driver: work still queued finishes (or is dropped after a fault) on its own.
  auto* sh = reinterpret_cast<StreamHandle*>(h);
  {
    std::lock_guard lock(sh->s->mu);
    sh->s->destroyed = true;
  }
  sh->s->cv.notify_all();
  delete sh;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuStreamSynchronize(CUstream h) {
  auto* sh = reinterpret_cast<StreamHandle*>(h);
  std::unique_lock lock(sh->s->mu);
  sh->s->cv.wait(lock, [&] { return (sh->s->ops.empty() && !sh->s->busy) || sticky() != CUDA_SUCCESS; });
  return sticky();
}
FAKE_API CUresult cuEventCreate(CUevent* e, unsigned int) {
  *e = reinterpret_cast<CUevent>(new Event());
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuEventDestroy_v2(CUevent e) {
  // Freed later by nobody: a stream op recorded on it may still run (a test process; bounded).
  (void)e;
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuEventRecord(CUevent e, CUstream h) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  auto* ev = reinterpret_cast<Event*>(e);
  const uint64_t n = ev->recorded.fetch_add(1) + 1;
  enqueue(h, [ev, n] { ev->completed.store(n); });
  return CUDA_SUCCESS;
}
FAKE_API CUresult cuEventQuery(CUevent e) {
  if (sticky() != CUDA_SUCCESS) return sticky();
  auto* ev = reinterpret_cast<Event*>(e);
  return ev->completed.load() >= ev->recorded.load() ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

// ---- NVML -----------------------------------------------------------------------------------------------
FAKE_API int nvmlInit_v2() { return 0; }
FAKE_API int nvmlDeviceGetHandleByPciBusId_v2(const char* bus, void** dev) {
  if (std::strcmp(bus, "0000:00:1f.0") != 0) return 6;  // NVML_ERROR_NOT_FOUND
  *dev = &g_ctx_token;
  return 0;
}
FAKE_API int nvmlDeviceGetTemperature(void*, int sensor, unsigned* c) {
  if (sensor != 0) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *c = state().temperature.load();
  return 0;
}
FAKE_API int nvmlDeviceGetPowerUsage(void*, unsigned* mw) {
  *mw = 123456;
  return 0;
}
FAKE_API int nvmlDeviceGetFanSpeed(void*, unsigned*) { return 3; }  // NVML_ERROR_NOT_SUPPORTED: passively cooled
FAKE_API int nvmlDeviceGetClockInfo(void*, int type, unsigned* mhz) {
  *mhz = type == 1 ? 1980 : 2619;
  return 0;
}
