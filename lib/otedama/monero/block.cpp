// Monero block blobs. See block.hpp for the layout and the references.
#include "otedama/monero/block.hpp"

#include "otedama/common/keccak.hpp"
#include "otedama/monero/varint.hpp"

#include <cstring>

namespace otedama::monero {
namespace {

/// A cursor over untrusted bytes. Every read checks the bounds; the first failure records a message that
/// names the field and its offset, and every later read fails too (so a parse can check once at the end
/// of a group of reads).
class Reader {
public:
    explicit Reader(std::span<const uint8_t> bytes) noexcept : bytes_(bytes) {}

    [[nodiscard]] bool ok() const noexcept { return error_.empty(); }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - pos_; }

    uint64_t varint(const char* field) {
        if (!ok()) return 0;
        std::string why;
        const auto v = read_varint(bytes_, pos_, &why);
        if (!v) {
            fail(std::string(field) + ": " + why);
            return 0;
        }
        return *v;
    }
    uint8_t byte(const char* field) {
        if (!need(1, field)) return 0;
        return bytes_[pos_++];
    }
    void bytes(uint8_t* out, std::size_t n, const char* field) {
        if (!need(n, field)) return;
        std::memcpy(out, bytes_.data() + pos_, n);
        pos_ += n;
    }
    void skip(std::size_t n, const char* field) {
        if (need(n, field)) pos_ += n;
    }
    uint32_t u32le(const char* field) {
        uint8_t b[4] = {};
        bytes(b, 4, field);
        return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
    }
    void fail(std::string message) {
        if (ok()) error_ = std::move(message);
    }

private:
    bool need(std::size_t n, const char* field) {
        if (!ok()) return false;
        if (remaining() < n) {
            fail(std::string(field) + ": truncated at offset " + std::to_string(pos_) + " (needs " + std::to_string(n) +
                 " bytes, " + std::to_string(remaining()) + " left)");
            return false;
        }
        return true;
    }

    std::span<const uint8_t> bytes_;
    std::size_t pos_ = 0;
    std::string error_;
};

template <class T>
std::optional<T> failed(const Reader& r, std::string* error, const char* what) {
    if (error != nullptr) *error = std::string(what) + ": " + r.error();
    return std::nullopt;
}

std::string hex_byte(uint8_t b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return std::string("0x") + kDigits[b >> 4] + kDigits[b & 15];
}

void read_header(Reader& r, BlockHeader& h) {
    h.major_version = r.varint("major_version");
    h.minor_version = r.varint("minor_version");
    h.timestamp = r.varint("timestamp");
    r.bytes(h.prev_id.data(), h.prev_id.size(), "prev_id");
    h.nonce_offset = r.pos();
    h.nonce = r.u32le("nonce");
    h.size = r.pos();
}

void read_miner_tx(Reader& r, MinerTx& tx) {
    tx.offset = r.pos();
    tx.version = r.varint("miner tx version");
    if (r.ok() && tx.version != 1 && tx.version != 2) {
        r.fail("miner tx version " + std::to_string(tx.version) + " is not 1 or 2");
        return;
    }
    tx.unlock_time = r.varint("miner tx unlock_time");
    const uint64_t inputs = r.varint("miner tx input count");
    if (r.ok() && inputs != 1) {
        r.fail("miner tx has " + std::to_string(inputs) + " inputs, a coinbase has exactly 1 (txin_gen)");
        return;
    }
    const std::size_t input_at = r.pos();
    const uint8_t input_type = r.byte("miner tx input type");
    if (r.ok() && input_type != kTxInGen) {
        r.fail("miner tx input at offset " + std::to_string(input_at) + " has type " + hex_byte(input_type) +
               ", expected 0xff (txin_gen)");
        return;
    }
    tx.height = r.varint("miner tx txin_gen height");
    const uint64_t outputs = r.varint("miner tx output count");
    // Each output takes at least 34 bytes: a count the rest of the blob cannot hold is refused before any
    // allocation (a fuzzed count of 2^60 must not reserve memory).
    if (r.ok() && outputs > r.remaining() / 34) {
        r.fail("miner tx output count " + std::to_string(outputs) + " exceeds what the remaining " +
               std::to_string(r.remaining()) + " bytes can hold");
        return;
    }
    tx.outputs.reserve(static_cast<std::size_t>(outputs));
    for (uint64_t i = 0; i < outputs && r.ok(); ++i) {
        TxOutput out;
        out.amount = r.varint("miner tx output amount");
        const std::size_t tag_at = r.pos();
        out.target_type = r.byte("miner tx output target type");
        if (!r.ok()) break;
        if (out.target_type != kTxOutToKey && out.target_type != kTxOutToTaggedKey) {
            r.fail("miner tx output " + std::to_string(i) + " at offset " + std::to_string(tag_at) + " has target type " +
                   std::to_string(out.target_type) + ", expected 2 (txout_to_key) or 3 (txout_to_tagged_key)");
            break;
        }
        r.bytes(out.key.data(), out.key.size(), "miner tx output key");
        if (out.target_type == kTxOutToTaggedKey) out.view_tag = r.byte("miner tx output view tag");
        tx.outputs.push_back(out);
    }
    const uint64_t extra_size = r.varint("miner tx extra size");
    if (r.ok() && extra_size > r.remaining()) {
        r.fail("miner tx extra size " + std::to_string(extra_size) + " exceeds the remaining " + std::to_string(r.remaining()) +
               " bytes");
        return;
    }
    tx.extra_offset = r.pos();
    tx.extra_size = static_cast<std::size_t>(extra_size);
    r.skip(tx.extra_size, "miner tx extra");
    tx.prefix_size = r.pos() - tx.offset;
    if (tx.version >= 2) {
        const std::size_t rct_at = r.pos();
        tx.rct_type = r.byte("miner tx rct_signatures type");
        if (r.ok() && tx.rct_type != kRctTypeNull) {
            r.fail("miner tx rct_signatures type " + std::to_string(tx.rct_type) + " at offset " + std::to_string(rct_at) +
                   " is not 0 (RCTTypeNull), the only type a coinbase has");
            return;
        }
    }
    tx.size = r.pos() - tx.offset;
}

Hash hash_of(std::span<const uint8_t> bytes) { return common::keccak256(bytes); }

Hash hash_pair(const Hash& a, const Hash& b) {
    uint8_t both[64];
    std::memcpy(both, a.data(), 32);
    std::memcpy(both + 32, b.data(), 32);
    return common::keccak256(std::span<const uint8_t>(both, 64));
}

}  // namespace

std::optional<BlockHeader> parse_block_header(std::span<const uint8_t> blob, std::string* error) {
    Reader r(blob);
    BlockHeader h;
    read_header(r, h);
    if (!r.ok()) return failed<BlockHeader>(r, error, "block header");
    return h;
}

std::optional<Block> parse_block(std::span<const uint8_t> blob, std::string* error) {
    Reader r(blob);
    Block b;
    read_header(r, b.header);
    if (!r.ok()) return failed<Block>(r, error, "block header");
    read_miner_tx(r, b.miner_tx);
    if (!r.ok()) return failed<Block>(r, error, "block");
    const uint64_t count = r.varint("transaction hash count");
    if (r.ok() && count > r.remaining() / 32) {
        r.fail("transaction hash count " + std::to_string(count) + " needs " + std::to_string(count) +
               " x 32 bytes, only " + std::to_string(r.remaining()) + " left");
    }
    if (!r.ok()) return failed<Block>(r, error, "block");
    b.tx_hashes.resize(static_cast<std::size_t>(count));
    for (Hash& h : b.tx_hashes) r.bytes(h.data(), h.size(), "transaction hash");
    if (r.ok() && r.remaining() != 0) {
        r.fail(std::to_string(r.remaining()) + " trailing bytes after the transaction hashes (offset " +
               std::to_string(r.pos()) + ")");
    }
    if (!r.ok()) return failed<Block>(r, error, "block");
    return b;
}

Hash miner_tx_hash(std::span<const uint8_t> block_blob, const Block& block) {
    const MinerTx& tx = block.miner_tx;
    const auto whole = block_blob.subspan(tx.offset, tx.size);
    if (tx.version == 1) return hash_of(whole);
    // v2: the prefix, the RingCT base (here the single type byte of RCTTypeNull) and the prunable part,
    // whose hash is all zero for RCTTypeNull.
    uint8_t parts[96] = {};
    const Hash prefix = hash_of(whole.first(tx.prefix_size));
    const Hash base = hash_of(whole.subspan(tx.prefix_size));
    std::memcpy(parts, prefix.data(), 32);
    std::memcpy(parts + 32, base.data(), 32);
    return common::keccak256(std::span<const uint8_t>(parts, 96));
}

Hash tree_hash(std::span<const Hash> leaves) {
    const std::size_t count = leaves.size();
    if (count == 0) return Hash{};
    if (count == 1) return leaves[0];
    if (count == 2) return hash_pair(leaves[0], leaves[1]);
    // cnt: the largest power of two strictly below count (tree_hash_cnt). The first 2 * cnt - count leaves
    // go up unchanged, the rest are paired, so the next level has exactly cnt nodes; then halve to one.
    std::size_t cnt = 1;
    while (cnt * 2 < count) cnt *= 2;
    std::vector<Hash> level(cnt);
    const std::size_t kept = 2 * cnt - count;
    for (std::size_t i = 0; i < kept; ++i) level[i] = leaves[i];
    for (std::size_t i = kept, j = kept; j < cnt; i += 2, ++j) level[j] = hash_pair(leaves[i], leaves[i + 1]);
    while (cnt > 1) {
        cnt /= 2;
        for (std::size_t j = 0; j < cnt; ++j) level[j] = hash_pair(level[2 * j], level[2 * j + 1]);
    }
    return level[0];
}

std::vector<uint8_t> hashing_blob(std::span<const uint8_t> block_blob, const Block& block) {
    std::vector<Hash> leaves;
    leaves.reserve(1 + block.tx_hashes.size());
    leaves.push_back(miner_tx_hash(block_blob, block));
    leaves.insert(leaves.end(), block.tx_hashes.begin(), block.tx_hashes.end());
    const Hash root = tree_hash(leaves);
    std::vector<uint8_t> out;
    out.reserve(block.header.size + 32 + kMaxVarintSize);
    out.assign(block_blob.begin(), block_blob.begin() + static_cast<std::ptrdiff_t>(block.header.size));
    out.insert(out.end(), root.begin(), root.end());
    write_varint(static_cast<uint64_t>(leaves.size()), out);
    return out;
}

std::optional<std::vector<uint8_t>> hashing_blob(std::span<const uint8_t> block_blob, std::string* error) {
    const auto block = parse_block(block_blob, error);
    if (!block) return std::nullopt;
    return hashing_blob(block_blob, *block);
}

std::optional<HashingBlob> parse_hashing_blob(std::span<const uint8_t> blob, std::string* error) {
    Reader r(blob);
    HashingBlob hb;
    read_header(r, hb.header);
    r.bytes(hb.tree_root.data(), hb.tree_root.size(), "tree root");
    hb.tx_count = r.varint("transaction count");
    if (r.ok() && hb.tx_count == 0) r.fail("transaction count 0 (a block has at least its miner transaction)");
    if (r.ok() && r.remaining() != 0) {
        r.fail(std::to_string(r.remaining()) + " trailing bytes after the transaction count (offset " +
               std::to_string(r.pos()) + ")");
    }
    if (!r.ok()) return failed<HashingBlob>(r, error, "hashing blob");
    return hb;
}

Hash block_id(std::span<const uint8_t> hashing_blob) {
    std::vector<uint8_t> data;
    data.reserve(kMaxVarintSize + hashing_blob.size());
    write_varint(static_cast<uint64_t>(hashing_blob.size()), data);
    data.insert(data.end(), hashing_blob.begin(), hashing_blob.end());
    return hash_of(data);
}

std::optional<std::vector<uint8_t>> fill_block_template(std::span<const uint8_t> template_blob,
                                                        std::size_t reserved_offset, std::size_t reserved_size,
                                                        std::span<const uint8_t> extranonce,
                                                        std::optional<uint32_t> nonce, std::string* error) {
    auto fail = [&](std::string message) -> std::optional<std::vector<uint8_t>> {
        if (error != nullptr) *error = std::move(message);
        return std::nullopt;
    };
    std::string why;
    const auto block = parse_block(template_blob, &why);
    if (!block) return fail("block template: " + why);
    if (extranonce.size() > reserved_size) {
        return fail("extranonce is " + std::to_string(extranonce.size()) + " bytes, the template reserves " +
                    std::to_string(reserved_size));
    }
    const MinerTx& tx = block->miner_tx;
    // Written with subtraction only: offsets near SIZE_MAX must not wrap around into range.
    if (reserved_offset < tx.extra_offset || reserved_offset > tx.extra_offset + tx.extra_size ||
        reserved_size > tx.extra_offset + tx.extra_size - reserved_offset) {
        return fail("reserved bytes [" + std::to_string(reserved_offset) + ", +" + std::to_string(reserved_size) +
                    ") are not inside the miner tx extra field [" + std::to_string(tx.extra_offset) + ", +" +
                    std::to_string(tx.extra_size) + ")");
    }
    std::vector<uint8_t> out(template_blob.begin(), template_blob.end());
    if (!extranonce.empty()) std::memcpy(out.data() + reserved_offset, extranonce.data(), extranonce.size());
    if (nonce) {
        const uint32_t n = *nonce;
        uint8_t* p = out.data() + block->header.nonce_offset;
        p[0] = static_cast<uint8_t>(n);
        p[1] = static_cast<uint8_t>(n >> 8);
        p[2] = static_cast<uint8_t>(n >> 16);
        p[3] = static_cast<uint8_t>(n >> 24);
    }
    return out;
}

}  // namespace otedama::monero
