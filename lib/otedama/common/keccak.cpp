// Keccak-f[1600] / Keccak-f[800] and the Keccak-256/512 sponges. See keccak.hpp for the references.
#include "otedama/common/keccak.hpp"

#include <cstring>

namespace otedama::common {
namespace {

// Round constants RC[i] (The Keccak reference 3.0, table 1). Keccak-f[800] uses the low 32 bits of the
// first 22.
constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// rho offsets r[x][y] indexed by x + 5y (table 2), and the pi step as a walk: lane at kPiLane[i] receives
// the previous lane rotated by kRhoWalk[i] (the classic "rho-pi" loop over one cycle of 24 lanes).
constexpr int kPiLane[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};
constexpr int kRhoWalk[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};

template <typename Lane, int Rounds>
inline void keccak_f(Lane a[25]) noexcept {
    constexpr int kBits = sizeof(Lane) * 8;
    auto rotl = [](Lane v, int n) -> Lane {
        n %= kBits;
        return n == 0 ? v : static_cast<Lane>((v << n) | (v >> (kBits - n)));
    };
    for (int round = 0; round < Rounds; ++round) {
        // theta
        Lane c[5];
        for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; ++x) {
            const Lane d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
        }
        // rho and pi
        Lane carried = a[1];
        for (int i = 0; i < 24; ++i) {
            const int j = kPiLane[i];
            const Lane next = a[j];
            a[j] = rotl(carried, kRhoWalk[i]);
            carried = next;
        }
        // chi
        for (int y = 0; y < 25; y += 5) {
            Lane row[5];
            for (int x = 0; x < 5; ++x) row[x] = a[y + x];
            for (int x = 0; x < 5; ++x) a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
        }
        // iota
        a[0] ^= static_cast<Lane>(kRoundConstants[round]);
    }
}

inline uint64_t load_le64(const uint8_t* p) noexcept {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

inline void store_le64(uint8_t* p, uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void sponge(const uint8_t* data, std::size_t size, std::size_t rate, uint8_t* out, std::size_t out_size) noexcept {
    uint64_t state[25] = {};
    const std::size_t rate_lanes = rate / 8;
    while (size >= rate) {
        for (std::size_t i = 0; i < rate_lanes; ++i) state[i] ^= load_le64(data + 8 * i);
        keccak_f1600(state);
        data += rate;
        size -= rate;
    }
    uint8_t last[200] = {};
    if (size != 0) std::memcpy(last, data, size);
    last[size] ^= 0x01;  // original Keccak padding (SHA-3 would put 0x06 here)
    last[rate - 1] ^= 0x80;
    for (std::size_t i = 0; i < rate_lanes; ++i) state[i] ^= load_le64(last + 8 * i);
    keccak_f1600(state);
    for (std::size_t i = 0; i < out_size / 8; ++i) store_le64(out + 8 * i, state[i]);
}

}  // namespace

void keccak_f1600(uint64_t state[25]) noexcept { keccak_f<uint64_t, 24>(state); }
void keccak_f800(uint32_t state[25]) noexcept { keccak_f<uint32_t, 22>(state); }

void keccak256(const uint8_t* data, std::size_t size, uint8_t out[32]) noexcept { sponge(data, size, 136, out, 32); }
void keccak512(const uint8_t* data, std::size_t size, uint8_t out[64]) noexcept { sponge(data, size, 72, out, 64); }

}  // namespace otedama::common
