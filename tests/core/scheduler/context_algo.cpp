// A test-only algorithm plugin that needs a per-seed context, as RandomX and Ethash do: its hash is
// sha256d(seed || input), so a share verifies only against the context of its own seed. It counts prepared
// and released contexts in host metrics so the scheduler test can watch the context lifecycle.
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/sdk/algorithm.hpp>

#include <chrono>
#include <thread>

namespace {

namespace sdk = otedama::sdk;
namespace common = otedama::common;

struct Context {
  std::vector<uint8_t> seed;
};

class ContextAlgo final : public sdk::Algorithm<ContextAlgo> {
 public:
  static constexpr const char* kName = "ctxalgo";
  static constexpr const char* kCoinFamily = "bitcoin";
  static constexpr uint32_t kFlags = OTD_ALGO_NEEDS_CONTEXT;
  using Algorithm::Algorithm;

  void init() override {
    otd_metric_desc_t d = sdk::make_struct<otd_metric_desc_t>();
    d.type = OTD_METRIC_COUNTER;
    d.help = "test";
    d.name = "test_contexts_prepared_total";
    if (host().raw()->metric_register(host().raw(), &d, &prepared_) != OTD_OK) throw sdk::Error(OTD_ERR_GENERIC, "metric");
    d.name = "test_contexts_released_total";
    if (host().raw()->metric_register(host().raw(), &d, &released_) != OTD_OK) throw sdk::Error(OTD_ERR_GENERIC, "metric");
    d.name = "test_contexts_full_total";
    if (host().raw()->metric_register(host().raw(), &d, &full_) != OTD_OK) throw sdk::Error(OTD_ERR_GENERIC, "metric");
  }
  bool has_self_test() const noexcept override { return true; }
  void self_test() override {}

  void hash(const otd_algo_context_t* ctx, std::span<const uint8_t> in, std::span<uint8_t, 32> out) {
    if (ctx == nullptr) throw sdk::Error(OTD_ERR_STATE, "ctxalgo needs a context");
    const auto& c = *reinterpret_cast<const Context*>(ctx);
    std::vector<uint8_t> data = c.seed;
    data.insert(data.end(), in.begin(), in.end());
    const auto h = common::sha256d(data);
    std::copy(h.begin(), h.end(), out.begin());
  }
  void verify(const otd_algo_context_t* ctx, const otd_verify_request_t& req, otd_verify_result_t& res) {
    hash(ctx, std::span<const uint8_t>(req.blob, req.blob_size), std::span<uint8_t, 32>(res.hash, 32));
    common::Uint256 h{}, share{}, block{};
    std::copy(res.hash, res.hash + 32, h.begin());
    std::copy(req.share_target, req.share_target + 32, share.begin());
    std::copy(req.block_target, req.block_target + 32, block.begin());
    res.meets_share = common::meets_target(h, share) ? 1 : 0;
    res.meets_block = common::meets_target(h, block) ? 1 : 0;
    res.mix_ok = 1;
    res.share_difficulty = common::bitcoin_difficulty_from_target(h);
  }
  std::array<uint8_t, 32> target_from_difficulty(double d) {
    const auto t = common::bitcoin_target_from_difficulty(d);
    if (!t) throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty");
    return *t;
  }
  double difficulty_from_target(std::span<const uint8_t, 32> t) {
    common::Uint256 v{};
    std::copy(t.begin(), t.end(), v.begin());
    return common::bitcoin_difficulty_from_target(v);
  }
  /// The blob is the template's blob with the extranonce written at reserved_offset (Monero-style).
  sdk::Blob build_blob(const otd_template_t& t, std::span<const uint8_t> en, uint32_t, uint32_t) {
    sdk::Blob b;
    b.bytes.assign(t.blob, t.blob + t.blob_size);
    if (t.reserved_offset + en.size() > b.bytes.size()) throw sdk::Error(OTD_ERR_INVALID_ARG, "extranonce outside the blob");
    std::copy(en.begin(), en.end(), b.bytes.begin() + t.reserved_offset);
    b.nonce_offset = t.nonce_offset;
    b.nonce_size = 4;
    return b;
  }
  std::string implementation() { return "test"; }

  otd_algo_context_t* prepare_context(const otd_context_params_t& p) {
    // Slow on purpose: the scheduler must not wait for it on the control strand.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto* c = new Context{std::vector<uint8_t>(p.seed, p.seed + p.seed_size)};
    host().raw()->metric_update(host().raw(), prepared_, nullptr, 1);
    if (p.mode == OTD_CONTEXT_FULL) host().raw()->metric_update(host().raw(), full_, nullptr, 1);
    return reinterpret_cast<otd_algo_context_t*>(c);
  }
  void release_context(otd_algo_context_t* ctx) {
    delete reinterpret_cast<Context*>(ctx);
    host().raw()->metric_update(host().raw(), released_, nullptr, 1);
  }

 private:
  uint32_t prepared_ = 0, released_ = 0, full_ = 0;
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(OTD_KIND_ALGORITHM, "org.test.algorithm.ctxalgo", "ctxalgo", "0.1.0",
                                                                "Otedama tests", "context lifecycle fixture", "",
                                                                OTD_ALGORITHM_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<ContextAlgo>(kDescriptor));
