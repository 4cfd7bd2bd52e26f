// The SHA256d algorithm plugin: Bitcoin's proof of work (double SHA-256 of the 80-byte block header).
//
// Byte order (the ABI's convention, plugin-api/otedama/abi.h): every hash and target crosses as a 256-bit
// little-endian number. For SHA256d that is simply the raw digest bytes, i.e. Bitcoin's internal uint256;
// block explorers print the same bytes reversed. prev_hash and merkle branches are in internal order too.
//
// Implementation: hash/verify/build_blob use the SHA-256 of lib/otedama/common. scan() runs one of the
// kernels of scan_kernels.hpp (AVX-512, SHA-NI, AVX2 or portable), chosen at init: the fastest this CPU
// supports that agrees with the scalar reference, or the one OTEDAMA_SHA256D_IMPL names. A kernel only
// proposes candidate nonces; each is rehashed in full with the scalar SHA-256 before it is reported.
#include "known_headers.hpp"
#include "scan_kernels.hpp"

#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/sha256.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/sdk/algorithm.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace common = otedama::common;
namespace sdk = otedama::sdk;
namespace scan_kernels = otedama::sha256d;

using otedama::sha256d::kGenesis;
using otedama::sha256d::kBlock1;
using otedama::sha256d::kBlock125552;
using otedama::sha256d::kGenesisNbits;
using otedama::sha256d::kGenesisNonce;
using otedama::sha256d::kHeaderSize;
using otedama::sha256d::kNonceOffset;
using otedama::sha256d::KnownHeader;
constexpr uint32_t kNonceSize = 4;
/// Names the scan kernel to use instead of the fastest one ("scalar", "shani", "avx2", "avx512").
constexpr const char* kImplEnv = "OTEDAMA_SHA256D_IMPL";

common::Uint256 to_uint256(const uint8_t* bytes) noexcept {
    common::Uint256 v;
    std::memcpy(v.data(), bytes, v.size());
    return v;
}


/// Per-thread scan state: the work unit's kernel constants, the scalar hasher that rechecks candidates, and
/// the candidate buffer (one slot per nonce of a chunk, so it never overflows).
struct ScanState {
    scan_kernels::ScanConstants constants;
    std::optional<common::Sha256dHeader80> hasher;
    std::vector<uint32_t> candidates;
};

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

    // [any] coinbase1 || extranonce || coinbase2 -> txid -> merkle root -> 80-byte header with nonce 0
    // (lib/otedama/common/bitcoin_header: the whole Bitcoin family shares it).
    sdk::Blob build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t ntime,
                         uint32_t version) const {
        std::string error;
        const auto header = common::bitcoin_header_from_template(tmpl, extranonce, ntime, version, &error, kernel());
        if (!header) throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: " + error);
        sdk::Blob blob;
        blob.bytes.assign(header->begin(), header->end());
        blob.nonce_offset = kNonceOffset;
        blob.nonce_size = kNonceSize;
        return blob;
    }

    std::string implementation() const { return scan_kernel_->name; }

    // [control] Choose the scan kernel: the one OTEDAMA_SHA256D_IMPL names, else the fastest this CPU runs;
    // either way only after it agrees with the scalar reference (self_test_scan_kernel).
    void init() override {
        scan_kernel_ = &choose_scan_kernel();
        host().logf(OTD_LOG_INFO, "sha256d: using %s", scan_kernel_->name);
    }

    // [worker]
    otd_scan_state_t* create_scan_state(const otd_algo_context_t*) const {
        return reinterpret_cast<otd_scan_state_t*>(new ScanState{});
    }
    void destroy_scan_state(otd_scan_state_t* state) const noexcept { delete reinterpret_cast<ScanState*>(state); }

    // [worker] Hash [nonce_start, nonce_start + nonce_count) and report every hash <= share_target.
    otd_status_t scan(otd_scan_state_t* state, const otd_work_unit_t& work, otd_scan_stats_t& stats) const {
        if (state == nullptr) return refuse_scan(stats, "scan: scan state is NULL");
        if (const auto problem = common::bitcoin_work_unit_problem(work)) return refuse_scan(stats, "scan: " + *problem);

        auto& s = *reinterpret_cast<ScanState*>(state);
        const scan_kernels::ScanKernel& kernel = *scan_kernel_;
        scan_kernels::prepare_scan_constants(s.constants, work.blob, work.share_target);
        s.hasher.emplace(std::span<const uint8_t, kHeaderSize>(work.blob, kHeaderSize), common::sha256_scalar_kernel());
        s.candidates.resize(kernel.nonces_per_abort_check);
        const common::Uint256 share_target = to_uint256(work.share_target);

        // Chunks of nonces_per_abort_check nonces (0.1-0.5 ms): the abort flag is read before each one, and
        // after each reported share (the host may supersede the work from on_found). `hashes` counts the
        // nonces whose outcome is settled, in order: a scan stopped at a share reports the range up to it.
        uint64_t hashes = 0;
        uint32_t found_count = 0;
        otd_status_t status = OTD_OK;
        const auto aborted = [&work] { return work.abort_flag != nullptr && *work.abort_flag != 0; };
        while (hashes < work.nonce_count && status == OTD_OK) {
            if (aborted()) {
                status = OTD_ERR_ABORTED;
                break;
            }
            const auto first = static_cast<uint32_t>(work.nonce_start + hashes);
            const auto count = static_cast<uint32_t>(std::min<uint64_t>(kernel.nonces_per_abort_check, work.nonce_count - hashes));
            const uint32_t candidates = kernel.scan(s.constants, first, count, s.candidates.data());
            for (uint32_t i = 0; i < candidates; ++i) {
                const uint32_t offset = s.candidates[i];
                const uint32_t nonce = first + offset;
                const common::Uint256 hash = s.hasher->hash_with_nonce(nonce);
                if (!common::meets_target(hash, share_target)) continue;  // the top word met it, the rest did not
                otd_found_t found = sdk::make_struct<otd_found_t>();
                found.work_id = work.work_id;
                found.nonce = nonce;
                std::memcpy(found.hash, hash.data(), OTD_HASH_SIZE);
                ++found_count;
                if (work.on_found(work.on_found_user, &found) == OTD_ERR_ABORTED || aborted()) {
                    status = OTD_ERR_ABORTED;
                    hashes += uint64_t{offset} + 1;
                    break;
                }
            }
            if (status == OTD_OK) hashes += count;
        }
        put_stats(stats, hashes, found_count);
        return status;
    }

    // [control] Known answers, the chosen scan kernel against the scalar reference, then the scan and verify
    // paths end to end on the genesis header.
    void self_test() override {
        if (const char* what = scan_kernels::self_test_scan_kernel(*scan_kernel_)) {
            throw sdk::Error(OTD_ERR_SELF_TEST, std::string("scan kernel ") + scan_kernel_->name +
                                                    " disagrees with the scalar reference: " + what);
        }
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
        const common::ScanProbe probe = common::probe_bitcoin_scan(
            std::span<const uint8_t, kHeaderSize>(kGenesis.header, kHeaderSize), kGenesisNonce - 8, 16, *genesis_target,
            [&](const otd_work_unit_t& work, otd_scan_stats_t& stats) {
                ScanState state;
                return scan(reinterpret_cast<otd_scan_state_t*>(&state), work, stats);
            });
        if (probe.status != OTD_OK || probe.hashes != 16 || probe.found != 1 || probe.stats_found != 1 || probe.first_nonce != kGenesisNonce ||
            std::memcmp(probe.first_hash.data(), kGenesis.hash, OTD_HASH_SIZE) != 0) {
            throw sdk::Error(OTD_ERR_SELF_TEST, "scan around the genesis nonce: status " + std::to_string(probe.status) + ", " +
                                                    std::to_string(probe.hashes) + " hashes, " + std::to_string(probe.found) +
                                                    " found (first nonce " + std::to_string(probe.first_nonce) +
                                                    "), expected exactly nonce " + std::to_string(kGenesisNonce));
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

    /// The kernel init() settles on (see there). Logs why a forced or built-in kernel was passed over.
    const scan_kernels::ScanKernel& choose_scan_kernel() const {
        const scan_kernels::ScanKernel& scalar = scan_kernels::scalar_scan_kernel();
        const auto usable = [this](const scan_kernels::ScanKernel& k) {
            if (!scan_kernels::cpu_supports(k.isa)) return false;
            if (const char* what = scan_kernels::self_test_scan_kernel(k)) {
                host().logf(OTD_LOG_ERROR, "sha256d: scan kernel %s disagrees with the scalar reference (%s); not used",
                            k.name, what);
                return false;
            }
            return true;
        };
        const char* forced = std::getenv(kImplEnv);
        if (forced != nullptr && *forced != '\0') {
            const scan_kernels::ScanKernel* k = scan_kernels::find_scan_kernel(forced);
            if (k == nullptr) {
                host().logf(OTD_LOG_ERROR, "sha256d: %s=%s names no scan kernel of this build (%s); using scalar",
                            kImplEnv, forced, kernel_ids().c_str());
            } else if (!scan_kernels::cpu_supports(k->isa)) {
                host().logf(OTD_LOG_ERROR, "sha256d: %s=%s, but this CPU lacks its instruction set; using scalar",
                            kImplEnv, forced);
            } else if (usable(*k)) {
                return *k;
            }
            if (!usable(scalar)) throw sdk::Error(OTD_ERR_SELF_TEST, "the scalar scan kernel fails its self-test");
            return scalar;
        }
        uint32_t count = 0;
        const scan_kernels::ScanKernel* kernels = scan_kernels::scan_kernels(&count);
        for (uint32_t i = 0; i < count; ++i) {
            if (usable(kernels[i])) return kernels[i];
        }
        throw sdk::Error(OTD_ERR_SELF_TEST, "the scalar scan kernel fails its self-test");
    }

    static std::string kernel_ids() {
        uint32_t count = 0;
        const scan_kernels::ScanKernel* kernels = scan_kernels::scan_kernels(&count);
        std::string ids;
        for (uint32_t i = 0; i < count; ++i) {
            if (i != 0) ids += '|';
            ids += kernels[i].id;
        }
        return ids;
    }

    static void put_stats(otd_scan_stats_t& stats, uint64_t hashes, uint32_t found) noexcept {
        if (sdk::struct_covers(stats, OTD_FIELD_END(otd_scan_stats_t, found))) stats.found = found;
        if (sdk::struct_covers(stats, OTD_FIELD_END(otd_scan_stats_t, hashes))) stats.hashes = hashes;
    }

    const scan_kernels::ScanKernel* scan_kernel_ = &scan_kernels::scalar_scan_kernel();

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
