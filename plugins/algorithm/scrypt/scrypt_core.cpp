// The generic scrypt reference (RFC 7914), the scalar ROMix kernel, the kernel list, and Litecoin's
// per-nonce PBKDF2 steps. Written from RFC 7914 (scrypt), RFC 8018 section 5.2 (PBKDF2) and RFC 2104 (HMAC).
#include "scrypt_core.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

namespace otedama::scrypt {

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
extern const RomixKernel kRomixAvx2;
extern const RomixKernel kRomixAvx512;
#endif

namespace {

namespace common = otedama::common;

uint32_t load_le32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
void store_le32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}
void store_be32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

// ---------------------------------------------------------------------------------------------------------
// Generic scrypt, as RFC 7914 writes it (sections 4, 5, 6).

/// BlockMix_{Salsa20/8, r} (section 4): B is 2r 64-byte blocks as 32r words; `y` is scratch of the same size.
void block_mix_generic(uint32_t* b, uint32_t* y, uint32_t r) noexcept {
    uint32_t x[16];
    std::memcpy(x, b + 16 * (2 * r - 1), 64);
    for (uint32_t i = 0; i < 2 * r; ++i) {
        for (int k = 0; k < 16; ++k) x[k] ^= b[16 * i + k];
        salsa20_8(x);
        // B' = (Y_0, Y_2, ..., Y_{2r-2}, Y_1, Y_3, ..., Y_{2r-1})
        const uint32_t out = (i % 2 == 0) ? i / 2 : r + i / 2;
        std::memcpy(y + 16 * out, x, 64);
    }
    std::memcpy(b, y, 128 * std::size_t{r});
}

/// scryptROMix (section 5) on one 128r-byte block, in words.
void romix_generic(uint32_t* x, uint64_t n, uint32_t r, uint32_t* v, uint32_t* y) noexcept {
    const std::size_t words = 32 * std::size_t{r};
    for (uint64_t i = 0; i < n; ++i) {
        std::memcpy(v + words * i, x, words * 4);
        block_mix_generic(x, y, r);
    }
    for (uint64_t i = 0; i < n; ++i) {
        // Integerify: B[2r-1] read as a little-endian integer, reduced mod N (a power of two).
        const uint32_t* last = x + 16 * (2 * std::size_t{r} - 1);
        const uint64_t j = (uint64_t{last[0]} | (uint64_t{last[1]} << 32)) & (n - 1);
        for (std::size_t k = 0; k < words; ++k) x[k] ^= v[words * j + k];
        block_mix_generic(x, y, r);
    }
}

// ---------------------------------------------------------------------------------------------------------
// The scalar kernel: romix_lanes.inc with one lane in plain 32-bit integers.

#define OTEDAMA_ROMIX_TARGET

struct Scalar {
    using V = uint32_t;
    static constexpr std::size_t kLanes = 1;
    static V load(const void* p) noexcept {
        V v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    static V loadu(const void* p) noexcept { return load(p); }
    static void store(void* p, V v) noexcept { std::memcpy(p, &v, sizeof v); }
    static void storeu(void* p, V v) noexcept { store(p, v); }
    static void store_words(uint32_t* out, V v) noexcept { out[0] = v; }
    static V add(V a, V b) noexcept { return a + b; }
    static V bxor(V a, V b) noexcept { return a ^ b; }
    template <int K>
    static V rotl(V a) noexcept {
        return std::rotl(a, K);
    }
    static void transpose(const V* in, V* out) noexcept { std::memcpy(out, in, 16 * sizeof(V)); }
};

#include "romix_lanes.inc"

#undef OTEDAMA_ROMIX_TARGET

bool always() noexcept { return true; }
void romix_scalar(uint32_t* x, uint8_t* scratch) noexcept {
    romix_lanes<Scalar>(x, scratch);
}

constexpr RomixKernel kRomixScalar{"scalar", "scalar", 1, kLaneStride, &always, &romix_scalar};

constexpr const RomixKernel* kKernels[] = {
    &kRomixScalar,
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    &kRomixAvx2,
    &kRomixAvx512,
#endif
};

}  // namespace

void salsa20_8(uint32_t b[16]) noexcept {
    uint32_t x[16];
    std::memcpy(x, b, sizeof x);
    const auto qr = [&x](int a, int bb, int c, int d) {
        x[bb] ^= std::rotl(x[a] + x[d], 7);
        x[c] ^= std::rotl(x[bb] + x[a], 9);
        x[d] ^= std::rotl(x[c] + x[bb], 13);
        x[a] ^= std::rotl(x[d] + x[c], 18);
    };
    for (int i = 0; i < 8; i += 2) {
        qr(0, 4, 8, 12);  // columns
        qr(5, 9, 13, 1);
        qr(10, 14, 2, 6);
        qr(15, 3, 7, 11);
        qr(0, 1, 2, 3);  // rows
        qr(5, 6, 7, 4);
        qr(10, 11, 8, 9);
        qr(15, 12, 13, 14);
    }
    for (int i = 0; i < 16; ++i) b[i] += x[i];
}

bool scrypt_reference(std::span<const uint8_t> password, std::span<const uint8_t> salt, uint64_t n, uint32_t r,
                      uint32_t p, std::span<uint8_t> out, std::string* error) {
    const auto refuse = [error](const std::string& why) {
        if (error != nullptr) *error = why;
        return false;
    };
    if (n < 2 || !std::has_single_bit(n)) return refuse("N must be a power of two greater than 1, got " + std::to_string(n));
    if (r == 0 || p == 0) return refuse("r and p must be at least 1");
    if (uint64_t{r} * p >= (uint64_t{1} << 30)) return refuse("r * p must be below 2^30");
    if (out.empty()) return refuse("dkLen must be at least 1");
    constexpr uint64_t kMaxScratch = uint64_t{1} << 30;
    if (n > kMaxScratch / (128 * uint64_t{r})) return refuse("scratchpad 128 * r * N exceeds 1 GiB");

    const std::size_t block_bytes = 128 * std::size_t{r};
    std::vector<uint8_t> b(block_bytes * p);
    common::pbkdf2_hmac_sha256(password, salt, 1, b);
    std::vector<uint32_t> x(block_bytes / 4), y(block_bytes / 4), v(static_cast<std::size_t>(n) * (block_bytes / 4));
    for (uint32_t i = 0; i < p; ++i) {
        uint8_t* bi = b.data() + block_bytes * i;
        for (std::size_t k = 0; k < x.size(); ++k) x[k] = load_le32(bi + 4 * k);
        romix_generic(x.data(), n, r, v.data(), y.data());
        for (std::size_t k = 0; k < x.size(); ++k) store_le32(bi + 4 * k, x[k]);
    }
    common::pbkdf2_hmac_sha256(password, b, 1, out);
    return true;
}

std::span<const RomixKernel* const> romix_kernels() noexcept { return kKernels; }

const RomixKernel* find_romix_kernel(std::string_view name) noexcept {
    for (const RomixKernel* k : kKernels) {
        if (name == k->name) return k;
    }
    return nullptr;
}

const RomixKernel& scalar_romix_kernel() noexcept { return kRomixScalar; }

const common::Sha256Kernel& pbkdf2_sha256_kernel() noexcept {
    const common::Sha256Kernel* shani = common::sha256_shani_kernel();
    return shani != nullptr ? *shani : common::sha256_default_kernel();
}

// ---------------------------------------------------------------------------------------------------------
// Litecoin: scrypt(header, header, 1024, 1, 1, 32) with the PBKDF2 steps unrolled to compressions.
//
// HMAC key: the 80-byte header is longer than a SHA-256 block, so K = sha256(header) (RFC 2104 section 2);
// its first compression (header[0..64)) is the same for every nonce and is done once, in the constructor.
// First PBKDF2 (dkLen 128 = four 32-byte blocks T_1..T_4): T_i = HMAC(K, header || INT(i)); the inner hash
// compresses header[0..64) once per nonce (shared by the four i), then header[64..80) || INT(i) || padding.
// Final PBKDF2 (dkLen 32): HMAC(K, X || INT(1)), X the 128-byte ROMix output.

LitecoinHasher::LitecoinHasher(std::span<const uint8_t, kHeaderSize> header, const common::Sha256Kernel& sha) noexcept
    : key_midstate_(common::kSha256InitialState), sha_(&sha) {
    std::memcpy(header_, header.data(), kHeaderSize);
    sha.transform(key_midstate_.data(), header_, 1);
}

void LitecoinHasher::hash_batch(const RomixKernel& kernel, uint32_t first_nonce, uint32_t count, uint8_t* scratch,
                                uint8_t (*out)[32]) const noexcept {
    alignas(64) uint32_t x[kMaxLanes * kBlockWords];
    common::HmacSha256Key keys[kMaxLanes];
    const uint32_t lanes = kernel.lanes;

    for (uint32_t lane = 0; lane < lanes; ++lane) {
        const uint32_t nonce = first_nonce + std::min(lane, count - 1);
        uint8_t tail[64] = {};  // header[64..80) with the nonce, then what follows it in each hash
        std::memcpy(tail, header_ + 64, 16);
        store_le32(tail + 12, nonce);

        // K = sha256(header): the midstate, then the 16-byte tail with padding for an 80-byte message.
        common::Sha256State st = key_midstate_;
        uint8_t block[64] = {};
        std::memcpy(block, tail, 16);
        block[16] = 0x80;
        store_be32(block + 60, 80 * 8);
        sha_->transform(st.data(), block, 1);
        const common::Sha256Digest key = common::sha256_state_to_digest(st);

        // Inner/outer states of HMAC with the 32-byte key.
        common::HmacSha256Key& hk = keys[lane];
        uint8_t pad[64];
        hk.inner = common::kSha256InitialState;
        hk.outer = common::kSha256InitialState;
        for (int i = 0; i < 64; ++i) pad[i] = static_cast<uint8_t>((i < 32 ? key[static_cast<std::size_t>(i)] : 0) ^ 0x36);
        sha_->transform(hk.inner.data(), pad, 1);
        for (int i = 0; i < 64; ++i) pad[i] = static_cast<uint8_t>((i < 32 ? key[static_cast<std::size_t>(i)] : 0) ^ 0x5c);
        sha_->transform(hk.outer.data(), pad, 1);

        // T_i = HMAC(K, header || INT(i)), i = 1..4: inner message is 64 (ipad) + 84 bytes = 1184 bits.
        common::Sha256State salted = hk.inner;
        sha_->transform(salted.data(), header_, 1);
        std::memset(block, 0, sizeof block);
        std::memcpy(block, tail, 16);
        block[20] = 0x80;
        store_be32(block + 60, (64 + 84) * 8);
        uint8_t outer_block[64] = {};
        outer_block[32] = 0x80;
        store_be32(outer_block + 60, (64 + 32) * 8);
        for (uint32_t i = 1; i <= 4; ++i) {
            store_be32(block + 16, i);
            common::Sha256State inner = salted;
            sha_->transform(inner.data(), block, 1);
            const common::Sha256Digest u = common::sha256_state_to_digest(inner);
            std::memcpy(outer_block, u.data(), 32);
            common::Sha256State outer = hk.outer;
            sha_->transform(outer.data(), outer_block, 1);
            const common::Sha256Digest t = common::sha256_state_to_digest(outer);
            for (int w = 0; w < 8; ++w) x[kBlockWords * lane + 8 * (i - 1) + static_cast<std::size_t>(w)] = load_le32(t.data() + 4 * w);
        }
    }

    kernel.romix(x, scratch);

    for (uint32_t lane = 0; lane < count; ++lane) {
        // HMAC(K, X || INT(1)): inner message 64 + 128 + 4 bytes = 1568 bits.
        uint8_t msg[192] = {};
        for (std::size_t w = 0; w < kBlockWords; ++w) store_le32(msg + 4 * w, x[kBlockWords * lane + w]);
        store_be32(msg + 128, 1);
        msg[132] = 0x80;
        store_be32(msg + 188, (64 + 128 + 4) * 8);
        common::Sha256State inner = keys[lane].inner;
        sha_->transform(inner.data(), msg, 3);
        const common::Sha256Digest u = common::sha256_state_to_digest(inner);
        uint8_t outer_block[64] = {};
        std::memcpy(outer_block, u.data(), 32);
        outer_block[32] = 0x80;
        store_be32(outer_block + 60, (64 + 32) * 8);
        common::Sha256State outer = keys[lane].outer;
        sha_->transform(outer.data(), outer_block, 1);
        const common::Sha256Digest h = common::sha256_state_to_digest(outer);
        std::memcpy(out[lane], h.data(), 32);
    }
}

}  // namespace otedama::scrypt
