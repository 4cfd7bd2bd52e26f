// The 80-byte block header of the Bitcoin family (sha256d, scrypt ...) built from a mining template:
//
//   coinbase    = coinbase1 || extranonce || coinbase2
//   merkle root = sha256d(coinbase), then folded up the tree with each branch hash on the right
//   header      = version || prev_hash || merkle root || ntime || nbits || nonce   (integers little-endian)
//
// The coinbase is always the left-most leaf, so every branch entry is its right-hand sibling (BIP 22/23
// getblocktemplate and stratum's mining.notify fold the same way). Hashes (prev_hash, branch, root) are in
// internal byte order, as serialised in blocks. Every algorithm of the family hashes the same header, only
// the proof-of-work function differs, so plugins call this instead of keeping their own copy.
//
// Thread safety: pure functions.
#pragma once

#include <otedama/algorithm.h>
#include <otedama/work.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "otedama/common/sha256.hpp"
#include "otedama/common/uint256.hpp"

namespace otedama::common {

inline constexpr std::size_t kBitcoinHeaderSize = 80;
inline constexpr std::size_t kBitcoinNonceOffset = 76;
inline constexpr std::size_t kBitcoinNonceSize = 4;
/// A branch longer than this would mean more than 2^64 transactions: only a corrupt template has one.
inline constexpr std::size_t kMaxMerkleBranch = 64;

using BitcoinHeader = std::array<uint8_t, kBitcoinHeaderSize>;

/// sha256d(coinbase1 || extranonce || coinbase2) folded with `merkle_branch` (branch_count x 32 bytes,
/// bottom-up). std::nullopt (and `error`) when the branch is not a whole number of 32-byte hashes.
[[nodiscard]] std::optional<Sha256Digest> coinbase_merkle_root(std::span<const uint8_t> coinbase1,
                                                               std::span<const uint8_t> extranonce,
                                                               std::span<const uint8_t> coinbase2,
                                                               std::span<const uint8_t> merkle_branch,
                                                               std::string* error = nullptr,
                                                               const Sha256Kernel& kernel = sha256_default_kernel());

/// version || prev_hash || merkle_root || ntime || nbits || nonce, integers little-endian.
[[nodiscard]] BitcoinHeader assemble_bitcoin_header(uint32_t version, std::span<const uint8_t, 32> prev_hash,
                                                    std::span<const uint8_t, 32> merkle_root, uint32_t ntime,
                                                    uint32_t nbits, uint32_t nonce = 0) noexcept;

/// The header of a Bitcoin-family template for one extranonce, nonce 0 (otd_algorithm_t::build_blob).
/// `ntime` / `version` replace the template's when non-zero (rolled time, BIP 310 version bits).
/// std::nullopt for a malformed template; `error` then names the bad field ("extranonce is 4 bytes, the
/// template expects 2", "merkle_branch is NULL with a non-zero count", "template struct_size 16 ...").
/// Reads only the fields up to merkle_branch_count, after checking that tmpl.struct_size covers them.
[[nodiscard]] std::optional<BitcoinHeader> bitcoin_header_from_template(
    const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t ntime, uint32_t version,
    std::string* error = nullptr, const Sha256Kernel& kernel = sha256_default_kernel());

/// Why a work unit cannot be scanned as a Bitcoin-family header (80 bytes, 4-byte nonce at 76, the range
/// inside the 32-bit nonce space, a callback to report to), or nullopt when it can. For scan kernels.
[[nodiscard]] std::optional<std::string> bitcoin_work_unit_problem(const otd_work_unit_t& work);

/// What a scan reported for one probe: the algorithm's status, the hashes it counted, how many nonces it
/// reported and the first of them with its hash.
struct ScanProbe {
    otd_status_t status = OTD_ERR_GENERIC;
    uint64_t hashes = 0;
    uint32_t found = 0;           ///< on_found calls
    uint32_t stats_found = 0;     ///< what the scan counted in its stats
    uint64_t first_nonce = 0;
    std::array<uint8_t, 32> first_hash{};
};

/// Run `scan` once over [nonce_start, nonce_start + nonce_count) of an 80-byte header (nonce field zeroed
/// first) with `target` as share and block target, and collect what it reports. For an algorithm plugin's
/// self-test of its own scan path.
[[nodiscard]] ScanProbe probe_bitcoin_scan(std::span<const uint8_t, kBitcoinHeaderSize> header, uint64_t nonce_start,
                                           uint64_t nonce_count, const Uint256& target,
                                           const std::function<otd_status_t(const otd_work_unit_t&, otd_scan_stats_t&)>& scan);

}  // namespace otedama::common
