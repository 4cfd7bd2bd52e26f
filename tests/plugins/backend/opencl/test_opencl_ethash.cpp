// The opencl backend's Ethash-family kernels (kernels/opencl/keccak.cl, ethash.cl, kawpow.cl) on this
// machine's OpenCL device (PoCL's CPU device in CI), driven through the backend's own code
// (plugins/backend/opencl: Runtime, Device, DeviceDataset, BinaryCache) and compared with the CPU reference
// (lib/otedama/ethash, the kawpow plugin's progpow/kawpow code). Every device test skips with a message when
// no OpenCL platform is present.
//
// Small test epochs: a full epoch-0 DAG is 1 GiB (minutes on PoCL), so most tests use a light cache of
// explicit, tiny geometry (ethash::LightCache(seed, items, dataset_bytes)) with the same kernels; the
// device's DAG items must be byte-identical to the CPU's, and its hashes and mix digests equal the CPU's
// over that DAG. The real epoch 0 is checked on the items one hash reads: the device generates just those
// from the real light cache and must give the published answers.
//
// Known answers (copied from the project's pow-vectors collection, with their sources):
//  - Ethash epoch 0, header 2a8de2ad...e4ce, nonce 0x4242424242424242: mix 58f759ed...7017, final dd47fd2d...7906.
//    chfast/ethash test/unittests/test_cases.hpp (hash_test_cases, HEAD 17e80309ceb592b9b5175b831549a1cc160d1a08);
//    also ethereum/tests PoWTests/ethash_tests.json "first".
//  - Ethash epoch-0 light cache: keccak256 over the whole cache = 35ded12e...e353 (chfast/ethash
//    test/unittests/test_ethash.cpp TEST(ethash, light_cache)).
//  - KawPow blocks 0 and 49 (epoch 0): RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp
//    (HEAD 6d48ae0175b10283248146ae3080e2ba70966739; identical in RavenCommunity/cpp-kawpow).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
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

#include "cl_device.hpp"
#include "cl_ethash.hpp"
#include "cl_runtime.hpp"
#include "kawpow.hpp"
#include "plugin_harness.hpp"
#include "progpow.hpp"
#include "progpow_source.hpp"

namespace {

namespace th = otedama::testing;
namespace fs = std::filesystem;
namespace ocl = otedama::opencl_backend;
namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

constexpr const char* kNoDevice = "no OpenCL platform or device on this machine (CI installs pocl-opencl-icd)";

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

/// Tiny geometry shared by the tests: 1031 light-cache items (a prime, as real caches), 4108 DAG items =
/// 2054 hashimoto pages = 1027 KawPow entries (at least the 256 items of KawPow's L1 cache).
constexpr uint32_t kTinyCacheItems = 1031;
constexpr uint64_t kTinyDatasetBytes = 4108 * 64;

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

class OpenClEthash : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        std::vector<std::string> notes;
        devices_ = ocl::enumerate_devices(notes);
        if (devices_.empty()) return;
        host_ = std::make_unique<th::FakeHost>();
        runtime_ = std::make_unique<ocl::Runtime>(otedama::sdk::Host(host_->table()), devices_[0]);
    }
    static void TearDownTestSuite() {
        runtime_.reset();
        host_.reset();
    }
    void SetUp() override {
        if (devices_.empty()) GTEST_SKIP() << kNoDevice;
    }

    static cl_kernel kernel(const std::string& program, const char* name) {
        const ocl::Settings settings;
        return runtime_->kernel(program, [&] { return ocl::kernel_source(settings, program); }, name);
    }

    /// A device whose light caches come from `source`, its programs cached in `cache_dir`.
    static std::unique_ptr<ocl::Device> device(ocl::LightCacheSource source, const std::string& cache_dir = "") {
        ocl::Settings settings;
        settings.light_cache_source = std::move(source);
        settings.program_cache_dir = cache_dir;
        return std::make_unique<ocl::Device>(otedama::sdk::Host(host_->table()), *runtime_, 12, settings);
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

    static inline std::vector<ocl::DeviceDesc> devices_;
    static inline std::unique_ptr<th::FakeHost> host_;
    static inline std::unique_ptr<ocl::Runtime> runtime_;
};

// ---------------------------------------------------------------------------------------------------------
// No device needed

TEST(OpenClEthashMemory, ADagThatDoesNotFitIsRefusedNamingTheSizes) {
    ocl::DeviceDesc d;
    d.id = "opencl9.9";
    d.name = "Small GPU";
    d.max_allocation = 512ull << 20;
    d.global_memory = 2048ull << 20;
    const uint64_t cache = eth::light_cache_size(0), dag = eth::full_dataset_size(0);
    ASSERT_EQ(cache, 16776896u);  // pow-vectors ethash_sizes, epoch 0
    ASSERT_EQ(dag, 1073739904u);
    try {
        ocl::check_dataset_fits(d, cache, dag, "the ethash epoch 0 DAG");
        FAIL() << "a 1 GiB DAG does not fit a 512 MiB allocation";
    } catch (const otedama::sdk::Error& e) {
        EXPECT_EQ(e.status(), OTD_ERR_NO_MEMORY);
        const std::string m = e.what();
        EXPECT_NE(m.find("opencl9.9 (Small GPU): the ethash epoch 0 DAG does not fit"), std::string::npos) << m;
        EXPECT_NE(m.find("1073739904 bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("16776896 bytes"), std::string::npos) << m;
        EXPECT_NE(m.find("536870912 bytes per buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE)"), std::string::npos) << m;
        EXPECT_NE(m.find("2147483648 bytes in all (CL_DEVICE_GLOBAL_MEM_SIZE)"), std::string::npos) << m;
    }
    d.max_allocation = 2048ull << 20;
    d.global_memory = dag + cache - 1;  // one byte short in all
    EXPECT_THROW(ocl::check_dataset_fits(d, cache, dag, "x"), otedama::sdk::Error);
    d.global_memory = dag + cache;
    EXPECT_NO_THROW(ocl::check_dataset_fits(d, cache, dag, "x"));
}

TEST(OpenClBinaryCache, StoresLoadsAndRejectsCorruptOrTruncatedFiles) {
    const fs::path dir = fs::temp_directory_path() / ("otedama-clbin-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const ocl::BinaryCache cache(dir.string());
    const std::string path = cache.path("kawpow-period-7", "device\nsource");
    EXPECT_NE(path.find("kawpow-period-7-"), std::string::npos);
    EXPECT_NE(path, cache.path("kawpow-period-7", "device\nother source")) << "the identity is part of the name";
    EXPECT_FALSE(cache.load(path).has_value()) << "nothing stored yet";
    std::vector<unsigned char> binary(3000);
    for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<unsigned char>(i * 13);
    ASSERT_TRUE(cache.store(path, binary));
    auto loaded = cache.load(path);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(*loaded, binary);
    {  // one byte flipped in the middle
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(1500);
        f.put('\x5a');
    }
    std::string problem;
    EXPECT_FALSE(cache.load(path, &problem).has_value());
    EXPECT_NE(problem.find("checksum mismatch"), std::string::npos) << problem;
    EXPECT_FALSE(fs::exists(path)) << "a corrupt file is removed";
    ASSERT_TRUE(cache.store(path, binary));
    fs::resize_file(path, 20);
    EXPECT_FALSE(cache.load(path, &problem).has_value());
    EXPECT_NE(problem.find("too short"), std::string::npos) << problem;
    EXPECT_FALSE(ocl::BinaryCache("").load(path).has_value()) << "a disabled cache finds nothing";
    fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------------------
// The DAG

TEST_F(OpenClEthash, TinyDagItemsAreByteIdenticalToTheCpuWith256And512Parents) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(1);
    const uint64_t items = kTinyDatasetBytes / 64;
    EXPECT_THROW(ocl::DeviceDataset(*runtime_, cache, 100, "a tiny DAG"), otedama::sdk::Error) << "parents: multiples of 16";
    for (const uint32_t parents : {256u, 512u}) {
        SCOPED_TRACE(parents);
        ocl::DeviceDataset dataset(*runtime_, cache, parents, "a tiny DAG");
        ASSERT_EQ(dataset.items(), items);
        EXPECT_FALSE(dataset.complete());
        ASSERT_TRUE(dataset.generate(kernel("ethash", "otd_ethash_dag"), nullptr, 1000));  // several launches, the last partial
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

TEST_F(OpenClEthash, AnAbortedDagGenerationResumesWhereItStopped) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(2);
    ocl::DeviceDataset dataset(*runtime_, cache, 256, "a tiny DAG");
    volatile uint32_t abort_flag = 1;
    EXPECT_FALSE(dataset.generate(kernel("ethash", "otd_ethash_dag"), &abort_flag, 512));
    EXPECT_FALSE(dataset.complete());
    abort_flag = 0;
    ASSERT_TRUE(dataset.generate(kernel("ethash", "otd_ethash_dag"), &abort_flag, 512));
    const std::vector<eth::Item> last = dataset.read(dataset.items() - 1, 1);
    const eth::Item cpu = eth::dataset_item(*cache, static_cast<uint32_t>(dataset.items() - 1), 256);
    EXPECT_EQ(to_hex(last[0].bytes, 64), to_hex(cpu.bytes, 64));
}

// ---------------------------------------------------------------------------------------------------------
// Ethash through the device's scan loop (Device::run), on a tiny epoch

TEST_F(OpenClEthash, EthashHashesAndMixesOfATinyEpochEqualTheCpu) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(3);
    auto dev = device([&](const eth::Variant&, uint64_t) { return cache; });
    const eth::FullDataset cpu(cache, eth::kEthash, 1, eth::Impl::kScalar);
    uint8_t blob[40] = {};
    const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
    std::memcpy(blob, header.data(), 32);

    // Every nonce meets the all-ones target: the device reports each with its mix and hash.
    Found all;
    const uint64_t start = 0xfffffffffffffe00ull;  // the range crosses no boundary but uses the high word
    uint64_t hashes = 0;
    ASSERT_EQ(dev->run(0, work("ethash", blob, 0, start, 300, everything(), all), hashes), OTD_OK);
    EXPECT_EQ(hashes, 300u);
    ASSERT_NE(dev->dataset(), nullptr);
    EXPECT_EQ(dev->dataset()->items(), kTinyDatasetBytes / 64);
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
    Found some;
    const auto target = one_in_16();
    ASSERT_EQ(dev->run(0, work("ethash", blob, 0, 1000, 2000, target, some), hashes), OTD_OK);
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
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(some.all.size(), expected.size()) << "a nonce was reported twice";
    EXPECT_EQ(dev->telemetry().hardware_errors, 0u);
}

TEST_F(OpenClEthash, BadEthashWorkIsRefusedByName) {
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
// KawPow through Device::run: the period program from the kawpow plugin, compiled, cached on disk

TEST_F(OpenClEthash, KawpowHashesOfATinyEpochEqualTheCpuAndThePeriodProgramIsCachedOnDisk) {
    th::CreateResult kawpow = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, *host_);
    ASSERT_TRUE(kawpow.ok()) << kawpow.describe();
    const fs::path dir = fs::temp_directory_path() / ("otedama-clkp-" + std::to_string(::getpid()));
    fs::remove_all(dir);

    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(4);
    const eth::FullDataset cpu(cache, eth::kKawpow, 1, eth::Impl::kScalar);
    const kp::LightEpoch light(cache, eth::Impl::kScalar);
    uint8_t blob[40] = {};
    const eth::Hash256 header = hex32("63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b");
    std::memcpy(blob, header.data(), 32);
    const uint64_t height = 1234567;  // period 411522
    const kp::Program program = kp::generate_program(kp::period_of(height));

    const auto mine = [&](ocl::Device& dev, uint64_t start, uint64_t count, const std::array<uint8_t, 32>& target) {
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
    const Found all = mine(*first, 77, 70, everything());  // 70: the last work-group is partly past the range
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
    EXPECT_EQ(to_hex(by_nonce.at(77).mix, 32), to_hex(kp::hash_light(light, program, header, 77).mix));

    // An easy target: exactly the CPU's nonces.
    const auto target = one_in_16();
    const Found some = mine(*first, 5000, 400, target);
    std::set<uint64_t> expected, got;
    for (uint64_t n = 5000; n < 5400; ++n) {
        if (meets(kp::hash_full(cpu.items(), cpu.item_count(), light.l1(), program, header, n).final_hash, target)) expected.insert(n);
    }
    for (const otd_found_t& f : some.all) got.insert(f.nonce);
    ASSERT_GT(expected.size(), 8u);
    EXPECT_EQ(got, expected);
    first.reset();

    // A second device finds the period's binary on disk and gives the same answers.
    auto second = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
    const Found again = mine(*second, 77, 20, everything());
    EXPECT_EQ(second->programs_from_cache(), 1u);
    EXPECT_EQ(second->programs_compiled(), 0u);
    for (const otd_found_t& f : again.all) EXPECT_EQ(to_hex(f.mix, 32), to_hex(by_nonce.at(f.nonce).mix, 32));
    second.reset();

    // A corrupt cache file is not trusted: rebuilt from source, rewritten, the same answers.
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_NE(files[0].filename().string().find("kawpow-period-411522-"), std::string::npos) << files[0];
    {
        std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
        f.put('\x00');
        f.put('\x7f');
    }
    auto third = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
    const Found rebuilt = mine(*third, 77, 20, everything());
    EXPECT_EQ(third->programs_compiled(), 1u);
    EXPECT_EQ(third->programs_from_cache(), 0u);
    EXPECT_TRUE(host_->logged("rebuilding it from source", OTD_LOG_WARN));
    for (const otd_found_t& f : rebuilt.all) EXPECT_EQ(to_hex(f.mix, 32), to_hex(by_nonce.at(f.nonce).mix, 32));
    EXPECT_TRUE(fs::exists(files[0])) << "rewritten";
    third.reset();
    fs::remove_all(dir);
}

TEST_F(OpenClEthash, KawpowWithoutItsPluginsProgPowExtensionIsRefused) {
    const std::shared_ptr<const eth::LightCache> cache = tiny_cache(5);
    auto dev = device([&](const eth::Variant&, uint64_t) { return cache; });
    uint8_t blob[40] = {};
    Found found;
    uint64_t hashes = 0;
    try {
        (void)dev->run(0, work("kawpow", blob, 30, 0, 10, everything(), found), hashes);
        FAIL();
    } catch (const otedama::sdk::Error& e) {
        EXPECT_NE(std::string(e.what()).find("otedama.algorithm.progpow/1"), std::string::npos) << e.what();
    }
}

// ---------------------------------------------------------------------------------------------------------
// The real epoch 0: the items one hash reads, generated on the device from the real light cache, give the
// published answers.

/// Runs one search launch of `kernel_name` over `dataset` for [nonce, nonce + 1) with the all-ones target;
/// returns mix and raw final hash.
std::pair<std::string, std::string> device_hash(ocl::Runtime& rt, cl_kernel k, bool kawpow, ocl::DeviceDataset& dataset,
                                                const eth::Hash256& header, uint64_t nonce, uint32_t group) {
    cl_int st = CL_SUCCESS;
    std::array<cl_uint, 16> params{};
    std::memcpy(params.data(), header.data(), 32);
    std::memset(params.data() + 8, 0xff, 32);
    cl_mem p = clCreateBuffer(rt.context(), CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof params, params.data(), &st);
    EXPECT_EQ(st, CL_SUCCESS);
    std::vector<cl_uint> results(1 + 18 * 4, 0);
    cl_mem r = clCreateBuffer(rt.context(), CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, results.size() * 4, results.data(), &st);
    EXPECT_EQ(st, CL_SUCCESS);
    cl_mem dag = dataset.dag();
    const cl_ulong base = nonce;
    const cl_uint count = 1, capacity = 4, pages = static_cast<cl_uint>(dataset.bytes() / 128);
    size_t global = 64, local = group;
    if (kawpow) {
        clSetKernelArg(k, 0, sizeof p, &p);
        clSetKernelArg(k, 1, sizeof dag, &dag);
        clSetKernelArg(k, 2, sizeof base, &base);
        clSetKernelArg(k, 3, sizeof count, &count);
        clSetKernelArg(k, 4, sizeof r, &r);
        clSetKernelArg(k, 5, sizeof capacity, &capacity);
        global = group;
    } else {
        clSetKernelArg(k, 0, sizeof p, &p);
        clSetKernelArg(k, 1, sizeof dag, &dag);
        clSetKernelArg(k, 2, sizeof pages, &pages);
        clSetKernelArg(k, 3, sizeof base, &base);
        clSetKernelArg(k, 4, sizeof count, &count);
        clSetKernelArg(k, 5, sizeof r, &r);
        clSetKernelArg(k, 6, sizeof capacity, &capacity);
    }
    EXPECT_EQ(clEnqueueNDRangeKernel(rt.queue(), k, 1, nullptr, &global, kawpow ? &local : nullptr, 0, nullptr, nullptr), CL_SUCCESS);
    EXPECT_EQ(clEnqueueReadBuffer(rt.queue(), r, CL_TRUE, 0, results.size() * 4, results.data(), 0, nullptr, nullptr), CL_SUCCESS);
    clReleaseMemObject(p);
    clReleaseMemObject(r);
    EXPECT_EQ(results[0], 1u);
    EXPECT_EQ(uint64_t{results[1]} | (uint64_t{results[2]} << 32), nonce);
    return {to_hex(reinterpret_cast<const uint8_t*>(results.data() + 3), 32), to_hex(reinterpret_cast<const uint8_t*>(results.data() + 11), 32)};
}

TEST_F(OpenClEthash, Epoch0KnownAnswersFromTheItemsOneHashReads) {
    const auto cache = std::make_shared<const eth::LightCache>(eth::kEthash, 0);
    ASSERT_EQ(cache->bytes(), 16776896u);
    const auto cache_hash = otedama::common::keccak256(std::span(cache->items()->bytes, cache->bytes()));
    ASSERT_EQ(to_hex(cache_hash), "35ded12eecf2ce2e8da2e15c06d463aae9b84cb2530a00b932e4bbc484cde353") << "chfast/ethash light_cache";
    cl_kernel dag_kernel = kernel("ethash", "otd_ethash_dag");

    {  // Ethash: the 64 pages hashimoto reads for the vector, found with the CPU's items.
        ocl::DeviceDataset dataset(*runtime_, cache, 256, "the ethash epoch 0 DAG");
        const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
        const uint64_t nonce = 0x4242424242424242ull;
        uint8_t in[40];
        std::memcpy(in, header.data(), 32);
        for (int i = 0; i < 8; ++i) in[32 + i] = static_cast<uint8_t>(nonce >> (8 * i));
        eth::Item s{};
        otedama::common::keccak512(in, 40, s.bytes);
        uint32_t mix[32];
        for (int i = 0; i < 32; ++i) mix[i] = s.words[i % 16];
        const auto pages = static_cast<uint32_t>(dataset.bytes() / 128);
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
        for (const uint32_t page : read) dataset.generate_items(dag_kernel, 2ull * page, 2);
        // The device's items equal the light cache's on the CPU, a few of them compared outright.
        const uint32_t some = *read.begin();
        const std::vector<eth::Item> dev = dataset.read(2ull * some, 2);
        EXPECT_EQ(to_hex(dev[0].bytes, 64), to_hex(eth::dataset_item(*cache, 2 * some, 256).bytes, 64));
        const auto [m, f] = device_hash(*runtime_, kernel("ethash", "otd_ethash_search"), false, dataset, header, nonce, 0);
        EXPECT_EQ(m, "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017");
        EXPECT_EQ(f, "dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906");
    }

    {  // KawPow blocks 0 and 49: the L1 cache (items 0..255) and the 64 entries each hash reads.
        ocl::DeviceDataset dataset(*runtime_, cache, 512, "the kawpow epoch 0 DAG");
        const kp::LightEpoch light(cache, eth::best_impl());
        dataset.generate_items(dag_kernel, 0, kp::kCacheItems);
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
        const ocl::Settings settings;
        for (const Vector& v : vectors) {
            SCOPED_TRACE(v.height);
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
            for (const uint32_t e : entries) dataset.generate_items(dag_kernel, 4ull * e, 4);
            const std::string source = ocl::kernel_file(settings, "keccak.cl") + ocl::kernel_file(settings, "ethash.cl") +
                                       kp::period_source(program, kp::Dialect::kOpenCl) + ocl::kernel_file(settings, "kawpow.cl");
            const uint32_t group = 16;
            cl_program prog = runtime_->build("kawpow known answer", source,
                                              "-DPROGPOW_DAG_ELEMENTS=" + std::to_string(dataset.bytes() / 256) + "u -DOTD_KP_GROUP=16");
            cl_int st = CL_SUCCESS;
            cl_kernel k = clCreateKernel(prog, "otd_kawpow_search", &st);
            ASSERT_EQ(st, CL_SUCCESS);
            const auto [m, f] = device_hash(*runtime_, k, true, dataset, header, v.nonce, group);
            EXPECT_EQ(m, v.mix);
            EXPECT_EQ(f, v.final_hash);
            clReleaseKernel(k);
            clReleaseProgram(prog);
        }
    }
}

}  // namespace
