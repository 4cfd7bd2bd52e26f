#version 450
/*
 * SHA256d (Bitcoin's proof of work) over an 80-byte block header, one nonce per invocation.
 * SPDX-License-Identifier: MIT
 *
 * hash = SHA-256(SHA-256(header)), FIPS 180-4; the nonce is header bytes 76..79, little-endian. The host
 * compresses the first 64 bytes once per work unit (the midstate, params[0..7]). Invocation i hashes
 * nonce = nonce_base + i (for i < count) and reports it when the double hash, read as a little-endian
 * 256-bit number, is <= the share target. Interface: sha256.glsl.
 */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require  // [[unroll]]: constant indices, arrays in registers
#include "sha256.glsl"

void main() {
    const uint i = gl_GlobalInvocationID.x;
    if (i >= pc.count) return;
    const uint nonce = pc.nonce_base + i;

    /* First hash, second block: header bytes 64..79 then the padding of an 80-byte (640-bit) message. */
    uint state[8];
    [[unroll]] for (uint k = 0u; k < 8u; ++k) state[k] = params[k];
    uint w[16];
    w[0] = params[8];
    w[1] = params[9];
    w[2] = params[10];
    w[3] = otd_bswap32(nonce);
    w[4] = 0x80000000u;
    [[unroll]] for (uint k = 5u; k < 15u; ++k) w[k] = 0u;
    w[15] = 640u;
    otd_sha256_compress(state, w);

    /* Second hash: the 32-byte digest and the padding of a 256-bit message, from the initial state. */
    [[unroll]] for (uint k = 0u; k < 8u; ++k) w[k] = state[k];
    w[8] = 0x80000000u;
    [[unroll]] for (uint k = 9u; k < 15u; ++k) w[k] = 0u;
    w[15] = 256u;
    uint digest[8];
    otd_sha256_init(digest);
    otd_sha256_compress(digest, w);

    if (otd_meets_target(digest)) otd_report(nonce, digest);
}
