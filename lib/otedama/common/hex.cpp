#include "otedama/common/hex.hpp"

#include <algorithm>

namespace otedama::common {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

/// Value of one hex digit, or -1.
constexpr int digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// A printable rendering of a refused character: itself when printable ASCII, \xNN otherwise.
std::string describe_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    std::string s = "\\x";
    s += kDigits[u >> 4];
    s += kDigits[u & 0xf];
    return s;
}

/// Check every digit of `hex` (whose length is already known to be even); set `error` on the first bad one.
bool check_digits(std::string_view hex, std::string* error) {
    for (std::size_t i = 0; i < hex.size(); ++i) {
        if (digit_value(hex[i]) < 0) {
            if (error != nullptr) *error = "non-hex character " + describe_char(hex[i]) + " at position " + std::to_string(i);
            return false;
        }
    }
    return true;
}

void decode_checked(std::string_view hex, uint8_t* out) noexcept {
    for (std::size_t i = 0; i < hex.size() / 2; ++i) {
        out[i] = static_cast<uint8_t>((digit_value(hex[2 * i]) << 4) | digit_value(hex[2 * i + 1]));
    }
}

}  // namespace

std::string to_hex(std::span<const uint8_t> bytes) {
    std::string out;
    out.resize(bytes.size() * 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = kDigits[bytes[i] >> 4];
        out[2 * i + 1] = kDigits[bytes[i] & 0xf];
    }
    return out;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex, std::string* error) {
    if (hex.size() % 2 != 0) {
        // Report a bad character first when there is one: it is the more specific mistake.
        if (!check_digits(hex, error)) return std::nullopt;
        if (error != nullptr) *error = "odd number of hex digits (" + std::to_string(hex.size()) + ")";
        return std::nullopt;
    }
    if (!check_digits(hex, error)) return std::nullopt;
    std::vector<uint8_t> out(hex.size() / 2);
    decode_checked(hex, out.data());
    return out;
}

bool from_hex_into(std::string_view hex, std::span<uint8_t> out, std::string* error) {
    if (!check_digits(hex, error)) return false;
    if (hex.size() != out.size() * 2) {
        if (error != nullptr) {
            *error = "expected " + std::to_string(out.size() * 2) + " hex digits (" + std::to_string(out.size()) +
                     " bytes), got " + std::to_string(hex.size());
        }
        return false;
    }
    decode_checked(hex, out.data());
    return true;
}

void reverse_bytes(std::span<uint8_t> bytes) noexcept { std::reverse(bytes.begin(), bytes.end()); }

std::vector<uint8_t> reversed(std::span<const uint8_t> bytes) { return {bytes.rbegin(), bytes.rend()}; }

}  // namespace otedama::common
