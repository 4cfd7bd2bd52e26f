// Bitcoin-family header assembly; see bitcoin_header.hpp. The folding rule is Bitcoin Core's
// ComputeMerkleRoot (src/consensus/merkle.cpp) restricted to the left-most leaf, which is how
// getblocktemplate (BIP 22/23) and stratum's mining.notify hand out merkle branches.
#include "otedama/common/bitcoin_header.hpp"

#include <cstring>

namespace otedama::common {
namespace {

void put_le32(uint8_t* p, uint32_t v) noexcept {
    p[0] = static_cast<uint8_t>(v);
    p[1] = static_cast<uint8_t>(v >> 8);
    p[2] = static_cast<uint8_t>(v >> 16);
    p[3] = static_cast<uint8_t>(v >> 24);
}

std::optional<BitcoinHeader> fail(std::string* error, std::string message) {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
}

}  // namespace

std::optional<Sha256Digest> coinbase_merkle_root(std::span<const uint8_t> coinbase1, std::span<const uint8_t> extranonce,
                                                 std::span<const uint8_t> coinbase2,
                                                 std::span<const uint8_t> merkle_branch, std::string* error,
                                                 const Sha256Kernel& kernel) {
    if (merkle_branch.size() % 32 != 0) {
        if (error != nullptr) {
            *error = "merkle_branch is " + std::to_string(merkle_branch.size()) + " bytes, not a whole number of 32-byte hashes";
        }
        return std::nullopt;
    }
    Sha256 h(kernel);
    h.update(coinbase1);
    h.update(extranonce);
    h.update(coinbase2);
    Sha256Digest root = sha256(h.finalize(), kernel);
    for (std::size_t at = 0; at < merkle_branch.size(); at += 32) {
        uint8_t pair[64];
        std::memcpy(pair, root.data(), 32);
        std::memcpy(pair + 32, merkle_branch.data() + at, 32);
        root = sha256d(pair, kernel);
    }
    return root;
}

BitcoinHeader assemble_bitcoin_header(uint32_t version, std::span<const uint8_t, 32> prev_hash,
                                      std::span<const uint8_t, 32> merkle_root, uint32_t ntime, uint32_t nbits,
                                      uint32_t nonce) noexcept {
    BitcoinHeader header{};
    uint8_t* p = header.data();
    put_le32(p, version);
    std::memcpy(p + 4, prev_hash.data(), 32);
    std::memcpy(p + 36, merkle_root.data(), 32);
    put_le32(p + 68, ntime);
    put_le32(p + 72, nbits);
    put_le32(p + 76, nonce);
    return header;
}

std::optional<BitcoinHeader> bitcoin_header_from_template(const otd_template_t& tmpl, std::span<const uint8_t> extranonce,
                                                          uint32_t ntime, uint32_t version, std::string* error,
                                                          const Sha256Kernel& kernel) {
    constexpr std::size_t kNeeded = offsetof(otd_template_t, merkle_branch_count) + sizeof(tmpl.merkle_branch_count);
    if (tmpl.struct_size < kNeeded) {
        return fail(error, "template struct_size " + std::to_string(tmpl.struct_size) +
                               " is too small for a bitcoin-family template (needs " + std::to_string(kNeeded) + ")");
    }
    if (extranonce.size() != tmpl.extranonce_size) {
        return fail(error, "extranonce is " + std::to_string(extranonce.size()) + " bytes, the template expects " +
                               std::to_string(tmpl.extranonce_size));
    }
    if ((tmpl.coinbase1 == nullptr && tmpl.coinbase1_size != 0) || (tmpl.coinbase2 == nullptr && tmpl.coinbase2_size != 0)) {
        return fail(error, "coinbase1/coinbase2 is NULL with a non-zero size");
    }
    if (uint64_t{tmpl.coinbase1_size} + extranonce.size() + tmpl.coinbase2_size == 0) {
        return fail(error, "the coinbase transaction (coinbase1 || extranonce || coinbase2) is empty");
    }
    if (tmpl.merkle_branch_count > kMaxMerkleBranch) {
        return fail(error, "merkle_branch_count " + std::to_string(tmpl.merkle_branch_count) + " exceeds " +
                               std::to_string(kMaxMerkleBranch));
    }
    if (tmpl.merkle_branch == nullptr && tmpl.merkle_branch_count != 0) {
        return fail(error, "merkle_branch is NULL with a non-zero count");
    }
    const auto root = coinbase_merkle_root(
        std::span<const uint8_t>(tmpl.coinbase1, tmpl.coinbase1_size), extranonce,
        std::span<const uint8_t>(tmpl.coinbase2, tmpl.coinbase2_size),
        std::span<const uint8_t>(tmpl.merkle_branch, std::size_t{32} * tmpl.merkle_branch_count), error, kernel);
    if (!root) return std::nullopt;
    return assemble_bitcoin_header(version != 0 ? version : tmpl.version, std::span<const uint8_t, 32>(tmpl.prev_hash, 32),
                                   *root, ntime != 0 ? ntime : tmpl.ntime, tmpl.nbits);
}

std::optional<std::string> bitcoin_work_unit_problem(const otd_work_unit_t& work) {
    if (work.struct_size < OTD_FIELD_END(otd_work_unit_t, on_found_user))
        return "work unit struct_size " + std::to_string(work.struct_size) + " is too small";
    if (work.blob == nullptr || work.blob_size != kBitcoinHeaderSize || work.nonce_offset != kBitcoinNonceOffset ||
        work.nonce_size != kBitcoinNonceSize)
        return "expected an 80-byte header with a 4-byte nonce at offset 76, got blob_size " + std::to_string(work.blob_size) +
               ", nonce at " + std::to_string(work.nonce_offset) + " size " + std::to_string(work.nonce_size);
    constexpr uint64_t kNonceSpace = uint64_t{1} << 32;
    if (work.nonce_start >= kNonceSpace || work.nonce_count > kNonceSpace - work.nonce_start)
        return "nonce range [" + std::to_string(work.nonce_start) + ", +" + std::to_string(work.nonce_count) +
               ") leaves the 32-bit nonce space";
    if (work.on_found == nullptr) return std::string("on_found is NULL");
    return std::nullopt;
}

ScanProbe probe_bitcoin_scan(std::span<const uint8_t, kBitcoinHeaderSize> header, uint64_t nonce_start,
                             uint64_t nonce_count, const Uint256& target,
                             const std::function<otd_status_t(const otd_work_unit_t&, otd_scan_stats_t&)>& scan) {
    std::array<uint8_t, kBitcoinHeaderSize> blob{};
    std::copy(header.begin(), header.end(), blob.begin());
    std::fill_n(blob.begin() + kBitcoinNonceOffset, kBitcoinNonceSize, uint8_t{0});
    otd_work_unit_t work{};
    work.struct_size = sizeof work;
    work.work_id = 1;
    work.blob = blob.data();
    work.blob_size = kBitcoinHeaderSize;
    work.nonce_offset = kBitcoinNonceOffset;
    work.nonce_size = kBitcoinNonceSize;
    work.nonce_start = nonce_start;
    work.nonce_count = nonce_count;
    std::copy(target.begin(), target.end(), work.share_target);
    std::copy(target.begin(), target.end(), work.block_target);
    const volatile uint32_t no_abort = 0;
    work.abort_flag = &no_abort;
    ScanProbe probe;
    work.on_found = [](void* user, const otd_found_t* f) -> otd_status_t {
        auto& p = *static_cast<ScanProbe*>(user);
        if (p.found++ == 0) {
            p.first_nonce = f->nonce;
            std::copy(f->hash, f->hash + OTD_HASH_SIZE, p.first_hash.begin());
        }
        return OTD_OK;
    };
    work.on_found_user = &probe;
    otd_scan_stats_t stats{};
    stats.struct_size = sizeof stats;
    probe.status = scan(work, stats);
    probe.hashes = stats.hashes;
    probe.stats_found = stats.found;
    return probe;
}

}  // namespace otedama::common
