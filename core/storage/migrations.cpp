#include "storage/migrations.hpp"

#include <array>

namespace otedama::storage {
namespace {

// Conventions for every table:
//   - times are Unix milliseconds in INTEGER columns named *_ms;
//   - money is INTEGER in the coin's atomic units (satoshi, piconero), never REAL;
//   - hashes are BLOBs of raw bytes, in the byte order the algorithm produces them.
constexpr const char* v1_initial = R"sql(
CREATE TABLE shares (
    id               INTEGER PRIMARY KEY,
    created_at_ms    INTEGER NOT NULL,
    coin             TEXT    NOT NULL,
    algorithm        TEXT    NOT NULL,
    job_id           INTEGER NOT NULL,
    worker           TEXT    NOT NULL,
    account          TEXT    NOT NULL,
    difficulty       REAL    NOT NULL,  -- the target the share was accepted against
    share_difficulty REAL    NOT NULL,  -- what the hash actually reached
    is_block         INTEGER NOT NULL CHECK (is_block IN (0, 1)),
    hash             BLOB    NOT NULL
);
CREATE INDEX shares_created_at_ms ON shares (created_at_ms);
CREATE INDEX shares_account ON shares (account);

CREATE TABLE blocks (
    id            INTEGER PRIMARY KEY,
    coin          TEXT    NOT NULL,
    height        INTEGER NOT NULL CHECK (height >= 0),
    hash          BLOB    NOT NULL UNIQUE,
    reward        INTEGER NOT NULL CHECK (reward >= 0),
    finder        TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'orphaned')),
    confirmations INTEGER NOT NULL DEFAULT 0 CHECK (confirmations >= 0),
    found_at_ms   INTEGER NOT NULL
);
CREATE INDEX blocks_status ON blocks (status);

-- Append-only: the triggers make UPDATE and DELETE fail, whoever runs them.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    detail TEXT    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
)sql";

// v2: the ledger. Shares get a unique key (replaying a spill file never counts one twice), integer weights
// (difficulty x 1000, OTD_PAYOUT_WEIGHT_PER_DIFFICULTY) and the network weight PPS needs; shares are summed
// into per-worker rounds so that raw shares need only be kept for the payout window; blocks carry their
// fees, round and crediting; balances, credits, payments and the append-only record of balance changes.
constexpr const char* v2_ledger = R"sql(
ALTER TABLE shares ADD COLUMN share_key BLOB;   -- the share's PoW hash; NULL only on rows from schema 1
ALTER TABLE shares ADD COLUMN weight INTEGER NOT NULL DEFAULT 0 CHECK (weight >= 0);
ALTER TABLE shares ADD COLUMN network_weight INTEGER NOT NULL DEFAULT 0 CHECK (network_weight >= 0);
ALTER TABLE shares ADD COLUMN block_reward INTEGER NOT NULL DEFAULT 0 CHECK (block_reward >= 0);  -- of its job (PPS)
ALTER TABLE shares ADD COLUMN tx_fees INTEGER NOT NULL DEFAULT 0 CHECK (tx_fees >= 0);            -- of its job (FPPS)
CREATE UNIQUE INDEX shares_share_key ON shares (share_key);
CREATE INDEX shares_coin_created_at_ms ON shares (coin, created_at_ms);

-- A round: the shares of one coin between two blocks. At most one open round per coin.
CREATE TABLE rounds (
    id           INTEGER PRIMARY KEY,
    coin         TEXT    NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    closed_at_ms INTEGER,             -- NULL while open
    block_id     INTEGER REFERENCES blocks (id)
);
CREATE UNIQUE INDEX rounds_one_open_per_coin ON rounds (coin) WHERE closed_at_ms IS NULL;

-- Per worker and round: what the raw shares add up to (kept after the raw shares are pruned).
CREATE TABLE round_workers (
    round_id    INTEGER NOT NULL REFERENCES rounds (id),
    worker      TEXT    NOT NULL,
    account     TEXT    NOT NULL,
    shares      INTEGER NOT NULL CHECK (shares >= 0),
    weight      INTEGER NOT NULL CHECK (weight >= 0),
    first_at_ms INTEGER NOT NULL,
    last_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (round_id, worker, account)
) WITHOUT ROWID;

ALTER TABLE blocks ADD COLUMN tx_fees INTEGER NOT NULL DEFAULT 0 CHECK (tx_fees >= 0);
ALTER TABLE blocks ADD COLUMN network_weight INTEGER NOT NULL DEFAULT 0 CHECK (network_weight >= 0);
ALTER TABLE blocks ADD COLUMN round_id INTEGER REFERENCES rounds (id);
ALTER TABLE blocks ADD COLUMN credited_at_ms INTEGER;  -- NULL until its credits are applied (once)
ALTER TABLE blocks ADD COLUMN scheme TEXT;             -- the payout scheme that credited it
ALTER TABLE blocks ADD COLUMN updated_at_ms INTEGER NOT NULL DEFAULT 0;

-- What the pool owes each account, per coin. Changed only together with a balance_changes row.
CREATE TABLE balances (
    coin          TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount >= 0),
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (coin, account)
) WITHOUT ROWID;

-- Every credit a payout scheme produced: for a block (PPLNS, PROP, SOLO) or for one share (PPS, FPPS).
CREATE TABLE credits (
    id            INTEGER PRIMARY KEY,
    coin          TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    is_fee        INTEGER NOT NULL CHECK (is_fee IN (0, 1)),
    scheme        TEXT    NOT NULL,
    block_id      INTEGER REFERENCES blocks (id),
    share_id      INTEGER,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX credits_block_id ON credits (block_id);
CREATE INDEX credits_coin_account ON credits (coin, account);

-- A payment is written as an intent (with its idempotency key) before anything is sent.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    coin            TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'intent'
                    CHECK (status IN ('intent', 'sent', 'confirmed', 'failed')),
    txid            TEXT,
    error           TEXT,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX payments_status ON payments (status);

-- The pool's own reserve per coin for PPS/FPPS: block rewards in, per-share credits out. May go negative.
CREATE TABLE pool_reserve (
    coin          TEXT    PRIMARY KEY,
    amount        INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Progress markers of the ledger's own work, e.g. the last share credited per share (PPS, FPPS).
CREATE TABLE ledger_cursors (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- Append-only: every change of a balance, with its cause.
CREATE TABLE balance_changes (
    id            INTEGER PRIMARY KEY,
    at_ms         INTEGER NOT NULL,
    coin          TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    delta         INTEGER NOT NULL CHECK (delta <> 0),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    cause         TEXT    NOT NULL
                  CHECK (cause IN ('block_credit', 'pool_fee', 'share_credit', 'payment', 'payment_failed', 'adjustment')),
    block_id      INTEGER REFERENCES blocks (id),
    payment_id    INTEGER REFERENCES payments (id),
    credit_id     INTEGER REFERENCES credits (id),
    detail        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX balance_changes_coin_account ON balance_changes (coin, account);
CREATE TRIGGER balance_changes_no_update BEFORE UPDATE ON balance_changes
BEGIN
    SELECT RAISE(ABORT, 'balance_changes is append-only: UPDATE refused');
END;
CREATE TRIGGER balance_changes_no_delete BEFORE DELETE ON balance_changes
BEGIN
    SELECT RAISE(ABORT, 'balance_changes is append-only: DELETE refused');
END;
)sql";

constexpr std::array<Migration, 2> migrations{{
    {1, "initial", v1_initial},
    {2, "ledger", v2_ledger},
}};

}  // namespace

std::span<const Migration> host_migrations() noexcept { return migrations; }

}  // namespace otedama::storage
