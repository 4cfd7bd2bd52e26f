// SOLO payout scheme: the account that found the block takes it, less the pool fee
// (OTD_PAYOUT_WINDOW_FINDER: no shares are needed). compute() is pure and integer-only:
//
//   fee  = floor(block_reward * fee_ppm / 1e6)   -> fee_account (is_fee = 1)
//   the finder gets block_reward - fee; the credits sum to exactly block_reward.
// Configuration: none (an empty object).
#include "../common/split.hpp"

namespace {

namespace sdk = otedama::sdk;
namespace payout = otedama::payout;

class Solo final : public sdk::Payout<Solo> {
public:
  static constexpr const char* kScheme = "SOLO";

  using Payout::Payout;

  // [control]
  void init() override { payout::no_configuration(host().config_json(), "solo"); }

  // [control]
  otd_payout_window_t window() const noexcept {
    otd_payout_window_t w = sdk::make_struct<otd_payout_window_t>();
    w.type = OTD_PAYOUT_WINDOW_FINDER;
    return w;
  }

  // [any] Pure: reads nothing but the request.
  std::vector<otd_credit_t> compute(const otd_payout_request_t& request) const {
    if (request.finder == nullptr || request.finder[0] == '\0') throw sdk::Error(OTD_ERR_INVALID_ARG, "the request names no finder");
    (void)payout::read_shares(request);  // shares are not needed, but any given must be well formed
    const uint64_t fee = payout::fee_for(request, request.block_reward);
    std::vector<payout::Account> accounts{payout::Account{request.finder}};
    accounts[0].amount = request.block_reward - fee;
    return payout::credits_of(request, fee, accounts, request.block_reward);
  }
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_PAYOUT, "org.otedama.payout.solo", "solo", "0.1.0", "Otedama",
                    "Solo: the finder takes the block, less the pool fee",
                    "https://github.com/otedama/otedama", OTD_PAYOUT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Solo>(kDescriptor));
