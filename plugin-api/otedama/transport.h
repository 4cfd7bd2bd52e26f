/*
 * Otedama plugin ABI: the transport kind, interface "otedama.transport/1". SPDX-License-Identifier: MIT
 *
 * Transports move jobs, shares and blocks across the host's edge, in three roles (one plugin may have
 * several):
 *  - JOB SOURCE upstream: a coin node (monerod, bitcoind), an upstream pool, the built-in devnet, the
 *    sharechain. It posts templates through the otedama.jobs service and submits solved blocks/shares.
 *  - SERVER downstream: a stratum server for outside miners. It receives jobs from the host, posts the
 *    miners' submissions as candidates through otedama.jobs and answers them when the verdict arrives.
 *  - PEER: P2P sharechain peers: jobs and shares both ways.
 * Sockets run on the host's I/O threads through host services; a transport starts no threads of its own
 * for networking, and everything it started is stopped and joined in stop().
 */
#ifndef OTEDAMA_TRANSPORT_H
#define OTEDAMA_TRANSPORT_H

#include "abi.h"
#include "algorithm.h"
#include "plugin.h"
#include "work.h"

OTD_EXTERN_C_BEGIN

#define OTD_TRANSPORT_INTERFACE_ID "otedama.transport/1"

#define OTD_TRANSPORT_JOB_SOURCE 0x1u
#define OTD_TRANSPORT_SERVER 0x2u
#define OTD_TRANSPORT_PEER 0x4u

typedef struct otd_transport_status {
  uint32_t struct_size;
  uint32_t state;              /* OTD_STATUS_UP / DEGRADED / DOWN (events.h) */
  uint64_t connections;        /* open connections (servers, peers), upstream connections (sources) */
  uint64_t templates;          /* templates posted so far */
  uint64_t submissions;        /* candidates posted (servers) or shares/blocks sent upstream (sources) */
  char endpoint[OTD_NAME_CAP]; /* what it is bound/connected to, e.g. "0.0.0.0:3333", "127.0.0.1:18081" */
  char message[OTD_NAME_CAP];  /* last error or a status line */
} otd_transport_status_t;

typedef struct otd_transport {
  uint32_t struct_size;
  uint32_t roles;              /* OTD_TRANSPORT_* */

  /* [control] Bind/connect and begin. Fail with a message naming what could not be done. */
  otd_status_t(OTD_CALL* start)(const otd_plugin_t* plugin, char* err, size_t err_cap);
  /* [control] Close everything and join; no callback into the host after it returns. */
  void(OTD_CALL* stop)(const otd_plugin_t* plugin);
  /* [any] */
  otd_status_t(OTD_CALL* get_status)(const otd_plugin_t* plugin, otd_transport_status_t* status);

  /* [control] SERVER/PEER: a new job to send downstream (NULL for pure job sources). */
  otd_status_t(OTD_CALL* on_job)(const otd_plugin_t* plugin, const otd_job_t* job);
  /* [control] SERVER/PEER: the verdict for a candidate this transport submitted. */
  otd_status_t(OTD_CALL* on_share_result)(const otd_plugin_t* plugin, const otd_share_result_t* result);

  /* [control] JOB SOURCE: a solved block for a job made from this source's template. Returns once the
   * block is handed on; the node's answer comes later as an OTD_EVENT_BLOCK (FOUND/REJECTED). */
  otd_status_t(OTD_CALL* submit_block)(const otd_plugin_t* plugin, const otd_block_t* block, char* err,
                                       size_t err_cap);
  /* [control] JOB SOURCE that is an upstream pool: forward a verified share (NULL otherwise). */
  otd_status_t(OTD_CALL* submit_share)(const otd_plugin_t* plugin, const otd_candidate_t* candidate,
                                       const otd_verify_result_t* verified);
} otd_transport_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_TRANSPORT_H */
