// The randomx algorithm plugin: Monero's proof of work, RandomX (tevador/RandomX, Debian's librandomx) keyed
// by the seed block's id, over the block's hashing blob (lib/otedama/monero).
//
// Contracts (see README.md for the whole picture):
//  - Contexts: a LIGHT context is a 256 MiB cache plus a pool of light VMs (verification: ~25 ms a hash); a
//    FULL context adds the 2080 MiB dataset and uses full VMs (mining and fast verification: ~2.5 ms).
//    Contexts of one seed share one cache (and FULL ones one dataset) through a registry of weak pointers;
//    memory goes with the last context or scan state that uses it. prepare_context holds no lock while it
//    builds, so the host can prepare the next seed's dataset while lanes mine on the current one, and two
//    datasets may live side by side during the switch (4.2 GiB).
//  - build_blob: tmpl->blob is the Monero BLOCK TEMPLATE blob (get_block_template's blocktemplate_blob).
//    The extranonce goes at tmpl->reserved_offset (at most tmpl->extranonce_size bytes, inside the miner
//    tx's extra field), and the result is the HASHING blob (header || tree root || tx count) with a zero
//    nonce, whose offset is computed from the header's varints (39 for every Monero block since 2014:
//    1-byte versions and a 5-byte timestamp). Only a template flagged OTD_TEMPLATE_HASHING_BLOB (an
//    upstream pool's job) carries a hashing blob instead: it takes no extranonce, and is checked, not
//    rebuilt. The blob's meaning is always stated by the flag, never guessed from its contents. Monero has
//    no ntime or version rolling: both arguments must be 0.
//  - hash/verify: raw randomx_calculate_hash output, which Monero reads as a 256-bit little-endian number
//    (the ABI's convention): a share meets a target when hash <= target, and its difficulty is
//    (2^256 - 1) / hash (Monero's check_hash: hash * difficulty <= 2^256 - 1).
//  - Difficulty: Monero units, target = floor((2^256 - 1) / difficulty) (lib/otedama/common/uint256).
//  - Scan: one VM per worker thread on the context's dataset (FULL) or cache (LIGHT), hashing with
//    randomx_calculate_hash_first/next so the next nonce's scratchpad fill overlaps the current hash's end.
//    The abort flag is read after every hash: a RandomX hash cannot be interrupted, so the abort latency is
//    one hash (~2.5 ms full, ~25 ms light), not the ABI's 1 ms.
#include "rx_engine.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/shared_by_key.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/monero/block.hpp>
#include <otedama/monero/seed.hpp>
#include <otedama/sdk/algorithm.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef OTEDAMA_RANDOMX_API
#define OTEDAMA_RANDOMX_API "1.1"
#endif

namespace {

namespace common = otedama::common;
namespace monero = otedama::monero;
namespace rx = otedama::rx;
namespace sdk = otedama::sdk;

constexpr uint32_t kNonceSize = 4;
/// RandomX's specified key size limit (specs.md 7: "the maximum supported length of K is 60 bytes").
constexpr std::size_t kMaxSpecifiedKey = 60;

// Marks on the objects behind the ABI's opaque handles, to refuse a released or foreign pointer with a
// message instead of reading garbage (a check for host bugs, not a security boundary).
constexpr uint64_t kContextMagic = 0x7478436f52586472ULL;  // "rdXRoCxt"
constexpr uint64_t kScanMagic = 0x6e6163536f525864ULL;     // "dXRoScan"

common::Uint256 to_uint256(const uint8_t* bytes) noexcept {
    common::Uint256 v;
    std::memcpy(v.data(), bytes, v.size());
    return v;
}

std::string short_hex(const std::vector<uint8_t>& seed) {
    const std::size_t n = std::min<std::size_t>(seed.size(), 8);
    return common::to_hex(std::span<const uint8_t>(seed.data(), n)) + (seed.size() > n ? "..." : "");
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

unsigned hardware_threads() noexcept { return std::max(1u, std::thread::hardware_concurrency()); }

/// What a prepared context is: the seed's cache, for FULL also its dataset, and the VMs verify() borrows.
struct Context {
    uint64_t magic = kContextMagic;
    uint32_t mode = OTD_CONTEXT_LIGHT;
    bool huge_pages = false;
    std::vector<uint8_t> seed;
    std::shared_ptr<const rx::Cache> cache;
    std::shared_ptr<const rx::Dataset> dataset;  // FULL only
    std::shared_ptr<rx::VmPool> pool;
};

/// A worker thread's VM and its copy of the blob being scanned.
struct ScanState {
    uint64_t magic = kScanMagic;
    std::unique_ptr<rx::Vm> vm;
    std::vector<uint8_t> seed;  // the key of the VM's cache/dataset, checked against each work unit's
    std::vector<uint8_t> blob;
};

// Monero regtest, height 1: monerod 0.18.0.0's get_block_template (reserve_size 8) answered this
// blocktemplate_blob (reserved_offset 126) and this blockhashing_blob; see tests/lib/monero/monero_fixtures.hpp
// for the recording. The self-test derives the one from the other through build_blob.
constexpr const char* kSelfTestTemplate =
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e300000000023d01ff0101808080f0ffff0703"
    "42449a7b5da57a3970056b6e4a22ea3970b2d7a5f2795def183acef81466208e952b01939c07166335418a1a72c96a602ac079142cc4b0f5b0"
    "556bf32fbea270ae76c8020800000000000000000000";
constexpr uint32_t kSelfTestReservedOffset = 126;
constexpr const char* kSelfTestHashingBlob =
    "1010ebed84d806418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e300000000b4ca2531c232311a4422daf71bc1"
    "ed10ab75b2933d5f8af21be7b5da462ab05a01";

// ---------------------------------------------------------------------------------------------------------

class RandomX final : public sdk::Algorithm<RandomX> {
public:
    static constexpr const char* kName = "randomx";
    static constexpr const char* kCoinFamily = "monero";
    static constexpr uint32_t kFlags = OTD_ALGO_NEEDS_CONTEXT;

    using Algorithm::Algorithm;

    // [control]
    void init() override {
        flags_ = rx::machine_flags();
        host().logf(OTD_LOG_INFO, "randomx: librandomx %s, %s", OTEDAMA_RANDOMX_API, rx::describe(flags_).c_str());
        if ((static_cast<int>(flags_) & RANDOMX_FLAG_JIT) == 0) {
            host().warn("randomx: librandomx offers no JIT compiler on this machine: the interpreter is about 10x slower");
        }
    }

    // [any] The raw RandomX hash of `input` under the context's key.
    void hash(const otd_algo_context_t* ctx, std::span<const uint8_t> input, std::span<uint8_t, OTD_HASH_SIZE> out) const {
        const Context& c = context_of(ctx, "hash");
        const rx::VmPool::Lease lease = borrow(c);
        lease.vm().hash(input, out.data());
    }

    // [any] The only judge of a share: the hashing blob (nonce in place) under the job's context.
    void verify(const otd_algo_context_t* ctx, const otd_verify_request_t& request, otd_verify_result_t& result) const {
        const Context& c = context_of(ctx, "verify");
        const std::span<const uint8_t> blob(request.blob, request.blob == nullptr ? 0 : request.blob_size);
        std::string why;
        if (request.blob == nullptr || !monero::parse_hashing_blob(blob, &why)) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "verify: not a Monero hashing blob (" +
                                                      (request.blob == nullptr ? std::string("NULL") : why) + ")");
        }
        uint8_t hash[OTD_HASH_SIZE];
        {
            const rx::VmPool::Lease lease = borrow(c);
            lease.vm().hash(blob, hash);
        }
        const common::Uint256 h = to_uint256(hash);
        result.meets_share = common::meets_target(h, to_uint256(request.share_target)) ? 1u : 0u;
        result.meets_block = common::meets_target(h, to_uint256(request.block_target)) ? 1u : 0u;
        result.mix_ok = 1;  // RandomX has no mix hash
        std::memcpy(result.hash, hash, OTD_HASH_SIZE);
        std::memset(result.mix, 0, OTD_HASH_SIZE);
        result.share_difficulty = common::monero_difficulty_from_target(h);
    }

    // [any] Monero units: floor((2^256 - 1) / difficulty).
    std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double difficulty) const {
        const auto target = common::monero_target_from_difficulty(difficulty);
        if (!target) throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty must be a finite number > 0, got " + std::to_string(difficulty));
        return *target;
    }

    // [any]
    double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE> target) const {
        const common::Uint256 t = to_uint256(target.data());
        if (common::is_zero(t)) throw sdk::Error(OTD_ERR_INVALID_ARG, "target 0 has no difficulty");
        return common::monero_difficulty_from_target(t);
    }

    // [any] Block template blob + extranonce -> hashing blob (see the top of this file).
    sdk::Blob build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t ntime, uint32_t version) const {
        if (!sdk::struct_covers(tmpl, OTD_FIELD_END(otd_template_t, nonce_size))) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: template struct_size " + std::to_string(tmpl.struct_size) +
                                                      " lacks the blob fields");
        }
        if (ntime != 0 || version != 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: Monero blocks have no ntime or version rolling (got ntime " +
                                                      std::to_string(ntime) + ", version " + std::to_string(version) + ")");
        }
        if (tmpl.blob == nullptr || tmpl.blob_size == 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: the template has no blob (Monero: get_block_template's blocktemplate_blob)");
        }
        if (tmpl.nonce_size != 0 && tmpl.nonce_size != kNonceSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: a Monero nonce is 4 bytes, the template says " + std::to_string(tmpl.nonce_size));
        }
        const std::span<const uint8_t> tmpl_blob(tmpl.blob, tmpl.blob_size);
        if ((tmpl.flags & OTD_TEMPLATE_HASHING_BLOB) != 0) return from_hashing_blob(tmpl, tmpl_blob, extranonce);
        if (extranonce.size() > tmpl.extranonce_size) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: extranonce is " + std::to_string(extranonce.size()) +
                                                      " bytes, the template reserves " + std::to_string(tmpl.extranonce_size));
        }
        std::string why;
        std::optional<std::vector<uint8_t>> block;
        if (tmpl.extranonce_size == 0) {
            block.emplace(tmpl_blob.begin(), tmpl_blob.end());  // no reserved space: the template as it is
        } else {
            block = monero::fill_block_template(tmpl_blob, tmpl.reserved_offset, tmpl.extranonce_size, extranonce, 0u, &why);
        }
        const auto parsed = block ? monero::parse_block(*block, &why) : std::nullopt;
        if (!parsed) throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: " + why);
        check_header(tmpl, parsed->header);
        const monero::BlockHeader& header = parsed->header;
        sdk::Blob out;
        out.bytes = monero::hashing_blob(*block, *parsed);
        std::memset(out.bytes.data() + header.nonce_offset, 0, kNonceSize);
        out.nonce_offset = static_cast<uint32_t>(header.nonce_offset);
        out.nonce_size = kNonceSize;
        return out;
    }

    // [any] "librandomx 1.1 jit+hard-aes+argon2-avx2 (full, transparent huge pages)": the library's code paths
    // and the mode of the most recently prepared context.
    std::string implementation() const {
        std::lock_guard lock(info_mutex_);
        return std::string("librandomx ") + OTEDAMA_RANDOMX_API + " " + rx::describe(flags_) + " (" + last_context_ + ")";
    }

    // [any, off the hot path] Build (or share) the seed's cache, for FULL also its dataset. No lock is held
    // across a build except the seed's own (a second request for the same seed waits for the first).
    otd_algo_context_t* prepare_context(const otd_context_params_t& params) {
        if (!sdk::struct_covers(params, OTD_FIELD_END(otd_context_params_t, numa_node))) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: params struct_size " + std::to_string(params.struct_size) + " is too small");
        }
        if (params.mode != OTD_CONTEXT_LIGHT && params.mode != OTD_CONTEXT_FULL) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: mode " + std::to_string(params.mode) +
                                                      " is neither OTD_CONTEXT_LIGHT (1) nor OTD_CONTEXT_FULL (2)");
        }
        if (params.seed == nullptr || params.seed_size == 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: randomx needs a seed (the RandomX key; Monero: the 32-byte "
                                                  "seed_hash of get_block_template)");
        }
        const std::span<const uint8_t> seed(params.seed, params.seed_size);
        const bool full = params.mode == OTD_CONTEXT_FULL;
        const bool huge = (params.flags & OTD_CONTEXT_FLAG_HUGE_PAGES) != 0;
        const unsigned threads = params.threads != 0 ? params.threads : hardware_threads();

        auto ctx = std::make_unique<Context>();
        ctx->mode = params.mode;
        ctx->huge_pages = huge;
        ctx->seed.assign(seed.begin(), seed.end());
        const std::string who = "randomx: seed " + short_hex(ctx->seed);
        if (seed.size() > kMaxSpecifiedKey) {
            host().logf(OTD_LOG_WARN, "%s is %u bytes, above RandomX's specified 60: librandomx hashes it, other "
                                      "implementations may disagree", who.c_str(), params.seed_size);
        }
        try {
            const std::vector<uint8_t> key(seed.begin(), seed.end());
            bool reused = false;
            ctx->cache = caches_.get(key, [&] { return std::make_shared<const rx::Cache>(seed, flags_, huge); }, reused);
            if (!reused) {
                host().logf(OTD_LOG_INFO, "%s: cache built in %s (%zu MiB, %s)", who.c_str(), seconds(ctx->cache->build_seconds()).c_str(),
                            rx::kCacheBytes / rx::kMiB, rx::to_string(ctx->cache->pages()));
                if (huge) note_huge_page_fallback(ctx->cache->pages(), "the cache");
            } else {
                host().logf(OTD_LOG_DEBUG, "%s: sharing the existing cache", who.c_str());
            }
            if (full) {
                ctx->dataset = datasets_.get(key, [&] { return std::make_shared<const rx::Dataset>(*ctx->cache, threads, huge); }, reused);
                if (!reused) {
                    host().logf(OTD_LOG_INFO, "%s: dataset built in %s on %u threads (%zu MiB, %s)", who.c_str(),
                                seconds(ctx->dataset->build_seconds()).c_str(), ctx->dataset->threads(),
                                rx::dataset_bytes() / rx::kMiB, rx::to_string(ctx->dataset->pages()));
                    if (huge) note_huge_page_fallback(ctx->dataset->pages(), "the dataset");
                } else {
                    host().logf(OTD_LOG_DEBUG, "%s: sharing the existing dataset", who.c_str());
                }
            }
            ctx->pool = std::make_shared<rx::VmPool>(flags_, ctx->cache, ctx->dataset, hardware_threads(), huge);
        } catch (const std::runtime_error& e) {
            throw sdk::Error(OTD_ERR_NO_MEMORY, who + ": " + e.what());
        }
        const std::size_t mib = rx::kCacheBytes / rx::kMiB + (full ? rx::dataset_bytes() / rx::kMiB : 0);
        host().logf(OTD_LOG_INFO, "%s: %s context ready (%zu MiB shared with other contexts of this seed, %zu seeds live; "
                                  "verification VMs: up to %zu x 2 MiB)",
                    who.c_str(), full ? "full" : "light", mib, caches_.live(), ctx->pool->capacity());
        {
            std::lock_guard lock(info_mutex_);
            last_context_ = full ? std::string("full, ") + rx::to_string(ctx->dataset->pages()) : std::string("light");
        }
        return reinterpret_cast<otd_algo_context_t*>(ctx.release());
    }

    // [control] Scan states and leases still running keep the cache and dataset alive (shared ownership).
    void release_context(otd_algo_context_t* ctx) {
        if (ctx == nullptr) return;
        auto* c = reinterpret_cast<Context*>(ctx);
        if (c->magic != kContextMagic) {
            host().error("randomx: release_context: not a randomx context (released twice?); ignored");
            return;
        }
        c->magic = 0;
        delete c;
    }

    // [worker] A VM for this worker thread, created on it.
    otd_scan_state_t* create_scan_state(const otd_algo_context_t* ctx, const otd_scan_params_t& params) {
        const Context& c = context_of(ctx, "create_scan_state");
        const bool huge = (params.flags & OTD_SCAN_HUGE_PAGES) != 0;
        auto state = std::make_unique<ScanState>();
        state->seed = c.seed;
        try {
            state->vm = std::make_unique<rx::Vm>(flags_, c.cache, c.dataset, huge);
        } catch (const std::runtime_error& e) {
            throw sdk::Error(OTD_ERR_NO_MEMORY, std::string("randomx: scan state: ") + e.what());
        }
        if (huge) note_huge_page_fallback(state->vm->pages(), "a mining VM's scratchpad");
        return reinterpret_cast<otd_scan_state_t*>(state.release());
    }

    void destroy_scan_state(otd_scan_state_t* state) const noexcept {
        auto* s = reinterpret_cast<ScanState*>(state);
        if (s == nullptr || s->magic != kScanMagic) return;
        s->magic = 0;
        delete s;
    }

    // [worker] Hash [nonce_start, nonce_start + nonce_count), pipelined: hash_first starts the first nonce,
    // each hash_next finishes one and starts the next.
    otd_status_t scan(otd_scan_state_t* state, const otd_work_unit_t& work, otd_scan_stats_t& stats) const {
        auto* s = reinterpret_cast<ScanState*>(state);
        if (s == nullptr || s->magic != kScanMagic) return refuse_scan(stats, "randomx: scan: not a randomx scan state");
        if (!sdk::struct_covers(work, OTD_FIELD_END(otd_work_unit_t, on_found_user))) {
            return refuse_scan(stats, "randomx: scan: work unit struct_size " + std::to_string(work.struct_size) + " is too small");
        }
        if (work.blob == nullptr || work.nonce_size != kNonceSize || work.nonce_offset > work.blob_size ||
            work.blob_size - work.nonce_offset < kNonceSize) {
            return refuse_scan(stats, "randomx: scan: the blob (" + std::to_string(work.blob_size) + " bytes) has no 4-byte nonce at " +
                                          std::to_string(work.nonce_offset) + " (nonce_size " + std::to_string(work.nonce_size) + ")");
        }
        constexpr uint64_t kNonces = uint64_t{1} << 32;
        if (work.nonce_start > kNonces || work.nonce_count > kNonces - work.nonce_start) {
            return refuse_scan(stats, "randomx: scan: nonce range [" + std::to_string(work.nonce_start) + ", +" +
                                          std::to_string(work.nonce_count) + ") leaves the 32-bit nonce space");
        }
        if (work.on_found == nullptr) return refuse_scan(stats, "randomx: scan: the work unit has no on_found callback");
        // A state on another seed's dataset would hash every nonce under the wrong key: all shares invalid.
        if (work.seed != nullptr && work.seed_size != 0 &&
            (work.seed_size != s->seed.size() || std::memcmp(work.seed, s->seed.data(), s->seed.size()) != 0)) {
            return refuse_scan(stats, "randomx: scan: the work unit's seed " +
                                          short_hex(std::vector<uint8_t>(work.seed, work.seed + work.seed_size)) +
                                          " is not the scan state's " + short_hex(s->seed) + " (scan state of an older context?)");
        }

        put_stats(stats, 0, 0);
        if (work.nonce_count == 0) return OTD_OK;
        if (aborted(work)) return OTD_ERR_ABORTED;

        s->blob.assign(work.blob, work.blob + work.blob_size);
        uint8_t* nonce_at = s->blob.data() + work.nonce_offset;
        auto put_nonce = [nonce_at](uint64_t n) {
            nonce_at[0] = static_cast<uint8_t>(n);
            nonce_at[1] = static_cast<uint8_t>(n >> 8);
            nonce_at[2] = static_cast<uint8_t>(n >> 16);
            nonce_at[3] = static_cast<uint8_t>(n >> 24);
        };
        const common::Uint256 share_target = to_uint256(work.share_target);
        randomx_vm* vm = s->vm->get();
        const uint64_t end = work.nonce_start + work.nonce_count;
        uint64_t hashes = 0;
        uint32_t found_count = 0;
        otd_status_t status = OTD_OK;

        put_nonce(work.nonce_start);
        randomx_calculate_hash_first(vm, s->blob.data(), s->blob.size());
        for (uint64_t nonce = work.nonce_start; nonce < end; ++nonce) {
            uint8_t out[RANDOMX_HASH_SIZE];
            if (nonce + 1 < end) {
                put_nonce(nonce + 1);  // hash_first/next read their input at once: one buffer suffices
                randomx_calculate_hash_next(vm, s->blob.data(), s->blob.size(), out);
            } else {
                randomx_calculate_hash_last(vm, out);
            }
            ++hashes;
            if (common::meets_target(to_uint256(out), share_target)) {
                otd_found_t found = sdk::make_struct<otd_found_t>();
                found.work_id = work.work_id;
                found.nonce = nonce;
                std::memcpy(found.hash, out, OTD_HASH_SIZE);
                ++found_count;
                if (work.on_found(work.on_found_user, &found) == OTD_ERR_ABORTED) {
                    status = OTD_ERR_ABORTED;
                    break;
                }
            }
            // A hash cannot be interrupted: the flag is read after each one (~2.5 ms full, ~25 ms light).
            if (nonce + 1 < end && aborted(work)) {
                status = OTD_ERR_ABORTED;
                break;
            }
        }
        // An abort leaves the pipeline holding a started hash; the next scan's hash_first starts afresh.
        put_stats(stats, hashes, found_count);
        return status;
    }

    // [control] Cheap, because the host runs it at every load (also for `--list-plugins`): a RandomX known
    // answer needs an initialised cache (256 MiB of Argon2d, ~0.5-1 s of one core and 256 MiB of memory)
    // before a single hash, too slow and too heavy for every start. The RandomX known answers (tevador's
    // vectors, monerod's recorded PoW hashes) run in the unit tests instead, and a wrong RandomX build would
    // show as every share rejected by verify(). What runs here, in well under a millisecond:
    //  1. librandomx is callable and its flags are sane for this CPU: hard AES and AVX2 Argon2 only when the
    //     CPU has them (a wrong flag is an illegal instruction later, in the middle of mining);
    //  2. the library is configured as Monero's RandomX (the dataset item count of its parameters: a
    //     library built for another coin's RandomX variant would produce hashes monerod rejects);
    //  3. build_blob derives monerod's own hashing blob from its block template (Keccak, varints, tree
    //     hash: the Monero side of a share);
    //  4. Monero's difficulty unit.
    void self_test() override {
        const auto f = static_cast<int>(randomx_get_flags());
        __builtin_cpu_init();
        if ((f & RANDOMX_FLAG_HARD_AES) != 0 && __builtin_cpu_supports("aes") == 0) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "librandomx asks for hardware AES on a CPU without AES-NI");
        }
        if ((f & RANDOMX_FLAG_ARGON2_AVX2) != 0 && __builtin_cpu_supports("avx2") == 0) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "librandomx asks for AVX2 Argon2 on a CPU without AVX2");
        }
        if ((f & (RANDOMX_FLAG_LARGE_PAGES | RANDOMX_FLAG_FULL_MEM)) != 0) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "randomx_get_flags() returned caller-only flags (0x" + std::to_string(f) + ")");
        }
        if (randomx_dataset_item_count() != rx::kMoneroDatasetItems) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "librandomx has " + std::to_string(randomx_dataset_item_count()) +
                                                    " dataset items, Monero's RandomX has " + std::to_string(rx::kMoneroDatasetItems) +
                                                    " (a library built for another RandomX variant?)");
        }

        const auto tmpl_blob = common::from_hex(kSelfTestTemplate).value();
        otd_template_t tmpl = sdk::make_struct<otd_template_t>();
        tmpl.blob = tmpl_blob.data();
        tmpl.blob_size = static_cast<uint32_t>(tmpl_blob.size());
        tmpl.reserved_offset = kSelfTestReservedOffset;
        tmpl.extranonce_size = 8;
        const sdk::Blob blob = build_blob(tmpl, {}, 0, 0);
        if (common::to_hex(blob.bytes) != kSelfTestHashingBlob || blob.nonce_offset != 39 || blob.nonce_size != kNonceSize) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "build_blob of monerod's height-1 template gave " + common::to_hex(blob.bytes) +
                                                    " (nonce at " + std::to_string(blob.nonce_offset) + "), monerod says " +
                                                    kSelfTestHashingBlob + " (nonce at 39)");
        }

        const auto one = target_from_difficulty(1.0);
        const auto two = target_from_difficulty(2.0);
        common::Uint256 half = common::kUint256Max;
        half[31] = 0x7f;
        if (to_uint256(one.data()) != common::kUint256Max || to_uint256(two.data()) != half) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "Monero difficulty 1 and 2 give targets " + common::to_display_hex(to_uint256(one.data())) +
                                                    " and " + common::to_display_hex(to_uint256(two.data())));
        }
    }
    [[nodiscard]] bool has_self_test() const noexcept override { return true; }

private:
    /// A template flagged OTD_TEMPLATE_HASHING_BLOB (an upstream pool's job): the blob is already the hashing
    /// blob, its reserved bytes filled by the pool; only the nonce is cleared and located.
    static sdk::Blob from_hashing_blob(const otd_template_t& tmpl, std::span<const uint8_t> blob, std::span<const uint8_t> extranonce) {
        if (!extranonce.empty()) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: a hashing-blob template (OTD_TEMPLATE_HASHING_BLOB) has no extranonce "
                                                  "space, got " + std::to_string(extranonce.size()) + " bytes");
        }
        std::string why;
        const auto parsed = monero::parse_hashing_blob(blob, &why);
        if (!parsed) throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: the template is flagged as a hashing blob, but: " + why);
        check_header(tmpl, parsed->header);
        sdk::Blob out;
        out.bytes.assign(blob.begin(), blob.end());
        std::memset(out.bytes.data() + parsed->header.nonce_offset, 0, kNonceSize);
        out.nonce_offset = static_cast<uint32_t>(parsed->header.nonce_offset);
        out.nonce_size = kNonceSize;
        return out;
    }

    /// What both template kinds must satisfy: a RandomX-era block, and the nonce where the template says.
    static void check_header(const otd_template_t& tmpl, const monero::BlockHeader& header) {
        if (header.major_version < monero::kRandomxMajorVersion) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: block major version " + std::to_string(header.major_version) +
                                                      " predates RandomX (Monero uses it from version 12)");
        }
        if (tmpl.nonce_offset != 0 && tmpl.nonce_offset != header.nonce_offset) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: the template puts the nonce at " + std::to_string(tmpl.nonce_offset) +
                                                      ", its blob's header at " + std::to_string(header.nonce_offset));
        }
    }

    const Context& context_of(const otd_algo_context_t* ctx, const char* what) const {
        if (ctx == nullptr) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, std::string(what) + ": randomx needs a context (prepare_context with the "
                                                                      "seed, the RandomX key)");
        }
        const auto* c = reinterpret_cast<const Context*>(ctx);
        if (c->magic != kContextMagic) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, std::string(what) + ": not a live randomx context (released, or another plugin's)");
        }
        return *c;
    }

    rx::VmPool::Lease borrow(const Context& c) const {
        try {
            return c.pool->acquire();
        } catch (const std::runtime_error& e) {
            throw sdk::Error(OTD_ERR_NO_MEMORY, std::string("randomx: ") + e.what());
        }
    }

    /// Huge pages were asked for and not (all) had: one warning per instance, then debug lines.
    void note_huge_page_fallback(rx::Pages got, const char* what) const {
        if (got == rx::Pages::huge) return;
        const bool first = !huge_page_warned_.exchange(true);
        host().logf(first ? OTD_LOG_WARN : OTD_LOG_DEBUG,
                    "randomx: no explicit huge pages for %s (none reserved or too few: vm.nr_hugepages; a full context needs "
                    "about 1168 x 2 MiB); using %s%s",
                    what, rx::to_string(got), first ? ". This is said once; mining runs, slower" : "");
    }

    static bool aborted(const otd_work_unit_t& work) noexcept { return work.abort_flag != nullptr && *work.abort_flag != 0; }

    static void put_stats(otd_scan_stats_t& stats, uint64_t hashes, uint32_t found) noexcept {
        if (sdk::struct_covers(stats, OTD_FIELD_END(otd_scan_stats_t, found))) stats.found = found;
        if (sdk::struct_covers(stats, OTD_FIELD_END(otd_scan_stats_t, hashes))) stats.hashes = hashes;
    }

    /// scan() has no error buffer in the ABI: say why through the host log, then fail with INVALID_ARG.
    otd_status_t refuse_scan(otd_scan_stats_t& stats, const std::string& why) const {
        put_stats(stats, 0, 0);
        host().error(why);
        return OTD_ERR_INVALID_ARG;
    }

    randomx_flags flags_ = RANDOMX_FLAG_DEFAULT;
    // Per seed, one cache and one dataset shared by every context of that seed (every context holds its
    // seed's cache, so live caches = live seeds).
    common::SharedByKey<rx::Cache, std::vector<uint8_t>> caches_;
    common::SharedByKey<rx::Dataset, std::vector<uint8_t>> datasets_;
    mutable std::atomic<bool> huge_page_warned_{false};
    mutable std::mutex info_mutex_;
    std::string last_context_ = "no context yet";
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.otedama.algorithm.randomx", "randomx", "0.1.0", "Otedama",
    "Monero's proof of work: RandomX (librandomx) keyed by the seed block id, over the block hashing blob",
    "https://github.com/otedama/otedama", OTD_ALGORITHM_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<RandomX>(kDescriptor));
