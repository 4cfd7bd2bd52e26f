// NVRTC (the CUDA runtime compiler), loaded at run time with dlopen like the driver: the plugin links
// nothing of CUDA. KawPow needs it (each period's progPowLoop is compiled into the kernel at run time);
// without it kawpow is unsupported, with a message saying why, and everything else still runs.
#pragma once

#include <nvrtc.h>

#include <string>
#include <utility>
#include <vector>

namespace otedama::cuda_backend {

#define OTD_NVRTC_FUNCTIONS(X)                                                                                       \
  X(nvrtcVersion) X(nvrtcGetErrorString) X(nvrtcCreateProgram) X(nvrtcDestroyProgram) X(nvrtcCompileProgram)      \
  X(nvrtcGetProgramLogSize) X(nvrtcGetProgramLog) X(nvrtcGetPTXSize) X(nvrtcGetPTX) X(nvrtcGetCUBINSize)          \
  X(nvrtcGetCUBIN)

/// A source file NVRTC may #include by name.
struct NvrtcHeader {
  std::string name;  ///< as the #include names it: "ethash_core.cuh"
  std::string text;
};

/// What a compilation gave: the image (CUBIN for an sm_XY target, PTX text for compute_XY) or the reason.
struct NvrtcOutput {
  bool ok = false;
  std::vector<unsigned char> image;
  std::string log;  ///< the compiler's log (warnings too); on failure also what failed
};

class Nvrtc {
 public:
  /// The process-wide NVRTC, loaded once: $OTEDAMA_CUDA_NVRTC, else libnvrtc.so.13, libnvrtc.so.12,
  /// libnvrtc.so, then the same under /usr/local/cuda/lib64.
  static const Nvrtc& instance();
  /// Loads `library` (tests). Never throws: available() says whether it worked.
  explicit Nvrtc(const std::string& library);

  [[nodiscard]] bool available() const noexcept { return handle_ != nullptr; }
  /// Why it is not available ("" when it is).
  [[nodiscard]] const std::string& why() const noexcept { return why_; }
  /// "13.0" (major.minor) when available.
  [[nodiscard]] const std::string& version() const noexcept { return version_; }
  [[nodiscard]] const std::string& library() const noexcept { return library_; }

  /// Compiles `source` (named `name` in messages) for `arch`: "sm_90" gives a CUBIN, "compute_90" PTX.
  /// `options` are passed as they are (-D..., --std=c++17 ...). Never throws.
  [[nodiscard]] NvrtcOutput compile(const std::string& name, const std::string& source, const std::vector<NvrtcHeader>& headers,
                                    const std::string& arch, const std::vector<std::string>& options) const;

 private:
  Nvrtc() = default;
  bool load(const std::string& library);

#define OTD_NVRTC_MEMBER(name) decltype(&::name) name##_ = nullptr;
  OTD_NVRTC_FUNCTIONS(OTD_NVRTC_MEMBER)
#undef OTD_NVRTC_MEMBER
  void* handle_ = nullptr;
  std::string why_;
  std::string version_;
  std::string library_;
};

}  // namespace otedama::cuda_backend
