/*
 * SHA-256 for the CUDA kernels, usable on the host too. SPDX-License-Identifier: MIT
 *
 * Written from FIPS 180-4 (Secure Hash Standard): section 4.1.2 (functions), 4.2.2 (constants), 5.3.3
 * (initial value), 6.2.2 (compression). Every function is __host__ __device__ so that the kernels'
 * arithmetic is the very code the host-side tests run on the CPU (tests/plugins/backend/cuda), where no
 * GPU is present. Compiled by nvcc for the kernels and by the host C++ compiler for the plugin and tests.
 */
#ifndef OTEDAMA_KERNELS_CUDA_SHA256_CUH
#define OTEDAMA_KERNELS_CUDA_SHA256_CUH

#ifdef __CUDACC__
#define OTD_HD __host__ __device__ __forceinline__
#define OTD_CONST_TABLE __device__ __constant__
#else
#include <cstdint>
#define OTD_HD inline
#define OTD_CONST_TABLE inline constexpr
#endif

#ifdef __CUDACC__
typedef unsigned int otd_u32;
#else
typedef std::uint32_t otd_u32;
#endif

OTD_HD otd_u32 otd_rotr(otd_u32 x, unsigned n) {
#ifdef __CUDA_ARCH__
  return __funnelshift_r(x, x, n);
#else
  return (x >> n) | (x << ((32u - n) & 31u));
#endif
}

OTD_HD otd_u32 otd_bswap32(otd_u32 x) {
#ifdef __CUDA_ARCH__
  return __byte_perm(x, 0u, 0x0123u);
#else
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
#endif
}

OTD_HD otd_u32 otd_ch(otd_u32 x, otd_u32 y, otd_u32 z) { return (x & y) ^ (~x & z); }
OTD_HD otd_u32 otd_maj(otd_u32 x, otd_u32 y, otd_u32 z) { return (x & y) ^ (x & z) ^ (y & z); }
OTD_HD otd_u32 otd_bsig0(otd_u32 x) { return otd_rotr(x, 2) ^ otd_rotr(x, 13) ^ otd_rotr(x, 22); }
OTD_HD otd_u32 otd_bsig1(otd_u32 x) { return otd_rotr(x, 6) ^ otd_rotr(x, 11) ^ otd_rotr(x, 25); }
OTD_HD otd_u32 otd_ssig0(otd_u32 x) { return otd_rotr(x, 7) ^ otd_rotr(x, 18) ^ (x >> 3); }
OTD_HD otd_u32 otd_ssig1(otd_u32 x) { return otd_rotr(x, 17) ^ otd_rotr(x, 19) ^ (x >> 10); }

/* K (FIPS 180-4 section 4.2.2). A function rather than a table so that, fully unrolled, every constant is
 * an immediate on the device and no constant-memory load is needed. */
OTD_HD otd_u32 otd_sha256_k(unsigned t) {
  switch (t) {
    case 0: return 0x428a2f98u; case 1: return 0x71374491u; case 2: return 0xb5c0fbcfu; case 3: return 0xe9b5dba5u;
    case 4: return 0x3956c25bu; case 5: return 0x59f111f1u; case 6: return 0x923f82a4u; case 7: return 0xab1c5ed5u;
    case 8: return 0xd807aa98u; case 9: return 0x12835b01u; case 10: return 0x243185beu; case 11: return 0x550c7dc3u;
    case 12: return 0x72be5d74u; case 13: return 0x80deb1feu; case 14: return 0x9bdc06a7u; case 15: return 0xc19bf174u;
    case 16: return 0xe49b69c1u; case 17: return 0xefbe4786u; case 18: return 0x0fc19dc6u; case 19: return 0x240ca1ccu;
    case 20: return 0x2de92c6fu; case 21: return 0x4a7484aau; case 22: return 0x5cb0a9dcu; case 23: return 0x76f988dau;
    case 24: return 0x983e5152u; case 25: return 0xa831c66du; case 26: return 0xb00327c8u; case 27: return 0xbf597fc7u;
    case 28: return 0xc6e00bf3u; case 29: return 0xd5a79147u; case 30: return 0x06ca6351u; case 31: return 0x14292967u;
    case 32: return 0x27b70a85u; case 33: return 0x2e1b2138u; case 34: return 0x4d2c6dfcu; case 35: return 0x53380d13u;
    case 36: return 0x650a7354u; case 37: return 0x766a0abbu; case 38: return 0x81c2c92eu; case 39: return 0x92722c85u;
    case 40: return 0xa2bfe8a1u; case 41: return 0xa81a664bu; case 42: return 0xc24b8b70u; case 43: return 0xc76c51a3u;
    case 44: return 0xd192e819u; case 45: return 0xd6990624u; case 46: return 0xf40e3585u; case 47: return 0x106aa070u;
    case 48: return 0x19a4c116u; case 49: return 0x1e376c08u; case 50: return 0x2748774cu; case 51: return 0x34b0bcb5u;
    case 52: return 0x391c0cb3u; case 53: return 0x4ed8aa4au; case 54: return 0x5b9cca4fu; case 55: return 0x682e6ff3u;
    case 56: return 0x748f82eeu; case 57: return 0x78a5636fu; case 58: return 0x84c87814u; case 59: return 0x8cc70208u;
    case 60: return 0x90befffau; case 61: return 0xa4506cebu; case 62: return 0xbef9a3f7u; default: return 0xc67178f2u;
  }
}

/* Initial hash value H(0) (FIPS 180-4 section 5.3.3). */
OTD_HD void otd_sha256_init(otd_u32 s[8]) {
  s[0] = 0x6a09e667u; s[1] = 0xbb67ae85u; s[2] = 0x3c6ef372u; s[3] = 0xa54ff53au;
  s[4] = 0x510e527fu; s[5] = 0x9b05688cu; s[6] = 0x1f83d9abu; s[7] = 0x5be0cd19u;
}

/* One round t on the working variables v[0..7] = a..h with schedule word w (FIPS 180-4 6.2.2 step 3). */
OTD_HD void otd_sha256_round(otd_u32 v[8], unsigned t, otd_u32 w) {
  const otd_u32 t1 = v[7] + otd_bsig1(v[4]) + otd_ch(v[4], v[5], v[6]) + otd_sha256_k(t) + w;
  const otd_u32 t2 = otd_bsig0(v[0]) + otd_maj(v[0], v[1], v[2]);
  v[7] = v[6]; v[6] = v[5]; v[5] = v[4]; v[4] = v[3] + t1;
  v[3] = v[2]; v[2] = v[1]; v[1] = v[0]; v[0] = t1 + t2;
}

/* Schedule word t >= 16 from the rolling 16-word window w (index t mod 16), in place. */
OTD_HD otd_u32 otd_sha256_schedule(otd_u32 w[16], unsigned t) {
  const otd_u32 x = otd_ssig1(w[(t - 2) & 15u]) + w[(t - 7) & 15u] + otd_ssig0(w[(t - 15) & 15u]) + w[t & 15u];
  w[t & 15u] = x;
  return x;
}

/* The compression function: state s[8] absorbs the 16 big-endian message words w (overwritten). */
OTD_HD void otd_sha256_compress(otd_u32 s[8], otd_u32 w[16]) {
  otd_u32 v[8];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned i = 0; i < 8u; ++i) v[i] = s[i];
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned t = 0; t < 64u; ++t) otd_sha256_round(v, t, t < 16u ? w[t] : otd_sha256_schedule(w, t));
#ifdef __CUDACC__
#pragma unroll
#endif
  for (unsigned i = 0; i < 8u; ++i) s[i] += v[i];
}

/* Whether a digest (8 big-endian state words, i.e. the hash bytes in order), read as a little-endian
 * 256-bit number as the host compares hashes, is <= target (8 little-endian words, word 7 most
 * significant). */
OTD_HD bool otd_meets_target(const otd_u32 digest[8], const otd_u32 target[8]) {
#ifdef __CUDACC__
#pragma unroll
#endif
  for (int i = 7; i >= 0; --i) {
    const otd_u32 h = otd_bswap32(digest[i]);
    if (h < target[i]) return true;
    if (h > target[i]) return false;
  }
  return true;
}

#ifdef __CUDACC__
/* Appends a found nonce and its digest to results: [0] counter, then entries of 1 + 8 words. The counter
 * keeps counting past capacity so the host knows the launch overflowed. */
__device__ __forceinline__ void otd_report(otd_u32* results, otd_u32 capacity, otd_u32 nonce, const otd_u32 digest[8]) {
  const otd_u32 slot = atomicAdd(results, 1u);
  if (slot < capacity) {
    otd_u32* e = results + 1 + 9u * slot;
    e[0] = nonce;
#pragma unroll
    for (int i = 0; i < 8; ++i) e[1 + i] = digest[i];
  }
}
#endif

#endif /* OTEDAMA_KERNELS_CUDA_SHA256_CUH */
