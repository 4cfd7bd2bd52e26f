// The monerod job source's engine against replies recorded from a real monerod 0.18.0.0 (Debian package,
// --regtest --offline): fixtures/monero-regtest-*.json, copied from the project's node fixtures (see
// fixtures/README.md: every recorded template was filled and submitted, and monerod accepted that block).
//  - get_block_template -> otd_template_t: blob, reserved_offset, extranonce size, nonce offset, height,
//    prev_hash, seed and next seed, block target (floor((2^256-1)/difficulty)), reward;
//  - the block we submit for the recorded extranonce and nonce equals, byte for byte, the block monerod
//    accepted, and so does the submit_block request's params;
//  - get_info: the recorded replies are healthy; syncing, busy and wrong-network nodes are not;
//  - malformed or inconsistent replies are refused with the field named.
#include "monerod.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/monero/block.hpp>
#include <otedama/node/jsonrpc.hpp>

#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>

#include <fstream>
#include <sstream>

namespace node = otedama::node;
namespace monerod = otedama::monerod;
namespace common = otedama::common;
namespace monero = otedama::monero;
using Poco::JSON::Object;

namespace {

Object::Ptr load(const std::string& name) {
    std::ifstream in(std::string(MONEROD_FIXTURES) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string why;
    const auto v = node::parse_json(ss.str(), &why);
    if (!v) throw std::runtime_error(name + ": " + why);
    return node::as_object(*v);
}

Object::Ptr obj(const Object::Ptr& o, const std::string& key) { return o->getObject(key); }
std::string str(const Object::Ptr& o, const std::string& key) { return o->getValue<std::string>(key); }
std::vector<uint8_t> hex(const std::string& h) { return *common::from_hex(h); }

/// A deep copy of an object (to tamper with).
Object::Ptr copy(const Object::Ptr& o) { return node::as_object(*node::parse_json(node::to_json(o))); }

class Fixture : public ::testing::TestWithParam<const char*> {};

TEST_P(Fixture, TemplateMapsToOtdTemplate) {
    const auto f = load(GetParam());
    const auto result = obj(obj(f, "response"), "result");
    std::string why;
    const auto t = monerod::parse_block_template(result, 8, &why);
    ASSERT_TRUE(t) << why;
    const auto parse = obj(f, "template_parse");
    EXPECT_EQ(t->blob, hex(str(result, "blocktemplate_blob")));
    EXPECT_EQ(t->reserved_offset, result->getValue<uint32_t>("reserved_offset"));
    EXPECT_EQ(t->nonce_offset, parse->getValue<uint32_t>("nonce_offset"));
    EXPECT_EQ(t->height, result->getValue<uint64_t>("height"));
    EXPECT_EQ(common::to_hex(t->prev_hash), str(result, "prev_hash"));
    EXPECT_EQ(common::to_hex(t->seed), str(result, "seed_hash"));
    EXPECT_TRUE(t->next_seed.empty());  // "" in the recording: not known yet
    EXPECT_EQ(t->reward, result->getValue<uint64_t>("expected_reward"));
    EXPECT_EQ(t->difficulty, result->getValue<uint64_t>("difficulty"));
    EXPECT_EQ(t->target, *common::monero_target_from_difficulty_exact(t->difficulty));

    monerod::Template named = *t;
    named.source_job_id = "1-1";
    const std::string coin = "XMR", algo = "randomx";
    const otd_template_t v = named.view(coin, algo, OTD_TEMPLATE_CLEAN);
    EXPECT_EQ(v.struct_size, sizeof(otd_template_t));
    EXPECT_EQ(v.flags, OTD_TEMPLATE_CLEAN);
    EXPECT_STREQ(v.coin, "XMR");
    EXPECT_STREQ(v.algorithm, "randomx");
    EXPECT_STREQ(v.source_job_id, "1-1");
    EXPECT_EQ(v.height, t->height);
    EXPECT_EQ(std::vector<uint8_t>(v.blob, v.blob + v.blob_size), t->blob);
    EXPECT_EQ(v.reserved_offset, t->reserved_offset);
    EXPECT_EQ(v.extranonce_size, 8u);
    EXPECT_EQ(v.nonce_offset, 39u);
    EXPECT_EQ(v.nonce_size, 4u);
    EXPECT_EQ(std::vector<uint8_t>(v.seed, v.seed + v.seed_size), t->seed);
    EXPECT_EQ(v.next_seed, nullptr);
    EXPECT_EQ(v.next_seed_size, 0u);
    EXPECT_TRUE(std::equal(t->target.begin(), t->target.end(), v.block_target));
    EXPECT_TRUE(std::equal(t->prev_hash.begin(), t->prev_hash.end(), v.prev_hash));
    EXPECT_EQ(v.reward, t->reward);
    // The node's own hashing blob of the unfilled template is what lib/otedama/monero derives too.
    EXPECT_EQ(*monero::hashing_blob(t->blob), hex(str(result, "blockhashing_blob")));
}

TEST_P(Fixture, SubmittedBlockIsTheAcceptedOneByteForByte) {
    const auto f = load(GetParam());
    const auto result = obj(obj(f, "response"), "result");
    const auto accepted = obj(f, "accepted_block");
    std::string why;
    auto t = monerod::parse_block_template(result, 8, &why);
    ASSERT_TRUE(t) << why;
    const std::string coin = "XMR", algo = "randomx";
    const otd_template_t v = t->view(coin, algo, 0);
    const auto extranonce = hex(str(accepted, "extra_nonce_hex"));
    const auto nonce = accepted->getValue<uint32_t>("nonce");
    const auto hashing = hex(str(accepted, "blockhashing_blob_hex"));
    const auto block = monerod::assemble_block(v, extranonce, nonce, hashing, &why);
    ASSERT_TRUE(block) << why;
    EXPECT_EQ(common::to_hex(*block), str(accepted, "block_blob_hex"));
    EXPECT_EQ(common::to_hex(monero::block_id(hashing)), str(accepted, "block_id"));
    // The request the plugin sends: params = [block hex], as in the recorded submit_block that monerod took.
    Poco::JSON::Array::Ptr params = new Poco::JSON::Array;
    params->add(common::to_hex(*block));
    EXPECT_EQ(node::to_json(params), node::to_json(obj(accepted, "submit_block_request")->get("params")));
    EXPECT_EQ(str(obj(obj(accepted, "submit_block_response"), "result"), "status"), "OK");

    // A solution that does not match the template is refused before it reaches the node.
    auto wrong = hashing;
    wrong[v.nonce_offset] ^= 1;
    EXPECT_FALSE(monerod::assemble_block(v, extranonce, nonce, wrong, &why));
    EXPECT_NE(why.find("does not hash to the solved hashing blob"), std::string::npos) << why;
    EXPECT_FALSE(monerod::assemble_block(v, std::vector<uint8_t>(4, 0), nonce, hashing, &why));
    EXPECT_NE(why.find("extranonce"), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(Recorded, Fixture, ::testing::Values("monero-regtest-block-template.json", "monero-regtest-block-template-with-txs.json"));

TEST(Template, NextSeedAndDifficulty) {
    const auto f = load("monero-regtest-block-template.json");
    auto r = copy(obj(obj(f, "response"), "result"));
    r->set("next_seed_hash", std::string(64, 'a'));
    r->set("difficulty", 2000);
    std::string why;
    const auto t = monerod::parse_block_template(r, 8, &why);
    ASSERT_TRUE(t) << why;
    EXPECT_EQ(t->next_seed, std::vector<uint8_t>(32, 0xaa));
    // floor((2^256-1)/2000) little-endian: its top 64 bits are floor(2^64/2000) = 0x0020c49ba5e353f7.
    EXPECT_EQ(t->target, *common::monero_target_from_difficulty_exact(2000));
    EXPECT_EQ(t->target[31], 0x00);
    EXPECT_EQ(t->target[30], 0x20);
    EXPECT_EQ(t->target[29], 0xc4);
    // next_seed_hash equal to seed_hash is no news: not announced.
    r->set("next_seed_hash", str(r, "seed_hash"));
    EXPECT_TRUE(monerod::parse_block_template(r, 8, &why)->next_seed.empty());
}

TEST(Template, MalformedRepliesNameTheField) {
    const auto f = load("monero-regtest-block-template.json");
    const auto good = obj(obj(f, "response"), "result");
    struct Case {
        std::function<void(Object::Ptr&)> tamper;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {[](Object::Ptr& r) { r->remove("blocktemplate_blob"); }, "blocktemplate_blob is missing"},
        {[](Object::Ptr& r) { r->set("blocktemplate_blob", "zz"); }, "blocktemplate_blob is not hex"},
        {[](Object::Ptr& r) { r->set("blocktemplate_blob", "1010"); }, "blocktemplate_blob does not parse"},
        {[](Object::Ptr& r) { r->set("height", 2); }, "differs from the miner transaction"},
        {[](Object::Ptr& r) { r->set("height", "1"); }, "height is not a non-negative integer"},
        {[](Object::Ptr& r) { r->set("reserved_offset", 40); }, "outside the miner transaction's extra field"},
        {[](Object::Ptr& r) { r->set("reserved_offset", 130); }, "outside the miner transaction's extra field"},
        {[](Object::Ptr& r) { r->set("prev_hash", std::string(64, '0')); }, "prev_hash differs"},
        {[](Object::Ptr& r) { r->set("seed_hash", "abcd"); }, "seed_hash is not 32 bytes"},
        {[](Object::Ptr& r) { r->set("difficulty", 0); }, "difficulty is 0"},
        {[](Object::Ptr& r) { r->set("difficulty", -5); }, "difficulty is negative"},
        {[](Object::Ptr& r) { r->set("difficulty_top64", 1); }, "above 2^64"},
        {[](Object::Ptr& r) { r->remove("expected_reward"); }, "expected_reward is missing"},
        {[](Object::Ptr& r) { r->set("status", "BUSY"); }, "status is 'BUSY'"},
    };
    for (const auto& c : cases) {
        auto r = copy(good);
        c.tamper(r);
        std::string why;
        EXPECT_FALSE(monerod::parse_block_template(r, 8, &why)) << c.needle;
        EXPECT_NE(why.find(c.needle), std::string::npos) << why;
        EXPECT_EQ(why.rfind("get_block_template: ", 0), 0u) << why;
    }
    std::string why;
    EXPECT_FALSE(monerod::parse_block_template(nullptr, 8, &why));
}

TEST(Info, RecordedRepliesAreHealthy) {
    const auto f = load("monero-regtest-get-info.json");
    for (const char* key : {"response_fresh_chain", "response_after_height1_block", "response_with_4_txs_in_pool", "response_after_block_with_txs"}) {
        std::string why;
        const auto info = monerod::parse_info(obj(obj(f, key), "result"), &why);
        ASSERT_TRUE(info) << key << ": " << why;
        EXPECT_EQ(info->nettype, "fakechain");
        EXPECT_TRUE(info->offline);
        EXPECT_EQ(info->top_hash.size(), 64u);
        EXPECT_EQ(monerod::judge(*info, "fakechain", &why), monerod::Health::ok) << why;
        EXPECT_EQ(monerod::judge(*info, "", &why), monerod::Health::ok) << why;
    }
    std::string why;
    EXPECT_EQ(monerod::parse_info(obj(obj(f, "response_fresh_chain"), "result"), &why)->height, 1u);
    EXPECT_EQ(monerod::parse_info(obj(obj(f, "response_after_height1_block"), "result"), &why)->height, 2u);
}

TEST(Info, SyncingBusyAndWrongNetwork) {
    const auto f = load("monero-regtest-get-info.json");
    const auto base = obj(obj(f, "response_fresh_chain"), "result");
    std::string why;
    auto r = copy(base);
    r->set("target_height", 500);
    EXPECT_EQ(monerod::judge(*monerod::parse_info(r, &why), "", &why), monerod::Health::syncing);
    EXPECT_NE(why.find("height 1 of 500"), std::string::npos) << why;
    r = copy(base);
    r->set("synchronized", false);
    EXPECT_EQ(monerod::judge(*monerod::parse_info(r, &why), "", &why), monerod::Health::syncing);
    EXPECT_NE(why.find("not synchronized"), std::string::npos) << why;
    r = copy(base);
    r->set("busy_syncing", true);
    EXPECT_EQ(monerod::judge(*monerod::parse_info(r, &why), "", &why), monerod::Health::syncing);
    EXPECT_EQ(monerod::judge(*monerod::parse_info(base, &why), "mainnet", &why), monerod::Health::wrong_chain);
    EXPECT_NE(why.find("fakechain"), std::string::npos) << why;
    r = copy(base);
    r->remove("height");
    EXPECT_FALSE(monerod::parse_info(r, &why));
    EXPECT_EQ(why, "get_info: height is missing");
}

}  // namespace
