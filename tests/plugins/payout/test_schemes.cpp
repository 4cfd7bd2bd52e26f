// Property tests for every payout scheme plugin (PPLNS, PROP, SOLO, PPS, FPPS) through the C ABI, as the
// host calls them: seeded random share histories, rewards and fees, many iterations.
//   - credits sum to exactly the amount paid out (block_reward for block schemes; the share's expected value
//     for per-share schemes), the fee credit is floor(amount * fee_ppm / 1e6), the rest goes to miners;
//   - PROP/PPLNS give each account its exact pro-rata part rounded down or up by less than one unit, and
//     nothing to an account without a share in the request (the window);
//   - SOLO pays the finder; PPS pays floor(subsidy * weight / network_weight), FPPS the same with the fees;
//   - deterministic: the same request (even with its strings at other addresses) gives the same credits.
#include "plugin_harness.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace th = otedama::testing;
__extension__ typedef unsigned __int128 u128;

struct Scheme {
    const char* path;
    const char* id;
    const char* name;
    uint32_t window;
};
const Scheme kSchemes[] = {
    {OTEDAMA_PPLNS_PLUGIN, "org.otedama.payout.pplns", "PPLNS", OTD_PAYOUT_WINDOW_TIME},
    {OTEDAMA_PROP_PLUGIN, "org.otedama.payout.prop", "PROP", OTD_PAYOUT_WINDOW_ROUND},
    {OTEDAMA_SOLO_PLUGIN, "org.otedama.payout.solo", "SOLO", OTD_PAYOUT_WINDOW_FINDER},
    {OTEDAMA_PPS_PLUGIN, "org.otedama.payout.pps", "PPS", OTD_PAYOUT_WINDOW_SHARE},
    {OTEDAMA_FPPS_PLUGIN, "org.otedama.payout.fpps", "FPPS", OTD_PAYOUT_WINDOW_SHARE},
};

struct Credit {
    std::string account;
    uint64_t amount;
    bool is_fee;
    bool operator==(const Credit&) const = default;
};

/// A request that owns its strings and shares.
struct Request {
    std::vector<std::string> names;
    struct Share {
        size_t account;
        uint64_t weight;
        uint64_t network_weight;
    };
    std::vector<Share> shares;
    uint64_t reward = 0;
    uint64_t tx_fees = 0;
    uint32_t fee_ppm = 0;
    size_t finder = 0;
    std::string fee_account = "pool-operator";

    std::vector<otd_payout_share_t> built;
    otd_payout_request_t c{};

    const otd_payout_request_t& build() {
        built.clear();
        for (size_t i = 0; i < shares.size(); ++i) {
            otd_payout_share_t s{};
            s.struct_size = sizeof s;
            s.account = names[shares[i].account].c_str();
            s.weight = shares[i].weight;
            s.network_weight = shares[i].network_weight;
            s.time_ms = 1'790'000'000'000 + static_cast<int64_t>(i);
            s.share_id = i + 1;
            built.push_back(s);
        }
        c = {};
        c.struct_size = sizeof c;
        c.fee_ppm = fee_ppm;
        c.coin = "BTC";
        c.fee_account = fee_account.c_str();
        c.finder = names[finder].c_str();
        c.block_reward = reward;
        c.tx_fees = tx_fees;
        c.block_time_ms = 1'790'000'100'000;
        c.shares = built.data();
        c.share_count = built.size();
        return c;
    }
};

class Schemes : public ::testing::Test {
protected:
    struct Loaded {
        th::FakeHost host{"{}"};
        th::PluginInstance instance;
        const otd_payout_t* table = nullptr;
    };

    void SetUp() override {
        for (const Scheme& s : kSchemes) {
            auto& l = loaded_[s.name];
            l = std::make_unique<Loaded>();
            th::CreateResult r = th::create_instance(s.path, s.id, OTD_PAYOUT_INTERFACE_ID, l->host);
            ASSERT_TRUE(r.ok()) << s.name << ": " << r.describe();
            l->instance = std::move(r.instance);
            l->table = &l->instance.table<otd_payout_t>();
        }
    }

    std::vector<Credit> compute(const char* scheme, Request& req, otd_status_t* status = nullptr, std::string* error = nullptr) {
        Loaded& l = *loaded_.at(scheme);
        const otd_payout_request_t& c = req.build();
        uint64_t count = 0;
        th::ErrorBuffer err;
        otd_status_t st = l.table->compute(l.instance.plugin(), &c, nullptr, 0, &count, err.text, sizeof err.text);
        std::vector<otd_credit_t> raw;
        if (st == OTD_ERR_BUFFER_TOO_SMALL) {
            otd_credit_t blank{};
            blank.struct_size = sizeof blank;
            raw.assign(count, blank);
            st = l.table->compute(l.instance.plugin(), &c, raw.data(), raw.size(), &count, err.text, sizeof err.text);
        }
        if (status != nullptr) *status = st;
        if (error != nullptr) *error = err.str();
        std::vector<Credit> out;
        if (st != OTD_OK) {
            if (status == nullptr) ADD_FAILURE() << scheme << " compute failed: " << st << " " << err.str();
            return out;
        }
        for (const otd_credit_t& credit : raw) {
            EXPECT_GT(credit.amount, 0u) << scheme << ": zero credits are not emitted";
            out.push_back({credit.account, credit.amount, credit.is_fee != 0});
        }
        return out;
    }

    std::map<std::string, std::unique_ptr<Loaded>> loaded_;
};

TEST_F(Schemes, EachAsksForItsWindow) {
    for (const Scheme& s : kSchemes) {
        Loaded& l = *loaded_.at(s.name);
        EXPECT_STREQ(l.table->scheme, s.name);
        otd_payout_window_t w{};
        w.struct_size = sizeof w;
        ASSERT_EQ(l.table->get_window(l.instance.plugin(), &w), OTD_OK) << s.name;
        EXPECT_EQ(w.type, s.window) << s.name;
        EXPECT_EQ(w.pays_tx_fees, std::string(s.name) == "FPPS" ? 1u : 0u) << s.name;
    }
}

TEST_F(Schemes, SchemesWithoutSettingsRefuseAnyKeyNamingIt) {
    for (const Scheme& s : kSchemes) {
        if (std::string(s.name) == "PPLNS") continue;  // has its own settings (test_pplns.cpp)
        th::FakeHost host("{\"window\":\"2h\"}");
        const th::CreateResult r = th::create_instance(s.path, s.id, OTD_PAYOUT_INTERFACE_ID, host);
        ASSERT_FALSE(r.ok()) << s.name;
        EXPECT_EQ(r.status, OTD_ERR_INVALID_ARG) << s.name;
        EXPECT_NE(r.message.find("window"), std::string::npos) << s.name << ": " << r.message;
    }
}

// Hand-worked cases.
TEST_F(Schemes, HandWorkedExamples) {
    // PROP: 1000 units, fee 1 % = 10; 990 over weights 1:2 -> 330 and 660.
    Request r;
    r.names = {"a", "b"};
    r.shares = {{0, 1, 0}, {1, 2, 0}};
    r.reward = 1000;
    r.fee_ppm = 10'000;
    EXPECT_EQ(compute("PROP", r), (std::vector<Credit>{{"pool-operator", 10, true}, {"a", 330, false}, {"b", 660, false}}));
    // 991 over 1:1:1 (fee 0) would be 330.33 each: 331, 330, 330 (the leftover unit to the first to appear).
    r.names = {"a", "b", "c"};
    r.shares = {{0, 5, 0}, {1, 5, 0}, {2, 5, 0}};
    r.reward = 991;
    r.fee_ppm = 0;
    EXPECT_EQ(compute("PROP", r), (std::vector<Credit>{{"a", 331, false}, {"b", 330, false}, {"c", 330, false}}));
    // SOLO: finder "c" takes 991 - floor(991 * 2 %) = 991 - 19 = 972.
    r.finder = 2;
    r.fee_ppm = 20'000;
    EXPECT_EQ(compute("SOLO", r), (std::vector<Credit>{{"pool-operator", 19, true}, {"c", 972, false}}));
    // PPS: reward 6.25 BTC + 0.5 BTC fees; a share of difficulty 1 against network difficulty 1000 (weights x1000):
    // subsidy 625,000,000 / 1000 = 625,000; fee 2 % = 12,500. FPPS: 675,000,000 / 1000 = 675,000; fee 13,500.
    Request p;
    p.names = {"miner"};
    p.shares = {{0, 1000, 1'000'000}};
    p.reward = 675'000'000;
    p.tx_fees = 50'000'000;
    p.fee_ppm = 20'000;
    EXPECT_EQ(compute("PPS", p), (std::vector<Credit>{{"pool-operator", 12'500, true}, {"miner", 612'500, false}}));
    EXPECT_EQ(compute("FPPS", p), (std::vector<Credit>{{"pool-operator", 13'500, true}, {"miner", 661'500, false}}));
    // Rounding down: 1 unit of reward at weight 1/3 is worth 0 (no credit at all).
    p.shares = {{0, 1, 3}};
    p.reward = 1;
    p.tx_fees = 0;
    EXPECT_TRUE(compute("PPS", p).empty());
}

TEST_F(Schemes, PerShareSchemesRefuseWindowsAndBadNumbers) {
    Request p;
    p.names = {"a", "b"};
    p.shares = {{0, 10, 100}, {1, 10, 100}};
    p.reward = 1000;
    otd_status_t st = OTD_OK;
    std::string err;
    (void)compute("PPS", p, &st, &err);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.find("exactly one share"), std::string::npos) << err;
    p.shares = {{0, 10, 0}};
    (void)compute("FPPS", p, &st, &err);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.find("network_weight 0"), std::string::npos) << err;
    p.shares = {{0, 10, 100}};
    p.tx_fees = 1001;
    (void)compute("PPS", p, &st, &err);
    EXPECT_EQ(st, OTD_ERR_INVALID_ARG);
    EXPECT_NE(err.find("tx_fees"), std::string::npos) << err;
}

// The central property, for every scheme: nothing is created or lost, the fee rule is exact, and the result
// depends on the request only.
TEST_F(Schemes, RandomHistoriesCreditExactlyWhatIsPaidOutAndAreDeterministic) {
    std::mt19937_64 rng(0x1ED6E4);  // fixed seed: reproducible
    for (int trial = 0; trial < 2000; ++trial) {
        Request r;
        const size_t accounts = 1 + rng() % 12;
        for (size_t a = 0; a < accounts; ++a) r.names.push_back("acct-" + std::to_string(trial) + "-" + std::to_string(a));
        const size_t shares = 1 + rng() % 60;
        for (size_t s = 0; s < shares; ++s) {
            const uint64_t network = 1 + (rng() >> (1 + rng() % 62));
            const uint64_t weight = 1 + rng() % (trial % 5 == 0 ? network * 3 : network);  // some shares are blocks
            r.shares.push_back({rng() % accounts, weight, network});
        }
        r.reward = trial % 11 == 0 ? std::numeric_limits<uint64_t>::max() - rng() % 1000 : rng() >> (rng() % 64);
        r.tx_fees = r.reward == 0 ? 0 : rng() % (r.reward / 4 + 1);
        r.fee_ppm = static_cast<uint32_t>(trial % 17 == 0 ? 0 : trial % 17 == 1 ? 1'000'000 : rng() % 50'001);
        r.finder = rng() % accounts;

        for (const Scheme& s : kSchemes) {
            const bool per_share = s.window == OTD_PAYOUT_WINDOW_SHARE;
            Request req = r;
            if (per_share) req.shares.resize(1);
            otd_status_t st = OTD_OK;
            std::string err;
            const std::vector<Credit> credits = compute(s.name, req, &st, &err);
            if (per_share && req.shares[0].weight > req.shares[0].network_weight) {
                // Worth more than a block: fine unless the value leaves 64 bits.
                const uint64_t base = std::string(s.name) == "FPPS" ? req.reward : req.reward - req.tx_fees;
                const u128 v = u128{base} * req.shares[0].weight / req.shares[0].network_weight;
                if (v > std::numeric_limits<uint64_t>::max()) {
                    EXPECT_EQ(st, OTD_ERR_INVALID_ARG) << s.name;
                    continue;
                }
            }
            ASSERT_EQ(st, OTD_OK) << s.name << " trial " << trial << ": " << err;

            // What is paid out: a block's reward, or one share's expected value.
            uint64_t amount = req.reward;
            if (per_share) {
                const uint64_t base = std::string(s.name) == "FPPS" ? req.reward : req.reward - req.tx_fees;
                amount = static_cast<uint64_t>(u128{base} * req.shares[0].weight / req.shares[0].network_weight);
            }
            const uint64_t fee = static_cast<uint64_t>(u128{amount} * req.fee_ppm / 1'000'000);
            u128 sum = 0, miners = 0;
            uint64_t fee_paid = 0;
            std::map<std::string, uint64_t> paid;
            for (const Credit& c : credits) {
                sum += c.amount;
                if (c.is_fee) {
                    EXPECT_EQ(c.account, req.fee_account);
                    fee_paid += c.amount;
                } else {
                    miners += c.amount;
                    paid[c.account] += c.amount;
                }
            }
            ASSERT_EQ(sum, u128{amount}) << s.name << " trial " << trial << ": credits must sum to exactly what is paid out";
            EXPECT_EQ(fee_paid, fee) << s.name << " trial " << trial;
            EXPECT_EQ(miners, u128{amount - fee}) << s.name << " trial " << trial << ": miners get reward - fee";

            // Who may be paid: only accounts with a share in the request (SOLO: the finder only).
            for (const auto& [account, value] : paid) {
                if (std::string(s.name) == "SOLO") {
                    EXPECT_EQ(account, req.names[req.finder]);
                } else {
                    bool has_share = false;
                    for (const auto& sh : req.shares) has_share = has_share || req.names[sh.account] == account;
                    EXPECT_TRUE(has_share) << s.name << ": " << account << " has no share in the window";
                }
            }
            // Pro-rata schemes: each account within one unit of its exact part.
            if (s.window == OTD_PAYOUT_WINDOW_TIME || s.window == OTD_PAYOUT_WINDOW_ROUND) {
                std::map<std::string, u128> weight;
                u128 total = 0;
                for (const auto& sh : req.shares) {
                    weight[req.names[sh.account]] += sh.weight;
                    total += sh.weight;
                }
                // rest * w fits 128 bits only for small enough numbers; check those exactly.
                for (const auto& [account, w] : weight) {
                    if (w >> 60 != 0 || (amount - fee) >> 62 != 0) continue;
                    const u128 exact = u128{amount - fee} * w;
                    const u128 floor_part = exact / total;
                    const uint64_t got = paid.count(account) ? paid[account] : 0;
                    EXPECT_TRUE(got == floor_part || got == floor_part + 1) << s.name << " " << account;
                }
            }

            // Deterministic: the same request again, with every string copied to another address.
            Request copy = req;
            for (auto& n : copy.names) n = std::string(n.begin(), n.end()) + "";
            copy.fee_account = std::string(req.fee_account);
            EXPECT_EQ(compute(s.name, copy), credits) << s.name << " trial " << trial;
        }
    }
}

}  // namespace
