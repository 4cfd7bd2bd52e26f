// The cuda backend's Ethash family (ethash, etchash, kawpow) on every machine, GPU or not (test
// plugin-cuda-ethash, suite `cuda`):
//  - the kernels' arithmetic (kernels/cuda/keccak.cuh, ethash_core.cuh: __host__ __device__, compiled here
//    by the host compiler, the same source nvcc and NVRTC compile) reproduces the CPU reference
//    (lib/otedama/ethash, lib/otedama/common/keccak, the kawpow plugin's progpow code): DAG items of a small
//    test epoch byte-identical with 256 and 512 parents, hashimoto mixes and hashes, KawPow's static parts
//    around the generated loop, and the epoch-0 known answers;
//  - NVRTC, where the CUDA toolkit's libnvrtc is installed, really compiles the KawPow kernel with the kawpow
//    plugin's CUDA period source to PTX for compute_90 and to an sm_90 CUBIN (skipped with a message where
//    there is no NVRTC);
//  - the VRAM check's error names the sizes; the on-disk program cache rejects corrupt or truncated files.
// Mining on a GPU with these kernels is test_cuda_ethash_gpu.cpp (exit 77 without one).
//
// Small test epochs: a light cache of explicit, tiny geometry (ethash::LightCache(seed, items, dataset_bytes)),
// as the OpenCL backend's tests: 1031 cache items, 4108 DAG items.
//
// Known answers (the same published vectors tests/plugins/backend/opencl/test_opencl_ethash.cpp cites):
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
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <otedama/common/keccak.hpp>
#include <otedama/ethash/ethash.hpp>
#include <otedama/sdk/plugin.hpp>

#include "cu_ethash.hpp"
#include "ethash_core.cuh"
#include "kawpow.hpp"
#include "nvrtc.hpp"
#include "progpow.hpp"
#include "progpow_source.hpp"

namespace {

namespace fs = std::filesystem;
namespace cb = otedama::cuda_backend;
namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;

std::array<uint8_t, 32> hex32(std::string_view hex) {
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(std::stoul(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  return out;
}
std::string to_hex(const void* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
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
std::array<uint32_t, 8> words_of(const eth::Hash256& h) {
  std::array<uint32_t, 8> w{};
  std::memcpy(w.data(), h.data(), 32);
  return w;
}

constexpr uint32_t kTinyCacheItems = 1031;
constexpr uint64_t kTinyDatasetBytes = 4108 * 64;

std::shared_ptr<const eth::LightCache> tiny_cache(uint8_t tag) {
  eth::Hash256 seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i * 7 + tag);
  return std::make_shared<const eth::LightCache>(seed, kTinyCacheItems, kTinyDatasetBytes);
}

/// The items of a DAG computed with the kernels' calc_dataset_item.
std::vector<eth::Item> kernel_dag(const eth::LightCache& cache, uint32_t parents, uint64_t first, uint64_t count) {
  std::vector<eth::Item> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    otd_ethash_dag_item(cache.items()->words, cache.item_count(), static_cast<uint32_t>(first + i), parents, out[i].words);
  }
  return out;
}

/// KawPow with the kernels' static parts (initial Keccak-f[800], fill_mix, lane digests, reduction, final
/// Keccak-f[800]) around the period's loop run by the kawpow plugin's interpreter (kp::run_loop: the same
/// op sequence the generated progPowLoop holds, checked by tests/plugins/algorithm/kawpow). `entry(e)` gives
/// the 64 words of DAG entry e.
template <class Entry>
kp::HashResult kernel_kawpow(const kp::Program& program, const kp::L1Cache& l1, uint64_t entry_count, const eth::Hash256& header,
                             uint64_t nonce, Entry&& entry) {
  const std::array<uint32_t, 8> hw = words_of(header);
  otd_u32 hash_init[8];
  otd_kawpow_init(hw.data(), nonce, hash_init);
  kp::Mix mix;
  for (uint32_t lane = 0; lane < kp::kLanes; ++lane) {
    otd_u32 regs[kp::kRegs];
    otd_kawpow_fill_mix(hash_init[0], hash_init[1], lane, regs, kp::kRegs);
    for (uint32_t r = 0; r < kp::kRegs; ++r) mix.r[r][lane] = regs[r];
  }
  for (uint32_t loop = 0; loop < kp::kCntDag; ++loop) kp::run_loop(program, loop, mix, entry(kp::dag_entry_index(mix, loop, entry_count)), l1);
  otd_u32 lane_digests[kp::kLanes];
  for (uint32_t lane = 0; lane < kp::kLanes; ++lane) {
    otd_u32 regs[kp::kRegs];
    for (uint32_t r = 0; r < kp::kRegs; ++r) regs[r] = mix.r[r][lane];
    lane_digests[lane] = otd_kawpow_lane_digest(regs, kp::kRegs);
  }
  otd_u32 digest[8], final_hash[8];
  otd_kawpow_reduce(lane_digests, kp::kLanes, digest);
  otd_kawpow_final(hash_init, digest, final_hash);
  kp::HashResult r;
  std::memcpy(r.mix.data(), digest, 32);
  std::memcpy(r.final_hash.data(), final_hash, 32);
  return r;
}

// ---------------------------------------------------------------------------------------------------------
// Keccak

TEST(CudaEthashKernels, KeccakPermutationsEqualTheLibrary) {
  uint64_t a[25], b[25];
  uint32_t c[25], d[25];
  for (int i = 0; i < 25; ++i) {
    a[i] = b[i] = 0x0123456789abcdefull * static_cast<uint64_t>(i + 1) ^ (uint64_t{0x9e3779b9} << (i % 32));
    c[i] = d[i] = 0x9e3779b9u * static_cast<uint32_t>(i + 7);
  }
  for (int round = 0; round < 3; ++round) {
    otd_keccak_f1600(a);
    otedama::common::keccak_f1600(b);
    otd_keccak_f800(c);
    otedama::common::keccak_f800(d);
    EXPECT_EQ(to_hex(a, sizeof a), to_hex(b, sizeof b));
    EXPECT_EQ(to_hex(c, sizeof c), to_hex(d, sizeof d));
  }
  // Keccak-512 of 64 bytes (the DAG's hash) against the library's Keccak-512.
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i * 29 + 3);
  uint32_t w[16];
  std::memcpy(w, msg, 64);
  otd_keccak512_64(w);
  uint8_t expected[64];
  otedama::common::keccak512(msg, 64, expected);
  EXPECT_EQ(to_hex(w, 64), to_hex(expected, 64));
}

TEST(CudaEthashKernels, RawHashAgainstTheAbisLittleEndianTarget) {
  otd_u32 target[8];
  std::memset(target, 0xff, sizeof target);
  target[7] = 0x0fffffffu;  // the most significant byte 0x0f
  otd_u32 h[8] = {};
  h[0] = 0x0f;  // raw byte 0 = 0x0f: equal in the first byte, then zeros below the target's 0xff
  EXPECT_TRUE(otd_raw_hash_meets(h, target));
  h[0] = 0x10;
  EXPECT_FALSE(otd_raw_hash_meets(h, target));
  std::memset(h, 0xff, sizeof h);
  h[0] = 0xffffff0fu;
  EXPECT_TRUE(otd_raw_hash_meets(h, target)) << "equal meets";
}

// ---------------------------------------------------------------------------------------------------------
// Ethash

TEST(CudaEthashKernels, TinyDagItemsAreByteIdenticalToTheCpuWith256And512Parents) {
  const auto cache = tiny_cache(1);
  const uint64_t items = kTinyDatasetBytes / 64;
  for (const uint32_t parents : {256u, 512u}) {
    SCOPED_TRACE(parents);
    const std::vector<eth::Item> kernel = kernel_dag(*cache, parents, 0, items);
    std::vector<eth::Item> cpu(items);
    eth::dataset_items(*cache, 0, static_cast<uint32_t>(items), parents, cpu.data(), eth::Impl::kScalar);
    size_t differing = 0;
    for (uint64_t i = 0; i < items; ++i) {
      if (std::memcmp(kernel[i].bytes, cpu[i].bytes, 64) != 0 && differing++ < 3) {
        ADD_FAILURE() << "item " << i << ": kernel " << to_hex(kernel[i].bytes, 64) << " cpu " << to_hex(cpu[i].bytes, 64);
      }
    }
    EXPECT_EQ(differing, 0u);
  }
}

TEST(CudaEthashKernels, HashimotoOfATinyEpochEqualsTheCpuForManyNonces) {
  const auto cache = tiny_cache(3);
  const eth::FullDataset cpu(cache, eth::kEthash, 1, eth::Impl::kScalar);
  const std::vector<eth::Item> dag = kernel_dag(*cache, 256, 0, kTinyDatasetBytes / 64);
  const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
  const std::array<uint32_t, 8> hw = words_of(header);
  const auto pages = static_cast<uint32_t>(kTinyDatasetBytes / 128);
  for (const uint64_t nonce : {uint64_t{0}, uint64_t{1}, uint64_t{77}, uint64_t{0x4242424242424242}, ~uint64_t{0}, uint64_t{0xfffffffffffffe00}}) {
    SCOPED_TRACE(nonce);
    otd_u32 cmix[8], h[8];
    otd_ethash_hash(hw.data(), nonce, dag[0].words, pages, cmix, h);
    const eth::HashResult r = eth::hashimoto_full(cpu, header, nonce, eth::Impl::kScalar);
    EXPECT_EQ(to_hex(cmix, 32), to_hex(r.mix));
    EXPECT_EQ(to_hex(h, 32), to_hex(r.final_hash));
  }
}

// The real epoch 0: the pages one hash reads, computed with the kernels' calc_dataset_item from the real
// light cache, give the published answers.
TEST(CudaEthashKernels, Epoch0KnownAnswersWithTheKernelsArithmetic) {
  const auto cache = std::make_shared<const eth::LightCache>(eth::kEthash, 0);
  ASSERT_EQ(cache->bytes(), 16776896u);
  ASSERT_EQ(to_hex(otedama::common::keccak256(std::span(cache->items()->bytes, cache->bytes()))),
            "35ded12eecf2ce2e8da2e15c06d463aae9b84cb2530a00b932e4bbc484cde353")
      << "chfast/ethash light_cache";
  {
    const eth::Hash256 header = hex32("2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
    const std::array<uint32_t, 8> hw = words_of(header);
    std::array<uint32_t, 32> words{};
    const auto page = [&](otd_u32 p) -> const otd_u32* {
      otd_ethash_dag_item(cache->items()->words, cache->item_count(), 2 * p, 256, words.data());
      otd_ethash_dag_item(cache->items()->words, cache->item_count(), 2 * p + 1, 256, words.data() + 16);
      return words.data();
    };
    otd_u32 cmix[8], h[8];
    otd_ethash_hash_with(hw.data(), 0x4242424242424242ull, static_cast<otd_u32>(cache->dataset_bytes() / 128), page, cmix, h);
    EXPECT_EQ(to_hex(cmix, 32), "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017");
    EXPECT_EQ(to_hex(h, 32), "dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906");
  }
  {  // KawPow blocks 0 and 49: the L1 cache and the entries one hash reads from the kernels' DAG items.
    kp::L1Cache l1;
    const std::vector<eth::Item> first = kernel_dag(*cache, 512, 0, kp::kCacheItems);
    std::memcpy(l1.words.data(), first.data(), kp::kCacheBytes);
    const uint64_t entry_count = cache->dataset_bytes() / kp::kEntryBytes;
    struct Vector {
      uint64_t height;
      const char* header;
      uint64_t nonce;
      const char* mix;
      const char* final_hash;
    };
    const Vector vectors[] = {
        {0, "0000000000000000000000000000000000000000000000000000000000000000", 0,
         "6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a", "e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1"},
        {49, "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b", 0x07073c07,
         "d36f7e815ee09e74eceb9c96993a3d681edf2bf0921fc7bb710364042db99777", "e7ced124598fd2500a55ad9f9f48e3569327fe50493c77a4ac9799b96efb9463"},
    };
    for (const Vector& v : vectors) {
      SCOPED_TRACE(v.height);
      std::array<eth::Item, kp::kItemsPerEntry> entry{};
      const kp::HashResult r = kernel_kawpow(kp::generate_program(kp::period_of(v.height)), l1, entry_count, hex32(v.header), v.nonce,
                                             [&](uint32_t e) {
                                               const auto items = kernel_dag(*cache, 512, 4ull * e, kp::kItemsPerEntry);
                                               std::copy(items.begin(), items.end(), entry.begin());
                                               return static_cast<const uint32_t*>(entry[0].words);
                                             });
      EXPECT_EQ(to_hex(r.mix), v.mix);
      EXPECT_EQ(to_hex(r.final_hash), v.final_hash);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// KawPow

TEST(CudaEthashKernels, KawpowStaticPartsOfATinyEpochEqualTheCpuForSeveralPeriodsAndNonces) {
  const auto cache = tiny_cache(4);
  const eth::FullDataset cpu(cache, eth::kKawpow, 1, eth::Impl::kScalar);
  const kp::LightEpoch light(cache, eth::Impl::kScalar);
  const std::vector<eth::Item> dag = kernel_dag(*cache, 512, 0, kTinyDatasetBytes / 64);
  const eth::Hash256 header = hex32("63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b");
  const uint64_t entries = kTinyDatasetBytes / kp::kEntryBytes;
  for (const uint64_t period : {uint64_t{0}, uint64_t{411522}, uint64_t{1000003}}) {
    const kp::Program program = kp::generate_program(period);
    for (const uint64_t nonce : {uint64_t{0}, uint64_t{77}, uint64_t{0x07073c07}, ~uint64_t{0}}) {
      SCOPED_TRACE(std::to_string(period) + " " + std::to_string(nonce));
      // The pieces one by one.
      const std::array<uint32_t, 8> init = kp::initial_keccak(header, nonce);
      const std::array<uint32_t, 8> hw = words_of(header);
      otd_u32 hash_init[8];
      otd_kawpow_init(hw.data(), nonce, hash_init);
      ASSERT_EQ(to_hex(hash_init, 32), to_hex(init.data(), 32));
      kp::Mix expected_mix;
      kp::init_mix(init, expected_mix);
      for (uint32_t lane = 0; lane < kp::kLanes; ++lane) {
        otd_u32 regs[kp::kRegs];
        otd_kawpow_fill_mix(hash_init[0], hash_init[1], lane, regs, kp::kRegs);
        for (uint32_t r = 0; r < kp::kRegs; ++r) ASSERT_EQ(regs[r], expected_mix.r[r][lane]) << "lane " << lane << " reg " << r;
      }
      // The whole hash over the kernels' DAG.
      const kp::HashResult mine = kernel_kawpow(program, light.l1(), entries, header, nonce,
                                                [&](uint32_t e) { return static_cast<const uint32_t*>(dag[4ull * e].words); });
      const kp::HashResult ref = kp::hash_full(cpu.items(), cpu.item_count(), light.l1(), program, header, nonce);
      EXPECT_EQ(to_hex(mine.mix), to_hex(ref.mix));
      EXPECT_EQ(to_hex(mine.final_hash), to_hex(ref.final_hash));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// NVRTC: the KawPow kernel with the period's generated loop

TEST(CudaNvrtc, CompilesTheKawpowKernelOfSeveralPeriodsToPtxForCompute90AndAnSm90Cubin) {
  const cb::Nvrtc& nvrtc = cb::Nvrtc::instance();
  if (!nvrtc.available()) GTEST_SKIP() << "NVRTC not available here (" << nvrtc.why() << "); CI machines have /usr/local/cuda";
  const uint64_t dag_elements = eth::full_dataset_size(0) / 256;
  for (const uint64_t period : {uint64_t{0}, uint64_t{411522}, uint64_t{1000003}}) {
    SCOPED_TRACE(period);
    const std::string loop = kp::period_source(kp::generate_program(period), kp::Dialect::kCuda);
    const cb::KawpowProgram program = cb::kawpow_program(loop, dag_elements);
    EXPECT_NE(program.source.find("progPowLoop"), std::string::npos);
    const cb::NvrtcOutput ptx = nvrtc.compile("kawpow_test.cu", program.source, program.headers, "compute_90", program.options);
    ASSERT_TRUE(ptx.ok) << ptx.log;
    const std::string text(ptx.image.begin(), ptx.image.end());
    EXPECT_NE(text.find(".target sm_90"), std::string::npos);
    EXPECT_NE(text.find(".entry otd_kawpow_search"), std::string::npos) << "extern \"C\": the name the plugin looks up";
    EXPECT_NE(text.find("shfl.sync"), std::string::npos) << "the generated loop's __shfl_sync";
    EXPECT_NE(text.find(std::to_string(dag_elements)), std::string::npos) << "PROGPOW_DAG_ELEMENTS compiled in";
    if (period == 0) {
      const cb::NvrtcOutput cubin = nvrtc.compile("kawpow_test.cu", program.source, program.headers, "sm_90", program.options);
      ASSERT_TRUE(cubin.ok) << cubin.log;
      ASSERT_GT(cubin.image.size(), 4u);
      EXPECT_EQ(std::string(cubin.image.begin(), cubin.image.begin() + 4), "\x7f" "ELF") << "a CUBIN is an ELF image";
    }
  }
  // A broken program fails with the compiler's words, not a crash.
  const cb::NvrtcOutput bad = nvrtc.compile("broken.cu", "extern \"C\" __global__ void k() { undefined_thing(); }", {}, "compute_90", {});
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.log.find("undefined_thing"), std::string::npos) << bad.log;
}

TEST(CudaNvrtc, AMissingLibraryIsReportedNotFatal) {
  const cb::Nvrtc missing("/nonexistent/libnvrtc.so.13");
  EXPECT_FALSE(missing.available());
  EXPECT_NE(missing.why().find("/nonexistent/libnvrtc.so.13"), std::string::npos) << missing.why();
  const cb::NvrtcOutput out = missing.compile("x.cu", "", {}, "compute_90", {});
  EXPECT_FALSE(out.ok);
  EXPECT_FALSE(out.log.empty());
}

// ---------------------------------------------------------------------------------------------------------
// VRAM check and the program cache

TEST(CudaEthashMemory, ADagThatDoesNotFitIsRefusedNamingTheSizes) {
  const uint64_t cache = eth::light_cache_size(0), dag = eth::full_dataset_size(0);
  ASSERT_EQ(cache, 16776896u);  // pow-vectors ethash_sizes, epoch 0
  ASSERT_EQ(dag, 1073739904u);
  try {
    cb::check_dataset_fits("cuda9 (Small GPU)", 1024ull << 20, 2048ull << 20, cache, dag, "the ethash epoch 0 DAG");
    FAIL() << "a 1 GiB DAG does not fit in 1 GiB free";
  } catch (const otedama::sdk::Error& e) {
    EXPECT_EQ(e.status(), OTD_ERR_NO_MEMORY);
    const std::string m = e.what();
    EXPECT_NE(m.find("cuda9 (Small GPU): the ethash epoch 0 DAG does not fit"), std::string::npos) << m;
    EXPECT_NE(m.find("1073739904 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("16776896 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("> 1073741824 bytes (1024.0 MiB) free of 2147483648 (cuMemGetInfo)"), std::string::npos) << m;
    EXPECT_LT(m.size(), 255u) << "fits the ABI's error buffer";
  }
  const uint64_t reserve = 64ull << 20;  // 1/32 of 2 GiB = 64 MiB
  EXPECT_THROW(cb::check_dataset_fits("x", cache + dag + reserve - 1, 2048ull << 20, cache, dag, "x"), otedama::sdk::Error);
  EXPECT_NO_THROW(cb::check_dataset_fits("x", cache + dag + reserve, 2048ull << 20, cache, dag, "x"));
  // An 80 GiB H100 keeps 2.5 GiB free.
  EXPECT_THROW(cb::check_dataset_fits("x", 80ull << 30, 80ull << 30, 1ull << 30, 77ull << 30, "x"), otedama::sdk::Error);
  EXPECT_NO_THROW(cb::check_dataset_fits("x", 80ull << 30, 80ull << 30, 1ull << 30, 76ull << 30, "x"));
}

TEST(CudaProgramCache, StoresLoadsAndRejectsCorruptOrTruncatedFiles) {
  const fs::path dir = fs::temp_directory_path() / ("otedama-cubin-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const cb::ProgramCache cache(dir.string());
  const std::string path = cache.path("kawpow-period-7-sm_90", "sm_90\nsource");
  EXPECT_NE(path.find("kawpow-period-7-sm_90-"), std::string::npos);
  EXPECT_NE(path, cache.path("kawpow-period-7-sm_90", "sm_90\nother source")) << "the identity is part of the name";
  EXPECT_FALSE(cache.load(path).has_value()) << "nothing stored yet";
  std::vector<unsigned char> image(3000);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<unsigned char>(i * 13);
  ASSERT_TRUE(cache.store(path, image));
  {  // the shared common::ProgramCache with the cuda backend's file magic
    std::ifstream f(path, std::ios::binary);
    char magic[8] = {};
    f.read(magic, sizeof magic);
    EXPECT_EQ(std::string(magic, sizeof magic), "OTDCUBIN");
  }
  EXPECT_EQ(fs::path(path).parent_path(), dir) << path;
  auto loaded = cache.load(path);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, image);
  {  // one byte flipped in the middle
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1500);
    f.put('\x5a');
  }
  std::string problem;
  EXPECT_FALSE(cache.load(path, &problem).has_value());
  EXPECT_NE(problem.find("checksum mismatch"), std::string::npos) << problem;
  EXPECT_FALSE(fs::exists(path)) << "a corrupt file is removed";
  ASSERT_TRUE(cache.store(path, image));
  fs::resize_file(path, 20);
  EXPECT_FALSE(cache.load(path, &problem).has_value());
  EXPECT_NE(problem.find("too short"), std::string::npos) << problem;
  EXPECT_FALSE(cb::ProgramCache("").load(path).has_value()) << "a disabled cache finds nothing";
  EXPECT_EQ(cb::cuda_arch(9, 0), "sm_90");
  EXPECT_EQ(cb::cuda_arch(12, 1, true), "compute_121");
  fs::remove_all(dir);
}

}  // namespace
