// What the CPU backend reports about the machine it runs on: CPU model, cores, the CPUs this process may
// run on, and memory. Linux only (procfs, sysfs, hwloc).
//
// Thread contract: every function here is [any]; probe_system() is slow (hwloc reads sysfs) and belongs
// on the control strand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace otedama::cpu_backend {

struct SystemInfo {
    std::string model;            ///< "AMD EPYC 7B13"; "CPU" when neither /proc/cpuinfo nor hwloc names it
    uint32_t cores = 1;           ///< physical cores online (hwloc), else online logical CPUs; >= 1
    std::vector<int> usable_cpus; ///< logical CPUs in this process's affinity mask, ascending
    uint64_t memory_bytes = 0;    ///< MemTotal; 0 when unknown
};

/// Probes the machine. Never fails: fields it cannot learn keep their documented fallbacks.
[[nodiscard]] SystemInfo probe_system();

/// The CPU model from the text of /proc/cpuinfo ("model name" on x86, "Processor"/"cpu model"/"cpu"
/// elsewhere), trimmed; "" when absent.
[[nodiscard]] std::string parse_cpu_model(std::string_view cpuinfo);

/// MemTotal in bytes from the text of /proc/meminfo; 0 when absent or malformed.
[[nodiscard]] uint64_t parse_mem_total(std::string_view meminfo);

/// The logical CPUs the calling thread may run on, ascending; empty when the kernel refuses to say.
[[nodiscard]] std::vector<int> affinity_cpus();

}  // namespace otedama::cpu_backend
