/*
 * Otedama plugin ABI: events. SPDX-License-Identifier: MIT
 *
 * Events are flat, size-prefixed, typed and copied by value: no pointers inside, so the host can queue
 * them and hand them to any subscriber (API, WebSocket, metrics, logs) on any thread. Every event struct
 * starts with otd_event_header_t; header.size is the size of the whole struct.
 */
#ifndef OTEDAMA_EVENTS_H
#define OTEDAMA_EVENTS_H

#include "abi.h"

OTD_EXTERN_C_BEGIN

typedef uint32_t otd_event_type_t;
#define OTD_EVENT_TELEMETRY 1u       /* otd_event_telemetry_t: a device's hashrate, temperature ... */
#define OTD_EVENT_SHARE 2u           /* otd_event_share_t: a share accepted or rejected (host posts) */
#define OTD_EVENT_BLOCK 3u           /* otd_event_block_t: a block found, confirmed or orphaned */
#define OTD_EVENT_STATUS 4u          /* otd_event_status_t: a component's health changed */
#define OTD_EVENT_USER_BASE 0x10000u /* plugin-private event types start here */

typedef struct otd_event_header {
  uint32_t size;            /* sizeof the whole event struct */
  otd_event_type_t type;
  uint64_t time_ns;         /* host monotonic clock; 0 = let the host stamp it */
  char source[OTD_ID_CAP];  /* plugin id; the host overwrites it with the poster's id */
} otd_event_header_t;

/* Device telemetry. Unknown values are negative (temperature, fan, power) or 0 (counts). */
typedef struct otd_event_telemetry {
  otd_event_header_t header;
  char device[OTD_ID_CAP];  /* device id as enumerated, e.g. "cpu0", "cuda1", "usb:1-2" */
  double hashrate;          /* hashes per second, averaged over the last interval */
  double temperature_c;
  double fan_percent;
  double power_w;
  uint64_t hashes_total;
  uint64_t errors_total;    /* hardware errors and CPU re-verification mismatches */
  uint32_t lanes;           /* active lanes/threads */
  uint32_t throttled;       /* non-zero when throttled by a temperature or power limit */
} otd_event_telemetry_t;

typedef struct otd_event_share {
  otd_event_header_t header;
  uint32_t verdict;         /* OTD_SHARE_* (work.h) */
  uint32_t reserved;
  uint64_t job_id;
  char worker[OTD_NAME_CAP];
  char coin[OTD_ID_CAP];
  double difficulty;        /* the share target's difficulty */
  double share_difficulty;  /* the difficulty the hash reached */
  /* Why it was rejected, in words ("Low difficulty share", a pool's own message); empty when accepted.
   * Appended after ABI 1.0: a 1.0-sized event is accepted and read with an empty reason. */
  char reason[OTD_NAME_CAP];
} otd_event_share_t;

#define OTD_BLOCK_FOUND 1u
#define OTD_BLOCK_CONFIRMED 2u
#define OTD_BLOCK_ORPHANED 3u
#define OTD_BLOCK_REJECTED 4u       /* the node refused it */
typedef struct otd_event_block {
  otd_event_header_t header;
  uint32_t state;           /* OTD_BLOCK_* */
  uint32_t reserved;
  uint64_t height;
  uint8_t hash[OTD_HASH_SIZE];
  uint64_t reward;          /* atomic units */
  char coin[OTD_ID_CAP];
  char finder[OTD_NAME_CAP];
} otd_event_block_t;

#define OTD_STATUS_UP 1u
#define OTD_STATUS_DEGRADED 2u
#define OTD_STATUS_DOWN 3u
typedef struct otd_event_status {
  otd_event_header_t header;
  uint32_t state;           /* OTD_STATUS_* */
  uint32_t reserved;
  char component[OTD_ID_CAP]; /* e.g. "node:127.0.0.1:18081" */
  char message[OTD_NAME_CAP];
} otd_event_status_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_EVENTS_H */
