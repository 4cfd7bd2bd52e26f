// etc/examples/bitcoind.yaml and litecoind.yaml: `otedama-host config check` accepts each as shipped, and what
// an operator changes is all there is to change: the pool serves stratum on 3333 from pool.source bitcoind,
// mines the coin's algorithm, and the payout address decodes on the coin's main network (lib/otedama/bitcoin).
#include <otedama/bitcoin/address.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
namespace b = otedama::bitcoin;

namespace {

struct Result {
    int code = -1;
    std::string out;
};

Result run(const std::string& args) {
    Result r;
    FILE* p = ::popen((std::string(OTEDAMA_HOST) + " " + args + " 2>&1").c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string value_of(const std::string& yaml, const std::string& key) {
    const std::regex re("\\n\\s*" + key + ":\\s*([^\\s#]+)");
    std::smatch m;
    return std::regex_search(yaml, m, re) ? m[1].str() : std::string();
}

class Example : public ::testing::TestWithParam<std::tuple<const char*, const char*, const char*>> {};

TEST_P(Example, PassesConfigCheckAndFitsItsCoin) {
    const auto [file, coin, algorithm] = GetParam();
    const fs::path path = fs::path(OTEDAMA_SOURCE_ROOT) / "etc" / "examples" / file;
    ASSERT_TRUE(fs::exists(path)) << path;
    const Result r = run("config check '" + path.string() + "'");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(": ok"), std::string::npos) << r.out;

    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string yaml = ss.str();
    EXPECT_EQ(value_of(yaml, "source"), "bitcoind");
    EXPECT_EQ(value_of(yaml, "address"), "0.0.0.0:3333");
    EXPECT_EQ(value_of(yaml, "algorithm"), algorithm);
    EXPECT_EQ(value_of(yaml, "coin"), coin);
    const std::string payout = value_of(yaml, "payout_address");
    const b::Network* main = b::find_network(coin, "main");
    ASSERT_NE(main, nullptr);
    std::string why;
    EXPECT_TRUE(b::decode_address(*main, payout, &why)) << payout << ": " << why;
    // The three things to change are documented at the top.
    for (const char* doc : {"node.daemons[0].url", "cookie_file", "node.payout_address"}) EXPECT_NE(yaml.find(doc), std::string::npos) << doc;
}

INSTANTIATE_TEST_SUITE_P(Examples, Example,
                         ::testing::Values(std::make_tuple("bitcoind.yaml", "BTC", "sha256d"),
                                           std::make_tuple("litecoind.yaml", "LTC", "scrypt")));

}  // namespace
