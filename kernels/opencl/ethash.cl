/* Ethash on OpenCL: the DAG (full dataset) generated on the device from the light cache, and the hashimoto
 * search. Follows keccak.cl in one program. Also builds KawPow's DAG (the same items with 512 parents).
 *
 * Specification: Ethereum's Ethash design (ethereum/wiki "Ethash": calc_dataset_item, hashimoto; the
 * Yellow Paper appendix J), written here from that text. Sizes are parameters, not compiled in, so that the
 * tests can run a tiny cache and dataset through the very same kernels (the real sizes of an epoch come
 * from lib/otedama/ethash on the host).
 *
 * Words: an item is 64 bytes = 16 little-endian 32-bit words; a hashimoto page is two items (128 bytes).
 */
#define OTD_FNV_PRIME 0x01000193u
#define OTD_FNV(u, v) (((u) * OTD_FNV_PRIME) ^ (v))

/* Items [first, first + count) of the dataset into dag[first ..]: calc_dataset_item with `parents` parents
 * (Ethash 256, KawPow 512). One item per work item. */
__kernel void otd_ethash_dag(__global const uint* cache, uint cache_items, __global uint* dag, uint first, uint count,
                             uint parents)
{
    const uint gid = (uint)get_global_id(0);
    if (gid >= count) return;
    const uint index = first + gid;
    uint mix[16];
    __global const uint* seed_item = cache + (size_t)(index % cache_items) * 16;
    for (int w = 0; w < 16; ++w) mix[w] = seed_item[w];
    mix[0] ^= index;
    otd_keccak512_64(mix);
    /* Parents in steps of 16 with the inner loop unrolled: mix[j % 16] is then a fixed register, not an
     * indexed private array (parents is a multiple of 16 for every member of the family). */
    for (uint j0 = 0; j0 < parents; j0 += 16) {
#pragma unroll
        for (uint k = 0; k < 16; ++k) {
            const uint parent = OTD_FNV(index ^ (j0 + k), mix[k]) % cache_items;
            __global const uint* p = cache + (size_t)parent * 16;
#pragma unroll
            for (int w = 0; w < 16; ++w) mix[w] = OTD_FNV(mix[w], p[w]);
        }
    }
    otd_keccak512_64(mix);
    __global uint* out = dag + (size_t)index * 16;
    for (int w = 0; w < 16; ++w) out[w] = mix[w];
}

/* Entry of the results buffer: nonce (low, high word), mix digest (8 words, raw bytes), final hash (8 words,
 * raw bytes). results[0] counts entries, also those past `capacity` (the host then searches again). */
#define OTD_ETH_ENTRY_WORDS 18

void otd_eth_report(__global uint* results, uint capacity, ulong nonce, const uint mix[8], const uint hash[8])
{
    const uint slot = atomic_inc(&results[0]);
    if (slot >= capacity) return;
    __global uint* e = results + 1 + (size_t)slot * OTD_ETH_ENTRY_WORDS;
    e[0] = (uint)nonce;
    e[1] = (uint)(nonce >> 32);
    for (int i = 0; i < 8; ++i) e[2 + i] = mix[i];
    for (int i = 0; i < 8; ++i) e[10 + i] = hash[i];
}

/* hashimoto for nonces nonce_base + [0, count): params = header hash (8 words) then the share target (8
 * words, the ABI's little-endian 256-bit number); `pages` = dataset bytes / 128. Every nonce whose final
 * hash, read as Ethereum reads it (big-endian), is <= the target is reported. */
__kernel void otd_ethash_search(__global const uint* params, __global const uint* dag, uint pages, ulong nonce_base,
                                uint count, __global uint* results, uint capacity)
{
    const uint gid = (uint)get_global_id(0);
    if (gid >= count) return;
    const ulong nonce = nonce_base + gid;
    ulong a[25];
    for (int i = 0; i < 25; ++i) a[i] = 0;
    for (int i = 0; i < 4; ++i) a[i] = (ulong)params[2 * i] | ((ulong)params[2 * i + 1] << 32);
    a[4] = nonce;                  /* header hash || nonce (8 bytes little-endian): 40 bytes */
    a[5] = 0x01UL;                 /* Keccak-512 padding: 0x01 at byte 40 ... */
    a[8] = 0x8000000000000000UL;   /* ... 0x80 at byte 71 (rate 72) */
    otd_keccak_f1600(a);
    uint s[16];
    for (int i = 0; i < 8; ++i) {
        s[2 * i] = (uint)a[i];
        s[2 * i + 1] = (uint)(a[i] >> 32);
    }
    uint mix[32];
    for (int i = 0; i < 32; ++i) mix[i] = s[i % 16];
    for (uint i = 0; i < 64; ++i) {
        const uint p = OTD_FNV(i ^ s[0], mix[i % 32]) % pages;
        __global const uint* page = dag + (size_t)p * 32;
        for (int w = 0; w < 32; ++w) mix[w] = OTD_FNV(mix[w], page[w]);
    }
    uint cmix[8];
    for (int w = 0; w < 8; ++w) cmix[w] = OTD_FNV(OTD_FNV(OTD_FNV(mix[4 * w], mix[4 * w + 1]), mix[4 * w + 2]), mix[4 * w + 3]);
    /* Keccak-256 (rate 136) of s (64 bytes) || cmix (32 bytes) */
    for (int i = 0; i < 8; ++i) a[i] = (ulong)s[2 * i] | ((ulong)s[2 * i + 1] << 32);
    for (int i = 0; i < 4; ++i) a[8 + i] = (ulong)cmix[2 * i] | ((ulong)cmix[2 * i + 1] << 32);
    a[12] = 0x01UL;
    for (int i = 13; i < 25; ++i) a[i] = 0;
    a[16] = 0x8000000000000000UL;
    otd_keccak_f1600(a);
    uint h[8];
    for (int i = 0; i < 4; ++i) {
        h[2 * i] = (uint)a[i];
        h[2 * i + 1] = (uint)(a[i] >> 32);
    }
    if (otd_raw_hash_meets(h, params + 8)) otd_eth_report(results, capacity, nonce, cmix, h);
}
