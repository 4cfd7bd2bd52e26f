// Tests for plugins/algorithm/scrypt, through the C ABI as the host calls it (see plugin_harness.hpp).
//
// Vectors (headers as serialised in blocks; hashes as raw scrypt output = the ABI's little-endian bytes,
// which explorers print reversed), collected in the project's pow-vectors.json "scrypt" entry:
//  - Litecoin mainnet genesis: litecoin-project/litecoin src/chainparams.cpp (CreateGenesisBlock(1317972665,
//    2084524493, 0x1e0ffff0, 1, 50 * COIN), merkle root 97ddfbba...); scrypt hash 0000050c34a64b41...
//    (display) from mycroft/generate-genesis README.md ("Ctrl Hash"). Its coinbase transaction (for
//    build_blob) was assembled locally from CreateGenesisBlock's scriptSig text ("NY Times 05/Oct/2011 Steve
//    Jobs, Apple's Visionary, Dies at 56") and output key, and reproduces the merkle root above.
//  - Litecoin src/test/scrypt_tests.cpp (scrypt_hashtest, tag v0.21.5.5), vectors 0 and 1.
//  - scrypt("abc", "abc", 1024, 1, 1, 32): computed locally with Python hashlib.scrypt (OpenSSL).
//  - Difficulty: scrypt pools' difficulty 1 is 0x0000ffff00..00 (pooler/cpuminer stratum_gen_work divides the
//    stratum difficulty by 65536 for ALGO_SCRYPT); the genesis nBits 0x1e0ffff0 target is then difficulty 16.
#include "plugin_harness.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#ifndef OTEDAMA_SCRYPT_PLUGIN
#error "OTEDAMA_SCRYPT_PLUGIN must name the built algorithm-scrypt module"
#endif

namespace {

namespace th = otedama::testing;
namespace common = otedama::common;

constexpr const char* kPluginId = "org.otedama.algorithm.scrypt";
constexpr const char* kKernels[] = {"scalar", "avx2", "avx512"};

std::vector<uint8_t> hex(std::string_view h) {
    std::string error;
    auto v = common::from_hex(h, &error);
    if (!v) throw std::runtime_error("bad test vector: " + error);
    return *v;
}
std::string display_of(const uint8_t* le) {
    common::Uint256 v;
    std::memcpy(v.data(), le, 32);
    return common::to_display_hex(v);
}
uint32_t le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
common::Uint256 le_from_display(std::string_view h) { return common::from_display_hex(h).value(); }

struct HeaderVector {
    const char* name;
    const char* header;
    const char* hash_display;
    uint32_t nonce;
};
const HeaderVector kHeaders[] = {
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

// The Litecoin genesis coinbase, split around the last two bytes of its scriptSig ("56") as the extranonce.
constexpr const char* kGenesisCoinbase1 =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4804ffff001d0104404e592054696d"
    "65732030352f4f63742f32303131205374657665204a6f62732c204170706c65e280997320566973696f6e6172792c20446965732061742"
    "0";
constexpr const char* kGenesisExtranonce = "3536";
constexpr const char* kGenesisCoinbase2 =
    "ffffffff0100f2052a010000004341040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b10f4d4604fa08dce60"
    "1aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9ac00000000";

/// Sets OTEDAMA_SCRYPT_IMPL for the life of the object (instances read it in init()).
class ForcedKernel {
public:
    explicit ForcedKernel(const char* name) {
        if (name != nullptr) ::setenv("OTEDAMA_SCRYPT_IMPL", name, 1);
    }
    ~ForcedKernel() { ::unsetenv("OTEDAMA_SCRYPT_IMPL"); }
    ForcedKernel(const ForcedKernel&) = delete;
    ForcedKernel& operator=(const ForcedKernel&) = delete;
};

bool cpu_has(const std::string& kernel) {
    if (kernel == "scalar") return true;
    __builtin_cpu_init();
    if (kernel == "avx2") return __builtin_cpu_supports("avx2");
    if (kernel == "avx512") return __builtin_cpu_supports("avx512f");
    return false;
}

// ---------------------------------------------------------------------------------------------------------

class ScryptPlugin : public ::testing::Test {
protected:
    void SetUp() override { open(nullptr); }

    void open(const char* forced_kernel) {
        instance_.reset();
        host_.clear_logs();
        ForcedKernel env(forced_kernel);
        th::CreateResult r = th::create_instance(OTEDAMA_SCRYPT_PLUGIN, kPluginId, OTD_ALGORITHM_INTERFACE_ID, host_);
        ASSERT_TRUE(r.ok()) << r.describe();
        instance_ = std::move(r.instance);
        algo_ = &instance_.table<otd_algorithm_t>();
    }

    const otd_plugin_t* plugin() const { return instance_.plugin(); }

    std::string implementation() const {
        otd_algorithm_info_t info{};
        info.struct_size = sizeof info;
        EXPECT_EQ(algo_->get_info(plugin(), &info), OTD_OK);
        return info.implementation;
    }

    otd_status_t verify(std::span<const uint8_t> blob, const common::Uint256& share, const common::Uint256& block,
                        otd_verify_result_t& result, th::ErrorBuffer& err) const {
        otd_verify_request_t req{};
        req.struct_size = sizeof req;
        req.blob = blob.data();
        req.blob_size = static_cast<uint32_t>(blob.size());
        std::memcpy(req.share_target, share.data(), 32);
        std::memcpy(req.block_target, block.data(), 32);
        result = {};
        result.struct_size = sizeof result;
        return algo_->verify(plugin(), nullptr, &req, &result, err.text, sizeof err.text);
    }

    th::FakeHost host_;
    th::PluginInstance instance_;
    const otd_algorithm_t* algo_ = nullptr;
};

TEST_F(ScryptPlugin, DescriptorAndTable) {
    const th::PluginLibrary& lib = th::open_library(OTEDAMA_SCRYPT_PLUGIN);
    const auto descriptors = lib.descriptors();
    ASSERT_EQ(descriptors.size(), 1u);
    const otd_plugin_descriptor_t* d = descriptors[0];
    EXPECT_EQ(d->kind, OTD_KIND_ALGORITHM);
    EXPECT_STREQ(d->id, kPluginId);
    EXPECT_STREQ(d->name, "scrypt");
    EXPECT_STREQ(d->interface_id, OTD_ALGORITHM_INTERFACE_ID);
    EXPECT_EQ(plugin()->desc, d);

    EXPECT_EQ(algo_->struct_size, sizeof(otd_algorithm_t));
    EXPECT_STREQ(algo_->name, "scrypt");
    EXPECT_STREQ(algo_->coin_family, "litecoin");
    EXPECT_EQ(algo_->flags, 0u);
    EXPECT_NE(algo_->hash, nullptr);
    EXPECT_NE(algo_->verify, nullptr);
    EXPECT_NE(algo_->build_blob, nullptr);
    EXPECT_EQ(algo_->prepare_context, nullptr) << "no context needed";
    EXPECT_NE(algo_->create_scan_state, nullptr);
    EXPECT_NE(algo_->destroy_scan_state, nullptr);
    EXPECT_NE(algo_->scan, nullptr);
    EXPECT_NE(plugin()->self_test, nullptr);
}

TEST_F(ScryptPlugin, ChoosesAKernelAndLogsItOnce) {
    const std::string impl = implementation();
    EXPECT_NE(impl.find("pbkdf2"), std::string::npos) << impl;
    size_t info_lines = 0;
    for (const auto& r : host_.logs()) {
        if (r.level == OTD_LOG_INFO && r.message.find("scrypt: using") != std::string::npos) ++info_lines;
    }
    EXPECT_EQ(info_lines, 1u);
    EXPECT_TRUE(host_.logged(impl, OTD_LOG_INFO));
    // Without a forced kernel, the widest one this CPU has.
    if (cpu_has("avx512")) {
        EXPECT_EQ(impl.rfind("avx512 16-way", 0), 0u) << impl;
    } else if (cpu_has("avx2")) {
        EXPECT_EQ(impl.rfind("avx2 8-way", 0), 0u) << impl;
    }
}

TEST_F(ScryptPlugin, ForcedKernelIsUsedOrRefusedWithAnError) {
    for (const char* k : kKernels) {
        SCOPED_TRACE(k);
        open(k);
        if (cpu_has(k)) {
            EXPECT_EQ(implementation().rfind(k, 0), 0u) << implementation();
            EXPECT_TRUE(host_.logged("forced by OTEDAMA_SCRYPT_IMPL", OTD_LOG_INFO));
        } else {
            EXPECT_EQ(implementation().rfind("scalar", 0), 0u) << implementation();
            EXPECT_TRUE(host_.logged("lacks", OTD_LOG_ERROR));
        }
    }
    open("avx9000");
    EXPECT_EQ(implementation().rfind("scalar", 0), 0u) << implementation();
    EXPECT_TRUE(host_.logged("OTEDAMA_SCRYPT_IMPL=avx9000 is not a kernel", OTD_LOG_ERROR));
}

TEST_F(ScryptPlugin, SelfTestPassesQuickly) {
    th::ErrorBuffer err;
    ASSERT_EQ(plugin()->self_test(plugin(), err.text, sizeof err.text), OTD_OK) << err.str();
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 5; ++i) {
        const auto start = std::chrono::steady_clock::now();
        ASSERT_EQ(plugin()->self_test(plugin(), err.text, sizeof err.text), OTD_OK) << err.str();
        best = std::min(best, std::chrono::steady_clock::now() - start);
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(best).count();
    RecordProperty("self_test_us", static_cast<int>(us));
    std::cout << "self_test: " << us << " us (" << implementation() << ")\n";
    EXPECT_LT(us, 25'000) << "budget ~10 ms, with slack for sanitizer builds and loaded machines";
}

TEST_F(ScryptPlugin, HashesLitecoinHeaders) {
    for (const auto& v : kHeaders) {
        const auto header = hex(v.header);
        ASSERT_EQ(le32(&header[76]), v.nonce);
        uint8_t out[32];
        th::ErrorBuffer err;
        ASSERT_EQ(algo_->hash(plugin(), nullptr, header.data(), header.size(), out, sizeof out, err.text, sizeof err.text),
                  OTD_OK)
            << err.str();
        EXPECT_EQ(display_of(out), v.hash_display) << v.name;
    }
}

TEST_F(ScryptPlugin, HashesArbitraryInput) {
    const std::string abc = "abc";
    uint8_t out[32];
    ASSERT_EQ(algo_->hash(plugin(), nullptr, reinterpret_cast<const uint8_t*>(abc.data()), abc.size(), out, 32, nullptr, 0),
              OTD_OK);
    EXPECT_EQ(common::to_hex(std::span<const uint8_t>(out, 32)),
              "e652c1c3b7a8cd99d2edc49d4509f545c80e4395765e7225c4dde5d80dd76519");
    uint8_t small[31];
    th::ErrorBuffer err;
    EXPECT_EQ(algo_->hash(plugin(), nullptr, out, 1, small, sizeof small, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
}

TEST_F(ScryptPlugin, VerifyAtTheTargetBoundary) {
    for (const auto& v : kHeaders) {
        SCOPED_TRACE(v.name);
        const auto header = hex(v.header);
        const common::Uint256 hash = le_from_display(v.hash_display);
        common::Uint256 below = hash, above = hash;
        for (size_t i = 0; i < 32 && below[i]-- == 0; ++i) {
        }
        for (size_t i = 0; i < 32 && ++above[i] == 0; ++i) {
        }
        otd_verify_result_t r;
        th::ErrorBuffer err;
        ASSERT_EQ(verify(header, hash, hash, r, err), OTD_OK) << err.str();
        EXPECT_EQ(r.meets_share, 1u) << "hash == target meets it";
        EXPECT_EQ(r.meets_block, 1u);
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(display_of(r.hash), v.hash_display);
        ASSERT_EQ(verify(header, above, below, r, err), OTD_OK);
        EXPECT_EQ(r.meets_share, 1u);
        EXPECT_EQ(r.meets_block, 0u);
        ASSERT_EQ(verify(header, below, above, r, err), OTD_OK);
        EXPECT_EQ(r.meets_share, 0u);
        EXPECT_EQ(r.meets_block, 1u);
        // Every real block meets the target of its own nBits; difficulty in pool units (bdiff * 65536).
        const auto network = common::target_from_nbits(le32(&header[72]));
        ASSERT_TRUE(network);
        ASSERT_EQ(verify(header, *network, *network, r, err), OTD_OK);
        EXPECT_EQ(r.meets_block, 1u);
        EXPECT_DOUBLE_EQ(r.share_difficulty, common::bitcoin_difficulty_from_target(hash) * 65536.0);
    }
}

TEST_F(ScryptPlugin, VerifyRefusesWrongSizes) {
    const auto header = hex(kHeaders[0].header);
    otd_verify_result_t r;
    for (const size_t size : {size_t{0}, size_t{79}, size_t{81}}) {
        std::vector<uint8_t> blob(header);
        blob.resize(size);
        th::ErrorBuffer err;
        EXPECT_EQ(verify(blob, {}, {}, r, err), OTD_ERR_INVALID_ARG) << size;
        EXPECT_NE(err.str().find("80-byte"), std::string::npos) << err.str();
        EXPECT_NE(err.str().find(std::to_string(size)), std::string::npos) << err.str();
    }
}

TEST_F(ScryptPlugin, DifficultyTargetConversions) {
    uint8_t target[32];
    ASSERT_EQ(algo_->target_from_difficulty(plugin(), 1.0, target), OTD_OK);
    EXPECT_EQ(display_of(target), "0000ffff00000000000000000000000000000000000000000000000000000000");
    double d = 0;
    ASSERT_EQ(algo_->difficulty_from_target(plugin(), target, &d), OTD_OK);
    EXPECT_EQ(d, 1.0);
    // Bitcoin's difficulty-1 target is scrypt pool difficulty 65536.
    ASSERT_EQ(algo_->target_from_difficulty(plugin(), 65536.0, target), OTD_OK);
    EXPECT_EQ(display_of(target), "00000000ffff0000000000000000000000000000000000000000000000000000");
    // Litecoin genesis nBits 0x1e0ffff0: 0x00000ffff0 << 208 = difficulty 16 in pool units.
    const auto genesis = common::target_from_nbits(0x1e0ffff0u);
    ASSERT_TRUE(genesis);
    ASSERT_EQ(algo_->difficulty_from_target(plugin(), genesis->data(), &d), OTD_OK);
    EXPECT_DOUBLE_EQ(d, 16.0);
    // Below 2^-16 (Bitcoin's difficulty 1/65536...) the target would exceed 2^256 - 1: it saturates.
    ASSERT_EQ(algo_->target_from_difficulty(plugin(), 1e-9, target), OTD_OK);
    EXPECT_EQ(std::memcmp(target, common::kUint256Max.data(), 32), 0);
    for (double want = 1e-4; want <= 1e15; want *= 3.3) {
        ASSERT_EQ(algo_->target_from_difficulty(plugin(), want, target), OTD_OK) << want;
        ASSERT_EQ(algo_->difficulty_from_target(plugin(), target, &d), OTD_OK);
        EXPECT_NEAR(d / want, 1.0, 1e-15) << want;
    }
    for (const double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        EXPECT_EQ(algo_->target_from_difficulty(plugin(), bad, target), OTD_ERR_INVALID_ARG) << bad;
    }
    const uint8_t zero[32] = {};
    EXPECT_EQ(algo_->difficulty_from_target(plugin(), zero, &d), OTD_ERR_INVALID_ARG);
}

struct Template {
    otd_template_t t{};
    std::vector<uint8_t> coinbase1, coinbase2;
};
Template genesis_template() {
    Template tp;
    const auto header = hex(kHeaders[0].header);
    tp.coinbase1 = hex(kGenesisCoinbase1);
    tp.coinbase2 = hex(kGenesisCoinbase2);
    tp.t.struct_size = sizeof tp.t;
    tp.t.coin = "LTC";
    tp.t.algorithm = "scrypt";
    tp.t.version = le32(&header[0]);
    std::memcpy(tp.t.prev_hash, &header[4], 32);
    tp.t.ntime = le32(&header[68]);
    tp.t.nbits = le32(&header[72]);
    tp.t.extranonce_size = 2;
    tp.t.coinbase1 = tp.coinbase1.data();
    tp.t.coinbase1_size = static_cast<uint32_t>(tp.coinbase1.size());
    tp.t.coinbase2 = tp.coinbase2.data();
    tp.t.coinbase2_size = static_cast<uint32_t>(tp.coinbase2.size());
    return tp;
}

TEST_F(ScryptPlugin, BuildBlobReproducesTheGenesisHeader) {
    Template tp = genesis_template();
    const auto extranonce = hex(kGenesisExtranonce);
    const auto header = hex(kHeaders[0].header);
    uint8_t blob[80];
    uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
    th::ErrorBuffer err;
    ASSERT_EQ(algo_->build_blob(plugin(), &tp.t, extranonce.data(), 2, 0, 0, blob, sizeof blob, &size, &nonce_offset,
                                &nonce_size, err.text, sizeof err.text),
              OTD_OK)
        << err.str();
    ASSERT_EQ(size, 80u);
    EXPECT_EQ(nonce_offset, 76u);
    EXPECT_EQ(nonce_size, 4u);
    EXPECT_EQ(common::to_hex(std::span<const uint8_t>(blob, 76)), common::to_hex(std::span<const uint8_t>(header.data(), 76)));
    EXPECT_EQ(le32(blob + 76), 0u);
    std::memcpy(blob + 76, header.data() + 76, 4);
    uint8_t out[32];
    ASSERT_EQ(algo_->hash(plugin(), nullptr, blob, 80, out, 32, nullptr, 0), OTD_OK);
    EXPECT_EQ(display_of(out), kHeaders[0].hash_display);

    // Overrides and refusals come from the shared lib function; one of each to see them wired up.
    ASSERT_EQ(algo_->build_blob(plugin(), &tp.t, extranonce.data(), 2, 0x5a5a5a5au, 0x20000000u, blob, 80, &size,
                                &nonce_offset, &nonce_size, nullptr, 0),
              OTD_OK);
    EXPECT_EQ(le32(blob), 0x20000000u);
    EXPECT_EQ(le32(blob + 68), 0x5a5a5a5au);
    EXPECT_EQ(algo_->build_blob(plugin(), &tp.t, extranonce.data(), 1, 0, 0, blob, 80, &size, &nonce_offset, &nonce_size,
                                err.text, sizeof err.text),
              OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("build_blob: extranonce is 1 bytes, the template expects 2"), std::string::npos) << err.str();
    EXPECT_EQ(algo_->build_blob(plugin(), &tp.t, extranonce.data(), 2, 0, 0, blob, 79, &size, &nonce_offset, &nonce_size,
                                err.text, sizeof err.text),
              OTD_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(size, 80u);
}

// ---------------------------------------------------------------------------------------------------------
// Scan

struct Collected {
    std::vector<otd_found_t> found;
    otd_status_t answer = OTD_OK;
    volatile uint32_t* raise_abort = nullptr;
};
otd_status_t OTD_CALL collect(void* user, const otd_found_t* f) {
    auto& c = *static_cast<Collected*>(user);
    c.found.push_back(*f);
    if (c.raise_abort != nullptr) *c.raise_abort = 1;
    return c.answer;
}

/// A scan with the genesis header (nonce zeroed) on an instance forced to one kernel.
class ScryptScan : public ScryptPlugin {
protected:
    void SetUp() override {
        ScryptPlugin::SetUp();
        blob_ = hex(kHeaders[0].header);
        std::memset(blob_.data() + 76, 0, 4);
    }
    void TearDown() override { drop_state(); }

    void use_kernel(const char* kernel) {
        drop_state();
        open(kernel);
        th::ErrorBuffer err;
        ASSERT_EQ(algo_->create_scan_state(plugin(), nullptr, nullptr, &state_, err.text, sizeof err.text), OTD_OK) << err.str();
        ASSERT_NE(state_, nullptr);
        collected_ = {};
        abort_ = 0;
        work_ = {};
        work_.struct_size = sizeof work_;
        work_.work_id = 77;
        work_.algorithm = "scrypt";
        work_.blob = blob_.data();
        work_.blob_size = 80;
        work_.nonce_offset = 76;
        work_.nonce_size = 4;
        const auto genesis = common::target_from_nbits(0x1e0ffff0u).value();
        std::memcpy(work_.share_target, genesis.data(), 32);
        std::memcpy(work_.block_target, genesis.data(), 32);
        work_.abort_flag = &abort_;
        work_.on_found = &collect;
        work_.on_found_user = &collected_;
    }
    void drop_state() {
        if (state_ != nullptr) algo_->destroy_scan_state(plugin(), state_);
        state_ = nullptr;
    }
    otd_status_t scan() {
        stats_ = {};
        stats_.struct_size = sizeof stats_;
        return algo_->scan(plugin(), state_, &work_, &stats_);
    }
    /// A quarter of all hashes meet it: top byte <= 0x3f.
    void easy_target() {
        std::memset(work_.share_target, 0xff, 32);
        work_.share_target[31] = 0x3f;
    }

    static constexpr uint32_t kGenesisNonce = 2084524493u;
    otd_scan_state_t* state_ = nullptr;
    std::vector<uint8_t> blob_;
    otd_work_unit_t work_{};
    volatile uint32_t abort_ = 0;
    Collected collected_;
    otd_scan_stats_t stats_{};
};

TEST_F(ScryptScan, EveryKernelFindsTheGenesisNonce) {
    for (const char* k : kKernels) {
        if (!cpu_has(k)) {
            std::cout << "[  SKIPPED ] kernel " << k << ": this CPU lacks it\n";
            continue;
        }
        SCOPED_TRACE(k);
        use_kernel(k);
        ASSERT_EQ(implementation().rfind(k, 0), 0u);
        // 21 nonces: not a multiple of 8 or 16, the genesis nonce in the middle of a batch.
        work_.nonce_start = kGenesisNonce - 11;
        work_.nonce_count = 21;
        ASSERT_EQ(scan(), OTD_OK);
        EXPECT_EQ(stats_.hashes, 21u);
        ASSERT_EQ(stats_.found, 1u);
        ASSERT_EQ(collected_.found.size(), 1u);
        EXPECT_EQ(collected_.found[0].nonce, kGenesisNonce);
        EXPECT_EQ(collected_.found[0].work_id, 77u);
        EXPECT_EQ(display_of(collected_.found[0].hash), kHeaders[0].hash_display);
        EXPECT_EQ(le32(blob_.data() + 76), 0u) << "the host's blob is not written to";
    }
}

TEST_F(ScryptScan, EveryKernelReportsTheSameNoncesAsScalar) {
    // 45 nonces from an odd start (tails of 13 and 5 for 16 and 8 lanes), the last nonces of the space too.
    for (const uint64_t start : {uint64_t{1000003}, uint64_t{0xffffffffu} - 44}) {
        SCOPED_TRACE(start);
        std::vector<std::pair<uint64_t, std::string>> reference;
        for (const char* k : kKernels) {
            if (!cpu_has(k)) continue;
            SCOPED_TRACE(k);
            use_kernel(k);
            easy_target();
            work_.nonce_start = start;
            work_.nonce_count = 45;
            ASSERT_EQ(scan(), OTD_OK);
            EXPECT_EQ(stats_.hashes, 45u);
            EXPECT_EQ(stats_.found, collected_.found.size());
            std::vector<std::pair<uint64_t, std::string>> got;
            for (const auto& f : collected_.found) got.emplace_back(f.nonce, common::to_hex(std::span<const uint8_t>(f.hash, 32)));
            if (std::string(k) == "scalar") {
                reference = got;
                EXPECT_GE(reference.size(), 3u) << "about a quarter of 45 should meet the easy target";
                // Each reported hash is what verify computes.
                for (const auto& [nonce, hash_hex] : reference) {
                    std::vector<uint8_t> header(blob_);
                    for (int b = 0; b < 4; ++b) header[76 + static_cast<size_t>(b)] = static_cast<uint8_t>(nonce >> (8 * b));
                    otd_verify_result_t r;
                    th::ErrorBuffer err;
                    ASSERT_EQ(verify(header, common::kUint256Max, {}, r, err), OTD_OK);
                    EXPECT_EQ(common::to_hex(std::span<const uint8_t>(r.hash, 32)), hash_hex) << nonce;
                }
            } else {
                EXPECT_EQ(got, reference);
            }
        }
    }
}

TEST_F(ScryptScan, EmptyRangeAndSingleNonce) {
    use_kernel(nullptr);
    work_.nonce_start = 5;
    work_.nonce_count = 0;
    ASSERT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.hashes, 0u);
    work_.nonce_start = kGenesisNonce;
    work_.nonce_count = 1;
    ASSERT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.hashes, 1u);
    EXPECT_EQ(stats_.found, 1u);
}

TEST_F(ScryptScan, AbortFlagSetBeforeTheCall) {
    use_kernel(nullptr);
    abort_ = 1;
    work_.nonce_start = kGenesisNonce - 10;
    work_.nonce_count = 20;
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(stats_.hashes, 0u);
    EXPECT_TRUE(collected_.found.empty());
}

TEST_F(ScryptScan, AbortFlagRaisedDuringTheScanStopsAfterTheBatch) {
    for (const char* k : kKernels) {
        if (!cpu_has(k)) continue;
        SCOPED_TRACE(k);
        use_kernel(k);
        std::memset(work_.share_target, 0xff, 32);
        collected_.raise_abort = &abort_;  // the first result raises the flag
        work_.nonce_start = 0;
        work_.nonce_count = 1u << 20;
        const auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(scan(), OTD_ERR_ABORTED);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
        EXPECT_GE(stats_.hashes, 1u);
        EXPECT_LE(stats_.hashes, 16u) << "the flag is read before every lane batch";
        EXPECT_EQ(stats_.found, collected_.found.size());
        EXPECT_LT(ms, 100);
    }
}

TEST_F(ScryptScan, OnFoundAbortingStopsAtOnce) {
    use_kernel(nullptr);
    std::memset(work_.share_target, 0xff, 32);
    collected_.answer = OTD_ERR_ABORTED;
    work_.nonce_start = 0;
    work_.nonce_count = 100;
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(stats_.hashes, 1u);
    EXPECT_EQ(collected_.found.size(), 1u);
}

TEST_F(ScryptScan, RefusesMalformedWork) {
    use_kernel(nullptr);
    work_.nonce_start = 0xffffffffu;
    work_.nonce_count = 2;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    EXPECT_TRUE(host_.logged("leaves the 32-bit nonce space", OTD_LOG_ERROR));
    work_.nonce_start = 0;
    work_.nonce_count = 1;
    work_.blob_size = 76;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    EXPECT_TRUE(host_.logged("80-byte header"));
    work_.blob_size = 80;
    work_.nonce_offset = 0;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    work_.nonce_offset = 76;
    work_.on_found = nullptr;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    work_.on_found = &collect;
    work_.struct_size = 16;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    work_.struct_size = sizeof work_;
    EXPECT_EQ(algo_->scan(plugin(), nullptr, &work_, &stats_), OTD_ERR_INVALID_ARG);
    work_.abort_flag = nullptr;  // may be NULL
    work_.nonce_start = kGenesisNonce;
    EXPECT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.found, 1u);
}

}  // namespace
