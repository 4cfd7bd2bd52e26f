/*
 * CUDA kernel: scrypt(1024, 1, 1) over an 80-byte header, one nonce per thread (scrypt_core.cuh).
 * SPDX-License-Identifier: MIT
 *
 * Thread i hashes nonce_base + i (i < count) with its 128 KiB of `scratch` (stride >= the launch's thread
 * count, items interleaved) and reports it like sha256d.cu when it meets the target.
 */
#include "scrypt_core.cuh"

extern "C" __global__ void __launch_bounds__(128) otd_scrypt_scan(const otd_scrypt_params p, otd_u32 nonce_base,
                                                                  otd_u32 count, otd_u32* results, otd_u32 capacity,
                                                                  otd_u32* scratch, otd_u32 stride) {
  const otd_u32 i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const otd_u32 nonce = nonce_base + i;
  otd_u32 digest[8];
  otd_scrypt_hash(p, nonce, scratch + i, stride, digest);
  if (otd_meets_target(digest, p.target)) otd_report(results, capacity, nonce, digest);
}
