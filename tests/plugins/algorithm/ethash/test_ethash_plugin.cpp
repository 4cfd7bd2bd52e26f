// Tests for plugins/algorithm/ethash (the "ethash" and "etchash" plugins of one module), through the C ABI
// as the host calls it (see plugin_harness.hpp).
//
// Vectors (raw bytes as the sources print them; nonces as the hex of the 64-bit value):
//  - chfast/ethash test/unittests/test_cases.hpp hash_test_cases (HEAD 17e80309ceb592b9b5175b831549a1cc160d1a08),
//    blocks 0 and 2 = ethereum/tests PoWTests/ethash_tests.json "first" and "second" (HEAD
//    4c87ebbf024a3e9ec842bcce90564f629a3bcd82); epoch seeds from chfast/ethash test_ethash.cpp.
//  - Etchash (ECIP-1099) epoch 1: computed locally with libethash, the C reference, as Debian 12's
//    python3-pyethash 0.1.27 ships it, fed ECIP-1099's seed (ethash epoch 2's) and epoch 1's sizes (see
//    tests/lib/ethash/test_ethash.cpp).
//  - Ethereum difficulty: boundary = 2^256 / difficulty (go-ethereum consensus/ethash, "target").
// OTEDAMA_ETHASH_SLOW_TESTS=1 adds a FULL context (the 1 GiB epoch-0 DAG).
#include "plugin_harness.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/ethash/ethash.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#ifndef OTEDAMA_ETHASH_PLUGIN
#error "OTEDAMA_ETHASH_PLUGIN must name the built algorithm-ethash module"
#endif

namespace {

namespace th = otedama::testing;
namespace common = otedama::common;
namespace eth = otedama::ethash;

constexpr const char* kEthashId = "org.otedama.algorithm.ethash";
constexpr const char* kEtchashId = "org.otedama.algorithm.etchash";
constexpr const char* kImpls[] = {"scalar", "avx2", "avx512"};

std::vector<uint8_t> hex(std::string_view h) { return common::from_hex(h).value(); }
std::string hex_of(const uint8_t* p, size_t n = 32) { return common::to_hex(std::span<const uint8_t>(p, n)); }
/// The raw bytes of an ABI little-endian 256-bit number (what the vectors print for Ethash hashes).
std::string raw_of_number(const uint8_t* le) {
    std::vector<uint8_t> v(le, le + 32);
    std::reverse(v.begin(), v.end());
    return common::to_hex(v);
}

struct Vector {
    const char* what;
    uint64_t height;
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
};
const Vector kEpochZero[] = {
    {"chfast block 0 / ethereum/tests 'first'", 0, "2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce", 0x4242424242424242,
     "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017", "dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906"},
    {"chfast block 2 / ethereum/tests 'second'", 2, "100cbec5e5ef82991290d0d93d758f19082e71f234cf479192a8b94df6da6bfe", 0x307692cf71b12f6d,
     "e55d02c555a7969361cf74a9ec6211d8c14e4517930a00442f171bdb1698d175", "ab9b13423cface72cbec8424221651bc2e384ef0f7a560e038fc68c8d8684829"},
};

std::vector<uint8_t> blob_of(const char* header, uint64_t nonce) {
    std::vector<uint8_t> b = hex(header);
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(nonce >> (8 * i)));
    return b;
}

bool cpu_has(const std::string& impl) {
    if (impl == "scalar") return true;
    __builtin_cpu_init();
    if (impl == "avx2") return __builtin_cpu_supports("avx2");
    if (impl == "avx512") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    return false;
}

bool slow_tests_enabled() {
    const char* v = std::getenv("OTEDAMA_ETHASH_SLOW_TESTS");
    return v != nullptr && std::string(v) == "1";
}

/// Sets OTEDAMA_ETHASH_IMPL for the life of the object (instances read it in init()).
class ForcedImpl {
public:
    explicit ForcedImpl(const char* name) {
        if (name != nullptr) ::setenv("OTEDAMA_ETHASH_IMPL", name, 1);
    }
    ~ForcedImpl() { ::unsetenv("OTEDAMA_ETHASH_IMPL"); }
    ForcedImpl(const ForcedImpl&) = delete;
    ForcedImpl& operator=(const ForcedImpl&) = delete;
};

/// One plugin instance with its fake host.
struct Algo {
    th::FakeHost host;
    th::PluginInstance instance;
    const otd_algorithm_t* t = nullptr;

    explicit Algo(const char* id, const char* forced = nullptr) {
        ForcedImpl env(forced);
        th::CreateResult r = th::create_instance(OTEDAMA_ETHASH_PLUGIN, id, OTD_ALGORITHM_INTERFACE_ID, host);
        if (!r.ok()) throw std::runtime_error(r.describe());
        instance = std::move(r.instance);
        t = &instance.table<otd_algorithm_t>();
    }
    const otd_plugin_t* p() const { return instance.plugin(); }

    std::string implementation() const {
        otd_algorithm_info_t info{};
        info.struct_size = sizeof info;
        EXPECT_EQ(t->get_info(p(), &info), OTD_OK);
        EXPECT_EQ(info.hash_size, 32u);
        return info.implementation;
    }

    otd_status_t prepare(uint32_t mode, uint64_t height, const std::vector<uint8_t>& seed, otd_algo_context_t** out,
                         th::ErrorBuffer& err, uint32_t threads = 0) const {
        otd_context_params_t params{};
        params.struct_size = sizeof params;
        params.mode = mode;
        params.seed = seed.empty() ? nullptr : seed.data();
        params.seed_size = static_cast<uint32_t>(seed.size());
        params.height = height;
        params.threads = threads;
        params.numa_node = -1;
        *out = nullptr;
        return t->prepare_context(p(), &params, out, err.text, sizeof err.text);
    }
};

/// A context released when it goes out of scope.
class ScopedContext {
public:
    ScopedContext(const Algo& a, otd_algo_context_t* c) : a_(a), c_(c) {}
    ~ScopedContext() {
        if (c_ != nullptr) a_.t->release_context(a_.p(), c_);
    }
    ScopedContext(const ScopedContext&) = delete;
    ScopedContext& operator=(const ScopedContext&) = delete;
    const otd_algo_context_t* get() const { return c_; }

private:
    const Algo& a_;
    otd_algo_context_t* c_;
};

// ---------------------------------------------------------------------------------------------------------

TEST(EthashPluginModule, TwoPluginsFromOneModule) {
    const th::PluginLibrary& lib = th::open_library(OTEDAMA_ETHASH_PLUGIN);
    const auto descriptors = lib.descriptors();
    ASSERT_EQ(descriptors.size(), 2u);
    EXPECT_STREQ(descriptors[0]->id, kEthashId);
    EXPECT_STREQ(descriptors[0]->name, "ethash");
    EXPECT_STREQ(descriptors[1]->id, kEtchashId);
    EXPECT_STREQ(descriptors[1]->name, "etchash");
    for (const auto* d : descriptors) {
        EXPECT_EQ(d->kind, OTD_KIND_ALGORITHM);
        EXPECT_STREQ(d->interface_id, OTD_ALGORITHM_INTERFACE_ID);
    }
    const std::pair<const char*, const char*> families[] = {{kEthashId, "ethereum"}, {kEtchashId, "ethereum-classic"}};
    for (const auto& [id, family] : families) {
        SCOPED_TRACE(id);
        Algo a(id);
        EXPECT_STREQ(a.t->coin_family, family);
        EXPECT_EQ(a.t->struct_size, sizeof(otd_algorithm_t));
        EXPECT_EQ(a.t->flags, OTD_ALGO_NEEDS_CONTEXT | OTD_ALGO_HAS_MIX);
        EXPECT_NE(a.t->hash, nullptr);
        EXPECT_NE(a.t->verify, nullptr);
        EXPECT_NE(a.t->build_blob, nullptr);
        EXPECT_NE(a.t->target_from_difficulty, nullptr);
        EXPECT_NE(a.t->difficulty_from_target, nullptr);
        EXPECT_NE(a.t->get_info, nullptr);
        EXPECT_NE(a.t->prepare_context, nullptr);
        EXPECT_NE(a.t->release_context, nullptr);
        EXPECT_NE(a.t->create_scan_state, nullptr);
        EXPECT_NE(a.t->destroy_scan_state, nullptr);
        EXPECT_NE(a.t->scan, nullptr);
        EXPECT_NE(a.p()->self_test, nullptr);
    }
    EXPECT_STREQ(Algo(kEthashId).t->name, "ethash");
    EXPECT_STREQ(Algo(kEtchashId).t->name, "etchash");
}

TEST(EthashPluginModule, ChoosesAnImplementationAndLogsItOnce) {
    Algo a(kEthashId);
    const std::string impl = a.implementation();
    size_t lines = 0;
    for (const auto& r : a.host.logs()) {
        if (r.level == OTD_LOG_INFO && r.message.find("ethash: using") != std::string::npos) ++lines;
    }
    EXPECT_EQ(lines, 1u);
    if (cpu_has("avx512")) {
        EXPECT_EQ(impl, "avx512");
    } else if (cpu_has("avx2")) {
        EXPECT_EQ(impl, "avx2");
    } else {
        EXPECT_EQ(impl, "scalar");
    }
}

TEST(EthashPluginModule, ForcedImplementationIsUsedOrRefusedWithAnError) {
    for (const char* impl : kImpls) {
        SCOPED_TRACE(impl);
        Algo a(kEthashId, impl);
        if (cpu_has(impl)) {
            EXPECT_EQ(a.implementation(), impl);
            if (std::string(impl) != "scalar") {
                EXPECT_TRUE(a.host.logged("forced by OTEDAMA_ETHASH_IMPL", OTD_LOG_INFO));
            }
            // Every path passes the self-test (the libethash vector through verify and scan).
            th::ErrorBuffer err;
            EXPECT_EQ(a.p()->self_test(a.p(), err.text, sizeof err.text), OTD_OK) << err.str();
        } else {
            std::cout << "[  SKIPPED ] implementation " << impl << ": this CPU lacks it\n";
            EXPECT_EQ(a.implementation(), "scalar");
            EXPECT_TRUE(a.host.logged("lacks", OTD_LOG_ERROR));
        }
    }
    Algo bad(kEthashId, "avx9000");
    EXPECT_EQ(bad.implementation(), "scalar");
    EXPECT_TRUE(bad.host.logged("OTEDAMA_ETHASH_IMPL=avx9000 is not an implementation", OTD_LOG_ERROR));
}

TEST(EthashPluginModule, SelfTestPassesAndIsCheap) {
    for (const char* id : {kEthashId, kEtchashId}) {
        Algo a(id);
        th::ErrorBuffer err;
        ASSERT_EQ(a.p()->self_test(a.p(), err.text, sizeof err.text), OTD_OK) << err.str();
        auto best = std::chrono::steady_clock::duration::max();
        for (int i = 0; i < 3; ++i) {
            const auto start = std::chrono::steady_clock::now();
            ASSERT_EQ(a.p()->self_test(a.p(), err.text, sizeof err.text), OTD_OK) << err.str();
            best = std::min(best, std::chrono::steady_clock::now() - start);
        }
        // Reported, not asserted (no timing assertions in unit tests): the host runs it at every load.
        std::cout << id << " self_test: " << std::chrono::duration_cast<std::chrono::microseconds>(best).count() << " us ("
                  << a.implementation() << ")\n";
    }
}

TEST(EthashPluginModule, DifficultyIsEthereums) {
    Algo a(kEthashId);
    uint8_t target[32];
    ASSERT_EQ(a.t->target_from_difficulty(a.p(), 1.0, target), OTD_OK);
    EXPECT_EQ(std::memcmp(target, common::kUint256Max.data(), 32), 0) << "2^256 / 1 saturates at 2^256 - 1";
    ASSERT_EQ(a.t->target_from_difficulty(a.p(), 2.0, target), OTD_OK);
    EXPECT_EQ(raw_of_number(target), "8000000000000000000000000000000000000000000000000000000000000000");
    ASSERT_EQ(a.t->target_from_difficulty(a.p(), 3.0, target), OTD_OK);
    EXPECT_EQ(raw_of_number(target), "5555555555555555555555555555555555555555555555555555555555555555");
    ASSERT_EQ(a.t->target_from_difficulty(a.p(), 4294967296.0, target), OTD_OK);  // 2^32
    EXPECT_EQ(raw_of_number(target), "0000000100000000000000000000000000000000000000000000000000000000");
    ASSERT_EQ(a.t->target_from_difficulty(a.p(), 0.5, target), OTD_OK);
    EXPECT_EQ(std::memcmp(target, common::kUint256Max.data(), 32), 0);
    double d = 0;
    ASSERT_EQ(a.t->target_from_difficulty(a.p(), 2.0, target), OTD_OK);
    ASSERT_EQ(a.t->difficulty_from_target(a.p(), target, &d), OTD_OK);
    EXPECT_EQ(d, 2.0);
    for (double want = 1.5; want <= 1e30; want *= 7.7) {
        ASSERT_EQ(a.t->target_from_difficulty(a.p(), want, target), OTD_OK) << want;
        ASSERT_EQ(a.t->difficulty_from_target(a.p(), target, &d), OTD_OK);
        EXPECT_NEAR(d / want, 1.0, 1e-15) << want;
    }
    for (const double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        EXPECT_EQ(a.t->target_from_difficulty(a.p(), bad, target), OTD_ERR_INVALID_ARG) << bad;
    }
    const uint8_t zero[32] = {};
    EXPECT_EQ(a.t->difficulty_from_target(a.p(), zero, &d), OTD_ERR_INVALID_ARG);
}

TEST(EthashPluginModule, BuildBlobIsHeaderHashAndNonce) {
    Algo a(kEthashId);
    const auto header = hex(kEpochZero[0].header);
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.coin = "ETH";
    t.algorithm = "ethash";
    t.blob = header.data();
    t.blob_size = 32;
    t.nonce_size = 8;
    t.ntime = 123;
    t.version = 456;
    uint8_t blob[64];
    uint32_t size = 0, off = 0, nsize = 0;
    th::ErrorBuffer err;
    ASSERT_EQ(a.t->build_blob(a.p(), &t, nullptr, 0, 999, 777, blob, sizeof blob, &size, &off, &nsize, err.text, sizeof err.text), OTD_OK)
        << err.str();
    EXPECT_EQ(size, 40u);
    EXPECT_EQ(off, 32u);
    EXPECT_EQ(nsize, 8u);
    EXPECT_EQ(hex_of(blob), kEpochZero[0].header);
    EXPECT_EQ(hex_of(blob + 32, 8), "0000000000000000");
    // Refusals: an extranonce, a template with extranonce space, a blob that is no header hash, a small buffer.
    const uint8_t en[2] = {1, 2};
    EXPECT_EQ(a.t->build_blob(a.p(), &t, en, 2, 0, 0, blob, sizeof blob, &size, &off, &nsize, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("no extranonce"), std::string::npos) << err.str();
    t.extranonce_size = 4;
    EXPECT_EQ(a.t->build_blob(a.p(), &t, nullptr, 0, 0, 0, blob, sizeof blob, &size, &off, &nsize, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    t.extranonce_size = 0;
    t.blob_size = 31;
    EXPECT_EQ(a.t->build_blob(a.p(), &t, nullptr, 0, 0, 0, blob, sizeof blob, &size, &off, &nsize, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("32-byte header hash"), std::string::npos) << err.str();
    t.blob_size = 32;
    EXPECT_EQ(a.t->build_blob(a.p(), &t, nullptr, 0, 0, 0, blob, 39, &size, &off, &nsize, err.text, sizeof err.text), OTD_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(size, 40u);
}

TEST(EthashPluginModule, ContextIsRequired) {
    Algo a(kEthashId);
    const auto blob = blob_of(kEpochZero[0].header, kEpochZero[0].nonce);
    uint8_t out[32];
    th::ErrorBuffer err;
    EXPECT_EQ(a.t->hash(a.p(), nullptr, blob.data(), blob.size(), out, 32, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("needs a context"), std::string::npos) << err.str();
    otd_verify_request_t req{};
    req.struct_size = sizeof req;
    req.blob = blob.data();
    req.blob_size = 40;
    otd_verify_result_t res{};
    res.struct_size = sizeof res;
    EXPECT_EQ(a.t->verify(a.p(), nullptr, &req, &res, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    otd_scan_state_t* state = nullptr;
    EXPECT_EQ(a.t->create_scan_state(a.p(), nullptr, nullptr, &state, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
}

TEST(EthashPluginModule, PrepareContextChecksTheSeedAndMode) {
    Algo a(kEthashId);
    otd_algo_context_t* ctx = nullptr;
    th::ErrorBuffer err;
    // Epoch 1's seed for height 0 (epoch 0): refused, naming both.
    const auto seed1 = hex("290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563");
    EXPECT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 0, seed1, &ctx, err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(ctx, nullptr);
    EXPECT_NE(err.str().find("290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("0000000000000000000000000000000000000000000000000000000000000000"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("epoch 1"), std::string::npos) << "says whose seed it is: " << err.str();
    EXPECT_EQ(a.prepare(7, 0, {}, &ctx, err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("mode"), std::string::npos) << err.str();
    EXPECT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 30000ULL * 40000, {}, &ctx, err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("beyond the last supported epoch"), std::string::npos) << err.str();
}

/// One ethash instance and its epoch-0 light context for the tests below (built once: about a second).
class EthashEpochZero : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        algo_ = new Algo(kEthashId);
        th::ErrorBuffer err;
        otd_algo_context_t* ctx = nullptr;
        // With the right seed (epoch 0's: zeros), as a job source passes it.
        ASSERT_EQ(algo_->prepare(OTD_CONTEXT_LIGHT, 2, std::vector<uint8_t>(32, 0), &ctx, err), OTD_OK) << err.str();
        ctx_ = ctx;
    }
    static void TearDownTestSuite() {
        if (ctx_ != nullptr) algo_->t->release_context(algo_->p(), ctx_);
        delete algo_;
        algo_ = nullptr;
        ctx_ = nullptr;
    }
    static otd_status_t verify(const std::vector<uint8_t>& blob, uint64_t nonce, const uint8_t* mix, const common::Uint256& share,
                               const common::Uint256& block, otd_verify_result_t& res, th::ErrorBuffer& err) {
        otd_verify_request_t req{};
        req.struct_size = sizeof req;
        req.blob = blob.data();
        req.blob_size = static_cast<uint32_t>(blob.size());
        req.nonce = nonce;
        if (mix != nullptr) {
            req.flags = OTD_FOUND_HAS_MIX;
            std::memcpy(req.mix, mix, 32);
        }
        std::memcpy(req.share_target, share.data(), 32);
        std::memcpy(req.block_target, block.data(), 32);
        res = {};
        res.struct_size = sizeof res;
        return algo_->t->verify(algo_->p(), ctx_, &req, &res, err.text, sizeof err.text);
    }

    static Algo* algo_;
    static otd_algo_context_t* ctx_;
};
Algo* EthashEpochZero::algo_ = nullptr;
otd_algo_context_t* EthashEpochZero::ctx_ = nullptr;

TEST_F(EthashEpochZero, LogsTheMemoryAndBuildTime) {
    EXPECT_TRUE(algo_->host.logged("ethash: epoch 0: light cache 16.0 MiB built in", OTD_LOG_INFO));
}

TEST_F(EthashEpochZero, HashesThePublishedVectors) {
    for (const auto& v : kEpochZero) {
        const auto blob = blob_of(v.header, v.nonce);
        uint8_t out[32];
        th::ErrorBuffer err;
        ASSERT_EQ(algo_->t->hash(algo_->p(), ctx_, blob.data(), blob.size(), out, 32, err.text, sizeof err.text), OTD_OK) << err.str();
        EXPECT_EQ(hex_of(out), v.final_hash) << v.what;
    }
    uint8_t out[32];
    th::ErrorBuffer err;
    const auto header = hex(kEpochZero[0].header);
    EXPECT_EQ(algo_->t->hash(algo_->p(), ctx_, header.data(), header.size(), out, 32, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("40-byte"), std::string::npos) << err.str();
}

TEST_F(EthashEpochZero, VerifiesThePublishedVectors) {
    for (const auto& v : kEpochZero) {
        SCOPED_TRACE(v.what);
        const auto blob = blob_of(v.header, v.nonce);
        const auto mix = hex(v.mix);
        otd_verify_result_t r;
        th::ErrorBuffer err;
        ASSERT_EQ(verify(blob, 0, mix.data(), common::kUint256Max, common::kUint256Max, r, err), OTD_OK) << err.str();
        EXPECT_EQ(raw_of_number(r.hash), v.final_hash) << "result->hash is the raw final hash reversed";
        EXPECT_EQ(hex_of(r.mix), v.mix);
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(r.meets_share, 1u);
        EXPECT_EQ(r.meets_block, 1u);
        // Ethereum units: 2^256 / hash.
        common::Uint256 value;
        std::memcpy(value.data(), r.hash, 32);
        EXPECT_DOUBLE_EQ(r.share_difficulty, std::ldexp(1.0, 256) / common::to_double(value));

        // The 32-byte form with the nonce beside it gives the same answer.
        const std::vector<uint8_t> header(blob.begin(), blob.begin() + 32);
        otd_verify_result_t r32;
        ASSERT_EQ(verify(header, v.nonce, mix.data(), common::kUint256Max, common::kUint256Max, r32, err), OTD_OK) << err.str();
        EXPECT_EQ(std::memcmp(r32.hash, r.hash, 32), 0);
        EXPECT_EQ(r32.mix_ok, 1u);

        // A claimed mix that differs: mix_ok 0 (the hash itself is still reported).
        auto wrong = mix;
        wrong[5] ^= 0x40;
        ASSERT_EQ(verify(blob, 0, wrong.data(), common::kUint256Max, common::kUint256Max, r, err), OTD_OK);
        EXPECT_EQ(r.mix_ok, 0u);
        EXPECT_EQ(hex_of(r.mix), v.mix);
        // No mix claimed: mix_ok 1.
        ASSERT_EQ(verify(blob, 0, nullptr, common::kUint256Max, common::kUint256Max, r, err), OTD_OK);
        EXPECT_EQ(r.mix_ok, 1u);
        // A different nonce is a different hash.
        ASSERT_EQ(verify(blob_of(v.header, v.nonce + 1), 0, mix.data(), common::kUint256Max, common::kUint256Max, r, err), OTD_OK);
        EXPECT_EQ(r.mix_ok, 0u);
        EXPECT_NE(raw_of_number(r.hash), v.final_hash);
    }
}

// A test network's epoch of test geometry (OTD_CONTEXT_FLAG_TEST_EPOCH, the devnet's test_epochs): the
// epoch's seed, 1031 cache items, 4108 DAG items. It is its own context: a share is judged only on the
// geometry its context was prepared with, so a test-geometry share never passes on the real epoch and a real
// (published) share never passes on the test geometry. The expected answer is the library's hashimoto over
// the same geometry (lib/otedama/ethash, itself checked against the published vectors in tests/lib/ethash).
TEST_F(EthashEpochZero, TestEpochGeometryIsItsOwnContext) {
    otd_context_params_t params{};
    params.struct_size = sizeof params;
    params.mode = OTD_CONTEXT_LIGHT;
    params.height = 0;
    params.flags = OTD_CONTEXT_FLAG_TEST_EPOCH;
    params.numa_node = -1;
    otd_algo_context_t* test_ctx = nullptr;
    th::ErrorBuffer err;
    ASSERT_EQ(algo_->t->prepare_context(algo_->p(), &params, &test_ctx, err.text, sizeof err.text), OTD_OK) << err.str();
    const ScopedContext scoped(*algo_, test_ctx);
    EXPECT_TRUE(algo_->host.logged("ethash: epoch 0 with the TEST geometry (1031 cache items, 262912 dataset bytes)", OTD_LOG_INFO));

    const auto& v = kEpochZero[0];
    const auto blob = blob_of(v.header, v.nonce);
    eth::Hash256 header{};
    std::copy(blob.begin(), blob.begin() + 32, header.begin());
    const eth::LightCache tiny = eth::test_epoch_cache(eth::kEthash, 0);
    EXPECT_EQ(tiny.item_count(), OTD_TEST_EPOCH_CACHE_ITEMS);
    EXPECT_EQ(tiny.dataset_bytes(), OTD_TEST_EPOCH_DATASET_BYTES);
    EXPECT_EQ(tiny.seed(), eth::epoch_seed(eth::kEthash, 0)) << "the epoch's real seed";
    const eth::HashResult want = eth::hashimoto_light(tiny, eth::kEthash, header, v.nonce);

    const auto verify_on = [&](const otd_algo_context_t* ctx, const uint8_t* mix, otd_verify_result_t& r) {
        otd_verify_request_t req{};
        req.struct_size = sizeof req;
        req.blob = blob.data();
        req.blob_size = static_cast<uint32_t>(blob.size());
        req.flags = OTD_FOUND_HAS_MIX;
        std::memcpy(req.mix, mix, 32);
        std::memcpy(req.share_target, common::kUint256Max.data(), 32);
        std::memcpy(req.block_target, common::kUint256Max.data(), 32);
        r = {};
        r.struct_size = sizeof r;
        return algo_->t->verify(algo_->p(), ctx, &req, &r, err.text, sizeof err.text);
    };
    otd_verify_result_t r;
    ASSERT_EQ(verify_on(test_ctx, want.mix.data(), r), OTD_OK) << err.str();
    EXPECT_EQ(r.mix_ok, 1u);
    EXPECT_EQ(hex_of(r.mix), common::to_hex(want.mix));
    EXPECT_EQ(raw_of_number(r.hash), common::to_hex(want.final_hash));
    EXPECT_NE(common::to_hex(want.mix), v.mix) << "the test geometry gives another mix than the real epoch";
    // The same share on the real epoch 0: its mix is wrong there.
    ASSERT_EQ(verify_on(ctx_, want.mix.data(), r), OTD_OK) << err.str();
    EXPECT_EQ(r.mix_ok, 0u);
    EXPECT_EQ(hex_of(r.mix), v.mix);
    // The published (real) share on the test geometry: refused too.
    const auto real_mix = hex(v.mix);
    ASSERT_EQ(verify_on(test_ctx, real_mix.data(), r), OTD_OK) << err.str();
    EXPECT_EQ(r.mix_ok, 0u);
}

TEST_F(EthashEpochZero, VerifyAtTheTargetBoundary) {
    const auto& v = kEpochZero[1];
    const auto blob = blob_of(v.header, v.nonce);
    otd_verify_result_t r;
    th::ErrorBuffer err;
    ASSERT_EQ(verify(blob, 0, nullptr, common::kUint256Max, common::kUint256Max, r, err), OTD_OK);
    common::Uint256 hash, below, above;
    std::memcpy(hash.data(), r.hash, 32);
    below = above = hash;
    for (size_t i = 0; i < 32 && below[i]-- == 0; ++i) {
    }
    for (size_t i = 0; i < 32 && ++above[i] == 0; ++i) {
    }
    ASSERT_EQ(verify(blob, 0, nullptr, hash, hash, r, err), OTD_OK);
    EXPECT_EQ(r.meets_share, 1u) << "hash == target meets it";
    EXPECT_EQ(r.meets_block, 1u);
    ASSERT_EQ(verify(blob, 0, nullptr, above, below, r, err), OTD_OK);
    EXPECT_EQ(r.meets_share, 1u);
    EXPECT_EQ(r.meets_block, 0u);
    ASSERT_EQ(verify(blob, 0, nullptr, below, above, r, err), OTD_OK);
    EXPECT_EQ(r.meets_share, 0u);
    EXPECT_EQ(r.meets_block, 1u);
    // Block 2's hash ab9b1342... reaches difficulty 2^256 / 0xab9b... ~ 1.49: it meets difficulty 1.4, not 1.5.
    uint8_t t14[32], t15[32];
    ASSERT_EQ(algo_->t->target_from_difficulty(algo_->p(), 1.4, t14), OTD_OK);
    ASSERT_EQ(algo_->t->target_from_difficulty(algo_->p(), 1.5, t15), OTD_OK);
    common::Uint256 a14, a15;
    std::memcpy(a14.data(), t14, 32);
    std::memcpy(a15.data(), t15, 32);
    ASSERT_EQ(verify(blob, 0, nullptr, a14, a15, r, err), OTD_OK);
    EXPECT_EQ(r.meets_share, 1u);
    EXPECT_EQ(r.meets_block, 0u);
    EXPECT_GT(r.share_difficulty, 1.4);
    EXPECT_LT(r.share_difficulty, 1.5);
}

TEST_F(EthashEpochZero, VerifyRefusesWrongSizes) {
    for (const size_t size : {size_t{0}, size_t{31}, size_t{33}, size_t{39}, size_t{41}, size_t{80}}) {
        std::vector<uint8_t> blob(size, 0x11);
        otd_verify_result_t r;
        th::ErrorBuffer err;
        EXPECT_EQ(verify(blob, 0, nullptr, common::kUint256Max, common::kUint256Max, r, err), OTD_ERR_INVALID_ARG) << size;
        EXPECT_NE(err.str().find(std::to_string(size) + " bytes"), std::string::npos) << err.str();
    }
}

// Scan over the light context: slow (about a millisecond per hash or batch of hashes) but it needs no DAG.

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

class EthashScan : public EthashEpochZero {
protected:
    void SetUp() override {
        th::ErrorBuffer err;
        ASSERT_EQ(algo_->t->create_scan_state(algo_->p(), ctx_, nullptr, &state_, err.text, sizeof err.text), OTD_OK) << err.str();
        blob_ = blob_of(kEpochZero[0].header, 0);
        work_ = {};
        work_.struct_size = sizeof work_;
        work_.work_id = 42;
        work_.algorithm = "ethash";
        work_.blob = blob_.data();
        work_.blob_size = 40;
        work_.nonce_offset = 32;
        work_.nonce_size = 8;
        work_.algorithm_context = ctx_;
        work_.abort_flag = &abort_;
        work_.on_found = &collect;
        work_.on_found_user = &collected_;
        // About a quarter of all hashes meet it: top byte of the (big-endian) hash <= 0x3f.
        std::memset(work_.share_target, 0xff, 32);
        work_.share_target[31] = 0x3f;
    }
    void TearDown() override {
        if (state_ != nullptr) algo_->t->destroy_scan_state(algo_->p(), state_);
    }
    otd_status_t scan() {
        stats_ = {};
        stats_.struct_size = sizeof stats_;
        return algo_->t->scan(algo_->p(), state_, &work_, &stats_);
    }

    otd_scan_state_t* state_ = nullptr;
    std::vector<uint8_t> blob_;
    otd_work_unit_t work_{};
    volatile uint32_t abort_ = 0;
    Collected collected_;
    otd_scan_stats_t stats_{};
};

TEST_F(EthashScan, MinesAnEasyTargetAndEveryFindVerifies) {
    work_.nonce_start = 1000;
    work_.nonce_count = 21;  // not a multiple of the batch of 8
    ASSERT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.hashes, 21u);
    EXPECT_EQ(stats_.found, collected_.found.size());
    EXPECT_GE(collected_.found.size(), 1u) << "about a quarter of 21 should meet the easy target";
    std::vector<uint64_t> expected;  // what hash() says, nonce by nonce
    for (uint64_t n = 1000; n < 1021; ++n) {
        const auto blob = blob_of(kEpochZero[0].header, n);
        uint8_t out[32];
        ASSERT_EQ(algo_->t->hash(algo_->p(), ctx_, blob.data(), 40, out, 32, nullptr, 0), OTD_OK);
        if (out[0] <= 0x3f) expected.push_back(n);
    }
    std::vector<uint64_t> got;
    for (const auto& f : collected_.found) {
        got.push_back(f.nonce);
        EXPECT_EQ(f.work_id, 42u);
        EXPECT_EQ(f.flags & OTD_FOUND_HAS_MIX, OTD_FOUND_HAS_MIX);
        // The host re-verifies every find: the nonce with its claimed mix must pass.
        otd_verify_result_t r;
        th::ErrorBuffer err;
        common::Uint256 share;
        std::memcpy(share.data(), work_.share_target, 32);
        ASSERT_EQ(verify(blob_of(kEpochZero[0].header, f.nonce), 0, f.mix, share, share, r, err), OTD_OK) << err.str();
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(r.meets_share, 1u);
        EXPECT_EQ(std::memcmp(r.hash, f.hash, 32), 0) << "found.hash is the same little-endian number as verify's";
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(std::vector<uint8_t>(blob_.begin() + 32, blob_.end()), std::vector<uint8_t>(8, 0)) << "the host's blob is not written to";
}

TEST_F(EthashScan, FindsThePublishedNonceAtItsOwnHash) {
    // Block 0's nonce with its own final hash as the share target: it is found with its published mix, and so
    // is exactly every neighbour whose hash is no higher.
    const auto& v = kEpochZero[0];
    otd_verify_result_t r;
    th::ErrorBuffer err;
    ASSERT_EQ(verify(blob_of(v.header, v.nonce), 0, nullptr, common::kUint256Max, common::kUint256Max, r, err), OTD_OK);
    std::memcpy(work_.share_target, r.hash, 32);
    work_.nonce_start = v.nonce - 2;
    work_.nonce_count = 5;
    ASSERT_EQ(scan(), OTD_OK);
    std::vector<uint64_t> expected;
    for (uint64_t n = v.nonce - 2; n < v.nonce + 3; ++n) {
        uint8_t out[32];
        ASSERT_EQ(algo_->t->hash(algo_->p(), ctx_, blob_of(v.header, n).data(), 40, out, 32, nullptr, 0), OTD_OK);
        if (hex_of(out) <= std::string(v.final_hash)) expected.push_back(n);  // same-length hex compares as big-endian numbers
    }
    std::vector<uint64_t> got;
    for (const auto& f : collected_.found) {
        got.push_back(f.nonce);
        if (f.nonce == v.nonce) {
            EXPECT_EQ(hex_of(f.mix), v.mix);
        }
    }
    EXPECT_EQ(got, expected);
    EXPECT_NE(std::find(got.begin(), got.end(), v.nonce), got.end());
}

TEST_F(EthashScan, NonceRangeWrapsAtTheTop) {
    work_.nonce_start = UINT64_MAX - 1;
    work_.nonce_count = 3;  // ..fe, ..ff, 0
    std::memset(work_.share_target, 0xff, 32);
    ASSERT_EQ(scan(), OTD_OK);
    ASSERT_EQ(collected_.found.size(), 3u);
    EXPECT_EQ(collected_.found[0].nonce, UINT64_MAX - 1);
    EXPECT_EQ(collected_.found[1].nonce, UINT64_MAX);
    EXPECT_EQ(collected_.found[2].nonce, 0u);
}

TEST_F(EthashScan, StopsOnTheAbortFlagAndOnFoundsAnswer) {
    work_.nonce_start = 0;
    work_.nonce_count = 1000;
    abort_ = 1;
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(stats_.hashes, 0u);
    abort_ = 0;
    // The callback raises the flag on the first find: the scan stops within that batch.
    collected_.raise_abort = &abort_;
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(collected_.found.size(), stats_.found);
    ASSERT_GE(collected_.found.size(), 1u);
    EXPECT_EQ(stats_.hashes, (collected_.found[0].nonce / 8 + 1) * 8) << "stops after the batch of the first find";
    abort_ = 0;
    collected_ = {};
    collected_.answer = OTD_ERR_ABORTED;  // the work unit is stale
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(collected_.found.size(), 1u);
}

TEST_F(EthashScan, RefusesAWorkUnitOfAnotherShape) {
    work_.nonce_count = 4;
    work_.nonce_size = 4;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    EXPECT_TRUE(algo_->host.logged("8-byte nonce at 32", OTD_LOG_ERROR));
    work_.nonce_size = 8;
    work_.blob_size = 32;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
}

// ---------------------------------------------------------------------------------------------------------

TEST(EthashPluginContexts, OneLightCachePerEpochSharedAndFreedWithTheLastContext) {
    Algo a(kEthashId);
    th::ErrorBuffer err;
    otd_algo_context_t* c1 = nullptr;
    otd_algo_context_t* c2 = nullptr;
    ASSERT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 5, {}, &c1, err), OTD_OK) << err.str();
    ASSERT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 29999, {}, &c2, err), OTD_OK) << err.str();
    EXPECT_TRUE(a.host.logged("epoch 0: sharing the light cache already built (16.0 MiB)", OTD_LOG_INFO));
    // Same epoch, same answers.
    const auto blob = blob_of(kEpochZero[0].header, kEpochZero[0].nonce);
    uint8_t h1[32], h2[32];
    ASSERT_EQ(a.t->hash(a.p(), c1, blob.data(), 40, h1, 32, nullptr, 0), OTD_OK);
    ASSERT_EQ(a.t->hash(a.p(), c2, blob.data(), 40, h2, 32, nullptr, 0), OTD_OK);
    EXPECT_EQ(hex_of(h1), kEpochZero[0].final_hash);
    EXPECT_EQ(hex_of(h2), kEpochZero[0].final_hash);
    // A scan state keeps the cache alive past its context.
    otd_scan_state_t* state = nullptr;
    ASSERT_EQ(a.t->create_scan_state(a.p(), c2, nullptr, &state, err.text, sizeof err.text), OTD_OK);
    a.t->release_context(a.p(), c1);
    a.t->release_context(a.p(), c2);
    a.t->destroy_scan_state(a.p(), state);
    // All gone: the next context of epoch 0 builds it again.
    a.host.clear_logs();
    otd_algo_context_t* c3 = nullptr;
    ASSERT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 0, {}, &c3, err), OTD_OK) << err.str();
    EXPECT_TRUE(a.host.logged("epoch 0: light cache 16.0 MiB built in", OTD_LOG_INFO));
    EXPECT_FALSE(a.host.logged("sharing"));
    a.t->release_context(a.p(), c3);
}

TEST(EthashPluginContexts, SeedsOfAnotherSizeAreIgnored) {
    // What `otedama-host bench` passes today (its RandomX key): not an Ethash seed, so the height decides.
    Algo a(kEthashId);
    th::ErrorBuffer err;
    otd_algo_context_t* c = nullptr;
    const std::string key = "otedama bench";
    ASSERT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 0, std::vector<uint8_t>(key.begin(), key.end()), &c, err), OTD_OK) << err.str();
    ScopedContext scoped(a, c);
    EXPECT_TRUE(a.host.logged("ignores a 13-byte seed", OTD_LOG_DEBUG));
}

TEST(EthashPluginContexts, EtchashUsesEcip1099Epochs) {
    Algo a(kEtchashId);
    th::ErrorBuffer err;
    otd_algo_context_t* c = nullptr;
    // Height 60000 is etchash epoch 1, whose seed is ethash epoch 2's; ethash epoch 1's seed is refused.
    const auto seed1 = hex("290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563");
    EXPECT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 60000, seed1, &c, err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("etchash epoch 1"), std::string::npos) << err.str();
    const auto seed2 = hex("510e4e770828ddbf7f7b00ab00a9f6adaf81c0dc9cc85f1f8249c256942d61d9");
    ASSERT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 119999, seed2, &c, err), OTD_OK) << err.str();
    ScopedContext scoped(a, c);
    EXPECT_TRUE(a.host.logged("etchash: epoch 1: light cache 16.1 MiB built in", OTD_LOG_INFO));
    // libethash with ECIP-1099's seed and sizes (tests/lib/ethash/test_ethash.cpp).
    const std::pair<uint64_t, const char*> cases[] = {
        {0, "7fde94589639ccc11d47e2ecd4c4265d74c9e1e261f77d4cd979d982137b25cf"},
        {0x1122334455667788, "27f6a21210770df39155a1586411b843dc7a455701227d33c1990e759bf53b23"},
    };
    for (const auto& [nonce, want] : cases) {
        std::vector<uint8_t> blob;
        for (int i = 0; i < 32; ++i) blob.push_back(static_cast<uint8_t>(0xa0 + i));
        for (int i = 0; i < 8; ++i) blob.push_back(static_cast<uint8_t>(nonce >> (8 * i)));
        uint8_t out[32];
        ASSERT_EQ(a.t->hash(a.p(), c, blob.data(), 40, out, 32, err.text, sizeof err.text), OTD_OK) << err.str();
        EXPECT_EQ(hex_of(out), want);
    }
}

TEST(EthashPluginContexts, FullContextSharesTheLightCacheAndMines) {
    if (!slow_tests_enabled()) GTEST_SKIP() << "builds the 1 GiB epoch-0 DAG (set OTEDAMA_ETHASH_SLOW_TESTS=1)";
    Algo a(kEthashId);
    th::ErrorBuffer err;
    otd_algo_context_t* light = nullptr;
    otd_algo_context_t* full = nullptr;
    ASSERT_EQ(a.prepare(OTD_CONTEXT_LIGHT, 0, {}, &light, err), OTD_OK) << err.str();
    ScopedContext l(a, light);
    ASSERT_EQ(a.prepare(OTD_CONTEXT_FULL, 0, {}, &full, err), OTD_OK) << err.str();
    ScopedContext f(a, full);
    EXPECT_TRUE(a.host.logged("epoch 0: sharing the light cache already built", OTD_LOG_INFO));
    EXPECT_TRUE(a.host.logged("epoch 0: DAG 1024.0 MiB built in", OTD_LOG_INFO));
    for (const auto& v : kEpochZero) {
        const auto blob = blob_of(v.header, v.nonce);
        uint8_t out[32];
        ASSERT_EQ(a.t->hash(a.p(), full, blob.data(), 40, out, 32, nullptr, 0), OTD_OK);
        EXPECT_EQ(hex_of(out), v.final_hash);
    }
    otd_scan_state_t* state = nullptr;
    ASSERT_EQ(a.t->create_scan_state(a.p(), full, nullptr, &state, err.text, sizeof err.text), OTD_OK);
    Collected collected;
    const auto blob = blob_of(kEpochZero[0].header, 0);
    otd_work_unit_t w{};
    w.struct_size = sizeof w;
    w.blob = blob.data();
    w.blob_size = 40;
    w.nonce_offset = 32;
    w.nonce_size = 8;
    w.nonce_start = kEpochZero[0].nonce - 100;
    w.nonce_count = 200;
    w.algorithm_context = full;
    w.on_found = &collect;
    w.on_found_user = &collected;
    std::memset(w.share_target, 0xff, 32);
    w.share_target[31] = 0x0f;
    otd_scan_stats_t stats{};
    stats.struct_size = sizeof stats;
    ASSERT_EQ(a.t->scan(a.p(), state, &w, &stats), OTD_OK);
    EXPECT_EQ(stats.hashes, 200u);
    for (const auto& fnd : collected.found) {  // each find verifies on the LIGHT context
        otd_verify_request_t req{};
        req.struct_size = sizeof req;
        const auto b = blob_of(kEpochZero[0].header, fnd.nonce);
        req.blob = b.data();
        req.blob_size = 40;
        req.flags = OTD_FOUND_HAS_MIX;
        std::memcpy(req.mix, fnd.mix, 32);
        std::memcpy(req.share_target, w.share_target, 32);
        otd_verify_result_t r{};
        r.struct_size = sizeof r;
        ASSERT_EQ(a.t->verify(a.p(), light, &req, &r, err.text, sizeof err.text), OTD_OK);
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(r.meets_share, 1u);
    }
    a.t->destroy_scan_state(a.p(), state);
}

}  // namespace
