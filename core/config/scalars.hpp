// Text parsers for the scalar config types. They are pure functions of the text so that the edge cases
// (durations, addresses) can be tested without YAML, and reused by command-line flags.
//
// Each parser returns either a value or the message explaining why the text was refused; messages
// quote the offending text and never include a key or position (the caller adds those).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace otedama::config {

template <class T>
struct Parsed {
    std::optional<T> value;
    std::string error;  // set exactly when value is empty
};

// "true"/"false" in any case. Deliberately not YAML 1.1's yes/no/on/off: one spelling per concept.
[[nodiscard]] Parsed<bool> parse_bool(std::string_view text);

// Decimal with an optional sign; "1.0", "0x10" and "1_000" are refused.
[[nodiscard]] Parsed<std::int64_t> parse_integer(std::string_view text);

// Decimal or scientific notation; NaN and infinities are refused.
[[nodiscard]] Parsed<double> parse_double(std::string_view text);

// A plain non-negative integer meaning seconds ("30"), or one or more number+unit terms ("500ms",
// "1h30m"); units ms, s, m, h, d.
[[nodiscard]] Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest single-term spelling that parse_duration() reads back to the same value ("90m", "2h").
[[nodiscard]] std::string format_duration(std::chrono::milliseconds duration);

// "host:port", ":port" (every interface) or "[ipv6]:port"; port 1..65535.
[[nodiscard]] Parsed<Address> parse_address(std::string_view text);

// ASCII case-insensitive equality.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b);

// Levenshtein distance (insert, delete, substitute; each costs 1).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate the user most likely meant by `typed`: the closest one within edit distance 2, else
// one that starts with `typed` or that `typed` starts with; nullopt if none fits.
[[nodiscard]] std::optional<std::string_view> suggest(std::string_view typed,
                                                      std::span<const std::string_view> candidates);

}  // namespace otedama::config
