// The host's memory service (otedama.memory/1): large allocations placed on huge pages and NUMA nodes.
#pragma once

#include <otedama/host.h>

namespace otedama::services {

/// The otedama.memory/1 table. Explicit huge pages (MAP_HUGETLB, when the OS has pages reserved: no root
/// needed to use them), else transparent huge pages (madvise), else normal pages; NUMA binding through hwloc.
/// The first fallback is logged once per process, through the calling plugin's host table.
[[nodiscard]] const otd_memory_service_t* memory_service() noexcept;

}  // namespace otedama::services
