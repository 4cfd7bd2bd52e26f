// A getblocktemplate (BIP 22/23) as data, the stratum job made from it, and the full block assembled from a
// solved header and coinbase.
//
// Block serialisation (Bitcoin Core primitives/block.h, BIP 144): header (80) | CompactSize(tx count) |
// coinbase | the template's transactions in template order, each as its `data` | Litecoin MWEB (LIP-0003,
// when the template has an `mweb` field): the byte 01 then the `mweb` bytes verbatim. The HogEx is the
// template's last transaction and needs nothing special: its txid enters the merkle root like any other.
// The coinbase is in BIP 144 form with a 32-zero-byte witness reserved value exactly when it carries a
// witness commitment (BIP 141 requires that witness then, and forbids witness data elsewhere without one).
//
// The witness commitment: the template's `default_witness_commitment` script when present (the node
// computed it); otherwise, for a segwit template (rule "segwit" or any witness transaction), computed here
// from the wtxids. The two agree for every recorded template (tests/lib/bitcoin).
//
// Thread safety: pure functions.
#pragma once

#include "otedama/bitcoin/coinbase.hpp"
#include "otedama/bitcoin/transaction.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace otedama::bitcoin {

struct TemplateTransaction {
    std::vector<uint8_t> data;  ///< the serialised transaction (witness form when it has one)
    Hash256 txid{};             ///< internal byte order, computed from data
    Hash256 wtxid{};            ///< internal byte order, computed from data
    uint64_t fee = 0;
    bool has_witness = false;
};

/// The fields of a getblocktemplate answer a pool uses; hashes in internal byte order.
struct BlockTemplate {
    uint32_t version = 0;
    Hash256 prev_hash{};        ///< previousblockhash, byte-reversed from the display hex
    uint32_t curtime = 0;
    uint32_t mintime = 0;
    uint32_t bits = 0;
    uint64_t height = 0;
    uint64_t coinbase_value = 0;
    Hash256 target{};           ///< 256-bit little-endian (the display hex reversed)
    std::vector<TemplateTransaction> transactions;
    std::vector<uint8_t> default_witness_commitment;  ///< script; empty when the template has none
    bool segwit = false;        ///< "segwit" among the template's rules
    bool has_mweb = false;
    std::vector<uint8_t> mweb;  ///< Litecoin: the serialised MWEB extension block
    std::string longpollid;

    [[nodiscard]] uint64_t total_fees() const noexcept;
};

/// A template transaction from its data, checked against the txid / hash the node stated (display hex
/// already decoded and reversed into internal order; pass nullptr to skip a check). std::nullopt and `error`
/// for data that does not parse or hashes differently.
[[nodiscard]] std::optional<TemplateTransaction> make_template_transaction(std::vector<uint8_t> data, const Hash256* stated_txid,
                                                                           const Hash256* stated_wtxid, uint64_t fee,
                                                                           std::string* error = nullptr);

/// The stratum job of a template for one payout script.
struct Job {
    CoinbaseParts coinbase;               ///< coinbase1 | extranonce | coinbase2
    uint32_t extranonce_size = 0;
    std::vector<Hash256> merkle_branch;   ///< bottom-up, internal byte order
    bool coinbase_witness = false;        ///< the coinbase commits to witnesses (the block carries its witness)
    std::vector<uint8_t> commitment_script;  ///< the commitment output in the coinbase; empty = none
    std::vector<uint8_t> block_data;      ///< what assemble_block() needs besides the header and the coinbase
};

/// Build the job. `tag` goes into the coinbase scriptSig after the extranonce. std::nullopt and `error` when
/// the coinbase cannot be built (see build_coinbase) or the template's default_witness_commitment is not a
/// commitment script.
[[nodiscard]] std::optional<Job> build_job(const BlockTemplate& tmpl, std::span<const uint8_t> payout_script,
                                           uint32_t extranonce_size, const std::string& tag, std::string* error = nullptr);

/// The witness commitment computed from the template's transactions (BIP 141, reserved value zero).
[[nodiscard]] Hash256 computed_witness_commitment(const BlockTemplate& tmpl);

/// The whole block: header | CompactSize(count) | coinbase (BIP 144 form when the job commits to witnesses) |
/// transactions | [01 mweb]. `coinbase` is coinbase1 | extranonce | coinbase2 as mined (no witness);
/// `block_data` is Job::block_data. std::nullopt and `error` for a header that is not 80 bytes, a coinbase
/// that does not parse, or block_data that is not ours.
[[nodiscard]] std::optional<std::vector<uint8_t>> assemble_block(std::span<const uint8_t> header, std::span<const uint8_t> coinbase,
                                                                 std::span<const uint8_t> block_data, std::string* error = nullptr);

}  // namespace otedama::bitcoin
