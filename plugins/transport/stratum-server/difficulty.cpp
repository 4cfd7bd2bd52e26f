#include "difficulty.hpp"

#include <cmath>
#include <limits>

namespace otedama::stratum {

namespace {
constexpr double kScryptScale = 65536.0;  // exact in binary floating point
}

std::optional<DifficultyUnit> difficulty_unit_for(std::string_view algorithm) noexcept {
  if (algorithm == "sha256d") return DifficultyUnit::bitcoin;
  if (algorithm == "scrypt") return DifficultyUnit::scrypt;
  if (algorithm == "randomx") return DifficultyUnit::monero;
  if (algorithm == "ethash" || algorithm == "etchash") return DifficultyUnit::nicehash;
  if (algorithm == "kawpow") return DifficultyUnit::bitcoin;
  return std::nullopt;
}

std::optional<common::Uint256> target_from_difficulty(DifficultyUnit unit, double difficulty) noexcept {
  switch (unit) {
    case DifficultyUnit::bitcoin:
    case DifficultyUnit::nicehash:
      return common::bitcoin_target_from_difficulty(difficulty);
    case DifficultyUnit::scrypt:
      return common::bitcoin_target_from_difficulty(difficulty / kScryptScale);
    case DifficultyUnit::monero:
      return common::monero_target_from_difficulty(difficulty);
  }
  return std::nullopt;
}

double difficulty_from_target(DifficultyUnit unit, const common::Uint256& target) noexcept {
  switch (unit) {
    case DifficultyUnit::bitcoin:
    case DifficultyUnit::nicehash:
      return common::bitcoin_difficulty_from_target(target);
    case DifficultyUnit::scrypt:
      return common::bitcoin_difficulty_from_target(target) * kScryptScale;
    case DifficultyUnit::monero:
      return common::monero_difficulty_from_target(target);
  }
  return 0;
}

double algorithm_difficulty_from_target(DifficultyUnit unit, const common::Uint256& target) noexcept {
  if (unit != DifficultyUnit::nicehash) return difficulty_from_target(unit, target);
  const double t = common::to_double(target);
  return t > 0 ? std::ldexp(1.0, 256) / t : std::numeric_limits<double>::infinity();
}

MoneroTarget monero_target(double difficulty) noexcept {
  uint64_t d = 1;
  if (difficulty >= 18446744073709551615.0) {
    d = UINT64_MAX;
  } else if (difficulty > 1) {
    d = static_cast<uint64_t>(difficulty);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  auto le_hex = [](uint64_t v, int bytes) {
    std::string out;
    for (int i = 0; i < bytes; ++i) {
      const auto b = static_cast<uint8_t>(v >> (8 * i));
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
    }
    return out;
  };
  MoneroTarget t;
  const uint64_t t64 = UINT64_MAX / d;
  if ((t64 >> 32) != 0) {
    const auto t32 = static_cast<uint32_t>(t64 >> 32);
    t.hex = le_hex(t32, 4);
    t.target64 = UINT64_MAX / (0xFFFFFFFFull / t32);
  } else {
    t.hex = le_hex(t64, 8);
    t.target64 = t64;
  }
  // target64 * 2^192 - 1: the low 24 bytes all ones, the top 8 bytes target64 - 1 (target64 >= 1).
  for (size_t i = 0; i < 24; ++i) t.judged[i] = 0xff;
  const uint64_t top = t.target64 - 1;
  for (size_t i = 0; i < 8; ++i) t.judged[24 + i] = static_cast<uint8_t>(top >> (8 * i));
  return t;
}

}  // namespace otedama::stratum
