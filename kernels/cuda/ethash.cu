/*
 * CUDA kernels of the Ethash family (ethash, etchash; KawPow's DAG): the dataset generated on the device
 * from the light cache, and the hashimoto search. SPDX-License-Identifier: MIT
 *
 * Built by nvcc into a fatbin (sm_90 code and compute_90 PTX) that the cuda backend embeds. The arithmetic
 * is ethash_core.cuh's __host__ __device__ code, which the tests run on the CPU; sizes are parameters (the
 * light cache's item count, the dataset's pages), so a small test epoch runs the very same kernels.
 */
#include "ethash_core.cuh"

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
 * seed of nonce_base + t; the 8 threads of a group then run the 8 hashes of the group one after the other,
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
  for (otd_u32 h = 0; h < OTD_ETH_LANES; ++h) {
    /* hash h of the group: lane l starts from words 4(l % 4) .. 4(l % 4) + 3 of its seed */
    otd_u32 m[4];
    otd_u32 s0 = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        const otd_u32 v = __shfl_sync(0xffffffffu, s[4 * k + w], h, OTD_ETH_LANES);
        if ((lane & 3u) == static_cast<otd_u32>(k)) m[w] = v;
        if (k == 0 && w == 0) s0 = v;
      }
    }
    for (otd_u32 i0 = 0; i0 < OTD_ETH_ACCESSES; i0 += 4) {
#pragma unroll
      for (otd_u32 c = 0; c < 4; ++c) {
        /* access i = i0 + c: mix word i % 32 lives in lane (i % 32) / 4, component c (a register) */
        const otd_u32 i = i0 + c;
        const otd_u32 mine = otd_ethash_page(i, s0, m[c], pages);
        const otd_u32 p = __shfl_sync(0xffffffffu, mine, (i % 32) / 4, OTD_ETH_LANES);
        const uint4 v = __ldg(reinterpret_cast<const uint4*>(dag + static_cast<otd_u64>(p) * 32 + 4 * lane));
        const otd_u32 words[4] = {v.x, v.y, v.z, v.w};
        otd_ethash_lane_mix(m, words);
      }
    }
    const otd_u32 c = otd_ethash_lane_cmix(m);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const otd_u32 v = __shfl_sync(0xffffffffu, c, j, OTD_ETH_LANES);
      if (lane == h) own_cmix[j] = v;
    }
  }
  if (gid >= count) return;
  otd_u32 hash[8];
  otd_ethash_final(s, own_cmix, hash);
  if (otd_raw_hash_meets(hash, params + 8)) otd_eth_report(results, capacity, nonce, own_cmix, hash);
}
