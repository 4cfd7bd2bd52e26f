#include "host/payments.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "log/log.hpp"

namespace otedama::host {
namespace {

bool valid_devnet_address(const std::string& a) {
    if (a.empty() || a.size() > 95) return false;
    for (const char c : a) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

DevnetWallet::DevnetWallet(std::string path) : path_(std::move(path)) {}

std::vector<DevnetWallet::Transfer> DevnetWallet::transfers() const {
    std::vector<Transfer> out;
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
        if (in.eof()) break;  // no newline: cut short by a crash, never a transfer
        std::istringstream fields(line);
        Transfer t;
        if (fields >> t.key >> t.txid >> t.address >> t.amount) out.push_back(std::move(t));
    }
    return out;
}

const char* WalletError::name(Kind kind) noexcept {
    switch (kind) {
        case Kind::bad_address: return "bad_address";
        case Kind::refused: return "refused";
        case Kind::insufficient_funds: return "insufficient_funds";
        case Kind::unavailable: return "unavailable";
    }
    return "unavailable";
}

std::optional<std::string> DevnetWallet::find(const storage::PaymentRow& payment) { return find(payment.idempotency_key); }

std::optional<std::string> DevnetWallet::find(const std::string& key) {
    for (const auto& t : transfers())
        if (t.key == key) return t.txid;
    return std::nullopt;
}

std::string DevnetWallet::transfer(const std::string& key, const std::string& address, std::int64_t amount) {
    if (!valid_devnet_address(address)) {
        throw WalletError(WalletError::Kind::bad_address, "devnet wallet: '" + address + "' is not a devnet address");
    }
    if (amount <= 0) throw WalletError(WalletError::Kind::bad_address, "devnet wallet: amount must be positive");
    const std::size_t seq = transfers().size();
    const std::string preimage = key + " " + address + " " + std::to_string(amount) + " " + std::to_string(seq);
    const auto digest = common::sha256({reinterpret_cast<const std::uint8_t*>(preimage.data()), preimage.size()});
    const std::string txid = common::to_hex(digest);
    const std::string line = key + " " + txid + " " + address + " " + std::to_string(amount) + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw WalletError(WalletError::Kind::unavailable, "devnet wallet " + path_ + ": " + std::strerror(errno));
    const ssize_t n = ::write(fd, line.data(), line.size());
    const int sync = ::fdatasync(fd);
    ::close(fd);
    if (n != static_cast<ssize_t>(line.size()) || sync != 0) {
        throw WalletError(WalletError::Kind::unavailable, "devnet wallet " + path_ + ": write failed");
    }
    return txid;
}

PaymentRunner::PaymentRunner(storage::Storage& storage, Wallet& wallet, std::function<void(const storage::PaymentRow&)> after_send)
    : storage_(storage), wallet_(wallet), after_send_(std::move(after_send)) {}

void PaymentRunner::settle_one(const storage::PaymentRow& p, Result& r) {
    const auto logger = log::get("payments");
    try {
        if (const auto txid = wallet_.find(p)) {
            // Sent before a crash, never recorded: record it, do not send again.
            storage_.mark_payment_sent(p.id, *txid);
            ++r.reconciled;
            logger->info("payment {} ({} {} to {}) was already sent as {}: recorded", p.id, p.amount, p.coin, p.account, *txid);
            return;
        }
        const std::string txid = wallet_.transfer(p.idempotency_key, p.account, p.amount);
        if (after_send_) after_send_(p);
        storage_.mark_payment_sent(p.id, txid);
        ++r.sent;
        logger->info("payment {}: {} {} to {} sent as {}", p.id, p.amount, p.coin, p.account, txid);
    } catch (const WalletError& e) {
        if (on_error_) on_error_(e);
        if (e.for_good()) {
            storage_.fail_payment(p.id, e.what());
            ++r.failed;
            logger->warn("payment {} ({} {} to {}) failed ({}): {} (the amount is back in the balance)", p.id, p.amount, p.coin,
                         p.account, WalletError::name(e.kind()), e.what());
        } else {
            ++r.waiting;
            logger->warn("payment {} ({} {} to {}) waits ({}), still owed: {}", p.id, p.amount, p.coin, p.account,
                         WalletError::name(e.kind()), e.what());
        }
    }
}

std::size_t PaymentRunner::confirm(std::int64_t required) {
    const auto logger = log::get("payments");
    std::size_t confirmed = 0;
    for (const auto& p : storage_.payments_with_status("sent")) {
        if (!coin_.empty() && p.coin != coin_) continue;
        try {
            const auto n = wallet_.confirmations(p.txid);
            if (!n) return confirmed;  // the wallet does not track confirmations
            if (*n < 0) {
                logger->error("payment {} ({} {} to {}): transaction {} conflicts with the chain ({} confirmations): the operator must check it",
                              p.id, p.amount, p.coin, p.account, p.txid, *n);
                continue;
            }
            if (*n >= required && storage_.mark_payment_confirmed(p.id)) {
                ++confirmed;
                logger->info("payment {} ({} {} to {}): {} confirmed ({} confirmations)", p.id, p.amount, p.coin, p.account, p.txid, *n);
            }
        } catch (const WalletError& e) {
            if (on_error_) on_error_(e);
            logger->warn("payment {}: confirmations of {} unknown: {}", p.id, p.txid, e.what());
            return confirmed;
        }
    }
    return confirmed;
}

PaymentRunner::Result PaymentRunner::settle() {
    Result r;
    for (const auto& p : storage_.payments_with_status("intent"))
        if (coin_.empty() || p.coin == coin_) settle_one(p, r);
    return r;
}

PaymentRunner::Result PaymentRunner::run(const std::string& coin, std::int64_t minimum) {
    // Open intents (a crash, a wallet that was down) are settled first; a run that had any makes no new ones:
    // the next run does, so a refused line is not retried within the same run.
    Result r = settle();
    if (r.sent + r.reconciled + r.failed + r.waiting != 0) return r;
    for (const auto& p : storage_.create_payment_intents(coin, minimum)) settle_one(p, r);
    return r;
}

}  // namespace otedama::host
