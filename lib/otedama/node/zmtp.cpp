#include "otedama/node/zmtp.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <utility>

namespace otedama::node::zmtp {

namespace {

std::string printable(std::string_view s, std::size_t max = 40) {
    std::string out;
    for (const char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
    if (s.size() > max) out += "...";
    return out;
}

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

bool set_error(std::string* error, std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
}

}  // namespace

// --- encoding -------------------------------------------------------------------------------------------------

std::string greeting(uint8_t minor) {
    std::string g(kGreetingSize, '\0');
    g[0] = static_cast<char>(0xFF);  // signature: 0xFF, 8 bytes padding, 0x7F
    g[9] = 0x7F;
    g[10] = 3;  // version-major
    g[11] = static_cast<char>(minor);
    g.replace(12, 4, "NULL");  // mechanism, 20 bytes, zero-padded
    g[32] = 0;                 // as-server
    return g;                  // 31 bytes filler
}

std::string encode_frame(std::string_view body, bool more, bool command) {
    std::string f;
    uint8_t flags = (more ? kFlagMore : 0) | (command ? kFlagCommand : 0);
    if (body.size() > 255) {
        flags |= kFlagLong;
        f += static_cast<char>(flags);
        const uint64_t n = body.size();
        for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xFF);
    } else {
        f += static_cast<char>(flags);
        f += static_cast<char>(body.size());
    }
    f.append(body);
    return f;
}

std::string encode_command(std::string_view name, std::string_view data) {
    std::string body;
    body += static_cast<char>(name.size());
    body.append(name);
    body.append(data);
    return encode_frame(body, false, true);
}

std::string ready_command(std::string_view socket_type) {
    std::string meta;
    constexpr std::string_view kName = "Socket-Type";
    meta += static_cast<char>(kName.size());
    meta.append(kName);
    const uint32_t n = static_cast<uint32_t>(socket_type.size());
    for (int i = 3; i >= 0; --i) meta += static_cast<char>((n >> (8 * i)) & 0xFF);
    meta.append(socket_type);
    return encode_command("READY", meta);
}

std::string subscribe(std::string_view topic, uint8_t peer_minor) {
    if (peer_minor == 0) {
        std::string body(1, '\x01');
        body.append(topic);
        return encode_frame(body, false, false);
    }
    return encode_command("SUBSCRIBE", topic);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* error) {
    constexpr std::string_view kScheme = "tcp://";
    if (text.substr(0, kScheme.size()) != kScheme) {
        set_error(error, "expected tcp://host:port, got '" + printable(text) + "'");
        return std::nullopt;
    }
    std::string_view rest = text.substr(kScheme.size());
    Endpoint ep;
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            set_error(error, "expected tcp://[v6-address]:port, got '" + printable(text) + "'");
            return std::nullopt;
        }
        ep.host = std::string(rest.substr(1, close - 1));
        port_text = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            set_error(error, "no port in '" + printable(text) + "' (expected tcp://host:port)");
            return std::nullopt;
        }
        ep.host = std::string(rest.substr(0, colon));
        port_text = rest.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ep.host.empty() || ep.host == "*" || port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
        set_error(error, "expected tcp://host:port with a host and a port 1..65535, got '" + printable(text) + "'");
        return std::nullopt;
    }
    ep.port = static_cast<uint16_t>(port);
    return ep;
}

// --- parser ---------------------------------------------------------------------------------------------------

Parser::State Parser::fail(std::string why) {
    state_ = State::error;
    error_ = std::move(why);
    buf_.clear();
    pos_ = 0;
    parts_.clear();
    return state_;
}

Parser::State Parser::feed(const uint8_t* data, std::size_t size) {
    if (state_ == State::error) return state_;
    buf_.append(reinterpret_cast<const char*>(data), size);
    for (;;) {
        const std::size_t avail = buf_.size() - pos_;
        if (phase_ == Phase::greeting) {
            // Check the signature as soon as its bytes arrive (23/ZMTP "The Greeting": a peer that is not ZMTP
            // is told apart by the first byte and the tenth).
            if (avail >= 1 && static_cast<uint8_t>(buf_[pos_]) != 0xFF)
                return fail("not a ZMTP peer: the greeting starts with 0x" + std::string(1, "0123456789abcdef"[static_cast<uint8_t>(buf_[pos_]) >> 4]) +
                            std::string(1, "0123456789abcdef"[static_cast<uint8_t>(buf_[pos_]) & 15]) + ", not the signature 0xFF");
            if (avail < kGreetingSize) break;
            if (on_greeting() == State::error) return state_;
            pos_ += kGreetingSize;
            phase_ = Phase::frame_flags;
        } else if (phase_ == Phase::frame_flags) {
            if (avail < 1) break;
            flags_ = static_cast<uint8_t>(buf_[pos_]);
            if ((flags_ & 0xF8) != 0) return fail("malformed frame: reserved flag bits set (flags 0x" + std::to_string(flags_) + ")");
            if ((flags_ & kFlagCommand) != 0 && (flags_ & kFlagMore) != 0) return fail("malformed frame: a command frame with the MORE flag");
            phase_ = Phase::frame_size;
        } else if (phase_ == Phase::frame_size) {
            const std::size_t n = (flags_ & kFlagLong) != 0 ? 8 : 1;
            if (avail < 1 + n) break;
            uint64_t size = 0;
            for (std::size_t i = 0; i < n; ++i) size = (size << 8) | static_cast<uint8_t>(buf_[pos_ + 1 + i]);
            if (size > limits_.max_frame)
                return fail("frame of " + std::to_string(size) + " bytes is over the limit of " + std::to_string(limits_.max_frame) + " bytes");
            size_ = size;
            pos_ += 1 + n;
            phase_ = Phase::frame_body;
        } else {
            if (avail < size_) break;
            if (on_frame() == State::error) return state_;
            pos_ += static_cast<std::size_t>(size_);
            phase_ = Phase::frame_flags;
        }
    }
    if (pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    return state_;
}

Parser::State Parser::on_greeting() {
    const auto* g = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
    if (g[9] != 0x7F) return fail("not a ZMTP peer: byte 10 of the greeting is not 0x7F");
    major_ = g[10];
    minor_ = g[11];
    if (major_ < 3) return fail("the peer speaks ZMTP " + std::to_string(major_) + "." + std::to_string(minor_) + "; ZMTP 3.x is needed");
    const std::string_view mechanism(reinterpret_cast<const char*>(g + 12), 20);
    const std::string_view name = mechanism.substr(0, mechanism.find('\0'));
    if (name != "NULL") return fail("the peer asks for the security mechanism '" + printable(name) + "'; only NULL is supported");
    if (mechanism.find_first_not_of('\0', name.size()) != std::string_view::npos) return fail("malformed greeting: the mechanism is not zero-padded");
    if (g[32] > 1) return fail("malformed greeting: as-server is " + std::to_string(g[32]));
    return state_;
}

Parser::State Parser::on_frame() {
    const std::string_view body(buf_.data() + pos_, static_cast<std::size_t>(size_));
    if ((flags_ & kFlagCommand) != 0) {
        if (!parts_.empty()) return fail("malformed message: a command frame in the middle of a multipart message");
        return on_command(body);
    }
    if (!ready_) return fail("protocol error: a message before the peer's READY command");
    if (parts_.size() >= limits_.max_parts) return fail("a message of more than " + std::to_string(limits_.max_parts) + " frames");
    message_bytes_ += body.size();
    if (message_bytes_ > limits_.max_message)
        return fail("a message of more than " + std::to_string(limits_.max_message) + " bytes");
    parts_.emplace_back(body);
    if ((flags_ & kFlagMore) == 0) {
        Event e;
        e.kind = Event::Kind::message;
        e.parts = std::move(parts_);
        parts_.clear();
        message_bytes_ = 0;
        events_.push_back(std::move(e));
    }
    return state_;
}

Parser::State Parser::on_command(std::string_view body) {
    if (body.empty() || static_cast<uint8_t>(body[0]) + 1U > body.size()) return fail("malformed command: its name is cut short");
    const std::string_view name = body.substr(1, static_cast<uint8_t>(body[0]));
    std::string_view data = body.substr(1 + name.size());
    if (name.empty()) return fail("malformed command: an empty name");
    if (name == "ERROR") {
        // 23/ZMTP: error-reason = short-size 0*255VCHAR
        std::string_view reason;
        if (!data.empty() && static_cast<uint8_t>(data[0]) + 1U <= data.size()) reason = data.substr(1, static_cast<uint8_t>(data[0]));
        return fail("the peer refused the handshake: ERROR '" + printable(reason, 255) + "'");
    }
    if (!ready_) {
        if (name != "READY") return fail("protocol error: the peer sent '" + printable(name) + "' before READY");
        // metadata = *property; property = name (short-size + name) value (4-byte size + value)
        while (!data.empty()) {
            const std::size_t nlen = static_cast<uint8_t>(data[0]);
            if (nlen == 0 || 1 + nlen + 4 > data.size()) return fail("malformed READY: a property cut short");
            const std::string_view pname = data.substr(1, nlen);
            const auto* v = reinterpret_cast<const uint8_t*>(data.data() + 1 + nlen);
            const uint64_t vlen = (uint64_t{v[0]} << 24) | (uint64_t{v[1]} << 16) | (uint64_t{v[2]} << 8) | v[3];
            if (vlen > data.size() - (1 + nlen + 4)) return fail("malformed READY: the value of '" + printable(pname) + "' is cut short");
            const std::string_view value = data.substr(1 + nlen + 4, static_cast<std::size_t>(vlen));
            std::string lower(pname);
            std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c); });
            if (lower == "socket-type") socket_type_ = std::string(value);
            data.remove_prefix(1 + nlen + 4 + static_cast<std::size_t>(vlen));
        }
        if (socket_type_ != "PUB" && socket_type_ != "XPUB")
            return fail("the peer's socket type is '" + printable(socket_type_) + "'; a SUB socket needs PUB or XPUB");
        ready_ = true;
        Event e;
        e.kind = Event::Kind::ready;
        e.name = "READY";
        events_.push_back(std::move(e));
        return state_;
    }
    Event e;
    if (name == "PING") {
        // 37/ZMTP: ping = command-size %d4 "PING" ping-ttl ping-context; ping-ttl is 2 octets
        if (data.size() < 2 || data.size() > 2 + 16) return fail("malformed PING: " + std::to_string(data.size()) + " bytes of TTL and context");
        e.kind = Event::Kind::ping;
        e.parts.emplace_back(data.substr(2));
    } else {
        e.kind = Event::Kind::command;  // PONG, or something newer than 3.1: not ours to act on
        e.parts.emplace_back(data);
    }
    e.name = std::string(name);
    events_.push_back(std::move(e));
    return state_;
}

// --- connection -----------------------------------------------------------------------------------------------

ZmqSubscriber::ZmqSubscriber(const otd_host_t* host, const otd_net_service_t* net, const otd_timer_service_t* timers, Options options,
                             OnMessage on_message, OnError on_error, OnConnected on_connected)
    : host_(host),
      net_(net),
      timers_(timers),
      options_(std::move(options)),
      on_message_(std::move(on_message)),
      on_error_(std::move(on_error)),
      on_connected_(std::move(on_connected)),
      parser_(options_.limits),
      backoff_ms_(options_.min_backoff_ms) {
    if (options_.topics.empty()) options_.topics.emplace_back();
    handlers_.struct_size = sizeof handlers_;
    handlers_.user = this;
    handlers_.on_open = &ZmqSubscriber::on_open;
    handlers_.on_data = &ZmqSubscriber::on_data;
    handlers_.on_close = &ZmqSubscriber::on_close;
}

ZmqSubscriber::~ZmqSubscriber() { shutdown(); }

std::string ZmqSubscriber::endpoint_text() const {
    const bool v6 = options_.endpoint.host.find(':') != std::string::npos;
    return "tcp://" + (v6 ? "[" + options_.endpoint.host + "]" : options_.endpoint.host) + ":" + std::to_string(options_.endpoint.port);
}

bool ZmqSubscriber::start(std::string* error) {
    if (net_ == nullptr || timers_ == nullptr) return set_error(error, "zmq: the host has no otedama.net/1 or otedama.timer/1 service");
    {
        const std::lock_guard lock(mutex_);
        if (!shut_) return true;
        shut_ = false;
        next_attempt_ms_ = 0;
        backoff_ms_ = options_.min_backoff_ms;
    }
    const otd_status_t st = timers_->start(host_, 200, 1, &ZmqSubscriber::on_timer, this, &timer_);
    if (st != OTD_OK) {
        const std::lock_guard lock(mutex_);
        shut_ = true;
        return set_error(error, "zmq: cannot start the reconnect timer");
    }
    const std::lock_guard lock(mutex_);
    connect_locked();
    return true;
}

void ZmqSubscriber::connect_locked() {
    if (shut_ || conn_ != 0) return;
    parser_ = Parser(options_.limits);
    subscribed_ = false;
    close_why_.clear();
    otd_net_options_t opts{};
    opts.struct_size = sizeof opts;
    opts.framing = OTD_NET_FRAMING_RAW;
    opts.idle_timeout_ms = 0;  // a publisher is silent between blocks
    opts.max_send_queue = 1U << 20;
    otd_conn_t conn = 0;
    char err[256] = {};
    const otd_status_t st = net_->connect(host_, options_.endpoint.host.c_str(), options_.endpoint.port, &opts, &handlers_, 1, &conn, err, sizeof err);
    if (st != OTD_OK || conn == 0) {
        errors_.fetch_add(1);
        next_attempt_ms_ = now_ms() + backoff_ms_;
        backoff_ms_ = std::min(options_.max_backoff_ms, backoff_ms_ * 2);
        return;
    }
    conn_ = conn;
    connects_.fetch_add(1);
    // Queued until the connection opens. The full greeting at once: 23/ZMTP allows it, and a 3.0/3.1 peer
    // (libzmq 4.x) reads the signature, then the rest.
    const std::string hello = greeting(1);
    net_->send(host_, conn, reinterpret_cast<const uint8_t*>(hello.data()), hello.size());
}

void OTD_CALL ZmqSubscriber::on_timer(void* user) {
    auto* self = static_cast<ZmqSubscriber*>(user);
    const std::lock_guard lock(self->mutex_);
    if (self->shut_ || self->conn_ != 0 || now_ms() < self->next_attempt_ms_) return;
    self->connect_locked();
}

otd_status_t OTD_CALL ZmqSubscriber::on_open(void*, otd_conn_t, uint64_t, const char*, const char*) { return OTD_OK; }

void OTD_CALL ZmqSubscriber::on_data(void* user, otd_conn_t conn, const uint8_t* data, std::size_t size) {
    auto* self = static_cast<ZmqSubscriber*>(user);
    std::vector<Parser::Event> events;
    std::string reply;
    bool connected = false;
    {
        const std::lock_guard lock(self->mutex_);
        if (conn != self->conn_ || self->shut_) return;
        const bool had_greeting = self->parser_.greeting_done();
        if (self->parser_.feed(data, size) == Parser::State::error) {
            self->close_why_ = self->parser_.error();
            self->net_->close(self->host_, conn, 0);
            return;
        }
        if (!had_greeting && self->parser_.greeting_done()) reply += ready_command("SUB");
        events = self->parser_.take_events();
        for (const auto& e : events) {
            if (e.kind == Parser::Event::Kind::ready && !self->subscribed_) {
                for (const auto& t : self->options_.topics) reply += subscribe(t, self->parser_.peer_minor());
                self->subscribed_ = true;
                self->backoff_ms_ = self->options_.min_backoff_ms;
                connected = true;
            } else if (e.kind == Parser::Event::Kind::ping) {
                reply += encode_command("PONG", e.parts.empty() ? std::string_view() : std::string_view(e.parts[0]));
            }
        }
        if (!reply.empty()) self->net_->send(self->host_, conn, reinterpret_cast<const uint8_t*>(reply.data()), reply.size());
    }
    if (connected && self->on_connected_) self->on_connected_();
    for (const auto& e : events) {
        if (e.kind != Parser::Event::Kind::message) continue;
        self->messages_.fetch_add(1);
        if (self->on_message_) self->on_message_(e.parts);
    }
}

void OTD_CALL ZmqSubscriber::on_close(void* user, otd_conn_t conn, uint32_t reason, const char* message) {
    auto* self = static_cast<ZmqSubscriber*>(user);
    std::string why;
    {
        const std::lock_guard lock(self->mutex_);
        if (conn != self->conn_) return;
        self->conn_ = 0;
        const std::string m = message != nullptr ? message : "";
        if (!self->close_why_.empty()) why = self->close_why_;
        else if (reason == OTD_NET_CONNECT_FAILED) why = "cannot connect" + (m.empty() ? "" : ": " + m);
        else if (reason == OTD_NET_CLOSED_BY_PEER) why = "the publisher closed the connection";
        else if (reason != OTD_NET_CLOSED_SHUTDOWN && reason != OTD_NET_CLOSED_BY_PLUGIN) why = "connection lost" + (m.empty() ? "" : ": " + m);
        if (!self->shut_) {
            if (why.empty()) why = "connection closed";
            self->next_attempt_ms_ = now_ms() + self->backoff_ms_;
            self->backoff_ms_ = std::min(self->options_.max_backoff_ms, self->backoff_ms_ * 2);
        } else {
            why.clear();
        }
    }
    self->cv_.notify_all();
    if (!why.empty()) self->failed(self->endpoint_text() + ": " + why);
}

void ZmqSubscriber::failed(const std::string& why) {
    errors_.fetch_add(1);
    if (on_error_) on_error_(why);
}

void ZmqSubscriber::shutdown() {
    otd_conn_t conn = 0;
    otd_timer_t* timer = nullptr;
    {
        const std::lock_guard lock(mutex_);
        if (shut_ && conn_ == 0 && timer_ == nullptr) return;
        shut_ = true;
        conn = conn_;
        timer = std::exchange(timer_, nullptr);
    }
    if (timer != nullptr) timers_->cancel(host_, timer);
    if (conn != 0) net_->close(host_, conn, 0);
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return conn_ == 0; });
}

}  // namespace otedama::node::zmtp
