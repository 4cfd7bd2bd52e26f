// The CUDA backend ("org.otedama.backend.cuda"): one SCAN device per CUDA device (ids "cuda<ordinal>"),
// each with one lane, mining sha256d, scrypt, ethash and etchash with the kernels of kernels/cuda (nvcc
// fatbins embedded at build time) and kawpow with a per-period kernel NVRTC compiles at run time. The CUDA
// driver, NVML and NVRTC are loaded at run time: without the driver (no GPU) the plugin loads and reports
// zero devices, saying why once; without NVRTC kawpow is unsupported. See README.md.
//
// Settings (plugins.settings."org.otedama.backend.cuda"): launch_ms (5..1000, default 50: target time of
// one launch; the abort flag is checked between launches), launch_timeout_ms (100..600000, default 10000:
// the watchdog's limit for one launch), kernel_dir (load <algorithm>.fatbin from this folder instead of
// the embedded images, e.g. the installed share/otedama/kernels/cuda), program_cache (where compiled
// KawPow period programs are kept; default $XDG_CACHE_HOME/otedama/cuda or ~/.cache/otedama/cuda; "" = none).
#include <otedama/common/flat_json.hpp>
#include <otedama/sdk/backend.hpp>

#include <memory>
#include <string>
#include <vector>

#include "cu_device.hpp"
#include "cu_driver.hpp"
#include "nvml.hpp"
#include "nvrtc.hpp"

namespace otedama::cuda_backend {
namespace {

constexpr uint32_t kMaxIntensity = 31;
constexpr int kMinComputeMajor = 9;  // the build's sm_90 code and compute_90 PTX

Settings parse_settings(const std::string& json) {
  const common::FlatJsonObject object = common::parse_flat_json_object(json);
  if (!object.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: settings are not a JSON object: " + object.error);
  Settings s;
  for (const common::JsonMember& m : object.members) {
    if (m.key == "launch_ms") {
      const auto v = common::json_integer(m.value, 5, 1000);
      if (!v) throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: launch_ms must be an integer from 5 to 1000, not " + m.value.text);
      s.launch_ms = static_cast<uint32_t>(*v);
    } else if (m.key == "launch_timeout_ms") {
      const auto v = common::json_integer(m.value, 100, 600000);
      if (!v) throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: launch_timeout_ms must be an integer from 100 to 600000, not " + m.value.text);
      s.launch_timeout_ms = static_cast<uint32_t>(*v);
    } else if (m.key == "program_cache") {
      if (m.value.kind != common::JsonValue::Kind::string) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("cuda: program_cache must be a string (a folder, or \"\" for none), not ") +
                                                  m.value.kind_name());
      }
      s.program_cache_dir = m.value.text;
    } else if (m.key == "kernel_dir") {
      if (m.value.kind != common::JsonValue::Kind::string) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("cuda: kernel_dir must be a string, not ") + m.value.kind_name());
      }
      s.kernel_dir = m.value.text;
    } else {
      throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: unknown setting '" + m.key + "' (known: launch_ms, launch_timeout_ms, kernel_dir, program_cache)");
    }
  }
  if (s.launch_timeout_ms < 2 * s.launch_ms) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: launch_timeout_ms (" + std::to_string(s.launch_timeout_ms) + ") must be at least twice launch_ms (" +
                                              std::to_string(s.launch_ms) + ")");
  }
  return s;
}

Limits read_limits(const otd_device_limits_t& limits) {
  Limits l;
  l.intensity = sdk::struct_covers(limits, OTD_FIELD_END(otd_device_limits_t, intensity)) ? limits.intensity : 0;
  l.temperature_limit_c =
      sdk::struct_covers(limits, OTD_FIELD_END(otd_device_limits_t, temperature_limit_c)) ? limits.temperature_limit_c : 0;
  if (l.intensity > kMaxIntensity) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: intensity " + std::to_string(l.intensity) +
                                              " is out of range (1 .. 31: at most 2^intensity threads per launch; 0 = default 30)");
  }
  return l;
}

class CudaBackend final : public sdk::Backend<CudaBackend> {
 public:
  using Backend::Backend;

  void init() override {
    settings_ = parse_settings(host().config_json());
    const DriverStatus st = load_driver();
    driver_ = st.driver;
    if (driver_ == nullptr || st.device_count == 0) {
      // No driver at all is the ordinary state of a machine without an NVIDIA GPU (info); a driver that is
      // there but sees no device, or fails, is worth a warning.
      const std::string line = "cuda: " + st.why + "; the cuda backend has no devices";
      if (st.driver_loaded) {
        host().warn(line);
      } else {
        host().info(line);
      }
      return;
    }
    host().info("cuda: driver " + std::to_string(driver_->version / 1000) + "." + std::to_string(driver_->version % 1000 / 10) + ", " +
                std::to_string(st.device_count) + " device(s)");
    if (!Nvml::instance().available()) host().warn("cuda: " + Nvml::instance().why() + ": no temperature, power or fan readings");
    if (Nvrtc::instance().available()) {
      host().info("cuda: NVRTC " + Nvrtc::instance().version() + " (" + Nvrtc::instance().library() + ") compiles the kawpow period programs");
    } else {
      host().warn("cuda: kawpow is unsupported: " + Nvrtc::instance().why());
    }
    for (int i = 0; i < st.device_count; ++i) {
      DeviceDesc d;
      d.ordinal = i;
      d.id = "cuda" + std::to_string(i);
      CUdevice dev = 0;
      if (driver_->cuDeviceGet(&dev, i) != CUDA_SUCCESS) {
        host().warn("cuda: cuDeviceGet(" + std::to_string(i) + ") failed; device skipped");
        continue;
      }
      char name[256] = {};
      (void)driver_->cuDeviceGetName(name, sizeof name - 1, dev);
      d.name = name;
      size_t memory = 0;
      (void)driver_->cuDeviceTotalMem_v2(&memory, dev);
      d.memory = memory;
      int v = 0;
      if (driver_->cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev) == CUDA_SUCCESS) d.sms = static_cast<uint32_t>(v);
      (void)driver_->cuDeviceGetAttribute(&d.cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
      (void)driver_->cuDeviceGetAttribute(&d.cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
      char bus[64] = {};
      if (driver_->cuDeviceGetPCIBusId(bus, sizeof bus - 1, dev) == CUDA_SUCCESS) d.pci_bus_id = bus;
      // The physical identity other backends compare with (a CUDA device is PCI function 0).
      int domain = 0, pci_bus = 0, pci_device = 0;
      d.has_pci = driver_->cuDeviceGetAttribute(&domain, CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, dev) == CUDA_SUCCESS &&
                  driver_->cuDeviceGetAttribute(&pci_bus, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, dev) == CUDA_SUCCESS &&
                  driver_->cuDeviceGetAttribute(&pci_device, CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, dev) == CUDA_SUCCESS;
      d.pci_domain = static_cast<uint32_t>(domain);
      d.pci_bus = static_cast<uint32_t>(pci_bus);
      d.pci_device = static_cast<uint32_t>(pci_device);
      const GpuSensors s = Nvml::instance().read(d.pci_bus_id);
      host().info("cuda: " + d.id + " " + d.name + ", compute capability " + std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor) + ", " +
                  std::to_string(d.sms) + " SMs, " + std::to_string(d.memory >> 20) + " MiB, PCI " + d.pci_bus_id +
                  (s.temperature_c >= 0 ? ", " + std::to_string(static_cast<int>(s.temperature_c)) + " °C" : std::string()) +
                  (s.sm_clock_mhz >= 0 ? ", SM clock " + std::to_string(static_cast<int>(s.sm_clock_mhz)) + " MHz" : std::string()) +
                  (s.memory_clock_mhz >= 0 ? ", memory clock " + std::to_string(static_cast<int>(s.memory_clock_mhz)) + " MHz" : std::string()));
      if (d.cc_major < kMinComputeMajor) {
        host().warn("cuda: " + d.id + " has compute capability " + std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor) +
                    "; this build's kernels need 9.0 or newer (sm_90 code, compute_90 PTX): listed without algorithms");
      }
      devices_.push_back(std::move(d));
    }
    open_.assign(devices_.size(), false);
  }

  std::vector<otd_device_info_t> enumerate() {
    std::vector<otd_device_info_t> out;
    for (const DeviceDesc& d : devices_) {
      otd_device_info_t info = sdk::device_info(OTD_DEVICE_SCAN, d.id, d.name, 
                                                     d.cc_major < kMinComputeMajor          ? ""
                                                     : Nvrtc::instance().available() ? kAlgorithms
                                                                                     : kAlgorithmsWithoutNvrtc);
      info.memory_bytes = d.memory;
      info.compute_units = d.sms;
      info.max_lanes = 1;
      info.queue_depth = 0;
      info.numa_node = -1;
      info.nonce_size_max = 8;  // the Ethash family's 8-byte nonce (sha256d and scrypt use 4)
      if (d.has_pci) sdk::set_pci_bus_id(info, d.pci_domain, d.pci_bus, d.pci_device, 0);
      out.push_back(info);
    }
    return out;
  }

  otd_device_t* open_device(uint32_t index, const otd_device_limits_t& limits) {
    if (index >= devices_.size()) {
      throw sdk::Error(OTD_ERR_NOT_FOUND, "cuda: no device " + std::to_string(index) + " (" + std::to_string(devices_.size()) + " CUDA device(s) present)");
    }
    if (open_[index]) throw sdk::Error(OTD_ERR_BUSY, devices_[index].id + " is already open");
    const Limits l = read_limits(limits);
    auto device = std::make_unique<Device>(host(), *driver_, devices_[index], l, settings_);
    host().info(devices_[index].id + ": open, intensity " + (l.intensity != 0 ? std::to_string(l.intensity) : "default (30)") +
                ", temperature limit " + (l.temperature_limit_c != 0 ? std::to_string(l.temperature_limit_c) + " °C" : "none"));
    open_[index] = true;
    opened_.push_back(Opened{device.get(), index});
    return reinterpret_cast<otd_device_t*>(device.release());
  }

  void close_device(otd_device_t* handle) {
    if (handle == nullptr) return;
    Device* device = reinterpret_cast<Device*>(handle);
    for (auto it = opened_.begin(); it != opened_.end(); ++it) {
      if (it->device == device) {
        open_[it->index] = false;
        opened_.erase(it);
        break;
      }
    }
    delete device;
  }

  void set_limits(otd_device_t* handle, const otd_device_limits_t& limits) { device_of(handle).set_limits(read_limits(limits)); }

  otd_device_telemetry_t telemetry(otd_device_t* handle) { return device_of(handle).telemetry(); }

  otd_status_t run(otd_device_t* handle, uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done) {
    return device_of(handle).run(lane, work, hashes_done);
  }

 private:
  struct Opened {
    Device* device;
    size_t index;
  };

  static Device& device_of(otd_device_t* handle) {
    if (handle == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "cuda: device is NULL");
    return *reinterpret_cast<Device*>(handle);
  }

  Settings settings_;
  const Driver* driver_ = nullptr;
  std::vector<DeviceDesc> devices_;
  std::vector<bool> open_;      // [control]
  std::vector<Opened> opened_;  // [control]
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_BACKEND, "org.otedama.backend.cuda", "cuda", "0.1.0", "Otedama",
                    "CUDA backend: sha256d, scrypt, ethash/etchash and kawpow kernels on NVIDIA GPUs (driver, NVML and NVRTC loaded at run time)", "", OTD_BACKEND_INTERFACE_ID);

}  // namespace
}  // namespace otedama::cuda_backend

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<otedama::cuda_backend::CudaBackend>(otedama::cuda_backend::kDescriptor));
