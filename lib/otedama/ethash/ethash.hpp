// Ethash building blocks shared by the ethash (Ethereum, Ethereum Classic's etchash) and kawpow (Ravencoin)
// algorithm plugins: epoch sizes and seeds, the light cache, DAG (full dataset) items, hashimoto.
//
// Specification: Ethereum's "Ethash" design (ethereum/wiki Ethash page; Yellow Paper appendix J), ECIP-1099
// for the 60000-block epochs of etchash, and Ravencoin's KawPow variant (512 parents per dataset item).
// Written here from the specification; the known answers are in tests/lib/ethash/.
//
// Words: an "item" is one 64-byte dataset node (16 little-endian 32-bit words, a Keccak-512 output); the
// light cache is `light_cache_size(epoch) / 64` items; the full dataset (DAG) is
// `full_dataset_size(epoch) / 64` items, each computed from `dataset_parents` light-cache items.
//
// Thread safety: LightCache and FullDataset are built completely by their constructors (FullDataset with its
// own threads, joined before the constructor returns), immutable afterwards, and may be shared by any number
// of threads. Every other function is pure.
//
// Implementations (Impl): every function that hashes has a portable scalar path and, on x86-64, AVX2 and
// AVX-512 (F+BW+VL) paths chosen at run time; all give identical results. The overloads without an Impl use
// best_impl(). The memory-latency-bound parts interleave independent dataset items (the two items of a
// hashimoto page, several hashes of a batch, many items of a DAG build) so that their cache misses overlap.
//
// Byte order: the library assumes a little-endian host (x86-64, AArch64), as the Item union does.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace otedama::ethash {

using Hash256 = std::array<uint8_t, 32>;

/// One 64-byte item: a Keccak-512 output viewed as 16 little-endian 32-bit words.
union Item {
    uint8_t bytes[64];
    uint32_t words[16];
    uint64_t lanes[8];
};
static_assert(sizeof(Item) == 64);

/// What differs between the Ethash family members. Cache/dataset sizes and seeds are functions of the epoch
/// number; `epoch_length` decides which epoch a block height is in (KawPow: 7500; ECIP-1099 etchash: 60000,
/// whose seed rule is documented where it is implemented).
struct Variant {
    const char* name;              ///< "ethash", "etchash", "kawpow"
    uint64_t epoch_length;         ///< blocks per epoch: 30000, 60000, 7500
    uint32_t dataset_parents;      ///< light-cache parents per dataset item: 256 (ethash), 512 (kawpow)
};
inline constexpr Variant kEthash{"ethash", 30000, 256};
inline constexpr Variant kEtchash{"etchash", 60000, 256};
inline constexpr Variant kKawpow{"kawpow", 7500, 512};

inline constexpr uint32_t kLightCacheRounds = 3;       ///< RandMemoHash rounds
inline constexpr uint32_t kMixBytes = 128;             ///< hashimoto page
inline constexpr uint32_t kHashimotoAccesses = 64;
inline constexpr uint32_t kFnvPrime = 0x01000193u;

/// The last epoch whose dataset items are numbered by 32 bits (full_dataset_size / 64 < 2^32); the same
/// bound as chfast/ethash's ETHASH_MAX_EPOCH_NUMBER. LightCache refuses later epochs.
inline constexpr uint64_t kMaxEpoch = 32639;

inline constexpr uint32_t fnv1(uint32_t u, uint32_t v) noexcept { return (u * kFnvPrime) ^ v; }

/// Epoch of a block height for a variant (height / epoch_length).
[[nodiscard]] constexpr uint64_t epoch_of(const Variant& v, uint64_t height) noexcept { return height / v.epoch_length; }

/// Light cache bytes of an epoch (a multiple of 64; the largest prime number of items below the linear
/// growth line). @pre epoch < 65536 (bounded to keep sizes in range).
[[nodiscard]] uint64_t light_cache_size(uint64_t epoch) noexcept;
/// Full dataset bytes of an epoch (a multiple of 128; the largest prime number of 128-byte pages).
[[nodiscard]] uint64_t full_dataset_size(uint64_t epoch) noexcept;
/// Keccak-256 applied `epoch` times to 32 zero bytes.
[[nodiscard]] Hash256 epoch_seed(uint64_t epoch) noexcept;
/// Inverse of epoch_seed, searching epochs [0, max_epoch); -1 when not found.
[[nodiscard]] int64_t epoch_from_seed(const Hash256& seed, uint64_t max_epoch = 65536) noexcept;

/// The seed of a variant's epoch. ethash and kawpow: epoch_seed(epoch). etchash (ECIP-1099): the seed keeps
/// counting 30000-block periods, so that no seed of the old schedule is reused: the seed of the 60000-block
/// epoch E is that of block E * 60000 under the old rule, epoch_seed(2 * E); sizes use E itself
/// (light_cache_size(E), full_dataset_size(E)). See ethash.cpp for the citation.
[[nodiscard]] Hash256 epoch_seed(const Variant& variant, uint64_t epoch) noexcept;
/// Inverse of epoch_seed(variant, .), searching the variant's epochs [0, max_epoch); -1 when not found (for
/// etchash also when `seed` is an ethash seed of an odd epoch, which no etchash epoch uses).
[[nodiscard]] int64_t epoch_from_seed(const Variant& variant, const Hash256& seed, uint64_t max_epoch = 65536) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Implementations

/// A run-time dispatched implementation of the hashing kernels.
enum class Impl : uint8_t {
    kScalar = 0,  ///< portable C++ (any CPU)
    kAvx2 = 1,    ///< x86-64 AVX2
    kAvx512 = 2,  ///< x86-64 AVX-512 F + BW + VL
};
inline constexpr Impl kAllImpls[] = {Impl::kScalar, Impl::kAvx2, Impl::kAvx512};

/// "scalar", "avx2", "avx512".
[[nodiscard]] const char* impl_name(Impl impl) noexcept;
/// The Impl of a name as impl_name() writes it; std::nullopt for anything else.
[[nodiscard]] std::optional<Impl> impl_from_name(std::string_view name) noexcept;
/// Whether this build and this CPU (and its OS) can run `impl`.
[[nodiscard]] bool impl_supported(Impl impl) noexcept;
/// The fastest supported implementation (what the overloads without an Impl use). Functions given an Impl
/// this CPU or build cannot run use the scalar path instead (never an illegal instruction).
[[nodiscard]] Impl best_impl() noexcept;

// ---------------------------------------------------------------------------------------------------------
// The light cache

/// The light cache of one epoch. Built once (seconds; 16 MiB at epoch 0) and shared.
class LightCache {
public:
    /// Builds the cache of `epoch` (sequential Keccak-512 chain, then kLightCacheRounds rounds).
    /// Seed epoch_seed(epoch): the ethash and kawpow rule. @throws std::invalid_argument when epoch > kMaxEpoch.
    explicit LightCache(uint64_t epoch);
    /// The cache of a variant's epoch (etchash: ECIP-1099 seed, see epoch_seed(const Variant&, uint64_t)).
    LightCache(const Variant& variant, uint64_t epoch);
    /// A cache of explicit geometry, for self-tests, tests and benchmarks that must not pay for a real one:
    /// `item_count` items grown from `seed`, with a dataset of `dataset_bytes` (a non-zero multiple of 128;
    /// hashimoto and FullDataset use it). epoch() is 0. @throws std::invalid_argument on a bad geometry.
    LightCache(const Hash256& seed, uint32_t item_count, uint64_t dataset_bytes);
    ~LightCache();
    LightCache(const LightCache&) = delete;
    LightCache& operator=(const LightCache&) = delete;
    /// Leaves `other` empty (no items).
    LightCache(LightCache&& other) noexcept;

    [[nodiscard]] uint64_t epoch() const noexcept { return epoch_; }
    [[nodiscard]] const Item* items() const noexcept { return items_; }
    [[nodiscard]] uint32_t item_count() const noexcept { return item_count_; }
    [[nodiscard]] uint64_t bytes() const noexcept { return uint64_t{item_count_} * sizeof(Item); }
    /// The seed the cache was grown from.
    [[nodiscard]] const Hash256& seed() const noexcept { return seed_; }
    /// Bytes of the dataset this cache defines: full_dataset_size(epoch()) unless given explicitly.
    [[nodiscard]] uint64_t dataset_bytes() const noexcept { return dataset_bytes_; }

    /// floor(2^64 / item_count) + 1: the reciprocal for x % item_count by two multiplications (Lemire,
    /// Kaser, Kurz, "Faster Remainder by Direct Computation", 2019). Used by the kernels.
    [[nodiscard]] uint64_t item_count_reciprocal() const noexcept { return reciprocal_; }

private:
    void build(const Hash256& seed, uint32_t item_count, uint64_t dataset_bytes);

    uint64_t epoch_ = 0;
    Item* items_ = nullptr;  // 64-byte aligned, in transparent huge pages where the kernel allows
    uint32_t item_count_ = 0;
    std::size_t allocated_ = 0;
    uint64_t reciprocal_ = 0;
    uint64_t dataset_bytes_ = 0;
    Hash256 seed_{};
};

/// Test-geometry epochs (a test network's OTD_TEMPLATE_TEST_EPOCH, plugin-api/otedama/work.h): the
/// variant's seed of the epoch, but a light cache of kTestEpochCacheItems items and a dataset of
/// kTestEpochDatasetBytes, so a DAG is generated in milliseconds even on a CPU OpenCL device.
inline constexpr uint32_t kTestEpochCacheItems = 1031;
inline constexpr uint64_t kTestEpochDatasetBytes = uint64_t{4108} * 64;
/// The light cache of `epoch` with the test geometry (its epoch() reads 0: key it by the epoch yourself).
[[nodiscard]] inline LightCache test_epoch_cache(const Variant& variant, uint64_t epoch) {
    return LightCache(epoch_seed(variant, epoch), kTestEpochCacheItems, kTestEpochDatasetBytes);
}

/// Dataset item `index` computed from the light cache with `parents` parents (256 or 512).
[[nodiscard]] Item dataset_item(const LightCache& cache, uint32_t index, uint32_t parents) noexcept;
[[nodiscard]] Item dataset_item(const LightCache& cache, uint32_t index, uint32_t parents, Impl impl) noexcept;
/// Items [first, first + count) into out[0, count), many at a time (a FullDataset build step; KawPow's
/// 16 KiB L1 cache). @pre first + count <= 2^32.
void dataset_items(const LightCache& cache, uint32_t first, uint32_t count, uint32_t parents, Item* out,
                   Impl impl) noexcept;

// ---------------------------------------------------------------------------------------------------------
// The full dataset

/// Where a FullDataset's memory comes from when the caller wants to place it (the ethash plugin hands the
/// host's otedama.memory/1 service in here: explicit huge pages, NUMA binding). `allocate` returns at least
/// 64-byte aligned memory or nullptr; `release` gets the same pointer and size. Both must stay callable
/// until the FullDataset is destroyed.
struct DatasetMemory {
    void* (*allocate)(void* user, std::size_t bytes) = nullptr;
    void (*release)(void* user, void* memory, std::size_t bytes) = nullptr;
    void* user = nullptr;
};

/// The full dataset (DAG) of an epoch for a variant: every item precomputed. GiBs: built with `threads`
/// threads (0 = hardware concurrency).
class FullDataset {
public:
    FullDataset(std::shared_ptr<const LightCache> cache, const Variant& variant, unsigned threads);
    /// With an explicit implementation, and optionally memory from the caller (nullptr: anonymous mmap with
    /// the transparent huge page hint). Size: cache->dataset_bytes(). @throws std::bad_alloc.
    FullDataset(std::shared_ptr<const LightCache> cache, const Variant& variant, unsigned threads, Impl impl,
                const DatasetMemory* memory = nullptr);
    ~FullDataset();
    FullDataset(const FullDataset&) = delete;
    FullDataset& operator=(const FullDataset&) = delete;
    [[nodiscard]] const Item* items() const noexcept { return items_; }
    [[nodiscard]] uint64_t item_count() const noexcept { return item_count_; }
    [[nodiscard]] uint64_t bytes() const noexcept { return item_count_ * sizeof(Item); }
    [[nodiscard]] const LightCache& cache() const noexcept { return *cache_; }
    /// The light cache, shared (keeps it alive).
    [[nodiscard]] const std::shared_ptr<const LightCache>& cache_ptr() const noexcept { return cache_; }
    /// Parents per item it was built with (the variant's).
    [[nodiscard]] uint32_t dataset_parents() const noexcept { return parents_; }

private:
    void release() noexcept;

    std::shared_ptr<const LightCache> cache_;
    Item* items_ = nullptr;
    uint64_t item_count_ = 0;
    uint32_t parents_ = 0;
    std::size_t allocated_ = 0;
    DatasetMemory memory_{};
};

struct HashResult {
    Hash256 mix;        ///< the mix hash, raw bytes (as block headers and the published vectors carry it)
    Hash256 final_hash; ///< the final hash, raw bytes; compared big-endian against the boundary
};

/// One hashimoto input: the header hash (seal hash) and the nonce.
struct HashInput {
    Hash256 header_hash;
    uint64_t nonce;
};

/// Hashimoto over the light cache (verification): dataset items computed on demand; the dataset size is
/// full_dataset_size(cache.epoch()) (cache.dataset_bytes() for a cache of explicit geometry).
[[nodiscard]] HashResult hashimoto_light(const LightCache& cache, const Variant& variant, const Hash256& header_hash,
                                         uint64_t nonce) noexcept;
[[nodiscard]] HashResult hashimoto_light(const LightCache& cache, const Variant& variant, const Hash256& header_hash,
                                         uint64_t nonce, Impl impl) noexcept;
/// Hashimoto over the full dataset (mining).
[[nodiscard]] HashResult hashimoto_full(const FullDataset& dataset, const Hash256& header_hash, uint64_t nonce) noexcept;
[[nodiscard]] HashResult hashimoto_full(const FullDataset& dataset, const Hash256& header_hash, uint64_t nonce,
                                        Impl impl) noexcept;

/// The largest batch the *_batch functions interleave; longer spans are processed in slices of this.
inline constexpr std::size_t kMaxBatch = 8;
/// Several hashes at once (out[i] for in[i]; @pre out.size() >= in.size()). One light verification waits on
/// 64 x 256 dependent light-cache reads, two at a time; a batch keeps 2 x batch reads in flight, so its
/// throughput is several times that of single calls. Same results as the single calls.
/// `abort` (optional) is read between hashimoto's page accesses (every few tens of microseconds); when it
/// is non-zero the call returns false at once and `out` is unspecified. true otherwise.
bool hashimoto_light_batch(const LightCache& cache, const Variant& variant, std::span<const HashInput> in,
                           std::span<HashResult> out, Impl impl, const volatile uint32_t* abort = nullptr) noexcept;
void hashimoto_full_batch(const FullDataset& dataset, std::span<const HashInput> in, std::span<HashResult> out,
                          Impl impl) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Ethereum's difficulty units (ethash, etchash): the boundary a hash must not exceed is 2^256 / difficulty,
// the hash read as a big-endian number (go-ethereum consensus/ethash: target = 2^256 / header.Difficulty;
// a difficulty is the expected number of hashes per solution). Here 256-bit numbers are the plugin ABI's
// little-endian 32 bytes: the raw final hash reversed.

/// floor(2^256 / difficulty), exact for the double given, saturated at 2^256 - 1 (difficulty <= 1).
/// std::nullopt when difficulty is not a finite number > 0.
[[nodiscard]] std::optional<std::array<uint8_t, 32>> ethereum_target_from_difficulty(double difficulty) noexcept;
/// 2^256 / value as a double (value little-endian): the difficulty of a boundary, or the difficulty a hash
/// reaches. +infinity for zero.
[[nodiscard]] double ethereum_difficulty_from_target(const std::array<uint8_t, 32>& value) noexcept;

}  // namespace otedama::ethash
