#include "config/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

namespace otedama::config {

const Value* Value::find(std::string_view key) const {
    const auto* object = std::get_if<Object>(&data_);
    if (object == nullptr) return nullptr;
    for (const auto& [name, member] : *object) {
        if (name == key) return &member;
    }
    return nullptr;
}

Value& Value::operator[](std::string_view key) {
    if (!is_object()) data_ = Object{};
    auto& object = std::get<Object>(data_);
    for (auto& [name, member] : object) {
        if (name == key) return member;
    }
    return object.emplace_back(std::string(key), Value{}).second;
}

namespace {

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (byte < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(byte));
                    out += escaped;
                } else {
                    out += ch;  // UTF-8 multi-byte sequences are valid JSON as they are.
                }
        }
    }
    out += '"';
}

void append_json_double(std::string& out, double number) {
    if (!std::isfinite(number)) {  // JSON has no NaN or infinity.
        out += "null";
        return;
    }
    char buffer[32];
    // Shortest text that reads back to the same double.
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
    std::string_view text(buffer, ec == std::errc{} ? static_cast<std::size_t>(end - buffer) : 0);
    out += text;
    if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void append_json(std::string& out, const Value& value) {
    struct Visitor {
        std::string& out;
        void operator()(std::nullptr_t) const { out += "null"; }
        void operator()(bool b) const { out += b ? "true" : "false"; }
        void operator()(std::int64_t i) const { out += std::to_string(i); }
        void operator()(double d) const { append_json_double(out, d); }
        void operator()(const std::string& s) const { append_json_string(out, s); }
        void operator()(const Value::Array& array) const {
            out += '[';
            for (std::size_t i = 0; i < array.size(); ++i) {
                if (i != 0) out += ',';
                append_json(out, array[i]);
            }
            out += ']';
        }
        void operator()(const Value::Object& object) const {
            out += '{';
            for (std::size_t i = 0; i < object.size(); ++i) {
                if (i != 0) out += ',';
                append_json_string(out, object[i].first);
                out += ':';
                append_json(out, object[i].second);
            }
            out += '}';
        }
    };
    std::visit(Visitor{out}, value.storage());
}

}  // namespace

std::string to_json(const Value& value) {
    std::string out;
    append_json(out, value);
    return out;
}

}  // namespace otedama::config
