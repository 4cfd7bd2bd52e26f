#include "storage/database.hpp"

#include <cassert>
#include <cctype>
#include <cmath>
#include <limits>
#include <utility>

#include <sqlite3.h>

namespace otedama::storage {
namespace {

// Migrations can be long; an error message quotes at most this much of the statement.
constexpr std::size_t max_quoted_sql = 2000;

std::string describe(int code, std::string_view message, std::string_view sql) {
    std::string text(message);
    // SQLITE_ERROR's generic text ("SQL logic error") adds nothing to the message; for the other
    // codes the number and its meaning help (SQLITE_BUSY, SQLITE_FULL, SQLITE_CONSTRAINT_*, ...).
    if (code != SQLITE_ERROR) {
        text += " [sqlite ";
        text += std::to_string(code);
        text += ": ";
        text += sqlite3_errstr(code);
        text += "]";
    }
    if (!sql.empty()) {
        text += " in SQL: ";
        if (sql.size() > max_quoted_sql) {
            text.append(sql.substr(0, max_quoted_sql));
            text += "...";
        } else {
            text.append(sql);
        }
    }
    return text;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

/// Runs a pragma that answers with one value and returns it as text.
std::string pragma_value(Database& db, std::string_view sql) {
    Statement stmt = db.prepare(sql);
    if (!stmt.step()) throw Error(SQLITE_ERROR, "pragma returned no value", sql);
    return stmt.column_text(0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Error

Error::Error(int code, std::string_view message, std::string_view sql)
    : std::runtime_error(describe(code, message, sql)), code_(code), sql_(sql) {}

// ---------------------------------------------------------------------------------------------
// Database

Database::Database(const std::string& path) : path_(path) {
    // No SQLite mutex on the connection: the owner serializes access (see Storage).
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        // Even a failed open usually allocates a handle, which carries the message.
        const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        const int code = db_ != nullptr ? sqlite3_extended_errcode(db_) : rc;
        close();
        throw Error(code, "cannot open database \"" + path + "\": " + message);
    }
    sqlite3_extended_result_codes(db_, 1);

    try {
        set_busy_timeout(default_busy_timeout_ms);

        journal_mode_ = pragma_value(*this, "PRAGMA journal_mode=WAL");
        // An in-memory or temporary database has no file name and cannot use WAL; that is fine.
        const char* file = sqlite3_db_filename(db_, "main");
        const bool on_disk = file != nullptr && file[0] != '\0';
        if (on_disk && journal_mode_ != "wal") {
            throw Error(SQLITE_ERROR, "database \"" + path + "\" did not switch to WAL (journal_mode is \"" +
                                          journal_mode_ + "\")");
        }

        exec("PRAGMA synchronous=FULL");
        if (pragma_value(*this, "PRAGMA synchronous") != "2") {
            throw Error(SQLITE_ERROR, "database \"" + path + "\" did not accept synchronous=FULL");
        }
        exec("PRAGMA foreign_keys=ON");
        if (pragma_value(*this, "PRAGMA foreign_keys") != "1") {
            throw Error(SQLITE_ERROR, "SQLite was built without foreign key support");
        }
    } catch (...) {
        close();
        throw;
    }
}

Database::~Database() { close(); }

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      journal_mode_(std::move(other.journal_mode_)) {}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
        journal_mode_ = std::move(other.journal_mode_);
    }
    return *this;
}

void Database::close() noexcept {
    // close_v2 defers the close until the last statement is finalized, so destruction order
    // between a Database and its Statements cannot leak or crash.
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
}

void Database::exec(std::string_view sql) {
    const char* next = sql.data();
    const char* const end = sql.data() + sql.size();
    while (next < end) {
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v2(db_, next, static_cast<int>(end - next), &raw, &tail);
        const std::string_view one = trim(std::string_view(next, static_cast<std::size_t>(tail - next)));
        if (rc != SQLITE_OK) {
            throw Error(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), one.empty() ? trim(sql) : one);
        }
        next = tail;
        if (raw == nullptr) continue;  // only whitespace or a comment
        int step_rc = SQLITE_ROW;
        while (step_rc == SQLITE_ROW) step_rc = sqlite3_step(raw);
        if (step_rc != SQLITE_DONE) {
            Error error(step_rc, sqlite3_errmsg(db_), one);
            sqlite3_finalize(raw);
            throw error;
        }
        sqlite3_finalize(raw);
    }
}

Statement Database::prepare(std::string_view sql) { return Statement(*this, sql); }

std::int64_t Database::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }

std::int64_t Database::changes() const noexcept { return sqlite3_changes64(db_); }

bool Database::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

void Database::set_busy_timeout(int milliseconds) {
    const int rc = sqlite3_busy_timeout(db_, milliseconds);
    if (rc != SQLITE_OK) throw Error(rc, "cannot set busy timeout");
}

// ---------------------------------------------------------------------------------------------
// Statement

Statement::Statement(Database& db, std::string_view sql) : db_(db.handle()), sql_(trim(sql)) {
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql_.data(), static_cast<int>(sql_.size()), &stmt_, &tail);
    if (rc != SQLITE_OK) throw Error(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_), sql_);
    if (stmt_ == nullptr) throw Error(SQLITE_MISUSE, "no statement to prepare", sql_);
    if (!trim(std::string_view(tail, static_cast<std::size_t>(sql_.data() + sql_.size() - tail))).empty()) {
        // A second statement would be silently ignored; that is always a bug in the caller.
        sqlite3_finalize(stmt_);
        stmt_ = nullptr;
        throw Error(SQLITE_MISUSE, "more than one statement given to prepare(); use exec()", sql_);
    }
}

Statement::~Statement() {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        if (stmt_ != nullptr) sqlite3_finalize(stmt_);
        db_ = other.db_;
        stmt_ = std::exchange(other.stmt_, nullptr);
        sql_ = std::move(other.sql_);
    }
    return *this;
}

void Statement::check_bind(int rc, int index) {
    if (rc != SQLITE_OK) {
        throw Error(rc, "cannot bind parameter " + std::to_string(index) + ": " + sqlite3_errmsg(db_), sql_);
    }
}

Statement& Statement::bind_int64(int index, std::int64_t value) {
    check_bind(sqlite3_bind_int64(stmt_, index, value), index);
    return *this;
}

Statement& Statement::bind_double(int index, double value) {
    check_bind(sqlite3_bind_double(stmt_, index, value), index);
    return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
    check_bind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
               index);
    return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> value) {
    // sqlite3_bind_blob with a null pointer binds NULL, so an empty blob needs zeroblob.
    const int rc = value.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                                 : sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
    check_bind(rc, index);
    return *this;
}

Statement& Statement::bind_null(int index) {
    check_bind(sqlite3_bind_null(stmt_, index), index);
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    Error error(rc, sqlite3_errmsg(db_), sql_);
    sqlite3_reset(stmt_);
    throw error;
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() noexcept {
    // The return value repeats the error of the last step(), which has already been thrown.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const noexcept { return sqlite3_column_count(stmt_); }

bool Statement::column_is_null(int column) const noexcept {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const noexcept { return sqlite3_column_int64(stmt_, column); }

double Statement::column_double(int column) const noexcept { return sqlite3_column_double(stmt_, column); }

std::string Statement::column_text(int column) const {
    const auto* text = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);  // after the text call, per the SQLite docs
    if (text == nullptr) return {};
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::vector<std::uint8_t> Statement::column_blob(int column) const {
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr) return {};
    return {data, data + size};
}

// ---------------------------------------------------------------------------------------------
// Transaction

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR, ...); then there
    // is nothing left to roll back.
    if (!committed_ && db_.in_transaction()) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
            // A destructor cannot report it. If the transaction is somehow still open, the next
            // BEGIN fails with "cannot start a transaction within a transaction" and says so.
        }
    }
}

void Transaction::commit() {
    assert(!committed_ && "Transaction::commit() called twice");
    db_.exec("COMMIT");
    committed_ = true;
}

}  // namespace otedama::storage
