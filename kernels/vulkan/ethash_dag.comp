#version 450
/*
 * The Ethash DAG (full dataset) generated on the device from the light cache: items [first_item,
 * first_item + count), one per invocation, calc_dataset_item with `parents` parents (Ethash and etchash 256,
 * KawPow 512). SPDX-License-Identifier: MIT
 *
 * Specification: ethereum/wiki "Ethash" (calc_dataset_item), written here from that text; interface:
 * ethash.glsl. lib/otedama/ethash (dataset_items) is the CPU twin the tests compare with byte for byte.
 */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require  // [[unroll]]: constant indices, arrays in registers
#include "keccak.glsl"
#include "ethash.glsl"

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

void main() {
    const uint gid = gl_GlobalInvocationID.x;
    if (gid >= pc.count) return;
    const uint index = pc.first_item + gid;
    uint mix[16];
    const uint seed_item = (index % pc.cache_items) * 4u;
    [[unroll]] for (uint q = 0u; q < 4u; ++q) {
        const uvec4 v = cache[seed_item + q];
        mix[4u * q] = v.x;
        mix[4u * q + 1u] = v.y;
        mix[4u * q + 2u] = v.z;
        mix[4u * q + 3u] = v.w;
    }
    mix[0] ^= index;
    otd_keccak512_64(mix);
    /* Parents in steps of 16 with the inner loop unrolled: mix[k] is then a fixed register, not an indexed
     * private array (parents is a multiple of 16 for every member of the family). */
    for (uint j0 = 0u; j0 < pc.parents; j0 += 16u) {
        [[unroll]] for (uint k = 0u; k < 16u; ++k) {
            const uint parent = (otd_fnv(index ^ (j0 + k), mix[k]) % pc.cache_items) * 4u;
            [[unroll]] for (uint q = 0u; q < 4u; ++q) {
                const uvec4 v = cache[parent + q];
                mix[4u * q] = otd_fnv(mix[4u * q], v.x);
                mix[4u * q + 1u] = otd_fnv(mix[4u * q + 1u], v.y);
                mix[4u * q + 2u] = otd_fnv(mix[4u * q + 2u], v.z);
                mix[4u * q + 3u] = otd_fnv(mix[4u * q + 3u], v.w);
            }
        }
    }
    otd_keccak512_64(mix);
    [[unroll]] for (uint q = 0u; q < 4u; ++q) {
        otd_dag_store(index * 4u + q, uvec4(mix[4u * q], mix[4u * q + 1u], mix[4u * q + 2u], mix[4u * q + 3u]));
    }
}
