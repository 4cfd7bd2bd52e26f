// The Vulkan backend ("org.otedama.backend.vulkan"): one SCAN device per Vulkan physical device with a
// compute queue (ids "vulkan<i>"), each with one lane, mining sha256d, scrypt, ethash, etchash and kawpow with
// the compute shaders of kernels/vulkan (GLSL compiled to SPIR-V by glslc at build time and embedded; KawPow's
// per-period shader compiled at run time by libshaderc). See README.md.
//
// Device info: name = "<deviceName> (<type>; <driver>)", memory_bytes = the device-local heaps,
// compute_units = hardware threads for CPU devices (lavapipe), 0 (unknown) otherwise, max_lanes 1,
// nonce_size_max 8, algorithms kAlgorithms (vk_device.hpp). Which devices mine is the host's choice
// (mining.enable_gpu, mining.gpu.devices as enumeration indices); limits.intensity (mining.gpu.intensity)
// bounds the invocations of one dispatch to 2^intensity.
//
// Settings (plugins.settings."org.otedama.backend.vulkan"): spirv_dir (string: load <algorithm>.spv from
// this folder instead of the embedded SPIR-V, e.g. the installed share/otedama/kernels/vulkan), launch_ms
// (integer 5..1000, default 50: the target time of one dispatch; the abort flag is checked between
// dispatches), self_test (boolean, default true: the known-answer self-test at a device's first open),
// program_cache (string: folder for compiled KawPow period shaders, default $XDG_CACHE_HOME/otedama/vulkan,
// "" = none).
#include <otedama/common/flat_json.hpp>
#include <otedama/sdk/backend.hpp>

#include <memory>
#include <string>
#include <vector>

#include "vk_device.hpp"
#include "vk_runtime.hpp"

namespace otedama::vulkan_backend {
namespace {

constexpr uint32_t kMaxIntensity = 31;

Settings parse_settings(const std::string& json) {
    const common::FlatJsonObject object = common::parse_flat_json_object(json);
    if (!object.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, "vulkan: settings are not a JSON object: " + object.error);
    Settings s;
    for (const common::JsonMember& m : object.members) {
        if (m.key == "spirv_dir") {
            if (m.value.kind != common::JsonValue::Kind::string) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("vulkan: spirv_dir must be a string, not ") + m.value.kind_name());
            }
            s.spirv_dir = m.value.text;
        } else if (m.key == "launch_ms") {
            const auto v = common::json_integer(m.value, 5, 1000);
            if (!v) throw sdk::Error(OTD_ERR_INVALID_ARG, "vulkan: launch_ms must be an integer from 5 to 1000, not " + m.value.text);
            s.launch_ms = static_cast<uint32_t>(*v);
        } else if (m.key == "self_test") {
            if (m.value.kind != common::JsonValue::Kind::boolean) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("vulkan: self_test must be true or false, not ") + m.value.kind_name());
            }
            s.self_test = m.value.boolean;
        } else if (m.key == "program_cache") {
            if (m.value.kind != common::JsonValue::Kind::string) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("vulkan: program_cache must be a string, not ") + m.value.kind_name());
            }
            s.program_cache_dir = m.value.text;
        } else {
            throw sdk::Error(OTD_ERR_INVALID_ARG,
                             "vulkan: unknown setting '" + m.key + "' (known: spirv_dir, launch_ms, self_test, program_cache)");
        }
    }
    return s;
}

uint32_t read_intensity(const otd_device_limits_t& limits) {
    const uint32_t intensity = sdk::struct_covers(limits, OTD_FIELD_END(otd_device_limits_t, intensity)) ? limits.intensity : 0;
    if (intensity > kMaxIntensity) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "vulkan: intensity " + std::to_string(intensity) +
                                                  " is out of range (1 .. 31: 2^intensity invocations per dispatch; 0 = default 20)");
    }
    return intensity;
}

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

class VulkanBackend final : public sdk::Backend<VulkanBackend> {
 public:
    using Backend::Backend;

    void init() override {
        settings_ = parse_settings(host().config_json());
        std::vector<std::string> notes;
        instance_ = std::make_unique<Instance>(notes);
        for (const std::string& n : notes) host().warn("vulkan: " + n);
        const std::vector<DeviceDesc>& devices = instance_->devices();
        runtimes_.resize(devices.size());
        open_.assign(devices.size(), false);
        if (devices.empty()) host().info("vulkan: no Vulkan device found");
        for (const DeviceDesc& d : devices) {
            std::string heaps;
            for (size_t h = 0; h < d.heaps.size(); ++h) {
                heaps += (h ? ", " : "") + std::string("heap ") + std::to_string(h) + " " + mib(d.heaps[h].size) +
                         (d.heaps[h].device_local ? " device-local" : " host");
            }
            host().info("vulkan: " + d.id + " " + d.name + " (" + d.type + (d.driver.empty() ? "" : "; " + d.driver) + "; Vulkan " +
                        d.api_version + "), memory heaps: " + heaps);
        }
    }

    std::vector<otd_device_info_t> enumerate() {
        std::vector<otd_device_info_t> out;
        for (const DeviceDesc& d : instance_->devices()) {
            otd_device_info_t info = sdk::device_info(OTD_DEVICE_SCAN, d.id, display_name(d), kAlgorithms);
            info.memory_bytes = d.device_local_bytes;
            info.compute_units = d.compute_units;
            info.max_lanes = 1;
            info.queue_depth = 0;
            info.numa_node = -1;
            info.nonce_size_max = 8;  // the Ethash family's 64-bit nonces
            if (d.has_pci) sdk::set_pci_bus_id(info, d.pci_domain, d.pci_bus, d.pci_device, d.pci_function);
            sdk::set_uuid(info, d.uuid);
            out.push_back(info);
        }
        return out;
    }

    otd_device_t* open_device(uint32_t index, const otd_device_limits_t& limits) {
        const std::vector<DeviceDesc>& devices = instance_->devices();
        if (index >= devices.size()) {
            throw sdk::Error(OTD_ERR_NOT_FOUND, "vulkan: no device " + std::to_string(index) + " (" + std::to_string(devices.size()) +
                                                    " Vulkan device(s) present)");
        }
        if (open_[index]) throw sdk::Error(OTD_ERR_BUSY, devices[index].id + " is already open");
        const uint32_t intensity = read_intensity(limits);
        if (!runtimes_[index]) runtimes_[index] = std::make_unique<Runtime>(host(), devices[index]);
        Runtime& runtime = *runtimes_[index];
        runtime.forget_failures();
        auto device = std::make_unique<Device>(host(), runtime, intensity, settings_);
        if (settings_.self_test && !runtime.self_tested) {
            // Once per device and plugin instance: the shaders against the CPU reference on known headers.
            runtime.self_test_error = device->self_test();
            runtime.self_tested = true;
            if (runtime.self_test_error.empty()) {
                host().info(runtime.where() + ": self-test passed (sha256d, scrypt against the CPU reference)");
            } else {
                host().error(runtime.where() + ": self-test failed: " + runtime.self_test_error);
            }
        }
        if (settings_.self_test && !runtime.self_test_error.empty()) {
            throw sdk::Error(OTD_ERR_SELF_TEST, runtime.where() + ": self-test failed: " + runtime.self_test_error);
        }
        host().info(devices[index].id + ": open, intensity " + (intensity != 0 ? std::to_string(intensity) : "default (20)"));
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

    static std::string display_name(const DeviceDesc& d) {
        std::string name = d.name + " (" + d.type + (d.driver.empty() ? "" : "; " + d.driver) + ")";
        if (name.size() >= OTD_NAME_CAP) name = d.name + " (" + d.type + ")";
        return name;
    }

    static Device& device_of(otd_device_t* handle) {
        if (handle == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, "vulkan: device is NULL");
        return *reinterpret_cast<Device*>(handle);
    }

    Settings settings_;
    // Destroyed in reverse: the open devices are closed by the host first, then the runtimes (logical
    // devices), then the instance.
    std::unique_ptr<Instance> instance_;
    std::vector<std::unique_ptr<Runtime>> runtimes_;
    std::vector<bool> open_;      // [control]
    std::vector<Opened> opened_;  // [control]
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_BACKEND, "org.otedama.backend.vulkan", "vulkan", "0.1.0", "Otedama",
    "Vulkan compute backend: sha256d, scrypt, ethash, etchash and kawpow shaders on every Vulkan device (GPUs, lavapipe on CPUs)", "",
    OTD_BACKEND_INTERFACE_ID);

}  // namespace
}  // namespace otedama::vulkan_backend

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<otedama::vulkan_backend::VulkanBackend>(otedama::vulkan_backend::kDescriptor));
