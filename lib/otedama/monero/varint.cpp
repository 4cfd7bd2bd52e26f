// Monero varints. See varint.hpp.
#include "otedama/monero/varint.hpp"

namespace otedama::monero {

std::size_t varint_size(uint64_t value) noexcept {
    std::size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++n;
    }
    return n;
}

void write_varint(uint64_t value, std::vector<uint8_t>& out) {
    while (value >= 0x80) {
        out.push_back(static_cast<uint8_t>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<uint8_t>(value));
}

std::optional<uint64_t> read_varint(std::span<const uint8_t> bytes, std::size_t& pos, std::string* error) {
    const std::size_t start = pos;
    uint64_t value = 0;
    std::size_t at = pos;
    for (unsigned shift = 0;; shift += 7) {
        if (at >= bytes.size()) {
            if (error != nullptr) *error = "truncated varint at offset " + std::to_string(start);
            return std::nullopt;
        }
        const uint8_t byte = bytes[at++];
        // The tenth byte may carry only the 64th bit; anything above overflows (Monero: EVARINT_OVERFLOW).
        if (shift + 7 >= 64 && byte >= (1u << (64 - shift))) {
            if (error != nullptr) *error = "varint at offset " + std::to_string(start) + " does not fit in 64 bits";
            return std::nullopt;
        }
        // A zero group after the first byte is a longer spelling of a shorter value (EVARINT_REPRESENT).
        if (byte == 0 && shift != 0) {
            if (error != nullptr) *error = "non-canonical varint at offset " + std::to_string(start) + " (trailing zero byte)";
            return std::nullopt;
        }
        value |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) break;
    }
    pos = at;
    return value;
}

}  // namespace otedama::monero
