#version 450
/*
 * Ethash (and etchash: the same hash, other epochs) search: hashimoto for nonces nonce + [0, count), one
 * per invocation, over the DAG in device memory. SPDX-License-Identifier: MIT
 *
 * Specification: ethereum/wiki "Ethash" (hashimoto) and the Yellow Paper appendix J, written here from that
 * text; interface: ethash.glsl. lib/otedama/ethash (hashimoto_full / hashimoto_light) is the CPU twin. Every
 * nonce whose final hash, read as Ethereum reads it (big-endian), is <= the share target is reported with
 * its mix digest and final hash; the host re-verifies each on the CPU.
 */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require  // [[unroll]]: constant indices, arrays in registers
#include "keccak.glsl"
#include "ethash.glsl"

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

void main() {
    const uint gid = gl_GlobalInvocationID.x;
    if (gid >= pc.count) return;
    const uint nonce_lo = pc.nonce_lo + gid;
    const uint nonce_hi = pc.nonce_hi + (nonce_lo < pc.nonce_lo ? 1u : 0u);

    /* Keccak-512 of header hash || nonce (8 bytes little-endian): 40 bytes, padding 0x01 at byte 40 and
     * 0x80 at byte 71 (rate 72). */
    uvec2 a[25];
    [[unroll]] for (uint i = 0u; i < 25u; ++i) a[i] = uvec2(0u);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) a[i] = uvec2(params[2u * i], params[2u * i + 1u]);
    a[4] = uvec2(nonce_lo, nonce_hi);
    a[5] = uvec2(0x01u, 0u);
    a[8] = uvec2(0u, 0x80000000u);
    otd_keccak_f1600(a);
    uint s[16];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        s[2u * i] = a[i].x;
        s[2u * i + 1u] = a[i].y;
    }
    uint mix[32];
    [[unroll]] for (uint i = 0u; i < 32u; ++i) mix[i] = s[i % 16u];
    for (uint i = 0u; i < 64u; ++i) {
        const uint page = otd_fnv(i ^ s[0], mix[i % 32u]) % pc.pages;
        [[unroll]] for (uint q = 0u; q < 8u; ++q) {
            const uvec4 v = otd_dag_load(page * 8u + q);
            mix[4u * q] = otd_fnv(mix[4u * q], v.x);
            mix[4u * q + 1u] = otd_fnv(mix[4u * q + 1u], v.y);
            mix[4u * q + 2u] = otd_fnv(mix[4u * q + 2u], v.z);
            mix[4u * q + 3u] = otd_fnv(mix[4u * q + 3u], v.w);
        }
    }
    uint cmix[8];
    [[unroll]] for (uint w = 0u; w < 8u; ++w) {
        cmix[w] = otd_fnv(otd_fnv(otd_fnv(mix[4u * w], mix[4u * w + 1u]), mix[4u * w + 2u]), mix[4u * w + 3u]);
    }
    /* Keccak-256 (rate 136) of s (64 bytes) || cmix (32 bytes). */
    [[unroll]] for (uint i = 0u; i < 8u; ++i) a[i] = uvec2(s[2u * i], s[2u * i + 1u]);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) a[8u + i] = uvec2(cmix[2u * i], cmix[2u * i + 1u]);
    a[12] = uvec2(0x01u, 0u);
    [[unroll]] for (uint i = 13u; i < 25u; ++i) a[i] = uvec2(0u);
    a[16] = uvec2(0u, 0x80000000u);
    otd_keccak_f1600(a);
    uint h[8];
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        h[2u * i] = a[i].x;
        h[2u * i + 1u] = a[i].y;
    }
    if (otd_raw_hash_meets(h)) otd_eth_report(nonce_lo, nonce_hi, cmix, h);
}
