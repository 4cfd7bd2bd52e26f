/* Keccak permutations for the Ethash-family kernels (ethash.cl, kawpow.cl).
 *
 * Keccak-f[1600] (24 rounds, 64-bit lanes) and Keccak-f[800] (22 rounds, 32-bit lanes, the round constants
 * truncated to their low 32 bits), as "The Keccak reference" version 3.0 (Bertoni, Daemen, Peeters,
 * Van Assche, 2011) section 1.2 defines them: theta, rho and pi walked over the one 24-lane cycle of pi,
 * chi, iota; lane (x, y) at index x + 5y. Ethash hashes with the original Keccak padding (0x01 ... 0x80),
 * not SHA-3's. Written from the specification; lib/otedama/common/keccak.cpp is the CPU twin the tests
 * compare against.
 */
__constant ulong otd_keccak_rc[24] = {
    0x0000000000000001UL, 0x0000000000008082UL, 0x800000000000808aUL, 0x8000000080008000UL,
    0x000000000000808bUL, 0x0000000080000001UL, 0x8000000080008081UL, 0x8000000000008009UL,
    0x000000000000008aUL, 0x0000000000000088UL, 0x0000000080008009UL, 0x000000008000000aUL,
    0x000000008000808bUL, 0x800000000000008bUL, 0x8000000000008089UL, 0x8000000000008003UL,
    0x8000000000008002UL, 0x8000000000000080UL, 0x000000000000800aUL, 0x800000008000000aUL,
    0x8000000080008081UL, 0x8000000000008080UL, 0x0000000080000001UL, 0x8000000080008008UL};
/* pi's cycle through the 24 lanes other than (0, 0), starting after lane 1, and the rho offset of each. */
__constant uchar otd_keccak_pi[24] = {10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1};
__constant uchar otd_keccak_rho[24] = {1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44};

void otd_keccak_f1600(ulong a[25])
{
    for (int round = 0; round < 24; ++round) {
        ulong c[5];
        for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; ++x) {
            const ulong d = c[(x + 4) % 5] ^ rotate(c[(x + 1) % 5], (ulong)1);
            for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
        }
        ulong carry = a[1];
        for (int i = 0; i < 24; ++i) {
            const int j = otd_keccak_pi[i];
            const ulong next = a[j];
            a[j] = rotate(carry, (ulong)otd_keccak_rho[i]);
            carry = next;
        }
        for (int y = 0; y < 25; y += 5) {
            for (int x = 0; x < 5; ++x) c[x] = a[y + x];
            for (int x = 0; x < 5; ++x) a[y + x] = c[x] ^ (~c[(x + 1) % 5] & c[(x + 2) % 5]);
        }
        a[0] ^= otd_keccak_rc[round];
    }
}

void otd_keccak_f800(uint a[25])
{
    for (int round = 0; round < 22; ++round) {
        uint c[5];
        for (int x = 0; x < 5; ++x) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; ++x) {
            const uint d = c[(x + 4) % 5] ^ rotate(c[(x + 1) % 5], 1u);
            for (int y = 0; y < 25; y += 5) a[y + x] ^= d;
        }
        uint carry = a[1];
        for (int i = 0; i < 24; ++i) {
            const int j = otd_keccak_pi[i];
            const uint next = a[j];
            a[j] = rotate(carry, (uint)(otd_keccak_rho[i] & 31));
            carry = next;
        }
        for (int y = 0; y < 25; y += 5) {
            for (int x = 0; x < 5; ++x) c[x] = a[y + x];
            for (int x = 0; x < 5; ++x) a[y + x] = c[x] ^ (~c[(x + 1) % 5] & c[(x + 2) % 5]);
        }
        a[0] ^= (uint)otd_keccak_rc[round];
    }
}

/* Keccak-512 (rate 72 bytes) of 64 bytes given as 16 little-endian words, in place. */
void otd_keccak512_64(uint w[16])
{
    ulong a[25];
    for (int i = 0; i < 8; ++i) a[i] = (ulong)w[2 * i] | ((ulong)w[2 * i + 1] << 32);
    a[8] = 0x8000000000000001UL; /* pad10*1 of a 64-byte message: 0x01 at byte 64, 0x80 at byte 71 */
    for (int i = 9; i < 25; ++i) a[i] = 0;
    otd_keccak_f1600(a);
    for (int i = 0; i < 8; ++i) {
        w[2 * i] = (uint)a[i];
        w[2 * i + 1] = (uint)(a[i] >> 32);
    }
}

/* A raw 32-byte hash (8 little-endian words, byte 0 most significant as Ethereum and Ravencoin compare it)
 * against the ABI's 256-bit little-endian target (8 words, word 7 most significant): hash <= target. */
bool otd_raw_hash_meets(const uint h[8], __global const uint* target)
{
    for (int i = 0; i < 8; ++i) {
        const uint hw = as_uint(as_uchar4(h[i]).wzyx); /* the raw word read big-endian */
        const uint tw = target[7 - i];
        if (hw != tw) return hw < tw;
    }
    return true;
}
