// The built-in devnet chain: a job source that stands in for a coin node in the demo and in tests.
//
// It keeps a Bitcoin-style chain of its own (SHA256d headers, a real coinbase transaction with a BIP34
// height and an extranonce space, nBits from the configured difficulty), issues templates, checks every
// block submitted to it (previous hash, merkle root of the coinbase, proof of work against nBits) and
// advances. A later issue grows it to every algorithm and to the pool's payout script.
//
// Configuration (the `devnet` section of otedama.yaml, handed over as JSON):
//   coin        ticker of the chain                          (DEVNET)
//   algorithm   algorithm of the chain: sha256d               (sha256d)
//   difficulty  initial block difficulty, Bitcoin units       (0.001)
//   block_time  the block interval the difficulty steers to   (30s); 0 keeps the difficulty fixed
//   refresh     re-issue the template with a new ntime every  (30s)
//   reward      block reward in atomic units                  (5000000000)
#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/sdk/transport.hpp>

#include <cmath>
#include <mutex>

namespace {

namespace sdk = otedama::sdk;
namespace common = otedama::common;

constexpr uint32_t kExtranonceSize = 8;
constexpr const char* kCoinbaseTag = "/otedama devnet/";

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// BIP34: the height as a minimal little-endian script number push.
std::vector<uint8_t> height_push(uint64_t height) {
  std::vector<uint8_t> num;
  for (uint64_t h = height; h != 0; h >>= 8) num.push_back(static_cast<uint8_t>(h));
  if (num.empty() || (num.back() & 0x80) != 0) num.push_back(0);  // keep it positive
  std::vector<uint8_t> push{static_cast<uint8_t>(num.size())};
  push.insert(push.end(), num.begin(), num.end());
  return push;
}

class Devnet final : public sdk::Transport<Devnet> {
 public:
  static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;
  using Transport::Transport;

  void init() override {
    const common::FlatJsonObject cfg = common::parse_flat_json_object(host().config_json());
    if (!cfg.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet: configuration is not a JSON object: " + cfg.error);
    for (const auto& m : cfg.members) {
      const auto& v = m.value;
      if (m.key == "coin" && v.kind == common::JsonValue::Kind::string && !v.text.empty()) {
        coin_ = v.text;
      } else if (m.key == "algorithm" && v.kind == common::JsonValue::Kind::string) {
        if (v.text != "sha256d") throw sdk::Error(OTD_ERR_UNSUPPORTED, "devnet.algorithm: only sha256d chains exist yet, got '" + v.text + "'");
      } else if (m.key == "difficulty" && (v.kind == common::JsonValue::Kind::number || v.kind == common::JsonValue::Kind::string)) {
        // YAML hands a float over as a number or as its text: accept either, but only a whole number literal.
        char* end = nullptr;
        difficulty_ = std::strtod(v.text.c_str(), &end);
        if (v.text.empty() || *end != '\0' || !(difficulty_ > 0) || !std::isfinite(difficulty_))
          throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.difficulty must be a positive number, got '" + v.text + "'");
      } else if (m.key == "block_time") {
        std::string why;
        const auto ms = common::parse_duration_ms(v.text, &why);
        if ((v.kind != common::JsonValue::Kind::string && v.kind != common::JsonValue::Kind::number) || !ms)
          throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.block_time must be a duration (0 = fixed difficulty), got '" + v.text + "'" +
                                                    (why.empty() ? "" : ": " + why));
        block_time_ms_ = *ms;
      } else if (m.key == "refresh") {
        std::string why;
        const auto ms = common::parse_duration_ms(v.text, &why);
        if (v.kind != common::JsonValue::Kind::string || !ms || *ms < 1000)
          throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.refresh must be a duration of at least 1s, got '" + v.text + "'" + (why.empty() ? "" : ": " + why));
        refresh_ms_ = *ms;
      } else if (m.key == "reward") {
        const auto r = common::json_integer(v, 0, INT64_MAX);
        if (!r) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.reward must be a non-negative integer (atomic units), got " + v.text);
        reward_ = static_cast<uint64_t>(*r);
      } else {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet." + m.key + ": unknown key or wrong type (" + v.kind_name() +
                                                  "); known: coin, algorithm, difficulty, block_time, refresh, reward");
      }
    }
    const auto target = common::bitcoin_target_from_difficulty(difficulty_);
    if (!target) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.difficulty is out of range");
    // nBits is what the chain commits to; the target is what nBits decodes to, so both sides agree exactly.
    nbits_ = common::encode_compact(*target);
    target_ = *common::target_from_nbits(nbits_);
    // A genesis of our own: the hash of the chain's name, so every devnet starts from the same tip.
    const std::string genesis = "otedama devnet genesis " + coin_;
    tip_ = common::sha256d(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(genesis.data()), genesis.size()));
  }

  void start() {
    jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
    const auto* timers = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
    if (jobs_ == nullptr || timers == nullptr) throw sdk::Error(OTD_ERR_UNSUPPORTED, "devnet needs the host's otedama.jobs/1 and otedama.timer/1 services");
    timers_ = timers;
    const otd_status_t st = timers->start(host().raw(), static_cast<uint32_t>(refresh_ms_), 1, &Devnet::on_refresh, this, &refresh_timer_);
    if (st != OTD_OK) throw sdk::Error(st, "devnet: cannot start the refresh timer");
    host().logf(OTD_LOG_INFO, "devnet %s: sha256d, difficulty %g (nBits %08x), block time %llu ms, block reward %llu", coin_.c_str(),
                difficulty_, nbits_, static_cast<unsigned long long>(block_time_ms_), static_cast<unsigned long long>(reward_));
    last_block_ms_ = host().wall_time_ms();
    issue(true);
  }

  void stop() {
    if (refresh_timer_ != nullptr) timers_->cancel(host().raw(), refresh_timer_);
    refresh_timer_ = nullptr;
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }

  otd_transport_status_t status() {
    auto s = sdk::make_struct<otd_transport_status_t>();
    std::lock_guard lock(mutex_);
    s.state = stopped_ ? OTD_STATUS_DOWN : OTD_STATUS_UP;
    s.templates = templates_;
    s.submissions = blocks_submitted_;
    sdk::copy_field(s.endpoint, "devnet:" + coin_);
    sdk::copy_field(s.message, "height " + std::to_string(height_));
    return s;
  }

  void submit_block(const otd_block_t& block) {
    std::lock_guard lock(mutex_);
    ++blocks_submitted_;
    auto refuse = [&](const std::string& why) {
      post_block_event(OTD_BLOCK_REJECTED, block.hash, height_);
      throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet rejected the block: " + why);
    };
    if (block.header == nullptr || block.header_size != 80) refuse("header is not 80 bytes");
    const std::span<const uint8_t> header(block.header, 80);
    if (!std::equal(tip_.begin(), tip_.end(), header.begin() + 4)) refuse("previous block hash is not the tip (stale)");
    if (block.coinbase == nullptr || block.coinbase_size == 0) refuse("no coinbase transaction");
    const auto merkle = common::sha256d(std::span<const uint8_t>(block.coinbase, block.coinbase_size));  // coinbase-only block
    if (!std::equal(merkle.begin(), merkle.end(), header.begin() + 36)) refuse("merkle root does not commit to the coinbase");
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(header[72 + i]) << (8 * i);
    if (bits != nbits_) refuse("nBits does not match the chain");
    const auto hash = common::sha256d(header);
    common::Uint256 h{};
    std::copy(hash.begin(), hash.end(), h.begin());
    if (!common::meets_target(h, target_)) refuse("proof of work above the target");
    tip_ = hash;
    post_block_event(OTD_BLOCK_CONFIRMED, hash.data(), height_);
    host().logf(OTD_LOG_INFO, "devnet %s: block %llu accepted: %s", coin_.c_str(), static_cast<unsigned long long>(height_),
                common::to_display_hex(h).c_str());
    ++height_;
    retarget();
    issue_locked(true);
  }

 private:
  static void OTD_CALL on_refresh(void* user) {
    auto* self = static_cast<Devnet*>(user);
    try {
      self->issue(false);
    } catch (const std::exception& e) {
      self->host().error(std::string("devnet: template refresh failed: ") + e.what());
    }
  }

  void issue(bool clean) {
    std::lock_guard lock(mutex_);
    issue_locked(clean);
  }

  /// Build and post the template for the next block on top of tip_.
  void issue_locked(bool clean) {
    if (stopped_ || jobs_ == nullptr) return;
    // coinbase1 | extranonce (8) | coinbase2, a serialized legacy transaction:
    //   version 1 | 1 input: null prevout, scriptSig = BIP34 height push, extranonce push, tag | sequence |
    //   1 output: reward to OP_TRUE | locktime 0
    const std::vector<uint8_t> height = height_push(height_);
    const std::string tag = kCoinbaseTag;
    std::vector<uint8_t> cb1;
    put_le(cb1, 1, 4);
    cb1.push_back(1);
    cb1.insert(cb1.end(), 32, 0);
    put_le(cb1, 0xffffffff, 4);
    const size_t script_len = height.size() + 1 + kExtranonceSize + tag.size();
    cb1.push_back(static_cast<uint8_t>(script_len));
    cb1.insert(cb1.end(), height.begin(), height.end());
    cb1.push_back(static_cast<uint8_t>(kExtranonceSize));  // push of the extranonce bytes
    std::vector<uint8_t> cb2(tag.begin(), tag.end());
    put_le(cb2, 0xffffffff, 4);
    cb2.push_back(1);
    put_le(cb2, reward_, 8);
    cb2.push_back(1);
    cb2.push_back(0x51);  // OP_TRUE: anyone can spend a devnet reward
    put_le(cb2, 0, 4);

    const std::string job_id = std::to_string(height_) + "-" + std::to_string(++templates_);
    auto t = sdk::make_struct<otd_template_t>();
    t.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
    t.coin = coin_.c_str();
    t.algorithm = "sha256d";
    t.source_job_id = job_id.c_str();
    t.height = height_;
    std::copy(tip_.begin(), tip_.end(), t.prev_hash);
    std::copy(target_.begin(), target_.end(), t.block_target);
    t.reward = reward_;
    t.version = 0x20000000;
    t.ntime = static_cast<uint32_t>(host().wall_time_ms() / 1000);
    t.nbits = nbits_;
    t.extranonce_size = kExtranonceSize;
    t.coinbase1 = cb1.data();
    t.coinbase1_size = static_cast<uint32_t>(cb1.size());
    t.coinbase2 = cb2.data();
    t.coinbase2_size = static_cast<uint32_t>(cb2.size());
    t.nonce_size = 4;
    uint64_t job = 0;
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = jobs_->submit_template(host().raw(), &t, &job, err, sizeof err);
    if (st != OTD_OK) host().logf(OTD_LOG_ERROR, "devnet: the host refused template %s: %s", job_id.c_str(), err);
  }

  /// Bitcoin's rule (new target = old x actual / expected, the ratio clamped to [1/4, 4]) after every
  /// block instead of every 2016, so the devnet settles on block_time whatever the miners' speed.
  void retarget() {
    const int64_t now = host().wall_time_ms();
    if (block_time_ms_ > 0) {
      const uint32_t before = nbits_;
      nbits_ = common::bitcoin_next_work_required(nbits_, last_block_ms_, now, max_target_, static_cast<int64_t>(block_time_ms_));
      target_ = *common::target_from_nbits(nbits_);
      if (nbits_ != before)
        host().logf(OTD_LOG_DEBUG, "devnet %s: difficulty %g after a %lld ms block", coin_.c_str(),
                    common::bitcoin_difficulty_from_target(target_), static_cast<long long>(now - last_block_ms_));
    }
    last_block_ms_ = now;
  }

  void post_block_event(uint32_t state, const uint8_t* hash, uint64_t height) {
    auto ev = otd_event_block_t{};
    ev.header.size = sizeof ev;
    ev.header.type = OTD_EVENT_BLOCK;
    ev.state = state;
    ev.height = height;
    if (hash != nullptr) std::copy(hash, hash + OTD_HASH_SIZE, ev.hash);
    ev.reward = reward_;
    sdk::copy_field(ev.coin, coin_);
    host().post_event(ev.header);
  }

  std::mutex mutex_;
  std::string coin_ = "DEVNET";
  double difficulty_ = 0.001;
  uint64_t refresh_ms_ = 30000;
  uint64_t block_time_ms_ = 30000;
  int64_t last_block_ms_ = 0;
  // The easiest target a retarget may reach: difficulty 1e-9 (a devnet must stay mineable on anything).
  common::Uint256 max_target_ = *common::bitcoin_target_from_difficulty(1e-9);
  uint64_t reward_ = 5000000000ULL;
  uint32_t nbits_ = 0;
  common::Uint256 target_{};
  common::Sha256Digest tip_{};
  uint64_t height_ = 1;
  uint64_t templates_ = 0;
  uint64_t blocks_submitted_ = 0;
  bool stopped_ = false;
  const otd_jobs_service_t* jobs_ = nullptr;
  const otd_timer_service_t* timers_ = nullptr;
  otd_timer_t* refresh_timer_ = nullptr;
};

constexpr otd_plugin_descriptor_t kDescriptor =
    sdk::descriptor(OTD_KIND_TRANSPORT, "org.otedama.transport.devnet", "devnet", "0.1.0", "Otedama",
                    "Built-in devnet chain: a job source that stands in for a coin node", "", OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<Devnet>(kDescriptor));
