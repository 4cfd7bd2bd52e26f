#include "vardiff.hpp"

#include <algorithm>
#include <cmath>

namespace otedama::stratum {

double quantize_difficulty(double difficulty) noexcept {
  if (!(difficulty > 0) || !std::isfinite(difficulty)) return difficulty;
  if (difficulty >= 1) return std::floor(difficulty);
  const double scale = std::pow(10.0, 3 - std::floor(std::log10(difficulty)));
  const double q = std::round(difficulty * scale) / scale;
  return q > 0 ? q : difficulty;
}

std::optional<double> Vardiff::on_share(const VardiffConfig& config, double current, double floor,
                                        uint64_t now_ms) noexcept {
  ++shares_;
  const uint64_t elapsed = now_ms > window_start_ms_ ? now_ms - window_start_ms_ : 0;
  if (elapsed < config.retarget_ms && shares_ < config.window_shares) return std::nullopt;
  return retarget(config, current, floor, now_ms, shares_);
}

std::optional<double> Vardiff::on_tick(const VardiffConfig& config, double current, double floor,
                                       uint64_t now_ms) noexcept {
  const uint64_t elapsed = now_ms > window_start_ms_ ? now_ms - window_start_ms_ : 0;
  if (elapsed < config.retarget_ms) return std::nullopt;
  // A window that had shares closes at the next share; only a silent one closes here.
  if (shares_ > 0) return std::nullopt;
  return retarget(config, current, floor, now_ms, 1);
}

std::optional<double> Vardiff::retarget(const VardiffConfig& config, double current, double floor, uint64_t now_ms,
                                        double shares) noexcept {
  const uint64_t elapsed = std::max<uint64_t>(now_ms > window_start_ms_ ? now_ms - window_start_ms_ : 0, 1);
  reset(now_ms);
  const double observed = static_cast<double>(elapsed) / shares;
  const double ratio = static_cast<double>(config.target_ms) / observed;
  if (std::fabs(ratio - 1) <= config.variance) return std::nullopt;
  const double step = std::max(config.max_step, 1.0);
  double next = current * std::clamp(ratio, 1 / step, step);
  const double lo = std::max(floor, config.min);
  if (config.max > 0) next = std::min(next, config.max);
  next = std::max(next, lo);
  next = quantize_difficulty(next);
  if (next < lo) next = lo;  // rounding must not undercut the floor
  if (next == current) return std::nullopt;
  return next;
}

}  // namespace otedama::stratum
