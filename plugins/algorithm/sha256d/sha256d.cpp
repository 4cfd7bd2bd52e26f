// The SHA256d algorithm plugin: Bitcoin's proof of work (double SHA-256 of the 80-byte block header).
//
// Byte order (the ABI's convention, plugin-api/otedama/abi.h): every hash and target crosses as a 256-bit
// little-endian number. For SHA256d that is simply the raw digest bytes, i.e. Bitcoin's internal uint256;
// block explorers print the same bytes reversed. prev_hash and merkle branches are in internal order too.
//
// Implementation: the portable scalar SHA-256 of lib/otedama/common; faster kernels (SHA-NI, AVX2) come
// later as further Sha256Kernels chosen at run time, after they pass the same self-test.
#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/sdk/algorithm.hpp>

#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace {

namespace common = otedama::common;
namespace sdk = otedama::sdk;

constexpr uint32_t kHeaderSize = 80;
constexpr uint32_t kNonceOffset = 76;
constexpr uint32_t kNonceSize = 4;
constexpr uint64_t kNonceSpace = uint64_t{1} << 32;
// A branch longer than this would mean more than 2^64 transactions: only a corrupt template has one.
constexpr uint32_t kMaxMerkleBranch = 64;
// How often scan() reads the abort flag. The ABI asks for at least once a millisecond; the scalar kernel
// measured about 0.5 us of CPU time per nonce on a Xeon build machine (0.13 ms per 256 nonces), which leaves
// room for slower CPUs, and the read costs nothing next to the hashing.
constexpr uint64_t kAbortCheckInterval = 256;

void put_le32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

common::Uint256 to_uint256(const uint8_t* bytes) noexcept {
    common::Uint256 v;
    std::memcpy(v.data(), bytes, v.size());
    return v;
}

/// Whether `s` (an ABI struct received by reference) is large enough to contain the bytes up to `end`.
/// OTD_HAS_FIELD does the same through a pointer, but its NULL check trips -Wnonnull-compare on `&reference`.
template <class Struct>
bool struct_covers(const Struct& s, size_t end) noexcept {
    return s.struct_size >= end;
}
#define FIELD_END(type, field) (offsetof(type, field) + sizeof(std::declval<type&>().field))

/// Per-thread scan state: the double-SHA-256 hasher of the work unit being scanned.
struct ScanState {
    std::optional<common::Sha256dHeader80> hasher;
};

// ---------------------------------------------------------------------------------------------------------
// Known answers for the self-test: Bitcoin main-chain block headers, public facts of the block chain.
// Sources: genesis, Bitcoin Core src/kernel/chainparams.cpp (CreateGenesisBlock and its asserted hash);
// block 1, the bitcoin.org developer reference getblock example; block 125552, the Bitcoin wiki page
// "Block hashing algorithm". Hashes are the raw digest bytes, the little-endian form the ABI uses
// (explorers show them reversed).
struct KnownHeader {
    const char* what;
    uint8_t header[kHeaderSize];
    uint8_t hash[32];
};

// Genesis block (height 0): src/kernel/chainparams.cpp CreateGenesisBlock(1231006505, 2083236893, 0x1d00ffff, 1,
// 50 BTC); hash 000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f.
constexpr KnownHeader kGenesis{
    "genesis block header",
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3b, 0xa3, 0xed, 0xfd,
     0x7a, 0x7b, 0x12, 0xb2, 0x7a, 0xc7, 0x2c, 0x3e, 0x67, 0x76, 0x8f, 0x61, 0x7f, 0xc8, 0x1b, 0xc3, 0x88, 0x8a, 0x51, 0x32,
     0x3a, 0x9f, 0xb8, 0xaa, 0x4b, 0x1e, 0x5e, 0x4a, 0x29, 0xab, 0x5f, 0x49, 0xff, 0xff, 0x00, 0x1d, 0x1d, 0xac, 0x2b, 0x7c},
    {0x6f, 0xe2, 0x8c, 0x0a, 0xb6, 0xf1, 0xb3, 0x72, 0xc1, 0xa6, 0xa2, 0x46, 0xae, 0x63, 0xf7, 0x4f,
     0x93, 0x1e, 0x83, 0x65, 0xe1, 0x5a, 0x08, 0x9c, 0x68, 0xd6, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00}};
constexpr uint32_t kGenesisNonce = 2083236893;
constexpr uint32_t kGenesisNbits = 0x1d00ffff;

// Block 1: hash 00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048.
constexpr KnownHeader kBlock1{
    "block 1 header",
    {0x01, 0x00, 0x00, 0x00, 0x6f, 0xe2, 0x8c, 0x0a, 0xb6, 0xf1, 0xb3, 0x72, 0xc1, 0xa6, 0xa2, 0x46, 0xae, 0x63, 0xf7, 0x4f,
     0x93, 0x1e, 0x83, 0x65, 0xe1, 0x5a, 0x08, 0x9c, 0x68, 0xd6, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x20, 0x51, 0xfd,
     0x1e, 0x4b, 0xa7, 0x44, 0xbb, 0xbe, 0x68, 0x0e, 0x1f, 0xee, 0x14, 0x67, 0x7b, 0xa1, 0xa3, 0xc3, 0x54, 0x0b, 0xf7, 0xb1,
     0xcd, 0xb6, 0x06, 0xe8, 0x57, 0x23, 0x3e, 0x0e, 0x61, 0xbc, 0x66, 0x49, 0xff, 0xff, 0x00, 0x1d, 0x01, 0xe3, 0x62, 0x99},
    {0x48, 0x60, 0xeb, 0x18, 0xbf, 0x1b, 0x16, 0x20, 0xe3, 0x7e, 0x94, 0x90, 0xfc, 0x8a, 0x42, 0x75,
     0x14, 0x41, 0x6f, 0xd7, 0x51, 0x59, 0xab, 0x86, 0x68, 0x8e, 0x9a, 0x83, 0x00, 0x00, 0x00, 0x00}};

// Block 125552 (the Bitcoin wiki "Block hashing algorithm" example):
// hash 00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d.
constexpr KnownHeader kBlock125552{
    "block 125552 header",
    {0x01, 0x00, 0x00, 0x00, 0x81, 0xcd, 0x02, 0xab, 0x7e, 0x56, 0x9e, 0x8b, 0xcd, 0x93, 0x17, 0xe2, 0xfe, 0x99, 0xf2, 0xde,
     0x44, 0xd4, 0x9a, 0xb2, 0xb8, 0x85, 0x1b, 0xa4, 0xa3, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe3, 0x20, 0xb6, 0xc2,
     0xff, 0xfc, 0x8d, 0x75, 0x04, 0x23, 0xdb, 0x8b, 0x1e, 0xb9, 0x42, 0xae, 0x71, 0x0e, 0x95, 0x1e, 0xd7, 0x97, 0xf7, 0xaf,
     0xfc, 0x88, 0x92, 0xb0, 0xf1, 0xfc, 0x12, 0x2b, 0xc7, 0xf5, 0xd7, 0x4d, 0xf2, 0xb9, 0x44, 0x1a, 0x42, 0xa1, 0x46, 0x95},
    {0x1d, 0xbd, 0x98, 0x1f, 0xe6, 0x98, 0x57, 0x76, 0xb6, 0x44, 0xb1, 0x73, 0xa4, 0xd0, 0x38, 0x5d,
     0xdc, 0x1a, 0xa2, 0xa8, 0x29, 0x68, 0x8d, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}};

// ---------------------------------------------------------------------------------------------------------

class Sha256d final : public sdk::Algorithm<Sha256d> {
public:
    static constexpr const char* kName = "sha256d";
    static constexpr const char* kCoinFamily = "bitcoin";
    static constexpr uint32_t kFlags = 0;

    using Algorithm::Algorithm;

    // [any]
    void hash(const otd_algo_context_t*, std::span<const uint8_t> input, std::span<uint8_t, OTD_HASH_SIZE> out) const {
        const common::Sha256Digest d = common::sha256d(input, kernel());
        std::memcpy(out.data(), d.data(), d.size());
    }

    // [any] The only judge of a share: recomputes the hash from the 80-byte header (nonce inside it).
    void verify(const otd_algo_context_t*, const otd_verify_request_t& request, otd_verify_result_t& result) const {
        if (request.blob == nullptr || request.blob_size != kHeaderSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "verify: a sha256d blob is an 80-byte block header, got " +
                                                      std::string(request.blob == nullptr ? "NULL" : std::to_string(request.blob_size) + " bytes"));
        }
        const common::Sha256Digest digest = common::sha256d(std::span<const uint8_t>(request.blob, kHeaderSize), kernel());
        const common::Uint256 hash = digest;
        result.meets_share = common::meets_target(hash, to_uint256(request.share_target)) ? 1u : 0u;
        result.meets_block = common::meets_target(hash, to_uint256(request.block_target)) ? 1u : 0u;
        result.mix_ok = 1;  // SHA256d has no mix hash; a claimed one is irrelevant to validity
        std::memcpy(result.hash, hash.data(), OTD_HASH_SIZE);
        std::memset(result.mix, 0, OTD_HASH_SIZE);
        result.share_difficulty = common::bitcoin_difficulty_from_target(hash);
    }

    // [any]
    std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double difficulty) const {
        const auto target = common::bitcoin_target_from_difficulty(difficulty);
        if (!target) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty must be a finite number > 0, got " + std::to_string(difficulty));
        }
        return *target;
    }

    // [any]
    double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE> target) const {
        const common::Uint256 t = to_uint256(target.data());
        if (common::is_zero(t)) throw sdk::Error(OTD_ERR_INVALID_ARG, "target 0 has no difficulty");
        return common::bitcoin_difficulty_from_target(t);
    }

    // [any] coinbase1 || extranonce || coinbase2 -> txid -> merkle root -> 80-byte header with nonce 0.
    sdk::Blob build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t ntime,
                         uint32_t version) const {
        if (!struct_covers(tmpl, FIELD_END(otd_template_t, merkle_branch_count))) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: template struct_size " + std::to_string(tmpl.struct_size) +
                                                      " is too small for a bitcoin-family template");
        }
        if (extranonce.size() != tmpl.extranonce_size) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: extranonce is " + std::to_string(extranonce.size()) +
                                                      " bytes, the template expects " +
                                                      std::to_string(tmpl.extranonce_size));
        }
        if ((tmpl.coinbase1 == nullptr && tmpl.coinbase1_size != 0) ||
            (tmpl.coinbase2 == nullptr && tmpl.coinbase2_size != 0)) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: coinbase1/coinbase2 is NULL with a non-zero size");
        }
        if (tmpl.coinbase1_size + uint64_t{extranonce.size()} + tmpl.coinbase2_size == 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: the coinbase transaction is empty");
        }
        if (tmpl.merkle_branch_count > kMaxMerkleBranch) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: merkle_branch_count " + std::to_string(tmpl.merkle_branch_count) +
                                                      " exceeds " + std::to_string(kMaxMerkleBranch));
        }
        if (tmpl.merkle_branch == nullptr && tmpl.merkle_branch_count != 0) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: merkle_branch is NULL with a non-zero count");
        }

        // The coinbase txid, then up the tree: the coinbase is always the left-most leaf, so every branch
        // entry is its right-hand sibling (BIP 22/23 and stratum's mining.notify use the same folding).
        common::Sha256 h(kernel());
        h.update(std::span<const uint8_t>(tmpl.coinbase1, tmpl.coinbase1_size));
        h.update(extranonce);
        h.update(std::span<const uint8_t>(tmpl.coinbase2, tmpl.coinbase2_size));
        common::Sha256Digest root = common::sha256(h.finalize(), kernel());
        for (uint32_t i = 0; i < tmpl.merkle_branch_count; ++i) {
            uint8_t pair[64];
            std::memcpy(pair, root.data(), 32);
            std::memcpy(pair + 32, tmpl.merkle_branch + 32 * static_cast<size_t>(i), 32);
            root = common::sha256d(pair, kernel());
        }

        sdk::Blob blob;
        blob.bytes.assign(kHeaderSize, 0);
        uint8_t* p = blob.bytes.data();
        put_le32(p, version != 0 ? version : tmpl.version);
        std::memcpy(p + 4, tmpl.prev_hash, 32);
        std::memcpy(p + 36, root.data(), 32);
        put_le32(p + 68, ntime != 0 ? ntime : tmpl.ntime);
        put_le32(p + 72, tmpl.nbits);
        // bytes 76..79: the nonce, left 0
        blob.nonce_offset = kNonceOffset;
        blob.nonce_size = kNonceSize;
        return blob;
    }

    std::string implementation() const { return kernel().name; }

    // [worker]
    otd_scan_state_t* create_scan_state(const otd_algo_context_t*) const {
        return reinterpret_cast<otd_scan_state_t*>(new ScanState{});
    }
    void destroy_scan_state(otd_scan_state_t* state) const noexcept { delete reinterpret_cast<ScanState*>(state); }

    // [worker] Hash [nonce_start, nonce_start + nonce_count) and report every hash <= share_target.
    otd_status_t scan(otd_scan_state_t* state, const otd_work_unit_t& work, otd_scan_stats_t& stats) const {
        if (state == nullptr) return refuse_scan(stats, "scan: scan state is NULL");
        if (!struct_covers(work, FIELD_END(otd_work_unit_t, on_found_user))) {
            return refuse_scan(stats, "scan: work unit struct_size " + std::to_string(work.struct_size) + " is too small");
        }
        if (work.blob == nullptr || work.blob_size != kHeaderSize || work.nonce_offset != kNonceOffset ||
            work.nonce_size != kNonceSize) {
            return refuse_scan(stats, "scan: expected an 80-byte header with a 4-byte nonce at offset 76, got blob_size " +
                                          std::to_string(work.blob_size) + ", nonce at " + std::to_string(work.nonce_offset) +
                                          " size " + std::to_string(work.nonce_size));
        }
        if (work.nonce_start >= kNonceSpace || work.nonce_count > kNonceSpace - work.nonce_start) {
            return refuse_scan(stats, "scan: nonce range [" + std::to_string(work.nonce_start) + ", +" +
                                          std::to_string(work.nonce_count) + ") leaves the 32-bit nonce space");
        }
        if (work.on_found == nullptr) return refuse_scan(stats, "scan: on_found is NULL");

        auto& s = *reinterpret_cast<ScanState*>(state);
        s.hasher.emplace(std::span<const uint8_t, kHeaderSize>(work.blob, kHeaderSize), kernel());
        const common::Uint256 share_target = to_uint256(work.share_target);

        uint64_t hashes = 0;
        uint32_t found_count = 0;
        otd_status_t status = OTD_OK;
        const uint64_t end = work.nonce_start + work.nonce_count;
        for (uint64_t nonce = work.nonce_start; nonce < end; ++nonce) {
            if ((hashes % kAbortCheckInterval) == 0 && work.abort_flag != nullptr && *work.abort_flag != 0) {
                status = OTD_ERR_ABORTED;
                break;
            }
            const common::Uint256 hash = s.hasher->hash_with_nonce(static_cast<uint32_t>(nonce));
            ++hashes;
            if (!common::meets_target(hash, share_target)) continue;
            otd_found_t found = sdk::make_struct<otd_found_t>();
            found.work_id = work.work_id;
            found.nonce = nonce;
            std::memcpy(found.hash, hash.data(), OTD_HASH_SIZE);
            ++found_count;
            if (work.on_found(work.on_found_user, &found) == OTD_ERR_ABORTED) {
                status = OTD_ERR_ABORTED;
                break;
            }
        }
        put_stats(stats, hashes, found_count);
        return status;
    }

    // [control] Known answers, then the scan and verify paths end to end on the genesis header.
    void self_test() override {
        for (const KnownHeader* k : {&kGenesis, &kBlock1, &kBlock125552}) {
            uint8_t out[OTD_HASH_SIZE];
            hash(nullptr, k->header, out);
            if (std::memcmp(out, k->hash, OTD_HASH_SIZE) != 0) {
                throw sdk::Error(OTD_ERR_SELF_TEST, std::string("sha256d of the ") + k->what + " is " +
                                                        common::to_hex(out) + ", expected " + common::to_hex(k->hash));
            }
        }

        const auto genesis_target = common::target_from_nbits(kGenesisNbits);
        if (!genesis_target || *genesis_target != common::bitcoin_diff1_target()) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "nBits 0x1d00ffff does not decode to the difficulty-1 target");
        }

        // scan: a 16-nonce range around the genesis nonce, in a header whose nonce field is zeroed.
        otd_work_unit_t work = sdk::make_struct<otd_work_unit_t>();
        uint8_t blob[kHeaderSize];
        std::memcpy(blob, kGenesis.header, kHeaderSize);
        std::memset(blob + kNonceOffset, 0, kNonceSize);
        work.work_id = 1;
        work.blob = blob;
        work.blob_size = kHeaderSize;
        work.nonce_offset = kNonceOffset;
        work.nonce_size = kNonceSize;
        work.nonce_start = kGenesisNonce - 8;
        work.nonce_count = 16;
        std::memcpy(work.share_target, genesis_target->data(), OTD_HASH_SIZE);
        std::memcpy(work.block_target, genesis_target->data(), OTD_HASH_SIZE);
        const volatile uint32_t no_abort = 0;
        work.abort_flag = &no_abort;
        struct Seen {
            uint32_t count = 0;
            uint64_t nonce = 0;
            uint8_t hash[OTD_HASH_SIZE]{};
        } seen;
        work.on_found = [](void* user, const otd_found_t* f) -> otd_status_t {
            auto& s = *static_cast<Seen*>(user);
            if (s.count++ == 0) {
                s.nonce = f->nonce;
                std::memcpy(s.hash, f->hash, OTD_HASH_SIZE);
            }
            return OTD_OK;
        };
        work.on_found_user = &seen;
        ScanState state;
        otd_scan_stats_t stats = sdk::make_struct<otd_scan_stats_t>();
        const otd_status_t st = scan(reinterpret_cast<otd_scan_state_t*>(&state), work, stats);
        if (st != OTD_OK || stats.hashes != 16 || seen.count != 1 || stats.found != 1 || seen.nonce != kGenesisNonce ||
            std::memcmp(seen.hash, kGenesis.hash, OTD_HASH_SIZE) != 0) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "scan around the genesis nonce: status " + std::to_string(st) + ", " +
                                                    std::to_string(stats.hashes) + " hashes, " +
                                                    std::to_string(seen.count) + " found (first nonce " +
                                                    std::to_string(seen.nonce) + "), expected exactly nonce " +
                                                    std::to_string(kGenesisNonce));
        }

        // verify: the genesis header meets its own (difficulty-1) target.
        otd_verify_request_t request = sdk::make_struct<otd_verify_request_t>();
        request.blob = kGenesis.header;
        request.blob_size = kHeaderSize;
        std::memcpy(request.share_target, genesis_target->data(), OTD_HASH_SIZE);
        std::memcpy(request.block_target, genesis_target->data(), OTD_HASH_SIZE);
        otd_verify_result_t result = sdk::make_struct<otd_verify_result_t>();
        verify(nullptr, request, result);
        // The genesis hash 0x000000000019d668... reaches difficulty 0xFFFF * 2^208 / hash = 2536.426...
        if (result.meets_share != 1 || result.meets_block != 1 || result.mix_ok != 1 ||
            std::memcmp(result.hash, kGenesis.hash, OTD_HASH_SIZE) != 0 ||
            !(result.share_difficulty > 2536.0 && result.share_difficulty < 2537.0)) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "verify of the genesis header: meets_share " + std::to_string(result.meets_share) +
                                                    ", meets_block " + std::to_string(result.meets_block) +
                                                    ", share_difficulty " + std::to_string(result.share_difficulty));
        }
    }
    [[nodiscard]] bool has_self_test() const noexcept override { return true; }

private:
    static const common::Sha256Kernel& kernel() noexcept { return common::sha256_default_kernel(); }

    static void put_stats(otd_scan_stats_t& stats, uint64_t hashes, uint32_t found) noexcept {
        if (struct_covers(stats, FIELD_END(otd_scan_stats_t, found))) stats.found = found;
        if (struct_covers(stats, FIELD_END(otd_scan_stats_t, hashes))) stats.hashes = hashes;
    }

    /// scan() has no error buffer in the ABI: say why through the host log, then fail with INVALID_ARG.
    otd_status_t refuse_scan(otd_scan_stats_t& stats, const std::string& why) const {
        put_stats(stats, 0, 0);
        host().error(why);
        return OTD_ERR_INVALID_ARG;
    }
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.otedama.algorithm.sha256d", "sha256d", "0.1.0", "Otedama",
    "Bitcoin-family proof of work: double SHA-256 of the 80-byte block header", "https://github.com/otedama/otedama",
    OTD_ALGORITHM_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Sha256d>(kDescriptor));
