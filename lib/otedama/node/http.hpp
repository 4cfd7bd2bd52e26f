// An asynchronous HTTP/1.1 client for coin-node RPC (monerod, bitcoind and its forks), over the host's
// otedama.net/1 service (RAW framing): a plugin that talks to a node starts no threads for networking.
//
// One connection per request ("Connection: close"): a node answers a handful of calls a second, and a fresh
// connection can never carry a half-read reply of an earlier, timed-out request into the next one.
//
// What it does (RFC 9112 for the message syntax, RFC 7617 for Basic auth):
//  - POST with a body (and GET), Basic auth from user/password or from bitcoind's cookie file (its one line
//    "__cookie__:<password>" is read on every request: bitcoind writes a new one at each start);
//  - the reply: status line, headers, a body framed by Content-Length, by chunked transfer coding (chunk
//    extensions and trailers skipped) or by the end of the connection; at most `max_body` bytes;
//  - a per-request timeout: the net service's idle timeout (nothing received for `timeout_ms`, which also
//    bounds the connect);
//  - exactly one callback per request, with either a reply (any status: the caller decides what a 500 means)
//    or an Error naming what went wrong (connect refused, timeout, malformed reply, too large, shut down).
// Callbacks run on the net service's I/O threads; they must not block on the host's control strand.
//
// URLs: "http://host:port/path" and "https://host:port/path" (TLS through the net service, certificate not
// verified: a node's RPC certificate is normally self-signed), "[v6]:port" literals; the port defaults to 80
// / 443. Credentials in the URL ("user:pass@") are refused: they go in the auth settings.
//
// Thread safety: HttpClient may be used from any thread. HttpResponseParser is single-threaded.
#pragma once

#include <otedama/common/http_url.hpp>
#include <otedama/host.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otedama::node {

using Url = common::HttpUrl;  ///< lib/otedama/common/http_url.hpp (shared with the host's config checks)

/// Parse "http://host[:port][/path]". std::nullopt with the reason in `error`.
[[nodiscard]] inline std::optional<Url> parse_url(std::string_view text, std::string* error = nullptr) {
    return common::parse_http_url(text, error);
}

/// RPC credentials: user/password, or a cookie file (bitcoind's -rpccookiefile) that wins when set.
struct Auth {
    std::string user;
    std::string pass;
    std::string cookie_file;
    [[nodiscard]] bool empty() const noexcept { return user.empty() && pass.empty() && cookie_file.empty(); }
};

/// The "Authorization" header value ("Basic <base64(user:pass)>"), "" when there are no credentials.
/// A cookie file that cannot be read or has no ':' gives std::nullopt and the reason.
[[nodiscard]] std::optional<std::string> authorization_header(const Auth& auth, std::string* error = nullptr);

/// Standard Base64 (RFC 4648 section 4) with padding.
[[nodiscard]] std::string base64(std::string_view bytes);

enum class ErrorKind {
    none = 0,
    connect_failed,  ///< resolving or connecting failed (refused, unreachable)
    timeout,         ///< nothing received for timeout_ms
    closed,          ///< the server closed before a complete reply
    malformed,       ///< the reply is not HTTP/1.x as we parse it
    too_large,       ///< headers or body over the limits
    http_status,     ///< (set by callers, e.g. the JSON-RPC layer, for a status they cannot use)
    json,            ///< (JSON-RPC layer) the body is not the JSON expected
    rpc_error,       ///< (JSON-RPC layer) the reply carries an error object
    auth,            ///< the credentials could not be read (cookie file)
    shutdown,        ///< the client or the host is stopping
    internal,        ///< the net service refused the request
};
[[nodiscard]] const char* error_kind_name(ErrorKind kind) noexcept;

struct Error {
    ErrorKind kind = ErrorKind::none;
    std::string message;     ///< human-readable, names the endpoint
    int http_status = 0;     ///< http_status / rpc errors: the HTTP status of the reply
    int64_t rpc_code = 0;    ///< rpc_error: the error object's code
    [[nodiscard]] explicit operator bool() const noexcept { return kind != ErrorKind::none; }
};

struct Response {
    int status = 0;
    std::string reason;
    std::map<std::string, std::string> headers;  ///< names lower-cased; a repeated header keeps the last
    std::string body;
};

/// Incremental parser of one HTTP/1.x response. Feed bytes as they arrive; then, when the connection ends,
/// call finish() (a body framed by the connection's end is complete only then).
class HttpResponseParser {
 public:
    enum class State { need_more, done, error };
    struct Limits {
        std::size_t max_header = 64 * 1024;
        std::size_t max_body = 64 * 1024 * 1024;
    };
    HttpResponseParser() = default;
    explicit HttpResponseParser(Limits limits) : limits_(limits) {}

    /// Consume bytes. Bytes after a complete response are ignored (the request asked to close).
    State feed(const uint8_t* data, std::size_t size);
    State feed(std::string_view s) { return feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
    /// The connection ended: completes a body read to the end, or fails a response cut short.
    State finish();

    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] const Response& response() const noexcept { return response_; }
    [[nodiscard]] Response take() { return std::move(response_); }
    [[nodiscard]] ErrorKind error_kind() const noexcept { return error_kind_; }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
    enum class Phase { status_line, headers, body_length, body_to_close, chunk_size, chunk_data, chunk_data_end, trailers, done };
    State fail(ErrorKind kind, std::string why);
    State step();
    bool take_line(std::string& line);  ///< a CRLF (or LF) terminated line from buf_, without its ending
    State after_headers();

    Limits limits_{};
    State state_ = State::need_more;
    Phase phase_ = Phase::status_line;
    std::string buf_;         ///< received and not consumed yet
    std::size_t pos_ = 0;     ///< consumed prefix of buf_
    std::size_t header_bytes_ = 0;
    uint64_t remaining_ = 0;  ///< body_length / chunk_data: bytes still expected
    Response response_;
    ErrorKind error_kind_ = ErrorKind::none;
    std::string error_;
};

/// Requests to one server over otedama.net/1.
class HttpClient {
 public:
    struct Options {
        Url url;                            ///< where requests go; a request's path overrides url.path
        Auth auth;
        uint32_t timeout_ms = 30'000;       ///< nothing received for this long ends the request (connect too)
        std::size_t max_body = 64 * 1024 * 1024;
        std::string user_agent = "otedama";
    };
    using Callback = std::function<void(const Error& error, Response response)>;

    /// `host` and `net` must outlive the client; the plugin calls net->shutdown() (or the client's
    /// shutdown()) before the client is destroyed.
    HttpClient(const otd_host_t* host, const otd_net_service_t* net, Options options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    /// Send a request; `done` is called exactly once (possibly before request() returns, on an immediate
    /// failure, on the calling thread). `path` empty = the URL's path. Returns the request's id.
    uint64_t request(std::string method, std::string path, std::string content_type, std::string body, Callback done);
    uint64_t post(std::string path, std::string body, Callback done) {
        return request("POST", std::move(path), "application/json", std::move(body), std::move(done));
    }

    /// Close every request in flight: each gets its callback (ErrorKind::shutdown) before this returns
    /// when called from outside the I/O threads (it waits for their on_close). New requests fail at once.
    void shutdown();

    [[nodiscard]] const Options& options() const noexcept { return options_; }
    [[nodiscard]] std::size_t in_flight() const;

 private:
    struct Pending;
    static otd_status_t OTD_CALL on_open(void* user, otd_conn_t conn, uint64_t tag, const char* peer, const char* local);
    static void OTD_CALL on_data(void* user, otd_conn_t conn, const uint8_t* data, std::size_t size);
    static void OTD_CALL on_close(void* user, otd_conn_t conn, uint32_t reason, const char* message);
    static void complete(Pending& p, const Error& error, Response response);

    const otd_host_t* host_;
    const otd_net_service_t* net_;
    Options options_;
    otd_net_handlers_t handlers_{};
    mutable std::mutex mutex_;
    std::condition_variable cv_;  ///< pending_ shrank
    std::map<otd_conn_t, std::shared_ptr<Pending>> pending_;
    uint64_t next_id_ = 1;
    bool shut_ = false;
};

}  // namespace otedama::node
