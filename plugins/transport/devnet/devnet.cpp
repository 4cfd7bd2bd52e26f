// The built-in devnet chain: a job source that stands in for a coin node in the demo and in tests.
//
// It keeps a chain of its own for any loaded algorithm, in the shape of that algorithm's coin family, issues
// templates for the next block, checks every block submitted to it with the algorithm plugin (through the
// host's otedama.algorithms/1 service: the same verify() the pool uses) and advances:
//  - Bitcoin family (sha256d, scrypt): 80-byte headers, a real coinbase transaction with a BIP34 height and
//    an 8-byte extranonce space, nBits from the difficulty; checked: previous hash, merkle root of the
//    coinbase, nBits, proof of work.
//  - Monero family (randomx): a real Monero block template blob (major/minor version 16, a v2 miner
//    transaction with a tx public key and 8 reserved extranonce bytes in its extra field, RCTTypeNull) and
//    Monero's RandomX seed rule over the devnet's own block ids (with a configurable epoch for tests), the
//    next seed announced `seed_lag` blocks ahead; checked: the block rebuilt from the template with the
//    extranonce and nonce hashes to the submitted hashing blob, previous id, proof of work.
//  - Ethereum family (ethash, etchash, kawpow): the header hash is Keccak-256 over the devnet header
//    (previous hash, height, time, coin); the epoch and its seed follow the algorithm's epoch length;
//    checked: header hash, mix hash and proof of work.
// Difficulty: Bitcoin's retarget rule (new = old x actual / expected, the ratio clamped to [1/4, 4]) after
// every block instead of every 2016, so the devnet settles on block_time whatever the miners' speed.
//
// Configuration (the `devnet` section of otedama.yaml, handed over as JSON):
//   coin        ticker of the chain                                       (DEVNET)
//   algorithm   a loaded algorithm plugin's name                          (sha256d)
//   difficulty  initial block difficulty, in the family's units           (0.001; Monero/Ethereum >= 1)
//   block_time  the block interval the difficulty steers to               (30s); 0 keeps the difficulty fixed
//   refresh     re-issue the template with a new time every               (30s)
//   reward      block reward in atomic units                              (5000000000)
//   seed_epoch  Monero family: blocks per RandomX seed epoch (power of 2) (2048, Monero's)
//   seed_lag    Monero family: blocks the next seed is known ahead        (64, Monero's)
//   test_epochs Ethereum family: every epoch has the TEST geometry         (false)
//               (OTD_TEMPLATE_TEST_EPOCH: 1031 cache items, 4108 DAG items instead of 16 MiB / 1 GiB at
//               epoch 0), named in every template so the pool, the backends and the devnet's own check
//               all use it; for tests and demos of GPU backends whose real DAG would take minutes to build
#include <otedama/algorithm.h>
#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/keccak.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/ethash/ethash.hpp>
#include <otedama/monero/block.hpp>
#include <otedama/monero/seed.hpp>
#include <otedama/monero/varint.hpp>
#include <otedama/sdk/transport.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

namespace {

namespace sdk = otedama::sdk;
namespace common = otedama::common;
namespace monero = otedama::monero;
namespace ethash = otedama::ethash;

constexpr uint32_t kExtranonceSize = 8;
constexpr const char* kCoinbaseTag = "/otedama devnet/";
using Hash = std::array<uint8_t, 32>;

enum class Shape { header80, monero, ethash };

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

Hash keccak(std::span<const uint8_t> data) { return common::keccak256(data); }

class Devnet final : public sdk::Transport<Devnet> {
 public:
  static constexpr uint32_t kRoles = OTD_TRANSPORT_JOB_SOURCE;
  using Transport::Transport;

  void init() override {
    const common::FlatJsonObject cfg = common::parse_flat_json_object(host().config_json());
    if (!cfg.ok()) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet: configuration is not a JSON object: " + cfg.error);
    bool difficulty_set = false;
    for (const auto& m : cfg.members) {
      const auto& v = m.value;
      if (m.key == "coin" && v.kind == common::JsonValue::Kind::string && !v.text.empty()) {
        coin_ = v.text;
      } else if (m.key == "algorithm" && v.kind == common::JsonValue::Kind::string && !v.text.empty()) {
        algorithm_ = v.text;  // checked against the loaded plugins at start()
      } else if (m.key == "difficulty" && (v.kind == common::JsonValue::Kind::number || v.kind == common::JsonValue::Kind::string)) {
        // YAML hands a float over as a number or as its text: accept either, but only a whole number literal.
        char* end = nullptr;
        difficulty_ = std::strtod(v.text.c_str(), &end);
        if (v.text.empty() || *end != '\0' || !(difficulty_ > 0) || !std::isfinite(difficulty_))
          throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.difficulty must be a positive number, got '" + v.text + "'");
        difficulty_set = true;
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
      } else if (m.key == "seed_epoch") {
        const auto r = common::json_integer(v, 2, 1 << 20);
        if (!r || (*r & (*r - 1)) != 0) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.seed_epoch must be a power of two from 2 to 2^20, got " + v.text);
        seed_epoch_ = static_cast<uint64_t>(*r);
      } else if (m.key == "seed_lag") {
        const auto r = common::json_integer(v, 1, 1 << 20);
        if (!r) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.seed_lag must be an integer from 1 to 2^20, got " + v.text);
        seed_lag_ = static_cast<uint64_t>(*r);
      } else if (m.key == "test_epochs") {
        if (v.kind != common::JsonValue::Kind::boolean) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.test_epochs must be true or false, got " + v.text);
        test_epochs_ = v.text == "true";
      } else {
        throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet." + m.key + ": unknown key or wrong type (" + v.kind_name() +
                                                  "); known: coin, algorithm, difficulty, block_time, refresh, reward, seed_epoch, seed_lag, test_epochs");
      }
    }
    if (seed_lag_ >= seed_epoch_) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.seed_lag must be smaller than devnet.seed_epoch");
    difficulty_set_ = difficulty_set;
  }

  void start() {
    jobs_ = host().service<otd_jobs_service_t>(OTD_SERVICE_JOBS);
    const auto* timers = host().service<otd_timer_service_t>(OTD_SERVICE_TIMER);
    const auto* algorithms = host().service<otd_algorithms_service_t>(OTD_SERVICE_ALGORITHMS);
    if (jobs_ == nullptr || timers == nullptr || algorithms == nullptr)
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "devnet needs the host's otedama.jobs/1, otedama.timer/1 and otedama.algorithms/1 services");
    if (algorithms->find(host().raw(), algorithm_.c_str(), &algo_plugin_, &algo_) != OTD_OK || algo_ == nullptr)
      throw sdk::Error(OTD_ERR_NOT_FOUND, "devnet.algorithm: no loaded algorithm plugin named '" + algorithm_ + "'");
    const std::string family = algo_->coin_family != nullptr ? algo_->coin_family : "";
    if (family == "bitcoin" || family == "litecoin") {
      shape_ = Shape::header80;
    } else if (family == "monero") {
      shape_ = Shape::monero;
    } else if (family == "ethereum" || family == "ethereum-classic" || family == "ravencoin") {
      shape_ = Shape::ethash;
      variant_ = algorithm_ == "kawpow" ? &ethash::kKawpow : algorithm_ == "etchash" ? &ethash::kEtchash : &ethash::kEthash;
    } else {
      throw sdk::Error(OTD_ERR_UNSUPPORTED, "devnet.algorithm: '" + algorithm_ + "' is of the coin family '" + family +
                                                "', which the devnet has no chain shape for (bitcoin, litecoin, monero, ethereum, ethereum-classic, ravencoin)");
    }
    if (test_epochs_ && shape_ != Shape::ethash) {
      throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.test_epochs is for the Ethereum family (ethash, etchash, kawpow); '" + algorithm_ +
                                                "' has no epochs");
    }
    // Monero and Ethereum difficulties count expected hashes: below 1 they mean nothing. Ravencoin's KawPow
    // keeps Bitcoin's unit (difficulty 1 = 2^32 hashes), so it starts lower than Bitcoin's own default.
    if (family == "monero" || family == "ethereum" || family == "ethereum-classic") {
      if (!difficulty_set_) difficulty_ = 1000;
      if (difficulty_ < 1) throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.difficulty must be at least 1 for " + algorithm_ + " (its unit is one expected hash)");
      min_difficulty_ = 1;
    } else if (family == "ravencoin") {
      if (!difficulty_set_) difficulty_ = 0.00001;
      min_difficulty_ = 1e-9;
    }
    set_difficulty(difficulty_);
    // A genesis of our own: the hash of the chain's name, so every devnet starts from the same tip.
    const std::string genesis = "otedama devnet genesis " + coin_ + " " + algorithm_;
    const auto g = common::sha256d(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(genesis.data()), genesis.size()));
    std::copy(g.begin(), g.end(), tip_.begin());
    block_ids_.push_back(tip_);  // height 0
    timers_ = timers;
    const otd_status_t st = timers->start(host().raw(), static_cast<uint32_t>(refresh_ms_), 1, &Devnet::on_refresh, this, &refresh_timer_);
    if (st != OTD_OK) throw sdk::Error(st, "devnet: cannot start the refresh timer");
    host().logf(OTD_LOG_INFO, "devnet %s: %s, difficulty %g, block time %llu ms, block reward %llu%s", coin_.c_str(), algorithm_.c_str(),
                difficulty_, static_cast<unsigned long long>(block_time_ms_), static_cast<unsigned long long>(reward_),
                test_epochs_ ? ", TEST epochs (tiny DAGs; never a real chain's)" : "");
    last_block_ms_ = host().wall_time_ms();
    issue(true);
  }

  void stop() {
    if (refresh_timer_ != nullptr) timers_->cancel(host().raw(), refresh_timer_);
    refresh_timer_ = nullptr;
    std::lock_guard lock(mutex_);
    stopped_ = true;
    release_verify_context();
  }

  otd_transport_status_t status() {
    auto s = sdk::make_struct<otd_transport_status_t>();
    std::lock_guard lock(mutex_);
    s.state = stopped_ ? OTD_STATUS_DOWN : OTD_STATUS_UP;
    s.templates = templates_;
    s.submissions = blocks_submitted_;
    sdk::copy_field(s.endpoint, "devnet:" + coin_);
    sdk::copy_field(s.message, algorithm_ + " height " + std::to_string(height_));
    return s;
  }

  void submit_block(const otd_block_t& block) {
    std::lock_guard lock(mutex_);
    ++blocks_submitted_;
    auto refuse = [&](const std::string& why) {
      post_block_event(OTD_BLOCK_REJECTED, block.hash, height_);
      throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet rejected the block: " + why);
    };
    if (block.tmpl == nullptr || block.header == nullptr) refuse("no template or header");
    if (block.tmpl->height != height_) refuse("it is for height " + std::to_string(block.tmpl->height) + ", the tip is at " + std::to_string(height_ - 1) + " (stale)");
    const std::span<const uint8_t> header(block.header, block.header_size);
    Hash id{};
    switch (shape_) {
      case Shape::header80: id = check_header80(block, header, refuse); break;
      case Shape::monero: id = check_monero(block, header, refuse); break;
      case Shape::ethash: id = check_ethash(block, header, refuse); break;
    }
    tip_ = id;
    block_ids_.push_back(id);
    post_block_event(OTD_BLOCK_CONFIRMED, block.hash, height_);
    host().logf(OTD_LOG_INFO, "devnet %s: block %llu accepted: %s", coin_.c_str(), static_cast<unsigned long long>(height_),
                shape_ == Shape::header80 ? common::to_display_hex(id).c_str() : common::to_hex(id).c_str());
    ++height_;
    retarget();
    issue_locked(true);
  }

 private:
  template <typename Refuse>
  Hash check_header80(const otd_block_t& block, std::span<const uint8_t> header, Refuse&& refuse) {
    if (header.size() != 80) refuse("header is not 80 bytes");
    if (!std::equal(tip_.begin(), tip_.end(), header.begin() + 4)) refuse("previous block hash is not the tip (stale)");
    if (block.coinbase == nullptr || block.coinbase_size == 0) refuse("no coinbase transaction");
    const auto merkle = common::sha256d(std::span<const uint8_t>(block.coinbase, block.coinbase_size));  // coinbase-only block
    if (!std::equal(merkle.begin(), merkle.end(), header.begin() + 36)) refuse("merkle root does not commit to the coinbase");
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(header[72 + i]) << (8 * i);
    if (bits != nbits_) refuse("nBits does not match the chain");
    verify_pow(header, 0, nullptr, refuse);
    const auto id = common::sha256d(header);  // Bitcoin-family block ids are sha256d whatever the proof of work
    Hash out{};
    std::copy(id.begin(), id.end(), out.begin());
    return out;
  }

  template <typename Refuse>
  Hash check_monero(const otd_block_t& block, std::span<const uint8_t> header, Refuse&& refuse) {
    const otd_template_t& t = *block.tmpl;
    const bool has_extranonce = block.struct_size >= OTD_FIELD_END(otd_block_t, extranonce_size) && block.extranonce != nullptr;
    if (!has_extranonce || block.extranonce_size != kExtranonceSize) refuse("the block does not carry its 8-byte extranonce");
    std::string why;
    const auto parsed = monero::parse_hashing_blob(header, &why);
    if (!parsed) refuse("the hashing blob does not parse: " + why);
    if (!std::equal(tip_.begin(), tip_.end(), parsed->header.prev_id.begin())) refuse("previous block id is not the tip (stale)");
    const auto full = monero::fill_block_template(std::span<const uint8_t>(t.blob, t.blob_size), t.reserved_offset, t.extranonce_size,
                                                  std::span<const uint8_t>(block.extranonce, block.extranonce_size), parsed->header.nonce, &why);
    if (!full) refuse("the template cannot be filled: " + why);
    const auto rebuilt = monero::hashing_blob(*full, &why);
    if (!rebuilt || !std::equal(rebuilt->begin(), rebuilt->end(), header.begin(), header.end()))
      refuse("the hashing blob does not match the template filled with its extranonce and nonce");
    verify_pow(header, 0, nullptr, refuse);
    return monero::block_id(header);
  }

  template <typename Refuse>
  Hash check_ethash(const otd_block_t& block, std::span<const uint8_t> header, Refuse&& refuse) {
    const otd_template_t& t = *block.tmpl;
    if (header.size() != 40) refuse("the solved header is not header hash (32) + nonce (8)");
    if (t.blob_size != 32 || !std::equal(t.blob, t.blob + 32, header.begin())) refuse("header hash does not match the template");
    if (!std::equal(t.blob, t.blob + 32, expected_header_hash_.begin())) refuse("header hash is not the current tip's");
    uint64_t nonce = 0;
    for (int i = 0; i < 8; ++i) nonce |= static_cast<uint64_t>(header[32 + i]) << (8 * i);
    verify_pow(header, nonce, block.mix, refuse);
    // The devnet's block id: the header hash sealed with nonce and mix.
    std::vector<uint8_t> sealed(header.begin(), header.end());
    sealed.insert(sealed.end(), block.mix, block.mix + 32);
    return keccak(sealed);
  }

  /// The proof of work, judged by the algorithm plugin (on a light context for context algorithms).
  template <typename Refuse>
  void verify_pow(std::span<const uint8_t> blob, uint64_t nonce, const uint8_t* mix, Refuse&& refuse) {
    const otd_algo_context_t* ctx = nullptr;
    if ((algo_->flags & OTD_ALGO_NEEDS_CONTEXT) != 0U) {
      std::string why;
      ctx = verify_context(&why);
      if (ctx == nullptr) refuse("no verification context: " + why);
    }
    auto req = sdk::make_struct<otd_verify_request_t>();
    req.blob = blob.data();
    req.blob_size = static_cast<uint32_t>(blob.size());
    req.nonce = nonce;
    req.height = height_;
    if (mix != nullptr) {
      req.flags = OTD_FOUND_HAS_MIX;
      std::memcpy(req.mix, mix, 32);
    }
    std::copy(target_.begin(), target_.end(), req.share_target);
    std::copy(target_.begin(), target_.end(), req.block_target);
    auto res = sdk::make_struct<otd_verify_result_t>();
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = algo_->verify(algo_plugin_, ctx, &req, &res, err, sizeof err);
    if (st != OTD_OK) refuse(std::string("the algorithm could not verify it: ") + err);
    if (res.mix_ok == 0) refuse("mix hash does not match");
    if (res.meets_block == 0) refuse("proof of work above the target");
  }

  /// The light context for the current seed/epoch, prepared on first use (the plugin shares the memory
  /// behind it with the host's own context of the same seed).
  const otd_algo_context_t* verify_context(std::string* why) {
    const std::string key = common::to_hex(seed_) + ":" + std::to_string(epoch_);
    if (verify_ctx_ != nullptr && verify_ctx_key_ == key) return verify_ctx_;
    release_verify_context();
    auto params = sdk::make_struct<otd_context_params_t>();
    params.mode = OTD_CONTEXT_LIGHT;
    params.seed = seed_.data();
    params.seed_size = static_cast<uint32_t>(seed_.size());
    params.epoch = epoch_;
    params.height = height_;
    params.numa_node = -1;
    params.flags = test_epochs_ ? OTD_CONTEXT_FLAG_TEST_EPOCH : 0U;
    char err[OTD_ERROR_CAP] = {};
    if (algo_->prepare_context(algo_plugin_, &params, &verify_ctx_, err, sizeof err) != OTD_OK) {
      verify_ctx_ = nullptr;
      *why = err;
      return nullptr;
    }
    verify_ctx_key_ = key;
    return verify_ctx_;
  }

  void release_verify_context() {
    if (verify_ctx_ != nullptr && algo_ != nullptr) algo_->release_context(algo_plugin_, verify_ctx_);
    verify_ctx_ = nullptr;
    verify_ctx_key_.clear();
  }

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

  /// Monero's rx_seedheight with the devnet's epoch and lag.
  [[nodiscard]] uint64_t seed_height(uint64_t height) const { return monero::seed_height(height, seed_epoch_, seed_lag_); }

  /// Build and post the template for the next block on top of tip_.
  void issue_locked(bool clean) {
    if (stopped_ || jobs_ == nullptr) return;
    const std::string job_id = std::to_string(height_) + "-" + std::to_string(++templates_);
    const uint32_t now = static_cast<uint32_t>(host().wall_time_ms() / 1000);
    auto t = sdk::make_struct<otd_template_t>();
    t.flags = (clean ? OTD_TEMPLATE_CLEAN : 0U) | (test_epochs_ ? OTD_TEMPLATE_TEST_EPOCH : 0U);
    t.coin = coin_.c_str();
    t.algorithm = algorithm_.c_str();
    t.source_job_id = job_id.c_str();
    t.height = height_;
    std::copy(tip_.begin(), tip_.end(), t.prev_hash);
    std::copy(target_.begin(), target_.end(), t.block_target);
    t.reward = reward_;
    std::vector<uint8_t> cb1, cb2, blob, next_seed;
    switch (shape_) {
      case Shape::header80: {
        // coinbase1 | extranonce (8) | coinbase2, a serialized legacy transaction:
        //   version 1 | 1 input: null prevout, scriptSig = BIP34 height push, extranonce push, tag | sequence |
        //   1 output: reward to OP_TRUE | locktime 0
        const std::vector<uint8_t> height = height_push(height_);
        const std::string tag = kCoinbaseTag;
        put_le(cb1, 1, 4);
        cb1.push_back(1);
        cb1.insert(cb1.end(), 32, 0);
        put_le(cb1, 0xffffffff, 4);
        const size_t script_len = height.size() + 1 + kExtranonceSize + tag.size();
        cb1.push_back(static_cast<uint8_t>(script_len));
        cb1.insert(cb1.end(), height.begin(), height.end());
        cb1.push_back(static_cast<uint8_t>(kExtranonceSize));  // push of the extranonce bytes
        cb2.assign(tag.begin(), tag.end());
        put_le(cb2, 0xffffffff, 4);
        cb2.push_back(1);
        put_le(cb2, reward_, 8);
        cb2.push_back(1);
        cb2.push_back(0x51);  // OP_TRUE: anyone can spend a devnet reward
        put_le(cb2, 0, 4);
        t.version = 0x20000000;
        t.ntime = now;
        t.nbits = nbits_;
        t.extranonce_size = kExtranonceSize;
        t.coinbase1 = cb1.data();
        t.coinbase1_size = static_cast<uint32_t>(cb1.size());
        t.coinbase2 = cb2.data();
        t.coinbase2_size = static_cast<uint32_t>(cb2.size());
        t.nonce_size = 4;
        break;
      }
      case Shape::monero: {
        // Block template blob: header, miner transaction, no other transactions (lib/otedama/monero/block.hpp
        // has the layout and its source).
        monero::write_varint(16, blob);  // major version (RandomX since 12)
        monero::write_varint(16, blob);  // minor version (the vote)
        monero::write_varint(now, blob);
        blob.insert(blob.end(), tip_.begin(), tip_.end());
        const size_t nonce_offset = blob.size();
        put_le(blob, 0, 4);
        // miner tx v2: unlock_time, one txin_gen input, one output to a fixed key, extra, RCTTypeNull
        monero::write_varint(2, blob);
        monero::write_varint(height_ + 60, blob);  // CRYPTONOTE_MINED_MONEY_UNLOCK_WINDOW
        monero::write_varint(1, blob);
        blob.push_back(monero::kTxInGen);
        monero::write_varint(height_, blob);
        monero::write_varint(1, blob);
        monero::write_varint(reward_, blob);
        blob.push_back(monero::kTxOutToKey);
        const std::string owner = "otedama devnet output key " + coin_;
        const Hash key = keccak(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(owner.data()), owner.size()));
        blob.insert(blob.end(), key.begin(), key.end());
        // extra: tx public key (tag 0x01, 32 bytes), then the extra nonce (tag 0x02, length 8) = our reserve
        const Hash txkey = keccak(std::span<const uint8_t>(key.data(), key.size()));
        monero::write_varint(1 + 32 + 2 + kExtranonceSize, blob);
        blob.push_back(0x01);
        blob.insert(blob.end(), txkey.begin(), txkey.end());
        blob.push_back(0x02);
        blob.push_back(static_cast<uint8_t>(kExtranonceSize));
        const size_t reserved_offset = blob.size();
        blob.insert(blob.end(), kExtranonceSize, 0);
        blob.push_back(monero::kRctTypeNull);
        monero::write_varint(0, blob);  // no other transactions
        t.blob = blob.data();
        t.blob_size = static_cast<uint32_t>(blob.size());
        t.reserved_offset = static_cast<uint32_t>(reserved_offset);
        t.extranonce_size = kExtranonceSize;
        t.nonce_offset = static_cast<uint32_t>(nonce_offset);
        t.nonce_size = 4;
        // The RandomX key: the id of the block at the seed height; the next one once it is known.
        seed_.assign(block_ids_[seed_height(height_)].begin(), block_ids_[seed_height(height_)].end());
        epoch_ = 0;
        const uint64_t next = seed_height(height_ + seed_lag_);
        if (next != seed_height(height_) && next < block_ids_.size()) next_seed.assign(block_ids_[next].begin(), block_ids_[next].end());
        t.seed = seed_.data();
        t.seed_size = static_cast<uint32_t>(seed_.size());
        if (!next_seed.empty()) {
          t.next_seed = next_seed.data();
          t.next_seed_size = static_cast<uint32_t>(next_seed.size());
        }
        break;
      }
      case Shape::ethash: {
        // Header hash = Keccak-256(previous id || height || time || coin), the seal hash miners work on.
        std::vector<uint8_t> h(tip_.begin(), tip_.end());
        put_le(h, height_, 8);
        put_le(h, now, 8);
        h.insert(h.end(), coin_.begin(), coin_.end());
        expected_header_hash_ = keccak(h);
        blob.assign(expected_header_hash_.begin(), expected_header_hash_.end());
        epoch_ = ethash::epoch_of(*variant_, height_);
        const auto seed = ethash::epoch_seed(*variant_, epoch_);
        seed_.assign(seed.begin(), seed.end());
        t.blob = blob.data();
        t.blob_size = 32;
        t.nonce_size = 8;
        t.seed = seed_.data();
        t.seed_size = 32;
        t.epoch = epoch_;
        t.ntime = now;
        break;
      }
    }
    uint64_t job = 0;
    char err[OTD_ERROR_CAP] = {};
    const otd_status_t st = jobs_->submit_template(host().raw(), &t, &job, err, sizeof err);
    if (st != OTD_OK) host().logf(OTD_LOG_ERROR, "devnet: the host refused template %s: %s", job_id.c_str(), err);
  }

  /// Difficulty -> target through the algorithm plugin (the family's units); Bitcoin-family chains commit
  /// to nBits, so their target is what nBits decodes to and both sides agree exactly.
  void set_difficulty(double difficulty) {
    common::Uint256 target{};
    if (algo_->target_from_difficulty(algo_plugin_, difficulty, target.data()) != OTD_OK)
      throw sdk::Error(OTD_ERR_INVALID_ARG, "devnet.difficulty " + std::to_string(difficulty) + " is out of range for " + algorithm_);
    if (shape_ == Shape::header80) {
      nbits_ = common::encode_compact(target);
      target = *common::target_from_nbits(nbits_);
    }
    target_ = target;
    difficulty_ = difficulty;
  }

  void retarget() {
    const int64_t now = host().wall_time_ms();
    if (block_time_ms_ > 0) {
      if (shape_ == Shape::header80) {
        nbits_ = common::bitcoin_next_work_required(nbits_, last_block_ms_, now, max_target_, static_cast<int64_t>(block_time_ms_));
        target_ = *common::target_from_nbits(nbits_);
      } else {
        // The same rule on the difficulty: new = old x expected / actual, the ratio clamped to [1/4, 4].
        const double actual = std::clamp(static_cast<double>(now - last_block_ms_), static_cast<double>(block_time_ms_) / 4,
                                         static_cast<double>(block_time_ms_) * 4);
        set_difficulty(std::max(min_difficulty_, difficulty_ * static_cast<double>(block_time_ms_) / actual));
      }
      host().logf(OTD_LOG_DEBUG, "devnet %s: retarget after a %lld ms block", coin_.c_str(), static_cast<long long>(now - last_block_ms_));
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
  std::string algorithm_ = "sha256d";
  Shape shape_ = Shape::header80;
  const ethash::Variant* variant_ = nullptr;
  const otd_plugin_t* algo_plugin_ = nullptr;
  const otd_algorithm_t* algo_ = nullptr;
  double difficulty_ = 0.001;
  bool difficulty_set_ = false;
  double min_difficulty_ = 0;
  uint64_t refresh_ms_ = 30000;
  uint64_t block_time_ms_ = 30000;
  int64_t last_block_ms_ = 0;
  // The easiest target a Bitcoin-family retarget may reach: difficulty 1e-9 (a devnet must stay mineable).
  common::Uint256 max_target_ = *common::bitcoin_target_from_difficulty(1e-9);
  uint64_t reward_ = 5000000000ULL;
  uint64_t seed_epoch_ = 2048;
  uint64_t seed_lag_ = 64;
  bool test_epochs_ = false;  ///< Ethereum family: OTD_TEMPLATE_TEST_EPOCH on every template
  uint32_t nbits_ = 0;
  common::Uint256 target_{};
  Hash tip_{};
  std::vector<Hash> block_ids_;  ///< by height (0 = genesis): the Monero family keys RandomX with them
  Hash expected_header_hash_{};
  std::vector<uint8_t> seed_;
  uint64_t epoch_ = 0;
  otd_algo_context_t* verify_ctx_ = nullptr;
  std::string verify_ctx_key_;
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
                    "Built-in devnet chain for every algorithm: a job source that stands in for a coin node", "",
                    OTD_TRANSPORT_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(sdk::plugin_class<Devnet>(kDescriptor));
