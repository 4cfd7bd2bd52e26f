// Payments exactly once (core/host/payments.hpp with the devnet wallet): intents are written before anything
// is sent, a bad address fails its own line only, an unavailable wallet leaves intents for later, and a host
// killed with SIGKILL at random moments (and right after a transfer, before it was recorded) neither loses a
// payment nor pays one twice: after recovery every payment is in the wallet exactly once and the money adds up.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "host/payments.hpp"
#include "log/log.hpp"
#include "storage/database.hpp"
#include "storage/storage.hpp"

namespace fs = std::filesystem;
using namespace otedama::storage;
using otedama::host::DevnetWallet;
using otedama::host::PaymentRunner;
using otedama::host::Wallet;
using otedama::host::WalletError;

namespace {

class PaymentsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { otedama::log::init({.level = "error", .file = "", .json = false, .console = true}); }
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "otedama-payments-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir = pattern;
        db_path = (dir / "ledger.db").string();
        wallet_path = (dir / "wallet").string();
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path dir;
    std::string db_path, wallet_path;
};

std::int64_t query_int(Database& db, const std::string& sql) {
    Statement stmt = db.prepare(sql);
    if (!stmt.step()) throw std::runtime_error("no row: " + sql);
    return stmt.column_int64(0);
}

/// Credits a confirmed block of `reward` split over `accounts` (block `n`).
void credit(Storage& storage, std::uint32_t n, const std::vector<std::pair<std::string, std::int64_t>>& credits) {
    BlockRecord b;
    b.coin = "DEVNET";
    b.height = n;
    b.hash.assign(32, 0);
    for (int i = 0; i < 4; ++i) b.hash[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    b.finder = "x";
    b.found_at_ms = n;
    std::vector<Credit> cs;
    for (const auto& [account, amount] : credits) {
        b.reward += amount;
        cs.push_back({account, amount, false});
    }
    b.status = BlockStatus::confirmed;
    const auto id = storage.record_block(b);
    if (!storage.credit_block(id, "PPLNS", cs)) throw std::runtime_error("not credited");
}

/// A wallet that is down.
class DownWallet final : public Wallet {
public:
    std::optional<std::string> find(const PaymentRow&) override {
        throw WalletError(WalletError::Kind::unavailable, "wallet rpc: connection refused");
    }
    std::string name() const override { return "down"; }
    std::string transfer(const std::string&, const std::string&, std::int64_t) override {
        throw WalletError(WalletError::Kind::unavailable, "wallet rpc: connection refused");
    }
};

TEST_F(PaymentsTest, IntentsFirstBadAddressFailsAloneDownWalletWaits) {
    Storage storage = Storage::open(db_path);
    credit(storage, 1, {{"alice", 700}, {"bob", 300}, {"bad address!", 500}, {"small", 5}});
    {
        DownWallet down;
        PaymentRunner runner(storage, down);
        const auto r = runner.run("DEVNET", 100);
        EXPECT_EQ(r.waiting, 3u) << "alice, bob and the bad address are due; small is below the minimum";
        EXPECT_EQ(storage.payments_with_status("intent").size(), 3u) << "the intents stay for later";
        EXPECT_EQ(storage.balances("DEVNET").size(), 4u);
        for (const auto& b : storage.balances("DEVNET")) EXPECT_EQ(b.amount, b.account == "small" ? 5 : 0) << b.account;
        // While intents wait, no new ones are made: the next run settles them first.
        EXPECT_EQ(runner.run("DEVNET", 100).waiting, 3u);
        EXPECT_EQ(storage.payments("DEVNET", 100).size(), 3u);
    }
    DevnetWallet wallet(wallet_path);
    PaymentRunner runner(storage, wallet);
    const auto r = runner.run("DEVNET", 100);
    EXPECT_EQ(r.sent, 2u);
    EXPECT_EQ(r.failed, 1u);
    const auto transfers = wallet.transfers();
    ASSERT_EQ(transfers.size(), 2u);
    std::map<std::string, std::int64_t> paid;
    for (const auto& t : transfers) paid[t.address] += t.amount;
    EXPECT_EQ(paid["alice"], 700);
    EXPECT_EQ(paid["bob"], 300);
    // The bad address failed alone; its amount is back in its balance, with the cause on record.
    std::int64_t bad_balance = -1;
    for (const auto& b : storage.balances("DEVNET"))
        if (b.account == "bad address!") bad_balance = b.amount;
    EXPECT_EQ(bad_balance, 500);
    for (const auto& b : storage.balances("DEVNET")) EXPECT_EQ(storage.balance_change_sum("DEVNET", b.account), b.amount) << b.account;
    Database db(db_path);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM payments WHERE status = 'failed'"), 1);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM payments WHERE status = 'sent' AND txid <> ''"), 2);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM balance_changes WHERE cause = 'payment_failed'"), 1);
    // The next run: only the failed line's balance is due again (and fails again); nothing is paid twice.
    const auto again = runner.run("DEVNET", 100);
    EXPECT_EQ(again.sent, 0u);
    EXPECT_EQ(again.failed, 1u);
    EXPECT_EQ(wallet.transfers().size(), 2u);
}

// The child credits blocks and pays in a loop; it is killed at a random moment, or kills itself right after a
// transfer and before recording it (the worst moment). Each recovery settles the open intents. At the end:
// every transfer in the wallet belongs to exactly one payment, every 'sent' payment has exactly one transfer,
// and credits = balances + payments not failed.
TEST_F(PaymentsTest, PaymentsSurviveSigkillExactlyOnce) {
    std::mt19937 rng(0xFA11);
    std::uint32_t next_block = 1;
    for (int round = 0; round < 10; ++round) {
        const bool kill_after_send = round % 2 == 0;
        const std::uint32_t first = next_block;
        const int target = std::uniform_int_distribution<int>(1, 15)(rng);
        const pid_t child = fork();
        ASSERT_NE(child, -1);
        if (child == 0) {
            try {
                Storage storage = Storage::open(db_path);
                DevnetWallet wallet(wallet_path);
                int sends = 0;
                PaymentRunner runner(storage, wallet, [&](const PaymentRow&) {
                    if (kill_after_send && ++sends == target) raise(SIGKILL);  // sent, not recorded
                });
                runner.settle();
                for (std::uint32_t n = first;; ++n) {
                    credit(storage, n, {{"alice", 1000 + n}, {"bob", 2000}, {"carol", 17}, {"dave", 333}});
                    runner.run("DEVNET", 1500);
                }
            } catch (...) {
            }
            _exit(3);
        }
        if (!kill_after_send) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 400)(rng)));
            kill(child, SIGKILL);
        }
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the child exited with " << WEXITSTATUS(status);
        next_block += 100'000;

        // Recovery, as a restarting host does it.
        Storage storage = Storage::open(db_path);
        DevnetWallet wallet(wallet_path);
        PaymentRunner recover(storage, wallet);
        const auto settled = recover.settle();
        if (kill_after_send) {
            EXPECT_GE(settled.reconciled, 1u) << "round " << round << ": the payment sent before the kill";
        }
        EXPECT_TRUE(storage.payments_with_status("intent").empty());

        std::map<std::string, int> transfers_per_key;
        std::int64_t transferred = 0;
        for (const auto& t : wallet.transfers()) {
            ++transfers_per_key[t.key];
            transferred += t.amount;
        }
        Database db(db_path);
        Statement sent = db.prepare("SELECT idempotency_key, txid, amount FROM payments WHERE status = 'sent'");
        std::set<std::string> sent_keys;
        std::int64_t sent_total = 0;
        while (sent.step()) {
            const std::string key = sent.column_text(0);
            sent_keys.insert(key);
            sent_total += sent.column_int64(2);
            EXPECT_EQ(transfers_per_key[key], 1) << "round " << round << ": payment " << key << " in the wallet "
                                                 << transfers_per_key[key] << " times";
            EXPECT_EQ(wallet.find(key).value_or(""), sent.column_text(1));
        }
        for (const auto& [key, count] : transfers_per_key) EXPECT_TRUE(sent_keys.count(key)) << key << " was paid but is not recorded as sent";
        EXPECT_EQ(transferred, sent_total);
        const std::int64_t credited = query_int(db, "SELECT COALESCE(SUM(amount), 0) FROM credits");
        const std::int64_t owed = query_int(db, "SELECT COALESCE(SUM(amount), 0) FROM balances");
        EXPECT_EQ(credited, owed + sent_total) << "round " << round << ": money created or lost";
        for (const auto& b : storage.balances("DEVNET")) EXPECT_EQ(storage.balance_change_sum("DEVNET", b.account), b.amount);
    }
}

}  // namespace
