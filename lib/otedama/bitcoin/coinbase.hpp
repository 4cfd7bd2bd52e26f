// The coinbase transaction a Bitcoin-family pool builds for a getblocktemplate, split around the
// extranonce for stratum (coinbase1 | extranonce | coinbase2):
//
//   version 1 | 1 input: null outpoint (32 zero bytes, index ffffffff),
//                        scriptSig = BIP 34 height push | push(extranonce) | push(tag), sequence ffffffff |
//   outputs:   value = coinbasevalue to the payout script, then (segwit) the BIP 141 commitment with value 0 |
//   locktime 0
//
// coinbase1 ends with the extranonce's push opcode, coinbase2 starts with the tag push: the same layout
// as the coinbases in tests/lib/bitcoin/fixtures (blocks that bitcoind and litecoind accepted). The
// stratum coinbase is the txid serialisation (no witness); the block carries the BIP 144 form with the
// witness reserved value (coinbase_with_witness) whenever the coinbase commits to witnesses.
//
// BIP 34: the height is the first item of the scriptSig exactly as Bitcoin Core's `CScript() << nHeight`
// writes it (consensus compares those bytes): OP_0 for 0, OP_1..OP_16 for 1..16, otherwise a push of the
// minimal little-endian CScriptNum (a 0x00 appended when the top bit is set, so the number stays positive).
//
// Thread safety: pure functions.
#pragma once

#include "otedama/bitcoin/transaction.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::bitcoin {

/// scriptSig bytes (2..100) a coinbase may have (Bitcoin Core CheckTransaction, "bad-cb-length").
inline constexpr std::size_t kMinCoinbaseScriptSig = 2;
inline constexpr std::size_t kMaxCoinbaseScriptSig = 100;

/// The minimal CScriptNum encoding of `value` (empty for 0).
[[nodiscard]] std::vector<uint8_t> script_num(int64_t value);
/// `CScript() << value`: OP_0, OP_1NEGATE, OP_1..OP_16, or a direct push of script_num(value).
[[nodiscard]] std::vector<uint8_t> script_int_push(int64_t value);
/// A direct push of `data` (at most 75 bytes: the push opcode is the length).
[[nodiscard]] std::vector<uint8_t> script_data_push(std::span<const uint8_t> data);

struct CoinbaseSpec {
    uint64_t height = 0;
    uint64_t value = 0;                         ///< coinbasevalue (subsidy + fees), atomic units
    std::vector<uint8_t> payout_script;         ///< the pool's output script
    uint32_t extranonce_size = 8;               ///< bytes between coinbase1 and coinbase2 (1..32)
    std::string tag;                            ///< pushed after the extranonce; may be empty
    std::vector<uint8_t> commitment_script;     ///< BIP 141 commitment output script; empty = none
};

struct CoinbaseParts {
    std::vector<uint8_t> coinbase1;
    std::vector<uint8_t> coinbase2;
};

/// Build the two halves. std::nullopt and `error` when the payout script is empty, the extranonce size is
/// outside 1..32, the tag is over 75 bytes, or the scriptSig would exceed 100 bytes.
[[nodiscard]] std::optional<CoinbaseParts> build_coinbase(const CoinbaseSpec& spec, std::string* error = nullptr);

/// The BIP 144 serialisation of a one-input coinbase serialised without witness: marker and flag after
/// the version, and one witness stack with the 32-byte `reserved_value` before the locktime. std::nullopt and
/// `error` when `coinbase` does not parse as a transaction with exactly one input and no witness.
[[nodiscard]] std::optional<std::vector<uint8_t>> coinbase_with_witness(std::span<const uint8_t> coinbase,
                                                                       const Hash256& reserved_value = {},
                                                                       std::string* error = nullptr);

}  // namespace otedama::bitcoin
