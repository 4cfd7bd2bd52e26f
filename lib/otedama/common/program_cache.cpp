#include "otedama/common/program_cache.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>

#include "otedama/common/hex.hpp"
#include "otedama/common/sha256.hpp"

namespace otedama::common {

ProgramCache::ProgramCache(std::string dir, std::string magic) : dir_(std::move(dir)) {
    std::memcpy(magic_, magic.data(), std::min(magic.size(), sizeof magic_));
}

std::string ProgramCache::default_dir(const std::string& backend) {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') return std::string(xdg) + "/otedama/" + backend;
    if (const char* home = std::getenv("HOME"); home != nullptr && *home == '/') return std::string(home) + "/.cache/otedama/" + backend;
    return {};
}

std::string ProgramCache::path(const std::string& name, const std::string& identity) const {
    const Sha256Digest d = sha256(std::span(reinterpret_cast<const uint8_t*>(identity.data()), identity.size()));
    return dir_ + "/" + name + "-" + to_hex(std::span<const uint8_t>(d.data(), 8)) + ".bin";
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
    if (file.size() <= sizeof magic_ + 32) return reject("too short for a cached program (" + std::to_string(file.size()) + " bytes)");
    if (std::memcmp(file.data(), magic_, sizeof magic_) != 0) return reject("not a cached program (bad magic)");
    std::vector<unsigned char> program(file.begin() + sizeof magic_ + 32, file.end());
    const Sha256Digest d = sha256(std::span(program.data(), program.size()));
    if (std::memcmp(d.data(), file.data() + sizeof magic_, 32) != 0) return reject("checksum mismatch (corrupt)");
    return program;
}

bool ProgramCache::store(const std::string& path, const std::vector<unsigned char>& program, std::string* problem) const {
    if (dir_.empty() || program.empty()) return false;
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        if (problem != nullptr) *problem = "cannot create " + dir_ + ": " + ec.message();
        return false;
    }
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        const Sha256Digest d = sha256(std::span(program.data(), program.size()));
        out.write(magic_, sizeof magic_);
        out.write(reinterpret_cast<const char*>(d.data()), 32);
        out.write(reinterpret_cast<const char*>(program.data()), static_cast<std::streamsize>(program.size()));
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

}  // namespace otedama::common
