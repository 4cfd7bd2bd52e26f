/*
 * Keccak permutations for the Ethash-family CUDA kernels (ethash.cu, the NVRTC-built KawPow kernel), usable
 * on the host too. SPDX-License-Identifier: MIT
 *
 * Keccak-f[1600] (24 rounds, 64-bit lanes) and Keccak-f[800] (22 rounds, 32-bit lanes, the round constants
 * truncated to their low 32 bits), as "The Keccak reference" version 3.0 (Bertoni, Daemen, Peeters,
 * Van Assche, 2011) section 1.2 defines them: theta, rho and pi walked over the one 24-lane cycle of pi,
 * chi, iota; lane (x, y) at index x + 5y. Ethash hashes with the original Keccak padding (0x01 ... 0x80),
 * not SHA-3's. Written from the specification (as kernels/opencl/keccak.cl); every function is
 * __host__ __device__ so that tests/plugins/backend/cuda runs this very code on the CPU against
 * lib/otedama/common/keccak.cpp and the ethash library.
 *
 * Compiled three ways: by nvcc (ethash.cu), by NVRTC at run time (KawPow: no standard headers there, so
 * the integer types are spelt out), and by the host C++ compiler (the plugin and the tests).
 */
#ifndef OTEDAMA_KERNELS_CUDA_KECCAK_CUH
#define OTEDAMA_KERNELS_CUDA_KECCAK_CUH

#ifndef OTD_HD
#ifdef __CUDACC__
#define OTD_HD __host__ __device__ __forceinline__
#define OTD_CONST_TABLE __device__ __constant__
#else
#include <cstdint>
#define OTD_HD inline
#define OTD_CONST_TABLE inline constexpr
#endif
#endif

#ifdef __CUDACC_RTC__
/* NVRTC has no standard headers; the generated KawPow loop uses these names. */
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef unsigned long size_t;
#endif
#ifdef __CUDACC__
typedef unsigned int otd_u32;
typedef unsigned long long otd_u64;
#else
typedef std::uint32_t otd_u32;
typedef std::uint64_t otd_u64;
#endif

OTD_HD otd_u64 otd_rotl64(otd_u64 x, unsigned n) { return n == 0 ? x : (x << n) | (x >> (64u - n)); }
OTD_HD otd_u32 otd_rotl32(otd_u32 x, unsigned n) {
#ifdef __CUDA_ARCH__
  return __funnelshift_l(x, x, n);
#else
  n &= 31u;
  return n == 0 ? x : (x << n) | (x >> (32u - n));
#endif
}

/* Round constants RC[i] (section 1.2, iota). A switch rather than a table: the same code on the host, in
 * nvcc's and NVRTC's device code, where the loops below are unrolled and the constants become immediates. */
OTD_HD otd_u64 otd_keccak_rc(unsigned round) {
  switch (round) {
    case 0: return 0x0000000000000001ull;
    case 1: return 0x0000000000008082ull;
    case 2: return 0x800000000000808aull;
    case 3: return 0x8000000080008000ull;
    case 4: return 0x000000000000808bull;
    case 5: return 0x0000000080000001ull;
    case 6: return 0x8000000080008081ull;
    case 7: return 0x8000000000008009ull;
    case 8: return 0x000000000000008aull;
    case 9: return 0x0000000000000088ull;
    case 10: return 0x0000000080008009ull;
    case 11: return 0x000000008000000aull;
    case 12: return 0x000000008000808bull;
    case 13: return 0x800000000000008bull;
    case 14: return 0x8000000000008089ull;
    case 15: return 0x8000000000008003ull;
    case 16: return 0x8000000000008002ull;
    case 17: return 0x8000000000000080ull;
    case 18: return 0x000000000000800aull;
    case 19: return 0x800000008000000aull;
    case 20: return 0x8000000080008081ull;
    case 21: return 0x8000000000008080ull;
    case 22: return 0x0000000080000001ull;
    default: return 0x8000000080008008ull;
  }
}
/* pi's cycle through the 24 lanes other than (0, 0), starting after lane 1, and the rho offset of each. */
OTD_HD unsigned otd_keccak_pi(unsigned i) {
  const unsigned char t[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};
  return t[i];
}
OTD_HD unsigned otd_keccak_rho(unsigned i) {
  const unsigned char t[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};
  return t[i];
}

OTD_HD void otd_keccak_f1600(otd_u64 a[25]) {
#ifdef __CUDA_ARCH__
#pragma unroll 1
#endif
  for (unsigned round = 0; round < 24; ++round) {
    otd_u64 c[5];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) {
      const otd_u64 d = c[(x + 4) % 5] ^ otd_rotl64(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    otd_u64 carry = a[1];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (unsigned i = 0; i < 24; ++i) {
      const unsigned j = otd_keccak_pi(i);
      const otd_u64 next = a[j];
      a[j] = otd_rotl64(carry, otd_keccak_rho(i));
      carry = next;
    }
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int y = 0; y < 25; y += 5) {
      for (int x = 0; x < 5; ++x) c[x] = a[y + x];
      for (int x = 0; x < 5; ++x) a[y + x] = c[x] ^ (~c[(x + 1) % 5] & c[(x + 2) % 5]);
    }
    a[0] ^= otd_keccak_rc(round);
  }
}

OTD_HD void otd_keccak_f800(otd_u32 a[25]) {
#ifdef __CUDA_ARCH__
#pragma unroll 1
#endif
  for (unsigned round = 0; round < 22; ++round) {
    otd_u32 c[5];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int x = 0; x < 5; ++x) {
      const otd_u32 d = c[(x + 4) % 5] ^ otd_rotl32(c[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
    }
    otd_u32 carry = a[1];
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (unsigned i = 0; i < 24; ++i) {
      const unsigned j = otd_keccak_pi(i);
      const otd_u32 next = a[j];
      a[j] = otd_rotl32(carry, otd_keccak_rho(i) & 31u);
      carry = next;
    }
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int y = 0; y < 25; y += 5) {
      for (int x = 0; x < 5; ++x) c[x] = a[y + x];
      for (int x = 0; x < 5; ++x) a[y + x] = c[x] ^ (~c[(x + 1) % 5] & c[(x + 2) % 5]);
    }
    a[0] ^= static_cast<otd_u32>(otd_keccak_rc(round));
  }
}

/* Keccak-512 (rate 72 bytes) of 64 bytes given as 16 little-endian words, in place. */
OTD_HD void otd_keccak512_64(otd_u32 w[16]) {
  otd_u64 a[25];
  for (int i = 0; i < 8; ++i) a[i] = static_cast<otd_u64>(w[2 * i]) | (static_cast<otd_u64>(w[2 * i + 1]) << 32);
  a[8] = 0x8000000000000001ull; /* pad10*1 of a 64-byte message: 0x01 at byte 64, 0x80 at byte 71 */
  for (int i = 9; i < 25; ++i) a[i] = 0;
  otd_keccak_f1600(a);
  for (int i = 0; i < 8; ++i) {
    w[2 * i] = static_cast<otd_u32>(a[i]);
    w[2 * i + 1] = static_cast<otd_u32>(a[i] >> 32);
  }
}

/* A raw 32-byte hash (8 little-endian words, byte 0 most significant as Ethereum and Ravencoin compare it)
 * against the ABI's 256-bit little-endian target (8 words, word 7 most significant): hash <= target. */
OTD_HD otd_u32 otd_bswap(otd_u32 x) {
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}
OTD_HD bool otd_raw_hash_meets(const otd_u32 h[8], const otd_u32 target[8]) {
  for (int i = 0; i < 8; ++i) {
    const otd_u32 hw = otd_bswap(h[i]); /* the raw word read big-endian */
    const otd_u32 tw = target[7 - i];
    if (hw != tw) return hw < tw;
  }
  return true;
}

#endif /* OTEDAMA_KERNELS_CUDA_KECCAK_CUH */
