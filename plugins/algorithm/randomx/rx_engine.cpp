// The randomx plugin's engine. See rx_engine.hpp.
#include "rx_engine.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace otedama::rx {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Ask for transparent huge pages on the whole 2 MiB pages inside [p, p + size). Done before the first
/// touch (librandomx's default allocator gets fresh, untouched pages from mmap for sizes this large), so
/// the page faults of the initialisation already allocate huge pages.
bool advise_huge_pages(void* p, std::size_t size) noexcept {
#ifdef MADV_HUGEPAGE
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
    const auto end = (reinterpret_cast<uintptr_t>(p) + size) / page * page;
    if (end <= begin) return false;
    return ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) == 0;
#else
    (void)p;
    (void)size;
    return false;
#endif
}

/// Whether [p, p + size) lies inside one private read-write mapping of this process (/proc/self/maps).
bool in_private_rw_mapping(const void* p, std::size_t size) {
    std::FILE* f = std::fopen("/proc/self/maps", "r");
    if (f == nullptr) return false;
    const auto begin = reinterpret_cast<uintptr_t>(p);
    bool found = false;
    char line[512];
    while (!found && std::fgets(line, sizeof line, f) != nullptr) {
        unsigned long long lo = 0, hi = 0;
        char perms[5] = {};
        if (std::sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3) continue;
        found = begin >= lo && begin < hi && size <= hi - begin && perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p';
    }
    std::fclose(f);
    return found;
}

/// The memory of a freshly allocated (not yet initialised) cache, or nullptr. librandomx 1.1 has no API for
/// it, but its struct randomx_cache starts with that pointer (src/dataset.hpp, unchanged since 1.0). The
/// pointer is used only when the process's mappings confirm it: 256 MiB of private read-write memory from
/// there on. Another layout fails that check, and the cache stays on normal pages.
void* cache_memory(randomx_cache* cache) {
    void* p = nullptr;
    std::memcpy(&p, static_cast<const void*>(cache), sizeof p);
    if (p == nullptr || reinterpret_cast<uintptr_t>(p) % 64 != 0 || !in_private_rw_mapping(p, kCacheBytes)) return nullptr;
    return p;
}

/// Whether the kernel has `bytes` of free explicit huge pages (/proc/meminfo HugePages_Free x Hugepagesize).
/// Asked before every RANDOMX_FLAG_LARGE_PAGES attempt: librandomx 1.1.10 leaks its JIT compiler (72 bytes)
/// when a JIT cache's huge page allocation fails, and on most machines none are reserved.
bool huge_pages_free(std::size_t bytes) {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (f == nullptr) return false;
    unsigned long long free_pages = 0, page_kib = 0;
    char line[128];
    while (std::fgets(line, sizeof line, f) != nullptr) {
        (void)std::sscanf(line, "HugePages_Free: %llu", &free_pages);
        (void)std::sscanf(line, "Hugepagesize: %llu kB", &page_kib);
    }
    std::fclose(f);
    return free_pages * page_kib * 1024 >= bytes;
}

}  // namespace

const char* to_string(Pages pages) noexcept {
    switch (pages) {
        case Pages::huge: return "huge pages";
        case Pages::transparent: return "transparent huge pages";
        case Pages::normal: break;
    }
    return "normal pages";
}

randomx_flags machine_flags() noexcept {
    const auto all = static_cast<int>(randomx_get_flags());
    const int chosen = RANDOMX_FLAG_JIT | RANDOMX_FLAG_HARD_AES | RANDOMX_FLAG_ARGON2;
    return static_cast<randomx_flags>(all & chosen);
}

std::string describe(randomx_flags flags) {
    const auto f = static_cast<int>(flags);
    std::string s = (f & RANDOMX_FLAG_JIT) != 0 ? "jit" : "interpreter";
    if ((f & RANDOMX_FLAG_SECURE) != 0) s += "-secure";
    s += (f & RANDOMX_FLAG_HARD_AES) != 0 ? "+hard-aes" : "+soft-aes";
    // librandomx takes AVX2 over SSSE3 when both are set (randomx_alloc_cache).
    if ((f & RANDOMX_FLAG_ARGON2_AVX2) != 0) s += "+argon2-avx2";
    else if ((f & RANDOMX_FLAG_ARGON2_SSSE3) != 0) s += "+argon2-ssse3";
    else s += "+argon2-ref";
    return s;
}

std::size_t dataset_bytes() noexcept { return std::size_t{randomx_dataset_item_count()} * RANDOMX_DATASET_ITEM_SIZE; }

// ---------------------------------------------------------------------------------------------------------

Cache::Cache(std::span<const uint8_t> key, randomx_flags flags, bool try_huge_pages)
    : key_(key.begin(), key.end()), flags_(flags) {
    const auto start = std::chrono::steady_clock::now();
    if (try_huge_pages && huge_pages_free(kCacheBytes)) {
        cache_ = randomx_alloc_cache(flags | RANDOMX_FLAG_LARGE_PAGES);
        if (cache_ != nullptr) pages_ = Pages::huge;
    }
    if (cache_ == nullptr) {
        cache_ = randomx_alloc_cache(flags);
        if (cache_ == nullptr) throw std::runtime_error("cannot allocate the 256 MiB RandomX cache");
        // Transparent huge pages before the first touch: light hashing (and the dataset's initialisation)
        // read the cache at random, and in a VM each TLB miss walks two page tables: measured +60% light
        // hashes per second on the CI machine.
        void* memory = try_huge_pages ? cache_memory(cache_) : nullptr;
        pages_ = memory != nullptr && advise_huge_pages(memory, kCacheBytes) ? Pages::transparent : Pages::normal;
    }
    try {
        randomx_init_cache(cache_, key_.data(), key_.size());
    } catch (...) {  // a C API, but implemented in C++: nothing may leak if it ever throws
        randomx_release_cache(cache_);
        throw;
    }
    seconds_ = seconds_since(start);
}

Cache::~Cache() {
    if (cache_ != nullptr) randomx_release_cache(cache_);
}

Dataset::Dataset(const Cache& cache, unsigned threads, bool try_huge_pages) : threads_(std::max(1u, threads)) {
    const auto start = std::chrono::steady_clock::now();
    if (try_huge_pages && huge_pages_free(dataset_bytes())) {
        dataset_ = randomx_alloc_dataset(RANDOMX_FLAG_LARGE_PAGES);
        if (dataset_ != nullptr) pages_ = Pages::huge;
    }
    if (dataset_ == nullptr) {
        dataset_ = randomx_alloc_dataset(RANDOMX_FLAG_DEFAULT);
        if (dataset_ == nullptr) throw std::runtime_error("cannot allocate the " + std::to_string(dataset_bytes() / kMiB) + " MiB RandomX dataset");
        pages_ = try_huge_pages && advise_huge_pages(randomx_get_dataset_memory(dataset_), dataset_bytes()) ? Pages::transparent
                                                                                                           : Pages::normal;
    }
    const unsigned long items = randomx_dataset_item_count();
    const unsigned long per = items / threads_;
    const unsigned long rest = items % threads_;
    std::vector<std::thread> workers;
    workers.reserve(threads_ - 1);
    try {
        unsigned long first = 0;
        for (unsigned t = 0; t < threads_; ++t) {
            const unsigned long count = per + (t < rest ? 1 : 0);
            if (t + 1 == threads_) {
                randomx_init_dataset(dataset_, cache.get(), first, count);  // the last share on this thread
            } else {
                workers.emplace_back([this, &cache, first, count] { randomx_init_dataset(dataset_, cache.get(), first, count); });
            }
            first += count;
        }
    } catch (...) {
        for (std::thread& w : workers) w.join();
        randomx_release_dataset(dataset_);
        throw;
    }
    for (std::thread& w : workers) w.join();
    seconds_ = seconds_since(start);
}

Dataset::~Dataset() {
    if (dataset_ != nullptr) randomx_release_dataset(dataset_);
}

Vm::Vm(randomx_flags flags, std::shared_ptr<const Cache> cache, std::shared_ptr<const Dataset> dataset, bool try_huge_pages)
    : cache_(std::move(cache)), dataset_(std::move(dataset)) {
    if (!cache_ && !dataset_) throw std::invalid_argument("a RandomX VM needs a cache or a dataset");
    randomx_flags f = flags;
    if (dataset_) f |= RANDOMX_FLAG_FULL_MEM;
    // A full VM reads only the dataset; a light one only the cache.
    randomx_cache* c = dataset_ ? nullptr : cache_->get();
    randomx_dataset* d = dataset_ ? dataset_->get() : nullptr;
    if (try_huge_pages && huge_pages_free(2 * kMiB)) {
        vm_ = randomx_create_vm(f | RANDOMX_FLAG_LARGE_PAGES, c, d);
        if (vm_ != nullptr) pages_ = Pages::huge;
    }
    if (vm_ == nullptr) {
        vm_ = randomx_create_vm(f, c, d);
        pages_ = Pages::normal;
    }
    if (vm_ == nullptr) throw std::runtime_error("cannot create a RandomX VM (" + describe(f) + ")");
}

Vm::~Vm() {
    if (vm_ != nullptr) randomx_destroy_vm(vm_);
}

void Vm::hash(std::span<const uint8_t> input, uint8_t out[RANDOMX_HASH_SIZE]) const noexcept {
    randomx_calculate_hash(vm_, input.data(), input.size(), out);
}

// ---------------------------------------------------------------------------------------------------------

VmPool::VmPool(randomx_flags flags, std::shared_ptr<const Cache> cache, std::shared_ptr<const Dataset> dataset,
               std::size_t capacity, bool try_huge_pages)
    : flags_(flags), cache_(std::move(cache)), dataset_(std::move(dataset)), capacity_(std::max<std::size_t>(1, capacity)),
      try_huge_pages_(try_huge_pages) {}

VmPool::Lease::~Lease() {
    if (vm_ && pool_) pool_->give_back(std::move(vm_));
}

VmPool::Lease VmPool::acquire() {
    {
        std::unique_lock lock(mutex_);
        returned_.wait(lock, [&] { return !idle_.empty() || created_ < capacity_; });
        if (!idle_.empty()) {
            std::unique_ptr<Vm> vm = std::move(idle_.back());
            idle_.pop_back();
            return Lease(shared_from_this(), std::move(vm));
        }
        ++created_;  // reserve the slot; the VM is made outside the lock (JIT compilation, 2 MiB scratchpad)
    }
    try {
        return Lease(shared_from_this(), std::make_unique<Vm>(flags_, cache_, dataset_, try_huge_pages_));
    } catch (...) {
        {
            std::lock_guard lock(mutex_);
            --created_;
        }
        returned_.notify_one();
        throw;
    }
}

std::size_t VmPool::created() const {
    std::lock_guard lock(mutex_);
    return created_;
}

void VmPool::give_back(std::unique_ptr<Vm> vm) noexcept {
    {
        std::lock_guard lock(mutex_);
        try {
            idle_.push_back(std::move(vm));
        } catch (...) {
            --created_;  // could not keep it: let the next caller make a new one
        }
    }
    returned_.notify_one();
}

}  // namespace otedama::rx
