// Compiled GPU programs kept on disk (OpenCL program binaries, Vulkan SPIR-V), one file per key, each with
// its own SHA-256: a file that is truncated, corrupt or refused by the driver is rebuilt from source and
// rewritten by the caller, never trusted. Used by the opencl and vulkan backends for KawPow's per-period
// programs.
//
// File: <magic, 8 bytes> <SHA-256 of the program, 32 bytes> <program>. Written atomically (a temporary file
// renamed), so a crash leaves the old file or none, not half of one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace otedama::common {

class ProgramCache {
 public:
    /// `dir` "" disables the cache (load finds nothing, store does nothing). `magic`: the file's first 8
    /// bytes, telling one backend's files from another's (a shorter string is padded with NULs).
    ProgramCache(std::string dir, std::string magic);

    /// The default folder of `backend`: $XDG_CACHE_HOME/otedama/<backend>, else $HOME/.cache/otedama/<backend>,
    /// else "" (none).
    [[nodiscard]] static std::string default_dir(const std::string& backend);

    [[nodiscard]] bool enabled() const noexcept { return !dir_.empty(); }
    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
    /// The file of `name` (a readable stem, e.g. "kawpow-period-1234") for `identity` (everything the program
    /// depends on: device, driver, compiler, source, options): <dir>/<name>-<16 hex digits of SHA-256(identity)>.bin.
    [[nodiscard]] std::string path(const std::string& name, const std::string& identity) const;
    /// The stored program, or nullopt when there is none or it does not pass its checksum (the file is then
    /// removed and `problem` says why).
    [[nodiscard]] std::optional<std::vector<unsigned char>> load(const std::string& path, std::string* problem = nullptr) const;
    /// Writes atomically (a temporary file renamed). false (with `problem`) when it could not.
    bool store(const std::string& path, const std::vector<unsigned char>& program, std::string* problem = nullptr) const;

 private:
    std::string dir_;
    char magic_[8] = {};
};

}  // namespace otedama::common
