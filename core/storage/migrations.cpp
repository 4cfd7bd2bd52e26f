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

constexpr std::array<Migration, 1> migrations{{
    {1, "initial", v1_initial},
}};

}  // namespace

std::span<const Migration> host_migrations() noexcept { return migrations; }

}  // namespace otedama::storage
