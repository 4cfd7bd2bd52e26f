// Tests of plugins/backend/vulkan through its C ABI (plugin_harness.hpp), on whatever Vulkan device the
// machine has: Mesa's lavapipe (llvmpipe, a CPU device; Debian mesa-vulkan-drivers) in CI. Without any
// Vulkan device every test skips, saying so, except where CI=true and lavapipe is installed: there a
// missing device fails.
//
// Known answers (header bytes as serialised in blocks; hashes as raw bytes = the ABI's little-endian order,
// which explorers print reversed):
//  - Bitcoin genesis (height 0): bitcoin/bitcoin src/kernel/chainparams.cpp (CreateGenesisBlock(1231006505,
//    2083236893, 0x1d00ffff, 1, ...), hash 000000000019d6...e26f); header bytes as in petertodd/python-bitcoinlib
//    bitcoin/core/__init__.py (GENESIS_BLOCK).
//  - Bitcoin block 1: Bitcoin.org developer reference, getblock example (raw block, hash 00000000839a8e68...6048,
//    nonce 2573394689, bits 1d00ffff).
//  - Litecoin genesis: litecoin-project/litecoin src/chainparams.cpp (CreateGenesisBlock(1317972665, 2084524493,
//    0x1e0ffff0, ...)); scrypt hash 0000050c34a64b41... from mycroft/generate-genesis README ("Ctrl Hash").
//  - Litecoin src/test/scrypt_tests.cpp (scrypt_hashtest, tag v0.21.5.5), vectors 0 and 1.
// The same vectors the OpenCL backend's and the CPU plugins' tests use; here the shaders must find exactly
// the real nonce in a range around it at the block's own target, and report the same hash.
#include <gtest/gtest.h>

#include <sys/wait.h>

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

constexpr const char* kPlugin = OTEDAMA_VULKAN_PLUGIN;
constexpr const char* kPluginId = "org.otedama.backend.vulkan";
constexpr const char* kNoDevice = "no Vulkan device on this machine (CI installs mesa-vulkan-drivers, whose lavapipe is one)";

/// Whether this machine should have a Vulkan device: CI is set (as the Makefile reads it: non-empty, not
/// "false" or "0"; .ci/run exports CI=true) and Mesa's lavapipe driver is installed (Debian
/// mesa-vulkan-drivers puts its ICD manifest here). Then a missing device is a failure, not a skip.
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
/// Display order (explorers) to the raw little-endian bytes.
std::vector<uint8_t> raw_from_display(std::string_view hex) {
    std::vector<uint8_t> v = from_hex(hex);
    std::reverse(v.begin(), v.end());
    return v;
}
uint32_t le32(const uint8_t* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }
void put_le32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
/// A compact nBits as a 256-bit little-endian target: mantissa * 256^(exponent - 3).
std::array<uint8_t, 32> target_from_bits(uint32_t bits) {
    std::array<uint8_t, 32> t{};
    const int exponent = static_cast<int>(bits >> 24);
    for (int i = 0; i < 3; ++i) {
        const int at = exponent - 3 + i;
        if (at >= 0 && at < 32) t[static_cast<size_t>(at)] = static_cast<uint8_t>(bits >> (8 * i));
    }
    return t;
}
/// About one hash in four meets it (byte 31 is the most significant).
std::array<uint8_t, 32> easy_target() {
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

otd_work_unit_t work_unit(const char* algorithm, const uint8_t* header, uint64_t start, uint64_t count,
                          const std::array<uint8_t, 32>& target, Found& found) {
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
    return l;
}

// ---------------------------------------------------------------------------------------------------
// One plugin instance for the whole test binary: its runtimes keep each device's pipelines (lavapipe
// compiles each shader once here) and its self-test result.

class Vulkan : public ::testing::Test {
 protected:
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

    void SetUp() override {
        ASSERT_TRUE(create_error_.empty()) << create_error_;
        if (infos_.empty()) {
            if (lavapipe_expected()) FAIL() << "CI is set and lavapipe's ICD is installed, but the plugin enumerated no Vulkan device";
            GTEST_SKIP() << kNoDevice;
        }
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
        ASSERT_NE(device_, nullptr);
    }
    otd_status_t run(const otd_work_unit_t& w, uint64_t* hashes, std::string* message = nullptr, uint32_t lane = 0) {
        th::ErrorBuffer err;
        uint64_t ignored = 0;
        const otd_status_t st = backend().run(plugin(), device_, lane, &w, hashes != nullptr ? hashes : &ignored, err.text, sizeof err.text);
        if (message != nullptr) *message = err.str();
        return st;
    }

    static inline th::FakeHost* host_ = nullptr;
    static inline th::CreateResult* instance_ = nullptr;
    static inline std::string create_error_;
    static inline std::vector<otd_device_info_t> infos_;
    otd_device_t* device_ = nullptr;
};

TEST(VulkanPlugin, DescribesItself) {
    const th::PluginLibrary& library = th::open_library(kPlugin);
    const std::vector<const otd_plugin_descriptor_t*> descriptors = library.descriptors();
    ASSERT_EQ(descriptors.size(), 1u);
    EXPECT_EQ(descriptors[0]->kind, OTD_KIND_BACKEND);
    EXPECT_STREQ(descriptors[0]->id, kPluginId);
    EXPECT_STREQ(descriptors[0]->name, "vulkan");  // the host's scheduler classes it as a GPU backend by this name
    EXPECT_STREQ(descriptors[0]->interface_id, OTD_BACKEND_INTERFACE_ID);
}

TEST(VulkanPlugin, RefusesUnknownAndMalformedSettingsNamingThem) {
    th::FakeHost host(R"({"spirv_dirr":"/tmp"})");
    th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status, OTD_ERR_INVALID_ARG);
    EXPECT_NE(r.message.find("unknown setting 'spirv_dirr'"), std::string::npos) << r.message;
    host.set_config(R"({"launch_ms":0})");
    r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message.find("launch_ms must be an integer from 5 to 1000"), std::string::npos) << r.message;
    host.set_config(R"({"self_test":"yes"})");
    r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message.find("self_test must be true or false"), std::string::npos) << r.message;
}

TEST_F(Vulkan, EnumeratesScanDevicesWithMemoryHeapsOneLaneAndItsAlgorithms) {
    bool lavapipe = false;
    for (size_t i = 0; i < infos_.size(); ++i) {
        const otd_device_info_t& d = infos_[i];
        SCOPED_TRACE(d.id);
        EXPECT_EQ(d.style, OTD_DEVICE_SCAN);
        EXPECT_EQ(std::string(d.id), "vulkan" + std::to_string(i));
        // kawpow only where the build found libshaderc (its period shaders are compiled at run time).
        EXPECT_STREQ(d.algorithms, OTEDAMA_HAVE_SHADERC ? "sha256d,scrypt,ethash,etchash,kawpow" : "sha256d,scrypt,ethash,etchash");
        EXPECT_GT(d.memory_bytes, 0u);
        EXPECT_EQ(d.max_lanes, 1u);
        EXPECT_EQ(d.queue_depth, 0u);
        EXPECT_EQ(d.nonce_size_max, 8u) << "the Ethash family's 64-bit nonces";
        EXPECT_GT(std::strlen(d.name), 0u);
        EXPECT_TRUE(host_->logged(std::string("vulkan: ") + d.id + " ")) << "init logs each device";
        EXPECT_TRUE(host_->logged("memory heaps: heap 0 ")) << "init logs the memory heaps";
        if (std::string(d.name).find("llvmpipe") != std::string::npos) {
            lavapipe = true;
            EXPECT_NE(std::string(d.name).find("(cpu"), std::string::npos) << d.name;
            EXPECT_GT(d.compute_units, 0u) << "a CPU device reports its hardware threads";
        }
    }
    if (lavapipe_expected()) {
        EXPECT_TRUE(lavapipe) << "lavapipe (llvmpipe) is installed but was not enumerated";
    }
    // An older host's smaller struct gets no more bytes than it has.
    std::vector<uint8_t> small(offsetof(otd_device_info_t, name) + 8, 0xee);
    auto* info = reinterpret_cast<otd_device_info_t*>(small.data());
    info->struct_size = static_cast<uint32_t>(offsetof(otd_device_info_t, name));
    uint32_t count = 0;
    ASSERT_EQ(backend().enumerate(plugin(), info, 1, &count), OTD_OK);
    EXPECT_EQ(count, infos_.size());
    for (size_t i = offsetof(otd_device_info_t, name); i < small.size(); ++i) EXPECT_EQ(small[i], 0xee) << "byte " << i;
}

TEST_F(Vulkan, OpenRunsTheSelfTestAndRejectsAnUnknownIndexASecondOpenAndABadIntensity) {
    th::ErrorBuffer err;
    otd_device_t* d = nullptr;
    otd_device_limits_t l = limits(10);
    EXPECT_EQ(backend().open_device(plugin(), static_cast<uint32_t>(infos_.size()), &l, &d, err.text, sizeof err.text), OTD_ERR_NOT_FOUND);
    EXPECT_NE(err.str().find("no device"), std::string::npos) << err.str();
    l.intensity = 40;
    EXPECT_EQ(backend().open_device(plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("intensity 40 is out of range"), std::string::npos) << err.str();
    open(10);
    EXPECT_TRUE(host_->logged(std::string(infos_[0].id) + " (" + "")) << "open logs";
    EXPECT_TRUE(host_->logged("self-test passed (sha256d, scrypt against the CPU reference)")) << "the first open self-tests the shaders";
    l.intensity = 10;
    EXPECT_EQ(backend().open_device(plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_ERR_BUSY);
    EXPECT_NE(err.str().find("already open"), std::string::npos) << err.str();
    l.intensity = 99;
    EXPECT_EQ(backend().set_limits(plugin(), device_, &l), OTD_ERR_INVALID_ARG);
    l.intensity = 12;
    EXPECT_EQ(backend().set_limits(plugin(), device_, &l), OTD_OK);
}

TEST_F(Vulkan, BadWorkUnitsAreRefusedNamingTheDevice) {
    open(12);
    uint8_t header[80] = {};
    Found found;
    const std::string id = infos_[0].id;
    std::string message;
    uint64_t hashes = 1;

    otd_work_unit_t w = work_unit("randomx", header, 0, 100, easy_target(), found);
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_UNSUPPORTED);
    EXPECT_NE(message.find(id + " "), std::string::npos) << message;
    EXPECT_NE(message.find("no Vulkan shader for algorithm 'randomx'"), std::string::npos) << message;

    w = work_unit("ethash", header, 0, 100, easy_target(), found);  // an 80-byte header is not Ethash work
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find(id + " "), std::string::npos) << message;
    EXPECT_NE(message.find("32-byte header hash with an 8-byte nonce at offset 32"), std::string::npos) << message;

    w = work_unit("sha256d", header, 0, 100, easy_target(), found);
    w.blob_size = 76;
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("80-byte header with a 4-byte nonce at offset 76"), std::string::npos) << message;

    w = work_unit("sha256d", header, 0xffffff00u, 0x200, easy_target(), found);
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("leaves the 32-bit nonce field"), std::string::npos) << message;

    w = work_unit("sha256d", header, 0, 100, easy_target(), found);
    EXPECT_EQ(run(w, &hashes, &message, 1), OTD_ERR_INVALID_ARG);
    EXPECT_NE(message.find("lane 1 out of range"), std::string::npos) << message;

    w.on_found = nullptr;
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_INVALID_ARG);

    w = work_unit("sha256d", header, 5, 0, easy_target(), found);
    EXPECT_EQ(run(w, &hashes, &message), OTD_OK) << message;
    EXPECT_EQ(hashes, 0u);
    EXPECT_TRUE(found.all.empty());
}

// ---------------------------------------------------------------------------------------------------
// Known answers: each shader finds exactly the real nonce in a range around it, at the block's target.

struct Block {
    const char* name;
    const char* header_hex;
    const char* hash_display;
    uint32_t nonce;
};

const Block kBitcoinBlocks[] = {
    {"Bitcoin genesis",
     "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc388"
     "8a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
     "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", 2083236893u},
    {"Bitcoin block 1",
     "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c354"
     "0bf7b1cdb606e857233e0e61bc6649ffff001d01e36299",
     "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048", 2573394689u},
};
const Block kLitecoinBlocks[] = {
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

/// Runs `algorithm` over `count` nonces starting `before` below the block's nonce at `target`
/// (default: the block's own nBits); the nonces found.
std::set<uint64_t> mine_block(const otd_backend_t& backend, const otd_plugin_t* plugin, otd_device_t* device, const char* algorithm,
                              const Block& b, uint64_t before, uint64_t count, Found& found,
                              const std::array<uint8_t, 32>* target_override = nullptr) {
    std::vector<uint8_t> header = from_hex(b.header_hex);
    EXPECT_EQ(header.size(), 80u);
    EXPECT_EQ(le32(header.data() + 76), b.nonce);
    put_le32(header.data() + 76, 0);  // the shader fills the nonce in
    const std::array<uint8_t, 32> target =
        target_override != nullptr ? *target_override : target_from_bits(le32(header.data() + 72));
    const otd_work_unit_t w = work_unit(algorithm, header.data(), b.nonce - before, count, target, found);
    th::ErrorBuffer err;
    uint64_t hashes = 0;
    EXPECT_EQ(backend.run(plugin, device, 0, &w, &hashes, err.text, sizeof err.text), OTD_OK) << err.str();
    EXPECT_EQ(hashes, count);
    EXPECT_EQ(found.wrong_work_id, 0);
    return found.nonces();
}

void expect_finds_exactly(const otd_backend_t& backend, const otd_plugin_t* plugin, otd_device_t* device, const char* algorithm,
                          const Block& b, uint64_t before, uint64_t count) {
    SCOPED_TRACE(b.name);
    Found found;
    ASSERT_EQ(mine_block(backend, plugin, device, algorithm, b, before, count, found), std::set<uint64_t>{b.nonce});
    const std::vector<uint8_t> expected = raw_from_display(b.hash_display);
    EXPECT_EQ(to_hex(found.all[0].hash, 32), to_hex(expected.data(), 32)) << "the shader's hash of the real nonce";
}

TEST_F(Vulkan, Sha256dShaderFindsTheBitcoinGenesisAndBlock1Nonces) {
    open(16);
    // 200,000 nonces: several dispatches, the real one somewhere in the middle of one.
    for (const Block& b : kBitcoinBlocks) expect_finds_exactly(backend(), plugin(), device_, "sha256d", b, 123'457, 200'000);
}

TEST_F(Vulkan, ScryptShaderFindsTheLitecoinNonces) {
    open(8);  // 256 invocations per dispatch at most: 32 MiB of scratchpad
    for (const Block& b : kLitecoinBlocks) expect_finds_exactly(backend(), plugin(), device_, "scrypt", b, 37, 160);
}

// The target test is "hash <= target" on the 256-bit little-endian numbers: the real nonce's own hash as the
// target finds it, one less does not (the wrong-target case); both shaders.
TEST_F(Vulkan, TheTargetComparisonIsHashAtMostTargetToTheLastBit) {
    open(12);
    struct Case {
        const char* algorithm;
        const Block& block;
        uint64_t before, count;
    };
    for (const Case& c : {Case{"sha256d", kBitcoinBlocks[0], 3'000, 5'000}, Case{"scrypt", kLitecoinBlocks[0], 20, 64}}) {
        SCOPED_TRACE(c.algorithm);
        const std::vector<uint8_t> hash = raw_from_display(c.block.hash_display);
        std::array<uint8_t, 32> exact{};
        std::memcpy(exact.data(), hash.data(), 32);
        Found at;
        EXPECT_EQ(mine_block(backend(), plugin(), device_, c.algorithm, c.block, c.before, c.count, at, &exact),
                  std::set<uint64_t>{c.block.nonce});
        // exact - 1 (little-endian subtraction with borrow): no hash in the range is that small.
        std::array<uint8_t, 32> below = exact;
        for (size_t i = 0; i < 32; ++i) {
            if (below[i]-- != 0) break;
        }
        Found none;
        EXPECT_TRUE(mine_block(backend(), plugin(), device_, c.algorithm, c.block, c.before, c.count, none, &below).empty());
        // A target of zero finds nothing either; the hashes are still counted.
        const std::array<uint8_t, 32> zero{};
        Found nothing;
        EXPECT_TRUE(mine_block(backend(), plugin(), device_, c.algorithm, c.block, c.before, c.count, nothing, &zero).empty());
    }
}

// ---------------------------------------------------------------------------------------------------
// Mining through the ABI at an easy target: every nonce the device reports verifies with the algorithm
// plugin (the CPU re-verification the host does), and the device reports exactly the nonces the CPU
// plugin's own hash says meet the target, with the same hashes.

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
    // 20,000 nonces at 1/4: about 5,000 found, more than one dispatch's result buffer holds, so dispatches
    // overflow and are searched again in smaller ones.
    v.push_back({"sha256d", OTEDAMA_SHA256D_PLUGIN, "org.otedama.algorithm.sha256d", 20'000, 16});
#endif
#ifdef OTEDAMA_SCRYPT_PLUGIN
    v.push_back({"scrypt", OTEDAMA_SCRYPT_PLUGIN, "org.otedama.algorithm.scrypt", 300, 8});
#endif
    return v;
}

/// The nonces of [start, start + count) whose CPU hash (the algorithm plugin's) meets easy_target().
std::set<uint64_t> cpu_expected(const otd_algorithm_t& algorithm, const otd_plugin_t* plugin, const uint8_t* header, uint64_t start,
                                uint64_t count) {
    std::set<uint64_t> expected;
    th::ErrorBuffer err;
    for (uint64_t n = start; n < start + count; ++n) {
        uint8_t h[80];
        std::memcpy(h, header, 80);
        put_le32(h + 76, static_cast<uint32_t>(n));
        uint8_t hash[32];
        EXPECT_EQ(algorithm.hash(plugin, nullptr, h, 80, hash, 32, err.text, sizeof err.text), OTD_OK) << err.str();
        if (hash[31] <= 0x3f) expected.insert(n);
    }
    return expected;
}

/// Every found nonce verifies with the algorithm plugin at `target`, with the hash the device reported.
void expect_all_verify(const otd_algorithm_t& algorithm, const otd_plugin_t* plugin, const uint8_t* header,
                       const std::array<uint8_t, 32>& target, const std::vector<otd_found_t>& found) {
    th::ErrorBuffer err;
    for (const otd_found_t& f : found) {
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
        ASSERT_EQ(algorithm.verify(plugin, nullptr, &req, &res, err.text, sizeof err.text), OTD_OK) << err.str();
        EXPECT_EQ(res.meets_share, 1u) << "nonce " << f.nonce;
        EXPECT_EQ(to_hex(res.hash, 32), to_hex(f.hash, 32)) << "the shader's hash differs from verify's for nonce " << f.nonce;
    }
}

TEST_F(Vulkan, MinesAnEasyTargetAndTheAlgorithmPluginVerifiesEveryNonce) {
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

        const std::set<uint64_t> expected = cpu_expected(algorithm, alg.instance.plugin(), header, start, a.nonces);
        ASSERT_GT(expected.size(), a.nonces / 8);
        EXPECT_EQ(found.nonces(), expected);
        EXPECT_EQ(found.all.size(), expected.size()) << "a nonce was reported twice";
        expect_all_verify(algorithm, alg.instance.plugin(), header, target, found.all);

        otd_device_telemetry_t t{};
        t.struct_size = sizeof t;
        ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
        EXPECT_GE(t.hashes_total, a.nonces);
        EXPECT_GT(t.hashrate, 0.0);
        EXPECT_EQ(t.hardware_errors, 0u);
        EXPECT_EQ(t.temperature_c, -1);
        backend().close_device(plugin(), device_);
        device_ = nullptr;
    }
}

// A job switch: a run abandoned as stale mid-range (dispatches of it still queued), then a run of another
// header and algorithm on the same open device, then back: each run reports exactly its own header's nonces,
// nothing of the job before.
TEST_F(Vulkan, AJobSwitchReportsOnlyTheNewJobsNonces) {
    const std::vector<AlgoPlugin> algos = algorithm_plugins();
    if (algos.size() < 2) GTEST_SKIP() << "needs both the sha256d and the scrypt plugin";
    th::CreateResult sha = th::create_instance(algos[0].path, algos[0].id, OTD_ALGORITHM_INTERFACE_ID, *host_);
    th::CreateResult scr = th::create_instance(algos[1].path, algos[1].id, OTD_ALGORITHM_INTERFACE_ID, *host_);
    ASSERT_TRUE(sha.ok() && scr.ok());
    open(12);
    uint8_t job_a[80], job_b[80], job_c[80];
    for (int i = 0; i < 80; ++i) {
        job_a[i] = static_cast<uint8_t>(i * 7 + 1);
        job_b[i] = static_cast<uint8_t>(i * 11 + 3);
        job_c[i] = static_cast<uint8_t>(i * 5 + 9);
    }
    const std::array<uint8_t, 32> target = easy_target();

    // Job A: the host answers the first found nonce with "stale".
    Found a;
    a.answer_aborted = true;
    otd_work_unit_t w = work_unit("sha256d", job_a, 0, 1'000'000, target, a);
    uint64_t hashes = 0;
    std::string message;
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_ABORTED) << message;
    EXPECT_EQ(a.all.size(), 1u) << "the run stops reporting at the stale answer";
    EXPECT_LT(hashes, 1'000'000u);

    // Job B (scrypt) right after, then job C (sha256d, the algorithm of A) with a new work id.
    Found b;
    b.work_id = 78;
    w = work_unit("scrypt", job_b, 1000, 200, target, b);
    ASSERT_EQ(run(w, &hashes, &message), OTD_OK) << message;
    EXPECT_EQ(b.wrong_work_id, 0);
    EXPECT_EQ(b.nonces(), cpu_expected(scr.instance.table<otd_algorithm_t>(), scr.instance.plugin(), job_b, 1000, 200));
    expect_all_verify(scr.instance.table<otd_algorithm_t>(), scr.instance.plugin(), job_b, target, b.all);

    Found c;
    c.work_id = 79;
    w = work_unit("sha256d", job_c, 0, 4000, target, c);
    ASSERT_EQ(run(w, &hashes, &message), OTD_OK) << message;
    EXPECT_EQ(c.wrong_work_id, 0);
    EXPECT_EQ(c.nonces(), cpu_expected(sha.instance.table<otd_algorithm_t>(), sha.instance.plugin(), job_c, 0, 4000));
    expect_all_verify(sha.instance.table<otd_algorithm_t>(), sha.instance.plugin(), job_c, target, c.all);
}

TEST_F(Vulkan, TheAbortFlagStopsARunBetweenDispatches) {
    open(20);
    uint8_t header[80] = {};
    // A target nothing meets: the run would take the whole 32-bit range unless aborted.
    const std::array<uint8_t, 32> impossible{};
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
    // Let it run some dispatches (generous guard), then abort.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    while (std::chrono::steady_clock::now() < deadline && !returned) {
        otd_device_telemetry_t t{};
        t.struct_size = sizeof t;
        ASSERT_EQ(backend().get_telemetry(plugin(), device_, &t), OTD_OK);
        if (t.hashes_total > 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const auto aborted_at = std::chrono::steady_clock::now();
    abort_flag = 1;
    worker.join();
    const auto reaction_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - aborted_at).count();
    RecordProperty("abort_reaction_ms", std::to_string(reaction_ms));
    std::printf("abort seen after %lld ms\n", static_cast<long long>(reaction_ms));
    EXPECT_EQ(status, OTD_ERR_ABORTED) << message;
    EXPECT_GT(hashes, 0u);
    EXPECT_LT(hashes, 0x100000000ULL);
    EXPECT_TRUE(found.all.empty());

    // A set flag before the run: nothing is hashed.
    EXPECT_EQ(run(w, &hashes, &message), OTD_ERR_ABORTED);
    EXPECT_EQ(hashes, 0u);
}

// ---------------------------------------------------------------------------------------------------
// spirv_dir: the installed .spv files work like the embedded ones; a file that is not SPIR-V is a clear
// error naming the device (no driver crash), remembered; a missing file is named.

TEST_F(Vulkan, SpirvDirLoadsShaderFilesAndRefusesOnesThatAreNotSpirv) {
    {
        th::FakeHost host(std::string("{\"spirv_dir\":\"") + OTEDAMA_VULKAN_SPIRV_DIR + "\",\"self_test\":false}");
        th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
        ASSERT_TRUE(r.ok()) << r.describe();
        const otd_backend_t& b = r.instance.table<otd_backend_t>();
        th::ErrorBuffer err;
        otd_device_t* d = nullptr;
        const otd_device_limits_t l = limits(16);
        ASSERT_EQ(b.open_device(r.instance.plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_OK) << err.str();
        expect_finds_exactly(b, r.instance.plugin(), d, "sha256d", kBitcoinBlocks[1], 1'000, 3'000);
        b.close_device(r.instance.plugin(), d);
    }
    const fs::path dir = fs::temp_directory_path() / ("otedama-vulkan-spirv-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "sha256d.spv") << "#version 450\nvoid main() {}\n";  // GLSL, not SPIR-V

    th::FakeHost host("{\"spirv_dir\":\"" + dir.string() + "\",\"self_test\":false}");
    th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_TRUE(r.ok()) << r.describe();
    const otd_backend_t& b = r.instance.table<otd_backend_t>();
    th::ErrorBuffer err;
    otd_device_t* d = nullptr;
    const otd_device_limits_t l = limits(10);
    ASSERT_EQ(b.open_device(r.instance.plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_OK) << err.str();
    uint8_t header[80] = {};
    Found found;
    const otd_work_unit_t w = work_unit("sha256d", header, 0, 1000, easy_target(), found);
    uint64_t hashes = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {  // the failure is remembered, not rebuilt
        SCOPED_TRACE(attempt);
        const otd_status_t st = b.run(r.instance.plugin(), d, 0, &w, &hashes, err.text, sizeof err.text);
        EXPECT_EQ(st, OTD_ERR_STATE);
        EXPECT_NE(err.str().find(std::string(infos_[0].id) + " ("), std::string::npos) << err.str();
        EXPECT_NE(err.str().find("building the sha256d pipeline failed: not SPIR-V"), std::string::npos) << err.str();
        EXPECT_EQ(hashes, 0u);
    }
    EXPECT_TRUE(host.logged("not SPIR-V", OTD_LOG_ERROR));
    b.close_device(r.instance.plugin(), d);
    // A folder without the file: the path is named.
    fs::remove(dir / "sha256d.spv");
    ASSERT_EQ(b.open_device(r.instance.plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_OK) << err.str();
    EXPECT_EQ(b.run(r.instance.plugin(), d, 0, &w, &hashes, err.text, sizeof err.text), OTD_ERR_NOT_FOUND);
    EXPECT_NE(err.str().find((dir / "sha256d.spv").string()), std::string::npos) << err.str();
    b.close_device(r.instance.plugin(), d);
    fs::remove_all(dir);
}

// A shader that hashes wrongly (a single SHA-256 where sha256d is double) fails the self-test at open with
// OTD_ERR_SELF_TEST naming the device, the nonce and both hashes; the failure is remembered for the next open.

TEST_F(Vulkan, TheSelfTestRefusesToOpenADeviceWhoseShaderHashesWrongly) {
    th::FakeHost host(std::string("{\"spirv_dir\":\"") + OTEDAMA_VULKAN_WRONG_SPIRV_DIR + "\"}");
    th::CreateResult r = th::create_instance(kPlugin, kPluginId, OTD_BACKEND_INTERFACE_ID, host);
    ASSERT_TRUE(r.ok()) << r.describe();
    const otd_backend_t& b = r.instance.table<otd_backend_t>();
    const otd_device_limits_t l = limits(10);
    for (int attempt = 0; attempt < 2; ++attempt) {
        SCOPED_TRACE(attempt);
        th::ErrorBuffer err;
        otd_device_t* d = nullptr;
        EXPECT_EQ(b.open_device(r.instance.plugin(), 0, &l, &d, err.text, sizeof err.text), OTD_ERR_SELF_TEST);
        EXPECT_EQ(d, nullptr);
        EXPECT_NE(err.str().find(std::string(infos_[0].id) + " ("), std::string::npos) << err.str();
        EXPECT_NE(err.str().find("self-test failed: sha256d (Bitcoin genesis) nonce "), std::string::npos) << err.str();
        EXPECT_NE(err.str().find("the CPU reference "), std::string::npos) << err.str();
    }
    EXPECT_TRUE(host.logged("self-test failed", OTD_LOG_ERROR));
}

// ---------------------------------------------------------------------------------------------------
// The host's --list-devices shows every device the plugin enumerates (lavapipe in CI).

/// Runs otedama-host with `args` (stdout and stderr); the exit code, or -1 when it did not exit.
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

TEST_F(Vulkan, HostListDevicesShowsTheVulkanDevices) {
    std::string out;
    ASSERT_EQ(host_command("--list-devices --json", out), 0) << out;
    for (const otd_device_info_t& d : infos_) {
        const std::string line = std::string("{\"backend\":\"") + kPluginId + "\",\"id\":\"" + d.id + "\",\"name\":\"" + d.name + "\"";
        EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
    }
    if (lavapipe_expected()) {
        EXPECT_NE(out.find("llvmpipe"), std::string::npos) << out;
    }
    out.clear();
    ASSERT_EQ(host_command("--list-devices", out), 0) << out;
    EXPECT_NE(out.find(infos_[0].id), std::string::npos) << out;
}

// ---------------------------------------------------------------------------------------------------
// The whole host: `serve` on the built-in devnet with only GPUs enabled (the OpenCL backend, a GPU backend
// too, disabled) mines blocks on the Vulkan device, every one re-verified on the CPU by the host (a nonce
// failing that is logged as "failed CPU re-verification"), and the devnet accepts them.

TEST_F(Vulkan, TheHostMinesDevnetBlocksOnTheVulkanDevice) {
    struct Case {
        const char* algorithm;
        const char* difficulty;  // devnet units: about 43,000 (sha256d) and 330 (scrypt) hashes per block
        int intensity;
    };
    for (const Case& c : {Case{"sha256d", "0.00001", 16}, Case{"scrypt", "0.005", 10}}) {
        SCOPED_TRACE(c.algorithm);
        const fs::path dir = fs::temp_directory_path() / ("otedama-vulkan-serve-" + std::to_string(::getpid()) + "-" + c.algorithm);
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::ofstream(dir / "otedama.yaml") << "mining:\n  algorithm: " << c.algorithm
                                            << "\n  enable_cpu: false\n  enable_gpu: true\n  gpu:\n    devices: [0]\n    intensity: "
                                            << c.intensity << "\npool:\n  enable: false\nplugins:\n  disable: [org.otedama.backend.opencl, org.otedama.backend.cuda]"
                                            << "\nstorage:\n  path: "
                                            << (dir / "ledger.db").string()
                                            << "\ndevnet:\n  algorithm: " << c.algorithm << "\n  difficulty: " << c.difficulty
                                            << "\n  block_time: 0\n  refresh: 1s\n";
        std::string out;
        ASSERT_EQ(host_command("serve --config '" + (dir / "otedama.yaml").string() + "' --run-for 8", out), 0) << out;
        const std::string id = infos_[0].id;
        EXPECT_NE(out.find("device " + id + " ("), std::string::npos) << out;
        EXPECT_NE(out.find("by local:" + id), std::string::npos) << "no block found on " << id << "\n" << out;
        EXPECT_NE(out.find("block 1 accepted"), std::string::npos) << out;
        EXPECT_EQ(out.find("failed CPU re-verification"), std::string::npos) << out;
        EXPECT_EQ(out.find("run failed"), std::string::npos) << out;
        fs::remove_all(dir);
    }
}

// The Ethash family end to end, as the OpenCL test does it: `serve` on the devnet with test_epochs
// (OTD_TEMPLATE_TEST_EPOCH: 1031 light-cache items, 4108 DAG items, so lavapipe generates the DAG in moments)
// and only the Vulkan backend enabled. The template names the geometry, the device builds its DAG from that
// geometry's light cache ("with the TEST geometry"), and every block it finds is re-verified by the host on
// the CPU and accepted by the devnet.
TEST_F(Vulkan, TheHostMinesEthashFamilyDevnetBlocksWithTestEpochs) {
    struct Case {
        const char* algorithm;
        const char* difficulty;  // ethash: expected hashes; kawpow: Bitcoin's unit, 3e-7 x 2^32 = about 1300 hashes
        int seconds;             // kawpow compiles a period shader per 3 blocks at run time
    };
    std::vector<Case> cases{Case{"ethash", "20000", 15}};
    if (std::string(infos_[0].algorithms).find("kawpow") != std::string::npos) cases.push_back(Case{"kawpow", "0.0000003", 60});
    for (const Case& c : cases) {
        SCOPED_TRACE(c.algorithm);
        const fs::path dir = fs::temp_directory_path() / ("otedama-vulkan-serve-test-epochs-" + std::to_string(::getpid()) + "-" + c.algorithm);
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::ofstream(dir / "otedama.yaml") << "mining:\n  algorithm: " << c.algorithm
                                            << "\n  enable_cpu: false\n  enable_gpu: true\n  gpu:\n    devices: [0]\n    intensity: 10"
                                            << "\npool:\n  enable: false\nplugins:\n  disable: [org.otedama.backend.opencl, org.otedama.backend.cuda]"
                                            << "\nstorage:\n  path: " << (dir / "ledger.db").string() << "\ndevnet:\n  algorithm: " << c.algorithm
                                            << "\n  difficulty: " << c.difficulty << "\n  block_time: 0\n  refresh: 5s\n  test_epochs: true\n";
        std::string out;
        ASSERT_EQ(host_command("serve --config '" + (dir / "otedama.yaml").string() + "' --run-for " + std::to_string(c.seconds), out), 0) << out;
        const std::string id = infos_[0].id;
        EXPECT_NE(out.find("with the TEST geometry (1031 cache items, 262912 dataset bytes)"), std::string::npos) << out;
        EXPECT_NE(out.find("by local:" + id), std::string::npos) << "no block found on " << id << "\n" << out;
        EXPECT_NE(out.find("block 1 accepted"), std::string::npos) << out;
        EXPECT_EQ(out.find("failed CPU re-verification"), std::string::npos) << out;
        EXPECT_EQ(out.find("run failed"), std::string::npos) << out;
        fs::remove_all(dir);
    }
}

}  // namespace
