#version 450
/*
 * scrypt(N = 1024, r = 1, p = 1) proof of work (Litecoin family) over an 80-byte block header, one nonce
 * per invocation. SPDX-License-Identifier: MIT
 *
 * Written from RFC 7914 (The scrypt Password-Based Key Derivation Function): section 3 (Salsa20/8 core),
 * 4 (scryptBlockMix), 5 (scryptROMix), 6 (scrypt); PBKDF2 from RFC 8018 section 5.2 with HMAC (RFC 2104)
 * over SHA-256 (FIPS 180-4, sha256.glsl). The proof of work is scrypt(P = header, S = header, N, r, p,
 * dkLen = 32), hash bytes compared as a little-endian number, nonce = header bytes 76..79 little-endian.
 *
 * Interface: sha256.glsl, plus
 *   set 0, binding 2  Scratch: ROMix's V, 1024 x 128 bytes per invocation: uvec4 k of V[j] for invocation
 *                     i at (j * 8 + k) * word_stride + i * item_stride. The backend picks the layout per
 *                     device: interleaved for GPUs (word_stride = invocations of the buffer, item_stride 1:
 *                     neighbouring invocations touch neighbouring words, coalesced), contiguous for CPU
 *                     devices such as lavapipe (word_stride 1, item_stride 8192: each invocation's V_j is
 *                     128 contiguous bytes, two cache lines, where interleaving would touch eight).
 * The HMAC key is SHA-256(header) (the header is longer than a block), which starts from the midstate
 * params[0..7]; the PBKDF2 salt's first block is header bytes 0..63 (params[19..34]).
 */
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require  // [[unroll]]: constant indices, arrays in registers
#include "sha256.glsl"

layout(std430, set = 0, binding = 2) buffer Scratch { uvec4 scratch[]; };

const uint kN = 1024u;

/* Salsa20/8 core (RFC 7914 section 3) on 16 little-endian words, in place: 4 double rounds, then the
 * input added back. */
void otd_salsa20_8(inout uint b[16]) {
    uint x[16] = b;
    [[unroll]] for (uint round = 0u; round < 8u; round += 2u) {
        /* Column round. */
        x[4] ^= otd_rotl(x[0] + x[12], 7u);   x[8] ^= otd_rotl(x[4] + x[0], 9u);
        x[12] ^= otd_rotl(x[8] + x[4], 13u);  x[0] ^= otd_rotl(x[12] + x[8], 18u);
        x[9] ^= otd_rotl(x[5] + x[1], 7u);    x[13] ^= otd_rotl(x[9] + x[5], 9u);
        x[1] ^= otd_rotl(x[13] + x[9], 13u);  x[5] ^= otd_rotl(x[1] + x[13], 18u);
        x[14] ^= otd_rotl(x[10] + x[6], 7u);  x[2] ^= otd_rotl(x[14] + x[10], 9u);
        x[6] ^= otd_rotl(x[2] + x[14], 13u);  x[10] ^= otd_rotl(x[6] + x[2], 18u);
        x[3] ^= otd_rotl(x[15] + x[11], 7u);  x[7] ^= otd_rotl(x[3] + x[15], 9u);
        x[11] ^= otd_rotl(x[7] + x[3], 13u);  x[15] ^= otd_rotl(x[11] + x[7], 18u);
        /* Row round. */
        x[1] ^= otd_rotl(x[0] + x[3], 7u);    x[2] ^= otd_rotl(x[1] + x[0], 9u);
        x[3] ^= otd_rotl(x[2] + x[1], 13u);   x[0] ^= otd_rotl(x[3] + x[2], 18u);
        x[6] ^= otd_rotl(x[5] + x[4], 7u);    x[7] ^= otd_rotl(x[6] + x[5], 9u);
        x[4] ^= otd_rotl(x[7] + x[6], 13u);   x[5] ^= otd_rotl(x[4] + x[7], 18u);
        x[11] ^= otd_rotl(x[10] + x[9], 7u);  x[8] ^= otd_rotl(x[11] + x[10], 9u);
        x[9] ^= otd_rotl(x[8] + x[11], 13u);  x[10] ^= otd_rotl(x[9] + x[8], 18u);
        x[12] ^= otd_rotl(x[15] + x[14], 7u); x[13] ^= otd_rotl(x[12] + x[15], 9u);
        x[14] ^= otd_rotl(x[13] + x[12], 13u); x[15] ^= otd_rotl(x[14] + x[13], 18u);
    }
    [[unroll]] for (uint i = 0u; i < 16u; ++i) b[i] += x[i];
}

/* scryptBlockMix with r = 1 (RFC 7914 section 4) on X = B0 || B1, in place:
 * Y0 = Salsa(B1 ^ B0), Y1 = Salsa(Y0 ^ B1), output Y0 || Y1. */
void otd_blockmix_r1(inout uint b0[16], inout uint b1[16]) {
    [[unroll]] for (uint i = 0u; i < 16u; ++i) b0[i] ^= b1[i];
    otd_salsa20_8(b0);
    [[unroll]] for (uint i = 0u; i < 16u; ++i) b1[i] ^= b0[i];
    otd_salsa20_8(b1);
}

/* HMAC-SHA-256 inner and outer states for a 32-byte key (8 big-endian words): the key padded with zeros
 * to one block, XORed with ipad (0x36) and opad (0x5c), each compressed once (RFC 2104 section 2). */
void otd_hmac_states(uint key[8], out uint istate[8], out uint ostate[8]) {
    uint w[16];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) w[i] = key[i] ^ 0x36363636u;
    [[unroll]] for (uint i = 8u; i < 16u; ++i) w[i] = 0x36363636u;
    otd_sha256_init(istate);
    otd_sha256_compress(istate, w);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) w[i] = key[i] ^ 0x5c5c5c5cu;
    [[unroll]] for (uint i = 8u; i < 16u; ++i) w[i] = 0x5c5c5c5cu;
    otd_sha256_init(ostate);
    otd_sha256_compress(ostate, w);
}

/* The outer hash of HMAC: SHA-256(opad block || inner digest), 64 + 32 bytes = 768 bits. */
void otd_hmac_finish(uint ostate[8], uint inner[8], out uint result[8]) {
    uint w[16];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) w[i] = inner[i];
    w[8] = 0x80000000u;
    [[unroll]] for (uint i = 9u; i < 15u; ++i) w[i] = 0u;
    w[15] = 768u;
    result = ostate;
    otd_sha256_compress(result, w);
}

void main() {
    const uint gid = gl_GlobalInvocationID.x;
    if (gid >= pc.count) return;
    const uint nonce = pc.nonce_base + gid;
    const uint nonce_be = otd_bswap32(nonce);
    const uint ws = pc.word_stride;
    const uint own = gid * pc.item_stride;
    uint w[16];

    /* The HMAC key: SHA-256(header), from the midstate of bytes 0..63, then bytes 64..79 and the padding
     * of an 80-byte message. */
    uint key[8];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) key[i] = params[i];
    w[0] = params[8]; w[1] = params[9]; w[2] = params[10]; w[3] = nonce_be;
    w[4] = 0x80000000u;
    [[unroll]] for (uint i = 5u; i < 15u; ++i) w[i] = 0u;
    w[15] = 640u;
    otd_sha256_compress(key, w);
    uint istate[8], ostate[8];
    otd_hmac_states(key, istate, ostate);

    /* PBKDF2-HMAC-SHA-256(P = header, S = header, c = 1, dkLen = 128) = T1 || T2 || T3 || T4 with
     * T_i = HMAC(header || INT(i)). The inner hash's first block after the key block is header bytes 0..63,
     * the same for every i. */
    uint salted[8] = istate;
    [[unroll]] for (uint i = 0u; i < 16u; ++i) w[i] = params[19u + i];
    otd_sha256_compress(salted, w);
    uint b0[16], b1[16];
    [[unroll]] for (uint block = 1u; block <= 4u; ++block) {
        uint inner[8] = salted;
        /* Header bytes 64..79, INT(i) (big-endian), padding; message length 64 + 80 + 4 bytes = 1184 bits. */
        w[0] = params[8]; w[1] = params[9]; w[2] = params[10]; w[3] = nonce_be;
        w[4] = block;
        w[5] = 0x80000000u;
        [[unroll]] for (uint i = 6u; i < 15u; ++i) w[i] = 0u;
        w[15] = 1184u;
        otd_sha256_compress(inner, w);
        uint t[8];
        otd_hmac_finish(ostate, inner, t);
        /* scrypt reads B as little-endian words; the digest words are big-endian. */
        [[unroll]] for (uint i = 0u; i < 8u; ++i) {
            const uint v = otd_bswap32(t[i]);
            if (block == 1u) b0[i] = v;
            else if (block == 2u) b0[8u + i] = v;
            else if (block == 3u) b1[i] = v;
            else b1[8u + i] = v;
        }
    }

    /* scryptROMix (RFC 7914 section 5): V_j = X, X = BlockMix(X) for j < N; then N times
     * j = Integerify(X) mod N (the first word of the last 64-byte block: B1[0] for r = 1),
     * X = BlockMix(X ^ V_j). */
    [[dont_unroll]] for (uint j = 0u; j < kN; ++j) {
        const uint base = j * 8u * ws + own;
        [[unroll]] for (uint k = 0u; k < 4u; ++k) {
            scratch[base + k * ws] = uvec4(b0[4u * k], b0[4u * k + 1u], b0[4u * k + 2u], b0[4u * k + 3u]);
            scratch[base + (k + 4u) * ws] = uvec4(b1[4u * k], b1[4u * k + 1u], b1[4u * k + 2u], b1[4u * k + 3u]);
        }
        otd_blockmix_r1(b0, b1);
    }
    [[dont_unroll]] for (uint n = 0u; n < kN; ++n) {
        const uint j = b1[0] & (kN - 1u);
        const uint base = j * 8u * ws + own;
        [[unroll]] for (uint k = 0u; k < 4u; ++k) {
            const uvec4 p = scratch[base + k * ws];
            const uvec4 q = scratch[base + (k + 4u) * ws];
            b0[4u * k] ^= p.x; b0[4u * k + 1u] ^= p.y; b0[4u * k + 2u] ^= p.z; b0[4u * k + 3u] ^= p.w;
            b1[4u * k] ^= q.x; b1[4u * k + 1u] ^= q.y; b1[4u * k + 2u] ^= q.z; b1[4u * k + 3u] ^= q.w;
        }
        otd_blockmix_r1(b0, b1);
    }

    /* PBKDF2-HMAC-SHA-256(P = header, S = B', c = 1, dkLen = 32): the inner hash over B' (128 bytes, two
     * blocks, big-endian words of the little-endian X), then INT(1) and the padding of 64 + 128 + 4 bytes
     * = 1568 bits. */
    uint inner[8] = istate;
    [[unroll]] for (uint i = 0u; i < 16u; ++i) w[i] = otd_bswap32(b0[i]);
    otd_sha256_compress(inner, w);
    [[unroll]] for (uint i = 0u; i < 16u; ++i) w[i] = otd_bswap32(b1[i]);
    otd_sha256_compress(inner, w);
    w[0] = 1u;
    w[1] = 0x80000000u;
    [[unroll]] for (uint i = 2u; i < 15u; ++i) w[i] = 0u;
    w[15] = 1568u;
    otd_sha256_compress(inner, w);
    uint digest[8];
    otd_hmac_finish(ostate, inner, digest);

    if (otd_meets_target(digest)) otd_report(nonce, digest);
}
