/*
 * Keccak permutations for the Ethash-family compute shaders (ethash.comp, ethash_dag.comp, KawPow's period
 * shader). SPDX-License-Identifier: MIT
 *
 * Keccak-f[1600] (24 rounds, 64-bit lanes) and Keccak-f[800] (22 rounds, 32-bit lanes, the round constants
 * truncated to their low 32 bits), as "The Keccak reference" version 3.0 (Bertoni, Daemen, Peeters,
 * Van Assche, 2011) section 1.2 defines them: theta, rho and pi walked over the one 24-lane cycle of pi,
 * chi, iota; lane (x, y) at index x + 5y. Ethash hashes with the original Keccak padding (0x01 ... 0x80),
 * not SHA-3's. Written from the specification; lib/otedama/common/keccak.cpp is the CPU twin the tests
 * compare against.
 *
 * 64-bit lanes are uvec2 (x = low word, y = high word): core Vulkan does not promise shaderInt64, and the
 * 32-bit halves are what GPUs compute with anyway. No #version here: the static shaders include this file
 * and the backend puts it into KawPow's period shader at run time.
 */

const uvec2 otd_keccak_rc[24] = uvec2[24](
    uvec2(0x00000001u, 0x00000000u), uvec2(0x00008082u, 0x00000000u), uvec2(0x0000808au, 0x80000000u),
    uvec2(0x80008000u, 0x80000000u), uvec2(0x0000808bu, 0x00000000u), uvec2(0x80000001u, 0x00000000u),
    uvec2(0x80008081u, 0x80000000u), uvec2(0x00008009u, 0x80000000u), uvec2(0x0000008au, 0x00000000u),
    uvec2(0x00000088u, 0x00000000u), uvec2(0x80008009u, 0x00000000u), uvec2(0x8000000au, 0x00000000u),
    uvec2(0x8000808bu, 0x00000000u), uvec2(0x0000008bu, 0x80000000u), uvec2(0x00008089u, 0x80000000u),
    uvec2(0x00008003u, 0x80000000u), uvec2(0x00008002u, 0x80000000u), uvec2(0x00000080u, 0x80000000u),
    uvec2(0x0000800au, 0x00000000u), uvec2(0x8000000au, 0x80000000u), uvec2(0x80008081u, 0x80000000u),
    uvec2(0x00008080u, 0x80000000u), uvec2(0x80000001u, 0x00000000u), uvec2(0x80008008u, 0x80000000u));
/* pi's cycle through the 24 lanes other than (0, 0), starting after lane 1, and the rho offset of each. */
const uint otd_keccak_pi[24] = uint[24](10u, 7u, 11u, 17u, 18u, 3u, 5u, 16u, 8u, 21u, 24u, 4u, 15u, 23u, 19u, 13u, 12u, 2u,
                                        20u, 14u, 22u, 9u, 6u, 1u);
const uint otd_keccak_rho[24] = uint[24](1u, 3u, 6u, 10u, 15u, 21u, 28u, 36u, 45u, 55u, 2u, 14u, 27u, 41u, 56u, 8u, 25u,
                                         43u, 62u, 18u, 39u, 61u, 20u, 44u);

/* 64-bit rotation left by n (0 < n < 64) of (low, high). */
uvec2 otd_rotl64(uvec2 v, uint n) {
    if (n >= 32u) {
        v = v.yx;
        n -= 32u;
    }
    if (n == 0u) return v;
    return uvec2((v.x << n) | (v.y >> (32u - n)), (v.y << n) | (v.x >> (32u - n)));
}

uint otd_rotl32(uint x, uint n) {
    n &= 31u;
    return (x << n) | (x >> ((32u - n) & 31u));
}

uint otd_bswap32(uint x) {
    return (x >> 24) | ((x >> 8) & 0x0000ff00u) | ((x << 8) & 0x00ff0000u) | (x << 24);
}

void otd_keccak_f1600(inout uvec2 a[25]) {
    for (uint round = 0u; round < 24u; ++round) {
        uvec2 c[5];
        [[unroll]] for (uint x = 0u; x < 5u; ++x) c[x] = a[x] ^ a[x + 5u] ^ a[x + 10u] ^ a[x + 15u] ^ a[x + 20u];
        [[unroll]] for (uint x = 0u; x < 5u; ++x) {
            const uvec2 d = c[(x + 4u) % 5u] ^ otd_rotl64(c[(x + 1u) % 5u], 1u);
            [[unroll]] for (uint y = 0u; y < 25u; y += 5u) a[y + x] ^= d;
        }
        uvec2 carry = a[1];
        [[unroll]] for (uint i = 0u; i < 24u; ++i) {
            const uint j = otd_keccak_pi[i];
            const uvec2 next = a[j];
            a[j] = otd_rotl64(carry, otd_keccak_rho[i]);
            carry = next;
        }
        [[unroll]] for (uint y = 0u; y < 25u; y += 5u) {
            [[unroll]] for (uint x = 0u; x < 5u; ++x) c[x] = a[y + x];
            [[unroll]] for (uint x = 0u; x < 5u; ++x) a[y + x] = c[x] ^ (~c[(x + 1u) % 5u] & c[(x + 2u) % 5u]);
        }
        a[0] ^= otd_keccak_rc[round];
    }
}

void otd_keccak_f800(inout uint a[25]) {
    for (uint round = 0u; round < 22u; ++round) {
        uint c[5];
        [[unroll]] for (uint x = 0u; x < 5u; ++x) c[x] = a[x] ^ a[x + 5u] ^ a[x + 10u] ^ a[x + 15u] ^ a[x + 20u];
        [[unroll]] for (uint x = 0u; x < 5u; ++x) {
            const uint d = c[(x + 4u) % 5u] ^ otd_rotl32(c[(x + 1u) % 5u], 1u);
            [[unroll]] for (uint y = 0u; y < 25u; y += 5u) a[y + x] ^= d;
        }
        uint carry = a[1];
        [[unroll]] for (uint i = 0u; i < 24u; ++i) {
            const uint j = otd_keccak_pi[i];
            const uint next = a[j];
            a[j] = otd_rotl32(carry, otd_keccak_rho[i] & 31u);
            carry = next;
        }
        [[unroll]] for (uint y = 0u; y < 25u; y += 5u) {
            [[unroll]] for (uint x = 0u; x < 5u; ++x) c[x] = a[y + x];
            [[unroll]] for (uint x = 0u; x < 5u; ++x) a[y + x] = c[x] ^ (~c[(x + 1u) % 5u] & c[(x + 2u) % 5u]);
        }
        a[0] ^= otd_keccak_rc[round].x;
    }
}

/* Keccak-512 (rate 72 bytes) of 64 bytes given as 16 little-endian words, in place. */
void otd_keccak512_64(inout uint w[16]) {
    uvec2 a[25];
    [[unroll]] for (uint i = 0u; i < 8u; ++i) a[i] = uvec2(w[2u * i], w[2u * i + 1u]);
    a[8] = uvec2(0x00000001u, 0x80000000u); /* pad10*1 of a 64-byte message: 0x01 at byte 64, 0x80 at byte 71 */
    [[unroll]] for (uint i = 9u; i < 25u; ++i) a[i] = uvec2(0u);
    otd_keccak_f1600(a);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
        w[2u * i] = a[i].x;
        w[2u * i + 1u] = a[i].y;
    }
}
