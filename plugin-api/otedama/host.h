/*
 * Otedama plugin ABI: the host services table handed to every plugin. SPDX-License-Identifier: MIT
 *
 * Each plugin instance receives its own otd_host_t (the host knows who is calling from host_data).
 * The core table carries what every plugin needs (logging, events, config, clock, metrics); everything
 * else is a service queried by id through get_service() and may be NULL on a host that lacks it.
 * New services are added under new ids; a service table only grows by appending.
 *
 * Plugins log through the host, never through a logging library of their own (spdlog registries split
 * per shared object, and the host owns sinks, levels and formats).
 */
#ifndef OTEDAMA_HOST_H
#define OTEDAMA_HOST_H

#include "abi.h"
#include "events.h"
#include "work.h"

OTD_EXTERN_C_BEGIN

/* Metric types (Prometheus semantics). */
typedef uint32_t otd_metric_type_t;
#define OTD_METRIC_COUNTER 1u   /* update() adds (value >= 0) */
#define OTD_METRIC_GAUGE 2u     /* update() sets */
#define OTD_METRIC_HISTOGRAM 3u /* update() observes; buckets from the descriptor */

#define OTD_METRIC_MAX_LABELS 4u

typedef struct otd_metric_desc {
  uint32_t struct_size;
  otd_metric_type_t type;
  const char* name;          /* without the otedama_ prefix: "cpu_hashes_total"; [a-z_][a-z0-9_]* */
  const char* help;
  const char* unit;          /* base unit: "seconds", "bytes", "hashes", "" */
  uint32_t label_count;      /* <= OTD_METRIC_MAX_LABELS */
  uint32_t bucket_count;     /* histograms only */
  const char* const* label_names;
  const double* buckets;     /* histograms only, ascending upper bounds */
} otd_metric_desc_t;

typedef struct otd_host {
  uint32_t struct_size;
  uint32_t abi_major;        /* the negotiated ABI version */
  uint32_t abi_minor;
  uint32_t reserved;
  void* host_data;           /* the host's own; plugins never touch it */
  const char* host_name;     /* "otedama-host" */
  const char* host_version;  /* "0.1.0" */

  /* [any] Log one message (UTF-8, no trailing newline needed). The host sanitises control characters. */
  void(OTD_CALL* log)(const struct otd_host* host, otd_log_level_t level, const char* message);

  /* [any] Post an event; the host copies header->size bytes. Returns OTD_ERR_INVALID_ARG for a malformed
   * header, OTD_ERR_BUSY when the event queue is full (the event is dropped and counted). */
  otd_status_t(OTD_CALL* post_event)(const struct otd_host* host, const otd_event_header_t* event);

  /* [any] Copy this plugin's configuration subtree as compact JSON (an object, "{}" when none) into buf.
   * If cap is too small returns OTD_ERR_BUFFER_TOO_SMALL and sets *needed (including the NUL). */
  otd_status_t(OTD_CALL* get_config)(const struct otd_host* host, char* buf, size_t cap, size_t* needed);

  /* [any] Monotonic clock in nanoseconds (for intervals), wall clock in ms since the Unix epoch. */
  uint64_t(OTD_CALL* monotonic_ns)(const struct otd_host* host);
  int64_t(OTD_CALL* wall_time_ms)(const struct otd_host* host);

  /* [control] Register a metric; the host prefixes "otedama_" and adds a plugin="<id>" label.
   * *metric_id is valid for the life of the instance. Registering the same name twice returns the same id
   * when the descriptors agree, OTD_ERR_INVALID_ARG otherwise. */
  otd_status_t(OTD_CALL* metric_register)(const struct otd_host* host, const otd_metric_desc_t* desc,
                                          uint32_t* metric_id);
  /* [any] Update a metric; label_values has the descriptor's label_count entries (NULL when none). */
  void(OTD_CALL* metric_update)(const struct otd_host* host, uint32_t metric_id,
                                const char* const* label_values, double value);

  /* [any] A service table by id (OTD_SERVICE_*), or NULL when this host has none. Valid until destroy. */
  const void*(OTD_CALL* get_service)(const struct otd_host* host, const char* service_id);
} otd_host_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.jobs/1": what transports use to feed the scheduler.                                  */
#define OTD_SERVICE_JOBS "otedama.jobs/1"
typedef struct otd_jobs_service {
  uint32_t struct_size;
  /* [any] A job source posts a new template. The host copies it and answers with the job id it made
   * (or an error naming the bad field in err). */
  otd_status_t(OTD_CALL* submit_template)(const otd_host_t* host, const otd_template_t* tmpl, uint64_t* job_id,
                                          char* err, size_t err_cap);
  /* [any] A downstream transport posts a miner's submission. Verification runs on the host's verification
   * pool; the verdict comes back through the transport's on_share_result. Returns OTD_ERR_BUSY when the
   * queue is full (the submission is counted as shed and should be answered as overloaded). */
  otd_status_t(OTD_CALL* submit_candidate)(const otd_host_t* host, const otd_candidate_t* candidate);
} otd_jobs_service_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.timer/1": timers on the control strand (plugins do not start threads for timing).   */
#define OTD_SERVICE_TIMER "otedama.timer/1"
typedef struct otd_timer otd_timer_t;
typedef void(OTD_CALL* otd_timer_fn)(void* user);
typedef struct otd_timer_service {
  uint32_t struct_size;
  /* [any] Call fn(user) on the control strand after interval_ms, then every interval_ms if repeat != 0.
   * *out valid until cancel(); every timer, a one-shot one that has fired too, is freed by cancel(). */
  otd_status_t(OTD_CALL* start)(const otd_host_t* host, uint32_t interval_ms, uint32_t repeat, otd_timer_fn fn,
                                void* user, otd_timer_t** out);
  /* [control] Stop and free the timer; fn is not called after cancel returns. */
  void(OTD_CALL* cancel)(const otd_host_t* host, otd_timer_t* timer);
} otd_timer_service_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.serial/1": serial ports through the host (ASIC sticks, FPGA boards).                  */
#define OTD_SERVICE_SERIAL "otedama.serial/1"
typedef struct otd_serial_port otd_serial_port_t;

#define OTD_SERIAL_PARITY_NONE 0u
#define OTD_SERIAL_PARITY_ODD 1u
#define OTD_SERIAL_PARITY_EVEN 2u
typedef struct otd_serial_config {
  uint32_t struct_size;
  uint32_t baud;             /* e.g. 115200 */
  uint32_t data_bits;        /* 5..8 */
  uint32_t stop_bits;        /* 1 or 2 */
  uint32_t parity;           /* OTD_SERIAL_PARITY_* */
  uint32_t flow_control;     /* 0 none, 1 RTS/CTS */
} otd_serial_config_t;

/* One enumerated port; strings valid during the callback. */
typedef struct otd_serial_port_info {
  uint32_t struct_size;
  uint32_t reserved;
  const char* path;          /* "/dev/ttyUSB0" */
  const char* description;   /* driver or product when known, "" otherwise */
  uint32_t usb_vendor_id;    /* 0 when not a USB device */
  uint32_t usb_product_id;
} otd_serial_port_info_t;
typedef void(OTD_CALL* otd_serial_port_fn)(void* user, const otd_serial_port_info_t* info);

typedef struct otd_serial_service {
  uint32_t struct_size;
  /* [control] Call fn once per serial port present. */
  otd_status_t(OTD_CALL* enumerate)(const otd_host_t* host, otd_serial_port_fn fn, void* user);
  /* [control] Open a port exclusively. *out valid until close(). */
  otd_status_t(OTD_CALL* open)(const otd_host_t* host, const char* path, const otd_serial_config_t* config,
                               otd_serial_port_t** out, char* err, size_t err_cap);
  /* [worker] Write all of data or fail; OTD_ERR_TIMEOUT after timeout_ms with *written set. */
  otd_status_t(OTD_CALL* write)(otd_serial_port_t* port, const uint8_t* data, size_t size, size_t* written,
                                uint32_t timeout_ms);
  /* [worker] Read up to cap bytes; returns OTD_OK with *got > 0, or OTD_ERR_TIMEOUT with *got = 0. */
  otd_status_t(OTD_CALL* read)(otd_serial_port_t* port, uint8_t* buf, size_t cap, size_t* got,
                               uint32_t timeout_ms);
  /* [control] Discard unread input and unsent output. */
  otd_status_t(OTD_CALL* flush)(otd_serial_port_t* port);
  /* [control] Close and free. */
  void(OTD_CALL* close)(otd_serial_port_t* port);
} otd_serial_service_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.usb/1": raw USB devices through the host (libusb), for ASICs with a USB protocol.     */
#define OTD_SERVICE_USB "otedama.usb/1"
typedef struct otd_usb_device otd_usb_device_t;

typedef struct otd_usb_device_info {
  uint32_t struct_size;
  uint32_t vendor_id;
  uint32_t product_id;
  uint32_t bus;
  uint32_t address;
  uint32_t reserved;
  const char* path;          /* stable "usb:BUS-PORT.PORT" path, valid during the callback */
  const char* serial;        /* serial number string, "" when unreadable */
} otd_usb_device_info_t;
typedef void(OTD_CALL* otd_usb_device_fn)(void* user, const otd_usb_device_info_t* info);

typedef struct otd_usb_service {
  uint32_t struct_size;
  /* [control] Call fn for every device matching vendor/product (0 = any). */
  otd_status_t(OTD_CALL* enumerate)(const otd_host_t* host, uint32_t vendor_id, uint32_t product_id,
                                    otd_usb_device_fn fn, void* user);
  /* [control] Open the device at `path` (as enumerated) and claim `interface_number`. */
  otd_status_t(OTD_CALL* open)(const otd_host_t* host, const char* path, uint32_t interface_number,
                               otd_usb_device_t** out, char* err, size_t err_cap);
  /* [worker] Bulk transfer on `endpoint` (bit 7 set = IN). *transferred set in every case. */
  otd_status_t(OTD_CALL* bulk_transfer)(otd_usb_device_t* device, uint8_t endpoint, uint8_t* data, size_t size,
                                        size_t* transferred, uint32_t timeout_ms);
  /* [worker] Control transfer (libusb semantics). */
  otd_status_t(OTD_CALL* control_transfer)(otd_usb_device_t* device, uint8_t request_type, uint8_t request,
                                           uint16_t value, uint16_t index, uint8_t* data, uint16_t size,
                                           size_t* transferred, uint32_t timeout_ms);
  /* [control] Release the interface, close and free. */
  void(OTD_CALL* close)(otd_usb_device_t* device);
} otd_usb_service_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.memory/1": large allocations (scratchpads, datasets, DAGs) placed by the host:        */
/* explicit huge pages when the OS has them reserved, else transparent huge pages, else normal pages,     */
/* and bound to a NUMA node. The host logs one warning the first time huge pages cannot be had.           */
#define OTD_SERVICE_MEMORY "otedama.memory/1"
#define OTD_MEMORY_HUGE_PAGES 0x1u   /* request: prefer huge pages; result: backed by explicit huge pages */
#define OTD_MEMORY_TRANSPARENT 0x2u  /* result: transparent huge pages were requested (madvise) */
#define OTD_MEMORY_NUMA_BOUND 0x4u   /* result: bound to the requested NUMA node */
typedef struct otd_memory_service {
  uint32_t struct_size;
  uint32_t numa_nodes;       /* NUMA nodes the host sees (1 on a uniform machine) */
  /* [any] Allocate `size` bytes, zeroed, aligned to at least 4096. numa_node -1 = no binding (the pages
   * land where the calling thread first touches them). *result_flags says what was obtained. *out valid
   * until release() with the same size. */
  otd_status_t(OTD_CALL* allocate)(const otd_host_t* host, size_t size, uint32_t flags, int32_t numa_node, void** out,
                                   uint32_t* result_flags, char* err, size_t err_cap);
  /* [any] */
  void(OTD_CALL* release)(const otd_host_t* host, void* memory, size_t size);
} otd_memory_service_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.algorithms/1": the loaded algorithm plugins, for plugins that must check proof of work */
/* themselves (the devnet chain checking a submitted block, a sharechain peer checking another's share).  */
#define OTD_SERVICE_ALGORITHMS "otedama.algorithms/1"
struct otd_algorithm; /* algorithm.h */
typedef struct otd_algorithms_service {
  uint32_t struct_size;
  /* [any] The loaded algorithm plugin whose table name is `name` ("sha256d", "randomx" ...): its instance
   * and its algorithm table, valid until the calling plugin instance is destroyed (the host never unloads).
   * OTD_ERR_NOT_FOUND when none is loaded. The caller calls the table as the host does, honouring each
   * function's thread tag; a context it prepares is its own to release (the plugin shares the memory
   * behind contexts of the same seed/epoch). */
  otd_status_t(OTD_CALL* find)(const otd_host_t* host, const char* name, const struct otd_plugin** plugin,
                               const struct otd_algorithm** table);
} otd_algorithms_service_t;

/* ---------------------------------------------------------------------------------------------------- */
/* Service "otedama.net/1": TCP (and TLS) sockets on the host's network I/O threads. Transports speak     */
/* their protocol over it and start no threads for networking (docs/architecture.md "Threads").           */
/*                                                                                                        */
/* Connections are named by otd_conn_t ids, never reused for the life of the process (0 = none), so a     */
/* late send() to a closed connection fails cleanly instead of reaching a newcomer. Callbacks of one       */
/* connection never run concurrently with each other; callbacks of different connections may. Every      */
/* connection gets exactly one on_close, its last callback (also for a connect that failed).             */
#define OTD_SERVICE_NET "otedama.net/1"
typedef uint64_t otd_conn_t;
typedef struct otd_net_listener otd_net_listener_t;

#define OTD_NET_FRAMING_RAW 0u       /* on_data gets bytes as they arrive (binary protocols) */
#define OTD_NET_FRAMING_LINES 1u     /* on_data gets one complete line, without its "\n" (and a "\r" before it) */

/* Why a connection closed (on_close reason). */
#define OTD_NET_CLOSED_BY_PEER 1u        /* orderly end of stream or reset */
#define OTD_NET_CLOSED_BY_PLUGIN 2u      /* close() or an on_open that refused */
#define OTD_NET_CLOSED_LINE_TOO_LONG 3u  /* LINES framing: a line exceeded max_line */
#define OTD_NET_CLOSED_IDLE 4u           /* nothing received for idle_timeout_ms */
#define OTD_NET_CLOSED_SEND_OVERFLOW 5u  /* a slow reader: queued output exceeded max_send_queue */
#define OTD_NET_CLOSED_ERROR 6u          /* socket or TLS error (message says which) */
#define OTD_NET_CLOSED_SHUTDOWN 7u       /* shutdown() or host stop */
#define OTD_NET_CONNECT_FAILED 8u        /* connect(): resolving, connecting or the TLS handshake failed */

typedef struct otd_net_handlers {
  uint32_t struct_size;
  uint32_t reserved;
  void* user;                /* passed back to every handler; must stay valid until shutdown() returns */
  /* [io] A connection is open: accepted by a listener (tag 0) or connected (the tag given to connect()).
   * peer/local: "127.0.0.1:3333", "[::1]:3333"; valid during the call. Return OTD_OK to keep it; any other
   * status closes it at once (reason CLOSED_BY_PLUGIN): how a transport enforces per-address caps. */
  otd_status_t(OTD_CALL* on_open)(void* user, otd_conn_t conn, uint64_t tag, const char* peer, const char* local);
  /* [io] Received data: one line (LINES) or a chunk (RAW); valid during the call. */
  void(OTD_CALL* on_data)(void* user, otd_conn_t conn, const uint8_t* data, size_t size);
  /* [io] The connection is gone (OTD_NET_CLOSED_* / OTD_NET_CONNECT_FAILED); message is human-readable. */
  void(OTD_CALL* on_close)(void* user, otd_conn_t conn, uint32_t reason, const char* message);
} otd_net_handlers_t;

typedef struct otd_net_options {
  uint32_t struct_size;
  uint32_t framing;          /* OTD_NET_FRAMING_* */
  uint32_t max_line;         /* LINES: longest line accepted in bytes; 0 = 16384 */
  uint32_t idle_timeout_ms;  /* close when nothing was received for this long; 0 = never */
  uint32_t max_send_queue;   /* bytes queued for one connection before it is closed as a slow reader; 0 = 1 MiB */
  uint32_t backlog;          /* listen(): accept backlog; 0 = the system's maximum */
  uint32_t tls;              /* 1 = TLS: listen() needs tls_cert_file/tls_key_file, connect() verifies the peer */
  uint32_t tls_verify;       /* connect() with tls: 1 = check the certificate chain and name (default 0 here: a
                                 pool's self-signed certificate is the norm; the transport decides) */
  const char* tls_cert_file; /* listen() with tls: PEM certificate chain; valid during the call */
  const char* tls_key_file;  /* listen() with tls: PEM private key */
  const char* tls_server_name; /* connect() with tls: SNI and verification name (NULL = the host name) */
} otd_net_options_t;

typedef struct otd_net_service {
  uint32_t struct_size;
  /* [control] Listen on address ("0.0.0.0", "::", "127.0.0.1") and port (0 = ephemeral; *bound_port gets the
   * port actually bound, may be NULL). Accepted connections get `options` and `handlers` (both copied).
   * Fails with a message naming the address when it cannot bind. *out valid until close_listener(). */
  otd_status_t(OTD_CALL* listen)(const otd_host_t* host, const char* address, uint16_t port,
                                 const otd_net_options_t* options, const otd_net_handlers_t* handlers,
                                 otd_net_listener_t** out, uint16_t* bound_port, char* err, size_t err_cap);
  /* [control] Stop accepting and free the listener. Connections it accepted stay open. */
  void(OTD_CALL* close_listener)(const otd_host_t* host, otd_net_listener_t* listener);
  /* [any] Connect to hostname:port (resolved asynchronously). *out gets the connection id at once; on_open
   * or on_close(OTD_NET_CONNECT_FAILED) follows on an [io] thread. */
  otd_status_t(OTD_CALL* connect)(const otd_host_t* host, const char* hostname, uint16_t port,
                                  const otd_net_options_t* options, const otd_net_handlers_t* handlers, uint64_t tag,
                                  otd_conn_t* out, char* err, size_t err_cap);
  /* [any] Queue bytes for a connection (copied). OTD_ERR_NOT_FOUND when it is closed or closing. */
  otd_status_t(OTD_CALL* send)(const otd_host_t* host, otd_conn_t conn, const uint8_t* data, size_t size);
  /* [any] The same bytes to many connections from one shared copy (job broadcasts). Closed ids are skipped;
   * *sent (may be NULL) = how many connections took it. */
  otd_status_t(OTD_CALL* send_many)(const otd_host_t* host, const otd_conn_t* conns, size_t count,
                                    const uint8_t* data, size_t size, size_t* sent);
  /* [any] Close a connection: after its queued output is written (graceful != 0) or at once. Its on_close
   * follows (reason CLOSED_BY_PLUGIN). Unknown ids are ignored. */
  void(OTD_CALL* close)(const otd_host_t* host, otd_conn_t conn, uint32_t graceful);
  /* [control] Close every listener and connection this plugin instance owns and wait for their on_close
   * callbacks: when it returns, no handler of this plugin runs or will run. Transports call it in stop(). */
  void(OTD_CALL* shutdown)(const otd_host_t* host);
} otd_net_service_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_HOST_H */
