#include "protocol.hpp"

#include <otedama/common/hex.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace otedama::stratum_client {

namespace common = otedama::common;

namespace {

/// Set `error`; for functions returning std::optional.
std::nullopt_t fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}
/// The same for functions returning bool.
bool refuse(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

/// A string parameter decoded (escapes resolved); std::nullopt for non-strings.
std::optional<std::string> string_of(const json::Value& v) {
  std::string out;
  if (!v.decode_string(out)) return std::nullopt;
  return out;
}

/// A hex string parameter as bytes, at most `max` of them.
bool hex_param(const json::Value& v, const char* name, size_t max, std::vector<uint8_t>& out, std::string* error) {
  const auto text = v.plain_string();
  if (!text) return refuse(error, std::string(name) + " is not a hex string");
  if (text->size() > 2 * max) return refuse(error, std::string(name) + " is longer than " + std::to_string(max) + " bytes");
  std::string why;
  auto bytes = common::from_hex(*text, &why);
  if (!bytes) return refuse(error, std::string(name) + ": " + why);
  out = std::move(*bytes);
  return true;
}

bool hex32_param(const json::Value& v, const char* name, uint32_t& out, std::string* error) {
  const auto text = v.plain_string();
  const auto value = text ? parse_hex32(*text) : std::nullopt;
  if (!value) return refuse(error, std::string(name) + " is not a 32-bit hex number");
  out = *value;
  return true;
}

void append_id(std::string& out, uint64_t id) {
  out += "{\"id\":";
  out += std::to_string(id);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Bitcoin family

std::array<uint8_t, 32> swap_words(std::span<const uint8_t, 32> bytes) noexcept {
  std::array<uint8_t, 32> out{};
  for (size_t word = 0; word < 8; ++word)
    for (size_t i = 0; i < 4; ++i) out[word * 4 + i] = bytes[word * 4 + 3 - i];
  return out;
}

std::string hex32(uint32_t value) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", value);
  return buf;
}

std::optional<uint32_t> parse_hex32(std::string_view text) noexcept {
  if (text.empty() || text.size() > 8) return std::nullopt;
  uint32_t v = 0;
  for (const char c : text) {
    uint32_t d = 0;
    if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<uint32_t>(c - 'A' + 10);
    else return std::nullopt;
    v = (v << 4) | d;
  }
  return v;
}

std::optional<BitcoinNotify> parse_bitcoin_notify(const json::Value& params, std::string* error) {
  if (!params.is_array()) return fail(error, "params is not an array");
  if (params.size() < 9) return fail(error, "params has " + std::to_string(params.size()) + " elements, mining.notify needs 9");
  BitcoinNotify n;
  const json::Value id = params.at(0);
  // Job ids are strings; a few pools send numbers: keep their JSON text, which is what submit must echo.
  if (id.is_string()) {
    auto s = string_of(id);
    if (!s || s->empty()) return fail(error, "job_id is empty");
    n.job_id = std::move(*s);
  } else if (id.is_number()) {
    n.job_id = std::string(id.token());
  } else {
    return fail(error, "job_id is not a string");
  }
  if (n.job_id.size() > kMaxJobIdLength) return fail(error, "job_id is longer than " + std::to_string(kMaxJobIdLength) + " characters");
  std::vector<uint8_t> prev;
  if (!hex_param(params.at(1), "prevhash", 32, prev, error)) return std::nullopt;
  if (prev.size() != 32) return fail(error, "prevhash is " + std::to_string(prev.size()) + " bytes, not 32");
  n.prev_hash = swap_words(std::span<const uint8_t, 32>(prev.data(), 32));
  if (!hex_param(params.at(2), "coinb1", kMaxCoinbasePart, n.coinb1, error)) return std::nullopt;
  if (!hex_param(params.at(3), "coinb2", kMaxCoinbasePart, n.coinb2, error)) return std::nullopt;
  const json::Value branch = params.at(4);
  if (!branch.is_array()) return fail(error, "merkle_branch is not an array");
  if (branch.size() > kMaxMerkleBranch) return fail(error, "merkle_branch has more than " + std::to_string(kMaxMerkleBranch) + " hashes");
  n.merkle_branch.reserve(branch.size() * 32);
  json::Value h = branch.size() > 0 ? branch.at(0) : json::Value();
  for (uint32_t i = 0; i < branch.size(); ++i, h = h.after()) {
    std::vector<uint8_t> bytes;
    const std::string name = "merkle_branch[" + std::to_string(i) + "]";
    if (!hex_param(h, name.c_str(), 32, bytes, error)) return std::nullopt;
    if (bytes.size() != 32) return fail(error, name + " is " + std::to_string(bytes.size()) + " bytes, not 32");
    n.merkle_branch.insert(n.merkle_branch.end(), bytes.begin(), bytes.end());
  }
  if (!hex32_param(params.at(5), "version", n.version, error)) return std::nullopt;
  if (!hex32_param(params.at(6), "nbits", n.nbits, error)) return std::nullopt;
  if (!hex32_param(params.at(7), "ntime", n.ntime, error)) return std::nullopt;
  const json::Value clean = params.at(8);
  if (!clean.is_bool()) return fail(error, "clean_jobs is not true or false");
  n.clean = clean.boolean();
  return n;
}

namespace {
std::optional<SubscribeResult> extranonce_pair(const json::Value& en1, const json::Value& en2_size, std::string* error) {
  SubscribeResult r;
  if (!hex_param(en1, "extranonce1", kMaxExtranonce1, r.extranonce1, error)) return std::nullopt;
  const auto size = en2_size.integer();
  if (!size || *size < 1 || *size > static_cast<int64_t>(kMaxExtranonce2))
    return fail(error, "extranonce2_size is not an integer 1.." + std::to_string(kMaxExtranonce2));
  r.extranonce2_size = static_cast<uint32_t>(*size);
  return r;
}
}  // namespace

std::optional<SubscribeResult> parse_subscribe_result(const json::Value& result, std::string* error) {
  if (!result.is_array() || result.size() < 3) return fail(error, "the subscribe result is not [subscriptions, extranonce1, extranonce2_size]");
  return extranonce_pair(result.at(1), result.at(2), error);
}

std::optional<SubscribeResult> parse_set_extranonce(const json::Value& params, std::string* error) {
  if (!params.is_array() || params.size() < 2) return fail(error, "params is not [extranonce1, extranonce2_size]");
  return extranonce_pair(params.at(0), params.at(1), error);
}

uint64_t coinbase_height(std::span<const uint8_t> cb) noexcept {
  // version(4) | input count (1, a coinbase has one) | prevout (32 + 4) | script length (varint) | script
  size_t pos = 4;
  if (cb.size() < pos + 1 + 36 + 2) return 0;
  if (cb[pos] == 0x00 && cb.size() > pos + 2 && cb[pos + 1] == 0x01) pos += 2;  // a segwit marker (not in stratum, but harmless)
  if (cb[pos] != 0x01) return 0;
  pos += 1 + 36;
  if (cb[pos] >= 0xfd) pos += 3;  // a script longer than 252 bytes: 0xfd + 2 bytes
  ++pos;
  if (pos >= cb.size()) return 0;
  const uint8_t push = cb[pos];
  if (push >= 0x51 && push <= 0x60) return push - 0x50u;  // OP_1..OP_16 (heights 1..16, BIP 34 minimal)
  if (push < 1 || push > 8 || pos + 1 + push > cb.size()) return 0;
  uint64_t h = 0;
  for (uint8_t i = 0; i < push; ++i) h |= static_cast<uint64_t>(cb[pos + 1 + i]) << (8 * i);
  return h;
}

std::string bitcoin_configure(uint64_t id, uint32_t version_mask) {
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.configure\",\"params\":[[\"version-rolling\"],{\"version-rolling.mask\":\"";
  out += hex32(version_mask);
  out += "\",\"version-rolling.min-bit-count\":2}]}\n";
  return out;
}

std::string bitcoin_subscribe(uint64_t id, std::string_view agent) {
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.subscribe\",\"params\":[";
  json::append_string(out, agent);
  out += "]}\n";
  return out;
}

std::string bitcoin_authorize(uint64_t id, std::string_view user, std::string_view pass) {
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.authorize\",\"params\":[";
  json::append_string(out, user);
  out += ',';
  json::append_string(out, pass);
  out += "]}\n";
  return out;
}

std::string bitcoin_extranonce_subscribe(uint64_t id) {
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.extranonce.subscribe\",\"params\":[]}\n";
  return out;
}

std::string bitcoin_submit(uint64_t id, std::string_view user, std::string_view job_id, std::span<const uint8_t> extranonce2,
                           uint32_t ntime, uint32_t nonce, std::optional<uint32_t> version_bits) {
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.submit\",\"params\":[";
  json::append_string(out, user);
  out += ',';
  json::append_string(out, job_id);
  out += ",\"" + common::to_hex(extranonce2) + "\",\"" + hex32(ntime) + "\",\"" + hex32(nonce) + "\"";
  if (version_bits) out += ",\"" + hex32(*version_bits) + "\"";
  out += "]}\n";
  return out;
}

uint32_t parse_configure_result(const json::Value& result) noexcept {
  if (!result.is_object()) return 0;
  if (!result.find("version-rolling").boolean()) return 0;
  const auto mask = result.find("version-rolling.mask").plain_string();
  return mask ? parse_hex32(*mask).value_or(0) : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Monero family

std::optional<common::Uint256> monero_target_from_hex(std::string_view hex, double* difficulty) {
  std::string why;
  const auto bytes = common::from_hex(hex, &why);
  if (!bytes || (bytes->size() != 4 && bytes->size() != 8)) return std::nullopt;
  uint64_t t64 = 0;
  if (bytes->size() == 4) {
    uint32_t raw = 0;
    for (size_t i = 0; i < 4; ++i) raw |= static_cast<uint32_t>((*bytes)[i]) << (8 * i);
    if (raw == 0) return std::nullopt;
    t64 = UINT64_MAX / (UINT32_MAX / static_cast<uint64_t>(raw));  // xmrig Job::setTarget
  } else {
    for (size_t i = 0; i < 8; ++i) t64 |= static_cast<uint64_t>((*bytes)[i]) << (8 * i);
  }
  if (t64 == 0) return std::nullopt;
  // xmrig accepts a hash whose top 64 bits (little-endian bytes 24..31) are below t64: as a 256-bit
  // "hash <= target" that is target = t64 * 2^192 - 1.
  common::Uint256 target{};
  uint64_t top = t64 - 1;
  for (size_t i = 0; i < 8; ++i) target[24 + i] = static_cast<uint8_t>(top >> (8 * i));
  for (size_t i = 0; i < 24; ++i) target[i] = 0xff;
  if (difficulty != nullptr) *difficulty = static_cast<double>(UINT64_MAX) / static_cast<double>(t64);
  return target;
}

std::optional<MoneroJob> parse_monero_job(const json::Value& job, std::string* error) {
  if (!job.is_object()) return fail(error, "the job is not an object");
  MoneroJob j;
  auto id = string_of(job.find("job_id"));
  if (!id || id->empty() || id->size() > kMaxJobIdLength) return fail(error, "job_id is missing or not a short string");
  j.job_id = std::move(*id);
  if (!hex_param(job.find("blob"), "blob", 512, j.blob, error)) return std::nullopt;
  if (j.blob.size() < kMoneroNonceOffset + 4) return fail(error, "blob is " + std::to_string(j.blob.size()) + " bytes, too short for a hashing blob");
  const auto target = job.find("target").plain_string();
  auto t = target ? monero_target_from_hex(*target, &j.difficulty) : std::nullopt;
  if (!t) return fail(error, "target is not 4 or 8 bytes of hex");
  j.target = *t;
  if (const auto h = job.find("height"); h.exists()) {
    const auto height = h.integer();
    if (!height || *height < 0) return fail(error, "height is not a non-negative integer");
    j.height = static_cast<uint64_t>(*height);
  }
  if (!hex_param(job.find("seed_hash"), "seed_hash", 32, j.seed, error)) return std::nullopt;
  if (j.seed.size() != 32) return fail(error, "seed_hash is not 32 bytes");
  if (const auto algo = job.find("algo"); algo.exists()) {
    auto a = string_of(algo);
    if (!a) return fail(error, "algo is not a string");
    j.algo = std::move(*a);
  }
  return j;
}

std::string monero_login(uint64_t id, std::string_view user, std::string_view pass, std::string_view agent, std::string_view algo) {
  std::string out;
  append_id(out, id);
  out += ",\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":";
  json::append_string(out, user);
  out += ",\"pass\":";
  json::append_string(out, pass);
  out += ",\"agent\":";
  json::append_string(out, agent);
  out += ",\"algo\":[";
  json::append_string(out, algo);
  out += "]}}\n";
  return out;
}

std::string monero_submit(uint64_t id, std::string_view session_id, std::string_view job_id, uint32_t nonce,
                          std::span<const uint8_t, 32> hash) {
  // The nonce as the 4 bytes it occupies in the blob (little-endian), which is how xmrig writes it.
  const uint8_t n[4] = {static_cast<uint8_t>(nonce), static_cast<uint8_t>(nonce >> 8), static_cast<uint8_t>(nonce >> 16),
                        static_cast<uint8_t>(nonce >> 24)};
  std::string out;
  append_id(out, id);
  out += ",\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":{\"id\":";
  json::append_string(out, session_id);
  out += ",\"job_id\":";
  json::append_string(out, job_id);
  out += ",\"nonce\":\"" + common::to_hex(std::span<const uint8_t>(n, 4)) + "\",\"result\":\"" + common::to_hex(hash) + "\"}}\n";
  return out;
}

std::string monero_keepalive(uint64_t id, std::string_view session_id) {
  std::string out;
  append_id(out, id);
  out += ",\"jsonrpc\":\"2.0\",\"method\":\"keepalived\",\"params\":{\"id\":";
  json::append_string(out, session_id);
  out += "}}\n";
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Both

// ---------------------------------------------------------------------------------------------------------
// Ethereum family

namespace {
using common::strip_0x;

bool hash32_param(const json::Value& v, const char* name, std::array<uint8_t, 32>& out, std::string* error) {
  const auto text = v.plain_string();
  if (!text) return refuse(error, std::string(name) + " is not a hex string");
  std::string why;
  if (!common::from_hex_into(strip_0x(*text), out, &why)) return refuse(error, std::string(name) + ": " + why);
  return true;
}

void append_hex_string(std::string& out, std::span<const uint8_t> bytes, bool with_0x) {
  out += '"';
  if (with_0x) out += "0x";
  out += common::to_hex(bytes);
  out += '"';
}
}  // namespace

std::optional<common::Uint256> parse_target_hex(std::string_view text, std::string* error) {
  const std::string_view digits = strip_0x(text);
  if (digits.empty() || digits.size() > 64) return fail(error, "target is not 1 to 64 hex digits");
  const std::string padded = std::string(64 - digits.size(), '0') + std::string(digits);
  std::string why;
  auto t = common::from_display_hex(padded, &why);
  if (!t) return fail(error, "target: " + why);
  if (common::is_zero(*t)) return fail(error, "target is zero");
  return t;
}

std::optional<EthereumJob> parse_ethereum_notify(const json::Value& params, bool kawpow, std::string* error) {
  if (!params.is_array()) return fail(error, "params is not an array");
  const uint32_t need = kawpow ? 7 : 4;
  if (params.size() < need)
    return fail(error, "params has " + std::to_string(params.size()) + " elements, mining.notify needs " + std::to_string(need));
  EthereumJob j;
  const json::Value id = params.at(0);
  auto s = string_of(id);
  if (!s || s->empty()) return fail(error, "job_id is not a non-empty string");
  if (s->size() > kMaxJobIdLength) return fail(error, "job_id is longer than " + std::to_string(kMaxJobIdLength) + " characters");
  j.job_id = std::move(*s);
  const json::Value second = params.at(1);
  const json::Value third = second.after();
  if (!hash32_param(kawpow ? second : third, "header", j.header, error)) return std::nullopt;
  if (!hash32_param(kawpow ? third : second, "seed", j.seed, error)) return std::nullopt;
  json::Value clean = third.after();
  if (kawpow) {
    const auto target = clean.plain_string();
    if (!target) return fail(error, "target is not a hex string");
    auto t = parse_target_hex(*target, error);
    if (!t) return std::nullopt;
    j.target = *t;
    clean = clean.after();
    const json::Value height = clean.after();
    const auto h = height.integer();
    if (!h || *h < 0) return fail(error, "height is not a non-negative integer");
    j.height = static_cast<uint64_t>(*h);
    const auto bits = height.after().plain_string();
    const auto value = bits ? parse_hex32(strip_0x(*bits)) : std::nullopt;
    if (!value) return fail(error, "bits is not a 32-bit hex number");
    j.nbits = *value;
  }
  if (!clean.is_bool()) return fail(error, "clean_jobs is not true or false");
  j.clean = clean.boolean();
  return j;
}

std::optional<std::vector<uint8_t>> parse_nonce_prefix(const json::Value& value, size_t index, std::string* error) {
  if (!value.is_array() || value.size() <= index) return fail(error, "no nonce prefix (element " + std::to_string(index) + ")");
  json::Value v = value.at(0);
  for (size_t i = 0; i < index; ++i) v = v.after();
  const auto text = v.plain_string();
  if (!text) return fail(error, "the nonce prefix is not a hex string");
  const std::string_view digits = strip_0x(*text);
  if (digits.size() % 2 != 0) return fail(error, "the nonce prefix has an odd number of hex digits");
  if (digits.size() > 2 * kMaxNoncePrefix) return fail(error, "the nonce prefix is longer than " + std::to_string(kMaxNoncePrefix) + " bytes");
  std::string why;
  auto bytes = common::from_hex(digits, &why);
  if (!bytes) return fail(error, "the nonce prefix: " + why);
  return bytes;
}

std::string ethereum_subscribe(uint64_t id, std::string_view agent, bool kawpow) {
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.subscribe\",\"params\":[";
  json::append_string(out, agent);
  out += kawpow ? ",null]}\n" : ",\"EthereumStratum/1.0.0\"]}\n";
  return out;
}

std::string ethereum_submit(uint64_t id, std::string_view user, std::string_view job_id, uint64_t nonce, size_t prefix_bytes) {
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(nonce));
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.submit\",\"params\":[";
  json::append_string(out, user);
  out += ",";
  json::append_string(out, job_id);
  out += ",\"";
  out.append(digits + std::min<size_t>(2 * prefix_bytes, 16));
  out += "\"]}\n";
  return out;
}

std::string kawpow_submit(uint64_t id, std::string_view user, std::string_view job_id, uint64_t nonce, std::span<const uint8_t, 32> header,
                          std::span<const uint8_t, 32> mix) {
  char digits[19];
  std::snprintf(digits, sizeof digits, "0x%016llx", static_cast<unsigned long long>(nonce));
  std::string out;
  append_id(out, id);
  out += ",\"method\":\"mining.submit\",\"params\":[";
  json::append_string(out, user);
  out += ",";
  json::append_string(out, job_id);
  out += ",\"";
  out += digits;
  out += "\",";
  append_hex_string(out, header, true);
  out += ",";
  append_hex_string(out, mix, true);
  out += "]}\n";
  return out;
}

std::string result_line(std::string_view id_token, std::string_view result_json) {
  std::string out = "{\"id\":";
  out += id_token;
  out += ",\"result\":";
  out += result_json;
  out += ",\"error\":null}\n";
  return out;
}

std::optional<RpcError> parse_error(const json::Value& error) {
  if (!error.exists() || error.is_null()) return std::nullopt;
  RpcError e;
  if (error.is_array()) {
    e.code = error.at(0).integer().value_or(0);
    if (!error.at(1).decode_string(e.message)) e.message = std::string(error.at(1).token());
  } else if (error.is_object()) {
    e.code = error.find("code").integer().value_or(0);
    if (!error.find("message").decode_string(e.message)) e.message = std::string(error.find("message").token());
  } else if (!error.decode_string(e.message)) {
    e.message = std::string(error.token());
  }
  if (e.message.size() > 200) e.message.resize(200);
  return e;
}

otd_share_verdict_t verdict_from_error(const RpcError& error) noexcept {
  switch (error.code) {
    case 21: return OTD_SHARE_STALE;
    case 22: return OTD_SHARE_DUPLICATE;
    case 23: return OTD_SHARE_LOW_DIFFICULTY;
    default: break;
  }
  std::string lower = error.message;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("ntime") != std::string::npos || lower.find("time too") != std::string::npos) return OTD_SHARE_BAD_NTIME;
  if (lower.find("stale") != std::string::npos || lower.find("job not found") != std::string::npos) return OTD_SHARE_STALE;
  if (lower.find("duplicate") != std::string::npos) return OTD_SHARE_DUPLICATE;
  if (lower.find("low difficulty") != std::string::npos || lower.find("above target") != std::string::npos) return OTD_SHARE_LOW_DIFFICULTY;
  return OTD_SHARE_MALFORMED;
}

}  // namespace otedama::stratum_client
