// Exact integer money arithmetic shared by the payout scheme plugins (header only; each plugin is its own
// shared module). SPDX-License-Identifier: MIT
//
//   mul_div_rem(a, b, c)    floor(a * b / c) and the remainder, for b <= c (192-bit intermediates)
//   read_shares(request)    the request's shares walked with the host's stride, validated
//   split(rest, accounts)   largest-remainder (Hamilton) split of `rest` by weight: every account gets its
//                           exact pro-rata part rounded down or up by less than one atomic unit, the parts
//                           sum to exactly `rest`, ties go to the account that appeared first
//   with_fee(...)           the fee credit first (floor(amount * fee_ppm / 1e6) to fee_account), then the rest
#pragma once

#include <otedama/common/flat_json.hpp>
#include <otedama/sdk/payout.hpp>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace otedama::payout {

namespace common = otedama::common;

using sdk::uint128_t;

struct QuotientRemainder {
  uint64_t quotient;
  uint128_t remainder;
};

/// floor(a * b / c) and (a * b) mod c, for b <= c and c > 0 (so the quotient is at most a: it fits 64 bits).
inline QuotientRemainder mul_div_rem(uint64_t a, uint128_t b, uint128_t c) noexcept {
  if ((b >> 64) == 0) {
    const uint128_t p = static_cast<uint128_t>(a) * static_cast<uint64_t>(b);
    return {static_cast<uint64_t>(p / c), p % c};
  }
  // a * b needs up to 192 bits: three 64-bit limbs, then binary long division.
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
    const bool carry = (r >> 127) != 0;
    r = (r << 1) | ((limb[bit / 64] >> (bit % 64)) & 1u);
    q <<= 1;
    if (carry || r >= c) {
      r -= c;
      q |= 1;
    }
  }
  return {static_cast<uint64_t>(q), r};
}

/// The request's shares, walked with the stride the host built them with (shares[0].struct_size).
inline std::vector<const otd_payout_share_t*> read_shares(const otd_payout_request_t& request) {
  std::vector<const otd_payout_share_t*> out;
  if (request.share_count == 0) return out;
  const auto* base = reinterpret_cast<const uint8_t*>(request.shares);
  const uint32_t stride = request.shares[0].struct_size;
  if (stride < offsetof(otd_payout_share_t, share_id) + sizeof(uint64_t) || stride % alignof(otd_payout_share_t) != 0) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, "share struct_size " + std::to_string(stride) + " is malformed");
  }
  out.reserve(request.share_count);
  for (uint64_t i = 0; i < request.share_count; ++i) {
    const auto* share = reinterpret_cast<const otd_payout_share_t*>(base + i * stride);
    if (share->struct_size != stride) {
      throw sdk::Error(OTD_ERR_INVALID_ARG, "share " + std::to_string(i) + " has struct_size " + std::to_string(share->struct_size) +
                                                ", share 0 has " + std::to_string(stride));
    }
    if (share->account == nullptr || share->account[0] == '\0') {
      throw sdk::Error(OTD_ERR_INVALID_ARG, "share " + std::to_string(i) + " has no account");
    }
    out.push_back(share);
  }
  return out;
}

struct Account {
  const char* name;  ///< a pointer into the request, as otd_credit_t requires
  uint128_t weight = 0;
  uint64_t amount = 0;
  uint128_t remainder = 0;
};

/// Sums the shares' weights per account, in order of first appearance.
inline std::vector<Account> accounts_of(const std::vector<const otd_payout_share_t*>& shares) {
  std::vector<Account> accounts;
  std::unordered_map<std::string_view, size_t> index;
  for (const auto* s : shares) {
    const auto [it, inserted] = index.try_emplace(std::string_view(s->account), accounts.size());
    if (inserted) accounts.push_back(Account{s->account});
    accounts[it->second].weight += s->weight;  // < share_count * 2^64: fits 128 bits
  }
  return accounts;
}

/// Splits `rest` over the accounts by weight (largest remainder, ties by first appearance).
inline void split(uint64_t rest, std::vector<Account>& accounts) {
  uint128_t total = 0;
  for (const auto& a : accounts) total += a.weight;
  if (total == 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "every share in the window has weight 0");
  uint64_t distributed = 0;
  for (auto& a : accounts) {
    const QuotientRemainder qr = mul_div_rem(rest, a.weight, total);
    a.amount = qr.quotient;
    a.remainder = qr.remainder;
    distributed += qr.quotient;
  }
  uint64_t left = rest - distributed;  // < number of accounts with a non-zero remainder
  if (left == 0) return;
  std::vector<size_t> order(accounts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return accounts[x].remainder > accounts[y].remainder; });
  for (size_t i = 0; i < order.size() && left != 0; ++i, --left) ++accounts[order[i]].amount;
  if (left != 0) throw sdk::Error(OTD_ERR_GENERIC, "internal: remainder larger than the number of accounts");
}

/// The fee of `amount`, checked against the request's fee account.
inline uint64_t fee_for(const otd_payout_request_t& request, uint64_t amount) {
  const uint64_t fee = sdk::fee_of(amount, request.fee_ppm);
  if (fee != 0 && (request.fee_account == nullptr || request.fee_account[0] == '\0')) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, "fee_ppm is " + std::to_string(request.fee_ppm) + " but fee_account is empty");
  }
  return fee;
}

/// The credits: the fee (when non-zero) first, then every account with a non-zero amount, in order.
/// Refuses (a bug) unless they sum to exactly `total`.
inline std::vector<otd_credit_t> credits_of(const otd_payout_request_t& request, uint64_t fee, const std::vector<Account>& accounts,
                                            uint64_t total) {
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
  if (sum != total) throw sdk::Error(OTD_ERR_GENERIC, "internal: credits do not sum to the amount paid out");
  return credits;
}

/// Refuses any configuration key: these schemes have none.
inline void no_configuration(const std::string& json, std::string_view scheme) {
  const common::FlatJsonObject config = common::parse_flat_json_object(json);
  if (!config.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, std::string(scheme) + " configuration: " + config.error);
  if (!config.members.empty()) {
    throw sdk::Error(OTD_ERR_INVALID_ARG, std::string(scheme) + " configuration: " + config.members.front().key +
                                              ": unknown key (this scheme takes no settings)");
  }
}

}  // namespace otedama::payout
