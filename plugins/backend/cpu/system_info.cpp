#include "system_info.hpp"

#include <hwloc.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <utility>

namespace otedama::cpu_backend {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

std::string read_file(const char* path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The value of the first "key : value" line whose key is `key`.
std::string_view find_value(std::string_view text, std::string_view key) {
    while (!text.empty()) {
        const size_t eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        if (trim(line.substr(0, colon)) == key) return trim(line.substr(colon + 1));
    }
    return {};
}

/// Core count and package model from hwloc; {0, ""} when hwloc cannot load the topology.
std::pair<uint32_t, std::string> hwloc_cores_and_model() {
    hwloc_topology_t topology = nullptr;
    if (hwloc_topology_init(&topology) != 0) return {0, {}};
    std::pair<uint32_t, std::string> result{0, {}};
    if (hwloc_topology_load(topology) == 0) {
        const int cores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
        if (cores > 0) result.first = static_cast<uint32_t>(cores);
        if (hwloc_obj_t package = hwloc_get_obj_by_type(topology, HWLOC_OBJ_PACKAGE, 0); package != nullptr) {
            if (const char* model = hwloc_obj_get_info_by_name(package, "CPUModel"); model != nullptr) {
                result.second = std::string(trim(model));
            }
        }
    }
    hwloc_topology_destroy(topology);
    return result;
}

}  // namespace

std::string parse_cpu_model(std::string_view cpuinfo) {
    // x86 "model name"; 32-bit ARM "Processor"; MIPS "cpu model"; POWER "cpu". First key that has a value.
    for (const std::string_view key : {"model name", "Processor", "cpu model", "cpu"}) {
        const std::string_view value = find_value(cpuinfo, key);
        if (!value.empty()) return std::string(value);
    }
    return {};
}

uint64_t parse_mem_total(std::string_view meminfo) {
    std::string_view value = find_value(meminfo, "MemTotal");  // "16318532 kB"
    uint64_t kib = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kib);
    if (ec != std::errc{} || end == value.data()) return 0;
    const std::string_view unit = trim(value.substr(static_cast<size_t>(end - value.data())));
    if (unit != "kB") return 0;
    return kib * 1024;
}

std::vector<int> affinity_cpus() {
    // The process's mask (its main thread's), not the calling thread's: a host may pin its control strand.
    for (int capacity = 1024; capacity <= (1 << 20); capacity *= 2) {
        cpu_set_t* set = CPU_ALLOC(capacity);
        if (set == nullptr) return {};
        const size_t size = CPU_ALLOC_SIZE(capacity);
        CPU_ZERO_S(size, set);
        if (::sched_getaffinity(::getpid(), size, set) == 0) {
            std::vector<int> cpus;
            for (int cpu = 0; cpu < capacity; ++cpu) {
                if (CPU_ISSET_S(cpu, size, set)) cpus.push_back(cpu);
            }
            CPU_FREE(set);
            return cpus;
        }
        const int error = errno;
        CPU_FREE(set);
        if (error != EINVAL) return {};  // EINVAL: the kernel's mask is wider than ours; try a bigger one
    }
    return {};
}

SystemInfo probe_system() {
    SystemInfo info;
    const auto [cores, hwloc_model] = hwloc_cores_and_model();
    info.model = parse_cpu_model(read_file("/proc/cpuinfo"));
    if (info.model.empty()) info.model = hwloc_model;
    if (info.model.empty()) info.model = "CPU";
    info.usable_cpus = affinity_cpus();
    if (cores > 0) {
        info.cores = cores;
    } else if (const long online = ::sysconf(_SC_NPROCESSORS_ONLN); online > 0) {
        info.cores = static_cast<uint32_t>(online);
    }
    info.memory_bytes = parse_mem_total(read_file("/proc/meminfo"));
    return info;
}

}  // namespace otedama::cpu_backend
