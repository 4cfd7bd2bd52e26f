#include "nvml.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace otedama::cuda_backend {
namespace {
constexpr int kNvmlSuccess = 0;
constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
constexpr int kClockSm = 1;         // NVML_CLOCK_SM
constexpr int kClockMem = 2;        // NVML_CLOCK_MEM
}  // namespace

Nvml& Nvml::instance() {
  static Nvml nvml;
  return nvml;
}

Nvml::Nvml() {
  // OTEDAMA_CUDA_NVML names another library (the test suite's stand-in, like OTEDAMA_CUDA_DRIVER).
  const char* env = std::getenv("OTEDAMA_CUDA_NVML");
  const std::string name = env != nullptr ? env : "libnvidia-ml.so.1";
  void* lib = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = ::dlerror();
    why_ = "NVML not available (" + name + ": " + (e != nullptr ? e : "not found") + ")";
    return;
  }
  auto init = reinterpret_cast<Fn0>(::dlsym(lib, "nvmlInit_v2"));
  auto handle = reinterpret_cast<HandleFn>(::dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
  temperature_ = reinterpret_cast<EnumUIntFn>(::dlsym(lib, "nvmlDeviceGetTemperature"));
  power_ = reinterpret_cast<UIntFn>(::dlsym(lib, "nvmlDeviceGetPowerUsage"));
  fan_ = reinterpret_cast<UIntFn>(::dlsym(lib, "nvmlDeviceGetFanSpeed"));
  clock_ = reinterpret_cast<EnumUIntFn>(::dlsym(lib, "nvmlDeviceGetClockInfo"));
  if (init == nullptr || handle == nullptr) {
    why_ = "NVML library lacks nvmlInit_v2 / nvmlDeviceGetHandleByPciBusId_v2";
    return;
  }
  const int st = init();
  if (st != kNvmlSuccess) {
    why_ = "nvmlInit_v2 failed (NVML error " + std::to_string(st) + ")";
    return;
  }
  handle_by_pci_ = handle;  // available from here on
}

GpuSensors Nvml::read(const std::string& pci_bus_id) const {
  GpuSensors s;
  if (!available()) return s;
  void* dev = nullptr;
  if (handle_by_pci_(pci_bus_id.c_str(), &dev) != kNvmlSuccess || dev == nullptr) return s;
  unsigned v = 0;
  if (temperature_ != nullptr && temperature_(dev, kTemperatureGpu, &v) == kNvmlSuccess) s.temperature_c = v;
  if (power_ != nullptr && power_(dev, &v) == kNvmlSuccess) s.power_w = v / 1000.0;
  if (fan_ != nullptr && fan_(dev, &v) == kNvmlSuccess) s.fan_percent = v;
  if (clock_ != nullptr && clock_(dev, kClockSm, &v) == kNvmlSuccess) s.sm_clock_mhz = v;
  if (clock_ != nullptr && clock_(dev, kClockMem, &v) == kNvmlSuccess) s.memory_clock_mhz = v;
  return s;
}

}  // namespace otedama::cuda_backend
