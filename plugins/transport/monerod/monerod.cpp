#include "monerod.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/monero/block.hpp>
#include <otedama/node/jsonrpc.hpp>

#include <algorithm>

namespace otedama::monerod {

namespace {

bool fail(std::string* error, std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
}

}  // namespace

otd_template_t Template::view(const std::string& coin, const std::string& algorithm, uint32_t flags) const {
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.flags = flags;
    t.coin = coin.c_str();
    t.algorithm = algorithm.c_str();
    t.source_job_id = source_job_id.c_str();
    t.height = height;
    std::copy(prev_hash.begin(), prev_hash.end(), t.prev_hash);
    std::copy(target.begin(), target.end(), t.block_target);
    t.reward = reward;
    t.extranonce_size = reserve_size;
    t.nonce_offset = nonce_offset;
    t.blob = blob.data();
    t.blob_size = static_cast<uint32_t>(blob.size());
    t.reserved_offset = reserved_offset;
    t.nonce_size = 4;
    t.seed = seed.data();
    t.seed_size = static_cast<uint32_t>(seed.size());
    if (!next_seed.empty()) {
        t.next_seed = next_seed.data();
        t.next_seed_size = static_cast<uint32_t>(next_seed.size());
    }
    return t;
}

std::optional<Template> parse_block_template(const Poco::JSON::Object::Ptr& r, uint32_t reserve_size, std::string* error) {
    using node::get_string;
    using node::get_uint;
    std::string why;
    auto missing = [&](const std::string& w) {
        fail(error, "get_block_template: " + w);
        return std::nullopt;
    };
    if (r.isNull()) return missing("the result is not an object");
    if (const auto status = get_string(r, "status", &why); status && *status != "OK") return missing("status is '" + *status + "'");
    Template t;
    const auto blob_hex = get_string(r, "blocktemplate_blob", &why);
    if (!blob_hex) return missing(why);
    auto blob = common::from_hex(*blob_hex, &why);
    if (!blob) return missing("blocktemplate_blob is not hex: " + why);
    t.blob = std::move(*blob);
    const auto block = monero::parse_block(t.blob, &why);
    if (!block) return missing("blocktemplate_blob does not parse: " + why);
    t.nonce_offset = static_cast<uint32_t>(block->header.nonce_offset);
    const auto height = get_uint(r, "height", &why);
    if (!height) return missing(why);
    t.height = *height;
    if (block->miner_tx.height != t.height)
        return missing("height " + std::to_string(t.height) + " differs from the miner transaction's " + std::to_string(block->miner_tx.height));
    const auto reserved = get_uint(r, "reserved_offset", &why);
    if (!reserved) return missing(why);
    if (reserve_size > 0) {
        // The reserved bytes must lie inside the miner transaction's extra field.
        const std::size_t extra_begin = block->miner_tx.extra_offset;
        const std::size_t extra_end = extra_begin + block->miner_tx.extra_size;
        if (*reserved < extra_begin || *reserved + reserve_size > extra_end)
            return missing("reserved_offset " + std::to_string(*reserved) + " (+" + std::to_string(reserve_size) + " bytes) is outside the miner transaction's extra field [" +
                           std::to_string(extra_begin) + ", " + std::to_string(extra_end) + ")");
    }
    t.reserved_offset = static_cast<uint32_t>(*reserved);
    t.reserve_size = reserve_size;
    const auto prev = get_string(r, "prev_hash", &why);
    if (!prev) return missing(why);
    const auto prev_bytes = common::from_hex_array<32>(*prev, &why);
    if (!prev_bytes) return missing("prev_hash is not 32 bytes of hex: " + why);
    if (!std::equal(prev_bytes->begin(), prev_bytes->end(), block->header.prev_id.begin())) return missing("prev_hash differs from the blob's previous block id");
    t.prev_hash = *prev_bytes;
    const auto seed = get_string(r, "seed_hash", &why);
    if (!seed) return missing(why);
    const auto seed_bytes = common::from_hex_array<32>(*seed, &why);
    if (!seed_bytes) return missing("seed_hash is not 32 bytes of hex: " + why);
    t.seed.assign(seed_bytes->begin(), seed_bytes->end());
    if (const auto next = get_string(r, "next_seed_hash", &why); next && !next->empty()) {
        const auto next_bytes = common::from_hex_array<32>(*next, &why);
        if (!next_bytes) return missing("next_seed_hash is not 32 bytes of hex: " + why);
        if (*next_bytes != *seed_bytes) t.next_seed.assign(next_bytes->begin(), next_bytes->end());
    }
    const auto difficulty = get_uint(r, "difficulty", &why);
    if (!difficulty || *difficulty == 0) return missing(difficulty ? "difficulty is 0" : why);
    uint64_t top64 = 0;
    if (r->has("difficulty_top64")) {
        const auto top = get_uint(r, "difficulty_top64", &why);
        if (!top) return missing(why);
        top64 = *top;
    }
    if (top64 != 0) return missing("difficulty above 2^64 (difficulty_top64 " + std::to_string(top64) + ") is not supported");
    t.difficulty = *difficulty;
    const auto target = common::monero_target_from_difficulty_exact(t.difficulty);
    if (!target) return missing("difficulty has no target");
    t.target = *target;
    const auto reward = get_uint(r, "expected_reward", &why);
    if (!reward) return missing(why);
    t.reward = *reward;
    return t;
}

std::optional<std::vector<uint8_t>> assemble_block(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t nonce,
                                                   std::span<const uint8_t> hashing_blob, std::string* error) {
    if (tmpl.blob == nullptr || tmpl.blob_size == 0) {
        fail(error, "the template has no blob");
        return std::nullopt;
    }
    if (extranonce.size() != tmpl.extranonce_size) {
        fail(error, "the solution carries " + std::to_string(extranonce.size()) + " extranonce bytes, the template reserved " + std::to_string(tmpl.extranonce_size));
        return std::nullopt;
    }
    std::string why;
    auto block = monero::fill_block_template(std::span<const uint8_t>(tmpl.blob, tmpl.blob_size), tmpl.reserved_offset, tmpl.extranonce_size, extranonce, nonce, &why);
    if (!block) {
        fail(error, "cannot fill the template: " + why);
        return std::nullopt;
    }
    if (!hashing_blob.empty()) {
        const auto hb = monero::hashing_blob(*block, &why);
        if (!hb || !std::equal(hb->begin(), hb->end(), hashing_blob.begin(), hashing_blob.end())) {
            fail(error, "the assembled block does not hash to the solved hashing blob" + (why.empty() ? std::string() : ": " + why));
            return std::nullopt;
        }
    }
    return block;
}

std::optional<NodeInfo> parse_info(const Poco::JSON::Object::Ptr& r, std::string* error) {
    using node::get_bool;
    using node::get_string;
    using node::get_uint;
    std::string why;
    if (r.isNull()) {
        fail(error, "get_info: the result is not an object");
        return std::nullopt;
    }
    NodeInfo info;
    const auto height = get_uint(r, "height", &why);
    if (!height) {
        fail(error, "get_info: " + why);
        return std::nullopt;
    }
    info.height = *height;
    if (const auto v = get_uint(r, "target_height", &why)) info.target_height = *v;
    if (const auto v = get_bool(r, "synchronized", &why)) info.synchronized = *v;
    if (const auto v = get_bool(r, "busy_syncing", &why)) info.busy_syncing = *v;
    if (const auto v = get_bool(r, "offline", &why)) info.offline = *v;
    if (const auto v = get_string(r, "nettype", &why)) info.nettype = *v;
    if (const auto v = get_string(r, "top_block_hash", &why)) info.top_hash = *v;
    return info;
}

Health judge(const NodeInfo& info, const std::string& expected_nettype, std::string* why) {
    if (!expected_nettype.empty() && !info.nettype.empty() && info.nettype != expected_nettype) {
        *why = "on another network: " + info.nettype + ", the pool's first node was on " + expected_nettype;
        return Health::wrong_chain;
    }
    if (info.busy_syncing || !info.synchronized || (info.target_height > info.height)) {
        *why = "still syncing: height " + std::to_string(info.height) + (info.target_height > 0 ? " of " + std::to_string(info.target_height) : std::string()) +
               (info.busy_syncing ? ", busy syncing" : "") + (!info.synchronized ? ", not synchronized" : "");
        return Health::syncing;
    }
    *why = "height " + std::to_string(info.height);
    return Health::ok;
}

}  // namespace otedama::monerod
