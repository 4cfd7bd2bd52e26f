// A small JSON-shaped value tree: what free-form config maps (plugin settings, devnet) hold, and what
// the effective configuration is rendered to for subtree_json() and to_yaml().
//
// Thread contract: a Value is a plain value type; concurrent reads are safe, writes need the caller's lock.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace otedama::config {

class Value {
public:
    using Array = std::vector<Value>;
    // Objects keep insertion order so that JSON and YAML output mirror the file and the schema.
    using Object = std::vector<std::pair<std::string, Value>>;
    using Storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object>;

    Value() = default;
    Value(std::nullptr_t) {}
    Value(bool b) : data_(b) {}
    // Any integer type, so that Value(3) is not ambiguous between bool, int64 and double.
    template <std::integral I>
        requires(!std::same_as<I, bool>)
    Value(I i) : data_(static_cast<std::int64_t>(i)) {}
    Value(double d) : data_(d) {}
    Value(std::string s) : data_(std::move(s)) {}
    Value(const char* s) : data_(std::string(s)) {}
    Value(Array a) : data_(std::move(a)) {}
    Value(Object o) : data_(std::move(o)) {}

    [[nodiscard]] static Value object() { return Value(Object{}); }
    [[nodiscard]] static Value array() { return Value(Array{}); }

    [[nodiscard]] bool is_null() const { return std::holds_alternative<std::nullptr_t>(data_); }
    [[nodiscard]] bool is_object() const { return std::holds_alternative<Object>(data_); }
    [[nodiscard]] bool is_array() const { return std::holds_alternative<Array>(data_); }

    [[nodiscard]] const Storage& storage() const { return data_; }
    [[nodiscard]] Storage& storage() { return data_; }

    // Member lookup; nullptr when this is not an object or has no such key.
    [[nodiscard]] const Value* find(std::string_view key) const;
    // Member lookup that inserts a null member (and turns a non-object into an empty object) if needed.
    Value& operator[](std::string_view key);

    bool operator==(const Value&) const = default;

private:
    Storage data_;
};

// Compact JSON (no whitespace). Strings are escaped per RFC 8259; UTF-8 passes through unchanged.
// Doubles always carry a '.' or an exponent so that a reader sees a float, not an integer.
[[nodiscard]] std::string to_json(const Value& value);

}  // namespace otedama::config
