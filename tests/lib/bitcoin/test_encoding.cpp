// Tests of lib/otedama/bitcoin/encoding.hpp: Base58(Check), Bech32 / Bech32m and segwit addresses.
//
// Vectors:
//  - Base58: Bitcoin Core src/test/data/base58_encode_decode.json.
//  - Bech32: BIP 173 "Test vectors" (valid Bech32 strings, invalid strings with the reason, valid and
//    invalid segwit addresses), https://github.com/bitcoin/bips/blob/master/bip-0173.mediawiki
//  - Bech32m: BIP 350 "Test vectors" (valid Bech32m strings, invalid strings, valid segwit addresses with
//    their scriptPubKey, invalid segwit addresses), https://github.com/bitcoin/bips/blob/master/bip-0350.mediawiki
//    BIP 350 supersedes BIP 173's segwit address list for versions 1+ (which used Bech32), so the segwit
//    vectors here are BIP 350's, plus BIP 173's invalid v0 ones.
#include <otedama/bitcoin/encoding.hpp>
#include <otedama/common/hex.hpp>

#include <gtest/gtest.h>

#include <string>

namespace b = otedama::bitcoin;
namespace c = otedama::common;

namespace {

std::vector<uint8_t> hex(const char* s) { return *c::from_hex(s); }

// A segwit scriptPubKey from a decoded program (OP_0 or OP_n, then the push).
std::string script_hex(const b::WitnessProgram& wp) {
    std::vector<uint8_t> s{static_cast<uint8_t>(wp.version == 0 ? 0 : 0x50 + wp.version), static_cast<uint8_t>(wp.program.size())};
    s.insert(s.end(), wp.program.begin(), wp.program.end());
    return c::to_hex(s);
}

}  // namespace

TEST(Base58, BitcoinCoreEncodeDecodeVectors) {
    const std::pair<const char*, const char*> kVectors[] = {
        {"", ""},
        {"61", "2g"},
        {"626262", "a3gV"},
        {"636363", "aPEr"},
        {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
        {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
        {"516b6fcd0f", "ABnLTmg"},
        {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
        {"572e4794", "3EFU7m"},
        {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
        {"10c8511e", "Rt5zm"},
        {"00000000000000000000", "1111111111"},
    };
    for (const auto& [h, text] : kVectors) {
        EXPECT_EQ(b::base58_encode(hex(h)), text) << h;
        const auto back = b::base58_decode(text);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(c::to_hex(*back), h) << text;
    }
}

TEST(Base58, RefusesCharactersOutsideTheAlphabet) {
    std::string why;
    EXPECT_FALSE(b::base58_decode("3EF0U7m", &why));
    EXPECT_EQ(why, "invalid Base58 character '0' at position 3");
    EXPECT_FALSE(b::base58_decode("abIl", &why));
    EXPECT_NE(why.find("'I'"), std::string::npos);
}

TEST(Base58Check, ChecksumIsVerified) {
    // The genesis block's coinbase address (Bitcoin mainnet): version 0, hash160 62e907b1...
    const auto payload = b::base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    ASSERT_TRUE(payload);
    EXPECT_EQ(c::to_hex(*payload), "0062e907b15cbf27d5425399ebf6f0fb50ebb88f18");
    EXPECT_EQ(b::base58check_encode(*payload), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    std::string why;
    EXPECT_FALSE(b::base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", &why));
    EXPECT_EQ(why, "invalid Base58Check checksum");
    EXPECT_FALSE(b::base58check_decode("2g", &why));
    EXPECT_NE(why.find("too short"), std::string::npos);
}

TEST(Bech32, Bip173ValidStrings) {
    for (const char* s : {"A12UEL5L", "a12uel5l",
                          "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
                          "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                          "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
                          "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", "?1ezyfcl"}) {
        std::string why;
        const auto d = b::bech32_decode(s, &why);
        ASSERT_TRUE(d) << s << ": " << why;
        EXPECT_EQ(d->variant, b::Bech32Variant::bech32) << s;
        // Re-encoding gives the lower-case form back.
        std::string lower(s);
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_EQ(b::bech32_encode(d->hrp, d->data, d->variant).value_or(""), lower);
    }
}

TEST(Bech32m, Bip350ValidStrings) {
    for (const char* s : {"A1LQFN3A", "a1lqfn3a",
                          "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
                          "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
                          "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
                          "split1checkupstagehandshakeupstreamerranterredcaperredlc445v", "?1v759aa"}) {
        std::string why;
        const auto d = b::bech32_decode(s, &why);
        ASSERT_TRUE(d) << s << ": " << why;
        EXPECT_EQ(d->variant, b::Bech32Variant::bech32m) << s;
    }
}

TEST(Bech32, Bip173AndBip350InvalidStringsNameTheProblem) {
    struct Case {
        std::string text;
        const char* expect;  // a piece of the error message
    };
    const Case kCases[] = {
        // BIP 173
        {std::string("\x20") + "1nwldj5", "invalid character"},
        {std::string("\x7f") + "1axkwrx", "invalid character"},
        {std::string("\x80") + "1eym55h", "invalid character"},
        {"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", "too long"},
        {"pzry9x0s0muk", "no separator"},
        {"1pzry9x0s0muk", "empty human-readable part"},
        {"x1b4n0q5v", "invalid data character"},
        {"li1dgmt3", "checksum too short"},
        {std::string("de1lg7wt") + "\xff", "invalid character"},
        {"A1G7SGD8", "invalid checksum"},
        {"10a06t8", "empty human-readable part"},
        {"1qzzfhee", "empty human-readable part"},
        // BIP 350
        {std::string("\x20") + "1xj0phk", "invalid character"},
        {std::string("\x7f") + "1g6xzxy", "invalid character"},
        {std::string("\x80") + "1vctc34", "invalid character"},
        {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4", "too long"},
        {"qyrz8wqd2c9m", "no separator"},
        {"1qyrz8wqd2c9m", "empty human-readable part"},
        {"y1b0jsk6g", "invalid data character"},
        {"lt1igcx5c0", "invalid data character"},
        {"in1muywd", "checksum too short"},
        {"mm1crxm3i", "invalid data character"},
        {"au1s5cgom", "invalid data character"},
        {"M1VUXWEZ", "invalid checksum"},
        {"16plkw9", "empty human-readable part"},
        {"1p2gdwpf", "empty human-readable part"},
    };
    for (const auto& k : kCases) {
        std::string why;
        EXPECT_FALSE(b::bech32_decode(k.text, &why)) << k.text;
        EXPECT_NE(why.find(k.expect), std::string::npos) << k.text << " -> " << why;
    }
}

TEST(SegwitAddress, Bip350ValidAddressesAndTheirScripts) {
    struct Case {
        const char* hrp;
        const char* address;
        const char* script;
    };
    const Case kCases[] = {
        {"bc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"},
        {"tb", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
         "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"},
        {"bc", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
         "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"},
        {"bc", "BC1SW50QGDZ25J", "6002751e"},
        {"bc", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"},
        {"tb", "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
         "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"},
        {"tb", "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
         "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"},
        {"bc", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
         "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"},
    };
    for (const auto& k : kCases) {
        std::string why;
        const auto wp = b::segwit_address_decode(k.hrp, k.address, &why);
        ASSERT_TRUE(wp) << k.address << ": " << why;
        EXPECT_EQ(script_hex(*wp), k.script) << k.address;
        std::string lower(k.address);
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_EQ(b::segwit_address_encode(k.hrp, *wp).value_or(""), lower);
    }
}

TEST(SegwitAddress, Bip350AndBip173InvalidAddressesNameTheProblem) {
    struct Case {
        const char* address;
        const char* expect;
    };
    const Case kCases[] = {
        // BIP 350
        {"tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", "wrong network"},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "with a Bech32 checksum"},
        {"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf", "with a Bech32 checksum"},
        {"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", "with a Bech32 checksum"},
        {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", "with a Bech32m checksum"},
        {"tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47", "with a Bech32m checksum"},
        {"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", "invalid data character"},
        {"BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R", "witness version 17"},
        {"bc1pw5dgrnzv", "program of 1 bytes"},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", "program of 41 bytes"},
        {"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", "version 0 program of 16 bytes"},
        {"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", "mixed case"},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", "padding"},
        {"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", "padding"},
        {"bc1gmk9yu", "no witness version"},
        // BIP 173 (version 0 and checksum cases)
        {"tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", "wrong network"},
        {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "invalid checksum"},
        {"BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", "witness version 17"},
        {"bc1rw5uspcuh", "program of 1 bytes"},
        {"bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90", "program of 41 bytes"},
        {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", "mixed case"},
        {"bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "padding"},
        {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", "padding"},
    };
    for (const auto& k : kCases) {
        // Checked against the network the address claims (tc... against bc: the hrp is the problem), and
        // refused on the other network too.
        const bool testnet = (k.address[0] == 't' || k.address[0] == 'T') && (k.address[1] == 'b' || k.address[1] == 'B');
        std::string why;
        EXPECT_FALSE(b::segwit_address_decode(testnet ? "tb" : "bc", k.address, &why)) << k.address;
        EXPECT_NE(why.find(k.expect), std::string::npos) << k.address << " -> " << why;
        EXPECT_FALSE(b::segwit_address_decode(testnet ? "bc" : "tb", k.address)) << k.address;
    }
}
