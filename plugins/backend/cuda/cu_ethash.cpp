#include "cu_ethash.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/sdk/plugin.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
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

constexpr char kMagic[8] = {'O', 'T', 'D', 'C', 'U', 'B', 'I', 'N'};

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

std::string ProgramCache::default_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') return std::string(xdg) + "/otedama/cuda";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') return std::string(home) + "/.cache/otedama/cuda";
  return {};
}

std::string ProgramCache::path(const std::string& name, const std::string& identity) const {
  const common::Sha256Digest d = common::sha256(std::span(reinterpret_cast<const uint8_t*>(identity.data()), identity.size()));
  return dir_ + "/" + name + "-" + common::to_hex(std::span<const uint8_t>(d.data(), 8)) + ".bin";
}

std::optional<std::vector<unsigned char>> ProgramCache::load(const std::string& path, std::string* problem) const {
  if (dir_.empty()) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;  // not cached yet
  std::vector<unsigned char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto reject = [&](const std::string& why) -> std::optional<std::vector<unsigned char>> {
    if (problem != nullptr) *problem = path + ": " + why;
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return std::nullopt;
  };
  if (file.size() <= sizeof kMagic + 32) return reject("too short for a cached program (" + std::to_string(file.size()) + " bytes)");
  if (std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) return reject("not a cached program (bad magic)");
  std::vector<unsigned char> image(file.begin() + sizeof kMagic + 32, file.end());
  const common::Sha256Digest d = common::sha256(std::span(image.data(), image.size()));
  if (std::memcmp(d.data(), file.data() + sizeof kMagic, 32) != 0) return reject("checksum mismatch (corrupt)");
  return image;
}

bool ProgramCache::store(const std::string& path, const std::vector<unsigned char>& image, std::string* problem) const {
  if (dir_.empty() || image.empty()) return false;
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    if (problem != nullptr) *problem = "cannot create " + dir_ + ": " + ec.message();
    return false;
  }
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const common::Sha256Digest d = common::sha256(std::span(image.data(), image.size()));
    out.write(kMagic, sizeof kMagic);
    out.write(reinterpret_cast<const char*>(d.data()), 32);
    out.write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
    if (!out) {
      if (problem != nullptr) *problem = "cannot write " + tmp;
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    if (problem != nullptr) *problem = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace otedama::cuda_backend
