// The recorded real templates (tests/lib/bitcoin/fixtures, see the README there: bitcoind 0.15.1 and
// litecoind 0.21.2.1 on regtest) through the bitcoind plugin's template parser and lib/otedama/bitcoin:
//  - our coinbase builder, given the template, the accepted block's payout script, tag and extranonce,
//    reproduces the accepted coinbase byte for byte;
//  - the job's merkle branch folds to the accepted merkle root, the header equals header_hex;
//  - assemble_block() from the template's block_data, the header and the accepted coinbase equals
//    accepted_block_hex byte for byte (tx order, witness coinbase, Litecoin's 01 | mweb suffix);
//  - the witness commitment computed from the template (our own coinbase when the node sends no
//    default_witness_commitment) equals the node's, and the block built that way is the same block;
//  - Litecoin: scrypt(N=1024, r=1, p=1) of the header (RFC 7914 reference) equals pow_hash_scrypt.
#include "gbt.hpp"

#include <otedama/bitcoin/block.hpp>
#include <otedama/bitcoin/merkle.hpp>
#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <scrypt_core.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace b = otedama::bitcoin;
namespace c = otedama::common;
namespace json = otedama::stratum::json;

namespace {

std::string read_file(const std::string& name) {
    std::ifstream in(std::string(BITCOIN_FIXTURES_DIR) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string str(const json::Value& v) {
    std::string s;
    EXPECT_TRUE(v.decode_string(s));
    return s;
}
std::vector<uint8_t> hex(const std::string& s) { return c::from_hex(s).value_or(std::vector<uint8_t>{}); }
std::string display(std::span<const uint8_t> h) {
    std::vector<uint8_t> r(h.rbegin(), h.rend());
    return c::to_hex(r);
}

/// coinbase_layout field's hex.
std::string layout(const json::Value& fixture, std::string_view field) {
    const auto l = fixture.find("coinbase_layout");
    for (uint32_t i = 0; i < l.size(); ++i)
        if (str(l.at(i).find("field")) == field) return str(l.at(i).find("hex"));
    ADD_FAILURE() << "no coinbase_layout field " << field;
    return {};
}

class RecordedTemplate : public ::testing::TestWithParam<const char*> {};

TEST_P(RecordedTemplate, BuilderReproducesTheAcceptedBlock) {
    const std::string text = read_file(GetParam());
    ASSERT_FALSE(text.empty()) << GetParam();
    json::Document doc;
    ASSERT_TRUE(doc.parse(text, otedama::bitcoind::node_reply_limits())) << doc.error();
    const json::Value f = doc.root();
    std::string why;
    const auto tmpl = otedama::bitcoind::parse_block_template(f.find("response"), &why);
    ASSERT_TRUE(tmpl) << why;
    const bool litecoin = std::string_view(GetParam()).starts_with("litecoin");

    // The accepted coinbase's parts, from its field-by-field layout.
    const auto payout = hex(layout(f, "vout[0].script").substr(2));  // without its length byte
    const auto en_push = hex(layout(f, "scriptSig.extranonce"));
    ASSERT_EQ(en_push.size(), 9u);
    const std::vector<uint8_t> extranonce(en_push.begin() + 1, en_push.end());
    const auto tag_push = hex(layout(f, "scriptSig.tag"));
    const std::string tag(tag_push.begin() + 1, tag_push.end());
    EXPECT_EQ(tag, "/fixture/");

    const auto job = b::build_job(*tmpl, payout, static_cast<uint32_t>(extranonce.size()), tag, &why);
    ASSERT_TRUE(job) << why;
    std::vector<uint8_t> coinbase = job->coinbase.coinbase1;
    coinbase.insert(coinbase.end(), extranonce.begin(), extranonce.end());
    coinbase.insert(coinbase.end(), job->coinbase.coinbase2.begin(), job->coinbase.coinbase2.end());
    EXPECT_EQ(c::to_hex(coinbase), str(f.find("coinbase_tx_hex_without_witness")));
    EXPECT_TRUE(job->coinbase_witness);

    // Merkle root through the stratum branch, and the header.
    const auto root = c::coinbase_merkle_root(job->coinbase.coinbase1, extranonce, job->coinbase.coinbase2,
                                              std::span<const uint8_t>(job->merkle_branch.data()->data(), job->merkle_branch.size() * 32));
    ASSERT_TRUE(root);
    EXPECT_EQ(display(*root), str(f.find("merkle_root")));
    const auto cb_info = b::parse_transaction(coinbase);
    ASSERT_TRUE(cb_info);
    std::vector<b::Hash256> all{cb_info->txid};
    for (const auto& tx : tmpl->transactions) all.push_back(tx.txid);
    EXPECT_EQ(display(b::merkle_root(all)), str(f.find("merkle_root")));
    const auto nonce = static_cast<uint32_t>(*f.find("nonce").integer());
    const auto header = c::assemble_bitcoin_header(tmpl->version, tmpl->prev_hash, *root, tmpl->curtime, tmpl->bits, nonce);
    EXPECT_EQ(c::to_hex(header), str(f.find("header_hex")));
    EXPECT_EQ(display(c::sha256d(header)), str(f.find("accepted_block_hash")));

    // The whole block, byte for byte: from our coinbase and from the accepted one (the same bytes).
    const auto block = b::assemble_block(header, coinbase, job->block_data, &why);
    ASSERT_TRUE(block) << why;
    EXPECT_EQ(c::to_hex(*block), str(f.find("accepted_block_hex")));
    const auto accepted_cb = hex(str(f.find("coinbase_tx_hex_without_witness")));
    EXPECT_EQ(b::assemble_block(header, accepted_cb, job->block_data).value_or(std::vector<uint8_t>{}), *block);

    // Witness commitment: ours equals the node's; without default_witness_commitment the same block results.
    EXPECT_EQ(c::to_hex(b::computed_witness_commitment(*tmpl)), str(f.find("witness_commitment_recomputed")));
    EXPECT_EQ(c::to_hex(b::witness_commitment_script(b::computed_witness_commitment(*tmpl))),
              str(f.find("response").find("default_witness_commitment")));
    auto own = *tmpl;
    own.default_witness_commitment.clear();
    const auto own_job = b::build_job(own, payout, 8, tag, &why);
    ASSERT_TRUE(own_job) << why;
    EXPECT_EQ(own_job->commitment_script, job->commitment_script);
    EXPECT_EQ(own_job->coinbase.coinbase2, job->coinbase.coinbase2);
    EXPECT_EQ(own_job->block_data, job->block_data);

    // Transactions in template order; MWEB: the suffix and the HogEx last.
    EXPECT_EQ(tmpl->has_mweb, f.find("response").find("mweb").exists());
    if (tmpl->has_mweb) {
        const std::string blk = c::to_hex(*block);
        EXPECT_TRUE(blk.ends_with("01" + str(f.find("response").find("mweb"))));
        const auto& hogex = tmpl->transactions.back().data;
        EXPECT_EQ(hogex[4], 0x00);
        EXPECT_EQ(hogex[5], 0x08);  // the MWEB serialisation flag
    }
    EXPECT_EQ(tmpl->total_fees(), [&] {
        uint64_t fees = 0;
        const auto txs = f.find("response").find("transactions");
        for (uint32_t i = 0; i < txs.size(); ++i) fees += static_cast<uint64_t>(*txs.at(i).find("fee").integer());
        return fees;
    }());

    if (litecoin) {
        std::array<uint8_t, 32> pow{};
        ASSERT_TRUE(otedama::scrypt::scrypt_reference(header, header, 1024, 1, 1, pow, &why)) << why;
        EXPECT_EQ(display(pow), str(f.find("pow_hash_scrypt")));
        // ... and it meets the template's target (little-endian comparison, as the README says).
        EXPECT_TRUE(c::meets_target(pow, tmpl->target));
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RecordedTemplate,
                         ::testing::Values("bitcoin-regtest-segwit-template.json", "bitcoin-regtest-empty-template.json",
                                           "litecoin-regtest-segwit-template.json", "litecoin-regtest-empty-template.json",
                                           "litecoin-regtest-mweb-template.json", "litecoin-regtest-mweb-nomempool-template.json"),
                         [](const auto& info) {
                             std::string n = info.param;
                             n = n.substr(0, n.find(".json"));
                             for (auto& ch : n)
                                 if (ch == '-') ch = '_';
                             return n;
                         });

TEST(RecordedRejects, TheAcceptedBlockOfTheRejectsRecording) {
    // bitcoin-regtest-submitblock-rejects.json: the unmutated block from templates[1] (extranonce
    // f000000f00000002) that the node accepted.
    const std::string text = read_file("bitcoin-regtest-submitblock-rejects.json");
    json::Document doc;
    ASSERT_TRUE(doc.parse(text, otedama::bitcoind::node_reply_limits())) << doc.error();
    const auto cases = doc.root().find("cases");
    std::string accepted_hex;
    for (uint32_t i = 0; i < cases.size(); ++i)
        if (cases.at(i).find("mutation").is_null()) accepted_hex = str(cases.at(i).find("block_hex"));
    ASSERT_FALSE(accepted_hex.empty());
    std::string why;
    const auto tmpl = otedama::bitcoind::parse_block_template(doc.root().find("templates").at(1), &why);
    ASSERT_TRUE(tmpl) << why;
    const auto block = hex(accepted_hex);
    // The payout script is the coinbase's first output: find it from the accepted block's coinbase.
    const std::span<const uint8_t> header(block.data(), 80);
    const auto payout = hex("0014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d");
    const auto job = b::build_job(*tmpl, payout, 8, "/fixture/", &why);
    ASSERT_TRUE(job) << why;
    std::vector<uint8_t> coinbase = job->coinbase.coinbase1;
    const auto en = hex("f000000f00000002");
    coinbase.insert(coinbase.end(), en.begin(), en.end());
    coinbase.insert(coinbase.end(), job->coinbase.coinbase2.begin(), job->coinbase.coinbase2.end());
    const auto rebuilt = b::assemble_block(header, coinbase, job->block_data, &why);
    ASSERT_TRUE(rebuilt) << why;
    EXPECT_EQ(c::to_hex(*rebuilt), accepted_hex);
}

TEST(TemplateParser, NamesTheBadField) {
    const std::string text = read_file("bitcoin-regtest-segwit-template.json");
    json::Document doc;
    ASSERT_TRUE(doc.parse(text, otedama::bitcoind::node_reply_limits()));
    // Re-serialise the response with one field broken at a time by editing the text.
    const std::string resp(doc.root().find("response").token());
    struct Case {
        std::string from, to, expect;
    };
    const Case kCases[] = {
        {R"("bits": "207fffff")", R"("bits": "207fffffff")", "bits:"},
        {R"("height": 502)", R"("height": "502")", "height: not an integer"},
        {R"("previousblockhash": "6bb2)", R"("previousblockhash": "xbb2)", "previousblockhash: non-hex"},
        {R"("coinbasevalue": 625130900)", R"("coinbasevalue": -1)", "coinbasevalue"},
        {R"("txid": "c37634ab)", R"("txid": "d37634ab)", "transactions[0]: transaction data hashes to a txid other"},
        {"\"depends\": [\n     1", "\"depends\": [\n     7", "is not an earlier transaction"},
        {R"("transactions": [)", R"("transactionz": [)", "transactions: missing"},
    };
    for (const auto& k : kCases) {
        std::string bad = resp;
        const auto pos = bad.find(k.from);
        ASSERT_NE(pos, std::string::npos) << k.from;
        bad.replace(pos, k.from.size(), k.to);
        std::string why;
        EXPECT_FALSE(otedama::bitcoind::parse_block_template_text(bad, &why)) << k.to;
        EXPECT_NE(why.find(k.expect), std::string::npos) << k.to << " -> " << why;
    }
    std::string why;
    EXPECT_FALSE(otedama::bitcoind::parse_block_template_text("[1,2", &why));
    EXPECT_NE(why.find("invalid JSON"), std::string::npos) << why;
}

TEST(SubmitVerdict, Bip22ResultsOfTheRecording) {
    const std::string text = read_file("bitcoin-regtest-submitblock-rejects.json");
    json::Document doc;
    ASSERT_TRUE(doc.parse(text, otedama::bitcoind::node_reply_limits()));
    const auto cases = doc.root().find("cases");
    ASSERT_EQ(cases.size(), 12u);
    int accepted = 0;
    for (uint32_t i = 0; i < cases.size(); ++i) {
        const auto r = cases.at(i).find("submitblock_result");
        const auto v = otedama::bitcoind::submit_verdict(r);
        if (r.is_null()) {
            EXPECT_TRUE(v.accepted);
            ++accepted;
        } else {
            EXPECT_FALSE(v.accepted);
            EXPECT_EQ(v.reason, str(r));
        }
    }
    EXPECT_EQ(accepted, 2);  // the good block and the coinbase-witness-missing surprise
}

}  // namespace
