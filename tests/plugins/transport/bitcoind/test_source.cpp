// The bitcoind source's engine (plugins/transport/bitcoind/source.hpp): its configuration, how a node is
// judged, the otd_template_t it posts and the block it submits for a solved job. The solved job is the
// recorded MWEB block of litecoind 0.21.2.1 (tests/lib/bitcoin/fixtures/litecoin-regtest-mweb-template.json):
// the template posted as the host would see it, the header the host would build from it (lib/common's
// bitcoin_header_from_template), and the block handed to submitblock must be the block the node accepted.
#include "source.hpp"

#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/hex.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace bd = otedama::bitcoind;
namespace c = otedama::common;
namespace json = otedama::stratum::json;

namespace {

std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(BITCOIN_FIXTURES_DIR) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const char* kConfig = R"({"daemons":[{"url":"http://127.0.0.1:19443","user":"","pass":"","cookie_file":"/tmp/.cookie","zmq":""},)"
                      R"({"url":"http://127.0.0.1:19444","user":"u","pass":"p","cookie_file":"","zmq":""}],)"
                      R"("payout_address":"QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW","coin":"LTC","poll_interval":"500ms","reserve_size":8})";

bd::NodeFacts regtest_litecoin() {
    bd::NodeFacts f;
    f.chain = "regtest";
    f.blocks = 432;
    f.headers = 432;
    f.best_block_hash = "518a72e761977457af720757a576edd973eb63ddb14a07f73ca8dcd0c10e8459";
    f.connections = 1;
    f.subversion = "/LitecoinCore:0.21.2.1/";
    return f;
}

}  // namespace

TEST(BitcoindConfig, TheNodeSectionAsTheHostHandsItOver) {
    std::string why;
    const auto cfg = bd::parse_config(kConfig, &why);
    ASSERT_TRUE(cfg) << why;
    ASSERT_EQ(cfg->daemons.size(), 2u);
    EXPECT_EQ(cfg->daemons[0].cookie_file, "/tmp/.cookie");
    EXPECT_EQ(cfg->daemons[1].user, "u");
    EXPECT_EQ(cfg->poll_interval_ms, 500u);
    EXPECT_EQ(cfg->reserve_size, 8u);
    EXPECT_EQ(cfg->coin, "LTC");
    EXPECT_EQ(cfg->coinbase_tag, "/otedama/");
}

TEST(BitcoindConfig, BadSettingsAreNamed) {
    struct Case {
        std::string json, expect;
    };
    const Case kCases[] = {
        {R"({"payout_address":"x"})", "node.daemons: no node configured"},
        {R"({"daemons":[{"url":"http://a:1"}]})", "node.payout_address: empty"},
        {R"({"daemons":[{"url":"http://a:1","password":"x"}],"payout_address":"x"})", "daemons[0].password: unknown key"},
        {R"({"daemons":[{}],"payout_address":"x"})", "daemons[0] needs a url"},
        {R"({"daemons":[{"url":"http://a:1"}],"payout_address":"x","reserve_size":1})", "reserve_size must be an integer from 2 to 16"},
        {R"({"daemons":[{"url":"http://a:1"}],"payout_address":"x","poll_interval":"fast"})", "poll_interval must be a duration"},
        {R"({"daemons":[{"url":"http://a:1"}],"payout_address":"x","coin":"DOGE"})", "coin: 'DOGE'"},
        {R"({"daemons":[{"url":"http://a:1"}],"payout_address":"x","colour":"red"})", "node.colour: unknown key"},
        {R"([1])", "not a JSON object"},
    };
    for (const auto& k : kCases) {
        std::string why;
        EXPECT_FALSE(bd::parse_config(k.json, &why)) << k.json;
        EXPECT_NE(why.find(k.expect), std::string::npos) << k.json << " -> " << why;
    }
}

TEST(BitcoindHealth, JudgesTheNode) {
    auto f = regtest_litecoin();
    auto j = bd::judge(f, "", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW");  // the coin from the subversion
    EXPECT_EQ(j.state, bd::NodeState::up) << j.why;
    EXPECT_EQ(c::to_hex(j.payout_script), "a914da4387101c342f5a50234aa9e7d32bb17f4c039387");
    ASSERT_NE(j.network, nullptr);
    EXPECT_STREQ(j.network->name, "litecoin-regtest");

    f.initial_block_download = true;
    f.blocks = 100;
    f.headers = 432;
    j = bd::judge(f, "LTC", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW");
    EXPECT_EQ(j.state, bd::NodeState::syncing);
    EXPECT_NE(j.why.find("initial block download (100 of 432 blocks)"), std::string::npos) << j.why;

    f = regtest_litecoin();
    f.connections = 0;
    j = bd::judge(f, "LTC", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW");
    EXPECT_EQ(j.state, bd::NodeState::no_peers);

    // A mainnet node with a regtest payout address: the wrong chain, by name.
    f = regtest_litecoin();
    f.chain = "main";
    j = bd::judge(f, "LTC", "rltc1qxcucq02kg6vvaxxp77lvfz0ht29w32scdg7k0d");
    EXPECT_EQ(j.state, bd::NodeState::wrong_chain);
    EXPECT_NE(j.why.find("litecoin-main"), std::string::npos) << j.why;
    EXPECT_NE(j.why.find("litecoin-regtest"), std::string::npos) << j.why;

    // A Bitcoin node for a Litecoin address.
    f = regtest_litecoin();
    f.subversion = "/Satoshi:0.15.1/";
    j = bd::judge(f, "", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW");
    EXPECT_EQ(j.state, bd::NodeState::wrong_chain);
    EXPECT_NE(j.why.find("bitcoin-regtest"), std::string::npos) << j.why;

    f.subversion = "/SomethingElse:1.0/";
    j = bd::judge(f, "", "QgW4K1wmTj4kvbQZGFqFdenbiMfZWvRcYW");
    EXPECT_EQ(j.state, bd::NodeState::wrong_chain);
    EXPECT_NE(j.why.find("set node.coin"), std::string::npos) << j.why;

    EXPECT_EQ(bd::state_of_rpc_error(-9), bd::NodeState::no_peers);
    EXPECT_EQ(bd::state_of_rpc_error(-10), bd::NodeState::syncing);
    EXPECT_EQ(bd::state_of_rpc_error(-28), bd::NodeState::syncing);
    EXPECT_FALSE(bd::state_of_rpc_error(-8));
    EXPECT_EQ(bd::algorithm_of_coin("ltc"), "scrypt");
    EXPECT_EQ(bd::algorithm_of_coin("BTC"), "sha256d");
}

TEST(BitcoindSubmit, TheSolvedRecordedJobBecomesTheAcceptedBlock) {
    const std::string text = read_fixture("litecoin-regtest-mweb-template.json");
    json::Document doc;
    ASSERT_TRUE(doc.parse(text, bd::node_reply_limits()));
    std::string why, accepted;
    ASSERT_TRUE(doc.root().find("accepted_block_hex").decode_string(accepted));
    auto tmpl = bd::parse_block_template(doc.root().find("response"), &why);
    ASSERT_TRUE(tmpl) << why;
    auto cfg = *bd::parse_config(kConfig);
    cfg.coinbase_tag = "/fixture/";
    const auto payout = *c::from_hex("0014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d");
    const auto prepared = bd::prepare(*tmpl, payout, cfg, "LTC", "scrypt", "432-1", &why);
    ASSERT_TRUE(prepared) << why;
    const otd_template_t view = prepared->view(OTD_TEMPLATE_CLEAN);
    EXPECT_EQ(view.height, 432u);
    EXPECT_EQ(view.reward, 1250006310u);
    EXPECT_EQ(view.tx_fees, 6310u);
    EXPECT_EQ(view.nbits, 0x207fffffu);
    EXPECT_EQ(view.ntime, 1795241765u);
    EXPECT_EQ(view.extranonce_size, 8u);
    EXPECT_EQ(view.merkle_branch_count, 2u);  // 3 transactions: coinbase, peg-in, HogEx
    EXPECT_STREQ(view.algorithm, "scrypt");
    EXPECT_EQ(view.block_target[31], 0x7f);  // target 7fffff00... read as a little-endian number

    // What the host does with a solution: the header from the template and the extranonce, the coinbase.
    const auto en = *c::from_hex("f000000f00000001");
    const auto header = c::bitcoin_header_from_template(view, en, 0, 0, &why);
    ASSERT_TRUE(header) << why;
    std::vector<uint8_t> coinbase(view.coinbase1, view.coinbase1 + view.coinbase1_size);
    coinbase.insert(coinbase.end(), en.begin(), en.end());
    coinbase.insert(coinbase.end(), view.coinbase2, view.coinbase2 + view.coinbase2_size);
    otd_block_t block{};
    block.struct_size = sizeof block;
    block.tmpl = &view;
    block.header = header->data();
    block.header_size = 80;
    block.coinbase = coinbase.data();
    block.coinbase_size = static_cast<uint32_t>(coinbase.size());
    const auto hex = bd::block_hex_for_submit(block, &why);
    ASSERT_TRUE(hex) << why;
    EXPECT_EQ(*hex, accepted);

    // A block that does not belong to its template is refused by name, never sent.
    auto bad_header = *header;
    bad_header[4] ^= 1;
    block.header = bad_header.data();
    EXPECT_FALSE(bd::block_hex_for_submit(block, &why));
    EXPECT_NE(why.find("previous block hash"), std::string::npos) << why;
    bad_header = *header;
    bad_header[40] ^= 1;
    EXPECT_FALSE(bd::block_hex_for_submit(block, &why));
    EXPECT_NE(why.find("merkle root"), std::string::npos) << why;
    block.header = header->data();
    auto bad_cb = coinbase;
    bad_cb.pop_back();
    block.coinbase = bad_cb.data();
    block.coinbase_size = static_cast<uint32_t>(bad_cb.size());
    EXPECT_FALSE(bd::block_hex_for_submit(block, &why));
    EXPECT_NE(why.find("coinbase is not coinbase1"), std::string::npos) << why;
    block.coinbase = coinbase.data();
    block.coinbase_size = static_cast<uint32_t>(coinbase.size());
    block.header_size = 79;
    EXPECT_FALSE(bd::block_hex_for_submit(block, &why));
    EXPECT_NE(why.find("not 80"), std::string::npos) << why;
}

TEST(BitcoindSubmit, WhichRejectsEndAParent) {
    // The reasons of bitcoin-regtest-submitblock-rejects.json and the ones of a block on a stale parent.
    for (const char* r : {"duplicate", "inconclusive", "prev-blk-not-found", "bad-prevblk"}) EXPECT_TRUE(bd::parent_is_spent(r)) << r;
    for (const char* r : {"high-hash", "bad-txnmrklroot", "bad-witness-merkle-match", "bad-cb-amount", "bad-cb-length", "bad-diffbits",
                          "time-too-old", "time-too-new"})
        EXPECT_FALSE(bd::parent_is_spent(r)) << r;
}

TEST(BitcoindConfig, MinDifficultyHardensOnlyAnEasierTarget) {
    const std::string text = read_fixture("litecoin-regtest-empty-template.json");
    json::Document doc;
    ASSERT_TRUE(doc.parse(text, bd::node_reply_limits()));
    const auto tmpl = bd::parse_block_template(doc.root().find("response"));
    ASSERT_TRUE(tmpl);
    const auto payout = *c::from_hex("0014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d");
    std::string why;
    auto cfg = bd::parse_config(std::string(kConfig).insert(1, R"("min_difficulty":"1e-6",)"), &why);
    ASSERT_TRUE(cfg) << why;
    EXPECT_DOUBLE_EQ(cfg->min_difficulty, 1e-6);
    // Regtest's target (difficulty 4.66e-10) is easier: the floor's target is posted instead.
    auto p = bd::prepare(*tmpl, payout, *cfg, "LTC", "scrypt", "153-1");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->block_target, *c::bitcoin_target_from_difficulty(1e-6));
    otd_template_t view = p->view(0);
    EXPECT_NEAR(c::bitcoin_difficulty_from_target(std::to_array(view.block_target)), 1e-6, 1e-12);
    // A floor below the network's difficulty changes nothing.
    cfg->min_difficulty = 1e-12;
    p = bd::prepare(*tmpl, payout, *cfg, "LTC", "scrypt", "153-1");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->block_target, tmpl->target);
    EXPECT_FALSE(bd::parse_config(std::string(kConfig).insert(1, R"("min_difficulty":-1,)"), &why));
    EXPECT_NE(why.find("min_difficulty must be a number"), std::string::npos) << why;
}
