// PROP ("proportional") payout scheme: a block's reward is split over the shares of its round, the shares
// accepted since the previous block of the coin (OTD_PAYOUT_WINDOW_ROUND; the host may pass one entry per
// worker holding the worker's summed weight for the round). compute() is pure and integer-only:
//
//   fee  = floor(block_reward * fee_ppm / 1e6)   -> fee_account (is_fee = 1)
//   rest = block_reward - fee, split by weight with the largest-remainder rule (plugins/payout/common/split.hpp):
//   every account gets floor(rest * w_a / W) and the units left over go one each to the largest remainders,
//   ties to the account that appeared first. The credits sum to exactly block_reward.
// Configuration: none (an empty object).
#include "../common/split.hpp"

namespace {

namespace sdk = otedama::sdk;
namespace payout = otedama::payout;

class Prop final : public sdk::Payout<Prop> {
public:
  static constexpr const char* kScheme = "PROP";

  using Payout::Payout;

  // [control]
  void init() override { payout::no_configuration(host().config_json(), "prop"); }

  // [control]
  otd_payout_window_t window() const noexcept {
    otd_payout_window_t w = sdk::make_struct<otd_payout_window_t>();
    w.type = OTD_PAYOUT_WINDOW_ROUND;
    return w;
  }

  // [any] Pure: reads nothing but the request.
  std::vector<otd_credit_t> compute(const otd_payout_request_t& request) const {
    const auto shares = payout::read_shares(request);
    if (shares.empty()) throw sdk::Error(OTD_ERR_INVALID_ARG, "no shares in the round");
    const uint64_t fee = payout::fee_for(request, request.block_reward);
    std::vector<payout::Account> accounts = payout::accounts_of(shares);
    payout::split(request.block_reward - fee, accounts);
    return payout::credits_of(request, fee, accounts, request.block_reward);
  }
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_PAYOUT, "org.otedama.payout.prop", "prop", "0.1.0", "Otedama",
                    "Proportional: each block's reward split over the shares of its round, largest-remainder rounding",
                    "https://github.com/otedama/otedama", OTD_PAYOUT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Prop>(kDescriptor));
