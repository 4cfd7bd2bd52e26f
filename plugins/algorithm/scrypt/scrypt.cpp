// The scrypt algorithm plugin: Litecoin's proof of work, scrypt(N = 1024, r = 1, p = 1, dkLen = 32) with
// the 80-byte block header as both password and salt (Litecoin Core src/crypto/scrypt.cpp).
//
// Byte order (plugin-api/otedama/abi.h): hashes and targets cross as 256-bit little-endian numbers. For
// scrypt that is the raw 32 output bytes; Litecoin's explorers print them reversed. The block's identity
// hash is sha256d of the header (as in Bitcoin); only the proof of work is scrypt.
//
// Difficulty: Litecoin-family pools define share difficulty 1 as the target 0x0000FFFF00000000...0000,
// i.e. the Bitcoin difficulty-1 target times 2^16: pooler/cpuminer (stratum_gen_work, ALGO_SCRYPT) sets
// diff_to_target(target, stratum_difficulty / 65536.0) and the pool software of the family agrees. The
// network side keeps Bitcoin's units: a block at nBits 0x1d00ffff would be "difficulty 1" on-chain
// (litecoind's getdifficulty uses Bitcoin Core's GetDifficulty unchanged; Litecoin's powLimit is
// 0x00000fffff..., nBits 0x1e0ffff0 at genesis). Stratum difficulties are what miners and pools exchange,
// so this plugin's target <-> difficulty conversion uses the pool unit: difficulty_scrypt = 65536 * bdiff.
//
// Implementation: the ROMix kernels of scrypt_core (scalar, AVX2 8-way, AVX-512 16-way), chosen at init
// after each passed a comparison against the scalar kernel; OTEDAMA_SCRYPT_IMPL=scalar|avx2|avx512 forces
// one. The PBKDF2 steps run on SHA-NI when the CPU has it.
#include "scrypt_core.hpp"

#include <otedama/common/bitcoin_header.hpp>
#include <otedama/common/hex.hpp>
#include <otedama/common/uint256.hpp>
#include <otedama/sdk/algorithm.hpp>

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace common = otedama::common;
namespace scrypt = otedama::scrypt;
namespace sdk = otedama::sdk;

constexpr uint32_t kHeaderSize = 80;
constexpr uint32_t kNonceOffset = 76;
constexpr uint32_t kNonceSize = 4;
/// Litecoin pools' difficulty 1 is the Bitcoin one times 2^16 (see the top of this file).
constexpr double kPoolDifficultyScale = 65536.0;
constexpr std::size_t kHugePage = std::size_t{2} << 20;

common::Uint256 to_uint256(const uint8_t* bytes) noexcept {
    common::Uint256 v;
    std::memcpy(v.data(), bytes, v.size());
    return v;
}
uint32_t le32(const uint8_t* p) noexcept {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}


/// A 64-byte aligned scratchpad, in 2 MiB huge pages where the kernel allows (MADV_HUGEPAGE is a hint:
/// refused or unsupported, the memory is simply in small pages).
/// A scratchpad. From the host's memory service when it has one (explicit huge pages when the operator
/// allows them and the OS has them reserved, else transparent huge pages, with one host warning on the
/// fallback); otherwise an aligned allocation with the transparent huge page hint.
struct Scratch {
    uint8_t* data = nullptr;
    std::size_t bytes = 0;
    const otd_memory_service_t* memory = nullptr;
    const otd_host_t* host = nullptr;

    /// Without a host (self-tests) or params: a plain aligned allocation.
    explicit Scratch(std::size_t need, const sdk::Host* h = nullptr, const otd_scan_params_t* params = nullptr) {
        const uint32_t scan_flags = params != nullptr ? params->flags : 0U;
        // Whole huge pages for the kernels' multi-megabyte pads; the scalar pad (128 KiB) stays small.
        const std::size_t align = need >= kHugePage ? kHugePage : 64;
        bytes = (need + align - 1) / align * align;
        memory = h != nullptr ? h->service<otd_memory_service_t>(OTD_SERVICE_MEMORY) : nullptr;
        if (memory != nullptr && need >= kHugePage) {
            host = h->raw();
            void* p = nullptr;
            uint32_t got = 0;
            char err[OTD_ERROR_CAP] = {};
            const uint32_t flags = (scan_flags & OTD_SCAN_HUGE_PAGES) != 0U ? OTD_MEMORY_HUGE_PAGES : 0U;
            if (memory->allocate(host, bytes, flags, params != nullptr ? params->numa_node : -1, &p, &got, err, sizeof err) != OTD_OK)
                throw sdk::Error(OTD_ERR_NO_MEMORY, std::string("scrypt: scratchpad: ") + err);
            data = static_cast<uint8_t*>(p);
        } else {
            memory = nullptr;
            data = static_cast<uint8_t*>(std::aligned_alloc(align, bytes));
            if (data == nullptr) throw sdk::Error(OTD_ERR_NO_MEMORY, "scrypt: cannot allocate a " + std::to_string(bytes) + "-byte scratchpad");
#ifdef MADV_HUGEPAGE
            if (h == nullptr || (scan_flags & OTD_SCAN_HUGE_PAGES) != 0U) (void)::madvise(data, bytes, MADV_HUGEPAGE);
#endif
        }
        std::memset(data, 0, bytes);  // first touch, on the thread that will use it
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch() {
        if (memory != nullptr) memory->release(host, data, bytes);
        else std::free(data);
    }
};

/// Per-thread scan state: the scratchpad of the chosen kernel.
struct ScanState {
    const scrypt::RomixKernel* kernel;
    Scratch scratch;
    explicit ScanState(const scrypt::RomixKernel& k, const sdk::Host* h = nullptr, const otd_scan_params_t* params = nullptr)
        : kernel(&k), scratch(k.scratch_bytes, h, params) {}
};

// ---------------------------------------------------------------------------------------------------------
// Known answers (raw hash bytes = the ABI's little-endian form; explorers print them reversed), collected
// in the project's pow-vectors.json "scrypt" entry with these citations:
//  - Litecoin mainnet genesis: header from litecoin-project/litecoin src/chainparams.cpp
//    (CreateGenesisBlock(1317972665, 2084524493, 0x1e0ffff0, 1, 50 * COIN)); its scrypt hash
//    0000050c34a64b41... (display) from mycroft/generate-genesis README.md ("Ctrl Hash").
//  - Litecoin src/test/scrypt_tests.cpp (scrypt_hashtest, tag v0.21.5.5), vectors 0 and 1.
struct KnownHeader {
    const char* what;
    const char* header_hex;
    const char* hash_hex;  // raw
    uint32_t nonce;
};
constexpr KnownHeader kKnown[] = {
    {"Litecoin genesis header",
     "010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a1"
     "7c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c",
     "001e67b013726fd7382e9acb69165b4b6316227fb3156b5b414ba6340c050000", 2084524493u},
    {"Litecoin scrypt_tests.cpp vector 0",
     "020000004c1271c211717198227392b029a64a7971931d351b387bb80db027f270411e398a07046f7d4a08dd815412a8712f874a7ebf0507"
     "e3878bd24e20a3b73fd750a667d2f451eac7471b00de6659",
     "065898d7ab2daa8235cdda9511d248f3010b5e11f682f80741ef2b0000000000", 1499913728u},
    {"Litecoin scrypt_tests.cpp vector 1",
     "0200000011503ee6a855e900c00cfdd98f5f55fffeaee9b6bf55bea9b852d9de2ce35828e204eef76acfd36949ae56d1fbe81c1ac9c0209e"
     "6331ad56414f9072506a77f8c6faf551eac7471b00389d01",
     "94fc881c9ff1da50d235ed28f2bbcfddfeb7084e63ebd5bd110d3a0000000000", 27080704u},
};
constexpr uint32_t kGenesisNbits = 0x1e0ffff0u;

template <std::size_t N>
std::array<uint8_t, N> decode(const char* hex) {
    auto v = common::from_hex_array<N>(hex);
    if (!v) throw sdk::Error(OTD_ERR_SELF_TEST, std::string("bad built-in vector ") + hex);
    return *v;
}

/// Kernel `k` against the scalar kernel on `k.lanes` different blocks, and the PBKDF2 + ROMix path
/// end to end on a known Litecoin header (its nonce in the last lane).
bool kernel_agrees_with_scalar(const scrypt::RomixKernel& k, std::string& why) {
    const scrypt::RomixKernel& scalar = scrypt::scalar_romix_kernel();
    Scratch scratch(k.scratch_bytes);
    std::vector<uint32_t> x(scrypt::kBlockWords * k.lanes), want(x.size());
    uint32_t seed = 0x9e3779b9u;
    for (auto& w : x) {
        seed ^= seed << 13;  // xorshift32: distinct, arbitrary blocks per lane
        seed ^= seed >> 17;
        seed ^= seed << 5;
        w = seed;
    }
    want = x;
    for (uint32_t lane = 0; lane < k.lanes; ++lane) scalar.romix(want.data() + scrypt::kBlockWords * lane, scratch.data);
    k.romix(x.data(), scratch.data);
    for (uint32_t lane = 0; lane < k.lanes; ++lane) {
        if (std::memcmp(x.data() + scrypt::kBlockWords * lane, want.data() + scrypt::kBlockWords * lane, 128) != 0) {
            why = "ROMix lane " + std::to_string(lane) + " differs from the scalar kernel";
            return false;
        }
    }
    const KnownHeader& known = kKnown[1];
    const auto header = decode<kHeaderSize>(known.header_hex);
    const auto expected = decode<32>(known.hash_hex);
    const scrypt::LitecoinHasher hasher(header, scrypt::pbkdf2_sha256_kernel());
    uint8_t out[scrypt::kMaxLanes][32];
    hasher.hash_batch(k, known.nonce - (k.lanes - 1), k.lanes, scratch.data, out);
    if (std::memcmp(out[k.lanes - 1], expected.data(), 32) != 0) {
        why = std::string("hash of the ") + known.what + " is " + common::to_hex(out[k.lanes - 1]) + ", expected " + known.hash_hex;
        return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------------

class Scrypt final : public sdk::Algorithm<Scrypt> {
public:
    static constexpr const char* kName = "scrypt";
    static constexpr const char* kCoinFamily = "litecoin";
    static constexpr uint32_t kFlags = 0;

    using Algorithm::Algorithm;

    // [control] Check every kernel this CPU can run against the scalar one, then take the fastest (or the
    // one OTEDAMA_SCRYPT_IMPL names).
    void init() override {
        const char* forced = std::getenv("OTEDAMA_SCRYPT_IMPL");
        const bool is_forced = forced != nullptr && *forced != '\0';
        const scrypt::RomixKernel* wanted = is_forced ? scrypt::find_romix_kernel(forced) : nullptr;
        if (is_forced && wanted == nullptr) {
            host().logf(OTD_LOG_ERROR, "scrypt: OTEDAMA_SCRYPT_IMPL=%s is not a kernel (scalar, avx2, avx512); using scalar", forced);
        }
        const scrypt::RomixKernel* chosen = &scrypt::scalar_romix_kernel();
        for (const scrypt::RomixKernel* k : scrypt::romix_kernels()) {  // by increasing speed
            if (k == &scrypt::scalar_romix_kernel() || (is_forced && k != wanted)) continue;
            if (!k->cpu_supported()) {
                if (is_forced) host().logf(OTD_LOG_ERROR, "scrypt: OTEDAMA_SCRYPT_IMPL=%s but this CPU lacks it; using scalar", forced);
                continue;
            }
            std::string why;
            if (!kernel_agrees_with_scalar(*k, why)) {
                host().logf(OTD_LOG_ERROR, "scrypt: kernel %s failed its self-test (%s); not used", k->name, why.c_str());
                continue;
            }
            chosen = k;
        }
        kernel_ = chosen;
        sha_ = &scrypt::pbkdf2_sha256_kernel();
        implementation_ = std::string(kernel_->description) + ", pbkdf2 " + sha_->name;
        host().logf(OTD_LOG_INFO, "scrypt: using %s%s", implementation_.c_str(),
                    is_forced && chosen == wanted ? " (forced by OTEDAMA_SCRYPT_IMPL)" : "");
    }

    // [any] scrypt(input, input, 1024, 1, 1, 32): for a header, Litecoin's proof-of-work hash.
    void hash(const otd_algo_context_t*, std::span<const uint8_t> input, std::span<uint8_t, OTD_HASH_SIZE> out) const {
        std::string error;
        if (!scrypt::scrypt_reference(input, input, scrypt::kLitecoinN, 1, 1, out, &error)) {
            throw sdk::Error(OTD_ERR_GENERIC, "scrypt: " + error);
        }
    }

    // [any] The only judge of a share: recomputes the hash from the 80-byte header (nonce inside it).
    void verify(const otd_algo_context_t*, const otd_verify_request_t& request, otd_verify_result_t& result) const {
        if (request.blob == nullptr || request.blob_size != kHeaderSize) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "verify: a scrypt blob is an 80-byte block header, got " +
                                                      std::string(request.blob == nullptr ? "NULL" : std::to_string(request.blob_size) + " bytes"));
        }
        const common::Uint256 hash = header_hash(std::span<const uint8_t, kHeaderSize>(request.blob, kHeaderSize));
        result.meets_share = common::meets_target(hash, to_uint256(request.share_target)) ? 1u : 0u;
        result.meets_block = common::meets_target(hash, to_uint256(request.block_target)) ? 1u : 0u;
        result.mix_ok = 1;  // scrypt has no mix hash
        std::memcpy(result.hash, hash.data(), OTD_HASH_SIZE);
        std::memset(result.mix, 0, OTD_HASH_SIZE);
        result.share_difficulty = common::bitcoin_difficulty_from_target(hash) * kPoolDifficultyScale;
    }

    // [any] Pool units: difficulty 1 = 0x0000FFFF0000...; dividing by 2^16 is exact in binary floating point.
    std::array<uint8_t, OTD_HASH_SIZE> target_from_difficulty(double difficulty) const {
        const auto target = difficulty > 0 ? common::bitcoin_target_from_difficulty(difficulty / kPoolDifficultyScale)
                                           : std::nullopt;
        if (!target) {
            throw sdk::Error(OTD_ERR_INVALID_ARG, "difficulty must be a finite number > 0, got " + std::to_string(difficulty));
        }
        return *target;
    }

    // [any]
    double difficulty_from_target(std::span<const uint8_t, OTD_HASH_SIZE> target) const {
        const common::Uint256 t = to_uint256(target.data());
        if (common::is_zero(t)) throw sdk::Error(OTD_ERR_INVALID_ARG, "target 0 has no difficulty");
        return common::bitcoin_difficulty_from_target(t) * kPoolDifficultyScale;
    }

    // [any] The Bitcoin-family header (lib/otedama/common/bitcoin_header): Litecoin's is the same.
    sdk::Blob build_blob(const otd_template_t& tmpl, std::span<const uint8_t> extranonce, uint32_t ntime,
                         uint32_t version) const {
        std::string error;
        const auto header = common::bitcoin_header_from_template(tmpl, extranonce, ntime, version, &error);
        if (!header) throw sdk::Error(OTD_ERR_INVALID_ARG, "build_blob: " + error);
        sdk::Blob blob;
        blob.bytes.assign(header->begin(), header->end());
        blob.nonce_offset = kNonceOffset;
        blob.nonce_size = kNonceSize;
        return blob;
    }

    std::string implementation() const { return implementation_; }

    // [worker] The scratchpad is allocated and first touched here, on the thread that scans with it.
    otd_scan_state_t* create_scan_state(const otd_algo_context_t*, const otd_scan_params_t& params) const {
        return reinterpret_cast<otd_scan_state_t*>(new ScanState(*kernel_, &host(), &params));
    }
    void destroy_scan_state(otd_scan_state_t* state) const noexcept { delete reinterpret_cast<ScanState*>(state); }

    // [worker] Hash [nonce_start, nonce_start + nonce_count) in batches of the kernel's lane count (the last
    // one padded), reading the abort flag before every batch (a 16-lane batch takes about half a millisecond).
    otd_status_t scan(otd_scan_state_t* state, const otd_work_unit_t& work, otd_scan_stats_t& stats) const {
        if (state == nullptr) return refuse_scan(stats, "scan: scan state is NULL");
        if (const auto problem = common::bitcoin_work_unit_problem(work)) return refuse_scan(stats, "scan: " + *problem);

        auto& s = *reinterpret_cast<ScanState*>(state);
        const scrypt::RomixKernel& kernel = *s.kernel;
        const scrypt::LitecoinHasher hasher(std::span<const uint8_t, kHeaderSize>(work.blob, kHeaderSize), *sha_);
        const common::Uint256 share_target = to_uint256(work.share_target);

        uint64_t hashes = 0;
        uint32_t found_count = 0;
        otd_status_t status = OTD_OK;
        const uint64_t end = work.nonce_start + work.nonce_count;
        uint8_t out[scrypt::kMaxLanes][32];
        for (uint64_t first = work.nonce_start; first < end && status == OTD_OK; first += kernel.lanes) {
            if (work.abort_flag != nullptr && *work.abort_flag != 0) {
                status = OTD_ERR_ABORTED;
                break;
            }
            const auto count = static_cast<uint32_t>(std::min<uint64_t>(kernel.lanes, end - first));
            hasher.hash_batch(kernel, static_cast<uint32_t>(first), count, s.scratch.data, out);
            for (uint32_t lane = 0; lane < count; ++lane) {
                ++hashes;
                if (!common::meets_target(to_uint256(out[lane]), share_target)) continue;
                otd_found_t found = sdk::make_struct<otd_found_t>();
                found.work_id = work.work_id;
                found.nonce = first + lane;
                std::memcpy(found.hash, out[lane], OTD_HASH_SIZE);
                ++found_count;
                if (work.on_found(work.on_found_user, &found) == OTD_ERR_ABORTED) {
                    status = OTD_ERR_ABORTED;
                    break;
                }
            }
        }
        put_stats(stats, hashes, found_count);
        return status;
    }

    // [control] Known answers through verify's path, then the chosen kernel through scan() around the
    // genesis nonce, then the difficulty unit. About 2 ms.
    void self_test() override {
        for (const KnownHeader& k : kKnown) {
            const auto header = decode<kHeaderSize>(k.header_hex);
            const common::Uint256 got = header_hash(header);
            if (common::to_hex(got) != k.hash_hex) {
                throw sdk::Error(OTD_ERR_SELF_TEST, std::string("scrypt of the ") + k.what + " is " + common::to_hex(got) +
                                                        ", expected " + k.hash_hex);
            }
        }

        const auto genesis_target = common::target_from_nbits(kGenesisNbits);
        if (!genesis_target) throw sdk::Error(OTD_ERR_SELF_TEST, "nBits 0x1e0ffff0 does not decode");
        const auto header = decode<kHeaderSize>(kKnown[0].header_hex);
        const common::ScanProbe probe = common::probe_bitcoin_scan(
            header, kKnown[0].nonce - kernel_->lanes / 2, kernel_->lanes, *genesis_target,
            [&](const otd_work_unit_t& work, otd_scan_stats_t& stats) {
                ScanState state(*kernel_);
                return scan(reinterpret_cast<otd_scan_state_t*>(&state), work, stats);
            });
        if (probe.status != OTD_OK || probe.hashes != kernel_->lanes || probe.found != 1 || probe.first_nonce != kKnown[0].nonce ||
            common::to_hex(probe.first_hash) != kKnown[0].hash_hex) {
            throw sdk::Error(OTD_ERR_SELF_TEST, std::string("scan (") + kernel_->description + ") around the genesis nonce: status " +
                                                    std::to_string(probe.status) + ", " + std::to_string(probe.hashes) + " hashes, " +
                                                    std::to_string(probe.found) + " found (first nonce " +
                                                    std::to_string(probe.first_nonce) + "), expected exactly nonce " +
                                                    std::to_string(kKnown[0].nonce));
        }

        const auto one = target_from_difficulty(1.0);
        if (common::to_display_hex(one) != "0000ffff00000000000000000000000000000000000000000000000000000000") {
            throw sdk::Error(OTD_ERR_SELF_TEST, "scrypt difficulty 1 is target " + common::to_display_hex(one));
        }
    }
    [[nodiscard]] bool has_self_test() const noexcept override { return true; }

private:
    /// One header's hash on the scalar ROMix kernel (one lane: a wide kernel would waste the other lanes)
    /// with a per-thread scratchpad. Safe from any thread.
    common::Uint256 header_hash(std::span<const uint8_t, kHeaderSize> header) const {
        thread_local std::unique_ptr<Scratch> scratch;
        const scrypt::RomixKernel& scalar = scrypt::scalar_romix_kernel();
        if (!scratch) scratch = std::make_unique<Scratch>(scalar.scratch_bytes);
        const scrypt::LitecoinHasher hasher(header, *sha_);
        uint8_t out[1][32];
        hasher.hash_batch(scalar, le32(header.data() + kNonceOffset), 1, scratch->data, out);
        return to_uint256(out[0]);
    }

    static void put_stats(otd_scan_stats_t& stats, uint64_t hashes, uint32_t found) noexcept {
        if (sdk::struct_covers(stats, OTD_FIELD_END(otd_scan_stats_t, found))) stats.found = found;
        if (sdk::struct_covers(stats, OTD_FIELD_END(otd_scan_stats_t, hashes))) stats.hashes = hashes;
    }

    /// scan() has no error buffer in the ABI: say why through the host log, then fail with INVALID_ARG.
    otd_status_t refuse_scan(otd_scan_stats_t& stats, const std::string& why) const {
        put_stats(stats, 0, 0);
        host().error(why);
        return OTD_ERR_INVALID_ARG;
    }

    const scrypt::RomixKernel* kernel_ = &scrypt::scalar_romix_kernel();
    const common::Sha256Kernel* sha_ = &common::sha256_default_kernel();
    std::string implementation_ = "scalar";
};

constexpr otd_plugin_descriptor_t kDescriptor = sdk::descriptor(
    OTD_KIND_ALGORITHM, "org.otedama.algorithm.scrypt", "scrypt", "0.1.0", "Otedama",
    "Litecoin-family proof of work: scrypt(N=1024, r=1, p=1) of the 80-byte block header",
    "https://github.com/otedama/otedama", OTD_ALGORITHM_INTERFACE_ID);

}  // namespace

OTEDAMA_PLUGIN_ENTRY(otedama::sdk::plugin_class<Scrypt>(kDescriptor));
