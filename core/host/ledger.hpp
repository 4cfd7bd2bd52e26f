// The ledger's bookkeeping while the host serves: block confirmations, crediting confirmed blocks with
// the configured payout scheme, per-share credits (PPS/FPPS) and the pool's reserve, pruning raw shares.
//
//  - Confirmations: a found block starts pending; each new template of its coin at height H gives it
//    H - height confirmations; at pool.rewards.confirmations it is confirmed. A chain source that says
//    a block was orphaned or rejected (OTD_EVENT_BLOCK) makes it orphaned: never credited.
//  - Crediting: the payout plugin whose scheme is pool.rewards.system gives its window; the keeper reads
//    that window from the ledger (TIME: the shares of duration_ms before the block; WORK: the last shares
//    adding up to work_multiple x the block's network weight; ROUND: the per-worker sums of the block's
//    round; FINDER: none), computes the credits and applies them in ONE transaction (Storage::credit_block).
//    PPS/FPPS: a confirmed block's reward goes to the reserve; every stored share is credited its
//    expected value (Storage::credit_shares, a cursor makes it once only) and the reserve pays it; a
//    warning is logged when the reserve falls below pool.rewards.reserve_floor.
//  - Shares of local devices (no account) are credited to pool.fee_account, as is the pool fee.
//  - Payments (pool.payments.minimum > 0): every pool.payments.interval, balances at or above the minimum
//    become payment intents and are sent through the wallet exactly once (payments.hpp); open intents are
//    reconciled with the wallet when the keeper starts.
//  - Raw shares older than pool.rewards.window (and not needed by an uncredited block) are deleted; the
//    per-worker round sums stay.
//
// Thread contract: tick() and block_event() from any one thread at a time each; Storage locks itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "host/payments.hpp"
#include "loader/loader.hpp"
#include "router/metrics.hpp"
#include "storage/storage.hpp"

namespace otedama::host {

class LedgerKeeper {
public:
    /// `metrics` (may be null): otedama_payments_total{wallet,result}, otedama_payment_errors_total{wallet,reason},
    /// otedama_payments_amount_atomic_units_total{coin} and otedama_blocks_confirmed_total{coin}.
    /// `coin` (pool.coins: one keeper per coin, `config` that coin's effective configuration): the keeper
    /// confirms, credits, prunes and pays only that coin's blocks, shares and payments, with the payout
    /// instance "<payout id>@<coin>" when one is loaded, its own per-share cursor and devnet wallet file.
    /// Empty: every coin (the single-coin host).
    LedgerKeeper(storage::Storage& storage, const loader::Loader& loader, const config::Config& config,
                 router::Metrics* metrics = nullptr, std::string coin = {});
    ~LedgerKeeper();

    /// One round of bookkeeping. `coin` and `next_height`: the newest template's (empty coin: none yet).
    void tick(const std::string& coin, std::int64_t next_height, std::chrono::system_clock::time_point now);
    /// [any] A chain source's OTD_BLOCK_ORPHANED / OTD_BLOCK_REJECTED for the block with this hash.
    void block_lost(const std::vector<std::uint8_t>& hash);

    /// Parts per million of pool.fee_percentage (1.5 % -> 15000), rounded to the nearest.
    [[nodiscard]] static std::uint32_t fee_ppm(double fee_percentage) noexcept;

    /// The wallet pool.payments.wallet names, or nullptr with the reason in `error` (a bitcoind/monero wallet
    /// without a valid pool.payments.rpc_url, a devnet wallet with an in-memory ledger).
    /// A non-empty `coin` keeps a devnet wallet's transfers in "<storage.path>.devnet-wallet.<coin>".
    [[nodiscard]] static std::unique_ptr<Wallet> make_wallet(const config::Config& config, std::string* error,
                                                             const std::string& coin = {});
    [[nodiscard]] const std::string& coin() const noexcept { return coin_; }

private:
    void count_payments(const PaymentRunner::Result& r);
    void credit_blocks();
    void credit_shares();
    std::size_t credit_share_chunk();  ///< @return how many shares it looked at
    [[nodiscard]] std::string account_or_pool(const std::string& account) const;

    storage::Storage& storage_;
    const config::Config& config_;
    std::string coin_;          ///< "" = every coin
    std::string share_cursor_;  ///< ledger_cursors name of the PPS/FPPS credits
    const loader::PluginRecord* scheme_ = nullptr;
    std::string scheme_name_;
    std::uint32_t fee_ppm_ = 0;
    std::mutex lost_mutex_;
    std::vector<std::vector<std::uint8_t>> lost_;  ///< orphan/reject reports not yet applied
    std::set<std::int64_t> failed_blocks_;         ///< crediting failed (logged once)
    std::set<std::string> below_floor_;             ///< coins whose reserve is below the floor (warned once)
    std::chrono::system_clock::time_point last_prune_{};
    std::unique_ptr<Wallet> wallet_;
    std::unique_ptr<PaymentRunner> payments_;
    std::chrono::system_clock::time_point last_payments_{};
    router::Metrics* metrics_ = nullptr;
    std::uint32_t payments_metric_ = 0, payment_errors_metric_ = 0;
    bool metrics_ok_ = false;
    uint32_t m_confirmed_ = 0, m_paid_ = 0;
};

}  // namespace otedama::host
