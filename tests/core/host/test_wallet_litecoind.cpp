// Payments through a REAL bitcoind-family wallet (core/host/wallet_rpc.hpp BitcoindWallet), against Debian's
// litecoind 0.21.2.1 (scripts/install-deps.sh) in -regtest on loopback, with its own data directory and free
// ports, wallet enabled: a "pool" wallet funded by 101 generated blocks (one mature coinbase, 50 LTC) pays
// fresh addresses of a second "miners" wallet; balances are checked on the node.
//  - exactly once across SIGKILL: a child process pays with the real wallet and kills itself right after the
//    sendmany returned, before the payment is recorded; after each crash the recovery finds the transfer by
//    its comment (the idempotency key) in listtransactions and records it instead of sending again. At the
//    end every address received exactly its amount once, and the pool wallet holds exactly one send per key;
//  - a bad address fails its own line only (the amount back in the balance); confirmations from
//    gettransaction move payments to 'confirmed';
//  - fee handling: with subtract_fee the miner receives the amount less the fee gettransaction reports;
//  - wallet errors: insufficient funds, a node that is down, wrong credentials leave the payment owed, each
//    counted by its reason, nothing crashes.
// The node is stopped by its PID at the end, on failure too (RAII). Waits poll with generous guards.
#include <gtest/gtest.h>

#include "host_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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
#include "storage/database.hpp"
#include "storage/storage.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace otedama::storage;
using otedama::host::BitcoindWallet;
using otedama::host::BlockingRpc;
using otedama::host::PaymentRunner;
using otedama::host::WalletError;

namespace {

constexpr const char* kLitecoind = "/usr/bin/litecoind";
constexpr const char* kLitecoinCli = "/usr/bin/litecoin-cli";
constexpr auto kGuard = 300s;

using otedama::test::free_port;
using otedama::test::HostConfig;
using otedama::test::HostProcess;
using otedama::test::Process;

template <class F>
bool eventually(F&& cond, std::chrono::seconds guard = kGuard) {
    const auto until = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(200ms);
    }
    return cond();
}

/// "0.12345678" (or "-0.1", "50") -> atomic units (8 decimals), exactly, from the text.
std::int64_t atomic_of(std::string s) {
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        s.erase(0, 1);
    }
    const auto dot = s.find('.');
    std::string whole = s.substr(0, dot), frac = dot == std::string::npos ? "" : s.substr(dot + 1);
    frac.resize(8, '0');
    const std::int64_t v = std::stoll(whole.empty() ? "0" : whole) * 100'000'000 + std::stoll(frac);
    return neg ? -v : v;
}

/// One litecoind -regtest with the wallet, RPC user/password u/p on loopback.
class Node {
public:
    explicit Node(fs::path dir) : dir_(std::move(dir)) {
        const auto ports = otedama::test::free_ports(2);
        rpc_ = ports[0];
        p2p_ = ports[1];
    }
    ~Node() { stop(); }

    void start() {
        fs::create_directories(dir_);
        const std::vector<std::string> args{"-regtest", "-datadir=" + dir_.string(), "-listen=0", "-connect=0",
                                            "-port=" + std::to_string(p2p_), "-rpcport=" + std::to_string(rpc_), "-rpcbind=127.0.0.1",
                                            "-rpcallowip=127.0.0.1", "-rpcuser=u", "-rpcpassword=p", "-dnsseed=0", "-discover=0",
                                            "-upnp=0", "-listenonion=0", "-fallbackfee=0.0002", "-printtoconsole=0"};
        process_ = std::make_unique<Process>(kLitecoind, args, otedama::test::ProcessOptions{.dir = dir_, .name = "litecoind", .append = true});
    }
    void stop() {
        if (process_) process_->kill(SIGTERM, 120s);
    }
    /// litecoin-cli's stdout (trimmed), or nullopt when it failed. `wallet`: -rpcwallet.
    [[nodiscard]] std::optional<std::string> cli(const std::string& args, const std::string& wallet = "") const {
        std::string cmd = std::string(kLitecoinCli) + " -regtest -datadir=" + dir_.string() + " -rpcport=" + std::to_string(rpc_) +
                          " -rpcconnect=127.0.0.1 -rpcuser=u -rpcpassword=p";
        if (!wallet.empty()) cmd += " -rpcwallet=" + wallet;
        cmd += " " + args + " 2>/dev/null";
        FILE* p = ::popen(cmd.c_str(), "r");
        if (p == nullptr) return std::nullopt;
        std::string out;
        char buf[4096];
        size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        if (::pclose(p) != 0) return std::nullopt;
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        return out;
    }
    [[nodiscard]] std::string must(const std::string& args, const std::string& wallet = "") const {
        const auto r = cli(args, wallet);
        if (!r) throw std::runtime_error("litecoin-cli " + args + " failed");
        return *r;
    }
    [[nodiscard]] uint16_t rpc_port() const { return rpc_; }
    [[nodiscard]] std::string log() const {
        std::ifstream in(dir_ / "regtest" / "debug.log");
        std::stringstream s;
        s << in.rdbuf();
        const std::string all = s.str();
        return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
    }

private:
    fs::path dir_;
    uint16_t rpc_ = 0, p2p_ = 0;
    std::unique_ptr<Process> process_;
};

/// The sends in `wallet` (listtransactions), per comment.
std::map<std::string, int> sends_by_comment(const Node& node, const std::string& wallet) {
    std::map<std::string, int> out;
    const auto text = node.must("listtransactions \"*\" 1000 0 true", wallet);
    const auto v = otedama::node::parse_json(text);
    if (!v) throw std::runtime_error("listtransactions: not JSON");
    const auto arr = v->extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const auto o = arr->getObject(static_cast<unsigned>(i));
        if (o->optValue<std::string>("category", "") == "send") ++out[o->optValue<std::string>("comment", "")];
    }
    return out;
}

/// What `address` (of the miners wallet) received, with 0 confirmations, in atomic units.
std::int64_t received(const Node& node, const std::string& address) {
    return atomic_of(node.must("getreceivedbyaddress " + address + " 0", "miners"));
}

std::int64_t query_int(Database& db, const std::string& sql) {
    Statement stmt = db.prepare(sql);
    if (!stmt.step()) throw std::runtime_error("no row: " + sql);
    return stmt.column_int64(0);
}

/// Credits a confirmed block `n` of LTC split as given.
void credit(Storage& storage, std::uint32_t n, const std::vector<std::pair<std::string, std::int64_t>>& credits) {
    BlockRecord b;
    b.coin = "LTC";
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

class LitecoindWallet : public ::testing::Test {
protected:
    static void SetUpTestSuite() { otedama::log::init({.level = "error", .file = "", .json = false, .console = true}); }

    void SetUp() override {
        ASSERT_TRUE(fs::exists(kLitecoind)) << kLitecoind << " is missing: install Debian's litecoind (scripts/install-deps.sh)";
        dir_ = fs::temp_directory_path() / ("otedama-wallet-ltc-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        db_path_ = (dir_ / "ledger.db").string();
        node_ = std::make_unique<Node>(dir_ / "node");
        node_->start();
        ASSERT_TRUE(eventually([&] { return node_->cli("getblockcount").has_value(); })) << node_->log();
        ASSERT_TRUE(node_->cli("createwallet pool"));
        ASSERT_TRUE(node_->cli("createwallet miners"));
        const std::string funding = node_->must("getnewaddress", "pool");
        ASSERT_TRUE(node_->cli("generatetoaddress 101 " + funding));
        ASSERT_EQ(atomic_of(node_->must("getbalance", "pool")), 50 * 100'000'000LL) << "one mature coinbase of 50 LTC";
    }
    void TearDown() override {
        node_.reset();  // stopped by its PID
        if (!HasFailure() && std::getenv("OTEDAMA_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_);
    }

    [[nodiscard]] BitcoindWallet::Options options(bool subtract_fee = false) const {
        BitcoindWallet::Options o;
        o.rpc.url = *otedama::common::parse_http_url("http://127.0.0.1:" + std::to_string(node_->rpc_port()));
        o.rpc.auth = {"u", "p", ""};
        o.rpc.timeout = 60s;
        o.wallet_name = "pool";
        o.subtract_fee = subtract_fee;
        return o;
    }

    fs::path dir_;
    std::string db_path_;
    std::unique_ptr<Node> node_;
};

TEST_F(LitecoindWallet, PaysEachAddressExactlyOnceAcrossSigkillAfterSendmany) {
    std::vector<std::pair<std::string, std::int64_t>> due;
    const std::vector<std::int64_t> amounts{123'456'789, 100'000'001, 250'000'000, 77'777'777, 300'000'000};
    for (const auto a : amounts) due.emplace_back(node_->must("getnewaddress", "miners"), a);
    due.emplace_back("LTCnotAnAddress0000000000000000000", 150'000'000);  // fails alone
    {
        Storage storage = Storage::open(db_path_);
        credit(storage, 1, due);
    }
    // Each round: a child pays with the real wallet and is killed (SIGKILL, by itself) right after its first
    // sendmany returned: the transfer is made, the record is not. The next round starts like a restarted host:
    // settle() first. Five transfers, so five crashes, each leaving one payment sent but unrecorded.
    int crashes = 0;
    for (int round = 0; round < 10; ++round) {
        const pid_t child = ::fork();
        ASSERT_NE(child, -1);
        if (child == 0) {
            try {
                Storage storage = Storage::open(db_path_);
                BitcoindWallet wallet(options());
                PaymentRunner runner(storage, wallet, [](const PaymentRow&) { ::raise(SIGKILL); });
                const auto settled = runner.settle();
                if (settled.sent + settled.reconciled + settled.failed + settled.waiting == 0) runner.run("LTC", 1000);
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
        // The crash left exactly one more send in the wallet than the ledger recorded.
        Storage storage = Storage::open(db_path_);
        const auto sends = sends_by_comment(*node_, "pool");
        std::size_t sent_sends = 0;
        for (const auto& [comment, count] : sends) {
            EXPECT_EQ(count, 1) << comment << " sent " << count << " times";
            sent_sends += static_cast<std::size_t>(count);
        }
        EXPECT_EQ(sent_sends, storage.payments_with_status("sent").size() + 1) << "round " << round;
        // The next round's settle() is the recovery a restarting host does: it must find that payment by its
        // comment and record it, never send it again (a second send would show as a count of 2 above).
    }
    EXPECT_EQ(crashes, 5) << "one crash after each of the five transfers";

    Storage storage = Storage::open(db_path_);
    EXPECT_TRUE(storage.payments_with_status("intent").empty());
    // On the node: each address received exactly its amount, once; one send per key; the bad address failed.
    for (std::size_t i = 0; i < amounts.size(); ++i) EXPECT_EQ(received(*node_, due[i].first), amounts[i]) << due[i].first;
    const auto sends = sends_by_comment(*node_, "pool");
    EXPECT_EQ(sends.size(), 5u);
    for (const auto& p : storage.payments("LTC", 100)) {
        if (p.account == due.back().first) {
            EXPECT_EQ(p.status, "failed");
            EXPECT_NE(p.error.find("Invalid"), std::string::npos) << p.error;
            continue;
        }
        EXPECT_EQ(p.status, "sent");
        EXPECT_EQ(sends.count(p.idempotency_key), 1u) << p.idempotency_key;
        // The txid recorded is the node's transaction paying that address.
        const auto tx = otedama::node::parse_json(node_->must("gettransaction " + p.txid, "miners"));
        ASSERT_TRUE(tx);
        EXPECT_EQ(atomic_of(tx->extract<Poco::JSON::Object::Ptr>()->get("amount").toString()), p.amount) << p.txid;
    }
    for (const auto& b : storage.balances("LTC")) {
        EXPECT_EQ(b.amount, b.account == due.back().first ? 150'000'000 : 0) << b.account;
        EXPECT_EQ(storage.balance_change_sum("LTC", b.account), b.amount) << b.account;
    }
    // Confirmations (gettransaction): none yet; after 6 blocks all five are confirmed.
    BitcoindWallet wallet(options());
    PaymentRunner runner(storage, wallet);
    EXPECT_EQ(runner.confirm(6), 0u);
    ASSERT_TRUE(node_->cli("generatetoaddress 6 " + node_->must("getnewaddress", "pool")));
    EXPECT_EQ(runner.confirm(6), 5u);
    Database db(db_path_);
    EXPECT_EQ(query_int(db, "SELECT COUNT(*) FROM payments WHERE status = 'confirmed'"), 5);
    // A later run pays nothing again: the failed line's balance is due again and fails again.
    const auto again = runner.run("LTC", 1000);
    EXPECT_EQ(again.sent, 0u);
    EXPECT_EQ(again.failed, 1u);
    EXPECT_EQ(sends_by_comment(*node_, "pool").size(), 5u);
}

TEST_F(LitecoindWallet, FeeFromTheAmountAndErrorsLeaveThePaymentOwed) {
    const std::string alice = node_->must("getnewaddress", "miners");
    const std::string bob = node_->must("getnewaddress", "miners");
    Storage storage = Storage::open(db_path_);
    std::map<std::string, int> errors;
    const auto count = [&](const WalletError& e) { ++errors[WalletError::name(e.kind())]; };

    // Node down (a port nobody listens on): unavailable, the intent waits, the balance is still owed.
    credit(storage, 1, {{alice, 200'000'000}});
    {
        auto o = options();
        o.rpc.url.port = free_port();
        BitcoindWallet down(o);
        PaymentRunner runner(storage, down);
        runner.on_error(count);
        const auto r = runner.run("LTC", 1000);
        EXPECT_EQ(r.waiting, 1u);
        EXPECT_EQ(errors["unavailable"], 1);
        ASSERT_EQ(storage.payments_with_status("intent").size(), 1u);
    }
    // Wrong credentials (HTTP 401): unavailable too, named in the error.
    {
        auto o = options();
        o.rpc.auth = {"u", "wrong", ""};
        BitcoindWallet bad(o);
        try {
            (void)bad.find(storage.payments_with_status("intent").front());
            ADD_FAILURE() << "no error with wrong credentials";
        } catch (const WalletError& e) {
            EXPECT_EQ(e.kind(), WalletError::Kind::unavailable);
            EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
        }
    }
    // With subtract_fee the miner pays the fee: received = amount - fee (the fee gettransaction reports).
    {
        BitcoindWallet wallet(options(true));
        PaymentRunner runner(storage, wallet);
        runner.on_error(count);
        const auto r = runner.settle();
        EXPECT_EQ(r.sent, 1u);
        const auto paid = storage.payments("LTC", 1).front();
        ASSERT_EQ(paid.status, "sent");
        const auto tx = otedama::node::parse_json(node_->must("gettransaction " + paid.txid, "pool"));
        ASSERT_TRUE(tx);
        const std::int64_t fee = -atomic_of(tx->extract<Poco::JSON::Object::Ptr>()->get("fee").toString());
        EXPECT_GT(fee, 0);
        EXPECT_EQ(received(*node_, alice), 200'000'000 - fee);
    }
    // Insufficient funds (more than the wallet's 50 LTC): the payment stays owed, counted, nothing crashes;
    // once the wallet has the coins (more blocks mature) it is paid, once, by the pool (fee on top).
    credit(storage, 2, {{bob, 60 * 100'000'000LL}});
    {
        BitcoindWallet wallet(options());
        PaymentRunner runner(storage, wallet);
        runner.on_error(count);
        const auto r = runner.run("LTC", 1000);
        EXPECT_EQ(r.waiting, 1u);
        EXPECT_EQ(errors["insufficient_funds"], 1);
        ASSERT_EQ(storage.payments_with_status("intent").size(), 1u);
        EXPECT_EQ(received(*node_, bob), 0);
        ASSERT_TRUE(node_->cli("generatetoaddress 2 " + node_->must("getnewaddress", "pool")));  // two more coinbases mature
        const auto later = runner.run("LTC", 1000);
        EXPECT_EQ(later.sent, 1u);
        EXPECT_EQ(received(*node_, bob), 60 * 100'000'000LL);
        EXPECT_EQ(sends_by_comment(*node_, "pool").size(), 2u);
    }
    for (const auto& b : storage.balances("LTC")) EXPECT_EQ(storage.balance_change_sum("LTC", b.account), b.amount) << b.account;
}

/// Runs `otedama-host serve` on `config` to its end (or its death), in `dir` with its output in <name>.log;
/// `kill_after_send` sets OTEDAMA_TEST_KILL_AFTER_SEND=1. @return the exit code (128 + signal when killed; -1
/// when it ran past the guard), its log in `*log`.
int serve(const fs::path& dir, const std::string& name, const HostConfig& config, bool kill_after_send, int run_for_s, std::string* log) {
    std::map<std::string, std::string> env;
    if (kill_after_send) env["OTEDAMA_TEST_KILL_AFTER_SEND"] = "1";
    HostProcess host(dir, config, {.args = {"serve", "--run-for", std::to_string(run_for_s)}, .name = name, .env = env});
    const auto code = host.wait_exit(kGuard);
    if (!code) host.kill9();
    *log = host.log();
    return code.value_or(-1);
}

// The whole host: `otedama-host serve` on the devnet chain (coin LTC, SOLO, one confirmation) credits the blocks
// its CPU finds to pool.fee_account, a litecoind regtest address, and pays it through pool.payments.wallet:
// bitcoind. With OTEDAMA_TEST_KILL_AFTER_SEND=1 it kills itself (SIGKILL) right after its first sendmany, before
// the ledger records it; started again it reconciles that payment with the wallet (found by its comment) and
// goes on paying: the node's wallet holds exactly one send per payment, and the address received exactly what
// the ledger says it paid.
TEST_F(LitecoindWallet, ServeKilledAfterSendmanyReconcilesOnRestart) {
    const std::string address = node_->must("getnewaddress", "miners");
    std::ostringstream yaml;
    yaml << "mining:\n  algorithm: sha256d\n  cpu:\n    threads: 1\n"
         << "pool:\n  enable: false\n  fee_account: " << address << "\n"
         << "  rewards:\n    system: SOLO\n    confirmations: 1\n"
         << "  payments:\n    minimum: 1000\n    interval: 1s\n    wallet: bitcoind\n"
         << "    rpc_url: http://127.0.0.1:" << node_->rpc_port() << "\n    rpc_user: u\n    rpc_password: p\n"
         << "    wallet_name: pool\n"
         << "storage:\n  path: " << db_path_ << "\n"
         << "devnet:\n  coin: LTC\n  difficulty: 0.001\n  block_time: 1s\n  refresh: 5s\n  reward: 1000000\n";
    const HostConfig config(yaml.str());
    std::string log1;
    const int killed = serve(dir_, "serve-1", config, true, 120, &log1);
    ASSERT_EQ(killed, 128 + SIGKILL) << "the host did not kill itself after a payment:\n" << log1;
    {
        Storage storage = Storage::open(db_path_);
        const auto open = storage.payments_with_status("intent");
        ASSERT_FALSE(open.empty()) << "the payment sent before the kill is still an intent in the ledger";
        const auto sends = sends_by_comment(*node_, "pool");
        ASSERT_EQ(sends.size(), 1u);
        EXPECT_EQ(sends.count(open.front().idempotency_key), 1u) << open.front().idempotency_key;
        EXPECT_EQ(received(*node_, address), open.front().amount);
    }
    std::string log2;
    const int clean = serve(dir_, "serve-2", config, false, 8, &log2);
    ASSERT_EQ(clean, 0) << log2;
    EXPECT_NE(log2.find("1 reconciled with the wallet"), std::string::npos) << log2;
    Storage storage = Storage::open(db_path_);
    EXPECT_TRUE(storage.payments_with_status("intent").empty());
    const auto sends = sends_by_comment(*node_, "pool");
    std::int64_t paid = 0;
    std::size_t sent = 0;
    for (const auto& p : storage.payments("LTC", 1000)) {
        ASSERT_EQ(p.status, "sent") << p.idempotency_key << ": " << p.error;
        EXPECT_EQ(sends.count(p.idempotency_key) ? sends.at(p.idempotency_key) : 0, 1) << p.idempotency_key;
        paid += p.amount;
        ++sent;
    }
    EXPECT_GE(sent, 2u) << "the restarted host paid more after the reconciled one:\n" << log2;
    EXPECT_EQ(sends.size(), sent);
    EXPECT_EQ(received(*node_, address), paid);
}

TEST(DecimalAmount, ExactFromIntegers) {
    EXPECT_EQ(otedama::host::decimal_amount(0, 8), "0.00000000");
    EXPECT_EQ(otedama::host::decimal_amount(1, 8), "0.00000001");
    EXPECT_EQ(otedama::host::decimal_amount(123'456'789, 8), "1.23456789");
    EXPECT_EQ(otedama::host::decimal_amount(2'100'000'000'000'000, 8), "21000000.00000000");
    EXPECT_EQ(otedama::host::decimal_amount(-5, 8), "-0.00000005");
    EXPECT_EQ(otedama::host::decimal_amount(INT64_MIN, 8), "-92233720368.54775808");
    EXPECT_EQ(otedama::host::json_quote("a\"b\\"), R"("a\"b\\")");
}

}  // namespace
