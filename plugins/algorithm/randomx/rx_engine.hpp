// The randomx plugin's engine: RAII owners of librandomx's cache, dataset and VMs, a pool of VMs for
// concurrent verification, and the per-seed registry that lets every context of one seed share one cache
// (and one dataset). Internal to the plugin (its tests and benchmarks link it too); it knows nothing of the
// plugin ABI.
//
// Sizes (RandomX as Monero configures it, tevador/RandomX src/configuration.h): the cache is 256 MiB (Argon2d
// over the key), the dataset 2080 MiB (randomx_dataset_item_count() x 64 bytes, derived from the cache by
// SuperscalarHash), each VM a 2 MiB scratchpad plus its JIT code. Building the cache costs ~0.5-1 s of one
// core; the dataset ~30 core-seconds, split across threads (randomx_init_dataset on disjoint item ranges is
// thread-safe). Hashing: a light VM reads the cache and recomputes dataset items on the fly (~25 ms a hash);
// a full VM reads the dataset (~2.5 ms).
//
// Thread safety: Cache and Dataset are immutable once built and may be read from any number of threads. A
// randomx_vm is single-threaded: Vm is owned by one thread at a time, and VmPool hands each caller its own.
// Everything is reference counted: a VM keeps its cache and dataset alive, a pool keeps its VMs' memory, and
// the plugin's per-seed registries (common::SharedByKey) only observe (weak_ptr), so memory goes with the
// last user.
#pragma once

#include <randomx.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace otedama::rx {

/// How a large allocation ended up backed.
enum class Pages : uint8_t {
    normal,       ///< small pages (huge pages not asked for)
    transparent,  ///< asked for huge pages, got none reserved: transparent huge pages (madvise) instead
    huge,         ///< explicit huge pages (RANDOMX_FLAG_LARGE_PAGES: MAP_HUGETLB)
};
[[nodiscard]] const char* to_string(Pages pages) noexcept;

inline constexpr std::size_t kMiB = std::size_t{1} << 20;
/// Bytes of a RandomX cache (RANDOMX_ARGON_MEMORY = 262144 KiB).
inline constexpr std::size_t kCacheBytes = 256 * kMiB;
/// randomx_dataset_item_count() of Monero's RandomX (2 GiB + 32 MiB - 64 bytes, in 64-byte items).
inline constexpr unsigned long kMoneroDatasetItems = 34078719UL;

/// What librandomx says this CPU should use (JIT, hard AES, Argon2 SIMD), without the flags that are a
/// choice of the caller (large pages, full memory, secure JIT).
[[nodiscard]] randomx_flags machine_flags() noexcept;
/// "jit+hard-aes+argon2-avx2", "interpreter+soft-aes+argon2-ref" ...
[[nodiscard]] std::string describe(randomx_flags flags);
/// Dataset bytes (randomx_dataset_item_count() x RANDOMX_DATASET_ITEM_SIZE).
[[nodiscard]] std::size_t dataset_bytes() noexcept;

/// A RandomX cache initialised for one key. Immutable once constructed.
class Cache {
public:
    /// Allocates and initialises (the ~0.5-1 s Argon2d pass). `flags`: machine_flags(); with
    /// try_huge_pages, explicit huge pages, else transparent huge pages. Throws std::runtime_error when no
    /// memory can be had.
    Cache(std::span<const uint8_t> key, randomx_flags flags, bool try_huge_pages);
    ~Cache();
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    [[nodiscard]] randomx_cache* get() const noexcept { return cache_; }
    [[nodiscard]] const std::vector<uint8_t>& key() const noexcept { return key_; }
    [[nodiscard]] randomx_flags flags() const noexcept { return flags_; }
    [[nodiscard]] Pages pages() const noexcept { return pages_; }
    [[nodiscard]] double build_seconds() const noexcept { return seconds_; }

private:
    randomx_cache* cache_ = nullptr;
    std::vector<uint8_t> key_;
    randomx_flags flags_ = RANDOMX_FLAG_DEFAULT;
    Pages pages_ = Pages::normal;
    double seconds_ = 0;
};

/// The 2080 MiB dataset of one cache. Immutable once constructed.
class Dataset {
public:
    /// Allocates and initialises it from `cache` on `threads` threads (>= 1), each filling a contiguous
    /// share of the items; the threads are joined before the constructor returns. With try_huge_pages:
    /// explicit huge pages, else transparent huge pages. Throws std::runtime_error when no memory can be had.
    Dataset(const Cache& cache, unsigned threads, bool try_huge_pages);
    ~Dataset();
    Dataset(const Dataset&) = delete;
    Dataset& operator=(const Dataset&) = delete;

    [[nodiscard]] randomx_dataset* get() const noexcept { return dataset_; }
    [[nodiscard]] Pages pages() const noexcept { return pages_; }
    [[nodiscard]] double build_seconds() const noexcept { return seconds_; }
    [[nodiscard]] unsigned threads() const noexcept { return threads_; }

private:
    randomx_dataset* dataset_ = nullptr;
    Pages pages_ = Pages::normal;
    double seconds_ = 0;
    unsigned threads_ = 1;
};

/// One RandomX VM: light (on a cache) when `dataset` is null, full (on the dataset) otherwise. It keeps
/// what it reads alive. Use from one thread at a time.
class Vm {
public:
    /// `flags`: machine_flags(); FULL_MEM is added for a full VM. Throws std::runtime_error when the VM
    /// cannot be created (after retrying without huge pages).
    Vm(randomx_flags flags, std::shared_ptr<const Cache> cache, std::shared_ptr<const Dataset> dataset, bool try_huge_pages);
    ~Vm();
    Vm(const Vm&) = delete;
    Vm& operator=(const Vm&) = delete;

    [[nodiscard]] randomx_vm* get() const noexcept { return vm_; }
    [[nodiscard]] bool full() const noexcept { return dataset_ != nullptr; }
    [[nodiscard]] Pages pages() const noexcept { return pages_; }
    /// randomx_calculate_hash.
    void hash(std::span<const uint8_t> input, uint8_t out[RANDOMX_HASH_SIZE]) const noexcept;

private:
    randomx_vm* vm_ = nullptr;
    std::shared_ptr<const Cache> cache_;
    std::shared_ptr<const Dataset> dataset_;
    Pages pages_ = Pages::normal;
};

/// Up to `capacity` VMs of one kind, lent one caller at a time: concurrent verifications never share a VM.
/// VMs are created on demand (a caller that finds none idle creates one while fewer than `capacity` exist,
/// else waits for one to come back) and live until the pool goes. A Lease keeps the pool alive.
class VmPool : public std::enable_shared_from_this<VmPool> {
public:
    VmPool(randomx_flags flags, std::shared_ptr<const Cache> cache, std::shared_ptr<const Dataset> dataset,
           std::size_t capacity, bool try_huge_pages);

    class Lease {
    public:
        Lease(std::shared_ptr<VmPool> pool, std::unique_ptr<Vm> vm) noexcept : pool_(std::move(pool)), vm_(std::move(vm)) {}
        Lease(Lease&&) noexcept = default;
        Lease& operator=(Lease&&) noexcept = delete;
        Lease(const Lease&) = delete;
        ~Lease();
        [[nodiscard]] Vm& vm() const noexcept { return *vm_; }

    private:
        std::shared_ptr<VmPool> pool_;
        std::unique_ptr<Vm> vm_;
    };

    /// A VM for the caller's exclusive use until the Lease goes. Blocks while all `capacity` are lent.
    /// Throws std::runtime_error when a VM cannot be created.
    [[nodiscard]] Lease acquire();
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    /// VMs created so far.
    [[nodiscard]] std::size_t created() const;

private:
    void give_back(std::unique_ptr<Vm> vm) noexcept;

    const randomx_flags flags_;
    const std::shared_ptr<const Cache> cache_;
    const std::shared_ptr<const Dataset> dataset_;
    const std::size_t capacity_;
    const bool try_huge_pages_;
    mutable std::mutex mutex_;
    std::condition_variable returned_;
    std::vector<std::unique_ptr<Vm>> idle_;
    std::size_t created_ = 0;
};

}  // namespace otedama::rx
