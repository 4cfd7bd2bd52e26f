#include "ethnode.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/node/jsonrpc.hpp>

#include <Poco/JSON/Object.h>

#include <algorithm>

namespace otedama::ethnode {

namespace {

bool fail(std::string* error, std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
}

std::optional<std::string> element_string(const Poco::JSON::Array::Ptr& a, unsigned i) {
    const Poco::Dynamic::Var v = a->get(i);
    if (v.isEmpty() || !v.isString()) return std::nullopt;
    return v.convert<std::string>();
}

}  // namespace

otd_template_t Work::view(const std::string& coin, const std::string& algorithm, uint32_t flags) const {
    otd_template_t t{};
    t.struct_size = sizeof t;
    t.flags = flags;
    t.coin = coin.c_str();
    t.algorithm = algorithm.c_str();
    t.source_job_id = source_job_id.c_str();
    t.height = height;
    std::copy(target.begin(), target.end(), t.block_target);
    t.blob = header_hash.data();
    t.blob_size = 32;
    t.nonce_size = 8;
    t.seed = seed.data();
    t.seed_size = 32;
    t.epoch = epoch;
    return t;
}

std::optional<Hash> parse_hash32(const std::string& text, std::string* error) {
    if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        fail(error, "'" + text.substr(0, 80) + "' is not 0x-prefixed hex");
        return std::nullopt;
    }
    std::string why;
    const auto bytes = common::from_hex_array<32>(std::string_view(text).substr(2), &why);
    if (!bytes) {
        fail(error, "'" + text.substr(0, 80) + "' is not 32 bytes of hex: " + why);
        return std::nullopt;
    }
    return *bytes;
}

std::optional<uint64_t> parse_quantity(const std::string& text, std::string* error) {
    if (text.size() < 3 || text.size() > 18 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
        fail(error, "'" + text.substr(0, 80) + "' is not a 0x quantity of 1 to 16 hex digits");
        return std::nullopt;
    }
    uint64_t v = 0;
    for (std::size_t i = 2; i < text.size(); ++i) {
        const char c = text[i];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            fail(error, "'" + text.substr(0, 80) + "' is not a 0x hex quantity");
            return std::nullopt;
        }
        v = (v << 4) | static_cast<uint64_t>(d);
    }
    return v;
}

std::optional<Work> parse_work(const Poco::Dynamic::Var& result, const ethash::Variant& variant, const Work* previous, std::string* error) {
    auto bad = [&](const std::string& w) {
        fail(error, "eth_getWork: " + w);
        return std::nullopt;
    };
    if (result.isEmpty() || result.type() != typeid(Poco::JSON::Array::Ptr)) return bad("the result is not an array [header_hash, seed_hash, boundary, number]");
    const auto a = result.extract<Poco::JSON::Array::Ptr>();
    if (a.isNull() || a->size() < 3 || a->size() > 4) return bad("the result has " + std::to_string(a.isNull() ? 0 : a->size()) + " elements, expected 3 or 4");
    static const char* const kNames[] = {"header_hash", "seed_hash", "boundary", "block number"};
    std::string s[4];
    for (unsigned i = 0; i < a->size(); ++i) {
        const auto v = element_string(a, i);
        if (!v) return bad(std::string(kNames[i]) + " (element " + std::to_string(i) + ") is not a string");
        s[i] = *v;
    }
    Work w;
    std::string why;
    const auto header = parse_hash32(s[0], &why);
    if (!header) return bad("header_hash " + why);
    const auto seed = parse_hash32(s[1], &why);
    if (!seed) return bad("seed_hash " + why);
    const auto boundary = parse_hash32(s[2], &why);
    if (!boundary) return bad("boundary " + why);
    if (std::all_of(boundary->begin(), boundary->end(), [](uint8_t b) { return b == 0; })) return bad("boundary is zero");
    w.header_hash = *header;
    w.seed = *seed;
    std::reverse_copy(boundary->begin(), boundary->end(), w.target.begin());  // big-endian -> little-endian
    if (a->size() == 4) {
        const auto number = parse_quantity(s[3], &why);
        if (!number) return bad("block number " + why);
        w.height = *number;
        w.has_number = true;
        w.epoch = ethash::epoch_of(variant, w.height);
        if (w.epoch > ethash::kMaxEpoch) return bad("block number " + std::to_string(w.height) + " is beyond the last ethash epoch");
        if (ethash::epoch_seed(variant, w.epoch) != w.seed)
            return bad("seed_hash " + s[1] + " is not the " + variant.name + " seed of epoch " + std::to_string(w.epoch) + " (block " + std::to_string(w.height) + ")");
    } else {
        if (previous != nullptr && previous->seed == w.seed) {
            w.epoch = previous->epoch;
        } else {
            const int64_t e = ethash::epoch_from_seed(variant, w.seed, ethash::kMaxEpoch + 1);
            if (e < 0) return bad("seed_hash " + s[1] + " is the seed of no " + variant.name + " epoch");
            w.epoch = static_cast<uint64_t>(e);
        }
        w.height = w.epoch * variant.epoch_length;
    }
    return w;
}

Poco::JSON::Array::Ptr submit_params(const Hash& header_hash, uint64_t nonce, const Hash& mix) {
    std::array<uint8_t, 8> be{};
    for (int i = 0; i < 8; ++i) be[static_cast<std::size_t>(i)] = static_cast<uint8_t>(nonce >> (8 * (7 - i)));
    Poco::JSON::Array::Ptr p = new Poco::JSON::Array;
    p->add("0x" + common::to_hex(be));
    p->add("0x" + common::to_hex(header_hash));
    p->add("0x" + common::to_hex(mix));
    return p;
}

std::optional<bool> parse_syncing(const Poco::Dynamic::Var& result, std::string* why) {
    if (!result.isEmpty() && result.type() == typeid(bool)) {
        if (result.extract<bool>()) {  // not what nodes send, but unambiguous
            *why = "still syncing";
            return true;
        }
        *why = "synced";
        return false;
    }
    const auto o = node::as_object(result);
    if (o.isNull()) {
        *why = "eth_syncing: the result is neither false nor a sync status object";
        return std::nullopt;
    }
    std::string current = "?", highest = "?";
    std::string e;
    for (const auto& [key, out] : {std::pair<const char*, std::string*>{"currentBlock", &current}, {"highestBlock", &highest}}) {
        if (const auto v = node::get_string(o, key, &e)) {
            if (const auto n = parse_quantity(*v, &e)) *out = std::to_string(*n);
        }
    }
    *why = "still syncing: block " + current + " of " + highest;
    return true;
}

}  // namespace otedama::ethnode
