// Bitcoin-family transactions as a pool handles them: CompactSize integers, and reading a serialised
// transaction far enough to know its txid and wtxid (to check a node's template, never to validate scripts).
//
// Serialisation (Bitcoin Core primitives/transaction.h, BIP 144): version | [00 flags] | inputs | outputs |
// [witness stacks when flags & 1] | [Litecoin MWEB: an optional MWEB tx when flags & 8, 00 = none] |
// locktime. txid = sha256d of version | inputs | outputs | locktime; wtxid = sha256d of the whole
// serialisation when the transaction has a witness, else the txid (BIP 141). Litecoin's HogEx uses flag 8
// with an empty MWEB part (Litecoin Core LIP-0003); its txid and wtxid are both the plain hash.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace otedama::bitcoin {

using Hash256 = std::array<uint8_t, 32>;

/// Append a CompactSize (1, 3, 5 or 9 bytes).
void write_compact_size(std::vector<uint8_t>& out, uint64_t value);
/// Read a canonical CompactSize at bytes[pos] and advance pos; std::nullopt (pos unchanged) and `error` when
/// truncated or not in its shortest form.
[[nodiscard]] std::optional<uint64_t> read_compact_size(std::span<const uint8_t> bytes, std::size_t& pos,
                                                        std::string* error = nullptr);

struct TransactionInfo {
    Hash256 txid{};         ///< internal byte order
    Hash256 wtxid{};        ///< internal byte order (== txid without a witness)
    bool has_witness = false;  ///< BIP 144 flag bit 0
    bool mweb_flag = false;    ///< Litecoin flag bit 3 (HogEx)
    std::size_t inputs = 0;
    std::size_t outputs = 0;
};

/// Parse exactly one transaction filling `bytes`. std::nullopt and `error` naming the offset and what was
/// wrong (truncated, unknown flags, trailing bytes, an MWEB transaction body, which a template never carries).
[[nodiscard]] std::optional<TransactionInfo> parse_transaction(std::span<const uint8_t> bytes, std::string* error = nullptr);

}  // namespace otedama::bitcoin
