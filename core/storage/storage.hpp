// The host's ledger: shares, blocks and the audit log in one SQLite file.
//
// Thread contract: [any]. Every member locks; calls from several threads are serialized.
// Durability: when record_share(), record_block() or audit() returns, the row is committed and on
// disk (WAL, synchronous=FULL): it survives the process being killed at any later point.
// Errors: storage::Error (see database.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/database.hpp"

namespace otedama::storage {

struct ShareRecord {
    std::int64_t id = 0;             ///< Row id: set when read back; ignored by record_share().
    std::int64_t created_at_ms = 0;  ///< Unix time in milliseconds.
    std::string coin;
    std::string algorithm;
    std::int64_t job_id = 0;
    std::string worker;
    std::string account;
    double difficulty = 0;        ///< The target difficulty the share was accepted against.
    double share_difficulty = 0;  ///< The difficulty the hash actually reached.
    bool is_block = false;
    std::vector<std::uint8_t> hash;

    friend bool operator==(const ShareRecord&, const ShareRecord&) = default;
};

enum class BlockStatus { pending, confirmed, orphaned };

/// "pending", "confirmed", "orphaned": the names stored in blocks.status.
[[nodiscard]] std::string_view to_string(BlockStatus status) noexcept;

struct BlockRecord {
    std::int64_t id = 0;  ///< Row id: set when read back; ignored by record_block().
    std::string coin;
    std::int64_t height = 0;
    std::vector<std::uint8_t> hash;  ///< Unique across all blocks.
    std::int64_t reward = 0;         ///< In the coin's atomic units; never negative.
    std::string finder;
    BlockStatus status = BlockStatus::pending;
    std::int64_t confirmations = 0;
    std::int64_t found_at_ms = 0;  ///< Unix time in milliseconds.

    friend bool operator==(const BlockRecord&, const BlockRecord&) = default;
};

class Storage {
public:
    /// Opens or creates the database at `path` (or ":memory:") and applies the host's migrations.
    /// @throws SchemaTooNewError for a database from a newer release; Error for anything else.
    [[nodiscard]] static Storage open(const std::string& path);

    ~Storage();
    Storage(Storage&&) noexcept;
    Storage& operator=(Storage&&) noexcept;

    /// Commits one share. @return its row id. @throws Error (a constraint names the column).
    std::int64_t record_share(const ShareRecord& share);
    /// Commits one block. @return its row id. @throws Error; SQLITE_CONSTRAINT_UNIQUE for a hash
    /// already recorded.
    std::int64_t record_block(const BlockRecord& block);
    /// Appends to the audit log, stamped with the current time. Rows can never change afterwards.
    void audit(std::string_view actor, std::string_view action, std::string_view detail);

    [[nodiscard]] std::int64_t count_shares();
    /// Up to `limit` shares, newest first.
    [[nodiscard]] std::vector<ShareRecord> recent_shares(std::size_t limit);

    /// Readiness probe: can a write transaction start now (BEGIN IMMEDIATE; ROLLBACK)?
    /// Waits at most `max_wait` for a lock another process holds. Never throws.
    [[nodiscard]] bool writable(std::chrono::milliseconds max_wait = std::chrono::milliseconds(500)) noexcept;

    [[nodiscard]] int schema_version();
    [[nodiscard]] std::string path() const;

private:
    struct Impl;
    explicit Storage(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace otedama::storage
