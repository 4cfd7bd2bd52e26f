// Tests of plugins/backend/cuda on a CUDA GPU, through the C ABI (plugin_harness.hpp). Without a CUDA
// device the program prints "SKIP: no CUDA device: <the plugin's reason>" and exits 77, which meson counts
// as a skipped test (protocol 'exitcode').
//
// The same program also runs against fake_driver.cpp, a CPU stand-in for libcuda and NVML (test
// 'plugin-cuda-fake-driver', OTEDAMA_CUDA_DRIVER / OTEDAMA_CUDA_NVML set), so that the plugin's host side
// (launch sizing, double buffering, result overflow, abort, watchdog and reset, throttling) is exercised on
// machines without a GPU. Under the fake the ranges are smaller (the kernels run on one CPU core) and the
// misbehaving launches and temperatures are switched through the fake's test controls.
//
// Known answers as in test_cuda.cpp (Bitcoin genesis and block 1, Litecoin genesis and Litecoin's
// scrypt_tests.cpp vectors 0 and 1; sources cited there): each kernel must find exactly the real nonce in a
// range around it at the block's own target and report the block's hash. At an easy target every nonce the
// GPU reports is verified with the algorithm plugin (the host's CPU check) and the set must equal what the
// plugin's own hash says meets the target.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plugin_harness.hpp"

namespace {

namespace th = otedama::testing;
namespace fs = std::filesystem;

constexpr const char* kPlugin = OTEDAMA_CUDA_PLUGIN;
constexpr const char* kPluginId = "org.otedama.backend.cuda";
constexpr uint32_t kTrapBase = 0xdead0000u;  // misbehaving_kernel.cu

/// The fake driver's library when the test runs against it, else nullptr.
const char* fake_driver() { return std::getenv("OTEDAMA_CUDA_DRIVER"); }
/// A range size: `gpu` on a GPU, `fake` under the CPU stand-in.
uint64_t sized(uint64_t gpu, uint64_t fake) { return fake_driver() != nullptr ? fake : gpu; }
/// Calls the fake driver's test control `name` with `value` (no-op on a real driver).
void fake_control(const char* name, unsigned value) {
  if (fake_driver() == nullptr) return;
  void* lib = ::dlopen(fake_driver(), RTLD_NOW | RTLD_LOCAL);  // the same handle the plugin holds
  ASSERT_NE(lib, nullptr) << ::dlerror();
  auto* fn = reinterpret_cast<void (*)(unsigned)>(::dlsym(lib, name));
  ASSERT_NE(fn, nullptr) << name;
  fn(value);
}

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
std::vector<uint8_t> raw_from_display(std::string_view hex) {
  std::vector<uint8_t> v = from_hex(hex);
  std::reverse(v.begin(), v.end());
  return v;
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
std::array<uint8_t, 32> easy_target() {  // about one hash in four
  std::array<uint8_t, 32> t;
  t.fill(0xff);
  t[31] = 0x3f;
  return t;
}

struct Found {
  std::mutex mu;
  std::vector<otd_found_t> all;
  uint64_t work_id = 77;
  int wrong_work_id = 0;
  std::atomic<bool> answer_aborted{false};
  static otd_status_t OTD_CALL on_found(void* user, const otd_found_t* f) {
    auto* self = static_cast<Found*>(user);
    std::lock_guard lock(self->mu);
    if (f->work_id != self->work_id) ++self->wrong_work_id;
    self->all.push_back(*f);
    return self->answer_aborted.load() ? OTD_ERR_ABORTED : OTD_OK;
  }
  std::set<uint64_t> nonces() {
    std::lock_guard lock(mu);
    std::set<uint64_t> s;
    for (const otd_found_t& f : all) s.insert(f.nonce);
    return s;
  }
};

otd_work_unit_t work_unit(const char* algorithm, const uint8_t* header, uint64_t start, uint64_t count, const std::array<uint8_t, 32>& target,
                          Found& found) {
  otd_work_unit_t w{};
  w.struct_size = sizeof w;
  w.work_id = found.work_id;
  w.algorithm = algorithm;
  w.blob = header;
  w.blob_size = 80;
  w.nonce_offset = 76;
  w.nonce_size = 4;
  w.nonce_start = start;
  w.nonce_count = count;
  std::memcpy(w.share_target, target.data(), 32);
  std::memcpy(w.block_target, target.data(), 32);
  w.on_found = &Found::on_found;
  w.on_found_user = &found;
  return w;
}

otd_device_limits_t limits(uint32_t intensity) {
  otd_device_limits_t l{};
  l.struct_size = sizeof l;
  l.intensity = intensity;
  l.temperature_limit_c = 85;
  return l;
}

class Cuda : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (host_ != nullptr) return;
    host_ = new th::FakeHost();
    auto r = std::make_unique<th::CreateResult>(th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, *host_));
    if (!r->ok()) {
      create_error_ = r->describe();
      return;
    }
    instance_ = r.release();
    uint32_t count = 0;
    if (backend().enumerate(plugin(), nullptr, 0, &count) != OTD_OK) {
      create_error_ = "enumerate failed";
      return;
    }
    infos_.assign(count, otd_device_info_t{});
    for (auto& i : infos_) i.struct_size = sizeof i;
    if (count > 0) (void)backend().enumerate(plugin(), infos_.data(), count, &count);
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(create_error_.empty()) << create_error_;
    ASSERT_FALSE(infos_.empty());  // main() skipped the whole program otherwise
  }
  void TearDown() override {
    if (device_ != nullptr) backend().close_device(plugin(), device_);
    device_ = nullptr;
  }
  static const otd_backend_t& backend() { return instance_->instance.table<otd_backend_t>(); }
  static const otd_plugin_t* plugin() { return instance_->instance.plugin(); }
  void open(uint32_t intensity) {
    th::ErrorBuffer err;
    const otd_device_limits_t l = limits(intensity);
    ASSERT_EQ(backend().open_device(plugin(), 0, &l, &device_, err.text, sizeof err.text), OTD_OK) << err.str();
  }
  otd_status_t run(const otd_work_unit_t& w, uint64_t* hashes, std::string* message = nullptr) {
    th::ErrorBuffer err;
    uint64_t ignored = 0;
    const otd_status_t st = backend().run(plugin(), device_, 0, &w, hashes != nullptr ? hashes : &ignored, err.text, sizeof err.text);
    if (message != nullptr) *message = err.str();
    return st;
  }

 public:
  static inline th::FakeHost* host_ = nullptr;
  static inline th::CreateResult* instance_ = nullptr;
  static inline std::string create_error_;
  static inline std::vector<otd_device_info_t> infos_;

 protected:
  otd_device_t* device_ = nullptr;
};

TEST_F(Cuda, EnumeratesEachGpuAsAScanDeviceWithOneLane) {
  for (size_t i = 0; i < infos_.size(); ++i) {
    const otd_device_info_t& d = infos_[i];
    SCOPED_TRACE(d.id);
    EXPECT_EQ(std::string(d.id), "cuda" + std::to_string(i));
    EXPECT_EQ(d.style, OTD_DEVICE_SCAN);
    // kawpow only where NVRTC is there to compile its period programs (the plugin says so at init).
    const bool nvrtc = !host_->logged("cuda: kawpow is unsupported");
    EXPECT_STREQ(d.algorithms, nvrtc ? "sha256d,scrypt,ethash,etchash,kawpow" : "sha256d,scrypt,ethash,etchash");
    EXPECT_GT(d.memory_bytes, 0u);
    EXPECT_GT(d.compute_units, 0u);
    EXPECT_EQ(d.max_lanes, 1u);
    EXPECT_EQ(d.nonce_size_max, 8u) << "the Ethash family's 8-byte nonce";
    EXPECT_TRUE(host_->logged(std::string("cuda: ") + d.id + " ")) << "init logs each device";
  }
}

TEST_F(Cuda, BadWorkUnitsAndLimitsAreRefusedNamingTheDevice) {
  th::ErrorBuffer err;
  otd_device_t* d = nullptr;
  otd_device_limits_t l = limits(40);
  EXPECT_EQ(backend().open_device(plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
  EXPECT_NE(err.str().find("intensity 40 is out of range"), std::string::npos) << err.str();
  open(20);
  l.intensity = 20;
  EXPECT_EQ(backend().open_device(plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_ERR_BUSY);
  uint8_t header[80] = {};
  Found found;
  std::string message;
  otd_work_unit_t w = work_unit("randomx", header, 0, 100, easy_target(), found);
  EXPECT_EQ(run(w, nullptr, &message), OTD_ERR_UNSUPPORTED);
  EXPECT_NE(message.find("cuda0 ("), std::string::npos) << message;
  EXPECT_NE(message.find("no CUDA kernel for algorithm 'randomx'"), std::string::npos) << message;
  w = work_unit("ethash", header, 0, 100, easy_target(), found);  // an 80-byte header is not ethash work
  EXPECT_EQ(run(w, nullptr, &message), OTD_ERR_INVALID_ARG);
  EXPECT_NE(message.find("ethash work must be a 32-byte header hash with an 8-byte nonce at offset 32"), std::string::npos) << message;
  w = work_unit("sha256d", header, 0xffffff00u, 0x200, easy_target(), found);
  EXPECT_EQ(run(w, nullptr, &message), OTD_ERR_INVALID_ARG);
  EXPECT_NE(message.find("leaves the 32-bit nonce field"), std::string::npos) << message;
}

struct Block {
  const char* name;
  const char* header_hex;
  const char* hash_display;
  uint32_t nonce;
};

void expect_finds_exactly(Cuda& t, const otd_backend_t& backend, const otd_plugin_t* plugin, otd_device_t* device, const char* algorithm,
                          const Block& b, uint64_t before, uint64_t count) {
  (void)t;
  SCOPED_TRACE(b.name);
  std::vector<uint8_t> header = from_hex(b.header_hex);
  ASSERT_EQ(le32(header.data() + 76), b.nonce);
  put_le32(header.data() + 76, 0);
  const std::array<uint8_t, 32> target = target_from_bits(le32(header.data() + 72));
  Found found;
  const otd_work_unit_t w = work_unit(algorithm, header.data(), b.nonce - before, count, target, found);
  th::ErrorBuffer err;
  uint64_t hashes = 0;
  ASSERT_EQ(backend.run(plugin, device, 0, &w, &hashes, err.text, sizeof err.text), OTD_OK) << err.str();
  EXPECT_EQ(hashes, count);
  ASSERT_EQ(found.nonces(), std::set<uint64_t>{b.nonce});
  const std::vector<uint8_t> expected = raw_from_display(b.hash_display);
  EXPECT_EQ(to_hex(found.all[0].hash, 32), to_hex(expected.data(), 32));
}

TEST_F(Cuda, Sha256dKernelFindsTheBitcoinGenesisAndBlock1Nonces) {
  open(24);
  const Block blocks[] = {
      {"Bitcoin genesis",
       "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc388"
       "8a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
       "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", 2083236893u},
      {"Bitcoin block 1",
       "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c354"
       "0bf7b1cdb606e857233e0e61bc6649ffff001d01e36299",
       "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048", 2573394689u},
  };
  // 50 M nonces: many launches, the real one somewhere inside one of them.
  for (const Block& b : blocks) {
    expect_finds_exactly(*this, backend(), plugin(), device_, "sha256d", b, sized(23'456'789, 123'457), sized(50'000'000, 300'000));
  }
}

TEST_F(Cuda, ScryptKernelFindsTheLitecoinNonces) {
  open(16);
  const Block blocks[] = {
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
  for (const Block& b : blocks) expect_finds_exactly(*this, backend(), plugin(), device_, "scrypt", b, sized(50'000, 37), sized(200'000, 300));
}

struct AlgoPlugin {
  const char* name;
  const char* path;
  const char* id;
  uint64_t nonces;
  uint32_t intensity;
};

std::vector<AlgoPlugin> algorithm_plugins() {
  std::vector<AlgoPlugin> v;
#ifdef OTEDAMA_SHA256D_PLUGIN
  // 200,000 nonces at 1/4: ~50,000 found, far more than one launch's 1024-entry result buffer: launches
  // overflow and are searched again in smaller ones.
  v.push_back({"sha256d", OTEDAMA_SHA256D_PLUGIN, "org.otedama.algorithm.sha256d", sized(200'000, 30'000), 24});
#endif
#ifdef OTEDAMA_SCRYPT_PLUGIN
  v.push_back({"scrypt", OTEDAMA_SCRYPT_PLUGIN, "org.otedama.algorithm.scrypt", sized(20'000, 1'500), 16});
#endif
  return v;
}

TEST_F(Cuda, MinesAnEasyTargetAndTheAlgorithmPluginVerifiesEveryNonce) {
  const std::vector<AlgoPlugin> algos = algorithm_plugins();
  if (algos.empty()) GTEST_SKIP() << "neither the sha256d nor the scrypt plugin is part of this build";
  for (const AlgoPlugin& a : algos) {
    SCOPED_TRACE(a.name);
    th::CreateResult alg = th::create_instance(a.path, a.id, OTD_ALGORITHM_INTERFACE_ID, *host_);
    ASSERT_TRUE(alg.ok()) << alg.describe();
    const otd_algorithm_t& algorithm = alg.instance.table<otd_algorithm_t>();
    open(a.intensity);
    uint8_t header[80];
    for (int i = 0; i < 80; ++i) header[i] = static_cast<uint8_t>(i * 37 + 11);
    put_le32(header + 76, 0);
    const std::array<uint8_t, 32> target = easy_target();
    Found found;
    const uint64_t start = 0x7fff0000u;
    otd_work_unit_t w = work_unit(a.name, header, start, a.nonces, target, found);
    w.algorithm_plugin = alg.instance.plugin();
    w.algorithm_table = &algorithm;
    uint64_t hashes = 0;
    std::string message;
    ASSERT_EQ(run(w, &hashes, &message), OTD_OK) << message;
    EXPECT_EQ(hashes, a.nonces);
    EXPECT_EQ(found.wrong_work_id, 0);
    std::set<uint64_t> expected;
    th::ErrorBuffer err;
    for (uint64_t n = start; n < start + a.nonces; ++n) {
      uint8_t h[80];
      std::memcpy(h, header, 80);
      put_le32(h + 76, static_cast<uint32_t>(n));
      uint8_t hash[32];
      ASSERT_EQ(algorithm.hash(alg.instance.plugin(), nullptr, h, 80, hash, 32, err.text, sizeof err.text), OTD_OK) << err.str();
      if (hash[31] <= 0x3f) expected.insert(n);
    }
    ASSERT_GT(expected.size(), a.nonces / 8);
    EXPECT_EQ(found.nonces(), expected);
    EXPECT_EQ(found.all.size(), expected.size()) << "a nonce was reported twice";
    for (const otd_found_t& f : found.all) {
      uint8_t solved[80];
      std::memcpy(solved, header, 80);
      put_le32(solved + 76, static_cast<uint32_t>(f.nonce));
      otd_verify_request_t req{};
      req.struct_size = sizeof req;
      req.blob = solved;
      req.blob_size = 80;
      req.nonce = f.nonce;
      std::memcpy(req.share_target, target.data(), 32);
      otd_verify_result_t res{};
      res.struct_size = sizeof res;
      ASSERT_EQ(algorithm.verify(alg.instance.plugin(), nullptr, &req, &res, err.text, sizeof err.text), OTD_OK) << err.str();
      ASSERT_EQ(res.meets_share, 1u) << "nonce " << f.nonce;
      ASSERT_EQ(to_hex(res.hash, 32), to_hex(f.hash, 32)) << "the kernel's hash differs from verify's for nonce " << f.nonce;
    }
    otd_device_telemetry_t t{};
    t.struct_size = sizeof t;
    ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
    EXPECT_GE(t.hashes_total, a.nonces);
    EXPECT_EQ(t.hardware_errors, 0u);
    // NVML readings, when there are any, are physical.
    if (t.temperature_c >= 0) {
      EXPECT_LT(t.temperature_c, 130);
    }
    if (t.power_w >= 0) {
      EXPECT_LT(t.power_w, 2000);
    }
    std::printf("%s: telemetry %.0f °C, %.0f W, fan %.0f %%\n", a.name, t.temperature_c, t.power_w, t.fan_percent);
    backend().close_device(plugin(), device_);
    device_ = nullptr;
  }
}

TEST_F(Cuda, TheAbortFlagStopsARunAStaleAnswerEndsItAndTheNextJobMinesCleanly) {
  open(31);
  uint8_t header[80] = {};
  std::array<uint8_t, 32> impossible{};
  Found found;
  volatile uint32_t abort_flag = 0;
  otd_work_unit_t w = work_unit("sha256d", header, 0, 0x100000000ULL, impossible, found);
  w.abort_flag = &abort_flag;
  uint64_t hashes = 0;
  std::string message;
  otd_status_t status = OTD_ERR_GENERIC;
  std::atomic<bool> returned{false};
  std::thread worker([&] {
    status = run(w, &hashes, &message);
    returned = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (std::chrono::steady_clock::now() < deadline && !returned) {
    otd_device_telemetry_t t{};
    t.struct_size = sizeof t;
    ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
    if (t.hashes_total > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto aborted_at = std::chrono::steady_clock::now();
  abort_flag = 1;
  worker.join();
  const auto reaction_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - aborted_at).count();
  std::printf("abort seen after %lld ms\n", static_cast<long long>(reaction_ms));
  EXPECT_EQ(status, OTD_ERR_ABORTED) << message;
  EXPECT_GT(hashes, 0u);
  EXPECT_LT(hashes, 0x100000000ULL);
  status = run(w, &hashes, &message);
  EXPECT_EQ(status, OTD_ERR_ABORTED);
  EXPECT_EQ(hashes, 0u);

  // The host answers on_found with OTD_ERR_ABORTED (a new job): the run ends early.
  abort_flag = 0;
  found.answer_aborted = true;
  w = work_unit("sha256d", header, 0, 0x100000000ULL, easy_target(), found);
  EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_ABORTED) << message;
  EXPECT_LT(hashes, 0x100000000ULL);
  EXPECT_FALSE(found.all.empty());

  // The next job (another header, another work id) right after: every nonce it reports is its own.
  uint8_t next[80];
  for (int i = 0; i < 80; ++i) next[i] = static_cast<uint8_t>(i * 5 + 3);
  Found found2;
  found2.work_id = 78;
  const otd_work_unit_t w2 = work_unit("sha256d", next, 1000, 100'000, easy_target(), found2);
  ASSERT_EQ(run(w2, &hashes, &message), OTD_OK) << message;
  EXPECT_EQ(found2.wrong_work_id, 0);
  ASSERT_FALSE(found2.all.empty());
#ifdef OTEDAMA_SHA256D_PLUGIN
  th::CreateResult alg = th::create_instance(OTEDAMA_SHA256D_PLUGIN, "org.otedama.algorithm.sha256d", OTD_ALGORITHM_INTERFACE_ID, *host_);
  ASSERT_TRUE(alg.ok()) << alg.describe();
  const otd_algorithm_t& algorithm = alg.instance.table<otd_algorithm_t>();
  th::ErrorBuffer err;
  for (const otd_found_t& f : found2.all) {
    uint8_t h[80];
    std::memcpy(h, next, 80);
    put_le32(h + 76, static_cast<uint32_t>(f.nonce));
    uint8_t hash[32];
    ASSERT_EQ(algorithm.hash(alg.instance.plugin(), nullptr, h, 80, hash, 32, err.text, sizeof err.text), OTD_OK) << err.str();
    ASSERT_EQ(to_hex(hash, 32), to_hex(f.hash, 32)) << "nonce " << f.nonce << " is not of the new job's header";
  }
#endif
}

// The watchdog: a launch that never ends is timed out and a kernel fault is reported, each as an error
// naming the device; the next run resets the device and mines correctly again.
TEST_F(Cuda, AHungOrFaultingKernelIsResetAndTheDeviceMinesAgain) {
  struct Case {
    const char* fatbin;
    otd_status_t status;
    const char* says;
  };
  for (const Case& c : {Case{"hang.fatbin", OTD_ERR_TIMEOUT, "did not finish within 1000 ms"}, Case{"fault.fatbin", OTD_ERR_IO, "failed"}}) {
    SCOPED_TRACE(c.fatbin);
    const fs::path dir = fs::temp_directory_path() / ("otedama-cuda-watchdog-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(fs::path(OTEDAMA_CUDA_TEST_FATBIN_DIR) / c.fatbin, dir / "sha256d.fatbin");
    th::FakeHost host("{\"kernel_dir\":\"" + dir.string() + "\",\"launch_timeout_ms\":1000}");
    th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_TRUE(r.ok()) << r.describe();
    const otd_backend_t& b = r.instance.table<otd_backend_t>();
    th::ErrorBuffer err;
    otd_device_t* d = nullptr;
    const otd_device_limits_t l = limits(20);
    ASSERT_EQ(b.open_device(r.instance.plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_OK) << err.str();
    uint8_t header[80] = {};
    Found found;
    uint64_t hashes = 0;
    fake_control("otd_fake_cuda_misbehave", c.status == OTD_ERR_TIMEOUT ? 1 : 2);
    const otd_work_unit_t bad = work_unit("sha256d", header, kTrapBase, 4096, easy_target(), found);
    const otd_status_t st = b.run(r.instance.plugin(), d, 0, &bad, &hashes, err.text, sizeof err.text);
    EXPECT_EQ(st, c.status) << err.str();
    EXPECT_NE(err.str().find("cuda0 ("), std::string::npos) << err.str();
    EXPECT_NE(err.str().find(c.says), std::string::npos) << err.str();
    // The next run resets the device and mines.
    Found good;
    const otd_work_unit_t w = work_unit("sha256d", header, 0, 100'000, easy_target(), good);
    ASSERT_EQ(b.run(r.instance.plugin(), d, 0, &w, &hashes, err.text, sizeof err.text), OTD_OK) << err.str();
    EXPECT_EQ(hashes, 100'000u);
    EXPECT_GT(good.all.size(), 100'000u / 8);
    EXPECT_TRUE(host.logged("resetting the device after a fault", OTD_LOG_WARN));
    otd_device_telemetry_t t{};
    t.struct_size = sizeof t;
    ASSERT_EQ(b.get_telemetry(r.instance.plugin(), d, &t), OTD_OK);
    EXPECT_EQ(t.hardware_errors, 1u);
    b.close_device(r.instance.plugin(), d);
    fake_control("otd_fake_cuda_misbehave", 0);
    fs::remove_all(dir);
  }
}

// mining.gpu.temperature_limit: at the limit the device throttles (telemetry says so, a warning names the
// temperature), and 3 °C under it runs at full speed again. Needs a temperature the test can set: only
// under the fake driver's NVML.
TEST_F(Cuda, ThrottlesAtTheTemperatureLimitAndRecoversUnderIt) {
  if (fake_driver() == nullptr) GTEST_SKIP() << "a real GPU's temperature cannot be set by the test";
  open(20);
  uint8_t header[80] = {};
  std::array<uint8_t, 32> impossible{};
  const auto mine_for_a_while = [&] {
    Found found;
    uint64_t hashes = 0;
    std::string message;
    // Long enough for the once-a-second sensor reading to come round.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
    uint64_t start = 0;
    while (std::chrono::steady_clock::now() < until) {
      const otd_work_unit_t w = work_unit("sha256d", header, start, 200'000, impossible, found);
      ASSERT_EQ(run(w, &hashes, &message), OTD_OK) << message;
      start += 200'000;
    }
  };
  fake_control("otd_fake_nvml_set_temperature", 90);
  mine_for_a_while();
  otd_device_telemetry_t t{};
  t.struct_size = sizeof t;
  ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
  EXPECT_EQ(t.throttled, 1u);
  EXPECT_EQ(t.temperature_c, 90);
  EXPECT_EQ(t.power_w, 123.456);
  EXPECT_EQ(t.fan_percent, -1) << "no fan reading: unknown";
  EXPECT_TRUE(host_->logged("90 °C reaches the limit of 85 °C: throttling", OTD_LOG_WARN));
  fake_control("otd_fake_nvml_set_temperature", 83);  // inside the hysteresis: still throttled
  mine_for_a_while();
  ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
  EXPECT_EQ(t.throttled, 1u);
  fake_control("otd_fake_nvml_set_temperature", 70);
  mine_for_a_while();
  ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
  EXPECT_EQ(t.throttled, 0u);
  EXPECT_TRUE(host_->logged("70 °C, back under the limit: full speed"));
  fake_control("otd_fake_nvml_set_temperature", 60);
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

TEST_F(Cuda, HostListDevicesShowsTheCudaDevices) {
  std::string out;
  ASSERT_EQ(host_command("--list-devices --json", out), 0) << out;
  for (const otd_device_info_t& d : infos_) {
    const std::string line = std::string("{\"backend\":\"") + kPluginId + "\",\"id\":\"" + d.id + "\",\"name\":\"" + d.name + "\"";
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  }
}

// The whole host: `serve` on the built-in devnet with only GPUs enabled mines blocks on cuda0, each one
// re-verified on the CPU by the host, and the devnet accepts them.
TEST_F(Cuda, TheHostMinesDevnetBlocksOnTheCudaDevice) {
  struct Case {
    const char* algorithm;
    const char* difficulty;
  };
  // Devnet units: about 430,000 (sha256d) and 330 (scrypt) hashes a block.
  for (const Case& c : {Case{"sha256d", "0.0001"}, Case{"scrypt", "0.005"}}) {
    SCOPED_TRACE(c.algorithm);
    const fs::path dir = fs::temp_directory_path() / ("otedama-cuda-serve-" + std::to_string(::getpid()) + "-" + c.algorithm);
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "otedama.yaml") << "mining:\n  algorithm: " << c.algorithm
                                        << "\n  enable_cpu: false\n  enable_gpu: true\n  gpu:\n    devices: [0]\npool:\n  enable: false\nstorage:\n  path: "
                                        << (dir / "ledger.db").string() << "\ndevnet:\n  algorithm: " << c.algorithm << "\n  difficulty: " << c.difficulty
                                        << "\n  block_time: 0\n  refresh: 10s\n"
                                        // Only the CUDA backend: with PoCL or lavapipe also present, gpu.devices [0] (the de-duplicated list) could name them.
                                        << "plugins:\n  disable: [org.otedama.backend.opencl, org.otedama.backend.vulkan]\n";
    std::string out;
    const std::string seconds = fake_driver() != nullptr ? "20" : "8";
    ASSERT_EQ(host_command("serve --config '" + (dir / "otedama.yaml").string() + "' --run-for " + seconds, out), 0) << out;
    EXPECT_NE(out.find("by local:cuda0"), std::string::npos) << "no block found on cuda0\n" << out;
    EXPECT_NE(out.find("block 1 accepted"), std::string::npos) << out;
    EXPECT_EQ(out.find("failed CPU re-verification"), std::string::npos) << out;
    EXPECT_EQ(out.find("run failed"), std::string::npos) << out;
    fs::remove_all(dir);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // No CUDA device: say why (the plugin's own message) and exit 77, meson's SKIP.
  Cuda::SetUpTestSuite();
  if (!Cuda::create_error_.empty()) {
    std::fprintf(stderr, "the cuda plugin did not load: %s\n", Cuda::create_error_.c_str());
    return 1;
  }
  if (Cuda::infos_.empty()) {
    std::string why = "the plugin reports zero devices";
    for (const auto& rec : Cuda::host_->logs())
      if (rec.message.find("cuda: no CUDA") != std::string::npos) why = rec.message;
    std::printf("SKIP: no CUDA device: %s\n", why.c_str());
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
