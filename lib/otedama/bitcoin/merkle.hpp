// Merkle trees of the Bitcoin family (Bitcoin Core consensus/merkle.cpp semantics, written from BIP 22/23
// and BIP 141): sha256d of each pair, the last hash of an odd level paired with itself. All hashes in
// internal byte order.
//
//  - the block's merkle root over the txids (coinbase first);
//  - the stratum merkle branch of the coinbase: the right-hand siblings on its path, bottom-up, so that
//    root = fold(sha256d(coinbase), branch) (what lib/otedama/common/bitcoin_header.hpp folds);
//  - BIP 141's witness root (the coinbase's wtxid counts as 32 zero bytes), the commitment
//    sha256d(witness root || witness reserved value) and its output script
//    OP_RETURN PUSH36 aa21a9ed <commitment>.
//
// Thread safety: pure functions.
#pragma once

#include "otedama/bitcoin/transaction.hpp"

#include <span>
#include <vector>

namespace otedama::bitcoin {

/// The merkle root of `leaves`; 32 zero bytes for none.
[[nodiscard]] Hash256 merkle_root(std::span<const Hash256> leaves);

/// The branch of leaf 0 in a tree whose other leaves are `others` (the template's txids, in order).
[[nodiscard]] std::vector<Hash256> coinbase_merkle_branch(std::span<const Hash256> others);

/// Fold `leaf` (at index 0) with a branch: the root.
[[nodiscard]] Hash256 fold_merkle_branch(const Hash256& leaf, std::span<const Hash256> branch);

/// BIP 141 witness merkle root: 32 zero bytes for the coinbase, then `wtxids` (the template's, in order).
[[nodiscard]] Hash256 witness_merkle_root(std::span<const Hash256> wtxids);

/// sha256d(witness_root || reserved_value).
[[nodiscard]] Hash256 witness_commitment(const Hash256& witness_root, const Hash256& reserved_value = {});

/// The commitment output's script: 6a 24 aa21a9ed || commitment (38 bytes).
[[nodiscard]] std::vector<uint8_t> witness_commitment_script(const Hash256& commitment);

/// The commitment inside a script of that form, or std::nullopt when `script` is not one.
[[nodiscard]] std::optional<Hash256> witness_commitment_from_script(std::span<const uint8_t> script);

}  // namespace otedama::bitcoin
