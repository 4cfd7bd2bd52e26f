#include "services/memory.hpp"

#include "services/message.hpp"

#include <hwloc.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>

namespace otedama::services {

namespace {

constexpr size_t kHugePage = 2u << 20;

/// One hwloc topology for the process, loaded on first use.
struct Topology {
  hwloc_topology_t topo = nullptr;
  int nodes = 1;
  Topology() {
    if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
      topo = nullptr;
      return;
    }
    nodes = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
  }
};
Topology& topology() {
  static Topology* t = new Topology();  // never destroyed: memory may be released during shutdown
  return *t;
}

std::atomic<bool> warned_huge{false};
std::atomic<bool> warned_numa{false};

void warn_once(std::atomic<bool>& flag, const otd_host_t* host, const std::string& message) {
  if (!flag.exchange(true)) detail::log(host, OTD_LOG_WARN, message);
}

otd_status_t OTD_CALL allocate(const otd_host_t* host, size_t size, uint32_t flags, int32_t numa_node, void** out,
                               uint32_t* result_flags, char* err, size_t err_cap) {
  if (out == nullptr || size == 0) {
    detail::set_error(err, err_cap, "memory: size must be > 0 and out non-NULL");
    return OTD_ERR_INVALID_ARG;
  }
  Topology& t = topology();
  if (numa_node >= t.nodes || numa_node < -1) {
    detail::set_error(err, err_cap, "memory: NUMA node " + std::to_string(numa_node) + " does not exist (the host sees " +
                                        std::to_string(t.nodes) + ")");
    return OTD_ERR_INVALID_ARG;
  }
  uint32_t got = 0;
  void* p = MAP_FAILED;
  if ((flags & OTD_MEMORY_HUGE_PAGES) != 0U) {
    const size_t rounded = (size + kHugePage - 1) / kHugePage * kHugePage;
    p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p != MAP_FAILED) {
      got |= OTD_MEMORY_HUGE_PAGES;
    } else {
      warn_once(warned_huge, host,
                "explicit huge pages unavailable (" + detail::errno_text(errno) +
                    "; reserve some with vm.nr_hugepages for full speed): using transparent huge pages where the kernel allows");
    }
  }
  if (p == MAP_FAILED) {
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      detail::set_error(err, err_cap, "memory: cannot map " + std::to_string(size) + " bytes: " + detail::errno_text(errno));
      return OTD_ERR_NO_MEMORY;
    }
#ifdef MADV_HUGEPAGE
    if ((flags & OTD_MEMORY_HUGE_PAGES) != 0U && madvise(p, size, MADV_HUGEPAGE) == 0) got |= OTD_MEMORY_TRANSPARENT;
#endif
  }
  // Bind before the first touch so that every page lands on the node.
  if (numa_node >= 0 && t.topo != nullptr) {
    hwloc_obj_t node = hwloc_get_obj_by_type(t.topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(numa_node));
    if (node != nullptr &&
        hwloc_set_area_membind(t.topo, p, size, node->nodeset, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET) == 0) {
      got |= OTD_MEMORY_NUMA_BOUND;
    } else {
      warn_once(warned_numa, host, "NUMA binding unavailable (" + detail::errno_text(errno) + "): memory is placed by first touch");
    }
  }
  *out = p;
  if (result_flags != nullptr) *result_flags = got;
  return OTD_OK;
}

void OTD_CALL release(const otd_host_t*, void* memory, size_t size) {
  // munmap rounds the length up to the mapping's page size, huge or not.
  if (memory != nullptr && size != 0) munmap(memory, size);
}

}  // namespace

const otd_memory_service_t* memory_service() noexcept {
  static const otd_memory_service_t table = [] {
    otd_memory_service_t m{};
    m.struct_size = sizeof m;
    m.numa_nodes = static_cast<uint32_t>(topology().nodes);
    m.allocate = &allocate;
    m.release = &release;
    return m;
  }();
  return &table;
}

}  // namespace otedama::services
