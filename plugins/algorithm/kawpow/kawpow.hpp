// KawPow over the Ethash family's DAG (lib/otedama/ethash): the per-epoch light data (light cache + L1
// cache), and the hash on the light cache (verification: DAG entries computed on demand) or on a full
// dataset (mining). Part of the kawpow plugin's internal library.
//
// DAG geometry: KawPow reads the DAG in 256-byte entries (16 lanes x 4 words): entry e is dataset items
// 4e .. 4e + 3, and there are full_dataset_size(epoch) / 256 entries. Items have 512 parents
// (ethash::kKawpow). The L1 cache is items 0..255 (the first 16 KiB).
//
// Byte order of the results (HashResult, progpow.hpp): mix and final hash are raw bytes, as Ravencoin's
// progpow::hash returns them and its test vectors print them. Ravencoin turns the final hash into its block
// hash with uint256S(to_hex(final_hash)), i.e. it reads the raw bytes as a BIG-endian number
// (src/primitives/block.cpp KAWPOWHash; compared with arith_uint256 against the nBits target). The 256-bit
// little-endian number the plugin ABI carries is therefore the raw final hash reversed (le_hash_of below).
//
// Thread safety: LightEpoch is immutable once built and shared by any number of threads; the hash functions
// are pure.
#pragma once

#include "progpow.hpp"

#include <otedama/ethash/ethash.hpp>

#include <cstdint>
#include <memory>

namespace otedama::kawpow {

/// One epoch's light data: the light cache (shared) and its L1 cache, computed once.
class LightEpoch {
public:
    /// Computes the L1 cache (256 items with 512 parents: milliseconds) with `impl`'s kernels.
    LightEpoch(std::shared_ptr<const ethash::LightCache> cache, ethash::Impl impl);

    [[nodiscard]] uint64_t epoch() const noexcept { return cache_->epoch(); }
    [[nodiscard]] const ethash::LightCache& cache() const noexcept { return *cache_; }
    [[nodiscard]] const std::shared_ptr<const ethash::LightCache>& cache_ptr() const noexcept { return cache_; }
    [[nodiscard]] const L1Cache& l1() const noexcept { return l1_; }
    /// 256-byte DAG entries: dataset bytes / 256.
    [[nodiscard]] uint64_t entry_count() const noexcept { return entry_count_; }
    [[nodiscard]] ethash::Impl impl() const noexcept { return impl_; }

    /// The kEntryWords words of entry `index` (items 4 * index .. 4 * index + 3), computed from the cache.
    void entry(uint32_t index, uint32_t out[kEntryWords]) const noexcept;

private:
    std::shared_ptr<const ethash::LightCache> cache_;
    ethash::Impl impl_;
    uint64_t entry_count_ = 0;
    L1Cache l1_;
};

/// The epoch's L1 cache computed from its light cache: items 0..255 with 512 parents, as words.
[[nodiscard]] L1Cache compute_l1_cache(const ethash::LightCache& cache, ethash::Impl impl);

/// KawPow on the light cache. `abort` (may be NULL) is read before every DAG entry; when it is set the
/// remaining entries are skipped and false is returned (`out` is then meaningless).
bool hash_light(const LightEpoch& epoch, const Program& program, const Hash256& header, uint64_t nonce, HashResult& out,
                const volatile uint32_t* abort = nullptr) noexcept;
[[nodiscard]] inline HashResult hash_light(const LightEpoch& epoch, const Program& program, const Hash256& header,
                                           uint64_t nonce) noexcept {
    HashResult r;
    (void)hash_light(epoch, program, header, nonce, r, nullptr);
    return r;
}

/// KawPow on a full dataset: `items` are the epoch's dataset items (item_count of them; entries are
/// item_count / 4), `l1` the epoch's L1 cache (equal to items 0..255).
[[nodiscard]] HashResult hash_full(const ethash::Item* items, uint64_t item_count, const L1Cache& l1,
                                   const Program& program, const Hash256& header, uint64_t nonce) noexcept;

/// The final hash as the ABI's 256-bit little-endian number (the raw bytes reversed, see the top of this file).
[[nodiscard]] Hash256 le_hash_of(const Hash256& raw_final_hash) noexcept;

}  // namespace otedama::kawpow
