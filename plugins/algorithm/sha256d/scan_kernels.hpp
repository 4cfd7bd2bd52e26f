// The sha256d nonce-scanning kernels and their run-time dispatch.
//
// A scan kernel answers one question for a run of consecutive nonces of one 80-byte header: which of them
// can possibly meet the target? It computes the double SHA-256 only as far as the most significant 32 bits
// of the final hash (state word H7 of the second SHA-256; the ABI reads digests as little-endian numbers,
// so digest bytes 28..31 = byte-swapped H7 are the top word) and reports every nonce whose top word is
// <= the target's top word. Those candidates are a superset of the nonces that meet the target; the
// caller recomputes each one in full with the scalar SHA-256 and compares the whole 256-bit value.
//
// What the kernels share (ScanConstants, filled once per work unit by prepare_scan_constants):
//  - the midstate of header bytes 0..63;
//  - the first three rounds of the second block, which read only merkle-root tail, time and bits;
//  - the nonce-independent parts of the message schedule words W16..W19, W31, W32;
//  - the target's top word.
// The second SHA-256 (of a 32-byte digest) has constant padding words W8..W15, and its last three rounds
// are skipped: H7 is known once round 60 has produced its `e`.
//
// Every kernel of this file is compiled for its instruction set in its own translation unit
// (scan_<isa>.cpp, built with per-file -m flags) and called only after cpu_supports() said yes, so the
// plugin runs on any x86-64 (and builds without the SIMD files on other architectures).
//
// This header is included by those per-ISA files: it declares, and defines nothing with external linkage
// that a compiler could instantiate with an instruction set the running CPU might lack.
#pragma once

#include <cstdint>

namespace otedama::sha256d {

/// Everything a kernel needs about one work unit. Plain data, 64-byte aligned for vector broadcasts.
struct alignas(64) ScanConstants {
    uint32_t midstate[8];   ///< SHA-256 state after header bytes 0..63
    uint32_t w[3];          ///< second block words W0..W2 (big-endian loads of header bytes 64..75)
    uint32_t state2[8];     ///< a..h after rounds 0..1 of the second block (SHA-NI does rounds in pairs)
    uint32_t state3[8];     ///< a..h after rounds 0..2 of the second block (W3 = nonce comes next)
    uint32_t e4_base;       ///< e after round 3 minus W3
    uint32_t a4_base;       ///< a after round 3 minus W3
    uint32_t w16, w17;      ///< W16, W17: nonce-independent
    uint32_t w18_part;      ///< W18 = w18_part + sigma0(W3)
    uint32_t w19_part;      ///< W19 = w19_part + W3
    uint32_t w31_part;      ///< W31 = sigma1(W29) + W24 + w31_part
    uint32_t w32_part;      ///< W32 = sigma1(W30) + W25 + w32_part
    uint32_t target_top;    ///< candidates: byte-swapped H7 (the hash's top little-endian word) <= this
};

/// Fill `c` for the 80-byte header `header` (its nonce bytes are ignored) and the 32-byte little-endian
/// target `target`.
void prepare_scan_constants(ScanConstants& c, const uint8_t* header, const uint8_t* target) noexcept;

/// Scan nonces first, first + 1, ..., first + count - 1 (the caller keeps them inside 2^32). Writes the
/// offset (nonce - first) of every candidate to `offsets`, ascending, and returns how many it wrote.
/// @pre `offsets` has room for `count` entries; count <= 2^24.
using ScanFunction = uint32_t (*)(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept;

/// kAvx512Sha: both AVX-512 (F/BW/VL, with the OS saving zmm state) and SHA-NI (the hybrid kernel).
enum class Isa : uint32_t { kNone, kSha, kAvx2, kAvx512, kAvx512Sha };

struct ScanKernel {
    const char* id;                     ///< the OTEDAMA_SHA256D_IMPL value: "scalar", "shani", "avx2", "avx512", "avx512+shani"
    const char* name;                   ///< what get_info reports, e.g. "avx512 16-way"; static
    Isa isa;                            ///< what the CPU (and OS) must support
    uint32_t nonces_per_abort_check;    ///< scan() reads the abort flag this often (about 0.1-0.5 ms)
    ScanFunction scan;
};

/// The kernels built into this plugin, fastest first (as measured on the machines we have); the portable
/// scalar one is always last. `*count` receives their number.
[[nodiscard]] const ScanKernel* scan_kernels(uint32_t* count) noexcept;
/// The kernel with this id, or nullptr when it is not built in.
[[nodiscard]] const ScanKernel* find_scan_kernel(const char* id) noexcept;
/// The portable kernel.
[[nodiscard]] const ScanKernel& scalar_scan_kernel() noexcept;

/// Whether this CPU and operating system run code for `isa` (CPUID feature bits; for AVX and AVX-512 also
/// XGETBV: the OS must save the vector state on context switches).
[[nodiscard]] bool cpu_supports(Isa isa) noexcept;

/// Compare `kernel` with the scalar reference (full double SHA-256 per nonce) on known headers, including
/// a count that is not a multiple of any lane width. Returns nullptr when they agree, otherwise a static
/// description of the first disagreement. About 0.2 ms. @pre cpu_supports(kernel.isa).
[[nodiscard]] const char* self_test_scan_kernel(const ScanKernel& kernel) noexcept;

// The per-ISA entry points (defined in scan_<isa>.cpp when that file is built).
uint32_t scan_scalar(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept;
uint32_t scan_shani(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept;
uint32_t scan_avx2(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept;
uint32_t scan_avx512(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept;
uint32_t scan_avx512_shani(const ScanConstants& c, uint32_t first, uint32_t count, uint32_t* offsets) noexcept;

}  // namespace otedama::sha256d
