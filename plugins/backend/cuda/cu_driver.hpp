// The CUDA driver API, loaded at run time with dlopen("libcuda.so.1"): the plugin links nothing of CUDA, so
// it loads on a machine without the NVIDIA driver and reports zero devices there (README.md). cuda.h gives
// the types and the signatures (decltype), dlsym the functions by their versioned ABI names.
#pragma once

#include <cuda.h>

#include <string>

namespace otedama::cuda_backend {

#define OTD_CU_FUNCTIONS(X)                                                                                   \
  X(cuInit) X(cuDriverGetVersion) X(cuGetErrorName) X(cuGetErrorString) X(cuDeviceGetCount) X(cuDeviceGet) \
  X(cuDeviceGetName) X(cuDeviceTotalMem_v2) X(cuDeviceGetAttribute) X(cuDeviceGetPCIBusId)                 \
  X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease_v2) X(cuDevicePrimaryCtxReset_v2)              \
  X(cuCtxSetCurrent) X(cuCtxSynchronize) X(cuModuleLoadDataEx) X(cuModuleUnload) X(cuModuleGetFunction)    \
  X(cuMemGetInfo_v2) X(cuMemAlloc_v2) X(cuMemFree_v2) X(cuMemAllocHost_v2) X(cuMemFreeHost)                \
  X(cuMemcpyHtoDAsync_v2) X(cuMemcpyDtoHAsync_v2) X(cuMemsetD32Async) X(cuLaunchKernel) X(cuStreamCreate)  \
  X(cuStreamDestroy_v2) X(cuStreamSynchronize) X(cuEventCreate) X(cuEventDestroy_v2) X(cuEventRecord)      \
  X(cuEventQuery)

/// The driver's entry points. Loaded once per process (the library is never unloaded: the driver keeps
/// threads of its own).
struct Driver {
#define OTD_CU_MEMBER(name) decltype(&::name) name = nullptr;
  OTD_CU_FUNCTIONS(OTD_CU_MEMBER)
#undef OTD_CU_MEMBER
  int version = 0;  ///< cuDriverGetVersion: 1000 * major + 10 * minor
};

/// The outcome of loading the driver and cuInit.
struct DriverStatus {
  const Driver* driver = nullptr;  ///< nullptr: no usable driver (then `why` says what happened)
  int device_count = 0;
  bool driver_loaded = false;      ///< libcuda.so.1 was found (whether or not it works)
  std::string why;                 ///< "" when devices were found
};

/// Loads libcuda.so.1 (or `library` when not empty, for tests), resolves every function, calls cuInit(0)
/// and counts the devices. No driver, an old driver, CUDA_ERROR_NO_DEVICE and the like are "zero devices"
/// with the reason, never an exception. The result for the default library is computed once per process.
[[nodiscard]] DriverStatus load_driver(const std::string& library = "");

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)" for a driver result.
[[nodiscard]] std::string cu_error_name(const Driver& driver, CUresult r);

/// Throws sdk::Error naming `where` and `what` when r is not CUDA_SUCCESS. Launch timeouts, illegal
/// addresses and the like (a context the driver declared broken, is_sticky) map to OTD_ERR_IO,
/// out-of-memory to OTD_ERR_NO_MEMORY, everything else to OTD_ERR_GENERIC.
void check(const Driver& driver, CUresult r, const std::string& where, const char* what);

/// Whether r leaves the context unusable (sticky error: every later call fails until it is reset).
[[nodiscard]] bool is_sticky(CUresult r) noexcept;

}  // namespace otedama::cuda_backend
