// SHA-256 as specified in FIPS PUB 180-4, "Secure Hash Standard" (NIST, August 2015):
// constants K from section 4.2.2, functions from section 4.1.2, padding from section 5.1.1,
// the computation from section 6.2.2. Written from the specification.
#include "otedama/common/sha256.hpp"

#include <algorithm>
#include <cstring>

namespace otedama::common {
namespace {

// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

constexpr uint32_t rotr(uint32_t x, int n) noexcept { return (x >> n) | (x << (32 - n)); }
constexpr uint32_t ch(uint32_t x, uint32_t y, uint32_t z) noexcept { return (x & y) ^ (~x & z); }
constexpr uint32_t maj(uint32_t x, uint32_t y, uint32_t z) noexcept { return (x & y) ^ (x & z) ^ (y & z); }
constexpr uint32_t big_sigma0(uint32_t x) noexcept { return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22); }
constexpr uint32_t big_sigma1(uint32_t x) noexcept { return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25); }
constexpr uint32_t small_sigma0(uint32_t x) noexcept { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); }
constexpr uint32_t small_sigma1(uint32_t x) noexcept { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); }

inline uint32_t load_be32(const uint8_t* p) noexcept {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void store_be32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}
inline void store_be64(uint8_t* p, uint64_t v) noexcept {
    store_be32(p, static_cast<uint32_t>(v >> 32));
    store_be32(p + 4, static_cast<uint32_t>(v));
}

// One round of FIPS 180-4 section 6.2.2 step 3, written so that the eight working variables rotate by
// renaming (the caller passes them shifted by one each round) instead of by moving values: with the
// rounds unrolled, the compiler keeps all of them in registers.
#define OTEDAMA_SHA256_ROUND(a, b, c, d, e, f, g, h, k, w)                   \
    do {                                                                     \
        const uint32_t t1 = (h) + big_sigma1(e) + ch((e), (f), (g)) + (k) + (w); \
        const uint32_t t2 = big_sigma0(a) + maj((a), (b), (c));              \
        (d) += t1;                                                           \
        (h) = t1 + t2;                                                       \
    } while (0)

// Eight rounds starting at round i, the message word of each given by W(t).
#define OTEDAMA_SHA256_ROUNDS8(i, W)                                          \
    do {                                                                     \
        OTEDAMA_SHA256_ROUND(a, b, c, d, e, f, g, h, kRound[(i) + 0], W((i) + 0)); \
        OTEDAMA_SHA256_ROUND(h, a, b, c, d, e, f, g, kRound[(i) + 1], W((i) + 1)); \
        OTEDAMA_SHA256_ROUND(g, h, a, b, c, d, e, f, kRound[(i) + 2], W((i) + 2)); \
        OTEDAMA_SHA256_ROUND(f, g, h, a, b, c, d, e, kRound[(i) + 3], W((i) + 3)); \
        OTEDAMA_SHA256_ROUND(e, f, g, h, a, b, c, d, kRound[(i) + 4], W((i) + 4)); \
        OTEDAMA_SHA256_ROUND(d, e, f, g, h, a, b, c, kRound[(i) + 5], W((i) + 5)); \
        OTEDAMA_SHA256_ROUND(c, d, e, f, g, h, a, b, kRound[(i) + 6], W((i) + 6)); \
        OTEDAMA_SHA256_ROUND(b, c, d, e, f, g, h, a, kRound[(i) + 7], W((i) + 7)); \
    } while (0)

void transform_scalar(uint32_t* state, const uint8_t* blocks, std::size_t block_count) noexcept {
    for (std::size_t n = 0; n < block_count; ++n, blocks += kSha256BlockSize) {
        // Message schedule as a rolling window of 16 words: W[t] for t >= 16 needs only W[t-16..t-1].
        uint32_t w[16];
        for (int t = 0; t < 16; ++t) w[t] = load_be32(blocks + 4 * t);

        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

#define OTEDAMA_SHA256_W_LOAD(t) w[(t)]
#define OTEDAMA_SHA256_W_EXPAND(t) \
    (w[(t) & 15] += small_sigma1(w[((t) - 2) & 15]) + w[((t) - 7) & 15] + small_sigma0(w[((t) - 15) & 15]))
        OTEDAMA_SHA256_ROUNDS8(0, OTEDAMA_SHA256_W_LOAD);
        OTEDAMA_SHA256_ROUNDS8(8, OTEDAMA_SHA256_W_LOAD);
        for (int i = 16; i < 64; i += 16) {
            OTEDAMA_SHA256_ROUNDS8(i, OTEDAMA_SHA256_W_EXPAND);
            OTEDAMA_SHA256_ROUNDS8(i + 8, OTEDAMA_SHA256_W_EXPAND);
        }
#undef OTEDAMA_SHA256_W_LOAD
#undef OTEDAMA_SHA256_W_EXPAND

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

#undef OTEDAMA_SHA256_ROUNDS8
#undef OTEDAMA_SHA256_ROUND

constexpr Sha256Kernel kScalarKernel{"scalar", &transform_scalar};

}  // namespace

const Sha256Kernel& sha256_scalar_kernel() noexcept { return kScalarKernel; }

const Sha256Kernel& sha256_default_kernel() noexcept { return kScalarKernel; }

void sha256_transform(Sha256State& state, std::span<const uint8_t, kSha256BlockSize> block,
                      const Sha256Kernel& kernel) noexcept {
    kernel.transform(state.data(), block.data(), 1);
}

Sha256Digest sha256_state_to_digest(const Sha256State& state) noexcept {
    Sha256Digest out;
    for (std::size_t i = 0; i < 8; ++i) store_be32(out.data() + 4 * i, state[i]);
    return out;
}

Sha256State sha256_midstate(std::span<const uint8_t, kSha256BlockSize> first_block, const Sha256Kernel& kernel) noexcept {
    Sha256State state = kSha256InitialState;
    kernel.transform(state.data(), first_block.data(), 1);
    return state;
}

// ---------------------------------------------------------------------------------------------------------
// Streaming

Sha256::Sha256(const Sha256Kernel& kernel) noexcept : kernel_(&kernel), state_(kSha256InitialState) {}

void Sha256::reset() noexcept {
    state_ = kSha256InitialState;
    buffered_ = 0;
    length_ = 0;
}

Sha256& Sha256::update(std::span<const uint8_t> data) noexcept {
    const uint8_t* p = data.data();
    std::size_t n = data.size();
    length_ += n;
    if (buffered_ > 0) {
        const std::size_t take = std::min(n, kSha256BlockSize - buffered_);
        std::memcpy(buffer_.data() + buffered_, p, take);
        buffered_ += take;
        p += take;
        n -= take;
        if (buffered_ < kSha256BlockSize) return *this;
        kernel_->transform(state_.data(), buffer_.data(), 1);
        buffered_ = 0;
    }
    const std::size_t whole = n / kSha256BlockSize;
    if (whole > 0) {
        kernel_->transform(state_.data(), p, whole);
        p += whole * kSha256BlockSize;
        n -= whole * kSha256BlockSize;
    }
    if (n > 0) {
        std::memcpy(buffer_.data(), p, n);
        buffered_ = n;
    }
    return *this;
}

Sha256& Sha256::update(std::string_view text) noexcept {
    return update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Sha256Digest Sha256::finalize() noexcept {
    // FIPS 180-4 section 5.1.1: append bit '1', zeros up to 448 mod 512 bits, then the length in bits (64-bit BE).
    const uint64_t bit_length = length_ * 8;
    buffer_[buffered_++] = 0x80;
    if (buffered_ > kSha256BlockSize - 8) {
        std::memset(buffer_.data() + buffered_, 0, kSha256BlockSize - buffered_);
        kernel_->transform(state_.data(), buffer_.data(), 1);
        buffered_ = 0;
    }
    std::memset(buffer_.data() + buffered_, 0, kSha256BlockSize - 8 - buffered_);
    store_be64(buffer_.data() + kSha256BlockSize - 8, bit_length);
    kernel_->transform(state_.data(), buffer_.data(), 1);
    const Sha256Digest digest = sha256_state_to_digest(state_);
    reset();
    return digest;
}

Sha256Digest sha256(std::span<const uint8_t> data, const Sha256Kernel& kernel) noexcept {
    Sha256 h(kernel);
    h.update(data);
    return h.finalize();
}

Sha256Digest sha256d(std::span<const uint8_t> data, const Sha256Kernel& kernel) noexcept {
    const Sha256Digest first = sha256(data, kernel);
    return sha256(first, kernel);
}

// ---------------------------------------------------------------------------------------------------------
// 80-byte headers from a midstate

Sha256dHeader80::Sha256dHeader80(std::span<const uint8_t, 80> header, const Sha256Kernel& kernel) noexcept
    : kernel_(&kernel), midstate_(sha256_midstate(header.first<kSha256BlockSize>(), kernel)) {
    // Second block of the first hash: bytes 64..79, 0x80, zeros, length 640 bits.
    std::memcpy(tail_block_.data(), header.data() + kSha256BlockSize, 16);
    tail_block_[16] = 0x80;
    store_be64(tail_block_.data() + kSha256BlockSize - 8, 80 * 8);
    // Only block of the second hash: 32 digest bytes (filled per nonce), 0x80, zeros, length 256 bits.
    second_block_[32] = 0x80;
    store_be64(second_block_.data() + kSha256BlockSize - 8, 32 * 8);
}

Sha256Digest Sha256dHeader80::hash_with_nonce(uint32_t nonce) noexcept {
    // The nonce is header bytes 76..79 = tail bytes 12..15, little-endian.
    tail_block_[12] = static_cast<uint8_t>(nonce);
    tail_block_[13] = static_cast<uint8_t>(nonce >> 8);
    tail_block_[14] = static_cast<uint8_t>(nonce >> 16);
    tail_block_[15] = static_cast<uint8_t>(nonce >> 24);
    Sha256State first = midstate_;
    kernel_->transform(first.data(), tail_block_.data(), 1);
    for (std::size_t i = 0; i < 8; ++i) store_be32(second_block_.data() + 4 * i, first[i]);
    Sha256State second = kSha256InitialState;
    kernel_->transform(second.data(), second_block_.data(), 1);
    return sha256_state_to_digest(second);
}

}  // namespace otedama::common
