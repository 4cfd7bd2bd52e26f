/*
 * scrypt(N = 1024, r = 1, p = 1) proof of work (Litecoin family) over an 80-byte block header, one nonce
 * per work item. SPDX-License-Identifier: MIT
 *
 * Written from RFC 7914 (The scrypt Password-Based Key Derivation Function): section 3 (Salsa20/8 core),
 * 4 (scryptBlockMix), 5 (scryptROMix), 6 (scrypt); PBKDF2 from RFC 8018 section 5.2 with HMAC (RFC 2104)
 * over SHA-256 (FIPS 180-4, sha256.cl). The proof of work is scrypt(P = header, S = header, N, r, p,
 * dkLen = 32), hash bytes compared as a little-endian number, nonce = header bytes 76..79 little-endian.
 *
 * Inputs (as for sha256d.cl):
 *   params[0..7]   SHA-256 midstate of header bytes 0..63 (the header is the HMAC key, longer than a block,
 *                  so the key is SHA-256(header), which starts from this midstate)
 *   params[8..10]  header bytes 64..75 as big-endian words
 *   params[11..18] share target, 8 little-endian words
 *   params[19..34] header bytes 0..63 as big-endian words (the PBKDF2 salt's first block)
 *   scratch        ROMix's V: 1024 x 128 bytes per work item, `stride` work items interleaved (word k of
 *                  V[j] for item i at ((j * 32 + k) * stride + i)), so neighbouring items touch neighbouring
 *                  words. stride >= the launch's global size.
 * Requires sha256.cl.
 */

#define OTD_SCRYPT_N 1024u

/* Salsa20/8 core (RFC 7914 section 3) on 16 little-endian words, in place: 4 double rounds, then the
 * input added back. */
inline void otd_salsa20_8(uint b[16]) {
    uint x[16];
    for (uint i = 0; i < 16u; ++i) x[i] = b[i];
    for (uint round = 0; round < 8u; round += 2u) {
        /* Column round. */
        x[4] ^= rotate(x[0] + x[12], 7u);   x[8] ^= rotate(x[4] + x[0], 9u);
        x[12] ^= rotate(x[8] + x[4], 13u);  x[0] ^= rotate(x[12] + x[8], 18u);
        x[9] ^= rotate(x[5] + x[1], 7u);    x[13] ^= rotate(x[9] + x[5], 9u);
        x[1] ^= rotate(x[13] + x[9], 13u);  x[5] ^= rotate(x[1] + x[13], 18u);
        x[14] ^= rotate(x[10] + x[6], 7u);  x[2] ^= rotate(x[14] + x[10], 9u);
        x[6] ^= rotate(x[2] + x[14], 13u);  x[10] ^= rotate(x[6] + x[2], 18u);
        x[3] ^= rotate(x[15] + x[11], 7u);  x[7] ^= rotate(x[3] + x[15], 9u);
        x[11] ^= rotate(x[7] + x[3], 13u);  x[15] ^= rotate(x[11] + x[7], 18u);
        /* Row round. */
        x[1] ^= rotate(x[0] + x[3], 7u);    x[2] ^= rotate(x[1] + x[0], 9u);
        x[3] ^= rotate(x[2] + x[1], 13u);   x[0] ^= rotate(x[3] + x[2], 18u);
        x[6] ^= rotate(x[5] + x[4], 7u);    x[7] ^= rotate(x[6] + x[5], 9u);
        x[4] ^= rotate(x[7] + x[6], 13u);   x[5] ^= rotate(x[4] + x[7], 18u);
        x[11] ^= rotate(x[10] + x[9], 7u);  x[8] ^= rotate(x[11] + x[10], 9u);
        x[9] ^= rotate(x[8] + x[11], 13u);  x[10] ^= rotate(x[9] + x[8], 18u);
        x[12] ^= rotate(x[15] + x[14], 7u); x[13] ^= rotate(x[12] + x[15], 9u);
        x[14] ^= rotate(x[13] + x[12], 13u); x[15] ^= rotate(x[14] + x[13], 18u);
    }
    for (uint i = 0; i < 16u; ++i) b[i] += x[i];
}

/* scryptBlockMix with r = 1 (RFC 7914 section 4) on X = B0 || B1 (32 words), in place:
 * Y0 = Salsa(B1 ^ B0), Y1 = Salsa(Y0 ^ B1), output Y0 || Y1. */
inline void otd_blockmix_r1(uint x[32]) {
    for (uint i = 0; i < 16u; ++i) x[i] ^= x[16u + i];
    otd_salsa20_8(x);
    for (uint i = 0; i < 16u; ++i) x[16u + i] ^= x[i];
    otd_salsa20_8(x + 16);
}

/* HMAC-SHA-256 inner and outer states for a 32-byte key (8 big-endian words): the key padded with zeros
 * to one block, XORed with ipad (0x36) and opad (0x5c), each compressed once (RFC 2104 section 2). */
inline void otd_hmac_states(const uint key[8], uint istate[8], uint ostate[8]) {
    uint w[16];
    for (uint i = 0; i < 8u; ++i) w[i] = key[i] ^ 0x36363636u;
    for (uint i = 8; i < 16u; ++i) w[i] = 0x36363636u;
    otd_sha256_init(istate);
    otd_sha256_compress(istate, w);
    for (uint i = 0; i < 8u; ++i) w[i] = key[i] ^ 0x5c5c5c5cu;
    for (uint i = 8; i < 16u; ++i) w[i] = 0x5c5c5c5cu;
    otd_sha256_init(ostate);
    otd_sha256_compress(ostate, w);
}

/* The outer hash of HMAC: SHA-256(opad-block || inner digest), 64 + 32 bytes = 768 bits. */
inline void otd_hmac_finish(const uint ostate[8], const uint inner[8], uint out[8]) {
    uint w[16];
    for (uint i = 0; i < 8u; ++i) w[i] = inner[i];
    w[8] = 0x80000000u;
    for (uint i = 9; i < 15u; ++i) w[i] = 0;
    w[15] = 768u;
    for (uint i = 0; i < 8u; ++i) out[i] = ostate[i];
    otd_sha256_compress(out, w);
}

__kernel void otd_scrypt_scan(__global const uint* params, const uint nonce_base, const uint count,
                              __global uint* results, const uint capacity, __global uint4* scratch,
                              const uint stride) {
    const uint gid = (uint)get_global_id(0);
    if (gid >= count) return;
    const uint nonce = nonce_base + gid;
    const uint nonce_be = otd_bswap32(nonce);
    uint w[16];

    /* The HMAC key: SHA-256(header), from the midstate of bytes 0..63, then bytes 64..79 and the padding
     * of an 80-byte message. */
    uint key[8];
    for (uint i = 0; i < 8u; ++i) key[i] = params[i];
    w[0] = params[8]; w[1] = params[9]; w[2] = params[10]; w[3] = nonce_be;
    w[4] = 0x80000000u;
    for (uint i = 5; i < 15u; ++i) w[i] = 0;
    w[15] = 640u;
    otd_sha256_compress(key, w);
    uint istate[8], ostate[8];
    otd_hmac_states(key, istate, ostate);

    /* PBKDF2-HMAC-SHA-256(P = header, S = header, c = 1, dkLen = 128) = T1 || T2 || T3 || T4 with
     * T_i = HMAC(header || INT(i)). The inner hash's first block after the key block is header bytes 0..63,
     * the same for every i. */
    uint salted[8];
    for (uint i = 0; i < 8u; ++i) salted[i] = istate[i];
    for (uint i = 0; i < 16u; ++i) w[i] = params[19u + i];
    otd_sha256_compress(salted, w);
    uint x[32];
    for (uint block = 1; block <= 4u; ++block) {
        uint inner[8];
        for (uint i = 0; i < 8u; ++i) inner[i] = salted[i];
        /* Header bytes 64..79, INT(i) (big-endian), padding; message length 64 + 80 + 4 bytes = 1184 bits. */
        w[0] = params[8]; w[1] = params[9]; w[2] = params[10]; w[3] = nonce_be;
        w[4] = block;
        w[5] = 0x80000000u;
        for (uint i = 6; i < 15u; ++i) w[i] = 0;
        w[15] = 1184u;
        otd_sha256_compress(inner, w);
        uint t[8];
        otd_hmac_finish(ostate, inner, t);
        /* scrypt reads B as little-endian words; the digest words are big-endian. */
        for (uint i = 0; i < 8u; ++i) x[(block - 1u) * 8u + i] = otd_bswap32(t[i]);
    }

    /* scryptROMix (RFC 7914 section 5): V_j = X, X = BlockMix(X) for j < N; then N times
     * j = Integerify(X) mod N (the first word of the last 64-byte block: X[16] for r = 1),
     * X = BlockMix(X ^ V_j). */
    for (uint j = 0; j < OTD_SCRYPT_N; ++j) {
        __global uint4* v = scratch + (size_t)j * 8u * stride + gid;
        for (uint k = 0; k < 8u; ++k) {
            v[(size_t)k * stride] = (uint4)(x[4u * k], x[4u * k + 1u], x[4u * k + 2u], x[4u * k + 3u]);
        }
        otd_blockmix_r1(x);
    }
    for (uint n = 0; n < OTD_SCRYPT_N; ++n) {
        const uint j = x[16] & (OTD_SCRYPT_N - 1u);
        __global const uint4* v = scratch + (size_t)j * 8u * stride + gid;
        for (uint k = 0; k < 8u; ++k) {
            const uint4 q = v[(size_t)k * stride];
            x[4u * k] ^= q.x; x[4u * k + 1u] ^= q.y; x[4u * k + 2u] ^= q.z; x[4u * k + 3u] ^= q.w;
        }
        otd_blockmix_r1(x);
    }

    /* PBKDF2-HMAC-SHA-256(P = header, S = B', c = 1, dkLen = 32): the inner hash over B' (128 bytes, two
     * blocks, big-endian words of the little-endian X), then INT(1) and the padding of 64 + 128 + 4 bytes
     * = 1568 bits. */
    uint inner[8];
    for (uint i = 0; i < 8u; ++i) inner[i] = istate[i];
    for (uint part = 0; part < 2u; ++part) {
        for (uint i = 0; i < 16u; ++i) w[i] = otd_bswap32(x[part * 16u + i]);
        otd_sha256_compress(inner, w);
    }
    w[0] = 1u;
    w[1] = 0x80000000u;
    for (uint i = 2; i < 15u; ++i) w[i] = 0;
    w[15] = 1568u;
    otd_sha256_compress(inner, w);
    uint digest[8];
    otd_hmac_finish(ostate, inner, digest);

    if (otd_meets_target(digest, params + 11)) otd_report(results, capacity, nonce, digest);
}
