// The monerod job source's protocol engine, without sockets or a host (tests drive it with recorded
// replies): what a get_block_template result becomes as an otd_template_t, how a solved block is
// assembled for submit_block, and how a get_info result is judged.
//
// get_block_template (monerod src/rpc/core_rpc_server_commands_defs.h, COMMAND_RPC_GETBLOCKTEMPLATE):
//   blocktemplate_blob  the block template; we parse it (lib/otedama/monero) and take the nonce offset from
//                       its header; reserved_offset/reserve_size = the extranonce space in its miner tx extra
//   difficulty, difficulty_top64, wide_difficulty ("0x.."), height, prev_hash, seed_hash, next_seed_hash
//   ("" when not yet known), expected_reward (atomic units: subsidy + fees), status "OK"
// Target: Monero's proof of work passes when hash * difficulty <= 2^256 - 1 (hash read little-endian), so
// the block target is floor((2^256 - 1) / difficulty), exact for difficulties below 2^64.
//
// get_info: height (the chain's block count), target_height (what peers claim; 0 when unknown or offline),
// synchronized, busy_syncing, nettype ("mainnet", "testnet", "stagenet", "fakechain" for --regtest),
// top_block_hash, status.
#pragma once

#include <otedama/common/uint256.hpp>
#include <otedama/work.h>

#include <Poco/JSON/Object.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace otedama::monerod {

using Hash = std::array<uint8_t, 32>;

/// A get_block_template result, checked and decoded; view() lends it as an otd_template_t.
struct Template {
    std::vector<uint8_t> blob;      ///< blocktemplate_blob
    uint32_t reserved_offset = 0;
    uint32_t reserve_size = 0;      ///< the extranonce space asked for (and checked to fit the extra field)
    uint32_t nonce_offset = 0;
    uint64_t height = 0;
    Hash prev_hash{};
    std::vector<uint8_t> seed;      ///< seed_hash (32 bytes)
    std::vector<uint8_t> next_seed; ///< next_seed_hash, empty when the node does not know it yet
    common::Uint256 target{};       ///< little-endian 256-bit
    uint64_t difficulty = 0;        ///< the low 64 bits (difficulty_top64 must be 0 for an exact target)
    uint64_t reward = 0;            ///< expected_reward
    std::string source_job_id;      ///< "<height>-<n>", set by the caller

    /// An otd_template_t pointing into this object (valid while it lives and is not changed).
    [[nodiscard]] otd_template_t view(const std::string& coin, const std::string& algorithm, uint32_t flags) const;
};

/// Decode and check a get_block_template result for a request with `reserve_size`. std::nullopt and an
/// error naming the field when anything is missing, malformed or inconsistent (the blob does not parse,
/// the reserved range is outside the miner transaction's extra, prev_hash differs from the blob's ...).
[[nodiscard]] std::optional<Template> parse_block_template(const Poco::JSON::Object::Ptr& result, uint32_t reserve_size,
                                                           std::string* error);

/// The block to submit: the template blob with `extranonce` at reserved_offset and `nonce` at the nonce
/// offset, checked to hash to `hashing_blob` when that is given (the solution the host verified).
[[nodiscard]] std::optional<std::vector<uint8_t>> assemble_block(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t nonce,
                                                                 std::span<const uint8_t> hashing_blob, std::string* error);

struct NodeInfo {
    uint64_t height = 0;
    uint64_t target_height = 0;
    bool synchronized = true;
    bool busy_syncing = false;
    bool offline = false;
    std::string nettype;
    std::string top_hash;  ///< hex
};

/// Decode a get_info result (fields monerod 0.18 has; synchronized/busy_syncing default to a synced node
/// when an older node leaves them out).
[[nodiscard]] std::optional<NodeInfo> parse_info(const Poco::JSON::Object::Ptr& result, std::string* error);

enum class Health { ok, syncing, wrong_chain };
/// Judge a node: still syncing (busy_syncing, not synchronized, or height below target_height), on another
/// network than `expected_nettype` (empty = any), or fine. `why` gets a sentence for the status line.
[[nodiscard]] Health judge(const NodeInfo& info, const std::string& expected_nettype, std::string* why);

}  // namespace otedama::monerod
