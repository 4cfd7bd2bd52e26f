// HMAC-SHA-256 / PBKDF2-HMAC-SHA-256 from RFC 2104 and RFC 8018 section 5.2; the SHA-NI kernel from the
// instruction definitions in the Intel 64 and IA-32 Architectures Software Developer's Manual (SHA256RNDS2,
// SHA256MSG1, SHA256MSG2) and the message-schedule identity of FIPS 180-4 section 6.2.2 step 1:
//   W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16],
// where MSG1(W[t-16..t-13], W[t-12..t-9]) supplies W[t-16] + sigma0(W[t-15]) for four t, the caller adds
// W[t-7..t-4], and MSG2 adds sigma1 of the two words before each (including the ones it just made).
#include "otedama/common/pbkdf2_sha256.hpp"

#include "otedama/common/cpu_features.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define OTEDAMA_HAVE_SHANI 1
#endif

namespace otedama::common {
namespace {

void store_be32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

#if OTEDAMA_HAVE_SHANI
// FIPS 180-4 section 4.2.2.
alignas(16) constexpr uint32_t kRound[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

#define OTEDAMA_SHANI_TARGET __attribute__((target("sha,ssse3,sse4.1")))

// SHA256RNDS2 keeps the state as two registers: ABEF (A in the top dword) and CDGH. Each call does two
// rounds with the low 64 bits of its message+constant operand and returns the new ABEF; the old ABEF is
// then the new CDGH, so two calls with the operands swapped do four rounds.
OTEDAMA_SHANI_TARGET void shani_transform(uint32_t* state, const uint8_t* blocks, std::size_t block_count) noexcept {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));      // dwords A B C D (A lowest)
    __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));  // E F G H
    const __m128i badc = _mm_shuffle_epi32(abcd, 0xB1);                          // B A D C
    const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);                          // H G F E
    __m128i abef = _mm_alignr_epi8(badc, hgfe, 8);                               // F E B A (A highest)
    __m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);                            // H G D C

    for (std::size_t b = 0; b < block_count; ++b, blocks += 64) {
        const __m128i abef_in = abef;
        const __m128i cdgh_in = cdgh;
        __m128i w[4];  // w[g % 4] = W[4g .. 4g+3]
#pragma GCC unroll 16
        for (int g = 0; g < 16; ++g) {
            __m128i& cur = w[g & 3];
            if (g < 4) {
                cur = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks + 16 * g)), byte_swap);
            } else {
                // cur holds W[4g-16..], w[(g+1)&3] W[4g-12..], w[(g+2)&3] W[4g-8..], w[(g+3)&3] W[4g-4..].
                const __m128i minus7 = _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4);  // W[4g-7 .. 4g-4]
                cur = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(cur, w[(g + 1) & 3]), minus7),
                                           w[(g + 3) & 3]);
            }
            __m128i wk = _mm_add_epi32(cur, _mm_load_si128(reinterpret_cast<const __m128i*>(kRound + 4 * g)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);  // cdgh now holds the new ABEF
            wk = _mm_shuffle_epi32(wk, 0x0E);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);  // abef (old ABEF = new CDGH) becomes ABEF again
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }

    const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);  // A B E F (A lowest)
    const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);  // G H C D
    abcd = _mm_blend_epi16(feba, ghcd, 0xF0);            // [A, B, C, D]
    efgh = _mm_alignr_epi8(ghcd, feba, 8);               // [E, F, G, H]
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state), abcd);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), efgh);
}

bool cpu_has_shani() noexcept { return cpu_features().sha; }

constexpr Sha256Kernel kShaniKernel{"sha-ni", &shani_transform};

/// The SHA-NI kernel agrees with the scalar one on a few multi-block inputs (FIPS 180-4 answers come
/// through the scalar kernel's own tests).
bool shani_matches_scalar() noexcept {
    uint8_t data[64 * 3];
    for (std::size_t i = 0; i < sizeof data; ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
    for (std::size_t blocks = 1; blocks <= 3; ++blocks) {
        Sha256State a = kSha256InitialState, b = kSha256InitialState;
        a[3] ^= static_cast<uint32_t>(blocks);
        b[3] ^= static_cast<uint32_t>(blocks);
        sha256_scalar_kernel().transform(a.data(), data, blocks);
        shani_transform(b.data(), data, blocks);
        if (a != b) return false;
    }
    return true;
}
#endif

}  // namespace

const Sha256Kernel* sha256_shani_kernel() noexcept {
#if OTEDAMA_HAVE_SHANI
    static const Sha256Kernel* const kernel = cpu_has_shani() && shani_matches_scalar() ? &kShaniKernel : nullptr;
    return kernel;
#else
    return nullptr;
#endif
}

HmacSha256Key hmac_sha256_key(std::span<const uint8_t> key, const Sha256Kernel& kernel) noexcept {
    uint8_t block[kSha256BlockSize] = {};
    if (key.size() > kSha256BlockSize) {
        const Sha256Digest d = sha256(key, kernel);
        std::memcpy(block, d.data(), d.size());
    } else if (!key.empty()) {
        std::memcpy(block, key.data(), key.size());
    }
    HmacSha256Key k{kSha256InitialState, kSha256InitialState};
    uint8_t pad[kSha256BlockSize];
    for (std::size_t i = 0; i < kSha256BlockSize; ++i) pad[i] = block[i] ^ 0x36;
    kernel.transform(k.inner.data(), pad, 1);
    for (std::size_t i = 0; i < kSha256BlockSize; ++i) pad[i] = block[i] ^ 0x5c;
    kernel.transform(k.outer.data(), pad, 1);
    return k;
}

namespace {

/// SHA-256 of (one already compressed 64-byte block) || tail, finished from `state`.
Sha256Digest finish_after_one_block(Sha256State state, std::span<const uint8_t> tail, const Sha256Kernel& kernel) noexcept {
    const uint64_t bits = (uint64_t{kSha256BlockSize} + tail.size()) * 8;
    std::size_t off = 0;
    uint8_t block[kSha256BlockSize];
    while (tail.size() - off >= kSha256BlockSize) {
        kernel.transform(state.data(), tail.data() + off, 1);
        off += kSha256BlockSize;
    }
    const std::size_t rest = tail.size() - off;
    std::memset(block, 0, sizeof block);
    if (rest != 0) std::memcpy(block, tail.data() + off, rest);
    block[rest] = 0x80;
    if (rest >= 56) {
        kernel.transform(state.data(), block, 1);
        std::memset(block, 0, sizeof block);
    }
    store_be32(block + 56, static_cast<uint32_t>(bits >> 32));
    store_be32(block + 60, static_cast<uint32_t>(bits));
    kernel.transform(state.data(), block, 1);
    return sha256_state_to_digest(state);
}

}  // namespace

Sha256Digest hmac_sha256(const HmacSha256Key& key, std::span<const uint8_t> message, const Sha256Kernel& kernel) noexcept {
    const Sha256Digest inner = finish_after_one_block(key.inner, message, kernel);
    return finish_after_one_block(key.outer, inner, kernel);
}

void pbkdf2_hmac_sha256(std::span<const uint8_t> password, std::span<const uint8_t> salt, uint32_t iterations,
                        std::span<uint8_t> out, const Sha256Kernel& kernel) noexcept {
    const HmacSha256Key key = hmac_sha256_key(password, kernel);
    // U_1 = PRF(P, S || INT(i)): the salt's whole blocks are compressed once into the inner state and
    // shared by every output block i.
    Sha256State salted = key.inner;
    const std::size_t whole = salt.size() / kSha256BlockSize * kSha256BlockSize;
    if (whole != 0) kernel.transform(salted.data(), salt.data(), whole / kSha256BlockSize);
    uint8_t tail[kSha256BlockSize + 4];
    const std::size_t tail_size = salt.size() - whole;
    if (tail_size != 0) std::memcpy(tail, salt.data() + whole, tail_size);

    for (uint32_t i = 1; (std::size_t{i} - 1) * 32 < out.size(); ++i) {
        store_be32(tail + tail_size, i);
        // finish_after_one_block counts one block before `tail`; the salted state has 1 + whole/64 blocks.
        Sha256State st = salted;
        const uint64_t prefix = kSha256BlockSize + whole;
        const uint64_t bits = (prefix + tail_size + 4) * 8;
        uint8_t block[2 * kSha256BlockSize] = {};
        std::memcpy(block, tail, tail_size + 4);
        block[tail_size + 4] = 0x80;
        const std::size_t blocks = tail_size + 4 + 1 + 8 <= kSha256BlockSize ? 1 : 2;
        store_be32(block + 64 * blocks - 8, static_cast<uint32_t>(bits >> 32));
        store_be32(block + 64 * blocks - 4, static_cast<uint32_t>(bits));
        kernel.transform(st.data(), block, blocks);
        Sha256Digest u = finish_after_one_block(key.outer, sha256_state_to_digest(st), kernel);
        Sha256Digest t = u;
        for (uint32_t c = 1; c < iterations; ++c) {
            u = hmac_sha256(key, u, kernel);
            for (std::size_t k = 0; k < t.size(); ++k) t[k] ^= u[k];
        }
        const std::size_t at = (std::size_t{i} - 1) * 32;
        std::memcpy(out.data() + at, t.data(), std::min<std::size_t>(32, out.size() - at));
    }
}

}  // namespace otedama::common
