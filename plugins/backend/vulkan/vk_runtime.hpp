// Vulkan plumbing of the vulkan backend: result names, the instance and physical-device enumeration (with
// memory heaps), and the per-device runtime: logical device, compute queue, descriptor/pipeline layouts,
// compute pipelines built once per algorithm from SPIR-V and kept for the plugin's life, and buffers.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <otedama/sdk/backend.hpp>

namespace otedama::vulkan_backend {

/// "VK_ERROR_DEVICE_LOST (-4)" for a VkResult.
[[nodiscard]] std::string vk_result_name(VkResult code);

/// Throws sdk::Error("<where>: <what> failed: <VK_...>") unless code is VK_SUCCESS; OTD_ERR_NO_MEMORY for the
/// out-of-memory results, OTD_ERR_IO otherwise.
void check(VkResult code, const std::string& where, const char* what);

/// One memory heap of a physical device.
struct Heap {
    uint64_t size = 0;
    bool device_local = false;
};

/// One physical device as enumerated (index i: id "vulkan<i>").
struct DeviceDesc {
    VkPhysicalDevice physical = VK_NULL_HANDLE;
    std::string id;           // "vulkan0"
    std::string name;         // VkPhysicalDeviceProperties::deviceName
    std::string type;         // "cpu", "discrete GPU", "integrated GPU", "virtual GPU", "other"
    std::string driver;       // driver name and info (Vulkan 1.2 driver properties), "" when unknown
    std::string api_version;  // "1.3.230"
    std::vector<Heap> heaps;
    uint64_t device_local_bytes = 0;  // sum of the device-local heaps
    uint32_t compute_units = 0;       // CPU devices: hardware threads; 0 = unknown
    uint32_t queue_family = UINT32_MAX;  // a family with compute, UINT32_MAX = none
    uint32_t max_groups_x = 0;           // maxComputeWorkGroupCount[0]
    uint64_t max_storage_range = 0;      // maxStorageBufferRange
    uint64_t max_allocation = 0;         // maxMemoryAllocationSize (Vulkan 1.1), else max_storage_range
    uint32_t max_shared_memory = 0;      // maxComputeSharedMemorySize (KawPow's L1 cache needs 16 KiB and a bit)
    bool cpu = false;
    // The physical identity (otd_device_info_t): VK_EXT_pci_bus_info's address, Vulkan 1.1's deviceUUID.
    // Left unknown for CPU devices (lavapipe): software, not a card another backend could list.
    bool has_pci = false;
    uint32_t pci_domain = 0, pci_bus = 0, pci_device = 0, pci_function = 0;
    uint8_t uuid[VK_UUID_SIZE] = {};
};

/// The loader's instance (Vulkan 1.1 when the loader has it). No loader driver (no ICD) is no instance and
/// no devices, not an error.
class Instance {
 public:
    /// `notes` gets a line for an instance that could not be created and each device that cannot compute.
    explicit Instance(std::vector<std::string>& notes);
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;
    ~Instance();

    [[nodiscard]] VkInstance handle() const noexcept { return instance_; }
    [[nodiscard]] const std::vector<DeviceDesc>& devices() const noexcept { return devices_; }

 private:
    VkInstance instance_ = VK_NULL_HANDLE;
    uint32_t api_ = VK_API_VERSION_1_0;
    std::vector<DeviceDesc> devices_;
};

/// A buffer with its own memory, mapped when host-visible.
struct Buffer {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    void* mapped = nullptr;
};

/// The two pipeline layouts: the SHA-256 family's (sha256d, scrypt: kernels/vulkan/sha256.glsl, 3 storage
/// buffers) and the Ethash family's (ethash, etchash, kawpow: kernels/vulkan/ethash.glsl, 11 storage buffers).
enum class Layout { kSha256, kEthash };

/// Storage buffers of the Ethash-family layout: params, results, light cache, then the DAG's buffers.
inline constexpr uint32_t kEthashBindings = 11;
inline constexpr uint32_t kDagBufferBindings = 8;  // the DAG is split over at most this many buffers

/// The compute pipeline of one algorithm.
struct Pipeline {
    VkShaderModule module = VK_NULL_HANDLE;
    VkPipeline pipeline = VK_NULL_HANDLE;
    std::string error;  // the build failure, reported again on every later request
};

/// A device's logical device, queue, layouts and pipelines (built on first use per algorithm, cached, a
/// failure too). Lives as long as the plugin instance, so a reopened device does not build again.
class Runtime {
 public:
    Runtime(const sdk::Host& host, const DeviceDesc& desc);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime();

    [[nodiscard]] const DeviceDesc& desc() const noexcept { return desc_; }
    [[nodiscard]] const std::string& where() const noexcept { return where_; }
    [[nodiscard]] VkDevice device() const noexcept { return device_; }
    [[nodiscard]] VkQueue queue() const noexcept { return queue_; }
    [[nodiscard]] VkDescriptorSetLayout set_layout(Layout l = Layout::kSha256) const noexcept {
        return l == Layout::kSha256 ? set_layout_ : eth_set_layout_;
    }
    [[nodiscard]] VkPipelineLayout pipeline_layout(Layout l = Layout::kSha256) const noexcept {
        return l == Layout::kSha256 ? pipeline_layout_ : eth_pipeline_layout_;
    }
    [[nodiscard]] uint32_t queue_family() const noexcept { return desc_.queue_family; }

    /// The compute pipeline for `algorithm`, from the SPIR-V words spirv() returns, built on first use.
    /// @throws sdk::Error(OTD_ERR_STATE) naming the device and the algorithm when the build fails, and
    /// whatever spirv() throws (before anything is cached).
    VkPipeline pipeline(const std::string& algorithm, const std::function<std::vector<uint32_t>()>& spirv,
                        Layout layout = Layout::kSha256);

    /// A compute pipeline (entry "main") from SPIR-V words, not cached here (KawPow's period pipelines are
    /// the device's). @throws sdk::Error(OTD_ERR_STATE) naming the device and `what` when the words are not
    /// SPIR-V or the driver refuses them. Free it with destroy_pipeline().
    Pipeline build_pipeline(const std::string& what, const std::vector<uint32_t>& code, Layout layout);
    void destroy_pipeline(Pipeline& p) noexcept;

    /// Forgets failed builds, so that reopening the device (after fixing `spirv_dir`) builds again. [control]
    void forget_failures();

    /// A storage buffer of `size` bytes: host-visible and coherent (mapped) when `host_visible`, else
    /// device-local when the device has such memory. @throws sdk::Error(OTD_ERR_NO_MEMORY) saying what for.
    Buffer make_buffer(VkDeviceSize size, bool host_visible, const char* what);
    void free_buffer(Buffer& b) noexcept;

    /// The self-test result, once it ran: "" = passed. Guarded by the caller (open_device, [control]).
    bool self_tested = false;
    std::string self_test_error;

 private:
    sdk::Host host_;
    DeviceDesc desc_;
    std::string where_;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
    VkPipelineLayout pipeline_layout_ = VK_NULL_HANDLE;
    VkDescriptorSetLayout eth_set_layout_ = VK_NULL_HANDLE;
    VkPipelineLayout eth_pipeline_layout_ = VK_NULL_HANDLE;
    VkPhysicalDeviceMemoryProperties memory_{};
    std::mutex mutex_;  // guards pipelines_
    std::map<std::string, Pipeline> pipelines_;
};

/// Push constants of both shaders (kernels/vulkan/sha256.glsl).
struct PushConstants {
    uint32_t nonce_base;
    uint32_t count;
    uint32_t capacity;
    uint32_t word_stride;
    uint32_t item_stride;
};

/// Push constants of the Ethash-family shaders (kernels/vulkan/ethash.glsl, EthashPush).
struct EthashPush {
    uint32_t nonce_lo;
    uint32_t nonce_hi;
    uint32_t count;
    uint32_t capacity;
    uint32_t first_item;
    uint32_t cache_items;
    uint32_t parents;
    uint32_t pages;
    uint32_t dag_shift;
};

}  // namespace otedama::vulkan_backend
