// The Ethash family (ethash, etchash, kawpow) on the cuda backend, the parts that need no device: the VRAM
// check before a DAG is allocated, KawPow's per-period NVRTC program (source assembly, compile options),
// and the on-disk cache of compiled period programs. The device side is cu_device_ethash.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <otedama/common/program_cache.hpp>

#include "nvrtc.hpp"

namespace otedama::cuda_backend {

/// Throws sdk::Error(OTD_ERR_NO_MEMORY) naming the sizes when a light cache of `cache_bytes` and a DAG of
/// `dag_bytes` do not fit in `free_bytes` (cuMemGetInfo's free memory, of `total_bytes`) less a reserve of
/// 1/32 of the total (at least 64 MiB: result buffers, the context, the KawPow module). `where` names the
/// device, `what` the dataset ("the ethash epoch 0 DAG").
void check_dataset_fits(const std::string& where, uint64_t free_bytes, uint64_t total_bytes, uint64_t cache_bytes, uint64_t dag_bytes,
                        const std::string& what);

/// Threads per block of the KawPow kernel (16 hashes of 16 lanes).
inline constexpr uint32_t kKawpowBlock = 256;

/// The NVRTC program of one KawPow period: the main text (includes ethash_core.cuh, then the period's
/// generated progPowLoop, then kawpow.cuh) and the headers it includes, from the embedded kernel sources.
struct KawpowProgram {
  std::string source;
  std::vector<NvrtcHeader> headers;
  std::vector<std::string> options;  ///< -DPROGPOW_DAG_ELEMENTS=..u -DOTD_KP_BLOCK=.. --std=c++17 ...
  /// Everything the compiled image depends on, for the cache key (source, headers, options).
  [[nodiscard]] std::string identity() const;
};
[[nodiscard]] KawpowProgram kawpow_program(const std::string& period_loop, uint64_t dag_elements);

/// "sm_90" for compute capability 9.0 (a CUBIN), "compute_90" for its PTX.
[[nodiscard]] std::string cuda_arch(int cc_major, int cc_minor, bool ptx = false);

/// Compiled programs on disk (CUBINs and PTX), one file per key, each with a SHA-256: a file that is truncated,
/// corrupt or refused by the driver is rebuilt and rewritten, never trusted. The shared common::ProgramCache
/// with this backend's file magic ("OTDCUBIN") and default folder; path() names files
/// <dir>/<name>-<16 hex digits of SHA-256(identity)>.bin, e.g. name "kawpow-period-1234-sm_90".
class ProgramCache : public common::ProgramCache {
 public:
  /// `dir` "" disables the cache (load finds nothing, store does nothing).
  explicit ProgramCache(std::string dir) : common::ProgramCache(std::move(dir), "OTDCUBIN") {}
  /// $XDG_CACHE_HOME/otedama/cuda, else $HOME/.cache/otedama/cuda, else "" (none).
  [[nodiscard]] static std::string default_dir() { return common::ProgramCache::default_dir("cuda"); }
};

}  // namespace otedama::cuda_backend
