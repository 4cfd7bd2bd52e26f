// The kawpow plugin's internal library (linked into the plugin, its tests and its benchmark; not a public
// API): ProgPoW 0.9.4 as Ravencoin's KawPow runs it.
//
// Specification: ifdefelse/ProgPOW README.md (the 0.9.4 algorithm: kiss99, fnv1a, fill_mix, progPowInit,
// merge, math, progPowLoop, progPowHash) and EIP-1057; Ravencoin's parameters and its Keccak-f[800] steps
// (the 'RAVENCOINKAWPOW' words in place of the 0.9.4 padding) from RavenProject/Ravencoin
// src/crypto/ethash (progpow.hpp/.cpp) and kawpowminer's README parameter table. Written here from that
// text; known answers in tests/plugins/algorithm/kawpow/.
//
// Words and byte order: header hash, mix hash and final hash are 32-byte strings read and written as
// eight little-endian 32-bit words (the spec's hash32_t.uint32s on a little-endian machine). "Raw" bytes
// below are those strings as the published vectors print them (byte 0 first).
//
// Layout: the 16 lanes x 32 registers of the mix are stored register-major (mix[reg][lane]) so that one
// operation over all lanes is one contiguous 64-byte row (vectorises); the spec's mix[lane][reg] is the
// same data transposed.
//
// Thread safety: everything here is a pure function of its arguments or an immutable value, except
// ProgramCache, which is safe to share between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace otedama::kawpow {

// ---------------------------------------------------------------------------------------------------------
// Parameters (ProgPoW 0.9.4 with Ravencoin's period, epoch length and dataset parents)

inline constexpr uint32_t kPeriodLength = 3;        ///< PROGPOW_PERIOD: blocks per random program
inline constexpr uint32_t kLanes = 16;              ///< PROGPOW_LANES
inline constexpr uint32_t kRegs = 32;               ///< PROGPOW_REGS
inline constexpr uint32_t kDagLoads = 4;            ///< PROGPOW_DAG_LOADS: 32-bit words per lane per loop
inline constexpr uint32_t kCacheBytes = 16 * 1024;  ///< PROGPOW_CACHE_BYTES: the L1 cache (start of the DAG)
inline constexpr uint32_t kCacheWords = kCacheBytes / 4;
inline constexpr uint32_t kCntDag = 64;             ///< PROGPOW_CNT_DAG: loop iterations (DAG accesses)
inline constexpr uint32_t kCntCache = 11;           ///< PROGPOW_CNT_CACHE: cache loads per loop
inline constexpr uint32_t kCntMath = 18;            ///< PROGPOW_CNT_MATH: math operations per loop
inline constexpr uint64_t kEpochLength = 7500;      ///< Ravencoin: blocks per Ethash epoch
inline constexpr uint32_t kDatasetParents = 512;    ///< Ravencoin: light-cache parents per DAG item

/// One DAG access: every lane reads kDagLoads words: 256 bytes, i.e. four 64-byte dataset items.
inline constexpr uint32_t kEntryWords = kLanes * kDagLoads;
inline constexpr uint32_t kEntryBytes = kEntryWords * 4;
inline constexpr uint32_t kItemsPerEntry = kEntryBytes / 64;
/// The L1 cache is dataset items [0, kCacheItems).
inline constexpr uint32_t kCacheItems = kCacheBytes / 64;

inline constexpr uint32_t kFnvOffsetBasis = 0x811c9dc5u;
inline constexpr uint32_t kFnvPrime = 0x01000193u;

/// Ravencoin's replacement for the 0.9.4 padding words: "RAVENCOINKAWPOW", one character per 32-bit word,
/// in state[10..24] of the initial Keccak-f[800]; its first nine fill state[16..24] of the final one.
/// Note the first word: Ravencoin's table has 0x72 (a lowercase 'r') under the comment "R"; the published
/// vectors only reproduce with 0x72, so the numbers, not the letters, are the specification.
inline constexpr std::array<uint32_t, 15> kRavencoinKawpow = {0x72, 0x41, 0x56, 0x45, 0x4E, 0x43, 0x4F, 0x49,
                                                              0x4E, 0x4B, 0x41, 0x57, 0x50, 0x4F, 0x57};

[[nodiscard]] constexpr uint64_t period_of(uint64_t height) noexcept { return height / kPeriodLength; }
[[nodiscard]] constexpr uint64_t epoch_of(uint64_t height) noexcept { return height / kEpochLength; }

// ---------------------------------------------------------------------------------------------------------
// Primitives

/// FNV-1a step as ProgPoW defines it: h = (h ^ d) * prime; returns the new h.
constexpr uint32_t fnv1a(uint32_t& h, uint32_t d) noexcept { return h = (h ^ d) * kFnvPrime; }

/// Marsaglia's KISS99 generator (the spec's kiss99_t and kiss99()).
struct Kiss99 {
    uint32_t z = 0, w = 0, jsr = 0, jcong = 0;
    constexpr uint32_t operator()() noexcept {
        z = 36969u * (z & 65535u) + (z >> 16);
        w = 18000u * (w & 65535u) + (w >> 16);
        const uint32_t mwc = (z << 16) + w;
        jsr ^= jsr << 17;
        jsr ^= jsr >> 13;
        jsr ^= jsr << 5;
        jcong = 69069u * jcong + 1234567u;
        return (mwc ^ jcong) + jsr;
    }
    friend constexpr bool operator==(const Kiss99&, const Kiss99&) = default;
};

constexpr uint32_t rotl32(uint32_t x, uint32_t n) noexcept {
    n &= 31u;
    return n == 0 ? x : (x << n) | (x >> (32u - n));
}
constexpr uint32_t rotr32(uint32_t x, uint32_t n) noexcept {
    n &= 31u;
    return n == 0 ? x : (x >> n) | (x << (32u - n));
}
constexpr uint32_t clz32(uint32_t x) noexcept { return x == 0 ? 32u : static_cast<uint32_t>(__builtin_clz(x)); }
constexpr uint32_t popcount32(uint32_t x) noexcept { return static_cast<uint32_t>(__builtin_popcount(x)); }
constexpr uint32_t mul_hi32(uint32_t a, uint32_t b) noexcept {
    return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

/// fill_mix: one lane's 32 registers from the 64-bit hash seed (low word first) and the lane id.
void fill_mix(uint32_t seed_lo, uint32_t seed_hi, uint32_t lane, uint32_t out[kRegs]) noexcept;

/// The four merge operations (merge(a, b, r) selects by r % 4).
enum class MergeOp : uint8_t { kMulAdd = 0, kXorMul = 1, kRotlXor = 2, kRotrXor = 3 };
/// A merge with its selector decoded: the rotation ((r >> 16) % 31) + 1 is never 0.
struct Merge {
    MergeOp op = MergeOp::kMulAdd;
    uint8_t rotation = 1;
    [[nodiscard]] static constexpr Merge decode(uint32_t sel) noexcept {
        return Merge{static_cast<MergeOp>(sel % 4u), static_cast<uint8_t>(((sel >> 16) % 31u) + 1u)};
    }
    friend constexpr bool operator==(const Merge&, const Merge&) = default;
};
constexpr uint32_t apply_merge(Merge m, uint32_t a, uint32_t b) noexcept {
    switch (m.op) {
        case MergeOp::kMulAdd: return a * 33u + b;
        case MergeOp::kXorMul: return (a ^ b) * 33u;
        case MergeOp::kRotlXor: return rotl32(a, m.rotation) ^ b;
        case MergeOp::kRotrXor: return rotr32(a, m.rotation) ^ b;
    }
    return a;
}
/// The spec's merge(a, b, r): keeps a's entropy whatever b is.
constexpr uint32_t merge(uint32_t a, uint32_t b, uint32_t sel) noexcept { return apply_merge(Merge::decode(sel), a, b); }

/// The eleven math operations (math(a, b, r) selects by r % 11).
enum class MathOp : uint8_t {
    kAdd = 0, kMul, kMulHi, kMin, kRotl, kRotr, kAnd, kOr, kXor, kClz, kPopcount
};
inline constexpr uint32_t kMathOpCount = 11;
constexpr uint32_t apply_math(MathOp op, uint32_t a, uint32_t b) noexcept {
    switch (op) {
        case MathOp::kAdd: return a + b;
        case MathOp::kMul: return a * b;
        case MathOp::kMulHi: return mul_hi32(a, b);
        case MathOp::kMin: return a < b ? a : b;
        case MathOp::kRotl: return rotl32(a, b);
        case MathOp::kRotr: return rotr32(a, b);
        case MathOp::kAnd: return a & b;
        case MathOp::kOr: return a | b;
        case MathOp::kXor: return a ^ b;
        case MathOp::kClz: return clz32(a) + clz32(b);
        case MathOp::kPopcount: return popcount32(a) + popcount32(b);
    }
    return 0;
}
/// The spec's math(a, b, r).
constexpr uint32_t math(uint32_t a, uint32_t b, uint32_t sel) noexcept {
    return apply_math(static_cast<MathOp>(sel % kMathOpCount), a, b);
}
[[nodiscard]] const char* math_op_name(MathOp op) noexcept;
[[nodiscard]] const char* merge_op_name(MergeOp op) noexcept;

// ---------------------------------------------------------------------------------------------------------
// The per-period program

/// One step of the loop body, in execution order: a cache load (src1 = the register holding the offset)
/// or a random math operation (src1, src2), merged into dst.
struct Op {
    enum class Kind : uint8_t { kCache, kMath };
    Kind kind = Kind::kCache;
    uint8_t src1 = 0;
    uint8_t src2 = 0;   ///< math only
    uint8_t dst = 0;
    MathOp math = MathOp::kAdd;  ///< math only
    Merge merge;
    uint32_t math_sel = 0;       ///< the raw kiss99 selectors, kept for diagnostics and tests
    uint32_t merge_sel = 0;
    friend bool operator==(const Op&, const Op&) = default;
};
/// The merge of DAG word i (of each lane's kDagLoads) into dst at the end of the loop; dst of word 0 is 0.
struct DagMerge {
    uint8_t dst = 0;
    Merge merge;
    uint32_t sel = 0;
    friend bool operator==(const DagMerge&, const DagMerge&) = default;
};

/// progPowInit + the whole random sequence of one period, decoded once ("compiled"): the loop body runs
/// these ops for all 64 iterations of every hash in the period.
struct Program {
    uint64_t period = 0;
    std::array<uint8_t, kRegs> dst_seq{};  ///< progPowInit's mix_seq_dst (Fisher-Yates)
    std::array<uint8_t, kRegs> src_seq{};  ///< progPowInit's mix_seq_src
    Kiss99 rng_after_init;                 ///< prog_rnd as progPowInit returns it
    std::array<Op, kCntCache + kCntMath> ops{};
    std::array<DagMerge, kDagLoads> dag_merges{};
    friend bool operator==(const Program&, const Program&) = default;
};

/// The program of a period (= height / kPeriodLength). A pure function; well under a microsecond.
[[nodiscard]] Program generate_program(uint64_t period) noexcept;

/// The most recently used programs, shared between threads (verification pool, scan lanes).
class ProgramCache {
public:
    [[nodiscard]] std::shared_ptr<const Program> get(uint64_t period);

private:
    static constexpr std::size_t kSlots = 8;
    std::mutex mu_;
    std::array<std::shared_ptr<const Program>, kSlots> slots_{};
    std::size_t next_ = 0;
};

// ---------------------------------------------------------------------------------------------------------
// The hash

using Hash256 = std::array<uint8_t, 32>;

/// The 16 lanes' registers, register-major: mix[reg][lane].
struct alignas(64) Mix {
    uint32_t r[kRegs][kLanes];
};

/// The first 16 KiB of the DAG (items 0..255) as 4096 words: the per-epoch L1 cache.
struct alignas(64) L1Cache {
    std::array<uint32_t, kCacheWords> words{};
};

struct HashResult {
    Hash256 mix{};         ///< the mix hash (lane digest), raw bytes
    Hash256 final_hash{};  ///< raw bytes; Ravencoin compares them as a BIG-endian number (see kawpow.hpp)
};

/// Initial Keccak-f[800]: header words, nonce (low word first), 'RAVENCOINKAWPOW'; the first 8 words
/// of the permuted state (hash_init; words 0 and 1 are the fill_mix seed).
[[nodiscard]] std::array<uint32_t, 8> initial_keccak(const Hash256& header, uint64_t nonce) noexcept;
/// Final Keccak-f[800]: hash_init, the mix hash words, 'RAVENCOIN'; the first 8 words as raw bytes.
[[nodiscard]] Hash256 final_keccak(const std::array<uint32_t, 8>& hash_init, const Hash256& mix_hash) noexcept;

/// fill_mix for all lanes from hash_init[0..1].
void init_mix(const std::array<uint32_t, 8>& hash_init, Mix& mix) noexcept;
/// One progPowLoop body after the DAG load: the cache/math ops, then the DAG merges of `entry`
/// (kEntryWords words of the 256-byte DAG entry this loop selected).
void run_loop(const Program& program, uint32_t loop, Mix& mix, const uint32_t* entry, const L1Cache& l1) noexcept;
/// Lane reduction: per-lane FNV-1a over the registers, then the lanes folded into 8 words (raw bytes).
[[nodiscard]] Hash256 reduce_mix(const Mix& mix) noexcept;

/// Index of the DAG entry (256 bytes) loop `loop` reads: lane (loop % 16)'s register 0 modulo the
/// number of entries.
[[nodiscard]] inline uint32_t dag_entry_index(const Mix& mix, uint32_t loop, uint64_t entry_count) noexcept {
    return static_cast<uint32_t>(mix.r[0][loop % kLanes] % entry_count);
}

/// The KawPow hash with a DAG entry source: `entry(index)` returns a pointer to the kEntryWords words of
/// 256-byte entry `index` (items 4 * index .. 4 * index + 3), valid until the next call.
/// `entry_count` = full dataset bytes / 256.
template <class EntrySource>
[[nodiscard]] HashResult hash(const Program& program, const L1Cache& l1, uint64_t entry_count, const Hash256& header,
                              uint64_t nonce, EntrySource&& entry) {
    const std::array<uint32_t, 8> hash_init = initial_keccak(header, nonce);
    Mix mix;
    init_mix(hash_init, mix);
    for (uint32_t loop = 0; loop < kCntDag; ++loop) {
        const uint32_t* words = entry(dag_entry_index(mix, loop, entry_count));
        run_loop(program, loop, mix, words, l1);
    }
    HashResult result;
    result.mix = reduce_mix(mix);
    result.final_hash = final_keccak(hash_init, result.mix);
    return result;
}

}  // namespace otedama::kawpow
