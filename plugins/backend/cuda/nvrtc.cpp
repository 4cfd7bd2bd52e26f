#include "nvrtc.hpp"

#include <dlfcn.h>

#include <cstdlib>

namespace otedama::cuda_backend {

Nvrtc::Nvrtc(const std::string& library) {
  if (!load(library)) why_ = "NVRTC (" + library + ") not usable: " + why_;
}

bool Nvrtc::load(const std::string& library) {
  void* lib = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = ::dlerror();
    why_ = e != nullptr ? e : "dlopen failed";
    return false;
  }
#define OTD_NVRTC_RESOLVE(fn)                                        \
  fn##_ = reinterpret_cast<decltype(fn##_)>(::dlsym(lib, #fn));      \
  if (fn##_ == nullptr) {                                            \
    why_ = library + " lacks " #fn;                                  \
    ::dlclose(lib);                                                  \
    return false;                                                    \
  }
  OTD_NVRTC_FUNCTIONS(OTD_NVRTC_RESOLVE)
#undef OTD_NVRTC_RESOLVE
  int major = 0, minor = 0;
  if (nvrtcVersion_(&major, &minor) != NVRTC_SUCCESS) {
    why_ = library + ": nvrtcVersion failed";
    ::dlclose(lib);
    return false;
  }
  version_ = std::to_string(major) + "." + std::to_string(minor);
  library_ = library;
  handle_ = lib;  // kept for the process, like the driver
  why_.clear();
  return true;
}

const Nvrtc& Nvrtc::instance() {
  static const Nvrtc* nvrtc = [] {
    auto* n = new Nvrtc();
    if (const char* env = std::getenv("OTEDAMA_CUDA_NVRTC"); env != nullptr) {
      if (!n->load(env)) n->why_ = "NVRTC from OTEDAMA_CUDA_NVRTC (" + std::string(env) + ") not usable: " + n->why_;
      return n;
    }
    std::string tried;
    for (const char* name : {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so.13",
                             "/usr/local/cuda/lib64/libnvrtc.so.12", "/usr/local/cuda/lib64/libnvrtc.so"}) {
      if (n->load(name)) return n;
      tried += std::string(tried.empty() ? "" : ", ") + name;
    }
    n->why_ = "no NVRTC (tried " + tried + "; it comes with the CUDA toolkit, package cuda-nvrtc): kawpow needs it to compile "
              "each period's program";
    return n;
  }();
  return *nvrtc;
}

NvrtcOutput Nvrtc::compile(const std::string& name, const std::string& source, const std::vector<NvrtcHeader>& headers,
                           const std::string& arch, const std::vector<std::string>& options) const {
  NvrtcOutput out;
  if (!available()) {
    out.log = why_;
    return out;
  }
  std::vector<const char*> header_texts, header_names;
  for (const NvrtcHeader& h : headers) {
    header_texts.push_back(h.text.c_str());
    header_names.push_back(h.name.c_str());
  }
  nvrtcProgram program = nullptr;
  nvrtcResult r = nvrtcCreateProgram_(&program, source.c_str(), name.c_str(), static_cast<int>(headers.size()),
                                      header_texts.data(), header_names.data());
  if (r != NVRTC_SUCCESS) {
    out.log = name + ": nvrtcCreateProgram failed: " + nvrtcGetErrorString_(r);
    return out;
  }
  const std::string arch_option = "--gpu-architecture=" + arch;
  std::vector<const char*> argv{arch_option.c_str()};
  for (const std::string& o : options) argv.push_back(o.c_str());
  const nvrtcResult compiled = nvrtcCompileProgram_(program, static_cast<int>(argv.size()), argv.data());
  size_t log_size = 0;
  if (nvrtcGetProgramLogSize_(program, &log_size) == NVRTC_SUCCESS && log_size > 1) {
    std::string log(log_size, '\0');
    if (nvrtcGetProgramLog_(program, log.data()) == NVRTC_SUCCESS) {
      log.resize(log_size - 1);
      out.log = log;
    }
  }
  if (compiled != NVRTC_SUCCESS) {
    out.log = name + " (" + arch + "): nvrtcCompileProgram failed: " + nvrtcGetErrorString_(compiled) + (out.log.empty() ? "" : "\n" + out.log);
    (void)nvrtcDestroyProgram_(&program);
    return out;
  }
  const bool cubin = arch.rfind("sm_", 0) == 0;
  size_t size = 0;
  r = cubin ? nvrtcGetCUBINSize_(program, &size) : nvrtcGetPTXSize_(program, &size);
  if (r == NVRTC_SUCCESS && size > 0) {
    out.image.resize(size);
    r = cubin ? nvrtcGetCUBIN_(program, reinterpret_cast<char*>(out.image.data())) : nvrtcGetPTX_(program, reinterpret_cast<char*>(out.image.data()));
  }
  if (r != NVRTC_SUCCESS || out.image.empty()) {
    out.image.clear();
    out.log = name + ": reading the " + (cubin ? "CUBIN" : "PTX") + " failed: " + nvrtcGetErrorString_(r);
  } else {
    out.ok = true;
  }
  (void)nvrtcDestroyProgram_(&program);
  return out;
}

}  // namespace otedama::cuda_backend
