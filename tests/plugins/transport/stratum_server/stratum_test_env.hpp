// Test doubles for the stratum server engine (plugins/transport/stratum-server/server.hpp): an Env that
// records what the engine sends, closes and submits, and Bitcoin jobs built from real exchanges.
#pragma once

#include "server.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/monero/block.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace otedama::stratum::testing {

/// Records every effect of the engine. Thread-safe (the engine calls it from any thread).
class FakeEnv : public Env {
 public:
  struct Candidate {
    otd_candidate_t c{};
    std::vector<uint8_t> extranonce;
    std::string worker;
  };

  void send(uint64_t conn, std::string_view data) override {
    std::lock_guard lock(mutex);
    std::string& partial = partial_[conn];
    partial.append(data);
    for (size_t nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
      lines[conn].push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
  }
  void send_many(std::span<const uint64_t> conns, std::string_view data) override {
    {
      std::lock_guard lock(mutex);
      ++send_many_calls;
      send_many_sizes.push_back(conns.size());
    }
    for (uint64_t c : conns) send(c, data);
  }
  void close(uint64_t conn) override {
    std::lock_guard lock(mutex);
    closed.push_back(conn);
  }
  otd_status_t submit_candidate(const otd_candidate_t& c) override {
    std::lock_guard lock(mutex);
    if (submit_status != OTD_OK) return submit_status;
    Candidate copy;
    copy.c = c;
    copy.extranonce.assign(c.extranonce, c.extranonce + c.extranonce_size);
    copy.worker = c.worker != nullptr ? c.worker : "";
    copy.c.extranonce = nullptr;
    copy.c.worker = nullptr;
    candidates.push_back(std::move(copy));
    return OTD_OK;
  }
  uint64_t now_ms() override {
    std::lock_guard lock(mutex);
    return now;
  }
  void log(otd_log_level_t level, std::string_view message) override {
    std::lock_guard lock(mutex);
    logs.emplace_back(level, std::string(message));
  }
  /// What the randomx plugin's build_blob does (it uses the same lib/otedama/monero functions).
  bool build_blob(const otd_template_t& t, std::span<const uint8_t> extranonce, std::vector<uint8_t>& blob,
                  std::string& error) override {
    if (t.algorithm == nullptr || std::string_view(t.algorithm) != "randomx") {
      error = "the fake only builds randomx blobs";
      return false;
    }
    const auto filled = monero::fill_block_template(std::span<const uint8_t>(t.blob, t.blob_size), t.reserved_offset,
                                                    t.extranonce_size, extranonce, std::nullopt, &error);
    if (!filled) return false;
    auto hashing = monero::hashing_blob(*filled, &error);
    if (!hashing) return false;
    blob = std::move(*hashing);
    return true;
  }

  /// The lines sent to `conn` since the last take(), oldest first.
  std::vector<std::string> take(uint64_t conn) {
    std::lock_guard lock(mutex);
    auto out = std::move(lines[conn]);
    lines[conn].clear();
    return out;
  }
  bool was_closed(uint64_t conn) {
    std::lock_guard lock(mutex);
    return std::find(closed.begin(), closed.end(), conn) != closed.end();
  }
  bool logged(std::string_view needle) {
    std::lock_guard lock(mutex);
    for (const auto& [level, m] : logs)
      if (m.find(needle) != std::string::npos) return true;
    return false;
  }
  void advance(uint64_t ms) {
    std::lock_guard lock(mutex);
    now += ms;
  }

  std::mutex mutex;
  std::map<uint64_t, std::vector<std::string>> lines;
  std::vector<uint64_t> closed;
  std::vector<Candidate> candidates;
  std::vector<std::pair<otd_log_level_t, std::string>> logs;
  otd_status_t submit_status = OTD_OK;
  uint64_t now = 1'000'000;
  size_t send_many_calls = 0;
  std::vector<size_t> send_many_sizes;

 private:
  std::map<uint64_t, std::string> partial_;
};

inline std::vector<uint8_t> unhex(std::string_view hex) {
  auto bytes = common::from_hex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or(std::vector<uint8_t>{});
}

/// A Bitcoin-family job with owned storage, as the host would hand it to on_job.
struct BitcoinJob {
  std::string coin = "BTC", algorithm = "sha256d", source_id = "src-1";
  std::vector<uint8_t> coinbase1, coinbase2, merkle;
  otd_template_t tmpl{};
  otd_job_t job{};

  /// `notify_prevhash` is stratum's word-swapped form; the template carries the header's internal order.
  BitcoinJob(uint64_t id, std::string_view notify_prevhash, std::string_view coinb1, std::string_view coinb2,
             const std::vector<std::string>& branches, uint32_t version, uint32_t nbits, uint32_t ntime, bool clean = true,
             uint32_t extranonce_size = 8) {
    coinbase1 = unhex(coinb1);
    coinbase2 = unhex(coinb2);
    for (const auto& b : branches) {
      const auto bytes = unhex(b);
      merkle.insert(merkle.end(), bytes.begin(), bytes.end());
    }
    tmpl.struct_size = sizeof tmpl;
    tmpl.flags = clean ? OTD_TEMPLATE_CLEAN : 0;
    tmpl.coin = coin.c_str();
    tmpl.algorithm = algorithm.c_str();
    tmpl.source_job_id = source_id.c_str();
    tmpl.height = 100;
    const auto prev = unhex(notify_prevhash);
    for (size_t w = 0; w < 8 && prev.size() == 32; ++w)
      for (size_t k = 0; k < 4; ++k) tmpl.prev_hash[4 * w + k] = prev[4 * w + 3 - k];
    std::memset(tmpl.block_target, 0, sizeof tmpl.block_target);
    tmpl.block_target[25] = 0x01;  // some target; unused by the server
    tmpl.version = version;
    tmpl.ntime = ntime;
    tmpl.nbits = nbits;
    tmpl.extranonce_size = extranonce_size;
    tmpl.coinbase1 = coinbase1.data();
    tmpl.coinbase1_size = static_cast<uint32_t>(coinbase1.size());
    tmpl.coinbase2 = coinbase2.data();
    tmpl.coinbase2_size = static_cast<uint32_t>(coinbase2.size());
    tmpl.merkle_branch = merkle.empty() ? nullptr : merkle.data();
    tmpl.merkle_branch_count = static_cast<uint32_t>(branches.size());
    tmpl.nonce_size = 4;
    job.struct_size = sizeof job;
    job.flags = tmpl.flags;
    job.job_id = id;
    job.tmpl = &tmpl;
    const auto target = common::bitcoin_target_from_difficulty(1.0);
    std::memcpy(job.share_target, target->data(), 32);
    job.share_difficulty = 1.0;
    job.network_difficulty = 1.0;
  }
  BitcoinJob(const BitcoinJob&) = delete;
  BitcoinJob& operator=(const BitcoinJob&) = delete;
};

// ---------------------------------------------------------------------------------------------------------
// A real exchange: ESP-Miner's unit test "Test nonce diff checking 2" (bitaxeorg/ESP-Miner
// components/stratum/test/test_mining.c at 5c27713116c777fba3458459f248ddee595c4734), apparently a real
// slush-pool mainnet job of 2023-05-26 (coinbase tag '/slush/', ntime 0x647025b5, bits 0x1705ae3a). With
// extranonce1 01000000, extranonce2 00000000 and nonce 0x0a029ed1 it is a share of difficulty 683.51.
// Header and hash recomputed locally (/work/shared/vectors/pow-vectors.json, stratum_v1[0]).
namespace esp_miner {
inline constexpr const char* kPrevhash = "0c859545a3498373a57452fac22eb7113df2a465000543520000000000000000";
inline constexpr const char* kCoinb1 =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4b0389130cfabe6d6d5cbab26a2599e92916edec5657"
    "a94a0708ddb970f5c45b5d12905085617eff8e";
inline constexpr const char* kCoinb2 =
    "31650707758de07b010000000000001cfd7038212f736c7573682f000000000379ad0c2a000000001976a9147c154ed1dc59609e3d26abb2df2ea3d587cd8c"
    "4188ac00000000000000002c6a4c2952534b424c4f434b3ae725d3994b811572c1f345deb98b56b465ef8e153ecbbd27fa37bf1b00516138000000000000000026"
    "6a24aa21a9ed63b06a7946b190a3fda1d76165b25c9b883bcc6621b040773050ee2a1bb18f1800000000";
inline const std::vector<std::string> kBranches = {
    "2b77d9e413e8121cd7a17ff46029591051d0922bd90b2b2a38811af1cb57a2b2",
    "5c8874cef00f3a233939516950e160949ef327891c9090467cead995441d22c5",
    "2d91ff8e19ac5fa69a40081f26c5852d366d608b04d2efe0d5b65d111d0d8074",
    "0ae96f609ad2264112a0b2dfb65624bedbcea3b036a59c0173394bba3a74e887",
    "e62172e63973d69574a82828aeb5711fc5ff97946db10fc7ec32830b24df7bde",
    "adb49456453aab49549a9eb46bb26787fb538e0a5f656992275194c04651ec97",
    "a7bc56d04d2672a8683892d6c8d376c73d250a4871fdf6f57019bcc737d6d2c2",
    "d94eceb8182b4f418cd071e93ec2a8993a0898d4c93bc33d9302f60dbbd0ed10",
    "5ad7788b8c66f8f50d332b88a80077ce10e54281ca472b4ed9bbbbcb6cf99083",
    "9f9d784b33df1b3ed3edb4211afc0dc1909af9758c6f8267e469f5148ed04809",
    "48fd17affa76b23e6fb2257df30374da839d6cb264656a82e34b350722b05123",
    "c4f5ab01913fc186d550c1a28f3f3e9ffaca2016b961a6a751f8cca0089df924",
    "cff737e1d00176dd6bbfa73071adbb370f227cfb5fba186562e4060fcec877e1",
};
inline constexpr uint32_t kVersion = 0x20000004, kNbits = 0x1705ae3a, kNtime = 0x647025b5, kNonce = 0x0a029ed1;
inline constexpr const char* kExtranonce1 = "01000000";
inline constexpr const char* kExtranonce2 = "00000000";
inline constexpr const char* kHeader =
    "040000204595850c738349a3fa5274a511b72ec265a4f23d5243050000000000000000005bdc1968499c3393873edf8e07a1c3a50a97fc3a9d1a376bbf77087d"
    "d63778ebb52570643aae0517d19e020a";
inline constexpr double kShareDifficulty = 683.5109367312982;
}  // namespace esp_miner

}  // namespace otedama::stratum::testing
