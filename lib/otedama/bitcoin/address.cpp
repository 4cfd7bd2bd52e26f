#include "otedama/bitcoin/address.hpp"

#include "otedama/bitcoin/encoding.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace otedama::bitcoin {
namespace {

constexpr std::array<Network, 7> kNetworks = {{
    {"bitcoin-main", "BTC", "main", 0x00, 0x05, -1, "bc"},
    {"bitcoin-test", "BTC", "test", 0x6f, 0xc4, -1, "tb"},
    {"bitcoin-signet", "BTC", "signet", 0x6f, 0xc4, -1, "tb"},
    {"bitcoin-regtest", "BTC", "regtest", 0x6f, 0xc4, -1, "bcrt"},
    {"litecoin-main", "LTC", "main", 0x30, 0x32, 0x05, "ltc"},
    {"litecoin-test", "LTC", "test", 0x6f, 0x3a, 0xc4, "tltc"},
    {"litecoin-regtest", "LTC", "regtest", 0x6f, 0x3a, 0xc4, "rltc"},
}};

constexpr uint8_t kOpDup = 0x76, kOpHash160 = 0xa9, kOpEqualVerify = 0x88, kOpCheckSig = 0xac, kOpEqual = 0x87;

void set_error(std::string* error, std::string text) {
    if (error != nullptr) *error = std::move(text);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Which networks use this Base58 version byte, for a "wrong network" message.
std::string base58_owners(uint8_t version) {
    std::string names;
    for (const auto& n : kNetworks) {
        if (n.p2pkh_version == version || n.p2sh_version == version || n.p2sh_legacy_version == version) {
            if (!names.empty()) names += ", ";
            names += n.name;
        }
    }
    return names;
}

std::string hrp_owners(std::string_view hrp) {
    std::string names;
    for (const auto& n : kNetworks) {
        if (hrp == n.hrp) {
            if (!names.empty()) names += ", ";
            names += n.name;
        }
    }
    return names;
}

std::vector<uint8_t> witness_script(unsigned version, std::span<const uint8_t> program) {
    std::vector<uint8_t> s;
    s.push_back(version == 0 ? 0x00 : static_cast<uint8_t>(0x50 + version));
    s.push_back(static_cast<uint8_t>(program.size()));
    s.insert(s.end(), program.begin(), program.end());
    return s;
}

AddressType witness_type(unsigned version, std::size_t size) {
    if (version == 0) return size == 20 ? AddressType::p2wpkh : AddressType::p2wsh;
    if (version == 1 && size == 32) return AddressType::p2tr;
    return AddressType::witness_unknown;
}

}  // namespace

std::span<const Network> networks() noexcept { return kNetworks; }

const Network* find_network(std::string_view coin, std::string_view chain) noexcept {
    const std::string c = lower(coin);
    std::string ch = lower(chain);
    if (ch == "testnet" || ch == "testnet3" || ch == "testnet4") ch = "test";
    if (ch == "mainnet") ch = "main";
    const char* ticker = (c == "btc" || c == "bitcoin") ? "BTC" : (c == "ltc" || c == "litecoin") ? "LTC" : nullptr;
    if (ticker == nullptr) return nullptr;
    for (const auto& n : kNetworks)
        if (std::string_view(n.coin) == ticker && ch == n.chain) return &n;
    return nullptr;
}

const char* address_type_name(AddressType type) noexcept {
    switch (type) {
        case AddressType::p2pkh: return "P2PKH";
        case AddressType::p2sh: return "P2SH";
        case AddressType::p2wpkh: return "P2WPKH";
        case AddressType::p2wsh: return "P2WSH";
        case AddressType::p2tr: return "P2TR";
        case AddressType::witness_unknown: return "witness (future version)";
    }
    return "?";
}

std::optional<DecodedAddress> decode_address(const Network& network, std::string_view address, std::string* error) {
    if (address.empty()) {
        set_error(error, "empty address");
        return std::nullopt;
    }
    // Bech32 when it starts with some network's hrp and the separator; Base58 otherwise.
    const auto sep = address.rfind('1');
    if (sep != std::string_view::npos && sep > 0) {
        const std::string hrp = lower(address.substr(0, sep));
        const std::string owners = hrp_owners(hrp);
        if (!owners.empty() || hrp == network.hrp) {
            if (hrp != network.hrp) {
                set_error(error, "wrong network: '" + std::string(address) + "' is an address of " + owners + " (hrp '" + hrp +
                                     "'), this node is " + network.name + " (hrp '" + network.hrp + "')");
                return std::nullopt;
            }
            std::string why;
            auto wp = segwit_address_decode(network.hrp, address, &why);
            if (!wp) {
                set_error(error, "invalid segwit address '" + std::string(address) + "': " + why);
                return std::nullopt;
            }
            return DecodedAddress{witness_type(wp->version, wp->program.size()), witness_script(wp->version, wp->program)};
        }
    }
    std::string why;
    const auto payload = base58check_decode(address, &why);
    if (!payload) {
        set_error(error, "invalid address '" + std::string(address) + "': " + why +
                             " (not a Base58Check address, nor Bech32 with the hrp '" + network.hrp + "')");
        return std::nullopt;
    }
    if (payload->size() != 21) {
        set_error(error, "invalid address '" + std::string(address) + "': Base58Check payload of " + std::to_string(payload->size()) +
                             " bytes, P2PKH and P2SH have 21 (version byte and a 20-byte hash)");
        return std::nullopt;
    }
    const uint8_t version = (*payload)[0];
    const std::span<const uint8_t> hash(payload->data() + 1, 20);
    DecodedAddress out;
    if (version == network.p2pkh_version) {
        out.type = AddressType::p2pkh;
        out.script = {kOpDup, kOpHash160, 20};
        out.script.insert(out.script.end(), hash.begin(), hash.end());
        out.script.push_back(kOpEqualVerify);
        out.script.push_back(kOpCheckSig);
        return out;
    }
    if (version == network.p2sh_version || static_cast<int>(version) == network.p2sh_legacy_version) {
        out.type = AddressType::p2sh;
        out.script = {kOpHash160, 20};
        out.script.insert(out.script.end(), hash.begin(), hash.end());
        out.script.push_back(kOpEqual);
        return out;
    }
    const std::string owners = base58_owners(version);
    static constexpr char kHex[] = "0123456789abcdef";
    const std::string vhex = std::string("0x") + kHex[version >> 4] + kHex[version & 15];
    set_error(error, "wrong network: '" + std::string(address) + "' has version byte " + vhex +
                         (owners.empty() ? std::string(", which no known network uses") : ", an address of " + owners) +
                         "; this node is " + network.name);
    return std::nullopt;
}

std::optional<std::string> encode_address(const Network& network, std::span<const uint8_t> s, std::string* error) {
    if (s.size() == 25 && s[0] == kOpDup && s[1] == kOpHash160 && s[2] == 20 && s[23] == kOpEqualVerify && s[24] == kOpCheckSig) {
        std::vector<uint8_t> payload{network.p2pkh_version};
        payload.insert(payload.end(), s.begin() + 3, s.begin() + 23);
        return base58check_encode(payload);
    }
    if (s.size() == 23 && s[0] == kOpHash160 && s[1] == 20 && s[22] == kOpEqual) {
        std::vector<uint8_t> payload{network.p2sh_version};
        payload.insert(payload.end(), s.begin() + 2, s.begin() + 22);
        return base58check_encode(payload);
    }
    // Witness outputs: OP_0 or OP_1..OP_16, then one direct push of the whole 2..40-byte program.
    if (s.size() >= 4 && s.size() <= 42 && (s[0] == 0x00 || (s[0] >= 0x51 && s[0] <= 0x60)) && s[1] + 2u == s.size()) {
        WitnessProgram wp;
        wp.version = s[0] == 0 ? 0 : s[0] - 0x50u;
        wp.program.assign(s.begin() + 2, s.end());
        return segwit_address_encode(network.hrp, wp, error);
    }
    set_error(error, "not a standard output script (P2PKH, P2SH, P2WPKH, P2WSH, P2TR or a witness program)");
    return std::nullopt;
}

}  // namespace otedama::bitcoin
