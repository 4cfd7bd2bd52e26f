// What a new Bitcoin-family block costs the bitcoind job source before miners get the next job: parsing a
// getblocktemplate answer (every transaction re-hashed for its txid/wtxid), building the job (coinbase, merkle
// branch, block_data) and assembling the block for submitblock. The template is the recorded bitcoind regtest
// template (tests/lib/bitcoin/fixtures/bitcoin-regtest-segwit-template.json) with its 6 transactions repeated
// to a mainnet-sized 3000 (about 1.1 MB of transaction data), and the unchanged 6-transaction one.
#include "gbt.hpp"

#include <otedama/bitcoin/block.hpp>
#include <otedama/common/hex.hpp>

#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

namespace bd = otedama::bitcoind;
namespace b = otedama::bitcoin;
namespace json = otedama::stratum::json;

namespace {

/// The recorded template's response with its transactions repeated to `count`.
std::string template_text(std::size_t count) {
    std::ifstream in(std::string(BITCOIN_FIXTURES_DIR) + "/bitcoin-regtest-segwit-template.json");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    json::Document doc;
    if (!doc.parse(text, bd::node_reply_limits())) return {};
    std::string resp(doc.root().find("response").token());
    const auto txs = doc.root().find("response").find("transactions");
    std::vector<std::string> one;
    for (uint32_t i = 0; i < txs.size(); ++i) {
        std::string t(txs.at(i).token());
        // depends index into the list: drop them (repeated transactions would point at the wrong copies).
        const auto d = t.find("\"depends\"");
        if (d != std::string::npos) {
            const auto close = t.find(']', d);
            t.replace(d, close - d + 1, "\"depends\": []");
        }
        one.push_back(t);
    }
    std::string list = "[";
    for (std::size_t i = 0; i < count; ++i) {
        if (i != 0) list += ",";
        list += one[i % one.size()];
    }
    list += "]";
    const auto start = resp.find("\"transactions\"");
    const auto open = resp.find('[', start);
    const std::string original(txs.token());
    resp.replace(open, original.size(), list);
    return resp;
}

const std::vector<uint8_t> kPayout = *otedama::common::from_hex("0014d22d0ac7bc31fa70c23dcf8c84be6cbb82ca603d");

void BM_ParseTemplate(benchmark::State& state) {
    const std::string text = template_text(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto t = bd::parse_block_template_text(text);
        if (!t) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(t);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseTemplate)->Arg(6)->Arg(3000)->Unit(benchmark::kMicrosecond);

void BM_BuildJob(benchmark::State& state) {
    const auto tmpl = bd::parse_block_template_text(template_text(static_cast<std::size_t>(state.range(0))));
    if (!tmpl) {
        state.SkipWithError("parse failed");
        return;
    }
    for (auto _ : state) {
        auto job = b::build_job(*tmpl, kPayout, 8, "/otedama/");
        benchmark::DoNotOptimize(job);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BuildJob)->Arg(6)->Arg(3000)->Unit(benchmark::kMicrosecond);

void BM_AssembleBlock(benchmark::State& state) {
    const auto tmpl = bd::parse_block_template_text(template_text(static_cast<std::size_t>(state.range(0))));
    const auto job = tmpl ? b::build_job(*tmpl, kPayout, 8, "/otedama/") : std::nullopt;
    if (!job) {
        state.SkipWithError("no job");
        return;
    }
    std::vector<uint8_t> coinbase = job->coinbase.coinbase1;
    coinbase.insert(coinbase.end(), 8, 0x5a);
    coinbase.insert(coinbase.end(), job->coinbase.coinbase2.begin(), job->coinbase.coinbase2.end());
    const std::vector<uint8_t> header(80, 0);
    for (auto _ : state) {
        auto block = b::assemble_block(header, coinbase, job->block_data);
        benchmark::DoNotOptimize(block);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AssembleBlock)->Arg(6)->Arg(3000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
