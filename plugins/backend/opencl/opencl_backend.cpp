// The OpenCL backend ("org.otedama.backend.opencl"): one SCAN device per OpenCL device of every platform
// (ids "opencl<platform>.<device>"), each with one lane, mining sha256d and scrypt with the kernels of
// kernels/opencl (embedded at build time). See README.md for what it does and does not do yet.
//
// Device info: name = "<device name> (<vendor>; <platform>)", memory_bytes = CL_DEVICE_GLOBAL_MEM_SIZE,
// compute_units = CL_DEVICE_MAX_COMPUTE_UNITS, max_lanes 1, nonce_size_max 8, algorithms
// "sha256d,scrypt,ethash,etchash,kawpow".
// Which devices mine is the host's choice (mining.enable_gpu, mining.gpu.devices as enumeration indices);
// limits.intensity (mining.gpu.intensity) bounds the work items of one launch to 2^intensity.
//
// Settings (plugins.settings."org.otedama.backend.opencl"): kernel_dir (string: build the kernels from
// the .cl files in this folder instead of the embedded copies, e.g. the installed share/otedama/kernels/
// opencl, for kernel development), launch_ms (integer 5..1000, default 50: the target time of one launch;
// the abort flag is checked between launches).
#include <otedama/common/flat_json.hpp>
#include <otedama/sdk/backend.hpp>

#include <memory>
#include <string>
#include <vector>

#include "cl_device.hpp"
#include "cl_runtime.hpp"

namespace otedama::opencl_backend {
namespace {

constexpr uint32_t kMaxIntensity = 31;

Settings parse_settings(const std::string& json) {
    const common::FlatJsonObject object = common::parse_flat_json_object(json);
    if (!object.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, "opencl: settings are not a JSON object: " + object.error);
    Settings s;
    for (const common::JsonMember& m : object.members) {
        if (m.key == "kernel_dir") {
            if (m.value.kind != common::JsonValue::Kind::string) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("opencl: kernel_dir must be a string, not ") + m.value.kind_name());
            }
            s.kernel_dir = m.value.text;
        } else if (m.key == "launch_ms") {
            const auto v = common::json_integer(m.value, 5, 1000);
            if (!v) throw sdk::Error(OTD_ERR_INVALID_ARG, "opencl: launch_ms must be an integer from 5 to 1000, not " + m.value.text);
            s.launch_ms = static_cast<uint32_t>(*v);
        } else if (m.key == "program_cache") {
            if (m.value.kind != common::JsonValue::Kind::string) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("opencl: program_cache must be a string (a folder, or \"\" for none), not ") +
                                                          m.value.kind_name());
            }
            s.program_cache_dir = m.value.text;
        } else {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "opencl: unknown setting '" + m.key + "' (known: kernel_dir, launch_ms, program_cache)");
        }
    }
    return s;
}

uint32_t read_intensity(const otd_device_limits_t& limits) {
    const uint32_t intensity = sdk::struct_covers(limits, OTD_FIELD_END(otd_device_limits_t, intensity)) ? limits.intensity : 0;
    if (intensity > kMaxIntensity) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "opencl: intensity " + std::to_string(intensity) +
                                                  " is out of range (1 .. 31: 2^intensity work items per launch; 0 = default 20)");
    }
    return intensity;
}

class OpenClBackend final : public sdk::Backend<OpenClBackend> {
 public:
    using Backend::Backend;

    void init() override {
        settings_ = parse_settings(host().config_json());
        std::vector<std::string> notes;
        devices_ = enumerate_devices(notes);
        for (const std::string& n : notes) host().warn("opencl: " + n);
        runtimes_.resize(devices_.size());
        open_.assign(devices_.size(), false);
        if (devices_.empty()) host().info("opencl: no OpenCL platform or device found");
        for (const DeviceDesc& d : devices_) {
            host().info("opencl: " + d.id + " " + d.name + " (" + d.vendor + "; " + d.platform_name + "; " + d.version + "), " +
                        std::to_string(d.compute_units) + " compute units, " + std::to_string(d.global_memory >> 20) + " MiB" +
                        (d.available ? "" : ", not available"));
        }
    }

    std::vector<otd_device_info_t> enumerate() {
        std::vector<otd_device_info_t> out;
        for (const DeviceDesc& d : devices_) {
            otd_device_info_t info =
                sdk::device_info(OTD_DEVICE_SCAN, d.id, d.name + " (" + d.vendor + "; " + d.platform_name + ")", kAlgorithms);
            info.memory_bytes = d.global_memory;
            info.compute_units = d.compute_units;
            info.max_lanes = 1;
            info.queue_depth = 0;
            info.numa_node = -1;
            info.nonce_size_max = 8;  // the Ethash family's 8-byte nonce
            if (d.has_pci) sdk::set_pci_bus_id(info, d.pci_domain, d.pci_bus, d.pci_device, d.pci_function);
            sdk::set_uuid(info, d.uuid);
            out.push_back(info);
        }
        return out;
    }

    otd_device_t* open_device(uint32_t index, const otd_device_limits_t& limits) {
        if (index >= devices_.size()) {
            throw sdk::Error(OTD_ERR_NOT_FOUND, "opencl: no device " + std::to_string(index) + " (" +
                                                    std::to_string(devices_.size()) + " OpenCL device(s) present)");
        }
        if (open_[index]) throw sdk::Error(OTD_ERR_BUSY, devices_[index].id + " is already open");
        const uint32_t intensity = read_intensity(limits);
        if (!runtimes_[index]) runtimes_[index] = std::make_unique<Runtime>(host(), devices_[index]);
        runtimes_[index]->forget_failures();
        auto device = std::make_unique<Device>(host(), *runtimes_[index], intensity, settings_);
        host().info(devices_[index].id + ": open, intensity " + (intensity != 0 ? std::to_string(intensity) : "default (20)"));
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

    void set_limits(otd_device_t* handle, const otd_device_limits_t& limits) { device_of(handle).set_intensity(read_intensity(limits)); }

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
        if (handle == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "opencl: device is NULL");
        return *reinterpret_cast<Device*>(handle);
    }

    Settings settings_;
    std::vector<DeviceDesc> devices_;
    // Declared after nothing that outlives them; destroyed when the instance is (after every close_device).
    std::vector<std::unique_ptr<Runtime>> runtimes_;
    std::vector<bool> open_;      // [control]
    std::vector<Opened> opened_;  // [control]
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_BACKEND, "org.otedama.backend.opencl", "opencl", "0.1.0", "Otedama",
    "OpenCL backend: sha256d, scrypt, ethash/etchash and kawpow kernels on every OpenCL device (GPUs, PoCL on CPUs)", "", OTD_BACKEND_INTERFACE_ID);

}  // namespace
}  // namespace otedama::opencl_backend

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<otedama::opencl_backend::OpenClBackend>(otedama::opencl_backend::kDescriptor));
