// Tests of lib/otedama/bitcoin/coinbase.hpp, merkle.hpp and transaction.hpp with known answers.
//
// Sources:
//  - CScriptNum: Bitcoin Core src/script/script.h CScriptNum::serialize (minimal little-endian, sign bit in the
//    top byte) and `CScript() << int64` (OP_0, OP_1NEGATE, OP_1..OP_16 for small values); the encodings of
//    0, 1, -1, 127, 128, 255, 256, -128, 32767, 32768, -32768 follow from that rule and are those listed in
//    Bitcoin Core's script_tests (scriptnum_tests.cpp checks the same serialisation).
//  - BIP 34 heights of the recorded regtest blocks (tests/lib/bitcoin/fixtures, see README there): 502 ->
//    02f601, 432 -> 02b001, 152 -> 029800 (the 0x00 keeps 0x98 positive).
//  - The accepted coinbase of bitcoind 0.15.1's regtest block 502 (bitcoin-regtest-segwit-template.json:
//    coinbase_tx_hex_without_witness, coinbase_tx_hex, coinbase_txid), its template's txids, the block's merkle
//    root and its witness merkle root and commitment.
#include <otedama/bitcoin/coinbase.hpp>
#include <otedama/bitcoin/merkle.hpp>
#include <otedama/bitcoin/transaction.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>

#include <gtest/gtest.h>

namespace b = otedama::bitcoin;
namespace c = otedama::common;

namespace {

std::vector<uint8_t> hex(const std::string& s) { return *c::from_hex(s); }

b::Hash256 internal(const char* display) {  // display hex -> internal byte order
    b::Hash256 h{};
    EXPECT_TRUE(c::from_hex_into(display, h));
    c::reverse_bytes(h);
    return h;
}
std::string display(const b::Hash256& h) {
    auto r = h;
    c::reverse_bytes(r);
    return c::to_hex(r);
}

const std::string kCoinbase502 =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1602f60108f000000f00000001092f666978"
    "747572652fffffffff0294bd422500000000160014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d0000000000000000266a24aa21a9ed4da82b"
    "27c763c5840528376221ca71599df87504ff3739965ae8c3f77ffe09cf00000000";
const std::string kCoinbase502Witness =
    "010000000001010000000000000000000000000000000000000000000000000000000000000000ffffffff1602f60108f000000f00000001092f66"
    "6978747572652fffffffff0294bd422500000000160014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d0000000000000000266a24aa21a9ed4d"
    "a82b27c763c5840528376221ca71599df87504ff3739965ae8c3f77ffe09cf0120000000000000000000000000000000000000000000000000000000"
    "000000000000000000";
const char* kTxids502[] = {"c37634ab316fe73d2455bbe353a6c959ad380b8546d4f5d99daf938d441904ef",
                           "927769e7b7a93aef8fd90c33f3db0d8b03935cfa4bb61e5954dc88c3809d43cd",
                           "8e4be41344202f65e7fe336d64c3e47fcaf950ee383461fbc332379c5896dd2d",
                           "e42f07e04871a089da937c946ac7c923377d807f9f593a7613554a2bc71760bc",
                           "297069e6701c323f487132216cc35dcf241565d6ee9685382a19e7199094fddb",
                           "efa219df0a66d481b4d0e2cbb896eb17f59eac892fc0a78d22521c1948270630"};
const char* kWtxids502[] = {"dbfa91aa3fe5408b3f6b0ddf49b1d1b51a3f96ac1e7d6c7663a3b5872ef06f6d",
                            "a5f3d6cc54a0ed668c16147f82d5a685b47e24253a37fbd4a90b04bf864b33e2",
                            "8e4be41344202f65e7fe336d64c3e47fcaf950ee383461fbc332379c5896dd2d",
                            "67ae64aa1125b96a788266962d803eb0017c087b0c844a9323f16494d5c4d03f",
                            "07a345869e59bffc0747ec2d2b717db82d11a9af953969a0de0079f3334ecbee",
                            "efa219df0a66d481b4d0e2cbb896eb17f59eac892fc0a78d22521c1948270630"};

}  // namespace

TEST(ScriptNum, MinimalEncoding) {
    const std::pair<int64_t, const char*> kCases[] = {{0, ""},         {1, "01"},       {-1, "81"},    {127, "7f"},
                                                      {128, "8000"},   {255, "ff00"},   {256, "0001"}, {-128, "8080"},
                                                      {32767, "ff7f"}, {32768, "008000"}, {-32768, "008080"},
                                                      {8388608, "00008000"}, {2147483647, "ffffff7f"}};
    for (const auto& [v, h] : kCases) EXPECT_EQ(c::to_hex(b::script_num(v)), h) << v;
}

TEST(ScriptNum, Bip34HeightPushes) {
    EXPECT_EQ(c::to_hex(b::script_int_push(0)), "00");  // OP_0
    for (int h = 1; h <= 16; ++h) EXPECT_EQ(b::script_int_push(h), std::vector<uint8_t>{static_cast<uint8_t>(0x50 + h)}) << h;
    EXPECT_EQ(c::to_hex(b::script_int_push(17)), "0111");
    EXPECT_EQ(c::to_hex(b::script_int_push(127)), "017f");
    EXPECT_EQ(c::to_hex(b::script_int_push(128)), "028000");
    EXPECT_EQ(c::to_hex(b::script_int_push(152)), "029800");  // litecoin fixture
    EXPECT_EQ(c::to_hex(b::script_int_push(432)), "02b001");  // litecoin MWEB fixture
    EXPECT_EQ(c::to_hex(b::script_int_push(502)), "02f601");  // bitcoin fixture
    EXPECT_EQ(c::to_hex(b::script_int_push(840000)), "0340d10c");
}

TEST(Coinbase, ReproducesTheAcceptedRegtestCoinbase) {
    b::CoinbaseSpec spec;
    spec.height = 502;
    spec.value = 625130900;
    spec.payout_script = hex("0014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d");
    spec.extranonce_size = 8;
    spec.tag = "/fixture/";
    spec.commitment_script = hex("6a24aa21a9ed4da82b27c763c5840528376221ca71599df87504ff3739965ae8c3f77ffe09cf");
    std::string why;
    const auto parts = b::build_coinbase(spec, &why);
    ASSERT_TRUE(parts) << why;
    auto full = parts->coinbase1;
    const auto en = hex("f000000f00000001");
    full.insert(full.end(), en.begin(), en.end());
    full.insert(full.end(), parts->coinbase2.begin(), parts->coinbase2.end());
    EXPECT_EQ(c::to_hex(full), kCoinbase502);
    const auto info = b::parse_transaction(full);
    ASSERT_TRUE(info);
    EXPECT_EQ(display(info->txid), "2dd9624eac2cff98b1d5092edb8cf498b50de87c5445981d2cae4cd66213cc89");
    const auto witness = b::coinbase_with_witness(full, b::Hash256{}, &why);
    ASSERT_TRUE(witness) << why;
    EXPECT_EQ(c::to_hex(*witness), kCoinbase502Witness);
    const auto winfo = b::parse_transaction(*witness);
    ASSERT_TRUE(winfo);
    EXPECT_TRUE(winfo->has_witness);
    EXPECT_EQ(winfo->txid, info->txid);  // the witness does not change the txid
    EXPECT_EQ(display(winfo->wtxid), "cb27e22c2ac857eeb3ad8f11fabc6fdc152423437d7a6f56de6518c6e5377f75");
}

TEST(Coinbase, HeightOneIsOp1AndTheScriptSigStaysInBounds) {
    b::CoinbaseSpec spec;
    spec.height = 1;
    spec.value = 5000000000;
    spec.payout_script = hex("51");
    spec.extranonce_size = 4;
    const auto parts = b::build_coinbase(spec);
    ASSERT_TRUE(parts);
    // version | 01 | null outpoint | scriptSig length 6 = OP_1 + push(4) | 04
    EXPECT_EQ(c::to_hex(parts->coinbase1),
              "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff065104");
    std::string why;
    spec.tag = std::string(75, 'x');
    spec.extranonce_size = 32;
    EXPECT_FALSE(b::build_coinbase(spec, &why));
    EXPECT_NE(why.find("consensus allows 2 to 100"), std::string::npos) << why;
    spec.tag.clear();
    spec.extranonce_size = 0;
    EXPECT_FALSE(b::build_coinbase(spec, &why));
    EXPECT_NE(why.find("extranonce size 0"), std::string::npos);
    spec.extranonce_size = 8;
    spec.payout_script.clear();
    EXPECT_FALSE(b::build_coinbase(spec, &why));
    EXPECT_NE(why.find("no payout script"), std::string::npos);
}

TEST(Merkle, RootBranchAndWitnessCommitmentOfRegtestBlock502) {
    const auto cb = b::parse_transaction(hex(kCoinbase502));
    ASSERT_TRUE(cb);
    std::vector<b::Hash256> txids, wtxids, all{cb->txid};
    for (const char* t : kTxids502) txids.push_back(internal(t));
    for (const char* t : kWtxids502) wtxids.push_back(internal(t));
    all.insert(all.end(), txids.begin(), txids.end());
    EXPECT_EQ(display(b::merkle_root(all)), "6f1158df44e2bb4dda4a8634dbfccdb9c74e50d5e3005a66d84a9e5d06add2e2");
    const auto branch = b::coinbase_merkle_branch(txids);
    EXPECT_EQ(branch.size(), 3u);  // 7 leaves: 3 levels
    EXPECT_EQ(branch[0], txids[0]);
    EXPECT_EQ(display(b::fold_merkle_branch(cb->txid, branch)), "6f1158df44e2bb4dda4a8634dbfccdb9c74e50d5e3005a66d84a9e5d06add2e2");
    const auto wroot = b::witness_merkle_root(wtxids);
    EXPECT_EQ(display(wroot), "546308803796dd0a82a1da4148981373c1d7728644ba2b96e9a88ed71ec04845");
    EXPECT_EQ(c::to_hex(b::witness_commitment(wroot)), "4da82b27c763c5840528376221ca71599df87504ff3739965ae8c3f77ffe09cf");
    EXPECT_EQ(c::to_hex(b::witness_commitment_script(b::witness_commitment(wroot))),
              "6a24aa21a9ed4da82b27c763c5840528376221ca71599df87504ff3739965ae8c3f77ffe09cf");
}

TEST(Merkle, EdgeCases) {
    EXPECT_TRUE(b::coinbase_merkle_branch({}).empty());  // coinbase-only block: root = coinbase txid
    const b::Hash256 a = internal("c37634ab316fe73d2455bbe353a6c959ad380b8546d4f5d99daf938d441904ef");
    EXPECT_EQ(b::merkle_root(std::vector<b::Hash256>{a}), a);
    EXPECT_EQ(b::merkle_root({}), b::Hash256{});
    // Two leaves after the coinbase: the third level pairs the last hash with itself.
    const b::Hash256 x = internal("927769e7b7a93aef8fd90c33f3db0d8b03935cfa4bb61e5954dc88c3809d43cd");
    const std::vector<b::Hash256> others{a, x};
    const b::Hash256 cbid{};
    EXPECT_EQ(b::fold_merkle_branch(cbid, b::coinbase_merkle_branch(others)), b::merkle_root(std::vector<b::Hash256>{cbid, a, x}));
}

TEST(Transaction, RefusesMalformedData) {
    std::string why;
    EXPECT_FALSE(b::parse_transaction(hex("01000000"), &why));
    EXPECT_NE(why.find("truncated"), std::string::npos) << why;
    auto extra = hex(kCoinbase502);
    extra.push_back(0);
    EXPECT_FALSE(b::parse_transaction(extra, &why));
    EXPECT_NE(why.find("trailing"), std::string::npos) << why;
    auto flags = hex(kCoinbase502Witness);
    flags[5] = 0x02;
    EXPECT_FALSE(b::parse_transaction(flags, &why));
    EXPECT_NE(why.find("unknown transaction flags 0x02"), std::string::npos) << why;
    std::size_t pos = 0;
    EXPECT_FALSE(b::read_compact_size(hex("fd1000"), pos, &why));  // 16 as 3 bytes
    EXPECT_NE(why.find("non-canonical"), std::string::npos);
}
