/*
 * SHA-256 compression for the Otedama OpenCL kernels. SPDX-License-Identifier: MIT
 *
 * Written from FIPS 180-4 (Secure Hash Standard), sections 4.1.2 (functions), 4.2.2 (constants K),
 * 5.3.3 (initial hash value) and 6.2.2 (the hash computation). Words are host integers; a message block
 * is 16 big-endian words, as FIPS 180-4 reads the bytes. The backend prepends this file to sha256d.cl and
 * scrypt.cl when it builds a program.
 */

#define OTD_ROTR(x, n) rotate((uint)(x), (uint)(32u - (n)))
#define OTD_CH(x, y, z) bitselect((z), (y), (x))
#define OTD_MAJ(x, y, z) bitselect((x), (y), (z) ^ (x))
#define OTD_BSIG0(x) (OTD_ROTR(x, 2u) ^ OTD_ROTR(x, 13u) ^ OTD_ROTR(x, 22u))
#define OTD_BSIG1(x) (OTD_ROTR(x, 6u) ^ OTD_ROTR(x, 11u) ^ OTD_ROTR(x, 25u))
#define OTD_SSIG0(x) (OTD_ROTR(x, 7u) ^ OTD_ROTR(x, 18u) ^ ((x) >> 3))
#define OTD_SSIG1(x) (OTD_ROTR(x, 17u) ^ OTD_ROTR(x, 19u) ^ ((x) >> 10))

__constant uint otd_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

/* FIPS 180-4 section 5.3.3. */
inline void otd_sha256_init(uint state[8]) {
    state[0] = 0x6a09e667u; state[1] = 0xbb67ae85u; state[2] = 0x3c6ef372u; state[3] = 0xa54ff53au;
    state[4] = 0x510e527fu; state[5] = 0x9b05688cu; state[6] = 0x1f83d9abu; state[7] = 0x5be0cd19u;
}

/* One compression (FIPS 180-4 section 6.2.2 steps 1-4) of the 16-word block w into state. w is clobbered:
 * it holds the rolling 16-word message schedule. */
inline void otd_sha256_compress(uint state[8], uint w[16]) {
    uint a = state[0], b = state[1], c = state[2], d = state[3];
    uint e = state[4], f = state[5], g = state[6], h = state[7];
    for (uint t = 0; t < 64u; ++t) {
        uint wt;
        if (t < 16u) {
            wt = w[t];
        } else {
            /* W_t = SSIG1(W_{t-2}) + W_{t-7} + SSIG0(W_{t-15}) + W_{t-16}, kept in a ring of 16. */
            wt = OTD_SSIG1(w[(t - 2u) & 15u]) + w[(t - 7u) & 15u] + OTD_SSIG0(w[(t - 15u) & 15u]) + w[t & 15u];
            w[t & 15u] = wt;
        }
        const uint t1 = h + OTD_BSIG1(e) + OTD_CH(e, f, g) + otd_sha256_k[t] + wt;
        const uint t2 = OTD_BSIG0(a) + OTD_MAJ(a, b, c);
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

/* The 4 bytes at a little-endian position read as a big-endian word and vice versa. */
inline uint otd_bswap32(uint x) {
    return (x >> 24) | ((x >> 8) & 0x0000ff00u) | ((x << 8) & 0x00ff0000u) | (x << 24);
}

/* Whether a digest (8 big-endian words as SHA-256 emits them, H0 first) meets a 256-bit target given as 8
 * little-endian words (word 7 most significant), comparing the digest bytes as a little-endian number the
 * way the host does: hash <= target. */
inline bool otd_meets_target(const uint digest[8], __global const uint* target) {
    for (int j = 7; j >= 0; --j) {
        const uint h = otd_bswap32(digest[j]);
        const uint t = target[j];
        if (h < t) return true;
        if (h > t) return false;
    }
    return true;
}

/* Appends a found nonce and its digest to the result buffer: results[0] is the counter; entry i (from 0)
 * is results[1 + 9 i] = nonce, then the 8 digest words. Entries past `capacity` are counted, not stored:
 * the host sees the overflow in the counter and searches that range again in smaller launches. */
inline void otd_report(__global uint* results, uint capacity, uint nonce, const uint digest[8]) {
    const uint slot = atomic_inc(&results[0]);
    if (slot < capacity) {
        __global uint* entry = results + 1u + 9u * slot;
        entry[0] = nonce;
        for (uint i = 0; i < 8u; ++i) entry[1u + i] = digest[i];
    }
}
