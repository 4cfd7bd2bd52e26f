// A ZeroMQ SUB client written from the wire protocol, for a coin node's new-block notifications (bitcoind
// -zmqpubhashblock, monerod --zmq-pub), without libzmq: libzmq starts its own I/O threads, and a plugin
// starts none for networking (docs/architecture.md "Threads"); this runs on the host's otedama.net/1.
//
// The protocol: ZMTP 3.0 (https://rfc.zeromq.org/spec/23/) and ZMTP 3.1 (https://rfc.zeromq.org/spec/37/):
//  - greeting, 64 bytes (23/ZMTP "The Greeting"): signature 0xFF, 8 padding bytes, 0x7F; version major 3,
//    minor 0 or 1; mechanism "NULL" zero-padded to 20 bytes; as-server 0 (we are the client); 31 zero bytes;
//  - frames (23/ZMTP "Framing"): a flags byte (bit 0 MORE, bit 1 LONG, bit 2 COMMAND, bits 3-7 zero), the size
//    in 1 byte, or in 8 bytes network order when LONG, then the body;
//  - the NULL handshake (23/ZMTP "The NULL Security Mechanism"): each side sends a READY command with its
//    metadata (name: 1-byte size + name; value: 4-byte network-order size + value); ours is Socket-Type SUB,
//    the peer's Socket-Type must be PUB or XPUB (23/ZMTP "The Socket Types"); an ERROR command (1-byte size
//    + reason) ends it;
//  - subscribing (23/ZMTP "The Publish-Subscribe Pattern" and 37/ZMTP "SUBSCRIBE"): to a 3.0 peer a message
//    whose one frame is 0x01 + the topic prefix; to a 3.1 peer the SUBSCRIBE command with the topic;
//  - messages: one or more frames, all but the last with MORE; PING (37/ZMTP "PING") is answered with PONG.
//
// Parser is pure bytes in, events out (tested byte-exact, and with mutated input: a malformed greeting or
// frame is a clear error, never a crash; a frame or a message over the limits is an error, so a hostile
// peer cannot make it buffer without bound). ZmqSubscriber is the connection: connect, handshake,
// subscribe, deliver messages, and reconnect with back-off (1 s doubling to 30 s) when the publisher goes
// away or misbehaves.
#pragma once

#include <otedama/host.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::node::zmtp {

constexpr std::size_t kGreetingSize = 64;
constexpr uint8_t kFlagMore = 0x01;
constexpr uint8_t kFlagLong = 0x02;
constexpr uint8_t kFlagCommand = 0x04;

/// Our greeting: ZMTP 3.<minor>, mechanism NULL, as-server 0.
[[nodiscard]] std::string greeting(uint8_t minor = 1);
/// One frame: flags, short or long size, body.
[[nodiscard]] std::string encode_frame(std::string_view body, bool more, bool command);
/// A command frame: 1-byte name size, name, data.
[[nodiscard]] std::string encode_command(std::string_view name, std::string_view data);
/// The READY command with Socket-Type `socket_type` (and no other property).
[[nodiscard]] std::string ready_command(std::string_view socket_type = "SUB");
/// A subscription for topic prefix `topic`: the 3.0 message form (0x01 + topic) when peer_minor == 0, the
/// SUBSCRIBE command for 3.1 and later.
[[nodiscard]] std::string subscribe(std::string_view topic, uint8_t peer_minor);

/// "tcp://host:port" (host may be "[v6]"). std::nullopt with the reason in `error`.
struct Endpoint {
    std::string host;
    uint16_t port = 0;
};
[[nodiscard]] std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* error = nullptr);

/// Incremental parser of what a PUB peer sends: its greeting, its READY, then messages and commands.
class Parser {
 public:
    enum class State { need_more, error };
    struct Limits {
        std::size_t max_frame = 1 << 20;    ///< one frame's body
        std::size_t max_message = 4 << 20;  ///< all frames of one message
        std::size_t max_parts = 64;         ///< frames of one message
    };
    struct Event {
        enum class Kind { ready, message, ping, command } kind = Kind::message;
        std::vector<std::string> parts;  ///< message: its frames; ping: the context; command: the data
        std::string name;                ///< command / ready: the command's name
    };

    Parser() = default;
    explicit Parser(Limits limits) : limits_(limits) {}

    /// Consume bytes; complete events are appended to events(). After an error everything is ignored.
    State feed(const uint8_t* data, std::size_t size);
    State feed(std::string_view s) { return feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }

    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] bool greeting_done() const noexcept { return phase_ != Phase::greeting; }
    [[nodiscard]] bool ready() const noexcept { return ready_; }
    [[nodiscard]] uint8_t peer_major() const noexcept { return major_; }
    [[nodiscard]] uint8_t peer_minor() const noexcept { return minor_; }
    [[nodiscard]] const std::string& peer_socket_type() const noexcept { return socket_type_; }
    [[nodiscard]] std::vector<Event> take_events() { return std::exchange(events_, {}); }

 private:
    enum class Phase { greeting, frame_flags, frame_size, frame_body };
    State fail(std::string why);
    State on_greeting();
    State on_frame();
    State on_command(std::string_view body);

    Limits limits_{};
    State state_ = State::need_more;
    Phase phase_ = Phase::greeting;
    std::string buf_;
    std::size_t pos_ = 0;
    uint8_t flags_ = 0;
    uint64_t size_ = 0;
    std::vector<std::string> parts_;
    std::size_t message_bytes_ = 0;
    uint8_t major_ = 0, minor_ = 0;
    bool ready_ = false;
    std::string socket_type_;
    std::vector<Event> events_;
    std::string error_;
};

/// A SUB connection to one publisher over otedama.net/1, kept up (reconnect with back-off) until shutdown().
class ZmqSubscriber {
 public:
    struct Options {
        Endpoint endpoint;
        std::vector<std::string> topics;  ///< topic prefixes; at least one ("" = everything)
        uint32_t min_backoff_ms = 1000;
        uint32_t max_backoff_ms = 30'000;
        Parser::Limits limits{};
    };
    /// [io] A message (its frames). Must not block.
    using OnMessage = std::function<void(const std::vector<std::string>& parts)>;
    /// [io] Something went wrong (connect failed, the peer closed, a protocol error); the connection is retried.
    using OnError = std::function<void(const std::string& why)>;
    /// [io] The handshake completed and the subscriptions were sent.
    using OnConnected = std::function<void()>;

    /// `host`, `net` and `timers` must outlive the subscriber; shutdown() before it is destroyed.
    ZmqSubscriber(const otd_host_t* host, const otd_net_service_t* net, const otd_timer_service_t* timers, Options options,
                  OnMessage on_message, OnError on_error, OnConnected on_connected = {});
    ~ZmqSubscriber();
    ZmqSubscriber(const ZmqSubscriber&) = delete;
    ZmqSubscriber& operator=(const ZmqSubscriber&) = delete;

    /// [control] Connect now and keep connecting (a 200 ms timer checks whether a back-off has passed).
    bool start(std::string* error = nullptr);
    /// [control] Close the connection and stop the timer; waits (bounded) for the connection's on_close.
    void shutdown();

    [[nodiscard]] uint64_t messages() const noexcept { return messages_.load(); }
    [[nodiscard]] uint64_t errors() const noexcept { return errors_.load(); }
    [[nodiscard]] uint64_t connects() const noexcept { return connects_.load(); }
    [[nodiscard]] std::string endpoint_text() const;

 private:
    static otd_status_t OTD_CALL on_open(void* user, otd_conn_t conn, uint64_t tag, const char* peer, const char* local);
    static void OTD_CALL on_data(void* user, otd_conn_t conn, const uint8_t* data, std::size_t size);
    static void OTD_CALL on_close(void* user, otd_conn_t conn, uint32_t reason, const char* message);
    static void OTD_CALL on_timer(void* user);
    void connect_locked();
    void failed(const std::string& why);

    const otd_host_t* host_;
    const otd_net_service_t* net_;
    const otd_timer_service_t* timers_;
    Options options_;
    OnMessage on_message_;
    OnError on_error_;
    OnConnected on_connected_;
    otd_net_handlers_t handlers_{};
    otd_timer_t* timer_ = nullptr;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    otd_conn_t conn_ = 0;
    bool shut_ = true;
    Parser parser_;
    bool subscribed_ = false;
    std::string close_why_;          ///< set when we close the connection for a protocol error
    uint64_t next_attempt_ms_ = 0;   ///< monotonic
    uint32_t backoff_ms_ = 0;
    std::atomic<uint64_t> messages_{0}, errors_{0}, connects_{0};
};

}  // namespace otedama::node::zmtp
