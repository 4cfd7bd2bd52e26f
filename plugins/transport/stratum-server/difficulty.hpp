// Share difficulty <-> target in the units each coin family's miners expect on the wire.
//
// The transport cannot call an algorithm plugin, so it carries the few unit definitions itself and checks
// them against every job: the host sends each job with the algorithm plugin's own (share_target,
// share_difficulty) pair, and Server::on_job warns once when this table disagrees with it.
//  - bitcoin (sha256d): difficulty 1 = 0x00000000FFFF0000...0000 (= 0xFFFF * 2^208), target = diff1 / d.
//  - scrypt: the Litecoin pools' unit, difficulty 1 = 0x0000FFFF0000...0000 (Bitcoin's x 2^16; cpuminer
//    stratum_gen_work: diff_to_target(target, diff / 65536.0)).
//  - monero (randomx): target = floor((2^256 - 1) / d).
//  - nicehash (ethash, etchash on the EthereumStratum/1.0.0 dialect): on the wire the NiceHash unit, i.e.
//    Bitcoin's (difficulty 1 = 0x00000000FFFF0000...0000, NiceHash EthereumStratum_NiceHash_v1.0.0.txt III,
//    as ethminer's getTargetFromDiff); the algorithm plugin's own unit is Ethereum's (boundary = 2^256 / d),
//    which is what algorithm_difficulty_from_target reads (a NiceHash difficulty d is about d * 2^32 there).
//    kawpow uses the Bitcoin unit itself (Ravencoin's nBits; its stratum sends the target).
#pragma once

#include <otedama/common/uint256.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otedama::stratum {

enum class DifficultyUnit { bitcoin, scrypt, monero, nicehash };

/// The unit of an algorithm by its canonical name ("sha256d", "scrypt", "randomx", "ethash", "etchash",
/// "kawpow"); std::nullopt when this server does not know it.
[[nodiscard]] std::optional<DifficultyUnit> difficulty_unit_for(std::string_view algorithm) noexcept;

/// std::nullopt when difficulty is not a finite number > 0.
[[nodiscard]] std::optional<common::Uint256> target_from_difficulty(DifficultyUnit unit, double difficulty) noexcept;
/// +infinity for a zero target.
[[nodiscard]] double difficulty_from_target(DifficultyUnit unit, const common::Uint256& target) noexcept;
/// The difficulty of a target in the algorithm plugin's own unit (what the host's otd_job_t.share_difficulty
/// says): difficulty_from_target except for nicehash, where it is Ethereum's 2^256 / target.
[[nodiscard]] double algorithm_difficulty_from_target(DifficultyUnit unit, const common::Uint256& target) noexcept;

/// The xmrig dialect's "target" for a Monero-family difficulty, and the 256-bit target a share is judged at.
/// xmrig (src/base/net/stratum/Job.cpp setTarget) reads 8 hex digits as a little-endian uint32 t32 and mines
/// to target64 = (2^64 - 1) / ((2^32 - 1) / t32), or 16 hex digits as target64 itself, and submits a hash
/// when its top 64 bits (bytes 24..31, little-endian) are below target64. As pools do (p2pool), t32 =
/// ((2^64 - 1) / difficulty) >> 32 while that is non-zero, the 16-digit form above. Judging at
/// target64 * 2^192 - 1 accepts exactly the shares xmrig itself finds good: no rounding rejects them.
struct MoneroTarget {
  std::string hex;           ///< what "target" says: 8 or 16 lowercase hex digits
  uint64_t target64 = 0;     ///< what the miner compares against
  common::Uint256 judged{};  ///< target64 * 2^192 - 1
};
/// difficulty is rounded down to an integer >= 1.
[[nodiscard]] MoneroTarget monero_target(double difficulty) noexcept;

}  // namespace otedama::stratum
