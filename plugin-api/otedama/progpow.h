/*
 * Otedama plugin ABI: the ProgPoW extension of an algorithm plugin, interface "otedama.algorithm.progpow/1".
 * SPDX-License-Identifier: MIT
 *
 * A ProgPoW algorithm (KawPow for Ravencoin) changes its inner loop every period (KawPow: every 3 blocks).
 * A GPU backend compiles that loop into its kernel, so it asks the algorithm plugin for the period's source
 * text instead of re-implementing the program generator: one generator, the same one the CPU verifier runs.
 *
 * Reached through the algorithm plugin's get_interface(OTD_PROGPOW_INTERFACE_ID); NULL when the algorithm
 * is not a ProgPoW variant. The table is valid until the plugin instance is destroyed.
 *
 * The generated source defines `progPowLoop`, the loop body for one loop iteration with the period's random
 * sequence unrolled, in the shape of the ProgPoW specification's generated kernel (ifdefelse/ProgPOW
 * README, "progPowLoop"): one thread per lane, `lanes` threads per hash. What the including kernel must
 * provide (lane layout, the L1 cache in shared/local memory, PROGPOW_DAG_ELEMENTS) is written at the top of
 * the text itself. Everything that does not change with the period (Keccak-f[800] steps, fill_mix, the lane
 * reduction) stays in the backend's static kernel; get_params gives the constants it needs.
 *
 * Everything here is [any]: pure functions of their arguments, safe from any thread concurrently.
 */
#ifndef OTEDAMA_PROGPOW_H
#define OTEDAMA_PROGPOW_H

#include "abi.h"
#include "plugin.h"

OTD_EXTERN_C_BEGIN

#define OTD_PROGPOW_INTERFACE_ID "otedama.algorithm.progpow/1"

/* Source dialects of get_period_source. */
typedef uint32_t otd_progpow_dialect_t;
#define OTD_PROGPOW_CUDA 1u   /* CUDA C++ (nvcc / NVRTC): __device__ progPowLoop using __shfl_sync */
#define OTD_PROGPOW_OPENCL 2u /* OpenCL C 1.2: progPowLoop using a __local broadcast word and barriers */

/* The constants of this ProgPoW variant (KawPow: 3, 16, 32, 4, 16384, 64, 11, 18, 7500, 512). */
typedef struct otd_progpow_params {
  uint32_t struct_size;
  uint32_t period_length;    /* blocks per program period: period = height / period_length */
  uint32_t lanes;            /* PROGPOW_LANES: parallel lanes (threads) per hash */
  uint32_t regs;             /* PROGPOW_REGS: 32-bit registers per lane */
  uint32_t dag_loads;        /* PROGPOW_DAG_LOADS: 32-bit words each lane loads per loop */
  uint32_t cache_bytes;      /* PROGPOW_CACHE_BYTES: the L1 cache = the first cache_bytes of the DAG */
  uint32_t cnt_dag;          /* PROGPOW_CNT_DAG: loop iterations per hash */
  uint32_t cnt_cache;        /* PROGPOW_CNT_CACHE: cache loads per loop */
  uint32_t cnt_math;         /* PROGPOW_CNT_MATH: math operations per loop */
  uint32_t dataset_parents;  /* light-cache parents per DAG item (Ethash 256, KawPow 512) */
  uint64_t epoch_length;     /* blocks per DAG epoch: epoch = height / epoch_length */
  char variant[OTD_ID_CAP];  /* e.g. "kawpow (ProgPoW 0.9.4)", NUL-terminated */
} otd_progpow_params_t;

/* The DAG geometry of one epoch. */
typedef struct otd_progpow_epoch {
  uint32_t struct_size;
  uint32_t reserved;
  uint64_t epoch;
  uint64_t light_cache_bytes;
  uint64_t dataset_bytes;    /* full DAG bytes */
  uint64_t dag_elements;     /* dataset_bytes / (lanes * dag_loads * 4): PROGPOW_DAG_ELEMENTS of the kernel */
  uint8_t seed[OTD_HASH_SIZE];  /* the epoch seed (Keccak-256 applied `epoch` times to 32 zero bytes) */
} otd_progpow_epoch_t;

typedef struct otd_progpow {
  uint32_t struct_size;
  uint32_t reserved;

  /* [any] Fill *params (the plugin writes at most params->struct_size bytes; set it first). */
  otd_status_t(OTD_CALL* get_params)(const otd_plugin_t* plugin, otd_progpow_params_t* params);

  /* [any] The geometry of `epoch`. OTD_ERR_INVALID_ARG for an epoch beyond the variant's range.
   * Writes at most epoch_info->struct_size bytes. */
  otd_status_t(OTD_CALL* get_epoch)(const otd_plugin_t* plugin, uint64_t epoch, otd_progpow_epoch_t* epoch_info,
                                    char* err, size_t err_cap);

  /* [any] The source text of `period`'s progPowLoop in `dialect` (OTD_PROGPOW_*), NUL-terminated, copied
   * into the caller's buf. *needed is always set to the size including the NUL; when buf is NULL or cap is
   * smaller, returns OTD_ERR_BUFFER_TOO_SMALL and writes nothing. The text is a pure function of (period,
   * dialect): the same arguments always give the same bytes. OTD_ERR_INVALID_ARG for an unknown dialect. */
  otd_status_t(OTD_CALL* get_period_source)(const otd_plugin_t* plugin, uint64_t period, otd_progpow_dialect_t dialect,
                                            char* buf, size_t cap, size_t* needed, char* err, size_t err_cap);
} otd_progpow_t;

/* Appended after otedama.algorithm.progpow/1 was released (a plugin that predates it answers
 * OTD_ERR_INVALID_ARG for it, as for any dialect it does not know): */
#define OTD_PROGPOW_GLSL 3u /* GLSL 4.50 for Vulkan (glslang / shaderc): progPowLoop using a shared broadcast word and barrier() */

OTD_EXTERN_C_END

#endif /* OTEDAMA_PROGPOW_H */
