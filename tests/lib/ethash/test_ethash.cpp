// Known answers for lib/otedama/ethash, every implementation (scalar, AVX2, AVX-512) forced in turn; paths
// this CPU lacks are skipped with a message.
//
// Vectors (raw byte order as the sources print them; nonces as the hex of the 64-bit value), collected in the
// project's pow-vectors.json entries "ethash", "ethash_sizes", "ethash_epoch_seeds",
// "ethash_light_cache_keccak256", "ethash_epoch_number":
//  - chfast/ethash test/unittests/test_cases.hpp hash_test_cases (HEAD 17e80309ceb592b9b5175b831549a1cc160d1a08,
//    TEST(ethash, verify_hash_light)): blocks 0, 2 (epoch 0), 2683077 (epoch 89), 5000000 (epoch 166). The two
//    epoch-0 ones are also ethereum/tests PoWTests/ethash_tests.json "first" and "second" (HEAD
//    4c87ebbf024a3e9ec842bcce90564f629a3bcd82), with cache_size 16776896, full_size 1073739904 and
//    cache_hash 35ded12e... = chfast's light cache hash of epoch 0 below: two independent implementations.
//  - Sizes: the original ethereum/ethash table libethash/data_sizes.h (as in ifdefelse/ProgPOW, commit
//    d035ae56536d2e6fc71aad609ac5085c9785d1b3) and chfast/ethash test_ethash.cpp dataset_size_test_cases.
//  - Seeds, epoch numbers, light cache Keccak-256: chfast/ethash test/unittests/test_ethash.cpp
//    (epoch_seed_test_cases, TEST(ethash, get_epoch_number), TEST(ethash, light_cache)).
//  - "libethash": computed locally with libethash, the C reference (ethereum/ethash), as Debian 12 ships it
//    inside python3-pyethash 0.1.27 (calling ethash_calculate_dag_item, ethash_light_new_internal and
//    ethash_light_compute_internal of that library directly). The synthetic 16 KiB-cache / 80 KiB-dataset
//    answer a57562c7... also appears in public libethash consumers' tests.
//  - Etchash (ECIP-1099, https://ecips.ethereumclassic.org/ECIPs/ecip-1099): no published hash vectors were
//    found; the rule (seed of epoch E = ethash seed of epoch 2E, sizes of epoch E) is checked structurally
//    and its light hashes against libethash fed that seed and those sizes (libethash's own size table).
#include "otedama/ethash/ethash.hpp"
#include "otedama/ethash/kernels.hpp"

#include "otedama/common/hex.hpp"
#include "otedama/common/keccak.hpp"
#include "otedama/common/uint256.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace {

namespace ethash = otedama::ethash;
namespace common = otedama::common;

std::string hex(std::span<const uint8_t> bytes) { return common::to_hex(bytes); }
ethash::Hash256 hash256(const char* h) { return common::from_hex_array<32>(h).value(); }

/// Light caches are built once per test process and shared (they take up to a second each).
std::shared_ptr<const ethash::LightCache> cache_of(const ethash::Variant& v, uint64_t epoch) {
    static std::mutex mu;
    static std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const ethash::LightCache>> caches;
    std::lock_guard lock(mu);
    auto& slot = caches[{v.name, epoch}];
    if (!slot) slot = std::make_shared<const ethash::LightCache>(v, epoch);
    return slot;
}

/// The implementations this CPU runs; the others are announced as skipped.
std::vector<ethash::Impl> runnable_impls() {
    std::vector<ethash::Impl> out;
    for (const ethash::Impl impl : ethash::kAllImpls) {
        if (ethash::impl_supported(impl)) {
            out.push_back(impl);
        } else {
            std::cout << "[  SKIPPED ] implementation " << ethash::impl_name(impl) << ": this CPU (or build) lacks it\n";
        }
    }
    return out;
}

bool slow_tests_enabled() {
    const char* v = std::getenv("OTEDAMA_ETHASH_SLOW_TESTS");
    return v != nullptr && std::string(v) == "1";
}

// ---------------------------------------------------------------------------------------------------------
// Sizes, seeds, epochs

struct SizeCase {
    uint64_t epoch, light, full;
};
constexpr SizeCase kSizes[] = {
    {0, 16776896, 1073739904},     {1, 16907456, 1082130304},     {2, 17039296, 1090514816},
    {14, 18611392, 1191180416},    {17, 19004224, 1216345216},    {56, 24116672, 1543503488},
    {89, 28441792, 1820327552},    {158, 37486528, 2399139968},   {166, 38535104, 2466247808},
    {176, 39844928, 2550134144},   {2047, 285081536, 18245220736}, {30000, 3948936512, 252731976832},
};

TEST(EthashSizes, MatchTheTables) {
    for (const auto& c : kSizes) {
        EXPECT_EQ(ethash::light_cache_size(c.epoch), c.light) << "epoch " << c.epoch;
        EXPECT_EQ(ethash::full_dataset_size(c.epoch), c.full) << "epoch " << c.epoch;
    }
    // libethash's table, etchash epoch 195 (the ETC fork's first): see the etchash test below.
    EXPECT_EQ(ethash::light_cache_size(195), 42334912u);
    EXPECT_EQ(ethash::full_dataset_size(195), 2709518464u);
}

TEST(EthashSeeds, MatchChfast) {
    const std::pair<uint64_t, const char*> cases[] = {
        {0, "0000000000000000000000000000000000000000000000000000000000000000"},
        {1, "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563"},
        {171, "a9b0e0c9aca72c07ba06b5bbdae8b8f69e61878301508473379bb4f71807d707"},
        {2048, "20a7678ca7b50829183baac2e1e3c43fa3c4bcbc171b11cf5a9f30bebd172920"},
        {29998, "1222b1faed7f93098f8ae498621fb3479805a664b70186063861c46596c66164"},
        {29999, "ee1d0f61b054dff0f3025ebba821d405c8dc19a983e582e9fa5436fc3e7a07d8"},
        {32638, "9472a82f992649315e3977120843a5a246e375715bd70ee98b3dd77c63154e99"},  // max_epoch_number - 1
        {32639, "09b435f2d92d0ddee038c379be8db1f895c904282e9ceb790f519a6aa3f83810"},  // max_epoch_number
    };
    for (const auto& [epoch, seed] : cases) {
        EXPECT_EQ(hex(ethash::epoch_seed(epoch)), seed) << "epoch " << epoch;
        EXPECT_EQ(hex(ethash::epoch_seed(ethash::kEthash, epoch)), seed);
        EXPECT_EQ(hex(ethash::epoch_seed(ethash::kKawpow, epoch)), seed) << "kawpow counts its own epochs";
    }
    EXPECT_EQ(ethash::kMaxEpoch, 32639u);
    EXPECT_EQ(ethash::epoch_from_seed(hash256(cases[2].second)), 171);
    EXPECT_EQ(ethash::epoch_from_seed(hash256(cases[3].second)), 2048);
    EXPECT_EQ(ethash::epoch_from_seed(hash256(cases[3].second), 2048), -1) << "search bound is exclusive";
    EXPECT_EQ(ethash::epoch_from_seed(ethash::Hash256{}), 0);
    ethash::Hash256 bogus{};
    bogus[0] = 1;
    EXPECT_EQ(ethash::epoch_from_seed(bogus, 300), -1);
}

TEST(EthashSeeds, EtchashFollowsEcip1099) {
    // The seed of etchash epoch E is the ethash seed of 2E (30000-block periods keep counting); the sizes are
    // those of E. At the ETC fork, block 11,700,000 = ethash epoch 390 = etchash epoch 195.
    EXPECT_EQ(ethash::epoch_of(ethash::kEtchash, 11'700'000), 195u);
    EXPECT_EQ(ethash::epoch_of(ethash::kEthash, 11'700'000), 390u);
    EXPECT_EQ(ethash::epoch_of(ethash::kEtchash, 11'759'999), 195u);
    EXPECT_EQ(ethash::epoch_of(ethash::kEtchash, 11'760'000), 196u);
    for (const uint64_t e : {0u, 1u, 85u, 195u}) {
        EXPECT_EQ(ethash::epoch_seed(ethash::kEtchash, e), ethash::epoch_seed(2 * e)) << e;
        EXPECT_EQ(ethash::epoch_from_seed(ethash::kEtchash, ethash::epoch_seed(2 * e)), static_cast<int64_t>(e));
    }
    EXPECT_EQ(hex(ethash::epoch_seed(ethash::kEtchash, 1)), "510e4e770828ddbf7f7b00ab00a9f6adaf81c0dc9cc85f1f8249c256942d61d9");
    EXPECT_EQ(hex(ethash::epoch_seed(ethash::kEtchash, 195)), "e79f0f63030bf691445c2b9d0266b24a9619e355194067f2ad2c73a8e0a26c65");
    // An odd ethash epoch's seed is no etchash seed.
    EXPECT_EQ(ethash::epoch_from_seed(ethash::kEtchash, ethash::epoch_seed(391)), -1);
    EXPECT_EQ(ethash::epoch_from_seed(ethash::kEthash, ethash::epoch_seed(391)), 391);
}

TEST(EthashEpochs, MatchChfast) {
    const std::pair<uint64_t, uint64_t> cases[] = {{0, 0}, {1, 0}, {29999, 0}, {30000, 1}, {30001, 1}, {30002, 1}, {5000000, 166}};
    for (const auto& [block, epoch] : cases) EXPECT_EQ(ethash::epoch_of(ethash::kEthash, block), epoch) << block;
    EXPECT_EQ(ethash::epoch_of(ethash::kKawpow, 7499), 0u);
    EXPECT_EQ(ethash::epoch_of(ethash::kKawpow, 7500), 1u);
}

// ---------------------------------------------------------------------------------------------------------
// Keccak lanes and dataset items, every implementation against the scalar one and the specification

TEST(EthashKernels, KeccakLanesMatchTheCommonPermutation) {
    std::mt19937_64 rng(42);
    for (const ethash::Impl impl : runnable_impls()) {
        SCOPED_TRACE(ethash::impl_name(impl));
        const ethash::detail::Kernel* k = impl == ethash::Impl::kScalar ? &ethash::detail::scalar_kernel()
                                          : impl == ethash::Impl::kAvx2 ? ethash::detail::avx2_kernel()
                                                                        : ethash::detail::avx512_kernel();
        ASSERT_NE(k, nullptr);
        for (uint32_t count = 1; count <= ethash::detail::kMaxChains; ++count) {
            ethash::detail::KeccakStates st{};
            std::vector<std::array<uint64_t, 25>> want(count);
            for (uint32_t c = 0; c < count; ++c) {
                for (int w = 0; w < 25; ++w) want[c][w] = st.s[w][c] = rng();
                common::keccak_f1600(want[c].data());
            }
            k->keccak_f1600(st, count);
            for (uint32_t c = 0; c < count; ++c) {
                for (int w = 0; w < 25; ++w) ASSERT_EQ(st.s[w][c], want[c][w]) << "count " << count << " chain " << c << " word " << w;
            }
        }
        // The single-item Keccak-512 of the light cache's chains.
        for (int i = 0; i < 20; ++i) {
            ethash::Item item;
            for (auto& lane : item.lanes) lane = rng();
            uint8_t want[64];
            common::keccak512(item.bytes, 64, want);
            k->keccak512_one(item);
            ASSERT_EQ(hex(item.bytes), hex(want));
        }
    }
}

/// The specification's calc_dataset_item, written plainly (common Keccak, % for the modulo).
ethash::Item reference_item(const ethash::LightCache& cache, uint32_t index, uint32_t parents) {
    const uint32_t n = cache.item_count();
    ethash::Item mix = cache.items()[index % n];
    mix.words[0] ^= index;
    common::keccak512(mix.bytes, 64, mix.bytes);
    for (uint32_t j = 0; j < parents; ++j) {
        const ethash::Item& parent = cache.items()[ethash::fnv1(index ^ j, mix.words[j % 16]) % n];
        for (int w = 0; w < 16; ++w) mix.words[w] = ethash::fnv1(mix.words[w], parent.words[w]);
    }
    common::keccak512(mix.bytes, 64, mix.bytes);
    return mix;
}

TEST(EthashItems, EpochZeroItemsMatchLibethash) {
    const auto cache = cache_of(ethash::kEthash, 0);
    const std::pair<uint32_t, const char*> cases[] = {
        {0, "22db2229cc516c46d2210086f1ab417e0bd1c3827c5ecc6af7d3a33f8dae332bab5aa31fc58e71cff27666e81bf418775e74839743ca9d410fdf514d009bcec2"},
        {1, "e5263184c4985ca0570d1ebdf507049e427dc86c7e96485739c0960a2ce4e6eb386d5aa39471876225c23c5b69443f6d5db8120fe3204cedcfefd0347f69ec1d"},
        {13, "86af957341fa49a266de36d42a09fb7ae7d87d3bb83d5731fd2d995001d2010294296b4b286f380be30838a94d6411a89b300365af06a87d547dc7e0bede6ac9"},
        {8388607, "674f4ed39f339c897e579e1b4ae530c2c78a4c5ccedfb67f726c167592eda9cc91c35edd7a70d86d8cfd6f85fd1e5f4eeb7e4c8b3e43c33070df4509a08397ca"},
        {16777215, "2d4f78c35722706b78bd7723ae2ad4a2d2076031650cbcf3e8e244e24e81fd23e154d0c5d828d87b0e18b80b4aa9db19cf21ff53e6c2a77bc6413fe9099c8f91"},
        {4294967295u, "d8ef246f8d27ea4c41877cc35afec470564e60bbe5e59c2d0e7a8e0e170594381c89854754a58c79811d824b1833ff6255ae1e255033e54db4a7da43c046b94b"},
    };
    for (const ethash::Impl impl : runnable_impls()) {
        SCOPED_TRACE(ethash::impl_name(impl));
        for (const auto& [index, want] : cases) {
            const ethash::Item item = ethash::dataset_item(*cache, index, 256, impl);
            EXPECT_EQ(hex(item.bytes), want) << "item " << index;
        }
    }
    EXPECT_EQ(hex(reference_item(*cache, 13, 256).bytes), cases[2].second) << "the plain specification agrees";
}

TEST(EthashItems, EveryWidthAndParentCountMatchesTheSpecification) {
    // A small cache: every light-cache read hits, so this checks arithmetic only, for KawPow's 512 parents
    // and a parent count that is not a multiple of 16 (the kernels' tail loop) too.
    const ethash::LightCache cache(ethash::epoch_seed(3), 1021, 128 * 4099);
    std::mt19937 rng(7);
    for (const uint32_t parents : {256u, 512u, 37u}) {
        std::vector<uint32_t> index(37);
        for (auto& i : index) i = rng();
        std::vector<ethash::Item> want;
        for (const uint32_t i : index) want.push_back(reference_item(cache, i, parents));
        for (const ethash::Impl impl : runnable_impls()) {
            SCOPED_TRACE(std::string(ethash::impl_name(impl)) + " parents " + std::to_string(parents));
            const ethash::detail::Kernel* k = impl == ethash::Impl::kScalar ? &ethash::detail::scalar_kernel()
                                              : impl == ethash::Impl::kAvx2 ? ethash::detail::avx2_kernel()
                                                                            : ethash::detail::avx512_kernel();
            const ethash::detail::CacheView view{cache.items(), cache.item_count(), cache.item_count_reciprocal()};
            for (uint32_t count = 1; count <= ethash::detail::kMaxChains; ++count) {
                std::vector<ethash::Item> out(count);
                k->items(view, parents, index.data() + count, count, out.data());
                for (uint32_t c = 0; c < count; ++c) {
                    ASSERT_EQ(hex(out[c].bytes), hex(want[count + c].bytes)) << "width " << count << " chain " << c;
                }
            }
            // dataset_items: consecutive items, crossing the kernels' chunk widths.
            std::vector<ethash::Item> run(53);
            ethash::dataset_items(cache, 4000, 53, parents, run.data(), impl);
            for (uint32_t i = 0; i < 53; i += 13) {
                EXPECT_EQ(hex(run[i].bytes), hex(reference_item(cache, 4000 + i, parents).bytes)) << i;
            }
        }
    }
}

TEST(EthashItems, FastModuloIsExact) {
    std::mt19937 rng(11);
    for (const uint32_t n : {2u, 3u, 262139u, 4294967291u, 0xffffffffu, 1021u}) {
        const uint64_t r = ethash::detail::fast_mod_reciprocal(n);
        for (uint32_t x : {0u, 1u, n - 1, n, 0xffffffffu}) EXPECT_EQ(ethash::detail::fast_mod(x, r, n), x % n) << x << " % " << n;
        for (int i = 0; i < 10000; ++i) {
            const uint32_t x = rng();
            ASSERT_EQ(ethash::detail::fast_mod(x, r, n), x % n) << x << " % " << n;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Light caches

TEST(EthashLightCache, Keccak256OfTheCacheMatchesChfastAndEthereumTests) {
    struct Case {
        uint64_t epoch;
        const char* hash;
        bool slow;
    };
    const Case cases[] = {
        {0, "35ded12eecf2ce2e8da2e15c06d463aae9b84cb2530a00b932e4bbc484cde353", false},
        {171, "468ef97519bd780a0dbd19d46c099118d6f4b777c1b8d0d4b0d6f62a5018100e", false},
        // 285 MB and several seconds: opt-in (OTEDAMA_ETHASH_SLOW_TESTS=1).
        {2047, "47e5913c1f0ffffa5ba1049f6d7960259a5e7e8736e3f032cc7a04e7b29ffb42", true},
    };
    for (const auto& c : cases) {
        if (c.slow && !slow_tests_enabled()) {
            std::cout << "[  SKIPPED ] light cache of epoch " << c.epoch << " (set OTEDAMA_ETHASH_SLOW_TESTS=1)\n";
            continue;
        }
        const auto start = std::chrono::steady_clock::now();
        const auto cache = c.slow ? std::make_shared<const ethash::LightCache>(c.epoch) : cache_of(ethash::kEthash, c.epoch);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << "light cache of epoch " << c.epoch << ": " << cache->bytes() << " bytes, built in " << seconds << " s\n";
        EXPECT_EQ(cache->epoch(), c.epoch);
        EXPECT_EQ(cache->bytes(), ethash::light_cache_size(c.epoch));
        EXPECT_EQ(cache->dataset_bytes(), ethash::full_dataset_size(c.epoch));
        EXPECT_EQ(cache->seed(), ethash::epoch_seed(c.epoch));
        EXPECT_EQ(reinterpret_cast<uintptr_t>(cache->items()) % 64, 0u) << "64-byte aligned";
        uint8_t h[32];
        common::keccak256(cache->items()[0].bytes, cache->bytes(), h);
        EXPECT_EQ(hex(h), c.hash) << "epoch " << c.epoch;
    }
}

TEST(EthashLightCache, RefusesBadGeometry) {
    EXPECT_THROW(ethash::LightCache(ethash::kMaxEpoch + 1), std::invalid_argument);
    EXPECT_THROW(ethash::LightCache(ethash::Hash256{}, 1, 128), std::invalid_argument);
    EXPECT_THROW(ethash::LightCache(ethash::Hash256{}, 16, 100), std::invalid_argument);
    EXPECT_THROW(ethash::LightCache(ethash::Hash256{}, 16, 0), std::invalid_argument);
}

TEST(EthashLightCache, EtchashEpochZeroIsEthashEpochZero) {
    const auto etc = cache_of(ethash::kEtchash, 0);
    const auto eth = cache_of(ethash::kEthash, 0);
    ASSERT_EQ(etc->bytes(), eth->bytes());
    EXPECT_EQ(std::memcmp(etc->items(), eth->items(), etc->bytes()), 0);
}

// ---------------------------------------------------------------------------------------------------------
// Hashimoto

struct HashCase {
    const char* what;
    uint64_t block;
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
};
const HashCase kHashCases[] = {
    {"chfast block 0 / ethereum/tests 'first'", 0, "2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce",
     0x4242424242424242, "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017",
     "dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906"},
    {"chfast block 2 / ethereum/tests 'second'", 2, "100cbec5e5ef82991290d0d93d758f19082e71f234cf479192a8b94df6da6bfe",
     0x307692cf71b12f6d, "e55d02c555a7969361cf74a9ec6211d8c14e4517930a00442f171bdb1698d175",
     "ab9b13423cface72cbec8424221651bc2e384ef0f7a560e038fc68c8d8684829"},
    {"chfast block 2683077", 2683077, "0313d03c5ed78694c90ecb3d04190b82d5b222c75ba4cab83383dde4d11ed512",
     0x8c5eaec000788d41, "93e85c97b34ccd8091e09ddb513fdc9e680fa8898d4a0737205e60af710a3dcb",
     "00000000000204882a6213f68fe89bc368df25c1ad999f82532a7433e99bc48e"},
    {"chfast block 5000000", 5000000, "bc544c2baba832600013bd5d1983f592e9557d04b0fb5ef7a100434a5fc8d52a",
     0x4617a20003ba3f25, "94cd4e844619ee20989578276a0a9046877d569d37ba076bf2e8e34f76189dea",
     "0000000000001a5b18ae31b7417b7c045bc6dd78cc3b694c4bebfaefef6b3c56"},
};

TEST(EthashHashimoto, LightMatchesPublishedVectors) {
    for (const ethash::Impl impl : runnable_impls()) {
        SCOPED_TRACE(ethash::impl_name(impl));
        for (const auto& c : kHashCases) {
            const auto cache = cache_of(ethash::kEthash, ethash::epoch_of(ethash::kEthash, c.block));
            const ethash::HashResult r = ethash::hashimoto_light(*cache, ethash::kEthash, hash256(c.header), c.nonce, impl);
            EXPECT_EQ(hex(r.mix), c.mix) << c.what;
            EXPECT_EQ(hex(r.final_hash), c.final_hash) << c.what;
        }
    }
    // The overload without an Impl (best_impl()).
    const ethash::HashResult r = ethash::hashimoto_light(*cache_of(ethash::kEthash, 0), ethash::kEthash, hash256(kHashCases[0].header), kHashCases[0].nonce);
    EXPECT_EQ(hex(r.final_hash), kHashCases[0].final_hash);
}

TEST(EthashHashimoto, SyntheticGeometryMatchesLibethash) {
    // libethash: ethash_light_new_internal(16 KiB, zero seed), ethash_light_compute_internal(80 KiB, header
    // 00 01 .. 1f, nonce).
    const ethash::LightCache cache(ethash::Hash256{}, 16 * 1024 / 64, 80 * 1024);
    ethash::Hash256 header;
    for (int i = 0; i < 32; ++i) header[i] = static_cast<uint8_t>(i);
    for (const ethash::Impl impl : runnable_impls()) {
        SCOPED_TRACE(ethash::impl_name(impl));
        ethash::HashResult r = ethash::hashimoto_light(cache, ethash::kEthash, header, 1, impl);
        EXPECT_EQ(hex(r.final_hash), "a57562c7a275ab2bae0b3a6afd5b6b425d9dc3b5f6e3d106adfc5401b687b424");
        EXPECT_EQ(hex(r.mix), "c854bad41b003055e79a241a6e071341021b972d0a0090064210b95bb60db98a");
        r = ethash::hashimoto_light(cache, ethash::kEthash, header, 0xffffffffffffffffULL, impl);
        EXPECT_EQ(hex(r.final_hash), "3f97713a0e447b8aab4ce71fae6e35280e1eba4ce839192f805823c301bf3de1");
        EXPECT_EQ(hex(r.mix), "70a6205041cedc3ea0a05cee1ec7b26f8b2ba4999406c507c354d7434bf6162d");
        EXPECT_EQ(hex(ethash::dataset_item(cache, 0, 256, impl).bytes),
                  "bb87755c1aa037d3552f0246bb490575bc2e451b32ed5332d4c61cff1d13b68a7f1bcbdbc4f96257b6782735aeead286203af2c1d46ed262cc17d575cdaa5133");
        EXPECT_EQ(hex(ethash::dataset_item(cache, 1279, 256, impl).bytes),
                  "d1c65793ac285c38e48cee646bd8c9630d8ec26621112187e77a24b361c1d890a6ada3bf921c16c813ce00be78d6502ef804af2730e5f6a45a2a49d5d3054182");
    }
}

TEST(EthashHashimoto, EtchashMatchesLibethashWithTheEcip1099SeedAndSizes) {
    struct Case {
        uint64_t epoch, nonce;
        const char* final_hash;
        const char* mix;
    };
    const Case cases[] = {
        {1, 0, "7fde94589639ccc11d47e2ecd4c4265d74c9e1e261f77d4cd979d982137b25cf", "ee0f8ff6acd932bb21ebfafa3873eef69f2eb4b8d1b5e57dfaf38c7effbdd42c"},
        {1, 0x1122334455667788, "27f6a21210770df39155a1586411b843dc7a455701227d33c1990e759bf53b23", "713cb08d5d4994b0f7a1347890db83533213754cc6390ceac0414480d9ee77ea"},
        {195, 0, "a5c433ddbfd5b5315665d559847341df477ccf5f67e759e07548eaa7a7fbbf4e", "60d09989ed770e3b87652c9e25966efd2a3f7975bced03405fbef1b29e5da97a"},
        {195, 0x1122334455667788, "ff37650db0fe839875e81e4f3d0ccd5166db24b1d85055dab1f44238f80a59f0", "1b8e7a58330e4a5801feea1f0252116d3847119fd942cf89d473c0c1b9fa5c52"},
    };
    ethash::Hash256 header;
    for (int i = 0; i < 32; ++i) header[i] = static_cast<uint8_t>(0xa0 + i);
    for (const auto& c : cases) {
        const auto cache = cache_of(ethash::kEtchash, c.epoch);
        EXPECT_EQ(cache->seed(), ethash::epoch_seed(2 * c.epoch));
        EXPECT_EQ(cache->bytes(), ethash::light_cache_size(c.epoch));
        for (const ethash::Impl impl : runnable_impls()) {
            SCOPED_TRACE(ethash::impl_name(impl));
            const ethash::HashResult r = ethash::hashimoto_light(*cache, ethash::kEtchash, header, c.nonce, impl);
            EXPECT_EQ(hex(r.final_hash), c.final_hash) << "etchash epoch " << c.epoch;
            EXPECT_EQ(hex(r.mix), c.mix);
        }
    }
}

TEST(EthashHashimoto, BatchesEqualSingleCalls) {
    const ethash::LightCache cache(ethash::epoch_seed(5), 2039, 128 * 1031);
    std::vector<ethash::HashInput> in(19);
    std::mt19937_64 rng(3);
    for (auto& x : in) {
        for (auto& b : x.header_hash) b = static_cast<uint8_t>(rng());
        x.nonce = rng();
    }
    std::vector<ethash::HashResult> want;
    for (const auto& x : in) want.push_back(ethash::hashimoto_light(cache, ethash::kEthash, x.header_hash, x.nonce, ethash::Impl::kScalar));
    for (const ethash::Impl impl : runnable_impls()) {
        SCOPED_TRACE(ethash::impl_name(impl));
        for (std::size_t n = 1; n <= in.size(); n += 3) {
            std::vector<ethash::HashResult> out(n);
            ethash::hashimoto_light_batch(cache, ethash::kEthash, {in.data(), n}, out, impl);
            for (std::size_t i = 0; i < n; ++i) {
                ASSERT_EQ(hex(out[i].final_hash), hex(want[i].final_hash)) << "batch of " << n << ", hash " << i;
                ASSERT_EQ(hex(out[i].mix), hex(want[i].mix));
            }
        }
    }
}

TEST(EthashFullDataset, SmallDatasetEqualsTheLightPath) {
    // A 2 MiB dataset from a small cache: the full and light paths must agree item for item and hash for hash,
    // whatever the implementation and the thread count that built it.
    const auto cache = std::make_shared<const ethash::LightCache>(ethash::epoch_seed(9), 4093, 128 * 16381);
    std::vector<ethash::Item> reference(cache->dataset_bytes() / 64);
    ethash::dataset_items(*cache, 0, static_cast<uint32_t>(reference.size()), 256, reference.data(), ethash::Impl::kScalar);
    for (const ethash::Impl impl : runnable_impls()) {
        for (const unsigned threads : {1u, 3u}) {
            SCOPED_TRACE(std::string(ethash::impl_name(impl)) + ", " + std::to_string(threads) + " threads");
            const ethash::FullDataset full(cache, ethash::kEthash, threads, impl);
            ASSERT_EQ(full.item_count(), reference.size());
            EXPECT_EQ(full.dataset_parents(), 256u);
            EXPECT_EQ(&full.cache(), cache.get());
            ASSERT_EQ(std::memcmp(full.items(), reference.data(), full.bytes()), 0);
            std::vector<ethash::HashInput> in(11);
            for (uint32_t i = 0; i < in.size(); ++i) in[i] = {ethash::epoch_seed(i), 1000003ULL * i};
            std::vector<ethash::HashResult> batch(in.size());
            ethash::hashimoto_full_batch(full, in, batch, impl);
            for (uint32_t i = 0; i < in.size(); ++i) {
                const ethash::HashResult light = ethash::hashimoto_light(*cache, ethash::kEthash, in[i].header_hash, in[i].nonce, impl);
                const ethash::HashResult one = ethash::hashimoto_full(full, in[i].header_hash, in[i].nonce, impl);
                EXPECT_EQ(hex(one.final_hash), hex(light.final_hash));
                EXPECT_EQ(hex(one.mix), hex(light.mix));
                EXPECT_EQ(hex(batch[i].final_hash), hex(light.final_hash));
            }
        }
    }
}

struct CountingMemory {
    std::size_t allocated = 0, released = 0;
    static void* allocate(void* user, std::size_t bytes) {
        static_cast<CountingMemory*>(user)->allocated += bytes;
        return std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    }
    static void release(void* user, void* p, std::size_t bytes) {
        static_cast<CountingMemory*>(user)->released += bytes;
        std::free(p);
    }
};

TEST(EthashFullDataset, UsesTheCallersMemory) {
    const auto cache = std::make_shared<const ethash::LightCache>(ethash::epoch_seed(1), 251, 128 * 509);
    CountingMemory counter;
    const ethash::DatasetMemory memory{&CountingMemory::allocate, &CountingMemory::release, &counter};
    {
        const ethash::FullDataset full(cache, ethash::kKawpow, 2, ethash::best_impl(), &memory);
        EXPECT_EQ(counter.allocated, 128u * 509);
        EXPECT_EQ(full.dataset_parents(), 512u);
        EXPECT_EQ(hex(full.items()[77].bytes), hex(reference_item(*cache, 77, 512).bytes));
    }
    EXPECT_EQ(counter.released, counter.allocated);
}

TEST(EthashFullDataset, EpochZeroMatchesPublishedVectors) {
    if (!slow_tests_enabled()) GTEST_SKIP() << "builds the 1 GiB epoch-0 DAG (set OTEDAMA_ETHASH_SLOW_TESTS=1)";
    const auto start = std::chrono::steady_clock::now();
    const ethash::FullDataset full(cache_of(ethash::kEthash, 0), ethash::kEthash, 0);
    std::cout << "epoch-0 DAG (" << full.bytes() << " bytes) built in "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s ("
              << ethash::impl_name(ethash::best_impl()) << ")\n";
    for (const ethash::Impl impl : runnable_impls()) {
        for (const auto& c : kHashCases) {
            if (c.block >= 30000) continue;
            const ethash::HashResult r = ethash::hashimoto_full(full, hash256(c.header), c.nonce, impl);
            EXPECT_EQ(hex(r.mix), c.mix) << c.what << " " << ethash::impl_name(impl);
            EXPECT_EQ(hex(r.final_hash), c.final_hash) << c.what;
        }
    }
}

TEST(EthashHashimoto, LightBatchStopsOnTheAbortFlag) {
    const ethash::LightCache cache(ethash::epoch_seed(5), 2039, 128 * 1031);
    std::vector<ethash::HashInput> in(3, ethash::HashInput{ethash::Hash256{}, 7});
    std::vector<ethash::HashResult> out(3);
    volatile uint32_t abort = 1;
    EXPECT_FALSE(ethash::hashimoto_light_batch(cache, ethash::kEthash, in, out, ethash::best_impl(), &abort));
    abort = 0;
    EXPECT_TRUE(ethash::hashimoto_light_batch(cache, ethash::kEthash, in, out, ethash::best_impl(), &abort));
    EXPECT_EQ(out[2].final_hash, ethash::hashimoto_light(cache, ethash::kEthash, ethash::Hash256{}, 7).final_hash);
}

// Ethereum units: go-ethereum consensus/ethash computes target = 2^256 / difficulty (big integers).
TEST(EthashDifficulty, TargetIsTwoTo256OverDifficulty) {
    auto display = [](const std::optional<std::array<uint8_t, 32>>& t) { return common::to_display_hex(t.value()); };
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(1)), std::string(64, 'f')) << "2^256 saturates";
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(0.25)), std::string(64, 'f'));
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(2)), "8" + std::string(63, '0'));
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(3)), std::string(64, '5'));
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(1.5)), std::string(64, 'a'));  // 2^257 / 3
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(131072)), "00008" + std::string(59, '0'));  // 2^17: genesis
    // 2^256 / 17179869184 (2^34, Ethereum mainnet's genesis difficulty): 2^222.
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(17179869184.0)), "00000000" + std::string("4") + std::string(55, '0'));
    // 1e15 (a difficulty of mid-2016): floor(2^256 / 10^15), computed with Python's integers.
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(1e15)), "000000000000480ebe7b9d58566c87ce9b80a5fb05082bd371c8651c7b299b30");
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(std::ldexp(1.0, 256))), std::string(63, '0') + "1");
    EXPECT_EQ(display(ethash::ethereum_target_from_difficulty(std::ldexp(1.0, 257))), std::string(64, '0'));
    for (const double bad : {0.0, -2.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        EXPECT_FALSE(ethash::ethereum_target_from_difficulty(bad)) << bad;
    }
    EXPECT_EQ(ethash::ethereum_difficulty_from_target(ethash::ethereum_target_from_difficulty(2).value()), 2.0);
    EXPECT_EQ(ethash::ethereum_difficulty_from_target(std::array<uint8_t, 32>{}), std::numeric_limits<double>::infinity());
    for (double d = 1.0001; d < 1e40; d *= 3.7) {
        EXPECT_NEAR(ethash::ethereum_difficulty_from_target(ethash::ethereum_target_from_difficulty(d).value()) / d, 1.0, 1e-15) << d;
    }
}

TEST(EthashImpl, NamesAndSupport) {
    EXPECT_STREQ(ethash::impl_name(ethash::Impl::kScalar), "scalar");
    EXPECT_STREQ(ethash::impl_name(ethash::Impl::kAvx2), "avx2");
    EXPECT_STREQ(ethash::impl_name(ethash::Impl::kAvx512), "avx512");
    for (const ethash::Impl impl : ethash::kAllImpls) EXPECT_EQ(ethash::impl_from_name(ethash::impl_name(impl)), impl);
    EXPECT_FALSE(ethash::impl_from_name("sse9"));
    EXPECT_TRUE(ethash::impl_supported(ethash::Impl::kScalar));
    EXPECT_TRUE(ethash::impl_supported(ethash::best_impl()));
    std::cout << "best implementation here: " << ethash::impl_name(ethash::best_impl()) << "\n";
}

}  // namespace
