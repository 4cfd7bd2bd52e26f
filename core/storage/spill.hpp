// The spill file: where accepted shares go when the database cannot take them (disk full, locked,
// I/O error), so that a share can still be acknowledged only once it is durable.
//
// Format: an 8-byte magic "OTDSPL01", then records, each
//   u32 length (little endian) | u32 CRC-32 (IEEE 802.3, of the payload) | payload (length bytes)
// The payload is one ShareRecord (see encode_share). A record is appended with write() and made
// durable with fdatasync() before append() returns. Reading stops at the first record that is short
// or fails its CRC: a torn tail from a crash mid-append (never acknowledged, since the sync had not
// returned). Replay into the database is idempotent because a share's hash is its unique key there.
//
// Thread contract: one thread at a time (the committer's).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "storage/storage.hpp"

namespace otedama::storage {

/// CRC-32 as in IEEE 802.3 / zlib (reflected, polynomial 0xEDB88320, init and final xor 0xFFFFFFFF).
[[nodiscard]] std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

/// The payload of one spill record. decode_share returns false for a malformed payload.
[[nodiscard]] std::vector<std::uint8_t> encode_share(const ShareRecord& share);
[[nodiscard]] bool decode_share(std::span<const std::uint8_t> payload, ShareRecord& out);

class SpillFile {
public:
    /// Remembers the path; nothing is opened until the first append or read.
    explicit SpillFile(std::string path);
    ~SpillFile();
    SpillFile(const SpillFile&) = delete;
    SpillFile& operator=(const SpillFile&) = delete;

    struct ReadResult {
        std::vector<ShareRecord> shares;
        std::uint64_t valid_bytes = 0;      ///< the magic plus every intact record
        std::uint64_t discarded_bytes = 0;  ///< a torn or corrupt tail after them
    };
    /// Every intact record in the file (none when it does not exist). @throws std::system_error when
    /// the file exists but cannot be read, std::runtime_error for a file that is not a spill file.
    [[nodiscard]] ReadResult read() const;

    /// Appends the shares and syncs them to disk. Truncates a torn tail first (the first append after
    /// opening). @throws std::system_error; then none of the shares may be acknowledged.
    void append(const std::vector<ShareRecord>& shares);

    /// Empties the file (after its records are committed to the database) and syncs that.
    void clear();

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    void open_for_append();

    std::string path_;
    int fd_ = -1;
};

}  // namespace otedama::storage
