/*
 * Otedama plugin ABI: the algorithm kind, interface "otedama.algorithm/1". SPDX-License-Identifier: MIT
 *
 * An algorithm plugin owns everything about one proof-of-work and its coin family: hashing, verification
 * (the only judge of a share: the host never trusts a device's or a miner's hash), the hashing blob of a
 * job, target/difficulty conversion, per-seed/per-epoch context, and optionally a CPU scan loop so that
 * the generic CPU backend can mine any algorithm without knowing it.
 */
#ifndef OTEDAMA_ALGORITHM_H
#define OTEDAMA_ALGORITHM_H

#include "abi.h"
#include "plugin.h"
#include "work.h"

OTD_EXTERN_C_BEGIN

#define OTD_ALGORITHM_INTERFACE_ID "otedama.algorithm/1"

/* Algorithm flags. */
#define OTD_ALGO_NEEDS_CONTEXT 0x1u  /* verify/scan need a prepared context (RandomX, Ethash, KawPow) */
#define OTD_ALGO_HAS_MIX 0x2u        /* candidates carry a mix hash (Ethash, KawPow) */

/* What a context is prepared for. Mode decides cost: a light context verifies, a full one mines. */
#define OTD_CONTEXT_LIGHT 1u         /* verification: small memory (RandomX cache, Ethash light cache) */
#define OTD_CONTEXT_FULL 2u          /* mining: full dataset / DAG */
typedef struct otd_context_params {
  uint32_t struct_size;
  uint32_t mode;                   /* OTD_CONTEXT_* */
  const uint8_t* seed; uint32_t seed_size; /* RandomX key / Ethash seed (valid during the call) */
  uint64_t epoch;
  uint64_t height;
  uint32_t threads;                /* threads the plugin may use to build it (0 = its choice) */
  uint32_t flags;                  /* OTD_CONTEXT_FLAG_* */
  int32_t numa_node;               /* -1 = any */
  uint32_t reserved;
} otd_context_params_t;
#define OTD_CONTEXT_FLAG_HUGE_PAGES 0x1u /* try huge pages; fall back silently */
/* Ethash family: build the epoch with the test geometry (OTD_TEMPLATE_TEST_EPOCH, work.h). An algorithm
 * that has no such geometry refuses the flag with OTD_ERR_UNSUPPORTED. */
#define OTD_CONTEXT_FLAG_TEST_EPOCH 0x2u

/* A verification request: the hashing blob with nonce (and extranonce, ntime ...) already in place. */
typedef struct otd_verify_request {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_FOUND_HAS_MIX when mix is given */
  const uint8_t* blob; uint32_t blob_size;
  uint32_t reserved;
  uint64_t nonce;                  /* for algorithms whose nonce is not inside blob (Ethash: 8-byte nonce) */
  uint64_t height;                 /* KawPow: selects the period program */
  uint8_t mix[OTD_HASH_SIZE];      /* the claimed mix hash, checked when given */
  uint8_t share_target[OTD_HASH_SIZE];
  uint8_t block_target[OTD_HASH_SIZE];
} otd_verify_request_t;

typedef struct otd_verify_result {
  uint32_t struct_size;
  uint32_t meets_share;            /* hash <= share_target */
  uint32_t meets_block;            /* hash <= block_target */
  uint32_t mix_ok;                 /* 1 when no mix was claimed or the claimed mix matches */
  uint8_t hash[OTD_HASH_SIZE];     /* the final hash, 256-bit little-endian number */
  uint8_t mix[OTD_HASH_SIZE];      /* the computed mix hash, when the algorithm has one */
  double share_difficulty;         /* the difficulty this hash reaches, in the coin family's units */
} otd_verify_result_t;

/* Per-thread scan state (scratchpads, VMs). Created and used on the same [worker] thread. */
typedef struct otd_scan_state otd_scan_state_t;

/* What the backend knows about the lane a scan state is for, so large scratchpads land well: request
 * them from the host's otedama.memory/1 service with these flags and this node. */
#define OTD_SCAN_HUGE_PAGES 0x1u     /* the operator allows huge pages (mining.cpu.huge_pages) */
typedef struct otd_scan_params {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_SCAN_* */
  int32_t numa_node;               /* the lane's NUMA node, -1 unknown */
  uint32_t lane;                   /* the backend's lane index */
} otd_scan_params_t;

typedef struct otd_scan_stats {
  uint32_t struct_size;
  uint32_t found;                  /* nonces reported through on_found during this call */
  uint64_t hashes;                 /* nonces actually hashed */
} otd_scan_stats_t;

/* How an implementation was chosen at run time (e.g. "sha-ni x2", "avx2 8-way", "scalar"). */
typedef struct otd_algorithm_info {
  uint32_t struct_size;
  uint32_t hash_size;              /* bytes of the final hash (32) */
  char implementation[OTD_NAME_CAP];
} otd_algorithm_info_t;

typedef struct otd_algorithm {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_ALGO_* */
  const char* name;                /* canonical name, e.g. "sha256d"; static */
  const char* coin_family;         /* "bitcoin", "monero", "ethereum", "ravencoin"; static */

  /* --- mandatory ----------------------------------------------------------------------------------- */

  /* [any] Hash arbitrary input (for `otedama-host hash` and cross-checks). ctx may be NULL when the flag
   * OTD_ALGO_NEEDS_CONTEXT is clear. out_cap >= 32. */
  otd_status_t(OTD_CALL* hash)(const otd_plugin_t* plugin, const otd_algo_context_t* ctx, const uint8_t* input,
                               size_t input_size, uint8_t* out, size_t out_cap, char* err, size_t err_cap);

  /* [any] Verify a candidate. Must be safe to call concurrently from the host's verification pool. */
  otd_status_t(OTD_CALL* verify)(const otd_plugin_t* plugin, const otd_algo_context_t* ctx,
                                 const otd_verify_request_t* request, otd_verify_result_t* result, char* err,
                                 size_t err_cap);

  /* [any] Target <-> difficulty in this coin family's units (Bitcoin: diff 1 = 0x00000000FFFF0000...;
   * Monero: target = floor((2^256 - 1) / difficulty)). Targets are 256-bit little-endian. */
  otd_status_t(OTD_CALL* target_from_difficulty)(const otd_plugin_t* plugin, double difficulty,
                                                 uint8_t target[OTD_HASH_SIZE]);
  otd_status_t(OTD_CALL* difficulty_from_target)(const otd_plugin_t* plugin, const uint8_t target[OTD_HASH_SIZE],
                                                 double* difficulty);

  /* [any] Build the hashing blob of a job for one extranonce (Bitcoin: coinbase -> merkle root -> 80-byte
   * header; Monero: reserved bytes -> tx tree -> hashing blob). The nonce field is left zero.
   * *nonce_offset and *nonce_size say where the nonce goes. OTD_ERR_BUFFER_TOO_SMALL sets *blob_size. */
  otd_status_t(OTD_CALL* build_blob)(const otd_plugin_t* plugin, const otd_template_t* tmpl,
                                     const uint8_t* extranonce, uint32_t extranonce_size, uint32_t ntime,
                                     uint32_t version, uint8_t* blob, uint32_t blob_cap, uint32_t* blob_size,
                                     uint32_t* nonce_offset, uint32_t* nonce_size, char* err, size_t err_cap);

  /* [any] Which implementation runs (after the plugin's own run-time dispatch and self-test). */
  otd_status_t(OTD_CALL* get_info)(const otd_plugin_t* plugin, otd_algorithm_info_t* info);

  /* --- optional (NULL when absent) ----------------------------------------------------------------- */

  /* [any, off the hot path] Prepare the context for a seed/epoch; may take seconds (a RandomX dataset).
   * The host calls it on a background thread and keeps the old context until the new one is ready.
   * *out valid until release_context. Mandatory when OTD_ALGO_NEEDS_CONTEXT is set. */
  otd_status_t(OTD_CALL* prepare_context)(const otd_plugin_t* plugin, const otd_context_params_t* params,
                                          otd_algo_context_t** out, char* err, size_t err_cap);
  /* [control] Free a context once no work unit references it. */
  void(OTD_CALL* release_context)(const otd_plugin_t* plugin, otd_algo_context_t* ctx);

  /* [worker] CPU mining. create/destroy_scan_state run on the worker thread that will use the state
   * (so first-touch NUMA placement lands on the right node). scan() hashes nonces
   * [work->nonce_start, work->nonce_start + work->nonce_count), calls work->on_found for every hash that
   * meets work->share_target, checks *work->abort_flag at least every millisecond and returns
   * OTD_ERR_ABORTED when it is set. All three are NULL when the algorithm has no CPU path. */
  otd_status_t(OTD_CALL* create_scan_state)(const otd_plugin_t* plugin, const otd_algo_context_t* ctx,
                                            const otd_scan_params_t* params, otd_scan_state_t** out, char* err,
                                            size_t err_cap);
  void(OTD_CALL* destroy_scan_state)(const otd_plugin_t* plugin, otd_scan_state_t* state);
  otd_status_t(OTD_CALL* scan)(const otd_plugin_t* plugin, otd_scan_state_t* state, const otd_work_unit_t* work,
                               otd_scan_stats_t* stats);
} otd_algorithm_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_ALGORITHM_H */
