/*
 * SHA256d (Bitcoin's proof of work) over an 80-byte block header: the host's precomputation and the
 * per-nonce hash the kernel runs. SPDX-License-Identifier: MIT
 *
 * hash = SHA-256(SHA-256(header)) (FIPS 180-4); the nonce is header bytes 76..79, little-endian, i.e.
 * message word 3 of the first hash's second block is bswap(nonce). What does not depend on the nonce is
 * computed once per work unit on the host (otd_sha256d_prepare):
 *   - the midstate: the compression of header bytes 0..63;
 *   - rounds 0..2 of the second block (their words, header bytes 64..75, are fixed) and everything of
 *     round 3 except its word (the nonce);
 *   - schedule words 16 and 17 (they read words 0, 1, 2, 9, 10, 14, 15 only), and the nonce-free parts of
 *     words 18 (ssig1(W16) + W11 + W2) and 19 (ssig1(W17) + W12 + ssig0(W4) ).
 * The second hash hashes the 32-byte digest; its words 8..15 are the fixed padding. Its result word 7 is
 * the most significant word of the hash read as a little-endian number, and it is final after round 60
 * (rounds 61..63 only move it from e to h): the kernel tests it against the target's high word there and
 * stops early for the ~all nonces that fail, finishing the rounds only for candidates.
 */
#ifndef OTEDAMA_KERNELS_CUDA_SHA256D_CORE_CUH
#define OTEDAMA_KERNELS_CUDA_SHA256D_CORE_CUH

#include "sha256.cuh"

/* Kernel parameter block (passed by value; 36 words). */
struct otd_sha256d_params {
  otd_u32 midstate[8];  /* state after header bytes 0..63 (the second block's chaining value) */
  otd_u32 pre[8];       /* working variables a..h after rounds 0..2 of the second block */
  otd_u32 t1_round3;    /* round 3's T1 without its message word */
  otd_u32 w[3];         /* header bytes 64..75 as big-endian words */
  otd_u32 w16, w17;     /* schedule words 16, 17 */
  otd_u32 w18_part;     /* W18 - ssig0(W3) */
  otd_u32 w19_part;     /* W19 - W3 */
  otd_u32 target[8];    /* share target, little-endian words, [7] most significant */
};

/* Fills p from the 80-byte header (its nonce bytes are ignored) and the 32-byte little-endian target. */
OTD_HD void otd_sha256d_prepare(const unsigned char* header, const unsigned char* target, otd_sha256d_params* p) {
  otd_u32 w[16];
  for (int i = 0; i < 16; ++i) {
    const unsigned char* b = header + 4 * i;
    w[i] = (otd_u32(b[0]) << 24) | (otd_u32(b[1]) << 16) | (otd_u32(b[2]) << 8) | otd_u32(b[3]);
  }
  otd_sha256_init(p->midstate);
  otd_sha256_compress(p->midstate, w);
  for (int i = 0; i < 3; ++i) {
    const unsigned char* b = header + 64 + 4 * i;
    p->w[i] = (otd_u32(b[0]) << 24) | (otd_u32(b[1]) << 16) | (otd_u32(b[2]) << 8) | otd_u32(b[3]);
  }
  otd_u32 v[8];
  for (int i = 0; i < 8; ++i) v[i] = p->midstate[i];
  for (unsigned t = 0; t < 3u; ++t) otd_sha256_round(v, t, p->w[t]);
  for (int i = 0; i < 8; ++i) p->pre[i] = v[i];
  p->t1_round3 = v[7] + otd_bsig1(v[4]) + otd_ch(v[4], v[5], v[6]) + otd_sha256_k(3);
  /* Second block: W0..W2 header, W3 nonce, W4 = 0x80000000, W5..W14 = 0, W15 = 640 (80 bytes in bits). */
  p->w16 = otd_ssig1(0u) + 0u + otd_ssig0(p->w[1]) + p->w[0];
  p->w17 = otd_ssig1(640u) + 0u + otd_ssig0(p->w[2]) + p->w[1];
  p->w18_part = otd_ssig1(p->w16) + 0u + p->w[2];
  p->w19_part = otd_ssig1(p->w17) + 0u + otd_ssig0(0x80000000u);
  for (int i = 0; i < 8; ++i) {
    const unsigned char* b = target + 4 * i;
    p->target[i] = otd_u32(b[0]) | (otd_u32(b[1]) << 8) | (otd_u32(b[2]) << 16) | (otd_u32(b[3]) << 24);
  }
}

/* SHA256d of the header with `nonce`, from the precomputation. Returns whether it meets p->target; the
 * digest (8 big-endian words = the hash bytes) is complete in `digest` only when it returns true, or when
 * `full` is set (the host-side check asks for every digest). */
OTD_HD bool otd_sha256d_try(const otd_sha256d_params& p, otd_u32 nonce, otd_u32 digest[8], bool full) {
  const otd_u32 w3 = otd_bswap32(nonce);
  otd_u32 v[8];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 8; ++i) v[i] = p.pre[i];
  {
    /* Round 3 from its precomputed T1. */
    const otd_u32 t1 = p.t1_round3 + w3;
    const otd_u32 t2 = otd_bsig0(v[0]) + otd_maj(v[0], v[1], v[2]);
    v[7] = v[6]; v[6] = v[5]; v[5] = v[4]; v[4] = v[3] + t1;
    v[3] = v[2]; v[2] = v[1]; v[1] = v[0]; v[0] = t1 + t2;
  }
  otd_u32 w[16];
  w[0] = p.w[0]; w[1] = p.w[1]; w[2] = p.w[2]; w[3] = w3;
  w[4] = 0x80000000u;
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 5; i < 15; ++i) w[i] = 0u;
  w[15] = 640u;
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned t = 4; t < 16u; ++t) otd_sha256_round(v, t, w[t]);
  w[0] = p.w16; otd_sha256_round(v, 16, w[0]);
  w[1] = p.w17; otd_sha256_round(v, 17, w[1]);
  w[2] = p.w18_part + otd_ssig0(w3); otd_sha256_round(v, 18, w[2]);
  w[3] = p.w19_part + w3; otd_sha256_round(v, 19, w[3]);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned t = 20; t < 64u; ++t) otd_sha256_round(v, t, otd_sha256_schedule(w, t));

  /* Second hash: the first digest, then the padding of a 256-bit message, from H(0). */
  otd_u32 x[16];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 8; ++i) x[i] = p.midstate[i] + v[i];
  x[8] = 0x80000000u;
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 9; i < 15; ++i) x[i] = 0u;
  x[15] = 256u;
  otd_u32 s[8];
  otd_sha256_init(s);
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 8; ++i) v[i] = s[i];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned t = 0; t < 61u; ++t) otd_sha256_round(v, t, t < 16u ? x[t] : otd_sha256_schedule(x, t));
  /* v[4] (e) now is what h will be after round 63: the final digest word 7 less H(0)[7]. */
  const otd_u32 high = otd_bswap32(v[4] + 0x5be0cd19u);
  if (!full && high > p.target[7]) return false;
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned t = 61; t < 64u; ++t) otd_sha256_round(v, t, otd_sha256_schedule(x, t));
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 0; i < 8; ++i) digest[i] = s[i] + v[i];
  return otd_meets_target(digest, p.target);
}

#endif /* OTEDAMA_KERNELS_CUDA_SHA256D_CORE_CUH */
