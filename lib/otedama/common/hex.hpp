// Hexadecimal text <-> bytes, and byte-order reversal.
//
// Decoding is strict: an odd number of digits or any character outside [0-9a-fA-F] is refused (no "0x"
// prefix, no whitespace, no separators), and the error names the position of the first bad character.
// Hex is how vectors, configuration and logs spell hashes, so a lenient decoder would only hide mistakes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::common {

/// Lowercase hex of `bytes`, two digits per byte, byte 0 first.
[[nodiscard]] std::string to_hex(std::span<const uint8_t> bytes);

/// Decode `hex` into bytes. Returns std::nullopt for odd length or a non-hex character; when `error` is
/// not null it receives a message naming the problem and its position ("non-hex character 'g' at
/// position 3", "odd number of hex digits (5)"). The empty string decodes to no bytes.
[[nodiscard]] std::optional<std::vector<uint8_t>> from_hex(std::string_view hex, std::string* error = nullptr);

/// Decode exactly out.size() bytes (2 * out.size() digits) into `out`. On failure `out` is left unchanged
/// and false is returned, with the reason in `error` when given (a wrong length is reported as such).
[[nodiscard]] bool from_hex_into(std::string_view hex, std::span<uint8_t> out, std::string* error = nullptr);

/// Decode exactly N bytes; std::nullopt (and `error`) on any problem, including a length other than 2N digits.
template <std::size_t N>
[[nodiscard]] std::optional<std::array<uint8_t, N>> from_hex_array(std::string_view hex, std::string* error = nullptr) {
    std::array<uint8_t, N> out{};
    if (!from_hex_into(hex, out, error)) return std::nullopt;
    return out;
}

/// `text` without a leading "0x" or "0X" (how Ethereum's JSON-RPC and its stratum miners write hex); `text`
/// itself when it has none. For the callers that accept both spellings; from_hex never does.
[[nodiscard]] constexpr std::string_view strip_0x(std::string_view text) noexcept {
    return text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') ? text.substr(2) : text;
}

/// Reverse the bytes of `bytes` in place (internal <-> display order of Bitcoin hashes).
void reverse_bytes(std::span<uint8_t> bytes) noexcept;

/// A reversed copy of `bytes`.
[[nodiscard]] std::vector<uint8_t> reversed(std::span<const uint8_t> bytes);

}  // namespace otedama::common
