// Tests for the scrypt plugin's internal library (plugins/algorithm/scrypt/scrypt_core.hpp) and the
// PBKDF2 / HMAC / SHA-NI pieces of lib/otedama/common/pbkdf2_sha256.hpp it is built on.
//
// Vectors:
//  - Salsa20/8 core: RFC 7914 section 8 (input and output given as bytes, read as little-endian words).
//  - PBKDF2-HMAC-SHA256: RFC 7914 section 11 ("passwd"/"salt", c = 1 and "Password"/"NaCl", c = 80000).
//  - HMAC-SHA256: RFC 4231 test cases 1, 2 and 6 (key longer than a block).
//  - scrypt: RFC 7914 section 12, the first three vectors (the fourth, N = 2^20, needs 1 GiB and seconds:
//    DISABLED_ below); also collected in the project's pow-vectors.json "scrypt_rfc7914" with the Tarsnap
//    test_scrypt.good citation. Extra (N, r, p) combinations computed locally with Python's hashlib.scrypt
//    (OpenSSL), an independent implementation; marked "computed locally".
//  - Litecoin headers: see test_scrypt.cpp (Litecoin genesis; Litecoin src/test/scrypt_tests.cpp).
#include "scrypt_core.hpp"

#include <otedama/common/hex.hpp>
#include <otedama/common/pbkdf2_sha256.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace common = otedama::common;
namespace scrypt = otedama::scrypt;

std::vector<uint8_t> hex(std::string_view h) {
    std::string error;
    auto v = common::from_hex(h, &error);
    if (!v) throw std::runtime_error("bad test vector: " + error);
    return *v;
}
std::span<const uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

struct AlignedScratch {
    explicit AlignedScratch(std::size_t bytes)
        : data(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64))) {}
    ~AlignedScratch() { std::free(data); }
    uint8_t* data;
};

TEST(ScryptCore, Salsa20_8Rfc7914Section8) {
    const auto in = hex(
        "7e879a214f3ec9867ca940e641718f26baee555b8c61c1b50df846116dcd3b1dee24f319df9b3d8514121e4b5ac5aa3276021d2909c74829"
        "edebc68db8b8c25e");
    uint32_t b[16];
    for (int i = 0; i < 16; ++i) {
        const uint8_t* p = in.data() + 4 * i;
        b[i] = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
    }
    scrypt::salsa20_8(b);
    std::vector<uint8_t> out(64);
    for (int i = 0; i < 16; ++i) {
        for (int k = 0; k < 4; ++k) out[static_cast<size_t>(4 * i + k)] = static_cast<uint8_t>(b[i] >> (8 * k));
    }
    EXPECT_EQ(common::to_hex(out),
              "a41f859c6608cc993b81cacb020cef05044b2181a2fd337dfd7b1c6396682f29b4393168e3c9e6bcfe6bc5b7a06d96bae424cc102c91745c"
              "24ad673dc7618f81");
}

std::vector<const common::Sha256Kernel*> sha_kernels() {
    std::vector<const common::Sha256Kernel*> k{&common::sha256_scalar_kernel()};
    if (common::sha256_shani_kernel() != nullptr) k.push_back(common::sha256_shani_kernel());
    return k;
}

TEST(ScryptCore, Pbkdf2HmacSha256Rfc7914Section11) {
    for (const common::Sha256Kernel* k : sha_kernels()) {
        SCOPED_TRACE(k->name);
        std::vector<uint8_t> out(64);
        common::pbkdf2_hmac_sha256(bytes_of("passwd"), bytes_of("salt"), 1, out, *k);
        EXPECT_EQ(common::to_hex(out),
                  "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845"
                  "b1e30bd509112041d3a19783");
        common::pbkdf2_hmac_sha256(bytes_of("Password"), bytes_of("NaCl"), 80000, out, *k);
        EXPECT_EQ(common::to_hex(out),
                  "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bde"
                  "bba1d078478f62b397f33c8d");
    }
}

TEST(ScryptCore, HmacSha256Rfc4231) {
    for (const common::Sha256Kernel* k : sha_kernels()) {
        SCOPED_TRACE(k->name);
        const std::vector<uint8_t> key1(20, 0x0b);
        EXPECT_EQ(common::to_hex(common::hmac_sha256(common::hmac_sha256_key(key1, *k), bytes_of("Hi There"), *k)),
                  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        EXPECT_EQ(common::to_hex(common::hmac_sha256(common::hmac_sha256_key(bytes_of("Jefe"), *k),
                                                     bytes_of("what do ya want for nothing?"), *k)),
                  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        const std::vector<uint8_t> key6(131, 0xaa);
        EXPECT_EQ(common::to_hex(common::hmac_sha256(common::hmac_sha256_key(key6, *k),
                                                     bytes_of("Test Using Larger Than Block-Size Key - Hash Key First"), *k)),
                  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}

TEST(ScryptCore, ShaNiKernelMatchesScalarOnEveryLength) {
    const common::Sha256Kernel* shani = common::sha256_shani_kernel();
    if (shani == nullptr) GTEST_SKIP() << "this CPU has no SHA extensions";
    EXPECT_STREQ(shani->name, "sha-ni");
    std::vector<uint8_t> data(300);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
    for (size_t n = 0; n <= data.size(); ++n) {
        const std::span<const uint8_t> m(data.data(), n);
        ASSERT_EQ(common::sha256(m, *shani), common::sha256(m, common::sha256_scalar_kernel())) << n;
    }
}

struct ScryptVector {
    const char* password;
    const char* salt;
    uint64_t n;
    uint32_t r, p;
    const char* derived_hex;
};
const ScryptVector kRfc7914[] = {
    {"", "", 16, 1, 1,
     "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e2"
     "0c38d18906"},
    {"password", "NaCl", 1024, 8, 16,
     "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cb"
     "dfa2cc0640"},
    {"pleaseletmein", "SodiumChloride", 16384, 8, 1,
     "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf01"
     "7b45575887"},
};
// Computed locally with Python hashlib.scrypt (OpenSSL).
const ScryptVector kLocal[] = {
    {"password", "NaCl", 16, 1, 1,
     "aec6b7483ed26e08802b41f4032086a0e886be7ac48fcfd92ff0cef8109752f4ac74b077263256a65a99701b7a304d46611c8aa391e799ce10a277"
     "53e7e9c09a"},
    {"password", "NaCl", 32, 2, 3, "c62ff3f4666a9c3a23373b5195b1d902bc12b3e2b9575989bae714374eb7bb8b870e2f3f45ccf13f"},
    {"", "", 1024, 1, 1, "b34ab7cd1ce0c308146ab970fa75517bcf20f95c7ed7a34efc0d5f096469b2e1"},
};

void expect_vector(const ScryptVector& v) {
    SCOPED_TRACE(std::string(v.password) + "/" + v.salt + " N=" + std::to_string(v.n));
    std::vector<uint8_t> out(std::strlen(v.derived_hex) / 2);
    std::string error;
    ASSERT_TRUE(scrypt::scrypt_reference(bytes_of(v.password), bytes_of(v.salt), v.n, v.r, v.p, out, &error)) << error;
    EXPECT_EQ(common::to_hex(out), v.derived_hex);
}

TEST(ScryptCore, ReferenceRfc7914Section12) {
    for (const auto& v : kRfc7914) expect_vector(v);
}
TEST(ScryptCore, ReferenceOtherParameters) {
    for (const auto& v : kLocal) expect_vector(v);
}
TEST(ScryptCore, DISABLED_ReferenceRfc7914OneGibibyte) {
    expect_vector({"pleaseletmein", "SodiumChloride", 1048576, 8, 1,
                   "2101cb9b6a511aaeaddbbe09cf70f881ec568d574a2ffd4dabe5ee9820adaa478e56fd8f4ba5d09ffa1c6d927c40f4c337304049"
                   "e8a952fbcbf45c6fa77a41a4"});
}

TEST(ScryptCore, ReferenceRefusesBadParameters) {
    std::vector<uint8_t> out(32);
    std::string error;
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, 1000, 1, 1, out, &error));
    EXPECT_NE(error.find("power of two"), std::string::npos) << error;
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, 1, 1, 1, out, &error));
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, 16, 0, 1, out, &error));
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, 16, 1, 0, out, &error));
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, 16, 1u << 15, 1u << 15, out, &error));
    EXPECT_NE(error.find("2^30"), std::string::npos) << error;
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, uint64_t{1} << 30, 8, 1, out, &error));
    EXPECT_NE(error.find("1 GiB"), std::string::npos) << error;
    std::vector<uint8_t> none;
    EXPECT_FALSE(scrypt::scrypt_reference({}, {}, 16, 1, 1, none, &error));
}

TEST(ScryptCore, KernelListStartsWithScalar) {
    const auto kernels = scrypt::romix_kernels();
    ASSERT_FALSE(kernels.empty());
    EXPECT_EQ(kernels[0], &scrypt::scalar_romix_kernel());
    EXPECT_STREQ(kernels[0]->name, "scalar");
    EXPECT_EQ(scrypt::find_romix_kernel("scalar"), kernels[0]);
    EXPECT_EQ(scrypt::find_romix_kernel("avx9000"), nullptr);
    for (const auto* k : kernels) {
        EXPECT_LE(k->lanes, scrypt::kMaxLanes) << k->name;
        EXPECT_GE(k->scratch_bytes, size_t{k->lanes} * 128 * scrypt::kLitecoinN) << k->name;
    }
}

/// Every kernel: ROMix of distinct blocks in every lane equals the scalar kernel's, lane by lane.
TEST(ScryptCore, EveryKernelMatchesScalarRomixInEveryLane) {
    const scrypt::RomixKernel& scalar = scrypt::scalar_romix_kernel();
    for (const auto* k : scrypt::romix_kernels()) {
        if (!k->cpu_supported()) {
            std::cout << "[  SKIPPED ] kernel " << k->name << ": this CPU lacks it\n";
            continue;
        }
        SCOPED_TRACE(k->name);
        AlignedScratch scratch(k->scratch_bytes);
        std::vector<uint32_t> x(scrypt::kBlockWords * k->lanes);
        uint32_t s = 12345;
        for (auto& w : x) w = s = s * 1664525u + 1013904223u;
        std::vector<uint32_t> want = x;
        for (uint32_t lane = 0; lane < k->lanes; ++lane) scalar.romix(want.data() + scrypt::kBlockWords * lane, scratch.data);
        k->romix(x.data(), scratch.data);
        EXPECT_EQ(x, want);
    }
}

/// Litecoin headers through LitecoinHasher on every kernel and every batch size equal the generic
/// reference scrypt(header, header, 1024, 1, 1, 32).
TEST(ScryptCore, LitecoinHasherMatchesTheReference) {
    auto header = hex(
        "020000004c1271c211717198227392b029a64a7971931d351b387bb80db027f270411e398a07046f7d4a08dd815412a8712f874a7ebf0507"
        "e3878bd24e20a3b73fd750a667d2f451eac7471b00de6659");
    constexpr uint32_t kFirst = 1499913728u - 5;  // vector 0's nonce is in lane 5
    std::vector<std::array<uint8_t, 32>> want(scrypt::kMaxLanes);
    for (uint32_t i = 0; i < scrypt::kMaxLanes; ++i) {
        const uint32_t nonce = kFirst + i;
        for (int b = 0; b < 4; ++b) header[76 + static_cast<size_t>(b)] = static_cast<uint8_t>(nonce >> (8 * b));
        ASSERT_TRUE(scrypt::scrypt_reference(header, header, 1024, 1, 1, want[i]));
    }
    EXPECT_EQ(common::to_hex(want[5]), "065898d7ab2daa8235cdda9511d248f3010b5e11f682f80741ef2b0000000000");

    for (const common::Sha256Kernel* sha : sha_kernels()) {
        const scrypt::LitecoinHasher hasher(std::span<const uint8_t, 80>(header.data(), 80), *sha);
        for (const auto* k : scrypt::romix_kernels()) {
            if (!k->cpu_supported()) continue;
            SCOPED_TRACE(std::string(k->name) + " + " + sha->name);
            AlignedScratch scratch(k->scratch_bytes);
            for (uint32_t count : {1u, k->lanes / 2 + 1, k->lanes}) {
                uint8_t out[scrypt::kMaxLanes][32];
                hasher.hash_batch(*k, kFirst, count, scratch.data, out);
                for (uint32_t i = 0; i < count; ++i) {
                    EXPECT_EQ(common::to_hex(out[i]), common::to_hex(want[i])) << "count " << count << " lane " << i;
                }
            }
        }
    }
}

}  // namespace
