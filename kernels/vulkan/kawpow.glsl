/*
 * KawPow (ProgPoW 0.9.4 as Ravencoin runs it) search on Vulkan. SPDX-License-Identifier: MIT
 *
 * One shader per period, put together and compiled at run time (libshaderc) by the Vulkan backend:
 *   #version 450, GL_EXT_control_flow_attributes, #define PROGPOW_DAG_ELEMENTS <dataset bytes / 256>u,
 *   layout(local_size_x = <work-group size, a multiple of 16>) in;
 *   keccak.glsl, ethash.glsl (the Ethash-family interface: bindings, push constants, DAG buffers, results),
 *   the period's progPowLoop as the kawpow plugin generates it (otedama.algorithm.progpow/1, GLSL dialect:
 *   it declares the shared L1 cache c_dag and the broadcast words), then this file.
 *
 * Specification: ifdefelse/ProgPOW README (progPowHash: the initial Keccak-f[800], fill_mix, 64 loops, the
 * lane reduction, the final Keccak-f[800]) and EIP-1057, with Ravencoin's 'RAVENCOINKAWPOW' words
 * (RavenProject/Ravencoin src/crypto/ethash/lib/ethash/progpow.cpp) in place of the 0.9.4 padding, written
 * here from that text; plugins/algorithm/kawpow/progpow.cpp is the CPU twin the tests compare against.
 *
 * Layout: PROGPOW_LANES (16) invocations per hash, gl_WorkGroupSize.x / 16 hashes per work-group; `count`
 * counts hashes, nonce = nonce + work-group * hashes per group + invocation / 16.
 */
#define OTD_FNV_OFFSET 0x811c9dc5u

shared uint otd_lane_digest[gl_WorkGroupSize.x];

const uint otd_ravencoin_kawpow[15] = uint[15](0x72u, 0x41u, 0x56u, 0x45u, 0x4Eu, 0x43u, 0x4Fu, 0x49u, 0x4Eu, 0x4Bu,
                                               0x41u, 0x57u, 0x50u, 0x4Fu, 0x57u);

uint otd_fnv1a(uint h, uint d) { return (h ^ d) * 0x01000193u; }

/* Declared by the period text: the DAG's index-th 16-byte word as ProgPoW's dag_t. */
dag_t otd_progpow_dag_load(uint index) {
    const uvec4 v = otd_dag_load(index);
    dag_t d;
    d.s[0] = v.x;
    d.s[1] = v.y;
    d.s[2] = v.z;
    d.s[3] = v.w;
    return d;
}

/* fill_mix: one lane's registers from the 64-bit seed and the lane id (KISS99 seeded through FNV-1a). */
void otd_fill_mix(uint seed_lo, uint seed_hi, uint lane, out uint mix[PROGPOW_REGS]) {
    uint h = OTD_FNV_OFFSET;
    h = otd_fnv1a(h, seed_lo);
    uint z = h;
    h = otd_fnv1a(h, seed_hi);
    uint w = h;
    h = otd_fnv1a(h, lane);
    uint jsr = h;
    h = otd_fnv1a(h, lane);
    uint jcong = h;
    [[unroll]] for (uint i = 0u; i < PROGPOW_REGS; ++i) {
        z = 36969u * (z & 65535u) + (z >> 16);
        w = 18000u * (w & 65535u) + (w >> 16);
        const uint mwc = (z << 16) + w;
        jsr ^= jsr << 17;
        jsr ^= jsr >> 13;
        jsr ^= jsr << 5;
        jcong = 69069u * jcong + 1234567u;
        mix[i] = (mwc ^ jcong) + jsr;
    }
}

void main() {
    const uint lid = gl_LocalInvocationID.x;
    /* The L1 cache: the DAG's first PROGPOW_CACHE_BYTES. */
    for (uint q = lid; q < PROGPOW_CACHE_WORDS / 4u; q += gl_WorkGroupSize.x) {
        const uvec4 v = otd_dag_load(q);
        c_dag[4u * q] = v.x;
        c_dag[4u * q + 1u] = v.y;
        c_dag[4u * q + 2u] = v.z;
        c_dag[4u * q + 3u] = v.w;
    }
    memoryBarrierShared();
    barrier();

    const uint lane = lid % PROGPOW_LANES;
    const uint slot = lid / PROGPOW_LANES;
    const uint hash_index = gl_WorkGroupID.x * (gl_WorkGroupSize.x / PROGPOW_LANES) + slot;
    const uint nonce_lo = pc.nonce_lo + hash_index;
    const uint nonce_hi = pc.nonce_hi + (nonce_lo < pc.nonce_lo ? 1u : 0u);

    /* Initial Keccak-f[800]: header (8 words), nonce (low word first), 'RAVENCOINKAWPOW'. */
    uint st[25];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) st[i] = params[i];
    st[8] = nonce_lo;
    st[9] = nonce_hi;
    [[unroll]] for (uint i = 0u; i < 15u; ++i) st[10u + i] = otd_ravencoin_kawpow[i];
    otd_keccak_f800(st);
    uint hash_init[8];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) hash_init[i] = st[i];

    uint mix[PROGPOW_REGS];
    otd_fill_mix(hash_init[0], hash_init[1], lane, mix);
    /* Every invocation runs every loop, also those past `count` (progPowLoop has barriers). */
    for (uint loop = 0u; loop < PROGPOW_CNT_DAG; ++loop) progPowLoop(loop, mix, false);

    uint h = OTD_FNV_OFFSET;
    [[unroll]] for (uint r = 0u; r < PROGPOW_REGS; ++r) h = otd_fnv1a(h, mix[r]);
    otd_lane_digest[lid] = h;
    memoryBarrierShared();
    barrier();
    if (lane != 0u || hash_index >= pc.count) return;

    uint digest[8];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) digest[i] = OTD_FNV_OFFSET;
    [[unroll]] for (uint l = 0u; l < PROGPOW_LANES; ++l) {
        digest[l % 8u] = otd_fnv1a(digest[l % 8u], otd_lane_digest[slot * PROGPOW_LANES + l]);
    }

    /* Final Keccak-f[800]: hash_init, the mix digest, 'RAVENCOIN'. */
    [[unroll]] for (uint i = 0u; i < 8u; ++i) st[i] = hash_init[i];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) st[8u + i] = digest[i];
    [[unroll]] for (uint i = 0u; i < 9u; ++i) st[16u + i] = otd_ravencoin_kawpow[i];
    otd_keccak_f800(st);
    uint final_hash[8];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) final_hash[i] = st[i];
    if (otd_raw_hash_meets(final_hash)) otd_eth_report(nonce_lo, nonce_hi, digest, final_hash);
}
