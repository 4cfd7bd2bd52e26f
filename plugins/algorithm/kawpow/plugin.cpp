// The kawpow algorithm plugin: Ravencoin's proof of work, ProgPoW 0.9.4 with Ravencoin's parameters
// (period 3 blocks, 7500-block epochs, 512 DAG parents, 'RAVENCOINKAWPOW' Keccak words). README.md beside
// this file documents the contracts (inputs, byte orders, contexts, difficulty) in prose.
//
// Byte order (plugin-api/otedama/abi.h: 256-bit numbers cross little-endian):
//  - header hash (blob bytes 0..31): the 32 bytes progpow::hash takes, i.e. Ravencoin's
//    to_hash256(SHA256d(CKAWPOWInput).GetHex()) = the display-order bytes of that uint256;
//  - nonce: 8 bytes little-endian (blob bytes 32..39); height: from the work unit / verify request;
//  - mix: raw bytes as progpow::hash returns them and the vectors print them;
//  - final hash: hash() returns the raw bytes; verify()/scan() report the 256-bit little-endian number
//    Ravencoin compares against its target, which is the raw bytes reversed (Ravencoin's block hash is
//    uint256S(to_hex(final_hash)): src/primitives/block.cpp KAWPOWHash).
// Difficulty: Bitcoin units (difficulty 1 = target 0x00000000FFFF0000...0000), as Ravencoin's nBits.
#include "kawpow.hpp"
#include "progpow.hpp"
#include "progpow_source.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/shared_by_key.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/ethash/ethash.hpp>
#include <otedama/progpow.h>
#include <otedama/sdk/algorithm.hpp>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace {

namespace common = otedama::common;
namespace eth = otedama::ethash;
namespace kp = otedama::kawpow;
namespace sdk = otedama::sdk;

constexpr uint32_t kHeaderSize = 32;
constexpr uint32_t kNonceOffset = 32;
constexpr uint32_t kNonceSize = 8;
constexpr uint32_t kBlobSize = kHeaderSize + kNonceSize;
constexpr uint32_t kHashInputSize = kBlobSize + 8;  // header || nonce LE || height LE

uint64_t load_le64(const uint8_t* p) noexcept {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
kp::Hash256 header_of(const uint8_t* p) noexcept {
    kp::Hash256 h;
    std::memcpy(h.data(), p, h.size());
    return h;
}
common::Uint256 to_uint256(const uint8_t* bytes) noexcept {
    common::Uint256 v;
    std::memcpy(v.data(), bytes, v.size());
    return v;
}
double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// ---------------------------------------------------------------------------------------------------------
// Contexts

/// Where a full dataset's memory comes from: the host's otedama.memory/1 service when it has one (huge pages
/// when the operator allows them, NUMA binding), else the ethash library's own mapping.
struct DatasetMemoryHook {
    const otd_memory_service_t* service = nullptr;
    const otd_host_t* host = nullptr;
    uint32_t flags = 0;
    int32_t numa_node = -1;
    uint32_t result_flags = 0;

    static void* allocate(void* user, std::size_t bytes) {
        auto& self = *static_cast<DatasetMemoryHook*>(user);
        void* p = nullptr;
        char err[OTD_ERROR_CAP] = {};
        if (self.service->allocate(self.host, bytes, self.flags, self.numa_node, &p, &self.result_flags, err, sizeof err) != OTD_OK)
            return nullptr;
        return p;
    }
    static void release(void* user, void* memory, std::size_t bytes) {
        auto& self = *static_cast<DatasetMemoryHook*>(user);
        self.service->release(self.host, memory, bytes);
    }
};

/// A full dataset with the hook its memory came through (the hook must outlive the dataset: declared first).
struct FullData {
    DatasetMemoryHook hook;
    std::unique_ptr<eth::FullDataset> dataset;
};

/// What prepare_context hands out. Light epochs and full datasets are shared between contexts of the same
/// epoch (common::SharedByKey); the context holds references.
struct Context {
    uint64_t epoch = 0;
    uint32_t mode = OTD_CONTEXT_LIGHT;
    std::shared_ptr<const kp::LightEpoch> light;
    std::shared_ptr<const FullData> full;  // null in light mode
};

const Context& context_of(const otd_algo_context_t* ctx) {
    if (ctx == nullptr) {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "kawpow needs a context: prepare_context(height) first");
    }
    return *reinterpret_cast<const Context*>(ctx);
}


/// Per-lane scan state: the program of the period last scanned.
struct ScanState {
    std::shared_ptr<const kp::Program> program;
};

// ---------------------------------------------------------------------------------------------------------
// Known answers for the self-test (cheap; the full epoch-0 hashes are in the unit tests). Sources:
//  - ifdefelse/ProgPOW test-vectors.md (kiss99, fnv1a, merge, math, progPowInit of prog_seed 600);
//  - RavenProject/Ravencoin src/crypto/ethash/progpow_test_vectors.hpp: header, nonce, mix and final hash;
//    the two Keccak-f[800] steps map (header, nonce, mix) to the final hash without the DAG.
struct KeccakKnown {
    const char* header;
    uint64_t nonce;
    const char* mix;
    const char* final_hash;
};
constexpr KeccakKnown kKeccakKnown[] = {
    {"0000000000000000000000000000000000000000000000000000000000000000", 0,
     "6e97b47b134fda0c7888802988e1a373affeb28bcd813b6e9a0fc669c935d03a",
     "e601a7257a70dc48fccc97a7330d704d776047623b92883d77111fb36870f3d1"},
    {"d34519f72c97cae8892c277776259db3320820cb5279a299d0ef1e155e5c6454", 0x005db8607994ff30ULL,
     "de0348b69bf91dfe2c3d3dba6f0132e9048a5284e57b8d9d20adc5f3dc0d3236",
     "c7953d848cda6e304f77b4c6d735645c8e8508a5e74c9e9814ef37b19087cd6c"},
};

void expect(bool ok, const std::string& what) {
    if (!ok) throw sdk::Error(OTD_ERR_SELF_TEST, "kawpow self-test: " + what);
}

// ---------------------------------------------------------------------------------------------------------
// The ProgPoW extension (plugin-api/otedama/progpow.h)

/// Copy `value` into the caller's struct, no more than its struct_size; the caller's struct_size stays.
template <class T>
void copy_out(T* dst, T value) noexcept {
    const uint32_t caller = dst->struct_size;
    value.struct_size = caller;
    std::memcpy(dst, &value, std::min<std::size_t>(caller, sizeof value));
}

otd_status_t OTD_CALL progpow_get_params(const otd_plugin_t*, otd_progpow_params_t* params) noexcept {
    if (params == nullptr || params->struct_size < sizeof(uint32_t)) return OTD_ERR_INVALID_ARG;
    otd_progpow_params_t p{};
    p.period_length = kp::kPeriodLength;
    p.lanes = kp::kLanes;
    p.regs = kp::kRegs;
    p.dag_loads = kp::kDagLoads;
    p.cache_bytes = kp::kCacheBytes;
    p.cnt_dag = kp::kCntDag;
    p.cnt_cache = kp::kCntCache;
    p.cnt_math = kp::kCntMath;
    p.dataset_parents = kp::kDatasetParents;
    p.epoch_length = kp::kEpochLength;
    sdk::copy_field(p.variant, "kawpow (ProgPoW 0.9.4)");
    copy_out(params, p);
    return OTD_OK;
}

otd_status_t OTD_CALL progpow_get_epoch(const otd_plugin_t*, uint64_t epoch, otd_progpow_epoch_t* info, char* err,
                                        size_t err_cap) noexcept {
    if (info == nullptr || info->struct_size < sizeof(uint32_t)) {
        sdk::copy_message(err, err_cap, "get_epoch: NULL or empty struct");
        return OTD_ERR_INVALID_ARG;
    }
    return sdk::guard(err, err_cap, [&] {
        if (epoch > eth::kMaxEpoch) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "get_epoch: epoch " + std::to_string(epoch) + " is beyond the last one (" +
                                                      std::to_string(eth::kMaxEpoch) + ")");
        }
        otd_progpow_epoch_t e{};
        e.epoch = epoch;
        e.light_cache_bytes = eth::light_cache_size(epoch);
        e.dataset_bytes = eth::full_dataset_size(epoch);
        e.dag_elements = e.dataset_bytes / kp::kEntryBytes;
        const eth::Hash256 seed = eth::epoch_seed(eth::kKawpow, epoch);
        std::memcpy(e.seed, seed.data(), seed.size());
        copy_out(info, e);
    });
}

otd_status_t OTD_CALL progpow_get_period_source(const otd_plugin_t*, uint64_t period, otd_progpow_dialect_t dialect,
                                                char* buf, size_t cap, size_t* needed, char* err, size_t err_cap) noexcept {
    if (needed == nullptr) {
        sdk::copy_message(err, err_cap, "get_period_source: `needed` is NULL");
        return OTD_ERR_INVALID_ARG;
    }
    *needed = 0;
    if (dialect != OTD_PROGPOW_CUDA && dialect != OTD_PROGPOW_OPENCL && dialect != OTD_PROGPOW_GLSL) {
        sdk::copy_message(err, err_cap, "get_period_source: dialect " + std::to_string(dialect) +
                                            " is none of OTD_PROGPOW_CUDA (1), OTD_PROGPOW_OPENCL (2), OTD_PROGPOW_GLSL (3)");
        return OTD_ERR_INVALID_ARG;
    }
    return sdk::guard(err, err_cap, [&]() -> otd_status_t {
        const kp::Dialect d = dialect == OTD_PROGPOW_CUDA     ? kp::Dialect::kCuda
                              : dialect == OTD_PROGPOW_OPENCL ? kp::Dialect::kOpenCl
                                                              : kp::Dialect::kGlsl;
        const std::string text = kp::period_source(kp::generate_program(period), d);
        *needed = text.size() + 1;
        if (buf == nullptr || cap < text.size() + 1) {
            sdk::copy_message(err, err_cap, "get_period_source: the text needs " + std::to_string(text.size() + 1) +
                                                " bytes, the buffer has " + std::to_string(buf == nullptr ? 0 : cap));
            return OTD_ERR_BUFFER_TOO_SMALL;
        }
        std::memcpy(buf, text.c_str(), text.size() + 1);
        return OTD_OK;
    });
}

constexpr otd_progpow_t kProgpowTable{static_cast<uint32_t>(sizeof(otd_progpow_t)), 0, &progpow_get_params,
                                      &progpow_get_epoch, &progpow_get_period_source};

// ---------------------------------------------------------------------------------------------------------

class Kawpow final : public sdk::Algorithm<Kawpow> {
public:
    static constexpr const char* kName = "kawpow";
    static constexpr const char* kCoinFamily = "ravencoin";
    static constexpr uint32_t kFlags = OTD_ALGO_NEEDS_CONTEXT | OTD_ALGO_HAS_MIX;

    using Algorithm::Algorithm;

    [[nodiscard]] const void* get_interface(std::string_view id) const noexcept override {
        if (id == OTD_PROGPOW_INTERFACE_ID) return &kProgpowTable;
        return Algorithm::get_interface(id);
    }

    // [control] The dataset kernels: the fastest this CPU runs, or OTEDAMA_KAWPOW_IMPL=scalar|avx2|avx512.
    void init() override {
        impl_ = eth::best_impl();
        const char* forced = std::getenv("OTEDAMA_KAWPOW_IMPL");
        if (forced != nullptr && *forced != '\0') {
            const auto wanted = eth::impl_from_name(forced);
            if (!wanted) {
                host().logf(OTD_LOG_ERROR, "kawpow: OTEDAMA_KAWPOW_IMPL=%s is not an implementation (scalar, avx2, avx512); using %s",
                            forced, eth::impl_name(impl_));
            } else if (!eth::impl_supported(*wanted)) {
                host().logf(OTD_LOG_ERROR, "kawpow: OTEDAMA_KAWPOW_IMPL=%s but this CPU lacks it; using %s", forced,
                            eth::impl_name(impl_));
            } else {
                impl_ = *wanted;
            }
        }
        host().logf(OTD_LOG_INFO, "kawpow: using %s", implementation().c_str());
    }

    std::string implementation() const {
        return std::string("dataset kernels ") + eth::impl_name(impl_) + ", ProgPoW 0.9.4 interpreter";
    }

    // [any] input = header hash (32) || nonce (8, LE) || height (8, LE); out = the raw final hash.
    void hash(const otd_algo_context_t* ctx, std::span<const uint8_t> input, std::span<uint8_t, OTD_HASH_SIZE> out) const {
        if (input.size() != kHashInputSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "kawpow hash input is header hash (32) || nonce (8, LE) || height (8, LE) = 48 bytes, got " +
                                                      std::to_string(input.size()));
        }
        const Context& c = context_of(ctx);
        const uint64_t height = load_le64(input.data() + kBlobSize);
        const kp::HashResult r = compute(c, height, header_of(input.data()), load_le64(input.data() + kNonceOffset));
        std::memcpy(out.data(), r.final_hash.data(), OTD_HASH_SIZE);
    }

    // [any] blob = header hash (32) [|| nonce (8, LE)]; height from the request.
    void verify(const otd_algo_context_t* ctx, const otd_verify_request_t& request, otd_verify_result_t& result) const {
        if (request.blob == nullptr || (request.blob_size != kHeaderSize && request.blob_size != kBlobSize)) {
            throw sdk::Error(OTD_ERR_INVALID_ARG,
                             "verify: a kawpow blob is the 32-byte header hash, optionally followed by the 8-byte nonce; got " +
                                 std::string(request.blob == nullptr ? "NULL" : std::to_string(request.blob_size) + " bytes"));
        }
        const Context& c = context_of(ctx);
        const uint64_t nonce = request.blob_size == kBlobSize ? load_le64(request.blob + kNonceOffset) : request.nonce;
        const kp::HashResult r = compute(c, request.height, header_of(request.blob), nonce);
        const common::Uint256 le = kp::le_hash_of(r.final_hash);
        result.meets_share = common::meets_target(le, to_uint256(request.share_target)) ? 1U : 0U;
        result.meets_block = common::meets_target(le, to_uint256(request.block_target)) ? 1U : 0U;
        result.mix_ok = (request.flags & OTD_FOUND_HAS_MIX) == 0U || std::memcmp(request.mix, r.mix.data(), OTD_HASH_SIZE) == 0 ? 1U : 0U;
        std::memcpy(result.hash, le.data(), OTD_HASH_SIZE);
        std::memcpy(result.mix, r.mix.data(), OTD_HASH_SIZE);
        result.share_difficulty = common::bitcoin_difficulty_from_target(le);
    }

    // [any] Bitcoin units: difficulty 1 = 0x00000000FFFF0000...0000.
    std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double difficulty) const {
        const auto target = common::bitcoin_target_from_difficulty(difficulty);
        if (!target) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty must be a finite number > 0, got " + std::to_string(difficulty));
        }
        return *target;
    }
    double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE> target) const {
        const common::Uint256 t = to_uint256(target.data());
        if (common::is_zero(t)) throw sdk::Error(OTD_ERR_INVALID_ARG, "target 0 has no difficulty");
        return common::bitcoin_difficulty_from_target(t);
    }

    // [any] blob = the template's 32-byte header hash || 8 zero nonce bytes.
    sdk::Blob build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t, uint32_t) const {
        if (!extranonce.empty()) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: kawpow has no extranonce (the 8-byte nonce is the whole search space), got " +
                                                      std::to_string(extranonce.size()) + " bytes");
        }
        if (tmpl.blob == nullptr || tmpl.blob_size != kHeaderSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: a kawpow template's blob is the 32-byte header hash, got " +
                                                      std::string(tmpl.blob == nullptr ? "NULL" : std::to_string(tmpl.blob_size) + " bytes"));
        }
        sdk::Blob blob;
        blob.bytes.assign(tmpl.blob, tmpl.blob + kHeaderSize);
        blob.bytes.resize(kBlobSize, 0);
        blob.nonce_offset = kNonceOffset;
        blob.nonce_size = kNonceSize;
        return blob;
    }

    // [any] epoch = height / 7500; a 32-byte seed must be that epoch's.
    otd_algo_context_t* prepare_context(const otd_context_params_t& params) {
        if (params.mode != OTD_CONTEXT_LIGHT && params.mode != OTD_CONTEXT_FULL) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: mode " + std::to_string(params.mode) +
                                                      " is neither OTD_CONTEXT_LIGHT (1) nor OTD_CONTEXT_FULL (2)");
        }
        const uint64_t epoch = kp::epoch_of(params.height);
        if (epoch > eth::kMaxEpoch) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: height " + std::to_string(params.height) + " is in epoch " +
                                                      std::to_string(epoch) + ", beyond the last one (" + std::to_string(eth::kMaxEpoch) + ")");
        }
        if (params.seed_size != 0) {
            if (params.seed == nullptr || params.seed_size != 32) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, "prepare_context: a seed is 32 bytes, got " + std::to_string(params.seed_size));
            }
            const eth::Hash256 want = eth::epoch_seed(eth::kKawpow, epoch);
            if (std::memcmp(params.seed, want.data(), want.size()) != 0) {
                throw sdk::Error(OTD_ERR_INVALID_ARG,
                                 "prepare_context: seed " + common::to_hex(std::span<const uint8_t>(params.seed, 32)) +
                                     " is not the seed of epoch " + std::to_string(epoch) + " (height " + std::to_string(params.height) +
                                     " / 7500), which is " + common::to_hex(want));
            }
        }
        // A test network's epoch of test geometry (OTD_CONTEXT_FLAG_TEST_EPOCH) is kept apart from the real one.
        const bool test_epoch = (params.flags & OTD_CONTEXT_FLAG_TEST_EPOCH) != 0U;
        const uint64_t key = test_epoch ? epoch | kTestEpochKey : epoch;
        auto ctx = std::make_unique<Context>();
        ctx->epoch = epoch;
        ctx->mode = params.mode;
        ctx->light = light_epoch(epoch, test_epoch);
        if (params.mode == OTD_CONTEXT_FULL) ctx->full = full_dataset(*ctx->light, params, key);
        return reinterpret_cast<otd_algo_context_t*>(ctx.release());
    }
    // [control]
    void release_context(otd_algo_context_t* ctx) const noexcept { delete reinterpret_cast<Context*>(ctx); }

    // [worker]
    otd_scan_state_t* create_scan_state(const otd_algo_context_t*) const {
        return reinterpret_cast<otd_scan_state_t*>(new ScanState());
    }
    void destroy_scan_state(otd_scan_state_t* state) const noexcept { delete reinterpret_cast<ScanState*>(state); }

    // [worker] Hash [nonce_start, nonce_start + nonce_count) of the work unit's 40-byte blob at its height, on
    // the work unit's context: the full dataset (mining) or, slowly, the light cache. The abort flag is read
    // before every hash and, on a light context, before every DAG entry (every ~30 us).
    otd_status_t scan(otd_scan_state_t* state, const otd_work_unit_t& work, otd_scan_stats_t& stats) const {
        if (state == nullptr) return refuse_scan(stats, "scan: scan state is NULL");
        if (const auto problem = work_unit_problem(work)) return refuse_scan(stats, "scan: " + *problem);
        const Context& c = *reinterpret_cast<const Context*>(work.algorithm_context);
        if (kp::epoch_of(work.height) != c.epoch) {
            return refuse_scan(stats, "scan: height " + std::to_string(work.height) + " is in epoch " +
                                          std::to_string(kp::epoch_of(work.height)) + ", the context is for epoch " +
                                          std::to_string(c.epoch));
        }
        auto& s = *reinterpret_cast<ScanState*>(state);
        const uint64_t period = kp::period_of(work.height);
        if (!s.program || s.program->period != period) s.program = programs_.get(period);
        const kp::Program& program = *s.program;
        const kp::Hash256 header = header_of(work.blob);
        const common::Uint256 share_target = to_uint256(work.share_target);

        uint64_t hashes = 0;
        uint32_t found_count = 0;
        otd_status_t status = OTD_OK;
        for (uint64_t i = 0; i < work.nonce_count; ++i) {
            if (work.abort_flag != nullptr && *work.abort_flag != 0) {
                status = OTD_ERR_ABORTED;
                break;
            }
            const uint64_t nonce = work.nonce_start + i;
            kp::HashResult r;
            if (c.full) {
                const eth::FullDataset& d = *c.full->dataset;
                r = kp::hash_full(d.items(), d.item_count(), c.light->l1(), program, header, nonce);
            } else if (!kp::hash_light(*c.light, program, header, nonce, r, work.abort_flag)) {
                status = OTD_ERR_ABORTED;
                break;
            }
            ++hashes;
            const common::Uint256 le = kp::le_hash_of(r.final_hash);
            if (!common::meets_target(le, share_target)) continue;
            otd_found_t found = sdk::make_struct<otd_found_t>();
            found.flags = OTD_FOUND_HAS_MIX;
            found.work_id = work.work_id;
            found.nonce = nonce;
            std::memcpy(found.hash, le.data(), OTD_HASH_SIZE);
            std::memcpy(found.mix, r.mix.data(), OTD_HASH_SIZE);
            ++found_count;
            if (work.on_found(work.on_found_user, &found) == OTD_ERR_ABORTED) {
                status = OTD_ERR_ABORTED;
                break;
            }
        }
        put_stats(stats, hashes, found_count);
        return status;
    }

    // [control] Known answers of the primitives, the program generator and the Keccak-f[800] steps, then the
    // whole hash on a small synthetic light cache (this CPU's dataset kernels against the scalar ones) and the
    // scan trio on it. Well under 100 ms; the epoch-0 vectors are in the unit tests.
    void self_test() override {
        kp::Kiss99 rng{362436069u, 521288629u, 123456789u, 380116160u};
        expect(rng() == 769445856u && rng() == 742012328u && rng() == 2121196314u && rng() == 2805620942u, "kiss99");
        uint32_t h = kp::kFnvOffsetBasis;
        expect(kp::fnv1a(h, 0xDDD0A47Bu) == 0xD37EE61Au && kp::fnv1a(h, 0xEE304846u) == 0xDEDC7AD4u, "fnv1a");
        uint32_t mix[kp::kRegs];
        kp::fill_mix(0xDDD0A47Bu, 0xEE304846u, 13, mix);
        expect(mix[0] == 0x4E46D05Du && mix[31] == 0x3837DDA3u, "fill_mix lane 13");
        expect(kp::merge(0x3B0BB37Du, 0xA0212004u, 0x9BD26AB0u) == 0x3CA34321u &&
                   kp::merge(0x24D2BAE4u, 0x0FFB4C9Bu, 0x7FDBC2F2u) == 0x2EDDD94Cu &&
                   kp::merge(0xDA39E821u, 0x089C4008u, 0x8B6CD8C3u) == 0x8A81E396u,
               "merge");
        expect(kp::math(0x6D175B7Eu, 0xC4E89D4Cu, 0x944ECABBu) == 0x53E9023Fu &&
                   kp::math(0x8A81E396u, 0x7E70CB54u, 0xDBE71FF7u) == 0x1E3968A8u &&
                   kp::math(0x75551D43u, 0x3383BA34u, 0x2863AD31u) == 3u &&
                   kp::math(0xEA260841u, 0xE92C44B7u, 0xF83FFE7Du) == 0x1Bu,
               "math");
        const kp::Program p600 = kp::generate_program(600);
        expect(p600.src_seq[0] == 0x1A && p600.src_seq[31] == 0x00 && p600.dst_seq[1] == 0x04 && p600.dst_seq[31] == 0x14 &&
                   p600.rng_after_init.z == 0x6535921Cu && p600.rng_after_init.jcong == 0x1165D7EBu,
               "progPowInit of period 600");
        for (const KeccakKnown& k : kKeccakKnown) {
            const auto init = kp::initial_keccak(*common::from_hex_array<32>(k.header), k.nonce);
            const std::string got = common::to_hex(kp::final_keccak(init, *common::from_hex_array<32>(k.mix)));
            expect(got == k.final_hash, std::string("Keccak-f[800] steps of header ") + k.header + " give " + got + ", expected " + k.final_hash);
        }
        const std::string cuda = kp::period_source(p600, kp::Dialect::kCuda);
        expect(cuda.find("progPowLoop") != std::string::npos && cuda.find("c_dag[offset]") != std::string::npos, "CUDA source");

        // The hash on a synthetic cache (1031 items, 1024 DAG entries): the chosen kernels against scalar, and
        // hash / verify / scan agreeing on it.
        auto cache = std::make_shared<const eth::LightCache>(eth::Hash256{0x6b, 0x61, 0x77}, 1031u, uint64_t{1024} * kp::kEntryBytes);
        const auto light = std::make_shared<const kp::LightEpoch>(cache, impl_);
        const kp::Hash256 header = *common::from_hex_array<32>(kKeccakKnown[1].header);
        const kp::HashResult fast = kp::hash_light(*light, p600, header, 7);
        if (impl_ != eth::Impl::kScalar) {
            const kp::LightEpoch scalar(cache, eth::Impl::kScalar);
            expect(scalar.l1().words == light->l1().words, std::string("L1 cache with ") + eth::impl_name(impl_) + " differs from scalar");
            const kp::HashResult slow = kp::hash_light(scalar, p600, header, 7);
            expect(slow.mix == fast.mix && slow.final_hash == fast.final_hash,
                   std::string("hash with ") + eth::impl_name(impl_) + " differs from scalar");
        }
        Context ctx;
        ctx.light = light;
        const auto* handle = reinterpret_cast<const otd_algo_context_t*>(&ctx);
        std::array<uint8_t, kBlobSize> blob{};
        std::memcpy(blob.data(), header.data(), kHeaderSize);
        otd_work_unit_t work = sdk::make_struct<otd_work_unit_t>();
        work.blob = blob.data();
        work.blob_size = kBlobSize;
        work.nonce_offset = kNonceOffset;
        work.nonce_size = kNonceSize;
        work.nonce_start = 6;
        work.nonce_count = 2;
        work.height = 600 * kp::kPeriodLength;
        std::memset(work.share_target, 0xff, OTD_HASH_SIZE);
        work.algorithm_context = handle;
        struct Probe {
            uint32_t found = 0;
            otd_found_t last{};
        } probe;
        work.on_found = [](void* user, const otd_found_t* f) -> otd_status_t {
            auto& pr = *static_cast<Probe*>(user);
            ++pr.found;
            pr.last = *f;
            return OTD_OK;
        };
        work.on_found_user = &probe;
        ScanState state;
        otd_scan_stats_t stats = sdk::make_struct<otd_scan_stats_t>();
        const otd_status_t st = scan(reinterpret_cast<otd_scan_state_t*>(&state), work, stats);
        expect(st == OTD_OK && stats.hashes == 2 && probe.found == 2 && probe.last.nonce == 7 &&
                   (probe.last.flags & OTD_FOUND_HAS_MIX) != 0 && std::memcmp(probe.last.mix, fast.mix.data(), 32) == 0 &&
                   kp::le_hash_of(fast.final_hash) == to_uint256(probe.last.hash),
               "scan of nonces 6..7 on the synthetic cache (status " + std::to_string(st) + ", " + std::to_string(stats.hashes) +
                   " hashes, " + std::to_string(probe.found) + " found)");
        std::array<uint8_t, kHashInputSize> input{};
        std::memcpy(input.data(), blob.data(), kBlobSize);
        input[kNonceOffset] = 7;
        for (int i = 0; i < 8; ++i) input[kBlobSize + static_cast<size_t>(i)] = static_cast<uint8_t>(work.height >> (8 * i));
        std::array<uint8_t, OTD_HASH_SIZE> out{};
        hash(handle, input, out);
        expect(std::memcmp(out.data(), fast.final_hash.data(), OTD_HASH_SIZE) == 0, "hash() of nonce 7 differs from the scan");
    }
    [[nodiscard]] bool has_self_test() const noexcept override { return true; }

private:
    /// KawPow of (header, nonce) at `height` on context `c` (its full dataset when it has one).
    kp::HashResult compute(const Context& c, uint64_t height, const kp::Hash256& header, uint64_t nonce) const {
        if (kp::epoch_of(height) != c.epoch) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "kawpow: height " + std::to_string(height) + " is in epoch " +
                                                      std::to_string(kp::epoch_of(height)) + ", the context is for epoch " +
                                                      std::to_string(c.epoch));
        }
        const std::shared_ptr<const kp::Program> program = programs_.get(kp::period_of(height));
        if (c.full) {
            const eth::FullDataset& d = *c.full->dataset;
            return kp::hash_full(d.items(), d.item_count(), c.light->l1(), *program, header, nonce);
        }
        return kp::hash_light(*c.light, *program, header, nonce);
    }

    std::shared_ptr<const kp::LightEpoch> light_epoch(uint64_t epoch, bool test_epoch) {
        bool reused = false;
        auto value = lights_.get(
            test_epoch ? epoch | kTestEpochKey : epoch,
            [&] {
                const auto t0 = std::chrono::steady_clock::now();
                auto cache = test_epoch ? std::make_shared<const eth::LightCache>(eth::test_epoch_cache(eth::kKawpow, epoch))
                                        : std::make_shared<const eth::LightCache>(eth::kKawpow, epoch);
                if (test_epoch) host().logf(OTD_LOG_INFO, "kawpow: epoch %" PRIu64 " with the TEST geometry (%u cache items, %" PRIu64 " dataset bytes)",
                                            epoch, eth::kTestEpochCacheItems, eth::kTestEpochDatasetBytes);
                auto light = std::make_shared<const kp::LightEpoch>(std::move(cache), impl_);
                host().logf(OTD_LOG_INFO, "kawpow: epoch %" PRIu64 " light cache %.1f MiB + L1 cache 16 KiB built in %.2f s (%s)",
                            epoch, mib(light->cache().bytes()), seconds_since(t0), eth::impl_name(impl_));
                return light;
            },
            reused);
        if (reused) host().logf(OTD_LOG_DEBUG, "kawpow: epoch %" PRIu64 " light cache shared with a live context", epoch);
        return value;
    }

    std::shared_ptr<const FullData> full_dataset(const kp::LightEpoch& light, const otd_context_params_t& params, uint64_t key) {
        bool reused = false;
        auto value = fulls_.get(
            key,
            [&] {
                const auto t0 = std::chrono::steady_clock::now();
                auto data = std::make_shared<FullData>();
                const auto* memory = host().service<otd_memory_service_t>(OTD_SERVICE_MEMORY);
                eth::DatasetMemory hook;
                if (memory != nullptr) {
                    data->hook.service = memory;
                    data->hook.host = host().raw();
                    data->hook.flags = (params.flags & OTD_CONTEXT_FLAG_HUGE_PAGES) != 0U ? OTD_MEMORY_HUGE_PAGES : 0U;
                    data->hook.numa_node = params.numa_node;
                    hook.allocate = &DatasetMemoryHook::allocate;
                    hook.release = &DatasetMemoryHook::release;
                    hook.user = &data->hook;
                }
                data->dataset = std::make_unique<eth::FullDataset>(light.cache_ptr(), eth::kKawpow, params.threads, impl_,
                                                                   memory != nullptr ? &hook : nullptr);
                host().logf(OTD_LOG_INFO, "kawpow: epoch %" PRIu64 " DAG %.1f MiB built in %.1f s with %u threads (%s%s)", light.epoch(),
                            mib(data->dataset->bytes()), seconds_since(t0), params.threads, eth::impl_name(impl_),
                            memory == nullptr ? ""
                            : (data->hook.result_flags & OTD_MEMORY_HUGE_PAGES) != 0U ? ", huge pages"
                                                                                       : ", host memory");
                return std::shared_ptr<const FullData>(std::move(data));
            },
            reused);
        if (reused) host().logf(OTD_LOG_DEBUG, "kawpow: epoch %" PRIu64 " DAG shared with a live context", light.epoch());
        return value;
    }

    static std::optional<std::string> work_unit_problem(const otd_work_unit_t& work) {
        if (work.struct_size < OTD_FIELD_END(otd_work_unit_t, on_found_user))
            return "work unit struct_size " + std::to_string(work.struct_size) + " is too small";
        if (work.blob == nullptr || work.blob_size != kBlobSize || work.nonce_offset != kNonceOffset || work.nonce_size != kNonceSize)
            return "expected a 40-byte blob (header hash || 8-byte nonce at offset 32), got blob_size " + std::to_string(work.blob_size) +
                   ", nonce at " + std::to_string(work.nonce_offset) + " size " + std::to_string(work.nonce_size);
        if (work.nonce_count != 0 && work.nonce_count - 1 > UINT64_MAX - work.nonce_start)
            return "nonce range [" + std::to_string(work.nonce_start) + ", +" + std::to_string(work.nonce_count) +
                   ") leaves the 64-bit nonce space";
        if (work.on_found == nullptr) return std::string("on_found is NULL");
        if (work.algorithm_context == nullptr) return std::string("the work unit has no kawpow context");
        return std::nullopt;
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
    mutable kp::ProgramCache programs_;
    /// Test-geometry epochs' cache keys: the epoch with this bit (real epochs stay below 2^15).
    static constexpr uint64_t kTestEpochKey = uint64_t{1} << 63;
    static_assert(eth::kTestEpochCacheItems == OTD_TEST_EPOCH_CACHE_ITEMS && eth::kTestEpochDatasetBytes == OTD_TEST_EPOCH_DATASET_BYTES);
    common::SharedByKey<kp::LightEpoch> lights_;  // by epoch (| kTestEpochKey)
    common::SharedByKey<FullData> fulls_;         // by epoch (| kTestEpochKey)
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.otedama.algorithm.kawpow", "kawpow", "0.1.0", "Otedama",
    "Ravencoin's proof of work: KawPow (ProgPoW 0.9.4, period 3, 7500-block epochs, 512 DAG parents)",
    "https://github.com/otedama/otedama", OTD_ALGORITHM_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Kawpow>(kDescriptor));
