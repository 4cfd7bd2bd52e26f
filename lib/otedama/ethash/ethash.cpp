// Ethash from its specification: ethereum/wiki "Ethash" (the Python reference definitions: get_cache_size,
// get_full_size, mkcache, calc_dataset_item, hashimoto), Yellow Paper appendix J; constants as named there
// (CACHE_BYTES_INIT 2^24, CACHE_BYTES_GROWTH 2^17, DATASET_BYTES_INIT 2^30, DATASET_BYTES_GROWTH 2^23,
// HASH_BYTES 64, MIX_BYTES 128, CACHE_ROUNDS 3, ACCESSES 64, DATASET_PARENTS 256 (KawPow 512)).
//
// ECIP-1099 (etchash), https://ecips.ethereumclassic.org/ECIPs/ecip-1099 ("Calibrate Epoch Duration", Final):
// from ETCHASH_FORK_BLOCK on (11,700,000 on Ethereum Classic, 2,520,000 on Mordor) the epoch length is
// 60000 blocks: epoch = block / 60000, and cache and dataset sizes are those of that epoch number (halved
// growth: at the fork, ethash epoch 390 became etchash epoch 195). The seed hash keeps counting 30000-block
// periods ("keep using oldEpochLength here so seeds don't overlap"): seedHash iterates Keccak-256
// block / 30000 times over the epoch's first block, i.e. the seed of etchash epoch E is epoch_seed(2E).
// The ECIP's research data (iquidus/ecip-1099-data: with epoch lengths 100 -> 200, "new epoch 4" has the seed
// of old epoch 8 and the sizes of old epoch 4) and core-geth (seedHash(epoch * epochLength + 1)) agree.
// Blocks before the fork are plain ethash (kEthash); the etchash variant here is the post-fork rule only.
#include "otedama/ethash/ethash.hpp"

#include "kernels.hpp"

#include "otedama/common/cpu_features.hpp"
#include "otedama/common/keccak.hpp"
#include "otedama/common/uint256.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace otedama::ethash {

static_assert(std::endian::native == std::endian::little, "lib/otedama/ethash assumes a little-endian host");

namespace {

constexpr uint64_t kCacheBytesInit = uint64_t{1} << 24;
constexpr uint64_t kCacheBytesGrowth = uint64_t{1} << 17;
constexpr uint64_t kDatasetBytesInit = uint64_t{1} << 30;
constexpr uint64_t kDatasetBytesGrowth = uint64_t{1} << 23;
constexpr uint64_t kHashBytes = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

bool is_prime(uint64_t n) noexcept {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2) {
        if (n % d == 0) return false;
    }
    return true;
}

/// The largest `unit` multiple <= init + growth * epoch - unit whose count of units is prime (get_cache_size /
/// get_full_size of the specification).
uint64_t prime_size(uint64_t init, uint64_t growth, uint64_t unit, uint64_t epoch) noexcept {
    uint64_t size = init + growth * epoch - unit;
    while (!is_prime(size / unit)) size -= 2 * unit;
    return size;
}

const detail::Kernel* kernel_table(Impl impl) noexcept {
    switch (impl) {
        case Impl::kScalar: return &detail::scalar_kernel();
        case Impl::kAvx2: return detail::avx2_kernel();
        case Impl::kAvx512: return detail::avx512_kernel();
    }
    return nullptr;
}

/// The kernel of `impl`, or the scalar one when this CPU or build cannot run it (never an illegal instruction).
const detail::Kernel& kernel_for(Impl impl) noexcept {
    return impl_supported(impl) ? *kernel_table(impl) : detail::scalar_kernel();
}

detail::CacheView view_of(const LightCache& cache) noexcept {
    return detail::CacheView{cache.items(), cache.item_count(), cache.item_count_reciprocal()};
}

/// 64-byte aligned memory; blocks of 2 MiB or more in whole huge pages with the transparent huge page hint
/// (a hint: refused or unsupported, the memory is simply in small pages).
void* allocate_aligned(std::size_t bytes, std::size_t& allocated) {
    const std::size_t align = bytes >= kHugePage ? kHugePage : 64;
    allocated = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, allocated);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (align == kHugePage) (void)::madvise(p, allocated, MADV_HUGEPAGE);
#endif
    return p;
}

/// header_hash || nonce (little-endian) -> Keccak-512 state words (40-byte message, original padding: 0x01 at
/// byte 40 = word 5, 0x80 at byte 71 = top of word 8).
void load_seed_input(detail::KeccakStates& st, uint32_t chain, const HashInput& in) noexcept {
    for (int w = 0; w < 25; ++w) st.s[w][chain] = 0;
    for (int w = 0; w < 4; ++w) std::memcpy(&st.s[w][chain], in.header_hash.data() + 8 * w, 8);
    st.s[4][chain] = in.nonce;
    st.s[5][chain] = 0x01;
    st.s[8][chain] = 0x8000000000000000ULL;
}

/// keccak256(seed (64 bytes) || cmix (32 bytes)): a 96-byte message, padding 0x01 at byte 96 (word 12) and
/// 0x80 at byte 135 (top of word 16, the last of the 136-byte rate).
void load_final_input(detail::KeccakStates& st, uint32_t chain, const Item& seed, const uint32_t cmix[8]) noexcept {
    for (int w = 0; w < 25; ++w) st.s[w][chain] = 0;
    for (int w = 0; w < 8; ++w) st.s[w][chain] = seed.lanes[w];
    for (int w = 0; w < 4; ++w) st.s[8 + w][chain] = uint64_t{cmix[2 * w]} | (uint64_t{cmix[2 * w + 1]} << 32);
    st.s[12][chain] = 0x01;
    st.s[16][chain] = 0x8000000000000000ULL;
}

/// Where hashimoto's 64 pages come from.
struct LightPages {
    const detail::Kernel& kernel;
    detail::CacheView cache;
    uint32_t parents;
    /// Page p of each hash into out[2b], out[2b + 1], all 2 * count items computed interleaved.
    void fetch(const uint32_t* page, uint32_t count, Item* out) const noexcept {
        uint32_t index[detail::kMaxChains];
        for (uint32_t b = 0; b < count; ++b) {
            index[2 * b] = 2 * page[b];
            index[2 * b + 1] = 2 * page[b] + 1;
        }
        kernel.items(cache, parents, index, 2 * count, out);
    }
};
struct FullPages {
    const Item* items;
    void fetch(const uint32_t* page, uint32_t count, Item* out) const noexcept {
        for (uint32_t b = 0; b < count; ++b) {
            std::memcpy(&out[2 * b], items + 2 * uint64_t{page[b]}, 2 * sizeof(Item));
        }
    }
};

/// Hashimoto of count <= kMaxBatch inputs side by side (the specification's hashimoto, with the page reads of
/// all of them issued together).
template <class Pages>
bool hashimoto_batch(const detail::Kernel& kernel, const Pages& pages, uint64_t dataset_bytes, const HashInput* in,
                     HashResult* out, uint32_t count, const volatile uint32_t* abort = nullptr) noexcept {
    static_assert(2 * kMaxBatch <= detail::kMaxChains);
    const auto page_count = static_cast<uint32_t>(dataset_bytes / kMixBytes);
    detail::KeccakStates st{};  // the unused lanes of the last register too: defined values
    for (uint32_t b = 0; b < count; ++b) load_seed_input(st, b, in[b]);
    kernel.keccak_f1600(st, count);

    alignas(64) Item seed[kMaxBatch];
    alignas(64) uint32_t mix[kMaxBatch][32];
    for (uint32_t b = 0; b < count; ++b) {
        for (int w = 0; w < 8; ++w) seed[b].lanes[w] = st.s[w][b];
        for (int w = 0; w < 32; ++w) mix[b][w] = seed[b].words[w % 16];
    }
    alignas(64) Item page_items[2 * kMaxBatch];
    uint32_t page[kMaxBatch];
    for (uint32_t i = 0; i < kHashimotoAccesses; ++i) {
        if (abort != nullptr && *abort != 0) return false;
        for (uint32_t b = 0; b < count; ++b) page[b] = fnv1(i ^ seed[b].words[0], mix[b][i % 32]) % page_count;
        pages.fetch(page, count, page_items);
        for (uint32_t b = 0; b < count; ++b) {
            for (int w = 0; w < 16; ++w) {
                mix[b][w] = fnv1(mix[b][w], page_items[2 * b].words[w]);
                mix[b][16 + w] = fnv1(mix[b][16 + w], page_items[2 * b + 1].words[w]);
            }
        }
    }
    for (uint32_t b = 0; b < count; ++b) {
        uint32_t cmix[8];
        for (int w = 0; w < 8; ++w) {
            cmix[w] = fnv1(fnv1(fnv1(mix[b][4 * w], mix[b][4 * w + 1]), mix[b][4 * w + 2]), mix[b][4 * w + 3]);
        }
        std::memcpy(out[b].mix.data(), cmix, 32);
        load_final_input(st, b, seed[b], cmix);
    }
    kernel.keccak_f1600(st, count);
    for (uint32_t b = 0; b < count; ++b) {
        for (int w = 0; w < 4; ++w) std::memcpy(out[b].final_hash.data() + 8 * w, &st.s[w][b], 8);
    }
    return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Sizes and seeds

uint64_t light_cache_size(uint64_t epoch) noexcept { return prime_size(kCacheBytesInit, kCacheBytesGrowth, kHashBytes, epoch); }

uint64_t full_dataset_size(uint64_t epoch) noexcept {
    return prime_size(kDatasetBytesInit, kDatasetBytesGrowth, kMixBytes, epoch);
}

Hash256 epoch_seed(uint64_t epoch) noexcept {
    Hash256 seed{};
    for (uint64_t i = 0; i < epoch; ++i) common::keccak256(seed.data(), seed.size(), seed.data());
    return seed;
}

int64_t epoch_from_seed(const Hash256& seed, uint64_t max_epoch) noexcept {
    Hash256 s{};
    for (uint64_t e = 0; e < max_epoch; ++e) {
        if (s == seed) return static_cast<int64_t>(e);
        common::keccak256(s.data(), s.size(), s.data());
    }
    return -1;
}

namespace {
/// ECIP-1099: etchash epochs are 60000 blocks, seeds count 30000-block periods (top of this file).
/// A variant of 60000-block epochs follows ECIP-1099's seed rule.
bool seeds_count_old_epochs(const Variant& v) noexcept { return v.epoch_length == kEtchash.epoch_length; }
}  // namespace

Hash256 epoch_seed(const Variant& variant, uint64_t epoch) noexcept {
    return epoch_seed(seeds_count_old_epochs(variant) ? 2 * epoch : epoch);
}

int64_t epoch_from_seed(const Variant& variant, const Hash256& seed, uint64_t max_epoch) noexcept {
    if (!seeds_count_old_epochs(variant)) return epoch_from_seed(seed, max_epoch);
    const int64_t old = epoch_from_seed(seed, 2 * max_epoch);
    return old >= 0 && old % 2 == 0 ? old / 2 : -1;
}

// ---------------------------------------------------------------------------------------------------------
// Implementations

const char* impl_name(Impl impl) noexcept {
    switch (impl) {
        case Impl::kScalar: return "scalar";
        case Impl::kAvx2: return "avx2";
        case Impl::kAvx512: return "avx512";
    }
    return "unknown";
}

std::optional<Impl> impl_from_name(std::string_view name) noexcept {
    for (const Impl impl : kAllImpls) {
        if (name == impl_name(impl)) return impl;
    }
    return std::nullopt;
}

bool impl_supported(Impl impl) noexcept {
    const common::CpuFeatures& cpu = common::cpu_features();
    switch (impl) {
        case Impl::kScalar: return true;
        case Impl::kAvx2: return detail::avx2_kernel() != nullptr && cpu.avx2;
        case Impl::kAvx512: return detail::avx512_kernel() != nullptr && cpu.avx512();
    }
    return false;
}

Impl best_impl() noexcept {
    static const Impl best = [] {
        Impl b = Impl::kScalar;
        for (const Impl impl : kAllImpls) {
            if (impl_supported(impl)) b = impl;  // kAllImpls is ordered by speed
        }
        return b;
    }();
    return best;
}

// ---------------------------------------------------------------------------------------------------------
// Light cache

LightCache::LightCache(uint64_t epoch) : LightCache(kEthash, epoch) {}

LightCache::LightCache(const Variant& variant, uint64_t epoch) : epoch_(epoch) {
    if (epoch > kMaxEpoch) {
        throw std::invalid_argument("ethash: epoch " + std::to_string(epoch) + " is beyond the last supported epoch " +
                                    std::to_string(kMaxEpoch));
    }
    build(epoch_seed(variant, epoch), static_cast<uint32_t>(light_cache_size(epoch) / sizeof(Item)), full_dataset_size(epoch));
}

LightCache::LightCache(const Hash256& seed, uint32_t item_count, uint64_t dataset_bytes) {
    if (item_count < 2) throw std::invalid_argument("ethash: a light cache needs at least 2 items");
    if (dataset_bytes == 0 || dataset_bytes % kMixBytes != 0 || dataset_bytes / kMixBytes > (uint64_t{1} << 31)) {
        throw std::invalid_argument("ethash: dataset bytes " + std::to_string(dataset_bytes) +
                                    " is not a non-zero multiple of 128 below 2^38");
    }
    build(seed, item_count, dataset_bytes);
}

LightCache::~LightCache() { std::free(items_); }

LightCache::LightCache(LightCache&& other) noexcept
    : epoch_(other.epoch_),
      items_(std::exchange(other.items_, nullptr)),
      item_count_(std::exchange(other.item_count_, 0)),
      allocated_(std::exchange(other.allocated_, 0)),
      reciprocal_(other.reciprocal_),
      dataset_bytes_(other.dataset_bytes_),
      seed_(other.seed_) {}

void LightCache::build(const Hash256& seed, uint32_t item_count, uint64_t dataset_bytes) {
    seed_ = seed;
    dataset_bytes_ = dataset_bytes;
    items_ = static_cast<Item*>(allocate_aligned(std::size_t{item_count} * sizeof(Item), allocated_));
    item_count_ = item_count;
    reciprocal_ = detail::fast_mod_reciprocal(item_count);

    // mkcache: a sequential Keccak-512 chain from the seed...
    const uint32_t n = item_count;
    auto* const keccak512 = kernel_for(best_impl()).keccak512_one;
    common::keccak512(seed.data(), seed.size(), items_[0].bytes);
    for (uint32_t i = 1; i < n; ++i) {
        items_[i] = items_[i - 1];
        keccak512(items_[i]);
    }
    // ... then CACHE_ROUNDS rounds of Lerner's RandMemoHash, in place.
    for (uint32_t round = 0; round < kLightCacheRounds; ++round) {
        for (uint32_t i = 0; i < n; ++i) {
            const Item& other = items_[detail::fast_mod(items_[i].words[0], reciprocal_, n)];
            const Item& previous = items_[(i + n - 1) % n];
            Item x;
            for (int w = 0; w < 8; ++w) x.lanes[w] = previous.lanes[w] ^ other.lanes[w];
            keccak512(x);
            items_[i] = x;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Dataset items

Item dataset_item(const LightCache& cache, uint32_t index, uint32_t parents) noexcept {
    return dataset_item(cache, index, parents, best_impl());
}

Item dataset_item(const LightCache& cache, uint32_t index, uint32_t parents, Impl impl) noexcept {
    alignas(64) Item out;
    kernel_for(impl).items(view_of(cache), parents, &index, 1, &out);
    return out;
}

void dataset_items(const LightCache& cache, uint32_t first, uint32_t count, uint32_t parents, Item* out, Impl impl) noexcept {
    const detail::Kernel& kernel = kernel_for(impl);
    const detail::CacheView view = view_of(cache);
    const uint32_t chains = kernel.build_chains;
    uint32_t index[detail::kMaxChains];
    alignas(64) Item tmp[detail::kMaxChains];
    for (uint32_t done = 0; done < count;) {
        const uint32_t n = std::min(chains, count - done);
        for (uint32_t k = 0; k < n; ++k) index[k] = first + done + k;
        kernel.items(view, parents, index, n, tmp);
        std::memcpy(out + done, tmp, n * sizeof(Item));
        done += n;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Full dataset

FullDataset::FullDataset(std::shared_ptr<const LightCache> cache, const Variant& variant, unsigned threads)
    : FullDataset(std::move(cache), variant, threads, best_impl(), nullptr) {}

FullDataset::FullDataset(std::shared_ptr<const LightCache> cache, const Variant& variant, unsigned threads, Impl impl,
                         const DatasetMemory* memory)
    : cache_(std::move(cache)), parents_(variant.dataset_parents) {
    if (!cache_) throw std::invalid_argument("ethash: FullDataset without a light cache");
    item_count_ = cache_->dataset_bytes() / sizeof(Item);
    const std::size_t bytes = item_count_ * sizeof(Item);
    if (memory != nullptr && memory->allocate != nullptr && memory->release != nullptr) {
        memory_ = *memory;
        items_ = static_cast<Item*>(memory_.allocate(memory_.user, bytes));
        if (items_ == nullptr) throw std::bad_alloc();
        allocated_ = bytes;
    } else {
        allocated_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        void* p = ::mmap(nullptr, allocated_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        (void)::madvise(p, allocated_, MADV_HUGEPAGE);
#endif
        items_ = static_cast<Item*>(p);
    }

    // Threads take chunks of items in turn: even progress, and each chunk's pages are first touched by the
    // thread that writes them.
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    constexpr uint64_t kChunk = 8192;
    const uint64_t chunks = (item_count_ + kChunk - 1) / kChunk;
    threads = static_cast<unsigned>(std::min<uint64_t>(threads, chunks));
    std::atomic<uint64_t> next{0};
    auto work = [&] {
        for (uint64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
            const uint64_t first = c * kChunk;
            const auto count = static_cast<uint32_t>(std::min(kChunk, item_count_ - first));
            dataset_items(*cache_, static_cast<uint32_t>(first), count, parents_, items_ + first, impl);
        }
    };
    std::vector<std::thread> pool;
    try {
        for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    } catch (...) {
        next = chunks;  // stop the others, then give up (members are destroyed, the memory is ours to free)
        for (auto& th : pool) th.join();
        release();
        throw;
    }
    work();
    for (auto& th : pool) th.join();
}

FullDataset::~FullDataset() { release(); }

void FullDataset::release() noexcept {
    if (items_ == nullptr) return;
    if (memory_.release != nullptr) {
        memory_.release(memory_.user, items_, allocated_);
    } else {
        ::munmap(items_, allocated_);
    }
    items_ = nullptr;
}

// ---------------------------------------------------------------------------------------------------------
// Hashimoto

HashResult hashimoto_light(const LightCache& cache, const Variant& variant, const Hash256& header_hash, uint64_t nonce) noexcept {
    return hashimoto_light(cache, variant, header_hash, nonce, best_impl());
}

HashResult hashimoto_light(const LightCache& cache, const Variant& variant, const Hash256& header_hash, uint64_t nonce,
                           Impl impl) noexcept {
    const HashInput in{header_hash, nonce};
    HashResult out;
    (void)hashimoto_light_batch(cache, variant, {&in, 1}, {&out, 1}, impl);
    return out;
}

HashResult hashimoto_full(const FullDataset& dataset, const Hash256& header_hash, uint64_t nonce) noexcept {
    return hashimoto_full(dataset, header_hash, nonce, best_impl());
}

HashResult hashimoto_full(const FullDataset& dataset, const Hash256& header_hash, uint64_t nonce, Impl impl) noexcept {
    const HashInput in{header_hash, nonce};
    HashResult out;
    hashimoto_full_batch(dataset, {&in, 1}, {&out, 1}, impl);
    return out;
}

bool hashimoto_light_batch(const LightCache& cache, const Variant& variant, std::span<const HashInput> in,
                           std::span<HashResult> out, Impl impl, const volatile uint32_t* abort) noexcept {
    const detail::Kernel& kernel = kernel_for(impl);
    const LightPages pages{kernel, view_of(cache), variant.dataset_parents};
    for (std::size_t i = 0; i < in.size() && i < out.size(); i += kMaxBatch) {
        const auto n = static_cast<uint32_t>(std::min({kMaxBatch, in.size() - i, out.size() - i}));
        if (!hashimoto_batch(kernel, pages, cache.dataset_bytes(), in.data() + i, out.data() + i, n, abort)) return false;
    }
    return true;
}

void hashimoto_full_batch(const FullDataset& dataset, std::span<const HashInput> in, std::span<HashResult> out,
                          Impl impl) noexcept {
    const detail::Kernel& kernel = kernel_for(impl);
    const FullPages pages{dataset.items()};
    for (std::size_t i = 0; i < in.size() && i < out.size(); i += kMaxBatch) {
        const auto n = static_cast<uint32_t>(std::min({kMaxBatch, in.size() - i, out.size() - i}));
        hashimoto_batch(kernel, pages, dataset.bytes(), in.data() + i, out.data() + i, n);
    }
}


// ---------------------------------------------------------------------------------------------------------
// Ethereum difficulty units

std::optional<std::array<uint8_t, 32>> ethereum_target_from_difficulty(double difficulty) noexcept {
    if (!(difficulty > 0) || !std::isfinite(difficulty)) return std::nullopt;
    std::array<uint8_t, 32> target{};
    if (difficulty <= 1) {
        target.fill(0xff);
        return target;
    }
    // difficulty = mantissa * 2^(exponent - 53) exactly, mantissa < 2^53; 2^256 / difficulty =
    // 2^(309 - exponent) / mantissa, computed by long division of a power of two (at most 2^308) in 32-bit
    // limbs, most significant first.
    int exponent = 0;
    const double fraction = std::frexp(difficulty, &exponent);  // [0.5, 1), exponent >= 1 here
    const auto mantissa = static_cast<uint64_t>(std::ldexp(fraction, 53));
    const int shift = 256 + 53 - exponent;
    if (shift < 0) return target;  // below 1: zero
    constexpr int kLimbs = 10;     // 320 bits
    uint32_t quotient[kLimbs] = {};
    detail::Uint128 remainder = 0;
    for (int limb = kLimbs - 1; limb >= 0; --limb) {
        // Limb `limb` of the dividend 2^shift (bits 32 * limb .. 32 * limb + 31).
        const uint32_t dividend = shift / 32 == limb ? uint32_t{1} << (shift % 32) : 0;
        remainder = (remainder << 32) | dividend;
        quotient[limb] = static_cast<uint32_t>(remainder / mantissa);
        remainder %= mantissa;
    }
    for (int limb = 8; limb < kLimbs; ++limb) {
        if (quotient[limb] != 0) {  // >= 2^256 cannot happen for difficulty > 1; saturate to be safe
            target.fill(0xff);
            return target;
        }
    }
    for (int i = 0; i < 32; ++i) target[i] = static_cast<uint8_t>(quotient[i / 4] >> (8 * (i % 4)));
    return target;
}

double ethereum_difficulty_from_target(const std::array<uint8_t, 32>& value) noexcept {
    if (common::is_zero(value)) return std::numeric_limits<double>::infinity();
    return std::ldexp(1.0, 256) / common::to_double(value);
}

}  // namespace otedama::ethash
