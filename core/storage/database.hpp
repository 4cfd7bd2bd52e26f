// A thin RAII layer over SQLite: Database, Statement, Transaction, and the Error they throw.
//
// Thread contract: a Database and the Statements prepared on it must be used by one thread at a
// time (the connection is opened without SQLite's own mutex). Storage adds the locking.
// Error contract: every failure throws storage::Error. Exceptions stay inside the host; they never
// cross the plugin ABI.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace otedama::storage {

/// A failed SQLite call, or a database the host must not use.
class Error : public std::runtime_error {
public:
    /// @param code    SQLite extended result code (SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY, ...);
    ///                SQLITE_ERROR for problems the host itself detects (schema version, WAL refused).
    /// @param message what went wrong, usually sqlite3_errmsg().
    /// @param sql     the statement that failed, if any; it is quoted in what().
    /// what() reads "<message> [sqlite <code>: <meaning>] in SQL: <sql>" (no bracket for SQLITE_ERROR).
    Error(int code, std::string_view message, std::string_view sql = {});

    [[nodiscard]] int code() const noexcept { return code_; }
    /// The primary result code (SQLITE_CONSTRAINT for SQLITE_CONSTRAINT_UNIQUE, ...).
    [[nodiscard]] int primary_code() const noexcept { return code_ & 0xff; }
    [[nodiscard]] const std::string& sql() const noexcept { return sql_; }

private:
    int code_;
    std::string sql_;
};

class Statement;

/// One connection. Opening sets, and checks where SQLite reports back:
///   journal_mode=WAL (a file database must end up in WAL; ":memory:" stays "memory"),
///   synchronous=FULL (a commit is on disk when commit() returns), foreign_keys=ON,
///   busy_timeout=5000 ms.
class Database {
public:
    static constexpr int default_busy_timeout_ms = 5000;

    /// Opens the database file at `path`, creating it if missing; ":memory:" gives a private
    /// in-memory database. @throws Error when it cannot be opened or configured.
    explicit Database(const std::string& path);
    ~Database();

    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// Runs one or more ';'-separated statements that take no parameters, discarding any rows.
    /// On failure the Error quotes the one statement that failed. Statements before it stay applied
    /// unless the caller wraps the call in a Transaction.
    void exec(std::string_view sql);

    /// Compiles one statement. @throws Error naming the SQL when it does not compile.
    [[nodiscard]] Statement prepare(std::string_view sql);

    [[nodiscard]] std::int64_t last_insert_rowid() const noexcept;
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    [[nodiscard]] std::int64_t changes() const noexcept;
    /// True between BEGIN and COMMIT/ROLLBACK.
    [[nodiscard]] bool in_transaction() const noexcept;
    /// The journal mode SQLite reported when the database was opened: "wal", or "memory".
    [[nodiscard]] const std::string& journal_mode() const noexcept { return journal_mode_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
    void set_busy_timeout(int milliseconds);
    /// The raw handle, for what this wrapper does not cover. Owned by the Database.
    [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

private:
    void close() noexcept;

    sqlite3* db_ = nullptr;
    std::string path_;
    std::string journal_mode_;
};

/// A prepared statement. Parameters are numbered from 1 and columns from 0, as in SQLite.
/// Text and blobs are copied when bound, so the arguments need not outlive the call.
class Statement {
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();

    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind_int64(int index, std::int64_t value);
    /// NaN binds as NULL (SQLite has no NaN), so a NOT NULL column rejects it.
    Statement& bind_double(int index, double value);
    Statement& bind_text(int index, std::string_view value);
    /// An empty span binds an empty blob, not NULL.
    Statement& bind_blob(int index, std::span<const std::uint8_t> value);
    Statement& bind_null(int index);

    /// Runs to the next row. @return true when a row is ready for the column getters, false when
    /// the statement is done. @throws Error (with the SQL) on failure.
    [[nodiscard]] bool step();
    /// Steps until done, discarding any rows: for INSERT, UPDATE, DELETE and DDL.
    void run();
    /// Makes the statement ready to run again and clears its bindings. Also ends the read it
    /// holds open, which otherwise keeps the WAL from being checkpointed.
    void reset() noexcept;

    [[nodiscard]] int column_count() const noexcept;
    [[nodiscard]] bool column_is_null(int column) const noexcept;
    [[nodiscard]] std::int64_t column_int64(int column) const noexcept;
    [[nodiscard]] double column_double(int column) const noexcept;
    /// NULL reads as "".
    [[nodiscard]] std::string column_text(int column) const;
    /// NULL reads as an empty vector.
    [[nodiscard]] std::vector<std::uint8_t> column_blob(int column) const;

    [[nodiscard]] const std::string& sql() const noexcept { return sql_; }

private:
    void check_bind(int rc, int index);

    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
    std::string sql_;
};

/// BEGIN IMMEDIATE on construction: the write lock is taken up front, so a transaction never fails
/// half way with SQLITE_BUSY when it first writes. Rolls back in the destructor unless committed.
/// Transactions do not nest.
class Transaction {
public:
    /// @throws Error (SQLITE_BUSY) when another connection holds the write lock past the busy timeout.
    explicit Transaction(Database& db);
    ~Transaction();

    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    /// @pre not yet committed. @throws Error; the destructor then rolls back.
    void commit();

private:
    Database& db_;
    bool committed_ = false;
};

}  // namespace otedama::storage
