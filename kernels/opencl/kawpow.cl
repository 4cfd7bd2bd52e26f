/* KawPow (ProgPoW 0.9.4 as Ravencoin runs it) search on OpenCL. One program per period: keccak.cl,
 * ethash.cl (the DAG kernel and the result reporting), the period's progPowLoop as the kawpow plugin
 * generates it (otedama.algorithm.progpow/1, OpenCL C dialect), then this file. Built with
 * -DPROGPOW_DAG_ELEMENTS=<dataset bytes / 256> and -DOTD_KP_GROUP=<work-group size, a multiple of 16>.
 *
 * Specification: ifdefelse/ProgPOW README (progPowHash: the initial Keccak-f[800], fill_mix, 64 loops,
 * the lane reduction, the final Keccak-f[800]) and EIP-1057, with Ravencoin's 'RAVENCOINKAWPOW' words
 * (RavenProject/Ravencoin src/crypto/ethash/lib/ethash/progpow.cpp) in place of the 0.9.4 padding, written
 * here from that text; plugins/algorithm/kawpow/progpow.cpp is the CPU twin the tests compare against.
 *
 * Layout: PROGPOW_LANES (16) work-items per hash, OTD_KP_GROUP / 16 hashes per work-group; the first
 * PROGPOW_CACHE_BYTES of the DAG in __local memory (c_dag); one __local word per hash broadcasts the DAG
 * address (OpenCL 1.2 has no sub-group shuffle).
 */
#ifndef OTD_KP_GROUP
#define OTD_KP_GROUP 64
#endif
#define OTD_KP_HASHES (OTD_KP_GROUP / PROGPOW_LANES)
#define OTD_FNV_OFFSET 0x811c9dc5u
#define OTD_FNV1A(h, d) (((h) ^ (d)) * OTD_FNV_PRIME)

__constant uint otd_ravencoin_kawpow[15] = {0x72, 0x41, 0x56, 0x45, 0x4E, 0x43, 0x4F, 0x49,
                                            0x4E, 0x4B, 0x41, 0x57, 0x50, 0x4F, 0x57};

/* fill_mix: one lane's registers from the 64-bit seed and the lane id (KISS99 seeded through FNV-1a). */
void otd_fill_mix(uint seed_lo, uint seed_hi, uint lane, uint mix[PROGPOW_REGS])
{
    uint h = OTD_FNV_OFFSET;
    h = OTD_FNV1A(h, seed_lo);
    uint z = h;
    h = OTD_FNV1A(h, seed_hi);
    uint w = h;
    h = OTD_FNV1A(h, lane);
    uint jsr = h;
    h = OTD_FNV1A(h, lane);
    uint jcong = h;
    for (int i = 0; i < PROGPOW_REGS; ++i) {
        z = 36969u * (z & 65535u) + (z >> 16);
        w = 18000u * (w & 65535u) + (w >> 16);
        const uint mwc = (z << 16) + w;
        jsr ^= jsr << 17;
        jsr ^= jsr >> 13;
        jsr ^= jsr << 5;
        jcong = 69069u * jcong + 1234567u;
        mix[i] = (mwc ^ jcong) + jsr;
    }
}

__kernel __attribute__((reqd_work_group_size(OTD_KP_GROUP, 1, 1)))
void otd_kawpow_search(__global const uint* params, __global const dag_t* dag, ulong nonce_base, uint count,
                       __global uint* results, uint capacity)
{
    __local uint c_dag[PROGPOW_CACHE_WORDS];
    __local uint share[OTD_KP_HASHES];
    __local uint lane_digest[OTD_KP_GROUP];
    const uint lid = (uint)get_local_id(0);
    __global const uint* dag_words = (__global const uint*)dag;
    for (uint w = lid; w < PROGPOW_CACHE_WORDS; w += OTD_KP_GROUP) c_dag[w] = dag_words[w];
    barrier(CLK_LOCAL_MEM_FENCE);

    const uint lane = lid % PROGPOW_LANES;
    const uint slot = lid / PROGPOW_LANES;
    const uint hash_index = (uint)get_group_id(0) * OTD_KP_HASHES + slot;
    const ulong nonce = nonce_base + hash_index;

    /* Initial Keccak-f[800]: header (8 words), nonce (low word first), 'RAVENCOINKAWPOW'. */
    uint st[25];
    for (int i = 0; i < 8; ++i) st[i] = params[i];
    st[8] = (uint)nonce;
    st[9] = (uint)(nonce >> 32);
    for (int i = 0; i < 15; ++i) st[10 + i] = otd_ravencoin_kawpow[i];
    otd_keccak_f800(st);
    uint hash_init[8];
    for (int i = 0; i < 8; ++i) hash_init[i] = st[i];

    uint mix[PROGPOW_REGS];
    otd_fill_mix(hash_init[0], hash_init[1], lane, mix);
    /* Every work-item runs every loop, also those past `count` (progPowLoop has barriers). */
    for (uint loop = 0; loop < PROGPOW_CNT_DAG; ++loop) progPowLoop(loop, mix, dag, c_dag, &share[slot], false);

    uint h = OTD_FNV_OFFSET;
    for (int r = 0; r < PROGPOW_REGS; ++r) h = OTD_FNV1A(h, mix[r]);
    lane_digest[lid] = h;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane != 0 || hash_index >= count) return;

    uint digest[8];
    for (int i = 0; i < 8; ++i) digest[i] = OTD_FNV_OFFSET;
    for (int l = 0; l < PROGPOW_LANES; ++l) digest[l % 8] = OTD_FNV1A(digest[l % 8], lane_digest[slot * PROGPOW_LANES + l]);

    /* Final Keccak-f[800]: hash_init, the mix digest, 'RAVENCOIN'. */
    for (int i = 0; i < 8; ++i) st[i] = hash_init[i];
    for (int i = 0; i < 8; ++i) st[8 + i] = digest[i];
    for (int i = 0; i < 9; ++i) st[16 + i] = otd_ravencoin_kawpow[i];
    otd_keccak_f800(st);
    uint final_hash[8];
    for (int i = 0; i < 8; ++i) final_hash[i] = st[i];
    if (otd_raw_hash_meets(final_hash, params + 8)) otd_eth_report(results, capacity, nonce, digest, final_hash);
}
