#include "storage/spill.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace otedama::storage {
namespace {

constexpr std::array<std::uint8_t, 8> kMagic{'O', 'T', 'D', 'S', 'P', 'L', '0', '1'};
constexpr std::uint8_t kPayloadVersion = 1;
/// A record longer than this is corrupt (a share is a few hundred bytes).
constexpr std::uint32_t kMaxPayload = 1u << 20;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t n = 0; n < 256; ++n) {
        std::uint32_t c = n;
        for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    return table;
}
constexpr auto kCrcTable = make_crc_table();

[[noreturn]] void throw_errno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
}
void put_text(std::vector<std::uint8_t>& out, const std::string& text) {
    put_bytes(out, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

std::uint32_t get_u32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
    bool u8(std::uint8_t& v) {
        if (data_.size() - pos_ < 1) return false;
        v = data_[pos_++];
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (data_.size() - pos_ < 4) return false;
        v = get_u32(data_.data() + pos_);
        pos_ += 4;
        return true;
    }
    bool u64(std::uint64_t& v) {
        std::uint32_t lo = 0, hi = 0;
        if (!u32(lo) || !u32(hi)) return false;
        v = static_cast<std::uint64_t>(hi) << 32 | lo;
        return true;
    }
    bool bytes(std::vector<std::uint8_t>& v) {
        std::uint32_t n = 0;
        if (!u32(n) || data_.size() - pos_ < n) return false;
        v.assign(data_.begin() + static_cast<std::ptrdiff_t>(pos_), data_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
        pos_ += n;
        return true;
    }
    bool text(std::string& v) {
        std::vector<std::uint8_t> b;
        if (!bytes(b)) return false;
        v.assign(b.begin(), b.end());
        return true;
    }
    [[nodiscard]] bool done() const { return pos_ == data_.size(); }

private:
    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
};

void write_all(int fd, const std::uint8_t* data, std::size_t size, const std::string& path) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("spill file " + path + ": write");
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
    crc = ~crc;
    for (const std::uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

std::vector<std::uint8_t> encode_share(const ShareRecord& s) {
    std::vector<std::uint8_t> out;
    out.reserve(128 + s.hash.size() + s.worker.size() + s.account.size());
    out.push_back(kPayloadVersion);
    put_u64(out, static_cast<std::uint64_t>(s.created_at_ms));
    put_text(out, s.coin);
    put_text(out, s.algorithm);
    put_u64(out, static_cast<std::uint64_t>(s.job_id));
    put_text(out, s.worker);
    put_text(out, s.account);
    put_u64(out, std::bit_cast<std::uint64_t>(s.difficulty));
    put_u64(out, std::bit_cast<std::uint64_t>(s.share_difficulty));
    put_u64(out, std::bit_cast<std::uint64_t>(s.network_difficulty));
    out.push_back(s.is_block ? 1 : 0);
    put_bytes(out, s.hash);
    put_u64(out, static_cast<std::uint64_t>(s.block_reward));
    put_u64(out, static_cast<std::uint64_t>(s.tx_fees));
    return out;
}

bool decode_share(std::span<const std::uint8_t> payload, ShareRecord& s) {
    Reader r(payload);
    std::uint8_t version = 0, is_block = 0;
    std::uint64_t created = 0, job = 0, diff = 0, share_diff = 0, net_diff = 0, reward = 0, fees = 0;
    if (!r.u8(version) || version != kPayloadVersion) return false;
    if (!r.u64(created) || !r.text(s.coin) || !r.text(s.algorithm) || !r.u64(job) || !r.text(s.worker) ||
        !r.text(s.account) || !r.u64(diff) || !r.u64(share_diff) || !r.u64(net_diff) || !r.u8(is_block) ||
        !r.bytes(s.hash) || !r.u64(reward) || !r.u64(fees) || !r.done() || is_block > 1) {
        return false;
    }
    s.id = 0;
    s.created_at_ms = static_cast<std::int64_t>(created);
    s.job_id = static_cast<std::int64_t>(job);
    s.difficulty = std::bit_cast<double>(diff);
    s.share_difficulty = std::bit_cast<double>(share_diff);
    s.network_difficulty = std::bit_cast<double>(net_diff);
    s.is_block = is_block != 0;
    s.block_reward = static_cast<std::int64_t>(reward);
    s.tx_fees = static_cast<std::int64_t>(fees);
    return true;
}

SpillFile::SpillFile(std::string path) : path_(std::move(path)) {}

SpillFile::~SpillFile() {
    if (fd_ >= 0) ::close(fd_);
}

SpillFile::ReadResult SpillFile::read() const {
    ReadResult result;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return result;
        throw_errno("spill file " + path_ + ": open");
    }
    std::vector<std::uint8_t> data;
    std::array<std::uint8_t, 65536> buf{};
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd);
            errno = e;
            throw_errno("spill file " + path_ + ": read");
        }
        if (n == 0) break;
        data.insert(data.end(), buf.begin(), buf.begin() + n);
    }
    ::close(fd);
    if (data.empty()) return result;
    if (data.size() < kMagic.size()) {
        // A crash while the magic itself was written: nothing in it was acknowledged.
        result.discarded_bytes = data.size();
        return result;
    }
    if (!std::equal(kMagic.begin(), kMagic.end(), data.begin())) {
        throw std::runtime_error("spill file " + path_ + " does not start with the spill file magic; refusing to use it");
    }
    std::size_t pos = kMagic.size();
    while (data.size() - pos >= 8) {
        const std::uint32_t length = get_u32(data.data() + pos);
        const std::uint32_t crc = get_u32(data.data() + pos + 4);
        if (length > kMaxPayload || data.size() - pos - 8 < length) break;
        const std::span<const std::uint8_t> payload(data.data() + pos + 8, length);
        if (crc32(payload) != crc) break;
        ShareRecord share;
        if (!decode_share(payload, share)) break;
        result.shares.push_back(std::move(share));
        pos += 8 + length;
    }
    result.valid_bytes = pos;
    result.discarded_bytes = data.size() - pos;
    return result;
}

void SpillFile::open_for_append() {
    const bool existed = std::filesystem::exists(path_);
    // Cut a torn tail first, so that new records follow the last intact one.
    const ReadResult current = read();
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw_errno("spill file " + path_ + ": open");
    if (current.valid_bytes < kMagic.size()) {
        if (::ftruncate(fd_, 0) != 0) throw_errno("spill file " + path_ + ": truncate");
        if (::lseek(fd_, 0, SEEK_SET) < 0) throw_errno("spill file " + path_ + ": seek");
        write_all(fd_, kMagic.data(), kMagic.size(), path_);
    } else {
        if (::ftruncate(fd_, static_cast<off_t>(current.valid_bytes)) != 0) throw_errno("spill file " + path_ + ": truncate");
        if (::lseek(fd_, 0, SEEK_END) < 0) throw_errno("spill file " + path_ + ": seek");
    }
    if (::fdatasync(fd_) != 0) throw_errno("spill file " + path_ + ": fdatasync");
    if (!existed) {
        // The new file's directory entry must be durable too.
        const std::string dir = std::filesystem::path(path_).parent_path().empty()
                                    ? std::string(".")
                                    : std::filesystem::path(path_).parent_path().string();
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) throw_errno("spill file directory " + dir + ": open");
        const int rc = ::fsync(dfd);
        ::close(dfd);
        if (rc != 0) throw_errno("spill file directory " + dir + ": fsync");
    }
}

void SpillFile::append(const std::vector<ShareRecord>& shares) {
    if (shares.empty()) return;
    if (fd_ < 0) open_for_append();
    std::vector<std::uint8_t> out;
    for (const ShareRecord& s : shares) {
        const std::vector<std::uint8_t> payload = encode_share(s);
        put_u32(out, static_cast<std::uint32_t>(payload.size()));
        put_u32(out, crc32(payload));
        out.insert(out.end(), payload.begin(), payload.end());
    }
    const off_t start = ::lseek(fd_, 0, SEEK_END);
    try {
        write_all(fd_, out.data(), out.size(), path_);
        if (::fdatasync(fd_) != 0) throw_errno("spill file " + path_ + ": fdatasync");
    } catch (...) {
        // Leave no half batch behind for a later append to follow (reading would stop at it).
        if (start >= 0 && ::ftruncate(fd_, start) == 0) (void)::fdatasync(fd_);
        ::close(fd_);
        fd_ = -1;
        throw;
    }
}

void SpillFile::clear() {
    if (fd_ < 0) {
        if (!std::filesystem::exists(path_)) return;
        open_for_append();
    }
    if (::ftruncate(fd_, static_cast<off_t>(kMagic.size())) != 0) throw_errno("spill file " + path_ + ": truncate");
    if (::lseek(fd_, 0, SEEK_END) < 0) throw_errno("spill file " + path_ + ": seek");
    if (::fdatasync(fd_) != 0) throw_errno("spill file " + path_ + ": fdatasync");
}

}  // namespace otedama::storage
