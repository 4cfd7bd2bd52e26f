// Tests for plugins/algorithm/kawpow through the C ABI, as the host calls it (see plugin_harness.hpp):
// load and self-test, contexts, hash, verify (mix mismatch, target boundary, byte order), build_blob,
// difficulty, the CPU scan trio on a light context (an easy target; every found nonce verified), and the
// ProgPoW extension otedama.algorithm.progpow/1.
//
// Vectors: RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp (HEAD 6d48ae01; identical in
// RavenCommunity/cpp-kawpow), via the project's pow-vectors.json "kawpow" entry: header, nonce (hex of the
// 64-bit value), mix and final hash (raw bytes). Light caches of epochs 0, 3 and 4 are built (about a
// second each here).
#include "plugin_harness.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/progpow.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#ifndef OTEDAMA_KAWPOW_PLUGIN
#error "OTEDAMA_KAWPOW_PLUGIN must name the built algorithm-kawpow module"
#endif

namespace {

namespace th = otedama::testing;
namespace common = otedama::common;

constexpr const char* kPluginId = "org.otedama.algorithm.kawpow";

std::vector<uint8_t> hex(std::string_view h) { return common::from_hex(h).value(); }
std::string hex_of(const uint8_t* p, size_t n = 32) { return common::to_hex(std::span<const uint8_t>(p, n)); }
std::string reversed_hex(const char* h) {
    auto v = hex(h);
    std::reverse(v.begin(), v.end());
    return common::to_hex(v);
}
void put_le64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

struct KawpowVector {
    uint64_t height;
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
};
constexpr KawpowVector kVectors[] = {
    {0, "0000000000000000000000000000000000000000000000000000000000000000", 0x0000000000000000ULL,
     "6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a",
     "e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1"},
    {49, "63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b", 0x0000000007073c07ULL,
     "d36f7e815ee09e74eceb9c96993a3d681edf2bf0921fc7bb710364042db99777",
     "e7ced124598fd2500a55ad9f9f48e3569327fe50493c77a4ac9799b96efb9463"},
    {50, "9e7248f20914913a73d80a70174c331b1d34f260535ac3631d770e656b5dd922", 0x00000000076e482eULL,
     "d6dc634ae837e2785b347648ea515e25e5d8821ae0b95e1c2a9c2d497e0dcfbd",
     "ab0ad7ef8d8ee317dd12d10310aceed7321d34fb263791c2de5776a6658d177e"},
    {99, "de37e1824c86d35d154cf65a88de6d9286aec4f7f10c3fc9f0fa1bcc2687188d", 0x000000003917afabULL,
     "fa706860e5e0e830d5d1d7157e5bea7f5f8a350c7c8612ac1d1fcf2974d64244",
     "aa85340690f2e907054324a5021937910e15edfd1ef1577231843e7d32ec3a61"},
    {29950, "ac7b55e801511b77e11d52e9599206101550144525b5679f2dab19386f23dcce", 0x005d409dbc23a62aULL,
     "5359807b77a74878269c3a3044df8618a576ce8dc52e1c48d927d4a60e7c6b79",
     "022019e5408683f7f8326b4e46b42864a3a069f17b6151e434fcaedecaadd918"},
    {29999, "e43d7e0bdc8a4a3f6e291a5ed790b9fa1a0948a2b9e33c844888690847de19f5", 0x005db5fa4c2a3d03ULL,
     "d15de3f9bfedd9b6d0f498273eb3b437115bdc8326c96c6457ac06deb5c9f389",
     "4e93630b81198752f876b24380999189b7b9366c08222ac05e4237b87114f305"},
    {30000, "d34519f72c97cae8892c277776259db3320820cb5279a299d0ef1e155e5c6454", 0x005db8607994ff30ULL,
     "de0348b69bf91dfe2c3d3dba6f0132e9048a5284e57b8d9d20adc5f3dc0d3236",
     "c7953d848cda6e304f77b4c6d735645c8e8508a5e74c9e9814ef37b19087cd6c"},
    {30049, "8b6ce5da0b06d18db7bd8492d9e5717f8b53e7e098d9fef7886d58a6e913ef64", 0x005e2e215a8ca2e7ULL,
     "975c6a9decc89cba7ace69338d4de8510d9619aef42b1d35d0bef7e0ce0614a9",
     "c262d8055e288d04b951a844bfca8ba529f5b4d652b408e3942727d7dd90957a"},
};

/// One plugin instance and its light contexts for the whole program (contexts cost a light cache each).
class KawpowPlugin : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        host_ = new th::FakeHost();
        th::CreateResult r = th::create_instance(OTEDAMA_KAWPOW_PLUGIN, kPluginId, OTD_ALGORITHM_INTERFACE_ID, *host_);
        ASSERT_TRUE(r.ok()) << r.describe();
        instance_ = new th::PluginInstance(std::move(r.instance));
        algo_ = &instance_->table<otd_algorithm_t>();
    }
    static void TearDownTestSuite() {
        for (auto& [epoch, ctx] : contexts_) algo_->release_context(plugin(), ctx);
        contexts_.clear();
        delete instance_;
        instance_ = nullptr;
        delete host_;
        host_ = nullptr;
    }

    static const otd_plugin_t* plugin() { return instance_->plugin(); }

    static otd_status_t prepare(uint64_t height, uint32_t mode, const uint8_t* seed, uint32_t seed_size,
                                otd_algo_context_t** out, th::ErrorBuffer& err) {
        otd_context_params_t params{};
        params.struct_size = sizeof params;
        params.mode = mode;
        params.seed = seed;
        params.seed_size = seed_size;
        params.height = height;
        params.numa_node = -1;
        return algo_->prepare_context(plugin(), &params, out, err.text, sizeof err.text);
    }
    /// The shared light context of the epoch of `height`.
    static const otd_algo_context_t* light(uint64_t height) {
        const uint64_t epoch = height / 7500;
        auto& ctx = contexts_[epoch];
        if (ctx == nullptr) {
            th::ErrorBuffer err;
            const otd_status_t st = prepare(height, OTD_CONTEXT_LIGHT, nullptr, 0, &ctx, err);
            EXPECT_EQ(st, OTD_OK) << err.str();
        }
        return ctx;
    }

    static otd_status_t verify(const otd_algo_context_t* ctx, const std::vector<uint8_t>& blob, uint64_t nonce, uint64_t height,
                               const uint8_t* mix, const common::Uint256& share, const common::Uint256& block,
                               otd_verify_result_t& result, th::ErrorBuffer& err) {
        otd_verify_request_t req{};
        req.struct_size = sizeof req;
        req.blob = blob.data();
        req.blob_size = static_cast<uint32_t>(blob.size());
        req.nonce = nonce;
        req.height = height;
        if (mix != nullptr) {
            req.flags = OTD_FOUND_HAS_MIX;
            std::memcpy(req.mix, mix, 32);
        }
        std::memcpy(req.share_target, share.data(), 32);
        std::memcpy(req.block_target, block.data(), 32);
        result = {};
        result.struct_size = sizeof result;
        return algo_->verify(plugin(), ctx, &req, &result, err.text, sizeof err.text);
    }

    static std::vector<uint8_t> blob_of(const KawpowVector& v) {
        std::vector<uint8_t> b = hex(v.header);
        b.resize(40);
        put_le64(b.data() + 32, v.nonce);
        return b;
    }

    static inline th::FakeHost* host_ = nullptr;
    static inline th::PluginInstance* instance_ = nullptr;
    static inline const otd_algorithm_t* algo_ = nullptr;
    static inline std::map<uint64_t, otd_algo_context_t*> contexts_;
};

TEST_F(KawpowPlugin, DescriptorAndTable) {
    const th::PluginLibrary& lib = th::open_library(OTEDAMA_KAWPOW_PLUGIN);
    const auto descriptors = lib.descriptors();
    ASSERT_EQ(descriptors.size(), 1u);
    EXPECT_STREQ(descriptors[0]->id, kPluginId);
    EXPECT_STREQ(descriptors[0]->name, "kawpow");
    EXPECT_EQ(descriptors[0]->kind, OTD_KIND_ALGORITHM);
    EXPECT_STREQ(descriptors[0]->interface_id, OTD_ALGORITHM_INTERFACE_ID);

    EXPECT_EQ(algo_->struct_size, sizeof(otd_algorithm_t));
    EXPECT_STREQ(algo_->name, "kawpow");
    EXPECT_STREQ(algo_->coin_family, "ravencoin");
    EXPECT_EQ(algo_->flags, OTD_ALGO_NEEDS_CONTEXT | OTD_ALGO_HAS_MIX);
    for (const void* fn : {reinterpret_cast<const void*>(algo_->hash), reinterpret_cast<const void*>(algo_->verify),
                           reinterpret_cast<const void*>(algo_->build_blob), reinterpret_cast<const void*>(algo_->prepare_context),
                           reinterpret_cast<const void*>(algo_->release_context),
                           reinterpret_cast<const void*>(algo_->create_scan_state),
                           reinterpret_cast<const void*>(algo_->destroy_scan_state), reinterpret_cast<const void*>(algo_->scan)}) {
        EXPECT_NE(fn, nullptr);
    }
    EXPECT_NE(plugin()->self_test, nullptr);
    EXPECT_NE(plugin()->get_interface(plugin(), OTD_PROGPOW_INTERFACE_ID), nullptr);
    EXPECT_EQ(plugin()->get_interface(plugin(), "otedama.algorithm.progpow/2"), nullptr);

    otd_algorithm_info_t info{};
    info.struct_size = sizeof info;
    ASSERT_EQ(algo_->get_info(plugin(), &info), OTD_OK);
    EXPECT_EQ(info.hash_size, 32u);
    EXPECT_NE(std::string(info.implementation).find("dataset kernels"), std::string::npos) << info.implementation;
    EXPECT_TRUE(host_->logged("kawpow: using", OTD_LOG_INFO));
}

TEST_F(KawpowPlugin, SelfTestPasses) {
    th::ErrorBuffer err;
    ASSERT_EQ(plugin()->self_test(plugin(), err.text, sizeof err.text), OTD_OK) << err.str();
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        ASSERT_EQ(plugin()->self_test(plugin(), err.text, sizeof err.text), OTD_OK) << err.str();
        best = std::min(best, std::chrono::steady_clock::now() - t0);
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(best).count();
    RecordProperty("self_test_us", static_cast<int>(us));
    std::cout << "[          ] self_test: " << us << " us (the host runs it at every load; budget well under 100 ms)\n";
}

TEST_F(KawpowPlugin, PrepareContextChecksTheSeedAndSharesTheLightCache) {
    th::ErrorBuffer err;
    otd_algo_context_t* a = nullptr;
    otd_algo_context_t* b = nullptr;
    // Epoch 0's seed is 32 zero bytes; epoch 1's is Keccak-256 of them.
    const std::vector<uint8_t> seed0(32, 0);
    const std::vector<uint8_t> seed1 = hex("290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563");
    host_->clear_logs();
    ASSERT_EQ(prepare(7499, OTD_CONTEXT_LIGHT, seed0.data(), 32, &a, err), OTD_OK) << err.str();
    ASSERT_EQ(prepare(0, OTD_CONTEXT_LIGHT, nullptr, 0, &b, err), OTD_OK) << err.str();
    EXPECT_TRUE(host_->logged("light cache shared", OTD_LOG_DEBUG) || host_->logged("epoch 0 light cache 16.0 MiB"));
    algo_->release_context(plugin(), a);
    algo_->release_context(plugin(), b);

    otd_algo_context_t* c = nullptr;
    EXPECT_EQ(prepare(7500, OTD_CONTEXT_LIGHT, seed0.data(), 32, &c, err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("is not the seed of epoch 1"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find(common::to_hex(seed0)), std::string::npos) << err.str();
    EXPECT_NE(err.str().find(common::to_hex(seed1)), std::string::npos) << err.str();
    EXPECT_EQ(prepare(0, OTD_CONTEXT_LIGHT, seed1.data(), 31, &c, err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(prepare(0, 7, nullptr, 0, &c, err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(prepare(uint64_t{1} << 40, OTD_CONTEXT_LIGHT, nullptr, 0, &c, err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("beyond the last"), std::string::npos) << err.str();
}

TEST_F(KawpowPlugin, HashesTheRavencoinVectors) {
    for (const KawpowVector& v : kVectors) {
        SCOPED_TRACE(v.height);
        std::vector<uint8_t> input = blob_of(v);
        input.resize(48);
        put_le64(input.data() + 40, v.height);
        uint8_t out[32];
        th::ErrorBuffer err;
        ASSERT_EQ(algo_->hash(plugin(), light(v.height), input.data(), input.size(), out, sizeof out, err.text, sizeof err.text), OTD_OK)
            << err.str();
        EXPECT_EQ(hex_of(out), v.final_hash) << "hash() returns the raw final hash";
    }
}

TEST_F(KawpowPlugin, HashRefusesBadInput) {
    const KawpowVector& v = kVectors[0];
    std::vector<uint8_t> input = blob_of(v);
    uint8_t out[32];
    th::ErrorBuffer err;
    EXPECT_EQ(algo_->hash(plugin(), light(0), input.data(), input.size(), out, 32, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("48 bytes, got 40"), std::string::npos) << err.str();
    input.resize(48);
    EXPECT_EQ(algo_->hash(plugin(), nullptr, input.data(), 48, out, 32, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("needs a context"), std::string::npos) << err.str();
    put_le64(input.data() + 40, 7500);  // epoch 1 on an epoch-0 context
    EXPECT_EQ(algo_->hash(plugin(), light(0), input.data(), 48, out, 32, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("height 7500 is in epoch 1, the context is for epoch 0"), std::string::npos) << err.str();
}

TEST_F(KawpowPlugin, VerifyReportsTheLittleEndianHashAndTheMix) {
    for (size_t i = 0; i < 4; ++i) {
        const KawpowVector& v = kVectors[i];
        SCOPED_TRACE(v.height);
        const std::vector<uint8_t> blob = blob_of(v);
        const auto mix = hex(v.mix);
        // The final hash as a 256-bit little-endian number: the raw bytes reversed (Ravencoin's block hash).
        const common::Uint256 hash = common::from_display_hex(v.final_hash).value();
        otd_verify_result_t r;
        th::ErrorBuffer err;
        ASSERT_EQ(verify(light(v.height), blob, 0, v.height, mix.data(), hash, hash, r, err), OTD_OK) << err.str();
        EXPECT_EQ(hex_of(r.hash), reversed_hex(v.final_hash));
        EXPECT_EQ(hex_of(r.mix), v.mix);
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(r.meets_share, 1u) << "hash == target meets it";
        EXPECT_EQ(r.meets_block, 1u);
        EXPECT_DOUBLE_EQ(r.share_difficulty, common::bitcoin_difficulty_from_target(hash));

        // One below / above the hash.
        common::Uint256 below = hash, above = hash;
        for (size_t b = 0; b < 32 && below[b]-- == 0; ++b) {
        }
        for (size_t b = 0; b < 32 && ++above[b] == 0; ++b) {
        }
        ASSERT_EQ(verify(light(v.height), blob, 0, v.height, nullptr, above, below, r, err), OTD_OK);
        EXPECT_EQ(r.meets_share, 1u);
        EXPECT_EQ(r.meets_block, 0u);
        EXPECT_EQ(r.mix_ok, 1u) << "no mix claimed";

        // A 32-byte blob takes the nonce from the request.
        const std::vector<uint8_t> header(blob.begin(), blob.begin() + 32);
        ASSERT_EQ(verify(light(v.height), header, v.nonce, v.height, mix.data(), below, above, r, err), OTD_OK);
        EXPECT_EQ(hex_of(r.hash), reversed_hex(v.final_hash));
        EXPECT_EQ(r.meets_share, 0u);
        EXPECT_EQ(r.meets_block, 1u);

        // A wrong mix is reported, the hash still computed.
        auto bad_mix = mix;
        bad_mix[7] ^= 1;
        ASSERT_EQ(verify(light(v.height), blob, 0, v.height, bad_mix.data(), hash, hash, r, err), OTD_OK);
        EXPECT_EQ(r.mix_ok, 0u);
        EXPECT_EQ(hex_of(r.mix), v.mix);
    }
}

TEST_F(KawpowPlugin, VerifyOnEveryVectorEpoch) {
    for (size_t i = 4; i < std::size(kVectors); ++i) {
        const KawpowVector& v = kVectors[i];
        SCOPED_TRACE(v.height);
        const auto mix = hex(v.mix);
        otd_verify_result_t r;
        th::ErrorBuffer err;
        ASSERT_EQ(verify(light(v.height), blob_of(v), 0, v.height, mix.data(), common::kUint256Max, {}, r, err), OTD_OK) << err.str();
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(hex_of(r.hash), reversed_hex(v.final_hash));
    }
}

TEST_F(KawpowPlugin, VerifyRefusesMalformedRequests) {
    otd_verify_result_t r;
    th::ErrorBuffer err;
    for (const size_t size : {size_t{0}, size_t{31}, size_t{33}, size_t{41}, size_t{80}}) {
        std::vector<uint8_t> blob(size, 0);
        EXPECT_EQ(verify(light(0), blob, 0, 0, nullptr, {}, {}, r, err), OTD_ERR_INVALID_ARG) << size;
        EXPECT_NE(err.str().find("32-byte header hash"), std::string::npos) << err.str();
    }
    EXPECT_EQ(verify(nullptr, blob_of(kVectors[0]), 0, 0, nullptr, {}, {}, r, err), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(verify(light(0), blob_of(kVectors[0]), 0, 30000, nullptr, {}, {}, r, err), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("epoch 4"), std::string::npos) << err.str();
}

TEST_F(KawpowPlugin, BuildBlob) {
    const auto header = hex(kVectors[1].header);
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.coin = "RVN";
    t.algorithm = "kawpow";
    t.height = 49;
    t.blob = header.data();
    t.blob_size = 32;
    uint8_t blob[64];
    uint32_t size = 0, nonce_offset = 0, nonce_size = 0;
    th::ErrorBuffer err;
    ASSERT_EQ(algo_->build_blob(plugin(), &t, nullptr, 0, 0, 0, blob, sizeof blob, &size, &nonce_offset, &nonce_size, err.text,
                                sizeof err.text),
              OTD_OK)
        << err.str();
    EXPECT_EQ(size, 40u);
    EXPECT_EQ(nonce_offset, 32u);
    EXPECT_EQ(nonce_size, 8u);
    EXPECT_EQ(hex_of(blob), kVectors[1].header);
    EXPECT_EQ(hex_of(blob + 32, 8), "0000000000000000");

    const uint8_t extranonce[2] = {1, 2};
    EXPECT_EQ(algo_->build_blob(plugin(), &t, extranonce, 2, 0, 0, blob, sizeof blob, &size, &nonce_offset, &nonce_size, err.text,
                                sizeof err.text),
              OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("no extranonce"), std::string::npos) << err.str();
    EXPECT_EQ(algo_->build_blob(plugin(), &t, nullptr, 0, 0, 0, blob, 39, &size, &nonce_offset, &nonce_size, err.text, sizeof err.text),
              OTD_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(size, 40u);
    t.blob_size = 80;
    EXPECT_EQ(algo_->build_blob(plugin(), &t, nullptr, 0, 0, 0, blob, sizeof blob, &size, &nonce_offset, &nonce_size, err.text,
                                sizeof err.text),
              OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("32-byte header hash, got 80 bytes"), std::string::npos) << err.str();
}

TEST_F(KawpowPlugin, DifficultyIsInBitcoinUnits) {
    uint8_t target[32];
    ASSERT_EQ(algo_->target_from_difficulty(plugin(), 1.0, target), OTD_OK);
    common::Uint256 t;
    std::memcpy(t.data(), target, 32);
    EXPECT_EQ(common::to_display_hex(t), "00000000ffff0000000000000000000000000000000000000000000000000000");
    double d = 0;
    ASSERT_EQ(algo_->difficulty_from_target(plugin(), target, &d), OTD_OK);
    EXPECT_EQ(d, 1.0);
    for (double want = 1e-3; want < 1e12; want *= 7.1) {
        ASSERT_EQ(algo_->target_from_difficulty(plugin(), want, target), OTD_OK);
        ASSERT_EQ(algo_->difficulty_from_target(plugin(), target, &d), OTD_OK);
        EXPECT_NEAR(d / want, 1.0, 1e-12) << want;
    }
    for (const double bad : {0.0, -2.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
        EXPECT_EQ(algo_->target_from_difficulty(plugin(), bad, target), OTD_ERR_INVALID_ARG) << bad;
    }
    const uint8_t zero[32] = {};
    EXPECT_EQ(algo_->difficulty_from_target(plugin(), zero, &d), OTD_ERR_INVALID_ARG);
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

class KawpowScan : public KawpowPlugin {
protected:
    void SetUp() override {
        th::ErrorBuffer err;
        ASSERT_EQ(algo_->create_scan_state(plugin(), light(49), nullptr, &state_, err.text, sizeof err.text), OTD_OK) << err.str();
        blob_ = hex(kVectors[1].header);
        blob_.resize(40, 0);
        work_ = {};
        work_.struct_size = sizeof work_;
        work_.work_id = 42;
        work_.algorithm = "kawpow";
        work_.blob = blob_.data();
        work_.blob_size = 40;
        work_.nonce_offset = 32;
        work_.nonce_size = 8;
        work_.height = 49;
        std::memset(work_.share_target, 0xff, 32);
        work_.share_target[31] = 0x3f;  // a quarter of all hashes
        std::memset(work_.block_target, 0, 32);
        work_.algorithm_context = light(49);
        work_.algorithm_context_id = 1;
        work_.abort_flag = &abort_;
        work_.on_found = &collect;
        work_.on_found_user = &collected_;
    }
    void TearDown() override {
        if (state_ != nullptr) algo_->destroy_scan_state(plugin(), state_);
    }
    otd_status_t scan() {
        stats_ = {};
        stats_.struct_size = sizeof stats_;
        return algo_->scan(plugin(), state_, &work_, &stats_);
    }

    otd_scan_state_t* state_ = nullptr;
    std::vector<uint8_t> blob_;
    otd_work_unit_t work_{};
    volatile uint32_t abort_ = 0;
    Collected collected_;
    otd_scan_stats_t stats_{};
};

TEST_F(KawpowScan, FindsTheVectorNonce) {
    // Block 49's vector nonce, in a range of 5, with its own hash as the target.
    const KawpowVector& v = kVectors[1];
    const common::Uint256 hash = common::from_display_hex(v.final_hash).value();
    std::memcpy(work_.share_target, hash.data(), 32);
    work_.nonce_start = v.nonce - 2;
    work_.nonce_count = 5;
    ASSERT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.hashes, 5u);
    ASSERT_GE(collected_.found.size(), 1u);
    bool saw = false;
    for (const auto& f : collected_.found) {
        if (f.nonce != v.nonce) continue;
        saw = true;
        EXPECT_EQ(f.work_id, 42u);
        EXPECT_EQ(f.flags & OTD_FOUND_HAS_MIX, OTD_FOUND_HAS_MIX);
        EXPECT_EQ(hex_of(f.mix), v.mix);
        EXPECT_EQ(hex_of(f.hash), reversed_hex(v.final_hash)) << "the found hash is the little-endian number, as verify's";
    }
    EXPECT_TRUE(saw);
    EXPECT_EQ(hex_of(blob_.data() + 32, 8), "0000000000000000") << "the host's blob is not written to";
}

TEST_F(KawpowScan, MinesAnEasyTargetAndEveryFoundNonceVerifies) {
    work_.nonce_start = 1000;
    work_.nonce_count = 12;
    ASSERT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.hashes, 12u);
    EXPECT_EQ(stats_.found, collected_.found.size());
    EXPECT_GE(collected_.found.size(), 1u) << "a quarter of 12 hashes should meet the target";
    common::Uint256 target;
    std::memcpy(target.data(), work_.share_target, 32);
    for (const auto& f : collected_.found) {
        SCOPED_TRACE(f.nonce);
        std::vector<uint8_t> blob = blob_;
        put_le64(blob.data() + 32, f.nonce);
        otd_verify_result_t r;
        th::ErrorBuffer err;
        ASSERT_EQ(verify(light(49), blob, 0, 49, f.mix, target, {}, r, err), OTD_OK) << err.str();
        EXPECT_EQ(r.mix_ok, 1u);
        EXPECT_EQ(r.meets_share, 1u);
        EXPECT_EQ(hex_of(r.hash), hex_of(f.hash));
    }
}

TEST_F(KawpowScan, AbortBeforeAndDuringTheScan) {
    abort_ = 1;
    work_.nonce_start = 0;
    work_.nonce_count = 100;
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(stats_.hashes, 0u);
    EXPECT_TRUE(collected_.found.empty());

    abort_ = 0;
    std::memset(work_.share_target, 0xff, 32);
    collected_.raise_abort = &abort_;  // the first found nonce raises the flag
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    std::cout << "[          ] abort seen after " << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
              << " ms\n";
    EXPECT_EQ(stats_.hashes, 1u);
    EXPECT_EQ(collected_.found.size(), 1u);

    abort_ = 0;
    collected_ = {};
    collected_.answer = OTD_ERR_ABORTED;
    EXPECT_EQ(scan(), OTD_ERR_ABORTED);
    EXPECT_EQ(stats_.hashes, 1u);
}

TEST_F(KawpowScan, RefusesMalformedWork) {
    work_.nonce_count = 1;
    work_.height = 7500;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    EXPECT_TRUE(host_->logged("height 7500 is in epoch 1, the context is for epoch 0", OTD_LOG_ERROR));
    work_.height = 49;
    work_.blob_size = 32;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    EXPECT_TRUE(host_->logged("expected a 40-byte blob", OTD_LOG_ERROR));
    work_.blob_size = 40;
    work_.nonce_size = 4;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    work_.nonce_size = 8;
    work_.nonce_start = UINT64_MAX;
    work_.nonce_count = 2;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    EXPECT_TRUE(host_->logged("leaves the 64-bit nonce space", OTD_LOG_ERROR));
    work_.nonce_count = 1;  // the very last nonce is fine
    std::memset(work_.share_target, 0, 32);
    EXPECT_EQ(scan(), OTD_OK);
    EXPECT_EQ(stats_.hashes, 1u);
    work_.algorithm_context = nullptr;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    work_.algorithm_context = light(49);
    work_.on_found = nullptr;
    EXPECT_EQ(scan(), OTD_ERR_INVALID_ARG);
    work_.on_found = &collect;
    EXPECT_EQ(algo_->scan(plugin(), nullptr, &work_, &stats_), OTD_ERR_INVALID_ARG);
}

// ---------------------------------------------------------------------------------------------------------
// The ProgPoW extension

const otd_progpow_t& progpow_table(const otd_plugin_t* p) {
    return *static_cast<const otd_progpow_t*>(p->get_interface(p, OTD_PROGPOW_INTERFACE_ID));
}

TEST_F(KawpowPlugin, ProgpowParams) {
    const otd_progpow_t& pp = progpow_table(plugin());
    EXPECT_EQ(pp.struct_size, sizeof(otd_progpow_t));
    otd_progpow_params_t p{};
    p.struct_size = sizeof p;
    ASSERT_EQ(pp.get_params(plugin(), &p), OTD_OK);
    EXPECT_EQ(p.struct_size, sizeof p);
    EXPECT_EQ(p.period_length, 3u);
    EXPECT_EQ(p.lanes, 16u);
    EXPECT_EQ(p.regs, 32u);
    EXPECT_EQ(p.dag_loads, 4u);
    EXPECT_EQ(p.cache_bytes, 16384u);
    EXPECT_EQ(p.cnt_dag, 64u);
    EXPECT_EQ(p.cnt_cache, 11u);
    EXPECT_EQ(p.cnt_math, 18u);
    EXPECT_EQ(p.dataset_parents, 512u);
    EXPECT_EQ(p.epoch_length, 7500u);
    EXPECT_STREQ(p.variant, "kawpow (ProgPoW 0.9.4)");
    // An older, smaller caller struct is filled only up to its size.
    otd_progpow_params_t small{};
    std::memset(&small, 0xab, sizeof small);
    small.struct_size = OTD_FIELD_END(otd_progpow_params_t, lanes);
    ASSERT_EQ(pp.get_params(plugin(), &small), OTD_OK);
    EXPECT_EQ(small.lanes, 16u);
    EXPECT_EQ(small.regs, 0xababababu);
    EXPECT_EQ(pp.get_params(plugin(), nullptr), OTD_ERR_INVALID_ARG);
}

TEST_F(KawpowPlugin, ProgpowEpoch) {
    const otd_progpow_t& pp = progpow_table(plugin());
    otd_progpow_epoch_t e{};
    e.struct_size = sizeof e;
    th::ErrorBuffer err;
    ASSERT_EQ(pp.get_epoch(plugin(), 0, &e, err.text, sizeof err.text), OTD_OK) << err.str();
    EXPECT_EQ(e.light_cache_bytes, 16776896u);  // ethash_sizes, epoch 0
    EXPECT_EQ(e.dataset_bytes, 1073739904u);
    EXPECT_EQ(e.dag_elements, 1073739904u / 256);
    EXPECT_EQ(hex_of(e.seed), std::string(64, '0'));
    ASSERT_EQ(pp.get_epoch(plugin(), 1, &e, err.text, sizeof err.text), OTD_OK);
    EXPECT_EQ(hex_of(e.seed), "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563");
    EXPECT_EQ(e.dataset_bytes, 1082130304u);
    EXPECT_EQ(pp.get_epoch(plugin(), uint64_t{1} << 40, &e, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
}

TEST_F(KawpowPlugin, ProgpowPeriodSource) {
    const otd_progpow_t& pp = progpow_table(plugin());
    th::ErrorBuffer err;
    size_t needed = 0;
    EXPECT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_OPENCL, nullptr, 0, &needed, err.text, sizeof err.text),
              OTD_ERR_BUFFER_TOO_SMALL);
    ASSERT_GT(needed, 1000u);
    std::string a(needed, '\x7f');
    EXPECT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_OPENCL, a.data(), needed - 1, &needed, err.text, sizeof err.text),
              OTD_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(a[0], '\x7f') << "nothing written when too small";
    ASSERT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_OPENCL, a.data(), a.size(), &needed, err.text, sizeof err.text), OTD_OK);
    EXPECT_EQ(a.back(), '\0');
    EXPECT_EQ(std::strlen(a.c_str()), needed - 1);
    std::string b(needed, '\0');
    ASSERT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_OPENCL, b.data(), b.size(), &needed, err.text, sizeof err.text), OTD_OK);
    EXPECT_EQ(a, b) << "deterministic";
    EXPECT_NE(a.find("period 16, blocks 48..50"), std::string::npos);
    EXPECT_NE(a.find("barrier(CLK_LOCAL_MEM_FENCE)"), std::string::npos);
    size_t loads = 0;
    for (size_t at = a.find("c_dag[offset]"); at != std::string::npos; at = a.find("c_dag[offset]", at + 1)) ++loads;
    EXPECT_EQ(loads, 11u);

    ASSERT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_CUDA, nullptr, 0, &needed, err.text, sizeof err.text), OTD_ERR_BUFFER_TOO_SMALL);
    std::string cuda(needed, '\0');
    ASSERT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_CUDA, cuda.data(), cuda.size(), &needed, err.text, sizeof err.text), OTD_OK);
    EXPECT_NE(cuda.find("__shfl_sync"), std::string::npos);

    ASSERT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_GLSL, nullptr, 0, &needed, err.text, sizeof err.text), OTD_ERR_BUFFER_TOO_SMALL);
    std::string glsl(needed, '\0');
    ASSERT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_GLSL, glsl.data(), glsl.size(), &needed, err.text, sizeof err.text), OTD_OK);
    EXPECT_NE(glsl.find("dialect GLSL (Vulkan)"), std::string::npos);
    EXPECT_NE(glsl.find("barrier();"), std::string::npos);
    EXPECT_NE(glsl.find("shared uint c_dag[PROGPOW_CACHE_WORDS];"), std::string::npos);

    EXPECT_EQ(pp.get_period_source(plugin(), 16, 4, b.data(), b.size(), &needed, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("dialect 4"), std::string::npos) << err.str();
    EXPECT_EQ(pp.get_period_source(plugin(), 16, OTD_PROGPOW_CUDA, b.data(), b.size(), nullptr, err.text, sizeof err.text),
              OTD_ERR_INVALID_ARG);
}

}  // namespace

namespace {

// The full DAG of epoch 0 (1 GiB, 512 parents per item) takes minutes on two cores: only with
// OTEDAMA_KAWPOW_FULL_DAG=1 (the sparse-dataset test in test_kawpow.cpp covers the full path otherwise).
TEST_F(KawpowPlugin, FullContextOfEpochZero) {
    const char* opt_in = std::getenv("OTEDAMA_KAWPOW_FULL_DAG");
    if (opt_in == nullptr || std::string(opt_in) != "1") GTEST_SKIP() << "set OTEDAMA_KAWPOW_FULL_DAG=1 to build epoch 0's 1 GiB DAG";
    th::ErrorBuffer err;
    otd_algo_context_t* full = nullptr;
    host_->clear_logs();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(prepare(0, OTD_CONTEXT_FULL, nullptr, 0, &full, err), OTD_OK) << err.str();
    std::cout << "[          ] epoch 0 full context in " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s\n";
    EXPECT_TRUE(host_->logged("kawpow: epoch 0 DAG 1024.0 MiB built", OTD_LOG_INFO));
    for (size_t i = 0; i < 4; ++i) {
        const KawpowVector& v = kVectors[i];
        const auto mix = hex(v.mix);
        otd_verify_result_t r;
        ASSERT_EQ(verify(full, blob_of(v), 0, v.height, mix.data(), common::kUint256Max, {}, r, err), OTD_OK) << err.str();
        EXPECT_EQ(r.mix_ok, 1u) << v.height;
        EXPECT_EQ(hex_of(r.hash), reversed_hex(v.final_hash)) << v.height;
    }
    // Full-DAG scan speed, for the record.
    otd_scan_state_t* state = nullptr;
    ASSERT_EQ(algo_->create_scan_state(plugin(), full, nullptr, &state, err.text, sizeof err.text), OTD_OK);
    std::vector<uint8_t> blob = blob_of(kVectors[1]);
    std::memset(blob.data() + 32, 0, 8);
    otd_work_unit_t work{};
    work.struct_size = sizeof work;
    work.blob = blob.data();
    work.blob_size = 40;
    work.nonce_offset = 32;
    work.nonce_size = 8;
    work.nonce_count = 2000;
    work.height = 49;
    work.algorithm_context = full;
    work.on_found = &collect;
    Collected collected;
    work.on_found_user = &collected;
    otd_scan_stats_t stats{};
    stats.struct_size = sizeof stats;
    const auto s0 = std::chrono::steady_clock::now();
    ASSERT_EQ(algo_->scan(plugin(), state, &work, &stats), OTD_OK);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    std::cout << "[          ] full-DAG scan: " << static_cast<double>(stats.hashes) / s << " H/s on one thread\n";
    algo_->destroy_scan_state(plugin(), state);
    algo_->release_context(plugin(), full);
}

}  // namespace
