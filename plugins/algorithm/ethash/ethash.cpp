// The ethash algorithm plugins: Ethereum's proof of work ("ethash", 30000-block epochs) and Ethereum
// Classic's ECIP-1099 variant ("etchash", 60000-block epochs), two plugins from one shared object (the SDK's
// factory lists several classes; each is its own plugin id, descriptor and instance). The hashing is
// lib/otedama/ethash, shared with kawpow.
//
// Contracts (the core's scheduler and CLI rely on them):
//  - Context: epoch = height / epoch_length. A 32-byte params->seed must be that epoch's seed (etchash:
//    ECIP-1099's, see lib/otedama/ethash/ethash.cpp); a seed of another size is no Ethash seed and is ignored.
//    LIGHT = the light cache; FULL = light cache + DAG built with params->threads. Caches and DAGs are shared
//    per instance by epoch (weak references): a light and a full context of one epoch hold one light cache,
//    freed with the last context that uses it.
//  - Blob: the 32-byte header hash (seal hash) || the 8-byte little-endian nonce; nonce at 32, 8 bytes. No
//    extranonce (Ethereum-family templates have extranonce_size 0).
//  - hash(): input = that 40-byte blob, output = the final hash, raw bytes (as the published vectors print).
//  - verify(): result->hash is the final hash as the ABI's 256-bit little-endian number, i.e. the raw bytes
//    reversed (Ethereum compares the raw hash big-endian with the boundary); result->mix the raw mix hash.
//  - Difficulty: Ethereum's units, boundary = 2^256 / difficulty (difficulty = expected hashes).
//
// Coin families: "ethereum" for ethash; "ethereum-classic" for etchash: the same block format and
// difficulty units but its own chain and epoch rule, so a job source or a pool configured for one family
// never receives the other's jobs.
//
// Implementation: the lib's scalar, AVX2 or AVX-512 kernels, the fastest this CPU runs after each passed a
// known-answer check at init; OTEDAMA_ETHASH_IMPL=scalar|avx2|avx512 forces one.
#include <otedama/common/hex.hpp>
#include <otedama/common/shared_by_key.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/ethash/ethash.hpp>
#include <otedama/sdk/algorithm.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace {

namespace common = otedama::common;
namespace eth = otedama::ethash;
namespace sdk = otedama::sdk;

constexpr uint32_t kHeaderSize = 32;
constexpr uint32_t kNonceOffset = 32;
constexpr uint32_t kNonceSize = 8;
constexpr uint32_t kBlobSize = kHeaderSize + kNonceSize;

uint64_t le64(const uint8_t* p) noexcept {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
common::Uint256 to_uint256(const uint8_t* bytes) noexcept {
    common::Uint256 v;
    std::memcpy(v.data(), bytes, v.size());
    return v;
}
/// The ABI's little-endian number of a raw Ethash final hash (compared big-endian by Ethereum).
common::Uint256 hash_number(const eth::Hash256& raw) noexcept {
    common::Uint256 v;
    std::reverse_copy(raw.begin(), raw.end(), v.begin());
    return v;
}
std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}
double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---------------------------------------------------------------------------------------------------------
// Contexts

/// A DAG and where its memory came from (the host's memory service when it has one). `memory` is declared
/// first so that it outlives the dataset that releases through it.
struct Dag {
    struct HostMemory {
        const otd_memory_service_t* service = nullptr;
        const otd_host_t* host = nullptr;
        uint32_t flags = 0;
        int32_t numa_node = -1;
        static void* allocate(void* user, std::size_t bytes) {
            auto& m = *static_cast<HostMemory*>(user);
            void* p = nullptr;
            uint32_t got = 0;
            char err[OTD_ERROR_CAP] = {};
            return m.service->allocate(m.host, bytes, m.flags, m.numa_node, &p, &got, err, sizeof err) == OTD_OK ? p : nullptr;
        }
        static void release(void* user, void* p, std::size_t bytes) {
            auto& m = *static_cast<HostMemory*>(user);
            m.service->release(m.host, p, bytes);
        }
    };
    HostMemory memory;
    std::optional<eth::FullDataset> full;
};

/// What an otd_algo_context_t points at.
struct Context {
    uint64_t epoch = 0;
    uint32_t mode = OTD_CONTEXT_LIGHT;
    std::shared_ptr<const eth::LightCache> cache;
    std::shared_ptr<const Dag> dag;  // FULL only
};

const Context& context_of(const otd_algo_context_t* ctx, const char* what) {
    if (ctx == nullptr) throw sdk::Error(OTD_ERR_INVALID_ARG, std::string(what) + ": this algorithm needs a context (prepare_context)");
    return *reinterpret_cast<const Context*>(ctx);
}

/// Per-lane scan state: the context's cache and DAG, kept alive for as long as the state lives.
struct ScanState {
    std::shared_ptr<const eth::LightCache> cache;
    std::shared_ptr<const Dag> dag;
};

// ---------------------------------------------------------------------------------------------------------
// Known answers for init's kernel check and the self-test: libethash (the C reference) on a cache of
// explicit geometry, ethash_light_new_internal(16 KiB, zero seed) and ethash_light_compute_internal(80 KiB,
// header 00 01 .. 1f, nonce), computed with Debian's python3-pyethash 0.1.27; the same answer appears in
// public libethash consumers' tests. The epoch-0 mainnet vectors (16 MiB cache, about a second) are in the
// unit tests (tests/lib/ethash, tests/plugins/algorithm/ethash), not here: the host runs self-tests at every
// load, --list-plugins included.
constexpr uint32_t kSyntheticCacheItems = 16 * 1024 / 64;
constexpr uint64_t kSyntheticDatasetBytes = 80 * 1024;
struct SyntheticVector {
    uint64_t nonce;
    const char* final_hash;
    const char* mix;
};
constexpr SyntheticVector kSynthetic[] = {
    {1, "a57562c7a275ab2bae0b3a6afd5b6b425d9dc3b5f6e3d106adfc5401b687b424",
     "c854bad41b003055e79a241a6e071341021b972d0a0090064210b95bb60db98a"},
    {0xffffffffffffffffULL, "3f97713a0e447b8aab4ce71fae6e35280e1eba4ce839192f805823c301bf3de1",
     "70a6205041cedc3ea0a05cee1ec7b26f8b2ba4999406c507c354d7434bf6162d"},
};
eth::Hash256 synthetic_header() noexcept {
    eth::Hash256 h;
    for (uint32_t i = 0; i < 32; ++i) h[i] = static_cast<uint8_t>(i);
    return h;
}
std::shared_ptr<const eth::LightCache> synthetic_cache() {
    static const auto cache = std::make_shared<const eth::LightCache>(eth::Hash256{}, kSyntheticCacheItems, kSyntheticDatasetBytes);
    return cache;
}

/// Whether `impl` reproduces the synthetic known answers, single and batched. `why` says what differed.
bool impl_passes(eth::Impl impl, std::string& why) {
    const auto cache = synthetic_cache();
    eth::HashInput in[2];
    eth::HashResult batch[2];
    for (int i = 0; i < 2; ++i) in[i] = {synthetic_header(), kSynthetic[i].nonce};
    (void)eth::hashimoto_light_batch(*cache, eth::kEthash, in, batch, impl);
    for (int i = 0; i < 2; ++i) {
        const eth::HashResult one = eth::hashimoto_light(*cache, eth::kEthash, in[i].header_hash, in[i].nonce, impl);
        for (const eth::HashResult* r : {&one, static_cast<const eth::HashResult*>(&batch[i])}) {
            if (common::to_hex(r->final_hash) != kSynthetic[i].final_hash || common::to_hex(r->mix) != kSynthetic[i].mix) {
                why = std::string("hashimoto of the libethash synthetic vector (nonce ") + std::to_string(kSynthetic[i].nonce) +
                      ") is " + common::to_hex(r->final_hash) + " / mix " + common::to_hex(r->mix) + ", expected " +
                      kSynthetic[i].final_hash + " / " + kSynthetic[i].mix;
                return false;
            }
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------------

struct EthashTraits {
    static constexpr const char* kName = "ethash";
    static constexpr const char* kCoinFamily = "ethereum";
    static constexpr const eth::Variant& kVariant = eth::kEthash;
};
struct EtchashTraits {
    static constexpr const char* kName = "etchash";
    static constexpr const char* kCoinFamily = "ethereum-classic";
    static constexpr const eth::Variant& kVariant = eth::kEtchash;
};

template <class Traits>
class EthashFamily final : public sdk::Algorithm<EthashFamily<Traits>> {
public:
    static constexpr const char* kName = Traits::kName;
    static constexpr const char* kCoinFamily = Traits::kCoinFamily;
    static constexpr uint32_t kFlags = OTD_ALGO_NEEDS_CONTEXT | OTD_ALGO_HAS_MIX;
    static constexpr const eth::Variant& kVariant = Traits::kVariant;

    using sdk::Algorithm<EthashFamily<Traits>>::Algorithm;
    using sdk::Plugin::host;

    // [control] The fastest implementation this CPU runs that reproduces the known answers (or the one
    // OTEDAMA_ETHASH_IMPL names).
    void init() override {
        const char* forced = std::getenv("OTEDAMA_ETHASH_IMPL");
        const bool is_forced = forced != nullptr && *forced != '\0';
        const std::optional<eth::Impl> wanted = is_forced ? eth::impl_from_name(forced) : std::nullopt;
        if (is_forced && !wanted) {
            host().logf(OTD_LOG_ERROR, "%s: OTEDAMA_ETHASH_IMPL=%s is not an implementation (scalar, avx2, avx512); using scalar", kName, forced);
        }
        eth::Impl chosen = eth::Impl::kScalar;
        for (const eth::Impl impl : eth::kAllImpls) {  // by increasing speed
            if (impl == eth::Impl::kScalar || (is_forced && impl != wanted)) continue;
            if (!eth::impl_supported(impl)) {
                if (is_forced) host().logf(OTD_LOG_ERROR, "%s: OTEDAMA_ETHASH_IMPL=%s but this CPU lacks it; using scalar", kName, forced);
                continue;
            }
            std::string why;
            if (!impl_passes(impl, why)) {
                host().logf(OTD_LOG_ERROR, "%s: implementation %s failed its known-answer check (%s); not used", kName, eth::impl_name(impl), why.c_str());
                continue;
            }
            chosen = impl;
        }
        impl_ = chosen;
        host().logf(OTD_LOG_INFO, "%s: using %s%s", kName, eth::impl_name(impl_),
                    is_forced && wanted && chosen == *wanted ? " (forced by OTEDAMA_ETHASH_IMPL)" : "");
    }

    // [any] input = header hash (32) || nonce (8, little-endian); out = the final hash, raw bytes.
    void hash(const otd_algo_context_t* ctx, std::span<const uint8_t> input, std::span<uint8_t, OTD_HASH_SIZE> out) const {
        const Context& c = context_of(ctx, "hash");
        if (input.size() != kBlobSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("hash: ") + kName + " hashes a 40-byte header hash || nonce, got " +
                                                      std::to_string(input.size()) + " bytes");
        }
        eth::Hash256 header;
        std::memcpy(header.data(), input.data(), kHeaderSize);
        const eth::HashResult r = compute(c, header, le64(input.data() + kNonceOffset));
        std::memcpy(out.data(), r.final_hash.data(), OTD_HASH_SIZE);
    }

    // [any] The only judge of a share.
    void verify(const otd_algo_context_t* ctx, const otd_verify_request_t& request, otd_verify_result_t& result) const {
        const Context& c = context_of(ctx, "verify");
        if (request.blob == nullptr || (request.blob_size != kBlobSize && request.blob_size != kHeaderSize)) {
            throw sdk::Error(OTD_ERR_INVALID_ARG,
                             std::string("verify: an ") + kName + " blob is the 32-byte header hash, or it and the 8-byte nonce (40 bytes), got " +
                                 (request.blob == nullptr ? std::string("NULL") : std::to_string(request.blob_size) + " bytes"));
        }
        eth::Hash256 header;
        std::memcpy(header.data(), request.blob, kHeaderSize);
        const uint64_t nonce = request.blob_size == kBlobSize ? le64(request.blob + kNonceOffset) : request.nonce;
        const eth::HashResult r = compute(c, header, nonce);
        const common::Uint256 value = hash_number(r.final_hash);
        result.meets_share = common::meets_target(value, to_uint256(request.share_target)) ? 1U : 0U;
        result.meets_block = common::meets_target(value, to_uint256(request.block_target)) ? 1U : 0U;
        result.mix_ok = (request.flags & OTD_FOUND_HAS_MIX) == 0U || std::memcmp(request.mix, r.mix.data(), OTD_HASH_SIZE) == 0 ? 1U : 0U;
        std::memcpy(result.hash, value.data(), OTD_HASH_SIZE);
        std::memcpy(result.mix, r.mix.data(), OTD_HASH_SIZE);
        result.share_difficulty = eth::ethereum_difficulty_from_target(value);
    }

    // [any] boundary = 2^256 / difficulty.
    std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double difficulty) const {
        const auto target = eth::ethereum_target_from_difficulty(difficulty);
        if (!target) throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty must be a finite number > 0, got " + std::to_string(difficulty));
        return *target;
    }

    // [any]
    double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE> target) const {
        const common::Uint256 t = to_uint256(target.data());
        if (common::is_zero(t)) throw sdk::Error(OTD_ERR_INVALID_ARG, "target 0 has no difficulty");
        return eth::ethereum_difficulty_from_target(t);
    }

    // [any] header hash || zero nonce.
    sdk::Blob build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t, uint32_t) const {
        if (!extranonce.empty() || (sdk::struct_covers(tmpl, OTD_FIELD_END(otd_template_t, extranonce_size)) && tmpl.extranonce_size != 0)) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("build_blob: ") + kName + " has no extranonce (template extranonce_size " +
                                                      std::to_string(tmpl.extranonce_size) + ", extranonce of " +
                                                      std::to_string(extranonce.size()) + " bytes)");
        }
        if (!sdk::struct_covers(tmpl, OTD_FIELD_END(otd_template_t, blob_size)) || tmpl.blob == nullptr || tmpl.blob_size != kHeaderSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("build_blob: an ") + kName + " template's blob is the 32-byte header hash, got " +
                                                      (tmpl.blob == nullptr ? std::string("none") : std::to_string(tmpl.blob_size) + " bytes"));
        }
        sdk::Blob blob;
        blob.bytes.assign(tmpl.blob, tmpl.blob + kHeaderSize);
        blob.bytes.resize(kBlobSize, 0);
        blob.nonce_offset = kNonceOffset;
        blob.nonce_size = kNonceSize;
        return blob;
    }

    std::string implementation() const { return eth::impl_name(impl_); }

    // [any, off the hot path]
    otd_algo_context_t* prepare_context(const otd_context_params_t& params) {
        if (params.mode != OTD_CONTEXT_LIGHT && params.mode != OTD_CONTEXT_FULL) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: unknown mode " + std::to_string(params.mode));
        }
        const uint64_t epoch = eth::epoch_of(kVariant, params.height);
        if (epoch > eth::kMaxEpoch) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, std::string("prepare_context: height ") + std::to_string(params.height) + " is in " + kName +
                                                      " epoch " + std::to_string(epoch) + ", beyond the last supported epoch " +
                                                      std::to_string(eth::kMaxEpoch));
        }
        const eth::Hash256 seed = eth::epoch_seed(kVariant, epoch);
        if (params.seed != nullptr && params.seed_size == seed.size() && std::memcmp(params.seed, seed.data(), seed.size()) != 0) {
            const int64_t seed_epoch = eth::epoch_from_seed(kVariant, to_uint256(params.seed), 4096);
            throw sdk::Error(OTD_ERR_INVALID_ARG,
                             std::string("prepare_context: seed ") + common::to_hex(std::span<const uint8_t>(params.seed, seed.size())) +
                                 " is not the seed of height " + std::to_string(params.height) + " (" + kName + " epoch " +
                                 std::to_string(epoch) + ", seed " + common::to_hex(seed) + ")" +
                                 (seed_epoch >= 0 ? "; it is the seed of epoch " + std::to_string(seed_epoch) : std::string()));
        }
        if (params.seed_size != 0 && params.seed_size != seed.size()) {
            host().logf(OTD_LOG_DEBUG, "%s: prepare_context ignores a %u-byte seed (an Ethash seed is 32 bytes; the epoch comes from the height)",
                        kName, params.seed_size);
        }

        // A test network's epoch of test geometry (OTD_CONTEXT_FLAG_TEST_EPOCH) is kept apart from the real one.
        const bool test_epoch = (params.flags & OTD_CONTEXT_FLAG_TEST_EPOCH) != 0U;
        const uint64_t key = test_epoch ? epoch | kTestEpochKey : epoch;
        auto ctx = std::make_unique<Context>();
        ctx->epoch = epoch;
        ctx->mode = params.mode;
        bool reused = false;
        auto start = std::chrono::steady_clock::now();
        ctx->cache = caches_.get(key, [&] {
            return test_epoch ? std::make_shared<const eth::LightCache>(eth::test_epoch_cache(kVariant, epoch))
                              : std::make_shared<const eth::LightCache>(kVariant, epoch);
        }, reused);
        if (test_epoch) host().logf(OTD_LOG_INFO, "%s: epoch %llu with the TEST geometry (%u cache items, %llu dataset bytes)", kName,
                                    static_cast<unsigned long long>(epoch), eth::kTestEpochCacheItems,
                                    static_cast<unsigned long long>(eth::kTestEpochDatasetBytes));
        if (reused) {
            host().logf(OTD_LOG_INFO, "%s: epoch %llu: sharing the light cache already built (%s)", kName,
                        static_cast<unsigned long long>(epoch), mib(ctx->cache->bytes()).c_str());
        } else {
            host().logf(OTD_LOG_INFO, "%s: epoch %llu: light cache %s built in %.2f s", kName, static_cast<unsigned long long>(epoch),
                        mib(ctx->cache->bytes()).c_str(), seconds_since(start));
        }
        if (params.mode == OTD_CONTEXT_FULL) {
            const unsigned threads = params.threads != 0 ? params.threads : std::max(1U, std::thread::hardware_concurrency());
            start = std::chrono::steady_clock::now();
            ctx->dag = dags_.get(key, [&] { return build_dag(ctx->cache, params, threads); }, reused);
            if (reused) {
                host().logf(OTD_LOG_INFO, "%s: epoch %llu: sharing the DAG already built (%s)", kName, static_cast<unsigned long long>(epoch),
                            mib(ctx->dag->full->bytes()).c_str());
            } else {
                host().logf(OTD_LOG_INFO, "%s: epoch %llu: DAG %s built in %.2f s with %u threads (%s)", kName,
                            static_cast<unsigned long long>(epoch), mib(ctx->dag->full->bytes()).c_str(), seconds_since(start), threads,
                            eth::impl_name(impl_));
            }
        }
        return reinterpret_cast<otd_algo_context_t*>(ctx.release());
    }

    // [control] The cache and DAG go with their last context (or scan state).
    void release_context(otd_algo_context_t* ctx) noexcept { delete reinterpret_cast<Context*>(ctx); }

    // [worker]
    otd_scan_state_t* create_scan_state(const otd_algo_context_t* ctx, const otd_scan_params_t&) const {
        const Context& c = context_of(ctx, "create_scan_state");
        return reinterpret_cast<otd_scan_state_t*>(new ScanState{c.cache, c.dag});
    }
    void destroy_scan_state(otd_scan_state_t* state) const noexcept { delete reinterpret_cast<ScanState*>(state); }

    // [worker] Hash [nonce_start, nonce_start + nonce_count) in batches of eth::kMaxBatch (the batch's page
    // reads overlap), on the DAG when the context has one, else on the light cache (slowly: about a
    // millisecond per batch at epoch 0; the abort flag is read between hashimoto's page accesses there).
    otd_status_t scan(otd_scan_state_t* state, const otd_work_unit_t& work, otd_scan_stats_t& stats) const {
        if (state == nullptr) return refuse_scan(stats, "scan: scan state is NULL");
        if (work.blob == nullptr || work.blob_size != kBlobSize || work.nonce_offset != kNonceOffset || work.nonce_size != kNonceSize) {
            return refuse_scan(stats, std::string("scan: an ") + kName + " work unit is a 40-byte blob with an 8-byte nonce at 32, got " +
                                          std::to_string(work.blob_size) + " bytes, nonce of " + std::to_string(work.nonce_size) +
                                          " at " + std::to_string(work.nonce_offset));
        }
        if (work.on_found == nullptr) return refuse_scan(stats, "scan: on_found is NULL");
        const auto& s = *reinterpret_cast<const ScanState*>(state);
        // The work unit's own context is authoritative; the state's is the one it was created for.
        const Context* wc = reinterpret_cast<const Context*>(work.algorithm_context);
        const eth::LightCache& cache = wc != nullptr ? *wc->cache : *s.cache;
        const Dag* dag = wc != nullptr ? wc->dag.get() : s.dag.get();

        eth::Hash256 header;
        std::memcpy(header.data(), work.blob, kHeaderSize);
        const common::Uint256 share_target = to_uint256(work.share_target);
        eth::HashInput in[eth::kMaxBatch];
        eth::HashResult out[eth::kMaxBatch];
        uint64_t hashes = 0;
        uint32_t found_count = 0;
        otd_status_t status = OTD_OK;
        for (uint64_t done = 0; done < work.nonce_count && status == OTD_OK;) {
            if (work.abort_flag != nullptr && *work.abort_flag != 0) {
                status = OTD_ERR_ABORTED;
                break;
            }
            const auto n = static_cast<uint32_t>(std::min<uint64_t>(eth::kMaxBatch, work.nonce_count - done));
            for (uint32_t i = 0; i < n; ++i) in[i] = {header, work.nonce_start + done + i};  // wraps past 2^64 - 1
            if (dag != nullptr) {
                eth::hashimoto_full_batch(*dag->full, {in, n}, {out, n}, impl_);
            } else if (!eth::hashimoto_light_batch(cache, kVariant, {in, n}, {out, n}, impl_, work.abort_flag)) {
                status = OTD_ERR_ABORTED;
                break;
            }
            for (uint32_t i = 0; i < n; ++i) {
                ++hashes;
                const common::Uint256 value = hash_number(out[i].final_hash);
                if (!common::meets_target(value, share_target)) continue;
                otd_found_t found = sdk::make_struct<otd_found_t>();
                found.flags = OTD_FOUND_HAS_MIX;
                found.work_id = work.work_id;
                found.nonce = in[i].nonce;
                std::memcpy(found.hash, value.data(), OTD_HASH_SIZE);
                std::memcpy(found.mix, out[i].mix.data(), OTD_HASH_SIZE);
                ++found_count;
                if (work.on_found(work.on_found_user, &found) == OTD_ERR_ABORTED) {
                    status = OTD_ERR_ABORTED;
                    break;
                }
            }
            done += n;
        }
        put_stats(stats, hashes, found_count);
        return status;
    }

    // [control] Cheap known answers (well under the host's budget; the mainnet vectors, whose 16 MiB cache
    // takes about a second, are in the unit tests): the libethash vector on a 16 KiB cache through verify()
    // and scan() with the chosen implementation, the epoch arithmetic (prime search, seeds, ECIP-1099) and
    // the difficulty unit.
    void self_test() override {
        Context c;
        c.cache = synthetic_cache();
        const auto* ctx = reinterpret_cast<const otd_algo_context_t*>(&c);
        for (const SyntheticVector& v : kSynthetic) {
            uint8_t blob[kBlobSize];
            const eth::Hash256 header = synthetic_header();
            std::memcpy(blob, header.data(), kHeaderSize);
            for (uint32_t i = 0; i < 8; ++i) blob[kNonceOffset + i] = static_cast<uint8_t>(v.nonce >> (8 * i));
            otd_verify_request_t req = sdk::make_struct<otd_verify_request_t>();
            req.blob = blob;
            req.blob_size = kBlobSize;
            req.flags = OTD_FOUND_HAS_MIX;
            if (!common::from_hex_into(v.mix, req.mix)) throw sdk::Error(OTD_ERR_SELF_TEST, "bad built-in vector");
            std::memset(req.share_target, 0xff, OTD_HASH_SIZE);
            otd_verify_result_t res = sdk::make_struct<otd_verify_result_t>();
            verify(ctx, req, res);
            std::array<uint8_t, 32> raw;
            std::reverse_copy(std::begin(res.hash), std::end(res.hash), raw.begin());
            if (common::to_hex(raw) != v.final_hash || res.mix_ok != 1 || res.meets_share != 1) {
                throw sdk::Error(OTD_ERR_SELF_TEST, std::string(kName) + " (" + eth::impl_name(impl_) + ") of the libethash synthetic vector is " +
                                                        common::to_hex(raw) + " (mix " + (res.mix_ok ? "ok" : "differs") + "), expected " +
                                                        v.final_hash);
            }
        }
        // scan() over nonces 0..2 with the largest target: all three found, nonce 1 with the known hash and mix.
        {
            ScanState st{c.cache, nullptr};
            uint8_t blob[kBlobSize] = {};
            const eth::Hash256 header = synthetic_header();
            std::memcpy(blob, header.data(), kHeaderSize);
            otd_work_unit_t work = sdk::make_struct<otd_work_unit_t>();
            work.blob = blob;
            work.blob_size = kBlobSize;
            work.nonce_offset = kNonceOffset;
            work.nonce_size = kNonceSize;
            work.nonce_start = 0;
            work.nonce_count = 3;
            std::memset(work.share_target, 0xff, OTD_HASH_SIZE);
            struct Probe {
                uint32_t found = 0;
                bool nonce1_ok = false;
            } probe;
            work.on_found = [](void* user, const otd_found_t* f) -> otd_status_t {
                auto& p = *static_cast<Probe*>(user);
                ++p.found;
                if (f->nonce == 1) {
                    std::array<uint8_t, 32> raw;
                    std::reverse_copy(f->hash, f->hash + 32, raw.begin());
                    p.nonce1_ok = (f->flags & OTD_FOUND_HAS_MIX) != 0U && common::to_hex(raw) == kSynthetic[0].final_hash &&
                                  common::to_hex(std::span<const uint8_t>(f->mix, 32)) == kSynthetic[0].mix;
                }
                return OTD_OK;
            };
            work.on_found_user = &probe;
            otd_scan_stats_t stats = sdk::make_struct<otd_scan_stats_t>();
            const otd_status_t st_scan = scan(reinterpret_cast<otd_scan_state_t*>(&st), work, stats);
            if (st_scan != OTD_OK || stats.hashes != 3 || probe.found != 3 || !probe.nonce1_ok) {
                throw sdk::Error(OTD_ERR_SELF_TEST, std::string("scan (") + eth::impl_name(impl_) + ") over nonces 0..2: status " +
                                                        std::to_string(st_scan) + ", " + std::to_string(stats.hashes) + " hashes, " +
                                                        std::to_string(probe.found) + " found" +
                                                        (probe.nonce1_ok ? "" : ", nonce 1 without its known hash and mix"));
            }
        }
        // Epoch arithmetic: the prime searches and seeds of epoch 0 and 1 (ethereum/ethash data_sizes.h,
        // chfast/ethash test_ethash.cpp), and ECIP-1099's seed rule.
        if (eth::light_cache_size(0) != 16776896 || eth::full_dataset_size(0) != 1073739904 || eth::light_cache_size(1) != 16907456 ||
            eth::full_dataset_size(1) != 1082130304) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "epoch 0/1 light cache or dataset size differs from the published table");
        }
        if (common::to_hex(eth::epoch_seed(1)) != "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563" ||
            eth::epoch_seed(eth::kEtchash, 1) != eth::epoch_seed(2)) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "epoch seeds differ from the published ones (or from ECIP-1099's rule)");
        }
        // Difficulty 2 is the boundary 2^255.
        const auto two = target_from_difficulty(2.0);
        if (common::to_display_hex(two) != "8000000000000000000000000000000000000000000000000000000000000000") {
            throw sdk::Error(OTD_ERR_SELF_TEST, "difficulty 2 gives boundary " + common::to_display_hex(two) + ", expected 2^255");
        }
    }
    [[nodiscard]] bool has_self_test() const noexcept override { return true; }

private:
    eth::HashResult compute(const Context& c, const eth::Hash256& header, uint64_t nonce) const {
        // A DAG answers from memory (64 reads); the light cache recomputes 128 dataset items.
        if (c.dag) return eth::hashimoto_full(*c.dag->full, header, nonce, impl_);
        return eth::hashimoto_light(*c.cache, kVariant, header, nonce, impl_);
    }

    std::shared_ptr<const Dag> build_dag(const std::shared_ptr<const eth::LightCache>& cache, const otd_context_params_t& params,
                                         unsigned threads) const {
        auto dag = std::make_shared<Dag>();
        const auto* memory = host().template service<otd_memory_service_t>(OTD_SERVICE_MEMORY);
        eth::DatasetMemory from_host;
        if (memory != nullptr) {
            dag->memory.service = memory;
            dag->memory.host = host().raw();
            dag->memory.flags = (params.flags & OTD_CONTEXT_FLAG_HUGE_PAGES) != 0U ? OTD_MEMORY_HUGE_PAGES : 0U;
            dag->memory.numa_node = params.numa_node;
            from_host = {&Dag::HostMemory::allocate, &Dag::HostMemory::release, &dag->memory};
        }
        try {
            dag->full.emplace(cache, kVariant, threads, impl_, memory != nullptr ? &from_host : nullptr);
        } catch (const std::bad_alloc&) {
            throw sdk::Error(OTD_ERR_NO_MEMORY, std::string(kName) + ": cannot allocate the " + mib(cache->dataset_bytes()) + " DAG of epoch " +
                                                    std::to_string(cache->epoch()));
        }
        return dag;
    }

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

    eth::Impl impl_ = eth::Impl::kScalar;
    /// Test-geometry epochs' cache keys: the epoch with this bit (real epochs stay below 2^15).
    static constexpr uint64_t kTestEpochKey = uint64_t{1} << 63;
    static_assert(eth::kTestEpochCacheItems == OTD_TEST_EPOCH_CACHE_ITEMS && eth::kTestEpochDatasetBytes == OTD_TEST_EPOCH_DATASET_BYTES);
    common::SharedByKey<eth::LightCache> caches_;  // by epoch (| kTestEpochKey)
    common::SharedByKey<Dag> dags_;                // by epoch (| kTestEpochKey)
};

using Ethash = EthashFamily<EthashTraits>;
using Etchash = EthashFamily<EtchashTraits>;

constexpr otd_plugin_descriptor_t kEthashDescriptor = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.otedama.algorithm.ethash", "ethash", "0.1.0", "Otedama",
    "Ethereum's proof of work: Ethash (hashimoto over a per-epoch DAG, 30000-block epochs)", "https://github.com/otedama/otedama",
    OTD_ALGORITHM_INTERFACE_ID);
constexpr otd_plugin_descriptor_t kEtchashDescriptor = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.otedama.algorithm.etchash", "etchash", "0.1.0", "Otedama",
    "Ethereum Classic's proof of work: Etchash (Ethash with ECIP-1099's 60000-block epochs)", "https://github.com/otedama/otedama",
    OTD_ALGORITHM_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Ethash>(kEthashDescriptor), otedama::sdk::plugin_class<Etchash>(kEtchashDescriptor));
