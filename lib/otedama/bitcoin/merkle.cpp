#include "otedama/bitcoin/merkle.hpp"

#include <otedama/common/sha256.hpp>

#include <algorithm>
#include <array>

namespace otedama::bitcoin {
namespace {

Hash256 hash_pair(const Hash256& a, const Hash256& b) {
    std::array<uint8_t, 64> buf{};
    std::copy(a.begin(), a.end(), buf.begin());
    std::copy(b.begin(), b.end(), buf.begin() + 32);
    const auto d = common::sha256d(buf);
    Hash256 out{};
    std::copy(d.begin(), d.end(), out.begin());
    return out;
}

constexpr std::array<uint8_t, 6> kCommitmentPrefix = {0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed};

}  // namespace

Hash256 merkle_root(std::span<const Hash256> leaves) {
    if (leaves.empty()) return Hash256{};
    std::vector<Hash256> level(leaves.begin(), leaves.end());
    while (level.size() > 1) {
        if (level.size() % 2 != 0) level.push_back(level.back());
        std::vector<Hash256> next;
        next.reserve(level.size() / 2);
        for (std::size_t i = 0; i < level.size(); i += 2) next.push_back(hash_pair(level[i], level[i + 1]));
        level = std::move(next);
    }
    return level[0];
}

std::vector<Hash256> coinbase_merkle_branch(std::span<const Hash256> others) {
    // level[0] stands for the (unknown) coinbase-side hash; only its siblings are recorded.
    std::vector<Hash256> branch;
    std::vector<Hash256> level;
    level.reserve(others.size() + 2);
    level.push_back(Hash256{});
    level.insert(level.end(), others.begin(), others.end());
    while (level.size() > 1) {
        branch.push_back(level[1]);
        if (level.size() % 2 != 0) level.push_back(level.back());
        std::vector<Hash256> next{Hash256{}};
        for (std::size_t i = 2; i < level.size(); i += 2) next.push_back(hash_pair(level[i], level[i + 1]));
        level = std::move(next);
    }
    return branch;
}

Hash256 fold_merkle_branch(const Hash256& leaf, std::span<const Hash256> branch) {
    Hash256 h = leaf;
    for (const auto& sibling : branch) h = hash_pair(h, sibling);
    return h;
}

Hash256 witness_merkle_root(std::span<const Hash256> wtxids) {
    std::vector<Hash256> leaves;
    leaves.reserve(wtxids.size() + 1);
    leaves.push_back(Hash256{});
    leaves.insert(leaves.end(), wtxids.begin(), wtxids.end());
    return merkle_root(leaves);
}

Hash256 witness_commitment(const Hash256& witness_root, const Hash256& reserved_value) {
    return hash_pair(witness_root, reserved_value);
}

std::vector<uint8_t> witness_commitment_script(const Hash256& commitment) {
    std::array<uint8_t, 38> script{};
    std::copy(kCommitmentPrefix.begin(), kCommitmentPrefix.end(), script.begin());
    std::copy(commitment.begin(), commitment.end(), script.begin() + kCommitmentPrefix.size());
    return {script.begin(), script.end()};
}

std::optional<Hash256> witness_commitment_from_script(std::span<const uint8_t> script) {
    if (script.size() < 38 || !std::equal(kCommitmentPrefix.begin(), kCommitmentPrefix.end(), script.begin())) return std::nullopt;
    Hash256 out{};
    std::copy(script.begin() + 6, script.begin() + 38, out.begin());
    return out;
}

}  // namespace otedama::bitcoin
