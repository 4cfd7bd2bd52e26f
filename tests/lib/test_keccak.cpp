// Known answers for lib/otedama/common/keccak.
//
// Keccak-256/512 with the original padding:
//  - Keccak-256("") = c5d24601...5d85a470: the empty-input hash Ethereum uses everywhere (the Yellow Paper's
//    KEC(()) for empty code, "EMPTY_CODE_HASH" in go-ethereum core/types); Keccak-512("") from the Keccak
//    team's ShortMsgKAT_512.txt (Len = 0).
//  - Keccak-256("abc") from the Keccak team's reference (as ethers.js/web3 keccak256 return it).
// The permutation across several absorbed blocks is checked through SHA3-256/512 (same Keccak-f[1600], SHA-3
// padding 0x06), against NIST FIPS 202 examples: SHA3-256("abc") and the 1600-bit message of 0xA3 bytes
// (NIST "SHA3-256_1600.pdf" / "SHA3-512_1600.pdf" example values).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "otedama/common/hex.hpp"
#include "otedama/common/keccak.hpp"

namespace oc = otedama::common;

namespace {

std::string hex_of(const uint8_t* p, std::size_t n) { return oc::to_hex({p, n}); }

// SHA-3 on top of the same permutation: only the padding byte differs from Keccak.
std::string sha3(const std::vector<uint8_t>& msg, std::size_t rate, std::size_t out_size) {
    uint64_t st[25] = {};
    std::vector<uint8_t> padded = msg;
    padded.push_back(0x06);
    while (padded.size() % rate != 0) padded.push_back(0);
    padded.back() |= 0x80;
    for (std::size_t off = 0; off < padded.size(); off += rate) {
        for (std::size_t i = 0; i < rate / 8; ++i) {
            uint64_t lane = 0;
            std::memcpy(&lane, padded.data() + off + 8 * i, 8);  // little-endian host (x86-64, aarch64)
            st[i] ^= lane;
        }
        oc::keccak_f1600(st);
    }
    uint8_t out[64];
    std::memcpy(out, st, out_size);
    return hex_of(out, out_size);
}

}  // namespace

TEST(Keccak, Keccak256KnownAnswers) {
    uint8_t out[32];
    oc::keccak256(nullptr, 0, out);
    EXPECT_EQ(hex_of(out, 32), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    const char* abc = "abc";
    oc::keccak256(reinterpret_cast<const uint8_t*>(abc), 3, out);
    EXPECT_EQ(hex_of(out, 32), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Keccak, Keccak512KnownAnswers) {
    uint8_t out[64];
    oc::keccak512(nullptr, 0, out);
    EXPECT_EQ(hex_of(out, 64),
              "0eab42de4c3ceb9235fc91acffe746b29c29a8c366b7c60e4e67c466f36a4304"
              "c00fa9caf9d87976ba469bcbe06713b435f091ef2769fb160cdab33d3670680e");
}

TEST(Keccak, PermutationMatchesFips202Examples) {
    EXPECT_EQ(sha3({'a', 'b', 'c'}, 136, 32), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
    const std::vector<uint8_t> a3(200, 0xA3);
    EXPECT_EQ(sha3(a3, 136, 32), "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
    EXPECT_EQ(sha3(a3, 72, 64),
              "e76dfad22084a8b1467fcf2ffa58361bec7628edf5f3fdc0e4805dc48caeeca8"
              "1b7c13c30adf52a3659584739a2df46be589c51ca1a4a8416df6545a1ce8ba00");
}

TEST(Keccak, SpongeAbsorbsAcrossTheRateBoundary) {
    // Inputs of rate-1, rate and rate+1 bytes must differ from each other and be stable: the padding lands
    // in the same block, exactly fills one, or spills into a second. Compared with the padding done by hand.
    for (std::size_t n : {135u, 136u, 137u, 271u, 272u}) {
        std::vector<uint8_t> msg(n);
        for (std::size_t i = 0; i < n; ++i) msg[i] = static_cast<uint8_t>(i * 7 + 1);
        uint8_t out[32];
        oc::keccak256(msg.data(), msg.size(), out);
        // Manual: Keccak padding 0x01 ... 0x80 with the permutation.
        uint64_t st[25] = {};
        std::vector<uint8_t> padded = msg;
        padded.push_back(0x01);
        while (padded.size() % 136 != 0) padded.push_back(0);
        padded.back() |= 0x80;
        for (std::size_t off = 0; off < padded.size(); off += 136) {
            for (std::size_t i = 0; i < 17; ++i) {
                uint64_t lane = 0;
                std::memcpy(&lane, padded.data() + off + 8 * i, 8);
                st[i] ^= lane;
            }
            oc::keccak_f1600(st);
        }
        EXPECT_EQ(hex_of(out, 32), hex_of(reinterpret_cast<const uint8_t*>(st), 32)) << "length " << n;
    }
}
