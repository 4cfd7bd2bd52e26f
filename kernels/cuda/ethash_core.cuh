/*
 * The Ethash family's arithmetic for the CUDA kernels (ethash.cu: DAG and hashimoto search; the KawPow
 * kernel NVRTC builds at run time), usable on the host too. SPDX-License-Identifier: MIT
 *
 * Specifications, written here from their text:
 *  - Ethash: Ethereum's design (ethereum/wiki "Ethash": calc_dataset_item, hashimoto; Yellow Paper
 *    appendix J); KawPow's DAG is the same with 512 parents per item.
 *  - KawPow: ifdefelse/ProgPOW README (progPowHash: the initial Keccak-f[800], fill_mix, 64 loops, the lane
 *    reduction, the final Keccak-f[800]) and EIP-1057, with Ravencoin's 'RAVENCOINKAWPOW' words
 *    (RavenProject/Ravencoin src/crypto/ethash/lib/ethash/progpow.cpp) in place of the 0.9.4 padding. The
 *    period's loop itself is not here: the kawpow plugin generates it (otedama.algorithm.progpow/1).
 *
 * Words: an item is 64 bytes = 16 little-endian 32-bit words; a hashimoto page is two items (128 bytes).
 *
 * Ethash lanes: the search kernel runs OTD_ETH_LANES (8) threads per hash; lane l holds words 4l .. 4l+3 of
 * the 32-word mix and loads the same 16 bytes of every page (8 lanes x 16 bytes = one coalesced 128-byte
 * read). The per-lane steps below are what a lane does; otd_ethash_hash runs the 8 lanes one after the
 * other in one thread (the tests' CPU reference of the kernel's arithmetic).
 */
#ifndef OTEDAMA_KERNELS_CUDA_ETHASH_CORE_CUH
#define OTEDAMA_KERNELS_CUDA_ETHASH_CORE_CUH

#include "keccak.cuh"

#define OTD_FNV_PRIME 0x01000193u
#define OTD_FNV_OFFSET 0x811c9dc5u
#define OTD_ETH_LANES 8u
#define OTD_ETH_ACCESSES 64u
/* Entry of the results buffer: nonce (low, high word), mix digest (8 words, raw bytes), final hash (8
 * words, raw bytes). results[0] counts entries, also those past `capacity` (the host then searches again). */
#define OTD_ETH_ENTRY_WORDS 18u
/* Search parameters: header hash (8 words) then the share target (8 words, the ABI's little-endian number). */
#define OTD_ETH_PARAM_WORDS 16u

OTD_HD otd_u32 otd_fnv1(otd_u32 u, otd_u32 v) { return (u * OTD_FNV_PRIME) ^ v; }
OTD_HD otd_u32 otd_fnv1a(otd_u32 h, otd_u32 d) { return (h ^ d) * OTD_FNV_PRIME; }

/* calc_dataset_item: dataset item `index` from the light cache (`cache_items` items of 16 words) with
 * `parents` parents (Ethash 256, KawPow 512; a multiple of 16). */
OTD_HD void otd_ethash_dag_item(const otd_u32* cache, otd_u32 cache_items, otd_u32 index, otd_u32 parents, otd_u32 mix[16]) {
  const otd_u32* seed_item = cache + static_cast<otd_u64>(index % cache_items) * 16;
  for (int w = 0; w < 16; ++w) mix[w] = seed_item[w];
  mix[0] ^= index;
  otd_keccak512_64(mix);
  /* Parents in steps of 16 with the inner loop unrolled: mix[k] is then a fixed register. */
  for (otd_u32 j0 = 0; j0 < parents; j0 += 16) {
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (otd_u32 k = 0; k < 16; ++k) {
      const otd_u32 parent = otd_fnv1(index ^ (j0 + k), mix[k]) % cache_items;
      const otd_u32* p = cache + static_cast<otd_u64>(parent) * 16;
#ifdef __CUDA_ARCH__
      /* four 16-byte loads through the read-only path (items are 64-byte aligned) */
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const uint4 v = __ldg(reinterpret_cast<const uint4*>(p) + q);
        mix[4 * q] = otd_fnv1(mix[4 * q], v.x);
        mix[4 * q + 1] = otd_fnv1(mix[4 * q + 1], v.y);
        mix[4 * q + 2] = otd_fnv1(mix[4 * q + 2], v.z);
        mix[4 * q + 3] = otd_fnv1(mix[4 * q + 3], v.w);
      }
#else
      for (int w = 0; w < 16; ++w) mix[w] = otd_fnv1(mix[w], p[w]);
#endif
    }
  }
  otd_keccak512_64(mix);
}

/* Keccak-512 of header hash (8 words) || nonce (8 bytes little-endian): the seed s, 16 words. */
OTD_HD void otd_ethash_seed(const otd_u32 header[8], otd_u64 nonce, otd_u32 s[16]) {
  otd_u64 a[25];
  for (int i = 0; i < 25; ++i) a[i] = 0;
  for (int i = 0; i < 4; ++i) a[i] = static_cast<otd_u64>(header[2 * i]) | (static_cast<otd_u64>(header[2 * i + 1]) << 32);
  a[4] = nonce;
  a[5] = 0x01ull;                /* Keccak-512 padding: 0x01 at byte 40 ... */
  a[8] = 0x8000000000000000ull;  /* ... 0x80 at byte 71 (rate 72) */
  otd_keccak_f1600(a);
  for (int i = 0; i < 8; ++i) {
    s[2 * i] = static_cast<otd_u32>(a[i]);
    s[2 * i + 1] = static_cast<otd_u32>(a[i] >> 32);
  }
}

/* The page access i reads: fnv(i ^ s[0], mix[i % 32]) % pages. */
OTD_HD otd_u32 otd_ethash_page(otd_u32 i, otd_u32 s0, otd_u32 mix_word, otd_u32 pages) { return otd_fnv1(i ^ s0, mix_word) % pages; }

/* One lane's step of an access: its 4 mix words combined with its 4 words of the page. */
OTD_HD void otd_ethash_lane_mix(otd_u32 m[4], const otd_u32 page_words[4]) {
  for (int w = 0; w < 4; ++w) m[w] = otd_fnv1(m[w], page_words[w]);
}
/* One lane's compressed mix word: fnv over its 4 words. */
OTD_HD otd_u32 otd_ethash_lane_cmix(const otd_u32 m[4]) { return otd_fnv1(otd_fnv1(otd_fnv1(m[0], m[1]), m[2]), m[3]); }

/* Keccak-256 (rate 136) of s (64 bytes) || cmix (32 bytes): the final hash, 8 words of raw bytes. */
OTD_HD void otd_ethash_final(const otd_u32 s[16], const otd_u32 cmix[8], otd_u32 h[8]) {
  otd_u64 a[25];
  for (int i = 0; i < 8; ++i) a[i] = static_cast<otd_u64>(s[2 * i]) | (static_cast<otd_u64>(s[2 * i + 1]) << 32);
  for (int i = 0; i < 4; ++i) a[8 + i] = static_cast<otd_u64>(cmix[2 * i]) | (static_cast<otd_u64>(cmix[2 * i + 1]) << 32);
  a[12] = 0x01ull;
  for (int i = 13; i < 25; ++i) a[i] = 0;
  a[16] = 0x8000000000000000ull;
  otd_keccak_f1600(a);
  for (int i = 0; i < 4; ++i) {
    h[2 * i] = static_cast<otd_u32>(a[i]);
    h[2 * i + 1] = static_cast<otd_u32>(a[i] >> 32);
  }
}

/* hashimoto over a dataset of `pages` 128-byte pages whose words `page(p)` gives (32 words), the 8 lanes run
 * one after the other: the mix digest (cmix) and the final hash, both 8 words of raw bytes. */
template <class PageSource>
OTD_HD void otd_ethash_hash_with(const otd_u32 header[8], otd_u64 nonce, otd_u32 pages, const PageSource& page, otd_u32 cmix[8],
                                 otd_u32 h[8]) {
  otd_u32 s[16];
  otd_ethash_seed(header, nonce, s);
  otd_u32 mix[OTD_ETH_LANES][4];
  for (otd_u32 l = 0; l < OTD_ETH_LANES; ++l)
    for (int w = 0; w < 4; ++w) mix[l][w] = s[(4 * l + w) % 16];
  for (otd_u32 i = 0; i < OTD_ETH_ACCESSES; ++i) {
    const otd_u32 p = otd_ethash_page(i, s[0], mix[(i % 32) / 4][i % 4], pages);
    const otd_u32* words = page(p);
    for (otd_u32 l = 0; l < OTD_ETH_LANES; ++l) otd_ethash_lane_mix(mix[l], words + 4 * l);
  }
  for (otd_u32 l = 0; l < OTD_ETH_LANES; ++l) cmix[l] = otd_ethash_lane_cmix(mix[l]);
  otd_ethash_final(s, cmix, h);
}
/* The pages of a DAG in memory. */
struct otd_dag_pages {
  const otd_u32* dag;
  OTD_HD const otd_u32* operator()(otd_u32 p) const { return dag + static_cast<otd_u64>(p) * 32; }
};
/* hashimoto over the DAG in memory (`pages` 128-byte pages). */
OTD_HD void otd_ethash_hash(const otd_u32 header[8], otd_u64 nonce, const otd_u32* dag, otd_u32 pages, otd_u32 cmix[8], otd_u32 h[8]) {
  otd_ethash_hash_with(header, nonce, pages, otd_dag_pages{dag}, cmix, h);
}

/* ---- KawPow's static parts (around the period's generated progPowLoop) ---- */

/* Ravencoin's 'RAVENCOINKAWPOW' words (0x72 first: the published vectors reproduce only with it). */
OTD_HD otd_u32 otd_ravencoin_kawpow(int i) {
  const unsigned char t[15] = {0x72, 0x41, 0x56, 0x45, 0x4E, 0x43, 0x4F, 0x49, 0x4E, 0x4B, 0x41, 0x57, 0x50, 0x4F, 0x57};
  return t[i];
}

/* Initial Keccak-f[800]: header (8 words), nonce (low word first), 'RAVENCOINKAWPOW'; hash_init = the first
 * 8 words of the state (words 0 and 1 seed fill_mix). */
OTD_HD void otd_kawpow_init(const otd_u32 header[8], otd_u64 nonce, otd_u32 hash_init[8]) {
  otd_u32 st[25];
  for (int i = 0; i < 8; ++i) st[i] = header[i];
  st[8] = static_cast<otd_u32>(nonce);
  st[9] = static_cast<otd_u32>(nonce >> 32);
  for (int i = 0; i < 15; ++i) st[10 + i] = otd_ravencoin_kawpow(i);
  otd_keccak_f800(st);
  for (int i = 0; i < 8; ++i) hash_init[i] = st[i];
}

/* fill_mix: one lane's `regs` registers from the 64-bit seed and the lane id (KISS99 seeded through FNV-1a). */
OTD_HD void otd_kawpow_fill_mix(otd_u32 seed_lo, otd_u32 seed_hi, otd_u32 lane, otd_u32* mix, int regs) {
  otd_u32 h = OTD_FNV_OFFSET;
  h = otd_fnv1a(h, seed_lo);
  otd_u32 z = h;
  h = otd_fnv1a(h, seed_hi);
  otd_u32 w = h;
  h = otd_fnv1a(h, lane);
  otd_u32 jsr = h;
  h = otd_fnv1a(h, lane);
  otd_u32 jcong = h;
  for (int i = 0; i < regs; ++i) {
    z = 36969u * (z & 65535u) + (z >> 16);
    w = 18000u * (w & 65535u) + (w >> 16);
    const otd_u32 mwc = (z << 16) + w;
    jsr ^= jsr << 17;
    jsr ^= jsr >> 13;
    jsr ^= jsr << 5;
    jcong = 69069u * jcong + 1234567u;
    mix[i] = (mwc ^ jcong) + jsr;
  }
}

/* A lane's digest word: FNV-1a over its registers. */
OTD_HD otd_u32 otd_kawpow_lane_digest(const otd_u32* mix, int regs) {
  otd_u32 h = OTD_FNV_OFFSET;
  for (int r = 0; r < regs; ++r) h = otd_fnv1a(h, mix[r]);
  return h;
}
/* The mix hash from the lanes' digest words (lane l folds into word l % 8, lanes in order). */
OTD_HD void otd_kawpow_reduce(const otd_u32* lane_digests, int lanes, otd_u32 digest[8]) {
  for (int i = 0; i < 8; ++i) digest[i] = OTD_FNV_OFFSET;
  for (int l = 0; l < lanes; ++l) digest[l % 8] = otd_fnv1a(digest[l % 8], lane_digests[l]);
}

/* Final Keccak-f[800]: hash_init, the mix hash, 'RAVENCOIN'; the first 8 words (raw bytes). */
OTD_HD void otd_kawpow_final(const otd_u32 hash_init[8], const otd_u32 digest[8], otd_u32 out[8]) {
  otd_u32 st[25];
  for (int i = 0; i < 8; ++i) st[i] = hash_init[i];
  for (int i = 0; i < 8; ++i) st[8 + i] = digest[i];
  for (int i = 0; i < 9; ++i) st[16 + i] = otd_ravencoin_kawpow(i);
  otd_keccak_f800(st);
  for (int i = 0; i < 8; ++i) out[i] = st[i];
}

#ifdef __CUDACC__
/* Appends one found nonce with its mix and final hash. */
__device__ __forceinline__ void otd_eth_report(otd_u32* results, otd_u32 capacity, otd_u64 nonce, const otd_u32 mix[8],
                                               const otd_u32 hash[8]) {
  const otd_u32 slot = atomicAdd(results, 1u);
  if (slot >= capacity) return;
  otd_u32* e = results + 1 + static_cast<otd_u64>(slot) * OTD_ETH_ENTRY_WORDS;
  e[0] = static_cast<otd_u32>(nonce);
  e[1] = static_cast<otd_u32>(nonce >> 32);
  for (int i = 0; i < 8; ++i) e[2 + i] = mix[i];
  for (int i = 0; i < 8; ++i) e[10 + i] = hash[i];
}
#endif

#endif /* OTEDAMA_KERNELS_CUDA_ETHASH_CORE_CUH */
