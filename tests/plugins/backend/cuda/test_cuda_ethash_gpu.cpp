// The cuda backend's Ethash family (ethash, etchash, kawpow) on a CUDA GPU, driven through the backend's own
// code (plugins/backend/cuda: Device, its DAG generation, NVRTC and the program cache) and compared with the
// CPU reference (lib/otedama/ethash, the kawpow plugin's progpow/kawpow code). Without a CUDA device the
// program prints "SKIP: no CUDA device: <reason>" and exits 77 (meson: SKIP, protocol 'exitcode').
//
// The same program runs against fake_driver.cpp (test 'plugin-cuda-ethash-fake-driver', OTEDAMA_CUDA_DRIVER
// set): its launches run the kernels' own __host__ __device__ code on the CPU, so the DAG generation and the
// ethash scan loop of the host side run without a GPU. It cannot run NVRTC's machine code (KawPow) nor hold a
// real epoch's DAG: those tests skip there with a message.
//
// Small test epochs as in test_cuda_ethash.cpp (1031 light-cache items, 4108 DAG items); the real epoch 0
// for the known answers (sources cited in test_cuda_ethash.cpp: chfast/ethash test_cases.hpp
// hash_test_cases / ethereum/tests ethash_tests.json "first"; RavenProject/Ravencoin
// src/crypto/ethash/progpow_test_vectors.hpp blocks 0 and 49).
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <otedama/ethash/ethash.hpp>

#include "cu_device.hpp"
#include "cu_driver.hpp"
#include "kawpow.hpp"
#include "nvrtc.hpp"
#include "plugin_harness.hpp"
#include "progpow.hpp"

namespace {

namespace th = otedama::testing;
namespace fs = std::filesystem;
namespace cb = otedama::cuda_backend;
namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

bool under_fake_driver() { return std::getenv("OTEDAMA_CUDA_DRIVER") != nullptr; }

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
bool meets(const std::array<uint8_t, 32>& raw, const std::array<uint8_t, 32>& target_le) {
  for (size_t i = 0; i < 32; ++i) {
    if (raw[i] != target_le[31 - i]) return raw[i] < target_le[31 - i];
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------

/// The first CUDA device, described as the plugin's enumeration describes it.
struct Gpu {
  const cb::Driver* driver = nullptr;
  cb::DeviceDesc desc;
  std::string why;
};
Gpu& gpu() {
  static Gpu g = [] {
    Gpu r;
    const cb::DriverStatus st = cb::load_driver();
    if (st.driver == nullptr || st.device_count == 0) {
      r.why = st.why.empty() ? "the driver reports zero devices" : st.why;
      return r;
    }
    r.driver = st.driver;
    CUdevice dev = 0;
    if (r.driver->cuDeviceGet(&dev, 0) != CUDA_SUCCESS) {
      r.driver = nullptr;
      r.why = "cuDeviceGet(0) failed";
      return r;
    }
    char name[256] = {};
    (void)r.driver->cuDeviceGetName(name, sizeof name - 1, dev);
    r.desc.ordinal = 0;
    r.desc.id = "cuda0";
    r.desc.name = name;
    size_t memory = 0;
    (void)r.driver->cuDeviceTotalMem_v2(&memory, dev);
    r.desc.memory = memory;
    (void)r.driver->cuDeviceGetAttribute(&r.desc.cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    (void)r.driver->cuDeviceGetAttribute(&r.desc.cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    char bus[64] = {};
    if (r.driver->cuDeviceGetPCIBusId(bus, sizeof bus - 1, dev) == CUDA_SUCCESS) r.desc.pci_bus_id = bus;
    return r;
  }();
  return g;
}

class CudaEthash : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = std::make_unique<th::FakeHost>(); }
  static void TearDownTestSuite() { host_.reset(); }

  static std::unique_ptr<cb::Device> device(cb::LightCacheSource source, const std::string& cache_dir = "") {
    cb::Settings settings;
    settings.light_cache_source = std::move(source);
    settings.program_cache_dir = cache_dir;
    cb::Limits limits;
    limits.intensity = 24;
    return std::make_unique<cb::Device>(otedama::sdk::Host(host_->table()), *gpu().driver, gpu().desc, limits, settings);
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

  /// Why KawPow cannot run here ("" when it can).
  static std::string kawpow_cannot_run() {
    if (under_fake_driver()) return "the CPU stand-in driver cannot run NVRTC's machine code (KawPow needs a GPU)";
    if (!cb::Nvrtc::instance().available()) return "kawpow unsupported here: " + cb::Nvrtc::instance().why();
    return {};
  }

  static inline std::unique_ptr<th::FakeHost> host_;
};

// ---------------------------------------------------------------------------------------------------------

TEST_F(CudaEthash, TinyDagIsByteIdenticalToTheCpuAndEthashHashesEqualTheCpu) {
  const std::shared_ptr<const eth::LightCache> cache = tiny_cache(3);
  auto dev = device([&](const eth::Variant&, uint64_t) { return cache; });
  const eth::FullDataset cpu(cache, eth::kEthash, 1, eth::Impl::kScalar);
  uint8_t blob[40] = {};
  const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
  std::memcpy(blob, header.data(), 32);

  // Every nonce meets the all-ones target: the device reports each with its mix and hash.
  Found all;
  const uint64_t start = 0xfffffffffffffe00ull;  // uses the nonce's high word
  uint64_t hashes = 0;
  ASSERT_EQ(dev->run(0, work("ethash", blob, 0, start, 300, everything(), all), hashes), OTD_OK);
  EXPECT_EQ(hashes, 300u);
  ASSERT_EQ(dev->dag_items(), kTinyDatasetBytes / 64);
  const std::vector<eth::Item> device_dag = dev->read_dag(0, static_cast<uint32_t>(dev->dag_items()));
  size_t differing = 0;
  for (uint64_t i = 0; i < device_dag.size(); ++i) {
    if (std::memcmp(device_dag[i].bytes, cpu.items()[i].bytes, 64) != 0 && differing++ < 3) {
      ADD_FAILURE() << "item " << i << ": device " << to_hex(device_dag[i].bytes, 64) << " cpu " << to_hex(cpu.items()[i].bytes, 64);
    }
  }
  EXPECT_EQ(differing, 0u) << "the DAG generated on the device is the CPU's, byte for byte";
  const auto by_nonce = all.by_nonce();
  ASSERT_EQ(by_nonce.size(), 300u);
  for (const auto& [nonce, f] : by_nonce) {
    SCOPED_TRACE(nonce);
    const eth::HashResult r = eth::hashimoto_full(cpu, header, nonce, eth::Impl::kScalar);
    EXPECT_EQ(f.flags & OTD_FOUND_HAS_MIX, OTD_FOUND_HAS_MIX);
    ASSERT_EQ(to_hex(f.mix, 32), to_hex(r.mix));
    ASSERT_EQ(to_hex(f.hash, 32), to_hex(reversed(r.final_hash))) << "found.hash is the ABI's little-endian number";
  }

  // An easy target: exactly the nonces the CPU says meet it (ethash and etchash: the same kernel).
  for (const char* algorithm : {"ethash", "etchash"}) {
    SCOPED_TRACE(algorithm);
    Found some;
    const auto target = one_in_16();
    const uint64_t first = 1000, count = under_fake_driver() ? 1000 : 5000;
    ASSERT_EQ(dev->run(0, work(algorithm, blob, 0, first, count, target, some), hashes), OTD_OK);
    EXPECT_EQ(hashes, count);
    std::set<uint64_t> expected, got;
    for (uint64_t n = first; n < first + count; ++n) {
      if (meets(eth::hashimoto_full(cpu, header, n).final_hash, target)) expected.insert(n);
    }
    ASSERT_GT(expected.size(), 30u);
    for (const otd_found_t& f : some.all) {
      got.insert(f.nonce);
      const eth::HashResult v = eth::hashimoto_light(*cache, eth::kEthash, header, f.nonce);
      EXPECT_TRUE(meets(v.final_hash, target)) << f.nonce;
      EXPECT_EQ(to_hex(f.mix, 32), to_hex(v.mix)) << f.nonce;
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(some.all.size(), expected.size()) << "a nonce was reported twice";
  }
  EXPECT_EQ(dev->telemetry().hardware_errors, 0u);
}

// Work of a test network (OTD_WORK_TEST_EPOCH, work.h; the devnet's test_epochs) with no light-cache source
// set: the device builds the TEST geometry of the work's epoch (its seed, 1031 cache items, 4108 DAG items),
// never the real epoch's 1 GiB DAG, and hashes as the CPU does on that geometry.
TEST_F(CudaEthash, TestEpochWorkGetsTheTestGeometryOfItsEpoch) {
  auto dev = device({});
  const uint64_t height = 2 * 30000 + 7;  // ethash epoch 2
  const auto cache = std::make_shared<const eth::LightCache>(eth::test_epoch_cache(eth::kEthash, 2));
  const eth::FullDataset cpu(cache, eth::kEthash, 1, eth::Impl::kScalar);
  uint8_t blob[40] = {};
  const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
  std::memcpy(blob, header.data(), 32);
  Found all;
  otd_work_unit_t w = work("ethash", blob, height, 77, 64, everything(), all);
  w.flags = OTD_WORK_TEST_EPOCH;
  uint64_t hashes = 0;
  ASSERT_EQ(dev->run(0, w, hashes), OTD_OK);
  EXPECT_EQ(hashes, 64u);
  ASSERT_EQ(dev->dag_items(), eth::kTestEpochDatasetBytes / 64) << "the test geometry, not epoch 2's real DAG";
  const std::vector<eth::Item> device_dag = dev->read_dag(0, static_cast<uint32_t>(dev->dag_items()));
  for (uint64_t i = 0; i < device_dag.size(); ++i) {
    ASSERT_EQ(to_hex(device_dag[i].bytes, 64), to_hex(cpu.items()[i].bytes, 64)) << "item " << i;
  }
  ASSERT_EQ(all.by_nonce().size(), 64u);
  for (const auto& [nonce, f] : all.by_nonce()) {
    const eth::HashResult r = eth::hashimoto_light(*cache, eth::kEthash, header, nonce);
    ASSERT_EQ(to_hex(f.hash, 32), to_hex(reversed(r.final_hash))) << nonce;
  }
  EXPECT_TRUE(host_->logged("with the TEST geometry (1031 cache items, 262912 dataset bytes)"));
}

TEST_F(CudaEthash, BadEthashWorkIsRefusedByName) {
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

TEST_F(CudaEthash, ADagLargerThanTheFreeMemoryIsRefusedBeforeAllocatingNamingTheSizes) {
  // A light cache of explicit geometry whose dataset is the device's memory plus 1 GiB.
  const uint64_t dataset = (gpu().desc.memory + (1ull << 30)) / 128 * 128;
  eth::Hash256 seed{};
  const auto huge = std::make_shared<const eth::LightCache>(seed, kTinyCacheItems, dataset);
  auto dev = device([&](const eth::Variant&, uint64_t) { return huge; });
  uint8_t blob[40] = {};
  Found found;
  uint64_t hashes = 0;
  try {
    (void)dev->run(0, work("ethash", blob, 0, 0, 10, everything(), found), hashes);
    FAIL() << "a DAG larger than the device was allocated";
  } catch (const otedama::sdk::Error& e) {
    EXPECT_EQ(e.status(), OTD_ERR_NO_MEMORY);
    const std::string m = e.what();
    EXPECT_NE(m.find("cuda0 ("), std::string::npos) << m;
    EXPECT_NE(m.find("the ethash epoch 0 DAG does not fit"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(dataset) + " bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("(cuMemGetInfo)"), std::string::npos) << m;
  }
  // The device is still usable afterwards.
  const auto cache = tiny_cache(7);
  auto ok = device([&](const eth::Variant&, uint64_t) { return cache; });
  EXPECT_EQ(ok->run(0, work("ethash", blob, 0, 0, 64, everything(), found), hashes), OTD_OK);
  EXPECT_EQ(found.all.size(), 64u);
}

TEST_F(CudaEthash, KawpowOfATinyEpochEqualsTheCpuAndThePeriodProgramIsCachedOnDisk) {
  if (const std::string why = kawpow_cannot_run(); !why.empty()) GTEST_SKIP() << why;
  th::CreateResult kawpow = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, *host_);
  ASSERT_TRUE(kawpow.ok()) << kawpow.describe();
  const fs::path dir = fs::temp_directory_path() / ("otedama-cukp-" + std::to_string(::getpid()));
  fs::remove_all(dir);

  const std::shared_ptr<const eth::LightCache> cache = tiny_cache(4);
  const eth::FullDataset cpu(cache, eth::kKawpow, 1, eth::Impl::kScalar);
  const kp::LightEpoch light(cache, eth::Impl::kScalar);
  uint8_t blob[40] = {};
  const eth::Hash256 header = hex32("63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b");
  std::memcpy(blob, header.data(), 32);
  const uint64_t height = 1234567;  // period 411522
  const kp::Program program = kp::generate_program(kp::period_of(height));

  const auto mine = [&](cb::Device& dev, uint64_t start, uint64_t count, const std::array<uint8_t, 32>& target) {
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
  const Found all = mine(*first, 77, 70, everything());  // 70: the last block is partly past the range
  EXPECT_EQ(first->programs_compiled(), 1u);
  EXPECT_EQ(first->programs_from_cache(), 0u);
  // The 512-parent DAG on the device is the CPU's, byte for byte.
  const std::vector<eth::Item> device_dag = first->read_dag(0, static_cast<uint32_t>(first->dag_items()));
  size_t differing = 0;
  for (uint64_t i = 0; i < device_dag.size(); ++i) differing += std::memcmp(device_dag[i].bytes, cpu.items()[i].bytes, 64) != 0;
  EXPECT_EQ(differing, 0u);
  const auto by_nonce = all.by_nonce();
  ASSERT_EQ(by_nonce.size(), 70u);
  for (const auto& [nonce, f] : by_nonce) {
    SCOPED_TRACE(nonce);
    const kp::HashResult r = kp::hash_full(cpu.items(), cpu.item_count(), light.l1(), program, header, nonce);
    ASSERT_EQ(to_hex(f.mix, 32), to_hex(r.mix));
    ASSERT_EQ(to_hex(f.hash, 32), to_hex(kp::le_hash_of(r.final_hash)));
  }
  // An easy target: exactly the CPU's nonces.
  const auto target = one_in_16();
  const Found some = mine(*first, 5000, 2000, target);
  std::set<uint64_t> expected, got;
  for (uint64_t n = 5000; n < 7000; ++n) {
    if (meets(kp::hash_full(cpu.items(), cpu.item_count(), light.l1(), program, header, n).final_hash, target)) expected.insert(n);
  }
  for (const otd_found_t& f : some.all) got.insert(f.nonce);
  ASSERT_GT(expected.size(), 60u);
  EXPECT_EQ(got, expected);
  first.reset();

  // A second device finds the period's program on disk and gives the same answers.
  auto second = device([&](const eth::Variant&, uint64_t) { return cache; }, dir.string());
  const Found again = mine(*second, 77, 20, everything());
  EXPECT_EQ(second->programs_from_cache(), 1u);
  EXPECT_EQ(second->programs_compiled(), 0u);
  for (const otd_found_t& f : again.all) EXPECT_EQ(to_hex(f.mix, 32), to_hex(by_nonce.at(f.nonce).mix, 32));
  second.reset();

  // A corrupt cache file is not trusted: rebuilt, rewritten, the same answers.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0].filename().string().find("kawpow-period-411522-sm_"), std::string::npos) << files[0];
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
  EXPECT_TRUE(host_->logged("rebuilding it", OTD_LOG_WARN));
  for (const otd_found_t& f : rebuilt.all) EXPECT_EQ(to_hex(f.mix, 32), to_hex(by_nonce.at(f.nonce).mix, 32));
  EXPECT_TRUE(fs::exists(files[0])) << "rewritten";
  third.reset();
  fs::remove_all(dir);
}

// Refused before anything is compiled: runs under the stand-in driver too.
TEST_F(CudaEthash, KawpowWithoutItsPluginsProgPowExtensionOrWithoutNvrtcIsRefusedByName) {
  const std::shared_ptr<const eth::LightCache> cache = tiny_cache(5);
  auto dev = device([&](const eth::Variant&, uint64_t) { return cache; });
  uint8_t blob[40] = {};
  Found found;
  uint64_t hashes = 0;
  try {
    (void)dev->run(0, work("kawpow", blob, 30, 0, 10, everything(), found), hashes);
    FAIL();
  } catch (const otedama::sdk::Error& e) {
    const std::string m = e.what();
    if (cb::Nvrtc::instance().available()) {
      EXPECT_EQ(e.status(), OTD_ERR_STATE);
      EXPECT_NE(m.find("otedama.algorithm.progpow/1"), std::string::npos) << m;
    } else {
      EXPECT_EQ(e.status(), OTD_ERR_UNSUPPORTED);
      EXPECT_NE(m.find("kawpow is unsupported here"), std::string::npos) << m;
    }
  }
}

// The real epoch 0 (1 GiB DAG generated on the device from the real light cache): the published answers.
TEST_F(CudaEthash, Epoch0KnownAnswersOnTheRealDag) {
  if (under_fake_driver()) GTEST_SKIP() << "the CPU stand-in holds no 1 GiB DAG (and would take hours to build one)";
  auto dev = device({});
  {
    const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
    uint8_t blob[40] = {};
    std::memcpy(blob, header.data(), 32);
    Found found;
    uint64_t hashes = 0;
    ASSERT_EQ(dev->run(0, work("ethash", blob, 0, 0x4242424242424242ull, 1, everything(), found), hashes), OTD_OK);
    ASSERT_EQ(found.all.size(), 1u);
    EXPECT_EQ(dev->dag_items(), eth::full_dataset_size(0) / 64);
    EXPECT_EQ(to_hex(found.all[0].mix, 32), "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017");
    EXPECT_EQ(to_hex(found.all[0].hash, 32), to_hex(reversed(hex32("dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906"))));
    std::printf("ethash epoch 0 DAG (%llu MiB) generated in %.3f s\n", static_cast<unsigned long long>(dev->dag_items() * 64 >> 20),
                dev->dag_seconds());
  }
  if (!cb::Nvrtc::instance().available()) GTEST_SKIP() << "kawpow unsupported here: " << cb::Nvrtc::instance().why();
  th::CreateResult kawpow = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, "org.otedama.algorithm.kawpow", OTD_ALGORITHM_INTERFACE_ID, *host_);
  ASSERT_TRUE(kawpow.ok()) << kawpow.describe();
  struct Vector {
    uint64_t height;
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
  };
  const Vector vectors[] = {
      {0, "0000000000000000000000000000000000000000000000000000000000000000", 0, "6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a",
       "e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1"},
      {49, "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b", 0x07073c07,
       "d36f7e815ee09e74eceb9c96993a3d681edf2bf0921fc7bb710364042db99777", "e7ced124598fd2500a55ad9f9f48e3569327fe50493c77a4ac9799b96efb9463"},
  };
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.height);
    const eth::Hash256 header = hex32(v.header);
    uint8_t blob[40] = {};
    std::memcpy(blob, header.data(), 32);
    Found found;
    otd_work_unit_t w = work("kawpow", blob, v.height, v.nonce, 1, everything(), found);
    w.algorithm_plugin = kawpow.instance.plugin();
    w.algorithm_table = &kawpow.instance.table<otd_algorithm_t>();
    uint64_t hashes = 0;
    ASSERT_EQ(dev->run(0, w, hashes), OTD_OK);
    ASSERT_EQ(found.all.size(), 1u);
    EXPECT_EQ(found.all[0].nonce, v.nonce);
    EXPECT_EQ(to_hex(found.all[0].mix, 32), v.mix);
    EXPECT_EQ(to_hex(found.all[0].hash, 32), to_hex(reversed(hex32(v.final_hash))));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // No CUDA device: say why and exit 77, meson's SKIP.
  if (gpu().driver == nullptr) {
    std::printf("SKIP: no CUDA device: %s\n", gpu().why.c_str());
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
