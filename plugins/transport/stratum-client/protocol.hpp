// The stratum-client's wire formats: decoding what pools send and writing what miners send, one pure
// function per message, so that tests check every byte against recorded exchanges without a socket.
//
// Bitcoin family (sha256d, scrypt), Stratum V1 as slush's draft, cgminer, cpuminer and every pool speak it:
//  - mining.notify params [job_id, prevhash, coinb1, coinb2, [merkle branch], version, nbits, ntime, clean]:
//    prevhash is the previous block hash with the bytes of each 4-byte word swapped relative to the header
//    (internal) order; coinb1/coinb2 and the branch are raw bytes in hex; version, nbits and ntime are the
//    32-bit integers in big-endian hex ("20000004"), written little-endian into the header.
//  - The coinbase is coinb1 || extranonce1 || extranonce2 || coinb2. The host's template carries
//    coinbase1 = coinb1 || extranonce1 and extranonce_size = extranonce2_size, so the extranonce the
//    scheduler gives each lane is exactly extranonce2, and that is what mining.submit echoes.
//  - mining.submit params [user, job_id, extranonce2, ntime, nonce(, version_bits)]: extranonce2 as the bytes
//    placed in the coinbase, ntime and nonce as the integers in big-endian hex ("%08x", cpuminer's and
//    ESP-Miner's spelling), version_bits (BIP 310) likewise.
//  - Errors are [code, "message", traceback] (codes 20..25 as pools use them); some pools answer objects
//    {"code":..,"message":..}: both are read.
// Monero family (randomx), xmrig's dialect: login / job / submit / keepalived, JSON-RPC 2.0 shaped.
// Sources: /work/shared/vectors/pow-vectors.json "stratum_v1" (ESP-Miner's recorded slush job) and
// "stratum_v1_notes"; BIP 310 for mining.configure; xmrig src/base/net/stratum/Client.cpp for the login.
//
// Thread safety: pure functions.
#pragma once

#include "json.hpp"  // the strict JSON reader shared with stratum-server (plugins/transport/stratum-server/json.hpp)

#include <otedama/common/uint256.hpp>
#include <otedama/otedama.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::stratum_client {

namespace json = otedama::stratum::json;

// ---------------------------------------------------------------------------------------------------------
// Bitcoin family

/// A decoded mining.notify.
struct BitcoinNotify {
  std::string job_id;
  std::array<uint8_t, 32> prev_hash{};  ///< internal (header) byte order
  std::vector<uint8_t> coinb1, coinb2;
  std::vector<uint8_t> merkle_branch;  ///< count x 32 bytes, as sent (internal order)
  uint32_t version = 0, nbits = 0, ntime = 0;
  bool clean = false;
};

/// Longest job id kept (pools use a few hex digits; anything longer is refused, not truncated).
inline constexpr size_t kMaxJobIdLength = 128;
/// Largest coinb1/coinb2 accepted (a coinbase with many outputs stays far below).
inline constexpr size_t kMaxCoinbasePart = 64 * 1024;
/// Deepest merkle branch accepted (2^32 transactions).
inline constexpr size_t kMaxMerkleBranch = 32;

/// params of mining.notify -> BitcoinNotify; std::nullopt and `error` naming the bad parameter.
[[nodiscard]] std::optional<BitcoinNotify> parse_bitcoin_notify(const json::Value& params, std::string* error);

/// The result of mining.subscribe: [[subscriptions...], "extranonce1", extranonce2_size].
struct SubscribeResult {
  std::vector<uint8_t> extranonce1;
  uint32_t extranonce2_size = 0;
};
/// Extranonce sizes accepted: 0..16 bytes of extranonce1, 1..16 of extranonce2 (the host's template takes up
/// to 32; pools use 4 + 4 or 4 + 8, NiceHash 2-3 + 5-6).
inline constexpr uint32_t kMaxExtranonce1 = 16;
inline constexpr uint32_t kMaxExtranonce2 = 16;
[[nodiscard]] std::optional<SubscribeResult> parse_subscribe_result(const json::Value& result, std::string* error);
/// params of mining.set_extranonce: ["extranonce1", extranonce2_size].
[[nodiscard]] std::optional<SubscribeResult> parse_set_extranonce(const json::Value& params, std::string* error);

/// The stratum prevhash (each 4-byte word byte-swapped) in header order, and back (the swap is its own inverse).
[[nodiscard]] std::array<uint8_t, 32> swap_words(std::span<const uint8_t, 32> bytes) noexcept;

/// The block height a BIP 34 coinbase commits to: the first push of the input script in coinb1. 0 when
/// coinb1 is too short or does not start that way (pools on chains without BIP 34).
[[nodiscard]] uint64_t coinbase_height(std::span<const uint8_t> coinb1) noexcept;

/// A 32-bit integer as pools write it: 8 lowercase hex digits, most significant first.
[[nodiscard]] std::string hex32(uint32_t value);
/// 1..8 hex digits, most significant first (what pools send for version, nbits, ntime).
[[nodiscard]] std::optional<uint32_t> parse_hex32(std::string_view text) noexcept;

/// Requests the client sends ("\n" included). `id` is the request id.
[[nodiscard]] std::string bitcoin_configure(uint64_t id, uint32_t version_mask);
[[nodiscard]] std::string bitcoin_subscribe(uint64_t id, std::string_view agent);
[[nodiscard]] std::string bitcoin_authorize(uint64_t id, std::string_view user, std::string_view pass);
[[nodiscard]] std::string bitcoin_extranonce_subscribe(uint64_t id);
/// mining.submit; version_bits present only when version rolling was negotiated and bits were rolled.
[[nodiscard]] std::string bitcoin_submit(uint64_t id, std::string_view user, std::string_view job_id,
                                         std::span<const uint8_t> extranonce2, uint32_t ntime, uint32_t nonce,
                                         std::optional<uint32_t> version_bits);

/// The result of mining.configure: the version-rolling mask the pool granted (0 when refused or absent).
[[nodiscard]] uint32_t parse_configure_result(const json::Value& result) noexcept;

// ---------------------------------------------------------------------------------------------------------
// Monero family (xmrig's dialect)

struct MoneroJob {
  std::string job_id;
  std::vector<uint8_t> blob;   ///< the hashing blob, nonce at 39
  common::Uint256 target{};    ///< from the 4- or 8-byte compact target
  double difficulty = 0;       ///< what that target means in Monero units
  uint64_t height = 0;
  std::vector<uint8_t> seed;   ///< seed_hash, 32 bytes
  std::string algo;            ///< "rx/0" when given
};
inline constexpr uint32_t kMoneroNonceOffset = 39;
/// A job object ({"blob","job_id","target","height","seed_hash","algo"}) -> MoneroJob.
[[nodiscard]] std::optional<MoneroJob> parse_monero_job(const json::Value& job, std::string* error);
/// xmrig's targets: 4 bytes (little-endian u32 t: difficulty = 2^32 / t, i.e. target 2^256 * t / 2^32) or
/// 8 bytes (little-endian u64: difficulty = 2^64 / t).
[[nodiscard]] std::optional<common::Uint256> monero_target_from_hex(std::string_view hex, double* difficulty);

[[nodiscard]] std::string monero_login(uint64_t id, std::string_view user, std::string_view pass, std::string_view agent,
                                       std::string_view algo);
[[nodiscard]] std::string monero_submit(uint64_t id, std::string_view session_id, std::string_view job_id, uint32_t nonce,
                                        std::span<const uint8_t, 32> hash);
[[nodiscard]] std::string monero_keepalive(uint64_t id, std::string_view session_id);

// ---------------------------------------------------------------------------------------------------------
// Ethereum family: EthereumStratum/1.0.0 (NiceHash's specification EthereumStratum_NiceHash_v1.0.0.txt R2;
// ethminer's ETHEREUMSTRATUM mode) for ethash and etchash, and its KawPow variant (kawpowminer, the yiimp-
// and NOMP-style Ravencoin pools) for kawpow. What this side speaks is what plugins/transport/stratum-server
// serves (its README has both dialects line by line):
//  - mining.subscribe [agent, "EthereumStratum/1.0.0"] -> [[..., "EthereumStratum/1.0.0"], "nonce prefix"];
//    KawPow [agent, null] -> [null, "nonce prefix"]. The prefix (0..7 bytes) is the most significant bytes
//    of the 64-bit nonce; mining.set_extranonce ["prefix"] replaces it.
//  - mining.set_difficulty [d]: NiceHash's unit, the Bitcoin one (target = 0x00000000ffff0000... / d);
//    KawPow pools send mining.set_target ["target"] (the 256-bit target, big-endian hex) instead.
//  - mining.notify [job_id, seed, header, clean] (ethash); [job_id, header, seed, target, clean, height, bits]
//    (KawPow: the job's own share target; height gives the epoch and the ProgPoW period).
//  - mining.submit [worker, job_id, nonce]: the nonce's hex digits after the prefix (NiceHash); KawPow
//    [worker, job_id, "0x" 16 hex digits, "0x" header, "0x" mix].

struct EthereumJob {
  std::string job_id;
  std::array<uint8_t, 32> seed{};
  std::array<uint8_t, 32> header{};  ///< the header hash mined on (the template's blob)
  bool clean = false;
  // KawPow only:
  std::optional<common::Uint256> target;  ///< the share target the job came with
  uint64_t height = 0;
  uint32_t nbits = 0;
};
/// Longest nonce prefix accepted (it must leave the miner some of the 64-bit nonce).
inline constexpr uint32_t kMaxNoncePrefix = 7;
/// params of mining.notify -> EthereumJob (`kawpow` picks the 7-element form).
[[nodiscard]] std::optional<EthereumJob> parse_ethereum_notify(const json::Value& params, bool kawpow, std::string* error);
/// The nonce prefix from the subscribe answer ([x, "prefix"], x anything) or from mining.set_extranonce's params.
[[nodiscard]] std::optional<std::vector<uint8_t>> parse_nonce_prefix(const json::Value& value, size_t index, std::string* error);
/// A 256-bit target as KawPow pools write it: 64 hex digits, big-endian, "0x" allowed.
[[nodiscard]] std::optional<common::Uint256> parse_target_hex(std::string_view text, std::string* error);

[[nodiscard]] std::string ethereum_subscribe(uint64_t id, std::string_view agent, bool kawpow);
/// mining.submit: NiceHash's form with only the nonce's digits after the prefix.
[[nodiscard]] std::string ethereum_submit(uint64_t id, std::string_view user, std::string_view job_id, uint64_t nonce,
                                          size_t prefix_bytes);
[[nodiscard]] std::string kawpow_submit(uint64_t id, std::string_view user, std::string_view job_id, uint64_t nonce,
                                        std::span<const uint8_t, 32> header, std::span<const uint8_t, 32> mix);

// ---------------------------------------------------------------------------------------------------------
// Both

/// A reply to a server's request (client.get_version, mining.ping): {"id":ID,"result":RESULT,"error":null}.
[[nodiscard]] std::string result_line(std::string_view id_token, std::string_view result_json);

struct RpcError {
  int64_t code = 0;
  std::string message;
};
/// The "error" member of a response: std::nullopt for null/absent, else the code and message of
/// [code, "message", ...] or {"code":..,"message":..} (anything else: code 0 and the JSON text).
[[nodiscard]] std::optional<RpcError> parse_error(const json::Value& error);

/// How the host counts a pool's rejection (events.h OTD_EVENT_SHARE verdict): 21 stale, 22 duplicate,
/// 23 low difficulty; a message naming ntime is bad ntime; everything else malformed.
[[nodiscard]] otd_share_verdict_t verdict_from_error(const RpcError& error) noexcept;

}  // namespace otedama::stratum_client
