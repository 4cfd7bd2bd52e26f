// The text encodings of Bitcoin-family addresses: Base58 / Base58Check, and Bech32 (BIP 173) / Bech32m
// (BIP 350) with the segwit address rules on top.
//
// Sources (specifications, no code taken): Base58Check as Bitcoin Core's base58.cpp describes it (alphabet
// without 0 O I l, leading zero bytes as '1', a 4-byte sha256d checksum); BIP 173 "Base32 address format for
// native v0-16 witness outputs" and BIP 350 "Bech32m format for v1+ witness addresses" (checksum constants
// 1 and 0x2bc830a3, the generator, the 90-character limit, the case rule and the segwit program rules).
//
// Every refusal says what was wrong in words ("invalid checksum", "mixed case", "witness program of 21
// bytes" ...): an operator who pasted a payout address must be able to fix it from the message alone.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::bitcoin {

// ---------------------------------------------------------------------------------------------------------
// Base58

[[nodiscard]] std::string base58_encode(std::span<const uint8_t> bytes);
/// std::nullopt and `error` ("invalid Base58 character '0' at position 3") for anything but the alphabet.
[[nodiscard]] std::optional<std::vector<uint8_t>> base58_decode(std::string_view text, std::string* error = nullptr);

/// payload || first 4 bytes of sha256d(payload), Base58-encoded.
[[nodiscard]] std::string base58check_encode(std::span<const uint8_t> payload);
/// The payload of a Base58Check string; refuses bad characters, fewer than 4 bytes and a wrong checksum.
[[nodiscard]] std::optional<std::vector<uint8_t>> base58check_decode(std::string_view text, std::string* error = nullptr);

// ---------------------------------------------------------------------------------------------------------
// Bech32 / Bech32m

enum class Bech32Variant : uint8_t { bech32, bech32m };

struct Bech32Decoded {
    std::string hrp;             ///< human-readable part, lower case
    std::vector<uint8_t> data;   ///< 5-bit values without the 6 checksum values
    Bech32Variant variant = Bech32Variant::bech32;
};

/// hrp (lower case, 1..83 printable ASCII 33..126) + '1' + data + checksum; std::nullopt when the hrp is
/// invalid, a value exceeds 31 or the result would exceed 90 characters.
[[nodiscard]] std::optional<std::string> bech32_encode(std::string_view hrp, std::span<const uint8_t> data5,
                                                       Bech32Variant variant);
/// Decode either variant (the checksum tells which). Refuses: mixed case, characters outside 33..126, more
/// than 90 characters, no separator, an empty hrp, fewer than 6 checksum characters, a data character
/// outside the Bech32 alphabet, and a checksum valid for neither variant.
[[nodiscard]] std::optional<Bech32Decoded> bech32_decode(std::string_view text, std::string* error = nullptr);

/// Regroup bits (8 -> 5 with padding, 5 -> 8 without): BIP 173's convertbits. std::nullopt for a value
/// wider than `from_bits`, or (without padding) leftover bits that are not zero padding of less than a group.
[[nodiscard]] std::optional<std::vector<uint8_t>> convert_bits(std::span<const uint8_t> in, unsigned from_bits,
                                                               unsigned to_bits, bool pad);

/// A segwit output: witness version 0..16 and its program (2..40 bytes; 20 or 32 for version 0).
struct WitnessProgram {
    unsigned version = 0;
    std::vector<uint8_t> program;
};

/// Encode a witness program for `hrp`: Bech32 for version 0, Bech32m for 1..16 (BIP 350).
[[nodiscard]] std::optional<std::string> segwit_address_encode(std::string_view hrp, const WitnessProgram& program,
                                                               std::string* error = nullptr);
/// Decode a segwit address whose hrp must equal `expected_hrp` (case-insensitive). Refuses a wrong hrp
/// (naming both), a version above 16, a program outside 2..40 bytes, a version-0 program other than 20/32
/// bytes, and the wrong checksum variant for the version (Bech32 for v0, Bech32m for v1+).
[[nodiscard]] std::optional<WitnessProgram> segwit_address_decode(std::string_view expected_hrp, std::string_view address,
                                                                  std::string* error = nullptr);

}  // namespace otedama::bitcoin
