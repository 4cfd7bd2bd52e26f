/*
 * Test-only CUDA kernel for the cuda backend's watchdog test (test_cuda_gpu.cpp): the real sha256d scan,
 * except for launches whose nonce_base is 0xdead0000, which
 *   OTD_MISBEHAVE_HANG:  never finish (spin on the result counter the host cleared, which nothing sets);
 *   OTD_MISBEHAVE_FAULT: trap (CUDA_ERROR_LAUNCH_FAILED: the context is unusable from then on).
 * SPDX-License-Identifier: MIT
 */
#include "sha256d_core.cuh"

extern "C" __global__ void otd_sha256d_scan(const otd_sha256d_params p, otd_u32 nonce_base, otd_u32 count, otd_u32* results,
                                            otd_u32 capacity) {
  if (nonce_base == 0xdead0000u) {
#if defined(OTD_MISBEHAVE_HANG)
    volatile otd_u32* counter = results;
    while (*counter == 0u) {
    }
#else
    __trap();
#endif
    return;
  }
  const otd_u32 i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const otd_u32 nonce = nonce_base + i;
  otd_u32 digest[8];
  if (otd_sha256d_try(p, nonce, digest, false)) otd_report(results, capacity, nonce, digest);
}
