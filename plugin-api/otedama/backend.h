/*
 * Otedama plugin ABI: the backend kind (hardware), interface "otedama.backend/1". SPDX-License-Identifier: MIT
 *
 * Two styles of device fit the same table:
 *  - SCAN devices (CPU, GPU): the host's worker thread for each lane calls run() with a work unit; run()
 *    searches the nonce range and returns when the range is done or the abort flag is set.
 *  - QUEUED devices (ASIC sticks and boards): the device holds a queue of work it never acknowledges as
 *    finished. The host pushes work with push_work() until the device answers OTD_ERR_BUSY or queue_depth
 *    units are outstanding, and calls poll() from the device's worker thread; results name the work_id they
 *    belong to. The host considers the oldest unit retired when a newer one pushes the outstanding count past
 *    queue_depth, and all of them after flush_work() (a new clean job).
 * Found nonces go to work->on_found; the host re-verifies every one on the CPU before it leaves the host.
 */
#ifndef OTEDAMA_BACKEND_H
#define OTEDAMA_BACKEND_H

#include "abi.h"
#include "plugin.h"
#include "work.h"

OTD_EXTERN_C_BEGIN

#define OTD_BACKEND_INTERFACE_ID "otedama.backend/1"

/* Sizes of otd_device_info_t's identity fields. */
#define OTD_PCI_BUS_ID_CAP 32u
#define OTD_DEVICE_UUID_SIZE 16u

/* Device styles. */
#define OTD_DEVICE_SCAN 1u
#define OTD_DEVICE_QUEUED 2u

typedef struct otd_device otd_device_t; /* the backend's per-open-device state */

typedef struct otd_device_info {
  uint32_t struct_size;
  uint32_t style;                  /* OTD_DEVICE_SCAN or OTD_DEVICE_QUEUED */
  char id[OTD_ID_CAP];             /* stable id: "cpu0", "cuda0", "opencl0.1", "usb:1-2" */
  char name[OTD_NAME_CAP];         /* human name: "AMD EPYC 7B13", "NVIDIA H100 80GB HBM3" */
  char algorithms[OTD_NAME_CAP];   /* comma-separated algorithm names it can run: "sha256d,scrypt";
                                      "*" = any algorithm whose plugin has a CPU scan (the CPU backend) */
  uint64_t memory_bytes;           /* device memory (host RAM share for CPU) */
  uint32_t compute_units;          /* cores, SMs, CUs, chips */
  uint32_t max_lanes;              /* how many concurrent run() calls (worker threads) it wants; >= 1 */
  uint32_t queue_depth;            /* QUEUED: work units the device holds; SCAN: 0 */
  int32_t numa_node;               /* -1 unknown */
  uint32_t nonce_size_max;         /* largest nonce it can iterate: 4 or 8 bytes */
  uint32_t reserved;
  /* Appended while 1.0 is current (readers check struct_size): the physical identity of the device, so
   * that one card several backends enumerate (CUDA, OpenCL and Vulkan all list an NVIDIA GPU) is mined
   * once. The host takes two entries for one device when their PCI bus ids are equal, or, where either
   * lacks one, when their UUIDs are equal. Leave both empty when unknown, and for software
   * implementations on the CPU (PoCL, lavapipe): the host then never merges the device with another. */
  char pci_bus_id[OTD_PCI_BUS_ID_CAP]; /* "dddd:bb:dd.f" (domain:bus:device.function), lowercase hex as
                                          Linux's sysfs writes it; "" = unknown */
  uint8_t uuid[OTD_DEVICE_UUID_SIZE];  /* the device UUID in the bytes Vulkan's deviceUUID, CUDA's
                                          cuDeviceGetUuid and OpenCL's CL_DEVICE_UUID_KHR give (for one
                                          driver they agree); all zero = unknown */
} otd_device_info_t;

/* Limits the host applies to a device at open and whenever the operator changes them. 0 = default. */
typedef struct otd_device_limits {
  uint32_t struct_size;
  uint32_t lanes;                  /* threads for CPU (mining.cpu.threads), streams for GPU */
  uint32_t intensity;              /* GPU work size exponent (mining.gpu.intensity) */
  int32_t priority;                /* nice level for CPU workers (mining.cpu.priority) */
  uint32_t temperature_limit_c;    /* throttle above it (mining.gpu.temperature_limit) */
  uint32_t power_limit_w;
  uint32_t flags;                  /* OTD_LIMIT_* */
  uint32_t reserved;
} otd_device_limits_t;
#define OTD_LIMIT_HUGE_PAGES 0x1u     /* allow huge pages (the backend falls back cleanly) */
#define OTD_LIMIT_PIN_THREADS 0x2u    /* pin lanes to cores */

/* Device telemetry; negative = unknown for temperature/fan/power. */
typedef struct otd_device_telemetry {
  uint32_t struct_size;
  uint32_t throttled;
  double hashrate;                 /* the device's own measurement, hashes/s (the host also measures) */
  double temperature_c;
  double fan_percent;
  double power_w;
  uint64_t hashes_total;
  uint64_t hardware_errors;
} otd_device_telemetry_t;

typedef struct otd_backend {
  uint32_t struct_size;
  uint32_t flags;

  /* [control] Fill up to `capacity` infos; *count = devices present (may exceed capacity: call again). */
  otd_status_t(OTD_CALL* enumerate)(const otd_plugin_t* plugin, otd_device_info_t* infos, uint32_t capacity,
                                    uint32_t* count);
  /* [control] Open device `index` (as enumerated). *out valid until close_device. */
  otd_status_t(OTD_CALL* open_device)(const otd_plugin_t* plugin, uint32_t index,
                                      const otd_device_limits_t* limits, otd_device_t** out, char* err,
                                      size_t err_cap);
  /* [control] Stop, join every thread the backend started for it, free. No lane is inside run/poll. */
  void(OTD_CALL* close_device)(const otd_plugin_t* plugin, otd_device_t* device);
  /* [control] Change limits of an open device. */
  otd_status_t(OTD_CALL* set_limits)(const otd_plugin_t* plugin, otd_device_t* device,
                                     const otd_device_limits_t* limits);
  /* [any] Current telemetry. */
  otd_status_t(OTD_CALL* get_telemetry)(const otd_plugin_t* plugin, otd_device_t* device,
                                        otd_device_telemetry_t* out);

  /* --- SCAN devices -------------------------------------------------------------------------------- */
  /* [worker] Search work->nonce range on `lane` (0 .. lanes-1). Returns OTD_OK when the range is done,
   * OTD_ERR_ABORTED when *work->abort_flag was seen set, another error for a device fault (the host's
   * watchdog then reopens the device). hashes_done counts nonces actually hashed. */
  otd_status_t(OTD_CALL* run)(const otd_plugin_t* plugin, otd_device_t* device, uint32_t lane,
                              const otd_work_unit_t* work, uint64_t* hashes_done, char* err, size_t err_cap);

  /* --- QUEUED devices (NULL for scan devices) ------------------------------------------------------ */
  /* [worker] Send one work unit to the device queue. Returns OTD_ERR_BUSY when the device is full. */
  otd_status_t(OTD_CALL* push_work)(const otd_plugin_t* plugin, otd_device_t* device, const otd_work_unit_t* work,
                                    char* err, size_t err_cap);
  /* [worker] Wait up to timeout_ms for results and report each through on_found(on_found_user, found) with
   * found->work_id set to the work unit it belongs to (the host maps it back to its job; results for work
   * it already retired are counted as stale). *hashes_done: the device's estimate since the last poll. */
  otd_status_t(OTD_CALL* poll)(const otd_plugin_t* plugin, otd_device_t* device, uint32_t timeout_ms,
                               otd_found_fn on_found, void* on_found_user, uint64_t* hashes_done, char* err,
                               size_t err_cap);
  /* [worker] Drop all queued work (new clean job). */
  otd_status_t(OTD_CALL* flush_work)(const otd_plugin_t* plugin, otd_device_t* device);
} otd_backend_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_BACKEND_H */
