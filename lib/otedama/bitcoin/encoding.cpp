#include "otedama/bitcoin/encoding.hpp"

#include <otedama/common/sha256.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace otedama::bitcoin {
namespace {

constexpr std::string_view kBase58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
// BIP 173 section "Checksum" (bech32 = 1) and BIP 350 section "Bech32m" (0x2bc830a3).
constexpr uint32_t kBech32Const = 1;
constexpr uint32_t kBech32mConst = 0x2bc830a3;
constexpr std::size_t kBech32MaxLength = 90;

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

std::string show_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 33 && u <= 126) return std::string("'") + c + "'";
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

/// BIP 173 polymod over 5-bit values.
uint32_t polymod(std::span<const uint8_t> values) {
    static constexpr std::array<uint32_t, 5> kGen = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu, 0x2a1462b3u};
    uint32_t chk = 1;
    for (const uint8_t v : values) {
        const uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffffu) << 5) ^ v;
        for (std::size_t i = 0; i < 5; ++i)
            if (((top >> i) & 1u) != 0) chk ^= kGen[i];
    }
    return chk;
}

std::vector<uint8_t> hrp_expand(std::string_view hrp) {
    std::vector<uint8_t> out;
    out.reserve(hrp.size() * 2 + 1);
    for (const char c : hrp) out.push_back(static_cast<uint8_t>(static_cast<unsigned char>(c) >> 5));
    out.push_back(0);
    for (const char c : hrp) out.push_back(static_cast<uint8_t>(static_cast<unsigned char>(c) & 31));
    return out;
}

bool valid_hrp(std::string_view hrp) {
    if (hrp.empty() || hrp.size() > 83) return false;
    return std::all_of(hrp.begin(), hrp.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 33 && u <= 126 && !(c >= 'A' && c <= 'Z');
    });
}

}  // namespace

std::string base58_encode(std::span<const uint8_t> bytes) {
    std::size_t zeros = 0;
    while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
    // Base-256 to base-58 by repeated multiply-add into a little-endian digit buffer.
    std::vector<uint8_t> digits;
    digits.reserve(bytes.size() * 138 / 100 + 1);
    for (std::size_t i = zeros; i < bytes.size(); ++i) {
        uint32_t carry = bytes[i];
        for (auto& d : digits) {
            carry += static_cast<uint32_t>(d) << 8;
            d = static_cast<uint8_t>(carry % 58);
            carry /= 58;
        }
        while (carry != 0) {
            digits.push_back(static_cast<uint8_t>(carry % 58));
            carry /= 58;
        }
    }
    std::string out(zeros, '1');
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kBase58Alphabet[*it]);
    return out;
}

std::optional<std::vector<uint8_t>> base58_decode(std::string_view text, std::string* error) {
    std::size_t ones = 0;
    while (ones < text.size() && text[ones] == '1') ++ones;
    std::vector<uint8_t> bytes;  // little-endian base 256
    for (std::size_t i = ones; i < text.size(); ++i) {
        const auto pos = kBase58Alphabet.find(text[i]);
        if (pos == std::string_view::npos) {
            set_error(error, "invalid Base58 character " + show_char(text[i]) + " at position " + std::to_string(i));
            return std::nullopt;
        }
        uint32_t carry = static_cast<uint32_t>(pos);
        for (auto& b : bytes) {
            carry += static_cast<uint32_t>(b) * 58;
            b = static_cast<uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        while (carry != 0) {
            bytes.push_back(static_cast<uint8_t>(carry & 0xff));
            carry >>= 8;
        }
    }
    std::vector<uint8_t> out(ones, 0);
    out.insert(out.end(), bytes.rbegin(), bytes.rend());
    return out;
}

std::string base58check_encode(std::span<const uint8_t> payload) {
    std::vector<uint8_t> data(payload.begin(), payload.end());
    const auto check = common::sha256d(payload);
    data.insert(data.end(), check.begin(), check.begin() + 4);
    return base58_encode(data);
}

std::optional<std::vector<uint8_t>> base58check_decode(std::string_view text, std::string* error) {
    auto data = base58_decode(text, error);
    if (!data) return std::nullopt;
    if (data->size() < 4) {
        set_error(error, "Base58Check string too short for its 4-byte checksum (" + std::to_string(data->size()) + " bytes)");
        return std::nullopt;
    }
    const std::span<const uint8_t> payload(data->data(), data->size() - 4);
    const auto check = common::sha256d(payload);
    if (!std::equal(check.begin(), check.begin() + 4, data->end() - 4)) {
        set_error(error, "invalid Base58Check checksum");
        return std::nullopt;
    }
    data->resize(data->size() - 4);
    return data;
}

std::optional<std::string> bech32_encode(std::string_view hrp, std::span<const uint8_t> data5, Bech32Variant variant) {
    if (!valid_hrp(hrp)) return std::nullopt;
    if (hrp.size() + 1 + data5.size() + 6 > kBech32MaxLength) return std::nullopt;
    if (std::any_of(data5.begin(), data5.end(), [](uint8_t v) { return v > 31; })) return std::nullopt;
    std::vector<uint8_t> values = hrp_expand(hrp);
    values.insert(values.end(), data5.begin(), data5.end());
    values.insert(values.end(), 6, 0);
    const uint32_t mod = polymod(values) ^ (variant == Bech32Variant::bech32 ? kBech32Const : kBech32mConst);
    std::string out(hrp);
    out.push_back('1');
    for (const uint8_t v : data5) out.push_back(kBech32Charset[v]);
    for (int i = 0; i < 6; ++i) out.push_back(kBech32Charset[(mod >> (5 * (5 - i))) & 31]);
    return out;
}

std::optional<Bech32Decoded> bech32_decode(std::string_view text, std::string* error) {
    bool lower = false, upper = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (u < 33 || u > 126) {
            set_error(error, "invalid character " + show_char(text[i]) + " at position " + std::to_string(i));
            return std::nullopt;
        }
        lower = lower || (text[i] >= 'a' && text[i] <= 'z');
        upper = upper || (text[i] >= 'A' && text[i] <= 'Z');
    }
    if (lower && upper) {
        set_error(error, "mixed case (Bech32 strings are all lower or all upper case)");
        return std::nullopt;
    }
    if (text.size() > kBech32MaxLength) {
        set_error(error, "too long: " + std::to_string(text.size()) + " characters, Bech32 allows 90");
        return std::nullopt;
    }
    const auto sep = text.rfind('1');
    if (sep == std::string_view::npos) {
        set_error(error, "no separator '1' between the human-readable part and the data");
        return std::nullopt;
    }
    if (sep == 0) {
        set_error(error, "empty human-readable part");
        return std::nullopt;
    }
    if (text.size() - sep - 1 < 6) {
        set_error(error, "checksum too short (" + std::to_string(text.size() - sep - 1) + " characters after the separator, 6 needed)");
        return std::nullopt;
    }
    Bech32Decoded out;
    out.hrp.reserve(sep);
    for (std::size_t i = 0; i < sep; ++i) out.hrp.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
    std::vector<uint8_t> values = hrp_expand(out.hrp);
    for (std::size_t i = sep + 1; i < text.size(); ++i) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
        const auto pos = kBech32Charset.find(c);
        if (pos == std::string_view::npos) {
            set_error(error, "invalid data character " + show_char(text[i]) + " at position " + std::to_string(i));
            return std::nullopt;
        }
        values.push_back(static_cast<uint8_t>(pos));
    }
    const uint32_t mod = polymod(values);
    if (mod == kBech32Const) {
        out.variant = Bech32Variant::bech32;
    } else if (mod == kBech32mConst) {
        out.variant = Bech32Variant::bech32m;
    } else {
        set_error(error, "invalid checksum");
        return std::nullopt;
    }
    out.data.assign(values.begin() + static_cast<std::ptrdiff_t>(out.hrp.size() * 2 + 1), values.end() - 6);
    return out;
}

std::optional<std::vector<uint8_t>> convert_bits(std::span<const uint8_t> in, unsigned from_bits, unsigned to_bits, bool pad) {
    uint32_t acc = 0;
    unsigned bits = 0;
    const uint32_t maxv = (1u << to_bits) - 1;
    std::vector<uint8_t> out;
    out.reserve(in.size() * from_bits / to_bits + 1);
    for (const uint8_t v : in) {
        if ((v >> from_bits) != 0) return std::nullopt;
        acc = (acc << from_bits) | v;
        bits += from_bits;
        while (bits >= to_bits) {
            bits -= to_bits;
            out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
        }
    }
    if (pad) {
        if (bits != 0) out.push_back(static_cast<uint8_t>((acc << (to_bits - bits)) & maxv));
    } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv) != 0) {
        return std::nullopt;
    }
    return out;
}

namespace {
std::optional<std::string> program_problem(unsigned version, std::size_t size) {
    if (version > 16) return "witness version " + std::to_string(version) + " (0 to 16 exist)";
    if (size < 2 || size > 40) return "witness program of " + std::to_string(size) + " bytes (2 to 40 allowed)";
    if (version == 0 && size != 20 && size != 32)
        return "witness version 0 program of " + std::to_string(size) + " bytes (20 for P2WPKH or 32 for P2WSH)";
    return std::nullopt;
}
}  // namespace

std::optional<std::string> segwit_address_encode(std::string_view hrp, const WitnessProgram& program, std::string* error) {
    if (const auto why = program_problem(program.version, program.program.size())) {
        set_error(error, *why);
        return std::nullopt;
    }
    std::vector<uint8_t> data5{static_cast<uint8_t>(program.version)};
    const auto conv = convert_bits(program.program, 8, 5, true);
    data5.insert(data5.end(), conv->begin(), conv->end());
    auto out = bech32_encode(hrp, data5, program.version == 0 ? Bech32Variant::bech32 : Bech32Variant::bech32m);
    if (!out) set_error(error, "cannot encode for human-readable part '" + std::string(hrp) + "'");
    return out;
}

std::optional<WitnessProgram> segwit_address_decode(std::string_view expected_hrp, std::string_view address, std::string* error) {
    auto dec = bech32_decode(address, error);
    if (!dec) return std::nullopt;
    std::string expected(expected_hrp);
    for (auto& c : expected) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (dec->hrp != expected) {
        set_error(error, "wrong network: human-readable part '" + dec->hrp + "', this network uses '" + expected + "'");
        return std::nullopt;
    }
    if (dec->data.empty()) {
        set_error(error, "no witness version");
        return std::nullopt;
    }
    WitnessProgram out;
    out.version = dec->data[0];
    const auto program = convert_bits(std::span<const uint8_t>(dec->data).subspan(1), 5, 8, false);
    if (!program) {
        set_error(error, "invalid padding in the witness program");
        return std::nullopt;
    }
    out.program = *program;
    if (const auto why = program_problem(out.version, out.program.size())) {
        set_error(error, *why);
        return std::nullopt;
    }
    if (out.version == 0 && dec->variant != Bech32Variant::bech32) {
        set_error(error, "witness version 0 with a Bech32m checksum (version 0 uses Bech32, BIP 350)");
        return std::nullopt;
    }
    if (out.version != 0 && dec->variant != Bech32Variant::bech32m) {
        set_error(error, "witness version " + std::to_string(out.version) + " with a Bech32 checksum (versions 1 to 16 use Bech32m, BIP 350)");
        return std::nullopt;
    }
    return out;
}

}  // namespace otedama::bitcoin
