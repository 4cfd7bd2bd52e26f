// Tests for plugins/algorithm/kawpow/kawpow.{hpp,cpp}: KawPow on real epochs' light caches, against
// Ravencoin's published vectors, and the full-dataset path against the light one.
//
// Vectors, copied from the project's pow-vectors.json with its citations:
//  - "kawpow": RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp (HEAD 6d48ae01, exercised
//    by src/test/kawpow_tests.cpp kawpow_hash_and_verify), identical in RavenCommunity/cpp-kawpow
//    test/unittests/progpow_test_vectors.hpp (HEAD 061d3410). header/mix/final are raw bytes; the nonce is
//    the hex of the 64-bit value. Blocks 0..30049 cover KawPow epochs 0, 3 and 4 (7500 blocks each): three
//    light caches of 16-17 MiB, a few seconds each to build.
//  - "kawpow_params" l1_cache_epoch0_first20_u32: Ravencoin src/test/kawpow_tests.cpp kawpow_l1_cache.
//
// The full dataset of epoch 0 is 1 GiB with 512 parents per item: minutes on two cores, too slow here. The
// full path is checked instead on a sparse dataset: a 1 GiB anonymous mapping (pages untouched stay
// unallocated) holding only the entries a light hash read, computed from the light cache.
#include "kawpow.hpp"
#include "progpow.hpp"

#include <otedama/common/hex.hpp>

#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace {

namespace kp = otedama::kawpow;
namespace eth = otedama::ethash;
namespace common = otedama::common;

kp::Hash256 h256(const char* hex) { return common::from_hex_array<32>(hex).value(); }
std::string hex(const kp::Hash256& h) { return common::to_hex(h); }

struct KawpowVector {
    uint64_t height;
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
};
// RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp (see the top of this file).
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

/// Light epochs built once for the whole test program (each takes seconds).
const kp::LightEpoch& light_epoch(uint64_t epoch) {
    static std::mutex mu;
    static std::map<uint64_t, std::unique_ptr<kp::LightEpoch>> built;
    std::lock_guard lock(mu);
    auto& slot = built[epoch];
    if (!slot) {
        const auto t0 = std::chrono::steady_clock::now();
        slot = std::make_unique<kp::LightEpoch>(std::make_shared<const eth::LightCache>(epoch), eth::best_impl());
        std::cout << "[          ] light cache + L1 of epoch " << epoch << " built in "
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    }
    return *slot;
}

TEST(KawpowEpoch, L1CacheOfEpochZero) {
    // Ravencoin src/test/kawpow_tests.cpp kawpow_l1_cache (512-parent DAG).
    const uint32_t expected[20] = {2492749011u, 430724829u,  2029256771u, 3095580433u, 3583790154u,
                                   3025086503u, 805985885u,  4121693337u, 2320382801u, 3763444918u,
                                   1006127899u, 1480743010u, 2592936015u, 2598973744u, 3038068233u,
                                   2754267228u, 2867798800u, 2342573634u, 467767296u,  246004123u};
    const kp::LightEpoch& e = light_epoch(0);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(e.l1().words[static_cast<size_t>(i)], expected[i]) << i;
    // The L1 cache is DAG items 0..255 with 512 parents: every implementation agrees with the scalar one.
    for (const eth::Impl impl : eth::kAllImpls) {
        if (!eth::impl_supported(impl)) continue;
        SCOPED_TRACE(eth::impl_name(impl));
        const kp::L1Cache l1 = kp::compute_l1_cache(e.cache(), impl);
        EXPECT_EQ(l1.words, e.l1().words);
    }
    EXPECT_EQ(e.entry_count(), eth::full_dataset_size(0) / 256);
}

TEST(KawpowEpoch, EntryIsFourConsecutiveItemsWithFiveHundredTwelveParents) {
    const kp::LightEpoch& e = light_epoch(0);
    for (const uint32_t index : {0u, 1u, 12345u, static_cast<uint32_t>(e.entry_count() - 1)}) {
        uint32_t words[kp::kEntryWords];
        e.entry(index, words);
        for (uint32_t k = 0; k < kp::kItemsPerEntry; ++k) {
            const eth::Item item = eth::dataset_item(e.cache(), index * 4 + k, 512, eth::Impl::kScalar);
            for (uint32_t w = 0; w < 16; ++w) ASSERT_EQ(words[k * 16 + w], item.words[w]) << index << " item " << k;
        }
    }
}

TEST(KawpowHash, RavencoinVectorsInLightMode) {
    for (const KawpowVector& v : kVectors) {
        SCOPED_TRACE(v.height);
        const kp::LightEpoch& e = light_epoch(kp::epoch_of(v.height));
        const kp::Program program = kp::generate_program(kp::period_of(v.height));
        const kp::HashResult r = kp::hash_light(e, program, h256(v.header), v.nonce);
        EXPECT_EQ(hex(r.mix), v.mix);
        EXPECT_EQ(hex(r.final_hash), v.final_hash);
    }
}

TEST(KawpowHash, EveryImplementationGivesTheVector) {
    const KawpowVector& v = kVectors[3];
    const kp::LightEpoch& shared = light_epoch(0);
    for (const eth::Impl impl : eth::kAllImpls) {
        if (!eth::impl_supported(impl)) continue;
        SCOPED_TRACE(eth::impl_name(impl));
        const kp::LightEpoch e(shared.cache_ptr(), impl);
        const kp::HashResult r = kp::hash_light(e, kp::generate_program(kp::period_of(v.height)), h256(v.header), v.nonce);
        EXPECT_EQ(hex(r.final_hash), v.final_hash);
    }
}

TEST(KawpowHash, TheProgramDependsOnThePeriodNotTheHeight) {
    // Blocks 49 and 50 are in periods 16 and 16: same program. Block 51 starts period 17.
    EXPECT_EQ(kp::period_of(49), 16u);
    EXPECT_EQ(kp::period_of(50), 16u);
    EXPECT_EQ(kp::period_of(51), 17u);
    const kp::LightEpoch& e = light_epoch(0);
    const KawpowVector& v = kVectors[2];  // block 50
    const auto at = [&](uint64_t height) {
        return hex(kp::hash_light(e, kp::generate_program(kp::period_of(height)), h256(v.header), v.nonce).final_hash);
    };
    EXPECT_EQ(at(48), v.final_hash);
    EXPECT_NE(at(51), v.final_hash);
}

TEST(KawpowHash, AbortStopsTheDagWork) {
    const kp::LightEpoch& e = light_epoch(0);
    const kp::Program program = kp::generate_program(0);
    volatile uint32_t abort = 1;
    kp::HashResult r;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(kp::hash_light(e, program, {}, 0, r, &abort));
    const auto aborted = std::chrono::steady_clock::now() - t0;
    abort = 0;
    EXPECT_TRUE(kp::hash_light(e, program, {}, 0, r, &abort));
    EXPECT_EQ(hex(r.final_hash), kVectors[0].final_hash);
    std::cout << "[          ] aborted hash: " << std::chrono::duration<double, std::micro>(aborted).count() << " us\n";
}

/// A 1 GiB mapping of the epoch's dataset where only some entries are filled in.
class SparseDataset {
public:
    explicit SparseDataset(const kp::LightEpoch& e) : epoch_(e), items_(eth::full_dataset_size(e.epoch()) / 64) {
        bytes_ = items_ * 64;
        void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        data_ = p == MAP_FAILED ? nullptr : static_cast<eth::Item*>(p);
    }
    ~SparseDataset() {
        if (data_ != nullptr) ::munmap(data_, bytes_);
    }
    SparseDataset(const SparseDataset&) = delete;
    SparseDataset& operator=(const SparseDataset&) = delete;

    [[nodiscard]] bool ok() const { return data_ != nullptr; }
    void fill_entry(uint32_t index) {
        if (!filled_.insert(index).second) return;
        epoch_.entry(index, data_[uint64_t{index} * 4].words);
    }
    void fill_l1() {
        for (uint32_t i = 0; i < kp::kCacheItems / kp::kItemsPerEntry; ++i) fill_entry(i);
    }
    [[nodiscard]] const eth::Item* items() const { return data_; }
    [[nodiscard]] uint64_t item_count() const { return items_; }

private:
    const kp::LightEpoch& epoch_;
    uint64_t items_;
    uint64_t bytes_ = 0;
    eth::Item* data_ = nullptr;
    std::set<uint32_t> filled_;
};

TEST(KawpowHash, FullDatasetPathMatchesLight) {
    const kp::LightEpoch& e = light_epoch(0);
    SparseDataset full(e);
    ASSERT_TRUE(full.ok()) << "cannot map 1 GiB of address space";
    full.fill_l1();
    // The L1 cache is the start of the DAG.
    EXPECT_EQ(std::memcmp(full.items(), e.l1().words.data(), kp::kCacheBytes), 0);
    for (size_t i = 0; i < 4; ++i) {
        const KawpowVector& v = kVectors[i];
        SCOPED_TRACE(v.height);
        const kp::Program program = kp::generate_program(kp::period_of(v.height));
        // Record the entries a light hash reads, put exactly those into the sparse dataset, hash on it.
        alignas(64) uint32_t words[kp::kEntryWords];
        const kp::HashResult light = kp::hash(program, e.l1(), e.entry_count(), h256(v.header), v.nonce, [&](uint32_t index) {
            full.fill_entry(index);
            e.entry(index, words);
            return static_cast<const uint32_t*>(words);
        });
        const kp::HashResult r = kp::hash_full(full.items(), full.item_count(), e.l1(), program, h256(v.header), v.nonce);
        EXPECT_EQ(hex(r.mix), v.mix);
        EXPECT_EQ(hex(r.final_hash), v.final_hash);
        EXPECT_EQ(hex(light.final_hash), v.final_hash);
    }
}

TEST(KawpowHash, LittleEndianFormIsTheReversedRawHash) {
    // Ravencoin: block hash = uint256S(to_hex(final_hash)): the raw bytes read as a big-endian number.
    const kp::Hash256 raw = h256(kVectors[4].final_hash);  // 022019e5...
    const kp::Hash256 le = kp::le_hash_of(raw);
    EXPECT_EQ(le[31], 0x02);
    EXPECT_EQ(le[0], 0x18);
    EXPECT_EQ(kp::le_hash_of(le), raw);
}

}  // namespace
