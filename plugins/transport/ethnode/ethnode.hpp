// The ethnode job source's protocol engine, without sockets or a host (tests drive it directly): what an
// eth_getWork result becomes as an otd_template_t, the eth_submitWork parameters of a solved block, and how
// an eth_syncing result is judged.
//
// Ethereum JSON-RPC (ethereum/execution-apis, and go-ethereum / core-geth eth/ethash API):
//   eth_getWork  -> [header_hash, seed_hash, boundary, block_number?]: the 32-byte header "seal" hash the
//                   miner hashes, the epoch's seed hash, the boundary (the 256-bit target 2^256 / difficulty,
//                   big-endian), and (go-ethereum, core-geth) the block number as a 0x quantity.
//   eth_submitWork <- [nonce (8 bytes, 0x + 16 hex, the 64-bit nonce big-endian), header_hash, mix_digest]
//                   -> true (accepted) / false (stale or invalid).
//   eth_syncing  -> false when synced, an object {startingBlock, currentBlock, highestBlock, ...} otherwise.
#pragma once

#include <otedama/common/uint256.hpp>
#include <otedama/ethash/ethash.hpp>
#include <otedama/work.h>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace otedama::ethnode {

using Hash = std::array<uint8_t, 32>;

/// An eth_getWork result, checked and decoded; view() lends it as an otd_template_t.
struct Work {
    Hash header_hash{};         ///< the template blob (32 bytes)
    Hash seed{};
    common::Uint256 target{};   ///< the boundary, little-endian (the host's byte order)
    uint64_t epoch = 0;
    uint64_t height = 0;        ///< the block number, or epoch * epoch_length when the node did not send one
    bool has_number = false;
    std::string source_job_id;  ///< set by the caller

    [[nodiscard]] otd_template_t view(const std::string& coin, const std::string& algorithm, uint32_t flags) const;
};

/// Decode and check an eth_getWork result for `variant` (ethash or etchash). `previous` (may be nullptr):
/// the last work decoded, whose epoch is reused when the seed is the same (no seed search). std::nullopt and
/// an error naming the element when anything is missing or malformed, or when the seed is not the seed of
/// the block number's epoch (or of any epoch, without a number).
[[nodiscard]] std::optional<Work> parse_work(const Poco::Dynamic::Var& result, const ethash::Variant& variant, const Work* previous, std::string* error);

/// The eth_submitWork params for a solved block of `work`: ["0x" + nonce as 16 hex big-endian,
/// "0x" + header hash, "0x" + mix digest].
[[nodiscard]] Poco::JSON::Array::Ptr submit_params(const Hash& header_hash, uint64_t nonce, const Hash& mix);

/// Parse a "0x"-prefixed hex string of exactly 32 bytes.
[[nodiscard]] std::optional<Hash> parse_hash32(const std::string& text, std::string* error);
/// Parse a "0x" quantity (1..16 hex digits).
[[nodiscard]] std::optional<uint64_t> parse_quantity(const std::string& text, std::string* error);

/// Judge an eth_syncing result: false -> synced (returns false); an object -> syncing (returns true, `why`
/// names currentBlock of highestBlock); anything else -> std::nullopt with `why` the error.
[[nodiscard]] std::optional<bool> parse_syncing(const Poco::Dynamic::Var& result, std::string* why);

}  // namespace otedama::ethnode
