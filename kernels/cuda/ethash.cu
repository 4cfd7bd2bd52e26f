/*
 * CUDA kernels of the Ethash family (ethash, etchash; KawPow's DAG): the dataset generated on the device
 * from the light cache, and the hashimoto search. SPDX-License-Identifier: MIT
 *
 * Built by nvcc into a fatbin (sm_90 code and compute_90 PTX) that the cuda backend embeds. The arithmetic
 * is ethash_core.cuh's __host__ __device__ code, which the tests run on the CPU; sizes are parameters (the
 * light cache's item count, the dataset's pages), so a small test epoch runs the very same kernels.
 */
#include "ethash_core.cuh"

/* Hashes a group of 8 threads walks side by side (1, 2, 4 or 8): more DAG reads in flight per warp. */
#ifndef OTD_ETH_PARALLEL
#define OTD_ETH_PARALLEL 2u
#endif

/* Items [first, first + count) of the dataset into dag[first ..]: calc_dataset_item with `parents` parents
 * (Ethash 256, KawPow 512). One item per thread. */
extern "C" __global__ void __launch_bounds__(128) otd_ethash_dag(const otd_u32* __restrict__ cache, otd_u32 cache_items,
                                                                 otd_u32* __restrict__ dag, otd_u32 first, otd_u32 count,
                                                                 otd_u32 parents) {
  const otd_u32 gid = blockIdx.x * blockDim.x + threadIdx.x;
  if (gid >= count) return;
  const otd_u32 index = first + gid;
  otd_u32 mix[16];
  otd_ethash_dag_item(cache, cache_items, index, parents, mix);
  uint4* out = reinterpret_cast<uint4*>(dag + static_cast<otd_u64>(index) * 16);
  for (int q = 0; q < 4; ++q) out[q] = make_uint4(mix[4 * q], mix[4 * q + 1], mix[4 * q + 2], mix[4 * q + 3]);
}

/* hashimoto for nonces nonce_base + [0, count), OTD_ETH_LANES (8) threads per hash: thread t computes the
 * seed of nonce_base + t; the 8 threads of a group then run the 8 hashes of the group, OTD_ETH_PARALLEL at a time,
 * lane l holding mix words 4l..4l+3 and reading the same 16 bytes of every page (one coalesced 128-byte
 * read per access). params: header hash (8 words), share target (8 words, little-endian number); pages =
 * dataset bytes / 128. Every nonce whose final hash, read big-endian, is <= the target is reported. Every
 * thread of a launch runs the shuffles (the grid is a multiple of the block); only those < count report. */
extern "C" __global__ void __launch_bounds__(128, 8) otd_ethash_search(const otd_u32* __restrict__ params,
                                                                    const otd_u32* __restrict__ dag, otd_u32 pages,
                                                                    otd_u64 nonce_base, otd_u32 count,
                                                                    otd_u32* __restrict__ results, otd_u32 capacity) {
  const otd_u32 gid = blockIdx.x * blockDim.x + threadIdx.x;
  const otd_u32 lane = threadIdx.x & (OTD_ETH_LANES - 1);
  const otd_u64 nonce = nonce_base + gid;
  otd_u32 header[8];
  for (int i = 0; i < 8; ++i) header[i] = params[i];
  otd_u32 s[16];
  otd_ethash_seed(header, nonce, s);

  otd_u32 own_cmix[8];
#pragma unroll 1
  for (otd_u32 h0 = 0; h0 < OTD_ETH_LANES; h0 += OTD_ETH_PARALLEL) {
    /* hashes h0 .. h0 + OTD_ETH_PARALLEL - 1 of the group side by side (independent chains of DAG reads in
     * flight together); lane l starts each from words 4(l % 4) .. 4(l % 4) + 3 of that hash's seed */
    otd_u32 m[OTD_ETH_PARALLEL][4];
    otd_u32 s0[OTD_ETH_PARALLEL];
#pragma unroll
    for (otd_u32 q = 0; q < OTD_ETH_PARALLEL; ++q) {
#pragma unroll
      for (otd_u32 k = 0; k < 4; ++k) {
#pragma unroll
        for (otd_u32 w = 0; w < 4; ++w) {
          const otd_u32 v = __shfl_sync(0xffffffffu, s[4 * k + w], h0 + q, OTD_ETH_LANES);
          if ((lane & 3u) == k) m[q][w] = v;
          if (k == 0 && w == 0) s0[q] = v;
        }
      }
    }
    for (otd_u32 i0 = 0; i0 < OTD_ETH_ACCESSES; i0 += 4) {
#pragma unroll
      for (otd_u32 c = 0; c < 4; ++c) {
        /* access i = i0 + c: mix word i % 32 lives in lane (i % 32) / 4, component c (a register) */
        const otd_u32 i = i0 + c;
        uint4 v[OTD_ETH_PARALLEL];
#pragma unroll
        for (otd_u32 q = 0; q < OTD_ETH_PARALLEL; ++q) {
          const otd_u32 mine = otd_ethash_page(i, s0[q], m[q][c], pages);
          const otd_u32 p = __shfl_sync(0xffffffffu, mine, (i % 32) / 4, OTD_ETH_LANES);
          v[q] = __ldg(reinterpret_cast<const uint4*>(dag + static_cast<otd_u64>(p) * 32 + 4 * lane));
        }
#pragma unroll
        for (otd_u32 q = 0; q < OTD_ETH_PARALLEL; ++q) {
          const otd_u32 words[4] = {v[q].x, v[q].y, v[q].z, v[q].w};
          otd_ethash_lane_mix(m[q], words);
        }
      }
    }
#pragma unroll
    for (otd_u32 q = 0; q < OTD_ETH_PARALLEL; ++q) {
      const otd_u32 c = otd_ethash_lane_cmix(m[q]);
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const otd_u32 v = __shfl_sync(0xffffffffu, c, j, OTD_ETH_LANES);
        if (lane == h0 + q) own_cmix[j] = v;
      }
    }
  }
  if (gid >= count) return;
  otd_u32 hash[8];
  otd_ethash_final(s, own_cmix, hash);
  if (otd_raw_hash_meets(hash, params + 8)) otd_eth_report(results, capacity, nonce, own_cmix, hash);
}
