/*
 * Otedama plugin ABI: what crosses between kinds: templates, jobs, work units, candidates, share results,
 * blocks. SPDX-License-Identifier: MIT
 *
 * Flow (docs/architecture.md): a transport posts a TEMPLATE -> the host makes a JOB (asking the algorithm to
 * prepare its context when the seed/epoch is new) -> splits it into WORK UNITS for local devices and into
 * per-connection jobs for downstream transports -> backends and downstream miners produce CANDIDATES -> the
 * algorithm verifies each -> SHARE RESULT back to whoever submitted, BLOCK to the transport owning the job.
 *
 * Lifetimes: every pointer inside these structs is valid only during the call that receives the struct,
 * unless the field says otherwise. A receiver that needs the data later copies it.
 */
#ifndef OTEDAMA_WORK_H
#define OTEDAMA_WORK_H

#include "abi.h"

OTD_EXTERN_C_BEGIN

/* Template flags. */
#define OTD_TEMPLATE_CLEAN 0x1u /* new previous block: every older job of this source is stale now */
/* Monero family: `blob` is already the hashing blob (an upstream pool's job, whose reserved bytes the pool
 * filled), not a block template: build_blob takes no extranonce and only places the nonce. */
#define OTD_TEMPLATE_HASHING_BLOB 0x2u
/* The source has no valid template now (its coin node is down, still syncing or on another chain): every
 * job it posted so far is stale, local devices stop mining them and wait until the source posts a normal
 * template again. Only struct_size and flags are read; job_id comes back 0 (docs/abi.md "Transport"). */
#define OTD_TEMPLATE_WITHDRAW 0x4u
/* Ethash family, test networks only (the built-in devnet's `test_epochs`): every epoch has the TEST
 * geometry below instead of the chain's (a real epoch-0 DAG is 1 GiB: minutes on a CPU OpenCL device).
 * The epoch's seed is still the chain's. The host passes it on to the algorithm as
 * OTD_CONTEXT_FLAG_TEST_EPOCH and to backends as OTD_WORK_TEST_EPOCH, and keys the context apart from the
 * real epoch's, so a share is only ever judged on the geometry its template named. A backend that mines the
 * Ethash family must honour OTD_WORK_TEST_EPOCH or refuse such work. Real-chain sources never set it. */
#define OTD_TEMPLATE_TEST_EPOCH 0x8u
#define OTD_TEST_EPOCH_CACHE_ITEMS 1031u       /* light-cache items (64 bytes each; a prime, as real caches) */
#define OTD_TEST_EPOCH_DATASET_BYTES 262912u   /* 4108 dataset items of 64 bytes (2054 hashimoto pages,
                                                  1027 KawPow entries) */

/* Work unit flags. */
#define OTD_WORK_TEST_EPOCH 0x1u /* the job's template has OTD_TEMPLATE_TEST_EPOCH */

/*
 * A block template as a job source (coin node, upstream pool, devnet, sharechain) posts it.
 * Coin families use the fields they need and leave the rest zero/NULL:
 *  - Bitcoin family (sha256d, scrypt): version, prev_hash, ntime, nbits, coinbase1/2 around the extranonce
 *    space, merkle_branch. The hashing blob is the 80-byte header built from these.
 *  - Monero family (randomx): blob = block template blob (monerod's blocktemplate_blob), reserved_offset and
 *    extranonce_size = the extranonce space in it, seed = RandomX seed hash, epoch 0 (the seed alone names
 *    the context), next_seed when the source knows it.
 *  - Ethereum family (ethash, kawpow): blob = 32-byte header hash, seed = epoch seed, epoch.
 */
typedef struct otd_template {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_TEMPLATE_* */
  const char* coin;                /* ticker, e.g. "BTC", "XMR", "DEVNET-SHA256D" */
  const char* algorithm;           /* algorithm name, e.g. "sha256d" */
  const char* source_job_id;       /* the source's own id for this template (echoed back on submit_block) */
  uint64_t height;                 /* height of the block being mined */
  uint8_t prev_hash[OTD_HASH_SIZE];/* previous block hash, internal byte order */
  uint8_t block_target[OTD_HASH_SIZE]; /* network target, 256-bit little-endian */
  uint64_t reward;                 /* block reward in the coin's atomic units (subsidy + fees) */
  uint64_t tx_fees;                /* the fee part of reward, atomic units (FPPS needs it) */
  uint32_t version;                /* Bitcoin family: block version */
  uint32_t ntime;                  /* Bitcoin family: block time */
  uint32_t nbits;                  /* Bitcoin family: compact network target */
  uint32_t extranonce_size;        /* bytes of extranonce space between coinbase1 and coinbase2 (or reserved) */
  const uint8_t* coinbase1; uint32_t coinbase1_size;
  const uint8_t* coinbase2; uint32_t coinbase2_size;
  const uint8_t* merkle_branch;    /* merkle_branch_count x 32 bytes, bottom-up, internal byte order */
  uint32_t merkle_branch_count;
  uint32_t nonce_offset;           /* Monero family: byte offset of the nonce in blob */
  const uint8_t* blob; uint32_t blob_size;   /* family-specific (see above) */
  uint32_t reserved_offset;        /* Monero family: offset of the extranonce (reserved) bytes in blob */
  uint32_t nonce_size;             /* bytes of nonce in the hashing blob: 4 (Bitcoin, Monero) or 8 (Ethash) */
  const uint8_t* seed; uint32_t seed_size;   /* RandomX seed hash / Ethash-KawPow epoch seed */
  uint64_t epoch;                  /* Ethash/KawPow epoch number */
  const uint8_t* block_data; uint32_t block_data_size; /* opaque to the host: what the source needs to
                                                          assemble the block (transactions ...), echoed back */
  /* The seed the chain switches to next when the source knows it (monerod's next_seed_hash), so the host
   * prepares that context in the background and mining does not stall at the switch. NULL/0 when unknown. */
  const uint8_t* next_seed; uint32_t next_seed_size;
  uint32_t reserved2;              /* 0 */
  /* The part of the nonce field the host may use: nonces n with nonce_base <= n < nonce_base + nonce_space
   * (nonce_space 0 = up to the end of the field). 0/0 = the whole field. An upstream pool that fixes the top
   * bytes of the nonce sets them here: EthereumStratum's extranonce P of k bytes is nonce_base = P << (64 - 8k),
   * nonce_space = 2^(64 - 8k). Local devices then only scan inside it; candidates outside it are the
   * submitter's affair (the host verifies whatever nonce it is given). Appended after ABI 1.0: check
   * struct_size (older templates read as 0/0). */
  uint64_t nonce_base;
  uint64_t nonce_space;
} otd_template_t;

/* A job as the host hands it to a downstream transport (stratum server, sharechain peer). */
typedef struct otd_job {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_TEMPLATE_CLEAN when older jobs are stale */
  uint64_t job_id;                 /* host-assigned, unique for the life of the process */
  const otd_template_t* tmpl;      /* the template the job was made from (valid during the call) */
  uint8_t share_target[OTD_HASH_SIZE]; /* default share target the host suggests (downstream may vary it) */
  double share_difficulty;         /* the same as a difficulty in the coin family's units */
  double network_difficulty;
} otd_job_t;

/* Opaque per-seed/per-epoch context an algorithm prepared (RandomX dataset, Ethash DAG ...). */
typedef struct otd_algo_context otd_algo_context_t;

struct otd_algorithm; /* algorithm.h */
struct otd_plugin;    /* plugin.h */

/* One found nonce as a backend reports it. The host never trusts `hash`: it re-verifies on the CPU. */
typedef struct otd_found {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_FOUND_HAS_MIX when mix is set */
  uint64_t work_id;                /* the work unit it belongs to (ASIC queues answer with this id) */
  uint64_t nonce;
  uint8_t hash[OTD_HASH_SIZE];     /* the device's own result, for mismatch diagnosis */
  uint8_t mix[OTD_HASH_SIZE];      /* Ethash/KawPow mix hash */
  uint32_t version_bits;           /* Bitcoin family: rolled version bits (BIP310), 0 if none */
  uint32_t ntime;                  /* Bitcoin family: rolled ntime, 0 if unchanged */
} otd_found_t;
#define OTD_FOUND_HAS_MIX 0x1u

/* Callback a backend calls for every nonce it finds. [worker] (the lane's own thread) or [any] for queued
 * devices. `found` is valid during the call; the host copies it. Returns OTD_OK, or OTD_ERR_ABORTED when the
 * work unit is no longer current (the backend may stop the range early). */
typedef otd_status_t(OTD_CALL* otd_found_fn)(void* user, const otd_found_t* found);

/*
 * A work unit: one job, materialised into a hashing blob, and a nonce range for one device lane.
 * Valid from the call that receives it until that call returns (scan style). Queued style: the host keeps
 * it alive until it retires the unit: once queue_depth newer units were pushed after it, or at flush_work.
 * Results naming a retired work_id are counted as stale.
 */
typedef struct otd_work_unit {
  uint32_t struct_size;
  uint32_t flags;
  uint64_t work_id;                /* host-assigned, unique; queued devices echo it in otd_found_t */
  uint64_t job_id;
  const char* algorithm;           /* algorithm name */
  const uint8_t* blob; uint32_t blob_size; /* hashing input with the nonce field to be filled */
  uint32_t nonce_offset;           /* where the nonce sits in blob */
  uint32_t nonce_size;             /* 4 or 8 bytes, little-endian in the blob */
  uint64_t nonce_start;            /* first nonce of the range */
  uint64_t nonce_count;            /* number of nonces in the range (0 = none) */
  uint8_t share_target[OTD_HASH_SIZE]; /* report every nonce whose hash meets this (256-bit LE) */
  uint8_t block_target[OTD_HASH_SIZE];
  uint64_t height;
  uint64_t epoch;
  const uint8_t* seed; uint32_t seed_size;
  /* The algorithm that owns the job, so a generic backend (CPU) can call its scan function, and the
   * context it prepared for this job's seed/epoch (NULL when the algorithm needs none). */
  const struct otd_plugin* algorithm_plugin;
  const struct otd_algorithm* algorithm_table;
  const otd_algo_context_t* algorithm_context;
  /* Host-assigned id of algorithm_context, never reused for the life of the process (0 = no context).
   * A backend that caches per-thread scan state keys it on this id: a released context's address may be
   * reused by the next one, its id never is. */
  uint64_t algorithm_context_id;
  /* Set non-zero by the host (from any thread) when the work is superseded or the host stops. Scan-style
   * backends check it at least every millisecond and return OTD_ERR_ABORTED; a GPU backend, which can only
   * look between kernel launches, keeps its launches short (tens of milliseconds) and checks between them. */
  const volatile uint32_t* abort_flag;
  otd_found_fn on_found;
  void* on_found_user;
} otd_work_unit_t;

/* A candidate the host is asked to verify: from a local device (after otd_found_t) or from a downstream
 * miner's submission (a stratum server posts it through the jobs service). */
typedef struct otd_candidate {
  uint32_t struct_size;
  uint32_t flags;                  /* OTD_FOUND_HAS_MIX */
  uint64_t job_id;
  uint64_t connection_id;          /* downstream transport's connection, 0 for local devices */
  const char* worker;              /* worker name ("account.rig"), NULL for local devices */
  const uint8_t* extranonce; uint32_t extranonce_size; /* extranonce1 || extranonce2 as placed in coinbase */
  uint64_t nonce;
  uint32_t ntime;                  /* Bitcoin family: the ntime the miner hashed with; 0 = the template's */
  uint32_t version_bits;           /* Bitcoin family: the whole block version the miner hashed with (BIP310 bits
                                      already merged into the template's version); 0 = the template's own */
  uint8_t mix[OTD_HASH_SIZE];
  uint8_t share_target[OTD_HASH_SIZE]; /* target the submitter was given for this job */
  uint64_t submission_id;          /* the submitter's own id, echoed back in the share result */
} otd_candidate_t;

/* The host's verdict on a candidate, sent back to the transport that submitted it. */
typedef uint32_t otd_share_verdict_t;
#define OTD_SHARE_ACCEPTED 0u
#define OTD_SHARE_BLOCK 1u            /* accepted and it solves a block */
#define OTD_SHARE_LOW_DIFFICULTY 2u
#define OTD_SHARE_STALE 3u            /* job unknown or superseded */
#define OTD_SHARE_DUPLICATE 4u
#define OTD_SHARE_MALFORMED 5u
#define OTD_SHARE_BAD_NTIME 6u
#define OTD_SHARE_OVERLOADED 7u       /* verification queue full: shed, counted */
#define OTD_SHARE_INTERNAL_ERROR 8u

typedef struct otd_share_result {
  uint32_t struct_size;
  otd_share_verdict_t verdict;
  uint64_t job_id;
  uint64_t connection_id;
  uint64_t submission_id;
  uint8_t hash[OTD_HASH_SIZE];
  double share_difficulty;         /* difficulty the hash actually reached */
  char reason[OTD_NAME_CAP];       /* human-readable, e.g. "low difficulty share (0.4 < 1)" */
} otd_share_result_t;

/* A solved block for the job source that owns the job. */
typedef struct otd_block {
  uint32_t struct_size;
  uint32_t flags;
  uint64_t job_id;
  const otd_template_t* tmpl;      /* the template the job came from (its block_data, source_job_id ...) */
  const uint8_t* header; uint32_t header_size; /* the solved hashing blob (nonce, ntime, version filled in) */
  const uint8_t* coinbase; uint32_t coinbase_size; /* full coinbase transaction (Bitcoin family) */
  uint64_t nonce;
  uint8_t mix[OTD_HASH_SIZE];
  uint8_t hash[OTD_HASH_SIZE];
  /* The extranonce the solution was found with, as placed in the template (Bitcoin family: between
   * coinbase1 and coinbase2, already inside `coinbase`; Monero family: at reserved_offset of the template
   * blob, which is how the source rebuilds the block it submits). Appended after ABI 1.0: check struct_size. */
  const uint8_t* extranonce; uint32_t extranonce_size;
  uint32_t reserved;               /* 0 */
} otd_block_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_WORK_H */
