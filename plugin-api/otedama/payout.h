/*
 * Otedama plugin ABI: the payout scheme kind, interface "otedama.payout/1". SPDX-License-Identifier: MIT
 *
 * A payout scheme is a pure, deterministic function: the same request gives the same credits on every
 * machine, every time. It keeps no state between calls and touches no storage: the host owns the ledger,
 * chooses the shares of the window the scheme asks for, and applies the credits in one transaction.
 * Money is integer atomic units of the coin; no floating point. The credits of one call sum to exactly
 * block_reward (which includes tx_fees), the pool fee included, so nothing is created or lost. Per-share
 * requests (OTD_PAYOUT_WINDOW_SHARE: PPS, FPPS) pay one share, not a block: their credits sum to exactly the
 * share's value, floor(R x weight / network_weight) with R = block_reward - tx_fees (PPS) or block_reward
 * (FPPS), the fee included; the host takes that value from the pool's reserve.
 *
 * Arrays of size-prefixed structs (shares, credits): element i starts at (char*)base + i * stride, where
 * stride = base[0].struct_size, and every element has that struct_size. The caller sets it (for credits,
 * on every element it passes); a writer copies min(its own sizeof, stride) bytes into each element.
 */
#ifndef OTEDAMA_PAYOUT_H
#define OTEDAMA_PAYOUT_H

#include "abi.h"
#include "plugin.h"

OTD_EXTERN_C_BEGIN

#define OTD_PAYOUT_INTERFACE_ID "otedama.payout/1"

/* Share weights are integers: a share of difficulty D weighs round(D * OTD_PAYOUT_WEIGHT_PER_DIFFICULTY).
 * Schemes compute with at least 128-bit intermediates (weight x reward overflows 64 bits). */
#define OTD_PAYOUT_WEIGHT_PER_DIFFICULTY 1000u

/* Which shares a scheme wants in a request. */
#define OTD_PAYOUT_WINDOW_TIME 1u   /* the shares of the last duration_ms before the block (PPLNS by time) */
#define OTD_PAYOUT_WINDOW_WORK 2u   /* the last shares whose weights add up to work_multiple x network weight */
#define OTD_PAYOUT_WINDOW_ROUND 3u  /* the shares since the previous block (PROP) */
#define OTD_PAYOUT_WINDOW_FINDER 4u /* no window: the finder's share only (SOLO) */
#define OTD_PAYOUT_WINDOW_SHARE 5u  /* per share, as each is accepted (PPS, FPPS): one share per request */
typedef struct otd_payout_window {
  uint32_t struct_size;
  uint32_t type;               /* OTD_PAYOUT_WINDOW_* */
  uint64_t duration_ms;        /* TIME */
  uint32_t work_multiple;      /* WORK: N in N x network difficulty */
  uint32_t pays_tx_fees;       /* non-zero when tx_fees are distributed too (FPPS) */
} otd_payout_window_t;

typedef struct otd_payout_share {
  uint32_t struct_size;
  uint32_t reserved;
  const char* account;         /* payout address on the request's coin */
  uint64_t weight;             /* share difficulty x OTD_PAYOUT_WEIGHT_PER_DIFFICULTY */
  uint64_t network_weight;     /* network difficulty when the share was found, same scale (PPS) */
  int64_t time_ms;             /* when the host accepted it, ms since the Unix epoch */
  uint64_t share_id;           /* the ledger's id, for audit */
} otd_payout_share_t;

typedef struct otd_payout_request {
  uint32_t struct_size;
  uint32_t fee_ppm;            /* pool fee in parts per million (pool.fee_percentage 1.5 -> 15000) */
  const char* coin;
  const char* fee_account;     /* the operator's account that receives the fee */
  const char* finder;          /* the account that found the block (NULL for per-share requests) */
  uint64_t block_reward;       /* atomic units: subsidy + transaction fees (what the block pays out) */
  uint64_t tx_fees;            /* the part of block_reward that is transaction fees (FPPS needs it) */
  int64_t block_time_ms;       /* when the block was found (or the share, for per-share requests) */
  const otd_payout_share_t* shares; /* valid during the call, oldest first */
  uint64_t share_count;
} otd_payout_request_t;

/* One credit. `account` must point at a string of the request (a share's account, fee_account, finder);
 * the host copies it. Several credits may name the same account; the host sums them. */
typedef struct otd_credit {
  uint32_t struct_size;
  uint32_t is_fee;             /* non-zero for the pool fee credit */
  const char* account;
  uint64_t amount;             /* atomic units */
} otd_credit_t;

typedef struct otd_payout {
  uint32_t struct_size;
  uint32_t reserved;
  const char* scheme;          /* "PPLNS", "PPS", "FPPS", "PROP", "SOLO"; static */

  /* [control] Which shares this scheme (with its configuration) wants per request. */
  otd_status_t(OTD_CALL* get_window)(const otd_plugin_t* plugin, otd_payout_window_t* window);

  /* [any] Compute the credits. Writes up to `capacity` credits and sets *count to the number needed;
   * returns OTD_ERR_BUFFER_TOO_SMALL (writing nothing) when capacity < needed. Deterministic and pure. */
  otd_status_t(OTD_CALL* compute)(const otd_plugin_t* plugin, const otd_payout_request_t* request,
                                  otd_credit_t* credits, uint64_t capacity, uint64_t* count, char* err,
                                  size_t err_cap);
} otd_payout_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_PAYOUT_H */
