// KawPow on the Ethash family's light cache and full dataset. See kawpow.hpp.
#include "kawpow.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace otedama::kawpow {

namespace {

uint64_t entries_of(uint64_t dataset_bytes) noexcept { return dataset_bytes / kEntryBytes; }

}  // namespace

L1Cache compute_l1_cache(const ethash::LightCache& cache, ethash::Impl impl) {
    alignas(64) ethash::Item items[kCacheItems];
    ethash::dataset_items(cache, 0, kCacheItems, kDatasetParents, items, impl);
    L1Cache l1;
    static_assert(sizeof items == sizeof l1.words);
    std::memcpy(l1.words.data(), items, sizeof items);
    return l1;
}

LightEpoch::LightEpoch(std::shared_ptr<const ethash::LightCache> cache, ethash::Impl impl)
    : cache_(std::move(cache)), impl_(impl) {
    if (!cache_) throw std::invalid_argument("kawpow: LightEpoch without a light cache");
    entry_count_ = entries_of(cache_->dataset_bytes());
    if (entry_count_ < kCacheItems / kItemsPerEntry || entry_count_ > (uint64_t{1} << 32)) {
        throw std::invalid_argument("kawpow: a dataset of " + std::to_string(cache_->dataset_bytes()) +
                                    " bytes has no valid KawPow geometry");
    }
    l1_ = compute_l1_cache(*cache_, impl_);
}

void LightEpoch::entry(uint32_t index, uint32_t out[kEntryWords]) const noexcept {
    // The four items of an entry are independent: computed side by side, their 4 x 512 dependent cache
    // reads overlap (the kernels interleave the chains of one call).
    alignas(64) ethash::Item items[kItemsPerEntry];
    ethash::dataset_items(*cache_, index * kItemsPerEntry, kItemsPerEntry, kDatasetParents, items, impl_);
    std::memcpy(out, items, kEntryBytes);
}

bool hash_light(const LightEpoch& epoch, const Program& program, const Hash256& header, uint64_t nonce, HashResult& out,
                const volatile uint32_t* abort) noexcept {
    alignas(64) uint32_t words[kEntryWords] = {};
    bool aborted = false;
    out = hash(program, epoch.l1(), epoch.entry_count(), header, nonce, [&](uint32_t index) -> const uint32_t* {
        if (!aborted && abort != nullptr && *abort != 0) aborted = true;
        if (!aborted) epoch.entry(index, words);  // after an abort: no more DAG work, the result is discarded
        return words;
    });
    return !aborted;
}

HashResult hash_full(const ethash::Item* items, uint64_t item_count, const L1Cache& l1, const Program& program,
                     const Hash256& header, uint64_t nonce) noexcept {
    const uint64_t entries = item_count / kItemsPerEntry;
    return hash(program, l1, entries, header, nonce, [items](uint32_t index) -> const uint32_t* {
        return items[uint64_t{index} * kItemsPerEntry].words;  // 4 consecutive 64-byte items: one 256-byte entry
    });
}

Hash256 le_hash_of(const Hash256& raw_final_hash) noexcept {
    Hash256 le;
    std::reverse_copy(raw_final_hash.begin(), raw_final_hash.end(), le.begin());
    return le;
}

}  // namespace otedama::kawpow
