// Payments, exactly once: intent first, then the wallet, then the record; reconciled on restart.
//
//   1. Storage::create_payment_intents moves every balance at or above the minimum into a payment intent
//      with a unique idempotency key, in one transaction (durable before anything is sent).
//   2. Each intent is sent with its key: the wallet is first asked whether it already made a transfer with
//      that key (a crash after the transfer but before step 3); only if not is it sent.
//   3. Storage::mark_payment_sent records the txid. A refusal for good (a bad address) fails that payment
//      alone and returns its amount to the balance; an unavailable wallet leaves the intent for next time.
//
// Thread contract: one thread at a time (the ledger keeper's).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/storage.hpp"

namespace otedama::host {

/// A wallet's answer that is not a transfer.
class WalletError : public std::runtime_error {
public:
    /// bad_address, refused: this payment is refused for good (it fails alone, the amount goes back to the
    /// balance). insufficient_funds, unavailable: the payment stays owed and is tried again next run.
    enum class Kind { bad_address, refused, insufficient_funds, unavailable };
    WalletError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    [[nodiscard]] Kind kind() const noexcept { return kind_; }
    [[nodiscard]] bool for_good() const noexcept { return kind_ == Kind::bad_address || kind_ == Kind::refused; }
    /// "bad_address", "refused", "insufficient_funds", "unavailable" (the metric's reason label).
    [[nodiscard]] static const char* name(Kind kind) noexcept;

private:
    Kind kind_;
};

class Wallet {
public:
    virtual ~Wallet() = default;
    /// The txid of the transfer the wallet made for this payment (tagged with its idempotency key), if it made
    /// one. @throws WalletError
    [[nodiscard]] virtual std::optional<std::string> find(const storage::PaymentRow& payment) = 0;
    /// Sends `amount` atomic units to `address`, tagged with `key`. @return the txid. @throws WalletError
    virtual std::string transfer(const std::string& key, const std::string& address, std::int64_t amount) = 0;
    /// The transfer's confirmations (negative: it conflicts with the chain), or std::nullopt when the wallet
    /// does not track them (devnet). @throws WalletError
    [[nodiscard]] virtual std::optional<std::int64_t> confirmations(const std::string& /*txid*/) { return std::nullopt; }
    /// "devnet", "bitcoind", "monero" (the metric's wallet label).
    [[nodiscard]] virtual std::string name() const = 0;
};

/// The devnet's wallet: transfers are records in an append-only file (`path`), one line each
/// ("<key> <txid> <address> <amount>\n", written with one write(2) and fdatasync'd before transfer()
/// returns); a line cut short by a crash is not a transfer. An address must be 1..95 characters of
/// [A-Za-z0-9._-]; anything else is refused as a bad address. The txid is a hex SHA-256 of the line's
/// other fields and the transfer's sequence number.
class DevnetWallet final : public Wallet {
public:
    explicit DevnetWallet(std::string path);
    [[nodiscard]] std::optional<std::string> find(const storage::PaymentRow& payment) override;
    [[nodiscard]] std::optional<std::string> find(const std::string& key);
    [[nodiscard]] std::string name() const override { return "devnet"; }
    std::string transfer(const std::string& key, const std::string& address, std::int64_t amount) override;

    struct Transfer {
        std::string key, txid, address;
        std::int64_t amount = 0;
    };
    /// Every transfer in the file, in order.
    [[nodiscard]] std::vector<Transfer> transfers() const;

private:
    std::string path_;
};

class PaymentRunner {
public:
    /// `after_send`: called after the wallet made a transfer and before it is recorded (metrics; crash tests).
    PaymentRunner(storage::Storage& storage, Wallet& wallet, std::function<void(const storage::PaymentRow&)> after_send = {});

    /// Called for every wallet error (the host counts them: otedama_payment_errors_total{wallet,reason}).
    void on_error(std::function<void(const WalletError&)> hook) { on_error_ = std::move(hook); }
    /// Several coins, a wallet each: this runner settles and confirms only the payments of `coin` ("" = every
    /// payment, the single-coin host).
    void only_coin(std::string coin) { coin_ = std::move(coin); }

    struct Result {
        std::size_t sent = 0;        ///< transfers made now
        std::size_t reconciled = 0;  ///< intents the wallet had already sent (a crash before they were recorded)
        std::size_t failed = 0;      ///< refused for good (amount back to the balance)
        std::size_t waiting = 0;     ///< left as intents (wallet unavailable)
    };
    /// Settles every open intent (reconciling first); if there were none, creates and sends new ones for
    /// `coin`'s balances at or above `minimum`.
    Result run(const std::string& coin, std::int64_t minimum);
    /// Settles the open intents only (what a restart does first).
    Result settle();
    /// Sent payments whose transfer has `required` confirmations or more become 'confirmed'. A transfer that
    /// conflicts with the chain (negative confirmations) is logged as an error, once per run, and left for
    /// the operator (never paid again automatically). @return how many became confirmed.
    std::size_t confirm(std::int64_t required);

private:
    void settle_one(const storage::PaymentRow& p, Result& r);

    storage::Storage& storage_;
    Wallet& wallet_;
    std::function<void(const storage::PaymentRow&)> after_send_;
    std::function<void(const WalletError&)> on_error_;
    std::string coin_;
};

}  // namespace otedama::host
