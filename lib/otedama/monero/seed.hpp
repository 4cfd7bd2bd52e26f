// Monero's RandomX seed (key) rule: which block's id keys the RandomX dataset at a given height.
//
// monero-project/monero src/crypto/rx-slow-hash.c: SEEDHASH_EPOCH_BLOCKS = 2048, SEEDHASH_EPOCH_LAG = 64,
//   rx_seedheight(h) = h <= EPOCH_BLOCKS + EPOCH_LAG ? 0 : (h - EPOCH_LAG - 1) & ~(EPOCH_BLOCKS - 1)
//   next seed height  = rx_seedheight(h + EPOCH_LAG)
// The key is the 32-byte id of the block at the seed height (get_block_template's seed_hash). The lag is
// why a miner knows the next key 64 blocks before it is needed: that is the time the host has to build
// the next dataset in the background (prepare_context) before the switch.
//
// RandomX is Monero's proof of work from block major version 12 (src/crypto/hash-ops.h RX_BLOCK_VERSION;
// mainnet height 1978433).
#pragma once

#include <cstdint>
#include <limits>

namespace otedama::monero {

inline constexpr uint64_t kSeedHashEpochBlocks = 2048;
inline constexpr uint64_t kSeedHashEpochLag = 64;
/// The first block major version whose proof of work is RandomX.
inline constexpr uint64_t kRandomxMajorVersion = 12;

/// rx_seedheight with another epoch (a power of two) and lag: a devnet that switches seeds within a test.
[[nodiscard]] constexpr uint64_t seed_height(uint64_t height, uint64_t epoch_blocks, uint64_t lag) noexcept {
    return height <= epoch_blocks + lag ? 0 : (height - lag - 1) & ~(epoch_blocks - 1);
}
/// Height of the block whose id is the RandomX key for a block at `height` (rx_seedheight).
[[nodiscard]] constexpr uint64_t seed_height(uint64_t height) noexcept {
    return seed_height(height, kSeedHashEpochBlocks, kSeedHashEpochLag);
}

/// The seed height that takes over within the next kSeedHashEpochLag blocks (equal to seed_height(height)
/// when no switch is due). Saturates instead of wrapping for heights near 2^64.
[[nodiscard]] constexpr uint64_t next_seed_height(uint64_t height) noexcept {
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    return seed_height(height > kMax - kSeedHashEpochLag ? kMax : height + kSeedHashEpochLag);
}

/// Whether a block at `height` already uses a different key than a block at height - 1: the first height
/// of a new seed epoch.
[[nodiscard]] constexpr bool is_seed_switch(uint64_t height) noexcept {
    return height > 0 && seed_height(height) != seed_height(height - 1);
}

}  // namespace otedama::monero
