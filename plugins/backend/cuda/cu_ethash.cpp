#include "cu_ethash.hpp"

#include <otedama/sdk/plugin.hpp>

#include <algorithm>
#include <sstream>

#include "cuda_sources.hpp"

namespace otedama::cuda_backend {
namespace {

std::string mib(uint64_t bytes) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return s.str();
}

std::string embedded_source(std::string_view name) {
  for (const EmbeddedSource& s : kEmbeddedSources) {
    if (s.name == name) return std::string(s.text);
  }
  throw sdk::Error(OTD_ERR_NOT_FOUND, "cuda: no embedded kernel source " + std::string(name));
}

}  // namespace

void check_dataset_fits(const std::string& where, uint64_t free_bytes, uint64_t total_bytes, uint64_t cache_bytes, uint64_t dag_bytes,
                        const std::string& what) {
  const uint64_t reserve = std::max<uint64_t>(total_bytes / 32, 64ull << 20);
  if (cache_bytes + dag_bytes + reserve > free_bytes) {
    // Compact: the ABI's error buffer is short, and every number must survive in it.
    throw sdk::Error(OTD_ERR_NO_MEMORY, where + ": " + what + " does not fit: " + std::to_string(dag_bytes) + " bytes (" + mib(dag_bytes) +
                                            ") + light cache " + std::to_string(cache_bytes) + " bytes (" + mib(cache_bytes) + ") + " +
                                            mib(reserve) + " kept free > " + std::to_string(free_bytes) + " bytes (" + mib(free_bytes) +
                                            ") free of " + std::to_string(total_bytes) + " (cuMemGetInfo)");
  }
}

std::string KawpowProgram::identity() const {
  std::string id = source;
  for (const NvrtcHeader& h : headers) id += "\n#header " + h.name + "\n" + h.text;
  for (const std::string& o : options) id += "\n#option " + o;
  return id;
}

KawpowProgram kawpow_program(const std::string& period_loop, uint64_t dag_elements) {
  KawpowProgram p;
  p.headers.push_back(NvrtcHeader{"keccak.cuh", embedded_source("keccak.cuh")});
  p.headers.push_back(NvrtcHeader{"ethash_core.cuh", embedded_source("ethash_core.cuh")});
  p.source = "#include \"ethash_core.cuh\"\n" + period_loop + "\n" + embedded_source("kawpow.cuh");
  p.options = {"--std=c++17", "-DPROGPOW_DAG_ELEMENTS=" + std::to_string(dag_elements) + "u", "-DOTD_KP_BLOCK=" + std::to_string(kKawpowBlock)};
  return p;
}

std::string cuda_arch(int cc_major, int cc_minor, bool ptx) {
  return std::string(ptx ? "compute_" : "sm_") + std::to_string(cc_major) + std::to_string(cc_minor);
}

}  // namespace otedama::cuda_backend
