// Tests for core/storage: database.hpp, migrate.hpp, migrations.hpp, storage.hpp.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "log/log.hpp"
#include "storage/database.hpp"
#include "storage/migrate.hpp"
#include "storage/migrations.hpp"
#include "storage/storage.hpp"

namespace fs = std::filesystem;
using namespace otedama::storage;

namespace {

/// A unique directory under the system temp dir, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "otedama-storage-test-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

class StorageTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        otedama::log::init({.level = "warn", .file = "", .json = false, .console = true});
    }

    TempDir dir;
    std::string db_path = (dir.path() / "ledger.db").string();
};

ShareRecord make_share(int n) {
    ShareRecord s;
    s.created_at_ms = 1'790'000'000'000 + n;
    s.coin = "BTC";
    s.algorithm = "sha256d";
    s.job_id = 1000 + n;
    s.worker = "rig-" + std::to_string(n);
    s.account = "bc1qaccount" + std::to_string(n % 3);
    s.difficulty = 65536.0;
    s.share_difficulty = 65536.0 * (n + 1) + 0.25;
    s.is_block = n % 7 == 0;
    s.hash = {0x00, 0x00, 0x00, static_cast<std::uint8_t>(n), 0xff, 0x7f};
    return s;
}

std::int64_t query_int(Database& db, const std::string& sql) {
    Statement stmt = db.prepare(sql);
    EXPECT_TRUE(stmt.step()) << sql;
    return stmt.column_int64(0);
}

std::string query_text(Database& db, const std::string& sql) {
    Statement stmt = db.prepare(sql);
    EXPECT_TRUE(stmt.step()) << sql;
    return stmt.column_text(0);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Database, Statement, Transaction

TEST_F(StorageTest, FileDatabaseRunsInWalWithDurableSettings) {
    Database db(db_path);
    EXPECT_EQ(db.journal_mode(), "wal");
    EXPECT_EQ(query_text(db, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(query_int(db, "PRAGMA synchronous"), 2) << "FULL";
    EXPECT_EQ(query_int(db, "PRAGMA foreign_keys"), 1);
    EXPECT_EQ(query_int(db, "PRAGMA busy_timeout"), 5000);
    db.exec("CREATE TABLE t (x INTEGER)");
    EXPECT_TRUE(fs::exists(db_path + "-wal"));
}

TEST_F(StorageTest, MemoryDatabaseHasNoWal) {
    Database db(":memory:");
    EXPECT_EQ(db.journal_mode(), "memory");
    EXPECT_EQ(query_int(db, "PRAGMA foreign_keys"), 1);

    Storage storage = Storage::open(":memory:");
    storage.record_share(make_share(1));
    EXPECT_EQ(storage.count_shares(), 1);
    EXPECT_EQ(storage.path(), ":memory:");
}

TEST_F(StorageTest, OpenFailureNamesThePath) {
    const std::string bad = (dir.path() / "no" / "such" / "dir" / "x.db").string();
    try {
        Database db(bad);
        FAIL() << "opened " << bad;
    } catch (const Error& e) {
        EXPECT_EQ(e.primary_code(), SQLITE_CANTOPEN);
        EXPECT_TRUE(contains(e.what(), bad)) << e.what();
    }
}

TEST_F(StorageTest, StatementBindsAndReadsEveryType) {
    Database db(":memory:");
    db.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n)");
    Statement insert = db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?)");
    const std::vector<std::uint8_t> blob = {0x00, 0x01, 0xfe, 0xff};
    const std::string text("nul\0inside caf\xc3\xa9", 16);
    insert.bind_int64(1, std::numeric_limits<std::int64_t>::min())
        .bind_double(2, -1.5e300)
        .bind_text(3, text)
        .bind_blob(4, blob)
        .bind_null(5);
    insert.run();
    insert.reset();
    insert.bind_int64(1, 7).bind_double(2, 0.5).bind_text(3, "").bind_blob(4, {}).bind_null(5);
    insert.run();
    EXPECT_EQ(db.changes(), 1);

    Statement select = db.prepare("SELECT i, d, s, b, n, typeof(b) FROM t ORDER BY rowid");
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.column_count(), 6);
    EXPECT_EQ(select.column_int64(0), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(select.column_double(1), -1.5e300);
    EXPECT_EQ(select.column_text(2), text);
    EXPECT_EQ(select.column_blob(3), blob);
    EXPECT_TRUE(select.column_is_null(4));
    EXPECT_EQ(select.column_text(4), "");
    EXPECT_TRUE(select.column_blob(4).empty());
    ASSERT_TRUE(select.step());
    EXPECT_FALSE(select.column_is_null(3)) << "an empty blob is not NULL";
    EXPECT_EQ(select.column_text(5), "blob");
    EXPECT_TRUE(select.column_blob(3).empty());
    EXPECT_FALSE(select.step());

    select.reset();
    EXPECT_TRUE(select.step()) << "a reset statement runs again";
}

TEST_F(StorageTest, BadSqlGivesErrorQuotingTheSql) {
    Database db(":memory:");
    const std::string bad = "SELECT worker FROM no_such_table WHERE id = ?";
    try {
        (void)db.prepare(bad);
        FAIL() << "prepared bad SQL";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_ERROR);
        EXPECT_EQ(e.sql(), bad);
        EXPECT_TRUE(contains(e.what(), "no such table: no_such_table")) << e.what();
        EXPECT_TRUE(contains(e.what(), bad)) << e.what();
    }

    // exec() names the one statement that failed, not the whole script.
    try {
        db.exec("CREATE TABLE a (x); INSERT INTO a VALUES (1);\n  INSERT INTO b VALUES (2);  CREATE TABLE c (y);");
        FAIL() << "exec of bad SQL succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.sql(), "INSERT INTO b VALUES (2);");
        EXPECT_TRUE(contains(e.what(), "no such table: b")) << e.what();
    }

    EXPECT_THROW((void)db.prepare("SELECT 1; SELECT 2"), Error) << "prepare() takes one statement";

    Statement stmt = db.prepare("SELECT ?");
    try {
        stmt.bind_int64(2, 1);
        FAIL() << "bound a parameter that does not exist";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_RANGE);
        EXPECT_TRUE(contains(e.what(), "SELECT ?")) << e.what();
    }
}

TEST_F(StorageTest, TransactionRollsBackOnException) {
    Database db(db_path);
    db.exec("CREATE TABLE t (x INTEGER)");
    try {
        Transaction tx(db);
        db.exec("INSERT INTO t VALUES (1)");
        EXPECT_TRUE(db.in_transaction());
        throw std::runtime_error("something failed half way");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(db.in_transaction());
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM t"), 0);

    {
        Transaction tx(db);
        db.exec("INSERT INTO t VALUES (2)");
        tx.commit();
    }
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM t"), 1);

    // A second connection sees only committed data, and BEGIN IMMEDIATE keeps it from writing.
    Database other(db_path);
    other.set_busy_timeout(0);
    Transaction tx(db);
    db.exec("INSERT INTO t VALUES (3)");
    EXPECT_EQ(query_int(other, "SELECT COUNT(*) FROM t"), 1);
    try {
        Transaction blocked(other);
        FAIL() << "two write transactions at once";
    } catch (const Error& e) {
        EXPECT_EQ(e.primary_code(), SQLITE_BUSY);
    }
}

// ---------------------------------------------------------------------------------------------
// Migrations

TEST_F(StorageTest, HostMigrationsApplyOnceAndAreRecorded) {
    const auto before = std::chrono::system_clock::now();
    {
        Storage storage = Storage::open(db_path);
        EXPECT_EQ(storage.schema_version(), 2);
    }
    Database db(db_path);
    Statement rows = db.prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
    for (const auto& [version, name] : {std::pair<int, const char*>{1, "initial"}, {2, "ledger"}}) {
        ASSERT_TRUE(rows.step());
        EXPECT_EQ(rows.column_int64(0), version);
        EXPECT_EQ(rows.column_text(1), name);
        const auto applied = std::chrono::system_clock::time_point(std::chrono::seconds(rows.column_int64(2)));
        EXPECT_GE(applied, std::chrono::floor<std::chrono::seconds>(before));
        EXPECT_LE(applied, std::chrono::system_clock::now());
    }
    EXPECT_FALSE(rows.step());
    rows.reset();

    for (const char* name : {"shares", "blocks", "audit_log", "schema_migrations", "rounds", "round_workers", "balances",
                             "credits", "payments", "pool_reserve", "ledger_cursors", "balance_changes"}) {
        EXPECT_EQ(query_int(db, std::string("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '") +
                                    name + "'"),
                  1)
            << name;
    }
    for (const char* name : {"shares_created_at_ms", "shares_account", "blocks_status", "shares_share_key",
                             "rounds_one_open_per_coin", "payments_status"}) {
        EXPECT_EQ(query_int(db, std::string("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name = '") +
                                    name + "'"),
                  1)
            << name;
    }
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'audit_log'"), 2);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'balance_changes'"), 2);
}

TEST_F(StorageTest, ReopenIsIdempotent) {
    { Storage first = Storage::open(db_path); }
    { Storage second = Storage::open(db_path); }
    Database db(db_path);
    EXPECT_EQ(migrate(db, host_migrations()), 0);
    EXPECT_EQ(schema_version(db), 2);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM schema_migrations"), 2);
}

TEST_F(StorageTest, MigrationsApplyInOrderAndOnlyWhatIsNew) {
    const std::array<Migration, 3> all{{
        {1, "one", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"},
        {2, "two", "ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT 'two'"},
        {3, "three", "CREATE TABLE c (z INTEGER)"},
    }};
    Database db(db_path);
    EXPECT_EQ(schema_version(db), 0);
    EXPECT_EQ(migrate(db, std::span(all).first(2)), 2);
    EXPECT_EQ(schema_version(db), 2);
    EXPECT_EQ(query_text(db, "SELECT y FROM a"), "two");
    EXPECT_EQ(migrate(db, all), 1);
    EXPECT_EQ(schema_version(db), 3);
    EXPECT_EQ(migrate(db, all), 0);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM a"), 1) << "migration 1 ran once";
}

TEST_F(StorageTest, FailedMigrationRollsBackOnlyItself) {
    const std::array<Migration, 2> migrations{{
        {1, "good", "CREATE TABLE a (x INTEGER)"},
        {2, "broken", "CREATE TABLE b (x INTEGER); INSERT INTO missing VALUES (1);"},
    }};
    Database db(db_path);
    try {
        migrate(db, migrations);
        FAIL() << "a broken migration applied";
    } catch (const Error& e) {
        EXPECT_EQ(e.sql(), "INSERT INTO missing VALUES (1);");
    }
    EXPECT_FALSE(db.in_transaction());
    EXPECT_EQ(schema_version(db), 1);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'b'"), 0)
        << "the first statement of the failed migration was rolled back";
}

TEST_F(StorageTest, MigrationVersionsMustBeContiguousFromOne) {
    Database db(":memory:");
    const std::array<Migration, 2> gap{{{1, "a", "SELECT 1"}, {3, "c", "SELECT 1"}}};
    const std::array<Migration, 1> from_two{{{2, "b", "SELECT 1"}}};
    const std::array<Migration, 2> repeated{{{1, "a", "SELECT 1"}, {1, "a", "SELECT 1"}}};
    const std::array<Migration, 1> unnamed{{{1, nullptr, "SELECT 1"}}};
    EXPECT_THROW(migrate(db, gap), std::logic_error);
    EXPECT_THROW(migrate(db, from_two), std::logic_error);
    EXPECT_THROW(migrate(db, repeated), std::logic_error);
    EXPECT_THROW(migrate(db, unnamed), std::logic_error);
    EXPECT_EQ(schema_version(db), 0) << "nothing applied";
}

TEST_F(StorageTest, DatabaseFromNewerReleaseIsRefused) {
    { Storage storage = Storage::open(db_path); }
    {
        Database db(db_path);
        db.exec("INSERT INTO schema_migrations VALUES (3, 'from a newer release', 0)");
    }
    try {
        Storage storage = Storage::open(db_path);
        FAIL() << "opened a database from a newer release";
    } catch (const SchemaTooNewError& e) {
        EXPECT_EQ(e.database_version(), 3);
        EXPECT_EQ(e.known_version(), 2);
        EXPECT_TRUE(contains(e.what(), "schema version 3")) << e.what();
        EXPECT_TRUE(contains(e.what(), "schema version 2")) << e.what();
        EXPECT_TRUE(contains(e.what(), db_path)) << e.what();
    }
    Database db(db_path);
    EXPECT_EQ(schema_version(db), 3) << "the newer database was left alone";
}

// ---------------------------------------------------------------------------------------------
// Storage

TEST_F(StorageTest, SharesSurviveCloseAndReopen) {
    std::vector<ShareRecord> written;
    for (int n = 0; n < 5; ++n) written.push_back(make_share(n));
    written[2].hash.clear();  // stored as an empty blob, read back as an empty hash
    written[3].worker = "rig \xe2\x9b\x8f \"quoted\"";
    {
        Storage storage = Storage::open(db_path);
        for (auto& share : written) {
            share.id = storage.record_share(share);
            EXPECT_GT(share.id, 0);
        }
    }

    Storage storage = Storage::open(db_path);
    EXPECT_EQ(storage.count_shares(), 5);
    const auto recent = storage.recent_shares(100);
    ASSERT_EQ(recent.size(), written.size());
    for (std::size_t i = 0; i < recent.size(); ++i) {
        EXPECT_EQ(recent[i], written[written.size() - 1 - i]) << "newest first, index " << i;
    }
    const auto two = storage.recent_shares(2);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0], written[4]);
    EXPECT_EQ(two[1], written[3]);
    EXPECT_TRUE(storage.recent_shares(0).empty());
}

TEST_F(StorageTest, CommittedSharesSurviveSigkill) {
    constexpr int shares = 25;
    const pid_t child = fork();
    ASSERT_NE(child, -1) << "fork failed";
    if (child == 0) {
        // The child never returns into the test framework.
        try {
            Storage storage = Storage::open(db_path);
            for (int n = 0; n < shares; ++n) storage.record_share(make_share(n));
            raise(SIGKILL);  // right after the last commit returned: no close, no checkpoint
        } catch (...) {
        }
        _exit(3);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited with " << WEXITSTATUS(status) << " instead of dying";
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_TRUE(fs::exists(db_path + "-wal")) << "the shares were in the WAL, never checkpointed";

    Storage storage = Storage::open(db_path);
    EXPECT_EQ(storage.count_shares(), shares);
    const auto last = storage.recent_shares(1);
    ASSERT_EQ(last.size(), 1u);
    ShareRecord expected = make_share(shares - 1);
    expected.id = shares;
    EXPECT_EQ(last[0], expected);
}

TEST_F(StorageTest, AuditLogIsAppendOnly) {
    Storage storage = Storage::open(db_path);
    storage.audit("admin", "config.reload", "pool.fee 1.0 -> 0.5");
    storage.audit("payout.pplns", "credit", "{\"account\":\"x\",\"amount\":1}");

    Database db(db_path);
    for (const char* sql : {"UPDATE audit_log SET detail = 'forged' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1",
                            "DELETE FROM audit_log"}) {
        try {
            db.exec(sql);
            FAIL() << "audit_log accepted: " << sql;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_TRIGGER) << e.what();
            EXPECT_TRUE(contains(e.what(), "append-only")) << e.what();
            EXPECT_TRUE(contains(e.what(), sql)) << e.what();
        }
    }
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM audit_log"), 2);
    EXPECT_EQ(query_text(db, "SELECT detail FROM audit_log WHERE id = 1"), "pool.fee 1.0 -> 0.5");
    EXPECT_EQ(query_text(db, "SELECT actor || ' ' || action FROM audit_log WHERE id = 2"), "payout.pplns credit");
    const auto at_ms = query_int(db, "SELECT at_ms FROM audit_log WHERE id = 1");
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    EXPECT_LE(at_ms, now_ms);
    EXPECT_GT(at_ms, now_ms - 60'000);
}

TEST_F(StorageTest, BlocksAreRecordedWithConstraints) {
    Storage storage = Storage::open(db_path);
    BlockRecord block;
    block.coin = "XMR";
    block.height = 3'100'000;
    block.hash = std::vector<std::uint8_t>(32, 0xab);
    block.reward = 600'000'000'000;  // 0.6 XMR in piconero
    block.finder = "rig-1";
    block.status = BlockStatus::confirmed;
    block.confirmations = 10;
    block.found_at_ms = 1'790'000'000'000;
    const std::int64_t id = storage.record_block(block);
    EXPECT_GT(id, 0);

    {
        Database db(db_path);
        Statement row = db.prepare("SELECT coin, height, hex(hash), reward, finder, status, confirmations,"
                                   " found_at_ms FROM blocks WHERE id = ?");
        row.bind_int64(1, id);
        ASSERT_TRUE(row.step());
        EXPECT_EQ(row.column_text(0), "XMR");
        EXPECT_EQ(row.column_int64(1), 3'100'000);
        std::string hex;
        for (int i = 0; i < 32; ++i) hex += "AB";
        EXPECT_EQ(row.column_text(2), hex);
        EXPECT_EQ(row.column_int64(3), 600'000'000'000);
        EXPECT_EQ(row.column_text(4), "rig-1");
        EXPECT_EQ(row.column_text(5), "confirmed");
        EXPECT_EQ(row.column_int64(6), 10);
        EXPECT_EQ(row.column_int64(7), 1'790'000'000'000);
    }

    try {
        storage.record_block(block);
        FAIL() << "the same block hash was recorded twice";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_UNIQUE);
        EXPECT_TRUE(contains(e.what(), "blocks.hash")) << e.what();
    }

    BlockRecord negative = block;
    negative.hash[0] = 0x01;
    negative.reward = -1;
    try {
        storage.record_block(negative);
        FAIL() << "a negative reward was recorded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_CHECK);
        EXPECT_TRUE(contains(e.what(), "reward")) << e.what();
    }

    // The cached statement is usable again after a failure.
    negative.reward = 1;
    EXPECT_GT(storage.record_block(negative), id);
}

TEST_F(StorageTest, BadShareIsRejectedAndNothingIsLost) {
    Storage storage = Storage::open(db_path);
    storage.record_share(make_share(1));
    ShareRecord bad = make_share(2);
    bad.difficulty = std::nan("");  // SQLite stores NaN as NULL
    try {
        storage.record_share(bad);
        FAIL() << "a NaN difficulty was recorded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_NOTNULL);
        EXPECT_TRUE(contains(e.what(), "shares.difficulty")) << e.what();
    }
    storage.record_share(make_share(3));
    EXPECT_EQ(storage.count_shares(), 2);
}

TEST_F(StorageTest, WritableProbe) {
    Storage storage = Storage::open(db_path);
    EXPECT_TRUE(storage.writable());

    Database other(db_path);
    {
        Transaction holding_the_write_lock(other);
        const auto start = std::chrono::steady_clock::now();
        EXPECT_FALSE(storage.writable(std::chrono::milliseconds(50)));
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3)) << "the probe waited too long";
    }
    EXPECT_TRUE(storage.writable());
    storage.record_share(make_share(1));  // the probe left no transaction open behind it
    EXPECT_EQ(storage.count_shares(), 1);
}

TEST_F(StorageTest, ConcurrentWritersAreSerialized) {
    Storage storage = Storage::open(db_path);
    constexpr int threads = 4;
    constexpr int per_thread = 25;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&storage, t] {
            for (int n = 0; n < per_thread; ++n) {
                storage.record_share(make_share(t * per_thread + n));
                if (n % 10 == 0) (void)storage.recent_shares(5);
            }
        });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(storage.count_shares(), threads * per_thread);
}

}  // namespace
