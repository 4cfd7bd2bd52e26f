#include "host/wallet_rpc.hpp"

#include <otedama/node/jsonrpc.hpp>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace otedama::host {
namespace {

using Clock = std::chrono::steady_clock;
using node::ErrorKind;
using Failure = BlockingRpc::RpcFailure;

/// A socket closed when it goes out of scope.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

/// Waits for `events` on `fd` until `deadline`. @return false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return true;  // the next read/write reports the error
    }
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::string json_quote(const std::string& s) { return node::to_json(Poco::Dynamic::Var(s)); }

std::string decimal_amount(std::int64_t atomic, int decimals) {
    const bool negative = atomic < 0;
    // |INT64_MIN| does not fit: go through unsigned.
    std::uint64_t v = negative ? 0 - static_cast<std::uint64_t>(atomic) : static_cast<std::uint64_t>(atomic);
    std::uint64_t scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    std::string frac = std::to_string(v % scale);
    frac.insert(0, static_cast<std::size_t>(decimals) - frac.size(), '0');
    return (negative ? "-" : "") + std::to_string(v / scale) + (decimals > 0 ? "." + frac : "");
}

BlockingRpc::BlockingRpc(Options options) : options_(std::move(options)) {}

node::Response BlockingRpc::exchange(const std::string& path, const std::string& body) {
    const auto& url = options_.url;
    const std::string where = url.endpoint();
    if (url.tls()) throw Failure(ErrorKind::internal, 0, where + ": https is not supported for wallet RPC (use http:// on loopback)");
    std::string why;
    const auto auth = node::authorization_header(options_.auth, &why);
    if (!auth) throw Failure(ErrorKind::auth, 0, where + ": " + why);
    const auto deadline_for = [&] { return Clock::now() + options_.timeout; };

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int gai = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found);
    if (gai != 0 || found == nullptr) throw Failure(ErrorKind::connect_failed, 0, where + ": cannot resolve: " + ::gai_strerror(gai));
    Fd sock;
    std::string connect_error = "no address";
    for (addrinfo* ai = found; ai != nullptr && sock.fd < 0; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) continue;
        int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            if (!wait_for(fd, POLLOUT, deadline_for())) {
                ::close(fd);
                connect_error = "connect timed out";
                continue;
            }
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            rc = err == 0 ? 0 : -1;
            errno = err;
        }
        if (rc != 0) {
            connect_error = std::strerror(errno);
            ::close(fd);
            continue;
        }
        sock.fd = fd;
    }
    ::freeaddrinfo(found);
    if (sock.fd < 0) throw Failure(ErrorKind::connect_failed, 0, where + ": cannot connect: " + connect_error);

    std::string req = "POST " + (path.empty() ? url.path : path) + " HTTP/1.1\r\nHost: " + where +
                      "\r\nUser-Agent: otedama\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n";
    if (!auth->empty()) req += "Authorization: " + *auth + "\r\n";
    req += "\r\n" + body;
    std::size_t sent = 0;
    auto deadline = deadline_for();
    while (sent < req.size()) {
        const ssize_t n = ::send(sock.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(sock.fd, POLLOUT, deadline)) throw Failure(ErrorKind::timeout, 0, where + ": timed out sending the request");
            continue;
        }
        throw Failure(ErrorKind::closed, 0, where + ": send failed: " + std::strerror(errno));
    }
    node::HttpResponseParser parser;
    char buf[16384];
    for (;;) {
        deadline = deadline_for();  // the timeout bounds each wait for data, as the net service's idle timeout
        const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
        if (n > 0) {
            if (parser.feed(reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(n)) != node::HttpResponseParser::State::need_more) break;
            continue;
        }
        if (n == 0) {
            parser.finish();
            break;
        }
        if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(sock.fd, POLLIN, deadline)) {
                throw Failure(ErrorKind::timeout, 0, where + ": no reply within " + std::to_string(options_.timeout.count()) + " ms");
            }
            continue;
        }
        throw Failure(ErrorKind::closed, 0, where + ": receive failed: " + std::strerror(errno));
    }
    if (parser.state() != node::HttpResponseParser::State::done) {
        throw Failure(parser.error_kind() == ErrorKind::none ? ErrorKind::closed : parser.error_kind(), 0,
                      where + ": bad HTTP reply: " + (parser.error().empty() ? "closed before a complete reply" : parser.error()));
    }
    return parser.take();
}

Poco::Dynamic::Var BlockingRpc::call(const std::string& method, const std::string& params_json, const std::string& path) {
    const std::uint64_t id = next_id_++;
    std::string body = "{\"jsonrpc\":" + json_quote(options_.version) + ",\"id\":" + std::to_string(id) + ",\"method\":" + json_quote(method);
    if (!params_json.empty()) body += ",\"params\":" + params_json;
    body += "}";
    const node::Response response = exchange(path, body);
    Poco::Dynamic::Var result;
    const node::Error e = node::parse_rpc_reply(response, id, options_.url.endpoint() + " " + method, &result);
    if (e) throw Failure(e.kind, e.rpc_code, e.message);
    return result;
}

// ---- bitcoind -------------------------------------------------------------------------------------------

namespace {

constexpr int kBitcoinDecimals = 8;
// bitcoind's RPC error codes (src/rpc/protocol.h).
constexpr std::int64_t kRpcTypeError = -3;
constexpr std::int64_t kRpcInvalidAddressOrKey = -5;
constexpr std::int64_t kRpcWalletInsufficientFunds = -6;
constexpr std::int64_t kRpcInvalidParameter = -8;
constexpr std::int64_t kRpcWalletError = -4;

/// A failure of a call that sends nothing (a query): the wallet is unavailable for now.
WalletError to_wallet_error(const Failure& f, const std::string& wallet) {
    return WalletError(WalletError::Kind::unavailable, wallet + ": " + f.what());
}

std::string url_escape(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

Poco::JSON::Object::Ptr object_or_throw(const Poco::Dynamic::Var& v, const std::string& what) {
    auto o = node::as_object(v);
    if (o.isNull()) throw WalletError(WalletError::Kind::unavailable, what + ": the reply is not a JSON object");
    return o;
}

std::string string_or_throw(const Poco::JSON::Object::Ptr& o, const std::string& key, const std::string& what) {
    std::string why;
    const auto s = node::get_string(o, key, &why);
    if (!s) throw WalletError(WalletError::Kind::unavailable, what + ": " + why);
    return *s;
}

/// A txid: 64 hex digits.
bool is_txid(const std::string& s) {
    if (s.size() != 64) return false;
    for (const char c : s)
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

}  // namespace

BitcoindWallet::BitcoindWallet(Options options)
    : rpc_(std::move(options.rpc)),
      path_(options.wallet_name.empty() ? std::string() : "/wallet/" + url_escape(options.wallet_name)),
      subtract_fee_(options.subtract_fee) {}

Poco::Dynamic::Var BitcoindWallet::call(const std::string& method, const std::string& params) {
    try {
        return rpc_.call(method, params, path_);
    } catch (const Failure& f) {
        throw to_wallet_error(f, "bitcoind wallet " + method);
    }
}

std::string BitcoindWallet::transfer(const std::string& key, const std::string& address, std::int64_t amount) {
    if (amount <= 0) throw WalletError(WalletError::Kind::refused, "bitcoind wallet: amount must be positive");
    // sendmany "" {address: amount} minconf comment [subtractfeefrom]
    std::string params = "[\"\",{" + json_quote(address) + ":" + decimal_amount(amount, kBitcoinDecimals) + "},1," + json_quote(key);
    params += subtract_fee_ ? ",[" + json_quote(address) + "]]" : ",[]]";
    Poco::Dynamic::Var result;
    try {
        result = rpc_.call("sendmany", params, path_);
    } catch (const Failure& f) {
        const std::string what = std::string("bitcoind wallet sendmany: ") + f.what();
        if (f.kind == ErrorKind::rpc_error) {
            const std::string msg = lower(f.what());
            if (f.code == kRpcInvalidAddressOrKey) throw WalletError(WalletError::Kind::bad_address, what);
            if (f.code == kRpcWalletInsufficientFunds || msg.find("insufficient funds") != std::string::npos) {
                throw WalletError(WalletError::Kind::insufficient_funds, what);
            }
            if (f.code == kRpcTypeError || f.code == kRpcInvalidParameter ||
                (f.code == kRpcWalletError && (msg.find("too small") != std::string::npos || msg.find("dust") != std::string::npos))) {
                throw WalletError(WalletError::Kind::refused, what);
            }
        }
        throw WalletError(WalletError::Kind::unavailable, what);
    }
    if (!result.isString() || !is_txid(result.extract<std::string>())) {
        throw WalletError(WalletError::Kind::unavailable, "bitcoind wallet sendmany: the reply is not a txid");
    }
    return result.extract<std::string>();
}

std::optional<std::string> BitcoindWallet::find(const storage::PaymentRow& p) {
    // Newest first, a page at a time: listtransactions "*" count skip include_watchonly. A transaction older
    // than the intent (a day's margin for the wallet's clock) belongs to another ledger that reused the key.
    constexpr int kPage = 500;
    const std::int64_t not_before_s = p.created_at_ms / 1000 - 86'400;
    for (int skip = 0;; skip += kPage) {
        const auto v = call("listtransactions", "[\"*\"," + std::to_string(kPage) + "," + std::to_string(skip) + ",true]");
        if (v.type() != typeid(Poco::JSON::Array::Ptr)) {
            throw WalletError(WalletError::Kind::unavailable, "bitcoind wallet listtransactions: the reply is not an array");
        }
        const auto arr = v.extract<Poco::JSON::Array::Ptr>();
        bool any_recent = false;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const auto o = arr->getObject(static_cast<unsigned>(i));
            if (o.isNull()) continue;
            try {
                const std::int64_t time = o->has("time") ? o->get("time").convert<std::int64_t>() : 0;
                if (time >= not_before_s) any_recent = true;
                if (o->optValue<std::string>("category", "") != "send") continue;
                if (o->optValue<std::string>("comment", "") != p.idempotency_key) continue;
                if (o->optValue<std::string>("address", "") != p.account) continue;
                if (time < not_before_s) continue;
                const std::string txid = o->optValue<std::string>("txid", "");
                if (is_txid(txid)) return txid;
            } catch (const Poco::Exception&) {
                continue;  // an entry we cannot read is not ours
            }
        }
        if (arr->size() < static_cast<std::size_t>(kPage) || !any_recent) return std::nullopt;
    }
}

std::optional<std::int64_t> BitcoindWallet::confirmations(const std::string& txid) {
    const auto o = object_or_throw(call("gettransaction", "[" + json_quote(txid) + "]"), "bitcoind wallet gettransaction");
    try {
        return o->get("confirmations").convert<std::int64_t>();
    } catch (const Poco::Exception&) {
        throw WalletError(WalletError::Kind::unavailable, "bitcoind wallet gettransaction: no confirmations in the reply");
    }
}

// ---- monero-wallet-rpc ----------------------------------------------------------------------------------

namespace {

// monero-wallet-rpc's error codes (src/wallet/wallet_rpc_server_error_codes.h).
constexpr std::int64_t kMoneroWrongAddress = -2;
constexpr std::int64_t kMoneroNotEnoughMoney = -17;
constexpr std::int64_t kMoneroNotEnoughUnlockedMoney = -37;
constexpr std::int64_t kMoneroZeroDestination = -20;
constexpr std::int64_t kMoneroTxNotPossible = -16;

}  // namespace

MoneroWallet::MoneroWallet(Options options) : rpc_(std::move(options.rpc)), account_index_(options.account_index) {
    if (rpc_.options().url.path.empty() || rpc_.options().url.path == "/") {
        BlockingRpc::Options o = rpc_.options();
        o.url.path = "/json_rpc";
        o.version = "2.0";
        rpc_ = BlockingRpc(o);
    }
}

Poco::Dynamic::Var MoneroWallet::call(const std::string& method, const std::string& params) {
    try {
        return rpc_.call(method, params);
    } catch (const Failure& f) {
        throw to_wallet_error(f, "monero-wallet-rpc " + method);
    }
}

std::string MoneroWallet::transfer(const std::string& key, const std::string& address, std::int64_t amount) {
    if (amount <= 0) throw WalletError(WalletError::Kind::refused, "monero wallet: amount must be positive");
    // 1. Build and sign, do not send: the transaction and its metadata.
    Poco::Dynamic::Var built;
    try {
        built = rpc_.call("transfer", "{\"destinations\":[{\"amount\":" + std::to_string(amount) + ",\"address\":" + json_quote(address) +
                                          "}],\"account_index\":" + std::to_string(account_index_) +
                                          ",\"priority\":0,\"do_not_relay\":true,\"get_tx_metadata\":true}");
    } catch (const Failure& f) {
        const std::string what = std::string("monero-wallet-rpc transfer: ") + f.what();
        if (f.kind == ErrorKind::rpc_error) {
            if (f.code == kMoneroWrongAddress) throw WalletError(WalletError::Kind::bad_address, what);
            if (f.code == kMoneroNotEnoughMoney || f.code == kMoneroNotEnoughUnlockedMoney || f.code == kMoneroTxNotPossible || lower(what).find("not enough") != std::string::npos) {
                throw WalletError(WalletError::Kind::insufficient_funds, what);
            }
            if (f.code == kMoneroZeroDestination) throw WalletError(WalletError::Kind::refused, what);
        }
        throw WalletError(WalletError::Kind::unavailable, what);
    }
    const auto o = object_or_throw(built, "monero-wallet-rpc transfer");
    const std::string txid = string_or_throw(o, "tx_hash", "monero-wallet-rpc transfer");
    const std::string metadata = string_or_throw(o, "tx_metadata", "monero-wallet-rpc transfer");
    if (!is_txid(txid) || metadata.empty()) throw WalletError(WalletError::Kind::unavailable, "monero-wallet-rpc transfer: no transaction in the reply");
    // 2. The note that find() matches, before the transaction can exist anywhere but here.
    call("set_tx_notes", "{\"txids\":[" + json_quote(txid) + "],\"notes\":[" + json_quote(key) + "]}");
    // 3. Send it; 4. the wallet file keeps the note and the spent outputs.
    call("relay_tx", "{\"hex\":" + json_quote(metadata) + "}");
    try {
        call("store", "");
    } catch (const WalletError&) {
        // Sent: the wallet saves itself again at its next refresh or exit; a failure to store now is no reason
        // to report the transfer as not made.
    }
    return txid;
}

std::optional<std::string> MoneroWallet::find(const storage::PaymentRow& p) {
    const auto o = object_or_throw(call("get_transfers", "{\"out\":true,\"pending\":true,\"pool\":true,\"account_index\":" +
                                                             std::to_string(account_index_) + "}"),
                                   "monero-wallet-rpc get_transfers");
    for (const char* list : {"out", "pending", "pool"}) {
        if (!o->has(list)) continue;
        const auto arr = o->getArray(list);
        if (arr.isNull()) continue;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const auto t = arr->getObject(static_cast<unsigned>(i));
            if (t.isNull()) continue;
            if (t->optValue<std::string>("note", "") != p.idempotency_key) continue;
            const std::string txid = t->optValue<std::string>("txid", "");
            if (is_txid(txid)) return txid;
        }
    }
    return std::nullopt;
}

std::optional<std::int64_t> MoneroWallet::confirmations(const std::string& txid) {
    const auto o = object_or_throw(call("get_transfer_by_txid", "{\"txid\":" + json_quote(txid) + "}"), "monero-wallet-rpc get_transfer_by_txid");
    const auto t = o->getObject("transfer");
    if (t.isNull()) throw WalletError(WalletError::Kind::unavailable, "monero-wallet-rpc get_transfer_by_txid: no transfer in the reply");
    const std::string type = t->optValue<std::string>("type", "");
    if (type == "failed") return -1;
    if (type == "pending" || type == "pool") return 0;
    try {
        return t->has("confirmations") ? t->get("confirmations").convert<std::int64_t>() : 0;
    } catch (const Poco::Exception&) {
        return 0;
    }
}

}  // namespace otedama::host
