#include "otedama/bitcoin/coinbase.hpp"

namespace otedama::bitcoin {
namespace {

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

std::vector<uint8_t> script_num(int64_t value) {
    std::vector<uint8_t> out;
    if (value == 0) return out;
    const bool negative = value < 0;
    uint64_t abs = negative ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
    while (abs != 0) {
        out.push_back(static_cast<uint8_t>(abs & 0xff));
        abs >>= 8;
    }
    // The top bit of the last byte is the sign: add a byte when the magnitude uses it.
    if ((out.back() & 0x80) != 0) {
        out.push_back(negative ? 0x80 : 0x00);
    } else if (negative) {
        out.back() |= 0x80;
    }
    return out;
}

std::vector<uint8_t> script_int_push(int64_t value) {
    if (value == 0) return {0x00};                                          // OP_0
    if (value == -1) return {0x4f};                                         // OP_1NEGATE
    if (value >= 1 && value <= 16) return {static_cast<uint8_t>(0x50 + value)};  // OP_1..OP_16
    const auto num = script_num(value);
    return script_data_push(num);
}

std::vector<uint8_t> script_data_push(std::span<const uint8_t> data) {
    std::vector<uint8_t> out{static_cast<uint8_t>(data.size())};
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

std::optional<CoinbaseParts> build_coinbase(const CoinbaseSpec& spec, std::string* error) {
    if (spec.payout_script.empty()) {
        set_error(error, "coinbase: no payout script");
        return std::nullopt;
    }
    if (spec.extranonce_size < 1 || spec.extranonce_size > 32) {
        set_error(error, "coinbase: extranonce size " + std::to_string(spec.extranonce_size) + " (1 to 32 bytes)");
        return std::nullopt;
    }
    if (spec.tag.size() > 75) {
        set_error(error, "coinbase: tag of " + std::to_string(spec.tag.size()) + " bytes (at most 75)");
        return std::nullopt;
    }
    if (spec.height > INT64_MAX || spec.value > INT64_MAX) {
        set_error(error, "coinbase: height or value out of range");
        return std::nullopt;
    }
    const auto height = script_int_push(static_cast<int64_t>(spec.height));
    const std::vector<uint8_t> tag = spec.tag.empty() ? std::vector<uint8_t>{}
                                                      : script_data_push(std::span<const uint8_t>(
                                                            reinterpret_cast<const uint8_t*>(spec.tag.data()), spec.tag.size()));
    const std::size_t script_len = height.size() + 1 + spec.extranonce_size + tag.size();
    if (script_len < kMinCoinbaseScriptSig || script_len > kMaxCoinbaseScriptSig) {
        set_error(error, "coinbase: scriptSig of " + std::to_string(script_len) + " bytes (height push " + std::to_string(height.size()) +
                             ", extranonce push " + std::to_string(1 + spec.extranonce_size) + ", tag push " + std::to_string(tag.size()) +
                             "); consensus allows 2 to 100");
        return std::nullopt;
    }
    CoinbaseParts parts;
    auto& c1 = parts.coinbase1;
    put_le(c1, 1, 4);  // version
    c1.push_back(1);   // one input
    c1.insert(c1.end(), 32, 0);
    put_le(c1, 0xffffffffu, 4);
    write_compact_size(c1, script_len);
    c1.insert(c1.end(), height.begin(), height.end());
    c1.push_back(static_cast<uint8_t>(spec.extranonce_size));  // push opcode of the extranonce
    auto& c2 = parts.coinbase2;
    c2.insert(c2.end(), tag.begin(), tag.end());
    put_le(c2, 0xffffffffu, 4);  // sequence
    const bool commit = !spec.commitment_script.empty();
    write_compact_size(c2, commit ? 2 : 1);
    put_le(c2, spec.value, 8);
    write_compact_size(c2, spec.payout_script.size());
    c2.insert(c2.end(), spec.payout_script.begin(), spec.payout_script.end());
    if (commit) {
        put_le(c2, 0, 8);
        write_compact_size(c2, spec.commitment_script.size());
        c2.insert(c2.end(), spec.commitment_script.begin(), spec.commitment_script.end());
    }
    put_le(c2, 0, 4);  // locktime
    return parts;
}

std::optional<std::vector<uint8_t>> coinbase_with_witness(std::span<const uint8_t> coinbase, const Hash256& reserved_value,
                                                          std::string* error) {
    std::string why;
    const auto info = parse_transaction(coinbase, &why);
    if (!info) {
        set_error(error, "coinbase does not parse: " + why);
        return std::nullopt;
    }
    if (info->inputs != 1 || info->has_witness || info->mweb_flag) {
        set_error(error, "coinbase must have exactly one input and no witness yet");
        return std::nullopt;
    }
    std::vector<uint8_t> out;
    out.reserve(coinbase.size() + 2 + 2 + reserved_value.size());
    out.insert(out.end(), coinbase.begin(), coinbase.begin() + 4);
    out.push_back(0x00);  // marker
    out.push_back(0x01);  // flag: witness
    out.insert(out.end(), coinbase.begin() + 4, coinbase.end() - 4);
    out.push_back(1);     // one stack item
    out.push_back(static_cast<uint8_t>(reserved_value.size()));
    out.insert(out.end(), reserved_value.begin(), reserved_value.end());
    out.insert(out.end(), coinbase.end() - 4, coinbase.end());
    return out;
}

}  // namespace otedama::bitcoin
