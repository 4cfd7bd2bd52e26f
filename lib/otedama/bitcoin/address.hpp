// Payout addresses of the Bitcoin family <-> the output scripts they stand for.
//
//   P2PKH   Base58Check(p2pkh version || hash160)    OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
//   P2SH    Base58Check(p2sh version || hash160)     OP_HASH160 <20> OP_EQUAL
//   P2WPKH  Bech32  (hrp, v0, 20 bytes)              OP_0 <20>
//   P2WSH   Bech32  (hrp, v0, 32 bytes)              OP_0 <32>
//   P2TR    Bech32m (hrp, v1, 32 bytes)              OP_1 <32>            (and v2..16: OP_n <2..40>)
//
// Version bytes and hrps per network (Bitcoin Core and Litecoin Core src/chainparams.cpp, base58Prefixes
// and bech32_hrp): Bitcoin main 0x00 / 0x05 / bc, test and signet 0x6f / 0xc4 / tb, regtest 0x6f / 0xc4 /
// bcrt; Litecoin main 0x30 / 0x32 (SCRIPT_ADDRESS2, 'M...') and the legacy 0x05 ('3...') / ltc, test 0x6f /
// 0x3a and the legacy 0xc4 / tltc, regtest 0x6f / 0x3a and the legacy 0xc4 / rltc. Litecoin accepts both P2SH
// versions and writes the new one, and so do we: a legacy '3...' Litecoin address decodes to its script and
// encodes back as the 'M...' form of the same script.
//
// Thread safety: pure functions; the network table is constant.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::bitcoin {

struct Network {
    const char* name;           ///< "bitcoin-main", "litecoin-regtest" ...
    const char* coin;           ///< "BTC", "LTC"
    const char* chain;          ///< getblockchaininfo's `chain`: "main", "test", "signet", "regtest"
    uint8_t p2pkh_version;
    uint8_t p2sh_version;       ///< the one written
    int p2sh_legacy_version;    ///< also accepted when decoding; -1 when none
    const char* hrp;            ///< Bech32 human-readable part
};

/// The known networks (Bitcoin main/test/signet/regtest, Litecoin main/test/regtest).
[[nodiscard]] std::span<const Network> networks() noexcept;
/// The network of `coin` ("BTC"/"bitcoin", "LTC"/"litecoin"; case-insensitive) on `chain` (getblockchaininfo's
/// chain name: "main", "test", "testnet4", "signet", "regtest"), or nullptr.
[[nodiscard]] const Network* find_network(std::string_view coin, std::string_view chain) noexcept;

enum class AddressType : uint8_t { p2pkh, p2sh, p2wpkh, p2wsh, p2tr, witness_unknown };
[[nodiscard]] const char* address_type_name(AddressType type) noexcept;

struct DecodedAddress {
    AddressType type = AddressType::p2pkh;
    std::vector<uint8_t> script;  ///< the output script (scriptPubKey)
};

/// The output script of `address` on `network`. Refusals name the problem: a bad Base58 character or
/// checksum, a Bech32 error (mixed case, bad checksum, wrong variant ...), a version byte or hrp of another
/// network ("wrong network: ... belongs to bitcoin-main"), a payload of the wrong length.
[[nodiscard]] std::optional<DecodedAddress> decode_address(const Network& network, std::string_view address,
                                                           std::string* error = nullptr);

/// The address of a standard output script on `network` (the five forms above and witness v2..16);
/// std::nullopt and `error` for any other script.
[[nodiscard]] std::optional<std::string> encode_address(const Network& network, std::span<const uint8_t> script,
                                                        std::string* error = nullptr);

}  // namespace otedama::bitcoin
