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
// Thread safety: LightCache and FullDataset are immutable after construction (FullDataset fills lazily
// only through its own const-safe build call) and may be shared by any number of threads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
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

/// The light cache of one epoch. Built once (seconds; 16 MiB at epoch 0) and shared.
class LightCache {
public:
    /// Builds the cache of `epoch` (sequential Keccak-512 chain, then kLightCacheRounds rounds).
    explicit LightCache(uint64_t epoch);
    [[nodiscard]] uint64_t epoch() const noexcept { return epoch_; }
    [[nodiscard]] const Item* items() const noexcept { return items_.data(); }
    [[nodiscard]] uint32_t item_count() const noexcept { return static_cast<uint32_t>(items_.size()); }
    [[nodiscard]] uint64_t bytes() const noexcept { return items_.size() * sizeof(Item); }

private:
    uint64_t epoch_;
    std::vector<Item> items_;
};

/// Dataset item `index` computed from the light cache with `parents` parents (256 or 512).
[[nodiscard]] Item dataset_item(const LightCache& cache, uint32_t index, uint32_t parents) noexcept;

/// The full dataset (DAG) of an epoch for a variant: every item precomputed. GiBs: built with `threads`
/// threads (0 = hardware concurrency).
class FullDataset {
public:
    FullDataset(std::shared_ptr<const LightCache> cache, const Variant& variant, unsigned threads);
    ~FullDataset();
    FullDataset(const FullDataset&) = delete;
    FullDataset& operator=(const FullDataset&) = delete;
    [[nodiscard]] const Item* items() const noexcept { return items_; }
    [[nodiscard]] uint64_t item_count() const noexcept { return item_count_; }
    [[nodiscard]] uint64_t bytes() const noexcept { return item_count_ * sizeof(Item); }
    [[nodiscard]] const LightCache& cache() const noexcept { return *cache_; }

private:
    std::shared_ptr<const LightCache> cache_;
    Item* items_ = nullptr;
    uint64_t item_count_ = 0;
};

struct HashResult {
    Hash256 mix;        ///< the mix hash, raw bytes (as block headers and the published vectors carry it)
    Hash256 final_hash; ///< the final hash, raw bytes; compared big-endian against the boundary
};

/// Hashimoto over the light cache (verification): dataset items computed on demand; the dataset size is
/// full_dataset_size(cache.epoch()).
[[nodiscard]] HashResult hashimoto_light(const LightCache& cache, const Variant& variant, const Hash256& header_hash,
                                         uint64_t nonce) noexcept;
/// Hashimoto over the full dataset (mining).
[[nodiscard]] HashResult hashimoto_full(const FullDataset& dataset, const Hash256& header_hash, uint64_t nonce) noexcept;

}  // namespace otedama::ethash
