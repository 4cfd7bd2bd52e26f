// The bitcoind job source's engine, without sockets or a host (tests drive it with recorded node answers):
// its configuration, how a node's state is judged, what a getblocktemplate becomes as an otd_template_t, and
// the block that goes to submitblock for a solved job.
//
// Node health (getblockchaininfo, getnetworkinfo and getblocktemplate's error codes, Bitcoin Core
// src/rpc/protocol.h): a node that cannot be reached or answers garbage is DOWN; one in initial block
// download (`initialblockdownload`, RPC_CLIENT_IN_INITIAL_DOWNLOAD -10) or still loading (RPC_IN_WARMUP -28)
// is SYNCING; one without peers (`connections` 0, RPC_CLIENT_NOT_CONNECTED -9: Bitcoin-family nodes refuse
// getblocktemplate then) has NO PEERS; one whose chain the payout address does not belong to (the address
// says which network the pool mines for) is on the WRONG CHAIN. Only an UP node gets templates posted.
//
// Thread safety: pure functions and plain data.
#pragma once

#include "gbt.hpp"

#include <otedama/bitcoin/address.hpp>
#include <otedama/bitcoin/block.hpp>
#include <otedama/work.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::bitcoind {

struct Daemon {
    std::string url;
    std::string user;
    std::string pass;
    std::string cookie_file;
    std::string zmq;
};

/// The plugin's settings: the host's `node:` section (daemons, payout_address, coin, poll_interval,
/// reserve_size) and, under plugins.settings.org.otedama.transport.bitcoind, coinbase_tag, rpc_timeout and
/// min_difficulty.
struct Config {
    std::vector<Daemon> daemons;
    std::string payout_address;
    std::string coin;                 ///< "BTC", "LTC"; "" = from the node's subversion
    uint64_t poll_interval_ms = 1000;
    uint32_t reserve_size = 8;        ///< extranonce bytes in the coinbase
    std::string coinbase_tag = "/otedama/";
    uint64_t rpc_timeout_ms = 30000;
    /// Mine no block easier than this difficulty (Bitcoin-family unit, diff1 = 0x00000000ffff0000...): for
    /// regtest and min-difficulty test chains, where nearly every hash is a block and the candidates would
    /// arrive faster than the host can verify and record them. 0 = the node's target as it is.
    double min_difficulty = 0;
};

/// Parse the configuration JSON the host hands over. Refuses unknown keys and bad values by name.
[[nodiscard]] std::optional<Config> parse_config(std::string_view json_text, std::string* error = nullptr);

enum class NodeState : uint8_t { unknown, up, down, syncing, no_peers, wrong_chain };
[[nodiscard]] const char* node_state_name(NodeState state) noexcept;

/// What getblockchaininfo and getnetworkinfo said.
struct NodeFacts {
    std::string chain;             ///< "main", "test", "regtest", "signet"
    bool initial_block_download = false;
    uint64_t blocks = 0;
    uint64_t headers = 0;
    std::string best_block_hash;   ///< display hex
    int64_t connections = -1;      ///< -1 = unknown
    std::string subversion;        ///< "/LitecoinCore:0.21.2.1/", "/Satoshi:27.0.0/"
};

/// The coin a node serves from its subversion: "LTC" for Litecoin Core, "BTC" for Bitcoin Core ("Satoshi"),
/// "" when unknown.
[[nodiscard]] std::string coin_from_subversion(std::string_view subversion);

/// The proof-of-work algorithm of a coin ("BTC" -> sha256d, "LTC" -> scrypt), "" when unknown.
[[nodiscard]] std::string algorithm_of_coin(std::string_view coin);

struct Judgement {
    NodeState state = NodeState::unknown;
    std::string why;                          ///< a sentence for the log and the status
    const bitcoin::Network* network = nullptr;  ///< set when the coin and chain are known
    std::vector<uint8_t> payout_script;       ///< set when state is up
};

/// Judge a node for a pool paying `payout_address` on `coin` ("" = the one the subversion names).
[[nodiscard]] Judgement judge(const NodeFacts& facts, std::string_view coin, std::string_view payout_address);

/// The state an RPC error code of getblocktemplate means (-9 no peers, -10 and -28 syncing), or nullopt.
[[nodiscard]] std::optional<NodeState> state_of_rpc_error(int64_t code) noexcept;

/// Whether a BIP 22 reject reason means no other block on the same parent can extend the chain either (the
/// parent is unknown or no longer the tip, or a block on it was already taken): duplicate, inconclusive,
/// prev-blk-not-found, bad-prevblk, stale-prevblk. A fault of the block itself (high-hash, bad-txnmrklroot ...)
/// is not: another block on the same parent may pass.
[[nodiscard]] bool parent_is_spent(std::string_view reason) noexcept;

/// A template ready to post: the node's template, the job built for the pool's payout script, and the
/// storage an otd_template_t view points into.
struct PreparedTemplate {
    bitcoin::BlockTemplate tmpl;
    bitcoin::Job job;
    std::vector<uint8_t> branch;  ///< merkle branch, 32-byte hashes back to back
    std::string coin;
    std::string algorithm;
    std::string source_job_id;
    bitcoin::Hash256 block_target{};  ///< the template's target, or the harder one of Config::min_difficulty

    /// An otd_template_t pointing into this object (valid while it lives unchanged).
    [[nodiscard]] otd_template_t view(uint32_t flags) const;
};

[[nodiscard]] std::optional<PreparedTemplate> prepare(bitcoin::BlockTemplate tmpl, std::span<const uint8_t> payout_script,
                                                      const Config& config, std::string coin, std::string algorithm,
                                                      std::string source_job_id, std::string* error = nullptr);

/// The block for submitblock (hex) from a solved block, after checking that it belongs to the template it
/// names: 80-byte header with the template's previous hash and the merkle root of its coinbase, a coinbase
/// of coinbase1 | extranonce | coinbase2, the template's block_data. std::nullopt and `error` otherwise.
[[nodiscard]] std::optional<std::string> block_hex_for_submit(const otd_block_t& block, std::string* error = nullptr);

}  // namespace otedama::bitcoind
