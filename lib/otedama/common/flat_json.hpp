// A plugin's configuration as the host hands it over (otd_host_t::get_config: a compact JSON object),
// read as a flat object of keys and scalar values, plus the duration spelling the host's config uses.
//
// Deliberately small: plugins read a handful of scalar keys, so there is no DOM. Nested objects and
// arrays are accepted but kept as their raw JSON text (kind `nested`) so that a plugin can refuse them by
// key, or hand them to a real parser. Every refusal names the byte position or the key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::common {

struct JsonValue {
    enum class Kind { string, number, boolean, null, nested };
    Kind kind = Kind::null;
    /// string: the decoded text (escapes resolved, UTF-8); number: the literal as written; nested: the raw
    /// JSON of the object or array; boolean/null: the literal.
    std::string text;
    bool boolean = false;

    /// A human name of the kind for error messages ("a string", "a number" ...).
    [[nodiscard]] const char* kind_name() const noexcept;
};

struct JsonMember {
    std::string key;
    JsonValue value;
};

/// The members of a flat object in document order, or an error.
struct FlatJsonObject {
    std::vector<JsonMember> members;
    std::string error;  // non-empty exactly when parsing failed
    [[nodiscard]] bool ok() const noexcept { return error.empty(); }
    /// The member named `key`, or nullptr.
    [[nodiscard]] const JsonValue* find(std::string_view key) const noexcept;
};

/// Parse a JSON object (RFC 8259). Refuses anything that is not one object, duplicate keys, and trailing text.
[[nodiscard]] FlatJsonObject parse_flat_json_object(std::string_view json);

/// The value of a JSON number literal that is an integer in [min, max] (no fraction, no exponent);
/// std::nullopt otherwise (including for non-numbers).
[[nodiscard]] std::optional<int64_t> json_integer(const JsonValue& value, int64_t min = INT64_MIN,
                                                  int64_t max = INT64_MAX) noexcept;

/// A duration as the host's configuration spells it (core/config: parse_duration): a plain non-negative
/// integer meaning seconds ("30"), or one or more number+unit terms ("500ms", "45s", "30m", "2h", "1d",
/// "1h30m"). Returns milliseconds, or std::nullopt with the reason in `error` when given.
[[nodiscard]] std::optional<uint64_t> parse_duration_ms(std::string_view text, std::string* error = nullptr);

}  // namespace otedama::common
