#include "cu_driver.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include <otedama/sdk/plugin.hpp>

namespace otedama::cuda_backend {
namespace {

DriverStatus load(const std::string& library) {
  DriverStatus st;
  const std::string name = library.empty() ? "libcuda.so.1" : library;
  void* lib = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = ::dlerror();
    st.why = "no CUDA driver (" + name + " not loadable: " + (e != nullptr ? e : "unknown error") +
             "); install the NVIDIA driver to mine on NVIDIA GPUs";
    return st;
  }
  st.driver_loaded = true;
  auto* d = new Driver();  // lives for the process, like the library
#define OTD_CU_RESOLVE(fn)                                                                         \
  d->fn = reinterpret_cast<decltype(d->fn)>(::dlsym(lib, #fn));                                    \
  if (d->fn == nullptr) {                                                                          \
    st.why = "the CUDA driver " + name + " lacks " #fn " (driver too old for this plugin; CUDA 12+ is needed)"; \
    delete d;                                                                                      \
    return st;                                                                                     \
  }
  OTD_CU_FUNCTIONS(OTD_CU_RESOLVE)
#undef OTD_CU_RESOLVE
  const CUresult init = d->cuInit(0);
  if (init != CUDA_SUCCESS) {
    st.why = init == CUDA_ERROR_NO_DEVICE ? std::string("no CUDA device (the driver is installed but sees no GPU)")
                                          : "no CUDA device: cuInit failed: " + cu_error_name(*d, init);
    delete d;
    return st;
  }
  (void)d->cuDriverGetVersion(&d->version);
  int count = 0;
  const CUresult c = d->cuDeviceGetCount(&count);
  if (c != CUDA_SUCCESS) {
    st.why = "no CUDA device: cuDeviceGetCount failed: " + cu_error_name(*d, c);
    delete d;
    return st;
  }
  st.driver = d;
  st.device_count = count;
  if (count == 0) st.why = "no CUDA device (the driver reports zero GPUs)";
  return st;
}

}  // namespace

DriverStatus load_driver(const std::string& library) {
  if (!library.empty()) return load(library);
  static std::once_flag once;
  static DriverStatus status;
  std::call_once(once, [] {
    // OTEDAMA_CUDA_DRIVER names another driver library (an unusual install, or the test suite's CPU
    // stand-in, tests/plugins/backend/cuda/fake_driver.cpp).
    const char* env = std::getenv("OTEDAMA_CUDA_DRIVER");
    status = load(env != nullptr ? env : "");
  });
  return status;
}

std::string cu_error_name(const Driver& driver, CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (driver.cuGetErrorName == nullptr || driver.cuGetErrorName(r, &name) != CUDA_SUCCESS) name = nullptr;
  if (driver.cuGetErrorString == nullptr || driver.cuGetErrorString(r, &text) != CUDA_SUCCESS) text = nullptr;
  std::string s = name != nullptr ? name : "CUDA error " + std::to_string(static_cast<int>(r));
  if (text != nullptr) s += std::string(" (") + text + ")";
  return s;
}

bool is_sticky(CUresult r) noexcept {
  switch (r) {
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
    case CUDA_ERROR_CONTEXT_IS_DESTROYED:
      return true;
    default:
      return false;
  }
}

void check(const Driver& driver, CUresult r, const std::string& where, const char* what) {
  if (r == CUDA_SUCCESS) return;
  const otd_status_t status = r == CUDA_ERROR_OUT_OF_MEMORY ? OTD_ERR_NO_MEMORY : is_sticky(r) ? OTD_ERR_IO : OTD_ERR_GENERIC;
  throw sdk::Error(status, where + ": " + what + " failed: " + cu_error_name(driver, r));
}

}  // namespace otedama::cuda_backend
