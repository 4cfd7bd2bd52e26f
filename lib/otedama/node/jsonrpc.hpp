// JSON-RPC over HttpClient, the way coin nodes speak it:
//  - monerod: JSON-RPC 2.0 at /json_rpc ({"jsonrpc":"2.0","id":N,"method":..,"params":{..}}), and plain JSON
//    POSTs to "other" endpoints (/get_info, /get_height ...) whose whole reply object is the result;
//  - bitcoind and its forks: JSON-RPC 1.0-style at / ({"jsonrpc":"1.0",...}); an error comes with HTTP 500
//    (or 404 for an unknown method) and a body {"result":null,"error":{"code":..,"message":..},"id":..};
//    wrong credentials are a bare 401 without a body.
// Every call ends in exactly one callback: the `result` member (Poco::Dynamic::Var: an Object::Ptr, an
// Array::Ptr, a string, a number, or empty for null), or an Error:
//   http_status  a status other than 200 without a JSON-RPC error object ("HTTP 401 Unauthorized ...")
//   rpc_error    the reply's error object: rpc_code and its message
//   json         the body is not JSON, not an object, has no result, or answers another id
//   and the transport kinds of http.hpp (connect_failed, timeout, closed, malformed, too_large, shutdown).
// Thread safety: as HttpClient; callbacks run on the net service's I/O threads.
#pragma once

#include "otedama/node/http.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <atomic>
#include <optional>
#include <string>

namespace otedama::node {

class JsonRpcClient {
 public:
    struct Options {
        HttpClient::Options http;
        std::string version = "2.0";  ///< the "jsonrpc" member: "2.0" (monerod), "1.0" (bitcoind)
    };
    using Callback = std::function<void(const Error& error, Poco::Dynamic::Var result)>;

    JsonRpcClient(const otd_host_t* host, const otd_net_service_t* net, Options options);

    /// A JSON-RPC call to the URL's path; `params` an Object::Ptr, Array::Ptr or empty (no params member).
    void call(const std::string& method, const Poco::Dynamic::Var& params, Callback done);
    /// A plain JSON POST to `path` (monerod's /get_info): the reply's whole JSON value is the result.
    void post_json(const std::string& path, const Poco::Dynamic::Var& body, Callback done);

    void shutdown() { http_.shutdown(); }
    [[nodiscard]] const Url& url() const noexcept { return http_.options().url; }
    [[nodiscard]] HttpClient& http() noexcept { return http_; }

 private:
    HttpClient http_;
    std::string version_;
    std::atomic<uint64_t> next_id_{1};
};

/// Interpret one HTTP reply to a JSON-RPC request with id `id` (exposed for tests): the result, or an Error.
[[nodiscard]] Error parse_rpc_reply(const Response& response, uint64_t id, const std::string& endpoint, Poco::Dynamic::Var* result);

/// Parse a JSON text into a Var (std::nullopt and `error` when it is not JSON).
[[nodiscard]] std::optional<Poco::Dynamic::Var> parse_json(const std::string& text, std::string* error = nullptr);
/// Compact JSON text of a Var.
[[nodiscard]] std::string to_json(const Poco::Dynamic::Var& value);

// Reading fields of a result object with errors that name the field. Each returns std::nullopt (and sets
// `error` to "<what>.<key> is missing / is not ...") when the field is absent or of the wrong type.
[[nodiscard]] Poco::JSON::Object::Ptr as_object(const Poco::Dynamic::Var& v);
[[nodiscard]] std::optional<std::string> get_string(const Poco::JSON::Object::Ptr& o, const std::string& key, std::string* error);
[[nodiscard]] std::optional<uint64_t> get_uint(const Poco::JSON::Object::Ptr& o, const std::string& key, std::string* error);
[[nodiscard]] std::optional<bool> get_bool(const Poco::JSON::Object::Ptr& o, const std::string& key, std::string* error);

}  // namespace otedama::node
