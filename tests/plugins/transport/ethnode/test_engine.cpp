// The ethnode engine (plugins/transport/ethnode/ethnode.hpp) without a host: eth_getWork results mapped to
// otd_template_t, the eth_submitWork params, eth_syncing.
//
// Specification of the calls: Ethereum JSON-RPC, eth_getWork / eth_submitWork / eth_syncing
// (https://ethereum.org/en/developers/docs/apis/json-rpc/ and the Ethereum wiki "JSON RPC" page, whose
// examples are used below: eth_getWork result ["0x1234567890abcdef...", "0x5EED0000...", "0xd1ff1c01710000..."],
// eth_submitWork params ["0x0000000000000001", "0x1234567890abcdef...", "0xD1FE5700..."]). go-ethereum's
// ethash sealer (consensus/ethash/sealer.go, makeWork) fills the result: [sealhash, seedhash,
// 2^256 / difficulty as a 32-byte big-endian hash, block number as a hex quantity], the number being the
// 4th element core-geth and go-ethereum send. The nonce is types.BlockNonce: the 64-bit nonce big-endian.
#include "ethnode.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/node/jsonrpc.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace {

namespace ethnode = otedama::ethnode;
namespace ethash = otedama::ethash;
namespace node = otedama::node;
namespace common = otedama::common;

Poco::Dynamic::Var json(const std::string& text) {
    std::string why;
    auto v = node::parse_json(text, &why);
    EXPECT_TRUE(v.has_value()) << why;
    return v ? *v : Poco::Dynamic::Var();
}

/// A JSON value as a reply's "result" member carries it (Poco's parser takes no bare scalar at top level).
Poco::Dynamic::Var result_of(const std::string& text) { return node::as_object(json("{\"result\":" + text + "}"))->get("result"); }

std::string zero_seed() { return "0x" + std::string(64, '0'); }
constexpr const char* kHeader = "0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef";  // the wiki's example
// 2^256 / 2000 as go-ethereum writes it (python3: '%064x' % (2**256 // 2000)).
constexpr const char* kBoundary2000 = "0x0020c49ba5e353f7ced916872b020c49ba5e353f7ced916872b020c49ba5e353";

TEST(EthnodeEngine, WorkWithNumberMapsToAnEthashTemplate) {
    std::string why;
    const auto w = ethnode::parse_work(json(std::string("[\"") + kHeader + "\",\"" + zero_seed() + "\",\"" + kBoundary2000 + "\",\"0x1e\"]"), ethash::kEthash, nullptr, &why);
    ASSERT_TRUE(w.has_value()) << why;
    EXPECT_EQ(common::to_hex(w->header_hash), std::string(kHeader).substr(2));
    EXPECT_TRUE(w->has_number);
    EXPECT_EQ(w->height, 30u);
    EXPECT_EQ(w->epoch, 0u);
    // The boundary is the target the ethash algorithm plugin computes for difficulty 2000 (it uses
    // ethereum_target_from_difficulty), little-endian.
    const auto expected = ethash::ethereum_target_from_difficulty(2000.0);
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(common::to_hex(w->target), common::to_hex(*expected));
    EXPECT_EQ(w->target[31], 0x00);
    EXPECT_EQ(w->target[30], 0x20);
    EXPECT_EQ(w->target[0], 0x53);
    ethnode::Work job = *w;
    job.source_job_id = "30-1";
    const otd_template_t t = job.view("ETH", "ethash", OTD_TEMPLATE_CLEAN);
    EXPECT_EQ(t.blob_size, 32u);
    EXPECT_TRUE(std::equal(t.blob, t.blob + 32, w->header_hash.begin()));
    EXPECT_EQ(t.nonce_size, 8u);
    EXPECT_EQ(t.seed_size, 32u);
    EXPECT_TRUE(std::all_of(t.seed, t.seed + 32, [](uint8_t b) { return b == 0; }));  // epoch 0's seed: 32 zero bytes
    EXPECT_EQ(t.epoch, 0u);
    EXPECT_EQ(t.height, 30u);
    EXPECT_EQ(t.flags, OTD_TEMPLATE_CLEAN);
    EXPECT_TRUE(std::equal(t.block_target, t.block_target + 32, expected->begin()));
    EXPECT_STREQ(t.source_job_id, "30-1");
}

TEST(EthnodeEngine, BoundaryByteOrder) {
    // 0x00000000ffff...ff = 2^224 - 1: the top four bytes (big-endian first) are zero, i.e. the last four of
    // the host's little-endian order; its difficulty is 2^32 and differs from floor(2^256 / 2^32) = 2^224 by one.
    std::string why;
    const std::string boundary = "0x00000000" + std::string(56, 'f');
    const auto w = ethnode::parse_work(json(std::string("[\"") + kHeader + "\",\"" + zero_seed() + "\",\"" + boundary + "\",\"0x0\"]"), ethash::kEthash, nullptr, &why);
    ASSERT_TRUE(w.has_value()) << why;
    for (int i = 0; i < 28; ++i) EXPECT_EQ(w->target[static_cast<std::size_t>(i)], 0xff) << i;
    for (int i = 28; i < 32; ++i) EXPECT_EQ(w->target[static_cast<std::size_t>(i)], 0x00) << i;
    EXPECT_EQ(ethash::ethereum_difficulty_from_target(w->target), 4294967296.0);
    const auto plugin_target = ethash::ethereum_target_from_difficulty(4294967296.0);
    ASSERT_TRUE(plugin_target.has_value());
    common::Uint256 minus_one = *plugin_target;  // 2^224 - 1
    for (auto& b : minus_one) {
        if (b-- != 0) break;
    }
    EXPECT_EQ(common::to_hex(w->target), common::to_hex(minus_one));
}

TEST(EthnodeEngine, EpochFromNumberOrSeed) {
    std::string why;
    // etchash (ECIP-1099): block 180005 is in 60000-block epoch 3, whose seed is ethash's epoch 6 seed.
    const std::string seed3 = "0x" + common::to_hex(ethash::epoch_seed(ethash::kEtchash, 3));
    EXPECT_EQ(seed3, "0x" + common::to_hex(ethash::epoch_seed(6)));
    auto w = ethnode::parse_work(json(std::string("[\"") + kHeader + "\",\"" + seed3 + "\",\"" + kBoundary2000 + "\",\"0x2bf25\"]"), ethash::kEtchash, nullptr, &why);
    ASSERT_TRUE(w.has_value()) << why;
    EXPECT_EQ(w->height, 180005u);
    EXPECT_EQ(w->epoch, 3u);
    // Without the number: the seed is searched; height = epoch * epoch_length.
    w = ethnode::parse_work(json(std::string("[\"") + kHeader + "\",\"" + seed3 + "\",\"" + kBoundary2000 + "\"]"), ethash::kEtchash, nullptr, &why);
    ASSERT_TRUE(w.has_value()) << why;
    EXPECT_FALSE(w->has_number);
    EXPECT_EQ(w->epoch, 3u);
    EXPECT_EQ(w->height, 180000u);
    // For ethash the same seed is epoch 6.
    w = ethnode::parse_work(json(std::string("[\"") + kHeader + "\",\"" + seed3 + "\",\"" + kBoundary2000 + "\"]"), ethash::kEthash, nullptr, &why);
    ASSERT_TRUE(w.has_value()) << why;
    EXPECT_EQ(w->epoch, 6u);
    EXPECT_EQ(w->height, 180000u);
    // The seed must be the number's epoch's.
    EXPECT_FALSE(ethnode::parse_work(json(std::string("[\"") + kHeader + "\",\"" + seed3 + "\",\"" + kBoundary2000 + "\",\"0x1\"]"), ethash::kEthash, nullptr, &why));
    EXPECT_NE(why.find("is not the ethash seed of epoch 0 (block 1)"), std::string::npos) << why;
}

TEST(EthnodeEngine, WikiExampleSeedIsNoEpochSeed) {
    // The wiki's example result is illustrative: its seed 0x5EED... is the seed of no epoch.
    std::string why;
    const auto w = ethnode::parse_work(json(R"(["0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
        "0x5EED00000000000000000000000000005EED0000000000000000000000000000",
        "0xd1ff1c01710000000000000000000000d1ff1c01710000000000000000000000"])"), ethash::kEthash, nullptr, &why);
    EXPECT_FALSE(w.has_value());
    EXPECT_NE(why.find("eth_getWork: seed_hash 0x5EED"), std::string::npos) << why;
    EXPECT_NE(why.find("is the seed of no ethash epoch"), std::string::npos) << why;
}

TEST(EthnodeEngine, MalformedWorkIsNamed) {
    const std::string h = kHeader, s = zero_seed(), b = kBoundary2000;
    const std::pair<std::string, std::string> cases[] = {
        {R"({"header":"0x00"})", "the result is not an array"},
        {"[\"" + h + "\",\"" + s + "\"]", "the result has 2 elements, expected 3 or 4"},
        {"[\"" + h + "\",\"" + s + "\",\"" + b + "\",\"0x1\",\"0x2\"]", "the result has 5 elements"},
        {"[1,\"" + s + "\",\"" + b + "\"]", "header_hash (element 0) is not a string"},
        {"[\"1234\",\"" + s + "\",\"" + b + "\"]", "header_hash '1234' is not 0x-prefixed hex"},
        {"[\"" + h + "\",\"0x00\",\"" + b + "\"]", "seed_hash '0x00' is not 32 bytes of hex"},
        {"[\"" + h + "\",\"" + s + "\",\"0x" + std::string(64, 'g') + "\"]", "boundary '0x" + std::string(64, 'g')},
        {"[\"" + h + "\",\"" + s + "\",\"" + s + "\"]", "boundary is zero"},
        {"[\"" + h + "\",\"" + s + "\",\"" + b + "\",\"12\"]", "block number '12' is not a 0x quantity"},
        {"[\"" + h + "\",\"" + s + "\",\"" + b + "\",\"0x12345678901234567\"]", "block number '0x12345678901234567' is not a 0x quantity"},
        {"[\"" + h + "\",\"" + s + "\",\"" + b + "\",\"0xzz\"]", "block number '0xzz' is not a 0x hex quantity"},
    };
    for (const auto& [text, expect] : cases) {
        std::string why;
        EXPECT_FALSE(ethnode::parse_work(json(text), ethash::kEthash, nullptr, &why).has_value()) << text;
        EXPECT_EQ(why.rfind("eth_getWork: ", 0), 0u) << why;
        EXPECT_NE(why.find(expect), std::string::npos) << text << " -> " << why;
    }
}

TEST(EthnodeEngine, SubmitWorkParams) {
    // The wiki's eth_submitWork example: nonce 1, its header and mix (hex case is ours: lower).
    ethnode::Hash header{}, mix{};
    std::string why;
    header = *ethnode::parse_hash32(kHeader, &why);
    mix = *ethnode::parse_hash32("0xD1FE5700000000000000000000000000D1FE5700000000000000000000000000", &why);
    EXPECT_EQ(node::to_json(ethnode::submit_params(header, 1, mix)),
              R"(["0x0000000000000001","0x1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef","0xd1fe5700000000000000000000000000d1fe5700000000000000000000000000"])");
    // Big-endian: the most significant byte first.
    EXPECT_EQ(ethnode::submit_params(header, 0x0123456789abcdefULL, mix)->getElement<std::string>(0), "0x0123456789abcdef");
}

TEST(EthnodeEngine, Syncing) {
    std::string why;
    auto s = ethnode::parse_syncing(result_of("false"), &why);
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE(*s);
    s = ethnode::parse_syncing(result_of(R"({"startingBlock":"0x0","currentBlock":"0x10","highestBlock":"0x20"})"), &why);
    ASSERT_TRUE(s.has_value());
    EXPECT_TRUE(*s);
    EXPECT_EQ(why, "still syncing: block 16 of 32");
    s = ethnode::parse_syncing(result_of(R"("0x1")"), &why);
    EXPECT_FALSE(s.has_value());
    EXPECT_NE(why.find("neither false nor a sync status object"), std::string::npos) << why;
}

}  // namespace
