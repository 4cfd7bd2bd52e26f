/*
 * scrypt(N = 1024, r = 1, p = 1) proof of work (Litecoin family) over an 80-byte block header: the host's
 * precomputation and the per-nonce hash the kernel runs. SPDX-License-Identifier: MIT
 *
 * Written from RFC 7914 (The scrypt Password-Based Key Derivation Function): section 3 (Salsa20/8 core),
 * 4 (scryptBlockMix), 5 (scryptROMix), 6 (scrypt); PBKDF2 from RFC 8018 section 5.2 with HMAC (RFC 2104)
 * over SHA-256 (sha256.cuh). The proof of work is scrypt(P = header, S = header, N, r, p, dkLen = 32), its
 * bytes compared as a little-endian number; the nonce is header bytes 76..79, little-endian.
 *
 * The HMAC key is the 80-byte header, longer than a block, so the key is SHA-256(header), which starts
 * from the midstate of header bytes 0..63 (computed once per work unit on the host).
 * ROMix's V: 1024 x 32 words per item, `stride` items interleaved: word k of V[j] of item i lives at
 * ((j * 32 + k) * stride + i), so the threads of a warp touch consecutive words.
 */
#ifndef OTEDAMA_KERNELS_CUDA_SCRYPT_CORE_CUH
#define OTEDAMA_KERNELS_CUDA_SCRYPT_CORE_CUH

#include "sha256.cuh"

#define OTD_SCRYPT_N 1024u

struct otd_scrypt_params {
  otd_u32 midstate[8];  /* SHA-256 state after header bytes 0..63 */
  otd_u32 w[3];         /* header bytes 64..75, big-endian words */
  otd_u32 head[16];     /* header bytes 0..63, big-endian words (the salt's first block) */
  otd_u32 target[8];    /* share target, little-endian words, [7] most significant */
};

OTD_HD void otd_scrypt_prepare(const unsigned char* header, const unsigned char* target, otd_scrypt_params* p) {
  otd_u32 w[16];
  for (int i = 0; i < 16; ++i) {
    const unsigned char* b = header + 4 * i;
    p->head[i] = w[i] = (otd_u32(b[0]) << 24) | (otd_u32(b[1]) << 16) | (otd_u32(b[2]) << 8) | otd_u32(b[3]);
  }
  otd_sha256_init(p->midstate);
  otd_sha256_compress(p->midstate, w);
  for (int i = 0; i < 3; ++i) {
    const unsigned char* b = header + 64 + 4 * i;
    p->w[i] = (otd_u32(b[0]) << 24) | (otd_u32(b[1]) << 16) | (otd_u32(b[2]) << 8) | otd_u32(b[3]);
  }
  for (int i = 0; i < 8; ++i) {
    const unsigned char* b = target + 4 * i;
    p->target[i] = otd_u32(b[0]) | (otd_u32(b[1]) << 8) | (otd_u32(b[2]) << 16) | (otd_u32(b[3]) << 24);
  }
}

/* Salsa20/8 core (RFC 7914 section 3) on 16 little-endian words, in place. */
OTD_HD void otd_salsa20_8(otd_u32 b[16]) {
  otd_u32 x[16];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 16; ++i) x[i] = b[i];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int round = 0; round < 8; round += 2) {
#define OTD_R(a, n) (otd_rotr((a), 32u - (n)))
    x[4] ^= OTD_R(x[0] + x[12], 7);   x[8] ^= OTD_R(x[4] + x[0], 9);
    x[12] ^= OTD_R(x[8] + x[4], 13);  x[0] ^= OTD_R(x[12] + x[8], 18);
    x[9] ^= OTD_R(x[5] + x[1], 7);    x[13] ^= OTD_R(x[9] + x[5], 9);
    x[1] ^= OTD_R(x[13] + x[9], 13);  x[5] ^= OTD_R(x[1] + x[13], 18);
    x[14] ^= OTD_R(x[10] + x[6], 7);  x[2] ^= OTD_R(x[14] + x[10], 9);
    x[6] ^= OTD_R(x[2] + x[14], 13);  x[10] ^= OTD_R(x[6] + x[2], 18);
    x[3] ^= OTD_R(x[15] + x[11], 7);  x[7] ^= OTD_R(x[3] + x[15], 9);
    x[11] ^= OTD_R(x[7] + x[3], 13);  x[15] ^= OTD_R(x[11] + x[7], 18);
    x[1] ^= OTD_R(x[0] + x[3], 7);    x[2] ^= OTD_R(x[1] + x[0], 9);
    x[3] ^= OTD_R(x[2] + x[1], 13);   x[0] ^= OTD_R(x[3] + x[2], 18);
    x[6] ^= OTD_R(x[5] + x[4], 7);    x[7] ^= OTD_R(x[6] + x[5], 9);
    x[4] ^= OTD_R(x[7] + x[6], 13);   x[5] ^= OTD_R(x[4] + x[7], 18);
    x[11] ^= OTD_R(x[10] + x[9], 7);  x[8] ^= OTD_R(x[11] + x[10], 9);
    x[9] ^= OTD_R(x[8] + x[11], 13);  x[10] ^= OTD_R(x[9] + x[8], 18);
    x[12] ^= OTD_R(x[15] + x[14], 7); x[13] ^= OTD_R(x[12] + x[15], 9);
    x[14] ^= OTD_R(x[13] + x[12], 13); x[15] ^= OTD_R(x[14] + x[13], 18);
#undef OTD_R
  }
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 16; ++i) b[i] += x[i];
}

/* scryptBlockMix, r = 1 (RFC 7914 section 4), on X = B0 || B1 in place: Y0 = Salsa(B1 ^ B0),
 * Y1 = Salsa(Y0 ^ B1); output Y0 || Y1. */
OTD_HD void otd_blockmix_r1(otd_u32 x[32]) {
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 16; ++i) x[i] ^= x[16 + i];
  otd_salsa20_8(x);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 16; ++i) x[16 + i] ^= x[i];
  otd_salsa20_8(x + 16);
}

/* HMAC-SHA-256 inner and outer states for a 32-byte key (8 big-endian words), RFC 2104 section 2. */
OTD_HD void otd_hmac_states(const otd_u32 key[8], otd_u32 istate[8], otd_u32 ostate[8]) {
  otd_u32 w[16];
  for (int i = 0; i < 8; ++i) w[i] = key[i] ^ 0x36363636u;
  for (int i = 8; i < 16; ++i) w[i] = 0x36363636u;
  otd_sha256_init(istate);
  otd_sha256_compress(istate, w);
  for (int i = 0; i < 8; ++i) w[i] = key[i] ^ 0x5c5c5c5cu;
  for (int i = 8; i < 16; ++i) w[i] = 0x5c5c5c5cu;
  otd_sha256_init(ostate);
  otd_sha256_compress(ostate, w);
}

/* HMAC's outer hash: SHA-256(opad block || 32-byte inner digest), 96 bytes = 768 bits. */
OTD_HD void otd_hmac_finish(const otd_u32 ostate[8], const otd_u32 inner[8], otd_u32 out[8]) {
  otd_u32 w[16];
  for (int i = 0; i < 8; ++i) w[i] = inner[i];
  w[8] = 0x80000000u;
  for (int i = 9; i < 15; ++i) w[i] = 0u;
  w[15] = 768u;
  for (int i = 0; i < 8; ++i) out[i] = ostate[i];
  otd_sha256_compress(out, w);
}

/* scrypt of the header with `nonce`; V is the item's scratchpad base (word 0 of V[0] of this item) with
 * `stride` items interleaved. digest: 8 big-endian words = the hash bytes in order. */
OTD_HD void otd_scrypt_hash(const otd_scrypt_params& p, otd_u32 nonce, otd_u32* V, otd_u32 stride, otd_u32 digest[8]) {
  const otd_u32 wn = otd_bswap32(nonce);
  otd_u32 w[16];
  /* key = SHA-256(header): the midstate, then bytes 64..79 and the padding of an 80-byte message. */
  otd_u32 key[8];
  for (int i = 0; i < 8; ++i) key[i] = p.midstate[i];
  w[0] = p.w[0]; w[1] = p.w[1]; w[2] = p.w[2]; w[3] = wn; w[4] = 0x80000000u;
  for (int i = 5; i < 15; ++i) w[i] = 0u;
  w[15] = 640u;
  otd_sha256_compress(key, w);
  otd_u32 istate[8], ostate[8];
  otd_hmac_states(key, istate, ostate);

  /* B = PBKDF2(P = header, S = header, c = 1, dkLen = 128): four blocks U(i) = HMAC(header || INT(i)).
   * The inner hash absorbs the salt's first 64 bytes once for all four. */
  otd_u32 salted[8];
  for (int i = 0; i < 8; ++i) salted[i] = istate[i];
  for (int i = 0; i < 16; ++i) w[i] = p.head[i];
  otd_sha256_compress(salted, w);
  otd_u32 X[32];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (otd_u32 blk = 1; blk <= 4u; ++blk) {
    otd_u32 inner[8];
    for (int i = 0; i < 8; ++i) inner[i] = salted[i];
    w[0] = p.w[0]; w[1] = p.w[1]; w[2] = p.w[2]; w[3] = wn; w[4] = blk; w[5] = 0x80000000u;
    for (int i = 6; i < 15; ++i) w[i] = 0u;
    w[15] = (64u + 84u) * 8u;
    otd_sha256_compress(inner, w);
    otd_u32 u[8];
    otd_hmac_finish(ostate, inner, u);
    /* scrypt reads B as little-endian words. */
    for (int i = 0; i < 8; ++i) X[8 * (blk - 1) + i] = otd_bswap32(u[i]);
  }

  /* ROMix (RFC 7914 section 5). */
  for (otd_u32 j = 0; j < OTD_SCRYPT_N; ++j) {
    otd_u32* v = V + (size_t)j * 32u * stride;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int k = 0; k < 32; ++k) v[(size_t)k * stride] = X[k];
    otd_blockmix_r1(X);
  }
  for (otd_u32 n = 0; n < OTD_SCRYPT_N; ++n) {
    const otd_u32 j = X[16] & (OTD_SCRYPT_N - 1u);
    const otd_u32* v = V + (size_t)j * 32u * stride;
#ifdef __CUDACC__
#pragma unroll
#endif
    for (int k = 0; k < 32; ++k) X[k] ^= v[(size_t)k * stride];
    otd_blockmix_r1(X);
  }

  /* PBKDF2(P = header, S = B', c = 1, dkLen = 32): inner = SHA-256(ipad || B' || INT(1)). */
  otd_u32 inner[8];
  for (int i = 0; i < 8; ++i) inner[i] = istate[i];
  for (int i = 0; i < 16; ++i) w[i] = otd_bswap32(X[i]);
  otd_sha256_compress(inner, w);
  for (int i = 0; i < 16; ++i) w[i] = otd_bswap32(X[16 + i]);
  otd_sha256_compress(inner, w);
  w[0] = 1u; w[1] = 0x80000000u;
  for (int i = 2; i < 15; ++i) w[i] = 0u;
  w[15] = (64u + 128u + 4u) * 8u;
  otd_sha256_compress(inner, w);
  otd_hmac_finish(ostate, inner, digest);
}

#endif /* OTEDAMA_KERNELS_CUDA_SCRYPT_CORE_CUH */
