// Temperature throttling of the cuda backend (mining.gpu.temperature_limit), kept free of CUDA so the
// host-side tests check it on any machine.
#pragma once

#include <cstdint>

namespace otedama::cuda_backend {

/// Degrees under the limit the GPU must fall to before throttling stops.
inline constexpr double kThrottleHysteresisC = 3.0;

/// Whether `temperature_c` calls for throttling under `limit_c`: at or above the limit it throttles,
/// under limit - kThrottleHysteresisC it stops, in between it keeps doing what it did (`throttling`).
/// An unknown (negative) temperature and limit 0 never throttle.
[[nodiscard]] constexpr bool should_throttle(double temperature_c, uint32_t limit_c, bool throttling) noexcept {
  if (limit_c == 0 || temperature_c < 0) return false;
  if (temperature_c >= static_cast<double>(limit_c)) return true;
  if (temperature_c < static_cast<double>(limit_c) - kThrottleHysteresisC) return false;
  return throttling;
}

}  // namespace otedama::cuda_backend
