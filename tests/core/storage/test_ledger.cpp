// Tests for the ledger part of core/storage (schema 2): upgrade from schema 1, rounds, the block lifecycle
// pending -> confirmed -> credited (or orphaned), crediting in one transaction with its audit trail, per-share
// credits against the pool's reserve, the payout windows, and pruning.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
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

class LedgerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { otedama::log::init({.level = "error", .file = "", .json = false, .console = true}); }
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "otedama-ledger-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir = pattern;
        db_path = (dir / "ledger.db").string();
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path dir;
    std::string db_path;
};

std::int64_t query_int(Database& db, const std::string& sql) {
    Statement stmt = db.prepare(sql);
    if (!stmt.step()) throw std::runtime_error("no row: " + sql);
    return stmt.column_int64(0);
}

ShareRecord share(std::uint32_t n, std::string account, std::int64_t at_ms, double difficulty = 1.0, std::string coin = "BTC") {
    ShareRecord s;
    s.created_at_ms = at_ms;
    s.coin = std::move(coin);
    s.algorithm = "sha256d";
    s.job_id = 1;
    s.account = std::move(account);
    s.worker = s.account + ".rig";
    s.difficulty = difficulty;
    s.share_difficulty = difficulty;
    s.network_difficulty = 1000;
    s.block_reward = 625'000'000;
    s.tx_fees = 25'000'000;
    s.hash.assign(32, 0);
    for (int i = 0; i < 4; ++i) s.hash[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    return s;
}

BlockRecord block(std::uint8_t tag, std::int64_t height, std::int64_t reward, std::int64_t found_at_ms, std::string coin = "BTC") {
    BlockRecord b;
    b.coin = std::move(coin);
    b.height = height;
    b.hash.assign(32, tag);
    b.reward = reward;
    b.tx_fees = reward / 10;
    b.finder = "alice.rig";
    b.found_at_ms = found_at_ms;
    b.network_weight = 1'000'000;
    return b;
}

TEST_F(LedgerTest, ASchemaOneDatabaseIsUpgradedWithItsSharesKept) {
    {
        Database db(db_path);
        migrate(db, host_migrations().first(1));
        db.exec("INSERT INTO shares (created_at_ms, coin, algorithm, job_id, worker, account, difficulty, share_difficulty,"
                " is_block, hash) VALUES (1, 'BTC', 'sha256d', 1, 'old.rig', 'old', 2.0, 2.0, 0, x'0102')");
    }
    Storage storage = Storage::open(db_path);
    EXPECT_EQ(storage.schema_version(), 2);
    EXPECT_EQ(storage.count_shares(), 1);
    // The old row has no key; new shares get one and are counted once.
    EXPECT_GT(storage.record_share(share(1, "alice", 10)), 0);
    EXPECT_EQ(storage.record_share(share(1, "alice", 10)), 0) << "the same share again is not a new row";
    EXPECT_EQ(storage.count_shares(), 2);
}

TEST_F(LedgerTest, BlocksCloseRoundsAndRoundsSumSharesPerWorker) {
    Storage storage = Storage::open(db_path);
    storage.record_shares({share(1, "alice", 100, 2.0), share(2, "alice", 110, 2.0), share(3, "bob", 120, 1.5),
                           share(4, "carol", 125, 1.0, "LTC")});
    const auto b1 = storage.record_block(block(0xb1, 10, 1000, 130));
    storage.record_shares({share(5, "bob", 140, 4.0)});
    const auto blocks = storage.blocks("BTC", 10);
    ASSERT_EQ(blocks.size(), 1u);
    EXPECT_EQ(blocks[0].id, b1);
    ASSERT_NE(blocks[0].round_id, 0);
    const auto round = storage.round_workers(blocks[0].round_id);
    ASSERT_EQ(round.size(), 2u) << "BTC's round: alice and bob (carol mined LTC)";
    EXPECT_EQ(round[0].account, "alice");
    EXPECT_EQ(round[0].shares, 2);
    EXPECT_EQ(round[0].weight, 4000);
    EXPECT_EQ(round[0].first_at_ms, 100);
    EXPECT_EQ(round[0].last_at_ms, 110);
    EXPECT_EQ(round[1].account, "bob");
    EXPECT_EQ(round[1].weight, 1500);
    Database db(db_path);
    EXPECT_EQ(query_int(db, "SELECT weight FROM round_workers WHERE account = 'bob' AND round_id <> " +
                                std::to_string(blocks[0].round_id)),
              4000)
        << "bob's share after the block is in the next round";
}

TEST_F(LedgerTest, ABlockIsCreditedOnceAfterItsConfirmationsWithAnAuditTrail) {
    Storage storage = Storage::open(db_path);
    const auto id = storage.record_block(block(0xc1, 100, 1'000'000, 5000));
    const auto other = storage.record_block(block(0xc2, 101, 2'000'000, 6000));
    EXPECT_TRUE(storage.blocks_to_credit().empty()) << "pending blocks are not credited";

    EXPECT_EQ(storage.advance_confirmations("BTC", 105, 10), 0);
    auto rows = storage.blocks("BTC", 10);
    EXPECT_EQ(rows[1].confirmations, 5);
    EXPECT_EQ(rows[1].status, BlockStatus::pending);
    EXPECT_EQ(storage.advance_confirmations("LTC", 500, 10), 0) << "another coin's height changes nothing";
    EXPECT_EQ(storage.advance_confirmations("BTC", 110, 10), 1) << "100 reaches 10 confirmations, 101 has 9";
    rows = storage.blocks("BTC", 10);
    EXPECT_EQ(rows[1].status, BlockStatus::confirmed);
    EXPECT_EQ(rows[0].status, BlockStatus::pending);
    EXPECT_EQ(rows[0].confirmations, 9);
    // The second one is orphaned by the chain source: never credited.
    EXPECT_TRUE(storage.update_block(block(0xc2, 0, 0, 0).hash, -1, BlockStatus::orphaned));
    EXPECT_EQ(storage.advance_confirmations("BTC", 200, 10), 0) << "an orphaned block never becomes confirmed";
    ASSERT_EQ(storage.blocks_to_credit().size(), 1u);
    EXPECT_EQ(storage.blocks_to_credit()[0].id, id);

    // Credits that do not add up to the reward are refused whole.
    EXPECT_THROW(storage.credit_block(id, "PPLNS", {{"pool", 10'000, true}, {"alice", 989'999, false}}), Error);
    EXPECT_THROW(storage.credit_block(other, "PPLNS", {{"alice", 2'000'000, false}}), Error) << "orphaned";
    Database db(db_path);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM credits"), 0);

    const std::vector<Credit> credits{{"pool", 10'000, true}, {"alice", 600'000, false}, {"bob", 390'000, false}};
    EXPECT_TRUE(storage.credit_block(id, "PPLNS", credits));
    EXPECT_FALSE(storage.credit_block(id, "PPLNS", credits)) << "a block is credited once";
    const auto balances = storage.balances("BTC");
    ASSERT_EQ(balances.size(), 3u);
    EXPECT_EQ(balances[0].account, "alice");
    EXPECT_EQ(balances[0].amount, 600'000);
    for (const auto& b : balances) EXPECT_EQ(storage.balance_change_sum("BTC", b.account), b.amount) << b.account;
    EXPECT_EQ(query_int(db, "SELECT SUM(amount) FROM credits WHERE block_id = " + std::to_string(id)), 1'000'000);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM balance_changes WHERE cause = 'pool_fee'"), 1);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'block.credited'"), 1);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'block.orphaned'"), 1);
    EXPECT_TRUE(storage.blocks_to_credit().empty());
    EXPECT_EQ(storage.blocks("BTC", 10)[1].scheme, "PPLNS");
    // A credited block cannot be orphaned behind the ledger's back.
    EXPECT_THROW(storage.update_block(block(0xc1, 0, 0, 0).hash, -1, BlockStatus::orphaned), Error);
    // balance_changes is append-only.
    EXPECT_THROW(db.exec("UPDATE balance_changes SET delta = 1"), Error);
    EXPECT_THROW(db.exec("DELETE FROM balance_changes"), Error);
}

TEST_F(LedgerTest, PerShareCreditsComeFromTheReserveOnceEach) {
    Storage storage = Storage::open(db_path);
    storage.record_shares({share(1, "alice", 100), share(2, "bob", 200), share(3, "alice", 300)});
    const auto todo = storage.shares_to_credit("pps", 10);
    ASSERT_EQ(todo.size(), 3u);
    EXPECT_EQ(todo[0].weight, 1000);
    EXPECT_EQ(todo[0].network_weight, 1'000'000);
    EXPECT_EQ(todo[0].block_reward, 625'000'000);
    EXPECT_EQ(todo[0].tx_fees, 25'000'000);
    std::vector<ShareCredits> credits;
    for (const auto& s : todo) credits.push_back({s.id, s.coin, 600'000, {{"pool", 6'000, true}, {s.account, 594'000, false}}});
    auto reserves = storage.credit_shares("pps", "PPS", credits, todo.back().id);
    ASSERT_EQ(reserves.size(), 1u);
    EXPECT_EQ(reserves[0].second, -1'800'000) << "the pool pays before any block: the reserve goes negative";
    // Again (a crash before the caller knew): nothing twice.
    reserves = storage.credit_shares("pps", "PPS", credits, todo.back().id);
    EXPECT_EQ(storage.reserve("BTC"), -1'800'000);
    EXPECT_TRUE(storage.shares_to_credit("pps", 10).empty());
    EXPECT_EQ(storage.balances("BTC")[0].amount, 1'188'000);
    // A confirmed block fills the reserve.
    const auto id = storage.record_block(block(0xd1, 7, 5'000'000, 400));
    storage.advance_confirmations("BTC", 100, 1);
    EXPECT_TRUE(storage.credit_block_to_reserve(id, "PPS"));
    EXPECT_FALSE(storage.credit_block_to_reserve(id, "PPS"));
    EXPECT_EQ(storage.reserve("BTC"), 3'200'000);
    for (const auto& b : storage.balances("BTC")) EXPECT_EQ(storage.balance_change_sum("BTC", b.account), b.amount);
}

// Random share histories: the time window holds exactly the shares inside it, the work window is the
// shortest run of newest shares reaching the wanted weight.
TEST_F(LedgerTest, PayoutWindowsSelectExactlyTheirShares) {
    Storage storage = Storage::open(db_path);
    std::mt19937 rng(7);
    std::vector<ShareRecord> all;
    std::int64_t t = 1'000'000;
    for (std::uint32_t n = 0; n < 2000; ++n) {
        t += static_cast<std::int64_t>(rng() % 50);
        all.push_back(share(n, "acct" + std::to_string(rng() % 7), t, 0.5 + static_cast<double>(rng() % 8)));
    }
    storage.record_shares(all);
    for (int trial = 0; trial < 200; ++trial) {
        const std::int64_t to = 1'000'000 + static_cast<std::int64_t>(rng() % 60'000);
        const std::int64_t from = to - static_cast<std::int64_t>(rng() % 20'000);
        const auto window = storage.shares_between("BTC", from, to);
        std::size_t expected = 0;
        for (const auto& s : all) expected += s.created_at_ms >= from && s.created_at_ms <= to ? 1 : 0;
        ASSERT_EQ(window.size(), expected);
        for (const auto& s : window) ASSERT_TRUE(s.time_ms >= from && s.time_ms <= to);

        const std::int64_t want = static_cast<std::int64_t>(rng() % 200'000);
        const auto work = storage.last_shares_by_weight("BTC", to, want);
        std::int64_t sum = 0;
        for (const auto& s : work) {
            ASSERT_LE(s.time_ms, to);
            sum += s.weight;
        }
        if (!work.empty()) {
            EXPECT_GE(sum, std::min<std::int64_t>(want, sum));
            EXPECT_LT(sum - work.front().weight, want) << "the oldest share was needed to reach the weight";
            // Nothing newer than the window's oldest share (up to `to`) is left out.
            std::size_t newer = 0;
            for (const auto& s : all) newer += s.created_at_ms <= to && s.created_at_ms >= work.front().time_ms ? 1 : 0;
            EXPECT_GE(newer, work.size());
        }
    }
}

TEST_F(LedgerTest, PruningKeepsTheWindowOfUncreditedBlocksAndTheRoundSums) {
    Storage storage = Storage::open(db_path);
    storage.record_shares({share(1, "a", 1'000), share(2, "a", 2'000), share(3, "b", 50'000), share(4, "b", 99'000)});
    storage.record_block(block(0xe1, 1, 100, 2'500));  // pending: its window (1000 ms before it) must stay
    // Window 1000 ms: now - 1000 would drop all but the last, but the pending block at 2500 needs 1500..2500.
    EXPECT_EQ(storage.prune_shares(100'000, 1'000), 1) << "only the share older than the block's window goes";
    EXPECT_EQ(storage.count_shares(), 3);
    Database db(db_path);
    EXPECT_EQ(query_int(db, "SELECT SUM(shares) FROM round_workers"), 4) << "round sums stay";
    EXPECT_EQ(storage.prune_shares(100'000, 1'000, 1), 0) << "shares after the per-share cursor stay";
}

}  // namespace
