/*
 * Otedama plugin ABI: base definitions shared by every header.
 * SPDX-License-Identifier: MIT
 *
 * This header is pure C99. Nothing here may depend on C++ or on the host's build.
 *
 * Rules every header of the ABI follows (see docs/abi.md for the long form):
 *  - Fixed-width integers only; strings are `const char*` UTF-8, NUL-terminated.
 *  - Enumerations are `uint32_t` typedefs with #define'd values (a C enum has no fixed underlying type).
 *  - Booleans cross as `uint32_t` (0 = false, anything else = true).
 *  - Every struct that crosses starts with `uint32_t struct_size` and only grows by appending. A reader
 *    touches a field only if `offsetof(field) + sizeof(field) <= struct_size`
 *    (OTD_HAS_FIELD below). Whoever fills a struct sets struct_size = sizeof of the version it knows.
 *  - Whoever allocates frees. Every pointer documents its lifetime.
 *  - Errors are `otd_status_t` codes; messages are copied into a caller-supplied buffer.
 *  - No C++ exception ever crosses: a plugin catches everything inside each entry point.
 *
 * Thread tags. Every function in the ABI is tagged with where the host may call it:
 *  [control]  the host's single control strand: never two such calls at once for one plugin instance.
 *  [worker]   a host-owned thread dedicated to one device lane (one per CPU worker thread, one per GPU ...).
 *  [io]       one of the host's network I/O threads (callbacks of the otedama.net service).
 *  [any]      any thread, possibly concurrently: the function must be thread-safe.
 * Host services carry the same tags for where a plugin may call them.
 */
#ifndef OTEDAMA_ABI_H
#define OTEDAMA_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define OTD_EXTERN_C extern "C"
#define OTD_EXTERN_C_BEGIN extern "C" {
#define OTD_EXTERN_C_END }
#else
#define OTD_EXTERN_C
#define OTD_EXTERN_C_BEGIN
#define OTD_EXTERN_C_END
#endif

/* Calling convention: the platform's C convention, pinned so a vendor's compiler flags cannot change it. */
#if defined(_WIN32) && !defined(_WIN64)
#define OTD_CALL __cdecl
#else
#define OTD_CALL
#endif

/* Visibility of the single exported entry symbol. Plugins build with -fvisibility=hidden. */
#if defined(_WIN32)
#define OTD_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define OTD_EXPORT __attribute__((visibility("default")))
#else
#define OTD_EXPORT
#endif

/* ABI version. Same major required; the minor is negotiated (see plugin.h). */
#define OTD_ABI_MAJOR 1u
#define OTD_ABI_MINOR 0u

/* Status codes. 0 is success; negatives are errors. Positive values are reserved for "success with info". */
typedef int32_t otd_status_t;
#define OTD_OK 0
#define OTD_ERR_GENERIC (-1)      /* unspecified failure; the message buffer says what */
#define OTD_ERR_INVALID_ARG (-2)  /* a parameter is malformed (bad length, NULL where required ...) */
#define OTD_ERR_UNSUPPORTED (-3)  /* the request is valid but this plugin/host does not do it */
#define OTD_ERR_NO_MEMORY (-4)
#define OTD_ERR_BUFFER_TOO_SMALL (-5) /* the caller's buffer is too small; a `needed` out-param says how big */
#define OTD_ERR_NOT_FOUND (-6)
#define OTD_ERR_BUSY (-7)         /* try again later (queue full, device busy) */
#define OTD_ERR_ABORTED (-8)      /* the host asked to stop (new job, shutdown) */
#define OTD_ERR_IO (-9)           /* device, file or network failure */
#define OTD_ERR_TIMEOUT (-10)
#define OTD_ERR_STATE (-11)       /* called in the wrong state (device not open, not started ...) */
#define OTD_ERR_SELF_TEST (-12)   /* a known-answer self-test did not match */
#define OTD_ERR_EXCEPTION (-13)   /* a C++ plugin caught an exception at its boundary (message says what) */
#define OTD_ERR_VERSION (-14)     /* ABI or struct version mismatch */

/* Plugin kinds, each with its own interface table (see algorithm.h, backend.h, payout.h, transport.h). */
typedef uint32_t otd_kind_t;
#define OTD_KIND_ALGORITHM 1u
#define OTD_KIND_BACKEND 2u
#define OTD_KIND_PAYOUT 3u
#define OTD_KIND_TRANSPORT 4u

/* Log levels for the host's log service. */
typedef uint32_t otd_log_level_t;
#define OTD_LOG_TRACE 0u
#define OTD_LOG_DEBUG 1u
#define OTD_LOG_INFO 2u
#define OTD_LOG_WARN 3u
#define OTD_LOG_ERROR 4u

/* Recommended size of an error message buffer. Writers truncate and always NUL-terminate. */
#define OTD_ERROR_CAP 256u

/* Sizes of fixed byte fields used across the ABI. */
#define OTD_HASH_SIZE 32u   /* every PoW hash and 256-bit target is 32 bytes */
#define OTD_ID_CAP 64u      /* fixed char arrays for ids inside flat structs (events, telemetry) */
#define OTD_NAME_CAP 128u

/* The byte just past `field` in `type`: a struct holds the field when struct_size >= OTD_FIELD_END. */
#define OTD_FIELD_END(type, field) (offsetof(type, field) + sizeof(((type*)0)->field))

/* True when the struct at `p` (whose first member is uint32_t struct_size) contains `field` entirely. */
#define OTD_HAS_FIELD(p, type, field) ((p) != NULL && (size_t)(p)->struct_size >= OTD_FIELD_END(type, field))

/*
 * 256-bit numbers (hashes compared as numbers, targets) are 32 bytes, LITTLE-ENDIAN: byte 0 is the least
 * significant. A hash "meets" a target when hash <= target as 256-bit unsigned integers. This is the
 * byte order of Bitcoin's internal uint256 (the reverse of how block explorers print hashes) and of
 * Monero/Ethash results read as little-endian numbers; algorithm plugins document how their coin maps onto it.
 */

#endif /* OTEDAMA_ABI_H */
