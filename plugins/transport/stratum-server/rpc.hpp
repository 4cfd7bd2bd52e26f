// Stratum's JSON-RPC framing: reading one request line, writing result/error/notification lines.
//
// Stratum v1 is JSON-RPC 1.0 over newline-delimited TCP: requests {"id", "method", "params"}, replies
// {"id", "result", "error"}, server notifications with "id": null. Bitcoin-family errors are
// [code, "message", null] (slush's draft, as cgminer, bfgminer and every pool use it); the xmrig dialect
// answers JSON-RPC 2.0 style {"code", "message"} objects (see the Monero dialect).
#pragma once

#include "json.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace otedama::stratum {

/// Longest "id" (its JSON text) a request may carry: ids are echoed and kept while a share is verified.
inline constexpr size_t kMaxIdLength = 64;

struct Request {
  enum class Kind { request, response };
  Kind kind = Kind::request;
  std::string_view id = "null";  ///< the id's JSON text exactly as sent ("null" when absent)
  std::string_view method;       ///< empty for responses
  json::Value params;            ///< an array or an object; missing when absent or null
};

/// Read a parsed line as a JSON-RPC message. Returns nullptr and fills `out`, or a message saying what is
/// wrong ("the line is not a JSON object", "\"method\" must be a string" ...); out.id is set whenever the
/// line had a usable id, so the error can still be answered to it.
[[nodiscard]] const char* read_request(const json::Document& doc, Request& out);

/// {"id":ID,"result":RESULT,"error":null}\n   (result_json is raw JSON text)
void write_result(std::string& out, std::string_view id, std::string_view result_json);
/// {"id":ID,"result":null,"error":[CODE,"MESSAGE",null]}\n
void write_error(std::string& out, std::string_view id, int code, std::string_view message);
/// {"id":null,"method":"METHOD","params":PARAMS}\n   (params_json is raw JSON text)
void write_notification(std::string& out, std::string_view method, std::string_view params_json);

// The xmrig dialect's JSON-RPC 2.0 forms (xmrig src/base/net/stratum/Client.cpp reads "error" as an
// object with "code" and "message", and jobs as {"jsonrpc":"2.0","method":"job","params":{...}}).
/// {"id":ID,"jsonrpc":"2.0","error":null,"result":RESULT}\n
void write_result2(std::string& out, std::string_view id, std::string_view result_json);
/// {"id":ID,"jsonrpc":"2.0","error":{"code":CODE,"message":"MESSAGE"}}\n
void write_error2(std::string& out, std::string_view id, int code, std::string_view message);
/// {"jsonrpc":"2.0","method":"METHOD","params":PARAMS}\n
void write_notification2(std::string& out, std::string_view method, std::string_view params_json);

}  // namespace otedama::stratum
