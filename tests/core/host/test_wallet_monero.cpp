// Payments through a REAL monero-wallet-rpc (core/host/wallet_rpc.hpp MoneroWallet), from Debian's monero
// package (v0.18, scripts/install-deps.sh): monerod --regtest --offline --fixed-difficulty 1 on loopback with
// its own data directory and free ports, monero-wallet-rpc on it with a fresh wallet; `generateblocks` pays 80
// coinbases to the wallet (60 blocks to unlock a coinbase: about 20 are spendable), and a second account of
// the same wallet has the miners' subaddresses, so what they received is checked in the wallet itself.
//  - exactly once across SIGKILL: a child pays with the real wallet and kills itself right after transfer()
//    returned (built with do_not_relay, noted with the idempotency key, relayed, stored), before the payment
//    is recorded; the next round's settle() finds it by its note (get_transfers) and records it instead of
//    paying again. At the end each subaddress received exactly its amount, once; one outgoing transfer per key;
//  - a bad address fails its own line only; confirmations (get_transfer_by_txid) move payments to 'confirmed';
//  - insufficient funds leaves the payment owed.
// Both processes are stopped by their PID at the end (RAII). Waits poll with generous guards.
#include <gtest/gtest.h>

#include "host_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <otedama/node/jsonrpc.hpp>

#include "host/payments.hpp"
#include "host/wallet_rpc.hpp"
#include "log/log.hpp"
#include "storage/storage.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace otedama::storage;
using otedama::host::BlockingRpc;
using otedama::host::MoneroWallet;
using otedama::host::PaymentRunner;
using otedama::host::WalletError;

namespace {

constexpr const char* kMonerod = "/usr/bin/monerod";
constexpr const char* kWalletRpc = "/usr/bin/monero-wallet-rpc";
constexpr auto kGuard = 300s;

template <class F>
bool eventually(F&& cond, std::chrono::seconds guard = kGuard) {
    const auto until = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(200ms);
    }
    return cond();
}

using otedama::test::Process;
using otedama::test::ProcessOptions;

BlockingRpc rpc_to(uint16_t port) {
    BlockingRpc::Options o;
    o.url = *otedama::common::parse_http_url("http://127.0.0.1:" + std::to_string(port) + "/json_rpc");
    o.version = "2.0";
    o.timeout = 240s;
    return BlockingRpc(o);
}

Poco::JSON::Object::Ptr object(const Poco::Dynamic::Var& v) {
    auto o = otedama::node::as_object(v);
    if (o.isNull()) throw std::runtime_error("not an object: " + v.toString());
    return o;
}

void credit(Storage& storage, std::uint32_t n, const std::vector<std::pair<std::string, std::int64_t>>& credits) {
    BlockRecord b;
    b.coin = "XMR";
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

class MoneroWalletRpc : public ::testing::Test {
protected:
    static void SetUpTestSuite() { otedama::log::init({.level = "error", .file = "", .json = false, .console = true}); }

    void SetUp() override {
        ASSERT_TRUE(fs::exists(kMonerod) && fs::exists(kWalletRpc)) << "install Debian's monero package (scripts/install-deps.sh)";
        dir_ = fs::temp_directory_path() / ("otedama-wallet-xmr-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "wallets");
        const auto ports = otedama::test::free_ports(4);
        daemon_port_ = ports[0];
        wallet_port_ = ports[1];
        const auto p2p = ports[2], zmq = ports[3];
        // Their console output goes to monerod-console.log and wallet-rpc-console.log (their own logs: --log-file).
        monerod_ = std::make_unique<Process>(
            kMonerod,
            std::vector<std::string>{"--regtest", "--offline", "--fixed-difficulty", "1", "--data-dir", (dir_ / "monerod").string(),
                                     "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port", std::to_string(daemon_port_), "--p2p-bind-ip", "127.0.0.1",
                                     "--p2p-bind-port", std::to_string(p2p), "--zmq-rpc-bind-port", std::to_string(zmq), "--non-interactive",
                                     "--no-igd", "--log-file", (dir_ / "monerod.log").string()},
            ProcessOptions{.dir = dir_, .name = "monerod-console"});
        wallet_rpc_ = std::make_unique<Process>(
            kWalletRpc,
            std::vector<std::string>{"--wallet-dir", (dir_ / "wallets").string(), "--rpc-bind-ip", "127.0.0.1", "--rpc-bind-port",
                                     std::to_string(wallet_port_), "--disable-rpc-login", "--daemon-address",
                                     "127.0.0.1:" + std::to_string(daemon_port_), "--trusted-daemon", "--non-interactive",
                                     "--shared-ringdb-dir", (dir_ / "ringdb").string(), "--log-file", (dir_ / "wallet-rpc.log").string()},
            ProcessOptions{.dir = dir_, .name = "wallet-rpc-console"});
        auto daemon = rpc_to(daemon_port_);
        auto wallet = rpc_to(wallet_port_);
        const auto answers = [](BlockingRpc& r, const char* method) {
            try {
                r.call(method, "");
                return true;
            } catch (const std::exception&) {
                return false;
            }
        };
        ASSERT_TRUE(eventually([&] { return answers(daemon, "get_info"); })) << "monerod did not answer";
        ASSERT_TRUE(eventually([&] { return answers(wallet, "get_version"); })) << "monero-wallet-rpc did not answer";
        wallet.call("create_wallet", R"({"filename":"pool","language":"English"})");
        address_ = object(wallet.call("get_address", R"({"account_index":0})"))->getValue<std::string>("address");
        // 80 coinbases to the wallet: a coinbase unlocks after 60 blocks, so about 20 are spendable.
        generate(80);
        ASSERT_TRUE(eventually([&] {
            wallet.call("refresh", "");
            return object(wallet.call("get_balance", R"({"account_index":0})"))->getValue<std::uint64_t>("unlocked_balance") > 0;
        })) << "no unlocked balance";
    }
    void TearDown() override {
        wallet_rpc_.reset();
        monerod_.reset();
        if (!HasFailure() && std::getenv("OTEDAMA_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_);
    }

    void generate(int blocks) {
        auto daemon = rpc_to(daemon_port_);
        daemon.call("generateblocks", "{\"amount_of_blocks\":" + std::to_string(blocks) + ",\"wallet_address\":\"" + address_ + "\"}");
    }
    [[nodiscard]] MoneroWallet::Options options() const {
        MoneroWallet::Options o;
        o.rpc.url = *otedama::common::parse_http_url("http://127.0.0.1:" + std::to_string(wallet_port_));
        o.rpc.timeout = 240s;
        return o;
    }
    /// Outgoing transfers of account 0 (out, pending, pool), per note.
    std::map<std::string, int> outgoing_by_note() {
        auto wallet = rpc_to(wallet_port_);
        const auto o = object(wallet.call("get_transfers", R"({"out":true,"pending":true,"pool":true,"account_index":0})"));
        std::map<std::string, int> out;
        for (const char* list : {"out", "pending", "pool"}) {
            if (!o->has(list)) continue;
            const auto arr = o->getArray(list);
            for (std::size_t i = 0; i < arr->size(); ++i) ++out[arr->getObject(static_cast<unsigned>(i))->optValue<std::string>("note", "")];
        }
        return out;
    }
    /// What each subaddress of account 1 received (in, pool), by address index.
    std::map<std::uint32_t, std::int64_t> received_by_miners() {
        auto wallet = rpc_to(wallet_port_);
        wallet.call("refresh", "");
        const auto o = object(wallet.call("get_transfers", R"({"in":true,"pool":true,"account_index":1})"));
        std::map<std::uint32_t, std::int64_t> out;
        for (const char* list : {"in", "pool"}) {
            if (!o->has(list)) continue;
            const auto arr = o->getArray(list);
            for (std::size_t i = 0; i < arr->size(); ++i) {
                const auto t = arr->getObject(static_cast<unsigned>(i));
                out[t->getObject("subaddr_index")->getValue<std::uint32_t>("minor")] += t->getValue<std::int64_t>("amount");
            }
        }
        return out;
    }

    fs::path dir_;
    uint16_t daemon_port_ = 0, wallet_port_ = 0;
    std::string address_;
    std::unique_ptr<Process> monerod_, wallet_rpc_;
};

TEST_F(MoneroWalletRpc, PaysEachSubaddressExactlyOnceAcrossSigkillAfterTransfer) {
    auto wallet = rpc_to(wallet_port_);
    wallet.call("create_account", R"({"label":"miners"})");
    std::vector<std::pair<std::string, std::int64_t>> due;
    const std::vector<std::int64_t> amounts{1'234'567'890'123, 2'000'000'000'001, 777'777'777};
    for (std::size_t i = 0; i < amounts.size(); ++i) {
        // Subaddress i+1 of account 1 (index 0 is the account's own address).
        const auto a = object(wallet.call("create_address", R"({"account_index":1})"));
        ASSERT_EQ(a->getValue<std::uint32_t>("address_index"), i + 1);
        due.emplace_back(a->getValue<std::string>("address"), amounts[i]);
    }
    due.emplace_back("4notAMoneroAddress", 5'000'000'000);  // fails alone
    const std::string db_path = (dir_ / "ledger.db").string();
    {
        Storage storage = Storage::open(db_path);
        credit(storage, 1, due);
    }
    int crashes = 0;
    for (int round = 0; round < 8; ++round) {
        const pid_t child = ::fork();
        ASSERT_NE(child, -1);
        if (child == 0) {
            try {
                Storage storage = Storage::open(db_path);
                MoneroWallet w(options());
                PaymentRunner runner(storage, w, [](const PaymentRow&) { ::raise(SIGKILL); });
                const auto settled = runner.settle();
                if (settled.sent + settled.reconciled + settled.failed + settled.waiting == 0) runner.run("XMR", 1000);
                if (round > 0 && settled.reconciled != 1) ::_exit(5);  // the payment sent before the last kill
                ::_exit(storage.payments_with_status("intent").empty() ? 0 : 4);
            } catch (...) {
                ::_exit(3);
            }
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        if (WIFEXITED(status)) {
            ASSERT_EQ(WEXITSTATUS(status), 0) << "round " << round;
            break;
        }
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ++crashes;
        Storage storage = Storage::open(db_path);
        std::size_t total = 0;
        for (const auto& [note, count] : outgoing_by_note()) {
            EXPECT_EQ(count, 1) << note << " sent " << count << " times";
            total += static_cast<std::size_t>(count);
        }
        EXPECT_EQ(total, storage.payments_with_status("sent").size() + 1) << "round " << round;
    }
    EXPECT_EQ(crashes, 3) << "one crash after each of the three transfers";

    Storage storage = Storage::open(db_path);
    EXPECT_TRUE(storage.payments_with_status("intent").empty());
    const auto notes = outgoing_by_note();
    EXPECT_EQ(notes.size(), 3u);
    for (const auto& p : storage.payments("XMR", 100)) {
        if (p.account == due.back().first) {
            EXPECT_EQ(p.status, "failed");
            continue;
        }
        EXPECT_EQ(p.status, "sent");
        EXPECT_EQ(notes.count(p.idempotency_key), 1u) << p.idempotency_key;
    }
    generate(1);
    const auto got = received_by_miners();
    for (std::size_t i = 0; i < amounts.size(); ++i) EXPECT_EQ(got.count(static_cast<std::uint32_t>(i + 1)) ? got.at(static_cast<std::uint32_t>(i + 1)) : -1, amounts[i]) << "subaddress " << i + 1;
    for (const auto& b : storage.balances("XMR")) {
        EXPECT_EQ(b.amount, b.account == due.back().first ? 5'000'000'000 : 0) << b.account;
        EXPECT_EQ(storage.balance_change_sum("XMR", b.account), b.amount) << b.account;
    }
    // Confirmations: after 10 blocks all three are confirmed.
    MoneroWallet w(options());
    PaymentRunner runner(storage, w);
    generate(10);
    ASSERT_TRUE(eventually([&] {
        wallet.call("refresh", "");
        return runner.confirm(10) > 0 || storage.payments_with_status("sent").empty();
    }));
    EXPECT_TRUE(eventually([&] {
        runner.confirm(10);
        return storage.payments_with_status("sent").empty();
    }));
    // More than the wallet holds: insufficient funds, the payment stays owed, nothing else moves.
    credit(storage, 2, {{due[0].first, 4'000'000'000'000'000'000}});
    std::map<std::string, int> errors;
    runner.on_error([&](const WalletError& e) { ++errors[WalletError::name(e.kind())]; });
    const auto r = runner.run("XMR", 1000);
    EXPECT_EQ(r.waiting + r.failed, 2u) << "the big one waits; the bad address fails again";
    EXPECT_EQ(errors["insufficient_funds"], 1);
    EXPECT_EQ(storage.payments_with_status("intent").size(), 1u);
    EXPECT_EQ(outgoing_by_note().size(), 3u);
}

}  // namespace
