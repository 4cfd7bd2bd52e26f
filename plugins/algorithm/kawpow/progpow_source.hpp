// GPU source of one period's ProgPoW loop: progPowLoop with the period's random sequence unrolled, in CUDA,
// OpenCL C or GLSL (Vulkan), for GPU backends (served through plugin-api/otedama/progpow.h). The text is a
// pure function of the program, so the same period always gives the same bytes.
//
// The shape is the spec's generated kernel (ifdefelse/ProgPOW README, "progPowLoop" as the miner's code
// generator emits it): one thread per lane, PROGPOW_LANES threads per hash, each thread holding its lane's
// PROGPOW_REGS registers in `mix`. Per loop: lane (loop % LANES) broadcasts mix[0], every lane loads its
// 16 bytes of the 256-byte DAG entry, then the cache loads and math in program order, then the DAG words
// are merged. What the including kernel supplies is documented at the top of the generated text.
#pragma once

#include "progpow.hpp"

#include <cstdint>
#include <string>

namespace otedama::kawpow {

enum class Dialect : uint32_t { kCuda = 1, kOpenCl = 2, kGlsl = 3 };  // OTD_PROGPOW_CUDA, _OPENCL, _GLSL

/// The source text (NUL-free, '\n' line ends) of `program`'s loop in `dialect`.
[[nodiscard]] std::string period_source(const Program& program, Dialect dialect);

}  // namespace otedama::kawpow
