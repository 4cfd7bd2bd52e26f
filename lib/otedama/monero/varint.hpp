// Monero's varint: unsigned LEB128 of a uint64_t (7 bits per byte, least significant group first, bit 7 set
// on every byte but the last), as monero-project/monero src/common/varint.h writes and reads it.
//
// Reading is as strict as Monero's read_varint: a value that needs more than 64 bits is refused
// (EVARINT_OVERFLOW), and so is a non-canonical encoding whose last byte is 0x00 after the first
// (EVARINT_REPRESENT: "0x80 0x00" for 0). A block blob that monerod would refuse is refused here too,
// so a hashing blob is never derived from bytes the node reads differently.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace otedama::monero {

/// The longest encoding of a uint64_t (ceil(64 / 7)).
inline constexpr std::size_t kMaxVarintSize = 10;

/// Bytes write_varint() uses for `value` (1 to 10).
[[nodiscard]] std::size_t varint_size(uint64_t value) noexcept;

/// Append the encoding of `value` to `out`.
void write_varint(uint64_t value, std::vector<uint8_t>& out);

/// Read a varint at `bytes[pos]` and advance `pos` past it. On failure `pos` is unchanged, std::nullopt is
/// returned and `error` (when given) says why: "truncated varint at offset 43", "varint at offset 3 does
/// not fit in 64 bits", "non-canonical varint at offset 7 (trailing zero byte)".
[[nodiscard]] std::optional<uint64_t> read_varint(std::span<const uint8_t> bytes, std::size_t& pos,
                                                  std::string* error = nullptr);

}  // namespace otedama::monero
