#include <algorithm>
#include "otedama/common/uint256.hpp"

#include <cmath>
#include <limits>

#include "otedama/common/hex.hpp"

namespace otedama::common {
namespace {

__extension__ typedef unsigned __int128 u128;

/// A 512-bit scratch number (16 little-endian 32-bit limbs): room for a 256-bit numerator shifted left by
/// the 53-bit mantissa and exponent of a small double before dividing.
struct Wide {
    static constexpr int kLimbs = 16;
    std::array<uint32_t, kLimbs> limb{};

    static Wide from(const Uint256& v) noexcept {
        Wide w;
        for (int i = 0; i < 8; ++i) {
            const auto* p = v.data() + 4 * i;
            w.limb[static_cast<std::size_t>(i)] =
                uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
        }
        return w;
    }
    /// Low 256 bits; `fits` reports whether nothing was above them.
    Uint256 low256(bool& fits) const noexcept {
        Uint256 v{};
        for (int i = 0; i < 8; ++i) {
            const uint32_t x = limb[static_cast<std::size_t>(i)];
            auto* p = v.data() + 4 * i;
            p[0] = static_cast<uint8_t>(x);
            p[1] = static_cast<uint8_t>(x >> 8);
            p[2] = static_cast<uint8_t>(x >> 16);
            p[3] = static_cast<uint8_t>(x >> 24);
        }
        fits = true;
        for (int i = 8; i < kLimbs; ++i) fits = fits && limb[static_cast<std::size_t>(i)] == 0;
        return v;
    }
    unsigned bits() const noexcept {
        for (int i = kLimbs - 1; i >= 0; --i) {
            const uint32_t x = limb[static_cast<std::size_t>(i)];
            if (x != 0) return static_cast<unsigned>(32 * i + 32 - __builtin_clz(x));
        }
        return 0;
    }
    void shift_left(unsigned n) noexcept {
        const unsigned words = n / 32, bits = n % 32;
        for (int i = kLimbs - 1; i >= 0; --i) {
            const int src = i - static_cast<int>(words);
            uint32_t v = 0;
            if (src >= 0) {
                v = limb[static_cast<std::size_t>(src)] << bits;
                if (bits != 0 && src >= 1) v |= limb[static_cast<std::size_t>(src - 1)] >> (32 - bits);
            }
            limb[static_cast<std::size_t>(i)] = v;
        }
    }
    void shift_right(unsigned n) noexcept {
        const unsigned words = n / 32, bits = n % 32;
        for (int i = 0; i < kLimbs; ++i) {
            const std::size_t src = static_cast<std::size_t>(i) + words;
            uint32_t v = 0;
            if (src < kLimbs) {
                v = limb[src] >> bits;
                if (bits != 0 && src + 1 < kLimbs) v |= limb[src + 1] << (32 - bits);
            }
            limb[static_cast<std::size_t>(i)] = v;
        }
    }
    /// this = floor(this / d), d > 0. The running remainder stays below d < 2^64, so each step fits in 96 bits.
    void divide(uint64_t d) noexcept {
        u128 rem = 0;
        for (int i = kLimbs - 1; i >= 0; --i) {
            const u128 cur = (rem << 32) | limb[static_cast<std::size_t>(i)];
            limb[static_cast<std::size_t>(i)] = static_cast<uint32_t>(cur / d);
            rem = cur % d;
        }
    }
};

/// floor(numerator / difficulty) for a finite difficulty > 0, saturating at 2^256 - 1.
std::optional<Uint256> divide_by_double(const Uint256& numerator, double difficulty) noexcept {
    if (!std::isfinite(difficulty) || !(difficulty > 0.0)) return std::nullopt;
    // difficulty = mantissa * 2^exponent exactly, with mantissa an integer below 2^53.
    int exp2 = 0;
    const double fraction = std::frexp(difficulty, &exp2);  // in [0.5, 1)
    const auto mantissa = static_cast<uint64_t>(std::ldexp(fraction, 53));
    const int exponent = exp2 - 53;

    Wide w = Wide::from(numerator);
    if (exponent >= 0) {
        // floor(floor(N / 2^e) / m) == floor(N / (m * 2^e)) for positive integers.
        if (exponent >= 512) return Uint256{};
        w.shift_right(static_cast<unsigned>(exponent));
    } else {
        const auto shift = static_cast<unsigned>(-exponent);
        // The quotient is at least N * 2^shift / 2^53; beyond 2^256 it saturates anyway.
        if (w.bits() + shift > 256 + 53 + 1) return kUint256Max;
        w.shift_left(shift);
    }
    w.divide(mantissa);
    bool fits = false;
    const Uint256 result = w.low256(fits);
    return fits ? result : kUint256Max;
}

constexpr Uint256 make_diff1() {
    Uint256 v{};
    // 0xFFFF * 2^208: bytes 26 and 27 (little-endian) are 0xFF.
    v[26] = 0xff;
    v[27] = 0xff;
    return v;
}
constexpr Uint256 kDiff1 = make_diff1();

}  // namespace

std::strong_ordering compare(const Uint256& a, const Uint256& b) noexcept {
    for (int i = 31; i >= 0; --i) {
        const auto x = a[static_cast<std::size_t>(i)], y = b[static_cast<std::size_t>(i)];
        if (x != y) return x < y ? std::strong_ordering::less : std::strong_ordering::greater;
    }
    return std::strong_ordering::equal;
}

bool meets_target(const Uint256& hash, const Uint256& target) noexcept { return compare(hash, target) <= 0; }

Uint256 uint256_from_u64(uint64_t value) noexcept {
    Uint256 v{};
    for (std::size_t i = 0; i < 8; ++i) v[i] = static_cast<uint8_t>(value >> (8 * i));
    return v;
}

bool is_zero(const Uint256& value) noexcept {
    for (const auto b : value) {
        if (b != 0) return false;
    }
    return true;
}

unsigned bit_length(const Uint256& value) noexcept {
    for (int i = 31; i >= 0; --i) {
        const unsigned b = value[static_cast<std::size_t>(i)];
        if (b != 0) return static_cast<unsigned>(8 * i) + 32u - static_cast<unsigned>(__builtin_clz(b));
    }
    return 0;
}

double to_double(const Uint256& value) noexcept {
    const unsigned bits = bit_length(value);
    const auto bit = [&](unsigned i) -> uint64_t { return (value[i / 8] >> (i % 8)) & 1u; };
    if (bits <= 64) {
        uint64_t low = 0;
        for (unsigned i = 0; i < bits; ++i) low |= bit(i) << i;
        return static_cast<double>(low);
    }
    // The top 64 bits, with every bit below them folded into bit 0 ("sticky"): 64 > 53 + 2, so the one
    // integer -> double conversion then rounds exactly as rounding the whole number would.
    const unsigned shift = bits - 64;
    uint64_t top = 0;
    for (unsigned i = 0; i < 64; ++i) top |= bit(shift + i) << i;
    for (unsigned i = 0; i < shift && (top & 1u) == 0; ++i) top |= bit(i);
    return std::ldexp(static_cast<double>(top), static_cast<int>(shift));
}

std::string to_display_hex(const Uint256& value) {
    Uint256 be = value;
    reverse_bytes(be);
    return to_hex(be);
}

std::optional<Uint256> from_display_hex(std::string_view hex, std::string* error) {
    auto v = from_hex_array<32>(hex, error);
    if (v) reverse_bytes(*v);
    return v;
}

// ---------------------------------------------------------------------------------------------------------
// Compact

CompactValue decode_compact(uint32_t nbits) noexcept {
    // Bitcoin Core arith_uint256::SetCompact: value = mantissa * 256^(exponent - 3), mantissa 23 bits.
    CompactValue out;
    const unsigned size = nbits >> 24;
    uint32_t word = nbits & 0x007fffffu;
    if (size <= 3) {
        word >>= 8 * (3 - size);
        for (std::size_t i = 0; i < 3; ++i) out.value[i] = static_cast<uint8_t>(word >> (8 * i));
    } else {
        // Byte i of the 3-byte mantissa lands at byte (size - 3 + i); bytes beyond 31 fall off (overflow).
        for (unsigned i = 0; i < 3; ++i) {
            const unsigned pos = size - 3 + i;
            if (pos < 32) out.value[pos] = static_cast<uint8_t>(word >> (8 * i));
        }
    }
    out.negative = word != 0 && (nbits & 0x00800000u) != 0;
    out.overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
    return out;
}

uint32_t encode_compact(const Uint256& value, bool negative) noexcept {
    // Bitcoin Core arith_uint256::GetCompact.
    unsigned size = (bit_length(value) + 7) / 8;
    uint32_t compact = 0;
    // The 3 bytes starting at byte (size - 3), or the low bytes shifted up when size < 3.
    for (int i = 2; i >= 0; --i) {
        const int pos = static_cast<int>(size) - 3 + i;
        compact = (compact << 8) | (pos >= 0 ? value[static_cast<std::size_t>(pos)] : 0u);
    }
    if ((compact & 0x00800000u) != 0) {
        compact >>= 8;
        ++size;
    }
    compact |= size << 24;
    if (negative && (compact & 0x007fffffu) != 0) compact |= 0x00800000u;
    return compact;
}

std::optional<Uint256> target_from_nbits(uint32_t nbits) noexcept {
    const CompactValue c = decode_compact(nbits);
    if (c.negative || c.overflow || is_zero(c.value)) return std::nullopt;
    return c.value;
}

// ---------------------------------------------------------------------------------------------------------
// Bitcoin family

const Uint256& bitcoin_diff1_target() noexcept { return kDiff1; }

std::optional<Uint256> bitcoin_target_from_difficulty(double difficulty) noexcept {
    return divide_by_double(kDiff1, difficulty);
}

double bitcoin_difficulty_from_target(const Uint256& value) noexcept {
    if (is_zero(value)) return std::numeric_limits<double>::infinity();
    return to_double(kDiff1) / to_double(value);  // diff1 is exact in a double (16 significant bits)
}

double bitcoin_difficulty_from_nbits(uint32_t nbits) noexcept {
    const uint32_t mantissa = nbits & 0x00ffffffu;
    if (mantissa == 0) return std::numeric_limits<double>::infinity();
    const int size = static_cast<int>(nbits >> 24);
    // Core scales by 256.0 one step at a time; ldexp does the same scaling exactly in one step.
    return std::ldexp(65535.0 / static_cast<double>(mantissa), 8 * (29 - size));
}

// ---------------------------------------------------------------------------------------------------------
// Monero family

std::optional<Uint256> monero_target_from_difficulty(double difficulty) noexcept {
    return divide_by_double(kUint256Max, difficulty);
}

std::optional<Uint256> monero_target_from_difficulty_exact(uint64_t difficulty) noexcept {
    if (difficulty == 0) return std::nullopt;
    Wide w = Wide::from(kUint256Max);
    w.divide(difficulty);
    bool fits = false;
    return w.low256(fits);
}

double monero_difficulty_from_target(const Uint256& value) noexcept {
    if (is_zero(value)) return std::numeric_limits<double>::infinity();
    return to_double(kUint256Max) / to_double(value);
}

const Uint256& bitcoin_pow_limit() noexcept {
    static const Uint256 limit = [] {
        Uint256 v{};
        v.fill(0xff);
        for (int i = 28; i < 32; ++i) v[static_cast<size_t>(i)] = 0;  // top 32 bits zero
        return v;
    }();
    return limit;
}

uint32_t bitcoin_next_work_required(uint32_t last_bits, int64_t first_block_time, int64_t last_block_time,
                                    const Uint256& pow_limit, int64_t target_timespan) noexcept {
    if (target_timespan <= 0) return last_bits;
    int64_t actual = last_block_time - first_block_time;
    actual = std::clamp(actual, target_timespan / 4, target_timespan * 4);
    const CompactValue old = decode_compact(last_bits);
    // target * actual / target_timespan on 64-bit limbs with a fifth limb for the product's carry.
    uint64_t limbs[5] = {};
    for (int i = 0; i < 4; ++i)
        for (int b = 0; b < 8; ++b) limbs[i] |= static_cast<uint64_t>(old.value[static_cast<size_t>(i * 8 + b)]) << (8 * b);
    __extension__ typedef unsigned __int128 u128;
    u128 carry = 0;
    for (auto& limb : limbs) {
        const u128 product = static_cast<u128>(limb) * static_cast<uint64_t>(actual) + carry;
        limb = static_cast<uint64_t>(product);
        carry = product >> 64;
    }
    u128 remainder = 0;
    for (int i = 4; i >= 0; --i) {
        const u128 cur = (remainder << 64) | limbs[i];
        limbs[i] = static_cast<uint64_t>(cur / static_cast<uint64_t>(target_timespan));
        remainder = cur % static_cast<uint64_t>(target_timespan);
    }
    Uint256 next{};
    for (int i = 0; i < 4; ++i)
        for (int b = 0; b < 8; ++b) next[static_cast<size_t>(i * 8 + b)] = static_cast<uint8_t>(limbs[i] >> (8 * b));
    if (limbs[4] != 0 || compare(next, pow_limit) > 0) next = pow_limit;
    return encode_compact(next);
}

}  // namespace otedama::common
