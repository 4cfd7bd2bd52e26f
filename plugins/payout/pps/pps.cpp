// PPS ("pay per share") and FPPS ("full pay per share") payout schemes: one source, two plugins
// (built with OTEDAMA_FPPS 0 or 1).
//
// The pool pays every accepted share its expected value at once, from its own reserve, whether or not a
// block is found; block rewards go into the reserve (the host tracks it and warns below a floor). The host
// asks per share (OTD_PAYOUT_WINDOW_SHARE: one share per request) with block_reward = what a block would pay
// at that moment and tx_fees = the part of it that is transaction fees. compute() is pure and integer-only:
//
//   R     = block_reward - tx_fees   (PPS: the subsidy only)      or   block_reward   (FPPS: plus the fees)
//   value = floor(R * weight / network_weight)                     (exact, 192-bit intermediates)
//   fee   = floor(value * fee_ppm / 1e6)                            -> fee_account (is_fee = 1)
//   the share's account gets value - fee
//
// weight / network_weight is the probability that the share would have been a block, so value is the
// share's expected reward rounded down; the fraction below one atomic unit stays in the reserve. The
// credits sum to exactly value (not block_reward: a per-share request pays a share, not a block).
// Configuration: none (an empty object).
#include "../common/split.hpp"

#ifndef OTEDAMA_FPPS
#error "OTEDAMA_FPPS must be 0 (PPS) or 1 (FPPS)"
#endif

namespace {

namespace sdk = otedama::sdk;
namespace payout = otedama::payout;

class PerShare final : public sdk::Payout<PerShare> {
public:
  static constexpr const char* kScheme = OTEDAMA_FPPS ? "FPPS" : "PPS";

  using Payout::Payout;

  // [control]
  void init() override { payout::no_configuration(host().config_json(), OTEDAMA_FPPS ? "fpps" : "pps"); }

  // [control]
  otd_payout_window_t window() const noexcept {
    otd_payout_window_t w = sdk::make_struct<otd_payout_window_t>();
    w.type = OTD_PAYOUT_WINDOW_SHARE;
    w.pays_tx_fees = OTEDAMA_FPPS ? 1 : 0;
    return w;
  }

  /// The expected value of one share (before the fee).
  static uint64_t value_of(const otd_payout_request_t& request, const otd_payout_share_t& share) {
    if (request.tx_fees > request.block_reward) {
      throw sdk::Error(OTD_ERR_INVALID_ARG, "tx_fees " + std::to_string(request.tx_fees) + " exceed block_reward " +
                                                std::to_string(request.block_reward));
    }
    if (share.network_weight == 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "share has network_weight 0");
    const uint64_t reward = OTEDAMA_FPPS ? request.block_reward : request.block_reward - request.tx_fees;
    if (share.weight <= share.network_weight) {
      return payout::mul_div_rem(reward, share.weight, share.network_weight).quotient;
    }
    // A share above the network difficulty (it was a block, too): worth more than one block.
    return sdk::mul_div_floor(reward, share.weight, share.network_weight);
  }

  // [any] Pure: reads nothing but the request.
  std::vector<otd_credit_t> compute(const otd_payout_request_t& request) const {
    const auto shares = payout::read_shares(request);
    if (shares.size() != 1) {
      throw sdk::Error(OTD_ERR_INVALID_ARG, std::string(kScheme) + " pays per share: a request holds exactly one share, got " +
                                                std::to_string(shares.size()));
    }
    const uint64_t value = value_of(request, *shares[0]);
    const uint64_t fee = payout::fee_for(request, value);
    std::vector<payout::Account> accounts{payout::Account{shares[0]->account}};
    accounts[0].amount = value - fee;
    return payout::credits_of(request, fee, accounts, value);
  }
};

#if OTEDAMA_FPPS
constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_PAYOUT, "org.otedama.payout.fpps", "fpps", "0.1.0", "Otedama",
                    "Full pay per share: each share's expected value of the subsidy and the transaction fees",
                    "https://github.com/otedama/otedama", OTD_PAYOUT_INTERFACE_ID);
#else
constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_PAYOUT, "org.otedama.payout.pps", "pps", "0.1.0", "Otedama",
                    "Pay per share: each share's expected value of the block subsidy",
                    "https://github.com/otedama/otedama", OTD_PAYOUT_INTERFACE_ID);
#endif

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<PerShare>(kDescriptor));
