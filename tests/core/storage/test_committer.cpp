// Tests for core/storage/spill.hpp and committer.hpp: the spill file's framing, group commit with durable
// acknowledgement, spilling while the database is locked, idempotent replay, and SIGKILL at random moments.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "log/log.hpp"
#include "storage/committer.hpp"
#include "storage/database.hpp"
#include "storage/spill.hpp"
#include "storage/storage.hpp"

namespace fs = std::filesystem;
using namespace otedama::storage;
using namespace std::chrono_literals;

namespace {

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "otedama-committer-test-XXXXXX").string();
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

/// Share n: its hash (the ledger's unique key) encodes n.
ShareRecord share(std::uint32_t n) {
    ShareRecord s;
    s.created_at_ms = 1'790'000'000'000 + n;
    s.coin = n % 5 == 0 ? "LTC" : "BTC";
    s.algorithm = "sha256d";
    s.job_id = 7;
    s.worker = "alice.rig" + std::to_string(n % 4);
    s.account = n % 3 == 0 ? "bob" : "alice";
    s.difficulty = 2.5;
    s.share_difficulty = 3.25 + n;
    s.network_difficulty = 1000.0;
    s.is_block = false;
    s.hash.assign(32, 0);
    for (int i = 0; i < 4; ++i) s.hash[static_cast<std::size_t>(28 + i)] = static_cast<std::uint8_t>(n >> (8 * (3 - i)));
    return s;
}

std::uint32_t index_of(const std::vector<std::uint8_t>& hash) {
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = n << 8 | hash.at(static_cast<std::size_t>(28 + i));
    return n;
}

std::int64_t query_int(Database& db, const std::string& sql) {
    Statement stmt = db.prepare(sql);
    if (!stmt.step()) throw std::runtime_error("no row: " + sql);
    return stmt.column_int64(0);
}

class CommitterTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { otedama::log::init({.level = "error", .file = "", .json = false, .console = true}); }

    template <class Pred>
    static bool eventually(Pred pred) {
        const auto until = std::chrono::steady_clock::now() + 2min;  // generous: the machine is shared
        while (std::chrono::steady_clock::now() < until) {
            if (pred()) return true;
            std::this_thread::sleep_for(5ms);
        }
        return pred();
    }

    TempDir dir;
    std::string db_path = (dir.path() / "ledger.db").string();
    std::string spill_path = (dir.path() / "ledger.db.spill").string();
};

// The check value of CRC-32 (ISO-HDLC, as in IEEE 802.3 and zlib) over "123456789" is 0xCBF43926: Greg Cook's
// "Catalogue of parametrised CRC algorithms", https://reveng.sourceforge.io/crc-catalogue/17plus.htm#crc.cat.crc-32-iso-hdlc
TEST_F(CommitterTest, Crc32KnownAnswer) {
    const std::string check = "123456789";
    EXPECT_EQ(crc32({reinterpret_cast<const std::uint8_t*>(check.data()), check.size()}), 0xCBF43926u);
    EXPECT_EQ(crc32({}), 0u);
    // Incremental use gives the same value.
    const auto* p = reinterpret_cast<const std::uint8_t*>(check.data());
    EXPECT_EQ(crc32({p + 4, 5}, crc32({p, 4})), 0xCBF43926u);
}

TEST_F(CommitterTest, ShareRecordRoundTripsThroughTheSpillPayload) {
    ShareRecord s = share(77);
    s.is_block = true;
    s.worker = std::string("w\0rker", 6);  // any bytes
    ShareRecord back;
    ASSERT_TRUE(decode_share(encode_share(s), back));
    EXPECT_EQ(back, s);
    std::vector<std::uint8_t> payload = encode_share(s);
    payload.pop_back();
    EXPECT_FALSE(decode_share(payload, back)) << "a short payload must not decode";
    payload = encode_share(s);
    payload[0] = 99;
    EXPECT_FALSE(decode_share(payload, back)) << "an unknown payload version must not decode";
}

TEST_F(CommitterTest, SpillFileKeepsIntactRecordsAndDropsATornTail) {
    {
        SpillFile spill(spill_path);
        EXPECT_TRUE(spill.read().shares.empty()) << "no file: nothing to replay";
        spill.append({share(0), share(1), share(2)});
        spill.append({share(3), share(4)});
        const auto r = spill.read();
        ASSERT_EQ(r.shares.size(), 5u);
        for (std::uint32_t i = 0; i < 5; ++i) EXPECT_EQ(r.shares[i], share(i));
        EXPECT_EQ(r.discarded_bytes, 0u);
    }
    // A crash in the middle of the last append: its record is cut short.
    const auto size = fs::file_size(spill_path);
    fs::resize_file(spill_path, size - 5);
    {
        SpillFile spill(spill_path);
        const auto r = spill.read();
        ASSERT_EQ(r.shares.size(), 4u);
        EXPECT_GT(r.discarded_bytes, 0u);
        // The next append starts after the last intact record, so nothing after it is lost.
        spill.append({share(9)});
        const auto again = spill.read();
        ASSERT_EQ(again.shares.size(), 5u);
        EXPECT_EQ(again.shares[4], share(9));
        EXPECT_EQ(again.discarded_bytes, 0u);
    }
    // A flipped bit in the second record: its CRC fails and reading stops before it.
    {
        std::fstream f(spill_path, std::ios::in | std::ios::out | std::ios::binary);
        SpillFile probe(spill_path);
        const std::size_t first_record = 8 + 8 + encode_share(share(0)).size();
        f.seekp(static_cast<std::streamoff>(first_record + 8 + 3));
        char c = 0;
        f.seekg(static_cast<std::streamoff>(first_record + 8 + 3));
        f.get(c);
        f.seekp(static_cast<std::streamoff>(first_record + 8 + 3));
        f.put(static_cast<char>(c ^ 0x10));
    }
    const auto r = SpillFile(spill_path).read();
    ASSERT_EQ(r.shares.size(), 1u);
    EXPECT_EQ(r.shares[0], share(0));
    // Something that is not a spill file is refused, not overwritten.
    const std::string other = (dir.path() / "not-a-spill").string();
    std::ofstream(other) << "hello, this is not a spill file";
    EXPECT_THROW((void)SpillFile(other).read(), std::runtime_error);
}

TEST_F(CommitterTest, SharesAreGroupCommittedAndAcknowledgedOnlyWhenDurable) {
    Storage storage = Storage::open(db_path);
    CommitterOptions o;
    o.spill_path = spill_path;
    o.max_batch = 500;
    o.max_delay = 20ms;
    ShareCommitter committer(storage, o);

    // At acknowledgement time the share must be visible to another connection: committed, not queued.
    constexpr std::uint32_t checked = 20;
    Database other(db_path);
    std::mutex other_mutex;
    std::atomic<int> visible_at_ack{0}, acks{0}, failures{0};
    for (std::uint32_t n = 0; n < checked; ++n) {
        committer.submit(share(n), [&, n](bool durable) {
            if (!durable) ++failures;
            std::lock_guard lock(other_mutex);
            Statement q = other.prepare("SELECT COUNT(*) FROM shares WHERE share_key = ?");
            q.bind_blob(1, share(n).hash);
            if (q.step() && q.column_int64(0) == 1) ++visible_at_ack;
            ++acks;
        });
    }
    // Then many, from several threads at once.
    constexpr std::uint32_t per_thread = 2500;
    std::vector<std::thread> producers;
    for (std::uint32_t t = 0; t < 4; ++t) {
        producers.emplace_back([&, t] {
            for (std::uint32_t i = 0; i < per_thread; ++i) {
                committer.submit(share(checked + t * per_thread + i), [&](bool durable) {
                    if (!durable) ++failures;
                    ++acks;
                });
            }
        });
    }
    for (auto& p : producers) p.join();
    constexpr int total = static_cast<int>(checked + 4 * per_thread);
    ASSERT_TRUE(eventually([&] { return acks.load() == total; })) << acks.load() << " of " << total << " acknowledged";
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(visible_at_ack.load(), static_cast<int>(checked)) << "a share was acknowledged before it was committed";
    EXPECT_EQ(storage.count_shares(), total);
    const auto st = committer.stats();
    EXPECT_EQ(st.committed, static_cast<std::uint64_t>(total));
    EXPECT_LT(st.batches, static_cast<std::uint64_t>(total) / 10) << "shares were not grouped into batches";
    EXPECT_LE(st.largest_batch, o.max_batch);
    EXPECT_EQ(st.spilled, 0u);

    // The same shares again (a replay) are acknowledged but not counted twice.
    std::atomic<int> again{0};
    for (std::uint32_t n = 0; n < 10; ++n) committer.submit(share(n), [&](bool durable) { again += durable ? 1 : 0; });
    ASSERT_TRUE(eventually([&] { return again.load() == 10; }));
    EXPECT_EQ(storage.count_shares(), total);
    EXPECT_EQ(committer.stats().duplicates, 10u);

    // Rounds sum the shares per worker: every share counted once.
    EXPECT_EQ(query_int(other, "SELECT SUM(shares) FROM round_workers"), total);
    EXPECT_EQ(query_int(other, "SELECT SUM(weight) FROM round_workers"), static_cast<std::int64_t>(total) * 2500);
    EXPECT_EQ(query_int(other, "SELECT COUNT(*) FROM rounds WHERE closed_at_ms IS NULL"), 2) << "one open round per coin";

    committer.stop();
    std::atomic<int> refused{0};
    committer.submit(share(999'999), [&](bool durable) { refused += durable ? 0 : 1; });
    EXPECT_EQ(refused.load(), 1) << "after stop() a share must be refused, never acknowledged";
}

TEST_F(CommitterTest, WhileTheDatabaseIsLockedSharesAreSpilledThenReplayedOnce) {
    Storage storage = Storage::open(db_path);
    CommitterOptions o;
    o.spill_path = spill_path;
    o.lock_wait = 50ms;
    o.retry_interval = 100ms;
    ShareCommitter committer(storage, o);

    std::atomic<int> acks{0};
    auto submit = [&](std::uint32_t from, std::uint32_t to) {
        for (std::uint32_t n = from; n < to; ++n) committer.submit(share(n), [&](bool durable) { acks += durable ? 1 : 0; });
    };
    submit(0, 10);
    ASSERT_TRUE(eventually([&] { return acks.load() == 10; }));
    {
        // Another process takes the write lock and keeps it: the ledger cannot take shares.
        Database other(db_path);
        Transaction holding_the_write_lock(other);
        submit(10, 60);
        ASSERT_TRUE(eventually([&] { return acks.load() == 60; })) << "shares must still be acknowledged, from the spill file";
        EXPECT_TRUE(committer.spilling());
        const auto spilled = SpillFile(spill_path).read();
        EXPECT_EQ(spilled.shares.size(), 50u);
        EXPECT_EQ(query_int(other, "SELECT COUNT(*) FROM shares"), 10);
        EXPECT_GE(committer.stats().database_errors, 1u);
    }
    // The lock is gone: the spill file is replayed and emptied; later shares go to the database again.
    ASSERT_TRUE(eventually([&] { return !committer.spilling(); }));
    EXPECT_EQ(storage.count_shares(), 60);
    EXPECT_TRUE(SpillFile(spill_path).read().shares.empty());
    submit(60, 70);
    ASSERT_TRUE(eventually([&] { return acks.load() == 70; }));
    EXPECT_EQ(storage.count_shares(), 70);
    const auto st = committer.stats();
    EXPECT_EQ(st.spilled, 50u);
    EXPECT_EQ(st.replayed, 50u);
    Database check(db_path);
    EXPECT_EQ(query_int(check, "SELECT COUNT(DISTINCT share_key) FROM shares"), 70);
}

TEST_F(CommitterTest, ReplayAfterACrashBetweenCommitAndEmptyingCountsNothingTwice) {
    {
        SpillFile spill(spill_path);
        std::vector<ShareRecord> all;
        for (std::uint32_t n = 0; n < 10; ++n) all.push_back(share(n));
        spill.append(all);
    }
    Storage storage = Storage::open(db_path);
    for (std::uint32_t n = 0; n < 5; ++n) storage.record_share(share(n));  // the first half made it already
    ShareCommitter committer(storage, CommitterOptions{.spill_path = spill_path});
    EXPECT_FALSE(committer.spilling());
    EXPECT_EQ(storage.count_shares(), 10);
    EXPECT_EQ(committer.stats().replayed, 5u);
    EXPECT_EQ(committer.stats().duplicates, 5u);
    EXPECT_TRUE(SpillFile(spill_path).read().shares.empty());
}

TEST_F(CommitterTest, AMalformedShareIsRefusedAloneNotItsBatch) {
    Storage storage = Storage::open(db_path);
    CommitterOptions o;
    o.spill_path = spill_path;
    o.max_delay = 200ms;  // all three in one batch
    ShareCommitter committer(storage, o);
    std::atomic<int> ok{0}, bad{0};
    auto done = [&](bool durable) { (durable ? ok : bad) += 1; };
    ShareRecord broken = share(1);
    broken.difficulty = std::nan("");  // NOT NULL refuses it
    committer.submit(share(0), done);
    committer.submit(broken, done);
    committer.submit(share(2), done);
    ASSERT_TRUE(eventually([&] { return ok.load() + bad.load() == 3; }));
    EXPECT_EQ(ok.load(), 2);
    EXPECT_EQ(bad.load(), 1);
    EXPECT_EQ(storage.count_shares(), 2);
    EXPECT_FALSE(committer.spilling()) << "a bad share is not a database outage";
}

// A child process submits shares as fast as it can and reports every acknowledgement through a pipe; it is
// killed with SIGKILL at a random moment (in some rounds while another process holds the database's write
// lock, so that acknowledgements come from the spill file). After each kill the ledger, opened again (which
// replays the spill file), must hold every acknowledged share exactly once.
TEST_F(CommitterTest, AcknowledgedSharesSurviveSigkillAtRandomMoments) {
    std::mt19937 rng(20261121);
    std::set<std::uint32_t> acknowledged;
    std::uint32_t next = 0;
    for (int round = 0; round < 8; ++round) {
        const bool locked = round % 3 == 1;
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        const std::uint32_t first = next;
        const pid_t child = fork();
        ASSERT_NE(child, -1);
        if (child == 0) {
            close(fds[0]);
            try {
                Storage storage = Storage::open(db_path);
                CommitterOptions o;
                o.spill_path = spill_path;
                o.lock_wait = 20ms;
                o.retry_interval = 50ms;
                ShareCommitter committer(storage, o);
                std::mutex pipe_mutex;
                for (std::uint32_t n = first;; ++n) {
                    committer.submit(share(n), [&, n](bool durable) {
                        if (!durable) return;
                        std::lock_guard lock(pipe_mutex);
                        if (write(fds[1], &n, sizeof n) != static_cast<ssize_t>(sizeof n)) _exit(4);
                    });
                    if (n % 64 == 0) std::this_thread::sleep_for(1ms);
                }
            } catch (...) {
            }
            _exit(3);
        }
        close(fds[1]);
        std::unique_ptr<Database> holder;
        std::unique_ptr<Transaction> lock;
        if (locked) {
            holder = std::make_unique<Database>(db_path);
            // The child's migrations need the lock first: wait until it acknowledged something, then take it.
        }
        // Read acknowledgements for a random while, then kill.
        const auto kill_after = std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 600)(rng));
        const auto start = std::chrono::steady_clock::now();
        std::uint32_t n = 0;
        std::uint32_t got = 0;
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        while (std::chrono::steady_clock::now() - start < kill_after || got == 0) {
            const ssize_t r = read(fds[0], &n, sizeof n);
            if (r == static_cast<ssize_t>(sizeof n)) {
                acknowledged.insert(n);
                ++got;
                if (locked && !lock) lock = std::make_unique<Transaction>(*holder);
            } else {
                std::this_thread::sleep_for(1ms);
            }
            ASSERT_LT(std::chrono::steady_clock::now() - start, 2min) << "the child acknowledged nothing";
        }
        kill(child, SIGKILL);
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited with " << WEXITSTATUS(status);
        // Everything written to the pipe before the kill is still in it.
        fcntl(fds[0], F_SETFL, 0);
        while (read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n)) acknowledged.insert(n);
        close(fds[0]);
        lock.reset();
        holder.reset();
        next = (acknowledged.empty() ? first : *acknowledged.rbegin()) + 100'000;  // fresh shares for the next child

        // Recovery: opening the ledger and starting a committer replays the spill file.
        Storage storage = Storage::open(db_path);
        { ShareCommitter recover(storage, CommitterOptions{.spill_path = spill_path}); }
        Database db(db_path);
        EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM shares"), query_int(db, "SELECT COUNT(DISTINCT share_key) FROM shares"));
        Statement all = db.prepare("SELECT share_key FROM shares");
        std::set<std::uint32_t> in_ledger;
        while (all.step()) in_ledger.insert(index_of(all.column_blob(0)));
        std::size_t missing = 0;
        for (const std::uint32_t a : acknowledged) missing += in_ledger.count(a) == 0 ? 1 : 0;
        EXPECT_EQ(missing, 0u) << "round " << round << (locked ? " (database locked)" : "") << ": " << missing << " of "
                               << acknowledged.size() << " acknowledged shares are not in the ledger";
        EXPECT_EQ(query_int(db, "SELECT SUM(shares) FROM round_workers"), query_int(db, "SELECT COUNT(*) FROM shares"))
            << "round sums count every share once";
    }
    EXPECT_GT(acknowledged.size(), 8u);
}

}  // namespace
