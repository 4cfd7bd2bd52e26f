/*
 * Interface of the Ethash-family compute shaders (ethash_dag.comp, ethash.comp, KawPow's period shader) and
 * what they share: the DAG split over several storage buffers, FNV, the result entries, the target test.
 * SPDX-License-Identifier: MIT
 *
 * Specification: Ethereum's Ethash design (ethereum/wiki "Ethash": calc_dataset_item, hashimoto; the Yellow
 * Paper appendix J), written here from that text. Sizes are push constants, not compiled in, so the tests
 * run a tiny cache and dataset through the very same shaders (the real sizes of an epoch come from
 * lib/otedama/ethash on the host). Include keccak.glsl first.
 *
 * The backend's "ethash" pipeline layout (plugins/backend/vulkan/vk_runtime.hpp, EthashPush):
 *   set 0, binding 0  Params (read-only): header hash (8 little-endian words), share target (8 words: the
 *                     ABI's little-endian 256-bit number, word 7 most significant)
 *   set 0, binding 1  Results: results[0] counts entries (also those past `capacity`: the host then
 *                     searches again); entry i at 1 + 18 i: nonce (low, high word), mix digest (8 words,
 *                     raw bytes), final hash (8 words, raw bytes)
 *   set 0, binding 2  Cache (read-only): the light cache, 64-byte items as 4 uvec4
 *   set 0, binding 3..10  Dag0..Dag7: the DAG, 16-byte words, word i in buffer i >> dag_shift at i &
 *                     (2^dag_shift - 1). One storage buffer may not exceed maxStorageBufferRange (lavapipe:
 *                     128 MiB; many GPUs 4 GiB - 1), so the DAG is split into up to 8 buffers of
 *                     2^dag_shift words (a power of two: a shift and a mask per load, and a 256-byte KawPow
 *                     entry or 128-byte hashimoto page never straddles two buffers); bindings past the last
 *                     buffer hold a placeholder.
 *   push constants    EthashPush below.
 */

layout(std430, set = 0, binding = 0) readonly buffer Params { uint params[]; };
layout(std430, set = 0, binding = 1) buffer Results { uint results[]; };
layout(std430, set = 0, binding = 2) readonly buffer Cache { uvec4 cache[]; };
layout(std430, set = 0, binding = 3) buffer Dag0 { uvec4 dag0[]; };
layout(std430, set = 0, binding = 4) buffer Dag1 { uvec4 dag1[]; };
layout(std430, set = 0, binding = 5) buffer Dag2 { uvec4 dag2[]; };
layout(std430, set = 0, binding = 6) buffer Dag3 { uvec4 dag3[]; };
layout(std430, set = 0, binding = 7) buffer Dag4 { uvec4 dag4[]; };
layout(std430, set = 0, binding = 8) buffer Dag5 { uvec4 dag5[]; };
layout(std430, set = 0, binding = 9) buffer Dag6 { uvec4 dag6[]; };
layout(std430, set = 0, binding = 10) buffer Dag7 { uvec4 dag7[]; };

layout(push_constant) uniform EthashPush {
    uint nonce_lo;     /* search: the first nonce (64 bits) */
    uint nonce_hi;
    uint count;        /* search: nonces (hashes); DAG: items */
    uint capacity;     /* entries the result buffer holds */
    uint first_item;   /* DAG: the first item to generate */
    uint cache_items;  /* DAG: light-cache items */
    uint parents;      /* DAG: parents per item (Ethash 256, KawPow 512), a multiple of 16 */
    uint pages;        /* ethash search: dataset bytes / 128 */
    uint dag_shift;    /* log2 of the 16-byte words per DAG buffer */
} pc;

#define OTD_ETH_ENTRY_WORDS 18u

uint otd_fnv(uint u, uint v) { return (u * 0x01000193u) ^ v; }

/* The DAG's 16-byte word i. */
uvec4 otd_dag_load(uint i) {
    const uint o = i & ((1u << pc.dag_shift) - 1u);
    switch (i >> pc.dag_shift) {
        case 0u: return dag0[o];
        case 1u: return dag1[o];
        case 2u: return dag2[o];
        case 3u: return dag3[o];
        case 4u: return dag4[o];
        case 5u: return dag5[o];
        case 6u: return dag6[o];
        default: return dag7[o];
    }
}

void otd_dag_store(uint i, uvec4 v) {
    const uint o = i & ((1u << pc.dag_shift) - 1u);
    switch (i >> pc.dag_shift) {
        case 0u: dag0[o] = v; break;
        case 1u: dag1[o] = v; break;
        case 2u: dag2[o] = v; break;
        case 3u: dag3[o] = v; break;
        case 4u: dag4[o] = v; break;
        case 5u: dag5[o] = v; break;
        case 6u: dag6[o] = v; break;
        default: dag7[o] = v; break;
    }
}

/* A raw 32-byte hash (8 little-endian words, byte 0 most significant as Ethereum and Ravencoin compare it)
 * against the share target: hash <= target. */
bool otd_raw_hash_meets(const uint h[8]) {
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        const uint hw = otd_bswap32(h[i]); /* the raw word read big-endian */
        const uint tw = params[15u - i];
        if (hw != tw) return hw < tw;
    }
    return true;
}

void otd_eth_report(uint nonce_lo, uint nonce_hi, const uint mix[8], const uint hash[8]) {
    const uint slot = atomicAdd(results[0], 1u);
    if (slot >= pc.capacity) return;
    const uint e = 1u + slot * OTD_ETH_ENTRY_WORDS;
    results[e] = nonce_lo;
    results[e + 1u] = nonce_hi;
    [[unroll]] for (uint i = 0u; i < 8u; ++i) results[e + 2u + i] = mix[i];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) results[e + 10u + i] = hash[i];
}
