// Tests for lib/otedama/common/sha256.hpp.
//
// Known answers:
//  - NIST FIPS 180-2, Appendix B (SHA-256 examples), also in the CSRC "Cryptographic Algorithm Validation
//    Program" example files: "abc" (B.1), the 448-bit message "abcdbcdecdefdefg..." (B.2) and one million
//    repetitions of 'a' (B.3); the empty message is SHAVS SHA256ShortMsg.rsp "Len = 0".
//  - FIPS 180-4 examples (NIST CSRC "SHA256.pdf", two-block message): the 896-bit message "abcdefghbcdefghi...".
//  - Bitcoin mainnet block headers (public facts of the block chain; see tests/plugins/algorithm for the
//    citations): the genesis header double-hashes to 000000000019d6689c...8ce26f (display order).
//  - Lengths around the padding boundaries (55/56/63/64/65/119/120/128 x 'a'): computed with Python's hashlib
//    (OpenSSL) as an independent implementation; marked "computed locally".
#include "otedama/common/sha256.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "otedama/common/hex.hpp"

namespace {

using namespace otedama::common;

std::span<const uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string hash_hex(std::string_view message) { return to_hex(sha256(bytes_of(message))); }

TEST(Sha256, NistFips180Examples) {
    EXPECT_EQ(hash_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hash_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hash_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, EmptyMessage) {
    EXPECT_EQ(hash_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Fips180_4TwoBlockMessage) {
    EXPECT_EQ(hash_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, PaddingBoundaries) {
    // Computed locally with Python hashlib.
    const std::pair<size_t, const char*> cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    for (const auto& [n, expected] : cases) EXPECT_EQ(hash_hex(std::string(n, 'a')), expected) << n << " x 'a'";
}

TEST(Sha256, StreamingMatchesOneShotAtEverySplit) {
    std::string message;
    for (int i = 0; i < 200; ++i) message += static_cast<char>('A' + i % 53);
    const Sha256Digest expected = sha256(bytes_of(message));
    Sha256 h;
    for (size_t split = 0; split <= message.size(); ++split) {
        h.update(std::string_view(message).substr(0, split));
        h.update(std::string_view(message).substr(split));
        ASSERT_EQ(h.finalize(), expected) << "split at " << split;  // finalize() also resets
    }
    for (const char c : message) h.update(std::string_view(&c, 1));
    EXPECT_EQ(h.finalize(), expected) << "byte by byte";
}

TEST(Sha256, ResetDiscardsInput) {
    Sha256 h;
    h.update(std::string_view("garbage"));
    h.reset();
    h.update(std::string_view("abc"));
    EXPECT_EQ(to_hex(h.finalize()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, RawTransformOnOnePaddedBlock) {
    // "abc" padded by hand (FIPS 180-4 5.1.1): one block; the raw transform from H(0) gives the digest.
    std::array<uint8_t, 64> block{};
    block[0] = 'a';
    block[1] = 'b';
    block[2] = 'c';
    block[3] = 0x80;
    block[63] = 24;  // length in bits
    Sha256State state = kSha256InitialState;
    sha256_transform(state, block);
    EXPECT_EQ(to_hex(sha256_state_to_digest(state)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // FIPS 180-2 B.1 lists the final words H0..H7.
    EXPECT_EQ(state[0], 0xba7816bfu);
    EXPECT_EQ(state[7], 0xf20015adu);
}

TEST(Sha256, KernelIsNamed) {
    EXPECT_STREQ(sha256_scalar_kernel().name, "scalar");
    EXPECT_EQ(&sha256_default_kernel(), &sha256_scalar_kernel());
}

TEST(Sha256d, KnownValues) {
    // Computed locally (Python hashlib); sha256d("") is also Bitcoin's well-known hash of empty data.
    EXPECT_EQ(to_hex(sha256d(bytes_of(""))), "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456");
    EXPECT_EQ(to_hex(sha256d(bytes_of("abc"))), "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358");
}

// Bitcoin block headers (internal byte order) and their hashes in display order.
constexpr const char* kGenesisHeader =
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f61"
    "7fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
constexpr const char* kGenesisHash = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
constexpr const char* kBlock125552Header =
    "0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae"
    "710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695";
constexpr const char* kBlock125552Hash = "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d";

TEST(Sha256d, BlockHeaders) {
    for (const auto& [header_hex, hash_hex_display] :
         {std::pair{kGenesisHeader, kGenesisHash}, std::pair{kBlock125552Header, kBlock125552Hash}}) {
        const auto header = from_hex(header_hex);
        ASSERT_TRUE(header);
        Sha256Digest d = sha256d(*header);
        reverse_bytes(d);
        EXPECT_EQ(to_hex(d), hash_hex_display);
    }
}

TEST(Sha256d, MidstatePathMatchesFullHash) {
    for (const char* header_hex : {kGenesisHeader, kBlock125552Header}) {
        const auto header = from_hex(header_hex);
        ASSERT_TRUE(header && header->size() == 80);
        const std::span<const uint8_t, 80> h(header->data(), 80);

        // The midstate is the raw state after the first 64 bytes ...
        Sha256State mid = kSha256InitialState;
        sha256_transform(mid, h.first<64>());
        EXPECT_EQ(sha256_midstate(h.first<64>()), mid);

        // ... and hashing from it reproduces sha256d for the header's own nonce and for others.
        Sha256dHeader80 hasher(h);
        EXPECT_EQ(hasher.midstate(), mid);
        const uint32_t own_nonce = uint32_t{h[76]} | (uint32_t{h[77]} << 8) | (uint32_t{h[78]} << 16) | (uint32_t{h[79]} << 24);
        EXPECT_EQ(hasher.hash_with_nonce(own_nonce), sha256d(h));
        for (const uint32_t nonce : {0u, 1u, 0xffffffffu, 0x12345678u}) {
            std::vector<uint8_t> copy(header->begin(), header->end());
            copy[76] = static_cast<uint8_t>(nonce);
            copy[77] = static_cast<uint8_t>(nonce >> 8);
            copy[78] = static_cast<uint8_t>(nonce >> 16);
            copy[79] = static_cast<uint8_t>(nonce >> 24);
            EXPECT_EQ(hasher.hash_with_nonce(nonce), sha256d(copy)) << nonce;
        }
    }
}

}  // namespace
