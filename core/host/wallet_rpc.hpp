// Payment wallets of real coins, spoken to over their JSON-RPC (core/host/payments.hpp's Wallet):
//
//  - BitcoindWallet: bitcoind and its forks (litecoind ...). A payment is ONE `sendmany` with one recipient
//    whose wallet comment is the payment's idempotency key ("LTC-payment-17"); the wallet keeps the comment
//    with the transaction. find() pages through `listtransactions` for a "send" with that comment to the
//    payment's address, not older than the intent (a ledger started afresh reuses keys: an older transaction
//    with the same comment is never taken for ours). confirmations() is `gettransaction`. Amounts go on the
//    wire as exact decimal literals written from the integer (8 decimals), never through a double.
//    Fees: the wallet's own (-paytxfee / estimatesmartfee / -fallbackfee), paid by the pool; with
//    subtract_fee the fee comes out of the miner's amount (sendmany's subtractfeefrom).
//  - MoneroWallet: monero-wallet-rpc. `transfer` with do_not_relay and get_tx_metadata builds and signs the
//    transaction without sending it; `set_tx_notes` gives it the idempotency key as its note; `relay_tx`
//    sends it; `store` writes the wallet file (the note survives a restart of the wallet). find() is
//    `get_transfers` (out, pending, pool) matched by note. A crash before relay_tx leaves a transaction that
//    was never sent (its outputs were never marked spent): retrying builds a new one; after relay_tx the
//    note finds it. confirmations() is `get_transfer_by_txid`.
//
// Errors are WalletError: a bad address (bitcoind -5, monero-wallet-rpc -2) and an amount the wallet refuses
// for good (dust, zero) fail that payment alone; insufficient funds, a node or wallet that is down, wrong
// credentials, a malformed reply: `unavailable` (the payment stays owed, retried next run).
//
// The RPC is blocking (one connection per call, "Connection: close", a timeout for connect and each read):
// the ledger keeper calls it from the serve loop's thread, never from the control strand or an I/O thread.
// http:// only (a wallet's RPC belongs on loopback or a private network).
#pragma once

#include <otedama/common/http_url.hpp>
#include <otedama/node/http.hpp>

#include <Poco/Dynamic/Var.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "host/payments.hpp"

namespace otedama::host {

/// A blocking JSON-RPC client (bitcoind's 1.0 dialect or monero-wallet-rpc's 2.0 at /json_rpc).
class BlockingRpc {
public:
    struct Options {
        common::HttpUrl url;
        node::Auth auth;
        std::chrono::milliseconds timeout{60'000};
        std::string version = "1.0";
    };
    explicit BlockingRpc(Options options);

    /// Calls `method` with `params_json` (a JSON array or object text; "" = no params member) at `path`
    /// ("" = the URL's). @return the result. @throws RpcFailure
    Poco::Dynamic::Var call(const std::string& method, const std::string& params_json, const std::string& path = "");

    struct RpcFailure : std::runtime_error {
        RpcFailure(node::ErrorKind k, std::int64_t c, const std::string& what) : std::runtime_error(what), kind(k), code(c) {}
        node::ErrorKind kind;
        std::int64_t code;  ///< rpc_error: the error object's code
    };

    [[nodiscard]] const Options& options() const noexcept { return options_; }

private:
    node::Response exchange(const std::string& path, const std::string& body);

    Options options_;
    std::uint64_t next_id_ = 1;
};

/// JSON text of a string (quoted, escaped).
[[nodiscard]] std::string json_quote(const std::string& s);
/// An amount of atomic units as an exact decimal literal with `decimals` places ("1.00000000" for 1e8, 8).
[[nodiscard]] std::string decimal_amount(std::int64_t atomic, int decimals);

class BitcoindWallet final : public Wallet {
public:
    struct Options {
        BlockingRpc::Options rpc;
        std::string wallet_name;   ///< "" = the node's default wallet; else calls go to /wallet/<name>
        bool subtract_fee = false;  ///< the fee comes out of the recipient's amount
    };
    explicit BitcoindWallet(Options options);

    [[nodiscard]] std::optional<std::string> find(const storage::PaymentRow& payment) override;
    std::string transfer(const std::string& key, const std::string& address, std::int64_t amount) override;
    [[nodiscard]] std::optional<std::int64_t> confirmations(const std::string& txid) override;
    [[nodiscard]] std::string name() const override { return "bitcoind"; }

private:
    Poco::Dynamic::Var call(const std::string& method, const std::string& params);
    BlockingRpc rpc_;
    std::string path_;
    bool subtract_fee_;
};

class MoneroWallet final : public Wallet {
public:
    struct Options {
        BlockingRpc::Options rpc;  ///< version "2.0"; a URL path of "/" becomes /json_rpc
        std::uint32_t account_index = 0;
    };
    explicit MoneroWallet(Options options);

    [[nodiscard]] std::optional<std::string> find(const storage::PaymentRow& payment) override;
    std::string transfer(const std::string& key, const std::string& address, std::int64_t amount) override;
    [[nodiscard]] std::optional<std::int64_t> confirmations(const std::string& txid) override;
    [[nodiscard]] std::string name() const override { return "monero"; }

private:
    Poco::Dynamic::Var call(const std::string& method, const std::string& params);
    BlockingRpc rpc_;
    std::uint32_t account_index_;
};

}  // namespace otedama::host
