// 256-bit unsigned numbers as the plugin ABI carries them: 32 bytes, LITTLE-ENDIAN (byte 0 is the least
// significant; see plugin-api/otedama/abi.h). Hashes compared as numbers and targets use this form; a hash
// meets a target when hash <= target.
//
// Conversions provided:
//  - compact "nBits" <-> target, with Bitcoin Core's arith_uint256 SetCompact/GetCompact semantics
//    (sign bit and overflow reported, never silently dropped);
//  - Bitcoin family: difficulty 1 = 0x00000000FFFF0000...0000 (= 0xFFFF * 2^208), target = diff1 / difficulty,
//    difficulty of a target or hash = diff1 / value;
//  - Monero family: target = floor((2^256 - 1) / difficulty), difficulty = (2^256 - 1) / value.
// Targets from a (double) difficulty are computed exactly from the double's value (no intermediate rounding),
// then floored; a result above 2^256 - 1 (difficulty far below 1) saturates at 2^256 - 1.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otedama::common {

/// 256-bit unsigned integer, little-endian bytes.
using Uint256 = std::array<uint8_t, 32>;

/// 2^256 - 1.
inline constexpr Uint256 kUint256Max = [] {
    Uint256 v{};
    for (auto& b : v) b = 0xff;
    return v;
}();

/// Numeric comparison.
[[nodiscard]] std::strong_ordering compare(const Uint256& a, const Uint256& b) noexcept;

/// True when `hash` <= `target` as numbers: the proof-of-work rule.
[[nodiscard]] bool meets_target(const Uint256& hash, const Uint256& target) noexcept;

[[nodiscard]] Uint256 uint256_from_u64(uint64_t value) noexcept;
[[nodiscard]] bool is_zero(const Uint256& value) noexcept;
/// Number of significant bits (0 for zero, 256 when the top bit is set).
[[nodiscard]] unsigned bit_length(const Uint256& value) noexcept;
/// The nearest double (round-to-nearest-even; exact when the value has at most 53 significant bits).
[[nodiscard]] double to_double(const Uint256& value) noexcept;

/// Big-endian numeric hex, 64 lowercase digits (Bitcoin's uint256::GetHex, the way explorers print hashes
/// and targets).
[[nodiscard]] std::string to_display_hex(const Uint256& value);
/// Parse 64 big-endian hex digits (the display form). std::nullopt and `error` for anything else.
[[nodiscard]] std::optional<Uint256> from_display_hex(std::string_view hex, std::string* error = nullptr);

// ---------------------------------------------------------------------------------------------------------
// Compact nBits

/// A decoded compact value. `negative` and `overflow` follow arith_uint256::SetCompact: negative when the
/// sign bit 0x00800000 is set with a non-zero mantissa; overflow when the value does not fit in 256 bits
/// (then `value` holds only the bits that fit and must not be used as a target).
struct CompactValue {
    Uint256 value{};
    bool negative = false;
    bool overflow = false;
};

/// nBits -> number (arith_uint256::SetCompact).
[[nodiscard]] CompactValue decode_compact(uint32_t nbits) noexcept;

/// number -> nBits (arith_uint256::GetCompact): the 3 most significant bytes, with the exponent bumped
/// when the top mantissa bit would read as the sign. The sign bit is set only when `negative` and the
/// mantissa is non-zero.
[[nodiscard]] uint32_t encode_compact(const Uint256& value, bool negative = false) noexcept;

/// The target an nBits value encodes for a block header, or std::nullopt when nBits is negative, zero or
/// overflows (Bitcoin Core's CheckProofOfWork refuses those).
[[nodiscard]] std::optional<Uint256> target_from_nbits(uint32_t nbits) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Bitcoin family (sha256d, scrypt ...)

/// The difficulty-1 target 0x00000000FFFF0000...0000 (nBits 0x1d00ffff).
[[nodiscard]] const Uint256& bitcoin_diff1_target() noexcept;

/// floor(diff1 / difficulty), exact for the double given; saturates at 2^256 - 1.
/// std::nullopt when difficulty is not a finite number > 0.
[[nodiscard]] std::optional<Uint256> bitcoin_target_from_difficulty(double difficulty) noexcept;

/// diff1 / value as a double: the difficulty of a target, or the difficulty a hash reaches.
/// +infinity for zero.
[[nodiscard]] double bitcoin_difficulty_from_target(const Uint256& value) noexcept;

/// The difficulty Bitcoin Core's GetDifficulty() reports for an nBits value: 0xFFFF / mantissa * 256^(29 - size)
/// with the full 24-bit mantissa. Equal to bitcoin_difficulty_from_target(decode_compact(nbits).value) for every
/// valid nBits; for values with the sign bit set (which consensus refuses) GetDifficulty still reads the sign
/// bit as part of the mantissa, and so does this. +infinity for a zero mantissa.
[[nodiscard]] double bitcoin_difficulty_from_nbits(uint32_t nbits) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Monero family (randomx, cryptonight ...)

/// floor((2^256 - 1) / difficulty), exact for the double given; saturates at 2^256 - 1 (difficulty <= 1).
/// std::nullopt when difficulty is not a finite number > 0.
/// Bitcoin mainnet's proof-of-work limit, 0x00000000ffffffff...ff (chainparams powLimit).
[[nodiscard]] const Uint256& bitcoin_pow_limit() noexcept;

/// Bitcoin's difficulty retarget (Bitcoin Core pow.cpp CalculateNextWorkRequired): the new nBits after a
/// period that began at first_block_time and ended at last_block_time. The timespan is clamped to
/// [target_timespan / 4, target_timespan * 4], the new target is old * timespan / target_timespan computed
/// exactly (320-bit intermediate), and clamped to pow_limit.
[[nodiscard]] uint32_t bitcoin_next_work_required(uint32_t last_bits, int64_t first_block_time, int64_t last_block_time,
                                                  const Uint256& pow_limit, int64_t target_timespan = 14 * 24 * 60 * 60) noexcept;

[[nodiscard]] std::optional<Uint256> monero_target_from_difficulty(double difficulty) noexcept;

/// floor((2^256 - 1) / difficulty) for an integer difficulty (what monerod reports). std::nullopt for 0.
[[nodiscard]] std::optional<Uint256> monero_target_from_difficulty_exact(uint64_t difficulty) noexcept;

/// (2^256 - 1) / value as a double. +infinity for zero.
[[nodiscard]] double monero_difficulty_from_target(const Uint256& value) noexcept;

}  // namespace otedama::common
