#include "storage/storage.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
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

BlockStatus status_from(std::string_view text) {
    if (text == "confirmed") return BlockStatus::confirmed;
    if (text == "orphaned") return BlockStatus::orphaned;
    return BlockStatus::pending;
}

constexpr const char* block_columns =
    "id, coin, height, hash, reward, finder, status, confirmations, found_at_ms, tx_fees, network_weight,"
    " COALESCE(round_id, 0), COALESCE(credited_at_ms, 0), COALESCE(scheme, '')";

BlockRecord read_block(const Statement& stmt) {
    BlockRecord b;
    b.id = stmt.column_int64(0);
    b.coin = stmt.column_text(1);
    b.height = stmt.column_int64(2);
    b.hash = stmt.column_blob(3);
    b.reward = stmt.column_int64(4);
    b.finder = stmt.column_text(5);
    b.status = status_from(stmt.column_text(6));
    b.confirmations = stmt.column_int64(7);
    b.found_at_ms = stmt.column_int64(8);
    b.tx_fees = stmt.column_int64(9);
    b.network_weight = stmt.column_int64(10);
    b.round_id = stmt.column_int64(11);
    b.credited_at_ms = stmt.column_int64(12);
    b.scheme = stmt.column_text(13);
    return b;
}

std::int64_t clamp_limit(std::size_t limit) {
    constexpr auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(limit < max_limit ? limit : max_limit);
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, std::string_view what) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw Error(SQLITE_ERROR, std::string(what) + ": amount overflows 64 bits");
    return r;
}

struct CreditableBlock {
    std::string coin;
    std::int64_t reward = 0;
};

/// The block `block_id` that `caller` is about to credit: std::nullopt when it was credited already (so the
/// caller does nothing); throws when there is no such block or it is not confirmed.
std::optional<CreditableBlock> creditable_block(Database& db, std::int64_t block_id, std::string_view caller) {
    Statement find = db.prepare("SELECT coin, reward, status, credited_at_ms IS NOT NULL FROM blocks WHERE id = ?");
    find.bind_int64(1, block_id);
    if (!find.step()) throw Error(SQLITE_ERROR, std::string(caller) + ": no block with id " + std::to_string(block_id));
    CreditableBlock block{find.column_text(0), find.column_int64(1)};
    const std::string status = find.column_text(2);
    const bool credited = find.column_int64(3) != 0;
    find.reset();
    if (credited) return std::nullopt;
    if (status != "confirmed") {
        throw Error(SQLITE_ERROR, std::string(caller) + ": block " + std::to_string(block_id) + " is " + status + ", not confirmed");
    }
    return block;
}

}  // namespace

std::int64_t weight_of(double difficulty) noexcept {
    if (!(difficulty > 0)) return 0;  // also NaN
    const double w = std::round(difficulty * static_cast<double>(weight_per_difficulty));
    if (!(w < 9.2e18)) return std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(w);
}

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
    int busy_timeout_ms = Database::default_busy_timeout_ms;
    Statement insert_share;
    Statement open_round;
    Statement new_round;
    Statement add_to_round;
    Statement insert_block;
    Statement insert_audit;
    Statement count_shares;
    Statement recent_shares;

    explicit Impl(Database opened)
        : db(std::move(opened)),
          // The share's hash is its key: a second insert of the same share changes nothing.
          insert_share(db.prepare(
              "INSERT INTO shares (created_at_ms, coin, algorithm, job_id, worker, account, difficulty,"
              " share_difficulty, is_block, hash, share_key, weight, network_weight, block_reward, tx_fees)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14)"
              " ON CONFLICT (share_key) DO NOTHING")),
          open_round(db.prepare("SELECT id FROM rounds WHERE coin = ? AND closed_at_ms IS NULL")),
          new_round(db.prepare("INSERT INTO rounds (coin, opened_at_ms) VALUES (?, ?)")),
          add_to_round(db.prepare(
              "INSERT INTO round_workers (round_id, worker, account, shares, weight, first_at_ms, last_at_ms)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (round_id, worker, account) DO UPDATE SET"
              " shares = shares + excluded.shares, weight = weight + excluded.weight,"
              " first_at_ms = min(first_at_ms, excluded.first_at_ms), last_at_ms = max(last_at_ms, excluded.last_at_ms)")),
          insert_block(db.prepare(
              "INSERT INTO blocks (coin, height, hash, reward, finder, status, confirmations, found_at_ms,"
              " tx_fees, network_weight, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
          insert_audit(db.prepare("INSERT INTO audit_log (at_ms, actor, action, detail) VALUES (?, ?, ?, ?)")),
          count_shares(db.prepare("SELECT COUNT(*) FROM shares")),
          recent_shares(db.prepare(
              "SELECT id, created_at_ms, coin, algorithm, job_id, worker, account, difficulty,"
              " share_difficulty, is_block, hash, network_weight, block_reward, tx_fees FROM shares ORDER BY id DESC LIMIT ?")) {}

    /// [locked, in a transaction] The open round of `coin`, opened now if there is none.
    std::int64_t round_of(const std::string& coin, std::int64_t at_ms) {
        {
            const ResetOnExit reset(open_round);
            open_round.bind_text(1, coin);
            if (open_round.step()) return open_round.column_int64(0);
        }
        const ResetOnExit reset(new_round);
        new_round.bind_text(1, coin).bind_int64(2, at_ms);
        new_round.run();
        return db.last_insert_rowid();
    }

    /// [locked, in a transaction] Appends an audit_log row.
    void audit(std::string_view actor, std::string_view action, std::string_view detail) {
        const ResetOnExit reset(insert_audit);
        insert_audit.bind_int64(1, now_ms()).bind_text(2, actor).bind_text(3, action).bind_text(4, detail);
        insert_audit.run();
    }

    /// [locked, in a transaction] Inserts the shares and adds the new ones to their rounds.
    BatchResult insert_shares(const std::vector<ShareRecord>& shares, std::int64_t* last_rowid) {
        BatchResult result;
        struct Sum {
            std::int64_t shares = 0, weight = 0, first = std::numeric_limits<std::int64_t>::max(), last = 0;
        };
        std::map<std::tuple<std::string, std::string, std::string>, Sum> sums;  // (coin, worker, account)
        for (const ShareRecord& share : shares) {
            const std::int64_t weight = weight_of(share.difficulty);
            {
                const ResetOnExit reset(insert_share);
                insert_share.bind_int64(1, share.created_at_ms)
                    .bind_text(2, share.coin)
                    .bind_text(3, share.algorithm)
                    .bind_int64(4, share.job_id)
                    .bind_text(5, share.worker)
                    .bind_text(6, share.account)
                    .bind_double(7, share.difficulty)
                    .bind_double(8, share.share_difficulty)
                    .bind_int64(9, share.is_block ? 1 : 0)
                    .bind_blob(10, share.hash)
                    .bind_int64(11, weight)
                    .bind_int64(12, weight_of(share.network_difficulty))
                    .bind_int64(13, share.block_reward)
                    .bind_int64(14, share.tx_fees);
                insert_share.run();
            }
            if (db.changes() == 0) {
                ++result.duplicates;
                continue;
            }
            ++result.inserted;
            if (last_rowid != nullptr) *last_rowid = db.last_insert_rowid();
            Sum& sum = sums[{share.coin, share.worker, share.account}];
            ++sum.shares;
            sum.weight = checked_add(sum.weight, weight, "round weight");
            sum.first = std::min(sum.first, share.created_at_ms);
            sum.last = std::max(sum.last, share.created_at_ms);
        }
        std::map<std::string, std::int64_t> rounds;
        for (const auto& [key, sum] : sums) {
            const auto& [coin, worker, account] = key;
            auto it = rounds.find(coin);
            if (it == rounds.end()) it = rounds.emplace(coin, round_of(coin, sum.first)).first;
            const ResetOnExit reset(add_to_round);
            add_to_round.bind_int64(1, it->second)
                .bind_text(2, worker)
                .bind_text(3, account)
                .bind_int64(4, sum.shares)
                .bind_int64(5, sum.weight)
                .bind_int64(6, sum.first)
                .bind_int64(7, sum.last);
            add_to_round.run();
        }
        return result;
    }
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
    Transaction tx(impl_->db);
    std::int64_t rowid = 0;
    const BatchResult r = impl_->insert_shares({share}, &rowid);
    tx.commit();
    return r.inserted == 1 ? rowid : 0;
}

BatchResult Storage::record_shares(const std::vector<ShareRecord>& shares) {
    const std::lock_guard lock(impl_->mutex);
    Transaction tx(impl_->db);
    const BatchResult r = impl_->insert_shares(shares, nullptr);
    tx.commit();
    return r;
}

std::int64_t Storage::record_block(const BlockRecord& block) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    const std::int64_t now = now_ms();
    std::int64_t id = 0;
    {
        Statement& stmt = impl_->insert_block;
        const ResetOnExit reset(stmt);
        stmt.bind_text(1, block.coin)
            .bind_int64(2, block.height)
            .bind_blob(3, block.hash)
            .bind_int64(4, block.reward)
            .bind_text(5, block.finder)
            .bind_text(6, to_string(block.status))
            .bind_int64(7, block.confirmations)
            .bind_int64(8, block.found_at_ms)
            .bind_int64(9, block.tx_fees)
            .bind_int64(10, block.network_weight)
            .bind_int64(11, now);
        stmt.run();
        id = db.last_insert_rowid();
    }
    // The block closes its coin's round: the shares since the previous block (PROP's window).
    Statement open = db.prepare("SELECT id FROM rounds WHERE coin = ? AND closed_at_ms IS NULL");
    open.bind_text(1, block.coin);
    if (open.step()) {
        const std::int64_t round = open.column_int64(0);
        open.reset();
        Statement close = db.prepare("UPDATE rounds SET closed_at_ms = ?, block_id = ? WHERE id = ?");
        close.bind_int64(1, block.found_at_ms).bind_int64(2, id).bind_int64(3, round);
        close.run();
        Statement link = db.prepare("UPDATE blocks SET round_id = ? WHERE id = ?");
        link.bind_int64(1, round).bind_int64(2, id);
        link.run();
    }
    tx.commit();
    return id;
}

bool Storage::update_block(std::span<const std::uint8_t> hash, std::int64_t confirmations, BlockStatus status) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    Statement find = db.prepare("SELECT id, status, confirmations, credited_at_ms IS NOT NULL FROM blocks WHERE hash = ?");
    find.bind_blob(1, hash);
    if (!find.step()) return false;
    const std::int64_t id = find.column_int64(0);
    const BlockStatus old_status = status_from(find.column_text(1));
    const std::int64_t old_confirmations = find.column_int64(2);
    const bool credited = find.column_int64(3) != 0;
    find.reset();
    if (credited && status != BlockStatus::confirmed) {
        throw Error(SQLITE_ERROR, "block " + std::to_string(id) + " is already credited; refusing to mark it " +
                                      std::string(to_string(status)) + " (the balances would need an adjustment)");
    }
    if (confirmations < 0) confirmations = old_confirmations;
    if (old_status == status && old_confirmations == confirmations) return true;
    Statement update = db.prepare("UPDATE blocks SET confirmations = ?, status = ?, updated_at_ms = ? WHERE id = ?");
    update.bind_int64(1, confirmations).bind_text(2, to_string(status)).bind_int64(3, now_ms()).bind_int64(4, id);
    update.run();
    if (old_status != status) {
        impl_->audit("ledger", "block." + std::string(to_string(status)),
                     "block " + std::to_string(id) + " " + std::string(to_string(old_status)) + " -> " +
                         std::string(to_string(status)) + " at " + std::to_string(confirmations) + " confirmations");
    }
    tx.commit();
    return true;
}

std::vector<BlockRecord> Storage::blocks(std::string_view coin, std::size_t limit) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(std::string("SELECT ") + block_columns +
                                       " FROM blocks WHERE ?1 = '' OR coin = ?1 ORDER BY id DESC LIMIT ?2");
    stmt.bind_text(1, coin).bind_int64(2, clamp_limit(limit));
    std::vector<BlockRecord> out;
    while (stmt.step()) out.push_back(read_block(stmt));
    return out;
}

std::vector<BlockRecord> Storage::blocks_to_credit() {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(std::string("SELECT ") + block_columns +
                                       " FROM blocks WHERE status = 'confirmed' AND credited_at_ms IS NULL ORDER BY id");
    std::vector<BlockRecord> out;
    while (stmt.step()) out.push_back(read_block(stmt));
    return out;
}

bool Storage::credit_block(std::int64_t block_id, std::string_view scheme, const std::vector<Credit>& credits) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    const auto block = creditable_block(db, block_id, "credit_block");
    if (!block) return false;
    const std::string& coin = block->coin;
    const std::int64_t reward = block->reward;
    std::int64_t sum = 0;
    for (const Credit& c : credits) {
        if (c.amount <= 0 || c.account.empty()) {
            throw Error(SQLITE_ERROR, "credit_block: a credit to '" + c.account + "' of " + std::to_string(c.amount) +
                                          " (credits are positive, to a named account)");
        }
        sum = checked_add(sum, c.amount, "credit_block");
    }
    if (sum != reward) {
        throw Error(SQLITE_ERROR, "credit_block: credits sum to " + std::to_string(sum) + ", block " +
                                      std::to_string(block_id) + " pays " + std::to_string(reward) + "; nothing applied");
    }
    const std::int64_t now = now_ms();
    Statement insert_credit = db.prepare(
        "INSERT INTO credits (coin, account, amount, is_fee, scheme, block_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
    Statement upsert_balance = db.prepare(
        "INSERT INTO balances (coin, account, amount, updated_at_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (coin, account) DO UPDATE SET amount = amount + excluded.amount, updated_at_ms = excluded.updated_at_ms"
        " RETURNING amount");
    Statement insert_change = db.prepare(
        "INSERT INTO balance_changes (at_ms, coin, account, delta, balance_after, cause, block_id, credit_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const Credit& c : credits) {
        insert_credit.bind_text(1, coin).bind_text(2, c.account).bind_int64(3, c.amount).bind_int64(4, c.is_fee ? 1 : 0);
        insert_credit.bind_text(5, scheme).bind_int64(6, block_id).bind_int64(7, now);
        insert_credit.run();
        insert_credit.reset();
        const std::int64_t credit_id = db.last_insert_rowid();
        upsert_balance.bind_text(1, coin).bind_text(2, c.account).bind_int64(3, c.amount).bind_int64(4, now);
        if (!upsert_balance.step()) throw Error(SQLITE_ERROR, "balance upsert returned no row", upsert_balance.sql());
        const std::int64_t after = upsert_balance.column_int64(0);
        upsert_balance.reset();
        insert_change.bind_int64(1, now).bind_text(2, coin).bind_text(3, c.account).bind_int64(4, c.amount);
        insert_change.bind_int64(5, after).bind_text(6, c.is_fee ? "pool_fee" : "block_credit").bind_int64(7, block_id);
        insert_change.bind_int64(8, credit_id).bind_text(9, std::string(scheme) + " block " + std::to_string(block_id));
        insert_change.run();
        insert_change.reset();
    }
    Statement mark = db.prepare("UPDATE blocks SET credited_at_ms = ?, scheme = ?, updated_at_ms = ? WHERE id = ?");
    mark.bind_int64(1, now).bind_text(2, scheme).bind_int64(3, now).bind_int64(4, block_id);
    mark.run();
    impl_->audit("ledger", "block.credited",
                 "block " + std::to_string(block_id) + " " + coin + " reward " + std::to_string(reward) + " by " +
                     std::string(scheme) + " to " + std::to_string(credits.size()) + " credit(s)");
    tx.commit();
    return true;
}

std::vector<WindowShare> Storage::shares_between(std::string_view coin, std::int64_t from_ms, std::int64_t to_ms) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(
        "SELECT id, account, weight, network_weight, created_at_ms FROM shares"
        " WHERE coin = ? AND created_at_ms BETWEEN ? AND ? ORDER BY created_at_ms, id");
    stmt.bind_text(1, coin).bind_int64(2, from_ms).bind_int64(3, to_ms);
    std::vector<WindowShare> out;
    while (stmt.step()) {
        out.push_back({stmt.column_int64(0), stmt.column_text(1), stmt.column_int64(2), stmt.column_int64(3),
                       stmt.column_int64(4)});
    }
    return out;
}

std::vector<WindowShare> Storage::last_shares_by_weight(std::string_view coin, std::int64_t to_ms, std::int64_t total_weight) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(
        "SELECT id, account, weight, network_weight, created_at_ms FROM shares"
        " WHERE coin = ? AND created_at_ms <= ? ORDER BY created_at_ms DESC, id DESC");
    stmt.bind_text(1, coin).bind_int64(2, to_ms);
    std::vector<WindowShare> out;
    std::int64_t sum = 0;
    while (sum < total_weight && stmt.step()) {
        out.push_back({stmt.column_int64(0), stmt.column_text(1), stmt.column_int64(2), stmt.column_int64(3),
                       stmt.column_int64(4)});
        sum = checked_add(sum, out.back().weight, "window weight");
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<RoundWorkerRow> Storage::round_workers(std::int64_t round_id) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(
        "SELECT round_id, worker, account, shares, weight, first_at_ms, last_at_ms FROM round_workers"
        " WHERE round_id = ? ORDER BY first_at_ms, worker, account");
    stmt.bind_int64(1, round_id);
    std::vector<RoundWorkerRow> out;
    while (stmt.step()) {
        out.push_back({stmt.column_int64(0), stmt.column_text(1), stmt.column_text(2), stmt.column_int64(3),
                       stmt.column_int64(4), stmt.column_int64(5), stmt.column_int64(6)});
    }
    return out;
}

std::int64_t Storage::prune_shares(std::int64_t now_ms_, std::int64_t keep_ms, std::int64_t max_id, std::string_view coin) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    std::int64_t cutoff = now_ms_ - keep_ms;
    Statement oldest = db.prepare(
        "SELECT MIN(found_at_ms) FROM blocks WHERE credited_at_ms IS NULL AND status <> 'orphaned'");
    if (oldest.step() && !oldest.column_is_null(0)) cutoff = std::min(cutoff, oldest.column_int64(0) - keep_ms);
    oldest.reset();
    Statement del = db.prepare("DELETE FROM shares WHERE created_at_ms < ?1 AND id <= ?2 AND (IFNULL(?3, '') = '' OR coin = ?3)");
    del.bind_int64(1, cutoff).bind_int64(2, max_id).bind_text(3, coin);
    del.run();
    const std::int64_t deleted = db.changes();
    tx.commit();
    return deleted;
}

std::vector<BalanceRow> Storage::balances(std::string_view coin) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(
        "SELECT coin, account, amount, updated_at_ms FROM balances WHERE ?1 = '' OR coin = ?1"
        " ORDER BY amount DESC, coin, account");
    stmt.bind_text(1, coin);
    std::vector<BalanceRow> out;
    while (stmt.step()) out.push_back({stmt.column_text(0), stmt.column_text(1), stmt.column_int64(2), stmt.column_int64(3)});
    return out;
}

std::vector<PaymentRow> Storage::payments(std::string_view coin, std::size_t limit) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(
        "SELECT id, coin, account, amount, idempotency_key, status, COALESCE(txid, ''), COALESCE(error, ''),"
        " created_at_ms, updated_at_ms FROM payments WHERE ?1 = '' OR coin = ?1 ORDER BY id DESC LIMIT ?2");
    stmt.bind_text(1, coin).bind_int64(2, clamp_limit(limit));
    std::vector<PaymentRow> out;
    while (stmt.step()) {
        out.push_back({stmt.column_int64(0), stmt.column_text(1), stmt.column_text(2), stmt.column_int64(3),
                       stmt.column_text(4), stmt.column_text(5), stmt.column_text(6), stmt.column_text(7),
                       stmt.column_int64(8), stmt.column_int64(9)});
    }
    return out;
}

std::int64_t Storage::balance_change_sum(std::string_view coin, std::string_view account) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare("SELECT COALESCE(SUM(delta), 0) FROM balance_changes WHERE coin = ? AND account = ?");
    stmt.bind_text(1, coin).bind_text(2, account);
    if (!stmt.step()) throw Error(SQLITE_ERROR, "SUM returned no row", stmt.sql());
    return stmt.column_int64(0);
}

std::int64_t Storage::advance_confirmations(std::string_view coin, std::int64_t next_height, std::int64_t required) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    const std::int64_t now = now_ms();
    Statement pending = db.prepare("SELECT id, height, confirmations FROM blocks WHERE coin = ? AND status = 'pending'");
    pending.bind_text(1, coin);
    struct Row {
        std::int64_t id, height, confirmations;
    };
    std::vector<Row> rows;
    while (pending.step()) rows.push_back({pending.column_int64(0), pending.column_int64(1), pending.column_int64(2)});
    pending.reset();
    std::int64_t confirmed = 0;
    Statement update = db.prepare("UPDATE blocks SET confirmations = ?, status = ?, updated_at_ms = ? WHERE id = ?");
    for (const Row& r : rows) {
        const std::int64_t c = std::max<std::int64_t>(0, next_height - r.height);
        if (c == r.confirmations) continue;
        const bool now_confirmed = c >= required;
        update.bind_int64(1, c).bind_text(2, now_confirmed ? "confirmed" : "pending").bind_int64(3, now).bind_int64(4, r.id);
        update.run();
        update.reset();
        if (now_confirmed) {
            ++confirmed;
            impl_->audit("ledger", "block.confirmed",
                         "block " + std::to_string(r.id) + " " + std::string(coin) + " height " + std::to_string(r.height) +
                             " pending -> confirmed at " + std::to_string(c) + " confirmations");
        }
    }
    tx.commit();
    return confirmed;
}

bool Storage::credit_block_to_reserve(std::int64_t block_id, std::string_view scheme) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    const auto block = creditable_block(db, block_id, "credit_block_to_reserve");
    if (!block) return false;
    const std::string& coin = block->coin;
    const std::int64_t reward = block->reward;
    const std::int64_t now = now_ms();
    Statement add = db.prepare(
        "INSERT INTO pool_reserve (coin, amount, updated_at_ms) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (coin) DO UPDATE SET amount = amount + excluded.amount, updated_at_ms = excluded.updated_at_ms"
        " RETURNING amount");
    add.bind_text(1, coin).bind_int64(2, reward).bind_int64(3, now);
    if (!add.step()) throw Error(SQLITE_ERROR, "reserve upsert returned no row", add.sql());
    const std::int64_t after = add.column_int64(0);
    add.reset();
    Statement mark = db.prepare("UPDATE blocks SET credited_at_ms = ?, scheme = ?, updated_at_ms = ? WHERE id = ?");
    mark.bind_int64(1, now).bind_text(2, scheme).bind_int64(3, now).bind_int64(4, block_id);
    mark.run();
    impl_->audit("ledger", "reserve.block",
                 "block " + std::to_string(block_id) + " " + coin + " reward " + std::to_string(reward) + " into the " +
                     std::string(scheme) + " reserve, now " + std::to_string(after));
    tx.commit();
    return true;
}

std::vector<ShareToCredit> Storage::shares_to_credit(std::string_view cursor_name, std::size_t limit, std::string_view coin) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(
        "SELECT id, coin, account, weight, network_weight, block_reward, tx_fees, created_at_ms FROM shares"
        " WHERE id > COALESCE((SELECT value FROM ledger_cursors WHERE name = ?1), 0) AND (IFNULL(?3, '') = '' OR coin = ?3) ORDER BY id LIMIT ?2");
    stmt.bind_text(1, cursor_name).bind_int64(2, clamp_limit(limit)).bind_text(3, coin);
    std::vector<ShareToCredit> out;
    while (stmt.step()) {
        out.push_back({stmt.column_int64(0), stmt.column_text(1), stmt.column_text(2), stmt.column_int64(3),
                       stmt.column_int64(4), stmt.column_int64(5), stmt.column_int64(6), stmt.column_int64(7)});
    }
    return out;
}

std::vector<std::pair<std::string, std::int64_t>> Storage::credit_shares(std::string_view cursor_name, std::string_view scheme,
                                                                         const std::vector<ShareCredits>& shares,
                                                                         std::int64_t last_share_id) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    std::int64_t position = 0;
    {
        Statement get = db.prepare("SELECT value FROM ledger_cursors WHERE name = ?");
        get.bind_text(1, cursor_name);
        if (get.step()) position = get.column_int64(0);
    }
    const std::int64_t now = now_ms();
    Statement insert_credit = db.prepare(
        "INSERT INTO credits (coin, account, amount, is_fee, scheme, share_id, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
    Statement upsert_balance = db.prepare(
        "INSERT INTO balances (coin, account, amount, updated_at_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (coin, account) DO UPDATE SET amount = amount + excluded.amount, updated_at_ms = excluded.updated_at_ms"
        " RETURNING amount");
    Statement insert_change = db.prepare(
        "INSERT INTO balance_changes (at_ms, coin, account, delta, balance_after, cause, credit_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    Statement take = db.prepare(
        "INSERT INTO pool_reserve (coin, amount, updated_at_ms) VALUES (?1, -?2, ?3)"
        " ON CONFLICT (coin) DO UPDATE SET amount = amount - ?2, updated_at_ms = excluded.updated_at_ms");
    std::map<std::string, std::int64_t> touched;
    for (const ShareCredits& s : shares) {
        if (s.share_id <= position) continue;  // credited before
        std::int64_t sum = 0;
        for (const Credit& c : s.credits) {
            if (c.amount <= 0 || c.account.empty()) throw Error(SQLITE_ERROR, "credit_shares: a credit must be positive, to a named account");
            sum = checked_add(sum, c.amount, "credit_shares");
            insert_credit.bind_text(1, s.coin).bind_text(2, c.account).bind_int64(3, c.amount).bind_int64(4, c.is_fee ? 1 : 0);
            insert_credit.bind_text(5, scheme).bind_int64(6, s.share_id).bind_int64(7, now);
            insert_credit.run();
            insert_credit.reset();
            const std::int64_t credit_id = db.last_insert_rowid();
            upsert_balance.bind_text(1, s.coin).bind_text(2, c.account).bind_int64(3, c.amount).bind_int64(4, now);
            if (!upsert_balance.step()) throw Error(SQLITE_ERROR, "balance upsert returned no row", upsert_balance.sql());
            const std::int64_t after = upsert_balance.column_int64(0);
            upsert_balance.reset();
            insert_change.bind_int64(1, now).bind_text(2, s.coin).bind_text(3, c.account).bind_int64(4, c.amount);
            insert_change.bind_int64(5, after).bind_text(6, c.is_fee ? "pool_fee" : "share_credit").bind_int64(7, credit_id);
            insert_change.bind_text(8, std::string(scheme) + " share " + std::to_string(s.share_id));
            insert_change.run();
            insert_change.reset();
        }
        if (sum != s.value) {
            throw Error(SQLITE_ERROR, "credit_shares: share " + std::to_string(s.share_id) + " credits sum to " + std::to_string(sum) +
                                          ", its value is " + std::to_string(s.value) + "; nothing applied");
        }
        if (s.value != 0) {
            take.bind_text(1, s.coin).bind_int64(2, s.value).bind_int64(3, now);
            take.run();
            take.reset();
        }
        touched.emplace(s.coin, 0);
    }
    if (last_share_id > position) {
        Statement set = db.prepare(
            "INSERT INTO ledger_cursors (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
        set.bind_text(1, cursor_name).bind_int64(2, last_share_id);
        set.run();
    }
    std::vector<std::pair<std::string, std::int64_t>> reserves;
    Statement get_reserve = db.prepare("SELECT amount FROM pool_reserve WHERE coin = ?");
    for (const auto& [coin, unused] : touched) {
        get_reserve.bind_text(1, coin);
        reserves.emplace_back(coin, get_reserve.step() ? get_reserve.column_int64(0) : 0);
        get_reserve.reset();
    }
    tx.commit();
    return reserves;
}

std::int64_t Storage::reserve(std::string_view coin) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare("SELECT amount FROM pool_reserve WHERE coin = ?");
    stmt.bind_text(1, coin);
    return stmt.step() ? stmt.column_int64(0) : 0;
}

std::int64_t Storage::cursor(std::string_view name) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare("SELECT value FROM ledger_cursors WHERE name = ?");
    stmt.bind_text(1, name);
    return stmt.step() ? stmt.column_int64(0) : 0;
}

namespace {
PaymentRow read_payment(const Statement& stmt) {
    return {stmt.column_int64(0), stmt.column_text(1), stmt.column_text(2), stmt.column_int64(3), stmt.column_text(4),
            stmt.column_text(5), stmt.column_text(6), stmt.column_text(7), stmt.column_int64(8), stmt.column_int64(9)};
}
constexpr const char* payment_columns =
    "id, coin, account, amount, idempotency_key, status, COALESCE(txid, ''), COALESCE(error, ''), created_at_ms, updated_at_ms";
}  // namespace

std::vector<PaymentRow> Storage::create_payment_intents(std::string_view coin, std::int64_t minimum) {
    if (minimum <= 0) throw Error(SQLITE_ERROR, "create_payment_intents: the minimum payout must be positive");
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    const std::int64_t now = now_ms();
    Statement due = db.prepare("SELECT account, amount FROM balances WHERE coin = ? AND amount >= ? ORDER BY account");
    due.bind_text(1, coin).bind_int64(2, minimum);
    std::vector<std::pair<std::string, std::int64_t>> rows;
    while (due.step()) rows.emplace_back(due.column_text(0), due.column_int64(1));
    due.reset();
    Statement insert = db.prepare(
        "INSERT INTO payments (coin, account, amount, idempotency_key, status, created_at_ms, updated_at_ms)"
        " VALUES (?1, ?2, ?3, ?4, 'intent', ?5, ?5)");
    Statement set_key = db.prepare("UPDATE payments SET idempotency_key = ? WHERE id = ?");
    Statement debit = db.prepare("UPDATE balances SET amount = amount - ?, updated_at_ms = ? WHERE coin = ? AND account = ?");
    Statement change = db.prepare(
        "INSERT INTO balance_changes (at_ms, coin, account, delta, balance_after, cause, payment_id, detail)"
        " VALUES (?, ?, ?, ?, 0, 'payment', ?, ?)");
    std::vector<PaymentRow> out;
    for (const auto& [account, amount] : rows) {
        // A placeholder key first (unique: the account and time), then the final one from the row id.
        insert.bind_text(1, coin).bind_text(2, account).bind_int64(3, amount);
        insert.bind_text(4, "pending:" + std::string(coin) + ":" + account + ":" + std::to_string(now)).bind_int64(5, now);
        insert.run();
        insert.reset();
        const std::int64_t id = db.last_insert_rowid();
        const std::string key = std::string(coin) + "-payment-" + std::to_string(id);
        set_key.bind_text(1, key).bind_int64(2, id);
        set_key.run();
        set_key.reset();
        debit.bind_int64(1, amount).bind_int64(2, now).bind_text(3, coin).bind_text(4, account);
        debit.run();
        debit.reset();
        change.bind_int64(1, now).bind_text(2, coin).bind_text(3, account).bind_int64(4, -amount).bind_int64(5, id);
        change.bind_text(6, "payment intent " + key);
        change.run();
        change.reset();
        out.push_back({id, std::string(coin), account, amount, key, "intent", "", "", now, now});
    }
    if (!out.empty()) {
        impl_->audit("ledger", "payments.intent", std::to_string(out.size()) + " payment intent(s) for " + std::string(coin));
    }
    tx.commit();
    return out;
}

std::vector<PaymentRow> Storage::payments_with_status(std::string_view status) {
    const std::lock_guard lock(impl_->mutex);
    Statement stmt = impl_->db.prepare(std::string("SELECT ") + payment_columns + " FROM payments WHERE status = ? ORDER BY id");
    stmt.bind_text(1, status);
    std::vector<PaymentRow> out;
    while (stmt.step()) out.push_back(read_payment(stmt));
    return out;
}

bool Storage::mark_payment_sent(std::int64_t payment_id, std::string_view txid) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    Statement update = db.prepare(
        "UPDATE payments SET status = 'sent', txid = ?, updated_at_ms = ? WHERE id = ? AND status = 'intent'");
    update.bind_text(1, txid).bind_int64(2, now_ms()).bind_int64(3, payment_id);
    update.run();
    const bool changed = db.changes() == 1;
    if (changed) impl_->audit("ledger", "payment.sent", "payment " + std::to_string(payment_id) + " txid " + std::string(txid));
    tx.commit();
    return changed;
}

bool Storage::mark_payment_confirmed(std::int64_t payment_id) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    Statement update = db.prepare("UPDATE payments SET status = 'confirmed', updated_at_ms = ? WHERE id = ? AND status = 'sent'");
    update.bind_int64(1, now_ms()).bind_int64(2, payment_id);
    update.run();
    const bool changed = db.changes() == 1;
    if (changed) impl_->audit("ledger", "payment.confirmed", "payment " + std::to_string(payment_id));
    tx.commit();
    return changed;
}

bool Storage::fail_payment(std::int64_t payment_id, std::string_view error) {
    const std::lock_guard lock(impl_->mutex);
    Database& db = impl_->db;
    Transaction tx(db);
    Statement find = db.prepare("SELECT coin, account, amount FROM payments WHERE id = ? AND status = 'intent'");
    find.bind_int64(1, payment_id);
    if (!find.step()) return false;
    const std::string coin = find.column_text(0);
    const std::string account = find.column_text(1);
    const std::int64_t amount = find.column_int64(2);
    find.reset();
    const std::int64_t now = now_ms();
    Statement update = db.prepare("UPDATE payments SET status = 'failed', error = ?, updated_at_ms = ? WHERE id = ?");
    update.bind_text(1, error).bind_int64(2, now).bind_int64(3, payment_id);
    update.run();
    Statement refund = db.prepare(
        "INSERT INTO balances (coin, account, amount, updated_at_ms) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (coin, account) DO UPDATE SET amount = amount + excluded.amount, updated_at_ms = excluded.updated_at_ms"
        " RETURNING amount");
    refund.bind_text(1, coin).bind_text(2, account).bind_int64(3, amount).bind_int64(4, now);
    if (!refund.step()) throw Error(SQLITE_ERROR, "balance upsert returned no row", refund.sql());
    const std::int64_t after = refund.column_int64(0);
    refund.reset();
    Statement change = db.prepare(
        "INSERT INTO balance_changes (at_ms, coin, account, delta, balance_after, cause, payment_id, detail)"
        " VALUES (?, ?, ?, ?, ?, 'payment_failed', ?, ?)");
    change.bind_int64(1, now).bind_text(2, coin).bind_text(3, account).bind_int64(4, amount).bind_int64(5, after);
    change.bind_int64(6, payment_id).bind_text(7, std::string(error));
    change.run();
    impl_->audit("ledger", "payment.failed", "payment " + std::to_string(payment_id) + ": " + std::string(error));
    tx.commit();
    return true;
}

void Storage::audit(std::string_view actor, std::string_view action, std::string_view detail) {
    const std::lock_guard lock(impl_->mutex);
    impl_->audit(actor, action, detail);
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
    stmt.bind_int64(1, clamp_limit(limit));
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
        s.network_difficulty = static_cast<double>(stmt.column_int64(11)) / static_cast<double>(weight_per_difficulty);
        s.block_reward = stmt.column_int64(12);
        s.tx_fees = stmt.column_int64(13);
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
        db.set_busy_timeout(impl_->busy_timeout_ms);
        return ok;
    } catch (...) {
        return false;
    }
}

void Storage::set_busy_timeout(std::chrono::milliseconds wait) {
    const std::lock_guard lock(impl_->mutex);
    impl_->busy_timeout_ms = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(wait.count(), 0, std::numeric_limits<int>::max()));
    impl_->db.set_busy_timeout(impl_->busy_timeout_ms);
}

int Storage::schema_version() {
    const std::lock_guard lock(impl_->mutex);
    return storage::schema_version(impl_->db);
}

std::string Storage::path() const { return impl_->db.path(); }

}  // namespace otedama::storage
