#include "vk_device.hpp"

#include <otedama/common/sha256.hpp>
#include <scrypt_core.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <span>

#include "vulkan_glsl.hpp"

namespace otedama::vulkan_backend {
namespace {

// The shaders as glslc compiled them at build time (kernels/vulkan/*.comp, `glslc -mfmt=num`).
constexpr uint32_t kSha256dSpirv[] = {
#include "sha256d.spv.inc"
};
constexpr uint32_t kScryptSpirv[] = {
#include "scrypt.spv.inc"
};
constexpr uint32_t kEthashSpirv[] = {
#include "ethash.spv.inc"
};
constexpr uint32_t kEthashDagSpirv[] = {
#include "ethash_dag.spv.inc"
};

constexpr uint32_t kDefaultIntensity = 20;
constexpr uint32_t kMaxIntensity = 31;
constexpr uint64_t kScryptBytesPerItem = 128ull * 1024;  // N = 1024 blocks of 128 bytes (r = 1)
constexpr uint64_t kGroupSize = 64;                       // local_size_x of the shaders; dispatch granule
constexpr uint32_t kParamWords = 35;                      // kernels/vulkan/sha256.glsl
constexpr uint32_t kEntryWords = 9;                       // nonce + 8 digest words
constexpr auto kHungAfter = std::chrono::seconds(120);    // a dispatch not done by then: the device is hung

uint32_t be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

std::vector<uint32_t> read_spirv_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw sdk::Error(OTD_ERR_NOT_FOUND, "vulkan: cannot read shader " + path.string());
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw sdk::Error(OTD_ERR_IO, "vulkan: error reading shader " + path.string());
    if (bytes.size() % 4 != 0) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "vulkan: shader " + path.string() + " is " + std::to_string(bytes.size()) +
                                                  " bytes, not a whole number of 32-bit SPIR-V words");
    }
    std::vector<uint32_t> words(bytes.size() / 4);
    std::memcpy(words.data(), bytes.data(), bytes.size());
    return words;
}

std::string hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::vector<uint8_t> unhex(std::string_view h) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) {
        const auto nib = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
        out.push_back(static_cast<uint8_t>(nib(h[i]) << 4 | nib(h[i + 1])));
    }
    return out;
}

}  // namespace

std::vector<uint32_t> shader_spirv(const Settings& settings, const std::string& algorithm) {
    if (!settings.spirv_dir.empty()) return read_spirv_file(std::filesystem::path(settings.spirv_dir) / (algorithm + ".spv"));
    if (algorithm == "sha256d") return {std::begin(kSha256dSpirv), std::end(kSha256dSpirv)};
    if (algorithm == "scrypt") return {std::begin(kScryptSpirv), std::end(kScryptSpirv)};
    if (algorithm == "ethash") return {std::begin(kEthashSpirv), std::end(kEthashSpirv)};
    if (algorithm == "ethash_dag") return {std::begin(kEthashDagSpirv), std::end(kEthashDagSpirv)};
    throw sdk::Error(OTD_ERR_NOT_FOUND, "vulkan: no embedded shader for " + algorithm);
}

std::string glsl_file(const std::string& file) {
    for (const EmbeddedKernel& k : kEmbeddedKernels) {
        if (k.file == file) return std::string(k.source);
    }
    throw sdk::Error(OTD_ERR_NOT_FOUND, "vulkan: no embedded GLSL file " + file);
}

Device::Device(const sdk::Host& host, Runtime& runtime, uint32_t intensity, const Settings& settings)
    : host_(host), runtime_(runtime), settings_(settings), where_(runtime.where()), intensity_(intensity) {
    algorithms_.push_back(Algorithm{"sha256d", false});
    algorithms_.push_back(Algorithm{"scrypt", true});
    algorithms_.push_back(Algorithm{"ethash", false, 0, &ethash::kEthash});
    algorithms_.push_back(Algorithm{"etchash", false, 0, &ethash::kEtchash});
    algorithms_.push_back(Algorithm{"kawpow", false, 0, &ethash::kKawpow});
    const VkDevice dev = runtime_.device();
    try {
        VkCommandPoolCreateInfo pool{};
        pool.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
        pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
        pool.queueFamilyIndex = runtime_.queue_family();
        check(vkCreateCommandPool(dev, &pool, nullptr, &pool_), where_, "vkCreateCommandPool");
        VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3 * static_cast<uint32_t>(slots_.size())};
        VkDescriptorPoolCreateInfo dp{};
        dp.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        dp.maxSets = static_cast<uint32_t>(slots_.size());
        dp.poolSizeCount = 1;
        dp.pPoolSizes = &size;
        check(vkCreateDescriptorPool(dev, &dp, nullptr, &descriptors_), where_, "vkCreateDescriptorPool");
        params_ = runtime_.make_buffer(kParamWords * sizeof(uint32_t), true, "parameters");
        scratch_ = runtime_.make_buffer(256, false, "scratch placeholder");
        for (Slot& s : slots_) {
            s.results = runtime_.make_buffer((1 + size_t{kEntryWords} * kResultCapacity) * sizeof(uint32_t), true, "results");
            VkCommandBufferAllocateInfo cb{};
            cb.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
            cb.commandPool = pool_;
            cb.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
            cb.commandBufferCount = 1;
            check(vkAllocateCommandBuffers(dev, &cb, &s.command), where_, "vkAllocateCommandBuffers");
            VkFenceCreateInfo fence{};
            fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
            check(vkCreateFence(dev, &fence, nullptr, &s.fence), where_, "vkCreateFence");
            const VkDescriptorSetLayout layout = runtime_.set_layout();
            VkDescriptorSetAllocateInfo ds{};
            ds.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
            ds.descriptorPool = descriptors_;
            ds.descriptorSetCount = 1;
            ds.pSetLayouts = &layout;
            check(vkAllocateDescriptorSets(dev, &ds, &s.set), where_, "vkAllocateDescriptorSets");
        }
        bind_slots();
    } catch (...) {
        release();
        throw;
    }
    last_sample_ = std::chrono::steady_clock::now();
}

Device::~Device() { release(); }

void Device::release() noexcept {
    const VkDevice dev = runtime_.device();
    drain();
    release_ethash();
    for (Slot& s : slots_) {
        if (s.fence != VK_NULL_HANDLE) vkDestroyFence(dev, s.fence, nullptr);
        runtime_.free_buffer(s.results);
        s = Slot{};
    }
    runtime_.free_buffer(scratch_);
    runtime_.free_buffer(params_);
    if (descriptors_ != VK_NULL_HANDLE) vkDestroyDescriptorPool(dev, descriptors_, nullptr);  // frees the sets
    if (pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(dev, pool_, nullptr);                   // and the buffers
    descriptors_ = VK_NULL_HANDLE;
    pool_ = VK_NULL_HANDLE;
}

void Device::drain() noexcept {
    for (Slot& s : slots_) {
        if (s.submitted) {
            (void)vkWaitForFences(runtime_.device(), 1, &s.fence, VK_TRUE, UINT64_MAX);
            s.submitted = false;
        }
    }
}

void Device::bind_slots() {
    for (Slot& s : slots_) {
        const VkDescriptorBufferInfo infos[3] = {
            {params_.buffer, 0, VK_WHOLE_SIZE}, {s.results.buffer, 0, VK_WHOLE_SIZE}, {scratch_.buffer, 0, VK_WHOLE_SIZE}};
        VkWriteDescriptorSet writes[3]{};
        for (uint32_t b = 0; b < 3; ++b) {
            writes[b].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
            writes[b].dstSet = s.set;
            writes[b].dstBinding = b;
            writes[b].descriptorCount = 1;
            writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[b].pBufferInfo = &infos[b];
        }
        vkUpdateDescriptorSets(runtime_.device(), 3, writes, 0, nullptr);
    }
}

void Device::set_intensity(uint32_t intensity) { intensity_.store(intensity, std::memory_order_relaxed); }

Device::Algorithm& Device::algorithm_for(const otd_work_unit_t& work) {
    std::string name;
    if (work.algorithm != nullptr) {
        name = work.algorithm;
    } else if (work.algorithm_table != nullptr && work.algorithm_table->name != nullptr) {
        name = work.algorithm_table->name;
    }
    for (Algorithm& a : algorithms_) {
        if (a.name == name) return a;
    }
    throw sdk::Error(OTD_ERR_UNSUPPORTED, where_ + ": no Vulkan shader for algorithm '" + name + "' (this backend runs " +
                                              kAlgorithms + ")");
}

uint64_t Device::max_items(const Algorithm& algorithm) const {
    uint32_t intensity = intensity_.load(std::memory_order_relaxed);
    if (intensity == 0) intensity = kDefaultIntensity;
    intensity = std::min(intensity, kMaxIntensity);
    uint64_t items = uint64_t{1} << intensity;
    const DeviceDesc& d = runtime_.desc();
    items = std::min<uint64_t>(items, uint64_t{d.max_groups_x} * kGroupSize);
    if (algorithm.scrypt) {
        uint64_t memory = std::min(d.max_storage_range, d.max_allocation);
        if (d.device_local_bytes != 0) memory = std::min(memory, d.device_local_bytes / 2);
        const uint64_t fit = memory / kScryptBytesPerItem;
        if (fit == 0) {
            throw sdk::Error(OTD_ERR_NO_MEMORY, where_ + ": scrypt needs 128 KiB of device memory per invocation; the device "
                                                         "allows " + std::to_string(memory) + " bytes per storage buffer");
        }
        items = std::min(items, fit);
    }
    return std::max<uint64_t>(1, items);
}

void Device::ensure_scratch(uint64_t items) {
    if (scratch_items_ == items) return;
    drain();
    Buffer fresh;
    try {
        fresh = runtime_.make_buffer(items * kScryptBytesPerItem, false, "scrypt scratchpad");
    } catch (const sdk::Error& e) {
        throw sdk::Error(OTD_ERR_NO_MEMORY, std::string(e.what()) + " (" + std::to_string(items) + " invocations x 128 KiB = " +
                                                std::to_string((items * kScryptBytesPerItem) >> 20) +
                                                " MiB; lower mining.gpu.intensity)");
    }
    runtime_.free_buffer(scratch_);
    scratch_ = fresh;
    scratch_items_ = items;
    bind_slots();
}

void Device::write_params(const otd_work_unit_t& work) {
    const uint8_t* h = work.blob;
    std::array<uint32_t, kParamWords> p{};
    const common::Sha256State mid = common::sha256_midstate(std::span<const uint8_t, 64>(h, 64));
    for (int i = 0; i < 8; ++i) p[i] = mid[i];
    for (int i = 0; i < 3; ++i) p[8 + i] = be32(h + 64 + 4 * i);
    for (int i = 0; i < 8; ++i) p[11 + i] = le32(work.share_target + 4 * i);
    for (int i = 0; i < 16; ++i) p[19 + i] = be32(h + 4 * i);
    std::memcpy(params_.mapped, p.data(), sizeof p);  // host-coherent; no dispatch is in flight now
}

void Device::wait(Slot& slot, const std::string& what) {
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
        const VkResult st = vkWaitForFences(runtime_.device(), 1, &slot.fence, VK_TRUE, 1'000'000'000ull);
        if (st == VK_SUCCESS) break;
        if (st != VK_TIMEOUT) check(st, where_, what.c_str());
        if (std::chrono::steady_clock::now() - started > kHungAfter) {
            throw sdk::Error(OTD_ERR_TIMEOUT, where_ + ": " + what + ": no result after " +
                                                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kHungAfter).count()) +
                                                  " s; the device looks hung");
        }
    }
    slot.submitted = false;
}

otd_status_t Device::run(uint32_t lane, const otd_work_unit_t& work, uint64_t& hashes_done) {
    hashes_done = 0;
    if (lane != 0) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": lane " + std::to_string(lane) + " out of range (one lane per device)");
    }
    if (!sdk::struct_covers(work, OTD_FIELD_END(otd_work_unit_t, on_found_user))) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": work unit struct_size " + std::to_string(work.struct_size) +
                                                  " lacks the callback fields");
    }
    Algorithm& algorithm = algorithm_for(work);
    if (algorithm.variant != nullptr) return run_ethash(algorithm, work, hashes_done);
    if (work.blob == nullptr || work.blob_size != 80 || work.nonce_offset != 76 || work.nonce_size != 4) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": " + algorithm.name +
                                                  " work must be an 80-byte header with a 4-byte nonce at offset 76 (got " +
                                                  std::to_string(work.blob_size) + " bytes, " + std::to_string(work.nonce_size) +
                                                  "-byte nonce at " + std::to_string(work.nonce_offset) + ")");
    }
    if (work.nonce_start > 0xffffffffULL || work.nonce_count > 0x100000000ULL - work.nonce_start) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": nonce range " + std::to_string(work.nonce_start) + " + " +
                                                  std::to_string(work.nonce_count) + " leaves the 32-bit nonce field");
    }
    if (work.on_found == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, where_ + ": work unit has no on_found callback");
    if (work.nonce_count == 0) return OTD_OK;
    const auto aborted = [&] { return work.abort_flag != nullptr && *work.abort_flag != 0; };
    if (aborted()) return OTD_ERR_ABORTED;

    drain();  // nothing of an earlier, failed run is still in flight (the job switch rewrites the parameters)
    const VkPipeline pipeline = runtime_.pipeline(algorithm.name, [&] { return shader_spirv(settings_, algorithm.name); });
    const uint64_t limit = max_items(algorithm);
    if (algorithm.scrypt) ensure_scratch(limit);
    write_params(work);

    struct Launch {
        Range range;
        size_t slot;
        std::chrono::steady_clock::time_point submitted;
    };
    std::deque<Launch> inflight;
    std::deque<Range> research;  // dispatches whose results overflowed, searched again in smaller pieces
    Range rest{work.nonce_start, work.nonce_count};
    size_t next_slot = 0;
    uint64_t previous_items = 0;
    bool stop = false;  // aborted, or the host said the work is stale
    auto last_done = std::chrono::steady_clock::now();
    const double launch_s = settings_.launch_ms / 1000.0;

    const auto launch_size = [&]() -> uint64_t {
        uint64_t items = algorithm.scrypt ? kGroupSize : 16 * 1024;  // until the rate is measured
        if (algorithm.items_per_second > 0) items = static_cast<uint64_t>(algorithm.items_per_second * launch_s);
        if (previous_items != 0) items = std::min(items, previous_items * 4);  // grow gradually
        items = std::max<uint64_t>(items / kGroupSize * kGroupSize, kGroupSize);
        return std::min(items, limit);
    };

    const auto submit = [&](Range range) {
        const size_t index = next_slot;
        next_slot ^= 1;
        Slot& s = slots_[index];
        std::memset(s.results.mapped, 0, sizeof(uint32_t));  // the counter; the slot is idle (its fence waited)
        const uint64_t groups = (range.count + kGroupSize - 1) / kGroupSize;
        // scrypt's scratchpad: contiguous per invocation on CPU devices, interleaved on GPUs (scrypt.comp).
        const bool contiguous = runtime_.desc().cpu;
        const PushConstants pc{static_cast<uint32_t>(range.start), static_cast<uint32_t>(range.count), kResultCapacity,
                               algorithm.scrypt ? (contiguous ? 1u : static_cast<uint32_t>(scratch_items_)) : 0u,
                               algorithm.scrypt ? (contiguous ? static_cast<uint32_t>(kScryptBytesPerItem / 16) : 1u) : 0u};
        check(vkResetCommandBuffer(s.command, 0), where_, "vkResetCommandBuffer");
        VkCommandBufferBeginInfo begin{};
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
        begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        check(vkBeginCommandBuffer(s.command, &begin), where_, "vkBeginCommandBuffer");
        // The dispatch before this one (the other slot) may share the scrypt scratchpad: order them.
        VkMemoryBarrier before{};
        before.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
        before.dstAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
        vkCmdPipelineBarrier(s.command, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &before, 0,
                             nullptr, 0, nullptr);
        vkCmdBindPipeline(s.command, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
        vkCmdBindDescriptorSets(s.command, VK_PIPELINE_BIND_POINT_COMPUTE, runtime_.pipeline_layout(), 0, 1, &s.set, 0, nullptr);
        vkCmdPushConstants(s.command, runtime_.pipeline_layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof pc, &pc);
        vkCmdDispatch(s.command, static_cast<uint32_t>(groups), 1, 1);
        // The results become visible to the host once the fence signals.
        VkMemoryBarrier after{};
        after.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
        after.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
        vkCmdPipelineBarrier(s.command, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &after, 0, nullptr, 0,
                             nullptr);
        check(vkEndCommandBuffer(s.command), where_, "vkEndCommandBuffer");
        check(vkResetFences(runtime_.device(), 1, &s.fence), where_, "vkResetFences");
        VkSubmitInfo info{};
        info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
        info.commandBufferCount = 1;
        info.pCommandBuffers = &s.command;
        check(vkQueueSubmit(runtime_.queue(), 1, &info, s.fence), where_,
              ("submitting the " + algorithm.name + " dispatch (" + std::to_string(groups * kGroupSize) + " invocations)").c_str());
        s.submitted = true;
        dispatches_.fetch_add(1, std::memory_order_relaxed);
        inflight.push_back(Launch{range, index, std::chrono::steady_clock::now()});
    };

    const auto fill = [&] {
        while (inflight.size() < slots_.size() && !stop) {
            if (aborted()) {
                stop = true;
                break;
            }
            if (!research.empty()) {
                Range& r = research.front();
                const uint64_t n = std::min<uint64_t>({r.count, kResultCapacity, limit});
                submit(Range{r.start, n});
                r.start += n;
                r.count -= n;
                if (r.count == 0) research.pop_front();
            } else if (rest.count > 0) {
                const uint64_t n = std::min(rest.count, launch_size());
                previous_items = n;
                submit(Range{rest.start, n});
                rest.start += n;
                rest.count -= n;
            } else {
                break;
            }
        }
    };

    try {
        fill();
        while (!inflight.empty()) {
            const Launch l = inflight.front();
            inflight.pop_front();
            wait(slots_[l.slot], "running the " + algorithm.name + " shader");
            const auto now = std::chrono::steady_clock::now();
            // The dispatch ran from when it was submitted or when the one before it finished, whichever was later.
            const double ran = std::chrono::duration<double>(now - std::max(l.submitted, last_done)).count();
            last_done = now;
            if (ran > 0 && l.range.count >= kGroupSize) {
                const double rate = static_cast<double>(l.range.count) / ran;
                algorithm.items_per_second = algorithm.items_per_second > 0 ? 0.5 * algorithm.items_per_second + 0.5 * rate : rate;
            }
            const auto* out = static_cast<const uint32_t*>(slots_[l.slot].results.mapped);
            const uint32_t found = out[0];
            if (found > kResultCapacity) {
                // More nonces than the buffer holds: search this range again in pieces that cannot overflow.
                overflows_.fetch_add(1, std::memory_order_relaxed);
                research.push_back(l.range);
            } else {
                hashes_done += l.range.count;
                hashes_.fetch_add(l.range.count, std::memory_order_relaxed);
                for (uint32_t i = 0; i < found && !stop; ++i) {
                    const uint32_t* entry = out + 1 + size_t{kEntryWords} * i;
                    const uint64_t nonce = entry[0];
                    if (nonce < l.range.start || nonce - l.range.start >= l.range.count) {
                        hardware_errors_.fetch_add(1, std::memory_order_relaxed);
                        host_.warn(where_ + ": the " + algorithm.name + " shader reported nonce " + std::to_string(nonce) +
                                   " outside its dispatch " + std::to_string(l.range.start) + " + " + std::to_string(l.range.count) +
                                   "; dropped");
                        continue;
                    }
                    otd_found_t f = sdk::make_struct<otd_found_t>();
                    f.work_id = work.work_id;
                    f.nonce = nonce;
                    for (int w = 0; w < 8; ++w) {
                        for (int b = 0; b < 4; ++b) f.hash[4 * w + b] = static_cast<uint8_t>(entry[1 + w] >> (24 - 8 * b));
                    }
                    if (work.on_found(work.on_found_user, &f) == OTD_ERR_ABORTED) stop = true;
                }
            }
            if (aborted()) stop = true;
            fill();
        }
    } catch (...) {
        drain();  // dispatches still in flight write into the result buffers
        throw;
    }
    const bool finished = rest.count == 0 && research.empty();
    return finished ? OTD_OK : OTD_ERR_ABORTED;
}

std::string Device::self_test() {
    struct Vector {
        const char* algorithm;
        const char* source;      // where the header and hash come from
        const char* header_hex;  // as serialised in the block
        const char* hash_hex;    // the block hash as raw bytes (explorers print it reversed)
    };
    // Bitcoin genesis: bitcoin/bitcoin src/kernel/chainparams.cpp (nonce 2083236893, hash 000000000019d6...e26f).
    // Litecoin genesis: litecoin-project/litecoin src/chainparams.cpp (nonce 2084524493); scrypt hash
    // 0000050c34a64b41... (the PoW hash, not the block id), as in mycroft/generate-genesis.
    static const Vector kVectors[] = {
        {"sha256d", "Bitcoin genesis",
         "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc388"
         "8a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
         "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000"},
        {"scrypt", "Litecoin genesis",
         "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a1"
         "7c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c",
         "001e67b013726fd7382e9acb69165b4b6316227fb3156b5b414ba6340c050000"},
    };
    constexpr uint32_t kNonces = 64;  // the real nonce is the last of them
    for (const Vector& v : kVectors) {
        const std::vector<uint8_t> header = unhex(v.header_hex);
        const std::vector<uint8_t> published = unhex(v.hash_hex);
        const uint32_t real = le32(header.data() + 76);
        struct Collected {
            std::vector<otd_found_t> found;
            static otd_status_t OTD_CALL on_found(void* user, const otd_found_t* f) {
                static_cast<Collected*>(user)->found.push_back(*f);
                return OTD_OK;
            }
        } collected;
        otd_work_unit_t w = sdk::make_struct<otd_work_unit_t>();
        w.algorithm = v.algorithm;
        w.blob = header.data();
        w.blob_size = 80;
        w.nonce_offset = 76;
        w.nonce_size = 4;
        w.nonce_start = real - (kNonces - 1);
        w.nonce_count = kNonces;
        std::memset(w.share_target, 0xff, sizeof w.share_target);  // every hash meets it
        w.on_found = &Collected::on_found;
        w.on_found_user = &collected;
        uint64_t hashes = 0;
        const uint64_t errors_before = hardware_errors_.load();
        try {
            if (run(0, w, hashes) != OTD_OK) return std::string(v.algorithm) + ": the self-test run did not finish";
        } catch (const sdk::Error& e) {
            return std::string(v.algorithm) + ": " + e.what();
        }
        if (collected.found.size() != kNonces || hardware_errors_.load() != errors_before) {
            return std::string(v.algorithm) + " (" + v.source + "): " + std::to_string(collected.found.size()) + " of " +
                   std::to_string(kNonces) + " nonces reported at a target every hash meets";
        }
        std::vector<bool> seen(kNonces, false);
        for (const otd_found_t& f : collected.found) {
            if (f.nonce < w.nonce_start || f.nonce >= w.nonce_start + kNonces || seen[f.nonce - w.nonce_start]) {
                return std::string(v.algorithm) + ": nonce " + std::to_string(f.nonce) + " reported twice or outside the range";
            }
            seen[f.nonce - w.nonce_start] = true;
            std::vector<uint8_t> h = header;
            for (int b = 0; b < 4; ++b) h[76 + b] = static_cast<uint8_t>(f.nonce >> (8 * b));
            uint8_t cpu[32];
            if (std::string(v.algorithm) == "sha256d") {
                const common::Sha256Digest first = common::Sha256().update(h).finalize();
                const common::Sha256Digest second = common::Sha256().update(first).finalize();
                std::memcpy(cpu, second.data(), 32);
            } else {
                std::string error;
                if (!scrypt::scrypt_reference(h, h, 1024, 1, 1, std::span<uint8_t>(cpu, 32), &error)) return "scrypt reference: " + error;
            }
            if (std::memcmp(cpu, f.hash, 32) != 0) {
                return std::string(v.algorithm) + " (" + v.source + ") nonce " + std::to_string(f.nonce) + ": the device hashed " +
                       hex(f.hash, 32) + ", the CPU reference " + hex(cpu, 32);
            }
            if (f.nonce == real && std::memcmp(cpu, published.data(), 32) != 0) {
                return std::string(v.algorithm) + " (" + v.source + "): the real nonce hashed to " + hex(cpu, 32) + ", not the published " +
                       v.hash_hex;
            }
        }
    }
    return {};
}

otd_device_telemetry_t Device::telemetry() {
    otd_device_telemetry_t t = sdk::make_struct<otd_device_telemetry_t>();
    const std::lock_guard lock(telemetry_mutex_);
    const uint64_t total = hashes_.load(std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_sample_).count();
    if (seconds > 0) {
        last_hashrate_ = static_cast<double>(total - last_sample_hashes_) / seconds;
        last_sample_ = now;
        last_sample_hashes_ = total;
    }
    t.hashrate = last_hashrate_;
    t.hashes_total = total;
    t.temperature_c = -1;  // no vendor telemetry through core Vulkan
    t.fan_percent = -1;
    t.power_w = -1;
    t.throttled = 0;
    t.hardware_errors = hardware_errors_.load(std::memory_order_relaxed);
    return t;
}

}  // namespace otedama::vulkan_backend
