#include "vk_ethash.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <sstream>

#if OTEDAMA_HAVE_SHADERC
#include <shaderc/shaderc.h>
#endif

namespace otedama::vulkan_backend {
namespace {

std::string mib(uint64_t bytes) {
    std::ostringstream s;
    s.precision(1);
    s << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
    return s.str();
}

constexpr auto kHungAfter = std::chrono::seconds(120);  // a submission not done by then: the device is hung

}  // namespace

DagPlan plan_dataset(const DeviceDesc& d, uint64_t cache_bytes, uint64_t dag_bytes, const std::string& what,
                     uint64_t max_buffer_bytes) {
    const std::string where = d.id + " (" + d.name + ")";
    uint64_t device_limit = d.max_storage_range;
    if (d.max_allocation != 0) device_limit = std::min(device_limit, d.max_allocation);
    const uint64_t per_buffer = max_buffer_bytes != 0 ? std::min(device_limit, max_buffer_bytes) : device_limit;
    // A power of two of 16-byte words: one shift and mask per DAG load in the shaders, and a 256-byte KawPow
    // entry or a 128-byte hashimoto page never straddles two buffers.
    const uint64_t buffer_bytes = per_buffer >= 256 ? std::bit_floor(per_buffer) : 0;
    uint64_t heap = 0;
    for (const Heap& h : d.heaps) {
        if (h.device_local) heap = std::max(heap, h.size);
    }
    if (heap == 0) heap = d.device_local_bytes;
    const uint64_t buffers = buffer_bytes != 0 ? (dag_bytes + buffer_bytes - 1) / buffer_bytes : 0;
    const bool dag_fits = buffer_bytes != 0 && buffers <= kDagBufferBindings;
    const bool cache_fits = cache_bytes <= device_limit;
    const bool heap_fits = heap == 0 || cache_bytes + dag_bytes <= heap;
    if (!dag_fits || !cache_fits || !heap_fits) {
        throw sdk::Error(OTD_ERR_NO_MEMORY,
                         where + ": " + what + " does not fit: it needs " + std::to_string(dag_bytes) + " bytes (" + mib(dag_bytes) +
                             ") of DAG in at most " + std::to_string(kDagBufferBindings) + " storage buffers of " +
                             std::to_string(buffer_bytes) + " bytes (the largest power of two within maxStorageBufferRange " +
                             std::to_string(d.max_storage_range) + " and maxMemoryAllocationSize " + std::to_string(d.max_allocation) +
                             ": " + std::to_string(buffers) + " buffers), plus " + std::to_string(cache_bytes) + " bytes (" +
                             mib(cache_bytes) + ") of light cache in one buffer; the largest device-local memory heap has " +
                             std::to_string(heap) + " bytes (" + mib(heap) + ")");
    }
    DagPlan plan;
    plan.buffer_bytes = buffer_bytes;
    plan.shift = static_cast<uint32_t>(std::countr_zero(buffer_bytes)) - 4;
    plan.buffers = static_cast<uint32_t>(std::max<uint64_t>(buffers, 1));
    return plan;
}

// ---------------------------------------------------------------------------------------------------------

Commands::Commands(Runtime& runtime) : runtime_(runtime) {
    const VkDevice dev = runtime_.device();
    try {
        VkCommandPoolCreateInfo pool{};
        pool.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
        pool.queueFamilyIndex = runtime_.queue_family();
        check(vkCreateCommandPool(dev, &pool, nullptr, &pool_), runtime_.where(), "vkCreateCommandPool");
        VkCommandBufferAllocateInfo cb{};
        cb.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
        cb.commandPool = pool_;
        cb.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        cb.commandBufferCount = 1;
        check(vkAllocateCommandBuffers(dev, &cb, &command_), runtime_.where(), "vkAllocateCommandBuffers");
        VkFenceCreateInfo fence{};
        fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        check(vkCreateFence(dev, &fence, nullptr, &fence_), runtime_.where(), "vkCreateFence");
    } catch (...) {
        if (pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(dev, pool_, nullptr);
        throw;
    }
}

Commands::~Commands() {
    if (fence_ != VK_NULL_HANDLE) vkDestroyFence(runtime_.device(), fence_, nullptr);
    if (pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(runtime_.device(), pool_, nullptr);
}

void Commands::run(const std::function<void(VkCommandBuffer)>& record, const std::string& what) {
    const std::string& where = runtime_.where();
    check(vkResetCommandBuffer(command_, 0), where, "vkResetCommandBuffer");
    VkCommandBufferBeginInfo begin{};
    begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(command_, &begin), where, "vkBeginCommandBuffer");
    // Whatever ran before on the queue (uploads, DAG dispatches, searches) is ordered before this.
    VkMemoryBarrier before{};
    before.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
    before.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(command_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
    record(command_);
    VkMemoryBarrier after{};
    after.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    after.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    after.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(command_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &after, 0, nullptr, 0, nullptr);
    check(vkEndCommandBuffer(command_), where, "vkEndCommandBuffer");
    check(vkResetFences(runtime_.device(), 1, &fence_), where, "vkResetFences");
    VkSubmitInfo info{};
    info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    info.commandBufferCount = 1;
    info.pCommandBuffers = &command_;
    check(vkQueueSubmit(runtime_.queue(), 1, &info, fence_), where, ("submitting " + what).c_str());
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
        const VkResult st = vkWaitForFences(runtime_.device(), 1, &fence_, VK_TRUE, 1'000'000'000ull);
        if (st == VK_SUCCESS) return;
        if (st != VK_TIMEOUT) check(st, where, what.c_str());
        if (std::chrono::steady_clock::now() - started > kHungAfter) {
            // The submission still owns the command buffer: wait for it before anything is freed.
            (void)vkQueueWaitIdle(runtime_.queue());
            throw sdk::Error(OTD_ERR_TIMEOUT, where + ": " + what + ": no result after " +
                                                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kHungAfter).count()) +
                                                  " s; the device looks hung");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------

DeviceDataset::DeviceDataset(Runtime& runtime, std::shared_ptr<const ethash::LightCache> cache, uint32_t parents, std::string what,
                             uint64_t max_buffer_bytes)
    : runtime_(runtime), cache_(std::move(cache)), parents_(parents), where_(runtime.where()), what_(std::move(what)) {
    if (parents_ == 0 || parents_ % 16 != 0) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": " + std::to_string(parents_) +
                                                  " dataset parents: the DAG shader takes a positive multiple of 16");
    }
    items_ = cache_->dataset_bytes() / 64;
    plan_ = plan_dataset(runtime_.desc(), cache_->bytes(), bytes(), what_, max_buffer_bytes);
    const VkDevice dev = runtime_.device();
    try {
        commands_ = std::make_unique<Commands>(runtime_);
        cache_buffer_ = runtime_.make_buffer(cache_->bytes(), false, "light cache");
        for (uint32_t b = 0; b < plan_.buffers; ++b) {
            const uint64_t size = std::min(plan_.buffer_bytes, bytes() - uint64_t{b} * plan_.buffer_bytes);
            try {
                dag_.push_back(runtime_.make_buffer(size, false, "DAG"));
            } catch (const sdk::Error& e) {
                throw sdk::Error(OTD_ERR_NO_MEMORY, std::string(e.what()) + " (" + what_ + ": buffer " + std::to_string(b + 1) + " of " +
                                                        std::to_string(plan_.buffers) + ", " + std::to_string(bytes()) + " bytes in all)");
            }
        }
        placeholder_ = runtime_.make_buffer(256, false, "placeholder");
        {  // The light cache, through a host-visible staging buffer.
            Buffer staging = runtime_.make_buffer(cache_->bytes(), true, "light-cache staging");
            std::memcpy(staging.mapped, cache_->items(), cache_->bytes());
            try {
                commands_->run(
                    [&](VkCommandBuffer cb) {
                        const VkBufferCopy region{0, 0, cache_->bytes()};
                        vkCmdCopyBuffer(cb, staging.buffer, cache_buffer_.buffer, 1, &region);
                    },
                    "uploading the light cache");
            } catch (...) {
                runtime_.free_buffer(staging);
                throw;
            }
            runtime_.free_buffer(staging);
        }
        VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kEthashBindings};
        VkDescriptorPoolCreateInfo dp{};
        dp.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        dp.maxSets = 1;
        dp.poolSizeCount = 1;
        dp.pPoolSizes = &size;
        check(vkCreateDescriptorPool(dev, &dp, nullptr, &descriptors_), where_, "vkCreateDescriptorPool");
        const VkDescriptorSetLayout layout = runtime_.set_layout(Layout::kEthash);
        VkDescriptorSetAllocateInfo ds{};
        ds.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
        ds.descriptorPool = descriptors_;
        ds.descriptorSetCount = 1;
        ds.pSetLayouts = &layout;
        check(vkAllocateDescriptorSets(dev, &ds, &set_), where_, "vkAllocateDescriptorSets");
        std::array<VkDescriptorBufferInfo, kEthashBindings> infos{};
        infos[0] = {placeholder_.buffer, 0, VK_WHOLE_SIZE};
        infos[1] = {placeholder_.buffer, 0, VK_WHOLE_SIZE};
        std::array<VkDescriptorBufferInfo, kDagBufferBindings + 1> mine{};
        describe(placeholder_.buffer, mine);
        std::copy(mine.begin(), mine.end(), infos.begin() + 2);
        std::array<VkWriteDescriptorSet, kEthashBindings> writes{};
        for (uint32_t b = 0; b < kEthashBindings; ++b) {
            writes[b].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
            writes[b].dstSet = set_;
            writes[b].dstBinding = b;
            writes[b].descriptorCount = 1;
            writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[b].pBufferInfo = &infos[b];
        }
        vkUpdateDescriptorSets(dev, kEthashBindings, writes.data(), 0, nullptr);
    } catch (...) {
        release();
        throw;
    }
}

DeviceDataset::~DeviceDataset() { release(); }

void DeviceDataset::release() noexcept {
    // Every submission of commands_ was waited for; the device's own searches are drained by its owner.
    if (descriptors_ != VK_NULL_HANDLE) vkDestroyDescriptorPool(runtime_.device(), descriptors_, nullptr);
    descriptors_ = VK_NULL_HANDLE;
    runtime_.free_buffer(placeholder_);
    for (Buffer& b : dag_) runtime_.free_buffer(b);
    dag_.clear();
    runtime_.free_buffer(cache_buffer_);
    commands_.reset();
}

void DeviceDataset::describe(VkBuffer placeholder, std::array<VkDescriptorBufferInfo, kDagBufferBindings + 1>& out) const {
    out[0] = {cache_buffer_.buffer, 0, VK_WHOLE_SIZE};
    for (uint32_t b = 0; b < kDagBufferBindings; ++b) {
        out[1 + b] = {b < dag_.size() ? dag_[b].buffer : placeholder, 0, VK_WHOLE_SIZE};
    }
}

void DeviceDataset::dispatch(VkPipeline dag_pipeline, uint64_t first, uint32_t count) {
    const EthashPush pc{0, 0, count, 0, static_cast<uint32_t>(first), cache_->item_count(), parents_, 0, plan_.shift};
    commands_->run(
        [&](VkCommandBuffer cb) {
            vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, dag_pipeline);
            vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, runtime_.pipeline_layout(Layout::kEthash), 0, 1, &set_, 0,
                                    nullptr);
            vkCmdPushConstants(cb, runtime_.pipeline_layout(Layout::kEthash), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
            vkCmdDispatch(cb, (count + 63) / 64, 1, 1);
        },
        "generating DAG items " + std::to_string(first) + " + " + std::to_string(count));
}

void DeviceDataset::generate_items(VkPipeline dag_pipeline, uint64_t first, uint32_t count) {
    if (first + count > items_) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": DAG items past the end");
    if (count != 0) dispatch(dag_pipeline, first, count);
}

bool DeviceDataset::generate(VkPipeline dag_pipeline, const volatile uint32_t* abort, uint32_t chunk,
                             const std::function<void(uint64_t, uint64_t)>& progress) {
    chunk = std::max<uint32_t>(chunk, 64);
    while (generated_ < items_) {
        if (abort != nullptr && *abort != 0) return false;
        const auto started = std::chrono::steady_clock::now();
        const auto count = static_cast<uint32_t>(std::min<uint64_t>(chunk, items_ - generated_));
        dispatch(dag_pipeline, generated_, count);
        generated_ += count;
        seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (progress) progress(generated_, items_);
    }
    return true;
}

std::vector<ethash::Item> DeviceDataset::read(uint64_t first, uint32_t count) {
    std::vector<ethash::Item> out(count);
    if (count == 0) return out;
    if (first + count > items_) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": DAG items past the end");
    Buffer staging = runtime_.make_buffer(uint64_t{count} * 64, true, "DAG read-back");
    try {
        commands_->run(
            [&](VkCommandBuffer cb) {
                // Items never straddle two buffers (64-byte items, buffers of a power of two >= 256 bytes).
                uint64_t at = first * 64;
                const uint64_t end = (first + count) * 64;
                while (at < end) {
                    const uint64_t b = at / plan_.buffer_bytes, offset = at % plan_.buffer_bytes;
                    const uint64_t n = std::min(end - at, plan_.buffer_bytes - offset);
                    const VkBufferCopy region{offset, at - first * 64, n};
                    vkCmdCopyBuffer(cb, dag_[b].buffer, staging.buffer, 1, &region);
                    at += n;
                }
            },
            "reading DAG items");
        std::memcpy(out.data(), staging.mapped, uint64_t{count} * 64);
    } catch (...) {
        runtime_.free_buffer(staging);
        throw;
    }
    runtime_.free_buffer(staging);
    return out;
}

// ---------------------------------------------------------------------------------------------------------

#if OTEDAMA_HAVE_SHADERC

bool have_glsl_compiler() noexcept { return true; }

std::string glsl_compiler_identity() {
    unsigned int version = 0, revision = 0;
    shaderc_get_spv_version(&version, &revision);
    return "shaderc (SPIR-V " + std::to_string(version) + "." + std::to_string(revision) + ")";
}

std::vector<uint32_t> compile_glsl(const std::string& source, const std::string& what) {
    struct Owned {
        shaderc_compiler_t compiler = shaderc_compiler_initialize();
        shaderc_compile_options_t options = shaderc_compile_options_initialize();
        shaderc_compilation_result_t result = nullptr;
        ~Owned() {
            if (result != nullptr) shaderc_result_release(result);
            if (options != nullptr) shaderc_compile_options_release(options);
            if (compiler != nullptr) shaderc_compiler_release(compiler);
        }
    } s;
    if (s.compiler == nullptr || s.options == nullptr) throw sdk::Error(OTD_ERR_NO_MEMORY, "vulkan: cannot start the GLSL compiler (shaderc)");
    shaderc_compile_options_set_optimization_level(s.options, shaderc_optimization_level_performance);
    shaderc_compile_options_set_target_env(s.options, shaderc_target_env_vulkan, shaderc_env_version_vulkan_1_0);
    shaderc_compile_options_set_warnings_as_errors(s.options);
    s.result = shaderc_compile_into_spv(s.compiler, source.data(), source.size(), shaderc_compute_shader, what.c_str(), "main", s.options);
    if (s.result == nullptr) throw sdk::Error(OTD_ERR_NO_MEMORY, "vulkan: the GLSL compiler (shaderc) failed on " + what);
    if (shaderc_result_get_compilation_status(s.result) != shaderc_compilation_status_success) {
        std::string messages = shaderc_result_get_error_message(s.result);
        if (messages.size() > 2000) messages = messages.substr(0, 2000) + "...";
        throw sdk::Error(OTD_ERR_STATE, "vulkan: compiling " + what + " (GLSL) failed: " + messages);
    }
    const size_t bytes = shaderc_result_get_length(s.result);
    std::vector<uint32_t> words(bytes / 4);
    std::memcpy(words.data(), shaderc_result_get_bytes(s.result), words.size() * 4);
    return words;
}

#else

bool have_glsl_compiler() noexcept { return false; }

std::string glsl_compiler_identity() { return {}; }

std::vector<uint32_t> compile_glsl(const std::string&, const std::string& what) {
    throw sdk::Error(OTD_ERR_UNSUPPORTED, "vulkan: " + what +
                                              " needs the run-time GLSL compiler, and this build of the vulkan backend has none "
                                              "(libshaderc was not found at build time; Debian: libshaderc-dev)");
}

#endif

}  // namespace otedama::vulkan_backend
