#include "gbt.hpp"

#include <otedama/common/hex.hpp>

namespace otedama::bitcoind {
namespace {

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

struct Failure {
    std::string what;
};

std::string string_of(const json::Value& v, const std::string& name) {
    std::string out;
    if (!v.is_string() || !v.decode_string(out)) throw Failure{name + ": " + (v.exists() ? "not a string" : "missing")};
    return out;
}

uint64_t unsigned_of(const json::Value& v, const std::string& name, uint64_t max) {
    const auto n = v.integer();
    if (!v.exists()) throw Failure{name + ": missing"};
    if (!n || *n < 0 || static_cast<uint64_t>(*n) > max) throw Failure{name + ": not an integer from 0 to " + std::to_string(max)};
    return static_cast<uint64_t>(*n);
}

std::vector<uint8_t> hex_of(const json::Value& v, const std::string& name) {
    const std::string s = string_of(v, name);
    std::string why;
    auto bytes = common::from_hex(s, &why);
    if (!bytes) throw Failure{name + ": " + why};
    return std::move(*bytes);
}

/// 64 hex digits in display order -> internal byte order.
bitcoin::Hash256 hash_of(const json::Value& v, const std::string& name) {
    const std::string s = string_of(v, name);
    bitcoin::Hash256 h{};
    std::string why;
    if (!common::from_hex_into(s, h, &why)) throw Failure{name + ": " + why};
    common::reverse_bytes(h);
    return h;
}

bitcoin::BlockTemplate parse(const json::Value& r) {
    if (!r.is_object()) throw Failure{"the template is not a JSON object"};
    bitcoin::BlockTemplate t;
    t.version = static_cast<uint32_t>(unsigned_of(r.find("version"), "version", UINT32_MAX));
    t.prev_hash = hash_of(r.find("previousblockhash"), "previousblockhash");
    t.curtime = static_cast<uint32_t>(unsigned_of(r.find("curtime"), "curtime", UINT32_MAX));
    if (const auto m = r.find("mintime"); m.exists()) t.mintime = static_cast<uint32_t>(unsigned_of(m, "mintime", UINT32_MAX));
    {
        const std::string bits = string_of(r.find("bits"), "bits");
        std::array<uint8_t, 4> b{};
        std::string why;
        if (!common::from_hex_into(bits, b, &why)) throw Failure{"bits: " + why};
        t.bits = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    }
    t.height = unsigned_of(r.find("height"), "height", UINT32_MAX);
    t.coinbase_value = unsigned_of(r.find("coinbasevalue"), "coinbasevalue", INT64_MAX);
    t.target = hash_of(r.find("target"), "target");  // big-endian hex reversed = little-endian number
    if (const auto lp = r.find("longpollid"); lp.exists()) t.longpollid = string_of(lp, "longpollid");
    if (const auto rules = r.find("rules"); rules.exists()) {
        if (!rules.is_array()) throw Failure{"rules: not an array"};
        for (uint32_t i = 0; i < rules.size(); ++i) {
            std::string rule = string_of(rules.at(i), "rules[" + std::to_string(i) + "]");
            if (!rule.empty() && rule[0] == '!') rule.erase(0, 1);  // BIP 9 "must understand" prefix
            if (rule == "segwit") t.segwit = true;
        }
    }
    if (const auto dwc = r.find("default_witness_commitment"); dwc.exists())
        t.default_witness_commitment = hex_of(dwc, "default_witness_commitment");
    if (const auto mweb = r.find("mweb"); mweb.exists()) {
        t.mweb = hex_of(mweb, "mweb");
        t.has_mweb = true;
    }
    const auto txs = r.find("transactions");
    if (!txs.is_array()) throw Failure{std::string("transactions: ") + (txs.exists() ? "not an array" : "missing")};
    t.transactions.reserve(txs.size());
    json::Value tx = txs.size() > 0 ? txs.at(0) : json::Value();
    for (uint32_t i = 0; i < txs.size(); ++i, tx = tx.after()) {
        const std::string name = "transactions[" + std::to_string(i) + "]";
        if (!tx.is_object()) throw Failure{name + ": not an object"};
        auto data = hex_of(tx.find("data"), name + ".data");
        std::optional<bitcoin::Hash256> txid, wtxid;
        if (const auto v = tx.find("txid"); v.exists()) txid = hash_of(v, name + ".txid");
        if (const auto v = tx.find("hash"); v.exists()) wtxid = hash_of(v, name + ".hash");
        uint64_t fee = 0;
        if (const auto v = tx.find("fee"); v.exists()) fee = unsigned_of(v, name + ".fee", INT64_MAX);
        if (const auto deps = tx.find("depends"); deps.exists()) {
            if (!deps.is_array()) throw Failure{name + ".depends: not an array"};
            for (uint32_t k = 0; k < deps.size(); ++k) {
                const uint64_t d = unsigned_of(deps.at(k), name + ".depends[" + std::to_string(k) + "]", UINT32_MAX);
                if (d == 0 || d > i) throw Failure{name + ".depends[" + std::to_string(k) + "]: " + std::to_string(d) +
                                                   " is not an earlier transaction (1-based)"};
            }
        }
        std::string why;
        auto parsed = bitcoin::make_template_transaction(std::move(data), txid ? &*txid : nullptr, wtxid ? &*wtxid : nullptr, fee, &why);
        if (!parsed) throw Failure{name + ": " + why};
        t.transactions.push_back(std::move(*parsed));
    }
    return t;
}

}  // namespace

std::string getblocktemplate_params(bool litecoin, std::string_view longpollid) {
    std::string p = litecoin ? R"([{"rules":["mweb","segwit"])" : R"([{"rules":["segwit"])";
    if (!longpollid.empty()) {
        p += R"(,"longpollid":)";
        json::append_string(p, longpollid);
    }
    p += "}]";
    return p;
}

json::Limits node_reply_limits() noexcept {
    json::Limits l;
    l.max_depth = 64;
    l.max_nodes = 4000000;
    l.max_members = 4096;
    return l;
}

std::optional<bitcoin::BlockTemplate> parse_block_template(const json::Value& result, std::string* error) {
    try {
        return parse(result);
    } catch (const Failure& f) {
        set_error(error, "getblocktemplate: " + f.what);
        return std::nullopt;
    }
}

std::optional<bitcoin::BlockTemplate> parse_block_template_text(std::string_view text, std::string* error) {
    json::Document doc;
    if (!doc.parse(text, node_reply_limits())) {
        set_error(error, "getblocktemplate: " + std::string(doc.error()));
        return std::nullopt;
    }
    json::Value root = doc.root();
    if (const auto r = root.find("result"); root.is_object() && r.exists() && root.find("previousblockhash").exists() == false) root = r;
    return parse_block_template(root, error);
}

SubmitVerdict submit_verdict(const json::Value& result) {
    SubmitVerdict v;
    if (!result.exists() || result.is_null()) {
        v.accepted = true;
        return v;
    }
    if (result.is_string()) {
        (void)result.decode_string(v.reason);
        if (v.reason.empty()) v.reason = "rejected (empty reason)";
        return v;
    }
    v.reason = "unexpected submitblock result " + std::string(result.token().substr(0, 64));
    return v;
}

}  // namespace otedama::bitcoind
