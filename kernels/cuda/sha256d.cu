/*
 * CUDA kernel: SHA256d over an 80-byte header, one nonce per thread (sha256d_core.cuh).
 * SPDX-License-Identifier: MIT
 *
 * Thread i of a launch hashes nonce_base + i (i < count) and appends the nonce and its digest to results
 * (counter, then 1 + 8 words per entry) when the hash, read as a little-endian 256-bit number, is <= the
 * target. Built by nvcc into a fatbin (sm_90 code and compute_90 PTX) that the cuda backend embeds.
 */
#include "sha256d_core.cuh"

extern "C" __global__ void __launch_bounds__(256) otd_sha256d_scan(const otd_sha256d_params p, otd_u32 nonce_base,
                                                                   otd_u32 count, otd_u32* results, otd_u32 capacity) {
  const otd_u32 i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const otd_u32 nonce = nonce_base + i;
  otd_u32 digest[8];
  if (otd_sha256d_try(p, nonce, digest, false)) otd_report(results, capacity, nonce, digest);
}
