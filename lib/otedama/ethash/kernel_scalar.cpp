// The portable kernels: plain C++ on 64-bit Keccak lanes and 16-word mixes (any CPU; what every other path
// is checked against). The algorithm is kernel_generic.inc.
#include "kernels.hpp"

#include <cstring>
#include <utility>

namespace otedama::ethash::detail {
namespace {

#include "kernel_generic.inc"

struct ScalarOps {
    static void keccak(KeccakStates& st, uint32_t count) noexcept { keccak_f1600_states<ScalarLaneOps>(st, count); }
    struct Mix {
        uint32_t w[16];
    };
    static Mix load_mix(const Item* p) noexcept {
        Mix m;
        std::memcpy(m.w, p->words, sizeof m.w);
        return m;
    }
    static void store_mix(Item* p, const Mix& m) noexcept { std::memcpy(p->words, m.w, sizeof m.w); }
    static Mix fnv(const Mix& a, const Mix& b) noexcept {
        Mix r;
        for (int i = 0; i < 16; ++i) r.w[i] = fnv1(a.w[i], b.w[i]);
        return r;
    }
    template <int L>
    static uint32_t lane(const Mix& m) noexcept {
        return m.w[L];
    }
};

void items_scalar(const CacheView& c, uint32_t parents, const uint32_t* index, uint32_t count, Item* out) noexcept {
    items_any<ScalarOps>(c, parents, index, count, out);
}
void keccak_scalar(KeccakStates& st, uint32_t count) noexcept { ScalarOps::keccak(st, count); }

constexpr Kernel kScalar{Impl::kScalar, 4, &items_scalar, &keccak_scalar, &keccak512_one_item<ScalarLaneOps>};

}  // namespace

const Kernel& scalar_kernel() noexcept { return kScalar; }

}  // namespace otedama::ethash::detail
