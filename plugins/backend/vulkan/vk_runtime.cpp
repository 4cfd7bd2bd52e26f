#include "vk_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

namespace otedama::vulkan_backend {

std::string vk_result_name(VkResult code) {
    const char* name = nullptr;
    switch (code) {
#define OTD_VK_CASE(x) \
    case x: name = #x; break;
        OTD_VK_CASE(VK_SUCCESS)
        OTD_VK_CASE(VK_NOT_READY)
        OTD_VK_CASE(VK_TIMEOUT)
        OTD_VK_CASE(VK_INCOMPLETE)
        OTD_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        OTD_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        OTD_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
        OTD_VK_CASE(VK_ERROR_DEVICE_LOST)
        OTD_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        OTD_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        OTD_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        OTD_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        OTD_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        OTD_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        OTD_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        OTD_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
        OTD_VK_CASE(VK_ERROR_UNKNOWN)
        OTD_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        OTD_VK_CASE(VK_ERROR_INVALID_SHADER_NV)
#undef OTD_VK_CASE
        default: break;
    }
    return std::string(name != nullptr ? name : "VkResult") + " (" + std::to_string(static_cast<int>(code)) + ")";
}

void check(VkResult code, const std::string& where, const char* what) {
    if (code == VK_SUCCESS) return;
    const otd_status_t status =
        (code == VK_ERROR_OUT_OF_HOST_MEMORY || code == VK_ERROR_OUT_OF_DEVICE_MEMORY) ? OTD_ERR_NO_MEMORY : OTD_ERR_IO;
    throw sdk::Error(status, where + ": " + what + " failed: " + vk_result_name(code));
}

namespace {

/// The device's deviceUUID (Vulkan 1.1) and, with VK_EXT_pci_bus_info, its PCI address.
void read_identity(VkPhysicalDevice physical, DeviceDesc& d) {
    uint32_t count = 0;
    bool pci_ext = false;
    if (vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr) == VK_SUCCESS && count > 0) {
        std::vector<VkExtensionProperties> exts(count);
        if (vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, exts.data()) >= 0) {
            for (uint32_t e = 0; e < count; ++e) pci_ext = pci_ext || std::strcmp(exts[e].extensionName, VK_EXT_PCI_BUS_INFO_EXTENSION_NAME) == 0;
        }
    }
    VkPhysicalDevicePCIBusInfoPropertiesEXT pci{};
    pci.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT;
    VkPhysicalDeviceIDProperties ids{};
    ids.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES;
    ids.pNext = pci_ext ? &pci : nullptr;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p2.pNext = &ids;
    vkGetPhysicalDeviceProperties2(physical, &p2);
    std::memcpy(d.uuid, ids.deviceUUID, VK_UUID_SIZE);
    if (pci_ext) {
        d.has_pci = true;
        d.pci_domain = pci.pciDomain;
        d.pci_bus = pci.pciBus;
        d.pci_device = pci.pciDevice;
        d.pci_function = pci.pciFunction;
    }
}

std::string version_text(uint32_t v) {
    return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
           std::to_string(VK_API_VERSION_PATCH(v));
}

const char* type_name(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
        default: return "other";
    }
}

}  // namespace

Instance::Instance(std::vector<std::string>& notes) {
    uint32_t loader = VK_API_VERSION_1_0;
    auto enumerate_version =
        reinterpret_cast<PFN_vkEnumerateInstanceVersion>(vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
    if (enumerate_version != nullptr && enumerate_version(&loader) != VK_SUCCESS) loader = VK_API_VERSION_1_0;
    api_ = loader >= VK_API_VERSION_1_2 ? VK_API_VERSION_1_2 : (loader >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0);

    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "otedama";
    app.applicationVersion = 1;
    app.pEngineName = "otedama-backend-vulkan";
    app.engineVersion = 1;
    app.apiVersion = api_;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.pApplicationInfo = &app;
    const VkResult st = vkCreateInstance(&info, nullptr, &instance_);
    if (st != VK_SUCCESS) {
        instance_ = VK_NULL_HANDLE;
        // VK_ERROR_INCOMPATIBLE_DRIVER: the loader found no driver (ICD) at all.
        notes.push_back("no Vulkan instance: vkCreateInstance failed: " + vk_result_name(st));
        return;
    }
    uint32_t count = 0;
    if (vkEnumeratePhysicalDevices(instance_, &count, nullptr) != VK_SUCCESS) {
        notes.push_back("vkEnumeratePhysicalDevices failed");
        return;
    }
    std::vector<VkPhysicalDevice> physical(count);
    if (count > 0 && vkEnumeratePhysicalDevices(instance_, &count, physical.data()) < 0) {
        notes.push_back("vkEnumeratePhysicalDevices failed");
        return;
    }
    physical.resize(count);
    for (uint32_t i = 0; i < physical.size(); ++i) {
        DeviceDesc d;
        d.physical = physical[i];
        d.id = "vulkan" + std::to_string(i);
        VkPhysicalDeviceProperties props{};
        vkGetPhysicalDeviceProperties(physical[i], &props);
        d.name = props.deviceName;
        d.type = type_name(props.deviceType);
        d.cpu = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
        d.api_version = version_text(props.apiVersion);
        d.max_groups_x = props.limits.maxComputeWorkGroupCount[0];
        d.max_storage_range = props.limits.maxStorageBufferRange;
        d.max_shared_memory = props.limits.maxComputeSharedMemorySize;
        d.max_allocation = d.max_storage_range;
        if (api_ >= VK_API_VERSION_1_2 && props.apiVersion >= VK_API_VERSION_1_2) {
            VkPhysicalDeviceDriverProperties driver{};
            driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
            VkPhysicalDeviceMaintenance3Properties m3{};
            m3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES;
            m3.pNext = &driver;
            VkPhysicalDeviceProperties2 p2{};
            p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
            p2.pNext = &m3;
            vkGetPhysicalDeviceProperties2(physical[i], &p2);
            d.driver = std::string(driver.driverName) + ", " + driver.driverInfo;
            d.max_allocation = m3.maxMemoryAllocationSize;
        }
        if (!d.cpu && api_ >= VK_API_VERSION_1_1 && props.apiVersion >= VK_API_VERSION_1_1) read_identity(physical[i], d);
        VkPhysicalDeviceMemoryProperties memory{};
        vkGetPhysicalDeviceMemoryProperties(physical[i], &memory);
        for (uint32_t h = 0; h < memory.memoryHeapCount; ++h) {
            Heap heap{memory.memoryHeaps[h].size, (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0};
            d.heaps.push_back(heap);
            if (heap.device_local) d.device_local_bytes += heap.size;
        }
        if (d.device_local_bytes == 0 && !d.heaps.empty()) d.device_local_bytes = d.heaps[0].size;
        if (d.cpu) d.compute_units = std::max(1u, std::thread::hardware_concurrency());
        uint32_t families = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(physical[i], &families, nullptr);
        std::vector<VkQueueFamilyProperties> fam(families);
        vkGetPhysicalDeviceQueueFamilyProperties(physical[i], &families, fam.data());
        // A compute family without graphics first (dedicated compute queues), else any with compute.
        for (uint32_t f = 0; f < families && d.queue_family == UINT32_MAX; ++f) {
            if ((fam[f].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(fam[f].queueFlags & VK_QUEUE_GRAPHICS_BIT) && fam[f].queueCount > 0) {
                d.queue_family = f;
            }
        }
        for (uint32_t f = 0; f < families && d.queue_family == UINT32_MAX; ++f) {
            if ((fam[f].queueFlags & VK_QUEUE_COMPUTE_BIT) && fam[f].queueCount > 0) d.queue_family = f;
        }
        if (d.queue_family == UINT32_MAX) {
            notes.push_back(d.id + " (" + d.name + ") has no compute queue; not used");
            continue;
        }
        devices_.push_back(std::move(d));
    }
    // Ids follow the usable devices' order, so that mining.gpu.devices indices match the ids.
    for (size_t i = 0; i < devices_.size(); ++i) devices_[i].id = "vulkan" + std::to_string(i);
}

Instance::~Instance() {
    if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

Runtime::Runtime(const sdk::Host& host, const DeviceDesc& desc)
    : host_(host), desc_(desc), where_(desc.id + " (" + desc.name + ")") {
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{};
    queue.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue.queueFamilyIndex = desc_.queue_family;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    VkDeviceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    check(vkCreateDevice(desc_.physical, &info, nullptr, &device_), where_, "vkCreateDevice");
    vkGetDeviceQueue(device_, desc_.queue_family, 0, &queue_);
    vkGetPhysicalDeviceMemoryProperties(desc_.physical, &memory_);
    try {
        VkDescriptorSetLayoutBinding bindings[3]{};
        for (uint32_t b = 0; b < 3; ++b) {
            bindings[b].binding = b;
            bindings[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            bindings[b].descriptorCount = 1;
            bindings[b].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        }
        VkDescriptorSetLayoutCreateInfo set{};
        set.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
        set.bindingCount = 3;
        set.pBindings = bindings;
        check(vkCreateDescriptorSetLayout(device_, &set, nullptr, &set_layout_), where_, "vkCreateDescriptorSetLayout");
        VkPushConstantRange range{};
        range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        range.offset = 0;
        range.size = sizeof(PushConstants);
        VkPipelineLayoutCreateInfo layout{};
        layout.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
        layout.setLayoutCount = 1;
        layout.pSetLayouts = &set_layout_;
        layout.pushConstantRangeCount = 1;
        layout.pPushConstantRanges = &range;
        check(vkCreatePipelineLayout(device_, &layout, nullptr, &pipeline_layout_), where_, "vkCreatePipelineLayout");

        // The Ethash family: params, results, light cache, the DAG's buffers (kernels/vulkan/ethash.glsl).
        VkDescriptorSetLayoutBinding eth_bindings[kEthashBindings]{};
        for (uint32_t b = 0; b < kEthashBindings; ++b) {
            eth_bindings[b].binding = b;
            eth_bindings[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            eth_bindings[b].descriptorCount = 1;
            eth_bindings[b].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        }
        set.bindingCount = kEthashBindings;
        set.pBindings = eth_bindings;
        check(vkCreateDescriptorSetLayout(device_, &set, nullptr, &eth_set_layout_), where_, "vkCreateDescriptorSetLayout(ethash)");
        range.size = sizeof(EthashPush);
        layout.pSetLayouts = &eth_set_layout_;
        check(vkCreatePipelineLayout(device_, &layout, nullptr, &eth_pipeline_layout_), where_, "vkCreatePipelineLayout(ethash)");
    } catch (...) {
        if (eth_set_layout_ != VK_NULL_HANDLE) vkDestroyDescriptorSetLayout(device_, eth_set_layout_, nullptr);
        if (pipeline_layout_ != VK_NULL_HANDLE) vkDestroyPipelineLayout(device_, pipeline_layout_, nullptr);
        if (set_layout_ != VK_NULL_HANDLE) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
        vkDestroyDevice(device_, nullptr);
        throw;
    }
}

Runtime::~Runtime() {
    vkDeviceWaitIdle(device_);
    for (auto& [name, p] : pipelines_) {
        if (p.pipeline != VK_NULL_HANDLE) vkDestroyPipeline(device_, p.pipeline, nullptr);
        if (p.module != VK_NULL_HANDLE) vkDestroyShaderModule(device_, p.module, nullptr);
    }
    vkDestroyPipelineLayout(device_, eth_pipeline_layout_, nullptr);
    vkDestroyDescriptorSetLayout(device_, eth_set_layout_, nullptr);
    vkDestroyPipelineLayout(device_, pipeline_layout_, nullptr);
    vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
    vkDestroyDevice(device_, nullptr);
}

void Runtime::forget_failures() {
    const std::lock_guard lock(mutex_);
    std::erase_if(pipelines_, [](const auto& entry) { return !entry.second.error.empty(); });
}

VkPipeline Runtime::pipeline(const std::string& algorithm, const std::function<std::vector<uint32_t>()>& spirv_of, Layout layout) {
    const std::lock_guard lock(mutex_);
    auto it = pipelines_.find(algorithm);
    if (it != pipelines_.end()) {
        if (!it->second.error.empty()) throw sdk::Error(OTD_ERR_STATE, it->second.error);
        return it->second.pipeline;
    }
    const std::vector<uint32_t> code = spirv_of();  // a missing file throws here, before anything is cached
    Pipeline& p = pipelines_[algorithm];
    try {
        p = build_pipeline("the " + algorithm + " pipeline", code, layout);
        return p.pipeline;
    } catch (const sdk::Error& e) {
        p.error = e.what();
        host_.error(p.error);
        throw;
    }
}

Pipeline Runtime::build_pipeline(const std::string& what, const std::vector<uint32_t>& code, Layout layout) {
    Pipeline p;
    try {
        // Drivers do not validate SPIR-V (that is the validation layers' job) and may crash on garbage: at
        // least the header (SPIR-V 2.3: magic number, version, generator, bound, schema) is checked here.
        if (code.size() < 5 || code[0] != 0x07230203u) {
            throw sdk::Error(OTD_ERR_STATE, where_ + ": building " + what +
                                                " failed: not SPIR-V (no 0x07230203 magic number in the first word, or "
                                                "shorter than the 5-word header)");
        }
        const auto started = std::chrono::steady_clock::now();
        VkShaderModuleCreateInfo module{};
        module.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
        module.codeSize = code.size() * sizeof(uint32_t);
        module.pCode = code.data();
        VkResult st = vkCreateShaderModule(device_, &module, nullptr, &p.module);
        if (st != VK_SUCCESS) {
            p.module = VK_NULL_HANDLE;
            throw sdk::Error(OTD_ERR_STATE, where_ + ": building " + what + " failed: vkCreateShaderModule: " + vk_result_name(st));
        }
        VkComputePipelineCreateInfo info{};
        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
        info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        info.stage.module = p.module;
        info.stage.pName = "main";
        info.layout = pipeline_layout(layout);
        st = vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &info, nullptr, &p.pipeline);
        if (st != VK_SUCCESS) {
            p.pipeline = VK_NULL_HANDLE;
            throw sdk::Error(OTD_ERR_STATE, where_ + ": building " + what + " failed: vkCreateComputePipelines: " + vk_result_name(st));
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        host_.info(where_ + ": built " + what + " in " + std::to_string(seconds).substr(0, 5) + " s");
        return p;
    } catch (...) {
        destroy_pipeline(p);
        throw;
    }
}

void Runtime::destroy_pipeline(Pipeline& p) noexcept {
    if (p.pipeline != VK_NULL_HANDLE) vkDestroyPipeline(device_, p.pipeline, nullptr);
    if (p.module != VK_NULL_HANDLE) vkDestroyShaderModule(device_, p.module, nullptr);
    p.pipeline = VK_NULL_HANDLE;
    p.module = VK_NULL_HANDLE;
}

Buffer Runtime::make_buffer(VkDeviceSize size, bool host_visible, const char* what) {
    Buffer b;
    b.size = size;
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = size;
    // Transfers: the light cache is uploaded through a staging buffer, DAG items are read back in tests.
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(vkCreateBuffer(device_, &info, nullptr, &b.buffer), where_, (std::string("vkCreateBuffer(") + what + ")").c_str());
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(device_, b.buffer, &req);
    const VkMemoryPropertyFlags wanted = host_visible ? (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
                                                      : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t t = 0; t < memory_.memoryTypeCount && type == UINT32_MAX; ++t) {
        if ((req.memoryTypeBits & (1u << t)) && (memory_.memoryTypes[t].propertyFlags & wanted) == wanted) type = t;
    }
    // Device-local is a preference: any type the buffer allows will do.
    for (uint32_t t = 0; t < memory_.memoryTypeCount && type == UINT32_MAX && !host_visible; ++t) {
        if (req.memoryTypeBits & (1u << t)) type = t;
    }
    if (type == UINT32_MAX) {
        vkDestroyBuffer(device_, b.buffer, nullptr);
        throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": no memory type for the " + what + " buffer");
    }
    VkMemoryAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex = type;
    VkResult st = vkAllocateMemory(device_, &alloc, nullptr, &b.memory);
    if (st != VK_SUCCESS) {
        vkDestroyBuffer(device_, b.buffer, nullptr);
        throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": cannot allocate " + std::to_string(req.size >> 10) + " KiB for the " + what +
                                                " buffer: " + vk_result_name(st));
    }
    st = vkBindBufferMemory(device_, b.buffer, b.memory, 0);
    if (st == VK_SUCCESS && host_visible) st = vkMapMemory(device_, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped);
    if (st != VK_SUCCESS) {
        free_buffer(b);
        check(st, where_, (std::string("binding/mapping the ") + what + " buffer").c_str());
    }
    return b;
}

void Runtime::free_buffer(Buffer& b) noexcept {
    if (b.mapped != nullptr) vkUnmapMemory(device_, b.memory);
    if (b.buffer != VK_NULL_HANDLE) vkDestroyBuffer(device_, b.buffer, nullptr);
    if (b.memory != VK_NULL_HANDLE) vkFreeMemory(device_, b.memory, nullptr);
    b = Buffer{};
}

}  // namespace otedama::vulkan_backend
