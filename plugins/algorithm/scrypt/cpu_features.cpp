#include "cpu_features.hpp"

#include <otedama/common/cpu_features.hpp>

namespace otedama::scrypt::detail {

// The kernels' availability checks, as function pointers for the kernel table; detection is lib's.
bool cpu_has_avx2() noexcept { return common::cpu_features().avx2; }
bool cpu_has_avx512f() noexcept { return common::cpu_features().avx512f; }

}  // namespace otedama::scrypt::detail
