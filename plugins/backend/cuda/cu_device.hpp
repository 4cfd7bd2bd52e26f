// One open CUDA device of the cuda backend: its context, kernels, the scan loop of its single lane, the
// launch watchdog, temperature throttling and telemetry (README.md).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/ethash/ethash.hpp>
#include <otedama/ethash/light_cache_chooser.hpp>
#include <otedama/sdk/backend.hpp>

#include "cu_driver.hpp"
#include "cu_ethash.hpp"
#include "nvml.hpp"
#include "throttle.hpp"

namespace otedama::cuda_backend {

/// Where an Ethash-family device gets the light cache of (variant, epoch). Unset: built on the CPU from the
/// epoch (the real thing). Tests set it to serve caches of small, explicit geometry.
using LightCacheSource = ethash::LightCacheSource;

/// The plugin's settings (plugins.settings."org.otedama.backend.cuda").
struct Settings {
  uint32_t launch_ms = 50;             ///< target duration of one launch
  uint32_t launch_timeout_ms = 10000;  ///< watchdog: a launch running longer is a hung device
  std::string kernel_dir;              ///< load <algorithm>.fatbin from here instead of the embedded copies
  /// Compiled KawPow period programs are kept here ("" = not kept).
  std::string program_cache_dir = ProgramCache::default_dir();
  LightCacheSource light_cache_source;  ///< not a JSON setting: tests only
};

/// The algorithms this backend has kernels for, as the device info lists them; kawpow only with NVRTC.
inline constexpr const char* kAlgorithms = "sha256d,scrypt,ethash,etchash,kawpow";
inline constexpr const char* kAlgorithmsWithoutNvrtc = "sha256d,scrypt,ethash,etchash";

/// What enumeration learnt about one device.
struct DeviceDesc {
  int ordinal = 0;
  std::string id;          ///< "cuda0"
  std::string name;        ///< "NVIDIA H100 80GB HBM3"
  std::string pci_bus_id;  ///< "0000:65:00.0" (NVML's key)
  bool has_pci = false;    ///< the PCI address from cuDeviceGetAttribute (otd_device_info_t::pci_bus_id)
  uint32_t pci_domain = 0, pci_bus = 0, pci_device = 0;
  uint64_t memory = 0;
  uint32_t sms = 0;
  int cc_major = 0, cc_minor = 0;
};

/// Limits the host sets: intensity (0 = default) and the temperature limit (0 = none).
struct Limits {
  uint32_t intensity = 0;
  uint32_t temperature_limit_c = 0;
};

class Device {
 public:
  static constexpr uint32_t kResultCapacity = 1024;

  Device(const sdk::Host& host, const Driver& driver, const DeviceDesc& desc, Limits limits, const Settings& settings);
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device();

  /// [worker] Mines the work unit's nonce range. @throws sdk::Error naming the device.
  otd_status_t run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done);
  /// [control]
  void set_limits(Limits limits);
  /// [any]
  [[nodiscard]] otd_device_telemetry_t telemetry();
  /// [any] Context resets the watchdog did (a hung launch, a sticky kernel error).
  [[nodiscard]] uint64_t resets() const noexcept { return resets_.load(std::memory_order_relaxed); }

  // The Ethash family's dataset and KawPow programs ([worker]; tests and the log).
  /// Items of the DAG on the device (0 before the first ethash-family run).
  [[nodiscard]] uint64_t dag_items() const noexcept { return dag_items_; }
  /// Seconds the DAG generation took (launches to finish).
  [[nodiscard]] double dag_seconds() const noexcept { return dag_seconds_; }
  /// Items [first, first + count) as the device holds them (blocking read).
  [[nodiscard]] std::vector<ethash::Item> read_dag(uint64_t first, uint32_t count);
  [[nodiscard]] uint64_t programs_compiled() const noexcept { return programs_compiled_; }
  [[nodiscard]] uint64_t programs_from_cache() const noexcept { return programs_from_cache_; }

 private:
  struct Algorithm {
    std::string name;
    const char* kernel_name;
    bool scrypt;
    const ethash::Variant* variant = nullptr;  ///< the Ethash family (kernel image "ethash"; kawpow via NVRTC)
    CUmodule module = nullptr;
    CUfunction function = nullptr;
    double items_per_second = 0;
  };
  struct PeriodModule {
    CUmodule module = nullptr;
    CUfunction function = nullptr;
  };

  void open_context();               // [worker/ctor] retain the primary context, stream, events, buffers
  void close_context(bool reset);    // frees everything; reset: cuDevicePrimaryCtxReset (after a fault)
  Algorithm& algorithm_for(const otd_work_unit_t& work);
  void load_kernel(Algorithm& a);
  [[nodiscard]] uint64_t max_items(const Algorithm& a);
  void ensure_scratch(uint64_t items);
  /// Reads NVML at most once a second and updates throttling; the pause to take before the next launch.
  std::chrono::milliseconds throttle_pause();
  otd_status_t scan(Algorithm& algorithm, const otd_work_unit_t& work, uint64_t& hashes_done);
  // The Ethash family (cu_device_ethash.cpp).
  void check_ethash_work(const Algorithm& algorithm, const otd_work_unit_t& work) const;
  otd_status_t run_ethash(Algorithm& algorithm, const otd_work_unit_t& work, uint64_t& hashes_done);
  bool ensure_dataset(const Algorithm& algorithm, const otd_work_unit_t& work);
  CUfunction ethash_function(const char* name);
  void unload_periods() noexcept;
  CUfunction kawpow_function(const otd_work_unit_t& work, uint64_t period);
  /// Polls `event` until done, the watchdog's limit (OTD_ERR_TIMEOUT) or a driver error.
  void wait_event(CUevent event, const std::string& what);
  void release_ethash(bool reset) noexcept;

  sdk::Host host_;
  const Driver& cu_;
  DeviceDesc desc_;
  Settings settings_;
  std::string where_;
  std::atomic<uint32_t> intensity_;
  std::atomic<uint32_t> temperature_limit_;

  // Worker-side state.
  CUcontext ctx_ = nullptr;
  CUstream stream_ = nullptr;
  std::array<CUevent, 2> events_{};
  std::array<CUdeviceptr, 2> results_{};
  std::array<uint32_t*, 2> host_results_{};
  CUdeviceptr scratch_ = 0;
  uint64_t scratch_items_ = 0;
  bool broken_ = false;  // a fault left the context unusable: reset it before the next run
  std::vector<Algorithm> algorithms_;
  // The Ethash family: light cache and DAG on the device, the search parameters, KawPow's period modules.
  CUdeviceptr light_ = 0;
  CUdeviceptr dag_ = 0;
  CUdeviceptr eth_params_ = 0;
  uint32_t light_items_ = 0;
  uint32_t dag_parents_ = 0;
  uint64_t dag_items_ = 0;
  uint64_t dag_generated_ = 0;
  double dag_seconds_ = 0;
  std::string dataset_key_;
  ethash::LightCacheChooser light_caches_;  // the default light-cache source's caches
  std::map<uint64_t, PeriodModule> periods_;
  uint64_t programs_compiled_ = 0;
  uint64_t programs_from_cache_ = 0;
  std::chrono::steady_clock::time_point last_sensor_read_{};
  bool warned_no_sensor_ = false;

  std::atomic<uint64_t> hashes_{0};
  std::atomic<uint64_t> hardware_errors_{0};
  std::atomic<uint64_t> resets_{0};
  std::atomic<uint32_t> throttled_{0};

  std::mutex telemetry_mutex_;
  GpuSensors sensors_;  // under telemetry_mutex_
  std::chrono::steady_clock::time_point last_sample_;
  uint64_t last_sample_hashes_ = 0;
  double last_hashrate_ = 0;
};

}  // namespace otedama::cuda_backend
