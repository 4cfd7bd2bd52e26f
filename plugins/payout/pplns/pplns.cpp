// PPLNS ("pay per last N shares") payout scheme.
//
// The host picks the window of shares (by time: the shares of the last `window` before the block; by
// work: the last shares whose weights add up to work_multiple x the network weight) and asks for credits.
// compute() is a pure, integer-only function of the request:
//
//   fee   = floor(block_reward * fee_ppm / 1e6)                 -> fee_account (is_fee = 1)
//   rest  = block_reward - fee
//   w_a   = sum of the weights of account a's shares;  W = sum of all w_a
//   base_a = floor(rest * w_a / W)                                (exact, 192-bit intermediates)
//   left   = rest - sum(base_a)                                   (0 <= left < number of accounts)
//   the `left` atomic units go one each to the accounts with the largest remainders
//   (rest * w_a mod W), ties broken by the account's first appearance in the window (oldest first).
//
// This is the largest-remainder (Hamilton) method: every account gets its exact pro-rata share rounded
// down or up by less than one atomic unit, the credits sum to exactly block_reward, and the result does
// not depend on anything but the request. Credits of zero are not emitted. Accounts are credited in the
// order of their first share in the window, after the fee credit.
//
// Configuration (the plugin's subtree, as a flat JSON object from the host):
//   window_type   "time" (default) or "work"
//   window        time windows only: a duration, "2h" (default), "30m", "45s", "1h30m", or plain seconds
//   work_multiple work windows only: N in N x network difficulty, an integer 1..1000 (default 2)
// Unknown keys and bad values refuse to start, naming the key.
#include <otedama/common/flat_json.hpp>
#include <otedama/sdk/payout.hpp>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

namespace common = otedama::common;
namespace sdk = otedama::sdk;
using sdk::uint128_t;

constexpr uint64_t kDefaultWindowMs = 2 * 3'600'000;  // "2h"
constexpr uint32_t kDefaultWorkMultiple = 2;
constexpr int64_t kMaxWorkMultiple = 1000;

/// floor(a * b / c) and (a * b) mod c, for b <= c and c > 0 (so the quotient is at most a and fits 64 bits).
struct QuotientRemainder {
    uint64_t quotient;
    uint128_t remainder;
};
QuotientRemainder mul_div_rem(uint64_t a, uint128_t b, uint128_t c) noexcept {
    if ((b >> 64) == 0) {
        // a * b < 2^128: native 128-bit arithmetic.
        const uint128_t p = static_cast<uint128_t>(a) * static_cast<uint64_t>(b);
        return {static_cast<uint64_t>(p / c), p % c};
    }
    // a * b needs up to 192 bits: form it as three 64-bit limbs, then divide bit by bit (schoolbook binary
    // long division). Only accounts whose summed weight exceeds 2^64 take this path.
    const uint128_t low = static_cast<uint128_t>(a) * static_cast<uint64_t>(b);
    const uint128_t high = static_cast<uint128_t>(a) * static_cast<uint64_t>(b >> 64);
    uint64_t limb[3];
    limb[0] = static_cast<uint64_t>(low);
    const uint128_t mid = (low >> 64) + static_cast<uint64_t>(high);
    limb[1] = static_cast<uint64_t>(mid);
    limb[2] = static_cast<uint64_t>((high >> 64) + (mid >> 64));
    uint128_t r = 0;
    uint128_t q = 0;
    for (int bit = 191; bit >= 0; --bit) {
        const bool carry = (r >> 127) != 0;  // r < c < 2^128, but 2r + 1 may not fit: keep the bit that falls off
        r = (r << 1) | ((limb[bit / 64] >> (bit % 64)) & 1u);
        q <<= 1;
        if (carry || r >= c) {
            r -= c;  // modulo 2^128 this is exact: the true value 2^128 * carry + r - c is below c
            q |= 1;
        }
    }
    return {static_cast<uint64_t>(q), r};
}

std::string key_error(std::string_view key, const std::string& what) {
    return "pplns configuration: " + std::string(key) + ": " + what;
}

class Pplns final : public sdk::Payout<Pplns> {
public:
    static constexpr const char* kScheme = "PPLNS";

    using Payout::Payout;

    // [control]
    void init() override {
        const std::string json = host().config_json();
        const common::FlatJsonObject config = common::parse_flat_json_object(json);
        if (!config.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, "pplns configuration: " + config.error);
        for (const auto& member : config.members) {
            if (member.key != "window" && member.key != "window_type" && member.key != "work_multiple") {
                throw sdk::Error(OTD_ERR_INVALID_ARG,
                                 key_error(member.key, "unknown key (known: window, window_type, work_multiple)"));
            }
        }

        type_ = OTD_PAYOUT_WINDOW_TIME;
        if (const common::JsonValue* v = config.find("window_type")) {
            if (v->kind == common::JsonValue::Kind::string && v->text == "time") {
                type_ = OTD_PAYOUT_WINDOW_TIME;
            } else if (v->kind == common::JsonValue::Kind::string && v->text == "work") {
                type_ = OTD_PAYOUT_WINDOW_WORK;
            } else {
                throw sdk::Error(OTD_ERR_INVALID_ARG, key_error("window_type", "expected \"time\" or \"work\", got " + shown(*v)));
            }
        }

        duration_ms_ = 0;
        work_multiple_ = 0;
        const common::JsonValue* window = config.find("window");
        const common::JsonValue* multiple = config.find("work_multiple");
        if (type_ == OTD_PAYOUT_WINDOW_TIME) {
            if (multiple != nullptr) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, key_error("work_multiple", "applies only to window_type \"work\""));
            }
            duration_ms_ = kDefaultWindowMs;
            if (window != nullptr) duration_ms_ = parse_window(*window);
        } else {
            if (window != nullptr) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, key_error("window", "applies only to window_type \"time\""));
            }
            work_multiple_ = kDefaultWorkMultiple;
            if (multiple != nullptr) {
                const auto n = common::json_integer(*multiple, 1, kMaxWorkMultiple);
                if (!n) {
                    throw sdk::Error(OTD_ERR_INVALID_ARG, key_error("work_multiple", "expected an integer from 1 to " +
                                                                                         std::to_string(kMaxWorkMultiple) +
                                                                                         ", got " + shown(*multiple)));
                }
                work_multiple_ = static_cast<uint32_t>(*n);
            }
        }
    }

    // [control]
    otd_payout_window_t window() const noexcept {
        otd_payout_window_t w = sdk::make_struct<otd_payout_window_t>();
        w.type = type_;
        w.duration_ms = duration_ms_;
        w.work_multiple = work_multiple_;
        w.pays_tx_fees = 0;  // tx fees are part of block_reward and shared like the subsidy
        return w;
    }

    // [any] Pure: reads nothing but the request.
    std::vector<otd_credit_t> compute(const otd_payout_request_t& request) const {
        if (request.share_count == 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "no shares in the window");

        const uint64_t fee = sdk::fee_of(request.block_reward, request.fee_ppm);
        if (fee != 0 && (request.fee_account == nullptr || request.fee_account[0] == '\0')) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "fee_ppm is " + std::to_string(request.fee_ppm) + " but fee_account is empty");
        }
        const uint64_t rest = request.block_reward - fee;

        // Shares are walked with the stride the host built them with (shares[0].struct_size), so a host
        // with a longer otd_payout_share_t still works; every share must have the same size.
        const auto* base = reinterpret_cast<const uint8_t*>(request.shares);
        const uint32_t stride = request.shares[0].struct_size;
        if (stride < offsetof(otd_payout_share_t, weight) + sizeof(uint64_t) || stride % alignof(otd_payout_share_t) != 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "share struct_size " + std::to_string(stride) + " is malformed");
        }

        struct Account {
            const char* name;  // a pointer into the request, as otd_credit_t requires
            uint128_t weight;
            uint64_t amount;
            uint128_t remainder;
        };
        std::vector<Account> accounts;
        std::unordered_map<std::string_view, size_t> index;
        uint128_t total = 0;
        for (uint64_t i = 0; i < request.share_count; ++i) {
            const auto* share = reinterpret_cast<const otd_payout_share_t*>(base + i * stride);
            if (share->struct_size != stride) {
                throw sdk::Error(OTD_ERR_INVALID_ARG, "share " + std::to_string(i) + " has struct_size " +
                                                          std::to_string(share->struct_size) + ", share 0 has " +
                                                          std::to_string(stride));
            }
            if (share->account == nullptr || share->account[0] == '\0') {
                throw sdk::Error(OTD_ERR_INVALID_ARG, "share " + std::to_string(i) + " has no account");
            }
            const auto [it, inserted] = index.try_emplace(std::string_view(share->account), accounts.size());
            if (inserted) accounts.push_back(Account{share->account, 0, 0, 0});
            accounts[it->second].weight += share->weight;
            total += share->weight;  // < share_count * 2^64: cannot overflow 128 bits
        }
        if (total == 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "every share in the window has weight 0");

        uint64_t distributed = 0;
        for (auto& a : accounts) {
            const QuotientRemainder qr = mul_div_rem(rest, a.weight, total);
            a.amount = qr.quotient;
            a.remainder = qr.remainder;
            distributed += qr.quotient;  // sum of floors <= rest
        }
        // Largest remainder first; equal remainders in order of first appearance. `left` is below the number
        // of accounts with a non-zero remainder, so only those can receive a unit.
        uint64_t left = rest - distributed;
        if (left != 0) {
            std::vector<size_t> order(accounts.size());
            std::iota(order.begin(), order.end(), size_t{0});
            std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
                if (accounts[x].remainder != accounts[y].remainder) return accounts[x].remainder > accounts[y].remainder;
                return x < y;
            });
            for (size_t i = 0; i < order.size() && left != 0; ++i, --left) ++accounts[order[i]].amount;
            if (left != 0) throw sdk::Error(OTD_ERR_GENERIC, "internal: remainder larger than the number of accounts");
        }

        std::vector<otd_credit_t> credits;
        credits.reserve(accounts.size() + 1);
        uint64_t sum = 0;
        if (fee != 0) {
            otd_credit_t c = sdk::make_struct<otd_credit_t>();
            c.is_fee = 1;
            c.account = request.fee_account;
            c.amount = fee;
            credits.push_back(c);
            sum += fee;
        }
        for (const auto& a : accounts) {
            if (a.amount == 0) continue;
            otd_credit_t c = sdk::make_struct<otd_credit_t>();
            c.account = a.name;
            c.amount = a.amount;
            credits.push_back(c);
            sum += a.amount;
        }
        // Money is never created or lost; a failure here is a bug, refused rather than paid.
        if (sum != request.block_reward) throw sdk::Error(OTD_ERR_GENERIC, "internal: credits do not sum to the block reward");
        return credits;
    }

private:
    static std::string shown(const common::JsonValue& v) {
        if (v.kind == common::JsonValue::Kind::string) return "\"" + v.text + "\"";
        if (v.kind == common::JsonValue::Kind::nested) return v.kind_name();
        return v.text;
    }

    static uint64_t parse_window(const common::JsonValue& v) {
        std::string why;
        std::optional<uint64_t> ms;
        if (v.kind == common::JsonValue::Kind::string) {
            ms = common::parse_duration_ms(v.text, &why);
        } else if (const auto seconds = common::json_integer(v, 0, INT64_MAX / 1000)) {
            ms = static_cast<uint64_t>(*seconds) * 1000;  // a plain number means seconds, as in the host's config
        } else {
            why = "expected a duration such as \"2h\", \"30m\" or \"45s\", got " + shown(v);
        }
        if (!ms) throw sdk::Error(OTD_ERR_INVALID_ARG, key_error("window", why));
        if (*ms == 0) throw sdk::Error(OTD_ERR_INVALID_ARG, key_error("window", "must be longer than 0"));
        return *ms;
    }

    uint32_t type_ = OTD_PAYOUT_WINDOW_TIME;
    uint64_t duration_ms_ = kDefaultWindowMs;
    uint32_t work_multiple_ = 0;
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_PAYOUT, "org.otedama.payout.pplns", "pplns", "0.1.0", "Otedama",
                    "Pay per last N shares (by time or by work), largest-remainder rounding",
                    "https://github.com/otedama/otedama", OTD_PAYOUT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Pplns>(kDescriptor));
