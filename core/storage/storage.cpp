#include "storage/storage.hpp"

#include <algorithm>
#include <limits>
#include <mutex>
#include <utility>

#include <sqlite3.h>

#include "log/log.hpp"
#include "storage/migrate.hpp"
#include "storage/migrations.hpp"

namespace otedama::storage {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Resets a cached statement on every way out of a call, so that no read stays open and the next
/// call starts from clean bindings.
class ResetOnExit {
public:
    explicit ResetOnExit(Statement& stmt) : stmt_(stmt) {}
    ~ResetOnExit() { stmt_.reset(); }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

private:
    Statement& stmt_;
};

}  // namespace

std::string_view to_string(BlockStatus status) noexcept {
    switch (status) {
        case BlockStatus::pending: return "pending";
        case BlockStatus::confirmed: return "confirmed";
        case BlockStatus::orphaned: return "orphaned";
    }
    return "pending";
}

// The statements on the hot path are compiled once. Declared after `db`, so destroyed before it.
struct Storage::Impl {
    std::mutex mutex;
    Database db;
    Statement insert_share;
    Statement insert_block;
    Statement insert_audit;
    Statement count_shares;
    Statement recent_shares;

    explicit Impl(Database opened)
        : db(std::move(opened)),
          insert_share(db.prepare(
              "INSERT INTO shares (created_at_ms, coin, algorithm, job_id, worker, account, difficulty,"
              " share_difficulty, is_block, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
          insert_block(db.prepare(
              "INSERT INTO blocks (coin, height, hash, reward, finder, status, confirmations, found_at_ms)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")),
          insert_audit(db.prepare("INSERT INTO audit_log (at_ms, actor, action, detail) VALUES (?, ?, ?, ?)")),
          count_shares(db.prepare("SELECT COUNT(*) FROM shares")),
          recent_shares(db.prepare(
              "SELECT id, created_at_ms, coin, algorithm, job_id, worker, account, difficulty,"
              " share_difficulty, is_block, hash FROM shares ORDER BY id DESC LIMIT ?")) {}
};

Storage::Storage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Storage::~Storage() = default;
Storage::Storage(Storage&&) noexcept = default;
Storage& Storage::operator=(Storage&&) noexcept = default;

Storage Storage::open(const std::string& path) {
    Database db(path);
    migrate(db, host_migrations());
    auto impl = std::make_unique<Impl>(std::move(db));
    log::get("storage")->info("opened {} (schema version {}, journal {})", path, storage::schema_version(impl->db),
                              impl->db.journal_mode());
    return Storage(std::move(impl));
}

std::int64_t Storage::record_share(const ShareRecord& share) {
    const std::lock_guard lock(impl_->mutex);
    Statement& stmt = impl_->insert_share;
    const ResetOnExit reset(stmt);
    stmt.bind_int64(1, share.created_at_ms)
        .bind_text(2, share.coin)
        .bind_text(3, share.algorithm)
        .bind_int64(4, share.job_id)
        .bind_text(5, share.worker)
        .bind_text(6, share.account)
        .bind_double(7, share.difficulty)
        .bind_double(8, share.share_difficulty)
        .bind_int64(9, share.is_block ? 1 : 0)
        .bind_blob(10, share.hash);
    // A single INSERT in autocommit mode is its own transaction, committed (and synced) on return.
    stmt.run();
    return impl_->db.last_insert_rowid();
}

std::int64_t Storage::record_block(const BlockRecord& block) {
    const std::lock_guard lock(impl_->mutex);
    Statement& stmt = impl_->insert_block;
    const ResetOnExit reset(stmt);
    stmt.bind_text(1, block.coin)
        .bind_int64(2, block.height)
        .bind_blob(3, block.hash)
        .bind_int64(4, block.reward)
        .bind_text(5, block.finder)
        .bind_text(6, to_string(block.status))
        .bind_int64(7, block.confirmations)
        .bind_int64(8, block.found_at_ms);
    stmt.run();
    return impl_->db.last_insert_rowid();
}

void Storage::audit(std::string_view actor, std::string_view action, std::string_view detail) {
    const std::lock_guard lock(impl_->mutex);
    Statement& stmt = impl_->insert_audit;
    const ResetOnExit reset(stmt);
    stmt.bind_int64(1, now_ms()).bind_text(2, actor).bind_text(3, action).bind_text(4, detail);
    stmt.run();
}

std::int64_t Storage::count_shares() {
    const std::lock_guard lock(impl_->mutex);
    Statement& stmt = impl_->count_shares;
    const ResetOnExit reset(stmt);
    if (!stmt.step()) throw Error(SQLITE_ERROR, "COUNT returned no row", stmt.sql());
    return stmt.column_int64(0);
}

std::vector<ShareRecord> Storage::recent_shares(std::size_t limit) {
    const std::lock_guard lock(impl_->mutex);
    Statement& stmt = impl_->recent_shares;
    const ResetOnExit reset(stmt);
    constexpr auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    stmt.bind_int64(1, static_cast<std::int64_t>(limit < max_limit ? limit : max_limit));
    std::vector<ShareRecord> shares;
    while (stmt.step()) {
        ShareRecord& s = shares.emplace_back();
        s.id = stmt.column_int64(0);
        s.created_at_ms = stmt.column_int64(1);
        s.coin = stmt.column_text(2);
        s.algorithm = stmt.column_text(3);
        s.job_id = stmt.column_int64(4);
        s.worker = stmt.column_text(5);
        s.account = stmt.column_text(6);
        s.difficulty = stmt.column_double(7);
        s.share_difficulty = stmt.column_double(8);
        s.is_block = stmt.column_int64(9) != 0;
        s.hash = stmt.column_blob(10);
    }
    return shares;
}

bool Storage::writable(std::chrono::milliseconds max_wait) noexcept {
    try {
        const std::lock_guard lock(impl_->mutex);
        Database& db = impl_->db;
        const auto wait = static_cast<int>(std::min<std::chrono::milliseconds::rep>(
            max_wait.count() < 0 ? 0 : max_wait.count(), std::numeric_limits<int>::max()));
        db.set_busy_timeout(wait);
        bool ok = false;
        try {
            Transaction probe(db);  // rolled back when it goes out of scope
            ok = true;
        } catch (const Error&) {
            ok = false;
        }
        db.set_busy_timeout(Database::default_busy_timeout_ms);
        return ok;
    } catch (...) {
        return false;
    }
}

int Storage::schema_version() {
    const std::lock_guard lock(impl_->mutex);
    return storage::schema_version(impl_->db);
}

std::string Storage::path() const { return impl_->db.path(); }

}  // namespace otedama::storage
