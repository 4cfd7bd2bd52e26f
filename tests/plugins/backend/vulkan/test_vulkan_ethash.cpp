// The vulkan backend's Ethash-family shaders (kernels/vulkan/keccak.glsl, ethash.glsl, ethash_dag.comp,
// ethash.comp, kawpow.glsl and the kawpow plugin's GLSL period loop) on this machine's Vulkan device (Mesa's
// lavapipe in CI), driven through the backend's own code (plugins/backend/vulkan: Runtime, Device,
// DeviceDataset) and compared with the CPU reference (lib/otedama/ethash, the kawpow plugin's
// progpow/kawpow code). Every device test skips with a message when no Vulkan device is present.
//
// Small test epochs: a full epoch-0 DAG is 1 GiB (minutes on lavapipe), so most tests use a light cache of
// explicit, tiny geometry (ethash::LightCache(seed, items, dataset_bytes)) with the same shaders, and split
// its DAG over several storage buffers (Settings::dag_buffer_bytes) so that the buffer split is exercised;
// the device's DAG items must be byte-identical to the CPU's, and its hashes and mix digests equal the CPU's
// over that DAG. The real epoch 0 is checked on the items one hash reads: the device generates just those
// from the real light cache and must give the published answers.
//
// Known answers (the same vectors, and sources, as tests/plugins/backend/opencl/test_opencl_ethash.cpp;
// copied from the project's pow-vectors collection):
//  - Ethash epoch 0, header 2a8de2ad...e4ce, nonce 0x4242424242424242: mix 58f759ed...7017, final dd47fd2d...7906.
//    chfast/ethash test/unittests/test_cases.hpp (hash_test_cases, HEAD 17e80309ceb592b9b5175b831549a1cc160d1a08);
//    also ethereum/tests PoWTests/ethash_tests.json "first".
//  - Ethash epoch-0 light cache: keccak256 over the whole cache = 35ded12e...e353 (chfast/ethash
//    test/unittests/test_ethash.cpp TEST(ethash, light_cache)).
//  - KawPow blocks 0 and 49 (epoch 0): RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp
//    (HEAD 6d48ae0175b10283248146ae3080e2ba70966739; identical in RavenCommunity/cpp-kawpow).
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <otedama/common/keccak.hpp>
#include <otedama/ethash/ethash.hpp>

#include "kawpow.hpp"
#include "plugin_harness.hpp"
#include "progpow.hpp"
#include "vk_device.hpp"
#include "vk_ethash.hpp"
#include "vk_runtime.hpp"

namespace {

namespace th = otedama::testing;
namespace fs = std::filesystem;
namespace vk = otedama::vulkan_backend;
namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

constexpr const char* kNoDevice = "no Vulkan device on this machine (CI installs mesa-vulkan-drivers: lavapipe)";

/// As test_vulkan.cpp: where CI is set (.ci/run exports CI=true) and Mesa's lavapipe ICD is installed, a
/// missing Vulkan device is a failure, not a skip.
bool lavapipe_expected() {
    const char* ci = std::getenv("CI");
    if (ci == nullptr || *ci == '\0' || std::string(ci) == "false" || std::string(ci) == "0") return false;
    for (const char* dir : {"/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (entry.path().filename().string().rfind("lvp_icd", 0) == 0) return true;
        }
    }
    return false;
}

std::array<uint8_t, 32> hex32(std::string_view hex) {
    std::array<uint8_t, 32> out{};
    for (size_t i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(std::stoul(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    return out;
}
std::string to_hex(const uint8_t* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& a) {
    return to_hex(a.data(), N);
}
std::array<uint8_t, 32> reversed(const std::array<uint8_t, 32>& a) {
    std::array<uint8_t, 32> r{};
    for (size_t i = 0; i < 32; ++i) r[i] = a[31 - i];
    return r;
}

/// Tiny geometry: 1031 light-cache items (a prime, as real caches), 4108 DAG items = 2054 hashimoto pages =
/// 1027 KawPow entries (at least the 256 items of KawPow's L1 cache); 262912 bytes of DAG, which buffers of
/// at most 64 KiB split into 5 (the last one 768 bytes).
constexpr uint32_t kTinyCacheItems = 1031;
constexpr uint64_t kTinyDatasetBytes = 4108 * 64;
constexpr uint64_t kTinyBufferBytes = 64 * 1024;

std::shared_ptr<const eth::LightCache> tiny_cache(uint8_t tag) {
    eth::Hash256 seed{};
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i * 7 + tag);
    return std::make_shared<const eth::LightCache>(seed, kTinyCacheItems, kTinyDatasetBytes);
}

struct Found {
    std::vector<otd_found_t> all;
    static otd_status_t OTD_CALL on_found(void* user, const otd_found_t* f) {
        static_cast<Found*>(user)->all.push_back(*f);
        return OTD_OK;
    }
    std::map<uint64_t, otd_found_t> by_nonce() const {
        std::map<uint64_t, otd_found_t> m;
        for (const otd_found_t& f : all) m[f.nonce] = f;
        return m;
    }
};

/// A target where about 1 hash in 16 qualifies (the raw hash's first byte below 0x10).
std::array<uint8_t, 32> one_in_16() {
    std::array<uint8_t, 32> t;
    t.fill(0xff);
    t[31] = 0x0f;
    return t;
}
std::array<uint8_t, 32> everything() {
    std::array<uint8_t, 32> t;
    t.fill(0xff);
    return t;
}
/// Whether a raw (big-endian compared) hash meets a little-endian target.
bool meets(const std::array<uint8_t, 32>& raw, const std::array<uint8_t, 32>& target_le) {
    for (size_t i = 0; i < 32; ++i) {
        if (raw[i] != target_le[31 - i]) return raw[i] < target_le[31 - i];
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------------

class VulkanEthash : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        std::vector<std::string> notes;
        instance_ = std::make_unique<vk::Instance>(notes);
        if (instance_->devices().empty()) return;
        host_ = std::make_unique<th::FakeHost>();
        runtime_ = std::make_unique<vk::Runtime>(otedama::sdk::Host(host_->table()), instance_->devices()[0]);
    }
    static void TearDownTestSuite() {
        runtime_.reset();
        host_.reset();
        instance_.reset();
    }
    void SetUp() override {
        if (!runtime_) {
            if (lavapipe_expected()) FAIL() << "CI is set and lavapipe's ICD is installed, but no Vulkan device was enumerated";
            GTEST_SKIP() << kNoDevice;
        }
    }

    static VkPipeline dag_pipeline() {
        const vk::Settings settings;
        return runtime_->pipeline("ethash_dag", [&] { return vk::shader_spirv(settings, "ethash_dag"); }, vk::Layout::kEthash);
    }

    /// A device whose light caches come from `source`, its DAG split into 64 KiB buffers, its KawPow shaders
    /// cached in `cache_dir`.
    static std::unique_ptr<vk::Device> device(vk::LightCacheSource source, const std::string& cache_dir = "") {
        vk::Settings settings;
        settings.light_cache_source = std::move(source);
        settings.program_cache_dir = cache_dir;
        settings.dag_buffer_bytes = kTinyBufferBytes;
        return std::make_unique<vk::Device>(otedama::sdk::Host(host_->table()), *runtime_, 12, settings);
    }

    static otd_work_unit_t work(const char* algorithm, const uint8_t blob[40], uint64_t height, uint64_t start, uint64_t count,
                                const std::array<uint8_t, 32>& target, Found& found) {
        otd_work_unit_t w{};
        w.struct_size = sizeof w;
        w.work_id = 5;
        w.algorithm = algorithm;
        w.blob = blob;
        w.blob_size = 40;
        w.nonce_offset = 32;
        w.nonce_size = 8;
        w.nonce_start = start;
        w.nonce_count = count;
        w.height = height;
        std::memcpy(w.share_target, target.data(), 32);
        std::memcpy(w.block_target, target.data(), 32);
        w.on_found = &Found::on_found;
        w.on_found_user = &found;
        return w;
    }

    static inline std::unique_ptr<vk::Instance> instance_;
    static inline std::unique_ptr<th::FakeHost> host_;
    static inline std::unique_ptr<vk::Runtime> runtime_;
};

// ---------------------------------------------------------------------------------------------------------
// No device needed: the memory check before anything is allocated, and the DAG's split

TEST(VulkanEthashMemory, ADagThatDoesNotFitIsRefusedNamingTheSizes) {
    vk::DeviceDesc d;
    d.id = "vulkan9";
    d.name = "Small GPU";
    d.max_storage_range = 128ull << 20;  // lavapipe's maxStorageBufferRange
    d.max_allocation = 2048ull << 20;
    d.heaps = {{512ull << 20, false}, {2048ull << 20, true}};
    d.device_local_bytes = 2048ull << 20;
    const uint64_t cache = eth::light_cache_size(0), dag = eth::full_dataset_size(0);
    ASSERT_EQ(cache, 16776896u);  // pow-vectors ethash_sizes, epoch 0
    ASSERT_EQ(dag, 1073739904u);

    // Epoch 0 fits: 8 buffers of 128 MiB (2^23 16-byte words), the last one 1920 bytes short.
    const vk::DagPlan plan = vk::plan_dataset(d, cache, dag, "the ethash epoch 0 DAG");
    EXPECT_EQ(plan.buffers, 8u);
    EXPECT_EQ(plan.buffer_bytes, 128ull << 20);
    EXPECT_EQ(plan.shift, 23u);
    // A storage range that is not a power of two (many GPUs: 4 GiB - 1) gives buffers of 2 GiB.
    d.max_storage_range = 0xffffffffull;
    d.max_allocation = 0xffffffffull;
    EXPECT_EQ(vk::plan_dataset(d, cache, dag, "x").buffers, 1u);
    EXPECT_EQ(vk::plan_dataset(d, cache, dag, "x").buffer_bytes, 2048ull << 20);
    const vk::DagPlan tiny = vk::plan_dataset(d, cache, kTinyDatasetBytes, "x", 100000);
    EXPECT_EQ(tiny.buffer_bytes, 65536u) << "tests bound the buffers (a power of two below the bound)";
    EXPECT_EQ(tiny.buffers, 5u);
    EXPECT_EQ(tiny.shift, 12u);

    // More than 8 buffers: refused before any allocation, naming every size and limit.
    d.max_storage_range = 64ull << 20;
    try {
        (void)vk::plan_dataset(d, cache, dag, "the ethash epoch 0 DAG");
        FAIL() << "a 1 GiB DAG does not fit 8 buffers of 64 MiB";
    } catch (const otedama::sdk::Error& e) {
        EXPECT_EQ(e.status(), OTD_ERR_NO_MEMORY);
        const std::string m = e.what();
        EXPECT_NE(m.find("vulkan9 (Small GPU): the ethash epoch 0 DAG does not fit"), std::string::npos) << m;
        EXPECT_NE(m.find("1073739904 bytes (1024.0 MiB) of DAG in at most 8 storage buffers of 67108864 bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("maxStorageBufferRange 67108864"), std::string::npos) << m;
        EXPECT_NE(m.find("maxMemoryAllocationSize 4294967295"), std::string::npos) << m;
        EXPECT_NE(m.find(": 16 buffers)"), std::string::npos) << m;
        EXPECT_NE(m.find("16776896 bytes (16.0 MiB) of light cache"), std::string::npos) << m;
        EXPECT_NE(m.find("largest device-local memory heap has 2147483648 bytes"), std::string::npos) << m;
    }
    // The heap: DAG and cache must fit the largest device-local heap (the host heap does not count).
    d.max_storage_range = 0xffffffffull;
    d.heaps = {{8192ull << 20, false}, {dag + cache - 1, true}};
    try {
        (void)vk::plan_dataset(d, cache, dag, "the kawpow epoch 0 DAG");
        FAIL() << "one byte short";
    } catch (const otedama::sdk::Error& e) {
        EXPECT_NE(std::string(e.what()).find("heap has 1090516799 bytes"), std::string::npos) << e.what();
    }
    d.heaps[1].size = dag + cache;
    EXPECT_NO_THROW((void)vk::plan_dataset(d, cache, dag, "x"));
    // A light cache larger than one buffer.
    d.max_storage_range = cache - 1;
    EXPECT_THROW((void)vk::plan_dataset(d, cache, 4096, "x"), otedama::sdk::Error);
}

// ---------------------------------------------------------------------------------------------------------
// The DAG

TEST_F(VulkanEthash, TinyDagItemsAreByteIdenticalToTheCpuWith256And512ParentsAcrossFiveBuffers) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(1);
    const uint64_t items = kTinyDatasetBytes / 64;
    EXPECT_THROW(vk::DeviceDataset(*runtime_, cache, 100, "a tiny DAG"), otedama::sdk::Error) << "parents: multiples of 16";
    for (const uint32_t parents : {256u, 512u}) {
        SCOPED_TRACE(parents);
        vk::DeviceDataset dataset(*runtime_, cache, parents, "a tiny DAG", kTinyBufferBytes);
        ASSERT_EQ(dataset.items(), items);
        EXPECT_EQ(dataset.plan().buffers, 5u);
        EXPECT_EQ(dataset.plan().buffer_bytes, kTinyBufferBytes);
        EXPECT_FALSE(dataset.complete());
        ASSERT_TRUE(dataset.generate(dag_pipeline(), nullptr, 1000));  // several dispatches, the last partial
        ASSERT_TRUE(dataset.complete());
        const std::vector<eth::Item> device = dataset.read(0, static_cast<uint32_t>(items));
        std::vector<eth::Item> cpu(items);
        eth::dataset_items(*cache, 0, static_cast<uint32_t>(items), parents, cpu.data(), eth::Impl::kScalar);
        size_t differing = 0;
        for (uint64_t i = 0; i < items; ++i) {
            if (std::memcmp(device[i].bytes, cpu[i].bytes, 64) != 0 && differing++ < 3) {
                ADD_FAILURE() << "item " << i << ": device " << to_hex(device[i].bytes, 64) << " cpu " << to_hex(cpu[i].bytes, 64);
            }
        }
        EXPECT_EQ(differing, 0u);
    }
}

TEST_F(VulkanEthash, AnAbortedDagGenerationResumesWhereItStopped) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(2);
    vk::DeviceDataset dataset(*runtime_, cache, 256, "a tiny DAG", kTinyBufferBytes);
    volatile uint32_t abort_flag = 1;
    EXPECT_FALSE(dataset.generate(dag_pipeline(), &abort_flag, 512));
    EXPECT_FALSE(dataset.complete());
    abort_flag = 0;
    ASSERT_TRUE(dataset.generate(dag_pipeline(), &abort_flag, 512));
    const std::vector<eth::Item> last = dataset.read(dataset.items() - 1, 1);
    const eth::Item cpu = eth::dataset_item(*cache, static_cast<uint32_t>(dataset.items() - 1), 256);
    EXPECT_EQ(to_hex(last[0].bytes, 64), to_hex(cpu.bytes, 64));
}

// ---------------------------------------------------------------------------------------------------------
// Ethash and etchash through the device's scan loop (Device::run), on a tiny epoch

TEST_F(VulkanEthash, EthashAndEtchashHashesAndMixesOfATinyEpochEqualTheCpu) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(3);
    std::vector<std::pair<std::string, uint64_t>> asked;  // the variant and epoch the device asked a cache for
    auto dev = device([&](const eth::Variant& v, uint64_t epoch) {
        asked.emplace_back(v.name, epoch);
        return cache;
    });
    const eth::FullDataset cpu(cache, eth::kEthash, 1, eth::Impl::kScalar);
    uint8_t blob[40] = {};
    const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
    std::memcpy(blob, header.data(), 32);

    // Every nonce meets the all-ones target: the device reports each with its mix and hash. The range
    // carries into the nonce's high word.
    Found all;
    const uint64_t start = 0x00000000ffffff80ull;
    uint64_t hashes = 0;
    ASSERT_EQ(dev->run(0, work("ethash", blob, 0, start, 300, everything(), all), hashes), OTD_OK);
    EXPECT_EQ(hashes, 300u);
    ASSERT_NE(dev->dataset(), nullptr);
    EXPECT_EQ(dev->dataset()->items(), kTinyDatasetBytes / 64);
    EXPECT_EQ(dev->dataset()->plan().buffers, 5u);
    const auto by_nonce = all.by_nonce();
    ASSERT_EQ(by_nonce.size(), 300u);
    for (const auto& [nonce, f] : by_nonce) {
        SCOPED_TRACE(nonce);
        const eth::HashResult r = eth::hashimoto_full(cpu, header, nonce, eth::Impl::kScalar);
        EXPECT_EQ(f.flags & OTD_FOUND_HAS_MIX, OTD_FOUND_HAS_MIX);
        EXPECT_EQ(f.work_id, 5u);
        ASSERT_EQ(to_hex(f.mix, 32), to_hex(r.mix));
        ASSERT_EQ(to_hex(f.hash, 32), to_hex(reversed(r.final_hash))) << "found.hash is the ABI's little-endian number";
    }
    // The light path (what the host's verification runs) agrees for a few.
    for (uint64_t n = start; n < start + 3; ++n) {
        const eth::HashResult light = eth::hashimoto_light(*cache, eth::kEthash, header, n, eth::Impl::kScalar);
        EXPECT_EQ(to_hex(by_nonce.at(n).mix, 32), to_hex(light.mix));
    }

    // An easy target: exactly the nonces the CPU says meet it, and every one verifies.
    const auto target = one_in_16();
    for (const char* algorithm : {"ethash", "etchash"}) {
        SCOPED_TRACE(algorithm);
        Found some;
        // etchash: height 60000 is its epoch 1 (ethash's would be 2); the same hash over the dataset.
        const uint64_t height = std::string(algorithm) == "etchash" ? 60000 : 0;
        ASSERT_EQ(dev->run(0, work(algorithm, blob, height, 1000, 2000, target, some), hashes), OTD_OK);
        std::set<uint64_t> expected;
        for (uint64_t n = 1000; n < 3000; ++n) {
            if (meets(eth::hashimoto_full(cpu, header, n).final_hash, target)) expected.insert(n);
        }
        ASSERT_GT(expected.size(), 60u);
        std::set<uint64_t> got;
        for (const otd_found_t& f : some.all) {
            got.insert(f.nonce);
            const eth::HashResult v = eth::hashimoto_light(*cache, eth::kEthash, header, f.nonce);
            EXPECT_TRUE(meets(v.final_hash, target)) << f.nonce;
            EXPECT_EQ(to_hex(f.mix, 32), to_hex(v.mix)) << f.nonce;
            EXPECT_EQ(to_hex(f.hash, 32), to_hex(reversed(v.final_hash))) << f.nonce;
        }
        EXPECT_EQ(got, expected);
        EXPECT_EQ(some.all.size(), expected.size()) << "a nonce was reported twice";
    }
    EXPECT_EQ(dev->telemetry().hardware_errors, 0u);
    ASSERT_GE(asked.size(), 2u);
    EXPECT_EQ(asked.front(), std::make_pair(std::string("ethash"), uint64_t{0}));
    EXPECT_EQ(asked.back(), std::make_pair(std::string("etchash"), uint64_t{1}));
}

TEST_F(VulkanEthash, BadEthashWorkIsRefusedByName) {
    auto dev = device({});
    uint8_t blob[40] = {};
    Found found;
    uint64_t hashes = 0;
    otd_work_unit_t w = work("ethash", blob, 0, 0, 10, everything(), found);
    w.blob_size = 80;
    try {
        (void)dev->run(0, w, hashes);
        FAIL();
    } catch (const otedama::sdk::Error& e) {
        EXPECT_EQ(e.status(), OTD_ERR_INVALID_ARG);
        EXPECT_NE(std::string(e.what()).find("32-byte header hash with an 8-byte nonce at offset 32"), std::string::npos) << e.what();
    }
    w = work("ethash", blob, 30000, 0, 10, everything(), found);
    const eth::Hash256 seed0 = eth::epoch_seed(0);
    w.seed = seed0.data();
    w.seed_size = 32;
    try {
        (void)dev->run(0, w, hashes);
        FAIL();
    } catch (const otedama::sdk::Error& e) {
        EXPECT_NE(std::string(e.what()).find("is not the seed of ethash epoch 1"), std::string::npos) << e.what();
    }
    w = work("ethash", blob, 0, ~uint64_t{0} - 5, 10, everything(), found);
    try {
        (void)dev->run(0, w, hashes);
        FAIL();
    } catch (const otedama::sdk::Error& e) {
        EXPECT_NE(std::string(e.what()).find("leaves the 64-bit nonce field"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(found.all.empty());
}

// ---------------------------------------------------------------------------------------------------------
// KawPow through Device::run: the period shader from the kawpow plugin (GLSL), compiled at run time, cached
// on disk as SPIR-V with a SHA-256

TEST_F(VulkanEthash, KawpowHashesOfATinyEpochEqualTheCpuAndThePeriodShaderIsCachedOnDisk) {
    if (!vk::have_glsl_compiler()) GTEST_SKIP() << "this build has no libshaderc: kawpow is not offered on Vulkan";
    th::CreateResult kawpow = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, *host_);
    ASSERT_TRUE(kawpow.ok()) << kawpow.describe();
    const fs::path dir = fs::temp_directory_path() / ("otedama-vkkp-" + std::to_string(::getpid()));
    fs::remove_all(dir);

    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(4);
    const eth::FullDataset cpu(cache, eth::kKawpow, 1, eth::Impl::kScalar);
    const kp::LightEpoch light(cache, eth::Impl::kScalar);
    uint8_t blob[40] = {};
    const eth::Hash256 header = hex32("63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b");
    std::memcpy(blob, header.data(), 32);
    const uint64_t height = 1234567;  // period 411522
    const kp::Program program = kp::generate_program(kp::period_of(height));

    const auto mine = [&](vk::Device& dev, uint64_t start, uint64_t count, const std::array<uint8_t, 32>& target) {
        Found found;
        otd_work_unit_t w = work("kawpow", blob, height, start, count, target, found);
        w.algorithm_plugin = kawpow.instance.plugin();
        w.algorithm_table = &kawpow.instance.table<otd_algorithm_t>();
        uint64_t hashes = 0;
        EXPECT_EQ(dev.run(0, w, hashes), OTD_OK);
        EXPECT_EQ(hashes, count);
        return found;
    };

    auto first = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
    const Found all = mine(*first, 0xfffffffeull, 70, everything());  // 70: the last work-group partly past the range
    EXPECT_EQ(first->programs_compiled(), 1u);
    EXPECT_EQ(first->programs_from_cache(), 0u);
    const auto by_nonce = all.by_nonce();
    ASSERT_EQ(by_nonce.size(), 70u);
    for (const auto& [nonce, f] : by_nonce) {
        SCOPED_TRACE(nonce);
        const kp::HashResult r = kp::hash_full(cpu.items(), cpu.item_count(), light.l1(), program, header, nonce);
        ASSERT_EQ(to_hex(f.mix, 32), to_hex(r.mix));
        ASSERT_EQ(to_hex(f.hash, 32), to_hex(kp::le_hash_of(r.final_hash)));
    }
    // The light path (verification) agrees for one.
    EXPECT_EQ(to_hex(by_nonce.at(0xfffffffeull).mix, 32), to_hex(kp::hash_light(light, program, header, 0xfffffffeull).mix));

    // An easy target: exactly the CPU's nonces.
    const auto target = one_in_16();
    const Found some = mine(*first, 5000, 400, target);
    std::set<uint64_t> expected, got;
    for (uint64_t n = 5000; n < 5400; ++n) {
        if (meets(kp::hash_full(cpu.items(), cpu.item_count(), light.l1(), program, header, n).final_hash, target)) expected.insert(n);
    }
    for (const otd_found_t& f : some.all) {
        got.insert(f.nonce);
        EXPECT_EQ(to_hex(f.mix, 32), to_hex(kp::hash_light(light, program, header, f.nonce).mix)) << f.nonce;
    }
    ASSERT_GT(expected.size(), 8u);
    EXPECT_EQ(got, expected);
    EXPECT_EQ(some.all.size(), expected.size()) << "a nonce was reported twice";
    first.reset();

    // A second device finds the period's SPIR-V on disk and gives the same answers.
    auto second = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
    const Found again = mine(*second, 0xfffffffeull, 20, everything());
    EXPECT_EQ(second->programs_from_cache(), 1u);
    EXPECT_EQ(second->programs_compiled(), 0u);
    ASSERT_EQ(again.all.size(), 20u);
    for (const otd_found_t& f : again.all) EXPECT_EQ(to_hex(f.mix, 32), to_hex(by_nonce.at(f.nonce).mix, 32));
    second.reset();

    // A corrupt cache file is not trusted: rebuilt from source, rewritten, the same answers.
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_NE(files[0].filename().string().find("kawpow-period-411522-"), std::string::npos) << files[0];
    const auto size_before = fs::file_size(files[0]);
    {
        std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(size_before / 2));
        f.put('\x00');
        f.put('\x7f');
    }
    auto third = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
    const Found rebuilt = mine(*third, 0xfffffffeull, 20, everything());
    EXPECT_EQ(third->programs_compiled(), 1u);
    EXPECT_EQ(third->programs_from_cache(), 0u);
    EXPECT_TRUE(host_->logged("checksum mismatch (corrupt); rebuilding it from source", OTD_LOG_WARN));
    ASSERT_EQ(rebuilt.all.size(), 20u);
    for (const otd_found_t& f : rebuilt.all) EXPECT_EQ(to_hex(f.mix, 32), to_hex(by_nonce.at(f.nonce).mix, 32));
    EXPECT_TRUE(fs::exists(files[0])) << "rewritten";
    EXPECT_EQ(fs::file_size(files[0]), size_before);
    third.reset();

    // A file that passes its checksum but is not SPIR-V (a stale or foreign file under the right name):
    // refused before the driver sees it, rebuilt.
    {
        const otedama::common::ProgramCache store(dir.string(), "OTDVKSPV");
        ASSERT_TRUE(store.store(files[0].string(), std::vector<unsigned char>(64, 0x5a)));
    }
    auto fourth = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
    const Found refused = mine(*fourth, 0xfffffffeull, 4, everything());
    EXPECT_EQ(fourth->programs_compiled(), 1u);
    EXPECT_TRUE(host_->logged("not SPIR-V", OTD_LOG_WARN));
    EXPECT_EQ(refused.all.size(), 4u);
    EXPECT_EQ(fs::file_size(files[0]), size_before) << "rewritten with the compiled SPIR-V";
    fourth.reset();
    fs::remove_all(dir);
}

TEST_F(VulkanEthash, KawpowWithoutItsPluginsProgPowExtensionIsRefused) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(5);
    auto dev = device([&](const eth::Variant&, uint64_t) { return cache; });
    uint8_t blob[40] = {};
    Found found;
    uint64_t hashes = 0;
    try {
        (void)dev->run(0, work("kawpow", blob, 30, 0, 10, everything(), found), hashes);
        FAIL();
    } catch (const otedama::sdk::Error& e) {
        // With libshaderc: the missing extension; without: the missing compiler.
        EXPECT_NE(std::string(e.what()).find(vk::have_glsl_compiler() ? "otedama.algorithm.progpow/1" : "libshaderc"), std::string::npos)
            << e.what();
    }
}

// ---------------------------------------------------------------------------------------------------------
// The real epoch 0: the items one hash reads, generated on the device from the real light cache (its DAG
// split over lavapipe's 128 MiB storage buffers), give the published answers through Device::run.

TEST_F(VulkanEthash, Epoch0KnownAnswersFromTheItemsOneHashReads) {
    const auto cache = std::make_shared<const eth::LightCache>(eth::kEthash, 0);
    ASSERT_EQ(cache->bytes(), 16776896u);
    const auto cache_hash = otedama::common::keccak256(std::span(cache->items()->bytes, cache->bytes()));
    ASSERT_EQ(to_hex(cache_hash), "35ded12eecf2ce2e8da2e15c06d463aae9b84cb2530a00b932e4bbc484cde353") << "chfast/ethash light_cache";
    const vk::Settings defaults;
    const auto run_one = [&](vk::Device& dev, const char* algorithm, uint64_t height, const eth::Hash256& header, uint64_t nonce,
                             const th::CreateResult* plugin) {
        uint8_t blob[40] = {};
        std::memcpy(blob, header.data(), 32);
        Found found;
        otd_work_unit_t w = work(algorithm, blob, height, nonce, 1, everything(), found);
        if (plugin != nullptr) {
            w.algorithm_plugin = plugin->instance.plugin();
            w.algorithm_table = &plugin->instance.table<otd_algorithm_t>();
        }
        uint64_t hashes = 0;
        EXPECT_EQ(dev.run(0, w, hashes), OTD_OK);
        EXPECT_EQ(found.all.size(), 1u);
        if (found.all.empty()) return std::pair<std::string, std::string>{};
        std::array<uint8_t, 32> le{};
        std::memcpy(le.data(), found.all[0].hash, 32);
        return std::pair{to_hex(found.all[0].mix, 32), to_hex(reversed(le))};
    };

    {  // Ethash: the 64 pages hashimoto reads for the vector, found with the CPU's items.
        auto dev = std::make_unique<vk::Device>(otedama::sdk::Host(host_->table()), *runtime_, 12, defaults);
        auto dataset = std::make_unique<vk::DeviceDataset>(*runtime_, cache, 256, "the ethash epoch 0 DAG");
        const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
        const uint64_t nonce = 0x4242424242424242ull;
        uint8_t in[40];
        std::memcpy(in, header.data(), 32);
        for (int i = 0; i < 8; ++i) in[32 + i] = static_cast<uint8_t>(nonce >> (8 * i));
        eth::Item s{};
        otedama::common::keccak512(in, 40, s.bytes);
        uint32_t mix[32];
        for (int i = 0; i < 32; ++i) mix[i] = s.words[i % 16];
        const auto pages = static_cast<uint32_t>(dataset->bytes() / 128);
        std::set<uint32_t> read;
        for (uint32_t i = 0; i < 64; ++i) {
            const uint32_t page = eth::fnv1(i ^ s.words[0], mix[i % 32]) % pages;
            read.insert(page);
            const eth::Item a = eth::dataset_item(*cache, 2 * page, 256), b = eth::dataset_item(*cache, 2 * page + 1, 256);
            for (int w = 0; w < 16; ++w) {
                mix[w] = eth::fnv1(mix[w], a.words[w]);
                mix[16 + w] = eth::fnv1(mix[16 + w], b.words[w]);
            }
        }
        EXPECT_GT(dataset->plan().buffers, 1u) << "lavapipe's 128 MiB storage buffers split the 1 GiB DAG";
        for (const uint32_t page : read) dataset->generate_items(dag_pipeline(), 2ull * page, 2);
        // The device's items equal the light cache's on the CPU, one page compared outright (the last
        // page read, in the highest buffer).
        const uint32_t some = *read.rbegin();
        const std::vector<eth::Item> got = dataset->read(2ull * some, 2);
        EXPECT_EQ(to_hex(got[1].bytes, 64), to_hex(eth::dataset_item(*cache, 2 * some + 1, 256).bytes, 64));
        dataset->assume_complete();
        dev->use_dataset(std::move(dataset));
        const auto [m, f] = run_one(*dev, "ethash", 0, header, nonce, nullptr);
        EXPECT_EQ(m, "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017");
        EXPECT_EQ(f, "dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906");
    }

    if (!vk::have_glsl_compiler()) GTEST_SKIP() << "this build has no libshaderc: the kawpow answers are skipped";
    th::CreateResult kawpow = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, *host_);
    ASSERT_TRUE(kawpow.ok()) << kawpow.describe();
    {  // KawPow blocks 0 and 49: the L1 cache (items 0..255) and the 64 entries each hash reads.
        auto dev = std::make_unique<vk::Device>(otedama::sdk::Host(host_->table()), *runtime_, 12, defaults);
        auto dataset = std::make_unique<vk::DeviceDataset>(*runtime_, cache, 512, "the kawpow epoch 0 DAG");
        const kp::LightEpoch light(cache, eth::best_impl());
        dataset->generate_items(dag_pipeline(), 0, kp::kCacheItems);
        struct Vector {
            uint64_t height;
            const char* header;
            uint64_t nonce;
            const char* mix;
            const char* final_hash;
        };
        const Vector vectors[] = {
            {0, "0000000000000000000000000000000000000000000000000000000000000000", 0,
             "6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a",
             "e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1"},
            {49, "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b", 0x07073c07,
             "d36f7e815ee09e74eceb9c96993a3d681edf2bf0921fc7bb710364042db99777",
             "e7ced124598fd2500a55ad9f9f48e3569327fe50493c77a4ac9799b96efb9463"},
        };
        for (const Vector& v : vectors) {
            const eth::Hash256 header = hex32(v.header);
            const kp::Program program = kp::generate_program(kp::period_of(v.height));
            std::set<uint32_t> entries;
            uint32_t words[kp::kEntryWords];
            const kp::HashResult cpu = kp::hash(program, light.l1(), light.entry_count(), header, v.nonce, [&](uint32_t e) {
                entries.insert(e);
                light.entry(e, words);
                return static_cast<const uint32_t*>(words);
            });
            ASSERT_EQ(to_hex(cpu.mix), v.mix) << "the CPU reference itself";
            for (const uint32_t e : entries) dataset->generate_items(dag_pipeline(), 4ull * e, 4);
        }
        dataset->assume_complete();
        dev->use_dataset(std::move(dataset));
        for (const Vector& v : vectors) {
            SCOPED_TRACE(v.height);
            const auto [m, f] = run_one(*dev, "kawpow", v.height, hex32(v.header), v.nonce, &kawpow);
            EXPECT_EQ(m, v.mix);
            EXPECT_EQ(f, v.final_hash);
        }
    }
}

}  // namespace
