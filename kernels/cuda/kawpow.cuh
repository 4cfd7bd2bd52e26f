/*
 * KawPow (ProgPoW 0.9.4 as Ravencoin runs it) search kernel, compiled at run time by NVRTC, one program per
 * period. SPDX-License-Identifier: MIT
 *
 * The program NVRTC compiles is: ethash_core.cuh (Keccak-f[800], fill_mix, the lane reduction: the
 * __host__ __device__ code the tests run on the CPU), the period's progPowLoop as the kawpow plugin
 * generates it (otedama.algorithm.progpow/1, OTD_PROGPOW_CUDA dialect), then this file; built with
 * -DPROGPOW_DAG_ELEMENTS=<dataset bytes / 256>u and -DOTD_KP_BLOCK=<threads per block, a multiple of 32>
 * for the device's compute capability (plugins/backend/cuda/cu_kawpow.cpp).
 *
 * Specification: ifdefelse/ProgPOW README (progPowHash) and EIP-1057 with Ravencoin's 'RAVENCOINKAWPOW'
 * words, written here from that text; plugins/algorithm/kawpow/progpow.cpp is the CPU twin the tests
 * compare against.
 *
 * Layout: PROGPOW_LANES (16) consecutive threads per hash (two hashes per warp: the generated loop's
 * __shfl_sync has width 16), OTD_KP_BLOCK / 16 hashes per block, the first PROGPOW_CACHE_BYTES of the DAG
 * in shared memory (c_dag). Every thread runs every loop (the shuffles need the whole warp), also those of
 * hashes past `count`; only hashes < count report.
 */
#ifndef OTD_KP_BLOCK
#define OTD_KP_BLOCK 256
#endif
#define OTD_KP_HASHES (OTD_KP_BLOCK / PROGPOW_LANES)

extern "C" __global__ void __launch_bounds__(OTD_KP_BLOCK) otd_kawpow_search(const otd_u32* __restrict__ params,
                                                                           const dag_t* __restrict__ dag, otd_u64 nonce_base,
                                                                           otd_u32 count, otd_u32* __restrict__ results,
                                                                           otd_u32 capacity) {
  __shared__ uint32_t c_dag[PROGPOW_CACHE_WORDS];
  const otd_u32 tid = threadIdx.x;
  const otd_u32* dag_words = reinterpret_cast<const otd_u32*>(dag);
  for (otd_u32 w = tid; w < PROGPOW_CACHE_WORDS; w += OTD_KP_BLOCK) c_dag[w] = dag_words[w];
  __syncthreads();

  const otd_u32 lane = tid & (PROGPOW_LANES - 1);
  const otd_u32 hash_index = blockIdx.x * OTD_KP_HASHES + tid / PROGPOW_LANES;
  const otd_u64 nonce = nonce_base + hash_index;

  otd_u32 header[8];
  for (int i = 0; i < 8; ++i) header[i] = params[i];
  otd_u32 hash_init[8];
  otd_kawpow_init(header, nonce, hash_init);
  uint32_t mix[PROGPOW_REGS];
  otd_kawpow_fill_mix(hash_init[0], hash_init[1], lane, mix, PROGPOW_REGS);
#pragma unroll 1
  for (otd_u32 loop = 0; loop < PROGPOW_CNT_DAG; ++loop) progPowLoop(loop, mix, dag, c_dag, false);

  /* The lane reduction: each lane's FNV-1a digest, gathered by every lane of the hash in lane order. */
  const otd_u32 mine = otd_kawpow_lane_digest(mix, PROGPOW_REGS);
  otd_u32 lane_digests[PROGPOW_LANES];
#pragma unroll
  for (int l = 0; l < PROGPOW_LANES; ++l) lane_digests[l] = __shfl_sync(0xffffffffu, mine, l, PROGPOW_LANES);
  if (lane != 0 || hash_index >= count) return;
  otd_u32 digest[8];
  otd_kawpow_reduce(lane_digests, PROGPOW_LANES, digest);
  otd_u32 final_hash[8];
  otd_kawpow_final(hash_init, digest, final_hash);
  if (otd_raw_hash_meets(final_hash, params + 8)) otd_eth_report(results, capacity, nonce, digest, final_hash);
}
