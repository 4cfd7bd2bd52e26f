#include "otedama/bitcoin/block.hpp"

#include "otedama/bitcoin/merkle.hpp"

#include <algorithm>

namespace otedama::bitcoin {
namespace {

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

// block_data layout (private to this file; opaque to the host, which echoes it back with the block):
//   format byte (1) | flags (bit 0: coinbase in witness form) | CompactSize(tx count incl. coinbase) |
//   everything after the coinbase in the block (transactions, then 01 | mweb for Litecoin MWEB)
constexpr uint8_t kBlockDataFormat = 1;
constexpr uint8_t kFlagCoinbaseWitness = 0x01;

}  // namespace

uint64_t BlockTemplate::total_fees() const noexcept {
    uint64_t sum = 0;
    for (const auto& tx : transactions) sum += tx.fee;
    return sum;
}

std::optional<TemplateTransaction> make_template_transaction(std::vector<uint8_t> data, const Hash256* stated_txid,
                                                             const Hash256* stated_wtxid, uint64_t fee, std::string* error) {
    std::string why;
    const auto info = parse_transaction(data, &why);
    if (!info) {
        set_error(error, "transaction data does not parse: " + why);
        return std::nullopt;
    }
    if (stated_txid != nullptr && *stated_txid != info->txid) {
        set_error(error, "transaction data hashes to a txid other than the one stated");
        return std::nullopt;
    }
    if (stated_wtxid != nullptr && *stated_wtxid != info->wtxid) {
        set_error(error, "transaction data hashes to a wtxid other than the stated hash");
        return std::nullopt;
    }
    TemplateTransaction tx;
    tx.data = std::move(data);
    tx.txid = info->txid;
    tx.wtxid = info->wtxid;
    tx.fee = fee;
    tx.has_witness = info->has_witness;
    return tx;
}

Hash256 computed_witness_commitment(const BlockTemplate& tmpl) {
    std::vector<Hash256> wtxids;
    wtxids.reserve(tmpl.transactions.size());
    for (const auto& tx : tmpl.transactions) wtxids.push_back(tx.wtxid);
    return witness_commitment(witness_merkle_root(wtxids));
}

std::optional<Job> build_job(const BlockTemplate& tmpl, std::span<const uint8_t> payout_script, uint32_t extranonce_size,
                             const std::string& tag, std::string* error) {
    Job job;
    job.extranonce_size = extranonce_size;
    const bool any_witness = std::any_of(tmpl.transactions.begin(), tmpl.transactions.end(), [](const auto& t) { return t.has_witness; });
    if (!tmpl.default_witness_commitment.empty()) {
        if (!witness_commitment_from_script(tmpl.default_witness_commitment)) {
            set_error(error, "default_witness_commitment is not a BIP 141 commitment script (6a24aa21a9ed + 32 bytes)");
            return std::nullopt;
        }
        job.commitment_script = tmpl.default_witness_commitment;
    } else if (tmpl.segwit || any_witness) {
        job.commitment_script = witness_commitment_script(computed_witness_commitment(tmpl));
    }
    job.coinbase_witness = !job.commitment_script.empty();

    CoinbaseSpec spec;
    spec.height = tmpl.height;
    spec.value = tmpl.coinbase_value;
    spec.payout_script.assign(payout_script.begin(), payout_script.end());
    spec.extranonce_size = extranonce_size;
    spec.tag = tag;
    spec.commitment_script = job.commitment_script;
    auto parts = build_coinbase(spec, error);
    if (!parts) return std::nullopt;
    job.coinbase = std::move(*parts);

    std::vector<Hash256> txids;
    txids.reserve(tmpl.transactions.size());
    std::size_t body = 0;
    for (const auto& tx : tmpl.transactions) {
        txids.push_back(tx.txid);
        body += tx.data.size();
    }
    job.merkle_branch = coinbase_merkle_branch(txids);

    auto& bd = job.block_data;
    bd.reserve(body + tmpl.mweb.size() + 16);
    bd.push_back(kBlockDataFormat);
    bd.push_back(job.coinbase_witness ? kFlagCoinbaseWitness : 0);
    write_compact_size(bd, tmpl.transactions.size() + 1);
    for (const auto& tx : tmpl.transactions) bd.insert(bd.end(), tx.data.begin(), tx.data.end());
    if (tmpl.has_mweb) {
        bd.push_back(0x01);  // the MWEB block's optional pointer: present
        bd.insert(bd.end(), tmpl.mweb.begin(), tmpl.mweb.end());
    }
    return job;
}

std::optional<std::vector<uint8_t>> assemble_block(std::span<const uint8_t> header, std::span<const uint8_t> coinbase,
                                                   std::span<const uint8_t> block_data, std::string* error) {
    if (header.size() != 80) {
        set_error(error, "block header of " + std::to_string(header.size()) + " bytes (80 expected)");
        return std::nullopt;
    }
    if (block_data.size() < 3 || block_data[0] != kBlockDataFormat || (block_data[1] & ~kFlagCoinbaseWitness) != 0) {
        set_error(error, "block data is not from this job source (format byte)");
        return std::nullopt;
    }
    std::size_t pos = 2;
    std::string why;
    const auto count = read_compact_size(block_data, pos, &why);
    if (!count || *count == 0) {
        set_error(error, "block data has no valid transaction count: " + why);
        return std::nullopt;
    }
    std::vector<uint8_t> cb;
    if ((block_data[1] & kFlagCoinbaseWitness) != 0) {
        auto w = coinbase_with_witness(coinbase, Hash256{}, error);
        if (!w) return std::nullopt;
        cb = std::move(*w);
    } else {
        const auto info = parse_transaction(coinbase, &why);
        if (!info || info->inputs != 1) {
            set_error(error, "coinbase does not parse as a one-input transaction: " + why);
            return std::nullopt;
        }
        cb.assign(coinbase.begin(), coinbase.end());
    }
    std::vector<uint8_t> block;
    block.reserve(80 + 9 + cb.size() + block_data.size());
    block.insert(block.end(), header.begin(), header.end());
    write_compact_size(block, *count);
    block.insert(block.end(), cb.begin(), cb.end());
    block.insert(block.end(), block_data.begin() + static_cast<std::ptrdiff_t>(pos), block_data.end());
    return block;
}

}  // namespace otedama::bitcoin
