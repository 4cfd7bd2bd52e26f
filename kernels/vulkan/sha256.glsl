/*
 * SHA-256 compression for the Otedama Vulkan compute shaders (GLSL 4.50, included by sha256d.comp and
 * scrypt.comp). SPDX-License-Identifier: MIT
 *
 * Written from FIPS 180-4 (Secure Hash Standard), sections 4.1.2 (functions), 4.2.2 (constants K),
 * 5.3.3 (initial hash value) and 6.2.2 (the hash computation). A message block is 16 big-endian words, as
 * FIPS 180-4 reads the bytes.
 *
 * Interface shared by both shaders (the backend, plugins/backend/vulkan, fills it):
 *   set 0, binding 0  Params   (read-only): params[0..7] midstate of header bytes 0..63, params[8..10]
 *                     header bytes 64..75 as big-endian words, params[11..18] share target as 8
 *                     little-endian words (word 7 most significant), params[19..34] header bytes 0..63
 *                     as big-endian words
 *   set 0, binding 1  Results: results[0] counter, entry i at results[1 + 9 i] = nonce, 8 digest words
 *   push constants    nonce_base, count (invocations past it do nothing), capacity (entries the result
 *                     buffer holds), word_stride and item_stride (scrypt's scratchpad layout, scrypt.comp)
 */

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Params { uint params[]; };
layout(std430, set = 0, binding = 1) buffer Results { uint results[]; };
layout(push_constant) uniform Push {
    uint nonce_base;
    uint count;
    uint capacity;
    uint word_stride;
    uint item_stride;
} pc;

const uint otd_sha256_k[64] = uint[64](
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u);

uint otd_rotr(uint x, uint n) { return (x >> n) | (x << (32u - n)); }
uint otd_rotl(uint x, uint n) { return (x << n) | (x >> (32u - n)); }

/* FIPS 180-4 section 5.3.3. */
void otd_sha256_init(out uint s[8]) {
    s[0] = 0x6a09e667u; s[1] = 0xbb67ae85u; s[2] = 0x3c6ef372u; s[3] = 0xa54ff53au;
    s[4] = 0x510e527fu; s[5] = 0x9b05688cu; s[6] = 0x1f83d9abu; s[7] = 0x5be0cd19u;
}

/* One compression (FIPS 180-4 section 6.2.2 steps 1-4) of the 16-word block w into s. w is clobbered: it
 * holds the rolling 16-word message schedule. */
void otd_sha256_compress(inout uint s[8], inout uint w[16]) {
    uint a = s[0], b = s[1], c = s[2], d = s[3];
    uint e = s[4], f = s[5], g = s[6], h = s[7];
    [[unroll]] for (uint t = 0u; t < 64u; ++t) {
        uint wt;
        if (t < 16u) {
            wt = w[t];
        } else {
            /* W_t = SSIG1(W_{t-2}) + W_{t-7} + SSIG0(W_{t-15}) + W_{t-16}, kept in a ring of 16. */
            const uint w2 = w[(t - 2u) & 15u];
            const uint w15 = w[(t - 15u) & 15u];
            wt = (otd_rotr(w2, 17u) ^ otd_rotr(w2, 19u) ^ (w2 >> 10)) + w[(t - 7u) & 15u] +
                 (otd_rotr(w15, 7u) ^ otd_rotr(w15, 18u) ^ (w15 >> 3)) + w[t & 15u];
            w[t & 15u] = wt;
        }
        const uint t1 = h + (otd_rotr(e, 6u) ^ otd_rotr(e, 11u) ^ otd_rotr(e, 25u)) + ((e & f) ^ (~e & g)) +
                        otd_sha256_k[t] + wt;
        const uint t2 = (otd_rotr(a, 2u) ^ otd_rotr(a, 13u) ^ otd_rotr(a, 22u)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] += a; s[1] += b; s[2] += c; s[3] += d;
    s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* The 4 bytes of a little-endian word read as a big-endian one and vice versa. */
uint otd_bswap32(uint x) {
    return (x >> 24) | ((x >> 8) & 0x0000ff00u) | ((x << 8) & 0x00ff0000u) | (x << 24);
}

/* Whether a digest (8 big-endian words as SHA-256 emits them, H0 first) meets the share target
 * (params[11..18], little-endian words, word 7 most significant), comparing the digest bytes as a
 * little-endian 256-bit number the way the host does: hash <= target. */
bool otd_meets_target(uint digest[8]) {
    [[unroll]] for (int j = 7; j >= 0; --j) {
        const uint h = otd_bswap32(digest[j]);
        const uint t = params[11 + j];
        if (h < t) return true;
        if (h > t) return false;
    }
    return true;
}

/* Appends a found nonce and its digest to the results: entries past the capacity are counted, not stored,
 * so the host sees the overflow in the counter and searches that range again in smaller dispatches. */
void otd_report(uint nonce, uint digest[8]) {
    const uint slot = atomicAdd(results[0], 1u);
    if (slot < pc.capacity) {
        const uint at = 1u + 9u * slot;
        results[at] = nonce;
        [[unroll]] for (uint i = 0u; i < 8u; ++i) results[at + 1u + i] = digest[i];
    }
}
