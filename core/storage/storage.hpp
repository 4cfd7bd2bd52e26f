// The host's ledger in one SQLite file: shares (raw for the payout window, summed per worker and round),
// blocks, balances, credits, payments, the pool's PPS reserve, and the append-only audit logs.
//
// Thread contract: [any]. Every member locks; calls from several threads are serialized.
// Durability: when a writing member returns, its transaction is committed and on disk (WAL,
// synchronous=FULL): it survives the process being killed at any later point.
// Money: integers in the coin's atomic units, never floating point.
// Errors: storage::Error (see database.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
    /// The share's PoW hash. It is also the share's unique key: a share whose hash is already in the
    /// ledger is a replay (from the spill file) and is not counted again.
    std::vector<std::uint8_t> hash;
    /// The network difficulty of the share's job (PPS pays by it). Stored as an integer weight
    /// (x weight_per_difficulty), so it reads back rounded to 1/1000.
    double network_difficulty = 0;
    std::int64_t block_reward = 0;  ///< What a block of the share's job pays (subsidy + fees), atomic units.
    std::int64_t tx_fees = 0;       ///< The fee part of block_reward.

    friend bool operator==(const ShareRecord&, const ShareRecord&) = default;
};

/// Share weights are integers: difficulty x 1000, rounded (OTD_PAYOUT_WEIGHT_PER_DIFFICULTY).
inline constexpr std::int64_t weight_per_difficulty = 1000;
/// round(difficulty x weight_per_difficulty), clamped to [0, INT64_MAX]; NaN gives 0.
[[nodiscard]] std::int64_t weight_of(double difficulty) noexcept;

/// What one record_shares() call did.
struct BatchResult {
    std::size_t inserted = 0;    ///< new shares
    std::size_t duplicates = 0;  ///< shares whose key was already recorded (a replay), not counted again
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
    std::int64_t tx_fees = 0;         ///< The part of `reward` that is transaction fees.
    std::int64_t network_weight = 0;  ///< Network difficulty x weight_per_difficulty when found.
    std::int64_t round_id = 0;        ///< Read back: the round the block closed (0 = none).
    std::int64_t credited_at_ms = 0;  ///< Read back: when its credits were applied (0 = not yet).
    std::string scheme;               ///< Read back: the scheme that credited it ("" = not yet).

    friend bool operator==(const BlockRecord&, const BlockRecord&) = default;
};

/// One credit to apply (from a payout scheme).
struct Credit {
    std::string account;
    std::int64_t amount = 0;  ///< > 0
    bool is_fee = false;
};

struct BalanceRow {
    std::string coin;
    std::string account;
    std::int64_t amount = 0;
    std::int64_t updated_at_ms = 0;
};

struct PaymentRow {
    std::int64_t id = 0;
    std::string coin;
    std::string account;
    std::int64_t amount = 0;
    std::string idempotency_key;
    std::string status;  ///< "intent", "sent", "confirmed", "failed"
    std::string txid;
    std::string error;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
};

/// A share as a payout window sees it (raw, or a worker's sum over a round).
struct WindowShare {
    std::int64_t id = 0;  ///< shares.id (0 for a round sum)
    std::string account;
    std::int64_t weight = 0;
    std::int64_t network_weight = 0;
    std::int64_t time_ms = 0;
};

/// A share to credit per share (PPS, FPPS).
struct ShareToCredit {
    std::int64_t id = 0;
    std::string coin;
    std::string account;
    std::int64_t weight = 0;
    std::int64_t network_weight = 0;
    std::int64_t block_reward = 0;
    std::int64_t tx_fees = 0;
    std::int64_t time_ms = 0;
};

/// The credits of one share (PPS, FPPS); `value` (their sum) is taken from the pool's reserve.
struct ShareCredits {
    std::int64_t share_id = 0;
    std::string coin;
    std::int64_t value = 0;
    std::vector<Credit> credits;
};

/// A round: the shares of one coin between two blocks.
struct RoundWorkerRow {
    std::int64_t round_id = 0;
    std::string worker;
    std::string account;
    std::int64_t shares = 0;
    std::int64_t weight = 0;
    std::int64_t first_at_ms = 0;
    std::int64_t last_at_ms = 0;
};

class Storage {
public:
    /// Opens or creates the database at `path` (or ":memory:") and applies the host's migrations.
    /// @throws SchemaTooNewError for a database from a newer release; Error for anything else.
    [[nodiscard]] static Storage open(const std::string& path);

    ~Storage();
    Storage(Storage&&) noexcept;
    Storage& operator=(Storage&&) noexcept;

    /// Commits one share. @return its row id, or 0 when a share with the same hash is already recorded
    /// (nothing is written then). @throws Error (a constraint names the column).
    std::int64_t record_share(const ShareRecord& share);
    /// Commits shares in ONE transaction (one fsync): inserts those whose hash is new and adds them to
    /// their worker's sum in the coin's open round (opened if there is none). All or nothing: on an
    /// Error nothing of the batch is written.
    BatchResult record_shares(const std::vector<ShareRecord>& shares);
    /// Commits one block, and closes its coin's open round with it (blocks.round_id). @return its row id.
    /// @throws Error; SQLITE_CONSTRAINT_UNIQUE for a hash already recorded.
    std::int64_t record_block(const BlockRecord& block);
    /// Sets a block's confirmation count (-1: unchanged) and status (from the chain source), with an audit row when the
    /// status changes. @return false when no block has that hash. A credited block is never un-credited:
    /// orphaning one is refused with an Error (the operator must adjust by hand).
    bool update_block(std::span<const std::uint8_t> hash, std::int64_t confirmations, BlockStatus status);
    /// Confirmation tracking from the chain source's templates: with the next block of `coin` at
    /// `next_height`, each pending block at height h has next_height - h confirmations; at `required` or
    /// more it becomes confirmed (audited). @return how many blocks became confirmed.
    std::int64_t advance_confirmations(std::string_view coin, std::int64_t next_height, std::int64_t required);
    /// Blocks of `coin` ("" = every coin), newest first.
    [[nodiscard]] std::vector<BlockRecord> blocks(std::string_view coin, std::size_t limit);
    /// Confirmed blocks whose credits are not yet applied, oldest first.
    [[nodiscard]] std::vector<BlockRecord> blocks_to_credit();

    /// Applies a block's credits in ONE transaction: credits rows, balances, a balance_changes row per
    /// credit (cause block_credit or pool_fee) and an audit_log row. The credits must sum to exactly the
    /// block's reward (else Error, nothing written). @return false (nothing written) when the block was
    /// already credited: applying twice is impossible. @throws Error for an unknown or unconfirmed block.
    bool credit_block(std::int64_t block_id, std::string_view scheme, const std::vector<Credit>& credits);

    /// PPS/FPPS: a block's reward goes to the pool's reserve (which pays the shares), in one transaction
    /// with the block marked credited and an audit row. @return false when already credited.
    bool credit_block_to_reserve(std::int64_t block_id, std::string_view scheme);
    /// PPS/FPPS: up to `limit` shares after the cursor `cursor` (ledger_cursors), oldest first; only those of
    /// `coin` unless it is empty (several coins: each has its own cursor).
    [[nodiscard]] std::vector<ShareToCredit> shares_to_credit(std::string_view cursor, std::size_t limit, std::string_view coin = {});
    /// PPS/FPPS: applies the shares' credits (credits, balances, balance_changes with cause share_credit or
    /// pool_fee), takes their values from the reserve, and moves the cursor past `last_share_id`, all in ONE
    /// transaction. Shares at or before the cursor are skipped (never credited twice).
    /// @return the reserve of each coin afterwards.
    std::vector<std::pair<std::string, std::int64_t>> credit_shares(std::string_view cursor, std::string_view scheme,
                                                                    const std::vector<ShareCredits>& shares,
                                                                    std::int64_t last_share_id);
    /// The pool's reserve for `coin` (0 when none yet).
    [[nodiscard]] std::int64_t reserve(std::string_view coin);
    /// The value of a cursor (0 when unset).
    [[nodiscard]] std::int64_t cursor(std::string_view name);

    /// The shares of `coin` with created_at_ms in [from_ms, to_ms], oldest first.
    [[nodiscard]] std::vector<WindowShare> shares_between(std::string_view coin, std::int64_t from_ms, std::int64_t to_ms);
    /// The newest shares of `coin` up to to_ms whose weights add up to at least `total_weight` (or all
    /// there are), oldest first: PPLNS by work.
    [[nodiscard]] std::vector<WindowShare> last_shares_by_weight(std::string_view coin, std::int64_t to_ms,
                                                                 std::int64_t total_weight);
    /// Per-worker sums of one round.
    [[nodiscard]] std::vector<RoundWorkerRow> round_workers(std::int64_t round_id);
    /// Deletes raw shares older than `keep_ms` before now_ms, but keeps every share within keep_ms before a
    /// block that is not yet credited (or orphaned): its window is still needed. Round sums stay.
    /// @return how many were deleted.
    /// Shares with an id above `max_id` are kept too (PPS: not yet credited).
    /// A non-empty `coin` deletes only that coin's shares (several coins, each with its own window).
    std::int64_t prune_shares(std::int64_t now_ms, std::int64_t keep_ms,
                              std::int64_t max_id = std::numeric_limits<std::int64_t>::max(), std::string_view coin = {});

    /// Payments, step 1: every balance of `coin` at or above `minimum` (> 0) becomes a payment intent, in ONE
    /// transaction: the balance goes to 0 (a balance_changes row, cause payment) and a payments row with
    /// status 'intent' and a unique idempotency key ("<coin>-payment-<id>") is written. Nothing is sent
    /// here: the intent is durable before anything leaves. @return the new intents.
    std::vector<PaymentRow> create_payment_intents(std::string_view coin, std::int64_t minimum);
    /// Payments of one status ("intent", ...), oldest first.
    [[nodiscard]] std::vector<PaymentRow> payments_with_status(std::string_view status);
    /// An intent was sent (or found in the wallet): status 'sent' with its txid. @return false when it was
    /// not an intent (already sent or failed): nothing changes.
    bool mark_payment_sent(std::int64_t payment_id, std::string_view txid);
    /// An intent the wallet refused for good (a bad address): status 'failed' with the error, and the amount
    /// goes back to the balance (cause payment_failed), in one transaction. @return false when not an intent.
    bool fail_payment(std::int64_t payment_id, std::string_view error);
    /// A sent payment's transfer has enough confirmations: status 'confirmed' (audited). @return false when
    /// it was not 'sent'.
    bool mark_payment_confirmed(std::int64_t payment_id);

    /// Balances of `coin` ("" = every coin), largest first.
    [[nodiscard]] std::vector<BalanceRow> balances(std::string_view coin);
    /// Payments of `coin` ("" = every coin), newest first.
    [[nodiscard]] std::vector<PaymentRow> payments(std::string_view coin, std::size_t limit);
    /// Sum of balance_changes for (coin, account): equals the balance (an invariant the tests check).
    [[nodiscard]] std::int64_t balance_change_sum(std::string_view coin, std::string_view account);
    /// Appends to the audit log, stamped with the current time. Rows can never change afterwards.
    void audit(std::string_view actor, std::string_view action, std::string_view detail);

    [[nodiscard]] std::int64_t count_shares();
    /// Up to `limit` shares, newest first.
    [[nodiscard]] std::vector<ShareRecord> recent_shares(std::size_t limit);

    /// Readiness probe: can a write transaction start now (BEGIN IMMEDIATE; ROLLBACK)?
    /// Waits at most `max_wait` for a lock another process holds. Never throws.
    [[nodiscard]] bool writable(std::chrono::milliseconds max_wait = std::chrono::milliseconds(500)) noexcept;

    /// How long a write waits for another process's lock before failing with SQLITE_BUSY (default 5 s).
    void set_busy_timeout(std::chrono::milliseconds wait);

    [[nodiscard]] int schema_version();
    [[nodiscard]] std::string path() const;

private:
    struct Impl;
    explicit Storage(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace otedama::storage
