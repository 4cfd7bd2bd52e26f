#include "rpc.hpp"

namespace otedama::stratum {

const char* read_request(const json::Document& doc, Request& out) {
  out = Request{};
  const json::Value root = doc.root();
  if (!root.is_object()) return "the line is not a JSON object";
  const json::Value id = root.find("id");
  if (id.exists()) {
    const json::Type t = id.type();
    if (t != json::Type::null && t != json::Type::number && t != json::Type::string)
      return "\"id\" must be a number, a string or null";
    if (id.token().size() > kMaxIdLength) return "\"id\" is longer than 64 bytes";
    out.id = id.token();
  }
  const json::Value method = root.find("method");
  const json::Value params = root.find("params");
  if (params.exists() && !params.is_null()) {
    if (!params.is_array() && !params.is_object()) return "\"params\" must be an array or an object";
    out.params = params;
  }
  if (!method.exists() || method.is_null()) {
    if (root.find("result").exists() || root.find("error").exists()) {
      out.kind = Request::Kind::response;
      return nullptr;
    }
    return "no \"method\"";
  }
  const auto name = method.plain_string();
  if (!name) return "\"method\" must be a string without escapes";
  if (name->empty()) return "\"method\" is empty";
  out.method = *name;
  return nullptr;
}

void write_result(std::string& out, std::string_view id, std::string_view result_json) {
  out.append("{\"id\":");
  out.append(id);
  out.append(",\"result\":");
  out.append(result_json);
  out.append(",\"error\":null}\n");
}

void write_error(std::string& out, std::string_view id, int code, std::string_view message) {
  out.append("{\"id\":");
  out.append(id);
  out.append(",\"result\":null,\"error\":[");
  json::append_number(out, code);
  out.push_back(',');
  json::append_string(out, message);
  out.append(",null]}\n");
}

void write_notification(std::string& out, std::string_view method, std::string_view params_json) {
  out.append("{\"id\":null,\"method\":\"");
  out.append(method);
  out.append("\",\"params\":");
  out.append(params_json);
  out.append("}\n");
}

void write_result2(std::string& out, std::string_view id, std::string_view result_json) {
  out.append("{\"id\":");
  out.append(id);
  out.append(",\"jsonrpc\":\"2.0\",\"error\":null,\"result\":");
  out.append(result_json);
  out.append("}\n");
}

void write_error2(std::string& out, std::string_view id, int code, std::string_view message) {
  out.append("{\"id\":");
  out.append(id);
  out.append(",\"jsonrpc\":\"2.0\",\"error\":{\"code\":");
  json::append_number(out, code);
  out.append(",\"message\":");
  json::append_string(out, message);
  out.append("}}\n");
}

void write_notification2(std::string& out, std::string_view method, std::string_view params_json) {
  out.append("{\"jsonrpc\":\"2.0\",\"method\":\"");
  out.append(method);
  out.append("\",\"params\":");
  out.append(params_json);
  out.append("}\n");
}

}  // namespace otedama::stratum
