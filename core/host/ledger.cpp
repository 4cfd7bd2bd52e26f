#include "host/ledger.hpp"

#include <otedama/otedama.h>

#include <csignal>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "host/wallet_rpc.hpp"
#include "log/log.hpp"

namespace otedama::host {
namespace {

constexpr const char* kShareCursor = "per_share_credits";
constexpr std::size_t kSharesPerTick = 5000;  // per transaction: keeps the committer's waits short

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// Calls a payout plugin's compute() with the two-call buffer protocol.
std::vector<storage::Credit> compute(const loader::PluginRecord& rec, const otd_payout_request_t& request, std::string* error) {
    const auto* table = static_cast<const otd_payout_t*>(rec.table);
    std::vector<otd_credit_t> raw(16);
    for (auto& c : raw) c = otd_credit_t{static_cast<uint32_t>(sizeof(otd_credit_t)), 0, nullptr, 0};
    uint64_t count = 0;
    char err[OTD_ERROR_CAP] = {};
    otd_status_t st = table->compute(rec.instance, &request, raw.data(), raw.size(), &count, err, sizeof err);
    if (st == OTD_ERR_BUFFER_TOO_SMALL) {
        raw.assign(count, otd_credit_t{static_cast<uint32_t>(sizeof(otd_credit_t)), 0, nullptr, 0});
        st = table->compute(rec.instance, &request, raw.data(), raw.size(), &count, err, sizeof err);
    }
    std::vector<storage::Credit> out;
    if (st != OTD_OK) {
        *error = std::string(rec.id) + " compute failed (status " + std::to_string(st) + "): " + err;
        return out;
    }
    if (count > raw.size()) {
        *error = rec.id + " said " + std::to_string(count) + " credits but wrote " + std::to_string(raw.size());
        return out;
    }
    for (uint64_t i = 0; i < count; ++i) {
        const otd_credit_t& c = raw[i];
        if (c.account == nullptr || c.amount > static_cast<uint64_t>(INT64_MAX)) {
            *error = rec.id + " returned a credit without an account or above 2^63";
            out.clear();
            return out;
        }
        out.push_back({c.account, static_cast<std::int64_t>(c.amount), c.is_fee != 0});
    }
    error->clear();
    return out;
}

}  // namespace

std::uint32_t LedgerKeeper::fee_ppm(double fee_percentage) noexcept {
    if (!(fee_percentage > 0)) return 0;
    if (fee_percentage >= 100) return 1'000'000;
    return static_cast<std::uint32_t>(std::llround(fee_percentage * 10'000.0));
}

std::unique_ptr<Wallet> LedgerKeeper::make_wallet(const config::Config& config, std::string* error, const std::string& coin) {
    const auto& pay = config.pool.payments;
    switch (pay.wallet) {
        case config::WalletKind::devnet:
            if (config.storage.path == ":memory:" || config.storage.path.empty()) {
                *error = "pool.payments.wallet devnet keeps its transfers next to the ledger file: it needs a storage.path on disk";
                return nullptr;
            }
            return std::make_unique<DevnetWallet>(config.storage.path + ".devnet-wallet" + (coin.empty() ? std::string() : "." + coin));
        case config::WalletKind::bitcoind:
        case config::WalletKind::monero: {
            std::string why;
            const auto url = common::parse_http_url(pay.rpc_url, &why);
            if (!url) {
                *error = "pool.payments.rpc_url '" + pay.rpc_url + "': " + (pay.rpc_url.empty() ? std::string("not set") : why);
                return nullptr;
            }
            if (url->tls()) {
                *error = "pool.payments.rpc_url '" + pay.rpc_url + "': https is not supported for the wallet's RPC (keep it on loopback)";
                return nullptr;
            }
            BlockingRpc::Options rpc;
            rpc.url = *url;
            rpc.auth = node::Auth{pay.rpc_user, pay.rpc_password, pay.rpc_cookie_file};
            if (pay.wallet == config::WalletKind::bitcoind) {
                rpc.version = "1.0";
                return std::make_unique<BitcoindWallet>(BitcoindWallet::Options{rpc, pay.wallet_name, pay.subtract_fee});
            }
            if (pay.subtract_fee) {
                *error = "pool.payments.subtract_fee is not supported with monero-wallet-rpc (the pool pays the fee)";
                return nullptr;
            }
            rpc.version = "2.0";
            return std::make_unique<MoneroWallet>(MoneroWallet::Options{rpc, 0});
        }
    }
    *error = "unknown pool.payments.wallet";
    return nullptr;
}

LedgerKeeper::LedgerKeeper(storage::Storage& storage, const loader::Loader& loader, const config::Config& config, router::Metrics* metrics,
                           std::string coin)
    : storage_(storage),
      config_(config),
      coin_(std::move(coin)),
      share_cursor_(coin_.empty() ? std::string(kShareCursor) : std::string(kShareCursor) + ":" + coin_),
      fee_ppm_(fee_ppm(config.pool.fee_percentage)),
      metrics_(metrics) {
    if (metrics_ != nullptr) {
        using D = router::Metrics::Desc;
        m_confirmed_ = *metrics_->add(D{OTD_METRIC_COUNTER, "otedama_blocks_confirmed_total",
                                        "Blocks of the pool that reached pool.rewards.confirmations", {"coin"}, {}});
        m_paid_ = *metrics_->add(D{OTD_METRIC_COUNTER, "otedama_payments_amount_atomic_units_total",
                                   "Amount of the payments sent, in the coin's atomic units", {"coin"}, {}});
    }
    scheme_name_ = std::string(config::to_string(config.pool.rewards.system));
    // The coin's own instance ("<id>@<coin>", configured with the coin's window) wins over the plugin's
    // first instance; instances of other coins are never used.
    for (const auto* rec : loader.loaded(OTD_KIND_PAYOUT)) {
        const auto* t = static_cast<const otd_payout_t*>(rec->table);
        if (t->scheme == nullptr || scheme_name_ != t->scheme) continue;
        const auto at = rec->id.find('@');
        if (at == std::string::npos) {
            if (scheme_ == nullptr || scheme_->id.find('@') == std::string::npos) scheme_ = rec;
        } else if (!coin_.empty() && rec->id.substr(at + 1) == coin_) {
            scheme_ = rec;
        }
    }
    if (scheme_ == nullptr) {
        log::get("ledger")->error("{}pool.rewards.system is {} but no loaded payout plugin has that scheme: blocks stay uncredited",
                                  coin_.empty() ? std::string() : coin_ + ": ", scheme_name_);
    } else if (!coin_.empty()) {
        log::get("ledger")->info("{}: rewards by {} ({}), {} confirmations, payments from {}", coin_, scheme_name_, scheme_->id,
                                 config.pool.rewards.confirmations, config.pool.payments.minimum);
    }
    if (metrics_ != nullptr) {
        const auto a = metrics_->add({OTD_METRIC_COUNTER, "otedama_payments_total",
                                      "Payments by result: sent, reconciled (found in the wallet after a crash), failed (refused for good), confirmed",
                                      {"wallet", "result"}, {}});
        const auto b = metrics_->add({OTD_METRIC_COUNTER, "otedama_payment_errors_total",
                                      "Wallet errors while paying: bad_address, refused, insufficient_funds, unavailable",
                                      {"wallet", "reason"}, {}});
        if (a && b) {
            payments_metric_ = *a;
            payment_errors_metric_ = *b;
            metrics_ok_ = true;
        }
    }
    if (config.pool.payments.minimum > 0) {
        std::string why;
        wallet_ = make_wallet(config, &why, coin_);
        if (!wallet_) {
            log::get("ledger")->error("{}payments are off: {}", coin_.empty() ? std::string() : coin_ + ": ", why);
            return;
        }
        // Fault injection for the crash tests: OTEDAMA_TEST_KILL_AFTER_SEND=1 makes the host kill itself (SIGKILL)
        // right after the wallet made a transfer and before the ledger recorded it: the worst moment.
        bool kill_after_send = false;
        if (const char* kill = std::getenv("OTEDAMA_TEST_KILL_AFTER_SEND"); kill != nullptr && std::string(kill) == "1") {
            log::get("ledger")->warn("OTEDAMA_TEST_KILL_AFTER_SEND=1: the host kills itself after the first payment it sends (a crash test)");
            kill_after_send = true;
        }
        std::function<void(const storage::PaymentRow&)> after_send = [this, kill_after_send](const storage::PaymentRow& p) {
            if (metrics_ != nullptr) metrics_->update(m_paid_, {p.coin}, static_cast<double>(p.amount));
            if (kill_after_send) std::raise(SIGKILL);
        };
        payments_ = std::make_unique<PaymentRunner>(storage_, *wallet_, std::move(after_send));
        payments_->only_coin(coin_);
        payments_->on_error([this](const WalletError& e) {
            if (metrics_ok_) metrics_->update(payment_errors_metric_, {wallet_->name(), WalletError::name(e.kind())}, 1);
        });
        try {
            // A restart: intents written before a crash are settled first (found in the wallet, or sent).
            const auto r = payments_->settle();
            count_payments(r);
            if (r.sent + r.reconciled + r.failed + r.waiting != 0) {
                log::get("ledger")->info("payments on start ({} wallet): {} reconciled with the wallet, {} sent, {} failed, {} waiting",
                                         wallet_->name(), r.reconciled, r.sent, r.failed, r.waiting);
            }
        } catch (const std::exception& e) {
            log::get("ledger")->error("payments: settling open intents failed: {}", e.what());
        }
    }
}

void LedgerKeeper::count_payments(const PaymentRunner::Result& r) {
    if (!metrics_ok_ || !wallet_) return;
    const std::string w = wallet_->name();
    if (r.sent != 0) metrics_->update(payments_metric_, {w, "sent"}, static_cast<double>(r.sent));
    if (r.reconciled != 0) metrics_->update(payments_metric_, {w, "reconciled"}, static_cast<double>(r.reconciled));
    if (r.failed != 0) metrics_->update(payments_metric_, {w, "failed"}, static_cast<double>(r.failed));
}

LedgerKeeper::~LedgerKeeper() = default;

std::string LedgerKeeper::account_or_pool(const std::string& account) const {
    return account.empty() ? config_.pool.fee_account : account;
}

void LedgerKeeper::block_lost(const std::vector<std::uint8_t>& hash) {
    std::lock_guard lock(lost_mutex_);
    lost_.push_back(hash);
}

void LedgerKeeper::tick(const std::string& coin, std::int64_t next_height, std::chrono::system_clock::time_point now) {
    const auto logger = log::get("ledger");
    try {
        // Orphaned or rejected blocks first: they must never be credited. A report may come before the block
        // is recorded (the source answers during submit): kept until it matches.
        std::vector<std::vector<std::uint8_t>> lost;
        {
            std::lock_guard lock(lost_mutex_);
            lost.swap(lost_);
        }
        std::vector<std::vector<std::uint8_t>> unmatched;
        for (const auto& h : lost) {
            try {
                if (!storage_.update_block(h, -1, storage::BlockStatus::orphaned)) unmatched.push_back(h);
            } catch (const storage::Error& e) {
                logger->error("{}", e.what());
            }
        }
        if (!unmatched.empty() && unmatched.size() < 1000) {
            std::lock_guard lock(lost_mutex_);
            lost_.insert(lost_.end(), unmatched.begin(), unmatched.end());
        }
        if (!coin.empty()) {
            const auto confirmed = storage_.advance_confirmations(coin, next_height, config_.pool.rewards.confirmations);
            if (confirmed > 0) logger->info("{} {} block(s) confirmed", confirmed, coin);
            if (confirmed > 0 && metrics_ != nullptr) metrics_->update(m_confirmed_, {coin}, static_cast<double>(confirmed));
        }
        if (scheme_ != nullptr) {
            credit_blocks();
            const auto* t = static_cast<const otd_payout_t*>(scheme_->table);
            otd_payout_window_t w{};
            w.struct_size = sizeof w;
            if (t->get_window(scheme_->instance, &w) == OTD_OK && w.type == OTD_PAYOUT_WINDOW_SHARE) credit_shares();
        }
        if (payments_ && !coin.empty() && now - last_payments_ >= config_.pool.payments.interval) {
            last_payments_ = now;
            const auto r = payments_->run(coin, config_.pool.payments.minimum);
            count_payments(r);
            if (r.sent + r.reconciled + r.failed != 0) {
                logger->info("payments {}: {} sent, {} reconciled, {} failed, {} waiting", coin, r.sent, r.reconciled, r.failed, r.waiting);
            }
            const auto confirmed = payments_->confirm(config_.pool.payments.confirmations);
            if (confirmed != 0 && metrics_ok_) metrics_->update(payments_metric_, {wallet_->name(), "confirmed"}, static_cast<double>(confirmed));
        }
        if (now - last_prune_ >= std::chrono::minutes(1)) {
            last_prune_ = now;
            const bool per_share = scheme_name_ == "PPS" || scheme_name_ == "FPPS";
            const auto pruned = storage_.prune_shares(to_ms(now), config_.pool.rewards.window.count(),
                                                      per_share ? storage_.cursor(share_cursor_) : INT64_MAX, coin_);
            if (pruned > 0) logger->debug("pruned {} raw shares older than the payout window (round sums kept)", pruned);
        }
    } catch (const std::exception& e) {
        logger->error("ledger bookkeeping failed: {}", e.what());
    }
}

void LedgerKeeper::credit_blocks() {
    const auto logger = log::get("ledger");
    const auto* table = static_cast<const otd_payout_t*>(scheme_->table);
    for (const storage::BlockRecord& b : storage_.blocks_to_credit()) {
        if (failed_blocks_.count(b.id) != 0 || (!coin_.empty() && b.coin != coin_)) continue;
        otd_payout_window_t w{};
        w.struct_size = sizeof w;
        if (table->get_window(scheme_->instance, &w) != OTD_OK) {
            logger->error("{}: get_window failed", scheme_->id);
            return;
        }
        if (w.type == OTD_PAYOUT_WINDOW_SHARE) {
            if (storage_.credit_block_to_reserve(b.id, scheme_name_)) {
                logger->info("block {} ({} height {}): reward {} into the {} reserve", b.id, b.coin, b.height, b.reward, scheme_name_);
            }
            continue;
        }
        std::vector<storage::WindowShare> window;
        switch (w.type) {
            case OTD_PAYOUT_WINDOW_TIME:
                window = storage_.shares_between(b.coin, b.found_at_ms - static_cast<std::int64_t>(w.duration_ms), b.found_at_ms);
                break;
            case OTD_PAYOUT_WINDOW_WORK: {
                std::int64_t want = 0;
                if (__builtin_mul_overflow(static_cast<std::int64_t>(w.work_multiple), b.network_weight, &want)) want = INT64_MAX;
                window = storage_.last_shares_by_weight(b.coin, b.found_at_ms, want);
                break;
            }
            case OTD_PAYOUT_WINDOW_ROUND:
                if (b.round_id != 0) {
                    for (const auto& r : storage_.round_workers(b.round_id))
                        window.push_back({0, r.account, r.weight, 0, r.last_at_ms});
                }
                break;
            default:
                break;  // FINDER: no shares
        }
        // Strings the request points into: kept alive here.
        std::vector<std::string> accounts;
        accounts.reserve(window.size());
        std::vector<otd_payout_share_t> shares;
        shares.reserve(window.size());
        for (const auto& s : window) {
            if (s.weight <= 0) continue;
            accounts.push_back(account_or_pool(s.account));
            otd_payout_share_t ps{};
            ps.struct_size = sizeof ps;
            ps.weight = static_cast<uint64_t>(s.weight);
            ps.network_weight = static_cast<uint64_t>(s.network_weight);
            ps.time_ms = s.time_ms;
            ps.share_id = static_cast<uint64_t>(s.id);
            shares.push_back(ps);
        }
        for (size_t i = 0; i < shares.size(); ++i) shares[i].account = accounts[i].c_str();
        // The finder is a worker name: its account is the part before the first '.'; local devices are the pool's.
        const std::string finder =
            account_or_pool(b.finder.rfind("local:", 0) == 0 ? std::string() : b.finder.substr(0, b.finder.find('.')));
        otd_payout_request_t req{};
        req.struct_size = sizeof req;
        req.fee_ppm = fee_ppm_;
        req.coin = b.coin.c_str();
        req.fee_account = config_.pool.fee_account.c_str();
        req.finder = finder.c_str();
        req.block_reward = static_cast<uint64_t>(b.reward);
        req.tx_fees = static_cast<uint64_t>(b.tx_fees);
        req.block_time_ms = b.found_at_ms;
        req.shares = shares.empty() ? nullptr : shares.data();
        req.share_count = shares.size();
        std::vector<storage::Credit> credits;
        std::string error;
        if (shares.empty() && w.type != OTD_PAYOUT_WINDOW_FINDER) {
            // Nobody to pay (no shares in the window): the pool keeps the block, on the record.
            logger->warn("block {} ({} height {}): no shares in the {} window; the reward goes to {}", b.id, b.coin, b.height,
                         scheme_name_, config_.pool.fee_account);
            if (b.reward > 0) credits.push_back({config_.pool.fee_account, b.reward, true});
        } else {
            credits = compute(*scheme_, req, &error);
            if (!error.empty()) {
                logger->error("block {} ({} height {}) not credited: {}", b.id, b.coin, b.height, error);
                failed_blocks_.insert(b.id);
                continue;
            }
        }
        try {
            if (storage_.credit_block(b.id, scheme_name_, credits)) {
                logger->info("block {} ({} height {}): reward {} credited by {} to {} account(s)", b.id, b.coin, b.height, b.reward,
                             scheme_name_, credits.size());
            }
        } catch (const storage::Error& e) {
            logger->error("block {} not credited: {}", b.id, e.what());
            failed_blocks_.insert(b.id);
        }
    }
}

void LedgerKeeper::credit_shares() {
    // Chunks of kSharesPerTick, each its own transaction (the committer's batches go in between), for at most
    // about half a second a tick: a pool taking more shares than that falls behind and catches up later.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (credit_share_chunk() == kSharesPerTick && std::chrono::steady_clock::now() < until) {
    }
}

std::size_t LedgerKeeper::credit_share_chunk() {
    const auto logger = log::get("ledger");
    const auto todo = storage_.shares_to_credit(share_cursor_, kSharesPerTick, coin_);
    if (todo.empty()) return 0;
    std::vector<storage::ShareCredits> out;
    out.reserve(todo.size());
    for (const auto& s : todo) {
        if (s.weight <= 0 || s.network_weight <= 0 || s.block_reward <= 0) continue;  // nothing to pay (e.g. before schema 2)
        const std::string account = account_or_pool(s.account);
        otd_payout_share_t ps{};
        ps.struct_size = sizeof ps;
        ps.account = account.c_str();
        ps.weight = static_cast<uint64_t>(s.weight);
        ps.network_weight = static_cast<uint64_t>(s.network_weight);
        ps.time_ms = s.time_ms;
        ps.share_id = static_cast<uint64_t>(s.id);
        otd_payout_request_t req{};
        req.struct_size = sizeof req;
        req.fee_ppm = fee_ppm_;
        req.coin = s.coin.c_str();
        req.fee_account = config_.pool.fee_account.c_str();
        req.block_reward = static_cast<uint64_t>(s.block_reward);
        req.tx_fees = static_cast<uint64_t>(std::min(s.tx_fees, s.block_reward));
        req.block_time_ms = s.time_ms;
        req.shares = &ps;
        req.share_count = 1;
        std::string error;
        std::vector<storage::Credit> credits = compute(*scheme_, req, &error);
        if (!error.empty()) {
            logger->error("share {} not credited: {}", s.id, error);
            continue;
        }
        std::int64_t value = 0;
        for (const auto& c : credits) value += c.amount;
        out.push_back({s.id, s.coin, value, std::move(credits)});
    }
    const auto reserves = storage_.credit_shares(share_cursor_, scheme_name_, out, todo.back().id);
    for (const auto& [coin, amount] : reserves) {
        if (amount < config_.pool.rewards.reserve_floor) {
            if (below_floor_.insert(coin).second) {
                logger->warn("{} reserve for {} is {} atomic units, below pool.rewards.reserve_floor {}", scheme_name_, coin, amount,
                             config_.pool.rewards.reserve_floor);
            }
        } else if (below_floor_.erase(coin) != 0) {
            logger->info("{} reserve for {} is back above the floor: {}", scheme_name_, coin, amount);
        }
    }
    return todo.size();
}

}  // namespace otedama::host
