// Tests of plugins/backend/cuda that run on every machine, GPU or not (suite `cuda`):
//  - the plugin loads where there is no NVIDIA driver or GPU and reports zero devices, saying why once;
//    `otedama-host --list-devices` says so too;
//  - nvcc built the kernels into fatbins holding sm_90 code and compute_90 PTX for both algorithms;
//  - the kernels' arithmetic (kernels/cuda/*.cuh, __host__ __device__, compiled here by the host compiler:
//    the same source nvcc compiles) gives the known answers: the sha256d precomputation (midstate, rounds
//    0..3, schedule words 16..19) and early exit against the library's SHA256d, scrypt against RFC 7914's
//    reference implementation in the scrypt plugin and Litecoin's blocks;
//  - the throttling rule of mining.gpu.temperature_limit.
// Mining on a GPU is test_cuda_gpu.cpp (skipped without one).
//
// Known answers (header bytes as serialised in blocks; hashes as raw bytes = the ABI's little-endian order,
// which explorers print reversed):
//  - Bitcoin genesis (height 0): bitcoin/bitcoin src/kernel/chainparams.cpp (CreateGenesisBlock(1231006505,
//    2083236893, 0x1d00ffff, 1, ...), hash 000000000019d6...e26f); header bytes as in petertodd/python-bitcoinlib
//    bitcoin/core/__init__.py (GENESIS_BLOCK).
//  - Bitcoin block 1: Bitcoin.org developer reference, getblock example (hash 00000000839a8e68...6048, nonce
//    2573394689).
//  - Litecoin genesis: litecoin-project/litecoin src/chainparams.cpp (CreateGenesisBlock(1317972665, 2084524493,
//    0x1e0ffff0, ...)); scrypt hash 0000050c34a64b41... from mycroft/generate-genesis README ("Ctrl Hash").
//  - Litecoin src/test/scrypt_tests.cpp (scrypt_hashtest, tag v0.21.5.5), vectors 0 and 1.
// (the same vectors tests/plugins/backend/opencl/test_opencl.cpp checks its kernels with).
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include <otedama/common/sha256.hpp>

#include "plugin_harness.hpp"
#include "scrypt_core.cuh"
#include "sha256d_core.cuh"
#include "throttle.hpp"

#ifdef OTEDAMA_SCRYPT_REFERENCE
#include "scrypt_core.hpp"
#endif

namespace {

namespace th = otedama::testing;

constexpr const char* kPlugin = OTEDAMA_CUDA_PLUGIN;
constexpr const char* kPluginId = "org.otedama.backend.cuda";

std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
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
std::string display(std::string_view hex_raw) {  // raw little-endian bytes -> explorer order
  std::vector<uint8_t> v = from_hex(hex_raw);
  std::reverse(v.begin(), v.end());
  return to_hex(v.data(), v.size());
}
uint32_t le32(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }
void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
std::array<uint8_t, 32> target_from_bits(uint32_t bits) {
  std::array<uint8_t, 32> t{};
  const int exponent = static_cast<int>(bits >> 24);
  for (int i = 0; i < 3; ++i) {
    const int at = exponent - 3 + i;
    if (at >= 0 && at < 32) t[static_cast<size_t>(at)] = static_cast<uint8_t>(bits >> (8 * i));
  }
  return t;
}
/// The digest words (big-endian state words) as the hash bytes.
std::array<uint8_t, 32> digest_bytes(const otd_u32 d[8]) {
  std::array<uint8_t, 32> b{};
  for (int w = 0; w < 8; ++w)
    for (int i = 0; i < 4; ++i) b[static_cast<size_t>(4 * w + i)] = static_cast<uint8_t>(d[w] >> (24 - 8 * i));
  return b;
}
/// hash <= target, both 256-bit little-endian (the host's comparison).
bool le_leq(const uint8_t* hash, const uint8_t* target) {
  for (int i = 31; i >= 0; --i) {
    if (hash[i] != target[i]) return hash[i] < target[i];
  }
  return true;
}

struct Block {
  const char* name;
  const char* header_hex;
  const char* hash_display;
  uint32_t nonce;
};

const Block kBitcoin[] = {
    {"Bitcoin genesis",
     "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc388"
     "8a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
     "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", 2083236893u},
    {"Bitcoin block 1",
     "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c354"
     "0bf7b1cdb606e857233e0e61bc6649ffff001d01e36299",
     "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048", 2573394689u},
};

const Block kLitecoin[] = {
    {"Litecoin genesis",
     "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a1"
     "7c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c",
     "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00", 2084524493u},
    {"Litecoin scrypt_tests.cpp vector 0",
     "020000004c1271c211717198227392b029a64a7971931d351b387bb80db027f270411e398a07046f7d4a08dd815412a8712f874a7ebf0507"
     "e3878bd24e20a3b73fd750a667d2f451eac7471b00de6659",
     "00000000002bef4107f882f6115e0b01f348d21195dacd3582aa2dabd7985806", 1499913728u},
    {"Litecoin scrypt_tests.cpp vector 1",
     "0200000011503ee6a855e900c00cfdd98f5f55fffeaee9b6bf55bea9b852d9de2ce35828e204eef76acfd36949ae56d1fbe81c1ac9c0209e"
     "6331ad56414f9072506a77f8c6faf551eac7471b00389d01",
     "00000000003a0d11bdd5eb634e08b7feddcfbbf228ed35d250daf19f1c88fc94", 27080704u},
};

// ---------------------------------------------------------------------------------------------------
// The plugin on this machine.

TEST(CudaPlugin, DescribesItself) {
  const th::PluginLibrary& library = th::open_library(kPlugin);
  const std::vector<const otd_plugin_descriptor_t*> descriptors = library.descriptors();
  ASSERT_EQ(descriptors.size(), 1u);
  EXPECT_EQ(descriptors[0]->kind, OTD_KIND_BACKEND);
  EXPECT_STREQ(descriptors[0]->id, kPluginId);
  EXPECT_STREQ(descriptors[0]->name, "cuda");  // the scheduler classes it as a GPU backend by this name
  EXPECT_STREQ(descriptors[0]->interface_id, OTD_BACKEND_INTERFACE_ID);
}

TEST(CudaPlugin, RefusesUnknownAndMalformedSettingsNamingThem) {
  th::FakeHost host(R"({"launch_msec":10})");
  th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status, OTD_ERR_INVALID_ARG);
  EXPECT_NE(r.message.find("unknown setting 'launch_msec'"), std::string::npos) << r.message;
  host.set_config(R"({"launch_ms":1001})");
  r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message.find("launch_ms must be an integer from 5 to 1000"), std::string::npos) << r.message;
  host.set_config(R"({"launch_ms":500,"launch_timeout_ms":600})");
  r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message.find("launch_timeout_ms (600) must be at least twice launch_ms (500)"), std::string::npos) << r.message;
  host.set_config(R"({"kernel_dir":5})");
  r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message.find("kernel_dir must be a string"), std::string::npos) << r.message;
  host.set_config(R"({"program_cache":false})");
  r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message.find("program_cache must be a string"), std::string::npos) << r.message;
  host.set_config(R"({"program_cache":""})");
  r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  EXPECT_TRUE(r.ok()) << r.describe();
}

/// Whether this machine has a CUDA driver at all (the plugin's answer is checked against this).
bool driver_loadable() {
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h != nullptr) ::dlclose(h);
  return h != nullptr;
}

TEST(CudaPlugin, LoadsWithoutAGpuAndSaysWhyItHasNoDevicesOnce) {
  th::FakeHost host;
  th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
  ASSERT_TRUE(r.ok()) << r.describe();
  const otd_backend_t& b = r.instance.table<otd_backend_t>();
  uint32_t count = 99;
  ASSERT_EQ(b.enumerate(r.instance.plugin(), nullptr, 0, &count), OTD_OK);
  if (count > 0) GTEST_SKIP() << count << " CUDA device(s) here: test_cuda_gpu covers them";
  size_t said = 0;
  for (const auto& rec : host.logs()) {
    if (rec.message.find("cuda: no CUDA") != std::string::npos) {
      ++said;
      EXPECT_NE(rec.message.find("the cuda backend has no devices"), std::string::npos) << rec.message;
      if (!driver_loadable()) {
        EXPECT_NE(rec.message.find("no CUDA driver (libcuda.so.1 not loadable"), std::string::npos) << rec.message;
      }
    }
  }
  EXPECT_EQ(said, 1u) << "the reason is logged exactly once";
  // Enumerating again (the host does at start and for --list-devices) says nothing more.
  ASSERT_EQ(b.enumerate(r.instance.plugin(), nullptr, 0, &count), OTD_OK);
  EXPECT_EQ(count, 0u);
  size_t again = 0;
  for (const auto& rec : host.logs()) again += rec.message.find("cuda: no CUDA") != std::string::npos ? 1 : 0;
  EXPECT_EQ(again, 1u);
  // Opening a device that is not there is a clear error, not a crash.
  th::ErrorBuffer err;
  otd_device_t* d = nullptr;
  otd_device_limits_t l{};
  l.struct_size = sizeof l;
  EXPECT_EQ(b.open_device(r.instance.plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_ERR_NOT_FOUND);
  EXPECT_NE(err.str().find("no device 0 (0 CUDA device(s) present)"), std::string::npos) << err.str();
}

int host_command(const std::string& args, std::string& out) {
  const std::string cmd = "env -u OTEDAMA_PLUGIN_PATH '" OTEDAMA_HOST "' " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CudaPlugin, HostListDevicesSaysTheCudaBackendHasNoDevice) {
  th::FakeHost probe;
  th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, probe);
  ASSERT_TRUE(r.ok()) << r.describe();
  uint32_t count = 0;
  ASSERT_EQ(r.instance.table<otd_backend_t>().enumerate(r.instance.plugin(), nullptr, 0, &count), OTD_OK);
  std::string out;
  ASSERT_EQ(host_command("--list-devices", out), 0) << out;
  if (count > 0) {
    EXPECT_NE(out.find("backend org.otedama.backend.cuda"), std::string::npos) << out;
    EXPECT_NE(out.find("cuda0  "), std::string::npos) << out;
  } else {
    EXPECT_NE(out.find("org.otedama.backend.cuda: no devices\n"), std::string::npos) << "--list-devices names the backend without devices\n" << out;
    EXPECT_EQ(out.find("backend org.otedama.backend.cuda"), std::string::npos) << out;
  }
}

// ---------------------------------------------------------------------------------------------------
// What nvcc built: one fatbin per algorithm with sm_90 machine code and compute_90 PTX.
// Layout as nvcc (CUDA 12/13) writes it: a 16-byte header (magic 0xba55ed50, version, header size, size of
// the entries), then entries, each a header (kind: 1 PTX, 2 ELF; its own header size; payload size; the
// SM architecture at byte 28) and its payload.

struct FatbinEntry {
  uint16_t kind;
  uint32_t arch;
  uint64_t size;
};

std::vector<FatbinEntry> fatbin_entries(const std::vector<uint8_t>& d) {
  std::vector<FatbinEntry> out;
  auto u16 = [&](size_t o) { return static_cast<uint16_t>(d[o] | (d[o + 1] << 8)); };
  auto u32 = [&](size_t o) { return le32(d.data() + o); };
  auto u64 = [&](size_t o) { return uint64_t{u32(o)} | (uint64_t{u32(o + 4)} << 32); };
  if (d.size() < 16 || u32(0) != 0xba55ed50u) return out;
  const size_t header = u16(6);
  const uint64_t total = u64(8);
  size_t off = header;
  while (off + 32 <= d.size() && off < header + total) {
    FatbinEntry e{u16(off), u32(off + 28), u64(off + 8)};
    out.push_back(e);
    off += u32(off + 4) + e.size;
  }
  return out;
}

TEST(CudaKernels, NvccBuiltSm90CodeAndComputeTo90PtxForEachAlgorithm) {
  for (const char* algo : {"sha256d", "scrypt"}) {
    SCOPED_TRACE(algo);
    const std::string path = std::string(OTEDAMA_CUDA_FATBIN_DIR) + "/" + algo + ".fatbin";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path;
    const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::vector<FatbinEntry> entries = fatbin_entries(data);
    bool elf90 = false, ptx90 = false;
    for (const FatbinEntry& e : entries) {
      EXPECT_GT(e.size, 0u);
      elf90 |= e.kind == 2 && e.arch == 90;
      ptx90 |= e.kind == 1 && e.arch == 90;
    }
    EXPECT_TRUE(elf90) << "no sm_90 code in " << path;
    EXPECT_TRUE(ptx90) << "no compute_90 PTX in " << path;
    const std::string text(data.begin(), data.end());
    EXPECT_NE(text.find(std::string("otd_") + algo + "_scan"), std::string::npos) << "the entry point is in the image";
  }
}

// ---------------------------------------------------------------------------------------------------
// The kernels' arithmetic on the CPU.

TEST(CudaKernels, Sha256dPrecomputationMatchesTheLibrary) {
  for (const Block& b : kBitcoin) {
    SCOPED_TRACE(b.name);
    const std::vector<uint8_t> header = from_hex(b.header_hex);
    ASSERT_EQ(header.size(), 80u);
    const std::array<uint8_t, 32> target = target_from_bits(le32(header.data() + 72));
    otd_sha256d_params p{};
    otd_sha256d_prepare(header.data(), target.data(), &p);
    const otedama::common::Sha256State mid = otedama::common::sha256_midstate(std::span<const uint8_t, 64>(header.data(), 64));
    for (int i = 0; i < 8; ++i) EXPECT_EQ(p.midstate[i], mid[static_cast<size_t>(i)]) << "midstate word " << i;
    for (int i = 0; i < 8; ++i) EXPECT_EQ(p.target[i], le32(target.data() + 4 * i)) << "target word " << i;
    // The schedule words 16..19 as FIPS 180-4 computes them from the whole second block.
    uint32_t w[20] = {};
    for (int i = 0; i < 3; ++i) w[i] = (uint32_t{header[64 + 4 * i]} << 24) | (uint32_t{header[65 + 4 * i]} << 16) | (uint32_t{header[66 + 4 * i]} << 8) | header[67 + 4 * i];
    w[3] = otd_bswap32(b.nonce);
    w[4] = 0x80000000u;
    w[15] = 640;
    for (int t = 16; t < 20; ++t) w[t] = otd_ssig1(w[t - 2]) + w[t - 7] + otd_ssig0(w[t - 15]) + w[t - 16];
    EXPECT_EQ(p.w16, w[16]);
    EXPECT_EQ(p.w17, w[17]);
    EXPECT_EQ(p.w18_part + otd_ssig0(w[3]), w[18]);
    EXPECT_EQ(p.w19_part + w[3], w[19]);
  }
}

TEST(CudaKernels, Sha256dHashOfTheRealNonceIsTheBlockHash) {
  for (const Block& b : kBitcoin) {
    SCOPED_TRACE(b.name);
    std::vector<uint8_t> header = from_hex(b.header_hex);
    ASSERT_EQ(le32(header.data() + 76), b.nonce);
    const std::array<uint8_t, 32> target = target_from_bits(le32(header.data() + 72));
    put_le32(header.data() + 76, 0);  // the kernel fills the nonce in
    otd_sha256d_params p{};
    otd_sha256d_prepare(header.data(), target.data(), &p);
    otd_u32 d[8];
    EXPECT_TRUE(otd_sha256d_try(p, b.nonce, d, false)) << "the block's nonce meets its own target";
    const std::array<uint8_t, 32> hash = digest_bytes(d);
    EXPECT_EQ(display(to_hex(hash.data(), 32)), b.hash_display);
    // Its neighbours do not (at difficulty 1 about one nonce in 2^32 does).
    for (uint32_t n : {b.nonce - 1, b.nonce + 1, b.nonce ^ 0x80000000u}) EXPECT_FALSE(otd_sha256d_try(p, n, d, false)) << n;
  }
}

TEST(CudaKernels, Sha256dEveryNonceAndTheEarlyExitAgreeWithTheLibrary) {
  uint8_t header[80];
  for (int i = 0; i < 80; ++i) header[i] = static_cast<uint8_t>(i * 37 + 11);
  // About one hash in four meets it; with it the early exit (high word greater) and the full comparison
  // (high word equal: byte 31 == 0x3f and byte 30 compared next) are both exercised.
  std::array<uint8_t, 32> target;
  target.fill(0xff);
  target[31] = 0x3f;
  target[30] = 0x80;
  otd_sha256d_params p{};
  otd_sha256d_prepare(header, target.data(), &p);
  int met = 0, equal_high = 0;
  for (uint32_t n = 0x7fff0000u; n < 0x7fff0000u + 20000u; ++n) {
    put_le32(header + 76, n);
    const otedama::common::Sha256Digest want = otedama::common::sha256d(std::span<const uint8_t>(header, 80));
    otd_u32 d[8];
    const bool full = otd_sha256d_try(p, n, d, true);
    ASSERT_EQ(to_hex(digest_bytes(d).data(), 32), to_hex(want.data(), 32)) << "nonce " << n;
    const bool meets = le_leq(want.data(), target.data());
    ASSERT_EQ(full, meets) << "nonce " << n;
    otd_u32 e[8];
    ASSERT_EQ(otd_sha256d_try(p, n, e, false), meets) << "the early exit, nonce " << n;
    met += meets ? 1 : 0;
    equal_high += want[31] == 0x3f ? 1 : 0;
  }
  EXPECT_GT(met, 20000 / 8);
  EXPECT_GT(equal_high, 0) << "the range should hit the high-word tie at least once";
}

TEST(CudaKernels, ScryptOfTheRealNonceIsTheBlockHashWithAnyScratchpadStride) {
  std::vector<otd_u32> scratch(size_t{OTD_SCRYPT_N} * 32 * 3);
  for (const Block& b : kLitecoin) {
    SCOPED_TRACE(b.name);
    std::vector<uint8_t> header = from_hex(b.header_hex);
    ASSERT_EQ(le32(header.data() + 76), b.nonce);
    const std::array<uint8_t, 32> target = target_from_bits(le32(header.data() + 72));
    put_le32(header.data() + 76, 0);
    otd_scrypt_params p{};
    otd_scrypt_prepare(header.data(), target.data(), &p);
    // Item 0 of a one-item pad, and item 2 of three interleaved (the kernel's layout).
    for (const auto& [stride, item] : {std::pair<otd_u32, otd_u32>{1, 0}, std::pair<otd_u32, otd_u32>{3, 2}}) {
      otd_u32 d[8];
      otd_scrypt_hash(p, b.nonce, scratch.data() + item, stride, d);
      const std::array<uint8_t, 32> hash = digest_bytes(d);
      EXPECT_EQ(display(to_hex(hash.data(), 32)), b.hash_display) << "stride " << stride;
      EXPECT_TRUE(otd_meets_target(d, p.target));
    }
  }
}

#ifdef OTEDAMA_SCRYPT_REFERENCE
TEST(CudaKernels, ScryptAgreesWithTheRfc7914ReferenceOnOtherNonces) {
  uint8_t header[80];
  for (int i = 0; i < 80; ++i) header[i] = static_cast<uint8_t>(255 - i * 13);
  std::array<uint8_t, 32> target;
  target.fill(0xff);
  otd_scrypt_params p{};
  otd_scrypt_prepare(header, target.data(), &p);
  std::vector<otd_u32> scratch(size_t{OTD_SCRYPT_N} * 32);
  for (uint32_t n : {0u, 1u, 0xfffffffeu, 0x12345678u}) {
    put_le32(header + 76, n);
    uint8_t want[32];
    ASSERT_TRUE(otedama::scrypt::scrypt_reference(std::span<const uint8_t>(header, 80), std::span<const uint8_t>(header, 80), 1024, 1, 1,
                                                  std::span<uint8_t>(want, 32)));
    otd_u32 d[8];
    otd_scrypt_hash(p, n, scratch.data(), 1, d);
    EXPECT_EQ(to_hex(digest_bytes(d).data(), 32), to_hex(want, 32)) << "nonce " << n;
  }
}
#endif

// ---------------------------------------------------------------------------------------------------
// mining.gpu.temperature_limit.

TEST(CudaThrottle, ThrottlesAtTheLimitAndStopsThreeDegreesUnderIt) {
  using otedama::cuda_backend::should_throttle;
  EXPECT_FALSE(should_throttle(84, 85, false));
  EXPECT_TRUE(should_throttle(85, 85, false));
  EXPECT_TRUE(should_throttle(90, 85, false));
  EXPECT_TRUE(should_throttle(83, 85, true)) << "inside the hysteresis it keeps throttling";
  EXPECT_FALSE(should_throttle(83, 85, false)) << "inside the hysteresis it does not start";
  EXPECT_FALSE(should_throttle(81.9, 85, true));
  EXPECT_FALSE(should_throttle(-1, 85, true)) << "unknown temperature";
  EXPECT_FALSE(should_throttle(120, 0, false)) << "no limit";
}

}  // namespace
