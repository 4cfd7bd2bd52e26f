// Monero block blobs: parsing, the miner transaction's hash, the transaction tree hash, and the hashing
// blob that RandomX hashes.
//
// Layout (monero-project/monero src/cryptonote_basic/cryptonote_basic.h, block_header / block / transaction
// serialisation; every integer below is a varint unless its size is given):
//   header    major_version, minor_version, timestamp, prev_id (32 bytes), nonce (uint32 LE, 4 bytes)
//   miner tx  version, unlock_time, input count (1), input 0xff txin_gen + height,
//             output count, per output: amount, target tag (0x02 key: 32 bytes | 0x03 tagged key: 32 + 1),
//             extra size + extra bytes, then for version 2 the rct_signatures base: type byte (0 = RCTTypeNull)
//   tail      count of other transactions, their 32-byte hashes
//
// Hashes (cn_fast_hash = Keccak-256 with the original padding, lib/otedama/common/keccak.hpp):
//   miner tx id  v1: H(tx blob)   v2: H(H(prefix) || H(rct base) || 32 zero bytes)  (RCTTypeNull has no
//                prunable part; cryptonote_format_utils.cpp calculate_transaction_hash)
//   tree root    tree_hash([miner tx id] + tx hashes)  (src/crypto/tree-hash.c)
//   hashing blob header || tree root || varint(1 + tx count)  (get_block_hashing_blob)
//   block id     H(varint(size of hashing blob) || hashing blob)  (get_block_hash; Monero's hard-coded id of
//                mainnet block 202612 is not special-cased here)
// All hashes are raw bytes in Monero's order (never reversed). RandomX's hash of the hashing blob is the
// proof of work, compared as a 256-bit little-endian number: hash * difficulty <= 2^256 - 1.
//
// Every parser here takes untrusted bytes: it never reads out of bounds, never allocates more than the
// input can justify, and refuses anything monerod would not parse with a message naming the field and its
// offset. Thread safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace otedama::monero {

using Hash = std::array<uint8_t, 32>;

/// Output target tags (src/cryptonote_basic/cryptonote_basic.h serialisation tags).
inline constexpr uint8_t kTxOutToKey = 0x02;
inline constexpr uint8_t kTxOutToTaggedKey = 0x03;
/// Input tag of a coinbase input (txin_gen).
inline constexpr uint8_t kTxInGen = 0xff;
/// rct::RCTTypeNull: the only RingCT type a miner transaction has.
inline constexpr uint8_t kRctTypeNull = 0;
/// Bytes of the nonce field.
inline constexpr std::size_t kNonceSize = 4;

struct BlockHeader {
    uint64_t major_version = 0;
    uint64_t minor_version = 0;
    uint64_t timestamp = 0;
    Hash prev_id{};
    uint32_t nonce = 0;
    std::size_t nonce_offset = 0;  ///< where the nonce sits (39 when the three varints take 1, 1 and 5 bytes)
    std::size_t size = 0;          ///< bytes of the header, nonce included (= nonce_offset + 4)
};

struct TxOutput {
    uint64_t amount = 0;
    uint8_t target_type = 0;       ///< kTxOutToKey or kTxOutToTaggedKey
    Hash key{};
    uint8_t view_tag = 0;          ///< kTxOutToTaggedKey only
};

/// The miner (coinbase) transaction, with the offsets of its parts in the block blob.
struct MinerTx {
    std::size_t offset = 0;        ///< first byte of the transaction in the block blob
    std::size_t size = 0;          ///< bytes of the whole transaction
    std::size_t prefix_size = 0;   ///< bytes of the prefix (version .. extra); v1: equals size
    uint64_t version = 0;          ///< 1 or 2
    uint64_t unlock_time = 0;
    uint64_t height = 0;           ///< txin_gen height: the height of the block
    std::vector<TxOutput> outputs;
    std::size_t extra_offset = 0;  ///< first byte of the extra field's contents (after its size varint)
    std::size_t extra_size = 0;
    uint8_t rct_type = kRctTypeNull;  ///< v2 only
};

struct Block {
    BlockHeader header;
    MinerTx miner_tx;
    std::vector<Hash> tx_hashes;   ///< the other transactions, in block order
};

/// Parse the header at the start of `blob` (a block blob or a hashing blob).
[[nodiscard]] std::optional<BlockHeader> parse_block_header(std::span<const uint8_t> blob, std::string* error = nullptr);

/// Parse a whole block blob (get_block_template's blocktemplate_blob, submit_block's blob). Trailing bytes
/// after the transaction hashes are refused.
[[nodiscard]] std::optional<Block> parse_block(std::span<const uint8_t> blob, std::string* error = nullptr);

/// The miner transaction's id. `block_blob` is the blob `block` was parsed from.
[[nodiscard]] Hash miner_tx_hash(std::span<const uint8_t> block_blob, const Block& block);

/// Monero's tree hash (src/crypto/tree-hash.c) of one or more leaves; the zero hash for no leaves (never a
/// block: every block has its miner transaction).
[[nodiscard]] Hash tree_hash(std::span<const Hash> leaves);

/// The hashing blob of a parsed block: header || tree root || varint(1 + tx count).
[[nodiscard]] std::vector<uint8_t> hashing_blob(std::span<const uint8_t> block_blob, const Block& block);

/// Parse `block_blob` and return its hashing blob (std::nullopt and `error` when it does not parse).
[[nodiscard]] std::optional<std::vector<uint8_t>> hashing_blob(std::span<const uint8_t> block_blob,
                                                               std::string* error = nullptr);

/// A hashing blob read back: what verification sees.
struct HashingBlob {
    BlockHeader header;
    Hash tree_root{};
    uint64_t tx_count = 0;         ///< transactions in the block, the miner transaction included (>= 1)
};

/// Parse a hashing blob: header, 32-byte tree root, varint transaction count (>= 1), nothing after.
[[nodiscard]] std::optional<HashingBlob> parse_hashing_blob(std::span<const uint8_t> blob, std::string* error = nullptr);

/// The block id of a block, from its hashing blob: H(varint(size) || hashing blob).
[[nodiscard]] Hash block_id(std::span<const uint8_t> hashing_blob);

/// A block template with its reserved bytes (get_block_template's reserved_offset and reserve_size) filled:
/// `extranonce` (at most reserved_size bytes; the rest of the reserved space keeps the template's bytes)
/// is written at reserved_offset, and the nonce, when given, at the header's nonce offset. The template must
/// parse, and the reserved range must lie inside the miner transaction's extra field (anywhere else it
/// would change the block's structure). This is both how a miner derives its hashing blob and how a job
/// source assembles the block it submits.
[[nodiscard]] std::optional<std::vector<uint8_t>> fill_block_template(std::span<const uint8_t> template_blob,
                                                                      std::size_t reserved_offset,
                                                                      std::size_t reserved_size,
                                                                      std::span<const uint8_t> extranonce,
                                                                      std::optional<uint32_t> nonce,
                                                                      std::string* error = nullptr);

}  // namespace otedama::monero
