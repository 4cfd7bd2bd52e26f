// Per-connection variable difficulty: steer each miner toward one accepted share every `target_ms`.
//
// Rule (the common pool rule, as NOMP's varDiff and ckpool's per-client retarget use it):
//  - a window opens when the connection is authorized and after every retarget;
//  - it closes when `retarget_ms` has passed, or early once `window_shares` accepted shares arrived (so a
//    miner far too fast for its starting difficulty climbs within seconds instead of flooding the pool);
//  - at the close, observed = elapsed / shares; ratio = target / observed. Within ±variance of 1 nothing
//    changes; otherwise difficulty *= ratio, the step clamped to [1/max_step, max_step], the result to
//    [floor, max] and rounded (quantize());
//  - a window with no share at all closes on the timer (tick) after retarget_ms and lowers the difficulty
//    as if one share had arrived at that moment: a miner whose difficulty is far too high gets it lowered
//    by at most max_step per window instead of being stranded.
// All times are host monotonic milliseconds. The state is 16 bytes per connection.
#pragma once

#include <cstdint>
#include <optional>

namespace otedama::stratum {

struct VardiffConfig {
  bool enabled = true;
  double min = 0;             ///< 0 = the port's starting difficulty / 1024
  double max = 0;             ///< 0 = unbounded
  uint64_t target_ms = 10000;
  uint64_t retarget_ms = 60000;
  double variance = 0.3;      ///< relative band around the target with no change
  double max_step = 4;        ///< largest factor of one retarget (>= 1)
  uint32_t window_shares = 20;
};

/// Round a difficulty for the wire: integers at and above 1 (many ASIC firmwares keep an integer
/// difficulty), 4 significant digits below 1 (CPU miners on a devnet).
[[nodiscard]] double quantize_difficulty(double difficulty) noexcept;

class Vardiff {
 public:
  /// Open a new window at `now_ms`.
  void reset(uint64_t now_ms) noexcept {
    window_start_ms_ = now_ms;
    shares_ = 0;
  }
  /// An accepted share: the new difficulty when a retarget changes it.
  [[nodiscard]] std::optional<double> on_share(const VardiffConfig& config, double current, double floor,
                                               uint64_t now_ms) noexcept;
  /// The periodic timer: lowers the difficulty of a miner silent for a whole window.
  [[nodiscard]] std::optional<double> on_tick(const VardiffConfig& config, double current, double floor,
                                              uint64_t now_ms) noexcept;
  [[nodiscard]] uint32_t shares() const noexcept { return shares_; }

 private:
  std::optional<double> retarget(const VardiffConfig& config, double current, double floor, uint64_t now_ms,
                                 double shares) noexcept;
  uint64_t window_start_ms_ = 0;
  uint32_t shares_ = 0;
};

}  // namespace otedama::stratum
