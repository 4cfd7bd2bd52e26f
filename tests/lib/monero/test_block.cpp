// Tests for lib/otedama/monero/block: parsing Monero block blobs, miner tx ids, tree hash, hashing blobs,
// block ids, template filling.
//
// Known answers:
//  - monerod's own answers on a regtest chain (monero_fixtures.hpp: get_block_template's blockhashing_blob for
//    its blocktemplate_blob, and the accepted blocks' miner tx hash, id and hashing blob);
//  - Monero mainnet's genesis block (v1 miner tx), whose id is the regtest chain's seed hash;
//  - Monero's tree-hash vectors: monero-project/monero tests/hash/tests-tree.txt (commit f7cef3d4), lines 1-6
//    (1 to 6 leaves), each "root leaves...".
#include "monero_fixtures.hpp"

#include "otedama/common/hex.hpp"
#include "otedama/common/keccak.hpp"
#include "otedama/monero/block.hpp"
#include "otedama/monero/varint.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

namespace monero = otedama::monero;
namespace common = otedama::common;
namespace fx = otedama::testing::monero_fixtures;

std::vector<uint8_t> hex(std::string_view h) { return common::from_hex(h).value(); }
std::string hex_of(std::span<const uint8_t> b) { return common::to_hex(b); }

// ---------------------------------------------------------------------------------------------------------
// Parsing

TEST(MoneroBlock, ParsesTheRecordedTemplates) {
    const auto blob = hex(fx::kHeight1.template_blob);
    std::string error;
    const auto block = monero::parse_block(blob, &error);
    ASSERT_TRUE(block) << error;
    // monero-regtest-block-template.json "template_parse" and "blob_layout".
    EXPECT_EQ(block->header.major_version, 16u);
    EXPECT_EQ(block->header.minor_version, 16u);
    EXPECT_EQ(block->header.timestamp, 1795241707u);
    EXPECT_EQ(hex_of(block->header.prev_id), "418015bb9ae982a1975da7d79277c2705727a56894ba0fb246adaabb1f4632e3");
    EXPECT_EQ(block->header.nonce, 0u);
    EXPECT_EQ(block->header.nonce_offset, 39u);
    EXPECT_EQ(block->header.size, 43u);
    const monero::MinerTx& tx = block->miner_tx;
    EXPECT_EQ(tx.offset, 43u);
    EXPECT_EQ(tx.version, 2u);
    EXPECT_EQ(tx.unlock_time, 61u);
    EXPECT_EQ(tx.height, 1u);
    ASSERT_EQ(tx.outputs.size(), 1u);
    EXPECT_EQ(tx.outputs[0].amount, 35184338534400u);
    EXPECT_EQ(tx.outputs[0].target_type, monero::kTxOutToTaggedKey);
    EXPECT_EQ(hex_of(tx.outputs[0].key), "42449a7b5da57a3970056b6e4a22ea3970b2d7a5f2795def183acef81466208e");
    EXPECT_EQ(tx.outputs[0].view_tag, 0x95);
    EXPECT_EQ(tx.extra_offset, 91u);
    EXPECT_EQ(hex_of(std::span<const uint8_t>(blob).subspan(tx.extra_offset, tx.extra_size)),
              "01939c07166335418a1a72c96a602ac079142cc4b0f5b0556bf32fbea270ae76c802080000000000000000");
    EXPECT_EQ(tx.rct_type, monero::kRctTypeNull);
    EXPECT_EQ(tx.offset + tx.size + 1, blob.size()) << "one byte left: the tx hash count 0";
    EXPECT_TRUE(block->tx_hashes.empty());

    const auto with_txs = monero::parse_block(hex(fx::kHeight123.template_blob), &error);
    ASSERT_TRUE(with_txs) << error;
    EXPECT_EQ(with_txs->miner_tx.height, 123u);
    EXPECT_EQ(with_txs->miner_tx.unlock_time, 183u);
    EXPECT_EQ(with_txs->miner_tx.extra_offset, 92u);
    ASSERT_EQ(with_txs->tx_hashes.size(), 4u);
    EXPECT_EQ(hex_of(with_txs->tx_hashes[0]), "a463db02d63ae882a492b9479eb9d3840e2cd1c6839059cb4e06918f4c9fa5a3");
    EXPECT_EQ(hex_of(with_txs->tx_hashes[3]), "73e3ffe95038ab36a165872a2c980f31fa1d4bc0fab7d6a97db7ba54c6df60f3");
}

TEST(MoneroBlock, HeaderOfAHashingBlob) {
    const auto hb = hex(fx::kHeight123.hashing_blob);
    const auto header = monero::parse_block_header(hb);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->nonce, 42u);
    EXPECT_EQ(header->nonce_offset, 39u);
    std::string error;
    const auto parsed = monero::parse_hashing_blob(hb, &error);
    ASSERT_TRUE(parsed) << error;
    EXPECT_EQ(hex_of(parsed->tree_root), fx::kHeight123.tree_root);
    EXPECT_EQ(parsed->tx_count, 5u);
}

// ---------------------------------------------------------------------------------------------------------
// Hashes

TEST(MoneroBlock, MinerTxHashesOfTheAcceptedBlocks) {
    for (const fx::RecordedBlock* rb : fx::kRecorded) {
        SCOPED_TRACE(rb->name);
        const auto blob = hex(rb->block_blob);
        std::string error;
        const auto block = monero::parse_block(blob, &error);
        ASSERT_TRUE(block) << error;
        const auto prefix = std::span<const uint8_t>(blob).subspan(block->miner_tx.offset, block->miner_tx.prefix_size);
        EXPECT_EQ(hex_of(common::keccak256(prefix)), rb->miner_tx_prefix_hash);
        EXPECT_EQ(hex_of(monero::miner_tx_hash(blob, *block)), rb->miner_tx_hash);
        EXPECT_EQ(block->header.nonce, rb->nonce);
        EXPECT_EQ(block->tx_hashes.size(), rb->tx_count);
    }
}

TEST(MoneroBlock, HashingBlobsAndIdsMatchMonerod) {
    for (const fx::RecordedBlock* rb : fx::kRecorded) {
        SCOPED_TRACE(rb->name);
        std::string error;
        // get_block_template's own pair, for this template and for the next one.
        auto hb = monero::hashing_blob(hex(rb->template_blob), &error);
        ASSERT_TRUE(hb) << error;
        EXPECT_EQ(hex_of(*hb), rb->template_hashing_blob);
        hb = monero::hashing_blob(hex(rb->next_template_blob), &error);
        ASSERT_TRUE(hb) << error;
        EXPECT_EQ(hex_of(*hb), rb->next_template_hashing_blob);
        // The accepted block: hashing blob, and the id the node reported.
        hb = monero::hashing_blob(hex(rb->block_blob), &error);
        ASSERT_TRUE(hb) << error;
        EXPECT_EQ(hex_of(*hb), rb->hashing_blob);
        EXPECT_EQ(hex_of(monero::block_id(*hb)), rb->block_id);
    }
    // Each accepted block is the parent of the node's next template.
    for (const fx::RecordedBlock* rb : fx::kRecorded) {
        const auto next = monero::parse_block(hex(rb->next_template_blob));
        ASSERT_TRUE(next);
        EXPECT_EQ(hex_of(next->header.prev_id), rb->block_id);
        EXPECT_EQ(next->miner_tx.height, rb->height + 1);
    }
}

TEST(MoneroBlock, MainnetGenesisHasAV1MinerTx) {
    std::vector<uint8_t> blob = {0x01, 0x00, 0x00};  // major 1, minor 0, timestamp 0
    blob.resize(blob.size() + 32, 0);                 // prev_id
    for (int i = 0; i < 4; ++i) blob.push_back(static_cast<uint8_t>(fx::kGenesisNonce >> (8 * i)));
    const auto tx = hex(fx::kGenesisTx);
    blob.insert(blob.end(), tx.begin(), tx.end());
    blob.push_back(0x00);  // no other transactions
    std::string error;
    const auto block = monero::parse_block(blob, &error);
    ASSERT_TRUE(block) << error;
    EXPECT_EQ(block->miner_tx.version, 1u);
    EXPECT_EQ(block->miner_tx.prefix_size, block->miner_tx.size);
    EXPECT_EQ(block->miner_tx.height, 0u);
    EXPECT_EQ(block->miner_tx.outputs[0].target_type, monero::kTxOutToKey);
    EXPECT_EQ(hex_of(monero::miner_tx_hash(blob, *block)), hex_of(common::keccak256(tx)));
    EXPECT_EQ(hex_of(monero::block_id(monero::hashing_blob(blob, *block))), fx::kGenesisId);
}

TEST(MoneroBlock, TreeHashVectorsFromMonero) {
    // monero-project/monero tests/hash/tests-tree.txt, lines 1-6: root, then the leaves concatenated.
    const struct {
        const char* root;
        const char* leaves;
    } cases[] = {
        {"676567f8b1b470207c20d8efbaacfa64b2753301b46139562111636f36304bb8",
         "676567f8b1b470207c20d8efbaacfa64b2753301b46139562111636f36304bb8"},
        {"5077570fed2363a14fa978218185b914059e23517faf366f08a87cf3c47fd58e",
         "3124758667bc8e76e25403eee75a1044175d58fcd3b984e0745d0ab18f473984975ce54240407d80eedba2b395bcad5be99b5c920abc2423865e3066edd4847a"},
        {"f8e26aaa7c36523cea4c5202f2df159c62bf70d10670c96aed516dbfd5cb5227",
         "decc1e0aa505d7d5fbe8ed823d7f5da55307c4cc7008e306da82dbce492a0576dbcf0c26646d36b36a92408941f5f2539f7715bcb1e2b1309cedb86ae4211554"
         "f56f5e6b2fce16536e44c851d473d1f994793873996ba448dd59b3b4b922b183"},
        {"45f6e06fc0263e667caddd8fba84c9fb723a961a01a5b115f7cab7fe8f2c7e44",
         "53edbbf98d3fa50a85fd2d46c42502aafad3fea30bc25ba4f16ec8bf4a475c4d87da8ad3e5c90aae0b10a559a77a0985608eaa3cc3dd338239be52572c3bdf4b"
         "a403d27466991997b3cf4e8d238d002a1451ccc9c4790269d0f0085d9382d60fef37717f59726e4cc8787d5d2d75238ba9adb9627a8f4aeeec8d80465ed3f5fb"},
        {"e678fb87749ec082a9f92537716de8e19d8bd5bc4c4d832bd3fcfd42498dac83",
         "051a082e670c688e6a0fc2c8fd5b66b7a23cd380c7c49bd0cfffb0e80fb8c2334bb717c5e90db0ac353dfc0750c8b43a07edae0be99d6e820acc6da9f113123a"
         "e084c38ccdbf9c6730e228b5d98e7beb9843cfb523747cc32f09f2b16def67f76765cee044883827b9af31c179d3135b16c30f04453943d9676a59b907a64396"
         "58f6c98159b8fa1b152f1bcf748740754ca31c918501dbd577faf602c641df59"},
        {"7db3258ea536fef652eaaa9ccb158045770900b3c301d727bcb7e60f9831ae2c",
         "4231b54cddc617d06e0e311536fa400e5be0a35aab5fec9ec8d98f6c6dad3916fe6cdb1f63be231f95cdc83bb15b0d99d32d9922331b738c423625471fad7f40"
         "8e60c0773fe78938b054e28b86ac06a194d141c1bde5f3c6f2b11468b43702cb3121b40ccbcb5461fa9321c35c9342e21efd7c1c22f523d78b9d4de28112b6cc"
         "51552642ffc126c66f25038f9d3b0cf485cc252215c144d51a139c8ea9a0ecc16e81d8d92dd3660d885deca60070d3d00069d89db1a85acb9c1f18d0c90736a7"},
    };
    std::size_t expected_leaves = 1;
    for (const auto& c : cases) {
        const auto bytes = hex(c.leaves);
        ASSERT_EQ(bytes.size(), 32 * expected_leaves) << c.root;
        std::vector<monero::Hash> leaves(bytes.size() / 32);
        for (std::size_t i = 0; i < leaves.size(); ++i) std::memcpy(leaves[i].data(), bytes.data() + 32 * i, 32);
        EXPECT_EQ(hex_of(monero::tree_hash(leaves)), c.root) << leaves.size() << " leaves";
        ++expected_leaves;
    }
    EXPECT_EQ(monero::tree_hash({}), monero::Hash{});
}

TEST(MoneroBlock, TreeHashOfTheFiveLeafBlock) {
    const auto blob = hex(fx::kHeight123.block_blob);
    const auto block = monero::parse_block(blob);
    ASSERT_TRUE(block);
    std::vector<monero::Hash> leaves{monero::miner_tx_hash(blob, *block)};
    leaves.insert(leaves.end(), block->tx_hashes.begin(), block->tx_hashes.end());
    EXPECT_EQ(hex_of(monero::tree_hash(leaves)), fx::kHeight123.tree_root);
}

// ---------------------------------------------------------------------------------------------------------
// Filling a template

TEST(MoneroBlock, FillingTheTemplateGivesTheAcceptedBlock) {
    for (const fx::RecordedBlock* rb : fx::kRecorded) {
        SCOPED_TRACE(rb->name);
        std::string error;
        const auto filled = monero::fill_block_template(hex(rb->template_blob), rb->reserved_offset, rb->reserve_size,
                                                        hex(rb->extra_nonce), rb->nonce, &error);
        ASSERT_TRUE(filled) << error;
        EXPECT_EQ(hex_of(*filled), rb->block_blob);
        // Without a nonce the template's (zero) nonce stays; a shorter extranonce fills the front only.
        const auto partial = monero::fill_block_template(hex(rb->template_blob), rb->reserved_offset, rb->reserve_size,
                                                         hex("abcd"), std::nullopt, &error);
        ASSERT_TRUE(partial) << error;
        auto expected = hex(rb->template_blob);
        expected[rb->reserved_offset] = 0xab;
        expected[rb->reserved_offset + 1] = 0xcd;
        EXPECT_EQ(*partial, expected);
    }
}

TEST(MoneroBlock, FillingRefusesBadReservedRanges) {
    const auto blob = hex(fx::kHeight1.template_blob);
    const auto en = hex("0102030405060708");
    std::string error;
    EXPECT_FALSE(monero::fill_block_template(blob, 126, 4, en, std::nullopt, &error));
    EXPECT_EQ(error, "extranonce is 8 bytes, the template reserves 4");
    // extra is [91, +43): 126 + 8 = 134 is its end; one byte further is outside.
    EXPECT_TRUE(monero::fill_block_template(blob, 126, 8, en, std::nullopt, &error)) << error;
    EXPECT_FALSE(monero::fill_block_template(blob, 127, 8, en, std::nullopt, &error));
    EXPECT_EQ(error, "reserved bytes [127, +8) are not inside the miner tx extra field [91, +43)");
    EXPECT_FALSE(monero::fill_block_template(blob, 39, 4, std::span<const uint8_t>(en).first(4), std::nullopt, &error));
    EXPECT_NE(error.find("not inside the miner tx extra field"), std::string::npos) << error;
    EXPECT_FALSE(monero::fill_block_template(blob, SIZE_MAX - 2, 8, en, std::nullopt, &error));
    EXPECT_FALSE(monero::fill_block_template(blob, 126, SIZE_MAX, en, std::nullopt, &error));
    EXPECT_FALSE(monero::fill_block_template(hex("1010"), 0, 0, {}, std::nullopt, &error));
    EXPECT_EQ(error.rfind("block template: ", 0), 0u) << error;
}

// ---------------------------------------------------------------------------------------------------------
// Malformed input: clear errors, never a crash

TEST(MoneroBlock, NamesWhatIsWrong) {
    const auto good = hex(fx::kHeight1.template_blob);
    const struct {
        std::size_t offset;
        uint8_t value;
        const char* expected;
    } patches[] = {
        {43, 0x03, "block: miner tx version 3 is not 1 or 2"},
        {45, 0x02, "block: miner tx has 2 inputs, a coinbase has exactly 1 (txin_gen)"},
        {46, 0x02, "block: miner tx input at offset 46 has type 0x02, expected 0xff (txin_gen)"},
        {56, 0x04, "block: miner tx output 0 at offset 56 has target type 4, expected 2 (txout_to_key) or 3 (txout_to_tagged_key)"},
        {134, 0x05, "block: miner tx rct_signatures type 5 at offset 134 is not 0 (RCTTypeNull), the only type a coinbase has"},
        {135, 0x80, "block: transaction hash count: truncated varint at offset 135"},
    };
    for (const auto& p : patches) {
        auto blob = good;
        blob[p.offset] = p.value;
        std::string error;
        EXPECT_FALSE(monero::parse_block(blob, &error)) << p.expected;
        EXPECT_EQ(error, p.expected);
    }
    std::string error;
    auto blob = good;
    blob[135] = 0x02;
    EXPECT_FALSE(monero::parse_block(blob, &error));
    EXPECT_EQ(error, "block: transaction hash count 2 needs 2 x 32 bytes, only 0 left");
    blob = good;
    blob.push_back(0);
    EXPECT_FALSE(monero::parse_block(blob, &error));
    EXPECT_EQ(error, "block: 1 trailing bytes after the transaction hashes (offset 136)");
    blob = good;
    blob[3] = 0x80;  // timestamp eb 80 00 ...: a zero byte ends a longer spelling of a shorter value
    blob[4] = 0x00;
    EXPECT_FALSE(monero::parse_block(blob, &error));
    EXPECT_EQ(error, "block header: timestamp: non-canonical varint at offset 2 (trailing zero byte)");
    EXPECT_FALSE(monero::parse_block({}, &error));
    EXPECT_EQ(error, "block header: major_version: truncated varint at offset 0");
    EXPECT_FALSE(monero::parse_hashing_blob(good, &error));
    EXPECT_NE(error.find("trailing bytes after the transaction count"), std::string::npos) << error;
    auto hb = hex(fx::kHeight1.hashing_blob);
    hb.back() = 0;
    EXPECT_FALSE(monero::parse_hashing_blob(hb, &error));
    EXPECT_EQ(error, "hashing blob: transaction count 0 (a block has at least its miner transaction)");
}

TEST(MoneroBlock, EveryTruncationIsRefusedCleanly) {
    for (const fx::RecordedBlock* rb : fx::kRecorded) {
        const auto blob = hex(rb->block_blob);
        for (std::size_t n = 0; n < blob.size(); ++n) {
            std::string error;
            const std::span<const uint8_t> cut(blob.data(), n);
            EXPECT_FALSE(monero::parse_block(cut, &error)) << n;
            EXPECT_FALSE(error.empty()) << n;
        }
        const auto hb = hex(rb->hashing_blob);
        for (std::size_t n = 0; n < hb.size(); ++n) {
            EXPECT_FALSE(monero::parse_hashing_blob(std::span<const uint8_t>(hb.data(), n))) << n;
        }
    }
}

// A small in-process fuzzer: random byte flips, insertions and deletions over the recorded blobs. The parse
// may succeed or fail; it must never crash, read out of bounds (run under -Dsanitizers=true) or allocate
// without bound, and whatever parses must re-derive a hashing blob that parses back.
TEST(MoneroBlock, SurvivesMutatedBlobs) {
    std::mt19937 rng(1978433);
    std::size_t parsed = 0;
    for (int round = 0; round < 20000; ++round) {
        const fx::RecordedBlock* rb = fx::kRecorded[round % 2];
        auto blob = hex(round % 4 < 2 ? rb->template_blob : rb->block_blob);
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !blob.empty(); ++e) {
            const std::size_t at = rng() % blob.size();
            switch (rng() % 4) {
                case 0: blob[at] = static_cast<uint8_t>(rng()); break;
                case 1: blob[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
                case 2: blob.insert(blob.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng())); break;
                default: blob.erase(blob.begin() + static_cast<std::ptrdiff_t>(at)); break;
            }
        }
        std::string error;
        const auto block = monero::parse_block(blob, &error);
        if (!block) {
            ASSERT_FALSE(error.empty());
            continue;
        }
        ++parsed;
        const auto hb = monero::hashing_blob(blob, *block);
        ASSERT_TRUE(monero::parse_hashing_blob(hb, &error)) << error;
        (void)monero::fill_block_template(blob, rng() % (blob.size() + 2), rng() % 16, {}, 7u, &error);
    }
    EXPECT_GT(parsed, 0u) << "some mutations (inside extra, keys, hashes) keep the blob valid";
}

}  // namespace
