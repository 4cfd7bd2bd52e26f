// Host service "otedama.net/1" (OTD_SERVICE_NET): TCP and TLS sockets on the host's network I/O threads.
// Transports (stratum server and client, coin-node connectors, P2P) speak their protocol over it and start
// no threads of their own for networking. The contract is plugin-api/otedama/host.h; this file adds what
// the host needs to run it, and the behaviour beyond the header:
//
// Threads. `io_threads` event loops, each an io_context run by exactly one thread. A connection lives on
// one loop for its whole life (connections are dealt round-robin), so all its callbacks run on one thread
// and never concurrently: the guarantee a strand per connection would give, without the strand's memory.
// Listeners accept on one loop and hand each new socket to the next loop.
//
// Memory. An idle connection holds no buffer: the loop waits for readability (async_wait) and reads into
// the loop's own 64 KiB buffer; only an incomplete line is kept per connection. There is no timer per
// connection: each loop sweeps its connections every `sweep_interval` and closes those whose last receive
// is older than idle_timeout_ms (so an idle close comes up to one sweep late). Output is a queue of
// reference-counted buffers; send_many() queues one buffer for all its targets. Ids resolve through a
// process-wide slot table (id = generation << 24 | slot) under striped locks.
//
// TLS. OpenSSL on the socket itself (a BIO that sends with MSG_NOSIGNAL), with SSL_MODE_RELEASE_BUFFERS so
// an idle TLS connection keeps no record buffers; readiness still comes from the loop. on_open of an
// accepted TLS connection follows the handshake; a handshake that fails (or takes more than 10 s) closes
// the socket without any callback (the plugin never saw it) and counts as closed{reason="tls_handshake"}.
// connect() with tls sends SNI (unless the name is an IP address); tls_verify checks the chain against the
// system's CAs and the name (host name or IP address). TLS 1.2 at least.
//
// Close. Every connection the plugin knows of (on_open delivered, or returned by connect()) gets exactly
// one on_close, its last callback, after which its id is unknown (send: NOT_FOUND). close(graceful) writes
// what is queued (at most 10 s more), sends FIN (and close_notify), delivers on_close, and then keeps
// draining the peer for up to 5 s before the socket is closed, so a reset cannot destroy the last reply.
// Once close() is called no more on_data is delivered. A connect() or TLS handshake that does not finish
// within idle_timeout_ms (30 s when that is 0) fails with OTD_NET_CONNECT_FAILED.
//
// send() from any thread copies the bytes and queues them on the connection's loop; called on the loop
// itself (from a handler) it writes at once. A send that would take the queue over max_send_queue closes
// the connection (SEND_OVERFLOW) and returns OTD_ERR_NOT_FOUND: the bytes were not queued.
//
// shutdown(host) closes the plugin's listeners (their handles stay valid until close_listener) and every
// connection it owns (reason SHUTDOWN), then waits until the last of their on_close callbacks has
// returned. It blocks only on the I/O threads, which never wait for the control strand: a callback that
// posts to the control strand (submit_candidate, post_event, timers) cannot deadlock it. A callback must
// not itself block on the control strand, and a plugin must not hold a lock its callbacks take while it
// calls shutdown(). Called from an [io] callback it cannot wait for itself: it closes everything, logs an
// error and returns at once.
//
// Accept errors (EMFILE, ENFILE, ENOBUFS ...) pause that listener (50 ms doubling to 1 s) and are logged
// at most once a second with a count, never in a spin.
//
// Plugin callbacks are called inside try/catch: an exception that escapes one is logged ("C++ exception
// crossed the ABI in on_data: ...") and closes that connection with OTD_NET_CLOSED_ERROR; the I/O thread
// goes on.
#pragma once

#include <otedama/host.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::services {

class NetService {
 public:
  /// Close reasons as counted: index = OTD_NET_CLOSED_* / OTD_NET_CONNECT_FAILED (1..8), 9 = an accepted TLS
  /// connection whose handshake failed (no callback), 0 unused.
  static constexpr std::size_t kReasonSlots = 10;
  static constexpr uint32_t kTlsHandshakeSlot = 9;

  struct Options {
    unsigned io_threads = 0;                                  ///< 0 = min(2, hardware threads)
    std::chrono::milliseconds sweep_interval{250};            ///< idle and deadline sweep period
    std::function<void(otd_log_level_t, const std::string&)> log;  ///< service-wide messages (may be empty)
  };

  /// Counters for metrics, as deltas since the previous take_deltas() (open is a level).
  struct PluginDeltas {
    std::string plugin;
    uint64_t open = 0;           ///< connections open or opening now
    uint64_t accepted = 0;
    uint64_t accept_errors = 0;
    std::array<uint64_t, kReasonSlots> closed{};
  };
  struct Deltas {
    std::vector<PluginDeltas> plugins;
    uint64_t bytes_received = 0;
    uint64_t bytes_sent = 0;
  };

  NetService();
  explicit NetService(Options options);
  ~NetService();  ///< stop(), then forgets its host tables
  NetService(const NetService&) = delete;
  NetService& operator=(const NetService&) = delete;

  /// The C table. Static, valid for the life of the process; every entry finds its service through the
  /// calling plugin's host table (attach()).
  [[nodiscard]] static const otd_net_service_t* table() noexcept;

  /// Let the plugin instance behind `host` use this service; `plugin_id` names it in logs and metrics.
  /// A host table not attached anywhere gets OTD_ERR_STATE from listen/connect. [any]
  void attach(const otd_host_t* host, std::string plugin_id);

  /// Start the I/O threads. Before start() and after stop(), listen and connect fail with OTD_ERR_STATE.
  void start();
  /// What shutdown() in the table does, for the host to call on behalf of a transport that forgot it.
  void shutdown(const otd_host_t* host);
  /// Close every listener and connection (reason SHUTDOWN), wait for their on_close, join the threads.
  /// Idempotent. Not from an I/O thread.
  void stop();

  [[nodiscard]] unsigned io_threads() const noexcept;
  [[nodiscard]] Deltas take_deltas();
  /// The addresses ("127.0.0.1:3333", "[::]:3334") that the listeners of `plugin_id` are bound to, with the
  /// ports the system gave (port 0 asked for an ephemeral one), in the order they were opened. [any]
  [[nodiscard]] std::vector<std::string> listening(std::string_view plugin_id) const;

  /// "by_peer", "by_plugin", "line_too_long", "idle", "send_overflow", "error", "shutdown", "connect_failed",
  /// "tls_handshake" (slot 9); "unknown" otherwise.
  [[nodiscard]] static const char* reason_name(uint32_t slot) noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace otedama::services
