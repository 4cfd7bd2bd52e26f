#include "otedama/node/jsonrpc.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace otedama::node {

namespace {

std::string printable(std::string_view s, std::size_t max = 80) {
    std::string out;
    for (const char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
    if (s.size() > max) out += "...";
    return out;
}

Error make_error(ErrorKind kind, std::string message, int status = 0, int64_t code = 0) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    e.http_status = status;
    e.rpc_code = code;
    return e;
}

std::string status_hint(int status) {
    switch (status) {
        case 401: return " (wrong RPC credentials: check user/pass or cookie_file)";
        case 403: return " (the node refuses this client: check its rpc allow-ip / restricted RPC settings)";
        case 404: return " (no such endpoint or method)";
        case 503: return " (the node is busy or still starting)";
        default: return "";
    }
}

}  // namespace

std::optional<Poco::Dynamic::Var> parse_json(const std::string& text, std::string* error) {
    try {
        Poco::JSON::Parser parser;
        return parser.parse(text);
    } catch (const Poco::Exception& e) {
        if (error != nullptr) *error = e.displayText();
    } catch (const std::exception& e) {
        if (error != nullptr) *error = e.what();
    }
    return std::nullopt;
}

std::string to_json(const Poco::Dynamic::Var& value) {
    std::ostringstream os;
    Poco::JSON::Stringifier::condense(value, os);
    return os.str();
}

Poco::JSON::Object::Ptr as_object(const Poco::Dynamic::Var& v) {
    if (v.type() == typeid(Poco::JSON::Object::Ptr)) return v.extract<Poco::JSON::Object::Ptr>();
    return nullptr;
}

std::optional<std::string> get_string(const Poco::JSON::Object::Ptr& o, const std::string& key, std::string* error) {
    if (o.isNull() || !o->has(key) || o->isNull(key)) {
        if (error != nullptr) *error = key + " is missing";
        return std::nullopt;
    }
    const Poco::Dynamic::Var v = o->get(key);
    if (!v.isString()) {
        if (error != nullptr) *error = key + " is not a string";
        return std::nullopt;
    }
    return v.extract<std::string>();
}

std::optional<uint64_t> get_uint(const Poco::JSON::Object::Ptr& o, const std::string& key, std::string* error) {
    if (o.isNull() || !o->has(key) || o->isNull(key)) {
        if (error != nullptr) *error = key + " is missing";
        return std::nullopt;
    }
    const Poco::Dynamic::Var v = o->get(key);
    try {
        if (v.isInteger()) {
            if (v.isSigned() && v.convert<int64_t>() < 0) {
                if (error != nullptr) *error = key + " is negative";
                return std::nullopt;
            }
            return v.convert<uint64_t>();
        }
    } catch (const Poco::Exception&) {
    }
    if (error != nullptr) *error = key + " is not a non-negative integer";
    return std::nullopt;
}

std::optional<bool> get_bool(const Poco::JSON::Object::Ptr& o, const std::string& key, std::string* error) {
    if (o.isNull() || !o->has(key) || o->isNull(key)) {
        if (error != nullptr) *error = key + " is missing";
        return std::nullopt;
    }
    const Poco::Dynamic::Var v = o->get(key);
    if (v.type() != typeid(bool)) {
        if (error != nullptr) *error = key + " is not a boolean";
        return std::nullopt;
    }
    return v.extract<bool>();
}

Error parse_rpc_reply(const Response& response, uint64_t id, const std::string& endpoint, Poco::Dynamic::Var* result) {
    const std::string status_text = "HTTP " + std::to_string(response.status) + (response.reason.empty() ? "" : " " + printable(response.reason));
    std::string why;
    const auto json = response.body.empty() ? std::nullopt : parse_json(response.body, &why);
    const Poco::JSON::Object::Ptr obj = json ? as_object(*json) : nullptr;
    if (!obj.isNull() && obj->has("error") && !obj->isNull("error")) {
        // A JSON-RPC error object (whatever the status: bitcoind sends it with 500 or 404).
        const Poco::Dynamic::Var ev = obj->get("error");
        const Poco::JSON::Object::Ptr eo = as_object(ev);
        if (eo.isNull()) return make_error(ErrorKind::json, endpoint + ": the reply's error member is not an object", response.status);
        int64_t code = 0;
        std::string message;
        try {
            if (eo->has("code") && eo->get("code").isInteger()) code = eo->get("code").convert<int64_t>();
            if (eo->has("message") && eo->get("message").isString()) message = eo->get("message").extract<std::string>();
        } catch (const Poco::Exception&) {
        }
        return make_error(ErrorKind::rpc_error, endpoint + ": RPC error " + std::to_string(code) + ": " + printable(message, 200), response.status, code);
    }
    if (response.status != 200)
        return make_error(ErrorKind::http_status, endpoint + ": " + status_text + status_hint(response.status), response.status);
    if (!json) return make_error(ErrorKind::json, endpoint + ": the reply is not JSON" + (why.empty() ? "" : " (" + printable(why) + ")"), response.status);
    if (obj.isNull()) return make_error(ErrorKind::json, endpoint + ": the reply is not a JSON object", response.status);
    if (!obj->has("result")) return make_error(ErrorKind::json, endpoint + ": the reply has neither result nor error", response.status);
    if (obj->has("id") && !obj->isNull("id")) {
        const Poco::Dynamic::Var rid = obj->get("id");
        bool same = false;
        try {
            same = rid.isInteger() ? rid.convert<uint64_t>() == id : rid.isString() && rid.extract<std::string>() == std::to_string(id);
        } catch (const Poco::Exception&) {
        }
        if (!same) return make_error(ErrorKind::json, endpoint + ": the reply answers id " + printable(rid.toString()) + ", not " + std::to_string(id), response.status);
    }
    *result = obj->get("result");
    return Error{};
}

JsonRpcClient::JsonRpcClient(const otd_host_t* host, const otd_net_service_t* net, Options options)
    : http_(host, net, std::move(options.http)), version_(std::move(options.version)) {}

void JsonRpcClient::call(const std::string& method, const Poco::Dynamic::Var& params, Callback done) {
    const uint64_t id = next_id_.fetch_add(1);
    Poco::JSON::Object req;
    req.set("jsonrpc", version_);
    req.set("id", id);
    req.set("method", method);
    if (!params.isEmpty()) req.set("params", params);
    std::ostringstream os;
    req.stringify(os);
    const std::string endpoint = http_.options().url.endpoint();
    http_.post("", os.str(), [done = std::move(done), id, endpoint, method](const Error& error, Response response) {
        if (error) {
            done(error, Poco::Dynamic::Var());
            return;
        }
        Poco::Dynamic::Var result;
        Error e = parse_rpc_reply(response, id, endpoint + " " + method, &result);
        done(e, e ? Poco::Dynamic::Var() : result);
    });
}

void JsonRpcClient::post_json(const std::string& path, const Poco::Dynamic::Var& body, Callback done) {
    const std::string endpoint = http_.options().url.endpoint() + path;
    http_.post(path, body.isEmpty() ? std::string("{}") : to_json(body), [done = std::move(done), endpoint](const Error& error, Response response) {
        if (error) {
            done(error, Poco::Dynamic::Var());
            return;
        }
        if (response.status != 200) {
            done(make_error(ErrorKind::http_status, endpoint + ": HTTP " + std::to_string(response.status) + " " + printable(response.reason) + status_hint(response.status),
                            response.status),
                 Poco::Dynamic::Var());
            return;
        }
        std::string why;
        const auto json = parse_json(response.body, &why);
        if (!json) {
            done(make_error(ErrorKind::json, endpoint + ": the reply is not JSON (" + printable(why) + ")", response.status), Poco::Dynamic::Var());
            return;
        }
        done(Error{}, *json);
    });
}

}  // namespace otedama::node
