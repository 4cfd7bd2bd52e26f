// Tests for plugins/payout/pplns, through the C ABI as the host calls it (see plugin_harness.hpp).
// The expected credits of the hand-computed cases are worked out in the comments next to them.
#include "plugin_harness.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#ifndef OTEDAMA_PPLNS_PLUGIN
#error "OTEDAMA_PPLNS_PLUGIN must name the built payout-pplns module"
#endif

namespace {
/// An empty credit with struct_size set, as the host hands credits to compute().
otd_credit_t sdk_credit() {
    otd_credit_t c{};
    c.struct_size = sizeof c;
    return c;
}
}  // namespace

namespace {

namespace th = otedama::testing;
__extension__ typedef unsigned __int128 u128;

constexpr const char* kPluginId = "org.otedama.payout.pplns";
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

/// A request whose strings and shares it owns.
struct Request {
    Request() = default;
    Request(std::vector<std::string> names_, std::vector<std::pair<size_t, uint64_t>> shares_, uint64_t reward_,
            uint32_t fee_ppm_ = 0)
        : names(std::move(names_)), shares(std::move(shares_)), reward(reward_), fee_ppm(fee_ppm_) {}

    std::vector<std::string> names;  // account names, indexed by the shares below
    std::vector<std::pair<size_t, uint64_t>> shares;  // (account index, weight), oldest first
    uint64_t reward = 0;
    uint32_t fee_ppm = 0;
    std::string fee_account = "pool-operator";

    std::vector<otd_payout_share_t> built;
    otd_payout_request_t c{};

    const otd_payout_request_t& build() {
        built.clear();
        for (size_t i = 0; i < shares.size(); ++i) {
            otd_payout_share_t s{};
            s.struct_size = sizeof s;
            s.account = names[shares[i].first].c_str();
            s.weight = shares[i].second;
            s.time_ms = 1'700'000'000'000 + static_cast<int64_t>(i);
            s.share_id = i + 1;
            built.push_back(s);
        }
        c = {};
        c.struct_size = sizeof c;
        c.fee_ppm = fee_ppm;
        c.coin = "BTC";
        c.fee_account = fee_account.c_str();
        c.finder = names.empty() ? nullptr : names[0].c_str();
        c.block_reward = reward;
        c.block_time_ms = 1'700'000'100'000;
        c.shares = built.data();
        c.share_count = built.size();
        return c;
    }
};

struct Credit {
    std::string account;
    uint64_t amount;
    bool is_fee;
    bool operator==(const Credit&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Credit& c) {
    return os << "{" << c.account << ", " << c.amount << (c.is_fee ? ", fee" : "") << "}";
}

class Pplns : public ::testing::Test {
protected:
    /// Create an instance with `config`; fails the test if it does not start.
    void start(const std::string& config = "{}") {
        host_.set_config(config);
        th::CreateResult r = th::create_instance(OTEDAMA_PPLNS_PLUGIN, kPluginId, OTD_PAYOUT_INTERFACE_ID, host_);
        ASSERT_TRUE(r.ok()) << r.describe();
        instance_ = std::move(r.instance);
        payout_ = &instance_.table<otd_payout_t>();
    }
    /// The init() error for `config` (empty when it started).
    std::string refusal(const std::string& config) {
        th::FakeHost host(config);
        const th::CreateResult r = th::create_instance(OTEDAMA_PPLNS_PLUGIN, kPluginId, OTD_PAYOUT_INTERFACE_ID, host);
        if (r.ok()) return "";
        EXPECT_EQ(r.step, "plugin-init") << r.describe();
        EXPECT_EQ(r.status, OTD_ERR_INVALID_ARG) << r.describe();
        return r.message;
    }
    otd_payout_window_t window() {
        otd_payout_window_t w{};
        w.struct_size = sizeof w;
        EXPECT_EQ(payout_->get_window(instance_.plugin(), &w), OTD_OK);
        return w;
    }
    /// compute() with the two-call buffer protocol; checks the ABI invariants every result must keep.
    std::vector<Credit> compute(Request& req, otd_status_t* status = nullptr, std::string* error = nullptr) {
        const otd_payout_request_t& c = req.build();
        uint64_t count = 0;
        th::ErrorBuffer err;
        otd_status_t st = payout_->compute(instance_.plugin(), &c, nullptr, 0, &count, err.text, sizeof err.text);
        std::vector<otd_credit_t> raw;
        if (st == OTD_ERR_BUFFER_TOO_SMALL) {
            raw.assign(count, sdk_credit());  // the caller sets struct_size on every element (payout.h)
            st = payout_->compute(instance_.plugin(), &c, raw.data(), raw.size(), &count, err.text, sizeof err.text);
            EXPECT_EQ(count, raw.size());
        }
        if (status != nullptr) *status = st;
        if (error != nullptr) *error = err.str();
        std::vector<Credit> out;
        if (st != OTD_OK) {
            if (status == nullptr) ADD_FAILURE() << "compute failed: " << st << " " << err.str();
            return out;
        }
        uint64_t sum = 0;
        for (const otd_credit_t& credit : raw) {
            EXPECT_EQ(credit.struct_size, sizeof(otd_credit_t));
            EXPECT_GT(credit.amount, 0u) << "zero credits are not emitted";
            // The account pointer must point at a string of the request.
            bool from_request = credit.account == c.fee_account;
            for (const auto& s : req.built) from_request = from_request || credit.account == s.account;
            EXPECT_TRUE(from_request) << credit.account;
            EXPECT_FALSE(__builtin_add_overflow(sum, credit.amount, &sum));
            out.push_back({credit.account, credit.amount, credit.is_fee != 0});
        }
        EXPECT_EQ(sum, req.reward) << "credits sum to exactly the block reward";
        return out;
    }

    th::FakeHost host_;
    th::PluginInstance instance_;
    const otd_payout_t* payout_ = nullptr;
};

// ---------------------------------------------------------------------------------------------------------
// Configuration

TEST_F(Pplns, DefaultWindowIsTwoHoursOfTime) {
    start();
    EXPECT_STREQ(payout_->scheme, "PPLNS");
    const otd_payout_window_t w = window();
    EXPECT_EQ(w.struct_size, sizeof w);
    EXPECT_EQ(w.type, OTD_PAYOUT_WINDOW_TIME);
    EXPECT_EQ(w.duration_ms, 2u * 3600 * 1000);
    EXPECT_EQ(w.work_multiple, 0u);
    EXPECT_EQ(w.pays_tx_fees, 0u);
}

TEST_F(Pplns, DescriptorAndTable) {
    const auto descriptors = th::open_library(OTEDAMA_PPLNS_PLUGIN).descriptors();
    ASSERT_EQ(descriptors.size(), 1u);
    EXPECT_EQ(descriptors[0]->kind, OTD_KIND_PAYOUT);
    EXPECT_STREQ(descriptors[0]->id, kPluginId);
    EXPECT_STREQ(descriptors[0]->name, "pplns");
    EXPECT_STREQ(descriptors[0]->interface_id, OTD_PAYOUT_INTERFACE_ID);
    start();
    EXPECT_EQ(payout_->struct_size, sizeof(otd_payout_t));
    EXPECT_EQ(instance_.plugin()->self_test, nullptr) << "optional for payout plugins";
}

TEST_F(Pplns, TimeWindows) {
    const std::pair<const char*, uint64_t> cases[] = {
        {R"({"window":"30m"})", 1'800'000},
        {R"({"window":"45s"})", 45'000},
        {R"({"window":"1h30m"})", 5'400'000},
        {R"({"window":"1d","window_type":"time"})", 86'400'000},
        {R"({"window":"90"})", 90'000},
        {R"({"window":600})", 600'000},
    };
    for (const auto& [config, ms] : cases) {
        start(config);
        const otd_payout_window_t w = window();
        EXPECT_EQ(w.type, OTD_PAYOUT_WINDOW_TIME) << config;
        EXPECT_EQ(w.duration_ms, ms) << config;
    }
}

TEST_F(Pplns, WorkWindows) {
    start(R"({"window_type":"work"})");
    otd_payout_window_t w = window();
    EXPECT_EQ(w.type, OTD_PAYOUT_WINDOW_WORK);
    EXPECT_EQ(w.work_multiple, 2u);
    EXPECT_EQ(w.duration_ms, 0u);
    start(R"({"window_type":"work","work_multiple":5})");
    w = window();
    EXPECT_EQ(w.work_multiple, 5u);
}

TEST_F(Pplns, BadConfigurationRefusesToStartNamingTheKey) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"windw":"2h"})", "windw: unknown key"},
        {R"({"window":"2x"})", "window: expected a duration such as 500ms, 30s, 2h or 1d, got \"2x\""},
        {R"({"window":"0s"})", "window: must be longer than 0"},
        {R"({"window":-5})", "window: expected a duration"},
        {R"({"window":1.5})", "window: expected a duration"},
        {R"({"window":true})", "window: expected a duration"},
        {R"({"window_type":"blocks"})", "window_type: expected \"time\" or \"work\", got \"blocks\""},
        {R"({"window_type":1})", "window_type: expected \"time\" or \"work\", got 1"},
        {R"({"window_type":"work","work_multiple":0})", "work_multiple: expected an integer from 1 to 1000, got 0"},
        {R"({"window_type":"work","work_multiple":"3"})", "work_multiple: expected an integer from 1 to 1000, got \"3\""},
        {R"({"window_type":"work","work_multiple":2.5})", "work_multiple: expected an integer"},
        {R"({"window_type":"work","work_multiple":1001})", "work_multiple: expected an integer"},
        {R"({"window_type":"work","window":"2h"})", "window: applies only to window_type \"time\""},
        {R"({"work_multiple":3})", "work_multiple: applies only to window_type \"work\""},
        {R"({"window":{"h":2}})", "window: expected a duration such as \"2h\", \"30m\" or \"45s\", got an object or array"},
        {R"({"window":"2h",})", "invalid JSON at position 15"},
        {R"(["window"])", "invalid JSON at position 0"},
    };
    for (const auto& [config, expected] : cases) {
        const std::string message = refusal(config);
        EXPECT_NE(message.find(expected), std::string::npos) << config << " -> " << message;
        EXPECT_EQ(message.rfind("pplns configuration: ", 0), 0u) << message;
    }
}

TEST_F(Pplns, LongConfigurationIsReadThroughTheBufferProtocol) {
    // More than the SDK's first 256-byte buffer: exercises get_config's BUFFER_TOO_SMALL path.
    start(R"({"window":"2h","window_type":"time")" + std::string(400, ' ') + "}");
    EXPECT_EQ(window().duration_ms, 7'200'000u);
}

// ---------------------------------------------------------------------------------------------------------
// The remainder rule, hand-computed

TEST_F(Pplns, EqualWeightsLeftoverGoesToTheEarliest) {
    start();
    // 10 / 3 = 3 each, remainders 1, 1, 1; one unit left -> the earliest account (a).
    Request r{{"a", "b", "c"}, {{0, 1}, {1, 1}, {2, 1}}, 10};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 4, false}, {"b", 3, false}, {"c", 3, false}}));
    // 11 / 3: two units left -> a and b.
    r.reward = 11;
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 4, false}, {"b", 4, false}, {"c", 3, false}}));
}

TEST_F(Pplns, LargestRemainderWins) {
    start();
    // W = 7. a: 100*1/7 = 14 r 2; b: 100*2/7 = 28 r 4; c: 100*4/7 = 57 r 1. Sum 99, one left -> b (r 4).
    Request r{{"a", "b", "c"}, {{0, 1}, {1, 2}, {2, 4}}, 100};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 14, false}, {"b", 29, false}, {"c", 57, false}}));
}

TEST_F(Pplns, WeightsAreSummedPerAccountInOrderOfFirstAppearance) {
    start();
    // Shares b:1, a:2, b:1 -> b weighs 2 (first), a weighs 2. 7*2/4 = 3 r 2 each; one left -> b (earlier).
    Request r{{"a", "b"}, {{1, 1}, {0, 2}, {1, 1}}, 7};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"b", 4, false}, {"a", 3, false}}));
}

TEST_F(Pplns, AccountsAreComparedByNameNotByPointer) {
    start();
    // Two distinct strings with the same text are one account.
    Request r{{"same", "same", "other"}, {{0, 1}, {1, 1}, {2, 2}}, 8};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"same", 4, false}, {"other", 4, false}}));
}

TEST_F(Pplns, FeeComesFirstThenTheRestProRata) {
    start();
    // 1.5%: fee = floor(1000 * 15000 / 1e6) = 15; rest 985 / 3 = 328 r 1 each; one left -> a.
    Request r{{"a", "b", "c"}, {{0, 5}, {1, 5}, {2, 5}}, 1000, 15000};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"pool-operator", 15, true}, {"a", 329, false}, {"b", 328, false}, {"c", 328, false}}));
}

TEST_F(Pplns, ZeroFeeEmitsNoFeeCredit) {
    start();
    Request r{{"a", "b"}, {{0, 3}, {1, 1}}, 400, 0};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 300, false}, {"b", 100, false}}));
    r.fee_account = "";  // not needed without a fee
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 300, false}, {"b", 100, false}}));
}

TEST_F(Pplns, FullFeeGoesEntirelyToTheOperator) {
    start();
    Request r{{"a", "b"}, {{0, 3}, {1, 1}}, 123456789, 1'000'000};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"pool-operator", 123456789, true}}));
}

TEST_F(Pplns, TinyRewardAndZeroReward) {
    start();
    // 1 unit among 3 equal accounts: the earliest gets it, the others get nothing (and no credit).
    Request r{{"a", "b", "c"}, {{0, 1}, {1, 1}, {2, 1}}, 1};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 1, false}}));
    r.reward = 0;
    EXPECT_TRUE(compute(r).empty());
}

TEST_F(Pplns, ZeroWeightSharesCountForNothing) {
    start();
    Request r{{"a", "b"}, {{0, 0}, {1, 5}}, 50};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"b", 50, false}}));
}

// ---------------------------------------------------------------------------------------------------------
// Large numbers

TEST_F(Pplns, HugeRewardAndWeightsDoNotOverflow) {
    start();
    // W = 3 * (2^64 - 1), a has two thirds. 2^64 - 1 = 3 * 6148914691236517205 exactly, so no remainder.
    Request r{{"a", "b"}, {{0, kMax}, {1, kMax}, {0, kMax}}, kMax};
    EXPECT_EQ(compute(r), (std::vector<Credit>{{"a", 12297829382473034410ull, false}, {"b", 6148914691236517205ull, false}}));

    // Odd split: reward 2^64 - 1 between two equal huge accounts: 2^63 - 1 r (W/2) each; one left -> a.
    Request half{{"a", "b"}, {{0, kMax}, {0, kMax}, {1, kMax}, {1, kMax}}, kMax};
    EXPECT_EQ(compute(half), (std::vector<Credit>{{"a", (1ull << 63), false}, {"b", (1ull << 63) - 1, false}}));

    // A dust account next to a whale: 1 / (2^64 - 1 + 1) of (2^64 - 1) is below one unit (remainder 2^64 - 1
    // of W = 2^64); the whale's remainder is 1, so the single leftover unit goes to the dust account.
    Request dust{{"whale", "dust"}, {{0, kMax}, {1, 1}}, kMax};
    EXPECT_EQ(compute(dust), (std::vector<Credit>{{"whale", kMax - 1, false}, {"dust", 1, false}}));

    // With a 1% fee on the largest reward.
    Request fee{{"a", "b", "c"}, {{0, kMax}, {1, kMax - 1}, {2, 12345}, {0, kMax}}, kMax, 10000};
    const auto credits = compute(fee);
    ASSERT_FALSE(credits.empty());
    EXPECT_EQ(credits[0], (Credit{"pool-operator", static_cast<uint64_t>((u128{kMax} * 10000) / 1'000'000), true}));
}

// ---------------------------------------------------------------------------------------------------------
// Properties over random windows

/// The exact pro-rata shares of `rest` for 128-bit-safe inputs: floor and remainder per account.
TEST_F(Pplns, RandomWindowsSumExactlyAndFollowTheRule) {
    start();
    std::mt19937_64 rng(0x07EDA3A);  // fixed seed: reproducible
    for (int trial = 0; trial < 3000; ++trial) {
        const size_t accounts = 1 + rng() % 40;
        const size_t shares = 1 + rng() % 300;
        Request r;
        for (size_t a = 0; a < accounts; ++a) r.names.push_back("acct" + std::to_string(a));
        const bool huge = trial % 10 == 0;  // some trials with weights near 2^64
        for (size_t s = 0; s < shares; ++s) {
            const uint64_t w = huge ? kMax - rng() % 1000 : rng() % 1'000'000;
            r.shares.emplace_back(rng() % accounts, w);
        }
        r.reward = (trial % 7 == 0) ? kMax - rng() % 100 : rng() >> (rng() % 64);
        r.fee_ppm = static_cast<uint32_t>(rng() % 50'001);
        if (trial % 50 == 0) r.fee_ppm = 0;
        if (trial % 50 == 1) r.fee_ppm = 1'000'000;

        otd_status_t st = OTD_OK;
        std::string err;
        const std::vector<Credit> credits = compute(r, &st, &err);  // checks the exact sum
        uint64_t total_weight_check = 0;
        bool any_weight = false;
        for (const auto& s : r.shares) any_weight = any_weight || s.second != 0;
        if (!any_weight) {
            EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
            continue;
        }
        ASSERT_EQ(st, OTD_OK) << err;
        static_cast<void>(total_weight_check);

        // Independent check with 128-bit arithmetic where it suffices (weights < 2^20, so rest * w < 2^84).
        if (huge) continue;
        const uint64_t fee = static_cast<uint64_t>((u128{r.reward} * r.fee_ppm) / 1'000'000);
        const uint64_t rest = r.reward - fee;
        std::map<std::string, u128> weight;
        std::vector<std::string> order;
        u128 total = 0;
        for (const auto& [a, w] : r.shares) {
            if (!weight.count(r.names[a])) order.push_back(r.names[a]);
            weight[r.names[a]] += w;
            total += w;
        }
        std::map<std::string, uint64_t> paid;
        for (const auto& c : credits) {
            if (c.is_fee) {
                EXPECT_EQ(c.amount, fee);
            } else {
                paid[c.account] += c.amount;
            }
        }
        // Each account gets floor or floor + 1 of its exact share; whoever got +1 has a remainder at least as
        // large as anyone who did not (ties: earlier first appearance).
        u128 min_bumped = ~u128{0};
        size_t min_bumped_pos = 0;
        u128 max_unbumped = 0;
        size_t max_unbumped_pos = 0;
        bool any_unbumped = false;
        for (size_t pos = 0; pos < order.size(); ++pos) {
            const u128 exact = u128{rest} * static_cast<uint64_t>(weight[order[pos]]);
            const uint64_t floor_share = static_cast<uint64_t>(exact / total);
            const u128 remainder = exact % total;
            const uint64_t got = paid[order[pos]];
            ASSERT_TRUE(got == floor_share || got == floor_share + 1) << order[pos] << " got " << got << " floor " << floor_share;
            if (got == floor_share + 1) {
                ASSERT_NE(remainder, 0u);
                if (remainder < min_bumped || (remainder == min_bumped && pos > min_bumped_pos)) {
                    min_bumped = remainder;
                    min_bumped_pos = pos;
                }
            } else if (remainder > max_unbumped || (remainder == max_unbumped && !any_unbumped)) {
                max_unbumped = remainder;
                max_unbumped_pos = pos;
                any_unbumped = true;
            }
        }
        if (any_unbumped && min_bumped != ~u128{0}) {
            ASSERT_TRUE(min_bumped > max_unbumped || (min_bumped == max_unbumped && min_bumped_pos < max_unbumped_pos))
                << "trial " << trial;
        }
    }
}

TEST_F(Pplns, Deterministic) {
    start();
    std::mt19937_64 rng(42);
    Request r;
    for (int a = 0; a < 25; ++a) r.names.push_back("miner-" + std::to_string(a));
    for (int s = 0; s < 1000; ++s) r.shares.emplace_back(rng() % 25, 1 + rng() % 100'000);
    r.reward = 625'000'000 + 12'345'678;
    r.fee_ppm = 15000;
    const auto first = compute(r);
    const auto second = compute(r);
    EXPECT_EQ(first, second);
    // A second instance computes the same too (no hidden state).
    th::FakeHost other_host;
    th::CreateResult other = th::create_instance(OTEDAMA_PPLNS_PLUGIN, kPluginId, OTD_PAYOUT_INTERFACE_ID, other_host);
    ASSERT_TRUE(other.ok()) << other.describe();
    payout_ = &other.instance.table<otd_payout_t>();
    std::swap(instance_, other.instance);
    EXPECT_EQ(compute(r), first);
}

// ---------------------------------------------------------------------------------------------------------
// The ABI protocol and refusals

TEST_F(Pplns, BufferTooSmallWritesNothingAndSaysHowMany) {
    start();
    Request r{{"a", "b", "c"}, {{0, 1}, {1, 1}, {2, 1}}, 1000, 15000};
    const otd_payout_request_t& c = r.build();
    std::vector<otd_credit_t> credits(4, sdk_credit());
    for (auto& credit : credits) credit.amount = 0xdeadbeef;
    uint64_t count = 0;
    th::ErrorBuffer err;
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, credits.data(), 3, &count, err.text, sizeof err.text),
              OTD_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(count, 4u);
    for (const auto& credit : credits) EXPECT_EQ(credit.amount, 0xdeadbeefu) << "nothing written";
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, nullptr, 0, &count, err.text, sizeof err.text), OTD_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(count, 4u);
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, credits.data(), 4, &count, err.text, sizeof err.text), OTD_OK);
    EXPECT_EQ(count, 4u);
    EXPECT_EQ(credits[0].amount, 15u);
    // Room to spare is fine; only `count` credits are meaningful.
    std::vector<otd_credit_t> more(10, sdk_credit());
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, more.data(), more.size(), &count, err.text, sizeof err.text), OTD_OK);
    EXPECT_EQ(count, 4u);
}

TEST_F(Pplns, NoSharesIsAnError) {
    start();
    Request r;
    r.reward = 100;
    otd_status_t st = OTD_OK;
    std::string error;
    compute(r, &st, &error);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_EQ(error, "no shares in the window");
}

TEST_F(Pplns, Refusals) {
    start();
    otd_status_t st = OTD_OK;
    std::string error;

    Request zero{{"a"}, {{0, 0}, {0, 0}}, 100};
    compute(zero, &st, &error);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_EQ(error, "every share in the window has weight 0");

    Request fee{{"a"}, {{0, 1}}, 100, 1'000'001};
    compute(fee, &st, &error);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_NE(error.find("fee above 100%"), std::string::npos) << error;

    Request no_fee_account{{"a"}, {{0, 1}}, 100, 10000};
    no_fee_account.fee_account = "";
    compute(no_fee_account, &st, &error);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_NE(error.find("fee_account"), std::string::npos) << error;

    // A share without an account, and one of a different struct size, named by index.
    Request r{{"a", "b"}, {{0, 1}, {1, 1}, {0, 1}}, 100};
    otd_payout_request_t c = r.build();
    r.built[2].account = nullptr;
    uint64_t count = 0;
    th::ErrorBuffer err;
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, nullptr, 0, &count, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(err.str(), "share 2 has no account");
    c = r.build();
    r.built[1].struct_size = 8;
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, nullptr, 0, &count, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.str().find("share 1 has struct_size 8"), std::string::npos) << err.str();

    // Malformed calls.
    c = r.build();
    EXPECT_EQ(payout_->compute(instance_.plugin(), nullptr, nullptr, 0, &count, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, nullptr, 0, nullptr, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
    c.shares = nullptr;
    EXPECT_EQ(payout_->compute(instance_.plugin(), &c, nullptr, 0, &count, err.text, sizeof err.text), OTD_ERR_INVALID_ARG);
}

}  // namespace
