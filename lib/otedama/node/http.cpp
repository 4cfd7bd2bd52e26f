#include "otedama/node/http.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <thread>

namespace otedama::node {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string printable(std::string_view s, std::size_t max = 60) {
    std::string out;
    for (const char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
    if (s.size() > max) out += "...";
    return out;
}

bool set_error(std::string* error, std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
}

}  // namespace

// --- auth -----------------------------------------------------------------------------------------------------

std::string base64(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (bytes.size() - i == 1) {
        const uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (bytes.size() - i == 2) {
        const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> authorization_header(const Auth& auth, std::string* error) {
    std::string credentials;
    if (!auth.cookie_file.empty()) {
        std::ifstream in(auth.cookie_file, std::ios::binary);
        if (!in) {
            set_error(error, "cannot read the cookie file " + auth.cookie_file + " (is the node running, and is the path its -rpccookiefile?)");
            return std::nullopt;
        }
        std::string line;
        std::getline(in, line);
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
        if (line.find(':') == std::string::npos || line.size() > 1024) {
            set_error(error, "the cookie file " + auth.cookie_file + " does not hold 'user:password'");
            return std::nullopt;
        }
        credentials = line;
    } else if (!auth.user.empty() || !auth.pass.empty()) {
        credentials = auth.user + ":" + auth.pass;
    } else {
        return std::string();
    }
    return "Basic " + base64(credentials);
}

const char* error_kind_name(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::none: return "none";
        case ErrorKind::connect_failed: return "connect_failed";
        case ErrorKind::timeout: return "timeout";
        case ErrorKind::closed: return "closed";
        case ErrorKind::malformed: return "malformed";
        case ErrorKind::too_large: return "too_large";
        case ErrorKind::http_status: return "http_status";
        case ErrorKind::json: return "json";
        case ErrorKind::rpc_error: return "rpc_error";
        case ErrorKind::auth: return "auth";
        case ErrorKind::shutdown: return "shutdown";
        case ErrorKind::internal: return "internal";
    }
    return "unknown";
}

// --- response parser ------------------------------------------------------------------------------------------

HttpResponseParser::State HttpResponseParser::fail(ErrorKind kind, std::string why) {
    state_ = State::error;
    error_kind_ = kind;
    error_ = std::move(why);
    buf_.clear();
    pos_ = 0;
    return state_;
}

bool HttpResponseParser::take_line(std::string& line) {
    const auto nl = buf_.find('\n', pos_);
    if (nl == std::string::npos) return false;
    std::size_t end = nl;
    if (end > pos_ && buf_[end - 1] == '\r') --end;
    line.assign(buf_, pos_, end - pos_);
    pos_ = nl + 1;
    return true;
}

HttpResponseParser::State HttpResponseParser::feed(const uint8_t* data, std::size_t size) {
    if (state_ != State::need_more) return state_;
    buf_.append(reinterpret_cast<const char*>(data), size);
    const State s = step();
    if (s == State::need_more && pos_ > 0) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    return s;
}

HttpResponseParser::State HttpResponseParser::finish() {
    if (state_ != State::need_more) return state_;
    if (phase_ == Phase::body_to_close) {
        phase_ = Phase::done;
        state_ = State::done;
        return state_;
    }
    if (phase_ == Phase::status_line && buf_.size() == pos_ && header_bytes_ == 0)
        return fail(ErrorKind::closed, "the server closed the connection without replying");
    return fail(ErrorKind::closed, "the server closed the connection in the middle of its reply");
}

HttpResponseParser::State HttpResponseParser::after_headers() {
    const auto te = response_.headers.find("transfer-encoding");
    const auto cl = response_.headers.find("content-length");
    const bool no_body = response_.status == 204 || response_.status == 304 || (response_.status >= 100 && response_.status < 200);
    if (no_body) {
        phase_ = Phase::done;
        return state_ = State::done;
    }
    if (te != response_.headers.end()) {
        // RFC 9112 6.1: chunked must be the final coding; we ask for no other coding, so accept only chunked.
        if (lower(trim(te->second)) != "chunked")
            return fail(ErrorKind::malformed, "unsupported Transfer-Encoding '" + printable(te->second) + "'");
        phase_ = Phase::chunk_size;
        return State::need_more;
    }
    if (cl != response_.headers.end()) {
        const std::string_view v = trim(cl->second);
        uint64_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc{} || end != v.data() + v.size())
            return fail(ErrorKind::malformed, "Content-Length '" + printable(cl->second) + "' is not a number");
        if (n > limits_.max_body)
            return fail(ErrorKind::too_large, "the reply body (" + std::to_string(n) + " bytes) is over the limit of " +
                                                  std::to_string(limits_.max_body) + " bytes");
        remaining_ = n;
        phase_ = n == 0 ? Phase::done : Phase::body_length;
        if (n == 0) return state_ = State::done;
        return State::need_more;
    }
    phase_ = Phase::body_to_close;
    return State::need_more;
}

HttpResponseParser::State HttpResponseParser::step() {
    std::string line;
    for (;;) {
        switch (phase_) {
            case Phase::status_line: {
                if (!take_line(line)) {
                    if (buf_.size() - pos_ > limits_.max_header) return fail(ErrorKind::too_large, "the status line is too long");
                    return State::need_more;
                }
                if (line.empty() && header_bytes_ == 0) {  // tolerate a stray empty line before the status line
                    header_bytes_ = 1;
                    continue;
                }
                header_bytes_ += line.size() + 2;
                // HTTP-version SP status-code SP [reason-phrase]
                if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ' || !std::isdigit(static_cast<unsigned char>(line[9])) ||
                    !std::isdigit(static_cast<unsigned char>(line[10])) || !std::isdigit(static_cast<unsigned char>(line[11])) ||
                    (line.size() > 12 && line[12] != ' '))
                    return fail(ErrorKind::malformed, "the reply does not start with an HTTP/1.x status line: '" + printable(line) + "'");
                response_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
                response_.reason = line.size() > 13 ? line.substr(13) : "";
                if (response_.status < 100) return fail(ErrorKind::malformed, "status code " + std::to_string(response_.status) + " is out of range");
                phase_ = Phase::headers;
                break;
            }
            case Phase::headers:
            case Phase::trailers: {
                if (!take_line(line)) {
                    if (header_bytes_ + (buf_.size() - pos_) > limits_.max_header) return fail(ErrorKind::too_large, "the reply headers are over the limit");
                    return State::need_more;
                }
                header_bytes_ += line.size() + 2;
                if (header_bytes_ > limits_.max_header) return fail(ErrorKind::too_large, "the reply headers are over the limit");
                if (line.empty()) {
                    if (phase_ == Phase::trailers) {
                        phase_ = Phase::done;
                        return state_ = State::done;
                    }
                    if (response_.status >= 100 && response_.status < 200) {  // 100 Continue and friends: the real reply follows
                        response_ = Response{};
                        phase_ = Phase::status_line;
                        break;
                    }
                    const State s = after_headers();
                    if (s != State::need_more) return s;
                    break;
                }
                if (line.front() == ' ' || line.front() == '\t')
                    return fail(ErrorKind::malformed, "obsolete header line folding in the reply");
                const auto colon = line.find(':');
                if (colon == std::string::npos || colon == 0)
                    return fail(ErrorKind::malformed, "a reply header line has no name: '" + printable(line) + "'");
                const std::string name = lower(std::string_view(line).substr(0, colon));
                for (const char c : name)
                    if (c == ' ' || c == '\t') return fail(ErrorKind::malformed, "a reply header name has a space: '" + printable(name) + "'");
                if (phase_ == Phase::headers) {
                    const std::string value(trim(std::string_view(line).substr(colon + 1)));
                    if (name == "content-length") {
                        const auto prev = response_.headers.find(name);
                        if (prev != response_.headers.end() && prev->second != value)
                            return fail(ErrorKind::malformed, "two different Content-Length headers in the reply");
                    }
                    response_.headers[name] = value;
                }
                break;
            }
            case Phase::body_length: {
                const std::size_t avail = buf_.size() - pos_;
                const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(avail, remaining_));
                response_.body.append(buf_, pos_, take);
                pos_ += take;
                remaining_ -= take;
                if (remaining_ == 0) {
                    phase_ = Phase::done;
                    return state_ = State::done;
                }
                return State::need_more;
            }
            case Phase::body_to_close: {
                const std::size_t avail = buf_.size() - pos_;
                if (response_.body.size() + avail > limits_.max_body)
                    return fail(ErrorKind::too_large, "the reply body is over the limit of " + std::to_string(limits_.max_body) + " bytes");
                response_.body.append(buf_, pos_, avail);
                pos_ += avail;
                return State::need_more;
            }
            case Phase::chunk_size: {
                if (!take_line(line)) {
                    if (buf_.size() - pos_ > 1024) return fail(ErrorKind::malformed, "a chunk size line is too long");
                    return State::need_more;
                }
                std::string_view v(line);
                const auto semi = v.find(';');  // chunk extensions are ignored
                v = trim(v.substr(0, semi));
                uint64_t n = 0;
                const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n, 16);
                if (v.empty() || ec != std::errc{} || end != v.data() + v.size())
                    return fail(ErrorKind::malformed, "bad chunk size '" + printable(line) + "'");
                if (n > limits_.max_body || response_.body.size() + n > limits_.max_body)
                    return fail(ErrorKind::too_large, "the reply body is over the limit of " + std::to_string(limits_.max_body) + " bytes");
                if (n == 0) {
                    phase_ = Phase::trailers;
                    break;
                }
                remaining_ = n;
                phase_ = Phase::chunk_data;
                break;
            }
            case Phase::chunk_data: {
                const std::size_t avail = buf_.size() - pos_;
                const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(avail, remaining_));
                response_.body.append(buf_, pos_, take);
                pos_ += take;
                remaining_ -= take;
                if (remaining_ != 0) return State::need_more;
                phase_ = Phase::chunk_data_end;
                break;
            }
            case Phase::chunk_data_end: {
                if (!take_line(line)) {
                    if (buf_.size() - pos_ > 2) return fail(ErrorKind::malformed, "a chunk is longer than its size");
                    return State::need_more;
                }
                if (!line.empty()) return fail(ErrorKind::malformed, "a chunk is longer than its size");
                phase_ = Phase::chunk_size;
                break;
            }
            case Phase::done: return state_ = State::done;
        }
    }
}

// --- client ---------------------------------------------------------------------------------------------------

struct HttpClient::Pending {
    uint64_t id = 0;
    Callback done;
    HttpResponseParser parser;
    bool finished = false;  ///< the reply is complete and reported (the connection is being closed)
};

HttpClient::HttpClient(const otd_host_t* host, const otd_net_service_t* net, Options options)
    : host_(host), net_(net), options_(std::move(options)) {
    handlers_.struct_size = sizeof handlers_;
    handlers_.user = this;
    handlers_.on_open = &HttpClient::on_open;
    handlers_.on_data = &HttpClient::on_data;
    handlers_.on_close = &HttpClient::on_close;
}

HttpClient::~HttpClient() { shutdown(); }

std::size_t HttpClient::in_flight() const {
    const std::lock_guard lock(mutex_);
    return pending_.size();
}

uint64_t HttpClient::request(std::string method, std::string path, std::string content_type, std::string body, Callback done) {
    const Url& url = options_.url;
    auto fail_now = [&](ErrorKind kind, std::string why) {
        Error e;
        e.kind = kind;
        e.message = std::move(why);
        done(e, Response{});
    };
    std::string why;
    const auto auth = authorization_header(options_.auth, &why);
    if (!auth) {
        fail_now(ErrorKind::auth, url.endpoint() + ": " + why);
        return 0;
    }
    std::string req;
    req.reserve(256 + body.size());
    req += method + " " + (path.empty() ? url.path : path) + " HTTP/1.1\r\n";
    req += "Host: " + url.endpoint() + "\r\n";
    req += "User-Agent: " + options_.user_agent + "\r\n";
    req += "Accept: application/json\r\n";
    req += "Connection: close\r\n";
    if (!auth->empty()) req += "Authorization: " + *auth + "\r\n";
    if (!body.empty() || method == "POST") {
        req += "Content-Type: " + content_type + "\r\n";
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n";
    req += body;

    auto p = std::make_shared<Pending>();
    p->done = std::move(done);
    p->parser = HttpResponseParser(HttpResponseParser::Limits{64 * 1024, options_.max_body});

    otd_net_options_t opts{};
    opts.struct_size = sizeof opts;
    opts.framing = OTD_NET_FRAMING_RAW;
    opts.idle_timeout_ms = options_.timeout_ms;
    opts.max_send_queue = static_cast<uint32_t>(std::min<std::size_t>(UINT32_MAX, std::max<std::size_t>(req.size() + 4096, 1U << 20)));
    opts.tls = url.tls() ? 1 : 0;
    opts.tls_verify = 0;

    std::unique_lock lock(mutex_);  // on_open/on_data/on_close wait for the id to be recorded
    if (shut_) {
        lock.unlock();
        Error e;
        e.kind = ErrorKind::shutdown;
        e.message = url.endpoint() + ": the RPC client is shut down";
        p->done(e, Response{});
        return 0;
    }
    p->id = next_id_++;
    otd_conn_t conn = 0;
    char err[256] = {};
    const otd_status_t st = net_ == nullptr ? OTD_ERR_UNSUPPORTED
                                            : net_->connect(host_, url.host.c_str(), url.port, &opts, &handlers_, p->id, &conn, err, sizeof err);
    if (st != OTD_OK || conn == 0) {
        lock.unlock();
        Error e;
        e.kind = st == OTD_ERR_STATE ? ErrorKind::shutdown : ErrorKind::internal;
        e.message = url.endpoint() + ": " + (net_ == nullptr ? std::string("no network service") : std::string(err));
        p->done(e, Response{});
        return 0;
    }
    pending_[conn] = p;
    const uint64_t id = p->id;
    // Queued before the connection opens: the net service writes it once connected.
    if (net_->send(host_, conn, reinterpret_cast<const uint8_t*>(req.data()), req.size()) != OTD_OK) {
        // The connection is already closing (its on_close will report why); nothing else to do.
    }
    return id;
}

otd_status_t OTD_CALL HttpClient::on_open(void*, otd_conn_t, uint64_t, const char*, const char*) { return OTD_OK; }

void OTD_CALL HttpClient::on_data(void* user, otd_conn_t conn, const uint8_t* data, std::size_t size) {
    auto* self = static_cast<HttpClient*>(user);
    std::shared_ptr<Pending> p;
    {
        const std::lock_guard lock(self->mutex_);
        const auto it = self->pending_.find(conn);
        if (it == self->pending_.end()) return;
        p = it->second;
    }
    if (p->finished) return;  // only this connection's thread touches its parser
    const auto st = p->parser.feed(data, size);
    if (st == HttpResponseParser::State::need_more) return;
    p->finished = true;
    if (st == HttpResponseParser::State::done) {
        self->complete(*p, Error{}, p->parser.take());
    } else {
        Error e;
        e.kind = p->parser.error_kind();
        e.message = self->options_.url.endpoint() + ": " + p->parser.error();
        self->complete(*p, e, Response{});
    }
    self->net_->close(self->host_, conn, 0);
}

void OTD_CALL HttpClient::on_close(void* user, otd_conn_t conn, uint32_t reason, const char* message) {
    auto* self = static_cast<HttpClient*>(user);
    std::shared_ptr<Pending> p;
    {
        const std::lock_guard lock(self->mutex_);
        const auto it = self->pending_.find(conn);
        if (it == self->pending_.end()) return;
        p = it->second;
    }
    if (!p->finished) {
        p->finished = true;
        const std::string ep = self->options_.url.endpoint();
        const std::string m = message != nullptr ? message : "";
        Error e;
        if (reason == OTD_NET_CLOSED_BY_PEER && p->parser.finish() == HttpResponseParser::State::done) {
            self->complete(*p, Error{}, p->parser.take());
        } else {
            switch (reason) {
                case OTD_NET_CONNECT_FAILED:
                    e.kind = ErrorKind::connect_failed;
                    e.message = m.rfind("cannot connect", 0) == 0 ? m : "cannot connect to " + ep + (m.empty() ? "" : ": " + m);
                    break;
                case OTD_NET_CLOSED_IDLE:
                    e.kind = ErrorKind::timeout;
                    e.message = ep + ": no reply within " + std::to_string(self->options_.timeout_ms) + " ms";
                    break;
                case OTD_NET_CLOSED_SHUTDOWN:
                case OTD_NET_CLOSED_BY_PLUGIN:
                    e.kind = ErrorKind::shutdown;
                    e.message = ep + ": the request was cancelled (shutting down)";
                    break;
                case OTD_NET_CLOSED_BY_PEER:
                    e.kind = p->parser.error_kind() == ErrorKind::none ? ErrorKind::closed : p->parser.error_kind();
                    e.message = ep + ": " + p->parser.error();
                    break;
                default:
                    e.kind = ErrorKind::closed;
                    e.message = ep + ": connection lost" + (m.empty() ? "" : ": " + m);
                    break;
            }
            self->complete(*p, e, Response{});
        }
    }
    std::shared_ptr<Pending> last;  // the callback may be the last owner of what the caller captured
    {
        const std::lock_guard lock(self->mutex_);
        const auto it = self->pending_.find(conn);
        if (it != self->pending_.end()) {
            last = std::move(it->second);
            self->pending_.erase(it);
        }
    }
    self->cv_.notify_all();
}

void HttpClient::complete(Pending& p, const Error& error, Response response) {
    // Once per request (guarded by `finished` on the connection's own thread), without the client's lock:
    // the callback may start the next request. It is moved out so what it captured goes right after it ran.
    Callback done = std::move(p.done);
    if (done) done(error, std::move(response));
}

void HttpClient::shutdown() {
    std::vector<otd_conn_t> conns;
    {
        const std::lock_guard lock(mutex_);
        shut_ = true;
        for (const auto& [conn, p] : pending_) conns.push_back(conn);
    }
    for (const otd_conn_t c : conns) net_->close(host_, c, 0);
    // Wait for their on_close (each reports ErrorKind::shutdown); bounded, should it be called on an I/O thread.
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return pending_.empty(); });
}

}  // namespace otedama::node
