// NVIDIA Management Library (NVML), loaded at run time with dlopen("libnvidia-ml.so.1"): temperature,
// power, fan and clocks of the GPUs the cuda backend mines on. Without the library (no driver, a
// container without it) every reading is "unknown" and mining goes on; temperature throttling then has
// nothing to act on and says so once.
//
// The few entry points and types are declared here from NVIDIA's NVML API reference (docs.nvidia.com/
// deploy/nvml-api: nvmlInit_v2, nvmlDeviceGetHandleByPciBusId_v2, nvmlDeviceGetTemperature with
// NVML_TEMPERATURE_GPU = 0, nvmlDeviceGetPowerUsage in milliwatts, nvmlDeviceGetFanSpeed in percent,
// nvmlDeviceGetClockInfo with NVML_CLOCK_SM = 1 and NVML_CLOCK_MEM = 2 in MHz; NVML_SUCCESS = 0), since
// the CUDA toolkit here ships no nvml.h.
#pragma once

#include <string>

namespace otedama::cuda_backend {

/// One reading; negative = unknown.
struct GpuSensors {
  double temperature_c = -1;
  double power_w = -1;
  double fan_percent = -1;
  double sm_clock_mhz = -1;
  double memory_clock_mhz = -1;
};

class Nvml {
 public:
  /// The process-wide instance (loaded and initialised on first use, never unloaded). `available()` says
  /// whether it works; `why()` what went wrong when not.
  static Nvml& instance();

  [[nodiscard]] bool available() const noexcept { return handle_by_pci_ != nullptr; }
  [[nodiscard]] const std::string& why() const noexcept { return why_; }

  /// Readings for the GPU at `pci_bus_id` (as cuDeviceGetPCIBusId writes it, "0000:65:00.0"). Fields the
  /// GPU does not report (a passively cooled H100 has no fan) stay -1.
  [[nodiscard]] GpuSensors read(const std::string& pci_bus_id) const;

 private:
  Nvml();
  using Fn0 = int (*)();
  using HandleFn = int (*)(const char*, void**);
  using UIntFn = int (*)(void*, unsigned*);
  using EnumUIntFn = int (*)(void*, int, unsigned*);
  HandleFn handle_by_pci_ = nullptr;
  EnumUIntFn temperature_ = nullptr;
  UIntFn power_ = nullptr;
  UIntFn fan_ = nullptr;
  EnumUIntFn clock_ = nullptr;
  std::string why_;
};

}  // namespace otedama::cuda_backend
