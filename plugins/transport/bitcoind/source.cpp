#include "source.hpp"

#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/flat_json.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace otedama::bitcoind {
namespace {

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

bool string_member(const json::Value& v, std::string& out) { return v.is_string() && v.decode_string(out); }

}  // namespace

std::optional<Config> parse_config(std::string_view json_text, std::string* error) {
    json::Document doc;
    if (!doc.parse(json_text)) {
        set_error(error, "bitcoind: the configuration is not JSON: " + std::string(doc.error()));
        return std::nullopt;
    }
    const json::Value root = doc.root();
    if (!root.is_object()) {
        set_error(error, "bitcoind: the configuration is not a JSON object");
        return std::nullopt;
    }
    Config cfg;
    auto fail = [&](const std::string& why) -> std::optional<Config> {
        set_error(error, "node." + why);
        return std::nullopt;
    };
    for (uint32_t i = 0; i < root.size(); ++i) {
        std::string key;
        (void)root.key_at(i).decode_string(key);
        const json::Value v = root.value_at(i);
        if (key == "daemons") {
            if (!v.is_array()) return fail("daemons must be a list of {url, user, pass, cookie_file, zmq}");
            for (uint32_t k = 0; k < v.size(); ++k) {
                const json::Value d = v.at(k);
                const std::string where = "daemons[" + std::to_string(k) + "]";
                if (!d.is_object()) return fail(where + " must be a map {url, user, pass, cookie_file, zmq}");
                Daemon daemon;
                for (uint32_t m = 0; m < d.size(); ++m) {
                    std::string name;
                    (void)d.key_at(m).decode_string(name);
                    std::string* slot = name == "url" ? &daemon.url : name == "user" ? &daemon.user : name == "pass" ? &daemon.pass
                                      : name == "cookie_file" ? &daemon.cookie_file : name == "zmq" ? &daemon.zmq : nullptr;
                    if (slot == nullptr) return fail(where + "." + name + ": unknown key (known: url, user, pass, cookie_file, zmq)");
                    if (!string_member(d.value_at(m), *slot)) return fail(where + "." + name + " must be a string");
                }
                if (daemon.url.empty()) return fail(where + " needs a url (http://host:port of the node's RPC)");
                cfg.daemons.push_back(std::move(daemon));
            }
        } else if (key == "payout_address" || key == "coin" || key == "coinbase_tag") {
            std::string text;
            if (!string_member(v, text)) return fail(key + " must be a string");
            (key == "payout_address" ? cfg.payout_address : key == "coin" ? cfg.coin : cfg.coinbase_tag) = std::move(text);
        } else if (key == "poll_interval" || key == "rpc_timeout") {
            std::string why;
            const auto ms = v.is_string() || v.is_number() ? common::parse_duration_ms(v.is_string() ? std::string(v.raw_string()) : std::string(v.token()), &why)
                                                          : std::nullopt;
            if (!ms || *ms < 100) return fail(key + " must be a duration of at least 100ms" + (why.empty() ? "" : ": " + why));
            (key == "poll_interval" ? cfg.poll_interval_ms : cfg.rpc_timeout_ms) = *ms;
        } else if (key == "min_difficulty") {
            const std::string text = v.is_string() ? std::string(v.raw_string()) : std::string(v.token());
            char* end = nullptr;
            const double d = (v.is_string() || v.is_number()) && !text.empty() ? std::strtod(text.c_str(), &end) : -1;
            if (end == nullptr || *end != '\0' || !(d >= 0) || !std::isfinite(d) || (d > 0 && !common::bitcoin_target_from_difficulty(d)))
                return fail("min_difficulty must be a number >= 0 (Bitcoin-family difficulty; 0 = the node's target)");
            cfg.min_difficulty = d;
        } else if (key == "reserve_size") {
            const auto n = v.integer();
            if (!n || *n < 2 || *n > 16) return fail("reserve_size must be an integer from 2 to 16 (extranonce bytes in the coinbase)");
            cfg.reserve_size = static_cast<uint32_t>(*n);
        } else {
            return fail(key + ": unknown key (known: daemons, payout_address, coin, poll_interval, reserve_size, coinbase_tag, rpc_timeout, min_difficulty)");
        }
    }
    if (cfg.daemons.empty()) return fail("daemons: no node configured (node.daemons: [{url: http://127.0.0.1:8332, cookie_file: ...}])");
    if (cfg.payout_address.empty()) return fail("payout_address: empty (the address every block the pool finds pays)");
    if (!cfg.coin.empty() && algorithm_of_coin(cfg.coin).empty()) return fail("coin: '" + cfg.coin + "' is not a Bitcoin-family coin this source knows (BTC, LTC)");
    if (cfg.coinbase_tag.size() > 40) return fail("coinbase_tag: at most 40 bytes");
    return cfg;
}

const char* node_state_name(NodeState state) noexcept {
    switch (state) {
        case NodeState::unknown: return "unknown";
        case NodeState::up: return "up";
        case NodeState::down: return "down";
        case NodeState::syncing: return "syncing";
        case NodeState::no_peers: return "no peers";
        case NodeState::wrong_chain: return "wrong chain";
    }
    return "?";
}

std::string coin_from_subversion(std::string_view subversion) {
    if (subversion.find("LitecoinCore") != std::string_view::npos || subversion.find("Litecoin") != std::string_view::npos) return "LTC";
    if (subversion.find("Satoshi") != std::string_view::npos) return "BTC";
    return "";
}

std::string algorithm_of_coin(std::string_view coin) {
    std::string c(coin);
    for (auto& ch : c) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (c == "BTC" || c == "BITCOIN") return "sha256d";
    if (c == "LTC" || c == "LITECOIN") return "scrypt";
    return "";
}

Judgement judge(const NodeFacts& facts, std::string_view coin, std::string_view payout_address) {
    Judgement j;
    std::string ticker(coin);
    if (ticker.empty()) ticker = coin_from_subversion(facts.subversion);
    if (ticker.empty()) {
        j.state = NodeState::wrong_chain;
        j.why = "cannot tell the coin from the node's subversion '" + facts.subversion + "': set node.coin (BTC or LTC)";
        return j;
    }
    j.network = bitcoin::find_network(ticker, facts.chain);
    if (j.network == nullptr) {
        j.state = NodeState::wrong_chain;
        j.why = "the node's chain '" + facts.chain + "' is not a known " + ticker + " network";
        return j;
    }
    std::string why;
    const auto decoded = bitcoin::decode_address(*j.network, payout_address, &why);
    if (!decoded) {
        j.state = NodeState::wrong_chain;
        j.why = "the node is on " + std::string(j.network->name) + " but the payout address does not fit it: " + why;
        return j;
    }
    if (facts.initial_block_download) {
        j.state = NodeState::syncing;
        j.why = "in initial block download (" + std::to_string(facts.blocks) + " of " + std::to_string(facts.headers) + " blocks)";
        return j;
    }
    if (facts.connections == 0) {
        j.state = NodeState::no_peers;
        j.why = "the node has no peers (Bitcoin-family nodes give no block template without one)";
        return j;
    }
    j.state = NodeState::up;
    j.why = std::string(j.network->name) + " at height " + std::to_string(facts.blocks) + ", " + std::to_string(facts.connections) + " peers";
    j.payout_script = decoded->script;
    return j;
}

std::optional<NodeState> state_of_rpc_error(int64_t code) noexcept {
    switch (code) {
        case -9: return NodeState::no_peers;   // RPC_CLIENT_NOT_CONNECTED
        case -10: return NodeState::syncing;   // RPC_CLIENT_IN_INITIAL_DOWNLOAD
        case -28: return NodeState::syncing;   // RPC_IN_WARMUP
        default: return std::nullopt;
    }
}

bool parent_is_spent(std::string_view reason) noexcept {
    return reason == "duplicate" || reason == "duplicate-inconclusive" || reason == "inconclusive" || reason == "prev-blk-not-found" ||
           reason == "bad-prevblk" || reason == "stale-prevblk" || reason == "inconclusive-not-best-prevblk" || reason == "duplicate-invalid";
}

otd_template_t PreparedTemplate::view(uint32_t flags) const {
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.flags = flags;
    t.coin = coin.c_str();
    t.algorithm = algorithm.c_str();
    t.source_job_id = source_job_id.c_str();
    t.height = tmpl.height;
    std::copy(tmpl.prev_hash.begin(), tmpl.prev_hash.end(), t.prev_hash);
    std::copy(block_target.begin(), block_target.end(), t.block_target);
    t.reward = tmpl.coinbase_value;
    t.tx_fees = tmpl.total_fees();
    t.version = tmpl.version;
    t.ntime = tmpl.curtime;
    t.nbits = tmpl.bits;
    t.extranonce_size = job.extranonce_size;
    t.coinbase1 = job.coinbase.coinbase1.data();
    t.coinbase1_size = static_cast<uint32_t>(job.coinbase.coinbase1.size());
    t.coinbase2 = job.coinbase.coinbase2.data();
    t.coinbase2_size = static_cast<uint32_t>(job.coinbase.coinbase2.size());
    t.merkle_branch = branch.empty() ? nullptr : branch.data();
    t.merkle_branch_count = static_cast<uint32_t>(branch.size() / 32);
    t.nonce_size = 4;
    t.block_data = job.block_data.data();
    t.block_data_size = static_cast<uint32_t>(job.block_data.size());
    return t;
}

std::optional<PreparedTemplate> prepare(bitcoin::BlockTemplate tmpl, std::span<const uint8_t> payout_script, const Config& config,
                                        std::string coin, std::string algorithm, std::string source_job_id, std::string* error) {
    PreparedTemplate p;
    auto job = bitcoin::build_job(tmpl, payout_script, config.reserve_size, config.coinbase_tag, error);
    if (!job) return std::nullopt;
    p.job = std::move(*job);
    p.block_target = tmpl.target;
    if (config.min_difficulty > 0) {
        const auto floor = common::bitcoin_target_from_difficulty(config.min_difficulty);
        if (floor && common::compare(*floor, p.block_target) < 0) p.block_target = *floor;
    }
    p.tmpl = std::move(tmpl);
    for (const auto& h : p.job.merkle_branch) p.branch.insert(p.branch.end(), h.begin(), h.end());
    p.coin = std::move(coin);
    p.algorithm = std::move(algorithm);
    p.source_job_id = std::move(source_job_id);
    return p;
}

std::optional<std::string> block_hex_for_submit(const otd_block_t& block, std::string* error) {
    const otd_template_t* t = block.tmpl;
    if (t == nullptr || t->block_data == nullptr || t->coinbase1 == nullptr || t->coinbase2 == nullptr) {
        set_error(error, "the block carries no template of this source");
        return std::nullopt;
    }
    if (block.header == nullptr || block.header_size != 80) {
        set_error(error, "the solved header is " + std::to_string(block.header_size) + " bytes, not 80");
        return std::nullopt;
    }
    const std::span<const uint8_t> header(block.header, 80);
    if (!std::equal(t->prev_hash, t->prev_hash + 32, header.begin() + 4)) {
        set_error(error, "the header's previous block hash is not the template's");
        return std::nullopt;
    }
    const std::span<const uint8_t> cb(block.coinbase, block.coinbase_size);
    const std::size_t expect = std::size_t{t->coinbase1_size} + t->extranonce_size + t->coinbase2_size;
    if (block.coinbase == nullptr || cb.size() != expect || !std::equal(t->coinbase1, t->coinbase1 + t->coinbase1_size, cb.begin()) ||
        !std::equal(t->coinbase2, t->coinbase2 + t->coinbase2_size, cb.end() - t->coinbase2_size)) {
        set_error(error, "the coinbase is not coinbase1 | " + std::to_string(t->extranonce_size) + "-byte extranonce | coinbase2 of the template");
        return std::nullopt;
    }
    std::string why;
    const auto root = common::coinbase_merkle_root(
        std::span<const uint8_t>(t->coinbase1, t->coinbase1_size), cb.subspan(t->coinbase1_size, t->extranonce_size),
        std::span<const uint8_t>(t->coinbase2, t->coinbase2_size),
        std::span<const uint8_t>(t->merkle_branch, std::size_t{t->merkle_branch_count} * 32), &why);
    if (!root || !std::equal(root->begin(), root->end(), header.begin() + 36)) {
        set_error(error, "the header's merkle root does not commit to the coinbase and the template's transactions" + (why.empty() ? "" : ": " + why));
        return std::nullopt;
    }
    const auto assembled = bitcoin::assemble_block(header, cb, std::span<const uint8_t>(t->block_data, t->block_data_size), error);
    if (!assembled) return std::nullopt;
    return common::to_hex(*assembled);
}

}  // namespace otedama::bitcoind
