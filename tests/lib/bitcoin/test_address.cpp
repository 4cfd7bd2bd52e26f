// Tests of lib/otedama/bitcoin/address.hpp: every address type of every network decodes to its output script
// and the script encodes back to the address.
//
// Vectors:
//  - Bitcoin: bitcoin/bitcoin src/test/data/key_io_valid.json (commit 1010c48a), the address entries
//    ("isPrivkey": false) with their scriptPubKey, for main, testnet4/signet (tb / 0x6f / 0xc4) and regtest.
//  - Litecoin Base58: litecoin-project/litecoin src/test/data/key_io_valid.json (commit b270cd90), the
//    main/test/regtest P2PKH and P2SH entries.
//  - Litecoin Bech32/Bech32m and the legacy P2SH versions: asked of Litecoin Core v0.21.2.1 (Debian's
//    litecoind) on main, testnet and regtest with `getnewaddress "" legacy|p2sh-segwit|bech32` +
//    `getaddressinfo`, `createmultisig 1 [pubkey] bech32` (P2WSH) and `validateaddress` (P2TR
//    ltc1p/tltc1p/rltc1p of the BIP 350 example program 79be667e..., and the legacy '3...' / '2...' P2SH forms,
//    which the node reports under their 'M...' / 'Q...' address).
#include <otedama/bitcoin/address.hpp>
#include <otedama/common/hex.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace b = otedama::bitcoin;
namespace c = otedama::common;

namespace {

struct Vector {
    const char* network;
    const char* address;
    const char* script;
    b::AddressType type;
};

const b::Network& net(const char* name) {
    for (const auto& n : b::networks())
        if (std::string_view(n.name) == name) return n;
    throw std::runtime_error(std::string("no network ") + name);
}

using T = b::AddressType;

const Vector kVectors[] = {
    // Bitcoin Core key_io_valid.json
    {"bitcoin-main", "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac", T::p2pkh},
    {"bitcoin-main", "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "a914373b819a068f32b7a6b38b6b38729647cfde01c287", T::p2sh},
    {"bitcoin-test", "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac", T::p2pkh},
    {"bitcoin-test", "2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187", T::p2sh},
    {"bitcoin-signet", "mww4LvqtTMKvmeQvizPz2EQv26xTneWrbg", "76a914b4110ba93ac54afc14da3bdd19614774a2d55d2988ac", T::p2pkh},
    {"bitcoin-regtest", "n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ", "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac", T::p2pkh},
    {"bitcoin-regtest", "2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87", T::p2sh},
    {"bitcoin-main", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c", T::p2wpkh},
    {"bitcoin-main", "bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7",
     "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc", T::p2wsh},
    {"bitcoin-main", "bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu",
     "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c75", T::p2tr},
    {"bitcoin-main", "bc1z2rksukkjr8", "520250ed", T::witness_unknown},
    {"bitcoin-test", "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", "0014c0ef1202759fff90ff19128936814321ee59e111", T::p2wpkh},
    {"bitcoin-test", "tb1p35n52jy6xkm4wd905tdy8qtagrn73kqdz73xe4zxpvq9t3fp50aqk3s6gz",
     "51208d2745489a35b75734afa2da43817d40e7e8d80d17a26cd4460b0055c521a3fa", T::p2tr},
    {"bitcoin-regtest", "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", "00146f58bac9506f9bfb821d62e69330410bb56f0085", T::p2wpkh},
    {"bitcoin-regtest", "bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv",
     "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2", T::p2wsh},
    {"bitcoin-regtest", "bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh",
     "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac", T::p2tr},
    // Litecoin Core key_io_valid.json
    {"litecoin-main", "LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", "76a914558dbca7118cd5894502767c7b2ffc21a22f54db88ac", T::p2pkh},
    {"litecoin-main", "MHrYRxAiMNBTku3eoDHwhA1LQGDjUStZW2", "a9146d328a5b2a20d943a641c8d29b6cc3c2d2df85d387", T::p2sh},
    {"litecoin-test", "mwXn5Vhicdav8Av3KMokx4YNuHoGRKxtWs", "76a914afa9e672141e283dfbcc1cf28f3793a856d3878488ac", T::p2pkh},
    {"litecoin-test", "QXaUgLHkZcbJb2j5XgMYzY8cF9YM48Y81Z", "a9147860667e60a6545e18e541984094b29c9c46991b87", T::p2sh},
    {"litecoin-regtest", "mpWvR79tSrA5xeziB6mjNYWdaVRwBpgnUP", "76a91462b790654f809d32202587c6a43456ffc1965d8388ac", T::p2pkh},
    {"litecoin-regtest", "QgDNrG4nJpE4VV7PcFMFhkTgwAHWxWS7pj", "a914d71bee7a1395c10c9ca9a7f53ac086b53e74369d87", T::p2sh},
    // Litecoin Core v0.21.2.1 (litecoind), asked as described above
    {"litecoin-main", "LTiHk5EYTWrY1JanCZC7hsTFZuxVdrcyyW", "76a9145d1cea22391e06f791e0a3083b2bc73c322687c088ac", T::p2pkh},
    {"litecoin-main", "MGuUV5aoC6yFveNBj5vqjSKcJP7H5DoxG7", "a91462c85e58ab6003f6bc8c90edec74854c7c61bc7887", T::p2sh},
    {"litecoin-main", "ltc1qxdsjgjw5zcfkcc9qz7tlkqnjtuwjg3t9vrevqf", "001433612449d416136c60a01797fb02725f1d244565", T::p2wpkh},
    {"litecoin-main", "ltc1q4qp0380kg75cqv25k4zruwa87wefwz0uefv78jekagm2j8568rwqcwxqlr",
     "0020a802f89df647a9803154b5443e3ba7f3b29709fcca59e3cb36ea36a91e9a38dc", T::p2wsh},
    {"litecoin-main", "ltc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqpj6zg2",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", T::p2tr},
    {"litecoin-test", "mmfLhRgV7qjo9RLXxjsJMgHuqCgZWqATfH", "76a9144366c8908a5087dadb2f974457ea2f8256c9922a88ac", T::p2pkh},
    {"litecoin-test", "QSJCG6T6ynNrVPYyQB87byYjh8NPDUPGb1", "a9143e73693c87a688824b37cdcd6b60e7979a9a2edb87", T::p2sh},
    {"litecoin-test", "tltc1qumdzp8yhdyywhv2d8e69e6caxge9947c64fuyg", "0014e6da209c976908ebb14d3e745ceb1d323252d7d8", T::p2wpkh},
    {"litecoin-test", "tltc1q4qp0380kg75cqv25k4zruwa87wefwz0uefv78jekagm2j8568rwqnpz7qk",
     "0020a802f89df647a9803154b5443e3ba7f3b29709fcca59e3cb36ea36a91e9a38dc", T::p2wsh},
    {"litecoin-test", "tltc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq2a7uhl",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", T::p2tr},
    {"litecoin-regtest", "mkxmn8mS3veThZFLgxwuADfLHDymShNMbR", "76a9143bbaaa6da94ffe3989988913e5ffb996dcf4513688ac", T::p2pkh},
    {"litecoin-regtest", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW", "a914da4387101c342f5a50234aa9e7d32bb17f4c039387", T::p2sh},
    {"litecoin-regtest", "rltc1qxcucq02kg6vvaxxp77lvfz0ht29w32scdg7k0d", "00143639803d564698ce98c1f7bec489f75a8ae8aa18", T::p2wpkh},
    {"litecoin-regtest", "rltc1q4qp0380kg75cqv25k4zruwa87wefwz0uefv78jekagm2j8568rwqfc7x97",
     "0020a802f89df647a9803154b5443e3ba7f3b29709fcca59e3cb36ea36a91e9a38dc", T::p2wsh},
    {"litecoin-regtest", "rltc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqsyzyjh",
     "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", T::p2tr},
};

}  // namespace

TEST(Address, EveryTypeRoundTripsToItsScriptAndBack) {
    for (const auto& v : kVectors) {
        const auto& n = net(v.network);
        std::string why;
        const auto d = b::decode_address(n, v.address, &why);
        ASSERT_TRUE(d) << v.network << " " << v.address << ": " << why;
        EXPECT_EQ(c::to_hex(d->script), v.script) << v.address;
        EXPECT_EQ(d->type, v.type) << v.address << " is " << b::address_type_name(d->type);
        const auto back = b::encode_address(n, d->script, &why);
        ASSERT_TRUE(back) << v.address << ": " << why;
        std::string lower(v.address);
        const bool bech = lower.find('1') != std::string::npos && (lower.rfind(n.hrp, 0) == 0);
        if (bech)
            for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        EXPECT_EQ(*back, bech ? lower : std::string(v.address));
    }
}

TEST(Address, Bech32AcceptsUpperCaseAsKeyIoDoes) {
    // key_io_valid.json's "tryCaseFlip": the all-upper-case form is the same address.
    const auto d = b::decode_address(net("bitcoin-main"), "BC1QVYQ0CC6RAHYVSAZFDJE0TWL7EZ82NDMUAC2LHV");
    ASSERT_TRUE(d);
    EXPECT_EQ(c::to_hex(d->script), "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c");
}

TEST(Address, LitecoinLegacyP2shVersionsDecodeAndEncodeAsTheNewForm) {
    // Litecoin Core 0.21.2.1 validateaddress: 3Mb68G9V... (0x05) is MToES9ZT... on main, 2ND9JC15... (0xc4)
    // is QgW4K1wm... on test and regtest: the same script.
    struct Case {
        const char* network;
        const char* legacy;
        const char* canonical;
    };
    for (const auto& k : {Case{"litecoin-main", "3Mb68G9VqAWKad1xy2BMw1MuMd1ZpBiosj", "MToES9ZTnHMkP8Hs4uAhkecJgKc1pFj3zH"},
                          Case{"litecoin-test", "2ND9JC15XSd1fnQeWe9oEYxMAZyDjdEo19e", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW"},
                          Case{"litecoin-regtest", "2ND9JC15XSd1fnQeWe9oEYxMAZyDjdEo19e", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW"}}) {
        const auto& n = net(k.network);
        std::string why;
        const auto d = b::decode_address(n, k.legacy, &why);
        ASSERT_TRUE(d) << why;
        EXPECT_EQ(c::to_hex(d->script), "a914da4387101c342f5a50234aa9e7d32bb17f4c039387");
        EXPECT_EQ(b::encode_address(n, d->script).value_or(""), k.canonical);
    }
}

TEST(Address, ErrorsNameWhatIsWrong) {
    struct Case {
        const char* network;
        const char* address;
        const char* expect;
    };
    const Case kCases[] = {
        {"bitcoin-main", "", "empty address"},
        {"bitcoin-main", "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", "wrong network"},
        {"bitcoin-regtest", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", "bitcoin-main"},
        {"litecoin-regtest", "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", "wrong network"},
        {"bitcoin-main", "LT2KVaAy1ppRuxRgrS5RNU3vBsy7RibPeA", "litecoin-main"},
        {"litecoin-main", "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "wrong network"},
        {"bitcoin-main", "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mp", "checksum"},
        {"bitcoin-main", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhw", "invalid checksum"},
        {"bitcoin-main", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuaC2lhv", "mixed case"},
        {"bitcoin-main", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", "Bech32 checksum"},
        {"bitcoin-main", "1A1zP1eP5QGefi2DMPTfTL5SLmv7Div0Na", "invalid Base58 character '0'"},
        {"bitcoin-main", "2g", "too short"},
        {"bitcoin-main", "111111111111111111117K4nzc", "payload of 20 bytes"},  // Base58Check of 20 zero bytes
    };
    for (const auto& k : kCases) {
        std::string why;
        EXPECT_FALSE(b::decode_address(net(k.network), k.address, &why)) << k.address;
        EXPECT_NE(why.find(k.expect), std::string::npos) << k.address << " -> " << why;
    }
}

TEST(Address, NonStandardScriptsHaveNoAddress) {
    std::string why;
    EXPECT_FALSE(b::encode_address(net("bitcoin-main"), *c::from_hex("6a0401020304"), &why));  // OP_RETURN
    EXPECT_NE(why.find("not a standard output script"), std::string::npos);
    EXPECT_FALSE(b::encode_address(net("bitcoin-main"), *c::from_hex("0015751e76e8199196d454941c45d1b3a323f1433bd6aa")));  // v0, 21 bytes
}

TEST(Address, NetworksByCoinAndChain) {
    EXPECT_STREQ(b::find_network("LTC", "regtest")->hrp, "rltc");
    EXPECT_STREQ(b::find_network("litecoin", "main")->hrp, "ltc");
    EXPECT_STREQ(b::find_network("btc", "test")->hrp, "tb");
    EXPECT_STREQ(b::find_network("BTC", "testnet4")->name, "bitcoin-test");
    EXPECT_STREQ(b::find_network("BTC", "signet")->name, "bitcoin-signet");
    EXPECT_EQ(b::find_network("DOGE", "main"), nullptr);
    EXPECT_EQ(b::find_network("BTC", "nonesuch"), nullptr);
}
