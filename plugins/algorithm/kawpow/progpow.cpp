// ProgPoW 0.9.4 / KawPow: program generation, the loop interpreter and the Keccak-f[800] steps.
// See progpow.hpp for the specification this follows.
#include "progpow.hpp"

#include <otedama/common/keccak.hpp>

#include <cstring>
#include <utility>

namespace otedama::kawpow {

namespace {

uint32_t load_le32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
void store_le32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

/// mix[dst][l] = merge(mix[dst][l], data[l]) for every lane, with the switch outside the lane loop so that
/// each case is one vectorisable loop.
inline void merge_rows(uint32_t* __restrict dst, const uint32_t* __restrict data, Merge m) noexcept {
    switch (m.op) {
        case MergeOp::kMulAdd:
            for (uint32_t l = 0; l < kLanes; ++l) dst[l] = dst[l] * 33u + data[l];
            break;
        case MergeOp::kXorMul:
            for (uint32_t l = 0; l < kLanes; ++l) dst[l] = (dst[l] ^ data[l]) * 33u;
            break;
        case MergeOp::kRotlXor: {
            const uint32_t r = m.rotation;  // 1..31
            for (uint32_t l = 0; l < kLanes; ++l) dst[l] = ((dst[l] << r) | (dst[l] >> (32u - r))) ^ data[l];
            break;
        }
        case MergeOp::kRotrXor: {
            const uint32_t r = m.rotation;
            for (uint32_t l = 0; l < kLanes; ++l) dst[l] = ((dst[l] >> r) | (dst[l] << (32u - r))) ^ data[l];
            break;
        }
    }
}

inline void math_rows(uint32_t* __restrict out, const uint32_t* a, const uint32_t* b, MathOp op) noexcept {
    switch (op) {
        case MathOp::kAdd:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = a[l] + b[l];
            break;
        case MathOp::kMul:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = a[l] * b[l];
            break;
        case MathOp::kMulHi:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = mul_hi32(a[l], b[l]);
            break;
        case MathOp::kMin:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = a[l] < b[l] ? a[l] : b[l];
            break;
        case MathOp::kRotl:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = rotl32(a[l], b[l]);
            break;
        case MathOp::kRotr:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = rotr32(a[l], b[l]);
            break;
        case MathOp::kAnd:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = a[l] & b[l];
            break;
        case MathOp::kOr:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = a[l] | b[l];
            break;
        case MathOp::kXor:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = a[l] ^ b[l];
            break;
        case MathOp::kClz:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = clz32(a[l]) + clz32(b[l]);
            break;
        case MathOp::kPopcount:
            for (uint32_t l = 0; l < kLanes; ++l) out[l] = popcount32(a[l]) + popcount32(b[l]);
            break;
    }
}

}  // namespace

void fill_mix(uint32_t seed_lo, uint32_t seed_hi, uint32_t lane, uint32_t out[kRegs]) noexcept {
    uint32_t h = kFnvOffsetBasis;
    Kiss99 rng;
    rng.z = fnv1a(h, seed_lo);
    rng.w = fnv1a(h, seed_hi);
    rng.jsr = fnv1a(h, lane);
    rng.jcong = fnv1a(h, lane);
    for (uint32_t i = 0; i < kRegs; ++i) out[i] = rng();
}

const char* math_op_name(MathOp op) noexcept {
    static constexpr const char* kNames[kMathOpCount] = {"add", "mul",  "mul_hi", "min", "rotl",    "rotr",
                                                         "and", "or",   "xor",    "clz", "popcount"};
    const auto i = static_cast<uint32_t>(op);
    return i < kMathOpCount ? kNames[i] : "?";
}
const char* merge_op_name(MergeOp op) noexcept {
    static constexpr const char* kNames[4] = {"mul/add", "xor/mul", "rotl/xor", "rotr/xor"};
    const auto i = static_cast<uint32_t>(op);
    return i < 4 ? kNames[i] : "?";
}

Program generate_program(uint64_t period) noexcept {
    Program p;
    p.period = period;
    // progPowInit: the generator from the period's two 32-bit halves, then a Fisher-Yates shuffle of the
    // destination and source register orders (every destination merged once per cycle of 32, no cache
    // read from the same register twice).
    const auto lo = static_cast<uint32_t>(period);
    const auto hi = static_cast<uint32_t>(period >> 32);
    uint32_t h = kFnvOffsetBasis;
    Kiss99 rng;
    rng.z = fnv1a(h, lo);
    rng.w = fnv1a(h, hi);
    rng.jsr = fnv1a(h, lo);
    rng.jcong = fnv1a(h, hi);
    for (uint32_t i = 0; i < kRegs; ++i) {
        p.dst_seq[i] = static_cast<uint8_t>(i);
        p.src_seq[i] = static_cast<uint8_t>(i);
    }
    for (uint32_t i = kRegs - 1; i > 0; --i) {
        std::swap(p.dst_seq[i], p.dst_seq[rng() % (i + 1)]);
        std::swap(p.src_seq[i], p.src_seq[rng() % (i + 1)]);
    }
    p.rng_after_init = rng;

    // progPowLoop's sequence: cache loads and math interleaved (cache first in each step), then the DAG
    // words' merges. The sequence is the same in every loop iteration (the spec re-runs progPowInit).
    uint32_t dst_count = 0;
    uint32_t src_count = 0;
    std::size_t n = 0;
    constexpr uint32_t kSteps = kCntCache > kCntMath ? kCntCache : kCntMath;
    for (uint32_t i = 0; i < kSteps; ++i) {
        if (i < kCntCache) {
            Op& op = p.ops[n++];
            op.kind = Op::Kind::kCache;
            op.src1 = p.src_seq[src_count++ % kRegs];
            op.dst = p.dst_seq[dst_count++ % kRegs];
            op.merge_sel = rng();
            op.merge = Merge::decode(op.merge_sel);
        }
        if (i < kCntMath) {
            Op& op = p.ops[n++];
            op.kind = Op::Kind::kMath;
            const uint32_t src_rnd = rng() % (kRegs * (kRegs - 1));
            uint32_t src1 = src_rnd % kRegs;
            uint32_t src2 = src_rnd / kRegs;  // 0 .. kRegs - 2
            if (src2 >= src1) ++src2;         // any register but src1
            op.src1 = static_cast<uint8_t>(src1);
            op.src2 = static_cast<uint8_t>(src2);
            op.math_sel = rng();
            op.math = static_cast<MathOp>(op.math_sel % kMathOpCount);
            op.dst = p.dst_seq[dst_count++ % kRegs];
            op.merge_sel = rng();
            op.merge = Merge::decode(op.merge_sel);
        }
    }
    for (uint32_t i = 0; i < kDagLoads; ++i) {
        DagMerge& m = p.dag_merges[i];
        m.dst = i == 0 ? 0 : p.dst_seq[dst_count++ % kRegs];  // word 0 always feeds the next DAG address
        m.sel = rng();
        m.merge = Merge::decode(m.sel);
    }
    return p;
}

std::shared_ptr<const Program> ProgramCache::get(uint64_t period) {
    {
        std::lock_guard lock(mu_);
        for (const auto& slot : slots_) {
            if (slot && slot->period == period) return slot;
        }
    }
    auto program = std::make_shared<const Program>(generate_program(period));  // outside the lock
    std::lock_guard lock(mu_);
    for (const auto& slot : slots_) {
        if (slot && slot->period == period) return slot;  // another thread was first
    }
    slots_[next_] = program;
    next_ = (next_ + 1) % kSlots;
    return program;
}

std::array<uint32_t, 8> initial_keccak(const Hash256& header, uint64_t nonce) noexcept {
    uint32_t state[25];
    for (uint32_t i = 0; i < 8; ++i) state[i] = load_le32(header.data() + 4 * i);
    state[8] = static_cast<uint32_t>(nonce);
    state[9] = static_cast<uint32_t>(nonce >> 32);
    for (uint32_t i = 0; i < 15; ++i) state[10 + i] = kRavencoinKawpow[i];
    common::keccak_f800(state);
    std::array<uint32_t, 8> out{};
    std::memcpy(out.data(), state, sizeof out);
    return out;
}

Hash256 final_keccak(const std::array<uint32_t, 8>& hash_init, const Hash256& mix_hash) noexcept {
    uint32_t state[25];
    for (uint32_t i = 0; i < 8; ++i) state[i] = hash_init[i];
    for (uint32_t i = 0; i < 8; ++i) state[8 + i] = load_le32(mix_hash.data() + 4 * i);
    for (uint32_t i = 0; i < 9; ++i) state[16 + i] = kRavencoinKawpow[i];
    common::keccak_f800(state);
    Hash256 out{};
    for (uint32_t i = 0; i < 8; ++i) store_le32(out.data() + 4 * i, state[i]);
    return out;
}

void init_mix(const std::array<uint32_t, 8>& hash_init, Mix& mix) noexcept {
    uint32_t lane_regs[kRegs];
    for (uint32_t l = 0; l < kLanes; ++l) {
        fill_mix(hash_init[0], hash_init[1], l, lane_regs);
        for (uint32_t r = 0; r < kRegs; ++r) mix.r[r][l] = lane_regs[r];
    }
}

// The loop body is all 16-lane rows (one AVX-512 register, two AVX2 ones): compiled for the baseline and for
// x86-64-v3 / v4, the best chosen once by the loader (GCC function multi-versioning through an ifunc). The
// baseline (SSE2) has no 32-bit vector multiply, which the merges and math use constantly.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void run_loop(const Program& program, uint32_t loop, Mix& mix, const uint32_t* entry, const L1Cache& l1) noexcept {
    alignas(64) uint32_t data[kLanes] = {};
    for (const Op& op : program.ops) {
        if (op.kind == Op::Kind::kCache) {
            const uint32_t* offsets = mix.r[op.src1];
            for (uint32_t l = 0; l < kLanes; ++l) data[l] = l1.words[offsets[l] % kCacheWords];
        } else {
            math_rows(data, mix.r[op.src1], mix.r[op.src2], op.math);
        }
        merge_rows(mix.r[op.dst], data, op.merge);
    }
    // Lane l reads the kDagLoads consecutive words of sub-entry (l ^ loop) % kLanes: which part of the
    // entry a lane sees changes every loop (a multi-chip ASIC cannot hold just a slice of the DAG).
    for (uint32_t i = 0; i < kDagLoads; ++i) {
        for (uint32_t l = 0; l < kLanes; ++l) data[l] = entry[((l ^ loop) % kLanes) * kDagLoads + i];
        merge_rows(mix.r[program.dag_merges[i].dst], data, program.dag_merges[i].merge);
    }
}

Hash256 reduce_mix(const Mix& mix) noexcept {
    uint32_t lane_digest[kLanes];
    for (uint32_t l = 0; l < kLanes; ++l) {
        uint32_t h = kFnvOffsetBasis;
        for (uint32_t r = 0; r < kRegs; ++r) fnv1a(h, mix.r[r][l]);
        lane_digest[l] = h;
    }
    uint32_t words[8];
    for (auto& w : words) w = kFnvOffsetBasis;
    for (uint32_t l = 0; l < kLanes; ++l) fnv1a(words[l % 8], lane_digest[l]);
    Hash256 out{};
    for (uint32_t i = 0; i < 8; ++i) store_le32(out.data() + 4 * i, words[i]);
    return out;
}

}  // namespace otedama::kawpow
